"""Process status per department and cycle: how far the appraisal process got, in counts and shares.

One row per organisation × cycle × department (`marts.process_status`). Every share is the count divided by
`n`, the number of evaluation rows of the department in the cycle. A count whose rule the organisation's
policy does not have (no conversation window, no signature deadline, no absence rule) is null, not zero:
"not applicable" is not "nobody".

In a cycle where the fairness mart leaves a small gender category out of the women-versus-men comparison
(`left_out`, models.fairness_intersections.left_out_categories), its people are left out here too, from `n` and
every count: the process page's rated people (n − ratings_missing) sit on the organisation site beside the
fairness table's women and men, and a total that still counted them would give the category back by
subtraction (docs/privacy.md). Every row of such a cycle says so (`others_left_out`).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from models.disclosure.recode import OTHERS_LEFT_OUT, without_left_out_people
from models.policy import Policy
from models.rules import conform
from models.rules._base import deadline, in_list

KEYS = ["organization", "cycle", "department"]
# The evaluation columns the mart reads (the rest of the contract is not needed).
COLUMNS = (
    *KEYS,
    "gender",
    "rating",
    "planning_date",
    "self_evaluation_date",
    "conversation_date",
    "first_signature_date",
    "second_signature_date",
    "delivery_date",
    "appeal_filed",
    "appeal_outcome",
    "contest_filed",
    "absence_type",
    "absence_months",
)

# (count column, what it counts) — the share column is `<count>_share`, count / n.
COUNTS: dict[str, str] = {
    "planning_held": "planning conversation date recorded (F-1)",
    "self_evaluations_done": "self-evaluation date recorded (F-2)",
    "evaluations_in_window": "conversation inside the policy's window or by its deadline (F-2 / Z-12)",
    "first_signatures_on_time": "first evaluator signed by the deadline (F-4)",
    "second_signatures_on_time": "second evaluator signed by the deadline (F-4)",
    "reports_delivered": "delivery date recorded (F-4)",
    "reports_delivered_on_time": "delivered by the deadline (F-4)",
    "appeals_filed": "appeal to the Raad van beroep filed (F-11)",
    "appeals_upheld": "appeal outcome gegrond",
    "appeals_rejected": "appeal outcome ongegrond",
    "appeals_pending": "appeal filed, outcome lopend or not yet recorded",
    "contests_filed": "salary decision contested at the advisory body (F-11)",
    "ratings_missing": "no rating",
    "no_rating_absence": "no rating because of absence (Z-11 chosen leave, or any recorded absence)",
}

PROCESS_STATUS_SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "department": pl.String(),
    "n": pl.Int64(),
    OTHERS_LEFT_OUT: pl.Boolean(),
    **{
        name: dtype
        for count in COUNTS
        for name, dtype in ((count, pl.Int64()), (f"{count}_share", pl.Float64()))
    },
}


def _in_window(policy: Policy, cycles: list[int]) -> pl.Expr | None:
    deadlines = policy.section("deadlines") or {}
    date = pl.col("conversation_date")
    window = deadlines.get("conversation_window")
    if window:
        return date.is_between(deadline(window["from"], cycles), deadline(window["to"], cycles))
    due = deadlines.get("conversation_deadline")
    if due:
        return date <= deadline(due, cycles)
    return None


def _on_time(policy: Policy, column: str, key: str, cycles: list[int]) -> pl.Expr | None:
    spec = (policy.section("deadlines") or {}).get(key)
    return (pl.col(column) <= deadline(spec, cycles)) if spec else None


def _absence_reason(policy: Policy) -> pl.Expr:
    """Why a rating may be missing: chosen leave that left too little presence (Z-11), else any absence."""
    absence = policy.section("absence") or {}
    cycle_months = policy.typed.compliance.cycle_months
    leave, minimum = absence.get("no_rating_when_leave"), absence.get("min_presence_months")
    if leave and minimum is not None and cycle_months is not None:
        present = float(cycle_months) - pl.col("absence_months").fill_null(0)
        return in_list("absence_type", leave).fill_null(False) & (present < float(minimum))
    return pl.col("absence_type").is_not_null()


def _flags(policy: Policy, cycles: list[int]) -> list[pl.Expr]:
    """One sum per count; a count whose rule the policy lacks is null (not applicable)."""
    deadlines = policy.section("deadlines") or {}
    appeal_spec = policy.section("appeal") or {}
    outcome = pl.col("appeal_outcome")
    appeal = pl.col("appeal_filed").fill_null(False)
    no_rating = pl.col("rating").is_null()
    has_appeal = bool(appeal_spec.get("raad_van_beroep"))
    flags: dict[str, pl.Expr | None] = {
        "planning_held": pl.col("planning_date").is_not_null()
        if policy.typed.compliance.planning_window
        else None,
        "self_evaluations_done": pl.col("self_evaluation_date").is_not_null()
        if policy.typed.compliance.self_evaluation_before_conversation
        else None,
        "evaluations_in_window": _in_window(policy, cycles),
        "first_signatures_on_time": _on_time(policy, "first_signature_date", "first_signature", cycles),
        "second_signatures_on_time": _on_time(policy, "second_signature_date", "second_signature", cycles),
        "reports_delivered": pl.col("delivery_date").is_not_null() if deadlines.get("delivery") else None,
        "reports_delivered_on_time": _on_time(policy, "delivery_date", "delivery", cycles),
        "appeals_filed": appeal if has_appeal else None,
        "appeals_upheld": appeal & (outcome == "gegrond") if has_appeal else None,
        "appeals_rejected": appeal & (outcome == "ongegrond") if has_appeal else None,
        "appeals_pending": appeal & (outcome.is_null() | (outcome == "lopend")) if has_appeal else None,
        "contests_filed": pl.col("contest_filed").fill_null(False)
        if appeal_spec.get("advisory_body")
        else None,
        "ratings_missing": no_rating,
        "no_rating_absence": no_rating & _absence_reason(policy),
    }
    exprs = []
    for name in COUNTS:
        flag = flags[name]
        if flag is None:
            exprs.append(pl.lit(None, pl.Int64).alias(name))
        else:
            exprs.append(flag.fill_null(False).cast(pl.Int64).sum().alias(name))
    return exprs


def process_status(
    policies: Mapping[str, Policy],
    evaluations: pl.DataFrame | pl.LazyFrame | None,
    left_out: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Counts and shares of the process steps per organisation, cycle and department, over the shown gender
    categories where ``left_out`` (organization, cycle, gender) names a category a cycle leaves out."""
    frame = without_left_out_people(conform(evaluations, "evaluations").collect(), left_out)
    cycles = [int(c) for c in frame.get_column("cycle").unique().drop_nulls().to_list()]
    parts = [
        frame.lazy()
        .filter(pl.col("organization") == org)
        .group_by(KEYS)
        .agg(pl.len().cast(pl.Int64).alias("n"), pl.col(OTHERS_LEFT_OUT).any(), *_flags(policy, cycles))
        for org, policy in sorted(policies.items())
    ]
    if not parts:
        return pl.DataFrame(schema=PROCESS_STATUS_SCHEMA)
    shares = [(pl.col(name) / pl.col("n")).alias(f"{name}_share") for name in COUNTS]
    return (
        pl.concat(parts)
        .with_columns(shares)
        .select([pl.col(c).cast(t) for c, t in PROCESS_STATUS_SCHEMA.items()])
        .sort(KEYS)
        .collect()
    )
