"""Process rules: conversations, self-evaluations, signatures, delivery and early re-evaluation.

F-1 planning conversation · F-2 conversation window and self-evaluation · F-4 signatures and delivery ·
F-5 early re-evaluation · Z-12 year-end conversation deadline. Dates come from the policy's `deadlines`
(and `compliance`) sections as `{month, day, year_offset}` relative to the cycle (the rated year).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from models.policy import Policy
from models.rules._base import (
    Tables,
    at,
    check,
    finding_rows,
    in_list,
    iso,
    rated,
    section,
)


# ------------------------------------------------------------------------------------------------ F-1
@check(
    "F-1",
    "planning_missing",
    severity="low",
    parameter="compliance.planning_window",
    lookup=section("compliance", "planning_window"),
    what_nl="Geen datum van het planningsgesprek bij een beoordeelde medewerker",
    what_en="No planning conversation date for a rated employee",
)
def planning_missing(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return finding_rows(
        t.evaluations,
        rated() & pl.col("planning_date").is_null(),
        ["Geen planningsgesprek geregistreerd voor dit evaluatiejaar."],
        ["No planning conversation recorded for this cycle."],
    )


@check(
    "F-1",
    "planning_outside_cycle",
    severity="low",
    parameter="compliance.planning_window",
    lookup=section("compliance", "planning_window"),
    what_nl="Planningsgesprek buiten de periode van het evaluatiejaar",
    what_en="Planning conversation outside the cycle's period",
)
def planning_outside(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    start, end = t.deadline(spec["from"]), t.deadline(spec["to"])
    date = pl.col("planning_date")
    return finding_rows(
        t.evaluations,
        (date < start) | (date > end),
        ["Planningsgesprek op ", iso(date), ", buiten de periode ", iso(start), " – ", iso(end), "."],
        ["Planning conversation on ", iso(date), ", outside the period ", iso(start), " – ", iso(end), "."],
    )


# ------------------------------------------------------------------------------------------------ F-2
@check(
    "F-2",
    "conversation_outside_window",
    severity="medium",
    parameter="deadlines.conversation_window",
    lookup=section("deadlines", "conversation_window"),
    what_nl="Evaluatiegesprek buiten de periode van het beleid",
    what_en="Evaluation conversation outside the window of the policy",
)
def conversation_outside_window(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    start, end = t.deadline(spec["from"]), t.deadline(spec["to"])
    date = pl.col("conversation_date")
    return finding_rows(
        t.evaluations,
        (date < start) | (date > end),
        ["Evaluatiegesprek op ", iso(date), ", buiten de periode ", iso(start), " – ", iso(end), "."],
        ["Evaluation conversation on ", iso(date), ", outside the window ", iso(start), " – ", iso(end), "."],
    )


@check(
    "F-2",
    "conversation_missing",
    severity="medium",
    parameter="deadlines.conversation_window",
    lookup=section("deadlines", "conversation_window"),
    what_nl="Beoordeling zonder datum van het evaluatiegesprek",
    what_en="Rating without an evaluation conversation date",
)
def conversation_missing_window(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return _conversation_missing(t)


def _conversation_missing(t: Tables) -> pl.LazyFrame:
    return finding_rows(
        t.evaluations,
        rated() & pl.col("conversation_date").is_null(),
        ["Beoordeling zonder datum van het evaluatiegesprek."],
        ["Rating without a date of the evaluation conversation."],
    )


@check(
    "F-2",
    "self_evaluation_missing",
    severity="low",
    parameter="compliance.self_evaluation_before_conversation",
    lookup=at("compliance", "self_evaluation_before_conversation"),
    what_nl="Geen zelfevaluatie bij een beoordeelde medewerker",
    what_en="No self-evaluation for a rated employee",
)
def self_evaluation_missing(t: Tables, value: Any, policy: Policy) -> pl.LazyFrame:
    return finding_rows(
        t.evaluations,
        rated() & pl.col("self_evaluation_date").is_null(),
        ["Geen zelfevaluatie ingevuld vóór het evaluatiegesprek."],
        ["No self-evaluation completed before the evaluation conversation."],
    )


@check(
    "F-2",
    "self_evaluation_after_conversation",
    severity="low",
    parameter="compliance.self_evaluation_before_conversation",
    lookup=at("compliance", "self_evaluation_before_conversation"),
    what_nl="Zelfevaluatie pas na het evaluatiegesprek",
    what_en="Self-evaluation completed after the evaluation conversation",
)
def self_evaluation_late(t: Tables, value: Any, policy: Policy) -> pl.LazyFrame:
    own, conv = pl.col("self_evaluation_date"), pl.col("conversation_date")
    return finding_rows(
        t.evaluations,
        own > conv,
        ["Zelfevaluatie op ", iso(own), ", na het evaluatiegesprek op ", iso(conv), "."],
        ["Self-evaluation on ", iso(own), ", after the evaluation conversation on ", iso(conv), "."],
    )


# ------------------------------------------------------------------------------------------------ F-4
def _late(column: str, spec: dict[str, Any], who_nl: str, who_en: str, t: Tables) -> pl.LazyFrame:
    date, due = pl.col(column), t.deadline(spec)
    return finding_rows(
        t.evaluations,
        date > due,
        [who_nl, " op ", iso(date), ", na de uiterste datum ", iso(due), "."],
        [who_en, " on ", iso(date), ", after the deadline ", iso(due), "."],
    )


def _missing(column: str, spec: dict[str, Any], what_nl: str, what_en: str, t: Tables) -> pl.LazyFrame:
    due = t.deadline(spec)
    return finding_rows(
        t.evaluations,
        rated() & pl.col(column).is_null(),
        [what_nl, " (uiterste datum ", iso(due), ")."],
        [what_en, " (deadline ", iso(due), ")."],
    )


@check(
    "F-4",
    "first_signature_late",
    severity="medium",
    parameter="deadlines.first_signature",
    lookup=section("deadlines", "first_signature"),
    what_nl="1ste evaluator tekende na de uiterste datum",
    what_en="First evaluator signed after the deadline",
)
def first_signature_late(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return _late("first_signature_date", spec, "Handtekening 1ste evaluator", "First evaluator signed", t)


@check(
    "F-4",
    "first_signature_missing",
    severity="medium",
    parameter="deadlines.first_signature",
    lookup=section("deadlines", "first_signature"),
    what_nl="Verslag niet getekend door de 1ste evaluator",
    what_en="Report not signed by the first evaluator",
)
def first_signature_missing(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return _missing(
        "first_signature_date",
        spec,
        "Verslag niet getekend door de 1ste evaluator",
        "Report not signed by the first evaluator",
        t,
    )


@check(
    "F-4",
    "second_signature_late",
    severity="medium",
    parameter="deadlines.second_signature",
    lookup=section("deadlines", "second_signature"),
    what_nl="2de evaluator tekende na de uiterste datum",
    what_en="Second evaluator signed after the deadline",
)
def second_signature_late(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return _late("second_signature_date", spec, "Handtekening 2de evaluator", "Second evaluator signed", t)


@check(
    "F-4",
    "second_signature_missing",
    severity="medium",
    parameter="deadlines.second_signature",
    lookup=section("deadlines", "second_signature"),
    what_nl="Verslag niet getekend door de 2de evaluator",
    what_en="Report not signed by the second evaluator",
)
def second_signature_missing(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return _missing(
        "second_signature_date",
        spec,
        "Verslag niet getekend door de 2de evaluator",
        "Report not signed by the second evaluator",
        t,
    )


@check(
    "F-4",
    "delivery_late",
    severity="medium",
    parameter="deadlines.delivery",
    lookup=section("deadlines", "delivery"),
    what_nl="Verslag na de uiterste datum aan de medewerker bezorgd",
    what_en="Report delivered to the employee after the deadline",
)
def delivery_late(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return _late("delivery_date", spec, "Verslag bezorgd", "Report delivered", t)


@check(
    "F-4",
    "delivery_missing",
    severity="medium",
    parameter="deadlines.delivery",
    lookup=section("deadlines", "delivery"),
    what_nl="Verslag niet aan de medewerker bezorgd",
    what_en="Report not delivered to the employee",
)
def delivery_missing(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return _missing(
        "delivery_date",
        spec,
        "Verslag niet aan de medewerker bezorgd",
        "Report not delivered to the employee",
        t,
    )


# ------------------------------------------------------------------------------------------------ F-5
@check(
    "F-5",
    "early_reevaluation_too_early",
    severity="medium",
    parameter="deadlines.early_reevaluation_min_months",
    lookup=at("deadlines", "early_reevaluation_min_months"),
    what_nl="Vervroegde evaluatie vóór de maand na de kennisname die het beleid toelaat (of kennisname onbekend)",
    what_en="Early re-evaluation before the month after notice the policy allows (or notice date unknown)",
)
def early_reevaluation_too_early(t: Tables, months: Any, policy: Policy) -> pl.LazyFrame:
    # "vanaf de 6de maand die volgt op de datum van kennisname": the 6th calendar month after the month of
    # notice, i.e. from its first day (notice on 12 March, 6 months -> from 1 September).
    early, notice = pl.col("early_reevaluation_date"), pl.col("notice_date")
    earliest = notice.dt.month_start().dt.offset_by(f"{int(months)}mo")
    no_notice = early.is_not_null() & notice.is_null()
    too_early = early < earliest
    return finding_rows(
        t.evaluations.filter(early.is_not_null()),
        no_notice | too_early,
        [
            pl.when(no_notice)
            .then(pl.lit("Vervroegde evaluatie zonder datum van kennisname van het verslag."))
            .otherwise(
                pl.concat_str(
                    [
                        pl.lit("Vervroegde evaluatie op "),
                        iso(early),
                        pl.lit(f", vóór de {int(months)}de maand na de kennisname (ten vroegste "),
                        iso(earliest),
                        pl.lit(")."),
                    ]
                )
            )
        ],
        [
            pl.when(no_notice)
            .then(pl.lit("Early re-evaluation without the date the employee took notice of the report."))
            .otherwise(
                pl.concat_str(
                    [
                        pl.lit("Early re-evaluation on "),
                        iso(early),
                        pl.lit(f", before month {int(months)} after notice (earliest "),
                        iso(earliest),
                        pl.lit(")."),
                    ]
                )
            )
        ],
    )


@check(
    "F-5",
    "early_reevaluation_without_insufficient",
    severity="medium",
    parameter="compliance.early_reevaluation_after",
    lookup=at("compliance", "early_reevaluation_after"),
    what_nl="Vervroegde evaluatie zonder voorafgaande 'onvoldoende'",
    what_en="Early re-evaluation without a preceding 'onvoldoende'",
)
def early_reevaluation_rating(t: Tables, ratings: list[str], policy: Policy) -> pl.LazyFrame:
    allowed = ", ".join(ratings)
    return finding_rows(
        t.evaluations,
        pl.col("early_reevaluation_date").is_not_null() & ~in_list("rating", ratings).fill_null(False),
        [
            "Vervroegde evaluatie na de beoordeling '",
            pl.col("rating"),
            "'; alleen toegestaan na: ",
            allowed,
            ".",
        ],
        ["Early re-evaluation after the rating '", pl.col("rating"), "'; only allowed after: ", allowed, "."],
    )


# ------------------------------------------------------------------------------------------------ Z-12
@check(
    "Z-12",
    "conversation_late",
    severity="medium",
    parameter="deadlines.conversation_deadline",
    lookup=section("deadlines", "conversation_deadline"),
    what_nl="Jaargesprek na de uiterste datum",
    what_en="Year-end conversation after the deadline",
)
def conversation_late(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    date, due = pl.col("conversation_date"), t.deadline(spec)
    return finding_rows(
        t.evaluations,
        date > due,
        ["Jaargesprek op ", iso(date), ", na de uiterste datum ", iso(due), "."],
        ["Year-end conversation on ", iso(date), ", after the deadline ", iso(due), "."],
    )


@check(
    "Z-12",
    "conversation_missing",
    severity="medium",
    parameter="deadlines.conversation_deadline",
    lookup=section("deadlines", "conversation_deadline"),
    what_nl="Beoordeling zonder datum van het jaargesprek",
    what_en="Rating without a year-end conversation date",
)
def conversation_missing_deadline(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return _conversation_missing(t)
