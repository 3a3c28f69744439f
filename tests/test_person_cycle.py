"""The person-cycle layer (issue 21): staging.person_cycle is the pairing of evaluations, payroll and awards by
plain joins, and the marts that read it are the marts computed from those joins, cell by cell."""

from __future__ import annotations

import math

import polars as pl

from models import budget as mb
from models.fairness import fairness_marts
from models.fairness_intersections import left_out_categories
from models.pay_transparency import pay_transparency, reward_totals
from models.policy import policy_for

KEYS = ["organization", "cycle", "employee_id"]
RELATIVE = 1e-12  # floating-point sums may add in another order; everything else must be equal


def _staging(sample_run, table: str) -> pl.DataFrame:
    return sample_run.query(f"SELECT * FROM staging.{table}")


def _policies(sample_run) -> dict:
    settings = sample_run.settings
    return {org: policy_for(settings, org) for org in settings.organizations}


def _joined_people(sample_run, policies: dict) -> pl.DataFrame:
    """The definition, as each mart paired the exports before the layer: evaluations (of organisations with a
    policy) left-joined to the reward totals and to payroll."""
    ev = _staging(sample_run, "evaluations").filter(pl.col("organization").is_in(list(policies)))
    layer_columns = set(sample_run.query("SELECT * FROM staging.person_cycle LIMIT 0").columns)
    ev = ev.select([c for c in ev.columns if c in layer_columns])
    pay = _staging(sample_run, "payroll").select(*KEYS, "annual_salary", pl.col("fte").alias("payroll_fte"))
    joined = (
        ev.join(reward_totals(_staging(sample_run, "awards"), policies), on=KEYS, how="left")
        .join(pay, on=KEYS, how="left")
        .with_columns((pl.col("annual_salary") * pl.col("payroll_fte")).alias("pay"))
    )
    variable = pl.col("amount_total").fill_null(0.0) + pl.col("pct_total").fill_null(0.0) / 100.0 * pl.col(
        "pay"
    )
    return joined.with_columns(pl.when(pl.col("pay").is_not_null()).then(variable).alias("variable"))


def _assert_equal(name: str, expected: pl.DataFrame, actual: pl.DataFrame) -> None:
    """Same columns, same rows (in any order) and every cell equal (floats within RELATIVE)."""
    assert expected.columns == actual.columns, name
    assert expected.height == actual.height, name
    order = [c for c in expected.columns if expected.schema[c] != pl.Float64]
    a = expected.sort(order, nulls_last=True)
    b = actual.select(expected.columns).sort(order, nulls_last=True)
    for column in expected.columns:
        left, right = a[column].to_list(), b[column].to_list()
        if expected.schema[column] == pl.Float64:
            for x, y in zip(left, right, strict=True):
                same = (x is None and y is None) or (
                    x is not None
                    and y is not None
                    and (
                        (math.isnan(x) and math.isnan(y))
                        or math.isclose(x, y, rel_tol=RELATIVE, abs_tol=1e-12)
                    )
                )
                assert same, (name, column, x, y)
        else:
            assert left == right, (name, column)


def test_the_layer_holds_the_joins_of_evaluations_payroll_and_awards(sample_run) -> None:
    policies = _policies(sample_run)
    joined = _joined_people(sample_run, policies)
    layer = sample_run.query(
        "SELECT * FROM staging.person_cycle WHERE evaluated AND list_contains(?, organization)".replace(
            "?", "['" + "','".join(policies) + "']"
        )
    )
    assert layer.height == joined.height > 0
    _assert_equal("people", joined, layer.select(joined.columns))
    # everyone evaluated or paid, once: the full join of evaluations and payroll
    staged = sample_run.query(
        """SELECT count(*) FROM (SELECT organization, cycle, employee_id FROM staging.evaluations UNION
           SELECT organization, cycle, employee_id FROM staging.payroll)"""
    ).item()
    assert sample_run.query("SELECT count(*) FROM staging.person_cycle").item() == staged


def test_the_marts_reading_the_layer_equal_the_marts_of_the_joins(sample_run) -> None:
    """marts.fairness, fairness_strata, pay_transparency and budget as the run wrote them (from the layer)
    against the same model functions given the plain joins, cell by cell."""
    policies = _policies(sample_run)
    settings = sample_run.settings
    people = _joined_people(sample_run, policies)
    extra = {
        org: list(settings.organizations[org].attributes) if org in settings.organizations else []
        for org in policies
    }
    marts = fairness_marts(people, policies, extra)
    _assert_equal("fairness", marts.overall, sample_run.query("SELECT * FROM marts.fairness"))
    _assert_equal("fairness_strata", marts.strata, sample_run.query("SELECT * FROM marts.fairness_strata"))
    _assert_equal(
        "pay_transparency",
        pay_transparency(people, policies),
        sample_run.query("SELECT * FROM marts.pay_transparency"),
    )
    # the budget from the frames (evaluations ⟗ payroll by joins) against the run's (read from the layer)
    inputs = mb.BudgetInputs(
        mb.conform(_staging(sample_run, "evaluations"), mb.EVALUATION_COLUMNS),
        mb.conform(_staging(sample_run, "payroll"), mb.PAYROLL_COLUMNS),
        mb.conform(_staging(sample_run, "awards"), mb.AWARD_COLUMNS),
        mb.conform(_staging(sample_run, "salary_scales"), mb.SCALE_COLUMNS),
    )
    # the headcount over the shown gender categories leaves out what marts.fairness leaves out (its rule)
    left_out = left_out_categories(
        sample_run.query("SELECT * FROM marts.fairness WHERE attribute = 'gender'"), policies
    )
    result = mb.compute_budget(inputs, policies, left_out)
    _assert_equal("budget", result.budget, sample_run.query("SELECT * FROM marts.budget"))
    _assert_equal("budget_by_type", result.by_type, sample_run.query("SELECT * FROM marts.budget_by_type"))
