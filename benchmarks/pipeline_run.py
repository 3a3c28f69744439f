"""One `calibra run` (ingest → marts → site, through Dagster), measured from inside its own process.

    python -m benchmarks.pipeline_run --home HOME --site SITE --out run.json [--config calibra.yaml]

The parent (benchmarks.run) starts this module in a fresh interpreter, as `calibra run` would be started,
and reads the process's peak RSS from the kernel when it exits. This side records:

* when the interpreter was running and when the imports were done (BENCH_LAUNCHED_AT, set by the parent
  just before it spawned us, gives the interpreter start-up);
* per Dagster step: start and end from the run's STEP_START / STEP_SUCCESS / STEP_FAILURE events, the asset
  group of the step, and the peak resident memory sampled while it ran (/proc/self/status every 20 ms);
* row counts of the staging and mart tables, and the size of every page of the published site.

The run itself is what the CLI does (pipelines.cli._materialize): a persistent Dagster instance under
DAGSTER_HOME, the in-process executor, console logging off. CALIBRA_BENCH_PROFILE=<file> (or --profile)
writes a cProfile of the materialisation to <file> (pstats format) for finding hot spots.
"""

from __future__ import annotations

import time

MAIN_STARTED_AT = time.time()  # before any heavy import: the rest of start-up is imports

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

STEP_EVENTS = ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE")


class RssSampler(threading.Thread):
    """Resident set size and CPU time of this process every `interval` seconds (Linux /proc for RSS)."""

    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.interval = interval
        self.samples: list[tuple[float, int, float]] = []  # (time.time(), RSS kB, user + system CPU s)
        self._halt = threading.Event()

    @staticmethod
    def _process_rss_kb(pid: str) -> int:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    @staticmethod
    def _children(pid: str) -> list[str]:
        found: list[str] = []
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle:
                    found += handle.read().split()
        except OSError:
            pass
        return found

    @classmethod
    def rss_kb(cls) -> int:
        """This process and every process it started: a run that used worker processes is judged on all."""
        total, pending = 0, [str(os.getpid())]
        while pending:
            pid = pending.pop()
            total += cls._process_rss_kb(pid)
            pending += cls._children(pid)
        return total

    def sample(self) -> None:
        times = os.times()  # children's CPU is added once they have exited
        cpu = times.user + times.system + times.children_user + times.children_system
        self.samples.append((time.time(), self.rss_kb(), cpu))

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=1)
        self.sample()

    def peak_mb(self, start: float, end: float) -> float:
        inside = [kb for t, kb, _ in self.samples if start <= t <= end]
        return round(max(inside, default=0) / 1024, 1)

    def cpu_between(self, start: float, end: float) -> float:
        """CPU seconds (all threads) between two moments, to the sampling interval."""
        before = [cpu for t, _, cpu in self.samples if t <= start]
        upto = [cpu for t, _, cpu in self.samples if t <= end]
        if not upto:
            return 0.0
        return round(upto[-1] - (before[-1] if before else 0.0), 3)


def _step_groups(all_assets: list[Any]) -> dict[str, dict[str, Any]]:
    """Step key (the op of an asset or multi-asset) → its asset group and asset keys."""
    import dagster as dg

    out: dict[str, dict[str, Any]] = {}
    for assets_def in all_assets:
        if isinstance(
            assets_def, dg.SourceAsset
        ):  # the observable `staging/slices`: its observation is a step
            if assets_def.op is not None:
                out[assets_def.op.name] = {
                    "group": assets_def.group_name,
                    "assets": [assets_def.key.to_user_string()],
                }
            continue
        groups = sorted(set(assets_def.group_names_by_key.values()))
        out[assets_def.node_def.name] = {
            "group": groups[0] if groups else "default",
            "assets": sorted(k.to_user_string() for k in assets_def.keys),
        }
    return out


def _steps(instance: Any, run_id: str, groups: dict[str, dict[str, Any]], sampler: RssSampler) -> list[dict]:
    import dagster as dg

    types = {getattr(dg.DagsterEventType, name) for name in STEP_EVENTS}
    first: dict[str, float] = {}
    last: dict[str, tuple[float, str]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.event_type not in types or not entry.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            first.setdefault(entry.step_key, entry.timestamp)
        else:
            status = "success" if event.event_type == dg.DagsterEventType.STEP_SUCCESS else "failure"
            last[entry.step_key] = (entry.timestamp, status)
    steps = []
    for key, start in sorted(first.items(), key=lambda kv: kv[1]):
        end, status = last.get(key, (start, "not_finished"))
        info = groups.get(key, {"group": "default", "assets": []})
        steps.append(
            {
                "step": key,
                "group": info["group"],
                "assets": info["assets"],
                "start": start,
                "end": end,
                "seconds": round(end - start, 4),
                "status": status,
                "peak_rss_mb": sampler.peak_mb(start, end),
                "cpu_seconds": sampler.cpu_between(start, end),
            }
        )
    return steps


def _tables(database: Path) -> dict[str, int]:
    """Rows per table in the staging, marts and audit schemas (read-only; the run has finished)."""
    import duckdb

    if not database.exists():
        return {}
    con = duckdb.connect(str(database), read_only=True)
    try:
        names = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('staging', 'marts', 'audit') ORDER BY 1, 2"
        ).fetchall()
        counts = {}
        for schema, table in names:
            row = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else 0
        return counts
    finally:
        con.close()


def _site(site: Path) -> dict[str, Any]:
    """Every HTML page's size, and where plotly.js is: as a file, or (wrongly) inlined in a page."""
    if not site.exists():
        return {"pages": [], "plotly_js_files": [], "plotly_js_stored": 0, "pages_with_inline_plotly": []}
    pages = sorted(p for p in site.rglob("*.html") if p.is_file())
    inline = []
    for page in pages:
        with page.open("rb") as handle:
            text = handle.read()
        if b"plotly.js v" in text or (b"Plotly" in text and len(text) > 3_000_000):
            inline.append(str(page.relative_to(site)))
    plotly_js = sorted(p for p in site.rglob("*.js") if "plotly" in p.name.lower())
    return {
        "pages": [{"page": str(p.relative_to(site)), "bytes": p.stat().st_size} for p in pages],
        "plotly_js_files": [str(p.relative_to(site)) for p in plotly_js],
        # distinct files on disk (the audiences' sites hold hard links to one)
        "plotly_js_stored": len({(p.stat().st_dev, p.stat().st_ino) for p in plotly_js}),
        "pages_with_inline_plotly": inline,
        "bytes_total": sum(p.stat().st_size for p in site.rglob("*") if p.is_file()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True)
    parser.add_argument("--site", required=True)
    parser.add_argument("--config", default="")
    parser.add_argument("--out", required=True)
    parser.add_argument("--profile", default=os.environ.get("CALIBRA_BENCH_PROFILE", ""))
    parser.add_argument("--selection", default="", help="Dagster asset selection (default: every asset)")
    args = parser.parse_args(argv)
    launched_at = float(os.environ.get("BENCH_LAUNCHED_AT", MAIN_STARTED_AT))
    sampler = RssSampler()
    sampler.start()

    from models.config import PROJECT_ROOT, load_settings
    from pipelines.definitions import all_assets
    from pipelines.resources import CalibraResource, long_lived_objects_frozen
    from pipelines.runs import home_instance, materialize

    imports_done_at = time.time()
    config = args.config or str(PROJECT_ROOT / "calibra.yaml")
    settings = load_settings(config, args.home, args.site)
    resource_ = CalibraResource(config_path=config, home=str(settings.home), site=str(settings.site))
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    run_started_at = time.time()
    if profiler:
        profiler.enable()
    with long_lived_objects_frozen():  # as `calibra run` (pipelines/cli.py)
        # as `calibra run`: ingest, then the stale organisation-cycle partitions, on the home's instance
        result = materialize(
            all_assets,
            resources={"calibra": resource_},
            selection=args.selection or None,
            raise_on_error=False,
            tags={"calibra/command": "benchmark"},
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
    if profiler:
        profiler.disable()
    run_finished_at = time.time()
    if profiler:
        profiler.dump_stats(args.profile)
    failed_checks = [
        f"{e.asset_key.to_user_string()}: {e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity.value == "ERROR"
    ]
    sampler.stop()
    with home_instance(settings.home) as instance:  # the call's runs: ingest, observation, partitions
        groups = _step_groups(all_assets)
        steps = [step for run in result.results for step in _steps(instance, run.run_id, groups, sampler)]
    report = {
        "success": bool(result.success and not failed_checks),
        "failed_checks": failed_checks,
        "failed_steps": [s["step"] for s in steps if s["status"] != "success"],
        "launched_at": launched_at,
        "main_started_at": MAIN_STARTED_AT,
        "imports_done_at": imports_done_at,
        "run_started_at": run_started_at,
        "run_finished_at": run_finished_at,
        "steps": steps,
        "peak_rss_mb_sampled": sampler.peak_mb(launched_at, run_finished_at),
        "cpu_seconds_startup": sampler.cpu_between(0.0, run_started_at),
        "cpu_seconds_run": sampler.cpu_between(run_started_at, run_finished_at),
        "rss_mb_after_imports": sampler.peak_mb(imports_done_at - 0.05, imports_done_at + 0.05),
        "tables": _tables(settings.database),
        "site": _site(settings.site),
        "maxrss_mb_self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": sys.version.split()[0],
    }
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0 if report["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
