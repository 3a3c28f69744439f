"""Page 6 — data quality: the load ledger, quarantine counts by rule and the data-contract results.

These tables hold counts of rows and files, never values: nothing in them is about one person.
"""

from __future__ import annotations

import polars as pl

from dashboards import figures
from dashboards.components import (
    Chart,
    Column,
    PageContext,
    esc,
    html_table,
    render_chart,
    table_block,
    unavailable,
)
from dashboards.i18n import text
from dashboards.pages import SiteData

LEDGER = "audit.load_ledger"
QUARANTINE = "marts.quarantine_summary"
CONTRACTS = "audit.contract_results"

LEDGER_COLUMNS = (
    ("file_name", "text"),
    ("kind", "text"),
    ("organization", "text"),
    ("cycle", "text"),
    ("rows_read", "int"),
    ("rows_loaded", "int"),
    ("rows_quarantined", "int"),
    ("rows_rejected", "int"),
    ("status", "text"),
    ("message", "text"),
)


def _filter(frame: pl.DataFrame | None, organization: str | None, cycle: int | None) -> pl.DataFrame | None:
    if frame is None:
        return None
    if organization and "organization" in frame.columns:
        frame = frame.filter(pl.col("organization") == organization)
    if cycle is not None and "cycle" in frame.columns:
        frame = frame.filter(pl.col("cycle") == cycle)
    return frame


def _labelled(frame: pl.DataFrame, language: str) -> pl.DataFrame:
    """Kinds and load statuses in the page's language (codes not in the lists stay as they are)."""
    labels = {"kind": text("kind_labels", language), "status": text("status_labels", language)}
    return frame.with_columns(
        pl.col(column).cast(pl.String).replace(mapping)
        for column, mapping in labels.items()
        if column in frame.columns
    )


def rule_label(rule: str | None, language: str) -> str:
    """A check in plain words ("Verplicht veld is ingevuld") instead of its code or the GX class name."""
    return text("contract_rule_labels", language).get(rule or "", rule or "")


def contract_summary(contracts: pl.DataFrame, language: str) -> pl.DataFrame:
    """One row per kind of file and check: the columns it covers listed, the files checked (a file counts
    once per check), the files in which it failed and the values it found wrong."""
    keys = [c for c in ("kind", "rule") if c in contracts.columns]
    per_file = contracts.group_by([*keys, "file_sha256"] if "file_sha256" in contracts.columns else keys).agg(
        pl.col("success").fill_null(False).all().alias("passed"),
        pl.col("unexpected_count").fill_null(0).sum().alias("unexpected"),
        pl.col("column_name").drop_nulls().unique().alias("columns"),
    )
    summary = (
        per_file.group_by(keys)
        .agg(
            pl.len().alias("files"),
            (~pl.col("passed")).sum().alias("failed_files"),
            pl.col("unexpected").sum().alias("unexpected"),
            pl.col("columns").explode().drop_nulls().unique().sort().str.join(", ").alias("columns"),
        )
        .sort(["failed_files", "unexpected", *keys], descending=[True, True, *[False] * len(keys)])
    )
    return summary.with_columns(
        pl.col("rule").map_elements(lambda r: rule_label(r, language), return_dtype=pl.String).alias("check")
        if "rule" in summary.columns
        else pl.lit("").alias("check")
    )


def body(data: SiteData, ctx: PageContext, organization: str | None, cycle: int | None) -> str:
    language = ctx.language
    parts = [f"<h1>{esc(text('page_data_quality', language))}</h1>"]
    parts.append(f"<p class='lead'>{esc(text('page_intro_data_quality', language))}</p>")

    ledger = _filter(data.tables.get(LEDGER), organization, cycle)
    parts.append(f"<h2>{esc(text('dq_section_files', language))}</h2>")
    if ledger is None or ledger.height == 0:
        parts.append(unavailable(text("ledger_title", language), LEDGER, language))
    else:
        headers = text("ledger_headers", language)
        shown = ledger.sort(["organization", "cycle", "file_name"], nulls_last=True)
        columns = [Column(c, headers[c], kind, hidden_flag=None) for c, kind in LEDGER_COLUMNS]
        parts.append(
            table_block(
                text("ledger_title", language),
                text("ledger_explain", language),
                LEDGER,
                html_table(_labelled(shown, language), columns, language),
                language,
                n=int(shown["rows_read"].fill_null(0).sum()) if "rows_read" in shown.columns else None,
            )
        )

    quarantine = data.tables.get(QUARANTINE)
    if quarantine is not None and organization and "organization" in quarantine.columns:
        quarantine = _filter(quarantine, organization, cycle)
    parts.append(f"<h2>{esc(text('dq_section_quarantine', language))}</h2>")
    if quarantine is None:
        parts.append(unavailable(text("quarantine_by_rule", language), QUARANTINE, language))
    elif quarantine.height == 0:
        parts.append(f"<p>{esc(text('no_quarantine', language))}</p>")
    else:
        quarantine = quarantine.with_columns(
            pl.col("rule").map_elements(lambda r: rule_label(r, language), return_dtype=pl.String)
        )
        by_rule = (
            quarantine.group_by("rule")
            .agg(pl.col("rows").sum().alias("value"))
            .sort(["value", "rule"], descending=[True, False])
            .rename({"rule": "label"})
        )
        parts.append(
            render_chart(
                Chart(
                    figures.horizontal_bars(
                        by_rule, language, text("rows", language), text("rule", language)
                    ),
                    text("quarantine_by_rule", language),
                    text("quarantine_chart_explain", language),
                    QUARANTINE,
                    int(by_rule["value"].sum()),
                ),
                ctx,
            )
        )
        headers = text("quarantine_headers", language)
        columns = [
            Column("kind", headers["kind"], hidden_flag=None),
            Column("column_name", headers["column_name"], "code", hidden_flag=None),
            Column("rule", headers["rule"], hidden_flag=None),
            Column("rows", headers["rows"], "int", hidden_flag=None),
        ]
        parts.append(
            table_block(
                text("quarantine_by_rule", language),
                text("quarantine_explain", language),
                QUARANTINE,
                html_table(_labelled(quarantine, language), columns, language),
                language,
                n=int(quarantine["rows"].sum()),
            )
        )

    contracts = _filter(data.tables.get(CONTRACTS), organization, cycle)
    parts.append(f"<h2>{esc(text('dq_section_contracts', language))}</h2>")
    if (
        contracts is not None
        and organization
        and ledger is not None
        and "file_sha256" in contracts.columns
        and "file_sha256" in ledger.columns
    ):
        contracts = contracts.join(ledger.select("file_sha256").unique(), on="file_sha256", how="semi")
    if contracts is None or contracts.height == 0:
        parts.append(unavailable(text("contract_title", language), CONTRACTS, language))
    else:
        summary = contract_summary(contracts, language)
        headers = text("contract_headers", language)
        columns = [
            Column("kind", headers["kind"], hidden_flag=None),
            Column("check", text("contract_check_header", language), hidden_flag=None),
            Column("columns", text("contract_columns_header", language), hidden_flag=None),
            Column("files", headers["files"], "int", hidden_flag=None),
            Column("failed_files", headers["failed_files"], "int", hidden_flag=None),
            Column("unexpected", headers["unexpected"], "int", hidden_flag=None),
        ]
        parts.append(
            table_block(
                text("contract_title", language),
                text("contract_explain", language),
                CONTRACTS,
                html_table(_labelled(summary, language), columns, language),
                language,
                n=int(summary["files"].sum()),
            )
        )
    return "\n".join(parts)
