"""The norming review (audience: management): units on the funnel plot, transitions, drift, and what
calibration moved (calibration impact)."""

from __future__ import annotations

import polars as pl

from models.disclosure.engine import (
    COMPLEMENT,
    EXCLUDES_HIDDEN,
    HOMOGENEOUS,
    REASON,
    SHOWN_TOTAL,
    SMALL,
    SUPPRESSED,
    ProtectedTable,
    TableRule,
    Thresholds,
    concat_protected,
    margins_over_shown,
    protect,
    protect_margins_over_shown,
)
from models.disclosure.recode import RECODED, leave_out_small_groups, mark_left_out, small_groups
from models.releases.calibration import RATING_MEASURE
from models.releases.common import _hide, _need
from models.releases.fairness import _rates

# ---------------------------------------------------------------------------------------------- calibration impact
# The site shows one cycle at a time: the marts' pooled windows (period = 'window') stay in the database.
IMPACT_PERIOD = "cycle"
IMPACT_MEASURE = (
    RATING_MEASURE  # the proposal is a rating: the measure of `ratings` that holds the same people
)
REST_OF_ORGANISATION = "rest_of_organisation"  # models.fairness.REST: the reference "everyone else"
MOVE_ATTRIBUTES = ("gender", "age_band", "part_time", "employment_type", "function_level")
MOVE_COUNTS = (("down", "n_down"), ("unchanged", "n_unchanged"), ("up", "n_up"))

MOVES_BY_DEPARTMENT_RULE = TableRule(
    by=("organization", "cycle"),
    dims=("department", "direction"),
    n="n",
    totals=("department", "direction"),
    category="direction",
    complete=True,
)
BEFORE_AFTER_RULE = TableRule(
    by=("organization", "cycle"),
    dims=("stage", "rating"),
    n="n",
    totals=("rating",),
    category="rating",
    complete=True,
)
MOVES_BY_GROUP_RULE = TableRule(
    by=("organization", "cycle", "direction", "attribute"),
    dims=("group_value", "has"),
    n="n",
    totals=("group_value", "has"),
    category="has",
    complete=True,
    # The page shows each group's size and the people moved that way (and their rate), not those not moved.
    shown=pl.col("has").is_null() | (pl.col("has") != "no"),
)
MOVES_COMPARISONS = (
    "odds_ratio", "within_level_odds_ratio", "within_level_ci_low", "within_level_ci_high", "q_value",
    "within_level_q_value", "flag", "finding_nl", "finding_en",
)  # fmt: skip
SPREAD_COLUMNS = (
    "organization", "cycle", "measure", "dimension", "group_value", "reference_group", "before", "after",
    "change", "change_ci_low", "change_ci_high", "verdict", "sentence_nl", "sentence_en",
)  # fmt: skip


def _impact_period(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("period") == IMPACT_PERIOD) if "period" in frame.columns else frame


def _with_share(frame: pl.DataFrame, keys: list[str], dim: str) -> pl.DataFrame:
    """`group_n` (the row's total: null in `dim`) and `share` = n / group_n where both are shown. A total
    published over the shown cells (`margins_over_shown`) gives `group_n` over them and `group_excl` True."""
    if SHOWN_TOTAL in frame.columns:
        totals = frame.filter(pl.col(dim).is_null()).select(
            *keys, pl.col(SHOWN_TOTAL).alias("group_n"), pl.col(EXCLUDES_HIDDEN).alias("group_excl")
        )
    else:
        totals = frame.filter(pl.col(dim).is_null()).select(*keys, pl.col("n").alias("group_n"))
    return frame.join(totals, on=keys, how="left", nulls_equal=True).with_columns(
        pl.when(pl.col("n").is_not_null() & (pl.col("group_n") > 0))
        .then(pl.col("n") / pl.col("group_n"))
        .alias("share")
    )


def _calibration_moves_by_department(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """People whose proposal was moved down, left unchanged or moved up, per department, with the
    organisation as the department total (null department). Management audience: protected within itself."""
    ci = _need(
        sources,
        "marts.calibration_impact",
        ("organization", "cycle", "grouping", "unit", *(c for _, c in MOVE_COUNTS)),
    )
    departments = _impact_period(ci).filter(
        (pl.col("grouping") == "department") & pl.col("unit").is_not_null()
    )
    cells = pl.concat(
        [
            departments.select(
                "organization",
                pl.col("cycle").cast(pl.Int64),
                pl.col("unit").cast(pl.String).alias("department"),
                pl.lit(direction).alias("direction"),
                pl.col(column).cast(pl.Int64).alias("n"),
            )
            for direction, column in MOVE_COUNTS
        ]
    )
    # A department's proposals, where publishing their number would cost a complement, over the shown cells
    # ("excl. n < k"): a small move needs no large sibling hidden in its own row.
    protected = protect_margins_over_shown(cells, MOVES_BY_DEPARTMENT_RULE, limits, "direction")
    protected.frame = margins_over_shown(protected.frame, MOVES_BY_DEPARTMENT_RULE, "direction")
    protected.frame = _with_share(protected.frame, ["organization", "cycle", "department"], "direction").sort(
        ["organization", "cycle", "department", "direction"], nulls_last=True
    )
    return protected


def _calibration_before_after(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The organisation's distribution of proposals (stage `proposed`) and final ratings (`final`), each
    protected as counts over the rating (management audience: within itself)."""
    cd = _need(
        sources,
        "marts.calibration_distribution",
        ("organization", "cycle", "grouping", "rating", "rating_position", "n_proposed", "n_final"),
    )
    org = _impact_period(cd).filter(pl.col("grouping") == "organization")
    cells = pl.concat(
        [
            org.select(
                "organization",
                pl.col("cycle").cast(pl.Int64),
                pl.lit(stage).alias("stage"),
                pl.col("rating").cast(pl.String),
                pl.col(column).cast(pl.Int64).alias("n"),
                pl.col("rating_position").cast(pl.Int64),
            )
            for stage, column in (("proposed", "n_proposed"), ("final", "n_final"))
        ]
    )
    # A stage's people, where publishing their number would cost a complement, over the shown cells.
    protected = protect_margins_over_shown(cells, BEFORE_AFTER_RULE, limits, "rating")
    protected.frame = margins_over_shown(protected.frame, BEFORE_AFTER_RULE, "rating")
    protected.frame = _with_share(protected.frame, ["organization", "cycle", "stage"], "rating").sort(
        ["organization", "cycle", "stage", "rating_position"], nulls_last=True
    )
    return protected


def _calibration_moves_by_group(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Per attribute group and direction: the people moved that way and not (cells), protected like the
    fairness cube; a group's size is the same in both directions, so a size hidden in one is hidden in both
    (management audience: nothing forced from `ratings`). Rates with their interval for visible
    groups; the comparison with the reference group only where both are visible and both hold k people."""
    cols = ("organization", "cycle", "direction", "attribute", "group_value", "n", "count")
    cm = _need(sources, "marts.calibration_moves", (*cols, "reference_group"))
    rows = _impact_period(cm).filter(
        pl.col("attribute").is_in(list(MOVE_ATTRIBUTES)) & pl.col("group_value").is_not_null()
    )
    base = rows.select(
        "organization",
        pl.col("cycle").cast(pl.Int64),
        "direction",
        "attribute",
        pl.col("group_value").cast(pl.String),
        pl.col("n").cast(pl.Int64).alias("_all"),
        pl.col("count").cast(pl.Int64).alias("_yes"),
    )
    keys = ["organization", "cycle", "direction", "attribute", "group_value"]
    # Recoding before suppression: an attribute of which at most one group holds k people compares nothing
    # (its large group is the organisation less a small rest, so it could only be shown by hiding it) and is
    # left out of that cycle, not protected by hiding its large group.
    sizable = (
        base.filter(pl.col("_all") >= limits.k)
        .group_by("organization", "cycle", "attribute")
        .agg(pl.col("group_value").n_unique().alias("_groups"))
    )
    compared = (
        base.select("organization", "cycle", "attribute")
        .unique()
        .join(sizable, on=["organization", "cycle", "attribute"], how="left")
    )
    dropped = compared.filter(pl.col("_groups").fill_null(0) < 2).select("organization", "cycle", "attribute")
    base = base.join(dropped, on=["organization", "cycle", "attribute"], how="anti")
    recoded = dropped.height
    # An attribute whose groups count fewer people than the organisation (a small category left out, such as
    # gender X: models.disclosure.recode) has totals no other attribute publishes: where a total would cost a
    # complement it is published over the shown groups ("excl. n < k") instead of hiding a large group.
    sums = base.group_by("organization", "cycle", "direction", "attribute").agg(
        pl.col("_all").sum().alias("_sum")
    )
    partial = sums.filter(
        pl.col("_sum") < pl.col("_sum").max().over("organization", "cycle", "direction")
    ).select("organization", "cycle", "direction", "attribute")
    # Likewise an attribute of which, in one direction, a single group would be shown (every other group
    # small, or moved all alike): that group is the organisation less the hidden ones, so it could only be
    # shown by hiding it too. Its comparison is impossible; it is left out of that direction (its sizes stay
    # in the other).
    by = ["organization", "cycle", "direction", "attribute"]
    shown_groups = (
        base.join(partial, on=by, how="anti")
        .group_by(by)
        .agg(
            pl.len().alias("_groups"),
            ((pl.col("_yes") >= limits.k) & ((pl.col("_all") - pl.col("_yes")) >= limits.k))
            .sum()
            .alias("_shown"),
        )
    )
    lone = shown_groups.filter((pl.col("_groups") >= 2) & (pl.col("_shown") == 1)).select(by)
    base = base.join(lone, on=by, how="anti")
    recoded += lone.height
    cells = pl.concat(
        [
            base.select(*keys, pl.lit("yes").alias("has"), pl.col("_yes").alias("n")),
            base.select(*keys, pl.lit("no").alias("has"), (pl.col("_all") - pl.col("_yes")).alias("n")),
        ]
    )
    partial_cells = cells.join(partial, on=by, how="semi")
    whole_cells = cells.join(partial, on=by, how="anti")

    def protect_moves(force: pl.DataFrame | None) -> ProtectedTable:
        parts = []
        if whole_cells.height or not partial_cells.height:
            parts.append(protect(whole_cells, MOVES_BY_GROUP_RULE, limits, force=force))
        if partial_cells.height:
            over = protect_margins_over_shown(
                partial_cells, MOVES_BY_GROUP_RULE, limits, "group_value", force=force
            )
            frame = margins_over_shown(over.frame, MOVES_BY_GROUP_RULE, "group_value")
            if force is not None and force.height:
                # A size hidden for another direction's sake stays hidden here (never over its shown groups).
                forced = force.join(
                    frame.select(*keys, "has"), on=[*keys, "has"], how="semi", nulls_equal=True
                )
                flag = pl.struct(*keys, "has").is_in(
                    forced.select(pl.struct(*keys, "has")).to_series().implode()
                )
                frame = frame.with_columns(
                    pl.when(flag).then(None).otherwise(pl.col("n")).alias("n"),
                    (pl.col(SUPPRESSED) | flag).alias(SUPPRESSED),
                )
            over.frame = frame.drop(SHOWN_TOTAL, EXCLUDES_HIDDEN)
            parts.append(over)
        return concat_protected(parts)

    directions = cells.select("organization", "cycle", "direction").unique()
    force = cells.head(0).select(*keys, "has")
    for _ in range(20):
        result = protect_moves(force if force.height else None)
        sizes = result.frame.filter(pl.col("has").is_null() & pl.col(SUPPRESSED)).select(
            "organization", "cycle", "attribute", "group_value"
        )
        # The organisation total (null group) is the same number for every attribute.
        everyone = sizes.filter(pl.col("group_value").is_null()).select("organization", "cycle").unique()
        attributes = cells.select("organization", "cycle", "attribute").unique()
        sizes = pl.concat(
            [
                sizes,
                everyone.join(attributes, on=["organization", "cycle"]).select(
                    "organization", "cycle", "attribute", pl.lit(None, dtype=pl.String).alias("group_value")
                ),
            ]
        ).unique()
        wanted = (
            sizes.join(directions, on=["organization", "cycle"])
            .with_columns(pl.lit(None, dtype=pl.String).alias("has"))
            .select(*keys, "has")
        )
        hidden = result.frame.filter(pl.col("has").is_null() & pl.col(SUPPRESSED)).select(*keys)
        if wanted.join(hidden, on=keys, how="anti", nulls_equal=True).height == 0:
            break
        force = pl.concat([force, wanted]).unique()
    cube = result.frame
    groups = cube.filter(pl.col("has").is_null()).select(*keys, pl.col("n").alias("group_n"))
    yes = cube.filter(pl.col("has") == "yes").select(*keys, pl.col("n").alias("count"))
    no_hidden = cube.filter(pl.col("has") == "no").select(*keys, pl.col(SUPPRESSED).alias("_no_hidden"))
    out = _rates(groups, yes, no_hidden, keys)
    # The mart's columns with their types (a column that is empty throughout may arrive untyped).
    kinds = {"is_reference": pl.Boolean, "reference_group": pl.String, "rate_ci_low": pl.Float64,
             "rate_ci_high": pl.Float64, "reference_n": pl.Int64, "odds_ratio": pl.Float64,
             "within_level_odds_ratio": pl.Float64, "within_level_ci_low": pl.Float64,
             "within_level_ci_high": pl.Float64, "q_value": pl.Float64, "within_level_q_value": pl.Float64,
             "flag": pl.Boolean, "finding_nl": pl.String, "finding_en": pl.String}  # fmt: skip
    stats = [pl.col(c).cast(kind) for c, kind in kinds.items() if c in rows.columns]
    out = out.join(
        rows.select(*keys, pl.col("n").cast(pl.Int64).alias("_n_src"), *stats).with_columns(
            pl.col("cycle").cast(pl.Int64)
        ),
        on=keys,
        how="left",
    )
    # The reference: a named group (its own row) or everyone else (visible when the group and the attribute's
    # total are: the rest is their difference).
    named = out.select(
        "organization", "cycle", "direction", "attribute", pl.col("group_value").alias("reference_group"),
        pl.col(SUPPRESSED).alias("_ref_hidden"), pl.col("_n_src").alias("_ref_n"),
    ).filter(pl.col("reference_group").is_not_null())  # fmt: skip
    everyone = out.filter(pl.col("group_value").is_null()).select(
        "organization", "cycle", "direction", "attribute", pl.col(SUPPRESSED).alias("_all_hidden")
    )
    by = ["organization", "cycle", "direction", "attribute"]
    out = out.join(everyone, on=by, how="left")
    if "reference_group" in out.columns:
        out = out.join(named, on=[*by, "reference_group"], how="left")
        rest = pl.col("reference_group") == REST_OF_ORGANISATION
        reference_n = pl.col("reference_n") if "reference_n" in out.columns else pl.lit(None, dtype=pl.Int64)
        ref_hidden = (
            pl.when(rest).then(pl.col("_all_hidden")).otherwise(pl.col("_ref_hidden")).fill_null(True)
        )
        ref_n = pl.when(rest).then(reference_n).otherwise(pl.col("_ref_n")).fill_null(0)
        shown = (
            ~pl.col(SUPPRESSED)
            & ~ref_hidden
            & (pl.col("_n_src").fill_null(0) >= limits.k)
            & (ref_n >= limits.k)
        )
        out = _hide(out, ~shown | pl.col("group_value").is_null(), MOVES_COMPARISONS)
        out = out.drop("_ref_hidden", "_ref_n")
    out = _hide(out, pl.col(SUPPRESSED), ("rate_ci_low", "rate_ci_high"))
    # Comparisons are published rounded (2 decimals, p/q 3): enough to read, too coarse to solve back to counts.
    # The rate's own interval is a function of the shown count and n only.
    out = out.with_columns(
        [
            pl.col(c).round(2)
            for c in ("odds_ratio", "within_level_odds_ratio", "within_level_ci_low", "within_level_ci_high")
            if c in out.columns
        ]
        + [
            pl.col(c).round(3)
            for c in ("q_value", "within_level_q_value", "rate_ci_low", "rate_ci_high")
            if c in out.columns
        ]
    )
    result.frame = out.drop("_n_src", "_all_hidden", "reference_n", strict=False).sort(keys, nulls_last=True)
    result.recoded += recoded
    return result


def _calibration_spread(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Did calibration narrow or widen the differences: the mart's verdicts and sentences for publishable
    rows; gaps between groups only where both groups hold k people. No counts are published."""
    cs = _need(
        sources,
        "marts.calibration_spread",
        ("organization", "cycle", "measure", "dimension", "verdict", "publishable", "n", "reference_n"),
    )
    cs = _impact_period(cs)
    large = (pl.col("n").fill_null(0) >= limits.k) & (pl.col("reference_n").fill_null(0) >= limits.k)
    keep = cs.filter(pl.col("publishable").fill_null(False) & ((pl.col("measure") != "group_gap") | large))
    frame = keep.select([c for c in SPREAD_COLUMNS if c in keep.columns]).sort(
        ["organization", "cycle", "measure", "dimension", "group_value"], nulls_last=True
    )
    return ProtectedTable(frame=frame, cells=frame.height, hidden=cs.height - frame.height)


# ---------------------------------------------------------------------------------------------- within function level
# Who was moved down (up) more often inside each function level (marts.calibration_moves_strata), for the
# management audience (models.releases.management: entitled to group results, never a small group's). Only complete
# windows (the last calibration_impact.window_cycles cycles pooled): one cycle's level × group is often too thin,
# and a growing window minus the one before it would give a single cycle's level × group back.
BY_LEVEL = "calibration_moves_by_level"
BY_LEVEL_SOURCE = "marts.calibration_moves_strata"
BY_LEVEL_PERIOD = "window"
LEVEL_ATTRIBUTES = tuple(a for a in MOVE_ATTRIBUTES if a != "function_level")
BY_LEVEL_KEYS = ["organization", "cycle", "direction", "attribute", "function_level", "group_value"]
BY_LEVEL_STATS = ("reference_rate", "difference", "odds_ratio", "p_value", "q_value", "flag")


def _complement_lines(frame: pl.DataFrame, flag: str) -> pl.DataFrame:
    """`flag` set on more rows until no line of a table (organisation × cycle × direction × attribute) holds
    exactly one flagged row: a function level's groups, or a group's levels, sum to a total that other tables
    give, so a lone hidden row would follow from it. The smallest shown row of such a line is hidden too (reason
    complement), until nothing changes."""
    if frame.height == 0:
        return frame
    hidden = frame[flag].to_numpy().copy()
    sizes = frame["group_n"].to_numpy()
    reasons = frame[REASON].to_list()
    tables = frame.select(BY_LEVEL_KEYS[:4]).with_row_index("_i").group_by(BY_LEVEL_KEYS[:4]).agg("_i")
    levels, groups = frame["function_level"].to_list(), frame["group_value"].to_list()
    for members in tables["_i"].to_list():
        lines: dict[tuple[str, str], list[int]] = {}
        for i in members:
            lines.setdefault(("level", levels[i]), []).append(i)
            lines.setdefault(("group", groups[i]), []).append(i)
        changed = True
        while changed:
            changed = False
            for line in lines.values():
                flagged = [i for i in line if hidden[i]]
                shown = [i for i in line if not hidden[i]]
                if len(flagged) == 1 and shown:
                    extra = min(shown, key=lambda i: (sizes[i], i))
                    hidden[extra] = True
                    reasons[extra] = reasons[extra] or COMPLEMENT
                    changed = True
    return frame.with_columns(
        pl.Series(flag, hidden, dtype=pl.Boolean), pl.Series(REASON, reasons, dtype=pl.String)
    )


def _calibration_moves_by_level(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Per complete window, direction, attribute, function level and group: the people moved that way (`count`)
    of the group's people in the level (`group_n`) and the rate, for groups of at least the management
    release's minimum group (`Thresholds.management_k`) in which not everyone sits on one side (all moved or
    none: that would tell each member's outcome). Small gender categories other than the compared ones are left
    out (recoded, not hidden). No totals are published (no level or group margins), so a hidden row cannot be
    recomputed from the table. The comparison with the reference group in the same level (odds ratio, Fisher
    p, BH q, flag) only where both rows are shown (models.releases.derived)."""
    cols = ("organization", "period", "cycle", "window_complete", "direction", "attribute", "function_level",
            "group_value", "reference_group", "n", "count")  # fmt: skip
    strata = _need(sources, BY_LEVEL_SOURCE, cols)
    k = limits.management_k
    rows = strata.filter(
        (pl.col("period") == BY_LEVEL_PERIOD)
        & pl.col("window_complete").fill_null(False)
        & pl.col("attribute").is_in(list(LEVEL_ATTRIBUTES))
        & pl.col("group_value").is_not_null()
        & pl.col("function_level").is_not_null()
        & (pl.col("n") > 0)
    ).with_columns(pl.col("cycle").cast(pl.Int64), pl.col("first_cycle").cast(pl.Int64))
    within = ["organization", "cycle", "direction", "function_level"]
    left_out = small_groups(rows, within, "gender", limits.compared_groups, k)
    rows = leave_out_small_groups(rows, left_out, within)
    small = pl.col("n") < k
    alike = ~small & ((pl.col("count") == 0) | (pl.col("count") == pl.col("n")))
    out = rows.select(
        *BY_LEVEL_KEYS,
        "first_cycle",
        *[c for c in ("is_reference", "reference_group", *BY_LEVEL_STATS) if c in rows.columns],
        pl.col("n").cast(pl.Int64).alias("group_n"),
        pl.col("count").cast(pl.Int64),
        (pl.col("count") / pl.col("n")).alias("rate"),
        small.alias("_size_hidden"),
        (small | alike).alias(SUPPRESSED),
        pl.when(small).then(pl.lit(SMALL)).when(alike).then(pl.lit(HOMOGENEOUS)).alias(REASON),
    )
    # A group's size and count over all levels, and a level's over all groups, follow from the organisation
    # release (the per-cycle rows of calibration_moves_by_group, summed over the window): no line of the table
    # may hold a single small group, or its size and count would follow. Everyone-alike rows are large groups:
    # they need no such complement.
    # Recoding first: in a function level where an attribute has only two groups and one is small (one
    # temporary worker next to everyone on a contract), the other is the level less the small one: it compares
    # nothing and is left out (recoded) rather than shown or hidden as a complement. It still counts as an
    # unknown in its group's line.
    line = ["organization", "cycle", "direction", "attribute", "function_level"]
    lone = (
        (pl.len().over(line) == 2) & (pl.col("_size_hidden").sum().over(line) == 1) & ~pl.col("_size_hidden")
    )
    out = out.with_columns(lone.alias("_recoded")).with_columns(
        pl.col("_size_hidden") | pl.col("_recoded"),
        pl.when(pl.col("_recoded")).then(pl.lit(RECODED)).otherwise(pl.col(REASON)).alias(REASON),
    )
    out = _complement_lines(out, "_size_hidden").with_columns(pl.col(SUPPRESSED) | pl.col("_size_hidden"))
    recoded_rows = out.filter(pl.col("_recoded")).height
    out = out.filter(~pl.col("_recoded")).drop("_recoded")
    reference = out.select(
        *BY_LEVEL_KEYS[:5],
        pl.col("group_value").alias("reference_group"),
        pl.col(SUPPRESSED).alias("_ref_hidden"),
    )
    out = out.join(reference, on=[*BY_LEVEL_KEYS[:5], "reference_group"], how="left", nulls_equal=True)
    shown = (
        ~pl.col(SUPPRESSED)
        & ~pl.col("_ref_hidden").fill_null(True)
        & (pl.col("group_value") != pl.col("reference_group"))
    )
    out = _hide(out, ~shown, BY_LEVEL_STATS)
    out = _hide(out, pl.col(SUPPRESSED), ("count", "rate"))
    out = _hide(out, pl.col("_size_hidden"), ("group_n",))
    # Published rounded, as the other comparison tables: odds ratio 2 decimals, p and q 3.
    out = out.with_columns(
        pl.col("odds_ratio").round(2),
        pl.col("p_value").round(3),
        pl.col("q_value").round(3),
        pl.col("flag").fill_null(False),
    )
    out = mark_left_out(out.drop("_ref_hidden", "_size_hidden"), left_out, within).sort(
        BY_LEVEL_KEYS, nulls_last=True
    )
    counts = out.select(
        pl.col(REASON).eq(SMALL).sum().alias(SMALL),
        pl.col(REASON).eq(HOMOGENEOUS).sum().alias(HOMOGENEOUS),
        pl.col(REASON).eq(COMPLEMENT).sum().alias(COMPLEMENT),
    ).row(0, named=True)
    large_complements = (
        rows.join(
            out.filter(pl.col(REASON) == COMPLEMENT).select(BY_LEVEL_KEYS), on=BY_LEVEL_KEYS, how="semi"
        )
        .filter(pl.col("n") >= 2 * k)
        .height
    )
    return ProtectedTable(
        frame=out,
        cells=out.height,
        hidden=int(out[SUPPRESSED].sum()),
        recoded=left_out.height + recoded_rows,
        reasons={
            SMALL: int(counts[SMALL]),
            HOMOGENEOUS: int(counts[HOMOGENEOUS]),
            COMPLEMENT: int(counts[COMPLEMENT]),
        },
        large_cells=int((rows["n"] >= 2 * k).sum()),
        large_complements=int(large_complements),
    )
