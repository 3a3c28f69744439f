"""Every table of the site as a download: CSV and XLSX files next to the page, written from the very cells the
page shows (the protected frame, rounded as the page rounds it, hidden cells written as the word "hidden").

CSV: UTF-8 with a byte-order mark (Excel needs it to read UTF-8), `;` and a decimal comma on Dutch pages
(what Dutch-language Excel opens as is), `,` and a decimal point on English pages. XLSX (openpyxl): numbers
stay numbers with the page's number format; a second sheet says what the table is, when the site was built
and what a hidden cell means. Text cells a spreadsheet would read as a formula get a leading apostrophe
(models.publication.neutralise, OWASP). No database here; the files are laid out by dashboards.site.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import openpyxl
import polars as pl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from dashboards.i18n import text
from models.publication import neutralise

NUMERIC = ("int", "num", "pct", "money")


class Hidden:
    """A cell the page hides (suppressed for privacy); written as the word for "hidden"."""

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "HIDDEN"


HIDDEN = Hidden()


@dataclass
class TableExport:
    """One table as the page shows it: headers, column kinds and rows of plain values (HIDDEN, None, number,
    text). `title` and `explain` go into the workbook's second sheet."""

    language: str
    headers: list[str]
    kinds: list[str]
    decimals: list[int]
    rows: list[list[Any]]
    title: str = ""
    explain: str = ""

    def cell(self, value: Any, kind: str, decimals: int) -> Any:
        """The value as the page rounds it (no more precision than published)."""
        if value is None or value is HIDDEN:
            return value
        if kind == "int":
            return int(value)
        if kind == "money":
            return round(float(value))
        if kind == "pct":
            return round(100 * float(value), decimals)
        if kind == "num":
            return round(float(value), decimals)
        if kind == "flag":
            if isinstance(value, bool):
                return text("yes", self.language) if value else ""
            return str(value)
        return str(value)

    def header_row(self) -> list[str]:
        suffix = {"pct": " (%)", "money": " (€)"}
        return [h + suffix.get(k, "") for h, k in zip(self.headers, self.kinds, strict=True)]

    def values(self) -> list[list[Any]]:
        """Rounded cells, text cells neutralised against formula injection."""
        rounded = [
            [self.cell(v, k, d) for v, k, d in zip(row, self.kinds, self.decimals, strict=True)]
            for row in self.rows
        ]
        hidden_word = text("hidden_short", self.language)
        out = []
        for row in rounded:
            out.append([hidden_word if v is HIDDEN else v for v in row])
        return _neutralised(out, len(self.headers))


def _neutralised(rows: list[list[Any]], width: int) -> list[list[Any]]:
    """Text cells through models.publication.neutralise (one shared rule for every spreadsheet we write)."""
    if not rows:
        return rows
    texts = {
        str(i): [v if isinstance(v, str) else None for v in (r[i] for r in rows)]
        for i in range(width)
        if any(isinstance(r[i], str) for r in rows)
    }
    if not texts:
        return rows
    safe = neutralise(pl.DataFrame(texts, schema=dict.fromkeys(texts, pl.String)))
    out = [list(r) for r in rows]
    for key in texts:
        column = safe[key].to_list()
        index = int(key)
        for r, value in enumerate(column):
            if value is not None:
                out[r][index] = value
    return out


def _csv_number(value: float | int, decimal_comma: bool) -> str:
    written = repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, float) and value.is_integer():
        written = str(int(value))
    return written.replace(".", ",") if decimal_comma else written


def csv_bytes(table: TableExport) -> bytes:
    """UTF-8 with BOM; Dutch: `;` and decimal comma, English: `,` and decimal point; CRLF line ends."""
    dutch = table.language == "nl"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if dutch else ",", lineterminator="\r\n")
    writer.writerow(_neutralised([table.header_row()], len(table.headers))[0])
    for row in table.values():
        writer.writerow(
            [
                ""
                if v is None
                else _csv_number(v, dutch)
                if isinstance(v, int | float) and not isinstance(v, bool)
                else v
                for v in row
            ]
        )
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


_FORMATS = {"int": "#,##0", "money": '"€" #,##0', "pct": "0.0", "num": "0.00"}
_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def _clean(value: Any) -> Any:
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def xlsx_bytes(table: TableExport, built_at: datetime, about: Sequence[str] = ()) -> bytes:
    """A workbook with the table (sheet 1) and what it is (sheet 2). Byte-for-byte the same for the same
    table and build time: the zip entries and document properties carry the build time, not the clock."""
    language = table.language
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = text("download_sheet", language)
    sheet.append([_clean(h) for h in _neutralised([table.header_row()], len(table.headers))[0]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in table.values():
        sheet.append([_clean(v) for v in row])
    for index, (kind, decimals) in enumerate(zip(table.kinds, table.decimals, strict=True), start=1):
        fmt = _FORMATS.get(kind)
        if kind in ("pct", "num"):
            fmt = "0" if decimals <= 0 else "0." + "0" * decimals
        letter = openpyxl.utils.get_column_letter(index)
        width = max(
            [len(str(table.header_row()[index - 1]))] + [len(str(r[index - 1])) for r in table.rows[:200]]
        )
        sheet.column_dimensions[letter].width = min(60, max(8, width + 2))
        if fmt:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                if isinstance(cell.value, int | float):
                    cell.number_format = fmt
    notes = workbook.create_sheet(text("download_about_sheet", language))
    for line in [table.title, table.explain, *about]:
        if line:
            notes.append([_clean(_neutralised([[line]], 1)[0][0])])
    notes.column_dimensions["A"].width = 120
    workbook.properties.creator = "calibra"
    stamp = built_at.replace(tzinfo=None, microsecond=0)
    workbook.properties.created = stamp
    raw = io.BytesIO()
    workbook.save(raw)
    return _deterministic_zip(raw.getvalue(), stamp)


def _deterministic_zip(data: bytes, stamp: datetime) -> bytes:
    """The same zip with every entry dated `stamp` (openpyxl dates entries and `modified` by the clock)."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(lambda m: m.group(1) + iso + m.group(3), content)
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return out.getvalue()


def export_from_frame(frame: pl.DataFrame, columns: Sequence[Any], language: str) -> TableExport:
    """The export of `html_table(frame, columns, language)`: the same columns, the same hidden cells."""
    present = [c for c in columns if c.name in frame.columns]
    rows = []
    for record in frame.iter_rows(named=True):
        row = []
        for column in present:
            flag = column.hidden_flag
            hidden = bool(record.get(flag)) if flag and flag in record else False
            value = record[column.name]
            row.append(HIDDEN if value is None and hidden else value)
        rows.append(row)
    return TableExport(
        language=language,
        headers=[c.header for c in present],
        kinds=[c.kind for c in present],
        decimals=[c.decimals if c.kind != "money" else 0 for c in present],
        rows=rows,
    )
