"""Property-based tests (hypothesis): whatever mix of valid and invalid rows an export holds, every row read is
either loaded or quarantined — never both, never neither — and the counts match an independent count made
while writing the file. Plus round trips of the reader and the Dutch number parser.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.contracts import load_contract
from models.ingest import inbox_files, ingest_paths
from models.mapping import Mapping
from models.parsing import type_columns
from models.pseudonym import load_key
from models.readers import _MOJIBAKE, ROW, read_csv_text
from models.warehouse import connect, initialise
from tests.bad_inputs.make_corpus import MAPPINGS, PAYROLL_HEADER
from tests.test_ingest import make_settings

CYCLE = "2024"

# Text that an HR export may hold in a free field: delimiters, quotes, line breaks, accents, formula starts.
# Text that reads as UTF-8 decoded twice ('Ã€' is 'à' read as cp1252) rejects the whole file by design
# (models.readers; the bad-input corpus tests it): the row property is about files that are read.
TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ ë;,\"'\n\r\t=+-@<>/&0123456789Ã€")),
    max_size=40,
).filter(lambda value: not _MOJIBAKE.search(value))


def dutch_number(value: Decimal, thousands: str) -> str:
    """`value` written as a Dutch export would: decimal comma, optional thousands separator."""
    sign = "-" if value < 0 else ""
    whole, _, fraction = f"{abs(value):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + thousands.join(groups) + ("," + fraction if fraction else "")


SALARIES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2)
FTES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1"), places=2)


@dataclass(frozen=True)
class Row:
    cells: dict[str, str]
    invalid: str | None  # why the row must be held back, None for a valid row
    duplicate_of: int | None = None  # copies the employee number of an earlier row


@st.composite
def valid_row(draw: st.DrawFn) -> Row:
    salary = draw(SALARIES)
    return Row(
        {
            "Naam": draw(TEXT),
            "Jaar": CYCLE,
            "Schaal": draw(st.sampled_from(["8", "10", "A111", " 8 "])),
            "Jaarsalaris": dutch_number(salary, draw(st.sampled_from(["", ".", "\u00a0"]))),
            "Deeltijdfactor": dutch_number(draw(FTES), ""),
            "Afdeling": draw(TEXT),
            "IBAN": "NL00TEST0000000001",
        },
        None,
    )


INVALID = {
    "negative_salary": {"Jaarsalaris": "-41.000,00"},
    "zero_salary": {"Jaarsalaris": "0"},
    "salary_too_high": {"Jaarsalaris": "1.000.000,01"},
    "english_number": {"Jaarsalaris": "41,000.50"},
    "fte_zero": {"Deeltijdfactor": "0"},
    "fte_above_one": {"Deeltijdfactor": "1,01"},
    "fte_percentage": {"Deeltijdfactor": "80%"},
    "missing_scale": {"Schaal": ""},
    "missing_cycle": {"Jaar": " "},
    "cycle_fraction": {"Jaar": "2024,5"},
    "long_department": {"Afdeling": "x" * 121},
    "excel_error": {"Jaarsalaris": "#WAARDE!"},
}


@st.composite
def invalid_row(draw: st.DrawFn) -> Row:
    base = draw(valid_row())
    reason = draw(st.sampled_from(sorted(INVALID)))
    return Row(base.cells | INVALID[reason], reason)


@st.composite
def exports(draw: st.DrawFn) -> list[Row]:
    rows = draw(st.lists(st.one_of(valid_row(), invalid_row()), min_size=0, max_size=25))
    # Some rows repeat an earlier employee number (both copies must be held back) or an id is mangled.
    result: list[Row] = []
    for index, row in enumerate(rows):
        twist = draw(st.sampled_from(["none"] * 6 + ["duplicate", "scientific"])) if index else "none"
        if twist == "duplicate":
            row = Row(row.cells, row.invalid, duplicate_of=draw(st.integers(0, index - 1)))
        elif twist == "scientific":
            row = Row(row.cells | {"Medewerkernr": "1,23457E+11"}, "scientific_id")
        result.append(row)
    return result


def write_export(rows: list[Row], path: Path) -> tuple[int, set[int]]:
    """Write the file; return the independent count of data rows and the row numbers that must be held back."""
    ids = [f"{index + 1:06d}" for index in range(len(rows))]
    for index, row in enumerate(rows):
        if row.duplicate_of is not None:
            ids[index] = ids[row.duplicate_of]
    table = [PAYROLL_HEADER]
    for index, row in enumerate(rows):
        cells = {"Medewerkernr": ids[index]} | row.cells
        table.append([cells[h] for h in PAYROLL_HEADER])
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(table)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    # The contract's key is (organization, cycle, employee_id): rows whose cycle cannot be read do not take
    # part in it, rows with a mangled id carry another id.
    in_key = [
        row.cells.get("Medewerkernr") is None and row.invalid not in {"missing_cycle", "cycle_fraction"}
        for row in rows
    ]
    counts: dict[str, int] = {}
    for index, taking_part in enumerate(in_key):
        if taking_part:
            counts[ids[index]] = counts.get(ids[index], 0) + 1
    held_back = {
        index + 2
        for index, row in enumerate(rows)
        if row.invalid is not None or (in_key[index] and counts[ids[index]] > 1)
    }
    return len(rows), held_back


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rows=exports())
def test_every_row_read_is_loaded_or_quarantined_never_both(rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        home = make_settings(Path(folder), MAPPINGS)
        written, must_hold_back = write_export(rows, home.inbox / "loon_eigenschap.csv")
        with connect(home.database) as con:
            initialise(con)
            [outcome] = ingest_paths(con, inbox_files(home.inbox), home, load_key())
        con = duckdb.connect(str(home.database), read_only=True)
        try:
            ledger = con.execute(
                "SELECT rows_read, rows_loaded, rows_quarantined, rows_rejected FROM audit.load_ledger"
            ).fetchall()
            loaded = [r[0] for r in con.execute("SELECT _source_row FROM staging.payroll").fetchall()]
            quarantined = {r[0] for r in con.execute("SELECT row_number FROM audit.quarantine").fetchall()}
        finally:
            con.close()
    assert outcome.status != "rejected", outcome.message
    assert ledger == [(written, written - len(must_hold_back), len(must_hold_back), 0)]
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == ledger[0][:3]
    assert len(loaded) == len(set(loaded)) == written - len(must_hold_back)
    assert set(loaded).isdisjoint(quarantined)
    assert quarantined == must_hold_back
    assert set(loaded) | quarantined == set(range(2, written + 2))


@settings(max_examples=150, deadline=None, database=None)
@given(cells=st.lists(st.lists(TEXT, min_size=3, max_size=3), min_size=1, max_size=8))
def test_reader_returns_every_cell_as_written(cells: list[list[str]]) -> None:
    """Quotes, delimiters and line breaks inside cells survive; only surrounding whitespace is trimmed."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows([["a", "b", "c"], *cells])
    frame = read_csv_text(buffer.getvalue(), ";", "eigenschap.csv")
    assert frame.height == len(cells)
    assert [list(row) for row in frame.rows()] == [[c if c != "" else None for c in row] for row in cells]


PAYROLL = load_contract("payroll")
DUTCH = Mapping(id="t", kind="payroll", match=("*",), delimiter=";", decimal=",", thousands=".")


@settings(max_examples=200, deadline=None, database=None)
@given(
    value=st.decimals(min_value=Decimal("-9999999.99"), max_value=Decimal("9999999.99"), places=2),
    separator=st.sampled_from(["", ".", "\u00a0", "\u202f"]),
)
def test_dutch_numbers_are_read_exactly_or_not_at_all(value: Decimal, separator: str) -> None:
    text = dutch_number(value, separator)
    frame = pl.DataFrame({ROW: [2], **{c: [None] for c in PAYROLL.names}}, schema_overrides={ROW: pl.Int64})
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in PAYROLL.names)
    frame = frame.with_columns(pl.lit(text).alias("annual_salary"))
    typed, violations = type_columns(frame, PAYROLL, DUTCH)
    assert violations.filter(pl.col("column") == "annual_salary").height == 0, text
    assert typed.get_column("annual_salary")[0] == float(value)
    # the same number in English notation ('1,234.56') is held back, never read as another number
    english = f"{value:,.2f}"
    typed, violations = type_columns(
        frame.with_columns(pl.lit(english).alias("annual_salary")), PAYROLL, DUTCH
    )
    assert violations.filter(pl.col("column") == "annual_salary").get_column("rule").to_list() == [
        "type:decimal"
    ], english
    assert typed.get_column("annual_salary")[0] is None
