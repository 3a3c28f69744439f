"""The one resource: where calibra's files are, a single-writer DuckDB connection, progress for the CLI."""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace

import dagster as dg
import duckdb
import polars as pl

from models.config import Settings, load_settings
from models.warehouse import connect, initialise


class CalibraResource(dg.ConfigurableResource):
    """The settings of one run, as Dagster resource configuration: the CLI configures it when it launches a
    run (pipelines.settings.run_resource), the UI's code location from environment variables through
    Dagster's EnvVar (pipelines.settings.ui_resource). An empty path means calibra.yaml's (the project's
    calibra.yaml when `config_path` is empty); nothing here reads the environment."""

    config_path: str = ""  # calibra.yaml: organisations, their policies per cycle, mappings, schedules
    home: str = ""  # inbox, database, exports
    site: str = ""  # where the site is published
    language: str = "nl"  # of the published site
    show_progress: bool = False  # progress lines on stderr (the CLI's)
    full_rebuild: bool = False  # every mart step rebuilds whole instead of the changed cycles

    def settings(self) -> Settings:
        settings = load_settings(self.config_path or None, self.home or None, self.site or None)
        return replace(settings, full_rebuild=self.full_rebuild) if self.full_rebuild else settings

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            with connect(self.settings().database) as con:
                initialise(con)
                yield con
        finally:
            release_memory()

    def progress(self, message: str) -> None:
        if self.show_progress:
            print(f"  · {message}", file=sys.stderr, flush=True)


# Inside `long_lived_objects_frozen`: each collection freezes its survivors, so the next step's collection scans
# only what that step created.
_freezing = [False]


def release_memory() -> None:
    """Hand memory that a step freed back to the system before the next step runs. The full garbage
    collection earns its keep: without it a whole 200,000 × 5 run peaked at 2.15 GB instead of about 1.8 GB;
    reference cycles left by the contract checks keep large frames alive until it runs."""
    gc.collect()
    if _freezing[0]:
        gc.freeze()
    if "pyarrow" in sys.modules:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    with suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@contextmanager
def long_lived_objects_frozen() -> Iterator[None]:
    """Keep what outlives a step (the imported modules of Dagster, Great Expectations, statsmodels, plotly:
    about a million objects, and what earlier steps kept) out of the later steps' garbage collections, which
    otherwise scan it all again after every step: 3.8 s of a small run's 23 s of CPU (0.17 s a collection).
    Survivors are frozen after each collection, so cyclic garbage is still found in the step that made it;
    a frozen object that later becomes cyclic garbage waits for the end of the run. Unfrozen afterwards, so the
    interpreter's exit frees them (a binding library reports frozen objects as leaked)."""
    gc.collect()
    gc.freeze()
    _freezing[0] = True
    try:
        yield
    finally:
        _freezing[0] = False
        gc.unfreeze()


def write_table(con: duckdb.DuckDBPyConnection, schema: str, name: str, frame: pl.DataFrame) -> None:
    """Replace one table atomically; `name` is a whitelisted asset name, never user input."""
    if not name.isidentifier() or schema not in {"marts", "audit", "staging"}:
        raise ValueError(f"refusing table name {schema}.{name}")
    con.register("_frame", frame.to_arrow())
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CREATE OR REPLACE TABLE {schema}.{name} AS SELECT * FROM _frame")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_frame")


def read_frame(
    con: duckdb.DuckDBPyConnection, query: str, params: list[object] | None = None
) -> pl.DataFrame:
    """A query's result as polars (DuckDB 2 returns relations from `sql`, not from `execute`)."""
    relation = con.sql(query, params=params)
    return relation.pl() if relation is not None else pl.DataFrame()
