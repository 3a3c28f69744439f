"""A derived statistic is published only where every count it is computed from is published.

A rate, odds ratio, interval, p-value or adverse impact ratio can pin the counts it came from: with both rates
of a comparison hidden, its odds ratio (even rounded to 2 decimals), the two group sizes and the organisation's
count leave one integer that fits (tests/test_audiences.py reproduces it). So a comparison between a group and
its reference is published only where the group's count and size and the reference's count and size are all
published (the reference "everyone else" is the organisation minus the group: published when both are). A
statistic within function levels is published only where every function level's counts of both groups are.

The statistic within departments (Mantel–Haenszel over departments) follows the same rule as the one within
function levels: the fairness table publishes the department × group counts it rests on (scope "department").
A builder that computes a stratified statistic over part of the strata marks the per-stratum rows it used
(`WITHIN_USED`; models.releases.fairness recomputes the fairness statistics over the strata whose counts are
published): the statistic is then published only where every stratum it used has the group's and its
reference's counts published. Without the mark, every stratum must be published.

Applied after a table's own builder, so the builder stays as it is.
"""

from __future__ import annotations

import polars as pl

from models.disclosure.engine import SUPPRESSED

# Columns that compare a group with its reference (models.fairness, models.calibration_impact).
COMPARISON_COLUMNS = (
    "reference_rate", "difference", "ratio", "adverse_impact_ratio", "adverse_impact", "test", "p_value",
    "q_value", "odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high", "z_statistic", "z_p_value",
    "standardised_difference", "flag", "finding_nl", "finding_en",
)  # fmt: skip
# The statistics within strata: every column that starts with a stratification's prefix (models.fairness).
STRATIFIED_PREFIXES = {"function_level": "within_level_", "department": "within_department_"}


def _within_columns(frame: pl.DataFrame, scope: str) -> tuple[str, ...]:
    return tuple(c for c in frame.columns if c.startswith(STRATIFIED_PREFIXES[scope]))


RATE_COLUMNS = ("rate", "rate_ci_low", "rate_ci_high")
REST = "rest_of_organisation"  # models.fairness.REST: the reference "everyone else"
WITHHELD = "derived_withheld"  # True where a comparison was left out because one of its counts is hidden
# Per-stratum rows: the stratum entered its comparison's stratified statistic (models.releases.fairness).
WITHIN_USED = "within_used"


def _null(frame: pl.DataFrame, mask: pl.Expr, columns: tuple[str, ...]) -> pl.DataFrame:
    return frame.with_columns(
        [pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in columns if c in frame.columns]
    )


def comparisons_need_counts(
    frame: pl.DataFrame, by: list[str], rows: pl.Expr | None = None, strata: pl.Expr | None = None
) -> pl.DataFrame:
    """`frame` with every comparison statistic nulled where a count it rests on is not published.

    `by` are the columns of one comparison family (organisation, cycle, outcome or direction, attribute);
    `rows` selects the rows that carry comparisons (default: all); `strata` selects the per-stratum rows
    (scope "function_level": one row per stratum × group with `rate`) that the within-level statistic rests on.
    A row's counts are published when `count` and `group_n` are (a rate is hidden with either)."""
    if (
        "reference_group" not in frame.columns
        or "group_n" not in frame.columns
        or "count" not in frame.columns
    ):
        return frame
    rows = pl.lit(True) if rows is None else rows
    frame = frame.with_row_index("__row")
    main = frame.filter(rows)
    known = main.select(
        *by,
        "group_value",
        (pl.col("count").is_not_null() & pl.col("group_n").is_not_null()).alias("__known"),
    )
    everyone = known.filter(pl.col("group_value").is_null()).select(*by, pl.col("__known").alias("__all"))
    reference = known.filter(pl.col("group_value").is_not_null()).select(
        *by, pl.col("group_value").alias("reference_group"), pl.col("__known").alias("__ref")
    )
    checked = (
        main.join(known, on=[*by, "group_value"], how="left", nulls_equal=True)
        .join(everyone, on=by, how="left", nulls_equal=True)
        .join(reference, on=[*by, "reference_group"], how="left", nulls_equal=True)
        .with_columns(
            pl.when(pl.col("reference_group") == REST)
            .then(pl.col("__all").fill_null(False))
            .otherwise(pl.col("__ref").fill_null(False))
            .alias("__ref_known")
        )
    )
    counts_ok = pl.col("__known").fill_null(False) & pl.col("__ref_known")
    is_comparison = pl.col("group_value").is_not_null() & pl.col("reference_group").is_not_null()
    within = {scope: _within_columns(frame, scope) for scope in STRATIFIED_PREFIXES}
    had = pl.any_horizontal(
        [
            pl.col(c).is_not_null()
            for c in (*COMPARISON_COLUMNS, *within["function_level"], *within["department"])
            if c in frame.columns
        ]
        or [pl.lit(False)]
    )
    checked = checked.with_columns(
        (is_comparison & ~counts_ok & had).alias(WITHHELD),
        (is_comparison & ~counts_ok).alias("__drop_all"),
    )
    checked = _null(checked, pl.col("__drop_all"), COMPARISON_COLUMNS)
    for scope, columns in within.items():
        # `strata` (the caller's selector) names the function-level rows; other stratifications by their scope.
        selector = strata if scope == "function_level" else pl.col("scope") == scope
        if (
            selector is None
            or "stratum" not in frame.columns
            or ("scope" not in frame.columns and scope != "function_level")
        ):
            strata_ok = pl.lit(True)
            per_stratum = None
        else:
            per_stratum = frame.filter(selector).select(
                *by, "group_value", "stratum", pl.col("rate").is_not_null().alias("__s")
            )
        if per_stratum is not None and selector is not None and WITHIN_USED in frame.columns:
            # The strata the statistic used (marked on the group's rows): each with the group's counts and its
            # reference's published (a reference without a row there has nobody in it; "the rest of the
            # organisation" is the stratum total, which the builder checked).
            # Counts published: size and count shown (a stratum with nobody of the group has both 0 and no rate).
            marked = frame.filter(selector).select(
                *by, "group_value", "stratum",
                (pl.col("count").is_not_null() & pl.col("group_n").is_not_null()).alias("__s"),
                pl.col(WITHIN_USED).fill_null(False).alias("__u"),
            )  # fmt: skip
            ref_rows = marked.select(
                *by, pl.col("group_value").alias("reference_group"), "stratum", pl.col("__s").alias("__rs")
            )
            pairs = main.select(*by, "group_value", "reference_group").unique()
            whole = (
                pairs.join(marked.filter(pl.col("__u")), on=[*by, "group_value"], nulls_equal=True)
                .join(ref_rows, on=[*by, "reference_group", "stratum"], how="left", nulls_equal=True)
                .group_by([*by, "group_value"])
                .agg((pl.col("__s") & pl.col("__rs").fill_null(True)).all().alias("__strata"))
            )
            checked = checked.join(whole, on=[*by, "group_value"], how="left", nulls_equal=True)
            strata_ok = pl.col("__strata").fill_null(True)
        elif per_stratum is not None:
            whole = per_stratum.group_by([*by, "group_value"]).agg(pl.col("__s").all().alias("__strata"))
            ref_whole = whole.rename({"group_value": "reference_group", "__strata": "__ref_strata"})
            checked = checked.join(whole, on=[*by, "group_value"], how="left", nulls_equal=True).join(
                ref_whole, on=[*by, "reference_group"], how="left", nulls_equal=True
            )
            strata_ok = pl.col("__strata").fill_null(False) & pl.col("__ref_strata").fill_null(False)
        checked = _null(checked, is_comparison & ~(counts_ok & strata_ok), columns)
        checked = checked.drop("__strata", "__ref_strata", strict=False)
    # A rate and its interval need the row's own count and size.
    checked = _null(checked, ~pl.col("__known").fill_null(False), RATE_COLUMNS)
    if SUPPRESSED in checked.columns:
        checked = checked.with_columns(pl.col(SUPPRESSED) | ~pl.col("__known").fill_null(False))
    rest = frame.filter(~rows).with_columns(pl.lit(False).alias(WITHHELD))
    out = pl.concat(
        [checked.select([*frame.columns, WITHHELD]), rest.select([*frame.columns, WITHHELD])],
        how="vertical_relaxed",
    )
    return out.sort("__row").drop("__row")
