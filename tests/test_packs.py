"""Packs (pipelines/packs.py, models/reidentify.py): the meeting's and the management's pages re-identified at
pack time, owner-only, marked confidential; the site, the database and the logs keep pseudonyms.

The hand-made tests build one management page (the norming review's manager chart and a download) over a real
evaluation export in a real inbox with the session's key; the sample tests look at what the publish step wrote
for the bundled sample.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import re
import secrets
import stat
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from dashboards.components import FOOTER_TOKEN, PAGE_TOKEN, PageHTML
from dashboards.downloads import TableExport
from dashboards.i18n import text
from dashboards.site import LEDGER
from models.config import Settings
from models.contracts import load_contract
from models.mapping import load_mappings
from models.pseudonym import load_key, pseudonymise_value
from models.reidentify import PSEUDONYM, pseudonym_map, reidentify
from pipelines.packs import MANAGEMENT_FOLDER, packs_folder, write_packs
from tests.bad_inputs.make_corpus import EVALUATION_COLUMNS, MAPPINGS
from tests.test_ingest import make_settings
from tests.test_privacy_ingest import table
from tests.test_site import all_strings, chart_payloads, department_packs

ORG = "zeeland-demo"
EMPLOYEES = [f"QP5531A{i:02d}" for i in range(1, 13)]
# Evaluators as management knows them: an employee number and a name (the contract allows any printable text).
EVALUATORS = ["QPM7701", "J. de Vries"]
SECOND = "QPM7799"
PAGE = f"{ORG}/2024/norming.html"


def export() -> bytes:
    header = [*EVALUATION_COLUMNS, "Tweede beoordelaar"]
    rows = [header]
    for i, person in enumerate(EMPLOYEES):
        cells = {
            "Medewerkernr": person,
            "Jaar": "2024",
            "Afdeling": "Financiën",
            "Schaal": "S08",
            "Leidinggevende": EVALUATORS[i % 2],
            "Beoordeling": "Normaal",
            "Geslacht": ["Vrouw", "Man"][i % 2],
            "Geboortejaar": "1980",
            "Deeltijdfactor": "1",
            "Dienstverband": "Vast",
            "Datum in dienst": "",
            "Datum jaargesprek": "10-02-2025",
            "Op schaalmaximum": "nee",
            "Tweede beoordelaar": SECOND,
        }
        rows.append([cells[h] for h in header])
    return table(rows)


@pytest.fixture
def inbox(tmp_path: Path) -> Settings:
    """A calibra home whose inbox holds one evaluation export (with a second evaluator column)."""
    mapping = dict(next(m for m in MAPPINGS if m["id"] == "corpus_evaluations"))
    mapping["columns"] = {**mapping["columns"], "Tweede beoordelaar": "second_evaluator_id"}
    settings = make_settings(tmp_path, [mapping])
    (settings.inbox / "beoordeling_2024.csv").write_bytes(export())
    return settings


def pseudonym(raw: str) -> str:
    return pseudonymise_value(load_key(), ORG, raw)


def norming_page(language: str = "nl") -> PageHTML:
    """A management page as the site renders it: links from two folders down, the manager chart's JSON with
    pseudonyms and its label, a sentence with the site's mark, and a table download of the evaluators."""
    first, second = (pseudonym(e) for e in EVALUATORS)
    axis = text("axis_manager", language)
    explain = text("chart_differentiation_explain", language)
    html = (
        "<!DOCTYPE html><html><head>"
        '<link rel="stylesheet" href="../../assets/site.css">'
        '<script src="../../assets/plotly.min.js"></script>\n<script src="../../manifest.js"></script>'
        "</head><body><nav><a href='../../glossary.html'>glossary</a>"
        "<select data-prefix='../../'></select></nav>"
        f"<p class='explain'>{explain}</p>"
        "<script type='application/json' id='chart-1-data'>"
        f'{{"data":[{{"type":"bar","y":["{first}","{second}"],"hovertext":["{first}: 0,79","{second}: 0,40"]}}],'
        f'"layout":{{"yaxis":{{"title":{{"text":"{axis}"}}}}}}}}</script>'
        f"<a href='{PAGE_TOKEN}.scale.csv'>CSV</a><a href='{PAGE_TOKEN}.scale.xlsx'>XLSX</a>"
        f"<footer>{FOOTER_TOKEN}</footer></body></html>"
    )
    scale = TableExport(
        language,
        [text("axis_manager", language), "n"],
        ["text", "int"],
        [0, 0],
        [[first, 6], [second, 6]],
        title="scale",
    )
    return PageHTML(html, {f"{PAGE_TOKEN}.scale.csv": scale, f"{PAGE_TOKEN}.scale.xlsx": scale})


def rendered(language: str = "nl") -> dict[str, dict[str, str]]:
    return {
        ORG: {
            PAGE: norming_page(language),
            # a page that names nobody gets no pack
            f"{ORG}/2024/data_quality.html": PageHTML("<html><body><p>none</p></body></html>"),
        }
    }


def pack_files(settings: Settings) -> dict[str, Path]:
    root = packs_folder(settings)
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}


def workbook_cells(path: Path) -> list[str]:
    book = openpyxl.load_workbook(path)
    return [str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value]


# ---------------------------------------------------------------------------------------------- the map
def test_the_map_turns_back_employees_evaluators_and_second_evaluators(inbox: Settings) -> None:
    identifiers = {c.name for c in load_contract("evaluations").columns if c.pii == "identifier"}
    assert identifiers == {"employee_id", "evaluator_id", "second_evaluator_id"}
    known = pseudonym_map(sorted(inbox.inbox.iterdir()), load_mappings(inbox.mappings_dirs), load_key())
    for raw in [*EMPLOYEES, *EVALUATORS, SECOND]:
        assert known[pseudonym(raw)] == raw
    assert len(known) == len(EMPLOYEES) + len(EVALUATORS) + 1


def test_only_identifiers_that_need_no_escaping_are_shown() -> None:
    known = {
        "p" + "1" * 16: "QPM7701",
        "p" + "2" * 16: "J. de Vries",
        "p" + "3" * 16: "Zoë Ünal-Öztürk",
        "p" + "4" * 16: "O'Brien",  # an apostrophe would close a single-quoted attribute
        "p" + "5" * 16: "<b>x</b>",
        "p" + "6" * 16: "Jansen, P.",  # a comma splits an English CSV row
        "p" + "7" * 16: " leading",
    }
    left: set[str] = set()
    page = " ".join(known)
    shown = reidentify(page, known, left)
    assert shown.split(" ")[:5] == ["QPM7701", "J.", "de", "Vries", "Zoë"]
    assert "Zoë Ünal-Öztürk" in shown
    assert left == {"p" + c * 16 for c in "4567"}
    assert "O'Brien" not in shown and "<b>" not in shown and "Jansen, P." not in shown


# ---------------------------------------------------------------------------------------------- management pack
def test_the_management_pack_shows_evaluators_by_number_in_text_chart_and_downloads(inbox: Settings) -> None:
    counts = write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False)
    assert (counts.meeting, counts.management, counts.left) == (0, 1, 0)
    files = pack_files(inbox)
    folder = f"{ORG}/2024/{MANAGEMENT_FOLDER}"
    assert sorted(files) == sorted(
        [
            "index.html",
            "manifest.json",
            f"{ORG}/2024/index.html",
            f"{ORG}/2024/manifest.json",
            f"{folder}/norming.html",
            f"{folder}/norming.scale.csv",
            f"{folder}/norming.scale.xlsx",
        ]
    )
    html = files[f"{folder}/norming.html"].read_text(encoding="utf-8")
    # the chart's JSON: categories and hover texts by number; the page names no pseudonym any more
    assert '"y":["QPM7701","J. de Vries"]' in html and '"QPM7701: 0,79"' in html
    assert PSEUDONYM.search(html) is None
    # the pack's words, Dutch; the banner says what it is and for whom
    assert "Leidinggevende (personeelsnr.)" in html and "leidinggevende (op personeelsnummer)" in html
    assert "pseudon" not in html.lower()
    assert text("pack_management_confidential", "nl").split(" — ")[0] in html
    assert html.index("VERTROUWELIJK") < html.index("<nav>")
    # one folder deeper than on the site: links reach the packs folder's assets; no listing of site pages; a
    # menu's link to a page the packs folder does not hold (here the glossary: no site was built) is taken out
    assert 'href="../../../assets/site.css"' in html and "glossary" not in html
    assert "data-prefix='../../../'" in html and "manifest.js" not in html
    rows = list(
        csv.reader(
            io.StringIO(files[f"{folder}/norming.scale.csv"].read_text(encoding="utf-8-sig")), delimiter=";"
        )
    )
    assert rows[0][0] == "Leidinggevende (personeelsnr.)"
    assert [r[0] for r in rows[1:]] == ["QPM7701", "J. de Vries"]
    cells = workbook_cells(files[f"{folder}/norming.scale.xlsx"])
    assert "QPM7701" in cells and "J. de Vries" in cells and "Leidinggevende (personeelsnr.)" in cells
    assert not any(PSEUDONYM.search(c) for c in cells)
    # owner-only: every folder from the packs folder down 0700, every file 0600
    root = packs_folder(inbox)
    for path in [root, *root.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_the_management_pack_speaks_english_on_request(inbox: Settings) -> None:
    write_packs({}, rendered("en"), {}, inbox, load_key(), "en", meeting=False)
    html = (packs_folder(inbox) / ORG / "2024" / MANAGEMENT_FOLDER / "norming.html").read_text(
        encoding="utf-8"
    )
    assert "Manager (employee no.)" in html and "manager (by employee number)" in html
    assert "CONFIDENTIAL — norming review" in html and "pseudonym" not in html.lower()


@pytest.mark.parametrize("missing", ["no key", "another key", "exports gone"])
def test_without_the_key_or_the_exports_a_pack_keeps_pseudonyms_and_says_so(
    inbox: Settings, missing: str
) -> None:
    key: bytes | None = load_key()
    if missing == "no key":
        key = None
    elif missing == "another key":
        key = secrets.token_bytes(32)
    else:
        for export_file in inbox.inbox.iterdir():
            export_file.unlink()
    counts = write_packs({}, rendered(), {}, inbox, key, "nl", meeting=False)
    assert (counts.management, counts.left) == (1, 2)
    folder = packs_folder(inbox) / ORG / "2024" / MANAGEMENT_FOLDER
    html = (folder / "norming.html").read_text(encoding="utf-8")
    first, second = (pseudonym(e) for e in EVALUATORS)
    assert f'"y":["{first}","{second}"]' in html
    assert not any(raw in html for raw in EVALUATORS)
    # the site's words stay (they are true), and the banner says how many could not be turned back and why
    assert "Leidinggevende (pseudoniem)" in html and "personeelsnr.)" not in html
    note = text("pack_pseudonyms_left", "nl").format(count="2")
    assert note in html and "2 nummers konden niet worden teruggezet" in html
    assert text("pack_management_confidential", "nl") not in html
    assert first in (folder / "norming.scale.csv").read_text(encoding="utf-8-sig")


def test_a_partly_turned_back_pack_counts_what_is_left(inbox: Settings) -> None:
    """One evaluator's export row gone: the other is shown by number, the banner names one left."""
    (inbox.inbox / "beoordeling_2024.csv").write_bytes(export().replace(b"J. de Vries", b"QPM7702"))
    counts = write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False)
    assert counts.left == 1
    html = (packs_folder(inbox) / ORG / "2024" / MANAGEMENT_FOLDER / "norming.html").read_text(
        encoding="utf-8"
    )
    assert "QPM7701" in html and pseudonym("J. de Vries") in html
    assert "1 nummer kon niet worden teruggezet" in html


# ---------------------------------------------------------------------------------------------- the sample
def test_sample_management_packs_name_the_evaluators_the_site_and_database_do_not(sample_run) -> None:  # type: ignore[no-untyped-def]
    """Every organisation and cycle has its management pack: every evaluator and manager pseudonym of the
    site's norming review is there by the number in the export, in the page, its chart JSON and its downloads;
    the site (both audiences, every file) and the database hold none of those numbers."""
    import duckdb

    assert sample_run.success
    settings = sample_run.settings
    known = pseudonym_map(sorted(settings.inbox.iterdir()), load_mappings(settings.mappings_dirs), load_key())
    evaluators = sample_run.query(
        "SELECT DISTINCT organization, evaluator_id FROM staging.evaluations WHERE evaluator_id IS NOT NULL"
    )
    assert evaluators.height and all(p in known for p in evaluators["evaluator_id"].to_list())
    numbers = {known[p] for p in evaluators["evaluator_id"].to_list()}
    root = packs_folder(settings)
    site = settings.site
    shown: set[str] = set()
    for norming in sorted(site.glob("management/*/*/norming.html")):
        organization, cycle = norming.parent.parent.name, norming.parent.name
        pack = root / organization / cycle / MANAGEMENT_FOLDER / "norming.html"
        assert pack.exists(), f"{organization} {cycle}: no management pack"
        site_html, pack_html = norming.read_text(encoding="utf-8"), pack.read_text(encoding="utf-8")
        on_site = set(PSEUDONYM.findall(site_html))
        assert on_site, f"{organization} {cycle}: the site's norming review names no evaluator"
        assert PSEUDONYM.search(pack_html) is None
        for found in on_site:  # in a chart's JSON, a table or a sentence
            assert re.search(rf"(?<![0-9A-Za-z]){re.escape(known[found])}(?![0-9A-Za-z])", pack_html)
        labels = {label for _, payload in chart_payloads(pack_html) for label in all_strings(payload["data"])}
        assert labels & {known[p] for p in on_site}, "the charts' labels are turned back"
        shown |= {known[p] for p in on_site}
        assert "pseudon" not in pack_html.lower()
        assert text("pack_management_confidential", "nl") in pack_html
        for download in norming.parent.glob("norming.*.csv"):
            packed = (pack.parent / download.name).read_text(encoding="utf-8-sig")
            assert PSEUDONYM.search(packed) is None
            assert set(PSEUDONYM.findall(download.read_text(encoding="utf-8-sig"))) <= on_site
        for path in [pack.parent, *pack.parent.iterdir()]:
            assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    assert len(shown) > 20 and shown <= numbers
    # The sites: no evaluator number in any page, script, CSV or workbook part; and none in the database.
    # Scanned for the numbers with a letter (the Zeeland sample's "L00973"): a bare number such as the
    # Flemish sample's could be any count.
    lettered = sorted((n for n in shown if re.search("[A-Za-z]", n)), key=len, reverse=True)
    assert len(lettered) > 20
    token = re.compile(r"(?<![0-9A-Za-z])(" + "|".join(re.escape(n) for n in lettered) + r")(?![0-9A-Za-z])")
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".csv", ".js", ".json"):
            assert token.search(path.read_text(encoding="utf-8-sig")) is None, path
        elif path.suffix == ".xlsx":
            assert not any(token.search(c) for c in workbook_cells(path)), path
    con = duckdb.connect(str(settings.database), read_only=True)
    try:
        for schema, name in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall():
            for (row,) in con.execute(f'SELECT CAST(t AS VARCHAR) FROM "{schema}"."{name}" AS t').fetchall():
                assert token.search(row) is None, f"{schema}.{name}"
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------- meeting pack
def meeting_page() -> PageHTML:
    """A department's page as the site renders it: the worklist's banner and note, a case by pseudonym."""
    employee, evaluator = pseudonym(EMPLOYEES[0]), pseudonym(EVALUATORS[0])
    return PageHTML(
        '<html><head><script src="../../../manifest.js"></script></head><body>'
        f"<p class='confidential'>{text('worklist_confidential', 'nl')}</p>"
        f"<p class='explain'>{text('worklist_explain', 'nl')}</p>"
        f"<table><tr><th>{text('worklist_headers', 'nl')['employee_id']}</th></tr>"
        f"<tr><td><code>{employee}</code></td><td><code>{evaluator}</code></td></tr></table></body></html>"
    )


@pytest.mark.parametrize("with_key", [True, False])
def test_a_meeting_pack_says_employee_numbers_only_where_it_shows_them(
    inbox: Settings, with_key: bool
) -> None:
    pages = {ORG: {f"{ORG}/2024/calibration/financien.html": meeting_page()}}
    counts = write_packs(pages, {}, {}, inbox, load_key() if with_key else None, "nl")
    assert (counts.meeting, counts.management) == (1, 0)
    html = (packs_folder(inbox) / ORG / "2024" / "calibration" / "financien.html").read_text(encoding="utf-8")
    if with_key:
        assert counts.left == 0 and EMPLOYEES[0] in html and EVALUATORS[0] in html
        assert text("pack_worklist_explain", "nl") in html and text("worklist_explain", "nl") not in html
        assert "Medewerker (personeelsnr.)" in html and "pseudon" not in html.lower()
    else:
        # the site's sentences stay true ("numbers are pseudonyms"); the banner says how many are left
        assert counts.left == 2 and EMPLOYEES[0] not in html
        assert text("worklist_explain", "nl") in html and text("pack_worklist_explain", "nl") not in html
        assert "2 nummers konden niet worden teruggezet" in html
    assert "manifest.js" not in html


# ---------------------------------------------------------------------------------------------- index, manifest
class Links(HTMLParser):
    """Every link of a page (href, src, and the pages a navigating menu offers) and every id in it."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self._menu = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        self.links += [str(found[a]) for a in ("href", "src") if found.get(a) is not None]
        if tag == "select":
            self._menu = "data-navigate" in found
        elif tag == "option" and self._menu and found.get("value"):
            self.links.append(str(found["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._menu = False


def broken_links(root: Path) -> tuple[int, list[str]]:
    """Links of every page under `root` that reach neither a file inside `root` nor an id in their page."""
    checked, broken = 0, []
    for page in sorted(root.rglob("*.html")):
        parser = Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.links:
            if link.startswith("data:"):
                continue
            checked += 1
            path, _, fragment = link.partition("#")
            target = (page.parent / path).resolve()
            if not path:
                ok = fragment in parser.ids
            else:
                ok = target.is_file() and target.is_relative_to(root.resolve())
            if not ok:
                broken.append(f"{page.relative_to(root)}: {link}")
    return checked, broken


def test_index_and_manifest_say_what_was_handed_to_whom_in_english_on_request(inbox: Settings) -> None:
    pages = {
        ORG: {
            f"{ORG}/2024/calibration/financien.html": meeting_page(),
            f"{ORG}/2024/calibration/oud.html": meeting_page(),
        }
    }
    management = rendered("en")
    assets = inbox.site / "management" / "assets"  # the site's, copied beside the packs
    assets.mkdir(parents=True)
    for name in ("site.css", "site.js", "plotly.min.js"):
        (assets / name).write_text("/* asset */", encoding="utf-8")
    write_packs(
        pages, management, {}, inbox, load_key(), "en", built_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    )
    root = packs_folder(inbox)
    index = (root / ORG / "2024" / "index.html").read_text(encoding="utf-8")
    assert text("packs_index_confidential", "en") in index and text("packs_index_meeting", "en") in index
    assert "href='calibration/financien.html'" in index and "href='management/norming.html'" in index
    assert "Built on 2025-03-01 09:00 UTC" in index and "VERTROUWELIJK" not in index
    top = (root / "index.html").read_text(encoding="utf-8")
    assert (
        f"href='{ORG}/2024/index.html'" in top and "2 calibration packs" in top and "1 management pack" in top
    )
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    files = {entry["file"]: entry for entry in manifest["files"]}
    assert files[f"{ORG}/2024/calibration/financien.html"]["audience"] == "meeting"
    assert files[f"{ORG}/2024/calibration/financien.html"]["department"] == "financien"  # no tables: its file
    assert files[f"{ORG}/2024/management/norming.scale.xlsx"]["audience"] == "management"
    assert {entry["built_at"] for entry in files.values()} == {"2025-03-01T09:00:00+00:00"}
    for name, entry in files.items():
        digest = hashlib.sha256((root / name).read_bytes()).hexdigest()
        assert entry["sha256"] == digest, name
    assert broken_links(root)[1] == []
    # A cycle's packs are written anew: a department gone from the pages leaves no pack (and no entry) behind.
    del pages[ORG][f"{ORG}/2024/calibration/oud.html"]
    write_packs(pages, management, {}, inbox, load_key(), "nl")
    assert not (root / ORG / "2024" / "calibration" / "oud.html").exists()
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    assert not any("oud" in entry["file"] for entry in manifest["files"])
    dutch = (root / ORG / "2024" / "index.html").read_text(encoding="utf-8")
    assert text("packs_index_confidential", "nl") in dutch and "Kalibratiepakketten" in dutch
    for path in [root, *root.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_sample_every_link_of_every_pack_resolves_inside_the_packs_folder(sample_run) -> None:  # type: ignore[no-untyped-def]
    """Handed over as a folder, the packs work on their own: every href, src and menu entry of every page
    (packs, indexes, glossary) reaches a file inside the packs folder or an anchor in its page."""
    assert sample_run.success
    root = packs_folder(sample_run.settings)
    checked, broken = broken_links(root)
    print(f"pack links checked: {checked}, broken: {len(broken)}")
    assert checked > 1000 and broken == [], broken[:10]
    # the menus that are left point at the packs: the cycle's index and the management pack
    economie = (root / "zeeland-demo" / "2024" / "calibration" / "economie.html").read_text(encoding="utf-8")
    assert "href='../index.html'" in economie and "href='../../../glossary.html'" in economie
    norming = (root / "zeeland-demo" / "2024" / MANAGEMENT_FOLDER / "norming.html").read_text(
        encoding="utf-8"
    )
    assert "href='norming.html'" in norming and "fairness.html" not in norming


def test_sample_index_lists_each_departments_pack_with_its_people_and_cases(sample_run) -> None:  # type: ignore[no-untyped-def]
    """Each organisation-cycle's index names every meeting pack by department with the n its pack shows and
    the rows of its worklist download; the manifest lists every pack file with its audience and sha256."""
    assert sample_run.success
    root = packs_folder(sample_run.settings)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    files = {entry["file"]: entry for entry in manifest["files"]}
    shared = {"index.html", "manifest.json", "glossary.html"}
    on_disk = {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file()
        and str(p.relative_to(root)) not in shared
        and p.parent.name != "assets"
        and not (p.name in ("index.html", "manifest.json") and len(p.relative_to(root).parts) == 3)
    }
    assert set(files) == on_disk
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((root / name).read_bytes()).hexdigest(), name
        folder = MANAGEMENT_FOLDER if entry["audience"] == "management" else "calibration"
        assert name.split("/")[2] == folder and entry["audience"] in ("meeting", "management")
    cycles = sorted({"/".join(name.split("/")[:2]) for name in files})
    assert len(cycles) == 6
    top = (root / "index.html").read_text(encoding="utf-8")
    shown = 0
    for cycle in cycles:
        assert f"href='{cycle}/index.html'" in top
        index = (root / cycle / "index.html").read_text(encoding="utf-8")
        assert text("packs_index_confidential", "nl") in index
        assert f"href='{MANAGEMENT_FOLDER}/norming.html'" in index
        for pack in department_packs(root / cycle):
            entry = files[f"{cycle}/calibration/{pack.name}"]
            page = pack.read_text(encoding="utf-8")
            n = re.search(r"<p class='lead'>[^<]*· n = ([\d.]+)", page)
            assert n is not None and entry["rated"] == int(n.group(1).replace(".", "")), pack
            worklist = pack.with_name(pack.stem + ".werklijst-voor-de-vergadering.csv")
            cases = len(worklist.read_text(encoding="utf-8-sig").splitlines()) - 1 if worklist.exists() else 0
            assert entry["cases"] == cases, pack
            said = (
                f"href='calibration/{pack.name}'>{html.escape(entry['department'], quote=True)}</a> "
                f"<span class='meta'>({entry['rated']} beoordeelde medewerkers · "
            )
            assert said.replace("'", "'") in index.replace("&#x27;", "'"), (cycle, pack.name)
            shown += 1
    assert shown == 66


def test_a_cycle_made_of_the_same_inputs_keeps_its_packs_and_reads_no_export(
    inbox: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second run with the same pages, key and exports keeps the packs (not one file written, no export
    read); a changed export, another key or a pack file changed on disk makes the cycle's packs anew."""
    import pipelines.packs as packs

    first = write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False)
    assert (first.management, first.reused) == (1, 0)
    pack = packs_folder(inbox) / ORG / "2024" / MANAGEMENT_FOLDER / "norming.html"
    written = pack.stat().st_mtime_ns

    def no_reading(*args: object, **kwargs: object) -> dict[str, str]:
        raise AssertionError("an export was read for packs that are kept")

    with monkeypatch.context() as patched:
        patched.setattr(packs, "pseudonym_map", no_reading)
        again = write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False)
    assert (again.management, again.reused, again.left) == (1, 1, 0)
    assert pack.stat().st_mtime_ns == written
    # another key: made anew (and it says the numbers could not be turned back)
    other = write_packs({}, rendered(), {}, inbox, secrets.token_bytes(32), "nl", meeting=False)
    assert (other.reused, other.left) == (0, 2)
    assert write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False).reused == 0
    assert "QPM7701" in pack.read_text(encoding="utf-8")
    # a pack changed on disk is not trusted
    pack.write_text(pack.read_text(encoding="utf-8").replace("QPM7701", "QPM0000"), encoding="utf-8")
    assert write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False).reused == 0
    assert "QPM7701" in pack.read_text(encoding="utf-8")
    # a changed export: made anew from it
    (inbox.inbox / "beoordeling_2024.csv").write_bytes(export().replace(b"QPM7701", b"QPM7702"))
    changed = write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False)
    assert (changed.reused, changed.left) == (0, 1)


def test_a_person_of_an_earlier_cycle_is_turned_back_from_the_nearest_exports_only(
    inbox: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack that shows someone its own cycle's export does not name (the evaluator report's window reaches
    back) is turned back from the organisation's earlier exports, the nearest cycle first, and only as many
    as it takes: here the 2023 export, not the 2022 one."""
    import pipelines.packs as packs

    earlier = export().replace(b"QPM7701", b"QPM7123").replace(b"2024", b"2023")
    (inbox.inbox / "beoordeling_2023.csv").write_bytes(earlier)
    (inbox.inbox / "beoordeling_2022.csv").write_bytes(export().replace(b"2024", b"2022"))
    ledger = pl.DataFrame(
        {
            "file_name": [f"beoordeling_{c}.csv" for c in (2022, 2023, 2024)],
            "organization": [ORG] * 3,
            "cycle": [2022, 2023, 2024],
        }
    )
    page = norming_page()
    shown = pseudonym("QPM7123")  # in the 2023 export only
    rendered_pages = {ORG: {PAGE: PageHTML(page.replace(pseudonym(EVALUATORS[0]), shown), page.downloads)}}
    read: list[list[str]] = []
    real = packs.pseudonym_map

    def recording(paths: list[Path], *args: object, **kwargs: object) -> dict[str, str]:
        read.append(sorted(p.name for p in paths))
        return real(paths, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(packs, "pseudonym_map", recording)
    counts = write_packs({}, rendered_pages, {LEDGER: ledger}, inbox, load_key(), "nl", meeting=False)
    assert read == [["beoordeling_2024.csv"], ["beoordeling_2023.csv"]]
    assert counts.left == 0
    text_ = (packs_folder(inbox) / ORG / "2024" / MANAGEMENT_FOLDER / "norming.html").read_text(
        encoding="utf-8"
    )
    assert "QPM7123" in text_ and shown not in text_


def test_packs_planned_from_their_tables_are_kept_without_pages(
    inbox: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the digests of the tables a cycle's pages read (`planned`, as the site step gives them), a cycle
    whose packs an earlier run wrote from the same tables is kept without its pages (none was rendered) and
    without reading an export; other tables: the caller renders the pages. A folder written before the
    manifest kept its inputs is judged by its pages once, and its manifest then says its inputs."""
    import pipelines.packs as packs
    from pipelines.packs import pack_plan

    planned = {(ORG, 2024): {"management": "tables-1"}}
    first = write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False, planned=planned)
    assert (first.management, first.reused) == (1, 0)
    manifest_path = packs_folder(inbox) / ORG / "2024" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    plan = pack_plan(inbox, {}, load_key(), "nl", False)
    assert manifest["inputs"] == plan.digest(ORG, 2024, planned[(ORG, 2024)])
    assert plan.kept(ORG, 2024, planned[(ORG, 2024)]) and not plan.kept(ORG, 2024, {"management": "tables-2"})

    def no_reading(*args: object, **kwargs: object) -> dict[str, str]:
        raise AssertionError("an export was read for packs that are kept")

    with monkeypatch.context() as patched:
        patched.setattr(packs, "pseudonym_map", no_reading)
        kept = write_packs({}, {}, {}, inbox, load_key(), "nl", meeting=False, planned=planned)
    assert (kept.management, kept.reused, kept.left) == (1, 1, 0)
    # an earlier manifest without inputs: kept by its pages, and told its inputs for the next run
    del manifest["inputs"]
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert not plan.kept(ORG, 2024, planned[(ORG, 2024)])
    again = write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False, planned=planned)
    assert again.reused == 1 and plan.kept(ORG, 2024, planned[(ORG, 2024)])


def test_pages_rendered_again_by_the_next_run_keep_their_packs(
    inbox: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every process draws its own placeholders (dashboards.components: the page name and footer tokens), so the
    next `calibra run` renders the same tables into pages that differ by them alone; their packs are kept.
    (Before, the digest hashed the tokens and no pack was ever kept from one run to the next.)"""
    import pipelines.packs as packs

    assert write_packs({}, rendered(), {}, inbox, load_key(), "nl", meeting=False).reused == 0
    page_token, footer_token = (
        "calibra-page-" + secrets.token_hex(8),
        "calibra-footer-" + secrets.token_hex(8),
    )

    def retokened(page: str) -> PageHTML:
        downloads = getattr(page, "downloads", {})
        return PageHTML(
            page.replace(PAGE_TOKEN, page_token).replace(FOOTER_TOKEN, footer_token),
            {name.replace(PAGE_TOKEN, page_token): export for name, export in downloads.items()},
        )

    next_run = {
        org: {path: retokened(page) for path, page in pages.items()} for org, pages in rendered().items()
    }
    assert any(PAGE_TOKEN in page for page in rendered()[ORG].values()), (
        "the fixture's page has a placeholder"
    )
    monkeypatch.setattr(packs, "PAGE_TOKEN", page_token)
    monkeypatch.setattr(packs, "FOOTER_TOKEN", footer_token)
    assert write_packs({}, next_run, {}, inbox, load_key(), "nl", meeting=False).reused == 1


def test_sample_a_site_copied_from_the_last_run_still_has_its_management_packs(
    sample_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Published again with nothing changed, the site copies every cycle from its previous build instead of
    rendering it; the management packs, made of those pages, are still all there (before, the run wrote none),
    and every organisation-cycle's packs are kept, decided before rendering: no meeting page and no pack-only
    management page is rendered (before, every cycle's were, only to find its packs unchanged)."""
    import shutil

    import dagster as dg

    import pipelines.publishing as publishing
    from models.config import PROJECT_ROOT
    from models.releases.registry import MEETING
    from pipelines.definitions import all_assets
    from pipelines.resources import CalibraResource
    from pipelines.runs import materialize

    rendered: list[tuple[str, tuple[int, ...], object]] = []
    real = publishing.organization_pages

    def recording(data, language, organization, audience, cycles, **options):  # type: ignore[no-untyped-def]
        rendered.append((audience, tuple(cycles), options.get("only")))
        return real(data, language, organization, audience, cycles, **options)

    monkeypatch.setattr(publishing, "organization_pages", recording)

    home, site = tmp_path / "home", tmp_path / "site"
    shutil.copytree(sample_run.settings.home, home, symlinks=True)
    shutil.copytree(sample_run.settings.site, site, symlinks=True)

    def management_packs() -> list[str]:
        manifest = json.loads((home / "packs" / "manifest.json").read_text(encoding="utf-8"))
        return sorted(entry["file"] for entry in manifest["files"] if entry["audience"] == "management")

    before = management_packs()
    assert before, "the sample's first run wrote management packs"
    resource = CalibraResource(config_path=str(PROJECT_ROOT / "calibra.yaml"), home=str(home), site=str(site))
    result = materialize(all_assets, resources={"calibra": resource}, selection=[dg.AssetKey("site")])
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("site")]
    metadata = {name: value.value for name, value in event.materialization.metadata.items()}
    cycles = {tuple(path.split("/")[:2]) for path in before}
    assert metadata["reused_cycles"] > 0
    assert management_packs() == before
    assert metadata["management_packs"] == len(cycles)
    assert metadata["reused_pack_cycles"] == len(cycles)
    assert rendered and all(not cycles for _, cycles, _ in rendered), rendered
    assert {audience for audience, _, _ in rendered} >= {MEETING}
