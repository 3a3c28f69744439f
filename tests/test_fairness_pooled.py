"""Pooled-window rows of the fairness strata (issue 16): statistics against scipy and statsmodels, and the joint
attacker (tests/attacker.py) over the per-cycle and the pooled rows of the organisation release.

A pooled count is the sum of the same cell over the window's cycles: with one of them hidden, the pooled count
minus the others gives it back. The attacker reads every gender row within function level of every cycle of a
window (sizes, counts, rates, odds ratios), the function-level and gender totals of each cycle, and the pooled
rows (sizes, counts, rates, odds ratios), all linked: pooled = sum over the cycles, per level and group, with and
without the outcome. It must recover no hidden count of 1 to k−1 people.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
import pytest
import test_fairness as tf
from attacker import Found, Model
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from models.disclosure.engine import Thresholds
from models.fairness import PERIOD_WINDOW, complete_windows
from models.privacy import publish_tables
from models.releases.fairness_pooled import POOLED_SCOPE

K = 5
# Per level and cycle: women with, women without, men with, men without an incidental reward. S08 is the
# planted shape: every cycle's counts below k, the pooled ones not.
PLAN = {
    "S08": {2022: (3, 37, 4, 16), 2023: (4, 36, 3, 17), 2024: (3, 37, 4, 16)},
    "S04": {2022: (10, 30, 12, 28), 2023: (11, 29, 9, 31), 2024: (10, 30, 12, 28)},
    "S10": {2022: (9, 31, 8, 22), 2023: (8, 32, 9, 21), 2024: (10, 30, 7, 23)},
}


def _marts(plan: dict[str, dict[int, tuple[int, int, int, int]]]) -> Any:
    rows, got = [], []
    for level, per in plan.items():
        for cycle, (f_yes, f_no, m_yes, m_no) in per.items():
            for gender, yes, no in (("F", f_yes, f_no), ("M", m_yes, m_no)):
                rows += [{"gender": gender, "function_level": level, "cycle": cycle}] * (yes + no)
                got += [True] * yes + [False] * no
    ev = tf.evaluations(rows)
    aw = tf.bonus_for(ev, got).with_columns(pl.Series("cycle", ev.filter(pl.Series(got))["cycle"]))
    return tf.run(ev, aw)


@pytest.fixture(scope="module")
def planted() -> Any:
    return _marts(PLAN)


def test_complete_windows_are_the_last_n_cycles_present() -> None:
    spans = complete_windows([2024, 2021, 2022, 2023], 3)
    assert spans.group_by("first_cycle", "cycle").agg(pl.col("member").sort()).sort("cycle").rows() == [
        (2021, 2023, [2021, 2022, 2023]),
        (2022, 2024, [2022, 2023, 2024]),
    ]
    assert complete_windows([2023, 2024], 3).height == 0, "an incomplete window is never pooled"


def test_pooled_rows_against_scipy_and_statsmodels(planted: Any) -> None:
    strata = planted.strata
    pooled = strata.filter((pl.col("period") == PERIOD_WINDOW) & (pl.col("outcome") == "incidental_reward"))
    per_cycle = strata.filter(pl.col("period") == "cycle")
    assert per_cycle["first_cycle"].to_list() == per_cycle["cycle"].to_list()
    assert set(pooled["attribute"]) == {"gender"} and set(pooled["stratum_type"]) == {"function_level"}
    assert set(pooled.select("first_cycle", "cycle").rows()) == {(2022, 2024)}
    rows = {(r["stratum"], r["group_value"]): r for r in pooled.iter_rows(named=True)}
    p_values = []
    lines = []
    for level, per in sorted(PLAN.items()):
        a, b, c, d = (sum(v[i] for v in per.values()) for i in range(4))
        women, men = rows[level, "F"], rows[level, "M"]
        assert (women["n"], women["count"], men["n"], men["count"]) == (a + b, a, c + d, c)
        assert women["reference_group"] == "M" and men["is_reference"]
        odds, p = sps.fisher_exact([[a, b], [c, d]])
        assert math.isclose(women["p_value"], p, rel_tol=1e-9)
        assert math.isclose(women["odds_ratio"], odds, rel_tol=1e-12)
        # Woolf interval: log odds ± z·sqrt(1/a + 1/b + 1/c + 1/d); statsmodels' Table2x2 computes the same.
        from statsmodels.stats.contingency_tables import Table2x2

        low, high = Table2x2(np.array([[a, b], [c, d]])).oddsratio_confint(alpha=0.05, method="normal")
        assert math.isclose(women["odds_ratio_ci_low"], low, rel_tol=1e-9)
        assert math.isclose(women["odds_ratio_ci_high"], high, rel_tol=1e-9)
        w_low, w_high = proportion_confint(a, a + b, alpha=0.05, method="wilson")
        assert math.isclose(women["rate_ci_low"], w_low, rel_tol=1e-9)
        assert math.isclose(women["rate_ci_high"], w_high, rel_tol=1e-9)
        p_values.append((level, p))
        lines.append(
            f"  {level}: women {a}/{a + b}, men {c}/{c + d}, OR {odds:.3f} ({low:.3f}–{high:.3f}), p {p:.4f}"
        )
    # Benjamini–Hochberg over the window's pooled comparisons (every binary outcome of the window).
    family = strata.filter(
        (pl.col("period") == PERIOD_WINDOW) & pl.col("p_value").is_not_null() & ~pl.col("is_reference")
    )
    q = multipletests(family["p_value"].to_numpy(), method="fdr_bh")[1]
    assert np.allclose(family["q_value"].to_numpy(), q, rtol=1e-9)
    print(
        "\npooled 2022–2024, incidental reward, women vs men (scipy / statsmodels agree):\n"
        + "\n".join(lines)
    )


def test_per_cycle_rows_are_unchanged_by_the_window(planted: Any) -> None:
    """The per-cycle rows of a three-cycle mart equal those of each cycle computed alone."""
    alone = _marts({level: {2023: per[2023]} for level, per in PLAN.items()}).strata
    together = planted.strata.filter((pl.col("period") == "cycle") & (pl.col("cycle") == 2023))
    assert alone.filter(pl.col("period") == PERIOD_WINDOW).height == 0
    assert together.drop("p_value").equals(alone.drop("p_value")), "the same rows"
    # Fisher p to rounding: the vectorised test evaluates tables in batches whose make-up differs.
    assert np.allclose(
        together["p_value"].fill_null(-1).to_numpy(), alone["p_value"].fill_null(-1).to_numpy(), rtol=1e-12
    )


# ---------------------------------------------------------------------------------------------- the attacker
def pooled_model(published: pl.DataFrame, strata: pl.DataFrame, organization: str, window: int) -> Model:
    """The joint model of one window: every cycle's gender rows within function level and the pooled rows."""
    pooled = published.filter(
        (pl.col("organization") == organization)
        & (pl.col("scope") == POOLED_SCOPE)
        & (pl.col("cycle") == window)
    )
    first = int(pooled["first_cycle"].min())  # type: ignore[arg-type]
    outcomes = sorted(set(pooled["outcome"]))
    truth = strata.filter(
        (pl.col("organization") == organization) & (pl.col("period") == "cycle")
        & pl.col("cycle").is_between(first, window) & (pl.col("stratum_type") == "function_level")
        & (pl.col("attribute") == "gender") & pl.col("outcome").is_in(outcomes)
    )  # fmt: skip
    cycles = sorted(set(truth["cycle"]))
    true = {(r["cycle"], r["outcome"], r["stratum"], r["group_value"]): (r["n"], r["count"]) for r in truth.iter_rows(named=True)}  # fmt: skip
    model = Model()

    def counts(key: tuple[Any, ...], n: Any, yes: Any, t: tuple[int, int] | None, rate: Any = None) -> None:
        model.fact((*key, "n"), n, None if t is None else t[0])
        model.fact((*key, "yes"), yes, None if t is None else t[1])
        no = n - yes if n is not None and yes is not None else None
        model.fact((*key, "no"), no, None if t is None else t[0] - t[1])
        model.total((*key, "n"), [(*key, "yes"), (*key, "no")])
        model.ratio((*key, "yes"), (*key, "n"), rate)

    rows = published.filter(
        (pl.col("organization") == organization) & pl.col("cycle").is_between(first, window)
        & pl.col("outcome").is_in(outcomes) & pl.col("group_value").is_not_null()
    )  # fmt: skip
    # Each cycle: gender within function level, the gender totals and the function-level totals.
    for r in rows.filter((pl.col("scope") == "function_level") & (pl.col("attribute") == "gender")).iter_rows(named=True):  # fmt: skip
        key = ("cell", r["cycle"], r["outcome"], r["stratum"], r["group_value"])
        counts(key, r["group_n"], r["count"], true.get(key[1:]), r["rate"])
        if r.get("odds_ratio") is not None and r["reference_group"] not in (None, r["group_value"]):
            ref = ("cell", r["cycle"], r["outcome"], r["stratum"], r["reference_group"])
            model.odds_ratio((*key, "yes"), (*key, "no"), (*ref, "yes"), (*ref, "no"), r["odds_ratio"])
    cells = [k for k in model.index if k[0] == "cell" and k[-1] == "n"]
    for r in rows.filter(pl.col("scope") == "overall").iter_rows(named=True):
        if r["attribute"] not in ("gender", "function_level") or r["cycle"] not in cycles:
            continue
        key = (r["attribute"], r["cycle"], r["outcome"], r["group_value"])
        at = 4 if r["attribute"] == "gender" else 3  # the gender is the cell's group; the level its stratum
        parts = [c[:-1] for c in cells if c[1:3] == key[1:3] and c[at] == r["group_value"]]
        t = tuple(sum(true.get(p[1:], (0, 0))[i] for p in parts) for i in range(2))
        counts(key, r["group_n"], r["count"], t, r["rate"])  # type: ignore[arg-type]
        for h in ("n", "yes", "no"):
            model.total((*key, h), [(*p, h) for p in parts])
    # The pooled rows: the sum over the window's cycles, per level, group and yes / no.
    for r in pooled.iter_rows(named=True):
        key = ("pooled", r["outcome"], r["stratum"], r["group_value"])
        parts = [("cell", c, r["outcome"], r["stratum"], r["group_value"]) for c in cycles]
        t = tuple(sum(true.get(p[1:], (0, 0))[i] for p in parts) for i in range(2))
        counts(key, r["group_n"], r["count"], t, r["rate"])  # type: ignore[arg-type]
        for h in ("n", "yes", "no"):
            model.total((*key, h), [(*p, h) for p in parts])
        if r.get("odds_ratio") is not None and not r["is_reference"]:
            ref = ("pooled", r["outcome"], r["stratum"], r["reference_group"])
            model.odds_ratio((*key, "yes"), (*key, "no"), (*ref, "yes"), (*ref, "no"), r["odds_ratio"])
    model.small_targets(K)
    return model


def _attack(published: pl.DataFrame, strata: pl.DataFrame) -> tuple[int, list[Found], list[str]]:
    attacked, recovered, lines = 0, [], []
    windows = published.filter(pl.col("scope") == POOLED_SCOPE).select("organization", "cycle").unique()
    for organization, window in sorted(windows.rows()):
        model = pooled_model(published, strata, organization, window)
        broken = model.check_truth()
        assert not broken, f"the model must hold for the true counts: {broken[:3]}"
        found = model.attack()
        assert all(f.consistent for f in found), "the bounds must hold the true value"
        attacked += len(found)
        recovered += [f for f in found if f.recovered]
        shown = published.filter(
            (pl.col("organization") == organization) & (pl.col("scope") == POOLED_SCOPE)
            & (pl.col("cycle") == window) & ~pl.col("suppressed")
        ).height  # fmt: skip
        lines.append(
            f"  {organization} window ending {window}: {shown} pooled rows shown, {len(found)} hidden facts "
            f"attacked, {sum(f.recovered for f in found)} recovered"
        )
    return attacked, recovered, lines


def test_the_joint_attacker_recovers_nothing_from_the_pooled_rows(planted: Any) -> None:
    sources = {"marts.fairness": planted.overall, "marts.fairness_strata": planted.strata}
    published = publish_tables(sources, {tf.ORG: Thresholds(k=K)}).tables["fairness"]
    pooled = published.filter((pl.col("scope") == POOLED_SCOPE) & (pl.col("outcome") == "incidental_reward"))
    s08 = {r["group_value"]: r for r in pooled.filter(pl.col("stratum") == "S08").iter_rows(named=True)}
    # The planted S08 gap is published pooled (10 of 120 women, 11 of 60 men) while every cycle hides it.
    assert (s08["F"]["group_n"], s08["F"]["count"], s08["M"]["group_n"], s08["M"]["count"]) == (
        120,
        10,
        60,
        11,
    )
    assert s08["F"]["odds_ratio"] == round(sps.fisher_exact([[10, 110], [11, 49]])[0], 2)
    per_cycle = published.filter(
        (pl.col("scope") == "function_level") & (pl.col("attribute") == "gender")
        & (pl.col("stratum") == "S08") & (pl.col("outcome") == "incidental_reward")
    )  # fmt: skip
    assert per_cycle["count"].null_count() == per_cycle.height, "every cycle's S08 counts stay hidden"
    attacked, recovered, lines = _attack(published, planted.strata)
    print(
        f"\njoint attack (hand-built, 3 cycles + pooled): {attacked} hidden facts attacked, "
        f"{len(recovered)} recovered\n" + "\n".join(lines)
        + "".join(f"\n  recovered: {f.key} = {f.low}" for f in recovered)
    )  # fmt: skip
    assert attacked > 0
    assert not recovered, recovered[:5]


def test_a_pooled_row_that_would_give_a_hidden_cycle_back_is_withheld() -> None:
    """Two cycles of S08 shown (large), one hidden (small): the pooled count minus the two shown ones is the
    hidden one. The pooled block must not be published."""
    plan = {
        "S08": {2022: (2, 38, 9, 21), 2023: (12, 28, 10, 20), 2024: (11, 29, 12, 18)},
        "S04": {2022: (10, 30, 12, 28), 2023: (11, 29, 9, 31), 2024: (10, 30, 12, 28)},
    }
    marts = _marts(plan)
    sources = {"marts.fairness": marts.overall, "marts.fairness_strata": marts.strata}
    published = publish_tables(sources, {tf.ORG: Thresholds(k=K)}).tables["fairness"]
    s08 = published.filter(
        (pl.col("scope") == POOLED_SCOPE) & (pl.col("stratum") == "S08") & (pl.col("outcome") == "incidental_reward")
    )  # fmt: skip
    attacked, recovered, lines = _attack(published, marts.strata)
    print(
        f"\njoint attack (one small cycle): S08 pooled shown: {not s08['suppressed'].any()}; {attacked} attacked, "
        f"{len(recovered)} recovered\n" + "\n".join(lines)
    )
    assert not recovered, recovered[:5]
    assert s08["suppressed"].all()
    # Not blind: published anyway, the pooled S08 counts give the hidden cycle's count back.
    pooled = marts.strata.filter((pl.col("period") == PERIOD_WINDOW) & (pl.col("stratum") == "S08"))
    truth = pooled.select(
        "outcome",
        "group_value",
        pl.col("n").alias("_n"),
        pl.col("count").alias("_c"),
        pl.lit(True).alias("_s08"),
    )
    leaked = (
        published.join(
            truth.with_columns(pl.lit(POOLED_SCOPE).alias("scope"), pl.lit("S08").alias("stratum")),
            on=["scope", "stratum", "outcome", "group_value"],
            how="left",
        )
        .with_columns(
            pl.coalesce("_n", "group_n").alias("group_n"),
            pl.coalesce("_c", "count").alias("count"),
            (pl.col("suppressed") & pl.col("_s08").is_null()).alias("suppressed"),
        )
        .drop("_n", "_c", "_s08")
    )
    _, leaks, _ = _attack(leaked, marts.strata)
    print("  published anyway, recovered: " + ", ".join(f"{f.key} = {f.low}" for f in leaks))
    assert any(f.key[:3] == ("cell", 2022, "incidental_reward") and f.low == 2 for f in leaks), leaks


def test_the_joint_attacker_recovers_nothing_on_the_sample(sample_publication) -> None:  # type: ignore[no-untyped-def]
    sources, publication = sample_publication
    published = publication.tables["fairness"]
    attacked, recovered, lines = _attack(published, sources["marts.fairness_strata"])
    print(
        f"\njoint attack on the sample (per-cycle gender rows within level + pooled rows): {attacked} hidden facts "
        f"attacked, {len(recovered)} recovered\n" + "\n".join(lines)
    )
    assert attacked > 0
    assert not recovered, recovered[:5]


def test_a_window_is_published_only_with_every_cycle_it_pools(planted: Any) -> None:
    """One cycle's sources alone (a cycle republished on its own) cannot protect a window of three: its pooled
    rows are left out, not published unprotected."""
    sources = {
        "marts.fairness": planted.overall.filter(pl.col("cycle") == 2024),
        "marts.fairness_strata": planted.strata.filter(pl.col("cycle") == 2024),
    }
    assert sources["marts.fairness_strata"].filter(pl.col("period") == PERIOD_WINDOW).height > 0
    published = publish_tables(sources, {tf.ORG: Thresholds(k=K)}).tables["fairness"]
    assert published.filter(pl.col("scope") == POOLED_SCOPE).height == 0
    assert published.filter(pl.col("scope") == "function_level").height > 0
