"""Tests for the fairness and pay-transparency marts (issue 4): models/fairness.py, models/pay_transparency.py.

Every statistic is checked against an independent reference: scipy (Fisher exact, Mann–Whitney), statsmodels
(Wilson interval, Benjamini–Hochberg, and — through models.stats.cmh_test — the CMH / Mantel–Haenszel
analysis), exact rational arithmetic (adverse impact at exactly 4/5), published R output (mantelhaen.test on
UCBAdmissions, Fisher's tea tasting), a rank-based re-implementation (van Elteren) and hand computations on
small frames (pay gaps, quartile bands). The last test runs on the shared sample pipeline.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from models import fairness as mf
from models import stats as ms
from models.config import PROJECT_ROOT
from models.pay_transparency import pay_transparency, people_frame, reward_totals
from models.policy import Policy, load_policy

ZEELAND = load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")
PLOEG = load_policy(PROJECT_ROOT / "policies" / "ploeg.yaml")
ORG = "zeeland-demo"

# UCBAdmissions (R datasets), per department A–F: (admitted men, rejected men, admitted women, rejected women)
UCB = {
    "A": (512, 313, 89, 19),
    "B": (353, 207, 17, 8),
    "C": (120, 205, 202, 391),
    "D": (138, 279, 131, 244),
    "E": (53, 138, 94, 299),
    "F": (22, 351, 24, 317),
}


# ---------------------------------------------------------------------------------------------------------------
# Helpers: small hand-built staging frames
# ---------------------------------------------------------------------------------------------------------------


def evaluations(rows: list[dict[str, Any]], org: str = ORG) -> pl.DataFrame:
    """Evaluation rows with sensible defaults for every column the marts read."""
    base = {
        "organization": org,
        "cycle": 2024,
        "department": "D1",
        "function_level": "S08",
        "rating": "normaal",
        "salary_decision": None,
        "employment_type": "contractueel",
        "gender": "F",
        "birth_year": 1980,
        "fte": 1.0,
        "at_scale_maximum": False,
    }
    full = [{**base, "employee_id": f"p{i:05d}", **r} for i, r in enumerate(rows)]
    schema = {
        "organization": pl.String,
        "cycle": pl.Int64,
        "employee_id": pl.String,
        "department": pl.String,
        "function_level": pl.String,
        "rating": pl.String,
        "salary_decision": pl.Int64,
        "employment_type": pl.String,
        "gender": pl.String,
        "birth_year": pl.Int64,
        "fte": pl.Float64,
        "at_scale_maximum": pl.Boolean,
    }
    return pl.DataFrame(full, schema=schema).select(list(schema))


def awards(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {
        "organization": pl.String,
        "cycle": pl.Int64,
        "employee_id": pl.String,
        "award_type": pl.String,
        "pct": pl.Float64,
        "amount": pl.Float64,
        "amount_basis": pl.String,
    }
    base = {"organization": ORG, "cycle": 2024, "pct": None, "amount": None, "amount_basis": None}
    return pl.DataFrame([{**base, **r} for r in rows], schema=schema)


def payroll(ev: pl.DataFrame, salary: float | list[float] = 40000.0) -> pl.DataFrame:
    values = salary if isinstance(salary, list) else [salary] * ev.height
    return ev.select("organization", "cycle", "employee_id", "fte").with_columns(
        pl.Series("annual_salary", values, dtype=pl.Float64)
    )


def bonus_for(ev: pl.DataFrame, mask: list[bool], award_type: str = "output_bonus") -> pl.DataFrame:
    ids = [e for e, m in zip(ev["employee_id"], mask, strict=True) if m]
    return awards([{"employee_id": e, "award_type": award_type, "pct": 3.0} for e in ids])


def run(
    ev: pl.DataFrame,
    aw: pl.DataFrame | None = None,
    pay: pl.DataFrame | None = None,
    policy: Policy = ZEELAND,
    extra: dict[str, list[str]] | None = None,
) -> mf.FairnessMarts:
    org = ev["organization"][0]
    aw = awards([]) if aw is None else aw
    pay = payroll(ev) if pay is None else pay
    people = people_frame(ev, aw, pay, {org: policy})
    return mf.fairness_marts(people, {org: policy}, extra)


def policy_with(tmp_path: Path, base: Policy, **changes: Any) -> Policy:
    """A copy of a policy file with some top-level / fairness keys changed (loaded like any policy)."""
    raw = yaml.safe_load(yaml.safe_dump(base.raw))
    for key, value in changes.items():
        if key.startswith("fairness__"):
            raw["fairness"][key.removeprefix("fairness__")] = value
        else:
            raw[key] = value
    path = tmp_path / f"{raw['id']}_{abs(hash(repr(changes)))}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_policy(path)


def ucb_people(level_column: str = "function_level") -> tuple[pl.DataFrame, pl.DataFrame]:
    """UCBAdmissions as people: department letter as stratum, 'admitted' = an incidental bonus."""
    rows, admitted = [], []
    for dept, (am, rm, af, rf) in UCB.items():
        for gender, yes, no in (("M", am, rm), ("F", af, rf)):
            rows += [{"gender": gender, level_column: dept}] * (yes + no)
            admitted += [True] * yes + [False] * no
    ev = evaluations(rows)
    return ev, bonus_for(ev, admitted)


def row(frame: pl.DataFrame, **where: Any) -> dict[str, Any]:
    sub = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    assert sub.height == 1, f"expected one row for {where}, got {sub.height}"
    return sub.row(0, named=True)


# ---------------------------------------------------------------------------------------------------------------
# Vectorised statistics against scipy / statsmodels / published values
# ---------------------------------------------------------------------------------------------------------------


def test_fisher_exact_pvalues_match_scipy_and_published_tea_tasting() -> None:
    # Fisher (1935) tea tasting [[3, 1], [1, 3]]: two-sided p = 34/70 = 0.4857 (R fisher.test).
    assert float(mf.fisher_exact_pvalues(3, 1, 1, 3)) == pytest.approx(34 / 70, abs=1e-12)
    rng = np.random.default_rng(4)
    cells = []
    for size in (2, 6, 40, 700, 30000, 400000):  # the last ones take the wide-window (scipy tails) path
        block = rng.integers(0, size + 1, size=(4, 30))
        block[0, :10] = rng.integers(0, 3, 10)  # very skewed tables
        cells.append(block)
    a, b, c, d = np.concatenate(cells, axis=1)
    p = mf.fisher_exact_pvalues(a, b, c, d)
    ref = np.array([sps.fisher_exact([[a[i], b[i]], [c[i], d[i]]]).pvalue for i in range(a.size)])
    np.testing.assert_allclose(p, ref, rtol=1e-8, atol=1e-12)
    # zero margins give p = 1 (as scipy), missing cells nan, and the shape is kept
    edge = mf.fisher_exact_pvalues(
        [[0, 0], [3, np.nan]], [[0, 5], [2, 1]], [[4, 0], [0, 1]], [[6, 7], [0, 1]]
    )
    assert edge.shape == (2, 2)
    assert edge[0, 0] == 1.0 and edge[0, 1] == 1.0 and edge[1, 0] == 1.0 and math.isnan(edge[1, 1])
    with pytest.raises(ValueError):
        mf.fisher_exact_pvalues(-1, 2, 3, 4)


def test_stratified_odds_ratios_equal_stats_cmh_test_including_strata_of_size_one() -> None:
    rng = np.random.default_rng(11)
    test_ids, tables = [], []
    for t in range(150):
        for _ in range(int(rng.integers(1, 7))):
            size = int(rng.choice([1, 2, 4, 25, 400]))
            tables.append(rng.integers(0, size + 1, 4))
            test_ids.append(t)
    # a test whose MH OR is exactly 1, one with only size-1 strata, one with a zero margin everywhere
    for extra_id, extra in ((150, [[2, 1, 1, 2], [1, 2, 2, 1]]), (151, [[1, 0, 0, 0], [0, 0, 0, 1]])):
        for tab in extra:
            tables.append(np.array(tab))
            test_ids.append(extra_id)
    tables.append(np.array([3, 2, 0, 0]))
    test_ids.append(152)
    arr = np.array(tables, dtype=float)
    ids = np.array(test_ids)
    res = mf.stratified_odds_ratios(ids, *arr.T, 153)
    for t in range(153):
        ref = ms.cmh_test(arr[ids == t].reshape(-1, 2, 2))
        for field in (
            "odds_ratio",
            "ci_low",
            "ci_high",
            "pvalue",
            "breslow_day_pvalue",
            "n_strata",
            "n_dropped",
        ):
            mine, theirs = float(getattr(res, field)[t]), float(getattr(ref, field))
            if math.isnan(theirs):
                assert math.isnan(mine), (t, field)
            else:
                assert mine == pytest.approx(theirs, rel=1e-9, abs=1e-12), (t, field)
    assert res.n_dropped[151] == 2 and res.n_strata[151] == 0 and math.isnan(res.odds_ratio[151])
    assert res.odds_ratio[150] == pytest.approx(1.0, abs=1e-15)


def test_stratified_odds_ratios_reproduce_r_mantelhaen_on_ucb_admissions() -> None:
    # R: mantelhaen.test(UCBAdmissions, correct = FALSE): OR 0.9046968, 95% CI 0.7719074–1.0603298,
    # X-squared = 1.5246 (p = 0.2169); DescTools::BreslowDayTest: X-squared = 18.83 on 5 df (p = 0.0021).
    cells = np.array(list(UCB.values()), dtype=float)
    res = mf.stratified_odds_ratios(np.zeros(6, dtype=int), *cells.T, 1)
    assert res.odds_ratio[0] == pytest.approx(0.9046968, abs=1e-6)
    assert res.ci_low[0] == pytest.approx(0.7719074, abs=1e-6)
    assert res.ci_high[0] == pytest.approx(1.0603298, abs=1e-6)
    assert res.pvalue[0] == pytest.approx(0.2169, abs=5e-5)
    assert sps.chi2.sf(18.835, 5) < res.breslow_day_pvalue[0] < sps.chi2.sf(18.825, 5)  # X² rounded to 18.83


def test_mann_whitney_counts_match_scipy_with_ties() -> None:
    rng = np.random.default_rng(5)
    for _ in range(40):
        x = rng.integers(0, int(rng.integers(2, 12)), int(rng.integers(1, 60))).astype(float)
        y = rng.integers(0, int(rng.integers(2, 12)), int(rng.integers(1, 60))).astype(float)
        values, inverse = np.unique(np.concatenate([x, y]), return_inverse=True)
        cx = np.bincount(inverse[: x.size], minlength=values.size)
        cy = np.bincount(inverse[x.size :], minlength=values.size)
        below = np.cumsum(cy) - cy
        u = float(np.sum(cx * (below + 0.5 * cy)))
        t = cx + cy
        p = float(mf.mann_whitney_counts(u, x.size, y.size, float(np.sum(t**3 - t))))
        ref = sps.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
        assert u == pytest.approx(float(ref.statistic), abs=1e-9)
        if np.unique(np.concatenate([x, y])).size > 1:
            assert p == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-14)
        else:
            assert p == 1.0
    assert math.isnan(float(mf.mann_whitney_counts(0.0, 0, 5, 0.0)))
    # everyone tied (4 + 6 people with the same value): no evidence of a difference, p = 1
    assert float(mf.mann_whitney_counts(12.0, 4, 6, 10.0**3 - 10.0)) == 1.0


def _van_elteren_by_ranks(strata: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Independent van Elteren test: W = Σ R_s / (N_s + 1) from mid-ranks within each stratum (scipy)."""
    w = e = v = 0.0
    for x, y in strata:
        if x.size == 0 or y.size == 0:
            continue
        z = np.concatenate([x, y])
        n = z.size
        ranks = sps.rankdata(z)
        _, counts = np.unique(z, return_counts=True)
        ties = float(np.sum(counts**3 - counts))
        w += ranks[: x.size].sum() / (n + 1)
        e += x.size / 2.0
        v += x.size * y.size * ((n + 1) - ties / (n * (n - 1))) / (12.0 * (n + 1) ** 2)
    return float(2 * sps.norm.sf(abs((w - e) / math.sqrt(v))))


def test_van_elteren_matches_rank_based_reference() -> None:
    rng = np.random.default_rng(8)
    strata = [
        (
            rng.integers(0, 6, int(rng.integers(0, 30))).astype(float),
            rng.integers(1, 7, int(rng.integers(1, 30))).astype(float),
        )
        for _ in range(7)
    ]
    u, n1, n2, ties = [], [], [], []
    for x, y in strata:
        u.append(float(sps.mannwhitneyu(x, y).statistic) if x.size and y.size else 0.0)
        _, counts = np.unique(np.concatenate([x, y]), return_counts=True)
        n1.append(x.size)
        n2.append(y.size)
        ties.append(float(np.sum(counts**3 - counts)))
    _, p = mf.van_elteren(u, n1, n2, ties)
    assert p == pytest.approx(_van_elteren_by_ranks(strata), rel=1e-10)
    assert math.isnan(mf.van_elteren([0.0], [0], [3], [0.0])[1])


def test_adverse_impact_is_exact_at_four_fifths_and_equals_stats_version() -> None:
    # Float division puts 2/3 over 5/6 just below 0.8; the exact ratio is 4/5 and must not be adverse.
    assert (2 / 3) / (5 / 6) < 0.8
    ratio, flag = mf.adverse_impact(2, 3, 5, 6, Fraction(4, 5))
    assert float(ratio) == 0.8 and not bool(flag)
    rng = np.random.default_rng(2)
    n_g, n_r = rng.integers(0, 60, 500), rng.integers(0, 60, 500)
    c_g, c_r = rng.integers(0, 61, 500) % (n_g + 1), rng.integers(0, 61, 500) % (n_r + 1)
    for threshold in (Fraction(4, 5), Fraction(17, 20)):
        mine = mf.adverse_impact(c_g, n_g, c_r, n_r, threshold)
        ref = ms.adverse_impact_ratio(c_g, n_g, c_r, n_r, threshold)
        np.testing.assert_array_equal(mine[1], ref[1])
        np.testing.assert_array_equal(np.isnan(mine[0]), np.isnan(ref[0]))
        ok = ~np.isnan(ref[0])
        np.testing.assert_array_equal(mine[0][ok], ref[0][ok])  # bit-identical: correctly rounded


# ---------------------------------------------------------------------------------------------------------------
# The fairness marts on small frames
# ---------------------------------------------------------------------------------------------------------------


def test_ucb_admissions_overall_gap_reverses_within_strata_and_matches_published_values() -> None:
    ev, aw = ucb_people("function_level")
    marts = run(ev, aw)
    women = row(marts.overall, outcome="incidental_reward", attribute="gender", group_value="F")
    men = row(marts.overall, outcome="incidental_reward", attribute="gender", group_value="M")
    # Reference: the most favoured large group = men (44.5% admitted vs 30.4%).
    assert men["is_reference"] and women["reference_group"] == "M"
    assert (women["n"], women["count"], men["n"], men["count"]) == (1835, 557, 2691, 1198)
    # Overall (crude) odds ratio women vs men 0.5423 < 1 ...
    assert women["odds_ratio"] == pytest.approx((557 * 1493) / (1278 * 1198), rel=1e-12)
    assert women["p_value"] == pytest.approx(sps.fisher_exact([[557, 1278], [1198, 1493]]).pvalue, rel=1e-8)
    # ... but within departments women are admitted slightly more often: R's OR (men vs women) inverted.
    assert women["within_level_odds_ratio"] == pytest.approx(1 / 0.9046968, abs=1e-6)
    assert women["within_level_ci_low"] == pytest.approx(1 / 1.0603298, abs=1e-6)
    assert women["within_level_ci_high"] == pytest.approx(1 / 0.7719074, abs=1e-6)
    assert women["within_level_p_value"] == pytest.approx(0.2169, abs=5e-5)
    assert sps.chi2.sf(18.835, 5) < women["within_level_homogeneity_p"] < sps.chi2.sf(18.825, 5)
    assert women["within_level_strata"] == 6 and women["within_level_strata_dropped"] == 0
    assert women["within_level_reverses"] is True
    assert women["adverse_impact"] is True  # 0.3035 / 0.4452 = 0.68 < 0.8
    assert women["adverse_impact_ratio"] == pytest.approx((557 / 1835) / (1198 / 2691), rel=1e-12)
    # The sentence for the meeting shows both, in Dutch and English.
    assert women["finding_en"] == (
        "Women received an incidental reward less often than men (30% vs 45%; "
        "within-level odds ratio 1.11, 95% CI 0.94–1.30)."
    )
    assert women["finding_nl"] == (
        "Vrouwen kregen minder vaak een incidentele beloning dan mannen (30% tegenover 45%; "
        "odds ratio binnen functieniveau 1,11, 95%-BI 0,94–1,30)."
    )
    # Per-stratum rows sum to the overall counts; department A: women 82% vs men 62%.
    strata = marts.strata.filter(
        pl.col("outcome") == "incidental_reward",
        pl.col("attribute") == "gender",
        pl.col("stratum_type") == "function_level",
    )
    assert strata.group_by("group_value").agg(pl.col("n").sum()).sort("group_value")["n"].to_list() == [
        1835,
        2691,
    ]
    a_women = row(strata, stratum="A", group_value="F")
    assert a_women["rate"] == pytest.approx(89 / 108) and a_women["reference_rate"] == pytest.approx(
        512 / 825
    )
    assert a_women["p_value"] == pytest.approx(sps.fisher_exact([[89, 19], [512, 313]]).pvalue, rel=1e-8)


def test_ucb_stratified_by_department_gives_the_same_result_and_strata_of_size_one_are_dropped() -> None:
    ev, aw = ucb_people("department")
    single = evaluations([{"gender": "F", "department": "G"}, {"gender": "M", "department": "H"}])
    ev = pl.concat([ev, single.with_columns(pl.Series("employee_id", ["solo1", "solo2"]))])
    marts = run(ev, aw)
    women = row(marts.overall, outcome="incidental_reward", attribute="gender", group_value="F")
    assert women["within_department_strata"] == 6 and women["within_department_strata_dropped"] == 2
    ref = ms.cmh_test(
        [[[af, rf], [am, rm]] for am, rm, af, rf in UCB.values()] + [[[0, 1], [0, 0]], [[0, 0], [0, 1]]]
    )
    assert ref.n_dropped == 2
    assert women["within_department_odds_ratio"] == pytest.approx(ref.odds_ratio, rel=1e-12)
    assert women["within_department_ci_low"] == pytest.approx(ref.ci_low, rel=1e-12)
    assert women["within_department_p_value"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert women["within_department_homogeneity_p"] == pytest.approx(ref.breslow_day_pvalue, rel=1e-9)
    # everyone is in one function level: a single informative stratum, Breslow–Day undefined
    assert women["within_level_strata"] == 1 and women["within_level_homogeneity_p"] is None


def test_rates_intervals_q_values_and_publishability_against_statsmodels() -> None:
    rng = np.random.default_rng(3)
    n = 900
    genders = rng.choice(["F", "M", "X"], n, p=[0.5, 0.47, 0.03])
    levels = rng.choice(["S04", "S08", "S12"], n)
    births = rng.integers(1960, 2000, n)
    ev = evaluations(
        [
            {"gender": g, "function_level": lv, "birth_year": int(b), "department": f"D{i % 7}"}
            for i, (g, lv, b) in enumerate(zip(genders, levels, births, strict=True))
        ]
    )
    got = rng.random(n) < np.where(genders == "F", 0.12, 0.2)
    marts = run(ev, bonus_for(ev, list(got)))
    rows = marts.overall.filter(pl.col("outcome_kind") == "binary")
    lo, hi = proportion_confint(rows["count"].to_numpy(), rows["n"].to_numpy(), alpha=0.05, method="wilson")
    np.testing.assert_allclose(rows["rate_ci_low"].to_numpy(), lo, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(rows["rate_ci_high"].to_numpy(), hi, rtol=1e-12, atol=1e-15)
    # BH within the cycle over the comparisons that may be flagged (publishable, n >= metrics.min_n_flag).
    tested = marts.overall.filter(pl.col("q_value").is_not_null())
    assert tested.height > 20
    assert tested.select((pl.col("publishable") & ~pl.col("is_reference")).all()).item()
    expected = multipletests(tested["p_value"].to_numpy(), method="fdr_bh")[1]
    np.testing.assert_allclose(tested["q_value"].to_numpy(), expected, rtol=1e-12)
    # X (about 27 people) is publishable for counts (k = 5) but a group of 4 or fewer never is.
    k = ZEELAND.min_group_size
    assert (
        marts.overall["publishable"] == ((marts.overall["n"] >= k) & (marts.overall["reference_n"] >= k))
    ).all()
    assert marts.overall.filter(~pl.col("publishable"))["finding_en"].is_null().all()
    assert marts.overall.filter(pl.col("is_reference"))["finding_nl"].is_null().all()
    # Women at 12% vs men at 20%: adverse impact, significant after BH -> flagged, with a sentence.
    women = row(marts.overall, outcome="incidental_reward", attribute="gender", group_value="F")
    assert women["flag"] and women["adverse_impact"] and women["q_value"] < 0.05
    assert women["finding_en"].startswith("Women received an incidental reward less often than men (")
    # Age bands from the policy: everyone is in exactly one band.
    bands = marts.overall.filter(pl.col("attribute") == "age_band", pl.col("outcome") == "incidental_reward")
    assert set(bands["group_value"]) <= set(mf.age_band_labels([30, 40, 50, 60]))
    # Everyone is in exactly one band, except a gender category outside women and men that has fewer than k
    # people with or without some outcome: it is taken out of every other attribute (mf.without_small_others).
    x = marts.overall.filter(pl.col("attribute") == "gender", pl.col("group_value") == "X")
    small = (x["n"] < k) | (x["count"] < k) | (x["n"] - x["count"] < k)
    x_n = int((genders == "X").sum())
    assert bands["n"].sum() == (n - x_n if small.any() else n)


def test_exact_four_fifths_is_not_adverse_in_the_mart_and_unfavourable_outcomes_use_the_complement() -> None:
    # Women 20 of 30 (2/3), men 25 of 30 (5/6): adverse impact ratio exactly 0.8 -> not adverse.
    ev = evaluations([{"gender": "F"}] * 30 + [{"gender": "M"}] * 30)
    got = [True] * 20 + [False] * 10 + [True] * 25 + [False] * 5
    women = row(
        run(ev, bonus_for(ev, got)).overall, outcome="incidental_reward", attribute="gender", group_value="F"
    )
    assert women["adverse_impact_ratio"] == 0.8 and women["adverse_impact"] is False
    assert women["rate"] / women["reference_rate"] < 0.8  # the float quotient would have flagged it
    # One woman fewer: 19/30 over 25/30 = 0.76 -> adverse.
    got[19] = False
    women = row(
        run(ev, bonus_for(ev, got)).overall, outcome="incidental_reward", attribute="gender", group_value="F"
    )
    assert women["adverse_impact"] is True
    # The lowest rating is unfavourable: the ratio compares NOT getting it (14/20 vs 19/20 = 0.7368...).
    ev = evaluations(
        [{"gender": "F", "rating": "slecht"}] * 6
        + [{"gender": "F"}] * 14
        + [{"gender": "M", "rating": "slecht"}]
        + [{"gender": "M"}] * 19
    )
    women = row(run(ev).overall, outcome="lowest_rating", attribute="gender", group_value="F")
    assert women["reference_group"] == "M" and women["rate"] == pytest.approx(0.3)
    assert women["adverse_impact_ratio"] == pytest.approx((14 / 20) / (19 / 20), rel=1e-15)
    assert women["adverse_impact"] is True
    assert women["finding_en"].startswith("Women were rated Poor more often than men (30% vs 5%")


def test_outcomes_follow_the_policy_scale_and_populations() -> None:
    zeeland = [o.code for o in mf.outcomes_for(ZEELAND)]
    assert zeeland == [
        "rating_at_least_matig",
        "rating_at_least_normaal",
        "rating_at_least_zeer_goed",
        "rating_at_least_uitstekend",
        "lowest_rating",
        "incidental_reward",
        "performance_bonus",
        "structural_above_standard",
        "reward_pct",
    ]
    ploeg = [o.code for o in mf.outcomes_for(PLOEG)]
    assert ploeg == [
        "rating_at_least_onvoldoende",
        "rating_at_least_voldoende",
        "lowest_rating",
        "salary_step",
        "incidental_reward",
        "reward_pct",
    ]
    ev = evaluations(
        [
            {"rating": None},  # not rated: outside every rating and reward population
            {"rating": "zeer_goed", "at_scale_maximum": True},  # Z-3: outside the structural raise population
            {"rating": "zeer_goed"},  # no structural award row: the policy pct of zeer_goed (4 > 3)
            {"rating": "normaal"},
            {"rating": "slecht"},
        ]
    )
    aw = awards(
        [{"employee_id": "p00003", "award_type": "structural", "pct": 6.0}]
    )  # normaal with a 6% award
    marts = run(ev, aw)
    overall = marts.overall.filter(pl.col("attribute") == "gender")
    assert row(overall, outcome="rating_at_least_normaal")["n"] == 4
    assert row(overall, outcome="rating_at_least_normaal")["count"] == 3
    assert row(overall, outcome="lowest_rating")["count"] == 1
    above = row(overall, outcome="structural_above_standard")
    assert (above["n"], above["count"]) == (3, 2)
    assert row(overall, outcome="incidental_reward")["n"] == 4


def test_any_ordinal_scale_works(tmp_path: Path) -> None:
    scale = {
        "rule": "T-1",
        "values": [
            {"code": c, "score": i + 1, "label": {"nl": c.upper(), "en": c.upper()}}
            for i, c in enumerate("pqrs")
        ],
        "lowest_outcome": ["p"],
        "guideline": None,
    }
    policy = policy_with(tmp_path, ZEELAND, rating_scale=scale)
    assert [o.code for o in mf.outcomes_for(policy)][:5] == [
        "rating_at_least_q",
        "rating_at_least_r",
        "rating_at_least_s",
        "lowest_rating",
        "incidental_reward",
    ]
    ratings = ["p", "q", "r", "s", "s", "r"] * 5
    ev = evaluations([{"rating": r, "gender": "FM"[i % 2]} for i, r in enumerate(ratings)])
    overall = run(ev, policy=policy).overall.filter(pl.col("attribute") == "function_level")
    assert row(overall, outcome="rating_at_least_r")["count"] == 20
    assert row(overall, outcome="rating_at_least_s")["count"] == 10
    assert row(overall, outcome="lowest_rating")["count"] == 5


def test_reference_groups_default_configured_and_rest_of_organisation(tmp_path: Path) -> None:
    # X has the highest rate but is small: the most favoured *large* group (M) is the reference.
    ev = evaluations([{"gender": "X"}] * 3 + [{"gender": "F"}] * 40 + [{"gender": "M"}] * 40)
    got = [True] * 3 + [True] * 10 + [False] * 30 + [True] * 20 + [False] * 20
    marts = run(ev, bonus_for(ev, got))
    assert (
        row(marts.overall, outcome="incidental_reward", attribute="gender", group_value="F")[
            "reference_group"
        ]
        == "M"
    )
    # A group above reference_min_share but under disclosure.min_group_size (4 of 30) is not "large" either.
    ev4 = evaluations([{"gender": "X"}] * 4 + [{"gender": "F"}] * 13 + [{"gender": "M"}] * 13)
    got4 = [True] * 4 + [True] * 3 + [False] * 10 + [True] * 6 + [False] * 7
    men = row(
        run(ev4, bonus_for(ev4, got4)).overall,
        outcome="incidental_reward",
        attribute="gender",
        group_value="M",
    )
    assert men["is_reference"] is True
    # Configured reference group (policy fairness.reference_groups) wins.
    policy = policy_with(tmp_path, ZEELAND, fairness__reference_groups={"gender": "F"})
    marts = run(ev, bonus_for(ev, got), policy=policy)
    men = row(marts.overall, outcome="incidental_reward", attribute="gender", group_value="M")
    assert men["reference_group"] == "F" and men["ratio"] == pytest.approx(2.0)
    # Function levels are compared with the rest of the organisation (Z-16).
    ev = evaluations([{"function_level": "S12"}] * 20 + [{"function_level": "S04"}] * 30)
    got = [True] * 10 + [False] * 10 + [True] * 3 + [False] * 27
    high = row(
        run(ev, bonus_for(ev, got)).overall,
        outcome="incidental_reward",
        attribute="function_level",
        group_value="S12",
    )
    assert high["reference_group"] == mf.REST
    assert (high["reference_n"], high["reference_count"]) == (30, 3)
    assert high["p_value"] == pytest.approx(sps.fisher_exact([[10, 10], [3, 27]]).pvalue, rel=1e-9)
    assert "than the rest of the organisation" in high["finding_en"]


def test_reward_percentage_uses_rank_tests_overall_and_within_levels() -> None:
    rng = np.random.default_rng(9)
    n = 120
    genders = ["F", "M"] * (n // 2)
    levels = rng.choice(["S04", "S10"], n)
    ev = evaluations([{"gender": g, "function_level": lv} for g, lv in zip(genders, levels, strict=True)])
    pct = np.round(
        rng.choice([0.0, 1.0, 3.0, 4.0, 6.0], n)
        + np.where(np.array(genders) == "M", rng.choice([0.0, 3.0], n), 0.0),
        1,
    )
    aw = awards(
        [
            {"employee_id": e, "award_type": "structural", "pct": float(p)}
            for e, p in zip(ev["employee_id"], pct, strict=True)
        ]
    )
    marts = run(ev, aw)
    pair = marts.overall.filter(pl.col("outcome") == "reward_pct", pl.col("attribute") == "gender")
    ref_group = row(pair, is_reference=True)["group_value"]
    other = row(pair, is_reference=False)
    x = pct[np.array(genders) == other["group_value"]]
    y = pct[np.array(genders) == ref_group]
    mw = sps.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert other["test"] == "mann_whitney"
    assert other["p_value"] == pytest.approx(float(mw.pvalue), rel=1e-9)
    assert other["rank_biserial"] == pytest.approx(2 * float(mw.statistic) / (x.size * y.size) - 1, rel=1e-12)
    assert other["mean"] == pytest.approx(x.mean()) and other["median"] == pytest.approx(float(np.median(x)))
    pooled = math.sqrt(((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2))
    assert other["standardised_difference"] == pytest.approx((x.mean() - y.mean()) / pooled, rel=1e-9)
    in_level = [
        (
            pct[(levels == lv) & (np.array(genders) == other["group_value"])],
            pct[(levels == lv) & (np.array(genders) == ref_group)],
        )
        for lv in ("S04", "S10")
    ]
    assert other["within_level_p_value"] == pytest.approx(_van_elteren_by_ranks(in_level), rel=1e-9)
    assert other["within_level_odds_ratio"] is None
    # function levels against the rest of the organisation (Z-16): Mann–Whitney of the level vs everyone else
    high = row(marts.overall, outcome="reward_pct", attribute="function_level", group_value="S10")
    mw_level = sps.mannwhitneyu(
        pct[levels == "S10"], pct[levels != "S10"], method="asymptotic", use_continuity=True
    )
    assert high["reference_group"] == mf.REST and high["reference_n"] == int((levels != "S10").sum())
    assert high["p_value"] == pytest.approx(float(mw_level.pvalue), rel=1e-9)
    # amounts need disclosure.min_group_size_amounts (10) people per group
    assert other["publishable"] is True
    small = run(evaluations([{"gender": "F"}] * 9 + [{"gender": "M"}] * 30))
    assert (
        row(small.overall, outcome="reward_pct", attribute="gender", group_value="F")["publishable"] is False
    )
    assert (
        row(small.overall, outcome="incidental_reward", attribute="gender", group_value="F")["publishable"]
        is True
    )


def test_strata_mart_flags_a_gap_inside_one_level_that_is_small_overall() -> None:
    # Inside S08 women get a bonus far less often; elsewhere women get it a little more often than men.
    rows, got = [], []
    for level, (f_yes, f_no, m_yes, m_no) in {
        "S08": (4, 76, 40, 40),
        "S04": (40, 40, 30, 50),
        "S12": (42, 38, 32, 48),
    }.items():
        rows += [{"gender": "F", "function_level": level}] * (f_yes + f_no) + [
            {"gender": "M", "function_level": level}
        ] * (m_yes + m_no)
        got += [True] * f_yes + [False] * f_no + [True] * m_yes + [False] * m_no
    ev = evaluations(rows)
    marts = run(ev, bonus_for(ev, got))
    women = row(marts.overall, outcome="incidental_reward", attribute="gender", group_value="F")
    assert women["adverse_impact"] is False  # 86/240 vs 102/240: not adverse overall
    assert women["within_level_homogeneity_p"] < 1e-6  # Breslow–Day: the odds ratio differs by level
    s08 = row(
        marts.strata,
        outcome="incidental_reward",
        attribute="gender",
        stratum_type="function_level",
        stratum="S08",
        group_value="F",
    )
    assert s08["flag"] is True and s08["adverse_impact"] is True
    assert s08["p_value"] == pytest.approx(sps.fisher_exact([[4, 76], [40, 40]]).pvalue, rel=1e-8)
    assert s08["finding_en"].startswith(
        "Women in function level S08 received an incidental reward less often than men in the same function level (5% vs 50%;"
    )
    assert s08["finding_nl"].startswith(
        "Vrouwen in functieniveau S08 kregen minder vaak een incidentele beloning dan mannen in hetzelfde functieniveau"
    )
    others = marts.strata.filter(
        pl.col("stratum").is_in(["S04", "S12"]), pl.col("outcome") == "incidental_reward"
    )
    assert not others["flag"].any()
    # per-stratum sentences only for differences that are significant after BH
    assert others.filter(pl.col("publishable"), ~pl.col("is_reference")).height > 0
    assert others["finding_en"].is_null().all() and others["finding_nl"].is_null().all()


def test_extra_attributes_from_configuration_and_unknown_ones_are_reported() -> None:
    ev = evaluations([{"gender": "FM"[i % 2]} for i in range(20)]).with_columns(
        pl.Series("salary_system", ["evaluatie", "anciennitet"] * 10)
    )
    marts = run(ev, extra={ORG: ["salary_system", "no_such_column"]})
    assert set(marts.overall.filter(pl.col("attribute") == "salary_system")["group_value"]) == {
        "evaluatie",
        "anciennitet",
    }
    assert marts.ignored_attributes == {ORG: ("no_such_column",)}


def test_age_bands_from_policy_edges() -> None:
    assert mf.age_band_labels([30, 40, 50, 60]) == ["<30", "30-39", "40-49", "50-59", "60+"]
    ev = evaluations([{"birth_year": 2024 - age} for age in (29, 30, 39, 40, 59, 60, 67)])
    bands = mf.person_frame(
        people_frame(ev, awards([]), payroll(ev), {ORG: ZEELAND}),
        ZEELAND,
        mf.fairness_config(ZEELAND),
        mf.outcomes_for(ZEELAND),
    )["a:age_band"].to_list()
    assert bands == ["<30", "30-39", "30-39", "40-49", "50-59", "60+", "60+"]


def test_binary_cube_adds_up_to_the_mart_rows() -> None:
    ev = evaluations(
        [
            {"gender": "FM"[i % 2], "function_level": f"S0{i % 3 + 4}", "department": f"D{i % 4}"}
            for i in range(40)
        ]
    )
    got = [i % 3 == 0 for i in range(40)]
    people = people_frame(ev, bonus_for(ev, got), payroll(ev), {ORG: ZEELAND})
    config = mf.fairness_config(ZEELAND)
    outcomes = mf.outcomes_for(ZEELAND)
    cube = mf.binary_cube(mf.person_frame(people, ZEELAND, config, outcomes), ["gender"], outcomes)
    assert cube.height > 0 and "reward_pct" not in set(cube["outcome"])
    sums = (
        cube.filter(pl.col("outcome") == "incidental_reward")
        .group_by("group_value")
        .agg(pl.col("count").sum())
    )
    marts = mf.fairness_marts(people, {ORG: ZEELAND})
    for g, c in sums.iter_rows():
        assert (
            row(marts.overall, outcome="incidental_reward", attribute="gender", group_value=g)["count"] == c
        )
    assert sums["count"].sum() == sum(got)


def test_finding_sentences_in_dutch_and_english() -> None:
    outcome = next(o for o in mf.outcomes_for(ZEELAND) if o.code == "incidental_reward")
    args = (outcome, "gender", "F", "M", 0.12, 0.21)
    within = {"within_type": "function_level", "within_or": 0.52, "within_lo": 0.31, "within_hi": 0.86}
    assert mf.finding_sentence("en", *args, stratum_type="function_level", stratum="8", **within) == (
        "Women in function level 8 received an incidental reward less often than men in the same function level "
        "(12% vs 21%; within-level odds ratio 0.52, 95% CI 0.31–0.86)."
    )
    assert mf.finding_sentence("nl", *args, **within) == (
        "Vrouwen kregen minder vaak een incidentele beloning dan mannen (12% tegenover 21%; "
        "odds ratio binnen functieniveau 0,52, 95%-BI 0,31–0,86)."
    )
    assert mf.group_phrase("age_band", "60+", "en") == "Employees aged 60 and over"
    assert mf.group_phrase("age_band", "<30", "nl") == "Medewerkers jonger dan 30"


# ---------------------------------------------------------------------------------------------------------------
# Pay transparency
# ---------------------------------------------------------------------------------------------------------------


def test_pay_transparency_items_against_hand_computation() -> None:
    rng = np.random.default_rng(21)
    n = 60
    genders = np.array(["F", "M"] * (n // 2))
    levels = np.where(np.arange(n) < 40, "S06", "S10")
    fte = rng.choice([0.5, 0.8, 1.0], n)
    salary = np.round(rng.uniform(30000, 60000, n), 2)
    ev = evaluations(
        [
            {"gender": g, "function_level": lv, "fte": float(f)}
            for g, lv, f in zip(genders, levels, fte, strict=True)
        ]
    )
    ids = ev["employee_id"].to_list()
    aw = awards(
        [{"employee_id": ids[i], "award_type": "output_bonus", "pct": 3.0} for i in range(0, n, 3)]
        + [
            {"employee_id": ids[i], "award_type": "group_reward", "amount": 250.0, "amount_basis": "netto"}
            for i in range(1, n, 4)
        ]
    )
    people = people_frame(ev, aw, payroll(ev, list(salary)), {ORG: ZEELAND})
    out = pay_transparency(people, {ORG: ZEELAND})
    # independent computation
    basic = salary * fte
    variable = np.zeros(n)
    variable[0::3] += 0.03 * basic[0::3]
    variable[1::4] += 250.0 * ZEELAND.rule_value("budget", "net_to_gross_factor")
    total = basic + variable
    hourly = total / (fte * ZEELAND.rule_value("fairness", "pay_transparency", "full_time_hours_per_year"))
    w, m = genders == "F", genders == "M"

    def gap(a: np.ndarray, b: np.ndarray) -> float:  # (men - women) / men
        return (a - b) / a

    a_annual = row(out, item="a", basis="annual")
    assert a_annual["women"] == pytest.approx(total[w].mean()) and a_annual["men"] == pytest.approx(
        total[m].mean()
    )
    assert a_annual["gap"] == pytest.approx(gap(total[m].mean(), total[w].mean()), rel=1e-12)
    assert row(out, item="a", basis="hourly")["gap"] == pytest.approx(
        gap(hourly[m].mean(), hourly[w].mean()), rel=1e-12
    )
    assert row(out, item="c", basis="hourly")["gap"] == pytest.approx(
        gap(np.median(hourly[m]), np.median(hourly[w])), rel=1e-12
    )
    got = variable > 0
    b = row(out, item="b", basis="annual")
    assert (b["n_women"], b["n_men"]) == (int((got & w).sum()), int((got & m).sum()))
    assert b["gap"] == pytest.approx(gap(variable[got & m].mean(), variable[got & w].mean()), rel=1e-12)
    d = row(out, item="d", basis="annual")
    assert d["gap"] == pytest.approx(
        gap(np.median(variable[got & m]), np.median(variable[got & w])), rel=1e-12
    )
    e = row(out, item="e")
    assert e["women"] == pytest.approx(got[w].mean()) and e["men"] == pytest.approx(got[m].mean())
    # (f) quartile bands of hourly total pay: 15 people each
    order = np.argsort(hourly, kind="stable")
    band = np.empty(n, dtype=int)
    band[order] = np.arange(n) * 4 // n + 1
    for q in range(1, 5):
        f = row(out, item="f", basis="hourly", category=f"Q{q}")
        assert f["n_women"] == int(((band == q) & w).sum()) and f["women"] + f["men"] == pytest.approx(1.0)
    # (g) per function level, basic pay on the annual basis
    g = row(out, item="g", measure="mean_gap", component="basic", basis="annual", category="S10")
    sel = levels == "S10"
    assert g["gap"] == pytest.approx(gap(basic[sel & m].mean(), basic[sel & w].mean()), rel=1e-12)
    assert set(out["item"]) == set("abcdefg")


def test_article10_flag_at_exactly_five_percent_and_disclosure_rules() -> None:
    # Level S05: women 95,000 vs men 100,000 = gap exactly 5% -> flagged; S06: 95,001 -> 4.999% not flagged.
    rows, salaries = [], []
    for level, women_pay in (("S05", 95000.0), ("S06", 95001.0)):
        rows += [{"gender": "F", "function_level": level}] * 10 + [
            {"gender": "M", "function_level": level}
        ] * 10
        salaries += [women_pay] * 10 + [100000.0] * 10
    # Level S07: ten men, one of whom holds 50,000 of 140,000 (> 30%): amounts not publishable.
    rows += [{"gender": "F", "function_level": "S07"}] * 10 + [{"gender": "M", "function_level": "S07"}] * 10
    salaries += [20000.0] * 10 + [10000.0] * 9 + [50000.0]
    # Level S09: 9 women only: under min_group_size_amounts.
    rows += [{"gender": "F", "function_level": "S09"}] * 9 + [{"gender": "M", "function_level": "S09"}] * 10
    salaries += [40000.0] * 19
    ev = evaluations(rows)
    out = pay_transparency(
        people_frame(ev, awards([]), payroll(ev, salaries), {ORG: ZEELAND}), {ORG: ZEELAND}
    )
    total_mean = out.filter(
        pl.col("item") == "g", pl.col("measure") == "mean_gap", pl.col("component") == "total"
    )
    s05 = row(total_mean, basis="annual", category="S05")
    assert s05["gap"] == 0.05 and s05["article10_flag"] is True
    assert row(total_mean, basis="annual", category="S06")["article10_flag"] is False
    assert row(total_mean, basis="annual", category="S07")["publishable"] is False  # dominance
    assert row(total_mean, basis="annual", category="S05")["publishable"] is True
    assert row(total_mean, basis="annual", category="S09")["publishable"] is False  # 9 < 10
    assert not out.filter(pl.col("component") != "total")["article10_flag"].any()


def test_reward_totals_value_percentages_on_actual_pay_and_gross_up_net_amounts() -> None:
    ev = evaluations([{"fte": 0.5}, {}])
    aw = awards(
        [
            {"employee_id": "p00000", "award_type": "output_bonus", "pct": 7.0},
            {"employee_id": "p00000", "award_type": "mobility", "amount": 1000.0, "amount_basis": "netto"},
            {"employee_id": "p00001", "award_type": "structural", "pct": 4.0},
            {
                "employee_id": "p00001",
                "award_type": "retention_premium",
                "amount": 500.0,
                "amount_basis": "bruto",
            },
        ]
    )
    totals = reward_totals(aw, {ORG: ZEELAND}).sort("employee_id")
    assert totals["incidental"].to_list() == [True, True]
    assert totals["structural_pct"].to_list() == [None, 4.0]
    people = people_frame(ev, aw, payroll(ev, 40000.0), {ORG: ZEELAND}).sort("employee_id")
    factor = ZEELAND.rule_value("budget", "net_to_gross_factor")
    assert people["variable"].to_list() == pytest.approx([0.07 * 20000 + 1000 * factor, 0.04 * 40000 + 500])


# ---------------------------------------------------------------------------------------------------------------
# The sample pipeline (shared fixture): marts exist, are consistent and find the planted gap
# ---------------------------------------------------------------------------------------------------------------


def test_sample_run_fairness_marts_are_consistent_and_find_the_planted_gap(sample_run: Any) -> None:
    assert sample_run.success
    fair = sample_run.query("SELECT * FROM marts.fairness")
    strata = sample_run.query("SELECT * FROM marts.fairness_strata")
    pay = sample_run.query("SELECT * FROM marts.pay_transparency")
    evaluations_n = sample_run.query(
        "SELECT organization, cycle, count(rating) AS rated FROM staging.evaluations GROUP BY ALL"
    )
    assert fair.height > 0 and strata.height > 0 and pay.height > 0
    assert set(fair["organization"]) == set(evaluations_n["organization"]) == set(pay["organization"])
    # Everyone rated is in exactly one gender group and one function level, except that people of a gender
    # category outside women and men that is small in a cycle (under k, or under k with or without some
    # outcome) are taken out of every attribute but gender (models.fairness.without_small_others).
    k = ZEELAND.min_group_size
    x = fair.filter(
        pl.col("organization") == ORG, pl.col("attribute") == "gender", pl.col("group_value") == "X"
    )
    small = (pl.col("n") < k) | ((pl.col("outcome_kind") == "binary") & ((pl.col("count") < k) | (pl.col("n") - pl.col("count") < k)))  # fmt: skip
    left_out = x.filter(small)["cycle"].unique().to_list()
    x_rated = dict(x.filter(pl.col("outcome") == "rating_at_least_normaal").select("cycle", "n").iter_rows())
    zeeland = evaluations_n.filter(pl.col("organization") == ORG).sort("cycle")
    for attribute in ("gender", "function_level"):
        sums = (
            fair.filter(pl.col("outcome") == "rating_at_least_normaal", pl.col("attribute") == attribute)
            .group_by("organization", "cycle")
            .agg(pl.col("n").sum().alias("rated"))
        )
        expected = [
            rated - (x_rated.get(cycle, 0) if attribute != "gender" and cycle in left_out else 0)
            for cycle, rated in zeeland.select("cycle", "rated").iter_rows()
        ]
        assert sums.filter(pl.col("organization") == ORG).sort("cycle")["rated"].to_list() == expected
    assert left_out, "the sample's 2 people with gender X are left out"
    # Per-stratum rows add up to the overall rows.
    keys = ["organization", "cycle", "outcome", "attribute", "group_value"]
    summed = (
        strata.filter((pl.col("stratum_type") == "function_level") & (pl.col("period") == "cycle"))
        .group_by(keys)
        .agg(pl.col("n").sum(), pl.col("count").sum())
    )
    joined = fair.filter(pl.col("attribute") != "function_level", pl.col("outcome_kind") == "binary").join(
        summed, on=keys
    )
    assert (
        joined.height > 0
        and (joined["n"] == joined["n_right"]).all()
        and (joined["count"] == joined["count_right"]).all()
    )
    # Nothing is said about a group under the minimum size.
    assert fair.filter(pl.col("n") < ZEELAND.min_group_size)["finding_en"].is_null().all()
    assert not strata.filter(~pl.col("publishable"))["flag"].any()
    assert fair["finding_nl"].is_not_null().any() and fair["finding_en"].is_not_null().any()
    # Pay transparency: quartile bands hold everyone, the shares add up, gaps follow from the levels.
    quartiles = (
        pay.filter(pl.col("item") == "f")
        .group_by("organization", "cycle", "basis")
        .agg((pl.col("n_women") + pl.col("n_men")).sum().alias("banded"))
    )
    people = pay.filter(pl.col("item") == "a", pl.col("basis").is_not_null()).select(
        "organization", "cycle", "basis", (pl.col("n_women") + pl.col("n_men")).alias("people")
    )
    check = quartiles.join(people, on=["organization", "cycle", "basis"])
    assert check.height > 0 and (check["banded"] == check["people"]).all()
    gaps = pay.filter(pl.col("gap").is_not_null())
    np.testing.assert_allclose(
        gaps["gap"].to_numpy(), ((gaps["men"] - gaps["women"]) / gaps["men"]).to_numpy(), rtol=1e-12
    )
    # The planted pattern: inside one Zeeland level women get a Z-4 bonus about half as often as men,
    # while overall the gap is small.
    planted = next(
        p for p in sample_run.manifest["planted"] if p["pattern"] == "gender_gap_incidental_rewards"
    )
    level = planted["unit"]["function_level"]
    observed = planted["observed"]
    outcome = ZEELAND.rule_value("fairness", "award_outcomes")[0]["code"]
    pooled = (
        strata.filter(
            pl.col("organization") == planted["organization"],
            pl.col("outcome") == outcome,
            pl.col("attribute") == "gender",
            pl.col("stratum_type") == "function_level",
            pl.col("stratum") == level,
            pl.col("period") == "cycle",
        )
        .group_by("group_value")
        .agg(pl.col("n").sum(), pl.col("count").sum())
    )
    rate = {g: c / n for g, n, c in pooled.select("group_value", "n", "count").iter_rows()}
    n_by = dict(pooled.select("group_value", "n").iter_rows())
    assert abs(n_by["F"] - observed["n_women"]) <= 2 and abs(n_by["M"] - observed["n_men"]) <= 2
    assert rate["F"] == pytest.approx(observed["rate_women"], abs=0.01)
    assert rate["M"] == pytest.approx(observed["rate_men"], abs=0.01)
    assert rate["F"] < rate["M"]
    overall = (
        fair.filter(
            pl.col("organization") == planted["organization"],
            pl.col("outcome") == outcome,
            pl.col("attribute") == "gender",
        )
        .group_by("group_value")
        .agg(pl.col("n").sum(), pl.col("count").sum())
    )
    overall_rate = {g: c / n for g, n, c in overall.select("group_value", "n", "count").iter_rows()}
    assert overall_rate["F"] == pytest.approx(observed["overall_rate_women"], abs=0.01)
    # the gap inside the level is larger than overall
    assert rate["F"] / rate["M"] < overall_rate["F"] / overall_rate["M"]


# ---------------------------------------------------------------------------------------------------------------
# The people frame (the person-cycle layer's statement on frames): the same rows as polars joins
# ---------------------------------------------------------------------------------------------------------------

KEY_COLUMNS = ["organization", "cycle", "employee_id"]


def test_people_frame_equals_the_joins_for_shuffled_exports_with_gaps_and_repeated_keys() -> None:
    ev = evaluations([{"fte": 0.5 + (i % 2) / 2} for i in range(40)])
    pay = payroll(ev, [30000.0 + 100 * i for i in range(40)]).sample(fraction=0.8, shuffle=True, seed=1)
    aw = awards(
        [{"employee_id": f"p{i:05d}", "award_type": "output_bonus", "pct": 2.0 + i} for i in range(0, 44, 3)]
        + [{"employee_id": f"p{i:05d}", "award_type": "structural", "pct": 1.0 * i} for i in range(0, 40, 4)]
        + [{"employee_id": "p00004", "award_type": "mobility", "amount": 300.0, "amount_basis": "netto"}]
    ).sample(fraction=1.0, shuffle=True, seed=2)
    policies = {ORG: ZEELAND}

    def joined(pay: pl.DataFrame) -> pl.DataFrame:  # the definition: two left joins
        salary = pay.select(*KEY_COLUMNS, "annual_salary", pl.col("fte").alias("payroll_fte"))
        return (
            ev.join(reward_totals(aw, policies), on=KEY_COLUMNS, how="left")
            .join(salary, on=KEY_COLUMNS, how="left")
            .with_columns((pl.col("annual_salary") * pl.col("payroll_fte")).alias("pay"))
        )

    people = people_frame(ev, aw, pay, policies)
    assert people.columns == [*joined(pay).columns, "variable"]
    assert people.drop("variable").equals(joined(pay))  # same rows, in the evaluations' order
    # repeated payroll keys: joined the general way (the evaluation repeats, as with a join)
    repeated = pl.concat([pay, pay.head(1)])
    twice = people_frame(ev, aw, repeated, policies)
    assert twice.height == ev.height + 1
    assert twice.drop("variable").sort(pl.all()).equals(joined(repeated).sort(pl.all()))


# ---------------------------------------------------------------------------------------------------------------
# The whole story of a gap (issue 17): both stratifications, CMH with and without correction, Breslow–Day with
# its df, the pooled z-test, per-stratum odds ratios — against statsmodels and published R values
# ---------------------------------------------------------------------------------------------------------------

# Simpson's paradox by hand: per department (women with / without, men with / without an incidental reward).
# Overall women 30% vs men 40% (crude OR 0.66, Fisher p = 0.043); within departments no gap against women (MH OR
# 1.60, 95% CI 0.98–2.61), and department A favours women (OR 5.67) while B and C lean the other way.
SIMPSON = {"A": (34, 6, 60, 60), "B": (18, 102, 6, 24), "C": (15, 45, 18, 42)}


def simpson_people() -> tuple[pl.DataFrame, pl.DataFrame]:
    """The SIMPSON departments as people; function levels S08 / S10 alternate inside every cell, so the
    within-level comparison keeps the overall gap."""
    rows, rewarded = [], []
    for dept, (fy, fn, my, mn) in SIMPSON.items():
        for gender, yes, no in (("F", fy, fn), ("M", my, mn)):
            for got, count in ((True, yes), (False, no)):
                for i in range(count):
                    rows.append(
                        {"gender": gender, "department": dept, "function_level": ("S08", "S10")[i % 2]}
                    )
                    rewarded.append(got)
    ev = evaluations(rows)
    return ev, bonus_for(ev, rewarded)


def test_a_flipped_estimate_without_an_overall_gap_is_no_reversal() -> None:
    # Men 35/130 against women 30/100 overall (no gap at 95%), and the departments' common odds ratio lies just
    # over 1: the estimate flips, but there was no overall gap to reverse. The old rule said "reverses".
    flip = {"A": (20, 30, 10, 20), "B": (10, 40, 25, 75)}
    rows, rewarded = [], []
    for dept, (fy, fn, my, mn) in flip.items():
        for gender, yes, no in (("F", fy, fn), ("M", my, mn)):
            for got, count in ((True, yes), (False, no)):
                rows += [
                    {"gender": gender, "department": dept, "function_level": "S08"} for _ in range(count)
                ]
                rewarded += [got] * count
    ev = evaluations(rows)
    # the reference is the group with the higher rate (women here): the comparison is men against women
    men = row(run(ev, bonus_for(ev, rewarded)).overall, outcome="incidental_reward", attribute="gender",
              group_value="M")  # fmt: skip
    assert men["reference_group"] == "F"
    assert men["p_value"] == pytest.approx(sps.fisher_exact([[35, 95], [30, 70]]).pvalue, rel=1e-9)
    assert men["p_value"] > 0.05 and men["odds_ratio"] < 1 < men["within_department_odds_ratio"]
    assert men["within_department_reverses"] is False


def simpson_tables() -> np.ndarray:
    """(K, 2, 2) tables [[women with, women without], [men with, men without]] per department."""
    return np.array([[[fy, fn], [my, mn]] for fy, fn, my, mn in SIMPSON.values()], dtype=float)


def test_stratified_odds_ratios_both_cmh_statistics_and_breslow_day_df_match_r_and_statsmodels() -> None:
    from statsmodels.stats.contingency_tables import StratifiedTable

    # R: mantelhaen.test(UCBAdmissions) (correct = TRUE, R's default): X-squared = 1.4269, df = 1,
    # p = 0.2323; correct = FALSE: X-squared = 1.5246, p = 0.2169. DescTools::BreslowDayTest(UCBAdmissions):
    # X-squared = 18.826, df = 5, p = 0.002071.
    cells = np.array(list(UCB.values()), dtype=float)
    res = mf.stratified_odds_ratios(np.zeros(6, dtype=int), *cells.T, 1)
    assert res.statistic[0] == pytest.approx(1.5246, abs=5e-5)
    assert res.pvalue[0] == pytest.approx(0.2169, abs=5e-5)
    assert res.statistic_corrected[0] == pytest.approx(1.4269, abs=5e-5)
    assert res.pvalue_corrected[0] == pytest.approx(0.2323, abs=5e-5)
    assert res.breslow_day_statistic[0] == pytest.approx(18.826, abs=5e-4)
    assert res.breslow_day_df[0] == 5
    assert res.breslow_day_pvalue[0] == pytest.approx(0.002071, abs=5e-7)
    # Random stratified analyses against statsmodels' StratifiedTable (both statistics) and cmh_test (BD, df).
    rng = np.random.default_rng(17)
    ids, tables = [], []
    for t in range(60):
        for _ in range(int(rng.integers(2, 6))):
            tables.append(rng.integers(1, 40, 4))
            ids.append(t)
    arr, idx = np.array(tables, dtype=float), np.array(ids)
    res = mf.stratified_odds_ratios(idx, *arr.T, 60)
    for t in range(60):
        sub = arr[idx == t].reshape(-1, 2, 2)
        st = StratifiedTable(np.transpose(sub, (1, 2, 0)))
        for corrected, stat, p in (
            (False, res.statistic, res.pvalue),
            (True, res.statistic_corrected, res.pvalue_corrected),
        ):
            ref = st.test_null_odds(correction=corrected)
            assert stat[t] == pytest.approx(float(ref.statistic), rel=1e-9), (t, corrected)
            assert p[t] == pytest.approx(float(ref.pvalue), rel=1e-9, abs=1e-15), (t, corrected)
        bd = ms.cmh_test(sub)
        assert res.breslow_day_statistic[t] == pytest.approx(bd.breslow_day_statistic, rel=1e-9)
        assert res.breslow_day_df[t] == bd.breslow_day_df == sub.shape[0] - 1
        assert res.breslow_day_statistic[t] == pytest.approx(
            float(st.test_equal_odds(adjust=True).statistic), rel=1e-9
        )


def test_pooled_z_test_and_woolf_interval_match_statsmodels() -> None:
    from statsmodels.stats.contingency_tables import Table2x2
    from statsmodels.stats.proportion import proportions_ztest

    rng = np.random.default_rng(5)
    n_g, n_r = rng.integers(5, 400, 200), rng.integers(5, 400, 200)
    c_g, c_r = rng.integers(0, n_g + 1), rng.integers(0, n_r + 1)
    z, p = mf.pooled_z_test(c_g, n_g, c_r, n_r)
    lo, hi = mf.woolf_interval(c_g, n_g - c_g, c_r, n_r - c_r)
    checked = 0
    for i in range(200):
        if c_g[i] + c_r[i] in (0, n_g[i] + n_r[i]):
            assert math.isnan(z[i]), "no variance: no z"
            continue
        ref_z, ref_p = proportions_ztest([c_g[i], c_r[i]], [n_g[i], n_r[i]])
        assert z[i] == pytest.approx(ref_z, rel=1e-10) and p[i] == pytest.approx(ref_p, rel=1e-9, abs=1e-300)
        cells = [c_g[i], n_g[i] - c_g[i], c_r[i], n_r[i] - c_r[i]]
        if min(cells) == 0:
            assert math.isnan(lo[i]) and math.isnan(hi[i]), "a zero cell: no Woolf interval"
        else:
            ref_lo, ref_hi = Table2x2(np.array(cells).reshape(2, 2)).oddsratio_confint()
            assert (lo[i], hi[i]) == (pytest.approx(ref_lo, rel=1e-10), pytest.approx(ref_hi, rel=1e-10))
            checked += 1
    assert checked > 150


def test_simpsons_paradox_is_told_for_both_stratifications() -> None:
    ev, aw = simpson_people()
    marts = run(ev, aw)
    women = row(marts.overall, outcome="incidental_reward", attribute="gender", group_value="F")
    assert women["reference_group"] == "M" and (women["n"], women["count"]) == (220, 67)
    # overall: Fisher and, beside it, the pooled z-test (statsmodels' proportions_ztest)
    from statsmodels.stats.proportion import proportions_ztest

    assert women["p_value"] == pytest.approx(sps.fisher_exact([[67, 153], [84, 126]]).pvalue, rel=1e-9)
    ref_z, ref_p = proportions_ztest([67, 84], [220, 210])
    assert women["z_statistic"] == pytest.approx(ref_z, rel=1e-10) and women["z_p_value"] == pytest.approx(
        ref_p
    )
    assert women["odds_ratio"] == pytest.approx(67 * 126 / (153 * 84), rel=1e-12) and women["odds_ratio"] < 1
    # within departments: every field against models.stats.cmh_test (statsmodels) on the hand-built tables
    ref = ms.cmh_test(simpson_tables())
    ref_corrected = ms.cmh_test(simpson_tables(), correction=True)
    for column, value in (
        ("odds_ratio", ref.odds_ratio),
        ("ci_low", ref.ci_low),
        ("ci_high", ref.ci_high),
        ("cmh_statistic", ref.statistic),
        ("p_value", ref.pvalue),
        ("cmh_statistic_corrected", ref_corrected.statistic),
        ("p_value_corrected", ref_corrected.pvalue),
        ("homogeneity_statistic", ref.breslow_day_statistic),
        ("homogeneity_p", ref.breslow_day_pvalue),
    ):
        assert women[f"within_department_{column}"] == pytest.approx(value, rel=1e-9), column
    assert women["within_department_homogeneity_df"] == ref.breslow_day_df == 2
    assert women["within_department_odds_ratio"] > 1 and women["within_department_ci_low"] < 1
    assert women["within_department_reverses"] is True and women["within_department_heterogeneous"] is True
    # within levels (S08/S10 alternate inside every cell) the gap stays, the levels agree: no reversal
    assert women["within_level_odds_ratio"] < 1 and women["within_level_reverses"] is False
    assert women["within_level_heterogeneous"] is False and women["within_level_homogeneity_df"] == 1
    # the finding names each stratification as itself
    assert "within-level odds ratio 0." in women["finding_en"]
    assert f"within-department odds ratio {women['within_department_odds_ratio']:.2f}" in women["finding_en"]
    assert "odds ratio binnen afdeling 1,60, 95%-BI 0,98–2,61" in women["finding_nl"]
    # per-stratum odds ratios for the forest plot: department A favours women; Woolf intervals (statsmodels)
    from statsmodels.stats.contingency_tables import Table2x2

    strata = marts.strata.filter(
        (pl.col("outcome") == "incidental_reward")
        & (pl.col("attribute") == "gender")
        & (pl.col("group_value") == "F")
    )
    for dept, (fy, fn, my, mn) in SIMPSON.items():
        r = row(strata, stratum_type="department", stratum=dept)
        table = Table2x2(np.array([[fy, fn], [my, mn]]))
        assert r["odds_ratio"] == pytest.approx(table.oddsratio, rel=1e-12)
        lo, hi = table.oddsratio_confint()
        assert (r["odds_ratio_ci_low"], r["odds_ratio_ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert row(strata, stratum_type="department", stratum="A")["odds_ratio"] > 5
    assert {r["stratum"] for r in strata.filter(pl.col("stratum_type") == "function_level").to_dicts()} == {
        "S08",
        "S10",
    }
