"""From source text cells to canonical, typed columns: rename by mapping, recode, then type per contract.

A cell that cannot be typed becomes a violation (row, column, rule, message) — never a silent null or a
guessed value. Numbers must follow the mapping's decimal and thousands convention exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from models.contracts import Column, Contract
from models.errors import FileRejected
from models.mapping import Mapping
from models.readers import ROW

VIOLATION_SCHEMA = {
    ROW: pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "rule": pl.String,
    "message": pl.String,
}
EXCEL_EPOCH_1900 = pl.date(
    1899, 12, 30
)  # serial 61 = 1900-03-01; serials ≤ 60 hit Excel's phantom 29 Feb 1900


def empty_violations() -> pl.DataFrame:
    return pl.DataFrame(schema=VIOLATION_SCHEMA)


def violations_where(
    frame: pl.DataFrame, mask: pl.Expr, column: str, rule: str, message: str
) -> pl.DataFrame:
    """Violation rows for every row where `mask` holds; `value` is the offending text cell."""
    return frame.filter(mask).select(
        pl.col(ROW),
        pl.lit(column).alias("column"),
        pl.col(column).cast(pl.String).alias("value")
        if column in frame.columns
        else pl.lit(None, pl.String).alias("value"),
        pl.lit(rule).alias("rule"),
        pl.lit(message).alias("message"),
    )


@dataclass
class Canonical:
    frame: pl.DataFrame  # canonical column names, text cells, plus _row
    dropped_columns: int  # source columns not in the mapping (never stored)
    violations: pl.DataFrame


def apply_mapping(source: pl.DataFrame, mapping: Mapping, contract: Contract, file_name: str) -> Canonical:
    by_lower = {c.lower(): c for c in source.columns if c != ROW}
    if mapping.canonical:
        renames = {by_lower[name.lower()]: name for name in contract.names if name.lower() in by_lower}
    else:
        renames = {}
        for source_header, canonical in mapping.columns.items():
            if canonical not in contract.names:
                raise FileRejected(
                    file_name, f"mapping {mapping.id} maps to unknown column '{canonical}'", rule="mapping"
                )
            if source_header.lower() in by_lower:
                renames[by_lower[source_header.lower()]] = canonical
    present = set(renames.values()) | set(mapping.constants)
    for column in contract.columns:
        if column.required and column.name not in present:
            expected = next((s for s, c in mapping.columns.items() if c == column.name), column.name)
            raise FileRejected(
                file_name,
                f"required column is missing (expected header '{expected}'); wrong delimiter or layout?",
                column=expected,
                rule="required_column",
            )
    header_text = {canonical: source_header for source_header, canonical in renames.items()}
    frame = source.select([ROW, *renames]).rename(renames)
    # A header row repeated mid-file (pasted exports) is not data.
    compared = [pl.col(c) == header_text[c] for c in frame.columns if c != ROW]
    repeated = pl.sum_horizontal(compared) >= max(1, len(compared) // 2) if compared else pl.lit(False)
    header_rows = violations_where(
        frame,
        repeated,
        frame.columns[1] if len(frame.columns) > 1 else ROW,
        "repeated_header",
        "the row repeats the header row",
    )
    violations = pl.concat(
        [header_rows, footer_rows(source).join(header_rows.select(ROW), on=ROW, how="anti")]
    )
    frame = frame.with_columns(
        pl.lit(value, pl.String).alias(name) for name, value in mapping.constants.items()
    )
    for name, codes in mapping.values.items():
        if name in frame.columns:
            frame = frame.with_columns(pl.col(name).replace(codes))
    missing_optional = [c.name for c in contract.columns if c.name not in frame.columns]
    frame = frame.with_columns(pl.lit(None, pl.String).alias(name) for name in missing_optional)
    return Canonical(
        frame=frame.select([ROW, *contract.names]),
        dropped_columns=len(source.columns) - 1 - len(renames),
        violations=violations,
    )


FOOTER_LABEL = r"(?i)^(sub|eind|grand\s*)?tota(a)?l\b"


def footer_rows(source: pl.DataFrame) -> pl.DataFrame:
    """A 'Totaal' row (spreadsheet sums) is not data: its first filled cell, in any source column, says so."""
    columns = [c for c in source.columns if c != ROW]
    if not columns or source.height == 0:
        return empty_violations()
    first = source.select(
        pl.col(ROW),
        pl.coalesce([pl.col(c).cast(pl.String) for c in columns]).alias("value"),
        pl.coalesce(
            [pl.when(pl.col(c).is_not_null()).then(pl.lit(c)) for c in columns] + [pl.lit(None, pl.String)]
        ).alias("column"),
    )
    return first.filter(pl.col("value").str.contains(FOOTER_LABEL)).select(
        pl.col(ROW),
        pl.col("column"),
        pl.col("value"),
        pl.lit("footer_row").alias("rule"),
        pl.lit("the row is a total or subtotal row, not data").alias("message"),
    )


def _number_pattern(mapping: Mapping, integer: bool) -> str:
    sep = {"": "", ".": r"\.", ",": ",", " ": " "}.get(mapping.thousands, mapping.thousands)
    dec = r"\." if mapping.decimal == "." else mapping.decimal
    grouped = rf"\d{{1,3}}(?:{sep}\d{{3}})+" if sep else r"\d+"
    whole = rf"(?:{grouped}|\d+)"
    fraction = "" if integer else rf"(?:{dec}\d+)?"
    return rf"^[-+]?{whole}{fraction}$"


def _parse_number(col: Column, mapping: Mapping) -> tuple[pl.Expr, pl.Expr]:
    text = pl.col(col.name).str.replace_all("\u00a0", "").str.replace_all("\u202f", "")
    if col.type == "integer":
        # Integers may carry a zero fraction in spreadsheet exports ("2023,0") — but nothing else.
        ok = text.str.contains(_number_pattern(mapping, integer=False))
        plain = text.str.replace_all(f"[{mapping.thousands}]" if mapping.thousands else "$^", "")
        plain = plain.str.replace(mapping.decimal if mapping.decimal != "." else r"\.", ".", literal=False)
        value = plain.cast(pl.Float64, strict=False)
        ok = ok & (value == value.round(0))
        return ok, value.cast(pl.Int64, strict=False)
    ok = text.str.contains(_number_pattern(mapping, integer=False))
    plain = text
    if mapping.thousands:
        plain = plain.str.replace_all(mapping.thousands, "", literal=True)
    if mapping.decimal != ".":
        plain = plain.str.replace(mapping.decimal, ".", literal=True)
    return ok, plain.cast(pl.Float64, strict=False)


def _parse_date(col: Column, mapping: Mapping) -> tuple[pl.Expr, pl.Expr]:
    text = pl.col(col.name)
    iso = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?$", "$1")
    parsed = iso.str.strptime(pl.Date, mapping.date_format, strict=False, exact=True)
    parsed = parsed.fill_null(iso.str.strptime(pl.Date, "%Y-%m-%d", strict=False, exact=True))
    if mapping.excel_dates:
        serial = text.cast(pl.Int64, strict=False)
        from_serial = pl.when(serial > 60).then(EXCEL_EPOCH_1900 + pl.duration(days=serial))
        parsed = parsed.fill_null(from_serial)
    return parsed.is_not_null(), parsed


def _parse_boolean(col: Column, mapping: Mapping) -> tuple[pl.Expr, pl.Expr]:
    lowered = pl.col(col.name).str.to_lowercase()
    value = (
        pl.when(lowered.is_in(list(mapping.true_values)))
        .then(True)
        .when(lowered.is_in(list(mapping.false_values)))
        .then(False)
        .otherwise(None)
    )
    return value.is_not_null(), value


EXPECTED = {
    "integer": "a whole number",
    "decimal": "a number written as {example}",
    "date": "a date written as {date_format}",
    "boolean": "yes/no ({true} / {false})",
}


def type_columns(
    canonical: pl.DataFrame, contract: Contract, mapping: Mapping
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed frame (contract schema) and the violations of cells that could not be typed."""
    exprs: list[pl.Expr] = [pl.col(ROW)]
    checks: list[tuple[Column, pl.Expr]] = []
    for col in contract.columns:
        if col.type == "string":
            exprs.append(pl.col(col.name))
            continue
        if col.type in ("integer", "decimal"):
            ok, value = _parse_number(col, mapping)
        elif col.type == "date":
            ok, value = _parse_date(col, mapping)
        else:
            ok, value = _parse_boolean(col, mapping)
        typed_value = pl.when(ok).then(value).otherwise(None).cast(col.polars_type)
        domain = canonical.get_column(col.name).drop_nulls().unique()
        if domain.len() * 4 <= canonical.height:
            # Exports repeat the same few dates, codes and numbers: parse each distinct text once and look
            # the rows up (a hash lookup per row is much cheaper than a regex and a strptime per row).
            table = domain.to_frame().select(
                pl.col(col.name).alias("_raw"),
                typed_value.alias("_value"),
                ok.fill_null(False).alias("_ok"),
            )
            ok = pl.col(col.name).replace_strict(table["_raw"], table["_ok"], default=False)
            typed_value = pl.col(col.name).replace_strict(
                table["_raw"], table["_value"], default=None, return_dtype=col.polars_type
            )
        exprs.append(typed_value.alias(col.name))
        checks.append((col, pl.col(col.name).is_not_null() & ~ok.fill_null(False)))
    # One lazy query for the typed values and the bad-cell flags: polars computes each parse once
    # (common subexpressions), where two eager selects parsed every cell twice.
    both = canonical.lazy().select([*exprs, *[mask.alias(f"_bad_{c.name}") for c, mask in checks]]).collect()
    typed = both.select([e.meta.output_name() for e in exprs])
    id_violations = identifier_violations(canonical, contract, mapping)
    if not checks:
        return typed, id_violations
    flags = both.select([pl.col(ROW), *[pl.col(f"_bad_{c.name}") for c, _ in checks]])
    found = []
    example = "1.234,56" if mapping.decimal == "," else "1234.56"
    for col, _ in checks:
        bad_rows = flags.filter(pl.col(f"_bad_{col.name}")).get_column(ROW)
        if bad_rows.len() == 0:
            continue
        message = "expected " + EXPECTED[col.type].format(
            example=example,
            date_format=mapping.date_format.replace("%d", "dd").replace("%m", "mm").replace("%Y", "yyyy"),
            true="/".join(mapping.true_values[:2]),
            false="/".join(mapping.false_values[:2]),
        )
        found.append(
            violations_where(
                canonical, pl.col(ROW).is_in(bad_rows.implode()), col.name, f"type:{col.type}", message
            )
        )
    return typed, pl.concat([*found, id_violations])


# A number that a spreadsheet turned into scientific notation (`1.23457E+11`, `1,23457E+11`): the digits
# it dropped cannot be recovered, so the row is held back. Identifiers are otherwise any printable text.
SCIENTIFIC_NOTATION = r"^[-+]?[0-9]+(?:[.,][0-9]+)?[eE][-+]?[0-9]+$"


def identifier_violations(canonical: pl.DataFrame, contract: Contract, mapping: Mapping) -> pl.DataFrame:
    """Identifiers a spreadsheet mangled: scientific notation always; with a mapping's `id_pattern` (e.g. six
    digits), also ids whose leading zeros were stripped."""
    columns = [c for c in contract.columns if c.pii == "identifier" and c.type == "string"]
    found = [
        violations_where(
            canonical,
            pl.col(col.name).is_not_null() & pl.col(col.name).str.contains(SCIENTIFIC_NOTATION),
            col.name,
            "pattern",  # the rule name the contract's identifier pattern had for this before
            "expected an identifier, not a number in scientific notation (the spreadsheet dropped digits)",
        )
        for col in columns
    ]
    if mapping.id_pattern:
        found += [
            violations_where(
                canonical,
                pl.col(col.name).is_not_null()
                & ~pl.col(col.name).str.contains(SCIENTIFIC_NOTATION)
                & ~pl.col(col.name).str.contains(mapping.id_pattern),
                col.name,
                "id_pattern",
                f"expected an identifier matching {mapping.id_pattern} (mapping {mapping.id}); "
                "leading zeros stripped?",
            )
            for col in columns
        ]
    return pl.concat(found) if found else empty_violations()
