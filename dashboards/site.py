"""Site assembly: tidy, already-aggregated frames in, a static offline site out (atomically swapped in).

No database and no dagster here. plotly.js is shipped once in assets/; pages make no network request.
"""

from __future__ import annotations

import html
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import plotly
import polars as pl

from dashboards.i18n import fmt_int, text
from models.config import Settings

# Tables the publish step may read; nothing else leaves the database.
PUBLISHED_TABLES = ("audit.load_ledger", "marts.quarantine_summary")


@dataclass
class SiteReport:
    pages: int
    bytes: int


def page(title: str, body: str, language: str, depth: int = 0) -> str:
    prefix = "../" * depth
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'self' 'unsafe-inline'; connect-src 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} — calibra</title>
<link rel="stylesheet" href="{prefix}assets/site.css">
<script src="{prefix}assets/plotly.min.js"></script>
</head><body>
<header><a href="{prefix}index.html">calibra</a> · {html.escape(title)}</header>
<main>
{body}
</main>
<footer>{html.escape(text("footer", language))}</footer>
</body></html>
"""


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2933;background:#fff}
header{background:#0b3d5c;color:#fff;padding:.8rem 1.5rem;font-size:1.1rem}
header a{color:#fff;font-weight:600;text-decoration:none}
main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem}
footer{color:#52606d;font-size:.8rem;padding:1rem 1.5rem;border-top:1px solid #e4e7eb}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #cbd2d9;padding:.3rem .6rem;text-align:left;font-size:.9rem}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.explain{color:#3e4c59;max-width:60rem}
.source{color:#7b8794;font-size:.8rem}
@media print{header,footer,nav{display:none} main{max-width:none} @page{size:A4;margin:12mm}}
"""


def html_table(frame: pl.DataFrame, headers: dict[str, str], language: str) -> str:
    head = "".join(f"<th>{html.escape(headers.get(c, c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.iter_rows():
        cells = []
        for value in record:
            if isinstance(value, int) and not isinstance(value, bool):
                cells.append(f'<td class="num">{fmt_int(value, language)}</td>')
            else:
                cells.append(f"<td>{html.escape('' if value is None else str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def data_quality_page(tables: dict[str, pl.DataFrame], language: str) -> str:
    ledger = tables.get("audit.load_ledger", pl.DataFrame())
    parts = [
        f"<h1>{text('data_quality', language)}</h1>",
        f"<p class='explain'>{text('ledger_explain', language)}</p>",
    ]
    if ledger.height:
        shown = ledger.select(
            "file_name",
            "kind",
            "organization",
            "cycle",
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
            "rows_rejected",
            "status",
        ).sort("file_name")
        parts.append(html_table(shown, text("ledger_headers", language), language))
    summary = tables.get("marts.quarantine_summary")
    if summary is not None and summary.height:
        parts.append(f"<h2>{text('quarantine_by_rule', language)}</h2>")
        parts.append(html_table(summary, text("quarantine_headers", language), language))
    parts.append(f"<p class='source'>{text('source_ledger', language)}</p>")
    return page(text("data_quality", language), "\n".join(parts), language)


def index_page(tables: dict[str, pl.DataFrame], settings: Settings, language: str) -> str:
    ledger = tables.get("audit.load_ledger", pl.DataFrame())
    items = []
    for org_id, org in settings.organizations.items():
        cycles: list[int] = []
        if ledger.height:
            cycles = sorted(
                {c for c in ledger.filter(pl.col("organization") == org_id)["cycle"].to_list() if c}
            )
        cycle_text = ", ".join(str(c) for c in cycles) or text("no_data", language)
        items.append(
            f"<li><strong>{html.escape(org.name.get(language, org_id))}</strong> — "
            f"{text('cycles', language)}: {html.escape(cycle_text)}</li>"
        )
    body = (
        f"<h1>{text('site_title', language)}</h1><p class='explain'>{text('site_intro', language)}</p>"
        f"<ul>{''.join(items)}</ul><p><a href='data_quality.html'>{text('data_quality', language)}</a></p>"
    )
    return page(text("site_title", language), body, language)


def build_site(
    tables: dict[str, pl.DataFrame], settings: Settings, out_dir: Path, language: str = "nl"
) -> SiteReport:
    """Write the whole site to a temporary folder, then swap it in: a failed build leaves the old site."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".site-build-", dir=out_dir.parent))
    try:
        assets = staging / "assets"
        assets.mkdir()
        shutil.copyfile(
            Path(plotly.__file__).parent / "package_data" / "plotly.min.js", assets / "plotly.min.js"
        )
        (assets / "site.css").write_text(CSS, encoding="utf-8")
        pages = {
            "index.html": index_page(tables, settings, language),
            "data_quality.html": data_quality_page(tables, language),
        }
        for name, content in pages.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        size = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
        previous = out_dir.with_name(out_dir.name + ".previous")
        if previous.exists():
            shutil.rmtree(previous)
        if out_dir.exists():
            out_dir.rename(previous)
        staging.rename(out_dir)
        if previous.exists():
            shutil.rmtree(previous)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return SiteReport(pages=len(pages), bytes=size)
