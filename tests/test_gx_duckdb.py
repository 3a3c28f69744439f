"""Great Expectations on DuckDB: the compiled suite (each contract rule as a GX `UnexpectedRowsExpectation`)
finds exactly the row/rule pairs that the built-in expectations (the specification, on GX's pandas engine)
find; a file with too many bad rows is rejected without fetching all of them; GX's silent failures are
errors."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from benchmarks.gx_builtin import builtin_pairs
from models import validation
from models.config import PROJECT_ROOT, load_settings
from models.contracts import KINDS, Contract, load_contract
from models.errors import FileRejected
from models.mapping import canonical_mapping
from models.parsing import apply_mapping, type_columns
from models.policy import Policy, policy_for
from models.readers import ROW
from models.validation import PART, Rejection, compiled_rules, contract_rules, validate_batch
from tests.canonical_rows import VALID_ROWS

SETTINGS = load_settings(PROJECT_ROOT / "calibra.yaml")
ZEELAND = policy_for(SETTINGS, "zeeland-demo")
PLOEG = policy_for(SETTINGS, "vo-demo")
NAN = math.nan

# Per kind: (column, value) edits, one dirty row each, on top of a valid row. Text values sit on both sides of
# each rule's edge: NULLs (also in key columns), empty text, a trailing newline against an anchored pattern,
# letters outside ASCII, one character over a maximum length (counted in characters, also multi-byte ones),
# bounds met exactly and missed by a little, NaN, and codes in the wrong case.
EDITS: dict[str, list[tuple[str, Any]]] = {
    "evaluations": [
        ("employee_id", None),
        ("employee_id", None),  # a second row with a NULL key: the two are duplicates of each other
        ("employee_id", ""),
        ("employee_id", "abc\n"),
        ("employee_id", "ÄBC123"),
        ("employee_id", "a" * 32),
        ("employee_id", "a" * 33),
        ("employee_id", "-abc"),
        ("employee_id", "1.23457E+11"),
        ("employee_id", "00012 3"),
        ("evaluator_id", None),
        ("second_evaluator_id", "x y"),
        ("organization", "Zeeland-demo"),
        ("organization", None),
        ("cycle", 1999),
        ("cycle", 2100),
        ("cycle", None),
        ("department", None),
        ("department", ""),
        ("department", "é" * 120),
        ("department", "é" * 121),
        ("department", "x" * 121),
        ("department", "e\u0301" * 60),  # 120 characters (code points), 60 letters as displayed
        ("department", "e\u0301" * 60 + "e"),
        ("entity", "👩\u200d👩\u200d👧" * 24),  # 120 characters in 24 family emoji
        ("entity", "👩\u200d👩\u200d👧" * 24 + "!"),
        ("function_level", "S" * 21),
        ("rating", "Normaal"),
        ("rating", " normaal"),
        ("rating", None),
        ("proposed_rating", "super"),
        ("gender", "f"),
        ("gender", None),
        ("employment_type", "freelance"),
        ("fte", 0.0),
        ("fte", 1.0),
        ("fte", 1.0000001),
        ("fte", -0.5),
        ("fte", NAN),
        ("fte", None),
        ("grade", 10.0),
        ("grade", 10.5),
        ("grade", 0.99),
        ("grade", NAN),
        ("birth_year", 1940),
        ("birth_year", 1939),
        ("birth_year", 2011),
        ("salary_decision", 3),
        ("salary_decision", 0),
        ("salary_system", "Evaluatie"),
        ("absence_months", 12.0),
        ("absence_months", 12.01),
        ("months_in_service", -1.0),
        ("appeal_outcome", "lopend "),
        ("argument_results", "y" * 4000),
        ("argument_results", "y" * 4001),
        ("argument_competences", "'; DROP TABLE x; --"),
        ("entity", "{batch}"),
    ],
    "awards": [
        ("award_type", "golden_parachute"),
        ("award_type", None),
        ("pct", -0.0001),
        ("pct", 100.0),
        ("pct", NAN),
        ("amount", 1_000_000.01),
        ("amount_basis", "Bruto"),
        ("group_id", "g" * 61),
        ("duration_months", 121),
        ("move_type", "hoger"),
        ("move_reason", "ander"),
        ("employee_id", None),
        ("argumentation", "z" * 4001),
    ],
    "payroll": [
        ("salary_scale", None),
        ("salary_scale", "9" * 21),
        ("salary_step", 61),
        ("salary_step", 0),
        ("annual_salary", 0.0),
        ("annual_salary", 0.01),
        ("annual_salary", None),
        ("fte", 0.0),
        ("department", "d" * 121),
        ("employee_id", "000124"),  # the valid row's key: a duplicate
    ],
    "salary_scales": [
        ("point", "middle"),
        ("point", None),
        ("step", 61),
        ("annual_amount", 0.0),
        ("salary_scale", None),
        ("salary_scale", "8"),  # duplicates the valid row's key
        ("organization", "zeeland demo"),
    ],
}


def _valid_typed(kind: str, organization: str = "zeeland-demo") -> pl.DataFrame:
    contract = load_contract(kind)
    mapping = canonical_mapping(f"{organization}_{kind}.csv")
    assert mapping is not None
    row = dict(VALID_ROWS[kind]) | {"organization": organization}
    source = pl.DataFrame([row]).with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
    typed, problems = type_columns(apply_mapping(source, mapping, contract, "t.csv").frame, contract, mapping)
    assert problems.height == 0
    return typed


def _dirty(kind: str, edits: list[tuple[str, Any]]) -> pl.DataFrame:
    """The valid row (its key made distinct), then one row per edit, each with a key of its own unless the
    edit is to a key column."""
    base = _valid_typed(kind)
    key_column = "salary_scale" if kind == "salary_scales" else "employee_id"
    rows = [base.row(0, named=True) | {key_column: "800" if kind == "salary_scales" else "000124"}]
    for number, (column, value) in enumerate(edits):
        row = base.row(0, named=True) | {key_column: f"{200000 + number}"}
        row[column] = value
        rows.append(row)
    frame = pl.DataFrame(rows, schema=base.schema, orient="row")
    return frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(ROW))


def _compiled_pairs(frames: list[pl.DataFrame], contract: Contract, policy: Policy) -> pl.DataFrame:
    results = validate_batch(frames, contract, policy)
    parts = []
    for part, result in enumerate(results):
        assert not isinstance(result, Rejection)
        violations, _ = result
        parts.append(violations.select(pl.lit(part, pl.Int32).alias(PART), ROW, "column", "rule"))
    return pl.concat(parts)


def _sorted(pairs: pl.DataFrame) -> list[tuple[Any, ...]]:
    return sorted(pairs.select(PART, ROW, "column", "rule").iter_rows())


@pytest.mark.parametrize("kind", KINDS)
def test_compiled_suite_finds_what_the_builtin_suite_finds(kind: str) -> None:
    contract = load_contract(kind)
    dirty = _dirty(kind, EDITS[kind])
    # The same rows as a second file: keys are unique per file, so its rows duplicate nothing in the first.
    frames = [dirty, dirty.head(5)]
    expected = set(_sorted(builtin_pairs(frames, contract, ZEELAND)))
    found = set(_sorted(_compiled_pairs(frames, contract, ZEELAND)))
    assert len(expected) > len(EDITS[kind]) // 2
    # The one intended difference: Python's `$` (GX pandas) also matches before a final newline, so the
    # specification lets "abc\n" pass an anchored identifier pattern; DuckDB's does not, and holds it back.
    newline = {
        (part, row, column, "pattern")
        for part, frame in enumerate(frames)
        for column in [c.name for c in contract.columns if c.pattern]
        for row in frame.filter(pl.col(column).str.ends_with("\n"))[ROW]
    }
    assert (kind == "evaluations") == bool(newline)
    assert newline.isdisjoint(expected)
    assert found == expected | newline


def test_compiled_suite_follows_the_policy_of_the_file() -> None:
    contract = load_contract("evaluations")
    ploeg_row = _valid_typed("evaluations", "vo-demo")
    frame = pl.concat([ploeg_row.with_columns(pl.lit(code).alias("rating")) for code in ("normaal", "goed")])
    frame = frame.with_columns(
        pl.Series("employee_id", ["1", "2"]), pl.int_range(2, 4, dtype=pl.Int64).alias(ROW)
    )
    assert _sorted(_compiled_pairs([frame], contract, PLOEG)) == _sorted(
        builtin_pairs([frame], contract, PLOEG)
    )


def test_compiled_rules_are_the_specification_in_order() -> None:
    for kind in KINDS:
        contract = load_contract(kind)
        spec = [
            (type(r.expectation).__name__, r.column, r.rule, r.message)
            for r in contract_rules(contract, ZEELAND)
        ]
        compiled = [(r.expectation, r.column, r.rule, r.message) for r in compiled_rules(contract, ZEELAND)]
        assert [c[1:] for c in compiled] == [s[1:] for s in spec]
        single = {
            "ExpectColumnValuesToBeUnique": "ExpectCompoundColumnsToBeUnique"
        }  # the file joins each key
        assert [c[0] for c in compiled] == [single.get(s[0], s[0]) for s in spec]


def test_per_file_counts_are_the_record() -> None:
    contract = load_contract("payroll")
    dirty = _dirty("payroll", EDITS["payroll"])
    [(violations, outcomes)] = validate_batch([dirty], contract, ZEELAND)  # type: ignore[misc]
    counted = {(o.column, o.rule): o.unexpected_count for o in outcomes if not o.success}
    assert counted == {(c, r): n for c, r, n in violations.group_by("column", "rule").len().iter_rows()}
    assert all(o.success == (o.unexpected_count == 0) for o in outcomes)
    assert len(outcomes) == len(compiled_rules(contract, ZEELAND))


def _many(rows: int, bad: int) -> pl.DataFrame:
    """`rows` valid payroll rows of which the first `bad` break two rules (salary_scale missing, step 61)."""
    base = _valid_typed("payroll")
    frame = pl.concat([base] * rows).with_columns(
        pl.int_range(0, rows).cast(pl.String).alias("employee_id"),
        pl.int_range(2, rows + 2, dtype=pl.Int64).alias(ROW),
    )
    broken = pl.int_range(0, rows) < bad
    return frame.with_columns(
        pl.when(broken).then(None).otherwise(pl.col("salary_scale")).alias("salary_scale"),
        pl.when(broken).then(61).otherwise(pl.col("salary_step")).cast(pl.Int64).alias("salary_step"),
    )


def test_a_file_with_too_many_bad_rows_is_rejected_without_fetching_them_all(monkeypatch) -> None:
    contract = load_contract("payroll")
    fetched: list[int] = []
    real_fetch = validation._Validator.fetch

    def counting_fetch(self, definition, query):  # type: ignore[no-untyped-def]
        rows = real_fetch(self, definition, query)
        fetched.append(len(rows))
        return rows

    monkeypatch.setattr(validation._Validator, "fetch", counting_fetch)
    big = _many(60_000, 40_000)  # two thirds of its rows are bad: rejected (limit 30,000, the policy's 50%)
    small = _many(600, 300)  # half its rows are bad, but fewer than 1,000: quarantined row by row
    clean = _many(100_000, 4_000)  # 4% bad: quarantined row by row
    results = validate_batch([big, small, clean], contract, ZEELAND, names=["big.csv", "s.csv", "c.csv"])
    rejected = results[0]
    assert isinstance(rejected, Rejection)
    with pytest.raises(FileRejected) as raised:
        _violations, _outcomes = rejected  # unpacking a rejection raises it, as models.ingest unpacks results
    error = raised.value
    assert error.file_name == "big.csv" and error.rule == "bad_row_share" and error.row == 2
    assert "more than 30,000 of its 60,000 rows" in str(error)
    small_violations, _ = results[1]  # type: ignore[misc]
    clean_violations, _ = results[2]  # type: ignore[misc]
    assert small_violations.height == 600 and clean_violations.height == 8_000
    # no fetch held more than one row past each open file's limit (30,001 + 1,001 + 50,001)
    assert fetched and max(fetched) <= 30_001 + 1_001 + 50_001


def test_a_query_gx_cannot_run_is_an_error_never_a_failed_rule(monkeypatch) -> None:
    """GX reports a query that raised as a failed expectation (GX issues 10738, 11579): it must raise."""
    contract = load_contract("salary_scales")
    broken = [
        validation.CompiledRule(
            "ExpectColumnValuesToNotBeNull",
            "point",
            "required",
            "a value is required",
            "SELECT _part, _uid FROM {batch} WHERE no_such_column IS NULL",
        )
    ]
    monkeypatch.setattr(validation, "compiled_rules", lambda *args, **kwargs: broken)
    with pytest.raises(RuntimeError, match="could not evaluate"):
        validate_batch([_valid_typed("salary_scales")], contract, ZEELAND)


def test_ingest_rejects_a_file_with_too_many_bad_rows_and_loads_the_next(tmp_path) -> None:
    """Through `models.ingest` as it is: the rejected file is in the ledger with one sentence naming file,
    row, column and rule; nothing of it is loaded or quarantined; the other file of the batch loads."""
    from tests.canonical_rows import employees, write_canonical
    from tests.test_ingest import ingest, make_settings, query

    settings = make_settings(tmp_path)
    rows = employees("payroll", 3_000)
    for row in rows[:2_000]:
        row["salary_scale"] = ""  # required
    write_canonical(settings.inbox, "payroll", rows, suffix="_bad")
    write_canonical(settings.inbox, "payroll", employees("payroll", 10), suffix="_good")
    bad, good = ingest(settings)
    assert bad.status == "rejected" and bad.rows_rejected == 3_000
    # one sentence naming the file, the share and the rule (models.ingest's check before GX or the cap in GX)
    assert "zeeland-demo_payroll_bad.csv" in bad.message and "2000 of 3000 rows" in bad.message
    assert bad.message.endswith("(rule: bad_row_share)")
    assert query(settings, "SELECT file_name, status FROM audit.load_ledger ORDER BY 1") == [
        ("zeeland-demo_payroll_bad.csv", "rejected"),
        ("zeeland-demo_payroll_good.csv", "loaded"),
    ]
    assert good.status == "loaded" and good.rows_loaded == 10
    assert query(settings, "SELECT count(*) FROM audit.quarantine") == [(0,)]
    assert query(settings, "SELECT count(*) FROM staging.payroll") == [(10,)]


def test_fetch_gives_the_rows_of_gx_get_unexpected_rows() -> None:
    """calibra fetches failing rows as GX's `get_unexpected_rows` does, only without its progress bar."""
    import great_expectations as gx

    contract = load_contract("payroll")
    rules = compiled_rules(contract, ZEELAND)
    frame = _many(1_000, 300).select(ROW, *contract.names)
    batch = frame.with_columns(pl.lit(0, pl.Int32).alias(PART)).with_row_index(validation.UID).drop(ROW)
    validator = validation._validator()
    with validator.lock, validator.batch(batch):
        definition, _, _ = validator.definition("fetch_parity", rules)
        for rule in rules:
            ours = validator.fetch(definition, rule.query)
            theirs = definition.get_unexpected_rows(
                gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query=rule.query)
            )
            assert sorted(map(tuple, (r.values() for r in ours))) == sorted(
                map(tuple, (r.values() for r in theirs))
            )
            broken = {("salary_scale", "required"), ("salary_step", "range")}
            assert len(ours) == (300 if (rule.column, rule.rule) in broken else 0), rule
