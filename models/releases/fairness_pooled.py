"""Pooled-window rows of the fairness table (issue 16): women and men inside one function level over the complete
window of cycles of `marts.fairness_strata` (period "window"), protected jointly with the per-cycle rows.

A gap inside one function level can be too small to show in any cycle (every count below k) and still be plain
over three cycles. A pooled count is the sum of the same cell over the window's cycles, so publishing it
publishes the sum of that cell's hidden per-cycle values: with one hidden cycle, the pooled count minus the
published cycles gives it back. The per-cycle protection (`_fairness_cubes`) is therefore taken as it is (its
hidden cells are fixed: a pooled row never hides a per-cycle cell) and the pooled cells are added to the
reader's equations: one cube per organisation × window × outcome × attribute with the dims cycle, function
level, group and yes/no, every total included (a total over the cycles is a pooled cell). A block (the women's
and men's yes/no cells of one level) is published only when each of its four cells holds at least k people
(a zero would say that everyone of the group is alike, which the per-cycle table hides), and then only if
the exact audit of the disclosure engine (`_determined` with the bounds, and the half-person width check)
pins no hidden per-cycle cell that is small or hidden as everyone alike, and no small pooled cell of a
withheld block (a group's pooled total, the sum of its per-cycle totals, minus the other levels' published
blocks would give it back); otherwise blocks are withdrawn, for each pinned cell the smallest of the nearest
published ones, until nothing is pinned. With every block withdrawn the equations are the per-cycle ones,
which the per-cycle protection audited, so this ends with a safe table.

Derived statistics (rate, odds ratio, Woolf interval, Fisher p, BH q) are published only on published blocks:
the four counts they are computed from are then all shown.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from models.disclosure.engine import (
    COMPLEMENT,
    HOMOGENEOUS,
    REASON,
    SMALL,
    SUPPRESSED,
    TableRule,
    Thresholds,
    _cube,
    _determined,
    _equations,
    _pinned_by_bounds,
)

POOLED_SCOPE = "function_level_window"  # the `scope` of the pooled rows in the published fairness table
POOLED_ATTRIBUTES = ("gender",)  # models.fairness.POOLED_ATTRIBUTES
LEVEL = "function_level"
WINDOW = "window"  # the cube's partition column: the window's last cycle
POOLED_RULE = TableRule(
    by=("organization", WINDOW, "outcome", "attribute"),
    dims=("cycle", "stratum", "group_value", "has"),
    n="n",
    totals=("cycle", "stratum", "group_value", "has"),
    category="has",
    complete=True,
)
CUBE_KEYS = ["organization", "cycle", "outcome", "attribute", "stratum", "group_value", "has"]
STATS = ("odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high", "p_value", "q_value", "flag")
BLOCK = ["organization", WINDOW, "outcome", "attribute", "stratum"]


def _windows(pooled: pl.DataFrame, cycles: pl.DataFrame) -> pl.DataFrame:
    """(organization, window, first_cycle, cycle): each pooled window's member cycles, as the mart pooled
    them (the cycles present between its first and last)."""
    spans = pooled.select("organization", pl.col("cycle").alias(WINDOW), "first_cycle").unique()
    return (
        spans.join(cycles.select("organization", "cycle").unique(), on="organization")
        .filter(pl.col("cycle").is_between(pl.col("first_cycle"), pl.col(WINDOW)))
        .select("organization", WINDOW, "first_cycle", pl.col("cycle").cast(pl.Int64))
    )


def _nearest_blocks(
    cell: int,
    hidden: np.ndarray,
    shown: np.ndarray,
    members: list[np.ndarray],
    by_cell: dict[int, list[int]],
    block_id: np.ndarray,
) -> set[str]:
    """The published blocks closest to `cell`: breadth first through its equations, passing only through hidden
    cells (a known cell ends a path), the blocks of the first shown pooled cells met."""
    seen, layer = {cell}, [cell]
    while layer:
        found: set[str] = set()
        following: list[int] = []
        for current in layer:
            for e in by_cell.get(current, []):
                for other in members[e].tolist():
                    if other in seen:
                        continue
                    seen.add(other)
                    if shown[other]:
                        found.add(str(block_id[other]))
                    elif hidden[other]:
                        following.append(other)
        if found:
            return found
        layer = following
    return set()


def protect_pooled(
    pooled: pl.DataFrame,
    cells: pl.DataFrame,
    main: pl.DataFrame,
    limits: Thresholds,
) -> tuple[pl.DataFrame, dict[str, int]]:
    """The published pooled rows (`scope` :data:`POOLED_SCOPE`) and the cell counts for the disclosure report.

    `pooled`: the mart's pooled-window rows (binary outcomes); `cells`: the per-cycle cube cells of the
    function-level stratification as the per-cycle protection saw them (CUBE_KEYS + n, after recoding);
    `main`: that protection's result (CUBE_KEYS + `suppressed`, totals included)."""
    compared = list(limits.compared_groups)
    pooled = pooled.filter(
        pl.col("attribute").is_in(list(POOLED_ATTRIBUTES))
        & (pl.col("stratum_type") == LEVEL)
        & (pl.col("outcome_kind") == "binary")
        & pl.col("group_value").is_in(compared)
    )
    report = {"cells": 0, "hidden": 0, SMALL: 0, "withdrawn": 0, "large_cells": 0, "large_complements": 0}
    if pooled.height == 0:
        return pooled.head(0), report
    spans = _windows(pooled, cells)
    windows = pooled.select("organization", pl.col("cycle").alias(WINDOW), "outcome").unique()
    base = (
        cells.filter(pl.col("attribute").is_in(list(POOLED_ATTRIBUTES)) & pl.col("has").is_not_null())
        .with_columns(pl.col("cycle").cast(pl.Int64))
        .join(spans, on=["organization", "cycle"], how="inner")
        .join(windows, on=["organization", WINDOW, "outcome"], how="semi")
        .select("organization", WINDOW, *CUBE_KEYS[1:], "n")
    )
    # A window is protected only with every cycle it pools: its rows must be the sums of the per-cycle cells
    # given (the same people). Sources of fewer cycles (one cycle republished alone) leave the window out.
    sums = base.group_by("organization", WINDOW, "outcome", "stratum", "group_value").agg(
        pl.col("n").sum().alias("_n"), pl.col("n").filter(pl.col("has") == "yes").sum().alias("_yes")
    )
    checked = pooled.join(
        sums,
        left_on=["organization", "cycle", "outcome", "stratum", "group_value"],
        right_on=["organization", WINDOW, "outcome", "stratum", "group_value"],
        how="left",
    )
    partial = (
        checked.filter(
            (pl.col("_n") != pl.col("n")).fill_null(True)
            | (pl.col("_yes") != pl.col("count")).fill_null(True)
        )
        .select("organization", "cycle")
        .unique()
    )
    pooled = pooled.join(partial, on=["organization", "cycle"], how="anti")
    base = base.join(partial.rename({"cycle": WINDOW}), on=["organization", WINDOW], how="anti")
    if pooled.height == 0:
        return pooled.head(0), report
    cube = _cube(base, POOLED_RULE)
    members = [np.concatenate(([t], p)) for t, p in _equations(cube, POOLED_RULE)]
    n = cube["n"].fill_null(0).to_numpy().astype(np.int64)
    per_cycle = cube["cycle"].is_not_null().to_numpy()
    reason = pl.col(REASON) if REASON in main.columns else pl.lit(None, dtype=pl.String)
    main_hidden = (
        main.filter(pl.col(SUPPRESSED))
        .select(*CUBE_KEYS, (reason == HOMOGENEOUS).fill_null(False).alias("_alike"))
        .with_columns(pl.col("cycle").cast(pl.Int64), pl.lit(True).alias("_main_hidden"))
    )
    flags = cube.join(main_hidden, on=CUBE_KEYS, how="left", nulls_equal=True, maintain_order="left")
    fixed = flags["_main_hidden"].fill_null(False).to_numpy() & per_cycle
    # What the per-cycle table protects: its small counts and the cells of groups in which everyone is alike.
    sensitive = fixed & (((n > 0) & (n < limits.k)) | flags["_alike"].fill_null(False).to_numpy())
    # A block: the pooled yes/no cells of women and men in one level.
    pooled_cells = (
        ~per_cycle & cube["stratum"].is_not_null().to_numpy() & cube["has"].is_not_null().to_numpy()
    )
    pooled_cells &= cube["group_value"].is_in(compared).fill_null(False).to_numpy()

    def ident(columns: list[str]) -> np.ndarray:
        parts = [pl.col(c).cast(pl.String).fill_null("\x00") for c in columns]
        return cube.select(pl.concat_str(parts, separator="\x1f")).to_series().to_numpy()

    block_id, partition_id = ident(BLOCK), ident(BLOCK[:-1])
    partition_of = dict(zip(block_id.tolist(), partition_id.tolist(), strict=True))
    # A zero is "everyone alike" (every woman of the level without the outcome, in every cycle): hidden as the
    # per-cycle table hides it. So each of the four cells needs at least k people.
    small_block = {block_id[i] for i in np.flatnonzero(pooled_cells & (n < limits.k))}
    blocks = sorted({block_id[i] for i in np.flatnonzero(pooled_cells)})
    report["cells"] = 4 * len(blocks)
    publish = {b for b in blocks if b not in small_block}
    report[SMALL] = len(blocks) - len(publish)
    # A withheld block's small pooled counts are protected too: the pooled total of a group (the sum of its
    # per-cycle totals) minus the other levels' published blocks would give them back.
    sensitive |= pooled_cells & (n > 0) & (n < limits.k)
    block_size = dict.fromkeys(blocks, 0)
    for i in np.flatnonzero(pooled_cells):
        block_size[block_id[i]] += int(n[i])
    withdrawn: set[str] = set()
    # The reader knows every per-cycle cell the per-cycle table shows, every pooled cell of a published block
    # and whatever the equations give; the rest (pooled totals not in a block too) are unknowns.
    lp_cache: dict[tuple[int, ...], list[int]] = {}
    by_cell: dict[int, list[int]] = {}
    for e, m in enumerate(members):
        for c in m:
            by_cell.setdefault(int(c), []).append(e)
    while True:
        shown = pooled_cells & np.isin(block_id, list(publish))
        hidden = fixed | (~per_cycle & ~shown)
        pinned = [
            c for c in _determined(hidden, members, None, n.astype(float), exact_bounds=True) if sensitive[c]
        ]
        if not pinned:
            pinned = _pinned_by_bounds(n.astype(float), hidden, members, sensitive, 0.5, lp_cache)
        if not pinned:
            break
        # For each pinned cell withdraw one published block: the smallest of the nearest (through the equations
        # and the hidden cells between; as the engine picks complements). None near: every block of the pinned
        # cells' partitions.
        near = set()
        for cell in pinned:
            found = _nearest_blocks(cell, hidden, shown, members, by_cell, block_id)
            if found:
                near.add(min(found, key=lambda b: (block_size[b], b)))
        if not near:
            partitions = {partition_id[cell] for cell in pinned}
            near = {b for b in publish if partition_of[b] in partitions}
        if not near:  # the per-cycle protection alone pins it: not this module's to fix (its audit ran)
            break
        publish -= near
        withdrawn |= near
    report["withdrawn"] = len(withdrawn)
    report["hidden"] = 4 * (len(blocks) - len(publish))
    report["large_cells"] = int(np.sum(pooled_cells & (n >= 2 * limits.k)))
    report["large_complements"] = int(
        np.sum(pooled_cells & (n >= 2 * limits.k) & np.isin(block_id, list(withdrawn)))
    )
    published = (
        cube.filter(pl.Series(pooled_cells))
        .with_columns(pl.Series("_block", block_id[pooled_cells]))
        .select("organization", pl.col(WINDOW).alias("cycle"), "outcome", "attribute", "stratum",
                "group_value", "has", "n", pl.col("_block").is_in(list(publish)).alias("_shown"),
                pl.col("_block").is_in(list(withdrawn)).alias("_withdrawn"))
    )  # fmt: skip
    keys = ["organization", "cycle", "outcome", "attribute", "stratum", "group_value"]
    wide = published.group_by(keys).agg(
        pl.col("n").filter(pl.col("has") == "yes").sum().alias("_yes"),
        pl.col("n").sum().alias("_n"),
        pl.col("_shown").all().alias("_shown"),
        pl.col("_withdrawn").any().alias("_withdrawn"),
    )
    rows = pooled.join(wide, on=keys, how="left")
    shown_row = pl.col("_shown").fill_null(False)
    out = rows.select(
        "organization",
        "first_cycle",
        "cycle",
        "outcome",
        "outcome_kind",
        "favourable",
        "attribute",
        "stratum",
        "group_value",
        "is_reference",
        "reference_group",
        pl.when(shown_row).then(pl.col("n")).alias("group_n"),
        pl.when(shown_row).then(pl.col("count")).alias("count"),
        pl.when(shown_row & (pl.col("n") > 0)).then(pl.col("count") / pl.col("n")).alias("rate"),
        *[
            pl.when(shown_row & ~pl.col("is_reference")).then(pl.col(c)).alias(c)
            for c in STATS
            if c in rows.columns
        ],
        (~shown_row).alias(SUPPRESSED),
        # A block with a count of 1 .. k-1 is hidden as small; one withdrawn by the audit as a complement.
        pl.when(shown_row)
        .then(None)
        .when(pl.col("_withdrawn").fill_null(False))
        .then(pl.lit(COMPLEMENT))
        .otherwise(pl.lit(SMALL))
        .alias(REASON),
        pl.lit(POOLED_SCOPE).alias("scope"),
    )
    # Published rounded like every comparison of the table (2 decimals, p and q 3).
    out = out.with_columns(
        [pl.col(c).round(2) for c in ("odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high")]
        + [pl.col(c).round(3) for c in ("p_value", "q_value")]
    )
    return out, report
