"""marts.evaluator_leniency: each evaluator's effect on ratings, adjusted, shrunk, and whether it can be compared.

Grain: organisation × cycle × measure × evaluator (first evaluator), for evaluators who rated in that cycle.
The analysis for cycle c uses the ratings of the last ``calibration.leniency_window_cycles`` cycles of the
organisation up to and including c (a track record, so a team of 12 is not judged on 12 ratings alone).

Effect (``evaluator_contrasts``): each rating minus the organisation's mean for the employee's function level
in that cycle (adjustment for function level); then the evaluator's ratings are compared with the *other*
evaluators' ratings in the same cycle × department (adjustment for department, leave-evaluator-out so the
evaluator does not dilute their own comparison) — the OLS coefficient of "rated by this evaluator" with
cycle × department fixed effects, se = sigma / sqrt(Σ w). The raw effects are shrunk toward the pooled mean
with ``models.stats.empirical_bayes_shrinkage`` (DerSimonian–Laird tau²; small teams shrink most), with a 95%
posterior interval. ``effect_sd`` is the shrunk effect in units of sigma (the pooled within-department SD of
the level-adjusted scores). An evaluator is ``lenient`` (``severe``) when the interval lies above (below)
zero, effect_sd >= metrics.practical_effect (<= -practical_effect), and n >= metrics.min_n_flag. An evaluator
who is the only one rating in their department(s) has nothing to be compared with (``untestable``).

Which comparisons the data support: evaluators are linked when an employee was rated by both (an employee
who changed evaluator within the window) or when they share a second evaluator (F-3), in the window. The
connected components of that graph (``models.stats.linked_components``) are numbered; the largest one is the
main comparison set. An evaluator outside it (``is_linked`` false) rates a team that no one else rated or
co-signed: leniency and team quality cannot be told apart, so such an evaluator is never called lenient or
severe (assessment ``not_linked`` where the numbers alone would have said so).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse import csgraph

from models import stats
from models.calibration import _texts as tx
from models.calibration._data import (
    FloatArray,
    IntArray,
    OrgData,
    dense_codes,
    finish,
    prepare,
    unique_sorted,
)
from models.calibration.deviation import stratum_stats
from models.policy import Policy

LEVEL = 0.95  # the 95% interval

SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "measure": pl.String(),
    "evaluator_id": pl.String(),
    "window_first_cycle": pl.Int64(),
    "n": pl.Int64(),
    "n_cycle": pl.Int64(),
    "n_compared": pl.Int64(),
    "mean_score": pl.Float64(),
    "raw_effect": pl.Float64(),
    "se": pl.Float64(),
    "effect": pl.Float64(),
    "se_post": pl.Float64(),
    "ci_lo": pl.Float64(),
    "ci_hi": pl.Float64(),
    "effect_sd": pl.Float64(),
    "sigma": pl.Float64(),
    "tau2": pl.Float64(),
    "component": pl.Int64(),
    "component_size": pl.Int64(),
    "is_linked": pl.Boolean(),
    "assessment": pl.String(),
    "flag": pl.Boolean(),
    "reason_nl": pl.String(),
    "reason_en": pl.String(),
}


def evaluator_contrasts(
    resid: FloatArray, evaluator: IntArray, stratum: IntArray, n_evaluators: int
) -> dict[str, FloatArray | float]:
    """Each evaluator's ratings against their colleagues' ratings in the same stratum (cycle × department).

    ``resid`` is the score minus the organisation's mean for the employee's function level in that cycle
    (the adjustment for function level). Per evaluator e the effect is the OLS coefficient of an indicator
    "rated by e" in a regression of resid on stratum fixed effects:

        effect_e = Σ_g w_g (m_eg - m_og) / Σ_g w_g,   w_g = n_eg n_og / (n_eg + n_og),

    where m_eg / m_og are the mean resid of e's ratings and of the other evaluators' ratings in stratum g
    (leave-evaluator-out, so a lenient evaluator does not drag the comparison along), and
    se_e = sigma / sqrt(Σ_g w_g) with sigma the pooled SD of resid within strata (df = N - strata). Ratings in a
    stratum where no one else rates have no comparison (w = 0); an evaluator with none at all gets nan.
    Arrays are indexed by evaluator code; ``n_compared`` counts the ratings that have a comparison.
    """
    strata, g = dense_codes(stratum)
    n_g = np.bincount(g).astype(np.float64)
    s_g = np.bincount(g, weights=resid)
    dof = resid.size - strata.size
    dev = resid - (s_g / n_g)[g]
    sigma = float(np.sqrt(np.sum(dev**2) / dof)) if dof > 0 else float("nan")
    pairs, ge = dense_codes(g * n_evaluators + evaluator)
    n_ge = np.bincount(ge).astype(np.float64)
    s_ge = np.bincount(ge, weights=resid)
    pg, pe = pairs // n_evaluators, pairs % n_evaluators
    n_o = n_g[pg] - n_ge
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where(n_o > 0, s_ge / n_ge - (s_g[pg] - s_ge) / n_o, 0.0)
        w = n_ge * n_o / (n_ge + n_o)
    w_sum = np.bincount(pe, weights=w, minlength=n_evaluators)
    num = np.bincount(pe, weights=w * diff, minlength=n_evaluators)
    n = np.bincount(evaluator, minlength=n_evaluators).astype(np.float64)
    compared = np.bincount(pe, weights=np.where(n_o > 0, n_ge, 0.0), minlength=n_evaluators).astype(
        np.float64
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        effect = np.where(w_sum > 0, num / w_sum, np.nan)
        se = np.where(w_sum > 0, sigma / np.sqrt(w_sum), np.nan)
    return {"n": n, "n_compared": compared, "raw_effect": effect, "se": se, "sigma": sigma}


def shrink(raw: FloatArray, se: FloatArray, level: float = LEVEL) -> dict[str, FloatArray | float]:
    """``models.stats.empirical_bayes_shrinkage`` over the evaluators that have an effect (others: nan)."""
    ok = np.isfinite(raw) & np.isfinite(se) & (se > 0)
    shr = stats.empirical_bayes_shrinkage(raw[ok], se[ok], level=level)
    out: dict[str, FloatArray | float] = {"tau2": float(shr.tau2)}
    for name, values in (("shrunk", shr.shrunk), ("se_post", shr.se_post), ("lo", shr.lo), ("hi", shr.hi)):
        full = np.full(raw.size, np.nan)
        full[ok] = values
        out[name] = full
    return out


def components(org: OrgData, window: IntArray) -> tuple[IntArray, IntArray, NDArray[np.bool_]]:
    """Component id, component size and is_linked per evaluator code, from the rows of the window.

    Links: an employee rated by two evaluators, and two evaluators sharing a second evaluator (F-3). Same
    graph and numbering as ``models.stats.linked_components`` over ``evaluator_pairs_from_assignments``
    (components numbered by their smallest evaluator), built from integer codes for speed; the tests check
    it against models.stats.
    """
    n_eval = org.size("eva")
    rows = np.isin(org.assign_cycle, window) & (org.codes("eva") >= 0)
    eva = org.codes("eva")[rows]
    src, dst = [], []
    for holder in (org.codes("emp")[rows], org.codes("sec")[rows]):
        keep = holder >= 0
        pairs = unique_sorted(holder[keep] * n_eval + eva[keep])
        h, v = pairs // n_eval, pairs % n_eval
        same = h[1:] == h[:-1]  # consecutive evaluators of the same employee (or second evaluator)
        src.append(v[:-1][same])
        dst.append(v[1:][same])
    s, d = np.concatenate(src), np.concatenate(dst)
    graph = sparse.coo_matrix((np.ones(s.size), (s, d)), shape=(n_eval, n_eval)).tocsr()
    _, labels = csgraph.connected_components(graph, directed=False)
    present = unique_sorted(eva)
    component = np.full(n_eval, -1, dtype=np.int64)
    size = np.zeros(n_eval, dtype=np.int64)
    linked = np.zeros(n_eval, dtype=bool)
    if present.size == 0:
        return component, size, linked
    # number components by their smallest (first in sorted order) evaluator, as models.stats does
    lab = labels[present]
    first_seen = np.full(int(lab.max()) + 1, present.size, dtype=np.int64)
    np.minimum.at(first_seen, lab, np.arange(present.size))
    used = np.flatnonzero(first_seen < present.size)
    rank = np.full(first_seen.size, -1, dtype=np.int64)
    rank[used[np.argsort(first_seen[used], kind="stable")]] = np.arange(used.size)
    component[present] = rank[lab]
    sizes = np.bincount(component[present])
    size[present] = sizes[component[present]]
    main = int(np.argmax(sizes))  # the largest component; ties go to the lowest id
    linked[present] = (component[present] == main) & (sizes[main] >= 2)
    return component, size, linked


def leniency_frames(org: OrgData) -> list[pl.DataFrame]:
    """The evaluator_leniency rows of one organisation (all measures)."""
    settings = org.settings
    window_len = max(int(settings.leniency_window_cycles), 1)
    n_eval, n_dept, n_lvl = org.size("eva"), org.size("dept"), org.size("lvl")
    parts = []
    level_means = {
        id(rows): stratum_stats(rows.cycle, rows.lvl, rows.score, org.cycles.size, n_lvl).mean
        for rows in org.rows
    }
    for c in range(org.cycles.size):
        window = np.arange(max(0, c - window_len + 1), c + 1)
        component, comp_size, linked = components(org, window)
        for rows_all in org.rows:
            level_mean = level_means[id(rows_all)]
            rows = rows_all.subset((rows_all.cycle >= window[0]) & (rows_all.cycle <= c))
            now = rows.cycle == c
            if not now.any():
                continue
            resid = rows.score - level_mean[rows.cycle, rows.lvl]
            eff = evaluator_contrasts(resid, rows.eva, rows.cycle * n_dept + rows.dept, n_eval)
            shr = shrink(np.asarray(eff["raw_effect"]), np.asarray(eff["se"]))
            eff |= shr
            n_now = np.bincount(rows.eva[now], minlength=n_eval)
            sum_now = np.bincount(rows.eva[now], weights=rows.score[now], minlength=n_eval)
            ev = np.flatnonzero(n_now > 0)
            sigma = float(eff["sigma"])  # type: ignore[arg-type]
            effect = np.asarray(eff["shrunk"])[ev]
            parts.append(
                pl.DataFrame(
                    {
                        "evaluator_id": org.names("eva").gather(pl.Series(ev)),
                        "n": np.asarray(eff["n"])[ev],
                        "n_cycle": n_now[ev],
                        "n_compared": np.asarray(eff["n_compared"])[ev],
                        "mean_score": sum_now[ev] / n_now[ev],
                        "raw_effect": np.asarray(eff["raw_effect"])[ev],
                        "se": np.asarray(eff["se"])[ev],
                        "effect": effect,
                        "se_post": np.asarray(eff["se_post"])[ev],
                        "ci_lo": np.asarray(eff["lo"])[ev],
                        "ci_hi": np.asarray(eff["hi"])[ev],
                        "effect_sd": effect / sigma if sigma > 0 else np.full(ev.size, np.nan),
                        "sigma": np.full(ev.size, sigma),
                        "tau2": np.full(ev.size, float(eff["tau2"])),  # type: ignore[arg-type]
                        "component": component[ev],
                        "component_size": comp_size[ev],
                        "is_linked": linked[ev],
                    }
                ).with_columns(
                    pl.lit(org.org).alias("organization"),
                    pl.lit(int(org.cycles[c]), dtype=pl.Int64).alias("cycle"),
                    pl.lit(rows.measure.name).alias("measure"),
                    pl.lit(int(org.cycles[window[0]]), dtype=pl.Int64).alias("window_first_cycle"),
                    pl.lit(settings.min_n_flag).alias("_min_n"),
                    pl.lit(settings.practical_effect).alias("_practical"),
                )
            )
    if not parts:
        return []
    out = _classify(pl.concat(parts, how="vertical_relaxed"))
    return [finish(out, SCHEMA)]


def evaluator_leniency(
    evaluations: pl.DataFrame, policies: Mapping[str, Policy], *, prepared: list[OrgData] | None = None
) -> pl.DataFrame:
    """The evaluator_leniency mart from canonical evaluations and the organisations' policies."""
    orgs = prepared if prepared is not None else prepare(evaluations, policies)
    parts = [frame for org in orgs for frame in leniency_frames(org)]
    if not parts:
        return pl.DataFrame(schema=SCHEMA)
    return pl.concat(parts, how="vertical").sort(["organization", "cycle", "measure", "evaluator_id"])


def _finite(col: str) -> pl.Expr:
    return pl.col(col).is_not_null() & pl.col(col).is_not_nan()


def _classify(out: pl.DataFrame) -> pl.DataFrame:
    signal = (
        pl.when((pl.col("ci_lo") > 0) & (pl.col("effect_sd") >= pl.col("_practical")))
        .then(pl.lit("lenient"))
        .when((pl.col("ci_hi") < 0) & (pl.col("effect_sd") <= -pl.col("_practical")))
        .then(pl.lit("severe"))
        .otherwise(None)
    )
    assessment = (
        pl.when(pl.col("n") < pl.col("_min_n"))
        .then(pl.lit("too_small"))
        .when(~(_finite("ci_lo") & _finite("ci_hi") & _finite("effect_sd")))
        .then(pl.lit("untestable"))
        .when(signal.is_null())
        .then(pl.lit("none"))
        .when(~pl.col("is_linked").fill_null(False))
        .then(pl.lit("not_linked"))
        .otherwise(signal)
    )
    out = out.with_columns(assessment.alias("assessment")).with_columns(
        pl.col("assessment").is_in(["lenient", "severe"]).alias("flag")
    )
    n = pl.col("n").cast(pl.String)
    texts: dict[str, dict[str, pl.Expr]] = {}
    for lang in ("nl", "en"):
        eff = tx.num(pl.col("effect"), 2, lang)
        lo = tx.num(pl.col("ci_lo"), 2, lang)
        hi = tx.num(pl.col("ci_hi"), 2, lang)
        sd = tx.num(pl.col("effect_sd"), 2, lang)
        if lang == "nl":
            lenient = tx.cat(
                "Mild: beoordeelt ",
                eff,
                " punt hoger dan collega's bij gelijk functieniveau en afdeling ",
                "(95%-interval ",
                lo,
                " tot ",
                hi,
                ", ",
                sd,
                " SD, n = ",
                n,
                ").",
            )
            severe = tx.cat(
                "Streng: beoordeelt ",
                eff,
                " punt lager dan collega's bij gelijk functieniveau en afdeling ",
                "(95%-interval ",
                lo,
                " tot ",
                hi,
                ", ",
                sd,
                " SD, n = ",
                n,
                ").",
            )
            unlinked = tx.cat(
                "Wijkt af (",
                eff,
                " punt, n = ",
                n,
                "), maar het team is niet verbonden met andere teams ",
                "(geen gedeelde medewerkers of tweede evaluator): mildheid en teamkwaliteit zijn niet te scheiden.",
            )
            small = tx.cat(
                "Te weinig beoordelingen (n = ", n, ", minimum ", pl.col("_min_n").cast(pl.String), ")."
            )
            none = tx.cat(
                "Geen aantoonbare mildheid of strengheid (",
                eff,
                " punt, 95%-interval ",
                lo,
                " tot ",
                hi,
                ").",
            )
            untestable = pl.lit(
                "Niet te vergelijken: geen andere evaluator in dezelfde afdeling, of te weinig evaluatoren of spreiding."
            )
        else:
            lenient = tx.cat(
                "Lenient: rates ",
                eff,
                " points above colleagues at the same function level and department ",
                "(95% interval ",
                lo,
                " to ",
                hi,
                ", ",
                sd,
                " SD, n = ",
                n,
                ").",
            )
            severe = tx.cat(
                "Severe: rates ",
                eff,
                " points below colleagues at the same function level and department ",
                "(95% interval ",
                lo,
                " to ",
                hi,
                ", ",
                sd,
                " SD, n = ",
                n,
                ").",
            )
            unlinked = tx.cat(
                "Departs (",
                eff,
                " points, n = ",
                n,
                "), but the team is not linked to other teams ",
                "(no shared employees or second evaluator): leniency and team quality cannot be told apart.",
            )
            small = tx.cat("Too few ratings (n = ", n, ", minimum ", pl.col("_min_n").cast(pl.String), ").")
            none = tx.cat(
                "No demonstrable leniency or severity (", eff, " points, 95% interval ", lo, " to ", hi, ")."
            )
            untestable = pl.lit(
                "Cannot be compared: no other evaluator in the same department, or too few evaluators or too little spread."
            )
        for status, expr in (
            ("lenient", lenient),
            ("severe", severe),
            ("not_linked", unlinked),
            ("too_small", small),
            ("untestable", untestable),
            ("none", none),
        ):
            texts.setdefault(status, {})[lang] = expr
    return tx.by_status(out, "assessment", texts)
