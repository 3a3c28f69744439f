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
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
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
@media print{
  header.top,nav.pages,footer .screen-only,.no-print{display:none !important}
  body{font-size:10pt}
  main{max-width:none;padding:0}
  h1{font-size:15pt;margin-top:0}
  h2{font-size:12pt;break-after:avoid;page-break-after:avoid}
  .pair{grid-template-columns:1fr}
  .chart{min-height:0}
  table{font-size:8.5pt}
  .print-break{break-before:page;page-break-before:always}
  a{color:inherit;text-decoration:none}
  @page{size:A4;margin:12mm}
}
"""

# The page's only script (loaded from assets/, so the CSP can forbid inline scripts).
_SITE_JS = r"""(function () {
  "use strict";
  var PRINT_WIDTH = 690;
  function charts() { return document.querySelectorAll("div.chart[data-figure]"); }
  function draw() {
    var config = __PLOT_CONFIG__;
    charts().forEach(function (div) {
      var source = document.getElementById(div.getAttribute("data-figure"));
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(div, figure.data, figure.layout, config);
    });
  }
  function resize(width) {
    charts().forEach(function (div) {
      if (div.data) { window.Plotly.relayout(div, {width: width, autosize: width === null}); }
    });
  }
  function navigation() {
    document.querySelectorAll("select[data-navigate]").forEach(function (select) {
      select.addEventListener("change", function () {
        if (select.value) { window.location.href = select.value; }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    navigation();
    draw();
    document.documentElement.setAttribute("data-charts-drawn", String(charts().length));
  });
  window.addEventListener("beforeprint", function () { resize(PRINT_WIDTH); });
  window.addEventListener("afterprint", function () { resize(null); });
})();
"""


def site_js() -> str:
    import json

    return _SITE_JS.replace("__PLOT_CONFIG__", json.dumps(PLOT_CONFIG))
