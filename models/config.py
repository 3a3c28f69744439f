"""Project configuration: where files live and which organisation uses which reward policy.

`ConfigFile` is the schema of calibra.yaml: an unknown or misspelt key fails at load with the file, the key
and the nearest known key, and the defaults live in the schema only.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyPeriod(_Strict):
    """The policy an organisation applies to a range of cycles (both ends included; None = open)."""

    policy: str
    from_cycle: int | None = None
    to_cycle: int | None = None


class OrganizationEntry(_Strict):
    name: dict[str, str] | None = None  # None: the organisation id in every language
    # The policy file, relative to calibra.yaml: one for every cycle (`policy`), or one per range of cycles
    # when the regime changed (`policies`, e.g. a new salary system from a given cycle on).
    policy: str | None = None
    policies: list[PolicyPeriod] = []
    attributes: list[str] = []  # extra evaluation columns compared in the calibration-impact marts

    @model_validator(mode="after")
    def _one_policy_per_cycle(self) -> OrganizationEntry:
        if (self.policy is None) == (not self.policies):
            raise ValueError("name either one policy (`policy`) or a policy per range of cycles (`policies`)")
        open_low, open_high = -(10**9), 10**9
        ranges = sorted(
            (
                open_low if p.from_cycle is None else p.from_cycle,
                open_high if p.to_cycle is None else p.to_cycle,
            )
            for p in self.policies
        )
        if any(low > high for low, high in ranges):
            raise ValueError("a cycle range of `policies` runs backwards")
        if any(next_low <= high for (_, high), (next_low, _) in itertools.pairwise(ranges)):
            raise ValueError("the cycle ranges of `policies` overlap")
        return self


class Schedules(_Strict):
    hour: int = Field(default=6, ge=0, le=23)  # local time of day the scheduled runs start
    budget_days_before_payout: int = Field(default=14, ge=0)


class ConfigFile(_Strict):
    """The whole of calibra.yaml."""

    home: str = "var"
    site: str | None = None  # None: <home>/site
    mappings: list[str] = ["mappings"]
    schedules: Schedules = Schedules()
    organizations: dict[str, OrganizationEntry] = {}

    @field_validator("mappings", mode="before")
    @classmethod
    def _one_folder_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed where an unknown key was found (organisation ids are free names)."""
    if not loc:
        return sorted(ConfigFile.model_fields)
    if loc[0] == "schedules":
        return sorted(Schedules.model_fields)
    if loc[0] == "organizations" and len(loc) == 2:
        return sorted(OrganizationEntry.model_fields)
    if loc[0] == "organizations" and len(loc) == 4 and loc[2] == "policies":
        return sorted(PolicyPeriod.model_fields)
    return []


def config_errors(error: ValidationError, path: Path) -> str:
    sentences = []
    for problem in error.errors():
        loc = tuple(problem["loc"])
        key = ".".join(str(p) for p in loc)
        if problem["type"] == "extra_forbidden":
            known = _known_keys(loc[:-1])
            near = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f"; known keys: {', '.join(known)}"
            sentences.append(f"{path}: unknown key '{key}'{hint}")
        elif problem["type"] == "value_error" and loc[:1] == ("organizations",) and len(loc) == 2:
            sentences.append(
                f"{path}: organisation '{loc[1]}': {problem['msg'].removeprefix('Value error, ')}"
            )
        else:
            sentences.append(f"{path}: '{key}' {problem['msg'].lower()}")
    return "; ".join(sentences)


def read_config(path: Path) -> ConfigFile:
    raw = read_yaml(path) or {}
    try:
        return ConfigFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(config_errors(exc, path)) from exc


@dataclass(frozen=True)
class Organization:
    id: str
    name: dict[str, str]
    policy_path: Path  # the policy of the latest cycles (the only one when the regime never changed)
    attributes: tuple[str, ...] = ()
    # (first cycle, last cycle, policy file) per range of cycles; None = open; empty: policy_path throughout
    policy_periods: tuple[tuple[int | None, int | None, Path], ...] = ()

    def policy_path_for(self, cycle: int | None) -> Path:
        """The policy file in force for a cycle (None: the latest)."""
        if cycle is None or not self.policy_periods:
            return self.policy_path
        for first, last, path in self.policy_periods:
            if (first is None or first <= cycle) and (last is None or cycle <= last):
                return path
        raise ConfigError(f"organisation '{self.id}' names no policy for cycle {cycle} in calibra.yaml")


@dataclass(frozen=True)
class Settings:
    """Resolved paths. `home` holds the inbox and the database; the site is published to `site_dir`."""

    config_path: Path
    home: Path
    organizations: dict[str, Organization] = field(default_factory=dict)
    site_dir: Path | None = None
    mappings_dirs: tuple[Path, ...] = (PROJECT_ROOT / "mappings",)
    schedules: dict[str, Any] = field(default_factory=lambda: Schedules().model_dump())  # the schema's
    full_rebuild: bool = False  # every mart step rebuilds whole (CALIBRA_FULL_REBUILD=1 on the command line)

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def database(self) -> Path:
        return self.home / "calibra.duckdb"

    @property
    def site(self) -> Path:
        return self.site_dir or self.home / "site"

    @property
    def contracts_dir(self) -> Path:
        """Contracts are part of the product, not of an organisation's configuration."""
        return PROJECT_ROOT / "data-contracts"


def load_settings(
    config_path: Path | str | None = None, home: Path | str | None = None, site: Path | str | None = None
) -> Settings:
    """Read calibra.yaml (the project's when no path is given); `home` and `site`, when given, win over the
    file's. Nothing here reads the environment: the command line resolves CALIBRA_CONFIG, CALIBRA_HOME and
    CALIBRA_SITE (pipelines.settings) and hands the result to Dagster as resource configuration."""
    path = Path(config_path or PROJECT_ROOT / "calibra.yaml").resolve()
    config = read_config(path)
    base = path.parent
    home_value = home or config.home
    site_value = site or config.site
    organizations = {}
    for org_id, spec in config.organizations.items():
        periods = tuple(
            sorted(
                ((p.from_cycle, p.to_cycle, (base / p.policy).resolve()) for p in spec.policies),
                key=lambda period: -(10**9) if period[0] is None else period[0],
            )
        )
        organizations[org_id] = Organization(
            id=org_id,
            name=spec.name or {"nl": org_id, "en": org_id},
            policy_path=periods[-1][2] if periods else (base / str(spec.policy)).resolve(),
            attributes=tuple(spec.attributes),
            policy_periods=periods,
        )
    return Settings(
        config_path=path,
        mappings_dirs=tuple((base / folder).resolve() for folder in config.mappings),
        schedules=config.schedules.model_dump(),
        home=(base / home_value).resolve(),
        organizations=organizations,
        site_dir=(base / site_value).resolve() if site_value else None,
    )


@cache
def _cached_yaml(path: str) -> Any:
    return read_yaml(Path(path))


def cached_yaml(path: Path) -> Any:
    """YAML files are read once per process; they do not change during a run."""
    return _cached_yaml(str(path))
