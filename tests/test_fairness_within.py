"""The statistics within strata on the organisation site: computed over the strata whose counts are published
(issue 17, models/releases/fairness.py `within_over_published`).

Checked: on the SIMPSON fixture of tests/test_fairness.py with two small departments D and E (all their cells
hidden), the published common odds ratio, its interval, both CMH statistics and Breslow–Day with its degrees of
freedom equal statsmodels' StratifiedTable over departments A, B and C only, and the table says 3 used and 2
left out; the mart's finding sentence (over all five departments) is withheld. The attack test recomputes every
published stratified statistic from the published per-stratum counts alone (so it tells an attacker nothing
the integer attacker of tests/test_attacks.py does not already have) and checks that no stratum with a hidden
count entered one. The derived-statistics gate (models/releases/derived.py) withholds a statistic that marks a
hidden stratum as used. The page's sentence says which strata the statistic covers, in Dutch and English.
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import polars as pl
import pytest
import test_fairness as tf

from dashboards.pages.fairness import story_sentence
from models.disclosure.engine import Thresholds
from models.fairness import PREFIX, fairness_marts
from models.pay_transparency import people_frame
from models.releases.derived import WITHIN_USED, comparisons_need_counts
from models.releases.registry import publish_tables
from models.stats import benjamini_hochberg

KEYS = ["organization", "cycle", "outcome", "attribute"]
STRATIFICATIONS = ("function_level", "department")
REST = "rest_of_organisation"


def _with_small_departments() -> dict[str, pl.DataFrame]:
    """SIMPSON plus two small departments whose cells are all below k: D (3 women, 2 rewarded; 6 men, 3) and
    E (4 women, 1; 3 men, 2). Hidden, they protect each other, so A, B and C stay published."""
    ev, aw = tf.simpson_people()
    evs, aws = [ev], [aw]
    for dept, genders, got in (
        ("D", ["F"] * 3 + ["M"] * 6, [1, 1, 0, 1, 1, 1, 0, 0, 0]),
        ("E", ["F"] * 4 + ["M"] * 3, [1, 0, 0, 0, 1, 1, 0]),
    ):
        small = tf.evaluations(
            [{"gender": g, "department": dept, "function_level": "S08"} for g in genders]
        ).with_columns(pl.format(dept.lower() + "{}", pl.int_range(pl.len())).alias("employee_id"))
        evs.append(small)
        aws.append(tf.bonus_for(small, [bool(x) for x in got]))
    ev, aw = pl.concat(evs), pl.concat(aws)
    people = people_frame(ev, aw, tf.payroll(ev), {tf.ORG: tf.ZEELAND})
    marts = fairness_marts(people, {tf.ORG: tf.ZEELAND})
    return {"marts.fairness": marts.overall, "marts.fairness_strata": marts.strata}


@pytest.fixture(scope="module")
def sources() -> dict[str, pl.DataFrame]:
    return _with_small_departments()


@pytest.fixture(scope="module")
def published(sources: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return publish_tables(sources, {tf.ORG: Thresholds()}).tables["fairness"]


def _women(frame: pl.DataFrame, scope: str = "overall") -> pl.DataFrame:
    return frame.filter(
        (pl.col("scope") == scope)
        & (pl.col("outcome") == "incidental_reward")
        & (pl.col("attribute") == "gender")
        & (pl.col("group_value") == "F")
    )


def test_within_department_statistic_over_the_published_departments_matches_statsmodels(
    sources: dict[str, pl.DataFrame], published: pl.DataFrame
) -> None:
    from statsmodels.stats.contingency_tables import StratifiedTable

    mart = _women(sources["marts.fairness"].with_columns(pl.lit("overall").alias("scope"))).row(0, named=True)
    assert mart["within_department_strata"] == 5, "the mart runs over all five departments"
    departments = _women(published, "department")
    assert departments.filter(pl.col("stratum").is_in(["D", "E"]))["suppressed"].to_list() == [True, True]
    used = sorted(departments.filter(pl.col(WITHIN_USED))["stratum"].to_list())
    assert used == ["A", "B", "C"], "the hidden departments D and E are left out"

    w = _women(published).row(0, named=True)
    tables = tf.simpson_tables()  # A, B, C: [[women with, without], [men with, without]]
    st = StratifiedTable(np.transpose(tables, (1, 2, 0)))
    low, high = st.oddsratio_pooled_confint(alpha=0.05)
    plain, corrected = st.test_null_odds(correction=False), st.test_null_odds(correction=True)
    bd = st.test_equal_odds(adjust=True)
    expected = {
        "odds_ratio": round(st.oddsratio_pooled, 2),
        "ci_low": round(low, 2),
        "ci_high": round(high, 2),
        "cmh_statistic": round(float(plain.statistic), 2),
        "p_value": round(float(plain.pvalue), 3),
        "cmh_statistic_corrected": round(float(corrected.statistic), 2),
        "p_value_corrected": round(float(corrected.pvalue), 3),
        "homogeneity_statistic": round(float(bd.statistic), 2),
        "homogeneity_p": round(float(bd.pvalue), 3),
    }
    got = {c: w[f"within_department_{c}"] for c in expected}
    assert got == pytest.approx(expected, abs=1e-9)
    assert (w["within_department_strata"], w["within_department_strata_left_out"]) == (3, 2)
    assert w["within_department_homogeneity_df"] == 2
    assert w["within_department_reverses"] and w["within_department_heterogeneous"]
    # Differs from the mart's over all five departments (which rests on D's and E's hidden counts).
    assert round(mart["within_department_odds_ratio"], 2) != w["within_department_odds_ratio"]
    # The mart's finding quotes the five-department statistic: withheld; the statistic stays.
    assert mart["finding_nl"] is not None and "binnen afdeling" in mart["finding_nl"]
    assert w["finding_nl"] is None and w["finding_en"] is None


def _published_tables(frame: pl.DataFrame, row: dict[str, Any], stratification: str) -> dict[str, list[int]]:
    """Stratum → [group yes, group no, reference yes, reference no] from the published per-stratum rows,
    for the strata where all four are published (for the rest of the organisation: the stratum's total is
    the sum of every published group, as the table lists every group present in the stratum)."""
    part = frame.filter(
        (pl.col("scope") == stratification)
        & (pl.col("organization") == row["organization"])
        & (pl.col("cycle") == row["cycle"])
        & (pl.col("outcome") == row["outcome"])
        & (pl.col("attribute") == row["attribute"])
    )
    counts: dict[str, dict[str | None, tuple[int, int] | None]] = {}
    for r in part.iter_rows(named=True):
        shown = r["count"] is not None and r["group_n"] is not None and not r["suppressed"]
        cell = (r["count"], r["group_n"] - r["count"]) if shown else None
        counts.setdefault(r["stratum"], {})[r["group_value"]] = cell
    out = {}
    for stratum, groups in counts.items():
        own = groups.get(row["group_value"], (0, 0))
        if row["reference_group"] == REST:
            if any(v is None for v in groups.values()):
                continue
            ref = (sum(v[0] for v in groups.values()) - own[0], sum(v[1] for v in groups.values()) - own[1])  # type: ignore[index]
        else:
            ref = groups.get(row["reference_group"], (0, 0))
        if own is None or ref is None:
            continue
        out[stratum] = [own[0], own[1], ref[0], ref[1]]
    return out


def check_within_from_published(frame: pl.DataFrame) -> dict[str, int]:
    """Every published stratified statistic of `frame` (a published fairness table), recomputed from its
    published per-stratum counts alone with models.stats.cmh_test (statsmodels' StratifiedTable): equal as
    published (2 decimals, p 3). Every stratum marked used has all four counts published. Returns how many
    statistics were checked per stratification."""
    from models.stats import cmh_test

    checked = dict.fromkeys(STRATIFICATIONS, 0)
    overall = frame.filter(
        (pl.col("scope") == "overall")
        & (pl.col("outcome_kind").fill_null("binary") == "binary")
        & pl.col("reference_group").is_not_null()
        & (pl.col("group_value") != pl.col("reference_group"))
    )
    marked = frame.filter(pl.col(WITHIN_USED).fill_null(False))
    p_values: dict[str, list[tuple[tuple[Any, ...], float, float]]] = {s: [] for s in STRATIFICATIONS}
    for row in overall.iter_rows(named=True):
        for stratification in STRATIFICATIONS:
            pre = PREFIX[stratification]
            if row[f"{pre}_odds_ratio"] is None:
                continue
            tables = _published_tables(frame, row, stratification)
            used = set(
                marked.filter(
                    (pl.col("scope") == stratification)
                    & (pl.col("cycle") == row["cycle"])
                    & (pl.col("outcome") == row["outcome"])
                    & (pl.col("attribute") == row["attribute"])
                    & (pl.col("group_value") == row["group_value"])
                )["stratum"].to_list()
            )
            assert used <= set(tables), f"a stratum with a hidden count entered {row} {stratification}"
            res = cmh_test(np.array([[t[:2], t[2:]] for t in tables.values()], dtype=float), level=0.95)
            what = (row["cycle"], row["outcome"], row["attribute"], row["group_value"], stratification)
            assert row[f"{pre}_strata"] == res.n_strata, what
            assert row[f"{pre}_odds_ratio"] == pytest.approx(round(res.odds_ratio, 2), abs=1e-9), what
            assert row[f"{pre}_ci_low"] == pytest.approx(round(res.ci_low, 2), abs=1e-9), what
            assert row[f"{pre}_ci_high"] == pytest.approx(round(res.ci_high, 2), abs=1e-9), what
            assert row[f"{pre}_p_value"] == pytest.approx(round(res.pvalue, 3), abs=1e-9), what
            if row[f"{pre}_homogeneity_p"] is not None:
                assert row[f"{pre}_homogeneity_p"] == pytest.approx(
                    round(res.breslow_day_pvalue, 3), abs=1e-9
                ), what
                assert row[f"{pre}_homogeneity_df"] == res.breslow_day_df, what
            p_values[stratification].append(
                ((row["organization"], row["cycle"]), res.pvalue, row[f"{pre}_q_value"])
            )
            checked[stratification] += 1
    # q: Benjamini–Hochberg over the published p-values of each organisation and cycle.
    for rows in p_values.values():
        for family in {f for f, _, _ in rows}:
            mine = [(p, q) for f, p, q in rows if f == family]
            expected = benjamini_hochberg(np.array([p for p, _ in mine]))
            for (_, q), e in zip(mine, expected, strict=True):
                assert q == pytest.approx(round(float(e), 3), abs=1e-9)
    return checked


def test_attack_the_within_statistics_add_nothing_to_the_published_counts(published: pl.DataFrame) -> None:
    """A statistic computed from published counts only is known to anyone who reads those counts: the integer
    attacker (tests/attacker.py), which takes every published count as a fact, learns nothing more from it."""
    checked = check_within_from_published(published)
    assert checked["department"] >= 1 and checked["function_level"] >= 1, checked


def _comparison(strata_rows: list[tuple[str, str, float | None, bool]]) -> pl.DataFrame:
    """An overall comparison A against B (both published) with a within-level statistic, and per-stratum
    rows (stratum, group, rate or None when its counts are hidden, marked used)."""
    overall = pl.DataFrame(
        {
            "organization": ["o"] * 3, "cycle": [1] * 3, "outcome": ["x"] * 3, "attribute": ["a"] * 3,
            "scope": ["overall"] * 3, "stratum": [None] * 3, "group_value": ["A", "B", None],
            "group_n": [40, 60, 100], "count": [10, 20, 30], "rate": [0.25, 1 / 3, 0.3],
            "reference_group": ["B", "B", None], "odds_ratio": [0.67, None, None],
            "within_level_odds_ratio": [0.7, None, None], "within_level_strata": [2, None, None],
        },
        schema_overrides={"stratum": pl.String},
    )  # fmt: skip
    strata = pl.DataFrame(
        {
            "organization": ["o"] * len(strata_rows), "cycle": [1] * len(strata_rows),
            "outcome": ["x"] * len(strata_rows), "attribute": ["a"] * len(strata_rows),
            "scope": ["function_level"] * len(strata_rows), "stratum": [r[0] for r in strata_rows],
            "group_value": [r[1] for r in strata_rows], "rate": [r[2] for r in strata_rows],
            "group_n": [None if r[2] is None else 20 for r in strata_rows],
            "count": [None if r[2] is None else round(20 * r[2]) for r in strata_rows],
            WITHIN_USED: [r[3] for r in strata_rows],
        }
    )  # fmt: skip
    frame = pl.concat([overall, strata], how="diagonal_relaxed")
    out = comparisons_need_counts(
        frame, KEYS, rows=pl.col("scope") == "overall", strata=pl.col("scope") == "function_level"
    )
    return out.filter((pl.col("scope") == "overall") & (pl.col("group_value") == "A"))


def test_the_derived_gate_withholds_a_statistic_that_used_a_hidden_stratum() -> None:
    # L3 hidden but not used: the statistic over L1 and L2 is published.
    kept = _comparison(
        [("L1", "A", 0.2, True), ("L1", "B", 0.3, False), ("L2", "A", 0.3, True), ("L2", "B", 0.4, False),
         ("L3", "A", None, False), ("L3", "B", 0.5, False)]
    )  # fmt: skip
    assert kept["within_level_odds_ratio"].item() == 0.7
    # A builder that marks L3 (hidden) as used: withheld.
    wrong = _comparison(
        [("L1", "A", 0.2, True), ("L1", "B", 0.3, False), ("L3", "A", None, True), ("L3", "B", 0.5, False)]
    )
    assert wrong["within_level_odds_ratio"].item() is None
    # The reference hidden in a used stratum: withheld too.
    ref_hidden = _comparison([("L1", "A", 0.2, True), ("L1", "B", None, False)])
    assert ref_hidden["within_level_odds_ratio"].item() is None


def test_the_sentence_says_which_strata_the_statistic_covers_in_both_languages(
    published: pl.DataFrame,
) -> None:
    w = _women(published).row(0, named=True)
    nl = story_sentence(w, "department", "gender", "nl", None, level=0.95)
    en = story_sentence(w, "department", "gender", "en", None, level=0.95)
    odds = f"{w['within_department_odds_ratio']:.2f}"
    assert nl is not None and en is not None
    assert f"gemeenschappelijke odds ratio {odds.replace('.', ',')}" in nl
    assert (
        "over de 3 afdelingen waarvan de aantallen getoond worden, 2 afdelingen met afgeschermde aantallen weggelaten)"
        in nl
    )
    assert f"common odds ratio {odds}" in en
    assert "over the 3 departments whose counts are shown, 2 departments with hidden counts left out)" in en
    # Fewer than two strata with shown counts: nothing to combine, and the sentence says how many there are.
    few = {**w, "within_department_strata": 1, "within_department_strata_left_out": 3,
           "within_department_odds_ratio": None}  # fmt: skip
    assert story_sentence(few, "department", "gender", "en", None, level=0.95) == (
        "within departments: nothing to combine, as the counts are shown in 1 of 4 departments (the others are "
        "hidden)"
    )
    assert story_sentence(few, "department", "gender", "nl", None, level=0.95) == (
        "binnen afdelingen: niet te combineren, want van 4 afdelingen worden de aantallen in 1 getoond (de "
        "andere zijn afgeschermd)"
    )
    none = {**few, "within_department_strata": 0, "within_department_strata_left_out": 4}
    assert story_sentence(none, "department", "gender", "en", None, level=0.95) == (
        "within departments: nothing to combine, as the counts are hidden in all 4 departments"
    )


# ------------------------------------------------------------------------------------------- the session sample
STORIES = re.compile(r"<section class='fair-stories'>(.*?)</section>", re.S)
STORY = re.compile(r"<li><strong>([^<]*)</strong><ul>(.*?)</ul></li>", re.S)
ITEM = re.compile(r"<li>(.*?)</li>", re.S)
SECTION = re.compile(r"<h2>([^<]*)</h2>")


def _page_stories(page: str) -> dict[tuple[str, str], list[str]]:
    """(attribute heading, comparison heading) → the sentences under it, as the page shows them."""
    out: dict[tuple[str, str], list[str]] = {}
    parts = SECTION.split(page)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        for block in STORIES.findall(body):
            for head, items in STORY.findall(block):
                out[(html.unescape(heading), html.unescape(head))] = [
                    html.unescape(re.sub(r"<[^>]+>", "", i)) for i in ITEM.findall(items)
                ]
    return out


def test_sample_pages_show_every_published_within_statistic_with_what_it_covers(sample_run) -> None:  # type: ignore[no-untyped-def]
    """On the session sample, per organisation × cycle × attribute × outcome of the page: the mart's
    comparisons, those the page shows overall, and within function levels / departments (the published
    statistic and its sentence). Every published stratified statistic is recomputed from the published counts
    (as in the attack test) and stands on the page in its sentence, with the strata it covers."""
    from test_planted_visible import _published

    from dashboards.i18n import fmt_int, fmt_number, text
    from dashboards.pages import SiteData
    from dashboards.pages.fairness import group_label, key_outcomes

    assert sample_run.success
    mart = sample_run.query("SELECT * FROM marts.fairness WHERE outcome_kind = 'binary'")
    lines = [
        "org cycle attribute outcome: mart / overall shown / within level shown / within department shown"
    ]
    totals = {"mart": 0, "overall": 0, "function_level": 0, "department": 0}
    checked_all = dict.fromkeys(STRATIFICATIONS, 0)
    planted_sentences: dict[int, str] = {}
    for organization in sorted(sample_run.settings.organizations):
        tables = _published(sample_run, organization)
        fair = tables["fairness"]
        for s, n in check_within_from_published(fair).items():
            checked_all[s] += n
        data = SiteData(tables=tables, settings=sample_run.settings)
        for cycle in sorted(fair["cycle"].unique().to_list()):
            page = (
                sample_run.settings.site / "organisatie" / organization / str(cycle) / "fairness.html"
            ).read_text(encoding="utf-8")
            stories = _page_stories(page)
            overall = fair.filter(
                (pl.col("scope") == "overall") & (pl.col("cycle") == cycle)
                & (pl.col("outcome_kind").fill_null("binary") == "binary")
            )  # fmt: skip
            keep = key_outcomes(overall, data, organization)
            rows = overall.filter(
                pl.col("outcome").is_in(keep)
                & pl.col("reference_group").is_not_null()
                & (pl.col("group_value") != pl.col("reference_group"))
                & (pl.col("attribute") != "function_level")  # its page section shows rates per level only
            )
            for (attribute, outcome), part in rows.group_by("attribute", "outcome", maintain_order=True):
                in_mart = mart.filter(
                    (pl.col("organization") == organization) & (pl.col("cycle") == cycle)
                    & (pl.col("attribute") == attribute) & (pl.col("outcome") == outcome)
                    & pl.col("group_value").is_in(part["group_value"].implode())
                    & pl.col("odds_ratio").is_not_null()
                ).height  # fmt: skip
                counts = {"mart": in_mart, "overall": part["odds_ratio"].is_not_null().sum()}
                heading = text("attribute_labels", "nl").get(attribute, attribute)
                for row in part.iter_rows(named=True):
                    head = (
                        f"{row['outcome_label_nl']} — {group_label(attribute, row['group_value'], 'nl')} "
                        f"{text('versus', 'nl')} {group_label(attribute, row['reference_group'], 'nl')}"
                    )
                    said = stories.get((heading, head), [])
                    if (organization, attribute, outcome) == ("zeeland-demo", "gender", "performance_bonus"):
                        words = text("fair_strata_words", "nl")["function_level"]
                        planted_sentences[cycle] = next(s for s in said if f"binnen {words}" in s)
                    for stratification in STRATIFICATIONS:
                        pre = PREFIX[stratification]
                        counts.setdefault(stratification, 0)
                        if stratification == attribute or row[f"{pre}_odds_ratio"] is None:
                            continue
                        odds = (
                            f"gemeenschappelijke odds ratio {fmt_number(row[f'{pre}_odds_ratio'], 'nl', 2)}"
                        )
                        words = text("fair_strata_words", "nl")[stratification]
                        mine = [s for s in said if f"binnen {words}" in s and odds in s]
                        assert len(mine) == 1, (organization, cycle, head, stratification, said)
                        left = row[f"{pre}_strata_left_out"]
                        if left:
                            assert f"over de {fmt_int(row[f'{pre}_strata'], 'nl')} {words} waarvan" in mine[0]
                        counts[stratification] += 1
                for key in totals:
                    totals[key] += counts.get(key, 0)
                lines.append(
                    f"{organization} {cycle} {attribute} {outcome}: {counts['mart']} / {counts['overall']} / "
                    f"{counts.get('function_level', 0)} / {counts.get('department', 0)}"
                )
    lines.append(
        f"total: {totals['mart']} / {totals['overall']} / {totals['function_level']} / {totals['department']}"
        f" (statistics recomputed from published counts: {checked_all})"
    )
    print("\n".join(lines))
    assert totals["function_level"] >= 1 and totals["department"] >= 1, totals
    assert checked_all["function_level"] >= totals["function_level"]
    assert checked_all["department"] >= totals["department"]
    # The planted gap (women in S08 get a performance bonus about half as often as men, small overall): the
    # page's women-and-men sentences within function levels say for every Zeeland cycle what they cover —
    # a common odds ratio over the levels with shown counts, or how many levels are shown — never a bare
    # "hidden". The S08 figures themselves are in the pooled-window table (tests/test_planted_visible.py).
    planted = next(p for p in sample_run.manifest["planted"] if p["id"] == "zeeland_incidental_gender_gap")
    print("within function levels, women and men, performance bonus:")
    for cycle, sentence in sorted(planted_sentences.items()):
        print(f"  {cycle}: {sentence}")
    assert sorted(planted_sentences) == sorted(planted["cycles"])
    for sentence in planted_sentences.values():
        assert any(
            words in sentence
            for words in (
                "functieniveaus waarvan de aantallen getoond worden",
                "niet te combineren",
                "niets te",
            )
        ), sentence
