"""marts.unit_deviation: where a unit's ratings depart from its organisation's norm, and whether by more than chance.

One row per organisation, cycle, measure, grouping and unit (groupings department, function_level,
department × function_level, evaluator; the organisation itself is the norm and is not tested). For every
unit the mart gives its mean score on the policy's ordinal scale, the mean it would have if each of its
members scored the organisation's mean of their function level (indirect standardisation), an exact (or, for
large units, normal) permutation test of its mean score against the rest of the organisation and an omnibus
test of its whole distribution, an effect size, Benjamini–Hochberg q-values,
funnel-plot limits and a differentiation index (Z-8), and a flag with its reason in Dutch and English.

A unit is flagged only when all of these hold (DESIGN.md "Statistics, honestly"):
  * n >= policy metrics.min_n_flag;
  * its ratings differ from the rest of the organisation by more than chance: q_value <= metrics.fdr, from the
    exact permutation test of its mean score (normal approximation only for large units; see _homogeneity);
  * its mean still differs after adjusting for function-level mix: q_adjusted <= metrics.fdr (z of the
    indirect standardisation) and in the same direction;
  * the adjusted difference is practically large: |effect_size| >= metrics.practical_effect (in SDs).
The omnibus test of the whole distribution (p_distribution) is reported beside it (a manager who avoids both
ends of the scale has a normal mean but a different distribution) and sets status distribution_differs.
The q-values control the false discovery rate within a family = organisation × cycle × measure × grouping,
over the units that are eligible (n >= min_n_flag); the other units get no q-value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import special

from models import stats
from models.calibration import _texts as tx
from models.calibration._data import (
    FloatArray,
    IntArray,
    MeasureRows,
    OrgData,
    UnitCounts,
    finish,
    prepare,
    unit_counts,
)
from models.calibration._homogeneity import DEFAULT_EXACT_BUDGET, DEFAULT_N_MC, McBudget, family_tests
from models.calibration._scales import GROUPINGS
from models.policy import Policy

FUNNEL_LEVELS = (0.95, 0.998)  # the warning and control limits (about 2 and 3 SD)

SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "measure": pl.String(),
    "grouping": pl.String(),
    "unit": pl.String(),
    "n": pl.Int64(),
    "mean_score": pl.Float64(),
    "org_mean": pl.Float64(),
    "expected_mean": pl.Float64(),
    "o_minus_e": pl.Float64(),
    "o_over_e": pl.Float64(),
    "adjusted_mean": pl.Float64(),
    "adjusted_for": pl.String(),
    "effect_size": pl.Float64(),
    "cliffs_delta": pl.Float64(),
    "test_method": pl.String(),
    "p_value": pl.Float64(),
    "q_value": pl.Float64(),
    "z_adjusted": pl.Float64(),
    "p_adjusted": pl.Float64(),
    "q_adjusted": pl.Float64(),
    "distribution_method": pl.String(),
    "chi2": pl.Float64(),
    "dof": pl.Int64(),
    "p_distribution": pl.Float64(),
    "q_distribution": pl.Float64(),
    "funnel_sd": pl.Float64(),
    "funnel_lo_95": pl.Float64(),
    "funnel_hi_95": pl.Float64(),
    "funnel_lo_998": pl.Float64(),
    "funnel_hi_998": pl.Float64(),
    "funnel_position": pl.String(),
    "differentiation": pl.Float64(),
    "modal_share": pl.Float64(),
    "org_differentiation": pl.Float64(),
    "status": pl.String(),
    "direction": pl.String(),
    "flag": pl.Boolean(),
    "reason_nl": pl.String(),
    "reason_en": pl.String(),
}


@dataclass(frozen=True)
class StratumStats:
    """Mean and variance (ddof = 1; 0 for a single row, as models.stats) per cycle × stratum."""

    n: FloatArray  # (cycles, strata)
    mean: FloatArray
    var: FloatArray
    within_sd: FloatArray  # (cycles,) pooled SD around the stratum means, ddof = rows - strata


def stratum_stats(
    cycle: IntArray, stratum: IntArray, score: FloatArray, n_cycles: int, n_strata: int
) -> StratumStats:
    key = cycle * n_strata + stratum
    size = n_cycles * n_strata
    n = np.bincount(key, minlength=size).astype(np.float64)
    total = np.bincount(key, weights=score, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
    dev2 = np.bincount(key, weights=(score - mean[key]) ** 2, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n > 1, dev2 / (n - 1.0), 0.0)
    n2, dev2_2 = n.reshape(n_cycles, n_strata), dev2.reshape(n_cycles, n_strata)
    dof = n2.sum(axis=1) - (n2 > 0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        within = np.where(dof > 0, np.sqrt(dev2_2.sum(axis=1) / dof), np.nan)
    return StratumStats(n2, mean.reshape(n_cycles, n_strata), var.reshape(n_cycles, n_strata), within)


def indirect_standardisation_by_cycle(
    cycle: IntArray,
    unit: IntArray,
    stratum: IntArray,
    score: FloatArray,
    n_cycles: int,
    n_units: int,
    n_strata: int,
    strata_stats: StratumStats | None = None,
) -> dict[str, FloatArray]:
    """``models.stats.indirect_standardisation`` for every cycle × unit at once, from integer codes.

    Same definitions (observed O, expected E from the cycle's stratum means, z from the stratum variances with
    ddof = 1), computed with bincounts instead of one call per cycle and grouping; the tests check it against
    models.stats row for row. Returns arrays of shape (cycles, units): n, observed, expected, var_sum, z.
    """
    st = (
        strata_stats if strata_stats is not None else stratum_stats(cycle, stratum, score, n_cycles, n_strata)
    )
    key = cycle * n_units + unit
    size = n_cycles * n_units
    stratum_of_row = cycle * n_strata + stratum  # one flat index: far cheaper than indexing [cycle, stratum]
    n = np.bincount(key, minlength=size).astype(np.float64)
    o_sum = np.bincount(key, weights=score, minlength=size)
    e_sum = np.bincount(key, weights=st.mean.ravel()[stratum_of_row], minlength=size)
    v_sum = np.bincount(key, weights=st.var.ravel()[stratum_of_row], minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = np.where(n > 0, o_sum / n, np.nan)
        expected = np.where(n > 0, e_sum / n, np.nan)
        z = np.where(v_sum > 0, (observed - expected) * n / np.sqrt(v_sum), np.nan)
    shape = (n_cycles, n_units)
    return {
        "n": n.reshape(shape),
        "observed": observed.reshape(shape),
        "expected": expected.reshape(shape),
        "var_sum": v_sum.reshape(shape),
        "z": z.reshape(shape),
        "within_sd": st.within_sd,
    }


def deviation_frames(
    org: OrgData,
    rows: MeasureRows,
    counts: dict[str, UnitCounts],
    *,
    n_mc: int = DEFAULT_N_MC,
    exact_budget: int = DEFAULT_EXACT_BUDGET,
) -> list[pl.DataFrame]:
    """The unit_deviation rows of one organisation and measure.

    Each cycle has its own work budget for exact and Monte Carlo tests (shared by the groupings of that
    cycle): a cycle's p-values then never depend on which other cycles were computed with it, so a new
    cycle can be computed alone and give what a run over all cycles gives."""
    cycle_budgets = [McBudget() for _ in range(org.cycles.size)]
    settings = org.settings
    n_cycles = org.cycles.size
    scores = rows.scores
    n_lvl = org.size("lvl")
    org_counts = counts["organization"].counts[:, 0, :]  # (cycles, K)
    org_n = org_counts.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        org_mean = np.where(org_n > 0, org_counts @ scores / org_n, np.nan)
    org_div = stats.differentiation_index(org_counts).entropy
    parts = []
    level_stats = stratum_stats(rows.cycle, rows.lvl, rows.score, n_cycles, n_lvl)  # shared by the groupings
    for grouping in GROUPINGS[1:]:
        uc = counts[grouping]
        adjust = grouping != "function_level"
        strata = rows.lvl if adjust else np.zeros(rows.size, dtype=np.int64)
        ist = indirect_standardisation_by_cycle(
            rows.cycle,
            uc.unit_of_row,
            strata,
            rows.score,
            n_cycles,
            uc.n_units,
            n_lvl if adjust else 1,
            level_stats if adjust else None,
        )
        n_all = uc.counts.sum(axis=2)
        ci, ui = np.nonzero(n_all)  # ordered by cycle, then unit
        if ci.size == 0:
            continue
        cnt = uc.counts[ci, ui, :]
        n = n_all[ci, ui]
        eligible = n >= settings.min_n_flag
        observed, expected = ist["observed"][ci, ui], ist["expected"][ci, ui]
        z = ist["z"][ci, ui]
        scale_sd = ist["within_sd"][ci]
        with np.errstate(divide="ignore", invalid="ignore"):
            p_adj = np.where(np.isfinite(z), 2.0 * special.ndtr(-np.abs(z)), np.nan)
            funnel_sd = np.sqrt(ist["var_sum"][ci, ui] / n)
            o_over_e = np.where(expected != 0, observed / expected, np.nan)
            effect = np.where(scale_sd > 0, (observed - expected) / scale_sd, np.nan)
        cols: dict[str, np.ndarray] = {
            name: np.full(ci.size, np.nan)
            for name in (
                "p_value",
                "q_value",
                "sign",
                "q_adjusted",
                "chi2",
                "p_distribution",
                "q_distribution",
            )
        }
        loc_method = np.empty(ci.size, dtype=object)
        dist_method = np.empty(ci.size, dtype=object)
        dof = np.zeros(ci.size, dtype=np.int64)
        bounds = np.searchsorted(ci, np.arange(n_cycles + 1))
        for c in range(n_cycles):
            sel = slice(int(bounds[c]), int(bounds[c + 1]))
            if bounds[c] == bounds[c + 1]:
                continue
            test = family_tests(
                cnt[sel], scores, org_counts[c], n_mc=n_mc, exact_budget=exact_budget, budget=cycle_budgets[c]
            )
            elig = eligible[sel]
            cols["p_value"][sel] = test.location_pvalue
            cols["sign"][sel] = np.sign(test.location_statistic - test.location_expected)
            cols["chi2"][sel] = test.distribution_statistic
            cols["p_distribution"][sel] = test.distribution_pvalue
            cols["q_value"][sel] = stats.benjamini_hochberg(np.where(elig, test.location_pvalue, np.nan))
            cols["q_adjusted"][sel] = stats.benjamini_hochberg(np.where(elig, p_adj[sel], np.nan))
            cols["q_distribution"][sel] = stats.benjamini_hochberg(
                np.where(elig, test.distribution_pvalue, np.nan)
            )
            loc_method[sel] = test.location_method
            dist_method[sel] = test.distribution_method
            dof[sel] = test.dof
        diff = stats.differentiation_index(cnt)
        parts.append(
            pl.DataFrame(
                {
                    "cycle": org.cycles[ci],
                    "unit": org.unit_names(grouping, ui),
                    "n": n,
                    "mean_score": observed,
                    "org_mean": org_mean[ci],
                    "expected_mean": expected,
                    "o_minus_e": observed - expected,
                    "o_over_e": o_over_e,
                    "effect_size": effect,
                    "cliffs_delta": stats.cliffs_delta(cnt, org_counts[ci] - cnt),
                    "test_method": pl.Series(loc_method.tolist(), dtype=pl.String),
                    "p_value": cols["p_value"],
                    "q_value": cols["q_value"],
                    "_sign_unadjusted": cols["sign"],
                    "z_adjusted": z,
                    "p_adjusted": p_adj,
                    "q_adjusted": cols["q_adjusted"],
                    "distribution_method": pl.Series(dist_method.tolist(), dtype=pl.String),
                    "chi2": cols["chi2"],
                    "dof": dof,
                    "p_distribution": cols["p_distribution"],
                    "q_distribution": cols["q_distribution"],
                    "funnel_sd": funnel_sd,
                    "differentiation": diff.entropy,
                    "modal_share": diff.modal_share,
                    "org_differentiation": org_div[ci],
                }
            ).with_columns(
                pl.lit(grouping).alias("grouping"),
                pl.lit("function_level" if adjust else "none").alias("adjusted_for"),
            )
        )
    if not parts:
        return []
    out = pl.concat(parts, how="vertical_relaxed").with_columns(
        pl.lit(org.org).alias("organization"),
        pl.lit(rows.measure.name).alias("measure"),
        pl.lit(settings.min_n_flag).alias("_min_n"),
        pl.lit(settings.fdr).alias("_fdr"),
        pl.lit(settings.practical_effect).alias("_practical"),
    )
    levels = stats.funnel_limits(
        out["org_mean"].to_numpy(), out["funnel_sd"].to_numpy(), out["n"].to_numpy(), FUNNEL_LEVELS
    )
    (lo95, hi95), (lo998, hi998) = levels[FUNNEL_LEVELS[0]], levels[FUNNEL_LEVELS[1]]
    adjusted = pl.col("adjusted_mean")
    out = out.with_columns(
        (pl.col("org_mean") + pl.col("o_minus_e")).alias("adjusted_mean"),
        pl.Series("funnel_lo_95", lo95),
        pl.Series("funnel_hi_95", hi95),
        pl.Series("funnel_lo_998", lo998),
        pl.Series("funnel_hi_998", hi998),
    ).with_columns(
        pl.when(~_finite("funnel_lo_95") | ~_finite("adjusted_mean"))
        .then(None)
        .when((adjusted < pl.col("funnel_lo_998")) | (adjusted > pl.col("funnel_hi_998")))
        .then(pl.lit("outside_998"))
        .when((adjusted < pl.col("funnel_lo_95")) | (adjusted > pl.col("funnel_hi_95")))
        .then(pl.lit("outside_95"))
        .otherwise(pl.lit("inside"))
        .alias("funnel_position")
    )
    return [finish(_classify(out), SCHEMA)]


def unit_deviation(
    evaluations: pl.DataFrame,
    policies: Mapping[str, Policy],
    *,
    prepared: list[OrgData] | None = None,
    n_mc: int = DEFAULT_N_MC,
    exact_budget: int = DEFAULT_EXACT_BUDGET,
) -> pl.DataFrame:
    """The unit_deviation mart from canonical evaluations and the organisations' policies."""
    orgs = prepared if prepared is not None else prepare(evaluations, policies)
    parts: list[pl.DataFrame] = []
    for org in orgs:
        for rows in org.rows:
            parts += deviation_frames(org, rows, unit_counts(org, rows), n_mc=n_mc, exact_budget=exact_budget)
    if not parts:
        return pl.DataFrame(schema=SCHEMA)
    return sort_units(pl.concat(parts, how="vertical"))


def sort_units(frame: pl.DataFrame) -> pl.DataFrame:
    order = {g: i for i, g in enumerate(GROUPINGS)}
    return (
        frame.with_columns(pl.col("grouping").replace_strict(order, return_dtype=pl.Int64).alias("_g"))
        .sort(["organization", "cycle", "measure", "_g", "unit"])
        .drop("_g")
    )


def _finite(col: str) -> pl.Expr:
    return pl.col(col).is_not_null() & pl.col(col).is_not_nan()


def _classify(out: pl.DataFrame) -> pl.DataFrame:
    """Status, direction, flag and the plain-language reasons."""
    fdr = pl.col("_fdr")
    significant = pl.col("q_value") <= fdr
    adjusted_significant = (pl.col("q_adjusted") <= fdr) & (
        pl.col("_sign_unadjusted") == pl.col("o_minus_e").sign()
    )
    status = (
        pl.when(pl.col("n") < pl.col("_min_n"))
        .then(pl.lit("too_small"))
        .when(~(_finite("q_value") & _finite("q_adjusted") & _finite("effect_size")))
        .then(pl.lit("untestable"))
        .when(significant & adjusted_significant & (pl.col("effect_size").abs() >= pl.col("_practical")))
        .then(pl.lit("flagged"))
        .when(significant & adjusted_significant)
        .then(pl.lit("small_effect"))
        .when(significant & (pl.col("adjusted_for") == "function_level"))
        .then(pl.lit("explained_by_function_level"))
        .when(pl.col("q_distribution") <= fdr)
        .then(pl.lit("distribution_differs"))
        .otherwise(pl.lit("not_significant"))
    )
    out = out.with_columns(status.alias("status")).with_columns(
        (pl.col("status") == "flagged").alias("flag"),
        pl.when(pl.col("status") != "flagged")
        .then(None)
        .when(pl.col("o_minus_e") > 0)
        .then(pl.lit("higher"))
        .otherwise(pl.lit("lower"))
        .alias("direction"),
    )
    q_max = pl.max_horizontal("q_value", "q_adjusted")
    adjusted = pl.col("adjusted_for") == "function_level"
    n = pl.col("n").cast(pl.String)
    texts: dict[str, dict[str, pl.Expr]] = {}
    for lang in ("nl", "en"):
        eff = tx.num(pl.col("effect_size"), 2, lang)
        if lang == "nl":
            side = pl.when(pl.col("direction") == "higher").then(pl.lit("Hoger")).otherwise(pl.lit("Lager"))
            how = pl.when(adjusted).then(pl.lit(" na correctie voor functieniveau")).otherwise(pl.lit(""))
            flagged = tx.cat(
                side,
                " dan de norm van de organisatie",
                how,
                ": gemiddelde ",
                tx.num(pl.col("adjusted_mean"), 2, lang),
                " tegenover ",
                tx.num(pl.col("org_mean"), 2, lang),
                " (effect ",
                eff,
                " SD, n = ",
                n,
                ", q = ",
                tx.pvalue(q_max, lang),
                ").",
            )
            small = tx.cat(
                "Te weinig beoordelingen voor een signaal (n = ",
                n,
                ", minimum ",
                pl.col("_min_n").cast(pl.String),
                ").",
            )
            untestable = pl.lit(
                "Niet te toetsen: de eenheid is de hele organisatie of iedereen heeft dezelfde score."
            )
            chance = tx.cat("Binnen de toevalsmarge (q = ", tx.pvalue(pl.col("q_value"), lang), ").")
            weak = tx.cat(
                "Aantoonbaar maar klein verschil (effect ",
                eff,
                " SD, drempel ",
                tx.num(pl.col("_practical"), 2, lang),
                ").",
            )
            mix = pl.lit("Wijkt af van de organisatie, maar niet meer na correctie voor functieniveau.")
            shape = tx.cat(
                "Gemiddelde binnen de toevalsmarge, maar de spreiding over de schaal wijkt af (q = ",
                tx.pvalue(pl.col("q_distribution"), lang),
                ").",
            )
        else:
            side = pl.when(pl.col("direction") == "higher").then(pl.lit("Higher")).otherwise(pl.lit("Lower"))
            how = pl.when(adjusted).then(pl.lit(" after adjusting for function level")).otherwise(pl.lit(""))
            flagged = tx.cat(
                side,
                " than the organisation's norm",
                how,
                ": mean ",
                tx.num(pl.col("adjusted_mean"), 2, lang),
                " against ",
                tx.num(pl.col("org_mean"), 2, lang),
                " (effect ",
                eff,
                " SD, n = ",
                n,
                ", q = ",
                tx.pvalue(q_max, lang),
                ").",
            )
            small = tx.cat(
                "Too few ratings for a signal (n = ", n, ", minimum ", pl.col("_min_n").cast(pl.String), ")."
            )
            untestable = pl.lit(
                "Cannot be tested: the unit is the whole organisation or everyone has the same score."
            )
            chance = tx.cat("Within chance variation (q = ", tx.pvalue(pl.col("q_value"), lang), ").")
            weak = tx.cat(
                "Detectable but small difference (effect ",
                eff,
                " SD, threshold ",
                tx.num(pl.col("_practical"), 2, lang),
                ").",
            )
            mix = pl.lit("Differs from the organisation, but no longer after adjusting for function level.")
            shape = tx.cat(
                "Mean within chance variation, but the spread over the scale differs (q = ",
                tx.pvalue(pl.col("q_distribution"), lang),
                ").",
            )
        for value, expr in (
            ("flagged", flagged),
            ("too_small", small),
            ("untestable", untestable),
            ("small_effect", weak),
            ("explained_by_function_level", mix),
            ("distribution_differs", shape),
            ("not_significant", chance),
        ):
            texts.setdefault(value, {})[lang] = expr
    return tx.by_status(out, "status", texts)
