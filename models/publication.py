"""The publication list (Z-9): rewards that are made public inside the organisation, with their argumentation.

`publication_list` selects, for every organisation whose policy has `argumentation.publish_structural_above_pct`,
the structural rewards above that percentage and — when `compliance.publish_incidental` is set — every
incidental reward (award types with `incidental: true`). A policy without the parameter publishes nothing.

`export_publication_list` writes one CSV and one XLSX per organisation and cycle. Every text cell that a
spreadsheet would read as a formula (starting with =, +, -, @, tab or carriage return) is neutralised with a
leading apostrophe (OWASP; RELIABILITY.md). Files are written atomically and readable by their owner only:
the list holds pseudonymised personal data and free text.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import openpyxl
import polars as pl

from models.policy import Policy
from models.rules import conform

KEYS = ["organization", "cycle", "employee_id"]

PUBLICATION_SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "department": pl.String(),
    "employee_id": pl.String(),
    "award_type": pl.String(),
    "award_label_nl": pl.String(),
    "award_label_en": pl.String(),
    "incidental": pl.Boolean(),
    "reason": pl.String(),
    "rating": pl.String(),
    "pct": pl.Float64(),
    "amount": pl.Float64(),
    "amount_basis": pl.String(),
    "group_id": pl.String(),
    "argumentation": pl.String(),
    "argument_competences": pl.String(),
    "argument_results": pl.String(),
}

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET = "Publicatie"
SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,40}$")
_XML_ILLEGAL = "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
_XML_SPECIAL = ["&", "<", ">", "\ufffe", "\uffff"] + [chr(c) for c in range(0x20) if c not in (0x09, 0x0A)]


EVALUATION_COLUMNS = (*KEYS, "department", "rating", "argument_competences", "argument_results")


def publishing_organizations(policies: Mapping[str, Policy]) -> list[str]:
    """Organisations whose policy publishes rewards (argumentation.publish_structural_above_pct, Z-9)."""
    return sorted(
        org
        for org, policy in policies.items()
        if policy.typed.argumentation.publish_structural_above_pct is not None
    )


def _award_frame(policy: Policy) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "award_type": [a.code for a in policy.award_types],
            "award_label_nl": [a.label.get("nl", a.code) for a in policy.award_types],
            "award_label_en": [a.label.get("en", a.code) for a in policy.award_types],
            "incidental": [a.incidental for a in policy.award_types],
        },
        schema={
            "award_type": pl.String,
            "award_label_nl": pl.String,
            "award_label_en": pl.String,
            "incidental": pl.Boolean,
        },
    )


def publication_list(
    policies: Mapping[str, Policy],
    awards: pl.DataFrame | pl.LazyFrame | None,
    evaluations: pl.DataFrame | pl.LazyFrame | None,
) -> pl.DataFrame:
    """Rewards to publish (Z-9), one row per award, with the argumentation of the award and of the rating."""
    awards_lf, evaluations_lf = conform(awards, "awards"), conform(evaluations, "evaluations")
    parts = []
    for org in publishing_organizations(policies):
        policy = policies[org]
        above = policy.typed.argumentation.publish_structural_above_pct
        if above is None:  # publishing_organizations keeps only policies that set it
            continue
        structural = policy.typed.structural.award_type
        incidental = bool(policy.typed.compliance.publish_incidental)
        types = _award_frame(policy).lazy()
        is_structural = (pl.col("award_type") == structural) if structural else pl.lit(False)
        reason = (
            pl.when(is_structural & (pl.col("pct") > float(above)))
            .then(pl.lit(f"structural_above_{float(above):g}_pct"))
            .when(~is_structural & pl.col("incidental") & pl.lit(incidental))
            .then(pl.lit("incidental"))
        )
        people = evaluations_lf.select(EVALUATION_COLUMNS).filter(pl.col("organization") == org)
        parts.append(
            awards_lf.filter(pl.col("organization") == org)
            .join(types, on="award_type", how="left")
            .with_columns(reason.alias("reason"), pl.col("incidental").fill_null(False))
            .filter(pl.col("reason").is_not_null())
            .join(people, on=KEYS, how="left")
            .select([pl.col(c).cast(t) for c, t in PUBLICATION_SCHEMA.items()])
        )
    if not parts:
        return pl.DataFrame(schema=PUBLICATION_SCHEMA)
    return (
        pl.concat(parts)
        .sort("organization", "cycle", "department", "award_type", "employee_id", nulls_last=True)
        .collect()
    )


# ------------------------------------------------------------------------------------------------ export
def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells starting with = + - @ tab or CR get a leading apostrophe (no formula in a spreadsheet)."""
    pattern = "^[" + re.escape("".join(FORMULA_START)) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(pattern)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, t in frame.schema.items()
        if t == pl.String
    )


def neutralise_text(value: str) -> str:
    """One text cell as :func:`neutralise` writes it (for cells that are not in a frame)."""
    return "'" + value if value[:1] in FORMULA_START else value


def _write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through a temporary file in the same folder (created 0600), then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _xml_text(expr: pl.Expr) -> pl.Expr:
    """Text safe inside an XML element; the (rare) cells that need it are rewritten, the rest pass as they are."""
    escaped = (
        expr.str.replace_all(_XML_ILLEGAL, "")
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all("\r", "&#13;", literal=True)
    )
    return pl.when(expr.str.contains_any(_XML_SPECIAL)).then(escaped).otherwise(expr)


def _column_letter(index: int) -> str:
    out, index = "", index + 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def _sheet_rows(frame: pl.DataFrame) -> bytes:
    """The data rows as sheet XML (UTF-8), built column-wise: openpyxl's cell writer is too slow for long lists.

    Cells carry no `r` reference (optional in OOXML): a row lists every column in order, empty ones as `<c/>`.
    `xml:space="preserve"` is only added where a text has leading or trailing whitespace."""
    if frame.height == 0:
        return b""
    cells = []
    for name, dtype in frame.schema.items():
        value = pl.col(name)
        if dtype == pl.String:
            edge = value.str.contains(r"^\s|\s$")
            start = pl.when(edge).then(pl.lit('<t xml:space="preserve">')).otherwise(pl.lit("<t>"))
            cell = pl.concat_str(
                [pl.lit('<c t="inlineStr"><is>'), start, _xml_text(value), pl.lit("</t></is></c>")]
            )
        elif dtype == pl.Boolean:
            cell = pl.concat_str(
                [pl.lit('<c t="b"><v>'), value.cast(pl.Int8).cast(pl.String), pl.lit("</v></c>")]
            )
        else:
            cell = pl.concat_str([pl.lit("<c><v>"), value.cast(pl.String), pl.lit("</v></c>")])
        cells.append(pl.when(value.is_null()).then(pl.lit("<c/>")).otherwise(cell))
    xml = pl.concat_str([pl.lit("<row>"), *cells, pl.lit("</row>")])
    return bytes(frame.select(xml.str.join("").cast(pl.Binary)).item())


def _write_xlsx(frame: pl.DataFrame, sheet: str, target_file: BinaryIO) -> None:
    """A one-sheet workbook: header row by openpyxl, data rows as sheet XML (numbers stay numbers)."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet
    worksheet.append(list(frame.columns))
    worksheet.freeze_panes = "A2"
    skeleton = io.BytesIO()
    workbook.save(skeleton)
    last = f"{_column_letter(max(frame.width - 1, 0))}{frame.height + 1}"
    marker = b"</row></sheetData>"
    with (
        zipfile.ZipFile(skeleton) as source,
        zipfile.ZipFile(
            target_file, "w", zipfile.ZIP_DEFLATED, compresslevel=1
        ) as target,  # fast for long lists
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, data)
                continue
            if marker not in data:  # pragma: no cover - openpyxl always writes the header row
                raise RuntimeError("header row not found in the workbook skeleton")
            data = re.sub(
                rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:{last}"/>'.encode(), data, count=1
            )
            head, tail = data.split(marker, 1)
            with target.open(info.filename, "w") as sheet_xml:
                sheet_xml.write(head + b"</row>")
                sheet_xml.write(_sheet_rows(frame))
                sheet_xml.write(b"</sheetData>" + tail)


def xlsx_bytes(frame: pl.DataFrame, sheet: str = "Publicatie") -> bytes:
    """The workbook `export_publication_list` writes, in memory."""
    out = io.BytesIO()
    _write_xlsx(frame, sheet, out)
    return out.getvalue()


def _write_csv(frame: pl.DataFrame, handle: BinaryIO) -> None:
    """`;`-separated UTF-8 with a byte-order mark and decimal commas: what Dutch-language Excel opens as is."""
    handle.write(b"\xef\xbb\xbf")
    frame.write_csv(handle, separator=";", decimal_comma=True, quote_style="necessary")


def _export_part(part: pl.DataFrame, out_dir: Path) -> list[Path]:
    organization, cycle = part.get_column("organization")[0], part.get_column("cycle")[0]
    stem = f"publication_{organization}_{int(cycle)}"
    csv_path, xlsx_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.xlsx"
    _write_atomically(csv_path, lambda handle: _write_csv(part, handle))
    _write_atomically(xlsx_path, lambda handle: _write_xlsx(part, SHEET, handle))
    return [csv_path, xlsx_path]


# The names `_export_part` writes; the organisation part is an id that SAFE_NAME accepts.
EXPORT_NAME = re.compile(
    rf"^publication_(?P<organization>{SAFE_NAME.pattern.strip('^$')})_(?P<cycle>[0-9]+)\.(csv|xlsx)$"
)


def stale_exports(out_dir: Path, published: pl.DataFrame) -> list[Path]:
    """Export files in `out_dir` of an organisation and cycle that has no row in `published` (the whole
    publication list): a cycle that lost its last published row, or that left the mart in a whole rebuild.
    They hold personal data that is no longer published, so they must not stay behind."""
    if not out_dir.is_dir():
        return []
    present = {
        (str(org), int(cycle))
        for org, cycle in published.select("organization", "cycle").unique().iter_rows()
        if cycle is not None
    }
    stale = []
    for path in out_dir.iterdir():
        name = EXPORT_NAME.match(path.name)
        if name and (name["organization"], int(name["cycle"])) not in present:
            stale.append(path)
    return sorted(stale)


def export_publication_list(frame: pl.DataFrame, out_dir: Path) -> list[Path]:
    """publication_<organization>_<cycle>.csv and .xlsx per organisation and cycle in the frame.

    Text cells are neutralised against formula injection first. The files of different cycles are written
    in parallel threads (polars and zlib release the GIL)."""
    organizations = frame.get_column("organization").unique().to_list()
    if any(not SAFE_NAME.match(str(org)) for org in organizations):
        raise ValueError("an organisation id must match the contract's pattern to name a file")
    parts = neutralise(frame).partition_by(["organization", "cycle"], maintain_order=True)
    with ThreadPoolExecutor(max_workers=max(1, min(len(parts), os.cpu_count() or 1))) as pool:
        written = [
            path for paths in pool.map(lambda part: _export_part(part, out_dir), parts) for path in paths
        ]
    return sorted(written)
