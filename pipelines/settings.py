"""Where a command's settings come from, and how they reach Dagster.

A command-line value wins over the user's environment variable, which wins over calibra.yaml (README,
"Configuration"). This module is the only place calibra reads CALIBRA_CONFIG, CALIBRA_HOME and CALIBRA_SITE;
nothing downstream reads the environment. CALIBRA_FULL_REBUILD=1 is read here too and becomes the
resource's `full_rebuild`. The resolved settings reach a run as the configuration of the
`calibra` resource (`run_resource`); `calibra ui` hands them to `dagster dev` in the environment of that
process only (`ui_environment`), where the code location reads them through Dagster's own `EnvVar`
(`ui_resource`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from models.config import Settings, load_settings

if TYPE_CHECKING:  # Dagster is imported when a run is launched, not when the command line starts
    from pipelines.resources import CalibraResource

# resource field → the user's environment variable for it
ENVIRONMENT = {"config_path": "CALIBRA_CONFIG", "home": "CALIBRA_HOME", "site": "CALIBRA_SITE"}
FULL_REBUILD = "CALIBRA_FULL_REBUILD"  # "1": every mart step rebuilds whole


def full_rebuild(environment: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environment is None else environment).get(FULL_REBUILD, "").strip() == "1"


def from_environment(name: str, environment: Mapping[str, str] | None = None) -> str | None:
    value = (os.environ if environment is None else environment).get(ENVIRONMENT[name], "").strip()
    return value or None


def resolve(
    config: str | Path | None = None,
    home: str | Path | None = None,
    site: str | Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> Settings:
    """The settings of one command: its own options first, then the user's environment, then calibra.yaml."""
    settings = load_settings(
        config or from_environment("config_path", environment),
        home or from_environment("home", environment),
        site or from_environment("site", environment),
    )
    return replace(settings, full_rebuild=True) if full_rebuild(environment) else settings


def run_resource(settings: Settings, language: str = "nl", show_progress: bool = False) -> CalibraResource:
    """The `calibra` resource of a run launched with these settings: every path explicit, so that two runs in
    one process (or a later run with another home) never share a setting."""
    from pipelines.resources import CalibraResource

    return CalibraResource(
        config_path=str(settings.config_path),
        home=str(settings.home),
        site=str(settings.site),
        language=language,
        show_progress=show_progress,
        full_rebuild=settings.full_rebuild,
    )


def ui_environment(settings: Settings, dagster_home: Path) -> dict[str, str]:
    """The environment of the `dagster dev` process that `calibra ui` starts (ours is left as it is)."""
    return {
        **os.environ,
        ENVIRONMENT["config_path"]: str(settings.config_path),
        ENVIRONMENT["home"]: str(settings.home),
        ENVIRONMENT["site"]: str(settings.site),
        "DAGSTER_HOME": str(dagster_home),
    }


def ui_resource() -> CalibraResource:
    """The resource of the code location that `dagster dev` loads: each path from its environment variable
    through Dagster's EnvVar (resolved when a run or sensor starts), calibra.yaml's where it is not set."""
    import dagster as dg

    from pipelines.resources import CalibraResource

    def path(field: str) -> str:
        variable = dg.EnvVar(ENVIRONMENT[field])
        return variable if variable.get_value() else ""

    return CalibraResource(
        config_path=path("config_path"), home=path("home"), site=path("site"), full_rebuild=full_rebuild()
    )
