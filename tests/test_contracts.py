"""Contract tests: every rule of every contract has a passing and a failing example (through GX).

Great Expectations spends most of a validation planning the suite, whatever the frame's size; the examples of
one kind are therefore validated together, each as a file of its own in one batch (`validate_batch`, as
ingest validates the files of a run), and each test reads its own file's violations."""

from __future__ import annotations

from functools import cache

import polars as pl
import pytest

from models.config import PROJECT_ROOT, load_settings
from models.contracts import KINDS, all_contracts, load_contract
from models.ingest import check_rows, combine_violations
from models.mapping import canonical_mapping
from models.parsing import apply_mapping, type_columns
from models.policy import policy_for
from models.readers import ROW
from models.validation import contract_rules, validate, validate_batch
from tests.canonical_rows import VALID_ROWS

SETTINGS = load_settings(PROJECT_ROOT / "calibra.yaml")
POLICY = policy_for(SETTINGS, "zeeland-demo")


def _canonical(kind: str, rows: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    contract = load_contract(kind)
    mapping = canonical_mapping(f"zeeland-demo_{kind}.csv")
    assert mapping is not None
    cells = [{k: (v if v != "" else None) for k, v in row.items()} for row in rows]  # as the reader does
    source = pl.DataFrame(cells).with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    return apply_mapping(source, mapping, contract, "test.csv"), contract, mapping


def _violations(kind: str, rows: list[dict[str, str]]) -> pl.DataFrame:
    """One file through check_rows, exactly as ingest checks a file on its own."""
    canonical, contract, mapping = _canonical(kind, rows)
    _, violations, _ = check_rows(canonical, contract, mapping, POLICY)
    return violations


def _bad_rows(kind: str, column: str, bad: str) -> list[dict[str, str]]:
    distinct_key = {"salary_scale": "9"} if kind == "salary_scales" else {"employee_id": "000124"}
    return [VALID_ROWS[kind], dict(VALID_ROWS[kind]) | distinct_key | {column: bad}]


@cache
def _batch_violations(kind: str) -> tuple[pl.DataFrame, ...]:
    """Every example file of `kind` (the valid row alone first, then each FAILING case) typed as check_rows
    types them and validated in one GX batch; the violations per file, in that order."""
    files = [[VALID_ROWS[kind]]] + [_bad_rows(k, c, b) for k, c, b, _ in FAILING if k == kind]
    prepared = []
    for rows in files:
        canonical, contract, mapping = _canonical(kind, rows)
        typed, type_violations = type_columns(canonical.frame, contract, mapping)
        prepared.append((canonical, typed, type_violations))
    results = validate_batch([typed for _, typed, _ in prepared], load_contract(kind), POLICY)
    return tuple(
        combine_violations(canonical.violations, type_violations, gx_violations)
        for (canonical, _, type_violations), (gx_violations, _) in zip(prepared, results, strict=True)
    )


# (kind, column, bad text value, rule expected in quarantine)
FAILING = [
    ("evaluations", "rating", "super", "allowed_values"),
    ("evaluations", "gender", "V", "allowed_values"),
    ("evaluations", "fte", "0", "range"),
    ("evaluations", "fte", "1.5", "range"),
    ("evaluations", "birth_year", "1800", "range"),
    ("evaluations", "grade", "11", "range"),
    ("evaluations", "employee_id", "1.23457E+11", "pattern"),
    ("evaluations", "employee_id", "", "required"),
    ("evaluations", "department", "", "required"),
    ("evaluations", "department", "x" * 121, "max_length"),
    ("evaluations", "argument_results", "x" * 4001, "max_length"),  # free text: a suite of its own
    ("evaluations", "cycle", "twenty", "type:integer"),
    ("evaluations", "conversation_date", "31-02-2025", "type:date"),
    ("evaluations", "at_scale_maximum", "misschien", "type:boolean"),
    ("evaluations", "employment_type", "freelance", "allowed_values"),
    ("evaluations", "organization", "Zeeland Demo!", "pattern"),
    ("awards", "award_type", "golden_parachute", "allowed_values"),
    ("awards", "pct", "-3", "range"),
    ("awards", "amount_basis", "cash", "allowed_values"),
    ("payroll", "annual_salary", "-100", "range"),
    ("payroll", "salary_step", "61", "range"),
    ("salary_scales", "point", "middle", "allowed_values"),
    ("salary_scales", "annual_amount", "0", "range"),
]


@pytest.mark.parametrize("kind", KINDS)
def test_valid_row_passes_every_rule(kind: str) -> None:
    assert _batch_violations(kind)[0].height == 0


@pytest.mark.parametrize(("kind", "column", "bad", "rule"), FAILING)
def test_each_rule_fails_its_bad_example(kind: str, column: str, bad: str, rule: str) -> None:
    case = [(k, c, b) for k, c, b, _ in FAILING if k == kind].index((kind, column, bad))
    found = _batch_violations(kind)[1 + case]
    assert found.filter(pl.col("column") == column)["rule"].to_list() == [rule]
    assert found[ROW].to_list() == [3]  # the valid first row (row 2) is untouched


def test_a_file_checked_alone_gives_what_the_batch_gives() -> None:
    """The batch is only a speed-up: one file through check_rows on its own finds the same violations."""
    kind, column, bad, rule = FAILING[0]
    alone = _violations(kind, _bad_rows(kind, column, bad))
    assert alone.filter(pl.col("column") == column)["rule"].to_list() == [rule]
    assert alone.equals(_batch_violations(kind)[1])


def test_duplicate_key_holds_back_every_copy() -> None:
    rows = [VALID_ROWS["evaluations"], VALID_ROWS["evaluations"] | {"rating": "matig"}]
    found = _violations("evaluations", rows)
    assert sorted(found.filter(pl.col("rule") == "duplicate_key")[ROW].to_list()) == [2, 3]


def test_every_contract_rule_is_exercised() -> None:
    """The FAILING table covers every kind of rule the contracts use."""
    rules = {
        rule.rule for kind, contract in all_contracts().items() for rule in contract_rules(contract, POLICY)
    }
    covered = {rule for *_, rule in FAILING} | {"duplicate_key"}
    assert rules <= covered, rules - covered


def test_contract_documents_every_column() -> None:
    for contract in all_contracts().values():
        for column in contract.columns:
            assert column.description and column.pii in {"none", "quasi", "identifier", "free_text"}
        assert contract.keys, contract.table


def test_rating_values_come_from_the_policy() -> None:
    ploeg = policy_for(SETTINGS, "vo-demo")
    row = dict(VALID_ROWS["evaluations"]) | {"organization": "vo-demo", "rating": "normaal"}
    contract = load_contract("evaluations")
    mapping = canonical_mapping("vo-demo_evaluations.csv")
    assert mapping is not None
    source = pl.DataFrame([row]).with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    typed, _ = type_columns(apply_mapping(source, mapping, contract, "t.csv").frame, contract, mapping)
    found, _ = validate(typed, contract, ploeg)
    assert found["rule"].to_list() == ["allowed_values"]  # 'normaal' is Zeeland's, not PLOEG's
