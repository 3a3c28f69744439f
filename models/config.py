"""Project configuration: where files live and which organisation uses which reward policy.

`ConfigFile` is the schema of calibra.yaml: an unknown or misspelt key fails at load with the file, the key
and the nearest known key, and the defaults live in the schema only.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class OrganizationEntry(_Strict):
    name: dict[str, str] | None = None  # None: the organisation id in every language
    policy: str  # the policy file, relative to calibra.yaml
    attributes: list[str] = []  # extra evaluation columns compared in the calibration-impact marts


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
        elif problem["type"] == "missing" and loc[:1] == ("organizations",) and loc[-1] == "policy":
            sentences.append(f"{path}: organisation '{loc[1]}' names no policy file")
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
    policy_path: Path
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Resolved paths. `home` holds the inbox and the database; the site is published to `site_dir`."""

    config_path: Path
    home: Path
    organizations: dict[str, Organization] = field(default_factory=dict)
    site_dir: Path | None = None
    mappings_dirs: tuple[Path, ...] = (PROJECT_ROOT / "mappings",)
    schedules: dict[str, Any] = field(default_factory=dict)

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
    """Read calibra.yaml; CALIBRA_CONFIG, CALIBRA_HOME and CALIBRA_SITE override the file."""
    path = Path(config_path or os.environ.get("CALIBRA_CONFIG") or PROJECT_ROOT / "calibra.yaml").resolve()
    config = read_config(path)
    base = path.parent
    home_value = home or os.environ.get("CALIBRA_HOME") or config.home
    site_value = site or os.environ.get("CALIBRA_SITE") or config.site
    organizations = {
        org_id: Organization(
            id=org_id,
            name=spec.name or {"nl": org_id, "en": org_id},
            policy_path=(base / spec.policy).resolve(),
            attributes=tuple(spec.attributes),
        )
        for org_id, spec in config.organizations.items()
    }
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
