"""Mart: pay-relevant outcomes per intersection of gender × part-time × function level, with hierarchical-Bayes
shrinkage for small groups (issue 23; docs/marts/fairness_intersections.md).

One thin asset: reads the staging.evaluations columns it needs, calls models.fairness_intersections and writes
marts.fairness_intersections per organisation × cycle (a cycle's rows read that cycle only). Metadata holds
counts only.
"""

from collections.abc import Mapping

import dagster as dg
import duckdb
import polars as pl

from models.fairness_intersections import SCHEMA as INTERSECTIONS_SCHEMA
from models.fairness_intersections import fairness_intersections, left_out_categories
from models.policy import Policy
from pipelines.assets.common import (
    PER_CYCLE,
    CyclePolicies,
    by_cycle_policy,
    concat_passes,
    organisation_policies,
    regime_passes,
    run_slices,
    staged_slices,
)
from pipelines.assets.marts.fairness import FAIRNESS
from pipelines.assets.slices import SLICES
from pipelines.increments import SliceWork, build_step
from pipelines.resources import CalibraResource, read_frame

INTERSECTIONS = dg.AssetKey(["marts", "fairness_intersections"])
CYCLE_COLUMNS = {"fairness_intersections": "cycle"}

# staging.evaluations columns the mart reads (no identifiers, no free text, no dates).
EVALUATIONS_SQL = """
SELECT organization, cycle, function_level, gender, fte, rating, salary_decision, salary_system
FROM staging.evaluations
WHERE list_contains(?, organization)
"""
# The gender rows of marts.fairness: which small categories the fairness mart leaves out of a cycle.
FAIRNESS_GENDER_SQL = """
SELECT organization, cycle, outcome, attribute, group_value, n, count
FROM marts.fairness
WHERE attribute = 'gender' AND list_contains(?, organization)
"""


def left_out_of_fairness(con: duckdb.DuckDBPyConnection, policies: Mapping[str, Policy]) -> pl.DataFrame:
    """(organization, cycle, gender) of the small gender categories marts.fairness leaves out of a cycle
    (models.fairness_intersections.left_out_categories), for the marts whose totals sit beside the fairness
    table's women and men on the organisation site (process status, budget and forecast headcount); none when
    marts.fairness is not built (an asset materialised on its own)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'marts' AND table_name = 'fairness'"
    ).fetchall()
    if not exists[0][0]:
        return pl.DataFrame(schema={"organization": pl.String, "cycle": pl.Int64, "gender": pl.String})
    rows = read_frame(con, FAIRNESS_GENDER_SQL, [sorted(policies)])
    if not isinstance(policies, CyclePolicies):
        return left_out_categories(rows, policies)
    # each cycle by the policy in force for it, as marts.fairness decided
    found = [left_out_categories(part, regime) for regime, part in by_cycle_policy(policies, rows)]
    return pl.concat(found).unique() if len(found) > 1 else found[0]


@dg.asset(
    key=INTERSECTIONS,
    deps=[SLICES, FAIRNESS],
    group_name="marts",
    kinds={"duckdb", "polars"},
    description="Per organisation × cycle × pay-relevant outcome × gender × part-time × function level: the "
    "raw rate and a beta-binomial hierarchical-Bayes rate shrunk toward the function level's rate, with a 95% "
    "interval (docs/marts/fairness_intersections.md).",
    **PER_CYCLE,
)
def fairness_intersections_asset(
    context: dg.AssetExecutionContext, calibra: CalibraResource
) -> dg.MaterializeResult:
    """marts.fairness_intersections for every configured organisation and cycle."""
    settings = calibra.settings()
    policies = organisation_policies(calibra)

    def compute(work: SliceWork) -> dict[str, pl.DataFrame]:
        # A cycle is judged by the policy in force for it (its scale and pay-relevant outcomes, its disclosure
        # threshold): one pass per regime, a single pass when no organisation changed its regime.
        results = []
        for regime, (condition, params) in regime_passes(
            policies, work, staged_slices(con, "evaluations") if work.whole else ()
        ):
            evaluations = read_frame(con, f"{EVALUATIONS_SQL} AND {condition}", [sorted(policies), *params])
            gender_rows = read_frame(
                con, f"{FAIRNESS_GENDER_SQL} AND {condition}", [sorted(policies), *params]
            )
            left_out = left_out_categories(gender_rows, regime)
            results.append({"fairness_intersections": fairness_intersections(evaluations, regime, left_out)})
        return concat_passes(results, {"fairness_intersections": INTERSECTIONS_SCHEMA})

    with calibra.writer() as con:
        slices, marts = build_step(
            con,
            settings,
            "fairness_intersections",
            changed=run_slices(context),
            organizations=sorted(policies),
            kinds=["evaluations", "awards", "payroll"],  # what marts.fairness reads: its left-out categories
            lookback=dict.fromkeys(policies, 1),
            tables=CYCLE_COLUMNS,
            compute=compute,
        )
    frame = marts["fairness_intersections"]
    context.log.info(f"fairness intersections: {'whole' if slices.whole else 'per cycle'} ({slices.reason})")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(frame.height),
            "pooled_outcomes": dg.MetadataValue.int(
                frame.filter(pl.col("prior_status") == "pooled")
                .select("organization", "cycle", "measure", "outcome")
                .n_unique()
            ),
        }
    )
