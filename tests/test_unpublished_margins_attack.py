"""The integer-programming attacker (tests/attacker.py) against the fairness table's department strata as the
engine protects them since the report counts only shown cells (issue 16, docs/privacy.md "Complementary
suppression: what it costs"): a department's count with and without an outcome is published nowhere
(`TableRule.unpublished`: unknowns of the reader's equations), the count without is a group's size minus its
count with (not shown, but known where both are), and a count with whose remainder is 1 to k−1 is hidden as a
small remainder. Generated tables (2 to 4 departments × women and men × with / without): every number the
rule publishes is given to the attacker, with every margin equation; no hidden count of 1 to k−1 people (the
counts without and the unpublished margins included) comes back.
"""

from __future__ import annotations

import polars as pl
from attacker import Model, add_cube
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.disclosure.engine import REASON, SMALL_REMAINDER, SUPPRESSED, Thresholds, _cube, protect
from models.releases.fairness import CUBE_KEYS, DEPARTMENT_RULE, FAIRNESS_RULE

K = 5
BY = ["organization", "cycle", "outcome", "attribute"]
DIMS = ["stratum", "group_value", "has"]


def _cells(table: list[tuple[tuple[int, int], tuple[int, int]]]) -> pl.DataFrame:
    """Cube cells (CUBE_KEYS + n) of one outcome: per department (women's yes/no, men's yes/no)."""
    rows = [
        {"organization": "o", "cycle": 2024, "outcome": "incidental_reward", "attribute": "gender",
         "stratum": f"d{i}", "group_value": group, "has": has, "n": n}
        for i, department in enumerate(table)
        for group, (yes, no) in zip(("F", "M"), department, strict=True)
        for has, n in (("yes", yes), ("no", no))
    ]  # fmt: skip
    return pl.DataFrame(rows).select(*CUBE_KEYS, "n")


def attack(cells: pl.DataFrame) -> tuple[Model, pl.DataFrame]:
    """The model of what a reader of the protected table knows, and the protected cube."""
    result = protect(cells, DEPARTMENT_RULE, Thresholds(k=K))
    truth = _cube(cells, DEPARTMENT_RULE).select(*CUBE_KEYS, pl.col("n").alias("value"))
    # What is published: sizes and counts with the outcome that are not hidden; never a count without, never
    # an unpublished margin.
    frame = result.frame.with_columns(
        pl.when(~pl.col(SUPPRESSED) & (pl.col("has").is_null() | (pl.col("has") == "yes")))
        .then(pl.col("n"))
        .alias("value")
    )
    model = Model()
    add_cube(model, "cube", frame, truth, BY, DIMS, "value")
    model.small_targets(K)
    return model, result.frame


department = st.tuples(
    st.tuples(st.integers(0, 30), st.integers(0, 30)), st.tuples(st.integers(0, 30), st.integers(0, 30))
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(department, min_size=2, max_size=4))
def test_no_hidden_count_of_a_department_stratum_comes_back(
    table: list[tuple[tuple[int, int], tuple[int, int]]],
) -> None:
    model, frame = attack(_cells(table))
    assert not model.check_truth(), "the model must hold for the true counts"
    found = model.attack()
    assert all(f.consistent for f in found), "the bounds must hold the true value"
    assert not [f.key for f in found if f.recovered]
    # Department totals with and without the outcome are never published.
    margins = frame.filter(
        pl.col("stratum").is_not_null() & pl.col("group_value").is_null() & pl.col("has").is_not_null()
    )
    assert margins[SUPPRESSED].all() and margins["n"].is_null().all()


def test_a_small_remainder_and_an_unpublished_margin_save_the_siblings() -> None:
    """Department d0: women 18 with the outcome and 2 without, men 20 and 10; d1 and d2 larger. The women's
    count with is hidden as a small remainder (20 − 18 = 2); with the department's count with unpublished,
    the men of d0 stay shown (the old rule hid them: d0's count with was a published total), and the women's
    column is closed among the women (no man's count, no size hidden)."""
    cells = _cells([((18, 2), (20, 10)), ((25, 12), (30, 9)), ((22, 14), (26, 11))])
    model, frame = attack(cells)
    found = model.attack()
    assert found and not [f.key for f in found if f.recovered]

    def cell(stratum: str, group: str, has: str) -> dict[str, object]:
        return frame.filter(
            (pl.col("stratum") == stratum) & (pl.col("group_value") == group) & (pl.col("has") == has)
        ).row(0, named=True)

    assert cell("d0", "F", "yes")[REASON] == SMALL_REMAINDER
    assert cell("d0", "M", "yes")["n"] == 20, "the men of d0 are shown"
    groups = frame.filter(pl.col("stratum").is_not_null() & pl.col("group_value").is_not_null())
    assert not groups.filter(pl.col("group_value") == "M")[SUPPRESSED].any(), "no count of the men is hidden"
    assert not groups.filter(pl.col("has").is_null())[SUPPRESSED].any(), "every size is shown"
    # With the departments' counts with published (the function-level rule), the men of d0 are hidden too.
    old = protect(cells, FAIRNESS_RULE, Thresholds(k=K)).frame
    men = old.filter((pl.col("stratum") == "d0") & (pl.col("group_value") == "M") & (pl.col("has") == "yes"))
    assert men[SUPPRESSED].item()
