"""Shared fixtures: an isolated calibra home (own key, database, site) and a small sample run through Dagster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from models.config import PROJECT_ROOT, Settings, load_settings


@pytest.fixture(autouse=True, scope="session")
def _isolated_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never touch the developer's key file or database."""
    key_dir = tmp_path_factory.mktemp("key")
    old = {k: os.environ.get(k) for k in ("CALIBRA_KEY_FILE", "CALIBRA_PSEUDONYM_KEY", "DAGSTER_HOME")}
    os.environ["CALIBRA_KEY_FILE"] = str(key_dir / "pseudonym.key")
    os.environ.pop("CALIBRA_PSEUDONYM_KEY", None)
    for name in ("CALIBRA_HOME", "CALIBRA_CONFIG", "CALIBRA_SITE"):  # tests never use the caller's home
        os.environ.pop(name, None)
    os.environ["DAGSTER_HOME"] = str(tmp_path_factory.mktemp("dagster"))
    (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def _restore_calibra_environment() -> Iterator[None]:
    """The CLI writes its --home/--config/--site into the environment of its process; in-process CLI tests
    must not leak them into the next test."""
    names = ("CALIBRA_HOME", "CALIBRA_CONFIG", "CALIBRA_SITE", "DAGSTER_HOME")
    saved = {name: os.environ.get(name) for name in names}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty calibra home in a temporary folder, with the project's calibra.yaml."""
    monkeypatch.setenv("CALIBRA_CONFIG", str(PROJECT_ROOT / "calibra.yaml"))
    monkeypatch.setenv("CALIBRA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CALIBRA_SITE", str(tmp_path / "site"))
    settings = load_settings()
    settings.inbox.mkdir(parents=True)
    return settings


@dataclass
class SampleRun:
    settings: Settings
    manifest: dict
    success: bool

    def query(self, sql: str) -> pl.DataFrame:
        con = duckdb.connect(str(self.settings.database), read_only=True)
        try:
            relation = con.sql(sql)
            return relation.pl() if relation is not None else pl.DataFrame()
        finally:
            con.close()


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """The small sample (900 employees × 3 cycles) run once through the whole Dagster pipeline."""
    import json

    import dagster as dg

    from models.sample import write_sample
    from pipelines.definitions import all_assets
    from pipelines.resources import CalibraResource

    root = tmp_path_factory.mktemp("sample_run")
    write_sample(root / "home", seed=7, employees=900, cycles=3)
    config = str(PROJECT_ROOT / "calibra.yaml")
    resource = CalibraResource(config_path=config, home=str(root / "home"), site=str(root / "site"))
    result = dg.materialize(all_assets, resources={"calibra": resource}, raise_on_error=False)
    settings = load_settings(config, root / "home", root / "site")
    manifest = json.loads((root / "home" / "manifest.json").read_text())
    return SampleRun(settings=settings, manifest=manifest, success=result.success)
