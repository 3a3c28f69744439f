"""Publication rule of marts.fairness_intersections (issue 23): the fairness page's intersections of gender ×
part-time × function level (organisation audience).

Every number of an intersection describes a small group, so the table is protected with the disclosure engine
as a count table: per organisation × cycle × measure × outcome the cells function level × gender × part-time
× result (at or above the cut: yes / no), with every total (so a hidden cell cannot be recomputed from a
total that another table publishes, such as a gender's count within a function level on the fairness page):

* a count from 1 to k−1 is hidden, and so is every count of a group whose members all had the same result
  (everyone alike) — with complementary suppression until no hidden cell follows from the totals;
* a function level's at-or-above count that the organisation-wide ``ratings`` table hides (its cut points,
  ``done["ratings_cut_points"]``) is hidden here too (forced), so the intersections of that level cannot add
  up to it;
* derived statistics only where their counts are published: the raw rate where both the group's yes and no
  counts are shown; the shrunken rate and its interval where, in addition, the function level's counts (the
  prior mean) are shown. A hidden group keeps its existence and, where shown, its size.

Registered in models.releases.registry (organisation audience: the fairness page).
"""

from __future__ import annotations

import polars as pl

from models.disclosure.engine import REASON, SUPPRESSED, ProtectedTable, TableRule, Thresholds, protect
from models.releases.common import _need

NAME = "fairness_intersections"
SOURCE = "marts.fairness_intersections"
BY = ("organization", "cycle", "measure", "outcome")
CELL = ("function_level", "gender", "part_time")
RESULT = "result"
SOURCE_COLUMNS = (*BY, "outcome_position", "label_nl", "label_en", *CELL, "n", "count")
DERIVED = ("rate", "shrunk_rate", "shrunk_lo", "shrunk_hi", "own_weight")
PRIOR = ("level_n", "level_count", "level_rate", "prior_strength", "prior_status")

INTERSECTIONS_RULE = TableRule(
    by=BY,
    dims=(*CELL, RESULT),
    n="n",
    totals=(*CELL, RESULT),
    category=RESULT,
    complete=True,
)


def _forced(done: dict[str, pl.DataFrame], cells: pl.DataFrame) -> pl.DataFrame | None:
    """Cube keys of the level (and organisation) totals whose at-or-above / below counts `ratings` hides."""
    cuts = done.get("ratings_cut_points")
    if (
        cuts is None
        or cuts.height == 0
        or not {"department", "rating", "has", SUPPRESSED} <= set(cuts.columns)
    ):
        return None
    hidden = cuts.filter(pl.col("department").is_null() & pl.col(SUPPRESSED)).select(
        "organization",
        "cycle",
        "measure",
        pl.col("rating").alias("outcome"),
        "function_level",
        pl.col("has").alias(RESULT),
    )
    keys = cells.select(*BY).unique()
    return hidden.join(keys, on=list(BY), how="semi").with_columns(
        pl.lit(None, dtype=pl.String).alias("gender"), pl.lit(None, dtype=pl.String).alias("part_time")
    )


def release(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The intersections as the fairness page may show them (one row per intersection)."""
    mart = _need(sources, SOURCE, (*SOURCE_COLUMNS, *DERIVED, *PRIOR))
    mart = mart.with_columns(pl.col("cycle").cast(pl.Int64))
    counts = pl.concat(
        [
            mart.select(*BY, *CELL, pl.lit("yes").alias(RESULT), pl.col("count").alias("n")),
            mart.select(*BY, *CELL, pl.lit("no").alias(RESULT), (pl.col("n") - pl.col("count")).alias("n")),
        ]
    )
    protected = protect(counts, INTERSECTIONS_RULE, limits, force=_forced(done, mart))
    cube = protected.frame
    full = pl.all_horizontal([pl.col(c).is_not_null() for c in CELL])
    level_rows = (
        pl.col("gender").is_null() & pl.col("part_time").is_null() & pl.col("function_level").is_not_null()
    )

    def sides(rows: pl.DataFrame, keys: list[str], prefix: str) -> pl.DataFrame:
        return rows.group_by(keys).agg(
            pl.col("n").filter(pl.col(RESULT).is_null()).first().alias(f"{prefix}total"),
            (~pl.col(SUPPRESSED).filter(pl.col(RESULT).is_not_null())).all().alias(f"{prefix}shown"),
            pl.col(REASON).filter(pl.col(SUPPRESSED)).first().alias(f"{prefix}reason"),
        )

    cells = sides(cube.filter(full), [*BY, *CELL], "")
    levels = sides(cube.filter(level_rows), [*BY, "function_level"], "level_")
    out = (
        mart.drop("n")
        .join(cells, on=[*BY, *CELL], how="left")
        .join(levels.drop("level_total", "level_reason"), on=[*BY, "function_level"], how="left")
        .with_columns(pl.col("shown").fill_null(False), pl.col("level_shown").fill_null(False))
        .rename({"total": "n"})
    )
    shown, prior = pl.col("shown"), pl.col("shown") & pl.col("level_shown")
    out = out.with_columns(
        [pl.when(shown).then(pl.col(c)).alias(c) for c in ("count", "rate")]
        + [pl.when(prior).then(pl.col(c)).alias(c) for c in (*DERIVED[1:], *PRIOR)]
        + [(~shown).alias(SUPPRESSED), pl.when(~shown).then(pl.col("reason")).alias(REASON)]
    ).drop("shown", "level_shown", "reason")
    protected.frame = out.sort([*BY, "outcome_position", *CELL]).select(
        *SOURCE_COLUMNS, *DERIVED, *PRIOR, SUPPRESSED, REASON
    )
    protected.notes.append("derived rates only where the group's and its level's counts are published")
    return protected
