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
from models.errors import CalibraError, ConfigError, DatabaseBusy, os_error_advice, os_error_sentence

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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CalibraError(os_error_sentence(exc, path.parent)) from None
    old_umask = os.umask(0o077)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusy(
                f"the database {path} is in use by another calibra run; wait for it to finish and try again"
            ) from None
        if os_error_advice(exc):
            raise CalibraError(f"cannot open the database {path}: {os_error_advice(exc)}") from None
        raise
    except duckdb.Error as exc:
        if os_error_advice(exc):
            raise CalibraError(f"cannot open the database {path}: {os_error_advice(exc)}") from None
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


# The file that marks a folder as a calibra home (inbox, database, Dagster storage). A home given on the
# command line must exist (or be asked for with --create) and be empty or a calibra home: a mistyped path
# never becomes a new, empty home, and a folder of someone else's files never becomes one.
HOME_MARKER = ".calibra-home"
_HOME_ENTRIES = (HOME_MARKER, "calibra.duckdb", "inbox")


def is_calibra_home(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).exists() for name in _HOME_ENTRIES)


def check_home(home: Path, create: bool) -> None:
    """Refuse a home that does not exist (unless `create`), is not a folder, or holds other files."""
    if home.is_symlink() and not home.is_dir():
        raise ConfigError(f"the home {home} is a broken link; give a folder")
    if home.exists() and not home.is_dir():
        raise ConfigError(f"the home {home} is a file, not a folder; give a folder for calibra's data")
    if not home.exists():
        if not create:
            raise ConfigError(
                f"the home {home} does not exist; check the path, or add --create to start a new home there"
            )
        return
    if any(home.iterdir()) and not is_calibra_home(home):
        raise ConfigError(
            f"the home {home} is not empty and is not a calibra home; choose an empty folder or an "
            "existing calibra home"
        )


def prepare_home(home: Path) -> None:
    """Create the home owner-only and mark it as calibra's."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    home.chmod(0o700)  # it holds the database and the raw exports
    marker = home / HOME_MARKER
    if not marker.exists():
        marker.write_text("calibra home: inbox, database and Dagster storage\n", encoding="utf-8")
        marker.chmod(0o600)


def owner_only(folder: Path) -> None:
    """Make a folder and everything in it readable by its owner only (0700 folders, 0600 files); links are
    left alone (never followed)."""
    if not folder.is_dir() or folder.is_symlink():
        return
    folder.chmod(0o700)
    for path in folder.rglob("*"):
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o700)
        elif path.is_file():
            path.chmod(0o600)
