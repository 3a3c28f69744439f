"""The site's heavy work, one organisation at a time: disclosure control and page rendering.

Organisations are protected independently (models.releases.registry.protect_organization) and their pages read only
their own rows (dashboards.site.organization_pages). Doing them one after the other keeps one
organisation's rows and working memory at a time beside the finished parts: the publish asset reads each
organisation's rows from the database only when its turn comes (:func:`protect_and_render_each`), and
:func:`protect_and_render`, given whole tables, drops them once they are split. The merged result is exactly what models.releases.registry.publish_tables gives
(tests/test_site.py checks it).

Measured and left out: protecting one organisation in a worker process while this process did the other
took the site from about 14 to 11 s at 200,000 × 5, but the worker's interpreter and working memory (about
600 MB) made the site the run's memory peak, above the 2 GB target (docs/benchmark.md).

An organisation whose cycles are judged by policies with different disclosure thresholds (a regime change,
docs/design.md) is protected once per set of thresholds, each pass with the rows of the cycles it judges
(:func:`protect_regimes`); the marts never pool or compare cycles across a regime change, so no published row
spans two passes.

No database and no Dagster here: the publish asset reads the sources and writes the site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from dashboards.site import (
    RENDERED,
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

# The column that says which cycle's policy judged a row: the base cycle of a projection or forecast (its
# `cycle` is a year ahead), the later cycle of a transition, else the cycle.
REGIME_COLUMNS = ("base_cycle", "to_cycle", "cycle")
# An organisation's thresholds: one set for all its cycles, or (cycles, thresholds) per regime.
Regimes = Sequence[tuple[frozenset[int], Thresholds]]
Limits = Thresholds | Regimes


def regime_column(frame: pl.DataFrame) -> str | None:
    """The column of `frame` whose cycle's policy judged the row (None: the table has no cycle)."""
    return next((c for c in REGIME_COLUMNS if c in frame.columns), None)


def source_cycles(sources: dict[str, pl.DataFrame]) -> dict[str, set[int]]:
    """Per organisation, the cycles whose policy judged some row of its protected sources."""
    found: dict[str, set[int]] = {}
    for name, frame in sources.items():
        column = regime_column(frame)
        if name in PASS_THROUGH or column is None or "organization" not in frame.columns:
            continue
        pairs = frame.select("organization", column).drop_nulls().unique()
        for organization, cycle in pairs.iter_rows():
            found.setdefault(str(organization), set()).add(int(cycle))
    return found


def regimes_of(cycles: Iterable[tuple[int, Thresholds]]) -> Limits:
    """(cycle, the thresholds of its policy) grouped into the passes of :func:`protect_regimes`: one set of
    thresholds when every cycle has the same (as before regimes existed)."""
    grouped: dict[Thresholds, set[int]] = {}
    for cycle, limits in sorted(cycles, key=lambda found: found[0]):
        grouped.setdefault(limits, set()).add(cycle)
    if len(grouped) == 1:
        return next(iter(grouped))
    return tuple((frozenset(found), limits) for limits, found in grouped.items())


def protect_regimes(sources: dict[str, pl.DataFrame], limits: Limits, include_worklist: bool) -> Publication:
    """One organisation's protected tables, each cycle's rows protected with the thresholds of the policy in
    force for it: one pass per set of thresholds over the rows of its cycles (:func:`regime_column`), merged.
    A table without a cycle goes with the last pass (the latest policy's)."""
    if isinstance(limits, Thresholds):
        return protect_organization(sources, limits, include_worklist)
    parts = []
    for index, (cycles, thresholds) in enumerate(limits):
        last = index == len(limits) - 1
        part: dict[str, pl.DataFrame] = {}
        for name, frame in sources.items():
            column = regime_column(frame)
            if column is not None:
                part[name] = frame.filter(pl.col(column).is_in(sorted(cycles)))
            elif last:
                part[name] = frame
        parts.append(protect_organization(part, thresholds, include_worklist))
    merged = merge_publications({}, parts)
    # a table Missing in one pass but built in another is not missing
    merged.notes = [n for n in merged.notes if n.split(":", 1)[0] not in merged.tables]
    return merged


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


def own_buffers(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` copied through Arrow into buffers that hold only its own values (a string view column of a
    filtered frame shares, and so keeps alive, every data buffer of the column it was filtered from)."""
    copied = pl.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
    assert isinstance(copied, pl.DataFrame)
    return copied if copied.schema == frame.schema else frame


def organization_part(
    organization: str,
    sources: dict[str, pl.DataFrame],
    passed_through: dict[str, pl.DataFrame],
    limits: Limits,
    job: SiteJob,
) -> tuple[Publication, dict[str, dict[str, str]]]:
    """One organisation's protected tables (each cycle's with the thresholds in force for it) and its rendered
    pages per audience ({audience: {path: html}}): each audience's site from that audience's tables only, and
    only the cycles the current site lacks."""
    publication = protect_regimes(sources, limits, job.include_worklist)
    # Kept until the site is written, so each table gets buffers of its own (same values, same dtypes): a
    # protected frame's string columns otherwise keep the whole source columns they were filtered from
    # alive after `sources` is dropped (at 200,000 × 5 about 0.3 GB per million evaluator-report rows).
    publication.tables = {name: own_buffers(frame) for name, frame in publication.tables.items()}
    data = site_data(
        {**passed_through, **publication.tables}, job.settings, job.include_worklist, job.policies
    )
    pages: dict[str, dict[str, str]] = {}
    renderer = renderer_id(job.language, job.include_worklist)
    for audience in RENDERED:  # both sites, and the meeting packs (no site: never reused, no digest)
        scoped = replace(data, tables=audience_tables(data.tables, audience), _cache={})
        reused: set[int] = set()
        digests = cycle_digests(scoped, [organization]) if audience in SITES else {}
        job.digests.setdefault(audience, {})[organization] = digests
        if job.site is not None:
            reused = reusable_cycles(job.site, audience, renderer, digests).get(organization, set())
            job.reused.setdefault(audience, {})[organization] = reused
        cycles = [c for c in scoped.cycles(organization) if c not in reused]
        pages[audience] = organization_pages(scoped, job.language, organization, audience, cycles)
    return publication, pages


# An organisation's protected sources (its rows only, pass-through tables left out) and its thresholds.
Loader = Callable[[str], tuple[dict[str, pl.DataFrame], Limits]]


def protect_and_render(
    sources: dict[str, pl.DataFrame], limits: dict[str, Limits], job: SiteJob
) -> tuple[Publication, dict[str, dict[str, dict[str, str]]]]:
    """Every organisation's protected tables (merged as models.releases.registry.publish_tables merges them) and its
    pages ({audience: {organisation: {path: html}}}). `sources` is emptied: it is split per organisation first."""
    passed_through = {name: frame for name, frame in sources.items() if name in PASS_THROUGH}
    per_organization = {o: organization_sources(sources, o) for o in limits}
    sources.clear()
    return protect_and_render_each(
        sorted(limits), passed_through, lambda o: (per_organization.pop(o), limits[o]), job
    )


def protect_and_render_each(
    organizations: Iterable[str], passed_through: dict[str, pl.DataFrame], load: Loader, job: SiteJob
) -> tuple[Publication, dict[str, dict[str, dict[str, str]]]]:
    """:func:`protect_and_render` with each organisation's sources loaded only when its turn comes (`load`), so
    the whole source tables are never in memory at once: the publish asset reads one organisation's rows from
    the database, protects and renders them, and drops them before it reads the next (at 200,000 × 5 the
    evaluator report alone is about 0.9 GB as a whole frame; docs/benchmark.md)."""
    organizations = list(organizations)
    parts = {}
    for organization in organizations:
        sources, limits = load(organization)
        parts[organization] = organization_part(organization, sources, passed_through, limits, job)
        del sources
    published = merge_publications(passed_through, (parts[o][0] for o in organizations))
    rendered = {audience: {o: parts[o][1][audience] for o in organizations} for audience in RENDERED}
    return published, rendered
