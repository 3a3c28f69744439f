"""The process page: milestones per department and rule findings."""

from __future__ import annotations

import polars as pl

from models.disclosure.engine import (
    SUPPRESSED,
    ProtectedTable,
    TableRule,
    Thresholds,
    protect,
)
from models.disclosure.recode import OTHERS_LEFT_OUT
from models.releases.calibration import _unrated_organization_sizes
from models.releases.common import Missing, _need

# ---------------------------------------------------------------------------------------------- process
PROCESS_RULE = TableRule(
    by=("organization", "cycle", "metric"),
    dims=("department", "has"),
    n="n",
    totals=("department", "has"),
    complete=True,
    # The page shows each department's size and count; the count without is their difference.
    shown=pl.col("has").is_null() | (pl.col("has") != "no"),
)


def _process(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Process milestones per department: for every count, the people with and without it are cells; the
    department's n is the same in every metric, so a department total hidden in one metric is hidden in all.
    Where the mart counts over the shown gender categories (a small one left out of the fairness comparison,
    models.process_status), every row of that cycle says so (`others_left_out`: "excluding n < k others")."""
    ps = _need(sources, "marts.process_status", ("organization", "cycle", "department", "n"))
    metrics = [c for c in ps.columns if f"{c}_share" in ps.columns]
    if not metrics:
        raise Missing("marts.process_status has no count columns")
    long = pl.concat(
        [
            ps.filter(pl.col(m).is_not_null()).select(
                "organization",
                "cycle",
                pl.lit(m).alias("metric"),
                "department",
                pl.col(m).alias("yes"),
                pl.col("n").alias("all"),
            )
            for m in metrics
        ]
    )
    cells = pl.concat(
        [
            long.select(
                "organization",
                "cycle",
                "metric",
                "department",
                pl.lit("yes").alias("has"),
                pl.col("yes").alias("n"),
            ),
            long.select(
                "organization",
                "cycle",
                "metric",
                "department",
                pl.lit("no").alias("has"),
                (pl.col("all") - pl.col("yes")).alias("n"),
            ),
        ]
    )
    # The organisation's size where its unrated count is small (and one department's with it, see
    # `_unrated_organization_sizes`): the same n in every metric, hidden in all of them (and in `budget`).
    sizes = (
        _unrated_organization_sizes(sources, limits)
        .cast({"cycle": cells.schema["cycle"]})
        .join(cells.select("organization", "cycle", "metric").unique(), on=["organization", "cycle"])
        .with_columns(pl.lit(None, dtype=pl.String).alias("has"))
        .select("organization", "cycle", "metric", "department", "has")
    )
    force = sizes.unique()
    for _ in range(20):
        result = protect(cells, PROCESS_RULE, limits, force=force)
        totals = (
            result.frame.filter(pl.col("has").is_null() & pl.col(SUPPRESSED))
            .select("organization", "cycle", "department")
            .unique()
        )
        if totals.height == 0:
            break
        wanted = totals.join(
            cells.select("organization", "cycle", "metric").unique(), on=["organization", "cycle"]
        ).with_columns(pl.lit(None, dtype=pl.String).alias("has"))
        already = result.frame.filter(pl.col("has").is_null() & pl.col(SUPPRESSED)).select(
            "organization", "cycle", "metric", "department"
        )
        if (
            wanted.join(
                already, on=["organization", "cycle", "metric", "department"], how="anti", nulls_equal=True
            ).height
            == 0
        ):
            break
        force = pl.concat([force, wanted.select(force.columns)]).unique()
    frame = result.frame
    all_n = frame.filter(pl.col("has").is_null()).select(
        "organization", "cycle", "metric", "department", pl.col("n").alias("group_n")
    )
    yes = frame.filter(pl.col("has") == "yes").select(
        "organization",
        "cycle",
        "metric",
        "department",
        pl.col("n").alias("count"),
        pl.col(SUPPRESSED).alias("_y"),
    )
    no = frame.filter(pl.col("has") == "no").select(
        "organization", "cycle", "metric", "department", pl.col(SUPPRESSED).alias("_n")
    )
    keys = ["organization", "cycle", "metric", "department"]
    out = (
        all_n.join(yes, on=keys, how="left", nulls_equal=True)
        .join(no, on=keys, how="left", nulls_equal=True)
        .with_columns(
            (pl.col("_y").fill_null(True) | pl.col("_n").fill_null(True) | pl.col("group_n").is_null()).alias(
                SUPPRESSED
            )
        )
        .with_columns(
            pl.when(pl.col(SUPPRESSED)).then(None).otherwise(pl.col("count")).alias("count"),
        )
        .with_columns(pl.when(pl.col("group_n") > 0).then(pl.col("count") / pl.col("group_n")).alias("share"))
        .drop("_y", "_n")
        .sort(keys, nulls_last=True)
    )
    if OTHERS_LEFT_OUT in ps.columns:
        flags = ps.group_by("organization", "cycle").agg(pl.col(OTHERS_LEFT_OUT).fill_null(False).any())
        out = out.join(flags.cast({"cycle": out.schema["cycle"]}), on=["organization", "cycle"], how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Boolean).alias(OTHERS_LEFT_OUT))
    result.frame = out.with_columns(pl.col(OTHERS_LEFT_OUT).fill_null(False))
    return result


FINDINGS_RULE = TableRule(
    by=("organization", "cycle", "rule", "check", "severity"),
    dims=("department",),
    n="n",
    totals=("department",),
)


def _findings(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """People with a rule finding per rule, check and department (aggregated in the database)."""
    keys = ("organization", "cycle", "department", "rule", "check", "severity", "n")
    fi = _need(sources, "marts.compliance_findings", keys).select(keys)
    # A department without a finding for a rule has a zero, not a gap: complete the grid within the cycle.
    findings = fi.select("organization", "cycle", "rule", "check", "severity").unique()
    departments = fi.select("organization", "cycle", "department").unique()
    grid = findings.join(departments, on=["organization", "cycle"], how="inner")
    fi = grid.join(
        fi,
        on=["organization", "cycle", "rule", "check", "severity", "department"],
        how="left",
        nulls_equal=True,
    )
    return protect(fi.with_columns(pl.col("n").fill_null(0)), FINDINGS_RULE, limits)
