"""Read one export file into a frame of text cells, exactly as written: no type guessing, no lossy decoding.

Structural problems (undecodable bytes, a wrong delimiter, duplicated or missing headers, ragged lines) raise
FileRejected naming the file and, where known, the row and column. Values are typed later, per contract.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from pathlib import Path

import polars as pl

from models.errors import FileRejected
from models.mapping import Mapping

ROW = "_row"  # 1-based row number in the source, header = row 1

# Limits checked before a file is read, so that memory stays bounded whatever a file declares or hides.
# A text export is decoded and parsed in memory (about six times its size at the peak, measured:
# 1.4 GB for a 200 MB file, 0.3 GB of it the libraries).
MAX_TEXT_BYTES = 512 << 20
# A workbook is a zip: each part is inflated and checked (not trusted by its declared size) before the
# spreadsheet reader sees it. The reader keeps the shared strings whole and lays every sheet out densely
# over its extent (last row × last column, about 32 bytes a cell): a 2.5 KB file with one cell at
# XFD1048576 asks for 17 billion cells.
MAX_XLSX_PART_BYTES = 256 << 20  # shared strings, styles, the workbook part
MAX_XLSX_SHEET_BYTES = 1 << 30  # the XML of one sheet (streamed by the reader, so only time)
MAX_XLSX_CELLS = 25_000_000  # extent of the sheet that is read: ~800 MB in the reader
MAX_XLSX_COLUMNS = 702  # column ZZ
# A Parquet file is inflated column by column: its uncompressed size is bounded, as for text.
MAX_PARQUET_BYTES = 1 << 30


def decode_strict(data: bytes, encoding: str, file_name: str) -> str:
    """Decode without replacement characters; 'auto' accepts UTF-16 or UTF-8 (with or without BOM)."""
    if encoding == "auto":
        encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    elif encoding == "utf-8" and data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"  # a BOM is harmless; it must not end up inside the first header
    elif encoding == "cp1252" and _is_utf8(data):
        # cp1252 decodes almost any byte, so UTF-8 read as cp1252 would load as 'FinanciÃ«n' without an error.
        raise FileRejected(
            file_name,
            "the file is UTF-8, but its mapping says cp1252; set encoding: utf-8 in the mapping",
            rule="encoding",
        )
    elif encoding == "cp1252" and (line := _utf8_line(data)) is not None:
        # The same, row by row: one row pasted from a UTF-8 source into a cp1252 export.
        raise FileRejected(
            file_name,
            "this row is written in UTF-8 while the rest of the file is cp1252 (mixed encodings); "
            "export the whole file again in one encoding",
            row=line,
            rule="encoding",
        )
    try:
        text = data.decode(encoding, errors="strict")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(
            file_name,
            f"the bytes are not valid {encoding} (byte {exc.start}); export the file as {encoding} "
            f"or set the encoding in its mapping{_utf16_hint(data)}",
            row=line,
            rule="encoding",
        ) from None
    if "\ufffd" in text:
        line = text[: text.index("\ufffd")].count("\n") + 1
        raise FileRejected(
            file_name, "the text contains replacement characters (U+FFFD)", row=line, rule="encoding"
        )
    mojibake = _MOJIBAKE.search(text)
    if mojibake:
        # UTF-8 that was once read as cp1252 and saved again ('FinanciÃ«n'): decoding right cannot repair it.
        line = text[: mojibake.start()].count("\n") + 1
        raise FileRejected(
            file_name,
            "this row holds text that was decoded twice (UTF-8 read as cp1252, e.g. 'Ã«' for 'ë'); "
            "export the file again from the source system",
            row=line,
            rule="encoding",
        )
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise FileRejected(
            file_name,
            f"the file contains NUL bytes (truncated or binary?){_utf16_hint(data)}",
            row=line,
            rule="encoding",
        )
    return text


def _is_utf8(data: bytes) -> bool:
    """Non-ASCII bytes that form valid UTF-8 (or a UTF-8 BOM): real cp1252 text practically never does."""
    if data.startswith(codecs.BOM_UTF8):
        return True
    if data.isascii():
        return False
    try:
        data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    return True


# A multi-byte UTF-8 sequence; in cp1252 text these byte pairs are a capital accented letter followed by a
# typographic symbol ('Ã«'), which Dutch and French text practically never holds.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# The same sequences after a wrong cp1252 decoding (Ã« Ã© â€™ …), as they appear in decoded text.
_MOJIBAKE = re.compile(
    "[\u00c2-\u00c3][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]|\u00e2\u20ac[\u0080-\u00bf\u2018-\u201e\u2122\u0153\u009d]"
)


def _utf8_line(data: bytes) -> int | None:
    """The first line holding a UTF-8 multi-byte sequence, in bytes meant to be cp1252."""
    found = _UTF8_SEQUENCE.search(data)
    return data[: found.start()].count(b"\n") + 1 if found else None


def _utf16_hint(data: bytes) -> str:
    """UTF-16 (Excel's 'Unicode text') puts a NUL beside every ASCII character."""
    sample = data[:4096]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        len(sample) >= 4 and sample.count(0) * 3 >= len(sample)
    ):
        return "; it looks like UTF-16: set encoding: utf-16 in the mapping"
    return ""


def _check_headers(headers: list[str], file_name: str) -> list[str]:
    cleaned = [h.strip().lstrip("\ufeff") for h in headers]
    # Excel leaves trailing empty columns (`;;;`) — drop them, but an empty header in the middle is an error.
    while cleaned and cleaned[-1] == "":
        cleaned.pop()
    if not cleaned:
        raise FileRejected(file_name, "the file has no header row", row=1, rule="structure")
    for position, header in enumerate(cleaned, start=1):
        if header == "":
            raise FileRejected(file_name, f"header {position} is empty", row=1, rule="structure")
    seen: set[str] = set()
    for header in cleaned:
        if header.lower() in seen:
            raise FileRejected(file_name, "the header appears twice", row=1, column=header, rule="structure")
        seen.add(header.lower())
    return cleaned


def read_csv_text(text: str, delimiter: str, file_name: str) -> pl.DataFrame:
    first_line = next(csv.reader(io.StringIO(text), delimiter=delimiter), None)
    return read_csv_payload(text.encode("utf-8"), first_line, delimiter, file_name)


def read_csv_payload(
    payload: bytes, first_line: list[str] | None, delimiter: str, file_name: str
) -> pl.DataFrame:
    """The rows of a delimited text already checked and in UTF-8 (`payload`), under its parsed header."""
    if first_line is None:
        raise FileRejected(file_name, "the file is empty", rule="structure")
    headers = _check_headers(first_line, file_name)
    try:
        frame = pl.read_csv(
            io.BytesIO(payload),
            separator=delimiter,
            has_header=True,
            infer_schema=False,
            new_columns=headers + [f"_extra_{i}" for i in range(len(first_line) - len(headers))],
            empty_string_is_null=True,
            quote_char='"',
        )
    except pl.exceptions.PolarsError as exc:
        raise FileRejected(
            file_name,
            f"the rows do not fit the header ({type(exc).__name__}); ragged or truncated file?",
            rule="structure",
        ) from None
    extra = [c for c in frame.columns if c.startswith("_extra_")]
    if extra:
        if (
            frame.select(
                pl.any_horizontal(pl.col(extra).is_not_null() & (pl.col(extra).str.strip_chars() != ""))
            )
            .to_series()
            .any()
        ):
            raise FileRejected(file_name, "some rows have more cells than the header", rule="structure")
        frame = frame.drop(extra)
    return frame


def uses_1904_dates(path: Path) -> bool:
    """Whether the workbook counts dates from 1904 (old Mac Excel): serial numbers then mean 4 years later.

    The workbook part is read in pieces, at most MAX_XLSX_PART_BYTES of it (a part can inflate to
    gigabytes); `workbookPr` comes near its start."""
    pattern = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904\s*=\s*[\"'](1|true)[\"']")
    try:
        with zipfile.ZipFile(path) as archive, archive.open("xl/workbook.xml") as part:
            tail = b""
            read = 0
            while read < MAX_XLSX_PART_BYTES:
                chunk = part.read(1 << 20)
                if not chunk:
                    return False
                read += len(chunk)
                window = tail + chunk
                if pattern.search(window):
                    return True
                if b"<sheets" in window or b":sheets" in window:
                    return False  # workbookPr comes before the sheet list
                tail = window[-4096:]
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error, NotImplementedError):
        return False  # the reader below rejects what cannot be opened
    return False


_ROW_TAG = re.compile(rb'<row\s+r="([0-9]{1,9})"')
_WIDE_REF = re.compile(rb'r="([A-Z]{2,3})[0-9]')  # a cell reference of column AA and beyond
_ANY_REF = re.compile(rb'r="[A-Z]')
_CELL_ROW = re.compile(rb'r="[A-Z]{1,3}([0-9]{1,9})"')
_BARE_CELL = re.compile(rb'<c(?:>|/>|(?=\s)(?![^>]*\sr="))')  # a cell without a reference
MAX_ROW_XML = 64 << 20  # one row's XML; more is not a table


def _fullest_row(block: bytes) -> int:
    """The number of cells in the fullest row of `block` (whole rows), counted with numpy: where each
    `<c ` / `<c>` / `<c/>` starts, and which `<row` starts before it."""
    import numpy as np

    data = np.frombuffer(block, dtype=np.uint8)
    if data.size < 4:
        return 0
    lt, c = data[:-2] == 60, data[1:-1] == 99  # '<', 'c'
    after = data[2:]
    cells = np.flatnonzero(
        lt
        & c
        & ((after == 32) | (after == 62) | (after == 47) | (after == 9) | (after == 10) | (after == 13))
    )
    rows = np.flatnonzero(
        (data[:-3] == 60) & (data[1:-2] == 114) & (data[2:-1] == 111) & (data[3:] == 119)
    )  # '<row'
    if cells.size == 0:
        return 0
    owner = np.searchsorted(rows, cells, side="right")
    return int(np.bincount(owner).max())


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _row_bound(rows: int) -> tuple[int, bytes]:
    """A bound just above `rows` (its two leading digits, plus one) and a regex for a cell reference of a
    row past that bound: one cheap search instead of comparing every cell with its row."""
    digits = str(max(rows, 10))
    first, second, rest = int(digits[0]), int(digits[1]), len(digits) - 2
    bound = (first * 10 + second + 1) * 10**rest - 1
    beyond = [f"[0-9]{{{len(digits) + 1},}}"]
    if first < 9:
        beyond.append(f"[{first + 1}-9][0-9]{{{rest + 1}}}")
    if second < 9:
        beyond.append(f"{first}[{second + 1}-9][0-9]{{{rest}}}")
    pattern = rb'r="[A-Z]{1,3}(?:' + "|".join(beyond).encode() + rb')"'
    return bound, pattern


class _SheetExtent:
    """A bound on the extent the spreadsheet reader lays out for one sheet, found in one pass over its XML
    without looking at each cell in Python: rows by their tags (a row without a number follows the one
    before), columns by the widest cell reference, plus the cells of the fullest row when some cells carry
    no reference (the reader places those after the previous cell). A cell whose reference points below the
    rows seen is found by one search per piece. The bound errs high, never low."""

    def __init__(self) -> None:
        self.rows = 0
        self.row_cells = 0  # cells of the fullest row, once some cell has no reference
        self.ref_columns = 0
        self.bare_cells = False
        self.pending = b""

    @property
    def columns(self) -> int:
        return self.ref_columns + (self.row_cells if self.bare_cells else 0)

    def add(self, chunk: bytes, file_name: str, part: str) -> None:
        data = self.pending + chunk
        end = data.rfind(b"</row>")
        cut = end + len(b"</row>") if end >= 0 else 0
        block, self.pending = data[:cut], data[cut:]
        if len(self.pending) > MAX_ROW_XML:
            raise _too_big(file_name, part, len(self.pending), MAX_ROW_XML)
        if not block:
            return
        tags = _ROW_TAG.findall(block)
        unnumbered = block.count(b"<row") - len(tags)  # each follows the row before it
        self.rows = max(self.rows, *(int(t) for t in tags)) + unnumbered if tags else self.rows + unnumbered
        if not self.bare_cells:
            # (literal counts first: when every cell starts with its reference there is nothing to search)
            cells = block.count(b"<c ") + block.count(b"<c>") + block.count(b"<c/>")
            if cells != block.count(b'<c r="') and _BARE_CELL.search(block):
                self.bare_cells = True
        if self.bare_cells:
            self.row_cells = max(self.row_cells, _fullest_row(block))
        if _ANY_REF.search(block):
            wide = set(_WIDE_REF.findall(block))
            self.ref_columns = max(self.ref_columns, 26, *(_column_number(w) for w in wide))
        bound, beyond = _row_bound(self.rows)
        if re.search(beyond, block):  # a cell far below every row tag: measured cell by cell here
            self.rows = max(self.rows, *(int(r) for r in _CELL_ROW.findall(block)))
        else:
            self.rows = max(self.rows, bound)


def check_workbook_bounds(path: Path, file_name: str) -> None:
    """Reject a workbook whose parts inflate beyond the limits or whose sheets span too many cells, before
    the spreadsheet reader allocates anything. Every part is inflated here as a stream (declared sizes can
    lie; a lie ends in a CRC error) and the sheets' cell references are scanned for their extent."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return  # not a zip: the reader rejects it ("cannot be opened")
    with archive:
        for info in archive.infolist():
            sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
            limit = MAX_XLSX_SHEET_BYTES if sheet else MAX_XLSX_PART_BYTES
            if info.file_size > limit:
                raise _too_big(file_name, info.filename, info.file_size, limit)
            try:
                _scan_part(archive, info, limit, file_name, sheet)
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError):
                raise FileRejected(
                    file_name,
                    f"the workbook cannot be opened (part {info.filename} is damaged or encrypted)",
                    rule="structure",
                ) from None


def _too_big(file_name: str, part: str, size: int, limit: int) -> FileRejected:
    return FileRejected(
        file_name,
        f"part {part} of the workbook inflates to more than {limit >> 20} MB (at least {size >> 20} MB); "
        "export only the sheet and columns calibra needs",
        rule="size_limit",
    )


def _scan_part(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, file_name: str, sheet: bool
) -> None:
    read = 0
    extent = _SheetExtent()
    with archive.open(info) as part:
        while chunk := part.read(4 << 20):
            read += len(chunk)
            if read > limit:
                raise _too_big(file_name, info.filename, read, limit)
            if not sheet:
                continue
            extent.add(chunk, file_name, info.filename)  # whole rows only; the rest waits for the next piece
            if extent.columns > MAX_XLSX_COLUMNS or extent.rows * extent.columns > MAX_XLSX_CELLS:
                raise FileRejected(
                    file_name,
                    f"a sheet ({info.filename}) reaches row {extent.rows:,} and column "
                    f"{extent.columns:,}: more than {MAX_XLSX_CELLS:,} cells or {MAX_XLSX_COLUMNS} "
                    "columns; delete what lies far outside the table (Ctrl+End shows the last cell) and "
                    "save again",
                    rule="size_limit",
                )


def read_xlsx(path: Path, sheet: str | None, file_name: str, excel_dates: bool = False) -> pl.DataFrame:
    import fastexcel  # the calamine reader; polars.read_excel uses it too

    check_workbook_bounds(path, file_name)
    if excel_dates and uses_1904_dates(path):
        # Date-formatted cells are converted right by the reader; bare serial numbers would shift 4 years.
        raise FileRejected(
            file_name,
            "the workbook uses the 1904 date system, so its bare date serial numbers would be read 4 years "
            "off; save it with the 1900 date system (Excel: Options > Advanced) or set excel_dates: false",
            rule="date_system",
        )

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error classes for corrupt files
        raise FileRejected(
            file_name, f"the workbook cannot be opened ({type(exc).__name__})", rule="structure"
        ) from None
    names = reader.sheet_names
    if sheet is None:
        visible = [n for n in names if reader.load_sheet(n, n_rows=0).visible == "visible"]
        if len(visible) != 1:
            raise FileRejected(
                file_name,
                "the workbook has several visible sheets; name one in the mapping",
                rule="structure",
            )
        sheet = visible[0]
    if sheet not in names:
        raise FileRejected(file_name, f"the workbook has no sheet named '{sheet}'", rule="structure")
    # One load of the whole sheet as text (calamine parses a sheet completely even for its first row, so
    # reading the header and the data separately parsed every large workbook twice).
    whole = pl.from_arrow(reader.load_sheet(sheet, header_row=None, dtypes="string").to_arrow())
    assert isinstance(whole, pl.DataFrame)
    if whole.height == 0:
        raise FileRejected(file_name, f"sheet '{sheet}' is empty", rule="structure")
    raw_headers = ["" if v is None else str(v) for v in whole.row(0)]
    headers = _check_headers(raw_headers, file_name)
    frame = whole.slice(1).select(whole.columns[: len(headers)])
    frame.columns = headers
    return frame.with_columns(pl.all().cast(pl.String))


def read_parquet(path: Path, file_name: str, wanted: set[str] | None = None) -> pl.DataFrame:
    """A Parquet file of flat columns, within the size limit; a nested column (lists, structs, maps) that is
    `wanted` (lower-case names; None: every column) is refused by name, a cell must be one value; one that
    is not wanted is dropped like any unmapped column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(path).metadata
        schema = metadata.schema.to_arrow_schema()
    except Exception:  # pyarrow raises its own error classes for what is not Parquet
        raise FileRejected(file_name, "the Parquet file cannot be read", rule="structure") from None
    nested = [field for field in schema if pa.types.is_nested(field.type)]
    for field in nested:
        if wanted is None or field.name.strip().lower() in wanted:
            raise FileRejected(
                file_name,
                f"the column holds lists or records ({field.type}), not one value per cell; "
                "export it flat, one column per value",
                column=field.name,
                rule="structure",
            )
    inflated = sum(
        metadata.row_group(g).column(c).total_uncompressed_size
        for g in range(metadata.num_row_groups)
        for c in range(metadata.num_columns)
    )
    if inflated > MAX_PARQUET_BYTES:
        raise FileRejected(
            file_name,
            f"the Parquet file inflates to {inflated >> 20} MB, more than the {MAX_PARQUET_BYTES >> 20} MB "
            "calibra reads at once; export one cycle or organisation per file",
            rule="size_limit",
        )
    flat = [field.name for field in schema if not pa.types.is_nested(field.type)]
    try:
        frame = pl.read_parquet(path, columns=flat)
        return frame.with_columns(pl.all().cast(pl.String))
    except Exception:  # polars raises its own error classes for damaged pages or uncastable types
        raise FileRejected(
            file_name, "the Parquet file cannot be read as text cells (damaged?)", rule="structure"
        ) from None


def read_source(path: Path, mapping: Mapping) -> pl.DataFrame:
    """Text cells of the file with a `_row` column; trimmed, empty cells as null."""
    file_name = path.name
    if mapping.format == "parquet":
        if mapping.canonical:
            from models.contracts import load_contract

            wanted = {name.lower() for name in load_contract(mapping.kind).names}
        else:
            wanted = {header.lower() for header in mapping.columns}
        frame = read_parquet(path, file_name, wanted)
    elif mapping.format == "xlsx":
        frame = read_xlsx(path, mapping.sheet, file_name, mapping.excel_dates)
    else:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise FileRejected(
                file_name,
                f"the file is {size >> 20} MB, more than the {MAX_TEXT_BYTES >> 20} MB calibra reads at "
                "once; export one cycle or organisation per file",
                rule="size_limit",
            )
        data = path.read_bytes()
        if not data.strip():
            raise FileRejected(file_name, "the file is empty", rule="structure")
        text = decode_strict(data, mapping.encoding, file_name)
        # Memory: the file's bytes, its text and polars' frame would be three copies at once. Bytes that are
        # already UTF-8 (checked by the strict decoding) go to polars as they are; otherwise the text is
        # encoded once and the bytes let go.
        first_line = next(csv.reader(io.StringIO(text[: 1 << 20]), delimiter=mapping.delimiter), None)
        boms = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        if mapping.encoding in ("utf-8", "utf-8-sig", "auto") and not data.startswith(boms):
            payload = data
        else:
            payload = text.encode("utf-8")
        del data, text
        frame = read_csv_payload(payload, first_line, mapping.delimiter, file_name)
        del payload
    frame = frame.with_columns(pl.col(pl.String).str.strip_chars()).with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in frame.columns
    )
    return frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
