"""The site's heavy work, per organisation and on every core: disclosure control and page rendering.

Organisations are protected independently (models.privacy.protect_organization) and their pages read only
their own rows (dashboards.site.organization_pages), so on a machine with two cores one organisation is
done in this process while the others are done in a worker process. Both halves run Python-heavy code
(the suppression search, HTML), which threads cannot run side by side. Results are merged in the
organisations' order, so the site is the same whichever way it was built (tests/test_site.py checks it).

A worker is a fresh interpreter (spawn: polars' and DuckDB's threads make fork unsafe), which costs about
two seconds of imports; below PARALLEL_MIN_ROWS source rows the work is done here, one organisation after
the other. No database and no Dagster here: the publish asset reads the sources and writes the site.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import polars as pl

from dashboards.site import organization_pages, site_data
from models.config import Settings
from models.policy import Policy
from models.privacy import (
    PASS_THROUGH,
    Publication,
    Thresholds,
    merge_publications,
    organization_sources,
    protect_organization,
)

# Source rows from which a worker process pays for its start-up (the sample has about 20,000).
PARALLEL_MIN_ROWS = 200_000


@dataclass(frozen=True)
class SiteJob:
    """What one organisation's part needs besides its rows."""

    settings: Settings
    policies: dict[str, Policy]
    language: str
    include_worklist: bool


def organization_part(
    organization: str,
    sources: dict[str, pl.DataFrame],
    passed_through: dict[str, pl.DataFrame],
    limits: Thresholds,
    job: SiteJob,
) -> tuple[Publication, dict[str, str]]:
    """One organisation's protected tables and its rendered pages."""
    publication = protect_organization(sources, limits, job.include_worklist)
    data = site_data(
        {**passed_through, **publication.tables}, job.settings, job.include_worklist, job.policies
    )
    return publication, organization_pages(data, job.language, organization)


def workers_for(sources: dict[str, pl.DataFrame], organizations: int) -> int:
    """Worker processes worth starting: none for small data or one organisation, else one per spare core."""
    rows = sum(frame.height for frame in sources.values())
    if rows < PARALLEL_MIN_ROWS or organizations < 2:
        return 0
    return max(0, min((os.cpu_count() or 1) - 1, organizations - 1))


def protect_and_render(
    sources: dict[str, pl.DataFrame],
    limits: dict[str, Thresholds],
    job: SiteJob,
    workers: int | None = None,
) -> tuple[Publication, dict[str, dict[str, str]]]:
    """Every organisation's protected tables (merged as models.privacy.publish_tables merges them) and
    pages. `workers`: worker processes (default: `workers_for`); 0 does everything in this process."""
    organizations = sorted(limits)
    workers = workers_for(sources, len(organizations)) if workers is None else workers
    passed_through = {name: frame for name, frame in sources.items() if name in PASS_THROUGH}

    def rows_of(organization: str) -> int:
        return sum(
            int((frame.get_column("organization") == organization).sum())
            for frame in sources.values()
            if "organization" in frame.columns
        )

    # The largest organisation stays here; the others go to the workers, largest first.
    order = sorted(organizations, key=rows_of, reverse=True) if workers else organizations
    here, elsewhere = (order[:1], order[1:]) if workers else (order, [])
    parts: dict[str, tuple[Publication, dict[str, str]]] = {}
    pool = (
        ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        if elsewhere
        else None
    )
    try:
        pending: dict[str, Future[tuple[Publication, dict[str, str]]]] = {}
        if pool is not None:
            for organization in elsewhere:
                pending[organization] = pool.submit(
                    organization_part,
                    organization,
                    organization_sources(sources, organization),
                    passed_through,
                    limits[organization],
                    job,
                )
        for organization in here:
            parts[organization] = organization_part(
                organization,
                organization_sources(sources, organization),
                passed_through,
                limits[organization],
                job,
            )
        for organization, future in pending.items():
            parts[organization] = future.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    published = merge_publications(sources, (parts[o][0] for o in organizations))
    return published, {o: parts[o][1] for o in organizations}
