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
    shown = published.tables["findings"]["n"].drop_nulls()
    assert ((shown == 0) | (shown >= 5)).all(), "two people with a finding must not be shown"


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
@pytest.fixture(scope="module")
def sample_publication(sample_run):  # type: ignore[no-untyped-def]
    import duckdb

    from pipelines.assets.publish import read_sources

    assert sample_run.success, "the sample run must succeed"
    con = duckdb.connect(str(sample_run.settings.database), read_only=True)
    try:
        sources = read_sources(con, include_worklist=True)
    finally:
        con.close()
    limits = {org: K5 for org in sample_run.settings.organizations}
    return sources, publish_tables(sources, limits)


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


def test_sample_units_only_where_their_distribution_is_visible(sample_publication) -> None:  # type: ignore[no-untyped-def]
    _, published = sample_publication
    if "units" not in published.tables or "ratings" not in published.tables:
        pytest.fail("units and ratings must be published from the sample run")
    units = published.tables["units"].filter(
        pl.col("adjusted_mean").is_not_null() & (pl.col("grouping") == "department")
    )
    ratings = published.tables["ratings"].filter(
        pl.col("department").is_not_null()
        & pl.col("function_level").is_null()
        & pl.col("rating").is_not_null()
    )
    hidden = (
        ratings.filter(pl.col(SUPPRESSED))
        .select("organization", "cycle", "measure", pl.col("department").alias("unit"))
        .unique()
    )
    leak = units.join(hidden, on=["organization", "cycle", "measure", "unit"], how="semi")
    assert leak.height == 0, "a unit mean was published next to a hidden distribution"


def _attack_rule_table(
    published: pl.DataFrame, truth_cells: pl.DataFrame, rule: TableRule, value: str, limit: int
) -> int:
    truth = cube_truth(truth_cells, rule.by, rule.dims, rule.totals, value)
    return assert_not_recovered(published, truth, rule.by, rule.dims, rule.totals, value, 5, limit=limit)


def test_attacker_fails_on_every_published_count_table_of_the_sample(sample_publication) -> None:  # type: ignore[no-untyped-def]
    sources, published = sample_publication
    attacked = {}
    # ratings: department × function level × rating
    rd = sources["marts.rating_distribution"].filter(pl.col("grouping") == "department_function_level")
    cells = rd.with_columns(
        pl.col("unit").str.extract(r"(?s)^(.*) × ([^×]*)$", 1).alias("department"),
        pl.col("unit").str.extract(r"(?s)^(.*) × ([^×]*)$", 2).alias("function_level"),
        pl.col("count").alias("n"),
    )
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
    within = fair.filter(pl.col("scope") == "function_level")
    rows = pl.concat(
        [
            overall.select(*by_f, "stratum", "group_value", "group_n", "count"),
            within.select(*by_f, "stratum", "group_value", "group_n", "count"),
        ]
    )
    cube = _has_cube(rows, by_f, ("stratum", "group_value"))
    # Within-level attacks need the per-stratum totals of the whole organisation, which the page does not show:
    # give them to the attacker anyway (a stronger attacker), from the published overall rows where known.
    targets = _attack_unknown_cube(cube, by_f, ("stratum", "group_value", "has"), limit=120)
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
    assert set(groups["attribute"].to_list()) == {"gender", "age_band", "function_level"}, "no evaluator rows"
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
