"""Publish stage: the offline static site, built from protected aggregates only.

The site asset reads the whitelisted tables (models.releases.common.PUBLISHED_TABLES), aggregating in the database
where a mart is row-level (compliance findings: people per rule and department; evaluations: the main
department of each evaluator), protects every table one organisation at a time (models.releases through
pipelines.publishing: k, complementary suppression, amounts, dominance) and hands only the protected frames
to dashboards.site.build_site.
"""

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager

import dagster as dg
import duckdb
import polars as pl

from dashboards.site import build_site, build_time
from models.disclosure import Thresholds
from models.disclosure.report import summary
from models.pseudonym import load_key
from models.releases.calibration import WORKLIST_COLUMNS
from models.releases.common import PASS_THROUGH, PUBLISHED_TABLES
from models.releases.evaluators import NAME as EVALUATOR_REPORT
from models.releases.evaluators import SOURCE as EVALUATOR_REPORT_SOURCE
from models.releases.registry import MANAGEMENT, MEETING
from pipelines.assets import marts
from pipelines.assets.common import CyclePolicies, organisation_policies
from pipelines.assets.marts.evaluators import STEP as EVALUATOR_REPORT_STEP
from pipelines.packs import pack_plan, write_packs
from pipelines.publishing import (
    MANAGEMENT_PACK_ONLY,
    CycleReader,
    Limits,
    SiteJob,
    protect_and_render_each,
    regimes_of,
    source_cycles,
)
from pipelines.release_cache import PartCache, cache_folder
from pipelines.resources import CalibraResource, read_frame

# The worklist is row-level (pseudonymised) and marked confidential on the pages; False leaves it out.
INCLUDE_WORKLIST = True

# Row-level tables are aggregated (or cut to whitelisted columns) in the database; identifiers below come
# from fixed whitelists, never from data.
AGGREGATES: dict[str, tuple[tuple[str, ...], str]] = {
    "marts.compliance_findings": (
        ("organization", "cycle", "department", "rule", "check", "severity", "employee_id"),
        'SELECT organization, cycle, department, rule, "check", severity, count(DISTINCT employee_id) AS n '
        "FROM marts.compliance_findings GROUP BY ALL",
    ),
    "staging.evaluations": (
        ("organization", "cycle", "evaluator_id", "department"),
        "SELECT organization, cycle, evaluator_id, department FROM ("
        " SELECT *, row_number() OVER (PARTITION BY organization, cycle, evaluator_id"
        "  ORDER BY people DESC, department) AS position FROM ("
        "  SELECT organization, cycle, evaluator_id, department, count(*) AS people FROM staging.evaluations"
        "  WHERE evaluator_id IS NOT NULL AND department IS NOT NULL GROUP BY ALL)"
        ") WHERE position = 1",
    ),
    # Each contract result with the organisation and cycle of its file (from the load ledger): a cycle's data
    # quality page shows only its files' results, and so the cycle digest of a site page does not change when
    # another cycle's files are loaded (a new cycle would otherwise republish every earlier cycle).
    "audit.contract_results": (
        ("file_sha256",),
        "SELECT results.*, files.organization, files.cycle FROM audit.contract_results AS results"
        " LEFT JOIN (SELECT DISTINCT file_sha256, organization, cycle FROM audit.load_ledger) AS files"
        " USING (file_sha256)",
    ),
}
# The tables protected per organisation (the pass-through tables are published as they are).
PROTECTED = tuple(name for name in PUBLISHED_TABLES if name not in PASS_THROUGH)
# The protected tables read whole per organisation: all but the evaluator report (read one cycle at a time).
PROTECTED_WHOLE = tuple(name for name in PROTECTED if name != EVALUATOR_REPORT_SOURCE)
COLUMN_WHITELISTS: dict[str, tuple[str, ...]] = {"marts.calibration_worklist": WORKLIST_COLUMNS}


def read_sources(
    con: duckdb.DuckDBPyConnection,
    include_worklist: bool,
    organization: str | None = None,
    tables: Collection[str] = PUBLISHED_TABLES,
) -> dict[str, pl.DataFrame]:
    """The whitelisted tables that exist, as polars frames (aggregated where the table is row-level).

    `tables`: only these of the whitelist; `organization`: only that organisation's rows of the tables that
    have an organisation column (the others whole)."""
    columns: dict[str, set[str]] = {}
    for schema, table, column in con.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns()"
    ).fetchall():
        columns.setdefault(f"{schema}.{table}", set()).add(column)
    sources: dict[str, pl.DataFrame] = {}
    for name in PUBLISHED_TABLES:
        if name not in columns:
            continue
        if name == "marts.calibration_worklist" and not include_worklist:
            continue
        if name not in tables:
            continue
        if name in AGGREGATES:
            needed, query = AGGREGATES[name]
            if not set(needed) <= columns[name]:
                continue
        elif name in COLUMN_WHITELISTS:
            wanted = [c for c in COLUMN_WHITELISTS[name] if c in columns[name]]
            query = f"SELECT {', '.join(wanted)} FROM {name}"  # whitelisted names
        else:
            query = f"SELECT * FROM {name}"  # aggregate marts; names from a whitelist
        if organization is not None and "organization" in columns[name]:
            sources[name] = read_frame(con, f"SELECT * FROM ({query}) WHERE organization = ?", [organization])
        else:
            sources[name] = read_frame(con, query)
    return sources


def evaluator_report_reader(
    con: duckdb.DuckDBPyConnection,
    organization: str,
    connect: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
) -> CycleReader | None:
    """The organisation's rows of marts.evaluator_report, one cycle per read, each on a connection of its own
    (`connect`, opened when the release comes to that cycle); None when the table is not there (its release
    then says so, as with the whole table)."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = 'evaluator_report'"
    ).fetchone()
    if not exists or not exists[0]:
        return None
    found = con.execute(
        "SELECT DISTINCT cycle, measure FROM marts.evaluator_report WHERE organization = ? AND cycle IS NOT NULL "
        "ORDER BY cycle, measure",
        [organization],
    ).fetchall()
    measures: dict[int, tuple[str, ...]] = {}
    for cycle, measure in found:
        measures[int(cycle)] = (*measures.get(int(cycle), ()), measure)
    cycles = tuple(measures)
    # a cycle with a row of no measure (the mart writes none) is read whole
    measures = {c: found for c, found in measures.items() if None not in found}
    # each cycle's build record: its protected parts are kept between runs while it stays the same
    built: dict[int, str] = {}
    if con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit' AND table_name = 'mart_inputs'"
    ).fetchone() == (1,):
        for cycle, fingerprint, built_at in con.execute(
            "SELECT cycle, fingerprint, built_at FROM audit.mart_inputs WHERE step = ? AND organization = ?",
            [EVALUATOR_REPORT_STEP, organization],
        ).fetchall():
            built[int(cycle)] = f"{fingerprint}|{built_at.isoformat() if built_at is not None else ''}"

    def read(cycle: int | None, measure: str | None = None) -> pl.DataFrame:
        # the table is stored in its sort order (organisation, cycle, measure, ...): a filter keeps it
        condition = "" if measure is None else " AND measure = ?"
        with connect() as reader:
            return read_frame(  # cycle None: no rows (the mart's cycle is never null), its columns
                reader,
                "SELECT * FROM marts.evaluator_report WHERE organization = ? AND cycle IS NOT DISTINCT FROM ?"
                + condition,
                [organization, cycle, *([] if measure is None else [measure])],
            )

    return CycleReader(cycles, read, measures, built)


def publish_limits(
    policies: CyclePolicies, sources: dict[str, pl.DataFrame], extra: dict[str, set[int]] | None = None
) -> dict[str, Limits]:
    """Per organisation the disclosure thresholds its rows are protected with: each cycle's those of the policy
    in force for it (pipelines.publishing.protect_regimes), one set when its policies agree (as before regimes
    existed), the latest policy's for an organisation without rows. `extra`: cycles of rows not in `sources`
    (the evaluator report, read one cycle at a time)."""
    cycles = source_cycles(sources)
    for org, more in (extra or {}).items():
        cycles.setdefault(org, set()).update(more)
    return {
        org: regimes_of(
            (cycle, Thresholds.from_policy(policies.for_cycle(org, cycle))) for cycle in cycles[org]
        )
        if cycles.get(org)
        else Thresholds.from_policy(policy)
        for org, policy in policies.items()
    }


def _report_markdown(report: pl.DataFrame) -> str:
    """The per-audience disclosure summary as a markdown table (counts only, never data values)."""
    rows = summary(report)
    if rows.height == 0:
        return "none"
    columns = [c for c in rows.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows.iter_rows():
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


@dg.asset(
    key=["site"],
    # Every asset of the marts package, found by package: adding a mart needs no edit here.
    deps=[
        key
        for mart in dg.load_assets_from_package_module(marts)
        if isinstance(mart, dg.AssetsDefinition)
        for key in mart.keys
    ],
    group_name="publish",
    kinds={"plotly", "html"},
)
def site(context: dg.AssetExecutionContext, calibra: CalibraResource) -> dg.MaterializeResult:
    """The static site: calibration packs, norming review, fairness, budget, process and data quality pages.

    The database is read here; dashboards/ only ever sees the tidy, already-protected frames."""
    settings = calibra.settings()
    policies = organisation_policies(calibra)
    with calibra.writer() as con:
        passed_through = read_sources(con, INCLUDE_WORKLIST, tables=PASS_THROUGH)

    def load(organization: str) -> tuple[dict[str, pl.DataFrame], Limits, CycleReader | None]:
        """One organisation's sources, read when its turn comes (never every organisation's rows at once),
        and its thresholds: those publish_limits gives it from every organisation's rows. Its evaluator
        report is read one cycle at a time, when the release comes to that cycle (evaluator_report_reader)."""
        with calibra.writer() as con:
            sources = read_sources(con, INCLUDE_WORKLIST, organization, PROTECTED_WHOLE)
            reader = evaluator_report_reader(con, organization, calibra.writer)
        extra = {} if reader is None else {organization: set(reader.cycles)}
        return sources, publish_limits(policies, sources, extra)[organization], reader

    key = load_key()
    # The evaluator report is read only by its organisation's norming and department pages (issue 21, memory).
    # Packs an earlier run wrote from the same tables, exports and key are kept, and their pages not rendered.
    plan = pack_plan(settings, passed_through, key, calibra.language, INCLUDE_WORKLIST)
    # The evaluator report's parts protected in earlier runs, kept while their rows are the same.
    parts = PartCache(cache_folder(settings.home))
    job = SiteJob(
        settings,
        policies,
        calibra.language,
        INCLUDE_WORKLIST,
        site=settings.site.resolve(),
        page_only=(EVALUATOR_REPORT,),
        keep_packs=plan.kept,
        parts=parts,
    )
    published, rendered = protect_and_render_each(sorted(policies), passed_through, load, job)
    dropped = parts.prune()
    calibra.progress(f"site: {len(published.tables)} protected tables → {settings.site}")
    # One build time for the site and the packs: a pack is the site's department page re-identified, and its
    # workbooks are then the very bytes the site wrote (dashboards.downloads keeps them per table).
    built = build_time()
    report = build_site(
        published.tables,
        settings,
        settings.site,
        language=calibra.language,
        include_worklist=INCLUDE_WORKLIST,
        policies=policies,
        rendered=rendered,
        digests=job.digests,
        built_at=built,
    )
    # Meeting and management packs: re-identified at pack time from the inbox's exports and the key
    # (pipelines/packs.py); only their numbers reach Dagster.
    # The management packs are made of the management pages of every cycle: those rendered for the site and,
    # of the cycles the site copied from its previous build, those rendered for the packs only.
    management_pages = {
        organization: {**pages, **rendered.get(MANAGEMENT_PACK_ONLY, {}).get(organization, {})}
        for organization, pages in rendered[MANAGEMENT].items()
    }
    packs = write_packs(
        rendered.get(MEETING, {}),
        management_pages,
        published.tables,
        settings,
        key,
        calibra.language,
        built_at=built,
        meeting=INCLUDE_WORKLIST,
        planned=job.planned,
        plan=plan,
    )
    return dg.MaterializeResult(
        metadata={
            "pages": dg.MetadataValue.int(report.pages),
            # Organisation cycles whose pages were copied from the previous site (unchanged digest).
            "reused_cycles": dg.MetadataValue.int(report.reused),
            "charts": dg.MetadataValue.int(report.charts),
            "bytes": dg.MetadataValue.int(report.bytes),
            "largest_page_bytes": dg.MetadataValue.int(report.largest_page),
            "tables": dg.MetadataValue.int(len(published.tables)),
            "hidden_cells": dg.MetadataValue.int(sum(published.hidden.values())),
            "meeting_packs": dg.MetadataValue.int(packs.meeting),
            "management_packs": dg.MetadataValue.int(packs.management),
            # Pseudonyms the packs could not turn back (no key, exports gone from the inbox): a count only.
            "pack_pseudonyms_left": dg.MetadataValue.int(packs.left),
            # Organisation-cycles whose packs were kept from the previous run (same inputs, pipelines/packs.py).
            "reused_pack_cycles": dg.MetadataValue.int(packs.reused),
            # Parts (organisation × cycle × measure) of the evaluator report: protected in this run, kept from
            # an earlier run (unchanged rows, thresholds and code), and kept ones no longer needed, deleted.
            "evaluator_report_parts_protected": dg.MetadataValue.int(parts.made),
            "evaluator_report_parts_kept": dg.MetadataValue.int(parts.kept),
            "evaluator_report_parts_dropped": dg.MetadataValue.int(dropped),
            # Per audience: cells shown and hidden by reason (counts only; docs/privacy.md).
            "disclosure_report": dg.MetadataValue.md(_report_markdown(published.report_frame())),
            # Notes name tables and columns only (never values).
            "disclosure_notes": dg.MetadataValue.md("\n".join(f"- {n}" for n in published.notes) or "none"),
            "site": dg.MetadataValue.path(str(settings.site)),
        }
    )
