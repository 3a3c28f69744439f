"""Budget forecast: next cycle and a multi-year horizon per department, for rating scenarios, with p5/p50/p95.

Population. The people of the organisation's last cycle, closed (no turnover). People with a payroll row and a
priced scale who are not in the seniority system are *decidable*: every year each of them gets an outcome (a
rating on pct policies, a salary decision on steps policies) drawn from the scenario's distribution for their
department. Everyone else keeps their structural cost as priced in the last cycle (zero when uncosted) and
gets incidental rewards at the rate of their class.

Salary paths. The starting point is the salary after the last cycle's decision. Each year the scale tables and
salaries rise by the general raise `budget.general_raise_pct` (Z-13, a separate parameter, reported as its own
cost), then the year's outcome is priced:
  pct    per person on the scenario's *expected* salary path (mean field): raise = min(s × (1 + pct), maximum)
         − s, so people reaching the maximum stop costing structural raises (Z-3);
  steps  per cell of people with the same department, scale and starting step, as a probability
         distribution over steps that moves with the scenario's step decisions and piles up at the last step
         (F-9): exact in expectation.

Simulation (vectorised, `forecast.draws` draws). Per department and year: outcome counts ~ Multinomial(n, p);
structural cost = Σ counts × mean cost per outcome + a normal term for the spread between people
(√(Σ counts × variance)); incidental awards per type ~ Binomial(count in the outcome class, the class's
last-cycle award rate) × the department's mean cost per award (pct types grow with the department's mean
salary). The organisation total is summed per draw before its quantiles are taken; the `_mean` columns are
the exact expectations, so department means add up to the total.

Scenarios (`forecast.scenarios`): `last_cycle` (each department its own last-cycle distribution and award
rates), `norm` (the organisation-wide distribution and award rates in every department, Z-10), `guideline`
(`rating_scale.guideline`, skipped where the policy sets none) and `custom` (one per scenario file in
scenarios/ naming the organisation and a `distribution`, optionally per department).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.budget import (
    LEVEL_DEPARTMENT,
    LEVEL_ORGANISATION,
    SHOWN_HEADCOUNT,
    TOTAL,
    CostRules,
    OrganisationCosts,
    index_of,
    step_table,
    with_shown_headcount,
)
from models.config import read_yaml
from models.disclosure.recode import OTHERS_LEFT_OUT
from models.errors import ConfigError
from models.policy import Policy

SCENARIO_NAMES = ("last_cycle", "norm", "guideline", "custom")
QUANTILES = (0.05, 0.5, 0.95)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,60}$")


# ------------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class ForecastSettings:
    horizon: int
    draws: int
    seed: int
    scenarios: tuple[str, ...]


def forecast_settings(policy: Policy) -> ForecastSettings | None:
    """The policy's `forecast` section; None when the policy has none (the organisation is not forecast)."""
    if policy.section("forecast") is None:
        return None
    forecast = policy.typed.forecast
    if forecast.horizon_years is None or forecast.draws is None:
        raise ConfigError(f"policy {policy.id}: forecast needs horizon_years and draws")
    horizon, draws, seed = forecast.horizon_years, forecast.draws, forecast.seed
    scenarios = tuple(forecast.scenarios) if forecast.scenarios is not None else SCENARIO_NAMES
    if not 1 <= horizon <= 10 or not 10 <= draws <= 100_000:
        raise ConfigError(f"policy {policy.id}: forecast.horizon_years must be 1..10 and draws 10..100000")
    unknown = sorted(set(scenarios) - set(SCENARIO_NAMES))
    if unknown:
        raise ConfigError(
            f"policy {policy.id}: unknown forecast scenarios {unknown} (known: {SCENARIO_NAMES})"
        )
    return ForecastSettings(horizon, draws, seed, scenarios)


# ----------------------------------------------------------------------------------------- scenario files
@dataclass(frozen=True)
class Move:
    """What-if: move `n` people of `department` from outcome `source` to outcome `target`."""

    department: str
    n: float
    source: str
    target: str


@dataclass(frozen=True)
class ScenarioFile:
    """A scenario file (scenarios/*.yaml): a custom distribution for the forecast and/or what-if moves."""

    id: str
    organization: str
    path: Path
    label: dict[str, str]
    distribution: dict[str, float] | None = None
    departments: dict[str, dict[str, float]] = field(default_factory=dict)
    moves: tuple[Move, ...] = ()


def _shares(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where}: a distribution is a mapping of outcome code to share")
    out: dict[str, float] = {}
    for code, share in raw.items():
        try:
            value = float(share)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: share of '{code}' is not a number") from exc
        if value < 0:
            raise ConfigError(f"{where}: share of '{code}' is negative")
        out[str(code)] = value
    if sum(out.values()) <= 0:
        raise ConfigError(f"{where}: the shares add up to zero")
    return out


def parse_moves(raw: Any, where: str) -> tuple[Move, ...]:
    """Moves from YAML / the command line: {department, n, from, to}."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: moves is a list of {{department, n, from, to}}")
    moves = []
    for i, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping) or not {"department", "n", "from", "to"} <= item.keys():
            raise ConfigError(f"{where}: move {i} needs department, n, from and to")
        try:
            n = float(item["n"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: move {i}: n is not a number") from exc
        if n <= 0:
            raise ConfigError(f"{where}: move {i}: n must be positive")
        moves.append(Move(str(item["department"]), n, str(item["from"]), str(item["to"])))
    return tuple(moves)


def load_scenario_file(path: Path) -> ScenarioFile:
    raw = read_yaml(path)
    where = f"scenario file {path.name}"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} is not a mapping")
    scenario_id = str(raw.get("id", ""))
    if not _ID.match(scenario_id):
        raise ConfigError(f"{where}: id must be lower-case letters, digits, '_' or '-'")
    if not raw.get("organization"):
        raise ConfigError(f"{where}: organization is missing")
    departments = raw.get("departments") or {}
    if not isinstance(departments, Mapping):
        raise ConfigError(f"{where}: departments is a mapping of department to distribution")
    return ScenarioFile(
        id=scenario_id,
        organization=str(raw["organization"]),
        path=path,
        label=dict(raw.get("label") or {"nl": scenario_id, "en": scenario_id}),
        distribution=_shares(raw["distribution"], where) if raw.get("distribution") is not None else None,
        departments={str(d): _shares(s, f"{where}, department {d}") for d, s in departments.items()},
        moves=parse_moves(raw.get("moves"), where),
    )


def load_scenarios(directory: Path) -> list[ScenarioFile]:
    """Every scenarios/*.yaml, sorted by name (none when the folder does not exist)."""
    if not directory.is_dir():
        return []
    files = [
        load_scenario_file(p) for p in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    ]
    ids = [f.id for f in files]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"scenario ids {dupes} are used by more than one file in {directory}")
    return files


# ------------------------------------------------------------------------------------------ distributions
@dataclass(frozen=True)
class Scenario:
    name: str
    probabilities: np.ndarray  # [departments, outcomes], rows sum to 1
    department_rates: bool  # incidental award rates per department (last_cycle) or organisation-wide


def _vector(shares: Mapping[str, float], codes: Sequence[str], where: str) -> np.ndarray:
    unknown = sorted(set(shares) - set(codes))
    if unknown:
        raise ConfigError(f"{where}: unknown outcome codes {unknown} (the policy's are {list(codes)})")
    vec = np.array([float(shares.get(c, 0.0)) for c in codes])
    return vec / vec.sum()


def build_scenarios(
    settings: ForecastSettings,
    rules: CostRules,
    departments: Sequence[str],
    last_counts: np.ndarray,
    guideline: Mapping[str, float] | None,
    custom: Iterable[ScenarioFile],
) -> list[Scenario]:
    """The scenarios the policy asks for that can be built: last-cycle counts are [departments, outcomes]."""
    codes = rules.outcome_codes
    k = len(departments)
    org = last_counts.sum(0)
    out: list[Scenario] = []
    org_p = org / org.sum() if org.sum() > 0 else None
    for name in settings.scenarios:
        if name in ("last_cycle", "norm") and org_p is None:
            continue
        if name == "last_cycle" and org_p is not None:
            totals = last_counts.sum(1, keepdims=True)
            p = np.where(totals > 0, last_counts / np.maximum(totals, 1), org_p[None, :])
            out.append(Scenario(name, p, department_rates=True))
        elif name == "norm" and org_p is not None:
            out.append(Scenario(name, np.tile(org_p, (k, 1)), department_rates=False))
        elif name == "guideline" and guideline:
            if not set(map(str, guideline)) <= set(codes):
                continue  # a guideline over ratings does not price a steps policy
            vec = _vector(
                {str(c): v for c, v in guideline.items()}, codes, f"policy {rules.policy_id} guideline"
            )
            out.append(Scenario(name, np.tile(vec, (k, 1)), department_rates=False))
        elif name == "custom":
            for file in custom:
                if file.distribution is None and not file.departments:
                    continue
                where = f"scenario file {file.path.name}"
                base = (
                    np.tile(_vector(file.distribution, codes, where), (k, 1))
                    if file.distribution is not None
                    else None
                )
                rows: list[np.ndarray] = []
                for i, dept in enumerate(departments):
                    total = last_counts[i].sum()
                    if dept in file.departments:
                        rows.append(_vector(file.departments[dept], codes, f"{where}, department {dept}"))
                    elif base is not None:
                        rows.append(base[i])
                    elif total > 0:
                        rows.append(last_counts[i] / total)
                    elif org_p is not None:
                        rows.append(org_p)
                if len(rows) < k:
                    continue  # a department with neither a distribution nor any rating to fall back on
                out.append(Scenario(f"custom:{file.id}", np.vstack(rows), department_rates=False))
    return out


# ------------------------------------------------------------------------------------------------ engine
@dataclass
class _Population:
    departments: list[str]
    dept: np.ndarray  # [people] department index (all people of the base cycle)
    decidable: np.ndarray  # [people] bool
    cls: np.ndarray  # [people] last outcome index, or R for none / not decidable
    fte: np.ndarray
    salary: np.ndarray  # annual salary at 100% (0 when none)
    fixed_structural: np.ndarray  # [people] gross structural cost kept as is (seniority system)


def _population(costs: OrganisationCosts, base: pl.DataFrame) -> _Population:
    rules = costs.rules
    departments = sorted(base["department"].unique().to_list())
    r = len(rules.outcomes)
    decidable = base["priceable"].fill_null(False).to_numpy().astype(bool)
    cls = np.where(decidable, index_of(base["outcome"], rules.outcome_codes, missing=r), r)
    return _Population(
        departments=departments,
        dept=index_of(base["department"], departments),
        decidable=decidable,
        cls=cls,
        fte=base["fte"].fill_null(0.0).to_numpy().astype(np.float64),
        salary=base["annual_salary"].fill_null(0.0).to_numpy().astype(np.float64),
        fixed_structural=np.where(
            base["seniority"].fill_null(False).to_numpy(), base["structural_gross"].to_numpy(), 0.0
        ),
    )


@dataclass
class _Year:
    """What the engine knows about one year of one scenario, per department."""

    payroll: np.ndarray  # [K] pre-raise payroll (incl. that year's general raise)
    at_maximum: np.ndarray  # [K] expected decidable people at the maximum / last step
    mean_cost: np.ndarray  # [K, R] mean gross structural cost per decidable person per outcome
    var_cost: np.ndarray  # [K, R] variance of that cost between people


class _PctPath:
    """Position in the scale per department (pct policies): a distribution over x = salary / scale maximum.

    General raises lift salary and maximum alike (Z-13), so x only moves with the structural raises: a raise
    of v multiplies x by (1 + v) up to 1, the maximum (Z-3). x lives on a grid of log(x) in steps of
    `GRID` (0.02%); a raise moves mass by log(1 + v) / GRID bins, split over the two nearest bins so the expected
    move is exact, and mass that passes the maximum stays at it. Because a person's cost is fte × maximum ×
    (min(x (1 + v), 1) − x), the distributions are kept weighted by fte × maximum (for the mean), by its
    square (for the spread between people) and by head count (for the number at the maximum)."""

    GRID = 0.0002
    LOWEST = 0.25  # positions below a quarter of the maximum are held there (the offset keeps their pay)

    def __init__(self, pop: _Population, base: pl.DataFrame, rules: CostRules) -> None:
        d = pop.decidable
        k = len(pop.departments)
        self.values = np.array([o.value for o in rules.outcomes]) / 100
        top = base["scale_max"].fill_null(0.0).to_numpy().astype(np.float64)[d]
        salary = pop.salary[d]
        raised = salary + base["raise_100"].fill_null(0.0).to_numpy()[d]
        flagged = base["at_scale_maximum"].fill_null(False).to_numpy()[d]
        start = np.where(flagged | (raised >= top), 1.0, raised / np.where(top > 0, top, 1.0))
        bins = np.rint(-np.log(np.clip(start, self.LOWEST, 1.0)) / self.GRID).astype(np.int64)
        self.width = int(bins.max()) + 2 if len(bins) else 2
        dept, fte = pop.dept[d], pop.fte[d]
        weight = fte * top
        self.mass = np.zeros((3, k, self.width))  # weighted by fte × maximum, its square, head count
        for layer, w in enumerate((weight, weight**2, np.ones_like(weight))):
            np.add.at(self.mass[layer], (dept, bins), w)
        self.x = np.exp(-self.GRID * np.arange(self.width))
        # what the grid does not hold: salary above / between grid points, as a fixed amount (fte × euro)
        self.offset = np.bincount(dept, (raised - self.x[bins] * top) * fte, minlength=k)
        self.people = np.bincount(dept, minlength=k).astype(np.float64)

    def _move(self, mass: np.ndarray, value: float) -> np.ndarray:
        steps = np.log1p(value) / self.GRID
        low = int(np.floor(steps))
        frac = steps - low
        out = np.zeros_like(mass)
        for shift, share in ((low, 1 - frac), (low + 1, frac)):
            if share <= 0:
                continue
            shift = min(shift, self.width)
            out[..., : self.width - shift] += share * mass[..., shift:]
            out[..., 0] += share * mass[..., :shift].sum(-1)
        return out

    def run(self, p: np.ndarray, horizon: int, growth: float, k: int) -> list[_Year]:
        mass = self.mass.copy()
        gain = np.minimum(self.x[:, None] * (1 + self.values[None, :]), 1.0) - self.x[:, None]  # [grid, R]
        years = []
        safe = np.maximum(self.people, 1)[:, None]
        for h in range(1, horizon + 1):
            factor = growth**h
            mean = mass[0] @ gain * factor / safe
            second = mass[1] @ gain**2 * factor**2 / safe
            years.append(
                _Year(
                    payroll=(mass[0] @ self.x + self.offset) * factor,
                    at_maximum=mass[2][:, 0].copy(),
                    mean_cost=mean,
                    var_cost=np.maximum(second - mean**2, 0.0),
                )
            )
            moved = [self._move(mass, v) for v in self.values]
            mass = sum(p[None, :, [r]] * moved[r] for r in range(len(self.values)))
        return years


class _StepPath:
    """Step distribution per cell of decidable people with the same department, scale and starting step."""

    def __init__(self, pop: _Population, base: pl.DataFrame, scales: pl.DataFrame, rules: CostRules) -> None:
        d = pop.decidable
        steps_value = {o.code: o.value for o in rules.outcomes}
        self.shifts = np.array([round(o.value) for o in rules.outcomes], dtype=np.int64)
        table = step_table(scales).sort("salary_scale", "step")
        names = sorted(set(table["salary_scale"].to_list()))
        index = {s: i for i, s in enumerate(names)}
        last = base.select("salary_scale", "last_step").filter(pl.col("last_step").is_not_null()).unique()
        last_of = dict(zip(last["salary_scale"].to_list(), last["last_step"].to_list(), strict=False))
        width = int(max([0, *table["step"].to_list(), *last_of.values()])) + 1
        amounts = np.full((max(len(names), 1), width), np.nan)
        sc = index_of(table["salary_scale"], names)
        amounts[sc, table["step"].to_numpy()] = table["amount"].to_numpy()
        last_arr = np.zeros(len(amounts), dtype=np.int64)
        for name, i in index.items():  # one pass per scale (a handful), never per person
            top = int(min(last_of.get(name, width - 1), width - 1))
            last_arr[i] = top
            amounts[i] = _filled(amounts[i], top)
        people = base.filter(pl.Series(d)).with_columns(
            _scale=pl.col("salary_scale").replace_strict(index, default=None, return_dtype=pl.Int64),
            _dept=pl.Series(pop.dept[d]),
            _k=pl.col("outcome").replace_strict(steps_value, default=0.0, return_dtype=pl.Float64).round(0),
        )
        people = people.with_columns(
            _start=pl.min_horizontal(
                pl.col("salary_step") + pl.col("_k").cast(pl.Int64), pl.col("last_step")
            ),
            _offset=(pl.col("annual_salary") - pl.col("amount_now")) * pl.col("fte"),
        )
        cells = people.group_by("_dept", "_scale", "_start").agg(
            pl.len().alias("n"),
            pl.col("fte").sum().alias("fte"),
            (pl.col("fte") ** 2).sum().alias("fte2"),
            pl.col("_offset").sum().alias("offset"),
        )
        cells = cells.sort("_dept", "_scale", "_start")
        self.dept = cells["_dept"].to_numpy()
        scale_of = cells["_scale"].to_numpy()
        self.amounts = amounts[scale_of] if len(cells) else np.zeros((0, width))
        self.last = last_arr[scale_of] if len(cells) else np.zeros(0, dtype=np.int64)
        self.n = cells["n"].to_numpy().astype(np.float64)
        self.fte = cells["fte"].to_numpy()
        self.fte2 = cells["fte2"].to_numpy()
        self.offset = cells["offset"].to_numpy()
        self.start = np.zeros_like(self.amounts)
        if len(cells):
            self.start[np.arange(len(cells)), np.minimum(cells["_start"].to_numpy(), self.last)] = 1.0
        self.people = np.bincount(self.dept, self.n, minlength=len(pop.departments))

    def _shift(self, dist: np.ndarray, k: int) -> np.ndarray:
        width = dist.shape[1]
        out = np.zeros_like(dist)
        k = min(k, width)
        out[:, k:] = dist[:, : width - k]
        beyond = np.arange(width)[None, :] > self.last[:, None]
        overflow = np.where(beyond, out, 0.0).sum(1) + dist[:, width - k :].sum(1)
        out[beyond] = 0.0
        out[np.arange(len(out)), self.last] += overflow
        return out

    def _lifted(self, k: int) -> np.ndarray:
        width = self.amounts.shape[1]
        idx = np.minimum(np.arange(width) + k, width - 1)
        return self.amounts[:, idx]

    def run(self, p: np.ndarray, horizon: int, growth: float, k: int) -> list[_Year]:
        dist = self.start.copy()
        lifted = [self._lifted(int(s)) - self.amounts for s in self.shifts]
        years = []
        rows = np.arange(len(dist))
        for h in range(1, horizon + 1):
            factor = growth**h
            unit = np.column_stack([(dist * np.nan_to_num(x)).sum(1) for x in lifted]) * factor
            if unit.size == 0:
                unit = np.zeros((len(dist), len(self.shifts)))
            mean, var = _moments(
                self.dept, self.fte[:, None] * unit, self.fte2[:, None] * unit**2, self.people, k
            )
            expected = (dist * np.nan_to_num(self.amounts)).sum(1)
            years.append(
                _Year(
                    payroll=np.bincount(self.dept, (self.fte * expected + self.offset) * factor, minlength=k),
                    at_maximum=np.bincount(self.dept, self.n * dist[rows, self.last], minlength=k),
                    mean_cost=mean,
                    var_cost=var,
                )
            )
            cell_p = p[self.dept]
            dist = sum(cell_p[:, [r]] * self._shift(dist, int(s)) for r, s in enumerate(self.shifts))
        return years


def _filled(row: np.ndarray, top: int) -> np.ndarray:
    """A scale's step amounts with gaps filled from the step below (above, before the first) and every
    position beyond the last step at the last step's amount (raises stop there, F-9)."""
    out = row.copy()
    out[top + 1 :] = np.nan
    valid = ~np.isnan(out)
    if not valid.any():
        return np.zeros_like(out)
    positions = np.where(valid, np.arange(len(out)), -1)
    forward = np.maximum.accumulate(positions)
    first = int(np.argmax(valid))
    out = out[np.where(forward >= 0, forward, first)]
    out[top + 1 :] = out[top]
    return out


def _moments(dept: np.ndarray, total: np.ndarray, square: np.ndarray, n: np.ndarray, k: int) -> tuple:
    """Per department and outcome: mean and variance of the per-person cost (sums over people / n)."""
    r = total.shape[1]
    safe = np.maximum(n, 1)[:, None]
    mean = np.column_stack([np.bincount(dept, total[:, j], minlength=k) for j in range(r)]) / safe
    second = np.column_stack([np.bincount(dept, square[:, j], minlength=k) for j in range(r)]) / safe
    if r == 0:
        return np.zeros((k, 0)), np.zeros((k, 0))
    return mean, np.maximum(second - mean**2, 0.0)


@dataclass
class _Rewards:
    """Incidental award rates per class and the mean cost per award, from the last cycle."""

    rate_dept: np.ndarray  # [K, R+1, T]
    rate_org: np.ndarray  # [K, R+1, T] (organisation-wide, the same in every department)
    mean_cost: np.ndarray  # [K, T] employer cost per award
    pct_kind: np.ndarray  # [T] bool: the cost grows with salary


def _rewards(costs: OrganisationCosts, base: pl.DataFrame, pop: _Population, cycle: int) -> _Rewards:
    rules = costs.rules
    types = [a.code for a in rules.incidental_types]
    k, r, t = len(pop.departments), len(rules.outcomes), len(types)
    awards = costs.awards.filter((pl.col("cycle") == cycle) & pl.col("costed"))
    position = base.select("employee_id").with_row_index("_row")
    awards = awards.join(position, on="employee_id", how="inner")
    rows = awards["_row"].to_numpy().astype(np.int64)
    kinds = index_of(awards["award_type"], types)
    cost = awards["cost"].to_numpy().astype(np.float64)
    dk, dc = pop.dept[rows], pop.cls[rows]
    count = np.zeros((k, r + 1, t))
    np.add.at(count, (dk, dc, kinds), 1.0)
    cost_sum = np.zeros((k, t))
    np.add.at(cost_sum, (dk, kinds), cost)
    people = np.zeros((k, r + 1))
    np.add.at(people, (pop.dept, pop.cls), 1.0)
    org_count, org_people = count.sum(0), people.sum(0)
    overall = count.sum((0, 1)) / max(people.sum(), 1.0)  # [T]
    org_rate = np.where(
        org_people[:, None] > 0, org_count / np.maximum(org_people[:, None], 1), overall[None, :]
    )
    dept_rate = np.where(
        people[:, :, None] > 0, count / np.maximum(people[:, :, None], 1), org_rate[None, :, :]
    )
    per_type = count.sum(1)  # [K, T]
    org_mean = np.divide(cost_sum.sum(0), per_type.sum(0), out=np.zeros(t), where=per_type.sum(0) > 0)
    mean_cost = np.where(per_type > 0, cost_sum / np.maximum(per_type, 1), org_mean[None, :])
    return _Rewards(
        rate_dept=dept_rate,
        rate_org=np.broadcast_to(org_rate, (k, r + 1, t)).copy(),
        mean_cost=mean_cost,
        pct_kind=np.array([a.kind == "pct" for a in rules.incidental_types], dtype=bool),
    )


def _quantiles(draws: np.ndarray) -> np.ndarray:
    """[3, columns] p5 / p50 / p95 over the draws (axis 0)."""
    return np.quantile(draws, QUANTILES, axis=0)


def _seed(settings: ForecastSettings, organization: str, scenario: str, horizon: int) -> np.random.Generator:
    material = [
        settings.seed & 0xFFFFFFFF,
        zlib.crc32(organization.encode()),
        zlib.crc32(scenario.encode()),
        horizon,
    ]
    return np.random.default_rng(np.random.SeedSequence(material))


FORECAST_ORDER = [
    "organization",
    "policy_id",
    "base_cycle",
    "cycle",
    "horizon",
    "scenario",
    "level",
    "department",
    "headcount",
    "decidable",
    "fte",
    "payroll",
    "at_maximum",
    "general_raise_pct",
    "general_raise_cost",
    "structural_cost_mean",
    "structural_cost_p5",
    "structural_cost_p50",
    "structural_cost_p95",
    "incidental_cost_mean",
    "incidental_cost_p5",
    "incidental_cost_p50",
    "incidental_cost_p95",
    "total_cost_mean",
    "total_cost_p5",
    "total_cost_p50",
    "total_cost_p95",
    "incidental_budget",
    "structural_budget",
    "incidental_utilisation_p50",
    "incidental_utilisation_p95",
    "structural_utilisation_p50",
    "structural_utilisation_p95",
    "draws",
]
FORECAST_TYPES: dict[str, Any] = {
    "organization": pl.String,
    "policy_id": pl.String,
    "base_cycle": pl.Int64,
    "cycle": pl.Int64,
    "horizon": pl.Int64,
    "scenario": pl.String,
    "level": pl.String,
    "department": pl.String,
    "headcount": pl.Int64,
    "decidable": pl.Int64,
    "draws": pl.Int64,
}


# marts.budget_forecast: the columns of a scenario-year, with the headcount over the shown gender categories
# (models.budget.with_shown_headcount) after the headcount.
FORECAST_COLUMNS = [
    *FORECAST_ORDER[: FORECAST_ORDER.index("headcount") + 1],
    SHOWN_HEADCOUNT,
    OTHERS_LEFT_OUT,
    *FORECAST_ORDER[FORECAST_ORDER.index("headcount") + 1 :],
]
FORECAST_TYPES.update({SHOWN_HEADCOUNT: pl.Int64, OTHERS_LEFT_OUT: pl.Boolean})


def empty_forecast() -> pl.DataFrame:
    return pl.DataFrame(schema={c: FORECAST_TYPES.get(c, pl.Float64) for c in FORECAST_COLUMNS})


def forecast_organisation(
    costs: OrganisationCosts,
    scales: pl.DataFrame,
    settings: ForecastSettings,
    guideline: Mapping[str, float] | None = None,
    custom: Iterable[ScenarioFile] = (),
) -> pl.DataFrame:
    """marts.budget_forecast rows of one organisation (from its last cycle in `costs`)."""
    rules = costs.rules
    if costs.people.height == 0:
        return empty_forecast()
    cycle = int(costs.people.select(pl.col("cycle").max()).item())
    base = costs.people.filter(pl.col("cycle") == cycle)
    pop = _population(costs, base)
    k, r = len(pop.departments), len(rules.outcomes)
    last_counts = np.zeros((k, r))
    has_outcome = pop.cls < r
    np.add.at(last_counts, (pop.dept[has_outcome], pop.cls[has_outcome]), 1.0)
    files = [f for f in custom if f.organization == costs.organization]
    scenarios = build_scenarios(settings, rules, pop.departments, last_counts, guideline, files)
    if not scenarios:
        return empty_forecast()

    growth = 1 + rules.general_raise_pct / 100
    path: _PctPath | _StepPath = (
        _PctPath(pop, base, rules) if rules.basis == "pct" else _StepPath(pop, base, scales, rules)
    )
    rewards = _rewards(costs, base, pop, cycle)
    n_dec = np.bincount(pop.dept[pop.decidable], minlength=k).astype(np.int64)
    n_none = np.bincount(pop.dept[~pop.decidable], minlength=k).astype(np.int64)
    headcount = np.bincount(pop.dept, minlength=k).astype(np.int64)
    fte = np.bincount(pop.dept, pop.fte, minlength=k)
    other = ~pop.decidable
    fixed_payroll = np.bincount(pop.dept[other], (pop.salary * pop.fte)[other], minlength=k)
    fixed_structural = np.bincount(pop.dept, pop.fixed_structural, minlength=k)
    base_payroll = np.bincount(pop.dept, pop.salary * pop.fte, minlength=k)
    d = settings.draws
    share, structural_pct = rules.incidental_share_pct, rules.structural_budget_pct

    blocks: list[dict[str, Any]] = []
    for scenario in scenarios:
        p = scenario.probabilities
        rates = rewards.rate_dept if scenario.department_rates else rewards.rate_org
        for h, year in enumerate(path.run(p, settings.horizon, growth, k), start=1):
            rng = _seed(settings, costs.organization, scenario.name, h)
            factor = growth**h
            payroll = year.payroll + fixed_payroll * factor
            counts = rng.multinomial(n_dec, p, size=(d, k)).astype(np.float64)  # [D, K, R]
            spread = np.sqrt(np.maximum((counts * year.var_cost[None]).sum(2), 0.0))
            structural = (counts * year.mean_cost[None]).sum(2) + spread * rng.standard_normal((d, k))
            structural = (np.maximum(structural, 0.0) + fixed_structural * factor) * rules.oncost
            structural_mean = ((n_dec[:, None] * p * year.mean_cost).sum(1) + fixed_structural * factor) * (
                rules.oncost
            )
            grow = np.where(
                rewards.pct_kind[None, :],
                np.divide(payroll, base_payroll, out=np.ones(k), where=base_payroll > 0)[:, None],
                1.0,
            )
            unit = rewards.mean_cost * grow  # [K, T]
            if unit.shape[1]:
                decided = rng.binomial(counts.astype(np.int64)[..., None], rates[None, :, :r, :])
                undecided = rng.binomial(
                    n_none[None, :, None], rates[None, :, r, :], size=(d, k, unit.shape[1])
                )
                incidental = ((decided.sum(2) + undecided) * unit[None]).sum(2)
                expected_awards = (n_dec[:, None, None] * p[:, :, None] * rates[:, :r, :]).sum(1) + n_none[
                    :, None
                ] * rates[:, r, :]
                incidental_mean = (expected_awards * unit).sum(1)
            else:
                incidental = np.zeros((d, k))
                incidental_mean = np.zeros(k)
            blocks.append(
                _block(
                    scenario.name,
                    h,
                    cycle,
                    pop.departments,
                    headcount,
                    n_dec,
                    fte,
                    payroll,
                    year.at_maximum,
                    structural,
                    structural_mean,
                    incidental,
                    incidental_mean,
                    rules,
                    share,
                    structural_pct,
                    d,
                )
            )
    columns: dict[str, Any] = {}
    for c in FORECAST_ORDER[2:]:
        joined = np.concatenate([b[c] for b in blocks])
        columns[c] = joined.tolist() if joined.dtype == object else joined
    frame = pl.DataFrame(columns).with_columns(
        organization=pl.lit(costs.organization), policy_id=pl.lit(rules.policy_id)
    )
    frame = frame.with_columns(pl.col(c).fill_nan(None) for c in _NULLABLE)
    return frame.select([pl.col(c).cast(FORECAST_TYPES.get(c, pl.Float64)) for c in FORECAST_ORDER])


def _block(
    scenario: str,
    horizon: int,
    base_cycle: int,
    departments: list[str],
    headcount: np.ndarray,
    decidable: np.ndarray,
    fte: np.ndarray,
    payroll: np.ndarray,
    at_maximum: np.ndarray,
    structural: np.ndarray,
    structural_mean: np.ndarray,
    incidental: np.ndarray,
    incidental_mean: np.ndarray,
    rules: CostRules,
    share: float | None,
    structural_pct: float | None,
    draws: int,
) -> dict[str, Any]:
    """One scenario-year: the departments and the organisation total (summed per draw) as columns."""

    def with_total(x: np.ndarray) -> np.ndarray:
        return np.append(x, x.sum())

    def draws_with_total(x: np.ndarray) -> np.ndarray:
        return np.column_stack([x, x.sum(1)])

    s, i = draws_with_total(structural), draws_with_total(incidental)
    qs, qi, qt = _quantiles(s), _quantiles(i), _quantiles(s + i)
    pay = with_total(payroll)
    k = len(departments) + 1
    g = rules.general_raise_pct / 100
    nan = np.full(k, np.nan)
    inc_budget = pay * rules.oncost * share / 100 if share is not None else nan
    str_budget = pay * rules.oncost * structural_pct / 100 if structural_pct is not None else nan

    def util(q: np.ndarray, budget: np.ndarray) -> np.ndarray:
        return np.divide(q, budget, out=np.full(k, np.nan), where=np.nan_to_num(budget) > 0)

    sm, im = with_total(structural_mean), with_total(incidental_mean)
    return {
        "base_cycle": np.full(k, base_cycle),
        "cycle": np.full(k, base_cycle + horizon),
        "horizon": np.full(k, horizon),
        "scenario": np.full(k, scenario, dtype=object),
        "level": np.array([LEVEL_DEPARTMENT] * (k - 1) + [LEVEL_ORGANISATION], dtype=object),
        "department": np.array([*departments, TOTAL], dtype=object),
        "headcount": with_total(headcount),
        "decidable": with_total(decidable),
        "fte": with_total(fte),
        "payroll": pay,
        "at_maximum": with_total(at_maximum),
        "general_raise_pct": np.full(k, rules.general_raise_pct),
        "general_raise_cost": pay * g / (1 + g) * rules.oncost,
        "structural_cost_mean": sm,
        "structural_cost_p5": qs[0],
        "structural_cost_p50": qs[1],
        "structural_cost_p95": qs[2],
        "incidental_cost_mean": im,
        "incidental_cost_p5": qi[0],
        "incidental_cost_p50": qi[1],
        "incidental_cost_p95": qi[2],
        "total_cost_mean": sm + im,
        "total_cost_p5": qt[0],
        "total_cost_p50": qt[1],
        "total_cost_p95": qt[2],
        "incidental_budget": inc_budget,
        "structural_budget": str_budget,
        "incidental_utilisation_p50": util(qi[1], inc_budget),
        "incidental_utilisation_p95": util(qi[2], inc_budget),
        "structural_utilisation_p50": util(qs[1], str_budget),
        "structural_utilisation_p95": util(qs[2], str_budget),
        "draws": np.full(k, draws),
    }


def compute_forecast(
    organisations: Mapping[str, OrganisationCosts],
    scales: pl.DataFrame,
    policies: Mapping[str, Policy],
    scenario_files: Iterable[ScenarioFile] = (),
    left_out: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """marts.budget_forecast for every organisation whose policy has a `forecast` section; `left_out` as in
    models.budget.compute_budget (the headcount over the shown gender categories)."""
    files = list(scenario_files)
    frames = []
    for org, costs in sorted(organisations.items()):
        settings = forecast_settings(policies[org])
        if settings is None:
            continue
        frame = forecast_organisation(
            costs, scales.filter(pl.col("organization") == org), settings, policies[org].guideline, files
        )
        frame = with_shown_headcount(frame, costs.people, left_out, cycle="base_cycle")
        frames.append(frame.select(FORECAST_COLUMNS))
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="vertical") if frames else empty_forecast()


_NULLABLE = (
    "incidental_budget",
    "structural_budget",
    "incidental_utilisation_p50",
    "incidental_utilisation_p95",
    "structural_utilisation_p50",
    "structural_utilisation_p95",
)
