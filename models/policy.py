"""Reward policies: one YAML per regime (policies/*.yaml). Every rule value lives there, never in code.

`Policy` gives typed access to what the pipeline needs in many places (the ordinal rating scale, award
types, disclosure thresholds); the rest of a policy is reached through `Policy.section`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    def section(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)

    def rule_value(self, *path: str, default: Any = None) -> Any:
        """A nested value; `{value: x, rule: ...}` annotations are unwrapped to x."""
        node: Any = self.raw
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        if isinstance(node, dict) and "value" in node:
            return node["value"]
        return node

    @property
    def min_group_size(self) -> int:
        return int(self.rule_value("disclosure", "min_group_size", default=5))

    @property
    def min_group_size_amounts(self) -> int:
        return int(self.rule_value("disclosure", "min_group_size_amounts", default=10))

    @property
    def dominance_share(self) -> float:
        return float(self.rule_value("disclosure", "dominance_share", default=0.3))

    def allowed_values(self, source: str) -> list[Any]:
        """Values a contract column takes from this policy (`allowed_from_policy`)."""
        if source == "rating_scale":
            return self.rating_codes
        if source == "award_types":
            return self.award_type_codes
        raise ConfigError(f"policy {self.id}: a contract asks for allowed values '{source}', which it lacks")


def load_policy(path: Path) -> Policy:
    raw = cached_yaml(path)
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


def policy_for(settings: Settings, organization: str) -> Policy:
    org = settings.organizations.get(organization)
    if org is None:
        known = ", ".join(sorted(settings.organizations)) or "none"
        raise ConfigError(f"organisation '{organization}' is not configured in calibra.yaml (known: {known})")
    return load_policy(org.policy_path)
