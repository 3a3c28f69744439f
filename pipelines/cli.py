"""The `calibra` command. Errors are one sentence (file, row, column, what was expected); --debug shows more."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from models.config import Settings, load_settings
from models.errors import CalibraError
from pipelines.letter_cli import add_letter_parser
from pipelines.serve import add_serve_parser
from pipelines.whatif_cli import add_whatif_parser


def _settings_env(args: argparse.Namespace) -> None:
    """Command-line paths win over the environment; everything downstream reads the environment."""
    if getattr(args, "config", None):
        os.environ["CALIBRA_CONFIG"] = str(Path(args.config).resolve())
    if getattr(args, "home", None):
        os.environ["CALIBRA_HOME"] = str(Path(args.home).resolve())
    if getattr(args, "site", None):
        os.environ["CALIBRA_SITE"] = str(Path(args.site).resolve())


def _dagster_home(home: Path) -> Path:
    """A persistent Dagster instance beside the database, so `calibra ui` shows the runs of `calibra run`."""
    dagster_home = Path(os.environ.get("DAGSTER_HOME") or home / "dagster")
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    return dagster_home


def cmd_sample(args: argparse.Namespace) -> int:
    from models.sample import write_sample

    out = Path(args.out)
    started = time.perf_counter()
    manifest = write_sample(
        out,
        seed=args.seed,
        employees=args.employees,
        cycles=args.cycles,
        progress=lambda m: print(f"  · {m}", file=sys.stderr),
    )
    files = manifest.files if hasattr(manifest, "files") else []
    print(
        f"calibra sample: {len(files)} export files in {out / 'inbox'} "
        f"({time.perf_counter() - started:.1f} s); planted patterns in {out / 'manifest.json'}"
    )
    return 0


def _materialize(selection: str | None, language: str, show_progress: bool) -> tuple[bool, list[str]]:
    import dagster as dg

    from pipelines.definitions import all_assets
    from pipelines.resources import CalibraResource

    settings = load_settings()
    _dagster_home(settings.home)
    instance = dg.DagsterInstance.get()
    resource = CalibraResource(language=language, show_progress=show_progress)
    result = dg.materialize(
        all_assets,
        instance=instance,
        resources={"calibra": resource},
        selection=selection,
        raise_on_error=False,
        tags={"calibra/command": "cli"},
        # The CLI prints its own progress; Dagster's step log stays in the instance for `calibra ui`.
        run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
    )
    failed_checks = [
        f"{evaluation.asset_key.to_user_string()}: {evaluation.check_name}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity.value == "ERROR"
    ]
    return result.success and not failed_checks, failed_checks


def _summary(published: bool) -> str:
    from models.warehouse import connect

    settings = load_settings()
    with connect(settings.database, read_only=True) as con:
        row = con.execute(
            """SELECT count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0),
                      count(*) FILTER (WHERE status = 'rejected')
               FROM audit.load_ledger WHERE status <> 'superseded'"""
        ).fetchone()
        messages = con.execute(
            "SELECT message FROM audit.load_ledger WHERE status = 'rejected' ORDER BY file_name LIMIT 5"
        ).fetchall()
    files, loaded, quarantined, rejected = row if row else (0, 0, 0, 0)
    lines = [f"rejected: {message}" for (message,) in messages]
    lines += [
        f"files: {files} ({rejected} rejected)   rows loaded: {loaded:,}   rows quarantined: {quarantined:,}",
        f"database: {settings.database}",
    ]
    if published:
        lines.append(f"site:     {settings.site / 'index.html'}")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from models.warehouse import run_lock

    _settings_env(args)
    settings = load_settings()
    with run_lock(settings.home):  # a second run at the same time stops here with one sentence
        return _run(args, settings)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.sample and not any(settings.inbox.glob("*")):
        from models.sample import write_sample

        print(f"calibra run: writing the bundled sample exports to {settings.inbox}", file=sys.stderr)
        write_sample(settings.home, progress=lambda m: print(f"  · {m}", file=sys.stderr))
    print(f"calibra run: ingest → marts → site, through Dagster ({settings.home})", file=sys.stderr)
    started = time.perf_counter()
    ok, failed = _materialize(None, args.lang, show_progress=not args.quiet)
    elapsed = time.perf_counter() - started
    print(_summary(published=ok))
    if not ok:
        reason = "; ".join(failed) if failed else "a step failed (see `calibra ui` for the run's log)"
        print(
            f"calibra run: stopped after {elapsed:.1f} s — {reason}. "
            "The site was not updated; the data-quality page of the previous site and audit.load_ledger "
            "say which file and rule.",
            file=sys.stderr,
        )
        return 1
    print(f"calibra run: done in {elapsed:.1f} s")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from models.warehouse import run_lock

    _settings_env(args)
    settings = load_settings()
    with run_lock(settings.home):
        return _ingest(args, settings)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    settings.inbox.mkdir(parents=True, exist_ok=True)
    for name in args.files:
        source = Path(name)
        if not source.is_file():
            raise CalibraError(f"file {source} does not exist")
        shutil.copy2(source, settings.inbox / source.name)
    ok, failed = _materialize("group:ingest", "nl", show_progress=not args.quiet)
    print(_summary(published=False))
    if not ok:
        print("calibra ingest: rejected — " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    _settings_env(args)
    settings = load_settings()
    _dagster_home(settings.home)
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-m",
        "pipelines.definitions",
        "-h",
        "127.0.0.1",
        "-p",
        str(args.port),
    ]
    print(f"calibra ui: Dagster UI on http://127.0.0.1:{args.port} (Ctrl+C stops it)", file=sys.stderr)
    return subprocess.call(command)


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="calibra", description="Calibration and reward analytics for the public sector."
    )
    main.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = main.add_subparsers(dest="command", required=True)

    sample = sub.add_parser("sample", help="write realistic sample exports of two organisations")
    sample.add_argument("--out", required=True, help="folder to write inbox/ and manifest.json to")
    sample.add_argument("--seed", type=int, default=42, help="random seed (same seed, same bytes)")
    sample.add_argument("--employees", type=int, default=3000, help="employees over both organisations")
    sample.add_argument("--cycles", type=int, default=3, help="number of yearly cycles")
    sample.set_defaults(func=cmd_sample)

    def paths(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help="calibra.yaml to use (default: the project's)")
        p.add_argument("--home", help="folder with inbox/ and the database (default: var/)")
        p.add_argument("--site", help="folder to publish the site to")
        p.add_argument("--quiet", action="store_true", help="no progress lines")

    run = sub.add_parser(
        "run", help="ingest the inbox, build every mart and publish the site, through Dagster"
    )
    paths(run)
    run.add_argument(
        "--sample", action="store_true", help="write the sample exports first if the inbox is empty"
    )
    run.add_argument("--lang", choices=["nl", "en"], default="nl", help="language of the site (default nl)")
    run.set_defaults(func=cmd_run)

    ingest = sub.add_parser("ingest", help="copy files to the inbox and load them (contract-checked)")
    paths(ingest)
    ingest.add_argument("files", nargs="*", help="export files to add to the inbox first")
    ingest.set_defaults(func=cmd_ingest)

    ui = sub.add_parser("ui", help="the Dagster UI on 127.0.0.1")
    paths(ui)
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    add_whatif_parser(sub)
    add_letter_parser(sub)
    add_serve_parser(sub)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CalibraError as error:
        if args.debug:
            raise
        print(f"calibra: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("calibra: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"calibra: unexpected {type(error).__name__}; rerun with --debug for details", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
