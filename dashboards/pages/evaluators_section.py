"""The evaluator report's section (issue 23), for the calibration pack (one department's evaluators) and the
norming review (every evaluator of the organisation).

Takes the already-protected ``evaluator_report`` table (models.releases.evaluators) of one organisation and
cycle; every row covers the window of cycles ending at it (``window_first_cycle``): per pay-relevant cut point the share each evaluator
hands out, adjusted and shrunk, with its interval; the evaluators flagged there (also where their numbers
are hidden); use of the scale; bias toward groups; agreement where the evaluator changed; and how many fair
ratings cross a pay step. Evaluators appear by pseudonym.
"""

from __future__ import annotations

from collections.abc import Callable

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
from dashboards.i18n import fmt_int, text

TABLE = "evaluator_report"
FAIR_WORKLIST = "fair_worklist"  # models.releases.meeting: fair ratings across a pay step (confidential)
FAIR_REASON = "fair_rating"
SOURCE = "marts.evaluator_report"
SHOWN = 60  # evaluators per chart: flagged ones first, then the largest teams


def fair_worklist_rows(fair: pl.DataFrame | None, worklist: pl.DataFrame | None) -> pl.DataFrame | None:
    """The worklist with the fair-rating cases added (reason ``fair_rating``): each rating whose fair rating
    (what an average evaluator would have given the same team) lies across a pay-relevant cut point. The
    sentence of the mart says both ratings; ``previous_rating`` is empty for these rows."""
    if fair is None or fair.height == 0:
        return worklist
    rows = fair.select(
        "organization", "cycle", "department", "employee_id", "evaluator_id", "function_level", "measure",
        "rating", pl.lit(None, dtype=pl.String).alias("previous_rating"), pl.lit(FAIR_REASON).alias("reason_code"),
        pl.lit(None, dtype=pl.String).alias("rule"), "reason_nl", "reason_en",
    )  # fmt: skip
    if worklist is None:
        return rows
    return pl.concat(
        [worklist, rows.select([c for c in rows.columns if c in worklist.columns])], how="diagonal_relaxed"
    )


def _source(language: str) -> str:
    return f"{SOURCE} ({text('protected', language)})"


def _reason(language: str) -> str:
    return f"reason_{language}" if language in ("nl", "en") else "reason_nl"


def _cut_chart(rows: pl.DataFrame, code: str, label: str, ctx: PageContext) -> str:
    language = ctx.language
    title = text("evr_chart_title", language).format(outcome=label)
    if rows.height == 0:
        return ""
    if (
        rows.filter(pl.col("adjusted_share").is_not_null()).height == 0
        and not rows["flag"].fill_null(False).any()
    ):
        return all_hidden(title, language)
    note_parts = []
    if rows.height > SHOWN:
        note_parts.append(
            text("evr_cut_note", language).format(
                shown=fmt_int(SHOWN, language), total=fmt_int(rows.height, language)
            )
        )
        rows = rows.sort([pl.col("flag").fill_null(False), "n"], descending=True, nulls_last=True).head(SHOWN)
    hidden = rows.filter(pl.col("adjusted_share").is_null()).height
    if hidden:
        note_parts.append(text("evr_hidden_note", language).format(count=fmt_int(hidden, language)))
    status = rows["tau2_status"].drop_nulls()
    if status.len() and status[0] == "not_separable":
        note_parts.append(text("evr_not_separable", language))
    elif status.len() and status[0] == "uncertain":
        note_parts.append(text("evr_uncertain", language))
    reference = rows["org_share"].drop_nulls()
    tidy = rows.select(
        pl.col("evaluator_id").alias("label"),
        pl.col("adjusted_share").alias("share"),
        pl.col("adjusted_lo").alias("lo"),
        pl.col("adjusted_hi").alias("hi"),
        "observed",
        "expected",
        "n",
        pl.col("flag").fill_null(False).alias("flagged"),
    )
    figure = evaluator_figures.cut_point_shares(
        tidy,
        float(reference[0]) if reference.len() else None,
        language,
        text("evr_axis_share", language).format(outcome=label),
        text("axis_evaluator", language),
    )
    n = rows["n"].drop_nulls()
    return render_chart(
        Chart(
            figure,
            title,
            text("evr_chart_explain", language),
            _source(language),
            int(n.sum()) if n.len() else None,
            note=" ".join(note_parts),
        ),
        ctx,
    )


def _flagged(rows: pl.DataFrame, labels: dict[str, str], language: str) -> str:
    flagged = rows.filter(pl.col("flag").fill_null(False)).sort("item_position", "evaluator_id")
    if flagged.height == 0:
        return f"<p class='explain'>{esc(text('evr_no_flags', language))}</p>"
    reason = _reason(language)
    items = []
    for r in flagged.iter_rows(named=True):
        outcome = labels.get(r["item"], r["item"])
        verdict = text("evr_flag_" + ("higher" if r["direction"] == "higher" else "lower"), language).format(
            outcome=outcome
        )
        detail = f" {r[reason]}" if r.get(reason) else f" {text('evr_numbers_hidden', language)}"
        cases = r.get("fair_cases")
        fair = (
            " " + text("evr_fair_cases", language).format(count=fmt_int(int(cases), language))
            if cases is not None and cases > 0
            else ""
        )
        items.append(
            f"<li><code>{esc(r['evaluator_id'])}</code> — {esc(verdict)}{esc(detail)}{esc(fair)}</li>"
        )
    return f"<p class='explain'>{esc(text('evr_flagged_intro', language))}</p><ul class='explain'>{''.join(items)}</ul>"


def _scale_use(frame: pl.DataFrame, language: str) -> str:
    use = frame.filter(pl.col("aspect") == "scale_use")
    if use.height == 0:
        return ""
    wide = (
        use.select("evaluator_id", "item", "observed", "infit", "outfit", "flag", "status", "suppressed", "n")
        .group_by("evaluator_id")
        .agg(
            pl.col("n").max(),
            pl.col("observed").filter(pl.col("item") == "central").first().alias("central"),
            pl.col("observed").filter(pl.col("item") == "extreme").first().alias("extreme"),
            pl.col("observed").filter(pl.col("item") == "differentiation").first().alias("differentiation"),
            pl.col("infit").filter(pl.col("item") == "fit").first().alias("infit"),
            pl.col("outfit").filter(pl.col("item") == "fit").first().alias("outfit"),
            pl.col("flag").filter(pl.col("item") == "central").first().fill_null(False).alias("central_flag"),
            pl.col("flag").filter(pl.col("item") == "extreme").first().fill_null(False).alias("extreme_flag"),
            pl.col("status").filter(pl.col("item") == "fit").first().alias("fit_status"),
            pl.col("suppressed").fill_null(False).any().alias("suppressed"),
        )
    )
    words = text("evr_fit_words", language)
    wide = wide.with_columns(
        pl.col("fit_status").replace_strict(words, default=pl.col("fit_status")).alias("fit_word"),
        pl.when(pl.col("central_flag"))
        .then(pl.lit(text("evr_central", language)))
        .when(pl.col("extreme_flag"))
        .then(pl.lit(text("evr_extreme", language)))
        .otherwise(pl.lit(""))
        .alias("pattern"),
    ).sort(["central_flag", "extreme_flag", "evaluator_id"], descending=[True, True, False])
    note = ""
    if wide.height > SHOWN:
        # a large employer has thousands of evaluators; the flagged ones come first (sorted above)
        note = text("evr_cut_note", language).format(
            shown=fmt_int(SHOWN, language), total=fmt_int(wide.height, language)
        )
        wide = wide.head(SHOWN)
    headers = text("evr_scale_headers", language)
    columns = [
        Column("evaluator_id", headers["evaluator"], "code", hidden_flag=None),
        Column("n", headers["n"], "int"),
        Column("central", headers["central"], "pct", 0),
        Column("extreme", headers["extreme"], "pct", 0),
        Column("differentiation", headers["differentiation"], "num", 2),
        Column("infit", headers["infit"], "num", 2),
        Column("outfit", headers["outfit"], "num", 2),
        Column("fit_word", headers["fit"], hidden_flag=None),
        Column("pattern", headers["pattern"], "flag", hidden_flag=None),
    ]
    return table_block(
        text("evr_scale_title", language),
        text("evr_scale_explain", language),
        SOURCE,
        (f"<p class='notice'>{esc(note)}</p>" if note else "") + html_table(wide, columns, language),
        language,
    )


def _bias(frame: pl.DataFrame, language: str) -> str:
    bias = frame.filter((pl.col("aspect") == "bias") & pl.col("flag").fill_null(False))
    tested = frame.filter((pl.col("aspect") == "bias") & (pl.col("status") == "tested")).height
    intro = text("evr_bias_explain", language).format(tested=fmt_int(tested, language))
    if bias.height == 0:
        body = f"<p class='explain'>{esc(text('evr_bias_none', language))}</p>"
    else:
        reason = _reason(language)
        items = "".join(
            f"<li><code>{esc(r['evaluator_id'])}</code> — {esc(r['item'])}: {esc(r.get(reason) or text('evr_numbers_hidden', language))}</li>"
            for r in bias.sort("evaluator_id", "item").iter_rows(named=True)
        )
        body = f"<ul>{items}</ul>"
    return f"<h3>{esc(text('evr_bias_title', language))}</h3><p class='explain'>{esc(intro)}</p>{body}"


def _agreement(frame: pl.DataFrame, language: str) -> str:
    rows = frame.filter((pl.col("aspect") == "agreement") & pl.col("evaluator_id").is_null())
    if rows.height == 0:
        return ""
    reason = _reason(language)
    items = "".join(
        f"<li>{esc(text('evr_agreement_' + r['item'], language))}: "
        f"{esc(r.get(reason) or text('evr_numbers_hidden', language))}</li>"
        for r in rows.sort("item").iter_rows(named=True)
    )
    return (
        f"<h3>{esc(text('evr_agreement_title', language))}</h3>"
        f"<p class='explain'>{esc(text('evr_agreement_explain', language))}</p><ul>{items}</ul>"
    )


def department_rows(frame: pl.DataFrame | None) -> Callable[[str, str], pl.DataFrame | None]:
    """For the calibration packs: (measure, department) → the rows of `frame` (one organisation and cycle)
    that `section` reads for that department, split once for the cycle's packs rather than filtered from the
    whole frame for each of them. `section` gives the same page from them as from the whole frame."""
    if frame is None or "department" not in frame.columns:
        return lambda measure, department: frame
    organisation = frame.filter(pl.col("evaluator_id").is_null()).partition_by(
        "measure", as_dict=True, maintain_order=True
    )
    teams = frame.filter(pl.col("department").is_not_null()).partition_by(
        ["measure", "department"], as_dict=True, maintain_order=True
    )
    empty = frame.clear()

    def rows(measure: str, department: str) -> pl.DataFrame:
        parts = [teams.get((measure, department), empty), organisation.get((measure,), empty)]
        return pl.concat(parts, how="vertical_relaxed")

    return rows


def section(
    frame: pl.DataFrame | None,
    ctx: PageContext,
    measure: str,
    labels: dict[str, str],
    department: str | None = None,
) -> str:
    """The evaluator report of one measure: the protected frame of one organisation and cycle (None: the
    table was not built), the measure's code → label map, and the department of a calibration pack (None:
    every evaluator, for the norming review)."""
    language = ctx.language
    title = text("evr_title", language)
    head = f"<h3 id='evaluator-report-{esc(measure)}'>{esc(title)}</h3>"
    if frame is None:
        return head + (
            f"<p class='notice' title='{esc(source_title(SOURCE, language))}'>"
            f"{esc(text('evr_unavailable', language))}</p>"
        )
    part = frame.filter(pl.col("measure") == measure)
    organisation_rows = part.filter(pl.col("evaluator_id").is_null())
    if department is not None and "department" in part.columns:
        part = part.filter(pl.col("department") == department)
    else:
        part = part.filter(pl.col("evaluator_id").is_not_null())
    if part.height == 0:
        return head + f"<p class='notice'>{esc(text('evr_none', language))}</p>"
    first = part["window_first_cycle"].drop_nulls()
    start, end = (int(first.min()) if first.len() else None), ctx.cycle  # type: ignore[arg-type]
    # the window's cycles as the other pooled-window pages write them ("2022–2024"; one cycle alone)
    period = (
        f"{start}–{end}"
        if start is not None and end is not None and start != end
        else str(end or start or "")
    )
    intro = text("evr_intro", language).format(period=period)
    parts = [head, f"<p class='explain'>{esc(intro)}</p>"]
    cuts = part.filter((pl.col("aspect") == "cut_point") & pl.col("pay_relevant").fill_null(False))
    if cuts.height == 0:
        parts.append(f"<p class='explain'>{esc(text('evr_no_pay_cuts', language))}</p>")
    charts = [
        _cut_chart(cuts.filter(pl.col("item") == code), code, labels.get(code, code), ctx)
        for code in cuts.sort("item_position")["item"].unique(maintain_order=True).to_list()
    ]
    # In print the cut points' charts stand two by two (.print-pair: half the page wide each, site.js).
    parts.append(
        "<div class='print-pair'>" + "".join(charts) + "</div>" if len(charts) > 1 else "".join(charts)
    )
    parts.append(_flagged(cuts, labels, language))
    details = [_scale_use(part, language), _bias(part, language), _agreement(organisation_rows, language)]
    if department is None:
        parts += details
    else:
        # A calibration pack prints on two A4 pages (issue 18): its printout keeps the pay-relevant cut points
        # and the flagged evaluators, and says that the rest is on screen.
        screen = text("evr_print_screen_only", language)
        parts.append(f"<p class='explain print-only'>{esc(screen)}</p>")
        parts.append("<div class='no-print'>" + "\n".join(d for d in details if d) + "</div>")
    return "\n".join(p for p in parts if p)
