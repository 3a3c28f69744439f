"""The fairness page tells the whole story of a gap (issue 17), on a hand-built Simpson's paradox.

The page is built from the published (protected) tables of the SIMPSON fixture of tests/test_fairness.py: an
overall gap against women that does not hold within departments, one department favouring women. Checked:
every marker and interval of the odds-ratio charts sits at its published value — in plotly's JSON and, in
headless Chromium, where plotly draws it (pixel position of each marker and each interval end against the
axis' own data-to-pixel map) — and the sentences of dashboards/i18n.py stand next to the charts they describe.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import test_fairness as tf
from browser import BrowserMissing, Chromium

from dashboards import figures
from dashboards.pages.fairness import story_sentence
from dashboards.site import build_site
from models.config import PROJECT_ROOT, load_settings
from models.pay_transparency import people_frame
from models.privacy import Thresholds, publish_tables

JSON_BLOCK = re.compile(r"<script type='application/json' id='([^']+)'>(.*?)</script>", re.S)
TOLERANCE_PX = 0.5  # a marker or interval end this far (CSS px) from its value's pixel counts as misplaced


@pytest.fixture(scope="module")
def published() -> dict[str, pl.DataFrame]:
    ev, aw = tf.simpson_people()
    people = people_frame(ev, aw, tf.payroll(ev), {tf.ORG: tf.ZEELAND})
    from models.fairness import fairness_marts

    marts = fairness_marts(people, {tf.ORG: tf.ZEELAND})
    sources = {"marts.fairness": marts.overall, "marts.fairness_strata": marts.strata}
    return publish_tables(sources, {tf.ORG: Thresholds()}).tables


@pytest.fixture(scope="module")
def page(published: dict[str, pl.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fairness") / "site"
    settings = load_settings(PROJECT_ROOT / "calibra.yaml", out.parent / "home", out)
    build_site(published, settings, out, "nl", include_worklist=False)
    return out / "organisatie" / tf.ORG / "2024" / "fairness.html"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    try:
        browser = Chromium.start()
    except BrowserMissing as missing:
        pytest.fail(f"headless Chromium is required for the drawn-position check: {missing}", pytrace=False)
    try:
        yield browser
    finally:
        browser.close()


def women(published: dict[str, pl.DataFrame]) -> dict[str, Any]:
    fair = published["fairness"]
    rows = fair.filter(
        (pl.col("scope") == "overall")
        & (pl.col("outcome") == "incidental_reward")
        & (pl.col("attribute") == "gender")
        & (pl.col("group_value") == "F")
    )
    assert rows.height == 1
    return rows.row(0, named=True)


def charts(page: Path) -> dict[str, dict[str, Any]]:
    """Chart title → plotly payload, read back from the page."""
    text = page.read_text(encoding="utf-8")
    out = {}
    for _, body in JSON_BLOCK.findall(text):
        payload = json.loads(html.unescape(body)) if body.lstrip().startswith("{") else None
        if payload is None:
            continue
        out[payload["layout"]["title"]["text"]] = payload
    return out


def marker_traces(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in payload["data"] if t.get("mode") == "markers" and t.get("x")]


def test_the_published_tables_hold_the_story(published: dict[str, pl.DataFrame]) -> None:
    w = women(published)
    # rates shown (30% vs 40%), comparisons rounded as published, both stratifications side by side
    assert (w["group_n"], w["count"]) == (220, 67)
    assert w["odds_ratio"] == 0.66 and w["within_department_odds_ratio"] == 1.6
    assert (w["within_department_ci_low"], w["within_department_ci_high"]) == (0.98, 2.61)
    assert w["within_department_reverses"] and w["within_department_heterogeneous"]
    assert w["within_department_homogeneity_df"] == 2 and w["within_level_homogeneity_df"] == 1
    assert not w["within_level_reverses"] and not w["within_level_heterogeneous"]
    departments = published["fairness"].filter(
        (pl.col("scope") == "department")
        & (pl.col("outcome") == "incidental_reward")
        & (pl.col("attribute") == "gender")
        & (pl.col("group_value") == "F")
    )
    assert sorted(departments["stratum"].to_list()) == ["A", "B", "C"]
    a = departments.filter(pl.col("stratum") == "A").row(0, named=True)
    assert a["odds_ratio"] == round(34 * 60 / (6 * 60), 2) and not a["suppressed"]


def test_per_stratum_odds_ratio_needs_its_four_counts_shown() -> None:
    """A stratum's comparison is published only where the group's and the reference's rates in it are: here a
    small department D (3 women, 6 men) whose odds ratio the mart has (2.0) but whose counts are hidden."""
    ev, aw = tf.simpson_people()
    small = tf.evaluations(
        [{"gender": g, "department": "D", "function_level": "S08"} for g in ["F"] * 3 + ["M"] * 6]
    ).with_columns(pl.format("d{}", pl.int_range(pl.len())).alias("employee_id"))
    ev = pl.concat([ev, small])
    aw = pl.concat([aw, tf.bonus_for(small, [True, True, False, True, True, True, False, False, False])])
    people = people_frame(ev, aw, tf.payroll(ev), {tf.ORG: tf.ZEELAND})
    from models.fairness import fairness_marts

    marts = fairness_marts(people, {tf.ORG: tf.ZEELAND})
    mart_d = marts.strata.filter(
        (pl.col("outcome") == "incidental_reward")
        & (pl.col("attribute") == "gender")
        & (pl.col("stratum") == "D")
        & (pl.col("group_value") == "F")
    )
    assert mart_d["odds_ratio"].to_list() == [pytest.approx(2.0)]
    published = publish_tables(
        {"marts.fairness": marts.overall, "marts.fairness_strata": marts.strata}, {tf.ORG: Thresholds()}
    ).tables
    fair = published["fairness"].filter(pl.col("scope").is_in(["function_level", "department"]))
    shown_d = fair.filter(
        (pl.col("outcome") == "incidental_reward")
        & (pl.col("attribute") == "gender")
        & (pl.col("stratum") == "D")
        & (pl.col("group_value") == "F")
    ).row(0, named=True)
    assert shown_d["suppressed"] and shown_d["odds_ratio"] is None and shown_d["odds_ratio_ci_low"] is None
    assert shown_d["p_value"] is None
    rates = fair.select(
        "outcome", "attribute", "scope", "stratum", "group_value", pl.col("suppressed").alias("_hidden")
    )
    compared = fair.filter(pl.col("odds_ratio").is_not_null())
    assert compared.height > 0
    joined = compared.join(
        rates.rename({"group_value": "reference_group", "_hidden": "_ref_hidden"}),
        on=["outcome", "attribute", "scope", "stratum", "reference_group"],
        how="left",
    )
    assert not joined["suppressed"].any() and not joined["_ref_hidden"].fill_null(True).any()
    hidden = fair.filter(pl.col("suppressed") & ~pl.col("is_reference").fill_null(False))
    assert hidden.height > 0, "the fixture has hidden strata (other outcomes and attributes)"
    assert hidden["odds_ratio"].null_count() == hidden.height


def test_sentences_name_the_right_stratification_in_both_languages(
    published: dict[str, pl.DataFrame],
) -> None:
    w = women(published)
    assert story_sentence(w, "department", "gender", "nl", (1, 3), level=0.95) == (
        "Het totale verschil (vrouwen 30%, mannen 40%) blijft niet bestaan binnen afdelingen (gemeenschappelijke "
        "odds ratio 1,60, 95%-BI 0,98 – 2,61); binnen afdelingen wijst de schatting zelfs de andere kant op; de "
        "afdelingen verschillen onderling (Breslow–Day p = 0,001). In 1 van de 3 afdelingen met een zichtbare "
        "odds ratio wijst het verschil de andere kant op dan over de hele organisatie."
    )
    assert story_sentence(w, "department", "gender", "en", None, level=0.95) == (
        "The overall gap (women 30%, men 40%) does not hold within departments (common odds ratio 1.60, 95% CI "
        "0.98 – 2.61); within departments the estimate even points the other way; the departments differ from "
        "each other (Breslow–Day p = 0.001)."
    )
    level = story_sentence(w, "function_level", "gender", "en", None, level=0.95)
    assert level is not None and level.startswith(
        "The overall gap (women 30%, men 40%) holds within function"
    )
    assert "do not differ detectably" in level


def test_every_marker_and_interval_is_at_its_value_in_the_figure_json(
    published: dict[str, pl.DataFrame], page: Path
) -> None:
    w = women(published)
    by_title = charts(page)
    compare = next(p for t, p in by_title.items() if t.startswith("Verschillen naar gender"))
    traces = {t["name"]: t for t in marker_traces(compare)}
    # Horizontal grouped scatter: plotly offsets the series along y (the rows), never along x (the values).
    assert compare["layout"]["scattermode"] == "group"
    assert all(t["orientation"] == "h" for t in traces.values())
    expected = {
        "Hele organisatie": (w["odds_ratio"], w["odds_ratio_ci_low"], w["odds_ratio_ci_high"]),
        "Binnen functieniveau": (
            w["within_level_odds_ratio"],
            w["within_level_ci_low"],
            w["within_level_ci_high"],
        ),
        "Binnen afdeling": (
            w["within_department_odds_ratio"],
            w["within_department_ci_low"],
            w["within_department_ci_high"],
        ),
    }
    for name, (estimate, low, high) in expected.items():
        trace = traces[name]
        i = next(j for j, y in enumerate(trace["y"]) if y.startswith("Incidentele beloning"))
        assert trace["x"][i] == estimate
        assert trace["x"][i] + trace["error_x"]["array"][i] == pytest.approx(high, abs=1e-12)
        assert trace["x"][i] - trace["error_x"]["arrayminus"][i] == pytest.approx(low, abs=1e-12)
    # The value axis holds every interval end.
    lo_log, hi_log = compare["layout"]["xaxis"]["range"]
    ends = [v for trace in traces.values() for v in trace["x"]]
    assert all(lo_log < math.log10(v) < hi_log for v in ends)
    # Forest plot per department: each square at the stratum's published odds ratio, the diamond at the pooled.
    forest = next(p for t, p in by_title.items() if t.endswith("per afdeling"))
    squares, diamond = marker_traces(forest)
    departments = published["fairness"].filter(
        (pl.col("scope") == "department")
        & (pl.col("outcome") == "incidental_reward")
        & (pl.col("attribute") == "gender")
        & (pl.col("group_value") == "F")
    )
    published_or = dict(zip(departments["stratum"], departments["odds_ratio"], strict=True))
    assert dict(zip(squares["y"], squares["x"], strict=True)) == published_or
    assert diamond["x"] == [w["within_department_odds_ratio"]]
    assert diamond["x"][0] - diamond["error_x"]["arrayminus"][0] == pytest.approx(
        w["within_department_ci_low"]
    )


DRAWN = r"""
(function () {
  function num(s) { return parseFloat(s); }
  var out = [];
  document.querySelectorAll("div.chart").forEach(function (gd) {
    var xa = gd._fullLayout && gd._fullLayout.xaxis;
    if (!xa || xa.type !== "log") { return; }
    var title = gd._fullLayout.title.text;
    gd.querySelectorAll(".scatterlayer g.trace").forEach(function (g, ti) {
      var trace = gd._fullData[ti];
      if (trace.mode !== "markers") { return; }
      var ex = trace.error_x || {};
      g.querySelectorAll("path.point").forEach(function (p, j) {
        var m = /translate\(([-\d.e]+),\s*([-\d.e]+)\)/.exec(p.getAttribute("transform"));
        out.push({chart: title, trace: trace.name || "", kind: "marker", value: trace.x[j], y: trace.y[j],
                  drawn: num(m[1]), drawnY: num(m[2]), expected: xa.l2p(Math.log10(trace.x[j]))});
      });
      g.querySelectorAll("g.errorbar path").forEach(function (p, j) {
        var xs = (p.getAttribute("d").match(/[MH]([-\d.e]+)/g) || []).map(function (s) { return num(s.slice(1)); });
        if (!xs.length || ex.array[j] == null) { return; }
        var x = trace.x[j];
        out.push({chart: title, trace: trace.name || "", kind: "interval", value: x, y: trace.y[j],
                  drawn: Math.max.apply(null, xs), expected: xa.l2p(Math.log10(x + ex.array[j]))});
        out.push({chart: title, trace: trace.name || "", kind: "interval", value: x, y: trace.y[j],
                  drawn: Math.min.apply(null, xs), expected: xa.l2p(Math.log10(x - ex.arrayminus[j]))});
      });
    });
  });
  return out;
})()
"""


def test_every_marker_and_interval_is_drawn_at_its_value_in_chromium(
    published: dict[str, pl.DataFrame], page: Path, chromium: Chromium
) -> None:
    drawn = chromium.evaluate(page.as_uri(), DRAWN)
    assert drawn, "no odds-ratio chart drawn"
    markers = [d for d in drawn if d["kind"] == "marker"]
    intervals = [d for d in drawn if d["kind"] == "interval"]
    assert {d["chart"].split(":")[0] for d in markers} >= {"Verschillen naar gender"}
    assert any(d["chart"].endswith("per afdeling") for d in markers)
    assert len(intervals) >= len(markers)  # every shown estimate here has an interval, two ends each
    misplaced = [d for d in drawn if abs(d["drawn"] - d["expected"]) > TOLERANCE_PX]
    assert not misplaced, misplaced[:5]
    # The drawn values are the published ones: women's incidental reward in the comparison chart.
    w = women(published)
    compare = [d for d in markers if d["chart"].startswith("Verschillen naar gender")]
    by_series = {d["trace"]: d for d in compare if d["y"].startswith("Incidentele beloning")}
    assert by_series["Binnen afdeling"]["value"] == w["within_department_odds_ratio"]
    assert by_series["Hele organisatie"]["value"] == w["odds_ratio"]
    # Side by side: the three series of one row are drawn at three different heights within that row.
    heights = {round(d["drawnY"], 1) for d in by_series.values()}
    assert len(heights) == 3 and max(heights) - min(heights) < 40


def test_the_sentences_stand_next_to_the_charts_they_describe(page: Path) -> None:
    text = html.unescape(page.read_text(encoding="utf-8"))
    sentence = (
        "blijft niet bestaan binnen afdelingen (gemeenschappelijke odds ratio 1,60, 95%-BI 0,98 – 2,61)"
    )
    # under the comparison chart, in the list of what the comparisons say together ...
    stories = text.index("Wat de vergelijkingen samen zeggen")
    assert text.index("Verschillen naar gender") < stories < text.index(sentence, stories)
    # ... and in the caption of the department forest plot, inside the same figure block.
    forest = text.index("data-title='Incidentele beloning: vrouwen t.o.v. mannen per afdeling'")
    caption_end = text.index("</figure>", forest)
    assert forest < text.index(sentence, forest) < caption_end
    assert "de afdelingen verschillen onderling (Breslow–Day p = 0,001)" in text[forest:caption_end]
    # department A favours women where the organisation as a whole favours men: said in words
    assert (
        "In 1 van de 3 afdelingen met een zichtbare odds ratio wijst het verschil de andere kant op"
        in (text[forest:caption_end])
    )
    # the tests table: Fisher beside the z-test, CMH without and with correction, Breslow–Day with its df
    assert "Toetsen naar gender" in text and "CMH χ² met correctie" in text and "Breslow–Day χ²" in text


def test_effect_dots_offsets_series_along_the_rows_only() -> None:
    frame = pl.DataFrame(
        {
            "label": ["a", "a", "b", "b"],
            "series": ["one", "two", "one", "two"],
            "estimate": [0.5, 2.0, 1.1, 0.9],
            "lo": [0.3, 1.2, None, 0.5],
            "hi": [0.8, 3.1, None, 1.6],
        }
    )
    figure = figures.effect_dots(frame, ["one", "two"], "nl", "x", "y", log_x=True)
    assert figure.layout["scattermode"] == "group"
    assert [t["orientation"] for t in figure.data] == ["h", "h"]
    assert [t["x"] for t in figure.data] == [[0.5, 1.1], [2.0, 0.9]]
    lo_log, hi_log = figure.layout["xaxis"]["range"]
    assert lo_log < math.log10(0.3) and hi_log > math.log10(3.1)


def test_sentences_take_their_level_from_the_policy(published: dict[str, pl.DataFrame]) -> None:
    """The level is the policy's fairness.confidence_level, not a fixed 5%: the interval is named with it and an
    overall gap is one Fisher's p finds below 1 − that level."""
    from dashboards.pages import SiteData
    from dashboards.pages.fairness import confidence_level
    from models.policy import load_policy

    w = dict(women(published), p_value=0.07)
    strict = story_sentence(w, "department", "gender", "en", None, level=0.95)
    loose = story_sentence(w, "department", "gender", "en", None, level=0.90)
    assert strict is not None and strict.startswith("Organisation-wide there is no clear gap")
    assert "95% CI" in strict
    assert loose is not None and loose.startswith("The overall gap") and "90% CI" in loose
    assert "90%-BI" in (story_sentence(w, "department", "gender", "nl", None, level=0.90) or "")
    settings = load_settings(PROJECT_ROOT / "calibra.yaml", PROJECT_ROOT, PROJECT_ROOT)
    policy = load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")
    data = SiteData(tables=published, settings=settings, policies={tf.ORG: policy})
    assert confidence_level(data, tf.ORG) == float(policy.rule_value("fairness", "confidence_level"))


def test_finding_sentences_name_the_policy_coverage() -> None:
    """The mart's finding sentences name the interval with the policy's confidence level, not a fixed 95%."""
    import models.fairness as mf
    from models.policy import load_policy

    policy = load_policy(PROJECT_ROOT / "policies" / "zeeland_5punt.yaml")
    outcome = next(o for o in mf.outcomes_for(policy) if o.kind == "binary")
    within = mf.Within("department", 1.6, 0.98, 2.61, 0.07)
    args = (outcome, "gender", "F", "M", 0.3, 0.4)
    assert "90% CI 0.98–2.61" in mf.finding_sentence("en", *args, within=[within], level=0.90)
    assert "95%-BI 0,98–2,61" in mf.finding_sentence("nl", *args, within=[within], level=0.95)
