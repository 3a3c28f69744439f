"""The `calibra` command as a user meets it: folders it will and will not touch, one-sentence errors, owner-only
files, rejected files set aside so that the next run goes on, and a run that loaded nothing not ending in 'done'.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest

from dashboards.site import SITE_MARKER, SiteFolderRefused, check_site_folder, swap_in_site
from models.config import PROJECT_ROOT, load_settings
from models.errors import CalibraError, FileRejected, os_error_sentence
from models.ingest import FileOutcome, entry_problem, file_sha256, inbox_files, set_aside
from models.warehouse import HOME_MARKER, check_home, connect, prepare_home
from pipelines.cli import main, step_failures


@pytest.fixture(autouse=True)
def _restore_umask() -> Iterator[None]:
    """`main()` makes its process owner-only (umask 077); in-process calls must not change later tests."""
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def calibra(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("CALIBRA_", "DAGSTER_HOME"))}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *argv],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("calibra"), stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr
    return lines[0]


# ------------------------------------------------------------------------------------ folders calibra replaces
def test_a_folder_that_is_not_a_calibra_site_is_never_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "begroting.xlsx").write_bytes(b"not calibra's")
    staging = tmp_path / ".site-build-x"
    staging.mkdir()
    (staging / "index.html").write_text("<html></html>")
    with pytest.raises(SiteFolderRefused, match="not empty and is not a calibra site"):
        swap_in_site(staging, folder)
    assert (folder / "begroting.xlsx").read_bytes() == b"not calibra's"
    assert not (tmp_path / "documents.previous").exists()


def test_a_calibra_site_is_replaced_owner_only_and_its_previous_copy_removed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for generation in ("first", "second"):
        staging = tmp_path / f".site-build-{generation}"
        (staging / "org").mkdir(parents=True)
        (staging / "org" / "page.html").write_text(generation)
        swap_in_site(staging, site)
    assert (site / "org" / "page.html").read_text() == "second"
    assert (site / SITE_MARKER).is_file()
    assert not (tmp_path / "site.previous").exists()
    modes = {p.relative_to(site).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in site.rglob("*")}
    assert stat.S_IMODE(site.stat().st_mode) == 0o700
    assert modes == {"org": 0o700, "org/page.html": 0o600, SITE_MARKER: 0o600}


def test_a_previous_folder_that_is_not_a_site_is_left_alone(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()  # empty: may become the site
    previous = tmp_path / "site.previous"
    previous.mkdir()
    (previous / "notes.txt").write_text("mine")
    staging = tmp_path / ".site-build-x"
    staging.mkdir()
    with pytest.raises(SiteFolderRefused, match=r"site\.previous exists and is not a calibra site"):
        swap_in_site(staging, site)
    assert (previous / "notes.txt").read_text() == "mine"


def test_a_site_built_before_the_marker_is_still_recognised(tmp_path: Path) -> None:
    old = tmp_path / "site"
    for name in ("index.html", "assets/site.css", "assets/site.js", "assets/plotly.min.js"):
        (old / name).parent.mkdir(parents=True, exist_ok=True)
        (old / name).write_text("x")
    check_site_folder(old)  # no error
    (old / "assets" / "site.js").unlink()
    with pytest.raises(SiteFolderRefused):
        check_site_folder(old)


def test_site_equal_to_home_is_refused_and_the_home_is_untouched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    prepare_home(home)
    (home / "inbox").mkdir()
    (home / "inbox" / "export.csv").write_text("a;b\n")
    result = calibra("run", "--home", str(home), "--site", str(home))
    assert result.returncode == 2
    assert "is not empty and is not a calibra site" in one_sentence(result.stderr)
    assert (home / "inbox" / "export.csv").read_text() == "a;b\n"


def test_a_home_must_exist_unless_asked_for_and_hold_nothing_else(tmp_path: Path) -> None:
    typo = tmp_path / "hmoe"
    result = calibra("ingest", "--home", str(typo))
    assert result.returncode == 2 and "--create" in one_sentence(result.stderr)
    assert not typo.exists()  # a mistyped home is not created
    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "README.md").write_text("someone else's")
    result = calibra("ingest", "--home", str(foreign), "--create")
    assert "not empty and is not a calibra home" in one_sentence(result.stderr)
    assert sorted(p.name for p in foreign.iterdir()) == ["README.md"]
    check_home(tmp_path / "new", create=True)  # asked for: fine
    empty = tmp_path / "empty"
    empty.mkdir()
    check_home(empty, create=False)
    prepare_home(empty)
    assert (empty / HOME_MARKER).is_file() and stat.S_IMODE(empty.stat().st_mode) & 0o077 == 0
    (empty / "something.txt").write_text("x")
    check_home(empty, create=False)  # a calibra home may hold other files


# ------------------------------------------------------------------------------------ one-sentence errors
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["sample", "--out", "x", "--employees", "0"], "--employees: 0 is too small"),
        (["sample", "--out", "x", "--cycles", "-1"], "--cycles: -1 is too small"),
        (["serve", "--port", "99999"], "port 99999 does not exist"),
        (["ui", "--port", "70000"], "port 70000 does not exist"),
        (["run", "--lang", "fr"], "invalid choice: 'fr'"),
        (["nonsense"], "invalid choice: 'nonsense'"),
    ],
)
def test_usage_errors_are_one_sentence(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert says in one_sentence(capsys.readouterr().err)


def test_debug_works_anywhere_on_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "missing")
    assert main(["ingest", "--home", missing]) == 2
    one_sentence(capsys.readouterr().err)
    for argv in (["--debug", "ingest", "--home", missing], ["ingest", "--home", missing, "--debug"]):
        with pytest.raises(CalibraError, match="does not exist"):
            main(argv)


def test_operating_system_errors_name_the_path_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "inbox" / "x.csv"))
    assert (
        os_error_sentence(full)
        == f"cannot write or read {tmp_path}/inbox/x.csv: the disk is full; free some space and run again"
    )
    read_only = OSError(errno.EROFS, "Read-only file system")
    assert "read-only" in os_error_sentence(read_only, tmp_path)

    # the database on a read-only file system (DuckDB words it in its own exception)
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise duckdb.IOException(
            f'IO Error: Cannot open file "{tmp_path}/calibra.duckdb": Read-only file system'
        )

    monkeypatch.setattr(duckdb, "connect", refuse)
    pattern = r"cannot open the database .*calibra\.duckdb: the file system is read-only"
    with pytest.raises(CalibraError, match=pattern), connect(tmp_path / "calibra.duckdb"):
        pass
    monkeypatch.undo()

    # copying into the inbox on a full disk: one sentence from the command
    export = tmp_path / "export.csv"
    export.write_text("a\n")

    def no_space(*_args: object, **_kwargs: object) -> None:
        raise full

    monkeypatch.setattr("shutil.copyfile", no_space)
    home = tmp_path / "home"
    assert main(["ingest", "--home", str(home), "--create", str(export)]) == 2
    assert "the disk is full" in one_sentence(capsys.readouterr().err)


def test_a_failed_step_is_told_by_its_cause() -> None:
    """Dagster wraps a step's exception; the command shows the innermost one as one sentence."""

    def failure(step: str, cls_name: str, message: str) -> SimpleNamespace:
        inner = SimpleNamespace(cls_name=cls_name, message=f"{cls_name}: {message}\n", cause=None)
        outer = SimpleNamespace(cls_name="DagsterExecutionStepExecutionError", message="Error", cause=inner)
        return SimpleNamespace(
            is_step_failure=True, step_key=step, step_failure_data=SimpleNamespace(error=outer)
        )

    result = SimpleNamespace(
        all_events=[
            failure(
                "site", "OSError", "[Errno 28] No space left on device: '/data/site/.site-build-1/x.html'"
            ),
            failure("staging__payroll", "ConfigError", "mapping file m.yaml: unknown kind 'loon'"),
            failure(
                "marts__x",
                "IOException",
                'IO Error: Cannot open file "/data/calibra.duckdb": Read-only file system',
            ),
            failure("marts__y", "ZeroDivisionError", "division by zero"),
        ]
    )
    settings = SimpleNamespace(home=Path("/data"))
    assert step_failures(result, settings) == [  # type: ignore[arg-type]
        "site: cannot use /data/site/.site-build-1/x.html: the disk is full; free some space and run again",
        "staging__payroll: mapping file m.yaml: unknown kind 'loon'",
        "marts__x: cannot use /data/calibra.duckdb: the file system is read-only; choose a writable folder "
        "(--home) or remount it writable",
        "marts__y failed with ZeroDivisionError (see `calibra ui` or rerun with --debug)",
    ]


# ------------------------------------------------------------------------------------ the inbox
def test_refused_entries_and_rejected_files_are_set_aside_with_a_note(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.csv").write_text("x")
    os.mkfifo(inbox / "pijp.csv")
    (inbox / "link.csv").symlink_to(tmp_path / "elsewhere.csv")  # dangling: never followed
    (inbox / ".verborgen.csv").write_text("hidden files are not exports")
    assert [p.name for p in inbox_files(inbox)] == ["a.csv", "link.csv", "pijp.csv"]
    assert entry_problem(inbox / "a.csv") is None
    assert "symbolic link" in (entry_problem(inbox / "link.csv") or "")
    assert "named pipe" in (entry_problem(inbox / "pijp.csv") or "")
    for name in ("a.csv", "pijp.csv", "link.csv"):
        path = inbox / name
        error = FileRejected(name, "a reason", rule="structure")
        moved = set_aside(path, FileOutcome(name, file_sha256(path), "rejected", message=str(error)), inbox)
        assert moved == tmp_path / "rejected" / name and not path.exists() and not path.is_symlink()
    (inbox / "a.csv").write_text("y")  # the same name again: kept apart by its fingerprint
    sha = file_sha256(inbox / "a.csv")
    again = set_aside(inbox / "a.csv", FileOutcome("a.csv", sha, "rejected", message="m"), inbox)
    assert again == tmp_path / "rejected" / f"a.{sha[:12]}.csv"
    rejected = tmp_path / "rejected"
    assert (rejected / "link.csv").is_symlink() and stat.S_ISFIFO((rejected / "pijp.csv").lstat().st_mode)
    note = rejected / "a.csv.reason.txt"
    assert "(rule: structure)" in note.read_text() and stat.S_IMODE(note.stat().st_mode) == 0o600
    assert stat.S_IMODE(rejected.stat().st_mode) == 0o700


CANONICAL = "organization,cycle,employee_id,salary_scale,annual_salary,fte,department\n"


def test_a_bad_file_blocks_no_later_run_and_a_run_that_loads_nothing_says_so(tmp_path: Path) -> None:
    """`calibra ingest` copies exports owner-only. A file no mapping knows ends its run with exit 1 and is
    moved to rejected/ with a note; the next run loads the new files, and a file whose rows were all held
    back makes that run end with exit 1 and the most frequent reason."""
    home = tmp_path / "home"
    exports = tmp_path / "exports"
    exports.mkdir()
    unknown = exports / "onbekend.csv"
    unknown.write_text("a;b\n1;2\n")
    os.chmod(unknown, 0o644)
    first = calibra("ingest", "--home", str(home), "--create", "--quiet", str(unknown))
    assert first.returncode == 1, first.stderr
    assert "onbekend.csv" in first.stdout and "moved to" in first.stdout
    assert "DagsterAssetCheckFailedError" not in first.stderr
    assert not (home / "inbox" / "onbekend.csv").exists()
    note = home / "rejected" / "onbekend.csv.reason.txt"
    assert note.read_text().startswith("file onbekend.csv: no mapping")
    assert stat.S_IMODE((home / "inbox").stat().st_mode) == 0o700
    dagster = home / "dagster"
    assert all(
        stat.S_IMODE(p.stat().st_mode) & 0o077 == 0
        for p in [dagster, *dagster.rglob("*")]
        if not p.is_symlink()
    )

    all_bad = exports / "zeeland-demo_payroll_2031.csv"
    all_bad.write_text(CANONICAL + "".join(f"zeeland-demo,2031,E{i},8,41000,80%,Fin\n" for i in range(3)))
    good = exports / "zeeland-demo_payroll_2032.csv"
    good.write_text(CANONICAL + "zeeland-demo,2032,E1,8,41000,1,Fin\n")
    os.chmod(good, 0o644)
    second = calibra("ingest", "--home", str(home), "--quiet", str(all_bad), str(good))
    assert second.returncode == 1, second.stderr
    assert (
        "file zeeland-demo_payroll_2031.csv: all 3 rows were held back in quarantine (most often column 'fte', "
        "rule type:decimal: 3 rows)" in second.stderr
    )
    assert stat.S_IMODE((home / "inbox" / good.name).stat().st_mode) == 0o600  # the export itself was 0644
    con = duckdb.connect(str(home / "calibra.duckdb"), read_only=True)
    try:
        loaded = con.execute(
            "SELECT file_name, status, rows_loaded FROM audit.load_ledger ORDER BY file_name"
        ).fetchall()
    finally:
        con.close()
    assert loaded == [
        ("onbekend.csv", "rejected", 0),
        (all_bad.name, "loaded_with_quarantine", 0),
        (good.name, "loaded", 1),
    ]


# ------------------------------------------------------------------------------------ the UI and whatif
def test_the_inbox_sensor_and_the_cycle_schedules_start_running() -> None:
    import dagster as dg

    from pipelines.schedules import cycle_calendar
    from pipelines.sensors import inbox_sensor

    assert inbox_sensor.default_status == dg.DefaultSensorStatus.RUNNING
    schedules = cycle_calendar(load_settings())
    assert schedules and {s.default_status for s in schedules} == {dg.DefaultScheduleStatus.RUNNING}
    assert "dagster sensor stop inbox_sensor" in (PROJECT_ROOT / "docs" / "operations.md").read_text()


def test_whatif_takes_department_labels_and_outcome_labels_case_insensitively() -> None:
    from models.forecast import Move
    from models.policy import load_policy
    from pipelines.whatif_cli import resolve_moves

    policy = load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")
    departments = ["Data en Analyse", "Economie"]
    [move] = resolve_moves([Move("economie ", 2, "Normaal", "ZEER GOED")], departments, policy)
    assert (move.department, move.n, move.source, move.target) == ("Economie", 2, "normaal", "zeer_goed")
    with pytest.raises(CalibraError, match="known departments: Data en Analyse, Economie"):
        resolve_moves([Move("Financien", 1, "normaal", "zeer_goed")], departments, policy)


@pytest.mark.parametrize("n", ["1.5", "0", "-2", "twee"])
def test_whatif_moves_whole_people(n: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["whatif", "--home", str(tmp_path), "--org", "zeeland-demo", "-d", "X", "--move", n, "a", "b"]
    )
    assert code == 2
    assert "give a whole number of 1 or more" in one_sentence(capsys.readouterr().err)


# ------------------------------------------------------------- settings reach Dagster as resource configuration
SETTING_VARIABLES = ("CALIBRA_CONFIG", "CALIBRA_HOME", "CALIBRA_SITE", "DAGSTER_HOME")


def setting_variables() -> dict[str, str | None]:
    """The variables through which the command line used to hand its settings on (Great Expectations sets
    one of its own, SF_PARTNER, which is not calibra's)."""
    return {name: os.environ.get(name) for name in SETTING_VARIABLES}


# Run in a fresh interpreter: an audit hook lists every file opened while pipelines.definitions is imported
# (its dependencies are imported first, so that only calibra's own import-time work is seen).
IMPORT_PROBE = """
import os, sys
import dagster, duckdb, polars, yaml  # noqa: F401
import models.config, models.policy  # noqa: F401
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append(os.fsdecode(args[0]))
sys.addaudithook(hook)
import pipelines.definitions  # noqa: F401
print("\\n".join(path for path in opened if not path.endswith((".py", ".pyc", ".so"))))
"""


def test_importing_the_code_location_reads_no_configuration_or_policy(tmp_path: Path) -> None:
    """Nothing is read at import time: not calibra.yaml (here: one that does not exist), not a policy. The
    contracts are the product's own schema, from which the ingest assets take their descriptions."""
    missing = tmp_path / "nowhere" / "calibra.yaml"
    env = {k: v for k, v in os.environ.items() if k not in SETTING_VARIABLES} | {
        "CALIBRA_CONFIG": str(missing)
    }
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    opened = [Path(line) for line in result.stdout.splitlines() if line.strip()]
    in_project = [p for p in opened if p.is_relative_to(PROJECT_ROOT) and ".venv" not in p.parts]
    assert in_project, "the probe saw no file of the project: it does not see what it should"
    assert all(p.parent == PROJECT_ROOT / "data-contracts" for p in in_project), in_project
    assert not any(p.suffix in {".yaml", ".yml"} and p.parent.name == "policies" for p in opened)
    assert str(missing) not in result.stdout


def test_the_code_location_reads_the_configuration_when_dagster_loads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`calibra ui` hands its settings to `dagster dev` as environment variables; the code location reads them
    when it loads (Dagster's EnvVar for the resource), and a missing calibra.yaml is told then."""
    from models.errors import ConfigError
    from pipelines.definitions import defs

    monkeypatch.setenv("CALIBRA_CONFIG", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(ConfigError, match=r"nowhere\.yaml does not exist"):
        defs()
    monkeypatch.setenv("CALIBRA_CONFIG", str(PROJECT_ROOT / "calibra.yaml"))
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    (home / "inbox" / "zeeland_salarisschalen.csv").write_text("any bytes: the sensor only hashes\n")
    monkeypatch.setenv("CALIBRA_HOME", str(home))
    definitions = defs()
    assert {s.name for s in definitions.schedules or []} >= {"calibration_vo_demo", "budget_zeeland_demo"}
    sensor = definitions.get_sensor_def("inbox_sensor")
    result = sensor(dg.build_sensor_context(resources=definitions.resources))
    assert isinstance(result, dg.SensorResult) and len(result.run_requests or []) == 1
    monkeypatch.setenv("CALIBRA_HOME", str(tmp_path / "other"))  # another home: nothing new there
    assert isinstance(sensor(dg.build_sensor_context(resources=defs().resources)), dg.SkipReason)


def test_calibra_ui_passes_its_settings_to_dagster_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(subprocess, "call", lambda command, env: started.append((command, env)) or 0)
    before = setting_variables()
    home, site = tmp_path / "home", tmp_path / "site"
    assert main(["ui", "--home", str(home), "--create", "--site", str(site), "--port", "3999"]) == 0
    assert setting_variables() == before
    [(command, env)] = started
    assert command[-1] == "3999"
    assert env["CALIBRA_HOME"] == str(home) and env["CALIBRA_SITE"] == str(site)
    assert env["CALIBRA_CONFIG"] == str(PROJECT_ROOT / "calibra.yaml")


@pytest.mark.pipeline
def test_two_runs_with_different_homes_in_one_process_share_no_setting(tmp_path: Path) -> None:
    from models.sample import write_sample

    write_sample(tmp_path / "sample", seed=3, employees=60, cycles=1)
    export = tmp_path / "sample" / "inbox" / "zeeland_salarisschalen.csv"
    first, second = tmp_path / "first", tmp_path / "second"
    before = setting_variables()
    assert main(["ingest", "--home", str(first), "--create", "--quiet", str(export)]) == 0
    assert setting_variables() == before  # the command wrote nothing into its process's environment
    assert main(["ingest", "--home", str(second), "--create", "--quiet"]) == 0
    assert setting_variables() == before

    def ledger(home: Path) -> list[str]:
        with connect(home / "calibra.duckdb", read_only=True) as con:
            return [name for (name,) in con.execute("SELECT file_name FROM audit.load_ledger").fetchall()]

    assert ledger(first) == [export.name]
    assert ledger(second) == []  # the second run read its own (empty) inbox, not the first's
    assert not (second / "inbox" / export.name).exists()


def test_an_option_wins_over_the_environment_which_wins_over_calibra_yaml(tmp_path: Path) -> None:
    from pipelines.resources import CalibraResource
    from pipelines.settings import resolve, run_resource

    config = PROJECT_ROOT / "calibra.yaml"
    environment = {"CALIBRA_HOME": str(tmp_path / "from-env"), "CALIBRA_FULL_REBUILD": "1"}
    assert resolve(config, environment={}).home == PROJECT_ROOT / "var"  # calibra.yaml's `home: var`
    from_env = resolve(config, environment=environment)
    assert from_env.home == tmp_path / "from-env" and from_env.site == tmp_path / "from-env" / "site"
    assert from_env.full_rebuild and not resolve(config, environment={}).full_rebuild
    assert resolve(config, tmp_path / "option", environment=environment).home == tmp_path / "option"
    # what the run's resource carries is what it gives the assets, whatever the process's environment says
    resource = run_resource(from_env, language="en")
    assert resource.full_rebuild and resource.language == "en"
    given = resource.settings()
    assert (given.config_path, given.home, given.site, given.full_rebuild) == (
        from_env.config_path,
        from_env.home,
        from_env.site,
        True,
    )
    assert not CalibraResource(config_path=str(config), home=str(tmp_path)).settings().full_rebuild
