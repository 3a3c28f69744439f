"""Ingest stage: the inbox's files (raw) and the contract-checked canonical tables (staging)."""

from collections.abc import Iterator

import dagster as dg

from models.config import Settings
from models.contracts import KINDS, load_contract
from models.errors import ConfigError
from models.ingest import (
    FileOutcome,
    entry_problem,
    file_sha256,
    inbox_files,
    ingest_file,
    ingest_paths,
    set_aside,
)
from models.mapping import find_mapping, load_mappings
from models.policy import policy_for, schema_default
from models.pseudonym import load_key
from pipelines.resources import CalibraResource


@dg.asset(
    key=["raw", "inbox_files"],
    group_name="ingest",
    kinds={"duckdb", "file"},
    check_specs=[
        dg.AssetCheckSpec(
            "every_file_has_a_mapping",
            asset=dg.AssetKey(["raw", "inbox_files"]),
            # Blocking for this run (nothing is published from a partial inbox), but the refused file is
            # moved to rejected/, so the next run goes on without it.
            blocking=True,
            description="Every file in the inbox is a regular file that matches a mapping profile or the "
            "canonical naming; others are rejected and moved to rejected/ beside the inbox.",
        )
    ],
)
def inbox_files_asset(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
    """Export files waiting in the inbox, identified by sha256, each matched to its mapping and kind.

    A file that no mapping recognises, a link and a special file are rejected here, in the ledger, and moved
    to `rejected/` with a note: no file is silently ignored, and none blocks a later run."""
    settings = calibra.settings()
    mappings = load_mappings(settings.mappings_dirs)
    paths = inbox_files(settings.inbox)
    unmatched = [p for p in paths if entry_problem(p) or find_mapping(p.name, mappings) is None]
    with calibra.writer() as con:
        known = {row[0] for row in con.execute("SELECT file_sha256 FROM raw.file_registry").fetchall()}
        new = sum(file_sha256(p) not in known for p in paths)
        for path in unmatched:
            outcome = ingest_file(con, path, settings, load_key(), mappings)
            context.log.warning(outcome.message)
            if outcome.status == "rejected":
                set_aside(path, outcome, settings.inbox)
    calibra.progress(f"inbox: {len(paths)} files, {new} new, {len(unmatched)} refused or without a mapping")
    yield dg.MaterializeResult(
        metadata={
            "files": dg.MetadataValue.int(len(paths)),
            "new_files": dg.MetadataValue.int(new),
            "files_without_mapping": dg.MetadataValue.int(len(unmatched)),
            "inbox": dg.MetadataValue.path(str(settings.inbox)),
        }
    )
    yield dg.AssetCheckResult(
        check_name="every_file_has_a_mapping",
        passed=not unmatched,
        metadata={"files_without_mapping": len(unmatched)},
    )


def _summarise(outcomes: list[FileOutcome]) -> dict[str, dg.MetadataValue]:
    return {
        "files_seen": dg.MetadataValue.int(len(outcomes)),
        "files_loaded": dg.MetadataValue.int(sum(o.status.startswith("loaded") for o in outcomes)),
        "files_already_loaded": dg.MetadataValue.int(sum(o.status == "already_loaded" for o in outcomes)),
        "files_rejected": dg.MetadataValue.int(sum(o.status == "rejected" for o in outcomes)),
        "rows_read": dg.MetadataValue.int(sum(o.rows_read for o in outcomes)),
        "rows_loaded": dg.MetadataValue.int(sum(o.rows_loaded for o in outcomes)),
        "rows_quarantined": dg.MetadataValue.int(sum(o.rows_quarantined for o in outcomes)),
    }


def quarantine_limit(settings: Settings, organization: str | None, cycle: int | None) -> float:
    """The largest share of an organisation-cycle's rows that may be quarantined before the check warns: the
    policy in force for the cycle says (`ingest.max_quarantine_share`); the schema's default for rows of
    no configured organisation or cycle."""
    try:
        if organization is not None and organization in settings.organizations:
            return policy_for(settings, organization, cycle).typed.ingest.max_quarantine_share
    except ConfigError:  # no policy for that cycle: the marts say so; the check keeps the default
        pass
    return float(schema_default("ingest", "max_quarantine_share"))


def over_quarantine_limit(settings: Settings, outcomes: list[FileOutcome]) -> list[tuple[str, int, float]]:
    """(organisation, cycle, share) of the organisation-cycles of this run whose quarantined share of the rows
    read reached the limit of their policy (:func:`quarantine_limit`)."""
    counts: dict[tuple[str | None, int | None], list[int]] = {}
    for outcome in outcomes:
        found = counts.setdefault((outcome.organization, outcome.cycle), [0, 0])
        found[0] += outcome.rows_read
        found[1] += outcome.rows_quarantined
    return [
        (str(org), int(cycle or 0), quarantined / read)
        for (org, cycle), (read, quarantined) in sorted(counts.items(), key=str)
        if read and quarantined / read >= quarantine_limit(settings, org, cycle)
    ]


def staging_asset(kind: str) -> dg.AssetsDefinition:
    contract = load_contract(kind)
    key = dg.AssetKey(["staging", kind])

    @dg.asset(
        key=key,
        deps=[dg.AssetKey(["raw", "inbox_files"])],
        group_name="ingest",
        kinds={"duckdb", "great_expectations", "polars"},
        description=f"{contract.description} Grain: {contract.grain}. Contract data-contracts/{kind}.yaml "
        f"v{contract.version}.",
        check_specs=[
            dg.AssetCheckSpec(
                "contract",
                asset=key,
                blocking=True,
                description="No file of this kind was rejected for its structure in this run.",
            ),
            dg.AssetCheckSpec(
                "quarantine_share",
                asset=key,
                description="Of each organisation-cycle's rows read in this run, less than its policy's "
                "ingest.max_quarantine_share (5% unless the policy says otherwise) were quarantined.",
            ),
        ],
    )
    def _staging(context: dg.AssetExecutionContext, calibra: CalibraResource) -> Iterator[object]:
        settings = calibra.settings()
        mappings = load_mappings(settings.mappings_dirs)
        paths = [
            p
            for p in inbox_files(settings.inbox)
            if entry_problem(p) is None and (m := find_mapping(p.name, mappings)) and m.kind == kind
        ]
        key_bytes = load_key()
        with calibra.writer() as con:
            outcomes = ingest_paths(
                con,
                paths,
                settings,
                key_bytes,
                progress=lambda m: calibra.progress(f"{kind} {m}"),
                mappings=mappings,
            )
            for path, outcome in zip(paths, outcomes, strict=True):
                if outcome.status == "rejected":
                    context.log.warning(outcome.message)  # names file, row, column, rule — never a value
                    set_aside(path, outcome, settings.inbox)  # the next run goes on without it
            total = con.execute(f"SELECT count(*) FROM staging.{kind}").fetchone()
        rejected = [o for o in outcomes if o.status == "rejected"]
        read = sum(o.rows_read for o in outcomes)
        quarantined = sum(o.rows_quarantined for o in outcomes)
        metadata = _summarise(outcomes) | {
            "dagster/row_count": dg.MetadataValue.int(total[0] if total else 0)
        }
        yield dg.MaterializeResult(metadata=metadata)
        yield dg.AssetCheckResult(
            check_name="contract",
            passed=not rejected,
            metadata={
                "files_rejected": len(rejected),
                "files_checked": len(outcomes),
                "rejected_files": ", ".join(o.file_name for o in rejected)[:500],
            },
        )
        over = over_quarantine_limit(settings, outcomes)
        yield dg.AssetCheckResult(
            check_name="quarantine_share",
            passed=not over,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rows_read": read,
                "rows_quarantined": quarantined,
                # organisation ids and cycles are configuration, not personal data
                "over_the_policy_limit": ", ".join(f"{o} {c}: {share:.1%}" for o, c, share in over) or "none",
            },
        )

    return _staging


staging_assets = [staging_asset(kind) for kind in KINDS]
