"""The rule engine's parts: the registry of checks, the tables a check sees, and small expression helpers.

A check is a small vectorised polars function for one rule id of DOMAIN.md. It receives the tables of one
organisation (lazy frames) and the policy parameter it is enabled by, and returns the offending rows with a
plain message in Dutch and English. The parameter comes from the organisation's policy file; when the policy
lacks it (absent or null), the check is not run for that organisation. No rule value lives in code.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from models.policy import Policy

SEVERITIES = ("high", "medium", "low")

# What a check returns: the keys of the finding, the messages and optionally the award it is about.
RESULT_COLUMNS: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "department": pl.String(),
    "employee_id": pl.String(),
    "award_type": pl.String(),
    "group_id": pl.String(),
    "message_nl": pl.String(),
    "message_en": pl.String(),
}

# Columns of the person's evaluation and pay position that every award row carries (see Tables.awards).
AWARD_CONTEXT_EVALUATION = (
    "rating",
    "at_scale_maximum",
    "function_level",
    "fte",
    "employment_type",
    "months_in_service",
    "absence_type",
    "absence_months",
)
AWARD_CONTEXT_PAY = ("salary_scale", "annual_salary", "pay_fte", "scale_maximum", "next_scale_maximum")


@dataclass(frozen=True)
class Tables:
    """The staging tables of one organisation, as lazy frames in their contract columns.

    `awards` also carries, per row, the person's `department` and AWARD_CONTEXT_EVALUATION columns from the
    evaluation of the same cycle, and AWARD_CONTEXT_PAY from payroll and the scale table (salary before the
    raise, own and next higher scale maximum): joined once, used by many checks.
    """

    evaluations: pl.LazyFrame
    awards: pl.LazyFrame
    payroll: pl.LazyFrame
    salary_scales: pl.LazyFrame
    cycles: tuple[int, ...] = field(default=())

    def deadline(self, spec: dict[str, Any]) -> pl.Expr:
        """The policy date `spec` for each row's cycle (see `deadline`)."""
        return deadline(spec, self.cycles)


Parameter = Callable[[Policy], Any]
CheckFn = Callable[[Tables, Any, Policy], pl.LazyFrame]


@dataclass(frozen=True)
class Check:
    """One vectorised check of one DOMAIN rule, enabled by the presence of its policy parameter."""

    rule: str  # DOMAIN.md rule id (F-… / Z-…); the policy's own `rule:` annotation wins (see rule_for)
    name: str  # short, stable id of the check within the rule
    severity: str
    parameter: str  # where in the policy the parameter lives (documentation and the findings column)
    what_nl: str
    what_en: str
    lookup: Parameter
    fn: CheckFn
    rule_path: tuple[str, ...] | None = None  # policy node whose (or whose parent's) `rule:` names the rule

    def rule_for(self, policy: Policy) -> str:
        """The rule id for this organisation: the nearest `rule:` annotation on the parameter's path in the
        policy (a third regime names its own rules), else the DOMAIN.md id of the check."""
        if self.rule_path:
            nodes: list[Any] = [policy.raw]
            for key in self.rule_path:
                node = nodes[-1].get(key) if isinstance(nodes[-1], dict) else None
                if node is None:
                    break
                nodes.append(node)
            for node in reversed(nodes[1:]):
                if isinstance(node, dict) and node.get("rule"):
                    return rule_id(node["rule"], self.rule)
        return self.rule

    def parameter_of(self, policy: Policy) -> Any:
        """The policy parameter, or None when the policy does not set it (then the check is off)."""
        value = self.lookup(policy)
        if value is None or value is False or (isinstance(value, list | tuple | dict) and not value):
            return None
        return value


CHECKS: list[Check] = []


def check(
    rule: str,
    name: str,
    *,
    severity: str,
    parameter: str,
    lookup: Parameter,
    what_nl: str,
    what_en: str,
    rule_path: tuple[str, ...] | None = None,
) -> Callable[[CheckFn], CheckFn]:
    """Register a check function (decorator). `rule_path` defaults to the path of an `at`/`section` lookup."""
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")

    def register(fn: CheckFn) -> CheckFn:
        if any(c.rule == rule and c.name == name for c in CHECKS):
            raise ValueError(f"check {rule}.{name} is registered twice")
        path = rule_path if rule_path is not None else getattr(lookup, "path", None)
        CHECKS.append(Check(rule, name, severity, parameter, what_nl, what_en, lookup, fn, path))
        return fn

    return register


# ----------------------------------------------------------------------------------------- policy lookups
def at(*path: str) -> Parameter:
    """The policy value at a path; `{value: x, rule: …}` annotations are unwrapped."""

    def lookup(policy: Policy) -> Any:
        return policy.rule_value(*path)

    lookup.path = path  # type: ignore[attr-defined]
    return lookup


def section(*path: str) -> Parameter:
    """The policy mapping at a path as written (annotations kept: windows, deadlines)."""

    def lookup(policy: Policy) -> Any:
        node: Any = policy.raw
        for key in path:
            if not isinstance(node, dict) or node.get(key) is None:
                return None
            node = node[key]
        return node

    lookup.path = path  # type: ignore[attr-defined]
    return lookup


def award_types_with(*keys: str) -> Parameter:
    """The award-type specs of the policy that carry all of the given keys (e.g. `allowed_pct`)."""

    def lookup(policy: Policy) -> Any:
        return [a.spec for a in policy.award_types if all(a.spec.get(k) is not None for k in keys)]

    return lookup


def rule_id(text: Any, default: str) -> str:
    """The first rule id of a policy `rule:` annotation ('F-3/F-8' -> 'F-3')."""
    return str(text).split("/")[0].strip() if text else default


def unwrap(value: Any) -> Any:
    return value["value"] if isinstance(value, dict) and "value" in value else value


# ------------------------------------------------------------------------------------------- expressions
def deadline(spec: dict[str, Any], cycles: Iterable[int]) -> pl.Expr:
    """The date of a policy deadline `{month, day, year_offset}` for each row's cycle.

    Looked up from the few cycles present (much cheaper on a million rows than building a date per row); a
    day past the end of the month (29 February) falls back to the month's last day."""
    month, day, offset = int(spec["month"]), int(spec["day"]), int(spec.get("year_offset", 0))
    dates = {}
    for cycle in cycles:
        year = int(cycle) + offset
        dates[int(cycle)] = dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))
    return pl.col("cycle").replace_strict(dates, default=None, return_dtype=pl.Date)


def iso(expr: pl.Expr) -> pl.Expr:
    return expr.dt.strftime("%Y-%m-%d")


def blank(column: str) -> pl.Expr:
    """Text that is missing or only whitespace."""
    return pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")


def rated() -> pl.Expr:
    return pl.col("rating").is_not_null()


def number(expr: pl.Expr) -> pl.Expr:
    """A number as short text: 3.0 -> '3', 2.5 -> '2.5' (for messages)."""
    text = expr.round(2).cast(pl.String)
    return text.str.replace(r"\.0$", "")


def in_list(column: str, values: Iterable[Any]) -> pl.Expr:
    return pl.col(column).is_in(list(values))


def message(nl: list[str | pl.Expr], en: list[str | pl.Expr]) -> list[pl.Expr]:
    """The two message columns from literal parts and per-row expressions (null parts read as '?')."""

    def join(parts: list[str | pl.Expr]) -> pl.Expr:
        exprs = [pl.lit(p) if isinstance(p, str) else p.cast(pl.String).fill_null("?") for p in parts]
        return pl.concat_str(exprs)

    return [join(nl).alias("message_nl"), join(en).alias("message_en")]


def finding_rows(
    frame: pl.LazyFrame, mask: pl.Expr, nl: list[str | pl.Expr], en: list[str | pl.Expr]
) -> pl.LazyFrame:
    """Rows of `frame` where `mask` holds, with their keys and messages (a mask that is null is no finding)."""
    extra = [c for c in ("award_type", "group_id") if c in frame.collect_schema().names()]
    return frame.filter(mask.fill_null(False)).select(
        "organization", "cycle", "department", "employee_id", *extra, *message(nl, en)
    )
