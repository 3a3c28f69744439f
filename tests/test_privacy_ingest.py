"""Privacy at ingest: only what the contracts allow reaches DuckDB; identifiers are keyed hashes whose key lives
elsewhere; no raw identifier, name, national registry number, e-mail address or bank account from an export
shows up in the database, the site, the run's output or Dagster's event log; the files are the owner's only.

The exports here use distinctive values (ids like QX7731A07, names like 'Xylofoon Quist'), so that a hit in a
scan is a leak, not a coincidence. Two `calibra run`s go through the real CLI: one that loads (with
quarantined rows) and publishes, and one that rejects a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from models.config import PROJECT_ROOT
from models.contracts import KINDS, LINEAGE_COLUMNS, load_contract
from models.pseudonym import default_key_file, load_key, pseudonymise_value
from tests.bad_inputs.make_corpus import EVALUATION_HEADER, MAPPINGS, PAYROLL_HEADER
from tests.test_ingest import make_settings

ORG = "zeeland-demo"
PEOPLE = 30
IDS = [f"QX7731A{i:02d}" for i in range(1, PEOPLE + 1)]
EVALUATORS = ["QXM9901", "QXM9902"]
BAD_ID = "7.77319E+11"  # an id in scientific notation: quarantined, and stored only as a pseudonym
EXTRA_ID = "QX7731A77"  # a row with a rating off the scale: quarantined
REJECTED_IDS = [f"QX7731B{i:02d}" for i in range(1, 4)]
PII_HEADERS = ["Naam", "Rijksregisternummer", "E-mail", "IBAN", "Telefoon"]


def pii(i: int) -> dict[str, str]:
    return {
        "Naam": f"Xylofoon Quist {i:02d}",
        "Rijksregisternummer": f"93.11.{i:02d}-417.{i:02d}",
        "E-mail": f"xylofoon.quist{i:02d}@voorbeeld.invalid",
        "IBAN": f"NL69QXBK00000000{i:02d}",
        "Telefoon": f"+31 6 7731 00{i:02d}",
    }


def forbidden() -> list[str]:
    """Every raw identifier and personal value written to the inbox."""
    values = [*IDS, *EVALUATORS, BAD_ID, EXTRA_ID, *REJECTED_IDS]
    for i in range(1, PEOPLE + 1):
        values += pii(i).values()
    return values


def table(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def evaluation_export(ids: list[str], cycle: int, extra_bad_rows: bool) -> bytes:
    header = [*EVALUATION_HEADER, *PII_HEADERS]
    rows = [header]
    ratings = ["Normaal", "Normaal", "Zeer goed", "Matig", "Normaal", "Slecht"]
    for i, person in enumerate(ids, start=1):
        cells = {
            "Medewerkernr": person,
            "Jaar": str(cycle),
            "Afdeling": ["Financiën", "Wegen en water", "Natuur"][i % 3],
            "Schaal": ["S08", "S10"][i % 2],
            "Leidinggevende": EVALUATORS[i % 2],
            "Beoordeling": ratings[i % len(ratings)],
            "Geslacht": ["Vrouw", "Man"][i % 2],
            "Geboortejaar": str(1965 + i),
            "Deeltijdfactor": ["1", "0,8"][i % 2],
            "Dienstverband": "Vast",
            "Datum in dienst": "",
            "Datum jaargesprek": f"{(i % 27) + 1:02d}-02-{cycle + 1}",
            "Op schaalmaximum": "nee",
        } | pii(i)
        rows.append([cells[h] for h in header])
    if extra_bad_rows:
        duplicate = list(rows[5])  # the same employee twice: both copies held back
        rows.append(duplicate)
        bad_rating = list(rows[6])
        bad_rating[0], bad_rating[header.index("Beoordeling")] = EXTRA_ID, "fantastisch"
        rows.append(bad_rating)
        bad_id = list(rows[7])
        bad_id[0] = BAD_ID
        rows.append(bad_id)
    return table(rows)


def payroll_export(ids: list[str], cycle: int) -> bytes:
    header = [*PAYROLL_HEADER, "Rijksregisternummer", "E-mail"]
    rows = [header]
    for i, person in enumerate(ids, start=1):
        cells = {
            "Medewerkernr": person,
            "Jaar": str(cycle),
            "Schaal": ["8", "10"][i % 2],
            "Jaarsalaris": f"{38 + i}.{i * 7 % 1000:03d},00",
            "Deeltijdfactor": ["1", "0,8"][i % 2],
            "Afdeling": ["Financiën", "Wegen en water", "Natuur"][i % 3],
        } | pii(i)
        rows.append([cells[h] for h in header])
    return table(rows)


@dataclass
class Published:
    home: Path
    site: Path
    dagster_home: Path
    database: Path
    outputs: list[str]  # stdout and stderr of every run
    codes: list[int]


def calibra_run(config: Path, home: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(CALIBRA_CONFIG=str(config), CALIBRA_HOME=str(home), CALIBRA_SITE=str(site))
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    root = tmp_path_factory.mktemp("privacy")
    settings = make_settings(root, MAPPINGS)
    site = root / "site"
    (settings.inbox / "beoordeling_2024.csv").write_bytes(evaluation_export(IDS, 2024, extra_bad_rows=True))
    (settings.inbox / "loon_2024.csv").write_bytes(payroll_export(IDS, 2024))
    first = calibra_run(settings.config_path, settings.home, site)
    # a second run meets a file that is rejected whole: its ids must not leak through the rejection either
    rejected = evaluation_export(REJECTED_IDS, 2023, extra_bad_rows=False).replace(b"Jaar;", b"Jaar;Jaar;", 1)
    (settings.inbox / "beoordeling_2023.csv").write_bytes(rejected)
    second = calibra_run(settings.config_path, settings.home, site)
    return Published(
        home=settings.home,
        site=site,
        dagster_home=settings.home / "dagster",
        database=settings.database,
        outputs=[first.stdout, first.stderr, second.stdout, second.stderr],
        codes=[first.returncode, second.returncode],
    )


def leaks(text: str, values: list[str]) -> list[str]:
    return [value for value in values if value in text]


def all_cells(database: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Every row of every table as text (nested values included), and every table's column names."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        cells, columns = [], {}
        for schema, name in tables:
            qualified = f'"{schema}"."{name}"'
            cells += [
                row[0] for row in con.execute(f"SELECT CAST(t AS VARCHAR) FROM {qualified} AS t").fetchall()
            ]
            columns[f"{schema}.{name}"] = [
                row[0]
                for row in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
                    [schema, name],
                ).fetchall()
            ]
        return cells, columns
    finally:
        con.close()


def test_the_runs_did_what_the_scans_rely_on(published: Published) -> None:
    """The first run loaded, quarantined and published; the second rejected a file (blocking check)."""
    assert published.codes[0] == 0, published.outputs[1]
    assert published.codes[1] != 0 and "beoordeling_2023.csv" in published.outputs[2] + published.outputs[3]
    con = duckdb.connect(str(published.database), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM staging.evaluations").fetchall()[0][0] == PEOPLE - 1
        assert con.execute("SELECT count(*) FROM audit.quarantine").fetchall()[0][0] >= 4
        assert (
            con.execute("SELECT count(*) FROM audit.load_ledger WHERE status = 'rejected'").fetchall()[0][0]
            == 1
        )
        assert (
            con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()[0][0]
            > 0
        )
    finally:
        con.close()
    assert (published.site / "organisatie" / "index.html").exists()
    assert any(published.dagster_home.rglob("*.db")), "Dagster's event log is stored in sqlite files"
    # the scans below look for values that really were in the inbox
    # (the rejected file was moved to rejected/ beside the inbox, with a note that holds no value)
    rejected = published.home / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == [
        "beoordeling_2023.csv",
        "beoordeling_2023.csv.reason.txt",
    ]
    assert (
        leaks((rejected / "beoordeling_2023.csv.reason.txt").read_text(encoding="utf-8"), forbidden()) == []
    )
    exports = [*(published.home / "inbox").iterdir(), rejected / "beoordeling_2023.csv"]
    inbox = b"".join(p.read_bytes() for p in exports).decode("utf-8")
    assert leaks(inbox, forbidden()) == forbidden()


def test_only_contract_columns_reach_duckdb(published: Published) -> None:
    cells, columns = all_cells(published.database)
    for kind in KINDS:
        assert columns[f"staging.{kind}"] == [*load_contract(kind).names, *LINEAGE_COLUMNS]
    assert [t for t in columns if t.startswith("raw.")] == ["raw.file_registry"]
    personal = re.compile(
        r"naam|e_?mail|iban|rijksregister|registry|national|telefoon|phone|bank", re.IGNORECASE
    )
    named = [f"{t}.{c}" for t, cs in columns.items() for c in cs if personal.search(c)]
    assert named == []
    assert cells  # the scan below looked at something


def test_no_raw_identifier_or_personal_value_in_the_database(published: Published) -> None:
    cells, columns = all_cells(published.database)
    text = "\n".join(cells)
    assert leaks(text, forbidden()) == []
    assert leaks(" ".join(c for cs in columns.values() for c in cs), forbidden()) == []
    # the same in the bytes of the files, in case anything sits outside the tables
    for path in published.home.glob("calibra.duckdb*"):
        data = path.read_bytes()
        assert [v for v in forbidden() if v.encode() in data] == [], path.name
    # the identifiers that are there are keyed hashes of the raw ones
    con = duckdb.connect(str(published.database), read_only=True)
    try:
        stored = {r[0] for r in con.execute("SELECT employee_id FROM staging.evaluations").fetchall()}
        quarantined = {
            r[0]
            for r in con.execute(
                "SELECT value FROM audit.quarantine WHERE column_name LIKE '%employee_id'"
            ).fetchall()
        }
    finally:
        con.close()
    key = load_key()
    # every employee but the one listed twice (both copies held back) is loaded, as its keyed hash
    assert stored == {pseudonymise_value(key, ORG, raw) for raw in IDS if raw != IDS[4]}
    assert {pseudonymise_value(key, ORG, raw) for raw in (IDS[4], BAD_ID)} <= quarantined
    other_key = bytes(reversed(key))
    assert not stored & {pseudonymise_value(other_key, ORG, raw) for raw in IDS}
    unkeyed = {hashlib.sha256(raw.encode()).hexdigest()[:16] for raw in IDS}
    assert not {s[1:] for s in stored} & unkeyed


def test_no_raw_identifier_in_the_site_output_or_dagster_event_log(published: Published) -> None:
    pages = [p for p in published.site.rglob("*") if p.is_file()]
    assert pages
    for page in pages:
        data = page.read_bytes()
        assert [v for v in forbidden() if v.encode() in data] == [], page.name
    storage = [p for p in published.dagster_home.rglob("*") if p.is_file()]
    assert storage
    # and anything else calibra wrote beside the inbox (exports, locks, logs); rejected/ holds raw exports
    # set aside, like the inbox (its notes are checked for values above)
    raw = {"inbox", "rejected"}
    # packs/ holds the meeting audience's packs, which show employee numbers to the meeting by design
    # (docs/privacy.md): owner-only, and never anything else's output
    packs = published.home / "packs"
    for path in [packs, *packs.rglob("*")] if packs.exists() else []:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    written = [
        p
        for p in published.home.rglob("*")
        if p.is_file() and not (raw | {"packs"}) & set(p.relative_to(published.home).parts)
    ]
    for path in [*storage, *written]:
        data = path.read_bytes()
        assert [v for v in forbidden() if v.encode() in data] == [], path
    for output in published.outputs:
        assert leaks(output, forbidden()) == []


def test_the_management_pack_names_the_evaluators_that_nothing_else_does(published: Published) -> None:
    """The norming review's management pack (pipelines/packs.py) shows both evaluators by the number in the
    export, owner-only; the scans above find them in no other file, output or event log."""
    pack = published.home / "packs" / ORG / "2024" / "management" / "norming.html"
    html = pack.read_text(encoding="utf-8")
    assert [e for e in EVALUATORS if e in html] == EVALUATORS
    assert stat.S_IMODE(pack.stat().st_mode) == 0o600
    site_page = (published.site / "management" / ORG / "2024" / "norming.html").read_text(encoding="utf-8")
    assert (
        leaks(site_page, EVALUATORS) == [] and pseudonymise_value(load_key(), ORG, EVALUATORS[0]) in site_page
    )


def test_the_key_lives_apart_and_every_file_is_the_owners(published: Published) -> None:
    key_file = default_key_file()
    key_hex = load_key().hex()
    assert key_file.exists() and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    for folder in (PROJECT_ROOT, published.home, published.site):
        assert folder.resolve() not in key_file.resolve().parents
    # without CALIBRA_KEY_FILE the key goes to the user's config folder, never into the repository
    saved = os.environ.pop("CALIBRA_KEY_FILE")
    try:
        assert PROJECT_ROOT not in default_key_file().resolve().parents
    finally:
        os.environ["CALIBRA_KEY_FILE"] = saved
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout
    assert not [name for name in tracked.splitlines() if name.endswith(".key")]
    # the key itself is nowhere in the database, the site, the event log or the output
    for path in [*published.home.rglob("*"), *published.site.rglob("*")]:
        if path.is_file():
            assert key_hex.encode() not in path.read_bytes(), path
    assert all(key_hex not in output for output in published.outputs)
    for path in published.home.glob("calibra.duckdb*"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path.name
    # the site (pseudonymised individual cases), the inbox, rejected/ and Dagster's storage: owner-only
    for folder in (
        published.site,
        published.home / "inbox",
        published.home / "rejected",
        published.dagster_home,
    ):
        for path in [folder, *folder.rglob("*")]:
            assert stat.S_IMODE(path.lstat().st_mode) & 0o077 == 0, path
