"""The pay-gap section (issue 22) of the fairness and budget pages: the fan of the projected gap per category
with the Article 10 threshold, when the threshold is reached, the cost of closing unexplained gaps against the
payroll share, and the state of the Article 10 joint pay assessment.

Hooked into dashboards/pages/fairness.py and budget.py by one call each; reads only the protected tables
`pay_gap_projection`, `pay_gap_cost` and `pay_assessment` (models/releases/pay_gap.py).
"""

from __future__ import annotations

import polars as pl

from dashboards import pay_gap_figures
from dashboards.components import (
    Chart,
    Column,
    PageContext,
    all_hidden,
    esc,
    html_table,
    render_chart,
    table_block,
)
from dashboards.i18n import fmt_int, fmt_pct, text
from dashboards.pages import SiteData

PROJECTION = "pay_gap_projection"
COST = "pay_gap_cost"
ASSESSMENT = "pay_assessment"
RULES_SCENARIO = "rules"


def _series_label(row: dict[str, object], language: str) -> str:
    label = row.get(f"scenario_label_{language}") or row.get("scenario_label_nl") or row.get("scenario")
    return str(label)


def _fan(projection: pl.DataFrame, ctx: PageContext) -> str:
    language = ctx.language
    title = text("paygap_fan_title", language)
    part = projection.filter((pl.col("component") == "total") & (pl.col("measure") == "mean_gap"))
    if part.height == 0:
        return ""
    label_col = f"scenario_label_{language}" if f"scenario_label_{language}" in part.columns else "scenario"
    part = part.with_columns(pl.coalesce(label_col, "scenario").alias("series"))
    shown = part.filter(pl.col("gap_p50").is_not_null())
    categories_all = part["category"].unique().sort().to_list()
    categories = shown["category"].unique().sort().to_list()
    hidden = len(categories_all) - len(categories)
    if not categories:
        return all_hidden(title, language)
    order = (
        part.select("scenario", "series")
        .unique(maintain_order=True)
        .sort(pl.col("scenario") != RULES_SCENARIO, "scenario")["series"]
        .to_list()
    )
    threshold = float(part["threshold"].drop_nulls()[0]) if part["threshold"].drop_nulls().len() else 0.05
    tidy = shown.select(
        "category",
        "series",
        pl.col("forecast_cycle").alias("x"),
        pl.col("gap_p50").alias("mid"),
        pl.col("gap_p5").alias("lo"),
        pl.col("gap_p95").alias("hi"),
    )
    figure = pay_gap_figures.gap_fans(
        tidy,
        categories,
        order,
        language,
        text("paygap_axis_year", language),
        text("axis_gap", language),
        threshold,
        text("paygap_threshold", language).format(threshold=fmt_pct(threshold, language)),
    )
    base = shown.filter((pl.col("horizon") == 0) & (pl.col("scenario") == RULES_SCENARIO))
    n = int((base["n_women"].fill_null(0) + base["n_men"].fill_null(0)).sum())
    return render_chart(
        Chart(
            figure,
            title,
            text("paygap_fan_explain", language),
            "marts.pay_gap_projection (" + text("protected", language) + ")",
            n,
            note=text("paygap_hidden_note", language).format(count=fmt_int(hidden, language))
            if hidden
            else "",
        ),
        ctx,
    )


def _first_table(projection: pl.DataFrame, language: str) -> str:
    part = projection.filter(
        (pl.col("component") == "total") & (pl.col("measure") == "mean_gap") & pl.col("gap_p50").is_not_null()
    )
    if part.height == 0:
        return ""
    last = int(part["horizon"].max())  # type: ignore[arg-type]
    now = part.filter(pl.col("horizon") == 0).select("scenario", "category", pl.col("gap_p50").alias("now"))
    end = part.filter(pl.col("horizon") == last)
    rows = []
    never = text("paygap_never", language)
    for row in (
        end.join(now, on=["scenario", "category"], how="left")
        .sort("category", "scenario")
        .iter_rows(named=True)
    ):
        first = row["first_cycle_at_threshold"]
        rows.append(
            {
                "category": row["category"],
                "scenario": _series_label(row, language),
                "now": row["now"],
                "end": row["gap_p50"],
                "range": f"{fmt_pct(row['gap_p5'], language, 1)} – {fmt_pct(row['gap_p95'], language, 1)}",
                "first": str(first) if first is not None else never,
            }
        )
    table = pl.DataFrame(rows)
    headers = text("paygap_first_headers", language)
    columns = [
        Column("category", headers["category"], hidden_flag=None),
        Column("scenario", headers["scenario"], hidden_flag=None),
        Column("now", headers["now"], "pct", 1),
        Column("end", headers["end"], "pct", 1),
        Column("range", headers["range"], hidden_flag=None),
        Column("first", headers["first"], hidden_flag=None),
    ]
    return table_block(
        text("paygap_first_title", language),
        text("paygap_first_explain", language),
        "marts.pay_gap_projection (" + text("protected", language) + ")",
        html_table(table, columns, language),
        language,
    )


def _cost_table(cost: pl.DataFrame, language: str) -> str:
    """One row per category: outcome, unexplained gap with its interval, people at the maximum, and the yearly
    employer cost of each way of closing the gap with its share of this year's and the horizon's budget."""
    if cost.height == 0:
        return ""
    statuses = text("paygap_statuses", language)
    headers = text("paygap_cost_headers", language)
    methods = text("paygap_methods", language)
    frame = cost.filter(pl.col("category").is_not_null())
    small = frame.filter(pl.col("status") == "too_small")["category"].n_unique()
    frame = frame.filter(pl.col("status").is_null() | (pl.col("status") != "too_small"))
    rows = []
    for category in frame["category"].unique().sort().to_list():
        part = frame.filter(pl.col("category") == category)
        first = part.row(0, named=True)
        low, high = first.get("unexplained_gap_low"), first.get("unexplained_gap_high")
        unexplained = first.get("unexplained_gap")
        row: dict[str, object] = {
            "category": category,
            "status": statuses.get(first.get("status") or "", first.get("status")),
            "unexplained": None
            if unexplained is None or low is None or high is None
            else f"{fmt_pct(unexplained, language, 1)} ({fmt_pct(low, language, 1)} – {fmt_pct(high, language, 1)})",
            "at_max": first.get("n_excluded_at_maximum"),
            "hidden_at_max": bool(first.get("suppressed_n_excluded_at_maximum"))
            or bool(first.get("suppressed")),
            "suppressed": bool(first.get("suppressed")) and unexplained is None,
        }
        for method in ("uniform", "cheapest", "balanced"):
            chosen = part.filter(pl.col("method") == method)
            record = chosen.row(0, named=True) if chosen.height else {}
            row[method] = record.get("cost_employer")
            row[f"hidden_{method}"] = bool(record.get("suppressed")) if record else False
            if method == "cheapest":
                year, horizon = record.get("share_of_budget"), record.get("share_of_budget_over_projection")
                row["share"] = (
                    f"{fmt_pct(year, language, 1)} / {fmt_pct(horizon, language, 1)}"
                    if year is not None and horizon is not None
                    else None
                )
        rows.append(row)
    if not rows:
        return ""
    table = pl.DataFrame(rows, infer_schema_length=None)
    columns = [
        Column("category", headers["category"], hidden_flag=None),
        Column("status", headers["status"]),
        Column("unexplained", headers["unexplained"] + " (" + headers["interval"] + ")"),
        Column("at_max", headers["at_max"], "int", hidden_flag="hidden_at_max"),
        *[
            Column(m, methods[m], "money", hidden_flag=f"hidden_{m}")
            for m in ("uniform", "cheapest", "balanced")
        ],
        Column("share", headers["share"], hidden_flag="hidden_cheapest"),
    ]
    note = (
        f"<p class='notice'>{esc(text('paygap_small_note', language).format(count=fmt_int(small, language)))}</p>"
        if small
        else ""
    )
    return table_block(
        text("paygap_cost_title", language),
        text("paygap_cost_explain", language),
        "marts.pay_gap_cost_to_close (" + text("protected", language) + ")",
        html_table(table, columns, language),
        language,
        extra=note,
    )


def _assessment(assessment: pl.DataFrame | None, language: str) -> str:
    title = text("art10_status_title", language)
    if assessment is None or assessment.height == 0:
        return f"<h3>{esc(title)}</h3><p class='explain'>{esc(text('art10_no_file', language))}</p>"
    fields = text("art10_fields", language)
    statuses = text("art10_statuses", language)
    first = assessment.row(0, named=True)
    facts = []
    for key in (
        "status",
        "categories",
        "report_date",
        "justification_deadline",
        "assessment_deadline",
        "corrective_action",
        "corrective_action_deadline",
        "second_measurement_due",
        "second_measurement_date",
        "second_measurement_gap",
    ):
        value = first.get(key)
        if value is None or value == "":
            continue
        if key == "status":
            shown = statuses.get(value, value)
        elif key == "second_measurement_gap":
            shown = fmt_pct(float(value), language, 1)
        else:
            shown = str(value)
        facts.append({"field": fields[key], "value": shown})
    facts_table = html_table(
        pl.DataFrame(facts, schema={"field": pl.String, "value": pl.String}),
        [
            Column("field", fields["field"], hidden_flag=None),
            Column("value", fields["value"], hidden_flag=None),
        ],
        language,
    )
    items = text("art10_items", language)
    table = pl.DataFrame(
        [
            {
                "item": items.get(r["item"], r["item"]),
                "item_status": statuses.get(r["item_status"], r["item_status"]),
                "item_note": r.get("item_note"),
            }
            for r in assessment.sort("item").iter_rows(named=True)
        ],
        schema={"item": pl.String, "item_status": pl.String, "item_note": pl.String},
    )
    columns = [
        Column("item", fields["item"], hidden_flag=None),
        Column("item_status", fields["item_status"], hidden_flag=None),
        Column("item_note", fields["item_note"], hidden_flag=None),
    ]
    return table_block(
        title,
        text("art10_status_explain", language),
        "marts.pay_assessment",
        facts_table + html_table(table, columns, language),
        language,
    )


def section(data: SiteData, ctx: PageContext, organization: str, cycle: int, page: str = "fairness") -> str:
    """The section's HTML for one organisation and cycle; `page` is "fairness" or "budget" (the budget page
    leads with the cost, the fairness page with the projection and ends with the Art. 10 state)."""
    language = ctx.language
    projection = data.get(PROJECTION, organization, cycle)
    cost = data.get(COST, organization, cycle)
    if projection is None and cost is None and not data.has(ASSESSMENT):
        return ""
    parts = [f"<h2>{esc(text('paygap_title', language))}</h2>"]
    if projection is None or projection.height == 0:
        parts.append(f"<p class='explain'>{esc(text('paygap_no_projection', language))}</p>")
        fan, first = "", ""
    else:
        parts.append(f"<p class='lead'>{esc(text('paygap_intro', language))}</p>")
        fan, first = _fan(projection, ctx), _first_table(projection, language)
    costs = _cost_table(cost, language) if cost is not None else ""
    if page == "budget":
        parts += [costs, fan, first]
    else:
        parts += [fan, first, costs, _assessment(data.get(ASSESSMENT, organization, cycle), language)]
    return "\n".join(p for p in parts if p)
