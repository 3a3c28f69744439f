"""The sample's planted findings are visible on the page where they are described (issues 16 and 17).

On the session's sample run (tests/conftest.py `sample_run`), the manifest names what the Zeeland sample
plants (models/sample/_zeeland.py):

* "women in function level S11 were moved down in calibration more often" — shown on the norming review
  (management site) in the section "within the same function level": the table row for S11 (women and men:
  people, moved down, share; odds ratio women against men, Fisher p, BH q, flagged) and the sentence above it,
  for the complete window of cycles (the planted figures are pooled over the sample's cycles). Checked against
  the manifest's observed figures, scipy's Fisher exact test, the mart, and the rendered HTML (Dutch, as the
  site is built; English from the same page section).
* "women in S08 get output/input bonuses about half as often as men" — per cycle, the S08 bonus counts of the
  small sample are below the minimum group, so the organisation release hides them in every cycle. The
  fairness page therefore shows women and men within each function level over the complete window of cycles
  pooled (marts.fairness_strata, period "window"; protected jointly with the per-cycle rows,
  models/releases/fairness_pooled.py). The test checks the pooled rows against the manifest, the per-cycle
  rows and scipy's Fisher test, then the page: where every pooled count of the S08 block holds at least k
  people the row shows them (women and men: n, with a bonus, share; odds ratio, interval, q), else the row is
  hidden, for that reason only (a pooled count below k), and the test says so with the figures. On the test
  sample (900 employees, 3 cycles) the pooled counts are 3 of 65 women and 3 of 43 men: still below k = 5.
"""

from __future__ import annotations

import html
import math
import re

import duckdb
import polars as pl
from scipy import stats as sps

from dashboards.components import PageContext
from dashboards.i18n import fmt_int, fmt_number, fmt_pct
from dashboards.pages import SiteData
from dashboards.pages.norming import _impact_levels
from models.disclosure.engine import Thresholds
from models.policy import policy_for
from models.releases.fairness_pooled import POOLED_SCOPE
from models.releases.registry import organization_sources, protect_organization
from pipelines.assets.publish import read_sources

CALIBRATION_PLANT = "zeeland_calibration_gender"
BONUS_PLANT = "zeeland_incidental_gender_gap"
BONUS_OUTCOME = (
    "performance_bonus"  # models.fairness: output, input or combined bonus (Z-4), the planted metric
)
ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
TABLE = re.compile(r"<table[^>]*><caption>(.*?)</caption>(.*?)</table>", re.S)
ITEM = re.compile(r"<li><strong>([^<]*)</strong></li>")


def _planted(sample_run, plant_id: str) -> dict:  # type: ignore[no-untyped-def]
    return next(p for p in sample_run.manifest["planted"] if p["id"] == plant_id)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _rows(body: str) -> dict[str, list[str]]:
    """A table body's rows by their first cell (the other cells as shown)."""
    rows = {}
    for row in ROW.findall(body):
        cells = [_text(c) for c in CELL.findall(row)]
        if cells:
            rows[cells[0]] = cells[1:]
    return rows


def _level_table(page: str, caption_word: str) -> dict[str, list[str]]:
    """The rows of the 'women and men per function level' table whose caption holds `caption_word`."""
    for caption, body in TABLE.findall(page):
        if caption_word in _text(caption):
            return _rows(body)
    raise AssertionError(f"no table captioned with {caption_word!r} on the page")


def _published_p(p: float) -> str:
    """A p or q as the page writes it: 3 decimals, "< 0,001" below that."""
    shown = round(p, 3)
    return "< 0,001" if shown < 0.001 else fmt_number(shown, "nl", 3)


def _mart_rows(sample_run, organization: str, cycle: int, level: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    rows = sample_run.query(
        f"""SELECT * FROM marts.calibration_moves_strata
            WHERE organization = '{organization}' AND period = 'window' AND window_complete
              AND cycle = {cycle} AND attribute = 'gender' AND direction = 'down'
              AND function_level = '{level}' AND group_value IN ('F', 'M')"""
    )
    return {r["group_value"]: r for r in rows.iter_rows(named=True)}


def _published(sample_run, organization: str) -> dict[str, pl.DataFrame]:  # type: ignore[no-untyped-def]
    """The organisation's protected tables, as the site asset builds them (without the worklist)."""
    con = duckdb.connect(str(sample_run.settings.database), read_only=True)
    try:
        sources = read_sources(con, False)
    finally:
        con.close()
    limits = Thresholds.from_policy(policy_for(sample_run.settings, organization))
    return protect_organization(organization_sources(sources, organization), limits, False).tables


def test_women_in_s11_moved_down_more_often_is_on_the_norming_page(sample_run) -> None:  # type: ignore[no-untyped-def]
    assert sample_run.success
    planted = _planted(sample_run, CALIBRATION_PLANT)
    organization, level = planted["organization"], planted["unit"]["function_level"]
    cycle = max(planted["cycles"])
    mart = _mart_rows(sample_run, organization, cycle, level)
    women, men = mart["F"], mart["M"]
    observed = planted["observed"]
    # The complete window ending at the last cycle pools exactly the cycles the manifest describes.
    assert women["first_cycle"] == min(planted["cycles"])
    assert (women["n"], men["n"]) == (observed["n_women"], observed["n_men"])
    assert round(women["count"] / women["n"], 4) == observed["down_share_women"]
    assert round(men["count"] / men["n"], 4) == observed["down_share_men"]
    # The mart's statistics against scipy (the comparison sits on the non-reference row).
    compared, reference = (women, men) if women["reference_group"] == "M" else (men, women)
    table = [
        [compared["count"], compared["n"] - compared["count"]],
        [reference["count"], reference["n"] - reference["count"]],
    ]
    odds, p = sps.fisher_exact(table)
    assert math.isclose(compared["p_value"], p, rel_tol=1e-9)
    assert math.isclose(compared["odds_ratio"], odds, rel_tol=1e-9)
    assert compared["flag"], "the planted finding is flagged in the mart"
    women_vs_men = (women["count"] * (men["n"] - men["count"])) / (
        (women["n"] - women["count"]) * men["count"]
    )

    page = (sample_run.settings.site / "management" / organization / str(cycle) / "norming.html").read_text()
    row = _level_table(page, "omlaag gezet")[level]
    want = [
        fmt_int(women["n"], "nl"), fmt_int(women["count"], "nl"), fmt_pct(women["count"] / women["n"], "nl", 1),
        fmt_int(men["n"], "nl"), fmt_int(men["count"], "nl"), fmt_pct(men["count"] / men["n"], "nl", 1),
        fmt_number(round(women_vs_men, 2), "nl", 2), _published_p(compared["p_value"]),
        _published_p(compared["q_value"]), "ja",
    ]  # fmt: skip
    assert row == want, f"{level}: the page shows {row}, the mart gives {want}"
    sentences = [_text(s) for s in ITEM.findall(page)]
    finding = [s for s in sentences if s.startswith(f"Vrouwen in functieniveau {level} ")]
    assert finding, f"no sentence about women in {level} on the page: {sentences}"
    expected_bits = (
        "vaker omlaag gezet dan mannen",
        f"{women['count']} van de {women['n']} ({want[2]})",
        f"{men['count']} van de {men['n']} ({want[5]})",
        f"odds ratio {want[6]}",
    )
    assert all(bit in finding[0] for bit in expected_bits), finding[0]

    # English on request: the same section rendered from the published tables.
    tables = _published(sample_run, organization)
    ctx = PageContext(language="en", depth=2, organization=organization, cycle=cycle)
    english = _impact_levels(SiteData(tables, sample_run.settings), ctx, organization, cycle)
    en_row = _level_table(english, "moved down")[level]
    assert en_row[:3] == [
        fmt_int(women["n"], "en"),
        fmt_int(women["count"], "en"),
        fmt_pct(women["count"] / women["n"], "en", 1),
    ]
    en_finding = [
        s
        for s in (_text(s) for s in ITEM.findall(english))
        if s.startswith(f"Women in function level {level} ")
    ]
    assert en_finding and "moved down in calibration more often than men" in en_finding[0], en_finding

    print(
        f"\n{organization} {level}, cycles {women['first_cycle']}–{cycle} (norming page, management site):"
        f"\n  women moved down {women['count']}/{women['n']} = {women['count'] / women['n']:.1%},"
        f" men {men['count']}/{men['n']} = {men['count'] / men['n']:.1%}"
        f"\n  odds ratio women/men {women_vs_men:.2f}, Fisher p {compared['p_value']:.5f} (scipy {p:.5f}),"
        f" BH q {compared['q_value']:.4f}, flagged"
        f"\n  nl: {finding[0]}\n  en: {en_finding[0]}"
    )


def _window_table(page: str, caption_word: str) -> dict[str, list[str]] | None:
    """The rows of the pooled-window table of one outcome (caption holds `caption_word` and "samen"); None
    when the page has no such table."""
    for caption, body in TABLE.findall(page):
        if caption_word in _text(caption) and "samen" in _text(caption):
            return _rows(body)
    return None


def test_s08_bonus_gap_is_on_the_fairness_page_over_the_pooled_window(sample_run) -> None:  # type: ignore[no-untyped-def]
    planted = _planted(sample_run, BONUS_PLANT)
    organization, level = planted["organization"], planted["unit"]["function_level"]
    first, last = min(planted["cycles"]), max(planted["cycles"])
    k = Thresholds.from_policy(policy_for(sample_run.settings, organization)).k
    strata = sample_run.query(
        f"""SELECT period, first_cycle, cycle, group_value, n, count, reference_group, odds_ratio,
                   odds_ratio_ci_low, odds_ratio_ci_high, p_value, q_value
            FROM marts.fairness_strata
            WHERE organization = '{organization}' AND outcome = '{BONUS_OUTCOME}' AND attribute = 'gender'
              AND stratum_type = 'function_level' AND stratum = '{level}' AND group_value IN ('F', 'M')
            ORDER BY period, cycle, group_value"""
    )
    per_cycle = strata.filter(pl.col("period") == "cycle")
    pooled = strata.filter((pl.col("period") == "window") & (pl.col("cycle") == last))
    assert per_cycle.height == 2 * len(planted["cycles"])
    # The window ending at the last cycle pools exactly the manifest's cycles, and its counts are their sums.
    assert pooled.height == 2 and set(pooled["first_cycle"]) == {first}
    sums = per_cycle.group_by("group_value").agg(pl.col("n").sum(), pl.col("count").sum())
    assert sorted(sums.rows()) == sorted(pooled.select("group_value", "n", "count").rows())
    f, m = (pooled.filter(pl.col("group_value") == g).row(0, named=True) for g in ("F", "M"))
    observed = planted["observed"]
    assert math.isclose(f["count"] / f["n"], observed["rate_women"], abs_tol=0.01)
    assert math.isclose(m["count"] / m["n"], observed["rate_men"], abs_tol=0.01)
    table = [[f["count"], f["n"] - f["count"]], [m["count"], m["n"] - m["count"]]]
    odds, p = sps.fisher_exact(table)
    assert f["reference_group"] == "M"
    assert math.isclose(f["p_value"], p, rel_tol=1e-9) and math.isclose(f["odds_ratio"], odds, rel_tol=1e-9)

    # The organisation release and the page (Dutch, as the site is built).
    published = _published(sample_run, organization)["fairness"].filter(
        (pl.col("scope") == POOLED_SCOPE) & (pl.col("outcome") == BONUS_OUTCOME) & (pl.col("stratum") == level)
        & (pl.col("cycle") == last)
    )  # fmt: skip
    shown = {r["group_value"]: r for r in published.iter_rows(named=True)}
    page = (sample_run.settings.site / "organisatie" / organization / str(last) / "fairness.html").read_text()
    label = _text(_outcome_label(sample_run, organization))
    found = _window_table(page, label)
    # An outcome hidden in every level gets one line instead of a table of dots.
    all_hidden = re.search(
        r"<p class='note'>Afgeschermd in elk functieniveau, ook samengenomen: ([^<]*)</p>", page
    )
    row = found[level] if found is not None else None
    cells = [c for row_ in table for c in row_]
    large = all(c >= k for c in cells)
    period = f"{first}–{last}"
    lines = [
        f"\n{organization} {level} {BONUS_OUTCOME}, cycles {period} pooled (fairness page, organisation release):",
        f"  manifest: women {observed['rate_women']:.1%} of {observed['n_women']}, men {observed['rate_men']:.1%}"
        f" of {observed['n_men']} (planted ratio {planted['expected']['rate_ratio_women_to_men']})",
        f"  mart: women {f['count']}/{f['n']} = {f['count'] / f['n']:.1%}, men {m['count']}/{m['n']} ="
        f" {m['count'] / m['n']:.1%}; OR {odds:.2f}, Fisher p {p:.3f} (scipy {p:.3f}), BH q {f['q_value']:.3f}",
        "  per cycle: "
        + ", ".join(f"{c}: women {r[0]}/{r[1]}, men {r[2]}/{r[3]}" for c, r in _per_cycle(per_cycle).items()),
        f"  page row {level}: {row}",
    ]
    if large:
        # Shown: the page row holds the pooled figures, from the mart, with the comparison.
        want = [
            fmt_int(f["n"], "nl"), fmt_int(f["count"], "nl"), fmt_pct(f["count"] / f["n"], "nl", 1),
            fmt_int(m["n"], "nl"), fmt_int(m["count"], "nl"), fmt_pct(m["count"] / m["n"], "nl", 1),
            fmt_number(round(f["odds_ratio"], 2), "nl", 2),
            f"{fmt_number(round(f['odds_ratio_ci_low'], 2), 'nl', 2)} – {fmt_number(round(f['odds_ratio_ci_high'], 2), 'nl', 2)}",
            fmt_number(round(f["q_value"], 3), "nl", 3),
        ]  # fmt: skip
        assert not shown["F"]["suppressed"] and not shown["M"]["suppressed"], "large pooled counts are shown"
        assert row == want, f"{level}: the page shows {row}, the mart gives {want}"
        lines.append("  -> shown on the page")
    else:
        # Withheld, and only because a pooled count is below k: every pooled cell of the block.
        assert shown["F"]["suppressed"] and shown["M"]["suppressed"]
        assert shown["F"]["suppressed_reason"] == "small", shown["F"]["suppressed_reason"]
        if row is not None:
            assert row == ["·"] * 9, row
        else:
            assert all_hidden and label in html.unescape(all_hidden.group(1)), (
                "the page says the outcome is hidden"
            )
        lines.append(
            f"  -> withheld: the pooled counts {cells} (women with, women without, men with, men without) hold"
            f" a cell below k = {k}"
        )
    print("\n".join(lines))


def _per_cycle(frame: pl.DataFrame) -> dict[int, tuple[int, int, int, int]]:
    out = {}
    for cycle in sorted(set(frame["cycle"])):
        rows = {r["group_value"]: r for r in frame.filter(pl.col("cycle") == cycle).iter_rows(named=True)}
        out[cycle] = (rows["F"]["count"], rows["F"]["n"], rows["M"]["count"], rows["M"]["n"])
    return out


def _outcome_label(sample_run, organization: str) -> str:  # type: ignore[no-untyped-def]
    return sample_run.query(
        f"""SELECT DISTINCT outcome_label_nl FROM marts.fairness
            WHERE organization = '{organization}' AND outcome = '{BONUS_OUTCOME}'"""
    ).item()


# ---------------------------------------------------------------------------------------------- the rules, by hand
def _strata(rows: list[tuple]) -> pl.DataFrame:
    """marts.calibration_moves_strata rows: (cycle, first_cycle, complete, level, group, n, count)."""
    return pl.DataFrame(
        [
            {
                "organization": "o", "period": "window", "first_cycle": first, "cycle": cycle,
                "window_complete": complete, "direction": "down", "attribute": "gender", "function_level": level,
                "group_value": group, "is_reference": group == "M", "reference_group": "M", "n": n,
                "count": count, "reference_rate": 0.1, "difference": 0.0, "odds_ratio": 1.234,
                "p_value": 0.01234, "q_value": 0.04321, "flag": group == "F",
            }
            for cycle, first, complete, level, group, n, count in rows
        ]
    )  # fmt: skip


def test_the_within_level_table_shows_large_groups_and_protects_small_ones() -> None:
    from models.disclosure.engine import COMPLEMENT, HOMOGENEOUS, REASON, SMALL, SUPPRESSED
    from models.releases.norming import BY_LEVEL_SOURCE, _calibration_moves_by_level

    rows = [
        (2023, 2022, False, "S01", "F", 40, 9),  # a growing window: never published
        (2024, 2022, True, "S01", "F", 40, 9),
        (2024, 2022, True, "S01", "M", 50, 2),  # 2 moved in a group of 50: shown (the group is large)
        (2024, 2022, True, "S01", "X", 2, 1),  # small gender X: left out, not hidden
        (2024, 2022, True, "S02", "F", 3, 1),  # a small group: hidden, and one more on each of its lines
        (2024, 2022, True, "S02", "M", 30, 4),
        (2024, 2022, True, "S03", "F", 20, 3),
        (2024, 2022, True, "S03", "M", 25, 0),  # nobody moved: everyone alike
    ]
    result = _calibration_moves_by_level({BY_LEVEL_SOURCE: _strata(rows)}, Thresholds(), {})
    out = {(r["function_level"], r["group_value"]): r for r in result.frame.iter_rows(named=True)}
    # S02 has two groups, one small: the men there are the level less the small group, so they compare nothing
    # and are left out (recoded), not hidden as its complement.
    assert set(out) == {("S01", "F"), ("S01", "M"), ("S02", "F"), ("S03", "F"), ("S03", "M")}
    assert all(r["cycle"] == 2024 for r in out.values()), "only complete windows"
    assert result.recoded == 2 and all(r["others_left_out"] for k, r in out.items() if k[0] == "S01")
    s01 = out["S01", "F"]
    assert (s01["group_n"], s01["count"], s01["rate"]) == (40, 9, 9 / 40) and not s01[SUPPRESSED]
    assert (s01["odds_ratio"], s01["p_value"], s01["q_value"], s01["flag"]) == (1.23, 0.012, 0.043, True)
    assert out["S01", "M"]["count"] == 2 and out["S01", "M"]["odds_ratio"] is None, "the reference row"
    small = out["S02", "F"]
    assert small[REASON] == SMALL and small["group_n"] is None and small["count"] is None
    # Its group line (women) gets a second hidden row: the smallest shown one.
    assert out["S03", "F"][REASON] == COMPLEMENT and out["S03", "F"]["rate"] is None
    assert out["S03", "F"]["odds_ratio"] is None, "no comparison with a hidden row"
    alike = out["S03", "M"]
    assert alike[REASON] == HOMOGENEOUS and alike["count"] is None
    assert alike["group_n"] is None and out["S01", "M"]["group_n"] == 50
    assert result.hidden == 3 and result.reasons == {SMALL: 1, HOMOGENEOUS: 1, COMPLEMENT: 1}
