"""Figure builder of the pay-gap section (issue 22): the projected gap per category as small multiples, each a
fan (p5–p95 band, p50 line) per scenario, with the Article 10 threshold drawn at ±5%.

Like dashboards/figures.py: a tidy, already-protected frame in, a FigureSpec out; hidden (null) values arrive
hidden and are drawn as gaps; strings from the data go through `plot_text`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from dashboards import theme
from dashboards.components import HIDDEN_MARK, FigureSpec, plot_text
from dashboards.i18n import fmt_pct


def _rgba(hex_colour: str, alpha: float) -> str:
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def gap_fans(
    frame: pl.DataFrame,
    categories: Sequence[str],
    series_order: Sequence[str],
    language: str,
    x_title: str,
    y_title: str,
    threshold: float,
    threshold_label: str,
    columns: int = 3,
) -> FigureSpec:
    """Columns of `frame`: category, series, x (cycle), mid, lo, hi. One panel per category (in `categories`
    order), one fan per series; the threshold as a dashed line at +threshold and -threshold in every panel."""
    count = max(len(categories), 1)
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    figure = FigureSpec(language, "", "", height=max(300, 230 * rows + 120))
    figure.update_layout(
        grid={"rows": rows, "columns": columns, "pattern": "independent", "ygap": 0.35, "xgap": 0.12},
        showlegend=True,
    )
    annotations = []
    values = [
        abs(v) for c in ("lo", "hi", "mid") if c in frame.columns for v in frame[c].drop_nulls().to_list()
    ]
    top = max([threshold * 1.6, *values]) * 1.1
    for index, category in enumerate(categories):
        axis = "" if index == 0 else str(index + 1)
        xref, yref = f"x{axis}", f"y{axis}"
        panel = frame.filter(pl.col("category") == category)
        for i, series in enumerate(series_order):
            colour = theme.SCENARIOS[i % len(theme.SCENARIOS)]
            part = panel.filter(pl.col("series") == series).sort("x")
            if part.height == 0:
                continue
            xs = [str(x) for x in part["x"].to_list()]
            if part["lo"].drop_nulls().len():
                figure.add_trace(
                    dict(
                        type="scatter",
                        x=xs + xs[::-1],
                        y=part["hi"].to_list() + part["lo"].to_list()[::-1],
                        xaxis=xref,
                        yaxis=yref,
                        mode="lines",
                        fill="toself",
                        fillcolor=_rgba(colour, 0.22),
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
                    xaxis=xref,
                    yaxis=yref,
                    mode="lines+markers",
                    name=plot_text(series),
                    legendgroup=series,
                    showlegend=index == 0,
                    line={"color": colour, "width": 2, "dash": "solid" if i == 0 else "dash"},
                    hovertext=[
                        f"{plot_text(category)} · {plot_text(series)} · {x}: "
                        + (HIDDEN_MARK if v is None else fmt_pct(v, language, 1))
                        for x, v in zip(xs, part["mid"].to_list(), strict=True)
                    ],
                    hoverinfo="text",
                )
            )
        for level in (threshold, -threshold):
            figure.layout["shapes"].append(
                {
                    "type": "line",
                    "xref": f"{xref} domain",
                    "yref": yref,
                    "x0": 0,
                    "x1": 1,
                    "y0": level,
                    "y1": level,
                    "line": {"color": theme.ALERT, "width": 1.5, "dash": "dot"},
                }
            )
        annotations.append(
            {
                "text": f"<b>{plot_text(category)}</b>",
                "xref": f"{xref} domain",
                "yref": f"{yref} domain",
                "x": 0,
                "y": 1.02,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
            }
        )
        axis_key = "xaxis" if index == 0 else f"xaxis{index + 1}"
        y_key = "yaxis" if index == 0 else f"yaxis{index + 1}"
        figure.layout[axis_key] = {
            **figure.layout.get(axis_key, {}),
            "type": "category",
            "gridcolor": theme.GRID,
            "automargin": True,
            "title": {"text": plot_text(x_title) if index // columns == rows - 1 else ""},
        }
        figure.layout[y_key] = {
            **figure.layout.get(y_key, {}),
            "tickformat": ".0%",
            "range": [-top, top],
            "gridcolor": theme.GRID,
            "zerolinecolor": theme.MUTED,
            "automargin": True,
            "title": {"text": plot_text(y_title) if index % columns == 0 else ""},
        }
    # the threshold's legend entry (its lines are shapes, which have none)
    figure.add_trace(
        dict(
            type="scatter",
            x=[None],
            y=[None],
            mode="lines",
            name=plot_text(threshold_label),
            line={"color": theme.ALERT, "width": 1.5, "dash": "dot"},
            hoverinfo="skip",
        )
    )
    plot_height = figure.layout["height"] - 90 - 130
    figure.update_layout(
        margin={"l": 70, "r": 30, "t": 90, "b": 130},
        legend={"orientation": "h", "yanchor": "top", "y": -75 / plot_height, "x": 0, "xanchor": "left"},
    )
    figure.update_layout(annotations=annotations)
    return figure
