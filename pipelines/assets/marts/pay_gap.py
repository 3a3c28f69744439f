"""Marts: where the reward rules take the pay gap (issue 22) — the Monte Carlo projection of the Article 9 gap
per category (marts.pay_gap_projection), the cost of closing unexplained gaps (marts.pay_gap_cost_to_close) and
the Article 10 joint pay assessments kept as data (marts.pay_assessment). The logic is in
models/pay_gap_projection.py, models/pay_gap_cost.py and models/pay_assessment.py."""

from collections.abc import Iterator, Sequence

import dagster as dg
import duckdb
import polars as pl

from models import person_cycle
from models.budget import cost_rules
from models.pay_assessment import FOLDER, load_assessments
from models.pay_gap_cost import CLOSABLE, NOT_CLOSABLE, cost_to_close, empty_cost
from models.pay_gap_projection import (
    EVALUATION_COLUMNS,
    empty_projection,
    load_rule_changes,
    pay_gap_settings,
    person_frame,
    project_organisation,
)
from models.pay_transparency import people_columns
from pipelines.assets.common import STAGING, organisation_policies
from pipelines.assets.person_cycle import ensure_person_cycle
from pipelines.resources import CalibraResource, read_frame, write_table

PROJECTION = dg.AssetKey(["marts", "pay_gap_projection"])
COST = dg.AssetKey(["marts", "pay_gap_cost_to_close"])
ASSESSMENT = dg.AssetKey(["marts", "pay_assessment"])
KINDS = {"duckdb", "polars"}


def _columns(con: duckdb.DuckDBPyConnection, table: str, wanted: Sequence[str]) -> list[str]:
    """The wanted columns the staging table has (names from the fixed lists above, never from data)."""
    present = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'staging' AND table_name = ?",
            [table],
        ).fetchall()
    }
    return [c for c in wanted if c in present]


@dg.multi_asset(
    name="pay_gap_marts",
    specs=[
        dg.AssetSpec(
            PROJECTION,
            deps=STAGING,
            group_name="marts",
            kinds=KINDS,
            description="The Art. 9(1)(g) mean and median gap per category projected 3-5 years under the "
            "reward rules and the pay-gap scenario files, p5/p50/p95 per year (docs/marts/pay_gap.md).",
        ),
        dg.AssetSpec(
            COST,
            deps=STAGING,
            group_name="marts",
            kinds=KINDS,
            description="Unexplained gap per category (OLS with the declared objective factors) and the cost "
            "of closing it three ways against the payroll share, Z-3, Z-14 (docs/marts/pay_gap.md).",
        ),
        dg.AssetSpec(
            ASSESSMENT,
            group_name="marts",
            kinds=KINDS,
            description="Art. 10 joint pay assessments kept as data: items (a)-(g), status and deadlines per "
            "organisation and cycle, from pay_assessments/<organisation>.yaml (docs/marts/pay_gap.md).",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "no_category_reaches_threshold",
            asset=PROJECTION,
            description="Under the current rules, no category's mean gap of total pay reaches the Art. 10 "
            "threshold with probability >= 50% within the horizon.",
        ),
        dg.AssetCheckSpec(
            "every_flagged_gap_closable",
            asset=COST,
            description="Every category with an unexplained gap at or above the threshold can be closed "
            "within the minimum and maximum raise per person.",
        ),
    ],
)
def pay_gap_marts(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
    """Projection, cost to close and Art. 10 status for every configured organisation (its last cycle as the
    base; the rating distributions from the cycles of the policy's ``pay_gap.rating_window_cycles``).

    Grain: projection organization × scenario × cycle × category × component × measure; cost to close
    organization × cycle × category × method; assessment organization × cycle × item."""
    policies = organisation_policies(calibra)
    config_dir = calibra.settings().config_path.parent
    changes = load_rule_changes(config_dir / "scenarios")
    projections: list[pl.DataFrame] = []
    costs: list[pl.DataFrame] = []
    with calibra.writer() as con:
        ensure_person_cycle(con, calibra.settings(), policies)
        for organization in sorted(policies):
            cycles = [
                int(c)
                for (c,) in con.execute(
                    "SELECT DISTINCT cycle FROM staging.evaluations WHERE organization = ? AND cycle IS NOT NULL",
                    [organization],
                ).fetchall()
            ]
            if not cycles:
                continue
            # The latest policy prices the cycles to come; the rating window does not reach back across a
            # regime change (cycles before it may be on another scale).
            last = max(cycles)
            policy = policies[organization]
            first_cycle = max(
                last - pay_gap_settings(policy).rating_window_cycles + 1,
                policies.regime_start(organization, last, cycles),
            )
            # the organisation's evaluated people of the cycles the projection reads (the rating window up
            # to the last), with pay and rewards, and the scale positions of those on the payroll
            columns = _columns(con, "evaluations", EVALUATION_COLUMNS)
            where, params = "organization = ? AND cycle >= ?", [organization, first_cycle]
            people = person_cycle.read(
                con, people_columns(columns, {organization: policy}), f"evaluated AND {where}", params
            )
            payroll = person_cycle.read(
                con, [*person_cycle.KEYS, "salary_scale", "salary_step"], f"paid AND {where}", params
            )
            scales = read_frame(
                con, "SELECT * FROM staging.salary_scales WHERE organization = ?", [organization]
            )
            persons = person_frame(people, payroll, scales, cost_rules(policy))
            result = project_organisation(persons, scales, policy, organization, changes)
            projections.append(result.frame)
            costs.append(cost_to_close(result.base, policy, organization, result.payroll_by_year))
            calibra.progress(f"pay gap: {organization}, {result.base.height} people projected")
        projection = (
            pl.concat([p for p in projections if p.height])
            if any(p.height for p in projections)
            else empty_projection()
        )
        cost = pl.concat([c for c in costs if c.height]) if any(c.height for c in costs) else empty_cost()
        assessments = load_assessments(config_dir / FOLDER, sorted(policies))
        write_table(con, "marts", "pay_gap_projection", projection)
        write_table(con, "marts", "pay_gap_cost_to_close", cost)
        write_table(con, "marts", "pay_assessment", assessments)
    crossing = (
        projection.filter(
            (pl.col("scenario") == "rules")
            & (pl.col("component") == "total")
            & (pl.col("measure") == "mean_gap")
            & pl.col("first_cycle_at_threshold").is_not_null()
        )
        .select("organization", "category")
        .unique()
        .height
        if projection.height
        else 0
    )
    flagged = (
        cost.filter(pl.col("status").is_in([CLOSABLE, NOT_CLOSABLE]))
        .select("organization", "category")
        .unique()
        .height
    )
    not_closable = (
        cost.filter(pl.col("status") == NOT_CLOSABLE).select("organization", "category").unique().height
    )
    yield dg.MaterializeResult(
        asset_key=PROJECTION,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(projection.height),
            "scenarios": dg.MetadataValue.int(projection["scenario"].n_unique() if projection.height else 0),
            "categories_reaching_threshold": dg.MetadataValue.int(crossing),
        },
    )
    yield dg.MaterializeResult(
        asset_key=COST,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(cost.height),
            "categories_with_unexplained_gap": dg.MetadataValue.int(flagged),
        },
    )
    yield dg.MaterializeResult(
        asset_key=ASSESSMENT,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(assessments.height),
            "assessments": dg.MetadataValue.int(
                assessments.select("organization", "cycle").unique().height if assessments.height else 0
            ),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=PROJECTION,
        check_name="no_category_reaches_threshold",
        passed=crossing == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"categories": dg.MetadataValue.int(crossing)},
    )
    yield dg.AssetCheckResult(
        asset_key=COST,
        check_name="every_flagged_gap_closable",
        passed=not_closable == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"categories_not_closable": dg.MetadataValue.int(not_closable)},
    )
