"""The site's heavy work, one organisation at a time: disclosure control and page rendering.

Organisations are protected independently (models.releases.registry.protect_organization) and their pages read only
their own rows (dashboards.site.organization_pages). Doing them one after the other keeps one
organisation's rows and working memory at a time beside the finished parts, and the whole source tables are
not kept once they are split. The merged result is exactly what models.releases.registry.publish_tables gives
(tests/test_site.py checks it).

Measured and left out: protecting one organisation in a worker process while this process did the other
took the site from about 14 to 11 s at 200,000 × 5, but the worker's interpreter and working memory (about
600 MB) made the site the run's memory peak, above the 2 GB target (docs/benchmark.md).

No database and no Dagster here: the publish asset reads the sources and writes the site.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from dashboards.site import (
    SITES,
    audience_tables,
    cycle_digests,
    organization_pages,
    renderer_id,
    reusable_cycles,
    site_data,
)
from models.config import Settings
from models.disclosure import Thresholds
from models.policy import Policy
from models.releases.common import PASS_THROUGH
from models.releases.registry import (
    Publication,
    merge_publications,
    organization_sources,
    protect_organization,
)


@dataclass(frozen=True)
class SiteJob:
    """What an organisation's part needs besides its rows."""

    settings: Settings
    policies: dict[str, Policy]
    language: str
    include_worklist: bool
    # The current site: an organisation's cycles whose pages there are still right (same digest in its
    # manifest) are not rendered again; dashboards.site.build_site copies them. None renders every cycle.
    site: Path | None = None
    reused: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    # {audience: {organisation: {(organisation, cycle): digest}}}, filled here for dashboards.site.build_site
    # (an organisation's own tables give the digest the merged tables give; computing it is not cheap).
    digests: dict[str, dict[str, dict[tuple[str, int], str]]] = field(default_factory=dict)


def organization_part(
    organization: str,
    sources: dict[str, pl.DataFrame],
    passed_through: dict[str, pl.DataFrame],
    limits: Thresholds,
    job: SiteJob,
) -> tuple[Publication, dict[str, dict[str, str]]]:
    """One organisation's protected tables and its rendered pages per audience ({audience: {path: html}}):
    each audience's site from that audience's tables only, and only the cycles the current site lacks."""
    publication = protect_organization(sources, limits, job.include_worklist)
    data = site_data(
        {**passed_through, **publication.tables}, job.settings, job.include_worklist, job.policies
    )
    pages: dict[str, dict[str, str]] = {}
    renderer = renderer_id(job.language, job.include_worklist)
    for audience in SITES:
        scoped = replace(data, tables=audience_tables(data.tables, audience), _cache={})
        reused: set[int] = set()
        digests = cycle_digests(scoped, [organization])
        job.digests.setdefault(audience, {})[organization] = digests
        if job.site is not None:
            reused = reusable_cycles(job.site, audience, renderer, digests).get(organization, set())
            job.reused.setdefault(audience, {})[organization] = reused
        cycles = [c for c in scoped.cycles(organization) if c not in reused]
        pages[audience] = organization_pages(scoped, job.language, organization, audience, cycles)
    return publication, pages


def protect_and_render(
    sources: dict[str, pl.DataFrame], limits: dict[str, Thresholds], job: SiteJob
) -> tuple[Publication, dict[str, dict[str, dict[str, str]]]]:
    """Every organisation's protected tables (merged as models.releases.registry.publish_tables merges them) and its
    pages ({audience: {organisation: {path: html}}}). `sources` is emptied: it is split per organisation first."""
    organizations = sorted(limits)
    passed_through = {name: frame for name, frame in sources.items() if name in PASS_THROUGH}
    per_organization = {o: organization_sources(sources, o) for o in organizations}
    sources.clear()
    parts = {
        o: organization_part(o, per_organization.pop(o), passed_through, limits[o], job)
        for o in organizations
    }
    published = merge_publications(passed_through, (parts[o][0] for o in organizations))
    rendered = {audience: {o: parts[o][1][audience] for o in organizations} for audience in SITES}
    return published, rendered
