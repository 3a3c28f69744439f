"""Mapping profiles (mappings/*.yaml): how one source export layout maps to a canonical contract."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.config import cached_yaml
from models.contracts import KINDS
from models.errors import ConfigError

ENCODINGS = {"utf-8", "utf-8-sig", "cp1252", "utf-16", "auto"}
FORMATS = {"csv", "xlsx", "parquet"}
DEFAULT_TRUE = ("ja", "j", "1", "waar", "true", "yes", "y")
DEFAULT_FALSE = ("nee", "n", "0", "onwaar", "false", "no")


@dataclass(frozen=True)
class Mapping:
    id: str
    kind: str
    match: tuple[str, ...]
    format: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    decimal: str = "."
    thousands: str = ""
    date_format: str = "%Y-%m-%d"
    excel_dates: bool = False
    sheet: str | None = None
    constants: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    canonical: bool = False
    id_pattern: str | None = None  # regex every identifier must match, e.g. '^\d{6}$' (leading zeros kept)

    def matches(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name.lower(), pattern.lower()) for pattern in self.match)


def _mapping(raw: dict[str, Any], path: Path) -> Mapping:
    try:
        mapping = Mapping(
            id=str(raw["id"]),
            kind=str(raw["kind"]),
            match=tuple(raw["match"] if isinstance(raw["match"], list) else [raw["match"]]),
            format=str(raw.get("format", "csv")),
            encoding=str(raw.get("encoding", "utf-8")).lower(),
            delimiter=str(raw.get("delimiter", ",")),
            decimal=str(raw.get("decimal", ".")),
            thousands=str(raw.get("thousands", "") or ""),
            date_format=str(raw.get("date_format", "%Y-%m-%d")),
            excel_dates=bool(raw.get("excel_dates", False)),
            sheet=raw.get("sheet"),
            constants=dict(raw.get("constants") or {}),
            columns={str(k): str(v) for k, v in (raw.get("columns") or {}).items()},
            values={
                str(k): {str(a): str(b) for a, b in v.items()} for k, v in (raw.get("values") or {}).items()
            },
            true_values=tuple(str(v).lower() for v in (raw.get("booleans") or {}).get(True, DEFAULT_TRUE)),
            false_values=tuple(str(v).lower() for v in (raw.get("booleans") or {}).get(False, DEFAULT_FALSE)),
            id_pattern=str(raw["id_pattern"]) if raw.get("id_pattern") else None,
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"mapping file {path} is incomplete: missing {exc}") from exc
    if mapping.kind not in KINDS:
        raise ConfigError(f"mapping file {path}: unknown kind '{mapping.kind}'")
    if mapping.format not in FORMATS:
        raise ConfigError(f"mapping file {path}: unknown format '{mapping.format}'")
    if mapping.encoding not in ENCODINGS:
        raise ConfigError(f"mapping file {path}: unsupported encoding '{mapping.encoding}'")
    if mapping.id_pattern is not None:
        try:
            re.compile(mapping.id_pattern)
        except re.error as exc:
            raise ConfigError(
                f"mapping file {path}: id_pattern is not a valid regular expression: {exc}"
            ) from None
    return mapping


def load_mappings(mappings_dirs: Sequence[Path]) -> list[Mapping]:
    """Mapping profiles of every configured folder, in order; the first that matches a file name wins."""
    return [
        _mapping(cached_yaml(path), path)
        for folder in mappings_dirs
        for path in sorted(folder.glob("*.yaml"))
    ]


CANONICAL_NAME = re.compile(r"^(?P<org>[a-z0-9][a-z0-9_-]*?)_(?P<kind>" + "|".join(KINDS) + r")(_.*)?$")


def canonical_mapping(file_name: str) -> Mapping | None:
    """Files named <organization>_<kind>[_anything].csv|parquet are read in canonical layout."""
    stem, _, suffix = file_name.rpartition(".")
    found = CANONICAL_NAME.match(stem.lower())
    if not found or suffix.lower() not in {"csv", "parquet"}:
        return None
    return Mapping(
        id=f"canonical_{found.group('kind')}",
        kind=found.group("kind"),
        match=(file_name,),
        format=suffix.lower(),
        encoding="auto",
        canonical=True,
    )


def find_mapping(file_name: str, mappings: list[Mapping]) -> Mapping | None:
    for mapping in mappings:
        if mapping.matches(file_name):
            return mapping
    return canonical_mapping(file_name)
