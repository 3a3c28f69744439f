"""The intersections section of the fairness page (issue 23): pay-relevant outcomes per gender × part-time ×
function level, raw and shrunk toward the function level (hierarchical beta-binomial Bayes), with intervals.

Hooked into dashboards/pages/fairness.py by one call; reads only the protected table
``fairness_intersections`` (models/releases/intersections.py). Hidden groups arrive as null and are counted,
never estimated.
"""

from __future__ import annotations

import polars as pl

from dashboards import evaluator_figures
from dashboards.components import (
    Chart,
    Column,
    PageContext,
    all_hidden,
    esc,
    html_table,
    render_chart,
    source_title,
    table_block,
)
from dashboards.i18n import fmt_int, fmt_number, text
from dashboards.pages import SiteData

TABLE = "fairness_intersections"
SOURCE = "marts.fairness_intersections"


def _source(language: str) -> str:
    return f"{SOURCE} ({text('protected', language)})"


def _labelled(rows: pl.DataFrame, language: str) -> pl.DataFrame:
    genders = text("gender_labels", language)
    hours = text("part_time_labels", language)
    return rows.with_columns(
        pl.col("gender").replace_strict(genders, default=pl.col("gender")).alias("gender_label"),
        pl.col("part_time").replace_strict(hours, default=pl.col("part_time")).alias("part_time_label"),
    ).with_columns(
        pl.concat_str(
            [pl.col("function_level"), pl.col("gender_label"), pl.col("part_time_label")], separator=" · "
        ).alias("label")
    )


def _outcome(rows: pl.DataFrame, ctx: PageContext) -> str:
    language = ctx.language
    label = rows[f"label_{language}" if f"label_{language}" in rows.columns else "label_nl"][0]
    title = text("ixn_chart_title", language).format(outcome=label)
    rows = _labelled(rows.sort("function_level", "gender", "part_time"), language)
    shown = rows.filter(pl.col("rate").is_not_null())
    hidden = rows.height - shown.height
    if shown.height == 0:
        return all_hidden(title, language)
    notes = []
    if hidden:
        notes.append(text("ixn_hidden_note", language).format(count=fmt_int(hidden, language)))
    status = rows["prior_status"].drop_nulls()
    strength = rows["prior_strength"].drop_nulls()
    if status.len() and status[0] == "pooled":
        notes.append(text("ixn_pooled", language))
    elif strength.len():
        notes.append(text("ixn_strength", language).format(m=fmt_number(float(strength[0]), language, 0)))
    tidy = rows.select(
        "label",
        pl.col("shrunk_rate").alias("shrunk"),
        pl.col("shrunk_lo").alias("lo"),
        pl.col("shrunk_hi").alias("hi"),
        pl.col("rate").alias("raw"),
        pl.col("level_rate").alias("level"),
        "n",
    )
    legend = {key: text(f"ixn_legend_{key}", language) for key in ("shrunk", "raw", "level", "hidden")}
    figure = evaluator_figures.intersection_rates(
        tidy,
        language,
        text("ixn_axis_rate", language).format(outcome=label),
        text("ixn_axis_group", language),
        legend,
    )
    chart = render_chart(
        Chart(
            figure,
            title,
            text("ixn_chart_explain", language),
            _source(language),
            int(shown["n"].drop_nulls().sum()),
            note=" ".join(notes),
        ),
        ctx,
    )
    headers = text("ixn_headers", language)
    columns = [
        Column("function_level", headers["function_level"], hidden_flag=None),
        Column("gender_label", headers["gender"], hidden_flag=None),
        Column("part_time_label", headers["part_time"], hidden_flag=None),
        Column("n", headers["n"], "int"),
        Column("count", headers["count"], "int"),
        Column("rate", headers["rate"], "pct", 0),
        Column("shrunk_rate", headers["shrunk_rate"], "pct", 0),
        Column("shrunk_lo", headers["shrunk_lo"], "pct", 0),
        Column("shrunk_hi", headers["shrunk_hi"], "pct", 0),
        Column("level_rate", headers["level_rate"], "pct", 0),
        Column("own_weight", headers["own_weight"], "pct", 0),
    ]
    table = table_block(
        text("ixn_table_title", language).format(outcome=label),
        text("ixn_table_explain", language),
        SOURCE,
        html_table(rows, columns, language),
        language,
    )
    return chart + table


def section(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    """The intersections of one organisation and cycle, one chart and table per pay-relevant outcome."""
    language = ctx.language
    title = text("ixn_title", language)
    head = f"<h2 id='intersections'>{esc(title)}</h2>"
    frame = data.get(TABLE, organization, cycle)
    if frame is None:
        return head + (
            f"<p class='notice' title='{esc(source_title(SOURCE, language))}'>"
            f"{esc(text('ixn_unavailable', language))}</p>"
        )
    if frame.height == 0:
        return head + f"<p class='notice'>{esc(text('ixn_none', language))}</p>"
    parts = [head, f"<p class='explain'>{esc(text('ixn_intro', language))}</p>"]
    for (_measure, _position), rows in sorted(
        frame.partition_by("measure", "outcome_position", as_dict=True).items(),
        key=lambda item: (item[0][0] != "rating", str(item[0][0]), -int(item[0][1])),  # type: ignore[call-overload]
    ):
        parts.append(_outcome(rows, ctx))
    return "\n".join(parts)
