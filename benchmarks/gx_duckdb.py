"""Great Expectations on DuckDB against GX's pandas engine: CPU seconds and memory of contract validation.

    python -m benchmarks.gx_duckdb --rows 1000000                 # both engines, alternating, same batch
    python -m benchmarks.gx_duckdb --rows 1000000 --engine duckdb  # one engine (for a whole-process timer)
    python -m benchmarks.gx_duckdb --repeated-bad-lines 200        # ingest a 200 MB file of one bad line

The batch is a synthetic evaluations export of `--rows` typed rows (the contract's 34 rules) of which about
1.15% break one rule each, validated in batches of `models.ingest.BATCH_ROWS` rows as ingest does. CPU
seconds are user + system of this process (all threads) around the validation only: data generation and the
Great Expectations import are not counted. Both engines must find the same row/rule pairs.

`--repeated-bad-lines MB` writes a CSV of MB megabytes whose data lines are one line repeated (a rating that is
not on the scale and, since every line is the same employee, a duplicate key), ingests it with
`models.ingest.ingest_paths` into a fresh database, and prints the outcome and the peak RSS of the process.
With `--engine pandas` or `--engine duckdb` it only reads and types the file, then validates it with that engine
(GX's built-in suite on pandas, as calibra did before, or the compiled suite on DuckDB).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from models.config import PROJECT_ROOT, Settings, load_settings
from models.contracts import load_contract
from models.policy import policy_for
from models.readers import ROW

ORGANIZATION = "zeeland-demo"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def evaluations(rows: int, bad_share: float = 0.0115, seed: int = 7) -> pl.DataFrame:
    """A typed evaluations batch (contract schema) with about `bad_share` of its rows broken, one rule each."""
    settings = load_settings(PROJECT_ROOT / "calibra.yaml")
    policy = policy_for(settings, ORGANIZATION)
    contract = load_contract("evaluations")
    rng = np.random.default_rng(seed)
    ratings = np.array(policy.allowed_values("rating_scale"), dtype=object)
    departments = np.array([f"Afdeling {i:02d}" for i in range(60)], dtype=object)
    levels = np.array([f"S{i:02d}" for i in range(1, 19)], dtype=object)
    columns: dict[str, object] = {
        "organization": [ORGANIZATION] * rows,
        "cycle": np.full(rows, 2024),
        "employee_id": [f"{100000 + i}" for i in range(rows)],
        "entity": rng.choice(np.array(["Directie A", "Directie B", None], dtype=object), rows),
        "department": rng.choice(departments, rows),
        "function_level": rng.choice(levels, rows),
        "evaluator_id": [f"{900000 + i % 5000}" for i in range(rows)],
        "rating": rng.choice(ratings, rows),
        "grade": rng.integers(4, 11, rows).astype(float),
        "employment_type": rng.choice(np.array(["statutair", "contractueel"], dtype=object), rows),
        "gender": rng.choice(np.array(["F", "M", "X"], dtype=object), rows),
        "birth_year": rng.integers(1960, 2004, rows),
        "fte": rng.choice(np.array([0.5, 0.8, 0.9, 1.0]), rows),
        "argument_results": rng.choice(
            np.array(["Goed gewerkt.", None, "Doelen gehaald"], dtype=object), rows
        ),
    }
    frame = pl.DataFrame(
        {
            name: (value.tolist() if isinstance(value, np.ndarray) and value.dtype == object else value)
            for name, value in columns.items()
        },
        schema={name: dtype for name, dtype in contract.polars_schema.items() if name in columns},
    )
    frame = frame.with_columns(
        [
            pl.lit(None, dtype).alias(name)
            for name, dtype in contract.polars_schema.items()
            if name not in columns
        ]
    ).select(contract.names)
    # Break one rule in about bad_share of the rows, spread over the kinds of rule.
    broken = rng.random(rows) < bad_share
    kind = rng.integers(0, 8, rows)
    edits = {
        0: ("rating", pl.lit("super")),
        1: ("gender", pl.lit("V")),
        2: ("fte", pl.lit(0.0)),
        3: ("birth_year", pl.lit(1800, pl.Int64)),
        4: ("employee_id", pl.lit("1.23457E+11")),
        5: ("department", pl.lit(None, pl.String)),
        6: ("department", pl.lit("x" * 121)),
        7: ("employee_id", pl.lit("100000")),  # the key of the first row: a duplicate
    }
    masks = pl.DataFrame({"_broken": broken, "_kind": kind})
    frame = frame.hstack(masks)
    for number, (column, value) in edits.items():
        hit = pl.col("_broken") & (pl.col("_kind") == number)
        frame = frame.with_columns(pl.when(hit).then(value).otherwise(pl.col(column)).alias(column))
    return frame.drop("_broken", "_kind").with_columns(pl.int_range(2, rows + 2, dtype=pl.Int64).alias(ROW))


def batches(frame: pl.DataFrame, size: int) -> list[pl.DataFrame]:
    return [frame.slice(start, size) for start in range(0, frame.height, size)]


def run_duckdb(parts: list[pl.DataFrame]) -> tuple[float, set[tuple[int, int, str, str]]]:
    from models.validation import Rejection, validate_batch

    contract = load_contract("evaluations")
    policy = policy_for(load_settings(PROJECT_ROOT / "calibra.yaml"), ORGANIZATION)
    pairs: set[tuple[int, int, str, str]] = set()
    start = cpu_seconds()
    for number, part in enumerate(parts):
        [result] = validate_batch([part], contract, policy)
        if isinstance(result, Rejection):
            raise RuntimeError(str(result.error))
        violations, _ = result
        pairs |= {(number, *row) for row in violations.select(ROW, "column", "rule").iter_rows()}
    return cpu_seconds() - start, pairs


def run_pandas(parts: list[pl.DataFrame]) -> tuple[float, set[tuple[int, int, str, str]]]:
    from benchmarks.gx_builtin import builtin_pairs

    contract = load_contract("evaluations")
    policy = policy_for(load_settings(PROJECT_ROOT / "calibra.yaml"), ORGANIZATION)
    pairs: set[tuple[int, int, str, str]] = set()
    start = cpu_seconds()
    for number, part in enumerate(parts):
        found = builtin_pairs([part], contract, policy)
        pairs |= {(number, *row) for row in found.select(ROW, "column", "rule").iter_rows()}
    return cpu_seconds() - start, pairs


def compare(rows: int, engines: list[str], repeat: int) -> dict[str, object]:
    from models.ingest import BATCH_ROWS
    from models.validation import _context

    parts = batches(evaluations(rows), BATCH_ROWS)
    _context()  # the GX import and context are not part of the comparison
    runners = {"duckdb": run_duckdb, "pandas": run_pandas}
    seconds: dict[str, list[float]] = {engine: [] for engine in engines}
    found: dict[str, set[tuple[int, int, str, str]]] = {}
    for _ in range(repeat):
        for engine in engines:  # alternating: a drift of the machine's speed hits both
            spent, pairs = runners[engine](parts)
            seconds[engine].append(round(spent, 2))
            found[engine] = pairs
    report: dict[str, object] = {
        "rows": rows,
        "batches": len(parts),
        "cpu_seconds": seconds,
        "pairs": {engine: len(pairs) for engine, pairs in found.items()},
        "peak_rss_mb": round(peak_rss_mb()),
    }
    if len(found) == 2:
        report["same_pairs"] = found["duckdb"] == found["pandas"]
        report["ratio_pandas_over_duckdb"] = round(min(seconds["pandas"]) / min(seconds["duckdb"]), 2)
    return report


BAD_LINE_HEADER = "organization,cycle,employee_id,department,function_level,evaluator_id,rating,employment_type,gender,birth_year,fte\n"
BAD_LINE = "zeeland-demo,2024,000123,Financien,S08,000900,super,contractueel,F,1980,0.8\n"


def repeated_bad_lines(megabytes: float, engine: str = "both") -> dict[str, object]:
    """Ingest the file (`engine` "both"), or read and type it and validate it with one engine only."""
    from models.ingest import ingest_paths
    from models.pseudonym import load_key
    from models.warehouse import connect, initialise

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        settings = load_settings(PROJECT_ROOT / "calibra.yaml", home=home)
        settings.inbox.mkdir(parents=True)
        path = settings.inbox / f"{ORGANIZATION}_evaluations.csv"
        lines = int(megabytes * 1_000_000 / len(BAD_LINE))
        with path.open("w", encoding="utf-8") as handle:
            handle.write(BAD_LINE_HEADER)
            block = BAD_LINE * 10_000
            for _ in range(lines // 10_000):
                handle.write(block)
            handle.write(BAD_LINE * (lines % 10_000))
        before = peak_rss_mb()
        start, wall = cpu_seconds(), time.perf_counter()
        if engine != "both":
            return validate_only(path, settings, engine) | {"file_mb": round(path.stat().st_size / 1e6, 1)}
        with connect(settings.database) as con:
            initialise(con)
            [outcome] = ingest_paths(con, [path], settings, load_key())
        return {
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "lines": lines,
            "status": outcome.status,
            "rows_read": outcome.rows_read,
            "rows_quarantined": outcome.rows_quarantined,
            "message": outcome.message,
            "cpu_seconds": round(cpu_seconds() - start, 2),
            "wall_seconds": round(time.perf_counter() - wall, 2),
            "peak_rss_mb_before": round(before),
            "peak_rss_mb": round(peak_rss_mb()),
        }


def validate_only(path: Path, settings: Settings, engine: str) -> dict[str, object]:
    from benchmarks.gx_builtin import builtin_pairs
    from models.ingest import file_sha256, read_and_type
    from models.mapping import find_mapping, load_mappings
    from models.validation import Rejection, validate_batch

    mapping = find_mapping(path.name, load_mappings(settings.mappings_dirs))
    assert mapping is not None
    contract = load_contract(mapping.kind)
    typed = read_and_type(path, file_sha256(path), mapping, contract, settings)
    read_rss = peak_rss_mb()
    start = cpu_seconds()
    if engine == "pandas":
        outcome = f"{builtin_pairs([typed.typed], contract, typed.policy).height} row/rule pairs"
    else:
        [result] = validate_batch([typed.typed], contract, typed.policy)
        outcome = str(result.error) if isinstance(result, Rejection) else f"{result[0].height} violations"
    return {
        "engine": engine,
        "rows": typed.typed.height,
        "outcome": outcome,
        "validation_cpu_seconds": round(cpu_seconds() - start, 2),
        "peak_rss_mb_after_reading": round(read_rss),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=["duckdb", "pandas", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--repeated-bad-lines", type=float, metavar="MB")
    args = parser.parse_args()
    if args.repeated_bad_lines:
        print(json.dumps(repeated_bad_lines(args.repeated_bad_lines, args.engine), indent=1))
        return
    engines = ["duckdb", "pandas"] if args.engine == "both" else [args.engine]
    print(json.dumps(compare(args.rows, engines, args.repeat), indent=1))


if __name__ == "__main__":
    main()
