"""Data contracts: the single source of a canonical table's columns, types, rules, keys and PII class.

The polars schema, the DuckDB DDL, the Great Expectations suite (models/validation.py) and the README's data
interface are all derived from the YAML files in data-contracts/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from models.config import PROJECT_ROOT, cached_yaml
from models.errors import ConfigError

CONTRACTS_DIR = PROJECT_ROOT / "data-contracts"
KINDS = ("evaluations", "awards", "payroll", "salary_scales")

POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "integer": pl.Int64(),
    "decimal": pl.Float64(),
    "date": pl.Date(),
    "boolean": pl.Boolean(),
}
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "date": "DATE",
    "boolean": "BOOLEAN",
}
PII_CLASSES = {"none", "quasi", "identifier", "free_text"}

# Lineage columns every staging table carries besides its contract columns.
LINEAGE_COLUMNS = {"_source_sha256": "VARCHAR", "_source_row": "BIGINT"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    pii: str
    description: str
    allowed: tuple[Any, ...] | None = None
    allowed_from_policy: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    strict_min: bool = False
    pattern: str | None = None
    max_length: int | None = None

    @property
    def polars_type(self) -> pl.DataType:
        return POLARS_TYPES[self.type]


@dataclass(frozen=True)
class Contract:
    table: str
    version: int
    description: str
    grain: str
    keys: tuple[tuple[str, ...], ...]
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.polars_type for c in self.columns}

    @property
    def has_cycle(self) -> bool:
        return "cycle" in self.names

    def staging_ddl(self, schema: str = "staging") -> str:
        cols = [f'"{c.name}" {DUCKDB_TYPES[c.type]}' for c in self.columns]
        cols += [f"{name} {sql_type}" for name, sql_type in LINEAGE_COLUMNS.items()]
        return f"CREATE TABLE IF NOT EXISTS {schema}.{self.table} ({', '.join(cols)})"


def _column(spec: dict[str, Any], table: str) -> Column:
    name = spec.get("name")
    if not name or spec.get("type") not in POLARS_TYPES:
        raise ConfigError(f"contract {table}: column {name!r} has no valid type ({list(POLARS_TYPES)})")
    if spec.get("pii") not in PII_CLASSES:
        raise ConfigError(f"contract {table}: column {name} has no PII class ({sorted(PII_CLASSES)})")
    if not spec.get("description"):
        raise ConfigError(f"contract {table}: column {name} has no description")
    value_range = spec.get("range") or {}
    allowed = spec.get("allowed")
    return Column(
        name=name,
        type=spec["type"],
        required=bool(spec.get("required", False)),
        pii=spec["pii"],
        description=str(spec["description"]).strip(),
        allowed=tuple(allowed) if allowed is not None else None,
        allowed_from_policy=spec.get("allowed_from_policy"),
        minimum=value_range.get("min"),
        maximum=value_range.get("max"),
        strict_min=bool(value_range.get("strict_min", False)),
        pattern=spec.get("pattern"),
        max_length=spec.get("max_length"),
    )


def load_contract(kind: str, contracts_dir: Path = CONTRACTS_DIR) -> Contract:
    if kind not in KINDS:
        raise ConfigError(f"unknown table kind '{kind}'; known kinds: {', '.join(KINDS)}")
    raw = cached_yaml(contracts_dir / f"{kind}.yaml")
    columns = tuple(_column(spec, kind) for spec in raw["columns"])
    names = {c.name for c in columns}
    keys = tuple(tuple(key) for key in raw.get("keys", ()))
    for key in keys:
        missing = set(key) - names
        if missing:
            raise ConfigError(f"contract {kind}: key uses unknown columns {sorted(missing)}")
    return Contract(
        table=raw["table"],
        version=int(raw["version"]),
        description=str(raw["description"]).strip(),
        grain=raw.get("grain", ""),
        keys=keys,
        columns=columns,
    )


def all_contracts(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, Contract]:
    return {kind: load_contract(kind, contracts_dir) for kind in KINDS}
