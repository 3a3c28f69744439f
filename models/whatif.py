"""What-if: "if department X moves N ratings from A to B, what happens to cost, budget utilisation and the
fairness figures?" — answered from the staging tables of one cycle, without re-ingesting.

The N people are not named (that is the calibration's decision, not the tool's): every person in X who now has
outcome A carries N / (number with A) of the move. The cost change is therefore the expected one, N × the
average change in structural cost of the people with A in X, priced by exactly the rules of models.budget
(capped at the scale maximum / last step, Z-3, F-9); moves are applied one after the other, so a chain (A→B,
then B→C) works. Incidental rewards are decisions of their own and do not change.

Fairness, kept simple and self-contained: the share of the top outcome (the policy's highest rating on pct
policies, the highest salary decision on steps policies) among the rated people of each gender, before and
after, and the ratio women / men. A gender with fewer rated people than the policy's `min_group_size` is
suppressed (no figure), as in every other output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from models.budget import OrganisationCosts, index_of, outcome_matrix
from models.errors import CalibraError
from models.forecast import Move

ORGANISATION_SCOPE = "(organisatie)"
GENDERS = (("F", "vrouwen", "women"), ("M", "mannen", "men"), ("X", "X", "X"))
RESULT_SCHEMA = {
    "metric": pl.String,
    "scope": pl.String,
    "label_nl": pl.String,
    "label_en": pl.String,
    "unit": pl.String,
    "before": pl.Float64,
    "after": pl.Float64,
    "change": pl.Float64,
}


class WhatIfError(CalibraError):
    """A move that cannot be applied (unknown department or outcome, more people than there are)."""


@dataclass(frozen=True)
class WhatIfResult:
    organization: str
    cycle: int
    policy_id: str
    moves: tuple[Move, ...]
    table: pl.DataFrame  # metric, scope, label_nl, label_en, unit, before, after, change


def apply_moves(
    weights: np.ndarray, departments: np.ndarray, codes: Sequence[str], moves: Sequence[Move]
) -> np.ndarray:
    """Outcome weights [people, outcomes] after the moves (expected values: see the module docstring)."""
    out = weights.astype(np.float64).copy()
    index = {c: i for i, c in enumerate(codes)}
    known = set(departments.tolist())
    for move in moves:
        if move.department not in known:
            raise WhatIfError(f"department '{move.department}' has no rated people in this cycle")
        for code in (move.source, move.target):
            if code not in index:
                raise WhatIfError(f"'{code}' is not an outcome of this policy (outcomes: {', '.join(codes)})")
        a, b = index[move.source], index[move.target]
        rows = departments == move.department
        available = float(out[rows, a].sum())
        if move.n > available + 1e-9:
            raise WhatIfError(
                f"department '{move.department}' has {available:g} people with '{move.source}'; "
                f"cannot move {move.n:g}"
            )
        if a == b or move.n == 0:
            continue
        share = move.n / available
        moved = out[rows, a] * share
        out[rows, a] -= moved
        out[rows, b] += moved
    return out


def whatif(
    costs: OrganisationCosts, scales: pl.DataFrame, moves: Sequence[Move], cycle: int | None = None
) -> WhatIfResult:
    """Before / after figures of one organisation's cycle (default: its last) for a list of moves."""
    rules = costs.rules
    if costs.people.height == 0:
        raise WhatIfError(f"organisation {costs.organization} has no data")
    cycle = int(costs.people.select(pl.col("cycle").max()).item()) if cycle is None else int(cycle)
    people = costs.people.filter(pl.col("cycle") == cycle)
    if people.height == 0:
        raise WhatIfError(f"organisation {costs.organization} has no data for cycle {cycle}")
    awards = costs.awards.filter(pl.col("cycle") == cycle)
    codes = rules.outcome_codes
    position = index_of(people["outcome"], codes)
    rated = position >= 0
    weights = np.zeros((people.height, len(codes)))
    weights[np.flatnonzero(rated), position[rated]] = 1.0
    departments = people["department"].to_numpy().astype(str)
    after = apply_moves(weights, departments, codes, moves)
    matrix = outcome_matrix(people, scales, rules)  # gross full-year per person per outcome
    delta = ((after - weights) * matrix).sum(1) * rules.oncost  # employer cost change per person

    factor = rules.in_year_factor(cycle)
    payroll = (people["annual_salary"] * people["fte"]).fill_null(0.0).to_numpy()
    structural = people["structural_gross"].to_numpy() * rules.oncost
    incidental_total = float(awards["cost"].sum())
    rows: list[dict[str, object]] = []

    def add(
        metric: str, scope: str, nl: str, en: str, unit: str, before: float | None, new: float | None
    ) -> None:
        change = None if before is None or new is None else new - before
        rows.append(
            {
                "metric": metric,
                "scope": scope,
                "label_nl": nl,
                "label_en": en,
                "unit": unit,
                "before": before,
                "after": new,
                "change": change,
            }
        )

    def budget(pct: float | None, pay: float) -> float | None:
        return None if pct is None else pay * rules.oncost * pct / 100

    def ratio(cost: float, limit: float | None) -> float | None:
        return None if limit is None or limit <= 0 else cost / limit

    s0, s1 = float(structural.sum()), float(structural.sum() + delta.sum())
    org_payroll = float(payroll.sum())
    structural_budget = budget(rules.structural_budget_pct, org_payroll)
    incidental_budget = budget(rules.incidental_share_pct, org_payroll)
    org = ORGANISATION_SCOPE
    add(
        "structural_cost_full_year",
        org,
        "Structurele kosten (volledig jaar)",
        "Structural cost (full year)",
        "eur",
        s0,
        s1,
    )
    add(
        "structural_cost_in_year",
        org,
        "Structurele kosten (lopend jaar, vanaf uitbetaling)",
        "Structural cost (this year, from payout)",
        "eur",
        s0 * factor,
        s1 * factor,
    )
    add(
        "incidental_cost",
        org,
        "Incidentele beloningen",
        "Incidental rewards",
        "eur",
        incidental_total,
        incidental_total,
    )
    add(
        "total_cost_full_year",
        org,
        "Totale kosten (volledig jaar)",
        "Total cost (full year)",
        "eur",
        s0 + incidental_total,
        s1 + incidental_total,
    )
    add(
        "structural_utilisation",
        org,
        "Benutting structureel budget",
        "Structural budget utilisation",
        "share",
        ratio(s0, structural_budget),
        ratio(s1, structural_budget),
    )
    add(
        "incidental_utilisation",
        org,
        "Benutting incidenteel budget",
        "Incidental budget utilisation",
        "share",
        ratio(incidental_total, incidental_budget),
        ratio(incidental_total, incidental_budget),
    )
    for dept in dict.fromkeys(m.department for m in moves):
        rows_d = departments == dept
        d0 = float(structural[rows_d].sum())
        d1 = d0 + float(delta[rows_d].sum())
        limit = budget(rules.structural_budget_pct, float(payroll[rows_d].sum()))
        add(
            "structural_cost_full_year",
            dept,
            "Structurele kosten (volledig jaar)",
            "Structural cost (full year)",
            "eur",
            d0,
            d1,
        )
        add(
            "structural_utilisation",
            dept,
            "Benutting structureel budget",
            "Structural budget utilisation",
            "share",
            ratio(d0, limit),
            ratio(d1, limit),
        )

    top = len(codes) - 1
    label = next(o.label for o in rules.outcomes if o.code == codes[top])
    gender = people["gender"].fill_null("").to_numpy().astype(str)
    rates: dict[str, tuple[float | None, float | None]] = {}
    for code, nl, en in GENDERS:
        group = rated & (gender == code)
        n = int(group.sum())
        if n == 0:
            continue
        if n < rules.min_group_size:
            rates[code] = (None, None)
        else:
            rates[code] = (float(weights[group, top].sum()) / n, float(after[group, top].sum()) / n)
        add(
            f"top_rate_{code}",
            org,
            f"Aandeel '{label.get('nl', codes[top])}' — {nl}",
            f"Share '{label.get('en', codes[top])}' — {en}",
            "share",
            *rates[code],
        )
    women, men = rates.get("F", (None, None)), rates.get("M", (None, None))

    def gap(w: float | None, m: float | None) -> float | None:
        return None if w is None or m is None or m == 0 else w / m

    if "F" in rates and "M" in rates:
        add(
            "top_rate_ratio_F_M",
            org,
            "Verhouding vrouwen / mannen (topuitkomst)",
            "Ratio women / men (top outcome)",
            "ratio",
            gap(women[0], men[0]),
            gap(women[1], men[1]),
        )
    return WhatIfResult(
        organization=costs.organization,
        cycle=cycle,
        policy_id=rules.policy_id,
        moves=tuple(moves),
        table=pl.DataFrame(rows, schema=RESULT_SCHEMA),
    )
