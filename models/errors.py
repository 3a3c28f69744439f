"""Errors a user can act on: one clear sentence naming file, row, column and what was expected."""

from __future__ import annotations


class CalibraError(Exception):
    """Base class for errors shown to users as one sentence (no traceback unless --debug)."""


class ConfigError(CalibraError):
    """A configuration, policy, mapping or contract file is missing or malformed."""


class FileRejected(CalibraError):
    """A whole input file is structurally unusable; nothing from it is loaded.

    The message never contains cell values: they may be personal data.
    """

    def __init__(
        self, file_name: str, reason: str, *, row: int | None = None, column: str | None = None, rule: str
    ) -> None:
        self.file_name = file_name
        self.reason = reason
        self.row = row
        self.column = column
        self.rule = rule
        where = [f"file {file_name}"]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {reason} (rule: {rule})")


class DatabaseBusy(CalibraError):
    """Another process holds the single DuckDB writer lock."""
