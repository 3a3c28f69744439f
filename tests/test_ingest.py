"""Ingest: ledger balance, idempotency, supersede, all-or-nothing rejection, encodings, Dutch numbers, privacy."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb
import pytest
import yaml

from models.config import PROJECT_ROOT, Settings, load_settings
from models.ingest import FileOutcome, inbox_files, ingest_paths
from models.pseudonym import load_key
from models.warehouse import connect, initialise
from tests.canonical_rows import employees, write_canonical

DUTCH_MAPPING = {
    "id": "test_hr_awards",
    "kind": "awards",
    "match": ["hr_beloningen*.csv"],
    "format": "csv",
    "encoding": "cp1252",
    "delimiter": ";",
    "decimal": ",",
    "thousands": ".",
    "date_format": "%d-%m-%Y",
    "constants": {"organization": "zeeland-demo"},
    "columns": {
        "Jaar": "cycle",
        "Medewerker": "employee_id",
        "Soort": "award_type",
        "Percentage": "pct",
        "Bedrag": "amount",
        "Ingangsdatum": "start_date",
        "Motivering": "argumentation",
    },
    "values": {"award_type": {"Output": "output_bonus", "Groep": "group_reward"}},
}


def make_settings(tmp_path: Path, mappings: list[dict] | None = None) -> Settings:
    """A calibra home with the project's organisations and, optionally, extra mapping profiles."""
    config_dir = tmp_path / "config"
    (config_dir / "mappings").mkdir(parents=True)
    for mapping in mappings or []:
        (config_dir / "mappings" / f"{mapping['id']}.yaml").write_text(
            yaml.safe_dump(mapping), encoding="utf-8"
        )
    project = yaml.safe_load((PROJECT_ROOT / "calibra.yaml").read_text(encoding="utf-8"))
    for org in project["organizations"].values():
        org["policy"] = str(PROJECT_ROOT / org["policy"])
    config = {
        "home": str(tmp_path / "home"),
        "mappings": ["mappings"],
        "organizations": project["organizations"],
    }
    (config_dir / "calibra.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    settings = load_settings(config_dir / "calibra.yaml", home=tmp_path / "home")
    settings.inbox.mkdir(parents=True)
    return settings


def ingest(settings: Settings) -> list[FileOutcome]:
    with connect(settings.database) as con:
        initialise(con)
        return ingest_paths(con, inbox_files(settings.inbox), settings, load_key())


def query(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect(str(settings.database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def database_state(settings: Settings) -> dict[str, list[tuple]]:
    tables = ["staging.evaluations", "staging.awards", "staging.payroll", "audit.quarantine"]
    return {
        t: sorted(query(settings, f"SELECT * EXCLUDE (_source_sha256) FROM {t}"))
        if t.startswith("staging")
        else sorted(query(settings, f"SELECT row_number, column_name, rule FROM {t}"))
        for t in tables
    }


def test_ledger_balances_and_bad_rows_are_quarantined(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    rows = employees("evaluations", 6)
    rows[1]["rating"] = "fantastisch"
    rows[2]["fte"] = "0"
    rows[3]["employee_id"] = "1.23457E+11"
    write_canonical(settings.inbox, "evaluations", rows)
    [outcome] = ingest(settings)
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (6, 3, 3)
    ledger = query(
        settings,
        "SELECT rows_read, rows_loaded, rows_quarantined, rows_rejected, status FROM audit.load_ledger",
    )
    assert ledger == [(6, 3, 3, 0, "loaded_with_quarantine")]
    assert query(settings, "SELECT count(*) FROM staging.evaluations") == [(3,)]
    reasons = query(
        settings, "SELECT row_number, column_name, rule FROM audit.quarantine ORDER BY row_number"
    )
    assert reasons == [(3, "rating", "allowed_values"), (4, "fte", "range"), (5, "employee_id", "pattern")]
    # no row is both loaded and quarantined
    loaded_rows = {r[0] for r in query(settings, "SELECT _source_row FROM staging.evaluations")}
    assert loaded_rows.isdisjoint({3, 4, 5}) and loaded_rows == {2, 6, 7}


def test_same_file_twice_changes_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_canonical(settings.inbox, "evaluations", employees("evaluations", 4))
    ingest(settings)
    before = database_state(settings)
    [again] = ingest(settings)
    assert again.status == "already_loaded"
    assert database_state(settings) == before
    assert query(settings, "SELECT count(*) FROM audit.load_ledger") == [(1,)]


def test_the_great_expectations_import_never_outlives_the_ingest(tmp_path: Path, monkeypatch) -> None:
    """The GX import runs in a background thread while files are read. A half-finished import is visible to
    other threads, and Dagster's event storage once failed on a half-imported `sqlalchemy.orm` after a run
    with nothing new returned while the import went on: the thread must be joined before ingest returns, and
    a run with nothing new to validate must not start it at all."""
    import threading
    import time

    import models.validation as validation

    started: list[str] = []
    real_context = validation._make_context

    def slow_context():  # an import that takes a while, as the first one in a process does
        started.append(threading.current_thread().name)
        time.sleep(0.5)
        return real_context()

    monkeypatch.setattr(validation, "_make_context", slow_context)

    def warm_up_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "gx-warm-up"]

    settings = make_settings(tmp_path)
    write_canonical(settings.inbox, "evaluations", employees("evaluations", 4))
    [first] = ingest(settings)
    assert first.status == "loaded" and warm_up_threads() == []
    assert "gx-warm-up" in started
    started.clear()
    [again] = ingest(settings)
    assert again.status == "already_loaded" and warm_up_threads() == []
    assert started == []  # nothing new: Great Expectations is not needed


def test_corrected_export_supersedes_the_earlier_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_canonical(settings.inbox, "evaluations", employees("evaluations", 5), suffix="_v1")
    ingest(settings)
    corrected = employees("evaluations", 3, rating="zeer_goed")
    write_canonical(settings.inbox, "evaluations", corrected, suffix="_v2")
    outcomes = ingest(settings)
    assert [o.status for o in outcomes] == ["already_loaded", "loaded"]
    assert query(settings, "SELECT rating, count(*) FROM staging.evaluations GROUP BY 1") == [
        ("zeer_goed", 3)
    ]
    statuses = query(settings, "SELECT file_name, status FROM audit.load_ledger ORDER BY file_name")
    assert statuses == [
        ("zeeland-demo_evaluations_v1.csv", "superseded"),
        ("zeeland-demo_evaluations_v2.csv", "loaded"),
    ]


def test_rejected_file_leaves_the_database_unchanged(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_canonical(settings.inbox, "evaluations", employees("evaluations", 3))
    ingest(settings)
    before = database_state(settings)
    # a semicolon file read as canonical (comma) has no recognisable columns: rejected whole
    bad = settings.inbox / "zeeland-demo_payroll_2024.csv"
    bad.write_text(
        "organization;cycle;employee_id;salary_scale;annual_salary;fte\nzeeland-demo;2024;1;8;1;1\n"
    )
    outcomes = ingest(settings)
    rejected = [o for o in outcomes if o.status == "rejected"]
    assert len(rejected) == 1
    assert (
        "zeeland-demo_payroll_2024.csv" in rejected[0].message
        and "column 'organization'" in rejected[0].message
    )
    assert database_state(settings) == before
    ledger = query(
        settings,
        "SELECT rows_read, rows_loaded, rows_quarantined, rows_rejected, status FROM audit.load_ledger WHERE status = 'rejected'",
    )
    assert ledger == [(1, 0, 0, 1, "rejected")]


def test_dutch_export_cp1252_decimal_comma_and_codes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, [DUTCH_MAPPING])
    text = (
        "Jaar;Medewerker;Soort;Percentage;Bedrag;Ingangsdatum;Motivering;Naam;IBAN\n"
        "2024;000123;Output;7;;01-05-2025;Uitstekende bijdrage aan één team;Jansen;NL91ABNA0417164300\n"
        "2024;000124;Groep;;1.234,56;01-05-2025;Café-project;de Vries;NL91ABNA0417164301\n"
        "2024;000125;Groep;;1234,5;01-05-2025;Groep;Bakker;NL91ABNA0417164302\n"
        "2024;000126;Groep;;1.23,4;01-05-2025;Groep;Smit;NL91ABNA0417164303\n"
    )
    (settings.inbox / "hr_beloningen_2024.csv").write_bytes(text.encode("cp1252"))
    [outcome] = ingest(settings)
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (3, 1)
    amounts = query(
        settings,
        "SELECT award_type, pct, amount, start_date::VARCHAR, argumentation FROM staging.awards ORDER BY amount NULLS FIRST",
    )
    assert amounts[0] == ("output_bonus", 7.0, None, "2025-05-01", "Uitstekende bijdrage aan één team")
    assert [a[2] for a in amounts[1:]] == [1234.5, 1234.56]
    assert query(settings, "SELECT column_name, rule FROM audit.quarantine") == [("amount", "type:decimal")]
    # unmapped columns (names, bank accounts) never reach the database
    everything = str(query(settings, "SELECT * FROM staging.awards")) + str(
        query(settings, "SELECT * FROM audit.quarantine")
    )
    assert "Jansen" not in everything and "NL91ABNA" not in everything
    assert query(settings, "SELECT dropped_columns FROM audit.load_ledger") == [(2,)]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_bom_and_utf16_are_decoded(tmp_path: Path, encoding: str) -> None:
    settings = make_settings(tmp_path)
    path = write_canonical(settings.inbox, "evaluations", employees("evaluations", 2, department="Économie"))
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    [outcome] = ingest(settings)
    assert outcome.rows_loaded == 2, outcome.message
    assert query(settings, "SELECT DISTINCT department FROM staging.evaluations") == [("Économie",)]


def test_wrong_encoding_is_rejected_not_replaced(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    path = write_canonical(settings.inbox, "evaluations", employees("evaluations", 2, department="Économie"))
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))  # canonical files must be UTF-8
    [outcome] = ingest(settings)
    assert outcome.status == "rejected" and "not valid utf-8" in outcome.message
    assert query(settings, "SELECT count(*) FROM staging.evaluations") == [(0,)]


def test_identifiers_are_pseudonymised_with_a_secret_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_canonical(settings.inbox, "evaluations", employees("evaluations", 3))
    ingest(settings)
    ids = query(settings, "SELECT employee_id, evaluator_id FROM staging.evaluations")
    raw = {"100000", "100001", "100002", "000900"}
    assert not raw & {value for row in ids for value in row}
    assert all(value.startswith("p") and len(value) == 17 for row in ids for value in row)
    # the database and the key are readable by their owner only; the key is not inside the home
    assert stat.S_IMODE(os.stat(settings.database).st_mode) == 0o600
    key_file = Path(os.environ["CALIBRA_KEY_FILE"])
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert settings.home not in key_file.parents


def test_file_with_two_cycles_is_rejected(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    rows = employees("evaluations", 4)
    rows[3]["cycle"] = "2023"
    write_canonical(settings.inbox, "evaluations", rows)
    [outcome] = ingest(settings)
    assert outcome.status == "rejected" and "one cycle" in outcome.message


def test_validating_in_bounded_batches_changes_no_outcome(tmp_path: Path, monkeypatch) -> None:
    """Files are validated and loaded in batches of about BATCH_ROWS rows (bounded memory); one file per
    batch must give exactly the outcomes, rows, quarantine and supersessions of one batch for everything."""
    import models.ingest

    def fill(settings: Settings) -> None:
        first = employees("evaluations", 5)
        first[1]["rating"] = "fantastisch"
        write_canonical(settings.inbox, "evaluations", first, suffix="_v1")
        write_canonical(
            settings.inbox, "evaluations", employees("evaluations", 3, rating="zeer_goed"), suffix="_v2"
        )
        awards = employees("awards", 4)
        awards[2]["employee_id"] = "1.23457E+11"
        write_canonical(settings.inbox, "awards", awards)
        (settings.inbox / "unknown_export.csv").write_text("a;b\n1;2\n", encoding="utf-8")

    def run(folder: Path) -> tuple[list[tuple], dict[str, list[tuple]], list[tuple]]:
        settings = make_settings(folder)
        fill(settings)
        outcomes = ingest(settings)
        ledger = query(
            settings,
            "SELECT file_name, status, rows_read, rows_loaded, rows_quarantined, rows_rejected "
            "FROM audit.load_ledger ORDER BY file_name",
        )
        return [(o.file_name, o.status, o.rows_loaded) for o in outcomes], database_state(settings), ledger

    together = run(tmp_path / "together")
    monkeypatch.setattr(models.ingest, "BATCH_ROWS", 1)
    one_by_one = run(tmp_path / "one_by_one")
    assert one_by_one == together
    assert {row[1] for row in together[2]} == {"loaded_with_quarantine", "superseded", "loaded", "rejected"}


def test_cached_pseudonyms_equal_the_keyed_hash() -> None:
    """The per-process pseudonym cache and the per-column lookups give exactly pseudonymise_value."""
    import polars as pl

    from models.pseudonym import pseudonymise_columns, pseudonymise_value

    key = os.urandom(32)
    frame = pl.DataFrame(
        {
            "organization": ["a", "a", "a", "a"],
            "employee_id": ["001", "002", None, "001"],
            "evaluator_id": ["002", None, "003", "009"],
        }
    )
    mixed = pl.DataFrame({"organization": ["a", "b", "b", None], "employee_id": ["001", "001", "7", "8"]})
    for _ in range(2):  # the second time from the cache
        out = pseudonymise_columns(frame, ["employee_id", "evaluator_id"], key)
        assert out.columns == frame.columns
        for column in ("employee_id", "evaluator_id"):
            assert out[column].to_list() == [
                None if v is None else pseudonymise_value(key, "a", v) for v in frame[column]
            ]
        out = pseudonymise_columns(mixed, ["employee_id"], key)
        assert out["employee_id"].to_list() == [
            pseudonymise_value(key, "a", "001"),
            pseudonymise_value(key, "b", "001"),
            pseudonymise_value(key, "b", "7"),
            None,
        ]
