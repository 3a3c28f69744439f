"""Pay transparency: the Article 9 items of Directive (EU) 2023/970 per organisation and cycle.

Pure polars: staging frames and policies in, one tidy frame out (``marts.pay_transparency``). Every row is one
statistic for women and men side by side, with the gap ``(men - women) / men`` (Art. 3(1)(c)/(d), computed by
:func:`models.stats.gender_pay_gap`), the group sizes and whether the row may be published.

Pay of one employee in one cycle (payroll ⋈ evaluations, women and men only — the Directive's measures are
defined for female and male workers):

* basic pay  = ``payroll.annual_salary × payroll.fte`` (gross annual salary actually paid);
* variable pay = the gross value of every reward in the awards export (:func:`reward_totals`);
* total pay  = basic + variable;
* the hourly basis divides each by ``fte × fairness.pay_transparency.full_time_hours_per_year`` of the policy.

Gaps in variable components (items b, d and the variable rows of g) are taken over the people who received
variable pay; item (e) gives the share who did. Quartile pay bands (f) split the women and men of an
organisation and cycle by their rank in total pay (people with equal pay share a band) into four bands.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from models.errors import ConfigError
from models.person_cycle import REWARD_COLUMNS, award_outcome_codes, person_cycle_frame
from models.policy import Policy
from models.stats import gender_pay_gap

WOMEN, MEN = "F", "M"
KEYS = ["organization", "cycle", "employee_id"]
BASES = ("annual", "hourly")
COMPONENTS = ("basic", "variable", "total")

SCHEMA: dict[str, Any] = {
    "organization": pl.String,
    "cycle": pl.Int64,
    "item": pl.String,
    "article": pl.String,
    "measure": pl.String,
    "component": pl.String,
    "basis": pl.String,
    "category_type": pl.String,
    "category": pl.String,
    "n_women": pl.Int64,
    "n_men": pl.Int64,
    "women": pl.Float64,
    "men": pl.Float64,
    "gap": pl.Float64,
    "article10_flag": pl.Boolean,
    "publishable": pl.Boolean,
}


def _required(policy: Policy, value: float | None, path: str) -> float:
    if value is None:
        raise ConfigError(f"policy {policy.id} lacks {path}, which pay transparency needs")
    return float(value)


def policy_frame(policies: Mapping[str, Policy]) -> pl.DataFrame:
    """One row per organisation with the policy values pay transparency uses (joined, never looped)."""
    rows = [
        {
            "organization": org,
            "_hours": _required(
                policy,
                policy.typed.fairness.pay_transparency.full_time_hours_per_year,
                "fairness.pay_transparency.full_time_hours_per_year",
            ),
            "_art10": _required(
                policy,
                policy.typed.fairness.pay_transparency.article10_gap_threshold,
                "fairness.pay_transparency.article10_gap_threshold",
            ),
            "_k": policy.min_group_size,
            "_k_amounts": policy.min_group_size_amounts,
            "_dominance": policy.dominance_share,
            "_net_to_gross": _required(
                policy, policy.typed.budget.net_to_gross_factor, "budget.net_to_gross_factor"
            ),
        }
        for org, policy in policies.items()
    ]
    schema = {
        "organization": pl.String,
        "_hours": pl.Float64,
        "_art10": pl.Float64,
        "_k": pl.Int64,
        "_k_amounts": pl.Int64,
        "_dominance": pl.Float64,
        "_net_to_gross": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def _positions(column: str, values: list[str], default: int | None) -> pl.Expr:
    """Position of the column's value in ``values`` (``default`` for others and null), as Int64."""
    mapping = {v: i for i, v in enumerate(values)}
    return pl.col(column).replace_strict(mapping, default=default, return_dtype=pl.Int64)


def _award_values(awards: pl.DataFrame, policies: Mapping[str, Policy]) -> pl.DataFrame:
    """The awards of organisations with a policy, each with what it adds to :func:`reward_totals`: ``_amount``
    (gross EUR amount, null for a percentage award), ``_pct`` (percent of pay, null for an amount award),
    ``_incidental``, ``_structural_pct`` (its pct when of the structural type, else null) and ``award:<code>``.

    The policy values are looked up in small tables indexed by the award's organisation and type (no join)."""
    orgs = list(policies)
    codes = award_outcome_codes(policies)
    types = sorted({a.code for p in policies.values() for a in p.award_types})
    type_at = {t: i for i, t in enumerate(types)}
    frame = awards.select(
        *KEYS,
        "pct",
        "amount",
        "amount_basis",
        _positions("organization", orgs, None).alias("_org"),
        _positions("award_type", types, len(types)).alias("_type"),
    ).filter(pl.col("_org").is_not_null())
    # flags[name][org, type]: the last type column stands for types the policy does not know (never flagged)
    names = ["_incidental", "_structural", *[f"award:{c}" for c in codes]]
    flags = {name: np.zeros((len(orgs), len(types) + 1), dtype=np.bool_) for name in names}
    net_to_gross = dict(policy_frame(policies).select("organization", "_net_to_gross").iter_rows())
    for i, org in enumerate(orgs):
        policy = policies[org]
        structural = policy.typed.structural.award_type
        outcome_types = {
            str(spec["code"]): {str(t) for t in spec["award_types"]}
            for spec in policy.typed.fairness.award_outcomes or ()
        }
        for award in policy.award_types:
            j = type_at[award.code]
            flags["_incidental"][i, j] = award.incidental
            flags["_structural"][i, j] = award.code == structural
            for c in codes:
                flags[f"award:{c}"][i, j] = award.code in outcome_types.get(c, set())
    org_index, type_index = frame["_org"].to_numpy(), frame["_type"].to_numpy()
    looked_up = {name: pl.Series(name, table[org_index, type_index]) for name, table in flags.items()}
    gross = pl.col("_org").replace_strict(
        {i: net_to_gross[org] for i, org in enumerate(orgs)}, default=None, return_dtype=pl.Float64
    )
    has_amount = pl.col("amount").is_not_null()
    factor = pl.when(pl.col("amount_basis") == "netto").then(gross).otherwise(1.0)
    return frame.hstack(list(looked_up.values())).select(
        *KEYS,
        pl.when(has_amount).then(pl.col("amount") * factor).alias("_amount"),
        pl.when(~has_amount).then(pl.col("pct")).alias("_pct"),
        "_incidental",
        pl.when(pl.col("_structural")).then(pl.col("pct")).alias("_structural_pct"),
        *[f"award:{c}" for c in codes],
    )


def reward_totals(awards: pl.DataFrame, policies: Mapping[str, Policy]) -> pl.DataFrame:
    """Each employee's rewards in a cycle, summed so that their EUR value follows from pay in one step.

    A reward's value is its ``amount`` when given (a net amount, ``amount_basis = netto``, is grossed up with
    the policy's ``budget.net_to_gross_factor``), otherwise ``pct / 100 × annual_salary × fte`` — the percentage
    of the gross annual salary actually paid (part-time pro rata). So the variable pay of an employee is
    ``amount_total + pct_total / 100 × pay`` (:func:`variable_pay`). Award types the policy does not know are
    counted as variable pay but neither as incidental nor as structural.

    Returns one row per (organization, cycle, employee_id) with at least one award: ``amount_total`` (EUR),
    ``pct_total`` (percent of pay), ``incidental`` (any award of a type with ``incidental: true``) and
    ``structural_pct`` (pct of the policy's structural award type, null when there is none) and, per
    ``fairness.award_outcomes`` entry, ``award:<code>`` (any award of the entry's types).
    """
    codes = award_outcome_codes(policies)
    return (
        _award_values(awards, policies)
        .group_by(KEYS)
        .agg(
            pl.col("_amount").sum().alias("amount_total"),
            pl.col("_pct").sum().alias("pct_total"),
            pl.col("_incidental").any().alias("incidental"),
            pl.col("_structural_pct").max().alias("structural_pct"),
            *[pl.col(f"award:{c}").any() for c in codes],
        )
    )


def variable_pay(pay: pl.Expr) -> pl.Expr:
    """EUR value of the rewards of a row joined with :func:`reward_totals`, given its pay (0 without awards)."""
    return pl.col("amount_total").fill_null(0.0) + pl.col("pct_total").fill_null(0.0) / 100.0 * pay


# Columns people_frame adds to the evaluations (so they are never taken for a fairness attribute), besides
# the ``award:<code>`` columns of the award outcomes.
PEOPLE_COLUMNS = (
    "amount_total",
    "pct_total",
    "incidental",
    "structural_pct",
    "annual_salary",
    "payroll_fte",
    "pay",
    "variable",
)


def people_frame(
    evaluations: pl.DataFrame, awards: pl.DataFrame, payroll: pl.DataFrame, policies: Mapping[str, Policy]
) -> pl.DataFrame:
    """The evaluations of organisations with a policy, each with its pay and rewards: the evaluated rows of
    the person-cycle layer (:mod:`models.person_cycle`, the statement the pipeline builds
    ``staging.person_cycle`` with) in :func:`people_columns`, for frames that are not in the database.

    Adds ``annual_salary`` and ``payroll_fte`` (null without a payroll row), ``pay`` = annual_salary × fte,
    the :func:`reward_totals` columns and ``variable`` = the EUR value of the rewards (null without pay).
    The evaluations keep their order; a key repeated in payroll repeats the evaluation, as a join does."""
    ev = evaluations.filter(pl.col("organization").is_in(list(policies)))
    rows = person_cycle_frame(ev, awards, payroll, policies).filter(pl.col("evaluated"))
    return rows.select(people_columns(ev.columns, policies))


def people_columns(evaluation_columns: list[str], policies: Mapping[str, Policy]) -> list[str]:
    """The columns of the people frame the fairness and pay-transparency marts read from the person-cycle
    layer: the evaluation's, then the reward totals, then pay (:data:`PEOPLE_COLUMNS`)."""
    awards = [f"award:{c}" for c in award_outcome_codes(policies)]
    return [*evaluation_columns, *REWARD_COLUMNS, *awards, "annual_salary", "payroll_fte", "pay", "variable"]


def pay_frame(people: pl.DataFrame, policies: Mapping[str, Policy]) -> pl.DataFrame:
    """One row per woman or man on the payroll: basic, variable and total pay, annual and hourly (``_h``)."""
    orgs = policy_frame(policies).select("organization", "_hours")
    hours = pl.col("payroll_fte") * pl.col("_hours")
    frame = (
        people.filter(pl.col("pay").is_not_null() & pl.col("gender").is_in([WOMEN, MEN]))
        .join(orgs, on="organization", how="inner")
        .select(
            *KEYS,
            "gender",
            "function_level",
            "payroll_fte",
            "_hours",
            pl.col("pay").alias("basic"),
            "variable",
        )
        .with_columns((pl.col("basic") + pl.col("variable")).alias("total"))
    )
    return frame.with_columns(*[(pl.col(c) / hours).alias(f"{c}_h") for c in COMPONENTS]).select(
        *KEYS, "gender", "function_level", *COMPONENTS, *[f"{c}_h" for c in COMPONENTS]
    )


def _column(component: str, basis: str) -> str:
    return component if basis == "annual" else f"{component}_h"


def _side_stats(pay: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per key and gender, for every component and basis: n, mean, median and the largest single share of
    the sum (variable pay over recipients only). One group_by over the people."""
    aggs: list[pl.Expr] = [pl.len().cast(pl.Int64).alias("n")]
    for component in COMPONENTS:
        for basis in BASES:
            col = _column(component, basis)
            value = pl.col(col).filter(pl.col("variable") > 0) if component == "variable" else pl.col(col)
            aggs += [
                value.len().cast(pl.Int64).alias(f"{col}:n"),
                value.mean().alias(f"{col}:mean"),
                value.median().alias(f"{col}:median"),
                (value.max() / value.sum()).alias(f"{col}:max_share"),
            ]
    aggs.append((pl.col("variable") > 0).sum().cast(pl.Int64).alias("receiving"))
    return pay.group_by([*keys, "gender"]).agg(aggs)


def _women_men(stats: pl.DataFrame, keys: list[str], columns: list[str]) -> pl.DataFrame:
    """Women's and men's values side by side (``<col>_women``, ``<col>_men``); absent groups count 0."""
    women = stats.filter(pl.col("gender") == WOMEN).select(
        *keys, *[pl.col(c).alias(f"{c}_women") for c in columns]
    )
    men = stats.filter(pl.col("gender") == MEN).select(*keys, *[pl.col(c).alias(f"{c}_men") for c in columns])
    return women.join(men, on=keys, how="full", coalesce=True)


def _gap_rows(stats: pl.DataFrame, orgs: pl.DataFrame, *, by_level: bool) -> pl.DataFrame:
    """Mean and median gap rows: items a–d organisation-wide, item g per function level."""
    keys = ["organization", "cycle"] + (["function_level"] if by_level else [])
    components = COMPONENTS if by_level else ("total", "variable")
    items = {
        ("total", "mean"): "a",
        ("total", "median"): "c",
        ("variable", "mean"): "b",
        ("variable", "median"): "d",
    }
    out = []
    for component in components:
        for basis in BASES:
            col = _column(component, basis)
            side = _women_men(stats, keys, [f"{col}:n", f"{col}:mean", f"{col}:median", f"{col}:max_share"])
            side = side.join(orgs, on="organization", how="left").with_columns(
                pl.col(f"{col}:n_women").fill_null(0), pl.col(f"{col}:n_men").fill_null(0)
            )
            publishable = (
                (pl.col(f"{col}:n_women") >= pl.col("_k_amounts"))
                & (pl.col(f"{col}:n_men") >= pl.col("_k_amounts"))
                & (pl.col(f"{col}:max_share_women") <= pl.col("_dominance"))
                & (pl.col(f"{col}:max_share_men") <= pl.col("_dominance"))
            ).fill_null(False)
            for stat in ("mean", "median"):
                item = "g" if by_level else items[(component, stat)]
                men, women = side[f"{col}:{stat}_men"], side[f"{col}:{stat}_women"]
                gap = gender_pay_gap(
                    men.fill_null(float("nan")).to_numpy(), women.fill_null(float("nan")).to_numpy()
                )
                flag = (
                    (pl.col("gap").abs() >= pl.col("_art10")).fill_null(False)
                    if by_level and component == "total" and stat == "mean"
                    else pl.lit(False)
                )
                out.append(
                    side.with_columns(pl.Series("gap", gap, dtype=pl.Float64).fill_nan(None))
                    .with_columns(
                        pl.lit(item).alias("item"),
                        pl.lit(f"9(1)({item})").alias("article"),
                        pl.lit(f"{stat}_gap").alias("measure"),
                        pl.lit(component).alias("component"),
                        pl.lit(basis).alias("basis"),
                        pl.lit("function_level" if by_level else "organisation").alias("category_type"),
                        (pl.col("function_level") if by_level else pl.lit(None, dtype=pl.String)).alias(
                            "category"
                        ),
                        pl.col(f"{col}:n_women").alias("n_women"),
                        pl.col(f"{col}:n_men").alias("n_men"),
                        pl.col(f"{col}:{stat}_women").alias("women"),
                        pl.col(f"{col}:{stat}_men").alias("men"),
                        flag.alias("article10_flag"),
                        publishable.alias("publishable"),
                    )
                    .select(list(SCHEMA))
                )
    return pl.concat(out)


def _receiving_rows(stats: pl.DataFrame, orgs: pl.DataFrame) -> pl.DataFrame:
    """Item (e): share of women and of men who received any variable pay (basis-independent)."""
    keys = ["organization", "cycle"]
    side = (
        _women_men(stats, keys, ["n", "receiving"])
        .with_columns(pl.col("n_women").fill_null(0), pl.col("n_men").fill_null(0))
        .join(orgs, on="organization", how="left")
    )
    return side.with_columns(
        pl.lit("e").alias("item"),
        pl.lit("9(1)(e)").alias("article"),
        pl.lit("share_receiving").alias("measure"),
        pl.lit("variable").alias("component"),
        pl.lit(None, dtype=pl.String).alias("basis"),
        pl.lit("organisation").alias("category_type"),
        pl.lit(None, dtype=pl.String).alias("category"),
        (pl.col("receiving_women") / pl.col("n_women")).alias("women"),
        (pl.col("receiving_men") / pl.col("n_men")).alias("men"),
        pl.lit(None, dtype=pl.Float64).alias("gap"),
        pl.lit(False).alias("article10_flag"),
        ((pl.col("n_women") >= pl.col("_k")) & (pl.col("n_men") >= pl.col("_k"))).alias("publishable"),
    ).select(list(SCHEMA))


def _quartile_rows(pay: pl.DataFrame, orgs: pl.DataFrame) -> pl.DataFrame:
    """Item (f): share of women and men in each quartile pay band of total pay (Q1 lowest).

    Band = 1 + floor(4 (r - 1) / N) with r the rank of total pay ("min" rank: equal pay, equal band)."""
    group = ["organization", "cycle"]
    parts = []
    for basis in BASES:
        col = _column("total", basis)
        band = (pl.col(col).rank("min").over(group) - 1) * 4 // pl.len().over(group) + 1
        per = (
            pay.select(*group, "gender", band.cast(pl.Int64).alias("_band"))
            .group_by([*group, "_band"])
            .agg(
                (pl.col("gender") == WOMEN).sum().cast(pl.Int64).alias("n_women"),
                (pl.col("gender") == MEN).sum().cast(pl.Int64).alias("n_men"),
                pl.len().cast(pl.Int64).alias("_size"),
            )
        )
        parts.append(
            per.join(orgs, on="organization", how="left")
            .with_columns(
                pl.lit("f").alias("item"),
                pl.lit("9(1)(f)").alias("article"),
                pl.lit("quartile_share").alias("measure"),
                pl.lit("total").alias("component"),
                pl.lit(basis).alias("basis"),
                pl.lit("quartile").alias("category_type"),
                ("Q" + pl.col("_band").cast(pl.String)).alias("category"),
                (pl.col("n_women") / pl.col("_size")).alias("women"),
                (pl.col("n_men") / pl.col("_size")).alias("men"),
                pl.lit(None, dtype=pl.Float64).alias("gap"),
                pl.lit(False).alias("article10_flag"),
                ((pl.col("n_women") >= pl.col("_k")) & (pl.col("n_men") >= pl.col("_k"))).alias(
                    "publishable"
                ),
            )
            .select(list(SCHEMA))
        )
    return pl.concat(parts)


def pay_transparency(people: pl.DataFrame, policies: Mapping[str, Policy]) -> pl.DataFrame:
    """``marts.pay_transparency``: the Art. 9(1) items (a)–(g) per organisation × cycle (see module docstring),
    from :func:`people_frame`.

    Rows: (a) mean and (c) median gap of total pay; (b) mean and (d) median gap of variable pay among
    recipients; (e) share of women and men receiving variable pay; (f) share of women and men per quartile
    pay band; (g) mean and median gap per function level for basic, variable (recipients) and total pay, with
    ``article10_flag`` on the total-pay mean gap when |gap| >= the policy's Art. 10 threshold. (a)–(d), (f)
    and (g) come on the annual and the hourly basis.

    ``publishable``: money rows need at least ``disclosure.min_group_size_amounts`` women and men and no single
    person above ``disclosure.dominance_share`` of either group's sum; count rows (e, f) need at least
    ``disclosure.min_group_size`` women and men. Organisations without a policy are left out.
    """
    orgs = policy_frame(policies)
    pay = pay_frame(people, policies)
    org_stats = _side_stats(pay, ["organization", "cycle"])
    level_stats = _side_stats(pay, ["organization", "cycle", "function_level"])
    parts = [
        _gap_rows(org_stats, orgs, by_level=False),
        _receiving_rows(org_stats, orgs),
        _quartile_rows(pay, orgs),
        _gap_rows(level_stats, orgs, by_level=True),
    ]
    out = pl.concat([p.select([pl.col(c).cast(t) for c, t in SCHEMA.items()]) for p in parts])
    return out.sort(
        ["organization", "cycle", "item", "measure", "component", "basis", "category"], nulls_last=True
    )
