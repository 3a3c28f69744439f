"""marts.evaluator_report and marts.evaluator_fair_ratings: each evaluator measured the way rater-measurement
practice measures raters (issue 23; DOMAIN.md Z-2, Z-8, Z-9, Z-10, F-3, F-9). Method, columns and limits:
docs/marts/evaluator_report.md.

Grain of evaluator_report: organization × cycle × measure × evaluator_id × aspect × item. Every row describes
the window of the last ``calibration.leniency_window_cycles`` cycles up to ``cycle`` (``window_first_cycle``
says where it starts; a window of 1 gives single-cycle figures), and ``aspect`` is one of

* ``cut_point`` (item = the code c): the share rated at or above c, adjusted for function level, department
  and cycle, with the evaluator's effect estimated in a per-cut-point binomial GLMM (evaluator effects
  N(0, tau²), tau² by Laplace maximum likelihood: ``_ordinal.binomial_glmm``). ``tau2_status`` says whether
  the data separate evaluators at this cut at all; when they do not (tau at zero) the shrunk estimate is not
  shown as a false zero: the unshrunk estimate is shown and ``estimate_basis`` says so. The test is the exact
  binomial test of the evaluator's count against what the average evaluator gives the same team (function
  level × department × cycle), Benjamini–Hochberg within the pay-relevant cut points of the organisation,
  measure and cycle (its window). A flag needs that q < metrics.fdr, a standardised effect (log odds × √3/π,
  Chinn 2000) of at least metrics.practical_effect, n >= metrics.min_n_flag, colleagues in the same
  department to compare with, and a cut point the policy calls pay-relevant
  (``calibration.pay_relevant_cut_points``).
* ``mean_shift`` (item ``location``): the evaluator's shift in a proportional-odds model (the ordinal
  counterpart of the mean-score shift of marts.evaluator_leniency; never flagged here, shown for contrast).
* ``scale_use``: ``central`` (share in the organisation's modal middle category), ``extreme`` (share in the
  lowest or highest category), each against the average evaluator's expectation for the same team (exact
  binomial test, Cohen's h as effect size); ``differentiation`` (Z-8's normalised entropy beside the
  organisation's); ``fit`` (infit and outfit mean-squares of the standardised residuals of the
  proportional-odds model with the evaluator's own shift: about 1 is expected, below 0.5 too predictable,
  above 1.5 erratic — Linacre's ranges for many-facet Rasch fit).
* ``bias`` (item ``attribute=value``): evaluator × group interaction — how much more (or less) this evaluator
  rates the group above the rest than colleagues do, in category steps, with an interval; only where both the
  group and the rest number at least disclosure.min_group_size among the evaluator's ratings.
* ``agreement`` (item ``changed_evaluator``, windows of two cycles or more): employees rated in consecutive cycles by this
  evaluator and another one: observed agreement, the agreement expected by chance, and Cohen's kappa. Rows
  with evaluator_id null are the organisation's pairs with a changed and with the same evaluator.

marts.evaluator_fair_ratings holds, for the cycle's ratings (judged over its window), the cases whose "fair" rating — the rating the
average evaluator would have given, found by mapping the employee's place in their evaluator's adjusted
distribution onto the average evaluator's distribution for the same team (equipercentile equating) — differs
from the rating given, with ``pay_step`` where the difference crosses a pay-relevant cut point.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import special
from scipy import stats as sps

from models import stats
from models.calibration import _ordinal as od
from models.calibration import _texts as tx
from models.calibration._data import (
    FloatArray,
    IntArray,
    MeasureRows,
    OrgData,
    dense_codes,
    finish,
    prepare,
)
from models.fairness import age_band_labels
from models.policy import Policy

LEVEL = 0.95
Z = float(sps.norm.ppf(0.5 + LEVEL / 2))
CHINN = math.sqrt(3.0) / math.pi  # log odds ratio → standardised difference (Chinn 2000)
FIT_LOW, FIT_HIGH = 0.5, 1.5  # Linacre: mean-squares outside this range degrade measurement
TAU_P = 0.05  # the likelihood-ratio test of tau² = 0 decides "separable"
BIAS_ATTRIBUTES = ("gender", "part_time", "age_band")

SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "window_first_cycle": pl.Int64(),
    "measure": pl.String(),
    "evaluator_id": pl.String(),
    "aspect": pl.String(),
    "item": pl.String(),
    "item_position": pl.Int64(),
    "pay_relevant": pl.Boolean(),
    "n": pl.Int64(),
    "n_cycle": pl.Int64(),
    "n_group": pl.Int64(),
    "n_compared": pl.Int64(),
    "observed": pl.Float64(),
    "expected": pl.Float64(),
    "adjusted_share": pl.Float64(),
    "adjusted_lo": pl.Float64(),
    "adjusted_hi": pl.Float64(),
    "org_share": pl.Float64(),
    "estimate": pl.Float64(),
    "ci_lo": pl.Float64(),
    "ci_hi": pl.Float64(),
    "estimate_basis": pl.String(),
    "raw_estimate": pl.Float64(),
    "raw_se": pl.Float64(),
    "effect_size": pl.Float64(),
    "p_value": pl.Float64(),
    "q_value": pl.Float64(),
    "tau2": pl.Float64(),
    "tau2_p": pl.Float64(),
    "tau2_status": pl.String(),
    "infit": pl.Float64(),
    "outfit": pl.Float64(),
    "fair_cases": pl.Int64(),
    "status": pl.String(),
    "direction": pl.String(),
    "flag": pl.Boolean(),
    "reason_nl": pl.String(),
    "reason_en": pl.String(),
}

FAIR_SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "measure": pl.String(),
    "department": pl.String(),
    "function_level": pl.String(),
    "employee_id": pl.String(),
    "evaluator_id": pl.String(),
    "rating": pl.String(),
    "fair_rating": pl.String(),
    "fair_probability": pl.Float64(),
    "fair_expected_position": pl.Float64(),
    "direction": pl.String(),
    "pay_step": pl.Boolean(),
    "pay_cut": pl.String(),
    "reason_nl": pl.String(),
    "reason_en": pl.String(),
}


def pay_relevant_cut_points(policy: Policy) -> dict[str, tuple[str, ...]]:
    """{measure: codes} whose "at or above" cut point decides pay (policy calibration.pay_relevant_cut_points)."""
    value = policy.typed.calibration.pay_relevant_cut_points or {}
    return {str(m): tuple(str(c) for c in codes) for m, codes in dict(value).items()}


@dataclass
class Subset:
    """The ratings of one organisation, measure and window of cycles, encoded for the models."""

    rows: MeasureRows
    now: NDArrayBool  # rows of the window's last cycle
    ev: IntArray  # local evaluator code per rating
    ev_global: IntArray  # org evaluator code per local code
    cell: IntArray  # covariate cell (level × department × cycle) per rating
    x: FloatArray  # design of the cells, intercept first
    n_cells: int
    n_eval: int
    # per evaluator: ratings in (cycle, department) strata that other evaluators rate too
    compared: FloatArray
    cell_dept: IntArray  # department code of each covariate cell


NDArrayBool = np.ndarray


def _subset(rows: MeasureRows, cycles: IntArray, current: int) -> Subset | None:
    keep = np.isin(rows.cycle, cycles)
    part = rows.subset(keep)
    if part.size == 0 or not (part.cycle == current).any():
        return None
    ev_global, ev = dense_codes(part.eva)
    key = (part.lvl.astype(np.int64) * (int(part.dept.max()) + 1) + part.dept) * (
        int(part.cycle.max()) + 1
    ) + part.cycle
    cells, cell = dense_codes(key)
    first = np.zeros(cells.size, dtype=np.int64)
    first[cell[::-1]] = np.arange(part.size)[::-1]
    x = od.design([part.lvl[first], part.dept[first], part.cycle[first]])
    strata, st = dense_codes(part.cycle * (int(part.dept.max()) + 1) + part.dept)
    pair_keys, _ = dense_codes(st * ev_global.size + ev)
    evaluators_in = od.bincount(pair_keys // ev_global.size, minlength=strata.size)
    shared = evaluators_in[st] >= 2
    compared = od.bincount(ev, weights=shared.astype(np.float64), minlength=ev_global.size)
    return Subset(
        part,
        part.cycle == current,
        ev,
        ev_global,
        cell,
        x,
        cells.size,
        ev_global.size,
        compared,
        part.dept[first],
    )


def _bh(p: FloatArray, family: NDArrayBool) -> FloatArray:
    q = np.full(p.size, np.nan)
    ok = family & np.isfinite(p)
    if ok.any():
        q[ok] = stats.benjamini_hochberg(p[ok])
    return q


def _frame(sub: Subset, org: OrgData, **columns: object) -> pl.DataFrame:
    return (
        pl.DataFrame(columns)
        .with_columns(
            org.names("eva")
            .gather(pl.Series(sub.ev_global[np.asarray(columns["_ev"])]))
            .alias("evaluator_id")
        )
        .drop("_ev")
    )


def _cut_rows(
    org: OrgData, sub: Subset, pay: tuple[str, ...], settings_practical: float
) -> tuple[pl.DataFrame, FloatArray, list[FloatArray]]:
    """Cut-point rows, plus per cut j the effect used for fair ratings (n_eval × cuts) and the eta per cell."""
    rows = sub.rows
    m = rows.measure
    n_eval, n_cells = sub.n_eval, sub.n_cells
    n_all = od.bincount(sub.ev, minlength=n_eval).astype(np.float64)
    n_now = od.bincount(sub.ev[sub.now], minlength=n_eval)
    cell_n = od.bincount(sub.cell, minlength=n_cells).astype(np.float64)
    weight = cell_n / cell_n.sum()
    pair_keys, pair = dense_codes(sub.cell * n_eval + sub.ev)
    pair_cell, pair_eval = pair_keys // n_eval, pair_keys % n_eval
    pair_n = od.bincount(pair).astype(np.float64)
    parts = []
    use = np.zeros((n_eval, m.k - 1))
    etas: list[FloatArray] = []
    min_n = org.settings.min_n_flag
    for j in range(1, m.k):
        y = (rows.k >= j).astype(np.float64)
        pair_y = od.bincount(pair, weights=y)
        null, best, p_tau = od.binomial_glmm(sub.x, pair_cell, pair_eval, pair_n, pair_y, n_eval)
        # the average evaluator of the evaluator's own department, without the evaluator (see leave_evaluator_out)
        eta_loo = od.leave_evaluator_out(
            null.eta[pair_cell], sub.cell_dept[pair_cell], pair_eval, pair_n, pair_y, n_eval
        )
        usable = np.isfinite(eta_loo)
        eta_loo = np.where(usable, eta_loo, null.eta[pair_cell])
        raw, raw_se, expected, _var = od.conditional_effects(eta_loo, pair_eval, pair_n, pair_y, n_eval)
        obs = od.bincount(pair_eval, weights=pair_y, minlength=n_eval)
        p_bar = np.where(n_all > 0, expected / np.maximum(n_all, 1), np.nan)
        pval = od.binomial_test_two_sided(obs, n_all, p_bar)
        shrink = best.tau > od.TAU_MIN
        status_tau = "separable" if shrink and p_tau < TAU_P else ("uncertain" if shrink else "not_separable")
        est = best.b if shrink else raw
        se = best.se_b if shrink else raw_se
        eta = best.eta if shrink else null.eta
        etas.append(null.eta)
        lo, hi = est - Z * se, est + Z * se

        def share(b: FloatArray, eta: FloatArray = eta) -> FloatArray:
            """The share at or above the cut of the organisation's team make-up with effect b: the weighted
            mean over cells of expit(eta + b), as 1 / (1 + e^-b e^-eta) so that the evaluators × cells table
            needs no exponential per entry (equal to expit up to rounding; it was most of this function's time)."""
            with np.errstate(over="ignore"):
                table = np.multiply.outer(np.exp(-b), np.exp(-eta))
            table += 1.0
            np.reciprocal(table, out=table)
            return np.asarray(table @ weight, dtype=np.float64)

        testable = sub.compared > 0
        status = np.where(n_all < min_n, "too_small", np.where(~testable, "untestable", "tested"))
        parts.append(
            pl.DataFrame(
                {
                    "_ev": np.arange(n_eval),
                    "item": m.codes[j],
                    "_label_nl": m.labels_nl[j],
                    "_label_en": m.labels_en[j],
                    "item_position": j,
                    "pay_relevant": m.codes[j] in pay,
                    "n": n_all.astype(np.int64),
                    "n_cycle": n_now,
                    "n_compared": sub.compared.astype(np.int64),
                    "observed": obs / np.maximum(n_all, 1),
                    "expected": p_bar,
                    "adjusted_share": share(est),
                    "adjusted_lo": share(lo),
                    "adjusted_hi": share(hi),
                    "org_share": float(share(np.zeros(1))[0]),
                    "estimate": est,
                    "ci_lo": lo,
                    "ci_hi": hi,
                    "estimate_basis": "shrunk" if shrink else "unshrunk",
                    "raw_estimate": raw,
                    "raw_se": raw_se,
                    "effect_size": raw * CHINN,
                    "p_value": np.where(status == "tested", pval, np.nan),
                    "tau2": best.tau**2 if shrink else 0.0,
                    "tau2_p": p_tau,
                    "tau2_status": status_tau,
                    "status": status,
                    "direction": np.where(raw >= 0, "higher", "lower"),
                }
            )
        )
        signal_q = _bh(np.where(status == "tested", pval, np.nan), status == "tested")
        signal = (signal_q < org.settings.fdr) & (np.abs(raw * CHINN) >= settings_practical)
        # Fair ratings correct only demonstrated deviations: a normal prior over-shrinks the lone outlier the
        # exact test singles out, and shrunk noise would move nobody across a category anyway.
        use[:, j - 1] = np.where(signal, raw, 0.0)
    frame = pl.concat(parts)
    # Benjamini–Hochberg over the pay-relevant cut points together (the family that can raise a flag); the
    # others within their own family (shown, never flagged).
    p = frame["p_value"].to_numpy().astype(np.float64)
    relevant = frame["pay_relevant"].to_numpy()
    q = np.where(relevant, _bh(p, relevant), _bh(p, ~relevant))
    frame = frame.with_columns(pl.Series("q_value", q))
    flag = (
        pl.col("pay_relevant")
        & (pl.col("status") == "tested")
        & (pl.col("q_value") < org.settings.fdr)
        & (pl.col("effect_size").abs() >= settings_practical)
    ).fill_null(False)
    frame = frame.with_columns(flag.alias("flag"), pl.lit("cut_point").alias("aspect"))
    return _frame(sub, org, **{c: frame[c] for c in frame.columns}), use, etas


def _po_rows(org: OrgData, sub: Subset) -> tuple[pl.DataFrame, FloatArray, FloatArray, od.CumulativeLogit]:
    """Mean-shift, central tendency, extremity, differentiation and fit rows; residuals and variances."""
    rows = sub.rows
    k_cat = rows.measure.k
    n_eval = sub.n_eval
    counts = np.zeros((sub.n_cells, k_cat))
    np.add.at(counts, (sub.cell, rows.k), 1.0)
    model = od.cumulative_logit(sub.x[:, 1:], counts)
    shifts = od.location_shifts(model, sub.cell, sub.ev, rows.k, n_eval)
    mean, var = od.score_moments(model, sub.cell, shifts.shift[sub.ev])
    resid = rows.k - mean
    z2 = resid**2 / var
    n_all = od.bincount(sub.ev, minlength=n_eval).astype(np.float64)
    n_now = od.bincount(sub.ev[sub.now], minlength=n_eval)
    outfit = od.bincount(sub.ev, weights=z2, minlength=n_eval) / np.maximum(n_all, 1)
    infit = od.bincount(sub.ev, weights=resid**2, minlength=n_eval) / np.maximum(
        od.bincount(sub.ev, weights=var, minlength=n_eval), 1e-12
    )
    min_n = org.settings.min_n_flag
    base = {"_ev": np.arange(n_eval), "n": n_all.astype(np.int64), "n_cycle": n_now}
    small = n_all < min_n
    z = shifts.shift / shifts.se
    p_shift = 2 * sps.norm.sf(np.abs(z))
    parts = [
        pl.DataFrame(
            base
            | {
                "item": "location",
                "estimate": shifts.shift,
                "ci_lo": shifts.shift - Z * shifts.se,
                "ci_hi": shifts.shift + Z * shifts.se,
                "raw_estimate": shifts.shift,
                "raw_se": shifts.se,
                "effect_size": shifts.shift * CHINN,
                "p_value": np.where(small, np.nan, p_shift),
                "q_value": _bh(np.where(small, np.nan, p_shift), ~small),
                "status": np.where(small, "too_small", "tested"),
                "direction": np.where(shifts.shift >= 0, "higher", "lower"),
                "flag": False,
            }
        ).with_columns(pl.lit("mean_shift").alias("aspect"))
    ]
    # central tendency and extremity against the average evaluator's expectation for the same team
    base_prob = od.category_probabilities(model.cumulative(0.0))[sub.cell]
    total = counts.sum(axis=0)
    interior = np.arange(1, k_cat - 1)
    items: list[tuple[str, NDArrayBool, FloatArray]] = []
    if interior.size:
        middle = int(interior[np.argmax(total[interior])])
        if total[middle] >= total.max():  # the organisation's modal category is a middle one
            items.append(("central", rows.k == middle, base_prob[:, middle]))
    # Extremity is the use of *both* ends: a lenient evaluator fills the top end only (that is the cut points'
    # business), so the flag also needs each end at or above its own expectation.
    both_ends = np.ones(n_eval, dtype=bool)
    for end in (0, k_cat - 1):
        seen = od.bincount(sub.ev, weights=(rows.k == end).astype(np.float64), minlength=n_eval)
        both_ends &= seen >= od.bincount(sub.ev, weights=base_prob[:, end], minlength=n_eval)
    if k_cat >= 3:
        items.append(("extreme", (rows.k == 0) | (rows.k == k_cat - 1), base_prob[:, 0] + base_prob[:, -1]))
    scale_parts = []
    for item, hit, prob in items:
        obs = od.bincount(sub.ev, weights=hit.astype(np.float64), minlength=n_eval)
        exp = od.bincount(sub.ev, weights=prob, minlength=n_eval)
        share_o = obs / np.maximum(n_all, 1)
        share_e = exp / np.maximum(n_all, 1)
        pval = od.binomial_test_two_sided(obs, n_all, share_e)
        h = 2 * np.arcsin(np.sqrt(share_o)) - 2 * np.arcsin(np.sqrt(np.clip(share_e, 0, 1)))
        scale_parts.append(
            pl.DataFrame(
                base
                | {
                    "item": item,
                    "observed": share_o,
                    "expected": share_e,
                    "effect_size": h,
                    "p_value": np.where(small, np.nan, pval),
                    "status": np.where(small, "too_small", "tested"),
                    "direction": np.where(share_o >= share_e, "higher", "lower"),
                    "_ends": both_ends if item == "extreme" else np.ones(n_eval, dtype=bool),
                }
            )
        )
    if scale_parts:
        scale = pl.concat(scale_parts)
        p = scale["p_value"].to_numpy().astype(np.float64)
        scale = (
            scale.with_columns(pl.Series("q_value", _bh(p, np.isfinite(p))))
            .with_columns(
                (
                    (pl.col("status") == "tested")
                    & (pl.col("q_value") < org.settings.fdr)
                    & (pl.col("effect_size") >= org.settings.practical_effect)
                    & pl.col("_ends")
                )
                .fill_null(False)
                .alias("flag")
            )
            .drop("_ends")
        )
        parts.append(scale.with_columns(pl.lit("scale_use").alias("aspect")))
    ev_counts = np.zeros((n_eval, k_cat))
    np.add.at(ev_counts, (sub.ev, rows.k), 1.0)
    diff = stats.differentiation_index(ev_counts).entropy
    org_diff = float(stats.differentiation_index(total).entropy)
    fit_status = np.where(
        small, "too_small", np.where((outfit < FIT_LOW) | (infit < FIT_LOW), "too_predictable",
                                     np.where((outfit > FIT_HIGH) | (infit > FIT_HIGH), "erratic", "fits"))
    )  # fmt: skip
    parts.append(
        pl.DataFrame(
            base | {"item": "differentiation", "observed": diff, "expected": org_diff, "flag": False}
        ).with_columns(pl.lit("scale_use").alias("aspect"), pl.lit("info").alias("status"))
    )
    parts.append(
        pl.DataFrame(
            base | {"item": "fit", "infit": infit, "outfit": outfit, "status": fit_status, "flag": False}
        ).with_columns(pl.lit("scale_use").alias("aspect"))
    )
    frame = pl.concat(parts, how="diagonal_relaxed")
    return _frame(sub, org, **{c: frame[c] for c in frame.columns}), resid, var, model


def _attributes(org: OrgData, sub: Subset) -> dict[str, pl.Series]:
    """Group value per rating for the bias attributes the frame carries (gender, part time, age band)."""
    frame = org.frame
    idx = pl.Series(sub.rows.row)
    out: dict[str, pl.Series] = {}
    policy = org.policy
    if "gender" in frame.columns:
        out["gender"] = frame["gender"].cast(pl.String).gather(idx)
    if "fte" in frame.columns:
        below = float(policy.typed.fairness.part_time_below_fte)
        fte = frame["fte"].cast(pl.Float64).gather(idx)
        out["part_time"] = (
            pl.DataFrame({"f": fte})
            .select(
                pl.when(pl.col("f").is_null())
                .then(None)
                .when(pl.col("f") < below)
                .then(pl.lit("part_time"))
                .otherwise(pl.lit("full_time"))
            )
            .to_series()
        )
    if "birth_year" in frame.columns:
        edges = [int(e) for e in (policy.typed.fairness.age_bands or [])]
        if edges:
            # as models.fairness derives it: age = cycle - birth year, band = number of edges at or below it
            labels = dict(enumerate(age_band_labels(edges)))
            age = pl.col("cycle").cast(pl.Int64) - pl.col("birth_year").cast(pl.Int64)
            band = pl.sum_horizontal([(age >= e).cast(pl.Int64) for e in edges])
            out["age_band"] = (
                frame.select("cycle", "birth_year")[pl.Series(sub.rows.row)]
                .select(pl.when(age.is_not_null()).then(band.replace_strict(labels, return_dtype=pl.String)))
                .to_series()
            )
    return {a: out[a] for a in BIAS_ATTRIBUTES if a in out}


def _bias_rows(org: OrgData, sub: Subset, resid: FloatArray, var: FloatArray) -> pl.DataFrame | None:
    """Evaluator × group interactions on the residual scale (category steps) of the proportional-odds model."""
    k_min = org.settings.min_group_size
    n_eval = sub.n_eval
    sd = float(np.std(sub.rows.k)) or 1.0
    parts = []
    for attribute, values in _attributes(org, sub).items():
        present = sorted(v for v in values.drop_nulls().unique().to_list())
        if len(present) < 2:
            continue
        if len(present) == 2:
            present = present[:1]  # the other group is its mirror image
        known = values.is_not_null().to_numpy()
        for value in present:
            g = (values == value).fill_null(False).to_numpy()
            rest = known & ~g
            sums = {}
            for name, mask in (("g", g), ("r", rest)):
                sums[name] = (
                    od.bincount(sub.ev, weights=mask.astype(np.float64), minlength=n_eval),
                    od.bincount(sub.ev, weights=resid * mask, minlength=n_eval),
                    od.bincount(sub.ev, weights=var * mask, minlength=n_eval),
                )
            (ng, sg, vg), (nr, sr, vr) = sums["g"], sums["r"]
            tot_ng, tot_sg, tot_nr, tot_sr = ng.sum(), sg.sum(), nr.sum(), sr.sum()
            # colleagues: everyone else's ratings of the group and of the rest
            cg, cr = tot_ng - ng, tot_nr - nr
            with np.errstate(divide="ignore", invalid="ignore"):
                mine = sg / ng - sr / nr
                theirs = (tot_sg - sg) / cg - (tot_sr - sr) / cr
                se = np.sqrt(vg / ng**2 + vr / nr**2)
            eligible = (ng >= k_min) & (nr >= k_min) & (cg >= k_min) & (cr >= k_min)
            est = mine - theirs
            pval = 2 * sps.norm.sf(np.abs(est / se))
            parts.append(
                pl.DataFrame(
                    {
                        "_ev": np.arange(n_eval),
                        "item": f"{attribute}={value}",
                        "n": (ng + nr).astype(np.int64),
                        "n_group": ng.astype(np.int64),
                        "observed": mine,
                        "expected": theirs,
                        "estimate": est,
                        "ci_lo": est - Z * se,
                        "ci_hi": est + Z * se,
                        "raw_estimate": est,
                        "raw_se": se,
                        "effect_size": est / sd,
                        "p_value": np.where(eligible, pval, np.nan),
                        "status": np.where(eligible, "tested", "too_small"),
                        "direction": np.where(est >= 0, "higher", "lower"),
                    }
                ).filter(pl.col("n_group") > 0)
            )
    if not parts:
        return None
    frame = pl.concat(parts)
    # rows of groups below the minimum size carry no numbers at all (they would describe a small group)
    frame = frame.with_columns(
        [
            pl.when(pl.col("status") == "tested").then(pl.col(c)).otherwise(None).alias(c)
            for c in (
                "observed",
                "expected",
                "estimate",
                "ci_lo",
                "ci_hi",
                "raw_estimate",
                "raw_se",
                "effect_size",
            )
        ]
    )
    p = frame["p_value"].to_numpy().astype(np.float64)
    frame = frame.with_columns(pl.Series("q_value", _bh(p, np.isfinite(p)))).with_columns(
        (
            (pl.col("status") == "tested")
            & (pl.col("q_value") < org.settings.fdr)
            & (pl.col("effect_size").abs() >= org.settings.practical_effect)
        )
        .fill_null(False)
        .alias("flag"),
        pl.lit("bias").alias("aspect"),
    )
    return _frame(sub, org, **{c: frame[c] for c in frame.columns})


def _kappa(prev: IntArray, now: IntArray, k_cat: int) -> tuple[float, float, float, float]:
    n = prev.size
    if n == 0:
        return (math.nan,) * 4
    p_o = float(np.mean(prev == now))
    p_e = float(od.bincount(prev, minlength=k_cat) @ od.bincount(now, minlength=k_cat)) / n**2
    if p_e >= 1:
        return p_o, p_e, math.nan, math.nan
    kappa = (p_o - p_e) / (1 - p_e)
    se = math.sqrt(max(p_o * (1 - p_o), 1e-12) / n) / (1 - p_e)
    return p_o, p_e, kappa, se


def _agreement_rows(org: OrgData, sub: Subset) -> pl.DataFrame | None:
    """Employees rated in consecutive cycles of the window: agreement where the evaluator changed (F-3)."""
    rows = sub.rows
    emp = rows.emp
    order = np.lexsort((rows.cycle, emp))
    e, c, k, ev = emp[order], rows.cycle[order], rows.k[order], sub.ev[order]
    nxt = (e[1:] == e[:-1]) & (c[1:] == c[:-1] + 1)
    if not nxt.any():
        return None
    prev_k, now_k = k[:-1][nxt], k[1:][nxt]
    prev_e, now_e = ev[:-1][nxt], ev[1:][nxt]
    changed = prev_e != now_e
    k_cat = rows.measure.k
    out = []
    for item, mask in (("changed_evaluator", changed), ("same_evaluator", ~changed)):
        p_o, p_e, kappa, se = _kappa(prev_k[mask], now_k[mask], k_cat)
        out.append({"_ev": -1, "item": item, "n": int(mask.sum()), "observed": p_o, "expected": p_e,
                    "estimate": kappa, "ci_lo": kappa - Z * se, "ci_hi": kappa + Z * se})  # fmt: skip
    # Per evaluator: the changed pairs they are one side of (never both: the evaluator changed), counted with
    # bincounts over evaluator × category instead of a mask over all pairs per evaluator; the same integer
    # counts and the same divisions as _kappa, so the same numbers.
    who = np.concatenate([prev_e[changed], now_e[changed]])
    first_k = np.concatenate([prev_k[changed], prev_k[changed]])
    second_k = np.concatenate([now_k[changed], now_k[changed]])
    size = sub.n_eval
    n_e = od.bincount(who, minlength=size)
    agree = od.bincount(who, weights=(first_k == second_k).astype(np.float64), minlength=size)
    table_1 = od.bincount(who * k_cat + first_k, minlength=size * k_cat).reshape(size, k_cat)
    table_2 = od.bincount(who * k_cat + second_k, minlength=size * k_cat).reshape(size, k_cat)
    ids = np.flatnonzero(n_e > 0)
    n_i = n_e[ids]
    po_e = agree[ids] / n_i
    pe_e = np.einsum("ij,ij->i", table_1[ids], table_2[ids]) / n_i**2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa_e = np.where(pe_e >= 1, np.nan, (po_e - pe_e) / (1 - pe_e))
        se_e = np.where(pe_e >= 1, np.nan, np.sqrt(np.maximum(po_e * (1 - po_e), 1e-12) / n_i) / (1 - pe_e))
    per_evaluator = pl.DataFrame(
        {"_ev": ids.astype(np.int64), "item": "changed_evaluator", "n": n_i.astype(np.int64), "observed": po_e,
         "expected": pe_e, "estimate": kappa_e, "ci_lo": kappa_e - Z * se_e, "ci_hi": kappa_e + Z * se_e}
    )  # fmt: skip
    frame = pl.concat([pl.DataFrame(out), per_evaluator], how="vertical_relaxed").with_columns(
        pl.when(pl.col("n") < org.settings.min_n_flag).then(pl.lit("too_small")).otherwise(pl.lit("info")).alias("status"),
        pl.lit("agreement").alias("aspect"),
        pl.lit(False).alias("flag"),
    )  # fmt: skip
    ids = frame["_ev"].to_numpy()
    names = org.names("eva").gather(pl.Series(sub.ev_global[np.maximum(ids, 0)]))
    return frame.with_columns(
        pl.when(pl.Series(ids) >= 0).then(names).otherwise(None).alias("evaluator_id")
    ).drop("_ev")


def _fair_ratings(
    org: OrgData, sub: Subset, use: FloatArray, etas: list[FloatArray], pay: tuple[str, ...]
) -> pl.DataFrame | None:
    """Equipercentile mapping of each current-cycle rating from its evaluator's adjusted distribution onto the
    average evaluator's (the logistic regressions without evaluator effects), for evaluators whose unshrunk
    effect on some cut point is significant (BH) and practically large; everyone else keeps their rating."""
    rows = sub.rows
    m = rows.measure
    pick = np.flatnonzero(sub.now & (np.abs(use[sub.ev]).max(axis=1) > 1e-6))
    if pick.size == 0:
        return None
    eta = np.column_stack([e[sub.cell[pick]] for e in etas])  # ratings × cuts
    mine = od.category_probabilities(special.expit(eta + use[sub.ev[pick]]))
    base = od.category_probabilities(special.expit(eta))
    k = rows.k[pick]
    cum_mine = np.hstack([np.zeros((pick.size, 1)), np.cumsum(mine, axis=1)])
    cum_base = np.hstack([np.zeros((pick.size, 1)), np.cumsum(base, axis=1)])
    lo = cum_mine[np.arange(pick.size), k]
    hi = cum_mine[np.arange(pick.size), k + 1]
    width = np.maximum(hi - lo, 1e-12)
    overlap = np.clip(
        np.minimum(hi[:, None], cum_base[:, 1:]) - np.maximum(lo[:, None], cum_base[:, :-1]), 0, None
    )
    fair = overlap / width[:, None]
    modal = np.argmax(fair, axis=1)
    moved = modal != k
    if not moved.any():
        return None
    pick, modal, fair, k = pick[moved], modal[moved], fair[moved], k[moved]
    positions = {c: i for i, c in enumerate(m.codes)}
    pay_pos = sorted(positions[c] for c in pay if c in positions)
    crossed = [
        max((p for p in pay_pos if min(a, b) < p <= max(a, b)), default=-1)
        for a, b in zip(k, modal, strict=True)
    ]
    codes = np.asarray(m.codes, dtype=object)
    frame = pl.DataFrame(
        {
            "measure": m.name,
            "department": org.names("dept").gather(pl.Series(rows.dept[pick])),
            "function_level": org.names("lvl").gather(pl.Series(rows.lvl[pick])),
            "employee_id": org.names("emp").gather(pl.Series(rows.emp[pick])),
            "evaluator_id": org.names("eva").gather(pl.Series(rows.eva[pick])),
            "rating": codes[k].tolist(),
            "fair_rating": codes[modal].tolist(),
            "fair_probability": fair[np.arange(pick.size), modal],
            "fair_expected_position": fair @ np.arange(m.k, dtype=np.float64),
            "direction": np.where(modal < k, "lower", "higher"),
            "pay_step": np.asarray(crossed) >= 0,
            "pay_cut": pl.Series([str(codes[c]) if c >= 0 else None for c in crossed], dtype=pl.String),
        }
    )
    labels = {
        "nl": dict(zip(m.codes, m.labels_nl, strict=True)),
        "en": dict(zip(m.codes, m.labels_en, strict=True)),
    }
    texts = {}
    for lang in ("nl", "en"):
        given = pl.col("rating").replace_strict(labels[lang], default=pl.col("rating"))
        fair_label = pl.col("fair_rating").replace_strict(labels[lang], default=pl.col("fair_rating"))
        share = tx.num(pl.col("fair_probability") * 100, 0, lang)
        cut_label = pl.col("pay_cut").replace_strict(labels[lang], default=pl.col("pay_cut"))
        if lang == "nl":
            sentence = tx.cat("Gegeven: ", given, "; een gemiddelde beoordelaar had bij dit team waarschijnlijk ",
                              fair_label, " gegeven (", share, "%).")  # fmt: skip
            pay_clause = tx.cat(" Het verschil ligt over de beloningsgrens ‘", cut_label, " of hoger’.")
        else:
            sentence = tx.cat("Given: ", given, "; an average evaluator would probably have given ", fair_label,
                              " with this team (", share, "%).")  # fmt: skip
            pay_clause = tx.cat(" The difference crosses the pay line ‘", cut_label, " or higher’.")
        texts[lang] = pl.when(pl.col("pay_step")).then(tx.cat(sentence, pay_clause)).otherwise(sentence)
    return frame.with_columns(texts["nl"].alias("reason_nl"), texts["en"].alias("reason_en"))


def _reasons(frame: pl.DataFrame) -> pl.DataFrame:
    """One sentence per row, Dutch and English, from aggregates only (never an identifier)."""
    out = {}
    for lang in ("nl", "en"):
        nl = lang == "nl"
        n = pl.col("n").cast(pl.String)

        def pct(c: str, lang: str = lang) -> pl.Expr:
            return tx.num(pl.col(c) * 100, 0, lang)

        def num(c: str, lang: str = lang) -> pl.Expr:
            return tx.num(pl.col(c), 2, lang)

        higher = pl.col("direction") == "higher"
        more = (
            pl.when(higher)
            .then(pl.lit("vaker" if nl else "more often"))
            .otherwise(pl.lit("minder vaak" if nl else "less often"))
        )
        outcome = pl.coalesce(pl.col(f"_label_{lang}"), pl.col("item"))
        cut = (
            tx.cat("Geeft ", outcome, " of hoger ", more, " dan een gemiddelde beoordelaar bij een vergelijkbaar team: ",
                   pct("observed"), "% tegen ", pct("expected"), "% verwacht (n = ", n, ", q = ", tx.pvalue(pl.col("q_value"), lang), ").")
            if nl else
            tx.cat("Gives ", outcome, " or higher ", more, " than an average evaluator with a comparable team: ",
                   pct("observed"), "% against ", pct("expected"), "% expected (n = ", n, ", q = ", tx.pvalue(pl.col("q_value"), lang), ").")
        )  # fmt: skip
        inseparable = (
            " De gegevens onderscheiden beoordelaars op dit snijpunt niet (spreiding tussen beoordelaars geschat op 0); het ongekrompen verschil wordt getoond."
            if nl else
            " The data do not separate evaluators at this cut point (between-evaluator variance estimated at 0); the unshrunk difference is shown."
        )  # fmt: skip
        cut = pl.when(pl.col("tau2_status") == "not_separable").then(tx.cat(cut, inseparable)).otherwise(cut)
        untestable = (
            "Geen collega-beoordelaar in dezelfde afdeling: mildheid en teamsamenstelling zijn niet te scheiden."
            if nl
            else "No colleague evaluator in the same department: leniency and team make-up cannot be told apart."
        )
        small = "Te weinig beoordelingen voor een uitspraak." if nl else "Too few ratings for a conclusion."
        shift = (
            tx.cat("Verschuiving op de hele schaal (proportionele-oddsmodel): ", num("estimate"), " logit (95%-interval ",
                   num("ci_lo"), " tot ", num("ci_hi"), ", n = ", n, ").")
            if nl else
            tx.cat("Shift over the whole scale (proportional-odds model): ", num("estimate"), " logit (95% interval ",
                   num("ci_lo"), " to ", num("ci_hi"), ", n = ", n, ").")
        )  # fmt: skip
        share_row = (
            tx.cat(pl.when(pl.col("item") == "central").then(pl.lit("Aandeel in de middencategorie")).otherwise(pl.lit("Aandeel in de laagste of hoogste uitkomst")), ": ", pct("observed"), "% tegen ", pct("expected"), "% verwacht bij dit team (n = ", n, ").")
            if nl else
            tx.cat(pl.when(pl.col("item") == "central").then(pl.lit("Share in the middle category")).otherwise(pl.lit("Share in the lowest or highest outcome")), ": ", pct("observed"), "% against ", pct("expected"), "% expected with this team (n = ", n, ").")
        )  # fmt: skip
        differentiation = (
            tx.cat(
                "Differentiatie-index (Z-8): ",
                num("observed"),
                " tegen ",
                num("expected"),
                " in de organisatie.",
            )
            if nl
            else tx.cat(
                "Differentiation index (Z-8): ",
                num("observed"),
                " against ",
                num("expected"),
                " in the organisation.",
            )
        )
        fit = (
            tx.cat("Modelfit: infit ", num("infit"), ", outfit ", num("outfit"), " (verwacht rond 1; onder 0,5 te voorspelbaar, boven 1,5 grillig).")
            if nl else
            tx.cat("Model fit: infit ", num("infit"), ", outfit ", num("outfit"), " (about 1 expected; below 0.5 too predictable, above 1.5 erratic).")
        )  # fmt: skip
        bias = (
            tx.cat("Verschil tussen ", pl.col("item"), " en de rest: ", num("observed"), " stap tegen ", num("expected"),
                   " bij collega's; interactie ", num("estimate"), " (95%-interval ", num("ci_lo"), " tot ", num("ci_hi"), ").")
            if nl else
            tx.cat("Difference between ", pl.col("item"), " and the rest: ", num("observed"), " steps against ", num("expected"),
                   " with colleagues; interaction ", num("estimate"), " (95% interval ", num("ci_lo"), " to ", num("ci_hi"), ").")
        )  # fmt: skip
        agreement = (
            tx.cat("Overeenstemming ", pct("observed"), "% tegen ", pct("expected"), "% bij toeval; kappa ", num("estimate"),
                   " (n = ", n, " paren).")
            if nl else
            tx.cat("Agreement ", pct("observed"), "% against ", pct("expected"), "% by chance; kappa ", num("estimate"),
                   " (n = ", n, " pairs).")
        )  # fmt: skip
        out[lang] = [pl.lit(small), pl.lit(untestable), cut, shift, share_row, differentiation, fit, bias,
                     agreement]  # fmt: skip
    aspect, item, status = pl.col("aspect"), pl.col("item"), pl.col("status")
    # which sentence each row gets, first match wins (in the order of the sentences above)
    conditions = [
        status == "too_small",
        status == "untestable",
        aspect == "cut_point",
        aspect == "mean_shift",
        (aspect == "scale_use") & item.is_in(["central", "extreme"]),
        (aspect == "scale_use") & (item == "differentiation"),
        (aspect == "scale_use") & (item == "fit"),
        aspect == "bias",
        aspect == "agreement",
    ]
    branch: pl.Expr = pl.lit(None, dtype=pl.Int64)
    for index, condition in reversed(list(enumerate(conditions))):
        branch = pl.when(condition).then(pl.lit(index, dtype=pl.Int64)).otherwise(branch)
    # Each sentence is built on its own rows only: a when/then chain builds every branch's strings for every
    # row (millions at scale), which was most of the report's time. Rows that match no branch stay null.
    rows = frame.lazy().with_row_index("_row").with_columns(branch.alias("_branch"))
    pieces = [
        rows.filter(pl.col("_branch") == index).select(
            "_row", out["nl"][index].alias("reason_nl"), out["en"][index].alias("reason_en")
        )
        for index in range(len(conditions))
    ]
    none = pl.lit(None, dtype=pl.String)
    pieces.append(
        rows.filter(pl.col("_branch").is_null()).select(
            "_row", none.alias("reason_nl"), none.alias("reason_en")
        )
    )
    reasons = pl.concat(pieces).sort("_row").collect()
    return frame.with_columns(reasons["reason_nl"], reasons["reason_en"])


def _org_parts(
    org: OrgData, fair: list[pl.DataFrame], cycles: Collection[int] | None = None
) -> Iterator[pl.DataFrame]:
    """The evaluator_report rows of one organisation, one finished part (_finish_part) per cycle and measure
    (each over the window of the last ``calibration.leniency_window_cycles`` cycles up to the cycle), in the
    mart's sort order (cycle, then measure); its evaluator_fair_ratings rows are appended to ``fair``.
    ``cycles``: only the parts of these cycles (None: of every cycle); the others are read for the windows."""
    settings = org.settings
    pays = pay_relevant_cut_points(org.policy)
    window_len = max(int(settings.leniency_window_cycles), 1)
    measures = sorted(
        (rows for rows in org.rows if rows.measure.k >= 2 and rows.size > 0), key=lambda r: r.measure.name
    )
    for c in range(org.cycles.size):
        if cycles is not None and int(org.cycles[c]) not in cycles:
            continue
        first = max(0, c - window_len + 1)
        for rows in measures:
            pay = pays.get(rows.measure.name, ())
            sub = _subset(rows, np.arange(first, c + 1), c)
            if sub is None or np.unique(sub.rows.k).size < 2:
                continue
            cuts, use, etas = _cut_rows(org, sub, pay, settings.practical_effect)
            po, resid, var, _model = _po_rows(org, sub)
            parts = [cuts, po]
            bias = _bias_rows(org, sub, resid, var)
            if bias is not None:
                parts.append(bias)
            if c > first:
                agreement = _agreement_rows(org, sub)
                if agreement is not None:
                    parts.append(agreement)
            cases = _fair_ratings(org, sub, use, etas, pay)
            if cases is not None:
                fair.append(
                    cases.with_columns(
                        pl.lit(org.org).alias("organization"),
                        pl.lit(int(org.cycles[c]), dtype=pl.Int64).alias("cycle"),
                    )
                )
            frame = pl.concat(parts, how="diagonal_relaxed").with_columns(
                pl.lit(org.org).alias("organization"),
                pl.lit(int(org.cycles[c]), dtype=pl.Int64).alias("cycle"),
                pl.lit(int(org.cycles[first]), dtype=pl.Int64).alias("window_first_cycle"),
                pl.lit(rows.measure.name).alias("measure"),
            )
            if cases is not None:
                crossing = (
                    cases.filter(pl.col("pay_step"))
                    .group_by("evaluator_id", pl.col("pay_cut").alias("item"))
                    .agg(pl.len().cast(pl.Int64).alias("fair_cases"))
                )
                frame = frame.join(crossing, on=["evaluator_id", "item"], how="left")
            yield _finish_part(frame)


def _finish_part(part: pl.DataFrame) -> pl.DataFrame:
    """One part of the report in the mart's columns and types, with its reasons, sorted by aspect, item and
    evaluator."""
    out = part.with_columns(
        pl.col("fair_cases").fill_null(0) if "fair_cases" in part.columns else pl.lit(0).alias("fair_cases")
    )
    missing = [
        pl.lit(None, dtype=dtype).alias(column)
        for column, dtype in SCHEMA.items()
        if column not in out.columns
    ]
    missing += [
        pl.lit(None, dtype=pl.String).alias(c) for c in ("_label_nl", "_label_en") if c not in out.columns
    ]
    out = out.with_columns(missing).with_columns(
        pl.col("flag").fill_null(False), pl.col(pl.Float64).fill_nan(None)
    )
    return finish(_reasons(out), SCHEMA).sort(["aspect", "item", "evaluator_id"], nulls_last=True)


class ReportParts:
    """marts.evaluator_report of some organisations produced one finished part (organisation × cycle × measure)
    at a time, in the mart's sort order, so that a writer can store each part as it comes instead of holding
    the whole report (at 200,000 × 5 two million rows, most of the step's memory); marts.evaluator_fair_ratings
    once the parts are done. Each organisation's encoded data are let go once its parts are made.

    ``made``: the (organisation, cycle) parts to make (None: every cycle of every organisation). A run that
    adds a cycle reads the earlier cycles of its window but makes the new cycle's parts only: the windows of
    the earlier cycles are unchanged, and their parts would be computed only to be thrown away."""

    def __init__(self, orgs: Iterable[OrgData], made: Collection[tuple[str, int]] | None = None) -> None:
        self._orgs = sorted(orgs, key=lambda org: org.org)
        self._made = None if made is None else frozenset((str(o), int(c)) for o, c in made)
        self._fair: list[pl.DataFrame] = []
        self._done = False

    def report(self) -> Iterator[pl.DataFrame]:
        """The report's parts, sorted by organization, cycle and measure and within a part by aspect, item and
        evaluator: concatenated, the report in its sort order. Always at least one part (maybe empty)."""
        produced = False
        while self._orgs:
            org = self._orgs.pop(0)
            cycles = None if self._made is None else {c for o, c in self._made if o == org.org}
            for part in _org_parts(org, self._fair, cycles):
                produced = True
                yield part
            del org
        self._done = True
        if not produced:
            yield pl.DataFrame(schema=SCHEMA)

    def fair_ratings(self) -> pl.DataFrame:
        """The fair-rating cases of every part (complete only once ``report`` is exhausted)."""
        if not self._done:
            raise RuntimeError("the fair ratings are complete only after the report's last part")
        if not self._fair:
            return pl.DataFrame(schema=FAIR_SCHEMA)
        return finish(pl.concat(self._fair, how="diagonal_relaxed"), FAIR_SCHEMA).sort(
            ["organization", "cycle", "measure", "department", "evaluator_id", "employee_id"]
        )


def evaluator_report(
    evaluations: pl.DataFrame, policies: Mapping[str, Policy], *, prepared: list[OrgData] | None = None
) -> dict[str, pl.DataFrame]:
    """marts.evaluator_report and marts.evaluator_fair_ratings from canonical evaluations and the policies,
    as whole frames (the pipeline writes ReportParts part by part instead).

    ``evaluations`` carries the columns of models.calibration.prepare plus, where present, gender, fte and
    birth_year (the bias aspect).
    """
    parts = ReportParts(prepared if prepared is not None else prepare(evaluations, policies))
    # rechunk=False: the parts are kept as chunks, not copied into one buffer
    report = pl.concat(list(parts.report()), rechunk=False)
    return {"evaluator_report": report, "evaluator_fair_ratings": parts.fair_ratings()}
