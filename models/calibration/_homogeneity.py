"""Vectorised tests of each unit's ratings against the rest of its organisation.

A *family* is one organisation × cycle × measure × grouping: its units partition the organisation, so the
column totals C (the organisation's count per category) are shared, and under H0 (the unit's ratings are a
random draw without replacement from the organisation's) the unit's row u is multivariate hypergeometric
with parameters (C, s), which depends only on the unit's size s. Every null distribution below is therefore
computed once per distinct size, not once per unit. Categories no one in the family used are dropped.

Two tests per unit, from the same null distribution:

**Location (``location_*``), the test behind the flag.** T = Σ_k score_k · u_k, the unit's total score on the
policy's ordinal scale (equivalently its mean score). Two-sided p = min(1, 2·min(P(T <= t), P(T >= t))) under
the permutation (hypergeometric) null — the same definition as ``scipy.stats.permutation_test``:
  * ``exact`` — for a unit whose table fails Cochran's rule (below: small expected counts, where a normal
    approximation is poor), every feasible unit row v (0 <= v_k <= C_k, Σ v = s) is enumerated with its
    multivariate hypergeometric probability, while the enumeration stays within ``exact_budget`` rows per
    size. Rare categories make the enumeration small (the largest category is implied by the others), so a
    unit with a rare outcome (one onvoldoende among 12) always gets an exact p-value;
  * ``normal`` — otherwise: z = (t - E[T]) / sd[T] with the exact permutation moments E[T] = s·mu,
    Var[T] = s·sigma²·(N - s)/(N - 1) (sigma² the family's population variance).

**Distribution (``distribution_*``), shape of the whole distribution.** Pearson's X² of the unit-vs-rest 2×K
table, exactly as ``models.stats.ordinal_distribution_test`` computes it:
  * ``chi2`` — asymptotic χ² with K_used - 1 df when Cochran's rule holds (every expected count >= 1 and at
    most 20% of the 2·K_used expected counts < 5; Cochran 1954, Agresti 2013 §3.2.1);
  * ``exact`` — otherwise P(X²(v) >= X²(u)) over the same enumeration (the limit of the Monte Carlo test of
    models.stats as n_mc grows);
  * ``monte_carlo`` — when the enumeration is too large: ``n_mc`` tables per distinct size drawn with the same
    generator call and seed as ``models.stats.ordinal_distribution_test`` (so the p-value is identical to
    it), while the cycle's ``McBudget`` lasts; ``chi2_approx`` after that (said in the mart).
``undefined`` — an empty unit, a unit that is the whole family, fewer than two categories used, or (location)
no spread at all.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

# As in models.stats: a simulated or enumerated value counts as "at least as extreme" despite float noise.
TIE_RTOL = 1e-9
DEFAULT_SEED = 20240601  # the default seed of models.stats.ordinal_distribution_test
DEFAULT_N_MC = 9999
DEFAULT_EXACT_BUDGET = 20_000  # enumerated unit rows per unit size (K = 5: every size up to 20)

FloatArray = NDArray[np.float64]


@dataclass
class McBudget:
    """Work left for one organisation, measure and cycle, so the run time is bounded whatever the data: enumerated rows
    (exact tests) and Monte Carlo tables. When a budget runs out, the later sizes fall back to the
    approximations (normal / chi2_approx), which the mart reports per unit."""

    tables: int = 300_000
    exact_rows: int = 5_000_000


@dataclass(frozen=True)
class FamilyTests:
    location_statistic: FloatArray  # the unit's total score T
    location_expected: FloatArray  # E[T] under H0
    location_pvalue: FloatArray
    location_method: NDArray[np.str_]
    distribution_statistic: FloatArray  # Pearson X²
    distribution_pvalue: FloatArray
    distribution_method: NDArray[np.str_]
    dof: NDArray[np.int64]


def _pearson(u: FloatArray, e: FloatArray, f: FloatArray) -> FloatArray:
    return np.asarray(np.sum((u - e) ** 2 * (1.0 / e + 1.0 / f), axis=-1), dtype=np.float64)


def _log_comb(n: float, k: FloatArray) -> FloatArray:
    return np.asarray(special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1))


def enumeration_size(s: int, caps: NDArray[np.int64]) -> float:
    """An upper bound on the number of feasible unit rows of size s (the enumeration's cost)."""
    free = np.sort(np.asarray(caps))[:-1]  # the largest category is implied by the others
    bound_caps = float(np.prod(np.minimum(free, s) + 1.0))
    return min(bound_caps, float(math.comb(s + caps.size - 1, caps.size - 1)))


@functools.lru_cache(maxsize=512)
def _compositions(s: int, k: int) -> NDArray[np.int64]:
    """Every way to write s as an ordered sum of k non-negative integers, one row each (read-only, cached:
    families of the same organisation share their unit sizes)."""
    rows = np.zeros((1, 0), dtype=np.int64)
    rem = np.array([s], dtype=np.int64)
    for _ in range(k - 1):
        count = rem + 1
        parent = np.repeat(np.arange(rem.size), count)
        val = np.arange(parent.size) - np.repeat(np.cumsum(count) - count, count)
        rows = np.column_stack([rows[parent], val])
        rem = rem[parent] - val
    out = np.column_stack([rows, rem]).astype(np.int64)
    out.setflags(write=False)
    return out


def exact_distribution(
    s: int, caps: NDArray[np.int64], scores: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """X², total score T and probability of every feasible unit row of size s under H0.

    Rows are built category by category carrying the running log-probability, X² and T, without
    materialising the rows; the largest category goes last (it is implied by the others), which keeps the
    enumeration small when some categories are rare. ``caps`` are the family's counts per category (all > 0).
    """
    caps = np.asarray(caps, dtype=np.int64)
    sc = np.zeros(caps.size) if scores is None else np.asarray(scores, dtype=np.float64)
    if int(caps.min()) >= s:  # no category can run out: every composition of s is feasible
        n_total = float(caps.sum())
        e = s * caps / n_total
        f = caps - e
        values = np.arange(s + 1, dtype=np.float64)
        comp = _compositions(s, caps.size)
        log_terms = np.stack([_log_comb(float(cap), values) for cap in caps], axis=1)  # (s+1, K)
        x2_terms = (values[:, None] - e[None, :]) ** 2 * (1.0 / e + 1.0 / f)[None, :]
        cols = np.arange(caps.size)
        logp = log_terms[comp, cols].sum(axis=1) - _log_comb(n_total, np.asarray(float(s)))
        return x2_terms[comp, cols].sum(axis=1), comp @ sc, np.exp(logp)
    order = np.argsort(caps, kind="stable")
    c, sc = caps[order], sc[order]
    n_total = float(c.sum())
    e = s * c / n_total
    f = c - e
    suffix = np.concatenate([np.cumsum(c[::-1])[::-1][1:], [0]])  # capacity of the categories after j
    rem = np.array([s], dtype=np.int64)
    logp = np.zeros(1)
    x2 = np.zeros(1)
    total = np.zeros(1)
    steps = np.arange(s + 1, dtype=np.int64)
    for j in range(c.size):
        log_term = _log_comb(float(c[j]), np.minimum(steps, c[j]).astype(np.float64))
        x2_term = (steps - e[j]) ** 2 * (1.0 / e[j] + 1.0 / f[j])
        t_term = steps * sc[j]
        if j == c.size - 1:
            val = rem
        else:
            lo = np.maximum(0, rem - suffix[j])
            hi = np.minimum(c[j], rem)
            count = np.maximum(hi - lo + 1, 0)
            parent = np.repeat(np.arange(rem.size), count)
            val = lo[parent] + (np.arange(parent.size) - np.repeat(np.cumsum(count) - count, count))
            rem, logp, x2, total = rem[parent] - val, logp[parent], x2[parent], total[parent]
        logp = logp + log_term[val]
        x2 = x2 + x2_term[val]
        total = total + t_term[val]
    logp = logp - _log_comb(n_total, np.asarray(float(s)))
    return x2, total, np.exp(logp)


def _tail_ge(values: FloatArray, prob: FloatArray, observed: FloatArray) -> FloatArray:
    """P(V >= observed) with the tie tolerance of models.stats, for each observed value."""
    threshold = observed - TIE_RTOL * np.maximum(np.abs(observed), 1.0)
    if threshold.size <= 8:  # a few units of this size: one pass each is cheaper than a sort
        return np.minimum(np.array([prob[values >= t].sum() for t in threshold]), 1.0)
    order = np.argsort(values, kind="stable")
    tail = np.concatenate([np.cumsum(prob[order][::-1])[::-1], [0.0]])
    return np.minimum(tail[np.searchsorted(values[order], threshold, side="left")], 1.0)


def family_tests(
    counts: NDArray[np.integer] | NDArray[np.floating],
    scores: NDArray[np.floating] | None = None,
    totals: NDArray[np.integer] | NDArray[np.floating] | None = None,
    *,
    n_mc: int = DEFAULT_N_MC,
    seed: int = DEFAULT_SEED,
    exact_budget: int = DEFAULT_EXACT_BUDGET,
    budget: McBudget | None = None,
) -> FamilyTests:
    """Test every unit row of ``counts`` (units × K) against the rest of ``totals`` (default: column sums).

    ``scores`` are the policy's scores of the K categories (default 0..K-1).
    """
    u_all = np.asarray(counts, dtype=np.float64)
    if u_all.ndim != 2:
        raise ValueError("counts must be a units × categories matrix")
    col_all = u_all.sum(axis=0) if totals is None else np.asarray(totals, dtype=np.float64)
    sc_all = (
        np.arange(u_all.shape[1], dtype=np.float64) if scores is None else np.asarray(scores, dtype=float)
    )
    if np.any(u_all < 0) or np.any(u_all > col_all[None, :]):
        raise ValueError("unit counts must be non-negative and within the totals")
    m = u_all.shape[0]
    keep = col_all > 0
    u, col, sc = u_all[:, keep], col_all[keep], sc_all[keep]
    k_used = int(keep.sum())
    n_total = float(col.sum())

    def nan() -> FloatArray:
        return np.full(m, np.nan)

    loc_t, loc_e, loc_p, dist_x2, dist_p = nan(), nan(), nan(), nan(), nan()
    loc_m = np.full(m, "undefined", dtype=object)
    dist_m = np.full(m, "undefined", dtype=object)
    dof = np.full(m, max(k_used - 1, 0), dtype=np.int64)

    def result() -> FamilyTests:
        return FamilyTests(loc_t, loc_e, loc_p, loc_m.astype(str), dist_x2, dist_p, dist_m.astype(str), dof)

    if m == 0 or k_used < 2:
        return result()
    n_u = u.sum(axis=1)
    ok = (n_u > 0) & (n_u < n_total)
    if not ok.any():
        return result()
    # location: exact permutation moments of T
    mu = float(col @ sc / n_total)
    var_pop = float(col @ (sc - mu) ** 2 / n_total)
    t_obs = u @ sc
    t_exp = n_u * mu
    t_sd = np.sqrt(np.maximum(n_u * var_pop * (n_total - n_u) / (n_total - 1.0), 0.0))
    loc_ok = ok & (t_sd > 0)
    loc_t[ok], loc_e[ok] = t_obs[ok], t_exp[ok]
    # distribution: Pearson X²
    e = n_u[:, None] * col[None, :] / n_total
    f = col[None, :] - e
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = _pearson(u, e, f)
    dist_x2[ok] = x2[ok]
    small = np.sum(e < 5, axis=1) + np.sum(f < 5, axis=1)
    cochran = (np.minimum(e.min(axis=1), f.min(axis=1)) >= 1) & (small <= 0.2 * 2 * k_used)
    asym = ok & cochran
    dist_p[asym] = special.chdtrc(k_used - 1, x2[asym])
    dist_m[asym] = "chi2"

    caps = col.astype(np.int64)
    budget = budget if budget is not None else McBudget()
    # Cochran's rule holds: the normal approximation of T and the χ² approximation of X² are used.
    big = asym & loc_ok
    loc_p[big] = 2.0 * special.ndtr(-np.abs(t_obs[big] - t_exp[big]) / t_sd[big])
    loc_m[big] = "normal"
    for s in sorted({int(v) for v in n_u[ok & ~cochran]}):
        rows = np.flatnonzero(ok & ~cochran & (n_u == s))
        need_dist = rows
        size = enumeration_size(int(s), caps)
        if size <= exact_budget and size <= budget.exact_rows:
            budget.exact_rows -= int(size)
            x2_all, t_all, prob = exact_distribution(int(s), caps, sc)
            lr = rows[loc_ok[rows]]
            if lr.size:
                upper = _tail_ge(t_all, prob, t_obs[lr])
                lower = _tail_ge(-t_all, prob, -t_obs[lr])
                loc_p[lr] = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
                loc_m[lr] = "exact"
            if need_dist.size:
                dist_p[need_dist] = _tail_ge(x2_all, prob, x2[need_dist])
                dist_m[need_dist] = "exact"
            continue
        lr = rows[loc_ok[rows]]
        loc_p[lr] = 2.0 * special.ndtr(-np.abs(t_obs[lr] - t_exp[lr]) / t_sd[lr])
        loc_m[lr] = "normal"
        obs = x2[need_dist]
        if budget.tables >= n_mc:
            budget.tables -= n_mc
            gen = np.random.default_rng(seed)
            sims = gen.multivariate_hypergeometric(caps, int(s), size=n_mc).astype(np.float64)
            es = s * col / n_total
            sim_sorted = np.sort(_pearson(sims, es, col - es))
            n_extreme = sim_sorted.size - np.searchsorted(
                sim_sorted, obs - TIE_RTOL * np.abs(obs), side="left"
            )
            dist_p[need_dist] = (1.0 + n_extreme) / (1.0 + n_mc)
            dist_m[need_dist] = "monte_carlo"
        else:
            dist_p[need_dist] = special.chdtrc(k_used - 1, obs)
            dist_m[need_dist] = "chi2_approx"
    return result()
