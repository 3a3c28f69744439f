"""Reward policies: one YAML per regime (policies/*.yaml). Every rule value lives there, never in code.

`PolicyFile` (below) is the schema of a policy file: loading checks every file against it, so a misspelt or
unknown key fails at once with the file, the key and the nearest known key, and the defaults of optional
values are written there only. `Policy` gives typed access to what the pipeline needs in many places (the
ordinal rating scale, award types, disclosure thresholds), and `Policy.typed` to every value the schema
types (`policy.typed.compliance.cycle_months`: annotations unwrapped, defaults filled, a section a file leaves
out with all its defaults). `Policy.rule_value` (a string path) remains for the rule registry's parameters
and code not yet moved; `Policy.section` gives a section as written.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from models.config import Settings, cached_yaml
from models.errors import ConfigError


@dataclass(frozen=True)
class RatingLevel:
    code: str
    score: int
    label: dict[str, str]
    structural_pct: float | None = None


@dataclass(frozen=True)
class AwardType:
    code: str
    kind: str  # pct | amount
    incidental: bool
    rule: str
    label: dict[str, str]
    spec: dict[str, Any]


@dataclass(frozen=True)
class Policy:
    id: str
    version: int
    name: dict[str, str]
    timezone: str
    ratings: tuple[RatingLevel, ...]
    award_types: tuple[AwardType, ...]
    raw: dict[str, Any]

    @property
    def rating_codes(self) -> list[str]:
        """Rating codes ordered from lowest to highest."""
        return [r.code for r in self.ratings]

    @property
    def rating_scores(self) -> dict[str, int]:
        return {r.code: r.score for r in self.ratings}

    @property
    def award_type_codes(self) -> list[str]:
        return [a.code for a in self.award_types]

    @property
    def lowest_outcome(self) -> list[str]:
        return list(self.raw["rating_scale"].get("lowest_outcome") or self.rating_codes[:1])

    @property
    def guideline(self) -> dict[str, float] | None:
        return self.raw["rating_scale"].get("guideline")

    @property
    def typed(self) -> PolicyFile:
        """The policy as the schema reads it: typed sections with their defaults filled in, for new code
        (`policy.typed.disclosure.min_group_size`) instead of a string path. Validated once per Policy."""
        found = self.__dict__.get("_typed")
        if found is None:
            found = PolicyFile.model_validate(self.raw)
            object.__setattr__(self, "_typed", found)  # a cache on a frozen dataclass: not a field
        return found

    def section(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)

    def rule_value(self, *path: str, default: Any = None) -> Any:
        """A nested value; `{value: x, rule: ...}` annotations are unwrapped to x. A value the file leaves out
        takes the schema's default (PolicyFile), else `default`."""
        node: Any = self.raw
        for key in path:
            if not isinstance(node, dict) or key not in node:
                fallback = schema_default(*path)
                return default if fallback is None else fallback
            node = node[key]
        if isinstance(node, dict) and "value" in node:
            return node["value"]
        return node

    @property
    def min_group_size(self) -> int:
        return self.typed.disclosure.min_group_size

    @property
    def min_group_size_amounts(self) -> int:
        return self.typed.disclosure.min_group_size_amounts

    @property
    def dominance_share(self) -> float:
        return self.typed.disclosure.dominance_share

    @property
    def valid_from(self) -> date | None:
        """First day the policy is in force (None: always was)."""
        return _as_date(self.raw.get("valid_from"))

    @property
    def valid_until(self) -> date | None:
        """First day the policy is no longer in force (None: still is)."""
        return _as_date(self.raw.get("valid_until"))

    def in_force_for(self, cycle: int) -> bool:
        """Whether the policy was in force for any part of a cycle (the calendar year whose work is rated)."""
        start, end = date(cycle, 1, 1), date(cycle + 1, 1, 1)
        return (self.valid_from is None or self.valid_from < end) and (
            self.valid_until is None or self.valid_until > start
        )

    def allowed_values(self, source: str) -> list[Any]:
        """Values a contract column takes from this policy (`allowed_from_policy`)."""
        if source == "rating_scale":
            return self.rating_codes
        if source == "award_types":
            return self.award_type_codes
        raise ConfigError(f"policy {self.id}: a contract asks for allowed values '{source}', which it lacks")


def load_policy(path: Path) -> Policy:
    raw = cached_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"policy file {path} is not a mapping of sections")
    _validated(path)
    try:
        scale = raw["rating_scale"]["values"]
        ratings = tuple(
            RatingLevel(
                code=str(level["code"]),
                score=int(level["score"]),
                label=level.get("label", {"nl": level["code"], "en": level["code"]}),
                structural_pct=level.get("structural_pct"),
            )
            for level in scale
        )
        award_types = tuple(
            AwardType(
                code=str(spec["code"]),
                kind=str(spec.get("kind", "pct")),
                incidental=bool(spec.get("incidental", True)),
                rule=str(spec.get("rule", "")),
                label=spec.get("label", {"nl": spec["code"], "en": spec["code"]}),
                spec=spec,
            )
            for spec in raw.get("award_types") or ()
        )
        policy = Policy(
            id=str(raw["id"]),
            version=int(raw.get("version", 1)),
            name=raw.get("name", {"nl": raw["id"], "en": raw["id"]}),
            timezone=str(raw.get("timezone", "Europe/Brussels")),
            ratings=ratings,
            award_types=award_types,
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"policy file {path} is incomplete or malformed: {exc!r}") from exc
    scores = [r.score for r in policy.ratings]
    if scores != sorted(scores) or len(set(scores)) != len(scores):
        raise ConfigError(f"policy file {path}: rating scores must be strictly increasing from low to high")
    return policy


@cache
def _validated_file(path: str) -> PolicyFile:
    try:
        return PolicyFile.model_validate(cached_yaml(Path(path)))
    except ValidationError as exc:
        raise ConfigError(schema_errors(exc, PolicyFile, Path(path))) from exc


def _as_date(value: Any) -> date | None:
    """YAML reads `2024-06-01` as a date already; a quoted one is parsed (load_policy checked its form)."""
    return value if isinstance(value, date) or value is None else date.fromisoformat(str(value))


def _validated(path: Path) -> PolicyFile:
    """The policy file checked against the schema (once per process and file)."""
    return _validated_file(str(path))


def policy_for(settings: Settings, organization: str, cycle: int | None = None) -> Policy:
    """The organisation's policy; with a cycle, the one calibra.yaml names for that cycle, which must be in
    force for it (its `valid_from` / `valid_until`)."""
    org = settings.organizations.get(organization)
    if org is None:
        known = ", ".join(sorted(settings.organizations)) or "none"
        raise ConfigError(f"organisation '{organization}' is not configured in calibra.yaml (known: {known})")
    path = org.policy_path_for(cycle)
    policy = load_policy(path)
    if cycle is not None and not policy.in_force_for(cycle):
        raise ConfigError(
            f"{path}: policy {policy.id} is not in force for cycle {cycle} "
            f"(valid from {policy.valid_from or 'always'} until {policy.valid_until or 'now'}), "
            f"but calibra.yaml names it for {organization}"
        )
    return policy


# ------------------------------------------------------------------------------------------------ the schema
# One schema for every policy file: a section or key it does not know fails at load (with the nearest known
# key), and the defaults of optional values live here and nowhere else (`Policy.rule_value` falls back to them).
# A value may be written bare or annotated with where it comes from: `{value: 5, rule: Z-9, note: '…'}`.
ANNOTATION_KEYS = frozenset({"value", "rule", "note", "source"})


def _unwrap(value: Any) -> Any:
    return value["value"] if isinstance(value, dict) and "value" in value else value


# Bare or annotated values of a type (the annotation stays in the raw policy, for `rule_value`).
Unwrapped = BeforeValidator(_unwrap)
Count = Annotated[int, Field(ge=1), Unwrapped]
OptionalCount = Annotated[Annotated[int, Field(ge=1)] | None, Unwrapped]
Whole = Annotated[int, Unwrapped]
Positive = Annotated[float, Field(gt=0), Unwrapped]
Share = Annotated[float, Field(gt=0, le=1), Unwrapped]
OptionalShare = Annotated[Annotated[float, Field(ge=0, le=1)] | None, Unwrapped]
Probability = Annotated[float, Field(gt=0, lt=1), Unwrapped]
OptionalProbability = Annotated[Annotated[float, Field(gt=0, lt=1)] | None, Unwrapped]
OptionalNumber = Annotated[float | None, Unwrapped]
OptionalCountOrNumber = Annotated[Annotated[float, Field(gt=0)] | None, Unwrapped]
Codes = Annotated[list[str], Unwrapped]
OptionalCodes = Annotated[list[str] | None, Unwrapped]
OptionalFlag = Annotated[bool | None, Unwrapped]
Number = Annotated[float, Unwrapped]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _OpenSection(BaseModel):
    """A section whose keys are still being settled on another branch: known keys typed, others accepted."""

    model_config = ConfigDict(extra="allow", frozen=True)


class RatingValue(_Section):
    code: str
    score: int
    label: dict[str, str] | None = None
    structural_pct: float | None = None
    grade: dict[str, float] | None = None
    only_for: Any = None
    rule: str | None = None


class RatingScale(_Section):
    rule: str | None = None
    values: list[RatingValue] = Field(min_length=2)
    lowest_outcome: list[str] | None = None  # None: the lowest rating
    standard_structural_pct: OptionalNumber = None
    guideline: dict[str, float] | None = None


class AwardTypeSpec(_OpenSection):
    """Award types carry regime-specific rules (amounts, caps, move types): only the common keys are typed."""

    code: str
    kind: Literal["pct", "amount"] = "pct"
    incidental: bool = True
    rule: str = ""
    label: dict[str, str] | None = None


class Disclosure(_Section):
    min_group_size: Count = 5
    min_group_size_amounts: Count = 10
    dominance_share: Share = 0.3
    # the audiences' settings (docs/privacy.md): None = min_group_size
    management_min_group_size: OptionalCount = None
    meeting_min_group_size: Count = 1
    compared_groups: Codes = ["F", "M"]


class Ingest(_Section):
    """The ingest's thresholds (calibra conventions, no rule of a regime)."""

    # A file in which more than this share of the rows break the contract is rejected whole (models.validation).
    max_bad_row_share: Share = 0.5
    # The `quarantine_share` check warns when this share of an organisation-cycle's rows read in a run (or
    # more) was quarantined.
    max_quarantine_share: Share = 0.05


class Metrics(_Section):
    min_n_flag: OptionalCount = None  # None: disclosure.min_group_size
    practical_effect: Positive = 0.5
    fdr: Probability = 0.05


class Calibration(_Section):
    rule: str | None = None
    leniency_window_cycles: Count = 3
    case_outlier_sd: Positive = 2.5
    sharp_change_points: Positive = 2.0
    pay_relevant_cut_points: Annotated[dict[str, Any] | None, Unwrapped] = None


class CalibrationImpact(_Section):
    window_cycles: OptionalCount = None


class Forecast(_Section):
    rule: str | None = None
    horizon_years: OptionalCount = None
    draws: OptionalCount = None
    seed: Whole = 0
    scenarios: OptionalCodes = None  # None: every built-in scenario


class PayTransparency(_Section):
    # Directive (EU) 2023/970 Art. 10(1)(a): a mean gap of at least 5% in a category triggers a joint assessment
    article10_gap_threshold: Probability = 0.05
    full_time_hours_per_year: OptionalCountOrNumber = None


class Fairness(_Section):
    attributes: Codes = []
    age_bands: Annotated[list[int] | None, Unwrapped] = None
    part_time_below_fte: Share = 1.0  # part-time: fte below this
    reference_groups: Annotated[dict[str, Any] | None, Unwrapped] = None
    reference_min_share: OptionalShare = None
    compare_with_organisation: OptionalCodes = None
    adverse_impact_threshold: OptionalShare = None
    confidence_level: OptionalProbability = None
    award_outcomes: Annotated[list[dict[str, Any]] | None, Unwrapped] = None
    pay_transparency: PayTransparency = PayTransparency()


class Deadlines(_Section):
    conversation_deadline: Any = None
    conversation_window: Any = None
    delivery: Any = None
    early_reevaluation_min_months: Any = None
    first_signature: Any = None
    payout: Any = None
    second_signature: Any = None


class Compliance(_Section):
    contest_after_appeal_only_if: Any = None
    cycle_months: Count = 12  # the length of a cycle
    early_reevaluation_after: Any = None
    planning_window: Any = None  # {from: …, to: …, rule: …}: a date window
    publish_incidental: OptionalFlag = None
    self_evaluation_before_conversation: OptionalFlag = None


class Budget(_Section):
    employer_oncost_factor: OptionalCountOrNumber = None
    general_raise_pct: OptionalNumber = None
    incidental_payroll_share_pct: OptionalNumber = None
    net_to_gross_factor: OptionalCountOrNumber = None
    structural_budget_pct: OptionalNumber = None


class Structural(_Section):
    rule: str | None = None
    basis: Literal["pct", "steps"] | None = None
    award_type: str | None = None
    no_raise_at_maximum: OptionalFlag = None
    months_between_raises: Any = None


class Argumentation(_Section):
    rule: str | None = None
    required_for_ratings: list[str] = []
    required_for_incidental: OptionalFlag = None
    publish_structural_above_pct: OptionalNumber = None


class Absence(_Section):
    rule: str | None = None
    min_presence_months: OptionalNumber = None
    no_rating_when_leave: Codes = []
    rating_required_when: list[str] = []


class TemporaryWorkers(_Section):
    rule: str | None = None
    employment_type: str | None = None
    follow_rules_after_months: Any = None


class SalaryDecision(_Section):
    rule: str | None = None
    system: str | None = None
    values: list[dict[str, Any]] = []
    forced_zero_for: list[str] = []
    max_steps_per_scale: OptionalCount = None


class SalarySystems(_Section):
    rule: str | None = None
    seniority: dict[str, Any] | None = None
    seniority_cutoff_hire_date: Any = None


class Appeal(_Section):
    rule: str | None = None
    advisory_body: dict[str, Any] | None = None
    raad_van_beroep: dict[str, Any] | None = None


class PayGap(_Section):
    """The pay-gap projection and cost to close (docs/marts/pay_gap.md); calibra planning parameters."""

    category: Annotated[str, Unwrapped] = "function_level"  # function_level | salary_scale
    # None: the forecast section's, and without one PAY_GAP_HORIZON_YEARS / PAY_GAP_DRAWS / forecast.seed
    horizon_years: OptionalCount = None
    draws: OptionalCount = None
    seed: Annotated[int | None, Unwrapped] = None
    rating_window_cycles: Count = 3
    objective_factors: Codes = ["function_level", "salary_step", "tenure"]
    close_to_gap: Number = 0.0
    min_raise_pct: Number = 0.0
    max_raise_pct: Number = 10.0


PAY_GAP_HORIZON_YEARS, PAY_GAP_DRAWS = 5, 400  # a projection of a policy without a forecast section


class PolicyFile(_Section):
    """The whole of a policies/*.yaml file."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    version: int = 1
    # The period the policy is in force: from `valid_from` up to, not including, `valid_until` (None = open).
    valid_from: date | None = None
    valid_until: date | None = None
    name: dict[str, str] | None = None
    timezone: str = "Europe/Brussels"
    source: str | None = None
    rating_scale: RatingScale
    award_types: list[AwardTypeSpec] = []
    structural: Structural = Structural()
    salary_decision: SalaryDecision = SalaryDecision()
    salary_systems: SalarySystems | None = None
    argumentation: Argumentation = Argumentation()
    absence: Absence = Absence()
    temporary_workers: TemporaryWorkers | None = None
    deadlines: Deadlines | None = None
    appeal: Appeal | None = None
    budget: Budget = Budget()
    disclosure: Disclosure = Disclosure()
    ingest: Ingest = Ingest()
    metrics: Metrics = Metrics()
    forecast: Forecast = Forecast()
    fairness: Fairness = Fairness()
    compliance: Compliance = Compliance()
    calibration_impact: CalibrationImpact = CalibrationImpact()
    calibration: Calibration = Calibration()
    pay_gap: PayGap = PayGap()

    @model_validator(mode="after")
    def _period_runs_forward(self) -> PolicyFile:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must come after valid_from")
        return self


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema class that holds the value at `loc` (list indexes and Optional unwrapped)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if (
            not (isinstance(current, type) and issubclass(current, BaseModel))
            or part not in current.model_fields
        ):
            return None
        current = current.model_fields[part].annotation
        for _ in range(3):  # Optional[...] / list[...] / Annotated[...] around a section
            models = [a for a in get_args(current) if isinstance(a, type) and issubclass(a, BaseModel)]
            inner = [a for a in get_args(current) if get_args(a)]
            if models:
                current = models[0]
                break
            if inner:
                current = inner[0]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def schema_errors(error: ValidationError, model: type[BaseModel], path: Path) -> str:
    """One sentence per problem: the file, the key, what is wrong and, for an unknown key, the nearest one."""
    sentences = []
    for problem in error.errors():
        loc = tuple(problem["loc"])
        key = ".".join(str(p) for p in loc)
        if problem["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            known = sorted(parent.model_fields) if parent else []
            near = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f"; known keys: {', '.join(known)}"
            sentences.append(f"{path}: unknown key '{key}'{hint}")
        else:
            sentences.append(f"{path}: '{key}' {problem['msg'].lower()}")
    return "; ".join(sentences)


def schema_default(*path: str) -> Any:
    """The schema's default for a policy value that a file leaves out (None when the schema has none); a
    fresh copy, so a caller that changes it changes nothing else."""
    return copy.deepcopy(_schema_default(*path))


@cache
def _schema_default(*path: str) -> Any:
    model: Any = PolicyFile
    for key in path:
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or key not in model.model_fields:
            return None
        field = model.model_fields[key]
        if key == path[-1]:
            if field.is_required():
                return None
            value = field.get_default(call_default_factory=True)
            return value.model_dump() if isinstance(value, BaseModel) else value
        model = _model_at(model, (key,))
    return None
