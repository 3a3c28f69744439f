"""The cycle calendar: when a regime's cycle has closed and when its rewards are paid, from the policy.

Pure date logic (no dagster): pipelines/schedules.py turns these dates into Dagster schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from models.policy import Policy

# Deadlines after which the cycle's evaluations are complete, in the order they are looked for.
CLOSING_DEADLINES = ("second_signature", "delivery", "conversation_deadline")


@dataclass(frozen=True)
class YearlyDate:
    """A day of the year relative to the rated cycle: year = cycle + year_offset."""

    month: int
    day: int
    year_offset: int
    rule: str

    def for_cycle(self, cycle: int) -> date:
        return date(cycle + self.year_offset, self.month, self.day)


def _yearly(spec: dict[str, Any]) -> YearlyDate:
    return YearlyDate(
        int(spec["month"]), int(spec["day"]), int(spec.get("year_offset", 0)), str(spec.get("rule", ""))
    )


def closing_date(policy: Policy) -> YearlyDate | None:
    """The last deadline of the evaluation round (PLOEG: 31 March, F-2/F-4; Zeeland: 1 March, Z-12)."""
    deadlines = policy.section("deadlines") or {}
    found = [_yearly(deadlines[name]) for name in CLOSING_DEADLINES if isinstance(deadlines.get(name), dict)]
    window = deadlines.get("conversation_window")
    if isinstance(window, dict) and isinstance(window.get("to"), dict):
        found.append(_yearly(window["to"] | {"rule": window.get("rule", "")}))
    if not found:
        return None
    return max(found, key=lambda d: (d.year_offset, d.month, d.day))


def payout_date(policy: Policy) -> YearlyDate | None:
    spec = (policy.section("deadlines") or {}).get("payout")
    return _yearly(spec) if isinstance(spec, dict) else None


def calibration_run_date(policy: Policy, cycle: int) -> date | None:
    """The day after the evaluation round closed: build the calibration marts and site for `cycle`."""
    closing = closing_date(policy)
    return closing.for_cycle(cycle) + timedelta(days=1) if closing else None


def budget_run_date(policy: Policy, cycle: int, days_before_payout: int) -> date | None:
    """Refresh the budget this many days before the rewards of `cycle` are paid (Z-12: 1 May)."""
    payout = payout_date(policy)
    return payout.for_cycle(cycle) - timedelta(days=days_before_payout) if payout else None


def cron_for(day: date, hour: int) -> str:
    """A yearly cron string for the month and day of `day` (the same every year)."""
    return f"0 {hour} {day.day} {day.month} *"


def cycle_closed_on(policy: Policy, run_day: date) -> int | None:
    """Which cycle's round closed just before `run_day` (the cycle the calibration run is for)."""
    closing = closing_date(policy)
    if closing is None:
        return None
    return (
        run_day.year
        - closing.year_offset
        - (1 if (run_day.month, run_day.day) <= (closing.month, closing.day) else 0)
    )


def cycle_paid_on(policy: Policy, run_day: date) -> int | None:
    """Which cycle's rewards are paid next after `run_day`."""
    payout = payout_date(policy)
    if payout is None:
        return None
    upcoming = run_day.year + (1 if (run_day.month, run_day.day) > (payout.month, payout.day) else 0)
    return upcoming - payout.year_offset
