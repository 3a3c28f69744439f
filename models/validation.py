"""The one bridge to Great Expectations: a contract becomes an expectation suite, a GX result becomes
row-level violations (for audit.quarantine) and a per-expectation summary with counts only.

GX validates on DuckDB. Each contract rule is compiled to a GX `UnexpectedRowsExpectation` whose SQL selects
the rows that break it; GX runs the suite on the batch registered in calibra's own (in-memory) DuckDB
connection, and the failing rows come back through GX's own API. `contract_rules` is the same contract as
built-in GX expectations: it is the specification, and `tests/test_gx_duckdb.py` checks that GX's pandas
engine running it and the compiled suite find the same row/rule pairs.

What a validation returns is bounded: a file whose share of bad rows passes the policy's `ingest.max_bad_row_share` (and more
than `MIN_BAD_ROWS_TO_REJECT` rows) is rejected whole, and no more of its failing rows are fetched than that
decision needs. Unexpected values stay in memory: the summary that is stored or shown carries counts, never
values.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from models.contracts import Column, Contract
from models.errors import FileRejected
from models.parsing import VIOLATION_SCHEMA, empty_violations
from models.policy import Policy
from models.readers import ROW

# A file in which more than the policy's `ingest.max_bad_row_share` of the rows break the contract (50% in the
# schema, models.policy) is rejected whole instead of being quarantined row by row: so many bad rows mean the
# export or its mapping is wrong, not a few rows. models.ingest applies the same share in polars before Great
# Expectations runs, for files whose structure is already that bad.
# ... but up to this many bad rows a file is always quarantined row by row, however small it is: holding a
# thousand violations costs nothing, and a small file with a few bad rows should load its good ones.
MIN_BAD_ROWS_TO_REJECT = 1_000
# Rows per rule that GX returns inside a validation result (great_expectations.constants.MAX_RESULT_RECORDS);
# a rule with more failing rows has them fetched with `ValidationDefinition.get_unexpected_rows`.
GX_RESULT_ROWS = 200


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str
    rule: str
    success: bool
    unexpected_count: int


@dataclass(frozen=True)
class Rule:
    expectation: Any  # a gx expectation instance
    column: str
    rule: str
    message: str


@dataclass(frozen=True)
class CompiledRule:
    """A contract rule as SQL: `query` selects the (part, uid) of every row of the `{batch}` that breaks it."""

    expectation: str  # the built-in expectation it implements (the record keeps this name)
    column: str
    rule: str
    message: str
    query: str


class BadRowShareExceeded(FileRejected):
    """A file with too many bad rows: rejected whole (nothing loaded, nothing quarantined)."""


FileResult = tuple[pl.DataFrame, list[ExpectationOutcome]]


class Rejection(FileResult):
    """The result of a file that is rejected whole.

    It stands where a file's `(violations, outcomes)` pair stands (so callers and their types need not
    change), and unpacking it raises its `FileRejected`: a caller that unpacks each file's result inside its
    `except CalibraError` (as `models.ingest` does) records the rejection. A caller that looks before it
    unpacks tests `isinstance(result, Rejection)` and reads `result.error`."""

    error: FileRejected

    def __new__(cls, error: FileRejected) -> Rejection:
        self = super().__new__(cls, (empty_violations(), []))
        self.error = error
        return self

    def __iter__(self) -> Iterator[Any]:
        raise self.error


_context_lock = threading.Lock()


@contextmanager
def warmed_up() -> Iterator[None]:
    """Import Great Expectations and build its context in a background thread while the block reads the
    files: the import costs seconds of pure Python, and reading and typing the files runs in polars, which
    leaves the interpreter free, so on two cores the two overlap. The thread is joined when the block ends,
    before control goes back to Dagster: a half-finished import is visible to other threads (SQLAlchemy
    registers its ORM inspectors mid-import), and Dagster's event storage once failed on a half-imported
    `sqlalchemy.orm` when a run with nothing new to load returned while the import was still going."""
    thread = threading.Thread(target=_warm_up, name="gx-warm-up", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


def _context() -> Any:
    with _context_lock:
        return _make_context()


def _warm_up() -> None:
    """GX's context and its DuckDB data source (SQLAlchemy, the dialect and its first connection)."""
    _context()
    _validator()


@cache
def _make_context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


# --- the specification: the contract as built-in GX expectations ---------------------------------------


def contract_rules(contract: Contract, policy: Policy, partition: str | None = None) -> list[Rule]:
    """Every row-level rule of a contract as a built-in GX expectation, each with the rule name stored in
    quarantine. This is the specification the compiled suite (`compiled_rules`) is tested against."""
    import great_expectations as gx

    expect = gx.expectations
    rules: list[Rule] = []
    for col in contract.columns:
        if col.required:
            rules.append(
                Rule(
                    expect.ExpectColumnValuesToNotBeNull(column=col.name),
                    col.name,
                    "required",
                    _message(col, "required", policy),
                )
            )
        allowed = _allowed(col, policy)
        if allowed is not None:
            rules.append(
                Rule(
                    expect.ExpectColumnValuesToBeInSet(column=col.name, value_set=allowed),
                    col.name,
                    "allowed_values",
                    _message(col, "allowed_values", policy),
                )
            )
        if col.minimum is not None or col.maximum is not None:
            rules.append(
                Rule(
                    expect.ExpectColumnValuesToBeBetween(
                        column=col.name,
                        min_value=col.minimum,
                        max_value=col.maximum,
                        strict_min=col.strict_min,
                    ),
                    col.name,
                    "range",
                    _message(col, "range", policy),
                )
            )
        if col.pattern:
            rules.append(
                Rule(
                    expect.ExpectColumnValuesToMatchRegex(column=col.name, regex=col.pattern),
                    col.name,
                    "pattern",
                    _message(col, "pattern", policy),
                )
            )
        if col.max_length:
            rules.append(
                Rule(
                    expect.ExpectColumnValueLengthsToBeBetween(column=col.name, max_value=col.max_length),
                    col.name,
                    "max_length",
                    _message(col, "max_length", policy),
                )
            )
    for key in contract.keys:
        # Keys are unique per file: when several files are validated together, the file is part of the key.
        columns = [*key, partition] if partition else list(key)
        expectation = (
            expect.ExpectColumnValuesToBeUnique(column=columns[0])
            if len(columns) == 1
            else expect.ExpectCompoundColumnsToBeUnique(column_list=columns)
        )
        rules.append(Rule(expectation, "+".join(key), "duplicate_key", _key_message(key)))
    return rules


def _allowed(col: Column, policy: Policy) -> list[Any] | None:
    if col.allowed_from_policy:
        return list(policy.allowed_values(col.allowed_from_policy))
    return list(col.allowed) if col.allowed is not None else None


def _message(col: Column, rule: str, policy: Policy) -> str:
    if rule == "required":
        return "a value is required"
    if rule == "allowed_values":
        shown = ", ".join(str(v) for v in _allowed(col, policy) or [])
        source = f"policy {policy.id}" if col.allowed_from_policy else "contract"
        return f"expected one of: {shown} ({source})"
    if rule == "range":
        low = (
            ("more than " if col.strict_min else "at least ") + str(col.minimum)
            if col.minimum is not None
            else ""
        )
        high = f"at most {col.maximum}" if col.maximum is not None else ""
        return "expected " + " and ".join(p for p in (low, high) if p)
    if rule == "pattern":
        if col.pii == "identifier":
            return "expected an identifier of letters and digits (leading zeros kept, no scientific notation)"
        return f"expected text matching {col.pattern}"
    return f"expected at most {col.max_length} characters"


def _key_message(key: Sequence[str]) -> str:
    return f"the key ({', '.join(key)}) occurs more than once in the file; all copies are held back"


# --- the compiled suite: each rule as SQL that selects the rows breaking it ------------------------------

PART = "_part"  # which file of a batch a row came from
UID = "_uid"  # a row's unique index within a batch


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any, col: Column) -> str:
    if col.type == "string" or isinstance(value, str):
        return "'" + str(value).replace("'", "''") + "'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float) and math.isfinite(value):
        return repr(value)
    raise ValueError(f"contract column {col.name}: cannot write {value!r} as SQL")


def _braces(sql: str) -> str:
    """GX fills `{batch}` in with `str.format`: every other brace (regex quantifiers) is doubled."""
    return sql.replace("{", "{{").replace("}", "}}")


def compiled_rules(contract: Contract, policy: Policy, partition: str = PART) -> list[CompiledRule]:
    """The rules of `contract_rules`, in the same order, as SQL over a batch with `partition` and `UID`.

    Each condition mirrors the built-in expectation on DuckDB: a missing value breaks only `required` (the
    built-in map expectations skip nulls); text lengths count characters; patterns are searched, as GX's
    `str.contains` does, and the contracts anchor theirs; a key is duplicated when another row of the same
    file has the same values, missing values counting as equal (as pandas' `duplicated`)."""
    rules: list[CompiledRule] = []
    select = f"SELECT {_identifier(partition)}, {_identifier(UID)} FROM {{batch}}"

    def add(col: Column, expectation: str, rule: str, condition: str) -> None:
        rules.append(
            CompiledRule(
                expectation,
                col.name,
                rule,
                _message(col, rule, policy),
                f"{select} WHERE {_braces(condition)}",
            )
        )

    for col in contract.columns:
        c = _identifier(col.name)
        if col.required:
            add(col, "ExpectColumnValuesToNotBeNull", "required", f"{c} IS NULL")
        allowed = _allowed(col, policy)
        if allowed is not None:
            values = ", ".join(_literal(v, col) for v in allowed) or "NULL"
            add(col, "ExpectColumnValuesToBeInSet", "allowed_values", f"{c} NOT IN ({values})")
        if col.minimum is not None or col.maximum is not None:
            inside = []
            if col.minimum is not None:
                inside.append(f"{c} {'>' if col.strict_min else '>='} {_literal(col.minimum, col)}")
            if col.maximum is not None:
                inside.append(f"{c} <= {_literal(col.maximum, col)}")
            add(col, "ExpectColumnValuesToBeBetween", "range", f"NOT ({' AND '.join(inside)})")
        if col.pattern:
            pattern = "'" + col.pattern.replace("'", "''") + "'"
            add(col, "ExpectColumnValuesToMatchRegex", "pattern", f"NOT regexp_matches({c}, {pattern})")
        if col.max_length:
            add(col, "ExpectColumnValueLengthsToBeBetween", "max_length", f"length({c}) > {col.max_length}")
    for key in contract.keys:
        columns = ", ".join(_identifier(c) for c in [*key, partition])
        rules.append(
            CompiledRule(
                "ExpectCompoundColumnsToBeUnique",
                "+".join(key),
                "duplicate_key",
                _key_message(key),
                f"{select} QUALIFY count(*) OVER (PARTITION BY {columns}) > 1",
            )
        )
    return rules


# --- running the compiled suite in GX on DuckDB ---------------------------------------------------------

BATCH_TABLE = "calibra_batch"


class _Validator:
    """GX's SQL data source on one in-memory DuckDB connection of this process.

    GX reaches DuckDB through SQLAlchemy and the `duckdb_engine` dialect. Its engine opens no connection of
    its own: SQLAlchemy's `creator` hands it a cursor of this in-memory connection of calibra's (a second
    engine on calibra's database file would be refused), held in a static pool; each batch is a temporary
    table of that cursor while it is validated. The warehouse's writer connection is never involved: a
    validation reads nothing from the database and writes nothing to it.

    GX reads a query's rows after it has closed the SQLAlchemy connection, and closing rolls back: DuckDB then
    drops the pending result, and every expectation fails with "list index out of range" or a missing row
    count (GX issues 10738 and 11579). GX only reads here, so the cursor's transaction calls are no-ops; and
    any exception GX reports is raised (`_raise_exceptions`), never taken for a failed rule."""

    def __init__(self) -> None:
        import duckdb
        import duckdb_engine
        import great_expectations as gx
        import sqlalchemy.pool

        class ReadOnlyCursor(duckdb_engine.ConnectionWrapper):  # type: ignore[misc]
            def begin(self) -> None:
                pass

            def commit(self) -> None:
                pass

            def rollback(self) -> None:
                pass

        self.connection = duckdb.connect(":memory:", config={"threads": 1})
        self.cursor = self.connection.cursor()
        wrapper = ReadOnlyCursor(self.cursor)
        context = _context()
        source = context.data_sources.add_or_update_sql(
            "calibra_duckdb",
            connection_string="duckdb:///:memory:",
            kwargs={
                "creator": lambda: wrapper,
                "poolclass": sqlalchemy.pool.StaticPool,
                "pool_reset_on_return": None,
            },
            create_temp_table=False,
        )
        self.context = context
        self.gx = gx
        self.source = source
        self.definitions: dict[str, tuple[Any, Any, list[Any]]] = {}
        self.lock = threading.Lock()

    def definition(self, name: str, rules: list[CompiledRule]) -> tuple[Any, Any, list[Any]]:
        """The validation definition of a compiled suite (built once per contract and policy; GX checks the
        table asset when it is added, so a batch must be registered)."""
        found = self.definitions.get(name)
        if found is None:
            gx = self.gx
            asset = next((a for a in self.source.assets if a.name == "batch"), None)
            asset = asset or self.source.add_table_asset("batch", table_name=BATCH_TABLE)
            batch_definition = next(iter(asset.batch_definitions), None)
            batch_definition = batch_definition or asset.add_batch_definition_whole_table("whole")
            suite = self.context.suites.add(gx.ExpectationSuite(name=name))
            expectations = [
                suite.add_expectation(
                    gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=r.query)
                )
                for r in rules
            ]
            definition = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
            )
            found = self.definitions[name] = (definition, suite, expectations)
        return found

    @contextmanager
    def batch(self, frame: pl.DataFrame) -> Iterator[None]:
        """`frame` as the batch table while the block runs. It is copied into a DuckDB table of the
        connection: the suite scans it twice per rule, and DuckDB scans its own columns several times faster
        than an Arrow view. GX leaves a query's result partly read (at most 200 rows), which DuckDB must be
        told to drop before the connection's catalog changes."""
        self.cursor.abort()
        self.cursor.register("calibra_incoming", frame.to_arrow())
        try:
            self.cursor.execute(f"CREATE OR REPLACE TEMP TABLE {BATCH_TABLE} AS FROM calibra_incoming")
        finally:
            self.cursor.unregister("calibra_incoming")
        try:
            yield
        finally:
            self.cursor.abort()
            self.cursor.execute(f"DROP TABLE IF EXISTS {BATCH_TABLE}")

    def fetch(self, definition: Any, query: str) -> list[dict[str, Any]]:
        """Every row `query` selects from the batch, computed by GX as `get_unexpected_rows` does (its
        `query.table` metric with `fetch_all`), but without the progress bar that `Batch.compute_metrics`
        always writes to stderr; tests/test_gx_duckdb.py checks that both give the same rows."""
        from great_expectations.metrics.query.batch_table import QueryBatchTable
        from great_expectations.validator.metrics_calculator import MetricsCalculator

        batch = definition.batch_definition.get_batch()
        engine = batch.data.execution_engine
        engine.batch_manager.load_batch_list(batch_list=[batch])
        metric = QueryBatchTable(query=query, fetch_all=True)
        calculator = MetricsCalculator(execution_engine=engine, show_progress_bars=False)
        values, errors = calculator.compute_metrics(
            metric_configurations=[metric.config(batch_id=batch.id)], runtime_configuration=None
        )
        if errors:
            raise RuntimeError("Great Expectations could not fetch the failing rows of a rule")
        [rows] = values.values()
        return list(rows)


_validator_lock = threading.Lock()


def _validator() -> _Validator:
    """The process's validator, built once (by the warm-up thread or the first validation, whichever asks
    first: the other waits)."""
    with _validator_lock:
        return _make_validator()


@cache
def _make_validator() -> _Validator:
    atexit.register(_unregister_duckdb_compiler)
    return _Validator()


def _unregister_duckdb_compiler() -> None:
    """`duckdb_engine` registers a compiler for SQLAlchemy's `TryCast`; that function keeps `duckdb`'s module
    reachable until SQLAlchemy's classes are torn down, after DuckDB's bindings, which then print "nanobind:
    leaked 27 instances!" and more on every exit of a process that validated. Unregistered at exit."""
    import sqlalchemy

    dispatcher = vars(sqlalchemy.TryCast).get("_compiler_dispatcher")
    if dispatcher is not None:
        dispatcher.specs.pop("duckdb", None)


def _raise_exceptions(result: Any, what: str) -> None:
    """GX reports a query that failed as a failed expectation with `exception_info`, sometimes keyed by
    metric; any raised exception there is an error, never a result."""

    def raised(info: Any) -> bool:
        if not isinstance(info, dict):
            return False
        if info.get("raised_exception") or info.get("exception_message"):
            return True
        return any(raised(value) for value in info.values())

    if raised(getattr(result, "exception_info", None)):
        raise RuntimeError(f"Great Expectations could not evaluate {what}")


def _ids(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    parts = np.fromiter((r[PART] for r in rows), dtype=np.int64, count=len(rows))
    uids = np.fromiter((r[UID] for r in rows), dtype=np.int64, count=len(rows))
    return parts, uids


def max_bad_row_share(policy: Policy) -> float:
    """The share of bad rows above which a file is rejected whole (the policy's `ingest.max_bad_row_share`)."""
    return policy.typed.ingest.max_bad_row_share


def _limits(heights: Sequence[int], share: float) -> np.ndarray:
    """Bad rows a file may have before it is rejected."""
    return np.array([max(math.floor(share * h), MIN_BAD_ROWS_TO_REJECT) for h in heights], dtype=np.int64)


def validate(
    frame: pl.DataFrame, contract: Contract, policy: Policy
) -> tuple[pl.DataFrame, list[ExpectationOutcome]]:
    """Run the contract's suite on one typed frame; returns row-level violations and per-rule counts."""
    result = validate_batch([frame], contract, policy)[0]
    if isinstance(result, Rejection):
        raise result.error
    return result


def validate_batch(
    frames: list[pl.DataFrame],
    contract: Contract,
    policy: Policy,
    names: Sequence[str] | None = None,
) -> list[FileResult]:
    """Validate several files of one kind and policy in one GX run, results split per file (in order).

    GX plans a suite once per run: validating the files of a run together pays that once per kind and policy
    instead of once per file. A file with too many bad rows comes back as a `Rejection` (`names` name the
    files in its message)."""
    rules = compiled_rules(contract, policy)
    checked = {c for rule in rules for c in rule.column.split("+")}
    columns = [c for c in contract.names if c in checked]
    combined = pl.concat(
        [
            frame.select(pl.lit(part, pl.Int32).alias(PART), ROW, *columns)
            for part, frame in enumerate(frames)
        ],
        how="vertical_relaxed",
    ).with_row_index(UID)
    if combined.height == 0:
        unchecked = [ExpectationOutcome(r.expectation, r.column, r.rule, True, 0) for r in rules]
        return [(empty_violations(), list(unchecked)) for _ in frames]
    # GX's pandas engine takes NaN for a missing value; DuckDB does not. The suite sees NULL for NaN as the
    # specification does (a NaN fails `required`, and no other rule).
    floats = [c for c, t in combined.schema.items() if t == pl.Float64]
    if floats:
        combined = combined.with_columns(pl.col(floats).fill_nan(None))
    heights = [frame.height for frame in frames]
    share = max_bad_row_share(policy)
    limits = _limits(heights, share)
    part_of = combined.get_column(PART).to_numpy().astype(np.int64)
    validator = _validator()
    with validator.lock, validator.batch(combined.drop(ROW)):
        found, rejected = _run(validator, contract, policy, rules, part_of, limits)
    results: list[FileResult] = []
    for part in range(len(frames)):
        if part in rejected:
            rule, bad_uid = rejected[part]
            # The ledger row names the file too; a caller that passes `names` gets it in the sentence.
            name = names[part] if names is not None else f"#{part + 1} of {len(frames)} checked together"
            first_row = int(combined.get_column(ROW)[int(bad_uid)])
            error = BadRowShareExceeded(
                name,
                f"more than {int(limits[part]):,} of its {heights[part]:,} rows break the contract "
                f"(at most {share:.0%} may, or {MIN_BAD_ROWS_TO_REJECT:,} rows); the whole file is "
                f"held back: check its mapping and export (first rule over the limit: {rule.rule})",
                row=first_row,
                column=rule.column,
                rule="bad_row_share",
            )
            results.append(Rejection(error))
            continue
        pairs = [(rule, uids[parts == part]) for rule, (parts, uids) in found]
        violations = [
            combined.filter(pl.col(UID).is_in(pl.Series(uids).implode())).select(
                pl.col(ROW),
                pl.lit(rule.column).alias("column"),
                pl.col(rule.column.split("+")[-1]).cast(pl.String).alias("value"),
                pl.lit(rule.rule).alias("rule"),
                pl.lit(rule.message).alias("message"),
            )
            for rule, uids in pairs
            if uids.size
        ]
        count_of = {(rule.column, rule.rule): int(uids.size) for rule, uids in pairs}
        outcomes = [
            ExpectationOutcome(
                rule.expectation,
                rule.column,
                rule.rule,
                count_of.get((rule.column, rule.rule), 0) == 0,
                count_of.get((rule.column, rule.rule), 0),
            )
            for rule in rules
        ]
        frame = pl.concat(violations).cast(VIOLATION_SCHEMA) if violations else empty_violations()  # type: ignore[arg-type]
        results.append((frame, outcomes))
    return results


def _run(
    validator: _Validator,
    contract: Contract,
    policy: Policy,
    rules: list[CompiledRule],
    part_of: np.ndarray,
    limits: np.ndarray,
) -> tuple[list[tuple[CompiledRule, tuple[np.ndarray, np.ndarray]]], dict[int, tuple[CompiledRule, int]]]:
    """Run the compiled suite in GX; the failing (part, uid) of every rule for the files that are not
    rejected, and for each rejected file the rule that took it over its limit and its first bad row."""
    # Named by its queries: a policy whose values changed (or a test's) never reuses a suite built for others.
    digest = hashlib.sha256("\n".join(r.query for r in rules).encode()).hexdigest()[:16]
    name = f"{contract.table}_v{contract.version}_{policy.id}_{digest}"
    definition, suite, expectations = validator.definition(name, rules)
    # The batch validates the suite (a validation definition's run would also serialise the result into
    # GX's store, a second or more per run that nothing reads).
    result = definition.batch_definition.get_batch().validate(
        suite, result_format={"result_format": "COMPLETE"}
    )
    if len(result.results) != len(rules):
        raise RuntimeError(
            f"Great Expectations returned {len(result.results)} results for {len(rules)} rules"
        )
    counts: list[int] = []
    returned: list[list[dict[str, Any]]] = []
    by_query = {e.unexpected_rows_query: i for i, e in enumerate(expectations)}
    ordered: list[Any] = [None] * len(rules)
    for item in result.results:
        ordered[by_query[item.expectation_config.kwargs["unexpected_rows_query"]]] = item
    for rule, item in zip(rules, ordered, strict=True):
        _raise_exceptions(item, f"the rule {rule.rule} on {rule.column}")
        details = item.result or {}
        count = details.get("observed_value")
        if not isinstance(count, int) or item.success != (count == 0):
            raise RuntimeError(
                f"Great Expectations gave no row count for the rule {rule.rule} on {rule.column}"
            )
        counts.append(count)
        returned.append(list((details.get("details") or {}).get("unexpected_rows") or []))

    parts = len(limits)
    bad = np.zeros(part_of.size, dtype=np.bool_)
    rejected: dict[int, tuple[CompiledRule, int]] = {}
    # When the batch has few failing rows (no more than its files may have together), every rule's rows are
    # fetched whole. When it has many, each rule's rows are fetched only for the files not yet rejected and
    # at most one row past each file's limit: a file that goes over its limit is rejected, and no fetch holds
    # more than about the limits of the batch's files.
    many = sum(counts) > int(limits.sum())
    found: list[tuple[CompiledRule, tuple[np.ndarray, np.ndarray]]] = []
    for rule, count, rows in zip(rules, counts, returned, strict=True):
        if count == 0:
            continue
        if count <= len(rows):
            ids = _ids(rows)
        elif not many:
            ids = _ids(validator.fetch(definition, rule.query))
            if ids[0].size != count:
                raise RuntimeError(
                    f"Great Expectations returned {ids[0].size} of {count} rows for {rule.rule}"
                )
        else:
            open_parts = [p for p in range(parts) if p not in rejected]
            if not open_parts:
                break
            caps = ", ".join(str(int(limits[p]) + 1) for p in range(parts))
            capped = (
                f"SELECT {PART}, {UID} FROM ({rule.query}) AS failing "
                f"WHERE {PART} IN ({', '.join(map(str, open_parts))}) "
                f"QUALIFY row_number() OVER (PARTITION BY {PART} ORDER BY {UID}) <= [{caps}][{PART} + 1]"
            )
            ids = _ids(validator.fetch(definition, capped))
        part_ids, uids = ids
        keep = np.isin(part_ids, list(rejected), invert=True) if rejected else np.ones(uids.size, np.bool_)
        part_ids, uids = part_ids[keep], uids[keep]
        bad[uids] = True
        found.append((rule, (part_ids, uids)))
        per_part = np.bincount(part_of[bad], minlength=parts)
        for part in np.flatnonzero(per_part > limits):
            if int(part) not in rejected:
                first = int(np.flatnonzero(bad & (part_of == part))[0])
                rejected[int(part)] = (rule, first)
    return found, rejected
