"""Page 3 — fairness and pay transparency: comparisons between groups overall and within function level side
by side (an overall gap can vanish or reverse inside strata), the Article 9 table and the Article 10 flags of
Directive (EU) 2023/970."""

from __future__ import annotations

from typing import Any

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
    window_span,
)
from dashboards.i18n import fmt_int, fmt_money, fmt_number, fmt_pct, text
from dashboards.pages import SiteData
from dashboards.pages.intersections_section import section as intersections_section
from dashboards.pages.pay_gap_section import section as pay_gap_section
from models.errors import ConfigError
from models.policy import Metrics

FAIRNESS = "fairness"
PAY = "pay_transparency"
ATTRIBUTE_ORDER = ("gender", "function_level", "age_band", "employment_type", "part_time")
# The published `scope`s within strata (models.fairness.STRATA) and their column prefixes.
STRATIFICATIONS = ("function_level", "department")
PREFIX = {"function_level": "within_level", "department": "within_department"}


def confidence_level(data: SiteData, organization: str, rows: pl.DataFrame | None = None) -> float:
    """The policy value `fairness.confidence_level`: the coverage of every interval in the fairness marts.
    The sentences call a gap clear at the matching significance level (1 − that level): the overall one where
    Fisher's p is below it, a stratified one where its interval excludes 1. Taken from `rows` (one cycle's
    published rows: their `confidence_level`, the level of the policy in force for that cycle, which the
    statistics were computed at) when they carry it, else from the organisation's policy; the fairness marts
    require it, so there is no default."""
    if rows is not None and "confidence_level" in rows.columns:
        found = rows["confidence_level"].drop_nulls().unique()
        if found.len() == 1:
            return float(found[0])
    policy = data.policies.get(organization)
    level = policy.typed.fairness.confidence_level if policy is not None else None
    if level is None:
        raise ConfigError(f"{organization}: no fairness.confidence_level (the fairness marts require it)")
    return float(level)


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
        "odds_ratio": (text("scope_overall", language), "odds_ratio_ci_low", "odds_ratio_ci_high"),
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
        *[
            pl.when(pl.col(f"{pre}_reverses").fill_null(False) & (pl.col(f"{pre}_strata").fill_null(0) >= 2))
            .then(pl.lit(text("yes", language)))
            .alias(f"{pre}_reverses_text")
            if f"{pre}_reverses" in part.columns and f"{pre}_strata" in part.columns
            else pl.lit(None, dtype=pl.String).alias(f"{pre}_reverses_text")
            for pre in ("within_level", "within_department")
        ],
        pl.when(pl.col("flag").fill_null(False)).then(pl.lit(text("flagged", language))).alias("flag_text")
        if "flag" in part.columns
        else pl.lit(None, dtype=pl.String).alias("flag_text"),
    )
    shown = shown.with_columns(
        _interval(shown, "odds_ratio_ci_low", "odds_ratio_ci_high", language).alias("ci_overall"),
        _interval(shown, "within_level_ci_low", "within_level_ci_high", language).alias("ci_level"),
        _interval(shown, "within_department_ci_low", "within_department_ci_high", language).alias(
            "ci_department"
        ),
    )
    headers = text("fair_headers", language)
    side = text("fair_side_headers", language)
    # The overall, within-level and within-department comparisons side by side, each with its interval, its
    # reversal and (for the stratified ones) its Breslow–Day homogeneity p.
    columns = [
        Column("outcome_label", headers["outcome"], hidden_flag=None),
        Column("group_label", headers["group"], hidden_flag=None),
        Column("group_n", headers["n"], "int"),
        Column("rate", headers["rate"], "pct"),
        Column("odds_ratio", headers["odds_ratio"], "num", 2),
        Column("ci_overall", side["ci"]),
    ]
    for pre, head, ci, rev, bd in (
        ("within_level", headers["within_level"], "ci_level", "reverses_level", "bd_level"),
        (
            "within_department",
            side["within_department"],
            "ci_department",
            "reverses_department",
            "bd_department",
        ),
    ):
        if attribute == ("function_level" if pre == "within_level" else "department"):
            continue
        columns += [
            Column(f"{pre}_odds_ratio", head, "num", 2),
            Column(ci, side["ci"]),
            Column(f"{pre}_reverses_text", side[rev], "flag", hidden_flag=None),
            Column(f"{pre}_homogeneity_p", side[bd], "num", 3),
        ]
    columns += [
        Column("within_level_q_value", headers["q"], "num", 3),
        Column("flag_text", headers["flag"], "flag", hidden_flag=None),
    ]
    return table_block(
        text("fair_table_title", language).format(attribute=attribute_label(attribute, language).lower()),
        text("fair_table_explain", language),
        "marts.fairness",
        html_table(shown, columns, language),
        language,
    )


def _interval(frame: pl.DataFrame, low: str, high: str, language: str) -> pl.Expr:
    """The interval as "0,94 – 1,30" where both ends are shown, else null (hidden with the estimate, or not
    in the table)."""
    if low not in frame.columns or high not in frame.columns:
        return pl.lit(None, dtype=pl.String)
    return pl.struct(pl.col(low), pl.col(high)).map_elements(
        lambda r: (
            None
            if r[low] is None or r[high] is None
            else f"{fmt_number(r[low], language, 2)} – {fmt_number(r[high], language, 2)}"
        ),
        return_dtype=pl.String,
    )


def _p_text(p: float, language: str) -> str:
    return ("< 0,001" if language == "nl" else "< 0.001") if p < 0.001 else fmt_number(p, language, 3)


def story_sentence(
    row: dict[str, Any],
    stratification: str,
    attribute: str,
    language: str,
    opposite: tuple[int, int] | None = None,
    *,
    level: float,
) -> str | None:
    """What the overall gap and one stratification's comparison add up to, in words (dashboards.i18n), e.g.
    "the overall gap (women 30%, men 40%) does not hold within departments (common odds ratio 1.60, 95% CI
    0.98 – 2.61); … the departments differ from each other (Breslow–Day p = 0.001)". `opposite` = (strata whose
    own odds ratio lies on the other side of 1 than the organisation-wide one, strata with a shown odds ratio).
    None where neither the rates nor the overall odds ratio are shown. `level`: the intervals' coverage
    (`confidence_level`); an overall gap is one Fisher's exact test finds at 1 − `level`."""
    pre = PREFIX[stratification]
    strata = text("fair_strata_words", language)[stratification]
    odds, low, high = (row.get(f"{pre}_{c}") for c in ("odds_ratio", "ci_low", "ci_high"))
    if row.get("rate") is not None and row.get("reference_rate") is not None:
        detail = text("fair_story_rates", language).format(
            group=group_label(attribute, row["group_value"], language).lower(),
            rate=fmt_pct(row["rate"], language),
            reference=group_label(attribute, row.get("reference_group"), language).lower(),
            reference_rate=fmt_pct(row["reference_rate"], language),
        )
    elif row.get("odds_ratio") is not None:
        # Both rates hidden (complementary suppression of a pair), the comparison shown: say it by its odds ratio.
        detail = text("fair_story_odds", language).format(odds=fmt_number(row["odds_ratio"], language, 2))
    else:
        return None
    overall_p = row.get("p_value")
    # An overall gap is one Fisher's exact test finds at the policy's level; without one the sentence says so.
    has_gap = overall_p is not None and overall_p < 1.0 - level
    gap = text("fair_story_gap" if has_gap else "fair_story_no_gap", language).format(detail=detail)
    used = row.get(f"{pre}_strata")
    left = row.get(f"{pre}_strata_left_out") or 0
    if used is not None and used < 2:
        if left:
            # The statistic is computed over the strata whose counts are shown (models.releases.fairness):
            # fewer than two of them leave nothing to combine.
            return text("fair_story_too_few" if used else "fair_story_none_shown", language).format(
                strata=strata,
                used=fmt_int(used, language),
                total=fmt_int(used + (row.get(f"{pre}_strata_dropped") or 0) + left, language),
            )
        return text("fair_story_single", language).format(
            strata=strata, stratum=text("fair_stratum_word", language)[stratification]
        )
    if odds is None or low is None or high is None:
        return text("fair_story_hidden", language).format(strata=strata)
    crude = row.get("odds_ratio")
    same_side = crude is None or (crude - 1.0) * (odds - 1.0) >= 0
    within_gap = low > 1.0 or high < 1.0
    if not has_gap:
        key = "fair_story_appears" if within_gap else "fair_story_neither"
    elif within_gap:
        key = "fair_story_holds" if same_side else "fair_story_reverses"
    else:
        key = "fair_story_vanishes"
    values = {"gap": gap, "strata": strata, "odds": fmt_number(odds, language, 2)}
    values |= {"low": fmt_number(low, language, 2), "high": fmt_number(high, language, 2)}
    values["level"] = fmt_number(100 * level, language, 0 if round(100 * level, 6).is_integer() else 1)
    # Which strata the common odds ratio covers, where some were left out for their hidden counts.
    values["over"] = (
        text("fair_story_over", language).format(
            used=fmt_int(used or 0, language),
            strata=strata,
            left=fmt_int(left, language),
            strata_left=text("fair_stratum_word", language)[stratification] if left == 1 else strata,
        )
        if left
        else ""
    )
    sentence = text(key, language).format(**values)
    if key == "fair_story_vanishes" and not same_side:
        sentence += text("fair_story_leans_other_way", language).format(strata=strata)
    p = row.get(f"{pre}_homogeneity_p")
    if p is not None:
        which = "fair_story_heterogeneous" if row.get(f"{pre}_heterogeneous") else "fair_story_homogeneous"
        sentence += text(which, language).format(strata=strata, p=_p_text(p, language))
    sentence = sentence[:1].upper() + sentence[1:] + "."
    if opposite is not None and opposite[0]:
        sentence += text("fair_story_opposite", language).format(
            count=fmt_int(opposite[0], language), total=fmt_int(opposite[1], language), strata=strata
        )
    return sentence


def _opposite(frame: pl.DataFrame, row: dict[str, Any], stratification: str) -> tuple[int, int]:
    """(strata whose shown odds ratio lies on the other side of 1 than the organisation-wide one, strata
    shown): e.g. the one department that favours women where the organisation as a whole favours men."""
    pooled = row.get("odds_ratio")
    part = _stratum_rows(frame, row, stratification).filter(pl.col("odds_ratio").is_not_null())
    if pooled is None or part.height == 0:
        return (0, part.height)
    other = part.filter((pl.col("odds_ratio") - 1.0) * (pooled - 1.0) < 0).height
    return (other, part.height)


def _stratum_rows(frame: pl.DataFrame, row: dict[str, Any], stratification: str) -> pl.DataFrame:
    if "odds_ratio" not in frame.columns or "stratum" not in frame.columns:
        return frame.head(0).with_columns(pl.lit(None, dtype=pl.Float64).alias("odds_ratio"))
    return frame.filter(
        (pl.col("scope") == stratification)
        & (pl.col("outcome") == row["outcome"])
        & (pl.col("attribute") == row["attribute"])
        & (pl.col("group_value") == row["group_value"])
    ).sort("stratum")


def _comparisons(overall: pl.DataFrame, attribute: str) -> list[dict[str, Any]]:
    return (
        overall.filter(
            (pl.col("attribute") == attribute)
            & pl.col("group_value").is_not_null()
            & ~pl.col("is_reference").fill_null(True)
            & (pl.col("outcome_kind") == "binary")
        )
        .sort("outcome", "group_value")
        .to_dicts()
    )


def _stories(
    frame: pl.DataFrame,
    overall: pl.DataFrame,
    attribute: str,
    language: str,
    labels: dict[str, str],
    level: float,
) -> str:
    """The sentences for every comparison of the attribute, per stratification, next to its chart."""
    items = []
    for row in _comparisons(overall, attribute):
        said = [
            story_sentence(row, s, attribute, language, _opposite(frame, row, s), level=level)
            for s in STRATIFICATIONS
            if s != attribute
        ]
        said = [x for x in said if x]
        if not said:
            continue
        head = (
            f"{labels.get(row['outcome'], row['outcome'])} — {group_label(attribute, row['group_value'], language)} "
            f"{text('versus', language)} {group_label(attribute, row.get('reference_group'), language)}"
        )
        items.append(
            f"<li><strong>{esc(head)}</strong><ul>"
            + "".join(f"<li>{esc(x)}</li>" for x in said)
            + "</ul></li>"
        )
    if not items:
        return ""
    return (
        f"<section class='fair-stories'><h3>{esc(text('fair_stories_title', language))}</h3>"
        f"<ul class='stories'>{''.join(items)}</ul></section>"
    )


def _forest_charts(
    frame: pl.DataFrame,
    overall: pl.DataFrame,
    attribute: str,
    ctx: PageContext,
    labels: dict[str, str],
    level: float,
) -> str:
    """A forest plot per stratification for the attribute's key comparison (the first outcome in the order of
    `_strata_chart`, its first non-reference group), each with its sentence under it."""
    language = ctx.language
    rows = _comparisons(overall, attribute)
    if not rows:
        return ""
    order = ["incidental_reward", "structural_above_standard", "salary_step"]
    rows.sort(
        key=lambda r: (order.index(r["outcome"]) if r["outcome"] in order else len(order), r["outcome"])
    )
    row = rows[0]
    parts = []
    for stratification in STRATIFICATIONS:
        if stratification == attribute:
            continue
        pre = PREFIX[stratification]
        part = _stratum_rows(frame, row, stratification)
        if part.height == 0:
            continue
        word = text("fair_stratum_word", language)[stratification]
        title = text("chart_fair_forest_title", language).format(
            outcome=labels.get(row["outcome"], row["outcome"]),
            group=group_label(attribute, row["group_value"], language),
            reference=group_label(attribute, row.get("reference_group"), language),
            stratum=word,
        )
        pooled_label = text("fair_pooled_label", language)
        tidy = pl.concat(
            [
                part.select(
                    pl.col("stratum").alias("label"),
                    pl.col("odds_ratio").cast(pl.Float64).alias("estimate"),
                    pl.col("odds_ratio_ci_low").cast(pl.Float64).alias("lo")
                    if "odds_ratio_ci_low" in part.columns
                    else pl.lit(None, dtype=pl.Float64).alias("lo"),
                    pl.col("odds_ratio_ci_high").cast(pl.Float64).alias("hi")
                    if "odds_ratio_ci_high" in part.columns
                    else pl.lit(None, dtype=pl.Float64).alias("hi"),
                    pl.col("group_n").cast(pl.Int64).alias("n"),
                    pl.lit(False).alias("pooled"),
                ),
                pl.DataFrame(
                    {
                        "label": [pooled_label],
                        "estimate": [row.get(f"{pre}_odds_ratio")],
                        "lo": [row.get(f"{pre}_ci_low")],
                        "hi": [row.get(f"{pre}_ci_high")],
                        "n": [None],
                        "pooled": [True],
                    },
                    schema={
                        "label": pl.String,
                        "estimate": pl.Float64,
                        "lo": pl.Float64,
                        "hi": pl.Float64,
                        "n": pl.Int64,
                        "pooled": pl.Boolean,
                    },
                ),
            ]
        )
        if tidy["estimate"].drop_nulls().len() == 0:
            parts.append(all_hidden(title, language))
            continue
        figure = figures.forest_plot(
            tidy, language, text("axis_odds_ratio", language), word[:1].upper() + word[1:], pooled_label
        )
        sentence = story_sentence(
            row, stratification, attribute, language, _opposite(frame, row, stratification), level=level
        )
        parts.append(
            render_chart(
                Chart(
                    figure,
                    title,
                    text("chart_fair_forest_explain", language).format(stratum=word),
                    "marts.fairness_strata (" + text("protected", language) + ")",
                    row.get("group_n"),
                    note=sentence or "",
                ),
                ctx,
            )
        )
    return "\n".join(parts)


def _tests_table(overall: pl.DataFrame, attribute: str, language: str, labels: dict[str, str]) -> str:
    """Fisher beside the pooled z-test, and per stratification the CMH statistic without and with continuity
    correction and Breslow–Day with its degrees of freedom."""
    rows = []
    words = text("fair_strata_words", language)
    for row in _comparisons(overall, attribute):
        for stratification in STRATIFICATIONS:
            if stratification == attribute:
                continue
            pre = PREFIX[stratification]
            rows.append(
                {
                    "outcome": labels.get(row["outcome"], row["outcome"]),
                    "group": group_label(attribute, row["group_value"], language),
                    "fisher": row.get("p_value"),
                    "z": row.get("z_statistic"),
                    "z_p": row.get("z_p_value"),
                    "stratification": words[stratification],
                    "strata": _strata_count(row, pre, language),
                    **{
                        key: row.get(f"{pre}_{col}")
                        for key, col in (
                            ("cmh", "cmh_statistic"),
                            ("cmh_p", "p_value"),
                            ("cmh_corrected", "cmh_statistic_corrected"),
                            ("cmh_corrected_p", "p_value_corrected"),
                            ("bd", "homogeneity_statistic"),
                            ("bd_df", "homogeneity_df"),
                            ("bd_p", "homogeneity_p"),
                        )
                    },
                    "suppressed": bool(row.get("suppressed")),
                }
            )
    if not rows:
        return ""
    floats = ("fisher", "z", "z_p", "cmh", "cmh_p", "cmh_corrected", "cmh_corrected_p", "bd", "bd_p")
    schema: dict[str, Any] = {
        "outcome": pl.String, "group": pl.String, "stratification": pl.String, "strata": pl.String,
    }  # fmt: skip
    schema |= {c: pl.Float64 for c in floats} | {"bd_df": pl.Int64, "suppressed": pl.Boolean}
    table = pl.DataFrame(rows, schema=schema)
    headers = text("fair_tests_headers", language)
    columns = [
        Column("outcome", headers["outcome"], hidden_flag=None),
        Column("group", headers["group"], hidden_flag=None),
        Column("fisher", headers["fisher"], "num", 3),
        Column("z", headers["z"], "num", 2),
        Column("z_p", headers["z_p"], "num", 3),
        Column("stratification", headers["stratification"], hidden_flag=None),
        Column("strata", headers["strata"]),
        Column("cmh", headers["cmh"], "num", 2),
        Column("cmh_p", headers["cmh_p"], "num", 3),
        Column("cmh_corrected", headers["cmh_corrected"], "num", 2),
        Column("cmh_corrected_p", headers["cmh_corrected_p"], "num", 3),
        Column("bd", headers["bd"], "num", 2),
        Column("bd_df", headers["bd_df"], "int"),
        Column("bd_p", headers["bd_p"], "num", 3),
    ]
    return table_block(
        text("fair_tests_title", language).format(attribute=attribute_label(attribute, language).lower()),
        text("fair_tests_explain", language),
        "marts.fairness",
        html_table(table, columns, language),
        language,
    )


def _strata_count(row: dict[str, Any], pre: str, language: str) -> str | None:
    """ "7 van 10": the strata a stratified statistic used of those with someone of either group in them
    (the others' counts are hidden; models.releases.fairness)."""
    used, left = row.get(f"{pre}_strata"), row.get(f"{pre}_strata_left_out")
    if used is None:
        return None
    # Strata with fewer than 2 people of the two groups carry no information (dropped) but count in the total.
    total = used + (row.get(f"{pre}_strata_dropped") or 0) + (left or 0)
    return text("fair_strata_count", language).format(
        used=fmt_int(used, language), total=fmt_int(total, language)
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


WINDOW_SCOPE = "function_level_window"  # models.releases.fairness_pooled.POOLED_SCOPE: pooled-window rows
WOMEN, MEN = "F", "M"  # the compared gender categories (the tables hold no others where they are small)


def women_and_men(women: dict[str, Any], men: dict[str, Any]) -> dict[str, Any]:
    """The size, count and rate columns of a women-and-men table row (the fairness window and the norming
    review's within-level table), from the two groups' published rows."""
    return {
        f"{prefix}_{column}": row[source]
        for prefix, row in (("women", women), ("men", men))
        for column, source in (("n", "group_n"), ("count", "count"), ("rate", "rate"))
    }


def window_rows(pooled: pl.DataFrame, outcome: str, language: str) -> pl.DataFrame:
    """Women and men side by side per function level for one outcome of the pooled window, with the
    comparison (odds ratio women against men, interval, q) where the published table has it."""
    part = pooled.filter((pl.col("attribute") == "gender") & (pl.col("outcome") == outcome))
    out = []
    for (level,), rows in (
        part.sort("stratum").partition_by("stratum", as_dict=True, maintain_order=True).items()
    ):
        by_group = {r["group_value"]: r for r in rows.iter_rows(named=True)}
        women, men = by_group.get(WOMEN), by_group.get(MEN)
        if women is None or men is None:
            continue
        # The comparison sits on the non-reference row: women against men (the policy's reference for gender).
        odds, low, high = (women.get(c) for c in ("odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high"))
        shown = women["reference_group"] == MEN and odds is not None and low is not None and high is not None
        out.append(
            {
                "stratum": level,
                **women_and_men(women, men),
                "odds_ratio": odds if shown else None,
                "ci": f"{fmt_number(low, language, 2)} – {fmt_number(high, language, 2)}" if shown else None,  # type: ignore[arg-type]
                "q_value": women.get("q_value") if shown else None,
                "women_hidden": bool(women["suppressed"]),
                "men_hidden": bool(men["suppressed"]),
                "compare_hidden": not shown,
            }
        )
    return pl.DataFrame(
        out,
        schema={
            "stratum": pl.String, "women_n": pl.Int64, "women_count": pl.Int64, "women_rate": pl.Float64,
            "men_n": pl.Int64, "men_count": pl.Int64, "men_rate": pl.Float64, "odds_ratio": pl.Float64,
            "ci": pl.String, "q_value": pl.Float64, "women_hidden": pl.Boolean, "men_hidden": pl.Boolean,
            "compare_hidden": pl.Boolean,
        },
    )  # fmt: skip


def _window_section(
    pooled: pl.DataFrame,
    data: SiteData,
    ctx: PageContext,
    organization: str,
    labels: dict[str, str],
    level: float,
) -> str:
    """Women and men within each function level over the pooled window of cycles (issue 16): a table per
    outcome and a sentence for every difference larger than chance explains (BH q below metrics.fdr)."""
    language = ctx.language
    if pooled.height == 0:
        return ""
    period = window_span(pooled)
    # the FDR of the policy the window's cycle was judged by (a window does not cross a policy change)
    policy = data.policy_of(organization, int(pooled["cycle"].max()))  # type: ignore[arg-type]
    fdr = float(policy.typed.metrics.fdr if policy is not None else Metrics().fdr)  # the schema's default
    headers = text("fair_window_headers", language)
    women, men = (group_label("gender", g, language).capitalize() for g in (WOMEN, MEN))
    columns = [
        Column("stratum", headers["level"], hidden_flag=None),
        Column("women_n", f"{women}: {headers['n']}", "int", hidden_flag="women_hidden"),
        Column("women_count", f"{women}: {headers['count']}", "int", hidden_flag="women_hidden"),
        Column("women_rate", f"{women}: {headers['rate']}", "pct", hidden_flag="women_hidden"),
        Column("men_n", f"{men}: {headers['n']}", "int", hidden_flag="men_hidden"),
        Column("men_count", f"{men}: {headers['count']}", "int", hidden_flag="men_hidden"),
        Column("men_rate", f"{men}: {headers['rate']}", "pct", hidden_flag="men_hidden"),
        Column("odds_ratio", headers["odds_ratio"], "num", 2, hidden_flag="compare_hidden"),
        Column("ci", headers["ci"], hidden_flag="compare_hidden"),
        Column("q_value", headers["q"], "num", 3, hidden_flag="compare_hidden"),
    ]
    tables, sentences, hidden = [], [], []
    for outcome in sorted(pooled["outcome"].unique().to_list()):
        rows = window_rows(pooled, outcome, language)
        if rows.height == 0:
            continue
        name = labels.get(outcome, outcome)
        if (rows["women_hidden"] & rows["men_hidden"]).all():
            hidden.append(name)  # every level hidden: one line instead of a table of dots
            continue
        caption = text("fair_window_caption", language).format(outcome=name, period=period)
        tables.append(html_table(rows, columns, language, caption))
        for r in rows.filter(~pl.col("compare_hidden") & (pl.col("q_value") < fdr)).iter_rows(named=True):
            sentences.append(
                text("fair_window_sentence", language).format(
                    outcome=name, level=r["stratum"], period=period,
                    count=fmt_int(r["women_count"], language), n=fmt_int(r["women_n"], language),
                    rate=fmt_pct(r["women_rate"], language, 1), ref_count=fmt_int(r["men_count"], language),
                    ref_n=fmt_int(r["men_n"], language), ref_rate=fmt_pct(r["men_rate"], language, 1),
                    odds=fmt_number(r["odds_ratio"], language, 2), ci=r["ci"], q=_p_text(r["q_value"], language),
                )
            )  # fmt: skip
    if not tables and not hidden:
        return ""
    if hidden:
        tables.append(
            f"<p class='note'>{esc(text('fair_window_all_hidden', language).format(outcomes='; '.join(hidden)))}</p>"
        )
    fdr_text = fmt_number(fdr, language, 2)
    if sentences:
        listing = (
            f"<p class='explain'>{esc(text('fair_window_significant', language).format(fdr=fdr_text))}</p>"
            f"<ul class='findings'>{''.join(f'<li><strong>{esc(s)}</strong></li>' for s in sentences)}</ul>"
        )
    else:
        listing = f"<p class='explain'>{esc(text('fair_window_none', language).format(fdr=fdr_text))}</p>"
    return table_block(
        text("fair_window_title", language).format(period=period),
        text("fair_window_explain", language).format(period=period, level=fmt_pct(level, language, 0)),
        "marts.fairness_strata (" + text("protected", language) + ")",
        listing + "".join(tables),
        language,
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
        pooled = frame.filter(pl.col("scope") == WINDOW_SCOPE) if "scope" in frame.columns else frame.head(0)
        frame = frame.filter(pl.col("scope") != WINDOW_SCOPE)
        overall = frame.filter(pl.col("scope") == "overall")
        labels = _outcome_labels(overall, language)
        keep = key_outcomes(overall, data, organization)
        overall = overall.filter(pl.col("outcome").is_in(keep))
        frame = frame.filter(pl.col("outcome").is_in(keep))
        # the level of the cycle's own policy, which its rows were computed at
        level = confidence_level(data, organization, overall)
        present = overall["attribute"].unique().to_list()
        attributes = [a for a in ATTRIBUTE_ORDER if a in present] + sorted(
            a for a in present if a not in ATTRIBUTE_ORDER
        )
        for attribute in attributes:
            parts.append(f"<h2>{esc(attribute_label(attribute, language))}</h2>")
            left_out = (
                pl.col("others_left_out").fill_null(False) if "others_left_out" in overall.columns else False
            )
            if overall.filter((pl.col("attribute") == attribute) & left_out).height:
                parts.append(f"<p class='explain'>{esc(text('fair_others_left_out', language))}</p>")
            if attribute == "function_level":
                parts.append(_level_rates(overall, ctx, labels))
                continue
            parts.append(_comparison_chart(overall, attribute, ctx, labels))
            parts.append(_stories(frame, overall, attribute, language, labels, level))
            parts.append(_forest_charts(frame, overall, attribute, ctx, labels, level))
            if attribute == "gender":
                parts.append(_strata_chart(frame, ctx, labels))
                parts.append(
                    _window_section(
                        pooled.filter(pl.col("outcome").is_in(keep)), data, ctx, organization, labels, level
                    )
                )
            parts.append(_rates_table(overall, attribute, language, labels))
            parts.append(_tests_table(overall, attribute, language, labels))
    pay = data.get(PAY, organization, cycle)
    if pay is None or pay.height == 0:
        parts.append(f"<h2>{esc(text('art9_title', language))}</h2>")
        parts.append(unavailable(text("art9_title", language), "marts.pay_transparency", language))
    else:
        parts.append(_article9(pay, ctx))
    parts.append(intersections_section(data, ctx, organization, cycle))  # issue 23
    parts.append(pay_gap_section(data, ctx, organization, cycle, "fairness"))  # issue 22
    return "\n".join(parts)
