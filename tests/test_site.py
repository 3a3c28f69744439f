"""The published site (issue 7): pages, texts in both languages, escaping of hostile data, offline assets, no
identifiers, size limits, the worklist option, "not yet available", and `calibra serve`.

Sites are built from hand-built frames (through models.privacy.publish_tables, like the publish asset) and from
the session's sample run. Browser checks are in test_browser.py.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import plotly.graph_objects as go
import polars as pl
import pytest

from dashboards.components import CSP, script_json
from dashboards.site import build_site
from models.config import PROJECT_ROOT, Settings, load_settings
from models.privacy import Thresholds, publish_tables

HOSTILE = (
    '<script>alert("x")</script><a href="https://evil.example/">klik</a> & Co <img src=x onerror=alert(1)>'
)
MAX_PAGE = 2 * 1024 * 1024
JSON_BLOCK = re.compile(r"<script type='application/json' id='([^']+)'>(.*?)</script>", re.S)
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
URL = re.compile(r"https?://", re.I)
COMMENT = re.compile(r"<!--.*?-->", re.S)
MGMT_SITE, ORG_SITE = "management", "organisatie"  # the two sites (dashboards.site.SITES)
RATINGS = ["slecht", "matig", "normaal", "zeer_goed", "uitstekend"]
PSEUDONYMS = ["p0a1b2c3d4e5f6a7b", "p1111aaaa2222bbbb", "p9f8e7d6c5b4a3921"]


# ------------------------------------------------------------------------------------------------- hand-built data
def hand_sources(department: str = HOSTILE, worklist: bool = True) -> dict[str, pl.DataFrame]:
    """Marts of one organisation (zeeland-demo) and two cycles, shaped like the real ones."""
    counts = {
        department: {"S05": [0, 2, 14, 6, 3], "S09": [1, 3, 20, 9, 4]},
        "Zuid": {"S05": [1, 0, 14, 5, 0], "S09": [0, 3, 18, 8, 6]},
        "West": {"S05": [0, 0, 9, 0, 0], "S09": [0, 2, 16, 7, 2]},
        "Oost": {"S05": [0, 1, 12, 4, 2], "S09": [1, 2, 15, 9, 5]},
    }
    frames = []
    for cycle, shift in ((2023, 0), (2024, 1)):
        rows = []
        for dept, levels in counts.items():
            for level, values in levels.items():
                for pos, (code, n) in enumerate(zip(RATINGS, values, strict=True)):
                    rows.append(
                        {
                            "unit": f"{dept} × {level}",
                            "rating": code,
                            "position": pos + 1,
                            "count": n + shift * (pos == 2),
                        }
                    )
        frames.append(pl.DataFrame(rows).with_columns(pl.lit(cycle, dtype=pl.Int64).alias("cycle")))
    cells = pl.concat(frames).with_columns(
        pl.lit("zeeland-demo").alias("organization"),
        pl.lit("rating").alias("measure"),
        pl.lit("department_function_level").alias("grouping"),
    )
    labels = {
        "slecht": "Slecht",
        "matig": "Matig",
        "normaal": "Normaal",
        "zeer_goed": "Zeer goed",
        "uitstekend": "Uitstekend",
    }
    guideline = {"slecht": 0.02, "matig": 0.08, "normaal": 0.6, "zeer_goed": 0.22, "uitstekend": 0.08}
    org = (
        cells.group_by("organization", "cycle", "measure", "rating", "position")
        .agg(pl.col("count").sum())
        .with_columns(
            pl.lit("organization").alias("grouping"),
            pl.lit("zeeland-demo").alias("unit"),
            pl.col("rating").replace_strict(labels).alias("label_nl"),
            pl.col("rating").replace_strict(labels).alias("label_en"),
            pl.col("rating").replace_strict(guideline).alias("guideline_share"),
        )
    )
    departments = list(counts)
    units = pl.DataFrame(
        {
            "organization": "zeeland-demo",
            "cycle": 2024,
            "measure": "rating",
            "grouping": "department",
            "unit": departments,
            "n": [60, 56, 37, 52],
            "adjusted_mean": [3.3, 3.2, 3.0, 3.4],
            "org_mean": 3.25,
            "funnel_sd": 0.7,
            "flag": [True, False, False, False],
            "direction": ["higher", None, None, None],
            "status": ["flagged", "not_significant", "not_significant", "small_effect"],
        }
    )
    leniency = pl.DataFrame(
        {
            "organization": "zeeland-demo",
            "cycle": 2024,
            "measure": "rating",
            "evaluator_id": ["pe1", "pe2", "pe3", "pe4"],
            "n_cycle": [14, 12, 20, 3],
            "effect": [0.3, -0.1, 0.05, 0.6],
            "ci_lo": [0.05, -0.4, -0.2, 0.1],
            "ci_hi": [0.55, 0.2, 0.3, 1.1],
            "flag": [True, False, False, True],
        }
    )
    evaluator_departments = pl.DataFrame(
        {
            "organization": "zeeland-demo",
            "cycle": 2024,
            "evaluator_id": ["pe1", "pe2", "pe3", "pe4"],
            "department": [department, department, "Zuid", "West"],
        }
    )
    budget = pl.DataFrame(
        {
            "organization": "zeeland-demo",
            "cycle": [2024] * 5,
            "level": ["afdeling"] * 4 + ["organisatie"],
            "department": [*departments, "(totaal)"],
            "headcount": [60, 56, 37, 52, 205],
            "payroll": [3.0e6, 2.8e6, 1.8e6, 2.6e6, 10.2e6],
            "structural_costed": [60, 56, 37, 52, 205],
            "structural_cost_full_year": [90000.0, 80000.0, 50000.0, 70000.0, 290000.0],
            "incidental_awards": [12, 4, 11, 13, 40],
            "incidental_cost": [20000.0, 7000.0, 15000.0, 22000.0, 64000.0],
            "incidental_budget": [22500.0, 21000.0, 13500.0, 19500.0, 76500.0],
            "structural_budget": [84000.0, 78400.0, 50400.0, 72800.0, 285600.0],
        }
    )
    forecast = pl.DataFrame(
        {
            "organization": "zeeland-demo",
            "base_cycle": 2024,
            "cycle": [2025, 2026, 2025, 2026],
            "horizon": [1, 2, 1, 2],
            "scenario": ["last_cycle", "last_cycle", "guideline", "guideline"],
            "level": "organisatie",
            "department": "(totaal)",
            "headcount": 205,
            "total_cost_mean": [350000.0, 360000.0, 340000.0, 345000.0],
            "total_cost_p5": [330000.0, 335000.0, 320000.0, 322000.0],
            "total_cost_p50": [350000.0, 360000.0, 340000.0, 345000.0],
            "total_cost_p95": [372000.0, 390000.0, 361000.0, 370000.0],
            "structural_cost_p50": [290000.0, 295000.0, 280000.0, 282000.0],
            "incidental_cost_p50": [60000.0, 65000.0, 60000.0, 63000.0],
        }
    )
    process = pl.DataFrame(
        {
            "organization": "zeeland-demo",
            "cycle": 2024,
            "department": departments,
            "n": [60, 56, 37, 52],
            "evaluations_in_window": [58, 50, 37, 40],
            "evaluations_in_window_share": [58 / 60, 50 / 56, 1.0, 40 / 52],
            "appeals_filed": [2, 0, 0, 1],
            "appeals_filed_share": [2 / 60, 0.0, 0.0, 1 / 52],
        }
    )
    findings = pl.DataFrame(
        {
            "organization": "zeeland-demo",
            "cycle": 2024,
            "department": [department, "Zuid", "West", "Oost", department],
            "rule": ["Z-8", "Z-8", "Z-8", "Z-8", "Z-12"],
            "check": ["argumentation_missing"] * 4 + ["conversation_late"],
            "severity": "medium",
            "n": [2, 7, 6, 9, 11],
        }
    )
    ledger = pl.DataFrame(
        {
            "file_sha256": ["a1", "b2"],
            "file_name": ["zeeland_beoordelingen_2024.xlsx", f"{department}.csv"],
            "kind": ["evaluations", "awards"],
            "organization": ["zeeland-demo", "zeeland-demo"],
            "cycle": [2024, 2024],
            "rows_read": [1234, 20],
            "rows_loaded": [1230, 20],
            "rows_quarantined": [4, 0],
            "rows_rejected": [0, 0],
            "status": ["loaded", "loaded"],
            "message": [None, None],
        }
    )
    quarantine = pl.DataFrame(
        {"kind": ["evaluations"], "column_name": ["rating"], "rule": ["allowed_values"], "rows": [4]}
    )
    sources = {
        "marts.rating_distribution": pl.concat([cells, org], how="diagonal_relaxed"),
        "marts.unit_deviation": units,
        "marts.evaluator_leniency": leniency,
        "staging.evaluations": evaluator_departments,
        "marts.budget": budget,
        "marts.budget_forecast": forecast,
        "marts.process_status": process,
        "marts.compliance_findings": findings,
        "audit.load_ledger": ledger,
        "marts.quarantine_summary": quarantine,
    }
    sources.update(impact_sources(department))
    if worklist:
        sources["marts.calibration_worklist"] = pl.DataFrame(
            {
                "organization": "zeeland-demo",
                "cycle": 2024,
                "department": [department, department, "Zuid"],
                "employee_id": PSEUDONYMS,
                "evaluator_id": ["pe1", "pe2", "pe3"],
                "function_level": ["S05", "S09", "S09"],
                "measure": "rating",
                "rating": ["uitstekend", "slecht", "zeer_goed"],
                "previous_rating": ["normaal", None, "normaal"],
                "reason_code": ["sharp_change", "lowest_outcome", "missing_argumentation"],
                "rule": ["Z-10", "Z-2", "Z-8"],
                "reason_nl": [f"Reden {department}", "Laagste uitkomst.", "Geen motivering."],
                "reason_en": [f"Reason {department}", "Lowest outcome.", "No argumentation."],
            }
        )
    return sources


def impact_sources(department: str = HOSTILE) -> dict[str, pl.DataFrame]:
    """Calibration impact marts (issue 10) of zeeland-demo 2024, shaped like the real ones: proposals moved
    down / up per department, the distribution before and after, moves per group and the spread verdicts."""
    key = {"organization": "zeeland-demo", "period": "cycle", "first_cycle": 2024, "cycle": 2024}
    departments = [department, "Zuid", "West", "Oost"]
    down, up, n = [8, 2, 0, 7], [6, 5, 0, 3], [60, 56, 37, 52]
    impact = pl.DataFrame(
        {
            **key,
            "grouping": ["department"] * 4 + ["organization"],
            "unit": [*departments, "zeeland-demo"],
            "n": [*n, sum(n)],
            "n_down": [*down, sum(down)],
            "n_up": [*up, sum(up)],
            "n_unchanged": [a - b - c for a, b, c in zip([*n, sum(n)], [*down, sum(down)], [*up, sum(up)], strict=True)],
        }
    )  # fmt: skip
    distribution = pl.DataFrame(
        {
            **key,
            "grouping": "organization",
            "unit": "zeeland-demo",
            "rating": RATINGS,
            "rating_position": [1, 2, 3, 4, 5],
            "n": 205,
            "n_proposed": [2, 8, 120, 55, 20],
            "n_final": [3, 9, 125, 50, 18],
        }
    )
    moves = pl.DataFrame(
        {
            **key,
            "direction": ["down", "down", "up", "up"] * 2,
            "attribute": ["gender"] * 4 + ["function_level"] * 4,
            "group_value": ["F", "M", "F", "M", "S05", "S09", "S05", "S09"],
            "is_reference": [False, True, False, True] + [False] * 4,
            "reference_group": ["M"] * 4 + ["rest_of_organisation"] * 4,
            "n": [100, 105, 100, 105, 80, 125, 80, 125],
            "count": [10, 7, 5, 9, 5, 12, 4, 10],
            "reference_n": [105, 105, 105, 105, 125, 80, 125, 80],
            "rate_ci_low": [0.055, 0.033, 0.022, 0.046, 0.027, 0.056, 0.02, 0.044],
            "rate_ci_high": [0.174, 0.131, 0.112, 0.155, 0.138, 0.161, 0.122, 0.14],
            "odds_ratio": [1.55, None, 0.56, None, 0.62, 1.6, 0.6, 1.65],
            "q_value": [0.04, None, 0.6, None, 0.7, 0.7, 0.8, 0.8],
            "within_level_odds_ratio": [1.8, None, 0.6, None, None, None, None, None],
            "within_level_ci_low": [1.1, None, 0.2, None, None, None, None, None],
            "within_level_ci_high": [2.9, None, 1.7, None, None, None, None, None],
            "within_level_q_value": [0.03, None, 0.6, None, None, None, None, None],
            "flag": [True, False, False, False, False, False, False, False],
            "finding_nl": [f"Vrouwen werden vaker omlaag gezet ({department}).", *[None] * 7],
            "finding_en": [f"Women were moved down more often ({department}).", *[None] * 7],
        }
    )
    spread = pl.DataFrame(
        {
            **key,
            "measure": ["unit_sd", "group_gap"],
            "dimension": ["department", "gender"],
            "group_value": [None, "F"],
            "reference_group": [None, "M"],
            "n": [205, 100],
            "reference_n": [None, 105],
            "before": [0.21, -0.05],
            "after": [0.15, -0.09],
            "change": [-0.06, -0.04],
            "change_ci_low": [-0.1, -0.07],
            "change_ci_high": [-0.02, -0.01],
            "verdict": ["narrowed", "widened"],
            "publishable": [True, True],
            "sentence_nl": ["De kalibratie verkleinde de verschillen tussen afdelingen.", "De kalibratie vergrootte het verschil tussen vrouwen en mannen."],
            "sentence_en": ["Calibration narrowed the differences between departments.", "Calibration widened the gap between women and men."],
        }
    )  # fmt: skip
    return {
        "marts.calibration_impact": impact,
        "marts.calibration_distribution": distribution,
        "marts.calibration_moves": moves,
        "marts.calibration_spread": spread,
    }


def build_hand_site(
    out: Path, language: str = "nl", include_worklist: bool = True, department: str = HOSTILE
) -> Path:
    """Both sites of the hand-made sources in `out`, and their meeting packs (pseudonymised, laid out as
    pipelines/packs.py lays them out, not re-identified) in `hand_packs(out)`."""
    settings = load_settings(PROJECT_ROOT / "calibra.yaml", out.parent / "home", out)
    published = publish_tables(
        hand_sources(department), {"zeeland-demo": Thresholds()}, include_worklist=include_worklist
    )
    build_site(published.tables, settings, out, language, include_worklist=include_worklist)
    write_packs(published.tables, settings, hand_packs(out), language, include_worklist)
    return out


def hand_packs(site: Path) -> Path:
    """Where build_hand_site writes the meeting packs of the site at `site`."""
    return site.parent / "packs"


def write_packs(
    tables: dict[str, pl.DataFrame], settings: Settings, root: Path, language: str, include_worklist: bool
) -> None:
    """The meeting packs of `tables` (the site's department pages of the meeting release) under `root`, with
    the site's assets beside them, as pipelines.packs writes them (without re-identifying)."""
    import shutil

    from dashboards.site import MEETING, build_time, organization_pages, placed, site_data

    data = site_data(tables, settings, include_worklist)
    pages: dict[str, str] = {}
    for org in settings.organizations:
        pages.update(organization_pages(data, language, org, MEETING))
    shutil.copytree(settings.site / "management" / "assets", root / "assets", dirs_exist_ok=True)
    for path, content in placed(pages, tables, build_time(), language, {}).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def department_packs(cycle: Path) -> list[Path]:
    """The calibration packs of one organisation's cycle folder (every page but the overview)."""
    return sorted(p for p in (cycle / "calibration").glob("*.html") if p.name != "index.html")


def all_strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in all_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in all_strings(v)]
    return []


def chart_payloads(text: str) -> list[tuple[str, dict]]:
    return [(ident, json.loads(body)) for ident, body in JSON_BLOCK.findall(text)]


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sites")
    return {
        "nl": build_hand_site(root / "nl" / "site", "nl"),
        "en": build_hand_site(root / "en" / "site", "en"),
        "no_worklist": build_hand_site(root / "nowl" / "site", "nl", include_worklist=False),
        "clean": build_hand_site(root / "clean" / "site", "nl", department="Noord"),
    }


# ------------------------------------------------------------------------------------------------- structure
def test_site_has_an_index_and_every_page_per_organisation_and_cycle(sites: dict[str, Path]) -> None:
    site = sites["nl"]
    assert (site / ORG_SITE / "index.html").is_file() and (site / MGMT_SITE / "index.html").is_file()
    assert (site / MGMT_SITE / "data_quality.html").is_file() and not (
        site / ORG_SITE / "data_quality.html"
    ).exists()
    # The hand-built organisation release holds 2024 only (2023 is only in the rating distribution, which is on
    # the management site): the organisation site has no 2023.
    assert not (site / ORG_SITE / "zeeland-demo" / "2023").exists()
    for cycle in (2023, 2024):
        for audience, kinds in (
            (MGMT_SITE, ("norming", "data_quality")),
            (ORG_SITE, ("fairness", "budget", "process") if cycle == 2024 else ()),
        ):
            base = site / audience / "zeeland-demo" / str(cycle)
            for page in kinds:
                assert (base / f"{page}.html").is_file(), f"{page} of {cycle}"
        packs = department_packs(site / MGMT_SITE / "zeeland-demo" / str(cycle))
        assert len(packs) == 4, "one calibration pack per department"
        assert (site / MGMT_SITE / "zeeland-demo" / str(cycle) / "calibration" / "index.html").is_file()
        assert not (site / ORG_SITE / "zeeland-demo" / str(cycle) / "calibration").exists()
        assert not (site / ORG_SITE / "zeeland-demo" / str(cycle) / "norming.html").exists()
    assert "zeeland-demo/2024/norming.html" in (site / MGMT_SITE / "index.html").read_text(encoding="utf-8")
    index = (site / ORG_SITE / "index.html").read_text(encoding="utf-8")
    assert "zeeland-demo/2024/fairness.html" in index and "norming" not in index


def test_assets_ship_plotly_once_and_pages_load_only_local_scripts(sites: dict[str, Path]) -> None:
    site = sites["nl"]
    for audience in (ORG_SITE, MGMT_SITE):  # each site self-contained: its own file
        assert (site / audience / "assets" / "plotly.min.js").stat().st_size > 1_000_000
    found = sorted(site.rglob("plotly*.js"))
    assert found == sorted(site / a / "assets" / "plotly.min.js" for a in (MGMT_SITE, ORG_SITE))
    # ... stored once: the two files are one (hard links), so the site holds plotly.js's bytes once
    assert len({(f.stat().st_dev, f.stat().st_ino) for f in found}) == 1
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        assert f'content="{CSP}"' in text and "connect-src 'none'" in text, f"{page.name}: CSP"
        assert "script-src 'self'" in text
        for attributes in SCRIPT_TAG.findall(text):
            local = "src=" in attributes and ("assets/" in attributes or 'manifest.js"' in attributes)
            assert local or "application/json" in attributes, (
                f"{page.name}: inline or remote script {attributes!r}"
            )
        assert "Plotly.newPlot" not in text, "figures are drawn by assets/site.js, not inline scripts"
        assert page.stat().st_size <= MAX_PAGE


def test_no_page_names_a_network_address(sites: dict[str, Path]) -> None:
    for page in pages(sites["clean"]):
        text = COMMENT.sub("", page.read_text(encoding="utf-8"))
        assert not URL.search(text), f"{page}: http(s) URL outside comments"
    site_js = (sites["clean"] / ORG_SITE / "assets" / "site.js").read_text(encoding="utf-8")
    assert not URL.search(site_js) and "fetch(" not in site_js and "XMLHttpRequest" not in site_js


def test_every_chart_has_title_axes_n_sentence_and_source(sites: dict[str, Path]) -> None:
    charts = 0
    for language in ("nl", "en"):
        source_word = "Bron" if language == "nl" else "Source"
        for page in pages(sites[language]):
            text = page.read_text(encoding="utf-8")
            blocks = text.split("<figure class='chart-block'")[1:]
            payloads = dict(chart_payloads(text))
            assert len(blocks) == len(payloads)
            for block in blocks:
                ident = re.search(r"id='(chart-\d+)-data'", block).group(1)  # type: ignore[union-attr]
                layout = payloads[f"{ident}-data"]["layout"]
                assert layout["title"]["text"].strip(), f"{page.name}: chart without title"
                assert re.match(r"n = ([\d.,]+|·)$", layout["title"]["subtitle"]["text"]), (
                    f"{page.name}: chart without n"
                )
                if "xaxis" in layout:
                    assert (
                        layout["xaxis"]["title"]["text"].strip() and layout["yaxis"]["title"]["text"].strip()
                    )
                assert "<p class='explain'>" in block and re.search(
                    r"<p class='explain'>(?:[^<]|<a class='term' href='[^']+'>[^<]+</a>){20,}</p>", block
                )
                # The source is a tooltip for analysts, not text on the page.
                assert re.search(rf"<p class='meta' title='{source_word}: [^']+'>", block)
                assert f"{source_word}: " not in re.sub(r"title='[^']*'", "", block)
                assert layout["separators"] == (",." if language == "nl" else ".,")
                charts += 1
    assert charts > 20


# ------------------------------------------------------------------------------------------------- escaping
def test_hostile_department_name_is_text_in_html_and_in_figure_json(sites: dict[str, Path]) -> None:
    escaped = html.escape(HOSTILE, quote=True)
    seen_in_table = seen_in_json = False
    for page in pages(sites["nl"]):
        text = page.read_text(encoding="utf-8")
        outside_json = JSON_BLOCK.sub("", text)
        assert HOSTILE not in text
        assert (
            "<script>alert" not in text and '<a href="https://evil' not in text and "<img src=x" not in text
        )
        assert not re.search(r"(href|src|action)\s*=\s*[\"']?https?://", outside_json, re.I)
        if escaped in outside_json:
            seen_in_table = True
        for ident, body in JSON_BLOCK.findall(text):
            assert "<" not in body and ">" not in body, (
                f"{page.name} {ident}: raw angle bracket in embedded JSON"
            )
            strings = "\n".join(all_strings(json.loads(body)))
            assert "<script" not in strings and "<a " not in strings and "<img" not in strings
            if html.escape(HOSTILE, quote=False) in strings:
                seen_in_json = True
    assert seen_in_table, "the hostile name must appear, escaped, in an HTML table or heading"
    assert seen_in_json, "the hostile name must appear, escaped, in a plotly figure"


def test_script_json_cannot_close_its_script_element() -> None:
    payload = {"text": "</script><script>alert(1)</script>", "amp": "a & b", "sep": "\u2028\u2029"}
    encoded = script_json(payload)
    assert "</" not in encoded and "<" not in encoded and ">" not in encoded and "&" not in encoded
    assert "\u2028" not in encoded and "\u2029" not in encoded
    assert json.loads(encoded) == payload


def test_worklist_is_marked_confidential_and_can_be_left_out(sites: dict[str, Path]) -> None:
    """The worklist is in the meeting packs only (issue 16: the management site shows the management release):
    marked confidential there, and left out when the site is built without it."""
    text = "".join(p.read_text(encoding="utf-8") for p in pages(hand_packs(sites["nl"])))
    assert all(pseudonym in text for pseudonym in PSEUDONYMS)
    assert "VERTROUWELIJK" in text
    site = "".join(p.read_text(encoding="utf-8") for p in pages(sites["nl"]))
    assert not any(pseudonym in site for pseudonym in PSEUDONYMS), "no case on either site"
    without = "".join(p.read_text(encoding="utf-8") for p in pages(hand_packs(sites["no_worklist"])))
    assert not any(pseudonym in without for pseudonym in PSEUDONYMS)
    assert "weggelaten" in without


def test_the_management_site_shows_the_management_release_only(sites: dict[str, Path]) -> None:
    """A department page of the management site reads the protected `ratings` (small cells hidden), never the
    meeting release: each count it shows is `ratings`' count, and it names the pack for the cases; the pack
    shows the department's own unsuppressed counts and its worklist."""
    management = sites["nl"] / MGMT_SITE / "zeeland-demo" / "2024"
    packs = hand_packs(sites["nl"]) / "zeeland-demo" / "2024"
    mine = sorted(p.name for p in department_packs(management))
    assert mine and mine == sorted(p.name for p in department_packs(packs)), "a page per department in both"
    for page in department_packs(management):
        body = page.read_text(encoding="utf-8")
        assert "Afdeling:" in body and "kalibratiepakket van de vergadering" in body
        assert "Werklijst" not in body and "VERTROUWELIJK" not in body
    for page in department_packs(packs):
        body = page.read_text(encoding="utf-8")
        assert "Kalibratiepakket:" in body and "VERTROUWELIJK" in body


# ------------------------------------------------------------------------------------------------- languages
def test_dutch_is_the_default_and_english_on_request(sites: dict[str, Path]) -> None:
    nl = (sites["nl"] / ORG_SITE / "zeeland-demo" / "2024" / "budget.html").read_text(encoding="utf-8")
    en = (sites["en"] / ORG_SITE / "zeeland-demo" / "2024" / "budget.html").read_text(encoding="utf-8")
    assert '<html lang="nl">' in nl and '<html lang="en">' in en
    assert "Budget en prognose" in nl and "Budget and forecast" in en
    # Organisation total: cost € 64.000 of budget € 76.500 (84%) — Dutch and English number formats.
    assert "€ 64.000" in nl and "€ 76.500" in nl and "84%" in nl
    assert "€64,000" in en and "€76,500" in en
    quality_nl = (sites["nl"] / MGMT_SITE / "zeeland-demo" / "2024" / "data_quality.html").read_text(
        encoding="utf-8"
    )
    quality_en = (sites["en"] / MGMT_SITE / "zeeland-demo" / "2024" / "data_quality.html").read_text(
        encoding="utf-8"
    )
    assert ">1.234<" in quality_nl and ">1,234<" in quality_en


def test_i18n_has_every_key_in_both_languages() -> None:
    from dashboards.i18n import TEXTS, fmt_number, fmt_pct

    for key, entry in TEXTS.items():
        assert set(entry) >= {"nl", "en"}, key
        if isinstance(entry["nl"], dict):
            assert set(entry["nl"]) == set(entry["en"]), key
    assert fmt_number(1234.5, "nl") == "1.234,5" and fmt_number(1234.5, "en") == "1,234.5"
    assert fmt_pct(0.12, "nl") == "12%" and fmt_pct(0.125, "en", 1) == "12.5%"


def test_pages_say_not_yet_available_for_missing_marts(tmp_path: Path) -> None:
    settings = load_settings(PROJECT_ROOT / "calibra.yaml", tmp_path / "home", tmp_path / "site")
    sources = {
        k: v
        for k, v in hand_sources("Noord").items()
        if k in ("audit.load_ledger", "marts.quarantine_summary")
    }
    published = publish_tables(sources, {"zeeland-demo": Thresholds()})
    build_site(published.tables, settings, tmp_path / "site", "nl")
    for page in ("calibration/index.html", "norming.html", "fairness.html", "budget.html", "process.html"):
        base = (
            tmp_path
            / "site"
            / (MGMT_SITE if page.startswith(("calibration", "norming")) else ORG_SITE)
            / "zeeland-demo"
            / "2024"
        )
        assert "nog niet beschikbaar" in (base / page).read_text(encoding="utf-8"), page
    quality = tmp_path / "site" / MGMT_SITE / "zeeland-demo" / "2024" / "data_quality.html"
    assert ">1.234<" in quality.read_text(encoding="utf-8")


def test_a_failed_build_leaves_the_previous_site(tmp_path: Path) -> None:
    site = build_hand_site(tmp_path / "site", "nl", department="Noord")
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    settings = load_settings(PROJECT_ROOT / "calibra.yaml", tmp_path / "home", site)
    with pytest.raises(ValueError, match="language"):
        build_site({}, settings, site, "fr")
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before


# ------------------------------------------------------------------------------------------------- serve
def _serve(site: Path) -> tuple[object, str]:
    from pipelines.serve import make_server

    server = make_server(site, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}"


def test_serve_binds_loopback_and_serves_only_the_site_folder(sites: dict[str, Path]) -> None:
    site = sites["clean"]
    secret = site.parent / "secret.txt"
    secret.write_text("not for the browser", encoding="utf-8")
    server, base = _serve(site / ORG_SITE)
    try:
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{base}/index.html", timeout=30) as response:
            assert response.status == 200 and b"calibra" in response.read()
            assert response.headers["X-Content-Type-Options"] == "nosniff"
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt", "/assets/"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(f"{base}{path}", timeout=30)
            assert refused.value.code == 404, path
    finally:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_serve_parser_registers_the_command() -> None:
    from pipelines.serve import add_serve_parser, cmd_serve

    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["serve", "--port", "8123", "--site", "/tmp/x"])
    assert args.func is cmd_serve and args.port == 8123 and args.site == "/tmp/x"


def test_serve_refuses_a_folder_without_a_site(tmp_path: Path) -> None:
    from pipelines.serve import make_server

    with pytest.raises(FileNotFoundError):
        make_server(tmp_path, 0)


# ------------------------------------------------------------------------------------------------- the sample run
def raw_identifiers(home: Path) -> set[str]:
    """Employee and evaluator numbers exactly as they appear in the sample's inbox files."""
    from models.mapping import find_mapping, load_mappings
    from models.readers import read_source

    mappings = load_mappings([PROJECT_ROOT / "mappings"])
    found: set[str] = set()
    for path in sorted((home / "inbox").iterdir()):
        mapping = find_mapping(path.name, mappings)
        if mapping is None:
            continue
        frame = read_source(path, mapping)
        for source, canonical in mapping.columns.items():
            if (
                canonical in ("employee_id", "evaluator_id", "second_evaluator_id")
                and source in frame.columns
            ):
                found.update(str(v).strip() for v in frame[source].drop_nulls().to_list() if str(v).strip())
    return found


def test_sample_site_pages_exist_are_small_and_hold_no_identifiers(sample_run) -> None:  # type: ignore[no-untyped-def]
    assert sample_run.success
    site = sample_run.settings.site
    all_pages = pages(site)
    assert len(all_pages) > 20
    for org in sample_run.settings.organizations:
        for page in ("norming", "fairness", "budget", "process", "data_quality"):
            assert list(site.glob(f"*/{org}/*/{page}.html")), f"{org}: {page}"
        assert any(department_packs(c) for c in (site / MGMT_SITE / org).iterdir()), (
            f"{org}: calibration packs"
        )
    ids = raw_identifiers(sample_run.settings.home)
    assert len(ids) > 500, "the sample's inbox must yield its employee numbers"
    pattern = re.compile(
        r"(?<![0-9A-Za-z.,])("
        + "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        + r")(?![0-9A-Za-z])"
    )
    for page in all_pages:
        text = page.read_text(encoding="utf-8")
        assert page.stat().st_size <= MAX_PAGE, f"{page}: larger than 2 MB"
        hit = pattern.search(text)
        assert hit is None, f"{page.relative_to(site)}: a raw identifier from the inbox appears in the page"
        assert not URL.search(COMMENT.sub("", text)), f"{page.relative_to(site)}: an http(s) URL"
        for _, payload in chart_payloads(text):
            assert payload["layout"]["title"]["text"]
            # Publishing writes plain dicts; plotly's own schema check of every figure stands in for the
            # go.Figure objects it no longer builds (raises on any invalid property).
            go.Figure(data=payload["data"], layout=payload["layout"])


def test_sample_site_hides_small_cells_in_every_figure(sample_run) -> None:  # type: ignore[no-untyped-def]
    """Every count a calibration figure of the site shows in its hover text ("(n = …)") comes from the
    protected tables: 0 or at least k people, on the overview and on every department's page (the management
    release since issue 16). Only a department's meeting pack (meeting release, not on the site) shows its
    own counts unsuppressed (docs/privacy.md)."""
    site = sample_run.settings.site
    counts = []
    for page in site.glob("*/*/*/calibration/*.html"):
        for _, payload in chart_payloads(page.read_text(encoding="utf-8")):
            for match in re.findall(r"\(n = ([\d.,]+)\)", json.dumps(payload, ensure_ascii=False)):
                counts.append(int(match.replace(".", "").replace(",", "")))
    assert counts, "the calibration packs must show counts"
    assert all(c == 0 or c >= 5 for c in counts)


def test_heatmap_writes_published_counts_where_the_row_total_is_hidden() -> None:
    """A department whose total is hidden (its unrated count would follow from it) has no shares, but its
    published counts are still worth reading: they are written as people, without colour; hidden cells keep
    the mark."""
    from dashboards import figures

    frame = pl.DataFrame(
        {
            "row": ["A", "A", "B", "B"],
            "column": ["r1", "r2", "r1", "r2"],
            "share": [0.25, 0.75, None, None],
            "count": [5, 15, 75, None],
        }
    )
    for language, shown in (("nl", "75 pers."), ("en", "75 ppl")):
        spec = figures.heatmap(frame, ["A", "B"], ["r1", "r2"], {}, language, "x", "y")
        [trace] = spec.data
        assert trace["text"][0][0].startswith("25")
        assert trace["text"][1] == [shown, "·"]
        assert trace["z"][1] == [None, None], "no colour without a share"
    without_counts = figures.heatmap(frame.drop("count"), ["A", "B"], ["r1", "r2"], {}, "nl", "x", "y")
    [trace] = without_counts.data
    assert trace["text"][1] == ["·", "·"]


def test_a_department_with_a_hidden_total_still_shows_its_published_counts(tmp_path: Path) -> None:
    """Oost has two people without a rating: the process page (organisation release) hides that count and
    every number that gives it back within the organisation release. `ratings` is on the management site and
    protected within itself, so it shows Oost's rated total (the management reader combining both sites is
    the accepted case of docs/privacy.md). Its calibration pack (meeting release) compares its whole
    distribution with the organisation's."""
    from dashboards.pages.calibration import department_file

    sources = hand_sources("Noord")
    sources["marts.process_status"] = sources["marts.process_status"].with_columns(
        pl.Series("ratings_missing", [0, 0, 0, 2])  # Noord, Zuid, West, Oost
    )
    published = publish_tables(sources, {"zeeland-demo": Thresholds()})
    ratings = published.tables["ratings"].filter(
        (pl.col("department") == "Oost") & pl.col("function_level").is_null() & (pl.col("cycle") == 2024)
    )
    # Protected within `ratings` only: the total is not hidden for the process page's sake. Its two small
    # cells (matig, slecht) are hidden; the total is published exactly (53) or, where that would cost a
    # complement, over the shown cells ("excl. n < k", docs/privacy.md): never forced from another table.
    total = ratings.filter(pl.col("rating").is_null()).row(0, named=True)
    shown_sum = ratings.filter(pl.col("rating").is_not_null())["n"].drop_nulls().sum()
    assert total["n"] == 53 or (
        total["n"] is None and total["excludes_hidden"] and total["n_shown"] == shown_sum == 49
    ), total
    assert total["suppressed_reason"] in (None, "unpublished")
    process = published.tables["process"].filter((pl.col("department") == "Oost") & (pl.col("cycle") == 2024))
    assert process.height > 0
    unrated = process.filter((pl.col("metric") == "ratings_missing") & pl.col("count").is_not_null())
    assert unrated.height == 0, "the two people without a rating are not shown on the process page"
    shown = ratings.filter(pl.col("rating").is_not_null() & pl.col("n").is_not_null())
    assert shown.height >= 2
    settings = load_settings(PROJECT_ROOT / "calibra.yaml", tmp_path / "home", tmp_path / "site")
    build_site(published.tables, settings, tmp_path / "site", "nl")
    write_packs(published.tables, settings, hand_packs(tmp_path / "site"), "nl", True)
    for folder in (tmp_path / "site" / MGMT_SITE, hand_packs(tmp_path / "site")):
        page = folder / "zeeland-demo" / "2024" / "calibration" / department_file("Oost")
        # The management page (`ratings`) and the pack (meeting release, docs/privacy.md) show Oost's total.
        assert "Het totaal van deze afdeling is afgeschermd" not in html.unescape(
            page.read_text(encoding="utf-8")
        )
    mine = published.tables["pack_ratings"].filter(
        (pl.col("department") == "Oost") & pl.col("function_level").is_null() & (pl.col("cycle") == 2024)
    )
    assert (
        mine["n"].null_count() == 0 and mine.filter(pl.col("rating").is_not_null())["share"].null_count() == 0
    )


def test_data_quality_page_speaks_the_language_and_says_when_nothing_was_quarantined(
    sites: dict[str, Path], tmp_path: Path
) -> None:
    """Kinds and load statuses in the page's language; no quarantined rows is said in a sentence, and only
    a missing mart is 'not yet available'."""
    page = "management/zeeland-demo/2024/data_quality.html"
    nl = html.unescape((sites["nl"] / page).read_text(encoding="utf-8"))
    en = html.unescape((sites["en"] / page).read_text(encoding="utf-8"))
    assert ">beoordelingen<" in nl and ">geladen<" in nl and ">evaluations<" not in nl
    assert ">evaluations<" in en and ">loaded<" in en
    settings = load_settings(PROJECT_ROOT / "calibra.yaml", tmp_path / "home", tmp_path / "site")
    for name, quarantine, expected in (
        ("empty", pl.DataFrame(schema={"kind": pl.String, "column_name": pl.String, "rule": pl.String, "rows": pl.Int64}), "Geen rijen in quarantaine"),
        ("missing", None, "nog niet beschikbaar"),
    ):  # fmt: skip
        sources = hand_sources("Noord")
        if quarantine is None:
            del sources["marts.quarantine_summary"]
        else:
            sources["marts.quarantine_summary"] = quarantine
        published = publish_tables(sources, {"zeeland-demo": Thresholds()})
        build_site(published.tables, settings, tmp_path / name, "nl")
        text = html.unescape((tmp_path / name / page).read_text(encoding="utf-8"))
        section = text.split(">Quarantaine</h2>")[1].split("<h2>")[0]
        assert expected in section, (name, section[:300])


def test_group_rates_puts_the_series_side_by_side_and_marks_hidden_rates_in_their_slot() -> None:
    """Moved down and moved up of one group sat on top of each other where the rates were close: each series
    has its own slot in the row (plotly's grouped scatter), and a hidden rate's mark sits in its series' slot."""
    from dashboards import figures

    frame = pl.DataFrame(
        {
            "section": ["Gender"] * 4,
            "label": ["men", "men", "women", "women"],
            "series": ["down", "up", "down", "up"],
            "rate": [0.034, 0.034, 0.05, None],
            "lo": [0.02, 0.02, 0.03, None],
            "hi": [0.06, 0.06, 0.08, None],
            "n": [500, 500, 400, None],
            "flagged": [False, False, False, False],
        }
    )
    spec = figures.group_rates(frame, ["down", "up"], {}, "nl", "x", "y")
    assert spec.layout["scattermode"] == "group"
    dots = [t for t in spec.data if t.get("mode") == "markers" and t.get("name")]
    assert [(t["name"], t["orientation"], t["offsetgroup"]) for t in dots] == [
        ("down", "h", "down"),
        ("up", "h", "up"),
    ]
    [mark] = [t for t in spec.data if t.get("mode") == "text"]
    assert mark["offsetgroup"] == "up" and mark["y"] == [["Gender"], ["women"]]
    assert spec.layout["xaxis"]["range"][0] == 0 and spec.layout["xaxis"]["range"][1] >= 0.08


def test_every_published_figure_is_valid_plotly(sites: dict[str, Path]) -> None:
    """Publishing writes plain dicts (building go.Figure objects was most of the site's time); plotly's own
    schema validation of every figure on every page stands in for it here."""
    checked = 0
    for page in pages(sites["nl"]):
        for _, payload in chart_payloads(page.read_text(encoding="utf-8")):
            go.Figure(data=payload["data"], layout=payload["layout"])  # raises on any invalid property
            checked += 1
    assert checked > 20


# ------------------------------------------------------------------------------------------------- calibration impact
IMPACT_CHARTS = (
    "chart_impact_departments_title",
    "chart_impact_before_after_title",
    "chart_impact_groups_title",
)


def impact_section(page: str) -> str:
    """The calibration impact section of a norming page (from its heading to the end of <main>)."""
    from dashboards.i18n import text as say

    for language in ("nl", "en"):
        heading = f"<h2 id='impact'>{html.escape(say('impact_title', language))}</h2>"
        if heading in page:
            return page[page.index(heading) : page.index("</main>")]
    raise AssertionError("the norming page has no calibration impact section")


def chart_titles(section: str) -> list[str]:
    return [
        html.unescape(t) for t in re.findall(r"<figure class='chart-block' data-title='([^']*)'", section)
    ]


def test_norming_page_shows_the_calibration_impact(sites: dict[str, Path]) -> None:
    from dashboards.i18n import text as say

    for language in ("nl", "en"):
        page = (sites[language] / MGMT_SITE / "zeeland-demo" / "2024" / "norming.html").read_text(
            encoding="utf-8"
        )
        section = impact_section(page)
        assert chart_titles(section) == [say(key, language) for key in IMPACT_CHARTS]
        # 17 of 205 proposals down and 14 up: the organisation's summary sentence.
        summary = say("impact_summary", language).format(
            moved="31", n="205", share="15,1%" if language == "nl" else "15.1%", down="17", up="14"
        )
        assert html.escape(summary) in section
        # The flagged group's finding (hostile department name escaped) and the spread verdicts are listed.
        assert html.escape(f"({HOSTILE}).") in section and HOSTILE not in section
        assert "verschillen tussen afdelingen" in section or "differences between departments" in section
        assert say("impact_no_proposals", language) not in html.unescape(section)
    # West: nobody moved (everyone alike) — its parts are hidden and drawn as one grey "·" segment.
    nl = (sites["nl"] / MGMT_SITE / "zeeland-demo" / "2024" / "norming.html").read_text(encoding="utf-8")
    payloads = dict(chart_payloads(impact_section(nl)))
    bars = next(iter(payloads.values()))
    hidden = [t for t in bars["data"] if t["name"] == "afgeschermd"]
    assert hidden and "·" in hidden[0]["text"][hidden[0]["y"].index("West")]
    # The cycle without proposals (2023 has no calibration marts in the hand-built data) says so plainly.
    other = (sites["nl"] / MGMT_SITE / "zeeland-demo" / "2023" / "norming.html").read_text(encoding="utf-8")
    assert html.escape(say("impact_no_proposals", "nl")) in impact_section(other)


def test_sample_norming_page_shows_the_calibration_impact(sample_run) -> None:  # type: ignore[no-untyped-def]
    """zeeland-demo's exports keep the evaluator's proposal: its norming pages carry the calibration impact
    section with its three charts and the spread verdicts; vo-demo's do not, and say so in plain words."""
    from dashboards.i18n import text as say

    site = sample_run.settings.site
    zeeland = sorted((site / MGMT_SITE).glob("zeeland-demo/*/norming.html"))
    assert zeeland, "the sample must publish zeeland-demo's norming pages"
    for path in zeeland:
        section = impact_section(path.read_text(encoding="utf-8"))
        assert chart_titles(section) == [say(key, "nl") for key in IMPACT_CHARTS], path
        assert html.escape(say("impact_spread_title", "nl")) in section
        assert html.escape(say("impact_no_proposals", "nl")) not in section
        for _, payload in chart_payloads(section):
            assert re.match(r"n = [\d.]+$", payload["layout"]["title"]["subtitle"]["text"]), path
            go.Figure(data=payload["data"], layout=payload["layout"])
    vo = sorted((site / MGMT_SITE).glob("vo-demo/*/norming.html"))
    assert vo
    for path in vo:
        section = impact_section(path.read_text(encoding="utf-8"))
        assert html.escape(say("impact_no_proposals", "nl")) in section, path
        assert not chart_titles(section), "no charts without proposals"


def test_a_long_worklist_is_cut_with_a_note(tmp_path: Path) -> None:
    """A department with thousands of cases shows the first WORKLIST_ROWS and says how many there are."""
    from dashboards.pages.calibration import WORKLIST_ROWS

    sources = hand_sources()
    worklist = sources["marts.calibration_worklist"]
    template = worklist.row(0, named=True)
    many = pl.DataFrame(
        [{**template, "employee_id": f"p{i:015d}"} for i in range(WORKLIST_ROWS + 40)], schema=worklist.schema
    )
    sources["marts.calibration_worklist"] = pl.concat([worklist, many])
    site = tmp_path / "site"
    settings = load_settings(PROJECT_ROOT / "calibra.yaml", tmp_path / "home", site)
    published = publish_tables(sources, {"zeeland-demo": Thresholds()})
    build_site(published.tables, settings, site, "en")
    write_packs(published.tables, settings, hand_packs(site), "en", True)
    texts = [
        p.read_text(encoding="utf-8")
        for c in (hand_packs(site) / "zeeland-demo").iterdir()
        if c.is_dir() and c.name != "assets"
        for p in department_packs(c)
    ]
    cut = [t for t in texts if f"The first {WORKLIST_ROWS} of" in t]
    assert len(cut) == 1, "only the department with the long list is cut"
    assert cut[0].count("<code>p0") <= WORKLIST_ROWS * 2  # employee and evaluator ids per row at most
    assert all(t.count("<tr>") < WORKLIST_ROWS + 60 for t in texts)


def test_the_site_built_one_organisation_at_a_time_is_the_site_of_publish_tables(
    sample_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The publish asset protects and renders one organisation at a time (pipelines.publishing); the tables,
    notes and pages must be exactly those of models.privacy.publish_tables and dashboards.site.build_site."""
    from polars.testing import assert_frame_equal

    from pipelines.assets.common import organisation_policies
    from pipelines.assets.publish import read_sources
    from pipelines.publishing import SiteJob, protect_and_render
    from pipelines.resources import CalibraResource

    assert sample_run.success
    settings = sample_run.settings
    resource = CalibraResource(
        config_path=str(settings.config_path), home=str(settings.home), site=str(tmp_path / "unused")
    )
    policies = organisation_policies(resource)
    con = duckdb.connect(str(settings.database), read_only=True)
    try:
        sources = read_sources(con, include_worklist=True)
    finally:
        con.close()
    limits = {org: Thresholds.from_policy(policy) for org, policy in policies.items()}
    assert len(limits) >= 2, "the sample has two organisations"
    reference = publish_tables(sources, limits)
    consumed = dict(sources)
    published, rendered = protect_and_render(consumed, limits, SiteJob(settings, policies, "nl", True))
    assert not consumed, "the whole tables are not kept once split"
    assert list(published.tables) == list(reference.tables)
    for name, frame in reference.tables.items():
        assert_frame_equal(published.tables[name], frame)
    assert published.notes == reference.notes and published.hidden == reference.hidden
    # rendered: audience → organisation → page path → html
    assert sum(len(pages) for orgs in rendered.values() for pages in orgs.values()) > 20

    by_part, by_hand = tmp_path / "by_part", tmp_path / "by_hand"
    # Both builds state the same build time (footers and workbooks carry it), as a reproducible build would.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1733486400")
    build_site(published.tables, settings, by_part, "nl", policies=policies, rendered=rendered)
    build_site(reference.tables, settings, by_hand, "nl", policies=policies)
    files = sorted(p.relative_to(by_hand) for p in by_hand.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(by_part) for p in by_part.rglob("*") if p.is_file())
    different = [f for f in files if (by_hand / f).read_bytes() != (by_part / f).read_bytes()]
    assert not different, different[:5]

    # The publish asset drops the evaluator report's rows once an organisation's pages are rendered (issue 21,
    # memory): nothing after reads them, so the site is the same byte for byte (given the cycle digests
    # computed beside the pages, as the asset gives them).
    job = SiteJob(settings, policies, "nl", True, page_only=("evaluator_report",))
    dropped, rendered_again = protect_and_render(dict(sources), limits, job)
    report = dropped.tables["evaluator_report"]
    assert report.height == 0 and report.schema == reference.tables["evaluator_report"].schema
    assert reference.tables["evaluator_report"].height > 0
    for name, frame in reference.tables.items():
        if name != "evaluator_report":
            assert_frame_equal(dropped.tables[name], frame)
    without = tmp_path / "without"
    build_site(
        dropped.tables,
        settings,
        without,
        "nl",
        policies=policies,
        rendered=rendered_again,
        digests=job.digests,
    )
    assert files == sorted(p.relative_to(without) for p in without.rglob("*") if p.is_file())
    different = [f for f in files if (by_hand / f).read_bytes() != (without / f).read_bytes()]
    assert not different, different[:5]


def test_the_publish_step_reads_each_organisation_as_the_whole_tables_split(sample_run) -> None:  # type: ignore[no-untyped-def]
    """The publish asset reads one organisation's rows at a time (issue 21, memory): they are the rows the
    whole tables split per organisation give, and so are the thresholds publish_limits gives it."""
    from polars.testing import assert_frame_equal

    from models.releases.registry import organization_sources
    from pipelines.assets.common import organisation_policies
    from pipelines.assets.publish import AGGREGATES, PROTECTED, publish_limits, read_sources
    from pipelines.resources import CalibraResource

    assert sample_run.success
    settings = sample_run.settings
    policies = organisation_policies(
        CalibraResource(config_path=str(settings.config_path), home=str(settings.home))
    )
    con = duckdb.connect(str(settings.database), read_only=True)
    try:
        whole = read_sources(con, include_worklist=True)
        each = {org: read_sources(con, True, org, PROTECTED) for org in sorted(policies)}
        shared = read_sources(con, True, tables=("audit.load_ledger", "marts.calibration_worklist"))
    finally:
        con.close()
    assert list(shared) == ["audit.load_ledger", "marts.calibration_worklist"]
    limits = publish_limits(policies, whole)
    assert len(each) >= 2
    for org, sources in each.items():
        split = organization_sources(whole, org)
        assert list(sources) == list(split)
        assert any(frame.height for frame in sources.values()), org
        for name, frame in split.items():
            # an aggregate's rows come in no fixed order either way
            assert_frame_equal(sources[name], frame, check_row_order=name not in AGGREGATES)
        assert publish_limits(policies, sources)[org] == limits[org]


def test_the_publish_step_protects_the_evaluator_report_one_cycle_at_a_time(
    sample_run,
) -> None:  # type: ignore[no-untyped-def]
    """The publish asset reads each organisation's evaluator report one cycle at a time and protects it cycle by
    cycle (issue 21, memory): its protected table, hidden count, report line and notes are those of protecting
    the organisation's whole sources at once, and the other tables are untouched."""
    from dataclasses import replace

    from polars.testing import assert_frame_equal

    from models.releases.evaluators import NAME
    from models.releases.registry import protect_organization
    from pipelines.assets.common import organisation_policies
    from pipelines.assets.publish import PROTECTED, PROTECTED_WHOLE, evaluator_report_reader, read_sources
    from pipelines.publishing import Publication, add_evaluator_report
    from pipelines.resources import CalibraResource

    assert sample_run.success
    settings = sample_run.settings
    policies = organisation_policies(
        CalibraResource(config_path=str(settings.config_path), home=str(settings.home))
    )

    def connect() -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(settings.database), read_only=True)

    for org, policy in sorted(policies.items()):
        limits = Thresholds.from_policy(policy)
        con = connect()
        try:
            whole = read_sources(con, True, org, PROTECTED)
            sources = read_sources(con, True, org, PROTECTED_WHOLE)
            reader = evaluator_report_reader(con, org, connect)
        finally:
            con.close()
        assert reader is not None and len(reader.cycles) >= 2, org
        # read (and protected) one measure at a time where a cycle has several
        assert set(reader.measures) <= set(reader.cycles) and reader.measures, org
        assert len(list(reader.parts())) == sum(len(reader.measures.get(c, (None,))) for c in reader.cycles)
        assert "marts.evaluator_report" in whole and "marts.evaluator_report" not in sources
        reference = protect_organization(whole, limits)
        streamed: Publication = protect_organization(sources, limits)
        add_evaluator_report(streamed, org, reader, sources.get("staging.evaluations"), limits)
        assert list(streamed.tables) == list(reference.tables), org
        for name, frame in reference.tables.items():
            assert_frame_equal(streamed.tables[name], frame)
        assert streamed.tables[NAME]["suppressed"].any() and not streamed.tables[NAME]["suppressed"].all()
        assert streamed.notes == reference.notes and streamed.hidden == reference.hidden
        assert streamed.report == reference.report
    # an organisation without evaluator-report rows: the empty table, as protecting the empty source gives it
    empty_source = whole | {"marts.evaluator_report": whole["marts.evaluator_report"].clear()}
    reference = protect_organization(empty_source, limits)
    streamed = protect_organization(sources, limits)
    nothing = replace(reader, cycles=())
    add_evaluator_report(streamed, org, nothing, sources.get("staging.evaluations"), limits)
    assert reference.tables[NAME].height == 0
    assert_frame_equal(streamed.tables[NAME], reference.tables[NAME])
    assert streamed.notes == reference.notes and streamed.report == reference.report


def test_kept_evaluator_report_parts_publish_what_protecting_them_publishes(sample_run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: a part of the evaluator report protected in an earlier run is kept (pipelines/release_cache.py)
    and publishes exactly what protecting it again publishes, without reading its rows; a cycle whose build
    record changed is protected again; the kept files are owner-only and a run deletes the parts it no longer
    uses, nothing else."""
    from dataclasses import replace

    from polars.testing import assert_frame_equal

    from models.releases.registry import protect_organization
    from pipelines.assets.common import organisation_policies
    from pipelines.assets.publish import PROTECTED_WHOLE, evaluator_report_reader, read_sources
    from pipelines.publishing import Publication, add_evaluator_report
    from pipelines.release_cache import PartCache
    from pipelines.resources import CalibraResource

    settings = sample_run.settings
    policies = organisation_policies(
        CalibraResource(config_path=str(settings.config_path), home=str(settings.home))
    )

    def connect() -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(settings.database), read_only=True)

    folder = tmp_path / "cache"
    org = sorted(policies)[0]
    limits = Thresholds.from_policy(policies[org])
    con = connect()
    try:
        sources = read_sources(con, True, org, PROTECTED_WHOLE)
        reader = evaluator_report_reader(con, org, connect)
    finally:
        con.close()
    assert reader is not None and set(reader.built) == set(reader.cycles), "every cycle has a build record"
    parts = len(list(reader.parts()))
    departments = sources.get("staging.evaluations")

    protected = protect_organization(dict(sources), limits)  # the other tables, protected once

    def publish(cache: PartCache | None, used: object = reader) -> Publication:
        publication = Publication(
            dict(protected.tables), list(protected.notes), dict(protected.hidden), list(protected.report)
        )
        add_evaluator_report(publication, org, used, departments, limits, cache)  # type: ignore[arg-type]
        return publication

    reference = publish(None)
    first = PartCache(folder)
    made = publish(first)
    assert (first.made, first.kept) == (parts, 0)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {f.stat().st_mode & 0o777 for f in folder.iterdir()} == {0o600}
    reads: list[object] = []

    def counted(cycle: int | None, measure: str | None = None) -> pl.DataFrame:
        reads.append((cycle, measure))
        return reader.read(cycle, measure)

    second = PartCache(folder)
    kept = publish(second, replace(reader, read=counted))
    assert (second.made, second.kept, reads) == (0, parts, [])
    for publication in (made, kept):
        assert list(publication.tables) == list(reference.tables)
        for name, frame in reference.tables.items():
            assert_frame_equal(publication.tables[name], frame)
        assert publication.notes == reference.notes and publication.hidden == reference.hidden
        assert publication.report == reference.report
    # a rebuilt cycle (new build record): its parts only are read and protected again, the rest kept
    rebuilt = max(reader.cycles)
    third = PartCache(folder)
    current = replace(reader, built={**reader.built, rebuilt: "rebuilt"})
    again = publish(third, replace(current, read=counted))
    assert reads and {cycle for cycle, _ in reads} == {rebuilt}
    assert third.made == len(reads) and third.kept == parts - len(reads)
    assert_frame_equal(again.tables["evaluator_report"], reference.tables["evaluator_report"])
    # the parts of the old build record are no longer used: deleted, and a file that is not the cache's stays
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    assert third.prune() == len(reads)
    assert (folder / "notes.txt").exists()
    assert len([f for f in folder.iterdir() if f.suffix == ".json"]) == parts
    # a damaged file: the part is protected again, not trusted
    next(folder.glob("*.evaluators.arrow")).write_bytes(b"not arrow")
    fourth = PartCache(folder)
    assert_frame_equal(
        publish(fourth, current).tables["evaluator_report"], reference.tables["evaluator_report"]
    )
    assert (fourth.made, fourth.kept) == (1, parts - 1)
    # a cache that cannot be written (here its folder's parent is a file): the run publishes all the same
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    unwritable = PartCache(tmp_path / "file" / "cache")
    assert_frame_equal(publish(unwritable).tables["evaluator_report"], reference.tables["evaluator_report"])
    assert (unwritable.made, unwritable.kept, unwritable.prune()) == (0, 0, 0)


# ------------------------------------------------------------------------------- audiences and the manifest (16, 21)
def test_the_organisation_site_holds_no_management_table_page_or_link(sites: dict[str, Path]) -> None:
    """No page of the organisation site links to a management page, and none shows a management table's
    numbers: the organisation site is rendered from the organisation release only."""
    site = sites["nl"] / ORG_SITE
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        assert "norming.html" not in text and "calibration/" not in text, page
        assert "data_quality.html" not in text and "../management" not in text, page
        assert "<code>p0" not in text, f"{page}: worklist pseudonyms in the organisation site"
    assert not list(site.rglob("calibration")) and not list(site.rglob("norming*"))


def test_the_organisation_release_is_exactly_the_organisation_site() -> None:
    """The protection follows the site (issue 16): a table is protected for the organisation exactly when the
    page it is registered on is on the organisation site, every page kind is on one site (or is the meeting
    pack, on none), and the meeting release is shown on the pack only."""
    from dashboards.site import SITES, audience_tables, page_audience
    from models.releases.registry import MANAGEMENT, MEETING, ORGANISATION, PAGES

    for name, (page, audience) in PAGES.items():
        assert (audience == ORGANISATION) == (page_audience(page) == ORGANISATION), (name, page, audience)
        assert (audience == MEETING) == (page_audience(page) == MEETING), (name, page, audience)
    assert {page_audience(page) for page, _ in PAGES.values()} == {ORGANISATION, MANAGEMENT, MEETING}
    assert MEETING not in SITES
    every = {name: pl.DataFrame() for name in PAGES}
    for audience in SITES:
        assert not any(PAGES[name][1] == MEETING for name in audience_tables(every, audience)), audience
    for name in ("ratings", "calibration_moves_by_group", "calibration_moves_by_department"):
        assert PAGES[name][1] == MANAGEMENT and page_audience(PAGES[name][0]) == MANAGEMENT, name


def test_adding_a_cycle_renders_only_that_cycle_and_gives_the_full_build(tmp_path: Path) -> None:
    """A site built with 2023 only, then rebuilt with 2023 and 2024, copies 2023's pages (manifest digest
    unchanged) and is file for file the site built from scratch; the cycle menus come from manifest.js."""
    from datetime import UTC, datetime

    settings = load_settings(PROJECT_ROOT / "calibra.yaml", tmp_path / "home", tmp_path / "site")
    full = publish_tables(hand_sources("Noord"), {"zeeland-demo": Thresholds()})
    first = {
        name: frame.filter(pl.col("cycle") != 2024) if "cycle" in frame.columns else frame
        for name, frame in full.tables.items()
    }
    when = datetime(2026, 1, 1, tzinfo=UTC)
    grown, scratch = tmp_path / "grown", tmp_path / "scratch"
    assert build_site(first, settings, grown, "nl", built_at=when).reused == 0
    report = build_site(full.tables, settings, grown, "nl", built_at=when)
    assert report.reused == 1, "2023 copied in the management site (the organisation release has no 2023)"
    build_site(full.tables, settings, scratch, "nl", built_at=when, reuse=False)
    files = sorted(p.relative_to(scratch) for p in scratch.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(grown) for p in grown.rglob("*") if p.is_file())
    for name in files:
        assert (grown / name).read_bytes() == (scratch / name).read_bytes(), name
    manifest = json.loads((grown / MGMT_SITE / "manifest.json").read_text(encoding="utf-8"))
    cycles = manifest["organisations"]["zeeland-demo"]["cycles"]
    assert [c["cycle"] for c in cycles] == [2023, 2024] and "norming.html" in cycles[0]["pages"]
    page_2023 = (grown / MGMT_SITE / "zeeland-demo" / "2023" / "norming.html").read_text(encoding="utf-8")
    assert "2024" not in page_2023.split("<main>")[0], "a page's menus name only its own cycle"
    assert "data-cycle-menu" in page_2023 and "manifest.js" in page_2023
    # A changed cycle is rendered again: its digest differs.
    changed = dict(full.tables)
    ratings = changed["ratings"]
    assert ratings.filter(pl.col("cycle") == 2023).height > 1
    changed["ratings"] = ratings.filter(pl.col("cycle") != 2023).vstack(
        ratings.filter(pl.col("cycle") == 2023).head(1)
    )
    assert build_site(changed, settings, grown, "nl", built_at=when).reused < 2


def test_a_cycles_management_release_does_not_depend_on_the_other_cycles(sample_run) -> None:  # type: ignore[no-untyped-def]
    """Issue 21: protecting one cycle's sources alone gives that cycle's published cells of the management and
    meeting releases exactly. The organisation release does not (docs/privacy.md, "Cycles"): the fairness
    table and the multi-year pay-gap projection and budget forecast read other cycles' cells."""
    from models.policy import policy_for
    from models.releases.registry import (
        MANAGEMENT,
        MEETING,
        PAGES,
        organization_sources,
        protect_organization,
    )
    from pipelines.assets.publish import read_sources

    con = duckdb.connect(str(sample_run.settings.home / "calibra.duckdb"), read_only=True)
    try:
        sources = read_sources(con, True)
    finally:
        con.close()
    checked = 0
    for org in sample_run.settings.organizations:
        limits = Thresholds.from_policy(policy_for(sample_run.settings, org))
        mine = organization_sources(sources, org)
        every = protect_organization(mine, limits).tables
        for cycle in sorted(set(every["norming_ratings"]["cycle"].to_list())):
            alone = protect_organization(
                {
                    n: f.filter(pl.col("cycle") == cycle) if "cycle" in f.columns else f
                    for n, f in mine.items()
                },
                limits,
            ).tables
            for name, frame in every.items():
                if PAGES.get(name, ("", ""))[1] not in (MANAGEMENT, MEETING) or "cycle" not in frame.columns:
                    continue
                want = frame.filter(pl.col("cycle") == cycle)
                got = alone[name].filter(pl.col("cycle") == cycle)
                columns = sorted(want.columns)
                assert (
                    want.select(columns)
                    .sort(columns, nulls_last=True)
                    .equals(got.select(columns).sort(columns, nulls_last=True))
                ), f"{org} {cycle} {name}"
                checked += 1
    assert checked > 20


def test_funnel_limits_are_drawn_through_few_sizes_and_follow_the_exact_curve() -> None:
    """The control limits of the funnel plot are sampled (issue 21: one point per person made a 200,000-person
    organisation's norming page larger than 2 MB); between the sampled sizes the drawn line stays within a
    small fraction of the band of the exact curve target ± z·sd/√n at every whole n."""
    import math

    import numpy as np

    from dashboards.pages.norming import Z95, funnel_grid

    for top in (10, 40, 41, 317, 3_000, 60_000):
        grid = funnel_grid(top)
        assert grid[0] == 2 and grid[-1] == top and grid == sorted(set(grid))
        assert len(grid) <= 170
        n = np.arange(2, top + 1)
        exact = Z95 / np.sqrt(n)
        drawn = np.interp(n, grid, [Z95 / math.sqrt(g) for g in grid])
        assert np.max(np.abs(drawn - exact) / exact) < 0.01


def test_row_hashes_slice_by_slice_are_the_whole_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cycle digests hash a table's rows a slice at a time (memory): the hashes are those of the whole table
    at once, with nulls, numbers, dates and nested values; and the same values held in narrower types (an
    organisation's own table beside the merged one) hash alike."""
    import datetime as dt

    from dashboards import site as site_module

    frame = pl.DataFrame(
        {
            "organization": ["o"] * 7,
            "cycle": [2022, 2022, 2023, None, 2024, 2024, 2024],
            "n": [1, None, 3, 4, 5, 6, 7],
            "rate": [0.5, 0.25, None, 1.0, 0.0, 0.125, 2.5],
            "day": [dt.date(2024, 1, d) for d in range(1, 8)],
            "codes": [["A"], [], None, ["B", "C"], ["A"], ["C"], ["D"]],
        }
    )
    columns = tuple(frame.columns)
    whole = site_module._row_hashes(frame, columns)
    monkeypatch.setattr(site_module, "DIGEST_SLICE_ROWS", 3)
    sliced = site_module._row_hashes(frame, columns)
    assert sliced.to_list() == whole.to_list() and whole.n_unique() == frame.height
    assert site_module._row_hashes(frame, ()).len() == 0
    narrow = frame.with_columns(
        pl.col("cycle").cast(pl.Int32), pl.col("n").cast(pl.UInt16), pl.col("rate").cast(pl.Float32)
    )
    assert site_module._row_hashes(narrow, columns).to_list() == whole.to_list()
    assert (
        site_module._row_hashes(frame.with_columns(pl.col("rate") + 1e-9), columns).to_list()
        != whole.to_list()
    )


def test_cycle_digests_do_not_depend_on_the_folder_of_the_configuration(tmp_path: Path) -> None:
    """Two checkouts of the same configuration and tables give the same digests (before, the policy file's
    absolute path was hashed, so every cycle was rendered again after a move); a changed policy still changes
    them."""
    import shutil

    from dashboards.pages import SiteData
    from dashboards.site import cycle_digests

    tables = {
        "ratings": pl.DataFrame({"organization": ["zeeland-demo"] * 2, "cycle": [2023, 2024], "n": [7, 9]})
    }
    digests = []
    for name in ("a", "b"):
        root = tmp_path / name
        shutil.copytree(PROJECT_ROOT / "policies", root / "policies")
        shutil.copytree(PROJECT_ROOT / "mappings", root / "mappings")
        shutil.copy(PROJECT_ROOT / "calibra.yaml", root / "calibra.yaml")
        settings = load_settings(root / "calibra.yaml", home=root / "var")
        digests.append(cycle_digests(SiteData(tables=tables, settings=settings), ["zeeland-demo"]))
    assert digests[0] == digests[1] and len(digests[0]) == 2
    shutil.copytree(tmp_path / "b", tmp_path / "c")  # a new folder: policy files are read once per process
    policy = tmp_path / "c" / "policies" / "zeeland_5punt.yaml"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("version: 1", "version: 2", 1), encoding="utf-8"
    )
    settings = load_settings(tmp_path / "c" / "calibra.yaml")
    assert cycle_digests(SiteData(tables=tables, settings=settings), ["zeeland-demo"]) != digests[0]


def test_contract_results_are_published_with_the_organisation_and_cycle_of_their_file() -> None:
    """A contract result names only its file; the site reads it with its file's organisation and cycle (from the
    load ledger), so an earlier cycle's digest does not change when a later cycle's files are validated (a new
    cycle used to republish every earlier cycle of both sites)."""
    from dashboards.pages import SiteData
    from pipelines.assets.publish import read_sources

    con = duckdb.connect()
    con.execute("CREATE SCHEMA audit")
    con.execute("CREATE TABLE audit.load_ledger (file_sha256 VARCHAR, organization VARCHAR, cycle INTEGER)")
    con.execute("INSERT INTO audit.load_ledger VALUES ('a', 'o', 2023), ('b', 'o', 2024), ('c', 'p', NULL)")
    con.execute("CREATE TABLE audit.contract_results (file_sha256 VARCHAR, rule VARCHAR, success BOOLEAN)")
    con.execute(
        "INSERT INTO audit.contract_results VALUES ('a', 'r', true), ('b', 'r', false), ('c', 'r', true)"
    )
    results = read_sources(con, include_worklist=False)["audit.contract_results"]
    assert sorted(results.select("file_sha256", "organization", "cycle").rows(), key=str) == [
        ("a", "o", 2023),
        ("b", "o", 2024),
        ("c", "p", None),
    ]
    data = SiteData({"audit.contract_results": results}, Settings(config_path=Path("x"), home=Path("h")))
    assert data.get("audit.contract_results", "o", 2023)["file_sha256"].to_list() == ["a"]  # type: ignore[index]
