"""The `calibra` command. Errors are one sentence (file, row, column, what was expected); --debug shows more."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from models.config import Settings
from models.errors import CalibraError, os_error_advice, os_error_sentence
from pipelines.letter_cli import add_letter_parser
from pipelines.serve import add_serve_parser, port_number
from pipelines.whatif_cli import add_whatif_parser


def _settings(args: argparse.Namespace) -> Settings:
    """The command's settings: its --config/--home/--site, else CALIBRA_CONFIG/CALIBRA_HOME/CALIBRA_SITE, else
    calibra.yaml (pipelines.settings.resolve). They reach Dagster as the run's resource configuration; the
    process's environment is never written.

    A `--home` given here must exist (or `--create` asks for it) and be empty or a calibra home; a `--site`
    must be new, empty or a calibra site — checked before any work, so a mistyped path costs nothing."""
    from models.warehouse import check_home
    from pipelines.settings import resolve

    home = Path(args.home).resolve() if getattr(args, "home", None) else None
    if home is not None:
        check_home(home, create=bool(getattr(args, "create", False) or getattr(args, "sample", False)))
    site = Path(args.site).resolve() if getattr(args, "site", None) else None
    settings = resolve(getattr(args, "config", None), home, site)
    if site is not None:
        from dashboards.site import check_site_folder

        check_site_folder(site)
        if site in (settings.home, *settings.home.parents):
            raise CalibraError(
                f"the site folder {site} holds the home {settings.home}; give the site a folder of its own"
            )
    return settings


def _dagster_home(home: Path) -> Path:
    """The home's Dagster instance folder (pipelines.runs.dagster_home)."""
    from pipelines.runs import dagster_home

    return dagster_home(home)


def cmd_sample(args: argparse.Namespace) -> int:
    from models.sample import write_sample
    from models.warehouse import owner_only

    out = Path(args.out)
    started = time.perf_counter()
    manifest = write_sample(
        out,
        seed=args.seed,
        employees=args.employees,
        cycles=args.cycles,
        progress=lambda m: print(f"  · {m}", file=sys.stderr),
    )
    owner_only(out / "inbox")
    files = manifest.files if hasattr(manifest, "files") else []
    print(
        f"calibra sample: {len(files)} export files in {out / 'inbox'} "
        f"({time.perf_counter() - started:.1f} s); planted patterns in {out / 'manifest.json'}"
    )
    return 0


def _materialize(
    settings: Settings, selection: str | None, language: str, show_progress: bool
) -> tuple[bool, list[str]]:
    import dagster as dg

    from pipelines.definitions import all_assets
    from pipelines.resources import long_lived_objects_frozen
    from pipelines.runs import materialize
    from pipelines.settings import run_resource

    dagster_home = _dagster_home(settings.home)
    try:
        with long_lived_objects_frozen(), dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            # ingest, then the organisation-cycle partitions Dagster finds missing or stale, then the rest
            result = materialize(
                all_assets,
                instance=instance,
                resources={"calibra": run_resource(settings, language, show_progress)},
                selection=selection,
                raise_on_error=False,
                tags={"calibra/command": "cli"},
                # The CLI prints its own progress; Dagster's step log stays in the instance for `calibra ui`.
                run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
            )
    except CalibraError:
        raise
    except Exception as error:  # Dagster's run or event storage (SQLite) could not be written
        advice = os_error_advice(error)
        if advice is None:
            raise
        raise CalibraError(f"Dagster's run storage in {dagster_home} cannot be used: {advice}") from None
    if show_progress and selection is None and result.results:
        rebuilt = ", ".join(result.partitions) if result.partitions else "none (nothing changed)"
        print(f"  · organisation-cycles rebuilt (missing or stale in Dagster): {rebuilt}", file=sys.stderr)
    failed_checks = [
        f"{evaluation.asset_key.to_user_string()}: {evaluation.check_name}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity.value == "ERROR"
    ]
    return result.success and not failed_checks, failed_checks + step_failures(result, settings)


def step_failures(result: object, settings: Settings) -> list[str]:
    """One sentence per failed step, from Dagster's events: a calibra error as it is, an operating-system
    error as path + what to do, anything else by its class (the traceback stays in the run's log)."""
    reasons = []
    for event in getattr(result, "all_events", []):
        if not event.is_step_failure or event.step_failure_data is None:
            continue
        error = event.step_failure_data.error
        if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
            continue  # a blocking check that failed: the check itself is reported (and the file's reason)
        while error is not None and error.cause is not None:
            error = error.cause  # Dagster wraps the step's own exception
        if error is None:
            continue
        message = error.message.strip()
        # SerializableErrorInfo.message is "ClassName: text"
        text = message.split(": ", 1)[1] if message.startswith(error.cls_name + ":") else message
        text = text.strip().splitlines()[0] if text.strip() else text
        if error.cls_name in _CALIBRA_ERRORS:
            reasons.append(f"{event.step_key}: {text}")
            continue
        advice = os_error_advice(_Described(text))
        if advice:
            reasons.append(f"{event.step_key}: cannot use {_path_in(text) or settings.home}: {advice}")
        else:
            reasons.append(
                f"{event.step_key} failed with {error.cls_name} (see `calibra ui` or rerun with --debug)"
            )
    return reasons


_CALIBRA_ERRORS = {
    "CalibraError",
    "ConfigError",
    "FileRejected",
    "DatabaseBusy",
    "SiteFolderRefused",
    "WhatIfError",
}


class _Described(Exception):
    """An error known only by its text (from Dagster's event log)."""


def _path_in(text: str) -> str | None:
    """The first quoted absolute path in an error text (DuckDB and SQLite quote the file they failed on)."""
    import re

    found = re.search(r"[\"'](/[^\"']+)[\"']", text)
    return found.group(1) if found else None


def _summary(settings: Settings, published: bool, since: datetime | None = None) -> str:
    from models.warehouse import connect

    if not settings.database.exists():
        return f"database: {settings.database} (not created: the run stopped before loading)"
    with connect(settings.database, read_only=True) as con:
        row = con.execute(
            """SELECT count(*), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0),
                      count(*) FILTER (WHERE status = 'rejected')
               FROM audit.load_ledger WHERE status <> 'superseded'"""
        ).fetchone()
        messages = con.execute(
            """SELECT message FROM audit.load_ledger WHERE status = 'rejected' AND loaded_at >= ?
               ORDER BY file_name LIMIT 5""",
            [since or datetime.min],
        ).fetchall()
    files, loaded, quarantined, rejected = row if row else (0, 0, 0, 0)
    lines = [f"rejected: {message}" for (message,) in messages]
    if messages:
        lines.append(f"rejected files were moved to {settings.inbox.parent / 'rejected'} with a note")
    lines += [
        f"files: {files} ({rejected} rejected)   rows loaded: {loaded:,}   rows quarantined: {quarantined:,}",
        f"database: {settings.database}",
    ]
    if published:
        lines.append(f"site:     {settings.site / 'organisatie' / 'index.html'} (all staff)")
        lines.append(f"          {settings.site / 'management' / 'index.html'} (management team)")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from models.warehouse import run_lock

    settings = _settings(args)
    with run_lock(settings.home):  # a second run at the same time stops here with one sentence
        return _run(args, settings)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from models.warehouse import owner_only, prepare_home

    prepare_home(settings.home)
    settings.inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    if args.sample and not any(settings.inbox.glob("*")):
        from models.sample import write_sample

        print(f"calibra run: writing the bundled sample exports to {settings.inbox}", file=sys.stderr)
        write_sample(settings.home, progress=lambda m: print(f"  · {m}", file=sys.stderr))
    owner_only(settings.inbox)
    print(f"calibra run: ingest → marts → site, through Dagster ({settings.home})", file=sys.stderr)
    started = time.perf_counter()
    started_at = datetime.now()
    ok, failed = _materialize(settings, None, args.lang, show_progress=not args.quiet)
    failed += _files_that_loaded_nothing(settings, started_at)
    ok = ok and not failed
    elapsed = time.perf_counter() - started
    print(_summary(settings, published=ok, since=started_at))
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

    settings = _settings(args)
    with run_lock(settings.home):
        return _ingest(args, settings)


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from models.warehouse import prepare_home

    prepare_home(settings.home)
    settings.inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in args.files:
        source = Path(name)
        if not source.is_file():
            raise CalibraError(f"file {source} does not exist")
        target = settings.inbox / source.name
        # Raw exports carry names and registry numbers: the copy is the owner's only (never 0644).
        old_umask = os.umask(0o077)
        try:
            shutil.copyfile(source, target)
            target.chmod(0o600)
        except OSError as error:
            raise CalibraError(os_error_sentence(error, target)) from None
        finally:
            os.umask(old_umask)
    started_at = datetime.now()
    ok, failed = _materialize(settings, "group:ingest", "nl", show_progress=not args.quiet)
    failed += _files_that_loaded_nothing(settings, started_at)
    print(_summary(settings, published=False, since=started_at))
    if not ok or failed:
        reason = "; ".join(failed) or "a step failed (see `calibra ui` for the run's log)"
        print(f"calibra ingest: not everything was loaded — {reason}", file=sys.stderr)
        return 1
    return 0


def _files_that_loaded_nothing(settings: Settings, since: datetime) -> list[str]:
    """Files of this run that had rows but loaded none: every row held back. The run must not end in
    'done' with 'rows loaded: 0'; the most frequent reason is named (column and rule, never a value)."""
    from models.warehouse import connect

    if not settings.database.exists():
        return []
    with connect(settings.database, read_only=True) as con:
        files = con.execute(
            """SELECT file_sha256, file_name, rows_read FROM audit.load_ledger
               WHERE loaded_at >= ? AND rows_read > 0 AND rows_loaded = 0
                 AND status IN ('loaded', 'loaded_with_quarantine') ORDER BY file_name""",
            [since],
        ).fetchall()
        reasons = []
        for sha, name, rows_read in files:
            top = con.execute(
                """SELECT column_name, rule, count(DISTINCT row_number) AS n FROM audit.quarantine
                   WHERE file_sha256 = ? GROUP BY ALL ORDER BY n DESC, column_name LIMIT 1""",
                [sha],
            ).fetchone()
            why = f" (most often column '{top[0]}', rule {top[1]}: {top[2]} rows)" if top else ""
            reasons.append(
                f"file {name}: all {rows_read} rows were held back in quarantine{why}; "
                "fix the export or its mapping and add it again"
            )
    return reasons


def cmd_ui(args: argparse.Namespace) -> int:
    from models.warehouse import prepare_home
    from pipelines.settings import ui_environment

    settings = _settings(args)
    prepare_home(settings.home)
    settings.inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    dagster_home = _dagster_home(settings.home)
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
    # The settings reach the code location through the environment of `dagster dev` only (Dagster's EnvVar).
    return subprocess.call(command, env=ui_environment(settings, dagster_home))


class _Parser(argparse.ArgumentParser):
    """Usage errors as one sentence on one line (argparse prints the usage block and exits 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"calibra: {message}; see `{self.prog} --help`\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: give 1 or more")
    return value


def parser() -> argparse.ArgumentParser:
    main = _Parser(prog="calibra", description="Calibration and reward analytics for the public sector.")
    main.add_argument("--debug", action="store_true", help="show full tracebacks (anywhere on the line)")
    sub = main.add_subparsers(dest="command", required=True)

    sample = sub.add_parser("sample", help="write realistic sample exports of two organisations")
    sample.add_argument("--out", required=True, help="folder to write inbox/ and manifest.json to")
    sample.add_argument("--seed", type=int, default=42, help="random seed (same seed, same bytes)")
    sample.add_argument(
        "--employees", type=positive_int, default=3000, help="employees over both organisations"
    )
    sample.add_argument("--cycles", type=positive_int, default=3, help="number of yearly cycles")
    sample.set_defaults(func=cmd_sample)

    def paths(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help="calibra.yaml to use (default: the project's)")
        p.add_argument("--home", help="folder with inbox/ and the database (default: var/)")
        p.add_argument("--site", help="folder to publish the site to")
        p.add_argument("--quiet", action="store_true", help="no progress lines")
        p.add_argument(
            "--create", action="store_true", help="create the --home folder if it does not exist yet"
        )

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
    ui.add_argument("--port", type=port_number, default=3000, help="port on 127.0.0.1 (default 3000)")
    ui.set_defaults(func=cmd_ui)

    add_whatif_parser(sub)
    add_letter_parser(sub)
    add_serve_parser(sub)
    return main


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # --debug anywhere on the line (before or after the subcommand); `--` ends the options.
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end]
    argv = [a for i, a in enumerate(argv) if not (i < end and a == "--debug")]
    args = parser().parse_args(argv)
    args.debug = debug
    # Everything calibra writes (inbox copies, database, Dagster's run storage and logs, site, exports, the
    # sample) is personal data: owner-only from the start, also files created by Dagster and `dagster dev`.
    os.umask(0o077)
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
        if os_error_advice(error) is not None:
            print(f"calibra: {os_error_sentence(error)}", file=sys.stderr)
            return 2
        print(f"calibra: unexpected {type(error).__name__}; rerun with --debug for details", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
