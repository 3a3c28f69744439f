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
from pathlib import Path

import polars as pl

from models.errors import FileRejected
from models.mapping import Mapping

ROW = "_row"  # 1-based row number in the source, header = row 1


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
        raise FileRejected(file_name, "the text contains replacement characters (U+FFFD)", rule="encoding")
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
    if first_line is None:
        raise FileRejected(file_name, "the file is empty", rule="structure")
    headers = _check_headers(first_line, file_name)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
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
    """Whether the workbook counts dates from 1904 (old Mac Excel): serial numbers then mean 4 years later."""
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = archive.read("xl/workbook.xml")
    except (zipfile.BadZipFile, KeyError, OSError):
        return False  # the reader below rejects what cannot be opened
    found = re.search(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904\s*=\s*[\"'](1|true)[\"']", workbook)
    return found is not None


def read_xlsx(path: Path, sheet: str | None, file_name: str, excel_dates: bool = False) -> pl.DataFrame:
    import fastexcel  # the calamine reader; polars.read_excel uses it too

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


def read_source(path: Path, mapping: Mapping) -> pl.DataFrame:
    """Text cells of the file with a `_row` column; trimmed, empty cells as null."""
    file_name = path.name
    if mapping.format == "parquet":
        try:
            frame = pl.read_parquet(path)
        except Exception:
            raise FileRejected(file_name, "the Parquet file cannot be read", rule="structure") from None
        frame = frame.with_columns(pl.all().cast(pl.String))
    elif mapping.format == "xlsx":
        frame = read_xlsx(path, mapping.sheet, file_name, mapping.excel_dates)
    else:
        data = path.read_bytes()
        if not data.strip():
            raise FileRejected(file_name, "the file is empty", rule="structure")
        text = decode_strict(data, mapping.encoding, file_name)
        frame = read_csv_text(text, mapping.delimiter, file_name)
    frame = frame.with_columns(pl.col(pl.String).str.strip_chars()).with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in frame.columns
    )
    return frame.with_row_index(ROW, offset=2).with_columns(pl.col(ROW).cast(pl.Int64))
