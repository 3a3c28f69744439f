"""Global recoding, the first step of disclosure control (before primary and complementary suppression).

Statistical offices merge or set apart a small category instead of protecting it by hiding its large siblings:
hiding 640 women and 700 men because 4 people have gender X is the sign that a recode was skipped.

* `leave_out_small_groups` — a category outside the compared ones (gender X or unknown next to women and men,
  Directive (EU) 2023/970) whose group, or either of its cells (with and without the outcome), holds fewer
  than k people is left out of the comparison table; totals are then computed over the shown categories,
  and each row of the attribute says so (`OTHERS_LEFT_OUT`: "excluding n < k others").
* `level_bands` — function levels of a department with fewer than k people are merged with adjacent
  levels into bands (in the levels' order) until each band holds at least k people.

Pure polars; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def level_bands(sizes: dict[str, int], order: Sequence[str], k: int) -> dict[str, str]:
    """Function level → band label. Adjacent levels (in `order`) are merged until every band holds at least k
    people (a last band short of k joins the one before it); a band of one level keeps its own name, a band of
    several is named "first–last". Levels with no people are left as they are."""
    present = [level for level in order if sizes.get(level, 0) > 0]
    bands: list[list[str]] = []
    current: list[str] = []
    total = 0
    for level in present:
        current.append(level)
        total += sizes[level]
        if total >= k:
            bands.append(current)
            current, total = [], 0
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
