"""An integer-programming attacker for the published tables (issue 16, "Protection").

Written for the tests, independently of the disclosure engine: it reads only what a page publishes (nulls are
unknowns) and what a reader knows about how the numbers relate, and asks scipy's MILP solver (HiGHS) for the
smallest and largest whole number each hidden cell can take.

A `Model` holds named facts (a count a table publishes, or one it hides), each an integer unknown >= 0; a
published value fixes it. Constraints:

* `total`      a published total equals the sum of its parts (a table's margins; the same people counted in
               two tables: `equal`);
* `ratio`      a published rate or share r = count / n with d decimals bounds the count:
               |count − r·n| <= ½·10^−d · n (linear in count and n; unrounded rates use d = 9);
* `odds_ratio` a published odds ratio rounded to d decimals, a·d' / (b·c) (non-linear): checked after the
               linear bounds by enumerating every combination of its unknown counts inside their bounds, each
               combination that rounds to the published value tested for feasibility with the linear system.

`Model.attack` returns per target (the hidden facts whose true value is 1 to k−1 people, or facts a page never
shows, like a category left out) the interval [low, high] the published numbers allow. A target is
*recovered* when low == high. The model is exact only if the truth satisfies it: `Model.check_truth` says
which constraints the true values break (a modelling error, never ignored by the tests).

Pure: numpy, scipy, polars; no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

Key = Hashable


@dataclass
class Found:
    """One attacked fact: its key, the feasible interval, the true value. `exact` False: [low, high] is only
    the span of values seen in solutions (inside the feasible interval, wide enough to say it is not
    recovered, but it need not hold the true value)."""

    key: Key
    low: int
    high: int
    true: float
    exact: bool = True

    @property
    def consistent(self) -> bool:
        return not self.exact or self.low <= self.true <= self.high

    @property
    def recovered(self) -> bool:
        return self.low == self.high


@dataclass
class Model:
    index: dict[Key, int] = field(default_factory=dict)
    shown: list[float | None] = field(default_factory=list)
    true: list[float | None] = field(default_factory=list)
    # sparse rows: ({var: coefficient}, low, high)
    rows: list[tuple[dict[int, float], float, float]] = field(default_factory=list)
    odds: list[tuple[tuple[int, int, int, int], float, int]] = field(default_factory=list)
    targets: set[int] = field(default_factory=set)

    # ------------------------------------------------------------------------------------------ building
    def fact(self, key: Key, shown: float | None = None, true: float | None = None) -> int:
        """The unknown for `key` (created on first use); a published value fixes it, a true value is kept for
        the check and the targets."""
        i = self.index.get(key)
        if i is None:
            i = len(self.shown)
            self.index[key] = i
            self.shown.append(None)
            self.true.append(None)
        if shown is not None and not (isinstance(shown, float) and np.isnan(shown)):
            self.shown[i] = float(shown)
        if true is not None and not (isinstance(true, float) and np.isnan(true)):
            self.true[i] = float(true)
        return i

    def total(self, total: Key, parts: Iterable[Key]) -> None:
        coefficients: dict[int, float] = {self.fact(total): -1.0}
        for p in parts:
            j = self.fact(p)
            coefficients[j] = coefficients.get(j, 0.0) + 1.0
        self.rows.append((coefficients, 0.0, 0.0))

    def equal(self, a: Key, b: Key) -> None:
        self.total(a, [b])

    def ratio(self, count: Key, n: Key, value: float | None, decimals: int = 9) -> None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return
        half = 0.5 * 10.0**-decimals
        c, m = self.fact(count), self.fact(n)
        # count − (r + h)·n <= 0  and  count − (r − h)·n >= 0
        self.rows.append(({c: 1.0, m: -(value + half)}, -np.inf, 0.0))
        self.rows.append(({c: 1.0, m: -(value - half)}, 0.0, np.inf))

    def odds_ratio(self, a: Key, b: Key, c: Key, d: Key, value: float | None, decimals: int = 2) -> None:
        """(a·d) / (b·c) rounded to `decimals` equals `value` (a, b: the group's yes and no; c, d the
        reference's)."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return
        self.odds.append(((self.fact(a), self.fact(b), self.fact(c), self.fact(d)), float(value), decimals))

    def target(self, key: Key) -> None:
        self.targets.add(self.fact(key))

    def small_targets(self, k: int) -> None:
        """Every hidden fact whose true value is 1 to k−1 people."""
        for i, (shown, true) in enumerate(zip(self.shown, self.true, strict=True)):
            if shown is None and true is not None and 0 < true < k:
                self.targets.add(i)

    def keys(self) -> list[Key]:
        out: list[Key] = [None] * len(self.index)
        for key, i in self.index.items():
            out[i] = key
        return out

    # ------------------------------------------------------------------------------------------ checking
    def check_truth(self) -> list[tuple[dict[Key, float], float, float]]:
        """Constraints the true values break (needs a true value for every fact in them), and published values
        that differ from the truth (as one-fact rows)."""
        keys = self.keys()
        broken: list[tuple[dict[Key, float], float, float]] = []
        for i, (shown, true) in enumerate(zip(self.shown, self.true, strict=True)):
            if shown is not None and true is not None and abs(shown - true) > 1e-6:
                broken.append(({keys[i]: 1.0}, shown, true))
        for coefficients, low, high in self.rows:
            values = [self.true[j] if self.true[j] is not None else self.shown[j] for j in coefficients]
            if any(v is None for v in values):
                continue
            total = sum(a * v for a, v in zip(coefficients.values(), values, strict=True))  # type: ignore[operator]
            if total < low - 1e-6 or total > high + 1e-6:
                broken.append(({keys[j]: a for j, a in coefficients.items()}, low, high))
        return broken

    # ------------------------------------------------------------------------------------------ attacking
    def _components(self) -> list[tuple[list[int], list[int]]]:
        """(unknown variables, rows) per connected component of the unknowns through the rows."""
        parent = list(range(len(self.shown)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for coefficients, _, _ in self.rows:
            unknown = [j for j in coefficients if self.shown[j] is None]
            for a, b in itertools.pairwise(unknown):
                parent[find(a)] = find(b)
        for (a, b, c, d), _, _ in self.odds:
            unknown = [j for j in (a, b, c, d) if self.shown[j] is None]
            for x, y in itertools.pairwise(unknown):
                parent[find(x)] = find(y)
        members: dict[int, list[int]] = {}
        for j, shown in enumerate(self.shown):
            if shown is None:
                members.setdefault(find(j), []).append(j)
        rows: dict[int, list[int]] = {}
        for r, (coefficients, _, _) in enumerate(self.rows):
            unknown = [j for j in coefficients if self.shown[j] is None]
            if unknown:
                rows.setdefault(find(unknown[0]), []).append(r)
        return [(cells, rows.get(root, [])) for root, cells in members.items()]

    def attack(self, cap: float | None = None, rounds: int = 3) -> list[Found]:
        """The feasible interval of every target under every constraint (integers in [0, cap]; cap defaults to
        twice the largest published value plus 100: a bound any reader can assume, which only narrows the
        intervals, so it never hides a recovery)."""
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import lil_matrix

        if cap is None:
            cap = 2.0 * max((v for v in self.shown if v is not None), default=0.0) + 100.0
        found: list[Found] = []
        keys = self.keys()
        rng = np.random.default_rng(7)
        for cells, rows in self._components():
            wanted = [j for j in cells if j in self.targets]
            if not wanted:
                continue
            local = {j: i for i, j in enumerate(cells)}
            matrix = lil_matrix((max(len(rows), 1), len(cells)))
            lows = np.zeros(max(len(rows), 1))
            highs = np.zeros(max(len(rows), 1))
            for r, row in enumerate(rows):
                coefficients, low, high = self.rows[row]
                known = 0.0
                for j, a in coefficients.items():
                    if self.shown[j] is None:
                        matrix[r, local[j]] += a
                    else:
                        known += a * self.shown[j]  # type: ignore[operator]
                lows[r], highs[r] = low - known, high - known
            constraints = [LinearConstraint(matrix.tocsr(), lows, highs)] if rows else []
            bounds = Bounds(np.zeros(len(cells)), np.full(len(cells), float(cap)))
            integral = np.ones(len(cells))

            def solve(
                objective: np.ndarray,
                extra: Sequence[LinearConstraint] = (),
                constraints: list[LinearConstraint] = constraints,
                integral: np.ndarray = integral,
                bounds: Bounds = bounds,
            ) -> np.ndarray | None:
                result = milp(
                    objective, constraints=[*constraints, *extra], integrality=integral, bounds=bounds
                )
                return None if result.x is None else np.round(result.x)

            # Random directions first: a target seen at two values is not pinned (no program of its own).
            seen_low = np.full(len(cells), np.inf)
            seen_high = np.full(len(cells), -np.inf)
            for _ in range(rounds):
                direction = rng.uniform(-1.0, 1.0, len(cells))
                for sign in (1.0, -1.0):
                    x = solve(sign * direction)
                    if x is None:
                        raise AssertionError("the published numbers must be feasible for the attacker")
                    seen_low, seen_high = np.minimum(seen_low, x), np.maximum(seen_high, x)
            for j in wanted:
                i = local[j]
                if seen_high[i] > seen_low[i]:
                    found.append(Found(keys[j], int(seen_low[i]), int(seen_high[i]), self.true[j], False))  # type: ignore[arg-type]
                    continue
                unit = np.zeros(len(cells))
                unit[i] = 1.0
                low_x, high_x = solve(unit), solve(-unit)
                assert low_x is not None and high_x is not None
                found.append(Found(keys[j], int(low_x[i]), int(high_x[i]), self.true[j]))  # type: ignore[arg-type]
            found = self._odds_filter(found, cells, local, solve)
        return found

    def _odds_filter(self, found: list[Found], cells: list[int], local: dict[int, int], solve) -> list[Found]:  # type: ignore[no-untyped-def]
        """Narrow the targets of this component with the odds ratios on its cells: the combinations of each
        ratio's unknown counts (inside their intervals) that round to the published value and fit every linear
        constraint. A target's interval becomes the span of its values over those combinations."""
        from scipy.optimize import LinearConstraint

        keys = self.keys()
        by_key = {f.key: f for f in found}
        mine = [o for o in self.odds if any(self.shown[j] is None and j in local for j in o[0])]
        for (a, b, c, d), value, decimals in mine:
            members = (a, b, c, d)
            unknown = [j for j in dict.fromkeys(members) if self.shown[j] is None]
            spans = []
            for j in unknown:
                f = by_key.get(keys[j])
                if f is not None:
                    spans.append(range(f.low, f.high + 1))
                else:
                    unit = np.zeros(len(cells))
                    unit[local[j]] = 1.0
                    low_x, high_x = solve(unit), solve(-unit)
                    spans.append(range(int(low_x[local[j]]), int(high_x[local[j]]) + 1))  # type: ignore[index]
            if int(np.prod([len(s) for s in spans])) > 20_000:
                continue  # too wide to matter: no target of it is pinned by this ratio
            fits = []
            for combo in itertools.product(*spans):
                v = dict(zip(unknown, combo, strict=True))
                x = [v.get(j, self.shown[j]) for j in members]
                den = x[1] * x[2]  # type: ignore[operator]
                if den == 0:
                    continue
                if round(x[0] * x[3] / den, decimals) == round(value, decimals):  # type: ignore[operator]
                    fits.append(combo)
            if len(fits) > 50:
                continue
            feasible = []
            for combo in fits:
                fixed = np.zeros((len(unknown), len(cells)))
                for r, j in enumerate(unknown):
                    fixed[r, local[j]] = 1.0
                pin = LinearConstraint(fixed, np.array(combo, float), np.array(combo, float))
                if solve(np.zeros(len(cells)), [pin]) is not None:
                    feasible.append(combo)
            for r, j in enumerate(unknown):
                f = by_key.get(keys[j])
                if f is not None and feasible:
                    values = [combo[r] for combo in feasible]
                    f.low, f.high = max(f.low, min(values)), min(f.high, max(values))
        return found


# ---------------------------------------------------------------------------------------------- table helpers
def add_cube(
    model: Model,
    name: str,
    published: pl.DataFrame,
    truth: pl.DataFrame | None,
    by: Sequence[str],
    dims: Sequence[str],
    value: str,
    totals: Sequence[str] | None = None,
) -> None:
    """A table with its margins (null in a dim of `totals` = all): every row a fact (name, by..., dims...),
    every total row the sum of its parts. `truth` holds the true values on the same keys."""
    keys = [*by, *dims]
    totals = list(dims if totals is None else totals)
    true = {}
    if truth is not None:
        true = {row[:-1]: row[-1] for row in truth.select(*keys, value).iter_rows()}
    rows = published.select(*keys, value).rows()
    present = set()
    for row in rows:
        key = tuple(row[:-1])
        model.fact((name, *key), row[-1], true.get(key))
        present.add(key)
    for d_pos, dim in enumerate(dims):
        if dim not in totals:
            continue
        parts: dict[tuple, list[tuple]] = {}
        for key in present:
            if key[len(by) + d_pos] is not None:
                total = (*key[: len(by) + d_pos], None, *key[len(by) + d_pos + 1 :])
                parts.setdefault(total, []).append(key)
        for total, members in parts.items():
            if total in present:
                model.total((name, *total), [(name, *m) for m in members])


def hidden_cells(frame: pl.DataFrame, columns: Sequence[str]) -> int:
    """How many published values of `columns` are null (hidden)."""
    return int(sum(frame[c].null_count() for c in columns if c in frame.columns))
