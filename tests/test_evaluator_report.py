"""The evaluator report (issue 23): models.calibration.evaluator_report, its engine models.calibration._ordinal,
its publication rule and its page section.

References: statsmodels ``OrderedModel`` (cumulative logit) and ``Logit`` for the unpenalised fits,
statsmodels ``cohens_kappa`` for agreement, scipy's binomial test, the planted lenient evaluators of the
sample run, and a null simulation for the flag rate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from scipy import optimize, special
from scipy import stats as sps
from statsmodels.discrete.discrete_model import Logit
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.stats.inter_rater import cohens_kappa

from models.calibration import _ordinal as od
from models.calibration import evaluator_leniency
from models.calibration.evaluator_report import (
    FAIR_SCHEMA,
    SCHEMA,
    evaluator_report,
    pay_relevant_cut_points,
)
from models.config import PROJECT_ROOT
from models.policy import Policy, load_policy

ORG = "test-org"
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
disclosure: {min_group_size: 5}
metrics: {min_n_flag: 5, practical_effect: 0.5, fdr: 0.05}
fairness:
  age_bands: {value: [30, 40, 50, 60]}
  part_time_below_fte: {value: 1.0}
calibration:
  rule: T-3
  leniency_window_cycles: {value: 3, rule: T-3}
  pay_relevant_cut_points: {value: {rating: [goed, top]}, rule: T-4}
"""
CODES = ["onder", "net", "goed", "top"]
ORG_PROBS = [0.10, 0.30, 0.50, 0.10]  # with the level effect: about one in eight at the top


@pytest.fixture(scope="module")
def four_point(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("policy") / "vier_punt.yaml"
    path.write_text(FOUR_POINT_YAML, encoding="utf-8")
    return load_policy(path)


def organisation(
    rng: np.random.Generator,
    *,
    teams: int = 20,
    team_size: int = 20,
    cycles: int = 3,
    departments: int = 4,
    special: dict[int, list[float]] | None = None,
    women_shift: dict[int, int] | None = None,
    move_rate: float = 0.1,
) -> pl.DataFrame:
    """Ratings drawn per evaluator from a category distribution (ORG_PROBS unless `special` gives another),
    shifted by function level (an evaluator in `special` gives exactly its shares); `women_shift` moves women's ratings of some evaluators by whole steps."""
    n = teams * team_size
    team = np.arange(n) % teams
    level = rng.integers(0, 3, n)
    gender = np.where(rng.random(n) < 0.5, "F", "M")
    birth = rng.integers(1960, 2000, n)
    fte = np.where(rng.random(n) < 0.3, 0.8, 1.0)
    frames = []
    for c in range(cycles):
        move = rng.random(n) < move_rate
        team = np.where(move, rng.integers(0, teams, n), team)
        k = np.empty(n, dtype=np.int64)
        for t in range(teams):
            mine = np.flatnonzero(team == t)
            if special and t in special:
                # exact shares (the case is about shares, not about a lucky draw), shuffled
                exact = np.repeat(np.arange(4), np.round(np.asarray(special[t]) * mine.size).astype(np.int64))
                exact = np.resize(np.sort(exact), mine.size)
                k[mine] = rng.permutation(exact)
            else:
                k[mine] = rng.choice(4, size=mine.size, p=ORG_PROBS)
        k = np.clip(k + (rng.random(n) < 0.15 * (level - 1)).astype(np.int64), 0, 3)
        for t, steps in (women_shift or {}).items():
            hit = (team == t) & (gender == "F")
            k[hit] = np.clip(k[hit] + steps, 0, 3)
        frames.append(
            pl.DataFrame(
                {
                    "organization": ORG,
                    "cycle": 2020 + c,
                    "employee_id": [f"p{i:04d}" for i in range(n)],
                    "department": [f"D{t % departments}" for t in team],
                    "function_level": [f"L{v}" for v in level],
                    "evaluator_id": [f"e{t:02d}" for t in team],
                    "second_evaluator_id": [f"s{t // 4}" for t in team],
                    "rating": [CODES[v] for v in k],
                    "gender": gender,
                    "birth_year": birth,
                    "fte": fte,
                }
            )
        )
    return pl.concat(frames).with_columns(pl.col("cycle").cast(pl.Int64))


# ------------------------------------------------------------------------------------------ the engine
def _cells(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    level = frame["function_level"].to_numpy()
    dept = frame["department"].to_numpy()
    x_rows = np.column_stack([level == "L1", level == "L2", dept == "D1", dept == "D2", dept == "D3"]).astype(
        float
    )
    keys, cell = np.unique(x_rows, axis=0, return_inverse=True)
    return (
        x_rows,
        keys,
        cell.ravel(),
        frame["rating"].replace_strict({c: i for i, c in enumerate(CODES)}).to_numpy(),
    )


def test_cumulative_logit_matches_statsmodels_ordered_model() -> None:
    frame = organisation(np.random.default_rng(11), cycles=1)
    x_rows, keys, cell, k = _cells(frame)
    reference = OrderedModel(k, x_rows, distr="logit")
    res = reference.fit(method="bfgs", disp=False, maxiter=5000, gtol=1e-8)
    thresholds = reference.transform_threshold_params(res.params)[1:-1]
    counts = np.zeros((keys.shape[0], 4))
    np.add.at(counts, (cell, k), 1.0)
    mine = od.cumulative_logit(keys, counts)
    assert mine.converged
    np.testing.assert_allclose(mine.beta, res.params[: x_rows.shape[1]], atol=2e-4)
    np.testing.assert_allclose(mine.thresholds, thresholds, atol=2e-4)


def test_glmm_without_evaluator_variance_is_the_logistic_regression() -> None:
    frame = organisation(np.random.default_rng(12), cycles=1)
    x_rows, keys, cell, k = _cells(frame)
    y = (k >= 3).astype(float)
    reference = Logit(y, np.column_stack([np.ones(len(y)), x_rows])).fit(disp=0)
    evaluator = frame["evaluator_id"].str.slice(1).cast(pl.Int64).to_numpy()
    pair_keys, pair = np.unique(cell * 100 + evaluator, return_inverse=True)
    n = np.bincount(pair).astype(float)
    ones = od.bincount(pair, weights=y)
    x = np.column_stack([np.ones(keys.shape[0]), keys])
    null, best, p_tau = od.binomial_glmm(x, pair_keys // 100, pair_keys % 100, n, ones, 20)
    np.testing.assert_allclose(null.beta, reference.params, atol=1e-6)
    # no evaluator effect was planted: the likelihood-ratio test of tau² = 0 should not reject
    assert p_tau > 0.01 and best.tau < 0.6


def test_glmm_sees_between_evaluator_variance_when_it_is_there() -> None:
    rng = np.random.default_rng(13)
    effects = rng.normal(0, 1.0, 40)
    evaluator = np.repeat(np.arange(40), 30)
    y = (rng.random(evaluator.size) < 1 / (1 + np.exp(-(-1.0 + effects[evaluator])))).astype(float)
    n = np.bincount(evaluator).astype(float)
    ones = od.bincount(evaluator, weights=y)
    null, best, p_tau = od.binomial_glmm(
        np.ones((1, 1)), np.zeros(40, dtype=np.int64), np.arange(40), n, ones, 40
    )
    assert p_tau < 0.001
    assert 0.6 < best.tau < 1.5
    # shrunk effects are closer to the truth than the raw ones (the point of shrinking)
    raw, _, _, _ = od.conditional_effects(np.full(40, null.beta[0]), np.arange(40), n, ones, 40)
    assert np.mean((best.b - effects) ** 2) < np.mean((raw - effects) ** 2)


def test_binomial_test_matches_scipy() -> None:
    for observed, n, p in ((7, 20, 0.125), (0, 12, 0.3), (12, 12, 0.5), (3, 40, 0.2)):
        mine = od.binomial_test_two_sided(np.array([observed], float), np.array([n], float), np.array([p]))[0]
        # scipy's two-sided test sums the outcomes as unlikely as the observed one; doubling the smaller
        # tail is at least as large (conservative) and equal for a symmetric case
        assert mine >= sps.binomtest(observed, n, p).pvalue - 1e-12
        assert mine == pytest.approx(
            min(1.0, 2 * min(sps.binom.cdf(observed, n, p), sps.binom.sf(observed - 1, n, p)))
        )


# ------------------------------------------------------------------------------------------ policies
def test_pay_relevant_cut_points_are_codes_of_the_shipped_scales() -> None:
    zeeland = load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")
    ploeg = load_policy(PROJECT_ROOT / "policies" / "ploeg.yaml")
    assert pay_relevant_cut_points(zeeland) == {"rating": ("zeer_goed", "uitstekend")}  # Z-2/Z-9: 4% and 6%
    assert pay_relevant_cut_points(ploeg)["salary_decision"] == ("1", "2")  # F-9: trap 1 and trap 2
    assert set(pay_relevant_cut_points(ploeg)["rating"]) <= set(ploeg.rating_codes)
    assert set(pay_relevant_cut_points(zeeland)["rating"]) <= set(zeeland.rating_codes)


# ------------------------------------------------------------------------------------------ the motivating case
@pytest.fixture(scope="module")
def motivating(four_point: Policy) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """Team 7 of twenty gets the top rating about a third of the time and the bottom often too: its mean is
    below the organisation's, but the money (the top cut) goes to it far more often."""
    frame = organisation(np.random.default_rng(2024), special={7: [0.35, 0.22, 0.10, 0.33]}, move_rate=0.02)
    return frame, evaluator_report(frame, {ORG: four_point})


def test_schema_and_grain(motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]]) -> None:
    _, out = motivating
    report, fair = out["evaluator_report"], out["evaluator_fair_ratings"]
    assert report.schema == pl.Schema(SCHEMA) and fair.schema == pl.Schema(FAIR_SCHEMA)
    key = ["organization", "cycle", "measure", "evaluator_id", "aspect", "item"]
    assert report.select(key).is_duplicated().sum() == 0
    assert set(report["aspect"].unique()) == {"cut_point", "mean_shift", "scale_use", "bias", "agreement"}
    cuts = report.filter(pl.col("aspect") == "cut_point")
    assert set(cuts["item"].unique()) == {"net", "goed", "top"}
    assert cuts.filter(pl.col("pay_relevant"))["item"].unique().sort().to_list() == ["goed", "top"]
    # every shown share lies inside its interval
    shown = cuts.filter(pl.col("adjusted_share").is_not_null())
    assert (shown["adjusted_lo"] <= shown["adjusted_share"] + 1e-12).all()
    assert (shown["adjusted_share"] <= shown["adjusted_hi"] + 1e-12).all()
    assert report["reason_nl"].null_count() == 0 and report["reason_en"].null_count() == 0


def test_a_window_of_one_cycle_gives_the_single_cycle_figures(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]], tmp_path: Path
) -> None:
    """The report's only grain is the window (issue 21): an organisation that wants single-cycle figures sets
    calibration.leniency_window_cycles to 1. Each cycle's rows are then the report of that cycle's ratings
    alone (evaluator_report on the one cycle), for both marts; no agreement rows (no pair of cycles)."""
    frame, out = motivating
    path = tmp_path / "vier_punt_1.yaml"
    yaml = FOUR_POINT_YAML.replace("leniency_window_cycles: {value: 3", "leniency_window_cycles: {value: 1")
    assert yaml != FOUR_POINT_YAML
    path.write_text(yaml, encoding="utf-8")
    one = evaluator_report(frame, {ORG: load_policy(path)})
    report = one["evaluator_report"]
    assert (report["window_first_cycle"] == report["cycle"]).all()
    assert report.filter(pl.col("aspect") == "agreement").height == 0
    cycles = sorted(frame["cycle"].unique().to_list())
    assert len(cycles) == 3
    for cycle in cycles:
        alone = evaluator_report(frame.filter(pl.col("cycle") == cycle), {ORG: load_policy(path)})
        for name, sort in (
            ("evaluator_report", ["measure", "aspect", "item", "evaluator_id"]),
            ("evaluator_fair_ratings", ["measure", "employee_id"]),
        ):
            mine = one[name].filter(pl.col("cycle") == cycle).sort(sort, nulls_last=True)
            reference = alone[name].sort(sort, nulls_last=True)
            assert mine.height == reference.height > (0 if name == "evaluator_report" else -1), (name, cycle)
            assert_frame_equal(mine, reference, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    # the longer window differs where it pools cycles (the policy's window is what the rows describe)
    last = out["evaluator_report"].filter(pl.col("cycle") == cycles[-1])
    assert (last["window_first_cycle"] == cycles[0]).all()
    assert (last["n"] > 0).all() and last["n"].sum() > report.filter(pl.col("cycle") == cycles[-1])["n"].sum()


def test_the_top_cut_flags_the_manager_the_mean_shift_misses(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]], four_point: Policy
) -> None:
    frame, out = motivating
    report = out["evaluator_report"]
    last = report.filter(pl.col("cycle") == 2022)
    manager = last.filter(pl.col("evaluator_id") == "e07")
    top = manager.filter((pl.col("aspect") == "cut_point") & (pl.col("item") == "top")).row(0, named=True)
    assert top["flag"] and top["direction"] == "higher"
    assert top["observed"] > 0.25 and top["expected"] < 0.2
    assert top["raw_estimate"] - 1.96 * top["raw_se"] > 0  # the unshrunk interval lies above zero
    assert top["adjusted_share"] > top["org_share"]  # shrunk, but still above the organisation's share
    # the mean-score view: below average, and evaluator_leniency does not call this manager lenient
    scores = frame.with_columns(
        pl.col("rating").replace_strict({c: i for i, c in enumerate(CODES)}).alias("k")
    )
    assert scores.filter(pl.col("evaluator_id") == "e07")["k"].mean() < scores["k"].mean()  # type: ignore[operator]
    leniency = evaluator_leniency(frame, {ORG: four_point})
    mine = leniency.filter((pl.col("evaluator_id") == "e07") & (pl.col("cycle") == 2022))
    assert mine["assessment"].to_list() != ["lenient"]
    # the proportional-odds shift (the ordinal mean shift) is not what finds it either
    shift = manager.filter(pl.col("aspect") == "mean_shift").row(0, named=True)
    assert shift["ci_lo"] < 0 < shift["ci_hi"] or shift["estimate"] < top["estimate"]
    # both ends used: extremity is flagged, central tendency is not
    extreme = manager.filter((pl.col("aspect") == "scale_use") & (pl.col("item") == "extreme")).row(
        0, named=True
    )
    assert extreme["flag"]
    # no other evaluator is flagged on a pay-relevant cut point
    others = last.filter(
        (pl.col("aspect") == "cut_point") & pl.col("flag") & (pl.col("evaluator_id") != "e07")
    )
    assert others.height <= 1


def test_fair_ratings_of_the_manager_cross_the_pay_step(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    _, out = motivating
    fair = out["evaluator_fair_ratings"].filter(pl.col("cycle") == 2022)
    mine = fair.filter(pl.col("evaluator_id") == "e07")
    tops = mine.filter(pl.col("rating") == "top")
    assert tops.height > 0
    assert (tops["fair_rating"] != "top").all() and tops["pay_step"].all()
    assert (tops["pay_cut"] == "top").all() and (tops["direction"] == "lower").all()
    assert ((fair["fair_probability"] > 0) & (fair["fair_probability"] <= 1)).all()
    # the fair-case count on the report's cut-point row is the number of such cases
    row = out["evaluator_report"].filter(
        (pl.col("cycle") == 2022) & (pl.col("evaluator_id") == "e07")
        & (pl.col("aspect") == "cut_point") & (pl.col("item") == "top")
    )  # fmt: skip
    assert row["fair_cases"][0] == mine.filter(pl.col("pay_step") & (pl.col("pay_cut") == "top")).height


def test_agreement_matches_statsmodels_cohens_kappa(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    frame, out = motivating
    k = {c: i for i, c in enumerate(CODES)}
    prev = frame.filter(pl.col("cycle") == 2021).select("employee_id", pl.col("evaluator_id").alias("e0"),
                                                         pl.col("rating").replace_strict(k).alias("k0"))  # fmt: skip
    now = frame.filter(pl.col("cycle") == 2022).select("employee_id", pl.col("evaluator_id").alias("e1"),
                                                        pl.col("rating").replace_strict(k).alias("k1"))  # fmt: skip
    pairs = prev.join(now, on="employee_id")
    # the window of 2022 holds 2020→2021 and 2021→2022 pairs
    prev2 = frame.filter(pl.col("cycle") == 2020).select("employee_id", pl.col("evaluator_id").alias("e0"),
                                                          pl.col("rating").replace_strict(k).alias("k0"))  # fmt: skip
    pairs = pl.concat([pairs, prev2.join(prev.rename({"e0": "e1", "k0": "k1"}), on="employee_id")])
    changed = pairs.filter(pl.col("e0") != pl.col("e1"))
    table = np.zeros((4, 4))
    np.add.at(table, (changed["k0"].to_numpy(), changed["k1"].to_numpy()), 1)
    reference = cohens_kappa(table)
    row = out["evaluator_report"].filter(
        (pl.col("cycle") == 2022) & (pl.col("aspect") == "agreement")
        & pl.col("evaluator_id").is_null() & (pl.col("item") == "changed_evaluator")
    ).row(0, named=True)  # fmt: skip
    assert row["n"] == changed.height
    assert row["estimate"] == pytest.approx(reference.kappa, abs=1e-9)
    assert row["observed"] == pytest.approx(np.trace(table) / table.sum())


def test_agreement_per_evaluator_matches_statsmodels_cohens_kappa(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    """Each evaluator's agreement row (counted with bincounts over all evaluators at once) against statsmodels'
    kappa on the changed pairs that evaluator is one side of."""
    frame, out = motivating
    k = {c: i for i, c in enumerate(CODES)}

    def cycle(year: int, e: str, r: str) -> pl.DataFrame:
        return frame.filter(pl.col("cycle") == year).select(
            "employee_id", pl.col("evaluator_id").alias(e), pl.col("rating").replace_strict(k).alias(r)
        )

    pairs = pl.concat(
        [
            cycle(2020, "e0", "k0").join(cycle(2021, "e1", "k1"), on="employee_id"),
            cycle(2021, "e0", "k0").join(cycle(2022, "e1", "k1"), on="employee_id"),
        ]
    ).filter(pl.col("e0") != pl.col("e1"))
    rows = out["evaluator_report"].filter(
        (pl.col("cycle") == 2022) & (pl.col("aspect") == "agreement")
        & pl.col("evaluator_id").is_not_null()
    )  # fmt: skip
    assert rows.height == len(set(pairs["e0"]) | set(pairs["e1"])) > 5
    checked = 0
    for row in rows.iter_rows(named=True):
        mine = pairs.filter((pl.col("e0") == row["evaluator_id"]) | (pl.col("e1") == row["evaluator_id"]))
        table = np.zeros((4, 4))
        np.add.at(table, (mine["k0"].to_numpy(), mine["k1"].to_numpy()), 1)
        assert row["n"] == mine.height
        assert row["observed"] == pytest.approx(np.trace(table) / table.sum(), abs=1e-12)
        if row["estimate"] is not None:
            assert row["estimate"] == pytest.approx(cohens_kappa(table).kappa, abs=1e-9)
            checked += 1
    assert checked > 5


def test_location_shift_is_each_evaluators_own_maximum_likelihood() -> None:
    """location_shifts (Fisher scoring on (cell, evaluator) pairs, only moving evaluators recomputed) against
    scipy's bounded scalar maximisation of each evaluator's own ordinal log-likelihood over the shift."""
    frame = organisation(np.random.default_rng(5), cycles=1, special={3: [0.05, 0.15, 0.45, 0.35]})
    _, keys, cell, k = _cells(frame)
    evaluator = np.unique(frame["evaluator_id"].to_numpy(), return_inverse=True)[1].ravel()
    counts = np.zeros((keys.shape[0], 4))
    np.add.at(counts, (cell, k), 1.0)
    model = od.cumulative_logit(keys, counts)
    n_eval = int(evaluator.max()) + 1
    shifts = od.location_shifts(model, cell, evaluator, k, n_eval)
    for e in range(n_eval):
        mine = evaluator == e

        def negloglik(delta: float, mine: np.ndarray = mine) -> float:
            eta = model.eta[cell[mine]] + delta
            prob = od.category_probabilities(special.expit(eta[:, None] - model.thresholds[None, :]))
            return -float(np.sum(np.log(prob[np.arange(mine.sum()), k[mine]])))

        best = optimize.minimize_scalar(negloglik, bounds=(-6, 6), method="bounded", options={"xatol": 1e-10})
        assert shifts.shift[e] == pytest.approx(best.x, abs=1e-6)
        assert shifts.n[e] == mine.sum()
    assert np.abs(shifts.shift).max() > 0.3  # the planted evaluator moves


def test_bias_finds_a_planted_interaction_and_respects_the_minimum_group(four_point: Policy) -> None:
    frame = organisation(np.random.default_rng(77), teams=10, team_size=40, women_shift={3: -1})
    report = evaluator_report(frame, {ORG: four_point})["evaluator_report"]
    bias = report.filter((pl.col("aspect") == "bias") & (pl.col("cycle") == 2022))
    mine = bias.filter((pl.col("evaluator_id") == "e03") & (pl.col("item") == "gender=F")).row(0, named=True)
    assert mine["estimate"] < 0 and mine["ci_hi"] < 0 and mine["flag"]
    others = bias.filter((pl.col("item") == "gender=F") & (pl.col("evaluator_id") != "e03") & pl.col("flag"))
    assert others.height <= 1
    # below the policy's minimum group size nothing but the status is given
    small = bias.filter(pl.col("status") == "too_small")
    assert small["estimate"].null_count() == small.height and small["observed"].null_count() == small.height


def test_null_simulation_flags_at_no_more_than_the_nominal_rate(four_point: Policy) -> None:
    flagged = tested = 0
    for seed in range(10):
        frame = organisation(np.random.default_rng(500 + seed), teams=16, cycles=3)
        report = evaluator_report(frame, {ORG: four_point})["evaluator_report"]
        family = report.filter(
            (pl.col("status") == "tested") & pl.col("aspect").is_in(["cut_point", "bias", "scale_use"]) & pl.col("p_value").is_not_null()
            & (pl.col("pay_relevant") | (pl.col("aspect") != "cut_point"))
        )  # fmt: skip
        tested += family.height
        flagged += int(family["flag"].sum())
    assert tested > 500
    assert flagged / tested <= 0.05, (flagged, tested)


# ------------------------------------------------------------------------------------------ the sample run
def test_sample_run_finds_the_planted_lenient_evaluators(sample_run) -> None:  # type: ignore[no-untyped-def]
    from models.pseudonym import load_key, pseudonymise_value

    assert sample_run.success
    report = sample_run.query("SELECT * FROM marts.evaluator_report WHERE aspect = 'cut_point'")
    key = load_key()
    found = {}
    for plant in sample_run.manifest["planted"]:
        if plant["pattern"] != "lenient_evaluator":
            continue
        pid = pseudonymise_value(key, plant["organization"], plant["unit"]["evaluator_id"])
        mine = report.filter(
            (pl.col("organization") == plant["organization"])
            & (pl.col("evaluator_id") == pid)
            & pl.col("flag")
        )
        found[plant["id"]] = sorted(set(mine["item"].to_list()))
    # PLOEG: trap 2 (F-9); Zeeland: the 4% and 6% cut points (Z-2)
    assert "2" in found["vo_lenient_evaluator"]
    assert {"zeer_goed", "uitstekend"} <= set(found["zeeland_lenient_evaluator"])
    assert (report.filter(pl.col("flag"))["direction"] == "higher").any()
    fair = sample_run.query("SELECT * FROM marts.evaluator_fair_ratings")
    assert fair.height > 0 and fair["pay_step"].any()


# ------------------------------------------------------------------------------------------ publication
def test_release_hides_counts_hidden_in_shares(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    from models import privacy
    from models.privacy import Thresholds
    from models.releases.evaluators import NAME, release

    assert any(name == NAME for name, _ in privacy.PUBLICATIONS)  # registered through models.privacy
    assert "marts.evaluator_report" in privacy.PUBLISHED_TABLES
    _, out = motivating
    report = out["evaluator_report"]
    shown = release({"marts.evaluator_report": report}, Thresholds(k=5), {}).frame
    # every row is published (hidden or not): the report holds only the windows the pages show
    assert 0 < shown.height == report.height
    cuts = shown.filter((pl.col("aspect") == "cut_point") & pl.col("observed").is_not_null())
    yes = (cuts["observed"] * cuts["n"]).round(0)
    no = cuts["n"] - yes
    assert (((yes == 0) | (yes >= 5)) & ((no == 0) | (no >= 5))).all()
    hidden = shown.filter(
        (pl.col("aspect") == "cut_point") & pl.col("observed").is_null() & pl.col("n").is_not_null()
    )
    assert hidden.height > 0 and hidden["suppressed"].all()
    assert (
        hidden["adjusted_share"].null_count() == hidden.height
        and hidden["reason_nl"].null_count() == hidden.height
    )
    # the verdict stays: the motivating manager's flag is visible whatever its numbers
    top = shown.filter(
        (pl.col("evaluator_id") == "e07") & (pl.col("cycle") == 2022)
        & (pl.col("item") == "top") & (pl.col("aspect") == "cut_point")
    )  # fmt: skip
    assert top["flag"].to_list() == [True]
    for column in ("fair_cases", "n_cycle", "n_group", "n"):
        counts = shown.filter(pl.col("evaluator_id").is_not_null())[column].drop_nulls()
        assert ((counts == 0) | (counts >= 5)).all(), column
    # an evaluator with fewer than k ratings shows nothing but its existence
    few = release(
        {"marts.evaluator_report": report.with_columns(pl.lit(3).alias("n"))}, Thresholds(k=5), {}
    ).frame
    assert (
        few.filter(pl.col("evaluator_id").is_not_null())["estimate"].null_count()
        == few.filter(pl.col("evaluator_id").is_not_null()).height
    )


def test_release_cycle_by_cycle_hides_what_the_whole_table_hides(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    """The release protects one cycle at a time (issue 21, memory): every cell's partition lies within one
    cycle, so the evaluator rows are those of one `protect` over every cycle at once, in the same order, and
    each cycle may carry the thresholds of its own policy (a regime change)."""
    from polars.testing import assert_frame_equal

    from models.disclosure.engine import SUPPRESSED
    from models.privacy import Thresholds
    from models.releases import evaluators

    _, out = motivating
    report = out["evaluator_report"]
    cycles = sorted(report["cycle"].unique().to_list())
    assert len(cycles) >= 2
    limits = Thresholds(k=5)
    by_cycle = evaluators.release({"marts.evaluator_report": report}, limits, {})
    # the whole table through the same rule at once, as the release did before it went cycle by cycle
    rows = report.select([c for c in evaluators.COLUMNS if c in report.columns])
    at_once = evaluators._evaluator_rows(rows.filter(pl.col("evaluator_id").is_not_null()), limits)
    shown = by_cycle.frame.filter(pl.col("evaluator_id").is_not_null()).drop("department")
    assert_frame_equal(shown, at_once.frame)
    assert 0 < by_cycle.hidden == at_once.hidden and by_cycle.cells == at_once.cells
    assert by_cycle.reasons == at_once.reasons
    # a stricter policy in force for the last cycle: that cycle's rows as that policy alone hides them
    strict = Thresholds(k=12)
    parts = [(report.filter(pl.col("cycle") == c), strict if c == cycles[-1] else limits) for c in cycles]
    mixed = evaluators.release_cycles(parts, None).frame
    alone = evaluators.release(
        {"marts.evaluator_report": report.filter(pl.col("cycle") == cycles[-1])}, strict, {}
    ).frame
    last = mixed.filter(pl.col("cycle") == cycles[-1])
    assert_frame_equal(last, alone)
    assert last[SUPPRESSED].sum() > by_cycle.frame.filter(pl.col("cycle") == cycles[-1])[SUPPRESSED].sum()
    assert_frame_equal(
        mixed.filter(pl.col("cycle") != cycles[-1]),
        by_cycle.frame.filter(pl.col("cycle") != cycles[-1]),
    )


# ------------------------------------------------------------------------------------------ the page section
def test_section_labels_every_evaluator_and_names_the_flagged_one(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]],
) -> None:
    import json
    import re

    from dashboards.components import PageContext
    from dashboards.pages import evaluators_section
    from models.privacy import Thresholds
    from models.releases.evaluators import release

    _, out = motivating
    shown = release({"marts.evaluator_report": out["evaluator_report"]}, Thresholds(k=5), {}).frame
    frame = shown.filter(pl.col("cycle") == 2022)
    labels = {"goed": "Goed", "top": "Top"}
    pages = {}
    for language in ("nl", "en"):
        ctx = PageContext(language=language, depth=2, cycle=2022)
        pages[language] = evaluators_section.section(frame, ctx, "rating", labels)
    nl, en = pages["nl"], pages["en"]
    assert "Over de cycli 2020–2022:" in nl and "Over cycles 2020–2022:" in en  # the window's cycles
    # a window of one cycle names that cycle alone
    alone = frame.with_columns(pl.col("cycle").alias("window_first_cycle"))
    one = evaluators_section.section(alone, PageContext(language="nl", depth=2, cycle=2022), "rating", labels)
    assert "Over de cycli 2022:" in one and "2022–2022" not in one
    assert "Aandeel Top of hoger per beoordelaar" in nl and "Share Top or higher per evaluator" in en
    assert "<code>e07</code>" in nl and "geeft Top of hoger vaker dan collega" in nl
    payloads = [
        json.loads(p)
        for p in re.findall(r"<script type='application/json' id='chart-\d+-data'>(.*?)</script>", nl)
    ]
    assert len(payloads) == 2  # one chart per pay-relevant cut point (goed, top)
    evaluators = set(frame.filter(pl.col("evaluator_id").is_not_null())["evaluator_id"].to_list())
    for payload in payloads:
        assert set(payload["data"][0]["y"]) == evaluators  # every evaluator labelled
    # the management view (no department) and a missing table
    assert "evr" not in evaluators_section.section(
        None, PageContext(language="nl", depth=2), "rating", labels
    )
    assert "nog niet gebouwd" in evaluators_section.section(
        None, PageContext(language="nl", depth=2), "rating", labels
    )


def test_asset_metadata_counts_in_duckdb_what_the_report_holds(sample_run) -> None:  # type: ignore[no-untyped-def]
    """The asset counts its metadata and check in DuckDB instead of reading the report back: the same counts
    as polars on the whole tables."""
    from pipelines.assets.marts.evaluators import FAIR_COUNTS_SQL, REPORT_COUNTS_SQL

    assert sample_run.success
    report = sample_run.query("SELECT * FROM marts.evaluator_report")
    fair = sample_run.query("SELECT * FROM marts.evaluator_fair_ratings")
    flagged = report.filter(pl.col("flag") & (pl.col("aspect") == "cut_point"))
    not_separable = (
        report.filter(pl.col("tau2_status") == "not_separable")
        .select("organization", "cycle", "measure", "item")
        .n_unique()
    )
    assert report.height > 0 and not_separable > 0
    assert sample_run.query(REPORT_COUNTS_SQL).row(0) == (report.height, flagged.height, not_separable)
    assert sample_run.query(FAIR_COUNTS_SQL).row(0) == (fair.height, int(fair["pay_step"].sum()))


# ------------------------------------------------------------------------------------------ writing by parts
def test_parts_of_the_rebuilt_cycles_only(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]], four_point: Policy
) -> None:
    """A run that adds a cycle reads its window's earlier cycles but makes the new cycle's parts only: the
    same rows as the whole report's for that cycle (its window reads the earlier cycles), and none of the
    earlier cycles' (the asset would throw them away)."""
    from models.calibration import prepare
    from models.calibration.evaluator_report import ReportParts

    frame, out = motivating
    last = int(frame["cycle"].max())  # type: ignore[arg-type]
    parts = ReportParts(prepare(frame, {ORG: four_point}), made={(ORG, last)})
    report = pl.concat(list(parts.report()))
    assert report["cycle"].unique().to_list() == [last]
    assert_frame_equal(report, out["evaluator_report"].filter(pl.col("cycle") == last))
    assert_frame_equal(parts.fair_ratings(), out["evaluator_fair_ratings"].filter(pl.col("cycle") == last))
    # another organisation's cycle makes no part here: an empty report, in the table's columns
    nothing = ReportParts(prepare(frame, {ORG: four_point}), made={("other", last)})
    made = list(nothing.report())
    assert [m.height for m in made] == [0] and made[0].schema == pl.Schema(SCHEMA)


def test_parts_written_one_by_one_equal_the_whole_report(
    motivating: tuple[pl.DataFrame, dict[str, pl.DataFrame]], four_point: Policy, tmp_path: Path
) -> None:
    """The asset writes the report part by part (ReportParts, batched, replace_slices with parts): the stored
    table equals the whole frame of evaluator_report, row for row and in order, whole and per cycle; the fair
    ratings are there only after the last part; a part with other columns falls back to a whole rebuild."""
    from models.calibration import prepare
    from models.calibration.evaluator_report import ReportParts
    from pipelines.assets.marts.evaluators import batched
    from pipelines.increments import ColumnsChanged, SliceWork, replace_slices

    frame, out = motivating
    parts = ReportParts(prepare(frame, {ORG: four_point}))
    pieces = parts.report()
    first = next(pieces)
    assert first.height > 0 and first.schema == pl.Schema(SCHEMA)
    with pytest.raises(RuntimeError):
        parts.fair_ratings()  # not before the last part
    rest = list(pieces)
    assert len(rest) == 2  # one part per cycle (one measure)
    assert_frame_equal(pl.concat([first, *rest]), out["evaluator_report"])
    assert_frame_equal(parts.fair_ratings(), out["evaluator_fair_ratings"])
    # batches: the same rows in the same order, each at least `rows` long but the last
    batches = list(batched([first, *rest], rows=first.height + 1))
    assert len(batches) == 2 and batches[0].height >= first.height + 1
    assert_frame_equal(pl.concat(batches), out["evaluator_report"])

    tables = {"evaluator_report": "cycle", "evaluator_fair_ratings": "cycle"}
    slices = {(ORG, c): f"print-{c}" for c in (2020, 2021, 2022)}
    whole = SliceWork("evaluator_report", True, frozenset(slices), frozenset(slices), slices, "test")
    con = duckdb.connect(str(tmp_path / "parts.duckdb"))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA audit")
    con.execute(
        "CREATE TABLE audit.mart_inputs (step VARCHAR, organization VARCHAR, cycle BIGINT, fingerprint VARCHAR, "
        "built_at TIMESTAMP)"
    )

    def fresh() -> tuple[Iterator[pl.DataFrame], Iterator[pl.DataFrame]]:
        made = ReportParts(prepare(frame, {ORG: four_point}))

        def fair() -> Iterator[pl.DataFrame]:
            yield made.fair_ratings()

        return batched(made.report(), rows=1), fair()

    report, fair = fresh()
    replace_slices(con, whole, tables, {"evaluator_report": report, "evaluator_fair_ratings": fair})
    assert_frame_equal(con.sql("SELECT * FROM marts.evaluator_report").pl(), out["evaluator_report"])
    assert_frame_equal(
        con.sql("SELECT * FROM marts.evaluator_fair_ratings").pl(), out["evaluator_fair_ratings"]
    )
    # per cycle: the last cycle's rows replaced by parts, the other cycles' rows untouched
    last = SliceWork("evaluator_report", False, frozenset({(ORG, 2022)}), frozenset(slices), slices, "test")
    report, fair = fresh()
    replace_slices(con, last, tables, {"evaluator_report": report, "evaluator_fair_ratings": fair})
    stored = con.sql("SELECT * FROM marts.evaluator_report").pl()
    assert_frame_equal(stored.sort(["cycle"], maintain_order=True), out["evaluator_report"])
    # a part whose columns differ from the stored table's: nothing is written, the step must run whole
    with pytest.raises(ColumnsChanged):
        replace_slices(
            con,
            last,
            tables,
            {
                "evaluator_report": iter([first.drop("reason_en")]),
                "evaluator_fair_ratings": iter([out["evaluator_fair_ratings"]]),
            },
        )
    assert con.execute("SELECT count(*) FROM marts.evaluator_report").fetchone() == (stored.height,)
    con.close()


def test_an_open_circle_at_zero_is_drawn_whole_inside_the_axis() -> None:
    """An evaluator whose own team got none of the outcome has its open circle at 0 %. The x axis must start
    left of 0 so the circle is not clipped (on an axis starting at 0 it read as a ")" after the label), and
    reach past every drawn value."""
    from dashboards.evaluator_figures import cut_point_shares

    frame = pl.DataFrame(
        {
            "label": ["p1", "p2", "p3"],
            "share": [0.047, 0.14, None],
            "lo": [0.015, 0.065, None],
            "hi": [0.13, 0.21, None],
            "observed": [0.0, 0.16, None],
            "expected": [0.05, 0.12, None],
            "n": [30, 40, None],
            "flagged": [False, False, False],
        }
    )
    figure = cut_point_shares(frame, 0.083, "nl", "x", "y")
    left, right = figure.layout["xaxis"]["range"]
    drawn = [v for trace in figure.data for v in trace["x"] if v is not None]
    drawn += [b for b in frame["hi"].to_list() if b is not None]
    assert left < 0.0 == min(drawn)
    assert right > max(drawn)
