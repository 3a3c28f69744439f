"""Calibration impact marts (issue 10): move counts exact on hand-built frames, every statistic against an
independent reference (scipy / statsmodels, or brute force), no flags beyond the FDR on a null pattern, and
the planted pattern of the sample (women in S11 moved down more often in zeeland-demo) found end to end.

References: Wilson — statsmodels ``proportion_confint(method="wilson")``; Fisher — ``scipy.stats.fisher_exact``;
BH — statsmodels ``multipletests(method="fdr_bh")``; Cohen's h — statsmodels ``proportion_effectsize``;
within-level CMH — statsmodels ``StratifiedTable``; gap change — ``scipy.stats.ttest_ind(equal_var=True)``;
jackknife and within-level gaps — brute-force loops written here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal
from scipy import stats as sps
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportion_effectsize

from models.calibration_impact import (
    SCHEMAS,
    calibration_impact_marts,
    impact_config,
    jackknife_sd_change,
    make_periods,
    pooled_t_difference,
)
from models.config import PROJECT_ROOT
from models.errors import ConfigError
from models.policy import Policy, load_policy

ZEELAND = load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")
PLOEG = load_policy(PROJECT_ROOT / "policies" / "ploeg.yaml")
ORG = "org-a"
TOL = 1e-6
CODES = ZEELAND.rating_codes  # slecht, matig, normaal, zeer_goed, uitstekend


def evaluations(rows: Sequence[dict[str, Any]], organization: str = ORG) -> pl.DataFrame:
    """Evaluation rows with defaults for every column the marts read."""
    default = {
        "organization": organization,
        "cycle": 2024,
        "department": "D1",
        "function_level": "S05",
        "evaluator_id": "e1",
        "gender": "F",
        "birth_year": 1980,
        "fte": 1.0,
        "employment_type": "contractueel",
        "proposed_rating": "normaal",
        "rating": "normaal",
    }
    schema = {
        "organization": pl.String,
        "cycle": pl.Int64,
        "department": pl.String,
        "function_level": pl.String,
        "evaluator_id": pl.String,
        "gender": pl.String,
        "birth_year": pl.Int64,
        "fte": pl.Float64,
        "employment_type": pl.String,
        "proposed_rating": pl.String,
        "rating": pl.String,
    }
    return pl.DataFrame([{**default, **r} for r in rows], schema=schema)


def random_evaluations(
    n: int, seed: int, cycles: Sequence[int] = (2022, 2023, 2024), codes: Sequence[str] = CODES
) -> pl.DataFrame:
    """People whose moves are independent of every attribute (the null pattern), vectorised."""
    rng = np.random.default_rng(seed)
    size = n * len(cycles)
    k = len(codes)
    proposed = rng.integers(0, k, size)
    move = rng.choice([-1, 0, 0, 0, 0, 0, 0, 1], size)
    final = np.clip(proposed + move, 0, k - 1)
    code = np.asarray(codes)
    return pl.DataFrame(
        {
            "organization": ORG,
            "cycle": np.repeat(np.asarray(cycles), n),
            "department": rng.choice([f"D{i}" for i in range(8)], size),
            "function_level": rng.choice([f"S{i:02d}" for i in range(4, 10)], size),
            "evaluator_id": rng.choice([f"e{i:02d}" for i in range(40)], size),
            "gender": rng.choice(["F", "M", "X"], size, p=[0.49, 0.49, 0.02]),
            "birth_year": rng.integers(1960, 2002, size),
            "fte": rng.choice([0.5, 0.8, 1.0], size),
            "employment_type": rng.choice(["statutair", "contractueel"], size),
            "proposed_rating": code[proposed],
            "rating": code[final],
        }
    )


def marts(frame: pl.DataFrame, policy: Policy = ZEELAND) -> dict[str, pl.DataFrame]:
    return calibration_impact_marts(frame, {str(frame["organization"][0]): policy}).marts


# --------------------------------------------------------------------------------------------------------------
# Counts (exact)
# --------------------------------------------------------------------------------------------------------------

MOVES = [  # (department, evaluator, proposed, final)
    ("D1", "e1", "normaal", "normaal"),
    ("D1", "e1", "zeer_goed", "normaal"),  # down 1
    ("D1", "e1", "uitstekend", "normaal"),  # down 2
    ("D1", "e1", "matig", "normaal"),  # up 1
    ("D1", "e2", "normaal", "normaal"),
    ("D1", "e2", "zeer_goed", "zeer_goed"),
    ("D2", "e3", "slecht", "normaal"),  # up 2
    ("D2", "e3", "normaal", "zeer_goed"),  # up 1
    ("D2", "e3", "normaal", "normaal"),
    ("D2", "e3", "uitstekend", "zeer_goed"),  # down 1
]


@pytest.fixture(scope="module")
def counted() -> dict[str, pl.DataFrame]:
    rows = [{"department": d, "evaluator_id": e, "proposed_rating": p, "rating": f} for d, e, p, f in MOVES]
    return marts(evaluations(rows))


def unit_row(units: pl.DataFrame, grouping: str, unit: str) -> dict[str, Any]:
    sub = units.filter((pl.col("grouping") == grouping) & (pl.col("unit") == unit))
    assert sub.height == 1
    return sub.row(0, named=True)


def test_move_counts_per_unit_are_exact(counted: dict[str, pl.DataFrame]) -> None:
    units = counted["calibration_impact"]
    assert set(units.columns) == set(SCHEMAS["calibration_impact"])
    org = unit_row(units, "organization", ORG)
    assert (org["n"], org["n_up"], org["n_down"], org["n_unchanged"], org["n_moved"]) == (10, 3, 3, 4, 6)
    assert (org["steps_up"], org["steps_down"], org["net_steps"], org["n_multi_step"], org["max_steps"]) == (
        4,
        4,
        0,
        2,
        2,
    )
    assert org["mean_move"] == 0.0 and org["mean_abs_move"] == pytest.approx(0.8)
    proposed = [3, 4, 5, 2, 3, 4, 1, 3, 3, 5]
    final = [3, 3, 3, 3, 3, 4, 3, 4, 3, 4]
    assert org["mean_proposed_score"] == pytest.approx(np.mean(proposed))
    assert org["mean_final_score"] == pytest.approx(np.mean(final))
    assert org["sd_proposed_score"] == pytest.approx(np.std(proposed, ddof=1))
    assert org["sd_final_score"] == pytest.approx(np.std(final, ddof=1))
    d1, e3 = unit_row(units, "department", "D1"), unit_row(units, "evaluator", "e3")
    assert (d1["n"], d1["n_up"], d1["n_down"], d1["steps_down"], d1["max_steps"]) == (6, 1, 2, 3, 2)
    assert (e3["n"], e3["n_up"], e3["n_down"], e3["steps_up"], e3["n_multi_step"]) == (4, 2, 1, 3, 1)
    e2 = unit_row(units, "evaluator", "e2")
    assert (e2["n_moved"], e2["max_steps"], e2["publishable"]) == (0, 0, False)  # 2 people < min_group_size
    assert d1["publishable"] and not unit_row(units, "department", "D2")["publishable"]
    assert set(units["period"]) == {"cycle"}  # one cycle: no window rows


def test_distribution_before_and_after_is_exact(counted: dict[str, pl.DataFrame]) -> None:
    dist = counted["calibration_distribution"].filter(pl.col("grouping") == "organization")
    assert dist["rating"].to_list() == CODES and dist["rating_position"].to_list() == [1, 2, 3, 4, 5]
    assert dist["n_proposed"].to_list() == [1, 1, 4, 2, 2]
    assert dist["n_final"].to_list() == [0, 0, 7, 3, 0]
    assert dist["share_change"].to_list() == pytest.approx([-0.1, -0.1, 0.3, 0.1, -0.2])
    e2 = counted["calibration_distribution"].filter(pl.col("unit") == "e2")
    assert e2.height == 5 and e2["n_final"].to_list() == [0, 0, 1, 1, 0]  # every rating, zeros included


def test_windows_pool_the_last_cycles() -> None:
    periods = make_periods([2024, 2021, 2022, 2023], window=3)
    frame = periods.frame
    assert frame.filter(pl.col("period") == "cycle")["cycle"].to_list() == [2021, 2022, 2023, 2024]
    windows = frame.filter(pl.col("period") == "window")
    assert windows.select("first_cycle", "cycle").rows() == [(2021, 2022), (2021, 2023), (2022, 2024)]
    rows = [
        {"cycle": c, "proposed_rating": "zeer_goed", "rating": r}
        for c in (2022, 2023, 2024)
        for r in ("normaal", "zeer_goed")
    ]
    rows += [{"cycle": 2024, "proposed_rating": "matig", "rating": "normaal"}]
    units = marts(evaluations(rows))["calibration_impact"].filter(pl.col("grouping") == "organization")
    window = units.filter((pl.col("period") == "window") & (pl.col("cycle") == 2024)).row(0, named=True)
    assert (window["first_cycle"], window["n"], window["n_down"], window["n_up"]) == (2022, 7, 3, 1)
    assert units.filter(pl.col("period") == "cycle")["n"].to_list() == [2, 2, 3]


def test_without_proposals_there_are_no_rows_and_no_error() -> None:
    frame = evaluations([{"proposed_rating": None}] * 6)
    result = calibration_impact_marts(frame, {ORG: ZEELAND})
    assert result.organizations == 0 and all(m.height == 0 for m in result.marts.values())
    assert {n: dict(m.schema) for n, m in result.marts.items()} == {
        n: dict(pl.DataFrame(schema=s).schema) for n, s in SCHEMAS.items()
    }
    assert calibration_impact_marts(frame.drop("proposed_rating"), {ORG: ZEELAND}).organizations == 0
    # One organisation with proposals, one without: rows only for the first; a cycle without none for it.
    both = pl.concat(
        [
            evaluations([{"cycle": 2023, "proposed_rating": None}, {"cycle": 2024}]),
            evaluations([{"proposed_rating": None}], organization="org-b"),
        ]
    )
    result = calibration_impact_marts(both, {ORG: ZEELAND, "org-b": PLOEG})
    units = result.marts["calibration_impact"]
    assert set(units["organization"]) == {ORG} and set(units["cycle"]) == {2024} and result.moves == 1


def test_any_policy_scale_works_and_scores_come_from_the_policy(tmp_path: Path) -> None:
    raw = yaml.safe_load((PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").read_text(encoding="utf-8"))
    raw["id"] = "seven"
    raw["rating_scale"] = {
        "rule": "test",
        "values": [{"code": f"r{i}", "score": s} for i, s in enumerate([1, 2, 4, 5, 6, 8, 10])],
    }
    path = tmp_path / "seven.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    seven = load_policy(path)
    rows = [
        {"proposed_rating": "r2", "rating": "r5"},  # up 3 steps, +4 score points
        {"proposed_rating": "r6", "rating": "r5"},  # down 1 step, -2 points
        {"proposed_rating": "r0", "rating": "r0"},
    ]
    result = marts(evaluations(rows), seven)
    org = unit_row(result["calibration_impact"], "organization", ORG)
    assert (org["steps_up"], org["steps_down"], org["max_steps"], org["n_multi_step"]) == (3, 1, 3, 1)
    assert org["mean_score_change"] == pytest.approx((4 - 2 + 0) / 3)
    dist = result["calibration_distribution"].filter(pl.col("grouping") == "organization")
    assert dist["rating"].to_list() == [f"r{i}" for i in range(7)]
    assert dist["rating_score"].to_list() == [1.0, 2.0, 4.0, 5.0, 6.0, 8.0, 10.0]
    # PLOEG's three-point scale, through the same code.
    ploeg = marts(evaluations([{"proposed_rating": "voldoende", "rating": "onvoldoende"}]), PLOEG)
    assert unit_row(ploeg["calibration_impact"], "organization", ORG)["n_down"] == 1


def test_an_attribute_nobody_has_is_left_out() -> None:
    frame = random_evaluations(40, seed=1).with_columns(
        pl.lit(None, dtype=pl.String).alias("employment_type")
    )
    result = marts(frame)
    assert "employment_type" not in set(result["calibration_moves"]["attribute"])
    assert result["calibration_moves"].filter(pl.col("attribute") == "gender").height > 0


def test_a_policy_without_the_window_is_a_config_error() -> None:
    raw = {k: v for k, v in ZEELAND.raw.items() if k != "calibration_impact"}
    policy = Policy(ZEELAND.id, ZEELAND.version, ZEELAND.name, ZEELAND.timezone, ZEELAND.ratings, (), raw)
    with pytest.raises(ConfigError, match=r"calibration_impact\.window_cycles"):
        impact_config(policy)


# --------------------------------------------------------------------------------------------------------------
# Statistics against references
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def random_marts() -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    frame = random_evaluations(700, seed=11)
    return frame, marts(frame)


def test_rates_wilson_fisher_and_cohens_h_match_statsmodels_and_scipy(
    random_marts: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    _, result = random_marts
    moves = result["calibration_moves"]
    compared = moves.filter(pl.col("p_value").is_not_null())
    assert compared.height > 100
    lo, hi = proportion_confint(moves["count"].to_numpy(), moves["n"].to_numpy(), alpha=0.05, method="wilson")
    assert np.allclose(moves["rate_ci_low"].to_numpy(), np.clip(lo, 0, 1), atol=TOL)
    assert np.allclose(moves["rate_ci_high"].to_numpy(), np.clip(hi, 0, 1), atol=TOL)
    for row in compared.sample(60, seed=3).iter_rows(named=True):
        a, n, c, m = row["count"], row["n"], row["reference_count"], row["reference_n"]
        odds, p = sps.fisher_exact([[a, n - a], [c, m - c]])
        assert row["p_value"] == pytest.approx(p, abs=TOL)
        if math.isfinite(odds) and odds > 0:
            assert row["odds_ratio"] == pytest.approx(odds, rel=TOL)
        assert row["effect_size"] == pytest.approx(proportion_effectsize(a / n, c / m), abs=TOL)
    # The reference of an attribute with a reference group is that group's own row; "rest" is everyone else.
    one = compared.filter((pl.col("attribute") == "evaluator") & (pl.col("period") == "cycle")).row(
        0, named=True
    )
    everyone = result["calibration_impact"].filter(
        (pl.col("grouping") == "organization")
        & (pl.col("period") == "cycle")
        & (pl.col("cycle") == one["cycle"])
    )
    assert one["reference_group"] == "rest_of_organisation"
    assert one["reference_n"] == everyone["n"][0] - one["n"]


def test_q_values_are_benjamini_hochberg_per_family(
    random_marts: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    _, result = random_marts
    moves = result["calibration_moves"]
    family = moves.filter(
        (pl.col("period") == "window")
        & (pl.col("cycle") == 2024)
        & (pl.col("direction") == "down")
        & (pl.col("attribute") == "evaluator")
        & pl.col("q_value").is_not_null()
    )
    assert family.height >= 30
    expected = multipletests(family["p_value"].to_numpy(), method="fdr_bh")[1]
    assert np.allclose(family["q_value"].to_numpy(), expected, atol=TOL)
    small = moves.filter(pl.col("p_value").is_not_null() & ((pl.col("n") < 5) | (pl.col("reference_n") < 5)))
    assert small["q_value"].null_count() == small.height  # below metrics.min_n_flag: not in the family


def test_within_level_cmh_matches_statsmodels(
    random_marts: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    frame, result = random_marts
    rows = result["calibration_moves"].filter(
        (pl.col("period") == "window")
        & (pl.col("cycle") == 2024)
        & (pl.col("direction") == "down")
        & (pl.col("attribute").is_in(["gender", "evaluator"]))
        & pl.col("within_level_p_value").is_not_null()
    )
    moved = frame.with_columns(
        (
            pl.col("rating").replace_strict({c: i for i, c in enumerate(CODES)})
            < pl.col("proposed_rating").replace_strict({c: i for i, c in enumerate(CODES)})
        ).alias("down")
    )
    checked = 0
    for row in rows.head(6).iter_rows(named=True):
        column = "gender" if row["attribute"] == "gender" else "evaluator_id"
        own = pl.col(column) == row["group_value"]
        ref = (
            ~own
            if row["reference_group"] == "rest_of_organisation"
            else pl.col(column) == row["reference_group"]
        )
        tables = []
        for _key, part in sorted(moved.partition_by(["cycle", "function_level"], as_dict=True).items()):
            g, r = part.filter(own), part.filter(ref)
            if g.height == 0:
                continue
            a, c = int(g["down"].sum()), int(r["down"].sum())
            tables.append([[a, g.height - a], [c, r.height - c]])
        st = StratifiedTable(np.transpose(np.asarray(tables, dtype=float), (1, 2, 0)))
        lo, hi = st.oddsratio_pooled_confint()
        assert row["within_level_strata"] == len(tables)
        assert row["within_level_odds_ratio"] == pytest.approx(st.oddsratio_pooled, rel=TOL)
        assert row["within_level_ci_low"] == pytest.approx(lo, rel=TOL)
        assert row["within_level_ci_high"] == pytest.approx(hi, rel=TOL)
        assert row["within_level_p_value"] == pytest.approx(
            st.test_null_odds(correction=False).pvalue, abs=TOL
        )
        checked += 1
    assert checked == 6


def test_gap_change_is_students_t_on_the_score_changes() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(0.1, 0.5, 40), rng.normal(-0.2, 0.7, 55)
    diff, p, lo, hi = pooled_t_difference(x.sum(), (x**2).sum(), 40, y.sum(), (y**2).sum(), 55, 0.95)
    ref = sps.ttest_ind(x, y, equal_var=True)
    ci = ref.confidence_interval(0.95)
    assert float(diff) == pytest.approx(x.mean() - y.mean(), abs=1e-12)
    assert float(p) == pytest.approx(ref.pvalue, abs=TOL)
    assert (float(lo), float(hi)) == pytest.approx((ci.low, ci.high), abs=TOL)
    # A small group in which nobody moved still gets an honest (pooled) interval.
    z = np.zeros(4)
    _, p0, lo0, _ = pooled_t_difference(0.0, 0.0, 4, y.sum(), (y**2).sum(), 55, 0.95)
    assert float(p0) == pytest.approx(sps.ttest_ind(z, y, equal_var=True).pvalue, abs=TOL)
    assert math.isfinite(float(lo0))


def test_spread_gap_rows_against_the_people(
    random_marts: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    frame, result = random_marts
    score = {c: float(ZEELAND.rating_scores[c]) for c in CODES}
    people = (
        frame.filter(pl.col("cycle") == 2023)
        .with_columns(
            pl.col("proposed_rating").replace_strict(score).alias("p"),
            pl.col("rating").replace_strict(score).alias("f"),
        )
        .with_columns((pl.col("f") - pl.col("p")).alias("d"))
    )
    row = (
        result["calibration_spread"]
        .filter(
            (pl.col("period") == "cycle")
            & (pl.col("cycle") == 2023)
            & (pl.col("dimension") == "gender")
            & (pl.col("n") >= 100)
        )
        .row(0, named=True)
    )
    group = row["group_value"]
    women, ref = (
        people.filter(pl.col("gender") == group),
        people.filter(pl.col("gender") == row["reference_group"]),
    )
    assert row["before"] == pytest.approx(women["p"].mean() - ref["p"].mean(), abs=1e-12)
    assert row["after"] == pytest.approx(women["f"].mean() - ref["f"].mean(), abs=1e-12)
    assert row["change"] == pytest.approx(row["after"] - row["before"], abs=1e-12)
    t = sps.ttest_ind(women["d"].to_numpy(), ref["d"].to_numpy(), equal_var=True)
    assert row["p_value"] == pytest.approx(t.pvalue, abs=TOL)
    assert (row["change_ci_low"], row["change_ci_high"]) == pytest.approx(
        tuple(t.confidence_interval()), abs=TOL
    )
    # Within function level: brute force over the levels.
    num_b = num_a = den = var = 0.0
    for _, part in people.partition_by("function_level", as_dict=True).items():
        g, r = part.filter(pl.col("gender") == group), part.filter(pl.col("gender") == row["reference_group"])
        if g.height == 0 or r.height == 0 or g.height + r.height < 3:
            continue
        w = g.height * r.height / (g.height + r.height)
        num_b += w * (g["p"].mean() - r["p"].mean())
        num_a += w * (g["f"].mean() - r["f"].mean())
        ss = ((g["d"] - g["d"].mean()) ** 2).sum() + ((r["d"] - r["d"].mean()) ** 2).sum()
        var += w**2 * ss / (g.height + r.height - 2) * (1 / g.height + 1 / r.height)
        den += w
    assert row["within_level_before"] == pytest.approx(num_b / den, abs=1e-9)
    assert row["within_level_change"] == pytest.approx((num_a - num_b) / den, abs=1e-9)
    z = (num_a - num_b) / den / (math.sqrt(var) / den)
    assert row["within_level_p_value"] == pytest.approx(2 * sps.norm.sf(abs(z)), abs=TOL)


def test_unit_spread_is_the_sd_of_unit_means_with_a_jackknife_interval(
    random_marts: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    _, result = random_marts
    units = result["calibration_impact"].filter(
        (pl.col("period") == "cycle")
        & (pl.col("cycle") == 2022)
        & (pl.col("grouping") == "department")
        & (pl.col("n") >= 5)
    )
    row = (
        result["calibration_spread"]
        .filter(
            (pl.col("period") == "cycle") & (pl.col("cycle") == 2022) & (pl.col("dimension") == "department")
        )
        .row(0, named=True)
    )
    before, after = units["mean_proposed_score"].to_numpy(), units["mean_final_score"].to_numpy()
    assert row["units"] == units.height == 8
    assert row["before"] == pytest.approx(np.std(before, ddof=1), abs=1e-12)
    assert row["after"] == pytest.approx(np.std(after, ddof=1), abs=1e-12)
    # Jackknife against a brute-force leave-one-out loop.
    u = before.size
    theta = np.array(
        [np.std(np.delete(after, i), ddof=1) - np.std(np.delete(before, i), ddof=1) for i in range(u)]
    )
    se = math.sqrt((u - 1) / u * np.sum((theta - theta.mean()) ** 2))
    half = sps.t.ppf(0.975, u - 1) * se
    change, lo, hi = jackknife_sd_change(before, after)
    assert (change, lo, hi) == pytest.approx(
        (row["change"], row["change"] - half, row["change"] + half), abs=1e-9
    )
    assert (row["change_ci_low"], row["change_ci_high"]) == pytest.approx((lo, hi), abs=1e-9)


def test_a_null_pattern_flags_nothing_beyond_the_fdr() -> None:
    result = marts(random_evaluations(1500, seed=2024))
    for name in ("calibration_moves", "calibration_moves_strata"):
        frame = result[name]
        tested = frame.filter(pl.col("q_value").is_not_null()).height
        assert tested > 200
        assert frame["flag"].sum() <= ZEELAND.rule_value("metrics", "fdr") * tested
    # Under the null every flag is a false discovery: per family, BH keeps them rare.
    spread = result["calibration_spread"].filter(pl.col("measure") == "group_gap")
    assert (spread["verdict"] != "no_clear_change").sum() <= 0.05 * spread.height + 1


def test_the_planted_pattern_is_flagged_on_hand_built_data() -> None:
    """Women in one function level moved down far more often than men there; nowhere else a difference."""
    frame = random_evaluations(600, seed=8)
    rng = np.random.default_rng(1)
    target = (
        (pl.col("function_level") == "S07")
        & (pl.col("gender") == "F")
        & pl.col("proposed_rating").is_in(CODES[1:])
    )
    lower = pl.col("proposed_rating").replace_strict({c: CODES[max(i - 1, 0)] for i, c in enumerate(CODES)})
    frame = (
        frame.with_columns(pl.Series("_u", rng.random(frame.height)))
        .with_columns(
            pl.when(target & (pl.col("_u") < 0.5)).then(lower).otherwise(pl.col("rating")).alias("rating")
        )
        .drop("_u")
    )
    strata = marts(frame)["calibration_moves_strata"]
    hit = strata.filter(
        (pl.col("period") == "window")
        & (pl.col("cycle") == 2024)  # men are the largest group of 2024, so the window's reference
        & (pl.col("direction") == "down")
        & (pl.col("attribute") == "gender")
        & (pl.col("function_level") == "S07")
        & (pl.col("group_value") == "F")
    ).row(0, named=True)
    assert hit["flag"] and hit["rate"] > hit["reference_rate"] and hit["publishable"]
    assert "S07" in hit["finding_en"] and "vaker omlaag" in hit["finding_nl"]


def test_the_reference_group_is_the_largest_group_of_the_cycle() -> None:
    """Without a reference in the policy, each cycle's (and each window's last cycle's) largest group is the
    reference: counted here straight from the input rows."""
    frame = random_evaluations(600, seed=8)
    largest = {
        cycle: group.sort(["len", "gender"], descending=[True, False])["gender"][0]
        for (cycle,), group in frame.group_by("cycle", "gender").len().group_by("cycle")
    }
    assert len(set(largest.values())) == 2  # the data is chosen so the reference changes between cycles
    moves = marts(frame)["calibration_moves"].filter(pl.col("attribute") == "gender")
    assert moves.height > 0
    for row in moves.iter_rows(named=True):
        assert row["reference_group"] == largest[row["cycle"]]


def test_a_new_cycle_leaves_the_earlier_cycles_rows_as_they_were() -> None:
    """What lets an incremental run rebuild only the new cycle: the rows of the cycles before it are the same
    with and without it, in every mart."""
    frame = random_evaluations(400, seed=5)
    before = marts(frame.filter(pl.col("cycle") < 2024))
    after = marts(frame)
    for name, table in after.items():
        earlier = table.filter(pl.col("cycle") < 2024)
        assert earlier.height == before[name].height > 0
        assert_frame_equal(earlier.sort(earlier.columns), before[name].sort(earlier.columns))


# --------------------------------------------------------------------------------------------------------------
# The sample, end to end
# --------------------------------------------------------------------------------------------------------------


def test_sample_run_finds_women_in_s11_moved_down_more_often(sample_run) -> None:  # type: ignore[no-untyped-def]
    # (The run's overall success is test_pipeline's business; this test needs only the calibration marts.)
    planted = next(
        p for p in sample_run.manifest["planted"] if p["pattern"] == "calibration_moves_women_down"
    )
    org, level = planted["organization"], planted["unit"]["function_level"]
    last = max(planted["cycles"])
    found = sample_run.query(
        f"""SELECT * FROM marts.calibration_moves_strata
            WHERE organization = '{org}' AND period = 'window' AND cycle = {last} AND direction = 'down'
              AND attribute = 'gender' AND function_level = '{level}' AND group_value = 'F'"""
    ).row(0, named=True)
    assert found["flag"] and found["publishable"]
    assert found["reference_group"] == "M" and found["rate"] > 2 * found["reference_rate"]
    assert found["q_value"] < ZEELAND.rule_value("metrics", "fdr")
    assert found["rate"] == pytest.approx(planted["observed"]["down_share_women"], abs=0.02)
    # Only the organisation whose exports keep the proposal has rows (vo-demo has none: not an error).
    orgs = sample_run.query("SELECT DISTINCT organization FROM marts.calibration_impact")["organization"]
    assert orgs.to_list() == [org]
    spread = sample_run.query("SELECT * FROM marts.calibration_spread WHERE sentence_en IS NOT NULL")
    assert spread.height > 0 and spread["sentence_nl"].str.starts_with("De kalibratie").all()
