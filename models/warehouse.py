"""The DuckDB database: schemas, audit tables and the single-writer connection.

raw.file_registry  every file ever seen (sha256, name, size) — what a rebuild starts from
staging.*          canonical, typed, pseudonymised rows, one table per contract, with lineage columns
audit.load_ledger  one row per file: rows read = loaded + quarantined + rejected
audit.quarantine   one row per (row, rule) that held a row back, with file, row, column, rule and message
audit.mart_inputs  per mart step and organisation-cycle, the fingerprint of the inputs it was built from
marts.*            the computed marts
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from models.contracts import all_contracts
from models.errors import DatabaseBusy

SCHEMAS = ("raw", "staging", "audit", "marts")

AUDIT_DDL = (
    """CREATE TABLE IF NOT EXISTS raw.file_registry (
        file_sha256 VARCHAR PRIMARY KEY, file_name VARCHAR, size_bytes BIGINT, first_seen_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS audit.load_ledger (
        file_sha256 VARCHAR, file_name VARCHAR, kind VARCHAR, mapping_id VARCHAR, organization VARCHAR,
        cycle INTEGER, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT, rows_rejected BIGINT,
        dropped_columns INTEGER, status VARCHAR, message VARCHAR, contract_version INTEGER, policy_id VARCHAR,
        loaded_at TIMESTAMP, superseded_by VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS audit.quarantine (
        file_sha256 VARCHAR, file_name VARCHAR, kind VARCHAR, organization VARCHAR, row_number BIGINT,
        column_name VARCHAR, value VARCHAR, rule VARCHAR, message VARCHAR, quarantined_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS audit.contract_results (
        file_sha256 VARCHAR, kind VARCHAR, expectation VARCHAR, column_name VARCHAR, rule VARCHAR,
        success BOOLEAN, unexpected_count BIGINT, checked_at TIMESTAMP)""",
    # Per mart step and organisation-cycle: a digest of the inputs it was last built from (pipelines/increments).
    """CREATE TABLE IF NOT EXISTS audit.mart_inputs (
        step VARCHAR, organization VARCHAR, cycle BIGINT, fingerprint VARCHAR, built_at TIMESTAMP)""",
)


def _secure_file(path: Path) -> None:
    """The database holds pseudonymised personal data: readable by its owner only."""
    for candidate in (path, path.with_name(path.name + ".wal")):
        if candidate.exists():
            os.chmod(candidate, 0o600)


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """One writer at a time (DuckDB's file lock); readers open read-only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    old_umask = os.umask(0o077)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusy(
                f"the database {path} is in use by another calibra run; wait for it to finish and try again"
            ) from None
        raise
    finally:
        os.umask(old_umask)
    try:
        if not read_only:
            _secure_file(path)
        yield con
    finally:
        con.close()
        if not read_only:
            _secure_file(path)


@contextmanager
def run_lock(home: Path) -> Iterator[None]:
    """One calibra run per home at a time, for the whole run.

    DuckDB's own lock is held only while an asset writes, so without this a second run could slip in between
    two assets of the first. The lock is an exclusive flock on `home/calibra.lock`: the operating system
    releases it when the process ends, however it ends (kill -9 included), so it never goes stale."""
    if fcntl is None:  # not POSIX: DuckDB's file lock still keeps two writers apart
        yield
        return
    home.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(home / "calibra.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusy(
                f"another calibra run is using {home}; wait for it to finish and try again"
            ) from None
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


def initialise(con: duckdb.DuckDBPyConnection) -> None:
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for ddl in AUDIT_DDL:
        con.execute(ddl)
    for contract in all_contracts().values():
        con.execute(contract.staging_ddl())
