"""Presence rules: absence and the rating (Z-11), temporary agency workers (Z-15)."""

from __future__ import annotations

from typing import Any

import polars as pl

from models.policy import Policy
from models.rules._base import Tables, check, finding_rows, in_list, number, rated, section


def _absence(policy: Policy) -> dict[str, Any] | None:
    spec = policy.section("absence")
    cycle_months = policy.typed.compliance.cycle_months
    if not spec or spec.get("min_presence_months") is None or cycle_months is None:
        return None
    return {
        "min_presence": float(spec["min_presence_months"]),
        "cycle_months": float(cycle_months),
        "leave": list(spec.get("no_rating_when_leave") or []),
        "required": list(spec.get("rating_required_when") or []),
    }


def _short(spec: dict[str, Any]) -> pl.Expr:
    """Present fewer months than the policy's minimum in the cycle."""
    return (spec["cycle_months"] - pl.col("absence_months").fill_null(0)) < spec["min_presence"]


def _chosen_leave(spec: dict[str, Any]) -> pl.Expr:
    return in_list("absence_type", spec["leave"]).fill_null(False) & _short(spec)


def _not_yet_under_rules(policy: Policy) -> pl.Expr:
    """Z-15: agency workers not yet under the organisation's pay rules (when the policy says so)."""
    spec = policy.section("temporary_workers")
    if not spec:
        return pl.lit(False)
    return (
        (pl.col("employment_type") == spec["employment_type"])
        & (pl.col("months_in_service") < float(spec["follow_rules_after_months"]))
    ).fill_null(False)


@check(
    "Z-11",
    "rating_during_chosen_leave",
    severity="high",
    parameter="absence.no_rating_when_leave, absence.min_presence_months",
    lookup=_absence,
    rule_path=("absence",),
    what_nl="Beoordeling gemaakt terwijl gekozen verlof (ouderschapsverlof, sabbatical) te weinig aanwezigheid liet",
    what_en="Rating made although chosen leave (parental leave, sabbatical) left too little presence",
)
def rating_during_leave(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return finding_rows(
        t.evaluations,
        rated() & _chosen_leave(spec),
        [
            pl.col("absence_type"),
            " van ",
            number(pl.col("absence_months")),
            f" maanden: minder dan {spec['min_presence']:g} maanden aanwezig, dus geen beoordeling.",
        ],
        [
            pl.col("absence_type"),
            " of ",
            number(pl.col("absence_months")),
            f" months: fewer than {spec['min_presence']:g} months present, so no rating.",
        ],
    )


@check(
    "Z-11",
    "reward_during_chosen_leave",
    severity="high",
    parameter="absence.no_rating_when_leave, absence.min_presence_months",
    lookup=_absence,
    rule_path=("absence",),
    what_nl="Beloning toegekend terwijl gekozen verlof te weinig aanwezigheid liet",
    what_en="Reward granted although chosen leave left too little presence",
)
def reward_during_leave(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return finding_rows(
        t.awards,
        _chosen_leave(spec),
        [
            "Beloning '",
            pl.col("award_type"),
            "' ondanks ",
            pl.col("absence_type"),
            " van ",
            number(pl.col("absence_months")),
            " maanden: geen beloningsbesluit dit jaar.",
        ],
        [
            "Reward '",
            pl.col("award_type"),
            "' despite ",
            pl.col("absence_type"),
            " of ",
            number(pl.col("absence_months")),
            " months: no reward decision this cycle.",
        ],
    )


@check(
    "Z-11",
    "rating_missing",
    severity="medium",
    parameter="absence.rating_required_when, absence.no_rating_when_leave",
    lookup=_absence,
    rule_path=("absence",),
    what_nl="Geen beoordeling, zonder gekozen verlof dat dat rechtvaardigt (bij ziekte of zwangerschap altijd beoordelen)",
    what_en="No rating without chosen leave that justifies it (illness or pregnancy: always rate)",
)
def rating_missing(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    required = in_list("absence_type", spec["required"]).fill_null(False)
    return finding_rows(
        t.evaluations,
        ~rated() & ~_chosen_leave(spec) & ~_not_yet_under_rules(policy),
        [
            pl.when(required)
            .then(
                pl.concat_str(
                    [
                        pl.lit("Geen beoordeling; bij "),
                        pl.col("absence_type"),
                        pl.lit(" moet altijd beoordeeld worden."),
                    ]
                )
            )
            .otherwise(pl.lit("Geen beoordeling, zonder gekozen verlof dat dat rechtvaardigt."))
        ],
        [
            pl.when(required)
            .then(
                pl.concat_str(
                    [
                        pl.lit("No rating; with "),
                        pl.col("absence_type"),
                        pl.lit(" a rating must always be made."),
                    ]
                )
            )
            .otherwise(pl.lit("No rating, without chosen leave that justifies it."))
        ],
    )


@check(
    "Z-11",
    "rating_on_short_presence",
    severity="low",
    parameter="absence.min_presence_months",
    lookup=_absence,
    rule_path=("absence",),
    what_nl="Beoordeling op minder dan de minimale aanwezigheid, bij afwezigheid die geen ziekte of zwangerschap is",
    what_en="Rating on less than the minimum presence, for absence other than illness or pregnancy",
)
def rating_on_short_presence(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    other = ~in_list("absence_type", spec["required"] + spec["leave"]).fill_null(False)
    return finding_rows(
        t.evaluations,
        rated() & pl.col("absence_months").is_not_null() & _short(spec) & other,
        [
            "Beoordeeld na ",
            number(pl.col("absence_months")),
            f" maanden afwezigheid; minder dan "
            f"{spec['min_presence']:g} maanden aanwezig is te weinig voor een gefundeerde beoordeling.",
        ],
        [
            "Rated after ",
            number(pl.col("absence_months")),
            f" months of absence; fewer than "
            f"{spec['min_presence']:g} months present is too little for a solid rating.",
        ],
    )


@check(
    "Z-15",
    "reward_before_rules_apply",
    severity="high",
    parameter="temporary_workers.employment_type, temporary_workers.follow_rules_after_months",
    lookup=section("temporary_workers"),
    what_nl="Beloning voor een uitzendkracht die nog niet lang genoeg in dienst is",
    what_en="Reward for an agency worker not yet in service long enough",
)
def reward_before_rules(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    after = float(spec["follow_rules_after_months"])
    return finding_rows(
        t.awards,
        _not_yet_under_rules(policy),
        [
            "Beloning '",
            pl.col("award_type"),
            "' voor een ",
            pl.col("employment_type"),
            " met ",
            number(pl.col("months_in_service")),
            f" maanden in dienst; de regeling geldt pas na {after:g} maanden.",
        ],
        [
            "Reward '",
            pl.col("award_type"),
            "' for an ",
            pl.col("employment_type"),
            " with ",
            number(pl.col("months_in_service")),
            f" months in service; the rules apply only after {after:g} months.",
        ],
    )
