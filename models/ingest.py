"""Ingest one export file: read → map → type → validate (GX) → pseudonymise → load, all or nothing.

Every row read is either loaded into staging.<kind> or held back in audit.quarantine with its reasons; a file
that is structurally wrong is rejected whole. audit.load_ledger proves the balance for every file.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import polars as pl

from models.config import Settings
from models.contracts import LINEAGE_COLUMNS, Contract, load_contract
from models.errors import CalibraError, FileRejected
from models.mapping import CANONICAL_NAME, Mapping, find_mapping, load_mappings
from models.parsing import Canonical, apply_mapping, type_columns, violations_where
from models.policy import Policy, policy_for
from models.pseudonym import pseudonymise_columns, pseudonymise_value
from models.readers import ROW, read_source
from models.validation import ExpectationOutcome, max_bad_row_share, validate, validate_batch, warmed_up

_T = TypeVar("_T")
_R = TypeVar("_R")

# Files read and typed at the same time (each already uses polars' threads; two keep both cores busy).
READ_WORKERS = max(1, min(2, os.cpu_count() or 1))
# Rows of one kind and policy validated in one GX run. GX's fixed cost per run is a fraction of a second, but
# every file waiting for validation and the run's pandas copy are held in memory: a run of at most about this
# many rows is validated, loaded and freed before more files are read (peak memory no longer grows with the
# size of the inbox).
BATCH_ROWS = 500_000


@dataclass
class FileOutcome:
    file_name: str
    sha256: str
    status: str  # loaded | loaded_with_quarantine | rejected | already_loaded
    kind: str | None = None
    organization: str | None = None
    cycle: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_rejected: int = 0
    message: str = ""
    superseded: list[str] = field(default_factory=list)
    expectations: list[ExpectationOutcome] = field(default_factory=list)


def file_sha256(path: Path) -> str:
    """The file's fingerprint; an entry that is not a regular file (a link, a pipe) is never opened: it is
    fingerprinted by its name, so that it still gets a ledger row of its own."""
    if entry_problem(path) is not None:
        return hashlib.sha256(b"calibra:refused-entry\0" + path.name.encode("utf-8", "replace")).hexdigest()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def inbox_files(inbox: Path) -> list[Path]:
    """Every entry of the inbox that is not a folder or a hidden file: regular files of any name (a file no
    mapping matches is rejected, never skipped in silence), and links and special files (refused by name)."""
    if not inbox.exists():
        return []
    return sorted(
        p for p in inbox.iterdir() if not p.name.startswith(".") and (p.is_symlink() or not p.is_dir())
    )


def entry_problem(path: Path) -> str | None:
    """Why an inbox entry is not read at all: a symbolic link (its target could be any file on the system)
    or a special file (a named pipe would block the reader forever, a device never ends)."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return "the file disappeared or cannot be read; add it again"
    if stat.S_ISLNK(mode):
        return "the entry is a symbolic link; calibra reads only regular files: copy the export itself"
    if not stat.S_ISREG(mode):
        kind = "a named pipe" if stat.S_ISFIFO(mode) else "a special file (device or socket)"
        return f"the entry is {kind}, not a regular file; copy the export itself into the inbox"
    return None


def entry_size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


# Values that look like identifiers: e-mail addresses, IBANs, and 9 or more digits in one value (national
# registry numbers, BSNs, phone numbers, bank accounts) once separators are taken out.
_EMAIL = re.compile(r"\S@\S")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}\s?[A-Z0-9]{4}(?:\s?[A-Z0-9]{2,4}){2,7}\b", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s.\-/,]")


def looks_like_identifier(value: str) -> bool:
    compact = _SEPARATORS.sub("", value)
    digits = sum(ch.isdigit() for ch in compact)
    return bool(_EMAIL.search(value) or _IBAN.search(value) or digits >= 9)


def _stored_value(
    violations: pl.DataFrame, contract: Contract, key: bytes, organization: str
) -> pl.DataFrame:
    """What of an offending cell may be stored: pseudonyms for identifiers, only the length of free text."""
    identifier_columns = [c.name for c in contract.columns if c.pii == "identifier"]
    free_text_columns = [c.name for c in contract.columns if c.pii == "free_text"]
    contract_columns = set(contract.names)

    def shown(column: str, value: str | None) -> str | None:
        column = column.split("+")[-1]  # a key violation shows the key's last column
        if value is None or column not in contract_columns:
            return None  # a column the mapping does not name (a footer's label cell) is never stored
        if column in identifier_columns:
            return pseudonymise_value(key, organization, value)
        if column in free_text_columns:
            return f"<text, {len(value)} characters>"
        if looks_like_identifier(value):
            # a registry number typed into the birth-year column: the reason is stored, the value is not
            return f"<withheld: looks like an identifier, {len(value)} characters>"
        return value[:200]

    return violations.with_columns(
        pl.struct("column", "value")
        .map_elements(lambda s: shown(s["column"], s["value"]), return_dtype=pl.String)
        .alias("value")
    )


class _Prepared:
    """Everything computed for a file before the database is touched."""

    def __init__(
        self,
        loaded: pl.DataFrame,
        violations: pl.DataFrame,
        rows_read: int,
        organization: str,
        cycle: int | None,
        policy_id: str,
        dropped_columns: int,
        expectations: list[ExpectationOutcome],
    ) -> None:
        self.loaded = loaded
        self.violations = violations
        self.rows_read = rows_read
        self.organization = organization
        self.cycle = cycle
        self.policy_id = policy_id
        self.dropped_columns = dropped_columns
        self.expectations = expectations


def combine_violations(
    header_rows: pl.DataFrame, type_violations: pl.DataFrame, gx_violations: pl.DataFrame
) -> pl.DataFrame:
    """One violation per (row, column, rule) that holds a row back; `header_rows` are the rows that are not
    data (repeated headers, total rows: `Canonical.violations`)."""
    # A cell that failed typing is also null; report the typing failure, not a second 'required' failure.
    if type_violations.height and gx_violations.height:
        gx_violations = gx_violations.join(
            type_violations.select(ROW, "column"), on=[ROW, "column"], how="anti"
        )
    # A repeated header row gets that one reason, not a dozen type failures.
    others = pl.concat([type_violations, gx_violations])
    if header_rows.height and others.height:
        others = others.join(header_rows.select(ROW), on=ROW, how="anti")
    return pl.concat([header_rows, others])


def check_rows(
    canonical: Canonical, contract: Contract, mapping: Mapping, policy: Policy
) -> tuple[pl.DataFrame, pl.DataFrame, list[ExpectationOutcome]]:
    """Type every cell and run the contract's suite on one file."""
    typed, type_violations = type_columns(canonical.frame, contract, mapping)
    gx_violations, expectations = validate(typed, contract, policy)
    return typed, combine_violations(canonical.violations, type_violations, gx_violations), expectations


@dataclass
class _TypedFile:
    """A file read, mapped and typed, waiting for validation (phase 1 of ingest). Its text cells are not
    kept: only the typed frame and the violations found so far wait for GX."""

    path: Path
    sha: str
    mapping: Mapping
    contract: Contract
    rows_read: int
    dropped_columns: int
    header_rows: pl.DataFrame  # rows that are not data (Canonical.violations)
    typed: pl.DataFrame
    type_violations: pl.DataFrame
    organization: str
    policy: Policy


def _organization_of_empty_file(file_name: str, mapping: Mapping) -> str | None:
    """A file without data rows names its organisation only through its mapping or its canonical name."""
    if mapping.constants.get("organization"):
        return str(mapping.constants["organization"])
    found = CANONICAL_NAME.match(file_name.rpartition(".")[0].lower()) if mapping.canonical else None
    return found.group("org") if found else None


# A file whose rows break the contract more often than models.validation.max_bad_row_share is rejected whole,
# here already when its structure is that bad (before Great Expectations runs); small files are judged row by row.
MIN_ROWS_FOR_SHARE = 50
_NAME_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?![0-9])")  # cycles are 2000-2100 (contracts)


def check_name_against_rows(file_name: str, mapping: Mapping, organization: str, settings: Settings) -> None:
    """A file's name must not contradict its rows: a canonical name (`<org>_<kind>_…`) names the
    organisation and kind, and a name that mentions a configured organisation must mention the rows' one.
    Otherwise a file named for one organisation could replace another organisation's data."""
    stem = file_name.rpartition(".")[0].lower() or file_name.lower()
    found = CANONICAL_NAME.match(stem)
    if found and found.group("kind") != mapping.kind:
        raise FileRejected(
            file_name,
            f"the file name says {found.group('kind')}, but its mapping {mapping.id} reads {mapping.kind}; "
            "rename the file or fix the mapping's match pattern",
            rule="name_mismatch",
        )
    if found and found.group("org") != organization.lower():
        raise FileRejected(
            file_name,
            f"the file name says organisation {found.group('org')}, but its rows say {organization}; "
            "rename the file or correct the export",
            column="organization",
            rule="name_mismatch",
        )
    named = [
        org
        for org in settings.organizations
        if re.search(rf"(?<![a-z0-9-]){re.escape(org.lower())}(?![a-z0-9-])", stem)
    ]
    if named and organization not in named:
        raise FileRejected(
            file_name,
            f"the file name says organisation {', '.join(named)}, but its rows say {organization}; "
            "rename the file or correct the export",
            column="organization",
            rule="name_mismatch",
        )


def check_name_against_cycle(file_name: str, cycle: int) -> None:
    """A year in the file name must be the rows' cycle (one of them, if the name holds several)."""
    years = {int(y) for y in _NAME_YEAR.findall(file_name)}
    if years and cycle not in years:
        raise FileRejected(
            file_name,
            f"the file name says {', '.join(str(y) for y in sorted(years))}, but its rows are of cycle "
            f"{cycle}; rename the file or correct the export",
            column="cycle",
            rule="name_mismatch",
        )


def too_many_bad_rows(
    file_name: str, bad: pl.DataFrame, rows: int, policy: Policy, stage: str
) -> FileRejected | None:
    """The rejection for a file whose share of held-back rows passes the policy's threshold, or None."""
    if rows < MIN_ROWS_FOR_SHARE or bad.height == 0:
        return None
    limit = max_bad_row_share(policy)
    held = bad.get_column(ROW).n_unique()
    if held / rows <= limit:
        return None
    top = (
        bad.group_by("column", "rule")
        .agg(pl.col(ROW).n_unique().alias("n"))
        .sort(["n", "column"], descending=[True, False])
        .row(0)
    )
    return FileRejected(
        file_name,
        f"{held} of {rows} rows break the contract ({held / rows:.0%}, {stage}; most often column "
        f"'{top[0]}', rule {top[1]}: {top[2]} rows), more than policy {policy.id} allows "
        f"({limit:.0%}); check the export's layout and its mapping",
        rule="bad_row_share",
    )


def _cheap_violations(typed: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """Required cells that are empty and keys that repeat, found in polars before Great Expectations runs:
    a file of one line repeated a million times would otherwise make GX list a million failing rows."""
    found = [
        violations_where(typed, pl.col(c.name).is_null(), c.name, "required", "a value is required")
        for c in contract.columns
        if c.required and c.name in typed.columns
    ]
    for key in contract.keys:
        found.append(
            violations_where(
                typed,
                pl.struct(list(key)).is_duplicated(),
                "+".join(key),
                "duplicate_key",
                "the key occurs more than once in the file",
            )
        )
    return pl.concat(found) if found else typed.clear().select(ROW)


def read_and_type(
    path: Path, sha: str, mapping: Mapping, contract: Contract, settings: Settings
) -> _TypedFile:
    holder = [read_source(path, mapping)]  # handed over, so that the text cells are freed once mapped
    rows = holder[0].height
    try:
        return _map_and_type(path, sha, mapping, contract, settings, holder)
    except FileRejected as error:
        error.rows_read = rows  # for the ledger: the file's rows are rejected with it
        raise


def _map_and_type(
    path: Path,
    sha: str,
    mapping: Mapping,
    contract: Contract,
    settings: Settings,
    holder: list[pl.DataFrame],
) -> _TypedFile:
    name = path.name
    canonical = apply_mapping(holder.pop(), mapping, contract, name)
    data_rows = canonical.frame.select(ROW, "organization").join(
        canonical.violations.select(ROW), on=ROW, how="anti"
    )
    organizations = data_rows.get_column("organization").drop_nulls().unique().to_list()
    if data_rows.height == 0 and not organizations:
        # A header-only export loads 0 rows and balances; its organisation comes from the mapping or name.
        organizations = [o for o in [_organization_of_empty_file(name, mapping)] if o]
    if len(organizations) != 1:
        raise FileRejected(
            name,
            "a file must hold exactly one organisation",
            column="organization",
            rule="one_organization_per_file",
        )
    organization = organizations[0]
    check_name_against_rows(name, mapping, organization, settings)
    policy = policy_for(settings, organization)
    typed, type_violations = type_columns(canonical.frame, contract, mapping)
    rows = canonical.frame.height
    if rows >= MIN_ROWS_FOR_SHARE:
        found = pl.concat(
            [
                canonical.violations.select(ROW, "column", "rule"),
                type_violations.select(ROW, "column", "rule"),
                _cheap_violations(typed, contract).select(ROW, "column", "rule"),
            ]
        )
        rejection = too_many_bad_rows(name, found, rows, policy, "before the contract checks")
        if rejection:
            raise rejection
    return _TypedFile(
        path,
        sha,
        mapping,
        contract,
        canonical.frame.height,
        canonical.dropped_columns,
        canonical.violations,
        typed,
        type_violations,
        organization,
        policy,
    )


def finish_file(
    file: _TypedFile, gx_violations: pl.DataFrame, expectations: list[ExpectationOutcome], key: bytes
) -> _Prepared:
    """Phase 2: split loaded from quarantined rows, check one cycle per file, pseudonymise."""
    contract = file.contract
    violations = combine_violations(file.header_rows, file.type_violations, gx_violations)
    loaded = (
        file.typed.join(violations.select(ROW).unique(), on=ROW, how="anti")
        if violations.height
        else file.typed
    )
    cycle: int | None = None
    if contract.has_cycle and loaded.height:
        cycles = loaded.get_column("cycle").unique().to_list()
        if len(cycles) > 1:
            raise FileRejected(
                file.path.name,
                f"a file must hold one cycle, this one holds {len(cycles)}",
                column="cycle",
                rule="one_cycle_per_file",
            )
        cycle = int(cycles[0])
        check_name_against_cycle(file.path.name, cycle)
    rejection = too_many_bad_rows(
        file.path.name, violations, file.rows_read, file.policy, "after the contract checks"
    )
    if rejection:
        raise rejection
    identifiers = [c.name for c in contract.columns if c.pii == "identifier"]
    return _Prepared(
        loaded=pseudonymise_columns(loaded, identifiers, key),
        violations=_stored_value(violations, contract, key, file.organization),
        rows_read=file.rows_read,
        organization=file.organization,
        cycle=cycle,
        policy_id=file.policy.id,
        dropped_columns=file.dropped_columns,
        expectations=expectations,
    )


def _write(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    sha: str,
    mapping: Mapping,
    contract: Contract,
    prepared: _Prepared,
) -> FileOutcome:
    now = datetime.now()
    rows_quarantined = prepared.violations.get_column(ROW).n_unique()
    outcome = FileOutcome(
        file_name=path.name,
        sha256=sha,
        kind=contract.table,
        organization=prepared.organization,
        cycle=prepared.cycle,
        rows_read=prepared.rows_read,
        rows_loaded=prepared.loaded.height,
        rows_quarantined=rows_quarantined,
        status="loaded_with_quarantine" if rows_quarantined else "loaded",
        expectations=prepared.expectations,
    )
    if outcome.rows_loaded + outcome.rows_quarantined != outcome.rows_read:
        raise AssertionError(
            f"ledger imbalance for {path.name}: read {outcome.rows_read}, "
            f"loaded {outcome.rows_loaded}, quarantined {outcome.rows_quarantined}"
        )
    staging = prepared.loaded.select(
        *contract.names, pl.lit(sha).alias("_source_sha256"), pl.col(ROW).alias("_source_row")
    )
    quarantine = prepared.violations.select(
        pl.lit(sha).alias("file_sha256"),
        pl.lit(path.name).alias("file_name"),
        pl.lit(contract.table).alias("kind"),
        pl.lit(prepared.organization).alias("organization"),
        pl.col(ROW).alias("row_number"),
        pl.col("column").alias("column_name"),
        "value",
        "rule",
        "message",
        pl.lit(now).alias("quarantined_at"),
    )
    checks = pl.DataFrame(
        [
            (sha, contract.table, e.expectation, e.column, e.rule, e.success, e.unexpected_count, now)
            for e in prepared.expectations
        ],
        schema=[
            "file_sha256",
            "kind",
            "expectation",
            "column_name",
            "rule",
            "success",
            "unexpected_count",
            "checked_at",
        ],
        orient="row",
    )
    columns = ", ".join(f'"{c}"' for c in [*contract.names, *LINEAGE_COLUMNS])
    con.execute("BEGIN TRANSACTION")
    try:
        # The same bytes under a second name in one batch ("export (1).csv"): load them once.
        seen = con.execute(
            "SELECT status FROM audit.load_ledger WHERE file_sha256 = ? AND status <> 'rejected'", [sha]
        ).fetchone()
        if seen:
            con.execute("ROLLBACK")
            return FileOutcome(path.name, sha, "already_loaded", message=f"already {seen[0]}")
        con.execute(
            "INSERT INTO raw.file_registry VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [sha, path.name, entry_size(path), now],
        )
        con.execute("DELETE FROM audit.load_ledger WHERE file_sha256 = ? AND status = 'rejected'", [sha])
        con.register("incoming_rows", staging.to_arrow())
        con.execute(f"INSERT INTO staging.{contract.table} ({columns}) SELECT {columns} FROM incoming_rows")
        con.unregister("incoming_rows")
        con.register("incoming_quarantine", quarantine.to_arrow())
        con.execute("INSERT INTO audit.quarantine SELECT * FROM incoming_quarantine")
        con.unregister("incoming_quarantine")
        con.register("incoming_checks", checks.to_arrow())
        con.execute("INSERT INTO audit.contract_results SELECT * FROM incoming_checks")
        con.unregister("incoming_checks")
        # A corrected export for the same organisation, cycle and kind supersedes the earlier one; a file
        # that loads no row (header only, or every row quarantined) replaces nothing.
        older = con.execute(
            """SELECT file_sha256 FROM audit.load_ledger
               WHERE organization = ? AND kind = ? AND cycle IS NOT DISTINCT FROM ?
                 AND status IN ('loaded', 'loaded_with_quarantine') AND file_sha256 <> ?""",
            [prepared.organization, contract.table, prepared.cycle, sha],
        ).fetchall()
        if outcome.rows_loaded == 0:
            older = []
        for (old_sha,) in older:
            con.execute(f"DELETE FROM staging.{contract.table} WHERE _source_sha256 = ?", [old_sha])
            con.execute(
                "UPDATE audit.load_ledger SET status = 'superseded', superseded_by = ? WHERE file_sha256 = ?",
                [sha, old_sha],
            )
            outcome.superseded.append(old_sha)
        con.execute(
            "INSERT INTO audit.load_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                sha,
                path.name,
                contract.table,
                mapping.id,
                prepared.organization,
                prepared.cycle,
                outcome.rows_read,
                outcome.rows_loaded,
                outcome.rows_quarantined,
                0,
                prepared.dropped_columns,
                outcome.status,
                "",
                contract.version,
                prepared.policy_id,
                now,
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return outcome


def _record_rejection(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    sha: str,
    mapping: Mapping | None,
    error: CalibraError,
    rows_read: int,
) -> FileOutcome:
    now = datetime.now()
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO raw.file_registry VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [sha, path.name, entry_size(path), now],
        )
        con.execute("DELETE FROM audit.load_ledger WHERE file_sha256 = ? AND status = 'rejected'", [sha])
        con.execute(
            "INSERT INTO audit.load_ledger VALUES (?, ?, ?, ?, NULL, NULL, ?, 0, 0, ?, NULL, 'rejected', ?, NULL, NULL, ?, NULL)",
            [
                sha,
                path.name,
                mapping.kind if mapping else None,
                mapping.id if mapping else None,
                rows_read,
                rows_read,
                str(error),
                now,
            ],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return FileOutcome(
        file_name=path.name,
        sha256=sha,
        status="rejected",
        kind=mapping.kind if mapping else None,
        rows_read=rows_read,
        rows_rejected=rows_read,
        message=str(error),
    )


def _rows_in(path: Path, mapping: Mapping | None, error: CalibraError) -> int:
    """Rows of a rejected file, for the ledger; 0 when the file cannot even be read (or was refused before
    reading: a file over the size limits is never read twice)."""
    if mapping is None or (isinstance(error, FileRejected) and error.rule in UNREAD_RULES):
        return 0
    try:
        return read_source(path, mapping).height
    except CalibraError:
        return 0


# Rejections decided before or while the file is read: reading it again to count its rows would repeat
# the reason it was refused (an oversized or bomb-like file, a link, a file that does not decode).
UNREAD_RULES = {"size_limit", "file_type", "encoding", "structure", "date_system", "mapping"}


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    settings: Settings,
    key: bytes,
    mappings: list[Mapping] | None = None,
) -> FileOutcome:
    return ingest_paths(con, [path], settings, key, mappings=mappings)[0]


def ingest_paths(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    settings: Settings,
    key: bytes,
    progress: Callable[[str], None] | None = None,
    mappings: list[Mapping] | None = None,
) -> list[FileOutcome]:
    """Ingest files in order: read and type each, validate them per kind and policy in one GX run, then
    load each file in its own transaction. The outcome list follows `paths`."""
    mappings = mappings if mappings is not None else load_mappings(settings.mappings_dirs)
    outcomes: dict[Path, FileOutcome] = {}
    todo: list[tuple[Path, str, Mapping | None]] = []
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool, ExitStack() as warming:
        # Hashing releases the interpreter: the files of a run are fingerprinted two at a time.
        for path, sha in zip(paths, pool.map(file_sha256, paths), strict=True):
            seen = con.execute(
                "SELECT status FROM audit.load_ledger WHERE file_sha256 = ? AND status <> 'rejected'", [sha]
            ).fetchone()
            if seen:
                outcomes[path] = FileOutcome(path.name, sha, "already_loaded", message=f"already {seen[0]}")
                continue
            problem = entry_problem(path)
            if problem is not None:
                refused = FileRejected(path.name, problem, rule="file_type")
                outcomes[path] = _record_rejection(con, path, sha, None, refused, 0)
                continue
            todo.append((path, sha, find_mapping(path.name, mappings)))
        if todo:  # only files to validate need Great Expectations; a run with nothing new does not import it
            warming.enter_context(warmed_up())

        def read_one(item: tuple[Path, str, Mapping | None]) -> _TypedFile | CalibraError:
            path, sha, mapping = item
            try:
                if mapping is None:
                    raise FileRejected(
                        path.name,
                        "no mapping in mappings/ matches this file name, and it is not named "
                        "<organization>_<kind>.csv",
                        rule="mapping",
                    )
                contract = load_contract(mapping.kind, settings.contracts_dir)
                return read_and_type(path, sha, mapping, contract, settings)
            except CalibraError as error:
                return error

        # Files waiting for validation, per kind and policy, in file order.
        waiting: dict[tuple[str, str], list[_TypedFile]] = {}

        def validate_and_load(group: tuple[str, str]) -> None:
            """One GX run over the waiting files of a kind and policy, then each file in its own transaction."""
            files = waiting.pop(group)
            results = validate_batch(
                [f.typed for f in files],
                files[0].contract,
                files[0].policy,
                names=[f.path.name for f in files],
            )
            for file, result in zip(files, results, strict=True):
                try:
                    prepared = finish_file(file, *result, key)
                except CalibraError as error:
                    outcomes[file.path] = _record_rejection(
                        con, file.path, file.sha, file.mapping, error, file.typed.height
                    )
                    continue
                outcomes[file.path] = _write(con, file.path, file.sha, file.mapping, file.contract, prepared)

        def rows_waiting(files: list[_TypedFile]) -> int:
            return sum(f.typed.height for f in files)

        # Reading and typing run in polars and the Excel reader, which release the interpreter: two files
        # at a time use both cores, also while the main thread validates and loads. Results come back in file
        # order, and only a few files ahead are read (memory stays bounded).
        results = _in_order(pool, read_one, todo, ahead=2 * READ_WORKERS)
        for number, ((path, sha, mapping), result) in enumerate(zip(todo, results, strict=True), 1):
            if progress:
                progress(f"[{number}/{len(todo)}] {path.name}")
            if isinstance(result, CalibraError):
                known_rows = getattr(result, "rows_read", None)
                rows = known_rows if known_rows is not None else _rows_in(path, mapping, result)
                outcomes[path] = _record_rejection(con, path, sha, mapping, result, rows)
                continue
            group = (result.contract.table, result.policy.id)
            waiting.setdefault(group, []).append(result)
            del result
            if rows_waiting(waiting[group]) >= BATCH_ROWS:
                validate_and_load(group)
            elif sum(rows_waiting(files) for files in waiting.values()) >= 2 * BATCH_ROWS:
                for other in list(waiting):
                    validate_and_load(other)
        for group in list(waiting):
            validate_and_load(group)
    return [outcomes[path] for path in paths]


def rejected_folder(inbox: Path) -> Path:
    """Where rejected files go: `rejected/` beside the inbox (never inside it: the inbox is read whole)."""
    return inbox.parent / "rejected"


def set_aside(path: Path, outcome: FileOutcome, inbox: Path) -> Path | None:
    """Move a rejected inbox entry to `rejected/` with a note of why, so that it blocks no later run.

    The entry itself is moved (a link stays a link, never followed); a name already taken there gets the
    file's fingerprint added. Returns the new path, or None if the entry is gone."""
    folder = rejected_folder(inbox)
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    target = folder / path.name
    if target.exists() or target.is_symlink():
        stem, dot, suffix = path.name.rpartition(".")
        base = stem if dot else path.name
        target = folder / (
            f"{base}.{outcome.sha256[:12]}{dot}{suffix}" if dot else f"{base}.{outcome.sha256[:12]}"
        )
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    note = target.with_name(target.name + ".reason.txt")
    descriptor = os.open(note, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(
            f"{outcome.message}\n\nMoved here from {inbox} on {datetime.now():%Y-%m-%d %H:%M}. "
            "Correct the export (or its mapping in mappings/) and put the corrected file in the inbox.\n"
        )
    return target


def _in_order(
    pool: ThreadPoolExecutor, function: Callable[[_T], _R], items: Iterable[_T], ahead: int
) -> Iterator[_R]:
    """`function` over `items` in the pool, results in order, at most `ahead` items in flight."""
    remaining = iter(items)
    running: deque[Future[_R]] = deque()
    for item in remaining:
        running.append(pool.submit(function, item))
        if len(running) >= ahead:
            break
    while running:
        result = running.popleft().result()
        for item in remaining:
            running.append(pool.submit(function, item))
            break
        yield result
