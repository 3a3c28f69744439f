"""Figure builders: a tidy, already-protected frame in, a plotly Figure out. One builder per kind of chart.

Builders never read files or databases and never decide what may be shown: hidden (null) values arrive
hidden and are drawn as gaps with a "·" label. Every string that comes from the data is escaped with
`components.plot_text` here, because plotly renders a subset of HTML (links included) in labels and hover text.
Titles are set by `components.render_chart` so every chart gets its title and n the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from dashboards import theme
from dashboards.components import HIDDEN_MARK, NOT_APPLICABLE, FigureSpec, plot_text
from dashboards.i18n import fmt_int, fmt_money, fmt_number, fmt_pct, text


def _figure(language: str, x_title: str, y_title: str, height: int = 380) -> FigureSpec:
    return FigureSpec(language, x_title, y_title, height)


# Room for one category label at the 13 px font; plotly silently leaves out labels that do not fit.
CATEGORY_PX = 22


def every_category() -> dict[str, object]:
    """A category axis that labels every category (plotly's automatic ticks label every other one when the
    labels are close: the flagged evaluator once had none)."""
    return {"type": "category", "tickmode": "linear", "tick0": 0, "dtick": 1, "automargin": True}


def _pct_text(values: Sequence[float | None], language: str) -> list[str]:
    return [HIDDEN_MARK if v is None else fmt_pct(v, language) for v in values]


def interval_bars(
    centre: Sequence[float | None],
    low: Sequence[float | None],
    high: Sequence[float | None],
    **style: object,
) -> dict[str, object]:
    """plotly's `error_x` for intervals around `centre` (no bar where a bound or the centre is missing)."""
    return {
        "type": "data",
        "symmetric": False,
        "array": [None if h is None or c is None else h - c for h, c in zip(high, centre, strict=True)],
        "arrayminus": [None if a is None or c is None else c - a for a, c in zip(low, centre, strict=True)],
        **style,
    }


def distribution_bars(
    frame: pl.DataFrame,
    categories: Sequence[str],
    category_labels: dict[str, str],
    series_order: Sequence[str],
    series_colours: dict[str, str],
    language: str,
    x_title: str,
    y_title: str,
) -> FigureSpec:
    """Grouped bars of shares per category for a few series (this department, the organisation, the
    guideline). Columns: series, category, share (null = hidden), n (people behind the share, may be null)."""
    figure = _figure(language, x_title, y_title)
    x = [plot_text(category_labels.get(c, c)) for c in categories]
    for series in series_order:
        part = frame.filter(pl.col("series") == series)
        lookup = {r["category"]: r for r in part.iter_rows(named=True)}
        shares = [lookup.get(c, {}).get("share") for c in categories]
        counts = [lookup.get(c, {}).get("n") for c in categories]
        hover = [
            f"{plot_text(series)} · {label}: "
            + (
                plot_text(text("hidden_short", language))
                if s is None
                else fmt_pct(s, language, 1) + (f" (n = {fmt_int(k, language)})" if k is not None else "")
            )
            for label, s, k in zip(x, shares, counts, strict=True)
        ]
        figure.add_trace(
            dict(
                type="bar",
                name=plot_text(series),
                x=x,
                y=[0 if s is None else s for s in shares],
                text=_pct_text(shares, language),
                textposition="outside",
                hovertext=hover,
                hoverinfo="text",
                marker={"color": series_colours.get(series, theme.ORG)},
            )
        )
    figure.update_layout(barmode="group", yaxis={"tickformat": ".0%", "rangemode": "tozero"})
    return figure


def stacked_shares(
    frame: pl.DataFrame,
    groups: Sequence[str],
    categories: Sequence[str],
    category_labels: dict[str, str],
    language: str,
    x_title: str,
    y_title: str,
    hidden_groups: Sequence[str] = (),
) -> FigureSpec:
    """Horizontal 100% bars: the rating mix of each group (function level, cycle). Columns: group, category,
    share. Groups whose mix is hidden get one grey bar labelled as hidden."""
    height = max(260, 90 + 38 * (len(groups) + len(hidden_groups)))
    figure = _figure(language, x_title, y_title, height)
    y = [plot_text(g) for g in groups]
    colours = theme.ordinal_colours(len(categories))
    for colour, category in zip(colours, categories, strict=True):
        part = {
            r["group"]: r["share"] for r in frame.filter(pl.col("category") == category).iter_rows(named=True)
        }
        shares = [part.get(g) for g in groups]
        figure.add_trace(
            dict(
                type="bar",
                name=plot_text(category_labels.get(category, category)),
                y=y,
                x=[0 if s is None else s for s in shares],
                orientation="h",
                marker={"color": colour},
                text=[fmt_pct(s, language) if s and s >= 0.06 else "" for s in shares],
                textposition="inside",
                hovertext=[
                    f"{gy} · {plot_text(category_labels.get(category, category))}: "
                    + (plot_text(text("hidden_short", language)) if s is None else fmt_pct(s, language, 1))
                    for gy, s in zip(y, shares, strict=True)
                ],
                hoverinfo="text",
            )
        )
    if hidden_groups:
        figure.add_trace(
            dict(
                type="bar",
                name=plot_text(text("hidden_short", language)),
                y=[plot_text(g) for g in hidden_groups],
                x=[1.0] * len(hidden_groups),
                orientation="h",
                marker={"color": theme.HIDDEN, "line": {"color": theme.GRID, "width": 1}},
                text=[plot_text(text("hidden_short", language))] * len(hidden_groups),
                textposition="inside",
                hoverinfo="text",
                hovertext=[plot_text(text("hidden_title", language))] * len(hidden_groups),
            )
        )
    figure.update_layout(
        barmode="stack",
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return figure


def caterpillar(
    frame: pl.DataFrame, language: str, x_title: str, y_title: str, reference: float = 0.0, decimals: int = 2
) -> FigureSpec:
    """Point estimates with intervals, sorted (evaluators, units). Columns: label, estimate, lo, hi, n,
    flagged (bool). A line marks the reference (no difference)."""
    rows = frame.filter(pl.col("estimate").is_not_null()).sort("estimate")
    # The title, the n and the axis title take about 170 px; every evaluator gets a label's height.
    height = max(300, 170 + CATEGORY_PX * rows.height)
    figure = _figure(language, x_title, y_title, height)
    labels = [plot_text(v) for v in rows["label"].to_list()]
    estimate = rows["estimate"].to_list()
    lo = rows["lo"].to_list()
    hi = rows["hi"].to_list()
    counts = rows["n"].to_list() if "n" in rows.columns else [None] * rows.height
    flagged = rows["flagged"].to_list() if "flagged" in rows.columns else [False] * rows.height
    colours = [theme.ALERT if f else theme.HIGHLIGHT for f in flagged]
    hover = [
        f"{lab}: {fmt_number(e, language, decimals)} "
        f"[{fmt_number(a, language, decimals) if a is not None else '–'}; "
        f"{fmt_number(b, language, decimals) if b is not None else '–'}]"
        + (f" · n = {fmt_int(k, language)}" if k is not None else "")
        for lab, e, a, b, k in zip(labels, estimate, lo, hi, counts, strict=True)
    ]
    figure.add_trace(
        dict(
            type="scatter",
            x=estimate,
            y=labels,
            mode="markers",
            marker={"color": colours, "size": 9},
            error_x=interval_bars(estimate, lo, hi, color=theme.MUTED, thickness=1.5),
            hovertext=hover,
            hoverinfo="text",
            showlegend=False,
        )
    )
    figure.add_vline(x=reference, line={"color": theme.INK, "dash": "dot", "width": 1})
    figure.update_layout(yaxis=every_category())
    return figure


def heatmap(
    frame: pl.DataFrame,
    rows: Sequence[str],
    columns: Sequence[str],
    column_labels: dict[str, str],
    language: str,
    x_title: str,
    y_title: str,
) -> FigureSpec:
    """Shares as colour (department × rating). Columns: row, column, share (null = hidden) and optionally
    count: a published count whose share is hidden (its row's total is hidden) is written as a number of
    people, without colour. Hidden cells stay blank with a "·"."""
    lookup = {(r["row"], r["column"]): r["share"] for r in frame.iter_rows(named=True)}
    with_counts = "count" in frame.columns
    counts = {(r["row"], r["column"]): r["count"] for r in frame.iter_rows(named=True)} if with_counts else {}
    z = [[lookup.get((r, c)) for c in columns] for r in rows]

    def label(row: str, column: str, share: float | None) -> str:
        if share is not None:
            return fmt_pct(share, language)
        count = counts.get((row, column))
        if count is None:
            return HIDDEN_MARK
        return text("people_count_cell", language).format(n=fmt_int(int(count), language))

    labels = [
        [label(r, c, v) for c, v in zip(columns, line, strict=True)] for r, line in zip(rows, z, strict=True)
    ]
    height = max(320, 120 + 26 * len(rows))
    figure = _figure(language, x_title, y_title, height)
    figure.add_trace(
        dict(
            type="heatmap",
            z=z,
            x=[plot_text(column_labels.get(c, c)) for c in columns],
            y=[plot_text(r) for r in rows],
            text=labels,
            texttemplate="%{text}",
            hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
            colorscale=theme.SEQUENTIAL,
            zmin=0,
            zmax=1,
            xgap=2,
            ygap=2,
            colorbar={"tickformat": ".0%", "title": {"text": plot_text(text("share", language))}},
        )
    )
    figure.update_layout(
        yaxis={"autorange": "reversed", "type": "category"},
        xaxis={"type": "category", "side": "top"},
        plot_bgcolor=theme.HIDDEN,
    )
    return figure


def funnel(
    units: pl.DataFrame,
    limits: pl.DataFrame,
    target: float,
    language: str,
    x_title: str,
    y_title: str,
    percent: bool = True,
) -> FigureSpec:
    """A funnel plot: each unit's value against its size, with the control limits that widen for small
    units. units: label, n, value, flagged; limits: n, lo95, hi95, lo998, hi998 (sorted by n)."""
    figure = _figure(language, x_title, y_title, 420)
    limits = limits.sort("n")
    fmt = (lambda v: fmt_pct(v, language, 1)) if percent else (lambda v: fmt_number(v, language, 2))
    for lo, hi, dash, name in (
        ("lo95", "hi95", "dash", text("limit_95", language)),
        ("lo998", "hi998", "dot", text("limit_998", language)),
    ):
        for column, show in ((lo, True), (hi, False)):
            if column in limits.columns:
                figure.add_trace(
                    dict(
                        type="scatter",
                        x=limits["n"].to_list(),
                        y=limits[column].to_list(),
                        mode="lines",
                        line={"color": theme.MUTED, "dash": dash, "width": 1},
                        name=plot_text(name),
                        legendgroup=name,
                        showlegend=show,
                        hoverinfo="skip",
                    )
                )
    figure.add_hline(y=target, line={"color": theme.INK, "width": 1})
    shown = units.filter(pl.col("value").is_not_null())
    flagged = shown["flagged"].to_list() if "flagged" in shown.columns else [False] * shown.height
    figure.add_trace(
        dict(
            type="scatter",
            x=shown["n"].to_list(),
            y=shown["value"].to_list(),
            mode="markers",
            name=plot_text(text("units", language)),
            marker={"size": 9, "color": [theme.ALERT if f else theme.HIGHLIGHT for f in flagged]},
            hovertext=[
                f"{plot_text(lab)}: {fmt(v)} · n = {fmt_int(int(k), language)}"
                for lab, v, k in zip(shown["label"], shown["value"], shown["n"], strict=True)
            ],
            hoverinfo="text",
        )
    )
    figure.update_layout(xaxis={"rangemode": "tozero"}, yaxis={"tickformat": ".0%" if percent else ".2f"})
    return figure


def horizontal_bars(
    frame: pl.DataFrame,
    language: str,
    x_title: str,
    y_title: str,
    percent: bool = False,
    money: bool = False,
    reference: float | None = None,
) -> FigureSpec:
    """One bar per label. Columns: label, value (null = hidden), optional n and flagged."""
    # Room for every label: with less, plotly silently leaves every other category's label out.
    height = max(260, 170 + (CATEGORY_PX + 4) * frame.height)
    figure = _figure(language, x_title, y_title, height)
    labels = [plot_text(v) for v in frame["label"].to_list()]
    values = frame["value"].to_list()
    flagged = frame["flagged"].to_list() if "flagged" in frame.columns else [False] * frame.height

    def show(v: float | None) -> str:
        if v is None:
            return HIDDEN_MARK
        if percent:
            return fmt_pct(v, language, 1)
        if money:
            return fmt_money(v, language)
        return fmt_number(v, language, 2) if abs(v) < 100 and v != int(v) else fmt_int(round(v), language)

    figure.add_trace(
        dict(
            type="bar",
            y=labels,
            x=[0 if v is None else v for v in values],
            orientation="h",
            text=[show(v) for v in values],
            textposition="outside",
            marker={"color": [theme.ALERT if f else theme.HIGHLIGHT for f in flagged]},
            hovertext=[f"{lab}: {show(v)}" for lab, v in zip(labels, values, strict=True)],
            hoverinfo="text",
            showlegend=False,
        )
    )
    if reference is not None:
        figure.add_vline(x=reference, line={"color": theme.INK, "dash": "dot", "width": 1})
    axis: dict[str, object] = {"rangemode": "tozero"}
    if percent:
        axis["tickformat"] = ".0%"
    figure.update_layout(xaxis=axis, yaxis={**every_category(), "autorange": "reversed"})
    return figure


def grouped_bars(
    frame: pl.DataFrame,
    series_order: Sequence[str],
    language: str,
    x_title: str,
    y_title: str,
    money: bool = False,
    percent: bool = False,
    stacked: bool = False,
    colours: Sequence[str] | None = None,
) -> FigureSpec:
    """Bars per label for a few series (spend and budget; structural and incidental). Columns: label,
    series, value (null = hidden)."""
    labels = list(dict.fromkeys(frame["label"].to_list()))
    figure = _figure(language, x_title, y_title, max(360, 120 + 14 * len(labels)))
    palette = list(colours or theme.SCENARIOS)
    for i, series in enumerate(series_order):
        part = {
            r["label"]: r["value"] for r in frame.filter(pl.col("series") == series).iter_rows(named=True)
        }
        values = [part.get(lab) for lab in labels]

        def show(v: float | None) -> str:
            if v is None:
                return HIDDEN_MARK
            return (
                fmt_money(v, language)
                if money
                else fmt_pct(v, language, 1)
                if percent
                else fmt_number(v, language)
            )

        figure.add_trace(
            dict(
                type="bar",
                name=plot_text(series),
                x=[plot_text(lab) for lab in labels],
                y=[0 if v is None else v for v in values],
                marker={"color": palette[i % len(palette)]},
                hovertext=[
                    f"{plot_text(series)} · {plot_text(lab)}: {show(v)}"
                    for lab, v in zip(labels, values, strict=True)
                ],
                hoverinfo="text",
                text=[HIDDEN_MARK if v is None else "" for v in values],
                textposition="outside",
            )
        )
    figure.update_layout(
        barmode="stack" if stacked else "group",
        xaxis={"type": "category", "tickangle": -30},
        yaxis={"tickformat": ".0%" if percent else ",.0f", "rangemode": "tozero"},
    )
    return figure


def lines(
    frame: pl.DataFrame,
    series_order: Sequence[str],
    language: str,
    x_title: str,
    y_title: str,
    percent: bool = True,
    colours: Sequence[str] | None = None,
) -> FigureSpec:
    """Lines over cycles (drift). Columns: x (cycle), series, value (null = hidden, drawn as a gap)."""
    figure = _figure(language, x_title, y_title)
    palette = list(colours or theme.SCENARIOS)
    xs = sorted(set(frame["x"].to_list()))
    for i, series in enumerate(series_order):
        part = {r["x"]: r["value"] for r in frame.filter(pl.col("series") == series).iter_rows(named=True)}
        values = [part.get(x) for x in xs]
        figure.add_trace(
            dict(
                type="scatter",
                x=[str(x) for x in xs],
                y=values,
                mode="lines+markers",
                name=plot_text(series),
                line={"color": palette[i % len(palette)], "width": 2},
                hovertext=[
                    f"{plot_text(series)} · {x}: "
                    + (
                        plot_text(text("hidden_short", language))
                        if v is None
                        else fmt_pct(v, language, 1)
                        if percent
                        else fmt_number(v, language, 2)
                    )
                    for x, v in zip(xs, values, strict=True)
                ],
                hoverinfo="text",
                connectgaps=False,
            )
        )
    figure.update_layout(
        xaxis={"type": "category"}, yaxis={"tickformat": ".0%" if percent else ".2f", "rangemode": "tozero"}
    )
    return figure


def fan(
    frame: pl.DataFrame, series_order: Sequence[str], language: str, x_title: str, y_title: str
) -> FigureSpec:
    """Forecast fan per scenario: a central line and shaded bands. Columns: x, series, mid, lo, hi, and
    optionally lo_outer, hi_outer; rows with actual=True are drawn as the observed line."""
    figure = _figure(language, x_title, y_title, 420)
    for i, series in enumerate(series_order):
        colour = theme.SCENARIOS[i % len(theme.SCENARIOS)]
        part = frame.filter(pl.col("series") == series).sort("x")
        xs = [str(x) for x in part["x"].to_list()]
        for lo, hi, alpha in (("lo_outer", "hi_outer", 0.12), ("lo", "hi", 0.25)):
            if lo in part.columns and hi in part.columns and part[lo].drop_nulls().len():
                figure.add_trace(
                    dict(
                        type="scatter",
                        x=xs + xs[::-1],
                        y=part[hi].to_list() + part[lo].to_list()[::-1],
                        fill="toself",
                        fillcolor=_rgba(colour, alpha),
                        line={"width": 0},
                        hoverinfo="skip",
                        showlegend=False,
                        legendgroup=series,
                    )
                )
        figure.add_trace(
            dict(
                type="scatter",
                x=xs,
                y=part["mid"].to_list(),
                mode="lines+markers",
                name=plot_text(series),
                legendgroup=series,
                line={"color": colour, "width": 2},
                hovertext=[
                    f"{plot_text(series)} · {x}: " + (HIDDEN_MARK if v is None else fmt_money(v, language))
                    for x, v in zip(xs, part["mid"].to_list(), strict=True)
                ],
                hoverinfo="text",
            )
        )
    figure.update_layout(xaxis={"type": "category"}, yaxis={"tickformat": ",.0f", "rangemode": "tozero"})
    return figure


def _rgba(hex_colour: str, alpha: float) -> str:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def effect_dots(
    frame: pl.DataFrame,
    series_order: Sequence[str],
    language: str,
    x_title: str,
    y_title: str,
    reference: float = 1.0,
    log_x: bool = False,
    decimals: int = 2,
) -> FigureSpec:
    """Effects with intervals for several series side by side (overall versus within function level).
    Columns: label, series, estimate, lo, hi (null = hidden or not estimable)."""
    labels = list(dict.fromkeys(frame["label"].to_list()))
    figure = _figure(language, x_title, y_title, max(300, 120 + 40 * len(labels)))
    symbols = ["circle", "diamond", "square", "triangle-up"]
    for i, series in enumerate(series_order):
        part = frame.filter((pl.col("series") == series) & pl.col("estimate").is_not_null())
        if part.height == 0:
            continue
        est = part["estimate"].to_list()
        lo = part["lo"].to_list()
        hi = part["hi"].to_list()
        figure.add_trace(
            dict(
                type="scatter",
                x=est,
                y=[plot_text(v) for v in part["label"].to_list()],
                mode="markers",
                name=plot_text(series),
                # Horizontal: plotly's grouped scatter (layout scattermode "group") then offsets the series
                # within a row along the category (y) axis; without it the offset goes along x, the value
                # axis, and every marker and interval is drawn off its value.
                orientation="h",
                offsetgroup=series,
                marker={"size": 10, "symbol": symbols[i % len(symbols)], "color": theme.SCENARIOS[i % 6]},
                error_x=interval_bars(est, lo, hi, thickness=1.5),
                hovertext=[
                    f"{plot_text(series)} · {plot_text(lab)}: {fmt_number(e, language, decimals)}"
                    + (
                        f" [{fmt_number(a, language, decimals)}; {fmt_number(h, language, decimals)}]"
                        if a is not None and h is not None
                        else ""
                    )
                    for lab, e, a, h in zip(part["label"].to_list(), est, lo, hi, strict=True)
                ],
                hoverinfo="text",
            )
        )
    figure.add_vline(x=reference, line={"color": theme.INK, "dash": "dot", "width": 1})
    figure.update_layout(
        scattermode="group",
        yaxis={
            "type": "category",
            "autorange": "reversed",
            "categoryorder": "array",
            "categoryarray": [plot_text(v) for v in labels],
        },
        xaxis=_effect_axis(frame, reference, language, log_x),
    )
    return figure


ODDS_TICKS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20)


def _effect_axis(frame: pl.DataFrame, reference: float, language: str, log_x: bool) -> dict[str, object]:
    """An explicit value axis over every estimate and interval end (and the reference): plotly's autorange of
    grouped scatter traces is not to be trusted, and an interval end off the axis would hide where it ends."""
    values = [
        float(v)
        for col in ("estimate", "lo", "hi")
        if col in frame.columns
        for v in frame[col].to_list()
        if v is not None and (v > 0 or not log_x)
    ] + [reference]
    low, high = min(values), max(values)
    if not log_x:
        pad = (high - low) * 0.06 or 1.0
        return {"range": [low - pad, high + pad]}
    lo_log, hi_log = math.log10(low), math.log10(high)
    pad = max((hi_log - lo_log) * 0.06, 0.05)
    ticks = [t for t in ODDS_TICKS if low / 1.5 <= t <= high * 1.5] or [reference]
    return {
        "type": "log",
        "range": [lo_log - pad, hi_log + pad],
        "tickvals": ticks,
        "ticktext": [fmt_number(v, language, 2).rstrip("0").rstrip(",.") for v in ticks],
    }


def forest_plot(
    frame: pl.DataFrame,
    language: str,
    x_title: str,
    y_title: str,
    pooled_label: str,
    reference: float = 1.0,
    decimals: int = 2,
) -> FigureSpec:
    """A forest plot of one stratification: each stratum's odds ratio with its interval (squares), the pooled
    (Mantel–Haenszel) odds ratio with its interval as a diamond in the last row, and the line of no difference.
    Columns: label (stratum; the pooled row has ``pooled`` true), estimate, lo, hi (null = hidden or not
    estimable: a "·" at the reference), n (people in the stratum, for the hover; may be null), pooled.
    One marker per row, so nothing is offset: every marker is drawn at its value."""
    labels = [plot_text(v) for v in dict.fromkeys(frame["label"].to_list())]
    figure = _figure(language, x_title, y_title, max(260, 110 + 30 * len(labels)))
    strata = frame.filter(~pl.col("pooled"))
    pooled = frame.filter(pl.col("pooled"))
    for part, name, symbol, colour, size in (
        (strata, None, "square", theme.SCENARIOS[0], 9),
        (pooled, pooled_label, "diamond", theme.INK, 14),
    ):
        shown = part.filter(pl.col("estimate").is_not_null())
        hidden = part.filter(pl.col("estimate").is_null())
        if hidden.height:
            figure.add_trace(
                dict(
                    type="scatter",
                    x=[reference] * hidden.height,
                    y=[plot_text(v) for v in hidden["label"].to_list()],
                    mode="text",
                    text=[HIDDEN_MARK] * hidden.height,
                    textposition="middle right",  # beside the line of no difference, not on it
                    textfont={"color": theme.MUTED, "size": 22},
                    hovertext=[
                        f"{plot_text(v)}: {plot_text(text('hidden_short', language))}"
                        for v in hidden["label"].to_list()
                    ],
                    hoverinfo="text",
                    showlegend=False,
                )
            )
        if shown.height == 0:
            continue
        est, lo, hi = shown["estimate"].to_list(), shown["lo"].to_list(), shown["hi"].to_list()
        ns = shown["n"].to_list() if "n" in shown.columns else [None] * shown.height
        figure.add_trace(
            dict(
                type="scatter",
                x=est,
                y=[plot_text(v) for v in shown["label"].to_list()],
                mode="markers",
                name=plot_text(name) if name else None,
                showlegend=False,
                marker={"size": size, "symbol": symbol, "color": colour},
                error_x=interval_bars(est, lo, hi, color=colour, thickness=1.5, width=4),
                hovertext=[
                    f"{plot_text(lab)}: {fmt_number(e, language, decimals)}"
                    + (
                        f" [{fmt_number(a, language, decimals)}; {fmt_number(h, language, decimals)}]"
                        if a is not None and h is not None
                        else ""
                    )
                    + (f" · n = {fmt_int(k, language)}" if k is not None else "")
                    for lab, e, a, h, k in zip(shown["label"].to_list(), est, lo, hi, ns, strict=True)
                ],
                hoverinfo="text",
            )
        )
    figure.add_vline(x=reference, line={"color": theme.INK, "dash": "dot", "width": 1})
    figure.update_layout(
        showlegend=False,
        yaxis={
            "type": "category",
            "autorange": "reversed",
            "categoryorder": "array",
            "categoryarray": labels,
        },
        xaxis=_effect_axis(frame, reference, language, log_x=True),
    )
    return figure


def stacked_parts(
    frame: pl.DataFrame,
    groups: Sequence[str],
    categories: Sequence[str],
    category_labels: dict[str, str],
    colours: Sequence[str],
    language: str,
    x_title: str,
    y_title: str,
) -> FigureSpec:
    """Horizontal 100% bars of the parts of each group (proposals moved down, up, unchanged per department).
    Columns: group, category, share (null = hidden), n (may be null). The hidden parts of a group are drawn
    together as one grey segment at the end of its bar, marked "·": their sum is the rest of the group (what
    the shown parts and the group's total give anyway). A group whose parts are all hidden is one grey bar."""
    height = max(260, 110 + 34 * len(groups))
    figure = _figure(language, x_title, y_title, height)
    y = [plot_text(g) for g in groups]
    lookup = {(r["group"], r["category"]): r for r in frame.iter_rows(named=True)}
    shown_sum = [0.0] * len(groups)
    any_hidden = [False] * len(groups)
    for colour, category in zip(colours, categories, strict=True):
        label = plot_text(category_labels.get(category, category))
        shares: list[float | None] = []
        counts: list[int | None] = []
        for i, group in enumerate(groups):
            row = lookup.get((group, category), {})
            share = row.get("share")
            shares.append(share)
            counts.append(row.get("n"))
            if share is None:
                any_hidden[i] = True
            else:
                shown_sum[i] += share
        figure.add_trace(
            dict(
                type="bar",
                name=label,
                y=y,
                x=[0 if s is None else s for s in shares],
                orientation="h",
                marker={"color": colour},
                text=[fmt_pct(s, language) if s is not None and s >= 0.04 else "" for s in shares],
                textposition="inside",
                insidetextanchor="middle",
                hovertext=[
                    f"{gy} · {label}: "
                    + (
                        plot_text(text("hidden_short", language))
                        if s is None
                        else fmt_pct(s, language, 1)
                        + (f" (n = {fmt_int(k, language)})" if k is not None else "")
                    )
                    for gy, s, k in zip(y, shares, counts, strict=True)
                ],
                hoverinfo="text",
            )
        )
    rest = [max(0.0, 1.0 - s) if h else 0.0 for s, h in zip(shown_sum, any_hidden, strict=True)]
    if any(any_hidden):
        figure.add_trace(
            dict(
                type="bar",
                name=plot_text(text("hidden_short", language)),
                y=y,
                x=rest,
                orientation="h",
                marker={"color": theme.HIDDEN, "line": {"color": theme.MUTED, "width": 1}},
                text=[HIDDEN_MARK if h else "" for h in any_hidden],
                textposition="inside",
                insidetextanchor="middle",
                hovertext=[
                    f"{gy}: {plot_text(text('hidden_title', language))}" if h else ""
                    for gy, h in zip(y, any_hidden, strict=True)
                ],
                hoverinfo="text",
            )
        )
    figure.update_layout(
        barmode="stack",
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        yaxis={"autorange": "reversed", "type": "category"},
        legend={"traceorder": "normal"},
    )
    return figure


def group_rates(
    frame: pl.DataFrame,
    series_order: Sequence[str],
    series_colours: dict[str, str],
    language: str,
    x_title: str,
    y_title: str,
    references: dict[str, float] | None = None,
) -> FigureSpec:
    """Rates with their interval per group, the groups under their attribute (a two-level axis), for a few
    series (moved down, moved up). Columns: section (attribute), label (group), series, rate, lo, hi (null rate
    = hidden: a "·" at 0), n, flagged (outlined in red). `references` draws a dotted line per series (the
    organisation's rate)."""

    def two_level(part: pl.DataFrame) -> list[list[str]]:
        """The multicategory y of rows: attribute, then group."""
        return [[plot_text(s) for s in part["section"]], [plot_text(g) for g in part["label"]]]

    keys = list(frame.select("section", "label").unique(maintain_order=True).iter_rows())
    figure = _figure(language, x_title, y_title, max(320, 160 + 26 * len(keys)))
    # An invisible first trace fixes the order of the groups (plotly orders categories as they appear).
    figure.add_trace(
        dict(
            type="scatter",
            x=[0] * len(keys),
            y=two_level(pl.DataFrame(keys, schema=["section", "label"], orient="row")),
            mode="markers",
            marker={"opacity": 0},
            hoverinfo="skip",
            showlegend=False,
            orientation="h",  # in the first series' slot: no empty slot of its own in each row
            offsetgroup=series_order[0] if series_order else None,
        )
    )
    for i, series in enumerate(series_order):
        colour = series_colours.get(series, theme.SCENARIOS[i % len(theme.SCENARIOS)])
        part = frame.filter(pl.col("series") == series)
        hidden = part.filter(pl.col("rate").is_null())
        if hidden.height:
            # The "·" sits in the slot where the hidden dot would be.
            figure.add_trace(
                dict(
                    type="scatter",
                    x=[0] * hidden.height,
                    y=two_level(hidden),
                    mode="text",
                    text=[HIDDEN_MARK] * hidden.height,
                    textposition="middle right",
                    textfont={"color": theme.MUTED, "size": 16},
                    orientation="h",
                    offsetgroup=series,
                    hovertext=[
                        f"{plot_text(s)} · {plot_text(g)}: {plot_text(series)} — "
                        + plot_text(text("hidden_short", language))
                        for s, g in zip(hidden["section"], hidden["label"], strict=True)
                    ],
                    hoverinfo="text",
                    showlegend=False,
                )
            )
        shown = part.filter(pl.col("rate").is_not_null())
        rate, lo, hi = shown["rate"].to_list(), shown["lo"].to_list(), shown["hi"].to_list()
        flagged = [bool(f) for f in shown["flagged"].to_list()]

        def show(v: float | None) -> str:
            return NOT_APPLICABLE if v is None else fmt_pct(v, language, 1)

        hover = [
            f"{plot_text(series)} · {plot_text(s)} · {plot_text(g)}: {show(v)} [{show(a)}; {show(b)}]"
            + (f" · n = {fmt_int(k, language)}" if k is not None else "")
            for s, g, v, a, b, k in zip(
                shown["section"], shown["label"], rate, lo, hi, shown["n"].to_list(), strict=True
            )
        ]
        figure.add_trace(
            dict(
                type="scatter",
                x=rate,
                y=two_level(shown),
                mode="markers",
                name=plot_text(series),
                # Side by side within a group's row (layout scattermode "group"), not on top of each other.
                orientation="h",
                offsetgroup=series,
                marker={
                    "color": colour,
                    "size": [15 if f else 9 for f in flagged],
                    "line": {"color": theme.ALERT, "width": [3.5 if f else 0 for f in flagged]},
                },
                error_x=interval_bars(rate, lo, hi, color=colour, thickness=1.5, width=3),
                hovertext=hover,
                hoverinfo="text",
            )
        )
        if references and references.get(series) is not None:
            figure.add_vline(x=references[series], line={"color": colour, "dash": "dot", "width": 1.5})
    # An explicit range: with grouped scatter traces plotly's autorange mirrors the axis around zero.
    highest = max(
        [v for v in [*frame["hi"].to_list(), *frame["rate"].to_list()] if v is not None], default=0.0
    )
    figure.update_layout(
        xaxis={"tickformat": ".0%", "range": [0, max(highest, 0.01) * 1.08]},
        yaxis={"type": "multicategory", "autorange": "reversed"},
        scattermode="group",
        scattergap=0.5,
    )
    return figure
