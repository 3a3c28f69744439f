"""Reward rules: percentages, amounts and conditions of structural raises and incidental rewards.

F-7 / Z-4 / Z-7 allowed percentages per award type · Z-2 structural percentage and grade band of the rating ·
Z-3 scale maximum · Z-5 group rewards · Z-6 mobility reward · Z-7 labour-market allowance duration and cap ·
Z-8 argumentation. Every amount, percentage and duration is read from the policy (`award_types`,
`rating_scale`, `structural`, `argumentation`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from models.policy import Policy
from models.rules._base import (
    Tables,
    at,
    award_types_with,
    blank,
    check,
    finding_rows,
    in_list,
    number,
    rule_id,
)

CENT = 0.01  # amounts are compared to the cent


def _spec_rule(spec: dict[str, Any], default: str) -> pl.Expr:
    """The rule id an award type names in the policy (`rule:`), as the findings' rule column."""
    return pl.lit(rule_id(spec.get("rule"), default)).alias("rule")


def _net(amount: pl.Expr, policy: Policy) -> pl.Expr:
    """A net amount: net as given; gross converted with the policy's budget.net_to_gross_factor (else null)."""
    factor = policy.typed.budget.net_to_gross_factor
    gross = pl.col("amount_basis") == "bruto"
    if factor:
        return pl.when(gross).then(amount / float(factor)).otherwise(amount)
    return pl.when(gross).then(None).otherwise(amount)


# ---------------------------------------------------------------------------------- F-7 / Z-4 / Z-7
@check(
    "Z-4",
    "award_pct_not_allowed",
    severity="high",
    parameter="award_types[].allowed_pct, award_types[].level_pct",
    lookup=award_types_with("allowed_pct"),
    what_nl="Percentage dat het beleid voor dit soort beloning niet toelaat (rule-id van het beloningstype: "
    "F-7 functioneringstoelage, Z-4 bonussen, Z-7 arbeidsmarkttoelage)",
    what_en="Percentage the policy does not allow for this award type (rule id of the award type: F-7 "
    "performance allowance, Z-4 bonuses, Z-7 labour-market allowance)",
)
def award_pct_not_allowed(t: Tables, specs: list[dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    frame = t.awards
    pct = pl.col("pct")
    parts = []
    for spec in specs:
        allowed = spec["allowed_pct"]
        if isinstance(allowed, dict):
            lo, hi = allowed.get("min"), allowed.get("max")
            lo_expr, hi_expr = pl.lit(lo, pl.Float64), pl.lit(hi, pl.Float64)
            for level, bounds in (spec.get("level_pct") or {}).items():
                is_level = pl.col("function_level") == str(level)
                lo_expr = pl.when(is_level).then(pl.lit(bounds.get("min"), pl.Float64)).otherwise(lo_expr)
                hi_expr = pl.when(is_level).then(pl.lit(bounds.get("max"), pl.Float64)).otherwise(hi_expr)
            bad = (pct < lo_expr).fill_null(False) | (pct > hi_expr).fill_null(False)
            shown = pl.concat_str(
                [number(lo_expr).fill_null("…"), pl.lit("–"), number(hi_expr).fill_null("…")]
            )
        else:
            values = [float(v) for v in allowed]
            bad = ~pct.round(6).is_in(values)
            shown = pl.lit("/".join(f"{v:g}" for v in values))
        parts.append(
            finding_rows(
                frame.filter(pl.col("award_type") == spec["code"]),
                pct.is_null() | bad,
                [
                    f"{spec['code']}: percentage ",
                    number(pct).fill_null("ontbreekt"),
                    "; toegestaan: ",
                    shown,
                    "%.",
                ],
                [
                    f"{spec['code']}: percentage ",
                    number(pct).fill_null("missing"),
                    "; allowed: ",
                    shown,
                    "%.",
                ],
            ).with_columns(_spec_rule(spec, "Z-4"))
        )
    return pl.concat(parts)


# ------------------------------------------------------------------------------------------------ Z-2
def _structural(policy: Policy) -> dict[str, Any] | None:
    code = policy.typed.structural.award_type
    pct = {r.code: float(r.structural_pct) for r in policy.ratings if r.structural_pct is not None}
    if not code or not pct:
        return None
    return {
        "award_type": code,
        "pct": pct,
        "no_raise_at_maximum": bool(policy.typed.structural.no_raise_at_maximum),
    }


@check(
    "Z-2",
    "structural_pct_mismatch",
    severity="high",
    parameter="rating_scale.values[].structural_pct, structural.award_type",
    lookup=_structural,
    rule_path=("rating_scale",),
    what_nl="Structurele beloning met een ander percentage dan bij de beoordeling hoort",
    what_en="Structural raise with another percentage than the rating gives",
)
def structural_pct_mismatch(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    frame = t.awards.filter(pl.col("award_type") == spec["award_type"])
    expected = pl.col("rating").replace_strict(spec["pct"], default=None, return_dtype=pl.Float64)
    at_max = (pl.col("at_scale_maximum") == True).fill_null(False)  # noqa: E712
    exempt = at_max if spec["no_raise_at_maximum"] else pl.lit(False)  # Z-3 judges those
    return finding_rows(
        frame,
        ~exempt
        & expected.is_not_null()
        & (pl.col("pct").is_null() | ((pl.col("pct") - expected).abs() > 1e-6)),
        [
            "Beoordeling '",
            pl.col("rating"),
            "' geeft ",
            number(expected),
            "%; toegekend: ",
            number(pl.col("pct")),
            "%.",
        ],
        [
            "Rating '",
            pl.col("rating"),
            "' gives ",
            number(expected),
            "%; awarded: ",
            number(pl.col("pct")),
            "%.",
        ],
    )


@check(
    "Z-2",
    "structural_without_rating",
    severity="medium",
    parameter="structural.award_type",
    lookup=_structural,
    rule_path=("structural",),
    what_nl="Structurele beloning zonder beoordeling in hetzelfde jaar",
    what_en="Structural raise without a rating in the same cycle",
)
def structural_without_rating(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    frame = t.awards.filter(pl.col("award_type") == spec["award_type"])
    return finding_rows(
        frame,
        pl.col("rating").is_null(),
        ["Structurele beloning van ", number(pl.col("pct")), "% zonder beoordeling in dit jaar."],
        ["Structural raise of ", number(pl.col("pct")), "% without a rating in this cycle."],
    )


def _grade_bands(policy: Policy) -> dict[str, dict[str, float | None]] | None:
    values = (policy.section("rating_scale") or {}).get("values") or []
    bands = {str(v["code"]): v["grade"] for v in values if isinstance(v.get("grade"), dict)}
    return bands or None


@check(
    "Z-2",
    "grade_outside_rating_band",
    severity="medium",
    parameter="rating_scale.values[].grade",
    lookup=_grade_bands,
    rule_path=("rating_scale",),
    what_nl="Cijfer buiten de band van de beoordeling",
    what_en="Grade outside the band of the rating",
)
def grade_outside_band(t: Tables, bands: dict[str, dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    lo = pl.col("rating").replace_strict(
        {k: v.get("min") for k, v in bands.items()}, default=None, return_dtype=pl.Float64
    )
    hi = pl.col("rating").replace_strict(
        {k: v.get("max") for k, v in bands.items()}, default=None, return_dtype=pl.Float64
    )
    grade = pl.col("grade")
    bad = (grade < lo).fill_null(False) | (grade > hi).fill_null(False)
    band = pl.concat_str([number(lo).fill_null("…"), pl.lit("–"), number(hi).fill_null("…")])
    return finding_rows(
        t.evaluations,
        grade.is_not_null() & in_list("rating", bands) & bad,
        ["Cijfer ", number(grade), " past niet bij '", pl.col("rating"), "' (", band, ")."],
        ["Grade ", number(grade), " does not fit '", pl.col("rating"), "' (", band, ")."],
    )


# ------------------------------------------------------------------------------------------------ Z-3
def _no_raise_at_max(policy: Policy) -> dict[str, Any] | None:
    spec = _structural(policy)
    return spec if spec and spec["no_raise_at_maximum"] else None


@check(
    "Z-3",
    "raise_at_scale_maximum",
    severity="high",
    parameter="structural.no_raise_at_maximum",
    lookup=_no_raise_at_max,
    rule_path=("structural", "no_raise_at_maximum"),
    what_nl="Structurele verhoging voor iemand op het maximum van de schaal",
    what_en="Structural raise for someone at the maximum of the scale",
)
def raise_at_maximum(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    frame = t.awards.filter(pl.col("award_type") == spec["award_type"])
    return finding_rows(
        frame,
        (pl.col("at_scale_maximum") == True) & (pl.col("pct") > 0),  # noqa: E712
        ["Op het schaalmaximum geen structurele verhoging; toegekend: ", number(pl.col("pct")), "%."],
        ["No structural raise at the scale maximum; awarded: ", number(pl.col("pct")), "%."],
    )


@check(
    "Z-3",
    "raise_above_scale_maximum",
    severity="low",
    parameter="structural.no_raise_at_maximum",
    lookup=_no_raise_at_max,
    rule_path=("structural", "no_raise_at_maximum"),
    what_nl="Structurele verhoging die het salaris boven het schaalmaximum zou brengen (alleen tot het maximum)",
    what_en="Structural raise that would take pay above the scale maximum (only up to the maximum)",
)
def raise_above_maximum(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    frame = t.awards.filter(pl.col("award_type") == spec["award_type"])
    after = pl.col("annual_salary") * (1 + pl.col("pct") / 100)
    at_max = (pl.col("at_scale_maximum") == True).fill_null(False)  # noqa: E712 - Z-3 check above
    return finding_rows(
        frame,
        ~at_max & (pl.col("pct") > 0) & (after > pl.col("scale_maximum") + CENT),
        [
            "Verhoging van ",
            number(pl.col("pct")),
            "% brengt het salaris boven het maximum van schaal ",
            pl.col("salary_scale"),
            "; alleen tot het maximum toekennen.",
        ],
        [
            "A raise of ",
            number(pl.col("pct")),
            "% takes pay above the maximum of scale ",
            pl.col("salary_scale"),
            "; grant only up to the maximum.",
        ],
    )


# ------------------------------------------------------------------------------------------------ Z-5
@check(
    "Z-5",
    "group_amount_unequal",
    severity="high",
    parameter="award_types[].equal_within_group",
    lookup=award_types_with("equal_within_group"),
    what_nl="Groepsbeloning: niet elk lid kreeg hetzelfde bedrag (of geen groep opgegeven)",
    what_en="Group reward: not every member got the same amount (or no group given)",
)
def group_unequal(t: Tables, specs: list[dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    codes = [s["code"] for s in specs if s.get("equal_within_group") is True]
    if not codes:
        return t.awards.head(0)
    group = ["organization", "cycle", "award_type", "group_id"]
    frame = (
        t.awards.filter(in_list("award_type", codes))
        .with_columns(pl.len().over(*group, "amount", "amount_basis").alias("_same"))
        .with_columns(
            pl.col("_same").max().over(group).alias("_top"),
            (pl.col("_same") == pl.col("_same").max()).sum().over(group).alias("_at_top"),
        )
    )
    # Keep the amount most members got; when no amount is most common, every member is reported.
    modal = pl.when(pl.col("_same") == pl.col("_top")).then(pl.col("amount")).max().over(group)
    odd = (pl.col("_same") < pl.col("_top")) | (pl.col("_at_top") > pl.col("_same"))
    no_group = pl.col("group_id").is_null()
    rules = {s["code"]: rule_id(s.get("rule"), "Z-5") for s in specs}
    return finding_rows(
        frame.with_columns(modal.alias("_modal")),
        no_group | odd,
        [
            pl.when(no_group)
            .then(pl.lit("Groepsbeloning zonder groep: gelijkheid niet te controleren."))
            .otherwise(
                pl.concat_str(
                    [
                        pl.lit("Groepsbeloning van "),
                        number(pl.col("amount")),
                        pl.lit(" "),
                        pl.col("amount_basis").fill_null(""),
                        pl.lit(" wijkt af van het bedrag van de andere leden ("),
                        number(pl.col("_modal")),
                        pl.lit(")."),
                    ]
                )
            )
        ],
        [
            pl.when(no_group)
            .then(pl.lit("Group reward without a group: equality cannot be checked."))
            .otherwise(
                pl.concat_str(
                    [
                        pl.lit("Group reward of "),
                        number(pl.col("amount")),
                        pl.lit(" "),
                        pl.col("amount_basis").fill_null(""),
                        pl.lit(" differs from the other members' amount ("),
                        number(pl.col("_modal")),
                        pl.lit(")."),
                    ]
                )
            )
        ],
    ).with_columns(pl.col("award_type").replace_strict(rules, default="Z-5").alias("rule"))


@check(
    "Z-5",
    "group_amount_below_minimum",
    severity="high",
    parameter="award_types[].min_net_amount",
    lookup=award_types_with("min_net_amount"),
    what_nl="Groepsbeloning onder het minimum van het beleid",
    what_en="Group reward below the minimum of the policy",
)
def group_below_minimum(t: Tables, specs: list[dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    parts = []
    for spec in specs:
        minimum = float(spec["min_net_amount"])
        net = _net(pl.col("amount"), policy)
        parts.append(
            finding_rows(
                t.awards.filter(pl.col("award_type") == spec["code"]),
                pl.col("amount").is_null() | (net < minimum - CENT),
                [
                    f"{spec['code']}: netto bedrag ",
                    number(net).fill_null("onbekend"),
                    f", minimum {minimum:g}.",
                ],
                [f"{spec['code']}: net amount ", number(net).fill_null("unknown"), f", minimum {minimum:g}."],
            ).with_columns(_spec_rule(spec, "Z-5"))
        )
    return pl.concat(parts)


# ------------------------------------------------------------------------------------------------ Z-6
@check(
    "Z-6",
    "mobility_amount_wrong",
    severity="high",
    parameter="award_types[].net_amount, award_types[].pro_rata_fte",
    lookup=award_types_with("net_amount"),
    what_nl="Mobiliteitsbeloning met een ander netto bedrag dan het vaste bedrag (naar rato van de deeltijd)",
    what_en="Mobility reward with another net amount than the fixed amount (pro rata part-time)",
)
def mobility_amount(t: Tables, specs: list[dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    frame = t.awards
    fte = pl.coalesce("fte", "pay_fte")
    parts = []
    for spec in specs:
        base = float(spec["net_amount"])
        expected = (fte * base).round(2) if spec.get("pro_rata_fte") else pl.lit(base)
        gross = pl.col("amount_basis") == "bruto"  # a gross amount cannot be compared exactly with a net one
        parts.append(
            finding_rows(
                frame.filter(pl.col("award_type") == spec["code"]),
                pl.col("amount").is_null()
                | (~gross.fill_null(False) & ((pl.col("amount") - expected).abs() > CENT)),
                [
                    f"{spec['code']}: bedrag ",
                    number(pl.col("amount")).fill_null("ontbreekt"),
                    ", verwacht ",
                    number(expected),
                    " netto.",
                ],
                [
                    f"{spec['code']}: amount ",
                    number(pl.col("amount")).fill_null("missing"),
                    ", expected ",
                    number(expected),
                    " net.",
                ],
            ).with_columns(_spec_rule(spec, "Z-6"))
        )
    return pl.concat(parts)


def _move_check(
    t: Tables, specs: list[dict[str, Any]], column: str, key: str, nl: str, en: str
) -> pl.LazyFrame:
    parts = []
    for spec in specs:
        allowed = [str(v) for v in spec[key]]
        parts.append(
            finding_rows(
                t.awards.filter(pl.col("award_type") == spec["code"]),
                ~in_list(column, allowed).fill_null(False),
                [
                    f"{spec['code']}: {nl} '",
                    pl.col(column).fill_null("leeg"),
                    f"'; toegestaan: {'/'.join(allowed)}.",
                ],
                [
                    f"{spec['code']}: {en} '",
                    pl.col(column).fill_null("empty"),
                    f"'; allowed: {'/'.join(allowed)}.",
                ],
            ).with_columns(_spec_rule(spec, "Z-6"))
        )
    return pl.concat(parts)


@check(
    "Z-6",
    "mobility_move_type_not_allowed",
    severity="high",
    parameter="award_types[].allowed_move_types",
    lookup=award_types_with("allowed_move_types"),
    what_nl="Mobiliteitsbeloning voor een overstap die geen recht geeft (naar een hogere schaal, of onbekend)",
    what_en="Mobility reward for a move that does not qualify (to a higher scale, or unknown)",
)
def mobility_move_type(t: Tables, specs: list[dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    return _move_check(t, specs, "move_type", "allowed_move_types", "soort overstap", "move type")


@check(
    "Z-6",
    "mobility_reason_not_allowed",
    severity="high",
    parameter="award_types[].allowed_move_reasons",
    lookup=award_types_with("allowed_move_reasons"),
    what_nl="Mobiliteitsbeloning voor een overstap die niet op eigen initiatief was (reorganisatie, of onbekend)",
    what_en="Mobility reward for a move not on own initiative (reorganisation, or unknown)",
)
def mobility_reason(t: Tables, specs: list[dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    return _move_check(
        t, specs, "move_reason", "allowed_move_reasons", "reden overstap", "reason for the move"
    )


# ------------------------------------------------------------------------------------------------ Z-7
@check(
    "Z-7",
    "allowance_duration_too_long",
    severity="high",
    parameter="award_types[].max_duration_months",
    lookup=award_types_with("max_duration_months"),
    what_nl="Toelage voor langer dan de maximale duur, of duur onbekend",
    what_en="Allowance for longer than the maximum duration, or unknown",
)
def allowance_duration(t: Tables, specs: list[dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    parts = []
    for spec in specs:
        limit = int(spec["max_duration_months"])
        months = pl.col("duration_months")
        parts.append(
            finding_rows(
                t.awards.filter(pl.col("award_type") == spec["code"]),
                months.is_null() | (months > limit),
                [
                    f"{spec['code']}: duur ",
                    months.cast(pl.String).fill_null("onbekend"),
                    f" maanden, maximum {limit}.",
                ],
                [
                    f"{spec['code']}: duration ",
                    months.cast(pl.String).fill_null("unknown"),
                    f" months, maximum {limit}.",
                ],
            ).with_columns(_spec_rule(spec, "Z-7"))
        )
    return pl.concat(parts)


def _next_scale_cap(policy: Policy) -> list[dict[str, Any]] | None:
    return [s for s in award_types_with("cap")(policy) if s["cap"] == "next_scale_maximum"] or None


@check(
    "Z-7",
    "allowance_above_next_scale_maximum",
    severity="high",
    parameter="award_types[].cap = next_scale_maximum",
    lookup=_next_scale_cap,
    what_nl="Salaris plus toelage boven het maximum van de naasthogere schaal",
    what_en="Salary plus allowance above the maximum of the next higher scale",
)
def allowance_above_cap(t: Tables, specs: list[dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    frame = t.awards
    after = pl.col("annual_salary") * (1 + pl.col("pct") / 100)
    parts = [
        finding_rows(
            frame.filter(pl.col("award_type") == spec["code"]),
            after > pl.col("next_scale_maximum") + CENT,
            [
                f"{spec['code']}: salaris plus toelage ",
                number(after),
                " boven het maximum van de naasthogere schaal ",
                number(pl.col("next_scale_maximum")),
                ".",
            ],
            [
                f"{spec['code']}: salary plus allowance ",
                number(after),
                " above the maximum of the next higher scale ",
                number(pl.col("next_scale_maximum")),
                ".",
            ],
        ).with_columns(_spec_rule(spec, "Z-7"))
        for spec in specs
    ]
    return pl.concat(parts)


# ------------------------------------------------------------------------------------------------ Z-8
@check(
    "Z-8",
    "argumentation_missing",
    severity="medium",
    parameter="argumentation.required_for_ratings",
    lookup=at("argumentation", "required_for_ratings"),
    what_nl="Beoordeling zonder onderbouwing van beide aspecten (competenties en resultaten)",
    what_en="Rating without argumentation for both aspects (competences and results)",
)
def argumentation_missing(t: Tables, ratings: list[str], policy: Policy) -> pl.LazyFrame:
    comp, res = blank("argument_competences"), blank("argument_results")
    which_nl = (
        pl.when(comp & res)
        .then(pl.lit("competenties en resultaten"))
        .when(comp)
        .then(pl.lit("competenties"))
        .otherwise(pl.lit("resultaten"))
    )
    which_en = (
        pl.when(comp & res)
        .then(pl.lit("competences and results"))
        .when(comp)
        .then(pl.lit("competences"))
        .otherwise(pl.lit("results"))
    )
    return finding_rows(
        t.evaluations,
        in_list("rating", ratings) & (comp | res),
        ["Onderbouwing ontbreekt voor: ", which_nl, "."],
        ["Argumentation missing for: ", which_en, "."],
    )


def _incidental(policy: Policy) -> list[str] | None:
    if not policy.typed.argumentation.required_for_incidental:
        return None
    return [a.code for a in policy.award_types if a.incidental] or None


@check(
    "Z-8",
    "incidental_argumentation_missing",
    severity="medium",
    parameter="argumentation.required_for_incidental",
    lookup=_incidental,
    rule_path=("argumentation",),
    what_nl="Incidentele beloning zonder onderbouwing",
    what_en="Incidental reward without argumentation",
)
def incidental_argumentation_missing(t: Tables, codes: list[str], policy: Policy) -> pl.LazyFrame:
    return finding_rows(
        t.awards.filter(in_list("award_type", codes)),
        blank("argumentation"),
        ["Incidentele beloning '", pl.col("award_type"), "' zonder onderbouwing."],
        ["Incidental reward '", pl.col("award_type"), "' without argumentation."],
    )
