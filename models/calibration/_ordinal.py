"""The statistical engine of marts.evaluator_report: cumulative-logit and per-cut-point binomial models fitted
on aggregated cells, fast enough for a million ratings.

Every covariate of these models is categorical (function level, department, cycle), so the ratings collapse
to cells (covariate pattern × evaluator × category) and every likelihood below is a weighted sum over cells.

* ``cumulative_logit`` — the proportional-odds model P(k >= j) = logistic(x'beta - theta_j) without evaluator
  effects: the "average evaluator" of the organisation, and the same parametrisation as statsmodels'
  ``OrderedModel(distr="logit")`` (thresholds theta, coefficients beta; tests compare the two).
* ``location_shifts`` — each evaluator's shift of that model's linear predictor (the ordinal analogue of the
  mean-score shift of marts.evaluator_leniency, a many-facet Rasch "rater severity") by Fisher scoring with
  the average evaluator's parameters held fixed.
* ``binomial_glmm`` — one cut point: logit P(k >= j) = x'beta + b_e with evaluator effects b_e ~ N(0, tau²),
  fitted by penalised Newton steps (the evaluator block of the Hessian is diagonal: each rating has one
  evaluator, so a Schur complement keeps the solve p × p) and tau² by maximising the Laplace approximation of
  the marginal likelihood (the approximation lme4's ``glmer`` uses with nAGQ = 1). tau = 0 gives the plain
  logistic regression (statsmodels ``Logit`` in the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, sparse, special
from scipy import stats as sps

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
NDArrayBool = NDArray[np.bool_]

TAU_MIN = 0.02  # tau at or below this is "no between-evaluator variance the data can see"
TAU_MAX = 5.0
MAX_EFFECT = 8.0  # |log-odds| cap for an evaluator who gives everyone the same side of a cut


def bincount(index: IntArray, weights: FloatArray | None = None, minlength: int = 0) -> FloatArray:
    """numpy.bincount as float64 (sums of weights or counts per group)."""
    return np.asarray(np.bincount(index, weights=weights, minlength=minlength), dtype=np.float64)


def design(columns: list[IntArray]) -> FloatArray:
    """Intercept plus treatment dummies (first level dropped) for each categorical column of the cells."""
    parts = [np.ones((columns[0].size, 1))]
    for codes in columns:
        levels = np.unique(codes)
        for value in levels[1:]:
            parts.append((codes == value).astype(np.float64)[:, None])
    return np.hstack(parts)


# ------------------------------------------------------------------------------------------ cumulative logit
@dataclass(frozen=True)
class CumulativeLogit:
    thresholds: FloatArray  # theta_1 .. theta_{K-1}, increasing
    beta: FloatArray  # coefficients of the design without its intercept column
    eta: FloatArray  # linear predictor x'beta per cell
    converged: bool

    def cumulative(self, shift: FloatArray | float = 0.0) -> FloatArray:
        """P(k >= j) for j = 1..K-1 per cell (rows) at the linear predictor plus ``shift``."""
        eta = self.eta + np.asarray(shift, dtype=np.float64)
        return np.asarray(special.expit(eta[:, None] - self.thresholds[None, :]), dtype=np.float64)


def category_probabilities(cumulative: FloatArray) -> FloatArray:
    """P(k) per row from P(k >= j), j = 1..K-1 (made monotone first, so no probability is negative)."""
    upper = np.minimum.accumulate(np.clip(cumulative, 0.0, 1.0), axis=1)
    ones = np.ones((upper.shape[0], 1))
    zeros = np.zeros((upper.shape[0], 1))
    full = np.hstack([ones, upper, zeros])
    return np.asarray(full[:, :-1] - full[:, 1:], dtype=np.float64)


def _to_thresholds(a: FloatArray) -> FloatArray:
    return np.cumsum(np.concatenate([a[:1], np.exp(a[1:])]))


def cumulative_logit(x: FloatArray, counts: FloatArray) -> CumulativeLogit:
    """Maximum likelihood of the proportional-odds model on cells.

    ``x`` is the cells' design *without* an intercept column (G × p), ``counts`` the ratings per cell and
    category (G × K). Thresholds are parametrised as statsmodels does (first threshold, then log increments),
    so they stay ordered; the optimiser is BFGS with the analytic gradient.
    """
    n_cat = counts.shape[1]
    p = x.shape[1]
    total = counts.sum(axis=0)
    cum = np.cumsum(total[::-1])[::-1][1:] / max(total.sum(), 1.0)  # P(k >= j) overall
    cum = np.clip(cum, 1e-4, 1 - 1e-4)
    theta0 = -special.logit(cum)
    theta0 = np.maximum.accumulate(theta0 + np.arange(n_cat - 1) * 1e-3)
    a0 = np.concatenate([theta0[:1], np.log(np.maximum(np.diff(theta0), 1e-3))])
    start = np.concatenate([np.zeros(p), a0])

    def negloglik(params: FloatArray) -> tuple[float, FloatArray]:
        beta, a = params[:p], params[p:]
        theta = _to_thresholds(a)
        eta = x @ beta
        f = special.expit(eta[:, None] - theta[None, :])  # G × (K-1)
        full = np.hstack([np.ones((f.shape[0], 1)), f, np.zeros((f.shape[0], 1))])
        prob = np.maximum(full[:, :-1] - full[:, 1:], 1e-300)
        ll = float(np.sum(counts * np.log(prob)))
        ratio = counts / prob  # G × K
        d_f = (
            ratio[:, 1:] - ratio[:, :-1]
        )  # dℓ/dF_j, j = 1..K-1 (P_{j-1} = F_{j-1} - F_j, P_j = F_j - F_{j+1})
        slope = d_f * f * (1.0 - f)
        g_beta = x.T @ slope.sum(axis=1)
        g_theta = -slope.sum(axis=0)
        # chain rule through theta = cumsum([a1, exp(a2), ...])
        tail = np.cumsum(g_theta[::-1])[::-1]
        g_a = np.concatenate([tail[:1], tail[1:] * np.exp(a[1:])])
        return -ll, -np.concatenate([g_beta, g_a])

    res = optimize.minimize(negloglik, start, jac=True, method="BFGS", options={"gtol": 1e-6, "maxiter": 400})
    beta, a = res.x[:p], res.x[p:]
    return CumulativeLogit(_to_thresholds(a), beta, x @ beta, bool(res.success))


def _still_moving(
    active: IntArray, moving: NDArrayBool, n_eval: int, row_evaluator: IntArray
) -> tuple[IntArray, NDArrayBool]:
    """The evaluators of `active` whose estimate still moved, and the mask of their rows: a per-evaluator
    Newton loop recomputes only those (the others have stopped where the full loop would stop them)."""
    active = active[moving]
    keep = np.zeros(n_eval, dtype=bool)
    keep[active] = True
    return active, keep[row_evaluator]


@dataclass(frozen=True)
class Shifts:
    shift: FloatArray  # per evaluator: log-odds shift of the linear predictor
    se: FloatArray
    n: FloatArray


def location_shifts(
    model: CumulativeLogit, cell: IntArray, evaluator: IntArray, k: IntArray, n_eval: int
) -> Shifts:
    """Each evaluator's shift of the average evaluator's linear predictor (Fisher scoring, parameters fixed).

    One rating per entry of ``cell`` / ``evaluator`` / ``k`` (category 0..K-1). An evaluator whose ratings all
    sit in the lowest or highest category has no finite estimate: it is held at ±MAX_EFFECT.
    """
    theta = model.thresholds
    n_cat = theta.size + 1
    n = bincount(evaluator, minlength=n_eval).astype(np.float64)
    # The ratings collapse to (cell, evaluator) pairs with a count per category: the shift is per evaluator
    # and the linear predictor per cell, so the score and information of a pair are its counts times those
    # of one rating (far fewer rows than ratings).
    pairs, pair = np.unique(cell.astype(np.int64) * n_eval + evaluator, return_inverse=True)
    counts = bincount(pair * n_cat + k, minlength=pairs.size * n_cat).reshape(pairs.size, n_cat)
    delta = np.zeros(n_eval)
    info = np.zeros(n_eval)
    step = np.zeros(n_eval)
    # The scoring step of an evaluator depends on that evaluator's ratings and shift alone, so an evaluator
    # whose shift no longer changes (converged to the last bit, or held at ±MAX_EFFECT) keeps the same step
    # and information for ever: only the others' pairs are recomputed. The loop stops where iterating
    # everyone would (every step below 1e-8, or 50 rounds): a held evaluator's step stays above 1e-8 and, as
    # before, keeps the loop going, but without any work.
    active = np.arange(n_eval)
    eta, ev, cnt = model.eta[pairs // n_eval], pairs % n_eval, counts
    for _ in range(50):
        f = special.expit((eta + delta[ev])[:, None] - theta[None, :])
        prob = np.empty((f.shape[0], n_cat))
        prob[:, 0] = 1.0 - f[:, 0]
        prob[:, 1:-1] = f[:, :-1] - f[:, 1:]
        prob[:, -1] = f[:, -1]
        np.maximum(prob, 1e-300, out=prob)
        dens = f * (1 - f)
        dprob = np.empty_like(prob)
        dprob[:, 0] = -dens[:, 0]
        dprob[:, 1:-1] = dens[:, :-1] - dens[:, 1:]
        dprob[:, -1] = dens[:, -1]
        ratio = dprob / prob
        score = np.sum(cnt * ratio, axis=1)
        fisher = cnt.sum(axis=1) * np.sum(dprob * ratio, axis=1)
        grad = bincount(ev, weights=score, minlength=n_eval)[active]
        info[active] = bincount(ev, weights=fisher, minlength=n_eval)[active]
        step_a = np.where(info[active] > 0, grad / np.maximum(info[active], 1e-12), 0.0)
        step[active] = np.clip(step_a, -2.0, 2.0)
        before = delta[active]
        delta[active] = np.clip(before + step[active], -MAX_EFFECT, MAX_EFFECT)
        if np.max(np.abs(step)) < 1e-8:
            break
        moving = delta[active] != before
        if not moving.all():
            active, keep = _still_moving(active, moving, n_eval, ev)
            eta, ev, cnt = eta[keep], ev[keep], cnt[keep]
        if active.size == 0:
            break
    se = np.where(info > 0, 1.0 / np.sqrt(np.maximum(info, 1e-12)), np.nan)
    return Shifts(delta, se, n)


def score_moments(model: CumulativeLogit, cell: IntArray, shift: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Expected category position (0..K-1) and its variance per rating under the model plus a shift."""
    prob = category_probabilities(
        special.expit((model.eta[cell] + shift)[:, None] - model.thresholds[None, :])
    )
    pos = np.arange(prob.shape[1], dtype=np.float64)
    mean = prob @ pos
    var = prob @ pos**2 - mean**2
    return mean, np.maximum(var, 1e-12)


# ------------------------------------------------------------------------------------------ binomial GLMM
@dataclass(frozen=True)
class GlmmFit:
    beta: FloatArray
    b: FloatArray  # conditional modes of the evaluator effects (0 where tau = 0)
    se_b: FloatArray  # conditional posterior SD of b (nan where tau = 0)
    h: FloatArray  # binomial information per evaluator at the fit
    tau: float
    loglik_laplace: float
    eta: FloatArray  # x'beta per covariate cell


def _fit_at(
    x: FloatArray,
    pair_cell: IntArray,
    pair_eval: IntArray,
    n: FloatArray,
    y: FloatArray,
    n_eval: int,
    tau: float,
    start: tuple[FloatArray, FloatArray] | None = None,
    layout: tuple[IntArray, sparse.csr_matrix] | None = None,
) -> GlmmFit:
    """Penalised Newton for one tau (tau = 0: no evaluator effects, a plain logistic regression).
    ``layout`` is _evaluator_cells of the pairs (built here when not given)."""
    p = x.shape[1]
    beta = np.zeros(p) if start is None else start[0].copy()
    b = np.zeros(n_eval) if start is None or tau == 0 else start[1].copy()
    if start is None:
        rate = np.clip(y.sum() / max(n.sum(), 1.0), 1e-4, 1 - 1e-4)
        beta[0] = special.logit(rate)
    prec = 0.0 if tau == 0 else 1.0 / tau**2
    n_cells = x.shape[0]
    by_eval, zwc = layout if layout is not None else _evaluator_cells(pair_cell, pair_eval, n_eval, n_cells)
    ridge = 1e-8 * np.eye(p)

    def linear(beta_: FloatArray, b_: FloatArray) -> FloatArray:
        return np.asarray((x @ beta_)[pair_cell] + b_[pair_eval], dtype=np.float64)

    def objective(beta_: FloatArray, b_: FloatArray) -> tuple[float, FloatArray]:
        """The penalised log-likelihood, and the linear predictor it was computed at (the next step's)."""
        lin = linear(beta_, b_)
        ll = float(np.sum(y * lin - n * np.logaddexp(0.0, lin)))
        return ll - 0.5 * prec * float(b_ @ b_), lin

    current, lin = objective(beta, b)
    h = np.zeros(n_eval)
    for _ in range(40):
        mu = special.expit(lin)
        w = n * mu * (1 - mu)
        resid = y - n * mu
        w_cell = bincount(pair_cell, weights=w, minlength=n_cells)
        g_beta = x.T @ bincount(pair_cell, weights=resid, minlength=n_cells)
        i_bb = (x * w_cell[:, None]).T @ x + ridge
        h = bincount(pair_eval, weights=w, minlength=n_eval)
        if tau == 0:
            step_beta = np.linalg.solve(i_bb, g_beta)
            step_b = np.zeros(n_eval)
        else:
            g_b = bincount(pair_eval, weights=resid, minlength=n_eval) - prec * b
            d = h + prec
            # M = X'W Z (p × evaluators) = (Z'W C) X: the evaluators × cells matrix of the pairs' weights
            zwc.data = w[by_eval]
            m = np.ascontiguousarray(np.asarray(zwc @ x).T)
            schur = i_bb - (m / d[None, :]) @ m.T
            rhs = g_beta - m @ (g_b / d)
            step_beta = np.linalg.solve(schur, rhs)
            step_b = (g_b - m.T @ step_beta) / d
        # step halving keeps every step uphill (separation: coefficients run off slowly, never jump)
        scale = 1.0
        for _half in range(30):
            cand_beta, cand_b = beta + scale * step_beta, b + scale * step_b
            value, cand_lin = objective(cand_beta, cand_b)
            if value >= current - 1e-12:
                break
            scale /= 2
        beta, b, lin = cand_beta, cand_b, cand_lin
        gain = value - current
        current = value
        # relative gain: under separation a coefficient drifts off for ever while the fit no longer changes
        if abs(gain) < 1e-10 * (1.0 + abs(current)):
            break
    mu = special.expit(lin)
    h = bincount(pair_eval, weights=n * mu * (1 - mu), minlength=n_eval)
    if tau == 0:
        laplace = current
        se_b = np.full(n_eval, np.nan)
    else:
        laplace = current - 0.5 * float(np.sum(np.log1p(tau**2 * h)))
        se_b = 1.0 / np.sqrt(h + prec)
    return GlmmFit(beta, b, se_b, h, tau, laplace, x @ beta)


def _evaluator_cells(
    pair_cell: IntArray, pair_eval: IntArray, n_eval: int, n_cells: int
) -> tuple[IntArray, sparse.csr_matrix]:
    """The evaluators × cells sparse pattern of the pairs (CSR rows in stable evaluator order) and that order.

    X'WZ (p × evaluators) is Z'WC X with C the pairs' cell one-hot: this matrix, filled with the pairs'
    weights, times the cells' design. Its pattern is fixed, so it is built once per cut point and each Newton
    step only refills its data: no pairs × p array is materialised (that dense intermediate, summed per
    evaluator, was most of the report's time and memory at scale). X'WX and X'r are sums over the covariate
    cells (few) rather than over the pairs (many)."""
    by_eval = np.argsort(pair_eval, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(pair_eval, minlength=n_eval))])
    pattern = sparse.csr_matrix((np.zeros(by_eval.size), pair_cell[by_eval], indptr), shape=(n_eval, n_cells))
    return by_eval, pattern


def binomial_glmm(
    x: FloatArray, pair_cell: IntArray, pair_eval: IntArray, n: FloatArray, y: FloatArray, n_eval: int
) -> tuple[GlmmFit, GlmmFit, float]:
    """The tau = 0 fit, the fit at the Laplace-ML tau, and the p-value of the test of tau² = 0.

    Pairs are (covariate cell, evaluator) with n ratings of which y at or above the cut. The likelihood-ratio
    test of a variance on the boundary uses the 50:50 mixture of chi²(0) and chi²(1) (Self & Liang 1987).
    """
    layout = _evaluator_cells(pair_cell, pair_eval, n_eval, x.shape[0])
    null = _fit_at(x, pair_cell, pair_eval, n, y, n_eval, 0.0, layout=layout)
    cache: dict[float, GlmmFit] = {}

    def start(log_tau: float) -> tuple[FloatArray, FloatArray]:
        """Newton starts from the fit at the nearest tau tried so far (the optimum is unique for each tau,
        so the start changes only how many steps it takes to get there), else from the null fit."""
        if not cache:
            return null.beta, np.zeros(n_eval)
        nearest = cache[min(cache, key=lambda tried: abs(tried - log_tau))]
        return nearest.beta, nearest.b

    def neg(log_tau: float) -> float:
        tau = float(math.exp(log_tau))
        fit = _fit_at(x, pair_cell, pair_eval, n, y, n_eval, tau, start(log_tau), layout)
        cache[log_tau] = fit
        return -fit.loglik_laplace

    res = optimize.minimize_scalar(
        neg, bounds=(math.log(TAU_MIN / 2), math.log(TAU_MAX)), method="bounded", options={"xatol": 0.1}
    )
    best = cache.get(float(res.x)) or _fit_at(
        x, pair_cell, pair_eval, n, y, n_eval, float(math.exp(res.x)), (null.beta, np.zeros(n_eval)), layout
    )
    lr = max(0.0, 2.0 * (best.loglik_laplace - null.loglik_laplace))
    p_tau = 0.5 * float(sps.chi2.sf(lr, 1)) if lr > 0 else 1.0
    return null, best, p_tau


def conditional_effects(
    eta_pair: FloatArray, pair_eval: IntArray, n: FloatArray, y: FloatArray, n_eval: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Each evaluator's own log-odds shift of the average evaluator's prediction (unpenalised, 1-D Newton per
    evaluator with the covariate effects fixed), its SE, and the expected count and its variance under no
    shift. An all-or-nothing evaluator is estimated with half a rating moved (Haldane's correction)."""
    obs = bincount(pair_eval, weights=y, minlength=n_eval)
    tot = bincount(pair_eval, weights=n, minlength=n_eval)
    p0 = special.expit(eta_pair)
    expected = bincount(pair_eval, weights=n * p0, minlength=n_eval)
    variance = bincount(pair_eval, weights=n * p0 * (1 - p0), minlength=n_eval)
    target = np.clip(obs, 0.5, np.maximum(tot - 0.5, 0.5))
    b = np.zeros(n_eval)
    step = np.zeros(n_eval)
    # Separable per evaluator: as in location_shifts, an evaluator whose effect no longer changes keeps its
    # step, so only the moving evaluators' pairs are recomputed; same stopping point, same numbers.
    active = np.arange(n_eval)
    eta_a, ev_a, n_a = eta_pair, pair_eval, n
    for _ in range(60):
        mu = special.expit(eta_a + b[ev_a])
        got = bincount(ev_a, weights=n_a * mu, minlength=n_eval)[active]
        info = bincount(ev_a, weights=n_a * mu * (1 - mu), minlength=n_eval)[active]
        step_a = np.where(info > 0, (target[active] - got) / np.maximum(info, 1e-12), 0.0)
        step[active] = np.clip(step_a, -2.0, 2.0)
        before = b[active]
        b[active] = np.clip(before + step[active], -MAX_EFFECT, MAX_EFFECT)
        if np.max(np.abs(step), initial=0.0) < 1e-9:
            break
        moving = b[active] != before
        if not moving.all():
            active, keep = _still_moving(active, moving, n_eval, ev_a)
            eta_a, ev_a, n_a = eta_a[keep], ev_a[keep], n_a[keep]
        if active.size == 0:
            break
    mu = special.expit(eta_pair + b[pair_eval])
    info = bincount(pair_eval, weights=n * mu * (1 - mu), minlength=n_eval)
    se = np.where(info > 0, 1.0 / np.sqrt(np.maximum(info, 1e-12)), np.nan)
    # All-or-nothing evaluators: the empirical-logit difference with the same half rating on both sides, so
    # an evaluator who, like everyone, gives nobody the lowest outcome is not "8 logits below" anyone.
    edge = (obs <= 0) | (obs >= tot)
    if edge.any():
        hi = np.maximum(tot - 0.5, 0.5)
        o, e = np.clip(obs, 0.5, hi), np.clip(expected, 0.5, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            emp = np.log(o / (tot - o)) - np.log(e / (tot - e))
            emp_se = np.sqrt(1 / (o + 0.5) + 1 / (tot - o + 0.5))
        b = np.where(edge, np.clip(emp, -MAX_EFFECT, MAX_EFFECT), b)
        se = np.where(edge, emp_se, se)
    return b, se, expected, variance


def leave_evaluator_out(
    eta_pair: FloatArray,
    pair_stratum: IntArray,
    pair_eval: IntArray,
    n: FloatArray,
    y: FloatArray,
    n_eval: int,
) -> FloatArray:
    """The linear predictor of each (cell, evaluator) pair with its stratum's effect re-estimated without
    that evaluator's ratings (one Newton step from the full fit).

    At the full fit the residuals of a stratum (a fixed effect, e.g. the department) sum to zero, so the
    evaluator's own residual R_e is balanced by the others'; dropping the evaluator moves the stratum's
    effect by about -R_e / I_others (I = binomial information). Without that, an evaluator who makes up a
    quarter of their department lifts the department's expectation and hides a quarter of their own
    leniency. A stratum with no other evaluator gets nan (nothing to compare with)."""
    mu = special.expit(eta_pair)
    resid = y - n * mu
    info = n * mu * (1 - mu)
    n_strata = int(pair_stratum.max()) + 1 if pair_stratum.size else 0
    key = pair_stratum * n_eval + pair_eval
    r_se = bincount(key, weights=resid, minlength=n_strata * n_eval)[key]
    i_se = bincount(key, weights=info, minlength=n_strata * n_eval)[key]
    i_s = bincount(pair_stratum, weights=info, minlength=n_strata)[pair_stratum]
    others = i_s - i_se
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(others > 1e-9, -r_se / others, np.nan)
    return np.asarray(eta_pair + np.clip(shift, -MAX_EFFECT, MAX_EFFECT), dtype=np.float64)


def binomial_test_two_sided(observed: FloatArray, n: FloatArray, p: FloatArray) -> FloatArray:
    """Two-sided exact binomial p-value (doubling the smaller tail), vectorised. Used with the average
    probability of an evaluator's ratings: the binomial has at least the variance of the Poisson-binomial of
    unequal probabilities, so the test is conservative."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    lower = sps.binom.cdf(observed, n, p)
    upper = sps.binom.sf(observed - 1, n, p)
    return np.asarray(np.minimum(1.0, 2.0 * np.minimum(lower, upper)), dtype=np.float64)
