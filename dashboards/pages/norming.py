"""Page 2 — norming review for the management team (Z-10): department × rating heatmap, funnel plot of
departments, differentiation per manager, drift over cycles and movements between cycles."""

from __future__ import annotations

import math

import polars as pl

from dashboards import figures
from dashboards.components import (
    Chart,
    PageContext,
    all_hidden,
    esc,
    hidden_legend,
    render_chart,
    unavailable,
)
from dashboards.i18n import fmt_int, text
from dashboards.pages import SiteData
from dashboards.pages.calibration import RATINGS, measure_title, measures, scale

Z95 = 1.959963984540054
Z998 = 3.090232306167813


def _heatmap(ratings: pl.DataFrame, measure: str, data: SiteData, ctx: PageContext, organization: str) -> str:
    language = ctx.language
    codes, labels, _ = scale(data, organization, measure, language)
    part = ratings.filter(
        (pl.col("measure") == measure) & pl.col("function_level").is_null() & pl.col("rating").is_not_null()
    )
    org_label = text("organisation", language)
    names = sorted(d for d in part["department"].unique().to_list() if d is not None)
    tidy = part.select(
        pl.col("department").fill_null(org_label).alias("row"), pl.col("rating").alias("column"), "share"
    )
    title = text("chart_heatmap_title", language)
    if not names:
        return unavailable(title, "marts.rating_distribution", language)
    figure = figures.heatmap(
        tidy, [*names, org_label], codes or part["rating"].unique().to_list(), labels, language,
        text("axis_rating", language), text("department", language),
    )  # fmt: skip
    org_n = part.filter(pl.col("department").is_null())["unit_n"].drop_nulls()
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_heatmap_explain", language),
            "marts.rating_distribution (" + text("protected", language) + ")",
            int(org_n[0]) if org_n.len() else None,
        ),
        ctx,
    )


def _funnel(data: SiteData, ctx: PageContext, organization: str, cycle: int, measure: str) -> str:
    language = ctx.language
    title = text("chart_funnel_title", language)
    units = data.get("units", organization, cycle)
    if units is None:
        return unavailable(title, "marts.unit_deviation", language)
    units = units.filter((pl.col("grouping") == "department") & (pl.col("measure") == measure))
    shown = units.filter(pl.col("adjusted_mean").is_not_null() & pl.col("n").is_not_null())
    if units.height == 0:
        return unavailable(title, "marts.unit_deviation", language)
    hidden = units.height - shown.height
    note = text("units_hidden_note", language).format(count=fmt_int(hidden, language)) if hidden else ""
    if shown.height == 0:
        return all_hidden(title, language) + (f"<p class='notice'>{esc(note)}</p>" if note else "")
    target = float(shown["org_mean"].drop_nulls()[0]) if shown["org_mean"].drop_nulls().len() else 0.0
    sds = shown["funnel_sd"].drop_nulls() if "funnel_sd" in shown.columns else pl.Series([], dtype=pl.Float64)
    sd = float(sds.median()) if sds.len() else 0.0  # type: ignore[arg-type]
    top = max(int(shown["n"].cast(pl.Int64).max() or 0) + 5, 10)  # type: ignore[arg-type]
    grid = list(range(2, top + 1))
    limits = pl.DataFrame(
        {
            "n": grid,
            "lo95": [target - Z95 * sd / math.sqrt(n) for n in grid],
            "hi95": [target + Z95 * sd / math.sqrt(n) for n in grid],
            "lo998": [target - Z998 * sd / math.sqrt(n) for n in grid],
            "hi998": [target + Z998 * sd / math.sqrt(n) for n in grid],
        }
    )
    tidy = shown.select(
        pl.col("unit").alias("label"),
        "n",
        pl.col("adjusted_mean").alias("value"),
        pl.col("flag").fill_null(False).alias("flagged"),
    )
    figure = figures.funnel(
        tidy,
        limits,
        target,
        language,
        text("axis_people", language),
        text("axis_adjusted_mean", language),
        percent=False,
    )
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_funnel_explain", language),
            "marts.unit_deviation (" + text("protected", language) + ")",
            int(shown["n"].sum()),
            note=note,
        ),
        ctx,
    )


def _flagged(data: SiteData, organization: str, cycle: int, measure: str, language: str) -> str:
    """Departments the deviation test flags, also where their numbers are hidden."""
    units = data.get("units", organization, cycle)
    if units is None or "flag" not in units.columns:
        return ""
    flagged = units.filter(
        (pl.col("grouping") == "department")
        & (pl.col("measure") == measure)
        & pl.col("flag").fill_null(False)
    ).sort("unit")
    if flagged.height == 0:
        return f"<p class='explain'>{esc(text('no_flagged_units', language))}</p>"
    items = "".join(
        f"<li><strong>{esc(r['unit'])}</strong>: {esc(text('flag_' + (r.get('direction') or 'higher'), language))}</li>"
        for r in flagged.iter_rows(named=True)
    )
    return f"<p class='explain'>{esc(text('flagged_units', language))}</p><ul>{items}</ul>"


def _differentiation(data: SiteData, ctx: PageContext, organization: str, cycle: int, measure: str) -> str:
    language = ctx.language
    title = text("chart_differentiation_title", language)
    units = data.get("units", organization, cycle)
    if units is None:
        return unavailable(title, "marts.unit_deviation", language)
    units = units.filter((pl.col("grouping") == "evaluator") & (pl.col("measure") == measure))
    if units.height == 0:
        return unavailable(title, "marts.unit_deviation", language)
    shown = units.filter(pl.col("differentiation").is_not_null()).sort("differentiation", descending=True)
    hidden = units.height - shown.height
    note = text("managers_hidden_note", language).format(count=fmt_int(hidden, language)) if hidden else ""
    if shown.height == 0:
        return all_hidden(title, language) + (f"<p class='notice'>{esc(note)}</p>" if note else "")
    reference = shown["org_differentiation"].drop_nulls()
    tidy = shown.select(pl.col("unit").alias("label"), pl.col("differentiation").alias("value"), "n")
    figure = figures.horizontal_bars(
        tidy, language, text("axis_differentiation", language), text("axis_manager", language),
        reference=float(reference[0]) if reference.len() else None,
    )  # fmt: skip
    figure.update_layout(xaxis={"range": [0, 1.05]})
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_differentiation_explain", language),
            "marts.unit_deviation (" + text("protected", language) + ")",
            int(shown["n"].sum()),
            note=note,
        ),
        ctx,
    )


def _drift_lines(data: SiteData, ctx: PageContext, organization: str, cycle: int, measure: str) -> str:
    language = ctx.language
    title = text("chart_drift_title", language)
    ratings = data.get(RATINGS, organization)
    if ratings is None or ratings.height == 0:
        return unavailable(title, "marts.rating_distribution", language)
    codes, labels, _ = scale(data, organization, measure, language)
    org = ratings.filter(
        (pl.col("measure") == measure)
        & pl.col("department").is_null()
        & pl.col("function_level").is_null()
        & pl.col("rating").is_not_null()
        & (pl.col("cycle") <= cycle)
    )
    if org["cycle"].n_unique() < 2:
        return f"<div class='unavailable'><strong>{esc(title)}</strong> — {esc(text('one_cycle_only', language))}</div>"
    codes = codes or org["rating"].unique().to_list()
    tidy = org.select(
        pl.col("cycle").alias("x"),
        pl.col("rating").replace_strict(labels, default=pl.col("rating")).alias("series"),
        pl.col("share").alias("value"),
    )
    figure = figures.lines(
        tidy,
        [labels.get(c, c) for c in codes],
        language,
        text("cycle", language),
        text("axis_share_people", language),
    )
    totals = ratings.filter(
        (pl.col("measure") == measure)
        & pl.col("department").is_null()
        & pl.col("function_level").is_null()
        & pl.col("rating").is_null()
        & (pl.col("cycle") <= cycle)
    )
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_drift_explain", language),
            "marts.rating_distribution (" + text("protected", language) + ")",
            int(totals["n"].drop_nulls().sum()) if totals.height else None,
        ),
        ctx,
    )


def _drift_departments(data: SiteData, ctx: PageContext, organization: str, cycle: int, measure: str) -> str:
    language = ctx.language
    title = text("chart_drift_departments_title", language)
    drift = data.get("drift", organization, cycle)
    if drift is None:
        return unavailable(title, "marts.rating_drift", language)
    drift = drift.filter(pl.col("measure") == measure)
    if drift.height == 0:
        return f"<div class='unavailable'><strong>{esc(title)}</strong> — {esc(text('one_cycle_only', language))}</div>"
    org_label = text("organisation", language)
    shown = drift.filter(pl.col("drift").is_not_null())
    hidden = drift.height - shown.height
    note = text("units_hidden_note", language).format(count=fmt_int(hidden, language)) if hidden else ""
    if shown.height == 0:
        return all_hidden(title, language)
    tidy = shown.select(
        pl.when(pl.col("grouping") == "organization")
        .then(pl.lit(org_label))
        .otherwise(pl.col("unit"))
        .alias("label"),
        pl.col("drift").alias("estimate"),
        pl.col("drift_lo").alias("lo"),
        pl.col("drift_hi").alias("hi"),
        pl.col("n_to").alias("n"),
        pl.col("trend")
        .is_in(["up", "down", "inflation", "deflation", "rising", "falling"])
        .fill_null(False)
        .alias("flagged"),
    )
    figure = figures.caterpillar(tidy, language, text("axis_drift", language), text("department", language))
    first = shown["from_cycle"][0]
    return render_chart(
        Chart(
            figure,
            title.format(start=first, end=cycle),
            text("chart_drift_departments_explain", language),
            "marts.rating_drift (" + text("protected", language) + ")",
            int(shown.filter(pl.col("grouping") == "organization")["n_to"].sum() or 0) or None,
            note=note,
        ),
        ctx,
    )


def _transitions(data: SiteData, ctx: PageContext, organization: str, cycle: int, measure: str) -> str:
    language = ctx.language
    title = text("chart_transitions_title", language)
    frame = data.get("transitions", organization, cycle)
    if frame is None:
        return unavailable(title, "marts.rating_transitions", language)
    frame = frame.filter(pl.col("measure") == measure)
    if frame.height == 0:
        return f"<div class='unavailable'><strong>{esc(title)}</strong> — {esc(text('one_cycle_only', language))}</div>"
    codes, labels, _ = scale(data, organization, measure, language)
    codes = codes or frame["from_rating"].drop_nulls().unique().to_list()
    cells = frame.filter(pl.col("from_rating").is_not_null() & pl.col("to_rating").is_not_null())
    tidy = cells.select(
        pl.col("from_rating").replace_strict(labels, default=pl.col("from_rating")).alias("row"),
        pl.col("to_rating").alias("column"),
        "share",
    )
    figure = figures.heatmap(
        tidy, [labels.get(c, c) for c in codes], codes, labels, language,
        text("axis_to_rating", language).format(cycle=cycle), text("axis_from_rating", language).format(cycle=cells["from_cycle"][0]),
    )  # fmt: skip
    total = frame.filter(pl.col("from_rating").is_null() & pl.col("to_rating").is_null())["count"]
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_transitions_explain", language),
            "marts.rating_transitions (" + text("protected", language) + ")",
            int(total[0]) if total.len() and total[0] is not None else None,
        ),
        ctx,
    )


def body(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    language = ctx.language
    parts = [
        f"<h1>{esc(text('page_norming', language))}</h1>",
        f"<p class='lead'>{esc(text('page_intro_norming', language))}</p>",
        hidden_legend(language),
    ]
    ratings = data.get(RATINGS, organization, cycle)
    if ratings is None or ratings.height == 0:
        parts.append(
            unavailable(text("chart_heatmap_title", language), "marts.rating_distribution", language)
        )
        return "\n".join(parts)
    for measure in measures(ratings):
        parts.append(f"<h2>{esc(measure_title(measure, language))}</h2>")
        parts.append(_heatmap(ratings, measure, data, ctx, organization))
        parts.append(_funnel(data, ctx, organization, cycle, measure))
        parts.append(_flagged(data, organization, cycle, measure, language))
        parts.append(_differentiation(data, ctx, organization, cycle, measure))
        parts.append(_drift_lines(data, ctx, organization, cycle, measure))
        parts.append(_drift_departments(data, ctx, organization, cycle, measure))
        parts.append(_transitions(data, ctx, organization, cycle, measure))
    return "\n".join(parts)
