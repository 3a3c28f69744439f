"""Disclosure control for everything the site publishes (RELIABILITY.md, "Disclosure control").

Every published table passes through `protect` before it reaches dashboards/, so the HTML only ever holds
suppressed aggregates. The rules, with their thresholds from the organisation's policy (`disclosure:`):

* **Small cells** — a count from 1 to k−1 people (``min_group_size``, default 5) is hidden. Zeros are shown.
* **Everyone alike** — a distribution (the cells of one group over a category such as the rating) in which all
  people sit in one category reveals each member's value: all its cells are hidden, zeros included. Tables of
  means use a row-wise `homogeneous` test (e.g. a standard deviation of 0) instead.
* **Complementary suppression** — a table is published together with its totals (null in a dimension means
  "all": the organisation row of a department table). Every total equals the sum of its parts, so a hidden
  cell could be recomputed from its total and its siblings. Each such equation must therefore hold either no
  hidden member or at least two: when exactly one is hidden, the smallest other non-zero member is hidden too
  (a hidden zero protects nothing: counts are never negative), until nothing changes. Then an exact audit
  looks for small cells a reader can still narrow to one value: one linear program finds the hidden cells
  that every solution holds at zero (or at the table's largest value), and with those known a linear-algebra
  check finds the cells the equations determine (chains across rows and columns). Sums over the category
  that another table publishes (`CutPoints`: the fairness page's "rated at least ..." counts per function
  level) are cells of these equations too, so a reader cannot combine them with the table. For tables whose bounds
  need not be whole numbers (three or more dims with totals, none of them two-valued) each small cell must
  also be able to move by more than half a person. More cells are hidden until nothing is narrowed.
* **Amounts** — a money cell needs at least ``min_group_size_amounts`` people (default 10) and no single
  person above ``dominance_share`` (default 30%) of the cell's total; it is hidden whenever its count is
  hidden (except where the count is forced hidden only for another table's sake, `protect`'s `count_only`),
  and gets its own complementary suppression. The largest single contribution is used for the check
  and never published. Where a table has no such column only the people threshold can be applied (said in
  `ProtectedTable.notes`).

Output: the table with its total rows added (null in a total dimension), cells completed with zeros where
the rule asks for it, hidden values set to null, `suppressed` (bool) and `suppressed_reason` columns, and a
`suppressed_<amount>` flag per amount column. Only the columns in `keep` survive.

Pure: polars, numpy and scipy (the linear-programming audit), no I/O, no Dagster, no plotting. Messages and
notes never contain data values.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

SUPPRESSED = "suppressed"
REASON = "suppressed_reason"

# Reasons (shown on the pages' legend; never data values).
SMALL = "small"
HOMOGENEOUS = "homogeneous"
COMPLEMENT = "complement"
AMOUNT_SMALL = "amount_small"
DOMINANCE = "dominance"

_ROW = "__row"


def amount_flag(column: str) -> str:
    return f"suppressed_{column}"


@dataclass(frozen=True)
class Thresholds:
    """k for counts, k for amounts and the dominance share (policy `disclosure:`)."""

    k: int = 5
    k_amounts: int = 10
    dominance: float = 0.30

    @classmethod
    def from_policy(cls, policy: object) -> Thresholds:
        return cls(
            k=int(getattr(policy, "min_group_size", 5)),
            k_amounts=int(getattr(policy, "min_group_size_amounts", 10)),
            dominance=float(getattr(policy, "dominance_share", 0.30)),
        )

    @classmethod
    def strictest(cls, policies: Iterable[object]) -> Thresholds:
        """One set of thresholds for tables that mix organisations: the strictest of their policies."""
        found = [cls.from_policy(p) for p in policies]
        if not found:
            return cls()
        return cls(
            k=max(t.k for t in found),
            k_amounts=max(t.k_amounts for t in found),
            dominance=min(t.dominance for t in found),
        )


@dataclass(frozen=True)
class Amount:
    """A money column: `max_column` holds the largest single person's contribution to the cell (if known),
    `n_column` the number of people behind the amount (default: the table's count), `protect` the columns
    derived from the amount (shares of budget, averages) that are hidden with it."""

    column: str
    max_column: str | None = None
    n_column: str | None = None
    protect: tuple[str, ...] = ()


@dataclass(frozen=True)
class CutPoints:
    """Another table publishes, for the rows `rows` selects (totals over `category`), how many people sit at or
    above each category and how many below it (the fairness page's "rated at least ..." per function level).
    Those sums are cells of this table too: they are audited with it and returned in
    `ProtectedTable.cut_points`. `order` is the column holding each category's position."""

    order: str
    rows: pl.Expr


@dataclass(frozen=True)
class TableRule:
    """How one published table is protected.

    dims      the cell key inside a partition (`by`, never summed over: organisation and cycle)
    n         the number of people behind each cell
    totals    dims whose totals are published (rows with null there); added when the mart lacks them
    category  the dim that forms a distribution (rating): groups in which everyone sits in one category hide
    complete  add zero cells for every combination of dim values seen in the partition
    additive  other columns that add up over cells (score sums); their totals are computed too
    protect   columns derived from the cell's people, hidden with the count (shares, means, intervals)
    homogeneous  row-wise polars expression: True when every person in the cell has the same value
    keep      the columns that may be published (None: all but the amounts' `max_column`)
    cut_points   cumulative counts over `category` that another table publishes (see `CutPoints`)
    """

    dims: tuple[str, ...]
    n: str = "n"
    by: tuple[str, ...] = ("organization", "cycle")
    totals: tuple[str, ...] = ()
    category: str | None = None
    complete: bool = False
    additive: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()
    amounts: tuple[Amount, ...] = ()
    homogeneous: pl.Expr | None = None
    keep: tuple[str, ...] | None = None
    cut_points: CutPoints | None = None


@dataclass
class ProtectedTable:
    """`cut_points`: with `TableRule.cut_points`, each cut cell (by + dims, the category holding the cut's code,
    `has` "yes" = at or above it, "no" = below) with its `suppressed` flag; never published by this table."""

    frame: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    cells: int = 0
    hidden: int = 0
    cut_points: pl.DataFrame | None = None


# --------------------------------------------------------------------------------------------------------------
# building the cube: base cells, zero cells, total rows
# --------------------------------------------------------------------------------------------------------------


def _sum_columns(rule: TableRule) -> list[str]:
    cols = [rule.n, *rule.additive]
    for amount in rule.amounts:
        cols.append(amount.column)
        if amount.n_column and amount.n_column not in cols:
            cols.append(amount.n_column)
    return cols


def _max_columns(rule: TableRule) -> list[str]:
    return [a.max_column for a in rule.amounts if a.max_column]


def _complete(base: pl.DataFrame, rule: TableRule) -> pl.DataFrame:
    """Zero cells for every combination of the dim values seen within each partition."""
    if base.height == 0:
        return base
    grid: pl.DataFrame | None = None
    for dim in rule.dims:
        # Order kept: row positions break ties between equal complements, so they must not vary per run.
        values = base.select([*rule.by, dim]).unique(maintain_order=True)
        if grid is None:
            grid = values
        elif rule.by:
            grid = grid.join(values, on=list(rule.by), how="inner", nulls_equal=True)
        else:
            grid = grid.join(values, how="cross")
    assert grid is not None
    keys = [*rule.by, *rule.dims]
    full = grid.join(base, on=keys, how="left", nulls_equal=True)
    fills = [pl.col(c).fill_null(0) for c in [*_sum_columns(rule), *_max_columns(rule)] if c in full.columns]
    return full.with_columns(fills) if fills else full


def _cube(frame: pl.DataFrame, rule: TableRule) -> pl.DataFrame:
    keys = [*rule.by, *rule.dims]
    is_total = pl.any_horizontal([pl.col(d).is_null() for d in rule.totals]) if rule.totals else pl.lit(False)
    base = frame.filter(~is_total)
    given_totals = frame.filter(is_total)
    if rule.complete:
        base = _complete(base, rule)
    parts = [base]
    sums = [c for c in _sum_columns(rule) if c in base.columns]
    maxes = [c for c in _max_columns(rule) if c in base.columns]
    for size in range(1, len(rule.totals) + 1):
        for subset in itertools.combinations(rule.totals, size):
            group = [k for k in keys if k not in subset]
            aggs = [pl.col(c).sum() for c in sums] + [pl.col(c).max() for c in maxes]
            total = base.group_by(group, maintain_order=True).agg(aggs) if group else base.select(aggs)
            total = total.with_columns([pl.lit(None, dtype=base.schema[d]).alias(d) for d in subset])
            # Columns the mart computed for its own total rows (a p-value, a guideline) are kept.
            extra = [c for c in given_totals.columns if c not in total.columns]
            if extra and given_totals.height:
                mine = given_totals.filter(
                    pl.all_horizontal(
                        [pl.col(d).is_null() for d in subset]
                        + [pl.col(d).is_not_null() for d in rule.totals if d not in subset]
                    )
                ).unique(subset=keys, keep="first")
                total = total.join(mine.select([*keys, *extra]), on=keys, how="left", nulls_equal=True)
            parts.append(total)
    cube = pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else base
    # Row positions break ties between equally good complementary cells: they follow the keys, not the order
    # the rows arrived in (joins and group-bys upstream do not keep it), so the same data is always hidden
    # the same way. Two suppression patterns of one table, published at different times, could be combined.
    return cube.sort(keys, nulls_last=True, maintain_order=True).with_row_index(_ROW)


def _equations(cube: pl.DataFrame, rule: TableRule) -> list[tuple[int, np.ndarray]]:
    """(total row, part rows) for every published total: total = sum(parts)."""
    keys = [*rule.by, *rule.dims]
    equations: list[tuple[int, np.ndarray]] = []
    for dim in rule.totals:
        other = [k for k in keys if k != dim]
        totals = cube.filter(pl.col(dim).is_null()).select([*other, _ROW])
        parts = cube.filter(pl.col(dim).is_not_null())
        if other:
            grouped = parts.group_by(other).agg(pl.col(_ROW).sort().alias("__parts"))
            joined = totals.join(grouped, on=other, how="inner", nulls_equal=True)
        else:
            joined = totals.with_columns(pl.lit(parts[_ROW].to_list()).alias("__parts"))
        # In row order (a group-by's order varies per run, and the equations' order decides ties).
        for total_row, part_rows in joined.select(_ROW, "__parts").sort(_ROW).iter_rows():
            if part_rows:
                equations.append((int(total_row), np.asarray(part_rows, dtype=np.int64)))
    return equations


_CUT_SIDE = "__side"  # of a cut cell: "yes" = at or above the cut's code, "no" = below it


def _cut_point_rows(
    frame: pl.DataFrame, cube: pl.DataFrame, rule: TableRule
) -> tuple[pl.DataFrame, list[tuple[int, np.ndarray]]]:
    """The cut cells of `rule.cut_points` as extra cube rows (numbered after the cube's) and their equations:
    at-or-above = sum of its categories, below = sum of the others, group total = at-or-above + below."""
    cuts = rule.cut_points
    assert cuts is not None and rule.category is not None
    category = rule.category
    keys = [*rule.by, *rule.dims]
    group = [k for k in keys if k != category]
    order = frame.select(*rule.by, category, pl.col(cuts.order).cast(pl.Int64)).unique([*rule.by, category])
    in_scope = cuts.rows
    parts = (
        cube.filter(in_scope & pl.col(category).is_not_null())
        .drop(cuts.order, strict=False)  # null on total rows: the order comes from the base cells
        .join(order, on=[*rule.by, category], how="inner", nulls_equal=True)
        .select(*group, cuts.order, _ROW, rule.n)
    )
    # Every code but the lowest is a cut (at or above the lowest is everyone).
    codes = order.filter(pl.col(cuts.order) > pl.col(cuts.order).min().over(list(rule.by))).select(
        *rule.by, pl.col(category).alias("__cut"), pl.col(cuts.order).alias("__cut_order")
    )
    sides = (
        parts.join(codes, on=list(rule.by), how="inner", nulls_equal=True)
        .with_columns(
            pl.when(pl.col(cuts.order) >= pl.col("__cut_order"))
            .then(pl.lit("yes"))
            .otherwise(pl.lit("no"))
            .alias(_CUT_SIDE)
        )
        .group_by([*group, "__cut", _CUT_SIDE], maintain_order=True)
        .agg(pl.col(_ROW).sort().alias("__parts"), pl.col(rule.n).sum())
    )
    totals = cube.filter(in_scope & pl.col(category).is_null()).select(*group, pl.col(_ROW).alias("__total"))
    rows = (
        sides.join(totals, on=group, how="inner", nulls_equal=True)
        .sort([*group, "__cut", _CUT_SIDE], nulls_last=True)
        .with_row_index(_ROW, offset=cube.height)
        .with_columns(pl.col(_ROW).cast(cube.schema[_ROW]))
    )
    equations = [(int(r), np.asarray(p, dtype=np.int64)) for r, p in rows.select(_ROW, "__parts").iter_rows()]
    pairs = rows.group_by([*group, "__cut"], maintain_order=True).agg(pl.col("__total").first(), pl.col(_ROW))
    equations += [
        (int(t), np.asarray(p, dtype=np.int64)) for t, p in pairs.select("__total", _ROW).iter_rows()
    ]
    return rows.drop("__parts", "__total").rename({"__cut": category}), equations


# --------------------------------------------------------------------------------------------------------------
# suppression
# --------------------------------------------------------------------------------------------------------------


def _homogeneous_groups(cube: pl.DataFrame, rule: TableRule) -> np.ndarray:
    """Rows in a distribution whose people all sit in one category (zeros included)."""
    mask = np.zeros(cube.height, dtype=bool)
    if rule.category is not None:
        group = [k for k in (*rule.by, *rule.dims) if k != rule.category]
        flagged = (
            cube.filter(pl.col(rule.category).is_not_null())
            .with_columns(
                (pl.col(rule.n).fill_null(0) > 0).sum().over(group).alias("__nonzero"),
            )
            .filter(pl.col("__nonzero") == 1)[_ROW]
            .to_numpy()
        )
        mask[flagged] = True
    if rule.homogeneous is not None:
        mask |= cube.select(rule.homogeneous.fill_null(False)).to_series().to_numpy().astype(bool)
    return mask


def _complement(
    values: np.ndarray,
    hidden: np.ndarray,
    equations: list[tuple[int, np.ndarray]],
    reasons: np.ndarray,
    sensitive: np.ndarray | None = None,
    width_check: bool = False,
    level: np.ndarray | None = None,
) -> None:
    """Hide more cells until every equation has zero or at least two hidden members and no hidden cell is
    determined by the equations. With `sensitive` (the audit), the cells every solution holds at zero are
    found exactly, so no sensitive cell keeps a single possible value; `width_check` also asks that each can
    move by more than half a person (for tables whose solutions need not be whole numbers).

    `level` (per cell: how many of its dims are totals) makes complements come from the most detailed cells
    first, then the smallest: a total is what a meeting reads, and hiding one organisation-wide cell hid the
    organisation's whole distribution through the chain of its cumulative cut points."""
    level = np.zeros(values.size, dtype=np.int64) if level is None else level
    members = [np.concatenate(([t], p)) for t, p in equations]
    by_cell: dict[int, list[int]] = {}
    for e, m in enumerate(members):
        for cell in m:
            by_cell.setdefault(int(cell), []).append(e)

    def smallest_open(pool: np.ndarray) -> int | None:
        """The most detailed, then smallest visible non-zero cell of `pool` (a hidden zero protects nothing:
        a reader knows counts and amounts are never negative)."""
        open_ = pool[~hidden[pool] & (values[pool] > 0)]
        if not open_.size:
            return None
        order = np.lexsort((open_, values[open_], level[open_]))  # then the first row: deterministic
        return int(open_[order[0]])

    def pick(candidates: np.ndarray) -> int | None:
        """`smallest_open` of the candidates; if there is none, of the cells a step further out."""
        found = smallest_open(candidates)
        if found is not None:
            return found
        # Only now the cells one step further out (most calls find a cell among the candidates).
        return smallest_open(
            np.unique(np.concatenate([members[e] for c in candidates for e in by_cell.get(int(c), [])]))
        )

    from scipy import sparse

    incidence = sparse.csr_matrix(
        (
            np.ones(sum(m.size for m in members)),
            (
                np.repeat(np.arange(len(members)), [m.size for m in members]),
                np.concatenate([*members, np.array([], dtype=np.int64)]),
            ),
        ),
        shape=(len(members), values.size),
    )
    cache: dict[tuple[int, ...], list[int]] = {}
    lp_cache: dict[tuple[int, ...], list[int]] = {}
    for _ in range(10_000):
        changed = True
        while changed:
            changed = False
            # Equations with exactly one hidden member, found in one sparse product; each is re-checked
            # before acting because a cell hidden for an earlier one may already have fixed it. The second
            # cell must come from the equation itself: one further out leaves it with one hidden member.
            # When every visible member is zero the hidden one is zero too, whatever else is hidden; the
            # audit below protects the sensitive cells such a zero touches. (Looking further out here once
            # hid a new neighbour on every pass, until a whole organisation-wide distribution was hidden.)
            lone = np.flatnonzero(incidence @ hidden.astype(np.float64) == 1)
            for e in lone.tolist():
                m = members[e]
                if np.count_nonzero(hidden[m]) == 1:
                    choice = smallest_open(m)
                    if choice is not None:
                        hidden[choice] = True
                        reasons[choice] = reasons[choice] or COMPLEMENT
                        changed = True
        # Only what needed protecting counts: a hidden zero or a complementary cell that the equations pin
        # down reveals nothing about the small cells (and the check below still sees it as known).
        determined = [
            c
            for c in _determined(hidden, members, cache, values, exact_bounds=sensitive is not None)
            if (sensitive[c] if sensitive is not None else values[c] != 0)
        ]
        if not determined and sensitive is not None and width_check:
            determined = _pinned_by_bounds(values, hidden, members, sensitive, 0.5, lp_cache)
        if not determined:
            return
        # One more hidden cell next to each determined one, skipping cells whose equations changed in this
        # pass (the determined cells of one chain usually share the fix).
        progress = False
        touched: set[int] = set()
        for cell in determined:
            equations_of = by_cell.get(cell, [])
            if len(touched.intersection(equations_of)) >= 2:
                continue
            pool = np.unique(np.concatenate([members[e] for e in equations_of] or [np.array([], int)]))
            if pool.size and np.all(hidden[pool]):
                # Every neighbour is hidden already: look one step further out.
                further = {e for c in pool for e in by_cell.get(int(c), [])}
                pool = np.unique(np.concatenate([members[e] for e in further]))
            choice = pick(pool) if pool.size else None
            if choice is not None and not hidden[choice]:
                hidden[choice] = True
                reasons[choice] = reasons[choice] or COMPLEMENT
                # Equations that just gained a hidden member may no longer pin their cells: leave those to
                # the next pass instead of hiding more around them now.
                touched.update(by_cell.get(choice, []))
                progress = True
        if not progress:
            # Nothing visible and non-zero next to the determined cells: widen to everything their
            # component of hidden cells touches.
            for cell in determined:
                seen, stack, reachable = {cell}, [cell], set()
                while stack:
                    current = stack.pop()
                    for e in by_cell.get(current, []):
                        for other in members[e]:
                            other = int(other)
                            if hidden[other] and other not in seen:
                                seen.add(other)
                                stack.append(other)
                            elif not hidden[other] and values[other] > 0:
                                reachable.add(other)
                if reachable:
                    choice = min(reachable, key=lambda c: (level[c], values[c], c))
                    hidden[choice] = True
                    reasons[choice] = reasons[choice] or COMPLEMENT
                    progress = True
                    break
        if not progress:
            # Every cell the determined ones are linked to is hidden or zero: what they pin down is a zero.
            return
    raise RuntimeError("complementary suppression did not converge")


def _components(
    hidden: np.ndarray, members: list[np.ndarray]
) -> tuple[dict[int, list[int]], dict[int, list[np.ndarray]]]:
    """Hidden cells grouped into components linked by shared equations, and each component's equations."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    unknown = np.flatnonzero(hidden)
    relevant = []
    heads: list[int] = []
    tails: list[np.ndarray] = []
    for m in members:
        cells = m[hidden[m]]
        if cells.size:
            relevant.append(m)
            heads.append(int(cells[0]))
            tails.append(cells)
    if not tails:
        return {int(c): [int(c)] for c in unknown}, {}
    # Each equation links its hidden cells to its first hidden cell; components of that graph.
    sources = np.concatenate([np.full(t.size, h, dtype=np.int64) for h, t in zip(heads, tails, strict=True)])
    targets = np.concatenate(tails)
    size = hidden.size
    graph = sparse.csr_matrix(
        (np.ones(sources.size), (sources.astype(np.int64), targets)), shape=(size, size)
    )
    _, labels = connected_components(graph, directed=False)
    components: dict[int, list[int]] = {}
    for c in unknown.tolist():
        components.setdefault(int(labels[c]), []).append(c)
    rows_of: dict[int, list[np.ndarray]] = {}
    for head, m in zip(heads, relevant, strict=True):
        rows_of.setdefault(int(labels[head]), []).append(m)
    return components, rows_of


def _pinned_by_bounds(
    values: np.ndarray,
    hidden: np.ndarray,
    members: list[np.ndarray],
    sensitive: np.ndarray,
    tolerance: float,
    cache: dict[tuple[int, ...], list[int]],
) -> list[int]:
    """Sensitive hidden cells whose range a reader can narrow to (almost) one value with linear programming:
    the equations plus the knowledge that counts and amounts are never negative (an upper bound reached
    through a chain of totals pins a cell as surely as an equation does).

    All components are solved together: a few programs push every target up and down along random directions;
    a target that moves is not pinned. Only the targets that never moved get a pair of programs of their own."""
    from scipy import sparse
    from scipy.optimize import linprog

    if not np.any(hidden & sensitive):
        return []
    components, rows_of = _components(hidden, members)
    # No cell exceeds the largest total of the table (every count and amount is part of it): a bound every
    # reader has, and one that keeps the programs bounded when some totals are hidden too.
    box = (0.0, float(np.abs(values).max(initial=0.0)) or 1.0)
    found: list[int] = []
    chosen = []
    for root, cells in components.items():
        if not rows_of.get(root) or not any(sensitive[c] for c in cells):
            continue
        key = tuple(sorted(cells))
        if key in cache:
            found.extend(cache[key])
        else:
            chosen.append((cells, rows_of[root]))
    if not chosen:
        return sorted(found)

    def system(
        parts: list[tuple[list[int], list[np.ndarray]]],
    ) -> tuple[dict[int, int], sparse.csr_matrix, np.ndarray]:
        index: dict[int, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        data: list[float] = []
        rhs: list[float] = []
        for cells, eqs in parts:
            for c in sorted(cells):
                index[c] = len(index)
            for m in eqs:
                r = len(rhs)
                known = 0.0
                for sign, cell in [(-1.0, int(m[0]))] + [(1.0, int(c)) for c in m[1:]]:
                    if cell in index and hidden[cell]:
                        rows.append(r)
                        cols.append(index[cell])
                        data.append(sign)
                    else:
                        known += sign * values[cell]
                rhs.append(-known)
        matrix = sparse.csr_matrix((data, (rows, cols)), shape=(len(rhs), len(index)))
        return index, matrix, np.asarray(rhs)

    moved_cells: set[int] = set()
    remaining = chosen
    rng = np.random.default_rng(sum(len(cells) for cells, _ in chosen))
    for round_ in range(24):
        # Solve only the components that still hold a target that has not moved yet.
        if round_ >= 2:
            remaining = [
                (cells, eqs)
                for cells, eqs in remaining
                if any(sensitive[c] and c not in moved_cells for c in cells)
            ]
            if not remaining:
                break
        if round_ in (0, 2) or round_ % 4 == 0:
            index, a_eq, b_eq = system(remaining)
            targets = np.array([c for cells, _ in remaining for c in cells if sensitive[c]])
            target_idx = np.array([index[int(c)] for c in targets])
        weights = np.zeros(len(index))
        weights[target_idx] = rng.uniform(-1.0, 1.0, size=len(targets))
        up = linprog(-weights, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
        down = linprog(weights, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
        if up.status != 0 or down.status != 0:
            break
        moved = (np.abs(up.x[target_idx] - down.x[target_idx]) > tolerance) | (
            np.abs(up.x[target_idx] - values[targets]) > tolerance
        )
        moved_cells.update(int(c) for c in targets[moved])
    targets_all = [c for cells, _ in chosen for c in cells if sensitive[c]]
    still = {c for c in targets_all if c not in moved_cells}
    for cells, eqs in chosen:
        mine = [c for c in cells if c in still]
        pinned = []
        if mine:
            local, matrix, rhs = system([(cells, eqs)])
            for cell in mine:
                objective = np.zeros(len(local))
                objective[local[cell]] = 1.0
                low = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=box, method="highs")
                high = linprog(-objective, A_eq=matrix, b_eq=rhs, bounds=box, method="highs")
                if low.status == 0 and high.status == 0 and (-high.fun - low.fun) <= tolerance:
                    pinned.append(cell)
        cache[tuple(sorted(cells))] = pinned
        found.extend(pinned)
    return sorted(found)


def _known_zeros(hidden: np.ndarray, members: list[np.ndarray], values: np.ndarray) -> np.ndarray:
    """Hidden cells a reader can still pin to zero: when a published total equals the sum of its published
    parts, every hidden part is zero (counts and amounts are never negative). Repeated until stable.

    Every equation is swept at once with sparse products. Marking cells zero only ever lets more equations
    apply (a zero total counts as known, and fewer open parts remain to check), so the cells reached do not
    depend on the order equations are looked at: this is the same fixed point as one equation at a time."""
    from scipy import sparse

    zero = np.zeros(hidden.shape, dtype=bool)
    if not members:
        return zero
    totals = np.fromiter((int(m[0]) for m in members), dtype=np.int64, count=len(members))
    lengths = np.fromiter((m.size - 1 for m in members), dtype=np.int64, count=len(members))
    part_cells = np.concatenate([m[1:] for m in members]).astype(np.int64)
    parts = sparse.csr_matrix(
        (np.ones(part_cells.size), (np.repeat(np.arange(len(members)), lengths), part_cells)),
        shape=(len(members), hidden.size),
    )
    nonzero = values != 0
    while True:
        open_ = hidden & ~zero
        known_total = ~hidden[totals] | zero[totals]
        open_parts = parts @ open_.astype(np.float64)
        open_nonzero = parts @ (open_ & nonzero).astype(np.float64)
        applies = known_total & (open_parts > 0) & (open_nonzero == 0)
        if not applies.any():
            return zero
        reached = (parts.T @ applies.astype(np.float64)) > 0
        newly = reached & open_
        if not newly.any():
            return zero
        zero |= newly


def _fixed_at_bounds(hidden: np.ndarray, members: list[np.ndarray], values: np.ndarray) -> np.ndarray:
    """Hidden cells every solution of the published equations holds at a bound: at zero (counts and amounts
    are never negative) or at the table's largest value (no cell exceeds it).

    Exact, with one linear program: a hidden cell at a bound can leave it only along a direction d with
    A·d = 0 that keeps every other cell at a bound on its side. Maximising the sum of min(±d_i, 1) over
    those directions gives 1 for each cell that can leave its bound (the cone is convex, so one direction
    does it for all of them at once) and 0 for the cells that are stuck. Cells a simple sweep already pins
    (`_known_zeros`) are taken out first."""
    fixed = _known_zeros(hidden, members, values)
    box = float(np.abs(values).max(initial=0.0))
    open_ = hidden & ~fixed
    at_low = open_ & (values <= 0)
    at_high = open_ & (values >= box) & ~at_low
    if not np.any(at_low | at_high):
        return fixed
    from scipy import sparse
    from scipy.optimize import linprog

    components, rows_of = _components(open_, members)
    index: dict[int, int] = {}
    equations: list[np.ndarray] = []
    for root, cells in components.items():
        if any(at_low[c] or at_high[c] for c in cells):
            for c in sorted(cells):
                index[c] = len(index)
            equations.extend(rows_of.get(root, []))
    bound_cells = [c for c in index if at_low[c] or at_high[c]]
    n_d, n_t = len(index), len(bound_cells)
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    for r, m in enumerate(equations):
        for sign, cell in [(-1.0, int(m[0]))] + [(1.0, int(c)) for c in m[1:]]:
            if cell in index:
                rows.append(r)
                cols.append(index[cell])
                data.append(sign)
    a_eq = sparse.csr_matrix((data, (rows, cols)), shape=(len(equations), n_d + n_t))
    # t_j − s_j·d_j ≤ 0 with s = +1 at zero and −1 at the top: t_j is how far cell j can leave its bound.
    a_ub = sparse.lil_matrix((n_t, n_d + n_t))
    for j, c in enumerate(bound_cells):
        a_ub[j, n_d + j] = 1.0
        a_ub[j, index[c]] = -1.0 if at_low[c] else 1.0
    bounds = [(0.0, None) if at_low[c] else (None, 0.0) if at_high[c] else (None, None) for c in index] + [
        (0.0, 1.0)
    ] * n_t
    objective = np.concatenate([np.zeros(n_d), -np.ones(n_t)])
    result = linprog(
        objective,
        A_ub=a_ub.tocsr(),
        b_ub=np.zeros(n_t),
        A_eq=a_eq,
        b_eq=np.zeros(len(equations)),
        bounds=bounds,
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError("disclosure audit: the bound program did not solve")
    for j, c in enumerate(bound_cells):
        if result.x[n_d + j] < 0.5:
            fixed[c] = True
    return fixed


def _determined(
    hidden: np.ndarray,
    members: list[np.ndarray],
    cache: dict[tuple[int, ...], list[int]] | None = None,
    values: np.ndarray | None = None,
    exact_bounds: bool = False,
) -> list[int]:
    """Hidden cells the published equations pin down exactly (unit vector in the row space), after taking
    out the hidden cells every solution holds at a bound (`values` given; see `_fixed_at_bounds`). With
    those out, the feasible directions span the null space, so this is exact: a cell it does not report can
    move."""
    if values is not None:
        fixed = _fixed_at_bounds if exact_bounds else _known_zeros
        hidden = hidden & ~fixed(hidden, members, values)
    components, rows_of = _components(hidden, members)
    found: list[int] = []
    for root, cells in components.items():
        eqs = rows_of.get(root, [])
        if not eqs:
            continue
        key = tuple(sorted(cells))
        if cache is not None and key in cache:
            found.extend(cache[key])
            continue
        before = len(found)
        index = {c: i for i, c in enumerate(sorted(cells))}
        matrix = np.zeros((len(eqs), len(index)))
        for r, m in enumerate(eqs):
            total = int(m[0])
            if total in index:
                matrix[r, index[total]] -= 1.0
            for c in m[1:]:
                if int(c) in index:
                    matrix[r, index[int(c)]] += 1.0
        # A hidden cell is determined when its unit vector lies in the row space of the equations restricted
        # to the hidden cells: then its squared norm in an orthonormal basis of that row space is 1.
        _, sv, vt = np.linalg.svd(matrix, full_matrices=False)
        rank = int(np.sum(sv > 1e-9 * max(1.0, sv.max(initial=0.0))))
        weight = (vt[:rank] ** 2).sum(axis=0) if rank else np.zeros(len(index))
        for c, i in index.items():
            if weight[i] > 1.0 - 1e-9:
                found.append(c)
        if cache is not None:
            cache[key] = found[before:]
    return sorted(found)


def _may_be_fractional(cube: pl.DataFrame, rule: TableRule) -> bool:
    """Whether the bounds a reader computes for a count may stop short of whole numbers. Tables with one or
    two dims with totals are network matrices and a three-way table with all its margins is too when one of
    its dims has at most two values (the Lawrence lifting of a two-way table): their bounds are whole
    numbers, so a cell that can move at all can move by one person. Otherwise the audit also checks widths."""
    if len(rule.totals) <= 2 or cube.height == 0:
        return False
    if len(rule.totals) > 3:
        return True
    widths = cube.group_by(list(rule.by)).agg(
        [pl.col(d).drop_nulls().n_unique().alias(d) for d in rule.totals]
    )
    return bool(widths.select(pl.min_horizontal(list(rule.totals)).max()).item() > 2)


def protect(
    frame: pl.DataFrame,
    rule: TableRule,
    limits: Thresholds,
    force: pl.DataFrame | None = None,
    audit: bool = True,
    count_only: pl.DataFrame | None = None,
) -> ProtectedTable:
    """The table as it may be published (see the module docstring).

    `force` holds keys (by + dims, null = total) of cells that must be hidden because the same value is
    hidden in another published table; they count as complementary suppressions. `count_only` holds keys of
    forced cells (add them to `force` too) whose count is hidden only because other tables would give a small
    count back from it: their amounts are not hidden with the count but judged by the amount rules on the true
    count (a complement the count's suppression adds still hides its amounts). `audit=False` skips the
    linear-programming audit (for intermediate rounds only: what is published must be audited)."""
    notes: list[str] = []
    missing = [c for c in (*rule.by, *rule.dims, rule.n) if c not in frame.columns]
    if missing:
        raise ValueError(f"table lacks the columns disclosure control needs: {', '.join(missing)}")
    frame = frame.with_columns(pl.col(rule.n).cast(pl.Int64))
    cube = _cube(frame, rule)
    equations = _equations(cube, rule)
    alike = _homogeneous_groups(cube, rule)
    published_rows = cube.height
    if rule.cut_points is not None:
        cut_rows, cut_equations = _cut_point_rows(frame, cube, rule)
        cube = pl.concat([cube, cut_rows], how="diagonal_relaxed")
        equations += cut_equations
        # Another table applies its own everyone-alike rule to the cuts; here only their size matters.
        alike = np.concatenate([alike, np.zeros(cut_rows.height, dtype=bool)])
    n = cube[rule.n].fill_null(0).to_numpy().astype(np.int64)
    reasons = np.array([None] * cube.height, dtype=object)
    hidden = (n > 0) & (n < limits.k)
    reasons[hidden] = SMALL
    alike &= ~hidden
    hidden |= alike
    reasons[alike] = HOMOGENEOUS
    if force is not None and force.height:
        keys = [*rule.by, *rule.dims]
        published = cube.slice(0, published_rows)  # a cut cell is never forced by its key
        # Keys taken from another table may come with other integer widths.
        force = force.select(pl.col(k).cast(cube.schema[k]) for k in keys).unique()
        forced = published.join(force, on=keys, how="semi", nulls_equal=True)[_ROW].to_numpy()
        extra = np.zeros(cube.height, dtype=bool)
        extra[forced] = True
        extra &= ~hidden
        hidden |= extra
        reasons[extra] = COMPLEMENT
    # Forced cells whose amounts stay (see `count_only`): only those not hidden for a reason of their own.
    amounts_free = np.zeros(cube.height, dtype=bool)
    if count_only is not None and count_only.height:
        keys = [*rule.by, *rule.dims]
        published = cube.slice(0, published_rows)
        count_only = count_only.select(pl.col(k).cast(cube.schema[k]) for k in keys).unique()
        amounts_free[published.join(count_only, on=keys, how="semi", nulls_equal=True)[_ROW].to_numpy()] = (
            True
        )
        amounts_free &= reasons == COMPLEMENT
    sensitive = ((n > 0) & (n < limits.k)) | (alike & (n > 0))
    level = cube.select(pl.sum_horizontal(pl.col(d).is_null() for d in rule.dims)).to_series().to_numpy()
    _complement(
        n.astype(float),
        hidden,
        equations,
        reasons,
        sensitive if audit else None,
        _may_be_fractional(cube, rule),
        level=level,
    )

    masks: dict[str, np.ndarray] = {
        c: hidden.copy() for c in [rule.n, *rule.additive, *rule.protect] if c in cube.columns
    }
    flags = [pl.Series(SUPPRESSED, hidden), pl.Series(REASON, reasons.tolist(), dtype=pl.String)]
    for amount in rule.amounts:
        if amount.column not in cube.columns:
            notes.append(f"no column {amount.column}: nothing to publish")
            continue
        total = cube[amount.column].fill_null(0).to_numpy().astype(float)
        people = cube[amount.n_column or rule.n].fill_null(0).to_numpy().astype(np.int64)
        money_hidden = hidden & ~amounts_free
        money_reasons = reasons.copy()
        money_reasons[amounts_free] = None
        few = (people < limits.k_amounts) & (total != 0) & ~money_hidden
        money_hidden |= few
        money_reasons[few] = AMOUNT_SMALL
        if amount.max_column and amount.max_column in cube.columns:
            largest = cube[amount.max_column].fill_null(0).to_numpy().astype(float)
            dominant = (np.abs(largest) > limits.dominance * np.abs(total)) & (total != 0) & ~money_hidden
            money_hidden |= dominant
            money_reasons[dominant] = DOMINANCE
        else:
            notes.append(
                f"{amount.column}: no largest-contribution column, so the {limits.dominance:.0%} dominance "
                f"rule cannot be checked; amounts from fewer than {limits.k_amounts} people are hidden"
            )
        primary = few | (dominant if amount.max_column and amount.max_column in cube.columns else False)
        _complement(
            np.abs(total), money_hidden, equations, money_reasons, primary & (total != 0), level=level
        )
        for column in (amount.column, *amount.protect):
            if column in cube.columns:
                masks[column] = masks[column] | money_hidden if column in masks else money_hidden.copy()
        flags.append(pl.Series(amount_flag(amount.column), money_hidden))

    nulls = [pl.when(pl.Series(mask)).then(None).otherwise(pl.col(c)).alias(c) for c, mask in masks.items()]
    out = cube.with_columns(nulls).with_columns(flags)
    cut_points = None
    if rule.cut_points is not None:
        cut_points = out.slice(published_rows).select(
            *rule.by, *rule.dims, pl.col(_CUT_SIDE).alias("has"), rule.n, SUPPRESSED
        )
        out = out.slice(0, published_rows).drop(_CUT_SIDE)
    out = out.drop(_ROW)
    drop = set(_max_columns(rule))
    if rule.keep is not None:
        wanted = [c for c in rule.keep if c in out.columns and c not in drop]
        absent = [c for c in rule.keep if c not in out.columns]
        if absent:
            notes.append(f"columns not in the mart: {', '.join(absent)}")
        extra_flags = [c for c in out.columns if c in (SUPPRESSED, REASON) or c.startswith("suppressed_")]
        out = out.select(list(dict.fromkeys([*rule.by, *rule.dims, *wanted, *extra_flags])))
    else:
        out = out.drop([c for c in drop if c in out.columns])
    out = out.sort([*rule.by, *rule.dims], nulls_last=True)
    return ProtectedTable(
        frame=out,
        notes=notes,
        cells=published_rows,
        hidden=int(hidden[:published_rows].sum()),
        cut_points=cut_points,
    )


__all__ = [
    "AMOUNT_SMALL",
    "COMPLEMENT",
    "DOMINANCE",
    "HOMOGENEOUS",
    "REASON",
    "SMALL",
    "SUPPRESSED",
    "Amount",
    "ProtectedTable",
    "TableRule",
    "Thresholds",
    "amount_flag",
    "protect",
]


# ==============================================================================================================
# What the site publishes: one protected table per entry, built from whitelisted database tables
# ==============================================================================================================
#
# Every published table is built from the marts by a function below, per organisation (with that
# organisation's thresholds), and protected with a TableRule. Derived statistics (means, tests, funnel
# positions) are only published for units whose whole rating distribution is visible in the protected
# `ratings` table, so they add nothing an attacker could not already compute from it.

SEP = " × "  # models.calibration: the unit of a department × function level grouping is "department × level"
DEPARTMENT_TOTAL = "(totaal)"  # models.budget: the organisation row of the budget marts

# Database tables the publish step reads (each through the query in pipelines/assets/publish.py).
PUBLISHED_TABLES = (
    "audit.load_ledger",
    "audit.contract_results",
    "marts.quarantine_summary",
    "marts.rating_distribution",
    "marts.unit_deviation",
    "marts.evaluator_leniency",
    "marts.rating_transitions",
    "marts.rating_drift",
    "marts.calibration_worklist",
    "marts.fairness",
    "marts.fairness_strata",
    "marts.pay_transparency",
    "marts.budget",
    "marts.budget_by_type",
    "marts.budget_forecast",
    "marts.budget_whatif",
    "marts.process_status",
    "marts.compliance_findings",
    "marts.calibration_impact",
    "marts.calibration_distribution",
    "marts.calibration_moves",
    "marts.calibration_spread",
    "staging.evaluations",  # only as evaluator → main department (an aggregate; see the publish query)
)
# Counts of files and rows: nothing about a person; published as they are.
PASS_THROUGH = ("audit.load_ledger", "audit.contract_results", "marts.quarantine_summary")
# Row-level and marked confidential on the site; left out with include_worklist=False.
CONFIDENTIAL = ("worklist",)
EVALUATOR_DEPARTMENTS = "staging.evaluations"


class Missing(Exception):
    """A source lacks a table or a column the published table needs (said in the notes, never fatal)."""


def _need(sources: dict[str, pl.DataFrame], name: str, columns: Iterable[str]) -> pl.DataFrame:
    frame = sources.get(name)
    if frame is None:
        raise Missing(f"{name} is not in the database (yet)")
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise Missing(f"{name} lacks column(s) {', '.join(absent)}")
    return frame


def _hide(frame: pl.DataFrame, mask: pl.Expr, columns: Iterable[str]) -> pl.DataFrame:
    return frame.with_columns(
        [pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in columns if c in frame.columns]
    )


# ---------------------------------------------------------------------------------------------- calibration
RATING_MEASURE = "rating"  # marts.rating_distribution: the performance rating (the other: salary decisions)
RATINGS_RULE = TableRule(
    by=("organization", "cycle", "measure"),
    dims=("department", "function_level", "rating"),
    n="n",
    totals=("department", "function_level", "rating"),
    category="rating",
    complete=True,
    # The fairness page's "rated at least ..." rates per function level and for the organisation.
    cut_points=CutPoints(
        order="position", rows=pl.col("department").is_null() & (pl.col("measure") == RATING_MEASURE)
    ),
)
UNRATED_METRIC = "ratings_missing"  # marts.process_status: people of a department without a rating


def _unrated_departments(sources: dict[str, pl.DataFrame], limits: Thresholds) -> pl.DataFrame:
    """Departments whose people without a rating number 1 to k−1: the process page hides that count, and its
    department size minus the rated total of `ratings` would give it back, so `ratings` hides that total."""
    ps = sources.get("marts.process_status")
    schema = {"organization": pl.String, "cycle": pl.Int64, "department": pl.String}
    if ps is None or not {*schema, UNRATED_METRIC} <= set(ps.columns):
        return pl.DataFrame(schema=schema)
    unrated = pl.col(UNRATED_METRIC).fill_null(0)
    return (
        ps.filter((unrated > 0) & (unrated < limits.k) & pl.col("department").is_not_null())
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


def _unrated_organization_sizes(sources: dict[str, pl.DataFrame], limits: Thresholds) -> pl.DataFrame:
    """Sizes to hide where an organisation × cycle's people without a rating number 1 to k−1 (the sum of the
    departments' counts): its size (department null) on the process page and in the budget's headcount minus
    its rated total in `ratings` (kept: it carries the calibration and fairness pages) would give that count
    back. The organisation size is also the sum of the department sizes, so one department size is hidden with
    it, chosen here so that the process page and the budget hide the same one (each table's own complement
    goes by size and row position, which need not agree, and a size shown in one table gives the other's
    back): the smallest department (then by name) whose own unrated count is 1 to k−1, whose rated total
    `ratings` hides already and whose unrated count the process page hides already, so no department that had
    nothing hidden loses a cell. Keys: organization, cycle, department (null = the organisation)."""
    schema = {"organization": pl.String, "cycle": pl.Int64, "department": pl.String}
    ps = sources.get("marts.process_status")
    if ps is None or not {*schema, "n", UNRATED_METRIC} <= set(ps.columns):
        return pl.DataFrame(schema=schema)
    rows = ps.filter(pl.col("department").is_not_null()).with_columns(
        pl.col(UNRATED_METRIC).fill_null(0).alias("_u"), pl.col("cycle").cast(pl.Int64)
    )
    small = (
        rows.group_by("organization", "cycle")
        .agg(pl.col("_u").sum().alias("_total"))
        .filter((pl.col("_total") > 0) & (pl.col("_total") < limits.k))
        .select("organization", "cycle")
    )
    if small.height == 0:
        return pl.DataFrame(schema=schema)
    department = (
        rows.join(small, on=["organization", "cycle"])
        .filter(pl.col("_u") > 0)
        .sort("organization", "cycle", "n", "department")
        .group_by("organization", "cycle", maintain_order=True)
        .agg(pl.col("department").first())
    )
    everyone = small.with_columns(pl.lit(None, dtype=pl.String).alias("department"))
    return pl.concat([everyone.select(list(schema)), department.select(list(schema))]).cast(schema)  # type: ignore[arg-type]


def _ratings(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Rating counts per department × function level × rating, with every total (null = all)."""
    rd = _need(
        sources,
        "marts.rating_distribution",
        ("organization", "cycle", "measure", "grouping", "unit", "rating", "count"),
    )
    cells = (
        rd.filter(pl.col("grouping") == "department_function_level")
        .with_columns(
            pl.col("unit").str.extract(r"(?s)^(.*) × ([^×]*)$", 1).alias("department"),
            pl.col("unit").str.extract(r"(?s)^(.*) × ([^×]*)$", 2).alias("function_level"),
            pl.col("count").alias("n"),
        )
        .filter(pl.col("department").is_not_null() & pl.col("function_level").is_not_null())
        .select("organization", "cycle", "measure", "department", "function_level", "rating", "n", "position")
    )
    force = (
        _unrated_departments(sources, limits)
        .with_columns(pl.lit(RATING_MEASURE).alias("measure"))
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("function_level"),
            pl.lit(None, dtype=pl.String).alias("rating"),
        )
    )
    protected = protect(cells, RATINGS_RULE, limits, force=force)
    frame = protected.frame.drop("position")
    units = frame.filter(pl.col("rating").is_null()).select(
        "organization", "cycle", "measure", "department", "function_level", pl.col("n").alias("unit_n")
    )
    frame = frame.join(
        units,
        on=["organization", "cycle", "measure", "department", "function_level"],
        how="left",
        nulls_equal=True,
    ).with_columns(
        pl.when(pl.col("n").is_not_null() & (pl.col("unit_n") > 0))
        .then(pl.col("n") / pl.col("unit_n"))
        .alias("share")
    )
    # A unit is "visible" when its whole distribution and its n are shown.
    visible = (
        frame.filter(pl.col("rating").is_not_null())
        .group_by(["organization", "cycle", "measure", "department", "function_level"])
        .agg((~pl.col(SUPPRESSED)).all().alias("_all"))
    )
    frame = (
        frame.join(
            visible,
            on=["organization", "cycle", "measure", "department", "function_level"],
            how="left",
            nulls_equal=True,
        )
        .with_columns((pl.col("_all").fill_null(True) & pl.col("unit_n").is_not_null()).alias("unit_visible"))
        .drop("_all")
    )
    protected.frame = frame.sort(
        ["organization", "cycle", "measure", "department", "function_level", "rating"], nulls_last=True
    )
    return protected


def _rating_scale(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Codes, order, labels and guideline of each scale (policy facts, no data)."""
    rd = _need(
        sources, "marts.rating_distribution", ("organization", "measure", "grouping", "rating", "position")
    )
    keep = [
        c
        for c in ("organization", "measure", "rating", "position", "label_nl", "label_en", "guideline_share")
        if c in rd.columns
    ]
    frame = (
        rd.filter(pl.col("grouping") == "organization")
        .select(keep)
        .unique(["organization", "measure", "rating"])
        .sort("organization", "measure", "position")
    )
    return ProtectedTable(frame=frame, cells=frame.height)


def _unit_visibility(done: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """(organization, cycle, measure, grouping, unit, unit_visible) of departments and function levels."""
    ratings = done.get("ratings")
    if ratings is None or ratings.height == 0:
        return pl.DataFrame(
            schema={
                "organization": pl.String,
                "cycle": pl.Int64,
                "measure": pl.String,
                "grouping": pl.String,
                "unit": pl.String,
                "unit_visible": pl.Boolean,
            }
        )
    totals = ratings.filter(pl.col("rating").is_null())
    dept = totals.filter(pl.col("department").is_not_null() & pl.col("function_level").is_null()).select(
        "organization",
        "cycle",
        "measure",
        pl.lit("department").alias("grouping"),
        pl.col("department").alias("unit"),
        "unit_visible",
    )
    level = totals.filter(pl.col("department").is_null() & pl.col("function_level").is_not_null()).select(
        "organization",
        "cycle",
        "measure",
        pl.lit("function_level").alias("grouping"),
        pl.col("function_level").alias("unit"),
        "unit_visible",
    )
    return pl.concat([dept, level])


def _homogeneous_evaluators(sources: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Evaluators all of whose people got the same code this cycle (never published; used to hide them)."""
    rd = sources.get("marts.rating_distribution")
    schema = {
        "organization": pl.String,
        "cycle": pl.Int64,
        "measure": pl.String,
        "evaluator_id": pl.String,
        "_alike": pl.Boolean,
    }
    if rd is None or not {"grouping", "unit", "count"} <= set(rd.columns):
        return pl.DataFrame(schema=schema)
    return (
        rd.filter(pl.col("grouping") == "evaluator")
        .group_by("organization", "cycle", "measure", "unit")
        .agg(((pl.col("count") > 0).sum() <= 1).alias("_alike"))
        .rename({"unit": "evaluator_id"})
        .cast(schema)  # type: ignore[arg-type]
    )


UNIT_COLUMNS = (
    "organization", "cycle", "measure", "grouping", "unit", "n", "adjusted_mean", "org_mean", "funnel_sd",
    "funnel_lo_95", "funnel_hi_95", "funnel_lo_998", "funnel_hi_998", "funnel_position", "effect_size",
    "q_value", "q_adjusted", "status", "flag", "direction", "differentiation", "org_differentiation",
)  # fmt: skip
UNIT_STATS = [
    c
    for c in UNIT_COLUMNS
    if c
    not in ("organization", "cycle", "measure", "grouping", "unit", "org_mean", "org_differentiation", "n")
]


def _units(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Department and function-level deviation (funnel) for units whose distribution is visible (only the
    flag and its direction otherwise); the differentiation index of evaluators with at least k people who did
    not all get the same rating."""
    ud = _need(sources, "marts.unit_deviation", ("organization", "cycle", "measure", "grouping", "unit", "n"))
    ud = ud.filter(pl.col("grouping").is_in(["department", "function_level", "evaluator"]))
    ud = ud.select([c for c in UNIT_COLUMNS if c in ud.columns])
    units = (
        ud.filter(pl.col("grouping") != "evaluator")
        .join(_unit_visibility(done), on=["organization", "cycle", "measure", "grouping", "unit"], how="left")
        .with_columns(pl.col("unit_visible").fill_null(False))
    )
    # A hidden unit keeps only its verdict (flagged, higher or lower): a yes/no from a test on at least
    # metrics.min_n_flag people, with no number a reader could put into an equation.
    verdict = ("flag", "direction", "status")
    units = (
        _hide(units, ~pl.col("unit_visible"), [*(c for c in UNIT_STATS if c not in verdict), "n"])
        .with_columns((~pl.col("unit_visible")).alias(SUPPRESSED))
        .drop("unit_visible")
    )
    alike = _homogeneous_evaluators(sources).rename({"evaluator_id": "unit"})
    evaluators = ud.filter(pl.col("grouping") == "evaluator").join(
        alike, on=["organization", "cycle", "measure", "unit"], how="left"
    )
    hidden = (pl.col("n") < limits.k) | pl.col("_alike").fill_null(True)
    # Evaluators: only the (non-linear) differentiation index; means would add equations on hidden cells.
    evaluators = _hide(evaluators, pl.lit(True), [c for c in UNIT_STATS if c != "differentiation"])
    evaluators = _hide(
        evaluators.with_columns(hidden.alias(SUPPRESSED)), pl.col(SUPPRESSED), ["differentiation", "n"]
    ).drop("_alike")
    frame = pl.concat([units, evaluators], how="diagonal_relaxed")
    return ProtectedTable(frame=frame, cells=frame.height, hidden=int(frame[SUPPRESSED].sum()))


LENIENCY_RULE = TableRule(
    by=("organization", "cycle", "measure"),
    dims=("evaluator_id",),
    n="n_cycle",
    totals=("evaluator_id",),
    protect=(
        "n",
        "effect",
        "ci_lo",
        "ci_hi",
        "effect_sd",
        "is_linked",
        "assessment",
        "flag",
        "component_size",
    ),
    homogeneous=pl.col("_alike"),
)


def _leniency(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Evaluator effects (shrunk, with interval) of evaluators with at least k people this cycle who did not
    all get the same rating; complementary suppression over the evaluators of the organisation."""
    cols = ("organization", "cycle", "measure", "evaluator_id", "n_cycle", "effect", "ci_lo", "ci_hi")
    le = _need(sources, "marts.evaluator_leniency", cols)
    keep = [
        c
        for c in (*cols, "n", "effect_sd", "is_linked", "assessment", "flag", "component_size")
        if c in le.columns
    ]
    le = le.select(keep).join(
        _homogeneous_evaluators(sources), on=["organization", "cycle", "measure", "evaluator_id"], how="left"
    )
    le = le.with_columns(pl.col("_alike").fill_null(False))
    protected = protect(le, LENIENCY_RULE, limits)
    frame = protected.frame.filter(pl.col("evaluator_id").is_not_null()).drop("_alike", strict=False)
    departments = sources.get(EVALUATOR_DEPARTMENTS)
    if departments is not None and {"organization", "cycle", "evaluator_id", "department"} <= set(
        departments.columns
    ):
        frame = frame.join(
            departments.select("organization", "cycle", "evaluator_id", "department"),
            on=["organization", "cycle", "evaluator_id"],
            how="left",
        )
    else:
        protected.notes.append(
            "evaluator_leniency has no department: evaluators cannot be placed in calibration packs"
        )
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("department"))
    protected.frame = frame
    return protected


TRANSITIONS_RULE = TableRule(
    by=("organization", "measure", "from_cycle", "to_cycle"),
    dims=("from_rating", "to_rating"),
    n="count",
    totals=("from_rating", "to_rating"),
    category="to_rating",
    complete=True,
)


def _transitions(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """How the people rated in both of two consecutive cycles moved between codes."""
    cols = ("organization", "measure", "from_cycle", "to_cycle", "from_rating", "to_rating", "count")
    tr = _need(sources, "marts.rating_transitions", cols).select(cols)
    protected = protect(tr, TRANSITIONS_RULE, limits)
    frame = protected.frame
    rows = frame.filter(pl.col("to_rating").is_null()).select(
        "organization", "measure", "from_cycle", "to_cycle", "from_rating", pl.col("count").alias("row_n")
    )
    protected.frame = frame.join(
        rows,
        on=["organization", "measure", "from_cycle", "to_cycle", "from_rating"],
        how="left",
        nulls_equal=True,
    ).with_columns(
        pl.when(pl.col("count").is_not_null() & (pl.col("row_n") > 0))
        .then(pl.col("count") / pl.col("row_n"))
        .alias("share"),
        pl.col("to_cycle").alias("cycle"),
    )
    return protected


DRIFT_COLUMNS = (
    "organization", "measure", "grouping", "unit", "from_cycle", "to_cycle", "n_from", "n_to", "mean_from",
    "mean_to", "drift", "drift_lo", "drift_hi", "trend", "n_stayers", "mean_change_stayers", "change_se_stayers",
)  # fmt: skip


def _drift(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Change of the mean score between consecutive cycles: the organisation, and departments whose
    distributions are visible in both cycles (their means follow from those distributions)."""
    dr = _need(
        sources,
        "marts.rating_drift",
        ("organization", "measure", "grouping", "unit", "from_cycle", "to_cycle", "drift"),
    )
    dr = dr.select([c for c in DRIFT_COLUMNS if c in dr.columns]).filter(
        pl.col("grouping").is_in(["organization", "department"])
    )
    vis = _unit_visibility(done).filter(pl.col("grouping") == "department")
    dr = dr.join(
        vis.select(
            "organization",
            "measure",
            "unit",
            pl.col("cycle").alias("from_cycle"),
            pl.col("unit_visible").alias("_vf"),
        ),
        on=["organization", "measure", "unit", "from_cycle"],
        how="left",
    ).join(
        vis.select(
            "organization",
            "measure",
            "unit",
            pl.col("cycle").alias("to_cycle"),
            pl.col("unit_visible").alias("_vt"),
        ),
        on=["organization", "measure", "unit", "to_cycle"],
        how="left",
    )
    org = pl.col("grouping") == "organization"
    shown = org | (pl.col("_vf").fill_null(False) & pl.col("_vt").fill_null(False))
    stats_cols = ["n_from", "n_to", "mean_from", "mean_to", "drift", "drift_lo", "drift_hi", "trend"]
    frame = _hide(dr, ~shown, stats_cols).with_columns((~shown).alias(SUPPRESSED))
    # Stayers are a subset nobody else publishes: only organisation-wide, and only from k people.
    frame = _hide(
        frame,
        ~org | (pl.col("n_stayers").fill_null(0) < limits.k),
        ["n_stayers", "mean_change_stayers", "change_se_stayers"],
    )
    frame = frame.drop("_vf", "_vt").with_columns(pl.col("to_cycle").alias("cycle"))
    return ProtectedTable(frame=frame, cells=frame.height, hidden=int(frame[SUPPRESSED].sum()))


WORKLIST_COLUMNS = (
    "organization", "cycle", "department", "employee_id", "evaluator_id", "function_level", "measure", "rating",
    "previous_rating", "reason_code", "rule", "reason_nl", "reason_en",
)  # fmt: skip


def _worklist(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The calibration worklist: pseudonymised cases for the meeting (confidential; no names, no raw ids)."""
    wl = _need(
        sources,
        "marts.calibration_worklist",
        ("organization", "cycle", "department", "employee_id", "reason_code"),
    )
    frame = wl.select([c for c in WORKLIST_COLUMNS if c in wl.columns])
    return ProtectedTable(
        frame=frame, cells=frame.height, notes=["row-level and confidential: pseudonymised ids only"]
    )


# ---------------------------------------------------------------------------------------------- fairness
FAIRNESS_RULE = TableRule(
    by=("organization", "cycle", "outcome", "attribute"),
    dims=("stratum", "group_value", "has"),
    n="n",
    totals=("stratum", "group_value", "has"),
    category="has",
    complete=True,
)
FAIRNESS_STATS = (
    "rate_ci_low", "rate_ci_high", "reference_rate", "difference", "ratio", "adverse_impact_ratio", "adverse_impact",
    "test", "p_value", "q_value", "odds_ratio", "standardised_difference",
    "odds_ratio_ci_low", "odds_ratio_ci_high", "z_statistic", "z_p_value",
    *(
        f"{within}_{stat}"
        for within in ("within_level", "within_department")
        for stat in (
            "odds_ratio", "ci_low", "ci_high", "p_value", "q_value", "cmh_statistic", "cmh_statistic_corrected",
            "p_value_corrected", "homogeneity_statistic", "homogeneity_df", "homogeneity_p", "strata",
            "reverses", "heterogeneous",
        )
    ),
    "flag", "finding_nl", "finding_en",
)  # fmt: skip
FAIRNESS_LABELS = (
    "outcome_kind",
    "favourable",
    "outcome_label_nl",
    "outcome_label_en",
    "is_reference",
    "reference_group",
)
# Statistics of a continuous outcome (reward percentages): published per group, hidden with its amount.
CONTINUOUS_STATS = (
    "mean", "median", "sd", "difference", "p_value", "q_value", "rank_biserial", "standardised_difference",
    "within_level_p_value", "within_level_q_value", "within_department_p_value", "within_department_q_value",
    "flag", "finding_nl", "finding_en",
)  # fmt: skip
CONTINUOUS_RULE = TableRule(
    by=("organization", "cycle", "outcome", "attribute"),
    dims=("group_value",),
    n="n",
    totals=("group_value",),
    amounts=(Amount("_sum", protect=CONTINUOUS_STATS),),
    homogeneous=pl.col("sd").fill_null(0) == 0,
)


CUBE_KEYS = ["organization", "cycle", "outcome", "attribute", "stratum", "group_value", "has"]
AT_LEAST = "rating_at_least_"  # models.fairness: outcome "rated at least <code>", a cut point of `ratings`
LOWEST = "lowest_rating"  # models.fairness: the policy's lowest codes (below some cut point, when a prefix)
LEVEL = "function_level"


def _outcome_aliases(cells: pl.DataFrame) -> pl.DataFrame:
    """(organization, cycle, outcome, alias, swap): outcomes that count the same people in every cell of the
    cube, `swap` when one's "yes" is the other's "no" (the lowest rating is the "no" of "rated at least" the
    next code). The mart does not say which codes an outcome counts, so the cells decide."""
    shape = cells.group_by("organization", "cycle", "outcome").agg(pl.len().alias("_cells"))
    pairs = []
    for swap in (False, True):
        other = cells.with_columns(
            pl.col("has").replace({"yes": "no", "no": "yes"}) if swap else pl.col("has"),
        ).rename({"outcome": "alias", "n": "_n"})
        matched = (
            cells.join(other, on=[k for k in CUBE_KEYS if k != "outcome"], nulls_equal=True)
            .filter(pl.col("outcome") < pl.col("alias"))
            .group_by("organization", "cycle", "outcome", "alias")
            .agg(pl.len().alias("_matched"), (pl.col("n") == pl.col("_n")).all().alias("_equal"))
            .join(shape, on=["organization", "cycle", "outcome"])
            .filter(pl.col("_equal") & (pl.col("_matched") == pl.col("_cells")))
        )
        pairs.append(matched.select("organization", "cycle", "outcome", "alias", pl.lit(swap).alias("swap")))
    return pl.concat(pairs)


def _same_cells(keys: pl.DataFrame, aliases: pl.DataFrame, stratification: str = LEVEL) -> pl.DataFrame:
    """Cube cells (CUBE_KEYS) that hold the same number, labelled by `_same`: a cell hidden in one place and
    shown in another would give the hidden one back, so each label is hidden everywhere or nowhere.

    * a group's size (over all strata) is the same in every outcome;
    * a function level's counts are its group in the function-level cube and the stratum total in every other
      attribute's (the organisation's: its grand total in each), for every outcome; in the cube stratified by
      department (`stratification`), the same holds for a department and the department attribute;
    * an outcome and its alias (`_outcome_aliases`) share every cell."""
    canonical = keys.join(
        aliases.select(
            "organization",
            "cycle",
            pl.col("alias").alias("outcome"),
            pl.col("outcome").alias("_o"),
            pl.col("swap").alias("_swap"),
        ),
        on=["organization", "cycle", "outcome"],
        how="left",
    ).with_columns(
        pl.col("_o").fill_null(pl.col("outcome")).alias("_outcome"),
        pl.when(pl.col("_swap").fill_null(False))
        .then(pl.col("has").replace({"yes": "no", "no": "yes"}))
        .otherwise(pl.col("has"))
        .alias("_has"),
    )

    def label(kind: str, *columns: str | pl.Expr) -> pl.Expr:
        """One string per set of same cells (null parts kept apart from any value)."""
        parts = [pl.col(c) if isinstance(c, str) else c for c in columns]
        return pl.concat_str(
            [pl.lit(kind), *(p.cast(pl.String).fill_null("\x00") for p in parts)], separator="\x1f"
        ).alias("_same")

    sizes = canonical.filter(
        pl.col("stratum").is_null() & pl.col("has").is_null() & pl.col("group_value").is_not_null()
    ).with_columns(label("size", "organization", "cycle", "attribute", "group_value"))
    own = pl.col("attribute") == stratification
    level = pl.when(own).then(pl.col("group_value")).otherwise(pl.col("stratum"))
    levels = canonical.filter(own | pl.col("group_value").is_null()).with_columns(
        label("level", "organization", "cycle", "_outcome", level, "_has")
    )
    aliased = canonical.filter(pl.col("_outcome") != pl.col("outcome")).with_columns(
        label(
            "alias",
            "organization",
            "cycle",
            "_outcome",
            "attribute",
            "stratum",
            "group_value",
            "_has",
        )
    )
    originals = canonical.join(
        aliased.select("organization", "cycle", pl.col("_outcome").alias("outcome")).unique(),
        on=["organization", "cycle", "outcome"],
        how="semi",
    ).with_columns(
        label("alias", "organization", "cycle", "outcome", "attribute", "stratum", "group_value", "has")
    )
    return pl.concat([part.select(*CUBE_KEYS, "_same") for part in (sizes, levels, aliased, originals)])


def _fairness_cube(
    cells: pl.DataFrame,
    binary: pl.DataFrame,
    limits: Thresholds,
    force: pl.DataFrame,
    stratification: str = LEVEL,
) -> ProtectedTable:
    """Protect the rate cube with the cells `force` holds (hidden in `ratings`) hidden. Then hide alike what
    counts the same people (`_same_cells`), and where a group's overall rate is hidden but its reference
    group's is shown (or the other way round), hide both: a published comparison (odds ratio) and one visible
    rate would give the hidden rate back. Repeated until nothing changes."""
    keys = ["organization", "cycle", "outcome", "attribute", "group_value"]
    result = protect(cells, FAIRNESS_RULE, limits, force=force, audit=False)
    same = _same_cells(result.frame.select(CUBE_KEYS), _outcome_aliases(cells), stratification)
    pairs = (
        binary.filter(
            pl.col("reference_group").is_not_null() & (pl.col("group_value") != pl.col("reference_group"))
        )
        .select(*keys, "reference_group")
        .unique()
        if "reference_group" in binary.columns
        else pl.DataFrame(schema={**{k: binary.schema[k] for k in keys}, "reference_group": pl.String})
    )
    audited = False
    for _ in range(20):
        hidden = result.frame.filter(pl.col(SUPPRESSED)).select(CUBE_KEYS)
        status = (
            result.frame.filter(pl.col("stratum").is_null() & pl.col("has").is_not_null())
            .group_by(keys)
            .agg(pl.col(SUPPRESSED).any().alias("_hidden"))
        )
        mixed = (
            pairs.join(status, on=keys, how="inner")
            .join(
                status.rename({"group_value": "reference_group", "_hidden": "_ref_hidden"}),
                on=["organization", "cycle", "outcome", "attribute", "reference_group"],
                how="inner",
            )
            .filter(pl.col("_hidden") != pl.col("_ref_hidden"))
        )
        groups = pl.concat(
            [mixed.select(*keys), mixed.select(*keys[:4], pl.col("reference_group").alias("group_value"))]
        ).unique()
        comparisons = (
            groups.join(pl.DataFrame({"has": ["yes", "no"]}), how="cross")
            .with_columns(pl.lit(None, dtype=pl.String).alias("stratum"))
            .select(CUBE_KEYS)
        )
        labels = same.join(hidden, on=CUBE_KEYS, how="semi", nulls_equal=True).select("_same").unique()
        alike = same.join(labels, on="_same", how="semi").select(CUBE_KEYS)
        wanted = pl.concat([comparisons, alike]).join(hidden, on=CUBE_KEYS, how="anti", nulls_equal=True)
        if wanted.height == 0:
            if audited:
                break
            # Settled without the audit: one audited round, which may hide more (then round again).
            result = protect(cells, FAIRNESS_RULE, limits, force=force)
            audited = True
            continue
        force = pl.concat([force, wanted]).unique()
        result = protect(cells, FAIRNESS_RULE, limits, force=force, audit=False)
        audited = False
    if not audited:
        result = protect(cells, FAIRNESS_RULE, limits, force=force)
    return result


def _hidden_in_ratings_cut_points(done: dict[str, pl.DataFrame], cells: pl.DataFrame) -> pl.DataFrame:
    """Cells of the function-level cube (CUBE_KEYS) whose number `ratings` hides: a level's (or the
    organisation's) size and its counts at or above / below a code, for the outcomes "rated at least <code>".
    A rating outcome that is no cut point and no alias of one (see `_outcome_aliases`) is hidden for every level
    whose distribution `ratings` does not show whole."""
    ratings = done.get("ratings")
    cut_points = done.get("ratings_cut_points")
    if ratings is None or cut_points is None:
        return cells.head(0).select(CUBE_KEYS)
    ratings, cut_points = (t.cast({"cycle": cells.schema["cycle"]}) for t in (ratings, cut_points))
    mine = (pl.col("measure") == RATING_MEASURE) & pl.col("department").is_null()
    outcomes = cells.select("organization", "cycle", "outcome").unique()
    cuts = cut_points.filter(mine & pl.col(SUPPRESSED)).select(
        "organization",
        "cycle",
        (pl.lit(AT_LEAST) + pl.col("rating")).alias("outcome"),
        pl.col("function_level").alias("group_value"),
        "has",
    )
    rows = ratings.filter(mine & pl.col("rating").is_null())
    rating_outcomes = outcomes.filter(
        pl.col("outcome").str.starts_with(AT_LEAST) | (pl.col("outcome") == LOWEST)
    )
    sizes = (
        rows.filter(pl.col(SUPPRESSED))
        .select(
            "organization",
            "cycle",
            pl.col("function_level").alias("group_value"),
            pl.lit(None, dtype=pl.String).alias("has"),
        )
        .join(rating_outcomes, on=["organization", "cycle"])
    )
    aliases = _outcome_aliases(cells)
    uncut = rating_outcomes.filter(~pl.col("outcome").str.starts_with(AT_LEAST)).join(
        aliases.filter(pl.col("alias").str.starts_with(AT_LEAST)).select("organization", "cycle", "outcome"),
        on=["organization", "cycle", "outcome"],
        how="anti",
    )
    blurred = (
        rows.filter(~pl.col("unit_visible"))
        .select("organization", "cycle", pl.col("function_level").alias("group_value"))
        .join(uncut, on=["organization", "cycle"])
        .join(pl.DataFrame({"has": ["yes", "no"]}), how="cross")
    )
    wanted = pl.concat([cuts, sizes, blurred], how="diagonal_relaxed").join(
        outcomes, on=["organization", "cycle", "outcome"], how="semi"
    )
    return wanted.with_columns(
        pl.lit(LEVEL).alias("attribute"), pl.lit(None, dtype=pl.String).alias("stratum")
    ).select(CUBE_KEYS)


def _rates(groups: pl.DataFrame, yes: pl.DataFrame, no_hidden: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """A group's size (`group_n`), its "yes" count and whether its "no" cell is hidden, as one row per group
    with the rate; the rate is hidden when any of the three is (a visible rate would give the others back)."""
    return (
        groups.join(yes, on=keys, how="left", nulls_equal=True)
        .join(no_hidden, on=keys, how="left", nulls_equal=True)
        .with_columns(
            (
                pl.col("count").is_null() | pl.col("group_n").is_null() | pl.col("_no_hidden").fill_null(True)
            ).alias(SUPPRESSED)
        )
        .with_columns(
            pl.when(~pl.col(SUPPRESSED) & (pl.col("group_n") > 0))
            .then(pl.col("count") / pl.col("group_n"))
            .alias("rate")
        )
        .drop("_no_hidden")
    )


def _fairness_cells(
    binary: pl.DataFrame, strata: pl.DataFrame | None, stratification: str, cols: tuple[str, ...]
) -> pl.DataFrame:
    """The yes/no cells (CUBE_KEYS + n) of one stratification's cube: each attribute's groups per stratum.
    Attributes without strata of this kind (the stratification's own attribute; function level inside
    departments, whose cells are a level's by name) get one stratum, the whole organisation."""
    keys = ["organization", "cycle", "outcome", "attribute"]
    if strata is not None and {"stratum_type", "stratum", *cols} <= set(strata.columns):
        base = strata.filter(
            (pl.col("stratum_type") == stratification)
            & (pl.col("outcome_kind") == "binary")
            & ((pl.col("attribute") != LEVEL) | (pl.lit(stratification) == LEVEL))
        ).select(*keys, "stratum", "group_value", "n", "count")
        missing = binary.join(base.select(keys).unique(), on=keys, how="anti")
        base = pl.concat(
            [base, missing.select(*keys, pl.lit("(all)").alias("stratum"), "group_value", "n", "count")]
        )
    else:
        base = binary.select(*keys, pl.lit("(all)").alias("stratum"), "group_value", "n", "count")
    return pl.concat(
        [
            base.select(*base.columns[:6], pl.lit("yes").alias("has"), pl.col("count").alias("n2")),
            base.select(
                *base.columns[:6], pl.lit("no").alias("has"), (pl.col("n") - pl.col("count")).alias("n2")
            ),
        ]
    ).select(*CUBE_KEYS, pl.col("n2").alias("n"))


STRATIFICATIONS = ("function_level", "department")  # models.fairness.STRATA: the published `scope`s within


def _fairness_cubes(
    binary: pl.DataFrame, strata: pl.DataFrame | None, limits: Thresholds, done: dict[str, pl.DataFrame]
) -> tuple[ProtectedTable, pl.DataFrame]:
    """The rate cube of each stratification, protected so that their shared cells (the overall rows: the
    totals over the strata are the same people in both) are hidden alike: a cell hidden in one and shown in
    the other would give it back. Repeated until the overall hidden cells agree. Returns the first cube's
    result (with the notes) and all cells with a `stratification` column."""
    cols = ("organization", "cycle", "outcome", "attribute", "group_value", "n", "count")
    cells = {s: _fairness_cells(binary, strata, s, cols) for s in STRATIFICATIONS}
    first = cells[STRATIFICATIONS[0]]
    force = _hidden_in_ratings_cut_points(done, first)
    results: dict[str, ProtectedTable] = {}
    # A cube is (re)protected while the other hides an overall cell it shows. `force` only grows and is bounded
    # by the overall cells, so this ends (in practice after one or two rounds); a cube that already hides every
    # forced cell is a valid protection with them and is kept.
    pending = list(STRATIFICATIONS)
    while pending:
        for s in pending:
            results[s] = _fairness_cube(cells[s], binary, limits, force, s)
        hidden = {
            s: r.frame.filter(pl.col(SUPPRESSED) & pl.col("stratum").is_null()).select(CUBE_KEYS)
            for s, r in results.items()
        }
        force = pl.concat([force, *hidden.values()]).unique()
        shared = {
            s: force.join(
                r.frame.filter(pl.col("stratum").is_null()).select(CUBE_KEYS),
                on=CUBE_KEYS,
                how="semi",
                nulls_equal=True,
            )
            for s, r in results.items()
        }
        pending = [
            s
            for s in STRATIFICATIONS
            if shared[s].join(hidden[s], on=CUBE_KEYS, how="anti", nulls_equal=True).height > 0
        ]
    frame = pl.concat(
        [r.frame.with_columns(pl.lit(s).alias("stratification")) for s, r in results.items()],
        how="diagonal_relaxed",
    )
    return results[STRATIFICATIONS[0]], frame


def _fairness(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Group rates overall, per function level and per department (a cube per stratification: the overall
    rates are the strata's totals, hidden alike in both), the tests where both the group and its reference
    group are visible, each stratum's odds ratio where the four counts it is computed from are shown, and
    continuous outcomes as amounts."""
    cols = ("organization", "cycle", "outcome", "attribute", "group_value", "n", "count")
    overall = _need(sources, "marts.fairness", (*cols, "outcome_kind"))
    strata = sources.get("marts.fairness_strata")
    binary = overall.filter(pl.col("outcome_kind") == "binary")
    protected, all_cells = _fairness_cubes(binary, strata, limits, done)
    cube = protected.frame
    keys = ["organization", "cycle", "outcome", "attribute", "stratification", "stratum", "group_value"]
    groups = all_cells.filter(pl.col("has").is_null()).select(*keys, pl.col("n").alias("group_n"))
    yes = all_cells.filter(pl.col("has") == "yes").select(*keys, pl.col("n").alias("count"))
    no_hidden = all_cells.filter(pl.col("has") == "no").select(*keys, pl.col(SUPPRESSED).alias("_no_hidden"))
    rates = _rates(groups, yes, no_hidden, keys)
    # Overall rows (all strata: the same, hidden alike, in every stratification's cube), with the mart's tests
    # where the group and its reference are both visible.
    over = rates.filter(pl.col("stratum").is_null() & (pl.col("stratification") == STRATIFICATIONS[0])).drop(
        "stratum", "stratification"
    )
    stats = binary.select(
        [
            c
            for c in (
                "organization",
                "cycle",
                "outcome",
                "attribute",
                "group_value",
                *FAIRNESS_LABELS,
                *FAIRNESS_STATS,
            )
            if c in binary.columns
        ]
    )
    over = over.join(stats, on=["organization", "cycle", "outcome", "attribute", "group_value"], how="left")
    # Sizes before protection decide whether a comparison rests on k people per group (never published).
    sizes = binary.select(
        "organization", "cycle", "outcome", "attribute", "group_value", pl.col("n").alias("_n_src")
    )
    over = over.join(sizes, on=["organization", "cycle", "outcome", "attribute", "group_value"], how="left")
    if "reference_group" in over.columns:
        ref = over.select(
            "organization",
            "cycle",
            "outcome",
            "attribute",
            pl.col("group_value").alias("reference_group"),
            pl.col(SUPPRESSED).alias("_ref_hidden"),
            pl.col("_n_src").alias("_ref_n_src"),
        )
        over = over.join(
            ref, on=["organization", "cycle", "outcome", "attribute", "reference_group"], how="left"
        )
        # Rates hidden for both (complementary suppression of a pair): the comparison may stay when both
        # groups hold at least k people; one hidden and one shown: the comparison would give it back.
        both_large = (pl.col("_n_src").fill_null(0) >= limits.k) & pl.col("_ref_n_src").fill_null(0).ge(
            limits.k
        )
        blocked = (pl.col(SUPPRESSED) != pl.col("_ref_hidden").fill_null(True)) | ~both_large
        rate_cols = [
            "rate_ci_low", "rate_ci_high", "reference_rate", "difference", "ratio", "adverse_impact_ratio",
            "adverse_impact", "standardised_difference", "finding_nl", "finding_en",
        ]  # fmt: skip
        over = _hide(over, blocked, FAIRNESS_STATS)
        over = _hide(over, pl.col(SUPPRESSED) | pl.col("_ref_hidden").fill_null(True), rate_cols).drop(
            "_ref_hidden", "_ref_n_src"
        )
    # Comparisons are published rounded (2 decimals, p/q 3): enough to read, too coarse to solve back to counts.
    rounded = [
        c
        for c in over.columns
        if c.endswith(
            ("odds_ratio", "ci_low", "ci_high", "ratio", "difference", "standardised_difference", "statistic")
        )
        or c.endswith("statistic_corrected")
    ]
    over = over.with_columns([pl.col(c).round(2) for c in rounded if over.schema[c].is_float()])
    over = over.with_columns(
        [
            pl.col(c).round(3)
            for c in over.columns
            if c.endswith(("p_value", "q_value", "homogeneity_p")) and over.schema[c].is_float()
        ]
    )
    over = over.drop("_n_src", strict=False).with_columns(pl.lit("overall").alias("scope"))
    within = _fairness_within(rates, strata)
    frames = [over, within]
    continuous = overall.filter(pl.col("outcome_kind") != "binary")
    if continuous.height and {"mean", "sd"} <= set(continuous.columns):
        cont_cols = [
            c
            for c in (
                "organization",
                "cycle",
                "outcome",
                "attribute",
                "group_value",
                "n",
                *FAIRNESS_LABELS,
                *CONTINUOUS_STATS,
            )
            if c in continuous.columns
        ]
        cont = continuous.select(cont_cols).with_columns((pl.col("n") * pl.col("mean")).alias("_sum"))
        # A group whose size the rate cube hides must not show its size here either (same people: with the
        # published total, a visible size would give the hidden one back).
        hidden_groups = (
            cube.filter(pl.col("has").is_null() & pl.col("stratum").is_null() & pl.col(SUPPRESSED))
            .select("organization", "cycle", "attribute", "group_value")
            .unique()
        )
        force = (
            cont.select("organization", "cycle", "outcome", "attribute")
            .unique()
            .join(hidden_groups, on=["organization", "cycle", "attribute"], how="inner")
        )
        result = protect(cont, CONTINUOUS_RULE, limits, force=force)
        protected.notes += result.notes
        cont_out = (
            result.frame.filter(pl.col("group_value").is_not_null())
            .with_columns(
                (pl.col(SUPPRESSED) | pl.col(amount_flag("_sum"))).alias(SUPPRESSED),
                pl.lit("overall").alias("scope"),
            )
            .drop("_sum", amount_flag("_sum"), REASON)
            .rename({"n": "group_n"})
        )
        frames.append(cont_out)
    frame = pl.concat(frames, how="diagonal_relaxed")
    protected.frame = frame.sort(
        ["organization", "cycle", "outcome", "attribute", "scope", "stratum", "group_value"], nulls_last=True
    )
    return protected


STRATUM_STATS = (
    "reference_group",
    "odds_ratio",
    "odds_ratio_ci_low",
    "odds_ratio_ci_high",
    "p_value",
    "q_value",
)


def _fairness_within(rates: pl.DataFrame, strata: pl.DataFrame | None) -> pl.DataFrame:
    """Per-stratum rows of both stratifications (`scope` = the stratification), each stratum's comparison
    (odds ratio, Woolf interval, Fisher p: the forest plots) only where the four counts it is computed from are
    shown: the group's rate and its reference's in that stratum (for the rest of the organisation: the
    stratum's total), each published with both its size and its count."""
    keys = ["organization", "cycle", "outcome", "attribute", "stratification", "stratum"]
    rows = rates.filter(
        pl.col("stratum").is_not_null() & pl.col("group_value").is_not_null() & (pl.col("stratum") != "(all)")
    )
    wanted = ("stratum_type", "stratum", "group_value", "reference_group", *STRATUM_STATS)
    if strata is None or not {"stratum_type", "reference_group", "odds_ratio"} <= set(strata.columns):
        return rows.rename({"stratification": "scope"})
    stats = (
        strata.filter(pl.col("outcome_kind") == "binary")
        .select(
            "organization",
            "cycle",
            "outcome",
            "attribute",
            *dict.fromkeys(c for c in wanted if c in strata.columns),
        )
        .rename({"stratum_type": "stratification"})
    )
    shown = rows.select(*keys, "group_value", (~pl.col(SUPPRESSED)).alias("_shown"))
    totals = rates.filter(pl.col("group_value").is_null()).select(
        *keys, (~pl.col(SUPPRESSED)).alias("_total_shown")
    )
    out = (
        rows.join(stats, on=[*keys, "group_value"], how="left")
        .join(
            shown.rename({"group_value": "reference_group", "_shown": "_ref_shown"}),
            on=[*keys, "reference_group"],
            how="left",
        )
        .join(totals, on=keys, how="left")
    )
    own = ~pl.col(SUPPRESSED)
    ref = (
        pl.when(pl.col("reference_group") == REST_OF_ORGANISATION)
        .then(pl.col("_total_shown"))
        .otherwise(pl.col("_ref_shown"))
    )
    blocked = ~(own & ref.fill_null(False)) | (pl.col("group_value") == pl.col("reference_group"))
    out = _hide(out, blocked, [c for c in STRATUM_STATS if c != "reference_group"])
    out = out.with_columns(
        [
            pl.col(c).round(2)
            for c in ("odds_ratio", "odds_ratio_ci_low", "odds_ratio_ci_high")
            if c in out.columns
        ]
        + [pl.col(c).round(3) for c in ("p_value", "q_value") if c in out.columns]
    )
    return out.drop("_ref_shown", "_total_shown").rename({"stratification": "scope"})


PAY_BY = ("organization", "cycle", "item", "measure", "component", "basis", "category_type")
PAY_MONEY_RULE = TableRule(
    by=PAY_BY,
    dims=("category",),
    n="n_all",
    totals=("category",),
    amounts=(
        Amount("_sum_women", n_column="_nw", protect=("women", "gap", "article10_flag")),
        Amount("_sum_men", n_column="_nm", protect=("men", "gap", "article10_flag")),
    ),
)
PAY_BANDS_RULE = TableRule(by=PAY_BY, dims=("category", "gender"), n="n", totals=("category", "gender"))
PAY_RECEIVING_RULE = TableRule(
    by=PAY_BY, dims=("gender", "has"), n="n", totals=("gender", "has"), category="has"
)
PAY_KEYS = [*PAY_BY, "category"]


def _pay_transparency(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Article 9 items. Money rows need k_amounts women and men and pass the mart's own dominance check
    (`publishable`, computed on the people's pay, which this step never sees); the categories of an item add
    up to the organisation, so complementary suppression runs over them. The shares receiving variable pay
    and the quartile bands are count tables."""
    cols = (*PAY_BY, "category", "n_women", "n_men", "women", "men", "gap")
    pt = _need(sources, "marts.pay_transparency", cols)
    extra = [c for c in ("article", "article10_flag", "publishable") if c in pt.columns]
    pt = pt.select([*cols, *extra]).with_columns(
        pl.col("basis").fill_null("-"), pl.col("category").fill_null("(all)")
    )
    publishable = pl.col("publishable").fill_null(False) if "publishable" in pt.columns else pl.lit(True)
    notes = [
        "pay_transparency has no largest-contribution column: the dominance rule is the mart's `publishable`"
    ]
    hidden_cols = ["women", "men", "gap", "article10_flag"]

    money = pt.filter(~pl.col("measure").is_in(["share_receiving", "quartile_share"])).with_columns(
        (pl.col("n_women") + pl.col("n_men")).alias("n_all"),
        pl.when(publishable).then(pl.col("n_women")).otherwise(0).alias("_nw"),
        pl.when(publishable).then(pl.col("n_men")).otherwise(0).alias("_nm"),
        (pl.col("n_women") * pl.col("women").fill_null(0)).alias("_sum_women"),
        (pl.col("n_men") * pl.col("men").fill_null(0)).alias("_sum_men"),
    )
    out = [pl.DataFrame()]
    if money.height:
        result = protect(money, PAY_MONEY_RULE, limits).frame.filter(pl.col("category").is_not_null())
        result = result.with_columns(
            (pl.col(SUPPRESSED) | pl.col(amount_flag("_sum_women")) | pl.col(amount_flag("_sum_men"))).alias(
                SUPPRESSED
            )
        )
        out.append(
            _hide(result, pl.col(SUPPRESSED), hidden_cols).select(
                [*cols, *[c for c in extra if c != "publishable"], SUPPRESSED]
            )
        )

    bands = pt.filter(pl.col("measure") == "quartile_share")
    if bands.height:
        counts = pl.concat(
            [
                bands.select(*PAY_KEYS, pl.lit("F").alias("gender"), pl.col("n_women").alias("n")),
                bands.select(*PAY_KEYS, pl.lit("M").alias("gender"), pl.col("n_men").alias("n")),
            ]
        )
        cube = protect(counts, PAY_BANDS_RULE, limits).frame
        flags = (
            cube.filter(pl.col("category").is_not_null() & pl.col("gender").is_not_null())
            .group_by(PAY_KEYS)
            .agg(pl.col(SUPPRESSED).any())
        )
        bands = bands.join(flags, on=PAY_KEYS, how="left").with_columns(
            (pl.col(SUPPRESSED).fill_null(True) | ~publishable).alias(SUPPRESSED)
        )
        out.append(
            _hide(bands, pl.col(SUPPRESSED), [*hidden_cols, "n_women", "n_men"]).select(
                [*cols, *[c for c in extra if c != "publishable"], SUPPRESSED]
            )
        )

    receiving = pt.filter(pl.col("measure") == "share_receiving")
    if receiving.height:
        yes_w = (pl.col("women") * pl.col("n_women")).round(0).cast(pl.Int64)
        yes_m = (pl.col("men") * pl.col("n_men")).round(0).cast(pl.Int64)
        counts = pl.concat(
            [
                receiving.select(
                    *PAY_KEYS, pl.lit("F").alias("gender"), pl.lit("yes").alias("has"), yes_w.alias("n")
                ),
                receiving.select(
                    *PAY_KEYS,
                    pl.lit("F").alias("gender"),
                    pl.lit("no").alias("has"),
                    (pl.col("n_women") - yes_w).alias("n"),
                ),
                receiving.select(
                    *PAY_KEYS, pl.lit("M").alias("gender"), pl.lit("yes").alias("has"), yes_m.alias("n")
                ),
                receiving.select(
                    *PAY_KEYS,
                    pl.lit("M").alias("gender"),
                    pl.lit("no").alias("has"),
                    (pl.col("n_men") - yes_m).alias("n"),
                ),
            ]
        ).with_columns(pl.col("n").fill_null(0))
        cube = protect(counts, PAY_RECEIVING_RULE, limits).frame
        flags = (
            cube.filter(pl.col("gender").is_not_null() & pl.col("has").is_not_null())
            .group_by(PAY_KEYS)
            .agg(pl.col(SUPPRESSED).any())
        )
        receiving = receiving.join(flags, on=PAY_KEYS, how="left").with_columns(
            (pl.col(SUPPRESSED).fill_null(True) | ~publishable).alias(SUPPRESSED)
        )
        out.append(
            _hide(receiving, pl.col(SUPPRESSED), hidden_cols).select(
                [*cols, *[c for c in extra if c != "publishable"], SUPPRESSED]
            )
        )

    frame = (
        pl.concat([f for f in out if f.height], how="diagonal_relaxed")
        if any(f.height for f in out)
        else pt.head(0)
    )
    if frame.height:
        frame = frame.with_columns(
            pl.col("category").replace("(all)", None), pl.col("basis").replace("-", None)
        )
        frame = frame.sort([*PAY_BY, "category"], nulls_last=True)
    hidden = int(frame[SUPPRESSED].sum()) if SUPPRESSED in frame.columns else 0
    return ProtectedTable(frame=frame, notes=notes, cells=frame.height, hidden=hidden)


# ---------------------------------------------------------------------------------------------- budget
def _org_total_to_null(frame: pl.DataFrame) -> pl.DataFrame:
    """models.budget marks the organisation row with department "(totaal)" and level "organisatie"."""
    is_total = pl.col("department") == DEPARTMENT_TOTAL
    if "level" in frame.columns:
        is_total = is_total | (pl.col("level") == "organisatie")
    return frame.with_columns(
        pl.when(is_total).then(None).otherwise(pl.col("department")).alias("department")
    )


BUDGET_PAYROLL_DERIVED = ("payroll", "fte", "incidental_budget", "structural_budget")
BUDGET_STRUCTURAL = (
    "structural_costed", "structural_at_maximum", "structural_capped", "structural_no_decision",
    "structural_gross_full_year", "structural_gross_in_year", "structural_cost_in_year", "structural_variance",
    "structural_utilisation", "total_cost_full_year", "total_cost_in_year", "over_budget",
)  # fmt: skip
BUDGET_INCIDENTAL = (
    "incidental_awards", "incidental_gross", "incidental_cost_in_year", "incidental_variance",
    "incidental_utilisation", "total_cost_full_year", "total_cost_in_year", "over_budget",
)  # fmt: skip
BUDGET_RULE = TableRule(
    dims=("department",),
    n="headcount",
    totals=("department",),
    amounts=(
        Amount(
            "payroll",
            protect=(
                *BUDGET_PAYROLL_DERIVED,
                "incidental_variance",
                "structural_variance",
                "incidental_utilisation",
                "structural_utilisation",
                "over_budget",
            ),
        ),
        Amount("structural_cost_full_year", n_column="structural_costed", protect=BUDGET_STRUCTURAL),
        Amount("incidental_cost", n_column="incidental_awards", protect=BUDGET_INCIDENTAL),
    ),
)
BUDGET_PEOPLE_COUNTS = (
    "structural_costed", "structural_at_maximum", "structural_capped", "structural_no_decision", "incidental_awards",
)  # fmt: skip
BUDGET_COLUMNS = (
    "organization", "cycle", "department", "policy_id", "headcount", "payout_date", *BUDGET_PAYROLL_DERIVED,
    "structural_cost_full_year", *BUDGET_STRUCTURAL, "incidental_cost", *BUDGET_INCIDENTAL,
)  # fmt: skip


def _budget(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Spend against budget per department and for the organisation (amounts from k_amounts people)."""
    bu = _need(
        sources,
        "marts.budget",
        (
            "organization",
            "cycle",
            "department",
            "headcount",
            "payroll",
            "structural_cost_full_year",
            "incidental_cost",
        ),
    )
    bu = _org_total_to_null(bu)
    bu = bu.select(list(dict.fromkeys(c for c in BUDGET_COLUMNS if c in bu.columns)))
    for column in ("structural_costed", "incidental_awards"):
        if column not in bu.columns:
            bu = bu.with_columns(pl.col("headcount").alias(column))
    # The organisation's headcount (and one department's) is its size on the process page: hidden where that
    # size minus the rated total of `ratings` would give a small unrated count back. Only the count: the money
    # of those rows is judged by the amount rules on the true headcount (large), as for any other row.
    sizes = _unrated_organization_sizes(sources, limits).cast({"cycle": bu.schema["cycle"]})
    result = protect(bu, BUDGET_RULE, limits, force=sizes, count_only=sizes)
    # The people counts behind the amounts (costed, capped, at the maximum, without a decision; awards) serve
    # the amount rules only. No page shows them and no small-cell rule covers them (people without a decision
    # are the unrated count the process page hides), so they are not published.
    result.frame = result.frame.drop(BUDGET_PEOPLE_COUNTS, strict=False)
    return result


BY_TYPE_RULE = TableRule(
    dims=("award_type",),
    n="awards",
    totals=("award_type",),
    amounts=(Amount("cost", n_column="awards", protect=("gross", "cost_in_year")),),
)


def _budget_by_type(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Incidental cost per award type for the whole organisation (per department the cells are too small and
    would also have to agree with the department totals of marts.budget)."""
    bt = _need(
        sources,
        "marts.budget_by_type",
        ("organization", "cycle", "department", "award_type", "awards", "cost"),
    )
    bt = _org_total_to_null(bt).filter(pl.col("department").is_null())
    keep = [
        c
        for c in (
            "organization",
            "cycle",
            "award_type",
            "kind",
            "rule",
            "awards",
            "gross",
            "cost",
            "cost_in_year",
        )
        if c in bt.columns
    ]
    return protect(bt.select(keep), BY_TYPE_RULE, limits)


FORECAST_AMOUNTS = (
    "payroll", "general_raise_cost", "structural_cost_mean", "structural_cost_p5", "structural_cost_p50",
    "structural_cost_p95", "incidental_cost_mean", "incidental_cost_p5", "incidental_cost_p50",
    "incidental_cost_p95", "total_cost_mean", "total_cost_p5", "total_cost_p50", "total_cost_p95",
    "incidental_budget", "structural_budget", "incidental_utilisation_p50", "incidental_utilisation_p95",
    "structural_utilisation_p50", "structural_utilisation_p95", "fte", "at_maximum", "decidable",
)  # fmt: skip
FORECAST_RULE = TableRule(
    by=("organization", "cycle", "forecast_cycle", "horizon", "scenario"),
    dims=("department",),
    n="headcount",
    totals=("department",),
    amounts=(Amount("total_cost_mean", protect=FORECAST_AMOUNTS),),
)


def _forecast(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Forecast per scenario and year, per department (from k_amounts people) and for the organisation.
    `cycle` is the cycle the forecast starts from; `forecast_cycle` the year it forecasts."""
    fc = _need(
        sources,
        "marts.budget_forecast",
        (
            "organization",
            "base_cycle",
            "cycle",
            "horizon",
            "scenario",
            "department",
            "headcount",
            "total_cost_mean",
        ),
    )
    fc = _org_total_to_null(fc).rename({"cycle": "forecast_cycle"}).rename({"base_cycle": "cycle"})
    keep = [
        c
        for c in (
            "organization",
            "cycle",
            "forecast_cycle",
            "horizon",
            "scenario",
            "department",
            "headcount",
            "general_raise_pct",
            *FORECAST_AMOUNTS,
        )
        if c in fc.columns
    ]
    return protect(fc.select(keep), FORECAST_RULE, limits)


WHATIF_COLUMNS = (
    "organization",
    "cycle",
    "scenario",
    "metric",
    "scope",
    "label_nl",
    "label_en",
    "unit",
    "before",
    "after",
    "change",
)


def _whatif(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """What-if presets (scenario files with moves): organisation-wide figures, and a moved department's
    figures only where its amounts are shown in `budget`. The per-gender top-rating shares are left out:
    together with the fairness page they could give back a rate hidden there."""
    wi = _need(
        sources,
        "marts.budget_whatif",
        ("organization", "cycle", "scenario", "metric", "scope", "before", "after", "change"),
    )
    wi = wi.select([c for c in WHATIF_COLUMNS if c in wi.columns]).filter(
        ~pl.col("metric").str.starts_with("top_rate")
    )
    budget = done.get("budget")
    org_scope = pl.col("scope").str.starts_with("(")
    if budget is not None and budget.height:
        visible = budget.filter(pl.col("department").is_not_null()).select(
            "organization",
            "cycle",
            pl.col("department").alias("scope"),
            (
                pl.col("payroll").is_not_null()
                & pl.col("structural_cost_full_year").is_not_null()
                & pl.col("incidental_cost").is_not_null()
            ).alias("_visible"),
        )
        wi = wi.join(visible, on=["organization", "cycle", "scope"], how="left")
    else:
        wi = wi.with_columns(pl.lit(False).alias("_visible"))
    shown = org_scope | pl.col("_visible").fill_null(False)
    frame = (
        _hide(wi, ~shown, ["before", "after", "change"])
        .with_columns((~shown).alias(SUPPRESSED))
        .drop("_visible")
    )
    notes = ["per-gender top-rating shares left out (they could reveal rates hidden on the fairness page)"]
    return ProtectedTable(frame=frame, notes=notes, cells=frame.height, hidden=int(frame[SUPPRESSED].sum()))


# ---------------------------------------------------------------------------------------------- process
PROCESS_RULE = TableRule(
    by=("organization", "cycle", "metric"),
    dims=("department", "has"),
    n="n",
    totals=("department", "has"),
    complete=True,
)


def _process(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Process milestones per department: for every count, the people with and without it are cells; the
    department's n is the same in every metric, so a department total hidden in one metric is hidden in all."""
    ps = _need(sources, "marts.process_status", ("organization", "cycle", "department", "n"))
    metrics = [c for c in ps.columns if f"{c}_share" in ps.columns]
    if not metrics:
        raise Missing("marts.process_status has no count columns")
    long = pl.concat(
        [
            ps.filter(pl.col(m).is_not_null()).select(
                "organization",
                "cycle",
                pl.lit(m).alias("metric"),
                "department",
                pl.col(m).alias("yes"),
                pl.col("n").alias("all"),
            )
            for m in metrics
        ]
    )
    cells = pl.concat(
        [
            long.select(
                "organization",
                "cycle",
                "metric",
                "department",
                pl.lit("yes").alias("has"),
                pl.col("yes").alias("n"),
            ),
            long.select(
                "organization",
                "cycle",
                "metric",
                "department",
                pl.lit("no").alias("has"),
                (pl.col("all") - pl.col("yes")).alias("n"),
            ),
        ]
    )
    # The people with a rating ("ratings missing": no) are the department's total in `ratings`: hidden alike.
    rated = pl.concat(
        [
            _hidden_in_ratings(done, department=True, level=False, rating=False),
            _hidden_in_ratings(done, department=False, level=False, rating=False),
        ]
    )
    force = rated.select(
        "organization",
        "cycle",
        pl.lit(UNRATED_METRIC).alias("metric"),
        "department",
        pl.lit("no").alias("has"),
    ).cast({"cycle": cells.schema["cycle"]})
    # The organisation's size where its unrated count is small (and one department's with it, see
    # `_unrated_organization_sizes`): the same n in every metric, hidden in all of them (and in `budget`).
    sizes = (
        _unrated_organization_sizes(sources, limits)
        .cast({"cycle": cells.schema["cycle"]})
        .join(cells.select("organization", "cycle", "metric").unique(), on=["organization", "cycle"])
        .with_columns(pl.lit(None, dtype=pl.String).alias("has"))
        .select(force.columns)
    )
    force = pl.concat([force, sizes]).unique()
    for _ in range(20):
        result = protect(cells, PROCESS_RULE, limits, force=force)
        totals = (
            result.frame.filter(pl.col("has").is_null() & pl.col(SUPPRESSED))
            .select("organization", "cycle", "department")
            .unique()
        )
        if totals.height == 0:
            break
        wanted = totals.join(
            cells.select("organization", "cycle", "metric").unique(), on=["organization", "cycle"]
        ).with_columns(pl.lit(None, dtype=pl.String).alias("has"))
        already = result.frame.filter(pl.col("has").is_null() & pl.col(SUPPRESSED)).select(
            "organization", "cycle", "metric", "department"
        )
        if (
            wanted.join(
                already, on=["organization", "cycle", "metric", "department"], how="anti", nulls_equal=True
            ).height
            == 0
        ):
            break
        force = pl.concat([force, wanted.select(force.columns)]).unique()
    frame = result.frame
    all_n = frame.filter(pl.col("has").is_null()).select(
        "organization", "cycle", "metric", "department", pl.col("n").alias("group_n")
    )
    yes = frame.filter(pl.col("has") == "yes").select(
        "organization",
        "cycle",
        "metric",
        "department",
        pl.col("n").alias("count"),
        pl.col(SUPPRESSED).alias("_y"),
    )
    no = frame.filter(pl.col("has") == "no").select(
        "organization", "cycle", "metric", "department", pl.col(SUPPRESSED).alias("_n")
    )
    keys = ["organization", "cycle", "metric", "department"]
    out = (
        all_n.join(yes, on=keys, how="left", nulls_equal=True)
        .join(no, on=keys, how="left", nulls_equal=True)
        .with_columns(
            (pl.col("_y").fill_null(True) | pl.col("_n").fill_null(True) | pl.col("group_n").is_null()).alias(
                SUPPRESSED
            )
        )
        .with_columns(
            pl.when(pl.col(SUPPRESSED)).then(None).otherwise(pl.col("count")).alias("count"),
        )
        .with_columns(pl.when(pl.col("group_n") > 0).then(pl.col("count") / pl.col("group_n")).alias("share"))
        .drop("_y", "_n")
        .sort(keys, nulls_last=True)
    )
    result.frame = out
    return result


FINDINGS_RULE = TableRule(
    by=("organization", "cycle", "rule", "check", "severity"),
    dims=("department",),
    n="n",
    totals=("department",),
)


def _findings(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """People with a rule finding per rule, check and department (aggregated in the database)."""
    keys = ("organization", "cycle", "department", "rule", "check", "severity", "n")
    fi = _need(sources, "marts.compliance_findings", keys).select(keys)
    # A department without a finding for a rule has a zero, not a gap: complete the grid within the cycle.
    findings = fi.select("organization", "cycle", "rule", "check", "severity").unique()
    departments = fi.select("organization", "cycle", "department").unique()
    grid = findings.join(departments, on=["organization", "cycle"], how="inner")
    fi = grid.join(
        fi,
        on=["organization", "cycle", "rule", "check", "severity", "department"],
        how="left",
        nulls_equal=True,
    )
    return protect(fi.with_columns(pl.col("n").fill_null(0)), FINDINGS_RULE, limits)


# ---------------------------------------------------------------------------------------------- calibration impact
# The site shows one cycle at a time: the marts' pooled windows (period = 'window') stay in the database.
IMPACT_PERIOD = "cycle"
IMPACT_MEASURE = (
    RATING_MEASURE  # the proposal is a rating: the measure of `ratings` that holds the same people
)
REST_OF_ORGANISATION = "rest_of_organisation"  # models.fairness.REST: the reference "everyone else"
MOVE_ATTRIBUTES = ("gender", "age_band", "part_time", "employment_type", "function_level")
MOVE_COUNTS = (("down", "n_down"), ("unchanged", "n_unchanged"), ("up", "n_up"))

MOVES_BY_DEPARTMENT_RULE = TableRule(
    by=("organization", "cycle"),
    dims=("department", "direction"),
    n="n",
    totals=("department", "direction"),
    category="direction",
    complete=True,
)
BEFORE_AFTER_RULE = TableRule(
    by=("organization", "cycle"),
    dims=("stage", "rating"),
    n="n",
    totals=("rating",),
    category="rating",
    complete=True,
)
MOVES_BY_GROUP_RULE = TableRule(
    by=("organization", "cycle", "direction", "attribute"),
    dims=("group_value", "has"),
    n="n",
    totals=("group_value", "has"),
    category="has",
    complete=True,
)
MOVES_COMPARISONS = (
    "odds_ratio", "within_level_odds_ratio", "within_level_ci_low", "within_level_ci_high", "q_value",
    "within_level_q_value", "flag", "finding_nl", "finding_en",
)  # fmt: skip
SPREAD_COLUMNS = (
    "organization", "cycle", "measure", "dimension", "group_value", "reference_group", "before", "after",
    "change", "change_ci_low", "change_ci_high", "verdict", "sentence_nl", "sentence_en",
)  # fmt: skip


def _impact_period(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("period") == IMPACT_PERIOD) if "period" in frame.columns else frame


def _hidden_in_ratings(
    done: dict[str, pl.DataFrame], department: bool, level: bool, rating: bool
) -> pl.DataFrame:
    """Cells of the published `ratings` table (measure rating) that are hidden, at one margin: with or without
    department, function level and rating (null = total). The calibration tables count the same people when
    every rated person has a proposal, so a cell hidden there is hidden here too (cross-table consistency)."""
    ratings = done.get("ratings")
    schema = {"organization": pl.String, "cycle": pl.Int64, "department": pl.String,
              "function_level": pl.String, "rating": pl.String}  # fmt: skip
    if ratings is None or ratings.height == 0 or "measure" not in ratings.columns:
        return pl.DataFrame(schema=schema)
    margin = [
        pl.col(c).is_not_null() if keep else pl.col(c).is_null()
        for c, keep in (("department", department), ("function_level", level), ("rating", rating))
    ]
    return (
        ratings.filter((pl.col("measure") == IMPACT_MEASURE) & pl.col(SUPPRESSED) & pl.all_horizontal(margin))
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
    )


def _with_share(frame: pl.DataFrame, keys: list[str], dim: str) -> pl.DataFrame:
    """`group_n` (the row's total: null in `dim`) and `share` = n / group_n where both are shown."""
    totals = frame.filter(pl.col(dim).is_null()).select(*keys, pl.col("n").alias("group_n"))
    return frame.join(totals, on=keys, how="left", nulls_equal=True).with_columns(
        pl.when(pl.col("n").is_not_null() & (pl.col("group_n") > 0))
        .then(pl.col("n") / pl.col("group_n"))
        .alias("share")
    )


def _calibration_moves_by_department(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """People whose proposal was moved down, left unchanged or moved up, per department, with the
    organisation as the department total (null department). Department totals hidden in `ratings` are
    hidden here too (the same people)."""
    ci = _need(
        sources,
        "marts.calibration_impact",
        ("organization", "cycle", "grouping", "unit", *(c for _, c in MOVE_COUNTS)),
    )
    departments = _impact_period(ci).filter(
        (pl.col("grouping") == "department") & pl.col("unit").is_not_null()
    )
    cells = pl.concat(
        [
            departments.select(
                "organization",
                pl.col("cycle").cast(pl.Int64),
                pl.col("unit").cast(pl.String).alias("department"),
                pl.lit(direction).alias("direction"),
                pl.col(column).cast(pl.Int64).alias("n"),
            )
            for direction, column in MOVE_COUNTS
        ]
    )
    force = (
        _hidden_in_ratings(done, department=True, level=False, rating=False)
        .select("organization", "cycle", "department")
        .with_columns(pl.lit(None, dtype=pl.String).alias("direction"))
    )
    protected = protect(cells, MOVES_BY_DEPARTMENT_RULE, limits, force=force)
    protected.frame = _with_share(protected.frame, ["organization", "cycle", "department"], "direction").sort(
        ["organization", "cycle", "department", "direction"], nulls_last=True
    )
    return protected


def _calibration_before_after(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The organisation's distribution of proposals (stage `proposed`) and final ratings (`final`), each
    protected as counts over the rating; final cells hidden in `ratings` (the same counts when every rated
    person has a proposal) are hidden here too."""
    cd = _need(
        sources,
        "marts.calibration_distribution",
        ("organization", "cycle", "grouping", "rating", "rating_position", "n_proposed", "n_final"),
    )
    org = _impact_period(cd).filter(pl.col("grouping") == "organization")
    cells = pl.concat(
        [
            org.select(
                "organization",
                pl.col("cycle").cast(pl.Int64),
                pl.lit(stage).alias("stage"),
                pl.col("rating").cast(pl.String),
                pl.col(column).cast(pl.Int64).alias("n"),
                pl.col("rating_position").cast(pl.Int64),
            )
            for stage, column in (("proposed", "n_proposed"), ("final", "n_final"))
        ]
    )
    force = _hidden_in_ratings(done, department=False, level=False, rating=True).select(
        "organization", "cycle", pl.lit("final").alias("stage"), "rating"
    )
    protected = protect(cells, BEFORE_AFTER_RULE, limits, force=force)
    protected.frame = _with_share(protected.frame, ["organization", "cycle", "stage"], "rating").sort(
        ["organization", "cycle", "stage", "rating_position"], nulls_last=True
    )
    return protected


def _calibration_moves_by_group(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Per attribute group and direction: the people moved that way and not (cells), protected like the
    fairness cube; a group's size is the same in both directions, so a size hidden in one is hidden in both
    (and function-level sizes hidden in `ratings` are hidden here). Rates with their interval for visible
    groups; the comparison with the reference group only where both are visible and both hold k people."""
    cols = ("organization", "cycle", "direction", "attribute", "group_value", "n", "count")
    cm = _need(sources, "marts.calibration_moves", (*cols, "reference_group"))
    rows = _impact_period(cm).filter(
        pl.col("attribute").is_in(list(MOVE_ATTRIBUTES)) & pl.col("group_value").is_not_null()
    )
    base = rows.select(
        "organization",
        pl.col("cycle").cast(pl.Int64),
        "direction",
        "attribute",
        pl.col("group_value").cast(pl.String),
        pl.col("n").cast(pl.Int64).alias("_all"),
        pl.col("count").cast(pl.Int64).alias("_yes"),
    )
    keys = ["organization", "cycle", "direction", "attribute", "group_value"]
    cells = pl.concat(
        [
            base.select(*keys, pl.lit("yes").alias("has"), pl.col("_yes").alias("n")),
            base.select(*keys, pl.lit("no").alias("has"), (pl.col("_all") - pl.col("_yes")).alias("n")),
        ]
    )
    directions = cells.select("organization", "cycle", "direction").unique()
    levels = _hidden_in_ratings(done, department=False, level=True, rating=False)
    force = (
        levels.select(
            "organization",
            "cycle",
            pl.lit("function_level").alias("attribute"),
            pl.col("function_level").alias("group_value"),
            pl.lit(None, dtype=pl.String).alias("has"),
        )
        .join(directions, on=["organization", "cycle"])
        .select(*keys, "has")
    )
    for _ in range(20):
        result = protect(cells, MOVES_BY_GROUP_RULE, limits, force=force if force.height else None)
        sizes = result.frame.filter(pl.col("has").is_null() & pl.col(SUPPRESSED)).select(
            "organization", "cycle", "attribute", "group_value"
        )
        # The organisation total (null group) is the same number for every attribute.
        everyone = sizes.filter(pl.col("group_value").is_null()).select("organization", "cycle").unique()
        attributes = cells.select("organization", "cycle", "attribute").unique()
        sizes = pl.concat(
            [
                sizes,
                everyone.join(attributes, on=["organization", "cycle"]).select(
                    "organization", "cycle", "attribute", pl.lit(None, dtype=pl.String).alias("group_value")
                ),
            ]
        ).unique()
        wanted = (
            sizes.join(directions, on=["organization", "cycle"])
            .with_columns(pl.lit(None, dtype=pl.String).alias("has"))
            .select(*keys, "has")
        )
        hidden = result.frame.filter(pl.col("has").is_null() & pl.col(SUPPRESSED)).select(*keys)
        if wanted.join(hidden, on=keys, how="anti", nulls_equal=True).height == 0:
            break
        force = pl.concat([force, wanted]).unique()
    cube = result.frame
    groups = cube.filter(pl.col("has").is_null()).select(*keys, pl.col("n").alias("group_n"))
    yes = cube.filter(pl.col("has") == "yes").select(*keys, pl.col("n").alias("count"))
    no_hidden = cube.filter(pl.col("has") == "no").select(*keys, pl.col(SUPPRESSED).alias("_no_hidden"))
    out = _rates(groups, yes, no_hidden, keys)
    # The mart's columns with their types (a column that is empty throughout may arrive untyped).
    kinds = {"is_reference": pl.Boolean, "reference_group": pl.String, "rate_ci_low": pl.Float64,
             "rate_ci_high": pl.Float64, "reference_n": pl.Int64, "odds_ratio": pl.Float64,
             "within_level_odds_ratio": pl.Float64, "within_level_ci_low": pl.Float64,
             "within_level_ci_high": pl.Float64, "q_value": pl.Float64, "within_level_q_value": pl.Float64,
             "flag": pl.Boolean, "finding_nl": pl.String, "finding_en": pl.String}  # fmt: skip
    stats = [pl.col(c).cast(kind) for c, kind in kinds.items() if c in rows.columns]
    out = out.join(
        rows.select(*keys, pl.col("n").cast(pl.Int64).alias("_n_src"), *stats).with_columns(
            pl.col("cycle").cast(pl.Int64)
        ),
        on=keys,
        how="left",
    )
    # The reference: a named group (its own row) or everyone else (visible when the group and the attribute's
    # total are: the rest is their difference).
    named = out.select(
        "organization", "cycle", "direction", "attribute", pl.col("group_value").alias("reference_group"),
        pl.col(SUPPRESSED).alias("_ref_hidden"), pl.col("_n_src").alias("_ref_n"),
    ).filter(pl.col("reference_group").is_not_null())  # fmt: skip
    everyone = out.filter(pl.col("group_value").is_null()).select(
        "organization", "cycle", "direction", "attribute", pl.col(SUPPRESSED).alias("_all_hidden")
    )
    by = ["organization", "cycle", "direction", "attribute"]
    out = out.join(everyone, on=by, how="left")
    if "reference_group" in out.columns:
        out = out.join(named, on=[*by, "reference_group"], how="left")
        rest = pl.col("reference_group") == REST_OF_ORGANISATION
        reference_n = pl.col("reference_n") if "reference_n" in out.columns else pl.lit(None, dtype=pl.Int64)
        ref_hidden = (
            pl.when(rest).then(pl.col("_all_hidden")).otherwise(pl.col("_ref_hidden")).fill_null(True)
        )
        ref_n = pl.when(rest).then(reference_n).otherwise(pl.col("_ref_n")).fill_null(0)
        shown = (
            ~pl.col(SUPPRESSED)
            & ~ref_hidden
            & (pl.col("_n_src").fill_null(0) >= limits.k)
            & (ref_n >= limits.k)
        )
        out = _hide(out, ~shown | pl.col("group_value").is_null(), MOVES_COMPARISONS)
        out = out.drop("_ref_hidden", "_ref_n")
    out = _hide(out, pl.col(SUPPRESSED), ("rate_ci_low", "rate_ci_high"))
    # Comparisons are published rounded (2 decimals, p/q 3): enough to read, too coarse to solve back to counts.
    # The rate's own interval is a function of the shown count and n only.
    out = out.with_columns(
        [
            pl.col(c).round(2)
            for c in ("odds_ratio", "within_level_odds_ratio", "within_level_ci_low", "within_level_ci_high")
            if c in out.columns
        ]
        + [
            pl.col(c).round(3)
            for c in ("q_value", "within_level_q_value", "rate_ci_low", "rate_ci_high")
            if c in out.columns
        ]
    )
    result.frame = out.drop("_n_src", "_all_hidden", "reference_n", strict=False).sort(keys, nulls_last=True)
    return result


def _calibration_spread(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Did calibration narrow or widen the differences: the mart's verdicts and sentences for publishable
    rows; gaps between groups only where both groups hold k people. No counts are published."""
    cs = _need(
        sources,
        "marts.calibration_spread",
        ("organization", "cycle", "measure", "dimension", "verdict", "publishable", "n", "reference_n"),
    )
    cs = _impact_period(cs)
    large = (pl.col("n").fill_null(0) >= limits.k) & (pl.col("reference_n").fill_null(0) >= limits.k)
    keep = cs.filter(pl.col("publishable").fill_null(False) & ((pl.col("measure") != "group_gap") | large))
    frame = keep.select([c for c in SPREAD_COLUMNS if c in keep.columns]).sort(
        ["organization", "cycle", "measure", "dimension", "group_value"], nulls_last=True
    )
    return ProtectedTable(frame=frame, cells=frame.height, hidden=cs.height - frame.height)


# ---------------------------------------------------------------------------------------------- the registry
Builder = Callable[[dict[str, pl.DataFrame], Thresholds, dict[str, pl.DataFrame]], ProtectedTable]

# Order matters: later tables may only publish what the earlier ones show (ratings first).
PUBLICATIONS: tuple[tuple[str, Builder], ...] = (
    ("ratings", _ratings),
    ("rating_scale", _rating_scale),
    ("units", _units),
    ("leniency", _leniency),
    ("transitions", _transitions),
    ("drift", _drift),
    ("worklist", _worklist),
    ("fairness", _fairness),
    ("pay_transparency", _pay_transparency),
    ("budget", _budget),
    ("budget_by_type", _budget_by_type),
    ("forecast", _forecast),
    ("whatif", _whatif),
    ("process", _process),
    ("findings", _findings),
    ("calibration_moves_by_department", _calibration_moves_by_department),
    ("calibration_before_after", _calibration_before_after),
    ("calibration_moves_by_group", _calibration_moves_by_group),
    ("calibration_spread", _calibration_spread),
)
# Which protected table is built from which source (for "not yet available" and the attacker test).
PUBLICATION_SOURCES: dict[str, tuple[str, ...]] = {
    "ratings": ("marts.rating_distribution",),
    "rating_scale": ("marts.rating_distribution",),
    "units": ("marts.unit_deviation", "marts.rating_distribution"),
    "leniency": ("marts.evaluator_leniency", "marts.rating_distribution"),
    "transitions": ("marts.rating_transitions",),
    "drift": ("marts.rating_drift", "marts.rating_distribution"),
    "worklist": ("marts.calibration_worklist",),
    "fairness": ("marts.fairness", "marts.fairness_strata"),
    "pay_transparency": ("marts.pay_transparency",),
    "budget": ("marts.budget",),
    "budget_by_type": ("marts.budget_by_type",),
    "forecast": ("marts.budget_forecast",),
    "whatif": ("marts.budget_whatif", "marts.budget"),
    "process": ("marts.process_status",),
    "findings": ("marts.compliance_findings",),
    "calibration_moves_by_department": ("marts.calibration_impact",),
    "calibration_before_after": ("marts.calibration_distribution",),
    "calibration_moves_by_group": ("marts.calibration_moves",),
    "calibration_spread": ("marts.calibration_spread",),
}
# The rule each count table is protected with, for the attacker test (tables built with `protect`).
RULES: dict[str, TableRule] = {
    "ratings": RATINGS_RULE,
    "transitions": TRANSITIONS_RULE,
    "budget": BUDGET_RULE,
    "budget_by_type": BY_TYPE_RULE,
    "forecast": FORECAST_RULE,
    "findings": FINDINGS_RULE,
    "leniency": LENIENCY_RULE,
    "calibration_moves_by_department": MOVES_BY_DEPARTMENT_RULE,
    "calibration_before_after": BEFORE_AFTER_RULE,
    "calibration_moves_by_group": MOVES_BY_GROUP_RULE,
}


@dataclass
class Publication:
    tables: dict[str, pl.DataFrame]
    notes: list[str] = field(default_factory=list)
    hidden: dict[str, int] = field(default_factory=dict)


def organization_sources(sources: dict[str, pl.DataFrame], organization: str) -> dict[str, pl.DataFrame]:
    """One organisation's rows of every source that is protected (the pass-through tables are left out)."""
    return {
        name: frame.filter(pl.col("organization") == organization)
        if "organization" in frame.columns
        else frame
        for name, frame in sources.items()
        if name not in PASS_THROUGH
    }


def protect_organization(
    sources: dict[str, pl.DataFrame], limits: Thresholds, include_worklist: bool = True
) -> Publication:
    """One organisation's published tables, protected with its thresholds. `sources` hold only that
    organisation's rows (:func:`organization_sources`). Organisations are protected independently of each
    other, so they can be protected side by side and merged with :func:`merge_publications`."""
    published = Publication(tables={})
    done: dict[str, pl.DataFrame] = {}
    for name, build in PUBLICATIONS:
        if name in CONFIDENTIAL and not include_worklist:
            continue
        try:
            result = build(sources, limits, done)
        except Missing as gap:
            note = f"{name}: {gap}"
            if note not in published.notes:
                published.notes.append(note)
            continue
        done[name] = result.frame
        if result.cut_points is not None:
            done[f"{name}_cut_points"] = result.cut_points
        published.tables[name] = result.frame
        published.hidden[name] = published.hidden.get(name, 0) + result.hidden
        for note in result.notes:
            if f"{name}: {note}" not in published.notes:
                published.notes.append(f"{name}: {note}")
    return published


def merge_publications(sources: dict[str, pl.DataFrame], parts: Iterable[Publication]) -> Publication:
    """The pass-through tables of `sources` and the organisations' protected tables, in the order given."""
    published = Publication(tables={name: frame for name, frame in sources.items() if name in PASS_THROUGH})
    frames: dict[str, list[pl.DataFrame]] = {}
    for part in parts:
        for name, frame in part.tables.items():
            frames.setdefault(name, []).append(frame)
        for name, hidden in part.hidden.items():
            published.hidden[name] = published.hidden.get(name, 0) + hidden
        published.notes.extend(note for note in part.notes if note not in published.notes)
    for name, found in frames.items():
        found = [p for p in found if p.width]
        if found:
            published.tables[name] = pl.concat(found, how="diagonal_relaxed")
    return published


def publish_tables(
    sources: dict[str, pl.DataFrame],
    limits: dict[str, Thresholds],
    include_worklist: bool = True,
) -> Publication:
    """Every published table, protected per organisation with that organisation's thresholds.

    `sources` are the whitelisted database tables (already aggregated where the mart is row-level);
    `limits` maps organisation id → Thresholds. A table whose source is missing or lacks a column is left
    out with a note (its page says "not yet available"); organisations without limits are left out."""
    return merge_publications(
        sources,
        (
            protect_organization(organization_sources(sources, organization), org_limits, include_worklist)
            for organization, org_limits in sorted(limits.items())
        ),
    )
