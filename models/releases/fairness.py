"""The fairness page (audience: the organisation: all staff and the works council): group rates, tests and
Art. 9 pay transparency, under full disclosure control.

The fairness builders (`_fairness`, `_fairness_cube`, `_rates`) are moved here verbatim from models/privacy.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl

from models.disclosure.engine import (
    COMPLEMENT,
    REASON,
    SMALL,
    SUPPRESSED,
    Amount,
    ProtectedTable,
    TableRule,
    Thresholds,
    amount_flag,
    protect,
)
from models.fairness import PREFIX, reference_cells, stratified_columns, stratified_odds_ratios
from models.releases.common import _hide, _need
from models.releases.derived import REST as REST_OF_ORGANISATION
from models.releases.fairness_pooled import protect_pooled
from models.stats import benjamini_hochberg

PERIOD_WINDOW = "window"  # models.fairness.PERIOD_WINDOW: the pooled-window rows of marts.fairness_strata

# ---------------------------------------------------------------------------------------------- fairness
# The page shows each group's size and its count with the outcome (and their rate); the count without the
# outcome is their difference, a cell of the equations but not a published number (docs/privacy.md,
# "Complementary suppression: what it costs").
SHOWN = pl.col("has").is_null() | (pl.col("has") != "no")
FAIRNESS_RULE = TableRule(
    by=("organization", "cycle", "outcome", "attribute"),
    dims=("stratum", "group_value", "has"),
    n="n",
    totals=("stratum", "group_value", "has"),
    category="has",
    complete=True,
    shown=SHOWN,
)
# Per department the page shows each group's rate, never the department's own count with the outcome (no
# table of the organisation release does: the rating distribution per department is on the management site):
# those margins are unknowns of the reader's equations, so a small group needs no sibling hidden for them. The
# department's size stays a known margin (the budget's and the process page's headcount). The overall rows
# are the function-level cube's (the same cells, hidden alike): the report counts them there.
DEPARTMENT_RULE = dataclasses.replace(
    FAIRNESS_RULE,
    unpublished=pl.col("stratum").is_not_null()
    & pl.col("group_value").is_null()
    & pl.col("has").is_not_null(),
    counted=pl.col("stratum").is_not_null(),
)
RULES_BY_STRATIFICATION = {"function_level": FAIRNESS_RULE, "department": DEPARTMENT_RULE}
FAIRNESS_STATS = (
    "rate_ci_low", "rate_ci_high", "reference_rate", "difference", "ratio", "adverse_impact_ratio", "adverse_impact",
    "test", "p_value", "q_value", "odds_ratio", "standardised_difference",
    "odds_ratio_ci_low", "odds_ratio_ci_high", "z_statistic", "z_p_value",
    *(
        f"{within}_{stat}"
        for within in ("within_level", "within_department")
        for stat in (
            "odds_ratio", "ci_low", "ci_high", "p_value", "q_value", "cmh_statistic", "cmh_statistic_corrected",
            "p_value_corrected", "homogeneity_statistic", "homogeneity_df", "homogeneity_p", "strata",
            "reverses", "heterogeneous", "strata_left_out",
        )
    ),
    "flag", "finding_nl", "finding_en",
)  # fmt: skip
FAIRNESS_LABELS = (
    "confidence_level",
    "policy_version",  # the cycle's policy version (issue 20): not personal data
    "outcome_kind",
    "favourable",
    "outcome_label_nl",
    "outcome_label_en",
    "is_reference",
    "reference_group",
)
# Statistics of a continuous outcome (reward percentages): published per group, hidden with its amount.
CONTINUOUS_STATS = (
    "mean", "median", "sd", "difference", "p_value", "q_value", "rank_biserial", "standardised_difference",
    "within_level_p_value", "within_level_q_value", "within_department_p_value", "within_department_q_value",
    "flag", "finding_nl", "finding_en",
)  # fmt: skip
CONTINUOUS_RULE = TableRule(
    by=("organization", "cycle", "outcome", "attribute"),
    dims=("group_value",),
    n="n",
    totals=("group_value",),
    amounts=(Amount("_sum", protect=CONTINUOUS_STATS),),
    homogeneous=pl.col("sd").fill_null(0) == 0,
)


CUBE_KEYS = ["organization", "cycle", "outcome", "attribute", "stratum", "group_value", "has"]
AT_LEAST = "rating_at_least_"  # models.fairness: outcome "rated at least <code>", a cut point of `ratings`
LOWEST = "lowest_rating"  # models.fairness: the policy's lowest codes (below some cut point, when a prefix)
LEVEL = "function_level"


def _outcome_aliases(cells: pl.DataFrame) -> pl.DataFrame:
    """(organization, cycle, outcome, alias, swap): outcomes that count the same people in every cell of the
    cube, `swap` when one's "yes" is the other's "no" (the lowest rating is the "no" of "rated at least" the
    next code). The mart does not say which codes an outcome counts, so the cells decide."""
    shape = cells.group_by("organization", "cycle", "outcome").agg(pl.len().alias("_cells"))
    pairs = []
    for swap in (False, True):
        other = cells.with_columns(
            pl.col("has").replace({"yes": "no", "no": "yes"}) if swap else pl.col("has"),
        ).rename({"outcome": "alias", "n": "_n"})
        matched = (
            cells.join(other, on=[k for k in CUBE_KEYS if k != "outcome"], nulls_equal=True)
            .filter(pl.col("outcome") < pl.col("alias"))
            .group_by("organization", "cycle", "outcome", "alias")
            .agg(pl.len().alias("_matched"), (pl.col("n") == pl.col("_n")).all().alias("_equal"))
            .join(shape, on=["organization", "cycle", "outcome"])
            .filter(pl.col("_equal") & (pl.col("_matched") == pl.col("_cells")))
        )
        pairs.append(matched.select("organization", "cycle", "outcome", "alias", pl.lit(swap).alias("swap")))
    return pl.concat(pairs)


def _same_cells(keys: pl.DataFrame, aliases: pl.DataFrame, stratification: str = LEVEL) -> pl.DataFrame:
    """Cube cells (CUBE_KEYS) that hold the same number, labelled by `_same`: a cell hidden in one place and
    shown in another would give the hidden one back, so each label is hidden everywhere or nowhere.

    * a group's size (over all strata) is the same in every outcome;
    * a function level's counts are its group in the function-level cube and the stratum total in every other
      attribute's (the organisation's: its grand total in each), for every outcome; in the cube stratified by
      department (`stratification`), the same holds for a department and the department attribute;
    * an outcome and its alias (`_outcome_aliases`) share every cell."""
    canonical = keys.join(
        aliases.select(
            "organization",
            "cycle",
            pl.col("alias").alias("outcome"),
            pl.col("outcome").alias("_o"),
            pl.col("swap").alias("_swap"),
        ),
        on=["organization", "cycle", "outcome"],
        how="left",
    ).with_columns(
        pl.col("_o").fill_null(pl.col("outcome")).alias("_outcome"),
        pl.when(pl.col("_swap").fill_null(False))
        .then(pl.col("has").replace({"yes": "no", "no": "yes"}))
        .otherwise(pl.col("has"))
        .alias("_has"),
    )

    def label(kind: str, *columns: str | pl.Expr) -> pl.Expr:
        """One string per set of same cells (null parts kept apart from any value)."""
        parts = [pl.col(c) if isinstance(c, str) else c for c in columns]
        return pl.concat_str(
            [pl.lit(kind), *(p.cast(pl.String).fill_null("\x00") for p in parts)], separator="\x1f"
        ).alias("_same")

    sizes = canonical.filter(
        pl.col("stratum").is_null() & pl.col("has").is_null() & pl.col("group_value").is_not_null()
    ).with_columns(label("size", "organization", "cycle", "attribute", "group_value"))
    own = pl.col("attribute") == stratification
    level = pl.when(own).then(pl.col("group_value")).otherwise(pl.col("stratum"))
    levels = canonical.filter(own | pl.col("group_value").is_null()).with_columns(
        label("level", "organization", "cycle", "_outcome", level, "_has")
    )
    aliased = canonical.filter(pl.col("_outcome") != pl.col("outcome")).with_columns(
        label(
            "alias",
            "organization",
            "cycle",
            "_outcome",
            "attribute",
            "stratum",
            "group_value",
            "_has",
        )
    )
    originals = canonical.join(
        aliased.select("organization", "cycle", pl.col("_outcome").alias("outcome")).unique(),
        on=["organization", "cycle", "outcome"],
        how="semi",
    ).with_columns(
        label("alias", "organization", "cycle", "outcome", "attribute", "stratum", "group_value", "has")
    )
    return pl.concat([part.select(*CUBE_KEYS, "_same") for part in (sizes, levels, aliased, originals)])


def _fairness_cube(
    cells: pl.DataFrame,
    binary: pl.DataFrame,
    limits: Thresholds,
    force: pl.DataFrame,
    stratification: str = LEVEL,
) -> ProtectedTable:
    """Protect the rate cube with the cells `force` holds (hidden in `ratings`) hidden. Then hide alike what
    counts the same people (`_same_cells`), and where a group's overall rate is hidden but its reference
    group's is shown (or the other way round), hide both: a published comparison (odds ratio) and one visible
    rate would give the hidden rate back. Repeated until nothing changes."""
    keys = ["organization", "cycle", "outcome", "attribute", "group_value"]
    rule = RULES_BY_STRATIFICATION.get(stratification, FAIRNESS_RULE)
    result = protect(cells, rule, limits, force=force, audit=False)
    same = _same_cells(result.frame.select(CUBE_KEYS), _outcome_aliases(cells), stratification)
    pairs = (
        binary.filter(
            pl.col("reference_group").is_not_null() & (pl.col("group_value") != pl.col("reference_group"))
        )
        .select(*keys, "reference_group")
        .unique()
        if "reference_group" in binary.columns
        else pl.DataFrame(schema={**{k: binary.schema[k] for k in keys}, "reference_group": pl.String})
    )
    audited = False
    for _ in range(20):
        hidden = result.frame.filter(pl.col(SUPPRESSED)).select(CUBE_KEYS)
        status = (
            result.frame.filter(pl.col("stratum").is_null() & pl.col("has").is_not_null())
            .group_by(keys)
            .agg(pl.col(SUPPRESSED).any().alias("_hidden"))
        )
        mixed = (
            pairs.join(status, on=keys, how="inner")
            .join(
                status.rename({"group_value": "reference_group", "_hidden": "_ref_hidden"}),
                on=["organization", "cycle", "outcome", "attribute", "reference_group"],
                how="inner",
            )
            .filter(pl.col("_hidden") != pl.col("_ref_hidden"))
        )
        groups = pl.concat(
            [mixed.select(*keys), mixed.select(*keys[:4], pl.col("reference_group").alias("group_value"))]
        ).unique()
        comparisons = (
            groups.join(pl.DataFrame({"has": ["yes", "no"]}), how="cross")
            .with_columns(pl.lit(None, dtype=pl.String).alias("stratum"))
            .select(CUBE_KEYS)
        )
        labels = same.join(hidden, on=CUBE_KEYS, how="semi", nulls_equal=True).select("_same").unique()
        alike = same.join(labels, on="_same", how="semi").select(CUBE_KEYS)
        wanted = pl.concat([comparisons, alike]).join(hidden, on=CUBE_KEYS, how="anti", nulls_equal=True)
        if wanted.height == 0:
            if audited:
                break
            # Settled without the audit: one audited round, which may hide more (then round again).
            result = protect(cells, rule, limits, force=force)
            audited = True
            continue
        force = pl.concat([force, wanted]).unique()
        result = protect(cells, rule, limits, force=force, audit=False)
        audited = False
    if not audited:
        result = protect(cells, rule, limits, force=force)
    return result


def _rates(groups: pl.DataFrame, yes: pl.DataFrame, no_hidden: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """A group's size (`group_n`), its "yes" count and whether its "no" cell is hidden, as one row per group
    with the rate; the rate is hidden when any of the three is (a visible rate would give the others back)."""
    return (
        groups.join(yes, on=keys, how="left", nulls_equal=True)
        .join(no_hidden, on=keys, how="left", nulls_equal=True)
        .with_columns(
            (
                pl.col("count").is_null() | pl.col("group_n").is_null() | pl.col("_no_hidden").fill_null(True)
            ).alias(SUPPRESSED)
        )
        .with_columns(
            pl.when(~pl.col(SUPPRESSED) & (pl.col("group_n") > 0))
            .then(pl.col("count") / pl.col("group_n"))
            .alias("rate")
        )
        .drop("_no_hidden")
    )


def _fairness_cells(
    binary: pl.DataFrame, strata: pl.DataFrame | None, stratification: str, cols: tuple[str, ...]
) -> pl.DataFrame:
    """The yes/no cells (CUBE_KEYS + n) of one stratification's cube: each attribute's groups per stratum.
    Attributes without strata of this kind (the stratification's own attribute; function level inside
    departments, whose cells are a level's by name) get one stratum, the whole organisation."""
    keys = ["organization", "cycle", "outcome", "attribute"]
    if strata is not None and {"stratum_type", "stratum", *cols} <= set(strata.columns):
        base = strata.filter(
            (pl.col("stratum_type") == stratification)
            & (pl.col("outcome_kind") == "binary")
            & ((pl.col("attribute") != LEVEL) | (pl.lit(stratification) == LEVEL))
        ).select(*keys, "stratum", "group_value", "n", "count")
        missing = binary.join(base.select(keys).unique(), on=keys, how="anti")
        base = pl.concat(
            [base, missing.select(*keys, pl.lit("(all)").alias("stratum"), "group_value", "n", "count")]
        )
    else:
        base = binary.select(*keys, pl.lit("(all)").alias("stratum"), "group_value", "n", "count")
    return pl.concat(
        [
            base.select(*base.columns[:6], pl.lit("yes").alias("has"), pl.col("count").alias("n2")),
            base.select(
                *base.columns[:6], pl.lit("no").alias("has"), (pl.col("n") - pl.col("count")).alias("n2")
            ),
        ]
    ).select(*CUBE_KEYS, pl.col("n2").alias("n"))


STRATIFICATIONS = ("function_level", "department")  # models.fairness.STRATA: the published `scope`s within


def _fairness_cubes(
    binary: pl.DataFrame, strata: pl.DataFrame | None, limits: Thresholds, done: dict[str, pl.DataFrame]
) -> tuple[ProtectedTable, pl.DataFrame]:
    """The rate cube of each stratification, protected so that their shared cells (the overall rows: the
    totals over the strata are the same people in both) are hidden alike: a cell hidden in one and shown in
    the other would give it back. Repeated until the overall hidden cells agree. Returns the first cube's
    result (with the notes) and all cells with a `stratification` column."""
    cols = ("organization", "cycle", "outcome", "attribute", "group_value", "n", "count")
    cells = {s: _fairness_cells(binary, strata, s, cols) for s in STRATIFICATIONS}
    first = cells[STRATIFICATIONS[0]]
    # Nothing is forced from other tables: the rating distribution (`ratings`) is on the management site only
    # and protected there within itself (docs/privacy.md, "Audiences").
    force = first.head(0).select(CUBE_KEYS)
    results: dict[str, ProtectedTable] = {}
    # A cube is (re)protected while the other hides an overall cell it shows. `force` only grows and is bounded
    # by the overall cells, so this ends (in practice after one or two rounds); a cube that already hides every
    # forced cell is a valid protection with them and is kept.
    pending = list(STRATIFICATIONS)
    while pending:
        for s in pending:
            results[s] = _fairness_cube(cells[s], binary, limits, force, s)
        hidden = {
            s: r.frame.filter(pl.col(SUPPRESSED) & pl.col("stratum").is_null()).select(CUBE_KEYS)
            for s, r in results.items()
        }
        force = pl.concat([force, *hidden.values()]).unique()
        shared = {
            s: force.join(
                r.frame.filter(pl.col("stratum").is_null()).select(CUBE_KEYS),
                on=CUBE_KEYS,
                how="semi",
                nulls_equal=True,
            )
            for s, r in results.items()
        }
        pending = [
            s
            for s in STRATIFICATIONS
            if shared[s].join(hidden[s], on=CUBE_KEYS, how="anti", nulls_equal=True).height > 0
        ]
    frame = pl.concat(
        [r.frame.with_columns(pl.lit(s).alias("stratification")) for s, r in results.items()],
        how="diagonal_relaxed",
    )
    # The report counts every stratification's cells (the overall rows once: DEPARTMENT_RULE's `counted`).
    main = results[STRATIFICATIONS[0]]
    for s in STRATIFICATIONS[1:]:
        other = results[s]
        main.cells += other.cells
        main.hidden += other.hidden
        main.large_cells += other.large_cells
        main.large_complements += other.large_complements
        main.large_remainders += other.large_remainders
        for reason, count in other.reasons.items():
            main.reasons[reason] = main.reasons.get(reason, 0) + count
    return main, frame


def _fairness(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Group rates overall, per function level and per department (a cube per stratification: the overall
    rates are the strata's totals, hidden alike in both), the tests where both the group and its reference
    group are visible, each stratum's odds ratio where the four counts it is computed from are shown, and
    continuous outcomes as amounts."""
    cols = ("organization", "cycle", "outcome", "attribute", "group_value", "n", "count")
    overall = _need(sources, "marts.fairness", (*cols, "outcome_kind"))
    strata = sources.get("marts.fairness_strata")
    windows = None
    if (
        strata is not None and "period" in strata.columns
    ):  # pooled-window rows: models.releases.fairness_pooled
        windows = strata.filter(pl.col("period") == PERIOD_WINDOW)
        strata = strata.filter(pl.col("period") != PERIOD_WINDOW)
    binary = overall.filter(pl.col("outcome_kind") == "binary")
    protected, all_cells = _fairness_cubes(binary, strata, limits, done)
    cube = protected.frame
    keys = ["organization", "cycle", "outcome", "attribute", "stratification", "stratum", "group_value"]
    groups = all_cells.filter(pl.col("has").is_null()).select(*keys, pl.col("n").alias("group_n"))
    yes = all_cells.filter(pl.col("has") == "yes").select(*keys, pl.col("n").alias("count"))
    no_hidden = all_cells.filter(pl.col("has") == "no").select(*keys, pl.col(SUPPRESSED).alias("_no_hidden"))
    rates = _rates(groups, yes, no_hidden, keys)
    # Overall rows (all strata: the same, hidden alike, in every stratification's cube), with the mart's tests
    # where the group and its reference are both visible.
    over = rates.filter(pl.col("stratum").is_null() & (pl.col("stratification") == STRATIFICATIONS[0])).drop(
        "stratum", "stratification"
    )
    stats = binary.select(
        [
            c
            for c in (
                "organization",
                "cycle",
                "outcome",
                "attribute",
                "group_value",
                *FAIRNESS_LABELS,
                *FAIRNESS_STATS,
            )
            if c in binary.columns
        ]
    )
    over = over.join(stats, on=["organization", "cycle", "outcome", "attribute", "group_value"], how="left")
    # Sizes before protection decide whether a comparison rests on k people per group (never published).
    sizes = binary.select(
        "organization", "cycle", "outcome", "attribute", "group_value", pl.col("n").alias("_n_src")
    )
    over = over.join(sizes, on=["organization", "cycle", "outcome", "attribute", "group_value"], how="left")
    if "reference_group" in over.columns:
        ref = over.select(
            "organization",
            "cycle",
            "outcome",
            "attribute",
            pl.col("group_value").alias("reference_group"),
            pl.col(SUPPRESSED).alias("_ref_hidden"),
            pl.col("_n_src").alias("_ref_n_src"),
        )
        over = over.join(
            ref, on=["organization", "cycle", "outcome", "attribute", "reference_group"], how="left"
        )
        # Rates hidden for both (complementary suppression of a pair): the comparison may stay when both
        # groups hold at least k people; one hidden and one shown: the comparison would give it back.
        both_large = (pl.col("_n_src").fill_null(0) >= limits.k) & pl.col("_ref_n_src").fill_null(0).ge(
            limits.k
        )
        blocked = (pl.col(SUPPRESSED) != pl.col("_ref_hidden").fill_null(True)) | ~both_large
        rate_cols = [
            "rate_ci_low", "rate_ci_high", "reference_rate", "difference", "ratio", "adverse_impact_ratio",
            "adverse_impact", "standardised_difference", "finding_nl", "finding_en",
        ]  # fmt: skip
        over = _hide(over, blocked, FAIRNESS_STATS)
        over = _hide(over, pl.col(SUPPRESSED) | pl.col("_ref_hidden").fill_null(True), rate_cols).drop(
            "_ref_hidden", "_ref_n_src"
        )
    # The statistics within strata: recomputed over the strata whose counts are published (see
    # `within_over_published`); the mart's, over every stratum, rest on hidden counts.
    over, used = within_over_published(over, rates)
    # Comparisons are published rounded (2 decimals, p/q 3): enough to read, too coarse to solve back to counts.
    rounded = [
        c
        for c in over.columns
        if c.endswith(
            ("odds_ratio", "ci_low", "ci_high", "ratio", "difference", "standardised_difference", "statistic")
        )
        or c.endswith("statistic_corrected")
    ]
    over = over.with_columns([pl.col(c).round(2) for c in rounded if over.schema[c].is_float()])
    over = over.with_columns(
        [
            pl.col(c).round(3)
            for c in over.columns
            if c.endswith(("p_value", "q_value", "homogeneity_p", "p_value_corrected"))
            and over.schema[c].is_float()
        ]
    )
    over = over.drop("_n_src", strict=False).with_columns(pl.lit("overall").alias("scope"))
    within = _fairness_within(rates, strata).join(
        used,
        on=["organization", "cycle", "outcome", "attribute", "scope", "stratum", "group_value"],
        how="left",
    )
    within = within.with_columns(pl.col(WITHIN_USED).fill_null(False))
    frames = [over, within]
    if windows is not None and windows.height:
        cols_ = ("organization", "cycle", "outcome", "attribute", "group_value", "n", "count")
        level_cells = _fairness_cells(binary, strata, LEVEL, cols_)
        main = all_cells.filter(pl.col("stratification") == LEVEL).select(*CUBE_KEYS, SUPPRESSED, REASON)
        pooled, counts = protect_pooled(windows, level_cells, main, limits)
        frames.append(pooled)
        protected.cells += counts["cells"]
        protected.hidden += counts["hidden"]
        protected.large_cells += counts["large_cells"]
        protected.large_complements += counts["large_complements"]
        protected.reasons[SMALL] = protected.reasons.get(SMALL, 0) + 4 * counts[SMALL]
        protected.reasons[COMPLEMENT] = protected.reasons.get(COMPLEMENT, 0) + 4 * counts["withdrawn"]
    continuous = overall.filter(pl.col("outcome_kind") != "binary")
    if continuous.height and {"mean", "sd"} <= set(continuous.columns):
        cont_cols = [
            c
            for c in (
                "organization",
                "cycle",
                "outcome",
                "attribute",
                "group_value",
                "n",
                *FAIRNESS_LABELS,
                *CONTINUOUS_STATS,
            )
            if c in continuous.columns
        ]
        cont = continuous.select(cont_cols).with_columns((pl.col("n") * pl.col("mean")).alias("_sum"))
        # A group whose size the rate cube hides must not show its size here either (same people: with the
        # published total, a visible size would give the hidden one back).
        hidden_groups = (
            cube.filter(pl.col("has").is_null() & pl.col("stratum").is_null() & pl.col(SUPPRESSED))
            .select("organization", "cycle", "attribute", "group_value")
            .unique()
        )
        force = (
            cont.select("organization", "cycle", "outcome", "attribute")
            .unique()
            .join(hidden_groups, on=["organization", "cycle", "attribute"], how="inner")
        )
        result = protect(cont, CONTINUOUS_RULE, limits, force=force)
        protected.notes += result.notes
        cont_out = (
            result.frame.filter(pl.col("group_value").is_not_null())
            .with_columns(
                (pl.col(SUPPRESSED) | pl.col(amount_flag("_sum"))).alias(SUPPRESSED),
                pl.lit("overall").alias("scope"),
            )
            .drop("_sum", amount_flag("_sum"), REASON)
            .rename({"n": "group_n"})
        )
        frames.append(cont_out)
    frame = pl.concat(frames, how="diagonal_relaxed")
    protected.frame = frame.sort(
        ["organization", "cycle", "outcome", "attribute", "scope", "stratum", "group_value"], nulls_last=True
    )
    return protected


STRATUM_STATS = (
    "reference_group",
    "odds_ratio",
    "odds_ratio_ci_low",
    "odds_ratio_ci_high",
    "p_value",
    "q_value",
)


def _fairness_within(rates: pl.DataFrame, strata: pl.DataFrame | None) -> pl.DataFrame:
    """Per-stratum rows of both stratifications (`scope` = the stratification), each stratum's comparison
    (odds ratio, Woolf interval, Fisher p: the forest plots) only where the four counts it is computed from are
    shown: the group's rate and its reference's in that stratum (for the rest of the organisation: the
    stratum's total), each published with both its size and its count."""
    keys = ["organization", "cycle", "outcome", "attribute", "stratification", "stratum"]
    rows = rates.filter(
        pl.col("stratum").is_not_null() & pl.col("group_value").is_not_null() & (pl.col("stratum") != "(all)")
    )
    wanted = ("stratum_type", "stratum", "group_value", "reference_group", *STRATUM_STATS)
    if strata is None or not {"stratum_type", "reference_group", "odds_ratio"} <= set(strata.columns):
        return rows.rename({"stratification": "scope"})
    stats = (
        strata.filter(pl.col("outcome_kind") == "binary")
        .select(
            "organization",
            "cycle",
            "outcome",
            "attribute",
            *dict.fromkeys(c for c in wanted if c in strata.columns),
        )
        .rename({"stratum_type": "stratification"})
    )
    shown = rows.select(*keys, "group_value", (~pl.col(SUPPRESSED)).alias("_shown"))
    totals = rates.filter(pl.col("group_value").is_null()).select(
        *keys, (~pl.col(SUPPRESSED)).alias("_total_shown")
    )
    out = (
        rows.join(stats, on=[*keys, "group_value"], how="left")
        .join(
            shown.rename({"group_value": "reference_group", "_shown": "_ref_shown"}),
            on=[*keys, "reference_group"],
            how="left",
        )
        .join(totals, on=keys, how="left")
    )
    own = ~pl.col(SUPPRESSED)
    ref = (
        pl.when(pl.col("reference_group") == REST_OF_ORGANISATION)
        .then(pl.col("_total_shown"))
        .otherwise(pl.col("_ref_shown"))
    )
    blocked = ~(own & ref.fill_null(False)) | (pl.col("group_value") == pl.col("reference_group"))
    out = _hide(out, blocked, [c for c in STRATUM_STATS if c != "reference_group"])
    out = out.with_columns(
        [
            pl.col(c).round(2)
            for c in ("odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high")
            if c in out.columns
        ]
        + [pl.col(c).round(3) for c in ("p_value", "q_value") if c in out.columns]
    )
    return out.drop("_ref_shown", "_total_shown").rename({"stratification": "scope"})


WITHIN_USED = (
    "within_used"  # per-stratum rows: the stratum enters its comparison's published common odds ratio
)
# The columns of a stratified comparison (models.fairness.stratified_columns), each behind its prefix.
WITHIN_COLUMNS = (
    "odds_ratio", "ci_low", "ci_high", "p_value", "q_value", "cmh_statistic", "cmh_statistic_corrected",
    "p_value_corrected", "homogeneity_statistic", "homogeneity_df", "homogeneity_p", "strata", "strata_dropped",
    "reverses", "heterogeneous", "strata_left_out",
)  # fmt: skip


def within_over_published(over: pl.DataFrame, rates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The statistics within function levels and within departments of every overall comparison, recomputed
    over the strata whose counts are published; returns `over` with them and the per-stratum keys
    (`scope` = the stratification) that entered a statistic, with `WITHIN_USED`.

    Why: the mart's common odds ratio, CMH and Breslow–Day run over every stratum. On the sample most
    comparisons have some level or department with fewer than k women or men, whose counts are hidden; a
    statistic over them is a (rounded, non-linear) summary of hidden counts, so models.releases.derived
    withheld it and the page showed nothing within strata. Computed over the strata whose four counts (the
    group's size and count, its reference's; for "the rest of the organisation" the stratum's total) are
    published, the statistic is a function of published numbers only: it adds nothing an attacker does not
    already have, and the page says how many strata it covers and how many were left out
    (`<prefix>_strata`, `<prefix>_strata_left_out`). A stratum in which the group or its reference has no
    row holds nobody of it (a zero, public by its absence). The same tested functions as the mart's
    (models.fairness.stratified_odds_ratios: MH odds ratio, Robins–Breslow–Greenland interval at the
    policy's `confidence_level`, CMH with and without continuity correction, Breslow–Day with Tarone's
    correction); q-values by Benjamini–Hochberg over the published stratified comparisons of the
    organisation, cycle and stratification. Published only with at least 2 strata used (one stratum is its
    own odds ratio, shown in the forest plot); the counts of strata stay so the page can say why.

    The mart's finding sentences quote the statistics over every stratum: they are kept only where no
    stratum was left out (then both agree), else withheld."""
    keys = ["organization", "cycle", "outcome", "attribute"]
    test_keys = [*keys, "group_value", "reference_group"]
    # The mart's strata counts (which stratifications its finding sentence quotes), kept aside.
    out = over.with_columns(
        [pl.col(f"{PREFIX[s]}_strata").alias(f"_{PREFIX[s]}_mart_strata") for s in STRATIFICATIONS
         if f"{PREFIX[s]}_strata" in over.columns]
    )  # fmt: skip
    # models.releases.derived publishes a comparison's statistics (these included) only where its own and its
    # reference's overall counts are (for "the rest of the organisation": the total's). A comparison it will
    # withhold is not computed here, so the q-values' family is the published comparisons a reader can check.
    if SUPPRESSED in over.columns and "reference_group" in over.columns:
        hidden = over.select(*keys, "group_value", pl.col(SUPPRESSED).alias("_own_hidden"))
        over = (
            over.join(
                hidden.rename({"group_value": "reference_group", "_own_hidden": "_ref_counts_hidden"}),
                on=[*keys, "reference_group"], how="left", nulls_equal=True,
            )
            .join(
                hidden.filter(pl.col("group_value").is_null()).select(
                    *keys, pl.col("_own_hidden").alias("_all_counts_hidden")
                ),
                on=keys, how="left",
            )
            .with_columns(
                (
                    pl.col(SUPPRESSED).fill_null(True)
                    | pl.when(pl.col("reference_group") == REST_OF_ORGANISATION)
                    .then(pl.col("_all_counts_hidden").fill_null(True))
                    .otherwise(pl.col("_ref_counts_hidden").fill_null(True))
                ).alias("_counts_hidden")
            )
            .drop("_ref_counts_hidden", "_all_counts_hidden")
        )  # fmt: skip
    else:
        over = over.with_columns(pl.lit(False).alias("_counts_hidden"))
    finding_ok = pl.lit(True)
    used_frames = []
    for stratification in STRATIFICATIONS:
        pre = PREFIX[stratification]
        strata_col = f"{pre}_strata"
        if strata_col not in over.columns or "reference_group" not in over.columns:
            continue
        # The comparisons the mart ran within this stratification (and the release did not block).
        tests = (
            over.filter(
                pl.col("group_value").is_not_null()
                & pl.col("reference_group").is_not_null()
                & (pl.col("group_value") != pl.col("reference_group"))
                & pl.col(strata_col).is_not_null()
                & (pl.col("attribute") != stratification)
                & ~pl.col("_counts_hidden")
            )
            .select(
                *test_keys,
                pl.col("odds_ratio").alias("_crude"),
                pl.col("p_value").alias("_crude_p"),
                pl.col("confidence_level")
                if "confidence_level" in over.columns
                else pl.lit(None, pl.Float64).alias("confidence_level"),
            )
            .with_row_index("_t")
        )
        cells = rates.filter(
            (pl.col("stratification") == stratification)
            & pl.col("stratum").is_not_null()
            & (pl.col("stratum") != "(all)")
        ).select(*keys, "stratum", "group_value", "group_n", "count", pl.col(SUPPRESSED).alias("_hidden"))
        groups = cells.filter(pl.col("group_value").is_not_null())
        totals = cells.filter(pl.col("group_value").is_null()).select(
            *keys, "stratum", pl.col("group_n").alias("_tn"), pl.col("count").alias("_tc"),
            pl.col("_hidden").alias("_t_hidden"),
        )  # fmt: skip
        refs = groups.rename(
            {"group_value": "reference_group", "group_n": "_rn", "count": "_rc", "_hidden": "_r_hidden"}
        )
        rest = pl.col("reference_group") == REST_OF_ORGANISATION
        strata = (
            pl.concat(
                [
                    tests.join(groups.select(*keys, "group_value", "stratum"), on=[*keys, "group_value"]),
                    tests.join(
                        refs.select(*keys, "reference_group", "stratum"), on=[*keys, "reference_group"]
                    ),
                    tests.filter(rest).join(totals.select(*keys, "stratum"), on=keys),
                ],
                how="diagonal_relaxed",
            )
            .select("_t", *test_keys, "_crude", "_crude_p", "confidence_level", "stratum")
            .unique()
        )
        grid = (
            strata.join(groups, on=[*keys, "group_value", "stratum"], how="left")
            .join(refs, on=[*keys, "reference_group", "stratum"], how="left")
            .join(totals, on=[*keys, "stratum"], how="left")
            .with_columns(
                pl.col("group_n").fill_null(0),
                pl.col("count").fill_null(0),
                pl.col("_hidden").fill_null(False),
            )
            .with_columns(
                *reference_cells(rest, "group_n"),
                pl.when(rest)
                .then(pl.col("_t_hidden").fill_null(True) | pl.col("_hidden"))
                .otherwise(pl.col("_r_hidden").fill_null(False))
                .alias("_r_hidden"),
            )
            .with_columns(
                (~pl.col("_hidden") & ~pl.col("_r_hidden") & pl.col("_rn").is_not_null()).alias("_published")
            )
            .sort("_t", "stratum")
        )
        shown = grid.filter(pl.col("_published"))
        left_out = grid.group_by("_t").agg(
            (~pl.col("_published")).sum().cast(pl.Int64).alias("strata_left_out")
        )
        results = []
        for (level,), part in shown.partition_by("confidence_level", as_dict=True, include_key=True).items():
            if level is None:
                continue  # no coverage known: nothing is recomputed, so nothing is published
            ids = part["_t"].cast(pl.Int64).to_numpy()
            a = part["count"].to_numpy()
            res = stratified_odds_ratios(
                ids,
                a,
                part["group_n"].to_numpy() - a,
                part["_rc"].to_numpy(),
                (part["_rn"] - part["_rc"]).to_numpy(),
                tests.height,
                float(level),
            )
            computed = pl.DataFrame(stratified_columns(res)).with_row_index("_t")
            results.append(computed.join(part.select("_t").unique(), on="_t", how="semi"))
        computed = (
            pl.concat(results)
            if results
            else pl.DataFrame(schema={"_t": pl.UInt32, **pl.DataFrame(stratified_columns(
                stratified_odds_ratios([], [], [], [], [], 0))).schema})
        )  # fmt: skip
        stats = (
            tests.join(computed, on="_t", how="left")
            .join(left_out, on="_t", how="left")
            .with_columns(pl.col("strata").fill_null(0), pl.col("strata_left_out").fill_null(0))
        )
        enough = pl.col("strata") >= 2
        stats = stats.with_columns(
            [
                pl.when(enough).then(pl.col(c)).alias(c)
                for c in (
                    "odds_ratio",
                    "ci_low",
                    "ci_high",
                    "p_value",
                    "cmh_statistic",
                    "cmh_statistic_corrected",
                    "p_value_corrected",
                    "homogeneity_statistic",
                    "homogeneity_df",
                    "homogeneity_p",
                )
            ]
        ).with_columns(
            # As in the mart: a reversal needs an overall gap at the policy's level for the estimate to flip.
            (
                ((pl.col("_crude").log() * pl.col("odds_ratio").log()) < 0)
                & (pl.col("_crude_p") < 1.0 - pl.col("confidence_level"))
            ).alias("reverses"),
            (pl.col("homogeneity_p") < 1.0 - pl.col("confidence_level")).alias("heterogeneous"),
        )
        stats = _bh_per_cycle(stats)
        # A finding quoting this stratification (the mart names it with at least 2 strata) needs every stratum.
        finding_ok = finding_ok & (
            (pl.col(f"_{pre}_mart_strata").fill_null(0) < 2) | (pl.col(f"_{pre}_left_out").fill_null(0) == 0)
        )
        renamed = stats.select(
            *test_keys, *[pl.col(c).alias(f"{pre}_{c}") for c in WITHIN_COLUMNS if c in stats.columns]
        ).with_columns(pl.col(f"{pre}_strata_left_out").alias(f"_{pre}_left_out"))
        out = out.drop([f"{pre}_{c}" for c in WITHIN_COLUMNS], strict=False).join(
            renamed, on=test_keys, how="left", nulls_equal=True
        )
        published = stats.filter(enough).select("_t")
        used_frames.append(
            shown.join(published, on="_t", how="semi")
            .select(*keys, pl.lit(stratification).alias("scope"), "stratum", "group_value")
            .unique()
            .with_columns(pl.lit(True).alias(WITHIN_USED))
        )
    if "finding_nl" in out.columns:
        out = _hide(out, ~finding_ok, ["finding_nl", "finding_en"])
    out = out.drop(
        [c for c in out.columns if c.startswith("_") and c.endswith(("_left_out", "_mart_strata"))]
    )
    used = (
        pl.concat(used_frames)
        if used_frames
        else pl.DataFrame(
            schema={**{k: over.schema[k] for k in keys}, "scope": pl.String, "stratum": pl.String,
                    "group_value": pl.String, WITHIN_USED: pl.Boolean}
        )
    )  # fmt: skip
    return out, used


def _bh_per_cycle(stats: pl.DataFrame) -> pl.DataFrame:
    """`q_value`: Benjamini–Hochberg over the published p-values of one organisation and cycle (the mart's
    family, restricted to what is published)."""
    q = np.full(stats.height, np.nan)
    family = stats.select(pl.concat_str(["organization", pl.col("cycle").cast(pl.String)], separator="|"))
    fam = family.to_series().to_numpy()
    p = stats["p_value"].fill_null(np.nan).to_numpy()
    for value in np.unique(fam):
        sel = fam == value
        q[sel] = benjamini_hochberg(p[sel])
    return stats.with_columns(pl.Series("q_value", q, dtype=pl.Float64).fill_nan(None))


PAY_BY = ("organization", "cycle", "item", "measure", "component", "basis", "category_type")
PAY_MONEY_RULE = TableRule(
    by=PAY_BY,
    dims=("category",),
    n="n_all",
    totals=("category",),
    amounts=(
        Amount("_sum_women", n_column="_nw", protect=("women", "gap", "article10_flag")),
        Amount("_sum_men", n_column="_nm", protect=("men", "gap", "article10_flag")),
    ),
)
PAY_BANDS_RULE = TableRule(by=PAY_BY, dims=("category", "gender"), n="n", totals=("category", "gender"))
PAY_RECEIVING_RULE = TableRule(
    by=PAY_BY, dims=("gender", "has"), n="n", totals=("gender", "has"), category="has"
)
PAY_KEYS = [*PAY_BY, "category"]


def _pay_transparency(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Article 9 items. Money rows need k_amounts women and men and pass the mart's own dominance check
    (`publishable`, computed on the people's pay, which this step never sees); the categories of an item add
    up to the organisation, so complementary suppression runs over them. The shares receiving variable pay
    and the quartile bands are count tables."""
    cols = (*PAY_BY, "category", "n_women", "n_men", "women", "men", "gap")
    pt = _need(sources, "marts.pay_transparency", cols)
    extra = [c for c in ("article", "article10_flag", "publishable") if c in pt.columns]
    pt = pt.select([*cols, *extra]).with_columns(
        pl.col("basis").fill_null("-"), pl.col("category").fill_null("(all)")
    )
    publishable = pl.col("publishable").fill_null(False) if "publishable" in pt.columns else pl.lit(True)
    notes = [
        "pay_transparency has no largest-contribution column: the dominance rule is the mart's `publishable`"
    ]
    hidden_cols = ["women", "men", "gap", "article10_flag"]

    money = pt.filter(~pl.col("measure").is_in(["share_receiving", "quartile_share"])).with_columns(
        (pl.col("n_women") + pl.col("n_men")).alias("n_all"),
        pl.when(publishable).then(pl.col("n_women")).otherwise(0).alias("_nw"),
        pl.when(publishable).then(pl.col("n_men")).otherwise(0).alias("_nm"),
        (pl.col("n_women") * pl.col("women").fill_null(0)).alias("_sum_women"),
        (pl.col("n_men") * pl.col("men").fill_null(0)).alias("_sum_men"),
    )
    out = [pl.DataFrame()]
    if money.height:
        result = protect(money, PAY_MONEY_RULE, limits).frame.filter(pl.col("category").is_not_null())
        result = result.with_columns(
            (pl.col(SUPPRESSED) | pl.col(amount_flag("_sum_women")) | pl.col(amount_flag("_sum_men"))).alias(
                SUPPRESSED
            )
        )
        out.append(
            _hide(result, pl.col(SUPPRESSED), hidden_cols).select(
                [*cols, *[c for c in extra if c != "publishable"], SUPPRESSED]
            )
        )

    bands = pt.filter(pl.col("measure") == "quartile_share")
    if bands.height:
        counts = pl.concat(
            [
                bands.select(*PAY_KEYS, pl.lit("F").alias("gender"), pl.col("n_women").alias("n")),
                bands.select(*PAY_KEYS, pl.lit("M").alias("gender"), pl.col("n_men").alias("n")),
            ]
        )
        cube = protect(counts, PAY_BANDS_RULE, limits).frame
        flags = (
            cube.filter(pl.col("category").is_not_null() & pl.col("gender").is_not_null())
            .group_by(PAY_KEYS)
            .agg(pl.col(SUPPRESSED).any())
        )
        bands = bands.join(flags, on=PAY_KEYS, how="left").with_columns(
            (pl.col(SUPPRESSED).fill_null(True) | ~publishable).alias(SUPPRESSED)
        )
        out.append(
            _hide(bands, pl.col(SUPPRESSED), [*hidden_cols, "n_women", "n_men"]).select(
                [*cols, *[c for c in extra if c != "publishable"], SUPPRESSED]
            )
        )

    receiving = pt.filter(pl.col("measure") == "share_receiving")
    if receiving.height:
        yes_w = (pl.col("women") * pl.col("n_women")).round(0).cast(pl.Int64)
        yes_m = (pl.col("men") * pl.col("n_men")).round(0).cast(pl.Int64)
        counts = pl.concat(
            [
                receiving.select(
                    *PAY_KEYS, pl.lit("F").alias("gender"), pl.lit("yes").alias("has"), yes_w.alias("n")
                ),
                receiving.select(
                    *PAY_KEYS,
                    pl.lit("F").alias("gender"),
                    pl.lit("no").alias("has"),
                    (pl.col("n_women") - yes_w).alias("n"),
                ),
                receiving.select(
                    *PAY_KEYS, pl.lit("M").alias("gender"), pl.lit("yes").alias("has"), yes_m.alias("n")
                ),
                receiving.select(
                    *PAY_KEYS,
                    pl.lit("M").alias("gender"),
                    pl.lit("no").alias("has"),
                    (pl.col("n_men") - yes_m).alias("n"),
                ),
            ]
        ).with_columns(pl.col("n").fill_null(0))
        cube = protect(counts, PAY_RECEIVING_RULE, limits).frame
        flags = (
            cube.filter(pl.col("gender").is_not_null() & pl.col("has").is_not_null())
            .group_by(PAY_KEYS)
            .agg(pl.col(SUPPRESSED).any())
        )
        receiving = receiving.join(flags, on=PAY_KEYS, how="left").with_columns(
            (pl.col(SUPPRESSED).fill_null(True) | ~publishable).alias(SUPPRESSED)
        )
        out.append(
            _hide(receiving, pl.col(SUPPRESSED), hidden_cols).select(
                [*cols, *[c for c in extra if c != "publishable"], SUPPRESSED]
            )
        )

    frame = (
        pl.concat([f for f in out if f.height], how="diagonal_relaxed")
        if any(f.height for f in out)
        else pt.head(0)
    )
    if frame.height:
        frame = frame.with_columns(
            pl.col("category").replace("(all)", None), pl.col("basis").replace("-", None)
        )
        frame = frame.sort([*PAY_BY, "category"], nulls_last=True)
    hidden = int(frame[SUPPRESSED].sum()) if SUPPRESSED in frame.columns else 0
    return ProtectedTable(frame=frame, notes=notes, cells=frame.height, hidden=hidden)
