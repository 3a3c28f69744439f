"""HTML building blocks shared by every page: escaping, embedded figures, tables, notices, the page shell.

Everything from the data passes `esc` before it reaches HTML, and figures are embedded as JSON whose `<`, `>`
and `&` are written as \\u escapes, so nothing in a value can close the <script> element that carries it.
"""

from __future__ import annotations

import contextvars
import html
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl

from dashboards import theme
from dashboards.downloads import TableExport, export_from_frame
from dashboards.i18n import fmt_int, fmt_money, fmt_number, fmt_pct, glossary_terms, text

# Content-Security-Policy of every page: scripts and styles from the site folder only, no connections.
# Inline styles stay allowed because plotly.js sets style attributes and injects its own <style>.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'"
)

HIDDEN_MARK = "·"  # a hidden (suppressed) value
NOT_APPLICABLE = "–"

# Placeholders a page carries until dashboards.site knows where it is written: the page's own file name (its
# downloads are named after it) and the footer (build time and exports). Random per process, so no value in
# the data can spell them.
PAGE_TOKEN = "calibra-page-" + secrets.token_hex(8)
FOOTER_TOKEN = "calibra-footer-" + secrets.token_hex(8)


def esc(value: Any) -> str:
    """Text from the data, safe in HTML and in plotly labels (which render a subset of HTML)."""
    return html.escape("" if value is None else str(value), quote=True)


def plot_text(value: Any) -> str:
    """Text from the data for plotly labels and hover text: plotly renders a subset of HTML (links included)
    and decodes &lt; &gt; &amp; back to characters, so escaping those three keeps every string literal. (Quotes
    need no escaping there and plotly would show &quot; as is.)"""
    return html.escape("" if value is None else str(value), quote=False)


def script_json(payload: Any) -> str:
    """JSON that can sit inside <script type="application/json">: no `<`, `>`, `&` or line separators.

    orjson writes NaN and infinity as null (JSON has neither, and plotly leaves a null point out) and numpy
    values as numbers, in one pass; the standard library needed plotly's encoder plus a second round trip,
    which cost a third of drawing the site."""
    encoded = orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY).decode("utf-8")
    return (
        encoded.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


class FigureSpec:
    """A figure as plain plotly dicts: traces and layout. Publishing never builds a go.Figure, whose
    validation of every property costs more than the rest of the site together; the tests validate every
    published figure against plotly's schema instead."""

    def __init__(self, language: str, x_title: str, y_title: str, height: int = 380) -> None:
        self.data: list[dict[str, Any]] = []
        self.layout = theme.base_layout(language, height)
        self.layout["template"] = "none"
        self.layout["xaxis"] = {**self.layout["xaxis"], "title": {"text": plot_text(x_title)}}
        self.layout["yaxis"] = {**self.layout["yaxis"], "title": {"text": plot_text(y_title)}}
        self.layout["shapes"] = []

    def add_trace(self, trace: dict[str, Any]) -> None:
        self.data.append(trace)

    def update_layout(self, **changes: Any) -> None:
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(self.layout.get(key), dict):
                self.layout[key] = {**self.layout[key], **value}
            else:
                self.layout[key] = value

    def add_vline(self, x: float, line: dict[str, Any]) -> None:
        self.layout["shapes"].append(
            {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1, "line": line}
        )

    def add_hline(self, y: float, line: dict[str, Any]) -> None:
        self.layout["shapes"].append(
            {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": y, "y1": y, "line": line}
        )


def figure_payload(figure: FigureSpec) -> dict[str, Any]:
    """The figure as plotly.js takes it (a copy of the layout, so a page can set its title)."""
    return {"data": figure.data, "layout": dict(figure.layout)}


@dataclass
class Chart:
    """One chart as the pages show it: every chart carries a title, its n, a plain sentence and a source."""

    figure: FigureSpec
    title: str
    explain: str
    source: str
    n: int | None
    note: str = ""


@dataclass
class Column:
    name: str
    header: str
    kind: str = "text"  # text | int | num | pct | money | flag | code
    decimals: int = 1
    hidden_flag: str | None = "suppressed"


@dataclass
class PageContext:
    """What every page of one organisation and cycle needs for its header and menus."""

    language: str
    depth: int
    organization: str = ""
    organization_name: str = ""
    cycle: int | None = None
    cycles: Sequence[int] = ()
    current: str = ""
    # The page kinds of this page's site (its audience), in menu order: the menu lists only these.
    pages: Sequence[str] = ()
    charts: list[str] = field(default_factory=list)
    counter: list[int] = field(default_factory=lambda: [0])
    # Tables rendered on this page (by html_table) and the files their table blocks offer, by file name
    # relative to the page's folder (with PAGE_TOKEN for the page's own name).
    tables: dict[str, TableExport] = field(default_factory=dict)
    downloads: dict[str, TableExport] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The page being rendered: html_table and table_block register their downloads with it, so every
        # page's tables can be downloaded without each page passing its context down.
        _CURRENT_PAGE.set(self)

    @property
    def prefix(self) -> str:
        return "../" * self.depth

    def next_id(self, stem: str) -> str:
        self.counter[0] += 1
        return f"{stem}-{self.counter[0]}"


_CURRENT_PAGE: contextvars.ContextVar[PageContext | None] = contextvars.ContextVar("page", default=None)


def current_page() -> PageContext | None:
    return _CURRENT_PAGE.get()


class PageHTML(str):
    """A rendered page: its HTML, plus the tables its download links point to (written by dashboards.site)."""

    downloads: dict[str, TableExport]

    def __new__(cls, content: str, downloads: dict[str, TableExport] | None = None) -> PageHTML:
        page = super().__new__(cls, content)
        page.downloads = dict(downloads or {})
        return page


def slug(value: str, fallback: str = "x", limit: int = 48) -> str:
    """Lower-case ASCII letters, digits and hyphens only ("Financiën & P&O" -> "financien-p-o")."""
    folded = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii").lower()
    cleaned = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:limit].strip("-")
    return cleaned or fallback


def unique_slugs(
    names: Iterable[str], reserved: Iterable[str] = ("index",), limit: int = 48
) -> dict[str, str]:
    """A safe, unique file stem per name. A name whose slug no other name (nor a reserved stem) shares gets
    the plain slug; names that collide each get their slug plus a short hash of the name, so a stem does not
    depend on the order of the names."""
    import hashlib

    names = sorted(set(names))
    plain = {name: slug(name, "afdeling", limit) for name in names}
    count: dict[str, int] = {}
    for stem in plain.values():
        count[stem] = count.get(stem, 0) + 1
    taken = set(reserved)
    out = {}
    for name, stem in plain.items():
        if count[stem] > 1 or stem in taken:
            stem = f"{stem}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:8]}"
        out[name] = stem
    return out


def window_span(frame: pl.DataFrame) -> str:
    """The cycles a table of pooled-window rows covers ("2022–2024"; one cycle alone), from its `first_cycle`
    and `cycle` columns; "" when it has none."""
    first, last = frame["first_cycle"].drop_nulls(), frame["cycle"].drop_nulls()
    if not first.len() or not last.len():
        return ""
    start, end = int(first.min()), int(last.max())  # type: ignore[arg-type]
    return f"{start}–{end}" if start != end else str(end)


def source_title(source: str, language: str) -> str:
    """Where a figure comes from, for analysts: a tooltip, not text on the page."""
    return f"{text('source', language)}: {source}"


def render_chart(chart: Chart, ctx: PageContext) -> str:
    chart_id = ctx.next_id("chart")
    ctx.charts.append(chart_id)
    # Every chart states its n; where the n itself is hidden it says so with the hidden mark.
    n_text = f"n = {fmt_int(chart.n, ctx.language) if chart.n is not None else HIDDEN_MARK}"
    figure = figure_payload(chart.figure)
    title = dict(figure["layout"].get("title") or {})
    title.update({"text": plot_text(chart.title), "subtitle": {"text": plot_text(n_text)}})
    figure["layout"]["title"] = title
    payload = script_json(figure)
    note = f"<p class='notice'>{esc(chart.note)}</p>" if chart.note else ""
    return (
        f"<figure class='chart-block' data-title='{esc(chart.title)}'>"
        f"<div class='chart' id='{chart_id}' data-figure='{chart_id}-data' role='img' "
        f"aria-label='{esc(chart.title)}'></div>"
        f"<script type='application/json' id='{chart_id}-data'>{payload}</script>"
        f"<figcaption><p class='explain'>{esc(chart.explain)}</p>{note}"
        f"<p class='meta' title='{esc(source_title(chart.source, ctx.language))}'>{esc(n_text)}</p>"
        "</figcaption></figure>"
    )


def _cell(value: Any, column: Column, hidden: bool, language: str) -> str:
    if value is None:
        if hidden:
            return f"<td class='hidden' title='{esc(text('hidden_title', language))}'>{HIDDEN_MARK}</td>"
        return f"<td class='num'>{NOT_APPLICABLE}</td>" if column.kind != "text" else "<td></td>"
    if column.kind == "int":
        return f"<td class='num'>{fmt_int(int(value), language)}</td>"
    if column.kind == "num":
        return f"<td class='num'>{fmt_number(float(value), language, column.decimals)}</td>"
    if column.kind == "pct":
        return f"<td class='num'>{fmt_pct(float(value), language, column.decimals)}</td>"
    if column.kind == "money":
        return f"<td class='num'>{fmt_money(float(value), language)}</td>"
    if column.kind == "flag":
        if isinstance(value, bool):
            return f"<td class='flag'>{esc(text('yes', language))}</td>" if value else "<td></td>"
        return f"<td class='flag'>{esc(value)}</td>"
    if column.kind == "code":
        return f"<td><code>{breakable(value)}</code></td>"
    return f"<td>{breakable(value)}</td>"


_LONG_WORD = re.compile(r"[^\s]{18,}")


def breakable(value: Any) -> str:
    """Escaped text in which a long word (a file name, a code) may wrap after _ - . or /: a printed table
    then fits the page instead of being cut off."""
    escaped = esc(value)
    if not _LONG_WORD.search(escaped):
        return escaped
    return _LONG_WORD.sub(lambda m: re.sub(r"(?<=[_./-])(?=[^_./-])", "<wbr>", m.group(0)), escaped)


def html_table(frame: pl.DataFrame, columns: Sequence[Column], language: str, caption: str = "") -> str:
    """A table of already-protected values; hidden cells show a dot, missing ones a dash."""
    present = [c for c in columns if c.name in frame.columns]
    head = "".join(
        f"<th class='{'num' if c.kind in ('int', 'num', 'pct', 'money') else ''}'>{esc(c.header)}</th>"
        for c in present
    )
    body = []
    # Rows of a table with a department column carry it, for the page's department filter (site.js); the
    # organisation's own rows carry an empty name and always stay.
    totals = {None, text("organisation_total", language), text("organisation", language)}
    by_department = "department" in frame.columns
    for record in frame.iter_rows(named=True):
        cells = []
        for column in present:
            flag = column.hidden_flag
            hidden = bool(record.get(flag)) if flag and flag in record else False
            cells.append(_cell(record[column.name], column, hidden, language))
        row = "<tr>"
        if by_department:
            department = record["department"]
            row = f"<tr data-department='{esc('' if department in totals else department)}'>"
        body.append(row + "".join(cells) + "</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    # The same cells as a download: registered with the page, linked by the table block around it.
    page = current_page()
    marker = ""
    if page is not None:
        key = f"t{len(page.tables) + 1}"
        page.tables[key] = export_from_frame(frame, columns, language)
        marker = f" data-export='{key}'"
    return (
        f"<div class='table-wrap'><table{marker}>{cap}<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


_EXPORT_MARK = re.compile(r"<table data-export='(t[0-9]+)'>")


def download_links(title: str, explain: str, table: str, language: str) -> str:
    """Links to the CSV and XLSX of every table in `table` (HTML from html_table) on the current page."""
    page = current_page()
    if page is None:
        return ""
    links = []
    for key in _EXPORT_MARK.findall(table):
        export = page.tables.get(key)
        if export is None:
            continue
        export.title, export.explain = title, explain
        base = slug(title, "tabel")
        stem, number = base, 1
        while f"{PAGE_TOKEN}.{stem}.csv" in page.downloads:
            number += 1
            stem = f"{base}-{number}"
        name = f"{PAGE_TOKEN}.{stem}"
        page.downloads[name + ".csv"] = export
        page.downloads[name + ".xlsx"] = export
        links.append(
            f"<a href='{name}.csv' download>{esc(text('download_csv', language))}</a> · "
            f"<a href='{name}.xlsx' download>{esc(text('download_xlsx', language))}</a>"
        )
    if not links:
        return ""
    return f"<p class='downloads no-print'>{esc(text('download', language))}: {' · '.join(links)}</p>"


def table_block(
    title: str, explain: str, source: str, table: str, language: str, n: int | None = None, extra: str = ""
) -> str:
    n_text = f"n = {fmt_int(n, language)}" if n is not None else ""
    meta = f"<p class='meta' title='{esc(source_title(source, language))}'>{esc(n_text)}</p>"
    return (
        f"<section class='table-block'><h3>{esc(title)}</h3><p class='explain'>{esc(explain)}</p>{table}"
        f"{extra}{download_links(title, explain, table, language)}{meta}</section>"
    )


def unavailable(what: str, source: str, language: str) -> str:
    return (
        f"<div class='unavailable' title='{esc(source_title(source, language))}'><strong>{esc(what)}</strong>"
        f" — {esc(text('not_available', language))}</div>"
    )


def all_hidden(what: str, language: str) -> str:
    return (
        f"<div class='unavailable'><strong>{esc(what)}</strong> — {esc(text('all_hidden', language))}</div>"
    )


def hidden_legend(language: str) -> str:
    return f"<p class='legend-hidden'>{HIDDEN_MARK} = {esc(text('hidden_legend', language))}</p>"


def department_filter(names: Sequence[str], language: str) -> str:
    """A menu that narrows the page's tables to one department (site.js; nothing leaves the page)."""
    options = [f"<option value=''>{esc(text('department_filter_all', language))}</option>"]
    options += [f"<option value='{esc(name)}'>{esc(name)}</option>" for name in names]
    return (
        f"<label class='department-filter' for='department-filter'>{esc(text('department_filter', language))}"
        f"<select id='department-filter' data-department-filter>{''.join(options)}</select></label>"
    )


def nav_select(label: str, options: Sequence[tuple[str, str]], selected: str, ident: str) -> str:
    """A menu that navigates to another page of the site (relative link; no network)."""
    opts = "".join(
        f"<option value='{esc(href)}'{' selected' if href == selected else ''}>{esc(name)}</option>"
        for href, name in options
    )
    return f"<label for='{ident}'>{esc(label)}<select id='{ident}' data-navigate>{opts}</select></label>"


PAGES = ("calibration", "norming", "fairness", "budget", "process", "data_quality")


def page_href(ctx: PageContext, page: str, cycle: int | None = None) -> str:
    """Link from the current page to `page` of this organisation in `cycle` (default: the current cycle)."""
    target_cycle = ctx.cycle if cycle is None else cycle
    path = f"{ctx.organization}/{target_cycle}/"
    path += "calibration/index.html" if page == "calibration" else f"{page}.html"
    return ctx.prefix + path


_TERM_PARAGRAPH = re.compile(r"(<p class='(?:lead|explain)'>)(.*?)(</p>)", re.S)


def link_terms(body: str, ctx: PageContext) -> str:
    """Statistical terms in a page's lead and explaining sentences link to their entry in the glossary
    (the first time a paragraph names them). The paragraphs hold escaped text only, so a term never sits
    inside a tag or an attribute there."""
    terms = glossary_terms(ctx.language)
    if not terms:
        return body
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)) + r")(?![\w-])",
        re.I,
    )
    href = f"{ctx.prefix}glossary.html#"

    def paragraph(match: re.Match[str]) -> str:
        seen: set[str] = set()

        def term(found: re.Match[str]) -> str:
            key = terms[found.group(1).lower()]
            if key in seen:
                return found.group(0)
            seen.add(key)
            return f"<a class='term' href='{href}{key}'>{found.group(1)}</a>"

        return match.group(1) + pattern.sub(term, match.group(2)) + match.group(3)

    return _TERM_PARAGRAPH.sub(paragraph, body)


def html_head(title: str, prefix: str, language: str) -> str:
    """The start of every calibra page up to its stylesheet: the content security policy, no referrer, the
    title; `prefix` leads from the page to the folder that holds `assets/`."""
    return f"""<!DOCTYPE html>
<html lang="{esc(language)}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{esc(title)} — calibra</title>
<link rel="stylesheet" href="{prefix}assets/site.css">"""


def shell(ctx: PageContext, title: str, body: str, extra_nav: str = "") -> str:
    language = ctx.language
    crumbs = [f"<a class='brand' href='{ctx.prefix}index.html'>calibra</a>"]
    nav = ""
    if ctx.organization:
        crumbs.append(f"<span class='where'>{esc(ctx.organization_name)} · {esc(ctx.cycle)}</span>")
        links = []
        for name in ctx.pages or PAGES:
            current = " aria-current='page'" if name == ctx.current else ""
            links.append(
                f"<a href='{esc(page_href(ctx, name))}'{current}>{esc(text('page_' + name, language))}</a>"
            )
        cycle_menu = ""
        if ctx.current:
            # The page names only its own cycle; the site's manifest.js adds the other cycles that have this
            # page, so adding a cycle does not change the pages of the others.
            page = page_href(ctx, ctx.current).removeprefix(f"{ctx.prefix}{ctx.organization}/{ctx.cycle}/")
            cycle_menu = (
                f"<label for='cycle-menu'>{esc(text('cycle', language))}<select id='cycle-menu' data-navigate "
                f"data-cycle-menu data-organization='{esc(ctx.organization)}' data-page='{esc(page)}' "
                f"data-prefix='{esc(ctx.prefix)}'><option value='{esc(page_href(ctx, ctx.current))}' selected>"
                f"{esc(ctx.cycle)}</option></select></label>"
            )
        nav = f"<nav class='pages' aria-label='{esc(text('pages', language))}'>{''.join(links)}{cycle_menu}{extra_nav}</nav>"
    crumbs.append(
        f"<a class='glossary-link' href='{ctx.prefix}glossary.html'>{esc(text('page_glossary', language))}</a>"
    )
    manifest = f'\n<script src="{ctx.prefix}manifest.js"></script>' if ctx.organization else ""
    content = f"""{html_head(title, ctx.prefix, language)}
<script src="{ctx.prefix}assets/plotly.min.js"></script>{manifest}
<script src="{ctx.prefix}assets/site.js"></script>
</head><body>
<header class="top">{" ".join(crumbs)}</header>
{nav}
<main>
{link_terms(body, ctx)}
</main>
<footer><p>{esc(text("footer", language))}</p>{FOOTER_TOKEN}</footer>
</body></html>
"""
    return PageHTML(content, ctx.downloads)
