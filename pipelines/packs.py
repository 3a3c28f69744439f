"""Meeting packs: each department's calibration pack with its cases by employee number, for its meeting only.

The site keeps pseudonyms everywhere. A pack is the department's calibration page re-identified at pack time
(models.reidentify: the map is rebuilt in memory from the source exports in the inbox and the
pseudonymisation key, never stored), marked confidential and written under `<home>/packs/<organisation>/`
with folders 0700 and files 0600: only the account that builds the site can read them, and it hands each
pack to its meeting. No identifier reaches Dagster's metadata or the log: only counts do.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from dashboards.components import esc
from dashboards.i18n import text
from dashboards.site import SITES, build_time, placed, policies_of_cycles
from models.config import Settings
from models.mapping import load_mappings
from models.reidentify import mark_confidential, pseudonym_map, reidentify_file, write_private
from models.releases.registry import MANAGEMENT


def is_pack_page(path: str) -> bool:
    """A department's pack: a page in a cycle's calibration folder other than its overview
    (dashboards.pages.calibration.department_file)."""
    folder, _, name = path.rpartition("/")
    return folder.endswith("/calibration") and name.endswith(".html") and name != "index.html"


# The site's words for pseudonyms, which a re-identified pack no longer shows.
PSEUDONYM_MARKS = (" (pseudoniem)", " (gepseudonimiseerd)", " (pseudonym)", " (pseudonymised)")


def pack_words(html: str, language: str) -> str:
    """The pack's own words where the site's speak of pseudonyms (labels, the worklist's banner and note)."""
    for site_key, pack_key in (
        ("worklist_confidential", "pack_confidential"),
        ("worklist_explain", "pack_worklist_explain"),
    ):
        html = html.replace(esc(text(site_key, language)), esc(text(pack_key, language)))
    for mark in PSEUDONYM_MARKS:
        html = html.replace(mark, "")
    return html


def packs_folder(settings: Settings) -> Path:
    return settings.home / "packs"


def write_meeting_packs(
    rendered: dict[str, dict[str, str]],
    tables: dict[str, pl.DataFrame],
    settings: Settings,
    key: bytes,
    language: str,
    built_at: datetime | None = None,
) -> int:
    """Write every department pack of `rendered` ({organisation: {path: html}}) re-identified, with its table
    downloads (laid out as the site lays them out, from the same protected `tables`); the number of packs
    written."""
    inbox = settings.inbox
    paths = sorted(p for p in inbox.iterdir() if p.is_file()) if inbox.exists() else []
    known = pseudonym_map(paths, load_mappings(settings.mappings_dirs), key)
    banner = text("pack_confidential", language)
    written = 0
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
    for pages in rendered.values():
        packs = {path: html for path, html in pages.items() if is_pack_page(path)}
        cycles: dict[str, set[int]] = {}
        for path in packs:  # <org>/<cycle>/calibration/<department>.html
            cycles.setdefault(path.split("/")[0], set()).add(int(path.split("/")[1]))
        policies = policies_of_cycles(settings, cycles)  # named in the footers, as on the site
        for path, content in placed(packs, tables, built, language, policies).items():
            found = reidentify_file(path, content, known)
            if path in packs and isinstance(found, str):
                found = mark_confidential(pack_words(found, language), banner)
                written += 1
            write_private(root, path, found)
    return written
