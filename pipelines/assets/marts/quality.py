"""Marts stage: each mart is a thin asset that reads staging, calls a pure model and writes marts.<name>."""

import dagster as dg

from pipelines.assets.common import STAGING
from pipelines.resources import CalibraResource, read_frame, write_table


@dg.asset(key=["marts", "quarantine_summary"], deps=STAGING, group_name="marts", kinds={"duckdb"})
def quarantine_summary(context: dg.AssetExecutionContext, calibra: CalibraResource) -> dg.MaterializeResult:
    """Rows held back per kind, column and rule over the files that currently count (for the data-quality page).

    Grain: kind × column × rule. Counts distinct rows, never values."""
    with calibra.writer() as con:
        frame = read_frame(
            con,
            """SELECT q.kind, q.column_name, q.rule, count(DISTINCT (q.file_sha256, q.row_number)) AS rows
               FROM audit.quarantine q JOIN audit.load_ledger l USING (file_sha256)
               WHERE l.status <> 'superseded'
               GROUP BY ALL ORDER BY rows DESC, kind, column_name, rule""",
        )
        write_table(con, "marts", "quarantine_summary", frame)
    return dg.MaterializeResult(metadata={"dagster/row_count": dg.MetadataValue.int(frame.height)})
