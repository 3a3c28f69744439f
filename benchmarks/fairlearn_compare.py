"""fairlearn's MetricFrame against calibra's group rates, on the same people, in one process.

    python -m benchmarks.fairlearn_compare --db calibra.duckdb --out fairlearn.json [--config calibra.yaml]

The fairness rates fairlearn can express are selection rates by group: for "any incidental reward" and
"top rating" among rated people, the rate per gender within each function level (control feature), per
organisation and cycle. Both sides start from the same outcome vectors, built once (not timed) with calibra's
models.fairness.person_frame from the staging tables of a finished run:

  fairlearn  MetricFrame(metrics=selection_rate, y_true=y, y_pred=y, sensitive_features=gender,
             control_features=[organization, cycle, function_level]), one per outcome (pandas input);
  calibra    the count cube of the fairness marts (models.fairness._binary_cube) per organisation, summed to
             cycle × gender × function level, rate = count / n (polars input).

The rates must be equal (relative tolerance 1e-9) and the ratio of the times is reported.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl

from benchmarks.pandas_reference import compare, fairness_persons, policies_of

CONTROL = ["organization", "cycle", "function_level"]


def people(db: Path, policies: Mapping[str, Any]) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """Per organisation the person frame of the fairness marts (gender, two outcomes), and its outcomes."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        ev, aw, pay = (
            con.sql(f"SELECT * FROM staging.{t}").pl() for t in ("evaluations", "awards", "payroll")
        )
    finally:
        con.close()
    persons, outcomes = fairness_persons(ev, aw, pay, policies)
    # fairlearn cannot take a missing group or outcome: both sides get the people with both
    persons = {
        org: frame.drop_nulls(["a:gender", *[f"o:{o.code}" for o in outcomes[org]]])
        for org, frame in persons.items()
    }
    return persons, outcomes


def calibra_rates(persons: Mapping[str, pl.DataFrame], outcomes: Mapping[str, Any]) -> pl.DataFrame:
    from models import fairness

    parts = []
    for org, frame in persons.items():
        cube = fairness._binary_cube(frame, ["gender"], outcomes[org])
        parts.append(
            cube.group_by("cycle", "outcome", "function_level", "group_value")
            .agg(pl.col("n").sum(), pl.col("count").sum())
            .with_columns(pl.lit(org).alias("organization"), (pl.col("count") / pl.col("n")).alias("rate"))
        )
    return pl.concat(parts)


def fairlearn_rates(frame: pd.DataFrame, generic: list[str]) -> pl.DataFrame:
    from fairlearn.metrics import MetricFrame, selection_rate

    parts = []
    for outcome in generic:
        y = frame[outcome]
        mf = MetricFrame(
            metrics=selection_rate,
            y_true=y,
            y_pred=y,
            sensitive_features=frame["gender"],
            control_features=frame[CONTROL],
        )
        parts.append(mf.by_group.rename("rate").reset_index().assign(outcome=outcome))
    # by_group spans every combination of the features; combinations without people have no rate
    return pl.from_pandas(pd.concat(parts, ignore_index=True)).filter(pl.col("rate").is_not_nan())


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(max(1, repeat)):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), [round(t, 4) for t in times], result


def run(db: Path, config: str | None, repeat: int) -> dict[str, Any]:
    import fairlearn

    policies = policies_of(config)
    persons, outcomes = people(db, policies)
    # fairlearn's input: one pandas frame, outcomes under generic names (each organisation its own top code)
    generic = {"incidental_reward": "incidental_reward"}
    rows = []
    for org, frame in persons.items():
        top = next(o.code for o in outcomes[org] if o.code.startswith("rating_at_least_"))
        rows.append(
            frame.select(
                pl.lit(org).alias("organization"),
                "cycle",
                "function_level",
                pl.col("a:gender").alias("gender"),
                pl.col("o:incidental_reward").cast(pl.Int64).alias("incidental_reward"),
                pl.col(f"o:{top}").cast(pl.Int64).alias("top_rating"),
            )
        )
    generic["top_rating"] = "top_rating"
    table = pl.concat(rows).to_pandas()
    n_people = len(table)

    c_best, c_runs, c_out = best_of(lambda: calibra_rates(persons, outcomes), repeat)
    f_best, f_runs, f_out = best_of(lambda: fairlearn_rates(table, list(generic)), repeat)
    c_out = c_out.with_columns(
        pl.when(pl.col("outcome").str.starts_with("rating_at_least_"))
        .then(pl.lit("top_rating"))
        .otherwise(pl.col("outcome"))
        .alias("outcome")
    ).rename({"group_value": "gender"})
    keys = ["organization", "cycle", "function_level", "gender", "outcome"]
    check = compare("fairness rates: calibra = fairlearn MetricFrame", f_out, c_out, keys, ["rate"])
    return {
        "calibra_seconds": round(c_best, 4),
        "fairlearn_seconds": round(f_best, 4),
        "speedup": round(f_best / c_best, 2) if c_best > 0 else None,
        "calibra_runs": c_runs,
        "fairlearn_runs": f_runs,
        "people": n_people,
        "groups": int(c_out.height),
        "outcomes": list(generic),
        "fairlearn_version": fairlearn.__version__,
        "checks": [check],
        "repeat": repeat,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", default="")
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    report = run(Path(args.db), args.config or None, args.repeat)
    Path(args.out).write_text(json.dumps(report, indent=2, default=_json_default), encoding="utf-8")
    return 0 if all(c["passed"] is not False for c in report["checks"]) else 1


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value))


if __name__ == "__main__":
    raise SystemExit(main())
