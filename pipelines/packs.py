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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from dashboards.components import esc
from dashboards.i18n import fmt_int, text
from dashboards.site import SITES, build_time, placed, policies_of_cycles
from models.config import Settings
from models.mapping import load_mappings
from models.reidentify import (
    PSEUDONYM,
    mark_confidential,
    pseudonym_map,
    reidentify_file,
    rewrite_file,
    write_private,
)
from models.releases.registry import MANAGEMENT

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
_ROOT_LINK = re.compile(r"""((?:href|src|data-prefix)=['"])\.\./\.\./""")


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


@dataclass
class PackCounts:
    """What the packs step reports (counts only: never an identifier)."""

    meeting: int = 0  # department packs written
    management: int = 0  # management packs written (norming review per organisation and cycle)
    left: int = 0  # pseudonyms that packs still show (not turned back), over every pack


def finish_pack(
    files: dict[str, str | bytes], page: str, known: dict[str, str], banner_key: str, language: str
) -> tuple[dict[str, str | bytes], int]:
    """One page of the site (`page` among `files`, its downloads beside it) as a pack: every file re-identified;
    where every pseudonym was turned back, the pack's words for them and the banner `banner_key`, else the
    site's words and a banner saying how many are left. Returns the files and the number left."""
    left: set[str] = set()
    done = {path: reidentify_file(path, content, known, left) for path, content in files.items()}
    if left:
        banner = text("pack_pseudonyms_left", language).format(count=fmt_int(len(left), language))
    else:
        banner = text(banner_key, language)
        done = {
            path: pack_words(content, language)
            if path == page and isinstance(content, str)
            else rewrite_file(path, content, lambda found: pack_marks(found, language))
            for path, content in done.items()
        }
    html = done[page]
    assert isinstance(html, str)
    done[page] = mark_confidential(without_manifest(html), esc(banner))
    return done, len(left)


def write_packs(
    meeting_pages: dict[str, dict[str, str]],
    management_pages: dict[str, dict[str, str]],
    tables: dict[str, pl.DataFrame],
    settings: Settings,
    key: bytes | None,
    language: str,
    built_at: datetime | None = None,
    meeting: bool = True,
) -> PackCounts:
    """Write the packs re-identified ({organisation: {path: html}} of the rendered meeting release and
    management site), with their table downloads (laid out as the site lays them out, from the same protected
    `tables`): each department's meeting pack (with `meeting`) and each cycle's management pack. Without `key`
    every pack keeps its pseudonyms and says so."""
    inbox = settings.inbox
    paths = sorted(p for p in inbox.iterdir() if p.is_file()) if inbox.exists() else []
    known = pseudonym_map(paths, load_mappings(settings.mappings_dirs), key) if key else {}
    counts = PackCounts()
    root = packs_folder(settings)
    # The site's scripts and styles beside the packs (same relative layout as the site), owner-only too.
    assets = (
        settings.site / SITES[MANAGEMENT] / "assets"
    )  # the management site's, where the site's pack pages are
    if assets.exists():
        for asset in sorted(assets.iterdir()):
            if asset.is_file():
                write_private(root, f"assets/{asset.name}", asset.read_text(encoding="utf-8"))
    built = build_time(built_at)
    for organization in sorted(set(meeting_pages) | set(management_pages)):
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
        for path, html in chosen.items():
            files = placed({path: html}, tables, built, language, policies)
            if is_pack_page(path):
                done, left = finish_pack(files, path, known, "pack_confidential", language)
                counts.meeting += 1
            else:
                done, left = finish_pack(files, path, known, "pack_management_confidential", language)
                page = done[path]
                assert isinstance(page, str)
                done = {
                    management_pack_path(name): one_folder_deeper(page) if name == path else content
                    for name, content in done.items()
                }
                counts.management += 1
            counts.left += left
            for name, content in done.items():
                write_private(root, name, content)
    return counts
