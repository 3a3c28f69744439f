"""Rule findings: valid data that shows a process or policy problem (DESIGN.md "Two kinds of wrong").

A data-driven rule engine. Each check is a small vectorised polars function registered under a DOMAIN.md
rule id (modules `process`, `decisions`, `rewards`, `presence`) and enabled by the presence of its parameter
in the organisation's policy file: a policy without the parameter simply does not get that check. Adding a
regime is adding a policy file, not code.

    findings = compliance_findings(policies, evaluations=..., awards=..., payroll=..., salary_scales=...)

gives one row per finding (FINDINGS_SCHEMA) for every organisation in `policies`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from models.contracts import load_contract
from models.policy import Policy
from models.rules import decisions, presence, process, rewards  # noqa: F401 - registers the checks
from models.rules._base import (
    AWARD_CONTEXT_EVALUATION,
    AWARD_CONTEXT_PAY,
    CHECKS,
    RESULT_COLUMNS,
    SEVERITIES,
    Check,
    Tables,
)

__all__ = [
    "CHECKS",
    "FINDINGS_SCHEMA",
    "RULES",
    "SEVERITIES",
    "Check",
    "Tables",
    "compliance_findings",
    "conform",
    "enabled_checks",
    "tables_for",
]

FINDINGS_SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "department": pl.String(),
    "employee_id": pl.String(),
    "rule": pl.String(),
    "check": pl.String(),
    "severity": pl.String(),
    "award_type": pl.String(),
    "group_id": pl.String(),
    "message_nl": pl.String(),
    "message_en": pl.String(),
    "policy_id": pl.String(),
    "policy_version": pl.Int64(),
    "policy_parameter": pl.String(),
}

RULES: dict[str, list[Check]] = {}
for _check in CHECKS:
    RULES.setdefault(_check.rule, []).append(_check)

KINDS = ("evaluations", "awards", "payroll", "salary_scales")
KEYS = ["organization", "cycle", "employee_id"]


def conform(frame: pl.DataFrame | pl.LazyFrame | None, kind: str) -> pl.LazyFrame:
    """A table in its contract's columns and types; absent columns become typed nulls, extra ones are dropped."""
    schema = load_contract(kind).polars_schema
    lazy = pl.LazyFrame(schema=schema) if frame is None else frame.lazy()
    present = set(lazy.collect_schema().names())
    return lazy.select(
        [pl.col(n).cast(t) if n in present else pl.lit(None, t).alias(n) for n, t in schema.items()]
    )


def _join_key(frame: pl.DataFrame) -> pl.DataFrame:
    """An integer stand-in for (cycle, employee_id): joins on it are several times faster than on text."""
    return frame.with_columns(
        (pl.col("employee_id").hash(seed=11) ^ pl.col("cycle").cast(pl.UInt64)).alias("_key")
    )


def _left_join(left: pl.DataFrame, right: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """`left` with `columns` of the `right` row of the same cycle and employee (null when there is none).

    Joined on the integer key, then checked against the real key: a hash collision can never attach another
    person's data (it would only leave the columns empty)."""
    right = right.select(
        "_key", pl.col("cycle").alias("_r_cycle"), pl.col("employee_id").alias("_r_id"), *columns
    )
    # Staging keys are unique (the contract's key is enforced at ingest), so the join adds no rows.
    joined = left.join(right, on="_key", how="left", maintain_order="none")
    same = (pl.col("_r_id") == pl.col("employee_id")) & (pl.col("_r_cycle") == pl.col("cycle"))
    return joined.with_columns(pl.when(same).then(pl.col(c)).alias(c) for c in columns).drop(
        "_r_cycle", "_r_id"
    )


def tables_for(organization: str, frames: Mapping[str, pl.DataFrame]) -> Tables:
    """The tables of one organisation; awards joined once with the person's evaluation and pay context."""
    evaluations, payroll, salary_scales = frames["evaluations"], frames["payroll"], frames["salary_scales"]
    maxima = (
        salary_scales.filter(pl.col("point") == "maximum")
        .group_by("salary_scale")
        .agg(pl.col("annual_amount").max().alias("scale_maximum"))
        .sort("scale_maximum", "salary_scale")
        .with_columns(pl.col("scale_maximum").shift(-1).alias("next_scale_maximum"))
    )
    pay = _join_key(
        payroll.select(
            "cycle",
            "employee_id",
            pl.col("department").alias("_pay_department"),
            "salary_scale",
            "annual_salary",
            pl.col("fte").alias("pay_fte"),
        ).join(maxima, on="salary_scale", how="left")
    )
    person = _join_key(evaluations.select("cycle", "employee_id", "department", *AWARD_CONTEXT_EVALUATION))
    awards = _left_join(_join_key(frames["awards"]), person, ["department", *AWARD_CONTEXT_EVALUATION])
    awards = _left_join(awards, pay, ["_pay_department", *AWARD_CONTEXT_PAY])
    awards = awards.with_columns(pl.coalesce("department", "_pay_department").alias("department")).drop(
        "_pay_department", "_key"
    )
    cycles = sorted(
        set(evaluations.get_column("cycle").unique().to_list())
        | set(awards.get_column("cycle").unique().to_list())
    )
    return Tables(
        evaluations=evaluations.lazy(),
        awards=awards.lazy(),
        payroll=payroll.lazy(),
        salary_scales=salary_scales.lazy(),
        cycles=tuple(int(c) for c in cycles if c is not None),
    )


def _by_organization(frame: pl.LazyFrame, organizations: list[str]) -> dict[str, pl.DataFrame]:
    """One pass over a table: its rows per organisation (empty frames for organisations without rows)."""
    collected = frame.collect()
    present = collected.get_column("organization").unique().to_list()
    if len(present) <= 1:  # the usual case (the asset reads one organisation at a time): no copy
        return {org: collected if org in present else collected.head(0) for org in organizations}
    parts = collected.partition_by("organization", as_dict=True, maintain_order=False)
    return {org: parts.get((org,), collected.head(0)) for org in organizations}


def enabled_checks(policy: Policy) -> list[tuple[Check, Any]]:
    """The checks this policy switches on, each with its parameter."""
    out = []
    for item in CHECKS:
        parameter = item.parameter_of(policy)
        if parameter is not None:
            out.append((item, parameter))
    return out


def _run(item: Check, parameter: Any, tables: Tables, policy: Policy) -> pl.LazyFrame:
    found = item.fn(tables, parameter, policy)
    names = found.collect_schema().names()
    return found.select(
        *[pl.col(n).cast(t) if n in names else pl.lit(None, t).alias(n) for n, t in RESULT_COLUMNS.items()],
        (pl.col("rule") if "rule" in names else pl.lit(item.rule_for(policy))).cast(pl.String).alias("rule"),
        pl.lit(item.name).alias("check"),
        pl.lit(item.severity).alias("severity"),
        pl.lit(policy.id).alias("policy_id"),
        pl.lit(policy.version, pl.Int64).alias("policy_version"),
        pl.lit(item.parameter).alias("policy_parameter"),
    )


def compliance_findings(
    policies: Mapping[str, Policy],
    *,
    evaluations: pl.DataFrame | pl.LazyFrame | None = None,
    awards: pl.DataFrame | pl.LazyFrame | None = None,
    payroll: pl.DataFrame | pl.LazyFrame | None = None,
    salary_scales: pl.DataFrame | pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """Every finding of every enabled check for every organisation in `policies` (one collect)."""
    tables = {
        "evaluations": conform(evaluations, "evaluations"),
        "awards": conform(awards, "awards"),
        "payroll": conform(payroll, "payroll"),
        "salary_scales": conform(salary_scales, "salary_scales"),
    }
    organizations = sorted(policies)
    split = {kind: _by_organization(frame, organizations) for kind, frame in tables.items()}
    parts = []
    for org in organizations:
        policy = policies[org]
        checks = enabled_checks(policy)
        if checks:
            own = tables_for(org, {kind: split[kind][org] for kind in KINDS})
            parts += [_run(item, parameter, own, policy) for item, parameter in checks]
    if not parts:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    found = (
        pl.concat(parts, how="vertical")
        .select(list(FINDINGS_SCHEMA))
        .sort(
            "organization",
            "cycle",
            "department",
            "rule",
            "check",
            "employee_id",
            "award_type",
            nulls_last=True,
        )
    )
    return found.collect()
