"""Calibration impact (issue 10): what the calibration meeting did to the evaluators' proposed ratings.

Evaluations may carry ``proposed_rating`` (the evaluator's proposal) next to ``rating`` (the final, calibrated
rating). Every person with both on the policy's scale has a *move*: up, down or none, by a number of scale
steps (positions on the policy's ordered scale). From the moves, five marts (docs/marts/calibration_impact.md):

* ``marts.calibration_impact`` — per unit (organisation, department, function level, evaluator): how many
  ratings moved, up and down, by how many steps, with Wilson intervals, and the mean score before and after.
* ``marts.calibration_distribution`` — per unit and rating: the distribution of proposals and final ratings.
* ``marts.calibration_moves`` — per group of every fairness attribute, department and evaluator: the rate of
  being moved down (and up) against a reference group with a Wilson interval, Fisher exact p,
  Benjamini–Hochberg q, Cohen's h and the Mantel–Haenszel odds ratio within function level (CMH test).
* ``marts.calibration_moves_strata`` — the same comparison inside each function level.
* ``marts.calibration_spread`` — did calibration narrow or widen the differences between units (SD of the unit
  mean scores, jackknife interval of its change) and between groups (gap between group mean scores; the change
  of a gap is the difference of the groups' mean score changes, Student's t), with a sentence in nl and en.

Every mart has a ``period``: ``cycle`` (one cycle) or ``window`` (the last ``calibration_impact.window_cycles``
cycles of the organisation's data up to ``cycle``, pooled; stratified statistics then use function level ×
cycle). Calibration moves are rare and units small, so one cycle often lacks the power a window has.

How it runs: strings are encoded once to dense integer codes (codes follow the sorted names), every count and
sum is one ``numpy.bincount`` per cube, periods are differences of cumulative sums over the cycle axis, and the
tests run on whole arrays (:func:`models.fairness.fisher_exact_pvalues`,
:func:`models.fairness.stratified_odds_ratios`, :func:`models.stats.wilson_interval`,
:func:`models.stats.benjamini_hochberg`) — no Python loop over people. Attributes (age band, part-time) are
derived by :func:`models.fairness.person_frame`, so the fairness and calibration marts group people alike.
Rule values come from the policy: ``fairness`` (attributes, age bands, part-time, reference groups,
compare_with_organisation, confidence level), ``metrics`` (min_n_flag, practical_effect, fdr),
``disclosure.min_group_size`` and ``calibration_impact.window_cycles``. Organisations or cycles without
proposed ratings produce no rows. No function here logs or raises with data values.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from models.errors import ConfigError
from models.fairness import (
    REST,
    FairnessConfig,
    fairness_config,
    fisher_exact_pvalues,
    group_phrase,
    person_frame,
    stratified_odds_ratios,
)
from models.policy import Policy
from models.stats import benjamini_hochberg, wilson_interval

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

GROUPINGS = ("organization", "department", "function_level", "evaluator")  # units of calibration_impact
SPREAD_GROUPINGS = ("department", "function_level", "evaluator")  # spread of unit mean scores
UNIT_ATTRIBUTES = ("department", "evaluator")  # units also tested as groups, always against the rest
DIRECTIONS = ("down", "up")
PERIOD_CYCLE, PERIOD_WINDOW = "cycle", "window"
PK = ["organization", "period", "first_cycle", "cycle"]  # the key every mart starts with
LEVEL = "function_level"
MISSING = "(onbekend)"  # a required unit column that is empty anyway (contract-violating data) groups here

NARROWED, WIDENED, NO_CLEAR_CHANGE = "narrowed", "widened", "no_clear_change"


# --------------------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImpactConfig:
    """The rule values of the calibration impact marts, all from one policy."""

    fairness: FairnessConfig  # attributes, age bands, part-time, references, level, fdr, min n's, effect
    window_cycles: int

    @property
    def level(self) -> float:
        return self.fairness.level

    @property
    def min_group_size(self) -> int:
        return self.fairness.min_group_size

    @property
    def rest_attributes(self) -> frozenset[str]:
        """Attributes whose groups are compared with the rest of the organisation."""
        return self.fairness.compare_with_organisation | frozenset(UNIT_ATTRIBUTES)

    @property
    def attributes(self) -> tuple[str, ...]:
        """Grouping attributes of calibration_moves: the fairness attributes, department and evaluator."""
        return tuple(dict.fromkeys([*self.fairness.attributes, *UNIT_ATTRIBUTES]))

    @property
    def strata_attributes(self) -> tuple[str, ...]:
        """Attributes compared inside each function level (calibration_moves_strata)."""
        return tuple(a for a in self.fairness.attributes if a != LEVEL and a not in UNIT_ATTRIBUTES)

    @property
    def gap_attributes(self) -> tuple[str, ...]:
        """Attributes whose groups get a gap in calibration_spread (those with a reference group)."""
        return tuple(a for a in self.fairness.attributes if a not in self.rest_attributes)


def impact_config(
    policy: Policy, extra_attributes: Sequence[str] = (), available: Sequence[str] | None = None
) -> ImpactConfig:
    """The policy's settings; attributes as :func:`models.fairness.fairness_config` (calibra.yaml extras)."""
    window = policy.typed.calibration_impact.window_cycles
    if window is None:
        raise ConfigError(
            f"policy {policy.id} lacks calibration_impact.window_cycles, which the calibration impact marts need"
        )
    if int(window) < 1:
        raise ConfigError(f"policy {policy.id}: calibration_impact.window_cycles must be at least 1")
    return ImpactConfig(
        fairness=fairness_config(policy, extra_attributes, available), window_cycles=int(window)
    )


# --------------------------------------------------------------------------------------------------------------
# Moves, encoded
# --------------------------------------------------------------------------------------------------------------


def move_frame(evaluations: pl.DataFrame, policy: Policy, config: ImpactConfig) -> pl.DataFrame:
    """One organisation's moves: cycle, department, function level, evaluator, attribute columns ``a:<attr>``,
    proposed and final position on the scale (0 = lowest, ``p_pos``, ``f_pos``), their policy scores and
    ``move`` (f_pos - p_pos, in scale steps). Rows without a proposal or a final rating on the scale are left
    out; the attributes are derived by :func:`models.fairness.person_frame` (one definition for both marts)."""
    codes = policy.rating_codes
    position = {c: i for i, c in enumerate(codes)}
    score = {i: float(policy.rating_scores[c]) for i, c in enumerate(codes)}
    base = evaluations.with_columns(
        pl.col("proposed_rating")
        .cast(pl.String)
        .replace_strict(position, default=None, return_dtype=pl.Int64)
        .alias("_p"),
        pl.col("rating")
        .cast(pl.String)
        .replace_strict(position, default=None, return_dtype=pl.Int64)
        .alias("_f"),
    ).filter(pl.col("_p").is_not_null() & pl.col("_f").is_not_null())
    attrs = person_frame(base, policy, config.fairness, []).select(
        [f"a:{a}" for a in config.fairness.attributes]
    )
    moves = pl.concat(
        [
            base.select(
                pl.col("cycle").cast(pl.Int64),
                pl.col("department").cast(pl.String).fill_null(MISSING),
                pl.col(LEVEL).cast(pl.String).fill_null(MISSING),
                pl.col("evaluator_id").cast(pl.String).fill_null(MISSING).alias("evaluator"),
                pl.col("_p").alias("p_pos"),
                pl.col("_f").alias("f_pos"),
                pl.col("_p").replace_strict(score, return_dtype=pl.Float64).alias("p_score"),
                pl.col("_f").replace_strict(score, return_dtype=pl.Float64).alias("f_score"),
                (pl.col("_f") - pl.col("_p")).alias("move"),
            ),
            attrs,
        ],
        how="horizontal",
    )
    return moves.with_columns(
        *[pl.col(a).alias(f"a:{a}") for a in UNIT_ATTRIBUTES if f"a:{a}" not in moves.columns]
    )


def encode(series: pl.Series) -> tuple[IntArray, pl.Series]:
    """Dense integer codes (-1 for null) and the sorted distinct names they index."""
    s = series.cast(pl.String)
    names = s.drop_nulls().unique().sort()
    if names.len() == 0:
        return np.full(s.len(), -1, dtype=np.int64), names
    codes = s.cast(pl.Enum(names.to_list())).to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
    return np.asarray(codes, dtype=np.int64), names


@dataclass(frozen=True)
class Periods:
    """The periods of one organisation: every cycle alone, then every window of more than one cycle.

    ``lo``/``hi`` index the first and last cycle of each period in ``cycles`` (sorted); ``frame`` holds the
    key columns (period, first_cycle, cycle) in this order, which is also the marts' sort order."""

    cycles: IntArray
    lo: IntArray
    hi: IntArray
    frame: pl.DataFrame

    @property
    def size(self) -> int:
        return int(self.lo.size)

    def stack(self, per_cycle: NDArray[Any]) -> NDArray[Any]:
        """Sum an array with the cycle on its first axis into periods: (C, ...) -> (P, ...)."""
        zero = np.zeros((1, *per_cycle.shape[1:]), dtype=per_cycle.dtype)
        cum = np.concatenate([zero, np.cumsum(per_cycle, axis=0)])
        return np.asarray(cum[self.hi + 1] - cum[self.lo])

    def rows(self, index: IntArray) -> pl.DataFrame:
        """The key columns of the periods at ``index`` (one row per entry)."""
        return self.frame[np.asarray(index, dtype=np.int64).tolist()] if index.size else self.frame.clear()


def make_periods(cycles: Sequence[int], window: int) -> Periods:
    """Every cycle (period ``cycle``) and, where it spans more than one cycle, the window of the last
    ``window`` cycles present up to each cycle (period ``window``)."""
    ordered = np.asarray(sorted({int(c) for c in cycles}), dtype=np.int64)
    idx = np.arange(ordered.size)
    w_lo = np.maximum(0, idx - window + 1)
    wide = idx > w_lo
    lo = np.concatenate([idx, w_lo[wide]])
    hi = np.concatenate([idx, idx[wide]])
    frame = pl.DataFrame(
        {
            "period": [PERIOD_CYCLE] * ordered.size + [PERIOD_WINDOW] * int(wide.sum()),
            "first_cycle": ordered[lo],
            "cycle": ordered[hi],
        },
        schema={"period": pl.String, "first_cycle": pl.Int64, "cycle": pl.Int64},
    )
    return Periods(ordered, lo.astype(np.int64), hi.astype(np.int64), frame)


@dataclass
class Coded:
    """One organisation's moves as arrays: cycle index, positions, scores and the codes of every grouping."""

    c: IntArray  # index into Periods.cycles
    move: IntArray
    p: IntArray
    f: IntArray
    ps: FloatArray
    fs: FloatArray
    keys: dict[str, tuple[IntArray, pl.Series]]  # grouping or attribute -> (codes, sorted names)
    n_cycles: int
    k: int  # positions on the scale

    def key(self, name: str) -> tuple[IntArray, pl.Series]:
        return self.keys[name]


def code_moves(moves: pl.DataFrame, periods: Periods, org: str, config: ImpactConfig, k: int) -> Coded:
    cycle = moves["cycle"].to_numpy()
    keys: dict[str, tuple[IntArray, pl.Series]] = {
        "organization": (np.zeros(moves.height, dtype=np.int64), pl.Series([org], dtype=pl.String))
    }
    for name in ("department", LEVEL, "evaluator"):
        keys[name] = encode(moves[name])
    for attr in config.attributes:
        if attr not in keys:
            keys[attr] = encode(moves[f"a:{attr}"])
    return Coded(
        c=np.searchsorted(periods.cycles, cycle).astype(np.int64),
        move=moves["move"].to_numpy().astype(np.int64),
        p=moves["p_pos"].to_numpy().astype(np.int64),
        f=moves["f_pos"].to_numpy().astype(np.int64),
        ps=moves["p_score"].to_numpy().astype(np.float64),
        fs=moves["f_score"].to_numpy().astype(np.float64),
        keys=keys,
        n_cycles=periods.cycles.size,
        k=k,
    )


def _bincount(key: IntArray, size: int, weights: ArrayLike | None = None) -> FloatArray:
    return np.bincount(key, weights=weights, minlength=size).astype(np.float64)


# --------------------------------------------------------------------------------------------------------------
# Small vectorised statistics
# --------------------------------------------------------------------------------------------------------------


def cohens_h(p1: ArrayLike, p2: ArrayLike) -> FloatArray:
    """Cohen's h = 2 asin(sqrt p1) - 2 asin(sqrt p2): the standardised difference of two proportions (Cohen
    1988, ch. 6), on the scale ``metrics.practical_effect`` uses. nan where either proportion is nan."""
    a, b = np.asarray(p1, dtype=np.float64), np.asarray(p2, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.asarray(2.0 * np.arcsin(np.sqrt(a)) - 2.0 * np.arcsin(np.sqrt(b)), dtype=np.float64)


def pooled_t_difference(
    sum1: ArrayLike,
    sumsq1: ArrayLike,
    n1: ArrayLike,
    sum2: ArrayLike,
    sumsq2: ArrayLike,
    n2: ArrayLike,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Student's two-sample t test of mean1 - mean2 from sums and sums of squares, vectorised:
    (difference, p, ci_low, ci_high).

    The statistic, df = n1 + n2 - 2 and interval of ``scipy.stats.ttest_ind(equal_var=True)`` and its
    ``confidence_interval``. Why the pooled variance: the null hypothesis is that calibration treats both
    groups alike (one distribution of moves), and a small group in which nobody was moved has a sample variance
    of 0, which would make Welch's test treat its mean as exactly known. n1 or n2 of 0, n1 + n2 < 3 or a zero
    standard error give nan (the difference itself is given whenever both groups have people)."""
    s1, q1, a, s2, q2, b = (np.asarray(x, dtype=np.float64) for x in (sum1, sumsq1, n1, sum2, sumsq2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, m2 = s1 / a, s2 / b
        ss = np.maximum(q1 - s1 * m1, 0.0) + np.maximum(q2 - s2 * m2, 0.0)
        df = a + b - 2.0
        se = np.sqrt(ss / df * (1.0 / a + 1.0 / b))
        ok = (a > 0) & (b > 0) & (df > 0) & (se > 0) & np.isfinite(se)
        df_safe = np.where(ok, df, 1.0)
        diff = np.where((a > 0) & (b > 0), m1 - m2, np.nan)
        t = np.where(ok, diff / np.where(ok, se, 1.0), np.nan)
        p = np.where(ok, 2.0 * sps.t.sf(np.abs(t), df_safe), np.nan)
        half = np.where(ok, sps.t.ppf(0.5 + level / 2.0, df_safe) * se, np.nan)
    return (
        np.asarray(diff, dtype=np.float64),
        np.asarray(p, dtype=np.float64),
        np.asarray(diff - half, dtype=np.float64),
        np.asarray(diff + half, dtype=np.float64),
    )


def _null_if_nan(name: str, values: ArrayLike) -> pl.Series:
    arr = np.asarray(values, dtype=np.float64)
    return pl.Series(name, np.where(np.isfinite(arr), arr, np.nan), dtype=pl.Float64).fill_nan(None)


def _bh_families(
    frame: pl.DataFrame, p_col: str, family: IntArray, eligible: str = "_eligible"
) -> FloatArray:
    """Benjamini–Hochberg q-values of ``p_col`` within each family id, over the rows where ``eligible``."""
    if frame.height == 0:
        return np.zeros(0)
    pv = frame.select(pl.when(pl.col(eligible)).then(pl.col(p_col)).fill_null(np.nan)).to_series().to_numpy()
    pv = pv.astype(np.float64)
    order = np.argsort(family, kind="stable")
    fam = family[order]
    bounds = np.flatnonzero(np.r_[True, fam[1:] != fam[:-1], True])
    q = np.full(frame.height, np.nan)
    for s, e in itertools.pairwise(bounds):
        rows = order[s:e]
        if np.isfinite(pv[rows]).any():
            q[rows] = benjamini_hochberg(pv[rows])
    return q


def jackknife_sd_change(
    before: ArrayLike, after: ArrayLike, level: float = 0.95
) -> tuple[float, float, float]:
    """SD(after) - SD(before) over units (sample SDs, ddof 1) with a jackknife interval: (change, lo, hi).

    Leave-one-unit-out values θ_i of the change give SE² = (U - 1)/U Σ(θ_i - θ̄)² (Efron & Tibshirani 1993,
    ch. 11) and the interval change ± t(U - 1) SE. Units are what varies from one cycle or organisation to the
    next, and each unit keeps its pair of means. The leave-one-out SDs come from centred sums in O(U), so
    thousands of evaluators cost nothing. Fewer than 3 units give nan for the interval (and for the change
    with fewer than 2)."""
    b, a = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    u = b.size
    if u < 2:
        return math.nan, math.nan, math.nan
    change = float(np.std(a, ddof=1) - np.std(b, ddof=1))
    if u < 3:
        return change, math.nan, math.nan

    def loo_sd(x: FloatArray) -> FloatArray:
        d = x - x.mean()
        s1, s2 = d.sum(), (d**2).sum()
        m = u - 1
        return np.asarray(
            np.sqrt(np.maximum((s2 - d**2) - (s1 - d) ** 2 / m, 0.0) / (m - 1)), dtype=np.float64
        )

    theta = loo_sd(a) - loo_sd(b)
    se = math.sqrt((u - 1) / u * float(np.sum((theta - theta.mean()) ** 2)))
    half = float(sps.t.ppf(0.5 + level / 2.0, u - 1)) * se
    return change, change - half, change + half


def _wilson(count: ArrayLike, n: ArrayLike, level: float) -> tuple[FloatArray, FloatArray]:
    """:func:`models.stats.wilson_interval`, computed once per distinct (count, n) pair (many units share one)."""
    c, m = np.asarray(count, dtype=np.int64), np.asarray(n, dtype=np.int64)
    if c.size == 0:
        return np.zeros(0), np.zeros(0)
    width = int(m.max()) + 1
    pairs, inverse = np.unique(c * width + m, return_inverse=True)
    lo, hi = wilson_interval(pairs // width, pairs % width, level)
    inverse = inverse.ravel()
    return lo[inverse], hi[inverse]


# --------------------------------------------------------------------------------------------------------------
# marts.calibration_impact and marts.calibration_distribution (units)
# --------------------------------------------------------------------------------------------------------------


def _unit_arrays(coded: Coded, periods: Periods, grouping: str) -> tuple[dict[str, NDArray[Any]], pl.Series]:
    """Per period × unit: n, moves up / down, multi-step moves, steps, max steps and score sums."""
    codes, names = coded.key(grouping)
    n_units = names.len()
    size = coded.n_cycles * n_units
    key = coded.c * n_units + codes
    mv = coded.move
    sums = {
        "n": _bincount(key, size),
        "n_up": _bincount(key, size, mv > 0),
        "n_down": _bincount(key, size, mv < 0),
        "n_multi_step": _bincount(key, size, np.abs(mv) > 1),
        "steps_up": _bincount(key, size, np.maximum(mv, 0)),
        "steps_down": _bincount(key, size, np.maximum(-mv, 0)),
        "_p": _bincount(key, size, coded.ps),
        "_pp": _bincount(key, size, coded.ps**2),
        "_f": _bincount(key, size, coded.fs),
        "_ff": _bincount(key, size, coded.fs**2),
    }
    out: dict[str, NDArray[Any]] = {
        k: periods.stack(v.reshape(coded.n_cycles, n_units)) for k, v in sums.items()
    }
    # Largest move per unit: counts per (unit, |move|) (|move| < k), then the highest step size used.
    steps = _bincount(key * coded.k + np.abs(mv), size * coded.k).reshape(coded.n_cycles, n_units, coded.k)
    per_cycle = np.where(steps > 0, np.arange(coded.k), 0).max(axis=2)
    out["max_steps"] = np.stack(
        [per_cycle[lo : hi + 1].max(axis=0) for lo, hi in zip(periods.lo, periods.hi, strict=True)]
    )
    return out, names


def _units(coded: Coded, periods: Periods, config: ImpactConfig) -> tuple[pl.DataFrame, dict[str, Any]]:
    """marts.calibration_impact (before the organisation column) and the per-grouping arrays for the spread."""
    parts, arrays = [], {}
    for g in sorted(GROUPINGS):
        arr, names = _unit_arrays(coded, periods, g)
        arrays[g] = (arr, names)
        pi, ui = np.nonzero(arr["n"] > 0)
        cols = {k: v[pi, ui] for k, v in arr.items()}
        parts.append(
            periods.rows(pi).with_columns(
                pl.lit(g).alias("grouping"),
                names.gather(ui).alias("unit"),
                *[pl.Series(k, v.astype(np.int64)) for k, v in cols.items() if not k.startswith("_")],
                *[pl.Series(k, v) for k, v in cols.items() if k.startswith("_")],
                pl.Series("_pi", pi),
            )
        )
    units = pl.concat(parts).sort("_pi", maintain_order=True)  # groupings come sorted, units by code
    n = units["n"].to_numpy()
    cis = []
    for name, count in (
        ("moved", units["n_up"].to_numpy() + units["n_down"].to_numpy()),
        ("up", units["n_up"].to_numpy()),
        ("down", units["n_down"].to_numpy()),
    ):
        lo, hi = _wilson(count, n, config.level)
        cis += [_null_if_nan(f"{name}_ci_low", lo), _null_if_nan(f"{name}_ci_high", hi)]
    n_ = pl.col("n")
    units = units.with_columns(
        (pl.col("n_up") + pl.col("n_down")).alias("n_moved"),
        (n_ - pl.col("n_up") - pl.col("n_down")).alias("n_unchanged"),
        ((pl.col("n_up") + pl.col("n_down")) / n_).alias("moved_rate"),
        (pl.col("n_up") / n_).alias("up_rate"),
        (pl.col("n_down") / n_).alias("down_rate"),
        (pl.col("steps_up") - pl.col("steps_down")).alias("net_steps"),
        ((pl.col("steps_up") - pl.col("steps_down")) / n_).alias("mean_move"),
        ((pl.col("steps_up") + pl.col("steps_down")) / n_).alias("mean_abs_move"),
        (pl.col("_p") / n_).alias("mean_proposed_score"),
        (pl.col("_f") / n_).alias("mean_final_score"),
        ((pl.col("_f") - pl.col("_p")) / n_).alias("mean_score_change"),
        _sd("_p", "_pp", "n").alias("sd_proposed_score"),
        _sd("_f", "_ff", "n").alias("sd_final_score"),
        (n_ >= config.min_group_size).alias("publishable"),
        *cis,
    )
    return units, arrays


def _sd(s: str, ss: str, n: str) -> pl.Expr:
    """Sample SD (ddof 1) from a sum and a sum of squares; null below 2."""
    var = (pl.col(ss) - pl.col(s) ** 2 / pl.col(n)) / (pl.col(n) - 1)
    return pl.when(pl.col(n) >= 2).then(var.clip(lower_bound=0.0).sqrt())


def _distribution(coded: Coded, periods: Periods, policy: Policy, config: ImpactConfig) -> pl.DataFrame:
    """marts.calibration_distribution (before the organisation column): every rating of the scale per unit."""
    codes = policy.rating_codes
    k = len(codes)
    rating = pl.Series("rating", codes, dtype=pl.String)
    score = np.asarray([float(policy.rating_scores[c]) for c in codes])
    parts = []
    for g in sorted(GROUPINGS):
        unit_codes, names = coded.key(g)
        n_units = names.len()
        size = coded.n_cycles * n_units * k
        base = (coded.c * n_units + unit_codes) * k
        prop = periods.stack(_bincount(base + coded.p, size).reshape(coded.n_cycles, n_units, k))
        fin = periods.stack(_bincount(base + coded.f, size).reshape(coded.n_cycles, n_units, k))
        total = prop.sum(axis=2)
        pi, ui = np.nonzero(total > 0)
        pos = np.tile(np.arange(k), pi.size)
        pi_r, ui_r = np.repeat(pi, k), np.repeat(ui, k)
        n = total[pi_r, ui_r]
        n_prop, n_fin = prop[pi_r, ui_r, pos], fin[pi_r, ui_r, pos]
        parts.append(
            periods.rows(pi_r).with_columns(
                pl.lit(g).alias("grouping"),
                names.gather(ui_r).alias("unit"),
                rating.gather(pos),
                pl.Series("rating_position", pos + 1, dtype=pl.Int64),
                pl.Series("rating_score", score[pos]),
                pl.Series("n", n.astype(np.int64)),
                pl.Series("n_proposed", n_prop.astype(np.int64)),
                pl.Series("n_final", n_fin.astype(np.int64)),
                pl.Series("share_proposed", n_prop / n),
                pl.Series("share_final", n_fin / n),
                pl.Series("share_change", (n_fin - n_prop) / n),
                pl.Series("publishable", n >= config.min_group_size),
                pl.Series("_pi", pi_r),
            )
        )
    return pl.concat(parts).sort("_pi", maintain_order=True)


# --------------------------------------------------------------------------------------------------------------
# marts.calibration_moves and marts.calibration_moves_strata (groups)
# --------------------------------------------------------------------------------------------------------------

CUBE_SUMS = (
    "n",
    "down",
    "up",
    "_m",
    "_mm",
    "_p",
    "_f",
)  # _m, _mm: sum and sum of squares of the score change


@dataclass
class GroupCube:
    """One attribute's counts per cycle × function level × group (arrays of shape (C, L, G)) and its reference
    group per period (code, or -1 for the rest of the organisation)."""

    attribute: str
    names: pl.Series
    cells: dict[str, FloatArray]
    reference: IntArray  # (P,)


def _group_cube(coded: Coded, attribute: str) -> tuple[dict[str, FloatArray], pl.Series]:
    codes, names = coded.key(attribute)
    lvl, lvl_names = coded.key(LEVEL)
    n_groups, n_levels = names.len(), lvl_names.len()
    ok = codes >= 0
    key = ((coded.c * n_levels + lvl) * n_groups + codes)[ok]
    size = coded.n_cycles * n_levels * n_groups
    change = (coded.fs - coded.ps)[ok]
    weights = {
        "n": None,
        "down": (coded.move < 0)[ok],
        "up": (coded.move > 0)[ok],
        "_m": change,
        "_mm": change**2,
        "_p": coded.ps[ok],
        "_f": coded.fs[ok],
    }
    shape = (coded.n_cycles, n_levels, n_groups)
    return {k: _bincount(key, size, w).reshape(shape) for k, w in weights.items()}, names


def _reference_codes(
    overall_n: FloatArray, cycle_n: FloatArray, names: pl.Series, attribute: str, config: ImpactConfig
) -> IntArray:
    """Reference group per period (arrays over groups): -1 (rest of the organisation) for attributes compared
    with the rest; else the configured ``fairness.reference_groups`` group when it has people in the period;
    else the largest group of the period's cycle (``cycle_n``: people per group in the period's last cycle, so
    a cycle's row and the window ending at it share their reference); else the period's largest group. Ties go
    to the first name. The reference depends on that cycle alone (not on later or earlier cycles), so a new
    cycle does not change the references, and the rows, of the cycles before it."""
    n_periods = overall_n.shape[0]
    if attribute in config.rest_attributes:
        return np.full(n_periods, -1, dtype=np.int64)
    present = overall_n > 0
    ref = np.where(cycle_n.max(axis=1) > 0, np.argmax(cycle_n, axis=1), np.argmax(overall_n, axis=1)).astype(
        np.int64
    )
    configured = config.fairness.reference_groups.get(attribute)
    hits = names.to_list().index(configured) if configured in names.to_list() else -1
    if hits >= 0:
        ref = np.where(present[:, hits], hits, ref)
    return ref


def _with_reference(arr: FloatArray, ref: IntArray) -> FloatArray:
    """The reference's value next to every group: arr (P, ..., G) -> (P, ..., G). ref -1 = everyone else."""
    total = arr.sum(axis=-1, keepdims=True)
    chosen = np.take_along_axis(arr, np.maximum(ref, 0).reshape((-1,) + (1,) * (arr.ndim - 1)), axis=-1)
    rest = (ref < 0).reshape((-1,) + (1,) * (arr.ndim - 1))
    return np.asarray(np.where(rest, total - arr, np.broadcast_to(chosen, arr.shape)), dtype=np.float64)


def _reference_names(names: pl.Series, codes: IntArray) -> pl.Series:
    extended = pl.concat([names, pl.Series([REST], dtype=pl.String)])
    return extended.gather(np.where(codes < 0, names.len(), codes)).alias("reference_group")


def _group_rows(
    periods: Periods,
    cube: GroupCube,
    arrays: dict[str, FloatArray],
    refs: dict[str, FloatArray],
    level: IntArray | None,
    level_names: pl.Series | None,
    pi: IntArray,
    gi: IntArray,
) -> pl.DataFrame:
    """Rows for the cells (pi, [level,] gi): counts of the group and of its reference."""
    idx = (pi, gi) if level is None else (pi, level, gi)
    ref_code = cube.reference[pi]
    cols = [
        pl.lit(cube.attribute).alias("attribute"),
        *([] if level is None or level_names is None else [level_names.gather(level).alias(LEVEL)]),
        cube.names.gather(gi).alias("group_value"),
        _reference_names(cube.names, ref_code),
        pl.Series("is_reference", ref_code == gi),
        *[pl.Series(k, arrays[k][idx].astype(np.int64)) for k in ("n", "down", "up")],
        *[pl.Series(f"reference_{k}", refs[k][idx].astype(np.int64)) for k in ("n", "down", "up")],
        *[pl.Series(k, arrays[k][idx]) for k in ("_m", "_mm", "_p", "_f")],
        *[pl.Series(f"reference_{k}", refs[k][idx]) for k in ("_m", "_mm", "_p", "_f")],
        pl.Series("_pi", pi),
        pl.Series("_g", gi),
    ]
    return periods.rows(pi).with_columns(cols)


def _by_direction(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per direction: ``count`` and ``reference_count`` are the people moved down (or up)."""
    return pl.concat(
        [
            rows.with_columns(
                pl.lit(d).alias("direction"),
                pl.col(d).alias("count"),
                pl.col(f"reference_{d}").alias("reference_count"),
            )
            for d in DIRECTIONS
        ]
    )


def _binary_statistics(rows: pl.DataFrame, config: ImpactConfig) -> pl.DataFrame:
    """Rate with Wilson interval, reference rate, difference, ratio, odds ratio, Cohen's h and Fisher exact p;
    ``publishable`` (the group and, for a comparison, its reference have at least disclosure.min_group_size
    people) and ``_eligible`` (a comparison that may be flagged: both at least metrics.min_n_flag)."""
    n, c = rows["n"].to_numpy(), rows["count"].to_numpy()
    rn, rc = rows["reference_n"].to_numpy(), rows["reference_count"].to_numpy()
    is_ref = rows["is_reference"].to_numpy()
    compare = ~is_ref & (n > 0) & (rn > 0)
    lo, hi = _wilson(c, n, config.level)
    p = np.full(n.shape, np.nan)
    if compare.any():
        p[compare] = fisher_exact_pvalues(c[compare], (n - c)[compare], rc[compare], (rn - rc)[compare])
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = (c * (rn - rc)) / ((n - c) * rc)
        rate = c / n
        ref_rate = np.where(rn > 0, rc / np.where(rn > 0, rn, 1), np.nan)
    h = cohens_h(rate, ref_rate)
    k, k_flag = config.min_group_size, config.fairness.min_n_flag
    return rows.with_columns(
        (pl.col("count") / pl.col("n")).alias("rate"),
        _null_if_nan("rate_ci_low", lo),
        _null_if_nan("rate_ci_high", hi),
        _null_if_nan("reference_rate", ref_rate),
        _null_if_nan("p_value", np.where(compare, p, np.nan)),
        _null_if_nan("odds_ratio", np.where(compare, odds, np.nan)),
        _null_if_nan("effect_size", np.where(compare, h, np.nan)),
        pl.when(pl.Series(compare)).then(pl.lit("fisher_exact")).alias("test"),
        pl.when(pl.col("is_reference"))
        .then(pl.col("n") >= k)
        .otherwise((pl.col("n") >= k) & (pl.col("reference_n") >= k))
        .alias("publishable"),
        pl.Series("_eligible", compare & (n >= k_flag) & (rn >= k_flag) & np.isfinite(p), dtype=pl.Boolean),
    ).with_columns(
        (pl.col("rate") - pl.col("reference_rate")).alias("difference"),
        pl.when(pl.col("reference_rate") > 0).then(pl.col("rate") / pl.col("reference_rate")).alias("ratio"),
    )


def _family(frame: pl.DataFrame) -> IntArray:
    """Benjamini–Hochberg family of every row: organisation (one at a time) × period × direction × attribute."""
    a = frame["_a"].to_numpy().astype(np.int64)
    d = (frame["direction"] == DIRECTIONS[1]).to_numpy().astype(np.int64)
    return np.asarray((frame["_pi"].to_numpy().astype(np.int64) * 2 + d) * (int(a.max(initial=0)) + 1) + a)


def _flag(frame: pl.DataFrame, config: ImpactConfig) -> pl.DataFrame:
    """q-values per family, and ``flag``: may be flagged, q < metrics.fdr and |Cohen's h| >=
    metrics.practical_effect (a difference in either direction)."""
    q = _bh_families(frame, "p_value", _family(frame))
    return frame.with_columns(_null_if_nan("q_value", q)).with_columns(
        (
            pl.col("_eligible")
            & (pl.col("q_value") < config.fairness.fdr)
            & (pl.col("effect_size").abs() >= config.fairness.practical_effect)
        )
        .fill_null(False)
        .alias("flag")
    )


def _within_level(
    rows: pl.DataFrame, cubes: Mapping[str, GroupCube], periods: Periods, config: ImpactConfig
) -> pl.DataFrame:
    """Mantel–Haenszel odds ratio of being moved (down / up) within function level (× cycle in a window) for
    every comparison that may be flagged (not for function level itself): Robins–Breslow–Greenland interval,
    CMH p (no continuity correction), Breslow–Day p; strata are the cells in which the group has people. All
    tests in one call of :func:`models.fairness.stratified_odds_ratios`."""
    tests = (
        rows.with_row_index("_row")
        .filter(pl.col("_eligible") & (pl.col("attribute") != LEVEL))
        .with_row_index("_t")
    )
    ids, a_, b_, c_, d_ = [], [], [], [], []
    for (attribute, pi, direction), part in tests.partition_by(
        ["attribute", "_pi", "direction"], as_dict=True, maintain_order=True
    ).items():
        cube = cubes[str(attribute)]
        p = int(pi)
        window = slice(int(periods.lo[p]), int(periods.hi[p]) + 1)
        n_all, c_all = cube.cells["n"][window], cube.cells[str(direction)][window]
        groups = part["_g"].to_numpy()
        own_n, own_c = n_all[:, :, groups], c_all[:, :, groups]
        ref = int(cube.reference[p])
        if ref < 0:
            ref_n = n_all.sum(axis=2, keepdims=True) - own_n
            ref_c = c_all.sum(axis=2, keepdims=True) - own_c
        else:
            ref_n = np.broadcast_to(n_all[:, :, [ref]], own_n.shape)
            ref_c = np.broadcast_to(c_all[:, :, [ref]], own_n.shape)
        mask = own_n > 0
        ids.append(np.broadcast_to(part["_t"].to_numpy().astype(np.int64), own_n.shape)[mask])
        a_.append(own_c[mask])
        b_.append((own_n - own_c)[mask])
        c_.append(ref_c[mask])
        d_.append((ref_n - ref_c)[mask])
    names = {
        "within_level_odds_ratio": "odds_ratio",
        "within_level_ci_low": "ci_low",
        "within_level_ci_high": "ci_high",
        "within_level_p_value": "pvalue",
        "within_level_homogeneity_p": "breslow_day_pvalue",
    }
    if not ids:
        return rows.with_columns(
            *[pl.lit(None, dtype=pl.Float64).alias(c) for c in names],
            pl.lit(None, dtype=pl.Int64).alias("within_level_strata"),
            pl.lit(None, dtype=pl.Int64).alias("within_level_strata_dropped"),
            pl.lit(None, dtype=pl.Float64).alias("within_level_q_value"),
            pl.lit(None, dtype=pl.Boolean).alias("within_level_reverses"),
        )
    res = stratified_odds_ratios(
        np.concatenate(ids),
        np.concatenate(a_),
        np.concatenate(b_),
        np.concatenate(c_),
        np.concatenate(d_),
        tests.height,
        config.level,
    )
    out: dict[str, NDArray[Any]] = {c: np.full(rows.height, np.nan) for c in names}
    strata = np.full(rows.height, -1, dtype=np.int64)
    dropped = np.full(rows.height, -1, dtype=np.int64)
    row = tests["_row"].to_numpy()
    for column, field_name in names.items():
        out[column][row] = getattr(res, field_name)
    strata[row], dropped[row] = res.n_strata, res.n_dropped
    rows = rows.with_columns(
        *[_null_if_nan(c, v) for c, v in out.items()],
        pl.Series("within_level_strata", strata).replace(-1, None),
        pl.Series("within_level_strata_dropped", dropped).replace(-1, None),
    )
    q = _bh_families(rows, "within_level_p_value", _family(rows))
    return rows.with_columns(
        _null_if_nan("within_level_q_value", q),
        ((pl.col("odds_ratio").log() * pl.col("within_level_odds_ratio").log()) < 0).alias(
            "within_level_reverses"
        ),
    )


# --------------------------------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------------------------------


def _num(x: float, lang: str, digits: int = 2) -> str:
    s = f"{x:.{digits}f}".replace("-", "−")
    return s.replace(".", ",") if lang == "nl" else s


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _p(p: float, lang: str) -> str:
    if p < 0.001:
        return "p < 0,001" if lang == "nl" else "p < 0.001"
    return f"p = {_num(p, lang, 3)}"


def _ci(lo: float | None, hi: float | None, lang: str, digits: int = 2) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    if lang == "nl":
        return f"95%-BI {_num(lo, lang, digits)} tot {_num(hi, lang, digits)}"
    return f"95% CI {_num(lo, lang, digits)} to {_num(hi, lang, digits)}"


def _subject(attribute: str, group: str, lang: str) -> str:
    if attribute == "evaluator" and group != REST:
        return f"Medewerkers van evaluator {group}" if lang == "nl" else f"Employees of evaluator {group}"
    return group_phrase(attribute, group, lang)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def move_sentence(lang: str, row: Mapping[str, Any]) -> str:
    """ "Women in function level S11 were moved down in calibration more often than men in the same function
    level (19% vs 3%; Fisher p = 0.002)." for a row of calibration_moves(_strata); values must be finite."""
    subject = _subject(row["attribute"], row["group_value"], lang)
    obj = _lower_first(_subject(row["attribute"], row["reference_group"], lang))
    level = row.get(LEVEL)
    if level is not None:
        subject += f" in functieniveau {level}" if lang == "nl" else f" in function level {level}"
        obj += " in hetzelfde functieniveau" if lang == "nl" else " in the same function level"
    more = row["rate"] > row["reference_rate"]
    if lang == "nl":
        where = "omlaag" if row["direction"] == "down" else "omhoog"
        how = "vaker" if more else "minder vaak"
        text = f"{subject} werden bij de kalibratie {how} {where} bijgesteld dan {obj}"
        details = [f"{_pct(row['rate'])} tegenover {_pct(row['reference_rate'])}"]
    else:
        how = "more often than" if more else "less often than"
        text = f"{subject} were moved {row['direction']} in calibration {how} {obj}"
        details = [f"{_pct(row['rate'])} vs {_pct(row['reference_rate'])}"]
    details.append(f"Fisher {_p(row['p_value'], lang)}")
    odds = row.get("within_level_odds_ratio")
    if odds is not None and math.isfinite(odds):
        ci = _ci(row.get("within_level_ci_low"), row.get("within_level_ci_high"), lang)
        word = "odds ratio binnen functieniveau" if lang == "nl" else "within-level odds ratio"
        details.append(f"{word} {_num(odds, lang)}" + (f", {ci}" if ci else ""))
    return f"{text} ({'; '.join(details)})."


def _add_move_sentences(frame: pl.DataFrame) -> pl.DataFrame:
    """finding_nl / finding_en for flagged, publishable comparisons only (a few rows: the loop is over them)."""
    idx = frame.with_row_index("_i").filter(pl.col("flag") & pl.col("publishable"))
    nl: list[str | None] = [None] * frame.height
    en: list[str | None] = [None] * frame.height
    for row in idx.iter_rows(named=True):
        nl[row["_i"]] = move_sentence("nl", row)
        en[row["_i"]] = move_sentence("en", row)
    return frame.with_columns(
        pl.Series("finding_nl", nl, dtype=pl.String), pl.Series("finding_en", en, dtype=pl.String)
    )


_UNITS_WORDS = {
    "department": ("afdelingen", "departments", "afdeling", "department"),
    "function_level": ("functieniveaus", "function levels", "functieniveau", "function level"),
    "evaluator": ("evaluatoren", "evaluators", "evaluator", "evaluator"),
}
_VERDICT_WORDS = {
    NARROWED: ("verkleinde", "narrowed"),
    WIDENED: ("vergrootte", "widened"),
    NO_CLEAR_CHANGE: ("veranderde niet duidelijk", "did not clearly change"),
}


def spread_sentence(lang: str, row: Mapping[str, Any]) -> str:
    """One plain sentence on a calibration_spread row (values must be finite; the caller checks)."""
    nl = lang == "nl"
    verdict = _VERDICT_WORDS[row["verdict"]][0 if nl else 1]
    ci = _ci(row.get("change_ci_low"), row.get("change_ci_high"), lang)
    if row["measure"] == "unit_sd":
        plural_nl, plural_en, one_nl, one_en = _UNITS_WORDS[row["dimension"]]
        detail = f"{'verandering' if nl else 'change'} {_num(row['change'], lang)}" + (
            f", {ci}" if ci else ""
        )
        detail += f"; {row['units']} {plural_nl if nl else plural_en}"
        if nl:
            return (
                f"De kalibratie {verdict} de verschillen tussen {plural_nl}: de spreiding (SD) van de gemiddelde "
                f"score per {one_nl} ging van {_num(row['before'], lang)} naar {_num(row['after'], lang)} ({detail})."
            )
        return (
            f"Calibration {verdict} the differences between {plural_en}: the spread (SD) of the {one_en} mean "
            f"scores went from {_num(row['before'], lang)} to {_num(row['after'], lang)} ({detail})."
        )
    group = _lower_first(group_phrase(row["dimension"], row["group_value"], lang))
    ref = _lower_first(group_phrase(row["dimension"], row["reference_group"], lang))
    shift = f"{'verschuiving' if nl else 'shift'} {_num(row['change'], lang)}" + (f", {ci}" if ci else "")
    within = row.get("within_level_change")
    if within is not None and math.isfinite(within):
        shift += f"; {'binnen functieniveau' if nl else 'within function level'} {_num(within, lang)}"
    gap = f"{_num(row['before'], lang)} → {_num(row['after'], lang)}"
    mp, mrp = _num(row["mean_proposed"], lang), _num(row["reference_mean_proposed"], lang)
    mf, mrf = _num(row["mean_final"], lang), _num(row["reference_mean_final"], lang)
    if nl:
        return (
            f"De kalibratie {verdict} het verschil tussen {group} en {ref}: gemiddelde score {mp} tegenover {mrp} "
            f"in de voorstellen, {mf} tegenover {mrf} na kalibratie (verschil {gap}; {shift})."
        )
    return (
        f"Calibration {verdict} the gap between {group} and {ref}: mean score {mp} vs {mrp} in the proposals, "
        f"{mf} vs {mrf} after calibration (gap {gap}; {shift})."
    )


# --------------------------------------------------------------------------------------------------------------
# marts.calibration_spread
# --------------------------------------------------------------------------------------------------------------


def _unit_spread(unit_arrays: Mapping[str, Any], periods: Periods, config: ImpactConfig) -> pl.DataFrame:
    """SD over units (n >= disclosure.min_group_size, unweighted) of the unit mean scores, before and after,
    with the jackknife interval of the change (:func:`jackknife_sd_change`)."""
    rows: list[dict[str, Any]] = []
    for g in SPREAD_GROUPINGS:
        arr, _ = unit_arrays[g]
        for p in range(periods.size):
            n = arr["n"][p]
            big = n >= config.min_group_size
            if big.sum() < 2:
                continue
            before, after = arr["_p"][p][big] / n[big], arr["_f"][p][big] / n[big]
            change, lo, hi = jackknife_sd_change(before, after, config.level)
            rows.append(
                {
                    "_pi": p,
                    "measure": "unit_sd",
                    "dimension": g,
                    "units": int(big.sum()),
                    "n": int(n[big].sum()),
                    "before": float(np.std(before, ddof=1)),
                    "after": float(np.std(after, ddof=1)),
                    "change": change,
                    "change_ci_low": lo,
                    "change_ci_high": hi,
                }
            )
    if not rows:
        return pl.DataFrame()
    out = pl.DataFrame(rows).with_columns(pl.col("change_ci_low", "change_ci_high").fill_nan(None))
    sure = (pl.col("change_ci_low") > 0) | (pl.col("change_ci_high") < 0)
    shift = pl.col("change")
    return pl.concat([periods.rows(out["_pi"].to_numpy()), out], how="horizontal").with_columns(
        pl.when(pl.col("change_ci_low").is_null())
        .then(None)
        .when(sure & (shift < 0))
        .then(pl.lit(NARROWED))
        .when(sure & (shift > 0))
        .then(pl.lit(WIDENED))
        .otherwise(pl.lit(NO_CLEAR_CHANGE))
        .alias("verdict"),
        pl.lit(True).alias("publishable"),
    )


def _within_level_gaps(
    cubes: Mapping[str, GroupCube], periods: Periods, config: ImpactConfig
) -> pl.DataFrame:
    """Within function level (× cycle in a window) gaps of every non-reference group: per stratum with both
    groups present and at least 3 people, the differences of mean scores (proposed, final) and of mean score
    changes, weighted n_g n_r / (n_g + n_r); the change's normal interval uses the pooled variance per stratum."""
    z = float(sps.norm.ppf(0.5 + config.level / 2.0))
    parts = []
    for attribute in config.gap_attributes:
        cube = cubes.get(attribute)
        if cube is None:  # nobody has a value for this attribute
            continue
        for p in range(periods.size):
            window = slice(int(periods.lo[p]), int(periods.hi[p]) + 1)
            sub = {k: v[window] for k, v in cube.cells.items()}
            ref = np.full(sub["n"].shape[0], int(cube.reference[p]))
            rsub = {k: _with_reference(v, ref) for k, v in sub.items()}
            n, rn = sub["n"], rsub["n"]
            use = (n >= 1) & (rn >= 1) & (n + rn >= 3)
            if cube.reference[p] >= 0:
                use[:, :, int(cube.reference[p])] = False
            with np.errstate(divide="ignore", invalid="ignore"):
                w = np.where(use, n * rn / (n + rn), 0.0)
                before = sub["_p"] / n - rsub["_p"] / rn
                after = sub["_f"] / n - rsub["_f"] / rn
                ss = np.maximum(sub["_mm"] - sub["_m"] ** 2 / n, 0.0) + np.maximum(
                    rsub["_mm"] - rsub["_m"] ** 2 / rn, 0.0
                )
                var = ss / (n + rn - 2.0) * (1.0 / n + 1.0 / rn)
                sw = w.sum(axis=(0, 1))
                wb = np.where(use, w * before, 0.0).sum(axis=(0, 1)) / sw
                wa = np.where(use, w * after, 0.0).sum(axis=(0, 1)) / sw
                se = np.sqrt(np.where(use, w**2 * var, 0.0).sum(axis=(0, 1))) / sw
            groups = np.flatnonzero(sw > 0)
            if groups.size == 0:
                continue
            change, s = wa[groups] - wb[groups], se[groups]
            ok = np.isfinite(s) & (s > 0)
            parts.append(
                pl.DataFrame(
                    {
                        "_pi": np.full(groups.size, p),
                        "dimension": [attribute] * groups.size,
                        "_g": groups,
                        "within_level_before": wb[groups],
                        "within_level_after": wa[groups],
                        "within_level_change": change,
                        "within_level_change_ci_low": np.where(ok, change - z * s, np.nan),
                        "within_level_change_ci_high": np.where(ok, change + z * s, np.nan),
                        "within_level_p_value": np.where(
                            ok, 2.0 * sps.norm.sf(np.abs(change) / np.where(ok, s, 1.0)), np.nan
                        ),
                        "within_level_strata": use[:, :, groups].sum(axis=(0, 1)).astype(np.int64),
                    }
                ).with_columns(
                    pl.col(
                        "within_level_change_ci_low", "within_level_change_ci_high", "within_level_p_value"
                    ).fill_nan(None)
                )
            )
    return pl.concat(parts) if parts else pl.DataFrame()


def _group_gaps(
    overall: pl.DataFrame, cubes: Mapping[str, GroupCube], periods: Periods, config: ImpactConfig
) -> pl.DataFrame:
    """Gap between each group's mean score and its reference group's, in the proposals and the final ratings.
    The change of the gap (after - before) equals the difference of the two groups' mean score changes; its
    interval and p-value are Student's pooled t (:func:`pooled_t_difference`)."""
    rows = overall.filter(
        pl.col("attribute").is_in(list(config.gap_attributes))
        & ~pl.col("is_reference")
        & (pl.col("n") > 0)
        & (pl.col("reference_n") > 0)
    )
    if rows.height == 0:
        return pl.DataFrame()
    change, p, lo, hi = pooled_t_difference(
        rows["_m"].to_numpy(),
        rows["_mm"].to_numpy(),
        rows["n"].to_numpy(),
        rows["reference__m"].to_numpy(),
        rows["reference__mm"].to_numpy(),
        rows["reference_n"].to_numpy(),
        config.level,
    )
    n, rn = pl.col("n"), pl.col("reference_n")
    rows = rows.with_columns(
        pl.col("attribute").alias("dimension"),
        (pl.col("_p") / n).alias("mean_proposed"),
        (pl.col("_f") / n).alias("mean_final"),
        (pl.col("reference__p") / rn).alias("reference_mean_proposed"),
        (pl.col("reference__f") / rn).alias("reference_mean_final"),
        _null_if_nan("change", change),
        _null_if_nan("change_ci_low", lo),
        _null_if_nan("change_ci_high", hi),
        _null_if_nan("p_value", p),
    ).with_columns(
        (pl.col("mean_proposed") - pl.col("reference_mean_proposed")).alias("before"),
        (pl.col("mean_final") - pl.col("reference_mean_final")).alias("after"),
    )
    within = _within_level_gaps(cubes, periods, config)
    if within.height:
        rows = rows.join(within, on=["_pi", "dimension", "_g"], how="left")
    sure = (pl.col("change_ci_low") > 0) | (pl.col("change_ci_high") < 0)
    k = config.min_group_size
    return rows.with_columns(
        pl.lit("group_gap").alias("measure"),
        pl.when(pl.col("change_ci_low").is_null())
        .then(None)
        .when(sure & (pl.col("after").abs() < pl.col("before").abs()))
        .then(pl.lit(NARROWED))
        .when(sure & (pl.col("after").abs() > pl.col("before").abs()))
        .then(pl.lit(WIDENED))
        .otherwise(pl.lit(NO_CLEAR_CHANGE))
        .alias("verdict"),
        ((pl.col("n") >= k) & (pl.col("reference_n") >= k)).alias("publishable"),
    )


def _add_spread_sentences(frame: pl.DataFrame) -> pl.DataFrame:
    """sentence_nl / sentence_en for publishable rows with a verdict and finite values (few rows)."""
    nl: list[str | None] = []
    en: list[str | None] = []
    needed = ["before", "after", "change"]
    for row in frame.iter_rows(named=True):
        ok = (
            row["publishable"]
            and row["verdict"] is not None
            and all(row.get(c) is not None and math.isfinite(row[c]) for c in needed)
        )
        if ok and row["measure"] == "group_gap":
            means = ["mean_proposed", "mean_final", "reference_mean_proposed", "reference_mean_final"]
            ok = all(row.get(c) is not None and math.isfinite(row[c]) for c in means)
        nl.append(spread_sentence("nl", row) if ok else None)
        en.append(spread_sentence("en", row) if ok else None)
    return frame.with_columns(
        pl.Series("sentence_nl", nl, dtype=pl.String), pl.Series("sentence_en", en, dtype=pl.String)
    )


# --------------------------------------------------------------------------------------------------------------
# Schemas and the whole computation
# --------------------------------------------------------------------------------------------------------------

_KEY_SCHEMA: dict[str, Any] = {
    "organization": pl.String,
    "period": pl.String,
    "first_cycle": pl.Int64,
    "cycle": pl.Int64,
}

UNITS_SCHEMA: dict[str, Any] = {
    **_KEY_SCHEMA,
    "grouping": pl.String,
    "unit": pl.String,
    "n": pl.Int64,
    "n_unchanged": pl.Int64,
    "n_moved": pl.Int64,
    "n_up": pl.Int64,
    "n_down": pl.Int64,
    "n_multi_step": pl.Int64,
    "moved_rate": pl.Float64,
    "moved_ci_low": pl.Float64,
    "moved_ci_high": pl.Float64,
    "up_rate": pl.Float64,
    "up_ci_low": pl.Float64,
    "up_ci_high": pl.Float64,
    "down_rate": pl.Float64,
    "down_ci_low": pl.Float64,
    "down_ci_high": pl.Float64,
    "steps_up": pl.Int64,
    "steps_down": pl.Int64,
    "net_steps": pl.Int64,
    "max_steps": pl.Int64,
    "mean_move": pl.Float64,
    "mean_abs_move": pl.Float64,
    "mean_proposed_score": pl.Float64,
    "mean_final_score": pl.Float64,
    "mean_score_change": pl.Float64,
    "sd_proposed_score": pl.Float64,
    "sd_final_score": pl.Float64,
    "publishable": pl.Boolean,
}

DISTRIBUTION_SCHEMA: dict[str, Any] = {
    **_KEY_SCHEMA,
    "grouping": pl.String,
    "unit": pl.String,
    "rating": pl.String,
    "rating_position": pl.Int64,
    "rating_score": pl.Float64,
    "n": pl.Int64,
    "n_proposed": pl.Int64,
    "n_final": pl.Int64,
    "share_proposed": pl.Float64,
    "share_final": pl.Float64,
    "share_change": pl.Float64,
    "publishable": pl.Boolean,
}

_COMPARISON_SCHEMA: dict[str, Any] = {
    "group_value": pl.String,
    "is_reference": pl.Boolean,
    "reference_group": pl.String,
    "n": pl.Int64,
    "count": pl.Int64,
    "rate": pl.Float64,
    "rate_ci_low": pl.Float64,
    "rate_ci_high": pl.Float64,
    "reference_n": pl.Int64,
    "reference_count": pl.Int64,
    "reference_rate": pl.Float64,
    "difference": pl.Float64,
    "ratio": pl.Float64,
    "odds_ratio": pl.Float64,
    "effect_size": pl.Float64,
    "test": pl.String,
    "p_value": pl.Float64,
    "q_value": pl.Float64,
}

MOVES_SCHEMA: dict[str, Any] = {
    **_KEY_SCHEMA,
    "direction": pl.String,
    "attribute": pl.String,
    **_COMPARISON_SCHEMA,
    "within_level_odds_ratio": pl.Float64,
    "within_level_ci_low": pl.Float64,
    "within_level_ci_high": pl.Float64,
    "within_level_p_value": pl.Float64,
    "within_level_q_value": pl.Float64,
    "within_level_homogeneity_p": pl.Float64,
    "within_level_strata": pl.Int64,
    "within_level_strata_dropped": pl.Int64,
    "within_level_reverses": pl.Boolean,
    "publishable": pl.Boolean,
    "flag": pl.Boolean,
    "finding_nl": pl.String,
    "finding_en": pl.String,
}

STRATA_SCHEMA: dict[str, Any] = {
    **_KEY_SCHEMA,
    "window_complete": pl.Boolean,
    "direction": pl.String,
    "attribute": pl.String,
    "function_level": pl.String,
    **_COMPARISON_SCHEMA,
    "publishable": pl.Boolean,
    "flag": pl.Boolean,
    "finding_nl": pl.String,
    "finding_en": pl.String,
}

SPREAD_SCHEMA: dict[str, Any] = {
    **_KEY_SCHEMA,
    "measure": pl.String,
    "dimension": pl.String,
    "group_value": pl.String,
    "reference_group": pl.String,
    "units": pl.Int64,
    "n": pl.Int64,
    "reference_n": pl.Int64,
    "mean_proposed": pl.Float64,
    "mean_final": pl.Float64,
    "reference_mean_proposed": pl.Float64,
    "reference_mean_final": pl.Float64,
    "before": pl.Float64,
    "after": pl.Float64,
    "change": pl.Float64,
    "change_ci_low": pl.Float64,
    "change_ci_high": pl.Float64,
    "p_value": pl.Float64,
    "within_level_before": pl.Float64,
    "within_level_after": pl.Float64,
    "within_level_change": pl.Float64,
    "within_level_change_ci_low": pl.Float64,
    "within_level_change_ci_high": pl.Float64,
    "within_level_p_value": pl.Float64,
    "within_level_strata": pl.Int64,
    "verdict": pl.String,
    "publishable": pl.Boolean,
    "sentence_nl": pl.String,
    "sentence_en": pl.String,
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "calibration_impact": UNITS_SCHEMA,
    "calibration_distribution": DISTRIBUTION_SCHEMA,
    "calibration_moves": MOVES_SCHEMA,
    "calibration_moves_strata": STRATA_SCHEMA,
    "calibration_spread": SPREAD_SCHEMA,
}

SORT_SPREAD = ["organization", "period", "first_cycle", "cycle", "measure", "dimension", "group_value"]


def conform(frame: pl.DataFrame, schema: Mapping[str, Any]) -> pl.DataFrame:
    """The frame with exactly the schema's columns, in order and type (missing ones null)."""
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in schema.items() if c not in frame.columns]
    return frame.with_columns(missing).select([pl.col(c).cast(t) for c, t in schema.items()])


def empty_marts() -> dict[str, pl.DataFrame]:
    return {name: pl.DataFrame(schema=schema) for name, schema in SCHEMAS.items()}


@dataclass
class CalibrationImpact:
    """The five marts (name -> frame) and what was computed, in counts (for asset metadata)."""

    marts: dict[str, pl.DataFrame] = field(default_factory=empty_marts)
    organizations: int = 0  # organisations with at least one proposal
    moves: int = 0  # people × cycles with a proposal and a final rating on the scale
    ignored_attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _comparisons(
    coded: Coded, periods: Periods, config: ImpactConfig
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, GroupCube]]:
    """Overall and per-function-level group rows (with reference counts) for every attribute, and the cubes."""
    _, level_names = coded.key(LEVEL)
    order = {a: i for i, a in enumerate(sorted(config.attributes))}
    overall_parts, strata_parts, cubes = [], [], {}
    for attribute in config.attributes:
        cells, names = _group_cube(coded, attribute)
        if names.len() == 0:
            continue
        stacked = {k: periods.stack(v) for k, v in cells.items()}
        over = {k: v.sum(axis=1) for k, v in stacked.items()}
        ref = _reference_codes(over["n"], cells["n"].sum(axis=1)[periods.hi], names, attribute, config)
        cube = cubes[attribute] = GroupCube(attribute, names, cells, ref)
        over_ref = {k: _with_reference(v, ref) for k, v in over.items()}
        pi, gi = np.nonzero(over["n"] > 0)
        rows = _group_rows(periods, cube, over, over_ref, None, None, pi, gi)
        overall_parts.append(rows.with_columns(pl.lit(order[attribute]).alias("_a")))
        if attribute in config.strata_attributes:
            strata_ref = {k: _with_reference(v, ref) for k, v in stacked.items()}
            pi, li, gi = np.nonzero(stacked["n"] > 0)
            rows = _group_rows(periods, cube, stacked, strata_ref, li, level_names, pi, gi)
            strata_parts.append(rows.with_columns(pl.lit(order[attribute]).alias("_a"), pl.Series("_l", li)))
    overall = pl.concat(overall_parts) if overall_parts else pl.DataFrame()
    strata = pl.concat(strata_parts) if strata_parts else pl.DataFrame()
    return overall, strata, cubes


def organisation_impact(
    evaluations: pl.DataFrame, policy: Policy, org: str, config: ImpactConfig
) -> dict[str, pl.DataFrame]:
    """The five marts for one organisation (``evaluations`` holds only its rows). Empty without proposals."""
    moves = move_frame(evaluations, policy, config)
    if moves.height == 0:
        return empty_marts()
    periods = make_periods(moves["cycle"].unique().to_list(), config.window_cycles)
    coded = code_moves(moves, periods, org, config, len(policy.rating_codes))
    units, unit_arrays = _units(coded, periods, config)
    distribution = _distribution(coded, periods, policy, config)
    overall, strata, cubes = _comparisons(coded, periods, config)

    moved = _flag(_binary_statistics(_by_direction(overall), config), config)
    moved = _within_level(moved, cubes, periods, config).sort(
        "_pi", "direction", "_a", "_g", maintain_order=True
    )
    if strata.height:
        strata = _flag(_binary_statistics(_by_direction(strata), config), config).sort(
            "_pi", "direction", "_a", "_l", "_g", maintain_order=True
        )
        # A window that pools calibration_impact.window_cycles cycles: the next complete window differs from it
        # by a whole cycle at both ends, so publishing complete windows only never lets one window minus the
        # one before it give a single cycle's counts (models.releases.norming).
        complete = (periods.hi - periods.lo + 1) == config.window_cycles
        strata = strata.with_columns(
            pl.when(pl.col("period") == PERIOD_WINDOW)
            .then(pl.Series(complete[strata["_pi"].to_numpy()], dtype=pl.Boolean))
            .alias("window_complete")
        )
    spread_parts = [
        p
        for p in (_unit_spread(unit_arrays, periods, config), _group_gaps(overall, cubes, periods, config))
        if p.height
    ]
    spread = pl.concat(spread_parts, how="diagonal_relaxed") if spread_parts else pl.DataFrame()
    org_col = pl.lit(org).alias("organization")
    spread_schema = {k: v for k, v in SPREAD_SCHEMA.items() if not k.startswith("sentence_")}
    spread = _add_spread_sentences(conform(spread.with_columns(org_col), spread_schema)).sort(SORT_SPREAD)
    out = {
        "calibration_impact": units,
        "calibration_distribution": distribution,
        "calibration_moves": _add_move_sentences(moved),
        "calibration_moves_strata": _add_move_sentences(strata) if strata.height else strata,
        "calibration_spread": spread,
    }
    return {name: conform(frame.with_columns(org_col), SCHEMAS[name]) for name, frame in out.items()}


def calibration_impact_marts(
    evaluations: pl.DataFrame,
    policies: Mapping[str, Policy],
    extra_attributes: Mapping[str, Sequence[str]] | None = None,
) -> CalibrationImpact:
    """The five calibration impact marts for every organisation that has a policy and proposed ratings.

    ``evaluations`` holds staging.evaluations rows (organization, cycle, department, function_level,
    evaluator_id, rating, proposed_rating and the attribute source columns: gender, birth_year, fte,
    employment_type, ...); ``extra_attributes`` maps an organisation to calibra.yaml's extra attribute columns.
    Organisations without a policy, and organisations or cycles without proposed ratings, give no rows."""
    extra_attributes = extra_attributes or {}
    result = CalibrationImpact()
    if "proposed_rating" not in evaluations.columns:
        return result
    parts: dict[str, list[pl.DataFrame]] = {name: [] for name in SCHEMAS}
    for org in sorted(policies):
        ev = evaluations.filter((pl.col("organization") == org) & pl.col("proposed_rating").is_not_null())
        if ev.height == 0:
            continue
        config = impact_config(policies[org], extra_attributes.get(org, ()), available=evaluations.columns)
        if config.fairness.ignored_attributes:
            result.ignored_attributes[org] = config.fairness.ignored_attributes
        marts = organisation_impact(ev, policies[org], org, config)
        units = marts["calibration_impact"]
        if units.height == 0:
            continue
        result.organizations += 1
        org_rows = units.filter((pl.col("grouping") == "organization") & (pl.col("period") == PERIOD_CYCLE))
        result.moves += int(org_rows["n"].sum())
        for name, frame in marts.items():
            parts[name].append(frame)
    result.marts = {
        name: pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMAS[name])
        for name, frames in parts.items()
    }
    return result
