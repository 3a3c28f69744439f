"""The front door: the README is a short front page whose commands are the Makefile's and the CLI's, whose
links all lead somewhere, and whose reference pages (docs/) are current; CI calls the test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from models.config import PROJECT_ROOT
from models.docs import DATA_INTERFACE, README, render
from pipelines.cli import main, parser

README_LIMIT = 15_000  # characters: a front page, not the reference
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
DOCUMENTS_NOT_IN_THE_REPOSITORY = re.compile(r"\b(DESIGN|DOMAIN|RELIABILITY)\.md\b|shared/")


def make_targets() -> set[str]:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_make_commands_are_the_makefile_targets() -> None:
    commands = set(re.findall(r"`make ([a-z][a-z-]*)", readme()))
    assert commands == make_targets(), (
        f"in the README only: {commands - make_targets()}; in the Makefile only: {make_targets() - commands}"
    )


def test_readme_calibra_commands_are_the_cli_subcommands() -> None:
    documented = set(re.findall(r"`\.venv/bin/calibra ([a-z]+)", readme()))
    [subparsers] = [a for a in parser()._actions if a.dest == "command"]
    assert documented == set(subparsers.choices), set(subparsers.choices) ^ documented  # type: ignore[arg-type]


def test_setup_commands_come_first() -> None:
    first_block = readme().split("```sh", 1)[1].split("```", 1)[0]
    assert re.findall(r"^make (\w+)", first_block, flags=re.M) == ["run", "test"]


def test_readme_is_a_front_page() -> None:
    text = readme()
    assert len(text) <= README_LIMIT, (
        f"README.md has {len(text)} characters; move reference material to docs/"
    )
    headings = re.findall(r"^#+ .*$", text, flags=re.M)
    assert not [h for h in headings if re.search(r"\(issue \d+\)", h)], "headings carry issue tags"
    assert not DOCUMENTS_NOT_IN_THE_REPOSITORY.search(text), (
        "the README names documents not in the repository"
    )
    for section in ("Set-up", "Commands", "What calibra shows", "Adding your organisation", "Configuration"):
        assert any(section in h for h in headings), section
    for image in sorted((PROJECT_ROOT / "docs" / "screenshots").glob("*.png")):
        assert f"docs/screenshots/{image.name}" in text, f"{image.name} is not shown in the README"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip().lower())
    kept = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return [a or b for a, b in LINK.findall(text)]


def test_every_relative_link_leads_somewhere() -> None:
    """README and docs/: every link to a file in the repository finds the file, and its #anchor a heading."""
    pages = [README, *sorted((PROJECT_ROOT / "docs").rglob("*.md"))]
    broken = []
    checked = 0
    for page in pages:
        for link in _links(page):
            if re.match(r"[a-z]+:", link):  # http:, https:, mailto: — not ours to check offline
                continue
            path, _, anchor = link.partition("#")
            target = (page.parent / path).resolve() if path else page
            checked += 1
            if not target.exists():
                broken.append(f"{page.relative_to(PROJECT_ROOT)}: {link}")
                continue
            if anchor and target.suffix == ".md" and anchor not in _anchors(target):
                broken.append(f"{page.relative_to(PROJECT_ROOT)}: {link} (no such heading)")
    assert checked > 20
    assert not broken, broken


def test_slug_follows_github() -> None:
    assert _slug("Disclosure control (`models/privacy.py`)") == "disclosure-control-modelsprivacypy"
    assert _slug("Two kinds of wrong") == "two-kinds-of-wrong"
    assert _slug("Statistics, honestly") == "statistics-honestly"


def test_ci_calls_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, flags=re.M)


def test_data_interface_is_generated_from_the_contracts_and_the_mart_documents() -> None:
    page = DATA_INTERFACE.read_text(encoding="utf-8")
    assert render(page) == page, "run `python -m models.docs` to refresh docs/data-interface.md"
    assert "`staging.evaluations`" in page and "`employee_id`" in page
    for document in sorted((PROJECT_ROOT / "docs" / "marts").glob("*.md")):
        assert f"](marts/{document.name})" in page, document.name
    assert "docs/data-interface.md" in readme()


def test_cli_subcommands_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    """In process (the parser is the one `calibra` runs); the entry point itself runs as a process below."""
    [subparsers] = [a for a in parser()._actions if a.dest == "command"]
    assert {"sample", "run", "ingest", "ui", "whatif", "serve"} <= set(subparsers.choices)  # type: ignore[arg-type]
    for command in subparsers.choices:  # type: ignore[union-attr]
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0, command
        assert f"usage: calibra {command}" in capsys.readouterr().out, command


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


def test_every_soak_test_named_in_conftest_exists() -> None:
    """A renamed slow test must not slip into `make test` unnoticed: every SOAK entry names a real test."""
    from tests.conftest import SOAK

    for entry in SOAK:
        module, _, name = entry.partition("::")
        source = (PROJECT_ROOT / "tests" / module).read_text(encoding="utf-8")
        assert name == "*" or re.search(rf"^def {re.escape(name)}\(", source, flags=re.M), entry


def test_the_tiers_are_registered_and_the_makefile_selects_them() -> None:
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for marker in ("pipeline", "browser", "process", "soak"):
        assert re.search(rf'^\s*"{marker}: ', pyproject, flags=re.M), marker
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert '-m "not soak"' in makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert (
        '-m "not pipeline and not browser and not process and not soak"'
        in makefile.split("\ntest-fast:", 1)[1]
    )
    assert "-m soak" in makefile.split("\nsoak:", 1)[1].split("\n\n", 1)[0]
