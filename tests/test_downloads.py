"""Meeting-ready site (issue 18): every table downloadable as CSV and XLSX with exactly the page's protection
and no formula, the budget's amounts as a table, readable page names, the build time and exports in every
footer, plain words instead of codes, and the glossary."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from test_site import HOSTILE, build_hand_site, department_packs, hand_packs, hand_sources, pages

from dashboards.components import Column, PageContext, html_table, slug, table_block, unique_slugs
from dashboards.downloads import HIDDEN, TableExport, csv_bytes, xlsx_bytes
from dashboards.i18n import fmt_money, fmt_number, fmt_points, text
from dashboards.site import build_site
from models.config import PROJECT_ROOT, load_settings
from models.privacy import Thresholds, publish_tables
from models.publication import neutralise, neutralise_text

LINK = re.compile(r"<a href='([^']+\.(csv|xlsx))' download>")
TABLE = re.compile(r"<table data-export='t\d+'>(.*?)</table>", re.S)
BUILT = datetime(2024, 12, 6, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hand_site(tmp_path_factory.mktemp("downloads") / "site", "nl")


@pytest.fixture(scope="module")
def site_en(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_hand_site(tmp_path_factory.mktemp("downloads_en") / "site", "en")


def read_csv(path: Path, delimiter: str) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name}: Excel needs the UTF-8 byte-order mark"
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8")), delimiter=delimiter))


def table_cells(table_html: str) -> tuple[list[str], list[list[str]]]:
    """Header texts and the text of every body cell ('·' for a hidden one) of one rendered table."""
    head = [html.unescape(h) for h in re.findall(r"<th(?: [^>]*)?>(.*?)</th>", table_html)]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table_html.split("<tbody>")[1]):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)) for c in cells])
    return head, rows


# --------------------------------------------------------------------------------------------------- the site
def site_and_pack_pages(site: Path) -> list[Path]:
    """The hand site's pages and its meeting packs' (the worklist is in the packs only, issue 16)."""
    return pages(site) + pages(hand_packs(site))


def test_every_table_on_every_page_has_a_csv_and_an_xlsx_next_to_it(site: Path) -> None:
    tables = 0
    for page in site_and_pack_pages(site):
        content = page.read_text(encoding="utf-8")
        found = TABLE.findall(content)
        assert content.count("<table") == len(found), f"{page.relative_to(site)}: a table not from html_table"
        links = LINK.findall(content)
        assert len(links) == 2 * len(found), f"{page.relative_to(site)}: a table without its downloads"
        for href, _ in links:
            assert "/" not in href and not href.startswith("."), "downloads sit in the page's own folder"
            target = page.parent / href
            assert target.is_file(), f"{page.relative_to(site)}: {href} missing"
            assert href.startswith(page.stem + "."), "a download is named after its page"
        tables += len(found)
    assert tables >= 10


def test_downloads_hold_exactly_the_cells_of_the_page(site: Path) -> None:
    """Same rows, same columns, and a cell hidden on the page is 'afgeschermd' in the file — never a value."""
    compared = hidden = 0
    for page in site_and_pack_pages(site):
        content = page.read_text(encoding="utf-8")
        hrefs = [h for h, kind in LINK.findall(content) if kind == "csv"]
        for table_html, href in zip(TABLE.findall(content), hrefs, strict=True):
            head, rows = table_cells(table_html)
            written = read_csv(page.parent / href, ";")
            assert [h.split(" (")[0] for h in written[0]] == [h.split(" (")[0] for h in head]
            assert len(written) - 1 == len(rows), f"{href}: rows differ from the page"
            for shown, saved in zip(rows, written[1:], strict=True):
                for cell, value in zip(shown, saved, strict=True):
                    if cell == "·":
                        assert value == "afgeschermd", f"{href}: a hidden cell holds {value!r}"
                        hidden += 1
                    elif value == "afgeschermd":
                        pytest.fail(f"{href}: a shown cell ({cell!r}) is marked hidden")
            compared += 1
    assert compared >= 10 and hidden > 0, "the hand site has hidden cells in its tables"


def test_numbers_in_the_csv_are_the_pages_numbers(site: Path) -> None:
    """Dutch Excel: `;` between cells, decimal comma, no thousands mark; the page's own rounding."""
    budget = site / "organisatie" / "zeeland-demo" / "2024" / "budget.html"
    content = budget.read_text(encoding="utf-8")
    href = next(h for h, kind in LINK.findall(content) if kind == "csv" and "kosten-en-budget" in h)
    written = read_csv(budget.parent / href, ";")
    head = written[0]
    assert head[0] == "Afdeling" and "Structureel: kosten (€)" in head and "Medewerkers" in head
    table_html = TABLE.findall(content)[LINK.findall(content).index((href, "csv")) // 2]
    _, rows = table_cells(table_html)
    checked = 0
    for shown, saved in zip(rows, written[1:], strict=True):
        for column, (cell, value) in enumerate(zip(shown, saved, strict=True)):
            if cell.startswith("€"):
                assert fmt_money(float(value.replace(",", ".")), "nl") == cell
                checked += 1
            elif cell.endswith("%"):
                assert "." not in value
                assert fmt_number(float(value.replace(",", ".")), "nl", 1) + "%" == cell, (
                    head[column],
                    value,
                )
                checked += 1
    assert checked >= 4


def test_english_pages_write_comma_separated_files_with_a_decimal_point(site_en: Path) -> None:
    process = site_en / "organisatie" / "zeeland-demo" / "2024" / "process.html"
    href = next(h for h, kind in LINK.findall(process.read_text(encoding="utf-8")) if kind == "csv")
    written = read_csv(process.parent / href, ",")
    assert written[0][0] == "Department" and len(written[0]) > 2
    numbers = [v for row in written[1:] for v in row[2:] if v and v != "hidden"]
    assert numbers and all("," not in v for v in numbers)
    assert any("hidden" in row for row in written[1:])


def test_xlsx_has_numbers_as_numbers_and_the_hidden_word(site: Path) -> None:
    process = site / "organisatie" / "zeeland-demo" / "2024" / "process.html"
    href = next(h for h, kind in LINK.findall(process.read_text(encoding="utf-8")) if kind == "xlsx")
    book = openpyxl.load_workbook(process.parent / href)
    sheet = book.worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Afdeling"
    numbers = [v for row in values[1:] for v in row[1:] if isinstance(v, int | float)]
    assert numbers, "numbers stay numbers"
    assert any(v == "afgeschermd" for row in values[1:] for v in row)
    about = [c.value for c in book.worksheets[1]["A"]]
    assert any("afgeschermd" in str(v) for v in about), "the second sheet says what a hidden cell is"


def test_the_worklist_download_is_the_pages_worklist(site: Path) -> None:
    cycle = hand_packs(site) / "zeeland-demo" / "2024"
    pack = next(p for p in department_packs(cycle) if "<td><code>p" in p.read_text(encoding="utf-8"))
    content = pack.read_text(encoding="utf-8")
    href = next(h for h, kind in LINK.findall(content) if kind == "csv" and "werklijst" in h)
    written = read_csv(pack.parent / href, ";")
    ids = set(re.findall(r"<code>(p[0-9a-f]{16})</code>", content))
    assert ids and {row[0] for row in written[1:]} <= ids


def test_no_page_names_a_table_of_the_database(site: Path) -> None:
    """Table names are tooltips for analysts (title attributes), never text on the page."""
    for page in site_and_pack_pages(site):
        visible = re.sub(r"title='[^']*'", "", page.read_text(encoding="utf-8"))
        visible = re.sub(r"<script.*?</script>", "", visible, flags=re.S)
        assert not re.search(r"\b(marts|audit)\.[a-z_]+", visible), page.relative_to(site)
        assert "Bron:" not in visible


def test_every_page_says_when_it_was_built_and_from_which_exports(site: Path) -> None:
    for page in site_and_pack_pages(site):
        footer = page.read_text(encoding="utf-8").split("<footer>")[1]
        assert re.search(r"Gebouwd op \d{4}-\d\d-\d\d \d\d:\d\d UTC", footer), page.relative_to(site)
        if "2024" in page.parts:  # the hand-built ledger has files of 2024 only
            assert "sha256 " in footer and ".xlsx" in footer, "the organisation's exports are listed"
        assert "p0a1b2c3" not in footer


def test_department_packs_have_readable_unique_names(site: Path) -> None:
    cycle = site / "management" / "zeeland-demo" / "2024"
    names = sorted(p.name for p in department_packs(cycle))
    assert {"zuid.html", "west.html", "oost.html"} <= set(names)
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*\.html", n) for n in names)
    hostile = next(n for n in names if n not in ("zuid.html", "west.html", "oost.html"))
    assert "<" not in hostile and "script-alert-x-script" in hostile


def test_unique_slugs_are_safe_and_resolve_collisions() -> None:
    names = ["Financiën", "Financien", "R&D", "R-D", "Index", "../../etc", "", "Economie"]
    stems = unique_slugs(names)
    assert stems["Economie"] == "economie"
    assert len(set(stems.values())) == len(names), "every department its own file"
    assert stems["Financiën"].startswith("financien-") and stems["Financien"].startswith("financien-")
    assert stems["Index"] != "index", "the overview's name is reserved"
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", s) for s in stems.values())
    assert unique_slugs(list(reversed(names))) == stems, "a name's file does not depend on the order"
    assert slug("Vergunningverlening en Handhaving") == "vergunningverlening-en-handhaving"


def test_budget_page_has_the_amounts_per_department_as_a_table(tmp_path: Path) -> None:
    settings = load_settings(PROJECT_ROOT / "calibra.yaml", tmp_path / "home", tmp_path / "site")
    published = publish_tables(hand_sources("Noord"), {"zeeland-demo": Thresholds()})
    build_site(published.tables, settings, tmp_path / "site", "nl")
    page = (tmp_path / "site" / "organisatie" / "zeeland-demo" / "2024" / "budget.html").read_text(
        encoding="utf-8"
    )
    block = page.split("<h3>Kosten en budget per afdeling</h3>")[1].split("</section>")[0]
    _, rows = table_cells(TABLE.findall(block)[0])
    budget = published.tables["budget"].filter(pl.col("cycle") == 2024)
    for record in budget.iter_rows(named=True):
        label = record["department"] or text("organisation_total", "nl")
        row = next(r for r in rows if r[0] == label)
        expected = record["structural_cost_full_year"]
        assert row[2] == (fmt_money(expected, "nl") if expected is not None else "·")


# --------------------------------------------------------------------------------------------- the writers
def test_formula_like_text_gets_an_apostrophe_in_csv_and_xlsx() -> None:
    dangerous = ["=1+1", "+31 6", "-2", "@SUM(A1)", "\tx", "\rx", "gewoon"]
    table = TableExport(
        language="nl",
        headers=["=kop", "Getal"],
        kinds=["text", "int"],
        decimals=[1, 1],
        rows=[[d, -3] for d in dangerous],
    )
    written = read_csv_bytes(csv_bytes(table), ";")
    assert written[0][0] == "'=kop"
    assert [r[0] for r in written[1:]] == ["'" + d for d in dangerous[:-1]] + ["gewoon"]
    assert [r[1] for r in written[1:]] == ["-3"] * len(dangerous), "numbers are numbers, not text"
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(table, BUILT)))
    sheet = book.worksheets[0]
    cells = [sheet.cell(row=i + 2, column=1) for i in range(len(dangerous))]
    assert all(c.data_type == "s" for c in cells), "no cell is a formula"
    assert [c.value for c in cells][:4] == ["'=1+1", "'+31 6", "'-2", "'@SUM(A1)"]
    assert sheet.cell(row=2, column=2).value == -3


def test_the_cell_rule_of_the_downloads_is_the_frame_rule_of_the_publication_list() -> None:
    """downloads neutralise cell by cell (models.publication.neutralise_text); the publication list's
    spreadsheet a whole frame at once (neutralise): both must write every text alike."""
    texts = ["=1", "+", "-", "@", "\t", "\r", "\n=1", " =1", "", "a=1", "'=1", "==", "—", "€5", "\u2028="]
    frame = neutralise(pl.DataFrame({"t": texts}))
    assert [neutralise_text(t) for t in texts] == frame["t"].to_list()
    assert neutralise_text("=1") == "'=1" and neutralise_text(" =1") == " =1"


def read_csv_bytes(raw: bytes, delimiter: str) -> list[list[str]]:
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline=""), delimiter=delimiter))


def test_values_are_rounded_as_the_page_rounds_them() -> None:
    table = TableExport(
        language="nl",
        headers=["Aandeel", "Bedrag", "Schaal"],
        kinds=["pct", "money", "num"],
        decimals=[1, 0, 2],
        rows=[[0.123456, 12345.678, 1.23456], [HIDDEN, None, -0.5]],
    )
    written = read_csv_bytes(csv_bytes(table), ";")
    assert written[0] == ["Aandeel (%)", "Bedrag (€)", "Schaal"]
    assert written[1] == ["12,3", "12346", "1,23"]
    assert written[2] == ["afgeschermd", "", "-0,5"]


def test_a_workbook_is_the_same_bytes_for_the_same_table_and_build_time() -> None:
    table = TableExport(language="en", headers=["A"], kinds=["int"], decimals=[1], rows=[[1], [2]])
    assert xlsx_bytes(table, BUILT) == xlsx_bytes(table, BUILT)


def test_a_table_block_links_the_downloads_of_its_table() -> None:
    ctx = PageContext(language="nl", depth=0)
    frame = pl.DataFrame({"department": ["A", None], "n": [5, None], "suppressed": [False, True]})
    block = table_block(
        "Mijn tabel", "Uitleg.", "marts.x", html_table(frame, [Column("n", "n", "int")], "nl"), "nl"
    )
    assert "Mijn tabel" in block and "mijn-tabel.csv" in block and "mijn-tabel.xlsx" in block
    assert len(ctx.downloads) == 2
    export = next(iter(ctx.downloads.values()))
    assert export.rows == [[5], [HIDDEN]]


# ------------------------------------------------------------------------------------------------ plain words
def test_changes_of_a_percentage_are_in_percentage_points_with_a_real_minus() -> None:
    assert fmt_points(-0.001, "nl") == "\u22120,1 procentpunt"
    assert fmt_points(0.025, "nl") == "+2,5 procentpunten"
    assert fmt_points(-0.025, "en") == "\u22122.5 percentage points"
    assert fmt_number(-1234.5, "nl") == "\u22121.234,5"
    assert fmt_number(-0.04, "nl") == "0,0", "a value that rounds to zero has no sign"
    assert fmt_money(-1500, "nl") == "\u2212€ 1.500"


def test_counts_take_the_singular_or_the_plural() -> None:
    note = text("evaluators_hidden_note", "nl")
    assert note.format(count="1").startswith("1 beoordelaar niet")
    assert note.format(count="3").startswith("3 beoordelaars niet")
    units = text("units_hidden_note", "nl")
    assert "eenheid/eenheden" not in units.format(count="1") + units.format(count="2")
    assert units.format(count="2").startswith("2 eenheden")


def test_no_codes_on_the_sample_pages(sample_run) -> None:  # type: ignore[no-untyped-def]
    """Award types, scenarios and data checks read in the page's language, not as codes."""
    site = sample_run.settings.site
    codes = ("combined_bonus", "raise_above_scale_maximum", "custom:", "ExpectColumn", "ExpectCompound")
    for page in pages(site):
        visible = re.sub(r"<script.*?</script>", "", page.read_text(encoding="utf-8"), flags=re.S)
        for code in codes:
            assert code not in visible, f"{page.relative_to(site)}: {code}"
        assert "eenheid/eenheden" not in visible and "(s) " not in visible


def test_data_quality_page_groups_the_checks_per_rule(sample_run) -> None:  # type: ignore[no-untyped-def]
    page = (sample_run.settings.site / "management" / "data_quality.html").read_text(encoding="utf-8")
    block = page.split("<h3>" + text("contract_title", "nl"))[1].split("</section>")[0]
    _, rows = table_cells(TABLE.findall(block)[0])
    assert 0 < len(rows) <= 30, f"{len(rows)} rows: one per kind of file and check"
    assert any(r[1] == "Verplicht veld is ingevuld" for r in rows)


def test_statistical_terms_link_to_the_glossary(sample_run) -> None:  # type: ignore[no-untyped-def]
    linked: set[str] = set()
    for audience in ("organisatie", "management"):  # each site has its own glossary
        site = sample_run.settings.site / audience
        glossary = (site / "glossary.html").read_text(encoding="utf-8")
        anchors = set(re.findall(r"<dt id='([a-z-]+)'>", glossary))
        assert {"odds-ratio", "cmh", "q-value", "funnel-plot", "differentiation-index", "interval"} <= anchors
        for page in pages(site):
            for href in re.findall(r"<a class='term' href='([^']+)'>", page.read_text(encoding="utf-8")):
                target, _, anchor = href.partition("#")
                assert (page.parent / target).resolve() == (site / "glossary.html").resolve()
                assert anchor in anchors
                linked.add(anchor)
        assert HOSTILE not in glossary
    assert {"odds-ratio", "interval", "cmh"} <= linked, linked
