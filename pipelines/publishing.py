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

The largest source, the evaluator report, is not read whole even for one organisation: the publish asset
hands a `CycleReader` and its release protects one cycle at a time (models.releases.evaluators.release_cycles;
its cells lie within one cycle, so the result is the whole table's). Other cycles' releases are not: the
organisation release depends on other cycles (docs/privacy.md, "Cycles (issue 21)").

No database and no Dagster here: the publish asset reads the sources and writes the site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from dashboards.pages import SiteData
from dashboards.site import (
    RENDERED,
    SITES,
    audience_tables,
    cycle_digests,
    organization_pages,
    renderer_id,
    reusable_cycles,
    site_data,
    site_pages,
)
from models.config import Settings
from models.disclosure import Thresholds
from models.disclosure.report import report_row
from models.policy import Policy
from models.releases import evaluators
from models.releases.common import EVALUATOR_DEPARTMENTS, PASS_THROUGH, Missing, own_buffers
from models.releases.registry import (
    MANAGEMENT,
    MEETING,
    PAGES,
    Publication,
    merge_publications,
    organization_sources,
    protect_organization,
)
from pipelines.release_cache import PartCache

# Pages rendered for the management packs only: of a cycle whose management site pages are copied from the
# previous site, the pages a management pack is made of (pipelines.packs.is_management_page: a cycle's
# top-level pages; the calibration folder's department pages are the meeting's, rendered each run).
MANAGEMENT_PACK_ONLY = "management_pack_only"
PACK_SOURCE_PAGES = tuple(page for page in site_pages(MANAGEMENT) if page != "calibration")
# The audiences whose pages the packs are made of (meeting packs, management packs).
PACK_AUDIENCES = (MEETING, MANAGEMENT)

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
    # Tables only an organisation's own cycle pages read (rendered and digested here): once they are, their
    # rows are dropped from the publication (an empty frame of the same columns stays), so the next
    # organisation is protected beside its pages, not beside its rows (:func:`drop_rendered_rows`).
    page_only: tuple[str, ...] = ()
    # Whether an organisation-cycle's packs can be kept, given {audience: digest} of the tables its meeting
    # and management pages read (pipelines.packs.PackPlan.kept); None: packs are not planned here. A kept
    # cycle's meeting pages and pack-only management pages are not rendered.
    keep_packs: Callable[[str, int, Mapping[str, str]], bool] | None = None
    # Filled here for pipelines.packs.write_packs: {(organisation, cycle): {audience: digest}} of every cycle
    # judged.
    planned: dict[tuple[str, int], dict[str, str]] = field(default_factory=dict)
    # Protected parts of the evaluator report kept from earlier runs (pipelines.release_cache); None: every
    # part is protected.
    parts: PartCache | None = None


@dataclass(frozen=True)
class CycleReader:
    """An organisation's evaluator report read one cycle at a time (its largest source: at 200,000 × 5 about
    1.3 million rows × 39 columns, 0.6 GB as one frame, twice that while it is read), and within a cycle one
    measure at a time where `measures` names them: a cell's partition (models.releases.evaluators.KEY) lies
    within one measure, so protecting each measure's rows alone hides the same cells, with half the working
    memory for two measures (protecting one cycle of the larger organisation took 0.45 GB above its rows)."""

    cycles: tuple[int, ...]
    # one cycle's rows (of one measure; None: every measure); cycle None: no rows, the table's columns only
    # (an organisation without rows in it)
    read: Callable[[int | None, str | None], pl.DataFrame]
    # per cycle its measures, in the table's order (missing: the cycle is read whole)
    measures: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # per cycle the mart step's record of its slice (audit.mart_inputs: fingerprint and build time), which
    # changes whenever the cycle's rows may have (missing: its protected parts are not kept between runs)
    built: Mapping[int, str] = field(default_factory=dict)

    def parts(self) -> Iterator[tuple[int | None, str | None]]:
        """(cycle, measure) of each read, in the table's order."""
        for cycle in self.cycles or (None,):
            yield from (
                (cycle, m) for m in (self.measures.get(cycle, (None,)) if cycle is not None else (None,))
            )


def thresholds_of(limits: Limits, cycle: int | None) -> Thresholds:
    """The thresholds `limits` gives a cycle's rows (:func:`protect_regimes`; a cycle of no regime: the last's,
    as a table without a cycle)."""
    if isinstance(limits, Thresholds):
        return limits
    return next((found for cycles, found in limits if cycle in cycles), limits[-1][1])


def add_evaluator_report(
    publication: Publication,
    organization: str,
    reader: CycleReader,
    departments: pl.DataFrame | None,
    limits: Limits,
    cache: PartCache | None = None,
) -> None:
    """The evaluator report protected cycle by cycle from `reader` (models.releases.evaluators.release_cycles)
    and added to `publication` as models.releases.registry.protect_organization adds a table: the same frame,
    hidden count, report line and notes as protecting the whole table (tests/test_site.py). Its release is the
    last of the registry's and no other table reads it, so nothing protected before depends on it. With a
    `cache`, a part kept from an earlier run (same rows, thresholds and code) is neither read nor protected."""
    name = evaluators.NAME
    missing = f"{name}: {evaluators.SOURCE} is not in the database (yet)"
    publication.notes = [n for n in publication.notes if n != missing]

    def protected(cycle: int | None, measure: str | None) -> evaluators.ProtectedPart:
        thresholds = thresholds_of(limits, cycle)
        if cache is None or cycle is None:  # (cycle None: the table's columns only)
            return evaluators.protect_part(reader.read(cycle, measure), thresholds)
        key = cache.key(organization, cycle, measure, reader.built.get(cycle), thresholds)
        kept = None if key is None else cache.load(key)
        if kept is not None:
            return kept
        part = evaluators.protect_part(reader.read(cycle, measure), thresholds)
        if key is not None:
            cache.save(key, part)
        return part

    try:
        result = evaluators.combine_parts(
            (protected(cycle, measure) for cycle, measure in reader.parts()), departments
        )
    except Missing as gap:
        publication.notes.append(f"{name}: {gap}")
        return
    publication.tables[name] = result.frame
    publication.hidden[name] = publication.hidden.get(name, 0) + result.hidden
    page, audience = PAGES[name]
    publication.report.append(report_row(organization, name, page, audience, result))
    publication.notes += [f"{name}: {n}" for n in result.notes if f"{name}: {n}" not in publication.notes]


def organization_part(
    organization: str,
    sources: dict[str, pl.DataFrame],
    passed_through: dict[str, pl.DataFrame],
    limits: Limits,
    job: SiteJob,
    reader: CycleReader | None = None,
) -> tuple[Publication, dict[str, dict[str, str]]]:
    """One organisation's protected tables (each cycle's with the thresholds in force for it) and its rendered
    pages per audience ({audience: {path: html}}): each audience's site from that audience's tables only, and
    only the cycles the current site lacks. With a `reader`, the evaluator report is read and protected one
    cycle at a time (:func:`add_evaluator_report`) instead of from `sources`. `sources` is emptied once
    protected."""
    publication = protect_regimes(sources, limits, job.include_worklist)
    # Kept until the site is written, so each table gets buffers of its own (same values, same dtypes): a
    # protected frame's string columns otherwise keep the whole source columns they were filtered from
    # alive after `sources` is dropped (at 200,000 × 5 about 0.3 GB per million evaluator-report rows).
    # The evaluator report's parts have buffers of their own already (a second copy of the whole table would
    # be the step's memory peak).
    publication.tables = {
        name: frame if name == evaluators.NAME else own_buffers(frame)
        for name, frame in publication.tables.items()
    }
    # The sources are not read again: emptied (the caller's dict too), the evaluator report is protected and
    # the pages are rendered without them beside.
    departments = sources.get(EVALUATOR_DEPARTMENTS)
    sources.clear()
    if reader is not None:
        add_evaluator_report(publication, organization, reader, departments, limits, job.parts)
    del departments
    data = site_data(
        {**passed_through, **publication.tables}, job.settings, job.include_worklist, job.policies
    )
    pages: dict[str, dict[str, str]] = {}
    renderer = renderer_id(job.language, job.include_worklist)
    # The digest of each audience's tables per cycle: the sites' reuse test, and the packs' (the meeting
    # release has no site, so its digest is needed only when packs are planned).
    digests: dict[str, dict[tuple[str, int], str]] = {}
    for audience in RENDERED:
        if audience in SITES or (audience in PACK_AUDIENCES and job.keep_packs is not None):
            scoped = replace(data, tables=audience_tables(data.tables, audience), _cache={})
            digests[audience] = cycle_digests(scoped, [organization])
        if audience in SITES:
            job.digests.setdefault(audience, {})[organization] = digests[audience]
    kept: set[int] = set()
    if job.keep_packs is not None:
        for cycle in data.cycles(organization):
            made_of = {
                audience: digests[audience][(organization, cycle)]
                for audience in PACK_AUDIENCES
                if (organization, cycle) in digests.get(audience, {})
            }
            job.planned[(organization, cycle)] = made_of
            if job.keep_packs(organization, cycle, made_of):
                kept.add(cycle)
    for audience in RENDERED:  # both sites, and the meeting packs (no site: never reused)
        scoped = replace(data, tables=audience_tables(data.tables, audience), _cache={})
        reused: set[int] = set()
        if job.site is not None and audience in SITES:
            reused = reusable_cycles(job.site, audience, renderer, digests[audience]).get(organization, set())
            job.reused.setdefault(audience, {})[organization] = reused
        skipped = reused if audience in SITES else kept  # a kept cycle's meeting packs need no pages
        cycles = [c for c in scoped.cycles(organization) if c not in skipped]
        pages[audience] = organization_pages(scoped, job.language, organization, audience, cycles)
        if audience == MANAGEMENT and reused - kept:
            # The management pack of a cycle is its management site pages re-identified; a cycle whose site
            # pages are copied from the previous site still needs them (without the department pages, which
            # no pack takes from the site), or a run with nothing changed would write no management pack;
            # unless the cycle's packs are kept.
            pages[MANAGEMENT_PACK_ONLY] = organization_pages(
                scoped, job.language, organization, audience, sorted(reused - kept), only=PACK_SOURCE_PAGES
            )
    drop_rendered_rows(publication, data, organization, job.page_only)
    return publication, pages


def drop_rendered_rows(
    publication: Publication, data: SiteData, organization: str, names: Iterable[str]
) -> None:
    """Empty the tables `names` of `publication` (same columns, no rows) once the organisation's pages are
    rendered: dashboards.site.build_site and the meeting packs then read only the pass-through tables (the
    footers' file list), the cycles and the pages rendered here, so the site is the same byte for byte
    (tests/test_site.py). At 200,000 × 5 the evaluator report of the larger organisation is about 0.6 GB kept
    beside the other organisation's work otherwise. A table is kept when dropping it would lose a cycle
    (one that no other table has)."""
    for name in names:
        frame = publication.tables.get(name)
        if frame is None or frame.height == 0:
            continue
        rest = replace(data, tables={n: f for n, f in data.tables.items() if n != name}, _cache={})
        if rest.cycles(organization) == data.cycles(organization):
            publication.tables[name] = frame.clear()


# An organisation's protected sources (its rows only, pass-through tables left out), its thresholds, and the
# reader of its evaluator report when that is not among the sources (None: it is, or there is none).
Loader = Callable[[str], tuple[dict[str, pl.DataFrame], Limits, CycleReader | None]]


def protect_and_render(
    sources: dict[str, pl.DataFrame], limits: dict[str, Limits], job: SiteJob
) -> tuple[Publication, dict[str, dict[str, dict[str, str]]]]:
    """Every organisation's protected tables (merged as models.releases.registry.publish_tables merges them) and its
    pages ({audience: {organisation: {path: html}}}). `sources` is emptied: it is split per organisation first."""
    passed_through = {name: frame for name, frame in sources.items() if name in PASS_THROUGH}
    per_organization = {o: organization_sources(sources, o) for o in limits}
    sources.clear()
    return protect_and_render_each(
        sorted(limits), passed_through, lambda o: (per_organization.pop(o), limits[o], None), job
    )


def protect_and_render_each(
    organizations: Iterable[str], passed_through: dict[str, pl.DataFrame], load: Loader, job: SiteJob
) -> tuple[Publication, dict[str, dict[str, dict[str, str]]]]:
    """:func:`protect_and_render` with each organisation's sources loaded only when its turn comes (`load`), so
    the whole source tables are never in memory at once: the publish asset reads one organisation's rows from
    the database, protects and renders them, and drops them before it reads the next; its evaluator report
    (at 200,000 × 5 about 0.9 GB as a whole frame; docs/benchmark.md) one cycle at a time (`CycleReader`)."""
    organizations = list(organizations)
    parts = {}
    for organization in organizations:
        sources, limits, reader = load(organization)
        parts[organization] = organization_part(organization, sources, passed_through, limits, job, reader)
        del sources
    published = merge_publications(passed_through, (parts[o][0] for o in organizations))
    rendered = {audience: {o: parts[o][1][audience] for o in organizations} for audience in RENDERED}
    rendered[MANAGEMENT_PACK_ONLY] = {o: parts[o][1].get(MANAGEMENT_PACK_ONLY, {}) for o in organizations}
    return published, rendered
