"""A panel of employees followed over several cycles, shared by both sample organisations.

The organisation has a fixed number of *slots* (positions). Each slot keeps its function level; when its
occupant leaves (retirement at 67 or ordinary turnover), a new hire takes the slot, the team and the level.
Every cycle about `move_rate` of the stayers change team, half of them to another department, so evaluator
teams are linked through people who were rated by more than one evaluator (needed to tell evaluator effects
from ratee differences). Latent performance follows an AR(1) process per person.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from models.sample._common import choice, day, year_start


@dataclass
class Panel:
    years: list[int]
    n: int  # slots = head count per cycle
    occupant: np.ndarray  # [C, n] pool index of the person in each slot
    team: np.ndarray  # [C, n] team of each slot
    moved_team: np.ndarray  # [C, n] changed team in this cycle (cycle 0: moved during the year)
    moved_dept: np.ndarray  # [C, n] changed department in this cycle
    slot_level: np.ndarray  # [n] function level code of the slot
    team_dept: np.ndarray  # [T] department of each team
    team_cluster: np.ndarray  # [T] group of teams sharing a second evaluator
    dept_names: list[str]
    # per person (pool)
    birth_year: np.ndarray
    hire_day: np.ndarray
    gender: np.ndarray  # 0 = F, 1 = M, 2 = X
    level: np.ndarray  # level code of the person's slot
    joined: np.ndarray  # cycle index in which the person first appears
    perf: np.ndarray  # [pool, C] latent performance, standard normal
    id_number: np.ndarray  # numeric employee number (unique)

    @property
    def n_teams(self) -> int:
        return len(self.team_dept)

    @property
    def pool(self) -> int:
        return len(self.birth_year)


def _split(total: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    raw = w / w.sum() * total
    counts = np.floor(raw).astype(np.int64)
    rest = total - counts.sum()
    counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    return counts


def simulate_panel(
    rng: np.random.Generator,
    n: int,
    years: list[int],
    dept_names: list[str],
    dept_weights: Sequence[float],
    level_probs: Sequence[float],
    female_share: Callable[[np.ndarray], np.ndarray],
    team_size: int = 12,
    turnover: float = 0.07,
    move_rate: float = 0.10,
    cluster_size: int = 4,
    id_space: float = 3.0,
) -> Panel:
    n_cycles = len(years)
    n_dept = len(dept_names)

    # departments -> teams (contiguous team indices per department)
    dept_n = _split(n, dept_weights)
    teams_per_dept = np.maximum(1, np.rint(dept_n / team_size)).astype(np.int64)
    team_dept = np.repeat(np.arange(n_dept), teams_per_dept)
    dept_first_team = np.concatenate([[0], np.cumsum(teams_per_dept)[:-1]])
    team_sizes = np.concatenate([_split(int(dept_n[d]), np.ones(teams_per_dept[d])) for d in range(n_dept)])
    within = np.arange(len(team_dept)) - dept_first_team[team_dept]
    team_cluster = np.unique(team_dept * 10_000 + within // cluster_size, return_inverse=True)[1]
    slot_team0 = np.repeat(np.arange(len(team_dept)), team_sizes)
    slot_level = choice(rng, n, level_probs)

    # the first cycle's staff
    first = years[0]
    age = 22 + np.floor(45 * rng.beta(1.4, 1.3, n)).astype(np.int64)
    service = np.minimum(age - 21, np.floor(40 * rng.beta(1.2, 2.6, n)).astype(np.int64))
    hire_year = first - service
    start = year_start(hire_year)
    span = np.where(service == 0, day(first, 9, 30) - day(first, 1, 1), 364)
    births = [first - age]
    hires = [start + np.floor(rng.random(n) * (span + 1)).astype(np.int64)]
    levels = [slot_level]
    joined = [np.zeros(n, dtype=np.int64)]

    occupant = np.zeros((n_cycles, n), dtype=np.int64)
    team = np.zeros((n_cycles, n), dtype=np.int64)
    moved_team = np.zeros((n_cycles, n), dtype=bool)
    moved_dept = np.zeros((n_cycles, n), dtype=bool)
    occupant[0] = np.arange(n)
    team[0] = slot_team0
    moved_team[0] = rng.random(n) < move_rate / 2  # moved during the first year (not visible as a change)
    moved_dept[0] = moved_team[0] & (rng.random(n) < 0.5)
    pool = n
    birth_all = births[0]
    for c in range(1, n_cycles):
        prev = occupant[c - 1]
        birth_all = np.concatenate(births)
        leave = (years[c] - birth_all[prev] >= 67) | (rng.random(n) < turnover)
        k = int(leave.sum())
        new = np.arange(pool, pool + k)
        pool += k
        hire_age = np.clip(np.rint(rng.normal(32, 8, k)), 21, 60).astype(np.int64)
        births.append(years[c] - hire_age)
        lo = day(years[c] - 1, 10, 1)
        hires.append(lo + np.floor(rng.random(k) * (day(years[c], 9, 30) - lo + 1)).astype(np.int64))
        levels.append(slot_level[leave])
        joined.append(np.full(k, c, dtype=np.int64))
        occ = prev.copy()
        occ[leave] = new
        occupant[c] = occ

        cur = team[c - 1].copy()
        mover = (~leave) & (rng.random(n) < move_rate)
        cross = mover & (rng.random(n) < 0.5)
        d = team_dept[cur]
        # to another team of the same department (if it has one)
        nt = teams_per_dept[d]
        pos = cur - dept_first_team[d]
        shift = 1 + np.floor(rng.random(n) * np.maximum(nt - 1, 1)).astype(np.int64)
        same_dept = dept_first_team[d] + (pos + shift) % nt
        # to a team of another department
        other = (d + 1 + np.floor(rng.random(n) * max(n_dept - 1, 1)).astype(np.int64)) % n_dept
        other_team = dept_first_team[other] + np.floor(rng.random(n) * teams_per_dept[other]).astype(np.int64)
        nxt = cur.copy()
        nxt[mover & ~cross] = same_dept[mover & ~cross]
        if n_dept > 1:
            nxt[cross] = other_team[cross]
        team[c] = nxt
        moved_team[c] = nxt != cur
        moved_dept[c] = team_dept[nxt] != team_dept[cur]

    birth_year = np.concatenate(births)
    hire_day = np.concatenate(hires)
    level = np.concatenate(levels)
    fshare = female_share(level)
    u = rng.random(pool)
    gender = np.where(u < 0.004, 2, np.where(u < 0.004 + fshare * 0.996, 0, 1)).astype(np.int64)

    rho = 0.75
    perf = np.empty((pool, n_cycles))
    perf[:, 0] = rng.standard_normal(pool)
    for c in range(1, n_cycles):
        perf[:, c] = rho * perf[:, c - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(pool)

    # employee numbers: the first cycle's staff drawn from a range, later hires numbered upwards
    hi = max(int(n * id_space), n)
    first_ids = np.sort(rng.choice(np.arange(1, hi + 1), size=n, replace=False))
    first_ids = rng.permutation(first_ids)
    id_number = np.concatenate([first_ids, np.arange(hi + 1, hi + 1 + pool - n)])

    return Panel(
        years=list(years),
        n=n,
        occupant=occupant,
        team=team,
        moved_team=moved_team,
        moved_dept=moved_dept,
        slot_level=slot_level,
        team_dept=team_dept,
        team_cluster=team_cluster,
        dept_names=list(dept_names),
        birth_year=birth_year,
        hire_day=hire_day,
        gender=gender,
        level=level,
        joined=np.concatenate(joined),
        perf=perf,
        id_number=id_number,
    )


def pick_team(rng: np.random.Generator, panel: Panel, exclude_depts: Sequence[int]) -> int:
    """A team of typical size outside the given departments (home of a planted lenient evaluator)."""
    sizes = np.bincount(panel.team[0], minlength=panel.n_teams)
    ok = ~np.isin(panel.team_dept, np.asarray(exclude_depts, dtype=np.int64)) & (sizes >= np.median(sizes))
    candidates = np.flatnonzero(ok)
    if len(candidates) == 0:
        candidates = np.flatnonzero(~np.isin(panel.team_dept, np.asarray(exclude_depts, dtype=np.int64)))
    if len(candidates) == 0:
        candidates = np.arange(panel.n_teams)
    return int(candidates[rng.integers(0, len(candidates))])


def evaluator_numbers(rng: np.random.Generator, panel: Panel, count: int) -> np.ndarray:
    """Distinct numbers for evaluators, above every employee number."""
    base = int(panel.id_number.max()) + 1
    return base + np.sort(rng.choice(np.arange(count * 5), size=count, replace=False))
