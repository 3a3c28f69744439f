"""Fairness of ratings and rewards: group rates, adverse impact, exact and stratified tests (issue 4).

For each organisation × cycle × outcome × attribute × group, ``marts.fairness`` holds the group's rate with a
Wilson interval, its comparison with a reference group (difference, ratio, adverse impact ratio, exact test,
Benjamini–Hochberg q-value) and, side by side, the same comparison *within* function levels and *within*
departments (Cochran–Mantel–Haenszel common odds ratio with its interval and p-value, Breslow–Day
homogeneity test). ``marts.fairness_strata`` holds the per-stratum rows behind those stratified results, so
an overall gap that vanishes or reverses inside strata can be shown next to it.

Outcomes (``outcomes_for``): every cut-point of the ordinal rating scale ("rated at or above k"), the
policy's lowest outcome, a salary decision of at least one step (policies with a salary decision), any
incidental reward, the policy's ``fairness.award_outcomes`` (an award of some types), a structural raise above
the policy's standard percentage (policies that define one) and, as a continuous outcome, the rewards of the
cycle as a percentage of actual pay (Mann–Whitney test overall, van Elteren test within strata).

Everything is vectorised: people are aggregated once per attribute into count cubes with polars; exact tests
run on whole arrays (:func:`fisher_exact_pvalues`, :func:`mann_whitney_counts`) and so do the stratified ones
(:func:`stratified_odds_ratios`, the grouped form of :func:`models.stats.cmh_test`). The statistics that
``models.stats`` has only per table (Fisher, CMH, adverse impact) are re-expressed here for whole arrays
because the marts need tens of thousands of them; the tests check them against the stats versions.
Rule values (attributes, age bands, reference groups, thresholds, minimum sizes, FDR) come from the policy's
``fairness``, ``metrics`` and ``disclosure`` sections. No function here logs or raises with data values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from models.errors import ConfigError
from models.pay_transparency import PEOPLE_COLUMNS
from models.policy import Policy
from models.stats import adverse_impact_ratio, benjamini_hochberg, wilson_interval

FloatArray = NDArray[np.float64]

STRATA = ("function_level", "department")  # the two stratifications of issue 4, each its own column block
PREFIX = {"function_level": "within_level", "department": "within_department"}
REST = "rest_of_organisation"  # reference of attributes compared with the rest of the organisation (Z-16)
DERIVED = ("age_band", "part_time")
ALL = "all"
# Pooled-window rows of marts.fairness_strata (issue 16: a gap inside one function level too small to show per
# cycle): the complete windows of `calibration_impact.window_cycles` cycles, as the norming review pools
# calibration moves (models.calibration_impact), for these attributes, within this stratification, binary only.
PERIOD_CYCLE, PERIOD_WINDOW = "cycle", "window"
POOLED_ATTRIBUTES = ("gender",)
POOLED_STRATUM = "function_level"
PART_TIME, FULL_TIME = "part_time", "full_time"
REWARD_PCT_DECIMALS = 1  # reward_pct is ranked (and its median taken) at 0.1 percentage point: equal is a tie
RELATIVE_TOLERANCE = 1e-7  # R's fisher.test: tables whose probability is within this factor count as tied
WIDE_WINDOW = 2048  # Fisher tables with a wider pmf window use scipy's tails (fast for large tables)


# --------------------------------------------------------------------------------------------------------------
# Statistics the stats library lacks in vectorised form
# --------------------------------------------------------------------------------------------------------------


def fisher_exact_pvalues(a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike) -> FloatArray:
    """Two-sided Fisher exact p-values of 2×2 tables [[a, b], [c, d]], vectorised over whole arrays.

    Why not :func:`models.stats.fisher_exact_2x2`: it calls ``scipy.stats.fisher_exact`` per table, whose
    hypergeometric tails cost up to ~60 µs each; the fairness marts test tens of thousands of tables. Same
    definition as scipy and R: p is the probability, under the hypergeometric distribution of ``a`` given all
    margins, of every table no more probable than the observed one (relative tolerance 1e-7, as R).

    Method: the pmf is built by its ratio recurrence pmf(k+1)/pmf(k) = (n-k)(K-k) / ((k+1)(M-n-K+k+1)), in
    logs and cumulated per table, on a window of ±(8.5 sd + 26) around the mode, sd = sqrt(m q (1 - q)) of
    the binomial with m = min(n, K) draws and q = max(n, K)/M, whose Bernstein tail bound also holds for the
    hypergeometric (Hoeffding 1963): exp(-t²/(2(sd² + t/3))) < 3e-16 outside, so p is exact to about 1e-15
    absolute. Tables are bucketed by window length and processed as padded 2-D arrays; tables with a window
    over :data:`WIDE_WINDOW` use scipy's hypergeometric tails instead (:func:`_fisher_by_tails`). An observed
    count outside its window means p < 1e-15 and gives 0. A zero margin gives p = 1 (as scipy); a
    nan cell gives nan.
    """
    arrs = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (a, b, c, d)))
    shape = arrs[0].shape
    flat = [x.ravel() for x in arrs]
    finite = np.all([np.isfinite(x) for x in flat], axis=0)
    if np.any(finite & np.any([x < 0 for x in flat], axis=0)):
        raise ValueError("2×2 cells must be non-negative counts")
    aa, bb, cc, dd = (np.where(finite, x, 0.0).astype(np.int64) for x in flat)
    m = aa + bb + cc + dd
    n, k = aa + bb, aa + cc
    informative = finite & (n > 0) & (cc + dd > 0) & (k > 0) & (bb + dd > 0)
    p = np.where(finite, 1.0, np.nan)
    sel = np.flatnonzero(informative)
    if sel.size == 0:
        return p.reshape(shape)
    m, n, k, x = m[sel], n[sel], k[sel], aa[sel]
    lo, hi = np.maximum(0, n + k - m), np.minimum(n, k)
    mode = np.floor((n + 1) * (k + 1) / (m + 2)).astype(np.int64)
    q = np.maximum(n, k) / m
    width = np.ceil(8.5 * np.sqrt(np.minimum(n, k) * q * (1.0 - q))).astype(np.int64) + 26
    start, stop = np.maximum(lo, mode - width), np.minimum(hi, mode + width)
    length = stop - start + 1
    out = np.zeros(sel.size)
    wide = length > WIDE_WINDOW
    if wide.any():
        out[wide] = _fisher_by_tails(m[wide], n[wide], k[wide], x[wide], mode[wide], lo[wide], hi[wide])
    bucket = np.where(wide, -1, np.ceil(np.log(length) / np.log(1.25))).astype(np.int64)
    for b_ in np.unique(bucket[~wide]):
        rows = np.flatnonzero(bucket == b_)
        size = int(length[rows].max())
        kk = start[rows, None] + np.arange(size)[None, :]
        valid = kk <= stop[rows, None]
        nn, kd, mm = n[rows, None], k[rows, None], m[rows, None]
        # log pmf(j + 1) - log pmf(j) for j = kk; only steps inside the window are used.
        step_ok = valid & (kk < stop[rows, None])
        num = np.where(step_ok, (nn - kk) * (kd - kk), 1).astype(np.float64)
        den = np.where(step_ok, (kk + 1) * (mm - nn - kd + kk + 1), 1).astype(np.float64)
        log_pmf = np.zeros(kk.shape)
        log_pmf[:, 1:] = np.cumsum(np.log(num / den), axis=1)[:, :-1]
        log_pmf -= np.max(np.where(valid, log_pmf, -np.inf), axis=1, keepdims=True)
        pmf = np.where(valid, np.exp(log_pmf), 0.0)
        xr = x[rows]
        inside = (xr >= start[rows]) & (xr <= stop[rows])
        at = np.clip(xr - start[rows], 0, size - 1)
        observed = pmf[np.arange(rows.size), at]
        tail = np.sum(np.where(pmf <= observed[:, None] * (1.0 + RELATIVE_TOLERANCE), pmf, 0.0), axis=1)
        out[rows] = np.where(inside, np.minimum(tail / pmf.sum(axis=1), 1.0), 0.0)
    p[sel] = out
    return p.reshape(shape)


def _fisher_by_tails(
    m: NDArray[np.int64],
    n: NDArray[np.int64],
    k: NDArray[np.int64],
    x: NDArray[np.int64],
    mode: NDArray[np.int64],
    lo: NDArray[np.int64],
    hi: NDArray[np.int64],
) -> FloatArray:
    """Fisher p for wide tables: the observed tail plus the far tail beyond the first table on the other side
    of the mode that is no more probable (found by a vectorised binary search), with scipy's hypergeometric
    cdf/sf, which are fast for large tables."""
    threshold = sps.hypergeom.logpmf(x, m, n, k) + math.log1p(RELATIVE_TOLERANCE)

    def small(j: NDArray[np.int64]) -> NDArray[np.bool_]:
        return np.asarray(sps.hypergeom.logpmf(j, m, n, k) <= threshold)

    left, right = mode.copy(), hi + 1  # first j >= mode with pmf(j) <= pmf(x); hi + 1 if none
    while np.any(left < right):
        mid = (left + right) // 2
        ok = small(mid) & (left < right)
        right = np.where(ok, mid, right)
        left = np.where(~ok & (left < right), mid + 1, left)
    first_right = left
    left, right = lo - 1, mode.copy()  # last j <= mode with pmf(j) <= pmf(x); lo - 1 if none
    while np.any(left < right):
        mid = (left + right + 1) // 2
        ok = small(mid) & (left < right)
        left = np.where(ok, mid, left)
        right = np.where(~ok & (left < right), mid - 1, right)
    below = sps.hypergeom.cdf(x, m, n, k) + sps.hypergeom.sf(first_right - 1, m, n, k)
    above = sps.hypergeom.sf(x - 1, m, n, k) + sps.hypergeom.cdf(left, m, n, k)
    return np.asarray(np.minimum(np.where(x <= mode, below, above), 1.0), dtype=np.float64)


def adverse_impact(
    count_g: ArrayLike, n_g: ArrayLike, count_ref: ArrayLike, n_ref: ArrayLike, threshold: Fraction
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """:func:`models.stats.adverse_impact_ratio` for whole arrays: (count_g/n_g) / (count_ref/n_ref), flagged
    below ``threshold`` in exact integer arithmetic (so exactly 0.8 is not adverse).

    Why: the stats version loops with ``Fraction`` (~60 µs per row); the strata mart has tens of thousands of
    rows. Here count_g·n_ref·den < num·n_g·count_ref is evaluated in int64, which is exact while the products
    stay below 2^62 (checked; larger inputs fall back to the stats version); the ratio is the quotient of two
    integers below 2^53, so it is the correctly rounded value of the exact fraction, as in the stats version.
    Undefined ratios (n_g, n_ref or count_ref = 0) give nan and no flag.
    """
    cg, ng, cr, nr = (
        np.asarray(v, dtype=np.int64) for v in np.broadcast_arrays(count_g, n_g, count_ref, n_ref)
    )
    top, bottom = cg * nr, ng * cr
    scale = max(threshold.numerator, threshold.denominator)
    if cg.size and max(int(np.max(top, initial=0)), int(np.max(bottom, initial=0))) * scale >= 2**62:
        return adverse_impact_ratio(cg, ng, cr, nr, threshold)
    defined = (ng > 0) & (nr > 0) & (cr > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(defined, top.astype(np.float64) / bottom.astype(np.float64), np.nan)
    flag = defined & (top * threshold.denominator < threshold.numerator * bottom)
    return np.asarray(ratio, dtype=np.float64), np.asarray(flag, dtype=bool)


def mann_whitney_counts(u: ArrayLike, n1: ArrayLike, n2: ArrayLike, tie_sum: ArrayLike) -> FloatArray:
    """Two-sided Mann–Whitney p-values from U, the group sizes and Σ(t³ - t) over tied values, vectorised.

    The normal approximation with tie and continuity correction of ``scipy.stats.mannwhitneyu(method=
    "asymptotic", use_continuity=True)``: z = (max(U, n1 n2 - U) - n1 n2 / 2 - 1/2) / σ with
    σ² = n1 n2 / 12 · ((N + 1) - Σ(t³ - t) / (N (N - 1))), p = min(1, 2 P(Z > z)). Computing it from U and the
    tie sum lets the marts get U from value counts (one pass over sorted distinct values) instead of ranking
    every person again for every comparison. n1 or n2 of 0 gives nan; everyone tied gives p = 1.
    """
    uu, a, b, t = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (u, n1, n2, tie_sum)))
    big_n = a + b
    ok = (a > 0) & (b > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = a * b / 12.0 * ((big_n + 1.0) - t / (big_n * (big_n - 1.0)))
        z = (np.maximum(uu, a * b - uu) - a * b / 2.0 - 0.5) / np.sqrt(var)
        p = np.minimum(2.0 * sps.norm.sf(z), 1.0)
    p = np.where(var > 0, p, 1.0)
    return np.asarray(np.where(ok, p, np.nan), dtype=np.float64)


def van_elteren(u: ArrayLike, n1: ArrayLike, n2: ArrayLike, tie_sum: ArrayLike) -> tuple[float, float]:
    """Van Elteren's stratified Wilcoxon–Mann–Whitney test from per-stratum U, sizes and tie sums.

    Each stratum's U is weighted by 1/(N_s + 1) (van Elteren 1960, "locally most powerful" weights):
    z = Σ w_s (U_s - n1_s n2_s / 2) / sqrt(Σ w_s² Var(U_s)), with the tie-corrected variance of
    :func:`mann_whitney_counts`; p two-sided, no continuity correction. Strata without both groups carry no
    information and are skipped. Returns (z, p); nan when no stratum is informative or all are tied.
    """
    uu, a, b, t = (np.asarray(x, dtype=np.float64).ravel() for x in (u, n1, n2, tie_sum))
    ok = (a > 0) & (b > 0)
    uu, a, b, t = uu[ok], a[ok], b[ok], t[ok]
    if uu.size == 0:
        return math.nan, math.nan
    big_n = a + b
    w = 1.0 / (big_n + 1.0)
    var = a * b / 12.0 * ((big_n + 1.0) - t / (big_n * (big_n - 1.0)))
    total_var = float(np.sum(w**2 * var))
    if total_var <= 0:
        return math.nan, math.nan
    z = float(np.sum(w * (uu - a * b / 2.0)) / math.sqrt(total_var))
    return z, float(2.0 * sps.norm.sf(abs(z)))


def pooled_z_test(
    count_g: ArrayLike, n_g: ArrayLike, count_ref: ArrayLike, n_ref: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """The pooled two-proportion z-test that four-fifths practice puts beside the ratio, vectorised.

    z = (p_g - p_ref) / sqrt(p (1 - p) (1/n_g + 1/n_ref)) with p the pooled rate, p two-sided from the normal
    distribution: ``statsmodels.stats.proportion.proportions_ztest`` with its defaults (the tests check it).
    Shown beside Fisher's exact test, which stays the flagging test: with small groups the normal
    approximation is poor. An empty group or a pooled rate of 0 or 1 (no variance) gives nan.
    """
    cg, ng, cr, nr = (
        np.asarray(x, dtype=np.float64) for x in np.broadcast_arrays(count_g, n_g, count_ref, n_ref)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (cg + cr) / (ng + nr)
        se = np.sqrt(pooled * (1.0 - pooled) * (1.0 / ng + 1.0 / nr))
        ok = (ng > 0) & (nr > 0) & (se > 0)
        z = np.where(ok, (cg / ng - cr / nr) / np.where(ok, se, 1.0), np.nan)
    return np.asarray(z, dtype=np.float64), np.asarray(2.0 * sps.norm.sf(np.abs(z)), dtype=np.float64)


def woolf_interval(
    a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Woolf (log) interval of the odds ratio ad/bc of 2×2 tables [[a, b], [c, d]], vectorised: exp(log OR ±
    z sqrt(1/a + 1/b + 1/c + 1/d)), as ``statsmodels`` ``Table2x2.oddsratio_confint`` without its 0.5 added to
    zero cells: a zero cell gives nan (no interval rather than one from invented counts). For the per-stratum
    odds ratios of the forest plots."""
    aa, bb, cc, dd = (np.asarray(x, dtype=np.float64) for x in np.broadcast_arrays(a, b, c, d))
    ok = (aa > 0) & (bb > 0) & (cc > 0) & (dd > 0)
    safe = [np.where(ok, x, 1.0) for x in (aa, bb, cc, dd)]
    log_or = np.log(safe[0] * safe[3] / (safe[1] * safe[2]))
    half = float(sps.norm.ppf(0.5 + level / 2.0)) * np.sqrt(sum(1.0 / x for x in safe))
    return (
        np.asarray(np.where(ok, np.exp(log_or - half), np.nan), dtype=np.float64),
        np.asarray(np.where(ok, np.exp(log_or + half), np.nan), dtype=np.float64),
    )


class StratifiedResults(NamedTuple):
    """Per-test arrays of :func:`stratified_odds_ratios` (the fields of :class:`models.stats.CMHResult`)."""

    odds_ratio: FloatArray  # Mantel–Haenszel common odds ratio
    ci_low: FloatArray  # Robins–Breslow–Greenland interval
    ci_high: FloatArray
    pvalue: FloatArray  # CMH chi-square (1 df), no continuity correction: the headline p
    breslow_day_pvalue: FloatArray  # Breslow–Day with Tarone's correction
    n_strata: NDArray[np.int64]  # strata used (>= 2 people)
    n_dropped: NDArray[np.int64]  # strata dropped (< 2 people)
    statistic: FloatArray  # CMH chi-square without continuity correction (statsmodels' default)
    statistic_corrected: FloatArray  # CMH chi-square with it (R's mantelhaen.test default, correct = TRUE)
    pvalue_corrected: FloatArray
    breslow_day_statistic: FloatArray  # Breslow–Day chi-square with Tarone's correction
    breslow_day_df: NDArray[np.int64]  # its degrees of freedom: informative strata - 1


def reference_cells(rest: pl.Expr, size: str) -> list[pl.Expr]:
    """A stratum's reference size `_rn` and count `_rc` beside the group's (`size`, `count`): the reference
    group's own (`_rn`, `_rc`), or for "the rest of the organisation" (`rest`) the stratum total (`_tn`, `_tc`)
    minus the group. Shared by the mart and the organisation release, which recomputes over published strata."""
    return [
        pl.when(rest).then(pl.col("_tn") - pl.col(size)).otherwise(pl.col("_rn").fill_null(0)).alias("_rn"),
        pl.when(rest)
        .then(pl.col("_tc") - pl.col("count"))
        .otherwise(pl.col("_rc").fill_null(0))
        .alias("_rc"),
    ]


def stratified_odds_ratios(
    test: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike, d: ArrayLike, n_tests: int, level: float = 0.95
) -> StratifiedResults:
    """:func:`models.stats.cmh_test` for many stratified 2×2 analyses at once.

    One input row per stratum of a test: ``test`` is its index in ``0..n_tests-1`` and [[a, b], [c, d]]
    its table. Why a grouped version: ``cmh_test`` builds a statsmodels ``StratifiedTable`` per call (about
    3 ms); the fairness marts run thousands of stratified comparisons on a million people. The formulas are
    those of ``cmh_test`` (and of statsmodels / R ``mantelhaen.test(correct = FALSE)``), summed per test with
    ``np.bincount``: strata with fewer than 2 people are dropped and counted; MH OR = Σ(ad/n) / Σ(bc/n)
    (0, inf or nan when a sum is 0, and then no interval); the Robins–Breslow–Greenland variance of log OR;
    the CMH statistic (Σa - ΣE[a])² / ΣVar[a]; and Breslow–Day with Tarone's correction over strata with all
    margins positive (nan with fewer than 2 such strata). The tests check every field against ``cmh_test``.
    """
    idx = np.asarray(test, dtype=np.int64)
    aa, bb, cc, dd = (np.asarray(x, dtype=np.float64) for x in (a, b, c, d))
    n = aa + bb + cc + dd
    keep = n >= 2
    n_dropped = np.bincount(idx[~keep], minlength=n_tests)
    n_strata = np.bincount(idx[keep], minlength=n_tests)
    idx, aa, bb, cc, dd, n = idx[keep], aa[keep], bb[keep], cc[keep], dd[keep], n[keep]

    def total(w: FloatArray) -> FloatArray:
        return np.bincount(idx, weights=w, minlength=n_tests).astype(np.float64)

    r, s = aa * dd / n, bb * cc / n
    p_, q_ = (aa + dd) / n, (bb + cc) / n
    num, den = total(r), total(s)
    with np.errstate(divide="ignore", invalid="ignore"):
        or_mh = np.where((num == 0) & (den == 0), np.nan, num / den)
        both = (num > 0) & (den > 0)
        var = (
            total(p_ * r) / (2 * num**2)
            + total(p_ * s + q_ * r) / (2 * num * den)
            + total(q_ * s) / (2 * den**2)
        )
        z = float(sps.norm.ppf(0.5 + level / 2.0))
        half = z * np.sqrt(var)
        ci_low = np.where(both, np.exp(np.log(or_mh) - half), np.nan)
        ci_high = np.where(both, np.exp(np.log(or_mh) + half), np.nan)
        r1, r2, c1, c2 = aa + bb, cc + dd, aa + cc, bb + dd
        expected = total(r1 * c1 / n)
        variance = total(r1 * r2 * c1 * c2 / (n**2 * (n - 1)))
        deviation = np.abs(total(aa) - expected)
        statistic = np.where(variance > 0, deviation**2 / variance, np.nan)
        pvalue = np.where(variance > 0, sps.chi2.sf(statistic, 1), np.nan)
        # Continuity-corrected (|Σa - ΣE[a]| - 1/2)², as R's mantelhaen.test(correct = TRUE) and statsmodels'
        # test_null_odds(correction=True); R does not floor at zero, nor do we.
        corrected = np.where(variance > 0, (deviation - 0.5) ** 2 / variance, np.nan)
        pvalue_corrected = np.where(variance > 0, sps.chi2.sf(corrected, 1), np.nan)
        # Breslow–Day (Tarone) over informative strata, with the stable root of the quadratic for E[a].
        info = (r1 > 0) & (r2 > 0) & (c1 > 0) & (c2 > 0)
        k = np.bincount(idx[info], minlength=n_tests)
        ok_test = (k >= 2) & np.isfinite(or_mh) & (or_mh > 0)
        use = info & ok_test[idx]
        orr = or_mh[idx]
        qa, qb, qc = 1.0 - orr, orr * (r1 + c1) + (r2 - c1), -orr * r1 * c1
        e11 = 2.0 * qc / (-qb - np.sqrt(qb**2 - 4.0 * qa * qc))
        v11 = 1.0 / (1.0 / e11 + 1.0 / (r1 - e11) + 1.0 / (c1 - e11) + 1.0 / (r2 - c1 + e11))
        zero = np.zeros_like(aa)
        dev = np.where(use, aa - e11, zero)
        vv = np.where(use, v11, zero)
        bd = total(np.where(use, dev**2 / np.where(use, vv, 1.0), zero)) - total(dev) ** 2 / total(vv)
        bd_p = np.where(ok_test, sps.chi2.sf(bd, np.maximum(k - 1, 1)), np.nan)
        bd = np.where(ok_test, bd, np.nan)
    return StratifiedResults(
        odds_ratio=np.asarray(or_mh, dtype=np.float64),
        ci_low=np.asarray(ci_low, dtype=np.float64),
        ci_high=np.asarray(ci_high, dtype=np.float64),
        pvalue=np.asarray(pvalue, dtype=np.float64),
        breslow_day_pvalue=np.asarray(bd_p, dtype=np.float64),
        n_strata=n_strata.astype(np.int64),
        n_dropped=n_dropped.astype(np.int64),
        statistic=np.asarray(statistic, dtype=np.float64),
        statistic_corrected=np.asarray(corrected, dtype=np.float64),
        pvalue_corrected=np.asarray(pvalue_corrected, dtype=np.float64),
        breslow_day_statistic=np.asarray(bd, dtype=np.float64),
        breslow_day_df=np.maximum(k - 1, 0).astype(np.int64),
    )


# --------------------------------------------------------------------------------------------------------------
# Configuration from the policy
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One outcome compared between groups. Binary outcomes have a count; the continuous one a mean."""

    code: str
    kind: str  # "binary" | "continuous"
    favourable: bool  # True when a higher rate / mean is better for the group
    label: dict[str, str]  # short label (nl, en) for tables
    phrase_en: str  # "received an incidental reward"
    verb_nl: str  # "kregen"
    rest_nl: str  # "een incidentele beloning"
    amounts: bool = False  # money-derived: publishable from disclosure.min_group_size_amounts
    award_types: tuple[str, ...] = ()  # award outcomes: received an award of one of these types


@dataclass(frozen=True)
class FairnessConfig:
    attributes: tuple[str, ...]
    age_edges: tuple[int, ...]
    part_time_below: float
    reference_groups: dict[str, str]
    reference_min_share: float
    compare_with_organisation: frozenset[str]
    threshold: Fraction
    level: float
    fdr: float
    min_n_flag: int
    practical_effect: float
    min_group_size: int
    min_group_size_amounts: int
    ignored_attributes: tuple[str, ...] = field(default=())


def _fairness(policy: Policy, name: str) -> Any:
    value = getattr(policy.typed.fairness, name)
    if value is None:
        raise ConfigError(f"policy {policy.id} lacks fairness.{name}, which the fairness marts need")
    return value


def fairness_config(
    policy: Policy, extra_attributes: Sequence[str] = (), available: Sequence[str] | None = None
) -> FairnessConfig:
    """The policy's fairness settings; ``extra_attributes`` come from calibra.yaml (organisation).

    ``available`` lists the columns the evaluations frame carries: a requested attribute that is neither
    derived nor available is left out and reported in ``ignored_attributes`` (names only, no data).
    """
    wanted = list(dict.fromkeys([*_fairness(policy, "attributes"), *extra_attributes]))
    usable = [a for a in wanted if a in DERIVED or available is None or a in available]
    edges = tuple(int(e) for e in _fairness(policy, "age_bands"))
    if list(edges) != sorted(set(edges)):
        raise ConfigError(f"policy {policy.id}: fairness.age_bands must be strictly increasing ages")
    threshold = Fraction(str(_fairness(policy, "adverse_impact_threshold")))
    return FairnessConfig(
        attributes=tuple(usable),
        age_edges=edges,
        part_time_below=float(_fairness(policy, "part_time_below_fte")),
        reference_groups={str(k): str(v) for k, v in (policy.typed.fairness.reference_groups or {}).items()},
        reference_min_share=float(_fairness(policy, "reference_min_share")),
        compare_with_organisation=frozenset(policy.typed.fairness.compare_with_organisation or ()),
        threshold=threshold,
        level=float(_fairness(policy, "confidence_level")),
        # defaults are the schema's (models.policy.Metrics); min_n_flag unset is the minimum group size
        fdr=float(policy.typed.metrics.fdr),
        min_n_flag=int(policy.typed.metrics.min_n_flag or policy.min_group_size),
        practical_effect=float(policy.typed.metrics.practical_effect),
        min_group_size=policy.min_group_size,
        min_group_size_amounts=policy.min_group_size_amounts,
        ignored_attributes=tuple(a for a in wanted if a not in usable),
    )


def _labels(policy: Policy, codes: Sequence[str], lang: str, joiner: str) -> str:
    by_code = {r.code: r.label.get(lang, r.code) for r in policy.ratings}
    return joiner.join(by_code.get(c, c) for c in codes)


def outcomes_for(policy: Policy) -> list[Outcome]:
    """The outcomes a policy defines, in a fixed order (no rating code or percentage is hard-coded).

    Cut-points of the rating scale, the lowest outcome, the salary step (policies with ``salary_decision``),
    any incidental reward (policies with incidental award types), each ``fairness.award_outcomes`` entry
    (received an award of the listed types), the structural raise above
    ``rating_scale.standard_structural_pct`` (policies that set it) and the reward percentage."""
    out: list[Outcome] = []
    for level in policy.ratings[1:]:
        nl, en = level.label.get("nl", level.code), level.label.get("en", level.code)
        out.append(
            Outcome(
                code=f"rating_at_least_{level.code}",
                kind="binary",
                favourable=True,
                label={"nl": f"Beoordeling {nl} of hoger", "en": f"Rated {en} or higher"},
                phrase_en=f"were rated {en} or higher",
                verb_nl="werden",
                rest_nl=f"beoordeeld als {nl} of hoger",
            )
        )
    lowest_nl = _labels(policy, policy.lowest_outcome, "nl", " of ")
    lowest_en = _labels(policy, policy.lowest_outcome, "en", " or ")
    out.append(
        Outcome(
            code="lowest_rating",
            kind="binary",
            favourable=False,
            label={"nl": f"Laagste beoordeling ({lowest_nl})", "en": f"Lowest rating ({lowest_en})"},
            phrase_en=f"were rated {lowest_en}",
            verb_nl="werden",
            rest_nl=f"beoordeeld als {lowest_nl}",
        )
    )
    if _salary_steps(policy):
        out.append(
            Outcome(
                code="salary_step",
                kind="binary",
                favourable=True,
                label={
                    "nl": "Salarisbeslissing van minstens één trap",
                    "en": "Salary decision of at least one step",
                },
                phrase_en="received a salary decision of at least one step",
                verb_nl="kregen",
                rest_nl="een salarisbeslissing van minstens één trap",
            )
        )
    if any(a.incidental for a in policy.award_types):
        out.append(
            Outcome(
                code="incidental_reward",
                kind="binary",
                favourable=True,
                label={"nl": "Incidentele beloning", "en": "Incidental reward"},
                phrase_en="received an incidental reward",
                verb_nl="kregen",
                rest_nl="een incidentele beloning",
            )
        )
    for spec in policy.typed.fairness.award_outcomes or ():
        label, phrase = spec.get("label", {}), spec.get("phrase", {})
        code = str(spec["code"])
        out.append(
            Outcome(
                code=code,
                kind="binary",
                favourable=True,
                label={"nl": str(label.get("nl", code)), "en": str(label.get("en", code))},
                phrase_en=f"received {phrase.get('en', code)}",
                verb_nl="kregen",
                rest_nl=str(phrase.get("nl", code)),
                award_types=tuple(str(t) for t in spec["award_types"]),
            )
        )
    standard = policy.typed.rating_scale.standard_structural_pct
    if standard is not None:
        pct = f"{float(standard):g}"
        out.append(
            Outcome(
                code="structural_above_standard",
                kind="binary",
                favourable=True,
                label={"nl": f"Structurele verhoging boven {pct}%", "en": f"Structural raise above {pct}%"},
                phrase_en=f"received a structural raise above the standard {pct}%",
                verb_nl="kregen",
                rest_nl=f"een structurele verhoging boven de standaard van {pct.replace('.', ',')}%",
            )
        )
    if policy.award_types:
        out.append(
            Outcome(
                code="reward_pct",
                kind="continuous",
                favourable=True,
                label={"nl": "Beloning in % van het salaris", "en": "Reward as % of salary"},
                phrase_en="received rewards worth on average",
                verb_nl="kregen",
                rest_nl="gemiddeld beloningen ter waarde van",
                amounts=True,
            )
        )
    codes = [o.code for o in out]
    if len(set(codes)) != len(codes):
        raise ConfigError(f"policy {policy.id}: fairness.award_outcomes repeats an outcome code")
    return out


def _salary_steps(policy: Policy) -> dict[int, int]:
    values = (policy.section("salary_decision") or {}).get("values") or []
    return {int(v["code"]): int(v.get("steps", v["code"])) for v in values}


def age_band_labels(edges: Sequence[int]) -> list[str]:
    """Labels of the bands cut at ``edges``: [30, 40] -> ["<30", "30-39", "40+"]."""
    if not edges:
        return [ALL]
    labels = [f"<{edges[0]}"]
    labels += [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(edges)]
    return [*labels, f"{edges[-1]}+"]


# --------------------------------------------------------------------------------------------------------------
# People: one row per evaluated employee with attributes, strata and outcome values
# --------------------------------------------------------------------------------------------------------------


def _outcome_column(code: str) -> str:
    return f"o:{code}"


def person_frame(
    people: pl.DataFrame, policy: Policy, config: FairnessConfig, outcomes: Sequence[Outcome]
) -> pl.DataFrame:
    """One organisation's people (rows of :func:`models.pay_transparency.people_frame`): cycle, strata,
    attribute columns ``a:<attr>`` and outcomes ``o:<code>``.

    An outcome is null for people outside its population: rating outcomes, the incidental reward and the
    reward percentage need a rating (people without one, e.g. long chosen leave under Z-11, get no reward
    decision); the salary step needs a salary decision; the structural raise above the standard excludes
    people at the maximum of their scale (Z-3: no raise possible) and uses the structural award's pct, or the
    rating's policy pct when the export has no structural award; the reward percentage needs pay
    (annual_salary × fte > 0) and is the EUR value of the cycle's rewards over that pay, in percent.
    """
    codes = policy.rating_codes
    index = pl.col("rating").replace_strict(
        {c: i for i, c in enumerate(codes)}, default=None, return_dtype=pl.Int64
    )
    frame = people.with_columns(index.alias("_idx"))
    rated = pl.col("_idx").is_not_null()
    columns: list[pl.Expr] = []
    for outcome in outcomes:
        name = _outcome_column(outcome.code)
        if outcome.code.startswith("rating_at_least_"):
            k = codes.index(outcome.code.removeprefix("rating_at_least_"))
            columns.append(pl.when(rated).then(pl.col("_idx") >= k).alias(name))
        elif outcome.code == "lowest_rating":
            columns.append(pl.when(rated).then(pl.col("rating").is_in(policy.lowest_outcome)).alias(name))
        elif outcome.code == "salary_step":
            steps = pl.col("salary_decision").replace_strict(
                _salary_steps(policy), default=None, return_dtype=pl.Int64
            )
            columns.append(pl.when(steps.is_not_null()).then(steps >= 1).alias(name))
        elif outcome.code == "incidental_reward":
            columns.append(pl.when(rated).then(pl.col("incidental").fill_null(False)).alias(name))
        elif outcome.award_types:
            columns.append(pl.when(rated).then(pl.col(f"award:{outcome.code}").fill_null(False)).alias(name))
        elif outcome.code == "structural_above_standard":
            standard = float(policy.typed.rating_scale.standard_structural_pct or 0.0)
            by_rating = {
                r.code: float(r.structural_pct) for r in policy.ratings if r.structural_pct is not None
            }
            rating_pct = pl.col("rating").replace_strict(by_rating, default=None, return_dtype=pl.Float64)
            pct = pl.coalesce(pl.col("structural_pct"), rating_pct)
            eligible = rated & ~pl.col("at_scale_maximum").fill_null(False)
            columns.append(pl.when(eligible & pct.is_not_null()).then(pct > standard).alias(name))
        elif outcome.code == "reward_pct":
            value = pl.col("variable") / pl.col("pay") * 100.0
            columns.append(pl.when(rated & (pl.col("pay") > 0)).then(value).alias(name))
    attributes: list[pl.Expr] = []
    for attr in config.attributes:
        if attr == "age_band":
            age = pl.col("cycle") - pl.col("birth_year")
            band = (
                pl.sum_horizontal([(age >= e).cast(pl.Int64) for e in config.age_edges])
                if config.age_edges
                else pl.lit(0)
            )
            labels = dict(enumerate(age_band_labels(config.age_edges)))
            expr: pl.Expr = pl.when(age.is_not_null()).then(
                band.replace_strict(labels, return_dtype=pl.String)
            )
        elif attr == "part_time":
            expr = (
                pl.when(pl.col("fte").is_null())
                .then(None)
                .when(pl.col("fte") < config.part_time_below)
                .then(pl.lit(PART_TIME))
                .otherwise(pl.lit(FULL_TIME))
            )
        else:
            expr = pl.col(attr).cast(pl.String)
        attributes.append(expr.alias(f"a:{attr}"))
    return frame.select(
        "cycle",
        pl.col("function_level").cast(pl.String),
        pl.col("department").cast(pl.String),
        *attributes,
        *columns,
    )


GENDER = "gender"


def small_other_categories(
    persons: pl.DataFrame, outcomes: Sequence[Outcome], compared: Sequence[str], k: int
) -> pl.DataFrame:
    """(cycle, category) of the gender categories outside ``compared`` (women and men) that the organisation
    release leaves out of a cycle (models.disclosure.recode.small_groups, decided per cycle): fewer than k
    people in some outcome's population, or for a binary outcome fewer than k with or without it."""
    column = f"a:{GENDER}"
    if column not in persons.columns:
        return pl.DataFrame(schema={"cycle": pl.Int64, "category": pl.String})
    others = persons.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(list(compared)))
    small: list[pl.Expr] = []
    for o in outcomes:
        value = pl.col(_outcome_column(o.code))
        n = value.is_not_null().sum()
        if o.kind == "binary":
            yes = value.cast(pl.Int64).sum()
            small.append((n > 0) & ((n < k) | (yes < k) | (n - yes < k)))
        else:
            small.append((n > 0) & (n < k))
    if not small:
        return pl.DataFrame(schema={"cycle": pl.Int64, "category": pl.String})
    return (
        others.group_by("cycle", pl.col(column).alias("category"))
        .agg(pl.any_horizontal(small).alias("_small"))
        .filter(pl.col("_small"))
        .select(pl.col("cycle").cast(pl.Int64), "category")
    )


def without_small_others(
    persons: pl.DataFrame, outcomes: Sequence[Outcome], compared: Sequence[str], k: int
) -> pl.DataFrame:
    """``persons`` with the people of a small gender category outside ``compared`` (:func:`small_other_categories`)
    taken out of every attribute but gender, in the cycles where it is small: the organisation release leaves
    that category out of the women-versus-men comparison, and a total of another attribute that still held
    them would give it back by subtraction (total − women − men; docs/privacy.md). Their gender rows stay so
    that the release can see and say what it leaves out ("excluding n < k others")."""
    left_out = small_other_categories(persons, outcomes, compared, k)
    if left_out.height == 0:
        return persons
    column = f"a:{GENDER}"
    flagged = persons.join(
        left_out.with_columns(pl.lit(True).alias("_left_out")),
        left_on=[pl.col("cycle").cast(pl.Int64), column],
        right_on=["cycle", "category"],
        how="left",
    )
    out = pl.col("_left_out").fill_null(False)
    attributes = [c for c in persons.columns if c.startswith("a:") and c != column]
    return flagged.with_columns(
        [pl.when(out).then(None).otherwise(pl.col(c)).alias(c) for c in attributes]
    ).select(persons.columns)


# --------------------------------------------------------------------------------------------------------------
# Count cubes and reference groups
# --------------------------------------------------------------------------------------------------------------

TEST_KEYS = ["cycle", "outcome", "attribute"]


CUBE_SCHEMA: dict[str, Any] = {
    "cycle": pl.Int64,
    "outcome": pl.String,
    "attribute": pl.String,
    "group_value": pl.String,
    "function_level": pl.String,
    "department": pl.String,
}


def _cubes(
    persons: pl.DataFrame, attributes: Sequence[str], outcomes: Sequence[Outcome]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The two count cubes everything else is computed from, built in one parallel polars collect.

    Binary: per cycle × attribute × group × function level × department × outcome, ``n`` (people in the
    outcome's population) and ``count`` (with the outcome); rows with n = 0 are left out.
    Continuous: the same cells split by ``value`` (rounded to :data:`REWARD_PCT_DECIMALS`), with ``cnt`` and
    the sum and sum of squares of the exact values.
    """
    binary = [o for o in outcomes if o.kind == "binary"]
    continuous = [o for o in outcomes if o.kind == "continuous"]
    lazy = persons.lazy()
    queries: list[pl.LazyFrame] = []
    for attr in attributes:
        col = f"a:{attr}"
        base = lazy.filter(pl.col(col).is_not_null())
        if binary:
            agg = base.group_by(["cycle", col, "function_level", "department"]).agg(
                *[pl.col(_outcome_column(o.code)).count().alias(f"n:{o.code}") for o in binary],
                *[pl.col(_outcome_column(o.code)).sum().alias(f"c:{o.code}") for o in binary],
            )
            queries.append(
                pl.concat(
                    [
                        agg.select(
                            "cycle",
                            pl.lit(o.code).alias("outcome"),
                            pl.lit(attr).alias("attribute"),
                            pl.col(col).alias("group_value"),
                            "function_level",
                            "department",
                            pl.col(f"n:{o.code}").cast(pl.Int64).alias("n"),
                            pl.col(f"c:{o.code}").cast(pl.Int64).alias("count"),
                        ).filter(pl.col("n") > 0)
                        for o in binary
                    ]
                )
            )
    n_binary = len(queries)
    for o in continuous:
        value = pl.col(_outcome_column(o.code))
        for attr in attributes:
            col = f"a:{attr}"
            queries.append(
                lazy.filter(pl.col(col).is_not_null() & value.is_not_null())
                .group_by(
                    [
                        "cycle",
                        col,
                        "function_level",
                        "department",
                        value.round(REWARD_PCT_DECIMALS).alias("value"),
                    ]
                )
                .agg(
                    pl.len().cast(pl.Int64).alias("cnt"),
                    value.sum().alias("_sum"),
                    (value**2).sum().alias("_sumsq"),
                )
                .select(
                    "cycle",
                    pl.lit(o.code).alias("outcome"),
                    pl.lit(attr).alias("attribute"),
                    pl.col(col).alias("group_value"),
                    "function_level",
                    "department",
                    "value",
                    "cnt",
                    "_sum",
                    "_sumsq",
                )
            )
    frames = pl.collect_all(queries) if queries else []
    empty_b = pl.DataFrame(schema={**CUBE_SCHEMA, "n": pl.Int64, "count": pl.Int64})
    empty_c = pl.DataFrame(
        schema={**CUBE_SCHEMA, "value": pl.Float64, "cnt": pl.Int64, "_sum": pl.Float64, "_sumsq": pl.Float64}
    )
    b = pl.concat(frames[:n_binary]) if n_binary else empty_b
    c = pl.concat(frames[n_binary:]) if len(frames) > n_binary else empty_c
    return b, c


def binary_cube(
    persons: pl.DataFrame, attributes: Sequence[str], outcomes: Sequence[Outcome]
) -> pl.DataFrame:
    """The binary count cube of :func:`_cubes` alone (cycle × attribute × group × function level ×
    department × outcome: n, count), for callers that compare group rates with other tools."""
    return _cubes(persons, attributes, [o for o in outcomes if o.kind == "binary"])[0]


_binary_cube = binary_cube  # the name benchmarks/ used before the cubes were built together


def _weighted_median(cube: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Median of ``value`` per key from counts (mean of the two middle values for an even count)."""
    h = (
        cube.group_by([*keys, "value"])
        .agg(pl.col("cnt").sum())
        .sort([*keys, "value"])
        .with_columns(
            pl.col("cnt").cum_sum().over(keys).alias("_cum"), pl.col("cnt").sum().over(keys).alias("_n")
        )
    )
    low = pl.col("value").filter(pl.col("_cum") >= (pl.col("_n") + 1) // 2).first()
    high = pl.col("value").filter(pl.col("_cum") >= pl.col("_n") // 2 + 1).first()
    return h.group_by(keys).agg(((low + high) / 2.0).alias("median"))


def _choose_reference(groups: pl.DataFrame, config: FairnessConfig) -> pl.DataFrame:
    """Reference group per cycle × outcome × attribute from per-group n and ``favour`` (higher = better off).

    Order: the configured group (``fairness.reference_groups``) when present; else the most favoured large
    group (n >= disclosure.min_group_size and >= reference_min_share of the people compared; ties: larger n,
    then name); else the largest group. Attributes in ``compare_with_organisation`` get :data:`REST`.
    """
    configured = pl.DataFrame(
        {"attribute": list(config.reference_groups), "_configured": list(config.reference_groups.values())},
        schema={"attribute": pl.String, "_configured": pl.String},
    )
    ranked = (
        groups.with_columns(pl.col("n").sum().over(TEST_KEYS).alias("_total"))
        .join(configured, on="attribute", how="left")
        .with_columns(
            pl.when(pl.col("group_value") == pl.col("_configured"))
            .then(0)
            .when(
                (pl.col("n") >= config.min_group_size)
                & (pl.col("n") >= config.reference_min_share * pl.col("_total"))
            )
            .then(1)
            .otherwise(2)
            .alias("_priority")
        )
        .with_columns(
            pl.when(pl.col("_priority") == 2)
            .then(-pl.col("n").cast(pl.Float64))
            .otherwise(-pl.col("favour").fill_nan(None).fill_null(-math.inf))
            .alias("_key")
        )
        .sort([*TEST_KEYS, "_priority", "_key", "n", "group_value"], descending=[False] * 5 + [True, False])
    )
    chosen = (
        ranked.group_by(TEST_KEYS, maintain_order=True)
        .first()
        .select(*TEST_KEYS, pl.col("group_value").alias("reference_group"))
    )
    return chosen.with_columns(
        pl.when(pl.col("attribute").is_in(list(config.compare_with_organisation)))
        .then(pl.lit(REST))
        .otherwise(pl.col("reference_group"))
        .alias("reference_group")
    )


def _with_reference_counts(rows: pl.DataFrame, keys: list[str], sums: Sequence[str]) -> pl.DataFrame:
    """Add ``reference_<s>`` for each summed column: the reference group's value, or total minus own (REST)."""
    ref = rows.select(
        *keys, pl.col("group_value").alias("reference_group"), *[pl.col(s).alias(f"_r:{s}") for s in sums]
    )
    totals = rows.group_by(keys).agg(*[pl.col(s).sum().alias(f"_t:{s}") for s in sums])
    out = rows.join(ref, on=[*keys, "reference_group"], how="left").join(totals, on=keys, how="left")
    rest = pl.col("reference_group") == REST
    return out.with_columns(
        *[
            pl.when(rest)
            .then(pl.col(f"_t:{s}") - pl.col(s))
            .otherwise(pl.col(f"_r:{s}").fill_null(0))
            .alias(f"reference_{s}")
            for s in sums
        ]
    ).drop([f"_r:{s}" for s in sums] + [f"_t:{s}" for s in sums])


# --------------------------------------------------------------------------------------------------------------
# Rank sums for the continuous outcome (Mann–Whitney overall, van Elteren within strata)
# --------------------------------------------------------------------------------------------------------------


def _rank_sums(cube: pl.DataFrame, references: pl.DataFrame, stratum_type: str) -> pl.DataFrame:
    """U, n1, n2 and tie sum of each group against its reference, per stratum (or overall for ALL).

    From counts of distinct values, in one pass over the histogram: a group's people at value v gain, each,
    the number of reference people below v plus half of those at v (U); the tie sum is Σ(t³ - t) over the
    values of group ∪ reference, t = count_g(v) + count_ref(v). The reference's cumulative counts are taken
    once per stratum; for :data:`REST` (everyone else) they are the stratum's minus the group's own, and the
    tie sum is the stratum's.
    """
    stratum = pl.lit(ALL) if stratum_type == ALL else pl.col(stratum_type)
    part = [*TEST_KEYS, "stratum"]
    hist = (
        cube.group_by([*TEST_KEYS, stratum.alias("stratum"), "group_value", "value"])
        .agg(pl.col("cnt").sum())
        .join(references, on=TEST_KEYS, how="inner")
    )
    every = (
        hist.group_by([*part, "value"])
        .agg(pl.col("cnt").sum())
        .sort([*part, "value"])
        .with_columns((pl.col("cnt").cum_sum().over(part) - pl.col("cnt")).alias("below_all"))
        .rename({"cnt": "c_all"})
    )
    ref = (
        every.select(*part, "value")
        .join(
            hist.filter(pl.col("group_value") == pl.col("reference_group")).select(*part, "value", "cnt"),
            on=[*part, "value"],
            how="left",
        )
        .with_columns(pl.col("cnt").fill_null(0))
        .sort([*part, "value"])
        .with_columns((pl.col("cnt").cum_sum().over(part) - pl.col("cnt")).alias("below_ref"))
        .rename({"cnt": "c_ref"})
    )
    per_part = (
        every.group_by(part)
        .agg(
            pl.col("c_all").sum().alias("n_all"),
            (pl.col("c_all").cast(pl.Float64) ** 3 - pl.col("c_all")).sum().alias("tie_all"),
        )
        .join(
            ref.group_by(part).agg(
                pl.col("c_ref").sum().alias("n_ref"),
                (pl.col("c_ref").cast(pl.Float64) ** 3 - pl.col("c_ref")).sum().alias("tie_ref"),
            ),
            on=part,
        )
    )
    rest = pl.col("reference_group") == REST
    c_r = pl.when(rest).then(pl.col("c_all") - pl.col("cnt")).otherwise(pl.col("c_ref"))
    b_r = pl.when(rest).then(pl.col("below_all") - pl.col("below_g")).otherwise(pl.col("below_ref"))
    both = (pl.col("cnt") + pl.col("c_ref")).cast(pl.Float64)
    groups = (
        hist.filter(pl.col("group_value") != pl.col("reference_group"))
        .sort([*part, "group_value", "value"])
        .with_columns((pl.col("cnt").cum_sum().over([*part, "group_value"]) - pl.col("cnt")).alias("below_g"))
        .join(every, on=[*part, "value"], how="left")
        .join(ref, on=[*part, "value"], how="left")
        .group_by([*part, "group_value", "reference_group"])
        .agg(
            (pl.col("cnt") * (b_r + 0.5 * c_r)).sum().cast(pl.Float64).alias("u"),
            pl.col("cnt").sum().alias("n1"),
            (both**3 - both - (pl.col("c_ref").cast(pl.Float64) ** 3 - pl.col("c_ref")))
            .sum()
            .alias("_tie_part"),
        )
        .join(per_part, on=part, how="left")
    )
    return groups.select(
        *part,
        "group_value",
        "u",
        "n1",
        pl.when(rest).then(pl.col("n_all") - pl.col("n1")).otherwise(pl.col("n_ref")).alias("n2"),
        pl.when(rest)
        .then(pl.col("tie_all"))
        .otherwise(pl.col("tie_ref") + pl.col("_tie_part"))
        .cast(pl.Float64)
        .alias("tie_sum"),
    )


# --------------------------------------------------------------------------------------------------------------
# Sentences for the meeting
# --------------------------------------------------------------------------------------------------------------

_GROUP_PHRASES: dict[str, dict[str, tuple[str, str]]] = {
    "gender": {
        "F": ("Vrouwen", "Women"),
        "M": ("Mannen", "Men"),
        "X": ("Personen met genderregistratie X", "People with gender X"),
    },
    "part_time": {
        PART_TIME: ("Deeltijdse medewerkers", "Part-time employees"),
        FULL_TIME: ("Voltijdse medewerkers", "Full-time employees"),
    },
    "employment_type": {
        "statutair": ("Statutaire medewerkers", "Statutory staff"),
        "contractueel": ("Contractuele medewerkers", "Contract staff"),
        "uitzendkracht": ("Uitzendkrachten", "Agency workers"),
    },
}
_STRATUM_WORDS = {
    "function_level": (
        ("functieniveau", "hetzelfde functieniveau"),
        ("function level", "the same function level"),
    ),
    "department": (("afdeling", "dezelfde afdeling"), ("department", "the same department")),
}


def group_phrase(attribute: str, group: str, lang: str) -> str:
    """Subject phrase for a group (capitalised); lower-case its first letter for use as an object."""
    i = 0 if lang == "nl" else 1
    if group == REST:
        return ("De rest van de organisatie", "The rest of the organisation")[i]
    known = _GROUP_PHRASES.get(attribute, {}).get(group)
    if known:
        return known[i]
    if attribute == "age_band":
        if group.startswith("<"):
            return (f"Medewerkers jonger dan {group[1:]}", f"Employees under {group[1:]}")[i]
        if group.endswith("+"):
            return (f"Medewerkers van {group[:-1]} jaar en ouder", f"Employees aged {group[:-1]} and over")[i]
        return (
            f"Medewerkers van {group.replace('-', '–')} jaar",
            f"Employees aged {group.replace('-', '–')}",
        )[i]
    if attribute == "function_level":
        return (f"Medewerkers in functieniveau {group}", f"Employees in function level {group}")[i]
    if attribute == "department":
        return (f"Medewerkers van afdeling {group}", f"Employees of department {group}")[i]
    return (f"Medewerkers met {attribute} {group}", f"Employees with {attribute} {group}")[i]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _num(x: float, lang: str, digits: int = 2) -> str:
    s = f"{x:.{digits}f}"
    return s.replace(".", ",") if lang == "nl" else s


def _pct(x: float, lang: str) -> str:
    return f"{round(100 * x)}%"


def _p(p: float, lang: str) -> str:
    if p < 0.001:
        return "p < 0,001" if lang == "nl" else "p < 0.001"
    return f"p = {_num(p, lang, 3)}"


class Within(NamedTuple):
    """One stratified result for :func:`finding_sentence`: the stratification and its pooled estimate."""

    type: str  # "function_level" | "department"
    odds_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def finding_sentence(
    lang: str,
    outcome: Outcome,
    attribute: str,
    group: str,
    reference: str,
    value: float,
    reference_value: float,
    *,
    stratum_type: str | None = None,
    stratum: str | None = None,
    within_type: str | None = None,
    within_or: float | None = None,
    within_lo: float | None = None,
    within_hi: float | None = None,
    p_value: float | None = None,
    within_p: float | None = None,
    within: Sequence[Within] = (),
    level: float = 0.95,
) -> str:
    """One sentence for the meeting, e.g. "Women received an incidental reward less often than men (12% vs
    21%; within-level odds ratio 0.52, 95% CI 0.31–0.86; within-department odds ratio 1.02, 95% CI
    0.64–1.61)." Each stratified result names its own stratification: ``within`` lists them (the single
    ``within_*`` arguments are one such result). ``level``: the intervals' coverage, the policy's
    fairness.confidence_level (the marts pass it). Values must be finite; the caller checks."""
    results = list(within)
    if within_type is not None:
        results.insert(0, Within(within_type, within_or, within_lo, within_hi, within_p))
    subject = group_phrase(attribute, group, lang)
    obj = _lower_first(group_phrase(attribute, reference, lang))
    if stratum_type is not None and stratum is not None:
        word, same = _STRATUM_WORDS[stratum_type][0 if lang == "nl" else 1]
        subject = f"{subject} in {word} {stratum}"
        obj = f"{obj} in {same}"
    details: list[str] = []
    if outcome.kind == "continuous":
        v, r = f"{_num(value, lang, 1)}%", f"{_num(reference_value, lang, 1)}%"
        if lang == "nl":
            text = (
                f"{subject} {outcome.verb_nl} {outcome.rest_nl} {v} van het salaris, tegenover {r} voor {obj}"
            )
        else:
            text = f"{subject} {outcome.phrase_en} {v} of salary, against {r} for {obj}"
        if p_value is not None and math.isfinite(p_value):
            details.append(f"Mann–Whitney {_p(p_value, lang)}")
        where = {
            "function_level": ("binnen functieniveau", "within level"),
            "department": ("binnen afdeling", "within department"),
        }
        for res in results:
            if res.p_value is not None and math.isfinite(res.p_value):
                details.append(
                    f"{where[res.type][0 if lang == 'nl' else 1]} van Elteren {_p(res.p_value, lang)}"
                )
    else:
        if round(100 * value) == round(100 * reference_value):
            how = ("even vaak", "as often as")
        elif value < reference_value:
            how = ("minder vaak", "less often than")
        else:
            how = ("vaker", "more often than")
        if lang == "nl":
            than = "als" if how[0] == "even vaak" else "dan"
            text = f"{subject} {outcome.verb_nl} {how[0]} {outcome.rest_nl} {than} {obj}"
            details.append(f"{_pct(value, lang)} tegenover {_pct(reference_value, lang)}")
        else:
            text = f"{subject} {outcome.phrase_en} {how[1]} {obj}"
            details.append(f"{_pct(value, lang)} vs {_pct(reference_value, lang)}")
        stratified = [r for r in results if r.odds_ratio is not None and math.isfinite(r.odds_ratio)]
        for res in stratified:
            odds = float(res.odds_ratio or 0.0)  # finite: filtered above
            ci = ""
            if (
                res.ci_low is not None
                and res.ci_high is not None
                and math.isfinite(res.ci_low)
                and math.isfinite(res.ci_high)
            ):
                coverage = _num(100 * level, lang, 0 if round(100 * level, 6).is_integer() else 1)
                ci = (
                    f", {coverage}%-BI {_num(res.ci_low, lang)}–{_num(res.ci_high, lang)}"
                    if lang == "nl"
                    else f", {coverage}% CI {_num(res.ci_low, lang)}–{_num(res.ci_high, lang)}"
                )
            if lang == "nl":
                word = {"function_level": "functieniveau", "department": "afdeling"}[res.type]
                details.append(f"odds ratio binnen {word} {_num(odds, lang)}{ci}")
            else:
                word = {"function_level": "within-level", "department": "within-department"}[res.type]
                details.append(f"{word} odds ratio {_num(odds, lang)}{ci}")
        if not stratified and p_value is not None and math.isfinite(p_value):
            details.append(f"Fisher {_p(p_value, lang)}")
    return f"{text} ({'; '.join(details)})."


# --------------------------------------------------------------------------------------------------------------
# The marts
# --------------------------------------------------------------------------------------------------------------

OVERALL_SCHEMA: dict[str, Any] = {
    "organization": pl.String,
    "cycle": pl.Int64,
    "outcome": pl.String,
    "outcome_kind": pl.String,
    "favourable": pl.Boolean,
    "outcome_label_nl": pl.String,
    "outcome_label_en": pl.String,
    "attribute": pl.String,
    "group_value": pl.String,
    "is_reference": pl.Boolean,
    "reference_group": pl.String,
    "n": pl.Int64,
    "count": pl.Int64,
    "rate": pl.Float64,
    "rate_ci_low": pl.Float64,
    "rate_ci_high": pl.Float64,
    "mean": pl.Float64,
    "median": pl.Float64,
    "sd": pl.Float64,
    "reference_n": pl.Int64,
    "reference_count": pl.Int64,
    "reference_rate": pl.Float64,
    "reference_mean": pl.Float64,
    "difference": pl.Float64,
    "ratio": pl.Float64,
    "adverse_impact_ratio": pl.Float64,
    "adverse_impact": pl.Boolean,
    "test": pl.String,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
    "odds_ratio": pl.Float64,
    "odds_ratio_ci_low": pl.Float64,
    "odds_ratio_ci_high": pl.Float64,
    "z_statistic": pl.Float64,
    "z_p_value": pl.Float64,
    "rank_biserial": pl.Float64,
    "standardised_difference": pl.Float64,
    **{
        f"{PREFIX[s]}_{c}": t
        for s in STRATA
        for c, t in (
            ("odds_ratio", pl.Float64),
            ("ci_low", pl.Float64),
            ("ci_high", pl.Float64),
            ("p_value", pl.Float64),
            ("q_value", pl.Float64),
            ("cmh_statistic", pl.Float64),
            ("cmh_statistic_corrected", pl.Float64),
            ("p_value_corrected", pl.Float64),
            ("homogeneity_statistic", pl.Float64),
            ("homogeneity_df", pl.Int64),
            ("homogeneity_p", pl.Float64),
            ("strata", pl.Int64),
            ("strata_dropped", pl.Int64),
            ("reverses", pl.Boolean),
            ("heterogeneous", pl.Boolean),
        )
    },
    "confidence_level": pl.Float64,  # the policy's fairness.confidence_level: every interval's coverage
    "policy_version": pl.Int64,  # the version of the policy in force for the cycle, whose rules the row applies
    "publishable": pl.Boolean,
    "flag": pl.Boolean,
    "finding_nl": pl.String,
    "finding_en": pl.String,
}

STRATA_SCHEMA: dict[str, Any] = {
    "organization": pl.String,
    "period": pl.String,  # PERIOD_CYCLE: one cycle; PERIOD_WINDOW: the complete window first_cycle..cycle pooled
    "first_cycle": pl.Int64,
    "cycle": pl.Int64,
    "outcome": pl.String,
    "outcome_kind": pl.String,
    "favourable": pl.Boolean,
    "attribute": pl.String,
    "stratum_type": pl.String,
    "stratum": pl.String,
    "group_value": pl.String,
    "is_reference": pl.Boolean,
    "reference_group": pl.String,
    "n": pl.Int64,
    "count": pl.Int64,
    "rate": pl.Float64,
    "rate_ci_low": pl.Float64,
    "rate_ci_high": pl.Float64,
    "mean": pl.Float64,
    "reference_n": pl.Int64,
    "reference_count": pl.Int64,
    "reference_rate": pl.Float64,
    "reference_mean": pl.Float64,
    "difference": pl.Float64,
    "odds_ratio": pl.Float64,
    "odds_ratio_ci_low": pl.Float64,
    "odds_ratio_ci_high": pl.Float64,
    "z_statistic": pl.Float64,
    "z_p_value": pl.Float64,
    "adverse_impact_ratio": pl.Float64,
    "adverse_impact": pl.Boolean,
    "test": pl.String,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
    "policy_version": pl.Int64,  # the version of the policy in force for the cycle, whose rules the row applies
    "publishable": pl.Boolean,
    "flag": pl.Boolean,
    "finding_nl": pl.String,
    "finding_en": pl.String,
}


@dataclass
class FairnessMarts:
    overall: pl.DataFrame  # marts.fairness
    strata: pl.DataFrame  # marts.fairness_strata
    ignored_attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # org -> attribute names
    stratified_tests: int = 0  # CMH and van Elteren tests run


def _finite_or_null(name: str, values: ArrayLike) -> pl.Series:
    arr = np.asarray(values, dtype=np.float64)
    return pl.Series(name, np.where(np.isfinite(arr), arr, np.nan), dtype=pl.Float64).fill_nan(None)


def _segments(frame: pl.DataFrame, keys: list[str]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Start and end row of each run of equal ``keys`` in a frame sorted by them."""
    if frame.height == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ident = frame.select(pl.struct(keys).rle_id().alias("_id"))["_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, ident[1:] != ident[:-1]])
    return starts.astype(np.int64), np.r_[starts[1:], len(ident)].astype(np.int64)


def _bh_by(frame: pl.DataFrame, p_col: str, by: list[str], out: str) -> pl.DataFrame:
    """Benjamini–Hochberg q-values of ``p_col`` within each ``by`` family, over rows with ``_eligible``."""
    p = frame.select(pl.when(pl.col("_eligible")).then(pl.col(p_col)).fill_null(np.nan).alias("_p"))[
        "_p"
    ].to_numpy()
    family = frame.select(pl.concat_str([pl.col(c).cast(pl.String) for c in by], separator="|").alias("_f"))[
        "_f"
    ]
    q = np.full(frame.height, np.nan)
    fam = family.to_numpy()
    for value in np.unique(fam):
        sel = fam == value
        q[sel] = benjamini_hochberg(p[sel])
    return frame.with_columns(_finite_or_null(out, q))


def _binary_statistics(rows: pl.DataFrame, config: FairnessConfig) -> pl.DataFrame:
    """Rates, Wilson intervals, difference, ratio, adverse impact ratio, Fisher p and odds ratio."""
    n, c = rows["n"].to_numpy(), rows["count"].to_numpy()
    rn, rc = rows["reference_n"].to_numpy(), rows["reference_count"].to_numpy()
    compare = ~rows["is_reference"].to_numpy() & (n > 0) & (rn > 0)
    lo, hi = wilson_interval(c, n, config.level)
    p = fisher_exact_pvalues(c, n - c, rc, rn - rc)
    z, z_p = pooled_z_test(c, n, rc, rn)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = (c * (rn - rc)) / ((n - c) * rc)
    odds_lo, odds_hi = woolf_interval(c, n - c, rc, rn - rc, config.level)
    # Adverse impact is about the favourable outcome: for an unfavourable one (lowest rating) compare n - count.
    fav = rows["favourable"].to_numpy()
    ratio, adverse = adverse_impact(
        np.where(fav, c, n - c), n, np.where(fav, rc, rn - rc), rn, config.threshold
    )
    ratio, adverse = np.where(compare, ratio, np.nan), compare & adverse
    return rows.with_columns(
        (pl.col("count") / pl.col("n")).alias("rate"),
        _finite_or_null("rate_ci_low", lo),
        _finite_or_null("rate_ci_high", hi),
        pl.when(pl.col("reference_n") > 0)
        .then(pl.col("reference_count") / pl.col("reference_n"))
        .alias("reference_rate"),
        _finite_or_null("p_value", np.where(compare, p, np.nan)),
        _finite_or_null("odds_ratio", np.where(compare, odds, np.nan)),
        _finite_or_null("odds_ratio_ci_low", np.where(compare, odds_lo, np.nan)),
        _finite_or_null("odds_ratio_ci_high", np.where(compare, odds_hi, np.nan)),
        _finite_or_null("z_statistic", np.where(compare, z, np.nan)),
        _finite_or_null("z_p_value", np.where(compare, z_p, np.nan)),
        _finite_or_null("adverse_impact_ratio", ratio),
        pl.Series("adverse_impact", adverse & np.isfinite(ratio), dtype=pl.Boolean),
        pl.when(pl.Series(compare)).then(pl.lit("fisher_exact")).alias("test"),
    ).with_columns(
        (pl.col("rate") - pl.col("reference_rate")).alias("difference"),
        pl.when(pl.col("reference_rate") > 0).then(pl.col("rate") / pl.col("reference_rate")).alias("ratio"),
    )


def _continuous_statistics(rows: pl.DataFrame, ranks: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """Mean, sd, reference mean, standardised difference and the Mann–Whitney test of each row."""
    ref_n, n = pl.col("reference_n"), pl.col("n")
    own_var = ((pl.col("_sumsq") - pl.col("_sum") ** 2 / n) / (n - 1)).clip(lower_bound=0.0)
    ref_var = ((pl.col("reference__sumsq") - pl.col("reference__sum") ** 2 / ref_n) / (ref_n - 1)).clip(
        lower_bound=0.0
    )
    pooled = (((n - 1) * own_var + (ref_n - 1) * ref_var) / (n + ref_n - 2)).sqrt()
    out = rows.join(ranks, on=on, how="left").with_columns(
        (pl.col("_sum") / n).alias("mean"),
        pl.when(n > 1).then(own_var.sqrt()).alias("sd"),
        pl.when(ref_n > 0).then(pl.col("reference__sum") / ref_n).alias("reference_mean"),
        pl.when((n > 1) & (ref_n > 1) & (pooled > 0)).then(pooled).alias("_pooled_sd"),
    )
    compare = ~out["is_reference"].to_numpy() & out["n1"].fill_null(0).to_numpy().astype(bool)
    p = mann_whitney_counts(
        out["u"].fill_null(0.0).to_numpy(),
        out["n1"].fill_null(0).to_numpy(),
        out["n2"].fill_null(0).to_numpy(),
        out["tie_sum"].fill_null(0.0).to_numpy(),
    )
    return out.with_columns(
        _finite_or_null("p_value", np.where(compare, p, np.nan)),
        pl.when(pl.Series(compare)).then(pl.lit("mann_whitney")).alias("test"),
        (2.0 * pl.col("u") / (pl.col("n1") * pl.col("n2")) - 1.0).alias("rank_biserial"),
        ((pl.col("mean") - pl.col("reference_mean")) / pl.col("_pooled_sd")).alias("standardised_difference"),
        (pl.col("mean") - pl.col("reference_mean")).alias("difference"),
        pl.when(pl.col("reference_mean") > 0).then(pl.col("mean") / pl.col("reference_mean")).alias("ratio"),
    )


def _stratified_counts(
    frame: pl.DataFrame, references: pl.DataFrame, aggs: list[pl.Expr], sums: list[str]
) -> pl.DataFrame:
    """Per-stratum rows (each stratification of :data:`STRATA`) with the reference's counts in the stratum."""
    parts = [
        frame.filter(pl.col("attribute") != s)
        .group_by([*TEST_KEYS, s, "group_value"])
        .agg(*aggs)
        .rename({s: "stratum"})
        .with_columns(pl.lit(s).alias("stratum_type"))
        for s in STRATA
    ]
    strata = pl.concat(parts).join(references, on=TEST_KEYS, how="inner")
    return _with_reference_counts(strata, [*TEST_KEYS, "stratum_type", "stratum"], sums)


def _cmh_results(strata: pl.DataFrame, tests: pl.DataFrame, config: FairnessConfig) -> pl.DataFrame:
    """Stratified comparison per (test, stratum type): MH OR, CI, CMH p, Breslow–Day p, strata used/dropped.

    ``strata``: per-stratum counts of every group; ``tests``: the comparisons to run (cycle, outcome,
    attribute, group_value, reference_group). A stratum enters when the group or its reference has anyone
    in it; :func:`models.stats.cmh_test` drops (and counts) strata with fewer than 2 people.
    """
    keys = [*TEST_KEYS, "stratum_type", "stratum"]
    test_cols = [*TEST_KEYS, "group_value", "stratum_type"]
    totals = strata.group_by(keys).agg(pl.col("n").sum().alias("_tn"), pl.col("count").sum().alias("_tc"))
    refs = strata.select(*keys, "group_value", "n", "count").rename(
        {"group_value": "reference_group", "n": "_rn", "count": "_rc"}
    )
    rest = pl.col("reference_group") == REST
    grid = (
        tests.join(totals, on=TEST_KEYS, how="inner")
        .filter(pl.col("stratum_type") != pl.col("attribute"))
        .join(strata.select(*keys, "group_value", "n", "count"), on=[*keys, "group_value"], how="left")
        .join(refs, on=[*keys, "reference_group"], how="left")
        .with_columns(pl.col("n").fill_null(0), pl.col("count").fill_null(0))
        .with_columns(*reference_cells(rest, "n"))
        .filter((pl.col("n") + pl.col("_rn")) > 0)
        .sort([*test_cols, "stratum"])
    )
    ident = grid.select(pl.struct(test_cols).rle_id().alias("_id"))["_id"].to_numpy()
    n_tests = int(ident.max()) + 1 if len(ident) else 0
    a = grid["count"].to_numpy()
    res = stratified_odds_ratios(
        ident,
        a,
        grid["n"].to_numpy() - a,
        grid["_rc"].to_numpy(),
        grid["_rn"].to_numpy() - grid["_rc"].to_numpy(),
        n_tests,
        config.level,
    )
    starts, _ = _segments(grid, test_cols)
    return grid[starts.tolist()].select(test_cols).with_columns(stratified_columns(res))


def stratified_columns(res: StratifiedResults) -> list[pl.Series]:
    """The columns of a stratified comparison (without their stratification prefix) from
    :func:`stratified_odds_ratios`, one row per test: non-finite values as null. The marts and the
    organisation release (models/releases/fairness.py, which recomputes them over the published strata) both
    name them so."""
    return [
        _finite_or_null("odds_ratio", res.odds_ratio),
        _finite_or_null("ci_low", res.ci_low),
        _finite_or_null("ci_high", res.ci_high),
        _finite_or_null("p_value", res.pvalue),
        _finite_or_null("cmh_statistic", res.statistic),
        _finite_or_null("cmh_statistic_corrected", res.statistic_corrected),
        _finite_or_null("p_value_corrected", res.pvalue_corrected),
        _finite_or_null("homogeneity_statistic", res.breslow_day_statistic),
        pl.Series(
            "homogeneity_df",
            np.where(np.isfinite(res.breslow_day_statistic), res.breslow_day_df, -1),
            dtype=pl.Int64,
        ).replace(-1, None),
        _finite_or_null("homogeneity_p", res.breslow_day_pvalue),
        pl.Series("strata", res.n_strata, dtype=pl.Int64),
        pl.Series("strata_dropped", res.n_dropped, dtype=pl.Int64),
    ]


def _van_elteren_results(ranks: pl.DataFrame, tests: pl.DataFrame) -> pl.DataFrame:
    """Van Elteren test per (test, stratum type) from per-stratum rank sums; strata < 2 people dropped."""
    test_cols = [*TEST_KEYS, "group_value", "stratum_type"]
    sub = ranks.join(tests.select(*TEST_KEYS, "group_value"), on=[*TEST_KEYS, "group_value"], how="inner")
    sub = sub.filter((pl.col("n1") + pl.col("n2")) > 0).sort([*test_cols, "stratum"])
    starts, ends = _segments(sub, test_cols)
    u, n1, n2, t = (sub[col].cast(pl.Float64).to_numpy() for col in ("u", "n1", "n2", "tie_sum"))
    big = n1 + n2 >= 2
    results = [
        van_elteren(u[s:e][big[s:e]], n1[s:e][big[s:e]], n2[s:e][big[s:e]], t[s:e][big[s:e]])
        for s, e in zip(starts, ends, strict=True)
    ]
    return (
        sub[starts.tolist()]
        .select(test_cols)
        .with_columns(
            _finite_or_null("p_value", [r[1] for r in results]),
            pl.Series(
                "strata", [int(big[s:e].sum()) for s, e in zip(starts, ends, strict=True)], dtype=pl.Int64
            ),
            pl.Series(
                "strata_dropped",
                [int((~big[s:e]).sum()) for s, e in zip(starts, ends, strict=True)],
                dtype=pl.Int64,
            ),
        )
    )


def _publishable(frame: pl.DataFrame, config: FairnessConfig) -> pl.DataFrame:
    """``publishable``: the group (and, for a comparison, its reference) meets the minimum size ``_k``.
    ``_eligible``: a comparison that may be flagged, so enters the Benjamini–Hochberg family."""
    own = pl.col("n") >= pl.col("_k")
    ref = pl.col("reference_n") >= pl.col("_k")
    big = (pl.col("n") >= config.min_n_flag) & (pl.col("reference_n") >= config.min_n_flag)
    return frame.with_columns(
        pl.when(pl.col("is_reference")).then(own).otherwise(own & ref).fill_null(False).alias("publishable"),
        (~pl.col("is_reference") & own & ref & big & pl.col("p_value").is_not_null())
        .fill_null(False)
        .alias("_eligible"),
    )


def _practical(config: FairnessConfig, std: str) -> pl.Expr:
    """A practically relevant disadvantage: adverse impact (binary) or |standardised difference| at least
    metrics.practical_effect against the group (continuous)."""
    sign = pl.when(pl.col("favourable")).then(-1.0).otherwise(1.0)
    return (
        pl.when(pl.col("outcome_kind") == "binary")
        .then(pl.col("adverse_impact"))
        .otherwise(pl.col(std) * sign >= config.practical_effect)
    )


def _organisation_marts(
    org: str, persons: pl.DataFrame, config: FairnessConfig, outcomes: Sequence[Outcome]
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    meta = pl.DataFrame(
        {
            "outcome": [o.code for o in outcomes],
            "outcome_kind": [o.kind for o in outcomes],
            "favourable": [o.favourable for o in outcomes],
            "outcome_label_nl": [o.label["nl"] for o in outcomes],
            "outcome_label_en": [o.label["en"] for o in outcomes],
            "_k": [config.min_group_size_amounts if o.amounts else config.min_group_size for o in outcomes],
        },
        schema={
            "outcome": pl.String,
            "outcome_kind": pl.String,
            "favourable": pl.Boolean,
            "outcome_label_nl": pl.String,
            "outcome_label_en": pl.String,
            "_k": pl.Int64,
        },
    )
    group_keys = [*TEST_KEYS, "group_value"]
    is_ref = (pl.col("group_value") == pl.col("reference_group")).alias("is_reference")

    # Binary outcomes: counts per group overall and per stratum.
    cube, cube_c = _cubes(persons, config.attributes, outcomes)
    counts = [pl.col("n").sum(), pl.col("count").sum()]
    b_groups = cube.group_by(group_keys).agg(*counts).join(meta, on="outcome", how="left")
    b_groups = b_groups.with_columns(
        pl.when(pl.col("favourable"))
        .then(pl.col("count") / pl.col("n"))
        .otherwise(1.0 - pl.col("count") / pl.col("n"))
        .alias("favour")
    )
    b_refs = _choose_reference(b_groups, config)
    b_rows = _with_reference_counts(
        b_groups.join(b_refs, on=TEST_KEYS, how="left"), TEST_KEYS, ["n", "count"]
    )
    b_rows = _binary_statistics(b_rows.with_columns(is_ref), config)
    b_strata = _stratified_counts(cube, b_refs, counts, ["n", "count"]).join(meta, on="outcome", how="left")
    b_strata = _binary_statistics(b_strata.with_columns(is_ref), config)

    # Continuous outcomes: sums per group overall and per stratum, rank sums for the tests.
    sums = [pl.col("cnt").sum().alias("n"), pl.col("_sum").sum(), pl.col("_sumsq").sum()]
    c_groups = (
        cube_c.group_by(group_keys)
        .agg(*sums)
        .join(_weighted_median(cube_c, group_keys), on=group_keys, how="left")
        .join(meta, on="outcome", how="left")
    )
    c_groups = c_groups.with_columns(
        (pl.col("_sum") / pl.col("n") * pl.when(pl.col("favourable")).then(1.0).otherwise(-1.0)).alias(
            "favour"
        )
    )
    c_refs = _choose_reference(c_groups, config)
    c_rows = _with_reference_counts(
        c_groups.join(c_refs, on=TEST_KEYS, how="left"), TEST_KEYS, ["n", "_sum", "_sumsq"]
    ).with_columns(is_ref)
    c_rows = _continuous_statistics(c_rows, _rank_sums(cube_c, c_refs, ALL).drop("stratum"), group_keys)
    c_strata = _stratified_counts(cube_c, c_refs, sums, ["n", "_sum", "_sumsq"]).join(
        meta, on="outcome", how="left"
    )
    ranks_strata = pl.concat(
        [
            _rank_sums(cube_c.filter(pl.col("attribute") != s), c_refs, s).with_columns(
                pl.lit(s).alias("stratum_type")
            )
            for s in STRATA
        ]
    )
    c_strata = _continuous_statistics(
        c_strata.with_columns(is_ref), ranks_strata, [*group_keys, "stratum_type", "stratum"]
    )

    rows = _publishable(pl.concat([b_rows, c_rows], how="diagonal_relaxed"), config)
    strata = _publishable(pl.concat([b_strata, c_strata], how="diagonal_relaxed"), config)

    # Within-strata tests (CMH for binary, van Elteren for continuous) for every comparison that may be flagged.
    tests = rows.filter(pl.col("_eligible")).select(*group_keys, "reference_group", "outcome_kind")
    within = pl.concat(
        [
            _cmh_results(
                strata.filter(pl.col("outcome_kind") == "binary").select(
                    *TEST_KEYS, "stratum_type", "stratum", "group_value", "n", "count"
                ),
                tests.filter(pl.col("outcome_kind") == "binary"),
                config,
            ),
            _van_elteren_results(ranks_strata, tests.filter(pl.col("outcome_kind") == "continuous")),
        ],
        how="diagonal_relaxed",
    )
    for s in STRATA:
        pre = PREFIX[s]
        part = within.filter(pl.col("stratum_type") == s).drop("stratum_type")
        rows = rows.join(
            part.rename({c: f"{pre}_{c}" for c in part.columns if c not in group_keys}),
            on=group_keys,
            how="left",
        )
        for col in ("odds_ratio", "ci_low", "ci_high", "homogeneity_p"):  # absent without a binary test
            if f"{pre}_{col}" not in rows.columns:
                rows = rows.with_columns(pl.lit(None, dtype=pl.Float64).alias(f"{pre}_{col}"))
        rows = rows.with_columns(
            # Simpson's reversal: an overall gap (Fisher's p below the policy's level, as the page's sentence
            # judges it) whose within-strata estimate points the other way; a flip of an estimate with no overall
            # gap (0.95 -> 1.06) reverses nothing.
            (
                ((pl.col("odds_ratio").log() * pl.col(f"{pre}_odds_ratio").log()) < 0)
                & (pl.col("p_value") < 1.0 - config.level)
            ).alias(f"{pre}_reverses"),
            # Breslow–Day rejects a common odds ratio at the policy's level: the strata differ from each other.
            (pl.col(f"{pre}_homogeneity_p") < 1.0 - config.level).alias(f"{pre}_heterogeneous"),
        )

    # q-values per cycle: overall tests, each stratification's tests, and the per-stratum tests per type.
    rows = _bh_by(rows, "p_value", ["cycle"], "q_value")
    for s in STRATA:
        rows = _bh_by(rows, f"{PREFIX[s]}_p_value", ["cycle"], f"{PREFIX[s]}_q_value")
    strata = _bh_by(strata, "p_value", ["cycle", "stratum_type"], "q_value")
    flag = pl.col("_eligible") & (pl.col("q_value") < config.fdr)
    rows = rows.with_columns(
        (flag & _practical(config, "standardised_difference")).fill_null(False).alias("flag")
    )
    strata = strata.with_columns(
        (flag & _practical(config, "standardised_difference")).fill_null(False).alias("flag")
    )

    outcome_by_code = {o.code: o for o in outcomes}
    rows = _add_findings(
        rows.with_columns(pl.lit(org).alias("organization"), pl.lit(config.level).alias("confidence_level")),
        outcome_by_code,
        overall=True,
        fdr=config.fdr,
        level=config.level,
    )
    strata = _add_findings(
        strata.with_columns(pl.lit(org).alias("organization")),
        outcome_by_code,
        overall=False,
        fdr=config.fdr,
        level=config.level,
    )
    return _conform(rows, OVERALL_SCHEMA), _conform(strata, STRATA_SCHEMA), within.height


def _conform(frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c not in frame.columns]
    return frame.with_columns(missing).select([pl.col(c).cast(t) for c, t in schema.items()])


def _add_findings(
    frame: pl.DataFrame, outcomes: Mapping[str, Outcome], *, overall: bool, fdr: float, level: float
) -> pl.DataFrame:
    """finding_nl / finding_en for publishable comparisons (never for a group under the minimum size); in the
    strata mart only for comparisons significant after Benjamini–Hochberg (q < metrics.fdr)."""
    want = [
        "outcome",
        "attribute",
        "group_value",
        "reference_group",
        "publishable",
        "is_reference",
        "outcome_kind",
        "rate",
        "reference_rate",
        "mean",
        "reference_mean",
        "p_value",
    ]
    if overall:
        want += [
            f"{PREFIX[s]}_{c}"
            for s in STRATA
            for c in ("odds_ratio", "ci_low", "ci_high", "p_value", "strata")
        ]
    else:
        want += ["stratum_type", "stratum", "q_value"]
    candidate = pl.col("publishable") & ~pl.col("is_reference")
    if not overall:
        candidate = candidate & (pl.col("q_value") < fdr)
    mask = frame.select(candidate.fill_null(False).alias("_m"))["_m"].to_numpy()
    nl: list[str | None] = [None] * frame.height
    en: list[str | None] = [None] * frame.height
    rows = frame.filter(pl.Series(mask)).select([c for c in want if c in frame.columns])
    for i, row in zip(np.flatnonzero(mask), rows.iter_rows(named=True), strict=True):
        continuous = row["outcome_kind"] == "continuous"
        value = row.get("mean") if continuous else row.get("rate")
        ref_value = row.get("reference_mean") if continuous else row.get("reference_rate")
        if value is None or ref_value is None or not (math.isfinite(value) and math.isfinite(ref_value)):
            continue
        kwargs: dict[str, Any] = {"p_value": row["p_value"], "level": level}
        if overall:
            # Every stratification the comparison has (not the attribute's own, and at least two strata: one
            # stratum only repeats the overall figure), each named as itself.
            kwargs["within"] = [
                Within(
                    s,
                    row.get(f"{PREFIX[s]}_odds_ratio"),
                    row.get(f"{PREFIX[s]}_ci_low"),
                    row.get(f"{PREFIX[s]}_ci_high"),
                    row.get(f"{PREFIX[s]}_p_value"),
                )
                for s in STRATA
                if s != row["attribute"] and (row.get(f"{PREFIX[s]}_strata") or 0) >= 2
            ]
        else:
            kwargs.update(stratum_type=row["stratum_type"], stratum=row["stratum"])
        args = (
            outcomes[row["outcome"]],
            row["attribute"],
            row["group_value"],
            row["reference_group"],
            value,
            ref_value,
        )
        nl[i] = finding_sentence("nl", *args, **kwargs)
        en[i] = finding_sentence("en", *args, **kwargs)
    return frame.with_columns(
        pl.Series("finding_nl", nl, dtype=pl.String), pl.Series("finding_en", en, dtype=pl.String)
    )


def window_cycles(policy: Policy) -> int | None:
    """How many cycles a pooled window holds: the policy's ``calibration_impact.window_cycles`` (the norming
    review's window, one definition for both pages); None (no pooled rows) when unset or below 2."""
    value = policy.typed.calibration_impact.window_cycles
    return int(value) if value is not None and int(value) >= 2 else None


def complete_windows(cycles: Sequence[int], window: int) -> pl.DataFrame:
    """(first_cycle, cycle, member): every complete window of ``window`` consecutive cycles present (the last
    ``window`` cycles up to ``cycle``, as :func:`models.calibration_impact.make_periods`), one row per member."""
    ordered = sorted({int(c) for c in cycles})
    rows = [
        (ordered[end - window + 1], ordered[end], member)
        for end in range(window - 1, len(ordered))
        for member in ordered[end - window + 1 : end + 1]
    ]
    return pl.DataFrame(
        rows, schema={"first_cycle": pl.Int64, "cycle": pl.Int64, "member": pl.Int64}, orient="row"
    )


def _pooled_strata(
    org: str, persons: pl.DataFrame, config: FairnessConfig, outcomes: Sequence[Outcome], window: int
) -> pl.DataFrame:
    """Pooled-window rows of ``marts.fairness_strata`` (period :data:`PERIOD_WINDOW`): for every complete window
    of ``window`` cycles, each :data:`POOLED_ATTRIBUTES` group inside each function level, its person-cycles
    (``n``: a person rated in three cycles counts three times) and how many had the outcome, summed over the
    window's cycles, compared with the reference group (chosen on the pooled counts, as per cycle) with the
    statistics of a per-cycle row: Wilson interval, Fisher exact p, odds ratio with Woolf interval, pooled
    z-test, adverse impact; Benjamini–Hochberg q within the window's pooled rows."""
    binary = [o for o in outcomes if o.kind == "binary"]
    attributes = [a for a in POOLED_ATTRIBUTES if a in config.attributes]
    if not binary or not attributes or persons.height == 0:
        return pl.DataFrame(schema=STRATA_SCHEMA)
    spans = complete_windows(persons["cycle"].unique().to_list(), window)
    if spans.height == 0:
        return pl.DataFrame(schema=STRATA_SCHEMA)
    cube, _ = _cubes(persons, attributes, binary)
    pooled = (
        cube.with_columns(pl.col("cycle").cast(pl.Int64).alias("member"))
        .drop("cycle")
        .join(spans, on="member", how="inner")
        .drop("member")
    )
    firsts = pooled.select("cycle", "first_cycle").unique()
    meta = pl.DataFrame(
        {
            "outcome": [o.code for o in binary],
            "outcome_kind": ["binary"] * len(binary),
            "favourable": [o.favourable for o in binary],
            "outcome_label_nl": [o.label["nl"] for o in binary],
            "outcome_label_en": [o.label["en"] for o in binary],
            "_k": [config.min_group_size_amounts if o.amounts else config.min_group_size for o in binary],
        }
    )
    counts = [pl.col("n").sum(), pl.col("count").sum()]
    groups = (
        pooled.group_by([*TEST_KEYS, "group_value"])
        .agg(*counts)
        .join(meta, on="outcome", how="left")
        .with_columns(
            pl.when(pl.col("favourable"))
            .then(pl.col("count") / pl.col("n"))
            .otherwise(1.0 - pl.col("count") / pl.col("n"))
            .alias("favour")
        )
    )
    refs = _choose_reference(groups, config)
    strata = (
        pooled.group_by([*TEST_KEYS, POOLED_STRATUM, "group_value"])
        .agg(*counts)
        .rename({POOLED_STRATUM: "stratum"})
        .with_columns(pl.lit(POOLED_STRATUM).alias("stratum_type"))
        .join(refs, on=TEST_KEYS, how="inner")
    )
    strata = _with_reference_counts(strata, [*TEST_KEYS, "stratum_type", "stratum"], ["n", "count"])
    strata = strata.join(meta, on="outcome", how="left").with_columns(
        (pl.col("group_value") == pl.col("reference_group")).alias("is_reference")
    )
    strata = _publishable(_binary_statistics(strata, config), config).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("standardised_difference")  # continuous outcomes only
    )
    strata = _bh_by(strata, "p_value", ["cycle", "stratum_type"], "q_value")
    flag = pl.col("_eligible") & (pl.col("q_value") < config.fdr)
    strata = strata.with_columns(
        (flag & _practical(config, "standardised_difference")).fill_null(False).alias("flag")
    )
    strata = _add_findings(
        strata.with_columns(pl.lit(org).alias("organization")),
        {o.code: o for o in binary},
        overall=False,
        fdr=config.fdr,
        level=config.level,
    )
    strata = strata.join(firsts, on="cycle", how="left").with_columns(pl.lit(PERIOD_WINDOW).alias("period"))
    return _conform(strata, STRATA_SCHEMA)


def fairness_marts(
    people: pl.DataFrame,
    policies: Mapping[str, Policy],
    extra_attributes: Mapping[str, Sequence[str]] | None = None,
    cycles: Mapping[str, Collection[int]] | None = None,
) -> FairnessMarts:
    """``marts.fairness`` and ``marts.fairness_strata`` for every organisation that has a policy.

    ``people`` is :func:`models.pay_transparency.people_frame` of the staging tables; ``extra_attributes``
    maps an organisation to further attribute columns of the evaluations (calibra.yaml ``attributes``).
    ``cycles`` (per organisation; default: every cycle of ``people``) are the cycles whose rows are computed;
    ``people`` may hold earlier cycles too, read only for the pooled windows ending at those cycles
    (:func:`_pooled_strata`). Organisations without a policy are left out.
    """
    extra_attributes = extra_attributes or {}
    overall_parts, strata_parts = [], []
    ignored: dict[str, tuple[str, ...]] = {}
    n_tests = 0
    for org in sorted(policies):
        frame = people.filter(pl.col("organization") == org)
        if frame.height == 0:
            continue
        policy = policies[org]
        available = [c for c in people.columns if c not in PEOPLE_COLUMNS and not c.startswith("award:")]
        config = fairness_config(policy, extra_attributes.get(org, ()), available=available)
        if config.ignored_attributes:
            ignored[org] = config.ignored_attributes
        outcomes = outcomes_for(policy)
        persons = person_frame(frame, policy, config, outcomes)
        compared = [str(g) for g in policy.typed.disclosure.compared_groups]
        persons = without_small_others(persons, outcomes, compared, config.min_group_size)
        wanted = pl.col("cycle").is_in(sorted(cycles[org])) if cycles is not None and org in cycles else None
        rows, strata, k = _organisation_marts(
            org, persons if wanted is None else persons.filter(wanted), config, outcomes
        )
        # Every row and finding names the version of the policy it applied (one policy per call and
        # organisation: the asset runs once per regime).
        version = pl.lit(policy.version, pl.Int64).alias("policy_version")
        overall_parts.append(rows.with_columns(version))
        strata_parts.append(
            strata.with_columns(
                pl.lit(PERIOD_CYCLE).alias("period"), pl.col("cycle").alias("first_cycle"), version
            )
        )
        window = window_cycles(policy)
        if window is not None:
            pooled = _pooled_strata(org, persons, config, outcomes, window).with_columns(version)
            strata_parts.append(pooled if wanted is None else pooled.filter(wanted))
        n_tests += k
    overall = pl.concat(overall_parts) if overall_parts else pl.DataFrame(schema=OVERALL_SCHEMA)
    strata = pl.concat(strata_parts) if strata_parts else pl.DataFrame(schema=STRATA_SCHEMA)
    return FairnessMarts(
        overall=overall.sort(["organization", "cycle", "outcome", "attribute", "group_value"]),
        strata=strata.sort(
            [
                "organization",
                "cycle",
                "period",
                "outcome",
                "attribute",
                "stratum_type",
                "stratum",
                "group_value",
            ]
        ),
        ignored_attributes=ignored,
        stratified_tests=n_tests,
    )
