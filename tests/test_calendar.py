"""The cycle calendar: schedules evaluated on given dates, never by waiting."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._utils.schedules import cron_string_iterator

from models.calendar import budget_run_date, calibration_run_date, cycle_closed_on, cycle_paid_on
from models.config import PROJECT_ROOT, load_settings
from models.policy import policy_for
from pipelines.schedules import cycle_calendar

SETTINGS = load_settings(PROJECT_ROOT / "calibra.yaml")
PLOEG = policy_for(SETTINGS, "vo-demo")
ZEELAND = policy_for(SETTINGS, "zeeland-demo")


def schedules() -> dict[str, dg.ScheduleDefinition]:
    return {s.name: s for s in cycle_calendar(SETTINGS)}


def next_fire(schedule: dg.ScheduleDefinition, after: datetime) -> datetime:
    cron = schedule.cron_schedule
    assert isinstance(cron, str)
    return next(cron_string_iterator(after.timestamp(), cron, schedule.execution_timezone))


def test_calibration_runs_the_day_after_the_round_closes() -> None:
    # PLOEG: 2nd signature and delivery by 31 March (F-4), window to 31 March (F-2)
    assert calibration_run_date(PLOEG, 2024) == date(2025, 4, 1)
    # Zeeland: year-end conversations by 1 March (Z-12)
    assert calibration_run_date(ZEELAND, 2024) == date(2025, 3, 2)


def test_budget_refresh_before_payout() -> None:
    assert budget_run_date(ZEELAND, 2024, 14) == date(2025, 4, 17)  # payout 1 May (Z-12)


def test_schedules_fire_on_the_policy_dates_in_the_policy_timezone() -> None:
    found = schedules()
    vo = found["calibration_vo_demo"]
    assert vo.execution_timezone == "Europe/Brussels"
    fire = next_fire(vo, datetime(2025, 1, 15, tzinfo=ZoneInfo("UTC")))
    assert fire == datetime(2025, 4, 1, 6, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    zeeland = found["calibration_zeeland_demo"]
    assert zeeland.execution_timezone == "Europe/Amsterdam"
    assert next_fire(zeeland, datetime(2025, 3, 2, 12, tzinfo=ZoneInfo("UTC"))).date() == date(2026, 3, 2)
    budget = found["budget_zeeland_demo"]
    assert next_fire(budget, datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC"))).date() == date(2025, 4, 17)


def test_a_tick_names_the_cycle_it_is_for() -> None:
    found = schedules()
    tick_time = datetime(2025, 4, 1, 6, tzinfo=ZoneInfo("Europe/Brussels"))
    context = dg.build_schedule_context(scheduled_execution_time=tick_time)
    [request] = found["calibration_vo_demo"].evaluate_tick(context).run_requests or []
    assert request.tags["calibra/cycle"] == "2024" and request.tags["calibra/organization"] == "vo-demo"
    budget_time = datetime(2025, 4, 17, 6, tzinfo=ZoneInfo("Europe/Amsterdam"))
    [budget] = (
        found["budget_zeeland_demo"]
        .evaluate_tick(dg.build_schedule_context(scheduled_execution_time=budget_time))
        .run_requests
        or []
    )
    assert budget.tags["calibra/cycle"] == "2024"


def test_cycle_arithmetic_around_the_deadline() -> None:
    assert cycle_closed_on(ZEELAND, date(2025, 3, 1)) == 2023  # on the deadline the round is not yet closed
    assert cycle_closed_on(ZEELAND, date(2025, 3, 2)) == 2024
    assert cycle_paid_on(ZEELAND, date(2025, 4, 17)) == 2024
    assert cycle_paid_on(ZEELAND, date(2025, 5, 2)) == 2025
