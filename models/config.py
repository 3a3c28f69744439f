"""Project configuration: where files live and which organisation uses which reward policy."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

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
    raw = read_yaml(path) or {}
    base = path.parent
    home_value = home or os.environ.get("CALIBRA_HOME") or raw.get("home", "var")
    site_value = site or os.environ.get("CALIBRA_SITE") or raw.get("site")
    organizations = {}
    for org_id, spec in (raw.get("organizations") or {}).items():
        if "policy" not in spec:
            raise ConfigError(f"{path}: organisation '{org_id}' names no policy file")
        organizations[org_id] = Organization(
            id=org_id,
            name=spec.get("name", {"nl": org_id, "en": org_id}),
            policy_path=(base / spec["policy"]).resolve(),
            attributes=tuple(spec.get("attributes", ())),
        )
    mappings = raw.get("mappings", ["mappings"])
    mappings = [mappings] if isinstance(mappings, str) else mappings
    return Settings(
        config_path=path,
        mappings_dirs=tuple((base / folder).resolve() for folder in mappings),
        schedules=dict(raw.get("schedules") or {}),
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
