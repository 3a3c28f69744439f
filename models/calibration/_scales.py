"""What the calibration marts measure: the ordinal scales of a policy and its calibration settings.

A *measure* is an ordinal scale defined by a policy. Every policy has the rating scale (`rating_scale`,
measure ``rating``); a policy with a `salary_decision` section (PLOEG, F-9) also has the salary decision
(trap) of staff in the evaluation-based system (measure ``salary_decision``). Nothing here knows rating codes:
codes, order, scores, guideline and lowest outcome all come from the policy, so a new policy with any scale
works unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.policy import Policy

RATING = "rating"
SALARY_DECISION = "salary_decision"

# Groupings of the rating distribution, in the order the marts list them. A grouping names a column (or the
# cross of two) whose values are the units; "organization" is the whole organisation (the norm).
GROUPINGS: tuple[str, ...] = (
    "organization",
    "department",
    "function_level",
    "department_function_level",
    "evaluator",
)
# Separator of the two parts of a department × function level unit.
CROSS_SEPARATOR = " × "


@dataclass(frozen=True)
class Measure:
    """One ordinal scale of a policy, lowest category first."""

    name: str  # "rating" | "salary_decision"
    codes: tuple[str, ...]
    scores: tuple[float, ...]
    labels_nl: tuple[str, ...]
    labels_en: tuple[str, ...]
    lowest: frozenset[str]  # codes that are the "lowest outcome" (worklist); empty when the policy sets none
    guideline: Mapping[str, float] | None  # target share per code, when the policy defines one
    rule: str
    system: str | None = None  # salary decision: only staff in this salary system (F-8)

    @property
    def top(self) -> str:
        return self.codes[-1]

    @property
    def k(self) -> int:
        return len(self.codes)


def _labels(levels: list[dict[str, Any]], key: str) -> tuple[str, ...]:
    return tuple(str((lv.get("label") or {}).get(key) or lv["code"]) for lv in levels)


def measures(policy: Policy) -> list[Measure]:
    """The measures a policy defines: always the rating scale; the salary decision where the policy has one."""
    scale = policy.section("rating_scale") or {}
    levels = list(scale.get("values") or [])
    guideline = policy.guideline
    out = [
        Measure(
            name=RATING,
            codes=tuple(policy.rating_codes),
            scores=tuple(float(policy.rating_scores[c]) for c in policy.rating_codes),
            labels_nl=_labels(levels, "nl"),
            labels_en=_labels(levels, "en"),
            lowest=frozenset(str(c) for c in policy.lowest_outcome),
            guideline={str(k): float(v) for k, v in guideline.items()} if guideline else None,
            rule=str(scale.get("rule") or ""),
        )
    ]
    decision = policy.section("salary_decision")
    if isinstance(decision, dict) and decision.get("values"):
        values = [dict(v) for v in decision["values"]]
        # Order by the salary consequence (steps) where the policy states it, else by the code itself.
        values.sort(key=lambda v: float(v["steps"] if "steps" in v else v["code"]))
        dec_guideline = decision.get("guideline")
        out.append(
            Measure(
                name=SALARY_DECISION,
                codes=tuple(str(v["code"]) for v in values),
                scores=tuple(float(v["steps"] if "steps" in v else v["code"]) for v in values),
                labels_nl=_labels(values, "nl"),
                labels_en=_labels(values, "en"),
                lowest=frozenset(),
                guideline={str(k): float(v) for k, v in dec_guideline.items()} if dec_guideline else None,
                rule=str(decision.get("rule") or ""),
                system=str(decision["system"]) if decision.get("system") else None,
            )
        )
    return out


@dataclass(frozen=True)
class CalibrationSettings:
    """The rule values the calibration marts use, read from a policy: its sections `metrics`, `disclosure` and
    `calibration`, a value left out taking the schema's default (models.policy; `metrics.min_n_flag` left out
    is `disclosure.min_group_size`)."""

    min_n_flag: int
    practical_effect: float
    fdr: float
    min_group_size: int
    leniency_window_cycles: int
    case_outlier_sd: float
    sharp_change_points: float
    rule: str = ""
    argumentation_required: frozenset[str] | None = None  # None: the policy has no argumentation section
    argumentation_rule: str = ""

    @classmethod
    def from_policy(cls, policy: Policy) -> CalibrationSettings:
        arg = policy.section("argumentation")
        typed = policy.typed
        return cls(
            min_n_flag=typed.metrics.min_n_flag or policy.min_group_size,
            practical_effect=typed.metrics.practical_effect,
            fdr=typed.metrics.fdr,
            min_group_size=policy.min_group_size,
            leniency_window_cycles=typed.calibration.leniency_window_cycles,
            case_outlier_sd=typed.calibration.case_outlier_sd,
            sharp_change_points=typed.calibration.sharp_change_points,
            rule=typed.calibration.rule or "",
            argumentation_required=(
                frozenset(str(c) for c in (arg.get("required_for_ratings") or ()))
                if isinstance(arg, dict)
                else None
            ),
            argumentation_rule=str(arg.get("rule") or "") if isinstance(arg, dict) else "",
        )
