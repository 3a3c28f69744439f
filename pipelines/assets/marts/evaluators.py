"""Marts: the evaluator report (issue 23) — severity on every cut point of the scale, use of the scale, bias
toward groups, agreement and fair ratings (docs/marts/evaluator_report.md; DOMAIN.md Z-10, F-3).

One thin multi-asset: reads staging.evaluations once per regime pass, has models.calibration.evaluator_report
make the report part by part and writes each part of marts.evaluator_report as it comes (the whole report is
never held: at 200,000 × 5 it is two million rows), then marts.evaluator_fair_ratings. Metadata and check
results hold counts only.
"""

from collections.abc import Iterable, Iterator

import dagster as dg
import polars as pl

from models.calibration import prepare
from models.calibration.evaluator_report import FAIR_SCHEMA, SCHEMA, ReportParts
from pipelines.assets.common import PER_CYCLE, organisation_policies, regime_passes, run_slices, staged_slices
from pipelines.assets.marts.calibration import evaluation_lookback
from pipelines.assets.slices import SLICES
from pipelines.increments import Mart, SliceWork, plan, rebuild
from pipelines.resources import CalibraResource, read_frame

REPORT = dg.AssetKey(["marts", "evaluator_report"])
FAIR = dg.AssetKey(["marts", "evaluator_fair_ratings"])
CYCLE_COLUMNS = {"evaluator_report": "cycle", "evaluator_fair_ratings": "cycle"}
STEP = "evaluator_report"  # its slices' record in audit.mart_inputs (pipelines.increments)

# staging.evaluations columns the report reads (no free text, no dates).
EVALUATIONS_SQL = """
SELECT organization, cycle, employee_id, department, function_level, evaluator_id, second_evaluator_id,
       rating, salary_decision, salary_system, gender, fte, birth_year
FROM staging.evaluations
WHERE list_contains(?, organization)
"""


# The asset's metadata and check: rows, flagged pay-relevant cut points, and the cut points (organisation,
# cycle, measure, item) whose data do not separate evaluators.
REPORT_COUNTS_SQL = """
SELECT count(*),
       count(*) FILTER (WHERE flag AND aspect = 'cut_point'),
       (SELECT count(*) FROM (SELECT DISTINCT organization, cycle, measure, item
                              FROM marts.evaluator_report WHERE tau2_status = 'not_separable'))
FROM marts.evaluator_report
"""
FAIR_COUNTS_SQL = """
SELECT count(*), coalesce(sum(CASE WHEN pay_step THEN 1 ELSE 0 END), 0) FROM marts.evaluator_fair_ratings
"""
CHECKPOINT_MEMORY_LIMIT = "400MB"  # DuckDB's buffer pool while it checkpoints the written report
# Parts are written in batches of at least a DuckDB row group (122,880 rows): a smaller insert goes through
# the write-ahead log and is written twice.
BATCH_ROWS = 122_880


def batched(parts: Iterable[pl.DataFrame], rows: int = BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """Consecutive parts joined (without copying) until they hold at least `rows` rows; the last batch may be
    smaller. The same rows in the same order; at least one batch when there is at least one part."""
    pending: list[pl.DataFrame] = []
    count = 0
    for part in parts:
        pending.append(part)
        count += part.height
        if count >= rows:
            yield pl.concat(pending, rechunk=False)
            pending, count = [], 0
    if pending:
        yield pl.concat(pending, rechunk=False)


@dg.multi_asset(
    name="evaluator_report_marts",
    specs=[
        dg.AssetSpec(
            REPORT,
            deps=[SLICES],
            group_name="marts",
            kinds={"duckdb", "polars"},
            description="Per evaluator and cycle, over the window of the last "
            "calibration.leniency_window_cycles cycles up to the cycle: severity on every cut point of the "
            "scale (binomial GLMM, adjusted for function level and department, shrunk, with an interval and a "
            "flag on pay-relevant cut points), mean shift, use of the scale (central tendency, extremity, "
            "differentiation, infit/outfit), bias toward groups and agreement. Grain: organization × "
            "cycle × measure × evaluator_id × aspect × item.",
        ),
        dg.AssetSpec(
            FAIR,
            deps=[SLICES],
            group_name="marts",
            kinds={"duckdb", "polars"},
            description="Ratings whose fair rating (what an average evaluator would have given the same team) "
            "differs from the rating given, with pay_step where a pay-relevant cut point lies between them. "
            "Grain: organization × cycle × measure × employee_id.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "no_flagged_pay_cut_points",
            asset=REPORT,
            description="No evaluator hands out a pay-relevant outcome significantly and practically more or "
            "less often than colleagues with comparable teams (over the policy's window of cycles).",
        )
    ],
    can_subset=False,
    **PER_CYCLE,
)
def evaluator_report_asset(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
    """The evaluator report for every configured organisation (docs/marts/evaluator_report.md)."""
    settings = calibra.settings()
    policies = organisation_policies(calibra)
    # The longest window any of an organisation's policies asks for (a cycle reads its own regime's window).
    lookback = {
        org: max(evaluation_lookback({org: policy})[org] for policy in policies.every(org))
        for org in policies
    }

    def compute(work: SliceWork) -> dict[str, Mart]:
        # A cycle is judged by the policy in force for it (its scale, pay-relevant cut points and window), as
        # in the calibration marts: one pass per contiguous run of a regime, so an evaluator's window and
        # agreement never pool cycles judged by different policies; a single pass when nothing changed.
        passes = regime_passes(policies, work, staged_slices(con, "evaluations") if work.whole else ())
        done: list[ReportParts] = []

        def report() -> Iterator[pl.DataFrame]:
            """The report's parts, pass by pass, made while they are written (rebuild writes them)."""
            for regime, (condition, params) in passes:
                # prepare keeps each organisation's own rows: the evaluations as read are let go at once
                parts = ReportParts(
                    prepare(
                        read_frame(con, f"{EVALUATIONS_SQL} AND {condition}", [sorted(policies), *params]),
                        regime,
                    ),
                    # the earlier cycles of a window are read, not made again: rebuild keeps only these
                    made=None if work.whole else work.rebuild,
                )
                done.append(parts)
                yield from parts.report()
            if not done:  # no pass at all: the tables are still (re)written, empty
                yield pl.DataFrame(schema=SCHEMA)

        def fair() -> Iterator[pl.DataFrame]:
            """The fair ratings of every pass: written after the report, whose parts collect them."""
            frames = [parts.fair_ratings() for parts in done]
            yield pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema=FAIR_SCHEMA)

        # in this order: the fair ratings are complete once the report's last part is written
        return {"evaluator_report": batched(report()), "evaluator_fair_ratings": fair()}

    with calibra.writer() as con:
        # plan + rebuild rather than build_step: the metadata and the check need counts only, so they are
        # counted in DuckDB instead of reading the whole report (millions of rows at scale) back into memory.
        slices = plan(
            con,
            settings,
            STEP,
            changed=run_slices(context),
            organizations=sorted(policies),
            kinds=["evaluations"],
            lookback=lookback,
            tables=CYCLE_COLUMNS,
        )
        slices = rebuild(con, slices, CYCLE_COLUMNS, compute)
        # DuckDB compresses the new report when it checkpoints (else when the connection closes): with its
        # default memory limit (80% of RAM) its buffer pool then grew by 0.8 GB at 200,000 × 5, the step's
        # peak. Checkpointed here under a small limit (the pool evicts; same file), then the limit is reset.
        con.execute(f"SET memory_limit = '{CHECKPOINT_MEMORY_LIMIT}'")
        try:
            con.execute("CHECKPOINT")
        finally:
            con.execute("RESET memory_limit")
        rows, flagged, not_separable = con.execute(REPORT_COUNTS_SQL).fetchone() or (0, 0, 0)
        fair_rows, pay_steps = con.execute(FAIR_COUNTS_SQL).fetchone() or (0, 0)
    calibra.progress(
        f"evaluator report: {slices.reason}; evaluator_report {rows}, evaluator_fair_ratings {fair_rows}"
    )
    context.log.info(f"evaluator report: {'whole' if slices.whole else 'per cycle'} ({slices.reason})")
    yield dg.MaterializeResult(
        asset_key=REPORT,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(int(rows)),
            "flagged_pay_cut_points": dg.MetadataValue.int(int(flagged)),
            "not_separable_cut_points": dg.MetadataValue.int(int(not_separable)),
        },
    )
    yield dg.MaterializeResult(
        asset_key=FAIR,
        metadata={
            "dagster/row_count": dg.MetadataValue.int(int(fair_rows)),
            "pay_step_cases": dg.MetadataValue.int(int(pay_steps)),
        },
    )
    yield dg.AssetCheckResult(
        asset_key=REPORT,
        check_name="no_flagged_pay_cut_points",
        passed=int(flagged) == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"flagged_evaluator_cut_points": dg.MetadataValue.int(int(flagged))},
    )
