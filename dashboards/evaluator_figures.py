"""Figure builders of the evaluator report (issue 23): a tidy, already-protected frame in, a FigureSpec out.

Like dashboards.figures: no file, no database, no decision about what may be shown (hidden values arrive as
null and are drawn as a "·" at the reference line), every data string escaped with ``plot_text``.
"""

from __future__ import annotations

import polars as pl

from dashboards import theme
from dashboards.components import HIDDEN_MARK, FigureSpec, plot_text
from dashboards.figures import interval_bars
from dashboards.i18n import fmt_int, fmt_pct, text


def cut_point_shares(
    frame: pl.DataFrame, reference: float | None, language: str, x_title: str, y_title: str
) -> FigureSpec:
    """Per evaluator the share at or above one cut point, adjusted (organisation's case mix) and shrunk,
    with its interval; the unshrunk observed share of the evaluator's own team as an open circle; the
    organisation's share as a dotted line. Every evaluator is labelled on the y axis, flagged ones in red,
    hidden ones as "·" on the reference line.

    Columns: label, share, lo, hi, observed, expected, n, flagged (bool).
    """
    rows = frame.with_columns(pl.col("share").fill_null(-1.0).alias("_order")).sort("_order", "label")
    height = max(300, 120 + 24 * rows.height)
    figure = FigureSpec(language, x_title, y_title, height)
    labels = [plot_text(v) for v in rows["label"].to_list()]
    share, lo, hi = rows["share"].to_list(), rows["lo"].to_list(), rows["hi"].to_list()
    observed, expected = rows["observed"].to_list(), rows["expected"].to_list()
    counts, flagged = rows["n"].to_list(), rows["flagged"].to_list()

    def pct(value: float | None) -> str:
        return HIDDEN_MARK if value is None else fmt_pct(value, language)

    hover = [
        f"{lab}: {pct(s)} [{pct(a)}; {pct(b)}] · "
        f"{text('evr_hover_observed', language)} {pct(o)}, {text('evr_hover_expected', language)} {pct(e)}"
        + (f" · n = {fmt_int(k, language)}" if k is not None else "")
        for lab, s, a, b, o, e, k in zip(labels, share, lo, hi, observed, expected, counts, strict=True)
    ]
    shown = [s is not None for s in share]
    figure.add_trace(
        dict(
            type="scatter",
            name=plot_text(text("evr_legend_adjusted", language)),
            x=[s if ok else None for s, ok in zip(share, shown, strict=True)],
            y=labels,
            mode="markers",
            marker={"color": [theme.ALERT if f else theme.HIGHLIGHT for f in flagged], "size": 10},
            error_x=interval_bars(share, lo, hi, color=theme.MUTED, thickness=1.5),
            hovertext=hover,
            hoverinfo="text",
        )
    )
    figure.add_trace(
        dict(
            type="scatter",
            name=plot_text(text("evr_legend_observed", language)),
            x=observed,
            y=labels,
            mode="markers",
            marker={"color": "rgba(0,0,0,0)", "size": 9, "line": {"color": theme.INK, "width": 1.2}},
            hovertext=hover,
            hoverinfo="text",
        )
    )
    hidden = [lab for lab, ok in zip(labels, shown, strict=True) if not ok]
    if hidden:
        figure.add_trace(
            dict(
                type="scatter",
                name=plot_text(text("evr_legend_hidden", language)),
                x=[reference if reference is not None else 0.0] * len(hidden),
                y=hidden,
                mode="text",
                text=[HIDDEN_MARK] * len(hidden),
                textfont={"size": 18, "color": theme.MUTED},
                hoverinfo="skip",
            )
        )
    if reference is not None:
        figure.add_vline(x=reference, line={"color": theme.INK, "dash": "dot", "width": 1})
    # The axis starts a little left of 0 %: an evaluator whose own team got none of the outcome has the open
    # circle at 0, and on an axis starting at 0 half of it is clipped and reads as a ")" after the label.
    drawn = [v for v in (*share, *lo, *hi, *observed, reference) if v is not None]
    right = max([*drawn, 0.01])
    figure.update_layout(
        xaxis={"tickformat": ".0%", "range": [-0.03 * right, 1.04 * right]},
        yaxis={"type": "category", "automargin": True, "categoryorder": "array", "categoryarray": labels},
        legend={"orientation": "h", "y": -0.12},
        showlegend=True,
    )
    return figure


def intersection_rates(
    frame: pl.DataFrame, language: str, x_title: str, y_title: str, legend: dict[str, str]
) -> FigureSpec:
    """Per intersection (gender × part-time × function level) the shrunken rate with its interval (filled),
    the raw rate (open circle) and the function level's rate (a short grey bar): the distance between the open
    circle and the filled dot is how much the small group was pulled toward its level. Hidden groups appear
    as "·" at their level's rate (or 0).

    Columns: label, shrunk, lo, hi, raw, level, n.
    """
    rows = frame
    labels = [plot_text(v) for v in rows["label"].to_list()]
    height = max(300, 120 + 22 * rows.height)
    figure = FigureSpec(language, x_title, y_title, height)
    shrunk, lo, hi = rows["shrunk"].to_list(), rows["lo"].to_list(), rows["hi"].to_list()
    raw, level, counts = rows["raw"].to_list(), rows["level"].to_list(), rows["n"].to_list()

    def pct(value: float | None) -> str:
        return HIDDEN_MARK if value is None else fmt_pct(value, language)

    hover = [
        f"{lab}: {pct(s)} [{pct(a)}; {pct(b)}] · {legend['raw']} {pct(r)} · {legend['level']} {pct(v)}"
        + (f" · n = {fmt_int(k, language)}" if k is not None else "")
        for lab, s, a, b, r, v, k in zip(labels, shrunk, lo, hi, raw, level, counts, strict=True)
    ]
    figure.add_trace(
        dict(
            type="scatter",
            name=plot_text(legend["level"]),
            x=level,
            y=labels,
            mode="markers",
            marker={"symbol": "line-ns-open", "size": 16, "color": theme.MUTED, "line": {"width": 2}},
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        dict(
            type="scatter",
            name=plot_text(legend["shrunk"]),
            x=shrunk,
            y=labels,
            mode="markers",
            marker={"color": theme.HIGHLIGHT, "size": 10},
            error_x=interval_bars(shrunk, lo, hi, color=theme.MUTED, thickness=1.5),
            hovertext=hover,
            hoverinfo="text",
        )
    )
    figure.add_trace(
        dict(
            type="scatter",
            name=plot_text(legend["raw"]),
            x=raw,
            y=labels,
            mode="markers",
            marker={"color": "rgba(0,0,0,0)", "size": 9, "line": {"color": theme.INK, "width": 1.2}},
            hovertext=hover,
            hoverinfo="text",
        )
    )
    hidden = [
        (lab, v) for lab, s, r, v in zip(labels, shrunk, raw, level, strict=True) if s is None and r is None
    ]
    if hidden:
        figure.add_trace(
            dict(
                type="scatter",
                name=plot_text(legend["hidden"]),
                x=[v if v is not None else 0.0 for _, v in hidden],
                y=[lab for lab, _ in hidden],
                mode="text",
                text=[HIDDEN_MARK] * len(hidden),
                textfont={"size": 18, "color": theme.MUTED},
                hoverinfo="skip",
            )
        )
    figure.update_layout(
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        yaxis={
            "type": "category",
            "automargin": True,
            "categoryorder": "array",
            "categoryarray": labels[::-1],
        },
        legend={"orientation": "h", "y": -0.12},
        showlegend=True,
    )
    return figure
