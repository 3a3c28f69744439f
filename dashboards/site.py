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

import re
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import plotly
import polars as pl

from dashboards import theme
from dashboards.components import PageContext, esc, shell
from dashboards.i18n import fmt_int, fmt_pct, text
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
            pages[base + page + ".html"] = shell(
                ctx, text("page_" + page, language), module.body(data, ctx, org_id, cycle)
            )
        ctx = context("data_quality")
        pages[base + "data_quality.html"] = shell(
            ctx, text("page_data_quality", language), quality.body(data, ctx, org_id, cycle)
        )
    return pages


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


def build_site(
    tables: dict[str, pl.DataFrame],
    settings: Settings,
    out_dir: Path,
    language: str = "nl",
    include_worklist: bool = True,
    policies: dict[str, Policy] | None = None,
    rendered: dict[str, dict[str, str]] | None = None,
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
        for name, content in pages.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            largest = max(largest, len(content.encode("utf-8")))
            charts += content.count("class='chart' id=")
        size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        swap_in_site(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteReport(pages=len(pages), bytes=size, charts=charts, largest_page=largest)
