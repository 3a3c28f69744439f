"""Shared helpers of the sample generator: seeded random streams, Dutch number and date formatting, strict
encoding of CSV text, and a fast, byte-deterministic XLSX writer.

Everything works on whole columns (numpy arrays, polars expressions); nothing loops over employees.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import openpyxl
import polars as pl

EPOCH = dt.date(1970, 1, 1)
EXCEL_EPOCH_OFFSET = 25569  # Excel serial number of 1970-01-01 in the 1900 date system
FIXED_TIMESTAMP = dt.datetime(2000, 1, 1, 0, 0, 0)  # written into XLSX metadata so files are reproducible
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
STORE_ABOVE_BYTES = 32 * 1024 * 1024  # sheets larger than this are stored, not deflated (see xlsx_bytes)
_NORMAL = NormalDist()


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent random stream per (seed, purpose): changing one part never shifts another."""
    material = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(str(k).encode("utf-8")) for k in keys]
    return np.random.default_rng(np.random.SeedSequence(material))


def day(year: int, month: int, dom: int) -> int:
    """Days since 1970-01-01 of a calendar date."""
    return (dt.date(year, month, dom) - EPOCH).days


def year_start(years: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of 1 January of each year (vectorised)."""
    return (
        (np.asarray(years, dtype=np.int64) - 1970)
        .astype("datetime64[Y]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )


def year_of(days: np.ndarray) -> np.ndarray:
    return (
        np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64)
        + 1970
    )


def quantile(p: float, sd: float = 1.0) -> float:
    """Normal quantile, used to place rating thresholds so that base rates come out as intended."""
    return _NORMAL.inv_cdf(p) * sd


def choice(rng: np.random.Generator, n: int, probs: Sequence[float] | np.ndarray) -> np.ndarray:
    """Category codes 0..k-1 drawn with the given probabilities (normalised)."""
    p = np.asarray(probs, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(p) - 1)


# --------------------------------------------------------------------------------------------- polars columns
def masked(values: np.ndarray | pl.Series, valid: np.ndarray | None) -> pl.Series:
    """A series with nulls where `valid` is False."""
    s = values if isinstance(values, pl.Series) else pl.Series(values)
    if valid is None:
        return s
    return pl.select(pl.when(pl.Series(np.asarray(valid, dtype=bool))).then(s)).to_series()


def labels(names: Sequence[str], codes: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """Map integer codes to label strings; null where `valid` is False."""
    idx = masked(np.asarray(codes, dtype=np.int64), valid)
    return pl.Series(list(names), dtype=pl.String).gather(idx)


def _expr_number(col: pl.Expr, decimals: int) -> pl.Expr:
    scale = 10**decimals
    scaled = (col * scale).round(0).cast(pl.Int64)
    whole = (scaled // scale).cast(pl.String)
    frac = (scaled % scale).cast(pl.String).str.zfill(decimals).str.strip_chars_end("0")
    return pl.when(frac == "").then(whole).otherwise(pl.concat_str([whole, pl.lit(","), frac]))


def _expr_amount(col: pl.Expr) -> pl.Expr:
    cents = (col * 100).round(0).cast(pl.Int64)
    euros = cents // 100
    cc = (cents % 100).cast(pl.String).str.zfill(2)
    mil, th, un = euros // 1_000_000, (euros // 1000) % 1000, euros % 1000
    body = (
        pl.when(mil > 0)
        .then(
            pl.concat_str(
                [
                    mil.cast(pl.String),
                    pl.lit("."),
                    th.cast(pl.String).str.zfill(3),
                    pl.lit("."),
                    un.cast(pl.String).str.zfill(3),
                ]
            )
        )
        .when(th > 0)
        .then(pl.concat_str([th.cast(pl.String), pl.lit("."), un.cast(pl.String).str.zfill(3)]))
        .otherwise(un.cast(pl.String))
    )
    return pl.concat_str([body, pl.lit(","), cc])


def _py_number(x: float, decimals: int) -> str:
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def _py_amount(x: float) -> str:
    return f"{x:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


_LUT_MAX = 4096


def _format(
    values: np.ndarray,
    valid: np.ndarray | None,
    py: Callable[[float], str],
    expr: Callable[[pl.Expr], pl.Expr],
) -> pl.Series:
    v = np.asarray(values, dtype=np.float64)
    if valid is not None:
        v = np.where(valid, v, 0.0)
    if np.any(v < 0):
        raise ValueError("negative amounts are not written by the sample generator")
    uniq, inverse = np.unique(v, return_inverse=True)
    if len(uniq) <= _LUT_MAX:  # few distinct values: format each once in Python
        out = pl.Series([py(x) for x in uniq.tolist()], dtype=pl.String).gather(pl.Series(inverse.ravel()))
    else:
        out = pl.select(expr(pl.lit(pl.Series(v)))).to_series()
    return masked(out, valid)


def dutch_number(values: np.ndarray, valid: np.ndarray | None = None, decimals: int = 2) -> pl.Series:
    """7.5 -> '7,5', 3 -> '3', 0.75 -> '0,75' (decimal comma, trailing zeros trimmed, no grouping)."""
    return _format(values, valid, lambda x: _py_number(x, decimals), lambda e: _expr_number(e, decimals))


def dutch_amount(values: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """45678.9 -> '45.678,90' (thousands '.', decimal ',', always two decimals)."""
    return _format(values, valid, _py_amount, _expr_amount)


def dutch_date(days: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """Days since 1970-01-01 -> 'dd-mm-yyyy' (through a lookup table of the days in range)."""
    d = np.asarray(days, dtype=np.int64)
    if valid is not None:
        d = np.where(valid, d, d[valid].min() if valid.any() else 0)
    if len(d) == 0:
        return pl.Series([], dtype=pl.String)
    lo, hi = int(d.min()), int(d.max())
    lut = pl.Series(np.arange(lo, hi + 1, dtype=np.int32)).cast(pl.Date).dt.strftime("%d-%m-%Y")
    return masked(lut.gather(pl.Series(d - lo)), valid)


def constant(value: str, n: int) -> pl.Series:
    return pl.Series([value], dtype=pl.String).gather(pl.Series(np.zeros(n, dtype=np.int64)))


def csv_bytes(df: pl.DataFrame, encoding: str, line_terminator: str = "\n") -> bytes:
    """`;`-separated text, encoded strictly (an unencodable character raises instead of being replaced)."""
    buf = io.BytesIO()
    df.write_csv(
        buf,
        separator=";",
        null_value="",
        line_terminator=line_terminator,
        quote_style="necessary",
    )
    data = buf.getvalue()  # polars writes UTF-8
    if encoding == "utf-8":
        return data
    if encoding == "utf-8-sig":
        return codecs.BOM_UTF8 + data
    return data.decode("utf-8").encode(encoding, errors="strict")


# ------------------------------------------------------------------------------------------------------ XLSX
@dataclass(frozen=True)
class XlsxColumn:
    """One column of the visible sheet: kind 's' (text), 'n' (number) or 'd' (date, days since 1970)."""

    header: str
    kind: str
    values: pl.Series


def _col_letter(j: int) -> str:
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


def _xml_text(col: pl.Expr) -> pl.Expr:
    return (
        col.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SST_MAX = 4096  # text columns with at most this many distinct values go to the shared-string table
_CT_SST = (
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
_REL_SST = (
    '<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml" Id="rIdSharedStrings"/>'
)


def xlsx_bytes(
    sheet: str,
    columns: Sequence[XlsxColumn],
    hidden_sheet: str,
    hidden_rows: Sequence[Sequence[object]],
    compresslevel: int = 1,
) -> bytes:
    """A workbook with a hidden junk sheet first and the data sheet second (active).

    openpyxl writes the workbook skeleton (styles, sheets, the hidden sheet, the header row and one date cell
    that fixes the date style); the data rows are then written as sheet XML in one vectorised pass, because
    openpyxl's cell-by-cell writer is far too slow for 100,000+ rows. Repeated texts go to a shared-string
    table as Excel does, unique ones (ids, e-mail addresses) are inline strings. Zip entries get a fixed
    timestamp and the document properties a fixed date, so the same data gives the same bytes.
    """
    wb = openpyxl.Workbook()
    junk = wb.active
    assert junk is not None
    junk.title = hidden_sheet
    for row in hidden_rows:
        junk.append(list(row))
    junk.sheet_state = "hidden"
    junk.sheet_view.tabSelected = False
    ws = wb.create_sheet(sheet)
    ws.append([c.header for c in columns])
    probe = ws.cell(row=2, column=1, value=dt.date(2000, 1, 1))
    probe.number_format = "DD-MM-YYYY"
    ws.freeze_panes = "A2"
    ws.sheet_view.tabSelected = True
    wb.active = 1
    wb.properties.creator = "calibra sample generator (synthetic data)"
    wb.properties.created = FIXED_TIMESTAMP
    skeleton = io.BytesIO()
    wb.save(skeleton)

    n = len(columns[0].values) if columns else 0
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(skeleton.getvalue())) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        names = zin.namelist()
        if "xl/sharedStrings.xml" in names:  # pragma: no cover - this openpyxl writes inline strings only
            raise RuntimeError("unexpected shared-string table in the workbook skeleton")
        sheet_xml = zin.read("xl/worksheets/sheet2.xml").decode("utf-8")
        m = re.search(r'<c r="A2"[^>]*\bs="(\d+)"', sheet_xml)
        row2 = re.search(r'<row r="2".*?</row>', sheet_xml, flags=re.S)
        if m is None or row2 is None:  # pragma: no cover - openpyxl always styles a dated cell
            raise RuntimeError("date style or probe row not found in the workbook skeleton")
        rows, sst, refs = _rows_xml(columns, n, date_style=m.group(1))
        last = f"{_col_letter(max(len(columns) - 1, 0))}{n + 1}"
        head = re.sub(
            r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:{last}"/>', sheet_xml[: row2.start()]
        )
        entries: list[tuple[str, bytes]] = []
        for name in names:
            data = zin.read(name)
            if name == "xl/worksheets/sheet2.xml":
                data = head.encode("utf-8") + rows + sheet_xml[row2.end() :].encode("utf-8")
            elif name == "docProps/core.xml":
                stamp = FIXED_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            elif name == "[Content_Types].xml":
                data = data.replace(b"</Types>", _CT_SST.encode() + b"</Types>")
            elif name == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", _REL_SST.encode() + b"</Relationships>")
            entries.append((name, data))
        items = "".join(f'<si><t xml:space="preserve">{_xml_escape(t)}</t></si>' for t in sst)
        entries.append(
            (
                "xl/sharedStrings.xml",
                (
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                    f'count="{refs}" uniqueCount="{len(sst)}">{items}</sst>'
                ).encode(),
            )
        )
        for name, data in entries:
            zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            # Deflating is most of the cost of a very large sheet; such a sheet is stored uncompressed,
            # which every spreadsheet program and reader accepts (a zip entry may be stored or deflated).
            big = len(data) > STORE_ABOVE_BYTES
            zi.compress_type = zipfile.ZIP_STORED if big else zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zout.writestr(zi, data, compresslevel=None if big else compresslevel)
    return out.getvalue()


def _cells(c: XlsxColumn, shared: dict[str, int] | None, date_style: str) -> pl.Series:
    """The `<c>` element of this column for every row.

    Every column gets a cell in every row (an empty `<c/>` for a missing value), so cells need no `r`
    reference: their position is their column, as the format allows. Columns with few distinct values are
    formatted once per distinct value and gathered; only unique texts (ids, e-mail) are built row by row.
    """
    v = c.values
    if shared is not None:
        lead, close = '<c t="s"><v>', "</v></c>"
    elif c.kind == "s":
        lead, close = '<c t="inlineStr"><is><t>', "</t></is></c>"
    elif c.kind == "n":
        lead, close = "<c><v>", "</v></c>"
    elif c.kind == "d":
        lead, close = f'<c s="{date_style}"><v>', "</v></c>"
    else:  # pragma: no cover - programming error
        raise ValueError(f"unknown XLSX column kind {c.kind!r}")
    empty = "<c/>"
    distinct = v.unique(maintain_order=True)
    if len(distinct) <= _LUT_MAX:
        texts: list[str] = []
        for value in distinct.to_list():
            if value is None:
                body = None
            elif shared is not None:
                body = str(shared[value])
            elif c.kind == "s":
                body = _xml_escape(value)
            elif c.kind == "d":
                body = str(int(value) + EXCEL_EPOCH_OFFSET)
            else:
                body = str(value)
            texts.append(empty if body is None else lead + body + close)
        codes = v.replace_strict(
            distinct.drop_nulls(), pl.int_range(0, len(distinct), eager=True).filter(distinct.is_not_null())
        )
        null_code = distinct.to_list().index(None) if distinct.null_count() else 0
        return pl.Series(texts, dtype=pl.String).gather(codes.fill_null(null_code))
    if c.kind == "s":
        body_expr = _xml_text(pl.col("v"))
    elif c.kind == "d":
        body_expr = (pl.col("v").cast(pl.Int64) + EXCEL_EPOCH_OFFSET).cast(pl.String)
    else:
        body_expr = pl.col("v").cast(pl.String)
    full = pl.concat_str([pl.lit(lead), body_expr, pl.lit(close)])
    return (
        v.to_frame("v").select(pl.when(pl.col("v").is_null()).then(pl.lit(empty)).otherwise(full)).to_series()
    )


def _rows_xml(columns: Sequence[XlsxColumn], n: int, date_style: str) -> tuple[bytes, list[str], int]:
    """Sheet rows 2..n+1 as XML bytes, the shared-string table, and the number of shared-string cells."""
    sst: dict[str, int] = {}
    refs = 0
    pieces: list[pl.Series] = []
    for j, c in enumerate(columns):
        shared = None
        if c.kind == "s" and c.values.n_unique() <= _SST_MAX:
            for text in c.values.drop_nulls().unique(maintain_order=True).to_list():
                sst.setdefault(text, len(sst))
            refs += n - c.values.null_count()
            shared = sst
        pieces.append(_cells(c, shared, date_style).alias(f"p{j}"))
    if n == 0 or not columns:
        return b"", list(sst), refs
    frame = pl.DataFrame(pieces).with_columns(
        pl.int_range(2, n + 2, dtype=pl.Int64).cast(pl.String).alias("_r")
    )
    cells = [pl.col(f"p{j}") for j in range(len(columns))]
    row = pl.concat_str([pl.lit('<row r="'), pl.col("_r"), pl.lit('">'), *cells, pl.lit("</row>")])
    buf = io.BytesIO()
    frame.select(row.alias("x")).write_csv(
        buf, include_header=False, quote_style="never", line_terminator="\n"
    )
    return buf.getvalue(), list(sst), refs
