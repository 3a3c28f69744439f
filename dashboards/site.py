"""Site assembly: protected, already-aggregated frames in, a static offline site out (atomically swapped in).

No database and no dagster here. plotly.js is shipped once in assets/; pages make no network request
(Content-Security-Policy `connect-src 'none'`, scripts only from the site folder).

Layout of the site: one self-contained site per audience (docs/privacy.md), each with its own index, navigation,
assets, downloads and manifest; nothing in one links into the other.
    .calibra-site                               marks the folder as calibra's (only such a folder is replaced)
    organisatie/                                all staff and the works council (organisation release)
        index.html, glossary.html, manifest.json, manifest.js, assets/
        <org>/<cycle>/fairness.html | budget.html | process.html
    management/                                 the management team and HR (management release)
        index.html, glossary.html, data_quality.html, manifest.json, manifest.js, assets/
        <org>/<cycle>/calibration/index.html        departments of the cycle
        <org>/<cycle>/calibration/<department>.html one department's protected distribution (no case)
        <org>/<cycle>/norming.html | data_quality.html

The meeting release (a department's own counts and its cases) is rendered too (RENDERED: audience MEETING,
pages <org>/<cycle>/calibration/<department>.html) but into no site: pipelines/packs.py writes those packs
re-identified and owner-only.

Which page belongs to which site follows from its tables' audiences (models.releases.registry.PAGES): a page
with a meeting table is a pack, one with a management table is in the management site; the organisation site is rendered from the
organisation release's tables only, so a management table cannot reach it even through a page's mistake.

Navigation across cycles comes from the manifest (manifest.js, the same listing as manifest.json): a page of
one cycle does not list the other cycles in its HTML, so adding a cycle re-renders that cycle's pages and the
index only; the other cycles' folders are copied from the previous site when their digest is unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import plotly
import polars as pl

from dashboards import theme
from dashboards.components import (
    FOOTER_TOKEN,
    PAGE_TOKEN,
    PageContext,
    department_filter,
    esc,
    plot_text,
    script_json,
    shell,
)
from dashboards.components import PAGES as PAGE_KINDS
from dashboards.downloads import TableExport, csv_bytes, xlsx_bytes
from dashboards.i18n import GLOSSARY, fmt_int, fmt_pct, text
from dashboards.pages import Options, SiteData, budget, calibration, fairness, norming, process, quality
from models.config import Organization, Settings
from models.errors import ConfigError
from models.policy import Policy, policy_for
from models.privacy import Thresholds
from models.releases.common import PASS_THROUGH
from models.releases.registry import MANAGEMENT, MEETING, ORGANISATION, PACK_PAGE, PAGES


@dataclass
class SiteReport:
    pages: int
    bytes: int
    charts: int = 0
    largest_page: int = 0
    reused: int = 0  # organisation cycles copied from the previous site, not rendered again
    notes: list[str] = field(default_factory=list)


_SAFE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def path_part(value: object) -> str:
    """A folder name from an organisation id or cycle; anything unexpected is refused (never guessed)."""
    candidate = str(value)
    if not _SAFE.match(candidate):
        raise ValueError("an organisation id or cycle is not safe as a folder name")
    return candidate


def policies_of_cycles(
    settings: Settings, cycles: Mapping[str, Iterable[int]]
) -> dict[tuple[str, int], Policy]:
    """The policy each organisation's cycle is judged by (calibra.yaml names it per cycle), for the footers;
    a cycle calibra.yaml names no policy in force for is left out (the marts' run has said so already)."""
    found = {}
    for org, org_cycles in cycles.items():
        for cycle in org_cycles:
            try:
                found[(org, int(cycle))] = policy_for(settings, org, int(cycle))
            except ConfigError:
                continue
    return found


def _policies(settings: Settings) -> dict[str, Policy]:
    found = {}
    for org in settings.organizations:
        try:
            found[org] = policy_for(settings, org)
        except ConfigError:
            continue
    return found


# ------------------------------------------------------------------------------------------------ audiences
# The two sites. Folder names are Dutch, as the site's default language is. The meeting release is rendered too
# (RENDERED), but into no site: its pages are the department packs, which pipelines/packs.py re-identifies and
# writes owner-only under <home>/packs/.
SITES: dict[str, str] = {ORGANISATION: "organisatie", MANAGEMENT: "management"}
RENDERED: tuple[str, ...] = (*SITES, MEETING)
# Pages that hold no published table of the registry: the data-quality pages (quarantine and contract results
# per export) are for the people who run and decide the cycle.
_OTHER_PAGES = {"data_quality": MANAGEMENT}


def page_audience(page: str) -> str:
    """The audience of a page kind: the most restricted audience of the tables it shows (registry PAGES). The
    meeting pack (page `pack`: a department's unsuppressed counts and its cases) is the meeting's; a page with
    a management table is in the management site; the others in the organisation site."""
    audiences = {audience for shown_on, audience in PAGES.values() if shown_on == page}
    if not audiences:
        return _OTHER_PAGES.get(page, MANAGEMENT)
    if MEETING in audiences:
        return MEETING
    return ORGANISATION if audiences == {ORGANISATION} else MANAGEMENT


def site_pages(audience: str) -> tuple[str, ...]:
    """The page kinds of one organisation and cycle in the site of `audience`, in menu order (the meeting's:
    its pack, which names the management site's pages in its menu)."""
    if audience == MEETING:
        return (PACK_PAGE,)
    return tuple(page for page in PAGE_KINDS if page_audience(page) == audience)


def audience_tables(tables: dict[str, pl.DataFrame], audience: str) -> dict[str, pl.DataFrame]:
    """The tables an audience's pages are rendered from: the organisation site gets only the organisation
    release (and the pass-through audit tables its footers name files from); the management site every table
    but the meeting release's; the meeting packs every table (a pack also shows its department's evaluators
    and the organisation-wide distribution)."""
    if audience == MEETING:
        return tables
    allowed = (ORGANISATION,) if audience == ORGANISATION else (ORGANISATION, MANAGEMENT)
    return {
        name: frame
        for name, frame in tables.items()
        if name in PASS_THROUGH or PAGES.get(name, ("", MANAGEMENT))[1] in allowed
    }


def _page_path(page: str) -> str:
    return "calibration/index.html" if page == "calibration" else page + ".html"


def _index(data: SiteData, language: str, audience: str, manifest: dict[str, Any]) -> str:
    """The site's front page, from the manifest: every organisation and cycle with this site's pages."""
    ctx = PageContext(language=language, depth=0)
    cards = []
    for entry in manifest["organisations"].values():
        cycles = entry["cycles"]
        if cycles:
            items = []
            for listed in sorted(cycles, key=lambda c: c["cycle"], reverse=True):
                base = f"{entry['path']}/{listed['cycle']}/"
                links = " · ".join(
                    f"<a href='{base}{_page_path(p)}'>{esc(text('page_' + p, language))}</a>"
                    for p in site_pages(audience)
                    if _page_path(p) in listed["pages"]
                )
                items.append(f"<li><strong>{esc(listed['cycle'])}</strong>: {links}</li>")
            content = f"<ul>{''.join(items)}</ul>"
        else:
            content = f"<p>{esc(text('no_data', language))}</p>"
        cards.append(f"<div class='card'><h3>{esc(entry['name'])}</h3>{content}</div>")
    privacy, per_policy = _thresholds_statement(data, language, audience, manifest)
    quality = ""
    if "data_quality" in site_pages(audience):
        quality = (
            f"<p><a href='data_quality.html'>{esc(text('page_data_quality', language))} — "
            f"{esc(text('all_organisations', language))}</a></p>"
        )
    body = (
        f"<h1>{esc(text('site_title', language))}</h1>"
        f"<p class='lead'>{esc(text('site_intro_' + audience, language))}</p>"
        f"<p class='notice'>{esc(text('site_audience_' + audience, language))}</p>"
        f"<p class='explain'>{esc(privacy)}</p>{per_policy}"
        f"<h2>{esc(text('organisations', language))}</h2><div class='cards'>{''.join(cards)}</div>"
        f"{quality}"
    )
    return shell(ctx, text("site_title", language), body)


def _thresholds_statement(
    data: SiteData, language: str, audience: str, manifest: dict[str, Any]
) -> tuple[str, str]:
    """The index's statement of the disclosure thresholds, and (html) what each policy's cycles used when they
    differ. Each organisation's cycle is protected with the thresholds of the policy in force for it
    (pipelines/publishing.py), so the sentence states the lowest of those of the cycles listed (true of every
    cycle); where the cycles' policies do not agree, a list names, per organisation and policy, its cycles
    and the thresholds they were protected with."""
    cycles = {
        org: [int(c["cycle"]) for c in entry["cycles"]] for org, entry in manifest["organisations"].items()
    }
    grouped: dict[tuple[str, str, int], tuple[Policy, list[int]]] = {}
    for (org, cycle), policy in sorted(policies_of_cycles(data.settings, cycles).items()):
        grouped.setdefault((org, policy.id, policy.version), (policy, []))[1].append(cycle)
    used = {key: Thresholds.from_policy(policy) for key, (policy, _) in grouped.items()}
    found = list(used.values()) or [Thresholds.strictest(data.policies.values())]
    if audience == MANAGEMENT:  # the management site is protected with the management minimum group
        found = [replace(t, k=t.management_k) for t in found]
        used = {key: replace(t, k=t.management_k) for key, t in used.items()}
    limits = replace(
        found[0],
        k=min(t.k for t in found),
        k_amounts=min(t.k_amounts for t in found),
        dominance=max(t.dominance for t in found),
    )

    def stated(t: Thresholds) -> dict[str, str]:
        return {
            "k": fmt_int(t.k, language),
            "k_amounts": fmt_int(t.k_amounts, language),
            "dominance": fmt_pct(t.dominance, language),
        }

    sentence = text("privacy_intro_" + audience, language).format(**stated(limits))
    if len({tuple(stated(t).values()) if audience == ORGANISATION else t.k for t in found}) <= 1:
        return sentence, ""
    line = str(text("privacy_thresholds_of_policy_" + audience, language))
    items = "".join(
        "<li>"
        + esc(
            line.format(
                organization=manifest["organisations"][org]["name"],
                cycles=_cycles_text(found_cycles),
                policy=policy_named(policy, language),
                **stated(used[(org, policy_id, version)]),
            )
        )
        + "</li>"
        for (org, policy_id, version), (policy, found_cycles) in grouped.items()
    )
    return sentence, (
        f"<p class='explain'>{esc(text('privacy_thresholds_per_policy', language))}</p><ul>{items}</ul>"
    )


def _context(
    language: str,
    organization: str,
    name: str,
    cycle: int,
    pages: tuple[str, ...],
    current: str,
    depth: int = 2,
) -> PageContext:
    return PageContext(
        language=language,
        depth=depth,
        organization=organization,
        organization_name=name,
        cycle=cycle,
        current=current,
        pages=pages,
    )


def _filter_menu(data: SiteData, organization: str, cycle: int, body: str, language: str) -> str:
    """The department filter: it narrows the page's tables to one department's rows and fades the other
    departments in its charts (site.js)."""
    names = [name for name, _ in calibration.departments(data, organization, cycle)]
    # The organisation site has no ratings table: its department names come from its own tables (budget and
    # process by department, fairness within departments), those the page shows.
    candidates: list[str] = []
    for table in data.tables:
        frame = data.get(table, organization, cycle)
        if frame is None or frame.height == 0:
            continue
        if "department" in frame.columns:
            candidates += [str(n) for n in frame["department"].drop_nulls().unique().to_list()]
        if {"scope", "stratum"} <= set(frame.columns):
            within = frame.filter(pl.col("scope") == "department")["stratum"].drop_nulls().unique()
            candidates += [str(n) for n in within.to_list()]
    names += [n for n in set(candidates) if esc(n) in body or script_json(plot_text(n))[1:-1] in body]
    found = re.findall(r"<tr data-department='([^']+)'>", body)
    names = sorted(set(names) | {html.unescape(n) for n in found})
    # Only where the page shows departments (a page of organisation-wide figures has nothing to narrow).
    shown = [n for n in names if esc(n) in body or script_json(plot_text(n))[1:-1] in body]
    return department_filter(names, language) if shown else ""


def organization_pages(
    data: SiteData,
    language: str,
    org_id: str,
    audience: str = MANAGEMENT,
    cycles: Iterable[int] | None = None,
    only: Iterable[str] | None = None,
) -> dict[str, str]:
    """The pages of one organisation's cycles in the site of `audience` as {path relative to that site: html};
    `cycles`: only these (default every cycle); `only`: only these kinds of page (default all the audience's;
    the menus still name every page of the site). They read only the organisation's own rows (and the
    pass-through tables), so organisations can be rendered side by side. `data` should hold the audience's
    tables only (:func:`audience_tables`)."""
    pages: dict[str, str] = {}
    org = data.settings.organizations[org_id]
    name = org.name.get(language, org.name.get("nl", org_id))
    kinds = site_pages(audience)
    rendered_kinds = set(kinds if only is None else only)
    wanted = set(data.cycles(org_id) if cycles is None else cycles)
    for cycle in sorted(wanted & set(data.cycles(org_id))):
        base = f"{path_part(org_id)}/{path_part(cycle)}/"
        if PACK_PAGE in kinds:
            # The packs' menus name the management site's pages, as a department page there does.
            context = partial(_context, language, path_part(org_id), name, cycle, site_pages(MANAGEMENT))
            for path, content in calibration.build_packs(data, context, org_id, cycle):
                pages[base + path] = content
            continue
        context = partial(_context, language, path_part(org_id), name, cycle, kinds)
        if "calibration" in kinds and "calibration" in rendered_kinds:
            for path, content in calibration.build(data, context, org_id, cycle):
                pages[base + path] = content
        modules = {"norming": norming, "fairness": fairness, "budget": budget, "process": process}
        for page in kinds:
            if page not in modules or page not in rendered_kinds:
                continue
            ctx = context(page)
            body = modules[page].body(data, ctx, org_id, cycle)
            pages[base + page + ".html"] = shell(
                ctx, text("page_" + page, language), body, _filter_menu(data, org_id, cycle, body, language)
            )
        if "data_quality" in kinds and "data_quality" in rendered_kinds:
            ctx = context("data_quality")
            pages[base + "data_quality.html"] = shell(
                ctx, text("page_data_quality", language), quality.body(data, ctx, org_id, cycle)
            )
    return pages


def _glossary(language: str) -> str:
    """One page that explains every statistical term; pages link their terms to its anchors."""
    ctx = PageContext(language=language, depth=0)
    entries = []
    for key, entry in sorted(GLOSSARY.items(), key=lambda item: item[1]["term"][language].lower()):
        entries.append(
            f"<dt id='{esc(key)}'>{esc(entry['term'][language])}</dt><dd>{esc(entry['text'][language])}</dd>"
        )
    body = (
        f"<h1>{esc(text('page_glossary', language))}</h1>"
        f"<p class='lead'>{esc(text('glossary_intro', language))}</p>"
        f"<dl class='glossary'>{''.join(entries)}</dl>"
    )
    return shell(ctx, text("page_glossary", language), body)


# ------------------------------------------------------------------------------------------------- manifest
MANIFEST = "manifest.json"
MANIFEST_SCRIPT = "manifest.js"
MANIFEST_FORMAT = 1
# What the cycle menus do with the manifest (appended to manifest.js; the pages only carry their own cycle).
_MENU_SCRIPT = """
document.addEventListener("DOMContentLoaded", function () {
  var manifest = window.calibraManifest || {organisations: {}};
  document.querySelectorAll("select[data-cycle-menu]").forEach(function (select) {
    var entry = manifest.organisations[select.getAttribute("data-organization")];
    if (!entry) { return; }
    var page = select.getAttribute("data-page"), prefix = select.getAttribute("data-prefix") || "";
    var current = select.value;
    var listed = entry.cycles.filter(function (c) { return c.pages.indexOf(page) >= 0; });
    if (listed.length < 2) { return; }
    while (select.options.length) { select.remove(0); }
    listed.forEach(function (c) {
      var option = document.createElement("option");
      option.value = prefix + entry.path + "/" + c.cycle + "/" + page;
      option.textContent = String(c.cycle);
      option.selected = option.value === current;
      select.appendChild(option);
    });
  });
});
"""


def renderer_id(language: str, include_worklist: bool) -> str:
    """What else a page depends on besides its rows: the page code, the libraries that draw it, the options.
    A cycle's pages are reused from the previous site only if this is unchanged."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    digest.update(f"{plotly.__version__}|{pl.__version__}|{language}|{include_worklist}".encode())
    return digest.hexdigest()[:16]


def cycle_digest(data: SiteData, org_id: str, cycle: int) -> str:
    """A digest of everything the pages of one organisation's cycle read: the rows of that organisation up
    to and including the cycle (a page shows earlier cycles, as the drift lines do, never later ones), the
    rows without a cycle, the organisation's settings and policy. Tables without such rows and columns
    without a value are left out, so one organisation's tables give the digest the merged tables give."""
    return _organization_digests(data, org_id, [cycle])[cycle]


# Rows hashed at a time in a digest. A row's hash depends on that row only, so the slices give the whole table's
# hashes, with the working memory of one slice (issue 21: the evaluator report of 200,000 people × 5 cycles is
# 1.3 million rows, 37 columns).
DIGEST_SLICE_ROWS = 100_000


def _digest_column(dtype: pl.DataType, name: str) -> pl.Expr:
    """A column as a digest hashes it: whole numbers as Int64 and fractions as Float64 (one organisation's
    table and the tables merged over organisations may hold the same counts as Int32 and Int64), booleans as
    they are, nested values by their hash, and text, categories, dates and anything else as text. Hashing
    numbers as text instead took five times as long (issue 21: 2.7 of a new cycle's site step's seconds)."""
    column = pl.col(name)
    if dtype.is_nested():
        return column.hash(0)
    if dtype.is_integer():
        return column.cast(pl.Int64, wrap_numerical=True)
    if dtype.is_float():
        return column.cast(pl.Float64)
    if dtype == pl.Boolean:
        return column
    return column.cast(pl.String)


def _row_hashes(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.Series:
    """The hash of each row of `columns` (each column as :func:`_digest_column` gives it), slice by slice."""
    if not columns:
        return pl.Series([], dtype=pl.UInt64)
    canonical = [_digest_column(frame.schema[c], c) for c in columns]
    return pl.concat(
        [
            frame.slice(start, DIGEST_SLICE_ROWS).select(canonical).hash_rows(0)
            for start in range(0, frame.height, DIGEST_SLICE_ROWS)
        ]
    )


def _organization_digests(data: SiteData, org_id: str, cycles: Iterable[int]) -> dict[int, str]:
    """:func:`cycle_digest` of several cycles of one organisation. Each table is cut to the organisation, and
    its rows are hashed once per set of columns with a value rather than once per cycle: a row's hash does not depend on the other rows, so the rows of each cycle's
    digest are a selection of the same hashes."""
    cycles = sorted(set(cycles))
    digests = {cycle: hashlib.sha256() for cycle in cycles}
    for name in sorted(data.tables):
        frame = data.tables[name]
        if "organization" in frame.columns:
            frame = frame.filter(pl.col("organization") == org_id)
        if frame.height == 0:
            continue
        if "cycle" in frame.columns:
            cycle_of = frame["cycle"].cast(pl.Int64)
            cycle_null = frame["cycle"].is_null()
        missing = frame.select(pl.all().is_null())
        hashed: dict[tuple[str, ...], pl.Series] = {}
        for cycle in cycles:
            keep = (cycle_null | (cycle_of <= cycle)) if "cycle" in frame.columns else None
            nulls = missing if keep is None else missing.filter(keep)
            if nulls.height == 0:
                continue
            counts = nulls.sum().row(0, named=True)
            columns = tuple(sorted(c for c in frame.columns if counts[c] < nulls.height))
            if columns not in hashed:
                hashed[columns] = _row_hashes(frame, columns)
            rows = hashed[columns] if keep is None or not columns else hashed[columns].filter(keep)
            digests[cycle].update(f"{name}|{nulls.height}|{list(columns)}|".encode())
            digests[cycle].update(rows.sort().to_numpy().tobytes())
    settings = _portable_settings(data.settings.organizations[org_id])
    policy = repr(data.policy(org_id)).encode()
    found = {}
    for cycle, digest in digests.items():
        digest.update(settings)
        digest.update(policy)
        # the policy of this cycle (it may differ from the latest), which the pages' footers name
        digest.update(repr(policies_of_cycles(data.settings, {org_id: [cycle]})).encode())
        found[cycle] = digest.hexdigest()[:24]
    return found


def _portable_settings(organization: Organization) -> bytes:
    """An organisation's settings for a cycle digest, without the folder its policy files sit in: the pages
    depend on the policies' contents (hashed beside them), not on where the checkout is, so a site built from
    another folder keeps its digests and is not rendered again."""
    portable = dataclasses.replace(
        organization,
        policy_path=Path(organization.policy_path.name),
        policy_periods=tuple(
            (first, last, Path(path.name)) for first, last, path in organization.policy_periods
        ),
    )
    return repr(portable).encode()


def cycle_digests(data: SiteData, org_ids: Iterable[str] | None = None) -> dict[tuple[str, int], str]:
    """:func:`cycle_digest` of every cycle of the organisations (default: all)."""
    org_ids = data.settings.organizations if org_ids is None else org_ids
    return {
        (o, c): digest
        for o in org_ids
        for c, digest in _organization_digests(data, o, data.cycles(o)).items()
    }


def site_manifest(
    data: SiteData,
    language: str,
    audience: str,
    pages: Iterable[str],
    renderer: str,
    digests: dict[tuple[str, int], str],
) -> dict[str, Any]:
    """The listing of one site: its organisations, their cycles, each cycle's pages and digest. `pages`:
    every page's path relative to the site."""
    by_cycle: dict[tuple[str, int], list[str]] = {}
    for path in pages:
        parts = path.split("/")
        if len(parts) >= 3 and parts[1].isdigit():
            by_cycle.setdefault((parts[0], int(parts[1])), []).append("/".join(parts[2:]))
    organisations: dict[str, Any] = {}
    for org_id, org in data.settings.organizations.items():
        folder = path_part(org_id)
        cycles = [
            {"cycle": cycle, "digest": digests.get((org_id, cycle), ""), "pages": sorted(found)}
            for (owner, cycle), found in sorted(by_cycle.items())
            if owner == folder
        ]
        organisations[org_id] = {
            "name": org.name.get(language, org.name.get("nl", org_id)),
            "path": folder,
            "cycles": cycles,
        }
    return {
        "format": MANIFEST_FORMAT,
        "audience": audience,
        "language": language,
        "renderer": renderer,
        "organisations": organisations,
    }


def _manifest_script(manifest: dict[str, Any]) -> str:
    listing = {
        org_id: {
            "path": entry["path"],
            "cycles": [{"cycle": c["cycle"], "pages": c["pages"]} for c in entry["cycles"]],
        }
        for org_id, entry in manifest["organisations"].items()
    }
    return f"window.calibraManifest = {script_json({'organisations': listing})};\n{_MENU_SCRIPT}"


def read_manifest(site: Path, audience: str) -> dict[str, Any] | None:
    """The manifest of the site of `audience` in the calibra site `site`, if there is one that can be read."""
    path = site / SITES[audience] / MANIFEST
    if not is_calibra_site(site) or path.is_symlink() or not path.is_file():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("format") == MANIFEST_FORMAT else None


def reusable_cycles(
    site: Path, audience: str, renderer: str, digests: dict[tuple[str, int], str]
) -> dict[str, set[int]]:
    """Per organisation, the cycles whose pages in the current site at `site` are still right: same renderer,
    same digest (`digests`: :func:`cycle_digests` of the new tables), their folder present. Their pages need
    not be rendered again: build_site copies them."""
    reusable: dict[str, set[int]] = {}
    if audience not in SITES:  # the meeting packs: no site, no manifest; rendered every time
        return reusable
    previous = read_manifest(site, audience)
    if previous is None or previous.get("renderer") != renderer:
        return reusable
    for org_id, entry in previous.get("organisations", {}).items():
        if not isinstance(entry, dict) or entry.get("path") != org_id:
            continue
        for listed in entry.get("cycles", []):
            cycle = listed.get("cycle") if isinstance(listed, dict) else None
            if not isinstance(cycle, int) or digests.get((org_id, cycle)) != listed.get("digest"):
                continue
            folder = site / SITES[audience] / path_part(org_id) / path_part(cycle)
            if folder.is_dir() and not folder.is_symlink():
                reusable.setdefault(org_id, set()).add(cycle)
    return reusable


def _cycles_in(pages: Iterable[str]) -> set[int]:
    return {int(p.split("/")[1]) for p in pages if p.count("/") >= 2 and p.split("/")[1].isdigit()}


def render_site(
    data: SiteData,
    language: str,
    audience: str,
    rendered: dict[str, dict[str, str]] | None = None,
    reused: dict[str, set[int]] | None = None,
) -> dict[str, str]:
    """The pages of one audience's site rendered now, as {path relative to that site: html}, without the
    index (which follows from the manifest). `data` holds the audience's tables only. `rendered` holds
    organisations' pages rendered elsewhere (pipelines.publishing renders them side by side); of the cycles
    they leave out, those in `reused` are not rendered (build_site copies them from the previous site)."""
    pages: dict[str, str] = {"glossary.html": _glossary(language)}
    if "data_quality" in site_pages(audience):
        ctx = PageContext(language=language, depth=0)
        pages["data_quality.html"] = shell(
            ctx, text("page_data_quality", language), quality.body(data, ctx, None, None)
        )
    for org_id in data.settings.organizations:
        given = (rendered or {}).get(org_id, {})
        pages.update(given)
        done = _cycles_in(given) | (reused or {}).get(org_id, set())
        missing = [c for c in data.cycles(org_id) if c not in done]
        if missing:
            pages.update(organization_pages(data, language, org_id, audience, missing))
    return pages


def render_pages(
    data: SiteData, language: str, rendered: dict[str, dict[str, dict[str, str]]] | None = None
) -> dict[str, str]:
    """Every page of both sites as {path relative to the site folder (audience folder first): html}."""
    pages: dict[str, str] = {}
    for audience, folder in SITES.items():
        scoped = replace(data, tables=audience_tables(data.tables, audience), _cache={})
        found = render_site(scoped, language, audience, (rendered or {}).get(audience))
        manifest = site_manifest(scoped, language, audience, found, "", {})
        pages[f"{folder}/index.html"] = _index(scoped, language, audience, manifest)
        pages.update({f"{folder}/{path}": content for path, content in found.items()})
    return pages


def site_data(
    tables: dict[str, pl.DataFrame],
    settings: Settings,
    include_worklist: bool = True,
    policies: dict[str, Policy] | None = None,
) -> SiteData:
    return SiteData(
        tables=tables,
        settings=settings,
        policies=policies if policies is not None else _policies(settings),
        options=Options(include_worklist=include_worklist),
    )


# The file that marks a folder as a calibra site. Only a folder that carries it is ever replaced or deleted:
# `--site` pointed at a home, a project or a documents folder must never empty it.
SITE_MARKER = ".calibra-site"


class SiteFolderRefused(ConfigError):
    """The folder given for the site is not empty and is not a calibra site."""


# A site built before the marker existed: calibra's own assets and index page.
_LEGACY_SITE_FILES = ("index.html", "assets/site.css", "assets/site.js", "assets/plotly.min.js")


def is_calibra_site(folder: Path) -> bool:
    if not folder.is_dir() or folder.is_symlink():
        return False
    return (folder / SITE_MARKER).is_file() or all((folder / f).is_file() for f in _LEGACY_SITE_FILES)


def check_site_folder(folder: Path) -> None:
    """A site folder must be missing, empty or a calibra site (it carries SITE_MARKER)."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise SiteFolderRefused(
            f"the site folder {folder} is not a folder; choose a new or empty folder for the site"
        )
    if folder.is_dir() and any(folder.iterdir()) and not is_calibra_site(folder):
        raise SiteFolderRefused(
            f"the site folder {folder} is not empty and is not a calibra site; "
            "choose a new or empty folder for the site (calibra replaces only folders it built)"
        )


def swap_in_site(staging: Path, out_dir: Path) -> None:
    """Put the finished `staging` folder in place of `out_dir`, owner-only (the pages carry pseudonymised
    individual cases). The old site is deleted only if it carries the marker; a leftover `.previous`
    folder without the marker is left where it is and the swap is refused."""
    (staging / SITE_MARKER).write_text("calibra site: this folder is replaced on every build\n", "utf-8")
    for path in staging.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    staging.chmod(0o700)
    check_site_folder(out_dir)  # again: the folder may have changed during the build
    previous = out_dir.with_name(out_dir.name + ".previous")
    if previous.exists() or previous.is_symlink():
        if not is_calibra_site(previous):
            raise SiteFolderRefused(
                f"{previous} exists and is not a calibra site; move it away and build again"
            )
        shutil.rmtree(previous)
    if out_dir.exists():
        out_dir.rename(previous)  # an empty folder or a calibra site (checked above)
    staging.rename(out_dir)
    if previous.exists() and (is_calibra_site(previous) or not any(previous.iterdir())):
        shutil.rmtree(previous)


LEDGER = "audit.load_ledger"


def build_time(built_at: datetime | None = None) -> datetime:
    """When the site was built: given, or SOURCE_DATE_EPOCH (reproducible builds), or now; in UTC."""
    if built_at is not None:
        return built_at.astimezone(UTC) if built_at.tzinfo else built_at.replace(tzinfo=UTC)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC).replace(microsecond=0)


def _exports_of(
    tables: dict[str, pl.DataFrame], organization: str | None, cycle: int | None
) -> list[tuple[str, str]]:
    """(file name, first 12 hex digits of its sha256) of the loaded exports a page was built from: the
    organisation's files of the cycle (and its files without a cycle, such as salary scales), or every file."""
    ledger = tables.get(LEDGER)
    if ledger is None or not {"file_name", "file_sha256"} <= set(ledger.columns):
        return []
    if organization is not None and "organization" in ledger.columns:
        ledger = ledger.filter(pl.col("organization") == organization)
    if cycle is not None and "cycle" in ledger.columns:
        ledger = ledger.filter(pl.col("cycle").is_null() | (pl.col("cycle").cast(pl.String) == str(cycle)))
    if "status" in ledger.columns:
        ledger = ledger.filter(pl.col("status").is_null() | (pl.col("status") != "rejected"))
    rows = ledger.select("file_name", "file_sha256").unique().sort("file_name", "file_sha256")
    return [(str(name), str(digest or "")[:12]) for name, digest in rows.iter_rows()]


# (organisation, cycle) → the policy that cycle was judged by (models.policy.policy_for with the cycle)
CyclePolicies = Mapping[tuple[str, int], Policy]


def _policy_period(policy: Policy, language: str) -> str:
    start, end = policy.valid_from, policy.valid_until
    if start and end:
        return str(text("policy_valid_between", language)).format(
            start=start.isoformat(), end=end.isoformat()
        )
    if start:
        return str(text("policy_valid_from", language)).format(start=start.isoformat())
    if end:
        return str(text("policy_valid_until", language)).format(end=end.isoformat())
    return str(text("policy_valid_always", language))


def policy_named(policy: Policy, language: str) -> str:
    """The policy a page used, as its footer names it: name, id, version and the period it is in force."""
    return str(text("policy_used", language)).format(
        name=policy.name.get(language) or policy.name.get("nl") or policy.id,
        id=policy.id,
        version=policy.version,
        period=_policy_period(policy, language),
    )


def _cycles_text(cycles: list[int]) -> str:
    """2022–2024 for consecutive cycles, else 2020, 2022."""
    cycles = sorted(cycles)
    if len(cycles) > 1 and cycles == list(range(cycles[0], cycles[-1] + 1)):
        return f"{cycles[0]}\u2013{cycles[-1]}"
    return ", ".join(str(c) for c in cycles)


def policies_footer(
    policies: CyclePolicies, organization: str | None, cycle: int | None, language: str
) -> str:
    """The policy version a page used: its cycle's, or for a page over several organisations or cycles (the
    index, data quality) each policy with the cycles it judged."""
    if organization is not None and cycle is not None:
        policy = policies.get((organization, cycle))
        if policy is None:
            return ""
        line = str(text("policy_of_page", language)).format(policy=policy_named(policy, language))
        return f"<p class='policy'>{esc(line)}</p>"
    grouped: dict[tuple[str, str, int], tuple[Policy, list[int]]] = {}
    for (org, found_cycle), policy in sorted(policies.items()):
        if organization is None or org == organization:
            grouped.setdefault((org, policy.id, policy.version), (policy, []))[1].append(found_cycle)
    if not grouped:
        return ""
    line = str(text("policy_for_cycles", language))
    items = "".join(
        "<li>"
        + esc(
            line.format(organization=org, cycles=_cycles_text(cycles), policy=policy_named(policy, language))
        )
        + "</li>"
        for (org, _, _), (policy, cycles) in grouped.items()
    )
    return f"<details class='policy'><summary>{esc(text('policies_used', language))}</summary><ul>{items}</ul></details>"


def footer(
    tables: dict[str, pl.DataFrame],
    path: str,
    built: datetime,
    language: str,
    policies: CyclePolicies | None = None,
) -> str:
    """The build time, the exports (file names and sha256 prefixes; no personal data) and the policy version
    (id, version, period in force) of one page."""
    parts = path.split("/")
    organization, cycle = None, None
    if len(parts) >= 3 and parts[1].isdigit():
        organization, cycle = parts[0], int(parts[1])
    rules = policies_footer(policies or {}, organization, cycle, language)
    files = _exports_of(tables, organization, cycle)
    when = text("built_at", language).format(when=built.strftime("%Y-%m-%d %H:%M UTC"))
    if not files:
        return f"<p class='built'>{esc(when)} {esc(text('built_from_none', language))}</p>{rules}"
    count = (
        text("built_from_one", language)
        if len(files) == 1
        else text("built_from_many", language).format(count=fmt_int(len(files), language))
    )
    items = "".join(
        f"<li>{esc(name)} <span class='meta'>sha256 {esc(digest)}</span></li>" for name, digest in files
    )
    return (
        f"<details class='built'><summary>{esc(when)} {esc(count)}</summary><ul>{items}</ul></details>{rules}"
    )


def _download_bytes(export: TableExport, name: str, built: datetime, page_path: str) -> bytes:
    if name.endswith(".csv"):
        return csv_bytes(export)
    about = [
        text("download_hidden_note", export.language),
        text("built_at", export.language).format(when=built.strftime("%Y-%m-%d %H:%M UTC")),
        page_path,
    ]
    return xlsx_bytes(export, built, about)


def placed(
    pages: dict[str, str],
    tables: dict[str, pl.DataFrame],
    built: datetime,
    language: str,
    policies: CyclePolicies | None = None,
) -> dict[str, str | bytes]:
    """Every file of the site under its relative path: pages with their own file name and footer filled in,
    and the CSV and XLSX of their tables next to them (named after the page: budget.<table>.csv).
    `policies`: the policy of each organisation's cycle, named in the footers."""
    files: dict[str, str | bytes] = {}
    for path, content in pages.items():
        folder, _, name = path.rpartition("/")
        stem = name.removesuffix(".html")
        prefix = folder + "/" if folder else ""
        page_footer = footer(tables, path, built, language, policies)
        files[path] = str(content).replace(PAGE_TOKEN, stem).replace(FOOTER_TOKEN, page_footer)
        for download, export in getattr(content, "downloads", {}).items():
            target = prefix + download.replace(PAGE_TOKEN, stem)
            files[target] = _download_bytes(export, target, built, path)
    return files


PLOTLY_JS = "plotly.min.js"


def _write_assets(folder: Path, plotly_js: Path | None = None) -> Path:
    """The site's scripts and styles in `folder`/assets; returns where its plotly.js is. `plotly_js`: the
    plotly.js another audience's site of this build already holds. Each audience's site is complete on its
    own (it is handed out alone), yet plotly.js (4.6 MB, most of a site's bytes) is stored once: this site's
    file is a hard link to that one (a copy where the file system cannot link)."""
    assets = folder / "assets"
    assets.mkdir(parents=True)
    target = assets / PLOTLY_JS
    if plotly_js is None:
        shutil.copyfile(Path(plotly.__file__).parent / "package_data" / PLOTLY_JS, target)
    else:
        try:
            os.link(plotly_js, target)
        except OSError:
            shutil.copyfile(plotly_js, target)
    (assets / "site.css").write_text(theme.CSS, encoding="utf-8")
    (assets / "site.js").write_text(theme.site_js(), encoding="utf-8")
    return target


def build_site(
    tables: dict[str, pl.DataFrame],
    settings: Settings,
    out_dir: Path,
    language: str = "nl",
    include_worklist: bool = True,
    policies: dict[str, Policy] | None = None,
    rendered: dict[str, dict[str, dict[str, str]]] | None = None,
    built_at: datetime | None = None,
    reuse: bool = True,
    digests: Mapping[str, Mapping[str, Mapping[tuple[str, int], str]]] | None = None,
) -> SiteReport:
    """Write both audiences' sites to a temporary folder, then swap it in: a failed build leaves the old site.

    `tables` must already be protected (models.releases via the publish asset); this function only lays out.
    `rendered`: {audience: {organisation: {path: html}}} rendered beforehand from the same tables (see
    pipelines.publishing). With `reuse`, an organisation's cycle whose digest and renderer are those of the
    previous site's manifest is copied from it instead of rendered again (`SiteReport.reused`).
    `digests`: {audience: {organisation: its cycle_digests}} computed beforehand from the same tables (by
    pipelines.publishing); organisations missing there are digested here.
    """
    if language not in ("nl", "en"):
        raise ValueError("language must be 'nl' or 'en'")
    data = site_data(tables, settings, include_worklist, policies)
    out_dir = out_dir.resolve()
    check_site_folder(out_dir)  # before any work: a folder that is not ours is refused, never replaced
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    renderer = renderer_id(language, include_worklist)
    built = build_time(built_at)
    staging = Path(tempfile.mkdtemp(prefix=".site-build-", dir=out_dir.parent))
    pages_written, largest, charts, reused_cycles = 0, 0, 0, 0
    plotly_js: Path | None = None
    try:
        for audience, folder in SITES.items():
            scoped = replace(data, tables=audience_tables(data.tables, audience), _cache={})
            given = (digests or {}).get(audience, {})
            known = cycle_digests(scoped, [o for o in settings.organizations if o not in given])
            for org_digests in given.values():
                known.update(org_digests)
            reusable = reusable_cycles(out_dir, audience, renderer, known) if reuse else {}
            pages = render_site(scoped, language, audience, (rendered or {}).get(audience), reusable)
            root = staging / folder
            plotly_js = _write_assets(root, plotly_js)
            listed = list(pages)
            previous = read_manifest(out_dir, audience) or {}
            for org_id in settings.organizations:
                copied = set(reusable.get(org_id, set())) - _cycles_in(
                    p for p in pages if p.startswith(path_part(org_id) + "/")
                )
                entry = previous.get("organisations", {}).get(org_id, {})
                for cycle in sorted(copied & set(scoped.cycles(org_id))):
                    relative = f"{path_part(org_id)}/{path_part(cycle)}"
                    shutil.copytree(out_dir / folder / relative, root / relative, symlinks=True)
                    old = next(c for c in entry["cycles"] if c["cycle"] == cycle)
                    listed += [f"{relative}/{page}" for page in old["pages"]]
                    reused_cycles += 1
            manifest = site_manifest(scoped, language, audience, listed, renderer, known)
            pages["index.html"] = _index(scoped, language, audience, manifest)
            (root / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
            (root / MANIFEST_SCRIPT).write_text(_manifest_script(manifest), encoding="utf-8")
            pages_written += len(pages)
            cycle_policies = policies_of_cycles(
                settings, {o: scoped.cycles(o) for o in settings.organizations}
            )
            for name, content in placed(pages, scoped.tables, built, language, cycle_policies).items():
                target = root / name
                target.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, bytes):
                    target.write_bytes(content)
                    continue
                target.write_text(content, encoding="utf-8")
                largest = max(largest, len(content.encode("utf-8")))
                charts += content.count("class='chart' id=")
        size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        swap_in_site(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteReport(
        pages=pages_written, bytes=size, charts=charts, largest_page=largest, reused=reused_cycles
    )
