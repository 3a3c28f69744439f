"""Protected parts of the evaluator report kept from one run to the next (issue 21: a run that adds a cycle
protects that cycle's report, not every cycle's again).

The site protects the evaluator report one organisation × cycle × measure at a time
(pipelines.publishing.CycleReader; models.releases.evaluators.protect_part). A part's protection depends on
its rows, its thresholds and the code that protects it, nothing else (the evaluator's department is added
after). The rows of an organisation-cycle of marts.evaluator_report change only when the mart step rebuilds
that slice, and the step writes the slice's row of audit.mart_inputs (fingerprint, build time) in the same
transaction (pipelines.increments.replace_slices). So a part is kept under a key of: organisation, cycle,
measure, that audit row, the thresholds, and a digest of the protecting code with the polars version. A
slice without an audit row (a table written some other way) is never kept.

Files: ``<home>/cache/evaluator_report/<key>.evaluators.arrow``, ``<key>.organisation.arrow`` and
``<key>.json`` (counts for the disclosure report), owner-only: they hold the protected, pseudonymised rows
the management site publishes. At the end of a run the parts it did not use are deleted; only files of this
folder with the cache's own names are ever touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from models.disclosure import Thresholds
from models.releases.evaluators import ProtectedPart

# The code a part's protection depends on (relative to the project root; folders: every .py in them).
PROTECTING_CODE = ("models/releases/evaluators.py", "models/releases/common.py", "models/disclosure")
ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = (".evaluators.arrow", ".organisation.arrow", ".json")
# zstd: half the size of lz4 and faster to read back here (2.0 million rows of the benchmark's 15 parts: 84 MB
# read in 1.0 s, against 167 MB in 1.7 s; uncompressed, 1.2 GB).
COMPRESSION: Literal["zstd"] = "zstd"
NAME = re.compile("^[0-9a-f]{64}(" + "|".join(re.escape(suffix) for suffix in SUFFIXES) + ")$")


def code_digest() -> str:
    """sha256 of the protecting code's files (in path order) and the polars version."""
    digest = hashlib.sha256(pl.__version__.encode())
    for entry in PROTECTING_CODE:
        path = ROOT / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\x00" + file.read_bytes() + b"\x00")
    return digest.hexdigest()


def cache_folder(home: Path) -> Path:
    return home / "cache" / "evaluator_report"


@dataclass
class PartCache:
    """The kept parts of one home; `used`, `kept` and `made` count this run's look-ups."""

    folder: Path
    code: str = field(default_factory=code_digest)
    used: set[str] = field(default_factory=set)
    kept: int = 0
    made: int = 0

    def key(
        self, organization: str, cycle: int, measure: str | None, built: str | None, limits: Thresholds
    ) -> str | None:
        """The part's key, or None when it cannot be kept (no audit row for its slice)."""
        if built is None:
            return None
        material = [self.code, organization, str(cycle), measure or "", built, repr(limits)]
        return hashlib.sha256("\x00".join(material).encode()).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path, Path]:
        evaluators, organisation, counts = (self.folder / f"{key}{suffix}" for suffix in SUFFIXES)
        return evaluators, organisation, counts

    def load(self, key: str) -> ProtectedPart | None:
        """The part kept under `key`, or None (never kept, or a file of it missing or unreadable)."""
        evaluators, organisation, counts = self._paths(key)
        try:
            stats = json.loads(counts.read_text(encoding="utf-8"))
            part = ProtectedPart(
                evaluators=pl.read_ipc(evaluators),
                organisation=pl.read_ipc(organisation),
                **stats,
            )
        except (OSError, ValueError, TypeError, pl.exceptions.PolarsError):
            return None
        self.used.add(key)
        self.kept += 1
        return part

    def save(self, key: str, part: ProtectedPart) -> None:
        """Keep `part` (each file written whole under a temporary name, then renamed into place). A part that
        cannot be written (a full disk, a read-only home) is not kept; the run goes on without it."""
        try:
            self._write(key, part)
        except (OSError, pl.exceptions.PolarsError):
            for path in self._paths(key):
                for leftover in (path, path.with_name(path.name + ".tmp")):
                    with contextlib.suppress(OSError):
                        leftover.unlink(missing_ok=True)
            return
        self.used.add(key)
        self.made += 1

    def _write(self, key: str, part: ProtectedPart) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.chmod(0o700)
        evaluators, organisation, counts = self._paths(key)
        stats = {
            "cells": part.cells,
            "hidden": part.hidden,
            "large_cells": part.large_cells,
            "large_complements": part.large_complements,
            "large_remainders": part.large_remainders,
            "reasons": part.reasons,
            "notes": part.notes,
        }
        for path, write in (
            (evaluators, lambda p: part.evaluators.write_ipc(p, compression=COMPRESSION)),
            (organisation, lambda p: part.organisation.write_ipc(p, compression=COMPRESSION)),
            (counts, lambda p: p.write_text(json.dumps(stats), encoding="utf-8")),
        ):
            temporary = path.with_name(path.name + ".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.close(fd)
            write(temporary)
            os.replace(temporary, path)

    def prune(self) -> int:
        """Delete the kept parts this run did not use (cache files only); returns how many parts."""
        if not self.folder.is_dir():
            return 0
        gone: set[str] = set()
        for path in self.folder.iterdir():
            if not path.is_file() or path.is_symlink():
                continue
            stale = NAME.match(path.name) is not None and path.name[:64] not in self.used
            # a .tmp file: left by a run that was stopped while writing
            if stale or (path.name.endswith(".tmp") and NAME.match(path.name[: -len(".tmp")])):
                try:
                    path.unlink()
                except OSError:
                    continue  # tried again at the next run
                if stale:
                    gone.add(path.name[:64])
        return len(gone)
