"""Rule findings, process status and the publication list (issue 6).

Every check of models.rules gets a failing and a passing example on a small hand-built frame, compared
exactly with the whole set of findings (so an example that trips a second rule by accident fails too). The
passing example is the nearest compliant case, mostly the boundary (the deadline day itself). One integration
test runs on the sample pipeline and finds the planted breaches.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest

from models.config import PROJECT_ROOT, load_settings
from models.policy import Policy, policy_for
from models.process_status import COUNTS, process_status
from models.pseudonym import load_key, pseudonymise_value
from models.publication import export_publication_list, neutralise, publication_list, xlsx_bytes
from models.rules import CHECKS, FINDINGS_SCHEMA, RULES, compliance_findings, enabled_checks

SETTINGS = load_settings(PROJECT_ROOT / "calibra.yaml")
PLOEG = policy_for(SETTINGS, "vo-demo")
ZEELAND = policy_for(SETTINGS, "zeeland-demo")
POLICIES = {"vo-demo": PLOEG, "zeeland-demo": ZEELAND}
D = dt.date

# ------------------------------------------------------------------------------------------ base rows
# A PLOEG evaluation that follows every rule (cycle 2024: conversation Dec-Mar, signatures by 15/31 March).
PLOEG_ROW: dict[str, Any] = {
    "organization": "vo-demo",
    "cycle": 2024,
    "employee_id": "e1",
    "department": "Wegen",
    "function_level": "B",
    "evaluator_id": "m1",
    "rating": "voldoende",
    "salary_decision": 1,
    "salary_system": "evaluatie",
    "employment_type": "contractueel",
    "fte": 1.0,
    "hire_date": D(2015, 1, 1),
    "planning_date": D(2024, 2, 1),
    "self_evaluation_date": D(2025, 1, 10),
    "conversation_date": D(2025, 1, 15),
    "first_signature_date": D(2025, 2, 1),
    "second_signature_date": D(2025, 2, 10),
    "delivery_date": D(2025, 2, 12),
    "notice_date": D(2025, 2, 14),
    "appeal_filed": False,
    "contest_filed": False,
}
# A Zeeland evaluation that follows every rule (conversation by 1 March, both argumentations present).
ZEELAND_ROW: dict[str, Any] = {
    "organization": "zeeland-demo",
    "cycle": 2024,
    "employee_id": "e1",
    "department": "Economie",
    "function_level": "S08",
    "evaluator_id": "m1",
    "rating": "normaal",
    "grade": 7.0,
    "employment_type": "contractueel",
    "fte": 0.8,
    "months_in_service": 60.0,
    "conversation_date": D(2025, 2, 1),
    "at_scale_maximum": False,
    "argument_competences": "Werkt goed samen.",
    "argument_results": "Afspraken gehaald.",
}
STRUCTURAL = {"award_type": "structural", "pct": 3.0}
PAYROLL = {"salary_scale": "8", "annual_salary": 48_000.0, "fte": 0.8}
SCALES = [
    {"organization": "zeeland-demo", "salary_scale": "8", "point": "minimum", "annual_amount": 30_000.0},
    {"organization": "zeeland-demo", "salary_scale": "8", "point": "maximum", "annual_amount": 50_000.0},
    {"organization": "zeeland-demo", "salary_scale": "9", "point": "maximum", "annual_amount": 52_000.0},
]
OUTPUT_BONUS = {"award_type": "output_bonus", "pct": 3.0, "argumentation": "Extra resultaat"}
MOBILITY = {
    "award_type": "mobility",
    "amount": 800.0,  # 1000 net x fte 0.8
    "amount_basis": "netto",
    "move_type": "horizontaal",
    "move_reason": "eigen_initiatief",
    "argumentation": "Overstap op eigen initiatief",
}
ALLOWANCE = {
    "award_type": "labour_market_allowance",
    "pct": 8.0,
    "duration_months": 36,
    "argumentation": "Krappe arbeidsmarkt",
}


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame | None:
    return pl.DataFrame(rows, infer_schema_length=None) if rows else None


def run(
    org: str,
    evaluation: dict[str, Any] | None = None,
    awards: list[dict[str, Any]] | None = None,
    payroll: dict[str, Any] | None = None,
    extra_evaluations: list[dict[str, Any]] | None = None,
) -> pl.DataFrame:
    """Findings for one employee e1 (plus extra people) of one organisation."""
    base = PLOEG_ROW if org == "vo-demo" else ZEELAND_ROW
    evaluations = [{**base, **(evaluation or {})}, *(extra_evaluations or [])]
    keys = {"organization": org, "cycle": 2024}
    award_rows = [{**keys, "employee_id": "e1", **a} for a in (awards or [])]
    pay_rows = [{**keys, "employee_id": e["employee_id"], **PAYROLL, **(payroll or {})} for e in evaluations]
    return compliance_findings(
        {org: POLICIES[org]},
        evaluations=_frame(evaluations),
        awards=_frame(award_rows),
        payroll=_frame(pay_rows) if org == "zeeland-demo" else None,
        salary_scales=_frame(SCALES) if org == "zeeland-demo" else None,
    )


def found(frame: pl.DataFrame) -> set[tuple[str, str, str]]:
    return {(r["employee_id"], r["rule"], r["check"]) for r in frame.iter_rows(named=True)}


# (id, organisation, failing case, passing case, findings of the failing case). A case is a dict of run()
# arguments. Every failing case must give exactly the listed findings, every passing case none at all.
Case = dict[str, Any]
CASES: list[tuple[str, str, Case, Case, set[tuple[str, str, str]]]] = [
    # F-1 planning conversation
    (
        "F-1 missing",
        "vo-demo",
        {"evaluation": {"planning_date": None}},
        {},
        {("e1", "F-1", "planning_missing")},
    ),
    (
        "F-1 outside cycle",
        "vo-demo",
        {"evaluation": {"planning_date": D(2025, 1, 2)}},
        {"evaluation": {"planning_date": D(2024, 12, 31)}},
        {("e1", "F-1", "planning_outside_cycle")},
    ),
    # F-2 conversation window 1 December - 31 March, self-evaluation before the conversation
    (
        "F-2 before window",
        "vo-demo",
        {"evaluation": {"conversation_date": D(2024, 11, 30), "self_evaluation_date": D(2024, 11, 1)}},
        {"evaluation": {"conversation_date": D(2024, 12, 1), "self_evaluation_date": D(2024, 11, 1)}},
        {("e1", "F-2", "conversation_outside_window")},
    ),
    (
        "F-2 after window",
        "vo-demo",
        {"evaluation": {"conversation_date": D(2025, 4, 1)}},
        {"evaluation": {"conversation_date": D(2025, 3, 31)}},
        {("e1", "F-2", "conversation_outside_window")},
    ),
    (
        "F-2 no conversation",
        "vo-demo",
        {"evaluation": {"conversation_date": None}},
        {"evaluation": {"conversation_date": None, "rating": None, "salary_decision": None}},
        {("e1", "F-2", "conversation_missing")},
    ),
    (
        "F-2 no self-evaluation",
        "vo-demo",
        {"evaluation": {"self_evaluation_date": None}},
        {},
        {("e1", "F-2", "self_evaluation_missing")},
    ),
    (
        "F-2 self-evaluation after the conversation",
        "vo-demo",
        {"evaluation": {"self_evaluation_date": D(2025, 1, 16)}},
        {"evaluation": {"self_evaluation_date": D(2025, 1, 15)}},
        {("e1", "F-2", "self_evaluation_after_conversation")},
    ),
    # F-3 / F-8 loopbaanvertraging only for statutory staff in the seniority system
    (
        "F-3 career delay for contractual staff",
        "vo-demo",
        {
            "evaluation": {
                "rating": "loopbaanvertraging",
                "salary_system": "anciennitet",
                "salary_decision": None,
            }
        },
        {
            "evaluation": {
                "rating": "loopbaanvertraging",
                "salary_system": "anciennitet",
                "salary_decision": None,
                "employment_type": "statutair",
            }
        },
        {("e1", "F-3", "rating_not_allowed_for_staff")},
    ),
    (
        "F-3 career delay in the evaluation-based system",
        "vo-demo",
        {
            "evaluation": {
                "rating": "loopbaanvertraging",
                "employment_type": "statutair",
                "salary_decision": 0,
            }
        },
        {
            "evaluation": {
                "rating": "loopbaanvertraging",
                "employment_type": "statutair",
                "salary_system": "anciennitet",
                "salary_decision": None,
            }
        },
        {("e1", "F-3", "rating_not_allowed_for_staff")},
    ),
    (
        "F-8 seniority system after the cut-off",
        "vo-demo",
        {"evaluation": {"salary_system": "anciennitet", "salary_decision": None, "hire_date": D(2024, 6, 1)}},
        {
            "evaluation": {
                "salary_system": "anciennitet",
                "salary_decision": None,
                "hire_date": D(2024, 5, 31),
            }
        },
        {("e1", "F-8", "seniority_system_after_cutoff")},
    ),
    # F-4 signatures by 15 and 31 March, delivery by 31 March
    (
        "F-4 first signature late",
        "vo-demo",
        {"evaluation": {"first_signature_date": D(2025, 3, 16)}},
        {"evaluation": {"first_signature_date": D(2025, 3, 15)}},
        {("e1", "F-4", "first_signature_late")},
    ),
    (
        "F-4 first signature missing",
        "vo-demo",
        {"evaluation": {"first_signature_date": None}},
        {},
        {("e1", "F-4", "first_signature_missing")},
    ),
    (
        "F-4 second signature late",
        "vo-demo",
        {"evaluation": {"second_signature_date": D(2025, 4, 1)}},
        {"evaluation": {"second_signature_date": D(2025, 3, 31)}},
        {("e1", "F-4", "second_signature_late")},
    ),
    (
        "F-4 second signature missing",
        "vo-demo",
        {"evaluation": {"second_signature_date": None}},
        {},
        {("e1", "F-4", "second_signature_missing")},
    ),
    (
        "F-4 delivered late",
        "vo-demo",
        {"evaluation": {"delivery_date": D(2025, 4, 1)}},
        {"evaluation": {"delivery_date": D(2025, 3, 31)}},
        {("e1", "F-4", "delivery_late")},
    ),
    (
        "F-4 not delivered",
        "vo-demo",
        {"evaluation": {"delivery_date": None}},
        {},
        {("e1", "F-4", "delivery_missing")},
    ),
    # F-5 early re-evaluation from the 6th month after notice, only after onvoldoende
    (
        "F-5 too early",
        "vo-demo",
        {
            "evaluation": {
                "rating": "onvoldoende",
                "salary_decision": 0,
                "notice_date": D(2025, 3, 12),
                "early_reevaluation_date": D(2025, 8, 31),
            }
        },
        {
            "evaluation": {
                "rating": "onvoldoende",
                "salary_decision": 0,
                "notice_date": D(2025, 3, 12),
                "early_reevaluation_date": D(2025, 9, 1),
            }
        },
        {("e1", "F-5", "early_reevaluation_too_early")},
    ),
    (
        "F-5 without notice date",
        "vo-demo",
        {
            "evaluation": {
                "rating": "onvoldoende",
                "salary_decision": 0,
                "notice_date": None,
                "early_reevaluation_date": D(2025, 12, 1),
            }
        },
        {
            "evaluation": {
                "rating": "onvoldoende",
                "salary_decision": 0,
                "early_reevaluation_date": D(2025, 12, 1),
            }
        },
        {("e1", "F-5", "early_reevaluation_too_early")},
    ),
    (
        "F-5 after voldoende",
        "vo-demo",
        {"evaluation": {"early_reevaluation_date": D(2025, 10, 1)}},
        {
            "evaluation": {
                "rating": "onvoldoende",
                "salary_decision": 0,
                "early_reevaluation_date": D(2025, 10, 1),
            }
        },
        {("e1", "F-5", "early_reevaluation_without_insufficient")},
    ),
    # F-9 / F-10 salary decision
    (
        "F-9 no salary decision",
        "vo-demo",
        {"evaluation": {"salary_decision": None}},
        {},
        {("e1", "F-9", "salary_decision_missing")},
    ),
    (
        "F-9 salary decision in the seniority system",
        "vo-demo",
        {"evaluation": {"salary_system": "anciennitet", "salary_decision": 1}},
        {"evaluation": {"salary_system": "anciennitet", "salary_decision": None}},
        {("e1", "F-9", "salary_decision_outside_system")},
    ),
    (
        "F-10 onvoldoende with step 1",
        "vo-demo",
        {"evaluation": {"rating": "onvoldoende", "salary_decision": 1}},
        {"evaluation": {"rating": "onvoldoende", "salary_decision": 0}},
        {("e1", "F-10", "salary_decision_not_zero")},
    ),
    # F-11 appeal and contest
    (
        "F-11 appeal by contractual staff",
        "vo-demo",
        {"evaluation": {"rating": "onvoldoende", "salary_decision": 0, "appeal_filed": True}},
        {
            "evaluation": {
                "rating": "onvoldoende",
                "salary_decision": 0,
                "appeal_filed": True,
                "employment_type": "statutair",
                "appeal_outcome": "lopend",
            }
        },
        {("e1", "F-11", "appeal_not_eligible")},
    ),
    (
        "F-11 appeal against voldoende",
        "vo-demo",
        {"evaluation": {"employment_type": "statutair", "appeal_filed": True}},
        {"evaluation": {"employment_type": "statutair"}},
        {("e1", "F-11", "appeal_not_eligible")},
    ),
    (
        "F-11 outcome without appeal",
        "vo-demo",
        {"evaluation": {"appeal_outcome": "gegrond"}},
        {},
        {("e1", "F-11", "appeal_outcome_without_appeal")},
    ),
    (
        "F-11 contest without step 0",
        "vo-demo",
        {"evaluation": {"contest_filed": True}},
        {"evaluation": {"contest_filed": True, "salary_decision": 0}},
        {("e1", "F-11", "contest_not_eligible")},
    ),
    (
        "F-11 contest after an unsuccessful appeal",
        "vo-demo",
        {
            "evaluation": {
                "rating": "onvoldoende",
                "salary_decision": 0,
                "employment_type": "statutair",
                "appeal_filed": True,
                "appeal_outcome": "ongegrond",
                "contest_filed": True,
            }
        },
        {
            "evaluation": {
                "rating": "onvoldoende",
                "salary_decision": 0,
                "employment_type": "statutair",
                "appeal_filed": True,
                "appeal_outcome": "gegrond",
                "contest_filed": True,
            }
        },
        {("e1", "F-11", "contest_after_unsuccessful_appeal")},
    ),
    # F-7 performance allowance: 0-15 %, level D 5-15 %
    (
        "F-7 allowance above 15 %",
        "vo-demo",
        {"awards": [{"award_type": "performance_allowance", "pct": 15.5}]},
        {"awards": [{"award_type": "performance_allowance", "pct": 15.0}]},
        {("e1", "F-7", "award_pct_not_allowed")},
    ),
    (
        "F-7 level D below 5 %",
        "vo-demo",
        {
            "evaluation": {"function_level": "D"},
            "awards": [{"award_type": "performance_allowance", "pct": 4.0}],
        },
        {
            "evaluation": {"function_level": "D"},
            "awards": [{"award_type": "performance_allowance", "pct": 5.0}],
        },
        {("e1", "F-7", "award_pct_not_allowed")},
    ),
    # Z-12 year-end conversation by 1 March
    (
        "Z-12 conversation late",
        "zeeland-demo",
        {"evaluation": {"conversation_date": D(2025, 3, 2)}},
        {"evaluation": {"conversation_date": D(2025, 3, 1)}},
        {("e1", "Z-12", "conversation_late")},
    ),
    (
        "Z-12 no conversation",
        "zeeland-demo",
        {"evaluation": {"conversation_date": None}},
        {},
        {("e1", "Z-12", "conversation_missing")},
    ),
    # Z-2 structural percentage and grade band of the rating
    (
        "Z-2 structural pct",
        "zeeland-demo",
        {"awards": [{**STRUCTURAL, "pct": 4.0}]},
        {"awards": [STRUCTURAL]},
        {("e1", "Z-2", "structural_pct_mismatch")},
    ),
    (
        "Z-2 structural raise without rating",
        "zeeland-demo",
        {"evaluation": {"rating": None}, "awards": [STRUCTURAL]},
        {"awards": [STRUCTURAL]},
        {("e1", "Z-2", "structural_without_rating"), ("e1", "Z-11", "rating_missing")},
    ),
    (
        "Z-2 grade above the band",
        "zeeland-demo",
        {"evaluation": {"grade": 8.0}},
        {"evaluation": {"grade": 6.0}},
        {("e1", "Z-2", "grade_outside_rating_band")},
    ),
    (
        "Z-2 grade above an open-ended band",
        "zeeland-demo",
        {"evaluation": {"rating": "slecht", "grade": 4.5}, "awards": [{**STRUCTURAL, "pct": 0.0}]},
        {"evaluation": {"rating": "slecht", "grade": 1.0}, "awards": [{**STRUCTURAL, "pct": 0.0}]},
        {("e1", "Z-2", "grade_outside_rating_band")},
    ),
    # Z-3 scale maximum
    (
        "Z-3 raise at the maximum",
        "zeeland-demo",
        {"evaluation": {"at_scale_maximum": True}, "awards": [STRUCTURAL]},
        {"evaluation": {"at_scale_maximum": True}, "awards": [{**STRUCTURAL, "pct": 0.0}]},
        {("e1", "Z-3", "raise_at_scale_maximum")},
    ),
    (
        "Z-3 raise past the maximum",
        "zeeland-demo",
        {"awards": [STRUCTURAL], "payroll": {"annual_salary": 49_000.0}},  # 50,470 > 50,000
        {"awards": [STRUCTURAL], "payroll": {"annual_salary": 48_500.0}},  # 49,955
        {("e1", "Z-3", "raise_above_scale_maximum")},
    ),
    # Z-4 incidental percentages
    (
        "Z-4 output bonus 4 %",
        "zeeland-demo",
        {"awards": [STRUCTURAL, {**OUTPUT_BONUS, "pct": 4.0}]},
        {"awards": [STRUCTURAL, {**OUTPUT_BONUS, "pct": 7.0}]},
        {("e1", "Z-4", "award_pct_not_allowed")},
    ),
    (
        "Z-4 bonus without percentage",
        "zeeland-demo",
        {"awards": [STRUCTURAL, {**OUTPUT_BONUS, "pct": None}]},
        {"awards": [STRUCTURAL, OUTPUT_BONUS]},
        {("e1", "Z-4", "award_pct_not_allowed")},
    ),
    # Z-5 group rewards: equal and at least 250 net
    (
        "Z-5 below the minimum",
        "zeeland-demo",
        {
            "awards": [
                {
                    "award_type": "group_reward",
                    "amount": 249.0,
                    "amount_basis": "netto",
                    "group_id": "G1",
                    "argumentation": "Team",
                }
            ]
        },
        {
            "awards": [
                {
                    "award_type": "group_reward",
                    "amount": 250.0,
                    "amount_basis": "netto",
                    "group_id": "G1",
                    "argumentation": "Team",
                }
            ]
        },
        {("e1", "Z-5", "group_amount_below_minimum")},
    ),
    (
        "Z-5 gross amount below the net minimum",
        "zeeland-demo",
        {
            "awards": [
                {
                    "award_type": "group_reward",
                    "amount": 400.0,
                    "amount_basis": "bruto",
                    "group_id": "G1",
                    "argumentation": "Team",
                }
            ]
        },  # 400 / 1.95 = 205 net
        {
            "awards": [
                {
                    "award_type": "group_reward",
                    "amount": 500.0,
                    "amount_basis": "bruto",
                    "group_id": "G1",
                    "argumentation": "Team",
                }
            ]
        },  # 256 net
        {("e1", "Z-5", "group_amount_below_minimum")},
    ),
    (
        "Z-5 without group",
        "zeeland-demo",
        {
            "awards": [
                {
                    "award_type": "group_reward",
                    "amount": 300.0,
                    "amount_basis": "netto",
                    "argumentation": "Team",
                }
            ]
        },
        {
            "awards": [
                {
                    "award_type": "group_reward",
                    "amount": 300.0,
                    "amount_basis": "netto",
                    "group_id": "G1",
                    "argumentation": "Team",
                }
            ]
        },
        {("e1", "Z-5", "group_amount_unequal")},
    ),
    # Z-6 mobility: 1000 net pro rata, horizontal or lower, own initiative
    (
        "Z-6 full amount for part-time",
        "zeeland-demo",
        {"awards": [STRUCTURAL, {**MOBILITY, "amount": 1000.0}]},
        {"awards": [STRUCTURAL, MOBILITY]},
        {("e1", "Z-6", "mobility_amount_wrong")},
    ),
    (
        "Z-6 move to a higher scale",
        "zeeland-demo",
        {"awards": [STRUCTURAL, {**MOBILITY, "move_type": "hoger"}]},
        {"awards": [STRUCTURAL, {**MOBILITY, "move_type": "lager"}]},
        {("e1", "Z-6", "mobility_move_type_not_allowed")},
    ),
    (
        "Z-6 move in a reorganisation",
        "zeeland-demo",
        {"awards": [STRUCTURAL, {**MOBILITY, "move_reason": "reorganisatie"}]},
        {"awards": [STRUCTURAL, MOBILITY]},
        {("e1", "Z-6", "mobility_reason_not_allowed")},
    ),
    # Z-7 labour-market allowance: at most 10 %, 36 months, below the next scale's maximum
    (
        "Z-7 allowance above 10 %",
        "zeeland-demo",
        {"awards": [STRUCTURAL, {**ALLOWANCE, "pct": 10.5}], "payroll": {"annual_salary": 40_000.0}},
        {"awards": [STRUCTURAL, {**ALLOWANCE, "pct": 10.0}], "payroll": {"annual_salary": 40_000.0}},
        {("e1", "Z-7", "award_pct_not_allowed")},
    ),
    (
        "Z-7 allowance too long",
        "zeeland-demo",
        {"awards": [STRUCTURAL, {**ALLOWANCE, "duration_months": 37}]},
        {"awards": [STRUCTURAL, ALLOWANCE]},
        {("e1", "Z-7", "allowance_duration_too_long")},
    ),
    (
        "Z-7 above the next scale's maximum",
        "zeeland-demo",
        {"awards": [STRUCTURAL, {**ALLOWANCE, "pct": 10.0}]},  # 48,000 x 1.10 = 52,800 > 52,000
        {"awards": [STRUCTURAL, ALLOWANCE]},  # 48,000 x 1.08 = 51,840
        {("e1", "Z-7", "allowance_above_next_scale_maximum")},
    ),
    # Z-8 argumentation
    (
        "Z-8 results not argued",
        "zeeland-demo",
        {"evaluation": {"argument_results": "   "}},
        {},
        {("e1", "Z-8", "argumentation_missing")},
    ),
    (
        "Z-8 incidental reward not argued",
        "zeeland-demo",
        {"awards": [STRUCTURAL, {**OUTPUT_BONUS, "argumentation": None}]},
        {"awards": [STRUCTURAL, OUTPUT_BONUS]},
        {("e1", "Z-8", "incidental_argumentation_missing")},
    ),
    # Z-11 absence
    (
        "Z-11 rated during long parental leave",
        "zeeland-demo",
        {"evaluation": {"absence_type": "ouderschapsverlof", "absence_months": 6.5}},
        {"evaluation": {"absence_type": "ouderschapsverlof", "absence_months": 6.0}},
        {("e1", "Z-11", "rating_during_chosen_leave")},
    ),
    (
        "Z-11 reward during a sabbatical",
        "zeeland-demo",
        {
            "evaluation": {"rating": None, "absence_type": "sabbatical", "absence_months": 9.0},
            "awards": [OUTPUT_BONUS],
        },
        {"evaluation": {"rating": None, "absence_type": "sabbatical", "absence_months": 9.0}},
        {("e1", "Z-11", "reward_during_chosen_leave")},
    ),
    (
        "Z-11 no rating during illness",
        "zeeland-demo",
        {"evaluation": {"rating": None, "grade": None, "absence_type": "ziekte", "absence_months": 8.0}},
        {"evaluation": {"absence_type": "ziekte", "absence_months": 8.0}},
        {("e1", "Z-11", "rating_missing")},
    ),
    (
        "Z-11 rated on short presence",
        "zeeland-demo",
        {"evaluation": {"absence_type": "overig", "absence_months": 7.0}},
        {"evaluation": {"absence_type": "zwangerschap", "absence_months": 7.0}},
        {("e1", "Z-11", "rating_on_short_presence")},
    ),
    # Z-15 agency workers follow the rules after 6 months
    (
        "Z-15 reward for a new agency worker",
        "zeeland-demo",
        {
            "evaluation": {"employment_type": "uitzendkracht", "months_in_service": 5.0},
            "awards": [STRUCTURAL],
        },
        {
            "evaluation": {"employment_type": "uitzendkracht", "months_in_service": 6.0},
            "awards": [STRUCTURAL],
        },
        {("e1", "Z-15", "reward_before_rules_apply")},
    ),
]


@functools.cache
def batch(which: str) -> dict[int, set[tuple[str, str, str]]]:
    """All failing (or all passing) cases at once: case i is employee c<i> with its own group ids, so the
    cases cannot influence each other; findings are mapped back to e1 per case. One run per organisation
    keeps the whole table of cases to a fraction of a second."""
    results: dict[int, set[tuple[str, str, str]]] = {i: set() for i in range(len(CASES))}
    for org in POLICIES:
        base = PLOEG_ROW if org == "vo-demo" else ZEELAND_ROW
        keys = {"organization": org, "cycle": 2024}
        evaluations, awards, payroll = [], [], []
        for i, (_, case_org, failing, passing, _) in enumerate(CASES):
            if case_org != org:
                continue
            case = failing if which == "failing" else passing
            person = f"c{i}"
            evaluations.append({**base, **case.get("evaluation", {}), "employee_id": person})
            for award in case.get("awards", []):
                group = {"group_id": f"{award['group_id']}-{person}"} if award.get("group_id") else {}
                awards.append({**keys, **award, **group, "employee_id": person})
            payroll.append({**keys, **PAYROLL, **case.get("payroll", {}), "employee_id": person})
        frame = compliance_findings(
            {org: POLICIES[org]},
            evaluations=_frame(evaluations),
            awards=_frame(awards),
            payroll=_frame(payroll) if org == "zeeland-demo" else None,
            salary_scales=_frame(SCALES) if org == "zeeland-demo" else None,
        )
        for employee, rule, name in found(frame):
            results[int(employee[1:])].add(("e1", rule, name))
    return results


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[0] for c in CASES])
def test_rule_fails_and_passes(index: int) -> None:
    assert batch("failing")[index] == CASES[index][4]
    assert batch("passing")[index] == set()


def test_cases_alone_give_the_same_findings_as_in_the_batch() -> None:
    """The batch is a shortcut, not a different test: a few cases run alone agree with it."""
    for index in (0, 10, 30, 45):
        _, org, failing, passing, expected = CASES[index]
        assert found(run(org, **failing)) == expected
        assert found(run(org, **passing)) == set()


def test_every_check_has_a_failing_example() -> None:
    tested = {(rule, name) for *_, expected in CASES for _, rule, name in expected}
    assert {(c.rule, c.name) for c in CHECKS} - tested == set()


def test_compliant_rows_give_no_findings() -> None:
    assert run("vo-demo").height == 0
    assert run("zeeland-demo", awards=[STRUCTURAL]).height == 0


def test_group_reward_unequal_reports_the_odd_member_or_everyone_on_a_tie() -> None:
    people = [{**ZEELAND_ROW, "employee_id": e} for e in ("e2", "e3")]

    def group(amounts: dict[str, float]) -> pl.DataFrame:
        rows = [
            {
                "organization": "zeeland-demo",
                "cycle": 2024,
                "employee_id": e,
                "award_type": "group_reward",
                "amount": a,
                "amount_basis": "netto",
                "group_id": "G1",
                "argumentation": "Team",
            }
            for e, a in amounts.items()
        ]
        return compliance_findings(
            {"zeeland-demo": ZEELAND},
            evaluations=pl.DataFrame([ZEELAND_ROW, *people]),
            awards=pl.DataFrame(rows),
        )

    odd = group({"e1": 250.0, "e2": 250.0, "e3": 350.0})
    assert found(odd) == {("e3", "Z-5", "group_amount_unequal")}
    assert odd.get_column("group_id").to_list() == ["G1"]
    assert odd.get_column("message_en").to_list() == [
        "Group reward of 350 netto differs from the other members' amount (250)."
    ]
    assert found(group({"e1": 250.0, "e2": 300.0})) == {
        ("e1", "Z-5", "group_amount_unequal"),
        ("e2", "Z-5", "group_amount_unequal"),
    }
    assert group({"e1": 300.0, "e2": 300.0, "e3": 300.0}).height == 0


def test_finding_rows_carry_department_severity_parameter_and_both_languages() -> None:
    frame = run("vo-demo", evaluation={"first_signature_date": D(2025, 3, 20)})
    assert frame.schema == pl.Schema(FINDINGS_SCHEMA)
    row = frame.row(0, named=True)
    assert row == {
        "organization": "vo-demo",
        "cycle": 2024,
        "department": "Wegen",
        "employee_id": "e1",
        "rule": "F-4",
        "check": "first_signature_late",
        "severity": "medium",
        "award_type": None,
        "group_id": None,
        "message_nl": "Handtekening 1ste evaluator op 2025-03-20, na de uiterste datum 2025-03-15.",
        "message_en": "First evaluator signed on 2025-03-20, after the deadline 2025-03-15.",
        "policy_id": "ploeg",
        "policy_version": PLOEG.version,
        "policy_parameter": "deadlines.first_signature",
    }
    award = run("zeeland-demo", awards=[{**STRUCTURAL, "pct": 6.0}]).row(0, named=True)
    assert (award["department"], award["award_type"], award["severity"]) == ("Economie", "structural", "high")
    assert award["message_nl"] == "Beoordeling 'normaal' geeft 3%; toegekend: 6%."


def test_checks_are_enabled_by_the_policy_sections_only() -> None:
    ploeg = {c.rule for c, _ in enabled_checks(PLOEG)}
    zeeland = {c.rule for c, _ in enabled_checks(ZEELAND)}
    assert all(r.startswith("F-") for r in ploeg - {"Z-4"})  # Z-4's check runs on PLOEG's allowance (F-7)
    assert all(r.startswith("Z-") for r in zeeland)
    assert {"F-1", "F-2", "F-3", "F-4", "F-5", "F-8", "F-9", "F-10", "F-11"} <= ploeg
    assert {"Z-2", "Z-3", "Z-4", "Z-5", "Z-6", "Z-7", "Z-8", "Z-11", "Z-12", "Z-15"} <= zeeland
    # Without its deadlines the Zeeland policy gets no Z-12 check, and a late conversation is no finding.
    raw = {k: v for k, v in ZEELAND.raw.items() if k != "deadlines"}
    trimmed = Policy(
        ZEELAND.id, ZEELAND.version, ZEELAND.name, ZEELAND.timezone, ZEELAND.ratings, ZEELAND.award_types, raw
    )
    assert "Z-12" not in {c.rule for c, _ in enabled_checks(trimmed)}
    late = pl.DataFrame([{**ZEELAND_ROW, "conversation_date": D(2025, 6, 1)}])
    assert compliance_findings({"zeeland-demo": ZEELAND}, evaluations=late).height == 1
    assert compliance_findings({"zeeland-demo": trimmed}, evaluations=late).height == 0


def test_rule_values_come_from_the_policy() -> None:
    """A later deadline in the policy moves the finding; the rule id follows the policy's annotation."""
    raw = dict(PLOEG.raw)
    raw["deadlines"] = {
        **PLOEG.raw["deadlines"],
        "first_signature": {"month": 3, "day": 20, "year_offset": 1, "rule": "X-9"},
    }
    moved = Policy(PLOEG.id, PLOEG.version, PLOEG.name, PLOEG.timezone, PLOEG.ratings, PLOEG.award_types, raw)
    rows = pl.DataFrame(
        [
            {**PLOEG_ROW, "employee_id": e, "first_signature_date": d}
            for e, d in (("e1", D(2025, 3, 20)), ("e2", D(2025, 3, 21)))
        ]
    )
    result = compliance_findings({"vo-demo": moved}, evaluations=rows)
    assert found(result) == {("e2", "X-9", "first_signature_late")}


def test_rule_ids_are_domain_ids() -> None:
    assert all(re.fullmatch(r"[FZ]-\d{1,2}", rule) for rule in RULES)
    assert len({(c.rule, c.name) for c in CHECKS}) == len(CHECKS)


def test_every_check_is_documented() -> None:
    doc = (PROJECT_ROOT / "docs" / "marts" / "compliance.md").read_text(encoding="utf-8")
    missing = [c.name for c in CHECKS if f"`{c.name}`" not in doc]
    assert missing == []
    assert all(f"`{count}`" in doc for count in COUNTS)


# ------------------------------------------------------------------------------------------ process status
def test_process_status_counts_and_shares() -> None:
    rows = [
        {**PLOEG_ROW, "employee_id": "a"},
        {**PLOEG_ROW, "employee_id": "b", "first_signature_date": D(2025, 3, 16), "planning_date": None},
        {
            **PLOEG_ROW,
            "employee_id": "c",
            "appeal_filed": True,
            "appeal_outcome": "gegrond",
            "conversation_date": D(2025, 4, 2),
        },
        {
            **PLOEG_ROW,
            "employee_id": "d",
            "rating": None,
            "delivery_date": None,
            "self_evaluation_date": None,
            "appeal_filed": True,
            "contest_filed": True,
        },
        {**PLOEG_ROW, "employee_id": "e", "department": "Data"},
        {**ZEELAND_ROW, "employee_id": "z1"},
        {
            **ZEELAND_ROW,
            "employee_id": "z2",
            "rating": None,
            "absence_type": "sabbatical",
            "absence_months": 8.0,
        },
        {
            **ZEELAND_ROW,
            "employee_id": "z3",
            "rating": None,
            "absence_type": "ziekte",
            "absence_months": 8.0,
            "conversation_date": D(2025, 3, 2),
        },
    ]
    status = process_status(POLICIES, pl.DataFrame(rows, infer_schema_length=None))
    assert status.get_column("department").to_list() == ["Data", "Wegen", "Economie"]
    wegen = status.row(1, named=True)
    assert {k: wegen[k] for k in ("n", *COUNTS)} == {
        "n": 4,
        "planning_held": 3,
        "self_evaluations_done": 3,
        "evaluations_in_window": 3,
        "first_signatures_on_time": 3,
        "second_signatures_on_time": 4,
        "reports_delivered": 3,
        "reports_delivered_on_time": 3,
        "appeals_filed": 2,
        "appeals_upheld": 1,
        "appeals_rejected": 0,
        "appeals_pending": 1,
        "contests_filed": 1,
        "ratings_missing": 1,
        "no_rating_absence": 0,
    }
    assert wegen["first_signatures_on_time_share"] == 0.75
    assert wegen["appeals_filed_share"] == 0.5
    zeeland = status.row(2, named=True)
    assert (zeeland["n"], zeeland["evaluations_in_window"], zeeland["ratings_missing"]) == (3, 2, 2)
    assert zeeland["no_rating_absence"] == 1  # the sabbatical, not the illness (Z-11)
    assert zeeland["no_rating_absence_share"] == pytest.approx(1 / 3)
    # Zeeland's policy has no signature deadlines, no planning rule and no appeal section: not applicable.
    for count in ("first_signatures_on_time", "planning_held", "appeals_filed", "reports_delivered"):
        assert zeeland[count] is None and zeeland[f"{count}_share"] is None


# ------------------------------------------------------------------------------------------ publication
def _publication() -> pl.DataFrame:
    keys = {"organization": "zeeland-demo", "cycle": 2024}
    awards = [
        {
            **keys,
            "employee_id": "e1",
            "award_type": "structural",
            "pct": 4.0,
            "argumentation": '=HYPERLINK("x")',
        },
        {**keys, "employee_id": "e2", "award_type": "structural", "pct": 3.0},
        {**keys, "employee_id": "e3", "award_type": "output_bonus", "pct": 3.0, "argumentation": "+31 dagen"},
        {
            **keys,
            "employee_id": "e4",
            "award_type": "group_reward",
            "amount": 250.0,
            "amount_basis": "netto",
            "group_id": "G1",
            "argumentation": "@team\tgoed",
        },
        {
            "organization": "vo-demo",
            "cycle": 2024,
            "employee_id": "v1",
            "award_type": "performance_allowance",
            "pct": 10.0,
            "argumentation": "Goed",
        },
    ]
    evaluations = [
        {
            **ZEELAND_ROW,
            "employee_id": "e1",
            "rating": "zeer_goed",
            "argument_competences": "-sterk",
            "argument_results": "\tveel",
        },
        {**ZEELAND_ROW, "employee_id": "e3", "argument_results": "\rterug", "department": "Financiën"},
    ]
    return publication_list(POLICIES, pl.DataFrame(awards), pl.DataFrame(evaluations))


def test_publication_list_holds_structural_above_3_and_all_incidental() -> None:
    pub = _publication()
    assert pub.select("employee_id", "award_type", "reason").rows() == [
        ("e1", "structural", "structural_above_3_pct"),
        ("e3", "output_bonus", "incidental"),
        ("e4", "group_reward", "incidental"),  # no evaluation row: department unknown, sorted last
    ]
    assert pub.get_column("department").to_list() == ["Economie", "Financiën", None]
    assert pub.get_column("award_label_nl").to_list() == [
        "Structurele beloning",
        "Outputbeloning",
        "Groepsbeloning",
    ]
    assert pub.get_column("organization").unique().to_list() == ["zeeland-demo"]  # PLOEG publishes nothing


def test_stale_exports_are_the_files_of_organisation_cycles_no_longer_published(tmp_path: Path) -> None:
    """After a run the export files name exactly the organisation-cycles of the whole mart: files of a cycle
    that left it (a whole rebuild after an organisation stopped publishing, or a cycle that lost its last
    row) hold personal data that is no longer published. Other files in the folder are not touched."""
    from models.publication import stale_exports

    pub = _publication()
    out_dir = tmp_path / "exports"
    export_publication_list(pub, out_dir)
    older = pub.with_columns(pl.lit(2023, pub.schema["cycle"]).alias("cycle"))
    other = pub.with_columns(pl.lit("vo-demo").alias("organization"))
    export_publication_list(pl.concat([older, other]), out_dir)
    (out_dir / "notes.csv").write_text("x")
    (out_dir / "publication_zeeland-demo_2024.csv.tmp").write_text("x")
    assert stale_exports(out_dir, pl.concat([pub, other])) == [
        out_dir / "publication_zeeland-demo_2023.csv",
        out_dir / "publication_zeeland-demo_2023.xlsx",
    ]
    assert stale_exports(out_dir, pub.clear()) == sorted(
        out_dir / f"publication_{org}_{cycle}.{suffix}"
        for org, cycle in [("zeeland-demo", 2023), ("zeeland-demo", 2024), ("vo-demo", 2024)]
        for suffix in ("csv", "xlsx")
    )
    assert stale_exports(tmp_path / "missing", pub) == []


def test_export_neutralises_formulas_in_csv_and_xlsx(tmp_path: Path) -> None:
    pub = _publication()
    written = export_publication_list(pub, tmp_path / "exports")
    csv_path = tmp_path / "exports" / "publication_zeeland-demo_2024.csv"
    xlsx_path = tmp_path / "exports" / "publication_zeeland-demo_2024.xlsx"
    assert written == [csv_path, xlsx_path]
    assert oct(csv_path.stat().st_mode & 0o777) == "0o600"

    expected = {
        ("e1", "argumentation"): '\'=HYPERLINK("x")',
        ("e1", "argument_competences"): "'-sterk",
        ("e1", "argument_results"): "'\tveel",
        ("e3", "argumentation"): "'+31 dagen",
        ("e3", "argument_results"): "'\rterug",
        ("e4", "argumentation"): "'@team\tgoed",  # the tab inside is no formula start
        ("e1", "department"): "Economie",
    }
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    from_csv = pl.read_csv(io.BytesIO(raw[3:]), separator=";", decimal_comma=True, infer_schema_length=None)
    for (employee, column), value in expected.items():
        assert from_csv.filter(pl.col("employee_id") == employee).get_column(column).item() == value
    assert from_csv.get_column("pct").to_list() == [4.0, 3.0, None]

    sheet = openpyxl.load_workbook(xlsx_path).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header, data = list(rows[0]), [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert header == pub.columns
    by_employee = {r["employee_id"]: r for r in data}
    for (employee, column), value in expected.items():
        assert by_employee[employee][column] == value
    assert by_employee["e1"]["pct"] == 4.0 and by_employee["e4"]["amount"] == 250.0
    assert by_employee["e1"]["incidental"] is False and by_employee["e1"]["amount"] is None
    for cell in (c for r in data for c in r.values() if isinstance(c, str)):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_neutralise_leaves_safe_text_and_numbers_alone() -> None:
    frame = pl.DataFrame({"t": ["a=b", "=1", None, " -x"], "n": [-1.5, 2.0, None, 0.0]})
    out = neutralise(frame)
    assert out.get_column("t").to_list() == ["a=b", "'=1", None, " -x"]
    assert out.get_column("n").to_list() == [-1.5, 2.0, None, 0.0]
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(pl.DataFrame({"x": ["<&>", " pad "]}))))
    assert [c.value for c in workbook.active["A"]] == ["x", "<&>", " pad "]  # type: ignore[index]


# ------------------------------------------------------------------------------------------ integration
def test_sample_run_finds_the_planted_breaches(sample_run: Any) -> None:
    """The planted late signatures, concentrated in their department, and the planted Zeeland breaches."""
    planted = {p["id"]: p for p in sample_run.manifest["planted"]}
    late = planted["vo_late_signatures"]
    department = late["unit"]["department"]
    share = sample_run.query(
        """SELECT e.department = ? AS planted,
                  count(DISTINCT concat(f.cycle, f.employee_id)) / count(DISTINCT concat(e.cycle, e.employee_id))
                  AS share
           FROM staging.evaluations e LEFT JOIN marts.compliance_findings f
             ON f.organization = e.organization AND f.cycle = e.cycle AND f.employee_id = e.employee_id
            AND f."check" = 'first_signature_late'
           WHERE e.organization = 'vo-demo' GROUP BY ALL ORDER BY planted""".replace(
            "?", "'" + department.replace("'", "''") + "'"
        )
    )
    others, in_planted = share.get_column("share").to_list()
    assert in_planted > 0.25 and in_planted > 4 * others
    worst = sample_run.query(
        """SELECT department FROM marts.process_status WHERE organization = 'vo-demo'
           GROUP BY department ORDER BY sum(first_signatures_on_time) / sum(n) LIMIT 1"""
    )
    assert worst.item() == department

    key = load_key()
    findings = sample_run.query(
        "SELECT organization, cycle, employee_id, rule, group_id FROM marts.compliance_findings"
    )
    planted_findings = [f for f in sample_run.manifest["planted_findings"] if f.get("employee_ids")]
    assert {f["id"] for f in planted_findings} >= {
        "zeeland_group_reward_unequal",
        "zeeland_mobility_invalid",
        "zeeland_structural_pct_mismatch",
        "zeeland_grade_rating_mismatch",
        "zeeland_missing_argumentation",
    }
    for entry in planted_findings:
        rules = entry["rule"].split("/")
        for raw_id in entry["employee_ids"]:
            pseudonym = pseudonymise_value(key, entry["organization"], raw_id)
            hit = findings.filter(
                (pl.col("organization") == entry["organization"])
                & (pl.col("cycle") == entry["cycle"])
                & (pl.col("employee_id") == pseudonym)
                & pl.col("rule").is_in(rules)
            )
            assert hit.height >= 1, entry["id"]
            if "group_id" in entry:
                assert entry["group_id"] in hit.get_column("group_id").to_list()

    status = sample_run.query(
        "SELECT organization, sum(n) AS n FROM marts.process_status GROUP BY ALL ORDER BY 1"
    )
    # Every evaluation is counted, except in a cycle the people of a small gender category that marts.fairness
    # leaves out (models.process_status: the process page's totals are over the shown categories).
    from models.fairness_intersections import left_out_categories
    from pipelines.assets.common import CyclePolicies

    gender_rows = sample_run.query("SELECT * FROM marts.fairness WHERE attribute = 'gender'")
    left_out = left_out_categories(gender_rows, CyclePolicies(sample_run.settings))
    assert left_out.height > 0, "the sample has a small gender category left out"
    staged = (
        sample_run.query("SELECT organization, cycle, gender FROM staging.evaluations")
        .join(left_out, on=["organization", "cycle", "gender"], how="anti")
        .group_by("organization")
        .agg(pl.len().alias("n"))
        .sort("organization")
    )
    assert [(o, int(n)) for o, n in status.rows()] == staged.rows()
    flagged = sample_run.query(
        "SELECT DISTINCT organization, cycle FROM marts.process_status WHERE others_left_out ORDER BY 1, 2"
    )
    assert (
        flagged.rows()
        == left_out.select("organization", "cycle").unique().sort("organization", "cycle").rows()
    )
    published = sample_run.query(
        "SELECT organization, cycle, count(*) AS n FROM marts.publication_list GROUP BY ALL"
    )
    assert published.get_column("organization").unique().to_list() == ["zeeland-demo"]
    exports = sample_run.settings.home / "exports"
    # the export files name exactly the mart's organisation-cycles
    assert sorted(p.name for p in exports.glob("publication_*")) == sorted(
        f"publication_zeeland-demo_{cycle}.{suffix}"
        for cycle in published.get_column("cycle").to_list()
        for suffix in ("csv", "xlsx")
    )
