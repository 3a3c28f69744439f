"""The disclosure report: per published table, its page and audience, how many cells it could publish, how many
it shows, and how many it hides and why (primary: small, small remainder (a shown count whose group's size
minus it is small) or everyone alike; complementary; recoded: groups left out or merged before suppression).
Only the cells a page shows are counted (`TableRule.shown`: a rate table's count without the outcome is not
one). Also the cells of at least 2k people and how many of those were hidden as complements (and as small
remainders): the price of protecting small cells, which recoding should keep low (issue 16's aim: at most 5%
in the organisation release, none in the meeting and management releases).

Counts only, never data values: the report goes to the run's metadata and the test output.
"""

from __future__ import annotations

import polars as pl

from models.disclosure.engine import (
    COMPLEMENT,
    HOMOGENEOUS,
    SMALL,
    SMALL_REMAINDER,
    SUPPRESSED,
    ProtectedTable,
)

REPORT_SCHEMA = {
    "organization": pl.String,
    "table": pl.String,
    "page": pl.String,
    "audience": pl.String,
    "cells": pl.Int64,
    "shown": pl.Int64,
    "hidden": pl.Int64,
    "small": pl.Int64,
    "small_remainder": pl.Int64,
    "homogeneous": pl.Int64,
    "complement": pl.Int64,
    "recoded": pl.Int64,
    "cells_2k": pl.Int64,
    "complement_2k": pl.Int64,
    "remainder_2k": pl.Int64,
}


def report_row(
    organization: str, table: str, page: str, audience: str, result: ProtectedTable
) -> dict[str, object]:
    """One table's line of the report. Tables protected with `protect` carry their reasons; tables protected
    by a rule of their own (a unit hidden with its distribution) count their hidden rows, reason unknown."""
    frame = result.frame
    hidden = result.hidden
    if not result.cells and SUPPRESSED in frame.columns:
        hidden = int(frame[SUPPRESSED].fill_null(False).sum())
    cells = result.cells or frame.height
    return {
        "organization": organization,
        "table": table,
        "page": page,
        "audience": audience,
        "cells": cells,
        "shown": cells - hidden,
        "hidden": hidden,
        "small": result.reasons.get(SMALL, 0),
        "small_remainder": result.reasons.get(SMALL_REMAINDER, 0),
        "homogeneous": result.reasons.get(HOMOGENEOUS, 0),
        "complement": result.reasons.get(COMPLEMENT, 0),
        "recoded": result.recoded,
        "cells_2k": result.large_cells,
        "complement_2k": result.large_complements,
        "remainder_2k": result.large_remainders,
    }


def summary(report: pl.DataFrame) -> pl.DataFrame:
    """Per audience: cells, shown, hidden by reason, and the share of cells with n ≥ 2k hidden as complements."""
    if report.height == 0:
        return pl.DataFrame(schema={"audience": pl.String})
    sums = [pl.col(c).sum() for c in REPORT_SCHEMA if REPORT_SCHEMA[c] == pl.Int64]
    return (
        report.group_by("audience")
        .agg(sums)
        .with_columns(
            pl.when(pl.col("cells_2k") > 0)
            .then(pl.col("complement_2k") / pl.col("cells_2k"))
            .otherwise(0.0)
            .alias("complement_2k_share")
        )
        .sort("audience")
    )
