"""Page 4 — budget and forecast: spend against budget per department, structural versus incidental, the
forecast fan per scenario and the what-if presets (scenarios) side by side."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from dashboards import figures, theme
from dashboards.components import (
    Chart,
    Column,
    PageContext,
    all_hidden,
    esc,
    hidden_legend,
    html_table,
    render_chart,
    table_block,
    unavailable,
)
from dashboards.i18n import fmt_money, fmt_pct, fmt_points, text
from dashboards.pages import SiteData
from dashboards.pages.pay_gap_section import section as pay_gap_section
from models.errors import ConfigError

BUDGET = "budget"
BY_TYPE = "budget_by_type"
FORECAST = "forecast"


def scenario_label(code: str, language: str, custom: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A scenario in plain words: the built-in ones from i18n, a scenario file's (`custom:<id>`) from its
    `label:`; the code only when neither has one."""
    known = text("scenario_labels", language)
    if code in known:
        return str(known[code])
    labels = (custom or {}).get(code.removeprefix("custom:"))
    if labels:
        return labels.get(language) or labels.get("nl") or code
    return code


@functools.lru_cache(maxsize=8)
def _scenario_files(directory: Path) -> dict[str, dict[str, str]]:
    from models.forecast import load_scenarios

    try:
        return {f.id: dict(f.label) for f in load_scenarios(directory)} if directory.is_dir() else {}
    except (ConfigError, OSError, ValueError):
        return {}


def custom_scenarios(data: SiteData) -> dict[str, dict[str, str]]:
    """The labels of the scenario files next to the configuration (where the pipeline read them)."""
    config = getattr(data.settings, "config_path", None)
    return _scenario_files(Path(config).parent / "scenarios") if config else {}


def award_labels(data: SiteData, organization: str, language: str) -> dict[str, str]:
    policy = data.policy(organization)
    if policy is None:
        return {}
    return {a.code: a.label.get(language, a.label.get("nl", a.code)) for a in policy.award_types}


def _cost_vs_budget(frame: pl.DataFrame, ctx: PageContext, kind: str) -> str:
    language = ctx.language
    cost, budget = (
        ("structural_cost_full_year", "structural_budget")
        if kind == "structural"
        else ("incidental_cost", "incidental_budget")
    )
    title = text(f"chart_{kind}_title", language)
    if cost not in frame.columns or budget not in frame.columns:
        return unavailable(title, "marts.budget", language)
    org_label = text("organisation_total", language)
    depts = frame.filter(pl.col("department").is_not_null()).sort("department")
    cost_label, budget_label = text("series_cost", language), text("series_budget", language)
    rows = []
    for r in depts.iter_rows(named=True):
        rows.append({"label": r["department"], "series": cost_label, "value": r[cost]})
        rows.append({"label": r["department"], "series": budget_label, "value": r[budget]})
    if (
        frame.filter(pl.col(budget).is_not_null()).height == 0
        and frame.filter(pl.col(cost).is_not_null()).height == 0
    ):
        return all_hidden(title, language)
    tidy = pl.DataFrame(rows, schema={"label": pl.String, "series": pl.String, "value": pl.Float64})
    figure = figures.grouped_bars(
        tidy, [cost_label, budget_label], language, text("department", language), text("axis_euro", language),
        money=True, colours=[theme.HIGHLIGHT, theme.GUIDELINE],
    )  # fmt: skip
    org = frame.filter(pl.col("department").is_null())
    note = ""
    if org.height:
        r = org.row(0, named=True)
        if r[cost] is not None and r[budget]:
            note = text("org_total_note", language).format(
                label=org_label, cost=fmt_money(r[cost], language), budget=fmt_money(r[budget], language),
                share=fmt_pct(r[cost] / r[budget], language),
            )  # fmt: skip
    headcount = org["headcount"].drop_nulls()
    return render_chart(
        Chart(
            figure,
            title,
            text(f"chart_{kind}_explain", language),
            "marts.budget (" + text("protected", language) + ")",
            int(headcount[0]) if headcount.len() else None,
            note=note,
        ),
        ctx,
    )


def _flag(frame: pl.DataFrame, *amounts: str) -> pl.Expr:
    """Hidden when any amount the value derives from is hidden (models.privacy flags suppressed_<amount>)."""
    flags = [
        pl.col(f"suppressed_{a}").fill_null(False) for a in amounts if f"suppressed_{a}" in frame.columns
    ]
    return pl.any_horizontal(flags) if flags else pl.lit(False)


def _amounts(frame: pl.DataFrame, language: str) -> str:
    """Spend against budget per department as a table of amounts (the charts' numbers, to take away)."""
    total = text("organisation_total", language)
    shown = frame.sort(pl.col("department").is_null(), "department").with_columns(
        pl.col("department").fill_null(total).alias("department_label"),
        _flag(frame, "structural_cost_full_year").alias("_h_sc"),
        _flag(frame, "payroll").alias("_h_budget"),
        _flag(frame, "payroll", "structural_cost_full_year").alias("_h_su"),
        _flag(frame, "incidental_cost").alias("_h_ic"),
        _flag(frame, "payroll", "incidental_cost").alias("_h_iu"),
        (pl.col("headcount").is_null() if "headcount" in frame.columns else pl.lit(False)).alias("_h_n"),
    )
    headers = text("budget_amounts_headers", language)
    columns = [
        Column("department", text("department", language), hidden_flag=None),
        Column("headcount", headers["headcount"], "int", hidden_flag="_h_n"),
        Column("structural_cost_full_year", headers["structural_cost"], "money", hidden_flag="_h_sc"),
        Column("structural_budget", headers["structural_budget"], "money", hidden_flag="_h_budget"),
        Column("structural_utilisation", headers["structural_use"], "pct", hidden_flag="_h_su"),
        Column("incidental_cost", headers["incidental_cost"], "money", hidden_flag="_h_ic"),
        Column("incidental_budget", headers["incidental_budget"], "money", hidden_flag="_h_budget"),
        Column("incidental_utilisation", headers["incidental_use"], "pct", hidden_flag="_h_iu"),
    ]
    # The label column is shown under "department" (the organisation row reads as its total); the department
    # column itself keeps null there, so the department filter keeps that row.
    table = html_table(
        shown.with_columns(pl.col("department_label").alias("department_shown")),
        [Column("department_shown", columns[0].header, hidden_flag=None), *columns[1:]],
        language,
    )
    return table_block(
        text("budget_amounts_title", language),
        text("budget_amounts_explain", language),
        "marts.budget",
        table,
        language,
    )


def _mix(frame: pl.DataFrame, ctx: PageContext) -> str:
    language = ctx.language
    title = text("chart_mix_title", language)
    structural, incidental = text("series_structural", language), text("series_incidental", language)
    rows = []
    for r in frame.sort("department", nulls_last=True).iter_rows(named=True):
        label = r["department"] if r["department"] is not None else text("organisation_total", language)
        total = (r.get("structural_cost_full_year") or 0) + (r.get("incidental_cost") or 0)
        if r.get("structural_cost_full_year") is None or r.get("incidental_cost") is None or total <= 0:
            rows.append({"label": label, "series": structural, "value": None})
            rows.append({"label": label, "series": incidental, "value": None})
            continue
        rows.append({"label": label, "series": structural, "value": r["structural_cost_full_year"] / total})
        rows.append({"label": label, "series": incidental, "value": r["incidental_cost"] / total})
    tidy = pl.DataFrame(rows, schema={"label": pl.String, "series": pl.String, "value": pl.Float64})
    if tidy["value"].drop_nulls().len() == 0:
        return all_hidden(title, language)
    figure = figures.grouped_bars(
        tidy, [structural, incidental], language, text("department", language), text("axis_share_cost", language),
        percent=True, stacked=True, colours=[theme.HIGHLIGHT, theme.GUIDELINE],
    )  # fmt: skip
    headcount = frame.filter(pl.col("department").is_null())["headcount"].drop_nulls()
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_mix_explain", language),
            "marts.budget (" + text("protected", language) + ")",
            int(headcount[0]) if headcount.len() else None,
        ),
        ctx,
    )


def _fan(forecast: pl.DataFrame, ctx: PageContext, custom: Mapping[str, Mapping[str, str]]) -> str:
    language = ctx.language
    title = text("chart_fan_title", language)
    org = forecast.filter(pl.col("department").is_null())
    if org.height == 0 or "total_cost_p50" not in org.columns:
        return unavailable(title, "marts.budget_forecast", language)
    scenarios = org["scenario"].unique(maintain_order=True).to_list()
    tidy = org.select(
        pl.col("forecast_cycle").alias("x"),
        pl.col("scenario")
        .map_elements(lambda s: scenario_label(s, language, custom), return_dtype=pl.String)
        .alias("series"),
        pl.col("total_cost_p50").alias("mid"),
        pl.col("total_cost_p5").alias("lo"),
        pl.col("total_cost_p95").alias("hi"),
    )
    figure = figures.fan(
        tidy,
        [scenario_label(s, language, custom) for s in scenarios],
        language,
        text("axis_year", language),
        text("axis_euro", language),
    )
    headcount = org["headcount"].drop_nulls()
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_fan_explain", language),
            "marts.budget_forecast (" + text("protected", language) + ")",
            int(headcount.max()) if headcount.len() else None,  # type: ignore[arg-type]
        ),
        ctx,
    )


def _presets(forecast: pl.DataFrame, language: str, custom: Mapping[str, Mapping[str, str]]) -> str:
    org = forecast.filter(pl.col("department").is_null() & (pl.col("horizon") == pl.col("horizon").min()))
    if org.height == 0:
        return ""
    year = org["forecast_cycle"][0]
    shown = org.with_columns(
        pl.col("scenario")
        .map_elements(lambda s: scenario_label(s, language, custom), return_dtype=pl.String)
        .alias("scenario_label")
    ).sort("scenario")
    headers = text("preset_headers", language)
    columns = [
        Column("scenario_label", headers["scenario"], hidden_flag=None),
        Column("structural_cost_p50", headers["structural"], "money"),
        Column("incidental_cost_p50", headers["incidental"], "money"),
        Column("total_cost_p50", headers["total"], "money"),
        Column("total_cost_p5", headers["p5"], "money"),
        Column("total_cost_p95", headers["p95"], "money"),
        Column("structural_utilisation_p50", headers["structural_use"], "pct"),
        Column("incidental_utilisation_p50", headers["incidental_use"], "pct"),
    ]
    return table_block(
        text("preset_title", language).format(year=year),
        text("preset_explain", language),
        "marts.budget_forecast",
        html_table(shown, columns, language),
        language,
    )


def _whatif(frame: pl.DataFrame, language: str, custom: Mapping[str, Mapping[str, str]]) -> str:
    """The what-if presets: scenario files that move ratings, before and after."""
    if frame.height == 0:
        return ""
    label = f"label_{language}" if f"label_{language}" in frame.columns else "metric"
    parts = []
    for scenario in frame["scenario"].unique().sort().to_list():
        rows = frame.filter(pl.col("scenario") == scenario)
        money = rows.filter(pl.col("unit") == "eur") if "unit" in rows.columns else rows
        share = rows.filter(pl.col("unit") != "eur") if "unit" in rows.columns else rows.head(0)
        shown = pl.concat(
            [
                money.with_columns(
                    pl.col("before")
                    .map_elements(lambda v: fmt_money(v, language), return_dtype=pl.String)
                    .alias("before_text"),
                    pl.col("after")
                    .map_elements(lambda v: fmt_money(v, language), return_dtype=pl.String)
                    .alias("after_text"),
                    pl.col("change")
                    .map_elements(lambda v: fmt_money(v, language), return_dtype=pl.String)
                    .alias("change_text"),
                ),
                share.with_columns(
                    pl.col("before")
                    .map_elements(lambda v: fmt_pct(v, language, 1), return_dtype=pl.String)
                    .alias("before_text"),
                    pl.col("after")
                    .map_elements(lambda v: fmt_pct(v, language, 1), return_dtype=pl.String)
                    .alias("after_text"),
                    # A change of a share is in percentage points, not per cent.
                    pl.col("change")
                    .map_elements(lambda v: fmt_points(v, language, 1), return_dtype=pl.String)
                    .alias("change_text"),
                ),
            ]
        ).with_columns(pl.col("scope").replace({"(organisatie)": text("organisation_total", language)}))
        headers = text("whatif_headers", language)
        columns = [
            Column("scope", headers["scope"], hidden_flag=None),
            Column(label, headers["metric"], hidden_flag=None),
            Column("before_text", headers["before"]),
            Column("after_text", headers["after"]),
            Column("change_text", headers["change"]),
        ]
        parts.append(
            table_block(
                text("whatif_title", language).format(scenario=scenario_label(scenario, language, custom)),
                text("whatif_explain", language),
                "marts.budget_whatif",
                html_table(shown, columns, language),
                language,
            )
        )
    return "\n".join(parts)


def _by_type(frame: pl.DataFrame, language: str, labels: Mapping[str, str]) -> str:
    rows = (
        frame.filter(pl.col("award_type").is_not_null())
        .sort("award_type")
        .with_columns(pl.col("award_type").replace(dict(labels)).alias("award_label"))
    )
    if rows.height == 0:
        return ""
    headers = text("by_type_headers", language)
    columns = [
        Column("award_label", headers["award_type"], hidden_flag=None),
        Column("rule", headers["rule"], hidden_flag=None),
        Column("awards", headers["awards"], "int"),
        Column("cost", headers["cost"], "money", hidden_flag="suppressed_cost"),
    ]
    total = frame.filter(pl.col("award_type").is_null())["awards"].drop_nulls()
    return table_block(
        text("by_type_title", language),
        text("by_type_explain", language),
        "marts.budget_by_type",
        html_table(rows, columns, language),
        language,
        n=int(total[0]) if total.len() else None,
    )


def body(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    language = ctx.language
    parts = [
        f"<h1>{esc(text('page_budget', language))}</h1>",
        f"<p class='lead'>{esc(text('page_intro_budget', language))}</p>",
        hidden_legend(language),
        f"<p class='explain'>{esc(text('budget_privacy', language))}</p>",
    ]
    custom = custom_scenarios(data)
    frame = data.get(BUDGET, organization, cycle)
    if frame is not None and "others_left_out" in frame.columns and frame["others_left_out"].any():
        parts.append(f"<p class='explain'>{esc(text('budget_others_left_out', language))}</p>")
    parts.append(f"<h2>{esc(text('budget_spend', language))}</h2>")
    if frame is None or frame.height == 0:
        parts.append(unavailable(text("budget_spend", language), "marts.budget", language))
    else:
        parts.append(_cost_vs_budget(frame, ctx, "structural"))
        parts.append(_cost_vs_budget(frame, ctx, "incidental"))
        parts.append(_amounts(frame, language))
        parts.append(_mix(frame, ctx))
    by_type = data.get(BY_TYPE, organization, cycle)
    if by_type is not None and by_type.height:
        parts.append(_by_type(by_type, language, award_labels(data, organization, language)))
    parts.append(f"<h2>{esc(text('budget_forecast', language))}</h2>")
    forecast = data.get(FORECAST, organization, cycle)
    if forecast is None or forecast.height == 0:
        parts.append(unavailable(text("budget_forecast", language), "marts.budget_forecast", language))
    else:
        parts.append(_fan(forecast, ctx, custom))
        parts.append(_presets(forecast, language, custom))
    whatif = data.get("whatif", organization, cycle)
    if whatif is not None and whatif.height:
        parts.append(f"<h2>{esc(text('whatif_section', language))}</h2>")
        parts.append(_whatif(whatif, language, custom))
    parts.append(pay_gap_section(data, ctx, organization, cycle, "budget"))
    return "\n".join(parts)
