"""What every release module shares: the whitelisted database tables, the `Missing` signal and small helpers.

Every published table is built from the marts by a function in one of the release modules, per organisation
(with that organisation's thresholds), and protected with a TableRule. Derived statistics (means, tests, funnel
positions) are only published where the counts they come from are published (see models.releases.derived)."""

from __future__ import annotations

import io
from collections.abc import Iterable

import polars as pl

# `ratings` table, so they add nothing an attacker could not already compute from it.

SEP = " × "  # models.calibration: the unit of a department × function level grouping is "department × level"
DEPARTMENT_TOTAL = "(totaal)"  # models.budget: the organisation row of the budget marts

# Database tables the publish step reads (each through the query in pipelines/assets/publish.py).
PUBLISHED_TABLES = (
    "audit.load_ledger",
    "audit.contract_results",
    "marts.quarantine_summary",
    "marts.rating_distribution",
    "marts.unit_deviation",
    "marts.evaluator_leniency",
    "marts.rating_transitions",
    "marts.rating_drift",
    "marts.calibration_worklist",
    "marts.fairness",
    "marts.fairness_strata",
    "marts.fairness_intersections",
    "marts.pay_transparency",
    "marts.pay_gap_projection",
    "marts.pay_gap_cost_to_close",
    "marts.pay_assessment",
    "marts.budget",
    "marts.budget_by_type",
    "marts.budget_forecast",
    "marts.budget_whatif",
    "marts.process_status",
    "marts.compliance_findings",
    "marts.calibration_impact",
    "marts.calibration_distribution",
    "marts.calibration_moves",
    "marts.calibration_moves_strata",
    "marts.calibration_spread",
    "marts.evaluator_report",
    "marts.evaluator_fair_ratings",  # row-level, pseudonymised: only its pay-step cases, for the worklist
    "staging.evaluations",  # only as evaluator → main department (an aggregate; see the publish query)
)
# Counts of files and rows: nothing about a person; published as they are.
PASS_THROUGH = ("audit.load_ledger", "audit.contract_results", "marts.quarantine_summary")
# Row-level and marked confidential on the site; left out with include_worklist=False.
CONFIDENTIAL = ("worklist", "fair_worklist")
EVALUATOR_DEPARTMENTS = "staging.evaluations"


def own_buffers(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` copied into buffers that hold only its own values: a string view column of a filtered frame
    shares, and so keeps alive, every data buffer of the column it was filtered from. Copied through an
    in-memory Parquet file (uncompressed): of the copies measured on a cycle of the 200,000 × 5 evaluator
    report (276,000 rows, 0.09 GB by `estimated_size`) it left the least resident: 0.12 GB, against 0.17 GB
    through Arrow IPC, 0.30 GB through `to_arrow`/`from_arrow` and 0.28 GB not copied (docs/benchmark.md)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="uncompressed", statistics=False)
    buffer.seek(0)
    copied = pl.read_parquet(buffer)
    return copied if copied.schema == frame.schema else frame


class Missing(Exception):
    """A source lacks a table or a column the published table needs (said in the notes, never fatal)."""


def _need(sources: dict[str, pl.DataFrame], name: str, columns: Iterable[str]) -> pl.DataFrame:
    frame = sources.get(name)
    if frame is None:
        raise Missing(f"{name} is not in the database (yet)")
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise Missing(f"{name} lacks column(s) {', '.join(absent)}")
    return frame


def _hide(frame: pl.DataFrame, mask: pl.Expr, columns: Iterable[str]) -> pl.DataFrame:
    return frame.with_columns(
        [pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in columns if c in frame.columns]
    )
