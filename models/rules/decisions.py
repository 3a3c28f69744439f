"""Decision rules: which rating and salary decision a person may get, and who may appeal or contest.

F-3 ratings restricted to some staff (policy `rating_scale.values[].only_for`) · F-8 seniority system only for
staff hired before the cut-off · F-9 salary decision exactly in the evaluation-based system · F-10 forced
step 0 · F-11 appeal to the Raad van beroep and contest at the advisory body.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from models.policy import Policy
from models.rules._base import Tables, at, check, finding_rows, in_list, iso, rated, rule_id, section


def _restricted_levels(policy: Policy) -> list[dict[str, Any]] | None:
    values = (policy.section("rating_scale") or {}).get("values") or []
    return [v for v in values if v.get("only_for")] or None


# ------------------------------------------------------------------------------------------------ F-3
@check(
    "F-3",
    "rating_not_allowed_for_staff",
    severity="high",
    parameter="rating_scale.values[].only_for",
    lookup=_restricted_levels,
    what_nl="Beoordeling die het beleid voorbehoudt aan bepaalde medewerkers (PLOEG: loopbaanvertraging alleen "
    "voor statutairen in het anciënniteitsstelsel, F-3/F-8)",
    what_en="Rating the policy reserves for some staff (PLOEG: career delay only for statutory staff in the "
    "seniority system, F-3/F-8)",
)
def rating_not_allowed(t: Tables, levels: list[dict[str, Any]], policy: Policy) -> pl.LazyFrame:
    parts = []
    for level in levels:
        conditions = level["only_for"]
        allowed = pl.all_horizontal([in_list(col, vals).fill_null(False) for col, vals in conditions.items()])
        wanted = " en ".join(f"{col} {'/'.join(map(str, vals))}" for col, vals in conditions.items())
        wanted_en = " and ".join(f"{col} {'/'.join(map(str, vals))}" for col, vals in conditions.items())
        found = [pl.col(col).cast(pl.String).fill_null("leeg") for col in conditions]
        seen = pl.concat_str(found, separator="/")
        rule = rule_id(level.get("rule") or (policy.section("rating_scale") or {}).get("rule"), "F-3")
        parts.append(
            finding_rows(
                t.evaluations,
                (pl.col("rating") == level["code"]) & ~allowed,
                [f"Beoordeling '{level['code']}' is alleen toegestaan bij {wanted}; hier: ", seen, "."],
                [f"Rating '{level['code']}' is only allowed for {wanted_en}; here: ", seen, "."],
            ).with_columns(pl.lit(rule).alias("rule"))
        )
    return pl.concat(parts)


# ------------------------------------------------------------------------------------------------ F-8
def _seniority(policy: Policy) -> dict[str, Any] | None:
    systems = policy.section("salary_systems") or {}
    cutoff, seniority = systems.get("seniority_cutoff_hire_date"), systems.get("seniority") or {}
    if cutoff is None or not seniority.get("code"):
        return None
    return {"cutoff": cutoff, "code": seniority["code"]}


@check(
    "F-8",
    "seniority_system_after_cutoff",
    severity="high",
    parameter="salary_systems.seniority_cutoff_hire_date, salary_systems.seniority.code",
    lookup=_seniority,
    rule_path=("salary_systems",),
    what_nl="Anciënniteitsstelsel voor iemand die in dienst kwam op of na de scheidingsdatum van het beleid",
    what_en="Seniority system for someone hired on or after the policy's cut-off date",
)
def seniority_after_cutoff(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    cutoff = spec["cutoff"]
    if isinstance(cutoff, str):
        cutoff = dt.date.fromisoformat(cutoff)
    return finding_rows(
        t.evaluations,
        (pl.col("salary_system") == spec["code"]) & (pl.col("hire_date") >= pl.lit(cutoff)),
        [
            "Anciënniteitsstelsel, maar in dienst op ",
            iso(pl.col("hire_date")),
            f" (vanaf {cutoff} niet meer).",
        ],
        ["Seniority system, but hired on ", iso(pl.col("hire_date")), f" (not possible from {cutoff})."],
    )


# ------------------------------------------------------------------------------------------------ F-9
@check(
    "F-9",
    "salary_decision_missing",
    severity="high",
    parameter="salary_decision.system",
    lookup=at("salary_decision", "system"),
    what_nl="Beoordeelde medewerker in het evaluatiestelsel zonder salarisbeslissing",
    what_en="Rated employee in the evaluation-based system without a salary decision",
)
def salary_decision_missing(t: Tables, system: str, policy: Policy) -> pl.LazyFrame:
    return finding_rows(
        t.evaluations,
        rated() & (pl.col("salary_system") == system) & pl.col("salary_decision").is_null(),
        [f"Salarisstelsel '{system}' maar geen salarisbeslissing (trap)."],
        [f"Salary system '{system}' but no salary decision (step)."],
    )


@check(
    "F-9",
    "salary_decision_outside_system",
    severity="high",
    parameter="salary_decision.system",
    lookup=at("salary_decision", "system"),
    what_nl="Salarisbeslissing voor iemand buiten het evaluatiestelsel",
    what_en="Salary decision for someone outside the evaluation-based system",
)
def salary_decision_outside(t: Tables, system: str, policy: Policy) -> pl.LazyFrame:
    return finding_rows(
        t.evaluations,
        (pl.col("salary_system") != system) & pl.col("salary_decision").is_not_null(),
        [
            "Salarisbeslissing trap ",
            pl.col("salary_decision"),
            " in het stelsel '",
            pl.col("salary_system"),
            "'.",
        ],
        [
            "Salary decision step ",
            pl.col("salary_decision"),
            " in the system '",
            pl.col("salary_system"),
            "'.",
        ],
    )


# ----------------------------------------------------------------------------------------------- F-10
def _forced_zero(policy: Policy) -> dict[str, Any] | None:
    spec = policy.section("salary_decision") or {}
    ratings = spec.get("forced_zero_for")
    zero = [v["code"] for v in spec.get("values") or [] if v.get("steps") == 0]
    if not ratings or not zero:
        return None
    return {"ratings": list(ratings), "code": zero[0]}


@check(
    "F-10",
    "salary_decision_not_zero",
    severity="high",
    parameter="salary_decision.forced_zero_for",
    lookup=_forced_zero,
    what_nl="'Onvoldoende' met een andere salarisbeslissing dan trap 0",
    what_en="'Onvoldoende' with a salary decision other than step 0",
)
def salary_decision_not_zero(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    code = spec["code"]
    return finding_rows(
        t.evaluations,
        in_list("rating", spec["ratings"]) & (pl.col("salary_decision") != code),
        [
            "Beoordeling '",
            pl.col("rating"),
            f"' geeft altijd trap {code}; hier trap ",
            pl.col("salary_decision"),
            ".",
        ],
        [
            "Rating '",
            pl.col("rating"),
            f"' always gives step {code}; here step ",
            pl.col("salary_decision"),
            ".",
        ],
    )


# ----------------------------------------------------------------------------------------------- F-11
@check(
    "F-11",
    "appeal_not_eligible",
    severity="high",
    parameter="appeal.raad_van_beroep",
    lookup=section("appeal", "raad_van_beroep"),
    what_nl="Beroep bij de Raad van beroep door iemand die het niet kan instellen (statuut of beoordeling)",
    what_en="Appeal to the Raad van beroep by someone not entitled to it (employment type or rating)",
)
def appeal_not_eligible(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    types, ratings = spec.get("employment_type") or [], spec.get("ratings") or []
    eligible = in_list("employment_type", types).fill_null(False) & in_list("rating", ratings).fill_null(
        False
    )
    return finding_rows(
        t.evaluations,
        (pl.col("appeal_filed") == True) & ~eligible,  # noqa: E712 - null-safe on a nullable boolean
        [
            "Beroep ingesteld door ",
            pl.col("employment_type"),
            " met beoordeling '",
            pl.col("rating"),
            f"'; beroep staat alleen open voor {'/'.join(types)} bij {'/'.join(ratings)}.",
        ],
        [
            "Appeal filed by ",
            pl.col("employment_type"),
            " staff with rating '",
            pl.col("rating"),
            f"'; an appeal is only open to {'/'.join(types)} staff with {'/'.join(ratings)}.",
        ],
    )


@check(
    "F-11",
    "appeal_outcome_without_appeal",
    severity="medium",
    parameter="appeal.raad_van_beroep",
    lookup=section("appeal", "raad_van_beroep"),
    what_nl="Uitkomst van een beroep zonder ingesteld beroep",
    what_en="Appeal outcome recorded without an appeal",
)
def appeal_outcome_without_appeal(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    return finding_rows(
        t.evaluations,
        pl.col("appeal_outcome").is_not_null() & ~pl.col("appeal_filed").fill_null(False),
        ["Uitkomst van beroep '", pl.col("appeal_outcome"), "' geregistreerd zonder ingesteld beroep."],
        ["Appeal outcome '", pl.col("appeal_outcome"), "' recorded without an appeal being filed."],
    )


@check(
    "F-11",
    "contest_not_eligible",
    severity="high",
    parameter="appeal.advisory_body",
    lookup=section("appeal", "advisory_body"),
    what_nl="Tegenspraak bij het adviesorgaan zonder salarisbeslissing trap 0",
    what_en="Contest at the advisory body without salary decision step 0",
)
def contest_not_eligible(t: Tables, spec: dict[str, Any], policy: Policy) -> pl.LazyFrame:
    codes = spec.get("salary_decision") or []
    return finding_rows(
        t.evaluations,
        (pl.col("contest_filed") == True) & ~in_list("salary_decision", codes).fill_null(False),  # noqa: E712
        [
            "Tegenspraak ingesteld bij salarisbeslissing ",
            pl.col("salary_decision").cast(pl.String).fill_null("geen"),
            f"; alleen mogelijk bij trap {'/'.join(map(str, codes))}.",
        ],
        [
            "Contest filed with salary decision ",
            pl.col("salary_decision").cast(pl.String).fill_null("none"),
            f"; only possible with step {'/'.join(map(str, codes))}.",
        ],
    )


@check(
    "F-11",
    "contest_after_unsuccessful_appeal",
    severity="high",
    parameter="compliance.contest_after_appeal_only_if",
    lookup=at("compliance", "contest_after_appeal_only_if"),
    what_nl="Tegenspraak tegen trap 0 na een beroep dat de 'onvoldoende' niet omzette in 'voldoende'",
    what_en="Contest against step 0 after an appeal that did not turn the 'onvoldoende' into 'voldoende'",
)
def contest_after_appeal(t: Tables, outcomes: list[str], policy: Policy) -> pl.LazyFrame:
    return finding_rows(
        t.evaluations,
        (pl.col("contest_filed") == True)  # noqa: E712
        & (pl.col("appeal_filed") == True)  # noqa: E712
        & ~in_list("appeal_outcome", outcomes).fill_null(False),
        [
            "Tegenspraak na beroep met uitkomst '",
            pl.col("appeal_outcome").fill_null("onbekend"),
            f"'; na beroep alleen mogelijk bij uitkomst {'/'.join(outcomes)}.",
        ],
        [
            "Contest after an appeal with outcome '",
            pl.col("appeal_outcome").fill_null("unknown"),
            f"'; after an appeal only possible with outcome {'/'.join(outcomes)}.",
        ],
    )
