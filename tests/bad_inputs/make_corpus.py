"""The bad-input corpus: export files broken the way HR exports break (shared/RELIABILITY.md), each with the
outcome calibra must give — a rejection naming file, row, column and rule, or rows quarantined with reasons.

The files are generated here, at test time, so the repository stays small and text-only; the XLSX workbooks
are built with openpyxl. To look at them:

    python -m tests.bad_inputs.make_corpus OUT_DIR    # writes OUT_DIR/inbox/*, OUT_DIR/mappings/*.yaml, a table

Every file of a kind with a cycle gets its own cycle, so that no corpus file supersedes another when they are
all ingested into one database.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ORG = "zeeland-demo"

# ---------------------------------------------------------------------------------------------- mappings
_NL = {"delimiter": ";", "decimal": ",", "thousands": ".", "date_format": "%d-%m-%Y"}
_ORG = {"constants": {"organization": ORG}}
PAYROLL_COLUMNS = {
    "Medewerkernr": "employee_id",
    "Jaar": "cycle",
    "Schaal": "salary_scale",
    "Jaarsalaris": "annual_salary",
    "Deeltijdfactor": "fte",
    "Afdeling": "department",
}
EVALUATION_COLUMNS = {
    "Medewerkernr": "employee_id",
    "Jaar": "cycle",
    "Afdeling": "department",
    "Schaal": "function_level",
    "Leidinggevende": "evaluator_id",
    "Beoordeling": "rating",
    "Geslacht": "gender",
    "Geboortejaar": "birth_year",
    "Deeltijdfactor": "fte",
    "Dienstverband": "employment_type",
    "Datum in dienst": "hire_date",
    "Datum jaargesprek": "conversation_date",
    "Op schaalmaximum": "at_scale_maximum",
}
EVALUATION_VALUES = {
    "rating": {"Slecht": "slecht", "Matig": "matig", "Normaal": "normaal", "Zeer goed": "zeer_goed"},
    "gender": {"Vrouw": "F", "Man": "M", "X": "X"},
    "employment_type": {"Vast": "contractueel", "Uitzendkracht": "uitzendkracht"},
}
AWARD_COLUMNS = {
    "Medewerkernr": "employee_id",
    "Jaar": "cycle",
    "Soort": "award_type",
    "Percentage": "pct",
    "Motivering": "argumentation",
}
MAPPINGS: list[dict[str, Any]] = [
    {"id": "corpus_payroll", "kind": "payroll", "match": ["loon_*.csv"], "encoding": "utf-8"}
    | _NL
    | _ORG
    | {"columns": PAYROLL_COLUMNS},
    {"id": "corpus_payroll_cp1252", "kind": "payroll", "match": ["w1252loon_*.csv"], "encoding": "cp1252"}
    | _NL
    | _ORG
    | {"columns": PAYROLL_COLUMNS},
    {
        "id": "corpus_payroll_ids",
        "kind": "payroll",
        "match": ["idloon_*.csv"],
        "encoding": "utf-8",
        "id_pattern": r"^\d{6}$",
    }
    | _NL
    | _ORG
    | {"columns": PAYROLL_COLUMNS},
    {"id": "corpus_evaluations", "kind": "evaluations", "match": ["beoordeling_*.csv"], "encoding": "utf-8"}
    | _NL
    | _ORG
    | {"columns": EVALUATION_COLUMNS, "values": EVALUATION_VALUES},
    {
        "id": "corpus_evaluations_xlsx",
        "kind": "evaluations",
        "match": ["xlbeoordeling_*.xlsx"],
        "format": "xlsx",
        "excel_dates": True,
        "id_pattern": r"^\d{6}$",
    }
    | _NL
    | _ORG
    | {"columns": EVALUATION_COLUMNS, "values": EVALUATION_VALUES},
    {
        "id": "corpus_evaluations_xlsx_sheet",
        "kind": "evaluations",
        "match": ["xlblad_*.xlsx"],
        "format": "xlsx",
        "sheet": "Beoordelingen",
        "excel_dates": False,
    }
    | _NL
    | _ORG
    | {"columns": EVALUATION_COLUMNS, "values": EVALUATION_VALUES},
    {"id": "corpus_awards", "kind": "awards", "match": ["beloning_*.csv"], "encoding": "utf-8"}
    | _NL
    | _ORG
    | {
        "columns": AWARD_COLUMNS,
        "values": {"award_type": {"Output": "output_bonus", "Input": "input_bonus"}},
    },
]


# ---------------------------------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Expect:
    """What ingesting one corpus file must give."""

    status: str  # rejected | loaded | loaded_with_quarantine | already_loaded
    rule: str | None = None  # a rejection names its rule ...
    row: int | None = None  # ... and, where known, the row (header = 1) ...
    column: str | None = None  # ... and the column
    says: str = ""  # a fragment of the rejection message
    rows_read: int | None = None
    quarantined: frozenset[tuple[int, str, str]] = frozenset()  # (row, column, rule) held back
    values: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # column -> loaded values, source order

    def describe(self) -> str:
        if self.status == "rejected":
            where = ", ".join(
                p
                for p in (f"row {self.row}" if self.row else "", f"'{self.column}'" if self.column else "")
                if p
            )
            return f"rejected (rule {self.rule}{', ' + where if where else ''})"
        if self.status == "already_loaded":
            return "skipped: same bytes already loaded"
        read = f"{self.rows_read} rows read" if self.rows_read is not None else ""
        held = ", ".join(f"row {r} {c} {rule}" for r, c, rule in sorted(self.quarantined))
        return f"{self.status}: {read}" + (f"; quarantined {held}" if held else "")


def rejected(rule: str, says: str = "", row: int | None = None, column: str | None = None) -> Expect:
    return Expect("rejected", rule=rule, says=says, row=row, column=column)


def loaded(rows_read: int, *quarantined: tuple[int, str, str], **values: tuple[Any, ...]) -> Expect:
    status = "loaded_with_quarantine" if quarantined else "loaded"
    return Expect(status, rows_read=rows_read, quarantined=frozenset(quarantined), values=values)


@dataclass(frozen=True)
class Case:
    file_name: str
    hazard: str
    content: bytes
    expect: Expect
    entry: str = "file"  # file | symlink (to a file outside the inbox holding `content`) | fifo

    def write(self, inbox: Path) -> None:
        """Put the case in the inbox as the kind of entry it is."""
        target = inbox / self.file_name
        if self.entry == "fifo":
            os.mkfifo(target, 0o600)
        elif self.entry == "symlink":
            outside = inbox.parent / "outside"
            outside.mkdir(exist_ok=True)
            (outside / self.file_name).write_bytes(self.content)
            target.symlink_to(outside / self.file_name)
        else:
            target.write_bytes(self.content)


# ---------------------------------------------------------------------------------------------- builders
def delimited(rows: Sequence[Sequence[str]], delimiter: str = ";", newline: str = "\r\n") -> str:
    """Rows as an Excel-style delimited text (minimal quoting, CRLF)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue()


PAYROLL_HEADER = [
    "Medewerkernr",
    "Naam",
    "Jaar",
    "Schaal",
    "Jaarsalaris",
    "Deeltijdfactor",
    "Afdeling",
    "IBAN",
]


def payroll(cycle: int, count: int = 3, changes: dict[int, dict[str, str]] | None = None) -> list[list[str]]:
    """Header plus `count` valid Dutch payroll rows; `changes` = {data row index: {header: cell}}."""
    rows = [PAYROLL_HEADER]
    for i in range(count):
        cells = {
            "Medewerkernr": f"{cycle % 100:02d}{i + 1:04d}",
            "Naam": f"Fictief Persoon {i}",
            "Jaar": str(cycle),
            "Schaal": "8",
            "Jaarsalaris": "41.000,50",
            "Deeltijdfactor": "0,8",
            "Afdeling": "Financiën",
            "IBAN": f"NL00TEST{i:010d}",
        } | (changes or {}).get(i, {})
        rows.append([cells[h] for h in PAYROLL_HEADER])
    return rows


EVALUATION_HEADER = list(EVALUATION_COLUMNS)


def evaluations(
    cycle: int, count: int = 3, changes: dict[int, dict[str, Any]] | None = None
) -> list[list[Any]]:
    rows: list[list[Any]] = [EVALUATION_HEADER]
    for i in range(count):
        cells = {
            "Medewerkernr": f"{cycle % 100:02d}{i + 1:04d}",
            "Jaar": str(cycle),
            "Afdeling": "Financiën",
            "Schaal": "S08",
            "Leidinggevende": "009001",
            "Beoordeling": "Normaal",
            "Geslacht": "Vrouw",
            "Geboortejaar": "1980",
            "Deeltijdfactor": "0,8",
            "Dienstverband": "Vast",
            "Datum in dienst": None,
            "Datum jaargesprek": f"01-02-{cycle + 1}",
            "Op schaalmaximum": "nee",
        } | (changes or {}).get(i, {})
        rows.append([cells[h] for h in EVALUATION_HEADER])
    return rows


AWARD_HEADER = ["Medewerkernr", "Jaar", "Soort", "Percentage", "Motivering"]


def awards(cycle: int, texts: Sequence[str]) -> list[list[str]]:
    rows = [AWARD_HEADER]
    for i, text in enumerate(texts):
        rows.append([f"{cycle % 100:02d}{i + 1:04d}", str(cycle), "Output", "3", text])
    return rows


def canonical_payroll(cycle: int, count: int = 2) -> list[list[str]]:
    rows = [["organization", "cycle", "employee_id", "salary_scale", "annual_salary", "fte", "department"]]
    for i in range(count):
        rows.append([ORG, str(cycle), f"{cycle % 100:02d}{i + 1:04d}", "8", "41000.5", "1", "Financiën"])
    return rows


def workbook(
    sheets: Sequence[tuple[str, Sequence[Sequence[Any]], str]],
    *,
    date1904: bool = False,
    merge: str | None = None,
    date_format: str = "dd-mm-yyyy",
) -> bytes:
    """An XLSX file: sheets as (title, rows, state); date cells get a date format; `merge` on sheet 1."""
    from openpyxl import Workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    book = Workbook()
    book.remove(book.active)
    if date1904:
        book.epoch = CALENDAR_MAC_1904
    for title, rows, state in sheets:
        sheet = book.create_sheet(title)
        sheet.sheet_state = state
        for row in rows:
            sheet.append(list(row))
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, dt.date):
                    cell.number_format = date_format
    if merge:
        book.worksheets[0].merge_cells(merge)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


# ------------------------------------------------------------------------------- hand-made zip workbooks
_XLSX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
    'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_XLSX_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_XLSX_BOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.'
    'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="Blad1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_XLSX_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.'
    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)


def sheet_xml(cells: Sequence[tuple[str, str]]) -> bytes:
    """A worksheet of inline-string cells given by reference (`A1`, `XFD1048576`)."""
    rows: dict[int, list[str]] = {}
    for ref, value in cells:
        number = int("".join(ch for ch in ref if ch.isdigit()))
        rows.setdefault(number, []).append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    body = "".join(f'<row r="{n}">{"".join(c)}</row>' for n, c in sorted(rows.items()))
    return utf8(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.'
        f'openxmlformats.org/spreadsheetml/2006/main"><sheetData>{body}</sheetData></worksheet>'
    )


def header_cells(header: Sequence[str], rows: Sequence[Sequence[Any]] = ()) -> list[tuple[str, str]]:
    from openpyxl.utils import get_column_letter

    return [
        (f"{get_column_letter(j + 1)}{i + 1}", str(v))
        for i, row in enumerate([header, *rows])
        for j, v in enumerate(row)
        if v is not None
    ]


def raw_zip(parts: Sequence[tuple[str, bytes, int | None]]) -> bytes:
    """A zip of deflated parts, written by hand so that a part can declare any uncompressed size:
    (name, content, declared size or None for the true one)."""
    import struct
    import zlib

    out = io.BytesIO()
    central = []
    for name, content, declared in parts:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = packer.compress(content) + packer.flush()
        crc = zlib.crc32(content)
        size = len(content) if declared is None else declared
        offset = out.tell()
        encoded = name.encode()
        out.write(
            struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(encoded), 0)
        )
        out.write(encoded + data)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start = out.tell()
    for record in central:
        out.write(record)
    end = out.tell()
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), end - start, start, 0))
    return out.getvalue()


def bomb_part(size: int) -> bytes:
    """`size` bytes of XML-harmless spaces."""
    return b" " * size


def spreadsheet(sheet: bytes, **extra: bytes | tuple[bytes, int]) -> bytes:
    """A minimal workbook around one sheet; `extra` adds or replaces parts (content or (content, declared))."""
    parts: dict[str, tuple[bytes, int | None]] = {
        "[Content_Types].xml": (utf8(_XLSX_TYPES), None),
        "_rels/.rels": (utf8(_XLSX_RELS), None),
        "xl/workbook.xml": (utf8(_XLSX_BOOK), None),
        "xl/_rels/workbook.xml.rels": (utf8(_XLSX_BOOK_RELS), None),
        "xl/worksheets/sheet1.xml": (sheet, None),
    }
    for key, value in extra.items():
        name = {"workbook": "xl/workbook.xml", "strings": "xl/sharedStrings.xml"}[key]
        parts[name] = value if isinstance(value, tuple) else (value, None)
    return raw_zip([(name, content, declared) for name, (content, declared) in parts.items()])


def with_dimension(book: bytes, ref: str) -> bytes:
    """An openpyxl workbook whose first sheet declares another extent than it has."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>'.encode(), data)
            target.writestr(info.filename, data)
    return out.getvalue()


def parquet(columns: dict[str, Any]) -> bytes:
    import polars as pl

    buffer = io.BytesIO()
    pl.DataFrame(columns).write_parquet(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- the corpus
Q = tuple[int, str, str]
KEY = "organization+cycle+employee_id"


def _cases(cycle: Callable[[], int]) -> list[Case]:
    c: list[Case] = []
    rows: list[list[Any]]

    def add(name: str, hazard: str, content: bytes, expect: Expect) -> None:
        c.append(Case(name, hazard, content, expect))

    # --- empty, header-only, truncated ------------------------------------------------------------
    add("loon_leeg.csv", "empty file (0 bytes)", b"", rejected("structure", "empty"))
    add("loon_witregels.csv", "only blank lines", b"\r\n\r\n   \r\n", rejected("structure", "empty"))
    add(
        "loon_alleen_kop.csv",
        "header-only file",
        utf8(delimited([PAYROLL_HEADER])),
        loaded(0),
    )
    add(
        "zeeland-demo_payroll_alleen_kop.csv",
        "header-only canonical file (organisation from the file name)",
        utf8(delimited(canonical_payroll(cycle(), 0), delimiter=",", newline="\n")),
        loaded(0),
    )
    year = cycle()
    rows = payroll(year, 3)
    add(
        "loon_afgebroken_rij.csv",
        "truncated file: the last row stops after two cells",
        utf8(delimited(rows[:-1]) + ";".join(rows[-1][:2])),
        loaded(
            3,
            (4, "cycle", "required"),
            (4, "salary_scale", "required"),
            (4, "annual_salary", "required"),
            (4, "fte", "required"),
        ),
    )
    year = cycle()
    rows = payroll(year, 3)
    add(
        "loon_afgebroken_quote.csv",
        "truncated inside a quoted field",
        utf8(delimited(rows[:-1]) + ";".join(rows[-1][:1]) + ';"Fictief; Persoon'),
        rejected("structure", "do not fit the header"),
    )
    year = cycle()
    add(
        "loon_afgebroken_utf8.csv",
        "truncated in the middle of a UTF-8 character",
        utf8(delimited(payroll(year, 2)))[:-8] + "ë".encode()[:1],
        rejected("encoding", "not valid utf-8", row=3),
    )
    # --- delimiters and headers ------------------------------------------------------------------------
    add(
        "loon_komma.csv",
        "wrong delimiter: ',' where the mapping says ';'",
        utf8(delimited(payroll(cycle()), delimiter=",")),
        rejected("required_column", "wrong delimiter", column="Jaar"),
    )
    add(
        "loon_tab.csv",
        "wrong delimiter: tab",
        utf8(delimited(payroll(cycle()), delimiter="\t")),
        rejected("required_column", column="Jaar"),
    )
    add(
        "zeeland-demo_payroll_puntkomma.csv",
        "wrong delimiter: ';' in a canonical (',') file",
        utf8(delimited(canonical_payroll(cycle()), delimiter=";")),
        rejected("required_column", column="organization"),
    )
    add(
        "loon_zonder_salaris.csv",
        "missing header (required column absent)",
        utf8(delimited([[cell for j, cell in enumerate(r) if j != 4] for r in payroll(cycle())])),
        rejected("required_column", column="Jaarsalaris"),
    )
    year = cycle()
    extra = [
        [*row, "x@voorbeeld.invalid" if i else "E-mail", "" if i else "Opmerking"]
        for i, row in enumerate(payroll(year))
    ]
    add(
        "loon_extra_kolommen.csv",
        "extra (unmapped) headers: names, IBAN, e-mail, remarks are dropped",
        utf8(delimited(extra)),
        loaded(3, fte=(0.8, 0.8, 0.8)),
    )
    rows = payroll(cycle())
    rows[0] = [*rows[0][:-1], "Jaar"]
    add(
        "loon_dubbele_kop.csv",
        "duplicated header",
        utf8(delimited(rows)),
        rejected("structure", "appears twice", row=1, column="Jaar"),
    )
    rows = payroll(cycle())
    rows[0] = [*rows[0][:-1], " jaar "]
    add(
        "loon_dubbele_kop_hoofdletters.csv",
        "duplicated header differing in case and spaces",
        utf8(delimited(rows)),
        rejected("structure", "appears twice", row=1, column="jaar"),
    )
    rows = payroll(cycle())
    rows[0] = [*rows[0][:3], "", *rows[0][4:]]
    add(
        "loon_lege_kop.csv",
        "empty header between filled ones",
        utf8(delimited(rows)),
        rejected("structure", "header 4 is empty", row=1),
    )
    year = cycle()
    add(
        "loon_bom_kop.csv",
        "UTF-8 BOM before the first header",
        codecs.BOM_UTF8 + utf8(delimited(payroll(year, 2))),
        loaded(2, salary_scale=("8", "8")),
    )
    year = cycle()
    rows = payroll(year, 2)
    rows[0] = ["\ufeff" + h for h in rows[0]]
    add(
        "loon_bom_in_elke_kop.csv",
        "BOM characters pasted before every header",
        utf8(delimited(rows)),
        loaded(2),
    )
    year = cycle()
    add(
        "loon_lege_kolommen.csv",
        "trailing empty ';;;' columns on every line",
        utf8("".join(line + ";;;\r\n" for line in delimited(payroll(year, 2)).splitlines())),
        loaded(2),
    )
    add(
        "loon_rafelig.csv",
        "ragged line: more cells than headers",
        utf8(
            delimited(
                [*payroll(cycle(), 2), ["000009", "Fictief", "2020", "8", "1", "1", "X", "NL", "extra"]]
            )
        ),
        rejected("structure", "do not fit"),
    )
    # --- encodings -------------------------------------------------------------------------------------
    year = cycle()
    add(
        "w1252loon_goed.csv",
        "cp1252 export read with a cp1252 mapping",
        delimited(payroll(year, 2)).encode("cp1252"),
        loaded(2, department=("Financiën", "Financiën")),
    )
    add(
        "loon_cp1252.csv",
        "cp1252 bytes where the mapping says UTF-8",
        delimited(payroll(cycle(), 2)).encode("cp1252"),
        rejected("encoding", "not valid utf-8", row=2),
    )
    add(
        "w1252loon_is_utf8.csv",
        "UTF-8 bytes where the mapping says cp1252 (would load as 'FinanciÃ«n')",
        utf8(delimited(payroll(cycle(), 2))),
        rejected("encoding", "is UTF-8"),
    )
    add(
        "w1252loon_bom.csv",
        "UTF-8 with BOM where the mapping says cp1252",
        codecs.BOM_UTF8 + utf8(delimited(payroll(cycle(), 2))),
        rejected("encoding", "is UTF-8"),
    )
    year = cycle()
    add(
        "zeeland-demo_payroll_utf16.csv",
        "UTF-16 with BOM (Excel 'Unicode text'), canonical",
        delimited(canonical_payroll(year), delimiter=",", newline="\n").encode("utf-16"),
        loaded(2, department=("Financiën", "Financiën")),
    )
    add(
        "zeeland-demo_payroll_utf16_zonder_bom.csv",
        "UTF-16 without BOM",
        delimited(canonical_payroll(cycle()), delimiter=",").encode("utf-16-le"),
        rejected("encoding", "UTF-16", row=2),
    )
    year = cycle()
    text = delimited(payroll(year, 3))
    add(
        "loon_nul_bytes.csv",
        "NUL bytes inside the file",
        utf8(text).replace(b"Fictief Persoon 1", b"Fictief\x00Persoon 1"),
        rejected("encoding", "NUL", row=3),
    )
    add(
        "loon_binair.csv",
        "binary garbage with a .csv name",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\xff\xfe\xfd",
        rejected("encoding"),
    )
    # --- numbers ------------------------------------------------------------------------------------------
    year = cycle()
    amounts = [
        "45.678,90",
        "52\u00a0345,10",
        "38\u202f000",
        "41000,5",
        "45,678.90",
        "45.67,8",
        "1.234.567,00",
    ]
    add(
        "loon_bedragen.csv",
        "decimal commas with '.', NBSP and narrow-NBSP thousands; English and misgrouped numbers",
        utf8(delimited(payroll(year, 7, {i: {"Jaarsalaris": a} for i, a in enumerate(amounts)}))),
        loaded(
            7,
            (6, "annual_salary", "type:decimal"),
            (7, "annual_salary", "type:decimal"),
            (8, "annual_salary", "range"),
            annual_salary=(45678.9, 52345.1, 38000.0, 41000.5),
        ),
    )
    year = cycle()
    salaries = ["-41.000,00", "0", "0,00", "#N/A", "=1+1"]
    add(
        "loon_negatief.csv",
        "negative and zero salaries, Excel error values and formulas in a number column",
        utf8(delimited(payroll(year, 5, {i: {"Jaarsalaris": s} for i, s in enumerate(salaries)}))),
        loaded(
            5,
            (2, "annual_salary", "range"),
            (3, "annual_salary", "range"),
            (4, "annual_salary", "range"),
            (5, "annual_salary", "type:decimal"),
            (6, "annual_salary", "type:decimal"),
        ),
    )
    year = cycle()
    ftes = ["0", "1,2", "80%", "0,8", "1", "-0,5"]
    add(
        "loon_fte.csv",
        "fte 0, above 1, as a percentage, negative",
        utf8(delimited(payroll(year, 6, {i: {"Deeltijdfactor": f} for i, f in enumerate(ftes)}))),
        loaded(
            6,
            (2, "fte", "range"),
            (3, "fte", "range"),
            (4, "fte", "type:decimal"),
            (7, "fte", "range"),
            fte=(0.8, 1.0),
        ),
    )
    year = cycle()
    add(
        "loon_jaar_decimaal.csv",
        "a year with a fraction in an integer column",
        utf8(delimited(payroll(year, 2, {1: {"Jaar": f"{year},5"}}))),
        loaded(2, (3, "cycle", "type:integer")),
    )
    # --- identifiers ---------------------------------------------------------------------------------------
    year = cycle()
    ids = ["1.23457E+11", "1,23457E+11", "1E+05"]
    add(
        "loon_wetenschappelijk.csv",
        "ids mangled to scientific notation",
        utf8(delimited(payroll(year, 4, {i: {"Medewerkernr": v} for i, v in enumerate(ids)}))),
        loaded(
            4, (2, "employee_id", "pattern"), (3, "employee_id", "pattern"), (4, "employee_id", "pattern")
        ),
    )
    year = cycle()
    add(
        "idloon_voorloopnullen.csv",
        "ids stripped of leading zeros (the mapping declares id_pattern ^\\d{6}$)",
        utf8(delimited(payroll(year, 3, {0: {"Medewerkernr": "123"}, 1: {"Medewerkernr": "000123"}}))),
        loaded(3, (2, "employee_id", "id_pattern")),
    )
    # --- duplicates, repeated headers, footers ----------------------------------------------------------------
    year = cycle()
    rows = payroll(year, 4)
    rows[3][0] = rows[1][0]
    add(
        "loon_dubbele_sleutel.csv",
        "duplicate keys: every copy is held back",
        utf8(delimited(rows)),
        loaded(4, (2, KEY, "duplicate_key"), (4, KEY, "duplicate_key")),
    )
    year = cycle()
    rows = payroll(year, 4)
    rows.insert(3, list(PAYROLL_HEADER))
    add(
        "loon_herhaalde_kop.csv",
        "header row repeated mid-file",
        utf8(delimited(rows)),
        loaded(5, (4, "department", "repeated_header")),
    )
    year = cycle()
    rows = payroll(year, 3)
    rows.append(["", "Totaal", "", "", "123.001,50", "", "", ""])
    add(
        "loon_totaal.csv",
        "'Totaal' footer row (label in an unmapped column)",
        utf8(delimited(rows)),
        loaded(4, (5, "Naam", "footer_row")),
    )
    year = cycle()
    rows = canonical_payroll(year, 2)
    rows.append(["Totaal", "", "", "", "82001", "", ""])
    add(
        "zeeland-demo_payroll_totaal.csv",
        "'Totaal' footer row in a canonical file (would otherwise be a second organisation)",
        utf8(delimited(rows, delimiter=",")),
        loaded(3, (4, "organization", "footer_row")),
    )
    # --- structure of the rows ---------------------------------------------------------------------------------
    year = cycle()
    rows = canonical_payroll(year, 2)
    rows[2][0] = "vo-demo"
    add(
        "zeeland-demo_payroll_twee_orgs.csv",
        "two organisations in one file",
        utf8(delimited(rows, delimiter=",")),
        rejected("one_organization_per_file", column="organization"),
    )
    year = cycle()
    add(
        "loon_twee_jaren.csv",
        "two cycles in one file",
        utf8(delimited(payroll(year, 2, {1: {"Jaar": str(year - 1)}}))),
        rejected("one_cycle_per_file", column="cycle"),
    )
    add(
        "onbekend_export.csv",
        "a file no mapping recognises",
        utf8(delimited(payroll(cycle()))),
        rejected("mapping", "no mapping"),
    )
    add(
        "zeeland-demo_payroll_kapot.parquet",
        "text with a .parquet name",
        utf8(delimited(canonical_payroll(cycle()), delimiter=",")),
        rejected("structure", "Parquet"),
    )
    year = cycle()
    once = utf8(delimited(payroll(year, 2)))
    add("loon_kopie_a.csv", "the same bytes under two names (1)", once, loaded(2))
    add("loon_kopie_b.csv", "the same bytes under two names (2)", once, Expect("already_loaded"))
    # --- codes, dates, booleans ------------------------------------------------------------------------------
    year = cycle()
    ratings = ["fantastisch", "Voldoende", "Normaal ", "  Zeer goed"]
    add(
        "beoordeling_schaal.csv",
        "ratings outside the policy's scale (and codes with stray spaces)",
        utf8(delimited(evaluations(year, 4, {i: {"Beoordeling": r} for i, r in enumerate(ratings)}))),
        loaded(
            4,
            (2, "rating", "allowed_values"),
            (3, "rating", "allowed_values"),
            rating=("normaal", "zeer_goed"),
        ),
    )
    year = cycle()
    dates = ["31-02-2025", "29-02-2023", "2025-13-01", "02/13/2025", "45292", "29-02-2024", "2025-02-01"]
    add(
        "beoordeling_datums.csv",
        "impossible dates, mm/dd, an Excel serial in a CSV",
        utf8(delimited(evaluations(year, 7, {i: {"Datum jaargesprek": d} for i, d in enumerate(dates)}))),
        loaded(
            7,
            *[(row, "conversation_date", "type:date") for row in range(2, 7)],
            conversation_date=(dt.date(2024, 2, 29), dt.date(2025, 2, 1)),
        ),
    )
    year = cycle()
    flags = ["misschien", "JA", "Nee"]
    add(
        "beoordeling_booleans.csv",
        "a yes/no column with an unknown answer",
        utf8(delimited(evaluations(year, 3, {i: {"Op schaalmaximum": f} for i, f in enumerate(flags)}))),
        loaded(3, (2, "at_scale_maximum", "type:boolean"), at_scale_maximum=(True, False)),
    )
    year = cycle()
    add(
        "beoordeling_sci_leidinggevende.csv",
        "evaluator id in scientific notation",
        utf8(delimited(evaluations(year, 2, {1: {"Leidinggevende": "9,001E+03"}}))),
        loaded(2, (3, "evaluator_id", "pattern")),
    )
    # --- free text -------------------------------------------------------------------------------------------
    year = cycle()
    texts = ["Goed werk;\r\nook in\nhet tweede halfjaar", 'Tweede regel "geciteerd"', "Gewoon"]
    add(
        "beloning_regeleinden.csv",
        "quoted newlines and quotes inside a text field",
        utf8(delimited(awards(year, texts))),
        loaded(
            3,
            argumentation=("Goed werk;\r\nook in\nhet tweede halfjaar", 'Tweede regel "geciteerd"', "Gewoon"),
        ),
    )
    year = cycle()
    formulas = ['=HYPERLINK("http://x.invalid";"klik")', "+31 6 1234 5678", "-verlaagd", "@SUM(A1:A3)"]
    add(
        "beloning_formules.csv",
        "formula-like text is stored as text, unchanged",
        utf8(delimited(awards(year, formulas))),
        loaded(4, argumentation=tuple(formulas)),
    )
    year = cycle()
    html = [
        "<script>alert('x')</script>",
        '<b>vet</b> & <a href="javascript:alert(1)">link</a>',
        "</script><!--",
    ]
    add(
        "beloning_html.csv",
        "HTML and script in a text field are stored as text (escaping is the site's job)",
        utf8(delimited(awards(year, html))),
        loaded(3, argumentation=tuple(html)),
    )
    year = cycle()
    long_texts = ["x" * 4000, "y" * 4001, "z" * 1_000_000]
    add(
        "beloning_lang.csv",
        "very long fields: 4000 characters fit, 4001 and 1,000,000 do not",
        utf8(delimited(awards(year, long_texts))),
        loaded(3, (3, "argumentation", "max_length"), (4, "argumentation", "max_length")),
    )
    year = cycle()
    add(
        "loon_lange_afdeling.csv",
        "a department name longer than the contract allows",
        utf8(delimited(payroll(year, 2, {0: {"Afdeling": "Afdeling " * 20}}))),
        loaded(2, (2, "department", "max_length")),
    )
    # --- XLSX -----------------------------------------------------------------------------------------------
    year = cycle()
    rows = evaluations(year, 5)
    serials = [45292, dt.date(2019, 3, 1), 60, 59, "45292"]
    for i, value in enumerate(serials, start=1):
        rows[i][EVALUATION_HEADER.index("Datum in dienst")] = value
    add(
        "xlbeoordeling_serials.xlsx",
        "Excel date serials (1900 system), real date cells, the phantom 29 Feb 1900 (serial 60)",
        workbook([("Blad1", rows, "visible")]),
        loaded(
            5,
            (4, "hire_date", "type:date"),
            (5, "hire_date", "type:date"),
            hire_date=(dt.date(2024, 1, 1), dt.date(2019, 3, 1), dt.date(2024, 1, 1)),
        ),
    )
    year = cycle()
    rows = evaluations(year, 2)
    rows[1][EVALUATION_HEADER.index("Datum in dienst")] = 43830  # 2024-01-01 in the 1904 system
    add(
        "xlbeoordeling_1904.xlsx",
        "1904 date system with bare serial numbers: rejected, never shifted by 4 years",
        workbook([("Blad1", rows, "visible")], date1904=True),
        rejected("date_system", "1904"),
    )
    year = cycle()
    rows = evaluations(year, 2, {i: {"Datum jaargesprek": dt.date(year + 1, 2, 3)} for i in range(2)})
    add(
        "xlblad_1904_datumcellen.xlsx",
        "1904 date system with date-formatted cells: the dates come out right",
        workbook([("Beoordelingen", rows, "visible")], date1904=True),
        loaded(2, conversation_date=(dt.date(year + 1, 2, 3),) * 2),
    )
    year = cycle()
    rows = evaluations(year, 4)
    add(
        "xlblad_samengevoegd.xlsx",
        "merged cells: only the top-left cell holds the value, the rows below are held back (never filled in)",
        workbook([("Beoordelingen", rows, "visible")], merge="C2:C4"),
        loaded(4, (3, "department", "required"), (4, "department", "required")),
    )
    year = cycle()
    secret = [
        ["Medewerkernr", "Naam", "Rijksregisternummer"],
        ["000001", "Fictief Geheim", "85.07.30-033.61"],
    ]
    add(
        "xlbeoordeling_verborgen.xlsx",
        "a hidden sheet first: the one visible sheet is read",
        workbook([("Namen", secret, "hidden"), ("Beoordelingen", evaluations(year, 2), "visible")]),
        loaded(2, department=("Financiën", "Financiën")),
    )
    add(
        "xlbeoordeling_twee_bladen.xlsx",
        "two visible sheets and no sheet named in the mapping",
        workbook([("A", evaluations(cycle(), 1), "visible"), ("B", evaluations(cycle(), 1), "visible")]),
        rejected("structure", "several visible sheets"),
    )
    add(
        "xlblad_geen_blad.xlsx",
        "the sheet named in the mapping does not exist",
        workbook([("Blad1", evaluations(cycle(), 1), "visible")]),
        rejected("structure", "no sheet named 'Beoordelingen'"),
    )
    add(
        "xlblad_leeg.xlsx",
        "an empty sheet",
        workbook([("Beoordelingen", [], "visible")]),
        rejected("structure", "is empty"),
    )
    add(
        "xlblad_alleen_kop.xlsx",
        "header-only workbook",
        workbook([("Beoordelingen", [EVALUATION_HEADER], "visible")]),
        loaded(0),
    )
    year = cycle()
    rows = evaluations(year, 3, {0: {"Medewerkernr": 123}, 1: {"Medewerkernr": 1.23457e11}})
    add(
        "xlbeoordeling_nummers.xlsx",
        "ids stored as numbers: leading zeros lost, long ids in floating point",
        workbook([("Blad1", rows, "visible")]),
        loaded(3, (2, "employee_id", "id_pattern"), (3, "employee_id", "id_pattern")),
    )
    year = cycle()
    rows = evaluations(year, 2)
    rows.append(["Totaal", None, None, None, None, None, None, None, 2, None, None, None, None])
    add(
        "xlblad_totaal.xlsx",
        "'Totaal' footer row in a workbook",
        workbook([("Beoordelingen", rows, "visible")]),
        loaded(3, (4, "Medewerkernr", "footer_row")),
    )
    whole = workbook([("Blad1", evaluations(cycle(), 3), "visible")])
    add(
        "xlbeoordeling_afgebroken.xlsx",
        "truncated workbook (download cut off)",
        whole[: len(whole) // 2],
        rejected("structure", "cannot be opened"),
    )
    add(
        "xlbeoordeling_is_csv.xlsx",
        "a CSV file with an .xlsx name",
        utf8(delimited(evaluations(cycle(), 2))),
        rejected("structure", "cannot be opened"),
    )
    _hostile_and_unfamiliar(add, cycle)
    return c


def without(rows: list[list[Any]], header: str) -> list[list[Any]]:
    """The rows without one column (an export that does not have it)."""
    index = rows[0].index(header)
    return [[cell for j, cell in enumerate(row) if j != index] for row in rows]


def _hostile_and_unfamiliar(add: Callable[[str, str, bytes, Expect], None], cycle: Callable[[], int]) -> None:
    """Issue 19: exports tried as an attacker and as a new organisation with its own HR system would."""
    rows: list[list[Any]]
    # --- the name and the rows disagree -----------------------------------------------------------------
    rows = canonical_payroll(2000, 1)
    rows[1][0] = "vo-demo"
    add(
        "zeeland-demo_payroll_andere_org.csv",
        "canonical name of one organisation, rows of another (would supersede vo-demo's payroll)",
        utf8(delimited(rows, delimiter=",", newline="\n")),
        rejected("name_mismatch", "the file name says organisation zeeland-demo", column="organization"),
    )
    add(
        "loon_export_evaluations.csv",
        "a file named for evaluations, read by a payroll mapping",
        utf8(delimited(payroll(2000, 2))),
        rejected("name_mismatch", "the file name says evaluations"),
    )
    add(
        "loon_vo-demo.csv",
        "a file name that names another configured organisation than its rows (the mapping's constant)",
        utf8(delimited(payroll(2000, 3))),
        rejected("name_mismatch", "the file name says organisation vo-demo", column="organization"),
    )
    year = cycle()
    add(
        f"loon_{year + 1}_ander_jaar.csv",
        "a year in the file name that is not the rows' cycle",
        utf8(delimited(payroll(year, 2))),
        rejected("name_mismatch", f"the file name says {year + 1}", column="cycle"),
    )
    year = cycle()
    add(
        f"loon_{year}_jaar_klopt.csv",
        "a year in the file name that is the rows' cycle",
        utf8(delimited(payroll(year, 2))),
        loaded(2),
    )
    year = cycle()
    rows = canonical_payroll(year, 2)
    for row in rows[1:]:
        row[0] = "vo-demo"
    add(
        "vo-demo_payroll_eigen.csv",
        "canonical name and rows of the same (other) organisation",
        utf8(delimited(rows, delimiter=",", newline="\n")),
        loaded(2),
    )
    # --- encodings, row by row ---------------------------------------------------------------------------
    lines = delimited(payroll(2000, 3)).splitlines(keepends=True)
    add(
        "w1252loon_een_utf8_rij.csv",
        "a cp1252 file with one row pasted in UTF-8 (would load as 'FinanciÃ«n')",
        b"".join(line.encode("utf-8" if i == 2 else "cp1252") for i, line in enumerate(lines)),
        rejected("encoding", "mixed encodings", row=3),
    )
    add(
        "loon_mojibake.csv",
        "a UTF-8 file with one row decoded twice ('FinanciÃ«n' saved as UTF-8)",
        utf8(delimited(payroll(2000, 3, {2: {"Afdeling": "Financi\u00c3\u00abn"}}))),
        rejected("encoding", "decoded twice", row=4),
    )
    add(
        "loon_een_cp1252_rij.csv",
        "a UTF-8 file with one row in cp1252",
        b"".join(line.encode("cp1252" if i == 3 else "utf-8") for i, line in enumerate(lines)),
        rejected("encoding", "not valid utf-8", row=4),
    )
    # --- entries that are not regular files, names no mapping knows --------------------------------------------
    good = utf8(delimited(payroll(2000, 2)))
    c_link = Case(
        "loon_link.csv",
        "a symbolic link in the inbox to an export elsewhere (never followed)",
        good,
        rejected("file_type", "symbolic link"),
        entry="symlink",
    )
    c_secret = Case(
        "loon_link_geheim.csv",
        "a symbolic link in the inbox to some other file on the system",
        b"root:x:0:0:Fictief Geheim:/root:/bin/sh\n",
        rejected("file_type", "symbolic link"),
        entry="symlink",
    )
    c_fifo = Case(
        "loon_pijp.csv",
        "a named pipe in the inbox (reading it would block forever)",
        b"",
        rejected("file_type", "named pipe"),
        entry="fifo",
    )
    for special in (c_link, c_secret, c_fifo):
        add(special.file_name, special.hazard, special.content, special.expect)
        SPECIAL_ENTRIES[special.file_name] = special.entry
    add(
        "loon_export.docx",
        "a file with a suffix no mapping reads",
        b"PK\x03\x04 not really a document",
        rejected("mapping", "no mapping"),
    )
    add(
        "~$xlbeoordeling_slot.xlsx",
        "an Excel lock file left beside an open workbook",
        b"\x0bFictief Geheim" + b"\x00" * 40,
        rejected("mapping", "no mapping"),
    )
    year = cycle()
    add(
        "LOON_HOOFDLETTERS.CSV",
        "a file name in capitals (matched case-insensitively)",
        utf8(delimited(payroll(year, 2))),
        loaded(2),
    )
    # --- workbooks that ask for more memory than they are --------------------------------------------------
    header = header_cells(EVALUATION_HEADER)
    add(
        "xlbeoordeling_verre_cel.xlsx",
        "a 2 KB workbook with one cell at XFD1048576 (the reader would lay out 17 billion cells)",
        spreadsheet(sheet_xml([*header, ("XFD1048576", "x")])),
        rejected("size_limit", "reaches row"),
    )
    add(
        "xlbeoordeling_zz200000.xlsx",
        "a workbook with one cell at ZZ200000 (140 million cells, over 4 GB in the reader)",
        spreadsheet(sheet_xml([*header, ("ZZ200000", "x")])),
        rejected("size_limit", "reaches row"),
    )
    year = cycle()
    add(
        "xlbeoordeling_dimensie_gelogen.xlsx",
        "a sheet that declares the extent A1:XFD1048576 but holds 3 rows",
        with_dimension(workbook([("Blad1", evaluations(year, 2), "visible")]), "A1:XFD1048576"),
        loaded(2),
    )
    add(
        "xlbeoordeling_werkboek_3gb.xlsx",
        "workbook.xml declared to inflate to 3 GB",
        spreadsheet(sheet_xml(header), workbook=(utf8(_XLSX_BOOK), 3 << 30)),
        rejected("size_limit", "inflates to more than"),
    )
    add(
        "xlbeoordeling_werkboek_liegt.xlsx",
        "workbook.xml that inflates to 4 MB while declaring 400 bytes (a lying zip header)",
        spreadsheet(sheet_xml(header), workbook=(utf8(_XLSX_BOOK) + bomb_part(4 << 20), 400)),
        rejected("structure", "damaged"),
    )
    add(
        "xlbeoordeling_strings_bom.xlsx",
        "shared strings declared at 400 MB",
        spreadsheet(sheet_xml(header), strings=(b"<sst/>", 400 << 20)),
        rejected("size_limit", "sharedStrings"),
    )
    year = cycle()
    filled = evaluations(year, 2, {i: {"Datum in dienst": "01-03-2019"} for i in range(2)})
    plain = sheet_xml(header_cells(EVALUATION_HEADER, filled[1:]))
    add(
        "xlbeoordeling_cellen_zonder_ref.xlsx",
        "a sheet whose cells carry no reference (r) and must be measured cell by cell",
        spreadsheet(plain.replace(b'<c r="', b'<c data-r="')),
        loaded(2),
    )
    wide = sheet_xml(header).replace(
        b"</sheetData>", b'<row r="2">' + b"<c><v>1</v></c>" * 800 + b"</row></sheetData>"
    )
    add(
        "xlbeoordeling_brede_rij.xlsx",
        "a row of 800 cells without references (placed one after another, past column ZZ)",
        spreadsheet(wide),
        rejected("size_limit", "reaches row"),
    )
    # --- Parquet ----------------------------------------------------------------------------------------------
    year = cycle()
    columns: dict[str, Any] = {
        "organization": [ORG, ORG],
        "cycle": [year, year],
        "employee_id": [f"{year % 100:02d}0001", f"{year % 100:02d}0002"],
        "salary_scale": ["8", "9"],
        "annual_salary": [41000.5, 52000.0],
        "fte": [1.0, 0.8],
        "department": ["Financiën", "Financiën"],
    }
    add(
        "zeeland-demo_payroll_getypt.parquet",
        "a Parquet file with typed (integer, float) columns",
        parquet(columns),
        loaded(2, annual_salary=(41000.5, 52000.0), fte=(1.0, 0.8)),
    )
    add(
        "zeeland-demo_payroll_lijst.parquet",
        "a Parquet file with a list column where one value is expected",
        parquet(columns | {"cycle": [2000, 2000], "fte": [[1.0], [0.5, 0.3]]}),
        rejected("structure", "lists or records", column="fte"),
    )
    add(
        "zeeland-demo_payroll_struct.parquet",
        "a Parquet file with a struct column",
        parquet(columns | {"cycle": [2000, 2000], "department": [{"a": 1}, {"a": 2}]}),
        rejected("structure", "lists or records", column="department"),
    )
    year = cycle()
    add(
        "zeeland-demo_payroll_extra_lijst.parquet",
        "a Parquet file with an unmapped list column (dropped like any unmapped column)",
        parquet(columns | {"cycle": [year, year], "employee_id": ["E1", "E2"], "tags": [["a"], ["b", "c"]]}),
        loaded(2),
    )
    # --- the share of bad rows --------------------------------------------------------------------------------
    line = payroll(2000, 1)[1]
    add(
        "loon_herhaalde_regels.csv",
        "one line repeated 60 times (the 200 MB version made GX list every row)",
        utf8(delimited([PAYROLL_HEADER, *[line] * 60])),
        rejected("bad_row_share", "60 of 60 rows"),
    )
    add(
        "loon_meeste_fout.csv",
        "40 of 60 rows with an unreadable fte (a wrong mapping)",
        utf8(delimited(payroll(2000, 60, {i: {"Deeltijdfactor": "80%"} for i in range(40)}))),
        rejected("bad_row_share", "40 of 60 rows"),
    )
    year = cycle()
    add(
        "loon_enkele_fout.csv",
        "5 of 60 rows with an unreadable fte (under the policy's threshold)",
        utf8(delimited(payroll(year, 60, {i: {"Deeltijdfactor": "80%"} for i in range(5)}))),
        loaded(60, *[(row, "fte", "type:decimal") for row in range(2, 7)]),
    )
    year = cycle()
    add(
        "loon_alles_fout_klein.csv",
        "every row of a small file held back (the run must not end in 'done')",
        utf8(delimited(payroll(year, 3, {i: {"Deeltijdfactor": "80%"} for i in range(3)}))),
        loaded(3, *[(row, "fte", "type:decimal") for row in range(2, 5)]),
    )
    # --- values that must not reach the quarantine table --------------------------------------------------------
    year = cycle()
    add(
        "beoordeling_rijksregister.csv",
        "a national registry number typed into the birth-year column (held back, value withheld)",
        utf8(delimited(evaluations(year, 2, {0: {"Geboortejaar": "85.07.30-033.61"}}))),
        loaded(2, (2, "birth_year", "type:integer")),
    )
    year = cycle()
    add(
        "beoordeling_email_geslacht.csv",
        "an e-mail address in the gender column (held back, value withheld)",
        utf8(delimited(evaluations(year, 2, {0: {"Geslacht": "x@voorbeeld.invalid"}}))),
        loaded(2, (2, "gender", "allowed_values")),
    )
    year = cycle()
    add(
        "loon_iban_fte.csv",
        "a bank account number in the fte column (held back, value withheld)",
        utf8(delimited(payroll(year, 2, {0: {"Deeltijdfactor": "NL00TEST0123456789"}}))),
        loaded(2, (2, "fte", "type:decimal")),
    )
    # --- real exports of other HR systems ----------------------------------------------------------------------
    year = cycle()
    add(
        "beoordeling_namen_leidinggevende.csv",
        "evaluators as names ('Jan Peeters') instead of numbers",
        utf8(delimited(evaluations(year, 3, {i: {"Leidinggevende": "Jan Peeters"} for i in range(3)}))),
        loaded(3),
    )
    year = cycle()
    title = "Senior beleidsmedewerker financiën en control"
    add(
        "beoordeling_lange_functie.csv",
        "position titles longer than 20 characters as the function level",
        utf8(delimited(evaluations(year, 2, {i: {"Schaal": title} for i in range(2)}))),
        loaded(2, function_level=(title, title)),
    )
    year = cycle()
    add(
        "beoordeling_zonder_geboortejaar.csv",
        "an export without a birth-year column",
        utf8(delimited(without(evaluations(year, 2), "Geboortejaar"))),
        loaded(2, birth_year=(None, None)),
    )
    year = cycle()
    add(
        "beoordeling_zonder_dienstverband.csv",
        "an export without an employment-type column",
        utf8(delimited(without(evaluations(year, 2), "Dienstverband"))),
        loaded(2, employment_type=(None, None)),
    )
    year = cycle()
    add(
        "beoordeling_zonder_leidinggevende.csv",
        "an export without an evaluator column",
        utf8(delimited(without(evaluations(year, 2), "Leidinggevende"))),
        loaded(2),
    )
    year = cycle()
    add(
        "loon_ids_met_tekst.csv",
        "identifiers with letters, spaces, accents and a slash (any printable text)",
        utf8(delimited(payroll(year, 2, {0: {"Medewerkernr": "Ç-12 34"}, 1: {"Medewerkernr": "emp/007"}}))),
        loaded(2),
    )
    year = cycle()
    add(
        "loon_id_met_tab.csv",
        "an identifier with a tab inside (not printable)",
        utf8(delimited(payroll(year, 2, {0: {"Medewerkernr": "12\t34"}}))),
        loaded(2, (2, "employee_id", "pattern")),
    )
    year = cycle()
    add(
        "loon_id_te_lang.csv",
        "an identifier of 121 characters",
        utf8(delimited(payroll(year, 2, {0: {"Medewerkernr": "7" * 121}}))),
        loaded(2, (2, "employee_id", "pattern")),
    )


# Corpus entries that are not regular files: name -> symlink | fifo (see Case.write).
SPECIAL_ENTRIES: dict[str, str] = {}


def build_cases() -> list[Case]:
    counter = iter(range(2001, 2101))
    cases = [
        Case(c.file_name, c.hazard, c.content, c.expect, SPECIAL_ENTRIES.get(c.file_name, "file"))
        for c in _cases(lambda: next(counter))
    ]
    names = [case.file_name for case in cases]
    assert len(names) == len(set(names)), "corpus file names must be unique"
    return cases


def write_corpus(out_dir: Path) -> tuple[list[Case], Path, Path]:
    """Write the corpus to out_dir/inbox and its mapping profiles to out_dir/mappings."""
    inbox, mappings = out_dir / "inbox", out_dir / "mappings"
    inbox.mkdir(parents=True, exist_ok=True)
    mappings.mkdir(parents=True, exist_ok=True)
    cases = build_cases()
    for case in cases:
        case.write(inbox)
    for mapping in MAPPINGS:
        (mappings / f"{mapping['id']}.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True), "utf-8")
    return cases, inbox, mappings


def corpus_table(cases: list[Case]) -> str:
    lines = ["| file | hazard | expected outcome |", "| --- | --- | --- |"]
    lines += [f"| {c.file_name} | {c.hazard} | {c.expect.describe()} |" for c in cases]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.bad_inputs.make_corpus OUT_DIR")
    written, _, _ = write_corpus(Path(sys.argv[1]))
    print(corpus_table(written))
