"""Marts: calibration metrics (issue 3) — where ratings depart from the norm, whether by more than chance, and
which cases a calibration meeting should discuss (DOMAIN.md Z-10; PLOEG evaluations, F-3).

One thin multi-asset, one asset key per mart: it reads staging.evaluations once, calls
``models.calibration.calibration_marts`` (which encodes the rows once for all six marts — on a million rows that
single encoding is most of the work) and writes marts.rating_distribution, unit_deviation, evaluator_leniency,
rating_transitions, rating_drift and calibration_worklist (docs/marts/calibration.md). Metadata and check
results hold counts only, never a row or an identifier.
"""

from collections.abc import Iterator

import dagster as dg
import duckdb
import polars as pl

from models.calibration import MART_SCHEMAS, CalibrationSettings, calibration_marts
from models.policy import Policy
from pipelines.assets.common import (
    PER_CYCLE,
    CyclePolicies,
    concat_passes,
    organisation_policies,
    regime_passes,
    run_slices,
    staged_slices,
)
from pipelines.assets.slices import SLICES
from pipelines.increments import SliceWork, build_step
from pipelines.resources import CalibraResource, read_frame

KINDS = {"duckdb", "polars"}
KEYS = {name: dg.AssetKey(["marts", name]) for name in MART_SCHEMAS}

DESCRIPTIONS = {
    "rating_distribution": "How each unit's ratings (and, for PLOEG, salary decisions of staff in the "
    "evaluation-based system) spread over the policy's scale, beside the organisation's shares and the policy's "
    "guideline. Grain: organization × cycle × measure × grouping (organization, department, function_level, "
    "department × function_level, evaluator) × unit × rating; every category present, so shares sum to 1.",
    "unit_deviation": "Per unit: mean score, expected mean for its function-level mix (indirect "
    "standardisation), exact or normal permutation test against the rest of the organisation, BH q-values, "
    "effect size, funnel limits (95%, 99.8%), differentiation index (Z-8) and a flag with its reason in nl/en. "
    "Grain: organization × cycle × measure × grouping × unit.",
    "evaluator_leniency": "Each evaluator's effect on ratings against colleagues in the same department, "
    "adjusted for function level, shrunk by empirical Bayes, with a 95% interval, n, and whether the data link "
    "the evaluator's team to the others. Grain: organization × cycle × measure × evaluator_id.",
    "rating_transitions": "Transition matrix of employees' ratings between consecutive cycles. Grain: "
    "organization × measure × (from_cycle, to_cycle) × from_rating × to_rating.",
    "rating_drift": "Drift of each unit's mean score between consecutive cycles (rating inflation), overall and "
    "for the employees rated in both. Grain: organization × measure × grouping × unit × (from_cycle, to_cycle).",
    "calibration_worklist": "The cases a calibration meeting should discuss, per department, with the reason in "
    "nl/en: out of line with the department, flagged evaluator, top rating without argumentation (Z-8), lowest "
    "outcome, sharp change. Grain: organization × cycle × department × employee_id × measure × reason_code.",
}

# staging.evaluations columns the marts read. The free-text argumentation never leaves the database: only
# whether it is there (Z-8), as a placeholder that keeps the canonical column's meaning (null = missing).
EVALUATIONS_SQL = """
SELECT organization, cycle, employee_id, department, function_level, evaluator_id, second_evaluator_id,
       rating, salary_decision, salary_system,
       CASE WHEN nullif(trim(argument_competences), '') IS NULL THEN NULL ELSE '+' END AS argument_competences,
       CASE WHEN nullif(trim(argument_results), '') IS NULL THEN NULL ELSE '+' END AS argument_results
FROM staging.evaluations
WHERE list_contains(?, organization)
"""

# The column that places each mart's rows in a cycle: transitions and drift belong to the later cycle.
CYCLE_COLUMNS = {
    name: "to_cycle" if name in ("rating_transitions", "rating_drift") else "cycle" for name in MART_SCHEMAS
}

UNIT_DEVIATION = KEYS["unit_deviation"]
LENIENCY = KEYS["evaluator_leniency"]
DRIFT = KEYS["rating_drift"]
WORKLIST = KEYS["calibration_worklist"]
DISTRIBUTION = KEYS["rating_distribution"]


def _int(value: int) -> dg.MetadataValue:
    return dg.MetadataValue.int(int(value))


def _ratings_on_scale(con: duckdb.DuckDBPyConnection, policies: CyclePolicies) -> tuple[int, int]:
    """Ratings in staging, and those that are a code of the scale of the policy in force for their cycle (the
    check below)."""
    regimes = policies.by_regime(s for s in staged_slices(con, "evaluations") if s[0] in policies)
    parts: list[tuple[str, Policy, str, list[object]]]
    if len(regimes) <= 1:  # one regime throughout: every rating of an organisation, as before regimes
        in_force = regimes[0][0] if regimes else {}
        parts = [(org, in_force.get(org, policy), "TRUE", []) for org, policy in policies.items()]
    else:
        parts = [
            (org, policy, "list_contains(?, cycle)", [sorted(c for o, c in slices if o == org)])
            for regime, slices in regimes
            for org, policy in regime.items()
        ]
    rated = on_scale = 0
    for org, policy, condition, params in parts:
        row = con.execute(
            "SELECT count(rating), count(rating) FILTER (WHERE list_contains(?, rating)) "
            f"FROM staging.evaluations WHERE organization = ? AND {condition}",
            [list(policy.rating_codes), org, *params],
        ).fetchone()
        rated += int(row[0]) if row else 0
        on_scale += int(row[1]) if row else 0
    return rated, on_scale


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in frame.get_column(column).value_counts().iter_rows()}


def evaluation_lookback(policies: dict[str, Policy]) -> dict[str, int]:
    """The cycles a cycle's evaluation marts read, per organisation: leniency (and the evaluator report) read
    the policy's window of cycles; transitions, drift and the worklist's sharp changes the previous cycle."""
    return {
        org: max(CalibrationSettings.from_policy(policy).leniency_window_cycles, 2)
        for org, policy in policies.items()
    }


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            KEYS[name], deps=[SLICES], group_name="marts", kinds=KINDS, description=DESCRIPTIONS[name]
        )
        for name in MART_SCHEMAS
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "ratings_on_scale",
            asset=DISTRIBUTION,
            description="Every rating in staging is a code of the organisation's policy scale (others are left "
            "out of every calibration mart).",
        ),
        dg.AssetCheckSpec(
            "units_within_funnel_998",
            asset=UNIT_DEVIATION,
            description="No unit with at least metrics.min_n_flag ratings lies outside its 99.8% funnel limits "
            "(adjusted mean).",
        ),
        dg.AssetCheckSpec(
            "no_flagged_units",
            asset=UNIT_DEVIATION,
            description="No unit is flagged (significant after BH, adjusted for function level, practically large).",
        ),
        dg.AssetCheckSpec(
            "no_flagged_evaluators",
            asset=LENIENCY,
            description="No evaluator is lenient or severe (95% interval excludes zero and practically large).",
        ),
        dg.AssetCheckSpec(
            "evaluators_linked",
            asset=LENIENCY,
            description="In each organisation's latest cycle every evaluator is linked to the main comparison set "
            "(shared employees or second evaluator), so leniency can be told apart from team quality.",
        ),
        dg.AssetCheckSpec(
            "no_rating_inflation",
            asset=DRIFT,
            description="No organisation-wide mean score rose significantly (95% interval) between consecutive "
            "cycles.",
        ),
        dg.AssetCheckSpec(
            "top_ratings_argued",
            asset=WORKLIST,
            description="Every top rating carries the argumentation the policy requires (Z-8).",
        ),
    ],
    can_subset=False,
    **PER_CYCLE,
)
def calibration_marts_asset(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
    """Calibration metrics for every configured organisation (docs/marts/calibration.md).

    Reads staging.evaluations once, computes the six calibration marts with models.calibration and writes them.
    Grain and meaning of each mart are in its asset description."""
    settings = calibra.settings()
    policies = organisation_policies(calibra)
    # The longest window any of an organisation's policies asks for (a cycle reads its own regime's window).
    lookback = {
        org: max(evaluation_lookback({org: policy})[org] for policy in policies.every(org))
        for org in policies
    }

    def compute(work: SliceWork) -> dict[str, pl.DataFrame]:
        # A cycle is judged by the policy in force for it: one pass per contiguous run of a regime, a single
        # pass when no organisation changed its regime. Transitions, drift, a worklist's sharp change and the
        # leniency window never cross a regime change: a pass reads only its own regime's cycles, so the first
        # cycle under a new policy has no previous cycle (its scale, scores or guideline may differ; a
        # comparison across the change would measure the policy change, not the raters).
        results = [
            calibration_marts(
                read_frame(con, f"{EVALUATIONS_SQL} AND {condition}", [sorted(policies), *params]), regime
            )
            for regime, (condition, params) in regime_passes(
                policies, work, staged_slices(con, "evaluations") if work.whole else ()
            )
        ]
        return concat_passes(results, MART_SCHEMAS)

    with calibra.writer() as con:
        slices, marts = build_step(
            con,
            settings,
            "calibration",
            changed=run_slices(context),
            organizations=sorted(policies),
            kinds=["evaluations"],
            lookback=lookback,
            tables=CYCLE_COLUMNS,
            compute=compute,
        )
        ratings = _ratings_on_scale(con, policies)
    calibra.progress(
        f"calibration: {slices.reason}; " + ", ".join(f"{n} {f.height}" for n, f in marts.items())
    )
    context.log.info(f"calibration marts: {'whole' if slices.whole else 'per cycle'} ({slices.reason})")
    rated, on_scale = ratings
    off_scale = rated - on_scale
    dist, dev, len_, drift, work = (
        marts[n]
        for n in (
            "rating_distribution",
            "unit_deviation",
            "evaluator_leniency",
            "rating_drift",
            "calibration_worklist",
        )
    )
    status = _counts(dev, "status")
    assessment = _counts(len_, "assessment")
    reasons = _counts(work, "reason_code")
    metadata = {
        "rating_distribution": {
            "units": _int(dist.filter(pl.col("position") == 1).height),
            "organisation_cycles_rebuilt": _int(len(slices.rebuild)),
        },
        "unit_deviation": {
            "flagged": _int(status.get("flagged", 0)),
            "too_small": _int(status.get("too_small", 0)),
        },
        "evaluator_leniency": {
            "lenient": _int(assessment.get("lenient", 0)),
            "severe": _int(assessment.get("severe", 0)),
            "not_linked": _int(assessment.get("not_linked", 0)),
        },
        "rating_transitions": {
            "cycle_pairs": _int(
                marts["rating_transitions"].select("organization", "measure", "to_cycle").n_unique()
            )
        },
        "rating_drift": {"units_trending_up": _int(drift.filter(pl.col("trend") == "up").height)},
        "calibration_worklist": {f"cases_{r}": _int(n) for r, n in sorted(reasons.items())},
    }
    for name, frame in marts.items():
        yield dg.MaterializeResult(
            asset_key=KEYS[name],
            metadata={"dagster/row_count": _int(frame.height), **metadata.get(name, {})},
        )

    yield dg.AssetCheckResult(
        asset_key=DISTRIBUTION,
        check_name="ratings_on_scale",
        passed=off_scale == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"ratings_off_scale": _int(off_scale), "ratings": _int(rated)},
    )
    eligible = dev.filter(pl.col("status") != "too_small")
    outside = eligible.filter(pl.col("funnel_position") == "outside_998")
    yield dg.AssetCheckResult(
        asset_key=UNIT_DEVIATION,
        check_name="units_within_funnel_998",
        passed=outside.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "units_outside_998": _int(outside.height),
            **{f"outside_998_{g}": _int(n) for g, n in sorted(_counts(outside, "grouping").items())},
        },
    )
    flagged = dev.filter(pl.col("flag"))
    yield dg.AssetCheckResult(
        asset_key=UNIT_DEVIATION,
        check_name="no_flagged_units",
        passed=flagged.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "flagged_units": _int(flagged.height),
            **{f"flagged_{g}": _int(n) for g, n in sorted(_counts(flagged, "grouping").items())},
        },
    )
    n_flag = assessment.get("lenient", 0) + assessment.get("severe", 0)
    yield dg.AssetCheckResult(
        asset_key=LENIENCY,
        check_name="no_flagged_evaluators",
        passed=n_flag == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"lenient": _int(assessment.get("lenient", 0)), "severe": _int(assessment.get("severe", 0))},
    )
    latest = len_.filter(pl.col("cycle") == pl.col("cycle").max().over("organization"))
    unlinked = latest.filter(~pl.col("is_linked"))
    yield dg.AssetCheckResult(
        asset_key=LENIENCY,
        check_name="evaluators_linked",
        passed=unlinked.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "unlinked_evaluator_rows": _int(unlinked.height),
            "evaluator_rows_latest_cycle": _int(latest.height),
        },
    )
    inflation = drift.filter((pl.col("grouping") == "organization") & (pl.col("trend") == "up"))
    yield dg.AssetCheckResult(
        asset_key=DRIFT,
        check_name="no_rating_inflation",
        passed=inflation.height == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"organisation_cycle_pairs_up": _int(inflation.height)},
    )
    unargued = reasons.get("missing_argumentation", 0)
    yield dg.AssetCheckResult(
        asset_key=WORKLIST,
        check_name="top_ratings_argued",
        passed=unargued == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"top_ratings_without_argumentation": _int(unargued)},
    )
