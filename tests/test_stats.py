"""Tests for models.stats: every statistic against an independent reference.

The reference is either a published value (Newcombe 1998, R / DescTools output for UCBAdmissions, Fisher's
tea tasting, normal quantiles) or a second implementation that does not share code with the module
(statsmodels where the module uses scipy or hand formulas, brute-force enumeration, exact rational
arithmetic, OLS with stratum fixed effects).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from fractions import Fraction

import numpy as np
import polars as pl
import pytest
from scipy import optimize
from scipy import stats as sps
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from models import stats as ms

# UCBAdmissions (R datasets), per department: [[admitted male, rejected male], [admitted female, rejected female]]
UCB = np.array(
    [
        [[512, 313], [89, 19]],
        [[353, 207], [17, 8]],
        [[120, 205], [202, 391]],
        [[138, 279], [131, 244]],
        [[53, 138], [94, 299]],
        [[22, 351], [24, 317]],
    ],
    dtype=float,
)


# ---------------------------------------------------------------------------------------------------------------
# 1. Wilson interval
# ---------------------------------------------------------------------------------------------------------------


def test_wilson_matches_newcombe_1998_published_values() -> None:
    # Newcombe (1998) Stat Med 17:857, Table II, method 3 (score interval without continuity correction).
    count = np.array([81, 15, 0, 1])
    n = np.array([263, 148, 20, 29])
    lo, hi = ms.wilson_interval(count, n)
    np.testing.assert_allclose(lo, [0.2553, 0.0624, 0.0, 0.0061], atol=5e-5)
    np.testing.assert_allclose(hi, [0.3662, 0.1605, 0.1611, 0.1718], atol=5e-5)


def test_wilson_matches_closed_form_score_interval() -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(1, 300, size=(4, 50))
    count = rng.integers(0, n + 1)
    for level in (0.8, 0.95, 0.99):
        z = sps.norm.isf((1 - level) / 2)
        p = count / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        lo, hi = ms.wilson_interval(count, n, level=level)
        assert lo.shape == n.shape
        np.testing.assert_allclose(lo, np.maximum(centre - half, 0), rtol=0, atol=1e-12)
        np.testing.assert_allclose(hi, np.minimum(centre + half, 1), rtol=0, atol=1e-12)


def test_wilson_nan_for_zero_or_missing_n_and_rejects_impossible_counts() -> None:
    lo, hi = ms.wilson_interval([0, 3, np.nan, 2], [0, np.nan, 10, 4])
    assert np.isnan(lo[:3]).all() and np.isnan(hi[:3]).all()
    assert 0 < lo[3] < 0.5 < hi[3] < 1
    with pytest.raises(ValueError):
        ms.wilson_interval(5, 4)


# ---------------------------------------------------------------------------------------------------------------
# 2. Benjamini–Hochberg
# ---------------------------------------------------------------------------------------------------------------


def test_bh_matches_statsmodels_and_ignores_nan_in_m() -> None:
    rng = np.random.default_rng(2)
    p = np.concatenate([rng.uniform(size=40), rng.uniform(0, 0.01, size=10)])
    p[[3, 17, 44]] = np.nan
    q = ms.benjamini_hochberg(p)
    finite = np.isfinite(p)
    assert np.array_equal(np.isnan(q), ~finite)
    ref = multipletests(p[finite], alpha=0.05, method="fdr_bh")[1]
    np.testing.assert_allclose(q[finite], ref, rtol=0, atol=1e-12)
    # Counting the nans in m would make q larger: check it is not done.
    assert not np.allclose(q[finite], multipletests(np.nan_to_num(p, nan=1.0), method="fdr_bh")[1][finite])


def test_bh_keeps_shape_and_rejects_invalid_p() -> None:
    p = np.array([[0.01, 0.2], [np.nan, 0.03]])
    q = ms.benjamini_hochberg(p)
    assert q.shape == (2, 2)
    np.testing.assert_allclose(q[np.isfinite(p)], multipletests([0.01, 0.2, 0.03], method="fdr_bh")[1])
    with pytest.raises(ValueError):
        ms.benjamini_hochberg([0.5, 1.5])


def _null_org(rng: np.random.Generator, n_units: int, size: int, shift: np.ndarray) -> pl.DataFrame:
    strata = np.array(["schaal 8", "schaal 10", "schaal 12"])
    probs = np.array(
        [[0.05, 0.15, 0.6, 0.15, 0.05], [0.03, 0.12, 0.6, 0.2, 0.05], [0.02, 0.08, 0.55, 0.25, 0.1]]
    )
    unit = np.repeat(np.arange(n_units), size)
    s_idx = rng.integers(0, 3, size=unit.size)
    u = rng.uniform(size=unit.size)
    score = 1 + (u[:, None] > np.cumsum(probs[s_idx], axis=1)).sum(axis=1) + shift[unit]
    return pl.DataFrame({"unit": unit, "stratum": strata[s_idx], "score": score.astype(float)})


def test_null_simulation_bh_flag_rate_within_nominal_fdr() -> None:
    # 200 units drawn from one distribution (given stratum); under the complete null every flag is false,
    # so FDR = P(at least one flag). Per-unit z from indirect standardisation -> p -> BH at q < 0.05.
    rng = np.random.default_rng(20240601)
    n_rep, n_units, size, fdr = 250, 200, 15, 0.05
    any_flag = np.zeros(n_rep, dtype=bool)
    raw_rate = np.zeros(n_rep)
    for i in range(n_rep):
        df = _null_org(rng, n_units, size, np.zeros(n_units))
        res = ms.indirect_standardisation(df["unit"], df["stratum"], df["score"])
        p = 2 * sps.norm.sf(np.abs(res["z"].to_numpy()))
        any_flag[i] = bool((ms.benjamini_hochberg(p) < fdr).any())
        raw_rate[i] = np.mean(p < 0.05)
    slack = 3 * math.sqrt(fdr * (1 - fdr) / n_rep)
    assert any_flag.mean() <= fdr + slack
    # The unadjusted tests are calibrated (about 5% flagged), so the BH bound is not met by being vacuous.
    assert 0.035 <= raw_rate.mean() <= 0.065
    # Power check: 10 units shifted by +1 rating point are found.
    shift = np.zeros(n_units)
    shift[:10] = 1.0
    df = _null_org(rng, n_units, size, shift)
    res = ms.indirect_standardisation(df["unit"], df["stratum"], df["score"])
    q = ms.benjamini_hochberg(2 * sps.norm.sf(np.abs(res["z"].to_numpy())))
    flagged = res["unit"].to_numpy()[q < fdr]
    assert set(range(10)) <= set(flagged.tolist())
    assert len(flagged) <= 12


# ---------------------------------------------------------------------------------------------------------------
# 3. Funnel limits
# ---------------------------------------------------------------------------------------------------------------


def test_funnel_limits_for_means_use_published_normal_quantiles() -> None:
    n = np.array([4, 25, 100, 0])
    lim = ms.funnel_limits(3.2, 0.9, n)
    se = 0.9 / np.sqrt(n[:3])
    # z_{0.975} = 1.959963984540054, z_{0.999} = 3.090232306167813 (standard normal tables)
    np.testing.assert_allclose(lim[0.95][0][:3], 3.2 - 1.959963984540054 * se, atol=1e-12)
    np.testing.assert_allclose(lim[0.95][1][:3], 3.2 + 1.959963984540054 * se, atol=1e-12)
    np.testing.assert_allclose(lim[0.998][0][:3], 3.2 - 3.090232306167813 * se, atol=1e-12)
    np.testing.assert_allclose(lim[0.998][1][:3], 3.2 + 3.090232306167813 * se, atol=1e-12)
    assert np.isnan(lim[0.95][0][3]) and np.isnan(lim[0.998][1][3])


def _binom_cdf_exact(r: int, n: int, p: float) -> float:
    return math.fsum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(0, r + 1)) if r >= 0 else 0.0


def _spiegelhalter_limit_reference(prob: float, n: int, p0: float) -> float:
    # Independent: linear search over r with exact binomial sums (no scipy).
    r = 0
    while _binom_cdf_exact(r, n, p0) < prob:
        r += 1
    f_r, f_below = _binom_cdf_exact(r, n, p0), _binom_cdf_exact(r - 1, n, p0)
    alpha = (f_r - prob) / (f_r - f_below)
    return min(max((r - alpha) / n, 0.0), 1.0)


@pytest.mark.parametrize("p0", [0.1, 0.35, 0.8])
@pytest.mark.parametrize("level", [0.95, 0.998])
def test_funnel_limits_proportion_matches_independent_spiegelhalter_interpolation(
    p0: float, level: float
) -> None:
    n = np.array([5, 12, 40, 150])
    lo, hi = ms.funnel_limits_proportion(p0, n, level)
    ref_lo = [_spiegelhalter_limit_reference((1 - level) / 2, int(k), p0) for k in n]
    ref_hi = [_spiegelhalter_limit_reference((1 + level) / 2, int(k), p0) for k in n]
    np.testing.assert_allclose(lo, ref_lo, atol=1e-9)
    np.testing.assert_allclose(hi, ref_hi, atol=1e-9)
    assert np.all(lo <= p0) and np.all(hi >= p0)


def test_funnel_limits_proportion_approach_normal_for_large_n_and_handle_edges() -> None:
    n = np.array([2000, 10000])
    lo, hi = ms.funnel_limits_proportion(0.2, n, 0.998)
    half = 3.090232306167813 * np.sqrt(0.2 * 0.8 / n)
    # Skewness and the interpolation shift the exact limits by O(1/n) from the normal approximation.
    assert np.all(np.abs(lo - (0.2 - half)) < 3 / n)
    assert np.all(np.abs(hi - (0.2 + half)) < 3 / n)
    lo, hi = ms.funnel_limits_proportion([0.0, 1.0, 0.3, 0.3], [10, 10, 0, np.nan])
    np.testing.assert_array_equal(lo[:2], [0.0, 1.0])
    np.testing.assert_array_equal(hi[:2], [0.0, 1.0])
    assert np.isnan(lo[2:]).all() and np.isnan(hi[2:]).all()


# ---------------------------------------------------------------------------------------------------------------
# 4. Ordinal tests and Cliff's delta
# ---------------------------------------------------------------------------------------------------------------


def _pearson_2xk(u: np.ndarray, r: np.ndarray) -> float:
    table = np.vstack([u, r]).astype(float)
    table = table[:, table.sum(axis=0) > 0]
    e = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    return float(((table - e) ** 2 / e).sum())


def test_ordinal_distribution_test_chi2_branch_matches_hand_pearson() -> None:
    u = np.array([10, 30, 100, 40, 20])
    r = np.array([60, 200, 700, 150, 40])
    res = ms.ordinal_distribution_test(u, r)
    stat = _pearson_2xk(u, r)
    assert res.method == "chi2" and res.dof == 4 and res.n_mc == 0
    assert res.statistic == pytest.approx(stat, rel=1e-12)
    assert res.pvalue == pytest.approx(sps.chi2.sf(stat, 4), rel=1e-10)


def _exact_permutation_p(u: np.ndarray, r: np.ndarray) -> float:
    # Exact conditional p of the Pearson statistic: enumerate all unit rows with the same margins
    # (multivariate hypergeometric probabilities from binomial coefficients).
    col = (u + r).astype(int)
    n_u, n_total = int(u.sum()), int(col.sum())
    obs = _pearson_2xk(u, r)
    denom = math.comb(n_total, n_u)
    p = Fraction(0)
    for row in itertools.product(*(range(c + 1) for c in col)):
        if sum(row) != n_u:
            continue
        row_a = np.array(row)
        if _pearson_2xk(row_a, col - row_a) >= obs * (1 - 1e-9):
            p += Fraction(math.prod(math.comb(int(c), k) for c, k in zip(col, row, strict=True)), denom)
    return float(p)


def test_ordinal_distribution_test_monte_carlo_branch_matches_exact_enumeration() -> None:
    u = np.array([0, 1, 4, 2, 0])
    r = np.array([5, 6, 3, 0, 0])  # last category empty in both rows: dropped
    res = ms.ordinal_distribution_test(u, r, rng=7, n_mc=20000)
    exact = _exact_permutation_p(u[:4], r[:4])
    assert res.method == "monte_carlo" and res.dof == 3 and res.n_mc == 20000
    assert res.statistic == pytest.approx(_pearson_2xk(u, r), rel=1e-12)
    se = math.sqrt(exact * (1 - exact) / 20000)
    assert abs(res.pvalue - exact) <= 4 * se + 1 / 20001
    assert 0.001 < exact < 0.2  # the example is neither trivial nor extreme
    # Reproducible with the same seed; p is never below 1/(1 + B).
    assert ms.ordinal_distribution_test(u, r, rng=7, n_mc=20000).pvalue == res.pvalue
    tiny = ms.ordinal_distribution_test([6, 0, 0], [0, 0, 6], n_mc=99)
    assert tiny.pvalue >= 1 / 100


def test_ordinal_distribution_test_undefined_cases() -> None:
    assert ms.ordinal_distribution_test([0, 0, 0], [3, 4, 5]).method == "undefined"
    res = ms.ordinal_distribution_test([0, 2, 0], [0, 9, 0])
    assert res.method == "undefined" and math.isnan(res.pvalue)
    with pytest.raises(ValueError):
        ms.ordinal_distribution_test([1, 2], [1, 2, 3])


def _expand(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


def test_ordinal_rank_test_matches_brute_force_u_and_tie_corrected_normal() -> None:
    u = np.array([1, 3, 10, 6, 2])
    r = np.array([30, 90, 300, 80, 10])
    x, y = _expand(u), _expand(r)
    diff = x[:, None] - y[None, :]
    big_u = float((diff > 0).sum() + 0.5 * (diff == 0).sum())
    n1, n2 = x.size, y.size
    n = n1 + n2
    ties = np.unique(np.concatenate([x, y]), return_counts=True)[1].astype(float)
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - (ties**3 - ties).sum() / (n * (n - 1))))
    z = (abs(big_u - n1 * n2 / 2) - 0.5) / sigma
    res = ms.ordinal_rank_test(u, r)
    assert res.statistic == big_u
    assert res.pvalue == pytest.approx(2 * sps.norm.sf(z), rel=1e-9)
    assert ms.cliffs_delta(u, r) == pytest.approx(2 * big_u / (n1 * n2) - 1, abs=1e-12)
    assert math.isnan(ms.ordinal_rank_test([0, 0, 0], r[:3]).pvalue)


def test_cliffs_delta_matches_brute_force_pairs_vectorised() -> None:
    rng = np.random.default_rng(4)
    units = rng.integers(0, 8, size=(6, 5))
    rest = rng.integers(0, 40, size=(6, 5))
    units[5] = 0  # empty unit -> nan
    got = ms.cliffs_delta(units, rest)
    for i in range(5):
        x, y = _expand(units[i]), _expand(rest[i])
        ref = (np.sign(x[:, None] - y[None, :])).mean()
        assert got[i] == pytest.approx(ref, abs=1e-12)
    assert math.isnan(got[5])
    assert ms.cliffs_delta([0, 0, 5], [5, 0, 0]) == 1.0


# ---------------------------------------------------------------------------------------------------------------
# 5. Indirect standardisation
# ---------------------------------------------------------------------------------------------------------------


def test_indirect_standardisation_hand_computed_example() -> None:
    # junior scores 3,4,2,3 -> mean 3, var 2/3; senior 5,4,3,4 -> mean 4, var 2/3.
    unit = ["A", "A", "A", "B", "B", "B", "C", "C", "C"]
    stratum = ["jr", "jr", "sr", "jr", "sr", "sr", "sr", "jr", None]
    score = [3, 4, 5, 2, 4, 3, 4, 3, 1]  # the row with a null stratum is ignored
    res = ms.indirect_standardisation(unit, stratum, score)
    assert res["unit"].to_list() == ["A", "B", "C"]
    assert res["n"].to_list() == [3, 3, 2]
    np.testing.assert_allclose(res["observed"].to_numpy(), [4, 3, 3.5], atol=1e-12)
    np.testing.assert_allclose(res["expected"].to_numpy(), [10 / 3, 11 / 3, 3.5], atol=1e-12)
    np.testing.assert_allclose(res["o_minus_e"].to_numpy(), [2 / 3, -2 / 3, 0], atol=1e-12)
    np.testing.assert_allclose(res["o_over_e"].to_numpy(), [1.2, 9 / 11, 1], atol=1e-12)
    np.testing.assert_allclose(res["z"].to_numpy(), [math.sqrt(2), -math.sqrt(2), 0], atol=1e-12)


def _dummies(labels: np.ndarray) -> np.ndarray:
    levels = np.unique(labels)
    return (labels[:, None] == levels[None, :]).astype(float)


def test_indirect_standardisation_o_minus_e_equals_mean_ols_fixed_effect_residual() -> None:
    rng = np.random.default_rng(5)
    n = 400
    unit = rng.choice([f"u{i:02d}" for i in range(15)], size=n)
    stratum = rng.choice(["s1", "s2", "s3", "s4"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    level_effect = {"s1": 0.0, "s2": 0.3, "s3": 0.6, "s4": 1.0}
    score = 3 + np.array([level_effect[s] for s in stratum]) + rng.normal(0, 0.7, size=n)
    score[[0, 1]] = np.nan
    res = ms.indirect_standardisation(pl.Series(unit), pl.Series(stratum), pl.Series(score))
    ok = np.isfinite(score)
    fit = OLS(score[ok], _dummies(stratum[ok])).fit()
    resid = (
        pl.DataFrame({"unit": unit[ok], "r": fit.resid}).group_by("unit").agg(pl.col("r").mean()).sort("unit")
    )
    np.testing.assert_allclose(res["o_minus_e"].to_numpy(), resid["r"].to_numpy(), atol=1e-10)
    assert res["n"].sum() == ok.sum()


# ---------------------------------------------------------------------------------------------------------------
# 6. Empirical Bayes shrinkage
# ---------------------------------------------------------------------------------------------------------------


def test_empirical_bayes_tau2_and_mean_match_statsmodels_dl() -> None:
    rng = np.random.default_rng(6)
    se = rng.uniform(0.1, 0.6, size=30)
    effect = rng.normal(0, 0.3, size=30) + rng.normal(0, se)
    res = ms.empirical_bayes_shrinkage(effect, se)
    ref = combine_effects(effect, se**2, method_re="dl")
    assert res.tau2 > 0
    assert res.tau2 == pytest.approx(float(ref.tau2), rel=1e-10)
    assert res.mu == pytest.approx(float(ref.mean_effect_re), rel=1e-10)
    # Posterior mean by the precision-weighted form (second method) and posterior SD.
    prec = 1 / se**2 + 1 / res.tau2
    post = (effect / se**2 + res.mu / res.tau2) / prec
    b = se**2 / (se**2 + res.tau2)
    var_mu = 1 / np.sum(1 / (se**2 + res.tau2))
    np.testing.assert_allclose(res.shrunk, post, atol=1e-12)
    np.testing.assert_allclose(res.se_post, np.sqrt(1 / prec + b**2 * var_mu), atol=1e-12)
    np.testing.assert_allclose(res.hi - res.lo, 2 * 1.959963984540054 * res.se_post, atol=1e-12)
    assert np.all(np.abs(res.shrunk - res.mu) <= np.abs(effect - res.mu) + 1e-15)


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
def test_empirical_bayes_homogeneous_effects_shrink_to_pooled_mean_and_nan_excluded() -> None:
    effect = np.array([0.10, 0.12, 0.09, 0.11, np.nan, 0.5])
    se = np.array([0.3, 0.4, 0.35, 0.3, 0.2, -1.0])  # nan effect and se <= 0 are excluded
    res = ms.empirical_bayes_shrinkage(effect, se)
    ref = combine_effects(effect[:4], se[:4] ** 2, method_re="dl")
    # Q < k - 1 here, so the DerSimonian–Laird estimate is truncated at 0. statsmodels 0.15 returns the
    # untruncated (negative) moment estimate for method_re="dl"; the truncation is DerSimonian & Laird's.
    assert float(ref.q) < ref.df
    assert res.tau2 == max(0.0, float(ref.tau2)) == 0.0
    np.testing.assert_allclose(res.shrunk[:4], float(ref.mean_effect_fe), atol=1e-12)
    assert np.isnan(res.shrunk[4:]).all() and np.isnan(res.lo[4:]).all()
    one = ms.empirical_bayes_shrinkage([0.2], [0.1])
    assert math.isnan(one.tau2) and np.isnan(one.shrunk).all()


# ---------------------------------------------------------------------------------------------------------------
# 7. Evaluator effects and linked components
# ---------------------------------------------------------------------------------------------------------------


def test_evaluator_effects_match_ols_with_crossed_stratum_fixed_effects() -> None:
    rng = np.random.default_rng(8)
    n = 600
    level = rng.choice(["L8", "L10", "L12"], size=n)
    dept = rng.choice(["HR", "IT"], size=n)
    evaluator = rng.choice([f"e{i:02d}" for i in range(12)], size=n)
    lenient = {"e00": 0.8}
    score = (
        3.0
        + (level == "L12") * 0.4
        + (dept == "IT") * 0.2
        + np.array([lenient.get(e, 0.0) for e in evaluator])
        + rng.normal(0, 0.6, size=n)
    )
    res = ms.evaluator_effects(score, evaluator, (level, dept))
    cell = np.char.add(np.char.add(level, "|"), dept)
    fit = OLS(score, _dummies(cell)).fit()
    ref = (
        pl.DataFrame({"evaluator": evaluator, "r": fit.resid})
        .group_by("evaluator")
        .agg(pl.col("r").mean(), pl.len().alias("n"))
        .sort("evaluator")
    )
    assert res["evaluator"].to_list() == ref["evaluator"].to_list()
    assert res["n"].to_list() == ref["n"].to_list()
    np.testing.assert_allclose(res["raw_effect"].to_numpy(), ref["r"].to_numpy(), atol=1e-10)
    np.testing.assert_allclose(res["se"].to_numpy(), np.sqrt(fit.scale / ref["n"].to_numpy()), rtol=1e-10)
    tau2 = combine_effects(res["raw_effect"].to_numpy(), res["se"].to_numpy() ** 2, method_re="dl").tau2
    assert res["tau2"][0] == pytest.approx(float(tau2), rel=1e-10)
    # The planted lenient evaluator is the only one whose shrunk interval lies above 0.
    above = res.filter(pl.col("lo") > 0)["evaluator"].to_list()
    assert above == ["e00"]


def _components_bfs(pairs: list[tuple[str, str]], nodes: list[str]) -> dict[str, int]:
    adj: dict[str, set[str]] = {v: set() for v in nodes}
    for a, b in pairs:
        adj[a].add(b)
        adj[b].add(a)
    comp: dict[str, int] = {}
    for start in sorted(nodes):
        if start in comp:
            continue
        cid = len(set(comp.values()))
        queue = deque([start])
        comp[start] = cid
        while queue:
            v = queue.popleft()
            for w in adj[v]:
                if w not in comp:
                    comp[w] = cid
                    queue.append(w)
    return comp


def test_linked_components_match_breadth_first_search() -> None:
    rng = np.random.default_rng(9)
    nodes = [f"ev{i:02d}" for i in range(40)]
    pairs = [(nodes[i], nodes[j]) for i, j in rng.integers(0, 40, size=(25, 2))]
    res = ms.linked_components(pairs, evaluators=nodes)
    ref = _components_bfs(pairs, nodes)
    assert res["evaluator"].to_list() == sorted(nodes)
    assert dict(zip(res["evaluator"].to_list(), res["component"].to_list(), strict=True)) == ref
    assert res["component"].n_unique() > 1


def test_evaluator_pairs_from_assignments_link_changed_and_second_evaluators() -> None:
    employee = [1, 1, 2, 3, 4, 4, 5]
    evaluator = ["a", "b", "b", "c", "d", "e", "f"]  # 1: a→b, 4: second evaluator e next to d
    pairs = ms.evaluator_pairs_from_assignments(employee, evaluator)
    res = ms.linked_components(pairs, evaluators=sorted(set(evaluator)))
    comp = dict(zip(res["evaluator"].to_list(), res["component"].to_list(), strict=True))
    assert comp["a"] == comp["b"] != comp["c"]
    assert comp["d"] == comp["e"] != comp["f"]
    assert len(set(comp.values())) == 4


# ---------------------------------------------------------------------------------------------------------------
# 8. Fisher, CMH, Breslow–Day, adverse impact
# ---------------------------------------------------------------------------------------------------------------


def _fisher_two_sided_reference(a: int, b: int, c: int, d: int) -> float:
    r1, c1, n = a + b, a + c, a + b + c + d
    lo, hi = max(0, c1 - (n - r1)), min(r1, c1)

    def prob(x: int) -> Fraction:
        return Fraction(math.comb(r1, x) * math.comb(n - r1, c1 - x), math.comb(n, c1))

    p_obs = prob(a)
    return float(sum(prob(x) for x in range(lo, hi + 1) if prob(x) <= p_obs * Fraction(10**7 + 1, 10**7)))


def test_fisher_exact_tea_tasting_and_enumeration() -> None:
    odds, p = ms.fisher_exact_2x2(3, 1, 1, 3)
    assert float(p) == pytest.approx(17 / 35, abs=1e-12)  # Fisher (1935): 34/70 = 0.4857
    assert float(odds) == 9.0
    rng = np.random.default_rng(10)
    cells = rng.integers(0, 12, size=(4, 20))
    cells[0, 0] = -1  # replaced by nan below
    a = cells[0].astype(float)
    a[0] = np.nan
    odds, p = ms.fisher_exact_2x2(a, cells[1], cells[2], cells[3])
    assert np.isnan(p[0]) and np.isnan(odds[0])
    for i in range(1, 20):
        ref = _fisher_two_sided_reference(*(int(x) for x in cells[:, i]))
        assert p[i] == pytest.approx(min(ref, 1.0), abs=1e-9)


def test_cmh_ucb_admissions_matches_published_r_output() -> None:
    # R: mantelhaen.test(UCBAdmissions) -> common OR 0.9046968, 95% CI 0.7719074 1.0603298,
    # X-squared = 1.4269 (default correct = TRUE, p = 0.2323); correct = FALSE: X-squared = 1.5246 (p = 0.2169).
    res = ms.cmh_test(UCB)
    assert res.odds_ratio == pytest.approx(0.9046968, abs=1e-6)
    assert res.ci_low == pytest.approx(0.7719074, abs=1e-6)
    assert res.ci_high == pytest.approx(1.0603298, abs=1e-6)
    assert not res.correction  # statsmodels' default: no continuity correction
    assert res.statistic == pytest.approx(1.5246, abs=5e-5)
    assert res.pvalue == pytest.approx(0.2169, abs=5e-5)
    corrected = ms.cmh_test(UCB, correction=True)
    assert corrected.statistic == pytest.approx(1.4269, abs=5e-5)
    assert corrected.pvalue == pytest.approx(0.2323, abs=5e-5)
    # Breslow–Day (DescTools::BreslowDayTest(UCBAdmissions)): X-squared = 18.83 on 5 df; Tarone's correction
    # changes it only in the 5th decimal here. chi2(5).sf(18.83) = 0.0021.
    assert res.breslow_day_statistic == pytest.approx(18.83, abs=5e-3)
    assert res.breslow_day_df == 5
    assert res.breslow_day_pvalue == pytest.approx(sps.chi2.sf(res.breslow_day_statistic, 5), rel=1e-12)
    assert 0.0020 < res.breslow_day_pvalue < 0.0022
    ref_bd = StratifiedTable(np.transpose(UCB, (1, 2, 0))).test_equal_odds(adjust=True)
    assert res.breslow_day_statistic == pytest.approx(float(ref_bd.statistic), rel=1e-9)
    # Crude OR of the collapsed table: men admitted more often overall (OR 1.84), not within departments.
    assert res.crude_odds_ratio == pytest.approx((1198 * 1278) / (1493 * 557), rel=1e-12)
    assert res.n_strata == 6 and res.n_dropped == 0


def _breslow_day_by_root_finding(tables: np.ndarray, or_mh: float) -> float:
    # Second method: expected a11 under the common OR by bracketing root search instead of the quadratic.
    stat, sum_diff, sum_var = 0.0, 0.0, 0.0
    for t in tables:
        r1, r2, c1 = t[0].sum(), t[1].sum(), t[:, 0].sum()
        lo, hi = max(0.0, c1 - r2), min(r1, c1)

        def f(e: float, r1: float = r1, r2: float = r2, c1: float = c1) -> float:
            return e * (r2 - c1 + e) - or_mh * (r1 - e) * (c1 - e)

        e = optimize.brentq(f, lo + 1e-12, hi - 1e-12, xtol=1e-14)
        v = 1 / (1 / e + 1 / (r1 - e) + 1 / (c1 - e) + 1 / (r2 - c1 + e))
        stat += (t[0, 0] - e) ** 2 / v
        sum_diff += t[0, 0] - e
        sum_var += v
    return stat - sum_diff**2 / sum_var


def test_breslow_day_matches_root_finding_including_pooled_or_of_exactly_one() -> None:
    res = ms.cmh_test(UCB)
    assert res.breslow_day_statistic == pytest.approx(
        _breslow_day_by_root_finding(UCB, res.odds_ratio), rel=1e-9
    )
    # MH OR exactly 1 (statsmodels' quadratic divides by 1 - OR = 0 here and returns nan).
    tables = np.array([[[2, 1], [1, 2]], [[1, 2], [2, 1]], [[5, 5], [4, 6]]], dtype=float)
    num = sum(t[0, 0] * t[1, 1] / t.sum() for t in tables[:2])
    den = sum(t[0, 1] * t[1, 0] / t.sum() for t in tables[:2])
    assert num == den
    res1 = ms.cmh_test(tables[:2])
    assert res1.odds_ratio == pytest.approx(1.0, abs=1e-15)
    assert res1.breslow_day_statistic == pytest.approx(
        _breslow_day_by_root_finding(tables[:2], 1.0), rel=1e-9
    )
    assert res1.breslow_day_statistic > 0 and np.isfinite(res1.breslow_day_pvalue)


def test_cmh_simpsons_paradox_overall_gap_reverses_within_strata() -> None:
    # Kidney stones (Charig et al. 1986), rows swapped so that the crude OR > 1 but every stratum OR < 1.
    small = [[234, 36], [81, 6]]
    large = [[55, 25], [192, 71]]
    res = ms.cmh_test([small, large])
    strata_or = [t[0][0] * t[1][1] / (t[0][1] * t[1][0]) for t in (small, large)]
    assert all(o < 1 for o in strata_or)
    assert res.crude_odds_ratio == pytest.approx((289 * 77) / (61 * 273), rel=1e-12)
    assert res.crude_odds_ratio > 1
    mh = (234 * 6 / 357 + 55 * 71 / 343) / (36 * 81 / 357 + 25 * 192 / 343)
    assert res.odds_ratio == pytest.approx(mh, rel=1e-12)
    assert res.odds_ratio < 1 and res.ci_high < 1.1


def test_cmh_drops_strata_with_total_below_two() -> None:
    tables = np.concatenate([UCB, [[[1, 0], [0, 0]], [[0, 0], [0, 0]]]])
    res = ms.cmh_test(tables)
    base = ms.cmh_test(UCB)
    assert res.n_dropped == 2 and res.n_strata == 6
    for field in ("odds_ratio", "ci_low", "ci_high", "statistic", "pvalue", "breslow_day_statistic"):
        assert getattr(res, field) == pytest.approx(getattr(base, field), rel=1e-12)
    # A stratum with a zero margin is kept for MH/CMH (it contributes nothing) but not for Breslow–Day df.
    res2 = ms.cmh_test(np.concatenate([UCB, [[[3, 2], [0, 0]]]]))
    assert res2.n_strata == 7 and res2.breslow_day_df == 5
    assert res2.odds_ratio == pytest.approx(base.odds_ratio, rel=1e-12)
    empty = ms.cmh_test([[[1, 0], [0, 0]]])
    assert empty.n_strata == 0 and empty.n_dropped == 1 and math.isnan(empty.odds_ratio)


def test_adverse_impact_ratio_exact_four_fifths_boundary() -> None:
    ratio, flag = ms.adverse_impact_ratio(4, 10, 5, 10)
    assert float(ratio) == 0.8 and not bool(flag)
    # Float division says 0.7999999999999999 < 0.8, the exact ratio is 4/5: not adverse.
    assert (2 / 3) / (5 / 6) < 0.8
    assert Fraction(2, 3) / Fraction(5, 6) == Fraction(4, 5)
    ratio, flag = ms.adverse_impact_ratio(2, 3, 5, 6)
    assert float(ratio) == 0.8 and not bool(flag)
    ratio, flag = ms.adverse_impact_ratio(
        [7999, 3999, 4001, 3, 1], [10000, 5000, 5000, 10, 4], [1, 1, 1, 0, 1], 1
    )
    np.testing.assert_allclose(ratio[:3], [0.7999, 0.7998, 0.8002], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(flag, [True, True, False, False, True])
    assert np.isnan(ratio[3]) and ratio[4] == pytest.approx(0.25)
    with pytest.raises(ValueError):
        ms.adverse_impact_ratio(1.5, 3, 1, 2)
    with pytest.raises(ValueError):
        ms.adverse_impact_ratio(4, 3, 1, 2)


# ---------------------------------------------------------------------------------------------------------------
# 10–11. Differentiation index, gender pay gap
# ---------------------------------------------------------------------------------------------------------------


def test_differentiation_index_matches_scipy_entropy() -> None:
    rng = np.random.default_rng(11)
    counts = rng.integers(0, 15, size=(8, 5))
    counts[0] = [0, 0, 9, 0, 0]
    counts[1] = [3, 3, 3, 3, 3]
    counts[2] = 0
    res = ms.differentiation_index(counts)
    for i in range(3, 8):
        assert res.entropy[i] == pytest.approx(sps.entropy(counts[i]) / math.log(5), abs=1e-12)
        assert res.modal_share[i] == pytest.approx(counts[i].max() / counts[i].sum(), abs=1e-12)
    assert res.entropy[0] == 0.0 and res.modal_share[0] == 1.0
    assert res.entropy[1] == pytest.approx(1.0, abs=1e-12) and res.modal_share[1] == pytest.approx(0.2)
    assert np.isnan(res.entropy[2]) and np.isnan(res.modal_share[2])


def test_gender_pay_gap_eu_directive_definition() -> None:
    np.testing.assert_allclose(ms.gender_pay_gap([100.0, 50.0, 0.0], [90.0, 55.0, 10.0])[:2], [0.10, -0.10])
    assert np.isnan(ms.gender_pay_gap(0.0, 10.0))
    # men mean 35, median 35; women mean 26, median 25 -> mean gap 9/35, median gap 10/35
    gaps = ms.gender_pay_gaps([20.0, 30.0, 40.0, 50.0, np.nan], [18.0, 25.0, 35.0])
    assert gaps.mean_gap == pytest.approx(9 / 35, abs=1e-12)
    assert gaps.median_gap == pytest.approx(10 / 35, abs=1e-12)
    assert (gaps.n_men, gaps.n_women) == (4, 3)
    assert math.isnan(ms.gender_pay_gaps([], [1.0]).mean_gap)
