"""Every category on every chart has its label (issue 18), on every kind of page of the sample site; and the
department filter that narrows those pages to one department.

plotly leaves category labels out when they do not fit, or labels every other one when its automatic ticks
say so: the evaluator chart once labelled every other evaluator and the flagged one had none. Here every
category axis of every drawn chart (x and y, subplots included) is compared with the tick labels plotly drew.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import BrowserMissing, Chromium
from test_site import department_packs

# Per chart and category axis: chart id, axis id, number of categories, labels drawn, labels missing.
CATEGORY_AXES = """
Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(gd => {
  const layout = gd._fullLayout || {};
  return Object.keys(layout).filter(k => /^[xy]axis[0-9]*$/.test(k)).map(k => layout[k])
    .filter(ax => ax && ax.type === 'category' && ax.visible !== false && ax.showticklabels !== false)
    .map(ax => {
      const drawn = Array.from(gd.querySelectorAll('.' + ax._id + 'tick text')).map(t => t.textContent);
      const categories = (ax._categories || []).map(String);
      // Categories are plotly text (entities, tags); a label is what it renders.
      const plain = c => new DOMParser().parseFromString(c, 'text/html').documentElement.textContent;
      const missing = categories.filter(c => !drawn.includes(plain(c)));
      return [gd.id, ax._id, categories.length, drawn.length, missing.slice(0, 3)];
    });
})
"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    try:
        browser = Chromium.start()
    except BrowserMissing as missing:
        pytest.fail(f"headless Chromium is required for the label tests: {missing}", pytrace=False)
    try:
        yield browser
    finally:
        browser.close()


def page_kinds(site: Path) -> list[Path]:
    """One page of every kind, for both organisations (their scales and pages differ)."""
    found = [site / "management" / "data_quality.html"]
    for organization in ("zeeland-demo", "vo-demo"):
        cycle = site / "management" / organization / "2024"
        staff = site / "organisatie" / organization / "2024"
        found += [
            cycle / "calibration" / "index.html",
            *department_packs(cycle)[:2],
            cycle / "norming.html",
            staff / "fairness.html",
            staff / "budget.html",
            staff / "process.html",
            cycle / "data_quality.html",
        ]
    return found


def test_every_category_on_every_chart_has_its_label(chromium: Chromium, sample_run) -> None:  # type: ignore[no-untyped-def]
    site = sample_run.settings.site
    axes = 0
    kinds: set[str] = set()
    for page in page_kinds(site):
        assert page.is_file(), page
        for chart, axis, categories, drawn, missing in chromium.evaluate(page.as_uri(), CATEGORY_AXES) or []:
            where = f"{page.relative_to(site)} {chart} {axis}"
            assert not missing and drawn >= categories, (
                f"{where}: {drawn} labels for {categories}, no {missing}"
            )
            axes += 1
            kinds.add(page.name if page.parent.name != "calibration" else "calibration")
    assert axes >= 20
    assert {"calibration", "norming.html", "fairness.html", "budget.html", "process.html"} <= kinds


def test_the_flagged_evaluator_has_its_label(chromium: Chromium, sample_run) -> None:  # type: ignore[no-untyped-def]
    """The evaluator marked as lenient (red) is named on the axis, on every pack that flags one."""
    site = sample_run.settings.site
    script = """
    Array.from(document.querySelectorAll('.js-plotly-plot')).filter(gd => gd.data.some(t =>
        t.type === 'scatter' && Array.isArray(t.marker && t.marker.color) && t.error_x)).map(gd => {
      const trace = gd.data.find(t => t.error_x);
      const flagged = trace.y.filter((_, i) => trace.marker.color[i] === '#d55e00');
      const drawn = Array.from(gd.querySelectorAll('.ytick text')).map(t => t.textContent);
      return [flagged.length, flagged.filter(f => !drawn.includes(f)).length, trace.y.length, drawn.length];
    })
    """
    flagged_seen = 0
    for page in department_packs(site / "management" / "zeeland-demo" / "2024"):
        for flagged, unlabelled, evaluators, labels in chromium.evaluate(page.as_uri(), script) or []:
            assert unlabelled == 0 and labels >= evaluators, (
                f"{page.name}: {unlabelled} flagged without a label"
            )
            flagged_seen += flagged
    assert flagged_seen >= 1, "the sample flags at least one evaluator"


def test_a_tight_evaluator_chart_still_labels_every_evaluator(chromium: Chromium, tmp_path: Path) -> None:
    """The axis itself asks for every label: squeezed to 15 px an evaluator (below plotly's 16 px for a
    13 px font, where its automatic ticks label every other category), all twenty stay named."""
    import plotly
    import polars as pl

    from dashboards.components import figure_payload, script_json
    from dashboards.figures import caterpillar

    evaluators = pl.DataFrame(
        {
            "label": [f"p{i:016x}" for i in range(20)],
            "estimate": [i / 10 - 1 for i in range(20)],
            "lo": [i / 10 - 1.3 for i in range(20)],
            "hi": [i / 10 - 0.7 for i in range(20)],
            "n": [12] * 20,
            "flagged": [i == 19 for i in range(20)],
        }
    )
    payload = figure_payload(caterpillar(evaluators, "nl", "Effect", "Beoordelaar"))
    payload["layout"]["height"] = 160 + 15 * 20
    (tmp_path / "plotly.min.js").write_bytes(
        (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    )
    page = tmp_path / "tight.html"
    page.write_text(
        "<!DOCTYPE html><html><head><script src='plotly.min.js'></script></head><body>"
        f"<div class='chart' id='c'></div><script type='application/json' id='d'>{script_json(payload)}</script>"
        "<script>var f = JSON.parse(document.getElementById('d').textContent);"
        "Plotly.newPlot('c', f.data, f.layout);</script></body></html>",
        encoding="utf-8",
    )
    axes = chromium.evaluate(page.as_uri(), CATEGORY_AXES) or []
    y = [a for a in axes if a[1] == "y"]
    assert y, "the chart has a category y axis"
    _, _, categories, drawn, missing = y[0]
    assert categories == 20 and drawn == 20 and not missing, (drawn, missing)


FILTER = """
(function () {
  var select = document.querySelector("select[data-department-filter]");
  if (!select) { return null; }
  var visible = function () {
    return Array.from(document.querySelectorAll("tr[data-department]"))
      .filter(r => getComputedStyle(r).display !== "none").map(r => r.getAttribute("data-department"));
  };
  var before = visible();
  var faded = function () {
    return Array.from(document.querySelectorAll(".js-plotly-plot")).filter(gd => gd.data.some(t =>
      t.marker && Array.isArray(t.marker.opacity) && t.marker.opacity.some(o => o < 1))).length;
  };
  return [before.length, Array.from(new Set(visible())), faded(), Array.from(select.options).length];
})()
"""


def test_the_department_filter_narrows_tables_and_fades_charts(chromium: Chromium, sample_run) -> None:  # type: ignore[no-untyped-def]
    """On norming, fairness, budget and process (where they show departments) the chosen department (in the address, #afdeling=…) keeps its
    own rows and the organisation's totals; its charts fade the other departments."""
    site = sample_run.settings.site
    for page in ("norming", "fairness", "budget", "process"):
        audience = "management" if page == "norming" else "organisatie"
        url = (site / audience / "zeeland-demo" / "2024" / f"{page}.html").as_uri()
        everything = chromium.evaluate(url, FILTER)
        if everything is None:
            # Only a page that shows no department has no filter (the sample's fairness page is organisation-wide).
            visible = chromium.evaluate(url, "document.body.innerText")
            assert page == "fairness" and "Economie" not in visible, f"{page}: no department filter"
            continue
        rows, _, faded, options = everything
        assert faded == 0 and options > 5
        rows_chosen, kept, faded_chosen, _ = chromium.evaluate(url + "#afdeling=Economie", FILTER)
        assert set(kept) <= {"Economie", ""}, f"{page}: other departments' rows stay: {kept}"
        if rows:
            assert 0 < rows_chosen < rows and "Economie" in kept
        if page in ("budget", "norming"):
            assert faded_chosen > 0, f"{page}: the charts do not show the chosen department"
