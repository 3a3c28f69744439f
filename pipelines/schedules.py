"""The cycle calendar as Dagster schedules, one pair per organisation, in the policy's timezone.

After the evaluation round closes (PLOEG 31 March, F-2/F-4; Zeeland 1 March, Z-12) the calibration marts and
the site are built for the cycle just ended; before the payout date (Z-12: 1 May) the budget is refreshed.
"""

from datetime import date

import dagster as dg

from models.calendar import budget_run_date, calibration_run_date, cron_for, cycle_closed_on, cycle_paid_on
from models.config import Settings
from models.policy import load_policy

# Any non-leap year: schedules repeat yearly on the same month and day.
REFERENCE_CYCLE = 2023


def _schedules_for(
    settings: Settings, organization: str, hour: int, days_before_payout: int
) -> list[dg.ScheduleDefinition]:
    policy = load_policy(settings.organizations[organization].policy_path)
    schedules = []
    calibration_day = calibration_run_date(policy, REFERENCE_CYCLE)
    if calibration_day:

        def calibration_tags(context: dg.ScheduleEvaluationContext, policy=policy) -> dict[str, str]:  # type: ignore[no-untyped-def]
            day = (
                context.scheduled_execution_time.date() if context.scheduled_execution_time else date.today()
            )
            return {"calibra/organization": organization, "calibra/cycle": str(cycle_closed_on(policy, day))}

        schedules.append(
            dg.ScheduleDefinition(
                name=f"calibration_{organization.replace('-', '_')}",
                cron_schedule=cron_for(calibration_day, hour),
                execution_timezone=policy.timezone,
                job_name="calibra_all",
                default_status=dg.DefaultScheduleStatus.RUNNING,  # docs/operations.md: how to stop it
                tags_fn=calibration_tags,
                description=f"After the evaluation round of {organization} closes: ingest, all marts and the site.",
            )
        )
    budget_day = budget_run_date(policy, REFERENCE_CYCLE, days_before_payout)
    if budget_day:

        def budget_tags(context: dg.ScheduleEvaluationContext, policy=policy) -> dict[str, str]:  # type: ignore[no-untyped-def]
            day = (
                context.scheduled_execution_time.date() if context.scheduled_execution_time else date.today()
            )
            return {"calibra/organization": organization, "calibra/cycle": str(cycle_paid_on(policy, day))}

        schedules.append(
            dg.ScheduleDefinition(
                name=f"budget_{organization.replace('-', '_')}",
                cron_schedule=cron_for(budget_day, hour),
                execution_timezone=policy.timezone,
                job_name="calibra_budget",
                default_status=dg.DefaultScheduleStatus.RUNNING,
                tags_fn=budget_tags,
                description=f"{days_before_payout} days before {organization}'s payout date: refresh the budget marts.",
            )
        )
    return schedules


def cycle_calendar(settings: Settings) -> list[dg.ScheduleDefinition]:
    """The schedules of the configured organisations (reads their policies: call it when the code location
    loads, never at import)."""
    # The defaults (06:00, 14 days) live in the schema of calibra.yaml (models.config.Schedules) only.
    hour = int(settings.schedules["hour"])
    days_before_payout = int(settings.schedules["budget_days_before_payout"])
    return [
        s for org in settings.organizations for s in _schedules_for(settings, org, hour, days_before_payout)
    ]
