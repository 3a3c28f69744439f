"""The front door: the README's commands exist in the Makefile, CI calls the test command, docs are current."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from models.config import PROJECT_ROOT
from models.docs import README, render


def make_targets() -> set[str]:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))


def test_readme_make_commands_exist_in_the_makefile() -> None:
    readme = README.read_text(encoding="utf-8")
    commands = set(re.findall(r"`?make ([a-z][a-z-]*)", readme))
    assert {"run", "test", "ui", "bench"} <= commands
    assert commands <= make_targets(), commands - make_targets()


def test_setup_commands_come_first() -> None:
    readme = README.read_text(encoding="utf-8")
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert re.findall(r"^make (\w+)", first_block, flags=re.M) == ["run", "test"]


def test_ci_calls_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, flags=re.M)


def test_readme_data_interface_is_generated_from_the_contracts() -> None:
    readme = README.read_text(encoding="utf-8")
    assert render(readme) == readme, "run `python -m models.docs` to refresh the README"
    assert "`staging.evaluations`" in readme and "`employee_id`" in readme


def test_cli_subcommands_have_help() -> None:
    for command in ("sample", "run", "ingest", "ui"):
        result = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", command, "--help"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0 and "usage: calibra" in result.stdout, command


def test_cli_error_is_one_sentence_without_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "ingest",
            "--home",
            str(tmp_path),
            str(tmp_path / "missing.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("calibra:") and "missing.csv" in result.stderr


def test_blas_runs_one_thread_in_calibra_processes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """models/__init__.py pins BLAS to one thread before numpy loads: OpenBLAS's spinning worker threads made
    the disclosure audit's small SVDs 30× slower on a loaded 2-core machine. Also from another folder, as the
    `calibra` command runs: the installed package must run its __init__.py (it once resolved to a namespace
    package there, and BLAS kept its threads)."""
    code = (
        "import pipelines.cli, numpy, threadpoolctl; "
        "print(max(i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'))"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "PYTHONPATH"}
    for folder in (PROJECT_ROOT, tmp_path):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=folder, check=True
        )
        assert done.stdout.strip() == "1", folder
