"""Page 2 — norming review for the management team (Z-10): department × rating heatmap, funnel plot of
departments, differentiation per manager, drift over cycles, movements between cycles, and the calibration
impact (issue 10): what the meeting did to the evaluators' proposals."""

from __future__ import annotations

import math

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
    window_span,
)
from dashboards.i18n import fmt_int, fmt_number, fmt_pct, text
from dashboards.pages import SiteData
from dashboards.pages import evaluators_section as evr
from dashboards.pages.calibration import RATINGS, measure_title, measures, scale
from dashboards.pages.fairness import (
    ATTRIBUTE_ORDER,
    MEN,
    WOMEN,
    attribute_label,
    group_label,
    women_and_men,
)

MANAGERS_SHOWN = 60  # bars in the differentiation chart
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
        pl.col("department").fill_null(org_label).alias("row"),
        pl.col("rating").alias("column"),
        "share",
        pl.col("n").alias("count"),
    )
    title = text("chart_heatmap_title", language)
    if not names:
        return unavailable(title, "marts.rating_distribution", language)
    figure = figures.heatmap(
        tidy, [*names, org_label], codes or part["rating"].unique().to_list(), labels, language,
        text("axis_rating", language), text("department", language),
    )  # fmt: skip
    org_n = part.filter(pl.col("department").is_null())["unit_n"].drop_nulls()
    # Departments whose total is hidden (for instance: a small unrated count would follow from it) but whose
    # counts are shown.
    counted = sorted(
        part.filter(
            pl.col("department").is_not_null() & pl.col("unit_n").is_null() & pl.col("n").is_not_null()
        )["department"]
        .unique()
        .to_list()
    )
    note = text("heatmap_counts_note", language).format(departments=", ".join(counted)) if counted else ""
    if "unit_excl" in part.columns:
        # A row with a hidden cell: its size and shares over its shown cells (models.disclosure.engine,
        # `margins_over_shown`).
        excl = part.filter(pl.col("unit_excl").fill_null(False))["department"].unique().to_list()
        rows = sorted(d for d in excl if d is not None) + ([org_label] if None in excl else [])
        if rows:
            note = " ".join(
                x for x in (note, text("excl_hidden_note", language).format(units=", ".join(rows))) if x
            )
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_heatmap_explain", language),
            "marts.rating_distribution (" + text("protected", language) + ")",
            int(org_n[0]) if org_n.len() else None,
            note,
        ),
        ctx,
    )


# The funnel's control limits are smooth curves in n: drawn through every whole n up to EVERY_N and then
# through FUNNEL_POINTS sizes spaced evenly on a log scale up to the largest unit. One point per person made the
# norming page of a 200,000-person organisation larger than 2 MB (issue 21); the curves look the same.
EVERY_N = 40
FUNNEL_POINTS = 120
LIMIT_DECIMALS = 4  # the axis shows two


def funnel_grid(top: int) -> list[int]:
    """The sizes the control limits are drawn through, from 2 to `top` (both included)."""
    sizes = set(range(2, min(top, EVERY_N) + 1))
    if top > EVERY_N:
        step = math.log(top / EVERY_N) / FUNNEL_POINTS
        sizes.update(round(EVERY_N * math.exp(step * i)) for i in range(FUNNEL_POINTS + 1))
        sizes.add(top)
    return sorted(sizes)


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
    grid = funnel_grid(top)
    limits = pl.DataFrame(
        {
            "n": grid,
            "lo95": [round(target - Z95 * sd / math.sqrt(n), LIMIT_DECIMALS) for n in grid],
            "hi95": [round(target + Z95 * sd / math.sqrt(n), LIMIT_DECIMALS) for n in grid],
            "lo998": [round(target - Z998 * sd / math.sqrt(n), LIMIT_DECIMALS) for n in grid],
            "hi998": [round(target + Z998 * sd / math.sqrt(n), LIMIT_DECIMALS) for n in grid],
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
    if shown.height > MANAGERS_SHOWN:
        # A large employer has thousands of managers: one bar each is unreadable (and megabytes). The
        # managers who differentiate least are the ones a norming review asks about.
        cut = text("managers_cut_note", language).format(
            shown=fmt_int(MANAGERS_SHOWN, language), total=fmt_int(shown.height, language)
        )
        note = f"{cut} {note}".strip()
        shown = shown.sort("differentiation").head(MANAGERS_SHOWN).sort("differentiation", descending=True)
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
            # The organisation's size per cycle, over its shown cells where one is hidden ("excl. n < k").
            int(totals["unit_n" if "unit_n" in totals.columns else "n"].drop_nulls().sum())
            if totals.height
            else None,
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
    rows = frame.filter(pl.col("from_rating").is_not_null())
    note = _excl_note(
        rows,
        "row_excl",
        pl.col("from_rating").replace_strict(labels, default=pl.col("from_rating")),
        language,
    )
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_transitions_explain", language),
            "marts.rating_transitions (" + text("protected", language) + ")",
            int(total[0]) if total.len() and total[0] is not None else None,
            note=note,
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
    else:
        # The management release (models.releases.management): departments protected within the heat map
        # only; the organisation-wide `ratings` where it is not there.
        norming = data.get(NORMING_RATINGS, organization, cycle)
        heat = norming if norming is not None and norming.height else ratings
        for measure in measures(ratings):
            parts.append(f"<h2>{esc(measure_title(measure, language))}</h2>")
            parts.append(_heatmap(heat, measure, data, ctx, organization))
            parts.append(_funnel(data, ctx, organization, cycle, measure))
            parts.append(_flagged(data, organization, cycle, measure, language))
            parts.append(_differentiation(data, ctx, organization, cycle, measure))
            parts.append(evr.section(data.get("evaluator_report", organization, cycle), ctx, measure, scale(data, organization, measure, language)[1]))  # fmt: skip
            parts.append(_drift_lines(data, ctx, organization, cycle, measure))
            parts.append(_drift_departments(data, ctx, organization, cycle, measure))
            parts.append(_transitions(data, ctx, organization, cycle, measure))
    parts.append(_impact(data, ctx, organization, cycle))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------- calibration impact
NORMING_RATINGS = "norming_ratings"
IMPACT_DEPARTMENTS = "calibration_moves_by_department"
IMPACT_BEFORE_AFTER = "calibration_before_after"
IMPACT_GROUPS = "calibration_moves_by_group"
IMPACT_SPREAD = "calibration_spread"
MOVE_ORDER = ("down", "up", "unchanged")  # moves first, from the axis; the unchanged rest after them
SPREAD_ORDER = {"department": 0, "function_level": 1, "evaluator": 2}
# The same colours in every impact chart: orange down, blue up, grey unchanged (red outlines mark flags).
MOVED_DOWN, MOVED_UP, UNCHANGED = theme.GUIDELINE, theme.HIGHLIGHT, "#c9c9c9"


def _source(name: str, language: str) -> str:
    return f"{name} ({text('protected', language)})"


def _excl_note(frame: pl.DataFrame, flag: str, label: pl.Expr, language: str) -> str:
    """ "Excl. n < k" for the rows of `frame` whose total counts only their shown cells (`flag`, set by the
    release from models.disclosure.engine.margins_over_shown), named by `label`; "" when there are none."""
    if flag not in frame.columns:
        return ""
    names = frame.filter(pl.col(flag).fill_null(False)).select(label.alias("_label"))["_label"].unique()
    named = sorted(str(n) for n in names.to_list() if n is not None)
    return text("excl_hidden_note", language).format(units=", ".join(named)) if named else ""


def _impact_summary(departments: pl.DataFrame, language: str) -> str:
    """One sentence from the organisation row: how many proposals moved, down and up (when all are shown)."""
    org = {
        r["direction"]: r["n"]
        for r in departments.filter(pl.col("department").is_null()).iter_rows(named=True)
    }
    down, up, n = org.get("down"), org.get("up"), org.get(None)
    if down is None or up is None or not n:
        return ""
    sentence = text("impact_summary", language).format(
        moved=fmt_int(down + up, language),
        n=fmt_int(n, language),
        share=fmt_pct((down + up) / n, language, 1),
        down=fmt_int(down, language),
        up=fmt_int(up, language),
    )
    return f"<p class='explain'><strong>{esc(sentence)}</strong></p>"


def _impact_departments(departments: pl.DataFrame, ctx: PageContext) -> str:
    language = ctx.language
    title = text("chart_impact_departments_title", language)
    org_label = text("organisation", language)
    cells = departments.filter(pl.col("direction").is_not_null())
    names = sorted(d for d in cells["department"].unique().to_list() if d is not None)
    tidy = cells.select(
        pl.col("department").fill_null(org_label).alias("group"),
        pl.col("direction").alias("category"),
        "share",
        "n",
    )
    labels = text("move_labels", language)
    colours = {"down": MOVED_DOWN, "up": MOVED_UP, "unchanged": UNCHANGED}
    figure = figures.stacked_parts(
        tidy, [*names, org_label], MOVE_ORDER, labels, [colours[m] for m in MOVE_ORDER], language,
        text("axis_share_proposals", language), text("department", language),
    )  # fmt: skip
    # The organisation's proposals; over its shown cells where one is hidden (the note says so).
    total = departments.filter(pl.col("department").is_null() & pl.col("direction").is_null()).select(
        pl.coalesce("n", "group_n") if "group_n" in departments.columns else pl.col("n")
    )[:, 0]
    note = _excl_note(departments, "group_excl", pl.col("department").fill_null(org_label), language)
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_impact_departments_explain", language),
            _source("marts.calibration_impact", language),
            int(total[0]) if total.len() and total[0] is not None else None,
            note=note,
        ),
        ctx,
    )


def _impact_before_after(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    language = ctx.language
    title = text("chart_impact_before_after_title", language)
    frame = data.get(IMPACT_BEFORE_AFTER, organization, cycle)
    if frame is None:
        return unavailable(title, "marts.calibration_distribution", language)
    cells = frame.filter(pl.col("rating").is_not_null())
    if cells.height == 0:
        return ""
    codes, labels, _ = scale(data, organization, "rating", language)
    order = cells.sort("rating_position")["rating"].unique(maintain_order=True).to_list()
    codes = [c for c in codes if c in order] + [c for c in order if c not in codes]
    stages = text("stage_labels", language)
    tidy = cells.select(
        pl.col("stage").replace_strict(stages, default=pl.col("stage")).alias("series"),
        pl.col("rating").alias("category"),
        "share",
        "n",
    )
    figure = figures.distribution_bars(
        tidy, codes, labels, [stages["proposed"], stages["final"]],
        {stages["proposed"]: theme.ORG, stages["final"]: theme.HIGHLIGHT}, language,
        text("axis_rating", language), text("axis_share_people", language),
    )  # fmt: skip
    total = frame.filter((pl.col("stage") == "proposed") & pl.col("rating").is_null()).select(
        pl.coalesce("n", "group_n") if "group_n" in frame.columns else pl.col("n")
    )[:, 0]
    note = _excl_note(
        frame, "group_excl", pl.col("stage").replace_strict(stages, default=pl.col("stage")), language
    )
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_impact_before_after_explain", language),
            _source("marts.calibration_distribution", language),
            int(total[0]) if total.len() and total[0] is not None else None,
            note=note,
        ),
        ctx,
    )


def _impact_groups(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    language = ctx.language
    title = text("chart_impact_groups_title", language)
    frame = data.get(IMPACT_GROUPS, organization, cycle)
    if frame is None:
        return unavailable(title, "marts.calibration_moves", language)
    if frame.height == 0:
        return ""
    moves = text("move_labels", language)
    order = {a: i for i, a in enumerate(ATTRIBUTE_ORDER)}
    groups = frame.filter(pl.col("group_value").is_not_null())
    reference = pl.col("is_reference").fill_null(False) if "is_reference" in groups.columns else pl.lit(False)
    groups = groups.with_columns(
        pl.col("attribute").replace_strict(order, default=len(order)).alias("_order"),
        reference.alias("_ref"),
        pl.col("suppressed").fill_null(False).all().over("attribute", "group_value").alias("_all_hidden"),
    ).sort("_order", "attribute", "group_value")
    # Groups hidden in both directions are named under the chart instead of taking a row of dots.
    dropped: dict[str, list[str]] = {}
    for r in (
        groups.filter(pl.col("_all_hidden"))
        .unique(["attribute", "group_value"], maintain_order=True)
        .iter_rows(named=True)
    ):
        dropped.setdefault(attribute_label(r["attribute"], language), []).append(
            group_label(r["attribute"], r["group_value"], language)
        )
    rows = []
    for r in groups.filter(~pl.col("_all_hidden")).iter_rows(named=True):
        label = group_label(r["attribute"], r["group_value"], language)
        if r["_ref"]:
            label = f"{label} {text('reference_mark', language)}"
        rows.append(
            {
                "section": attribute_label(r["attribute"], language),
                "label": label,
                "series": moves.get(r["direction"], r["direction"]),
                "rate": r["rate"],
                "lo": r.get("rate_ci_low"),
                "hi": r.get("rate_ci_high"),
                "n": r["group_n"] if r["rate"] is not None else None,
                "flagged": bool(r.get("flag")),
            }
        )
    hidden_count = sum(len(v) for v in dropped.values())
    note = ""
    if hidden_count:
        names = "; ".join(f"{attribute}: {', '.join(values)}" for attribute, values in dropped.items())
        note = text("impact_groups_hidden_note", language).format(
            count=fmt_int(hidden_count, language), groups=names
        )
    if not rows:
        return all_hidden(title, language) + (f"<p class='notice'>{esc(note)}</p>" if note else "")
    tidy = pl.DataFrame(
        rows,
        schema={"section": pl.String, "label": pl.String, "series": pl.String, "rate": pl.Float64,
                "lo": pl.Float64, "hi": pl.Float64, "n": pl.Int64, "flagged": pl.Boolean},
    )  # fmt: skip
    everyone = frame.filter(pl.col("group_value").is_null())
    references = {
        moves.get(r["direction"], r["direction"]): r["rate"]
        for r in everyone.unique(["direction"]).iter_rows(named=True)
        if r["rate"] is not None
    }
    series = [moves["down"], moves["up"]]
    figure = figures.group_rates(
        tidy, series, {moves["down"]: MOVED_DOWN, moves["up"]: MOVED_UP}, language,
        text("axis_moved_share", language), text("axis_attribute_group", language), references=references,
    )  # fmt: skip
    n = everyone["group_n"].drop_nulls()
    chart = render_chart(
        Chart(
            figure,
            title,
            text("chart_impact_groups_explain", language),
            _source("marts.calibration_moves", language),
            int(n.max()) if n.len() else None,  # type: ignore[arg-type]
            note=note,
        ),
        ctx,
    )
    column = f"finding_{language}" if f"finding_{language}" in frame.columns else "finding_nl"
    findings = (
        groups.filter(pl.col("flag").fill_null(False) & pl.col(column).is_not_null())[column].to_list()
        if column in groups.columns and "flag" in groups.columns
        else []
    )
    if findings:
        items = "".join(f"<li>{esc(f)}</li>" for f in findings)
        listing = f"<p class='explain'>{esc(text('impact_findings', language))}</p><ul>{items}</ul>"
    else:
        listing = f"<p class='explain'>{esc(text('impact_no_findings', language))}</p>"
    return chart + listing


# ---------------------------------------------------------------------------------------------- within function level
IMPACT_LEVELS = "calibration_moves_by_level"


def _level_subject(attribute: str, group: str, language: str) -> str:
    if attribute == "gender":
        return group_label(attribute, group, language)
    return f"{attribute_label(attribute, language).lower()} {group_label(attribute, group, language)}"


def level_sentence(row: dict, reference: dict, period: str, language: str) -> str:
    """One flagged comparison inside a function level, from the published (protected) values only."""
    moves = text("move_labels", language)
    more = row["rate"] > reference["rate"]
    subject = _level_subject(row["attribute"], row["group_value"], language)
    return text("impact_levels_sentence", language).format(
        subject=subject[:1].upper() + subject[1:],
        level=row["function_level"],
        period=period,
        how=text("impact_levels_more" if more else "impact_levels_less", language),
        direction=moves.get(row["direction"], row["direction"]).lower(),
        reference=_level_subject(row["attribute"], reference["group_value"], language),
        count=fmt_int(row["count"], language),
        n=fmt_int(row["group_n"], language),
        rate=fmt_pct(row["rate"], language, 1),
        ref_count=fmt_int(reference["count"], language),
        ref_n=fmt_int(reference["group_n"], language),
        ref_rate=fmt_pct(reference["rate"], language, 1),
        odds=fmt_number(row["odds_ratio"], language, 2),
        p=_p_text(row["p_value"], language),
        q=_p_text(row["q_value"], language),
    )


def _p_text(p: float | None, language: str, sign: bool = True) -> str:
    """A published (3-decimal) p or q: "< 0,001" below 0.001, else "= 0,433" (without the "= " for a table)."""
    if p is None:
        return "–"
    if p < 0.001:
        return "< " + fmt_number(0.001, language, 3)
    return ("= " if sign else "") + fmt_number(p, language, 3)


def _odds(women: dict, men: dict) -> float | None:
    """Odds ratio women vs men from the four shown counts (the same as the published one, oriented)."""
    a, b = women["count"], women["group_n"] - women["count"]
    c, d = men["count"], men["group_n"] - men["count"]
    return (a * d) / (b * c) if b * c > 0 else None


def _gender_level_rows(frame: pl.DataFrame, direction: str, language: str) -> pl.DataFrame:
    """Women and men side by side per function level (one direction), with the comparison where shown."""
    part = frame.filter((pl.col("attribute") == "gender") & (pl.col("direction") == direction))
    out = []
    for (level,), rows in part.partition_by("function_level", as_dict=True, maintain_order=True).items():
        by_group = {r["group_value"]: r for r in rows.iter_rows(named=True)}
        women, men = by_group.get(WOMEN), by_group.get(MEN)
        if women is None or men is None:
            continue
        compared = next(
            (
                r
                for r in (women, men)
                if r.get("p_value") is not None and r["group_value"] != r["reference_group"]
            ),
            None,
        )
        out.append(
            {
                "function_level": level,
                **women_and_men(women, men),
                "odds_ratio": _odds(women, men) if compared is not None else None,
                "p_value": _p_text(compared["p_value"], language, False) if compared is not None else None,
                "q_value": _p_text(compared["q_value"], language, False) if compared is not None else None,
                "flag": bool(compared and compared.get("flag")),
                "women_hidden": bool(women["suppressed"]),
                "men_hidden": bool(men["suppressed"]),
                "compare_hidden": compared is None,
            }
        )
    schema = {"function_level": pl.String, "women_n": pl.Int64, "women_count": pl.Int64,
              "women_rate": pl.Float64, "men_n": pl.Int64, "men_count": pl.Int64, "men_rate": pl.Float64,
              "odds_ratio": pl.Float64, "p_value": pl.String, "q_value": pl.String, "flag": pl.Boolean,
              "women_hidden": pl.Boolean, "men_hidden": pl.Boolean, "compare_hidden": pl.Boolean}  # fmt: skip
    return pl.DataFrame(out, schema=schema)


def _gender_level_table(rows: pl.DataFrame, language: str, caption: str) -> str:
    women, men = (group_label("gender", g, language).capitalize() for g in (WOMEN, MEN))
    columns = [
        Column("function_level", attribute_label("function_level", language)),
        Column("women_n", f"{women}: n", "int", hidden_flag="women_hidden"),
        Column(
            "women_count",
            f"{women}: {text('impact_levels_moved', language)}",
            "int",
            hidden_flag="women_hidden",
        ),
        Column("women_rate", f"{women}: %", "pct", hidden_flag="women_hidden"),
        Column("men_n", f"{men}: n", "int", hidden_flag="men_hidden"),
        Column(
            "men_count", f"{men}: {text('impact_levels_moved', language)}", "int", hidden_flag="men_hidden"
        ),
        Column("men_rate", f"{men}: %", "pct", hidden_flag="men_hidden"),
        Column("odds_ratio", text("impact_levels_odds", language), "num", 2, hidden_flag="compare_hidden"),
        Column("p_value", "Fisher p", "text", hidden_flag="compare_hidden"),
        Column("q_value", "q (BH)", "text", hidden_flag="compare_hidden"),
        Column("flag", text("flagged", language).capitalize(), "flag", hidden_flag=None),
    ]
    return html_table(rows, columns, language, caption)


def _impact_levels(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    """Who was moved more often inside the same function level (complete windows of cycles pooled): women and
    men per level in a table, and every flagged comparison of any attribute as a sentence."""
    language = ctx.language
    title = text("impact_levels_title", language)
    frame = data.get(IMPACT_LEVELS, organization, cycle)
    if frame is None:
        return unavailable(title, "marts.calibration_moves_strata", language)
    if frame.height == 0:
        return (
            f"<section class='table-block'><h3>{esc(title)}</h3>"
            f"<p class='notice'>{esc(text('impact_levels_no_window', language))}</p></section>"
        )
    period = window_span(frame)
    groups = {
        (r["direction"], r["attribute"], r["function_level"], r["group_value"]): r
        for r in frame.iter_rows(named=True)
    }
    # Sentences for every comparison more or less often than chance explains (BH q below the policy's
    # metrics.fdr) and every flagged one (also practically large, metrics.practical_effect).
    policy = data.policy_of(organization, cycle)  # the FDR of the policy this cycle was judged by
    fdr = policy.typed.metrics.fdr if policy is not None else None
    significant = pl.col("flag").fill_null(False)
    if fdr is not None:
        significant = significant | (pl.col("q_value") < float(fdr)).fill_null(False)
    sentences = []
    for r in frame.filter(significant).sort("direction", "attribute", "function_level").iter_rows(named=True):
        reference = groups.get((r["direction"], r["attribute"], r["function_level"], r["reference_group"]))
        if reference is None or reference["rate"] is None or r["rate"] is None or r["odds_ratio"] is None:
            continue
        sentences.append(level_sentence(r, reference, period, language))
    if sentences:
        head = (
            text("impact_levels_significant", language).format(fdr=fmt_number(float(fdr), language, 2))
            if fdr is not None
            else text("impact_findings", language)
        )
        listing = (
            f"<p class='explain'>{esc(head)}</p>"
            f"<ul class='findings'>{''.join(f'<li><strong>{esc(s)}</strong></li>' for s in sentences)}</ul>"
        )
    else:
        listing = f"<p class='explain'>{esc(text('impact_levels_no_findings', language))}</p>"
    moves = text("move_labels", language)
    tables = []
    for direction in ("down", "up"):
        rows = _gender_level_rows(frame, direction, language)
        if rows.height == 0:
            continue
        caption = text("impact_levels_caption", language).format(
            direction=moves[direction].lower(), period=period
        )
        if direction == "down":
            tables.append(_gender_level_table(rows, language, caption))
        else:
            table = _gender_level_table(rows, language, "")
            tables.append(f"<details><summary>{esc(caption)}</summary>{table}</details>")
    left_out = bool(frame["others_left_out"].any()) if "others_left_out" in frame.columns else False
    extra = f"<p class='note'>{esc(text('impact_levels_left_out', language))}</p>" if left_out else ""
    explain = text("impact_levels_explain", language).format(period=period)
    return table_block(
        title, explain, _source("marts.calibration_moves_strata", language), listing + "".join(tables),
        language, extra=extra,
    )  # fmt: skip


def _spread_subject(row: dict, language: str) -> str:
    """What a spread row compares: the units of a dimension, or a group against its reference."""
    if row["measure"] == "unit_sd":
        return text("spread_units", language).get(row["dimension"], row["dimension"])
    attribute = row["dimension"]
    return (
        f"{attribute_label(attribute, language)}: {group_label(attribute, row.get('group_value'), language)} "
        f"{text('versus', language)} {group_label(attribute, row.get('reference_group'), language)}"
    )


def _impact_spread(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    language = ctx.language
    title = text("impact_spread_title", language)
    frame = data.get(IMPACT_SPREAD, organization, cycle)
    if frame is None:
        return unavailable(title, "marts.calibration_spread", language)
    column = f"sentence_{language}" if f"sentence_{language}" in frame.columns else "sentence_nl"
    rows = (
        frame.filter(pl.col(column).is_not_null())
        .with_columns(
            (pl.col("measure") != "unit_sd").alias("_gap"),
            pl.col("dimension").replace_strict(SPREAD_ORDER, default=len(SPREAD_ORDER)).alias("_dim"),
            pl.col("verdict").is_in(["narrowed", "widened"]).fill_null(False).alias("_clear"),
        )
        .sort("_gap", "_dim", "dimension", "group_value")
    )

    def items(part: pl.DataFrame) -> str:
        return "".join(
            f"<li><strong>{esc(_spread_subject(r, language))}</strong> — {esc(r[column])}</li>"
            for r in part.iter_rows(named=True)
        )

    clear = rows.filter(pl.col("_clear"))
    unclear = rows.filter(~pl.col("_clear"))
    if rows.height == 0:
        listing = f"<p class='notice'>{esc(text('impact_spread_none', language))}</p>"
    else:
        listing = (
            f"<ul class='verdicts'>{items(clear)}</ul>"
            if clear.height
            else f"<p class='explain'>{esc(text('impact_spread_no_clear', language))}</p>"
        )
        if unclear.height:
            summary = text("impact_spread_unclear", language).format(count=fmt_int(unclear.height, language))
            listing += f"<details><summary>{esc(summary)}</summary><ul>{items(unclear)}</ul></details>"
    return (
        f"<section class='table-block'><h3>{esc(title)}</h3>"
        f"<p class='explain'>{esc(text('impact_spread_explain', language))}</p>{listing}"
        f"<p class='meta' title='{esc(text('source', language))}: marts.calibration_spread'></p></section>"
    )


def _impact(data: SiteData, ctx: PageContext, organization: str, cycle: int) -> str:
    """Calibration impact (issue 10): what the calibration meeting did to the evaluators' proposals."""
    language = ctx.language
    title = text("impact_title", language)
    parts = [f"<h2 id='impact'>{esc(title)}</h2>"]
    departments = data.get(IMPACT_DEPARTMENTS, organization, cycle)
    if departments is None:
        return parts[0] + unavailable(title, "marts.calibration_impact", language)
    if departments.height == 0:
        return parts[0] + f"<p class='notice'>{esc(text('impact_no_proposals', language))}</p>"
    parts.append(f"<p class='lead'>{esc(text('impact_intro', language))}</p>")
    parts.append(_impact_summary(departments, language))
    parts.append(_impact_departments(departments, ctx))
    parts.append(_impact_before_after(data, ctx, organization, cycle))
    parts.append(_impact_groups(data, ctx, organization, cycle))
    parts.append(_impact_levels(data, ctx, organization, cycle))
    parts.append(_impact_spread(data, ctx, organization, cycle))
    return "\n".join(p for p in parts if p)
