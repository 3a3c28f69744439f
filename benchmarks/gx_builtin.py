"""The contract's built-in GX expectations on GX's pandas engine: calibra's validation before it moved to
DuckDB, kept as the reference that the compiled suite is tested (tests/test_gx_duckdb.py) and timed
(benchmarks/gx_duckdb.py) against.

`builtin_pairs` runs `models.validation.contract_rules` (the specification) the way calibra did until then:
one pandas frame per batch, the file as part of each key, every failing row index from GX's COMPLETE result.
"""

from __future__ import annotations

import polars as pl

from models.contracts import Contract
from models.policy import Policy
from models.readers import ROW
from models.validation import PART, UID, _context, contract_rules

PAIR_SCHEMA = {PART: pl.Int32, ROW: pl.Int64, "column": pl.String, "rule": pl.String}


def builtin_pairs(frames: list[pl.DataFrame], contract: Contract, policy: Policy) -> pl.DataFrame:
    """Every (file, row, column, rule) that GX's built-in expectations find, on GX's pandas engine."""
    import great_expectations as gx
    from great_expectations.execution_engine import pandas_execution_engine

    # GX hashes every pandas batch under 1 GB to name it, which no check needs (calibra did the same).
    pandas_execution_engine.HASH_THRESHOLD = 0
    rules = contract_rules(contract, policy, partition=PART)
    checked = {c for rule in rules for c in rule.column.split("+")}
    columns = [c for c in contract.names if c in checked]
    combined = pl.concat(
        [frame.select(pl.lit(p, pl.Int32).alias(PART), ROW, *columns) for p, frame in enumerate(frames)],
        how="vertical_relaxed",
    ).with_row_index(UID)
    if combined.height == 0:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    context = _context()
    source = context.data_sources.add_or_update_pandas("calibra_builtin")
    asset = next((a for a in source.assets if a.name == contract.table), None)
    asset = asset or source.add_dataframe_asset(contract.table)
    definition = next(iter(asset.batch_definitions), None) or asset.add_batch_definition_whole_dataframe(
        "file"
    )
    # Free text in a suite of its own: GX copies every column of the frame for every expectation.
    free_text = {c.name for c in contract.columns if c.pii == "free_text"}
    suites: dict[str, list] = {}
    for rule in rules:
        suites.setdefault("free_text" if rule.column in free_text else "", []).append(rule)
    found: list[pl.DataFrame] = []
    for part_name, part_rules in suites.items():
        name = f"builtin_{contract.table}_v{contract.version}_{policy.id}_{part_name}_{id(policy)}"
        try:
            suite = context.suites.get(name)
        except Exception:  # GX raises its own not-found error class
            suite = gx.ExpectationSuite(name=name)
            for rule in part_rules:
                suite.add_expectation(rule.expectation)
            suite = context.suites.add(suite)
        needed = {c for rule in part_rules for c in rule.column.split("+")}
        frame = combined.select(UID, PART, *[c for c in columns if c in needed]).to_pandas()
        frame = frame.set_index(UID, drop=False)
        result = definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            suite,
            result_format={
                "result_format": "COMPLETE",
                "partial_unexpected_count": 0,
                "return_unexpected_index_query": False,
                "unexpected_index_column_names": [UID],
            },
        )
        if len(result.results) != len(part_rules):
            raise RuntimeError("Great Expectations returned a result per rule")
        by_config = {(type(r.expectation).__name__, r.column): r for r in part_rules}
        for item in result.results:
            config = item.expectation_config
            kwargs = config.kwargs
            column = kwargs.get("column") or "+".join(c for c in kwargs.get("column_list", []) if c != PART)
            rule = by_config[(type(config.to_domain_obj()).__name__, column)]
            if item.exception_info and item.exception_info.get("raised_exception"):
                raise RuntimeError(f"Great Expectations could not evaluate {rule.rule} on {column}")
            ids = [
                int(i[UID] if isinstance(i, dict) else i)
                for i in (item.result or {}).get("unexpected_index_list") or []
            ]
            if ids:
                found.append(
                    combined.filter(pl.col(UID).is_in(ids)).select(
                        PART, ROW, pl.lit(column).alias("column"), pl.lit(rule.rule).alias("rule")
                    )
                )
    return pl.concat(found).cast(PAIR_SCHEMA) if found else pl.DataFrame(schema=PAIR_SCHEMA)  # type: ignore[arg-type]
