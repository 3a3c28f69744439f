"""A straightforward pandas implementation of calibra's headline figures, to check and to time against.

    python -m benchmarks.pandas_reference --db calibra.duckdb --out metrics.json [--config calibra.yaml]

Reads the staging tables of a finished run (read-only) once into pandas and once into polars (not timed),
then for each figure times calibra's own pure model functions (models/*) on the polars frames against plain
pandas groupby code on the pandas frames, side by side in one process, and checks that the numbers agree
with each other and with the mart tables the pipeline wrote (relative tolerance 1e-9):

  distribution  marts.rating_distribution: n, count and share per organisation × cycle × measure × grouping ×
                unit × category (every grouping and measure of the mart, zero counts included).
                calibra: models.calibration.rating_distribution.
  deviation     marts.unit_deviation: n, mean score, expected mean (indirect standardisation on function
                level; the organisation mean for the function-level grouping) and observed/expected per unit.
                calibra: models.calibration.prepare + deviation.indirect_standardisation_by_cycle.
  fairness      marts.fairness, attribute gender: n, count and rate of "any incidental reward" and "top
                rating" among rated people per organisation × cycle × gender.
                calibra: the person-cycle layer built in DuckDB (models.person_cycle.build) and read as the
                fairness mart reads it (the columns it reads, taken from pipelines/assets/marts/fairness.py)
                + models.fairness.person_frame + its polars count cube (models.fairness._binary_cube when
                present).
  budget        marts.budget for organisations on a percentage basis (Zeeland, Z-2/Z-3/Z-4..Z-7): structural
                cost (rating pct × salary, capped at the scale maximum, zero at the maximum, × fte × on-cost)
                and incidental cost per cycle × department and organisation total.
                calibra: the person-cycle layer built in DuckDB, read by models.budget.load_inputs as the
                budget mart reads it (here for the organisations priced: their people, and the awards of
                the types their policies mark incidental) + models.budget.compute_budget (both marts).

The person-cycle layer (one SQL statement over the staging tables, copied untimed into an in-memory DuckDB as
the pipeline's database holds them) is built once, as in a run, and timed on its own (`person_cycle`): each of
the two figures that read it reports its speedup reading the built layer (`speedup`) and with the whole
build added to it (`speedup_with_layer`), and the total counts the build once. The pandas side pairs the
frames with merges inside each figure.

Nothing here is product code: it lives in benchmarks/ and only the policy *values* (scale codes, scores,
percentages, award-type rules) are read through the product's policy loader (and the fairness mart's column
list from its pipeline module, imported before anything is timed).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import polars as pl

RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-9  # for values that are (nearly) zero, where a relative tolerance means nothing
KEYS = ["organization", "cycle", "employee_id"]
UNKNOWN_DEPARTMENT = "(onbekend)"  # models.budget.UNKNOWN_DEPARTMENT: the mart's label, part of its grain
TOTAL = "(totaal)"


# ------------------------------------------------------------------------------------------------ inputs
def policies_of(config: str | None) -> dict[str, Any]:
    from models.config import load_settings
    from models.policy import policy_for

    settings = load_settings(config or None)
    return {org: policy_for(settings, org) for org in settings.organizations}


def scale_specs(policies: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The ordinal scales per organisation as plain values (codes low→high, scores, salary system)."""
    from models.calibration import measures

    return {
        org: [
            {"name": m.name, "codes": list(m.codes), "scores": list(m.scores), "system": m.system}
            for m in measures(policy)
        ]
        for org, policy in policies.items()
    }


def budget_specs(policies: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Budget rule values of the organisations on a percentage basis (the ones this reference prices)."""
    out = {}
    for org, policy in policies.items():
        if policy.rule_value("structural", "basis") != "pct":
            continue
        types = []
        for award in policy.award_types:
            if not award.incidental:
                continue
            spec = award.spec
            allowed = spec.get("allowed_pct")
            types.append(
                {
                    "award_type": award.code,
                    "kind": award.kind,
                    "pct_max": float(allowed["max"])
                    if isinstance(allowed, dict) and "max" in allowed
                    else np.nan,
                    "net_amount": float(spec["net_amount"]) if spec.get("net_amount") is not None else np.nan,
                    "pro_rata": bool(spec.get("pro_rata_fte", False)),
                    "min_net_amount": float(spec["min_net_amount"])
                    if spec.get("min_net_amount") is not None
                    else np.nan,
                    "max_duration": float(spec["max_duration_months"])
                    if spec.get("max_duration_months") is not None
                    else np.nan,
                    "cap_next": spec.get("cap") == "next_scale_maximum",
                    "default_basis": "netto"
                    if spec.get("net_amount") is not None or spec.get("min_net_amount") is not None
                    else "bruto",
                }
            )
        out[org] = {
            "pct": {r.code: float(r.structural_pct) for r in policy.ratings if r.structural_pct is not None},
            "oncost": float(policy.rule_value("budget", "employer_oncost_factor", default=1.0) or 1.0),
            "net_to_gross": float(policy.rule_value("budget", "net_to_gross_factor", default=1.0) or 1.0),
            "types": types,
        }
    return out


def staging_copy(db: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the staging tables of the run (in their stored order), for calibra's side to
    build and read the person-cycle layer as the pipeline does."""
    con = duckdb.connect()
    con.execute("ATTACH ? AS run (READ_ONLY)", [str(db)])
    con.execute("CREATE SCHEMA staging")
    for table in ("evaluations", "awards", "payroll", "salary_scales"):
        con.execute(f"CREATE TABLE staging.{table} AS SELECT * FROM run.staging.{table}")
    con.execute("DETACH run")
    return con


def read_tables(db: Path) -> tuple[dict[str, pl.DataFrame], dict[str, pd.DataFrame], dict[str, pl.DataFrame]]:
    """Staging as polars and as pandas (read separately, as each side would), and the marts compared."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        present = {
            f"{s}.{t}"
            for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        }
        staging = ["evaluations", "awards", "payroll", "salary_scales"]
        as_polars = {t: con.sql(f"SELECT * FROM staging.{t}").pl() for t in staging}
        as_pandas = {t: con.sql(f"SELECT * FROM staging.{t}").df() for t in staging}
        marts = {
            name: con.sql(f"SELECT * FROM marts.{name}").pl()
            for name in ("rating_distribution", "unit_deviation", "fairness", "budget")
            if f"marts.{name}" in present
        }
    finally:
        con.close()
    return as_polars, as_pandas, marts


# ------------------------------------------------------------------------------------------ pandas side
CROSS = " × "  # models.calibration._scales.CROSS_SEPARATOR: part of the mart's unit names
GROUPINGS = ("organization", "department", "function_level", "department_function_level", "evaluator")


def pd_observations(ev: pd.DataFrame, specs: Mapping[str, list[dict[str, Any]]]) -> pd.DataFrame:
    parts = []
    ids = [
        "employee_id",
        "evaluator_id",
        "department",
        "function_level",
    ]  # rows without them are no observation
    for org, scales in sorted(specs.items()):
        rows = ev[(ev["organization"] == org) & ev[ids].notna().all(axis=1)]
        for m in scales:
            sub = rows
            if m["name"] == "rating":
                code = sub["rating"].astype("string")
            else:
                if m["system"] is not None:
                    sub = sub[sub["salary_system"].isna() | (sub["salary_system"] == m["system"])]
                code = pd.to_numeric(sub["salary_decision"]).astype("Int64").astype("string")
            keep = code.isin(m["codes"]).fillna(False).to_numpy(dtype=bool)
            part = pd.DataFrame(
                {
                    "organization": org,
                    "cycle": sub["cycle"].astype("int64").to_numpy()[keep],
                    "measure": m["name"],
                    "department": sub["department"].to_numpy()[keep],
                    "function_level": sub["function_level"].to_numpy()[keep],
                    "evaluator_id": sub["evaluator_id"].to_numpy()[keep],
                    "code": code.to_numpy()[keep],
                }
            )
            part["score"] = part["code"].map(dict(zip(m["codes"], m["scores"], strict=True))).astype(float)
            parts.append(part)
    return pd.concat(parts, ignore_index=True)


def pd_unit(obs: pd.DataFrame, grouping: str) -> pd.Series:
    if grouping == "department_function_level":
        return obs["department"] + CROSS + obs["function_level"]
    if grouping == "evaluator":
        return obs["evaluator_id"]
    return obs[grouping]


def pd_distribution(ev: pd.DataFrame, specs: Mapping[str, list[dict[str, Any]]]) -> pd.DataFrame:
    obs = pd_observations(ev, specs)
    cats = pd.DataFrame(
        [
            {"organization": org, "measure": m["name"], "code": c, "k": k}
            for org, scales in specs.items()
            for m in scales
            for k, c in enumerate(m["codes"])
        ]
    )
    keys = ["organization", "cycle", "measure", "unit"]
    out = []
    for grouping in GROUPINGS:
        d = obs[["organization", "cycle", "measure", "code"]].assign(unit=pd_unit(obs, grouping))
        d = d[d["unit"].notna()]
        counts = d.groupby([*keys, "code"]).size().rename("count").reset_index()
        n = d.groupby(keys).size().rename("n").reset_index()
        grid = n.merge(cats, on=["organization", "measure"]).merge(counts, on=[*keys, "code"], how="left")
        grid["count"] = grid["count"].fillna(0).astype("int64")
        grid["share"] = grid["count"] / grid["n"]
        grid["grouping"] = grouping
        out.append(grid)
    return pd.concat(out, ignore_index=True).rename(columns={"code": "rating"})


def pd_deviation(ev: pd.DataFrame, specs: Mapping[str, list[dict[str, Any]]]) -> pd.DataFrame:
    obs = pd_observations(ev, specs)
    family = ["organization", "cycle", "measure"]
    obs["_level_mean"] = obs.groupby([*family, "function_level"])["score"].transform("mean")
    obs["_org_mean"] = obs.groupby(family)["score"].transform("mean")
    out = []
    for grouping in GROUPINGS[1:]:
        expected = "_org_mean" if grouping == "function_level" else "_level_mean"
        d = obs[[*family, "score", expected]].assign(unit=pd_unit(obs, grouping))
        g = (
            d.groupby([*family, "unit"])
            .agg(n=("score", "size"), mean_score=("score", "mean"), expected_mean=(expected, "mean"))
            .reset_index()
        )
        g["o_over_e"] = g["mean_score"] / g["expected_mean"]
        g["grouping"] = grouping
        out.append(g)
    return pd.concat(out, ignore_index=True)


def fairness_outcomes(policies: Mapping[str, Any]) -> dict[str, str]:
    """Organisation → code of its top rating (outcome rating_at_least_<top>)."""
    return {org: policy.rating_codes[-1] for org, policy in policies.items()}


def pd_fairness(ev: pd.DataFrame, aw: pd.DataFrame, policies: Mapping[str, Any]) -> pd.DataFrame:
    incidental_types = pd.DataFrame(
        [
            {"organization": org, "award_type": a.code}
            for org, policy in policies.items()
            for a in policy.award_types
            if a.incidental
        ]
    )
    incidental = (
        aw[[*KEYS, "award_type"]]
        .merge(incidental_types, on=["organization", "award_type"])
        .drop_duplicates(KEYS)[KEYS]
        .assign(incidental=True)
    )
    codes = pd.DataFrame(
        [{"organization": org, "rating": c} for org, policy in policies.items() for c in policy.rating_codes]
    )
    top = pd.DataFrame([{"organization": o, "_top": c} for o, c in fairness_outcomes(policies).items()])
    rated = ev[[*KEYS, "rating", "gender"]].merge(codes, on=["organization", "rating"])
    rated = rated[rated["gender"].notna()].merge(top, on="organization")
    rated = rated.merge(incidental, on=KEYS, how="left")
    rated["incidental"] = rated["incidental"].fillna(False).astype(bool)
    rated["top"] = rated["rating"] == rated["_top"]
    g = (
        rated.groupby(["organization", "cycle", "gender", "_top"])
        .agg(n=("top", "size"), c_incidental=("incidental", "sum"), c_top=("top", "sum"))
        .reset_index()
    )
    a = g.assign(outcome="incidental_reward", count=g["c_incidental"])
    b = g.assign(outcome="rating_at_least_" + g["_top"], count=g["c_top"])
    out = pd.concat([a, b], ignore_index=True).rename(columns={"gender": "group_value"})
    out["count"] = out["count"].astype("int64")
    out["rate"] = out["count"] / out["n"]
    return out[["organization", "cycle", "outcome", "group_value", "n", "count", "rate"]]


def pd_budget(
    ev: pd.DataFrame, pay: pd.DataFrame, aw: pd.DataFrame, scales: pd.DataFrame, specs: Mapping[str, Any]
) -> pd.DataFrame:
    out = []
    for org, spec in sorted(specs.items()):
        e = ev.loc[ev["organization"] == org, [*KEYS, "department", "rating", "at_scale_maximum", "fte"]]
        p = pay.loc[pay["organization"] == org, [*KEYS, "department", "salary_scale", "annual_salary", "fte"]]
        people = e.merge(p, on=KEYS, how="outer", suffixes=("", "_pay"))
        people["department"] = (
            people["department"].fillna(people["department_pay"]).fillna(UNKNOWN_DEPARTMENT)
        )
        people["fte"] = people["fte_pay"].fillna(people["fte"]).astype(float)
        people["at_scale_maximum"] = people["at_scale_maximum"].fillna(False).astype(bool)
        # scale maximum: the `maximum` point, else the highest amount; next higher scale by maximum
        s = scales[scales["organization"] == org]
        top = s[s["point"] == "maximum"].groupby("salary_scale")["annual_amount"].max()
        highest = s.groupby("salary_scale")["annual_amount"].max()
        scale_max = top.reindex(highest.index).fillna(highest).rename("scale_max").reset_index()
        scale_max = scale_max.sort_values(["scale_max", "salary_scale"], kind="stable")
        scale_max["next_scale_max"] = scale_max["scale_max"].shift(-1).fillna(scale_max["scale_max"])
        people = people.merge(scale_max, on="salary_scale", how="left")
        # structural (Z-2, Z-3): max(0, min(salary × (1 + pct/100), maximum) − salary), 0 at the maximum
        salary = people["annual_salary"].astype(float)
        pct = people["rating"].map(spec["pct"]).astype(float)
        paid = salary.notna() & people["fte"].notna()
        costed = pct.notna() & paid & (people["scale_max"].notna() | people["at_scale_maximum"])
        at_max = people["at_scale_maximum"] | (salary >= people["scale_max"]).fillna(False)
        wanted = salary * (1 + pct / 100)
        raise_100 = np.fmax(np.fmin(wanted, people["scale_max"]) - salary, 0.0).where(~at_max, 0.0)
        people["structural"] = (raise_100 * people["fte"]).where(costed, 0.0).fillna(0.0) * spec["oncost"]
        # incidental (Z-4..Z-7)
        types = pd.DataFrame(spec["types"])
        a = aw[aw["organization"] == org].merge(types, on="award_type")
        a = a.merge(
            people[[*KEYS, "department", "annual_salary", "fte", "next_scale_max"]], on=KEYS, how="left"
        )
        n2g = spec["net_to_gross"]
        sal, fte = a["annual_salary"].astype(float), a["fte"].astype(float)
        apct = a["pct"].astype(float)
        apct = np.fmin(apct, a["pct_max"]).where(a["pct_max"].notna(), apct)
        annual = apct / 100 * sal
        annual = np.fmin(annual, np.fmax(a["next_scale_max"] - sal, 0.0)).where(a["cap_next"], annual)
        basis = a["amount_basis"].str.lower().fillna(a["default_basis"])
        amount = a["amount"].astype(float)
        a["_net_own"] = amount.where(basis == "netto", amount / n2g)
        group_equal = a.groupby(["cycle", "award_type", "group_id"], dropna=False)["_net_own"].transform(
            "min"
        )
        net = a["_net_own"].where(a["group_id"].isna(), a["_net_own"].fillna(group_equal))
        net = net.fillna(a["min_net_amount"])
        net = np.fmax(net, a["min_net_amount"]).where(a["min_net_amount"].notna(), net)
        fixed = a["net_amount"] * fte.where(a["pro_rata"], 1.0)
        net = fixed.fillna(net).where(a["net_amount"].notna(), net)
        months = np.fmin(
            pd.to_numeric(a["duration_months"]).astype(float).fillna(a["max_duration"]), a["max_duration"]
        )
        share = (np.fmin(months, 12) / 12).where(months.notna(), 1.0)
        gross = (annual * fte * share).where(a["kind"] == "pct", net * n2g)
        a["incidental"] = gross.fillna(0.0) * spec["oncost"]
        a["department"] = a["department"].fillna(UNKNOWN_DEPARTMENT)
        by_people = people.groupby(["cycle", "department"])["structural"].sum()
        by_awards = a.groupby(["cycle", "department"])["incidental"].sum()
        rows = pd.concat([by_people, by_awards], axis=1).fillna(0.0).reset_index()
        totals = (
            rows.groupby("cycle")[["structural", "incidental"]].sum().reset_index().assign(department=TOTAL)
        )
        out.append(pd.concat([rows, totals], ignore_index=True).assign(organization=org))
    result = pd.concat(out, ignore_index=True)
    return result.rename(columns={"structural": "structural_cost_full_year", "incidental": "incidental_cost"})


# ----------------------------------------------------------------------------------------- calibra side
def cal_distribution(ev: pl.DataFrame, policies: Mapping[str, Any]) -> pl.DataFrame:
    from models.calibration import rating_distribution

    return rating_distribution(ev, policies)


def cal_deviation(ev: pl.DataFrame, policies: Mapping[str, Any]) -> pl.DataFrame:
    """Observed, expected and O/E per unit with the functions the unit_deviation mart computes them with."""
    from models.calibration import GROUPINGS as MART_GROUPINGS
    from models.calibration import prepare
    from models.calibration.deviation import indirect_standardisation_by_cycle

    parts = []
    for org in prepare(ev, policies):
        for rows in org.rows:
            for grouping in MART_GROUPINGS[1:]:
                unit, n_units = org.units(rows, grouping)
                adjust = grouping != "function_level"
                strata = rows.lvl if adjust else np.zeros(rows.size, dtype=np.int64)
                ist = indirect_standardisation_by_cycle(
                    rows.cycle,
                    unit,
                    strata,
                    rows.score,
                    org.cycles.size,
                    n_units,
                    org.size("lvl") if adjust else 1,
                )
                c, u = np.nonzero(ist["n"] > 0)
                observed, expected = ist["observed"][c, u], ist["expected"][c, u]
                parts.append(
                    pl.DataFrame(
                        {
                            "cycle": org.cycles[c],
                            "unit": org.unit_names(grouping, u),
                            "n": ist["n"][c, u],
                            "mean_score": observed,
                            "expected_mean": expected,
                            "o_over_e": np.where(
                                expected != 0, observed / np.where(expected != 0, expected, 1), np.nan
                            ),
                        }
                    ).with_columns(
                        pl.lit(org.org).alias("organization"),
                        pl.lit(rows.measure.name).alias("measure"),
                        pl.lit(grouping).alias("grouping"),
                    )
                )
    return pl.concat(parts, how="vertical_relaxed")


def fairness_mart_columns(config: str | None, policies: Mapping[str, Any]) -> list[str]:
    """The evaluation columns the fairness mart reads from the person-cycle layer: its own list and the
    attributes the policies and settings ask for (pipelines/assets/marts/fairness.py, imported here, not timed)."""
    from models.config import load_settings
    from pipelines.assets.marts import fairness as mart

    settings = load_settings(config or None)
    requested = [
        a
        for org in sorted(policies)
        for a in [
            *policies[org].rule_value("fairness", "attributes", default=[]),
            *(settings.organizations[org].attributes if org in settings.organizations else []),
        ]
    ]
    return mart._evaluation_columns([*mart.EVALUATION_COLUMNS, *mart._attribute_columns(requested)])


def layer_people(
    con: duckdb.DuckDBPyConnection, policies: Mapping[str, Any], columns: list[str]
) -> pl.DataFrame:
    """Read the people frame from the person-cycle layer in ``con`` as the fairness mart does (``columns``:
    :func:`fairness_mart_columns`)."""
    from models import pay_transparency, person_cycle

    return person_cycle.read(
        con,
        pay_transparency.people_columns(columns, policies),
        "evaluated AND list_contains(?, organization)",
        [sorted(policies)],
    )


def fairness_persons(
    ev: pl.DataFrame,
    aw: pl.DataFrame,
    pay: pl.DataFrame,
    policies: Mapping[str, Any],
    people: pl.DataFrame | None = None,
) -> tuple[dict[str, pl.DataFrame], dict[str, list[Any]]]:
    """Per organisation calibra's person frame of the fairness marts, for gender and the two outcomes
    (``people``: the people frame read from the person-cycle layer; else paired from the frames)."""
    from models import fairness, pay_transparency

    top = fairness_outcomes(policies)
    if people is None:
        people = pay_transparency.people_frame(ev, aw, pay, policies)
    available = [c for c in people.columns if c not in getattr(fairness, "PEOPLE_COLUMNS", ())]
    persons, outcomes = {}, {}
    for org, policy in sorted(policies.items()):
        frame = people.filter(pl.col("organization") == org)
        if frame.height == 0:
            continue
        config = replace(fairness.fairness_config(policy, available=available), attributes=("gender",))
        wanted = {"incidental_reward", f"rating_at_least_{top[org]}"}
        outcomes[org] = [o for o in fairness.outcomes_for(policy) if o.code in wanted]
        persons[org] = fairness.person_frame(frame, policy, config, outcomes[org])
    return persons, outcomes


def cal_fairness(
    con: duckdb.DuckDBPyConnection, policies: Mapping[str, Any], columns: list[str]
) -> pl.DataFrame:
    """Group rates by gender of the two outcomes, through the person-cycle layer (read as the mart reads it),
    calibra's person frame and count cube."""
    from models import fairness

    people = layer_people(con, policies, columns)
    persons, outcomes = fairness_persons(people, people, people, policies, people=people)
    parts = []
    for org, frame in persons.items():
        cube = _binary_cube(fairness, frame, outcomes[org])
        parts.append(
            cube.group_by("cycle", "outcome", "group_value")
            .agg(pl.col("n").sum(), pl.col("count").sum())
            .with_columns(pl.lit(org).alias("organization"), (pl.col("count") / pl.col("n")).alias("rate"))
        )
    return pl.concat(parts)


def _binary_cube(fairness: Any, persons: pl.DataFrame, outcomes: list[Any]) -> pl.DataFrame:
    """calibra's count cube (cycle × group × function level × department × outcome) for the gender rates."""
    cube = getattr(fairness, "_binary_cube", None)
    if cube is not None:
        return cube(persons, ["gender"], outcomes)
    columns = [f"o:{o.code}" for o in outcomes]  # fallback if the private helper is renamed
    agg = (
        persons.filter(pl.col("a:gender").is_not_null())
        .group_by("cycle", "a:gender", "function_level", "department")
        .agg(
            *[pl.col(c).count().alias(f"n{c}") for c in columns],
            *[pl.col(c).sum().alias(f"c{c}") for c in columns],
        )
    )
    return pl.concat(
        [
            agg.select(
                "cycle",
                pl.lit(o.code).alias("outcome"),
                pl.col("a:gender").alias("group_value"),
                pl.col(f"no:{o.code}").cast(pl.Int64).alias("n"),
                pl.col(f"co:{o.code}").cast(pl.Int64).alias("count"),
            ).filter(pl.col("n") > 0)
            for o in outcomes
        ]
    )


def cal_budget(con: duckdb.DuckDBPyConnection, policies: Mapping[str, Any]) -> pl.DataFrame:
    """marts.budget of the organisations on a percentage basis: the budget's inputs of those organisations
    read from the person-cycle layer as the mart reads them, and compute_budget (both of its marts)."""
    from models.budget import compute_budget, load_inputs

    pct_policies = {o: p for o, p in policies.items() if p.rule_value("structural", "basis") == "pct"}
    # Only the organisations priced here, as the pandas side: the rows of the others were read and dropped.
    only = ("list_contains(?, organization)", [sorted(pct_policies)])
    inputs = load_inputs(con, cycle_condition=only, layer=True, policies=pct_policies)
    return compute_budget(inputs, pct_policies).budget


# --------------------------------------------------------------------------------------------- comparing
def _frame(frame: pd.DataFrame | pl.DataFrame) -> pl.DataFrame:
    return frame if isinstance(frame, pl.DataFrame) else pl.from_pandas(frame)


def compare(
    name: str,
    reference: pd.DataFrame | pl.DataFrame,
    other: pd.DataFrame | pl.DataFrame | None,
    keys: list[str],
    values: list[str],
    other_filter: pl.Expr | None = None,
) -> dict[str, Any]:
    """Same keys on both sides, and every value equal within the tolerance (nulls and nan only with each other)."""
    if other is None:
        return {"name": name, "passed": None, "detail": "mart not in the database (skipped)"}
    ref = _frame(reference).select(
        [pl.col(k).cast(pl.String) for k in keys] + [pl.col(v).cast(pl.Float64) for v in values]
    )
    oth = _frame(other)
    if other_filter is not None:
        oth = oth.filter(other_filter)
    missing_cols = [c for c in keys + values if c not in oth.columns]
    if missing_cols:
        return {"name": name, "passed": False, "detail": f"columns missing: {missing_cols}"}
    oth = oth.select([pl.col(k).cast(pl.String) for k in keys] + [pl.col(v).cast(pl.Float64) for v in values])
    joined = ref.join(oth, on=keys, how="full", suffix="_other", coalesce=True, nulls_equal=True)
    only_ref = joined.filter(pl.col(f"{values[0]}_other").is_null() & pl.col(values[0]).is_not_null()).height
    bad = 0
    worst = 0.0
    for v in values:
        a = joined[v].to_numpy().astype(float)
        b = joined[f"{v}_other"].to_numpy().astype(float)
        both_nan = np.isnan(a) & np.isnan(b)
        scale = np.maximum(np.abs(a), np.abs(b))
        ok = both_nan | (np.abs(a - b) <= np.maximum(RELATIVE_TOLERANCE * scale, ABSOLUTE_TOLERANCE))
        bad += int((~ok).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = np.abs(a - b) / np.where(scale > 0, scale, 1.0)
        rel = np.where(ok, 0.0, np.where(np.isfinite(diff), diff, np.inf))  # null against a value: inf
        worst = max(worst, float(rel.max()) if rel.size else 0.0)
    passed = bad == 0 and ref.height == oth.height and joined.height == ref.height
    return {
        "name": name,
        "passed": passed,
        "rows_reference": ref.height,
        "rows_other": oth.height,
        "rows_only_in_reference": only_ref,
        "values_compared": joined.height * len(values),
        "values_disagreeing": bad,
        "worst_relative_difference": worst if math.isfinite(worst) else "inf",
        "detail": "" if passed else f"{bad} values differ, {ref.height} vs {oth.height} rows",
    }


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    times, result = [], None
    for _ in range(max(1, repeat)):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), [round(t, 4) for t in times], result


def run(db: Path, config: str | None, repeat: int) -> dict[str, Any]:
    started = time.perf_counter()
    # Both sides are imported before anything is timed (pandas is imported with this module).
    importlib.import_module("models.calibration")
    for module in ("models.fairness", "models.pay_transparency", "models.budget"):
        importlib.import_module(module)
    policies = policies_of(config)
    columns = fairness_mart_columns(config, policies)  # (imports the fairness mart's module: before timing)
    specs, bspecs = scale_specs(policies), budget_specs(policies)
    stg, pdf, marts = read_tables(db)
    con = staging_copy(db)
    load_seconds = time.perf_counter() - started
    ev = stg["evaluations"]
    pev, paw, ppay, psc = (pdf[t] for t in ("evaluations", "awards", "payroll", "salary_scales"))
    figures: dict[str, dict[str, Any]] = {}
    checks: list[dict[str, Any]] = []

    def measure(name: str, cal: Callable[[], Any], ref: Callable[[], Any]) -> tuple[Any, Any]:
        c_best, c_runs, c_out = best_of(cal, repeat)
        p_best, p_runs, p_out = best_of(ref, repeat)
        figures[name] = {
            "calibra_seconds": round(c_best, 4),
            "pandas_seconds": round(p_best, 4),
            "speedup": round(p_best / c_best, 2) if c_best > 0 else None,
            "calibra_runs": c_runs,
            "pandas_runs": p_runs,
        }
        return c_out, p_out

    dist_keys = ["organization", "cycle", "measure", "grouping", "unit", "rating"]
    dist_values = ["n", "count", "share"]
    c, p = measure(
        "distribution", lambda: cal_distribution(ev, policies), lambda: pd_distribution(pev, specs)
    )
    checks.append(compare("distribution: calibra = pandas", p, c, dist_keys, dist_values))
    checks.append(
        compare(
            "distribution: marts.rating_distribution = pandas",
            p,
            marts.get("rating_distribution"),
            dist_keys,
            dist_values,
        )
    )

    dev_keys = ["organization", "cycle", "measure", "grouping", "unit"]
    dev_values = ["n", "mean_score", "expected_mean", "o_over_e"]
    c, p = measure("deviation", lambda: cal_deviation(ev, policies), lambda: pd_deviation(pev, specs))
    checks.append(compare("deviation: calibra = pandas", p, c, dev_keys, dev_values))
    checks.append(
        compare(
            "deviation: marts.unit_deviation = pandas", p, marts.get("unit_deviation"), dev_keys, dev_values
        )
    )

    from models import person_cycle

    layer_seconds, layer_runs, _ = best_of(lambda: person_cycle.build(con, policies), repeat)
    fair_keys = ["organization", "cycle", "outcome", "group_value"]
    fair_values = ["n", "count", "rate"]
    c, p = measure(
        "fairness", lambda: cal_fairness(con, policies, columns), lambda: pd_fairness(pev, paw, policies)
    )
    checks.append(compare("fairness: calibra = pandas", p, c, fair_keys, fair_values))
    outcomes = ["incidental_reward", *{f"rating_at_least_{t}" for t in fairness_outcomes(policies).values()}]
    checks.append(
        compare(
            "fairness: marts.fairness (gender) = pandas",
            p,
            marts.get("fairness"),
            fair_keys,
            fair_values,
            other_filter=(pl.col("attribute") == "gender") & pl.col("outcome").is_in(outcomes),
        )
    )

    budget_keys = ["organization", "cycle", "department"]
    budget_values = ["structural_cost_full_year", "incidental_cost"]
    c, p = measure(
        "budget",
        lambda: cal_budget(con, policies),
        lambda: pd_budget(pev, ppay, paw, psc, bspecs),
    )
    checks.append(compare("budget: calibra = pandas", p, c, budget_keys, budget_values))
    budget_mart = marts.get("budget")
    checks.append(
        compare(
            "budget: marts.budget = pandas",
            p,
            budget_mart,
            budget_keys,
            budget_values,
            other_filter=pl.col("organization").is_in(list(bspecs)),
        )
    )
    for name in ("fairness", "budget"):
        with_layer = figures[name]["calibra_seconds"] + layer_seconds
        figures[name]["speedup_with_layer"] = round(figures[name]["pandas_seconds"] / with_layer, 2)
    calibra = sum(f["calibra_seconds"] for f in figures.values()) + layer_seconds
    pandas_ = sum(f["pandas_seconds"] for f in figures.values())
    return {
        "figures": figures,
        "total": {
            "calibra_seconds": round(calibra, 4),
            "pandas_seconds": round(pandas_, 4),
            "speedup": round(pandas_ / calibra, 2) if calibra > 0 else None,
        },
        "person_cycle": {"seconds": round(layer_seconds, 4), "runs": layer_runs},
        "checks": checks,
        "rows": {t: f.height for t, f in stg.items()},
        "marts_present": sorted(marts),
        "load_seconds": round(load_seconds, 3),
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
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(type(value))


if __name__ == "__main__":
    raise SystemExit(main())
