"""The budget page: spend against budget, award types, forecast and what-if presets (amounts)."""

from __future__ import annotations

import polars as pl

from models.disclosure.engine import (
    SUPPRESSED,
    Amount,
    ProtectedTable,
    TableRule,
    Thresholds,
    protect,
)
from models.disclosure.recode import OTHERS_LEFT_OUT
from models.releases.calibration import _unrated_organization_sizes
from models.releases.common import DEPARTMENT_TOTAL, _hide, _need


# ---------------------------------------------------------------------------------------------- budget
def shown_headcount(frame: pl.DataFrame) -> pl.DataFrame:
    """The headcount the organisation site publishes: over the shown gender categories (marts.budget and
    marts.budget_forecast `shown_headcount`: without a small category the fairness table leaves out of the
    cycle, which the headcount would otherwise give back next to its women and men; `others_left_out` says so).
    The amounts stay over everyone; the amount rules then judge them on the smaller count (conservative)."""
    if "shown_headcount" not in frame.columns:
        return frame.with_columns(pl.lit(False).alias(OTHERS_LEFT_OUT))
    return frame.with_columns(
        pl.col("shown_headcount").alias("headcount"), pl.col(OTHERS_LEFT_OUT).fill_null(False)
    ).drop("shown_headcount")


def _org_total_to_null(frame: pl.DataFrame) -> pl.DataFrame:
    """models.budget marks the organisation row with department "(totaal)" and level "organisatie"."""
    is_total = pl.col("department") == DEPARTMENT_TOTAL
    if "level" in frame.columns:
        is_total = is_total | (pl.col("level") == "organisatie")
    return frame.with_columns(
        pl.when(is_total).then(None).otherwise(pl.col("department")).alias("department")
    )


BUDGET_PAYROLL_DERIVED = ("payroll", "fte", "incidental_budget", "structural_budget")
BUDGET_STRUCTURAL = (
    "structural_costed", "structural_at_maximum", "structural_capped", "structural_no_decision",
    "structural_gross_full_year", "structural_gross_in_year", "structural_cost_in_year", "structural_variance",
    "structural_utilisation", "total_cost_full_year", "total_cost_in_year", "over_budget",
)  # fmt: skip
BUDGET_INCIDENTAL = (
    "incidental_awards", "incidental_gross", "incidental_cost_in_year", "incidental_variance",
    "incidental_utilisation", "total_cost_full_year", "total_cost_in_year", "over_budget",
)  # fmt: skip
BUDGET_RULE = TableRule(
    dims=("department",),
    n="headcount",
    totals=("department",),
    amounts=(
        Amount(
            "payroll",
            protect=(
                *BUDGET_PAYROLL_DERIVED,
                "incidental_variance",
                "structural_variance",
                "incidental_utilisation",
                "structural_utilisation",
                "over_budget",
            ),
        ),
        Amount("structural_cost_full_year", n_column="structural_costed", protect=BUDGET_STRUCTURAL),
        Amount("incidental_cost", n_column="incidental_awards", protect=BUDGET_INCIDENTAL),
    ),
)
BUDGET_PEOPLE_COUNTS = (
    "structural_costed", "structural_at_maximum", "structural_capped", "structural_no_decision", "incidental_awards",
)  # fmt: skip
BUDGET_COLUMNS = (
    "organization", "cycle", "department", "policy_id", "headcount", OTHERS_LEFT_OUT, "payout_date", *BUDGET_PAYROLL_DERIVED,
    "structural_cost_full_year", *BUDGET_STRUCTURAL, "incidental_cost", *BUDGET_INCIDENTAL,
)  # fmt: skip


def _budget(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Spend against budget per department and for the organisation (amounts from k_amounts people)."""
    bu = _need(
        sources,
        "marts.budget",
        (
            "organization",
            "cycle",
            "department",
            "headcount",
            "payroll",
            "structural_cost_full_year",
            "incidental_cost",
        ),
    )
    bu = shown_headcount(_org_total_to_null(bu))
    bu = bu.select(list(dict.fromkeys(c for c in BUDGET_COLUMNS if c in bu.columns)))
    for column in ("structural_costed", "incidental_awards"):
        if column not in bu.columns:
            bu = bu.with_columns(pl.col("headcount").alias(column))
    # The organisation's headcount (and one department's) is its size on the process page: hidden where that
    # size minus the rated total of `ratings` would give a small unrated count back. Only the count: the money
    # of those rows is judged by the amount rules on the true headcount (large), as for any other row.
    sizes = _unrated_organization_sizes(sources, limits).cast({"cycle": bu.schema["cycle"]})
    result = protect(bu, BUDGET_RULE, limits, force=sizes, count_only=sizes)
    # The people counts behind the amounts (costed, capped, at the maximum, without a decision; awards) serve
    # the amount rules only. No page shows them and no small-cell rule covers them (people without a decision
    # are the unrated count the process page hides), so they are not published.
    result.frame = result.frame.drop(BUDGET_PEOPLE_COUNTS, strict=False)
    return result


BY_TYPE_RULE = TableRule(
    dims=("award_type",),
    n="awards",
    totals=("award_type",),
    amounts=(Amount("cost", n_column="awards", protect=("gross", "cost_in_year")),),
)


def _budget_by_type(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Incidental cost per award type for the whole organisation (per department the cells are too small and
    would also have to agree with the department totals of marts.budget)."""
    bt = _need(
        sources,
        "marts.budget_by_type",
        ("organization", "cycle", "department", "award_type", "awards", "cost"),
    )
    bt = _org_total_to_null(bt).filter(pl.col("department").is_null())
    keep = [
        c
        for c in (
            "organization",
            "cycle",
            "award_type",
            "kind",
            "rule",
            "awards",
            "gross",
            "cost",
            "cost_in_year",
        )
        if c in bt.columns
    ]
    return protect(bt.select(keep), BY_TYPE_RULE, limits)


FORECAST_AMOUNTS = (
    "payroll", "general_raise_cost", "structural_cost_mean", "structural_cost_p5", "structural_cost_p50",
    "structural_cost_p95", "incidental_cost_mean", "incidental_cost_p5", "incidental_cost_p50",
    "incidental_cost_p95", "total_cost_mean", "total_cost_p5", "total_cost_p50", "total_cost_p95",
    "incidental_budget", "structural_budget", "incidental_utilisation_p50", "incidental_utilisation_p95",
    "structural_utilisation_p50", "structural_utilisation_p95", "fte", "at_maximum", "decidable",
)  # fmt: skip
FORECAST_RULE = TableRule(
    by=("organization", "cycle", "forecast_cycle", "horizon", "scenario"),
    dims=("department",),
    n="headcount",
    totals=("department",),
    amounts=(Amount("total_cost_mean", protect=FORECAST_AMOUNTS),),
)


def _forecast(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Forecast per scenario and year, per department (from k_amounts people) and for the organisation.
    `cycle` is the cycle the forecast starts from; `forecast_cycle` the year it forecasts."""
    fc = _need(
        sources,
        "marts.budget_forecast",
        (
            "organization",
            "base_cycle",
            "cycle",
            "horizon",
            "scenario",
            "department",
            "headcount",
            "total_cost_mean",
        ),
    )
    fc = (
        shown_headcount(_org_total_to_null(fc))
        .rename({"cycle": "forecast_cycle"})
        .rename({"base_cycle": "cycle"})
    )
    keep = [
        c
        for c in (
            "organization",
            "cycle",
            "forecast_cycle",
            "horizon",
            "scenario",
            "department",
            "headcount",
            OTHERS_LEFT_OUT,
            "general_raise_pct",
            *FORECAST_AMOUNTS,
        )
        if c in fc.columns
    ]
    return protect(fc.select(keep), FORECAST_RULE, limits)


WHATIF_COLUMNS = (
    "organization",
    "cycle",
    "scenario",
    "metric",
    "scope",
    "label_nl",
    "label_en",
    "unit",
    "before",
    "after",
    "change",
)


def _whatif(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """What-if presets (scenario files with moves): organisation-wide figures, and a moved department's
    figures only where its amounts are shown in `budget`. The per-gender top-rating shares are left out:
    together with the fairness page they could give back a rate hidden there."""
    wi = _need(
        sources,
        "marts.budget_whatif",
        ("organization", "cycle", "scenario", "metric", "scope", "before", "after", "change"),
    )
    wi = wi.select([c for c in WHATIF_COLUMNS if c in wi.columns]).filter(
        ~pl.col("metric").str.starts_with("top_rate")
    )
    budget = done.get("budget")
    org_scope = pl.col("scope").str.starts_with("(")
    if budget is not None and budget.height:
        visible = budget.filter(pl.col("department").is_not_null()).select(
            "organization",
            "cycle",
            pl.col("department").alias("scope"),
            (
                pl.col("payroll").is_not_null()
                & pl.col("structural_cost_full_year").is_not_null()
                & pl.col("incidental_cost").is_not_null()
            ).alias("_visible"),
        )
        wi = wi.join(visible, on=["organization", "cycle", "scope"], how="left")
    else:
        wi = wi.with_columns(pl.lit(False).alias("_visible"))
    shown = org_scope | pl.col("_visible").fill_null(False)
    frame = (
        _hide(wi, ~shown, ["before", "after", "change"])
        .with_columns((~shown).alias(SUPPRESSED))
        .drop("_visible")
    )
    notes = ["per-gender top-rating shares left out (they could reveal rates hidden on the fairness page)"]
    return ProtectedTable(frame=frame, notes=notes, cells=frame.height, hidden=int(frame[SUPPRESSED].sum()))
