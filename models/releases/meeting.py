"""The meeting release: what one department's calibration meeting sees in its pack (Z-10, F-3/F-9).

Audience: the participants of that department's calibration meeting, who discuss each person's rating by
name; the pack also lists the cases (the worklist). Hiding the department's own counts from them protects
nothing they do not see case by case, and left 29 of 30 packs without a comparison with the organisation.

* `pack_ratings` — the department's own counts per function level × rating with its totals, not suppressed
  (below `Thresholds.meeting_k`, default 1: none); other departments appear only as organisation-wide
  aggregates, taken from the organisation-wide rows of the protected `ratings` table (so every release hides
  the same organisation cells).

* `fair_worklist` — the cases of marts.evaluator_fair_ratings whose fair rating (what an average evaluator
  would have given the same team, issue 23) lies across a pay-relevant cut point from the rating given. They
  join the department's worklist (reason `fair_rating`): row-level, pseudonymised like the worklist, and
  confidential with it (left out with the worklist; re-identified only in the pack).

Threat: a reader of one department's pack learning about people of another department. Each pack shows its
own department and the organisation only; where `meeting_k` > 1 the department's small cells are hidden (no
complements: the organisation rows are protected on their own in `ratings`).
"""

from __future__ import annotations

import polars as pl

from models.disclosure.engine import REASON, SMALL, SUPPRESSED, ProtectedTable, TableRule, Thresholds, _cube
from models.releases.calibration import department_level_cells
from models.releases.common import _need

PACK_RULE = TableRule(
    by=("organization", "cycle", "measure", "department"),
    dims=("function_level", "rating"),
    n="n",
    totals=("function_level", "rating"),
    category="rating",
    complete=True,
)
PACK_COLUMNS = ("organization", "cycle", "measure", "department", "function_level", "rating", "n")


def _pack_ratings(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Each department's own rating counts (function level × rating, with totals) for its pack, and the
    organisation's rows (department null) as published in `ratings`."""
    cells = department_level_cells(sources).with_columns(pl.col("n").cast(pl.Int64)).select(PACK_COLUMNS)
    # Every rating code of the organisation's scale in every unit, so a department's shares add up.
    codes = cells.select("organization", "cycle", "measure", "rating").unique()
    grid = (
        cells.select("organization", "cycle", "measure", "department", "function_level")
        .unique()
        .join(codes, on=["organization", "cycle", "measure"])
    )
    cells = grid.join(cells, on=list(PACK_COLUMNS[:-1]), how="left").with_columns(pl.col("n").fill_null(0))
    cube = _cube(cells, PACK_RULE).drop("__row")
    small = (pl.col("n") > 0) & (pl.col("n") < limits.meeting_k)
    own = cube.with_columns(
        small.alias(SUPPRESSED),
        pl.when(small).then(pl.lit(SMALL)).otherwise(pl.lit(None, dtype=pl.String)).alias(REASON),
    ).with_columns(pl.when(pl.col(SUPPRESSED)).then(None).otherwise(pl.col("n")).alias("n"))
    units = own.filter(pl.col("rating").is_null()).select(
        "organization", "cycle", "measure", "department", "function_level", pl.col("n").alias("unit_n")
    )
    own = own.join(
        units,
        on=["organization", "cycle", "measure", "department", "function_level"],
        how="left",
        nulls_equal=True,
    )
    visible = (
        own.filter(pl.col("rating").is_not_null())
        .group_by("organization", "cycle", "measure", "department", "function_level")
        .agg((~pl.col(SUPPRESSED)).all().alias("unit_visible"))
    )
    own = (
        own.with_columns(pl.lit(False).alias("unit_excl"))
        .join(
            visible,
            on=["organization", "cycle", "measure", "department", "function_level"],
            how="left",
            nulls_equal=True,
        )
        .with_columns(
            pl.col("unit_visible").fill_null(True) & pl.col("unit_n").is_not_null(),
            pl.when(pl.col("n").is_not_null() & (pl.col("unit_n") > 0))
            .then(pl.col("n") / pl.col("unit_n"))
            .alias("share"),
        )
    )
    ratings = done.get("ratings")
    # `unit_excl`: the organisation's size over its shown cells in `ratings` ("excl. n < k").
    columns = [*PACK_COLUMNS, "share", "unit_n", "unit_excl", "unit_visible", SUPPRESSED, REASON]
    parts = [own.select(columns)]
    if ratings is not None and ratings.height:
        organisation = ratings.filter(pl.col("department").is_null())
        parts.append(organisation.select([c for c in columns if c in organisation.columns]))
    frame = pl.concat(parts, how="diagonal_relaxed").sort(
        ["organization", "cycle", "measure", "department", "function_level", "rating"], nulls_last=True
    )
    mine = frame.filter(pl.col("department").is_not_null())
    return ProtectedTable(
        frame=frame,
        notes=["meeting release: each department's own counts unsuppressed (docs/privacy.md)"],
        cells=mine.height,
        hidden=int(mine[SUPPRESSED].sum()),
        reasons={SMALL: int(mine[SUPPRESSED].sum())},
        large_cells=int((mine["n"].fill_null(0) >= 2 * limits.k).sum()),
    )


FAIR_SOURCE = "marts.evaluator_fair_ratings"
FAIR_WORKLIST = "fair_worklist"
FAIR_COLUMNS = (
    "organization", "cycle", "department", "employee_id", "evaluator_id", "function_level", "measure", "rating",
    "fair_rating", "pay_cut", "reason_nl", "reason_en",
)  # fmt: skip


def _fair_worklist(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The worklist cases from fair ratings: ratings whose fair rating crosses a pay-relevant cut point
    (row-level and confidential like the worklist: pseudonyms only; only the columns the worklist shows)."""
    fair = _need(sources, FAIR_SOURCE, (*FAIR_COLUMNS, "pay_step"))
    frame = fair.filter(pl.col("pay_step").fill_null(False)).select(FAIR_COLUMNS)
    return ProtectedTable(
        frame=frame, cells=frame.height, notes=["row-level and confidential: pseudonymised ids only"]
    )


__all__ = ["FAIR_SOURCE", "FAIR_WORKLIST", "PACK_RULE", "_fair_worklist", "_pack_ratings"]
