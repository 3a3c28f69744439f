"""Site assembly: protected, already-aggregated frames in, a static offline site out (atomically swapped in).

No database and no dagster here. plotly.js is shipped once in assets/; pages make no network request
(Content-Security-Policy `connect-src 'none'`, scripts only from the site folder).

Layout of the site:
    index.html                                  organisations and cycles
    data_quality.html                           ledger, quarantine and contract results of every organisation
    <org>/<cycle>/calibration/index.html        departments of the cycle
    <org>/<cycle>/calibration/<department>.html calibration pack of one department (prints on A4)
    <org>/<cycle>/norming.html | fairness.html | budget.html | process.html | data_quality.html
    assets/plotly.min.js, assets/site.css, assets/site.js
"""

from __future__ import annotations

import html
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

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
from dashboards.downloads import TableExport, csv_bytes, xlsx_bytes
from dashboards.i18n import GLOSSARY, fmt_int, fmt_pct, text
from dashboards.pages import Options, SiteData, budget, calibration, fairness, norming, process, quality
from models.config import Settings
from models.errors import ConfigError
from models.policy import Policy, policy_for
from models.privacy import Thresholds


@dataclass
class SiteReport:
    pages: int
    bytes: int
    charts: int = 0
    largest_page: int = 0
    notes: list[str] = field(default_factory=list)


_SAFE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def path_part(value: object) -> str:
    """A folder name from an organisation id or cycle; anything unexpected is refused (never guessed)."""
    candidate = str(value)
    if not _SAFE.match(candidate):
        raise ValueError("an organisation id or cycle is not safe as a folder name")
    return candidate


def _policies(settings: Settings) -> dict[str, Policy]:
    found = {}
    for org in settings.organizations:
        try:
            found[org] = policy_for(settings, org)
        except ConfigError:
            continue
    return found


def _index(data: SiteData, language: str) -> str:
    ctx = PageContext(language=language, depth=0)
    cards = []
    for org_id, org in data.settings.organizations.items():
        name = org.name.get(language, org.name.get("nl", org_id))
        cycles = data.cycles(org_id)
        if cycles:
            items = []
            for cycle in sorted(cycles, reverse=True):
                base = f"{path_part(org_id)}/{cycle}/"
                links = " · ".join(
                    f"<a href='{base}{'calibration/index.html' if p == 'calibration' else p + '.html'}'>"
                    f"{esc(text('page_' + p, language))}</a>"
                    for p in ("calibration", "norming", "fairness", "budget", "process", "data_quality")
                )
                items.append(f"<li><strong>{esc(cycle)}</strong>: {links}</li>")
            content = f"<ul>{''.join(items)}</ul>"
        else:
            content = f"<p>{esc(text('no_data', language))}</p>"
        cards.append(f"<div class='card'><h3>{esc(name)}</h3>{content}</div>")
    # The index covers every organisation: it states the strictest thresholds of their policies.
    limits = Thresholds.strictest(data.policies.values())
    privacy = text("privacy_intro", language).format(
        k=fmt_int(limits.k, language),
        k_amounts=fmt_int(limits.k_amounts, language),
        dominance=fmt_pct(limits.dominance, language),
    )
    body = (
        f"<h1>{esc(text('site_title', language))}</h1>"
        f"<p class='lead'>{esc(text('site_intro', language))}</p>"
        f"<p class='explain'>{esc(privacy)}</p>"
        f"<h2>{esc(text('organisations', language))}</h2><div class='cards'>{''.join(cards)}</div>"
        f"<p><a href='data_quality.html'>{esc(text('page_data_quality', language))} — "
        f"{esc(text('all_organisations', language))}</a></p>"
    )
    return shell(ctx, text("site_title", language), body)


def _context(
    language: str,
    organization: str,
    name: str,
    cycle: int,
    cycles: tuple[int, ...],
    current: str,
    depth: int = 2,
) -> PageContext:
    return PageContext(
        language=language,
        depth=depth,
        organization=organization,
        organization_name=name,
        cycle=cycle,
        cycles=cycles,
        current=current,
    )


def _filter_menu(data: SiteData, organization: str, cycle: int, body: str, language: str) -> str:
    """The department filter: it narrows the page's tables to one department's rows and fades the other
    departments in its charts (site.js)."""
    names = [name for name, _ in calibration.departments(data, organization, cycle)]
    found = re.findall(r"<tr data-department='([^']+)'>", body)
    names = sorted(set(names) | {html.unescape(n) for n in found})
    # Only where the page shows departments (a page of organisation-wide figures has nothing to narrow).
    shown = [n for n in names if esc(n) in body or script_json(plot_text(n))[1:-1] in body]
    return department_filter(names, language) if shown else ""


def organization_pages(data: SiteData, language: str, org_id: str) -> dict[str, str]:
    """The pages of one organisation's cycles as {relative path: html}; they read only its own rows (and the
    pass-through tables), so organisations can be rendered side by side."""
    pages: dict[str, str] = {}
    org = data.settings.organizations[org_id]
    cycles = data.cycles(org_id)
    name = org.name.get(language, org.name.get("nl", org_id))
    for cycle in cycles:
        base = f"{path_part(org_id)}/{path_part(cycle)}/"

        context = partial(_context, language, path_part(org_id), name, cycle, tuple(cycles))
        for path, content in calibration.build(data, context, org_id, cycle):
            pages[base + path] = content
        for module, page in (
            (norming, "norming"),
            (fairness, "fairness"),
            (budget, "budget"),
            (process, "process"),
        ):
            ctx = context(page)
            body = module.body(data, ctx, org_id, cycle)
            pages[base + page + ".html"] = shell(
                ctx, text("page_" + page, language), body, _filter_menu(data, org_id, cycle, body, language)
            )
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


def render_pages(
    data: SiteData, language: str, rendered: dict[str, dict[str, str]] | None = None
) -> dict[str, str]:
    """Every page of the site as {relative path: html}. `rendered` holds organisations' pages already
    rendered elsewhere (pipelines.publishing renders them side by side); the others are rendered here."""
    pages: dict[str, str] = {"index.html": _index(data, language)}
    ctx = PageContext(language=language, depth=0)
    pages["data_quality.html"] = shell(
        ctx, text("page_data_quality", language), quality.body(data, ctx, None, None)
    )
    pages["glossary.html"] = _glossary(language)
    for org_id in data.settings.organizations:
        if rendered is not None and org_id in rendered:
            pages.update(rendered[org_id])
        else:
            pages.update(organization_pages(data, language, org_id))
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


def footer(tables: dict[str, pl.DataFrame], path: str, built: datetime, language: str) -> str:
    """The build time and the exports (file names and sha256 prefixes; no personal data) of one page."""
    parts = path.split("/")
    organization, cycle = None, None
    if len(parts) >= 3 and parts[1].isdigit():
        organization, cycle = parts[0], int(parts[1])
    files = _exports_of(tables, organization, cycle)
    when = text("built_at", language).format(when=built.strftime("%Y-%m-%d %H:%M UTC"))
    if not files:
        return f"<p class='built'>{esc(when)} {esc(text('built_from_none', language))}</p>"
    count = (
        text("built_from_one", language)
        if len(files) == 1
        else text("built_from_many", language).format(count=fmt_int(len(files), language))
    )
    items = "".join(
        f"<li>{esc(name)} <span class='meta'>sha256 {esc(digest)}</span></li>" for name, digest in files
    )
    return f"<details class='built'><summary>{esc(when)} {esc(count)}</summary><ul>{items}</ul></details>"


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
    pages: dict[str, str], tables: dict[str, pl.DataFrame], built: datetime, language: str
) -> dict[str, str | bytes]:
    """Every file of the site under its relative path: pages with their own file name and footer filled in,
    and the CSV and XLSX of their tables next to them (named after the page: budget.<table>.csv)."""
    files: dict[str, str | bytes] = {}
    for path, content in pages.items():
        folder, _, name = path.rpartition("/")
        stem = name.removesuffix(".html")
        prefix = folder + "/" if folder else ""
        page_footer = footer(tables, path, built, language)
        files[path] = str(content).replace(PAGE_TOKEN, stem).replace(FOOTER_TOKEN, page_footer)
        for download, export in getattr(content, "downloads", {}).items():
            target = prefix + download.replace(PAGE_TOKEN, stem)
            files[target] = _download_bytes(export, target, built, path)
    return files


def build_site(
    tables: dict[str, pl.DataFrame],
    settings: Settings,
    out_dir: Path,
    language: str = "nl",
    include_worklist: bool = True,
    policies: dict[str, Policy] | None = None,
    rendered: dict[str, dict[str, str]] | None = None,
    built_at: datetime | None = None,
) -> SiteReport:
    """Write the whole site to a temporary folder, then swap it in: a failed build leaves the old site.

    `tables` must already be protected (models.privacy via the publish asset); this function only lays out.
    `rendered`: organisations' pages rendered beforehand from the same tables (see `render_pages`).
    """
    if language not in ("nl", "en"):
        raise ValueError("language must be 'nl' or 'en'")
    data = site_data(tables, settings, include_worklist, policies)
    pages = render_pages(data, language, rendered)
    out_dir = out_dir.resolve()
    check_site_folder(out_dir)  # before any work: a folder that is not ours is refused, never replaced
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".site-build-", dir=out_dir.parent))
    try:
        assets = staging / "assets"
        assets.mkdir()
        shutil.copyfile(
            Path(plotly.__file__).parent / "package_data" / "plotly.min.js", assets / "plotly.min.js"
        )
        (assets / "site.css").write_text(theme.CSS, encoding="utf-8")
        (assets / "site.js").write_text(theme.site_js(), encoding="utf-8")
        largest = 0
        charts = 0
        for name, content in placed(pages, tables, build_time(built_at), language).items():
            target = staging / name
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
    return SiteReport(pages=len(pages), bytes=size, charts=charts, largest_page=largest)
