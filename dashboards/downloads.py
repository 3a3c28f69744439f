"""Every table of the site as a download: CSV and XLSX files next to the page, written from the very cells the
page shows (the protected frame, rounded as the page rounds it, hidden cells written as the word "hidden").

CSV: UTF-8 with a byte-order mark (Excel needs it to read UTF-8), `;` and a decimal comma on Dutch pages
(what Dutch-language Excel opens as is), `,` and a decimal point on English pages. XLSX (openpyxl): numbers
stay numbers with the page's number format; a second sheet says what the table is, when the site was built
and what a hidden cell means. Text cells a spreadsheet would read as a formula get a leading apostrophe
(models.publication.neutralise_text, OWASP). No database here; the files are laid out by dashboards.site.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import openpyxl
import polars as pl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from dashboards.i18n import text
from models.publication import neutralise_text

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
    # The rounded, neutralised cells and the files written from them, computed once: a table's CSV and XLSX
    # both need the cells, and a calibration pack writes the same files as the site's department page.
    _values: list[list[Any]] | None = field(default=None, init=False, repr=False, compare=False)
    _files: dict[tuple[Any, ...], bytes] = field(default_factory=dict, init=False, repr=False, compare=False)

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
        if self._values is None:
            self._values = self._rounded_values()
        return self._values

    def _rounded_values(self) -> list[list[Any]]:
        rounded = [
            [self.cell(v, k, d) for v, k, d in zip(row, self.kinds, self.decimals, strict=True)]
            for row in self.rows
        ]
        hidden_word = text("hidden_short", self.language)
        out = []
        for row in rounded:
            out.append([hidden_word if v is HIDDEN else v for v in row])
        return _neutralised(out)


def _neutralised(rows: list[list[Any]]) -> list[list[Any]]:
    """Text cells through models.publication.neutralise_text (one shared rule for every spreadsheet we write)."""
    return [[neutralise_text(v) if isinstance(v, str) else v for v in row] for row in rows]


def _csv_number(value: float | int, decimal_comma: bool) -> str:
    written = repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, float) and value.is_integer():
        written = str(int(value))
    return written.replace(".", ",") if decimal_comma else written


def csv_bytes(table: TableExport) -> bytes:
    """UTF-8 with BOM; Dutch: `;` and decimal comma, English: `,` and decimal point; CRLF line ends."""
    key: tuple[Any, ...] = ("csv", table.title, table.explain)
    if key not in table._files:
        table._files[key] = _csv_bytes(table)
    return table._files[key]


def _csv_bytes(table: TableExport) -> bytes:
    dutch = table.language == "nl"
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if dutch else ",", lineterminator="\r\n")
    writer.writerow(_neutralised([table.header_row()])[0])
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


_CORE_DATES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")
_NUMBER_FORMATS = ("#,##0", '"€" #,##0', "0", "0.0", "0.00", "0.000")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _number_format(kind: str, decimals: int) -> str:
    if kind == "int":
        return "#,##0"
    if kind == "money":
        return '"€" #,##0'
    return "0" if decimals <= 0 else "0." + "0" * min(decimals, 3)


@functools.cache
def _skeleton(language: str) -> tuple[dict[str, bytes], dict[str, int]]:
    """An openpyxl workbook with the two sheets, a bold header style and every number format used, saved
    once per language: its parts and the style id of each format. Building and saving a workbook with
    openpyxl for each of a site's hundred-odd tables cost seconds; the sheets are written as XML instead."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = text("download_sheet", language)
    sheet["A1"] = "header"
    sheet["A1"].font = Font(bold=True)
    for column, fmt in enumerate(_NUMBER_FORMATS, start=1):
        cell = sheet.cell(row=2, column=column, value=1)
        cell.number_format = fmt
    notes = workbook.create_sheet(text("download_about_sheet", language))
    notes["A1"] = "about"
    workbook.properties.creator = "calibra"
    raw = io.BytesIO()
    workbook.save(raw)
    with zipfile.ZipFile(raw) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    first = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    styles = {"bold": int(re.search(r'<c r="A1" s="(\d+)"', first).group(1))}  # type: ignore[union-attr]
    for column, fmt in enumerate(_NUMBER_FORMATS):
        letter = openpyxl.utils.get_column_letter(column + 1)
        styles[fmt] = int(re.search(rf'<c r="{letter}2" s="(\d+)"', first).group(1))  # type: ignore[union-attr]
    return parts, styles


def _text_cell(reference: str, value: str, style: int | None = None) -> str:
    cleaned = xml_escape(ILLEGAL_CHARACTERS_RE.sub("", value)).replace("\r", "&#13;")
    styled = f' s="{style}"' if style is not None else ""
    return f'<c r="{reference}" t="inlineStr"{styled}><is><t xml:space="preserve">{cleaned}</t></is></c>'


def _sheet(
    rows: Sequence[Sequence[Any]], widths: Sequence[float], styles: Sequence[int | None], frozen: bool
) -> bytes:
    """Sheet XML: text as inline strings, numbers as numbers with their style, empty cells left out."""
    out = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">']
    if frozen:
        out.append(
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft"'
            ' state="frozen"/></sheetView></sheetViews>'
        )
    out.append('<sheetFormatPr defaultRowHeight="15"/><cols>')
    for index, width in enumerate(widths, start=1):
        out.append(f'<col min="{index}" max="{index}" width="{width:g}" customWidth="1"/>')
    out.append("</cols><sheetData>")
    letters = [openpyxl.utils.get_column_letter(i + 1) for i in range(max((len(r) for r in rows), default=0))]
    for number, row in enumerate(rows, start=1):
        cells = []
        for index, value in enumerate(row):
            reference = f"{letters[index]}{number}"
            style = styles[index] if index < len(styles) else None
            if value is None or value == "":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                cells.append(_text_cell(reference, str(value)))
            else:
                cells.append(f'<c r="{reference}" s="{style or 0}"><v>{value!r}</v></c>')
        out.append(f'<row r="{number}">{"".join(cells)}</row>')
    out.append("</sheetData></worksheet>")
    return "".join(out).encode("utf-8")


def xlsx_bytes(table: TableExport, built_at: datetime, about: Sequence[str] = ()) -> bytes:
    """A workbook with the table (sheet 1) and what it is (sheet 2). Byte-for-byte the same for the same
    table and build time: the zip entries and document properties carry the build time, not the clock."""
    key = ("xlsx", table.title, table.explain, built_at, tuple(about))
    if key not in table._files:
        table._files[key] = _xlsx_bytes(table, built_at, about)
    return table._files[key]


def _xlsx_bytes(table: TableExport, built_at: datetime, about: Sequence[str]) -> bytes:
    parts, style_ids = _skeleton(table.language)
    header = _neutralised([table.header_row()])[0]
    values = table.values()
    widths = [
        min(60, max(8, max([len(str(h))] + [len(str(r[i])) for r in values[:200]]) + 2))
        for i, h in enumerate(header)
    ]
    formats = [
        style_ids[_number_format(k, d)] if k in NUMERIC else None
        for k, d in zip(table.kinds, table.decimals, strict=True)
    ]
    bold = style_ids["bold"]
    first = _sheet([header, *values], widths, formats, frozen=True)
    # The header row in bold: its cells carry the bold style (numbers never stand in it).
    first = re.sub(
        rb'(<row r="1">.*?</row>)',
        lambda m: m.group(1).replace(b't="inlineStr"', f't="inlineStr" s="{bold}"'.encode()),
        first,
        count=1,
        flags=re.S,
    )
    lines = [line for line in [table.title, table.explain, *about] if line]
    second = _sheet(_neutralised([[line] for line in lines]), [120], [None], frozen=False)
    stamp = built_at.replace(tzinfo=None, microsecond=0)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for name, content in parts.items():
            if name == "xl/worksheets/sheet1.xml":
                content = first
            elif name == "xl/worksheets/sheet2.xml":
                content = second
            elif name == "docProps/core.xml":
                content = _CORE_DATES.sub(lambda m: m.group(1) + iso + m.group(3), content)
            entry = zipfile.ZipInfo(name, date_time=date_time)
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
