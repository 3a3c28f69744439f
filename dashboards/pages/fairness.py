"""Page 3 — fairness and pay transparency: comparisons between groups overall and within function level side
by side (an overall gap can vanish or reverse inside strata), the Article 9 table and the Article 10 flags of
Directive (EU) 2023/970."""

from __future__ import annotations

import polars as pl

from dashboards import figures
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
from dashboards.i18n import fmt_int, fmt_money, fmt_pct, text
from dashboards.pages import SiteData
from dashboards.pages.pay_gap_section import section as pay_gap_section

FAIRNESS = "fairness"
PAY = "pay_transparency"
ATTRIBUTE_ORDER = ("gender", "function_level", "age_band", "employment_type", "part_time")


def attribute_label(attribute: str, language: str) -> str:
    labels = text("attribute_labels", language)
    return labels.get(attribute, attribute)


def group_label(attribute: str, group: str | None, language: str) -> str:
    if group is None:
        return text("everyone", language)
    if attribute == "gender":
        return text("gender_labels", language).get(group, group)
    if attribute == "part_time":
        return text("part_time_labels", language).get(group, group)
    return group


def _outcome_labels(frame: pl.DataFrame, language: str) -> dict[str, str]:
    col = f"outcome_label_{language}" if f"outcome_label_{language}" in frame.columns else None
    if col is None:
        return {}
    rows = frame.select("outcome", col).drop_nulls().unique("outcome")
    return dict(zip(rows["outcome"].to_list(), rows[col].to_list(), strict=True))


def key_outcomes(overall: pl.DataFrame, data: SiteData, organization: str) -> list[str]:
    """The outcomes the page shows: rewards, salary steps, the lowest rating and reaching the top rating
    (the intermediate cut-points of the scale stay in the mart)."""
    present = overall["outcome"].unique().to_list()
    scale = data.get("rating_scale", organization)
    top = None
    if scale is not None and scale.height:
        rows = scale.filter(pl.col("measure") == "rating").sort("position")
        top = rows["rating"][-1] if rows.height else None
    keep = [o for o in present if not o.startswith("rating_at_least_")]
    if top is not None and f"rating_at_least_{top}" in present:
        keep.append(f"rating_at_least_{top}")
    return sorted(keep)


def _level_rates(overall: pl.DataFrame, ctx: PageContext, labels: dict[str, str]) -> str:
    """Z-16: rewards must not concentrate in the higher functions — the rate of each outcome per level."""
    language = ctx.language
    title = text("chart_fair_levels_title", language)
    part = overall.filter(
        (pl.col("attribute") == "function_level")
        & pl.col("group_value").is_not_null()
        & (pl.col("outcome_kind") == "binary")
    )
    if part.height == 0:
        return ""
    if part["rate"].drop_nulls().len() == 0:
        return all_hidden(title, language)
    outcomes = part["outcome"].unique().sort().to_list()
    tidy = part.sort("group_value").select(
        pl.col("group_value").alias("label"),
        pl.col("outcome").replace_strict(labels, default=pl.col("outcome")).alias("series"),
        pl.col("rate").alias("value"),
    )
    figure = figures.grouped_bars(
        tidy,
        [labels.get(o, o) for o in outcomes],
        language,
        text("axis_function_level", language),
        text("axis_rate", language),
        percent=True,
    )
    everyone = overall.filter((pl.col("attribute") == "function_level") & pl.col("group_value").is_null())[
        "group_n"
    ].drop_nulls()
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_fair_levels_explain", language),
            "marts.fairness (" + text("protected", language) + ")",
            int(everyone.max()) if everyone.len() else None,  # type: ignore[arg-type]
        ),
        ctx,
    )


def _comparison_chart(overall: pl.DataFrame, attribute: str, ctx: PageContext, labels: dict[str, str]) -> str:
    language = ctx.language
    title = text("chart_fair_compare_title", language).format(
        attribute=attribute_label(attribute, language).lower()
    )
    part = overall.filter(
        (pl.col("attribute") == attribute)
        & pl.col("group_value").is_not_null()
        & ~pl.col("is_reference").fill_null(False)
        & (pl.col("outcome_kind") == "binary")
    )
    if part.height == 0:
        return unavailable(title, "marts.fairness", language)
    rows = []
    series = {
        "odds_ratio": (text("scope_overall", language), None, None),
        "within_level_odds_ratio": (
            text("scope_within_level", language),
            "within_level_ci_low",
            "within_level_ci_high",
        ),
        "within_department_odds_ratio": (
            text("scope_within_department", language),
            "within_department_ci_low",
            "within_department_ci_high",
        ),
    }
    for r in part.iter_rows(named=True):
        label = (
            f"{labels.get(r['outcome'], r['outcome'])} — {group_label(attribute, r['group_value'], language)} "
            f"{text('versus', language)} {group_label(attribute, r.get('reference_group'), language)}"
        )
        for column, (name, lo, hi) in series.items():
            if column in r and r[column] is not None and r[column] > 0:
                rows.append(
                    {
                        "label": label,
                        "series": name,
                        "estimate": r[column],
                        "lo": r.get(lo) if lo else None,
                        "hi": r.get(hi) if hi else None,
                    }
                )
    if not rows:
        return all_hidden(title, language)
    tidy = pl.DataFrame(
        rows,
        schema={
            "label": pl.String,
            "series": pl.String,
            "estimate": pl.Float64,
            "lo": pl.Float64,
            "hi": pl.Float64,
        },
    )
    tidy = tidy.with_columns(
        pl.when(pl.col("lo") > 0).then(pl.col("lo")).alias("lo"),
        pl.when(pl.col("hi") > 0).then(pl.col("hi")).alias("hi"),
    )
    figure = figures.effect_dots(
        tidy, [v[0] for v in series.values()], language, text("axis_odds_ratio", language), text("axis_outcome_group", language),
        reference=1.0, log_x=True,
    )  # fmt: skip
    everyone = overall.filter((pl.col("attribute") == attribute) & pl.col("group_value").is_null())[
        "group_n"
    ].drop_nulls()
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_fair_compare_explain", language),
            "marts.fairness (" + text("protected", language) + ")",
            int(everyone.max()) if everyone.len() else None,  # type: ignore[arg-type]
        ),
        ctx,
    )


def _rates_table(overall: pl.DataFrame, attribute: str, language: str, labels: dict[str, str]) -> str:
    part = overall.filter((pl.col("attribute") == attribute) & (pl.col("outcome_kind") == "binary")).sort(
        ["outcome", "group_value"], nulls_last=True
    )
    if part.height == 0:
        return ""
    shown = part.with_columns(
        pl.col("outcome").replace_strict(labels, default=pl.col("outcome")).alias("outcome_label"),
        pl.col("group_value")
        .map_elements(lambda g: group_label(attribute, g, language), return_dtype=pl.String, skip_nulls=False)
        .alias("group_label"),
        pl.when(pl.col("within_level_reverses").fill_null(False))
        .then(pl.lit(text("yes", language)))
        .alias("reverses")
        if "within_level_reverses" in part.columns
        else pl.lit(None, dtype=pl.String).alias("reverses"),
        pl.when(pl.col("flag").fill_null(False)).then(pl.lit(text("flagged", language))).alias("flag_text")
        if "flag" in part.columns
        else pl.lit(None, dtype=pl.String).alias("flag_text"),
    )
    headers = text("fair_headers", language)
    columns = [
        Column("outcome_label", headers["outcome"], hidden_flag=None),
        Column("group_label", headers["group"], hidden_flag=None),
        Column("group_n", headers["n"], "int"),
        Column("rate", headers["rate"], "pct"),
        Column("odds_ratio", headers["odds_ratio"], "num", 2),
        Column("within_level_odds_ratio", headers["within_level"], "num", 2),
        Column("within_level_q_value", headers["q"], "num", 3),
        Column("reverses", headers["reverses"], "flag", hidden_flag=None),
        Column("flag_text", headers["flag"], "flag", hidden_flag=None),
    ]
    return table_block(
        text("fair_table_title", language).format(attribute=attribute_label(attribute, language).lower()),
        text("fair_table_explain", language),
        "marts.fairness",
        html_table(shown, columns, language),
        language,
    )


def _strata_chart(frame: pl.DataFrame, ctx: PageContext, labels: dict[str, str]) -> str:
    language = ctx.language
    within = frame.filter((pl.col("scope") == "function_level") & (pl.col("attribute") == "gender"))
    title = text("chart_fair_strata_title", language)
    if within.height == 0:
        return ""
    preferred = [
        o
        for o in ("incidental_reward", "structural_above_standard", "salary_step")
        if o in within["outcome"].to_list()
    ]
    tops = sorted(o for o in within["outcome"].unique().to_list() if o.startswith("rating_at_least_"))
    outcome = (preferred or tops or within["outcome"].unique().to_list())[0]
    part = within.filter(pl.col("outcome") == outcome).sort("stratum")
    if part["rate"].drop_nulls().len() == 0:
        return all_hidden(title.format(outcome=labels.get(outcome, outcome).lower()), language)
    tidy = part.select(
        pl.col("stratum").alias("label"),
        pl.col("group_value")
        .map_elements(lambda g: group_label("gender", g, language), return_dtype=pl.String)
        .alias("series"),
        pl.col("rate").alias("value"),
    )
    series = [
        group_label("gender", g, language) for g in ("F", "M", "X") if g in part["group_value"].to_list()
    ]
    figure = figures.grouped_bars(
        tidy,
        series,
        language,
        text("axis_function_level", language),
        text("axis_rate", language),
        percent=True,
    )
    return render_chart(
        Chart(
            figure,
            title.format(outcome=labels.get(outcome, outcome).lower()),
            text("chart_fair_strata_explain", language),
            "marts.fairness_strata (" + text("protected", language) + ")",
            int(part["group_n"].drop_nulls().sum()),
        ),
        ctx,
    )


def _article9(pay: pl.DataFrame, ctx: PageContext) -> str:
    language = ctx.language
    parts = [
        f"<h2>{esc(text('art9_title', language))}</h2>",
        f"<p class='explain'>{esc(text('art9_intro', language))}</p>",
    ]
    annual = pay.filter(pl.col("basis").is_null() | (pl.col("basis") == "annual"))
    org = annual.filter(pl.col("category").is_null()).sort("item")
    rows = []
    for r in org.iter_rows(named=True):
        money = r["measure"] in ("mean_gap", "median_gap")
        fmt = (lambda v: fmt_money(v, language)) if money else (lambda v: fmt_pct(v, language, 1))
        rows.append(
            {
                "item": f"{r.get('article') or r['item']}",
                "what": text("art9_items", language).get(r["item"], r["item"]),
                "women": None if r["women"] is None else fmt(r["women"]),
                "men": None if r["men"] is None else fmt(r["men"]),
                "gap": r["gap"],
                "n_women": r["n_women"],
                "n_men": r["n_men"],
                "suppressed": r.get("suppressed", False),
            }
        )
    bands = annual.filter(pl.col("measure") == "quartile_share").sort("category")
    for r in bands.iter_rows(named=True):
        rows.append(
            {
                "item": f"{r.get('article') or r['item']}",
                "what": text("art9_band", language).format(band=r["category"]),
                "women": None if r["women"] is None else fmt_pct(r["women"], language, 1),
                "men": None if r["men"] is None else fmt_pct(r["men"], language, 1),
                "gap": None,
                "n_women": r["n_women"],
                "n_men": r["n_men"],
                "suppressed": r.get("suppressed", False),
            }
        )
    headers = text("art9_headers", language)
    if rows:
        table = pl.DataFrame(
            rows,
            schema={
                "item": pl.String,
                "what": pl.String,
                "women": pl.String,
                "men": pl.String,
                "gap": pl.Float64,
                "n_women": pl.Int64,
                "n_men": pl.Int64,
                "suppressed": pl.Boolean,
            },
        )
        columns = [
            Column("item", headers["item"], hidden_flag=None),
            Column("what", headers["what"], hidden_flag=None),
            Column("n_women", headers["n_women"], "int"),
            Column("women", headers["women"]),
            Column("n_men", headers["n_men"], "int"),
            Column("men", headers["men"]),
            Column("gap", headers["gap"], "pct", 1),
        ]
        parts.append(
            table_block(
                text("art9_table_title", language),
                text("art9_table_explain", language),
                "marts.pay_transparency",
                html_table(table, columns, language),
                language,
            )
        )
    levels = annual.filter(
        (pl.col("item") == "g")
        & (pl.col("measure") == "mean_gap")
        & (pl.col("component") == "total")
        & pl.col("category").is_not_null()
    ).sort("category")
    title = text("chart_art9_levels_title", language)
    if levels.height:
        shown = levels.filter(pl.col("gap").is_not_null())
        if shown.height:
            tidy = shown.select(
                pl.col("category").alias("label"),
                pl.col("gap").alias("value"),
                pl.col("article10_flag").fill_null(False).alias("flagged"),
            )
            figure = figures.horizontal_bars(
                tidy,
                language,
                text("axis_gap", language),
                text("axis_function_level", language),
                percent=True,
                reference=0.0,
            )
            hidden = levels.height - shown.height
            parts.append(
                render_chart(
                    Chart(
                        figure,
                        title,
                        text("chart_art9_levels_explain", language),
                        "marts.pay_transparency (" + text("protected", language) + ")",
                        int((shown["n_women"] + shown["n_men"]).sum()),
                        note=text("levels_hidden_note", language).format(count=fmt_int(hidden, language))
                        if hidden
                        else "",
                    ),
                    ctx,
                )
            )
        else:
            parts.append(all_hidden(title, language))
    # Article 10: a joint pay assessment where a category's gap is at least the threshold and not justified.
    parts.append(f"<h2>{esc(text('art10_title', language))}</h2>")
    flags = levels.filter(pl.col("article10_flag").fill_null(False))
    unknown = levels.filter(pl.col("gap").is_null()).height
    if flags.height:
        items = "".join(
            f"<li><strong>{esc(r['category'])}</strong>: {esc(text('gap', language))} {esc(fmt_pct(r['gap'], language, 1))}</li>"
            for r in flags.iter_rows(named=True)
        )
        parts.append(f"<p class='explain'>{esc(text('art10_flagged', language))}</p><ul>{items}</ul>")
    else:
        parts.append(f"<p class='explain'>{esc(text('art10_none', language))}</p>")
    if unknown:
        parts.append(
            f"<p class='notice'>{esc(text('art10_hidden', language).format(count=fmt_int(unknown, language)))}</p>"
        )
    return "\n".join(parts)


def body(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    language = ctx.language
    parts = [
        f"<h1>{esc(text('page_fairness', language))}</h1>",
        f"<p class='lead'>{esc(text('page_intro_fairness', language))}</p>",
        hidden_legend(language),
    ]
    frame = data.get(FAIRNESS, organization, cycle)
    if frame is None or frame.height == 0:
        parts.append(
            unavailable(
                text("chart_fair_compare_title", language).format(attribute=""), "marts.fairness", language
            )
        )
    else:
        overall = frame.filter(pl.col("scope") == "overall")
        labels = _outcome_labels(overall, language)
        keep = key_outcomes(overall, data, organization)
        overall = overall.filter(pl.col("outcome").is_in(keep))
        frame = frame.filter(pl.col("outcome").is_in(keep))
        present = overall["attribute"].unique().to_list()
        attributes = [a for a in ATTRIBUTE_ORDER if a in present] + sorted(
            a for a in present if a not in ATTRIBUTE_ORDER
        )
        for attribute in attributes:
            parts.append(f"<h2>{esc(attribute_label(attribute, language))}</h2>")
            if attribute == "function_level":
                parts.append(_level_rates(overall, ctx, labels))
                continue
            parts.append(_comparison_chart(overall, attribute, ctx, labels))
            if attribute == "gender":
                parts.append(_strata_chart(frame, ctx, labels))
            parts.append(_rates_table(overall, attribute, language, labels))
    pay = data.get(PAY, organization, cycle)
    if pay is None or pay.height == 0:
        parts.append(f"<h2>{esc(text('art9_title', language))}</h2>")
        parts.append(unavailable(text("art9_title", language), "marts.pay_transparency", language))
    else:
        parts.append(_article9(pay, ctx))
    parts.append(pay_gap_section(data, ctx, organization, cycle, "fairness"))  # issue 22
    return "\n".join(parts)
