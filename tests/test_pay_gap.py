"""Issue 22: the pay-gap projection, the cost to close, the Art. 10 assessment data and the Art. 7 letter.

Statistics are checked against independent references: the unexplained gap against statsmodels' formula
interface (patsy design, a different code path) and a closed-form least-squares fit with scipy's t quantile;
the closing raises by refitting the regression on the raised salaries."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import stat
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import statsmodels.formula.api as smf
from scipy import stats as sps

from models.budget import cost_rules
from models.config import PROJECT_ROOT
from models.errors import ConfigError
from models.pay_assessment import ITEMS, add_months, assessment_rows, load_assessments
from models.pay_gap_cost import METHODS, close_gap, cost_to_close, fit_gap
from models.pay_gap_letter import letter_figures
from models.pay_gap_projection import (
    RULES_SCENARIO,
    RuleChange,
    _base_arrays,
    base_frame,
    category_gaps,
    load_rule_changes,
    pay_gap_settings,
    person_frame,
    project_organisation,
    year0_figures,
)
from models.pay_transparency import people_frame
from models.policy import load_policy

ZEELAND = load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")
PLOEG = load_policy(PROJECT_ROOT / "policies" / "ploeg.yaml")
Z = "zeeland-demo"


# ------------------------------------------------------------------------------------------------ fixtures
def regression_fixture(seed: int = 3, n: int = 80) -> pl.DataFrame:
    """People of one category: a 6% lower pay for women at equal scale, step and tenure, plus noise."""
    rng = np.random.default_rng(seed)
    women = rng.random(n) < 0.5
    scale = rng.choice(["10", "11"], n)
    step = rng.integers(0, 10, n)
    tenure = rng.uniform(0, 25, n)
    log_pay = (
        np.log(40_000) + 0.08 * (scale == "11") + 0.02 * step + 0.004 * tenure - 0.06 * women
    ) + rng.normal(0, 0.03, n)
    return pl.DataFrame(
        {
            "organization": Z,
            "cycle": 2024,
            "employee_id": [f"p{i:04d}" for i in range(n)],
            "gender": np.where(women, "F", "M"),
            "function_level": "S09",
            "salary_scale": scale,
            "salary_step": step,
            "tenure": tenure,
            "annual_salary": np.exp(log_pay),
            "fte": rng.choice([1.0, 0.8, 0.5], n),
            "scale_max": np.exp(log_pay) * rng.uniform(1.0, 1.3, n),
            "at_scale_maximum": rng.random(n) < 0.1,
            "last_step": 20,
        }
    ).with_columns((pl.col("annual_salary") * pl.col("fte")).alias("pay"))


def inputs(
    women: list[float], men: list[float], cycles: tuple[int, ...] = (2023, 2024), rating: str = "normaal"
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Staging-like evaluations, awards (none), payroll and scales of one Zeeland category, everyone with the
    same rating every cycle and scale maxima far above every salary (no cap)."""
    people = [("F", s) for s in women] + [("M", s) for s in men]
    evaluations = pl.DataFrame(
        [
            {
                "organization": Z,
                "cycle": c,
                "employee_id": f"p{i:03d}",
                "department": "Economie",
                "function_level": "S09",
                "gender": g,
                "rating": rating,
                "fte": 1.0,
                "at_scale_maximum": False,
            }
            for c in cycles
            for i, (g, _) in enumerate(people)
        ]
    )
    payroll = pl.DataFrame(
        [
            {
                "organization": Z,
                "cycle": c,
                "employee_id": f"p{i:03d}",
                "annual_salary": s,
                "fte": 1.0,
                "salary_scale": "9",
                "salary_step": None,
            }
            for c in cycles
            for i, (_, s) in enumerate(people)
        ],
        schema_overrides={"salary_step": pl.Int64},
    )
    awards = pl.DataFrame(
        schema={
            "organization": pl.String,
            "cycle": pl.Int64,
            "employee_id": pl.String,
            "award_type": pl.String,
            "pct": pl.Float64,
            "amount": pl.Float64,
            "amount_basis": pl.String,
        }
    )
    scales = pl.DataFrame(
        {
            "organization": [Z],
            "salary_scale": ["9"],
            "point": ["maximum"],
            "step": [None],
            "annual_amount": [1e6],
        },
        schema_overrides={"step": pl.Int64},
    )
    return evaluations, awards, payroll, scales


def persons_of(evaluations: pl.DataFrame, awards: pl.DataFrame, payroll: pl.DataFrame, scales: pl.DataFrame):
    people = people_frame(evaluations, awards, payroll, {Z: ZEELAND})
    return person_frame(people, payroll, scales, cost_rules(ZEELAND))


# ------------------------------------------------------------------------------------ the unexplained gap
def test_unexplained_gap_matches_statsmodels_formula_and_closed_form() -> None:
    frame = regression_fixture()
    fit = fit_gap(frame, ["salary_scale", "salary_step", "tenure"])
    assert fit is not None
    # reference 1: statsmodels through its formula interface (patsy builds the design)
    data = frame.to_pandas().assign(woman=lambda d: (d["gender"] == "F").astype(float))
    reference = smf.ols("np.log(annual_salary) ~ woman + C(salary_scale) + salary_step + tenure", data).fit()
    assert fit.coef == pytest.approx(reference.params["woman"], rel=1e-10)
    low, high = reference.conf_int(0.05).loc["woman"]
    assert (fit.low, fit.high) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))
    # reference 2: closed-form least squares with scipy's t quantile
    x = np.column_stack(
        [
            np.ones(frame.height),
            data["woman"].to_numpy(),
            (data["salary_scale"] == "11").to_numpy().astype(float),
            data["salary_step"].to_numpy(),
            data["tenure"].to_numpy(),
        ]
    )
    y = np.log(data["annual_salary"].to_numpy())
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    dof = x.shape[0] - x.shape[1]
    se = np.sqrt(resid @ resid / dof * np.linalg.inv(x.T @ x)[1, 1])
    t = sps.t.ppf(0.975, dof)
    assert fit.coef == pytest.approx(beta[1], rel=1e-10)
    assert fit.high - fit.low == pytest.approx(2 * t * se, rel=1e-9)
    # the gap is (men - women) / men at equal factors: 1 - exp(b), the interval mapped the same way
    assert fit.gap == pytest.approx(1 - np.exp(beta[1]))
    assert fit.gap_low < fit.gap < fit.gap_high
    assert 0.03 < fit.gap < 0.09  # the planted 6% is inside what the fixture can recover


def test_a_factor_that_does_not_vary_is_left_out() -> None:
    frame = regression_fixture().with_columns(pl.lit(5).alias("salary_step"))
    fit = fit_gap(frame, ["salary_scale", "salary_step", "tenure"])
    assert fit is not None and fit.factors == ("salary_scale", "tenure")


# --------------------------------------------------------------------------------------- closing the gap
def _closing_problem() -> tuple[pl.DataFrame, np.ndarray, np.ndarray, np.ndarray, float]:
    frame = regression_fixture(seed=11, n=120)
    fit = fit_gap(frame, ["salary_scale", "salary_step", "tenure"])
    assert fit is not None and fit.coef < 0
    women = (frame["gender"] == "F").to_numpy()
    salary = frame["annual_salary"].to_numpy()
    cap = np.where(women, np.log(1.10), 0.0)
    return frame, fit.influence, salary * frame["fte"].to_numpy(), cap, -fit.coef


@pytest.mark.parametrize("method", METHODS)
def test_the_raises_close_the_gap_exactly_when_the_regression_is_refitted(method: str) -> None:
    frame, a, cost, cap, need = _closing_problem()
    fit = fit_gap(frame, ["salary_scale", "salary_step", "tenure"])
    assert fit is not None
    shortfall = np.where(cap > 0, abs(fit.coef) - fit.residual, 0.0)
    raises = close_gap(method, need, a, cost, cap, 0.0, shortfall)
    assert raises.closable
    assert np.all(raises.delta >= 0) and np.all(
        raises.delta <= cap + 1e-12
    )  # never a cut, never above the cap
    raised = frame.with_columns(
        pl.Series("annual_salary", frame["annual_salary"].to_numpy() * np.exp(raises.delta))
    )
    refit = fit_gap(raised, ["salary_scale", "salary_step", "tenure"])
    assert refit is not None
    assert refit.coef == pytest.approx(0.0, abs=1e-9)  # OLS is linear in y: the gap is closed exactly


def test_cheapest_costs_no_more_than_uniform_or_balanced() -> None:
    frame, a, cost, cap, need = _closing_problem()
    fit = fit_gap(frame, ["salary_scale", "salary_step", "tenure"])
    assert fit is not None
    shortfall = np.where(cap > 0, abs(fit.coef) - fit.residual, 0.0)
    spent = {
        m: float((cost * np.expm1(close_gap(m, need, a, cost, cap, 0.0, shortfall).delta)).sum())
        for m in METHODS
    }
    assert spent["cheapest"] <= spent["uniform"] * (1 + 1e-9)
    assert spent["cheapest"] <= spent["balanced"] * (1 + 1e-9)
    assert spent["uniform"] > 0


def test_a_gap_the_caps_cannot_close_is_reported_not_closable() -> None:
    _, a, cost, cap, need = _closing_problem()
    tiny = np.minimum(cap, np.log(1.001))
    raises = close_gap("uniform", need, a, cost, tiny, 0.0, np.zeros(a.size))
    assert not raises.closable
    assert np.allclose(raises.delta[(a > 0) & (tiny > 0)], tiny[(a > 0) & (tiny > 0)])


def test_cost_to_close_rows_respect_the_rules() -> None:
    frame = regression_fixture(seed=5, n=200).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("variable"), pl.lit("S09").alias("function_level")
    )
    rows = cost_to_close(frame, ZEELAND, Z, payroll_by_year=[1e7, 1.01e7, 1.02e7])
    priced = rows.filter(pl.col("method").is_not_null())
    assert set(priced["method"]) == set(METHODS)
    assert set(priced["status"]) == {"closable"}
    settings = pay_gap_settings(ZEELAND)
    women_at_max = int((frame["at_scale_maximum"] & (frame["gender"] == "F")).sum())
    for row in priced.iter_rows(named=True):
        assert row["underpaid"] == "F"
        assert abs(row["unexplained_gap"]) >= settings.threshold
        assert row["gap_after"] == pytest.approx(settings.close_to_gap, abs=0.002)  # min raise may overshoot
        assert row["n_excluded_at_maximum"] >= women_at_max
        assert row["n_raised"] <= row["n_eligible"] == row["n_group"] - row["n_excluded_at_maximum"]
        assert row["mean_raise_pct"] <= settings.max_raise_pct + 1e-9
        assert row["mean_raise_pct"] >= settings.min_raise_pct - 1e-9
        assert row["cost_employer"] == pytest.approx(row["cost"] * cost_rules(ZEELAND).oncost)
        assert row["share_of_budget"] == pytest.approx(row["cost_employer"] / row["incidental_budget"])
        assert row["cost_over_projection"] == pytest.approx(3 * row["cost_employer"])
    cost = dict(priced.select("method", "cost").iter_rows())
    assert cost["cheapest"] <= cost["uniform"]
    # below the threshold: no price, and too few women or men: no regression at all
    fair = frame.with_columns(
        pl.when(pl.col("gender") == "F").then(pl.col("annual_salary") / 0.94).otherwise("annual_salary")
    )
    assert cost_to_close(fair, ZEELAND, Z)["status"].to_list() == ["below_threshold"]
    few = pl.concat([frame.filter(pl.col("gender") == "M"), frame.filter(pl.col("gender") == "F").head(3)])
    assert cost_to_close(few, ZEELAND, Z)["status"].to_list() == ["too_small"]


# ---------------------------------------------------------------------------------------------- projection
def test_equal_percentages_keep_the_gap_and_fixed_amounts_narrow_it() -> None:
    women = [40_000.0 + 500 * i for i in range(12)]
    men = [50_000.0 + 500 * i for i in range(12)]
    persons = persons_of(*inputs(women, men))
    scales = inputs(women, men)[3]
    amounts = RuleChange("amounts", Z, {"nl": "bedrag", "en": "amount"}, raise_amounts={"normaal": 1350.0})
    frame = project_organisation(persons, scales, ZEELAND, Z, [amounts]).frame
    basic = frame.filter((pl.col("component") == "basic") & (pl.col("measure") == "mean_gap")).sort("horizon")
    rules = basic.filter(pl.col("scenario") == RULES_SCENARIO)
    scenario = basic.filter(pl.col("scenario") == "scenario:amounts")
    gap0 = (np.mean(men) - np.mean(women)) / np.mean(men)
    # everyone "normaal" (3%, Z-2), no cap: every year multiplies all pay by 1.03 and the ratio stays
    assert rules["gap_p50"].to_list() == pytest.approx([gap0] * rules.height, rel=1e-12)
    assert rules["gap_p5"].to_list() == pytest.approx(rules["gap_p95"].to_list(), rel=1e-12)
    # 1,350 a year for everyone: (m - w) / (m + 1350 h), with h raises in the salary of year h
    expected = [(np.mean(men) - np.mean(women)) / (np.mean(men) + 1350 * h) for h in range(scenario.height)]
    assert scenario["gap_p50"].to_list() == pytest.approx(expected, rel=1e-12)
    assert scenario.filter(pl.col("horizon") == 0)["gap_p50"].item() == pytest.approx(gap0)


def test_the_scale_maximum_stops_raises() -> None:
    women = [40_000.0] * 10
    men = [50_000.0] * 10
    evaluations, awards, payroll, scales = inputs(women, men)
    scales = scales.with_columns(pl.lit(51_000.0).alias("annual_amount"))  # men reach the maximum in year 2
    frame = project_organisation(persons_of(evaluations, awards, payroll, scales), scales, ZEELAND, Z).frame
    basic = frame.filter((pl.col("component") == "basic") & (pl.col("measure") == "mean_gap")).sort("horizon")
    gaps = basic["gap_p50"].to_list()
    assert gaps[1] == pytest.approx(1 - 41_200 / 51_000)  # men capped at 51,000 (Z-3), women +3%
    assert gaps[2] == pytest.approx(1 - 40_000 * 1.03**2 / 51_000)
    assert all(later < earlier for earlier, later in itertools.pairwise(gaps[1:]))


def test_exits_are_replaced_by_newcomers_paid_as_the_categorys_newcomers() -> None:
    """2023 → 2024: half the men left and newcomers at 30,000 took their places (women all stayed). The
    projection repeats that every year: a man's slot changes hands with probability 1/2 and goes to a newcomer
    paid 30,000; women keep their slots. Year 1 in expectation: women 40,000 × 1.03; men (after everyone's 3%)
    half newcomers at 30,000, half the mix of 2024 (51,500 and 30,900), so the gap turns against men."""
    women, men = [40_000.0] * 10, [50_000.0] * 10
    ev23, awards, pay23, scales = inputs(women, men, (2023,))
    ev24, _, pay24, _ = inputs(women, [50_000.0] * 5 + [30_000.0] * 5, (2024,))
    leavers = [f"p{i:03d}" for i in range(15, 20)]
    renamed = (
        pl.when(pl.col("employee_id").is_in(leavers))
        .then("n" + pl.col("employee_id"))
        .otherwise("employee_id")
    )
    ev24, pay24 = (f.with_columns(renamed.alias("employee_id")) for f in (ev24, pay24))
    evaluations, payroll = pl.concat([ev23, ev24]), pl.concat([pay23, pay24])
    frame = project_organisation(persons_of(evaluations, awards, payroll, scales), scales, ZEELAND, Z).frame
    basic = frame.filter((pl.col("component") == "basic") & (pl.col("measure") == "mean_gap")).sort("horizon")
    gaps = basic["gap_p50"].to_list()
    assert gaps[0] == pytest.approx(0.0, abs=1e-12)  # 2024: men's mean is 40,000 too
    men_year1 = 0.5 * 30_000 + 0.5 * (51_500 + 30_900) / 2
    assert gaps[1] == pytest.approx((men_year1 - 41_200) / men_year1, abs=0.03)
    assert all(g < -0.1 for g in gaps[1:])
    # without exits (the same people in both cycles) nothing changes hands: the equal-percentage test's case
    still = project_organisation(
        persons_of(*inputs(women, men)[:3], scales), scales, ZEELAND, Z
    ).frame.filter((pl.col("component") == "basic") & (pl.col("measure") == "mean_gap"))
    assert still["gap_p50"].to_list() == pytest.approx([0.2] * still.height)


def test_the_projection_is_reproducible_and_its_engine_agrees_with_year_0() -> None:
    rng = np.random.default_rng(2)
    women, men = list(rng.uniform(35_000, 60_000, 30)), list(rng.uniform(35_000, 62_000, 30))
    evaluations, awards, payroll, scales = inputs(women, men)
    ratings = rng.choice(["matig", "normaal", "zeer_goed", "uitstekend"], evaluations.height)
    evaluations = evaluations.with_columns(pl.Series("rating", ratings))
    persons = persons_of(evaluations, awards, payroll, scales)
    one = project_organisation(persons, scales, ZEELAND, Z).frame
    two = project_organisation(persons, scales, ZEELAND, Z).frame
    assert one.equals(two)
    drawn = one.filter((pl.col("horizon") > 0) & (pl.col("component") == "total"))
    assert (drawn["gap_p5"] < drawn["gap_p95"]).all()  # ratings were drawn: the draws spread
    # the numpy engine of years 1..H gives the published year-0 figure on the base cycle's pay
    base = base_frame(persons, 2024, "function_level")
    arrays = _base_arrays(base, scales, cost_rules(ZEELAND), "function_level")
    published = year0_figures(base, ZEELAND, Z, "function_level")
    pay, variable = base["pay"].to_numpy(), base["variable"].fill_null(0.0).to_numpy()
    for component, values in (("basic", pay), ("variable", variable), ("total", pay + variable)):
        gaps = category_gaps(values[None, :], arrays, component == "variable")
        for measure in ("mean_gap", "median_gap"):
            row = published.filter((pl.col("component") == component) & (pl.col("measure") == measure))
            if row["gap"].item() is None:
                assert np.isnan(gaps[measure][0, 0])
            else:
                assert gaps[measure][0, 0] == pytest.approx(row["gap"].item(), rel=1e-12)


def test_rule_changes_are_checked_and_the_example_files_fit_their_policies() -> None:
    changes = load_rule_changes(PROJECT_ROOT / "scenarios")
    assert {c.organization for c in changes} == {Z, "vo-demo"}
    codes = {Z: cost_rules(ZEELAND).outcome_codes, "vo-demo": cost_rules(PLOEG).outcome_codes}
    for change in changes:
        assert change.raise_amounts and set(change.raise_amounts) <= set(codes[change.organization])
    women, men = [40_000.0] * 6, [41_000.0] * 6
    evaluations, awards, payroll, scales = inputs(women, men)
    bad = RuleChange("bad", Z, {"nl": "x"}, raise_amounts={"fantastisch": 10.0})
    with pytest.raises(ConfigError, match="unknown outcomes"):
        project_organisation(persons_of(evaluations, awards, payroll, scales), scales, ZEELAND, Z, [bad])


# ----------------------------------------------------------------------------------------- the sample run
def test_year_0_is_the_published_article_9_figure(sample_run) -> None:
    assert sample_run.success
    projection = sample_run.query(
        "SELECT organization, base_cycle AS cycle, category, component, measure, n_women, n_men, gap_p50, "
        "gap_p5, gap_p95 FROM marts.pay_gap_projection WHERE horizon = 0 AND scenario = 'rules'"
    )
    published = sample_run.query(
        "SELECT organization, cycle, category, component, measure, n_women, n_men, gap "
        "FROM marts.pay_transparency WHERE item = 'g' AND basis = 'annual' AND category_type = 'function_level'"
    )
    assert projection.height > 0
    joined = projection.join(
        published, on=["organization", "cycle", "category", "component", "measure"], how="left"
    )
    assert joined.height == projection.height
    assert joined["n_women"].to_list() == joined["n_women_right"].to_list()
    assert joined["n_men"].to_list() == joined["n_men_right"].to_list()
    for ours, theirs in zip(joined["gap_p50"].to_list(), joined["gap"].to_list(), strict=True):
        assert ours == theirs  # exactly, not approximately: year 0 is the published figure
    assert joined["gap_p5"].to_list() == joined["gap_p50"].to_list() == joined["gap_p95"].to_list()


def test_the_scenario_files_change_the_projection(sample_run) -> None:
    frame = sample_run.query(
        "SELECT organization, scenario, horizon, category, gap_p50 FROM marts.pay_gap_projection "
        "WHERE component = 'basic' AND measure = 'mean_gap'"
    )
    assert {"scenario:zeeland_vaste_bedragen", "scenario:vo_vaste_bedragen"} <= set(frame["scenario"])
    wide = frame.filter(pl.col("scenario") == "rules").join(
        frame.filter(pl.col("scenario").str.starts_with("scenario:")),
        on=["organization", "horizon", "category"],
        suffix="_scenario",
    )
    same_start = wide.filter(pl.col("horizon") == 0)
    assert (same_start["gap_p50"] == same_start["gap_p50_scenario"]).all()
    later = wide.filter((pl.col("horizon") >= 2) & pl.col("gap_p50").is_not_null())
    assert later.height and (later["gap_p50"] - later["gap_p50_scenario"]).abs().max() > 1e-4  # type: ignore[operator]


def test_the_published_pay_gap_tables_are_protected(sample_run) -> None:
    import duckdb

    from models.policy import policy_for
    from models.privacy import Thresholds, publish_tables
    from pipelines.assets.publish import read_sources

    con = duckdb.connect(str(sample_run.settings.database), read_only=True)
    try:
        sources = read_sources(con, include_worklist=False)
    finally:
        con.close()
    limits = {
        org: Thresholds.from_policy(policy_for(sample_run.settings, org))
        for org in sample_run.settings.organizations
    }
    published = publish_tables(sources, limits, include_worklist=False)
    projection, cost = published.tables["pay_gap_projection"], published.tables["pay_gap_cost"]
    assert "pay_assessment" in published.tables
    art9 = published.tables["pay_transparency"].filter(
        (pl.col("item") == "g") & (pl.col("basis") == "annual") & pl.col("gap").is_not_null()
    )
    shown = projection.filter(pl.col("gap_p50").is_not_null())
    assert shown.height and projection.filter(pl.col("gap_p50").is_null()).height  # some shown, some hidden
    k_amounts = min(t.k_amounts for t in limits.values())
    assert (shown["n_women"] >= k_amounts).all() and (shown["n_men"] >= k_amounts).all()
    visible = set(art9.select("organization", "cycle", "category", "component", "measure").iter_rows())
    for row in shown.select("organization", "cycle", "category", "component", "measure").unique().iter_rows():
        assert row in visible  # never a projection of a gap the Art. 9 table hides
    assert "max_raise" not in cost.columns and "payroll_p50" not in projection.columns
    money = cost.filter(pl.col("cost_employer").is_not_null())
    assert (money["n_raised"] >= k_amounts).all()
    fits = cost.filter(pl.col("unexplained_gap").is_not_null())
    assert (fits["n_women"] >= k_amounts).all() and (fits["n_men"] >= k_amounts).all()


# ------------------------------------------------------------------------------------------- Art. 10 data
def test_assessment_rows_cover_items_a_to_g_with_the_six_month_deadline() -> None:
    raw = {
        "organization": Z,
        "assessments": [
            {
                "cycle": 2024,
                "categories": ["S05"],
                "status": "in_progress",
                "report_date": dt.date(2025, 8, 31),
                "items": {"a": {"status": "done", "note": "shares"}},
                "second_measurement": {"due": "2026-12-31", "gap": 0.031},
            }
        ],
    }
    rows = assessment_rows(raw, "test")
    assert rows["item"].to_list() == list(ITEMS)
    assert rows.filter(pl.col("item") == "a")["item_status"].item() == "done"
    assert set(rows.filter(pl.col("item") != "a")["item_status"]) == {"todo"}
    assert rows["justification_deadline"][0] == dt.date(2026, 2, 28) == add_months(dt.date(2025, 8, 31), 6)
    assert rows["second_measurement_gap"][0] == pytest.approx(0.031)
    for broken, message in (
        ({"status": "maybe"}, "status must be one of"),
        ({"items": {"h": {}}}, "unknown items"),
        ({"report_date": "31-08-2025"}, "is not a date"),
    ):
        entry = {**raw["assessments"][0], **broken}  # type: ignore[dict-item]
        with pytest.raises(ConfigError, match=message):
            assessment_rows({"organization": Z, "assessments": [entry]}, "test")
    files = load_assessments(PROJECT_ROOT / "pay_assessments", [Z, "vo-demo"])
    assert set(files["organization"]) == {Z, "vo-demo"} and files.height == 2 * len(ITEMS)


# -------------------------------------------------------------------------------------------- Art. 7 letter
def letter_people(women: int, men: int) -> pl.DataFrame:
    evaluations, awards, payroll, _ = inputs(
        [40_000.0 + i for i in range(women)], [50_000.0 + i for i in range(men)], (2024,)
    )
    return people_frame(evaluations, awards, payroll, {Z: ZEELAND})


def test_the_letter_withholds_a_group_that_would_reveal_a_colleague() -> None:
    k = ZEELAND.min_group_size_amounts
    people = letter_people(women=k + 2, men=3)
    woman = letter_figures(people, ZEELAND, Z, "p000")
    assert woman.groups[0].sex == "F" and woman.groups[0].basic == pytest.approx(40_000 + (k + 1) / 2)
    assert (
        woman.groups[1].withheld and woman.groups[1].total is None
    )  # 3 men: their average is a colleague's pay
    man = letter_figures(people, ZEELAND, Z, f"p{k + 2:03d}")
    assert man.groups[1].withheld and not man.groups[0].withheld
    assert man.own_basic == 50_000.0
    # the boundary: exactly k others is enough, k - 1 is not (the employee does not count for their own sex)
    assert not letter_figures(letter_people(k + 1, k), ZEELAND, Z, "p000").groups[0].withheld
    assert letter_figures(letter_people(k, k), ZEELAND, Z, "p000").groups[0].withheld
    assert not letter_figures(letter_people(k, k), ZEELAND, Z, "p000").groups[1].withheld


def test_the_letter_command_writes_an_owner_only_letter(sample_run, tmp_path: Path) -> None:
    from models.pseudonym import load_key, pseudonymise_value
    from pipelines.cli import main

    payroll = pl.read_csv(
        sample_run.settings.inbox / "zeeland_salarisadministratie_2024.csv", separator=";", infer_schema=False
    )
    key = load_key()
    raw = payroll["Medewerkernr"].to_list()
    pseudonyms = {pseudonymise_value(key, Z, r): r for r in raw}
    levels = sample_run.query(
        "SELECT e.employee_id, e.function_level, e.gender, count(*) OVER (PARTITION BY e.function_level, e.gender) AS n "
        "FROM staging.evaluations e JOIN staging.payroll p USING (organization, cycle, employee_id) "
        "WHERE e.organization = 'zeeland-demo' AND e.cycle = 2024 AND e.gender IN ('F', 'M')"
    ).filter(pl.col("employee_id").is_in(list(pseudonyms)))
    counts = levels.group_by("function_level", "gender").agg(pl.len().alias("n"))
    k = ZEELAND.min_group_size_amounts
    small_levels = set(counts.filter(pl.col("n") < k)["function_level"])
    small = levels.filter(pl.col("function_level").is_in(small_levels)).row(0, named=True)
    args = ["letter", "--config", str(PROJECT_ROOT / "calibra.yaml"), "--home", str(sample_run.settings.home)]
    out = tmp_path / "letters" / "a.txt"
    assert (
        main(
            [
                *args,
                "--org",
                Z,
                "--employee",
                pseudonyms[small["employee_id"]],
                "--lang",
                "en",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    letter = out.read_text(encoding="utf-8")
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert f"Your category (function level): {small['function_level']}" in letter
    assert "not given: besides you there are fewer than" in letter
    assert small["employee_id"] not in letter and pseudonyms[small["employee_id"]] not in letter
    out.write_text("old")
    out.chmod(0o644)
    assert main([*args, "--org", Z, "--employee", pseudonyms[small["employee_id"]], "--out", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600 and "Informatie over uw loon" in out.read_text()
    assert main([*args, "--org", Z, "--employee", "NOBODY-HERE", "--out", str(out)]) == 2
