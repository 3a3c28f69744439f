"""What Dagster cannot do for the organisation × cycle partitions of the per-cycle marts.

Dagster decides which organisation-cycles a run materialises: the marts are partitioned by organisation-cycle
(pipelines/assets/slices.py), `staging/slices` reports each slice's data version, and pipelines/runs.py asks
Dagster's stale-status resolver which partitions are missing or stale. What stays here, and why:

- `current_fingerprints`: the slice's data version. Dagster sees neither the load ledger nor the policy file
  or calibra.yaml a cycle is judged by; the observation reports this digest as the version.
- `plan`, given the run's partitions: the later cycles whose window reaches back to a changed one are rebuilt
  too (leniency, transitions, calibration impact, pooled fairness windows). Dagster's partition mappings
  cannot express "the next w − 1 cycles of the same organisation" over dynamic keys when w is policy, read at
  run time; the step rebuilds them in the same transaction. A slice that left staging has its rows deleted.
  A step runs whole when a table is missing, its columns changed, or on `CALIBRA_FULL_REBUILD=1`.
- `replace_slices` / `rebuild`: a partition's rows are replaced in one DuckDB transaction across the step's
  tables (delete the slices, insert their rows) with the fingerprints in audit.mart_inputs (the record of
  which slices the database holds: pipelines.runs rebuilds partitions the database lacks). Dagster's I/O
  managers do not write several tables of one writer in one transaction.
- `plan` without partitions compares the stored fingerprints itself: only the person-cycle layer does so, a
  staging table that the fairness and budget marts bring up to date before they read (so that a mart step
  materialised on its own reads current rows); it is not partitioned yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import metadata
from pathlib import Path

import duckdb
import polars as pl

from models.config import Settings
from models.errors import ConfigError

Slice = tuple[str, int]  # (organization, cycle)
EVERY_CYCLE = 0  # a lookback for marts whose rows of one cycle depend on all the organisation's cycles

FULL_REBUILD_VARIABLE = "CALIBRA_FULL_REBUILD"


def slices_condition(slices: Iterable[Slice], cycle_column: str = "cycle") -> tuple[str, list[object]]:
    """A WHERE condition (and its parameters) for the rows of these slices: plain comparisons per organisation,
    so that DuckDB skips row groups by their min/max (column names come from code, never data)."""
    cycles_of: dict[str, list[int]] = {}
    for organization, cycle in sorted(slices):
        cycles_of.setdefault(organization, []).append(cycle)
    if not cycles_of:
        return "FALSE", []
    parts, params = [], []
    for organization, cycles in cycles_of.items():
        parts.append(f"(organization = ? AND {cycle_column} IN ({', '.join('?' for _ in cycles)}))")
        params += [organization, *cycles]
    return "(" + " OR ".join(parts) + ")", params


@dataclass(frozen=True)
class SliceWork:
    """What one mart step computes in this run."""

    step: str
    whole: bool
    rebuild: frozenset[Slice]  # slices whose rows are replaced (a vanished slice: its rows are deleted)
    read: frozenset[Slice]  # slices whose staging rows the computation needs
    fingerprints: Mapping[Slice, str]  # of every slice present in staging now
    reason: str  # why whole, or what changed, in words for the run log

    @property
    def nothing_to_do(self) -> bool:
        return not self.whole and not self.rebuild

    def staging_filter(self, cycle_column: str = "cycle") -> tuple[str, list[object]]:
        """A WHERE condition (and its parameters) that keeps the staging rows this run reads."""
        return ("TRUE", []) if self.whole else slices_condition(self.read, cycle_column)

    def keep(self, frame: pl.DataFrame, cycle_column: str = "cycle") -> pl.DataFrame:
        """The rows of a computed mart that belong to the slices being rebuilt (all rows when whole)."""
        return frame if self.whole else self._rows_of(frame, self.rebuild, cycle_column)

    @staticmethod
    def _rows_of(frame: pl.DataFrame, slices: frozenset[Slice], cycle_column: str) -> pl.DataFrame:
        wanted = pl.DataFrame(
            {"organization": [o for o, _ in slices], cycle_column: [c for _, c in slices]},
            schema={"organization": pl.String, cycle_column: frame.schema[cycle_column]},
        )
        return frame.join(wanted, on=["organization", cycle_column], how="semi", maintain_order="left")


def _digest(parts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _file_digest(path: object) -> str:
    try:
        with open(str(path), "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return "missing"


def calibra_version() -> str:
    try:
        return metadata.version("calibra")
    except metadata.PackageNotFoundError:
        return "unknown"


def current_fingerprints(
    con: duckdb.DuckDBPyConnection, settings: Settings, organizations: Sequence[str], kinds: Sequence[str]
) -> dict[Slice, str]:
    """Per (organisation, cycle) present in the step's staging tables: a digest of everything it reads."""
    files = con.execute(
        """SELECT organization, cycle, kind, file_sha256 FROM audit.load_ledger
           WHERE status IN ('loaded', 'loaded_with_quarantine') AND rows_loaded > 0
             AND list_contains(?, kind) AND list_contains(?, organization)
           ORDER BY ALL""",
        [list(kinds), list(organizations)],
    ).fetchall()
    per_slice: dict[Slice, list[str]] = {}
    without_cycle: dict[str, list[str]] = {}
    for organization, cycle, kind, sha in files:
        if cycle is None:
            without_cycle.setdefault(organization, []).append(f"{kind}:{sha}")
        else:
            per_slice.setdefault((organization, int(cycle)), []).append(f"{kind}:{sha}")
    # Staging rows are written by ingest only, each with its ledger row; organisation-cycles staged otherwise
    # (a test's fixture) are slices too, known by their shared inputs alone.
    tables = [
        name
        for (name,) in con.execute(
            """SELECT DISTINCT table_name FROM duckdb_columns()
               WHERE schema_name = 'staging' AND column_name = 'cycle' AND list_contains(?, table_name)""",
            [list(kinds)],
        ).fetchall()
    ]
    for table in sorted(tables):
        for organization, cycle in con.execute(
            f"""SELECT DISTINCT organization, cycle FROM staging."{table}"
                WHERE cycle IS NOT NULL AND list_contains(?, organization)""",
            [list(organizations)],
        ).fetchall():
            per_slice.setdefault((str(organization), int(cycle)), [])
    shared = [calibra_version(), _file_digest(settings.config_path)]
    digests: dict[Path, str] = {}

    def policy_digest(org: str, cycle: int) -> str:
        """The policy in force for the cycle: editing an earlier period's policy rebuilds its cycles."""
        spec = settings.organizations.get(org)
        if spec is None:
            return ""
        try:
            path = spec.policy_path_for(cycle)
        except ConfigError:  # no policy for this cycle: the mart step says so when it computes
            return "none"
        if path not in digests:
            digests[path] = _file_digest(path)
        return digests[path]

    return {
        (org, cycle): _digest(
            [*shared, policy_digest(org, cycle), *without_cycle.get(org, []), *sorted(sources)]
        )
        for (org, cycle), sources in per_slice.items()
    }


def _tables_exist(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> bool:
    present = {
        name
        for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'"
        ).fetchall()
    }
    return set(tables) <= present


def plan(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    step: str,
    *,
    organizations: Sequence[str],
    kinds: Sequence[str],
    lookback: Mapping[str, int],
    tables: Iterable[str],
    changed: Iterable[Slice] | None = None,
) -> SliceWork:
    """The slices to rebuild and read. `changed`: the organisation-cycles Dagster materialises in this run (the
    run's partitions, missing or stale by their data versions); None for a step that is not partitioned (the
    person-cycle layer), which then compares the fingerprints stored in audit.mart_inputs itself.

    `lookback[org]` is how many cycles (this one included) a slice reads: 1 for a mart of one cycle, 2 with the
    previous cycle, n for a window of n cycles, EVERY_CYCLE when every cycle's rows depend on all of the
    organisation's cycles (then a change rebuilds the organisation). A changed slice also rebuilds the later
    cycles whose window reaches back to it: the one rule Dagster cannot express here. Its partitions are
    organisation-cycle keys with the identity mapping; a window of n earlier cycles of the same organisation
    would need a custom PartitionMapping over dynamic keys, whose n is policy (read at run time, not when the
    definitions are built). So the step rebuilds those cycles in the same transaction; Dagster records the
    run's own partitions.

    A slice of the run that is no longer in staging (its files were superseded) has its rows deleted."""
    fingerprints = current_fingerprints(con, settings, organizations, kinds)
    present = frozenset(fingerprints)
    stored = {
        (org, int(cycle)): fingerprint
        for org, cycle, fingerprint in con.execute(
            "SELECT organization, cycle, fingerprint FROM audit.mart_inputs WHERE step = ?", [step]
        ).fetchall()
    }
    whole_reason = ""
    if settings.full_rebuild:  # the run's resource configuration (CALIBRA_FULL_REBUILD=1 on the command line)
        whole_reason = f"{FULL_REBUILD_VARIABLE}=1"
    elif not stored:
        whole_reason = "first build"
    elif not _tables_exist(con, tables):
        whole_reason = "a table is missing"
    if whole_reason:
        return SliceWork(step, True, present, present, fingerprints, whole_reason)

    cycles_of: dict[str, list[int]] = {}
    for org, cycle in sorted(present):
        cycles_of.setdefault(org, []).append(cycle)
    if changed is None:
        changed = {s for s in present if stored.get(s) != fingerprints[s]}
        vanished = {s for s in stored if s not in present}
        source = "by fingerprint"
    else:
        changed = {s for s in changed if s[0] in organizations}
        vanished = {s for s in changed if s not in present}
        changed = {s for s in changed if s in present}
        source = "partitions from Dagster"
    rebuild: set[Slice] = set(vanished)
    for org, cycle in changed | vanished:
        cycles = cycles_of.get(org, [])
        if lookback.get(org, 1) == EVERY_CYCLE:
            rebuild.update((org, c) for c in cycles)
        else:
            rebuild.update((org, c) for c in [c for c in cycles if c >= cycle][: lookback.get(org, 1)])
    read: set[Slice] = set()
    for org, cycle in rebuild & present:
        cycles = cycles_of[org]
        position = cycles.index(cycle)
        reach = lookback.get(org, 1)
        first = 0 if reach == EVERY_CYCLE else max(0, position - reach + 1)
        read.update((org, c) for c in cycles[first : position + 1])
    reason = (
        f"{len(changed)} changed and {len(vanished)} vanished organisation-cycles ({source}); "
        f"rebuilding {len(rebuild)} of {len(present)}"
    )
    return SliceWork(step, False, frozenset(rebuild), frozenset(read), fingerprints, reason)


class ColumnsChanged(Exception):
    """A mart's computed columns differ from its stored table, or it computed a row without a cycle: the
    step must be rebuilt whole."""


# A computed mart: one frame, or its parts (an iterable of frames with the same columns, at least one) that
# are written as they come, so that a mart of millions of rows is never held whole (the evaluator report).
# Parts are consumed in the order of the marts, so a later mart may be completed while an earlier one's parts
# are produced.
Mart = pl.DataFrame | Iterable[pl.DataFrame]


def _check_part(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame, cycle_column: str) -> None:
    """Per-cycle replacement needs the stored table's columns and a cycle on every row (else ColumnsChanged)."""
    stored = [
        column
        for (column,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = ? "
            "ORDER BY column_index",
            [name],
        ).fetchall()
    ]
    if stored != frame.columns:
        raise ColumnsChanged(name)
    if frame.height and frame.get_column(cycle_column).null_count():
        raise ValueError(f"marts.{name} has rows without {cycle_column}: it cannot be rebuilt per cycle")


def replace_slices(
    con: duckdb.DuckDBPyConnection,
    work: SliceWork,
    tables: Mapping[str, str],
    marts: Mapping[str, Mart],
) -> None:
    """Write the step's marts ({name: frame or parts}; `tables` gives each one's cycle column) and its
    fingerprints in one transaction. Whole: every table is replaced. Otherwise the rows of the rebuilt slices
    are deleted and the computed rows of those slices inserted; rows of other slices (a window's earlier
    cycles) are dropped."""
    if set(marts) != set(tables) or not all(name.isidentifier() for name in tables):
        raise ValueError(f"{work.step}: computed {sorted(marts)}, expected {sorted(tables)}")
    if not work.whole:  # whole frames are checked before anything is written; parts as they come
        for name, mart in marts.items():
            if isinstance(mart, pl.DataFrame):
                _check_part(con, name, mart, tables[name])
    now = datetime.now()
    fingerprints = pl.DataFrame(
        [
            (work.step, org, cycle, fingerprint, now)
            for (org, cycle), fingerprint in sorted(work.fingerprints.items())
            if work.whole or (org, cycle) in work.rebuild
        ],
        schema={
            "step": pl.String,
            "organization": pl.String,
            "cycle": pl.Int64,
            "fingerprint": pl.String,
            "built_at": pl.Datetime("us"),
        },
        orient="row",
    )
    con.execute("BEGIN TRANSACTION")
    try:
        for name, mart in marts.items():
            written: list[str] = []  # the columns of the first part, once written
            for frame in [mart] if isinstance(mart, pl.DataFrame) else mart:
                if not work.whole and not isinstance(mart, pl.DataFrame):
                    _check_part(con, name, frame, tables[name])
                if written and frame.columns != written:
                    raise ValueError(f"{work.step}: the parts of marts.{name} have different columns")
                # Arrow with string views (polars' own layout), so the hand-over to DuckDB copies no strings:
                # with the default (large_string) a report of millions of rows was copied once more (issue 21).
                arrow = work.keep(frame, tables[name]).to_arrow(compat_level=pl.CompatLevel.newest())
                if written:
                    # A later part is inserted through a relation: an object registered by name stays alive
                    # until the transaction ends (measured at 200,000 x 5: the evaluator report's parts, 1 GB).
                    # Same columns in the same order as the first part (checked above when not whole).
                    con.from_arrow(arrow).insert_into(f"marts.{name}")
                else:
                    con.register("_slices", arrow)
                    if work.whole:
                        con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM _slices")
                    else:
                        where, params = slices_condition(work.rebuild, tables[name])
                        con.execute(f"DELETE FROM marts.{name} WHERE {where}", params)
                        con.execute(f"INSERT INTO marts.{name} BY NAME SELECT * FROM _slices")
                    con.unregister("_slices")
                del arrow
                written = frame.columns
            if not written:
                raise ValueError(f"{work.step}: marts.{name} was computed as no parts at all")
        if work.whole:
            con.execute("DELETE FROM audit.mart_inputs WHERE step = ?", [work.step])
        else:
            where, params = slices_condition(work.rebuild)
            con.execute(f"DELETE FROM audit.mart_inputs WHERE step = ? AND {where}", [work.step, *params])
        con.register("_fingerprints", fingerprints.to_arrow())
        con.execute("INSERT INTO audit.mart_inputs SELECT * FROM _fingerprints")
        con.unregister("_fingerprints")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _empty_marts(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, pl.DataFrame]:
    """The stored tables with no rows: what a run that only deletes vanished slices inserts."""
    return {name: con.sql(f"SELECT * FROM marts.{name} LIMIT 0").pl() for name in tables}


def rebuild(
    con: duckdb.DuckDBPyConnection,
    work: SliceWork,
    tables: Mapping[str, str],
    compute: Callable[[SliceWork], Mapping[str, Mart]],
) -> SliceWork:
    """Compute and write the step's slices; when a stored table no longer fits, compute and write it whole.
    `tables` maps each mart of the step to its cycle column. Returns the work that was done."""
    if work.nothing_to_do:
        return work
    try:
        computed = compute(work) if work.whole or work.read else _empty_marts(con, tables)
        replace_slices(con, work, tables, computed)
    except ColumnsChanged as changed:
        work = replace(
            work,
            whole=True,
            rebuild=frozenset(work.fingerprints),
            read=frozenset(work.fingerprints),
            reason=f"marts.{changed} cannot be replaced per cycle (its columns changed or a row has no cycle)",
        )
        replace_slices(con, work, tables, compute(work))
    return work


def read_marts(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, pl.DataFrame]:
    """The step's whole tables after the build, for its checks and metadata."""
    return {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in tables}


def build_step(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    step: str,
    *,
    organizations: Sequence[str],
    kinds: Sequence[str],
    lookback: Mapping[str, int],
    tables: Mapping[str, str],
    compute: Callable[[SliceWork], Mapping[str, pl.DataFrame]],
    changed: Iterable[Slice] | None = None,
) -> tuple[SliceWork, dict[str, pl.DataFrame]]:
    """What a mart asset does: plan its slices, compute and write them, and read its whole tables back.
    Returns the work done and {mart name: whole table} for the asset's checks and metadata."""
    work = plan(
        con,
        settings,
        step,
        organizations=organizations,
        kinds=kinds,
        lookback=lookback,
        tables=tables,
        changed=changed,
    )
    work = rebuild(con, work, tables, compute)
    return work, read_marts(con, tables)
