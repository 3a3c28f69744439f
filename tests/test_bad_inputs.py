"""The bad-input corpus (tests/bad_inputs/make_corpus.py): every file gets exactly its expected outcome.

All corpus files are ingested together into one database, as one inbox would be (one GX run per kind); each
file is then checked on its own: a rejection names file, row, column and rule and leaves nothing behind; a
loaded file balances (read = loaded + quarantined), holds back exactly the expected rows with their reasons,
and loads the expected values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from models.config import Settings
from models.contracts import KINDS, load_contract
from models.ingest import FileOutcome, file_sha256, inbox_files, ingest_paths
from models.pseudonym import load_key
from models.warehouse import connect, initialise
from tests.bad_inputs.make_corpus import MAPPINGS, Case, build_cases, corpus_table
from tests.test_ingest import make_settings

CASES = build_cases()


@dataclass
class CorpusRun:
    settings: Settings
    cases: dict[str, Case]
    outcomes: dict[str, FileOutcome]
    con: duckdb.DuckDBPyConnection

    def rows(self, sql: str, params: list[object] | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def sha(self, file_name: str) -> str:
        return file_sha256(self.settings.inbox / file_name)

    def staging_rows(self, sha: str) -> int:
        return sum(
            self.rows(f"SELECT count(*) FROM staging.{kind} WHERE _source_sha256 = ?", [sha])[0][0]
            for kind in KINDS
        )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusRun]:
    settings = make_settings(tmp_path_factory.mktemp("corpus"), MAPPINGS)
    for case in CASES:
        case.write(settings.inbox)
    with connect(settings.database) as con:
        initialise(con)
        outcomes = ingest_paths(con, inbox_files(settings.inbox), settings, load_key())
    reader = duckdb.connect(str(settings.database), read_only=True)
    yield CorpusRun(settings, {c.file_name: c for c in CASES}, {o.file_name: o for o in outcomes}, reader)
    reader.close()


def test_the_corpus_covers_the_hazards() -> None:
    """At least 100 bad files, every kind of outcome, and every hazard of the issues named by some file."""
    assert len(CASES) >= 100
    statuses = {c.expect.status for c in CASES}
    assert {"rejected", "loaded", "loaded_with_quarantine", "already_loaded"} <= statuses
    hazards = " ".join(c.hazard.lower() for c in CASES)
    for word in [
        "empty",
        "header-only",
        "wrong delimiter",
        "missing header",
        "extra",
        "duplicated header",
        "bom",
        "cp1252",
        "utf-16",
        "thousands",
        "impossible dates",
        "serial",
        "1904",
        "scientific notation",
        "leading zeros",
        "policy's scale",
        "duplicate keys",
        "negative",
        "fte 0",
        "repeated mid-file",
        "totaal",
        "merged cells",
        "hidden sheet",
        "quoted newlines",
        "formula",
        "html",
        "very long",
        "nul bytes",
        "truncated",
        # issue 19
        "rows of another",
        "not the rows' cycle",
        "one row pasted in utf-8",
        "decoded twice",
        "symbolic link",
        "named pipe",
        "xfd1048576",
        "zz200000",
        "3 gb",
        "lying zip header",
        "list column",
        "struct column",
        "repeated 60 times",
        "registry number",
        "e-mail address",
        "bank account",
        "jan peeters",
        "longer than 20 characters",
        "without a birth-year",
        "without an employment-type",
        "without an evaluator",
        "any printable text",
    ]:
        assert word in hazards, word
    table = corpus_table(CASES)
    assert table.count("\n") == len(CASES) + 1


@pytest.mark.parametrize("file_name", [c.file_name for c in CASES])
def test_each_bad_file_gets_its_expected_outcome(corpus: CorpusRun, file_name: str) -> None:
    expect = corpus.cases[file_name].expect
    outcome = corpus.outcomes[file_name]
    assert outcome.status == expect.status, outcome.message
    sha = corpus.sha(file_name)
    ledger = corpus.rows(
        """SELECT file_name, status, rows_read, rows_loaded, rows_quarantined, rows_rejected, message, kind
           FROM audit.load_ledger WHERE file_sha256 = ?""",
        [sha],
    )
    quarantined = corpus.rows(
        "SELECT DISTINCT row_number, column_name, rule FROM audit.quarantine WHERE file_sha256 = ?", [sha]
    )
    if expect.status == "rejected":
        message = outcome.message
        assert f"file {file_name}" in message and f"(rule: {expect.rule})" in message, message
        assert expect.says in message, message
        if expect.row is not None:
            assert f"row {expect.row}," in message or f"row {expect.row}:" in message, message
        if expect.column is not None:
            assert f"column '{expect.column}'" in message, message
        assert ledger == [
            (file_name, "rejected", outcome.rows_read, 0, 0, outcome.rows_read, message, ledger[0][7])
        ]
        assert corpus.staging_rows(sha) == 0 and quarantined == []
        return
    if expect.status == "already_loaded":
        # the first copy's ledger row is the only one; its rows are in staging once
        [(first_name, status, _, rows_loaded, *_)] = ledger
        assert first_name != file_name and status.startswith("loaded")
        assert corpus.staging_rows(sha) == rows_loaded > 0
        return
    [(_, status, rows_read, rows_loaded, rows_quarantined, rows_rejected, _, kind)] = ledger
    assert (status, rows_read, rows_rejected) == (expect.status, expect.rows_read, 0)
    assert set(quarantined) == set(expect.quarantined)
    held_back = {row for row, _, _ in quarantined}
    assert rows_quarantined == len(held_back) == outcome.rows_quarantined
    assert rows_loaded + rows_quarantined == rows_read == outcome.rows_read
    loaded_rows = {
        r[0] for r in corpus.rows(f"SELECT _source_row FROM staging.{kind} WHERE _source_sha256 = ?", [sha])
    }
    assert len(loaded_rows) == rows_loaded == corpus.staging_rows(sha)
    assert loaded_rows.isdisjoint(held_back)
    assert loaded_rows | held_back == set(range(2, rows_read + 2))
    contract = load_contract(kind)
    for column, values in expect.values.items():
        assert column in contract.names
        got = corpus.rows(
            f'SELECT "{column}" FROM staging.{kind} WHERE _source_sha256 = ? ORDER BY _source_row', [sha]
        )
        assert tuple(v for (v,) in got) == values, column


def test_every_file_balances_and_nothing_is_loaded_twice(corpus: CorpusRun) -> None:
    ledger = corpus.rows(
        "SELECT file_sha256, rows_read, rows_loaded, rows_quarantined, rows_rejected, status FROM audit.load_ledger"
    )
    assert len(ledger) == len(CASES) - 1  # the second copy of the same bytes has no ledger row of its own
    for sha, read, loaded, quarantined, rejected, status in ledger:
        assert read == loaded + quarantined + rejected
        assert corpus.staging_rows(sha) == (loaded if status != "rejected" else 0)
    orphans = [
        corpus.rows(
            f"""SELECT count(*) FROM staging.{kind} s
                WHERE NOT EXISTS (SELECT 1 FROM audit.load_ledger l
                                  WHERE l.file_sha256 = s._source_sha256 AND l.status LIKE 'loaded%')"""
        )[0][0]
        for kind in KINDS
    ]
    assert orphans == [0, 0, 0, 0]


def test_loaded_text_has_no_replacement_characters_or_mojibake(corpus: CorpusRun) -> None:
    """Decoding is strict: no U+FFFD, no UTF-8-read-as-cp1252 ('Ã«'), no BOM left in any loaded cell."""
    checked = 0
    for kind in KINDS:
        for column in load_contract(kind).columns:
            if column.type != "string":
                continue
            bad = corpus.rows(
                f"""SELECT count(*) FROM staging.{kind}
                    WHERE contains("{column.name}", chr(65533)) OR contains("{column.name}", 'Ã')
                       OR contains("{column.name}", chr(65279))"""
            )
            assert bad == [(0,)], f"{kind}.{column.name}"
            checked += 1
    assert checked > 20
    departments = {r[0] for r in corpus.rows("SELECT DISTINCT department FROM staging.payroll")}
    assert "Financiën" in departments


def test_rejection_messages_and_quarantine_keep_personal_data_out(corpus: CorpusRun) -> None:
    """Messages name file, row, column and rule, never a cell; quarantine keeps pseudonyms, not raw ids or text."""
    for outcome in corpus.outcomes.values():
        for value in ("Fictief", "NL00TEST", "41.000,50", "voorbeeld.invalid", "Financiën"):
            assert value not in outcome.message
    stored = corpus.rows("SELECT column_name, value FROM audit.quarantine WHERE value IS NOT NULL")
    identifiers = {"employee_id", "evaluator_id", "second_evaluator_id", "organization+cycle+employee_id"}
    ids = [v for c, v in stored if c in identifiers]
    assert ids and all(v.startswith("p") and len(v) == 17 for v in ids), ids
    texts = [v for c, v in stored if c == "argumentation"]
    assert sorted(texts) == ["<text, 1000000 characters>", "<text, 4001 characters>"]
    assert max(len(v) for _, v in stored) <= 200
    # the hidden sheet's names and registry number, and the unmapped columns, never reached the database
    everything = " ".join(
        str(row) for kind in KINDS for row in corpus.rows(f"SELECT * FROM staging.{kind}")
    ) + str(corpus.rows("SELECT * FROM audit.quarantine"))
    for value in ("Fictief", "85.07.30-033.61", "NL00TEST", "x@voorbeeld.invalid", "root:x"):
        assert value not in everything


def test_quarantine_withholds_unmapped_and_identifier_like_values(corpus: CorpusRun) -> None:
    """The reason is stored, the value is not: a footer's label in an unmapped column, and a registry number,
    an e-mail address or an IBAN in a column that should not hold one."""
    [(footer_value,)] = corpus.rows(
        "SELECT value FROM audit.quarantine WHERE file_sha256 = ? AND rule = 'footer_row'",
        [corpus.sha("loon_totaal.csv")],
    )
    assert footer_value is None
    withheld = {}
    for name, column in [
        ("beoordeling_rijksregister.csv", "birth_year"),
        ("beoordeling_email_geslacht.csv", "gender"),
        ("loon_iban_fte.csv", "fte"),
    ]:
        [(value,)] = corpus.rows(
            "SELECT value FROM audit.quarantine WHERE file_sha256 = ? AND column_name = ?",
            [corpus.sha(name), column],
        )
        withheld[column] = value
    assert withheld == {
        "birth_year": "<withheld: looks like an identifier, 15 characters>",
        "gender": "<withheld: looks like an identifier, 19 characters>",
        "fte": "<withheld: looks like an identifier, 18 characters>",
    }
    # an ordinary bad value is still shown, so that the analyst can see what went wrong
    shown = corpus.rows(
        "SELECT DISTINCT value FROM audit.quarantine WHERE file_sha256 = ? AND column_name = 'fte'",
        [corpus.sha("loon_enkele_fout.csv")],
    )
    assert shown == [("80%",)]


def test_refused_entries_are_never_opened(corpus: CorpusRun) -> None:
    """A link's target and a pipe are not read: the ledger names them, registers no size of a target, and
    the file behind the link is still there, untouched."""
    for name in ("loon_link.csv", "loon_link_geheim.csv", "loon_pijp.csv"):
        assert corpus.outcomes[name].rows_read == 0
        [(size,)] = corpus.rows(
            "SELECT size_bytes FROM raw.file_registry WHERE file_sha256 = ?", [corpus.sha(name)]
        )
        assert size < 200  # the link or the pipe itself, never the target's bytes
    outside = corpus.settings.inbox.parent / "outside" / "loon_link_geheim.csv"
    assert outside.read_bytes().startswith(b"root:x")


def test_corpus_script_writes_files_and_mappings(tmp_path: Path) -> None:
    from tests.bad_inputs.make_corpus import write_corpus

    cases, inbox, mappings = write_corpus(tmp_path)
    assert sorted(p.name for p in inbox.iterdir()) == sorted(c.file_name for c in cases)
    assert len(list(mappings.glob("*.yaml"))) == len(MAPPINGS)


# The cases of issue 19 that once crashed the process or passed 4 GB, ingested in a child process whose address
# space is capped: a regression ends in MemoryError or a killed child, not in a slow machine.
MEMORY_LIMIT_MB = 3072  # address space: about 1 GB of it is reserved by the imports alone
MEMORY_SCRIPT = """
import json, resource, sys
from pathlib import Path
limit = int(sys.argv[2]) << 20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from models.pseudonym import load_key
from models.ingest import inbox_files, ingest_paths
from models.warehouse import connect, initialise
from tests.test_ingest import make_settings
from tests.bad_inputs import make_corpus as mc

settings = make_settings(Path(sys.argv[1]), mc.MAPPINGS)
header = mc.header_cells(mc.EVALUATION_HEADER)
files = {
    "xlbeoordeling_xfd.xlsx": mc.spreadsheet(mc.sheet_xml([*header, ("XFD1048576", "x")])),
    "xlbeoordeling_zz.xlsx": mc.spreadsheet(mc.sheet_xml([*header, ("ZZ200000", "x")])),
    "xlbeoordeling_boek.xlsx": mc.spreadsheet(
        mc.sheet_xml(header), workbook=(mc.utf8(mc._XLSX_BOOK), 3 << 30)
    ),
    "xlbeoordeling_boek_liegt.xlsx": mc.spreadsheet(
        mc.sheet_xml(header), workbook=(mc.utf8(mc._XLSX_BOOK) + mc.bomb_part(64 << 20), 400)
    ),
}
line = mc.delimited(mc.payroll(2000, 1)[1:]).encode()
repeated = int(sys.argv[3]) << 20
files["loon_herhaald.csv"] = mc.delimited([mc.PAYROLL_HEADER]).encode() + line * (repeated // len(line))
for name, content in files.items():
    (settings.inbox / name).write_bytes(content)
del files
with connect(settings.database) as con:
    initialise(con)
    outcomes = ingest_paths(con, inbox_files(settings.inbox), settings, load_key())
print(json.dumps({
    "outcomes": {o.file_name: [o.status, o.message] for o in outcomes},
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def test_memory_bombs_are_rejected_under_a_memory_limit(tmp_path: Path) -> None:
    """A cell at XFD1048576 or ZZ200000, a workbook part declared at 3 GB or lying about its size, and one
    line repeated over 40 MB: each rejected with its rule inside 3 GB of address space (the first two
    once asked for 17 billion and 140 million cells, the last made GX list every row)."""
    import json
    import subprocess
    import sys

    from models.config import PROJECT_ROOT

    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(tmp_path), str(MEMORY_LIMIT_MB), "40"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    rules = {
        name: (status, message.rsplit("(rule: ", 1)[-1].rstrip(")"))
        for name, (status, message) in report["outcomes"].items()
    }
    assert rules == {
        "xlbeoordeling_xfd.xlsx": ("rejected", "size_limit"),
        "xlbeoordeling_zz.xlsx": ("rejected", "size_limit"),
        "xlbeoordeling_boek.xlsx": ("rejected", "size_limit"),
        "xlbeoordeling_boek_liegt.xlsx": ("rejected", "structure"),
        "loon_herhaald.csv": ("rejected", "bad_row_share"),
    }
    assert report["peak_mb"] < MEMORY_LIMIT_MB
