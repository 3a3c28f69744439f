"""Calibration marts (issue 3): models.calibration and the Dagster multi-asset in pipelines/assets/marts/calibration.py.

Every statistic is checked against an independent reference: scipy (permutation_test, multivariate_hypergeom,
chi2_contingency, entropy, norm), statsmodels (OLS with fixed effects, multipletests) or the row-level
functions of models.stats that the vectorised code must reproduce; plus brute-force enumeration. The
scales come from policies: the two shipped ones and a hand-made 4-point policy written to tmp_path.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats as sps
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.multitest import multipletests

from models import stats as ms
from models.calibration import (
    MART_SCHEMAS,
    CalibrationSettings,
    McBudget,
    calibration_marts,
    calibration_worklist,
    evaluator_leniency,
    exact_distribution,
    family_tests,
    measures,
    prepare,
    rating_distribution,
    rating_drift,
    rating_transitions,
    unit_deviation,
)
from models.calibration.deviation import indirect_standardisation_by_cycle
from models.calibration.leniency import components, evaluator_contrasts, shrink
from models.config import PROJECT_ROOT
from models.policy import Policy, load_policy

ZEELAND = "zeeland-demo"
VO = "vo-demo"
FOUR_POINT_YAML = """
id: vier_punt
version: 1
name: {nl: Vierpuntsschaal (test), en: Four-point scale (test)}
rating_scale:
  rule: T-1
  values:
    - {code: onder, score: 1, label: {nl: Onder de maat, en: Below par}}
    - {code: net, score: 2, label: {nl: Net, en: Just}}
    - {code: goed, score: 3, label: {nl: Goed, en: Good}}
    - {code: top, score: 4, label: {nl: Top, en: Top}}
  lowest_outcome: [onder]
  guideline: {onder: 0.05, net: 0.25, goed: 0.5, top: 0.2}
argumentation: {rule: T-2, required_for_ratings: [top]}
disclosure: {min_group_size: 3}
metrics: {min_n_flag: 4, practical_effect: 0.4, fdr: 0.1}
calibration:
  rule: T-3
  leniency_window_cycles: {value: 2, rule: T-3}
  case_outlier_sd: {value: 2.0, rule: T-3}
  sharp_change_points: {value: 3, rule: T-3}
"""


@pytest.fixture(scope="module")
def zeeland() -> Policy:
    return load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")


@pytest.fixture(scope="module")
def ploeg() -> Policy:
    return load_policy(PROJECT_ROOT / "policies" / "ploeg.yaml")


@pytest.fixture
def four_point(tmp_path: Path) -> Policy:
    path = tmp_path / "vier_punt.yaml"
    path.write_text(FOUR_POINT_YAML, encoding="utf-8")
    return load_policy(path)


def evaluations(rows: list[dict[str, object]], organization: str = ZEELAND) -> pl.DataFrame:
    """Canonical staging.evaluations rows (only the columns the marts read), defaults filled in."""
    base = {
        "organization": organization,
        "cycle": 2024,
        "department": "D1",
        "function_level": "S08",
        "evaluator_id": "pe1",
        "second_evaluator_id": None,
        "rating": None,
        "salary_decision": None,
        "salary_system": None,
        "argument_competences": "+",
        "argument_results": "+",
    }
    schema = {
        "organization": pl.String,
        "cycle": pl.Int64,
        "employee_id": pl.String,
        "department": pl.String,
        "function_level": pl.String,
        "evaluator_id": pl.String,
        "second_evaluator_id": pl.String,
        "rating": pl.String,
        "salary_decision": pl.Int64,
        "salary_system": pl.String,
        "argument_competences": pl.String,
        "argument_results": pl.String,
    }
    filled = [base | {"employee_id": f"p{i:04d}"} | row for i, row in enumerate(rows)]
    return pl.DataFrame(filled, schema=schema)


def simulate(
    rng: np.random.Generator,
    codes: list[str],
    probs: list[float],
    *,
    cycles: int,
    employees: int,
    team: int = 12,
    departments: int = 4,
    levels: int = 3,
    level_shift: float = 0.5,
    lenient_team: int | None = None,
    lenient_shift: float = 0.0,
    dept_shift: float = 0.0,
    move_rate: float = 0.1,
    organization: str = ZEELAND,
) -> pl.DataFrame:
    """A latent-normal rating model: level effects (real, to be adjusted for), optional planted effects."""
    n_teams = employees // team
    team_of = np.arange(employees) % n_teams
    dept_of_team = np.arange(n_teams) % departments
    # departments get different level mixes, so unadjusted comparisons would mislead
    level = np.minimum(
        (rng.uniform(size=employees) + dept_of_team[team_of] / (2 * departments)) * levels, levels - 1
    )
    level = level.astype(np.int64)
    cuts = sps.norm.ppf(np.cumsum(probs)[:-1])
    frames = []
    for c in range(cycles):
        move = rng.uniform(size=employees) < move_rate
        team_of = np.where(move, rng.integers(0, n_teams, employees), team_of)
        z = rng.normal(size=employees) + level_shift * (level - (levels - 1) / 2)
        if lenient_team is not None:
            z = z + np.where(team_of == lenient_team, lenient_shift, 0.0)
        z = z + np.where(dept_of_team[team_of] == 0, dept_shift, 0.0)
        k = np.searchsorted(cuts, z)
        frames.append(
            pl.DataFrame(
                {
                    "organization": organization,
                    "cycle": 2000 + c,
                    "employee_id": pl.Series(np.arange(employees)).cast(pl.String).str.zfill(5),
                    "department": pl.Series(dept_of_team[team_of]).cast(pl.String),
                    "function_level": pl.Series(level).cast(pl.String),
                    "evaluator_id": "e" + pl.Series(team_of).cast(pl.String).str.zfill(3),
                    "second_evaluator_id": "s" + pl.Series(team_of // 3).cast(pl.String),
                    "rating": pl.Series(np.asarray(codes, dtype=object)[k].tolist(), dtype=pl.String),
                    "argument_competences": "+",
                    "argument_results": "+",
                }
            )
        )
    return pl.concat(frames).with_columns(pl.col("cycle").cast(pl.Int64))


ZEELAND_CODES = ["slecht", "matig", "normaal", "zeer_goed", "uitstekend"]
ZEELAND_PROBS = [0.03, 0.1, 0.55, 0.24, 0.08]


# ---------------------------------------------------------------------------------------------------------------
# Scales and settings come from the policy
# ---------------------------------------------------------------------------------------------------------------


def test_measures_and_settings_come_from_the_policies(
    ploeg: Policy, zeeland: Policy, four_point: Policy
) -> None:
    by_name = {m.name: m for m in measures(ploeg)}
    assert set(by_name) == {"rating", "salary_decision"}
    assert by_name["rating"].codes == tuple(ploeg.rating_codes)
    assert by_name["rating"].lowest == frozenset(ploeg.lowest_outcome)
    assert by_name["salary_decision"].codes == ("0", "1", "2")
    assert by_name["salary_decision"].scores == (0.0, 1.0, 2.0)  # the steps of F-9
    assert by_name["salary_decision"].system == "evaluatie"
    (zm,) = measures(zeeland)
    assert zm.guideline == zeeland.guideline and zm.top == "uitstekend"
    (fm,) = measures(four_point)
    assert fm.codes == ("onder", "net", "goed", "top") and fm.k == 4
    s = CalibrationSettings.from_policy(four_point)
    assert (s.min_n_flag, s.practical_effect, s.fdr, s.min_group_size) == (4, 0.4, 0.1, 3)
    assert (s.leniency_window_cycles, s.case_outlier_sd, s.sharp_change_points, s.rule) == (
        2,
        2.0,
        3.0,
        "T-3",
    )
    assert s.argumentation_required == frozenset({"top"}) and s.argumentation_rule == "T-2"
    assert CalibrationSettings.from_policy(ploeg).argumentation_required is None  # PLOEG: no Z-8 section
    for policy in (ploeg, zeeland):  # the shipped policies set every calibration value themselves
        assert policy.rule_value("calibration", "leniency_window_cycles") is not None
        assert policy.rule_value("calibration", "case_outlier_sd") is not None
        assert policy.rule_value("calibration", "sharp_change_points") is not None


# ---------------------------------------------------------------------------------------------------------------
# The vectorised unit-vs-rest tests
# ---------------------------------------------------------------------------------------------------------------


def test_exact_distribution_is_the_multivariate_hypergeometric_law() -> None:
    caps = np.array([3, 1, 7, 2])
    scores = np.array([1.0, 2.0, 4.0, 5.0])
    s = 5
    x2, t, prob = exact_distribution(s, caps, scores)
    assert prob.sum() == pytest.approx(1.0, abs=1e-12)
    rows = [v for v in itertools.product(*(range(c + 1) for c in caps)) if sum(v) == s]
    assert len(rows) == prob.size
    ref_p = {v: sps.multivariate_hypergeom.pmf(v, caps, s) for v in rows}
    # match enumeration rows by their (t, x2) signature: compare the two laws of T exactly
    by_t: dict[float, float] = {}
    for v, p in ref_p.items():
        by_t[round(float(np.dot(v, scores)), 9)] = by_t.get(round(float(np.dot(v, scores)), 9), 0.0) + p
    mine: dict[float, float] = {}
    for tv, p in zip(t, prob, strict=True):
        mine[round(float(tv), 9)] = mine.get(round(float(tv), 9), 0.0) + p
    assert mine.keys() == by_t.keys()
    for key, p in by_t.items():
        assert mine[key] == pytest.approx(p, abs=1e-12)
    # X² of each row equals scipy's Pearson statistic of the unit-vs-rest table
    ref_x2 = sorted(
        sps.chi2_contingency(np.vstack([v, caps - np.array(v)]), correction=False).statistic for v in rows
    )
    np.testing.assert_allclose(np.sort(x2), ref_x2, rtol=0, atol=1e-9)


def test_location_test_exact_matches_scipy_permutation_test() -> None:
    counts = np.array([[2, 1, 0, 1], [0, 1, 3, 0], [1, 0, 0, 2], [0, 1, 1, 1]])
    scores = np.array([1.0, 2.0, 4.0, 5.0])
    res = family_tests(counts, scores)
    total = counts.sum(axis=0)
    assert list(res.location_method) == ["exact"] * 4
    for i, row in enumerate(counts):
        x, y = np.repeat(scores, row), np.repeat(scores, total - row)
        ref = sps.permutation_test(
            (x, y),
            lambda a, b, axis: np.mean(a, axis=axis),
            permutation_type="independent",
            n_resamples=10**6,
        )
        assert res.location_pvalue[i] == pytest.approx(ref.pvalue, abs=1e-12)
        assert res.location_statistic[i] == pytest.approx(x.sum())


def test_distribution_test_matches_scipy_and_brute_force_enumeration() -> None:
    rng = np.random.default_rng(5)
    probs = [0.08, 0.22, 0.5, 0.2]
    sizes = [2, 4, 6, 8, 300, 300]  # small units: exact; the two large ones: asymptotic χ²
    counts = np.vstack([rng.multinomial(n, probs) for n in sizes])
    res = family_tests(counts, np.arange(1.0, 5.0))
    total = counts.sum(axis=0)
    assert list(res.distribution_method) == ["exact"] * 4 + ["chi2"] * 2
    for i, row in enumerate(counts):
        table = np.vstack([row, total - row])
        ref = sps.chi2_contingency(table, correction=False)
        assert res.distribution_statistic[i] == pytest.approx(ref.statistic, rel=1e-12)
        if res.distribution_method[i] == "chi2":
            assert res.distribution_pvalue[i] == pytest.approx(ref.pvalue, rel=1e-10)
            lib = ms.ordinal_distribution_test(row, total - row)
            assert lib.method == "chi2" and res.distribution_pvalue[i] == pytest.approx(lib.pvalue, rel=1e-12)
            continue
        # brute force: every unit row of this size, its hypergeometric probability and Pearson X² (scipy)
        s = int(row.sum())
        p = 0.0
        for head in itertools.product(range(s + 1), repeat=3):
            v = np.array([*head, s - sum(head)])
            if v[-1] < 0 or np.any(v > total):
                continue
            x2 = sps.chi2_contingency(np.vstack([v, total - v]), correction=False).statistic
            if x2 >= ref.statistic - 1e-9:
                p += sps.multivariate_hypergeom.pmf(v, total, s)
        assert res.distribution_pvalue[i] == pytest.approx(p, abs=1e-9)


def test_monte_carlo_branch_is_identical_to_models_stats_and_budget_falls_back() -> None:
    rng = np.random.default_rng(8)
    counts = np.vstack([rng.multinomial(n, [0.1, 0.2, 0.4, 0.2, 0.1]) for n in (6, 9, 14)])
    total = counts.sum(axis=0)
    res = family_tests(counts, None, exact_budget=0, n_mc=999)
    assert list(res.distribution_method) == ["monte_carlo"] * 3
    for i, row in enumerate(counts):
        ref = ms.ordinal_distribution_test(row, total - row, n_mc=999)
        assert ref.method == "monte_carlo"
        assert res.distribution_pvalue[i] == ref.pvalue  # same generator call and seed: identical
    # no Monte Carlo budget left: the asymptotic p-value is used and said so
    res2 = family_tests(counts, None, exact_budget=0, n_mc=999, budget=McBudget(tables=0))
    assert list(res2.distribution_method) == ["chi2_approx"] * 3
    np.testing.assert_allclose(res2.distribution_pvalue, sps.chi2.sf(res2.distribution_statistic, res2.dof))


def test_location_normal_branch_uses_the_exact_permutation_moments() -> None:
    rng = np.random.default_rng(9)
    counts = np.vstack([rng.multinomial(n, [0.1, 0.2, 0.4, 0.2, 0.1]) for n in (60, 80, 120, 200)])
    scores = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    res = family_tests(counts, scores)
    assert list(res.location_method) == ["normal"] * 4
    total = counts.sum(axis=0)
    for i, row in enumerate(counts):
        pop = np.repeat(scores, total)
        s = row.sum()
        mean, var = pop.mean(), pop.var()  # finite-population moments of a sample mean without replacement
        sd_total = math.sqrt(s * var * (pop.size - s) / (pop.size - 1))
        z = (np.dot(row, scores) - s * mean) / sd_total
        assert res.location_pvalue[i] == pytest.approx(2 * sps.norm.sf(abs(z)), rel=1e-9)
    # and the moments agree with the exact law for a size small enough to enumerate
    _, t, prob = exact_distribution(7, total, scores)
    e = np.sum(prob * t)
    assert e == pytest.approx(7 * np.repeat(scores, total).mean(), rel=1e-10)
    pop = np.repeat(scores, total)
    assert np.sum(prob * (t - e) ** 2) == pytest.approx(
        7 * pop.var() * (pop.size - 7) / (pop.size - 1), rel=1e-9
    )


def test_undefined_units_and_rare_outcomes() -> None:
    # whole family in one unit, empty unit, one category only: undefined, never a p-value of 0
    res = family_tests(np.array([[0, 3, 4]]), np.array([1.0, 2.0, 3.0]))
    assert res.location_method[0] == "undefined" and math.isnan(res.location_pvalue[0])
    res = family_tests(np.array([[0, 0, 5], [0, 0, 7]]), np.array([1.0, 2.0, 3.0]))
    assert list(res.location_method) == ["undefined", "undefined"]
    # one 'onvoldoende' among 12 in an organisation of 400 where it is rare: exact, and not significant
    counts = np.array([[0, 1, 11]] + [[0, 0, 12]] * 32 + [[0, 1, 3]])
    res = family_tests(counts, np.array([1.0, 2.0, 3.0]))
    assert res.location_method[0] == "exact"
    total = counts.sum(axis=0)
    # P(at least one of the 2 onvoldoende lands in a given team of 12 out of 400) doubled: hypergeometric
    p_low = 1 - sps.hypergeom.pmf(0, total.sum(), total[1], 12)
    assert res.location_pvalue[0] == pytest.approx(min(1.0, 2 * p_low), abs=1e-12)
    assert res.location_pvalue[0] > 0.05


# ---------------------------------------------------------------------------------------------------------------
# rating_distribution
# ---------------------------------------------------------------------------------------------------------------


def test_rating_distribution_counts_shares_guideline_and_null_ratings(zeeland: Policy) -> None:
    rows = [{"rating": "normaal"}] * 3 + [{"rating": "uitstekend"}, {"rating": None}]
    rows += [{"rating": "matig", "department": "D2", "evaluator_id": "pe2"}] * 2
    df = evaluations(rows)
    out = rating_distribution(df, {ZEELAND: zeeland})
    assert out.schema == pl.Schema(MART_SCHEMAS["rating_distribution"])
    # every unit lists all five categories and its shares sum to 1; the null rating is counted nowhere
    per_unit = out.group_by("grouping", "unit").agg(pl.len(), pl.col("share").sum(), pl.col("n").first())
    assert per_unit["len"].unique().to_list() == [5]
    np.testing.assert_allclose(per_unit["share"].to_numpy(), 1.0)
    org = out.filter(pl.col("grouping") == "organization")
    assert org["n"].unique().to_list() == [6]
    assert dict(zip(org["rating"], org["count"], strict=True)) == {
        "slecht": 0,
        "matig": 2,
        "normaal": 3,
        "zeer_goed": 0,
        "uitstekend": 1,
    }
    assert dict(zip(org["rating"], org["guideline_share"], strict=True)) == zeeland.guideline
    d1 = out.filter((pl.col("grouping") == "department") & (pl.col("unit") == "D1"))
    assert d1["n"].unique().to_list() == [4] and d1["small_group"].all()  # n < disclosure.min_group_size
    np.testing.assert_allclose(d1["org_share"].to_numpy(), org["share"].to_numpy())
    cross = out.filter(pl.col("grouping") == "department_function_level")["unit"].unique().sort().to_list()
    assert cross == ["D1 × S08", "D2 × S08"]
    assert out.filter(pl.col("grouping") == "evaluator")["unit"].unique().sort().to_list() == ["pe1", "pe2"]


def test_ploeg_salary_decision_only_in_the_evaluation_based_system(ploeg: Policy) -> None:
    rows = [{"rating": "voldoende", "salary_decision": d, "salary_system": "evaluatie"} for d in (0, 1, 1, 2)]
    rows += [{"rating": "voldoende", "salary_decision": None, "salary_system": "anciennitet"}]
    rows += [
        {"rating": "onvoldoende", "salary_decision": 1, "salary_system": "anciennitet"}
    ]  # not in F-9's system
    out = rating_distribution(evaluations(rows, VO), {VO: ploeg})
    org = out.filter(pl.col("grouping") == "organization")
    dec = org.filter(pl.col("measure") == "salary_decision")
    assert dec["rating"].to_list() == ["0", "1", "2"] and dec["count"].to_list() == [1, 2, 1]
    assert dec["label_en"].to_list()[2].startswith("Step 2")
    rat = org.filter(pl.col("measure") == "rating")
    assert rat["rating"].to_list() == ploeg.rating_codes
    assert rat["count"].to_list() == [0, 1, 5]
    assert rat["guideline_share"].is_null().all()  # PLOEG sets no target distribution


def test_any_scale_a_policy_defines_works_end_to_end(four_point: Policy) -> None:
    rng = np.random.default_rng(4)
    df = simulate(
        rng,
        ["onder", "net", "goed", "top"],
        [0.05, 0.25, 0.5, 0.2],
        cycles=3,
        employees=96,
        organization="vier",
    )
    df = df.with_columns(
        pl.when((pl.col("employee_id") == "00007") & (pl.col("cycle") == 2002))
        .then(None)
        .otherwise(pl.col("argument_results"))
        .alias("argument_results")
    )
    marts = calibration_marts(df, {"vier": four_point})
    for name, frame in marts.items():
        assert frame.schema == pl.Schema(MART_SCHEMAS[name]), name
        assert frame.height > 0 or name == "calibration_worklist", name
    dist = marts["rating_distribution"]
    assert set(dist["rating"]) == {"onder", "net", "goed", "top"}
    trans = marts["rating_transitions"]
    assert trans.height == 2 * 16  # two consecutive pairs × 4 × 4
    dev = marts["unit_deviation"]
    assert (dev.filter(pl.col("n") < 4)["status"] == "too_small").all()  # this policy's min_n_flag = 4
    assert dev.filter(pl.col("n") >= 4)["status"].ne("too_small").all()
    work = marts["calibration_worklist"]
    arg = work.filter(pl.col("reason_code") == "missing_argumentation")
    expected = df.filter((pl.col("rating") == "top") & pl.col("argument_results").is_null())
    assert arg.height == expected.height
    assert set(arg["rating"]) <= {"top"} and set(arg["rule"]) <= {"T-2"}
    assert set(work.filter(pl.col("reason_code") == "lowest_outcome")["rating"]) <= {"onder"}
    sharp = work.filter(pl.col("reason_code") == "sharp_change")  # policy: at least 3 points
    assert sharp.height == 0 or set(zip(sharp["previous_rating"], sharp["rating"], strict=True)) <= {
        ("onder", "top"),
        ("top", "onder"),
    }


# ---------------------------------------------------------------------------------------------------------------
# unit_deviation
# ---------------------------------------------------------------------------------------------------------------


def test_indirect_standardisation_by_cycle_reproduces_models_stats() -> None:
    rng = np.random.default_rng(11)
    n = 600
    cycle = rng.integers(0, 3, n)
    unit = rng.integers(0, 25, n)
    stratum = rng.integers(0, 4, n)
    score = rng.integers(1, 6, n).astype(float)
    mine = indirect_standardisation_by_cycle(cycle, unit, stratum, score, 3, 25, 4)
    for c in range(3):
        sel = cycle == c
        ref = ms.indirect_standardisation(unit[sel], stratum[sel], score[sel])
        u = ref["unit"].to_numpy()
        np.testing.assert_allclose(mine["n"][c, u], ref["n"].to_numpy())
        np.testing.assert_allclose(mine["observed"][c, u], ref["observed"].to_numpy(), atol=1e-12)
        np.testing.assert_allclose(mine["expected"][c, u], ref["expected"].to_numpy(), atol=1e-12)
        np.testing.assert_allclose(mine["z"][c, u], ref["z"].to_numpy(), atol=1e-9)


def test_unit_deviation_statistics_match_references(zeeland: Policy) -> None:
    rng = np.random.default_rng(12)
    df = simulate(rng, ZEELAND_CODES, ZEELAND_PROBS, cycles=1, employees=240, dept_shift=0.8)
    out = unit_deviation(df, {ZEELAND: zeeland})
    assert out.schema == pl.Schema(MART_SCHEMAS["unit_deviation"])
    settings = CalibrationSettings.from_policy(zeeland)
    scores = np.arange(1.0, 6.0)
    for grouping, column in (
        ("department", "department"),
        ("evaluator", "evaluator_id"),
        ("function_level", "function_level"),
    ):
        fam = out.filter(pl.col("grouping") == grouping).sort("unit")
        counts = (
            df.group_by(column, "rating")
            .len()
            .pivot("rating", index=column, values="len")
            .fill_null(0)
            .sort(column)
            .select(ZEELAND_CODES)
            .to_numpy()
        )
        total = counts.sum(axis=0)
        # effect sizes and differentiation against models.stats / scipy
        np.testing.assert_allclose(
            fam["cliffs_delta"].to_numpy(), ms.cliffs_delta(counts, total - counts), atol=1e-12
        )
        entropy = sps.entropy(counts, axis=1) / math.log(5)
        np.testing.assert_allclose(fam["differentiation"].to_numpy(), entropy, atol=1e-12)
        np.testing.assert_allclose(
            fam["mean_score"].to_numpy(), counts @ scores / counts.sum(axis=1), atol=1e-12
        )
        # q-values: Benjamini–Hochberg (statsmodels) over the units with n >= min_n_flag only
        eligible = fam["n"].to_numpy() >= settings.min_n_flag
        p = fam["p_value"].to_numpy()
        ref_q = multipletests(p[eligible], method="fdr_bh")[1]
        np.testing.assert_allclose(fam["q_value"].to_numpy()[eligible], ref_q, atol=1e-12)
        assert fam.filter(pl.col("n") < settings.min_n_flag)["q_value"].is_null().all()  # not in BH's m
        # the adjusted z against models.stats, and its p-value from the normal law
        adjust = grouping != "function_level"
        stratum = df["function_level"] if adjust else pl.Series(np.zeros(df.height))
        ref = ms.indirect_standardisation(
            df[column],
            stratum,
            df["rating"].replace_strict(
                dict(zip(ZEELAND_CODES, scores, strict=True)), return_dtype=pl.Float64
            ),
        )
        np.testing.assert_allclose(fam["z_adjusted"].to_numpy(), ref["z"].to_numpy(), atol=1e-9)
        np.testing.assert_allclose(fam["p_adjusted"].to_numpy(), 2 * sps.norm.sf(np.abs(ref["z"].to_numpy())))
        # funnel limits around the organisation's mean, for the unit's n (models.stats.funnel_limits)
        lim = ms.funnel_limits(fam["org_mean"].to_numpy(), fam["funnel_sd"].to_numpy(), fam["n"].to_numpy())
        np.testing.assert_allclose(fam["funnel_lo_998"].to_numpy(), lim[0.998][0], atol=1e-12)
        np.testing.assert_allclose(fam["funnel_hi_95"].to_numpy(), lim[0.95][1], atol=1e-12)
        outside = (fam["adjusted_mean"] > fam["funnel_hi_998"]) | (
            fam["adjusted_mean"] < fam["funnel_lo_998"]
        )
        assert ((fam["funnel_position"] == "outside_998") == outside).all()
    # the flag rule: significant (both tests), same direction, practically large, n >= min_n
    flagged = out.filter(pl.col("flag") & pl.col("grouping").is_in(["department", "evaluator"]))
    assert flagged.height > 0  # department 0 is shifted by +0.8 SD
    assert (flagged["q_value"] <= settings.fdr).all() and (flagged["q_adjusted"] <= settings.fdr).all()
    assert (flagged["effect_size"].abs() >= settings.practical_effect).all()
    assert (flagged["n"] >= settings.min_n_flag).all()
    assert flagged.filter(pl.col("grouping") == "department")["unit"].to_list() == ["0"]
    assert flagged["direction"].to_list() == ["higher"] * flagged.height
    assert flagged["reason_en"].str.starts_with("Higher than the organisation's norm").all()
    assert flagged["reason_nl"].str.starts_with("Hoger dan de norm").all()
    assert out.filter(~pl.col("flag"))["direction"].is_null().all()
    assert out["reason_nl"].is_not_null().all() and out["reason_en"].is_not_null().all()


def test_composition_is_not_a_flag(zeeland: Policy) -> None:
    # level S12 rates higher everywhere; department A has mostly S12 staff; no department effect at all
    rows = []
    for dept, n_high, n_low in (("A", 30, 5), ("B", 5, 30), ("C", 17, 18)):
        rows += [
            {"department": dept, "function_level": "S12", "rating": r, "evaluator_id": f"pe{dept}"}
            for r in ["zeer_goed"] * (n_high // 2) + ["uitstekend"] * (n_high - n_high // 2)
        ]
        rows += [
            {"department": dept, "function_level": "S04", "rating": r, "evaluator_id": f"pe{dept}"}
            for r in ["matig"] * (n_low // 2) + ["normaal"] * (n_low - n_low // 2)
        ]
    out = unit_deviation(evaluations(rows), {ZEELAND: zeeland})
    dept = out.filter(pl.col("grouping") == "department").sort("unit")
    # unadjusted, A is far above the norm; adjusted for function level, nothing is left
    assert dept["q_value"][0] < 1e-3
    np.testing.assert_allclose(dept["o_minus_e"].to_numpy(), 0.0, atol=0.1)
    assert not dept["flag"].any()
    assert dept["status"][0] == "explained_by_function_level"
    level = out.filter(pl.col("grouping") == "function_level")
    assert level["adjusted_for"].unique().to_list() == ["none"]  # a level is compared with the organisation
    assert level["flag"].all()  # ... and the two levels really do differ


def test_null_simulation_flags_within_the_nominal_false_discovery_rate(zeeland: Policy) -> None:
    # No planted effect on departments, evaluators or department × level cells; function levels do differ
    # (and departments differ in level mix), which the adjustment must absorb. Under this null every flag in
    # those groupings is a false discovery, so FDR = P(a family has any flag). 60 cycles = 180 families.
    rng = np.random.default_rng(20240601)
    df = simulate(rng, ZEELAND_CODES, ZEELAND_PROBS, cycles=60, employees=240, move_rate=1.0)
    out = unit_deviation(df, {ZEELAND: zeeland})
    fdr = CalibrationSettings.from_policy(zeeland).fdr
    null = out.filter(pl.col("grouping") != "function_level")
    fam = null.group_by("cycle", "grouping").agg(pl.col("flag").any().alias("any"))
    assert fam.height == 60 * 3
    slack = 3 * math.sqrt(fdr * (1 - fdr) / fam.height)
    assert fam["any"].mean() <= fdr + slack
    # the unadjusted test does see the level mix of department × level cells (not a flag: explained)
    cells = null.filter(pl.col("grouping") == "department_function_level")
    assert (cells["status"] == "explained_by_function_level").sum() > 0
    # the exact test is calibrated (discrete, so somewhat conservative), the bound is not met by being vacuous
    teams = null.filter((pl.col("grouping") == "evaluator") & (pl.col("status") != "too_small"))
    assert 0.015 <= (teams["p_value"] < 0.05).mean() <= 0.07
    # the real level effect is found (function levels are compared without adjustment)
    assert out.filter((pl.col("grouping") == "function_level") & pl.col("flag")).height > 0
    # evaluator_leniency under the same null: lenient / severe no more often than the nominal rate
    len_ = evaluator_leniency(df.filter(pl.col("cycle") < 2020), {ZEELAND: zeeland})
    tested = len_.filter(pl.col("assessment").is_in(["lenient", "severe", "none", "not_linked"]))
    assert tested.height > 300
    assert tested["flag"].mean() <= fdr
    # power: the same organisation with one lenient team and one high-rating department is found
    df = simulate(
        np.random.default_rng(3),
        ZEELAND_CODES,
        ZEELAND_PROBS,
        cycles=3,
        employees=240,
        lenient_team=5,
        lenient_shift=1.3,
        dept_shift=0.7,
    )
    out = unit_deviation(df, {ZEELAND: zeeland})
    hits = out.filter(pl.col("flag"))
    teams = set(hits.filter(pl.col("grouping") == "evaluator")["unit"])
    assert "e005" in teams
    # any other team flagged belongs to the high-rating department 0 (teams 0, 4, 8, …): they do rate high
    assert all(int(t[1:]) % 4 == 0 for t in teams - {"e005"})
    assert "0" in hits.filter(pl.col("grouping") == "department")["unit"].to_list()


# ---------------------------------------------------------------------------------------------------------------
# evaluator_leniency
# ---------------------------------------------------------------------------------------------------------------


def test_evaluator_contrast_is_the_ols_coefficient_with_department_fixed_effects() -> None:
    rng = np.random.default_rng(21)
    n = 300
    dept = rng.integers(0, 4, n)
    evaluator = dept * 3 + rng.integers(0, 3, n)  # three evaluators per department ...
    evaluator[:20] = 0  # ... and evaluator 0 also rates in other departments
    resid = rng.normal(size=n) + 0.3 * (evaluator == 4)
    eff = evaluator_contrasts(resid, evaluator, dept, 12)
    design_fe = np.eye(4)[dept]
    groups = np.eye(4)[dept] * 1.0
    for e in range(12):
        x = np.column_stack([design_fe, (evaluator == e).astype(float)])
        fit = OLS(resid, x).fit()
        assert eff["raw_effect"][e] == pytest.approx(fit.params[-1], abs=1e-9)
        # se = sigma_within / sqrt(Σw): the OLS (X'X)^-1 element for the indicator, scaled by sigma
        assert eff["se"][e] / eff["sigma"] == pytest.approx(
            math.sqrt(fit.normalized_cov_params[-1, -1]), rel=1e-9
        )
    within = OLS(resid, groups).fit()
    assert eff["sigma"] == pytest.approx(math.sqrt(within.ssr / within.df_resid), rel=1e-12)
    # an evaluator alone in a department has nothing to be compared with
    lone = evaluator_contrasts(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]), np.array([0, 0, 1]), 2)
    assert np.isnan(lone["raw_effect"]).all() and lone["n_compared"].tolist() == [0.0, 0.0]


def test_shrinkage_is_models_stats_empirical_bayes() -> None:
    raw = np.array([0.5, -0.2, np.nan, 0.1, 0.9])
    se = np.array([0.2, 0.3, 0.2, 0.25, 0.5])
    out = shrink(raw, se)
    ref = ms.empirical_bayes_shrinkage(raw[[0, 1, 3, 4]], se[[0, 1, 3, 4]])
    np.testing.assert_allclose(np.asarray(out["shrunk"])[[0, 1, 3, 4]], ref.shrunk, atol=1e-12)
    np.testing.assert_allclose(np.asarray(out["lo"])[[0, 1, 3, 4]], ref.lo, atol=1e-12)
    assert math.isnan(np.asarray(out["shrunk"])[2]) and out["tau2"] == pytest.approx(ref.tau2)


def test_components_match_models_stats_linked_components(zeeland: Policy) -> None:
    rows = [
        {"cycle": 2023, "employee_id": "a", "evaluator_id": "pe1"},
        {"cycle": 2024, "employee_id": "a", "evaluator_id": "pe2"},  # a changed evaluator: pe1 - pe2
        {"cycle": 2024, "employee_id": "b", "evaluator_id": "pe3", "second_evaluator_id": "ps9"},
        {"cycle": 2024, "employee_id": "c", "evaluator_id": "pe4", "second_evaluator_id": "ps9"},  # pe3 - pe4
        {"cycle": 2024, "employee_id": "d", "evaluator_id": "pe5"},  # alone
        {"cycle": 2024, "employee_id": "e", "evaluator_id": "pe2"},
    ]
    df = evaluations([r | {"rating": "normaal"} for r in rows])
    (org,) = prepare(df, {ZEELAND: zeeland})
    component, size, linked = components(org, np.array([0, 1]))
    names = org.names("eva").to_list()
    pairs = np.concatenate(
        [
            ms.evaluator_pairs_from_assignments(df["employee_id"], df["evaluator_id"]).reshape(-1, 2),
            ms.evaluator_pairs_from_assignments(
                df.drop_nulls("second_evaluator_id")["second_evaluator_id"],
                df.drop_nulls("second_evaluator_id")["evaluator_id"],
            ).reshape(-1, 2),
        ]
    )
    ref = ms.linked_components(pairs, np.array(names, dtype=object))
    assert dict(zip(ref["evaluator"].to_list(), ref["component"].to_list(), strict=True)) == dict(
        zip(names, component.tolist(), strict=True)
    )
    assert dict(zip(names, size.tolist(), strict=True)) == {"pe1": 2, "pe2": 2, "pe3": 2, "pe4": 2, "pe5": 1}
    # the largest component (tie: lowest id, the one holding pe1) is the main comparison set
    assert dict(zip(names, linked.tolist(), strict=True)) == {
        "pe1": True,
        "pe2": True,
        "pe3": False,
        "pe4": False,
        "pe5": False,
    }
    # only the current cycle: the employee who changed evaluator no longer links pe1 and pe2
    _, _, linked_now = components(org, np.array([1]))
    assert not linked_now[names.index("pe1")]


def test_evaluator_leniency_flags_planted_evaluator_and_marks_unlinked_teams(zeeland: Policy) -> None:
    rng = np.random.default_rng(31)
    df = simulate(
        rng, ZEELAND_CODES, ZEELAND_PROBS, cycles=3, employees=240, lenient_team=7, lenient_shift=1.5
    )
    out = evaluator_leniency(df, {ZEELAND: zeeland})
    assert out.schema == pl.Schema(MART_SCHEMAS["evaluator_leniency"])
    last = out.filter(pl.col("cycle") == 2002)
    assert last.filter(pl.col("flag"))["evaluator_id"].to_list() == ["e007"]
    hit = last.filter(pl.col("evaluator_id") == "e007").row(0, named=True)
    assert hit["assessment"] == "lenient" and hit["ci_lo"] > 0 and hit["effect_sd"] >= 0.5
    assert hit["window_first_cycle"] == 2000 and hit["n"] > hit["n_cycle"]  # three cycles of track record
    assert hit["reason_en"].startswith("Lenient: rates") and hit["reason_nl"].startswith("Mild: beoordeelt")
    # the interval is the posterior one around the shrunk effect
    np.testing.assert_allclose(
        (out["ci_hi"] - out["effect"]).to_numpy(), sps.norm.ppf(0.975) * out["se_post"].to_numpy(), rtol=1e-9
    )
    # with no employee moving and no second evaluators, no team is linked to another: never 'lenient'
    isolated = df.filter(pl.col("cycle") == 2000).with_columns(
        pl.lit(None, dtype=pl.String).alias("second_evaluator_id")
    )
    alone = evaluator_leniency(isolated, {ZEELAND: zeeland})
    assert not alone["is_linked"].any() and not alone["flag"].any()
    e7 = alone.filter(pl.col("evaluator_id") == "e007").row(0, named=True)
    assert e7["assessment"] == "not_linked" and "not linked" in e7["reason_en"]


# ---------------------------------------------------------------------------------------------------------------
# rating_transitions and rating_drift
# ---------------------------------------------------------------------------------------------------------------


def test_transitions_and_drift_match_direct_computation(zeeland: Policy) -> None:
    rng = np.random.default_rng(41)
    df = simulate(rng, ZEELAND_CODES, ZEELAND_PROBS, cycles=3, employees=120)
    df = df.filter(~((pl.col("cycle") == 2001) & (pl.col("employee_id") == "00003")))  # left for a year
    df = df.with_columns(
        pl.when(pl.col("employee_id") == "00004").then(None).otherwise(pl.col("rating")).alias("rating")
    )
    policies = {ZEELAND: zeeland}
    trans = rating_transitions(df, policies)
    assert trans.schema == pl.Schema(MART_SCHEMAS["rating_transitions"])
    a = df.filter(pl.col("cycle") == 2001).select("employee_id", pl.col("rating").alias("from_rating"))
    b = df.filter(pl.col("cycle") == 2002).select("employee_id", pl.col("rating").alias("to_rating"))
    ref = a.join(b, on="employee_id").drop_nulls().group_by("from_rating", "to_rating").len()
    mine = trans.filter(pl.col("to_cycle") == 2002)
    assert mine.height == 25
    got = {(r["from_rating"], r["to_rating"]): r["count"] for r in mine.iter_rows(named=True)}
    want = {(r["from_rating"], r["to_rating"]): r["len"] for r in ref.iter_rows(named=True)}
    assert {k: v for k, v in got.items() if v} == want
    shares = mine.filter(pl.col("n_from") > 0).group_by("from_rating").agg(pl.col("share").sum())["share"]
    np.testing.assert_allclose(shares.to_numpy(), 1.0)

    drift = rating_drift(df, policies)
    assert drift.schema == pl.Schema(MART_SCHEMAS["rating_drift"])
    score = pl.col("rating").replace_strict(
        dict(zip(ZEELAND_CODES, range(1, 6), strict=True)), return_dtype=pl.Float64
    )
    rated = df.drop_nulls("rating").with_columns(score.alias("s"))
    per = rated.group_by("cycle", "department").agg(
        pl.col("s").mean().alias("m"), pl.col("s").var().alias("v"), pl.len()
    )
    row = drift.filter(
        (pl.col("grouping") == "department") & (pl.col("unit") == "1") & (pl.col("to_cycle") == 2002)
    )
    f = per.filter((pl.col("cycle") == 2001) & (pl.col("department") == "1")).row(0, named=True)
    t = per.filter((pl.col("cycle") == 2002) & (pl.col("department") == "1")).row(0, named=True)
    assert row["drift"][0] == pytest.approx(t["m"] - f["m"], abs=1e-12)
    assert row["drift_se"][0] == pytest.approx(math.sqrt(f["v"] / f["len"] + t["v"] / t["len"]), rel=1e-12)
    assert row["drift_hi"][0] - row["drift"][0] == pytest.approx(
        sps.norm.ppf(0.975) * row["drift_se"][0], rel=1e-12
    )
    # stayers: employees in the department in 2002 who had a rating in 2001 (anywhere)
    prev = rated.filter(pl.col("cycle") == 2001).select("employee_id", pl.col("s").alias("p"))
    st = rated.filter((pl.col("cycle") == 2002) & (pl.col("department") == "1")).join(prev, on="employee_id")
    assert row["n_stayers"][0] == st.height
    assert row["mean_change_stayers"][0] == pytest.approx((st["s"] - st["p"]).mean(), abs=1e-12)
    org = drift.filter(pl.col("grouping") == "organization")
    assert org["unit"].unique().to_list() == [ZEELAND] and org.height == 2


# ---------------------------------------------------------------------------------------------------------------
# calibration_worklist
# ---------------------------------------------------------------------------------------------------------------


def test_worklist_reasons(zeeland: Policy, ploeg: Policy) -> None:
    base = [
        {"employee_id": f"px{i}", "rating": "normaal", "cycle": c} for i in range(12) for c in (2023, 2024)
    ]
    special = [
        {"employee_id": "pa", "cycle": 2023, "rating": "matig"},
        {"employee_id": "pa", "cycle": 2024, "rating": "zeer_goed"},  # +2 points: sharp change
        {"employee_id": "pb", "cycle": 2024, "rating": "slecht"},  # lowest outcome, and out of line
        {"employee_id": "pc", "cycle": 2024, "rating": "uitstekend", "argument_results": "  "},  # Z-8 missing
        {"employee_id": "pd", "cycle": 2024, "rating": "uitstekend"},  # argued: no Z-8 case
        {"employee_id": "pe", "cycle": 2024, "rating": None},  # no rating (Z-11): never a case
    ]
    df = evaluations(base + special)
    leniency = pl.DataFrame(
        {
            "organization": [ZEELAND],
            "cycle": [2024],
            "measure": ["rating"],
            "evaluator_id": ["pe1"],
            "assessment": ["lenient"],
            "flag": [True],
        }
    )
    work = calibration_worklist(df, {ZEELAND: zeeland}, leniency)
    assert work.schema == pl.Schema(MART_SCHEMAS["calibration_worklist"])
    cases = {(r["employee_id"], r["reason_code"]) for r in work.iter_rows(named=True)}
    assert ("pa", "sharp_change") in cases
    assert ("pb", "lowest_outcome") in cases and ("pb", "out_of_line") in cases
    assert ("pc", "missing_argumentation") in cases and ("pd", "missing_argumentation") not in cases
    assert not any(e == "pe" for e, _ in cases)
    # the flagged evaluator: only ratings above the mean of their department × level
    flagged = {e for e, r in cases if r == "evaluator_flagged"}
    assert flagged == {"pa", "pc", "pd"}
    sharp = work.filter(pl.col("reason_code") == "sharp_change").row(0, named=True)
    assert sharp["previous_rating"] == "matig" and sharp["rule"] == "Z-10"
    assert sharp["reason_en"] == "Sharp change since 2023: from Fair to Very good (+2 points)."
    assert sharp["reason_nl"] == "Sterke verandering sinds 2023: van Matig naar Zeer goed (+2 punten)."
    assert work.filter(pl.col("reason_code") == "missing_argumentation")["rule"].to_list() == ["Z-8"]
    assert work.filter(pl.col("reason_code") == "lowest_outcome")["reason_en"].to_list() == [
        "Lowest outcome: Poor."
    ]
    assert work["reason_nl"].is_not_null().all() and work["department"].to_list() == ["D1"] * work.height
    # PLOEG has no argumentation section: no Z-8 case even for its top rating without argumentation
    vo = evaluations(
        [{"rating": "voldoende", "argument_results": None}] * 6 + [{"rating": "onvoldoende"}], VO
    )
    vo_work = calibration_worklist(vo, {VO: ploeg})
    assert set(vo_work["reason_code"]) <= {"lowest_outcome", "out_of_line"}
    assert vo_work.filter(pl.col("reason_code") == "lowest_outcome")["rating"].to_list() == ["onvoldoende"]


def test_empty_and_unrated_inputs_give_empty_marts_with_their_schemas(zeeland: Policy, ploeg: Policy) -> None:
    policies = {ZEELAND: zeeland, VO: ploeg}
    empty = evaluations([]).clear()
    only_leave = evaluations([{"rating": None}] * 4)  # Z-11: no rating, so no observation anywhere
    for frame in (empty, only_leave):
        marts = calibration_marts(frame, policies)
        assert set(marts) == set(MART_SCHEMAS)
        for name, mart in marts.items():
            assert mart.height == 0, name
            assert mart.schema == pl.Schema(MART_SCHEMAS[name]), name


# ---------------------------------------------------------------------------------------------------------------
# The whole pipeline on the sample
# ---------------------------------------------------------------------------------------------------------------


def test_calibration_marts_on_the_sample_run_find_the_planted_patterns(sample_run) -> None:  # type: ignore[no-untyped-def]
    from models.pseudonym import load_key, pseudonymise_value

    # (the run's overall success is the pipeline test's business; these marts must exist and be right)
    q = sample_run.query
    for name, schema in MART_SCHEMAS.items():
        frame = q(f"SELECT * FROM marts.{name}")  # names from the fixed list of marts
        assert frame.height > 0, name
        assert list(frame.columns) == list(schema), name
    # consistency: shares sum to 1 per unit; unit n equals the count of non-null ratings in staging
    sums = q(
        "SELECT organization, cycle, measure, grouping, unit, sum(share) AS s "
        "FROM marts.rating_distribution GROUP BY ALL"
    )
    np.testing.assert_allclose(sums["s"].to_numpy(), 1.0, atol=1e-9)
    staged = q("SELECT organization, cycle, count(rating) AS n FROM staging.evaluations GROUP BY ALL")
    org_n = q(
        "SELECT DISTINCT organization, cycle, n FROM marts.rating_distribution "
        "WHERE grouping = 'organization' AND measure = 'rating'"
    )
    assert (
        staged.sort("organization", "cycle")["n"].to_list()
        == org_n.sort("organization", "cycle")["n"].to_list()
    )

    key = load_key()
    dev = q("SELECT * FROM marts.unit_deviation")
    len_ = q("SELECT * FROM marts.evaluator_leniency")
    found = {}
    for plant in sample_run.manifest["planted"]:
        unit = plant["unit"]
        org = plant["organization"]
        if plant["pattern"] == "lenient_evaluator":
            pid = pseudonymise_value(key, org, unit["evaluator_id"])
            mine = len_.filter((pl.col("organization") == org) & (pl.col("evaluator_id") == pid))
            unit_rows = dev.filter((pl.col("organization") == org) & (pl.col("unit") == pid))
            found[plant["id"]] = (
                mine.filter(pl.col("assessment") == "lenient").height > 0
                and unit_rows.filter(pl.col("flag") & (pl.col("direction") == "higher")).height > 0
            )
        elif plant["pattern"] in ("department_rates_high", "department_more_trap2"):
            rows = dev.filter(
                (pl.col("organization") == org)
                & (pl.col("grouping") == "department")
                & (pl.col("unit") == unit["department"])
            )
            found[plant["id"]] = rows.filter(pl.col("flag") & (pl.col("direction") == "higher")).height > 0
    assert found == {
        "vo_lenient_evaluator": True,
        "vo_trap2_department": True,
        "zeeland_lenient_evaluator": True,
        "zeeland_high_rating_department": True,
    }
