"""Publish stage: the offline static site, built from suppressed aggregates only."""

import dagster as dg
import polars as pl

from dashboards.site import PUBLISHED_TABLES, build_site
from pipelines.assets import marts
from pipelines.resources import CalibraResource, read_frame


@dg.asset(
    key=["site"],
    # Every asset of the marts package, found by package: adding a mart needs no edit here.
    deps=[
        key
        for mart in dg.load_assets_from_package_module(marts)
        if isinstance(mart, dg.AssetsDefinition)
        for key in mart.keys
    ],
    group_name="publish",
    kinds={"plotly", "html"},
)
def site(context: dg.AssetExecutionContext, calibra: CalibraResource) -> dg.MaterializeResult:
    """The static site: calibration packs, norming review, fairness, budget, process and data quality pages.

    The database is read here; dashboards/ only ever sees the tidy, already-suppressed frames."""
    settings = calibra.settings()
    tables: dict[str, pl.DataFrame] = {}
    with calibra.writer() as con:
        existing = {
            f"{s}.{t}"
            for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        }
        for name in PUBLISHED_TABLES:
            if name in existing:
                tables[name] = read_frame(con, f"SELECT * FROM {name}")  # names from a fixed whitelist
    calibra.progress(f"site: {len(tables)} tables → {settings.site}")
    report = build_site(tables, settings, settings.site, language=calibra.language)
    return dg.MaterializeResult(
        metadata={
            "pages": dg.MetadataValue.int(report.pages),
            "bytes": dg.MetadataValue.int(report.bytes),
            "site": dg.MetadataValue.path(str(settings.site)),
        }
    )
