"""Marts: budget — the cost of the rating and reward decisions (marts.budget, marts.budget_by_type), their
projection over the policy's horizon (marts.budget_forecast) and the what-if moves of the scenario files
(marts.budget_whatif). The logic is in models/budget.py, models/forecast.py and models/whatif.py."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from models.budget import BUDGET_SUMS, LEVEL_DEPARTMENT, LEVEL_ORGANISATION, compute_budget, load_inputs
from models.forecast import compute_forecast, load_scenarios
from models.whatif import RESULT_SCHEMA, WhatIfError, whatif
from pipelines.assets.common import PER_CYCLE, STAGING, organisation_policies, run_slices, staged_slices
from pipelines.assets.marts.fairness import FAIRNESS
from pipelines.assets.marts.intersections import left_out_of_fairness
from pipelines.assets.person_cycle import ensure_person_cycle
from pipelines.assets.slices import SLICES
from pipelines.increments import SliceWork, build_step, slices_condition
from pipelines.resources import CalibraResource, write_table

BUDGET = dg.AssetKey(["marts", "budget"])
BY_TYPE = dg.AssetKey(["marts", "budget_by_type"])
FORECAST = dg.AssetKey(["marts", "budget_forecast"])
WHATIF = dg.AssetKey(["marts", "budget_whatif"])
KINDS = {"duckdb", "polars"}
CYCLE_COLUMNS = {"budget": "cycle", "budget_by_type": "cycle"}


def _count(frame: pl.DataFrame, condition: pl.Expr) -> int:
    return int(frame.filter(condition).height) if frame.height else 0


def _totals_mismatch(budget: pl.DataFrame) -> int:
    """Organisation × cycle totals whose additive columns differ from the sum of their departments."""
    if budget.height == 0:
        return 0
    keys = ["organization", "cycle"]
    columns = [c for c in BUDGET_SUMS if c in budget.columns]
    parts = budget.filter(pl.col("level") == LEVEL_DEPARTMENT).group_by(keys).agg(pl.col(columns).sum())
    totals = budget.filter(pl.col("level") == LEVEL_ORGANISATION).select(*keys, *columns)
    joined = totals.join(parts, on=keys, how="full", suffix="_parts", coalesce=True)
    bad = pl.lit(False)
    for c in columns:
        total, part = pl.col(c).fill_null(0), pl.col(f"{c}_parts").fill_null(0)
        bad = bad | ((total - part).abs() > 1e-6 * (1 + total.abs()))
    count = pl.col("headcount") != pl.col("structural_costed") + pl.col("structural_no_decision") + pl.col(
        "structural_uncosted"
    )
    return joined.filter(bad).height + budget.filter(count).height


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            BUDGET,
            deps=[SLICES, FAIRNESS],  # the gender categories marts.fairness leaves out: shown_headcount
            group_name="marts",
            kinds=KINDS,
            description="Cost of the rating and reward decisions against the budget (Z-2..Z-7, Z-12, Z-14, "
            "F-7..F-9). Grain: organization × cycle × department, plus one organisation total per cycle "
            "(level 'organisatie', department '(totaal)').",
        ),
        dg.AssetSpec(
            BY_TYPE,
            deps=[SLICES],
            group_name="marts",
            kinds=KINDS,
            description="Incidental reward cost by award type (Z-4..Z-7, F-7). Grain: organization × cycle × "
            "department × award_type, plus organisation totals per type.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "department_over_budget",
            asset=BUDGET,
            description="No department spends more than its incidental or structural budget (Z-14).",
        ),
        dg.AssetCheckSpec(
            "totals_add_up",
            asset=BUDGET,
            description="Every organisation total is the sum of its departments; every person is costed, "
            "without a decision, or counted as uncosted.",
        ),
        dg.AssetCheckSpec(
            "everyone_priced",
            asset=BUDGET,
            description="Nobody is left unpriced for missing data (no payroll row, a scale or step not in "
            "the scale table); uncosted by the policy's own rule (seniority system) is not a warning.",
        ),
    ],
    **PER_CYCLE,
)
def budget(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
    """marts.budget and marts.budget_by_type, priced on each organisation's policy and salary scales.

    Grain: organization × cycle × department (+ organisation total); by type also × award_type."""
    policies = organisation_policies(calibra)

    def compute(work: SliceWork) -> dict[str, pl.DataFrame]:
        # A cycle is priced by the policy in force for it (calibra.yaml names it per cycle): one pass per
        # regime, a single pass over every slice when no organisation changed its regime.
        regimes = policies.by_regime(
            work.read | (staged_slices(con, "person_cycle") if work.whole else set())
        )
        left_out = left_out_of_fairness(con, policies)
        if len(regimes) <= 1:
            regime = regimes[0][0] if regimes else dict(policies)
            result = compute_budget(
                load_inputs(con, cycle_condition=work.staging_filter(), layer=True, policies=regime),
                regime,
                left_out,
            )
            return {"budget": result.budget, "budget_by_type": result.by_type}
        results = [
            compute_budget(
                load_inputs(con, cycle_condition=slices_condition(slices), layer=True, policies=regime),
                regime,
                left_out,
            )
            for regime, slices in regimes
        ]
        return {
            "budget": pl.concat([r.budget for r in results], how="vertical_relaxed"),
            "budget_by_type": pl.concat([r.by_type for r in results], how="vertical_relaxed"),
        }

    with calibra.writer() as con:
        ensure_person_cycle(con, calibra.settings(), policies)  # the people: the person-cycle layer
        # A cycle's cost reads that cycle's evaluations, payroll and awards, and the salary scales (a change
        # to the scales changes every cycle's fingerprint).
        slices, tables = build_step(
            con,
            calibra.settings(),
            "budget",
            changed=run_slices(context),
            organizations=sorted(policies),
            kinds=["evaluations", "payroll", "awards", "salary_scales"],
            lookback=dict.fromkeys(policies, 1),
            tables=CYCLE_COLUMNS,
            compute=compute,
        )
    frame, by_type = tables["budget"], tables["budget_by_type"]
    departments = frame.filter(pl.col("level") == LEVEL_DEPARTMENT)
    over = _count(departments, pl.col("over_budget"))
    calibra.progress(f"budget: {frame.height} rows, {over} department-cycles over budget")
    yield dg.MaterializeResult(
        asset_key=BUDGET,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(frame.height),
            "organisations": dg.MetadataValue.int(frame["organization"].n_unique() if frame.height else 0),
            "departments_over_budget": dg.MetadataValue.int(over),
            "organisation_cycles_rebuilt": dg.MetadataValue.int(len(slices.rebuild)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=BY_TYPE, metadata={"dagster/row_count": dg.MetadataValue.int(by_type.height)}
    )
    yield dg.AssetCheckResult(
        check_name="department_over_budget",
        asset_key=BUDGET,
        passed=over == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "department_cycles_over_budget": dg.MetadataValue.int(over),
            "department_cycles": dg.MetadataValue.int(departments.height),
        },
    )
    mismatches = _totals_mismatch(frame)
    yield dg.AssetCheckResult(
        check_name="totals_add_up",
        asset_key=BUDGET,
        passed=mismatches == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_not_adding_up": dg.MetadataValue.int(mismatches)},
    )
    totals = frame.filter(pl.col("level") == LEVEL_ORGANISATION)
    no_payroll = int(totals["uncosted_no_payroll"].sum()) if totals.height else 0
    no_scale = int(totals["uncosted_no_scale"].sum()) if totals.height else 0
    yield dg.AssetCheckResult(
        check_name="everyone_priced",
        asset_key=BUDGET,
        passed=no_payroll + no_scale == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "uncosted_no_payroll": dg.MetadataValue.int(no_payroll),
            "uncosted_no_scale": dg.MetadataValue.int(no_scale),
            "uncosted_seniority": dg.MetadataValue.int(
                int(totals["uncosted_seniority"].sum()) if totals.height else 0
            ),
        },
    )


@dg.asset(
    key=FORECAST,
    deps=[*STAGING, FAIRNESS],
    group_name="marts",
    kinds=KINDS,
    check_specs=[
        dg.AssetCheckSpec(
            "next_cycle_within_budget",
            asset=FORECAST,
            description="In the last-cycle scenario, no department's median incidental or structural cost "
            "of the next cycle exceeds its budget.",
        )
    ],
)
def budget_forecast(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
    """Projected cost of the next cycle and the policy's horizon per scenario, with p5/p50/p95 (Z-13, Z-14).

    Grain: organization × scenario × cycle × department, plus organisation totals (department '(totaal)')."""
    policies = organisation_policies(calibra)
    scenarios = load_scenarios(calibra.settings().config_path.parent / "scenarios")
    with calibra.writer() as con:
        ensure_person_cycle(con, calibra.settings(), policies)
        inputs = load_inputs(con, last_cycle_only=True, layer=True)
        costs = compute_budget(inputs, policies).organisations
        left_out = left_out_of_fairness(con, policies)
        frame = compute_forecast(costs, inputs.scales, policies, scenarios, left_out)
        write_table(con, "marts", "budget_forecast", frame)
    next_cycle = frame.filter(
        (pl.col("level") == LEVEL_DEPARTMENT)
        & (pl.col("horizon") == 1)
        & (pl.col("scenario") == "last_cycle")
    )
    over = _count(
        next_cycle,
        (pl.col("incidental_utilisation_p50") > 1).fill_null(False)
        | (pl.col("structural_utilisation_p50") > 1).fill_null(False),
    )
    calibra.progress(f"budget forecast: {frame.height} rows")
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(frame.height),
            "scenarios": dg.MetadataValue.int(frame["scenario"].n_unique() if frame.height else 0),
        }
    )
    yield dg.AssetCheckResult(
        check_name="next_cycle_within_budget",
        passed=over == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"departments_over_budget": dg.MetadataValue.int(over)},
    )


@dg.asset(
    key=WHATIF,
    deps=STAGING,
    group_name="marts",
    kinds=KINDS,
    check_specs=[
        dg.AssetCheckSpec(
            "scenario_moves_apply",
            asset=WHATIF,
            description="Every scenario file with moves names departments and outcomes that exist, and no "
            "more people than there are.",
        )
    ],
)
def budget_whatif(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
    """Before / after cost, budget utilisation and top-outcome shares by gender for the moves in scenarios/*.yaml
    (the same figures as `calibra whatif`), on each organisation's last cycle.

    Grain: scenario × metric × scope (the organisation or a department named in the moves)."""
    policies = organisation_policies(calibra)
    files = [
        f
        for f in load_scenarios(calibra.settings().config_path.parent / "scenarios")
        if f.moves and f.organization in policies
    ]
    frames: list[pl.DataFrame] = []
    failed = 0
    with calibra.writer() as con:
        ensure_person_cycle(con, calibra.settings(), policies)
        for organization in sorted({f.organization for f in files}):
            # only the organisations a scenario names, only their last cycle
            inputs = load_inputs(con, organization=organization, last_cycle_only=True, layer=True)
            costs = compute_budget(inputs, {organization: policies[organization]}).organisations
            for file in (f for f in files if f.organization == organization):
                try:
                    if organization not in costs:
                        raise WhatIfError(f"organisation {organization} has no data")
                    result = whatif(costs[organization], inputs.scales, file.moves)
                except WhatIfError:
                    failed += (
                        1  # the reason names a department and counts only; it stays out of the event log
                    )
                    continue
                frames.append(
                    result.table.select(
                        pl.lit(result.organization).alias("organization"),
                        pl.lit(result.cycle, dtype=pl.Int64).alias("cycle"),
                        pl.lit(file.id).alias("scenario"),
                        pl.all(),
                    )
                )
        schema = {"organization": pl.String, "cycle": pl.Int64, "scenario": pl.String, **RESULT_SCHEMA}
        frame = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=schema)
        write_table(con, "marts", "budget_whatif", frame)
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(frame.height),
            "scenario_files": dg.MetadataValue.int(len(files)),
        }
    )
    yield dg.AssetCheckResult(
        check_name="scenario_moves_apply",
        passed=failed == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"scenario_files_not_applied": dg.MetadataValue.int(failed)},
    )
