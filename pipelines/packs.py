"""Packs: the site's pages re-identified for the audiences entitled to know who is who (docs/privacy.md).

- **Meeting packs**: each department's calibration pack with its cases (and evaluators) by employee number,
  for its meeting only: `<home>/packs/<org>/<cycle>/calibration/<department>.html`.
- **Management packs**: the norming review (heat map, funnel plot, evaluator differentiation and leniency,
  the evaluator report) with its evaluators and managers by the identifier management knows them by, for the
  management team and HR: `<home>/packs/<org>/<cycle>/management/norming.html`. Every page of a cycle of the
  management site outside the calibration folder that names someone by pseudonym gets one.

The site keeps pseudonyms everywhere. A pack is the site's page re-identified at pack time (models.reidentify:
the map is rebuilt in memory from the source exports in the inbox and the pseudonymisation key, never
stored), with the table downloads beside it re-identified the same way, marked confidential and written with
folders 0700 and files 0600: only the account that builds the site can read them, and it hands each pack to
its audience. Where a pseudonym cannot be turned back (no key or another key, the exports gone from the inbox,
an identifier a pack cannot show), the pack keeps it, keeps the site's words for it and says so in its
banner. No identifier reaches Dagster's metadata or the log: only counts do.

Beside the packs: `index.html` (every organisation-cycle) and `<org>/<cycle>/index.html` (its meeting packs by
department with the people rated and the cases on the worklist, and its management pack), marked confidential
(dashboards.pack_index), and `manifest.json` (per cycle and for the whole folder: each file with its audience,
department, sha256 and build time), so whoever hands the packs out can say what went to whom. Every link of a
pack resolves inside the packs folder (its downloads, the packs' assets and glossary, the cycle's index, the
management pack) or is taken out: the site's other pages are not beside it.

Cost at scale (200,000 employees x 5 cycles): the map is built once per call from distinct (organisation,
identifier) pairs; a pack's tables are re-identified cell by cell before they are written (one CSV and one
workbook each, not written, unzipped, rewritten and zipped again); a page is re-identified by one split on the
compiled pseudonym pattern with one lookup per distinct pseudonym.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import posixpath
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from dashboards.components import FOOTER_TOKEN, PAGE_TOKEN, PageHTML, esc
from dashboards.downloads import TableExport
from dashboards.i18n import TEXTS, fmt_int, text
from dashboards.pack_index import (
    CyclePacks,
    MeetingPack,
    cycle_index,
    department_files,
    meeting_counts,
    top_index,
)
from dashboards.pages import SiteData
from dashboards.site import (
    LEDGER,
    SITES,
    build_time,
    footer,
    path_part,
    placed,
    policies_of_cycles,
    renderer_id,
)
from models.config import Settings
from models.mapping import find_mapping, load_mappings
from models.reidentify import (
    EXPORT_KINDS,
    PSEUDONYM,
    mark_confidential,
    pseudonym_map,
    reidentify,
    write_private,
)
from models.releases.registry import MANAGEMENT, MEETING

MANAGEMENT_FOLDER = "management"  # a cycle's management pack, beside its meeting packs in calibration/


def is_pack_page(path: str) -> bool:
    """A department's pack: a page in a cycle's calibration folder other than its overview
    (dashboards.pages.calibration.department_file)."""
    folder, _, name = path.rpartition("/")
    return folder.endswith("/calibration") and name.endswith(".html") and name != "index.html"


def is_management_page(path: str, html: str) -> bool:
    """A page of a cycle of the management site (`<org>/<cycle>/<page>.html`: the norming review, not the
    calibration folder's meeting pages) that names someone by pseudonym."""
    parts = path.split("/")
    return len(parts) == 3 and parts[2].endswith(".html") and PSEUDONYM.search(html) is not None


def management_pack_path(path: str) -> str:
    """`<org>/<cycle>/<file>` of the site → `<org>/<cycle>/management/<file>` in the packs folder."""
    organization, cycle, name = path.split("/", 2)
    return f"{organization}/{cycle}/{MANAGEMENT_FOLDER}/{name}"


# The links of a page two folders below its site's root (`../../assets/…`, the menu, the glossary), one folder
# deeper in the packs folder: the pack's scripts and styles are the packs folder's assets/.
_ROOT_LINK = re.compile(r"""((?:href|src|data-prefix|value)=['"])\.\./\.\./""")


def one_folder_deeper(html: str) -> str:
    return _ROOT_LINK.sub(r"\1../../../", html)


# The site's listing of cycles (manifest.js, for the cycle menu) lists site pages, not packs: a pack names its
# own cycle only and asks for no file it does not have.
_MANIFEST_SCRIPT = re.compile(r"""\n?<script src=["'][^"']*manifest\.js["']></script>""")


def without_manifest(html: str) -> str:
    return _MANIFEST_SCRIPT.sub("", html)


# The site's words for pseudonyms (inside its catalogue sentences and labels, dashboards/i18n.py) and the pack's
# words for them (catalogue keys).
PSEUDONYM_MARKS = {
    "nl": {" (pseudoniem)": "pack_mark_pseudonym", " (gepseudonimiseerd)": "pack_mark_pseudonymised"},
    "en": {" (pseudonym)": "pack_mark_pseudonym", " (pseudonymised)": "pack_mark_pseudonymised"},
}


def pack_marks(content: str, language: str) -> str:
    """`content` (a page, a CSV or a workbook's XML) with the pack's words where the site's labels say the
    numbers are pseudonyms."""
    for site_mark, pack_key in PSEUDONYM_MARKS.get(language, {}).items():
        content = content.replace(site_mark, text(pack_key, language))
    return content


def pack_words(html: str, language: str) -> str:
    """The pack's own words where the site's speak of pseudonyms (labels, the worklist's banner and note)."""
    for site_key, pack_key in (
        ("worklist_confidential", "pack_confidential"),
        ("worklist_explain", "pack_worklist_explain"),
    ):
        html = html.replace(esc(text(site_key, language)), esc(text(pack_key, language)))
    return pack_marks(html, language)


def packs_folder(settings: Settings) -> Path:
    return settings.home / "packs"


INDEX = "index.html"
MANIFEST = "manifest.json"
GLOSSARY = "glossary.html"


@dataclass
class PackCounts:
    """What the packs step reports (counts only: never an identifier)."""

    meeting: int = 0  # department packs written
    management: int = 0  # management packs written (norming review per organisation and cycle)
    left: int = 0  # pseudonyms that packs still show (not turned back), over every pack
    reused: int = 0  # organisation-cycles whose packs an earlier run wrote from the same inputs (kept)


# ------------------------------------------------------------------------------------------- tables
# Joins a table's text cells for one pass of the pseudonym pattern: a control character no export writes (its
# cells are text as the page shows it; a cell holding it is re-identified on its own).
_CELL_SEPARATOR = "\x1e"


def reidentified_export(export: TableExport, known: dict[str, str], left: set[str]) -> TableExport:
    """A table download with its pseudonyms turned back (`known`: models.reidentify.pseudonym_map's) before it
    is written; the same object when no cell names anyone (its files are then the site's). The table's text
    cells are re-identified in one pass over them joined (models.reidentify.reidentify), not one by one."""
    cells = [value for row in export.rows for value in row if isinstance(value, str)]
    joined = _CELL_SEPARATOR.join(cells)
    if joined.count(_CELL_SEPARATOR) == max(len(cells) - 1, 0):
        turned = reidentify(joined, known, left).split(_CELL_SEPARATOR) if cells else []
    else:  # a cell holds the separator itself
        turned = [reidentify(value, known, left) for value in cells]
    if turned == cells:
        return export
    replaced = iter(turned)
    rows = [[next(replaced) if isinstance(value, str) else value for value in row] for row in export.rows]
    return dataclasses.replace(export, rows=rows)


def marked_export(export: TableExport, language: str) -> TableExport:
    """A table download with the pack's words where the site's headers, title and note speak of pseudonyms."""
    headers = [pack_marks(h, language) for h in export.headers]
    title, explain = pack_marks(export.title, language), pack_marks(export.explain, language)
    if (headers, title, explain) == (export.headers, export.title, export.explain):
        return export
    return dataclasses.replace(export, headers=headers, title=title, explain=explain)


# ------------------------------------------------------------------------------------------- links
_NAV = re.compile(r"<nav\b[^>]*>.*?</nav>", re.S)
_ANCHOR = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.S)
_HREF = re.compile(r"""\shref=(['"])([^'"]*)\1""")
_NAVIGATE = re.compile(r"<select\b[^>]*\bdata-navigate\b[^>]*>.*?</select>", re.S)
_OPTION = re.compile(r"""<option value=(['"])([^'"]*)\1[^>]*>.*?</option>""", re.S)
_OUTSIDE = ("#", "data:", "http:", "https:", "mailto:")


def link_target(url: str, where: str) -> str | None:
    """The file (relative to the packs folder) a link on the page at `where` points to; None for an anchor in
    the page or a link that is not to a file ("data:", …)."""
    if not url or url.startswith(_OUTSIDE):
        return None
    path = url.split("#", 1)[0].split("?", 1)[0]
    return posixpath.normpath(posixpath.join(posixpath.dirname(where), path))


def fix_links(html: str, where: str, existing: set[str], redirects: dict[str, str]) -> str:
    """The page at `where` (relative to the packs folder) with every link resolving inside the folder: a link
    to a file of `existing` stays, a link to a site page that has a pack (`redirects`: site path → pack path)
    points to the pack, any other is taken out (in the page menu with its text, elsewhere leaving its text).
    The same for the options of a navigating menu (a department's or cycle's menu)."""
    folder = posixpath.dirname(where)

    def resolved(url: str) -> str | None:
        """The link as it should stay (url or its replacement), or None when it has to go."""
        target = link_target(url, where)
        if target is None or target in existing:
            return url
        if target in redirects:
            fragment = url[len(url.split("#", 1)[0]) :]
            return posixpath.relpath(redirects[target], folder or ".") + fragment
        return None

    def anchor(drop: bool) -> Callable[[re.Match[str]], str]:
        def swap(found: re.Match[str]) -> str:
            href = _HREF.search(found.group(1))
            if href is None:
                return found.group(0)
            url = resolved(href.group(2))
            if url is None:
                return "" if drop else found.group(2)
            if url == href.group(2):
                return found.group(0)
            attributes = found.group(1).replace(href.group(0), f" href={href.group(1)}{url}{href.group(1)}")
            return f"<a{attributes}>{found.group(2)}</a>"

        return swap

    def option(found: re.Match[str]) -> str:
        url = resolved(found.group(2))
        if url is None:
            return ""
        return found.group(0).replace(
            f"value={found.group(1)}{found.group(2)}", f"value={found.group(1)}{url}", 1
        )

    html = _NAV.sub(lambda nav: _ANCHOR.sub(anchor(True), nav.group(0)), html)
    html = _NAVIGATE.sub(lambda menu: _OPTION.sub(option, menu.group(0)), html)
    return _ANCHOR.sub(anchor(False), html)


# ------------------------------------------------------------------------------------------- one pack
def finish_pack(
    page: str,
    html: str,
    known: dict[str, str],
    banner_key: str,
    language: str,
    place: Callable[[dict[str, str]], dict[str, str | bytes]],
) -> tuple[dict[str, str | bytes], int]:
    """One page of the site (at `page`, with its table downloads) as a pack: the page and every table
    re-identified (`known`: models.reidentify.pseudonym_map's); where every pseudonym was turned back, the
    pack's words for them and the banner `banner_key`, else the site's words and a banner saying how many are
    left; then laid out by `place` (dashboards.site.placed: footer, download files). Returns the files and the
    number left."""
    left: set[str] = set()
    content = reidentify(str(html), known, left)
    # A table's CSV and workbook are one export: re-identified (and later written) once.
    turned: dict[int, TableExport] = {}
    downloads: dict[str, TableExport] = {}
    for name, export in getattr(html, "downloads", {}).items():
        if id(export) not in turned:
            turned[id(export)] = reidentified_export(export, known, left)
        downloads[name] = turned[id(export)]
    if left:
        banner = text("pack_pseudonyms_left", language).format(count=fmt_int(len(left), language))
    else:
        banner = text(banner_key, language)
        content = pack_words(content, language)
        marked = {id(e): marked_export(e, language) for e in downloads.values()}
        downloads = {name: marked[id(e)] for name, e in downloads.items()}
    files = place({page: PageHTML(content, downloads)})
    finished = files[page]
    assert isinstance(finished, str)
    files[page] = mark_confidential(without_manifest(finished), esc(banner))
    return files, len(left)


def _sha256(content: str | bytes) -> str:
    return hashlib.sha256(content.encode("utf-8") if isinstance(content, str) else content).hexdigest()


def _organization_name(settings: Settings, organization: str, language: str) -> str:
    org = settings.organizations.get(organization)
    if org is None:
        return organization
    return str(org.name.get(language, org.name.get("nl", organization)))


def _departments(
    data: SiteData, organization: str, cycle: int
) -> dict[str, tuple[str, int | None, int | None]]:
    """file of a department's meeting pack → (department, people rated, cases on its worklist)."""
    counts = meeting_counts(data, organization, cycle)
    return {
        file: (department, *counts.get(department, (None, None)))
        for file, department in department_files(data, organization, cycle).items()
    }


def _cycle_packs(manifest: dict[str, Any]) -> CyclePacks:
    """An organisation-cycle's packs as its manifest lists them (for the index at the top)."""
    packs = CyclePacks(manifest["organization"], manifest["organization_name"], int(manifest["cycle"]))
    for entry in manifest["files"]:
        if not entry["file"].endswith(".html"):
            continue
        file = entry["file"].removeprefix(packs.folder + "/")
        if entry["audience"] == MEETING:
            packs.meeting.append(
                MeetingPack(entry["department"], file, entry.get("rated"), entry.get("cases"))
            )
        else:
            packs.management.append((file, entry.get("title") or file))
    return packs


def write_index(root: Path, language: str, built: datetime) -> None:
    """The packs folder's `index.html` and `manifest.json`: every organisation-cycle whose manifest is in the
    folder (also those an earlier run wrote)."""
    manifests = []
    for path in sorted(root.glob(f"*/*/{MANIFEST}")):
        try:
            manifests.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError):
            continue
    write_private(root, INDEX, top_index([_cycle_packs(m) for m in manifests], language, built))
    files = [entry for m in manifests for entry in m["files"]]
    document = {"built_at": built.isoformat(), "files": files}
    write_private(root, MANIFEST, json.dumps(document, ensure_ascii=False, indent=1) + "\n")


# ------------------------------------------------------------------------------------------- reuse
# A cycle's packs are rebuilt only when something they are made of changed: the code that makes them, the key,
# the language, the cycle's pages and tables (as rendered, before the build time is filled in), its footers
# and the exports its people are turned back from. Otherwise the folder an earlier run wrote is kept (after
# checking every file against its manifest), and no export is read for it.
_CODE = (Path(__file__), Path(sys.modules["models.reidentify"].__file__ or ""))
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # a fixed build time for the footers in a digest


def _code_digest(language: str, meeting: bool) -> bytes:
    digest = hashlib.sha256(renderer_id(language, meeting).encode())  # dashboards' code, plotly, polars
    for source in _CODE:
        digest.update(source.read_bytes())
    return digest.digest()


def _export_rows(export: TableExport) -> bytes:
    return repr(
        (export.headers, export.kinds, export.decimals, export.title, export.explain, export.rows)
    ).encode()


def _without_tokens(content: str) -> str:
    """A rendered page or download name with its placeholders (random per process: dashboards.components)
    written the same way in every run, so that a page rendered again from the same tables has the same digest."""
    return content.replace(PAGE_TOKEN, "\0page").replace(FOOTER_TOKEN, "\0footer")


def _folder_digest(
    base: bytes,
    pages: dict[str, str],
    exports: list[str],
    tables: dict[str, pl.DataFrame],
    language: str,
    policies: dict[tuple[str, int], Any],
) -> str:
    digest = hashlib.sha256(base)
    for path, html in sorted(pages.items()):
        digest.update(path.encode() + b"\0" + _without_tokens(str(html)).encode())
        digest.update(footer(tables, path, _EPOCH, language, policies).encode())
        for name, export in sorted(getattr(html, "downloads", {}).items()):
            digest.update(_without_tokens(name).encode() + _export_rows(export))
    digest.update("\0".join(exports).encode())
    return digest.hexdigest()


def _reusable(
    root: Path, folder: str, digest: str, packs: set[str] | None, field: str = "digest"
) -> dict[str, Any] | None:
    """The manifest of the folder an earlier run wrote, if it was made of the same (`digest` in its `field`:
    "digest" of the pages, "inputs" of what they are made of), holds the same packs (None: those its manifest
    lists) and every file it lists is there unchanged."""
    try:
        manifest = json.loads((root / folder / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get(field) != digest or not (root / folder / INDEX).is_file():
            return None
        files = {entry["file"]: entry["sha256"] for entry in manifest["files"]}
        if packs is not None and {f for f in files if f.endswith(".html")} != packs:
            return None
        for file, sha in files.items():
            if _sha256((root / file).read_bytes()) != sha:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(manifest)


def _base(key: bytes | None, language: str, meeting: bool) -> bytes:
    """What every cycle's packs are made with: the code, the options and the key (its HMAC, never the key)."""
    base = _code_digest(language, meeting)
    return base + (hmac.new(key, b"calibra packs", hashlib.sha256).digest() if key else b"no key")


@dataclass(frozen=True)
class PackPlan:
    """Which organisation-cycles' packs an earlier run wrote from the same inputs, decided before any page is
    rendered (pipelines.publishing skips rendering a kept cycle's meeting pages and pack-only management
    pages: a run that adds a cycle rendered every earlier cycle's packs only to find them unchanged).

    A cycle's pages are made of the tables its audiences' pages read (their digest is the site's own reuse
    test, dashboards.site.cycle_digest), the code and options (`base`), the footers (the cycle's exports in
    the load ledger, its policy) and, for the re-identification, the key and the exports in the inbox."""

    root: Path
    base: bytes
    mappings: list[Any]  # the mapping profiles (models.mapping)
    by_cycle: dict[tuple[str, int], list[Path]]
    unplaced: dict[str, list[Path]]
    ledger: dict[str, pl.DataFrame]
    settings: Settings
    language: str

    def exports(self, organization: str, cycle: int) -> list[Path]:
        """The exports a cycle's people are turned back from first."""
        anywhere = [*self.unplaced.get(organization, []), *self.unplaced.get("", [])]
        return [*self.by_cycle.get((organization, cycle), []), *anywhere]

    def digest(self, organization: str, cycle: int, pages: Mapping[str, str]) -> str:
        """The cycle's packs' inputs; `pages`: audience → the digest of the tables its pages read."""
        folder = f"{path_part(organization)}/{path_part(cycle)}"
        policies = policies_of_cycles(self.settings, {organization: {cycle}})
        digest = hashlib.sha256(self.base)
        digest.update(json.dumps(sorted(pages.items())).encode())
        digest.update(footer(self.ledger, f"{folder}/{INDEX}", _EPOCH, self.language, policies).encode())
        digest.update("\0".join(_stat(self.exports(organization, cycle))).encode())
        return digest.hexdigest()

    def kept(self, organization: str, cycle: int, pages: Mapping[str, str]) -> bool:
        """Whether the folder an earlier run wrote for the cycle is made of these inputs and intact."""
        folder = f"{path_part(organization)}/{path_part(cycle)}"
        inputs = self.digest(organization, cycle, pages)
        return _reusable(self.root, folder, inputs, None, "inputs") is not None


def pack_plan(
    settings: Settings, tables: dict[str, pl.DataFrame], key: bytes | None, language: str, meeting: bool
) -> PackPlan:
    """The plan of :func:`write_packs` for the inbox, load ledger (in `tables`) and key as they are now."""
    inbox = settings.inbox
    paths = sorted(p for p in inbox.iterdir() if p.is_file()) if inbox.exists() else []
    mappings = load_mappings(settings.mappings_dirs)
    by_cycle, unplaced = _exports_by_cycle(paths, mappings, tables)
    ledger = {LEDGER: tables[LEDGER]} if LEDGER in tables else {}
    base = _base(key, language, meeting)
    return PackPlan(packs_folder(settings), base, mappings, by_cycle, unplaced, ledger, settings, language)


def _exports_by_cycle(
    paths: list[Path], mappings: list[Any], tables: dict[str, pl.DataFrame]
) -> tuple[dict[tuple[str, int], list[Path]], dict[str, list[Path]]]:
    """The inbox's exports a pack turns people back from, by (organisation, cycle) as the load ledger knows
    them, and by organisation (None: any) for those it does not."""
    ledger = tables.get(LEDGER)
    placed_in: dict[str, tuple[str, int]] = {}
    if ledger is not None and {"file_name", "organization", "cycle"} <= set(ledger.columns):
        for name, organization, cycle in ledger.select("file_name", "organization", "cycle").iter_rows():
            if name is not None and organization is not None and cycle is not None:
                placed_in[str(name)] = (str(organization), int(cycle))
    by_cycle: dict[tuple[str, int], list[Path]] = {}
    unplaced: dict[str, list[Path]] = {}
    for path in paths:
        mapping = find_mapping(path.name, mappings)
        if mapping is None or mapping.kind not in EXPORT_KINDS:
            continue
        if path.name in placed_in:
            by_cycle.setdefault(placed_in[path.name], []).append(path)
        else:
            unplaced.setdefault(str(mapping.constants.get("organization", "")), []).append(path)
    return by_cycle, unplaced


def _stat(paths: list[Path]) -> list[str]:
    return [f"{p.name}|{p.stat().st_size}|{p.stat().st_mtime_ns}" for p in paths]


@dataclass
class _Cycle:
    """One organisation-cycle's packs to write: its pages and what they need."""

    organization: str
    folder: str  # <org>/<cycle>
    pages: dict[str, str]  # site path → rendered page
    exports: list[Path]  # the inbox's exports its people are turned back from first
    digest: str
    inputs: str | None = None  # PackPlan.digest: the tables, footers, exports and key it is made of

    @property
    def cycle(self) -> int:
        return int(self.folder.split("/")[1])


@dataclass
class _Organisation:
    """What the packs of one organisation share: where each page's pack goes, where its links may lead, its
    name, its footers' policies and all its exports."""

    name: str
    target: dict[str, str]  # site path → pack path
    existing: set[str]
    meeting_links: dict[str, str]
    management_links: dict[str, str]
    place: Callable[[dict[str, str]], dict[str, str | bytes]]
    exports: list[Path]


def _mentioned(pages: dict[str, str]) -> set[str]:
    """Every pseudonym the pages and their table downloads show."""
    found: set[str] = set()
    for html in pages.values():
        found.update(PSEUDONYM.findall(str(html)))
        for export in getattr(html, "downloads", {}).values():
            found.update(
                p for row in export.rows for v in row if isinstance(v, str) for p in PSEUDONYM.findall(v)
            )
    return found


def _nearest_first(paths: list[Path], job: _Cycle, by_cycle: dict[tuple[str, int], list[Path]]) -> list[Path]:
    """The exports `paths` in the order a cycle's packs most likely need them: the organisation's earlier
    cycles from the nearest back (windows look back), then later cycles, then exports of no known cycle."""
    cycle_of = {p: c for (o, c), found in by_cycle.items() if o == job.organization for p in found}

    def order(path: Path) -> tuple[int, int]:
        cycle = cycle_of.get(path)
        if cycle is None:
            return (2, 0)
        return (0, job.cycle - cycle) if cycle <= job.cycle else (1, cycle - job.cycle)

    return sorted(paths, key=order)


def _write_cycle(
    root: Path,
    job: _Cycle,
    org: _Organisation,
    known: dict[str, str],
    language: str,
    departments: dict[str, tuple[str, int | None, int | None]],
    built: datetime,
) -> tuple[int, int, int]:
    """Write one organisation-cycle's packs anew, its index and manifest; (meeting packs, management packs,
    pseudonyms left)."""
    stamp = built.isoformat()
    shutil.rmtree(root / job.folder, ignore_errors=True)  # written anew: nothing of an earlier run is left
    packs = CyclePacks(job.folder.split("/")[0], org.name, job.cycle)
    entries: list[dict[str, Any]] = []
    total = 0
    for path, html in sorted(job.pages.items()):
        file = posixpath.basename(path)
        if is_pack_page(path):
            done, left = finish_pack(path, html, known, "pack_confidential", language, org.place)
            department, rated, cases = departments.get(file, (file.removesuffix(".html"), None, None))
            entry = {"audience": MEETING, "department": department, "rated": rated, "cases": cases}
            packs.meeting.append(MeetingPack(department, f"calibration/{file}", rated, cases))
            links = org.meeting_links
        else:
            done, left = finish_pack(path, html, known, "pack_management_confidential", language, org.place)
            review = done[path]
            assert isinstance(review, str)
            done = {
                management_pack_path(name): one_folder_deeper(review) if name == path else content
                for name, content in done.items()
            }
            stem = file.removesuffix(".html")
            title = text(f"page_{stem}", language) if f"page_{stem}" in TEXTS else stem
            entry = {"audience": MANAGEMENT, "department": None, "title": title}
            packs.management.append((f"{MANAGEMENT_FOLDER}/{file}", title))
            links = org.management_links
        total += left
        where = org.target[path]
        finished = done[where]
        assert isinstance(finished, str)
        done[where] = fix_links(finished, where, org.existing | set(done), links)
        for written, content in done.items():
            write_private(root, written, content)
            record = entry if written == where else {**entry, "rated": None, "cases": None}
            record = {k: v for k, v in record.items() if v is not None or k == "department"}
            entries.append({"file": written, **record, "sha256": _sha256(content), "built_at": stamp})
    write_private(root, f"{job.folder}/{INDEX}", cycle_index(packs, language, built))
    manifest = {
        "organization": packs.organization,
        "organization_name": packs.organization_name,
        "cycle": packs.cycle,
        "built_at": stamp,
        "digest": job.digest,
        "inputs": job.inputs,
        "left": total,
        "files": entries,
    }
    write_private(root, f"{job.folder}/{MANIFEST}", json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    return len(packs.meeting), len(packs.management), total


def write_packs(
    meeting_pages: dict[str, dict[str, str]],
    management_pages: dict[str, dict[str, str]],
    tables: dict[str, pl.DataFrame],
    settings: Settings,
    key: bytes | None,
    language: str,
    built_at: datetime | None = None,
    meeting: bool = True,
    planned: Mapping[tuple[str, int], Mapping[str, str]] | None = None,
    plan: PackPlan | None = None,
) -> PackCounts:
    """Write the packs re-identified ({organisation: {path: html}} of the rendered meeting release and
    management site), with their table downloads (laid out as the site lays them out, from the same protected
    `tables`): each department's meeting pack (with `meeting`) and each cycle's management pack, each cycle's
    index and manifest, and the folder's. Without `key` every pack keeps its pseudonyms and says so. An
    organisation-cycle whose packs would come out as an earlier run wrote them keeps those
    (`PackCounts.reused`), and no export is read for it.

    `planned`: {(organisation, cycle): {audience: digest of the tables its pages read}} of every cycle, as
    :class:`PackPlan` judged them before rendering: a cycle's packs are then kept or written by that digest,
    and a kept cycle needs no pages (none were rendered). Without it the digest is of the pages given.
    `plan`: the :func:`pack_plan` those were judged by (made here when not given)."""
    if plan is None:
        plan = pack_plan(settings, tables, key, language, meeting)
    mappings, by_cycle, unplaced = plan.mappings, plan.by_cycle, plan.unplaced
    counts = PackCounts()
    root = packs_folder(settings)
    built = build_time(built_at)
    # The site's scripts, styles and glossary beside the packs (same relative layout as the site), owner-only
    # too: the management site's, where the site's pack pages are.
    site = settings.site / SITES[MANAGEMENT]
    assets = site / "assets"
    shared = {INDEX}
    if assets.exists():
        for asset in sorted(assets.iterdir()):
            if asset.is_file():
                write_private(root, f"assets/{asset.name}", asset.read_bytes())
                shared.add(f"assets/{asset.name}")
    glossary = site / GLOSSARY
    if glossary.exists():
        shared.add(GLOSSARY)
        write_private(root, GLOSSARY, fix_links(glossary.read_text(encoding="utf-8"), GLOSSARY, shared, {}))
    # What to write: each organisation-cycle, unless an earlier run wrote it from the same inputs.
    organisations: dict[str, _Organisation] = {}
    jobs: list[_Cycle] = []
    everyone = set(meeting_pages) | set(management_pages) | {o for o, _ in planned or {}}
    for organization in sorted(everyone):
        chosen = {
            path: html
            for path, html in meeting_pages.get(organization, {}).items()
            if meeting and is_pack_page(path)
        } | {
            path: html
            for path, html in management_pages.get(organization, {}).items()
            if is_management_page(path, html)
        }
        cycles: dict[str, set[int]] = {}
        for path in chosen:  # <org>/<cycle>/...
            cycles.setdefault(path.split("/")[0], set()).add(int(path.split("/")[1]))
        policies = policies_of_cycles(settings, cycles)  # named in the footers, as on the site
        by_folder: dict[str, dict[str, str]] = {}
        for path, html in chosen.items():
            by_folder.setdefault("/".join(path.split("/")[:2]), {})[path] = html
        # the cycles judged kept before rendering have no pages here; their folders are checked below
        for o, cycle in planned or {}:
            if o == organization:
                by_folder.setdefault(f"{path_part(o)}/{path_part(cycle)}", {})
        # Where each page's pack goes, and which site pages a pack's links may be sent to instead.
        target = {path: path if is_pack_page(path) else management_pack_path(path) for path in chosen}
        meeting_links = {f"{folder}/calibration/{INDEX}": f"{folder}/{INDEX}" for folder in by_folder}
        anywhere = [*unplaced.get(organization, []), *unplaced.get("", [])]
        organisations[organization] = _Organisation(
            name=_organization_name(settings, organization, language),
            target=target,
            existing=shared | set(target.values()) | {f"{folder}/{INDEX}" for folder in by_folder},
            meeting_links=meeting_links,
            management_links=meeting_links | {p: t for p, t in target.items() if not is_pack_page(p)},
            place=partial(placed, tables=tables, built=built, language=language, policies=policies),
            exports=anywhere + [p for (o, _), found in by_cycle.items() if o == organization for p in found],
        )
        for folder, pages in sorted(by_folder.items()):
            cycle = int(folder.split("/")[1])
            own = plan.exports(organization, cycle)
            inputs = None
            if planned is not None:
                inputs = plan.digest(organization, cycle, planned.get((organization, cycle), {}))
            if not pages:
                # judged kept before rendering (PackPlan.kept); a folder changed since is left as it is
                kept = _reusable(root, folder, inputs, None, "inputs") if inputs is not None else None
                if kept is None:
                    continue
            else:
                # Rendered: kept if the pages are those an earlier run wrote (the tables a cycle's pages read
                # may change where its packs do not: the previous latest cycle loses its forecast).
                digest = _folder_digest(plan.base, pages, _stat(own), tables, language, policies)
                kept = _reusable(root, folder, digest, {target[p] for p in pages})
                if kept is None:
                    jobs.append(_Cycle(organization, folder, pages, own, digest, inputs))
                    continue
                if inputs is not None and kept.get("inputs") != inputs:
                    # the next run can keep them before rendering
                    kept["inputs"] = inputs
                    text_ = json.dumps(kept, ensure_ascii=False, indent=1) + "\n"
                    write_private(root, f"{folder}/{MANIFEST}", text_)
            htmls = [e for e in kept["files"] if e["file"].endswith(".html")]
            counts.meeting += sum(e["audience"] == MEETING for e in htmls)
            counts.management += sum(e["audience"] == MANAGEMENT for e in htmls)
            counts.left += int(kept.get("left", 0))
            counts.reused += 1
    # The map, once: from the exports of the cycles to write (read two at a time); an organisation's other
    # exports only where a pack shows a pseudonym they did not give (a person from another cycle's export:
    # the evaluator report's window reaches back), the nearest earlier cycles first, until none is left.
    read = list(dict.fromkeys(p for job in jobs for p in job.exports))
    wanted = {job.organization for job in jobs}
    known = pseudonym_map(read, mappings, key, organizations=wanted) if key and read else {}
    data = SiteData(tables, settings)
    for job in jobs:
        org = organisations[job.organization]
        departments = _departments(data, job.organization, job.cycle) if meeting else {}
        needed = _mentioned(job.pages) - known.keys()
        for export in _nearest_first([p for p in org.exports if p not in read], job, by_cycle):
            if not needed or key is None:
                break
            known |= pseudonym_map([export], mappings, key, organizations={job.organization})
            read.append(export)
            needed -= known.keys()
        written = _write_cycle(root, job, org, known, language, departments, built)
        counts.meeting += written[0]
        counts.management += written[1]
        counts.left += written[2]
    write_index(root, language, built)
    return counts
