"""The person-cycle layer (staging.person_cycle): evaluations, payroll and rewards paired once per run, in
DuckDB, for the fairness, pay-transparency, budget and pay-gap marts (models/person_cycle.py).

Built per organisation × cycle like a mart step: the slices whose evaluations, payroll, awards or policy
changed are replaced, the others stay. The marts call :func:`ensure_person_cycle` before reading, so a mart
materialised on its own (a test, `calibra ui`) still reads current rows; after the asset ran it finds nothing
to do.
"""

from collections.abc import Mapping

import dagster as dg
import duckdb

from models import person_cycle
from models.config import Settings
from models.policy import Policy
from pipelines.assets.common import STAGING, organisation_policies
from pipelines.increments import SliceWork, plan, replace_slices, slices_condition
from pipelines.resources import CalibraResource

PERSON_CYCLE = dg.AssetKey(["staging", "person_cycle"])
STEP = "person_cycle"
KINDS = ["evaluations", "payroll", "awards"]


def ensure_person_cycle(
    con: duckdb.DuckDBPyConnection, settings: Settings, policies: Mapping[str, Policy]
) -> SliceWork:
    """Bring staging.person_cycle up to date: rebuild the changed organisation-cycles (or the whole table when
    it is missing, its columns changed or it was never built), and record their fingerprints."""
    work = plan(
        con,
        settings,
        STEP,
        organizations=sorted(policies),
        kinds=KINDS,
        lookback=dict.fromkeys(policies, 1),
        tables=[],
    )
    stored = person_cycle.stored_columns(con)
    if not work.whole and (stored is None or stored != person_cycle.expected_columns(con, policies)):
        present = frozenset(work.fingerprints)
        work = SliceWork(STEP, True, present, present, work.fingerprints, "the table is missing or changed")
    if work.whole:
        person_cycle.build(con, policies)
    elif work.rebuild:
        person_cycle.build(con, policies, slices_condition(work.rebuild))
    else:
        return work
    replace_slices(con, work, {}, {})  # the fingerprints, once the rows are written
    return work


@dg.asset(key=PERSON_CYCLE, deps=STAGING, group_name="ingest", kinds={"duckdb"})
def person_cycle_asset(context: dg.AssetExecutionContext, calibra: CalibraResource) -> dg.MaterializeResult:
    """One row per person evaluated or paid in an organisation's cycle: the evaluation, payroll's pay and
    scale position and the rewards summed (docs/marts/person_cycle.md). Built in DuckDB by one statement per
    run, for the changed organisation-cycles only; the fairness, pay-transparency, budget and pay-gap marts
    read it instead of pairing the exports themselves."""
    policies = organisation_policies(calibra)
    with calibra.writer() as con:
        work = ensure_person_cycle(con, calibra.settings(), policies)
        rows = con.execute(f"SELECT count(*) FROM {person_cycle.TABLE}").fetchone()
    calibra.progress(f"person-cycle layer: {work.reason}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(int(rows[0]) if rows else 0),
            "organisation_cycles_rebuilt": dg.MetadataValue.int(len(work.rebuild)),
        }
    )
