"""The one bridge to Great Expectations: a contract becomes an expectation suite, a GX result becomes
row-level violations (for audit.quarantine) and a per-expectation summary with counts only.

GX 1.x has no DuckDB or polars engine that works reliably (shared/RELIABILITY.md), so each file is validated
as a bounded pandas frame in an ephemeral context. Unexpected values stay in memory: the summary that is
stored or shown carries counts, never values.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl

from models.contracts import Contract
from models.parsing import VIOLATION_SCHEMA, empty_violations
from models.policy import Policy
from models.readers import ROW


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


_context_lock = threading.Lock()


@contextmanager
def warmed_up() -> Iterator[None]:
    """Import Great Expectations and build its context in a background thread while the block reads the
    files: the import costs seconds of pure Python, and reading and typing the files runs in polars, which
    leaves the interpreter free, so on two cores the two overlap. The thread is joined when the block ends,
    before control goes back to Dagster: a half-finished import is visible to other threads (SQLAlchemy
    registers its ORM inspectors mid-import), and Dagster's event storage once failed on a half-imported
    `sqlalchemy.orm` when a run with nothing new to load returned while the import was still going."""
    thread = threading.Thread(target=_context, name="gx-warm-up", daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


def _context() -> Any:
    with _context_lock:
        return _make_context()


@cache
def _make_context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    # GX fingerprints every pandas batch under 1 GB by hashing all its cells (twice per validation): a batch
    # marker for its stored metadata, which an ephemeral context never keeps, and no part of any check. At
    # half a million rows that hashing cost as much as the expectations themselves.
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def contract_rules(contract: Contract, policy: Policy, partition: str | None = None) -> list[Rule]:
    """Every row-level rule of a contract as a GX expectation, each with the rule name stored in quarantine."""
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
                    "a value is required",
                )
            )
        allowed = list(col.allowed) if col.allowed is not None else None
        if col.allowed_from_policy:
            allowed = policy.allowed_values(col.allowed_from_policy)
        if allowed is not None:
            shown = ", ".join(str(v) for v in allowed)
            source = f"policy {policy.id}" if col.allowed_from_policy else "contract"
            rules.append(
                Rule(
                    expect.ExpectColumnValuesToBeInSet(column=col.name, value_set=allowed),
                    col.name,
                    "allowed_values",
                    f"expected one of: {shown} ({source})",
                )
            )
        if col.minimum is not None or col.maximum is not None:
            low = (
                ("more than " if col.strict_min else "at least ") + str(col.minimum)
                if col.minimum is not None
                else ""
            )
            high = f"at most {col.maximum}" if col.maximum is not None else ""
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
                    "expected " + " and ".join(p for p in (low, high) if p),
                )
            )
        if col.pattern:
            rules.append(
                Rule(
                    expect.ExpectColumnValuesToMatchRegex(column=col.name, regex=col.pattern),
                    col.name,
                    "pattern",
                    "expected an identifier of letters and digits (leading zeros kept, "
                    "no scientific notation)"
                    if col.pii == "identifier"
                    else f"expected text matching {col.pattern}",
                )
            )
        if col.max_length:
            rules.append(
                Rule(
                    expect.ExpectColumnValueLengthsToBeBetween(column=col.name, max_value=col.max_length),
                    col.name,
                    "max_length",
                    f"expected at most {col.max_length} characters",
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
        rules.append(
            Rule(
                expectation,
                "+".join(key),
                "duplicate_key",
                f"the key ({', '.join(key)}) occurs more than once in the file; all copies are held back",
            )
        )
    return rules


PART = "_part"  # which file of a batch a row came from
UID = "_uid"  # a row's unique index within a batch


def validate(
    frame: pl.DataFrame, contract: Contract, policy: Policy
) -> tuple[pl.DataFrame, list[ExpectationOutcome]]:
    """Run the contract's suite on one typed frame; returns row-level violations and per-rule counts."""
    return validate_batch([frame], contract, policy)[0]


def validate_batch(
    frames: list[pl.DataFrame], contract: Contract, policy: Policy
) -> list[tuple[pl.DataFrame, list[ExpectationOutcome]]]:
    """Validate several files of one kind and policy in one GX run, results split per file.

    GX spends about two seconds planning a suite, whatever the size of the frame; validating the files of a
    run together pays that once per kind and policy instead of once per file."""
    import great_expectations as gx

    rules = contract_rules(contract, policy, partition=PART)
    # Only the columns some rule looks at are combined and go to pandas: less memory on large exports.
    checked = {rule.column for rule in rules if "+" not in rule.column}
    checked |= {c for key in contract.keys for c in key}
    columns = [c for c in contract.names if c in checked]
    combined = pl.concat(
        [
            frame.select(pl.lit(part, pl.Int32).alias(PART), ROW, *columns)
            for part, frame in enumerate(frames)
        ],
        how="vertical_relaxed",
    ).with_row_index(UID)
    if combined.height == 0:
        unchecked = [
            ExpectationOutcome(type(r.expectation).__name__, r.column, r.rule, True, 0) for r in rules
        ]
        return [(empty_violations(), list(unchecked)) for _ in frames]
    context = _context()
    source = context.data_sources.add_or_update_pandas("calibra")
    asset_name = contract.table
    asset = next((a for a in source.assets if a.name == asset_name), None) or source.add_dataframe_asset(
        asset_name
    )
    batch_definition = next(
        iter(asset.batch_definitions), None
    ) or asset.add_batch_definition_whole_dataframe("file")
    # GX filters the whole pandas frame for every expectation (rows with a value, then the unexpected rows),
    # so each expectation copies every column of the frame. Free text (up to thousands of characters a cell)
    # made most of that copying: its rules run as a second suite on a frame of their own columns only.
    free_text = {c.name for c in contract.columns if c.pii == "free_text"}
    suites: dict[str, list[Rule]] = {}
    for rule in rules:
        suites.setdefault("free_text" if rule.column in free_text else "", []).append(rule)
    items = []
    for part_name, part_rules in suites.items():
        name = f"{contract.table}_v{contract.version}_{policy.id}" + (f"_{part_name}" if part_name else "")
        try:
            suite = context.suites.get(name)
        except Exception:  # GX raises its own not-found error class
            suite = gx.ExpectationSuite(name=name)
            for rule in part_rules:
                suite.add_expectation(rule.expectation)
            suite = context.suites.add(suite)
        needed = {c for rule in part_rules for c in rule.column.split("+")}
        pandas_frame = combined.select(UID, PART, *[c for c in columns if c in needed]).to_pandas()
        pandas_frame = pandas_frame.set_index(UID, drop=False)
        batch = batch_definition.get_batch(batch_parameters={"dataframe": pandas_frame})
        result = batch.validate(
            suite,
            result_format={
                "result_format": "COMPLETE",
                "partial_unexpected_count": 0,
                "return_unexpected_index_query": False,
                "unexpected_index_column_names": [UID],
            },
        )
        items.extend(result.results)
        del pandas_frame, batch
    if len(items) != len(rules):
        raise RuntimeError(f"Great Expectations returned {len(items)} results for {len(rules)} rules")
    by_config = {(type(r.expectation).__name__, r.column): r for r in rules}
    found: list[pl.DataFrame] = []
    for item in items:
        config = item.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or "+".join(c for c in kwargs.get("column_list", []) if c != PART)
        expectation_class = type(config.to_domain_obj()).__name__
        rule = by_config[(expectation_class, column)]
        if item.exception_info and item.exception_info.get("raised_exception"):
            raise RuntimeError(f"Great Expectations could not evaluate {expectation_class} on {column}")
        details = item.result or {}
        unexpected = [
            int(i[UID] if isinstance(i, dict) else i) for i in details.get("unexpected_index_list") or []
        ]
        if unexpected:
            shown_column = column.split("+")[-1]
            found.append(
                combined.filter(pl.col(UID).is_in(unexpected)).select(
                    pl.col(PART),
                    pl.col(ROW),
                    pl.lit(column).alias("column"),
                    pl.col(shown_column).cast(pl.String).alias("value"),
                    pl.lit(rule.rule).alias("rule"),
                    pl.lit(rule.message).alias("message"),
                )
            )
    schema = {PART: pl.Int32, **VIOLATION_SCHEMA}
    all_violations = pl.concat(found).cast(schema) if found else pl.DataFrame(schema=schema)  # type: ignore[arg-type]
    results = []
    for part in range(len(frames)):
        violations = all_violations.filter(pl.col(PART) == part).drop(PART)
        counts = violations.group_by("column", "rule").len()
        count_of = {(c, r): n for c, r, n in counts.iter_rows()}
        outcomes = [
            ExpectationOutcome(
                type(rule.expectation).__name__,
                rule.column,
                rule.rule,
                count_of.get((rule.column, rule.rule), 0) == 0,
                count_of.get((rule.column, rule.rule), 0),
            )
            for rule in rules
        ]
        results.append((violations, outcomes))
    return results
