"""The person-cycle layer: one row per person evaluated or paid in an organisation's cycle, built in DuckDB.

``staging.person_cycle`` is evaluations ⟗ payroll on (organization, cycle, employee_id) with each person's
rewards of that cycle summed, written by one SQL statement (:func:`select_sql`) from the staging tables. The
fairness, pay-transparency, budget and pay-gap marts read it instead of pairing the three exports themselves;
docs/marts/person_cycle.md lists its columns.

Columns: the keys; the evaluation's columns (every contract column but free text and identifiers other than
the employee's, null for someone paid but not evaluated); ``evaluated`` and ``paid``; payroll's
``pay_department``, ``salary_scale``, ``salary_step``, ``annual_salary`` and ``payroll_fte`` (null without a
payroll row); ``pay`` = annual_salary × payroll_fte; the reward totals of
:func:`models.pay_transparency.reward_totals` (``amount_total``, ``pct_total``, ``incidental``,
``structural_pct`` and ``award:<code>`` per ``fairness.award_outcomes`` entry; null without an award of an
organisation with a policy) and ``variable`` = amount_total + pct_total / 100 × pay (null without pay).

Row order: the evaluations in their stored order, then the payroll rows without an evaluation in theirs —
the order the marts summed in before this layer existed, so their floating-point sums stay the same.

The same statement builds the rows of polars frames (:func:`person_cycle_frame`, for the pure functions and
their tests): one definition of the pairing, in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import polars as pl

from models.contracts import load_contract
from models.policy import Policy

KEYS = ("organization", "cycle", "employee_id")
TABLE = "staging.person_cycle"
EXCLUDED_PII = {"identifier", "free_text"}  # evaluation columns the layer never copies (keys aside)
PAYROLL_COLUMNS = {  # payroll column → (its name in the layer, DuckDB type)
    "department": ("pay_department", "VARCHAR"),
    "salary_scale": ("salary_scale", "VARCHAR"),
    "salary_step": ("salary_step", "BIGINT"),
    "annual_salary": ("annual_salary", "DOUBLE"),
    "fte": ("payroll_fte", "DOUBLE"),
}
AWARD_COLUMNS = {"award_type": "VARCHAR", "pct": "DOUBLE", "amount": "DOUBLE", "amount_basis": "VARCHAR"}
REWARD_COLUMNS = ("amount_total", "pct_total", "incidental", "structural_pct")
_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "date": "DATE",
    "boolean": "BOOLEAN",
}


def evaluation_columns() -> list[str]:
    """Evaluation contract columns the layer carries: the keys and every column that is neither free text nor
    an identifier (an evaluator's), in contract order."""
    contract = load_contract("evaluations")
    return [c.name for c in contract.columns if c.name in KEYS or c.pii not in EXCLUDED_PII]


def award_outcome_codes(policies: Mapping[str, Policy]) -> list[str]:
    """Codes of the policies' ``fairness.award_outcomes`` (received an award of one of some types)."""
    codes: list[str] = []
    for policy in policies.values():
        for spec in policy.typed.fairness.award_outcomes or ():
            if str(spec["code"]) not in codes:
                codes.append(str(spec["code"]))
    return codes


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Sources:
    """Where the statement reads: three relations, the columns each has and the column giving stored order."""

    evaluations: str
    payroll: str
    awards: str
    evaluation_columns: Sequence[str]
    payroll_columns: Sequence[str]
    award_columns: Sequence[str]
    order: str = "rowid"


def _policy_values(policies: Mapping[str, Policy], codes: Sequence[str]) -> tuple[str, str, list[object]]:
    """Two VALUES lists with their parameters: per organisation its net-to-gross factor, per organisation ×
    award type whether the type is incidental, structural and of each award outcome."""
    from models.pay_transparency import policy_frame  # the policy values pay transparency checks

    gross = dict(policy_frame(policies).select("organization", "_net_to_gross").iter_rows())
    params: list[object] = []
    orgs = []
    for org in policies:
        orgs.append("(?::VARCHAR, ?::DOUBLE)")
        params += [org, gross[org]]
    types = []
    for org, policy in policies.items():
        structural = policy.typed.structural.award_type
        outcome_types = {
            str(spec["code"]): {str(t) for t in spec["award_types"]}
            for spec in policy.typed.fairness.award_outcomes or ()
        }
        for award in policy.award_types:
            types.append(
                "(?::VARCHAR, ?::VARCHAR, ?::BOOLEAN, ?::BOOLEAN" + ", ?::BOOLEAN" * len(codes) + ")"
            )
            params += [org, award.code, bool(award.incidental), award.code == structural]
            params += [award.code in outcome_types.get(c, set()) for c in codes]
    flags = ", ".join(_quote(f"award:{c}") for c in codes)
    type_names = "organization, award_type, incidental, structural" + (f", {flags}" if codes else "")
    orgs_sql = (
        f"_org(organization, net_to_gross) AS (VALUES {', '.join(orgs)})"
        if orgs
        else "_org AS (SELECT NULL::VARCHAR AS organization, NULL::DOUBLE AS net_to_gross WHERE FALSE)"
    )
    if types:
        types_sql = f"_types({type_names}) AS (VALUES {', '.join(types)})"
    else:
        empty = ", ".join(
            [
                "NULL::VARCHAR AS organization",
                "NULL::VARCHAR AS award_type",
                "NULL::BOOLEAN AS incidental",
                "NULL::BOOLEAN AS structural",
                *[f"NULL::BOOLEAN AS {_quote(f'award:{c}')}" for c in codes],
            ]
        )
        types_sql = f"_types AS (SELECT {empty} WHERE FALSE)"
    return orgs_sql, types_sql, params


def select_sql(
    sources: Sources,
    policies: Mapping[str, Policy],
    condition: str = "TRUE",
    codes: Sequence[str] | None = None,
) -> tuple[str, list[object]]:
    """The statement selecting the person-cycle rows (see the module docstring) and its parameters.

    ``condition`` is an SQL condition on organization and cycle written by the pipeline (never from data),
    applied to the three sources; its parameters are not included (the caller appends them, once per source:
    evaluations, payroll, awards). ``codes``: the award outcomes with an ``award:<code>`` column (default:
    those of ``policies``); a regime's statement names every regime's codes, so that the table keeps one set
    of columns (a code its policy lacks is false)."""
    codes = award_outcome_codes(policies) if codes is None else list(codes)
    orgs_sql, types_sql, params = _policy_values(policies, codes)
    ev_cols = [c for c in sources.evaluation_columns if c not in KEYS]
    ev_select = ", ".join([*(_quote(k) for k in KEYS), *(_quote(c) for c in ev_cols)])
    pay_select = ", ".join(
        (_quote(column) if column in sources.payroll_columns else f"NULL::{dtype}") + f" AS {_quote(name)}"
        for column, (name, dtype) in PAYROLL_COLUMNS.items()
    )
    aw = {
        c: f"a.{_quote(c)}" if c in sources.award_columns else f"NULL::{t}" for c, t in AWARD_COLUMNS.items()
    }
    flags = [_quote(f"award:{c}") for c in codes]
    keys = ", ".join(KEYS)
    order = _quote(sources.order) if sources.order != "rowid" else "rowid"
    sql = f"""
WITH {orgs_sql},
{types_sql},
_ev AS (SELECT {ev_select}, {order} AS _ev_row FROM {sources.evaluations} WHERE {condition}),
_pay AS (SELECT {keys}, {pay_select}, {order} AS _pay_row FROM {sources.payroll} WHERE {condition}),
_award AS (
    SELECT a.organization, a.cycle, a.employee_id,
        CASE WHEN {aw["amount"]} IS NOT NULL THEN {aw["amount"]}
            * CASE WHEN {aw["amount_basis"]} = 'netto' THEN o.net_to_gross ELSE 1.0 END END AS _amount,
        CASE WHEN {aw["amount"]} IS NULL THEN {aw["pct"]} END AS _pct,
        coalesce(t.incidental, FALSE) AS _incidental,
        CASE WHEN t.structural THEN {aw["pct"]} END AS _structural_pct
        {"".join(f", coalesce(t.{f}, FALSE) AS {f}" for f in flags)}
    FROM (SELECT * FROM {sources.awards} WHERE {condition}) AS a
    JOIN _org AS o ON a.organization = o.organization
    LEFT JOIN _types AS t ON a.organization = t.organization AND {aw["award_type"]} = t.award_type
),
_reward AS (
    SELECT {keys},
        coalesce(sum(_amount), 0.0) AS amount_total,
        coalesce(sum(_pct), 0.0) AS pct_total,
        bool_or(_incidental) AS incidental,
        max(_structural_pct) AS structural_pct
        {"".join(f", bool_or({f}) AS {f}" for f in flags)}
    FROM _award GROUP BY {keys}
),
_person AS (
    SELECT *, _ev_row IS NOT NULL AS evaluated, _pay_row IS NOT NULL AS paid,
        annual_salary * payroll_fte AS pay
    FROM _ev FULL JOIN _pay USING ({keys}) LEFT JOIN _reward USING ({keys})
)
SELECT {", ".join(_quote(k) for k in KEYS)}, {", ".join(_quote(c) for c in ev_cols)},
    evaluated, paid, pay_department, salary_scale, salary_step, annual_salary, payroll_fte, pay,
    amount_total, pct_total, incidental, structural_pct{"".join(f", {f}" for f in flags)},
    CASE WHEN pay IS NOT NULL
        THEN coalesce(amount_total, 0.0) + coalesce(pct_total, 0.0) / 100.0 * pay END AS variable
FROM _person
ORDER BY _ev_row NULLS LAST, _pay_row
"""
    return sql, params


def staging_sources(con: duckdb.DuckDBPyConnection) -> Sources:
    """The staging tables as sources (their columns as stored)."""
    present: dict[str, list[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'staging' "
        "AND table_name IN ('evaluations', 'payroll', 'awards') ORDER BY table_name, column_index"
    ).fetchall():
        present.setdefault(table, []).append(column)
    stored = set(present.get("evaluations", []))
    return Sources(
        "staging.evaluations",
        "staging.payroll",
        "staging.awards",
        [c for c in evaluation_columns() if c in stored],
        present.get("payroll", []),
        present.get("awards", []),
    )


def build(
    con: duckdb.DuckDBPyConnection,
    policies: Mapping[str, Policy],
    condition: tuple[str, list[object]] | None = None,
) -> None:
    """Write ``staging.person_cycle`` from the staging tables: whole (``condition`` None), or the rows of the
    organisation-cycles the condition selects replaced (delete, then insert), in one transaction."""
    build_regimes(con, [(policies, condition or ("TRUE", []))], whole=condition is None)


def build_regimes(
    con: duckdb.DuckDBPyConnection,
    regimes: Sequence[tuple[Mapping[str, Policy], tuple[str, list[object]]]],
    *,
    whole: bool,
    codes: Sequence[str] | None = None,
) -> None:
    """Write ``staging.person_cycle`` with every organisation-cycle paired by the policy in force for it: one
    statement per regime ({organisation: policy} and the SQL condition selecting the organisation-cycles it
    judges), in one transaction. ``whole``: the table is replaced by the regimes' rows (their conditions
    together select every row wanted); otherwise each condition's rows are replaced. ``codes``: the award
    outcome columns (default: every regime's)."""
    sources = staging_sources(con)
    if codes is None:
        codes = list(dict.fromkeys(c for policies, _ in regimes for c in award_outcome_codes(policies)))
    con.execute("BEGIN TRANSACTION")
    try:
        for index, (policies, (where, where_params)) in enumerate(regimes):
            sql, params = select_sql(sources, policies, where, codes)
            params = [*params, *where_params, *where_params, *where_params]
            if whole and index == 0:
                con.execute(f"CREATE OR REPLACE TABLE {TABLE} AS {sql}", params)
                continue
            if not whole:
                con.execute(f"DELETE FROM {TABLE} WHERE {where}", where_params)
            con.execute(f"INSERT INTO {TABLE} BY NAME {sql}", params)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def stored_columns(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """The columns of ``staging.person_cycle`` as stored (None when there is no such table)."""
    columns = [
        name
        for (name,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'staging' "
            "AND table_name = 'person_cycle' ORDER BY column_index"
        ).fetchall()
    ]
    return columns or None


def expected_columns(
    con: duckdb.DuckDBPyConnection, policies: Mapping[str, Policy], codes: Sequence[str] | None = None
) -> list[str]:
    """The columns :func:`build` would write now (they change with the award outcomes, ``codes``: by default
    the policies')."""
    sql, params = select_sql(staging_sources(con), policies, "FALSE", codes)
    return [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0", params).description]


def read(
    con: duckdb.DuckDBPyConnection,
    columns: Sequence[str],
    condition: str = "TRUE",
    params: Sequence[object] = (),
) -> pl.DataFrame:
    """Some columns of ``staging.person_cycle`` (names from code, never from data) in stored order, for the
    rows meeting ``condition`` (SQL written by the pipeline, with bound parameters)."""
    names = ", ".join(_quote(c) for c in columns)
    return fetch_polars(con, f"SELECT {names} FROM {TABLE} WHERE {condition}", params)


def fetch_polars(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> pl.DataFrame:
    """The rows of a query as a polars frame, strings handed over as Arrow string views (polars' own layout:
    no second copy of every string on the way in; measured 10-20% less CPU on the layer's reads). The
    connection's setting is put back afterwards."""
    (before,) = con.execute("SELECT current_setting('produce_arrow_string_view')").fetchone() or (False,)
    con.execute("SET produce_arrow_string_view = true")
    try:
        relation = con.sql(sql, params=list(params))
        return relation.pl() if relation is not None else pl.DataFrame()
    finally:
        con.execute(f"SET produce_arrow_string_view = {'true' if before else 'false'}")


_memory: tuple[int, duckdb.DuckDBPyConnection] | None = None  # (process id, the process's in-memory database)


@contextmanager
def memory_cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of one in-memory DuckDB per process, closed (with the frames registered on it) on exit.

    Why not `duckdb.connect()` each time: opening a database costs 15-30 ms, a cursor of an open one under 1 ms,
    and the budget's and the pay-gap's small calls (tests, what-if moves, forecasts) open one per call. A
    process started by fork opens its own (DuckDB is not fork-safe)."""
    global _memory
    if _memory is None or _memory[0] != os.getpid():
        _memory = (os.getpid(), duckdb.connect())
    cursor = _memory[1].cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def person_cycle_frame(
    evaluations: pl.DataFrame,
    awards: pl.DataFrame,
    payroll: pl.DataFrame,
    policies: Mapping[str, Policy],
) -> pl.DataFrame:
    """The person-cycle rows of polars frames (every column of ``evaluations`` is kept), by the statement of
    :func:`build` run in an in-memory DuckDB."""
    with memory_cursor() as con:
        con.register("_evaluations", evaluations.with_row_index("_row"))
        con.register("_payroll", payroll.with_row_index("_row"))
        con.register("_awards", awards)
        sources = Sources(
            "_evaluations",
            "_payroll",
            "_awards",
            evaluations.columns,
            payroll.columns,
            awards.columns,
            order="_row",
        )
        sql, params = select_sql(sources, policies)
        return con.sql(sql, params=params).pl()
