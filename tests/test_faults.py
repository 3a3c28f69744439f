"""Crashes and concurrency: `calibra run` killed with SIGKILL during ingest, a mart build and publishing; two
runs at once; a contract failure in the middle of a run.

`calibra run` runs as a subprocess on a small sample (Province of Zeeland, 40 employees, one cycle) with its
own CALIBRA_HOME. Each kill waits for the run's own progress line of the phase it targets (a proper wait), then
adds a random delay and sends SIGKILL. After every kill: the database opens, every file is wholly loaded with
its ledger row or not at all, and the site is the previous complete one. The re-run must end equal (staging,
ledger, quarantine, mart row counts) to a clean run of ingest and marts over the same inbox in a second home,
built meanwhile in this process.

The kill points are random on every run of this test (the seed is in every failure message;
CALIBRA_FAULT_SEED=<n> repeats one). CALIBRA_FAULT_ROUNDS=<n> repeats the kill sequence n times for a longer
soak; one round costs three `calibra run`s (a start-up, Great Expectations and the site's disclosure control
dominate their cost).

Tiers: `make test` runs the quick `recovery` (one kill during ingest or a mart build, and the run after it);
the full `study` is the soak tier (`make soak`; tests/conftest.py names its tests).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import duckdb
import pytest

from models.config import PROJECT_ROOT
from models.contracts import KINDS
from models.warehouse import connect

DEADLINE = 900.0  # seconds; generous because CI machines can be very busy — never an assertion on time
STAGING_LINE = re.compile(r"^  · (inbox:|(awards|evaluations|payroll|salary_scales) \[)")
MART_LINE = re.compile(r"^  · (?!inbox:|site:|(awards|evaluations|payroll|salary_scales) \[)")
SITE_LINE = re.compile(r"^  · site:")
START_LINE = re.compile(r"^calibra run: ingest")


@dataclass
class Home:
    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def database(self) -> Path:
        return self.home / "calibra.duckdb"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # the run's own: home/dagster
        env.update(
            CALIBRA_CONFIG=str(PROJECT_ROOT / "calibra.yaml"),
            CALIBRA_HOME=str(self.home),
            CALIBRA_SITE=str(self.site),
            PYTHONUNBUFFERED="1",
        )
        return env


class Run:
    """`calibra run` as a subprocess; its stderr lines are collected as they come."""

    def __init__(self, home: Home) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "run"],
            cwd=PROJECT_ROOT,
            env=home.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.stamps: list[float] = []  # time.monotonic() when each stderr line arrived
        self.ended_at = 0.0
        self.stdout = ""
        self.killed = False
        self._done = False
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self.stamps.append(time.monotonic())
                self._changed.notify_all()
        with self._changed:
            self.ended_at = time.monotonic()
            self._done = True
            self._changed.notify_all()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout.read()

    def wait_for_line(self, pattern: re.Pattern[str], occurrence: int = 1) -> bool:
        """Wait until the `occurrence`-th stderr line matching `pattern` (False if the run ended first)."""

        def seen() -> int:
            return sum(1 for line in self.lines if pattern.search(line))

        with self._changed:
            if not self._changed.wait_for(lambda: seen() >= occurrence or self._done, timeout=DEADLINE):
                raise TimeoutError(f"no line like {pattern.pattern!r} within {DEADLINE} s")
            return seen() >= occurrence

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.killed = True
        self.finish()

    def finish(self) -> int:
        code = self.proc.wait(timeout=DEADLINE)
        for reader in self._readers:
            reader.join(timeout=DEADLINE)
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def seconds_after(self, pattern: re.Pattern[str]) -> float:
        """How long the run went on after its first line matching `pattern` (it must have ended)."""
        start = next(t for line, t in zip(self.lines, self.stamps, strict=True) if pattern.search(line))
        return self.ended_at - start


# ------------------------------------------------------------------------------------------ observations
def database_problems(database: Path) -> list[str]:
    """Everything that would make the database inconsistent after a crash; empty when it is sound."""
    if not database.exists():
        return []  # killed before the database was created: nothing half-done
    try:
        with connect(database) as con:  # a writer, as the next run opens it (replays the WAL)
            tables = {
                f"{s}.{t}"
                for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
            }
            if "audit.load_ledger" not in tables:
                return []  # killed while the schema was being created: no data yet
            problems = []
            ledger = con.execute(
                """SELECT file_sha256, file_name, kind, status, rows_read, rows_loaded, rows_quarantined,
                          rows_rejected FROM audit.load_ledger"""
            ).fetchall()
            counted: dict[str, int] = {}
            for kind in KINDS:
                if f"staging.{kind}" in tables:
                    for sha, rows in con.execute(
                        f"SELECT _source_sha256, count(*) FROM staging.{kind} GROUP BY 1"
                    ).fetchall():
                        counted[sha] = counted.get(sha, 0) + rows
            live = {row[0] for row in ledger if row[3] in ("loaded", "loaded_with_quarantine")}
            for sha, name, _kind, status, read, loaded, quarantined, rejected in ledger:
                expected = loaded if sha in live else 0
                if counted.get(sha, 0) != expected:
                    problems.append(
                        f"{name} ({status}): {counted.get(sha, 0)} staging rows, ledger says {expected}"
                    )
                if read != loaded + quarantined + rejected:
                    problems.append(f"{name}: ledger does not balance")
            orphans = set(counted) - live
            if orphans:
                problems.append(f"staging rows of {len(orphans)} file(s) without a ledger row")
            registry = {row[0] for row in con.execute("SELECT file_sha256 FROM raw.file_registry").fetchall()}
            if registry != {row[0] for row in ledger}:
                problems.append("raw.file_registry and audit.load_ledger name different files")
            quarantined_files = {
                row[0] for row in con.execute("SELECT DISTINCT file_sha256 FROM audit.quarantine").fetchall()
            }
            if quarantined_files - live - {row[0] for row in ledger if row[3] == "superseded"}:
                problems.append("quarantine rows of a file that is not in the ledger")
            return problems
    except Exception as exc:
        return [f"the database does not open after the crash: {type(exc).__name__}: {exc}"]


def database_state(database: Path) -> dict[str, object]:
    """Staging contents, ledger, quarantine and mart row counts, for comparing two homes."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        state: dict[str, object] = {
            f"staging.{kind}": sorted(map(repr, con.execute(f"SELECT * FROM staging.{kind}").fetchall()))
            for kind in KINDS
        }
        state["ledger"] = sorted(
            con.execute(
                """SELECT file_sha256, file_name, kind, mapping_id, organization, cycle, rows_read, rows_loaded,
                          rows_quarantined, rows_rejected, dropped_columns, status, message
                   FROM audit.load_ledger"""
            ).fetchall()
        )
        state["quarantine"] = sorted(
            map(repr, con.execute("SELECT * EXCLUDE (quarantined_at) FROM audit.quarantine").fetchall())
        )
        marts = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'"
            ).fetchall()
        ]
        state["marts"] = {
            t: con.execute(f'SELECT count(*) FROM marts."{t}"').fetchall()[0][0] for t in sorted(marts)
        }
        return state
    finally:
        con.close()


def site_files(site: Path) -> dict[str, str] | None:
    if not site.exists():
        return None
    return {
        str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def half_written(site: Path, complete: dict[str, str]) -> str | None:
    """Why the site is not a complete build with the files of `complete`, or None."""
    now = site_files(site)
    if now is None:
        return "the site folder is gone"
    if set(now) != set(complete):
        return f"the site has other files than a complete build: {sorted(set(now) ^ set(complete))[:5]}"
    for page in site.rglob("*.html"):
        if not page.read_text(encoding="utf-8").rstrip().endswith("</html>"):
            return f"{page.name} is cut off"
    return None


# ------------------------------------------------------------------------------------------ the study
@dataclass
class Kill:
    phase: str
    marker: str
    delay: float
    marker_seen: bool = False
    killed: bool = False
    last_line: str = ""
    site_line_seen: bool = False
    database_problems: list[str] = field(default_factory=list)
    site_before: dict[str, str] | None = None
    site_after: dict[str, str] | None = None
    site_problem: str | None = None


@dataclass
class Study:
    seed: int
    kills: list[Kill]
    rerun_code: int
    rerun_stdout: str
    second_run: subprocess.CompletedProcess[str]
    first_run_alive_during_second: bool
    rerun_state: dict[str, object]
    reference_ok: bool
    reference_state: dict[str, object]
    failed_code: int
    failed_stderr: str
    failed_site_before: dict[str, str] | None
    failed_site_after: dict[str, str] | None
    failed_run_assets: set[str]
    failed_checks: set[str]
    problems_after_failure: list[str]

    def about(self) -> str:
        return f"seed {self.seed}; kills: " + "; ".join(
            f"{k.phase} {k.delay:.2f}s after {k.marker!r} killed={k.killed} last={k.last_line!r}"
            for k in self.kills
        )


def _kill_at(home: Home, phase: str, rng: random.Random, window: float = 1.0) -> Kill:
    """Start a run, wait for the progress line of `phase`, wait a random delay, SIGKILL it, inspect."""
    if phase == "ingest":
        # After the first kind, Great Expectations is imported: the delay lands in reading, validating or
        # the load transaction of the next files.
        marker, pattern, nth = rng.choice(
            [
                (k, re.compile(rf"^  · {k} \["), 1)
                for k in ("awards", "evaluations", "payroll", "salary_scales")
            ]
        )
        delay = rng.uniform(0.0, 2.0)
    elif phase == "marts":
        nth = rng.randint(1, 2)
        marker, pattern, delay = f"mart line {nth}", MART_LINE, rng.uniform(0.0, 0.5)
    else:
        # `window`: how long publishing took in the last complete run, so that the kill comes before the end
        marker, pattern, nth, delay = "site", SITE_LINE, 1, rng.uniform(0.0, window)
    kill = Kill(phase, marker, delay, site_before=site_files(home.site))
    run = Run(home)
    kill.marker_seen = run.wait_for_line(pattern, nth)
    if kill.marker_seen:
        time.sleep(delay)  # the fault-injection delay itself, not a synchronisation
    run.kill()
    kill.killed = run.killed
    kill.last_line = run.lines[-1] if run.lines else ""
    kill.site_line_seen = any(SITE_LINE.search(line) for line in run.lines)
    kill.database_problems = database_problems(home.database)
    kill.site_after = site_files(home.site)
    return kill


def _reference_state(home: Home) -> tuple[bool, dict[str, object]]:
    """A clean run of ingest and marts over the same inbox, in this process (the site is not compared)."""
    import dagster as dg

    from pipelines.definitions import all_assets
    from pipelines.resources import CalibraResource
    from pipelines.runs import materialize

    resource = CalibraResource(
        config_path=str(PROJECT_ROOT / "calibra.yaml"), home=str(home.home), site=str(home.site)
    )
    result = materialize(
        all_assets,
        resources={"calibra": resource},
        selection=dg.AssetSelection.all() - dg.AssetSelection.keys("site"),
        raise_on_error=False,
    )
    return result.success, database_state(home.database)


def _last_run_events(dagster_home: Path) -> tuple[set[str], set[str]]:
    """Assets materialised and blocking checks failed in the newest run of a Dagster instance."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        [run] = instance.get_runs(limit=1)
        materialised, failed = set(), set()
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key:
                materialised.add(event.asset_key.to_user_string())
            if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.asset_check_evaluation_data
                if not evaluation.passed:
                    failed.add(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
        return materialised, failed


def _seed() -> int:
    return int(os.environ.get("CALIBRA_FAULT_SEED") or random.SystemRandom().randrange(1 << 30))


def _two_homes(root: Path) -> tuple[Home, Home]:
    """The small Zeeland sample in two homes: one for the runs that are killed, one for a clean reference."""
    from models.sample import write_sample

    manifest = write_sample(root / "sample", seed=11, employees=40, cycles=1)
    for sample_file in manifest.files_of(organization="vo-demo"):
        (root / "sample" / sample_file.path).unlink()
    chain, reference = Home(root / "chain"), Home(root / "reference")
    for home in (chain, reference):
        shutil.copytree(root / "sample" / "inbox", home.home / "inbox")
    return chain, reference


@dataclass
class Recovery:
    """One kill -9 during ingest or a mart build, and the run after it (the quick tier of the study below)."""

    seed: int
    kill: Kill
    rerun_code: int
    rerun_stdout: str
    rerun_state: dict[str, object]
    reference_ok: bool
    reference_state: dict[str, object]

    def about(self) -> str:
        k = self.kill
        return f"seed {self.seed}; {k.phase} {k.delay:.2f}s after {k.marker!r} killed={k.killed} last={k.last_line!r}"


@pytest.fixture(scope="module")
def recovery(tmp_path_factory: pytest.TempPathFactory) -> Recovery:
    """`make test`'s share of the fault study: a run killed at a random point of ingest or the marts, then a
    run that must end as a clean run does. The full study (every phase, a second run at the same time, a
    contract failure, CALIBRA_FAULT_ROUNDS) is the soak tier."""
    seed = _seed()
    rng = random.Random(seed)
    chain, reference = _two_homes(tmp_path_factory.mktemp("recovery"))
    out: dict[str, object] = {}

    def kill_and_rerun() -> None:
        try:
            out["kill"] = _kill_at(chain, rng.choice(["ingest", "marts"]), rng)
            rerun = Run(chain)
            out["rerun_code"] = rerun.finish()
            out["rerun_stdout"] = rerun.stdout
            out["rerun_state"] = database_state(chain.database) if chain.database.exists() else {}
        except BaseException as exc:  # re-raised by the main thread
            out["error"] = exc

    worker = threading.Thread(target=kill_and_rerun)
    worker.start()
    try:
        reference_ok, reference_state = _reference_state(reference)
    finally:
        worker.join(timeout=DEADLINE)
    if "error" in out:
        error = cast(BaseException, out["error"])
        raise AssertionError(f"recovery, seed {seed} (CALIBRA_FAULT_SEED repeats it): {error}") from error
    return Recovery(seed=seed, reference_ok=reference_ok, reference_state=reference_state, **out)  # type: ignore[arg-type]


def test_a_killed_run_leaves_a_sound_database_and_the_next_run_ends_like_a_clean_run(
    recovery: Recovery,
) -> None:
    kill = recovery.kill
    assert kill.marker_seen and kill.killed, f"the run ended before the kill ({recovery.about()})"
    assert not kill.site_line_seen, recovery.about()  # killed before publishing began
    assert kill.database_problems == [], f"{kill.database_problems} ({recovery.about()})"
    assert recovery.reference_ok and recovery.reference_state["marts"]
    assert recovery.rerun_code == 0 and "calibra run: done" in recovery.rerun_stdout, recovery.about()
    for part in recovery.reference_state:
        assert recovery.rerun_state[part] == recovery.reference_state[part], f"{part} ({recovery.about()})"


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    seed = _seed()
    rng = random.Random(seed)
    rounds = int(os.environ.get("CALIBRA_FAULT_ROUNDS") or 1)
    chain, reference = _two_homes(tmp_path_factory.mktemp("faults"))

    # The chain of runs is subprocesses only: a worker thread drives it while this thread builds the reference.
    out: dict[str, object] = {}
    worker = threading.Thread(target=_chain, args=(chain, rng, rounds, out))
    worker.start()
    try:
        reference_ok, reference_state = _reference_state(reference)
    finally:
        worker.join(timeout=DEADLINE)
    if "error" in out:
        error = cast(BaseException, out["error"])
        raise AssertionError(f"fault study, seed {seed} (CALIBRA_FAULT_SEED repeats it): {error}") from error
    materialised, failed_checks = _last_run_events(chain.home / "dagster")
    kills = cast(list[Kill], out["kills"])
    print(
        f"fault study: seed {seed}; "
        + "; ".join(f"{k.phase} +{k.delay:.2f}s after {k.marker}" for k in kills)
    )
    return Study(
        seed=seed,
        reference_ok=reference_ok,
        reference_state=reference_state,
        failed_run_assets=materialised,
        failed_checks=failed_checks,
        **out,  # type: ignore[arg-type]
    )


def _chain(chain: Home, rng: random.Random, rounds: int, out: dict[str, object]) -> None:
    """Kill during ingest and marts; re-run (meeting a second run); kill during publishing; a contract failure."""
    try:
        kills: list[Kill] = []
        for _ in range(rounds):
            kills.append(_kill_at(chain, "ingest", rng))
            kills.append(_kill_at(chain, "marts", rng))
        # The re-run; while it holds the run, a second `calibra run` on the same home must be refused.
        rerun = Run(chain)
        if not rerun.wait_for_line(START_LINE):
            raise AssertionError(f"the re-run did not start: {rerun.stderr}")
        os.kill(rerun.proc.pid, signal.SIGSTOP)  # frozen while it holds the lock: the second run meets it
        try:
            out["second_run"] = subprocess.run(
                [sys.executable, "-m", "pipelines.cli", "run"],
                cwd=PROJECT_ROOT,
                env=chain.env,
                capture_output=True,
                text=True,
                timeout=DEADLINE,
            )
            out["first_run_alive_during_second"] = rerun.proc.poll() is None
        finally:
            os.kill(rerun.proc.pid, signal.SIGCONT)
        out["rerun_code"] = rerun.finish()
        out["rerun_stdout"] = rerun.stdout
        out["rerun_state"] = database_state(chain.database)
        complete_site = site_files(chain.site)
        if not complete_site:
            raise AssertionError(f"the re-run published no site: {rerun.stderr}")
        window = 0.8 * rerun.seconds_after(SITE_LINE)
        for _ in range(rounds):
            for _attempt in range(3):  # a run that finished before the kill is not a kill: shorter window
                kill = _kill_at(chain, "publish", rng, window)  # a previous complete site exists now
                kill.site_problem = (
                    None if kill.site_after == kill.site_before else half_written(chain.site, complete_site)
                )
                if kill.killed:
                    break
                window /= 2
            kills.append(kill)
        out["kills"] = kills
        # A file that breaks its contract: the blocking check stops marts and site in this run.
        out["failed_site_before"] = site_files(chain.site)
        (chain.home / "inbox" / "zeeland_salarisadministratie_2099.csv").write_bytes(b"")  # rejected: empty
        failed = Run(chain)
        out["failed_code"] = failed.finish()
        out["failed_stderr"] = failed.stderr
        out["failed_site_after"] = site_files(chain.site)
        out["problems_after_failure"] = database_problems(chain.database)
    except BaseException as exc:  # re-raised by the main thread
        out["error"] = exc


def test_every_kill_leaves_a_sound_database(study: Study) -> None:
    """After SIGKILL in any phase the database opens; each file is wholly loaded with its ledger row or not at all."""
    assert {k.phase for k in study.kills} == {"ingest", "marts", "publish"}
    assert any(k.killed for k in study.kills), study.about()
    for kill in study.kills:
        assert kill.database_problems == [], f"{kill.phase}: {kill.database_problems} ({study.about()})"


def test_kills_landed_in_the_phases_they_targeted(study: Study) -> None:
    """Each kill came after its phase's progress line, and before the run could end on its own."""
    for kill in study.kills:
        assert kill.marker_seen and kill.killed, f"the run ended before the kill ({study.about()})"
        if kill.phase in ("ingest", "marts"):
            assert not kill.site_line_seen, study.about()  # killed before publishing began
        else:
            assert SITE_LINE.search(kill.last_line), study.about()


def test_rerun_after_kills_ends_like_a_clean_run(study: Study) -> None:
    assert study.reference_ok
    assert study.rerun_code == 0, study.about()
    assert "calibra run: done" in study.rerun_stdout
    for part in study.reference_state:
        assert study.rerun_state[part] == study.reference_state[part], f"{part} ({study.about()})"
    assert study.reference_state["marts"], "the clean run built marts"
    assert study.reference_state["staging.evaluations"], "the clean run loaded evaluations"


def test_killed_publishing_leaves_the_previous_site(study: Study) -> None:
    publishes = [k for k in study.kills if k.phase == "publish"]
    assert publishes
    for kill in publishes:
        assert kill.site_before is not None
        assert kill.site_problem is None, f"{kill.site_problem} ({study.about()})"


def test_a_second_run_at_the_same_time_is_refused_in_one_sentence(study: Study) -> None:
    second = study.second_run
    assert study.first_run_alive_during_second
    assert second.returncode != 0
    assert second.stdout == ""  # nothing that looks like a summary or success
    lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "another calibra run is using" in lines[0], second.stderr
    assert "Traceback" not in second.stderr
    # and the first run, once resumed, finished normally (compared with the clean run above)
    assert study.rerun_code == 0


def test_a_contract_failure_stops_marts_and_site_in_the_same_run(study: Study) -> None:
    assert study.failed_code != 0
    assert "staging/payroll: contract" in study.failed_stderr and "not updated" in study.failed_stderr
    assert "staging/payroll:contract" in study.failed_checks
    assert study.failed_run_assets, "the ingest assets ran"
    downstream = {a for a in study.failed_run_assets if a.startswith("marts/") or a == "site"}
    assert downstream == set(), downstream
    assert study.failed_site_before is not None and study.failed_site_after == study.failed_site_before
    assert study.problems_after_failure == []


def test_two_writers_never_share_the_database(tmp_path: Path) -> None:
    """While another process writes, a second writer (and a reader) get DatabaseBusy, not a second lock."""
    from models.errors import DatabaseBusy

    database = tmp_path / "calibra.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from models.warehouse import connect\n"
            "with connect(Path(sys.argv[1])) as con:\n"
            "    con.execute('CREATE TABLE t (x INT)'); print('holding', flush=True); sys.stdin.read()",
            str(database),
        ],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        for read_only in (False, True):
            with (
                pytest.raises(DatabaseBusy, match="in use by another calibra run"),
                connect(database, read_only=read_only),
            ):
                pass
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=DEADLINE)
    with connect(database) as con:  # released when the holder ends
        assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_run_lock_is_exclusive_and_released_by_the_os(tmp_path: Path) -> None:
    from models.errors import DatabaseBusy
    from models.warehouse import run_lock

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from models.warehouse import run_lock\n"
            "with run_lock(Path(sys.argv[1])):\n"
            "    print('holding', flush=True); sys.stdin.read()",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    with pytest.raises(DatabaseBusy, match="another calibra run"), run_lock(tmp_path):
        pass
    os.kill(holder.pid, signal.SIGKILL)  # kill -9 leaves no stale lock behind
    holder.wait(timeout=DEADLINE)
    with run_lock(tmp_path):
        assert (tmp_path / "calibra.lock").exists()
    assert os.stat(tmp_path / "calibra.lock").st_mode & 0o077 == 0
