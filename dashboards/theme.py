"""Look and feel: colours, the plotly base layout, the site's CSS and its one small script.

The script only draws the figures embedded in the page (JSON in <script type="application/json">), switches
pages from the department and cycle menus (relative links, no network) and narrows charts for printing.
"""

from __future__ import annotations

from typing import Any

# Colour-blind safe (Okabe–Ito based); ordinal scales run from warm (low) to cool (high).
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
ACCENT = "#0b3d5c"
ORG = "#9aa5b1"
GUIDELINE = "#e69f00"
HIGHLIGHT = "#0072b2"
ALERT = "#d55e00"
OK = "#009e73"
HIDDEN = "#f0f2f4"
SEQUENTIAL = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]
DIVERGING = [[0.0, "#b2182b"], [0.5, "#f7f7f7"], [1.0, "#2166ac"]]
SCENARIOS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00"]


def ordinal_colours(count: int) -> list[str]:
    """Colours for an ordered scale of `count` levels, low to high."""
    palette = ["#d55e00", "#e69f00", "#c9c9c9", "#56b4e9", "#0072b2", "#004b7a"]
    if count <= 1:
        return [palette[3]]
    if count == 2:
        return [palette[0], palette[4]]
    if count == 3:
        return [palette[0], palette[2], palette[4]]
    if count == 4:
        return [palette[0], palette[1], palette[3], palette[4]]
    if count == 5:
        return palette[:5]
    return [palette[min(i * len(palette) // count, len(palette) - 1)] for i in range(count)]


def separators(language: str) -> str:
    """plotly's `separators`: decimal mark then thousands mark (Dutch 1.234,5; English 1,234.5)."""
    return ",." if language == "nl" else ".,"


def base_layout(language: str, height: int = 380) -> dict[str, Any]:
    return {
        "separators": separators(language),
        "height": height,
        "margin": {"l": 70, "r": 30, "t": 90, "b": 70},
        "font": {
            "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "size": 13,
            "color": INK,
        },
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hoverlabel": {"namelength": -1},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        "title": {"x": 0, "xanchor": "left", "font": {"size": 16}},
        "xaxis": {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True},
        "yaxis": {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True},
    }


# Plotly's own options for every chart: no logo, no link to the plotly cloud, nothing that calls out.
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "sendDataToCloud"],
}

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2933;background:#fff;line-height:1.45}
header.top{background:#0b3d5c;color:#fff;padding:.7rem 1.5rem;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:center}
header.top a{color:#fff;text-decoration:none}
header.top .brand{font-weight:700;font-size:1.1rem}
header.top .where{opacity:.9}
nav.pages{background:#f5f7fa;border-bottom:1px solid #e4e7eb;padding:.4rem 1.5rem;display:flex;flex-wrap:wrap;gap:.3rem 1rem;align-items:center}
nav.pages a{color:#0b3d5c;text-decoration:none;padding:.2rem .1rem}
nav.pages a[aria-current=page]{font-weight:700;border-bottom:2px solid #0b3d5c}
nav.pages label{font-size:.85rem;color:#52606d}
nav.pages select{font:inherit;font-size:.9rem;margin-left:.3rem}
main{max-width:1180px;margin:0 auto;padding:1rem 1.5rem 2rem}
h1{font-size:1.6rem;margin:.6rem 0 .3rem}
h2{font-size:1.25rem;margin:1.8rem 0 .4rem;border-bottom:1px solid #e4e7eb;padding-bottom:.2rem}
h3{font-size:1.05rem;margin:.2rem 0}
footer{color:#52606d;font-size:.8rem;padding:1rem 1.5rem;border-top:1px solid #e4e7eb}
table{border-collapse:collapse;margin:.5rem 0 .6rem;font-size:.88rem}
th,td{border:1px solid #cbd2d9;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f5f7fa}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
th{max-width:16rem}
td.hidden{color:#7b8794;background:#f8f9fa;text-align:center}
td.flag{color:#b23c00;font-weight:600}
.table-wrap{overflow-x:auto;max-width:100%}
figure.chart-block,section.table-block{margin:1rem 0 1.6rem;break-inside:avoid;page-break-inside:avoid}
figure.chart-block{padding:0}
.chart{width:100%;min-height:320px}
.explain{color:#3e4c59;max-width:62rem;margin:.3rem 0}
.meta{color:#7b8794;font-size:.8rem;margin:.1rem 0}
.lead{font-size:1.02rem;max-width:62rem}
.unavailable{border:1px dashed #cbd2d9;background:#fafbfc;color:#52606d;padding:.7rem 1rem;margin:1rem 0;border-radius:4px}
.notice{border-left:4px solid #e69f00;background:#fff8e6;padding:.5rem .9rem;margin:.8rem 0}
.confidential{border:2px solid #b23c00;background:#fff4ee;padding:.5rem .9rem;margin:.8rem 0;font-weight:600;color:#8a2d00}
.legend-hidden{font-size:.8rem;color:#52606d}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.8rem;margin:.8rem 0}
.card{border:1px solid #e4e7eb;border-radius:6px;padding:.7rem .9rem}
.card h3 a{color:#0b3d5c}
.card ul{margin:.3rem 0 0;padding-left:1.1rem}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
@media (max-width:900px){.pair{grid-template-columns:1fr}}
ul.links{columns:2;max-width:60rem}
.downloads{font-size:.8rem;color:#52606d;margin:.1rem 0}
.downloads a{color:#0b3d5c}
a.term{color:inherit;text-decoration:underline dotted;text-underline-offset:2px}
header.top .glossary-link{margin-left:auto;font-size:.9rem}
footer details.built summary,footer details.policy summary{cursor:pointer}
footer details.built ul,footer details.policy ul{margin:.3rem 0;padding-left:1.1rem}
dl.glossary dt{font-weight:700;margin-top:1rem}
dl.glossary dd{margin:.2rem 0 0 0;max-width:62rem}
.department-filter{margin:.6rem 0;font-size:.9rem}
.department-filter select{font:inherit;margin-left:.4rem}
tr.filtered-out{display:none}
.print-only{display:none}
@media print{
  .print-only{display:block}
  header.top,nav.pages,footer .screen-only,.no-print,.department-filter{display:none !important}
  /* plotly's toolbar never prints */
  .modebar,.modebar-container{display:none !important}
  body{font-size:9pt;line-height:1.3}
  main{max-width:none;padding:0}
  h1{font-size:14pt;margin:0 0 .2rem}
  h2{font-size:11pt;margin:.6rem 0 .2rem}
  h3{font-size:10pt}
  /* a heading stays with what follows it: no page ends in a heading */
  h1,h2,h3,.confidential{break-after:avoid;page-break-after:avoid}
  .lead{font-size:9.5pt;margin:.2rem 0}
  .explain,.notice,.meta,.legend-hidden{font-size:8pt;margin:.15rem 0}
  .notice,.confidential{padding:.2rem .5rem}
  .confidential{font-size:8pt;margin:.3rem 0}
  .pair{grid-template-columns:1fr}
  /* the evaluator report's cut-point charts: two side by side, each half the page wide (site.js) */
  .print-pair{display:grid;grid-template-columns:1fr 1fr;gap:0 .8rem;align-items:start;break-inside:avoid;
    page-break-inside:avoid;margin:.3rem 0 .5rem}
  /* the charts side by side in the first row, their captions under them across the page; the captions'
     explanation is the same sentence, so it prints once */
  .print-pair>figure.chart-block{display:contents}
  .print-pair>figure>.chart{grid-row:1;min-width:0}
  .print-pair>figure>figcaption{grid-column:1/-1}
  .print-pair>figure~figure>figcaption>.explain{display:none}
  .worklist section.table-block>h3{display:none}
  .chart{min-height:0}
  figure.chart-block{margin:.3rem 0 .5rem}
  /* a table longer than what is left of a page flows on (a block that may not break leaves a page with only
     its heading); rows stay whole and the header row repeats */
  section.table-block{margin:.3rem 0 .5rem;break-inside:auto;page-break-inside:auto}
  section.table-block>h3,section.table-block>.explain{break-after:avoid;page-break-after:avoid}
  tr{break-inside:avoid;page-break-inside:avoid}
  thead{display:table-header-group}
  /* nothing clipped: tables take the page width and wrap their text */
  .table-wrap{overflow:visible}
  table{font-size:7.5pt;width:100%;table-layout:auto}
  th,td{padding:.1rem .25rem;overflow-wrap:break-word;word-break:normal;hyphens:auto}
  th{white-space:normal}
  /* a table of a dozen columns or more (the fairness page's comparisons side by side) prints smaller and
     tighter, so its longest words still fit the page */
  table:has(th:nth-child(12)){font-size:6.5pt}
  table:has(th:nth-child(12)) th,table:has(th:nth-child(12)) td{padding:.1rem .12rem}
  /* sixteen columns (both stratifications side by side with their q and signal) need one step smaller */
  table:has(th:nth-child(16)){font-size:6pt}
  td.num{overflow-wrap:normal}
  /* the worklist's reason gets the room its sentence needs: rows of two lines, not four */
  .worklist th:last-child{width:48%}
  .worklist th,.worklist td{padding:.1rem .15rem}
  code{font-size:7pt}
  .print-break{break-before:page;page-break-before:always}
  a{color:inherit;text-decoration:none}
  /* printed, the footer's notice, build line and rules line share lines instead of one line each */
  footer{padding:.4rem 0;font-size:7.5pt;display:flex;flex-wrap:wrap;gap:0 1em}
  footer p{margin:0}
  footer details summary{list-style:none}
  @page{size:A4;margin:12mm}
}
"""

# The page's only script (loaded from assets/, so the CSP can forbid inline scripts).
_SITE_JS = r"""(function () {
  "use strict";
  // An A4 page less its margins is about 700 CSS pixels wide; printed charts are that wide and lower, with a
  // smaller font, so a department pack's charts fit on one page.
  var PRINT_WIDTH = 690, PRINT_SCALE = 0.5, PRINT_MIN_HEIGHT = 170;
  // Charts in a .print-pair print two side by side.
  var PAIR_WIDTH = 335, PAIR_MIN_HEIGHT = 150;
  var screenLayout = {};
  function charts() { return document.querySelectorAll("div.chart[data-figure]"); }
  function draw() {
    var config = __PLOT_CONFIG__;
    charts().forEach(function (div) {
      var source = document.getElementById(div.getAttribute("data-figure"));
      var figure = JSON.parse(source.textContent);
      var layout = figure.layout || {};
      screenLayout[div.id] = {height: layout.height, margin: layout.margin, font: layout.font,
        showlegend: layout.showlegend, xTitle: (layout.xaxis || {}).title, yTitle: (layout.yaxis || {}).title};
      window.Plotly.newPlot(div, figure.data, layout, config);
    });
  }
  function printHeight(div) {
    var original = (screenLayout[div.id] || {}).height || 380;
    var layout = div._fullLayout || {};
    var axis = layout.yaxis || {};
    // A category axis gets 14 px a label at the print font (and the room of its axes and title); other charts
    // shrink by PRINT_SCALE.
    var categories = axis.type === "category" && axis._categories ? axis._categories.length : 0;
    var wanted = categories ? 95 + 14 * categories : Math.round(original * PRINT_SCALE);
    return Math.max(div.closest(".print-pair") ? PAIR_MIN_HEIGHT : PRINT_MIN_HEIGHT, wanted);
  }
  function forPrint() {
    charts().forEach(function (div) {
      if (!div.data) { return; }
      var kept = screenLayout[div.id] || {};
      var margin = Object.assign({}, kept.margin || {}, {t: 58, b: 42, r: 16});
      var paired = !!div.closest(".print-pair");
      var update = {width: paired ? PAIR_WIDTH : PRINT_WIDTH, height: printHeight(div), autosize: false,
        margin: margin, "font.size": 10, "title.font.size": 12};
      // Half a page has no room for a legend or axis titles: the caption under the charts says what the marks
      // are, the chart's title what the axis holds.
      if (paired) {
        Object.assign(update, {showlegend: false, "xaxis.title.text": "", "yaxis.title.text": ""});
        update.margin = Object.assign({}, margin, {b: 26});
      }
      window.Plotly.relayout(div, update);
    });
  }
  function forScreen() {
    charts().forEach(function (div) {
      if (!div.data) { return; }
      var kept = screenLayout[div.id] || {};
      window.Plotly.relayout(div, {width: null, height: kept.height, autosize: true, margin: kept.margin,
        "font.size": (kept.font || {}).size || 13, "title.font.size": 16, showlegend: kept.showlegend,
        "xaxis.title": kept.xTitle, "yaxis.title": kept.yTitle});
    });
  }
  function navigation() {
    document.querySelectorAll("select[data-navigate]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.value) { window.location.href = select.value; }
      });
    });
  }
  // The department filter: rows of tables with a department column, the other departments' rows hidden;
  // the organisation's totals stay. Nothing is sent anywhere; the choice lives in the page's address.
  // Charts keep every department (the comparison is the point) but fade the others' bars and dots.
  function plain(value) {
    return new DOMParser().parseFromString(String(value), "text/html").documentElement.textContent;
  }
  function highlight(chosen, names) {
    charts().forEach(function (div) {
      if (!div.data) { return; }
      div.data.forEach(function (trace, index) {
        if (trace.type === "heatmap" && Array.isArray(trace.y)) {
          // A heatmap's rows cannot fade: the chosen department's row label is set in bold.
          if (!trace.y.some(function (y) { return names[plain(y)]; })) { return; }
          window.Plotly.relayout(div, {"yaxis.tickmode": "array", "yaxis.tickvals": trace.y,
            "yaxis.ticktext": trace.y.map(function (y) { return chosen && plain(y) === chosen ? "<b>" + y + "</b>" : y; })});
          return;
        }
        if (trace.type !== "bar" && trace.type !== "scatter") { return; }
        var categories = trace.orientation === "h" || trace.type === "scatter" ? trace.y : trace.x;
        if (!Array.isArray(categories)) { return; }
        var labels = categories.map(plain);
        if (!labels.some(function (l) { return names[l]; })) { return; }
        var opacity = labels.map(function (l) { return !chosen || l === chosen || !names[l] ? 1 : 0.2; });
        window.Plotly.restyle(div, {"marker.opacity": [opacity]}, [index]);
      });
    });
  }
  function departmentFilter() {
    var select = document.querySelector("select[data-department-filter]");
    if (!select) { return; }
    var names = {};
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.value) { names[option.value] = true; }
    });
    function apply() {
      var chosen = select.value;
      document.querySelectorAll("tr[data-department]").forEach(function (row) {
        var name = row.getAttribute("data-department");
        var keep = !chosen || name === chosen || name === "";
        row.classList.toggle("filtered-out", !keep);
      });
      highlight(chosen, names);
      document.documentElement.setAttribute("data-department", chosen);
    }
    select.addEventListener("change", function () {
      apply();
      try { window.history.replaceState(null, "", chosen(select)); } catch (e) { /* file:// may refuse */ }
    });
    var fromAddress = decodeURIComponent((window.location.hash.match(/^#afdeling=(.*)$/) || ["", ""])[1]);
    if (fromAddress) {
      Array.prototype.forEach.call(select.options, function (option) {
        if (option.value === fromAddress) { select.value = fromAddress; }
      });
    }
    apply();
  }
  function chosen(select) { return select.value ? "#afdeling=" + encodeURIComponent(select.value) : "#"; }
  document.addEventListener("DOMContentLoaded", function () {
    navigation();
    draw();
    departmentFilter();
    document.documentElement.setAttribute("data-charts-drawn", String(charts().length));
  });
  window.addEventListener("beforeprint", forPrint);
  window.addEventListener("afterprint", forScreen);
  if (window.matchMedia) {
    var media = window.matchMedia("print");
    var follow = function (event) { if (event.matches) { forPrint(); } };
    if (media.addEventListener) { media.addEventListener("change", follow); }
  }
})();
"""


def site_js() -> str:
    import json

    return _SITE_JS.replace("__PLOT_CONFIG__", json.dumps(PLOT_CONFIG))
