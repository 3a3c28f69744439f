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
        self.rows_read: int | None = None  # rows of the file, when it was read before it was rejected
        where = [f"file {file_name}"]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{', '.join(where)}: {reason} (rule: {rule})")


class DatabaseBusy(CalibraError):
    """Another process holds the single DuckDB writer lock."""


# What a user can do about an operating-system error, by errno name; the sentence names the path.
_OS_ADVICE = {
    "EROFS": "the file system is read-only; choose a writable folder (--home) or remount it writable",
    "EACCES": "permission denied; give your user write access to it or choose another folder (--home)",
    "EPERM": "the operation is not permitted; give your user access to it or choose another folder",
    "ENOSPC": "the disk is full; free some space and run again",
    "EDQUOT": "your disk quota is used up; free some space and run again",
    "ENOENT": "it does not exist; check the path",
    "EISDIR": "it is a folder where a file was expected; check the path",
    "ENOTDIR": "part of the path is a file where a folder was expected; check the path",
    "EMFILE": "too many files are open; close other programs and run again",
    "EIO": "the disk reported an input/output error; check the disk and run again",
}
# The same causes as DuckDB and SQLite word them (they do not raise OSError).
_MESSAGE_ADVICE = (
    ("read-only file system", "EROFS"),
    ("readonly database", "EROFS"),
    ("read-only", "EROFS"),
    ("permission denied", "EACCES"),
    ("no space left", "ENOSPC"),
    ("disk is full", "ENOSPC"),
    ("database or disk is full", "ENOSPC"),
    ("unable to open database file", "EACCES"),
    ("disk quota", "EDQUOT"),
)


def os_error_advice(error: BaseException) -> str | None:
    """What to do about an OS-level failure (read-only, permissions, disk full), or None if it is not one."""
    import errno

    number = getattr(error, "errno", None)
    if isinstance(number, int) and errno.errorcode.get(number) in _OS_ADVICE:
        return _OS_ADVICE[errno.errorcode[number]]
    text = str(error).lower()
    for fragment, name in _MESSAGE_ADVICE:
        if fragment in text:
            return _OS_ADVICE[name]
    return None


def os_error_sentence(error: BaseException, path: object | None = None) -> str:
    """One sentence for an operating-system error: the path and what to do."""
    where = getattr(error, "filename", None) or path
    advice = os_error_advice(error) or (getattr(error, "strerror", None) or type(error).__name__).rstrip(".")
    return f"cannot write or read {where}: {advice}" if where else f"a file operation failed: {advice}"
