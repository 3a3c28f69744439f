"""Page 1 — calibration per department (Z-10; PLOEG F-3), in two audiences (docs/privacy.md).

Management site (`build`, management release): calibration/index.html lists the departments of the cycle
with the organisation's distribution; calibration/<department>.html shows one department's distribution
against the organisation and the guideline, by function level, and its evaluators, from the protected
`ratings` (small groups hidden, complements within the table): aggregates only, no cases.

Meeting pack (`build_packs`, meeting release): calibration/<department>.html with the same sections from the
department's own unsuppressed counts (`pack_ratings`) and the confidential worklist of its cases; rendered
into no site: pipelines/packs.py re-identifies it and writes it owner-only. A menu switches department (and
cycle) without any network request. Both print on A4.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from dashboards import figures, theme
from dashboards.components import (
    HIDDEN_MARK,
    Chart,
    Column,
    PageContext,
    all_hidden,
    esc,
    hidden_legend,
    html_table,
    nav_select,
    render_chart,
    shell,
    table_block,
    unavailable,
    unique_slugs,
)
from dashboards.i18n import fmt_int, fmt_number, text
from dashboards.pages import SiteData
from dashboards.pages import evaluators_section as evr
from models.releases.calibration import BAND_MEMBERS

RATINGS = "ratings"
# The meeting release (models.releases.meeting): each department's own counts unsuppressed, the organisation
# as published in `ratings`. Only the packs read it (the management site's pages never get it).
PACK_RATINGS = "pack_ratings"
SCALE = "rating_scale"
LENIENCY = "leniency"
WORKLIST = "worklist"
WORKLIST_ROWS = 250  # cases shown per department page; the rest stay in the confidential table
UNITS = "units"


def department_file(name: str, names: Sequence[str] = ()) -> str:
    """A readable, safe file name for a department, unique among `names` (economie.html; its text never
    becomes a path: see components.unique_slugs)."""
    return unique_slugs([*names, name])[name] + ".html"


def scale(
    data: SiteData, organization: str, measure: str, language: str
) -> tuple[list[str], dict[str, str], dict[str, float]]:
    """Codes low to high, their labels and the guideline shares of one measure."""
    frame = data.get(SCALE, organization)
    if frame is None or frame.height == 0:
        return [], {}, {}
    part = frame.filter(pl.col("measure") == measure).sort("position")
    codes = part["rating"].to_list()
    label_col = f"label_{language}" if f"label_{language}" in part.columns else "label_nl"
    labels = dict(zip(codes, part[label_col].to_list(), strict=True)) if label_col in part.columns else {}
    guideline = {}
    if "guideline_share" in part.columns:
        guideline = {
            c: g for c, g in zip(codes, part["guideline_share"].to_list(), strict=True) if g is not None
        }
    return codes, labels, guideline


def measures(ratings: pl.DataFrame) -> list[str]:
    found = ratings["measure"].unique().to_list()
    return sorted(found, key=lambda m: (m != "rating", m))


def measure_title(measure: str, language: str) -> str:
    return text("measure_" + measure, language) if ("measure_" + measure) in _MEASURES else measure


_MEASURES = {"measure_rating", "measure_salary_decision"}


def departments(
    data: SiteData, organization: str, cycle: int, source: str = RATINGS
) -> list[tuple[str, int | None]]:
    """Departments of the cycle with their n (None when hidden), from `source`: the protected `ratings`
    (management site) or the pack's ratings (meeting release). Where a department's distribution has a hidden
    cell, `ratings` gives its n over the shown cells only (:func:`excluded`)."""
    rows = _department_totals(data, organization, cycle, source)
    return list(zip(rows["department"].to_list(), rows["unit_n"].to_list(), strict=True))


def excluded(data: SiteData, organization: str, cycle: int, source: str = RATINGS) -> set[str]:
    """Departments whose n counts only the people in their shown cells ("excl. n < k")."""
    rows = _department_totals(data, organization, cycle, source)
    return set(rows.filter(pl.col("unit_excl"))["department"].to_list())


def _department_totals(data: SiteData, organization: str, cycle: int, source: str) -> pl.DataFrame:
    ratings = data.get(source, organization, cycle)
    schema = {"department": pl.String, "unit_n": pl.Int64, "unit_excl": pl.Boolean}
    if ratings is None or ratings.height == 0:
        return pl.DataFrame(schema=schema)
    if "unit_excl" not in ratings.columns:
        ratings = ratings.with_columns(pl.lit(False).alias("unit_excl"))
    if "unit_n" not in ratings.columns:
        ratings = ratings.with_columns(pl.col("n").alias("unit_n"))
    return (
        ratings.filter(
            (pl.col("measure") == "rating")
            & pl.col("department").is_not_null()
            & pl.col("function_level").is_null()
            & pl.col("rating").is_null()
        )
        .sort("department")
        .select(
            "department",
            pl.col("unit_n").cast(pl.Int64),
            pl.col("unit_excl").fill_null(False),
        )
    )


def _n_text(n: int | None, excl: bool, language: str) -> str:
    """ "n = 51" or "n = 51 (excl. n < k)"; "·" when hidden."""
    if n is None:
        return "·"
    return fmt_int(n, language) + (f" ({text('excl_hidden_short', language)})" if excl else "")


def _distribution_chart(
    ratings: pl.DataFrame,
    department: str | None,
    measure: str,
    data: SiteData,
    ctx: PageContext,
    organization: str,
) -> str:
    language = ctx.language
    codes, labels, guideline = scale(data, organization, measure, language)
    part = ratings.filter(
        (pl.col("measure") == measure) & pl.col("function_level").is_null() & pl.col("rating").is_not_null()
    )
    org = part.filter(pl.col("department").is_null())
    if not codes:
        codes = org["rating"].to_list()
    rows = []
    series = []
    n_dept = None
    if department is not None:
        mine = part.filter(pl.col("department") == department)
        n_dept = mine["unit_n"].drop_nulls().first() if mine.height else None
        series.append(department)
        rows += [
            {"series": department, "category": r["rating"], "share": r["share"], "n": r["n"]}
            for r in mine.iter_rows(named=True)
        ]
    org_label = text("organisation", language)
    series.append(org_label)
    rows += [
        {"series": org_label, "category": r["rating"], "share": r["share"], "n": r["n"]}
        for r in org.iter_rows(named=True)
    ]
    if guideline:
        guide_label = text("guideline", language)
        series.append(guide_label)
        rows += [{"series": guide_label, "category": c, "share": g, "n": None} for c, g in guideline.items()]
    frame = pl.DataFrame(
        rows, schema={"series": pl.String, "category": pl.String, "share": pl.Float64, "n": pl.Int64}
    )
    colours = {org_label: theme.ORG, text("guideline", language): theme.GUIDELINE}
    if department is not None:
        colours[department] = theme.HIGHLIGHT
    org_n = org["unit_n"].drop_nulls().first() if org.height else None
    title = text("chart_distribution_title", language).format(
        measure=measure_title(measure, language).lower()
    )
    note = ""
    if (
        department is not None
        and frame.filter((pl.col("series") == department) & pl.col("share").is_not_null()).height == 0
    ):
        counts = {
            r["category"]: r["n"] for r in frame.filter(pl.col("series") == department).iter_rows(named=True)
        }
        if any(v is not None for v in counts.values()):
            # The total is hidden (for instance because a small unrated count would follow from it), so there
            # are no shares; the published counts are still what the meeting needs.
            listed = "; ".join(
                f"{labels.get(c, c)} "
                + (HIDDEN_MARK if counts.get(c) is None else fmt_int(int(counts[c] or 0), language))
                for c in codes
                if c in counts
            )
            note = text("department_counts_note", language).format(counts=listed)
        else:
            note = text("department_hidden_note", language)
    units = [(org_label, org)]
    if department is not None:
        units.insert(0, (department, part.filter(pl.col("department") == department)))
    excl = [
        name
        for name, rows in units
        if "unit_excl" in rows.columns and rows["unit_excl"].fill_null(False).any()
    ]
    if excl and not note:
        note = text("excl_hidden_note", language).format(units=", ".join(excl))
    figure = figures.distribution_bars(
        frame,
        codes,
        labels,
        series,
        colours,
        language,
        text("axis_rating", language),
        text("axis_share_people", language),
    )
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_distribution_explain" if department else "chart_org_distribution_explain", language),
            "marts.rating_distribution (" + text("protected", language) + ")",
            _int_or_none(n_dept if department is not None else org_n),
            note=note,
        ),
        ctx,
    )


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _levels_chart(
    ratings: pl.DataFrame, department: str, measure: str, data: SiteData, ctx: PageContext, organization: str
) -> str:
    language = ctx.language
    codes, labels, _ = scale(data, organization, measure, language)
    part = ratings.filter(
        (pl.col("measure") == measure)
        & (pl.col("department") == department)
        & pl.col("function_level").is_not_null()
    )
    totals = part.filter(pl.col("rating").is_null())
    present = totals.filter(pl.col("n").is_null() | (pl.col("n") > 0)).sort("function_level")
    # A band is shown with its whole distribution, or over its shown cells ("excl. n < k", as the department's
    # own distribution) where a rating rare in the whole department is hidden inside it and at least two of its
    # ratings are shown; otherwise it is counted as not shown.
    spread = (
        part.filter(pl.col("rating").is_not_null())
        .group_by("function_level")
        .agg((pl.col("share").fill_null(0.0) > 0).sum().alias("_shown_ratings"))
    )
    present = present.join(spread, on="function_level", how="left").with_columns(
        (
            pl.col("unit_visible")
            | (
                pl.col("unit_excl").fill_null(False)
                & pl.col("unit_n").is_not_null()
                & (pl.col("_shown_ratings").fill_null(0) >= 2)
            )
        ).alias("_shown")
    )
    shown = present.filter(pl.col("_shown"))["function_level"].to_list()
    hidden = present.filter(~pl.col("_shown"))["function_level"].to_list()
    excl = present.filter(pl.col("_shown") & ~pl.col("unit_visible"))["function_level"].to_list()
    title = text("chart_levels_title", language)
    if not shown and not hidden:
        if ratings.filter((pl.col("measure") == measure) & (pl.col("department") == department)).height:
            # Its function levels form a single band: the department's distribution above.
            return f"<div class='unavailable'><strong>{esc(title)}</strong> — {esc(text('levels_one_band', language))}</div>"
        return unavailable(title, "marts.rating_distribution", language)
    if not shown:
        return all_hidden(title, language)
    cells = part.filter(pl.col("rating").is_not_null() & pl.col("function_level").is_in(shown)).select(
        pl.col("function_level").alias("group"), pl.col("rating").alias("category"), "share"
    )
    figure = figures.stacked_shares(
        cells, shown, codes or cells["category"].unique().to_list(), labels, language,
        text("axis_share_people", language), text("axis_function_level", language),
    )  # fmt: skip
    notes = []
    # Bands of adjacent small function levels (models.releases.calibration.banded_department_levels): say so.
    if BAND_MEMBERS in present.columns:
        bands = present.filter(pl.col(BAND_MEMBERS).fill_null(1) > 1)["function_level"].to_list()
        if bands:
            notes.append(text("levels_banded_note", language).format(bands=", ".join(bands)))
    if excl:
        notes.append(text("excl_hidden_note", language).format(units=", ".join(excl)))
    if hidden:
        notes.append(text("levels_hidden_count", language).format(count=fmt_int(len(hidden), language)))
    note = " ".join(notes)
    n = int(present.filter(pl.col("function_level").is_in(shown))["unit_n"].drop_nulls().sum())
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_levels_explain", language),
            "marts.rating_distribution (" + text("protected", language) + ")",
            n,
            note=note,
        ),
        ctx,
    )


def _evaluators_chart(
    data: SiteData, ctx: PageContext, organization: str, cycle: int, department: str | None, measure: str
) -> str:
    language = ctx.language
    title = text("chart_evaluators_title", language)
    frame = data.get(LENIENCY, organization, cycle)
    if frame is None:
        return unavailable(title, "marts.evaluator_leniency", language)
    frame = frame.filter(pl.col("measure") == measure)
    if department is not None:
        frame = frame.filter(pl.col("department") == department)
    if frame.height == 0:
        return unavailable(title, "marts.evaluator_leniency", language)
    shown = frame.filter(pl.col("effect").is_not_null())
    hidden = frame.height - shown.height
    note = text("evaluators_hidden_note", language).format(count=fmt_int(hidden, language)) if hidden else ""
    if shown.height == 0:
        return all_hidden(title, language) + (f"<p class='notice'>{esc(note)}</p>" if note else "")
    tidy = shown.select(
        pl.col("evaluator_id").alias("label"),
        pl.col("effect").alias("estimate"),
        pl.col("ci_lo").alias("lo"),
        pl.col("ci_hi").alias("hi"),
        pl.col("n_cycle").alias("n"),
        pl.col("flag").fill_null(False).alias("flagged")
        if "flag" in shown.columns
        else pl.lit(False).alias("flagged"),
    )
    figure = figures.caterpillar(
        tidy, language, text("axis_evaluator_effect", language), text("axis_evaluator", language)
    )
    return render_chart(
        Chart(
            figure,
            title,
            text("chart_evaluators_explain", language),
            "marts.evaluator_leniency (" + text("protected", language) + ")",
            int(shown["n_cycle"].sum()),
            note=note,
        ),
        ctx,
    )


def _worklist(data: SiteData, ctx: PageContext, organization: str, cycle: int, department: str) -> str:
    language = ctx.language
    title = text("worklist_title", language)
    if not data.options.include_worklist:
        return f"<h2>{esc(title)}</h2><p class='explain'>{esc(text('worklist_left_out', language))}</p>"
    frame = evr.fair_worklist_rows(
        data.get(evr.FAIR_WORKLIST, organization, cycle), data.get(WORKLIST, organization, cycle)
    )
    banner = f"<div class='confidential'>{esc(text('worklist_confidential', language))}</div>"
    if frame is None:
        return f"<h2>{esc(title)}</h2>" + unavailable(title, "marts.calibration_worklist", language)
    rows = frame.filter(pl.col("department") == department)
    if rows.height == 0:
        return f"<h2>{esc(title)}</h2>{banner}<p class='explain'>{esc(text('worklist_empty', language))}</p>"
    labels = pl.DataFrame(schema={"measure": pl.String, "rating": pl.String, "label": pl.String})
    scales = data.get(SCALE, organization)
    if scales is not None and scales.height:
        col = f"label_{language}" if f"label_{language}" in scales.columns else "label_nl"
        labels = scales.select("measure", "rating", pl.col(col).alias("label"))
    reason_col = f"reason_{language}" if f"reason_{language}" in rows.columns else "reason_nl"
    if "previous_rating" not in rows.columns:
        rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias("previous_rating"))
    shown = (
        rows.join(labels.rename({"label": "rating_label"}), on=["measure", "rating"], how="left")
        .join(
            labels.rename({"rating": "previous_rating", "label": "previous_label"}),
            on=["measure", "previous_rating"],
            how="left",
        )
        .with_columns(
            pl.coalesce("rating_label", "rating").alias("rating_label"),
            pl.coalesce("previous_label", "previous_rating").alias("previous_label"),
            pl.col("measure")
            .replace_strict(
                {m: measure_title(m, language) for m in rows["measure"].unique().to_list()},
                return_dtype=pl.String,
            )
            .alias("measure_label"),
        )
        .sort([c for c in ("measure", "reason_code", "function_level", "employee_id") if c in rows.columns])
    )
    # A large department has thousands of cases: a meeting works through the first ones, and the page must
    # stay small enough to open from a file share (≤ 2 MB).
    note = ""
    if shown.height > WORKLIST_ROWS:
        note = (
            "<p class='notice'>"
            + esc(
                text("worklist_truncated", language).format(
                    shown=fmt_int(WORKLIST_ROWS, language), total=fmt_int(shown.height, language)
                )
            )
            + "</p>"
        )
        shown = shown.head(WORKLIST_ROWS)
    headers = text("worklist_headers", language)
    columns = [
        Column("employee_id", headers["employee_id"], "code", hidden_flag=None),
        Column("evaluator_id", headers["evaluator_id"], "code", hidden_flag=None),
        Column("function_level", headers["function_level"], hidden_flag=None),
        Column("measure_label", headers["measure"], hidden_flag=None),
        Column("rating_label", headers["rating"], hidden_flag=None),
        Column("previous_label", headers["previous_rating"], hidden_flag=None),
        Column(reason_col, headers["reason"], hidden_flag=None),
    ]
    people = rows["employee_id"].n_unique()
    table = table_block(
        title,
        text("worklist_explain", language),
        "marts.calibration_worklist",
        note + html_table(shown, columns, language),
        language,
        n=people,
    )
    return f"<h2>{esc(title)}</h2>{banner}<div class='worklist'>{table}</div>"


def _unit_summary(
    data: SiteData, organization: str, cycle: int, department: str, measure: str, language: str
) -> str:
    units = data.get(UNITS, organization, cycle)
    if units is None:
        return ""
    row = units.filter(
        (pl.col("grouping") == "department") & (pl.col("unit") == department) & (pl.col("measure") == measure)
    )
    if row.height == 0:
        return f"<p class='explain'>{esc(text('unit_summary_hidden', language))}</p>"
    if row["adjusted_mean"][0] is None:
        flagged = "flag" in row.columns and bool(row["flag"][0])
        if flagged:
            direction = row["direction"][0] if "direction" in row.columns else None
            return (
                "<p class='explain'>"
                + esc(
                    text("unit_summary_flag_hidden", language).format(
                        direction=text("flag_" + (direction or "higher"), language)
                    )
                )
                + "</p>"
            )
        return f"<p class='explain'>{esc(text('unit_summary_hidden', language))}</p>"
    r = row.row(0, named=True)
    key = "unit_summary_flag" if r.get("flag") else "unit_summary_ok"
    return (
        "<p class='explain'>"
        + esc(
            text(key, language).format(
                mean=fmt_number(r["adjusted_mean"], language, 2),
                org=fmt_number(r["org_mean"], language, 2) if r.get("org_mean") is not None else "–",
                n=fmt_int(r["n"], language) if r.get("n") is not None else "–",
                direction=text("higher" if r.get("direction") == "higher" else "lower", language),
            )
        )
        + "</p>"
    )


def _menus(ctx: PageContext, current: str, names: list[str]) -> str:
    options = [("index.html", text("all_departments", ctx.language))] + [
        (department_file(n, names), n) for n in names
    ]
    return nav_select(text("department", ctx.language), options, current, "department-menu")


def build(
    data: SiteData, context: Callable[..., PageContext], organization: str, cycle: int
) -> list[tuple[str, str]]:
    """The management site's calibration pages: the overview and one page per department, from the management
    release (`ratings`, `units`, `leniency`, `evaluator_report`); no case and no unsuppressed count."""
    pages: list[tuple[str, str]] = []
    ratings = data.get(RATINGS, organization, cycle)
    depts = departments(data, organization, cycle)
    names = [d for d, _ in depts]

    # Overview of the cycle's departments.
    ctx = context("calibration", 3)
    language = ctx.language
    parts = [
        f"<h1>{esc(text('page_calibration', language))}</h1>",
        f"<p class='lead'>{esc(text('page_intro_calibration', language))}</p>",
    ]
    if ratings is None or ratings.height == 0:
        parts.append(
            unavailable(
                text("chart_distribution_title", language).format(measure=""),
                "marts.rating_distribution",
                language,
            )
        )
    else:
        for measure in measures(ratings):
            parts.append(f"<h2>{esc(measure_title(measure, language))}</h2>")
            parts.append(_distribution_chart(ratings, None, measure, data, ctx, organization))
        partly = excluded(data, organization, cycle)
        items = "".join(
            f"<li><a href='{esc(department_file(name, names))}'>{esc(name)}</a> "
            f"<span class='meta'>(n = {esc(_n_text(n, name in partly, language))})</span></li>"
            for name, n in depts
        )
        parts.append(f"<h2>{esc(text('departments', language))}</h2><ul class='links'>{items}</ul>")
    menu = _menus(ctx, "index.html", names) if names else ""
    pages.append(
        ("calibration/index.html", shell(ctx, text("page_calibration", language), "\n".join(parts), menu))
    )
    if ratings is None or ratings.height == 0:
        return pages
    pages += _department_pages(data, context, organization, cycle, ratings, depts, pack=False)
    return pages


def build_packs(
    data: SiteData, context: Callable[..., PageContext], organization: str, cycle: int
) -> list[tuple[str, str]]:
    """The meeting packs (meeting release): one page per department with its own unsuppressed counts
    (`pack_ratings`) and its worklist; laid out as the management site's department pages, into no site
    (pipelines/packs.py writes them re-identified, owner-only)."""
    pack = data.get(PACK_RATINGS, organization, cycle)
    if pack is None or pack.height == 0:
        return []
    depts = departments(data, organization, cycle, PACK_RATINGS)
    return _department_pages(data, context, organization, cycle, pack, depts, pack=True)


def _department_pages(
    data: SiteData,
    context: Callable[..., PageContext],
    organization: str,
    cycle: int,
    ratings: pl.DataFrame,
    depts: list[tuple[str, int | None]],
    pack: bool,
) -> list[tuple[str, str]]:
    """One page per department from `ratings` (a pack: the meeting release, with the worklist; otherwise the
    management release, without it)."""
    pages: list[tuple[str, str]] = []
    names = [d for d, _ in depts]
    partly = excluded(data, organization, cycle, PACK_RATINGS if pack else RATINGS)
    report_rows = evr.department_rows(data.get("evaluator_report", organization, cycle))
    title_key = "pack_title" if pack else "department_page_title"
    for name, n in depts:
        ctx = context("calibration", 3)
        language = ctx.language
        file = department_file(name, names)
        parts = [
            f"<h1>{esc(text(title_key, language))}: {esc(name)}</h1>",
            f"<p class='lead'>{esc(ctx.organization_name)} · {esc(text('cycle', language))} {esc(cycle)} · "
            f"n = {esc(_n_text(n, name in partly, language))}</p>",
            f"<p class='explain'>{esc(text('pack_intro' if pack else 'department_page_intro', language))}</p>",
            hidden_legend(language),
        ]
        for measure in measures(ratings):
            parts.append(f"<h2>{esc(measure_title(measure, language))}</h2>")
            parts.append(_unit_summary(data, organization, cycle, name, measure, language))
            parts.append(_distribution_chart(ratings, name, measure, data, ctx, organization))
            parts.append(_levels_chart(ratings, name, measure, data, ctx, organization))
            parts.append(_evaluators_chart(data, ctx, organization, cycle, name, measure))
            # Printed, the pack flows on two A4 pages for ten worklist cases (issue 18): the evaluator report
            # prints its cut points compactly and the worklist follows it (no page break of its own).
            parts.append(evr.section(report_rows(measure, name), ctx, measure, scale(data, organization, measure, language)[1], name))  # fmt: skip
        if pack:
            parts.append(_worklist(data, ctx, organization, cycle, name))
        pages.append(
            (
                "calibration/" + file,
                shell(
                    ctx,
                    f"{text(title_key, language)}: {name}",
                    "\n".join(parts),
                    _menus(ctx, file, names),
                ),
            )
        )
    return pages
