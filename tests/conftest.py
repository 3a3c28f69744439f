"""Shared fixtures: an isolated calibra home (own key, database, site) and a small sample run through Dagster;
and the test tiers.

Tiers are pytest markers, applied here from what a test uses so that a new test lands in its tier without a
decorator (`make test` = not soak, `make test-fast` = none of the four, `make soak` = soak):

- `pipeline`: the test runs the pipeline — it uses the session's `sample_run` (directly or through a fixture),
  or its code, a fixture's code or a helper of its module calls `materialize(`, runs a job in process or starts
  `calibra run`;
- `browser`: the test drives headless Chromium (the `chromium` fixture, or a module that imports the browser
  helper);
- `process`: the test starts a child process (calibra's command line, Python under a memory limit, git) —
  directly, through a fixture or through a helper of its module; each costs an interpreter start and imports;
- `soak`: the slow tests named in SOAK below, which `make test` leaves to `make soak`.
"""

from __future__ import annotations

import ast
import fcntl
import inspect
import os
import pickle
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import duckdb
import polars as pl
import pytest

from models.config import PROJECT_ROOT, Settings, load_settings


@pytest.fixture(autouse=True, scope="session")
def _isolated_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never touch the developer's key file or database."""
    shared = _shared_folder(tmp_path_factory)
    # One key for the session's workers: they share the sample run, pseudonymised with it.
    key_dir = tmp_path_factory.mktemp("key") if shared is None else shared / "key"
    old = {k: os.environ.get(k) for k in ("CALIBRA_KEY_FILE", "CALIBRA_PSEUDONYM_KEY", "DAGSTER_HOME")}
    os.environ["CALIBRA_KEY_FILE"] = str(key_dir / "pseudonym.key")
    os.environ.pop("CALIBRA_PSEUDONYM_KEY", None)
    if shared is not None:
        from models.pseudonym import load_key

        with _session_lock(shared, "key"):
            load_key()  # created once, by the first worker
    # Tests never use the caller's home: the command line reads these (pipelines.settings) and never writes
    # them, so clearing them once for the session is enough.
    for name in ("CALIBRA_HOME", "CALIBRA_CONFIG", "CALIBRA_SITE"):
        os.environ.pop(name, None)
    os.environ["DAGSTER_HOME"] = str(tmp_path_factory.mktemp("dagster"))
    (Path(os.environ["DAGSTER_HOME"]) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The folder every xdist worker of this session shares (None when the tests run in one process)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return None
    return tmp_path_factory.getbasetemp().parent


@contextmanager
def _session_lock(shared: Path, name: str) -> Iterator[None]:
    """An exclusive lock among the session's workers (released by the OS if a worker dies)."""
    with open(shared / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_sample(root: Path) -> bool:
    from models.sample import write_sample
    from pipelines.definitions import all_assets
    from pipelines.resources import CalibraResource, long_lived_objects_frozen
    from pipelines.runs import materialize

    write_sample(root / "home", seed=7, employees=900, cycles=3)
    config = str(PROJECT_ROOT / "calibra.yaml")
    resource = CalibraResource(config_path=config, home=str(root / "home"), site=str(root / "site"))
    with (
        long_lived_objects_frozen()
    ):  # as `calibra run` does: the worker's objects are not rescanned per step
        result = materialize(all_assets, resources={"calibra": resource}, raise_on_error=False)
    return bool(result.success)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> SampleRun:
    """The small sample (900 employees × 3 cycles) run once through the whole Dagster pipeline. With xdist the
    first worker that needs it builds it and every worker copies it (so a test that writes into its home or
    site touches only its own copy): one build per session instead of one per worker, while the other worker
    goes on with modules that do not need it."""
    import json

    root = tmp_path_factory.mktemp("sample_run")
    shared = _shared_folder(tmp_path_factory)
    if shared is None:
        success = _build_sample(root)
    else:
        built = shared / "sample_run"
        with _session_lock(shared, "sample_run"):
            if not (built / "built.json").exists():
                (built / "built.json").parent.mkdir(exist_ok=True)
                (built / "built.json").write_text(json.dumps({"success": _build_sample(built)}))
        success = json.loads((built / "built.json").read_text())["success"]
        for folder in ("home", "site"):
            if (built / folder).exists():
                shutil.copytree(built / folder, root / folder, symlinks=True)
    config = str(PROJECT_ROOT / "calibra.yaml")
    settings = load_settings(config, root / "home", root / "site")
    manifest = json.loads((root / "home" / "manifest.json").read_text())
    return SampleRun(settings=settings, manifest=manifest, success=success)


@pytest.fixture(scope="session")
def sample_publication(sample_run: SampleRun, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The sample's marts as the publish step reads them, and their publication at the policy defaults (k = 5,
    amounts 10, dominance 30%): computed once for every test that attacks or counts the published tables."""
    from models.privacy import Thresholds, publish_tables
    from pipelines.assets.publish import read_sources

    assert sample_run.success, "the sample run must succeed"

    def publish():  # type: ignore[no-untyped-def]
        con = duckdb.connect(str(sample_run.settings.database), read_only=True)
        try:
            sources = read_sources(con, include_worklist=True)
        finally:
            con.close()
        limits = {
            org: Thresholds(k=5, k_amounts=10, dominance=0.30) for org in sample_run.settings.organizations
        }
        return sources, publish_tables(sources, limits)

    shared = _shared_folder(tmp_path_factory)
    if shared is None:
        return publish()
    # Computed by the first worker that needs it, read by the others (the workers share the sample run).
    stored = shared / "sample_publication.pickle"
    with _session_lock(shared, "sample_publication"):
        if not stored.exists():
            stored.write_bytes(pickle.dumps(publish()))
    return pickle.loads(stored.read_bytes())


# ------------------------------------------------------------------------------------------------ test tiers
# The slow tier, by node id (module::test or module::*). What `make test` keeps instead: test_faults' quick
# study (one kill -9 and its recovery), test_browser's one page of every kind (hand-built and sample),
# test_bench's pure tests.
SOAK = (
    "test_faults.py::test_every_kill_leaves_a_sound_database",
    "test_faults.py::test_kills_landed_in_the_phases_they_targeted",
    "test_faults.py::test_rerun_after_kills_ends_like_a_clean_run",
    "test_faults.py::test_killed_publishing_leaves_the_previous_site",
    "test_faults.py::test_a_second_run_at_the_same_time_is_refused_in_one_sentence",
    "test_faults.py::test_a_contract_failure_stops_marts_and_site_in_the_same_run",
    "test_browser.py::test_every_sample_page_renders_offline",
    "test_browser.py::test_every_hand_built_page_renders_offline",
    # covered in make test by test_labels.py's check of every chart on every page kind
    "test_browser.py::test_every_category_on_a_y_axis_has_its_label",
    # the parallel site build against the serial one (35 s): the sample site itself is checked in make test
    "test_site.py::test_the_site_built_one_organisation_at_a_time_is_the_site_of_publish_tables",
    # its companion (the attacker recovers nothing from the organisation site) stays in make test
    "test_attacks.py::test_the_organisation_site_attacker_sees_the_left_out_category_in_totals_over_everyone",
    # the publish step's evaluator report, cycle by cycle against whole, on the sample (63 s on two cores): the
    # same equivalence on generated tables (test_evaluator_report.py) stays in make test
    "test_site.py::test_the_publish_step_protects_the_evaluator_report_one_cycle_at_a_time",
    # each cycle's management release protected alone against all cycles together, on the sample (32 s)
    "test_site.py::test_a_cycles_management_release_does_not_depend_on_the_other_cycles",
    # the UI's calibra_all job run twice on its own instance (34 s): the runs it makes (pipelines.runs) are
    # checked in make test by test_increments.py, a run with nothing changed included
    "test_partitions.py::test_the_uis_job_materialises_the_new_partitions_and_then_none",
    "test_bench.py::test_every_run_reports_every_stage",
    "test_bench.py::test_the_numbers_are_positive",
    "test_bench.py::test_the_agreement_checks_passed",
    "test_bench.py::test_the_targets_are_reported_but_not_judged_at_a_tiny_size",
)
# Code that runs the pipeline: a Dagster materialisation, a job run in process (the UI's `calibra_all`), or
# `calibra run` (in process or as a subprocess).
RUNS_PIPELINE = re.compile(
    r"\bmaterialize\(|\.execute_in_process\(|[\"']pipelines\.cli[\"'],\s*[\"']run[\"']|\bcmd_run\("
)
# Code that starts a child process.
STARTS_PROCESS = re.compile(r"\bsubprocess\.(?:run|Popen|check_output|check_call)\(")
BROWSER_FIXTURES = {"chromium"}


def _source(function: Callable[..., object]) -> str:
    try:
        return inspect.getsource(inspect.unwrap(function))
    except (OSError, TypeError):
        return ""


@cache
def _helpers(module: ModuleType, pattern: re.Pattern[str]) -> frozenset[str]:
    """Names of the module's own functions whose code matches `pattern` (one level of helpers)."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return frozenset()
    text = inspect.getsource(module)
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and pattern.search(ast.get_source_segment(text, node) or "")
    )


def _code_does(item: pytest.Function, pattern: re.Pattern[str]) -> bool:
    """The test's code, a fixture's code (not pytest's or conftest's) or a helper of its module they call
    matches `pattern`."""
    functions: list[Callable[..., object]] = [item.function]
    for name in set(item.fixturenames):
        for definition in item._fixtureinfo.name2fixturedefs.get(name, ()):
            origin = getattr(definition.func, "__module__", "") or ""
            # pytest's own fixtures do neither; this file's are judged by name (sample_run)
            if not origin.startswith(("_pytest", "pytest")) and not origin.endswith("conftest"):
                functions.append(definition.func)
    helpers = _helpers(item.module, pattern) if item.module is not None else frozenset()
    for function in functions:
        code = _source(function)
        if pattern.search(code):
            return True
        if helpers and any(re.search(rf"\b{re.escape(name)}\(", code) for name in helpers):
            return True
    return False


def _runs_pipeline(item: pytest.Function) -> bool:
    # also when a fixture the test uses depends on the session's sample run
    return "sample_run" in item.fixturenames or _code_does(item, RUNS_PIPELINE)


@cache
def _uses_the_browser_helper(module: ModuleType | None) -> bool:
    """A module that imports tests/browser.py (headless Chromium) is a browser module."""
    return module is not None and any(
        getattr(value, "__module__", None) == "browser" or getattr(value, "__name__", None) == "browser"
        for value in vars(module).values()
    )


def _in_soak(nodeid: str) -> bool:
    path, _, name = nodeid.partition("::")
    key = f"{Path(path).name}::{name.split('[')[0]}"
    return key in SOAK or f"{Path(path).name}::*" in SOAK


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.Function):
            continue
        if _runs_pipeline(item):
            item.add_marker(pytest.mark.pipeline)
        if BROWSER_FIXTURES & set(item.fixturenames) or _uses_the_browser_helper(item.module):
            item.add_marker(pytest.mark.browser)
        if _code_does(item, STARTS_PROCESS):
            item.add_marker(pytest.mark.process)
        if _in_soak(item.nodeid):
            item.add_marker(pytest.mark.soak)
    _longest_modules_first(items)


# How much heavier a test that runs the pipeline, a browser or a child process is than one that does not.
HEAVY = {"pipeline": 20, "browser": 10, "process": 10}


def _longest_modules_first(items: list[pytest.Item]) -> None:
    """Order whole modules for the two workers (the Makefile turns off xdist's own order, by number of tests):
    first the heaviest module that needs the session's sample run, so one worker starts building it; then the
    modules with pipeline runs or child processes of their own, which the other worker goes on with meanwhile;
    then the rest of the sample's modules; the many short modules last, to fill in at the end instead of one
    worker finishing a long module alone. Within each group, heaviest first (marks weigh as HEAVY)."""
    cost: dict[str, int] = {}
    uses_sample: set[str] = set()
    heavy: set[str] = set()
    for item in items:
        module = item.nodeid.partition("::")[0]
        weight = 1 + sum(w for name, w in HEAVY.items() if item.get_closest_marker(name) is not None)
        cost[module] = cost.get(module, 0) + weight
        if weight > 1:
            heavy.add(module)
        if "sample_run" in getattr(item, "fixturenames", ()):
            uses_sample.add(module)
    sample_modules = sorted(uses_sample, key=lambda m: -cost[m])
    first = sample_modules[0] if sample_modules else None

    def group(module: str) -> int:
        if module == first:
            return 0
        if module in uses_sample:
            return 2
        return 1 if module in heavy else 3

    # stable: a module's own order is kept
    items.sort(key=lambda item: (group(m := item.nodeid.partition("::")[0]), -cost[m]))
