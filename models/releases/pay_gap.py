"""Publication rules of the pay-gap tables (issue 22): what the site may show of marts.pay_gap_projection,
marts.pay_gap_cost_to_close and marts.pay_assessment, for the organisation audience with full disclosure
control (models.privacy's `protect`, `TableRule` and `Thresholds`).

* **Projection** — a category's projected gaps are statistics of its women's and men's pay. They are shown only
  where (1) the category's women and men both pass the count rule (`protect` on the women/men counts of the
  categories with their totals: small cells and complementary suppression), (2) both number at least
  ``k_amounts`` (the amount rule of the Art. 9 money rows) — for variable pay the recipients of each year —
  and (3) the same gap (component, measure) of the base cycle is shown in the protected Art. 9 table: year 0
  *is* that figure, and a projection must not give back a value hidden there.
* **Cost to close** — per method a money table over the categories, protected by `protect`: the people raised
  are the count (k), the employer cost an amount (``k_amounts`` people, no single raise above the dominance
  share of the cost: the largest raise is known and never published). No total over the categories is
  published (it would give back a hidden category). The regression figures of a category (unexplained gap,
  interval) and its outcome need ``k_amounts`` women and men, else the whole category is hidden; counts of
  people at the scale maximum follow the count rule.
* **Art. 10 assessment** — statuses, dates and category names kept by HR: no personal data, published as is.

Registered in models.releases.registry (organisation audience, fairness and budget pages).
"""

from __future__ import annotations

import polars as pl

from models.disclosure.engine import (
    REASON,
    SUPPRESSED,
    Amount,
    ProtectedTable,
    TableRule,
    Thresholds,
    amount_flag,
    protect,
)
from models.pay_gap_cost import TOO_SMALL
from models.releases.common import _need

PROJECTION_SOURCE = "marts.pay_gap_projection"
COST_SOURCE = "marts.pay_gap_cost_to_close"
ASSESSMENT_SOURCE = "marts.pay_assessment"

PROJECTION_COUNTS_RULE = TableRule(
    by=("organization", "cycle"), dims=("category", "gender"), n="n", totals=("category", "gender")
)
PROJECTION_FIGURES = (
    "gap_p5",
    "gap_p50",
    "gap_p95",
    "gap_mean",
    "share_at_threshold",
    "first_cycle_at_threshold",
    "n_women",
    "n_men",
)
PROJECTION_COLUMNS = (
    "organization",
    "cycle",
    "forecast_cycle",
    "horizon",
    "scenario",
    "scenario_label_nl",
    "scenario_label_en",
    "category_type",
    "category",
    "component",
    "measure",
    *PROJECTION_FIGURES,
    "threshold",
    "draws",
)
COST_AMOUNTS = (
    "cost",
    "share_of_budget",
    "cost_over_projection",
    "share_of_budget_over_projection",
    "mean_raise_pct",
    "gap_after",
)
# No organisation total over the categories: with one it, a category hidden for its few raises would be given
# back by the total less the others (and hiding a second category to prevent that hides a publishable one).
COST_RULE = TableRule(
    by=("organization", "cycle", "method"),
    dims=("category",),
    n="n_raised",
    amounts=(Amount("cost_employer", max_column="max_raise", protect=COST_AMOUNTS),),
)
FIT_COLUMNS = (
    "unexplained_gap",
    "unexplained_gap_low",
    "unexplained_gap_high",
    "coef_woman",
    "coef_low",
    "coef_high",
    "underpaid",
    "factors",
)
COUNT_COLUMNS = ("n_excluded_at_maximum", "n_eligible", "n_group")
COST_COLUMNS = (
    "organization",
    "cycle",
    "category_type",
    "category",
    "method",
    "status",
    "n_women",
    "n_men",
    *FIT_COLUMNS,
    "target_gap",
    *COUNT_COLUMNS,
    "n_raised",
    "cost_employer",
    *COST_AMOUNTS,
    "incidental_budget",
    "budget_over_projection",
    "horizon",
)


def _hide(frame: pl.DataFrame, mask: pl.Expr, columns: tuple[str, ...] | list[str]) -> pl.DataFrame:
    return frame.with_columns(
        [pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in columns if c in frame.columns]
    )


def _visible_art9(done: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """(organization, cycle, category, component, measure) of the item (g) gaps the Art. 9 table shows."""
    pay = done.get("pay_transparency")
    if pay is None or pay.height == 0 or "gap" not in pay.columns:
        return pl.DataFrame(
            schema={
                "organization": pl.String,
                "cycle": pl.Int64,
                "category": pl.String,
                "component": pl.String,
                "measure": pl.String,
            }
        )
    return (
        pay.filter(
            (pl.col("item") == "g")
            & (pl.col("basis") == "annual")
            & pl.col("category").is_not_null()
            & pl.col("gap").is_not_null()
        )
        .select("organization", pl.col("cycle").cast(pl.Int64), "category", "component", "measure")
        .unique()
    )


def pay_gap_projection(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The projection per category, where its base figure is public (see the module docstring).
    `cycle` is the base cycle; `forecast_cycle` the year projected."""
    frame = _need(sources, PROJECTION_SOURCE, ("organization", "base_cycle", "cycle", "category"))
    frame = frame.rename({"cycle": "forecast_cycle"}).rename({"base_cycle": "cycle"})
    frame = frame.select([c for c in PROJECTION_COLUMNS if c in frame.columns])
    if frame.height == 0:
        return ProtectedTable(frame=frame.with_columns(pl.lit(False).alias(SUPPRESSED)))
    base = frame.filter(
        (pl.col("horizon") == 0) & (pl.col("component") == "basic") & (pl.col("measure") == "mean_gap")
    ).unique(["organization", "cycle", "category"])
    counts = pl.concat(
        [
            base.select(
                "organization", "cycle", "category", pl.lit("F").alias("gender"), pl.col("n_women").alias("n")
            ),
            base.select(
                "organization", "cycle", "category", pl.lit("M").alias("gender"), pl.col("n_men").alias("n")
            ),
        ]
    )
    cube = protect(counts, PROJECTION_COUNTS_RULE, limits).frame
    counted = (
        cube.filter(pl.col("category").is_not_null() & pl.col("gender").is_not_null())
        .group_by("organization", "cycle", "category")
        .agg((~pl.col(SUPPRESSED).any()).alias("_counts_shown"))
    )
    visible = _visible_art9(done).with_columns(pl.lit(True).alias("_art9_shown"))
    frame = frame.join(counted, on=["organization", "cycle", "category"], how="left").join(
        visible, on=["organization", "cycle", "category", "component", "measure"], how="left"
    )
    shown = (
        pl.col("_counts_shown").fill_null(False)
        & pl.col("_art9_shown").fill_null(False)
        & (pl.col("n_women").fill_null(0) >= limits.k_amounts)
        & (pl.col("n_men").fill_null(0) >= limits.k_amounts)
    )
    # A category is all or nothing per component and measure: one hidden year hides its whole fan.
    whole = shown.all().over("organization", "cycle", "scenario", "category", "component", "measure")
    out = _hide(frame, ~whole, PROJECTION_FIGURES).with_columns((~whole).alias(SUPPRESSED))
    out = out.drop("_counts_shown", "_art9_shown").sort(
        "organization", "cycle", "scenario", "component", "measure", "category", "horizon"
    )
    return ProtectedTable(frame=out, cells=out.height, hidden=int(out[SUPPRESSED].sum()))


def pay_gap_cost(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Cost to close per category and method, protected (see the module docstring)."""
    frame = _need(sources, COST_SOURCE, ("organization", "cycle", "category", "method", "n_raised", "cost"))
    frame = frame.select([c for c in (*COST_COLUMNS, "max_raise") if c in frame.columns])
    fit_hidden = (pl.col("n_women").fill_null(0) < limits.k_amounts) | (
        pl.col("n_men").fill_null(0) < limits.k_amounts
    )
    priced = frame.filter(pl.col("method").is_not_null())
    others = frame.filter(pl.col("method").is_null()).drop("max_raise")
    parts: list[pl.DataFrame] = []
    notes: list[str] = []
    hidden = 0
    if priced.height:
        # the largest single raise on the employer basis, like the cost it is compared with
        employer = pl.when(pl.col("cost") > 0).then(pl.col("cost_employer") / pl.col("cost")).otherwise(1.0)
        priced = priced.with_columns(
            pl.col("n_raised").fill_null(0), (pl.col("max_raise") * employer).alias("max_raise")
        )
        result = protect(priced, COST_RULE, limits)
        notes += result.notes
        out = result.frame.with_columns(
            (pl.col(SUPPRESSED) | pl.col(amount_flag("cost_employer"))).alias(SUPPRESSED)
        ).drop(amount_flag("cost_employer"), REASON)
        hidden += result.hidden
        parts.append(out)
    if others.height:
        parts.append(others.with_columns(pl.lit(False).alias(SUPPRESSED)))
    if not parts:
        empty = frame.drop("max_raise").with_columns(pl.lit(False).alias(SUPPRESSED))
        return ProtectedTable(frame=empty)
    out = pl.concat(parts, how="diagonal_relaxed")
    small = [
        ((pl.col(c) > 0) & (pl.col(c) < limits.k)).fill_null(False).alias(f"_small_{c}")
        for c in COUNT_COLUMNS
        if c in out.columns
    ]
    out = out.with_columns(small)
    for column in COUNT_COLUMNS:
        if f"_small_{column}" in out.columns:
            out = _hide(out, pl.col(f"_small_{column}"), [column]).rename(
                {f"_small_{column}": amount_flag(column)}
            )
    # a category whose women or men are too few for an amount: nothing of it but that it is too small
    out = out.with_columns((fit_hidden & (pl.col("status") != TOO_SMALL)).fill_null(False).alias("_whole"))
    out = _hide(
        out,
        pl.col("_whole"),
        [*FIT_COLUMNS, "status", "n_raised", "cost_employer", *COST_AMOUNTS, *COUNT_COLUMNS],
    )
    out = out.with_columns((pl.col(SUPPRESSED) | pl.col("_whole")).alias(SUPPRESSED)).drop("_whole")
    flags = [amount_flag(c) for c in COUNT_COLUMNS]
    out = out.select([c for c in (*COST_COLUMNS, *flags, SUPPRESSED) if c in out.columns])
    out = out.sort("organization", "cycle", "category", "method", nulls_last=True)
    return ProtectedTable(frame=out, notes=notes, cells=out.height, hidden=hidden)


def pay_assessment(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Art. 10 assessments as HR keeps them (no personal data)."""
    frame = _need(sources, ASSESSMENT_SOURCE, ("organization", "cycle", "item", "status"))
    return ProtectedTable(frame=frame.with_columns(pl.lit(False).alias(SUPPRESSED)), cells=frame.height)
