"""A sensor that starts a run when new export files appear in the inbox."""

import hashlib

import dagster as dg
import duckdb

from models.ingest import file_sha256, inbox_files
from pipelines.resources import CalibraResource


def new_inbox_hashes(calibra: CalibraResource) -> list[str]:
    settings = calibra.settings()
    hashes = sorted({file_sha256(p) for p in inbox_files(settings.inbox)})
    if not hashes:
        return []
    if not settings.database.exists():
        return hashes
    # Read-only: never a second writer next to a running pipeline.
    con = duckdb.connect(str(settings.database), read_only=True)
    try:
        loaded = {
            row[0]
            for row in con.execute(
                "SELECT file_sha256 FROM audit.load_ledger WHERE status <> 'rejected'"
            ).fetchall()
        }
    except duckdb.CatalogException:
        loaded = set()
    finally:
        con.close()
    return [h for h in hashes if h not in loaded]


# Running from the start in `calibra ui` (a file dropped in the inbox with the UI open is loaded within a
# minute); docs/operations.md says how to stop it. `calibra run` does not use sensors.
@dg.sensor(job_name="calibra_all", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(
    context: dg.SensorEvaluationContext, calibra: CalibraResource
) -> dg.SensorResult | dg.SkipReason:
    """New files (by sha256) in the inbox start one full run; the run key keeps a file from starting two."""
    try:
        new = new_inbox_hashes(calibra)
    except duckdb.IOException:
        return dg.SkipReason("the database is being written by a run; checking again later")
    if not new:
        return dg.SkipReason("no new files in the inbox")
    run_key = hashlib.sha256("".join(new).encode()).hexdigest()
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key, tags={"calibra/new_files": str(len(new))})]
    )
