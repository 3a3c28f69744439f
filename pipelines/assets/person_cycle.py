"""The person-cycle layer (staging.person_cycle): evaluations, payroll and rewards paired once per run, in
DuckDB, for the fairness, pay-transparency, budget and pay-gap marts (models/person_cycle.py).

Built per organisation × cycle like a mart step: the slices whose evaluations, payroll, awards or policy
changed are replaced, the others stay. Each organisation-cycle is paired by the policy in force for it (its
net-to-gross factor, award types and award outcomes): one statement per regime, and the ``award:<code>``
columns of every policy an organisation uses in any cycle, so the table keeps one set of columns. The marts call :func:`ensure_person_cycle` before reading, so a mart
materialised on its own (a test, `calibra ui`) still reads current rows; after the asset ran it finds nothing
to do.
"""

import dagster as dg
import duckdb

from models import person_cycle
from models.config import Settings
from models.policy import Policy
from pipelines.assets.common import STAGING, CyclePolicies, organisation_policies, staged_slices
from pipelines.increments import SliceWork, plan, replace_slices, slices_condition
from pipelines.resources import CalibraResource

PERSON_CYCLE = dg.AssetKey(["staging", "person_cycle"])
STEP = "person_cycle"
KINDS = ["evaluations", "payroll", "awards"]


def award_codes(policies: CyclePolicies) -> list[str]:
    """The award outcome codes of every policy the organisations use in any cycle: the layer's ``award:``
    columns."""
    return person_cycle.award_outcome_codes(
        {f"{org}#{i}": p for org in policies for i, p in enumerate(policies.every(org))}
    )


def _regimes(
    con: duckdb.DuckDBPyConnection, policies: CyclePolicies, work: SliceWork
) -> list[tuple[dict[str, Policy], tuple[str, list[object]]]]:
    """The statements that write the work: ({organisation: policy}, condition) per regime. One statement over
    the work when every organisation-cycle written is under one policy per organisation (as before regimes
    existed); otherwise one per regime, and, when whole, one for the rows of organisations
    without a policy (paired with no policy values, as before)."""
    if work.whole:
        written = {s for table in KINDS for s in staged_slices(con, table) if s[0] in policies}
    else:
        written = {s for s in work.rebuild if s[0] in policies}
    regimes = policies.by_regime(written)
    if len(regimes) <= 1:
        regime = dict(policies) | (regimes[0][0] if regimes else {})
        return [(regime, ("TRUE", []) if work.whole else slices_condition(work.rebuild))]
    passes = [(regime, slices_condition(slices)) for regime, slices in regimes]
    if work.whole:  # the rows of no configured organisation-cycle (organisations without a policy)
        parts = [f"coalesce({where}, FALSE)" for _, (where, _) in passes]
        rest = " OR ".join(parts)
        passes.append(({}, (f"NOT ({rest})", [p for _, (_, params) in passes for p in params])))
    return passes


def ensure_person_cycle(
    con: duckdb.DuckDBPyConnection, settings: Settings, policies: CyclePolicies
) -> SliceWork:
    """Bring staging.person_cycle up to date: rebuild the changed organisation-cycles (or the whole table when
    it is missing, its columns changed or it was never built), each by the policy in force for it, and record
    their fingerprints."""
    work = plan(
        con,
        settings,
        STEP,
        organizations=sorted(policies),
        kinds=KINDS,
        lookback=dict.fromkeys(policies, 1),
        tables=[],
    )
    codes = award_codes(policies)
    stored = person_cycle.stored_columns(con)
    if not work.whole and (stored is None or stored != person_cycle.expected_columns(con, policies, codes)):
        present = frozenset(work.fingerprints)
        work = SliceWork(STEP, True, present, present, work.fingerprints, "the table is missing or changed")
    if not work.whole and not work.rebuild:
        return work
    person_cycle.build_regimes(con, _regimes(con, policies, work), whole=work.whole, codes=codes)
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
