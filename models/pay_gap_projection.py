"""Where the reward rules take the pay gap: a Monte Carlo projection of the Article 9 gap per category of workers
(``marts.pay_gap_projection``), and the person-level frame the cost-to-close model shares.

Population. The women and men of the organisation's last cycle who are on the payroll (the people of the
Article 9 figures, :func:`models.pay_transparency.pay_frame`). The budget forecast (:mod:`models.forecast`),
whose horizon, draws and seed this projection reuses (:func:`models.forecast.forecast_settings`) unless the
policy's ``pay_gap`` section sets its own, keeps its population closed; here exits and entries are taken from
the data: between two years a person's place changes hands with the exit rate observed for their sex and
category over the window, and goes to a newcomer of the same sex and category paid as one of the category's
observed newcomers (headcount and composition stay as they are; :class:`_Turnover`).

One year of one draw, per person:

* **leave (Z-11)** — with the probability observed for their sex over the recent cycles, a chosen leave
  (``absence.no_rating_when_leave``) longer than the cycle minus ``absence.min_presence_months``: no rating,
  no structural raise, no incidental reward;
* **rating** — drawn from the outcome distribution of their sex and category observed over the last
  ``rating_window_cycles`` cycles (rating on pct policies, salary decision on steps policies, with F-10's
  forced zero: :func:`models.budget.prepare`); a cell with fewer than ``disclosure.min_group_size`` rated
  people uses the distribution of their sex in the organisation;
* **structural raise** — the regime's rule (pct of salary, Z-2, or steps on the scale table, F-9), capped at
  the scale maximum / last step and nothing at the maximum (Z-3); seniority staff (F-8) and people without a
  priced scale keep their salary;
* **incidental reward** — with the rate observed for people with the same outcome, a reward worth the
  variable-pay-to-pay ratio of a randomly drawn observed recipient of that outcome.

Pay of the year follows the Art. 9 definitions: basic = salary × fte, variable = the structural award (on
policies that book the raise as an award, ``structural.award_type``) + incidental rewards, total = both; the
raise decided in a cycle is in the next cycle's salary (the payroll of a cycle is the salary of that year).
Amounts are in base-year euros: general raises (Z-13) lift every salary and scale alike and leave the gap as
it is.

Year 0 is the published Article 9 figure itself (item (g): :func:`models.pay_transparency.pay_transparency`
on the same people); years 1..H are quantiles over the draws. The same random numbers are used for every
scenario of an organisation (common random numbers), so the difference between the regime and a scenario file
is the difference the rules make, not noise.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.budget import (
    CostRules,
    cost_rules,
    index_of,
    prepare,
    step_table,
)
from models.config import read_yaml
from models.errors import ConfigError
from models.forecast import ScenarioFile, forecast_settings, load_scenarios
from models.pay_transparency import MEN, WOMEN, pay_transparency
from models.policy import PAY_GAP_DRAWS, PAY_GAP_HORIZON_YEARS, Policy
from models.stats import gender_pay_gap

RULES_SCENARIO = "rules"
COMPONENTS = ("basic", "variable", "total")
MEASURES = ("mean_gap", "median_gap")
CATEGORY_TYPES = ("function_level", "salary_scale")
OBJECTIVE_FACTORS = ("function_level", "salary_scale", "salary_step", "tenure")
KEYS = ["organization", "cycle", "employee_id"]


# ------------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class PayGapSettings:
    """The policy's ``pay_gap`` section (defaults in the schema, models.policy.PayGap; docs/marts/pay_gap.md)."""

    category: str
    horizon: int
    draws: int
    seed: int
    rating_window_cycles: int
    threshold: float
    objective_factors: tuple[str, ...]
    close_to_gap: float
    min_raise_pct: float
    max_raise_pct: float


def pay_gap_settings(policy: Policy) -> PayGapSettings:
    """Read and check the ``pay_gap`` section; horizon, draws and seed default to the forecast's (the
    forecast section's, else the schema's defaults of a forecast)."""
    typed = policy.typed
    section, forecast = typed.pay_gap, forecast_settings(policy)
    horizon = section.horizon_years or (forecast.horizon if forecast else PAY_GAP_HORIZON_YEARS)
    draws = section.draws or (forecast.draws if forecast else PAY_GAP_DRAWS)
    seed = section.seed if section.seed is not None else (forecast.seed if forecast else typed.forecast.seed)
    category = section.category
    factors = tuple(section.objective_factors)
    settings = PayGapSettings(
        category=category,
        horizon=horizon,
        draws=draws,
        seed=seed,
        rating_window_cycles=section.rating_window_cycles,
        threshold=typed.fairness.pay_transparency.article10_gap_threshold,
        objective_factors=factors,
        close_to_gap=section.close_to_gap,
        min_raise_pct=section.min_raise_pct,
        max_raise_pct=section.max_raise_pct,
    )
    if category not in CATEGORY_TYPES:
        raise ConfigError(f"policy {policy.id}: pay_gap.category must be one of {CATEGORY_TYPES}")
    unknown = sorted(set(factors) - set(OBJECTIVE_FACTORS))
    if unknown:
        raise ConfigError(
            f"policy {policy.id}: pay_gap.objective_factors {unknown} unknown (known: {OBJECTIVE_FACTORS})"
        )
    if not 1 <= horizon <= 10 or not 10 <= draws <= 100_000 or settings.rating_window_cycles < 1:
        raise ConfigError(
            f"policy {policy.id}: pay_gap needs horizon_years 1..10, draws 10..100000, rating_window_cycles >= 1"
        )
    if not 0 <= settings.min_raise_pct <= settings.max_raise_pct or not 0 <= settings.close_to_gap < 1:
        raise ConfigError(
            f"policy {policy.id}: pay_gap needs 0 <= min_raise_pct <= max_raise_pct and 0 <= close_to_gap < 1"
        )
    return settings


# ----------------------------------------------------------------------------------------- scenario files
@dataclass(frozen=True)
class RuleChange:
    """A scenario file's ``pay_gap`` section: other raise rules for the projection.

    raise_amounts  EUR per year at 100% fte per outcome code, instead of the regime's percentages or steps
    raise_pct      other percentages per outcome code (pct policies)
    incidental_rate_factor  multiplies every outcome's incidental reward rate (capped at 1)"""

    id: str
    organization: str
    label: dict[str, str]
    raise_amounts: dict[str, float] = field(default_factory=dict)
    raise_pct: dict[str, float] = field(default_factory=dict)
    incidental_rate_factor: float = 1.0


def _mapping_of_numbers(raw: Any, where: str) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a mapping of outcome code to number")
    try:
        return {str(k): float(v) for k, v in raw.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: every value must be a number") from exc


def rule_changes(files: Iterable[ScenarioFile]) -> list[RuleChange]:
    """The ``pay_gap`` sections of the scenario files (loaded by :func:`models.forecast.load_scenarios`,
    which ignores the section; read here from the same file)."""
    out = []
    for file in files:
        raw = read_yaml(Path(file.path))
        section = raw.get("pay_gap") if isinstance(raw, Mapping) else None
        if not section:
            continue
        where = f"scenario file {Path(file.path).name}, pay_gap"
        if not isinstance(section, Mapping):
            raise ConfigError(f"{where} is not a mapping")
        change = RuleChange(
            id=file.id,
            organization=file.organization,
            label=file.label,
            raise_amounts=_mapping_of_numbers(section.get("raise_amounts"), f"{where}.raise_amounts"),
            raise_pct=_mapping_of_numbers(section.get("raise_pct"), f"{where}.raise_pct"),
            incidental_rate_factor=float(section.get("incidental_rate_factor", 1.0)),
        )
        if change.raise_amounts and change.raise_pct:
            raise ConfigError(f"{where}: give raise_amounts or raise_pct, not both")
        if change.incidental_rate_factor < 0:
            raise ConfigError(f"{where}: incidental_rate_factor must not be negative")
        out.append(change)
    return out


# ------------------------------------------------------------------------------------------- person frame
EVALUATION_COLUMNS = (
    "organization",
    "cycle",
    "employee_id",
    "department",
    "function_level",
    "gender",
    "rating",
    "salary_decision",
    "salary_system",
    "at_scale_maximum",
    "fte",
    "absence_type",
    "absence_months",
    "hire_date",
    "months_in_service",
)
PAYROLL_COLUMNS = (
    "organization",
    "cycle",
    "employee_id",
    "annual_salary",
    "fte",
    "salary_scale",
    "salary_step",
)
AWARD_COLUMNS = ("organization", "cycle", "employee_id", "award_type", "pct", "amount", "amount_basis")


def person_frame(
    people: pl.DataFrame, payroll: pl.DataFrame, scales: pl.DataFrame, rules: CostRules
) -> pl.DataFrame:
    """One organisation's people with pay (the :func:`models.pay_transparency.people_frame` of its cycles) and
    what the rules need: salary scale and step, outcome, scale maximum and last step, priceable, seniority,
    incidental value and tenure in years. Women and men on the payroll only (the Art. 9 population)."""
    scale_cols = payroll.select([*KEYS, "salary_scale", "salary_step"]).unique(KEYS, keep="first")
    frame = (
        people.filter(pl.col("pay").is_not_null() & pl.col("gender").is_in([WOMEN, MEN]))
        .drop([c for c in ("salary_scale", "salary_step") if c in people.columns])
        .join(scale_cols, on=KEYS, how="left")
    )
    for column, dtype in (
        ("salary_decision", pl.Int64),
        ("salary_system", pl.String),
        ("at_scale_maximum", pl.Boolean),
        ("absence_type", pl.String),
        ("absence_months", pl.Float64),
        ("months_in_service", pl.Float64),
        ("hire_date", pl.Date),
        ("rating", pl.String),
    ):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(column))
    frame = frame.with_columns(
        pl.col("at_scale_maximum").fill_null(False),
        pl.col("payroll_fte").alias("fte"),
        pl.col("salary_step").cast(pl.Int64),
    )
    prepared = prepare(frame, scales, rules)
    structural = pl.col("structural_pct").fill_null(0.0)
    return prepared.with_columns(
        incidental_value=(
            pl.col("amount_total").fill_null(0.0)
            + (pl.col("pct_total").fill_null(0.0) - structural) / 100.0 * pl.col("pay")
        ).clip(lower_bound=0.0),
        tenure=pl.coalesce(
            pl.col("months_in_service") / 12.0,
            ((pl.date(pl.col("cycle"), 12, 31) - pl.col("hire_date")).dt.total_days() / 365.25).clip(0.0),
        ),
        decidable=pl.col("priceable").fill_null(False) & ~pl.col("seniority").fill_null(False),
    )


# ----------------------------------------------------------------------------------------------- the engine
@dataclass
class _Base:
    """The base cycle's people as arrays, in a fixed order (organisation × category × sex)."""

    categories: list[str]
    category: np.ndarray  # [n] index into categories
    women: np.ndarray  # [n] bool
    fte: np.ndarray
    salary: np.ndarray  # annual salary at 100% (after nothing: the base cycle's)
    decidable: np.ndarray
    outcome: np.ndarray  # [n] base cycle outcome index, -1 none
    scale_max: np.ndarray  # nan when unknown
    at_max: np.ndarray  # Z-3 flag of the base cycle
    step: np.ndarray  # [n] current step (steps basis), -1 unknown
    last_step: np.ndarray
    amounts: np.ndarray  # [n, S] amount per step of the person's scale (steps basis), filled
    bounds: np.ndarray  # [k, 2, 2] (start, end) of the women (0) and the men (1) of each category

    def slices(self, c: int) -> tuple[slice, slice]:
        """The women and the men of category c: contiguous, because the base is sorted by category and sex."""
        (ws, we), (ms, me) = self.bounds[c]
        return slice(int(ws), int(we)), slice(int(ms), int(me))


def _filled_steps(amounts: dict[int, float], last: int, width: int) -> np.ndarray:
    """A scale's amounts by step with gaps filled from below (above, before the first) and every step
    beyond the last at the last step's amount (raises stop there, F-9)."""
    row = np.full(width, np.nan)
    for step, amount in amounts.items():
        if 0 <= step < width:
            row[step] = amount
    row[last + 1 :] = np.nan
    valid = ~np.isnan(row)
    if not valid.any():
        return np.zeros(width)
    idx = np.where(valid, np.arange(width), -1)
    forward = np.maximum.accumulate(idx)
    first = int(np.argmax(valid))
    row = row[np.where(forward >= 0, forward, first)]
    row[last + 1 :] = row[min(last, width - 1)]
    return row


def _base_arrays(base: pl.DataFrame, scales: pl.DataFrame, rules: CostRules, category: str) -> _Base:
    categories = sorted(base[category].drop_nulls().cast(pl.String).unique().to_list())
    n = base.height
    outcome = index_of(base["outcome"], rules.outcome_codes)
    step = base["salary_step"].fill_null(-1).to_numpy().astype(np.int64)
    last = base["last_step"].fill_null(-1).to_numpy().astype(np.int64)
    width = int(max(int(last.max()) if n else 0, int(step.max()) if n else 0, 0)) + 3
    amounts = np.zeros((n, width))
    if rules.basis == "steps" and n:
        table = step_table(scales)
        by_scale: dict[str, dict[int, float]] = {}
        for scale, s, amount in table.select("salary_scale", "step", "amount").iter_rows():
            by_scale.setdefault(str(scale), {})[int(s)] = float(amount)
        rows = {}
        for scale, top in base.select("salary_scale", "last_step").unique().iter_rows():
            if scale is not None and top is not None and str(scale) in by_scale:
                rows[(str(scale), int(top))] = _filled_steps(by_scale[str(scale)], int(top), width)
        for i, (scale, top) in enumerate(base.select("salary_scale", "last_step").iter_rows()):
            if scale is not None and top is not None and (str(scale), int(top)) in rows:
                amounts[i] = rows[(str(scale), int(top))]
    index = index_of(base[category], categories)
    women = (base["gender"] == WOMEN).to_numpy()
    if np.any(np.diff(index * 2 + (~women).astype(np.int64)) < 0):
        raise ValueError("the base must be sorted by category and sex (women first)")
    bounds = np.zeros((len(categories), 2, 2), dtype=np.int64)
    for c in range(len(categories)):
        for side, members in ((0, (index == c) & women), (1, (index == c) & ~women)):
            where = np.flatnonzero(members)
            bounds[c, side] = (where[0], where[-1] + 1) if where.size else (0, 0)
    return _Base(
        categories=categories,
        category=index,
        women=(base["gender"] == WOMEN).to_numpy(),
        fte=base["fte"].to_numpy().astype(np.float64),
        salary=base["annual_salary"].to_numpy().astype(np.float64),
        decidable=base["decidable"].to_numpy().astype(bool),
        outcome=outcome,
        scale_max=base["scale_max"].fill_null(np.nan).to_numpy().astype(np.float64),
        at_max=base["at_scale_maximum"].fill_null(False).to_numpy().astype(bool),
        step=step,
        last_step=last,
        amounts=amounts,
        bounds=bounds,
    )


@dataclass(frozen=True)
class _Rules:
    """One scenario's raise rule: per outcome a pct, a number of steps, or an amount (EUR at 100%)."""

    kind: str  # pct | steps | amount
    values: np.ndarray  # [R]
    incidental_factor: float
    books_structural_award: bool


def _scenario_rules(rules: CostRules, policy: Policy, change: RuleChange | None) -> _Rules:
    codes = rules.outcome_codes
    books = rules.basis == "pct" and policy.typed.structural.award_type is not None
    base = np.array([o.value for o in rules.outcomes], dtype=np.float64)
    if change is None:
        return _Rules(rules.basis, base, 1.0, books)
    for name, mapping in (("raise_amounts", change.raise_amounts), ("raise_pct", change.raise_pct)):
        unknown = sorted(set(mapping) - set(codes))
        if unknown:
            raise ConfigError(f"scenario {change.id}: pay_gap.{name} has unknown outcomes {unknown}")
    if change.raise_amounts:
        values = np.array([change.raise_amounts.get(c, 0.0) for c in codes])
        return _Rules("amount", values, change.incidental_rate_factor, books)
    if change.raise_pct:
        if rules.basis != "pct":
            raise ConfigError(f"scenario {change.id}: raise_pct needs a pct policy (this one uses steps)")
        values = np.array([change.raise_pct.get(c, v) for c, v in zip(codes, base, strict=True)])
        return _Rules("pct", values, change.incidental_rate_factor, books)
    return _Rules(rules.basis, base, change.incidental_rate_factor, books)


def _apply(
    b: _Base, rule: _Rules, salary: np.ndarray, step: np.ndarray, outcome: np.ndarray, flagged: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Salary and step after a year's outcomes ([D, n] or [n]); also the raise (EUR at 100%). `flagged`: the
    export's Z-3 flag (at the maximum whatever the salary says; a newcomer in the slot is not)."""
    # Arrays are draws × people (up to PERSON_DRAWS_PER_YEAR values): written with `out=` and flat `take`s
    # rather than nested temporaries and 2-d fancy indexing, the same values at about half the time.
    has = (outcome >= 0) & b.decidable
    # value per outcome, 0 without one: a look-up in [0, values...] by outcome + 1 (outcome -1 → 0)
    lookup = np.concatenate([[0.0], rule.values])
    value = lookup.take(np.where(has, outcome + 1, 0))
    top = np.where(np.isnan(b.scale_max), np.inf, b.scale_max)
    if rule.kind == "steps":
        target = step + np.rint(value).astype(np.int64)
        np.minimum(target, b.last_step, out=target)
        target = np.where(has & (step >= 0), np.maximum(target, step), step)
        width = b.amounts.shape[1]
        start = np.arange(b.salary.size) * width  # each person's row of the flattened amounts table
        flat = b.amounts.ravel()
        now = flat.take(start + np.clip(step, 0, width - 1))
        then = flat.take(start + np.clip(target, 0, width - 1))
        then -= now
        then[step < 0] = 0.0
        new = salary + then
        return new, target, new - salary
    at_max = flagged | (salary >= top)
    wanted = salary * (1 + value / 100.0) if rule.kind == "pct" else salary + value
    np.minimum(wanted, top, out=wanted)
    np.maximum(wanted, salary, out=wanted)
    new = np.where(has & ~at_max, wanted, salary)
    return new, step, new - salary


@dataclass
class _History:
    """What the rating, leave and incidental draws need, observed over the recent cycles."""

    cdf: np.ndarray  # [n, R] cumulative outcome probabilities per person (their sex × category)
    leave: np.ndarray  # [n] probability of a long chosen leave (their sex)
    rate: np.ndarray  # [R + 1] incidental reward rate per outcome (last: no outcome)
    ratios: list[np.ndarray]  # per outcome class: observed incidental / pay of recipients


def _history(window: pl.DataFrame, b: _Base, rules: CostRules, policy: Policy, category: str) -> _History:
    r = len(rules.outcomes)
    k = policy.min_group_size
    outcome = index_of(window["outcome"], rules.outcome_codes)
    sex = (window["gender"] != WOMEN).to_numpy().astype(np.int64)  # 0 women, 1 men
    cat = index_of(window[category].cast(pl.String), b.categories)
    rated = (outcome >= 0) & window["decidable"].to_numpy().astype(bool)
    counts = np.zeros((2, max(len(b.categories), 1) + 1, r))  # the last category: not in the base cycle
    np.add.at(
        counts, (sex[rated], np.where(cat[rated] >= 0, cat[rated], counts.shape[1] - 1), outcome[rated]), 1.0
    )
    by_sex = counts.sum(1)  # [2, R]
    everyone = by_sex.sum(0)
    fallback = everyone / everyone.sum() if everyone.sum() else np.full(r, 1.0 / max(r, 1))
    sex_p = np.where(
        by_sex.sum(1, keepdims=True) > 0, by_sex / np.maximum(by_sex.sum(1, keepdims=True), 1), fallback
    )
    person_sex = (~b.women).astype(np.int64)
    cell = counts[person_sex, np.where(b.category >= 0, b.category, counts.shape[1] - 1)]  # [n, R]
    size = cell.sum(1, keepdims=True)
    person_p = np.where(size >= k, cell / np.maximum(size, 1), sex_p[person_sex])
    # leave (Z-11): a chosen leave longer than the cycle minus the minimum presence
    leave_types = policy.typed.absence.no_rating_when_leave
    presence = policy.typed.absence.min_presence_months
    months = float(policy.typed.compliance.cycle_months)
    leave = np.zeros(b.salary.size)
    if leave_types and presence is not None:
        long_leave = (
            pl.col("absence_type").is_in(leave_types) & (pl.col("absence_months") > months - float(presence))
        ).fill_null(False)
        shares = window.group_by("gender").agg(long_leave.mean().alias("share"))
        share = dict(shares.iter_rows())
        leave = np.where(b.women, share.get(WOMEN, 0.0) or 0.0, share.get(MEN, 0.0) or 0.0)
    # incidental rewards per outcome class
    cls = np.where(rated, outcome, r)
    value = window["incidental_value"].fill_null(0.0).to_numpy()
    pay = window["pay"].to_numpy()
    received = value > 0
    rate = np.zeros(r + 1)
    ratios: list[np.ndarray] = []
    overall = (value / pay)[received]
    for j in range(r + 1):
        members = cls == j
        rate[j] = received[members].mean() if members.any() else received.mean() if received.size else 0.0
        pool = (value / pay)[members & received]
        ratios.append(pool if pool.size else overall)
    return _History(np.cumsum(person_p, axis=1), leave, rate, ratios)


@dataclass
class _Turnover:
    """Exits and their replacements observed over the window (consecutive cycles): an exit is replaced by a
    newcomer of the same sex and category — headcount and composition stay as they are — paid as one of the
    category's observed newcomers (salary at 100% and step). Where a category had no newcomer, its exits are
    not modelled (there is no pay to give the replacement)."""

    exit: np.ndarray  # [n] probability a year that the person's slot changes hands
    offset: np.ndarray  # [n] start of the category's newcomers in the pools
    size: np.ndarray  # [n] how many there are
    salary: np.ndarray  # pooled newcomer salaries
    step: np.ndarray  # their steps (-1 unknown)

    @property
    def active(self) -> bool:
        return bool((self.exit > 0).any())


def _turnover(window: pl.DataFrame, b: _Base, category: str, k: int) -> _Turnover:
    kk = max(len(b.categories), 1)
    at_risk, leavers = np.zeros((2, kk)), np.zeros((2, kk))
    salaries: list[list[float]] = [[] for _ in range(kk)]
    steps: list[list[int]] = [[] for _ in range(kk)]
    cycles = sorted(int(c) for c in window["cycle"].unique().to_list())
    for before, after in itertools.pairwise(cycles):
        if after != before + 1:
            continue
        old, new = window.filter(pl.col("cycle") == before), window.filter(pl.col("cycle") == after)
        for frame, target in (
            (old, at_risk),
            (old.join(new.select("employee_id"), on="employee_id", how="anti"), leavers),
        ):
            cat = index_of(frame[category].cast(pl.String), b.categories)
            sex = (frame["gender"] != WOMEN).to_numpy().astype(np.int64)
            known = cat >= 0
            np.add.at(target, (sex[known], cat[known]), 1.0)
        newcomers = new.join(old.select("employee_id"), on="employee_id", how="anti")
        cat = index_of(newcomers[category].cast(pl.String), b.categories)
        for c, salary, step in zip(
            cat,
            newcomers["annual_salary"].to_list(),
            newcomers["salary_step"].fill_null(-1).to_list(),
            strict=True,
        ):
            if c >= 0 and salary is not None:
                salaries[c].append(float(salary))
                steps[c].append(int(step))
    by_sex = np.divide(leavers.sum(1), at_risk.sum(1), out=np.zeros(2), where=at_risk.sum(1) > 0)
    rate = np.where(at_risk >= k, leavers / np.maximum(at_risk, 1), by_sex[:, None])
    sizes = np.array([len(x) for x in salaries], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    person_sex = (~b.women).astype(np.int64)
    cat = np.clip(b.category, 0, None)
    size = sizes[cat] if sizes.size else np.zeros(b.salary.size, dtype=np.int64)
    return _Turnover(
        exit=np.where((b.category >= 0) & (size > 0), rate[person_sex, cat], 0.0),
        offset=offsets[cat] if sizes.size else np.zeros(b.salary.size, dtype=np.int64),
        size=size,
        salary=np.array([v for x in salaries for v in x], dtype=np.float64),
        step=np.array([v for x in steps for v in x], dtype=np.int64),
    )


# Memory and time grow with draws × people per year: a large organisation gets fewer draws (its gaps, averages
# over thousands of people, hardly vary between draws), never fewer than MIN_DRAWS, never more than asked.
PERSON_DRAWS_PER_YEAR = 2_000_000
MIN_DRAWS = 20


def effective_draws(draws: int, people: int) -> int:
    """The draws simulated for `people` people: the policy's, capped by PERSON_DRAWS_PER_YEAR."""
    return max(MIN_DRAWS, min(draws, PERSON_DRAWS_PER_YEAR // max(people, 1)))


def _rng(seed: int, organization: str, year: int) -> np.random.Generator:
    """The same stream for every scenario of an organisation and year (common random numbers)."""
    material = [seed & 0xFFFFFFFF, zlib.crc32(organization.encode()), year, 0x9A1]
    return np.random.default_rng(np.random.SeedSequence(material))


def _positive_median(part: np.ndarray) -> np.ndarray:
    """Per row of [D, m]: the median of the values > 0 (nan without any), by one sort."""
    count = (part > 0).sum(1)
    ordered = np.sort(np.where(part > 0, part, np.inf), axis=1)
    low = np.take_along_axis(ordered, np.clip((count - 1) // 2, 0, None)[:, None], 1)[:, 0]
    high = np.take_along_axis(ordered, np.clip(count // 2, 0, None)[:, None], 1)[:, 0]
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, (low + high) / 2, np.nan)


def _side_stats(part: np.ndarray, recipients_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and median per row of [D, m] (recipients only: over the values > 0)."""
    d = part.shape[0]
    if part.shape[1] == 0:
        return np.full(d, np.nan), np.full(d, np.nan)
    if not recipients_only:
        return part.mean(1), np.median(part, axis=1)
    count = (part > 0).sum(1)
    total = np.where(part > 0, part, 0.0).sum(1)
    mean = np.divide(total, count, out=np.full(d, np.nan), where=count > 0)
    return mean, _positive_median(part)


def category_gaps(values: np.ndarray, b: _Base, recipients_only: bool) -> dict[str, np.ndarray]:
    """Mean and median gap per category for each draw: values [D, n] in the base's order → {measure: [D, k]}
    (Art. 3(1)(c),(d) through :func:`models.stats.gender_pay_gap`); variable pay over recipients only."""
    k = len(b.categories)
    out = {m: np.full((values.shape[0], k), np.nan) for m in MEASURES}
    for c in range(k):
        women, men = b.slices(c)
        w_mean, w_median = _side_stats(values[:, women], recipients_only)
        m_mean, m_median = _side_stats(values[:, men], recipients_only)
        out["mean_gap"][:, c] = gender_pay_gap(m_mean, w_mean)
        out["median_gap"][:, c] = gender_pay_gap(m_median, w_median)
    return out


@dataclass
class Simulation:
    """Draws of one scenario: per year h = 1..H, pay components [D, n] and the payroll per draw."""

    scenario: str
    years: list[dict[str, np.ndarray]]
    payroll: np.ndarray  # [H, D] basic pay of everyone simulated


def simulate(
    b: _Base,
    h: _History,
    rule: _Rules,
    settings: PayGapSettings,
    organization: str,
    draws: int | None = None,
    turnover: _Turnover | None = None,
) -> list[dict[str, np.ndarray]]:
    """Years 1..H of basic, variable and total pay per draw and person ([D, n] each)."""
    d = draws or settings.draws
    n = b.salary.size
    r = h.cdf.shape[1]
    # year 1's salary follows the base cycle's observed decision (the same in every draw)
    salary1, step1, _ = _apply(b, rule, b.salary, b.step, b.outcome, b.at_max)
    salary = np.broadcast_to(salary1, (d, n)).copy()
    step = np.broadcast_to(step1, (d, n)).copy()
    flagged = np.broadcast_to(b.at_max, (d, n)).copy()
    rate = np.minimum(h.rate * rule.incidental_factor, 1.0)
    years = []
    for year in range(1, settings.horizon + 1):
        rng = _rng(settings.seed, organization, year)
        u_leave, u_outcome, u_reward, u_pick = (rng.random((d, n)) for _ in range(4))
        if turnover is not None and turnover.active:
            # between two cycles: a slot whose holder left goes to a newcomer of the category
            u_exit, u_entry = rng.random((d, n)), rng.random((d, n))
            moved = u_exit < turnover.exit[None, :]
            chosen = turnover.offset[None, :] + np.minimum(
                (u_entry * turnover.size[None, :]).astype(np.int64), np.maximum(turnover.size - 1, 0)[None, :]
            )
            chosen = np.where(moved, chosen, 0)
            salary = np.where(moved, turnover.salary[chosen] if turnover.salary.size else salary, salary)
            step = np.where(moved, turnover.step[chosen] if turnover.step.size else step, step)
            flagged = flagged & ~moved
        on_leave = u_leave < h.leave[None, :]
        # the number of cumulative probabilities the draw exceeds, counted column by column (one [D, n]
        # array at a time rather than a [D, n, R] one)
        outcome = np.zeros((d, n), dtype=np.int64)
        for j in range(r):
            outcome += u_outcome > h.cdf[:, j]
        np.minimum(outcome, r - 1, out=outcome)
        outcome = np.where(on_leave | ~b.decidable[None, :], -1, outcome)
        basic = salary * b.fte[None, :]
        new_salary, new_step, raised = _apply(b, rule, salary, step, outcome, flagged)
        cls = np.where(outcome >= 0, outcome, r)
        incidental = np.zeros((d, n))
        gets = (u_reward < rate[cls]) & ~on_leave
        for j, pool in enumerate(h.ratios):
            chosen = gets & (cls == j)
            if pool.size == 0 or not chosen.any():
                continue
            pick = np.minimum((u_pick[chosen] * pool.size).astype(np.int64), pool.size - 1)
            incidental[chosen] = pool[pick] * basic[chosen]
        structural = raised * b.fte[None, :] if rule.books_structural_award else 0.0
        variable = structural + incidental
        years.append({"basic": basic, "variable": variable, "total": basic + variable})
        salary, step = new_salary, new_step
    return years


# -------------------------------------------------------------------------------------------------- the mart
PROJECTION_SCHEMA: dict[str, Any] = {
    "organization": pl.String,
    "policy_id": pl.String,
    "scenario": pl.String,
    "scenario_label_nl": pl.String,
    "scenario_label_en": pl.String,
    "base_cycle": pl.Int64,
    "cycle": pl.Int64,
    "horizon": pl.Int64,
    "category_type": pl.String,
    "category": pl.String,
    "component": pl.String,
    "measure": pl.String,
    "n_women": pl.Int64,
    "n_men": pl.Int64,
    "gap_p5": pl.Float64,
    "gap_p50": pl.Float64,
    "gap_p95": pl.Float64,
    "gap_mean": pl.Float64,
    "share_at_threshold": pl.Float64,
    "threshold": pl.Float64,
    "first_cycle_at_threshold": pl.Int64,
    "payroll_p50": pl.Float64,
    "draws": pl.Int64,
}


def empty_projection() -> pl.DataFrame:
    return pl.DataFrame(schema=PROJECTION_SCHEMA)


def year0_figures(base: pl.DataFrame, policy: Policy, organization: str, category: str) -> pl.DataFrame:
    """The published Art. 9 item (g) rows of the base cycle (annual basis) for the projection's categories:
    :func:`models.pay_transparency.pay_transparency` on the same people (so year 0 is that figure)."""
    frame = (
        base if category == "function_level" else base.with_columns(pl.col(category).alias("function_level"))
    )
    rows = pay_transparency(frame, {organization: policy})
    return rows.filter(
        (pl.col("item") == "g")
        & (pl.col("basis") == "annual")
        & (pl.col("category_type") == "function_level")
    ).select("category", "component", "measure", "n_women", "n_men", "gap")


def base_frame(persons: pl.DataFrame, cycle: int, category: str) -> pl.DataFrame:
    """The people of the base cycle with a category, sorted by category and sex (women first), so that each
    group is a contiguous block of the simulation's arrays."""
    return (
        persons.filter((pl.col("cycle") == cycle) & pl.col(category).is_not_null())
        .with_columns(pl.col(category).cast(pl.String))
        .sort(category, pl.col("gender") != WOMEN, "employee_id")
    )


@dataclass
class OrganisationProjection:
    frame: pl.DataFrame
    base: pl.DataFrame  # the base cycle's person frame (for the cost to close)
    payroll_by_year: list[float]  # p50 of the projected basic payroll, years 1..H (regime scenario)


def project_organisation(
    persons: pl.DataFrame,
    scales: pl.DataFrame,
    policy: Policy,
    organization: str,
    changes: Sequence[RuleChange] = (),
    settings: PayGapSettings | None = None,
) -> OrganisationProjection:
    """marts.pay_gap_projection rows of one organisation from its :func:`person_frame` (all cycles read)."""
    settings = settings or pay_gap_settings(policy)
    rules = cost_rules(policy)
    if persons.height == 0:
        return OrganisationProjection(empty_projection(), persons, [])
    base_cycle = int(persons["cycle"].max())  # type: ignore[arg-type]
    # Every draw below follows the people in a fixed order: staging rows arrive in another order when files
    # are loaded in other runs, and the same data must give the same projection (tests/test_increments.py).
    in_order = persons.sort("cycle", "employee_id", maintain_order=True)
    base = base_frame(in_order, base_cycle, settings.category)
    window = in_order.filter(pl.col("cycle") > base_cycle - settings.rating_window_cycles)
    category = settings.category
    b = _base_arrays(base, scales, rules, category)
    hist = _history(window, b, rules, policy, category)
    # year 0 from the people in their own order (not the sorted base): the same sums, in the same order, as the
    # pay transparency mart, so the figure is the published one to the last bit
    unsorted = persons.filter((pl.col("cycle") == base_cycle) & pl.col(category).is_not_null())
    year0 = year0_figures(unsorted, policy, organization, category)
    k = len(b.categories)
    thr = settings.threshold
    scenarios: list[tuple[str, dict[str, str], _Rules]] = [
        (
            RULES_SCENARIO,
            {"nl": "Huidige regels", "en": "Current rules"},
            _scenario_rules(rules, policy, None),
        )
    ]
    for change in changes:
        if change.organization == organization:
            scenarios.append((f"scenario:{change.id}", change.label, _scenario_rules(rules, policy, change)))
    blocks: list[pl.DataFrame] = []
    payroll_by_year: list[float] = []
    draws = effective_draws(settings.draws, b.salary.size)
    turnover = _turnover(window, b, category, policy.min_group_size)
    for name, label, rule in scenarios:
        years = simulate(b, hist, rule, settings, organization, draws, turnover)
        if name == RULES_SCENARIO:
            payroll_by_year = [float(np.median(y["basic"].sum(1))) for y in years]
        stats: dict[tuple[str, str], list[np.ndarray]] = {}
        recipients: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for y in years:
            for component in COMPONENTS:
                gaps = category_gaps(y[component], b, component == "variable")
                for measure in MEASURES:
                    stats.setdefault((component, measure), []).append(gaps[measure])
            got = y["variable"] > 0
            recipients.setdefault("variable", []).append(
                (
                    np.array([np.median(got[:, b.slices(c)[0]].sum(1)) for c in range(k)]),
                    np.array([np.median(got[:, b.slices(c)[1]].sum(1)) for c in range(k)]),
                )
            )
        counts_w = np.bincount(b.category[b.women], minlength=k)
        counts_m = np.bincount(b.category[~b.women], minlength=k)
        payroll = [float(np.median(y["basic"].sum(1))) for y in years]
        base_payroll = float((b.salary * b.fte).sum())
        for component in COMPONENTS:
            for measure in MEASURES:
                published = year0.filter((pl.col("component") == component) & (pl.col("measure") == measure))
                zero = {
                    c: (g, nw, nm)
                    for c, g, nw, nm in published.select("category", "gap", "n_women", "n_men").iter_rows()
                }
                rows: list[dict[str, Any]] = []
                per_year = stats[(component, measure)]
                for c, cat in enumerate(b.categories):
                    gap0, nw0, nm0 = zero.get(cat, (None, int(counts_w[c]), int(counts_m[c])))
                    shares = [1.0 if gap0 is not None and abs(gap0) >= thr else 0.0]
                    series = [gap0]
                    for drawn in per_year:
                        values = drawn[:, c]
                        finite = values[np.isfinite(values)]
                        shares.append(float((np.abs(finite) >= thr).mean()) if finite.size else float("nan"))
                        series.append(finite)
                    first = next(
                        (base_cycle + i for i, s in enumerate(shares) if np.isfinite(s) and s >= 0.5), None
                    )
                    for i, values in enumerate(series):
                        if i == 0:
                            p5 = p50 = p95 = mean = gap0
                            nw, nm = nw0, nm0
                        else:
                            arr = values if isinstance(values, np.ndarray) else np.array([])
                            if arr.size:
                                p5, p50, p95 = (float(v) for v in np.quantile(arr, (0.05, 0.5, 0.95)))
                                mean = float(arr.mean())
                            else:
                                p5 = p50 = p95 = mean = None
                            if component == "variable":
                                w, m = recipients["variable"][i - 1]
                                nw, nm = int(w[c]), int(m[c])
                            else:
                                nw, nm = int(counts_w[c]), int(counts_m[c])
                        rows.append(
                            {
                                "category": cat,
                                "horizon": i,
                                "cycle": base_cycle + i,
                                "n_women": nw,
                                "n_men": nm,
                                "gap_p5": p5,
                                "gap_p50": p50,
                                "gap_p95": p95,
                                "gap_mean": mean,
                                "share_at_threshold": shares[i],
                                "first_cycle_at_threshold": first,
                                "payroll_p50": base_payroll if i == 0 else payroll[i - 1],
                            }
                        )
                block = pl.DataFrame(
                    rows,
                    schema={
                        "category": pl.String,
                        "horizon": pl.Int64,
                        "cycle": pl.Int64,
                        "n_women": pl.Int64,
                        "n_men": pl.Int64,
                        "gap_p5": pl.Float64,
                        "gap_p50": pl.Float64,
                        "gap_p95": pl.Float64,
                        "gap_mean": pl.Float64,
                        "share_at_threshold": pl.Float64,
                        "first_cycle_at_threshold": pl.Int64,
                        "payroll_p50": pl.Float64,
                    },
                ).with_columns(
                    organization=pl.lit(organization),
                    policy_id=pl.lit(policy.id),
                    scenario=pl.lit(name),
                    scenario_label_nl=pl.lit(label.get("nl", name)),
                    scenario_label_en=pl.lit(label.get("en", label.get("nl", name))),
                    base_cycle=pl.lit(base_cycle, dtype=pl.Int64),
                    category_type=pl.lit(category),
                    component=pl.lit(component),
                    measure=pl.lit(measure),
                    threshold=pl.lit(thr),
                    draws=pl.lit(draws, dtype=pl.Int64),
                )
                blocks.append(block.with_columns(pl.col("share_at_threshold").fill_nan(None)))
    frame = pl.concat(
        [blk.select([pl.col(c).cast(t) for c, t in PROJECTION_SCHEMA.items()]) for blk in blocks]
    )
    frame = frame.sort("scenario", "component", "measure", "category", "horizon")
    return OrganisationProjection(frame, base, payroll_by_year)


PAY_GAP_SCENARIOS = "pay_gap"  # the scenarios/ subfolder of the pay-gap rule changes


def load_rule_changes(scenarios: Path) -> list[RuleChange]:
    """The pay-gap scenario files in ``scenarios/pay_gap/*.yaml``: the header of every scenario file (read and
    checked by :func:`models.forecast.load_scenarios`) plus a ``pay_gap`` section. They sit in their own folder
    so the budget forecast and what-if, which read ``scenarios/*.yaml``, do not take them for theirs."""
    return rule_changes(load_scenarios(scenarios / PAY_GAP_SCENARIOS))
