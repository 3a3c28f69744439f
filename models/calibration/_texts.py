"""Plain-language reasons in Dutch and English, built as vectorised polars expressions.

Reasons contain only aggregates (n, means, q-values) and the policy's own words, never identifiers.
"""

from __future__ import annotations

import polars as pl


def num(expr: pl.Expr, decimals: int, lang: str) -> pl.Expr:
    """A number as text with a fixed number of decimals; Dutch uses a decimal comma (vectorised)."""
    scale = 10**decimals
    scaled = (expr.cast(pl.Float64) * scale).round(0).cast(pl.Int64)
    magnitude = scaled.abs()
    whole = (magnitude // scale).cast(pl.String)
    sign = pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    if decimals == 0:
        return pl.concat_str([sign, whole])
    frac = (magnitude % scale).cast(pl.String).str.zfill(decimals)
    return pl.concat_str([sign, whole, pl.lit("," if lang == "nl" else "."), frac])


def pvalue(expr: pl.Expr, lang: str) -> pl.Expr:
    """A p- or q-value: three decimals, '< 0.001' below that."""
    small = "< 0,001" if lang == "nl" else "< 0.001"
    return pl.when(expr < 0.001).then(pl.lit(small)).otherwise(num(expr, 3, lang))


def cat(*parts: str | pl.Expr) -> pl.Expr:
    """concat_str of literal text and expressions (null if any expression is null)."""
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def by_status(frame: pl.DataFrame, status: str, texts: dict[str, dict[str, pl.Expr]]) -> pl.DataFrame:
    """Add reason_nl / reason_en, building each status's text only on its own rows (string building over
    every row for every branch of a when/then chain is the slow part of a big mart). Row order is not kept.

    ``texts`` maps a status value to {"nl": expr, "en": expr}; rows with another status get null reasons.
    """
    parts = []
    for (value,), part in frame.partition_by(status, as_dict=True, maintain_order=True).items():
        spec = texts.get(str(value)) if value is not None else None
        if spec is None:
            parts.append(
                part.with_columns(
                    pl.lit(None, dtype=pl.String).alias("reason_nl"),
                    pl.lit(None, dtype=pl.String).alias("reason_en"),
                )
            )
        else:
            parts.append(part.with_columns(spec["nl"].alias("reason_nl"), spec["en"].alias("reason_en")))
    if not parts:
        return frame.with_columns(
            pl.lit(None, dtype=pl.String).alias("reason_nl"), pl.lit(None, dtype=pl.String).alias("reason_en")
        )
    return pl.concat(parts, how="vertical_relaxed")
