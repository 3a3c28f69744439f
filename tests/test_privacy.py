"""Disclosure control (models.privacy): small cells, everyone-alike groups, complementary suppression, amounts,
and an automated attacker that tries to recover hidden cells of every published table from its totals and
sibling cells and fails.

The attacker here is written independently of models.privacy: it rebuilds the equations "total = sum of parts"
from the *published* frame alone (nulls are unknowns), then bounds every unknown with linear programs
(scipy HiGHS, with the knowledge that counts are non-negative). A hidden cell is recovered when its lower and
upper bound meet.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from models import privacy
from models.privacy import (
    BUDGET_PEOPLE_COUNTS,
    COMPLEMENT,
    DOMINANCE,
    HOMOGENEOUS,
    REASON,
    SMALL,
    SUPPRESSED,
    Amount,
    TableRule,
    Thresholds,
    amount_flag,
    protect,
    publish_tables,
)

K5 = Thresholds(k=5, k_amounts=10, dominance=0.30)


# ------------------------------------------------------------------------------------------------- attacker
def equations(
    frame: pl.DataFrame, by: tuple[str, ...], dims: tuple[str, ...], totals: tuple[str, ...]
) -> list[tuple[int, list[int]]]:
    """(total row, part rows) for every total in the published frame (rows with null in a total dim)."""
    rows = frame.select([*by, *dims]).rows()
    index: dict[tuple, int] = {row: i for i, row in enumerate(rows)}
    out = []
    for d_pos, dim in enumerate(dims):
        if dim not in totals:
            continue
        parts: dict[tuple, list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            value = row[len(by) + d_pos]
            if value is not None:
                key = (*row[: len(by) + d_pos], None, *row[len(by) + d_pos + 1 :])
                parts[key].append(i)
        for key, members in parts.items():
            if key in index:
                out.append((index[key], members))
    return out


def attack(
    values: list[float | None], eqs: list[tuple[int, list[int]]], targets: list[int]
) -> dict[int, tuple[float, float]]:
    """Bounds [lo, hi] of each target (an unknown) under the equations and non-negativity."""
    unknown = [i for i, v in enumerate(values) if v is None]
    # Connected components of unknowns through shared equations keep every LP small.
    neighbours: dict[int, set[int]] = defaultdict(set)
    relevant = []
    for total, parts in eqs:
        members = [total, *parts]
        hidden = [m for m in members if values[m] is None]
        if hidden:
            relevant.append(members)
            for a in hidden:
                neighbours[a].update(hidden)
    component: dict[int, int] = {}
    for start in unknown:
        if start in component:
            continue
        stack = [start]
        component[start] = start
        while stack:
            cell = stack.pop()
            for other in neighbours[cell]:
                if other not in component:
                    component[other] = start
                    stack.append(other)
    bounds: dict[int, tuple[float, float]] = {}
    for target in targets:
        members_of = [c for c in unknown if component[c] == component[target]]
        local = {c: j for j, c in enumerate(members_of)}
        a_rows, b_rows = [], []
        for members in relevant:
            hidden = [m for m in members if values[m] is None]
            if not hidden or component[hidden[0]] != component[target]:
                continue
            row = np.zeros(len(local))
            known = 0.0
            for sign, cell in [(-1.0, members[0])] + [(1.0, m) for m in members[1:]]:
                if values[cell] is None:
                    row[local[cell]] += sign
                else:
                    known += sign * float(values[cell])  # type: ignore[arg-type]
            a_rows.append(row)
            b_rows.append(-known)
        if not a_rows:
            bounds[target] = (0.0, float("inf"))
            continue
        objective = np.zeros(len(local))
        objective[local[target]] = 1.0
        a_eq, b_eq = np.array(a_rows), np.array(b_rows)
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        lo = low.fun if low.status == 0 else 0.0
        hi = -high.fun if high.status == 0 else float("inf")
        bounds[target] = (float(lo), float(hi))
    return bounds


def assert_not_recovered(
    published: pl.DataFrame,
    truth: pl.DataFrame,
    by: tuple[str, ...],
    dims: tuple[str, ...],
    totals: tuple[str, ...],
    value: str,
    k: int,
    limit: int | None = None,
) -> int:
    """Attack `published` and check that no hidden cell from 1..k-1 people (and no hidden cell of an
    everyone-alike group) is pinned down. `truth` holds the true values on the same keys. Returns the number
    of cells attacked."""
    keys = [*by, *dims]
    joined = published.select([*keys, value, REASON]).join(
        truth.select([*keys, pl.col(value).alias("_true")]), on=keys, how="left", nulls_equal=True
    )
    values = joined[value].to_list()
    true = joined["_true"].to_list()
    reasons = joined[REASON].to_list()
    eqs = equations(joined, by, dims, totals)
    targets = [
        i
        for i, v in enumerate(values)
        if v is None
        and true[i] is not None
        and ((0 < true[i] < k) or (reasons[i] == HOMOGENEOUS and true[i] > 0))
    ]
    if limit is not None and len(targets) > limit:
        step = len(targets) / limit
        targets = [targets[int(j * step)] for j in range(limit)]
    bounds = attack(values, eqs, targets)
    for target in targets:
        lo, hi = bounds[target]
        assert lo - 1e-6 <= true[target] <= hi + 1e-6, "the attacker's bounds must hold the true value"
        assert hi - lo > 0.5, f"hidden cell {joined.row(target)[: len(keys)]} was recovered from the totals"
    return len(targets)


def cube_truth(
    frame: pl.DataFrame, by: tuple[str, ...], dims: tuple[str, ...], totals: tuple[str, ...], value: str
) -> pl.DataFrame:
    """The true table with every total (independent of models.privacy: plain group sums)."""
    parts = [frame.select([*by, *dims, value])]
    for size in range(1, len(totals) + 1):
        for subset in itertools.combinations(totals, size):
            group = [c for c in (*by, *dims) if c not in subset]
            agg = (
                frame.group_by(group).agg(pl.col(value).sum()) if group else frame.select(pl.col(value).sum())
            )
            parts.append(agg.with_columns([pl.lit(None, dtype=frame.schema[d]).alias(d) for d in subset]))
    return pl.concat(parts, how="diagonal_relaxed")


# ------------------------------------------------------------------------------------------------- unit rules
def grid(counts: dict[str, list[int]], ratings: list[str]) -> pl.DataFrame:
    rows = []
    for dept, values in counts.items():
        for rating, n in zip(ratings, values, strict=True):
            rows.append({"organization": "o", "cycle": 2024, "department": dept, "rating": rating, "n": n})
    return pl.DataFrame(rows)


RULE_2D = TableRule(
    dims=("department", "rating"), totals=("department", "rating"), category="rating", complete=True
)


def cell(frame: pl.DataFrame, department: str | None, rating: str | None) -> dict:
    dep = pl.col("department").is_null() if department is None else pl.col("department") == department
    rat = pl.col("rating").is_null() if rating is None else pl.col("rating") == rating
    return frame.filter(dep & rat).row(0, named=True)


def test_small_cells_are_hidden_zeros_and_large_cells_shown() -> None:
    frame = grid({"A": [0, 3, 20, 9], "B": [6, 7, 30, 12], "C": [5, 8, 25, 10]}, ["r1", "r2", "r3", "r4"])
    out = protect(frame, RULE_2D, K5).frame
    small = cell(out, "A", "r2")
    assert small["n"] is None and small[SUPPRESSED] and small[REASON] == SMALL
    zero = cell(out, "A", "r1")
    assert zero["n"] == 0 and not zero[SUPPRESSED]
    assert cell(out, "B", "r3")["n"] == 30
    # The totals were added: department, rating and the organisation.
    assert cell(out, "B", None)["n"] == 55
    assert cell(out, None, None)["n"] == sum([0, 3, 20, 9, 6, 7, 30, 12, 5, 8, 25, 10])


def test_a_single_hidden_cell_in_a_row_gets_a_complement() -> None:
    frame = grid({"A": [2, 40, 30], "B": [6, 7, 30], "C": [8, 9, 25]}, ["r1", "r2", "r3"])
    out = protect(frame, RULE_2D, K5).frame
    row = out.filter((pl.col("department") == "A") & pl.col("rating").is_not_null())
    assert row[SUPPRESSED].sum() >= 2, "one hidden cell next to a published total can be recomputed"
    column = out.filter((pl.col("rating") == "r1") & pl.col("department").is_not_null())
    assert column[SUPPRESSED].sum() >= 2
    # The complement in the row is the smallest other non-zero cell (30 rather than 40).
    assert cell(out, "A", "r3")[REASON] == COMPLEMENT
    assert cell(out, "A", "r2")[SUPPRESSED] is False


def test_everyone_alike_hides_the_whole_distribution_including_zeros() -> None:
    frame = grid({"A": [0, 12, 0], "B": [6, 7, 30], "C": [8, 9, 25]}, ["r1", "r2", "r3"])
    out = protect(frame, RULE_2D, K5).frame
    row = out.filter((pl.col("department") == "A") & pl.col("rating").is_not_null())
    assert row[SUPPRESSED].all(), "twelve people all rated r2: showing the zeros reveals each rating"
    assert set(row[REASON].to_list()) == {HOMOGENEOUS}
    assert cell(out, "A", None)["n"] == 12, "the department's size itself may be shown"


def test_homogeneous_expression_for_tables_of_means() -> None:
    frame = pl.DataFrame(
        {
            "organization": ["o"] * 3,
            "cycle": [2024] * 3,
            "unit": ["a", "b", "c"],
            "n": [9, 20, 30],
            "sd": [0.0, 1.1, 0.9],
        }
    )
    rule = TableRule(dims=("unit",), totals=("unit",), protect=("sd",), homogeneous=pl.col("sd") == 0)
    out = protect(frame, rule, K5).frame
    assert out.filter(pl.col("unit") == "a")[REASON][0] == HOMOGENEOUS
    assert out.filter(pl.col("unit") == "a")["sd"][0] is None
    assert out.filter(pl.col("unit").is_not_null())[SUPPRESSED].sum() == 2, (
        "a single hidden unit needs a partner"
    )


def test_linear_check_catches_a_chain_the_row_and_column_rule_misses() -> None:
    """Two 2×2 blocks of hidden cells joined by one cell: every row and column holds two hidden cells, yet the
    joining cell is fixed by the equations. The exact check must hide more."""
    hidden = np.zeros(7, dtype=bool)
    # cells 0..6; equations: a simple bridge structure
    members = [
        np.array([0, 1, 2]),  # x0 = x1 + x2 (both parts hidden)
        np.array([3, 1, 4]),  # x3 = x1 + x4
        np.array([5, 2, 6]),  # x5 = x2 + x6
    ]
    hidden[[1, 2]] = True
    assert privacy._determined(hidden, members) == [1, 2], "x0 and x3 known → x1, then x2 follow"
    reasons = np.array([None] * 7, dtype=object)
    values = np.array([9.0, 4.0, 5.0, 10.0, 6.0, 12.0, 7.0])
    privacy._complement(values, hidden, [(int(m[0]), m[1:]) for m in members], reasons)
    assert privacy._determined(hidden, members) == []


def test_an_equation_of_zeros_takes_no_complement_from_elsewhere() -> None:
    """x1 (a hidden zero of a group where everyone is alike) = x0, a published zero: nothing hidden anywhere
    else gives that equation a second hidden member, so the rule must not look further out. Before, it hid
    one neighbour per pass (here the row x2 = x1 + x3 + x4) until none was left."""
    values = np.array([0.0, 0.0, 60.0, 20.0, 40.0])
    members = [np.array([0, 1]), np.array([2, 1, 3, 4])]
    hidden = np.array([False, True, False, False, False])
    reasons = np.array([None, HOMOGENEOUS, None, None, None], dtype=object)
    privacy._complement(values, hidden, [(int(m[0]), m[1:]) for m in members], reasons)
    # The row gets a complement (the smaller part), and as x1 is known to be zero the other part too; the
    # row's total stays published.
    assert np.flatnonzero(hidden).tolist() == [1, 3, 4]
    assert reasons[3] == COMPLEMENT


def test_bound_check_finds_zeros_only_non_negativity_pins() -> None:
    """a + b = 5, x + e = 5 and a + x = 10 with a = x = 5 and b = e = 0 hidden: no single equation has only
    zeros, but together they say b + e = 0, so both are zero and then a and x follow. The simple sweep misses
    it; the exact bound program must not."""
    cells = {"t1": 0, "a": 1, "b": 2, "t2": 3, "x": 4, "e": 5, "t3": 6}
    values = np.array([5.0, 5.0, 0.0, 5.0, 5.0, 0.0, 10.0])
    members = [np.array([0, 1, 2]), np.array([3, 4, 5]), np.array([6, 1, 4])]
    hidden = np.zeros(7, dtype=bool)
    hidden[[cells["a"], cells["b"], cells["x"], cells["e"]]] = True
    assert not privacy._known_zeros(hidden, members, values).any()
    assert np.flatnonzero(privacy._fixed_at_bounds(hidden, members, values)).tolist() == [2, 5]
    assert privacy._determined(hidden, members, values=values, exact_bounds=True) == [1, 4]
    assert privacy._determined(hidden, members, values=values) == [], "the sweep alone sees nothing"
    # Independent check with the attacker's linear programs: a is pinned to 5.
    bounds = attack([5.0, None, None, 5.0, None, None, 10.0], [(0, [1, 2]), (3, [4, 5]), (6, [1, 4])], [1])
    assert bounds[1] == pytest.approx((5.0, 5.0))


def test_amounts_need_ten_people_and_no_dominant_person() -> None:
    frame = pl.DataFrame(
        {
            "organization": ["o"] * 4,
            "cycle": [2024] * 4,
            "department": ["A", "B", "C", "D"],
            "headcount": [30, 30, 30, 30],
            "people": [12, 6, 15, 20],
            "cost": [12000.0, 6000.0, 15000.0, 20000.0],
            "largest": [1500.0, 1000.0, 9000.0, 1200.0],
        }
    )
    rule = TableRule(
        dims=("department",),
        n="headcount",
        totals=("department",),
        amounts=(Amount("cost", max_column="largest", n_column="people"),),
    )
    result = protect(frame, rule, K5)
    out = result.frame.filter(pl.col("department").is_not_null())
    by_dept = {r["department"]: r for r in out.iter_rows(named=True)}
    assert by_dept["B"]["cost"] is None and by_dept["B"][REASON] is None, (
        "six people: amount hidden, count shown"
    )
    assert by_dept["C"]["cost"] is None, "one person holds 60% of the amount"
    assert "largest" not in result.frame.columns, "the largest single contribution is never published"
    assert out[amount_flag("cost")].sum() >= 2
    assert not any("dominance" in note for note in result.notes)
    # Without the largest-contribution column only the people rule applies, and the notes say so.
    plain = protect(
        frame.drop("largest"),
        TableRule(
            dims=("department",),
            n="headcount",
            totals=("department",),
            amounts=(Amount("cost", n_column="people"),),
        ),
        K5,
    )
    assert any("dominance" in note for note in plain.notes)
    assert DOMINANCE == "dominance"


def test_forced_cells_are_hidden() -> None:
    frame = grid({"A": [10, 12, 30], "B": [6, 7, 30], "C": [8, 9, 25]}, ["r1", "r2", "r3"])
    force = pl.DataFrame(
        {"organization": ["o"], "cycle": [2024], "department": ["A"], "rating": [None]},
        schema_overrides={"rating": pl.String},
    )
    out = protect(frame, RULE_2D, K5, force=force).frame
    assert cell(out, "A", None)[SUPPRESSED]


def test_thresholds_come_from_the_policy() -> None:
    from models.config import load_settings
    from models.policy import policy_for

    settings = load_settings()
    for org in settings.organizations:
        limits = Thresholds.from_policy(policy_for(settings, org))
        assert (limits.k, limits.k_amounts, limits.dominance) == (5, 10, 0.30)


def test_the_attacker_recovers_cells_when_only_small_cells_are_hidden() -> None:
    """The attacker is real: without complementary suppression it gets the small cells back."""
    frame = grid({"A": [2, 40, 30], "B": [6, 7, 30], "C": [8, 9, 25]}, ["r1", "r2", "r3"])
    truth = cube_truth(
        frame, ("organization", "cycle"), ("department", "rating"), ("department", "rating"), "n"
    )
    naive = truth.with_columns(
        pl.when((pl.col("n") > 0) & (pl.col("n") < 5)).then(None).otherwise(pl.col("n")).alias("n"),
        pl.when((pl.col("n") > 0) & (pl.col("n") < 5)).then(pl.lit(SMALL)).alias(REASON),
    )
    with pytest.raises(AssertionError, match="recovered"):
        assert_not_recovered(
            naive,
            truth,
            ("organization", "cycle"),
            ("department", "rating"),
            ("department", "rating"),
            "n",
            5,
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=14), min_size=3, max_size=3), min_size=2, max_size=5
    ),
    st.lists(st.integers(min_value=0, max_value=9), min_size=2, max_size=5),
)
def test_attacker_fails_on_random_tables(counts: list[list[int]], levels: list[int]) -> None:
    """Random department × level × rating tables with every total published: nothing hidden comes back."""
    rows = []
    for d, row in enumerate(counts):
        for lev in range(2):
            for r, n in enumerate(row):
                rows.append({"organization": "o", "cycle": 2024, "department": f"d{d}", "level": f"L{lev}", "rating": f"r{r}",
                             "n": n if lev == 0 else levels[d % len(levels)] * (r == 1)})  # fmt: skip
    frame = pl.DataFrame(rows)
    dims = ("department", "level", "rating")
    rule = TableRule(dims=dims, totals=dims, category="rating", complete=True)
    out = protect(frame, rule, K5).frame
    truth = cube_truth(frame, ("organization", "cycle"), dims, dims, "n")
    assert_not_recovered(out, truth, ("organization", "cycle"), dims, dims, "n", 5)


# ------------------------------------------------------------------------------------------------- publication
def hand_sources(hostile: str = "Afdeling Noord") -> dict[str, pl.DataFrame]:
    """Small marts of one organisation, shaped like the real ones."""
    ratings = ["slecht", "matig", "normaal", "zeer_goed", "uitstekend"]
    counts = {hostile: {"S05": [0, 1, 9, 3, 1], "S09": [0, 2, 12, 6, 2]}, "Zuid": {"S05": [1, 0, 14, 5, 0], "S09": [0, 3, 8, 8, 4]},
              "West": {"S05": [0, 0, 6, 0, 0], "S09": [0, 1, 11, 7, 1]}}  # fmt: skip
    rows = []
    for dept, levels in counts.items():
        for level, values in levels.items():
            for pos, (code, n) in enumerate(zip(ratings, values, strict=True)):
                rows.append({"unit": f"{dept} × {level}", "rating": code, "position": pos + 1, "count": n})
    rd = pl.DataFrame(rows).with_columns(
        pl.lit("zeeland-demo").alias("organization"),
        pl.lit(2024, dtype=pl.Int64).alias("cycle"),
        pl.lit("rating").alias("measure"),
        pl.lit("department_function_level").alias("grouping"),
    )
    org = rd.group_by("organization", "cycle", "measure", "rating", "position").agg(pl.col("count").sum()).with_columns(
        pl.lit("organization").alias("grouping"), pl.lit("zeeland-demo").alias("unit"), pl.col("rating").str.to_titlecase().alias("label_nl"),
        pl.col("rating").alias("label_en"), pl.lit(0.2).alias("guideline_share"),
    )  # fmt: skip
    budget = pl.DataFrame(
        {
            "organization": ["zeeland-demo"] * 4,
            "cycle": [2024] * 4,
            "level": ["afdeling", "afdeling", "afdeling", "organisatie"],
            "department": [hostile, "Zuid", "West", "(totaal)"],
            "headcount": [36, 43, 26, 105],
            "payroll": [1.8e6, 2.1e6, 1.2e6, 5.1e6],
            "structural_costed": [36, 43, 26, 105],
            "structural_cost_full_year": [60000.0, 70000.0, 40000.0, 170000.0],
            "incidental_awards": [12, 4, 3, 19],
            "incidental_cost": [20000.0, 7000.0, 5000.0, 32000.0],
            "incidental_budget": [13500.0, 15750.0, 9000.0, 38250.0],
            "structural_budget": [50400.0, 58800.0, 33600.0, 142800.0],
        }
    )
    findings = pl.DataFrame(
        {
            "organization": ["zeeland-demo"] * 4,
            "cycle": [2024] * 4,
            "department": [hostile, "Zuid", "West", hostile],
            "rule": ["Z-8", "Z-8", "Z-8", "Z-12"],
            "check": ["argumentation_missing"] * 3 + ["conversation_late"],
            "severity": ["medium"] * 4,
            "n": [2, 7, 6, 9],
        }
    )
    return {
        "marts.rating_distribution": pl.concat([rd, org], how="diagonal_relaxed"),
        "marts.budget": budget,
        "marts.compliance_findings": findings,
    }


def test_publish_tables_protects_every_table_and_notes_missing_marts() -> None:
    published = publish_tables(hand_sources(), {"zeeland-demo": K5})
    assert {"ratings", "rating_scale", "budget", "findings"} <= set(published.tables)
    assert any("marts.fairness" in note for note in published.notes), "absent marts are named, not fatal"
    ratings = published.tables["ratings"]
    visible = ratings.filter(pl.col("n").is_not_null() & pl.col("rating").is_not_null())
    assert ((visible["n"] == 0) | (visible["n"] >= 5)).all()
    budget = published.tables["budget"]
    small = budget.filter(pl.col("department") == "Zuid").row(0, named=True)
    assert small["incidental_cost"] is None, "four awards: the amount is hidden"
    # People counts behind the amounts have no small-cell rule of their own: they are not published.
    assert not set(BUDGET_PEOPLE_COUNTS) & set(budget.columns)
    shown = published.tables["findings"]["n"].drop_nulls()
    assert ((shown == 0) | (shown >= 5)).all(), "two people with a finding must not be shown"


def _with_process(sources: dict[str, pl.DataFrame], unrated: list[int]) -> dict[str, pl.DataFrame]:
    """`hand_sources` with a process mart (and budget headcounts) whose departments have `unrated` people
    without a rating on top of their rated ones."""
    departments = ["Afdeling Noord", "Zuid", "West"]
    rated = [36, 43, 26]
    sizes = [r + u for r, u in zip(rated, unrated, strict=True)]
    process = pl.DataFrame(
        {
            "organization": ["zeeland-demo"] * 3,
            "cycle": [2024] * 3,
            "department": departments,
            "n": sizes,
            "planning_held": [s - 6 for s in sizes],
            "ratings_missing": unrated,
        }
    ).with_columns(
        (pl.col("planning_held") / pl.col("n")).alias("planning_held_share"),
        (pl.col("ratings_missing") / pl.col("n")).alias("ratings_missing_share"),
    )
    budget = sources["marts.budget"].with_columns(
        pl.Series("headcount", [*sizes, sum(sizes)]), pl.Series("structural_costed", [*sizes, sum(sizes)])
    )
    return {**sources, "marts.process_status": process, "marts.budget": budget}


def test_organisation_size_is_hidden_where_its_unrated_count_is_small() -> None:
    """3 people without a rating in the organisation: its size (process page, budget headcount) minus its rated
    total in `ratings` would give 3 back. Both sizes are hidden, with one department of unrated people (the
    department sizes add up to the organisation's); the organisation's money stays."""
    published = publish_tables(_with_process(hand_sources(), [2, 0, 1]), {"zeeland-demo": K5})
    ratings = published.tables["ratings"].filter(
        pl.col("department").is_null() & pl.col("function_level").is_null() & pl.col("rating").is_null()
    )
    # The rated total stays: exact, or (where an exact total would cost a complement in `ratings`' own
    # distribution) over its shown cells, never hidden for the process page's sake (docs/privacy.md).
    total = ratings.row(0, named=True)
    assert total["n"] == 105 or (total["excludes_hidden"] and 0 < total["n_shown"] < 105), total
    assert total["suppressed_reason"] in (None, "unpublished"), "the rated total stays"
    process = published.tables["process"]
    for department in (None, "West"):
        sizes = process.filter(pl.col("department").eq_missing(department))
        assert sizes.height == 2 and sizes["group_n"].is_null().all(), (
            f"{department} size hidden in every metric"
        )
    assert process.filter(pl.col("department") == "Zuid")["group_n"].to_list() == [43, 43]
    budget = published.tables["budget"]
    for department in (None, "West"):
        row = budget.filter(pl.col("department").eq_missing(department)).row(0, named=True)
        assert row["headcount"] is None and row[SUPPRESSED]
        assert row["payroll"] is not None and not row[amount_flag("payroll")], "the money stays"
    assert budget.filter(pl.col("department") == "Zuid")["headcount"].to_list() == [43]
    # 5 people without a rating: nothing to hide at organisation level
    published = publish_tables(_with_process(hand_sources(), [3, 0, 2]), {"zeeland-demo": K5})
    process = published.tables["process"].filter(pl.col("department").is_null())
    assert process["group_n"].to_list() == [110, 110]
    budget = published.tables["budget"].filter(pl.col("department").is_null())
    assert budget["headcount"].to_list() == [110]


def test_attacker_fails_on_the_hand_built_publication() -> None:
    sources = hand_sources()
    published = publish_tables(sources, {"zeeland-demo": K5})
    rd = sources["marts.rating_distribution"].filter(pl.col("grouping") == "department_function_level")
    cells = rd.with_columns(
        pl.col("unit").str.extract(r"^(.*) × ([^×]*)$", 1).alias("department"),
        pl.col("unit").str.extract(r"^(.*) × ([^×]*)$", 2).alias("function_level"),
        pl.col("count").alias("n"),
    )
    rule = privacy.RATINGS_RULE
    truth = cube_truth(cells, rule.by, rule.dims, rule.totals, "n")
    attacked = assert_not_recovered(
        published.tables["ratings"], truth, rule.by, rule.dims, rule.totals, "n", 5
    )
    assert attacked > 0


# ------------------------------------------------------------------------------------------------- the sample run
def test_sample_publication_has_every_table(sample_publication) -> None:  # type: ignore[no-untyped-def]
    sources, published = sample_publication
    for name, needed in privacy.PUBLICATION_SOURCES.items():
        if all(s in sources for s in needed):
            assert name in published.tables, f"{name} should be published from {needed}"


def test_sample_counts_follow_the_small_cell_rule(sample_publication) -> None:  # type: ignore[no-untyped-def]
    _, published = sample_publication
    for name, column in (("ratings", "n"), ("transitions", "count"), ("findings", "n")):
        if name not in published.tables:
            continue
        shown = published.tables[name][column].drop_nulls()
        assert ((shown == 0) | (shown >= 5)).all(), f"{name}: a published cell from 1 to 4 people"
    if "fairness" in published.tables:
        fair = published.tables["fairness"].filter(pl.col("rate").is_not_null())
        assert (fair["count"] >= 5).all() and ((fair["group_n"] - fair["count"]) >= 5).all()
        assert ((fair["rate"] > 0) & (fair["rate"] < 1)).all(), (
            "a group in which everyone had the same outcome"
        )


def test_sample_organisation_wide_distribution_hides_at_most_one_complement(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """The organisation-wide distribution is what a calibration meeting starts from. Its small cells are
    hidden, and one complement when needed; no more cells should go to protect cells elsewhere. (Before, a
    lone zero equation took a new complement from its neighbours on every pass, and through the chain of the
    organisation-wide cut points three of Zeeland's five ratings were hidden where one complement does.)"""
    _, published = sample_publication
    ratings = published.tables["ratings"].filter(
        pl.col("department").is_null()
        & pl.col("function_level").is_null()
        & (pl.col("measure") == "rating")
        & pl.col("rating").is_not_null()
    )
    complements = ratings.group_by("organization", "cycle").agg(
        (pl.col(REASON) == COMPLEMENT).sum().alias("c")
    )
    assert complements.height >= 6
    assert complements["c"].max() <= 1, complements.sort("organization", "cycle").to_dicts()


def test_sample_units_on_the_funnel_wherever_they_hold_k_people(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """Management release (docs/privacy.md): a department or function level is on the funnel plot when it holds
    k people who did not all get the same rating, whatever the organisation-wide `ratings` table hides; a
    smaller or everyone-alike unit keeps only its verdict."""
    sources, published = sample_publication
    units = published.tables["units"].filter(pl.col("grouping").is_in(["department", "function_level"]))
    keys = ["organization", "cycle", "measure", "grouping", "unit"]
    truth = sources["marts.unit_deviation"].select(*keys, pl.col("n").alias("_n"))
    alike = (
        sources["marts.rating_distribution"]
        .filter(pl.col("grouping").is_in(["department", "function_level"]))
        .group_by(keys)
        .agg(((pl.col("count") > 0).sum() <= 1).alias("_alike"))
    )
    checked = units.join(truth, on=keys, how="left").join(alike, on=keys, how="left")
    should_show = (pl.col("_n") >= K5.k) & ~pl.col("_alike").fill_null(True)
    assert checked.filter(should_show & pl.col("adjusted_mean").is_null()).height == 0, "a unit is missing"
    shown_wrongly = checked.filter(
        ~should_show & (pl.col("adjusted_mean").is_not_null() | pl.col("n").is_not_null())
    )
    assert shown_wrongly.height == 0, "a small or everyone-alike unit shows its mean or size"
    assert checked.filter(should_show).height > 0


def _attack_rule_table(
    published: pl.DataFrame, truth_cells: pl.DataFrame, rule: TableRule, value: str, limit: int
) -> int:
    truth = cube_truth(truth_cells, rule.by, rule.dims, rule.totals, value)
    return assert_not_recovered(published, truth, rule.by, rule.dims, rule.totals, value, 5, limit=limit)


def test_attacker_fails_on_every_published_count_table_of_the_sample(sample_publication) -> None:  # type: ignore[no-untyped-def]
    sources, published = sample_publication
    attacked = {}
    # ratings: department × band of function levels × rating (small levels merged into bands first)
    from models.releases.calibration import banded_department_levels

    cells = banded_department_levels(sources, K5.k)
    attacked["ratings"] = _attack_rule_table(
        published.tables["ratings"], cells, privacy.RATINGS_RULE, "n", 150
    )
    # transitions: from × to rating
    tr = sources["marts.rating_transitions"]
    attacked["transitions"] = _attack_rule_table(
        published.tables["transitions"], tr, privacy.TRANSITIONS_RULE, "count", 150
    )
    # findings: people per rule and department (complete grid, as published)
    fi = sources["marts.compliance_findings"]
    grid = (
        fi.select("organization", "cycle", "rule", "check", "severity")
        .unique()
        .join(fi.select("organization", "cycle", "department").unique(), on=["organization", "cycle"])
    )
    fi = grid.join(
        fi, on=["organization", "cycle", "rule", "check", "severity", "department"], how="left"
    ).with_columns(pl.col("n").fill_null(0))
    attacked["findings"] = _attack_rule_table(
        published.tables["findings"], fi, privacy.FINDINGS_RULE, "n", 150
    )
    # budget: amounts per department with the organisation total
    bu = sources["marts.budget"].filter(pl.col("level") == "afdeling")
    for amount in ("incidental_cost", "structural_cost_full_year", "payroll"):
        table = published.tables["budget"].with_columns(pl.col(amount).alias("_v"))
        truth = cube_truth(
            bu.with_columns(pl.col(amount).alias("_v")),
            ("organization", "cycle"),
            ("department",),
            ("department",),
            "_v",
        )
        flagged = table.with_columns(pl.when(pl.col(amount_flag(amount))).then(pl.lit(SMALL)).alias(REASON))
        # Every hidden amount must keep a range: attack each of them (no value is "small" by count here).
        attacked[f"budget.{amount}"] = _attack_amounts(flagged, truth)
    assert all(v >= 0 for v in attacked.values())
    assert attacked["ratings"] > 0 and attacked["findings"] > 0, "the sample must contain hidden small cells"


def _attack_amounts(published: pl.DataFrame, truth: pl.DataFrame) -> int:
    keys = ["organization", "cycle", "department"]
    joined = published.select([*keys, "_v"]).join(
        truth.select([*keys, pl.col("_v").alias("_true")]), on=keys, how="left", nulls_equal=True
    )
    values = joined["_v"].to_list()
    eqs = equations(joined, ("organization", "cycle"), ("department",), ("department",))
    targets = [i for i, v in enumerate(values) if v is None and joined["_true"][i] not in (None, 0)]
    bounds = attack(values, eqs, targets)
    for t in targets:
        lo, hi = bounds[t]
        assert hi - lo > 1.0, "a hidden amount was recovered from the organisation total"
    return len(targets)


def test_attacker_fails_on_fairness_and_process_cubes_of_the_sample(sample_publication) -> None:  # type: ignore[no-untyped-def]
    _, published = sample_publication
    by_f = ("organization", "cycle", "outcome", "attribute")
    fair = published.tables["fairness"]
    binary = fair.filter((pl.col("scope") == "overall") & (pl.col("outcome_kind") == "binary"))[
        "outcome"
    ].unique()
    fair = fair.filter(pl.col("outcome").is_in(binary.to_list()))
    overall = fair.filter(pl.col("scope") == "overall").with_columns(
        pl.lit(None, dtype=pl.String).alias("stratum")
    )
    targets = 0
    for scope in ("function_level", "department"):  # each stratification's cube with the shared overall rows
        within = fair.filter(pl.col("scope") == scope)
        rows = pl.concat(
            [
                overall.select(*by_f, "stratum", "group_value", "group_n", "count"),
                within.select(*by_f, "stratum", "group_value", "group_n", "count"),
            ]
        )
        cube = _has_cube(rows, by_f, ("stratum", "group_value"))
        # Within-stratum attacks need the per-stratum totals of the whole organisation, which the page does not
        # show: give them to the attacker anyway (a stronger attacker), from the published overall rows where
        # known.
        targets += _attack_unknown_cube(cube, by_f, ("stratum", "group_value", "has"), limit=120)
    process = published.tables["process"]
    cube = _has_cube(
        process.select("organization", "cycle", "metric", "department", "group_n", "count"),
        ("organization", "cycle", "metric"),
        ("department",),
    )
    targets += _attack_unknown_cube(
        cube, ("organization", "cycle", "metric"), ("department", "has"), limit=120
    )
    assert targets >= 0


def _has_cube(rows: pl.DataFrame, by: tuple[str, ...], dims: tuple[str, ...]) -> pl.DataFrame:
    """Published (group_n, count) rows as a cube with has ∈ {yes, no, null}: the "no" cell is known only
    when both the group size and the count are shown."""
    yes = rows.select(*by, *dims, pl.lit("yes").alias("has"), pl.col("count").alias("v"))
    no = rows.select(*by, *dims, pl.lit("no").alias("has"), (pl.col("group_n") - pl.col("count")).alias("v"))
    total = rows.select(*by, *dims, pl.lit(None, dtype=pl.String).alias("has"), pl.col("group_n").alias("v"))
    return pl.concat([yes, no, total]).unique([*by, *dims, "has"], keep="first")


def _attack_unknown_cube(cube: pl.DataFrame, by: tuple[str, ...], dims: tuple[str, ...], limit: int) -> int:
    """Without the truth at hand, check that no unknown cell is pinned to a value from 1 to 4."""
    values = cube["v"].to_list()
    eqs = equations(cube, by, dims, dims)
    targets = [i for i, v in enumerate(values) if v is None]
    if len(targets) > limit:
        step = len(targets) / limit
        targets = [targets[int(j * step)] for j in range(limit)]
    bounds = attack(values, eqs, targets)
    for t in targets:
        lo, hi = bounds[t]
        pinned = hi - lo <= 0.5
        assert not (pinned and 0.5 < lo < 4.5), (
            f"hidden cell {cube.row(t)[: len(by) + len(dims)]} recovered as a small count"
        )
    return len(targets)


# ------------------------------------------------------------------------------------------------- calibration impact
MOVES_BY = ("organization", "cycle", "direction", "attribute")
COMPARISONS = ("odds_ratio", "within_level_odds_ratio", "within_level_ci_low", "within_level_ci_high", "q_value",
               "within_level_q_value", "flag", "finding_nl", "finding_en")  # fmt: skip


def impact_marts(org: str = "zeeland-demo", hostile: str = "Afdeling Noord") -> dict[str, pl.DataFrame]:
    """Small calibration impact marts of one organisation and cycle (the shapes of models.calibration_impact)."""
    key = {"organization": org, "period": "cycle", "first_cycle": 2024, "cycle": 2024}
    impact = pl.DataFrame(
        {**key, "grouping": ["department"] * 3 + ["organization"], "unit": [hostile, "Zuid", "West", org],
         "n": [36, 43, 26, 105], "n_down": [3, 8, 0, 11], "n_up": [6, 2, 0, 8], "n_unchanged": [27, 33, 26, 86]}
    )  # fmt: skip
    distribution = pl.DataFrame(
        {**key, "grouping": "organization", "unit": org, "rating": ["slecht", "matig", "normaal", "zeer_goed", "uitstekend"],
         "rating_position": [1, 2, 3, 4, 5], "n": 105, "n_proposed": [0, 3, 70, 22, 10], "n_final": [2, 6, 71, 20, 6]}
    )  # fmt: skip
    groups = [("gender", "F", 50, "M"), ("gender", "M", 52, "M"), ("gender", "X", 3, "M"),
              ("age_band", "<30", 4, "30-49"), ("age_band", "30-49", 60, "30-49"), ("age_band", "50+", 41, "30-49"),
              ("function_level", "S05", 45, "rest_of_organisation"), ("function_level", "S09", 60, "rest_of_organisation")]  # fmt: skip
    down = {"F": 7, "M": 4, "X": 0, "<30": 1, "30-49": 6, "50+": 4, "S05": 5, "S09": 6}
    up = {"F": 5, "M": 3, "X": 0, "<30": 0, "30-49": 6, "50+": 2, "S05": 2, "S09": 6}
    rows = []
    for direction, counts in (("down", down), ("up", up)):
        for attribute, group, n, reference in groups:
            rest = reference == "rest_of_organisation"
            ref_n = 105 - n if rest else next(g[2] for g in groups if g[1] == reference)
            rows.append({**key, "direction": direction, "attribute": attribute, "group_value": group, "n": n,
                         "count": counts[group], "is_reference": group == reference, "reference_group": reference,
                         "reference_n": ref_n, "rate_ci_low": 0.01234, "rate_ci_high": 0.25678,
                         "odds_ratio": None if group == reference else 1.23456,
                         "within_level_odds_ratio": None if group == reference or rest else 1.34567,
                         "within_level_ci_low": None if group == reference or rest else 0.45678,
                         "within_level_ci_high": None if group == reference or rest else 3.45678,
                         "q_value": None if group == reference else 0.123456, "within_level_q_value": None,
                         "flag": group == "F" and direction == "down",
                         "finding_nl": "Vrouwen werden vaker omlaag gezet." if group == "F" and direction == "down" else None,
                         "finding_en": "Women were moved down more often." if group == "F" and direction == "down" else None})  # fmt: skip
    # A department and an evaluator (never published by group), and a pooled window (not shown on the site).
    rows.append(
        {**key, "direction": "down", "attribute": "evaluator", "group_value": "pe1", "n": 3, "count": 1}
    )
    rows.append(
        {
            **key,
            "period": "window",
            "direction": "down",
            "attribute": "gender",
            "group_value": "F",
            "n": 99,
            "count": 9,
        }
    )
    spread = pl.DataFrame(
        {**key, "measure": ["unit_sd", "group_gap", "group_gap", "group_gap"],
         "dimension": ["department", "gender", "gender", "age_band"], "group_value": [None, "F", "X", "<30"],
         "reference_group": [None, "M", "M", "30-49"], "units": [3, None, None, None], "n": [105, 50, 3, 4],
         "reference_n": [None, 52, 52, 60], "before": [0.2, -0.1, 0.3, 0.1], "after": [0.1, -0.2, 0.2, 0.1],
         "change": [-0.1, -0.1, -0.1, 0.0], "change_ci_low": [-0.2, -0.15, -0.5, -0.3],
         "change_ci_high": [-0.01, -0.05, 0.3, 0.3], "verdict": ["narrowed", "widened", "no_clear_change", "no_clear_change"],
         "publishable": [True, True, False, True], "sentence_nl": ["s1", "s2", None, "s4"], "sentence_en": ["e1", "e2", None, "e4"]}
    )  # fmt: skip
    return {
        "marts.calibration_impact": impact,
        "marts.calibration_distribution": distribution,
        "marts.calibration_moves": pl.DataFrame(rows),
        "marts.calibration_spread": spread,
    }


def assert_comparisons_need_two_visible_groups(groups: pl.DataFrame, moves: pl.DataFrame, k: int) -> int:
    """Every published comparison belongs to a shown group whose reference group (or, for the rest of the
    organisation, the attribute's total) is shown too, both with at least k people; returns how many."""
    sizes = moves.filter(pl.col("period") == "cycle").select(
        *MOVES_BY, "group_value", pl.col("n").alias("_n"), "reference_n"
    )
    shown = groups.select(*MOVES_BY, "group_value", pl.col(SUPPRESSED).alias("_hidden"))
    compared = groups.filter(
        pl.any_horizontal([pl.col(c).is_not_null() for c in COMPARISONS if c in groups.columns])
    )
    rows = compared.join(sizes, on=[*MOVES_BY, "group_value"], how="left")
    for r in rows.iter_rows(named=True):
        assert not r[SUPPRESSED] and r["_n"] >= k and r["reference_n"] >= k, r
        reference = None if r["reference_group"] == "rest_of_organisation" else r["reference_group"]
        match = shown.filter(
            pl.all_horizontal([pl.col(c) == r[c] for c in MOVES_BY])
            & (pl.col("group_value").is_null() if reference is None else pl.col("group_value") == reference)
        )
        assert match.height == 1 and not match["_hidden"][0], f"{r['attribute']}: reference hidden"
        for column in (
            "odds_ratio",
            "within_level_odds_ratio",
            "within_level_ci_low",
            "within_level_ci_high",
        ):
            if r.get(column) is not None:
                assert r[column] == round(r[column], 2)
        for column in ("q_value", "within_level_q_value"):
            if r.get(column) is not None:
                assert r[column] == round(r[column], 3)
    return rows.height


def test_calibration_impact_tables_follow_the_rules() -> None:
    sources = {**hand_sources(), **impact_marts()}
    published = publish_tables(sources, {"zeeland-demo": K5, "vo-demo": K5})
    names = ("calibration_moves_by_department", "calibration_before_after", "calibration_moves_by_group", "calibration_spread")  # fmt: skip
    assert set(names) <= set(published.tables)
    for name in names:
        frame = published.tables[name]
        assert frame.filter(pl.col("organization") == "vo-demo").height == 0, (
            "no proposals: no rows, no error"
        )
        for column in ("n", "group_n", "count"):
            if column in frame.columns:
                shown = frame[column].drop_nulls()
                assert ((shown == 0) | (shown >= 5)).all(), f"{name}.{column}: a cell from 1 to 4 people"
    departments = published.tables["calibration_moves_by_department"]
    west = departments.filter((pl.col("department") == "West") & pl.col("direction").is_not_null())
    assert west[SUPPRESSED].all(), "nobody in West moved: its parts are hidden as a whole"
    org = departments.filter(pl.col("department").is_null() & pl.col("direction").is_null()).row(
        0, named=True
    )
    assert org["n"] == 105 and org["share"] == 1.0
    shares = departments.filter(pl.col("share").is_not_null() & pl.col("direction").is_not_null())
    assert (shares["share"] - shares["n"] / shares["group_n"]).abs().max() < 1e-12  # type: ignore[operator]
    before_after = published.tables["calibration_before_after"]
    assert set(before_after["stage"].to_list()) == {"proposed", "final"}
    assert before_after.filter(pl.col("stage") == "final")["rating_position"].drop_nulls().to_list() == [
        1,
        2,
        3,
        4,
        5,
    ]
    groups = published.tables["calibration_moves_by_group"]
    # No evaluator rows; age bands are left out (recoded): in each direction only 30-49 has k people moved and
    # k not, so it would be the organisation less the hidden bands, shown only by hiding it too.
    assert set(groups["attribute"].to_list()) == {"gender", "function_level"}
    assert groups["rate_ci_low"].drop_nulls().to_list() and groups.filter(pl.col(SUPPRESSED))[
        "rate"
    ].null_count() == (groups.filter(pl.col(SUPPRESSED)).height)
    compared = assert_comparisons_need_two_visible_groups(groups, sources["marts.calibration_moves"], 5)
    assert compared > 0, "function levels against the rest of the organisation are compared"
    # A group's size is the same in both directions: hidden in one, hidden in both.
    sizes = groups.group_by("attribute", "group_value").agg(pl.col("group_n").is_null().n_unique().alias("k"))
    assert (sizes["k"] == 1).all()
    spread = published.tables["calibration_spread"]
    assert {"n", "reference_n", "units"}.isdisjoint(spread.columns), "no counts in the spread table"
    assert sorted(spread["sentence_en"].to_list()) == ["e1", "e2"], "unpublishable and small groups left out"
    # Without the marts the tables are left out with a note, never an error.
    bare = publish_tables(hand_sources(), {"zeeland-demo": K5})
    assert not set(names) & set(bare.tables)
    assert any("marts.calibration_moves" in note for note in bare.notes)


def test_attacker_fails_on_the_calibration_impact_tables_of_the_sample(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """The three count tables of the calibration impact section (moves per department, the distribution before
    and after, moves per group) attacked with the truth from the marts; comparisons only between shown groups."""
    sources, published = sample_publication
    attacked = {}
    impact = sources["marts.calibration_impact"].filter(
        (pl.col("period") == "cycle") & (pl.col("grouping") == "department")
    )
    cells = pl.concat(
        [
            impact.select("organization", "cycle", pl.col("unit").alias("department"), pl.lit(d).alias("direction"), pl.col(c).alias("n"))
            for d, c in (("down", "n_down"), ("unchanged", "n_unchanged"), ("up", "n_up"))
        ]
    )  # fmt: skip
    attacked["moves_by_department"] = _attack_rule_table(
        published.tables["calibration_moves_by_department"], cells, privacy.MOVES_BY_DEPARTMENT_RULE, "n", 150
    )
    distribution = sources["marts.calibration_distribution"].filter(
        (pl.col("period") == "cycle") & (pl.col("grouping") == "organization")
    )
    cells = pl.concat(
        [
            distribution.select(
                "organization", "cycle", pl.lit(s).alias("stage"), "rating", pl.col(c).alias("n")
            )
            for s, c in (("proposed", "n_proposed"), ("final", "n_final"))
        ]
    )
    attacked["before_after"] = _attack_rule_table(
        published.tables["calibration_before_after"], cells, privacy.BEFORE_AFTER_RULE, "n", 150
    )
    moves = sources["marts.calibration_moves"]
    groups = published.tables["calibration_moves_by_group"]
    base = moves.filter(
        (pl.col("period") == "cycle") & pl.col("attribute").is_in(list(privacy.MOVE_ATTRIBUTES))
    )
    cells = pl.concat(
        [
            base.select(*MOVES_BY, "group_value", pl.lit("yes").alias("has"), pl.col("count").alias("n")),
            base.select(*MOVES_BY, "group_value", pl.lit("no").alias("has"), (pl.col("n") - pl.col("count")).alias("n")),
        ]
    )  # fmt: skip
    rule = privacy.MOVES_BY_GROUP_RULE
    truth = cube_truth(cells, rule.by, rule.dims, rule.totals, "n")
    # The published rows as the cube a reader rebuilds: "no" is known only where both the size and the count are.
    cube = _has_cube(groups.select(*MOVES_BY, "group_value", "group_n", "count"), MOVES_BY, ("group_value",))
    alike = (
        cells.group_by(*MOVES_BY, "group_value")
        .agg(((pl.col("n") > 0).sum() == 1).alias("_alike"))
        .filter(pl.col("_alike"))
    )
    cube = (
        cube.rename({"v": "n"})
        .join(alike, on=[*MOVES_BY, "group_value"], how="left", nulls_equal=True)
        .with_columns(
            pl.when(pl.col("_alike").fill_null(False) & pl.col("has").is_not_null())
            .then(pl.lit(HOMOGENEOUS))
            .alias(REASON)
        )
    )
    attacked["moves_by_group"] = assert_not_recovered(
        cube, truth, rule.by, rule.dims, rule.totals, "n", 5, limit=150
    )
    assert attacked["moves_by_department"] > 0 and attacked["moves_by_group"] > 0, (
        "the sample hides small cells"
    )
    assert_comparisons_need_two_visible_groups(groups, moves, 5)
    # No organisation without proposals has a row.
    with_proposals = set(sources["marts.calibration_impact"]["organization"].to_list())
    for name in ("calibration_moves_by_department", "calibration_before_after", "calibration_moves_by_group", "calibration_spread"):  # fmt: skip
        assert set(published.tables[name]["organization"].to_list()) <= with_proposals


def test_sample_group_sizes_are_hidden_alike_in_every_outcome(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """A group counts the same people in every yes/no outcome: its size hidden in one and shown in another
    would give it back through the published total, so it is hidden in all or in none. A size hidden there
    is hidden in the continuous outcomes (reward percentages) too."""
    sources, published = sample_publication
    kinds = sources["marts.fairness"].select("outcome", "outcome_kind").unique()
    overall = (
        published.tables["fairness"]
        .filter((pl.col("scope") == "overall") & pl.col("group_value").is_not_null())
        .join(kinds, on="outcome", how="left")
    )
    group = ["organization", "cycle", "attribute", "group_value"]
    binary = overall.filter(pl.col("outcome_kind") == "binary")
    mixed = (
        binary.group_by(group)
        .agg(
            pl.col("group_n").is_null().any().alias("hidden"),
            pl.col("group_n").is_not_null().any().alias("shown"),
        )
        .filter(pl.col("hidden") & pl.col("shown"))
    )
    assert binary.height > 0
    assert mixed.height == 0, mixed.head(5)
    hidden = binary.filter(pl.col("group_n").is_null()).select(group).unique()
    continuous = overall.filter(pl.col("outcome_kind") != "binary")
    assert continuous.height > 0
    leaked = continuous.join(hidden, on=group, how="semi").filter(pl.col("group_n").is_not_null())
    assert leaked.height == 0, leaked.select(*group, "outcome", "group_n").head(5)


# ------------------------------------------------------------------------------------------------- joint attack
# The attacks above take one published table at a time (plus a few pairs). A reader has all of them at once, and
# many count the same people: the rating distribution, the calibration tables, the fairness rates and the
# process page are all sums of one set of underlying counts per organisation × cycle. The joint attacker
# writes every published number of every such table as a linear function of those counts and bounds each
# hidden small cell with linear programs over all of it together.
#
# The underlying counts (unknowns, all >= 0, integrality relaxed):
#   core[D, L, P, F]   rated people (measure `rating`) per department, function level, proposed rating (a code
#                      or "no proposal") and final rating;
#   attr_A[a, L, P, F] the same people per group a of attribute A (gender, age band, ...; "(none)" for people
#                      without a value, whom no table shows): its (L, P, F) margin equals core's. No table
#                      crosses two attributes or an attribute with the department, so the cliques {D, L, P, F}
#                      and {a, L, P, F} joined on {L, P, F} form a decomposable model: any tables with equal
#                      margins have a common non-negative refinement, and this LP is exactly the relaxation of
#                      the finest cross-classification (department × level × every attribute × P × F);
#   out_O_A[a, L, v]   a fairness outcome O that is not a function of the rating (incidental reward, awards,
#                      raise above the standard) with v = yes / no / outside the outcome's population, per
#                      group of A, its (a, L) margin equal to attr_A's and its (L, v) margin shared by all
#                      attributes (a relaxation: O × rating and O × O' are not modelled, so this part of the
#                      attacker is a little weaker than the finest model);
#   unrated[D], process_M[D, yes|no] and the department sizes of the process page (everyone evaluated,
#                      rated or not): size[D] = Σ core[D] + unrated[D]; "ratings missing" counts unrated[D]
#                      and "no rating because of absence" a part of it; the budget's headcount is the same size.
# Every published cell (shown or hidden) is a sum of unknowns; shown cells are equations, hidden small cells
# (1..k-1 people, from the marts) are the targets.

NO_PROPOSAL = "(no proposal)"
NO_VALUE = "(none)"
FAIRNESS_ATTRIBUTES = ("gender", "age_band", "part_time", "employment_type")
NOT_RATED_OUTCOMES = ("salary_step",)  # outcomes whose population is not a part of the rated people


class JointModel:
    """Unknowns in named blocks (numpy index arrays), equations (shown cells, linking margins) and the
    published cells as linear functions of the unknowns."""

    def __init__(self) -> None:
        self.size = 0
        self.blocks: dict[str, tuple[np.ndarray, tuple[list, ...]]] = {}
        self.eq_rows: list[np.ndarray] = []
        self.eq_coefs: list[np.ndarray] = []
        self.eq_rhs: list[float] = []
        # (table, key, variable indices, published value or None, true value)
        self.cells: list[tuple[str, tuple, np.ndarray, float | None, float | None]] = []

    def block(self, name: str, *axes: list) -> np.ndarray:
        shape = tuple(len(a) for a in axes)
        index = np.arange(self.size, self.size + int(np.prod(shape)), dtype=np.int64).reshape(shape)
        self.size += index.size
        self.blocks[name] = (index, axes)
        return index

    def select(self, name: str, **where: object) -> np.ndarray:
        """Indices of the unknowns of block `name` in the cell `where` (axis name → value, a list of values, or
        None for all); axes are named by position: a0, a1, ..."""
        index, axes = self.blocks[name]
        picks: list[object] = []
        for position, values in enumerate(axes):
            wanted = where.get(f"a{position}")
            if wanted is None:
                picks.append(slice(None))
            else:
                chosen = wanted if isinstance(wanted, list) else [wanted]
                picks.append([values.index(v) for v in chosen if v in values])
        return index[
            np.ix_(*[range(len(a)) if isinstance(p, slice) else p for a, p in zip(axes, picks, strict=True)])
        ].ravel()

    def equal(self, plus: np.ndarray, minus: np.ndarray | None = None, rhs: float = 0.0) -> None:
        minus = np.zeros(0, dtype=np.int64) if minus is None else minus
        self.eq_rows.append(np.concatenate([plus, minus]))
        self.eq_coefs.append(np.concatenate([np.ones(plus.size), -np.ones(minus.size)]))
        self.eq_rhs.append(rhs)

    def cell(
        self, table: str, key: tuple, variables: np.ndarray, shown: float | None, true: float | None
    ) -> None:
        if shown is not None:
            self.equal(variables, rhs=float(shown))
        self.cells.append((table, key, variables, shown, true))

    def matrix(self) -> tuple[object, np.ndarray]:
        from scipy import sparse

        rows = np.concatenate([np.full(r.size, i) for i, r in enumerate(self.eq_rows)])
        a_eq = sparse.csr_matrix(
            (np.concatenate(self.eq_coefs), (rows, np.concatenate(self.eq_rows))),
            shape=(len(self.eq_rows), self.size),
        )
        return a_eq, np.asarray(self.eq_rhs)


def _truth(frame: pl.DataFrame, dims: tuple[str, ...], value: str) -> dict[tuple, float]:
    """True value of every cell and total (null = all) of `frame` over `dims` (plain group sums)."""
    cube = cube_truth(frame.select(*dims, value), (), dims, dims, value)
    return {row[:-1]: float(row[-1]) for row in cube.select(*dims, value).iter_rows()}


def _rows(frame: pl.DataFrame, organization: str, cycle: int) -> pl.DataFrame:
    return frame.filter((pl.col("organization") == organization) & (pl.col("cycle") == cycle))


def _has_cells(
    model: JointModel,
    table: str,
    key: tuple,
    total: np.ndarray,
    yes: np.ndarray,
    group_n: float | None,
    count: float | None,
    true: tuple[float, float] | None,
) -> None:
    """A published (group_n, count) row: three cells, the group, its yes and its no (shown when both are)."""
    no = np.setdiff1d(total, yes)
    true_n, true_yes = true if true is not None else (None, None)
    model.cell(table, (*key, "all"), total, group_n, true_n)
    model.cell(table, (*key, "yes"), yes, count, true_yes)
    both = group_n is not None and count is not None
    model.cell(
        table,
        (*key, "no"),
        no,
        group_n - count if both else None,  # type: ignore[operator]
        true_n - true_yes if true_n is not None and true_yes is not None else None,
    )


def joint_model(
    sources: dict[str, pl.DataFrame],
    tables: dict[str, pl.DataFrame],
    organization: str,
    cycle: int,
    codes: list[str],
    lowest: list[str],
) -> JointModel:
    """Every published count of one organisation × cycle that the rated people determine, as sums of the
    unknowns described above, with the true values from the marts."""
    model = JointModel()
    rd = (
        _rows(sources["marts.rating_distribution"], organization, cycle)
        .filter(
            (pl.col("grouping") == "department_function_level")
            & (pl.col("measure") == privacy.IMPACT_MEASURE)
        )
        .with_columns(
            pl.col("unit").str.extract(r"(?s)^(.*) × ([^×]*)$", 1).alias("department"),
            pl.col("unit").str.extract(r"(?s)^(.*) × ([^×]*)$", 2).alias("function_level"),
            pl.col("count").cast(pl.Float64).alias("n"),
        )
    )
    process_src = _rows(sources["marts.process_status"], organization, cycle)
    fairness = (
        # Department strata have no department axis in this model: test_attacker_fails_on_fairness_and_process_
        # cubes_of_the_sample attacks them per stratification instead.
        # The pooled-window rows (scope function_level_window) are attacked with the cycles they pool in
        # tests/test_fairness_pooled.py.
        _rows(tables["fairness"], organization, cycle).filter(
            ~pl.col("scope").is_in(["department", "function_level_window"])
        )
        if "fairness" in tables
        else None
    )
    departments = sorted(set(rd["department"].drop_nulls()) | set(process_src["department"].drop_nulls()))
    levels = set(rd["function_level"].drop_nulls())
    if fairness is not None:
        levels |= set(fairness.filter(pl.col("attribute") == "function_level")["group_value"].drop_nulls())
        levels |= set(fairness["stratum"].drop_nulls())
    levels_sorted = sorted(levels)
    proposals = [*codes, NO_PROPOSAL]
    model.block("core", departments, levels_sorted, proposals, codes)

    def pairs(direction: str | None) -> list[tuple[str, str]]:
        """(proposed, final) pairs of people moved that way (None: everyone with a proposal)."""
        sign = {"down": -1, "unchanged": 0, "up": 1}
        return [
            (p, f)
            for p in codes
            for f in codes
            if direction is None or int(np.sign(codes.index(f) - codes.index(p))) == sign[direction]
        ]

    def over_pairs(name: str, chosen: list[tuple[str, str]], **where: object) -> np.ndarray:
        return np.concatenate([model.select(name, **where, a2=p, a3=f) for p, f in chosen])

    # ratings: department × function level × final rating, every total (management site)
    if "ratings" in tables:
        ratings = _rows(tables["ratings"], organization, cycle).filter(
            pl.col("measure") == privacy.IMPACT_MEASURE
        )
        truth = _truth(rd, ("department", "function_level", "rating"), "n")
        for d, lev, r, n in ratings.select("department", "function_level", "rating", "n").iter_rows():
            model.cell(
                "ratings", (d, lev, r), model.select("core", a0=d, a1=lev, a3=r), n, truth.get((d, lev, r))
            )
    # calibration: moves per department, the distributions before and after, moves per group
    if "calibration_moves_by_department" in tables:
        impact = _rows(sources["marts.calibration_impact"], organization, cycle).filter(
            (pl.col("period") == "cycle") & (pl.col("grouping") == "department")
        )
        cells = pl.concat(
            [impact.select(pl.col("unit").alias("department"), pl.lit(d).alias("direction"), pl.col(c).cast(pl.Float64).alias("n"))
             for d, c in (("down", "n_down"), ("unchanged", "n_unchanged"), ("up", "n_up"))]
        )  # fmt: skip
        truth = _truth(cells, ("department", "direction"), "n")
        moves = _rows(tables["calibration_moves_by_department"], organization, cycle)
        for d, direction, n in moves.select("department", "direction", "n").iter_rows():
            model.cell(
                "calibration_moves_by_department",
                (d, direction),
                over_pairs("core", pairs(direction), a0=d),
                n,
                truth.get((d, direction)),
            )
    if "calibration_before_after" in tables:
        dist = _rows(sources["marts.calibration_distribution"], organization, cycle).filter(
            (pl.col("period") == "cycle") & (pl.col("grouping") == "organization")
        )
        cells = pl.concat(
            [dist.select(pl.lit(s).alias("stage"), "rating", pl.col(c).cast(pl.Float64).alias("n"))
             for s, c in (("proposed", "n_proposed"), ("final", "n_final"))]
        )  # fmt: skip
        truth = _truth(cells, ("stage", "rating"), "n")
        for stage, r, n in (
            _rows(tables["calibration_before_after"], organization, cycle)
            .select("stage", "rating", "n")
            .iter_rows()
        ):
            if stage == "proposed":
                chosen = [(p, f) for p, f in pairs(None) if r is None or p == r]
            else:
                chosen = [(p, f) for p, f in pairs(None) if r is None or f == r]
            model.cell(
                "calibration_before_after", (stage, r), over_pairs("core", chosen), n, truth.get((stage, r))
            )

    # attributes: one block per attribute, its (level, proposed, final) margin equal to core's
    attribute_values: dict[str, list[str]] = {}
    for attribute in FAIRNESS_ATTRIBUTES:
        seen: set[str] = set()
        for name in ("fairness", "calibration_moves_by_group"):
            if name in tables:
                seen |= set(
                    _rows(tables[name], organization, cycle)
                    .filter(pl.col("attribute") == attribute)["group_value"]
                    .drop_nulls()
                )
        if not seen:
            continue
        attribute_values[attribute] = [*sorted(seen), NO_VALUE]
        model.block(attribute, attribute_values[attribute], levels_sorted, proposals, codes)
        for lev in levels_sorted:
            for p in proposals:
                for f in codes:
                    model.equal(
                        model.select(attribute, a1=lev, a2=p, a3=f), model.select("core", a1=lev, a2=p, a3=f)
                    )

    # In a cycle whose fairness rows say `others_left_out`, the fairness mart counts a small gender category in
    # no attribute but gender (models.fairness.without_small_others), while the calibration-moves mart counts
    # everyone. Each attribute's people are then split exactly: `f:A` (the shown genders: what the fairness
    # rows count) plus `x:A` (the left-out people), each with its (level, proposed, final) margin equal to the
    # gender block's for those genders; the function-level rows of the fairness table count the shown genders.
    shown_genders: list[str] | None = None
    if (
        fairness is not None
        and "others_left_out" in fairness.columns
        and fairness["others_left_out"].fill_null(False).any()
    ):
        assert "gender" in attribute_values, "a category is left out of the gender rows"
        shown_genders = sorted(
            fairness.filter(pl.col("attribute") == "gender")["group_value"].drop_nulls().unique()
        )
        others = [v for v in attribute_values["gender"] if v not in shown_genders]
        for attribute, values in attribute_values.items():
            if attribute == "gender":
                continue
            for part, genders in (("f", shown_genders), ("x", others)):
                model.block(f"{part}:{attribute}", values, levels_sorted, proposals, codes)
                for lev in levels_sorted:
                    for p in proposals:
                        for f in codes:
                            model.equal(
                                model.select(f"{part}:{attribute}", a1=lev, a2=p, a3=f),
                                model.select("gender", a0=genders, a1=lev, a2=p, a3=f),
                            )
            for v in values:
                for lev in levels_sorted:
                    for p in proposals:
                        for f in codes:
                            model.equal(
                                model.select(attribute, a0=v, a1=lev, a2=p, a3=f),
                                np.concatenate(
                                    [
                                        model.select(f"{part}:{attribute}", a0=v, a1=lev, a2=p, a3=f)
                                        for part in "fx"
                                    ]
                                ),
                            )

    def fair_block(attribute: str) -> str:
        """The block a fairness row of `attribute` counts (the shown genders' part when others are left out)."""
        return f"f:{attribute}" if shown_genders is not None and attribute != "gender" else attribute

    def group(attribute: str, value: str | None) -> tuple[str, dict[str, object]]:
        """Block and selection of a group of an attribute (None: every group with a value)."""
        if attribute == "function_level":
            return "core", {"a1": value}
        values = attribute_values[attribute]
        return attribute, {"a0": [v for v in values if v != NO_VALUE] if value is None else value}

    if "calibration_moves_by_group" in tables:
        moves_src = _rows(sources["marts.calibration_moves"], organization, cycle).filter(
            pl.col("period") == "cycle"
        )
        for direction, attribute, value, group_n, count in (
            _rows(tables["calibration_moves_by_group"], organization, cycle)
            .select("direction", "attribute", "group_value", "group_n", "count")
            .iter_rows()
        ):
            if attribute != "function_level" and attribute not in attribute_values:
                continue
            src = moves_src.filter((pl.col("direction") == direction) & (pl.col("attribute") == attribute))
            if value is not None:
                src = src.filter(pl.col("group_value") == value)
            elif attribute in attribute_values:
                # A total over the shown groups: a small category left out (recoded) is not in it.
                src = src.filter(pl.col("group_value").is_in(attribute_values[attribute]))
            true = (float(src["n"].sum()), float(src["count"].sum())) if src.height else None
            name, where = group(attribute, value)
            total = over_pairs(name, pairs(None), **where)
            yes = over_pairs(name, pairs(direction), **where)
            _has_cells(
                model,
                "calibration_moves_by_group",
                (direction, attribute, value),
                total,
                yes,
                group_n,
                count,
                true,
            )
    # fairness: rating outcomes are functions of the final rating; the other outcomes of rated people get
    # their own (group, level, yes/no/outside) blocks tied to the group sizes
    if fairness is not None and fairness.height:
        overall_src = _rows(sources["marts.fairness"], organization, cycle)
        strata_src = _rows(sources["marts.fairness_strata"], organization, cycle).filter(
            (pl.col("stratum_type") == "function_level") & (pl.col("period") == "cycle")
        )
        for outcome in sorted(set(fairness["outcome"])):
            rows = fairness.filter(pl.col("outcome") == outcome)
            if outcome.startswith("rating_at_least_"):
                yes_codes = codes[codes.index(outcome.removeprefix("rating_at_least_")) :]
            elif outcome == "lowest_rating":
                yes_codes = [c for c in codes if c in lowest]
            elif outcome in NOT_RATED_OUTCOMES or rows.filter(pl.col("outcome_kind") == "continuous").height:
                continue  # the salary step counts people with a salary decision, rated or not; reward shares
            else:
                yes_codes = None  # incidental reward, awards, raise above the standard: part of the rated
            states = ["yes", "no", "outside"]
            if yes_codes is None:
                model.block(f"o:{outcome}", levels_sorted, states)
                for lev in levels_sorted:
                    model.equal(model.select(f"o:{outcome}", a0=lev), model.select("core", a1=lev))
                for attribute, values in attribute_values.items():
                    model.block(f"o:{outcome}:{attribute}", values, levels_sorted, states)
                    for v in values:
                        for lev in levels_sorted:
                            model.equal(
                                model.select(f"o:{outcome}:{attribute}", a0=v, a1=lev),
                                model.select(fair_block(attribute), a0=v, a1=lev),
                            )
                # every attribute's outcome block holds the same people per (level, state): everyone for gender,
                # the shown genders for the others when a category is left out
                for attribute in sorted(attribute_values, key=lambda a: a != "gender"):
                    for lev in levels_sorted:
                        for s in states:
                            model.equal(
                                model.select(f"o:{outcome}:{attribute}", a1=lev, a2=s),
                                model.select(f"o:{outcome}", a0=lev, a1=s)
                                if fair_block(attribute) == attribute
                                else model.select(f"o:{outcome}:gender", a0=shown_genders, a1=lev, a2=s),
                            )
            for attribute, stratum, value, group_n, count in rows.select(
                "attribute", "stratum", "group_value", "group_n", "count"
            ).iter_rows():
                if attribute != "function_level" and attribute not in attribute_values:
                    continue
                src = (
                    overall_src if stratum is None else strata_src.filter(pl.col("stratum") == stratum)
                ).filter((pl.col("outcome") == outcome) & (pl.col("attribute") == attribute))
                if value is not None:
                    src = src.filter(pl.col("group_value") == value)
                elif attribute in attribute_values:
                    # A total over the shown groups: a small category left out (recoded) is not in it.
                    src = src.filter(pl.col("group_value").is_in(attribute_values[attribute]))
                true = (float(src["n"].sum()), float(src["count"].sum())) if src.height else (0.0, 0.0)
                if yes_codes is not None:
                    name, where = group(attribute, value)
                    if attribute != "function_level":
                        name = fair_block(attribute)
                    if attribute == "function_level" and shown_genders is not None:
                        name, where = "gender", {"a0": shown_genders, "a1": value}
                    if stratum is not None:
                        where = {**where, "a1": stratum}
                    total = model.select(name, **where)
                    yes = model.select(name, **where, a3=yes_codes)
                elif attribute == "function_level" and shown_genders is not None:
                    where = {"a0": shown_genders, "a1": value}
                    total = model.select(f"o:{outcome}:gender", **where, a2=["yes", "no"])
                    yes = model.select(f"o:{outcome}:gender", **where, a2="yes")
                elif attribute == "function_level":
                    total = model.select(f"o:{outcome}", a0=value, a1=["yes", "no"])
                    yes = model.select(f"o:{outcome}", a0=value, a1="yes")
                else:
                    _, where = group(attribute, value)
                    if stratum is not None:
                        where = {**where, "a1": stratum}
                    total = model.select(f"o:{outcome}:{attribute}", **where, a2=["yes", "no"])
                    yes = model.select(f"o:{outcome}:{attribute}", **where, a2="yes")
                _has_cells(
                    model, "fairness", (outcome, attribute, stratum, value), total, yes, group_n, count, true
                )

    # process: everyone evaluated per department, rated or not; "ratings missing" counts the unrated
    if "process" in tables and process_src.height:
        model.block("unrated", departments)
        model.block("absent_other", departments)
        sizes = {
            d: np.concatenate([model.select("core", a0=d), model.select("unrated", a0=d)])
            for d in departments
        }
        process = _rows(tables["process"], organization, cycle)
        for metric in sorted(set(process["metric"])):
            model.block(f"p:{metric}", departments, ["yes", "no"])
            for d in departments:
                model.equal(model.select(f"p:{metric}", a0=d), sizes[d])
            if metric == "ratings_missing":
                for d in departments:
                    model.equal(model.select(f"p:{metric}", a0=d, a1="yes"), model.select("unrated", a0=d))
            elif metric == "no_rating_absence":  # a part of the unrated
                for d in departments:
                    model.equal(
                        np.concatenate(
                            [model.select(f"p:{metric}", a0=d, a1="yes"), model.select("absent_other", a0=d)]
                        ),
                        model.select("unrated", a0=d),
                    )
            truth_n = _truth(
                process_src.select("department", pl.col("n").cast(pl.Float64)), ("department",), "n"
            )
            truth_yes = _truth(
                process_src.select("department", pl.col(metric).cast(pl.Float64).fill_null(0)),
                ("department",),
                metric,
            )
            for d, group_n, count in (
                process.filter(pl.col("metric") == metric)
                .select("department", "group_n", "count")
                .iter_rows()
            ):
                chosen = departments if d is None else d
                true = (truth_n[(d,)], truth_yes[(d,)]) if (d,) in truth_n else None
                total = model.select(f"p:{metric}", a0=chosen)
                yes = model.select(f"p:{metric}", a0=chosen, a1="yes")
                _has_cells(model, "process", (metric, d), total, yes, group_n, count, true)
        # the budget's headcount counts the same people as the process page (checked against the marts)
        budget_src = _rows(
            sources.get("marts.budget", pl.DataFrame({"organization": [], "cycle": []})), organization, cycle
        )
        if "budget" in tables and budget_src.height:
            heads = dict(
                budget_src.filter(pl.col("level") == "afdeling").select("department", "headcount").iter_rows()
            )
            same = dict(process_src.select("department", "n").iter_rows())
            if heads == same:
                for d, headcount in (
                    _rows(tables["budget"], organization, cycle).select("department", "headcount").iter_rows()
                ):
                    chosen = departments if d is None else d
                    true = float(sum(same.values()) if d is None else same.get(d, 0))
                    model.cell(
                        "budget",
                        (d,),
                        model.select(f"p:{sorted(set(process['metric']))[0]}", a0=chosen),
                        headcount,
                        true,
                    )
    return model


def joint_attack(
    model: JointModel, targets: list[int], rounds: int = 6, cap: float | None = None
) -> dict[int, tuple[float, float, bool]]:
    """Bounds of each target cell under every equation of the model at once (counts >= 0, and <= `cap` when
    given: a hidden size leaves a program unbounded, and a cap only helps the attacker). Random
    combinations of the targets are pushed up and down first: a target seen at two values more than half a
    person apart is not pinned, whatever its exact bounds. Only the others get a program of their own
    (their exact [lo, hi], flagged True); the rest report the range seen (flagged False), which lies inside the
    exact one but need not hold the true value."""
    from scipy import sparse

    a_eq, b_eq = model.matrix()
    lookup = sparse.csr_matrix(
        (
            np.concatenate([np.ones(model.cells[t][2].size) for t in targets]),
            (
                np.concatenate([np.full(model.cells[t][2].size, j) for j, t in enumerate(targets)]),
                np.concatenate([model.cells[t][2] for t in targets]),
            ),
        ),
        shape=(len(targets), model.size),
    )
    seen_low = np.full(len(targets), np.inf)
    seen_high = np.full(len(targets), -np.inf)
    rng = np.random.default_rng(len(targets))
    for _ in range(rounds):
        weights = lookup.T @ rng.uniform(-1.0, 1.0, size=len(targets))
        for sign in (1.0, -1.0):
            result = linprog(sign * weights, A_eq=a_eq, b_eq=b_eq, bounds=(0, cap), method="highs")
            assert result.status == 0, "the published tables must be consistent with the model"
            values = lookup @ result.x
            seen_low = np.minimum(seen_low, values)
            seen_high = np.maximum(seen_high, values)
    # Then push only the targets that have not moved yet: fewer of them, so each gets more weight.
    for _ in range(rounds):
        still = np.flatnonzero(seen_high - seen_low <= 0.5)
        if still.size == 0:
            break
        chosen = np.zeros(len(targets))
        chosen[still] = rng.uniform(-1.0, 1.0, size=still.size)
        for sign in (1.0, -1.0):
            result = linprog(
                sign * (lookup.T @ chosen), A_eq=a_eq, b_eq=b_eq, bounds=(0, cap), method="highs"
            )
            values = lookup @ result.x
            seen_low = np.minimum(seen_low, values)
            seen_high = np.maximum(seen_high, values)
    bounds: dict[int, tuple[float, float, bool]] = {}
    for j, t in enumerate(targets):
        if seen_high[j] - seen_low[j] > 0.5:
            bounds[t] = (float(seen_low[j]), float(seen_high[j]), False)
            continue
        objective = lookup[j].toarray().ravel()
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, cap), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, cap), method="highs")
        bounds[t] = (float(low.fun), float(-high.fun) if high.status == 0 else float("inf"), True)
    return bounds


def assert_not_recovered_jointly(model: JointModel, k: int) -> tuple[int, int]:
    """The joint attack on one model: every shown cell equals the truth, the truth satisfies the model, and no
    hidden cell from 1..k-1 people is pinned. Returns (hidden cells, small hidden cells attacked)."""
    for table, key, _, shown, true in model.cells:
        if shown is not None and true is not None:
            assert shown == true, f"{table} {key}: the published value differs from the mart"
    hidden = [i for i, (_, _, _, shown, _) in enumerate(model.cells) if shown is None]
    # The model is exact: with every hidden cell set to its true value it still has a solution.
    check = JointModel()
    check.size = model.size
    check.eq_rows, check.eq_coefs, check.eq_rhs = (
        list(model.eq_rows),
        list(model.eq_coefs),
        list(model.eq_rhs),
    )
    for i in hidden:
        if model.cells[i][4] is not None:
            check.equal(model.cells[i][2], rhs=float(model.cells[i][4]))  # type: ignore[arg-type]
    # No count of the organisation exceeds twice its largest published one (checked with the truth below).
    cap = 2.0 * max([shown for _, _, _, shown, _ in model.cells if shown is not None], default=0.0)
    a_eq, b_eq = check.matrix()
    assert linprog(np.zeros(check.size), A_eq=a_eq, b_eq=b_eq, bounds=(0, cap), method="highs").status == 0, (
        "the true counts must satisfy every published equation (the joint model is exact)"
    )
    targets = [i for i in hidden if model.cells[i][4] is not None and 0 < model.cells[i][4] < k]  # type: ignore[operator]
    bounds = joint_attack(model, targets, cap=cap) if targets else {}
    for t in targets:
        lo, hi, exact = bounds[t]
        table, key, _, _, true = model.cells[t]
        if exact:
            assert lo - 1e-6 <= true <= hi + 1e-6, "the attacker's bounds must hold the true value"  # type: ignore[operator]
        assert hi - lo > 0.5, f"{table} {key}: hidden cell recovered jointly from the published tables"
    return len(hidden), len(targets)


def test_joint_attacker_recovers_a_cell_two_tables_protect_only_on_their_own() -> None:
    """A rating distribution per department and a "rated at least r3" table per department, each protected on
    its own and each safe against the per-table attacker, give a small cell back together: the cut-point table
    shows the r3 count the distribution hides as a complement, and the department's total and its r2 count
    then give its r1 count. The joint attacker must find it (the test can fail)."""
    codes = ["r1", "r2", "r3"]
    counts = {"A": [2, 30, 9], "B": [3, 25, 10], "C": [8, 20, 12]}
    distribution = grid(counts, codes)
    dist_rule = TableRule(dims=("department", "rating"), totals=("department", "rating"), complete=True)
    dist = protect(distribution, dist_rule, K5).frame
    by = ("organization", "cycle")
    assert_not_recovered(dist, cube_truth(distribution, by, dist_rule.dims, dist_rule.totals, "n"), by, dist_rule.dims, dist_rule.totals, "n", 5)  # fmt: skip
    cut_rule = TableRule(dims=("department", "has"), totals=("department", "has"), complete=True)
    cut_tables = {}
    for k in (2,):  # rated at least r3: shows the r3 cells the distribution hides as complements
        rows = [{"organization": "o", "cycle": 2024, "department": d, "has": h, "n": sum(v[k:]) if h == "yes" else sum(v[:k])}
                for d, v in counts.items() for h in ("yes", "no")]  # fmt: skip
        cells = pl.DataFrame(rows)
        cut_tables[k] = protect(cells, cut_rule, K5).frame
        truth = cube_truth(cells, by, cut_rule.dims, cut_rule.totals, "n")
        assert_not_recovered(cut_tables[k], truth, by, cut_rule.dims, cut_rule.totals, "n", 5)
    model = JointModel()
    model.block("core", list(counts), codes)
    truth = _truth(distribution, ("department", "rating"), "n")
    for d, r, n in dist.select("department", "rating", "n").iter_rows():
        model.cell("distribution", (d, r), model.select("core", a0=d, a1=r), n, truth[(d, r)])
    for k, table in cut_tables.items():
        for d, has, n in table.select("department", "has", "n").iter_rows():
            chosen = codes[k:] if has == "yes" else codes[:k] if has == "no" else None
            true = sum(
                sum(v[k:] if has == "yes" else v[:k] if has == "no" else v)
                for dep, v in counts.items()
                if d in (None, dep)
            )
            model.cell(
                f"at_least_{codes[k]}", (d, has), model.select("core", a0=d, a1=chosen), n, float(true)
            )
    with pytest.raises(AssertionError, match="recovered jointly"):
        assert_not_recovered_jointly(model, 5)


def organisation_release(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The tables of the organisation site (registry PAGES audience organisation): what all staff read."""
    from models.releases.registry import ORGANISATION, PAGES

    return {name: frame for name, frame in tables.items() if PAGES.get(name, ("", ""))[1] == ORGANISATION}


@pytest.mark.parametrize("organization", ["vo-demo", "zeeland-demo"])
def test_joint_attacker_fails_on_the_sample_publication(sample_run, sample_publication, organization) -> None:  # type: ignore[no-untyped-def]
    """One linear program over every table of the organisation release that counts the rated people (see
    `joint_model`: fairness, process, budget headcount): no hidden cell from 1 to 4 people can be pinned down
    from all of them together. The management-site tables (`ratings`, the calibration tables) are protected
    within themselves and are not part of this release (docs/privacy.md, "Audiences"). Only each
    organisation's latest cycle: all six organisation × cycles take minutes, and every cycle is protected by
    the same code."""
    from models.policy import policy_for

    sources, published = sample_publication
    tables = organisation_release(published.tables)
    assert {"fairness", "process", "budget"} <= set(tables)
    assert not {"ratings", "calibration_moves_by_group", "calibration_moves_by_department"} & set(tables)
    fairness = tables["fairness"].filter(pl.col("organization") == organization)
    cycle = int(fairness["cycle"].max())  # type: ignore[arg-type]
    policy = policy_for(sample_run.settings, organization)
    model = joint_model(
        sources, tables, organization, cycle, list(policy.rating_codes), list(policy.lowest_outcome)
    )
    _, attacked = assert_not_recovered_jointly(model, 5)
    assert attacked > 0, "the sample hides small cells"


def _known_zeros_one_at_a_time(
    hidden: np.ndarray, members: list[np.ndarray], values: np.ndarray
) -> np.ndarray:
    """The reader's sweep written plainly, one equation at a time (the reference for the vectorised one)."""
    zero = np.zeros(hidden.shape, dtype=bool)
    changed = True
    while changed:
        changed = False
        for m in members:
            total, parts = int(m[0]), m[1:]
            if hidden[total] and not zero[total]:
                continue
            open_parts = parts[hidden[parts] & ~zero[parts]]
            if open_parts.size and not np.any(values[open_parts] != 0):
                zero[open_parts] = True
                changed = True
    return zero


def test_known_zeros_sweeps_all_equations_at_once_to_the_same_cells() -> None:
    """Random tables with chained totals, many zeros and many hidden cells: the vectorised sweep finds
    exactly the cells the one-equation-at-a-time sweep finds."""
    rng = np.random.default_rng(11)
    reached = 0
    for _ in range(300):
        cells = int(rng.integers(4, 40))
        values = np.where(rng.random(cells) < 0.5, 0, rng.integers(1, 9, cells)).astype(np.float64)
        members = []
        for _ in range(int(rng.integers(1, 12))):
            chosen = rng.choice(cells, size=int(rng.integers(2, min(cells, 8) + 1)), replace=False)
            members.append(chosen.astype(np.int64))
        hidden = rng.random(cells) < 0.6
        expected = _known_zeros_one_at_a_time(hidden, members, values)
        assert np.array_equal(privacy._known_zeros(hidden, members, values), expected)
        reached += int(expected.sum())
    assert reached > 100, "the random cases must exercise the sweep"


def test_the_same_data_in_another_row_order_is_hidden_the_same_way(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """Ties between equally good complementary cells are broken by the cells' keys, never by the order rows
    arrive in (DuckDB scans, joins and group-bys do not promise one). Otherwise two runs on the same data
    could publish two suppression patterns of one table, and together they give hidden cells away."""
    from polars.testing import assert_frame_equal

    sources, published = sample_publication
    limits = {org: K5 for org in {"vo-demo", "zeeland-demo"}}
    for seed in (1,):  # one other order: each publication of the sample takes a quarter of a minute
        shuffled = {
            name: frame.sample(fraction=1.0, shuffle=True, seed=seed) for name, frame in sources.items()
        }
        again = publish_tables(shuffled, limits)
        assert list(again.tables) == list(published.tables)
        assert again.hidden == published.hidden
        for name, frame in published.tables.items():
            if name in privacy.PASS_THROUGH:
                continue
            assert_frame_equal(again.tables[name], frame, check_row_order=False)
