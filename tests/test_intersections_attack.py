"""The integer-programming attacker (tests/attacker.py) against the intersections table together with the
fairness table's function-level rows, both on the organisation site (issue 23, issue 16 "Protection").

The two tables count the same people: a level's intersections (gender × part-time) add up to the fairness
page's women and men of that level, and to its full-time and part-time people. A small gender category left
out of the fairness comparison but still counted in the intersections' level totals came back by subtraction
(level total − women − men: one person with gender X and their rating on the sample before the fix).
"""

from __future__ import annotations

import polars as pl
from attacker import Model

K = 5
CELL = ("function_level", "gender", "part_time")
AT_LEAST = "rating_at_least_"


def joint_model(published: dict[str, pl.DataFrame], sources: dict[str, pl.DataFrame]) -> tuple[Model, int]:
    """Facts: every intersection's n, yes and no (rates bound them), each level's totals, and the fairness
    table's women/men and full-time/part-time counts per level for the same cut point, tied to the sum of their
    intersections. Returns the model and how many fairness rows were tied."""
    pub = published["fairness_intersections"].filter(pl.col("measure") == "rating")
    true_ix = sources["marts.fairness_intersections"].filter(pl.col("measure") == "rating")
    truth = {
        (r["organization"], r["cycle"], r["outcome"], *(r[c] for c in CELL)): (r["n"], r["count"])
        for r in true_ix.iter_rows(named=True)
    }
    model = Model()
    levels: dict[tuple[object, ...], list[tuple[object, ...]]] = {}
    for r in pub.iter_rows(named=True):
        key = (r["organization"], r["cycle"], r["outcome"], *(r[c] for c in CELL))
        t_n, t_c = truth[key]
        n, yes, no = (("ix", *key, h) for h in ("n", "yes", "no"))
        model.fact(n, r["n"], t_n)
        model.fact(yes, r["count"], t_c)
        both = r["n"] is not None and r["count"] is not None
        model.fact(no, r["n"] - r["count"] if both else None, t_n - t_c)
        model.total(n, [yes, no])
        model.ratio(yes, n, r["rate"])
        level = (r["organization"], r["cycle"], r["outcome"], r["function_level"])
        levels.setdefault(level, []).append(key)
        model.fact(("level", *level, "n"), r["level_n"])
        model.fact(("level", *level, "yes"), r["level_count"])
    for level, keys in levels.items():
        model.fact(("level", *level, "n"), None, sum(truth[k][0] for k in keys))
        model.fact(("level", *level, "yes"), None, sum(truth[k][1] for k in keys))
        for h in ("n", "yes"):
            model.total(("level", *level, h), [("ix", *k, h) for k in keys])
    strata = sources["marts.fairness_strata"].filter(
        (pl.col("stratum_type") == "function_level") & (pl.col("period") == "cycle")
    )
    true_fa = {
        (r["organization"], r["cycle"], r["outcome"], r["attribute"], r["stratum"], r["group_value"]): (
            r["n"],
            r["count"],
        )
        for r in strata.iter_rows(named=True)
    }
    rows = published["fairness"].filter(
        (pl.col("scope") == "function_level")
        & pl.col("attribute").is_in(["gender", "part_time"])
        & pl.col("group_value").is_not_null()
        & pl.col("outcome").str.starts_with(AT_LEAST)
    )
    tied = 0
    for r in rows.iter_rows(named=True):
        level = (r["organization"], r["cycle"], r["outcome"].removeprefix(AT_LEAST), r["stratum"])
        true = true_fa.get(
            (r["organization"], r["cycle"], r["outcome"], r["attribute"], r["stratum"], r["group_value"])
        )
        if level not in levels or true is None:
            continue
        at = 1 + CELL.index(r["attribute"])
        parts = [k for k in levels[level] if k[2 + at] == r["group_value"]]
        fact = ("fair", *level, r["attribute"], r["group_value"])
        model.fact((*fact, "n"), r["group_n"], true[0])
        model.fact((*fact, "yes"), r["count"], true[1])
        model.total((*fact, "n"), [("ix", *k, "n") for k in parts])
        model.total((*fact, "yes"), [("ix", *k, "yes") for k in parts])
        tied += 1
    model.small_targets(K)
    return model, tied


def test_intersections_and_fairness_together_give_back_no_hidden_count(sample_publication) -> None:  # type: ignore[no-untyped-def]
    sources, published = sample_publication
    model, tied = joint_model(published.tables, sources)
    # The model is exact: the two tables count the same people (a left-out category is out of both).
    assert model.check_truth() == []
    assert tied > 100, "the fairness page's level rows must be tied to the intersections"
    found = model.attack()
    recovered = [f.key for f in found if f.recovered]
    print(
        f"intersections + fairness levels: {len(found)} hidden small facts attacked, {len(recovered)} recovered"
    )
    assert len(found) > 100
    assert recovered == []


def test_a_left_out_category_leaves_the_intersections_entirely() -> None:
    """Gender X in 2024 is left out (the fairness mart's decision): no X row, and level totals without them."""
    from models.config import PROJECT_ROOT
    from models.fairness_intersections import fairness_intersections
    from models.policy import load_policy

    policy = load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")
    people = pl.DataFrame(
        {
            "organization": ["z"] * 12,
            "cycle": [2024] * 12,
            "function_level": ["S05"] * 12,
            "gender": ["F"] * 5 + ["M"] * 5 + ["X"] * 2,
            "fte": [1.0] * 12,
            "rating": ["uitstekend", "normaal"] * 6,
        }
    )
    left_out = pl.DataFrame({"organization": ["z"], "cycle": [2024], "gender": ["X"]})
    kept = fairness_intersections(people, {"z": policy})
    cut = fairness_intersections(people, {"z": policy}, left_out)
    assert set(kept["gender"]) == {"F", "M", "X"} and set(cut["gender"]) == {"F", "M"}
    assert set(kept["level_n"]) == {12} and set(cut["level_n"]) == {10}
