"""Budget: the cost of the rating and reward decisions, priced on the organisation's own rules and scales.

Every rule value comes from the organisation's policy (policies/*.yaml); nothing here knows PLOEG or Zeeland.

Structural raises (`structural.basis`):
  pct    the rating's `structural_pct` of the annual salary (Z-2), capped so pay never exceeds the scale maximum
         and zero at the maximum (Z-3): raise = max(0, min(salary × (1 + pct/100), maximum) − salary).
  steps  the salary decision's `steps` priced on the scale table (F-9): amount(step + steps, capped at the last
         step) − amount(step). A rating in `salary_decision.forced_zero_for` gives the zero-step decision (F-10).
         Staff in the seniority system (`salary_systems.seniority`, F-8) are priced by its `costing` rule:
         `uncosted` (counted with the reason) or `periodic_steps` (`steps` every `every_years`, annualised).
Full-year cost = raise × fte; in-year cost = full-year × the months of the payout year left from the payout
date (`deadlines.payout`, Z-12) / 12.

Incidental rewards (`award_types` with incidental: true): `kind: pct` is pct of the annual salary × fte (Z-4,
F-7), the pct capped at `allowed_pct.max` where the policy gives a range; `cap: next_scale_maximum` keeps salary
plus allowance at most the next scale's maximum and `max_duration_months` makes it a recurring allowance whose
in-year cost is its overlap with the payout year (Z-7). `kind: amount` is the amount as decided; net amounts
are grossed up with `budget.net_to_gross_factor`; `net_amount` fixes the amount (pro rata fte with
`pro_rata_fte`, Z-6); `min_net_amount` is a floor per member and members without an amount get the group's
equal amount (Z-5). Every cost is multiplied by `budget.employer_oncost_factor` (employer cost).

Budgets: `budget.incidental_payroll_share_pct` of the payroll (Z-14) and `budget.structural_budget_pct` where
the policy sets one, both on the employer basis (× the on-cost factor) so they compare with the costs.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import polars as pl

from models.disclosure.recode import LEFT_OUT_PERSON, OTHERS_LEFT_OUT, mark_left_out_people
from models.errors import ConfigError
from models.person_cycle import TABLE as PERSON_CYCLE
from models.person_cycle import fetch_polars, memory_cursor, person_cycle_frame
from models.policy import AwardType, Policy

TOTAL = "(totaal)"
UNKNOWN_DEPARTMENT = "(onbekend)"
LEVEL_DEPARTMENT = "afdeling"
LEVEL_ORGANISATION = "organisatie"

COSTED = "costed"
NO_DECISION = "no_decision"
SENIORITY = "seniority"
NO_PAYROLL = "no_payroll"
NO_SCALE = "no_scale"
UNCOSTED = (SENIORITY, NO_PAYROLL, NO_SCALE)

KEYS = ["organization", "cycle", "employee_id"]
DEPT_KEYS = ["organization", "cycle", "department"]

EVALUATION_COLUMNS: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "employee_id": pl.String(),
    "department": pl.String(),
    "gender": pl.String(),
    "rating": pl.String(),
    "salary_decision": pl.Int64(),
    "salary_system": pl.String(),
    "at_scale_maximum": pl.Boolean(),
    "fte": pl.Float64(),
}
PAYROLL_COLUMNS: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "employee_id": pl.String(),
    "department": pl.String(),
    "salary_scale": pl.String(),
    "salary_step": pl.Int64(),
    "annual_salary": pl.Float64(),
    "fte": pl.Float64(),
}
AWARD_COLUMNS: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "employee_id": pl.String(),
    "award_type": pl.String(),
    "pct": pl.Float64(),
    "amount": pl.Float64(),
    "amount_basis": pl.String(),
    "group_id": pl.String(),
    "start_date": pl.Date(),
    "duration_months": pl.Int64(),
}
SCALE_COLUMNS: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "salary_scale": pl.String(),
    "point": pl.String(),
    "step": pl.Int64(),
    "annual_amount": pl.Float64(),
}


# ------------------------------------------------------------------------------------------------ the rules
@dataclass(frozen=True)
class Outcome:
    """One structural outcome: a rating (pct basis) or a salary decision (steps basis), low to high."""

    code: str
    value: float  # percentage of salary (pct) or number of steps (steps)
    label: dict[str, str]


@dataclass(frozen=True)
class CostRules:
    """The policy values the budget needs, typed and checked once."""

    policy_id: str
    basis: str  # pct | steps
    outcomes: tuple[Outcome, ...]
    forced_zero_for: tuple[str, ...]
    seniority_code: str | None
    seniority_costing: str  # uncosted | periodic_steps
    seniority_steps: float
    seniority_every_years: float
    seniority_reason: dict[str, str]
    max_steps: int | None
    payout_month: int
    payout_day: int
    payout_year_offset: int
    oncost: float
    net_to_gross: float
    incidental_share_pct: float | None
    structural_budget_pct: float | None
    general_raise_pct: float
    incidental_types: tuple[AwardType, ...]
    min_group_size: int

    @property
    def outcome_codes(self) -> list[str]:
        return [o.code for o in self.outcomes]

    @property
    def outcome_values(self) -> dict[str, float]:
        return {o.code: o.value for o in self.outcomes}

    @property
    def top_outcome(self) -> str:
        """The highest outcome (the 'top rating' of the fairness figures)."""
        return self.outcomes[-1].code

    @property
    def zero_outcome(self) -> str | None:
        """The lowest outcome that gives no raise (F-10: what a forced-zero rating gets)."""
        return next((o.code for o in self.outcomes if o.value == 0), None)

    def payout_date(self, cycle: int) -> dt.date:
        return dt.date(cycle + self.payout_year_offset, self.payout_month, self.payout_day)

    def in_year_factor(self, cycle: int) -> float:
        """Months of the payout year left from the payout date, / 12 (1 May: 8/12, Z-12)."""
        payout = self.payout_date(cycle)
        days = calendar.monthrange(payout.year, payout.month)[1]
        return (12 - (payout.month - 1) - (payout.day - 1) / days) / 12


def _number(value: float | None) -> float | None:
    """A budget factor as the schema typed it (models.policy.Budget checks it is a number); None when unset."""
    return None if value is None else float(value)


def cost_rules(policy: Policy) -> CostRules:
    """Read and check what the budget needs from a policy; ConfigError names the missing key."""
    basis = policy.typed.structural.basis
    if basis not in ("pct", "steps"):
        raise ConfigError(f"policy {policy.id}: structural.basis must be 'pct' or 'steps', not {basis!r}")
    forced: tuple[str, ...] = ()
    if basis == "pct":
        missing = [r.code for r in policy.ratings if r.structural_pct is None]
        if missing:
            raise ConfigError(
                f"policy {policy.id}: rating_scale values {missing} have no structural_pct (Z-2)"
            )
        outcomes = tuple(Outcome(r.code, float(r.structural_pct or 0), r.label) for r in policy.ratings)
    else:
        decision = policy.section("salary_decision") or {}
        values = decision.get("values") or []
        if not values:
            raise ConfigError(
                f"policy {policy.id}: structural.basis is steps but salary_decision.values is empty"
            )
        try:
            ordered = sorted(values, key=lambda v: float(v["steps"]))
            outcomes = tuple(
                Outcome(str(v["code"]), float(v["steps"]), v.get("label", {"nl": str(v["code"])}))
                for v in ordered
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"policy {policy.id}: salary_decision.values need a code and steps") from exc
        forced = tuple(str(c) for c in decision.get("forced_zero_for") or ())
    if len({o.code for o in outcomes}) != len(outcomes):
        raise ConfigError(f"policy {policy.id}: structural outcome codes are not unique")
    seniority = (policy.section("salary_systems") or {}).get("seniority") or {}
    costing = str(seniority.get("costing", "uncosted"))
    if costing not in ("uncosted", "periodic_steps"):
        raise ConfigError(
            f"policy {policy.id}: salary_systems.seniority.costing must be uncosted or periodic_steps"
        )
    every = float(seniority.get("every_years", 0) or 0)
    if costing == "periodic_steps" and every <= 0:
        raise ConfigError(f"policy {policy.id}: seniority costing periodic_steps needs every_years > 0")
    deadlines = policy.typed.deadlines
    payout = deadlines.payout if deadlines is not None else None
    if not isinstance(payout, dict) or not {"month", "day"} <= payout.keys():
        raise ConfigError(f"policy {policy.id}: deadlines.payout (month, day, year_offset) is missing (Z-12)")
    max_steps = policy.typed.salary_decision.max_steps_per_scale
    budget = policy.typed.budget
    return CostRules(
        policy_id=policy.id,
        basis=str(basis),
        outcomes=outcomes,
        forced_zero_for=forced,
        seniority_code=str(seniority["code"]) if seniority.get("code") else None,
        seniority_costing=costing,
        seniority_steps=float(seniority.get("steps", 0) or 0),
        seniority_every_years=every,
        seniority_reason=dict(seniority.get("reason") or {}),
        max_steps=int(max_steps) if max_steps is not None else None,
        payout_month=int(payout["month"]),
        payout_day=int(payout["day"]),
        payout_year_offset=int(payout.get("year_offset", 0)),
        # unset factors are neutral (1: no on-cost, net equals gross; no general raise)
        oncost=_number(budget.employer_oncost_factor) or 1.0,
        net_to_gross=_number(budget.net_to_gross_factor) or 1.0,
        incidental_share_pct=_number(budget.incidental_payroll_share_pct),
        structural_budget_pct=_number(budget.structural_budget_pct),
        general_raise_pct=_number(budget.general_raise_pct) or 0.0,
        incidental_types=tuple(a for a in policy.award_types if a.incidental),
        min_group_size=policy.min_group_size,
    )


# ----------------------------------------------------------------------------------------------- the inputs
def conform(frame: pl.DataFrame | None, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The columns the budget reads, in contract types; absent optional columns become nulls."""
    if frame is None:
        return pl.DataFrame(schema=dict(schema))
    return frame.select(
        [
            pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )


@dataclass(frozen=True)
class BudgetInputs:
    """What the budget reads. ``people`` is the person-cycle layer's rows in :data:`PEOPLE_SELECT` (read from
    ``staging.person_cycle``); without it, :func:`people` pairs ``evaluations`` and ``payroll``."""

    evaluations: pl.DataFrame
    payroll: pl.DataFrame
    awards: pl.DataFrame
    scales: pl.DataFrame
    people: pl.DataFrame | None = None


_FILTERS = {
    (False, False): "",
    (True, False): " WHERE organization = ?",
    (True, True): " WHERE organization = ? AND cycle = ?",
    (False, True): " WHERE cycle = ?",
}
_LAST_CYCLE = (
    " WHERE (organization, cycle) IN (SELECT organization, max(cycle) FROM staging.evaluations GROUP BY ALL)"
)


def load_inputs(
    con: duckdb.DuckDBPyConnection,
    organization: str | None = None,
    cycle: int | None = None,
    last_cycle_only: bool = False,
    cycle_condition: tuple[str, list[object]] | None = None,
    layer: bool = False,
    policies: Mapping[str, Policy] | None = None,
) -> BudgetInputs:
    """Read the staging tables the budget needs (the columns it uses only; values are bound parameters).

    `cycle_condition` is an SQL condition written by the pipeline (never from data) with its parameters,
    applied to the tables that have cycles: a run that rebuilds some cycles reads only those. With `layer`
    the people come from the person-cycle layer (staging.person_cycle, which must be current) and the
    evaluations and payroll are not read. With `policies` (the ones :func:`compute_budget` is given) only
    the awards it prices are read: those of a type the organisation's policy marks incidental (the others,
    such as Zeeland's structural raise rows, nine in ten awards, are dropped by :func:`incidental_costs`); and
    when none of them is on the steps basis, the people's :data:`STEPS_COLUMNS` are left null (unread)."""

    def where_of(has_cycle: bool) -> tuple[str, list[object]]:
        if last_cycle_only and has_cycle:
            where = _LAST_CYCLE + (" AND organization = ?" if organization else "")
            params: list[object] = [organization] if organization else []
        else:
            use_cycle = cycle is not None and has_cycle
            where = _FILTERS[(organization is not None, use_cycle)]
            params = [p for p in (organization, cycle if use_cycle else None) if p is not None]
        if cycle_condition is not None and has_cycle:
            where = f"{where} AND {cycle_condition[0]}" if where else f" WHERE {cycle_condition[0]}"
            params = [*params, *cycle_condition[1]]
        return where, params

    def read(table: str, schema: Mapping[str, pl.DataType], has_cycle: bool = True) -> pl.DataFrame:
        if layer and table in ("evaluations", "payroll"):
            return conform(None, schema)
        columns = ", ".join(f'"{c}"' for c in schema)
        where, params = where_of(has_cycle)
        if table == "awards" and policies is not None:
            priced, priced_params = _incidental_awards(policies)
            where = f"{where} AND {priced}" if where else f" WHERE {priced}"
            params = [*params, *priced_params]
        return conform(fetch_polars(con, f"SELECT {columns} FROM staging.{table}{where}", params), schema)

    people_rows = None
    if layer:
        where, params = where_of(True)
        items = PEOPLE_ITEMS
        if policies is not None and all(p.typed.structural.basis == "pct" for p in policies.values()):
            # nothing on the steps basis: its columns stay unread (null; 15% of the read, a string among them)
            items = {c: sql for c, sql in PEOPLE_ITEMS.items() if c not in STEPS_COLUMNS}
        select = ", ".join(items.values())
        people_rows = conform(
            fetch_polars(con, f"SELECT {select} FROM {PERSON_CYCLE}{where}", params), PEOPLE_COLUMNS
        ).rechunk()
    return BudgetInputs(
        evaluations=read("evaluations", EVALUATION_COLUMNS),
        payroll=read("payroll", PAYROLL_COLUMNS),
        awards=read("awards", AWARD_COLUMNS),
        scales=read("salary_scales", SCALE_COLUMNS, has_cycle=False),
        people=people_rows,
    )


def _incidental_awards(policies: Mapping[str, Policy]) -> tuple[str, list[object]]:
    """SQL condition (with its parameters) on staging.awards: of an organisation in `policies` and of a type
    its policy marks incidental (:func:`incidental_costs` prices those alone)."""
    parts: list[str] = []
    params: list[object] = []
    for org, policy in sorted(policies.items()):
        types = [a.code for a in policy.award_types if a.incidental]
        if types:
            parts.append("(organization = ? AND list_contains(?, award_type))")
            params += [org, types]
    return ("(" + " OR ".join(parts) + ")" if parts else "FALSE"), params


# The people frame of the budget as a selection from the person-cycle layer: department from the evaluation,
# else payroll's; fte from payroll (the pay basis), else the evaluation's.
PEOPLE_ITEMS = {
    "organization": "organization",
    "cycle": "cycle",
    "employee_id": "employee_id",
    "department": f"coalesce(department, pay_department, '{UNKNOWN_DEPARTMENT}') AS department",
    "gender": "gender",
    "rating": "rating",
    "salary_decision": "salary_decision",
    "salary_system": "salary_system",
    "at_scale_maximum": "coalesce(at_scale_maximum, FALSE) AS at_scale_maximum",
    "evaluated": "evaluated",
    "paid": "paid",
    "salary_scale": "salary_scale",
    "salary_step": "salary_step",
    "annual_salary": "annual_salary",
    "fte": "coalesce(payroll_fte, fte) AS fte",
}
PEOPLE_SELECT = ", ".join(PEOPLE_ITEMS.values())
# People columns that only the steps basis prices (the salary decision, the seniority system, the scale step).
STEPS_COLUMNS = ("salary_decision", "salary_system", "salary_step")
PEOPLE_COLUMNS: dict[str, pl.DataType] = {
    **{c: EVALUATION_COLUMNS[c] for c in KEYS},
    "department": pl.String(),
    "gender": pl.String(),
    "rating": pl.String(),
    "salary_decision": pl.Int64(),
    "salary_system": pl.String(),
    "at_scale_maximum": pl.Boolean(),
    "evaluated": pl.Boolean(),
    "paid": pl.Boolean(),
    "salary_scale": pl.String(),
    "salary_step": pl.Int64(),
    "annual_salary": pl.Float64(),
    "fte": pl.Float64(),
}


def people(evaluations: pl.DataFrame, payroll: pl.DataFrame) -> pl.DataFrame:
    """Everyone evaluated or paid in a cycle: evaluations full-joined to payroll on (organization, cycle,
    employee_id), by the person-cycle layer's statement (:mod:`models.person_cycle`) in :data:`PEOPLE_SELECT`.

    Rows: the evaluations in their order, then the payroll rows without an evaluation (a key repeated in
    payroll repeats the evaluation, as a join does)."""
    ev = conform(evaluations, EVALUATION_COLUMNS)
    pay = conform(payroll, PAYROLL_COLUMNS)
    rows = person_cycle_frame(ev, conform(None, AWARD_COLUMNS), pay, {})
    with memory_cursor() as con:
        con.register("_people", rows)
        out = con.sql(f"SELECT {PEOPLE_SELECT} FROM _people").pl()
    # one chunk per column: the costing adds columns by expressions, which would otherwise copy the frame
    return conform(out, PEOPLE_COLUMNS).rechunk()


def index_of(values: pl.Series, categories: Sequence[str], missing: int = -1) -> np.ndarray:
    """Position of each value in `categories` (vectorised); `missing` for nulls and unknown values."""
    mapping = {c: i for i, c in enumerate(categories)}
    return (
        values.cast(pl.String)
        .replace_strict(mapping, default=missing, return_dtype=pl.Int64)
        .fill_null(missing)
        .to_numpy()
        .astype(np.int64)
    )


# ------------------------------------------------------------------------------------------------- scales
def scale_summary(scales: pl.DataFrame) -> pl.DataFrame:
    """Per organisation and scale: maximum, last step and the next higher scale's maximum.

    The maximum is the `maximum` point, else the highest amount listed. Scales are ordered by their maximum;
    the next higher scale is the one with the next larger maximum (the highest scale has none: its own maximum
    is used as the Z-7 cap)."""
    s = conform(scales, SCALE_COLUMNS)
    summary = s.group_by("organization", "salary_scale").agg(
        pl.coalesce(
            pl.col("annual_amount").filter(pl.col("point") == "maximum").max(),
            pl.col("annual_amount").max(),
        ).alias("scale_max"),
        pl.col("step").filter(pl.col("point") == "step").max().alias("last_step"),
    )
    return (
        summary.sort("organization", "scale_max", "salary_scale")
        .with_columns(
            pl.col("scale_max")
            .shift(-1)
            .over("organization", order_by=["scale_max", "salary_scale"])
            .alias("_next")
        )
        .with_columns(pl.coalesce("_next", "scale_max").alias("next_scale_max"))
        .drop("_next")
    )


def step_table(scales: pl.DataFrame) -> pl.DataFrame:
    """(organization, salary_scale, step) → annual amount at 100%."""
    return (
        conform(scales, SCALE_COLUMNS)
        .filter((pl.col("point") == "step") & pl.col("step").is_not_null())
        .group_by("organization", "salary_scale", "step")
        .agg(pl.col("annual_amount").max().alias("amount"))
    )


# --------------------------------------------------------------------------------------------- structural
def _outcome_expr(rules: CostRules) -> pl.Expr:
    codes = rules.outcome_codes
    if rules.basis == "pct":
        return pl.when(pl.col("rating").is_in(codes)).then(pl.col("rating")).otherwise(None)
    decision = pl.col("salary_decision").cast(pl.String)
    own = pl.when(decision.is_in(codes)).then(decision).otherwise(pl.lit(None, dtype=pl.String))
    forced = rules.zero_outcome
    if forced is None or not rules.forced_zero_for:
        return own
    return pl.when(pl.col("rating").is_in(list(rules.forced_zero_for))).then(pl.lit(forced)).otherwise(own)


def _seniority_expr(rules: CostRules) -> pl.Expr:
    if rules.basis != "steps" or rules.seniority_code is None:
        return pl.lit(False)
    return pl.col("salary_system").fill_null("") == rules.seniority_code


def prepare(frame: pl.DataFrame, scales: pl.DataFrame, rules: CostRules) -> pl.DataFrame:
    """People of one organisation with their outcome, scale facts and pricing status (row order kept).

    Adds outcome, seniority, scale_max, next_scale_max, last_step, amount_now, priceable and status."""
    scale_keys = ["organization", "salary_scale"]
    summary = scale_summary(scales)
    orgs = frame["organization"]
    first = orgs[0] if frame.height and orgs.null_count() == 0 else None  # (a null never joins)
    if first is not None and bool((orgs == first).all()):
        # one organisation (as organisation_costs gives): joined on the scale alone, one string key instead of
        # two (measured 27 -> 16 ms for 450k people)
        scale_keys = ["salary_scale"]
        summary = summary.filter(pl.col("organization") == first).drop("organization")
    facts = (
        frame.select(scale_keys)
        .join(summary, on=scale_keys, how="left", maintain_order="left")
        .drop(scale_keys)
    )
    out = frame.with_columns(outcome=_outcome_expr(rules), seniority=_seniority_expr(rules))
    out = out.hstack(facts)  # scale_summary has one row per (organization, salary_scale)
    if rules.basis == "steps":
        if rules.max_steps is not None:
            out = out.with_columns(pl.min_horizontal("last_step", pl.lit(rules.max_steps)).alias("last_step"))
        out = out.join(
            step_table(scales).rename({"step": "salary_step", "amount": "amount_now"}),
            on=["organization", "salary_scale", "salary_step"],
            how="left",
            maintain_order="left",
        )
        has_scale = pl.col("amount_now").is_not_null() & pl.col("last_step").is_not_null()
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias("amount_now"))
        has_scale = pl.col("scale_max").is_not_null()
    paid = pl.col("annual_salary").is_not_null() & pl.col("fte").is_not_null()
    seniority_uncosted = pl.col("seniority") & pl.lit(rules.seniority_costing == "uncosted")
    periodic = pl.col("seniority") & pl.lit(rules.seniority_costing == "periodic_steps")
    at_max_flag = pl.lit(rules.basis == "pct") & pl.col("at_scale_maximum")
    return out.with_columns(
        priceable=paid & has_scale & ~pl.col("seniority"),
        status=pl.when(seniority_uncosted)
        .then(pl.lit(SENIORITY))
        .when(pl.col("outcome").is_null() & ~periodic)
        .then(pl.lit(NO_DECISION))
        .when(~paid)
        .then(pl.lit(NO_PAYROLL))
        .when(~has_scale & ~at_max_flag)
        .then(pl.lit(NO_SCALE))
        .otherwise(pl.lit(COSTED)),
    )


def raise_for(prepared: pl.DataFrame, steps: pl.DataFrame, rules: CostRules, value: pl.Expr) -> pl.DataFrame:
    """The annual raise at 100% fte for an outcome value (pct or number of steps) per person (row order kept).

    Adds `raise_100` (≥ 0; null where it cannot be priced), `at_max` (at the maximum / last step already:
    no raise, Z-3, F-9) and `capped` (a raise cut short by the maximum / last step)."""
    if rules.basis == "pct":
        salary, top = pl.col("annual_salary"), pl.col("scale_max")
        wanted = salary * (1 + value / 100)
        at_max = (pl.col("at_scale_maximum") | (salary >= top)).fill_null(False)
        return prepared.with_columns(
            raise_100=pl.when(at_max & salary.is_not_null())
            .then(0.0)
            .otherwise(pl.max_horizontal(pl.min_horizontal(wanted, top) - salary, pl.lit(0.0))),
            at_max=at_max,
            capped=(~at_max & (wanted > top)).fill_null(False),
        )
    wanted = pl.col("salary_step") + value.round(0).cast(pl.Int64)
    priced = prepared.with_columns(_target=pl.min_horizontal(wanted, pl.col("last_step"))).join(
        steps.rename({"step": "_target", "amount": "_amount_target"}),
        on=["organization", "salary_scale", "_target"],
        how="left",
        maintain_order="left",
    )
    at_max = (pl.col("salary_step") >= pl.col("last_step")).fill_null(False)
    return priced.with_columns(
        raise_100=pl.max_horizontal(pl.col("_amount_target") - pl.col("amount_now"), pl.lit(0.0)),
        at_max=at_max,
        capped=(~at_max & (wanted > pl.col("last_step"))).fill_null(False),
    ).drop("_target", "_amount_target")


def structural_costs(frame: pl.DataFrame, scales: pl.DataFrame, rules: CostRules) -> pl.DataFrame:
    """Per person: outcome, status, raise at 100% and the full-year / in-year gross cost (before on-costs).

    Adds structural_gross (raise × fte, 0 unless costed), structural_gross_in_year, at_maximum (costed, an
    outcome with a raise, but nothing paid: at the maximum / last step) and capped (a partial raise)."""
    prepared = prepare(frame, scales, rules)
    steps = step_table(scales)
    value = pl.lit(None, dtype=pl.Float64)
    for code, amount in reversed(list(rules.outcome_values.items())):
        value = pl.when(pl.col("outcome") == code).then(pl.lit(amount, dtype=pl.Float64)).otherwise(value)
    prepared = prepared.with_columns(_value=value)
    priced = raise_for(prepared, steps, rules, pl.col("_value"))
    if rules.seniority_costing == "periodic_steps":
        periodic = raise_for(prepared, steps, rules, pl.lit(rules.seniority_steps))["raise_100"]
        priced = priced.with_columns(
            raise_100=pl.when(pl.col("seniority"))
            .then(periodic / rules.seniority_every_years)
            .otherwise(pl.col("raise_100")),
            _value=pl.when(pl.col("seniority")).then(pl.lit(rules.seniority_steps)).otherwise("_value"),
        )
    factors = {c: rules.in_year_factor(int(c)) for c in priced["cycle"].unique().drop_nulls().to_list()}
    costed = pl.col("status") == COSTED
    has_raise = pl.col("_value").fill_null(0) > 0
    return (
        priced.with_columns(
            raise_100=pl.when(costed).then(pl.col("raise_100")).otherwise(None),
            structural_gross=pl.when(costed)
            .then(pl.col("raise_100") * pl.col("fte"))
            .otherwise(0.0)
            .fill_null(0.0),
            in_year_factor=pl.col("cycle").replace_strict(factors, default=None, return_dtype=pl.Float64),
            at_maximum=costed & pl.col("at_max") & has_raise,
            capped=costed & pl.col("capped") & has_raise,
        )
        .with_columns(structural_gross_in_year=pl.col("structural_gross") * pl.col("in_year_factor"))
        .drop("_value")
    )


def outcome_matrix(costed_people: pl.DataFrame, scales: pl.DataFrame, rules: CostRules) -> np.ndarray:
    """Full-year gross structural cost of every person (rows of `structural_costs`) under every outcome.

    Array [people, outcomes]; zero for people whose cost does not follow an outcome (not costed, seniority)."""
    steps = step_table(scales)
    ok = (pl.col("status") == COSTED) & ~pl.col("seniority")
    base = costed_people.drop("raise_100", "at_max", "capped")
    columns = [
        raise_for(base, steps, rules, pl.lit(outcome.value))
        .select(pl.when(ok).then(pl.col("raise_100") * pl.col("fte")).otherwise(0.0).fill_null(0.0))
        .to_series()
        .to_numpy()
        for outcome in rules.outcomes
    ]
    if not columns:
        return np.zeros((costed_people.height, 0))
    return np.column_stack(columns).astype(np.float64)


# --------------------------------------------------------------------------------------------- incidental
def _type_specs(rules: CostRules) -> pl.DataFrame:
    rows = []
    for award in rules.incidental_types:
        spec = award.spec
        allowed = spec.get("allowed_pct")
        net_rule = spec.get("net_amount") is not None or spec.get("min_net_amount") is not None
        rows.append(
            {
                "award_type": award.code,
                "kind": award.kind,
                "rule": award.rule,
                "pct_max": float(allowed["max"]) if isinstance(allowed, dict) and "max" in allowed else None,
                "net_amount": float(spec["net_amount"]) if spec.get("net_amount") is not None else None,
                "pro_rata": bool(spec.get("pro_rata_fte", False)),
                "min_net_amount": float(spec["min_net_amount"])
                if spec.get("min_net_amount") is not None
                else None,
                "max_duration": int(spec["max_duration_months"])
                if spec.get("max_duration_months") is not None
                else None,
                "cap_next": spec.get("cap") == "next_scale_maximum",
                "default_basis": "netto" if net_rule else "bruto",
            }
        )
    schema = {
        "award_type": pl.String,
        "kind": pl.String,
        "rule": pl.String,
        "pct_max": pl.Float64,
        "net_amount": pl.Float64,
        "pro_rata": pl.Boolean,
        "min_net_amount": pl.Float64,
        "max_duration": pl.Int64,
        "cap_next": pl.Boolean,
        "default_basis": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def incidental_costs(
    awards: pl.DataFrame, frame: pl.DataFrame, scales: pl.DataFrame, rules: CostRules
) -> pl.DataFrame:
    """Per incidental award: department, type, gross cost, employer cost and in-year employer cost.

    `frame` is the people frame (salary, fte, department); awards of types the policy does not mark
    incidental (e.g. the structural raise row of Z-2) are left out. `costed` is false when a pct award has
    no salary or an amount award no amount."""
    specs = _type_specs(rules)
    incidental = conform(awards, AWARD_COLUMNS).filter(
        pl.col("award_type").is_in(specs["award_type"].implode())
    )
    a = incidental.join(specs, on="award_type", how="inner")  # (the filter first: a join on few rows)
    # The people with an award first (a semi join hashes the few award keys, not every person's), so that the
    # left join below hashes those few people (measured: 53 -> 35 ms for 64k awards of 450k people).
    person = frame.select(*KEYS, "department", "salary_scale", "annual_salary", "fte").join(
        a.select(KEYS), on=KEYS, how="semi"
    )
    a = a.join(person, on=KEYS, how="left", maintain_order="left")
    a = a.join(
        scale_summary(scales).select("organization", "salary_scale", "next_scale_max"),
        on=["organization", "salary_scale"],
        how="left",
    )
    n2g = rules.net_to_gross
    salary, fte = pl.col("annual_salary"), pl.col("fte")
    # percentages of the annual salary (Z-4, F-7, Z-7)
    pct = pl.when(pl.col("pct_max").is_not_null()).then(pl.min_horizontal("pct", "pct_max")).otherwise("pct")
    annual = pct / 100 * salary
    annual = (
        pl.when(pl.col("cap_next"))
        .then(pl.min_horizontal(annual, pl.max_horizontal(pl.col("next_scale_max") - salary, pl.lit(0.0))))
        .otherwise(annual)
    )
    # amounts: everything in net terms first, then grossed up once
    basis = pl.coalesce(pl.col("amount_basis").str.to_lowercase(), pl.col("default_basis"))
    net_own = pl.when(basis == "netto").then(pl.col("amount")).otherwise(pl.col("amount") / n2g)
    # intermediate values are columns: an expression used twice would be evaluated twice
    a = a.with_columns(_net_own=net_own, _annual=annual)
    annual = pl.col("_annual")
    group_equal = pl.col("_net_own").min().over("organization", "cycle", "award_type", "group_id")
    net = pl.coalesce(
        pl.when(pl.col("group_id").is_not_null())
        .then(pl.coalesce("_net_own", group_equal))
        .otherwise("_net_own"),
        pl.col("min_net_amount"),
    )
    a = a.with_columns(_net=net)
    net = (
        pl.when(pl.col("min_net_amount").is_not_null())
        .then(pl.max_horizontal("_net", "min_net_amount"))
        .otherwise("_net")
    )
    a = a.with_columns(_net=net)
    fixed = pl.col("net_amount") * pl.when(pl.col("pro_rata")).then(fte).otherwise(1.0)
    net = pl.when(pl.col("net_amount").is_not_null()).then(pl.coalesce(fixed, "_net")).otherwise("_net")
    months = pl.min_horizontal(pl.coalesce("duration_months", "max_duration"), "max_duration")
    a = a.with_columns(_net=net, _months=months)
    months = pl.col("_months")
    a = a.with_columns(
        gross=pl.when(pl.col("kind") == "pct")
        .then(
            annual
            * fte
            * pl.when(months.is_not_null()).then(pl.min_horizontal(months, 12) / 12).otherwise(1.0)
        )
        .otherwise(pl.col("_net") * n2g),
    )
    # in-year: one-off rewards are paid in the payout year; recurring allowances count their overlap with it
    year = pl.col("cycle") + rules.payout_year_offset
    a = a.with_columns(
        _payout=pl.date(year, pl.lit(rules.payout_month), pl.lit(rules.payout_day)),
        _jan1=pl.date(year, 1, 1),
        _next_jan1=pl.date(year + 1, 1, 1),
    )
    a = a.with_columns(_start=pl.coalesce("start_date", "_payout"))
    start, jan1, next_jan1 = pl.col("_start"), pl.col("_jan1"), pl.col("_next_jan1")
    end = start.dt.offset_by(pl.format("{}mo", pl.col("_months").fill_null(0)))
    overlap = (pl.min_horizontal(end, next_jan1) - pl.max_horizontal(start, jan1)).dt.total_days().clip(0)
    year_days = (next_jan1 - jan1).dt.total_days()
    in_year = (
        pl.when(pl.col("_months").is_not_null()).then(annual * fte * overlap / year_days).otherwise("gross")
    )
    a = a.with_columns(
        gross_in_year=in_year,
        costed=pl.col("gross").is_not_null(),
        department=pl.col("department").fill_null(UNKNOWN_DEPARTMENT),
    )
    return a.select(
        *KEYS,
        "department",
        "award_type",
        "kind",
        "rule",
        "costed",
        pl.col("gross").fill_null(0.0),
        (pl.col("gross").fill_null(0.0) * rules.oncost).alias("cost"),
        (pl.col("gross_in_year").fill_null(0.0) * rules.oncost).alias("cost_in_year"),
    )


# ------------------------------------------------------------------------------------------------ the marts
# The headcount over the shown gender categories: without the people of a small category that the fairness mart
# leaves out of a cycle (docs/privacy.md). The organisation site publishes this one ("excluding n < k others"
# where `others_left_out`); every amount stays over everyone.
SHOWN_HEADCOUNT = "shown_headcount"


def with_shown_headcount(
    rows: pl.DataFrame, people: pl.DataFrame, left_out: pl.DataFrame | None, cycle: str = "cycle"
) -> pl.DataFrame:
    """`rows` (organization, `cycle`, department, headcount; the organisation total's department is
    :data:`TOTAL`) with :data:`SHOWN_HEADCOUNT` (headcount minus the people of `people` whose gender category
    `left_out` names: models.fairness_intersections.left_out_categories, the fairness mart's rule) and
    `others_left_out` on every row of such a cycle."""
    if rows.height == 0 or left_out is None or left_out.height == 0 or "gender" not in people.columns:
        # nobody left out (mark_left_out_people would mark no one): the headcount as it is
        return rows.with_columns(
            pl.col("headcount").alias(SHOWN_HEADCOUNT), pl.lit(False).alias(OTHERS_LEFT_OUT)
        )
    marked = mark_left_out_people(people.select("organization", "cycle", "department", "gender"), left_out)
    per_department = marked.group_by("organization", "cycle", "department").agg(
        pl.col(LEFT_OUT_PERSON).sum().cast(pl.Int64).alias("_out")
    )
    per_organisation = marked.group_by("organization", "cycle").agg(
        pl.col(LEFT_OUT_PERSON).sum().cast(pl.Int64).alias("_out"),
        pl.col(OTHERS_LEFT_OUT).any().alias("_flag"),
    )
    counts = pl.concat(
        [
            per_department,
            per_organisation.select("organization", "cycle", pl.lit(TOTAL).alias("department"), "_out"),
        ]
    ).rename({"cycle": cycle})
    keys = ["organization", cycle]
    return (
        rows.join(counts.cast({cycle: rows.schema[cycle]}), on=[*keys, "department"], how="left")
        .join(
            per_organisation.rename({"cycle": cycle}).drop("_out").cast({cycle: rows.schema[cycle]}),
            on=keys,
            how="left",
        )
        .with_columns(
            (pl.col("headcount") - pl.col("_out").fill_null(0)).cast(pl.Int64).alias(SHOWN_HEADCOUNT),
            pl.col("_flag").fill_null(False).alias(OTHERS_LEFT_OUT),
        )
        .drop("_out", "_flag")
    )


BUDGET_SUMS = (
    "headcount",
    "fte",
    "payroll",
    "structural_costed",
    "structural_at_maximum",
    "structural_capped",
    "structural_no_decision",
    "structural_uncosted",
    "uncosted_seniority",
    "uncosted_no_payroll",
    "uncosted_no_scale",
    "structural_gross_full_year",
    "structural_gross_in_year",
    "structural_cost_full_year",
    "structural_cost_in_year",
    "incidental_awards",
    "incidental_uncosted",
    "incidental_gross",
    "incidental_cost",
    "incidental_cost_in_year",
    "total_cost_full_year",
    "total_cost_in_year",
    "incidental_budget",
    "structural_budget",
)
INT_COLUMNS = (
    "headcount",
    SHOWN_HEADCOUNT,
    "structural_costed",
    "structural_at_maximum",
    "structural_capped",
    "structural_no_decision",
    "structural_uncosted",
    "uncosted_seniority",
    "uncosted_no_payroll",
    "uncosted_no_scale",
    "incidental_awards",
    "incidental_uncosted",
)


@dataclass(frozen=True)
class OrganisationCosts:
    """The person-level and award-level costs of one organisation (all cycles given)."""

    organization: str
    rules: CostRules
    people: pl.DataFrame
    awards: pl.DataFrame


def organisation_costs(inputs: BudgetInputs, organization: str, rules: CostRules) -> OrganisationCosts:
    org = pl.col("organization") == organization
    # the columns the budget reads first: the filter then copies those alone
    if inputs.people is not None:
        frame = inputs.people.filter(org)
    else:
        evaluations = conform(inputs.evaluations, EVALUATION_COLUMNS).filter(org)
        frame = people(evaluations, conform(inputs.payroll, PAYROLL_COLUMNS).filter(org))
    scales = inputs.scales.filter(org)
    awards = conform(inputs.awards, AWARD_COLUMNS).filter(org)
    with ThreadPoolExecutor(max_workers=2) as pool:  # independent; polars releases the GIL
        incidental = pool.submit(incidental_costs, awards, frame, scales, rules)
        person_costs, award_costs = structural_costs(frame, scales, rules), incidental.result()
    return OrganisationCosts(organization, rules, person_costs, award_costs)


def _department_rows(costs: OrganisationCosts) -> pl.DataFrame:
    rules, p = costs.rules, costs.people
    status = pl.col("status")
    # one organisation (as organisation_costs gives): grouped without the organisation's name (fewer string keys)
    one = costs.organization
    single = all(bool((f["organization"] == one).all()) for f in (p, costs.awards))
    keys = ["cycle", "department"] if single else DEPT_KEYS

    def with_organisation(frame: pl.DataFrame) -> pl.DataFrame:
        if not single:
            return frame
        return frame.select(pl.lit(one, dtype=pl.String).alias("organization"), pl.all())

    by_people = p.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("headcount"),
        pl.col("fte").filter(pl.col("paid")).sum().alias("fte"),
        (pl.col("annual_salary") * pl.col("fte")).sum().alias("payroll"),
        (status == COSTED).sum().alias("structural_costed"),
        pl.col("at_maximum").sum().alias("structural_at_maximum"),
        pl.col("capped").sum().alias("structural_capped"),
        (status == NO_DECISION).sum().alias("structural_no_decision"),
        status.is_in(UNCOSTED).sum().alias("structural_uncosted"),
        (status == SENIORITY).sum().alias("uncosted_seniority"),
        (status == NO_PAYROLL).sum().alias("uncosted_no_payroll"),
        (status == NO_SCALE).sum().alias("uncosted_no_scale"),
        pl.col("structural_gross").sum().alias("structural_gross_full_year"),
        pl.col("structural_gross_in_year").sum().alias("structural_gross_in_year"),
    )
    by_awards = costs.awards.group_by(keys).agg(
        pl.col("costed").sum().alias("incidental_awards"),
        (~pl.col("costed")).sum().alias("incidental_uncosted"),
        pl.col("gross").sum().alias("incidental_gross"),
        pl.col("cost").sum().alias("incidental_cost"),
        pl.col("cost_in_year").sum().alias("incidental_cost_in_year"),
    )
    rows = with_organisation(by_people.join(by_awards, on=keys, how="full", coalesce=True))
    filled = [c for c in rows.columns if c not in DEPT_KEYS]
    rows = rows.with_columns([pl.col(c).fill_null(0) for c in filled])
    share, structural = rules.incidental_share_pct, rules.structural_budget_pct
    payroll_cost = pl.col("payroll") * rules.oncost
    return rows.with_columns(
        structural_cost_full_year=pl.col("structural_gross_full_year") * rules.oncost,
        structural_cost_in_year=pl.col("structural_gross_in_year") * rules.oncost,
        incidental_budget=(payroll_cost * share / 100)
        if share is not None
        else pl.lit(None, dtype=pl.Float64),
        structural_budget=(payroll_cost * structural / 100)
        if structural is not None
        else pl.lit(None, dtype=pl.Float64),
    ).with_columns(
        total_cost_full_year=pl.col("structural_cost_full_year") + pl.col("incidental_cost"),
        total_cost_in_year=pl.col("structural_cost_in_year") + pl.col("incidental_cost_in_year"),
    )


def _finish(rows: pl.DataFrame, rules: CostRules) -> pl.DataFrame:
    def ratio(cost: str, budget: str) -> pl.Expr:
        return pl.when(pl.col(budget) > 0).then(pl.col(cost) / pl.col(budget)).otherwise(None)

    payout = {c: rules.payout_date(int(c)) for c in rows["cycle"].unique().to_list()}
    factor = {c: rules.in_year_factor(int(c)) for c in rows["cycle"].unique().to_list()}
    return rows.with_columns(
        policy_id=pl.lit(rules.policy_id),
        payout_date=pl.col("cycle").replace_strict(payout, default=None, return_dtype=pl.Date),
        in_year_factor=pl.col("cycle").replace_strict(factor, default=None, return_dtype=pl.Float64),
        incidental_variance=pl.col("incidental_budget") - pl.col("incidental_cost"),
        incidental_utilisation=ratio("incidental_cost", "incidental_budget"),
        structural_variance=pl.col("structural_budget") - pl.col("structural_cost_full_year"),
        structural_utilisation=ratio("structural_cost_full_year", "structural_budget"),
    ).with_columns(
        over_budget=(pl.col("incidental_utilisation") > 1).fill_null(False)
        | (pl.col("structural_utilisation") > 1).fill_null(False)
    )


BUDGET_ORDER = [
    "organization",
    "cycle",
    "level",
    "department",
    "policy_id",
    "headcount",
    SHOWN_HEADCOUNT,
    OTHERS_LEFT_OUT,
    "fte",
    "payroll",
    "structural_costed",
    "structural_at_maximum",
    "structural_capped",
    "structural_no_decision",
    "structural_uncosted",
    "uncosted_seniority",
    "uncosted_no_payroll",
    "uncosted_no_scale",
    "payout_date",
    "in_year_factor",
    "structural_gross_full_year",
    "structural_gross_in_year",
    "structural_cost_full_year",
    "structural_cost_in_year",
    "incidental_awards",
    "incidental_uncosted",
    "incidental_gross",
    "incidental_cost",
    "incidental_cost_in_year",
    "total_cost_full_year",
    "total_cost_in_year",
    "incidental_budget",
    "incidental_variance",
    "incidental_utilisation",
    "structural_budget",
    "structural_variance",
    "structural_utilisation",
    "over_budget",
]
BY_TYPE_ORDER = [
    "organization",
    "cycle",
    "level",
    "department",
    "award_type",
    "kind",
    "rule",
    "awards",
    "uncosted",
    "gross",
    "cost",
    "cost_in_year",
]


def budget_rows(costs: OrganisationCosts, left_out: pl.DataFrame | None = None) -> pl.DataFrame:
    """marts.budget rows of one organisation: one per cycle × department plus the organisation total; the
    headcount also over the shown gender categories (`left_out`: :func:`with_shown_headcount`)."""
    departments = _department_rows(costs)
    totals = departments.group_by("organization", "cycle").agg(
        [pl.col(c).sum() for c in BUDGET_SUMS if c not in ("incidental_budget", "structural_budget")]
        + [
            pl.when(pl.col(b).is_null().all()).then(None).otherwise(pl.col(b).sum()).alias(b)
            for b in ("incidental_budget", "structural_budget")
        ]
    )
    totals = totals.with_columns(department=pl.lit(TOTAL), level=pl.lit(LEVEL_ORGANISATION))
    departments = departments.with_columns(level=pl.lit(LEVEL_DEPARTMENT))
    combined = pl.concat([departments, totals.select(departments.columns)], how="vertical")
    combined = with_shown_headcount(_finish(combined, costs.rules), costs.people, left_out)
    combined = combined.with_columns([pl.col(c).cast(pl.Int64) for c in INT_COLUMNS])
    return combined.select(BUDGET_ORDER).sort(
        "organization", "cycle", pl.col("level") == LEVEL_ORGANISATION, "department"
    )


def by_type_rows(costs: OrganisationCosts) -> pl.DataFrame:
    """marts.budget_by_type rows: incidental cost per cycle × department × award type, plus organisation totals."""
    keys = [*DEPT_KEYS, "award_type", "kind", "rule"]
    aggs = [
        pl.col("costed").sum().cast(pl.Int64).alias("awards"),
        (~pl.col("costed")).sum().cast(pl.Int64).alias("uncosted"),
        pl.col("gross").sum(),
        pl.col("cost").sum(),
        pl.col("cost_in_year").sum(),
    ]
    departments = costs.awards.group_by(keys).agg(aggs).with_columns(level=pl.lit(LEVEL_DEPARTMENT))
    totals = (
        costs.awards.group_by([k for k in keys if k != "department"])
        .agg(aggs)
        .with_columns(department=pl.lit(TOTAL), level=pl.lit(LEVEL_ORGANISATION))
    )
    combined = pl.concat([departments.select(BY_TYPE_ORDER), totals.select(BY_TYPE_ORDER)], how="vertical")
    return combined.sort(
        "organization", "cycle", pl.col("level") == LEVEL_ORGANISATION, "department", "award_type"
    )


@dataclass(frozen=True)
class BudgetResult:
    budget: pl.DataFrame
    by_type: pl.DataFrame
    organisations: dict[str, OrganisationCosts]


def compute_budget(
    inputs: BudgetInputs, policies: Mapping[str, Policy], left_out: pl.DataFrame | None = None
) -> BudgetResult:
    """marts.budget and marts.budget_by_type for every configured organisation present in the data; `left_out`
    (organization, cycle, gender): the small gender categories the fairness mart leaves out of a cycle, for the
    headcount over the shown categories (:func:`with_shown_headcount`)."""
    frames = [inputs.people] if inputs.people is not None else [inputs.evaluations, inputs.payroll]
    if len(policies) <= 8:  # a comparison per organisation is cheaper than the distinct names of every row
        present = {org for org in policies if any((f["organization"] == org).any() for f in frames)}
    else:
        present = {org for f in frames for org in f["organization"].unique().to_list()}
    organisations = {
        org: organisation_costs(inputs, org, cost_rules(policy))
        for org, policy in sorted(policies.items())
        if org in present
    }
    budgets = [budget_rows(c, left_out) for c in organisations.values()]
    types = [by_type_rows(c) for c in organisations.values()]
    return BudgetResult(
        budget=_concat(budgets, BUDGET_ORDER),
        by_type=_concat(types, BY_TYPE_ORDER),
        organisations=organisations,
    )


def _concat(frames: Iterable[pl.DataFrame], order: list[str]) -> pl.DataFrame:
    frames = [f for f in frames if f.height]
    if not frames:
        return empty_frame(order)
    return pl.concat(frames, how="vertical_relaxed")


def empty_frame(order: list[str]) -> pl.DataFrame:
    """An empty mart with typed columns (so a database without data still gets a queryable table)."""
    types: dict[str, Any] = {
        "organization": pl.String,
        "cycle": pl.Int64,
        "level": pl.String,
        "department": pl.String,
        "policy_id": pl.String,
        "payout_date": pl.Date,
        "over_budget": pl.Boolean,
        OTHERS_LEFT_OUT: pl.Boolean,
        "award_type": pl.String,
        "kind": pl.String,
        "rule": pl.String,
        "awards": pl.Int64,
        "uncosted": pl.Int64,
    }
    return pl.DataFrame(schema={c: types.get(c, pl.Int64 if c in INT_COLUMNS else pl.Float64) for c in order})
