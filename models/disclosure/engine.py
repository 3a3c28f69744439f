"""The disclosure engine: primary and complementary suppression with the exact audit (RELIABILITY.md,
"Disclosure control"). Generic: it knows tables by their `TableRule`, never a mart or a page.

Every published table passes through `protect` before it reaches dashboards/, so the HTML only ever holds
suppressed aggregates. The rules, with their thresholds from the organisation's policy (`disclosure:`):

* **Small cells** — a count from 1 to k−1 people (``min_group_size``, default 5) is hidden. Zeros are shown.
* **Small remainder** — where a page shows a group's size and its count with an outcome but not the count
  without (`TableRule.shown`), a count with the outcome is hidden when the count without, its size minus it,
  is from 1 to k−1: the shown count would give the small one back by subtraction. This is the rule for a rate
  (numerator and denominator − numerator each at least k): primary, not complementary.
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
  level) are cells of these equations too, so a reader cannot combine them with the table; margins no table of
  the release shows (`TableRule.unpublished`) are unknowns of them, hidden from the start and never
  published (an equation whose only hidden member is such a margin needs no second one). For tables whose
  bounds need not be whole numbers (three or more dims with totals, none of them two-valued) each small cell must
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
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from models.policy import Disclosure, Policy

_SCHEMA = Disclosure()

SUPPRESSED = "suppressed"
REASON = "suppressed_reason"

# Reasons (shown on the pages' legend; never data values).
SMALL = "small"
HOMOGENEOUS = "homogeneous"
COMPLEMENT = "complement"
SMALL_REMAINDER = "small_remainder"  # a shown count whose group's size minus it (not shown) is small
UNPUBLISHED = "unpublished"  # a margin no table of the release shows: unknown to the reader from the start
AMOUNT_SMALL = "amount_small"
DOMINANCE = "dominance"

_ROW = "__row"


def amount_flag(column: str) -> str:
    return f"suppressed_{column}"


@dataclass(frozen=True)
class Thresholds:
    """The policy's `disclosure:` settings (defaults in policies/*.yaml; docs/privacy.md).

    k, k_amounts, dominance  the organisation release: minimum group for counts and for amounts, and the
                             largest share one person may hold of an amount
    management_k             the management release (norming review): minimum group; complements only inside
                             each table
    meeting_k                the meeting release (a department's calibration pack): minimum group for the
                             department's own counts (1: none hidden)
    compared_groups          the gender categories compared (women and men, Directive (EU) 2023/970); another
                             category with fewer than k people is left out of the comparison, not protected by
                             hiding the compared ones
    """

    # The defaults are the policy schema's (models.policy.Disclosure): one place for them.
    k: int = _SCHEMA.min_group_size
    k_amounts: int = _SCHEMA.min_group_size_amounts
    dominance: float = _SCHEMA.dominance_share
    management_k: int = _SCHEMA.management_min_group_size or _SCHEMA.min_group_size
    meeting_k: int = _SCHEMA.meeting_min_group_size
    compared_groups: tuple[str, ...] = tuple(_SCHEMA.compared_groups)

    @classmethod
    def from_policy(cls, policy: Policy) -> Thresholds:
        section = policy.typed.disclosure
        return cls(
            k=int(section.min_group_size),
            k_amounts=int(section.min_group_size_amounts),
            dominance=float(section.dominance_share),
            management_k=int(section.management_min_group_size or section.min_group_size),
            meeting_k=int(section.meeting_min_group_size),
            compared_groups=tuple(str(g) for g in section.compared_groups),
        )

    @classmethod
    def strictest(cls, policies: Iterable[Policy]) -> Thresholds:
        """One set of thresholds for tables that mix organisations: the strictest of their policies."""
        found = [cls.from_policy(p) for p in policies]
        if not found:
            return cls()
        return cls(
            k=max(t.k for t in found),
            k_amounts=max(t.k_amounts for t in found),
            dominance=min(t.dominance for t in found),
            management_k=max(t.management_k for t in found),
            meeting_k=max(t.meeting_k for t in found),
            compared_groups=tuple(sorted(set.intersection(*(set(t.compared_groups) for t in found)))),
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
    shown     row-wise expression on the cube: the cells the page shows (None: all). The others take part in
              the equations as ordinary cells (the "without" count of a rate table is its size minus its
              "with" count: known when both are shown) but are not counted in the disclosure report
    unpublished  row-wise expression on the cube: margins that no table of the release shows (a department's
              "with" count when only its groups are published). They are unknowns of the reader's equations
              from the start (reason `unpublished`, never published, not counted in the report): a hidden
              cell inside such a margin needs no complement for that margin's equation, and the exact audit
              checks that nothing small can be pinned through the others
    counted   row-wise expression: the shown rows the disclosure report counts for this table (None: all); a
              table whose rows another table counts already (the same cells, hidden alike) leaves them out
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
    shown: pl.Expr | None = None
    unpublished: pl.Expr | None = None
    counted: pl.Expr | None = None


@dataclass
class ProtectedTable:
    """`cut_points`: with `TableRule.cut_points`, each cut cell (by + dims, the category holding the cut's code,
    `has` "yes" = at or above it, "no" = below) with its `suppressed` flag; never published by this table."""

    frame: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    cells: int = 0
    hidden: int = 0
    cut_points: pl.DataFrame | None = None
    recoded: int = 0  # groups left out or merged before suppression (models.disclosure.recode)
    # For the disclosure report (models.disclosure.report): hidden cells per reason, cells of at least 2k
    # people, and how many of those were hidden as complements.
    reasons: dict[str, int] = field(default_factory=dict)
    large_cells: int = 0
    large_complements: int = 0
    large_remainders: int = 0  # cells of at least 2k people hidden as a small remainder (`SMALL_REMAINDER`)


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
    free: np.ndarray | None = None,
) -> None:
    """Hide more cells until every equation has zero or at least two hidden members and no hidden cell is
    determined by the equations. With `sensitive` (the audit), the cells every solution holds at zero are
    found exactly, so no sensitive cell keeps a single possible value; `width_check` also asks that each can
    move by more than half a person (for tables whose solutions need not be whole numbers).

    `level` (per cell: how many of its dims are totals) makes complements come from the most detailed cells
    first, then the smallest: a total is what a meeting reads, and hiding one organisation-wide cell hid the
    organisation's whole distribution through the chain of its cumulative cut points.

    `free` (per cell): hidden cells that protect nothing of their own (a margin the release never shows): an
    equation whose only hidden member is such a cell gives the reader nothing he may not know, so it needs no
    second hidden member; the audit still sees every equation they are in."""
    if not equations:
        # A table without totals: no hidden cell can be recomputed, so there is nothing to complement (the
        # audit below would find no equation to pin a cell with).
        return
    level = np.zeros(values.size, dtype=np.int64) if level is None else level
    free = np.zeros(values.size, dtype=bool) if free is None else free
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
                if np.count_nonzero(hidden[m]) == 1 and not free[m[hidden[m]]].any():
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
            if (sensitive[c] if sensitive is not None else values[c] != 0 and not free[c])
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
    bounds_check: bool = False,
) -> ProtectedTable:
    """The table as it may be published (see the module docstring).

    `force` holds keys (by + dims, null = total) of cells that must be hidden because the same value is
    hidden in another published table; they count as complementary suppressions. `count_only` holds keys of
    forced cells (add them to `force` too) whose count is hidden only because other tables would give a small
    count back from it: their amounts are not hidden with the count but judged by the amount rules on the true
    count (a complement the count's suppression adds still hides its amounts). `audit=False` skips the
    linear-programming audit (for intermediate rounds only: what is published must be audited).
    `bounds_check` asks of every table what tables whose bounds may be fractional always get: that each small
    cell can move by more than half a person between its linear-programming bounds (for a table with some
    totals unknown and some published, `protect_margins_over_shown`: the zero-or-largest check alone let an
    integer attacker pin cells there)."""
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
    # The rows a page shows, the margins no table shows, and the rows the report counts (never cut cells).
    head = cube.slice(0, published_rows)

    def rows(expr: pl.Expr | None) -> np.ndarray:
        mask = np.zeros(cube.height, dtype=bool)
        mask[:published_rows] = (
            True if expr is None else head.select(expr.fill_null(False)).to_series().to_numpy().astype(bool)
        )
        return mask

    shown = rows(rule.shown)
    unpublished = (
        rows(rule.unpublished) if rule.unpublished is not None else np.zeros(cube.height, dtype=bool)
    )
    shown &= ~unpublished
    counted = shown & rows(rule.counted)
    reasons[unpublished & ~hidden] = UNPUBLISHED
    hidden |= unpublished
    if rule.shown is not None:
        # Small remainder: a shown total = a shown part + a small part the page does not show.
        small_unshown = (reasons == SMALL) & ~shown & ~unpublished
        small_unshown[published_rows:] = False
        for whole, pair in equations:
            if pair.size != 2 or not shown[whole] or hidden[whole]:
                continue
            for mine, other in ((pair[0], pair[1]), (pair[1], pair[0])):
                if small_unshown[other] and shown[mine] and not hidden[mine]:
                    hidden[mine] = True
                    reasons[mine] = SMALL_REMAINDER
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
        bounds_check or _may_be_fractional(cube, rule),
        level=level,
        free=unpublished & ~sensitive,
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
        cells=int(counted.sum()),
        hidden=int((hidden & counted).sum()),
        cut_points=cut_points,
        reasons={
            str(reason): int(np.sum(counted & (reasons == reason)))
            for reason in (SMALL, SMALL_REMAINDER, HOMOGENEOUS, COMPLEMENT)
        },
        large_cells=int(np.sum(counted & (n >= 2 * limits.k))),
        large_complements=int(np.sum(counted & (n >= 2 * limits.k) & (reasons == COMPLEMENT))),
        large_remainders=int(np.sum(counted & (n >= 2 * limits.k) & (reasons == SMALL_REMAINDER))),
    )


def protect_margins_over_shown(
    frame: pl.DataFrame,
    rule: TableRule,
    limits: Thresholds,
    dim: str,
    rounds: int = 3,
    force: pl.DataFrame | None = None,
) -> ProtectedTable:
    """`protect` with the totals over `dim` (rows with `dim` null) published exactly only where that costs no
    complementary cell, and otherwise over the shown cells (:func:`margins_over_shown`): recoding a margin
    rather than hiding a large sibling (issue 16, "totals ... say excluding n < k").

    First every such total is an unknown (`TableRule.unpublished`): a small cell then needs a second hidden
    cell only in the other equations it is in. Then the totals with at least two hidden parts, which a reader
    could not use to recompute one of them, are published exactly and the table protected again; where that
    hides a cell the first pass did not, the totals of the rows it touches stay unknowns, up to `rounds` times
    (else the first pass stands). Every pass is a full `protect` with its audit; `force` as in `protect`."""
    if rule.by and frame.height:
        # Decided per partition (organisation × cycle ...): a round that fails in one cycle must not change
        # what another cycle publishes (a cycle's management release is republished on its own, issue 21).
        parts = [
            _margins_over_shown_pass(part, rule, limits, dim, rounds, force)
            for _, part in frame.sort(list(rule.by), nulls_last=True).group_by(
                list(rule.by), maintain_order=True
            )
        ]
        return concat_protected(parts)
    return _margins_over_shown_pass(frame, rule, limits, dim, rounds, force)


def concat_protected(parts: list[ProtectedTable]) -> ProtectedTable:
    """Protected partitions as one table (their counts added up)."""
    reasons: dict[str, int] = {}
    for part in parts:
        for reason, count in part.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
    notes = list(dict.fromkeys(note for part in parts for note in part.notes))
    return ProtectedTable(
        frame=pl.concat([p.frame for p in parts], how="diagonal_relaxed"),
        notes=notes,
        cells=sum(p.cells for p in parts),
        hidden=sum(p.hidden for p in parts),
        reasons=reasons,
        large_cells=sum(p.large_cells for p in parts),
        large_complements=sum(p.large_complements for p in parts),
        large_remainders=sum(p.large_remainders for p in parts),
    )


def _margins_over_shown_pass(
    frame: pl.DataFrame,
    rule: TableRule,
    limits: Thresholds,
    dim: str,
    rounds: int,
    force: pl.DataFrame | None = None,
) -> ProtectedTable:
    """:func:`protect_margins_over_shown` on one partition."""
    keys = [*rule.by, *rule.dims]
    other = [k for k in keys if k != dim]

    def key(columns: list[str]) -> pl.Expr:
        return pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in columns], separator="\x1f")

    def with_unknown(margins: set[str] | None) -> TableRule:
        unknown = pl.col(dim).is_null()
        if margins is not None:
            unknown = unknown & key(other).is_in(sorted(margins))
        return replace(rule, unpublished=unknown if rule.unpublished is None else rule.unpublished | unknown)

    first = protect(frame, with_unknown(None), limits, force=force, bounds_check=True)

    def hidden_keys(table: ProtectedTable) -> set[str]:
        f = table.frame.filter(pl.col(SUPPRESSED) & (pl.col(REASON) != UNPUBLISHED))
        return set(f.select(key(keys)).to_series().to_list())

    before = hidden_keys(first)
    parts = (
        first.frame.filter(pl.col(dim).is_not_null())
        .group_by(other)
        .agg((pl.col(SUPPRESSED) & (pl.col(REASON) != UNPUBLISHED)).sum().alias("_hidden"))
        .select(key(other).alias("_key"), "_hidden")
    )
    # A total with a single hidden part stays unknown (a margin no page shows stays so through the rule).
    unknown = set(parts.filter(pl.col("_hidden") == 1)["_key"].to_list())
    for _ in range(rounds):
        result = protect(frame, with_unknown(unknown), limits, force=force, bounds_check=True)
        new = hidden_keys(result) - before
        if not new:
            return result
        touched = result.frame.filter(key(keys).is_in(sorted(new)))
        grown = unknown | set(touched.select(key(other)).to_series().to_list())
        if grown == unknown:
            break
        unknown = grown
    return first


SHOWN_TOTAL = "n_shown"  # a margin over the shown cells (`margins_over_shown`)
EXCLUDES_HIDDEN = "excludes_hidden"  # True: that margin leaves out the people of hidden cells ("excl. n < k")


def margins_over_shown(frame: pl.DataFrame, rule: TableRule, dim: str) -> pl.DataFrame:
    """A protected table (`protect`'s output) with its margins over `dim` that `rule.unpublished` made unknowns
    published over the shown cells ("excl. n < k"), recoding rather than hiding siblings (docs/privacy.md).

    The engine treats such a margin as an unknown of the reader's equations, so a small cell inside it needs no
    second hidden cell for that margin's sake. What is published instead is a function of published numbers
    only: where every part of the margin is shown, the margin itself (their sum: nothing hidden, so the exact
    total) in `rule.n`; where some part is hidden, `rule.n` stays hidden and `SHOWN_TOTAL` holds the sum of the
    shown parts with `EXCLUDES_HIDDEN` True, so the page can say "excl. n < k". Neither adds anything a reader
    could not add up himself. A margin with no shown part (all its parts unknowns) stays hidden."""
    keys = [*rule.by, *rule.dims]
    other = [k for k in keys if k != dim]
    n = rule.n
    parts = (
        frame.filter(pl.col(dim).is_not_null())
        .group_by(other)
        .agg(
            pl.col(n).sum().alias("_shown"),
            pl.col(n).is_null().any().alias("_excl"),
            pl.col(n).is_not_null().any().alias("_any"),
        )
    )
    out = frame.join(parts, on=other, how="left", nulls_equal=True)
    margin = pl.col(dim).is_null() & (pl.col(REASON) == UNPUBLISHED) & pl.col("_any").fill_null(False)
    exact = margin & ~pl.col("_excl")
    return out.with_columns(
        pl.when(exact).then(pl.col("_shown")).otherwise(pl.col(n)).alias(n),
        pl.when(margin).then(pl.col("_shown")).otherwise(pl.col(n)).alias(SHOWN_TOTAL),
        (margin & pl.col("_excl")).alias(EXCLUDES_HIDDEN),
        pl.when(exact).then(pl.lit(False)).otherwise(pl.col(SUPPRESSED)).alias(SUPPRESSED),
        pl.when(exact).then(pl.lit(None, dtype=pl.String)).otherwise(pl.col(REASON)).alias(REASON),
    ).drop("_shown", "_excl", "_any")


__all__ = [
    "AMOUNT_SMALL",
    "COMPLEMENT",
    "DOMINANCE",
    "EXCLUDES_HIDDEN",
    "HOMOGENEOUS",
    "REASON",
    "SHOWN_TOTAL",
    "SMALL",
    "SMALL_REMAINDER",
    "SUPPRESSED",
    "UNPUBLISHED",
    "Amount",
    "ProtectedTable",
    "TableRule",
    "Thresholds",
    "amount_flag",
    "margins_over_shown",
    "protect",
    "protect_margins_over_shown",
]
