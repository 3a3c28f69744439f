"""Publication rule of marts.fairness_intersections (issue 23): the fairness page's intersections of gender ×
part-time × function level (organisation audience).

Every number of an intersection describes a small group, so the table is protected with the disclosure engine
as a count table: per organisation × cycle × measure × outcome the cells function level × gender × part-time
× result (at or above the cut: yes / no), with every total (so a hidden cell cannot be recomputed from a
total that another table publishes, such as a gender's count within a function level on the fairness page):

* a count from 1 to k−1 is hidden, and so is every count of a group whose members all had the same result
  (everyone alike) — with complementary suppression until no hidden cell follows from the totals;
* a function level's, gender's or part-time group's size and at-or-above count that the fairness table of
  the same release hides (``done["fairness"]``, built first) is hidden here too (forced), so the
  intersections cannot add up to it (the management-only ``ratings`` table no longer forces anything here:
  it is protected for management, within itself);
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

# What the page shows: each intersection's and each function level's size and count at or above the cut (the
# count below is their difference). Its other margins are the fairness table's numbers (a gender's or a
# part-time group's count, overall or within a level: known margins, counted there), except gender ×
# part-time over all levels, which no table of the release shows: those are unknowns of the reader's
# equations (docs/privacy.md, "Complementary suppression: what it costs").
_FULL = pl.all_horizontal([pl.col(c).is_not_null() for c in CELL])
_LEVEL = pl.col("function_level").is_not_null() & pl.col("gender").is_null() & pl.col("part_time").is_null()
INTERSECTIONS_RULE = TableRule(
    by=BY,
    dims=(*CELL, RESULT),
    n="n",
    totals=(*CELL, RESULT),
    category=RESULT,
    complete=True,
    shown=(_FULL | _LEVEL) & (pl.col(RESULT).is_null() | (pl.col(RESULT) != "no")),
    unpublished=pl.col("function_level").is_null()
    & pl.col("gender").is_not_null()
    & pl.col("part_time").is_not_null(),
)


FAIRNESS_AT_LEAST = "rating_at_least_"  # models.releases.fairness.AT_LEAST: the fairness outcome of a code
# The fairness table's attributes that are a margin of this cube (its other margins are set to null).
FAIRNESS_MARGINS = ("function_level", "gender", "part_time")


def _forced(done: dict[str, pl.DataFrame], cells: pl.DataFrame) -> pl.DataFrame | None:
    """Cube keys of the margins the fairness table (the same organisation release, built before) hides: a
    function level's, a gender's or a part-time group's size, and its at-or-above / below counts, for the
    outcome "rated at least <code>". Those numbers are the same people here (a level's, gender's or part-time
    group's total over the other two), so a number hidden there is hidden here too."""
    fairness = done.get("fairness")
    if (
        fairness is None
        or fairness.height == 0
        or not {"scope", "group_n", SUPPRESSED} <= set(fairness.columns)
    ):
        return None
    rows = fairness.filter(
        (pl.col("scope") == "overall")
        & pl.col("attribute").is_in(list(FAIRNESS_MARGINS))
        & pl.col("outcome").str.starts_with(FAIRNESS_AT_LEAST)
        & pl.col(SUPPRESSED)
    ).select(
        "organization",
        pl.col("cycle").cast(pl.Int64),
        pl.col("outcome").str.strip_prefix(FAIRNESS_AT_LEAST).alias("outcome"),
        "attribute",
        "group_value",
        pl.col("group_n").is_null().alias("_size"),
    )
    if rows.height == 0:
        return None
    margins = [
        rows.filter(pl.col("attribute") == attribute).select(
            "organization",
            "cycle",
            "outcome",
            *(
                (pl.col("group_value") if c == attribute else pl.lit(None, dtype=pl.String)).alias(c)
                for c in CELL
            ),
            "_size",
        )
        for attribute in FAIRNESS_MARGINS
    ]
    hidden = pl.concat(margins)
    # A suppressed row hides its yes and no counts (a shown size and count would give the other back); a null
    # size hides the group's total as well.
    counts = hidden.join(pl.DataFrame({RESULT: ["yes", "no"]}), how="cross")
    sizes = hidden.filter(pl.col("_size")).with_columns(pl.lit(None, dtype=pl.String).alias(RESULT))
    keys = cells.select(*BY).unique().with_columns(pl.col("cycle").cast(pl.Int64))
    return (
        pl.concat([counts, sizes.select(counts.columns)])
        .drop("_size")
        .join(keys, on=["organization", "cycle", "outcome"], how="inner")
        .select(*BY, *CELL, RESULT)
        .unique()
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
