"""Global recoding, the first step of disclosure control (before primary and complementary suppression).

Statistical offices merge or set apart a small category instead of protecting it by hiding its large siblings:
hiding 640 women and 700 men because 4 people have gender X is the sign that a recode was skipped.

* `leave_out_small_groups` — a category outside the compared ones (gender X or unknown next to women and men,
  Directive (EU) 2023/970) whose group, or either of its cells (with and without the outcome), holds fewer
  than k people is left out of the comparison table; totals are then computed over the shown categories,
  and each row of the attribute says so (`OTHERS_LEFT_OUT`: "excluding n < k others").
* `level_bands` — function levels of a department with fewer than k people are merged with adjacent
  levels into bands (in the levels' order) until each band holds at least k people.
* `without_left_out_people` — person rows (or evaluation rows) without the people of the gender categories a
  cycle leaves out, for marts whose totals sit on an organisation-site page beside the fairness table's women
  and men (process status, budget headcount): their totals are then over the shown categories.

Pure polars; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

OTHERS_LEFT_OUT = "others_left_out"  # bool column: this attribute's totals exclude a small category
RECODED = "recoded"  # reason for the report: a cell merged or left out instead of hidden


def small_groups(
    frame: pl.DataFrame,
    keys: Sequence[str],
    attribute: str,
    compared: Sequence[str],
    k: int,
    count: str | None = "count",
) -> pl.DataFrame:
    """The (keys, group_value) of `attribute` outside `compared` that hold fewer than k people or (with a
    `count` column: a binary outcome) fewer than k with or without the outcome."""
    rows = frame.filter(
        (pl.col("attribute") == attribute)
        & pl.col("group_value").is_not_null()
        & ~pl.col("group_value").is_in(list(compared))
    )
    small = pl.col("n") < k
    if count is not None and count in rows.columns:
        # Either cell (with and without the outcome) below k: the category's cells would be hidden, and its
        # large siblings with them. Everyone alike (a cell of 0) is one such case.
        small = small | (
            pl.col(count).is_not_null() & ((pl.col(count) < k) | ((pl.col("n") - pl.col(count)) < k))
        )
    return rows.filter(small).select(*keys, "attribute", "group_value").unique()


def leave_out_small_groups(frame: pl.DataFrame, left_out: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """`frame` without the groups `left_out` names (keys, attribute, group_value); `frame` may hold more
    columns (strata) than the keys."""
    if left_out.height == 0:
        return frame
    on = [*keys, "attribute", "group_value"]
    left_out = left_out.select(pl.col(c).cast(frame.schema[c]) for c in on)
    return frame.join(left_out, on=on, how="anti", nulls_equal=True)


def mark_left_out(frame: pl.DataFrame, left_out: pl.DataFrame, keys: Sequence[str]) -> pl.DataFrame:
    """`frame` with `OTHERS_LEFT_OUT` True on every row of an attribute (within keys) from which a group was
    left out: its totals exclude those people."""
    if left_out.height == 0 or not set(keys) <= set(frame.columns):
        return frame.with_columns(pl.lit(False).alias(OTHERS_LEFT_OUT))
    on = [*keys, "attribute"]
    flagged = (
        left_out.select(pl.col(c).cast(frame.schema[c]) for c in on)
        .unique()
        .with_columns(pl.lit(True).alias(OTHERS_LEFT_OUT))
    )
    return frame.join(flagged, on=on, how="left", nulls_equal=True).with_columns(
        pl.col(OTHERS_LEFT_OUT).fill_null(False)
    )


def level_bands(
    sizes: dict[str, int], order: Sequence[str], k: int, cells: Mapping[str, Sequence[int]] | None = None
) -> dict[str, str]:
    """Function level → band label. Adjacent levels (in `order`) are merged until every band holds at least k
    people (a last band short of k joins the one before it); a band of one level keeps its own name, a band of
    several is named "first–last". Levels with no people are left as they are.

    With `cells` (per level its counts over a category, such as the ratings), a band also closes only once
    each of its non-zero summed counts holds k people and they are not all in one category, so that its
    distribution can be shown (a band of five people spread over five ratings would hide every cell, a band
    of ten with the same rating too); a last band that does not get there joins the one
    before it. The caller leaves out of `cells` a category that is small in the whole unit: it is hidden
    wherever it falls, and would otherwise merge every level into one band. (The only thing a band's extent
    tells is that the levels before its last one had a count from 1 to k−1, which the hidden marks would
    tell too.)"""
    present = [level for level in order if sizes.get(level, 0) > 0]
    bands: list[list[str]] = []
    current: list[str] = []
    total = 0
    summed: list[int] = []

    def publishable() -> bool:
        # Each non-zero count of k or more, and not everyone in one category (that would hide them all).
        return cells is None or (
            all(c == 0 or c >= k for c in summed) and sum(1 for c in summed if c > 0) >= 2
        )

    for level in present:
        current.append(level)
        total += sizes[level]
        if cells is not None:
            counts = list(cells.get(level, ()))
            summed = [a + b for a, b in zip(summed, counts, strict=False)] if summed else counts
        if total >= k and publishable():
            bands.append(current)
            current, total, summed = [], 0, []
    if current:
        if bands:
            bands[-1].extend(current)
        else:
            bands.append(current)
    mapping = {}
    for band in bands:
        label = band[0] if len(band) == 1 else f"{band[0]}–{band[-1]}"
        for level in band:
            mapping[level] = label
    return mapping


LEFT_OUT_PERSON = "left_out_person"  # bool column of person rows: this person's gender category is left out


def mark_left_out_people(
    frame: pl.DataFrame, left_out: pl.DataFrame | None, gender: str = "gender"
) -> pl.DataFrame:
    """Person rows of `frame` (organization, cycle, `gender`, ...) with `LEFT_OUT_PERSON` True for the people of
    the categories in `left_out` (organization, cycle, gender: models.fairness_intersections.left_out_categories,
    the fairness mart's rule) and `OTHERS_LEFT_OUT` True on every row of a cycle that left someone out.

    A total of a department or of the organisation that still counted them sits next to the fairness table's
    women and men and gives the left-out category back by subtraction (total − women − men; docs/privacy.md).
    Counted over the shown categories, the total says so instead ("excluding n < k others")."""
    if left_out is None or left_out.height == 0 or gender not in frame.columns:
        return frame.with_columns(pl.lit(False).alias(LEFT_OUT_PERSON), pl.lit(False).alias(OTHERS_LEFT_OUT))
    categories = (
        left_out.select(
            pl.col("organization").cast(pl.String).alias("_o"),
            pl.col("cycle").cast(pl.Int64).alias("_c"),
            pl.col("gender").cast(pl.String).alias("_g"),
        )
        .unique()
        .with_columns(pl.lit(True).alias(LEFT_OUT_PERSON))
    )
    cycles = categories.select("_o", "_c").unique().with_columns(pl.lit(True).alias(OTHERS_LEFT_OUT))
    keyed = frame.with_columns(
        pl.col("organization").cast(pl.String).alias("_o"),
        pl.col("cycle").cast(pl.Int64).alias("_c"),
        pl.col(gender).cast(pl.String).alias("_g"),
    )
    return (
        keyed.join(categories, on=["_o", "_c", "_g"], how="left")
        .join(cycles, on=["_o", "_c"], how="left")
        .with_columns(pl.col(LEFT_OUT_PERSON).fill_null(False), pl.col(OTHERS_LEFT_OUT).fill_null(False))
        .drop("_o", "_c", "_g")
    )


def without_left_out_people(
    frame: pl.DataFrame, left_out: pl.DataFrame | None, gender: str = "gender"
) -> pl.DataFrame:
    """`frame` without the people :func:`mark_left_out_people` marks, each row saying whether its cycle left
    someone out (`OTHERS_LEFT_OUT`): totals over the shown categories."""
    marked = mark_left_out_people(frame, left_out, gender)
    return marked.filter(~pl.col(LEFT_OUT_PERSON)).drop(LEFT_OUT_PERSON)
