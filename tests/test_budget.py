"""Issue 5 — budget: models/budget.py, models/forecast.py, models/whatif.py, the budget marts and `calibra whatif`.

Unit tests price small hand-built frames and compare with amounts worked out by hand (exact); the forecast is
checked against an exact enumeration of every rating path; one test runs the assets with Dagster on a
temporary DuckDB, one reads the marts of the shared sample run. Rules: Z-2..Z-7, Z-12..Z-14, F-7..F-10.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import itertools
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from models import budget as mb
from models.config import PROJECT_ROOT
from models.errors import CalibraError, ConfigError
from models.forecast import (
    ForecastSettings,
    Move,
    ScenarioFile,
    build_scenarios,
    compute_forecast,
    forecast_organisation,
    forecast_settings,
    load_scenario_file,
    load_scenarios,
)
from models.policy import load_policy
from models.whatif import WhatIfError, apply_moves, whatif
from pipelines.whatif_cli import add_whatif_parser, format_value

ZEELAND = load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")
PLOEG = load_policy(PROJECT_ROOT / "policies" / "ploeg.yaml")
RZ = mb.cost_rules(ZEELAND)
RP = mb.cost_rules(PLOEG)
Z, V = "zeeland-demo", "vo-demo"
CYCLE = 2024


# ------------------------------------------------------------------------------------------------ helpers
def frame(rows: list[dict], schema: dict, **defaults: object) -> pl.DataFrame:
    full = [{**defaults, **row} for row in rows]
    return mb.conform(pl.DataFrame(full, infer_schema_length=None) if full else None, schema)


def evaluations(rows: list[dict], org: str = Z) -> pl.DataFrame:
    return frame(rows, mb.EVALUATION_COLUMNS, organization=org, cycle=CYCLE, gender="F")


def payroll(rows: list[dict], org: str = Z) -> pl.DataFrame:
    return frame(rows, mb.PAYROLL_COLUMNS, organization=org, cycle=CYCLE, fte=1.0)


def awards(rows: list[dict], org: str = Z) -> pl.DataFrame:
    return frame(rows, mb.AWARD_COLUMNS, organization=org, cycle=CYCLE)


def zeeland_scales() -> pl.DataFrame:
    """Three percentage-growth scales: minimum and maximum only (Z-3)."""
    rows = []
    for scale, lo, hi in (("7", 30_000.0, 50_000.0), ("8", 35_000.0, 60_000.0), ("9", 40_000.0, 63_000.0)):
        rows += [
            {"salary_scale": scale, "point": "minimum", "annual_amount": lo},
            {"salary_scale": scale, "point": "maximum", "annual_amount": hi},
        ]
    return frame(rows, mb.SCALE_COLUMNS, organization=Z)


def step_amount(scale: str, step: int) -> float:
    """The made-up step table of the PLOEG tests: not linear, so a wrong step shows."""
    base = {"A111": 40_000.0, "B111": 30_000.0}[scale]
    return base + 800.0 * step + 10.0 * step * step


def ploeg_scales(last: int = 35) -> pl.DataFrame:
    rows = [
        {"salary_scale": s, "point": "step", "step": k, "annual_amount": step_amount(s, k)}
        for s in ("A111", "B111")
        for k in range(last + 1)
    ]
    rows += [
        {"salary_scale": s, "point": "maximum", "annual_amount": step_amount(s, last)}
        for s in ("A111", "B111")
    ]
    return frame(rows, mb.SCALE_COLUMNS, organization=V)


def costs_of(
    ev: pl.DataFrame,
    pay: pl.DataFrame,
    aw: pl.DataFrame | None = None,
    scales: pl.DataFrame | None = None,
    rules: mb.CostRules = RZ,
) -> mb.OrganisationCosts:
    org = ev["organization"][0] if ev.height else pay["organization"][0]
    scales = scales if scales is not None else (zeeland_scales() if org == Z else ploeg_scales())
    inputs = mb.BudgetInputs(ev, pay, aw if aw is not None else awards([], org), scales)
    return mb.organisation_costs(inputs, org, rules)


def person(costs: mb.OrganisationCosts, employee: str) -> dict:
    rows = costs.people.filter(pl.col("employee_id") == employee).to_dicts()
    assert len(rows) == 1
    return rows[0]


def one_zeeland(
    rating: str | None, salary: float, fte: float = 1.0, scale: str = "7", **extra: object
) -> dict:
    costs = costs_of(
        evaluations([{"employee_id": "e1", "department": "D", "rating": rating, **extra}]),
        payroll([{"employee_id": "e1", "salary_scale": scale, "annual_salary": salary, "fte": fte}]),
    )
    return person(costs, "e1")


def one_ploeg(
    decision: int | None, step: int, rating: str = "voldoende", fte: float = 1.0, **extra: object
) -> dict:
    costs = costs_of(
        evaluations(
            [
                {
                    "employee_id": "v1",
                    "department": "D",
                    "rating": rating,
                    "salary_decision": decision,
                    **extra,
                }
            ],
            V,
        ),
        payroll(
            [
                {
                    "employee_id": "v1",
                    "salary_scale": "A111",
                    "salary_step": step,
                    "annual_salary": 1.0,
                    "fte": fte,
                }
            ],
            V,
        ),
        rules=RP,
    )
    return person(costs, "v1")


# --------------------------------------------------------------------------------------- the policy's rules
def test_cost_rules_come_from_the_policies() -> None:
    assert RZ.basis == "pct" and RZ.outcome_values == {
        "slecht": 0.0,
        "matig": 1.0,
        "normaal": 3.0,
        "zeer_goed": 4.0,
        "uitstekend": 6.0,
    }
    assert RP.basis == "steps" and RP.outcome_values == {"0": 0.0, "1": 1.0, "2": 2.0}
    assert RP.forced_zero_for == ("onvoldoende",) and RP.zero_outcome == "0"
    assert RP.seniority_code == "anciennitet" and RP.seniority_costing == "uncosted"
    assert (RZ.oncost, RZ.net_to_gross, RZ.incidental_share_pct, RZ.structural_budget_pct) == (
        1.32,
        1.95,
        0.75,
        2.8,
    )
    assert (RP.oncost, RP.incidental_share_pct, RP.structural_budget_pct) == (1.35, 1.0, None)
    assert RZ.top_outcome == "uitstekend" and RP.top_outcome == "2"
    assert [a.code for a in RP.incidental_types] == ["performance_allowance"]
    assert "structural" not in [a.code for a in RZ.incidental_types]


def test_in_year_factor_counts_the_months_left_after_the_payout_date() -> None:
    # Z-12: paid per 1 May of the next year -> May..December = 8 months; PLOEG: 1 August -> 5 months.
    assert RZ.payout_date(CYCLE) == dt.date(2025, 5, 1)
    assert RZ.in_year_factor(CYCLE) == pytest.approx(8 / 12)
    assert RP.payout_date(CYCLE) == dt.date(2025, 8, 1)
    assert RP.in_year_factor(CYCLE) == pytest.approx(5 / 12)
    mid_month = dataclasses.replace(RZ, payout_day=16)  # half of May gone
    assert mid_month.in_year_factor(CYCLE) == pytest.approx((8 - 15 / 31) / 12)


def test_a_policy_without_a_structural_basis_is_a_config_error(tmp_path: Path) -> None:
    raw = yaml.safe_load((PROJECT_ROOT / "policies" / "zeeland_5punt.yaml").read_text())
    raw["id"] = "broken"
    raw["structural"]["basis"] = "grade"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"structural\.basis"):
        mb.cost_rules(load_policy(path))


# ------------------------------------------------------------------------------------ structural, Zeeland
def test_structural_raise_is_the_ratings_percentage_of_salary() -> None:  # Z-2
    row = one_zeeland("normaal", 40_000.0)
    assert row["status"] == mb.COSTED
    assert row["raise_100"] == pytest.approx(1_200.0)
    assert row["structural_gross"] == pytest.approx(1_200.0)
    assert not row["capped"] and not row["at_maximum"]
    assert one_zeeland("slecht", 40_000.0)["structural_gross"] == 0.0


def test_no_raise_at_the_scale_maximum() -> None:  # Z-3
    at_max = one_zeeland("uitstekend", 50_000.0)
    assert at_max["structural_gross"] == 0.0 and at_max["at_maximum"]
    flagged = one_zeeland("uitstekend", 45_000.0, at_scale_maximum=True)  # the source says so: believed
    assert flagged["structural_gross"] == 0.0 and flagged["at_maximum"]
    above = one_zeeland("zeer_goed", 52_000.0)  # a personal salary above the maximum never goes up
    assert above["structural_gross"] == 0.0


def test_partial_raise_just_below_the_maximum() -> None:  # Z-3
    row = one_zeeland("uitstekend", 49_000.0)  # 6% would be 2,940; only 1,000 is left to the maximum
    assert row["raise_100"] == pytest.approx(1_000.0)
    assert row["capped"] and not row["at_maximum"]
    assert one_zeeland("matig", 49_000.0)["raise_100"] == pytest.approx(490.0)  # 1% still fits


def test_structural_cost_is_pro_rata_fte() -> None:
    row = one_zeeland("zeer_goed", 40_000.0, fte=0.6)
    assert row["raise_100"] == pytest.approx(1_600.0)
    assert row["structural_gross"] == pytest.approx(960.0)


# -------------------------------------------------------------------------------------- structural, PLOEG
def test_steps_are_priced_on_the_scale_table() -> None:  # F-9
    gain = {k: step_amount("A111", 10 + k) - step_amount("A111", 10) for k in (1, 2)}
    assert one_ploeg(0, 10)["structural_gross"] == 0.0
    assert one_ploeg(1, 10)["structural_gross"] == pytest.approx(gain[1])
    assert one_ploeg(2, 10)["structural_gross"] == pytest.approx(gain[2])  # 1,620, not 2 x 1,010
    assert one_ploeg(2, 10, fte=0.8)["structural_gross"] == pytest.approx(0.8 * gain[2])


def test_insufficient_always_gives_step_zero() -> None:  # F-10
    row = one_ploeg(2, 10, rating="onvoldoende")
    assert row["outcome"] == "0" and row["structural_gross"] == 0.0


def test_steps_stop_at_the_last_step() -> None:  # F-9, 35 steps
    near = one_ploeg(2, 34)
    assert near["structural_gross"] == pytest.approx(step_amount("A111", 35) - step_amount("A111", 34))
    assert near["capped"] and not near["at_maximum"]
    top = one_ploeg(1, 35)
    assert top["structural_gross"] == 0.0 and top["at_maximum"]
    short = dataclasses.replace(RP, max_steps=12)  # the policy's max_steps_per_scale also caps
    costs = costs_of(
        evaluations(
            [{"employee_id": "v1", "department": "D", "rating": "voldoende", "salary_decision": 2}], V
        ),
        payroll([{"employee_id": "v1", "salary_scale": "A111", "salary_step": 11, "annual_salary": 1.0}], V),
        rules=short,
    )
    assert person(costs, "v1")["structural_gross"] == pytest.approx(
        step_amount("A111", 12) - step_amount("A111", 11)
    )


def test_seniority_staff_are_uncosted_with_the_reason_counted() -> None:  # F-8
    costs = costs_of(
        evaluations(
            [
                {
                    "employee_id": "s1",
                    "department": "D",
                    "rating": "voldoende",
                    "salary_system": "anciennitet",
                },
                {"employee_id": "e1", "department": "D", "rating": "voldoende", "salary_decision": 1},
            ],
            V,
        ),
        payroll(
            [
                {"employee_id": "s1", "salary_scale": "A111", "salary_step": 5, "annual_salary": 45_000.0},
                {"employee_id": "e1", "salary_scale": "A111", "salary_step": 5, "annual_salary": 45_000.0},
            ],
            V,
        ),
        rules=RP,
    )
    assert person(costs, "s1")["status"] == mb.SENIORITY and person(costs, "s1")["structural_gross"] == 0.0
    total = mb.budget_rows(costs).filter(pl.col("level") == mb.LEVEL_ORGANISATION).row(0, named=True)
    assert (total["uncosted_seniority"], total["structural_uncosted"], total["structural_costed"]) == (
        1,
        1,
        1,
    )
    assert RP.seniority_reason["en"].startswith("Seniority system")


def test_seniority_staff_priced_by_a_periodic_step_rule() -> None:
    rules = dataclasses.replace(
        RP, seniority_costing="periodic_steps", seniority_steps=1, seniority_every_years=2
    )
    costs = costs_of(
        evaluations(
            [{"employee_id": "s1", "department": "D", "rating": "voldoende", "salary_system": "anciennitet"}],
            V,
        ),
        payroll(
            [
                {
                    "employee_id": "s1",
                    "salary_scale": "A111",
                    "salary_step": 5,
                    "annual_salary": 1.0,
                    "fte": 0.5,
                }
            ],
            V,
        ),
        rules=rules,
    )
    row = person(costs, "s1")
    assert row["status"] == mb.COSTED
    assert row["structural_gross"] == pytest.approx(
        (step_amount("A111", 6) - step_amount("A111", 5)) / 2 * 0.5
    )


def test_missing_payroll_or_scale_is_counted_not_guessed() -> None:
    costs = costs_of(
        evaluations(
            [
                {"employee_id": "a", "department": "D", "rating": "normaal"},
                {"employee_id": "b", "department": "D", "rating": "normaal"},
                {"employee_id": "c", "department": "D", "rating": None},  # Z-11: no rating, no reward
            ]
        ),
        payroll(
            [
                {"employee_id": "b", "salary_scale": "99", "annual_salary": 40_000.0},
                {"employee_id": "c", "salary_scale": "7", "annual_salary": 40_000.0},
                {"employee_id": "p", "salary_scale": "7", "annual_salary": 40_000.0, "department": "P"},
            ]
        ),
    )
    assert [person(costs, e)["status"] for e in ("a", "b", "c", "p")] == [
        mb.NO_PAYROLL,
        mb.NO_SCALE,
        mb.NO_DECISION,
        mb.NO_DECISION,
    ]
    assert person(costs, "p")["department"] == "P"  # payroll's department when there is no evaluation
    total = mb.budget_rows(costs).filter(pl.col("level") == mb.LEVEL_ORGANISATION).row(0, named=True)
    assert (total["headcount"], total["uncosted_no_payroll"], total["uncosted_no_scale"]) == (4, 1, 1)
    assert total["structural_no_decision"] == 2 and total["structural_cost_full_year"] == 0.0
    assert total["payroll"] == pytest.approx(120_000.0)


# ----------------------------------------------------------------------------------------------- incidental
def zeeland_awards(rows: list[dict], people: list[dict] | None = None) -> dict[str, dict]:
    people = people or [
        {"employee_id": "a", "salary_scale": "8", "annual_salary": 40_000.0, "fte": 0.8},
        {"employee_id": "b", "salary_scale": "8", "annual_salary": 60_000.0, "fte": 1.0},
        {"employee_id": "c", "salary_scale": "9", "annual_salary": 50_000.0, "fte": 0.5},
        {"employee_id": "d", "salary_scale": "7", "annual_salary": 35_000.0, "fte": 1.0},
    ]
    ev = evaluations(
        [{"employee_id": p["employee_id"], "department": "D", "rating": "normaal"} for p in people]
    )
    costs = costs_of(ev, payroll(people), awards(rows))
    out: dict[str, dict] = {}
    for row in costs.awards.to_dicts():
        out[f"{row['employee_id']}/{row['award_type']}"] = row
    return out


def test_percentage_bonus_is_of_the_annual_salary_pro_rata() -> None:  # Z-4
    got = zeeland_awards([{"employee_id": "a", "award_type": "output_bonus", "pct": 3.0}])
    assert got["a/output_bonus"]["gross"] == pytest.approx(0.03 * 40_000 * 0.8)
    assert got["a/output_bonus"]["cost"] == pytest.approx(0.03 * 40_000 * 0.8 * 1.32)
    assert got["a/output_bonus"]["cost_in_year"] == got["a/output_bonus"]["cost"]  # one-off, paid at payout


def test_group_reward_is_equal_within_the_group_and_at_least_250_net() -> None:  # Z-5
    got = zeeland_awards(
        [
            {
                "employee_id": "a",
                "award_type": "group_reward",
                "amount": 200.0,
                "amount_basis": "netto",
                "group_id": "G",
            },
            {"employee_id": "b", "award_type": "group_reward", "group_id": "G"},  # no amount: the group's
            {
                "employee_id": "c",
                "award_type": "group_reward",
                "amount": 400.0,
                "amount_basis": "netto",
                "group_id": "H",
            },
            {
                "employee_id": "d",
                "award_type": "group_reward",
                "amount": 1_000.0,
                "amount_basis": "bruto",
                "group_id": "H",
            },
        ]
    )
    assert got["a/group_reward"]["gross"] == pytest.approx(250 * 1.95)  # raised to the minimum
    assert got["b/group_reward"]["gross"] == pytest.approx(250 * 1.95)  # equal share, at least the minimum
    assert got["c/group_reward"]["gross"] == pytest.approx(400 * 1.95)
    assert got["d/group_reward"]["gross"] == pytest.approx(1_000.0)  # gross already; net 512.82 >= 250
    assert got["d/group_reward"]["cost"] == pytest.approx(1_000.0 * 1.32)


def test_mobility_reward_is_1000_net_pro_rata_fte() -> None:  # Z-6
    got = zeeland_awards(
        [{"employee_id": "a", "award_type": "mobility", "amount": 900.0, "amount_basis": "netto"}]
    )
    assert got["a/mobility"]["gross"] == pytest.approx(1_000 * 0.8 * 1.95)


def test_labour_market_allowance_is_capped_at_10_percent_36_months_and_the_next_scales_maximum() -> (
    None
):  # Z-7
    got = zeeland_awards(
        [
            # a: 12% asked, 10% allowed: 4,000 of 40,000; the next scale's maximum (63,000) is far
            {"employee_id": "a", "award_type": "labour_market_allowance", "pct": 12.0, "duration_months": 48},
            # b: 10% of 60,000 = 6,000, but salary + allowance may not pass 63,000: 3,000
            {
                "employee_id": "b",
                "award_type": "labour_market_allowance",
                "pct": 10.0,
                "start_date": dt.date(2025, 9, 1),
                "duration_months": 24,
            },
            # c: on the highest scale there is no next one: its own maximum (63,000) caps
            {"employee_id": "c", "award_type": "labour_market_allowance", "pct": 10.0, "duration_months": 6},
        ]
    )
    assert got["a/labour_market_allowance"]["gross"] == pytest.approx(4_000 * 0.8)
    b = got["b/labour_market_allowance"]
    assert b["gross"] == pytest.approx(3_000.0)
    # in-year: 1 September .. 31 December 2025 = 122 of 365 days of the payout year
    assert b["cost_in_year"] == pytest.approx(3_000 * 122 / 365 * 1.32)
    c = got["c/labour_market_allowance"]
    assert c["gross"] == pytest.approx(5_000 * 0.5 * 6 / 12)  # six months of 10% x 50,000 x 0.5
    # no start date: it starts at the payout date (1 May 2025) and runs 6 months, all within 2025
    assert c["cost_in_year"] == pytest.approx(5_000 * 0.5 * 184 / 365 * 1.32)


def test_retention_premium_and_performance_allowance() -> None:  # Z-7, F-7
    got = zeeland_awards(
        [{"employee_id": "d", "award_type": "retention_premium", "amount": 2_000.0, "amount_basis": "bruto"}]
    )
    assert got["d/retention_premium"]["cost"] == pytest.approx(2_640.0)
    costs = costs_of(
        evaluations(
            [{"employee_id": "v1", "department": "D", "rating": "voldoende", "salary_decision": 1}], V
        ),
        payroll(
            [
                {
                    "employee_id": "v1",
                    "salary_scale": "A111",
                    "salary_step": 3,
                    "annual_salary": 50_000.0,
                    "fte": 0.5,
                }
            ],
            V,
        ),
        awards([{"employee_id": "v1", "award_type": "performance_allowance", "pct": 20.0}], V),
        rules=RP,
    )
    allowance = costs.awards.row(0, named=True)
    assert allowance["gross"] == pytest.approx(0.15 * 50_000 * 0.5)  # at most 15% (F-7)
    assert allowance["cost"] == pytest.approx(0.15 * 50_000 * 0.5 * 1.35)


def test_structural_award_rows_are_not_incidental() -> None:
    got = zeeland_awards([{"employee_id": "a", "award_type": "structural", "pct": 3.0}])
    assert got == {}


# ------------------------------------------------------------------------------------------- the mart rows
def sample_costs() -> mb.OrganisationCosts:
    """Two departments, two cycles, every status and several award types."""
    ev_rows, pay_rows, aw_rows = [], [], []
    for cycle in (2023, 2024):
        for i, (dept, rating, salary, fte, scale) in enumerate(
            [
                ("A", "normaal", 40_000.0, 1.0, "7"),
                ("A", "uitstekend", 49_000.0, 0.8, "7"),
                ("A", "zeer_goed", 50_000.0, 1.0, "7"),
                ("B", "matig", 36_000.0, 0.5, "8"),
                ("B", None, 45_000.0, 1.0, "8"),
                ("B", "normaal", 41_000.0, 1.0, "99"),
            ]
        ):
            ev_rows.append({"cycle": cycle, "employee_id": f"p{i}", "department": dept, "rating": rating})
            pay_rows.append(
                {
                    "cycle": cycle,
                    "employee_id": f"p{i}",
                    "salary_scale": scale,
                    "annual_salary": salary,
                    "fte": fte,
                }
            )
        ev_rows.append({"cycle": cycle, "employee_id": "x", "department": "B", "rating": "normaal"})
        aw_rows += [
            {"cycle": cycle, "employee_id": "p0", "award_type": "output_bonus", "pct": 7.0},
            {
                "cycle": cycle,
                "employee_id": "p1",
                "award_type": "group_reward",
                "amount": 300.0,
                "group_id": "G",
            },
            {"cycle": cycle, "employee_id": "p3", "award_type": "group_reward", "group_id": "G"},
            {"cycle": cycle, "employee_id": "p4", "award_type": "mobility"},
        ]
    return costs_of(evaluations(ev_rows), payroll(pay_rows), awards(aw_rows))


def test_every_total_equals_the_sum_of_its_parts() -> None:
    costs = sample_costs()
    rows = mb.budget_rows(costs)
    assert rows.filter(pl.col("level") == mb.LEVEL_ORGANISATION)["department"].to_list() == [
        mb.TOTAL,
        mb.TOTAL,
    ]
    for cycle in (2023, 2024):
        parts = rows.filter((pl.col("cycle") == cycle) & (pl.col("level") == mb.LEVEL_DEPARTMENT))
        total = rows.filter((pl.col("cycle") == cycle) & (pl.col("level") == mb.LEVEL_ORGANISATION)).row(
            0, named=True
        )
        for column in mb.BUDGET_SUMS:
            assert total[column] == pytest.approx(parts[column].sum()), column
    for row in rows.iter_rows(named=True):
        assert (
            row["headcount"]
            == row["structural_costed"] + row["structural_no_decision"] + row["structural_uncosted"]
        )
        assert (
            row["structural_uncosted"]
            == row["uncosted_seniority"] + row["uncosted_no_payroll"] + row["uncosted_no_scale"]
        )
        assert row["total_cost_full_year"] == pytest.approx(
            row["structural_cost_full_year"] + row["incidental_cost"]
        )
        assert row["total_cost_in_year"] == pytest.approx(
            row["structural_cost_in_year"] + row["incidental_cost_in_year"]
        )
        assert row["structural_cost_in_year"] == pytest.approx(row["structural_cost_full_year"] * 8 / 12)
    by_type = mb.by_type_rows(costs)
    for level in (mb.LEVEL_DEPARTMENT, mb.LEVEL_ORGANISATION):
        spend = (
            by_type.filter(pl.col("level") == level).group_by("cycle", "department").agg(pl.col("cost").sum())
        )
        joined = rows.filter(pl.col("level") == level).join(spend, on=["cycle", "department"], how="left")
        assert (
            joined.select((pl.col("cost").fill_null(0) - pl.col("incidental_cost")).abs().max()).item() < 1e-6
        )
    # the hand-worked structural cost of cycle 2024 (gross, then x 1.32 employer cost)
    a = rows.filter((pl.col("cycle") == 2024) & (pl.col("department") == "A")).row(0, named=True)
    assert a["structural_gross_full_year"] == pytest.approx(1_200.0 + 1_000.0 * 0.8 + 0.0)
    assert a["structural_cost_full_year"] == pytest.approx(2_000.0 * 1.32)
    assert (a["structural_at_maximum"], a["structural_capped"]) == (1, 1)


def test_budgets_utilisation_and_over_budget() -> None:  # Z-14
    rows = mb.budget_rows(sample_costs()).filter(pl.col("cycle") == 2024)
    for row in rows.iter_rows(named=True):
        assert row["incidental_budget"] == pytest.approx(row["payroll"] * 1.32 * 0.75 / 100)
        assert row["structural_budget"] == pytest.approx(row["payroll"] * 1.32 * 2.8 / 100)
        assert row["incidental_variance"] == pytest.approx(row["incidental_budget"] - row["incidental_cost"])
        assert row["incidental_utilisation"] == pytest.approx(
            row["incidental_cost"] / row["incidental_budget"]
        )
        expected = row["incidental_utilisation"] > 1 or row["structural_utilisation"] > 1
        assert row["over_budget"] == expected
    a = rows.filter(pl.col("department") == "A").row(0, named=True)
    assert a["over_budget"]  # a 7% bonus on 40,000 is far above 0.75% of A's payroll
    ploeg = mb.budget_rows(
        costs_of(
            evaluations(
                [{"employee_id": "v", "department": "D", "rating": "voldoende", "salary_decision": 1}], V
            ),
            payroll(
                [{"employee_id": "v", "salary_scale": "A111", "salary_step": 1, "annual_salary": 40_000.0}], V
            ),
            rules=RP,
        )
    )
    assert ploeg["structural_budget"].null_count() == ploeg.height  # PLOEG sets no structural budget
    assert ploeg["structural_utilisation"].null_count() == ploeg.height
    assert ploeg["payout_date"].to_list() == [dt.date(2025, 8, 1)] * 2


def four_point_policy(tmp_path: Path) -> Path:
    """A new municipality: 4-point scale, percentage growth, no incidental rewards at all."""
    policy = {
        "id": "gemeente_4punt",
        "version": 1,
        "name": {"nl": "Gemeente", "en": "Municipality"},
        "rating_scale": {
            "values": [
                {"code": "onvoldoende", "score": 1, "structural_pct": 0},
                {"code": "voldoende", "score": 2, "structural_pct": 2},
                {"code": "goed", "score": 3, "structural_pct": 3},
                {"code": "zeer_goed", "score": 4, "structural_pct": 5},
            ],
            "guideline": None,
        },
        "structural": {"basis": "pct"},
        "deadlines": {"payout": {"month": 1, "day": 1, "year_offset": 1}},
        "budget": {"structural_budget_pct": {"value": 2.5}, "employer_oncost_factor": 1.3},
        "forecast": {
            "horizon_years": 4,
            "draws": 100,
            "seed": 1,
            "scenarios": ["last_cycle", "norm", "guideline"],
        },
    }
    path = tmp_path / "gemeente_4punt.yaml"
    path.write_text(yaml.safe_dump(policy))
    return path


def test_a_new_four_point_policy_without_incidental_rewards(tmp_path: Path) -> None:
    policy = load_policy(four_point_policy(tmp_path))
    org = "gemeente"
    ev = frame(
        [
            {"employee_id": f"g{i}", "department": "D" if i < 6 else "E", "rating": r, "gender": "FM"[i % 2]}
            for i, r in enumerate(["voldoende", "goed", "zeer_goed", "goed", "voldoende", "onvoldoende"] * 2)
        ],
        mb.EVALUATION_COLUMNS,
        organization=org,
        cycle=CYCLE,
    )
    pay = frame(
        [
            {"employee_id": f"g{i}", "salary_scale": "7", "annual_salary": 30_000.0 + 1_500 * i}
            for i in range(12)
        ],
        mb.PAYROLL_COLUMNS,
        organization=org,
        cycle=CYCLE,
        fte=1.0,
    )
    scales = zeeland_scales().with_columns(organization=pl.lit(org))
    inputs = mb.BudgetInputs(ev, pay, frame([], mb.AWARD_COLUMNS), scales)
    result = mb.compute_budget(inputs, {org: policy})
    total = result.budget.filter(pl.col("level") == mb.LEVEL_ORGANISATION).row(0, named=True)
    assert total["incidental_cost"] == 0.0 and total["incidental_budget"] is None
    assert total["incidental_utilisation"] is None
    assert total["in_year_factor"] == pytest.approx(1.0)  # paid on 1 January: the whole year
    expected = sum(
        min(
            (30_000.0 + 1_500 * i)
            * (1 + {"onvoldoende": 0, "voldoende": 2, "goed": 3, "zeer_goed": 5}[r] / 100),
            50_000,
        )
        - (30_000.0 + 1_500 * i)
        for i, r in enumerate(["voldoende", "goed", "zeer_goed", "goed", "voldoende", "onvoldoende"] * 2)
    )
    assert total["structural_gross_full_year"] == pytest.approx(expected)
    assert result.by_type.height == 0
    forecast = compute_forecast(result.organisations, scales, {org: policy})
    assert sorted(forecast["scenario"].unique().to_list()) == ["last_cycle", "norm"]  # no guideline set
    assert sorted(forecast["horizon"].unique().to_list()) == [1, 2, 3, 4]
    assert forecast["incidental_cost_p95"].max() == 0.0
    moved = whatif(result.organisations[org], scales, [Move("D", 1, "voldoende", "zeer_goed")])
    change = moved.table.filter(pl.col("metric") == "structural_cost_full_year")["change"][0]
    assert change > 0


# ----------------------------------------------------------------------------------------- property tests
@settings(max_examples=30, deadline=None)
@given(
    salary=st.floats(20_000, 80_000),
    headroom=st.floats(-0.2, 0.6),
    fte=st.floats(0.1, 1.0),
    flagged=st.booleans(),
    pair=st.tuples(st.integers(0, 4), st.integers(0, 4)).map(sorted),
)
def test_cost_never_decreases_when_a_rating_moves_up(
    salary: float, headroom: float, fte: float, flagged: bool, pair: list[int]
) -> None:
    low, high = (RZ.outcome_codes[i] for i in pair)
    maximum = salary * (1 + headroom)
    scales = frame(
        [
            {"salary_scale": "S", "point": "minimum", "annual_amount": 10_000.0},
            {"salary_scale": "S", "point": "maximum", "annual_amount": maximum},
        ],
        mb.SCALE_COLUMNS,
        organization=Z,
    )
    rows = [
        {"employee_id": e, "department": "D", "rating": r, "at_scale_maximum": flagged}
        for e, r in (("lo", low), ("hi", high))
    ]
    pays = [
        {"employee_id": e, "salary_scale": "S", "annual_salary": salary, "fte": fte} for e in ("lo", "hi")
    ]
    costs = costs_of(evaluations(rows), payroll(pays), scales=scales)
    assert person(costs, "hi")["structural_gross"] >= person(costs, "lo")["structural_gross"] - 1e-9
    assert (
        person(costs, "hi")["structural_gross"] <= max(maximum - salary, 0.0) * fte + 1e-6
    )  # never past the max


@settings(max_examples=30, deadline=None)
@given(
    step=st.integers(0, 35),
    increments=st.lists(st.floats(0, 3_000), min_size=35, max_size=35),
    pair=st.tuples(st.integers(0, 2), st.integers(0, 2)).map(sorted),
    forced=st.booleans(),
)
def test_step_cost_never_decreases_when_the_decision_moves_up(
    step: int, increments: list[float], pair: list[int], forced: bool
) -> None:
    amounts = np.concatenate([[30_000.0], 30_000.0 + np.cumsum(increments)])
    scales = frame(
        [
            {"salary_scale": "A111", "point": "step", "step": k, "annual_amount": float(a)}
            for k, a in enumerate(amounts)
        ],
        mb.SCALE_COLUMNS,
        organization=V,
    )
    rows = [
        {"employee_id": "lo", "department": "D", "rating": "voldoende", "salary_decision": pair[0]},
        {"employee_id": "hi", "department": "D", "rating": "voldoende", "salary_decision": pair[1]},
    ]
    if forced:  # onvoldoende always gives step 0, whatever is recorded (F-10)
        rows[0]["rating"] = "onvoldoende"
    pays = [
        {"employee_id": e, "salary_scale": "A111", "salary_step": step, "annual_salary": 1.0}
        for e in ("lo", "hi")
    ]
    costs = costs_of(evaluations(rows, V), payroll(pays, V), scales=scales, rules=RP)
    assert person(costs, "hi")["structural_gross"] >= person(costs, "lo")["structural_gross"] - 1e-9


@settings(max_examples=20, deadline=None)
@given(
    salaries=st.lists(st.floats(30_000, 50_000), min_size=2, max_size=8),
    ratings=st.data(),
    pair=st.tuples(st.integers(0, 4), st.integers(0, 4)).filter(lambda p: p[0] < p[1]),
)
def test_whatif_moving_ratings_up_never_lowers_cost(
    salaries: list[float], ratings: st.DataObject, pair: tuple
) -> None:
    codes = RZ.outcome_codes
    chosen = [codes[pair[0]]] + [codes[ratings.draw(st.integers(0, 4))] for _ in salaries[1:]]
    ev = evaluations([{"employee_id": f"e{i}", "department": "D", "rating": r} for i, r in enumerate(chosen)])
    pay = payroll(
        [{"employee_id": f"e{i}", "salary_scale": "7", "annual_salary": s} for i, s in enumerate(salaries)]
    )
    costs = costs_of(ev, pay)
    result = whatif(costs, zeeland_scales(), [Move("D", 1, codes[pair[0]], codes[pair[1]])])
    assert result.table.filter(pl.col("metric") == "structural_cost_full_year")["change"].min() >= -1e-9


# ------------------------------------------------------------------------------------------------ forecast
def test_forecast_settings_come_from_the_policy() -> None:
    fz, fp = forecast_settings(ZEELAND), forecast_settings(PLOEG)
    assert fz is not None and fp is not None
    assert (fz.horizon, fz.draws, fz.scenarios) == (3, 500, ("last_cycle", "norm", "guideline", "custom"))
    assert (fp.horizon, fp.draws) == (5, 500)


def forecast_population(n: int = 24) -> tuple[mb.OrganisationCosts, pl.DataFrame]:
    rng = np.random.default_rng(3)
    codes = RZ.outcome_codes
    ev = evaluations(
        [
            {"employee_id": f"e{i}", "department": "AB"[i % 2], "rating": codes[int(rng.integers(0, 5))]}
            for i in range(n)
        ]
    )
    pay = payroll(
        [
            {
                "employee_id": f"e{i}",
                "salary_scale": "8",
                "annual_salary": float(np.round(rng.uniform(40_000, 60_000), 2)) if i else 60_500.0,
                "fte": float(rng.choice([1.0, 0.8, 0.5])),
            }
            for i in range(n)
        ]
    )
    return costs_of(ev, pay), zeeland_scales()


def custom(distribution: dict, org: str = Z) -> ScenarioFile:
    return ScenarioFile(id="t", organization=org, path=Path("t.yaml"), label={}, distribution=distribution)


def exact_pct_expectation(
    costs: mb.OrganisationCosts, p: np.ndarray, horizon: int, growth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Expected structural cost and payroll per year by enumerating every rating path (independent check)."""
    people = costs.people
    values = np.array([o.value for o in RZ.outcomes]) / 100
    top0 = people["scale_max"].to_numpy()
    start = people["annual_salary"].to_numpy() + people["raise_100"].fill_null(0).to_numpy()
    fte = people["fte"].to_numpy()
    cost, pay = np.zeros(horizon), np.zeros(horizon)
    for path in itertools.product(range(len(values)), repeat=horizon):
        weight = float(np.prod(p[list(path)]))
        s, top = start.copy(), top0.copy()
        for h, r in enumerate(path):
            s, top = s * growth, top * growth
            pay[h] += weight * (s * fte).sum()
            new = np.maximum(np.minimum(s * (1 + values[r]), top), s)  # above the maximum: no raise, no cut
            cost[h] += weight * ((new - s) * fte).sum()
            s = new
    return cost, pay


@pytest.mark.parametrize("general_raise", [0.0, 2.0])
def test_forecast_expectation_equals_exact_enumeration_pct(general_raise: float) -> None:
    costs, scales = forecast_population()
    rules = dataclasses.replace(RZ, general_raise_pct=general_raise)
    costs = dataclasses.replace(costs, rules=rules)
    p = np.array([0.05, 0.15, 0.4, 0.25, 0.15])
    run = ForecastSettings(horizon=3, draws=200, seed=1, scenarios=("custom",))
    out = forecast_organisation(
        costs, scales, run, None, [custom(dict(zip(RZ.outcome_codes, p, strict=True)))]
    )
    total = out.filter(pl.col("level") == mb.LEVEL_ORGANISATION).sort("horizon")
    cost, pay = exact_pct_expectation(costs, p, 3, 1 + general_raise / 100)
    assert total["structural_cost_mean"].to_numpy() == pytest.approx(cost * rules.oncost, rel=5e-3)
    assert total["payroll"].to_numpy() == pytest.approx(pay, rel=1e-4)
    assert total["cycle"].to_list() == [2025, 2026, 2027]
    g = general_raise / 100
    assert total["general_raise_cost"].to_numpy() == pytest.approx(
        total["payroll"].to_numpy() * g / (1 + g) * 1.32
    )


def test_forecast_expectation_equals_exact_enumeration_steps() -> None:
    rng = np.random.default_rng(5)
    n = 16
    ev = evaluations(
        [
            {
                "employee_id": f"v{i}",
                "department": "AB"[i % 2],
                "rating": "voldoende",
                "salary_decision": int(i % 3),
            }
            for i in range(n)
        ],
        V,
    )
    steps = rng.integers(28, 36, n)
    pay = payroll(
        [
            {
                "employee_id": f"v{i}",
                "salary_scale": "A111",
                "salary_step": int(s),
                "annual_salary": step_amount("A111", int(s)) + 100.0,
            }
            for i, s in enumerate(steps)
        ],
        V,
    )
    costs = costs_of(ev, pay, rules=RP)
    p = np.array([0.1, 0.6, 0.3])
    run = ForecastSettings(horizon=4, draws=200, seed=1, scenarios=("custom",))
    out = forecast_organisation(costs, ploeg_scales(), run, None, [custom({"0": 0.1, "1": 0.6, "2": 0.3}, V)])
    total = out.filter(pl.col("level") == mb.LEVEL_ORGANISATION).sort("horizon")
    start = np.minimum(steps + np.arange(n) % 3, 35)
    expected_cost, expected_pay, expected_top = np.zeros(4), np.zeros(4), np.zeros(4)
    for path in itertools.product(range(3), repeat=4):
        weight = float(np.prod(p[list(path)]))
        s = start.copy()
        for h, k in enumerate(path):
            expected_pay[h] += weight * sum(step_amount("A111", int(x)) + 100.0 for x in s)
            expected_top[h] += weight * (s == 35).sum()
            new = np.minimum(s + k, 35)
            expected_cost[h] += weight * sum(
                step_amount("A111", int(b)) - step_amount("A111", int(a)) for a, b in zip(s, new, strict=True)
            )
            s = new
    assert total["structural_cost_mean"].to_numpy() == pytest.approx(expected_cost * 1.35, rel=1e-9)
    assert total["payroll"].to_numpy() == pytest.approx(expected_pay, rel=1e-9)
    assert total["at_maximum"].to_numpy() == pytest.approx(expected_top, rel=1e-9)


def test_forecast_quantiles_totals_scenarios_and_determinism() -> None:
    costs, scales = forecast_population(40)
    run = forecast_settings(ZEELAND)
    assert run is not None
    files = [custom({"normaal": 1.0})]
    first = forecast_organisation(costs, scales, run, ZEELAND.guideline, files)
    again = forecast_organisation(costs, scales, run, ZEELAND.guideline, files)
    assert first.equals(again)  # fixed seed from the policy
    assert sorted(first["scenario"].unique().to_list()) == ["custom:t", "guideline", "last_cycle", "norm"]
    assert first.height == 4 * 3 * 3  # scenarios x years x (2 departments + total)
    for q in ("structural_cost", "incidental_cost", "total_cost"):
        assert (first[f"{q}_p5"] <= first[f"{q}_p50"] + 1e-9).all()
        assert (first[f"{q}_p50"] <= first[f"{q}_p95"] + 1e-9).all()
    keys = ["scenario", "horizon"]
    parts = (
        first.filter(pl.col("level") == mb.LEVEL_DEPARTMENT)
        .group_by(keys)
        .agg(
            pl.col(
                "structural_cost_mean", "incidental_cost_mean", "payroll", "headcount", "structural_budget"
            ).sum()
        )
    )
    totals = first.filter(pl.col("level") == mb.LEVEL_ORGANISATION).join(parts, on=keys, suffix="_parts")
    for column in (
        "structural_cost_mean",
        "incidental_cost_mean",
        "payroll",
        "headcount",
        "structural_budget",
    ):
        assert totals.select((pl.col(column) - pl.col(f"{column}_parts")).abs().max()).item() < 1e-6
    norm = first.filter((pl.col("scenario") == "norm") & (pl.col("level") == mb.LEVEL_DEPARTMENT))
    assert norm["structural_cost_p5"].min() < norm["structural_cost_p95"].max()  # a real spread, not a point


def test_people_at_the_maximum_stop_costing_structural_raises() -> None:  # Z-3
    ev = evaluations([{"employee_id": f"e{i}", "department": "D", "rating": "uitstekend"} for i in range(6)])
    pay = payroll(
        [{"employee_id": f"e{i}", "salary_scale": "7", "annual_salary": 50_000.0} for i in range(6)]
    )
    run = ForecastSettings(horizon=3, draws=50, seed=1, scenarios=("last_cycle",))
    out = forecast_organisation(costs_of(ev, pay), zeeland_scales(), run)
    assert out["structural_cost_p95"].max() == 0.0 and out["structural_cost_mean"].max() == 0.0
    assert out.filter(pl.col("level") == mb.LEVEL_ORGANISATION)["at_maximum"].to_list() == [6.0, 6.0, 6.0]
    # one step below: uitstekend 6% reaches the maximum in the first forecast year and then stops
    # below it: 44,000 + 6% = 46,640 after the last cycle; + 6% = 49,438.40 in the first forecast year; the
    # second year's 6% is capped at the maximum (561.60 left), and from the third year on nothing is left
    pay = payroll(
        [{"employee_id": f"e{i}", "salary_scale": "7", "annual_salary": 44_000.0} for i in range(6)]
    )
    out = forecast_organisation(costs_of(ev, pay), zeeland_scales(), run).filter(
        pl.col("department") == mb.TOTAL
    )
    expected = [6 * 46_640.0 * 0.06 * 1.32, 6 * (50_000.0 - 49_438.4) * 1.32, 0.0]
    assert out["structural_cost_mean"].to_list() == pytest.approx(
        expected, abs=6 * 1.32 * 10
    )  # grid: < EUR 10 each
    assert out["at_maximum"].to_list() == pytest.approx([0.0, 0.0, 6.0])


def test_scenario_files_are_checked_against_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"id": "s", "organization": Z, "distribution": {"geweldig": 1.0}}))
    bad = load_scenario_file(path)
    run = ForecastSettings(horizon=1, draws=10, seed=1, scenarios=("custom",))
    with pytest.raises(ConfigError, match="unknown outcome codes"):
        build_scenarios(run, RZ, ["D"], np.ones((1, 5)), None, [bad])
    path.write_text(yaml.safe_dump({"id": "S!", "organization": Z}))
    with pytest.raises(ConfigError, match="id"):
        load_scenario_file(path)
    path.write_text(
        yaml.safe_dump(
            {"id": "s", "organization": Z, "moves": [{"department": "D", "n": -1, "from": "a", "to": "b"}]}
        )
    )
    with pytest.raises(ConfigError, match="positive"):
        load_scenario_file(path)


def test_the_example_scenario_files_fit_their_policies() -> None:
    files = load_scenarios(PROJECT_ROOT / "scenarios")
    policies = {Z: (ZEELAND, RZ), V: (PLOEG, RP)}
    assert {f.organization for f in files} == {Z, V}
    for file in files:
        policy, rules = policies[file.organization]
        run = forecast_settings(policy)
        assert run is not None
        departments = ["Economie", "Applicaties", *file.departments]
        built = build_scenarios(
            run, rules, departments, np.ones((len(departments), len(rules.outcomes))), None, [file]
        )
        assert f"custom:{file.id}" in [s.name for s in built]
        assert file.moves and all({m.source, m.target} <= set(rules.outcome_codes) for m in file.moves)


# ------------------------------------------------------------------------------------------------- what-if
def whatif_population() -> mb.OrganisationCosts:
    people = [  # department, rating, salary, gender
        ("X", "normaal", 40_000.0, "F"),
        ("X", "normaal", 48_000.0, "M"),
        ("X", "zeer_goed", 30_000.0, "F"),
        ("X", "uitstekend", 45_000.0, "M"),
        ("Y", "normaal", 35_000.0, "F"),
        ("Y", "uitstekend", 44_000.0, "F"),
        ("Y", "normaal", 38_000.0, "M"),
        ("Y", "matig", 42_000.0, "M"),
        ("Y", "normaal", 41_000.0, "F"),
        ("Y", "normaal", 33_000.0, "M"),
        ("Y", "zeer_goed", 39_000.0, "M"),
        ("Y", None, 39_000.0, "X"),
    ]
    ev = evaluations(
        [
            {"employee_id": f"w{i}", "department": d, "rating": r, "gender": g}
            for i, (d, r, _, g) in enumerate(people)
        ]
    )
    pay = payroll(
        [
            {"employee_id": f"w{i}", "salary_scale": "7", "annual_salary": s}
            for i, (_, _, s, _) in enumerate(people)
        ]
    )
    return costs_of(ev, pay)


def metric(result: object, name: str, scope: str = "(organisatie)") -> dict:
    table = result.table  # type: ignore[attr-defined]
    rows = table.filter((pl.col("metric") == name) & (pl.col("scope") == scope)).to_dicts()
    assert len(rows) == 1, (name, scope)
    return rows[0]


def test_whatif_moves_price_the_changed_ratings_exactly() -> None:
    costs = whatif_population()
    result = whatif(costs, zeeland_scales(), [Move("X", 1, "normaal", "uitstekend")])
    # the two 'normaal' people in X carry half the move each: 40,000 -> +3% extra (6 - 3), 48,000 -> capped
    delta = 0.5 * (40_000 * 0.03) + 0.5 * ((50_000 - 48_000) - 48_000 * 0.03)
    cost = metric(result, "structural_cost_full_year")
    assert cost["change"] == pytest.approx(delta * 1.32)
    assert metric(result, "structural_cost_full_year", "X")["change"] == pytest.approx(delta * 1.32)
    assert metric(result, "structural_cost_in_year")["change"] == pytest.approx(delta * 1.32 * 8 / 12)
    assert metric(result, "incidental_cost")["change"] == 0.0
    budget = float(costs.people["annual_salary"].sum()) * 1.32 * 2.8 / 100
    assert metric(result, "structural_utilisation")["after"] == pytest.approx(cost["after"] / budget)
    # fairness: top outcome (uitstekend) among the rated: F 1 of 5 -> 1.5 of 5, M 1 of 6 -> 1.5 of 6
    assert metric(result, "top_rate_F")["before"] == pytest.approx(1 / 5)
    assert metric(result, "top_rate_F")["after"] == pytest.approx(1.5 / 5)
    assert metric(result, "top_rate_M")["before"] == pytest.approx(1 / 6)
    assert metric(result, "top_rate_M")["after"] == pytest.approx(1.5 / 6)
    assert metric(result, "top_rate_ratio_F_M")["before"] == pytest.approx(1.2)
    assert metric(result, "top_rate_ratio_F_M")["after"] == pytest.approx(1.2)
    assert result.table.filter(pl.col("metric") == "top_rate_X").height == 0  # the only X is not rated
    small = whatif(costs, zeeland_scales(), [Move("Y", 1, "matig", "normaal")])
    assert metric(small, "top_rate_F")["before"] is not None  # 5 rated women: shown (min_group_size 5)
    shrunk = dataclasses.replace(costs, rules=dataclasses.replace(RZ, min_group_size=6))
    hidden = whatif(shrunk, zeeland_scales(), [Move("Y", 1, "matig", "normaal")])
    assert metric(hidden, "top_rate_F")["before"] is None and metric(hidden, "top_rate_F")["after"] is None
    assert metric(hidden, "top_rate_ratio_F_M")["before"] is None


def test_whatif_rejects_moves_that_do_not_fit() -> None:
    costs = whatif_population()
    with pytest.raises(WhatIfError, match="has 2 people with 'normaal'"):
        whatif(costs, zeeland_scales(), [Move("X", 3, "normaal", "zeer_goed")])
    with pytest.raises(WhatIfError, match="department 'Z'"):
        whatif(costs, zeeland_scales(), [Move("Z", 1, "normaal", "zeer_goed")])
    with pytest.raises(WhatIfError, match="not an outcome"):
        whatif(costs, zeeland_scales(), [Move("X", 1, "normaal", "perfect")])
    assert issubclass(WhatIfError, CalibraError)  # the CLI shows it as one sentence


def test_moves_chain_and_conserve_people() -> None:
    weights = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0]], dtype=float)
    depts = np.array(["A", "A", "A", "B"])
    after = apply_moves(weights, depts, ["a", "b", "c"], [Move("A", 2, "a", "b"), Move("A", 1, "b", "c")])
    assert after.sum(1) == pytest.approx([1, 1, 1, 1])
    assert after[:3].sum(0) == pytest.approx([0, 2, 1])
    assert after[3] == pytest.approx([1, 0, 0])  # another department does not move


# ------------------------------------------------------------------------------------- database and CLI
def write_staging(database: Path, inputs: mb.BudgetInputs) -> None:
    from models.warehouse import connect, initialise

    with connect(database) as con:
        initialise(con)
        for table, data in (
            ("evaluations", inputs.evaluations),
            ("payroll", inputs.payroll),
            ("awards", inputs.awards),
            ("salary_scales", inputs.scales),
        ):
            con.register("_rows", data.to_arrow())
            columns = ", ".join(f'"{c}"' for c in data.columns)
            con.execute(f"INSERT INTO staging.{table} ({columns}) SELECT {columns} FROM _rows")
            con.unregister("_rows")


def zeeland_inputs() -> mb.BudgetInputs:
    costs = whatif_population()
    ev = evaluations(
        [
            {
                "employee_id": r["employee_id"],
                "department": r["department"],
                "rating": r["rating"],
                "gender": r["gender"],
            }
            for r in costs.people.to_dicts()
        ]
    )
    pay = payroll(
        [
            {"employee_id": r["employee_id"], "salary_scale": "7", "annual_salary": r["annual_salary"]}
            for r in costs.people.to_dicts()
        ]
    )
    aw = awards([{"employee_id": "w0", "award_type": "output_bonus", "pct": 7.0}])
    return mb.BudgetInputs(ev, pay, aw, zeeland_scales())


def test_reading_only_the_priced_awards_changes_no_cost(tmp_path: Path) -> None:
    """load_inputs(policies=...) reads only the awards of a type the organisation's policy marks incidental:
    the structural raise rows, unknown types, another organisation's types and organisations without a
    policy stay in the database, and both budget marts are the same as from every award."""
    from models import person_cycle

    inputs = zeeland_inputs()
    people = inputs.evaluations["employee_id"].to_list()
    aw = pl.concat(
        [
            awards(
                [
                    {"employee_id": people[0], "award_type": "output_bonus", "pct": 7.0},
                    {"employee_id": people[1], "award_type": "structural", "pct": 2.0},
                    {"employee_id": people[2], "award_type": "mobility", "amount": 500.0},
                    {"employee_id": people[3], "award_type": "performance_allowance", "pct": 3.0},
                    {"employee_id": people[4], "award_type": "unknown_type", "amount": 90.0},
                    {"employee_id": people[5], "award_type": None, "amount": 80.0},
                ]
            ),
            awards([{"employee_id": "v1", "award_type": "performance_allowance", "pct": 3.0}], org=V),
            awards([{"employee_id": "x1", "award_type": "output_bonus", "pct": 3.0}], org="other-org"),
        ]
    )
    database = tmp_path / "calibra.duckdb"
    write_staging(database, dataclasses.replace(inputs, awards=aw))
    policies = {Z: ZEELAND}
    con = duckdb.connect(str(database))
    try:
        person_cycle.build(con, {Z: ZEELAND, V: PLOEG})
        every = mb.load_inputs(con, layer=True)
        priced = mb.load_inputs(con, layer=True, policies=policies)
    finally:
        con.close()
    assert every.awards.height == 8
    assert priced.awards.select("organization", "award_type").rows() == [
        (Z, "output_bonus"),
        (Z, "mobility"),
    ]
    a, b = mb.compute_budget(every, policies), mb.compute_budget(priced, policies)
    total = a.budget.filter(pl.col("level") == mb.LEVEL_ORGANISATION)
    assert total["incidental_awards"].to_list() == [2]  # the output bonus and the mobility award
    assert a.budget.equals(b.budget) and a.by_type.equals(b.by_type)


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="calibra")
    add_whatif_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_whatif_command_reads_the_database_read_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    database = home / "calibra.duckdb"
    write_staging(database, zeeland_inputs())
    before = hashlib.sha256(database.read_bytes()).hexdigest()
    code = run_cli(
        ["whatif", "--home", str(home), "--org", Z, "-d", "X", "--move", "1", "normaal", "uitstekend"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "calibra whatif — zeeland-demo, cyclus 2024" in out
    assert "Verschuiving: X: 1 × normaal → uitstekend" in out
    delta = (0.5 * (40_000 * 0.03) + 0.5 * (2_000 - 1_440)) * 1.32
    assert f"+€ {round(delta):,}".replace(",", ".") in out
    assert "Aandeel 'Uitstekend' — vrouwen" in out and "20,0%" in out and "30,0%" in out and "+10,0 pp" in out
    assert hashlib.sha256(database.read_bytes()).hexdigest() == before  # read-only: nothing written
    run_cli(
        [
            "whatif",
            "--home",
            str(home),
            "--org",
            Z,
            "-d",
            "X",
            "--move",
            "1",
            "normaal",
            "uitstekend",
            "--lang",
            "en",
        ]
    )
    assert "Share 'Excellent' — women" in capsys.readouterr().out


def test_whatif_command_errors_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(CalibraError, match="no database"):
        run_cli(
            [
                "whatif",
                "--home",
                str(tmp_path / "none"),
                "--org",
                Z,
                "-d",
                "X",
                "--move",
                "1",
                "normaal",
                "goed",
            ]
        )
    with pytest.raises(CalibraError, match="needs --department"):
        run_cli(["whatif", "--home", str(tmp_path), "--org", Z, "--move", "1", "normaal", "goed"])
    with pytest.raises(CalibraError, match="choose one with --org"):
        run_cli(["whatif", "--home", str(tmp_path), "-d", "X", "--move", "1", "normaal", "goed"])


def test_table_values_are_formatted_per_language() -> None:
    assert format_value(1234567.4, "eur", "nl") == "€ 1.234.567"
    assert format_value(1234567.4, "eur", "en") == "€ 1,234,567"
    assert format_value(0.8542, "share", "nl") == "85,4%"
    assert format_value(0.0123, "share", "en", signed=True) == "+1.2 pp"
    assert format_value(-250.0, "eur", "nl", signed=True) == "−€ 250"
    assert format_value(None, "eur", "nl") == "—"


def test_budget_assets_on_a_temporary_database(tmp_path: Path) -> None:
    import dagster as dg

    from pipelines.assets.marts import budget as assets
    from pipelines.resources import CalibraResource
    from pipelines.runs import materialize

    config = tmp_path / "calibra.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "home": "home",
                "organizations": {Z: {"policy": str(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")}},
            }
        )
    )
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "ok.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "ok",
                "organization": Z,
                "moves": [{"department": "X", "n": 1, "from": "normaal", "to": "uitstekend"}],
            }
        )
    )
    (tmp_path / "scenarios" / "off.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "off",
                "organization": Z,
                "moves": [{"department": "Q", "n": 1, "from": "normaal", "to": "matig"}],
            }
        )
    )
    write_staging(tmp_path / "home" / "calibra.duckdb", zeeland_inputs())
    result = materialize(
        [assets.budget, assets.budget_forecast, assets.budget_whatif],
        resources={"calibra": CalibraResource(config_path=str(config))},
    )
    assert result.success
    checks = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    over = checks[("budget", "department_over_budget")]
    assert not over.passed and over.severity == dg.AssetCheckSeverity.WARN  # the 7% bonus blows X's budget
    assert checks[("budget", "totals_add_up")].passed
    assert checks[("budget", "everyone_priced")].passed
    assert not checks[("budget_whatif", "scenario_moves_apply")].passed  # 'off' names department Q
    con = duckdb.connect(str(tmp_path / "home" / "calibra.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT count(*) FROM marts.budget").fetchone()
        forecast = con.execute(
            "SELECT count(DISTINCT scenario), max(horizon) FROM marts.budget_forecast"
        ).fetchone()
        moves = con.execute("SELECT DISTINCT scenario FROM marts.budget_whatif").fetchall()
    finally:
        con.close()
    assert rows == (3,)  # departments X, Y and the total
    assert forecast == (3, 3)  # last_cycle, norm, guideline over the policy's 3 years
    assert moves == [("ok",)]


# --------------------------------------------------------------------------------------- the sample run
def test_budget_marts_on_the_sample_run(sample_run) -> None:
    q = sample_run.query
    budget = q("SELECT * FROM marts.budget")
    assert set(budget["organization"].unique()) == {Z, V}
    staged = q(
        """SELECT organization, cycle, count(*) AS people FROM (
               SELECT organization, cycle, employee_id FROM staging.evaluations UNION
               SELECT organization, cycle, employee_id FROM staging.payroll) GROUP BY ALL"""
    )
    totals = budget.filter(pl.col("level") == mb.LEVEL_ORGANISATION)
    joined = totals.join(staged, on=["organization", "cycle"])
    assert joined.height == staged.height and (joined["headcount"] == joined["people"]).all()
    parts = (
        budget.filter(pl.col("level") == mb.LEVEL_DEPARTMENT)
        .group_by("organization", "cycle")
        .agg(pl.col(list(mb.BUDGET_SUMS)).sum())
    )
    check = totals.join(parts, on=["organization", "cycle"], suffix="_parts")
    for column in mb.BUDGET_SUMS:
        diff = check.select(
            (pl.col(column).fill_null(0) - pl.col(f"{column}_parts").fill_null(0)).abs().max()
        ).item()
        assert diff < 1e-4 * (1 + abs(check[column].fill_null(0).max())), column
    by_type = q(
        "SELECT organization, cycle, sum(cost) AS cost FROM marts.budget_by_type WHERE level = 'organisatie' GROUP BY ALL"
    )
    spend = totals.join(by_type, on=["organization", "cycle"], how="left")
    assert (spend["cost"].fill_null(0) - spend["incidental_cost"]).abs().max() < 1e-4
    zeeland = totals.filter(pl.col("organization") == Z)
    assert zeeland["structural_costed"].min() > 0 and zeeland["incidental_awards"].min() > 0
    assert zeeland["incidental_utilisation"].min() > 0.05 and zeeland["incidental_utilisation"].max() < 5
    assert zeeland["structural_utilisation"].min() > 0.1 and zeeland["structural_utilisation"].max() < 3
    ploeg = totals.filter(pl.col("organization") == V)
    assert ploeg["uncosted_seniority"].min() > 0 and ploeg["structural_budget"].null_count() == ploeg.height
    assert ploeg["structural_cost_full_year"].min() > 0
    forecast = q("SELECT * FROM marts.budget_forecast")
    horizons = forecast.group_by("organization").agg(pl.col("horizon").max()).sort("organization")
    assert horizons.rows() == [(V, 5), (Z, 3)]
    assert (forecast["total_cost_p5"] <= forecast["total_cost_p50"] + 1e-6).all()
    assert (forecast["total_cost_p50"] <= forecast["total_cost_p95"] + 1e-6).all()
    assert {"last_cycle", "norm", "guideline"} <= set(
        forecast.filter(pl.col("organization") == Z)["scenario"]
    )
    assert "guideline" not in set(forecast.filter(pl.col("organization") == V)["scenario"])
    whatif_rows = q("SELECT DISTINCT scenario FROM marts.budget_whatif")
    assert whatif_rows.height >= 1


def test_people_are_the_full_join_of_evaluations_and_payroll_also_shuffled_and_repeated() -> None:
    ev = evaluations(
        [
            {"employee_id": f"e{i:03d}", "department": None if i % 7 == 0 else "A", "fte": 0.8}
            for i in range(30)
        ]
        + [{"employee_id": None, "department": "B"}]
    )
    pay = payroll(
        [
            {
                "employee_id": f"e{i:03d}",
                "department": "P",
                "annual_salary": 30000.0 + i,
                "fte": 0.5 + i % 2 / 2,
            }
            for i in range(10, 45)
        ]
        + [{"employee_id": None, "annual_salary": 1.0}]
    ).sample(fraction=1.0, shuffle=True, seed=4)

    def full_join(pay: pl.DataFrame) -> pl.DataFrame:  # the definition
        ev_ = ev.with_columns(pl.lit(True).alias("evaluated"))
        pay_ = pay.rename({"department": "pay_department", "fte": "pay_fte"}).with_columns(
            pl.lit(True).alias("paid")
        )
        joined = ev_.join(pay_, on=mb.KEYS, how="full", coalesce=True)
        return joined.select(
            *mb.KEYS,
            pl.coalesce("department", "pay_department", pl.lit(mb.UNKNOWN_DEPARTMENT)).alias("department"),
            "gender",
            "rating",
            "salary_decision",
            "salary_system",
            pl.col("at_scale_maximum").fill_null(False),
            pl.col("evaluated").fill_null(False),
            pl.col("paid").fill_null(False),
            "salary_scale",
            "salary_step",
            "annual_salary",
            pl.coalesce("pay_fte", "fte").alias("fte"),
        )

    people = mb.people(ev, pay)
    assert people.height == 31 + 15 + 1
    assert people.head(ev.height)["employee_id"].equals(ev["employee_id"])  # the evaluations first, in order
    assert people.sort(pl.all(), nulls_last=True).equals(full_join(pay).sort(pl.all(), nulls_last=True))
    repeated = pl.concat([pay, pay.filter(pl.col("employee_id") == "e012")])
    assert (
        mb.people(ev, repeated)
        .sort(pl.all(), nulls_last=True)
        .equals(full_join(repeated).sort(pl.all(), nulls_last=True))
    )
    # awards are paired with those people alike (an award of someone unknown keeps an unknown department)
    aw = awards(
        [{"employee_id": f"e{i:03d}", "award_type": "output_bonus", "pct": 3.0} for i in (0, 12, 40, 99)]
    )
    costs = mb.incidental_costs(aw, people, zeeland_scales(), RZ).sort("employee_id")
    assert costs["department"].to_list() == [mb.UNKNOWN_DEPARTMENT, "A", "P", mb.UNKNOWN_DEPARTMENT]
