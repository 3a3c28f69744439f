"""Small, pure, vectorised statistics for calibration and fairness analytics ("Statistics, honestly").

Units are small, so every rate here comes with its n and an interval, tests are exact, Monte Carlo or
stratified where data are thin, multiple comparisons are corrected (Benjamini–Hochberg), and effects are
shrunk (empirical Bayes) before anyone ranks them. The module is pure: numpy/scipy/statsmodels/polars in,
arrays or polars frames out; no I/O, no global state, no Dagster, no plotting.

Conventions
-----------
* Functions are vectorised over numpy-broadcastable inputs. Scalar inputs give 0-d arrays (they behave like
  floats; use ``float(x)`` if you need one).
* nan-safe: a nan (or otherwise undefined) input gives nan in the matching output position and is never
  silently counted (e.g. it does not add to the number of tests m in Benjamini–Hochberg).
* Where scipy/statsmodels implement a method well, it is wrapped rather than re-implemented; the few
  hand-written formulas say why.
* Error messages never contain data values: they may be personal data.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy import sparse, special
from scipy import stats as sps
from scipy.sparse import csgraph

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

__all__ = [
    "CMHResult",
    "DifferentiationIndex",
    "OrdinalTestResult",
    "PayGaps",
    "RankTestResult",
    "ShrinkageResult",
    "adverse_impact_ratio",
    "benjamini_hochberg",
    "cliffs_delta",
    "cmh_test",
    "differentiation_index",
    "empirical_bayes_shrinkage",
    "evaluator_effects",
    "evaluator_pairs_from_assignments",
    "fisher_exact_2x2",
    "funnel_limits",
    "funnel_limits_proportion",
    "gender_pay_gap",
    "gender_pay_gaps",
    "indirect_standardisation",
    "linked_components",
    "ordinal_distribution_test",
    "ordinal_rank_test",
    "wilson_interval",
]

# Relative tolerance when comparing a simulated statistic with the observed one: equal tables must count as
# "at least as extreme" despite floating-point noise (R's chisq.test uses the same idea).
_TIE_RTOL = 1e-9


def _z(level: float) -> float:
    """Two-sided standard-normal critical value for a central interval of probability ``level``."""
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie strictly between 0 and 1")
    return float(sps.norm.ppf(0.5 + level / 2.0))


def _float(x: Any) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _series(name: str, values: Any, dtype: Any = None) -> pl.Series:
    """A polars Series from a numpy array, list or Series (typed as Any: polars' stubs are narrower)."""
    return pl.Series(name, values, dtype=dtype)


# --------------------------------------------------------------------------------------------------------------
# 1. Wilson interval
# --------------------------------------------------------------------------------------------------------------


def wilson_interval(count: ArrayLike, n: ArrayLike, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a binomial proportion ``count / n``, vectorised.

    Why Wilson: unlike the Wald interval it keeps good coverage for small n and for proportions near 0 or 1,
    never leaves [0, 1] and is not degenerate at count = 0 — exactly the situation of small units.
    Wraps ``statsmodels.stats.proportion.proportion_confint(method="wilson")``; adds masking so that n = 0
    or nan inputs give nan instead of warnings or garbage.

    Returns ``(lo, hi)`` arrays broadcast from ``count`` and ``n``.
    """
    from statsmodels.stats.proportion import proportion_confint  # lazy: statsmodels imports pandas

    c, m = np.broadcast_arrays(_float(count), _float(n))
    ok = np.isfinite(c) & np.isfinite(m) & (m > 0)
    if np.any(ok & ((c < 0) | (c > m))):
        raise ValueError("count must satisfy 0 <= count <= n")
    c_safe = np.where(ok, c, 0.0)
    m_safe = np.where(ok, m, 1.0)
    lo, hi = proportion_confint(c_safe, m_safe, alpha=1.0 - level, method="wilson")
    lo = np.where(ok, np.clip(lo, 0.0, 1.0), np.nan)
    hi = np.where(ok, np.clip(hi, 0.0, 1.0), np.nan)
    return lo.astype(np.float64), hi.astype(np.float64)


# --------------------------------------------------------------------------------------------------------------
# 2. Benjamini–Hochberg
# --------------------------------------------------------------------------------------------------------------


def benjamini_hochberg(pvalues: ArrayLike) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (q-values) controlling the false discovery rate.

    Why: a dashboard tests every unit and every evaluator; without correction about 5% of perfectly ordinary
    units would be flagged. nan p-values (untestable units, e.g. below minimum n) stay nan and are NOT
    counted in m, so suppressing a unit never makes the others look more significant than they are.
    Wraps ``scipy.stats.false_discovery_control(method="bh")`` on the finite entries; any input shape.
    """
    p = _float(pvalues)
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if np.any(finite & ((p < 0) | (p > 1))):
        raise ValueError("p-values must lie in [0, 1]")
    if finite.any():
        q[finite] = sps.false_discovery_control(p[finite], method="bh")
    return q


# --------------------------------------------------------------------------------------------------------------
# 3. Funnel plot limits
# --------------------------------------------------------------------------------------------------------------


def funnel_limits(
    target_mean: ArrayLike,
    target_sd: ArrayLike,
    n: ArrayLike,
    levels: Sequence[float] = (0.95, 0.998),
) -> dict[float, tuple[FloatArray, FloatArray]]:
    """Funnel-plot control limits for a unit mean: ``target_mean ± z · target_sd / sqrt(n)``.

    Why: a funnel plot shows each unit's mean against its n with limits that widen for small units, so a
    small unit is not branded an outlier for noise (Spiegelhalter 2005, Appendix A.3.1; normal
    approximation to the mean of n scores). ``levels`` are two-sided coverages: 0.95 ≈ 2 SD "warning" and
    0.998 ≈ 3 SD "control" limits. n <= 0 or nan gives nan.

    Returns ``{level: (lo, hi)}``.
    """
    mu, sd, m = np.broadcast_arrays(_float(target_mean), _float(target_sd), _float(n))
    ok = np.isfinite(mu) & np.isfinite(sd) & np.isfinite(m) & (m > 0) & (sd >= 0)
    se = np.where(ok, sd / np.sqrt(np.where(ok, m, 1.0)), np.nan)
    out: dict[float, tuple[FloatArray, FloatArray]] = {}
    for level in levels:
        z = _z(level)
        out[level] = (mu - z * se, mu + z * se)
    return out


def _binomial_interpolated_quantile(prob: float, n: FloatArray, p0: FloatArray) -> FloatArray:
    """Spiegelhalter (2005, Appendix A.1.1) interpolated binomial quantile, as a proportion.

    r_p is the smallest r with P(R <= r) >= prob for R ~ Bin(n, p0); the discrete step is smoothed by
    alpha = (P(R <= r_p) - prob) / (P(R <= r_p) - P(R <= r_p - 1)) and the limit is (r_p - alpha) / n.
    """
    r = sps.binom.ppf(prob, n, p0)
    cdf_r = sps.binom.cdf(r, n, p0)
    cdf_below = sps.binom.cdf(r - 1, n, p0)
    alpha = (cdf_r - prob) / (cdf_r - cdf_below)
    return np.asarray((r - alpha) / n, dtype=np.float64)


def funnel_limits_proportion(
    p0: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Funnel-plot limits for a proportion with target ``p0`` at unit size ``n`` (exact binomial).

    Method (Spiegelhalter, "Funnel plots for comparing institutional performance", Stat Med 2005;24:1185,
    Appendix A.1.1): for the lower limit take prob = (1 - level)/2, for the upper prob = (1 + level)/2; let
    r_p be the binomial prob-quantile (smallest r with P(R <= r) >= prob). Because the binomial is discrete,
    the limit is interpolated: alpha = (P(R <= r_p) - prob) / (P(R <= r_p) - P(R <= r_p - 1)) and the limit
    is (r_p - alpha) / n, clipped to [0, 1]. This gives smooth funnels with close to nominal tail
    probabilities even for the small n typical of organisational units, where the normal approximation
    p0 ± z·sqrt(p0(1 - p0)/n) is poor.

    p0 in {0, 1} gives the degenerate limits (p0, p0); n <= 0 or nan gives nan.
    """
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie strictly between 0 and 1")
    p, m = np.broadcast_arrays(_float(p0), _float(n))
    ok = np.isfinite(p) & np.isfinite(m) & (m > 0) & (p >= 0) & (p <= 1)
    inner = ok & (p > 0) & (p < 1)
    m_safe = np.where(inner, np.round(m), 1.0)
    p_safe = np.where(inner, p, 0.5)
    lo = _binomial_interpolated_quantile((1.0 - level) / 2.0, m_safe, p_safe)
    hi = _binomial_interpolated_quantile((1.0 + level) / 2.0, m_safe, p_safe)
    lo = np.where(inner, np.clip(lo, 0.0, 1.0), np.where(ok, p, np.nan))
    hi = np.where(inner, np.clip(hi, 0.0, 1.0), np.where(ok, p, np.nan))
    return lo.astype(np.float64), hi.astype(np.float64)


# --------------------------------------------------------------------------------------------------------------
# 4. Ordinal distribution of a unit against the rest
# --------------------------------------------------------------------------------------------------------------


class OrdinalTestResult(NamedTuple):
    statistic: float  # Pearson X² of the 2×K table (categories empty in both rows dropped)
    pvalue: float
    method: str  # "chi2" | "monte_carlo" | "undefined"
    dof: int  # K_used - 1
    n_mc: int  # number of Monte Carlo tables (0 unless method == "monte_carlo")


def _counts_1d(x: ArrayLike, name: str) -> FloatArray:
    a = _float(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one count per category)")
    if not np.all(np.isfinite(a)) or np.any(a < 0) or np.any(a != np.round(a)):
        raise ValueError(f"{name} must be non-negative integer counts")
    return a


def _pearson_unit_row(unit_rows: FloatArray, col: FloatArray, n_unit: float, n_total: float) -> FloatArray:
    """Pearson X² of 2×K tables with fixed margins, from the unit row only (vectorised over leading axes).

    With column totals c_k and row totals fixed, the rest row deviation equals minus the unit row deviation,
    so X² = sum_k (u_k - E_k)² (1/E_k + 1/F_k) with E_k = n_unit c_k / N and F_k = c_k - E_k.
    """
    e = n_unit * col / n_total
    f = col - e
    return np.asarray(np.sum((unit_rows - e) ** 2 * (1.0 / e + 1.0 / f), axis=-1), dtype=np.float64)


def ordinal_distribution_test(
    unit_counts: ArrayLike,
    rest_counts: ArrayLike,
    rng: np.random.Generator | int = 20240601,
    n_mc: int = 9999,
    min_expected: float = 5.0,
) -> OrdinalTestResult:
    """Does a unit's distribution over K rating categories differ from the rest of the organisation?

    Test of homogeneity of the 2×K table (unit row, rest row). The exact Fisher–Freeman–Halton test is too
    expensive to run for every unit, so:

    * if every expected count is >= ``min_expected`` (classical rule of thumb), the asymptotic Pearson
      chi-square test (``scipy.stats.chi2_contingency``, no continuity correction) is used;
    * otherwise a Monte Carlo permutation test conditional on both margins: the unit row of a table under
      H0 is multivariate hypergeometric (``Generator.multivariate_hypergeometric``), ``n_mc`` tables are
      drawn, and p = (1 + #{X²_sim >= X²_obs}) / (1 + n_mc) — the same construction as R's
      ``chisq.test(simulate.p.value = TRUE)``; this p-value is valid (never anti-conservative) for any n_mc.

    ``rng`` is a Generator or a seed; the default fixed seed makes results reproducible run to run.
    Categories empty in both rows are dropped. If either row is empty or fewer than two categories are
    used, the test is undefined (nan, method "undefined"). The test is omnibus (any difference in shape);
    for a location shift use :func:`ordinal_rank_test` and report :func:`cliffs_delta` as effect size.
    """
    u = _counts_1d(unit_counts, "unit_counts")
    r = _counts_1d(rest_counts, "rest_counts")
    if u.shape != r.shape:
        raise ValueError("unit_counts and rest_counts must have the same number of categories")
    col = u + r
    keep = col > 0
    u, r, col = u[keep], r[keep], col[keep]
    n_unit, n_rest = float(u.sum()), float(r.sum())
    if n_unit == 0 or n_rest == 0 or col.size < 2:
        return OrdinalTestResult(math.nan, math.nan, "undefined", 0, 0)
    n_total = n_unit + n_rest
    dof = int(col.size - 1)
    expected = np.outer([n_unit, n_rest], col) / n_total
    if expected.min() >= min_expected:
        res = sps.chi2_contingency(np.vstack([u, r]), correction=False)
        return OrdinalTestResult(float(res.statistic), float(res.pvalue), "chi2", dof, 0)
    if n_mc < 1:
        raise ValueError("n_mc must be at least 1")
    gen = np.random.default_rng(rng)
    sims = gen.multivariate_hypergeometric(col.astype(np.int64), int(n_unit), size=n_mc).astype(np.float64)
    obs = float(_pearson_unit_row(u, col, n_unit, n_total))
    sim_stats = _pearson_unit_row(sims, col, n_unit, n_total)
    n_extreme = int(np.count_nonzero(sim_stats >= obs - _TIE_RTOL * abs(obs)))
    return OrdinalTestResult(obs, (1.0 + n_extreme) / (1.0 + n_mc), "monte_carlo", dof, n_mc)


class RankTestResult(NamedTuple):
    statistic: float  # Mann–Whitney U of the unit (count of unit>rest pairs + half the ties)
    pvalue: float  # two-sided, normal approximation with tie and continuity correction


def ordinal_rank_test(unit_counts: ArrayLike, rest_counts: ArrayLike) -> RankTestResult:
    """Rank-based (location) test of a unit's ratings against the rest: Mann–Whitney U from category counts.

    Why: ratings are ordinal with massive ties; the Mann–Whitney test uses only the order of the categories
    and has a tie-corrected normal approximation. Category k gets score k; wraps
    ``scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=True)`` (the exact method is invalid with
    ties). Empty unit or rest gives nan. Pair with :func:`cliffs_delta` (= 2U/(n1 n2) - 1) for the effect.
    """
    u = _counts_1d(unit_counts, "unit_counts")
    r = _counts_1d(rest_counts, "rest_counts")
    if u.shape != r.shape:
        raise ValueError("unit_counts and rest_counts must have the same number of categories")
    if u.sum() == 0 or r.sum() == 0:
        return RankTestResult(math.nan, math.nan)
    scores = np.arange(u.size, dtype=np.float64)
    x = np.repeat(scores, u.astype(np.int64))
    y = np.repeat(scores, r.astype(np.int64))
    if np.unique(np.concatenate([x, y])).size < 2:  # everyone has the same rating: no information
        return RankTestResult(float(x.size * y.size) / 2.0, 1.0)
    res = sps.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    return RankTestResult(float(res.statistic), float(res.pvalue))


def cliffs_delta(unit_counts: ArrayLike, rest_counts: ArrayLike) -> FloatArray:
    """Cliff's delta (rank-biserial correlation) of unit vs rest from ordered category counts.

    delta = P(unit > rest) - P(unit < rest) over all unit×rest pairs, in [-1, 1]; 0 = no shift. It is the
    effect size that belongs to the Mann–Whitney test (delta = 2U/(n1 n2) - 1) and needs no interval scale.
    Computed in O(K) from counts with cumulative sums, vectorised over leading axes (e.g. one row per unit,
    categories on the last axis). Empty unit or rest gives nan.
    """
    u, r = np.broadcast_arrays(_float(unit_counts), _float(rest_counts))
    n_u = u.sum(axis=-1)
    n_r = r.sum(axis=-1)
    cum = np.cumsum(r, axis=-1)
    below = cum - r  # rest strictly below category k
    above = n_r[..., None] - cum  # rest strictly above category k
    num = np.sum(u * (below - above), axis=-1)
    den = n_u * n_r
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan), dtype=np.float64)


# --------------------------------------------------------------------------------------------------------------
# 5. Indirect standardisation
# --------------------------------------------------------------------------------------------------------------


def _is_valid_expr(col: str) -> pl.Expr:
    c = pl.col(col)
    return c.is_not_null() & c.is_not_nan() if col == "score" else c.is_not_null()


def indirect_standardisation(unit: ArrayLike, stratum: ArrayLike, score: ArrayLike) -> pl.DataFrame:
    """Indirectly standardised mean score per unit, correcting for its mix of strata (e.g. function level).

    Why: a unit with many senior staff may score higher simply because seniors score higher everywhere.
    For each unit with rows i (stratum s(i)):

    * ``observed`` O = mean of the unit's scores,
    * ``expected`` E = (1/n) Σ_i mean_org[s(i)] — what the unit would score if each of its people scored the
      organisation's average for their stratum,
    * ``o_minus_e`` and ``o_over_e`` (O/E; meaningful for positive scales, nan if E = 0),
    * ``z`` = (O - E) / (sqrt(Σ_i var_org[s(i)]) / n), using the organisation's stratum variances (ddof = 1).
      A stratum with a single row has variance 0: that person's O - E contribution is identically 0.
      The org means include the unit itself, which makes this z slightly conservative for large units.

    O - E equals the unit mean of the residuals of an OLS of score on stratum fixed effects.
    Inputs are per-row arrays (numpy, lists or polars Series); rows with a null unit/stratum or a null/nan
    score are ignored. Returns one row per unit, sorted by unit:
    ``unit, n, observed, expected, o_minus_e, o_over_e, z``.
    """
    df = pl.DataFrame(
        [_series("unit", unit), _series("stratum", stratum), _series("score", score, pl.Float64)]
    ).filter(_is_valid_expr("unit") & _is_valid_expr("stratum") & _is_valid_expr("score"))
    strata = df.group_by("stratum").agg(
        pl.col("score").mean().alias("_mean_s"),
        pl.col("score").var(ddof=1).fill_null(0.0).alias("_var_s"),
    )
    out = (
        df.join(strata, on="stratum", how="left")
        .group_by("unit")
        .agg(
            pl.len().alias("n"),
            pl.col("score").mean().alias("observed"),
            pl.col("_mean_s").mean().alias("expected"),
            pl.col("_var_s").sum().alias("_var_sum"),
        )
        .with_columns((pl.col("observed") - pl.col("expected")).alias("o_minus_e"))
        .with_columns(
            pl.when(pl.col("expected") != 0)
            .then(pl.col("observed") / pl.col("expected"))
            .otherwise(float("nan"))
            .alias("o_over_e"),
            pl.when(pl.col("_var_sum") > 0)
            .then(pl.col("o_minus_e") * pl.col("n") / pl.col("_var_sum").sqrt())
            .otherwise(float("nan"))
            .alias("z"),
        )
        .drop("_var_sum")
        .sort("unit")
    )
    return out.with_columns(pl.col("n").cast(pl.Int64))


# --------------------------------------------------------------------------------------------------------------
# 6. Empirical Bayes shrinkage
# --------------------------------------------------------------------------------------------------------------


class ShrinkageResult(NamedTuple):
    shrunk: FloatArray  # posterior mean per input
    se_post: FloatArray  # posterior SD per input
    tau2: float  # DerSimonian–Laird between-unit variance
    mu: float  # random-effects pooled mean
    lo: FloatArray  # posterior interval (default 95%)
    hi: FloatArray


def empirical_bayes_shrinkage(effect: ArrayLike, se: ArrayLike, level: float = 0.95) -> ShrinkageResult:
    """Normal–normal random-effects shrinkage of noisy unit/evaluator effects toward the pooled mean.

    Why: the most extreme raw effects belong to the smallest units (pure noise); shrinking each estimate by
    its reliability tau²/(tau² + se²) gives estimates that can be compared and ranked honestly.

    Model: effect_i ~ N(theta_i, se_i²), theta_i ~ N(mu, tau²). tau² is the DerSimonian–Laird moment
    estimate max(0, (Q - (k - 1)) / (Σw - Σw²/Σw)) with w = 1/se² (the same as statsmodels'
    ``combine_effects(method_re="dl")`` before truncation; written out here because statsmodels exposes it
    only through a full meta-analysis object and, in 0.15, does not truncate a negative estimate at 0). mu is the random-effects weighted mean. The posterior mean is
    mu + (1 - B_i)(effect_i - mu) with B_i = se_i²/(se_i² + tau²); the posterior variance is
    (1 - B_i) se_i² + B_i² Var(mu) (Morris' first-order allowance for estimating mu; the uncertainty in tau²
    is ignored). Intervals are shrunk ± z·se_post.

    Entries with nan effect/se or se <= 0 are excluded from estimation and get nan. With fewer than two
    valid entries tau² is not estimable and everything is nan.
    """
    y, s = np.broadcast_arrays(_float(effect), _float(se))
    ok = np.isfinite(y) & np.isfinite(s) & (s > 0)
    nan = np.full(y.shape, np.nan)
    k = int(ok.sum())
    if k < 2:
        return ShrinkageResult(nan, nan.copy(), math.nan, math.nan, nan.copy(), nan.copy())
    yv, v = y[ok], s[ok] ** 2
    w = 1.0 / v
    mu_fe = np.sum(w * yv) / np.sum(w)
    q = np.sum(w * (yv - mu_fe) ** 2)
    denom = np.sum(w) - np.sum(w**2) / np.sum(w)
    tau2 = float(max(0.0, (q - (k - 1)) / denom)) if denom > 0 else 0.0
    w_re = 1.0 / (v + tau2)
    mu = float(np.sum(w_re * yv) / np.sum(w_re))
    var_mu = 1.0 / float(np.sum(w_re))
    b = v / (v + tau2)
    post_mean = mu + (1.0 - b) * (yv - mu)
    post_sd = np.sqrt((1.0 - b) * v + b**2 * var_mu)
    z = _z(level)
    shrunk, se_post = nan.copy(), nan.copy()
    shrunk[ok], se_post[ok] = post_mean, post_sd
    return ShrinkageResult(shrunk, se_post, tau2, mu, shrunk - z * se_post, shrunk + z * se_post)


# --------------------------------------------------------------------------------------------------------------
# 7. Evaluator effects and linked components
# --------------------------------------------------------------------------------------------------------------


def _strata_columns(covariate_strata: Any) -> list[Any]:
    """One stratum array, or a tuple/list of arrays to be crossed (e.g. (function_level, department))."""
    if isinstance(covariate_strata, (tuple, list)) and covariate_strata and np.ndim(covariate_strata[0]) >= 1:
        return list(covariate_strata)
    return [covariate_strata]


def evaluator_effects(
    score: ArrayLike,
    evaluator: ArrayLike,
    covariate_strata: ArrayLike | Sequence[ArrayLike],
    level: float = 0.95,
) -> pl.DataFrame:
    """Leniency/severity of each evaluator after removing stratum means, with empirical Bayes shrinkage.

    Each score is replaced by its residual from the mean of its stratum (the cross of the given covariates,
    e.g. function level × department); an evaluator's raw effect is the mean residual of the people they
    rated; its se is sigma/sqrt(n) with sigma the pooled residual SD on N - S degrees of freedom (S =
    number of strata, as in an OLS with stratum fixed effects). The raw effects are then shrunk with
    :func:`empirical_bayes_shrinkage`.

    Caveat: an evaluator who alone rates a whole stratum is absorbed by the stratum mean (effect ~ 0);
    effects are only comparable within a connected set of evaluators — see :func:`linked_components`.

    Rows with a null/nan score, evaluator or stratum are ignored. Returns one row per evaluator, sorted:
    ``evaluator, n, raw_effect, se, shrunk, se_post, lo, hi, tau2`` (tau2 is the same for all rows).
    """
    strata = _strata_columns(covariate_strata)
    names = [f"_s{i}" for i in range(len(strata))]
    cols = [_series("score", score, pl.Float64), _series("evaluator", evaluator)]
    cols += [_series(name, values) for name, values in zip(names, strata, strict=True)]
    valid = _is_valid_expr("score") & _is_valid_expr("evaluator")
    for name in names:
        valid = valid & _is_valid_expr(name)
    df = pl.DataFrame(cols).filter(valid)
    df = df.with_columns((pl.col("score") - pl.col("score").mean().over(names)).alias("_resid"))
    n_rows = df.height
    n_strata = df.select(names).n_unique() if n_rows else 0
    dof = n_rows - n_strata
    sigma = math.sqrt(float(df["_resid"].pow(2).sum()) / dof) if dof > 0 else math.nan
    per = (
        df.group_by("evaluator")
        .agg(pl.len().cast(pl.Int64).alias("n"), pl.col("_resid").mean().alias("raw_effect"))
        .sort("evaluator")
        .with_columns((sigma / pl.col("n").cast(pl.Float64).sqrt()).alias("se"))
    )
    shr = empirical_bayes_shrinkage(per["raw_effect"].to_numpy(), per["se"].to_numpy(), level=level)
    return per.with_columns(
        pl.Series("shrunk", shr.shrunk),
        pl.Series("se_post", shr.se_post),
        pl.Series("lo", shr.lo),
        pl.Series("hi", shr.hi),
        pl.lit(shr.tau2, dtype=pl.Float64).alias("tau2"),
    )


def evaluator_pairs_from_assignments(employee: ArrayLike, evaluator: ArrayLike) -> NDArray[Any]:
    """Evaluator pairs linked by a shared employee (second evaluators, employees who changed evaluator).

    From per-row (employee, evaluator) assignments, links every evaluator of an employee to that employee's
    first-sorted evaluator (a star, O(rows) instead of all pairs — enough for connectivity). Returns an
    (m, 2) array for :func:`linked_components`.
    """
    df = pl.DataFrame([_series("employee", employee), _series("evaluator", evaluator)]).drop_nulls().unique()
    first = df.group_by("employee").agg(pl.col("evaluator").min().alias("_first"))
    pairs = df.join(first, on="employee").filter(pl.col("evaluator") != pl.col("_first"))
    return np.asarray(pairs.select("_first", "evaluator").to_numpy())


def linked_components(evaluator_pairs: ArrayLike, evaluators: ArrayLike | None = None) -> pl.DataFrame:
    """Connected components of evaluators linked by shared employees.

    Why: evaluator effects are identified only relative to evaluators connected through common employees
    (like teams in a connected design); comparing effects across components mixes evaluator and unit
    differences. ``evaluator_pairs`` is an (m, 2) array of linked evaluator ids; ``evaluators`` optionally
    lists all evaluators so that isolated ones get their own component. Uses
    ``scipy.sparse.csgraph.connected_components`` (undirected). Component ids are 0..C-1, numbered in order of
    the smallest evaluator id in each component. Returns ``evaluator, component`` sorted by evaluator.
    """
    pairs = np.asarray(evaluator_pairs, dtype=object).reshape(-1, 2)
    pairs = pairs[[a is not None and b is not None for a, b in pairs]] if pairs.size else pairs
    extra = (
        []
        if evaluators is None
        else [e for e in np.asarray(evaluators, dtype=object).ravel() if e is not None]
    )
    nodes_in = list(pairs.ravel()) + extra
    if not nodes_in:
        return pl.DataFrame({"evaluator": [], "component": pl.Series([], dtype=pl.Int64)})
    nodes, inverse = np.unique(np.asarray(nodes_in, dtype=object), return_inverse=True)
    n_edges = pairs.shape[0]
    src, dst = inverse[0 : 2 * n_edges : 2], inverse[1 : 2 * n_edges : 2]
    graph = sparse.coo_matrix((np.ones(n_edges), (src, dst)), shape=(nodes.size, nodes.size)).tocsr()
    _, labels = csgraph.connected_components(graph, directed=False)
    return pl.DataFrame({"evaluator": list(nodes), "component": pl.Series(labels, dtype=pl.Int64)})


# --------------------------------------------------------------------------------------------------------------
# 8. Contingency tables and fairness
# --------------------------------------------------------------------------------------------------------------


def fisher_exact_2x2(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, alternative: str = "two-sided"
) -> tuple[FloatArray, FloatArray]:
    """Fisher's exact test for 2×2 tables [[a, b], [c, d]], vectorised over broadcast arrays.

    Why: with small units the chi-square approximation fails; the exact conditional test is cheap for 2×2.
    Wraps ``scipy.stats.fisher_exact`` per table. Returns ``(odds_ratio, pvalue)`` where odds_ratio is the
    sample odds ratio ad/bc (inf or nan for zero cells, as scipy). Tables with a nan cell give nan.
    """
    arrs = np.broadcast_arrays(_float(a), _float(b), _float(c), _float(d))
    odds = np.full(arrs[0].shape, np.nan)
    pval = np.full(arrs[0].shape, np.nan)
    for idx in np.ndindex(arrs[0].shape):
        cells = [float(x[idx]) for x in arrs]
        if not all(math.isfinite(x) for x in cells):
            continue
        if any(x < 0 or not x.is_integer() for x in cells):
            raise ValueError("2×2 cells must be non-negative integer counts")
        table = np.array(cells, dtype=np.int64).reshape(2, 2)
        res = sps.fisher_exact(table, alternative=alternative)
        odds[idx], pval[idx] = float(res.statistic), float(res.pvalue)
    return odds, pval


class CMHResult(NamedTuple):
    odds_ratio: float  # Mantel–Haenszel common odds ratio
    ci_low: float  # Robins–Breslow–Greenland confidence interval (default 95%)
    ci_high: float
    statistic: float  # Cochran–Mantel–Haenszel chi-square (1 df)
    pvalue: float
    correction: bool  # whether the CMH statistic used the continuity correction
    breslow_day_statistic: float  # Breslow–Day homogeneity chi-square with Tarone's correction
    breslow_day_pvalue: float
    breslow_day_df: int  # informative strata - 1
    crude_odds_ratio: float  # odds ratio of the collapsed (summed) table, for the "overall" view
    n_strata: int  # strata used
    n_dropped: int  # strata dropped because their total was < 2


def _breslow_day_tarone(tables: FloatArray, or_mh: float) -> tuple[float, float, int]:
    """Breslow–Day statistic with Tarone's correction over informative strata (all margins > 0).

    Same formula as statsmodels ``StratifiedTable.test_equal_odds(adjust=True)``, but solved with the
    numerically stable root 2c/(-b - sqrt(b² - 4ac)) so that a pooled OR of exactly 1 (a = 0) works, and
    restricted to strata that carry information about the odds ratio (a zero margin makes the statsmodels
    variance 0/0).
    """
    a11 = tables[:, 0, 0]
    r1 = tables[:, 0, :].sum(axis=1)
    r2 = tables[:, 1, :].sum(axis=1)
    c1 = tables[:, :, 0].sum(axis=1)
    c2 = tables[:, :, 1].sum(axis=1)
    info = (r1 > 0) & (r2 > 0) & (c1 > 0) & (c2 > 0)
    k = int(info.sum())
    if k < 2 or not np.isfinite(or_mh) or or_mh <= 0:
        return math.nan, math.nan, max(k - 1, 0)
    a11, r1, r2, c1 = a11[info], r1[info], r2[info], c1[info]
    # E[a11] under the common OR solves (1 - OR) e² + (OR (r1 + c1) + r2 - c1) e - OR r1 c1 = 0
    qa = 1.0 - or_mh
    qb = or_mh * (r1 + c1) + (r2 - c1)
    qc = -or_mh * r1 * c1
    e11 = 2.0 * qc / (-qb - np.sqrt(qb**2 - 4.0 * qa * qc))
    v11 = 1.0 / (1.0 / e11 + 1.0 / (r1 - e11) + 1.0 / (c1 - e11) + 1.0 / (r2 - c1 + e11))
    stat = float(np.sum((a11 - e11) ** 2 / v11) - np.sum(a11 - e11) ** 2 / np.sum(v11))
    return stat, float(sps.chi2.sf(stat, k - 1)), k - 1


def cmh_test(
    tables: ArrayLike | Sequence[ArrayLike], correction: bool = False, level: float = 0.95
) -> CMHResult:
    """Stratified 2×2 analysis: Mantel–Haenszel common OR, CMH test and Breslow–Day homogeneity test.

    Why: compare groups (e.g. women vs men getting a top rating) within strata such as function level; an
    overall gap can vanish or reverse inside strata (Simpson's paradox), so report both the crude and the
    stratified odds ratio. ``tables`` is a (K, 2, 2) array or list of 2×2 tables [[a, b], [c, d]] (rows =
    groups, columns = outcome yes/no). Strata with total < 2 are dropped (they carry no information and
    break the variance formulas) and counted in ``n_dropped``.

    Wraps ``statsmodels.stats.contingency_tables.StratifiedTable``: ``oddsratio_pooled`` (MH),
    ``oddsratio_pooled_confint`` (Robins–Breslow–Greenland variance) and ``test_null_odds`` (CMH; statsmodels
    defaults to NO continuity correction, whereas R's ``mantelhaen.test`` defaults to ``correct = TRUE``;
    choose with ``correction``). Breslow–Day with Tarone's correction is computed by
    :func:`_breslow_day_tarone` (see there why not ``test_equal_odds``); df = informative strata - 1.
    """
    from statsmodels.stats.contingency_tables import StratifiedTable  # lazy: statsmodels imports pandas

    arr = _float(tables)
    if arr.ndim != 3 or arr.shape[1:] != (2, 2):
        raise ValueError("tables must be a sequence of 2×2 tables, shape (K, 2, 2)")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("table cells must be finite non-negative counts")
    keep = arr.sum(axis=(1, 2)) >= 2
    n_dropped = int((~keep).sum())
    arr = arr[keep]
    crude_tab = arr.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        crude = float(crude_tab[0, 0] * crude_tab[1, 1] / (crude_tab[0, 1] * crude_tab[1, 0]))
    if arr.shape[0] == 0:
        return CMHResult(*(math.nan,) * 5, correction, math.nan, math.nan, 0, crude, 0, n_dropped)
    n = arr.sum(axis=(1, 2))
    num = float(np.sum(arr[:, 0, 0] * arr[:, 1, 1] / n))
    den = float(np.sum(arr[:, 0, 1] * arr[:, 1, 0] / n))
    st = StratifiedTable(np.transpose(arr, (1, 2, 0)))
    if num == 0 or den == 0:
        # MH OR is 0, inf or undefined: the RBG log-scale interval and Breslow–Day do not exist.
        or_mh = math.nan if num == den else (0.0 if num == 0 else math.inf)
        lo = hi = math.nan
    else:
        or_mh = float(st.oddsratio_pooled)
        lo_, hi_ = st.oddsratio_pooled_confint(alpha=1.0 - level)
        lo, hi = float(lo_), float(hi_)
    with np.errstate(divide="ignore", invalid="ignore"):
        cmh = st.test_null_odds(correction=correction)
    bd_stat, bd_p, bd_df = _breslow_day_tarone(arr, or_mh)
    return CMHResult(
        odds_ratio=or_mh,
        ci_low=lo,
        ci_high=hi,
        statistic=float(cmh.statistic),
        pvalue=float(cmh.pvalue),
        correction=correction,
        breslow_day_statistic=bd_stat,
        breslow_day_pvalue=bd_p,
        breslow_day_df=bd_df,
        crude_odds_ratio=crude,
        n_strata=int(arr.shape[0]),
        n_dropped=n_dropped,
    )


def _as_int(x: Any) -> int:
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real) and float(x).is_integer():
        return int(float(x))
    raise ValueError("counts must be integers")


def adverse_impact_ratio(
    count_g: ArrayLike,
    n_g: ArrayLike,
    count_ref: ArrayLike,
    n_ref: ArrayLike,
    threshold: Fraction = Fraction(4, 5),
) -> tuple[FloatArray, BoolArray]:
    """Adverse impact ratio (four-fifths rule): selection rate of a group over that of the reference group.

    ratio = (count_g / n_g) / (count_ref / n_ref); flagged as adverse when ratio < 4/5 *exactly*. The
    comparison is done in integer arithmetic (count_g · n_ref · 5 < 4 · n_g · count_ref), because float
    division can turn an exact 0.8 into 0.7999999999999999 (e.g. 2/3 vs 5/6) and wrongly flag it. The float
    ratio returned is the correctly rounded value of the exact fraction. Undefined ratios (n_g, n_ref or
    count_ref equal to 0) give nan and are not flagged. Vectorised over broadcast integer inputs.
    """
    threshold = Fraction(threshold)
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=object) for x in (count_g, n_g, count_ref, n_ref)))
    ratio = np.full(arrs[0].shape, np.nan)
    flag = np.zeros(arrs[0].shape, dtype=bool)
    for idx in np.ndindex(arrs[0].shape):
        cg, ng, cr, nr = (_as_int(x[idx]) for x in arrs)
        if min(cg, ng, cr, nr) < 0 or cg > ng or cr > nr:
            raise ValueError("counts must satisfy 0 <= count <= n")
        if ng == 0 or nr == 0 or cr == 0:
            continue
        exact = Fraction(cg * nr, ng * cr)
        ratio[idx] = float(exact)
        flag[idx] = exact < threshold
    return ratio, flag


# --------------------------------------------------------------------------------------------------------------
# 10. Differentiation index
# --------------------------------------------------------------------------------------------------------------


class DifferentiationIndex(NamedTuple):
    entropy: FloatArray  # Shannon entropy / ln(K): 0 = everyone the same rating, 1 = uniform over the scale
    modal_share: FloatArray  # share of ratings in the most used category


def differentiation_index(counts_by_category: ArrayLike) -> DifferentiationIndex:
    """How much a manager uses the rating scale: normalised Shannon entropy and modal share.

    Categories are on the last axis (one row per manager); K is the number of categories of the scale
    (pass zero counts for unused categories), so the entropy is normalised by ln K. Entropy is computed
    with ``scipy.special.entr`` (0·ln 0 = 0). A manager with no ratings, or a scale with K < 2, gives nan.
    The index says nothing about whether differentiation is deserved; read it with the unit's n.
    """
    c = _float(counts_by_category)
    if np.any(c < 0):
        raise ValueError("counts must be non-negative")
    k = c.shape[-1]
    total = c.sum(axis=-1)
    ok = np.isfinite(total) & (total > 0)
    safe_total = np.where(ok, total, 1.0)
    p = c / safe_total[..., None]
    if k < 2:
        ent = np.full(total.shape, np.nan)
    else:
        ent = np.where(ok, special.entr(p).sum(axis=-1) / math.log(k), np.nan)
    modal = np.where(ok, np.max(p, axis=-1), np.nan)
    return DifferentiationIndex(np.asarray(ent, dtype=np.float64), np.asarray(modal, dtype=np.float64))


# --------------------------------------------------------------------------------------------------------------
# 11. Gender pay gap
# --------------------------------------------------------------------------------------------------------------


def gender_pay_gap(level_men: ArrayLike, level_women: ArrayLike) -> FloatArray:
    """Gender pay gap (men - women) / men, as a fraction (multiply by 100 for %), vectorised.

    Definition of Directive (EU) 2023/970, Art. 3(1)(c) "pay gap" (difference of average pay levels of
    female and male workers, expressed as a percentage of the average pay level of male workers) and
    Art. 3(1)(d) "median pay gap" (the same with medians): pass means or medians accordingly. Positive =
    women earn less. A men's level <= 0 or nan gives nan.
    """
    m, w = np.broadcast_arrays(_float(level_men), _float(level_women))
    ok = np.isfinite(m) & np.isfinite(w) & (m > 0)
    return np.asarray(np.where(ok, (m - w) / np.where(ok, m, 1.0), np.nan), dtype=np.float64)


class PayGaps(NamedTuple):
    mean_gap: float  # Art. 3(1)(c)
    median_gap: float  # Art. 3(1)(d)
    n_men: int
    n_women: int


def gender_pay_gaps(pay_men: ArrayLike, pay_women: ArrayLike) -> PayGaps:
    """Mean and median gender pay gap from individual pay levels (nan entries ignored).

    See :func:`gender_pay_gap` for the definition; pay must already be on a comparable basis (e.g. gross
    hourly pay). Returns the ns so that small groups can be suppressed by the caller.
    """
    pm, pw = _float(pay_men).ravel(), _float(pay_women).ravel()
    pm, pw = pm[np.isfinite(pm)], pw[np.isfinite(pw)]
    if pm.size == 0 or pw.size == 0:
        return PayGaps(math.nan, math.nan, int(pm.size), int(pw.size))
    mean_gap = float(gender_pay_gap(pm.mean(), pw.mean()))
    median_gap = float(gender_pay_gap(np.median(pm), np.median(pw)))
    return PayGaps(mean_gap, median_gap, int(pm.size), int(pw.size))
