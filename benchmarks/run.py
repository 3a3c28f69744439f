"""calibra's scale benchmark (issue 8): a large employer through the whole pipeline, measured; `make bench`.

    python -m benchmarks.run [--employees 200000] [--cycles 5] [--scale-factor 5] [--no-scaling]
                             [--out benchmarks/results/bench.json] [--workdir var/bench] [--repeat 3]
                             [--no-incremental] [--profile] [--seed 42]

1. generate  `calibra sample` writes the synthetic exports (cached under <workdir>/data, keyed by size and seed);
2. full      a fresh database; one `calibra run` (Dagster, in-process executor: ingest with contracts, every
             mart, the site) in a child process (benchmarks.pipeline_run); per-stage wall and CPU time,
             peak RSS (the kernel's, for the child) and rows per second;
3. incremental  the first K-1 cycles, run; then the last cycle's files added, run again: the second run's time
             against the full run (the database ends the same as the full run's: row counts are checked);
4. metrics   benchmarks.pandas_reference on the full run's database: calibra's model functions and a plain
             pandas implementation of the distribution, deviation, fairness and budget figures, side by side,
             and the numbers checked against each other and the marts;
5. fairlearn benchmarks.fairlearn_compare: MetricFrame against calibra's group rates;
6. scaling   the full run again at --scale-factor × the employees: how time and memory grow, per stage and step.

Everything lands in one JSON file (--out) and a table on the terminal. Nothing is a pass/fail gate: the
targets of the issue are evaluated and reported (`targets`), and they only apply at the default size. With
--profile a further full run is made under cProfile (not timed), and its hot spots are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMPLOYEES = 200_000
DEFAULT_CYCLES = 5
STAGES = ("startup", "ingest", "marts", "publish", "dagster_overhead", "total")
GROUP_STAGES = ("ingest", "marts", "publish")
TARGETS = {
    "run_seconds": 30.0,  # the whole `calibra run`, wall
    "peak_rss_mb": 2048.0,
    "metrics_speedup": 5.0,  # calibra's metrics against pandas
    "fairness_speedup": 20.0,  # calibra's fairness rates against fairlearn
    "scaling_time_slack": 1.2,  # f× the data in at most 1.2·f× the time (5× in 6×)
    "incremental_share": 0.40,  # a new cycle in at most 40% of a full run
    "page_mb": 2.0,
}
SUPERLINEAR_MIN_SECONDS = 0.5  # steps shorter than this at the larger size are noise, not a trend


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------- child processes
@dataclass
class Child:
    returncode: int
    wall_seconds: float
    cpu_seconds: float
    maxrss_mb: float
    load_before: float
    load_after: float
    log: Path
    launched_at: float
    timed_out: bool = False


def spawn(command: list[str], env: dict[str, str], log: Path, timeout: float | None = None) -> Child:
    """Run a child to completion (or kill it after `timeout` s); peak RSS and CPU come from the kernel (wait4)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    launched = time.time()
    env = {**env, "BENCH_LAUNCHED_AT": repr(launched)}
    timed_out = False
    with log.open("wb") as handle:
        proc = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.time() - launched > timeout:
                proc.kill()  # our own child, by its pid
                timed_out = True
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Child(
        returncode=proc.returncode,
        wall_seconds=time.time() - launched,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        maxrss_mb=usage.ru_maxrss / 1024,  # kB on Linux
        load_before=load_before,
        load_after=os.getloadavg()[0],
        log=log,
        launched_at=launched,
        timed_out=timed_out,
    )


def step_group(step: str) -> str:
    """Asset group of a step of a killed run (its own report, which knows the groups, was never written)."""
    if step == "site":
        return "publish"
    return "ingest" if step.startswith(("staging__", "raw__")) else "marts"


def steps_from_event_log(dagster_home: Path, child: Child) -> dict[str, Any]:
    """What a killed run did, from its Dagster event log (sqlite): the finished steps and the one running."""
    import sqlite3

    def epoch(stamp: str) -> float:  # the event log stores naive UTC
        return datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp()

    firsts: dict[str, float] = {}
    ends: dict[str, tuple[float, str]] = {}
    first_event: float | None = None
    for db in sorted((dagster_home / "history" / "runs").glob("*.db")):
        if db.name == "index.db":
            continue
        con = sqlite3.connect(str(db))
        try:
            rows = con.execute(
                "SELECT step_key, dagster_event_type, timestamp FROM event_logs ORDER BY id"
            ).fetchall()
        finally:
            con.close()
        for step, kind, stamp in rows:
            t = epoch(stamp)
            first_event = t if first_event is None else min(first_event, t)
            if step and kind == "STEP_START":
                firsts.setdefault(step, t)
            elif step and kind in ("STEP_SUCCESS", "STEP_FAILURE"):
                ends[step] = (t, "success" if kind == "STEP_SUCCESS" else "failure")
    killed_at = child.launched_at + child.wall_seconds
    steps = []
    for step, start in sorted(firsts.items(), key=lambda kv: kv[1]):
        end, status = ends.get(step, (killed_at, "timed_out"))
        steps.append(
            {
                "step": step,
                "group": step_group(step),
                "assets": [],
                "start": start,
                "end": end,
                "seconds": round(end - start, 4),
                "status": status,
                "peak_rss_mb": 0.0,
                "cpu_seconds": 0.0,
            }
        )
    return {
        "success": False,
        "failed_checks": [],
        "failed_steps": [s["step"] for s in steps if s["status"] != "success"],
        "launched_at": child.launched_at,
        "run_started_at": first_event or killed_at,  # no event yet: it was still starting up
        "run_finished_at": killed_at,
        "steps": steps,
        "tables": {},
        "site": {},
    }


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def base_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("CALIBRA_HOME", "CALIBRA_SITE", "CALIBRA_CONFIG", "DAGSTER_HOME", "CALIBRA_BENCH_PROFILE"):
        env.pop(name, None)  # every path is passed explicitly; nothing of the developer's is touched
    env["CALIBRA_KEY_FILE"] = str(workdir / "pseudonym.key")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


# ---------------------------------------------------------------------------------------------- sample data
def ensure_sample(workdir: Path, employees: int, cycles: int, seed: int) -> dict[str, Any]:
    """The sample exports for one size, generated once and reused (same arguments, same bytes)."""
    folder = workdir / "data" / f"e{employees}_c{cycles}_s{seed}"
    manifest_path = folder / "manifest.json"
    seconds = None
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("employees") != employees or len(manifest.get("cycles", [])) != cycles:
            manifest = None
    else:
        manifest = None
    if manifest is None:
        shutil.rmtree(folder, ignore_errors=True)
        say(f"generating {employees:,} employees × {cycles} cycles (seed {seed}) → {folder}")
        command = [sys.executable, "-m", "pipelines.cli", "sample", "--out", str(folder)]
        command += ["--employees", str(employees), "--cycles", str(cycles), "--seed", str(seed)]
        child = spawn(command, base_env(workdir), workdir / "logs" / f"generate_e{employees}_c{cycles}.log")
        if child.returncode != 0:
            raise SystemExit(f"bench: the sample generator failed:\n{tail(child.log)}")
        seconds = round(child.wall_seconds, 2)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    files = manifest["files"]
    return {
        "folder": folder,
        "manifest": manifest,
        "generate_seconds": seconds,  # None: reused from an earlier benchmark
        "files": files,
        "bytes": sum(f["bytes"] for f in files),
        "rows": {
            k: sum(f["rows"] for f in files if f["kind"] == k) for k in sorted({f["kind"] for f in files})
        },
    }


# ------------------------------------------------------------------------------------------ pipeline runs
def link_files(folder: Path, files: list[dict[str, Any]], inbox: Path) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    for f in files:
        source, target = folder / f["path"], inbox / Path(f["path"]).name
        if target.exists():
            continue
        try:
            os.link(source, target)  # the same bytes without copying hundreds of megabytes
        except OSError:
            shutil.copy2(source, target)


def pipeline_run(
    workdir: Path,
    name: str,
    sample: dict[str, Any],
    files: list[dict[str, Any]],
    *,
    fresh: bool = True,
    profile: Path | None = None,
    timeout: float | None = None,
    selection: str = "",
) -> dict[str, Any]:
    """One `calibra run` in a child process on the files given (added to the run's inbox)."""
    run_dir = workdir / "runs" / name.split(":")[0]
    if fresh:
        shutil.rmtree(run_dir, ignore_errors=True)
    home, site, dagster_home = run_dir / "home", run_dir / "site", run_dir / "dagster"
    link_files(sample["folder"], files, home / "inbox")
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    env = base_env(workdir) | {"DAGSTER_HOME": str(dagster_home)}
    label = name.replace(":", "_")
    out = run_dir / f"{label}.json"
    command = [sys.executable, "-m", "benchmarks.pipeline_run", "--home", str(home), "--site", str(site)]
    command += ["--config", str(PROJECT_ROOT / "calibra.yaml"), "--out", str(out)]
    if profile:
        command += ["--profile", str(profile)]
    if selection:
        command += ["--selection", selection]
    say(f"{name}: calibra run on {len(files)} new files …")
    child = spawn(command, env, workdir / "logs" / f"{label}.log", timeout=timeout)
    input_rows = sum(f["rows"] for f in files)
    if child.timed_out:
        inner = steps_from_event_log(dagster_home, child)
        inner["tables"] = {"staging.evaluations": sum(f["rows"] for f in files if f["kind"] == "evaluations")}
    elif not out.exists():
        raise SystemExit(f"bench: {name} crashed (exit {child.returncode}):\n{tail(child.log)}")
    else:
        inner = json.loads(out.read_text(encoding="utf-8"))
    result = summarise(inner, child, input_rows)
    result |= {"name": name, "database": str(home / "calibra.duckdb"), "files_added": len(files)}
    result["timed_out"] = child.timed_out
    if child.timed_out:
        running = [s["step"] for s in inner["steps"] if s["status"] == "timed_out"]
        state = f"TIMED OUT after {timeout:.0f} s in {', '.join(running) or 'start-up'}"
    elif inner["success"]:
        state = "ok"
    else:
        state = f"FAILED ({', '.join(inner['failed_steps'] + inner['failed_checks'])})"
    say(
        f"{name}: {result['stages']['total']['seconds']:.1f} s wall, "
        f"{result['peak_rss_mb']:.0f} MB peak RSS, {state}"
    )
    return result


def different_marts(full_db: Path, incremental_db: Path) -> list[str]:
    """Mart tables whose contents differ between two databases, beyond the last bits of float sums (rows
    are loaded in another order when a cycle is added later, and sums in another order differ in the
    15th digit)."""
    import duckdb
    import polars as pl
    from polars.testing import assert_frame_equal

    def tables(path: Path) -> dict[str, pl.DataFrame]:
        con = duckdb.connect(str(path), read_only=True)
        try:
            names = con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
            ).fetchall()
            return {name: con.sql(f"SELECT * FROM marts.{name}").pl() for (name,) in names}
        finally:
            con.close()

    full, incremental = tables(full_db), tables(incremental_db)
    differing = sorted(set(full) ^ set(incremental))
    for name in sorted(set(full) & set(incremental)):
        left, right = full[name], incremental[name]
        exact = [c for c, dtype in left.schema.items() if not dtype.is_float()]
        order = [*exact, *(c for c in left.columns if c not in exact)]
        try:
            assert_frame_equal(
                left.sort(order, nulls_last=True),
                right.select(left.columns).sort(order, nulls_last=True),
                rel_tol=1e-9,
                abs_tol=1e-12,
            )
        except (AssertionError, pl.exceptions.PolarsError):
            differing.append(name)
    return differing


def summarise(inner: dict[str, Any], child: Child, input_rows: int) -> dict[str, Any]:
    steps = inner["steps"]
    evaluations = int(inner["tables"].get("staging.evaluations", 0))
    run_seconds = inner["run_finished_at"] - inner["run_started_at"]
    stages: dict[str, dict[str, Any]] = {
        "startup": {
            "seconds": inner["run_started_at"] - inner["launched_at"],
            "cpu_seconds": inner.get("cpu_seconds_startup", 0.0),
            "peak_rss_mb": inner.get("rss_mb_after_imports"),
            "what": "interpreter start, imports (dagster, polars, duckdb, GX), definitions",
        }
    }
    for group in GROUP_STAGES:
        mine = [s for s in steps if s["group"] == group]
        stages[group] = {
            "seconds": sum(s["seconds"] for s in mine),
            "cpu_seconds": sum(s.get("cpu_seconds", 0.0) for s in mine),
            "peak_rss_mb": max((s["peak_rss_mb"] for s in mine), default=0.0),
            "steps": len(mine),
        }
    stages["dagster_overhead"] = {
        "seconds": run_seconds - sum(s["seconds"] for s in steps),
        "cpu_seconds": round(
            inner.get("cpu_seconds_run", 0.0) - sum(s.get("cpu_seconds", 0.0) for s in steps), 3
        ),
        "what": "run set-up, event log writes and step orchestration between steps",
    }
    # The kernel's peak is per process; the sampled one sums the run's process tree (any worker processes).
    peak_rss_mb = max(child.maxrss_mb, inner.get("peak_rss_mb_sampled") or 0.0)
    stages["total"] = {
        "seconds": inner["run_finished_at"] - inner["launched_at"],
        "cpu_seconds": child.cpu_seconds,
        "peak_rss_mb": peak_rss_mb,
        "what": "the whole `calibra run`: process start to the end of the Dagster run",
    }
    for name, stage in stages.items():
        stage["seconds"] = round(stage["seconds"], 3)
        if "cpu_seconds" in stage:
            stage["cpu_seconds"] = round(stage["cpu_seconds"], 3)
        if stage["seconds"] > 0 and name != "dagster_overhead":
            stage["rows_per_second"] = round(evaluations / stage["seconds"])
    if stages["ingest"]["seconds"] > 0:
        stages["ingest"]["input_rows_per_second"] = round(input_rows / stages["ingest"]["seconds"])
    site = dict(inner.get("site", {}))
    pages = site.get("pages") or []
    if pages:
        largest = max(pages, key=lambda p: p["bytes"])
        site["summary"] = {
            "pages": len(pages),
            "largest_page": largest["page"],
            "largest_page_bytes": largest["bytes"],
            "html_bytes": sum(p["bytes"] for p in pages),
        }
    return {
        "success": inner["success"],
        "failed_steps": inner["failed_steps"],
        "failed_checks": inner["failed_checks"],
        "stages": stages,
        "steps": [{k: v for k, v in s.items() if k not in ("start", "end")} for s in steps],
        "peak_rss_mb": round(peak_rss_mb, 1),
        "process_wall_seconds": round(child.wall_seconds, 3),
        "cpu_seconds": round(child.cpu_seconds, 2),
        "load_average": [round(child.load_before, 2), round(child.load_after, 2)],
        "evaluation_rows": evaluations,
        "input_rows": input_rows,
        "tables": inner["tables"],
        "site": site,
    }


# -------------------------------------------------------------------------------------------- comparisons
def comparison(module: str, workdir: Path, database: str, repeat: int) -> dict[str, Any]:
    name = module.rsplit(".", 1)[-1]
    out = workdir / "runs" / f"{name}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", module, "--db", database, "--out", str(out), "--repeat", str(repeat)]
    command += ["--config", str(PROJECT_ROOT / "calibra.yaml")]
    say(f"{name}: side by side on the full run's database …")
    child = spawn(command, base_env(workdir), workdir / "logs" / f"{name}.log")
    if not out.exists():
        raise SystemExit(f"bench: {name} crashed (exit {child.returncode}):\n{tail(child.log)}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result["process_wall_seconds"] = round(child.wall_seconds, 2)
    result["peak_rss_mb"] = round(child.maxrss_mb, 1)
    return result


# ------------------------------------------------------------------------------------------------ scaling
def scaling(small: dict[str, Any], large: dict[str, Any], factor: float) -> dict[str, Any]:
    data_ratio = large["evaluation_rows"] / max(small["evaluation_rows"], 1)
    limit = TARGETS["scaling_time_slack"] * data_ratio

    def ratio(a: float, b: float) -> float | None:
        return round(b / a, 2) if a > 0 else None

    stages = {
        s: {
            "seconds": [small["stages"][s]["seconds"], large["stages"][s]["seconds"]],
            "ratio": ratio(small["stages"][s]["seconds"], large["stages"][s]["seconds"]),
        }
        for s in STAGES
    }
    small_steps = {s["step"]: s for s in small["steps"]}
    steps, superlinear = {}, []
    for step in large["steps"]:
        before = small_steps.get(step["step"])
        if before is None:
            continue
        r = ratio(before["seconds"], step["seconds"])
        cpu = [before.get("cpu_seconds", 0.0), step.get("cpu_seconds", 0.0)]
        r_cpu = ratio(cpu[0], cpu[1])
        steps[step["step"]] = {
            "seconds": [before["seconds"], step["seconds"]],
            "ratio": r,
            "cpu_seconds": cpu,
            "cpu_ratio": r_cpu,
        }
        # CPU time decides where there is enough of it: wall time also moves with the machine's other load
        grew = (
            r_cpu > limit
            if r_cpu is not None and cpu[1] >= SUPERLINEAR_MIN_SECONDS
            else r is not None and r > limit
        )
        if grew and step["seconds"] >= SUPERLINEAR_MIN_SECONDS:
            superlinear.append(step["step"])
    time_ratio = ratio(small["stages"]["total"]["seconds"], large["stages"]["total"]["seconds"])
    rss_ratio = ratio(small["peak_rss_mb"], large["peak_rss_mb"])
    return {
        "lower_bound": bool(
            small.get("timed_out") or large.get("timed_out")
        ),  # a run was killed: ratios are minima
        "factor": factor,
        "data_ratio": round(data_ratio, 3),
        "time_ratio": time_ratio,
        "time_ratio_limit": round(limit, 2),
        "cpu_ratio": ratio(small["cpu_seconds"], large["cpu_seconds"]),
        "rss_ratio": rss_ratio,
        "peak_rss_mb": [small["peak_rss_mb"], large["peak_rss_mb"]],
        "stages": stages,
        "steps": steps,
        "superlinear_steps": superlinear,
    }


# ------------------------------------------------------------------------------------------------ targets
def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    full = report["runs"]["full"]
    out = []

    def add(name: str, target: str, measured: Any, met: bool | None) -> None:
        out.append({"name": name, "target": target, "measured": measured, "met": met})

    total = full["stages"]["total"]["seconds"]
    partial = report["params"].get("selection", "all assets") != "all assets"
    add(
        "run_time",
        f"whole calibra run ≤ {TARGETS['run_seconds']:.0f} s wall",
        f"> {total:.0f} (timed out)" if full.get("timed_out") else round(total, 1),
        None if partial else total <= TARGETS["run_seconds"] and not full.get("timed_out"),
    )
    add(
        "peak_memory",
        f"peak RSS ≤ {TARGETS['peak_rss_mb']:.0f} MB",
        full["peak_rss_mb"],
        full["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
    )
    metrics = report.get("metrics")
    if metrics:
        s = metrics["total"]["speedup"]
        add(
            "metrics_vs_pandas",
            f"calibra ≥ {TARGETS['metrics_speedup']:.0f}× faster than pandas",
            s,
            s is not None and s >= TARGETS["metrics_speedup"],
        )
    fair = report.get("fairlearn")
    if fair:
        s = fair["speedup"]
        add(
            "fairness_vs_fairlearn",
            f"calibra ≥ {TARGETS['fairness_speedup']:.0f}× faster than fairlearn",
            s,
            s is not None and s >= TARGETS["fairness_speedup"],
        )
    sc = report.get("scaling")
    if sc:
        add(
            "scaling_time",
            f"{sc['data_ratio']:g}× the data in ≤ {sc['time_ratio_limit']:g}× the time, no super-linear step",
            {
                "time_ratio": sc["time_ratio"],
                "cpu_ratio": sc["cpu_ratio"],
                "superlinear_steps": sc["superlinear_steps"],
            },
            all(r is not None and r <= sc["time_ratio_limit"] for r in (sc["time_ratio"], sc["cpu_ratio"]))
            and not sc["superlinear_steps"],
        )
        add(
            "scaling_memory",
            "peak RSS grows no faster than the data",
            sc["rss_ratio"],
            sc["rss_ratio"] is not None and sc["rss_ratio"] <= sc["data_ratio"],
        )
    inc = report.get("incremental")
    if inc and inc.get("share") is not None:
        add(
            "incremental",
            f"a new cycle in ≤ {TARGETS['incremental_share']:.0%} of a full run (wall and CPU)",
            {"wall_share": inc["share"], "cpu_share": inc.get("cpu_share")},
            all(
                x is not None and x <= TARGETS["incremental_share"]
                for x in (inc["share"], inc.get("cpu_share"))
            ),
        )
    site = full.get("site") or {}
    pages = site.get("pages") or []
    if pages:
        largest = max(p["bytes"] for p in pages) / 1e6
        add(
            "page_size",
            f"each site page ≤ {TARGETS['page_mb']:g} MB",
            round(largest, 3),
            largest <= TARGETS["page_mb"],
        )
        # Each audience's site is handed out alone, so each has its plotly.js file; they are one file stored
        # once (hard links: `plotly_js_stored` counts distinct files), and no page inlines it.
        stored = site.get("plotly_js_stored", len(site.get("plotly_js_files", [])))
        once = stored == 1 and not site.get("pages_with_inline_plotly")
        add(
            "plotly_once",
            "plotly.js shipped once",
            {
                "files": site.get("plotly_js_files"),
                "stored": stored,
                "inline": site.get("pages_with_inline_plotly"),
            },
            once,
        )
    else:
        add("page_size", f"each site page ≤ {TARGETS['page_mb']:g} MB", "no site published", None)
    return out


# ----------------------------------------------------------------------------------------------- printing
def print_report(report: dict[str, Any]) -> None:
    p = report["params"]
    full = report["runs"]["full"]
    print(f"\ncalibra benchmark — {p['employees']:,} employees × {p['cycles']} cycles "
          f"({full['evaluation_rows']:,} evaluation rows; {report['machine']['cpus']} CPUs, "
          f"load {full['load_average'][0]:.1f})")  # fmt: skip
    print(f"\n{'stage':<18}{'wall s':>9}{'cpu s':>9}{'peak RSS MB':>13}{'eval rows/s':>14}")
    for name in STAGES:
        s = full["stages"][name]
        cpu = f"{s['cpu_seconds']:.1f}" if "cpu_seconds" in s else ""
        rss = f"{s['peak_rss_mb']:.0f}" if s.get("peak_rss_mb") else ""
        rps = f"{s['rows_per_second']:,}" if "rows_per_second" in s else ""
        print(f"{name:<18}{s['seconds']:>9.2f}{cpu:>9}{rss:>13}{rps:>14}")
    print(f"\n{'step':<34}{'group':<9}{'wall s':>8}{'cpu s':>8}{'RSS MB':>8}")
    for s in sorted(full["steps"], key=lambda s: -s["seconds"]):
        print(
            f"{s['step'][:33]:<34}{s['group']:<9}{s['seconds']:>8.2f}{s.get('cpu_seconds', 0):>8.1f}{s['peak_rss_mb']:>8.0f}"
        )
    if report.get("metrics"):
        m = report["metrics"]
        print(f"\n{'figure':<14}{'calibra s':>11}{'pandas s':>11}{'speed-up':>10}")
        for name, f in m["figures"].items():
            print(f"{name:<14}{f['calibra_seconds']:>11.3f}{f['pandas_seconds']:>11.3f}{f['speedup']:>9.1f}×")
        t = m["total"]
        print(
            f"{'all four':<14}{t['calibra_seconds']:>11.3f}{t['pandas_seconds']:>11.3f}{t['speedup']:>9.1f}×"
        )
    if report.get("fairlearn"):
        f = report["fairlearn"]
        print(f"\nfairness rates (selection rate by gender within function level, {f['people']:,} people): "
              f"calibra {f['calibra_seconds']:.3f} s, fairlearn MetricFrame {f['fairlearn_seconds']:.3f} s "
              f"→ {f['speedup']:.0f}×")  # fmt: skip
    if report.get("incremental"):
        i = report["incremental"]
        if i.get("share") is not None:
            print(f"\nincremental: the last cycle added in {i['seconds']:.1f} s = {i['share']:.0%} of the full run "
                  f"({i['full_seconds']:.1f} s; CPU {i.get('cpu_share', 0):.0%}); "
                  f"same row counts and marts as the full run: {i['same_tables_as_full']}")  # fmt: skip
    if report.get("scaling"):
        s = report["scaling"]
        print(f"\nscaling ×{s['factor']:g}: data {s['data_ratio']:.2f}×, time {s['time_ratio']}× (CPU {s['cpu_ratio']}×) "
              f"(limit {s['time_ratio_limit']}×), peak RSS {s['rss_ratio']}× {s['peak_rss_mb']}; "
              f"super-linear steps: {', '.join(s['superlinear_steps']) or 'none'}")  # fmt: skip
    bad = [c for c in report["checks"] if c["passed"] is False]
    skipped = [c for c in report["checks"] if c["passed"] is None]
    print(f"\nagreement checks: {sum(c['passed'] is True for c in report['checks'])} passed, "
          f"{len(bad)} failed, {len(skipped)} skipped")  # fmt: skip
    for c in bad + skipped:
        print(f"  {'FAILED' if c['passed'] is False else 'skipped'}: {c['name']} — {c.get('detail', '')}")
    applies = report["targets_apply"]
    print(
        f"\ntargets ({'default size' if applies else 'only judged at the default size; shown for orientation'}):"
    )
    for t in report["targets"]:
        mark = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        print(f"  {mark:<8} {t['target']}: {t['measured']}")
    print(f"\nJSON: {report['out']}")


# ---------------------------------------------------------------------------------------------- profiling
def print_profile(path: Path, limit: int = 30) -> list[dict[str, Any]]:
    """Top functions of the profiled run by own time and by cumulative time within the project."""
    import pstats

    stats = pstats.Stats(str(path))
    rows = []
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(filename).name}:{line}({func})", "file": filename, "calls": nc,
                     "own_seconds": round(tt, 3), "cumulative_seconds": round(ct, 3)})  # fmt: skip
    project = [r for r in rows if r["file"].startswith(str(PROJECT_ROOT)) and "/.venv/" not in r["file"]]
    top_own = sorted(rows, key=lambda r: -r["own_seconds"])[:limit]
    top_project = sorted(project, key=lambda r: -r["cumulative_seconds"])[:limit]
    print(f"\nprofile ({path}): own time")
    for r in top_own:
        print(
            f"  {r['own_seconds']:>8.2f} s own {r['cumulative_seconds']:>8.2f} s cum  {r['calls']:>9}  {r['function']}"
        )
    print("profile: project functions by cumulative time")
    for r in top_project:
        print(
            f"  {r['cumulative_seconds']:>8.2f} s cum {r['own_seconds']:>8.2f} s own  {r['calls']:>9}  {r['function']}"
        )
    return top_project


# --------------------------------------------------------------------------------------------------- main
def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            mem_kb = int(next(line for line in handle if line.startswith("MemTotal:")).split()[1])
    except (OSError, StopIteration):
        pass
    versions: dict[str, str | None] = {}
    for package in ("dagster", "duckdb", "polars", "pandas", "great-expectations", "fairlearn", "plotly"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument(
        "--employees", type=int, default=DEFAULT_EMPLOYEES, help="employees per cycle (default 200000)"
    )
    p.add_argument("--cycles", type=int, default=DEFAULT_CYCLES, help="yearly cycles (default 5)")
    p.add_argument("--scale-factor", type=float, default=5.0, help="size of the scaling run (default 5×)")
    p.add_argument("--no-scaling", action="store_true", help="skip the scaling run")
    p.add_argument("--no-incremental", action="store_true", help="skip the incremental runs")
    p.add_argument("--out", default="benchmarks/results/bench.json", help="JSON report")
    p.add_argument("--workdir", default=str(PROJECT_ROOT / "var" / "bench"), help="data, databases, logs")
    p.add_argument("--repeat", type=int, default=3, help="timings per side in the comparisons (best is kept)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--selection",
        default="",
        help="diagnostics only: a Dagster asset selection instead of the whole pipeline, e.g. 'not key:site' "
        "(the run-time and site targets are then not judged)",
    )
    p.add_argument(
        "--run-timeout",
        type=float,
        default=3600.0,
        help="kill a pipeline run after this many seconds and report how far it got (default 3600)",
    )
    p.add_argument("--profile", action="store_true", help="one more full run under cProfile; print hot spots")
    return p


def save(report: dict[str, Any], out: Path, complete: bool) -> None:
    """Write the report now (after every phase): a long benchmark that fails late keeps what it measured."""
    report["complete"] = complete
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(out)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.cycles < 1 or args.employees < 40:
        raise SystemExit("bench: at least 40 employees and 1 cycle")
    workdir = Path(args.workdir).resolve()
    out = Path(args.out).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    report: dict[str, Any] = {
        "benchmark": "calibra issue 8",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "params": {
            "employees": args.employees,
            "cycles": args.cycles,
            "seed": args.seed,
            "scale_factor": None if args.no_scaling else args.scale_factor,
            "repeat": args.repeat,
            "incremental": not args.no_incremental,
            "selection": args.selection or "all assets",
            "run_timeout": args.run_timeout,
        },
        "machine": machine(),
        "targets_apply": args.employees == DEFAULT_EMPLOYEES and args.cycles == DEFAULT_CYCLES,
        "out": str(out),
        "runs": {},
        "checks": [],
    }
    sample = ensure_sample(workdir, args.employees, args.cycles, args.seed)
    report["data"] = {k: v for k, v in sample.items() if k not in ("manifest", "files", "folder")}
    report["data"]["files"] = len(sample["files"])
    files = sample["files"]

    full = report["runs"]["full"] = pipeline_run(
        workdir, "full", sample, files, timeout=args.run_timeout, selection=args.selection
    )
    save(report, out, complete=False)
    if not args.no_incremental and args.cycles >= 2:
        last = max(f["cycle"] for f in files if f["cycle"] is not None)
        older = [f for f in files if f["cycle"] != last]
        newest = [f for f in files if f["cycle"] == last]
        base = report["runs"]["incremental_base"] = pipeline_run(
            workdir, "incremental:base", sample, older, timeout=args.run_timeout, selection=args.selection
        )
        inc = report["runs"]["incremental"] = pipeline_run(
            workdir,
            "incremental:add",
            sample,
            newest,
            fresh=False,
            timeout=args.run_timeout,
            selection=args.selection,
        )
        same_counts = {k: v for k, v in inc["tables"].items() if not k.startswith("audit.")} == {
            k: v for k, v in full["tables"].items() if not k.startswith("audit.")
        }
        differing = different_marts(Path(full["database"]), Path(inc["database"]))
        same = same_counts and not differing
        report["incremental"] = {
            "cycle_added": last,
            "seconds": inc["stages"]["total"]["seconds"],
            "full_seconds": full["stages"]["total"]["seconds"],
            "base_seconds": base["stages"]["total"]["seconds"],
            # a killed incremental run gives a lower bound; a killed full run gives nothing to compare with
            "share": None
            if full["timed_out"]
            else round(inc["stages"]["total"]["seconds"] / full["stages"]["total"]["seconds"], 3),
            # CPU seconds are far less sensitive than wall time to other load on the machine
            "cpu_seconds": inc["cpu_seconds"],
            "full_cpu_seconds": full["cpu_seconds"],
            "cpu_share": round(inc["cpu_seconds"] / full["cpu_seconds"], 3) if full["cpu_seconds"] else None,
            "stages": {s: inc["stages"][s]["seconds"] for s in STAGES},
            "same_tables_as_full": same,
        }
        comparable = not (full["timed_out"] or base["timed_out"] or inc["timed_out"])
        if not comparable:
            detail = "not comparable: a run timed out"
        else:
            detail = (
                ""
                if same
                else "row counts differ (see runs.incremental.tables / runs.full.tables)"
                if not same_counts
                else "marts differ: " + ", ".join(differing)
            )
        report["checks"].append(
            {
                "name": "incremental: same staging row counts and the same marts as the full run",
                "kind": "consistency",
                "passed": same if comparable else None,
                "detail": detail,
            }
        )
        save(report, out, complete=False)
    computed = [st for st in full["steps"] if st["group"] != "publish"]  # staging and marts: what is compared
    if computed and all(st["status"] == "success" for st in computed) and Path(full["database"]).exists():
        report["metrics"] = comparison("benchmarks.pandas_reference", workdir, full["database"], args.repeat)
        report["fairlearn"] = comparison(
            "benchmarks.fairlearn_compare", workdir, full["database"], args.repeat
        )
        for check in report["metrics"]["checks"] + report["fairlearn"]["checks"]:
            report["checks"].append({"kind": "agreement", **check})
        save(report, out, complete=False)
    if not args.no_scaling:
        employees = round(args.employees * args.scale_factor)
        big = ensure_sample(workdir, employees, args.cycles, args.seed)
        report["data_scaled"] = {k: v for k, v in big.items() if k not in ("manifest", "files", "folder")}
        report["runs"]["scaled"] = pipeline_run(
            workdir, "scaled", big, big["files"], timeout=args.run_timeout, selection=args.selection
        )
        report["scaling"] = scaling(full, report["runs"]["scaled"], args.scale_factor)
    report["pipeline_success"] = all(r["success"] for r in report["runs"].values())
    report["targets"] = targets(report)
    report["benchmark_seconds"] = round(time.time() - started, 1)
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.profile:
        pstats_path = out.with_suffix(".pstats")
        pipeline_run(
            workdir,
            "profile",
            sample,
            files,
            profile=pstats_path,
            timeout=args.run_timeout,
            selection=args.selection,
        )
        report["profile"] = {"pstats": str(pstats_path), "top_project_functions": print_profile(pstats_path)}
    save(report, out, complete=True)
    print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
