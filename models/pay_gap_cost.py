"""The cost of closing an unexplained pay gap (``marts.pay_gap_cost_to_close``).

Per category of workers (the projection's, :mod:`models.pay_gap_projection`) of the base cycle:

1. **Unexplained gap.** OLS (statsmodels) of log full-time salary (``annual_salary``, the pay of a full-time
   year, so part-time work is not taken for a gap) on an indicator of the lower-paid sex and the factors the
   organisation declares objective (``pay_gap.objective_factors``: function level and salary scale as
   categories, salary step and tenure in years as numbers; a factor that does not vary in the category or is
   missing for someone is left out). With coefficient b of "woman", the unexplained gap is
   ``1 − exp(b)`` = (men − women) / men at equal factors, with the 95% interval from b's t interval.
2. **Trigger.** |unexplained gap| ≥ the Art. 10 threshold, and both sexes at least ``disclosure.min_group_size``
   people (``too_small`` otherwise). The lower-paid sex is the group raised.
3. **Cost.** OLS is linear in y: raising person i's log salary by δ_i moves the coefficient by Σ a_i δ_i, with
   a the indicator's row of (XᵀX)⁻¹Xᵀ. The gap is closed to ``close_to_gap`` (default 0) by raises of the
   group's members who are not at the scale maximum (Z-3: excluded), each raise between ``min_raise_pct`` and
   ``max_raise_pct`` and never above the scale maximum; the cost of δ_i is salary × fte × (e^δ_i − 1) a year.

   * uniform — one percentage for every eligible member (the largest that the caps allow for those capped);
   * cheapest — the least total cost (convex; solved exactly from its optimality condition
     δ_i = clip(log(λ a_i / c_i), 0, cap_i)): the lowest-paid are raised first because their raise costs least
     per point of gap;
   * balanced — each member raised in proportion to their own shortfall from the pay the model gives a member
     of the other sex with the same factors (the furthest below the line get most).

   A raise below ``min_raise_pct`` is lifted to it (which can close slightly more than asked). When even the
   largest allowed raises cannot close the gap the row says so (``closable`` false, the gap left after them).
4. **Budget (Z-14).** Employer cost (× ``budget.employer_oncost_factor``) against the incidental payroll share
   of this year (``budget.incidental_payroll_share_pct`` of the payroll) and, as a structural raise paid every
   year, over the projection's horizon against the share of the projected payroll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import statsmodels.api as sm

from models.budget import cost_rules
from models.pay_gap_projection import PayGapSettings, pay_gap_settings
from models.pay_transparency import WOMEN
from models.policy import Policy

METHODS = ("uniform", "cheapest", "balanced")
CLOSABLE = "closable"
NOT_CLOSABLE = "not_closable"
BELOW = "below_threshold"
TOO_SMALL = "too_small"


@dataclass(frozen=True)
class GapFit:
    """The OLS of one category: the woman coefficient with its interval, and what closing needs."""

    coef: float
    low: float
    high: float
    factors: tuple[str, ...]
    influence: np.ndarray  # [n] a_i: change of the woman coefficient per unit change of log pay of person i
    residual: np.ndarray  # [n]
    n: int

    @property
    def gap(self) -> float:
        return float(1 - np.exp(self.coef))

    @property
    def gap_low(self) -> float:
        return float(1 - np.exp(self.high))

    @property
    def gap_high(self) -> float:
        return float(1 - np.exp(self.low))


def design(frame: pl.DataFrame, factors: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Constant, ``woman`` and the declared factors that vary (categories as dummies, first level dropped)."""
    columns = [np.ones(frame.height), (frame["gender"] == WOMEN).to_numpy().astype(np.float64)]
    names = ["const", "woman"]
    for factor in factors:
        if factor not in frame.columns:
            continue
        series = frame[factor]
        if series.null_count() or series.n_unique() < 2:
            continue
        if series.dtype in (pl.String, pl.Categorical):
            levels = sorted(series.unique().to_list())
            for level in levels[1:]:
                columns.append((series == level).to_numpy().astype(np.float64))
                names.append(f"{factor}[{level}]")
        else:
            columns.append(series.cast(pl.Float64).to_numpy())
            names.append(factor)
    return np.column_stack(columns), names


def fit_gap(frame: pl.DataFrame, factors: Sequence[str], confidence: float = 0.95) -> GapFit | None:
    """OLS of log(annual_salary) on woman + factors; None when the woman coefficient cannot be estimated."""
    x, names = design(frame, factors)
    y = np.log(frame["annual_salary"].to_numpy().astype(np.float64))
    # drop factors that are collinear with what came before (e.g. a step that equals the scale)
    keep = [0, 1]
    for j in range(2, x.shape[1]):
        if np.linalg.matrix_rank(x[:, [*keep, j]]) == len(keep) + 1:
            keep.append(j)
    x = x[:, keep]
    names = [names[j] for j in keep]
    if np.linalg.matrix_rank(x) < x.shape[1] or x.shape[0] <= x.shape[1]:
        return None
    result = sm.OLS(y, x).fit()
    low, high = result.conf_int(alpha=1 - confidence)[1]
    influence = np.linalg.pinv(x)[1]
    declared = tuple(dict.fromkeys(n.split("[")[0] for n in names[2:]))
    return GapFit(
        float(result.params[1]), float(low), float(high), declared, influence, result.resid, frame.height
    )


@dataclass(frozen=True)
class Raises:
    delta: np.ndarray  # log raise per person of the category (0 for everyone not raised)
    closable: bool


def _solve_monotone(f: Any, hi: float, need: float) -> float:
    """Smallest t in [0, hi] with f(t) >= need for an increasing f (bisection)."""
    lo = 0.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if f(mid) >= need:
            hi = mid
        else:
            lo = mid
    return hi


def close_gap(
    method: str,
    need: float,
    a: np.ndarray,
    cost: np.ndarray,
    cap: np.ndarray,
    floor: float,
    shortfall: np.ndarray,
) -> Raises:
    """Raises δ ≥ 0 (log units, δ_i ≤ cap_i) of the eligible people with Σ a_i δ_i ≥ need.

    `cost` is each person's salary × fte (the cost of δ is cost × (e^δ − 1)); people with cap 0 or a_i ≤ 0
    are not raised (raising them would not close the gap)."""
    useful = (a > 0) & (cap > 0)
    delta = np.zeros(a.size)
    most = float((a * cap)[useful].sum())
    if need <= 0:
        return Raises(delta, True)
    if most < need:
        delta[useful] = cap[useful]
        return Raises(delta, False)
    if method == "uniform":
        t = _solve_monotone(lambda t: float((a * np.minimum(t, cap))[useful].sum()), float(cap.max()), need)
        delta[useful] = np.minimum(t, cap[useful])
    elif method == "cheapest":
        ratio = np.where(useful, a / np.where(cost > 0, cost, 1.0), 0.0)

        def spent(log_lambda: float) -> float:
            d = np.clip(log_lambda + np.log(np.where(useful, ratio, 1.0)), 0.0, cap)
            return float((a * np.where(useful, d, 0.0)).sum())

        lo = float(-np.log(ratio[useful]).max())  # every δ is 0 here
        hi = float((cap - np.log(np.where(useful, ratio, 1.0)))[useful].max())  # every δ at its cap
        t = lo + _solve_monotone(lambda s: spent(lo + s), hi - lo, need)
        delta[useful] = np.clip(t + np.log(ratio[useful]), 0.0, cap[useful])
    elif method == "balanced":
        weight = np.where(useful, np.maximum(shortfall, 0.0), 0.0)
        if (a * weight).sum() <= 0:
            return close_gap("uniform", need, a, cost, cap, floor, shortfall)
        top = float(cap[weight > 0].max() / weight[weight > 0].min())
        s = _solve_monotone(lambda s: float((a * np.minimum(s * weight, cap)).sum()), top, need)
        delta = np.minimum(s * weight, cap)
        if (a * delta).sum() < need * (1 - 1e-9):  # capped before reaching it: top up uniformly
            rest = need - float((a * delta).sum())
            extra = close_gap("uniform", rest, a, cost, cap - delta, 0.0, shortfall)
            delta = delta + extra.delta
    else:
        raise ValueError(f"unknown method {method!r}")
    raised = delta > 1e-12
    delta = np.where(raised, np.minimum(np.maximum(delta, floor), np.maximum(cap, delta)), 0.0)
    return Raises(delta, True)


COST_SCHEMA: dict[str, Any] = {
    "organization": pl.String,
    "policy_id": pl.String,
    "cycle": pl.Int64,
    "category_type": pl.String,
    "category": pl.String,
    "method": pl.String,
    "status": pl.String,
    "n_women": pl.Int64,
    "n_men": pl.Int64,
    "underpaid": pl.String,
    "factors": pl.String,
    "unexplained_gap": pl.Float64,
    "unexplained_gap_low": pl.Float64,
    "unexplained_gap_high": pl.Float64,
    "coef_woman": pl.Float64,
    "coef_low": pl.Float64,
    "coef_high": pl.Float64,
    "target_gap": pl.Float64,
    "gap_after": pl.Float64,
    "n_group": pl.Int64,
    "n_excluded_at_maximum": pl.Int64,
    "n_eligible": pl.Int64,
    "n_raised": pl.Int64,
    "cost": pl.Float64,
    "cost_employer": pl.Float64,
    "max_raise": pl.Float64,
    "mean_raise_pct": pl.Float64,
    "payroll": pl.Float64,
    "incidental_budget": pl.Float64,
    "share_of_budget": pl.Float64,
    "cost_over_projection": pl.Float64,
    "budget_over_projection": pl.Float64,
    "share_of_budget_over_projection": pl.Float64,
    "horizon": pl.Int64,
}


def empty_cost() -> pl.DataFrame:
    return pl.DataFrame(schema=COST_SCHEMA)


def cost_to_close(
    base: pl.DataFrame,
    policy: Policy,
    organization: str,
    payroll_by_year: Sequence[float] = (),
    settings: PayGapSettings | None = None,
) -> pl.DataFrame:
    """marts.pay_gap_cost_to_close rows of one organisation from its base-cycle person frame
    (:attr:`models.pay_gap_projection.OrganisationProjection.base`)."""
    settings = settings or pay_gap_settings(policy)
    if base.height == 0:
        return empty_cost()
    rules = cost_rules(policy)
    cycle = int(base["cycle"].max())  # type: ignore[arg-type]
    category = settings.category
    k = policy.min_group_size
    thr = settings.threshold
    payroll = float(base["pay"].sum())
    share = rules.incidental_share_pct
    budget = payroll * rules.oncost * share / 100 if share is not None else None
    horizon = len(payroll_by_year) or settings.horizon
    projected = list(payroll_by_year) or [payroll] * horizon
    budget_over = sum(p * rules.oncost * share / 100 for p in projected) if share is not None else None
    rows: list[dict[str, Any]] = []
    for cat in sorted(base[category].drop_nulls().unique().to_list()):
        part = base.filter(pl.col(category) == cat)
        women = (part["gender"] == WOMEN).to_numpy()
        row: dict[str, Any] = {
            "category": cat,
            "n_women": int(women.sum()),
            "n_men": int((~women).sum()),
            "target_gap": settings.close_to_gap,
        }
        if row["n_women"] < k or row["n_men"] < k:
            rows.append({**row, "status": TOO_SMALL, "method": None})
            continue
        factors = [f for f in settings.objective_factors if f != category]
        fit = fit_gap(part, factors)
        if fit is None:
            rows.append({**row, "status": TOO_SMALL, "method": None})
            continue
        row.update(
            factors=", ".join(fit.factors),
            unexplained_gap=fit.gap,
            unexplained_gap_low=fit.gap_low,
            unexplained_gap_high=fit.gap_high,
            coef_woman=fit.coef,
            coef_low=fit.low,
            coef_high=fit.high,
            underpaid=WOMEN if fit.coef < 0 else "M",
        )
        if abs(fit.gap) < thr:
            rows.append({**row, "status": BELOW, "method": None, "gap_after": fit.gap})
            continue
        # the raised group: +1 for the lower-paid sex; its coefficient must rise to the target
        sign = 1.0 if fit.coef < 0 else -1.0
        group = women if sign > 0 else ~women
        a = sign * fit.influence
        target = np.log(1 - settings.close_to_gap) if sign > 0 else -np.log(1 - settings.close_to_gap)
        need = sign * (target - fit.coef)
        salary = part["annual_salary"].to_numpy().astype(np.float64)
        fte = part["fte"].to_numpy().astype(np.float64)
        top = part["scale_max"].fill_null(np.inf).to_numpy().astype(np.float64)
        steps_at_last = (
            (part["salary_step"].fill_null(-1) >= part["last_step"].fill_null(10**6)).to_numpy()
            if rules.basis == "steps"
            else np.zeros(part.height, dtype=bool)
        )
        at_max = (
            part["at_scale_maximum"].fill_null(False).to_numpy() | (salary >= top) | steps_at_last
        ) & group
        eligible = group & ~at_max
        cap = np.where(
            eligible,
            np.log(
                np.minimum(1 + settings.max_raise_pct / 100, np.where(np.isfinite(top), top / salary, np.inf))
            ),
            0.0,
        )
        cap = np.maximum(cap, 0.0)
        floor = float(np.log(1 + settings.min_raise_pct / 100))
        shortfall = np.where(group, abs(fit.coef) - fit.residual, 0.0)
        cost_basis = salary * fte
        for method in METHODS:
            raises = close_gap(method, need, a, cost_basis, cap, floor, shortfall)
            delta = raises.delta
            spent = cost_basis * np.expm1(delta)
            coef_after = fit.coef + sign * float((a * delta).sum())
            total = float(spent.sum())
            raised = delta > 1e-12
            rows.append(
                {
                    **row,
                    "method": method,
                    "status": CLOSABLE if raises.closable else NOT_CLOSABLE,
                    "gap_after": float(1 - np.exp(coef_after)),
                    "n_group": int(group.sum()),
                    "n_excluded_at_maximum": int(at_max.sum()),
                    "n_eligible": int(eligible.sum()),
                    "n_raised": int(raised.sum()),
                    "cost": total,
                    "cost_employer": total * rules.oncost,
                    "max_raise": float(spent.max()) if spent.size else 0.0,
                    "mean_raise_pct": float(np.expm1(delta[raised]).mean() * 100) if raised.any() else 0.0,
                    "share_of_budget": total * rules.oncost / budget if budget else None,
                    "cost_over_projection": total * rules.oncost * horizon,
                    "share_of_budget_over_projection": total * rules.oncost * horizon / budget_over
                    if budget_over
                    else None,
                }
            )
    frame = pl.DataFrame(
        rows, schema={c: COST_SCHEMA[c] for c in COST_SCHEMA if c in {k for r in rows for k in r}}
    )
    frame = frame.with_columns(
        organization=pl.lit(organization),
        policy_id=pl.lit(policy.id),
        cycle=pl.lit(cycle, dtype=pl.Int64),
        category_type=pl.lit(category),
        payroll=pl.lit(payroll),
        incidental_budget=pl.lit(budget, dtype=pl.Float64),
        budget_over_projection=pl.lit(budget_over, dtype=pl.Float64),
        horizon=pl.lit(horizon, dtype=pl.Int64),
    )
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in COST_SCHEMA.items() if c not in frame.columns]
    return frame.with_columns(missing).select([pl.col(c).cast(t) for c, t in COST_SCHEMA.items()])
