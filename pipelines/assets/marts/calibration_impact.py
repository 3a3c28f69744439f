"""Marts: calibration impact (issue 10) — what the calibration meeting did to the evaluators' proposals.

One thin multi-asset: reads the staging evaluations that carry a proposed rating, calls
models.calibration_impact and writes marts.calibration_impact, calibration_distribution, calibration_moves,
calibration_moves_strata and calibration_spread (docs/marts/calibration_impact.md). Metadata holds counts only,
never a row; organisations or cycles without proposed ratings simply produce no rows.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from models.calibration_impact import SCHEMAS, CalibrationImpact, calibration_impact_marts, impact_config
from models.contracts import load_contract
from pipelines.assets.common import (
    PER_CYCLE,
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
KEYS = {name: dg.AssetKey(["marts", name]) for name in SCHEMAS}
MOVES = KEYS["calibration_moves"]
CYCLE_COLUMNS = dict.fromkeys(SCHEMAS, "cycle")  # every mart's period ends at its cycle
DESCRIPTIONS = {
    "calibration_impact": "How many ratings calibration moved, up and down and by how many scale steps, per "
    "unit, with Wilson intervals and mean scores before and after (Z-10). Grain: organization × period × cycle × "
    "grouping (organization, department, function_level, evaluator) × unit.",
    "calibration_distribution": "Distribution of the proposed and the final ratings per unit (Z-10). Grain: "
    "organization × period × cycle × grouping × unit × rating.",
    "calibration_moves": "Rate of being moved down / up in calibration per group of every fairness attribute, "
    "department and evaluator against a reference group: Wilson interval, Fisher exact p, BH q, Cohen's h and the "
    "Mantel–Haenszel odds ratio within function level. Grain: organization × period × cycle × direction × "
    "attribute × group_value.",
    "calibration_moves_strata": "The calibration_moves comparison inside each function level. Grain: "
    "organization × period × cycle × direction × attribute × function_level × group_value.",
    "calibration_spread": "Whether calibration narrowed or widened the differences between units (SD of unit mean "
    "scores) and between groups (gap between group mean scores), with a sentence in nl and en. Grain: "
    "organization × period × cycle × measure × dimension × group_value.",
}
# The staging columns the model reads, besides the extra attribute columns of calibra.yaml.
COLUMNS = (
    "organization",
    "cycle",
    "department",
    "function_level",
    "evaluator_id",
    "rating",
    "proposed_rating",
    "gender",
    "birth_year",
    "fte",
    "employment_type",
)


def _int(value: Any) -> dg.MetadataValue:
    return dg.MetadataValue.int(int(value))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            KEYS[name], deps=[SLICES], group_name="marts", kinds=KINDS, description=DESCRIPTIONS[name]
        )
        for name in SCHEMAS
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "no_flagged_calibration_moves",
            asset=MOVES,
            description="No group or evaluator is moved down or up in calibration significantly (BH q < "
            "metrics.fdr) and practically (|Cohen's h| >= metrics.practical_effect) more or less often than its "
            "reference, overall or inside a function level. A warning to look at, not an error.",
        )
    ],
    **PER_CYCLE,
)
def calibration_impact(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
    """The five calibration impact marts from staging.evaluations rows with a proposed rating.

    Grain: see each table in docs/marts/calibration_impact.md; every table starts with organization × period
    (a single cycle, or a window of the last cycles) × cycle."""
    settings = calibra.settings()
    policies = organisation_policies(calibra)
    names = set(load_contract("evaluations").names)
    extra = {
        org: tuple(a for a in spec.attributes if a in names)
        for org, spec in settings.organizations.items()
        if org in policies
    }
    wanted = list(dict.fromkeys([*COLUMNS, *(a for attrs in extra.values() for a in attrs)]))
    columns_sql = ", ".join(f'"{name}"' for name in wanted if name in names)  # names from the contract only
    computed: list[CalibrationImpact] = []

    def compute(work: SliceWork) -> dict[str, pl.DataFrame]:
        # A cycle is judged by the policy in force for it: one pass per contiguous run of a regime (a single
        # pass when no organisation changed its regime), so a window of cycles never reaches across a regime
        # change: the first cycles under a new policy have a shorter window (their scale may differ).
        results = []
        for regime, (condition, params) in regime_passes(
            policies, work, staged_slices(con, "evaluations") if work.whole else ()
        ):
            evaluations = read_frame(
                con,
                f"""SELECT {columns_sql} FROM staging.evaluations
                    WHERE proposed_rating IS NOT NULL AND rating IS NOT NULL AND list_contains(?, organization)
                      AND {condition}""",
                [sorted(policies), *params],
            )
            computed.append(calibration_impact_marts(evaluations, regime, extra))
            results.append(computed[-1].marts)
        return concat_passes(results, SCHEMAS)

    # A cycle's rows read its window (calibration_impact.window_cycles cycles up to it); the reference group is
    # chosen per cycle, so a new cycle leaves the earlier cycles' rows as they are.
    # A policy without calibration_impact settings fails in the mart only where the organisation has proposed
    # ratings (a regime without proposals has no calibration to measure), so its lookback is a single cycle.
    lookback = {
        org: max(
            impact_config(policy).window_cycles
            if policy.typed.calibration_impact.window_cycles is not None
            else 1
            for policy in policies.every(org)
        )
        for org in policies
    }
    with calibra.writer() as con:
        slices, marts = build_step(
            con,
            settings,
            "calibration_impact",
            changed=run_slices(context),
            organizations=sorted(policies),
            kinds=["evaluations"],
            lookback=lookback,
            tables=CYCLE_COLUMNS,
            compute=compute,
        )
    moves, strata = marts["calibration_moves"], marts["calibration_moves_strata"]
    flagged = int(moves["flag"].sum()) if moves.height else 0
    flagged_strata = int(strata["flag"].sum()) if strata.height else 0
    impact_rows = marts["calibration_impact"].height
    calibra.progress(f"calibration_impact: {slices.reason}; {flagged + flagged_strata} flagged comparisons")
    ignored = {org: attrs for result in computed for org, attrs in result.ignored_attributes.items()}
    if ignored:
        context.log.warning(
            "calibration_impact: attributes not in staging.evaluations were skipped: "
            + "; ".join(f"{org}: {', '.join(attrs)}" for org, attrs in sorted(ignored.items()))
        )
    organisations = (
        int(marts["calibration_impact"].get_column("organization").n_unique()) if impact_rows else 0
    )
    for name, frame in marts.items():
        metadata: dict[str, dg.MetadataValue] = {"dagster/row_count": _int(frame.height)}
        if name == "calibration_impact":
            metadata["organisations_with_proposals"] = _int(organisations)
            metadata["organisation_cycles_rebuilt"] = _int(len(slices.rebuild))
        if name in ("calibration_moves", "calibration_moves_strata") and frame.height:
            metadata["flagged"] = _int(frame["flag"].sum())
            metadata["tested"] = _int(frame["p_value"].is_not_null().sum())
        if name == "calibration_spread" and frame.height:
            for verdict in ("narrowed", "widened"):
                metadata[verdict] = _int((frame["verdict"] == verdict).sum())
        yield dg.MaterializeResult(asset_key=KEYS[name], metadata=metadata)
    yield dg.AssetCheckResult(
        check_name="no_flagged_calibration_moves",
        asset_key=MOVES,
        passed=flagged + flagged_strata == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "flagged_overall": _int(flagged),
            "flagged_within_level": _int(flagged_strata),
            "organisations_with_proposals": _int(organisations),
        },
    )
