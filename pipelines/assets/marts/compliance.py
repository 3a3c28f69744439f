"""Compliance marts: rule findings, process status and the publication list, all driven by the policy files.

Thin assets: read staging, call models.rules / models.process_status / models.publication, write the mart.
Metadata holds counts only, never a row.
"""

from collections.abc import Iterable, Iterator, Sequence

import dagster as dg
import duckdb
import polars as pl

from models.contracts import KINDS, load_contract
from models.process_status import COLUMNS as STATUS_COLUMNS
from models.process_status import KEYS as STATUS_KEYS
from models.process_status import process_status
from models.publication import EVALUATION_COLUMNS as PUBLICATION_EVALUATION_COLUMNS
from models.publication import (
    export_publication_list,
    publication_list,
    publishing_organizations,
    stale_exports,
)
from models.rules import compliance_findings
from pipelines.assets.common import PER_CYCLE, STAGING, by_cycle_policy, organisation_policies, run_slices
from pipelines.assets.marts.fairness import FAIRNESS
from pipelines.assets.marts.intersections import left_out_of_fairness
from pipelines.assets.slices import SLICES
from pipelines.increments import Slice, SliceWork, build_step, slices_condition
from pipelines.resources import CalibraResource, read_frame, write_table

FINDINGS_CYCLE = {"compliance_findings": "cycle"}
# Unicode White_Space, what polars' strip_chars() removes (models.rules._base.blank).
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
PUBLICATION_CYCLE = {"publication_list": "cycle"}

FINDINGS_KEY = dg.AssetKey(["marts", "compliance_findings"])


def _staging(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    organizations: list[str],
    columns: Sequence[str] | None = None,
    slices: Iterable[Slice] | None = None,
    free_text_as_marker: bool = False,
) -> pl.DataFrame:
    """Contract columns of one staging table for some organisations (column names only from the contract),
    only the rows of `slices` when given (a table without cycles is read whole).

    `free_text_as_marker`: free text as '+' where it is there, for callers that only ask whether it is
    (the rules, models.rules._base.blank); texts of up to 4,000 characters then stay in the database. The
    publication list publishes the argumentation itself and reads the text."""
    contract = load_contract(kind)
    free_text = {c.name for c in contract.columns if c.pii == "free_text"} if free_text_as_marker else set()
    wanted = [c for c in contract.names if columns is None or c in columns]
    columns_sql = ", ".join(
        f"""CASE WHEN "{name}" IS NULL OR trim("{name}", '{WHITESPACE}') = '' THEN NULL ELSE '+' END AS "{name}" """
        if name in free_text
        else f'"{name}"'
        for name in wanted
    )
    condition, params = (
        slices_condition(slices) if slices is not None and contract.has_cycle else ("TRUE", [])
    )
    return read_frame(
        con,
        f"SELECT {columns_sql} FROM staging.{kind} WHERE list_contains(?, organization) AND {condition}",
        [organizations, *params],
    )


@dg.asset(
    key=FINDINGS_KEY,
    deps=[SLICES],
    group_name="marts",
    kinds={"duckdb", "polars"},
    check_specs=[
        dg.AssetCheckSpec(
            "no_high_severity_findings",
            asset=FINDINGS_KEY,
            description="No finding of severity 'high' (wrong decisions, percentages or amounts) in the data.",
        )
    ],
    **PER_CYCLE,
)
def compliance_findings_asset(
    context: dg.AssetExecutionContext, calibra: CalibraResource
) -> Iterator[object]:
    """Where the process or the reward rules were not followed: one row per finding.

    Grain: organization × cycle × employee_id × rule × check (× award_type for award rules). Every check is
    enabled by its parameter in the organisation's policy file (docs/marts/compliance.md)."""
    policies = organisation_policies(calibra)
    organizations = sorted(policies)

    def compute(work: SliceWork) -> dict[str, pl.DataFrame]:
        parts = []
        # Every rule looks at one cycle's rows: one organisation-cycle at a time keeps the step's memory at a
        # cycle's rows (the salary scales, which have no cycle, are read with each).
        for org, cycle in sorted(work.read):
            tables = {
                kind: _staging(con, kind, [org], slices=[(org, cycle)], free_text_as_marker=True)
                for kind in KINDS
            }
            parts.append(compliance_findings({org: policies.for_cycle(org, cycle)}, **tables))
        return {"compliance_findings": pl.concat(parts) if parts else compliance_findings({})}

    with calibra.writer() as con:
        # Every rule looks at one cycle's rows (with the organisation's salary scales).
        slices, built = build_step(
            con,
            calibra.settings(),
            "compliance_findings",
            changed=run_slices(context),
            organizations=organizations,
            kinds=list(KINDS),
            lookback=dict.fromkeys(organizations, 1),
            tables=FINDINGS_CYCLE,
            compute=compute,
        )
        frame = built["compliance_findings"]
    by_severity = {s: int((frame.get_column("severity") == s).sum()) for s in ("high", "medium", "low")}
    calibra.progress(f"compliance_findings: {frame.height} findings")
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(frame.height),
            "findings_high": dg.MetadataValue.int(by_severity["high"]),
            "findings_medium": dg.MetadataValue.int(by_severity["medium"]),
            "findings_low": dg.MetadataValue.int(by_severity["low"]),
            "rules_with_findings": dg.MetadataValue.int(frame.get_column("rule").n_unique()),
            "organizations": dg.MetadataValue.int(len(organizations)),
            "organisation_cycles_rebuilt": dg.MetadataValue.int(len(slices.rebuild)),
        }
    )
    yield dg.AssetCheckResult(
        check_name="no_high_severity_findings",
        asset_key=FINDINGS_KEY,
        passed=by_severity["high"] == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"findings_high": by_severity["high"], "findings": frame.height},
    )


@dg.asset(
    key=["marts", "process_status"], deps=[*STAGING, FAIRNESS], group_name="marts", kinds={"duckdb", "polars"}
)
def process_status_asset(context: dg.AssetExecutionContext, calibra: CalibraResource) -> dg.MaterializeResult:
    """How far the appraisal process got: conversations, self-evaluations, signatures, delivery, appeals and
    missing ratings, in counts and shares of n; over women and men (and any category shown) in a cycle where
    marts.fairness leaves a small gender category out (`others_left_out`).

    Grain: organization × cycle × department."""
    policies = organisation_policies(calibra)
    with calibra.writer() as con:
        evaluations = _staging(con, "evaluations", sorted(policies), STATUS_COLUMNS)
        left_out = left_out_of_fairness(con, policies)
        # each cycle's deadlines and rules are those of the policy in force for it
        parts = [
            process_status(regime, rows, left_out) for regime, rows in by_cycle_policy(policies, evaluations)
        ]
        frame = pl.concat(parts).sort(STATUS_KEYS) if len(parts) > 1 else parts[0]
        write_table(con, "marts", "process_status", frame)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(frame.height),
            "evaluations": dg.MetadataValue.int(int(frame.get_column("n").sum() or 0)),
        }
    )


@dg.asset(
    key=["marts", "publication_list"],
    deps=[SLICES],
    group_name="marts",
    kinds={"duckdb", "polars", "csv"},
    **PER_CYCLE,
)
def publication_list_asset(
    context: dg.AssetExecutionContext, calibra: CalibraResource
) -> dg.MaterializeResult:
    """Rewards published inside the organisation (Z-9): structural rewards above the policy's percentage and
    all incidental rewards, with their argumentation; also written as CSV and XLSX to <home>/exports/.

    Grain: organization × cycle × employee_id × award_type. Each cycle is judged by the policy in force for
    it (its threshold and whether incidental rewards are published), one regime at a time."""
    policies = organisation_policies(calibra)
    # the organisations of which any policy publishes rewards (a cycle under one that does not has no rows)
    organizations = sorted(
        {org for org in policies for policy in policies.every(org) if publishing_organizations({org: policy})}
    )
    rebuilt: list[pl.DataFrame] = []

    def compute(work: SliceWork) -> dict[str, pl.DataFrame]:
        read = None if work.whole else work.read
        awards = _staging(con, "awards", organizations, slices=read)
        evaluations = _staging(con, "evaluations", organizations, PUBLICATION_EVALUATION_COLUMNS, read)
        # per-cycle rows: each regime's awards with its policies (evaluations join on the award's own cycle)
        parts = [
            publication_list(regime, rows, evaluations) for regime, rows in by_cycle_policy(policies, awards)
        ]
        frame = pl.concat(parts).sort(
            "organization", "cycle", "department", "award_type", "employee_id", nulls_last=True
        )
        rebuilt.append(work.keep(frame))
        return {"publication_list": rebuilt[-1]}

    with calibra.writer() as con:
        slices, built = build_step(
            con,
            calibra.settings(),
            "publication_list",
            changed=run_slices(context),
            organizations=organizations,
            kinds=["awards", "evaluations"],
            lookback=dict.fromkeys(organizations, 1),
            tables=PUBLICATION_CYCLE,
            compute=compute,
        )
        frame = built["publication_list"]
    out_dir = calibra.settings().home / "exports"
    # The cycles rebuilt in this run get new files; the other cycles' files are as they were. Afterwards the
    # files name exactly the organisation-cycles of the whole mart: a cycle that lost its last row, or left
    # the mart in a whole rebuild, loses its files.
    written = export_publication_list(rebuilt[-1], out_dir) if rebuilt else []
    removed = stale_exports(out_dir, frame)
    for path in removed:
        path.unlink(missing_ok=True)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(frame.height),
            "files_written": dg.MetadataValue.int(len(written)),
            "files_removed": dg.MetadataValue.int(len(removed)),
            "organisation_cycles_rebuilt": dg.MetadataValue.int(len(slices.rebuild)),
            "exports": dg.MetadataValue.path(str(out_dir)),
        }
    )
