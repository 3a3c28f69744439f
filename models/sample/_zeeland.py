"""zeeland-demo: a Dutch province on the 5-point scale (DOMAIN.md Z-1..Z-17).

Files:
  zeeland_beoordelingen_<cycle>.xlsx        evaluations, sheet "Beoordelingen" (a hidden junk sheet comes first)
  zeeland_beloningen_<cycle>.csv            awards (cp1252, `;`, decimal comma, CRLF)
  zeeland_salarisadministratie_<cycle>.csv  payroll (UTF-8, `;`, 45.678,90)
  zeeland_salarisschalen.csv                salary scales, minimum and maximum per scale (UTF-8)

Salary scales: scales 1-17 are the monthly minimum and maximum of the provinces' collective agreement per
1 July 2015 (Provinciaal Blad 2015 nr. 846, annex 2 of the CAP; shared/reference/), turned into annual
amounts x 12 months x 1.08 holiday allowance and indexed by 1.25 for the general raises 2015 -> 2022+
(an assumption of this sample, not a published figure). Scale 18 was not in the stored copy: it is
EXTRAPOLATED here as scale 17 x 1.10 (minimum and maximum), about the step between scales 16 and 17.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import polars as pl

from models.sample._common import (
    EXCEL_EPOCH_OFFSET,
    XlsxColumn,
    choice,
    constant,
    csv_bytes,
    day,
    dutch_amount,
    dutch_date,
    dutch_number,
    labels,
    masked,
    quantile,
    rng_for,
    xlsx_bytes,
)
from models.sample._population import Panel, evaluator_numbers, pick_team, simulate_panel

ORG = "zeeland-demo"
INDEX_2015 = 1.25
HOLIDAY = 1.08
# CAP 2015-07-01, monthly minimum and maximum of scales 1..17 (EUR)
CAO_2015 = [
    (1386.81, 1755.47),
    (1529.34, 1935.87),
    (1478.99, 2112.85),
    (1559.28, 2227.53),
    (1639.65, 2342.37),
    (1717.75, 2453.94),
    (1895.08, 2707.26),
    (2146.24, 3066.05),
    (2428.64, 3469.48),
    (2662.85, 3804.08),
    (3113.28, 4447.57),
    (3548.31, 5069.01),
    (3853.14, 5504.48),
    (4365.97, 6237.10),
    (4801.87, 6859.83),
    (5282.02, 7545.73),
    (5809.66, 8299.51),
]
SCALE18_FACTOR = 1.10  # extrapolation of scale 18 from scale 17 (not published in the stored copy)

DIRECTIES: list[tuple[str, list[str]]] = [
    ("Ruimte", ["Ruimtelijke Ontwikkeling", "Water en Natuur", "Vergunningverlening en Handhaving"]),
    ("Economie en Mobiliteit", ["Economie", "Mobiliteit", "Wegen en Vaarwegen"]),
    ("Bedrijfsvoering", ["Personeel en Organisatie", "Financiën", "Informatievoorziening", "Communicatie"]),
]
DEPTS = [d for _, ds in DIRECTIES for d in ds]
DEPT_DIRECTIE = [e for e, ds in DIRECTIES for _ in ds]
DEPT_WEIGHTS = [1.2, 1.1, 1.3, 0.9, 1.0, 1.4, 0.8, 1.0, 0.9, 0.6]
HIGH_DEPT = "Economie"  # planted: department that rates high
SCALE_P = [0.2, 0.3, 0.5, 1.5, 3, 5, 7, 11, 13, 14, 15, 12, 8, 5, 2.5, 1.3, 0.5, 0.2]
GAP_SCALE = 8  # planted: women in S08 get output/input bonuses about half as often
GAP_RATIO = 0.5
CALIBRATION_SCALE = 11  # planted: women in S11 moved down more often in calibration

RATING_LABELS = ["Slecht", "Matig", "Normaal", "Zeer goed", "Uitstekend"]
RATING_CODES = ["slecht", "matig", "normaal", "zeer_goed", "uitstekend"]
Z2_PCT = np.array([0.0, 1.0, 3.0, 4.0, 6.0])  # Z-2
WRONG_PCT = np.array([1.0, 3.0, 4.0, 6.0, 4.0])  # planted structural mismatches
GRADE_OPTIONS = np.array([[3, 3.5, 4], [5, 5, 5], [6, 6.5, 7], [8, 8, 8], [9, 9.5, 10]])
GRADE_CDF = np.array([[0.2, 0.4, 1], [1, 1, 1], [0.3, 0.5, 1], [1, 1, 1], [0.7, 0.85, 1]])
WRONG_GRADE = np.array([5.0, 6.0, 8.0, 7.0, 8.0])  # one band off: planted grade/rating mismatches
GUIDE_CUM = [0.02, 0.10, 0.70, 0.92]

PERF_W, EVAL_SD, NOISE_SD = 0.8, 0.35, 0.5
LATENT_SD = float(np.sqrt(PERF_W**2 + EVAL_SD**2 + NOISE_SD**2))
PROPOSAL_OPTIMISM = 0.15
LENIENT_SHIFT = 1.6
HIGH_DEPT_SHIFT = 0.7
DOWN_P = np.array([0.0, 0.0, 0.01, 0.12, 0.15])  # calibration: probability to move one step down
UP_P = np.array([0.20, 0.15, 0.02, 0.0, 0.0])  # ... one step up
CALIBRATION_FACTOR = 3.0

ABSENCE_LABELS = ["Ziekte", "Zwangerschapsverlof", "Ouderschapsverlof", "Sabbatical", "Overig"]
EMPLOYMENT_LABELS = ["Vast", "Tijdelijk", "Uitzendkracht"]
AWARD_LABELS = [
    "Structureel",
    "Outputbeloning",
    "Inputbeloning",
    "Input- en outputbeloning",
    "Groepsbeloning",
    "Mobiliteitsbeloning",
    "Arbeidsmarkttoelage",
    "Bindingspremie",
]
COMPETENCES = [
    [
        "Werkt onvoldoende samen en neemt afspraken niet na.",
        "Competenties blijven duidelijk achter bij de functie.",
    ],
    [
        "Samenwerking en planning verdienen aandacht.",
        "Groeit in de rol, maar nog niet op het gewenste niveau.",
    ],
    ["Functioneert naar verwachting; goede samenwerking.", "- Betrouwbaar, neemt verantwoordelijkheid."],
    ["Sterk in samenwerking en advisering.", "Neemt initiatief en denkt mee over verbeteringen."],
    ["Uitzonderlijke vakkennis en voorbeeld voor collega's.", "Inspireert het team & verbindt partners."],
]
RESULTS = [
    ["Resultaten niet gehaald ondanks begeleiding.", "Afspraken over resultaten grotendeels niet nagekomen."],
    ["Resultaten deels gehaald.", "Kwaliteit van opleveringen wisselend."],
    ["Afgesproken resultaten gehaald.", "Levert op tijd en volgens afspraak."],
    ["Resultaten ruim boven de afspraken.", "Leverde extra resultaat in het programma."],
    ["Uitzonderlijke resultaten met effect op de hele organisatie.", "Resultaten ver boven verwachting."],
]
INCIDENTAL_TEXTS = [
    "Uitstekende bijdrage aan de reorganisatie van één team",
    "Extra inzet bij de coördinatie van het dijkversterkingsproject",
    "Financiële analyse die de provincie een aanzienlijke besparing opleverde",
    "Nieuwe ideeën voor de dienstverlening, met succes ingevoerd",
    "Zeer grote inzet tijdens de calamiteitenperiode (hoogwater)",
    "Overname van taken na het vertrek van een collega, met behoud van kwaliteit",
]
GROUP_TEXTS = [
    "Gezamenlijke prestatie: oplevering van het Omgevingsplan",
    "Groepsbeloning voor het project Zeeuwse Kust",
]
MOBILITY_TEXTS = ["Overstap op eigen initiatief naar een andere afdeling"]
LMA_TEXTS = ["Arbeidsmarkttoelage wegens schaarste aan specialisten (krappe arbeidsmarkt)"]
RETENTION_TEXTS = ["Bindingspremie na afronding van het meerjarige project, zoals vooraf afgesproken"]
STRUCTURAL_TEXTS = ["Bovengemiddelde beoordeling; zie onderbouwing op het formulier"]

Emit = Callable[..., None]

EVAL_COLUMNS = [
    ("Medewerkernr", "s"),
    ("Beoordelingsjaar", "n"),
    ("Directie", "s"),
    ("Afdeling", "s"),
    ("Schaal", "s"),
    ("Leidinggevende", "s"),
    ("Voorstel beoordeling", "s"),
    ("Beoordeling", "s"),
    ("Cijfer", "s"),
    ("Geslacht", "s"),
    ("Geboortejaar", "n"),
    ("Deeltijdfactor", "s"),  # text with a decimal comma, as this export writes fractions
    ("Datum in dienst", "n"),  # a date column that lost its date format: bare Excel serial numbers
    ("Datum jaargesprek", "d"),
    ("Op schaalmaximum", "s"),
    ("Soort afwezigheid", "s"),
    ("Maanden afwezig", "s"),
    ("Dienstverband", "s"),
    ("Maanden in dienst", "n"),
    ("Onderbouwing competenties", "s"),
    ("Onderbouwing resultaten", "s"),
    ("E-mail", "s"),
]
HIDDEN_ROWS: list[list[object]] = [
    ["Hulpgegevens export (niet gebruiken)", None, None],
    ["Medewerkernr", "Oordeel", "Opmerking"],
    ["Z00000", "Goed", "testregel"],
    ["Z00001", "Voldoende", "#N/B"],
    ["Totaal", 2, None],
]


def scale_amounts() -> tuple[np.ndarray, np.ndarray]:
    """Annual minimum and maximum per scale 1..18 (index 0 = scale 1)."""
    monthly = np.array([*CAO_2015, (CAO_2015[-1][0] * SCALE18_FACTOR, CAO_2015[-1][1] * SCALE18_FACTOR)])
    annual = np.round(monthly * 12 * HOLIDAY * INDEX_2015, 2)
    return annual[:, 0], annual[:, 1]


def _female_share(level: np.ndarray) -> np.ndarray:
    scale = level + 1
    return np.where(scale <= 8, 0.62, np.where(scale <= 11, 0.50, 0.38))


def _pick(rng: np.random.Generator, mask: np.ndarray, share: float) -> np.ndarray:
    """At least one (when any candidate) and about `share` of the candidates, as a boolean mask."""
    cand = np.flatnonzero(mask)
    out = np.zeros(len(mask), dtype=bool)
    if len(cand):
        k = max(1, round(len(cand) * share))
        out[rng.choice(cand, size=min(k, len(cand)), replace=False)] = True
    return out


def generate(seed: int, n: int, years: list[int], emit: Emit) -> dict[str, Any]:
    rng = rng_for(seed, ORG, "panel")
    panel = simulate_panel(
        rng, n, years, DEPTS, DEPT_WEIGHTS, SCALE_P, female_share=_female_share, id_space=2.0
    )
    pool = panel.pool
    ra = rng_for(seed, ORG, "attributes")
    scale = panel.level  # 0..17 -> scale 1..18
    smin, smax = scale_amounts()
    fte = np.array([1.0, 0.89, 0.8, 0.67, 0.5])[choice(ra, pool, [0.55, 0.15, 0.15, 0.05, 0.10])]
    agency = ra.random(pool) < 0.015
    end_first = day(years[0], 12, 31)
    first_staff = panel.joined == 0
    hire_day = np.where(agency & first_staff, end_first - 60 - ra.integers(0, 640, pool), panel.hire_day)
    temporary = ra.random(pool) < 0.35
    pos = np.where(ra.random(pool) < 0.17, 1.0, ra.beta(1.5, 1.6, pool))
    pos = np.where(first_staff, pos, ra.random(pool) * 0.35)
    salary = np.round(smin[scale] + pos * (smax[scale] - smin[scale]), 2)

    n_teams = panel.n_teams
    numbers = evaluator_numbers(ra, panel, n_teams)
    width = max(5, len(str(int(max(panel.id_number.max(), numbers.max())))))
    emp_ids = pl.Series(panel.id_number).cast(pl.String).str.zfill(width).str.pad_start(width + 1, "Z")
    mgr_ids = pl.Series(numbers).cast(pl.String).str.zfill(width).str.pad_start(width + 1, "L")
    high_dept = DEPTS.index(HIGH_DEPT)
    lenient_team = pick_team(ra, panel, [high_dept])
    eval_effect = ra.normal(0, EVAL_SD, n_teams)
    eval_effect[lenient_team] = LENIENT_SHIFT  # planted: lenient manager
    cuts = np.array([quantile(p, LATENT_SD) for p in GUIDE_CUM])

    stats: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "team",
            "dept",
            "scale",
            "gender",
            "rated",
            "eligible",
            "proposed",
            "final",
            "bonus",
            "at_max",
            "late_conv",
            "no_rating_leave",
            "agency",
            "capped",
        )
    }
    findings: list[dict[str, Any]] = []
    unequal_cycle = years[min(1, len(years) - 1)]
    mobility_planted = False
    pending: tuple[dict[str, Any], Future[bytes]] | None = None
    with ThreadPoolExecutor(max_workers=1) as books:
        for c, y in enumerate(years):
            rc = rng_for(seed, ORG, "cycle", y)
            order = np.argsort(panel.id_number[panel.occupant[c]], kind="stable")  # export sorted by number
            idx = panel.occupant[c][order]
            team = panel.team[c][order]
            dept = panel.team_dept[team]
            sc = scale[idx]
            gender = panel.gender[idx]
            age = y - panel.birth_year[idx]
            hire = hire_day[idx]
            months = np.maximum(np.round((day(y, 12, 31) - hire) / 30.4375), 0).astype(np.int64)
            is_agency = agency[idx] & (months <= 24)
            employment = np.where(is_agency, 2, np.where(temporary[idx] & (months < 24), 1, 0))
            sal = salary[idx]
            at_max = sal >= smax[sc] - 0.005

            # absence (Z-11)
            ua = rc.random(n)
            preg_ok = (gender == 0) & (age < 45)
            absence = np.full(n, -1)
            absence = np.where(ua < 0.07, 0, absence)
            absence = np.where((ua >= 0.07) & (ua < 0.09) & preg_ok, 1, absence)
            absence = np.where((ua >= 0.09) & (ua < 0.115) & (age < 50), 2, absence)
            absence = np.where((ua >= 0.115) & (ua < 0.118), 3, absence)
            absence = np.where((ua >= 0.118) & (ua < 0.133), 4, absence)
            um = rc.random(n)
            m_ill = np.select(
                [um < 0.6, um < 0.85],
                [0.5 + np.floor(um / 0.6 * 4) / 2, 2.5 + np.floor((um - 0.6) / 0.25 * 8) / 2],
                6.5 + np.floor((um - 0.85) / 0.15 * 12) / 2,
            )
            m_preg = 3.5 + np.floor(um * 2) / 2
            m_parent = 1 + np.floor(um * 23) / 2  # 1 .. 12
            m_sabb = 3 + np.floor(um * 19) / 2  # 3 .. 12
            m_other = 0.5 + np.floor(um * 6) / 2
            absence_months = np.select(
                [absence == 0, absence == 1, absence == 2, absence == 3, absence == 4],
                [m_ill, m_preg, m_parent, m_sabb, m_other],
                0.0,
            )
            absence_months = np.minimum(absence_months, 12.0)
            no_rating = np.isin(absence, [2, 3]) & (absence_months > 6)
            rated = ~no_rating

            # ratings: proposal by the manager, then calibration (Z-10)
            z = (
                PERF_W * panel.perf[idx, c]
                + eval_effect[team]
                + np.where(dept == high_dept, HIGH_DEPT_SHIFT, 0.0)
                + rc.normal(0, NOISE_SD, n)
            )
            proposed = np.searchsorted(cuts, z + PROPOSAL_OPTIMISM, side="right")
            women_cal = (gender == 0) & (sc + 1 == CALIBRATION_SCALE)
            down_p = np.minimum(DOWN_P[proposed] * np.where(women_cal, CALIBRATION_FACTOR, 1.0), 0.6)
            uc = rc.random(n)
            final = np.where(
                uc < down_p, proposed - 1, np.where(uc > 1 - UP_P[proposed], proposed + 1, proposed)
            )
            ug = rc.random(n)
            grade = GRADE_OPTIONS[final, np.argmax(ug[:, None] < GRADE_CDF[final], axis=1)]
            wrong_grade = _pick(rc, rated, 0.004)
            grade = np.where(wrong_grade, WRONG_GRADE[final], grade)

            # conversation (Z-12: by 1 March)
            start, deadline = day(y, 11, 15), day(y + 1, 2, 28)
            conv = start + np.floor(rc.beta(2.0, 1.6, n) * (deadline - start + 1)).astype(np.int64)
            late_conv = rc.random(n) < 0.04
            conv = np.where(late_conv, day(y + 1, 3, 2) + rc.integers(0, 45, n), conv)

            # argumentation on the form (Z-8); a few missing
            tc = rc.integers(0, 2, n)
            tr = rc.integers(0, 2, n)
            miss = _pick(rc, rated, 0.02)
            which = rc.integers(0, 3, n)  # 0 competences, 1 results, 2 both
            comp_ok = rated & ~(miss & (which != 1))
            res_ok = rated & ~(miss & (which != 0))
            comp_text = pl.Series([t for row in COMPETENCES for t in row]).gather(pl.Series(final * 2 + tc))
            res_text = pl.Series([t for row in RESULTS for t in row]).gather(pl.Series(final * 2 + tr))

            ids = emp_ids.gather(idx)
            values = {
                "Medewerkernr": ids,
                "Beoordelingsjaar": pl.Series(np.full(n, y, dtype=np.int64)),
                "Directie": labels(DEPT_DIRECTIE, dept),
                "Afdeling": labels(DEPTS, dept),
                "Schaal": (pl.Series(sc + 1)).cast(pl.String),
                "Leidinggevende": mgr_ids.gather(team),
                "Voorstel beoordeling": labels(RATING_LABELS, proposed, rated),
                "Beoordeling": labels(RATING_LABELS, final, rated),
                "Cijfer": dutch_number(grade, rated, decimals=1),
                "Geslacht": labels(["Vrouw", "Man", "X"], gender),
                "Geboortejaar": pl.Series(panel.birth_year[idx]),
                "Deeltijdfactor": dutch_number(fte[idx]),
                "Datum in dienst": pl.Series(hire + EXCEL_EPOCH_OFFSET),
                "Datum jaargesprek": masked(conv, rated),
                "Op schaalmaximum": labels(["nee", "ja"], at_max.astype(np.int64)),
                "Soort afwezigheid": labels(ABSENCE_LABELS, np.maximum(absence, 0), absence >= 0),
                "Maanden afwezig": dutch_number(absence_months, absence >= 0, decimals=1),
                "Dienstverband": labels(EMPLOYMENT_LABELS, employment),
                "Maanden in dienst": pl.Series(months),
                "Onderbouwing competenties": masked(comp_text, comp_ok),
                "Onderbouwing resultaten": masked(res_text, res_ok),
                "E-mail": ("medewerker." + ids.str.to_lowercase() + "@voorbeeld.invalid"),
            }
            cols = [XlsxColumn(h, k, values[h]) for h, k in EVAL_COLUMNS]
            # the workbook is built in the background while the next steps run; at most one waits at a time
            job = books.submit(xlsx_bytes, "Beoordelingen", cols, "Hulpgegevens", HIDDEN_ROWS)
            if pending is not None:
                emit(**pending[0], data=pending[1].result())
            pending = (
                {
                    "name": f"zeeland_beoordelingen_{y}.xlsx",
                    "kind": "evaluations",
                    "cycle": y,
                    "rows": n,
                    "fmt": "xlsx",
                    "encoding": None,
                    "mapping": "zeeland_5punt_evaluations",
                },
                job,
            )

            # payroll before this cycle's raise
            pay = pl.DataFrame(
                {
                    "Medewerkernr": ids,
                    "Jaar": np.full(n, y, dtype=np.int64),
                    "Schaal": pl.Series(sc + 1).cast(pl.String),
                    "Jaarsalaris": dutch_amount(sal),
                    "Deeltijdfactor": dutch_number(fte[idx]),
                    "Afdeling": labels(DEPTS, dept),
                }
            )
            emit(
                name=f"zeeland_salarisadministratie_{y}.csv",
                kind="payroll",
                cycle=y,
                rows=pay.height,
                fmt="csv",
                encoding="utf-8",
                mapping="zeeland_5punt_payroll",
                data=csv_bytes(pay, "utf-8"),
            )

            # awards
            # Z-15: agency workers follow the province's rules (and get rewards) only after 6 months
            eligible = rated & ~(is_agency & (months < 6))
            parts: list[pl.DataFrame] = []

            def part(sel: np.ndarray, award: int, **cols: Any) -> None:
                parts.append(_award_part(ids, sel, award, cols))  # noqa: B023 - called within this iteration

            # structural raise per rated employee (Z-2, Z-3), a few mismatches planted
            pct = np.where(at_max, 0.0, Z2_PCT[final])
            wrong_pct = _pick(rc, eligible, 0.003)
            pct = np.where(wrong_pct, np.where(at_max, 3.0, WRONG_PCT[final]), pct)
            sel = np.flatnonzero(eligible)
            part(
                sel,
                0,
                _pct=pct[sel],
                _text=masked(pl.Series([STRUCTURAL_TEXTS[0]] * len(sel)), pct[sel] > 3),
            )
            # incidental output / input / combined bonus (Z-4); planted gap for women in S08
            p_bonus = np.where(z > cuts[2], 0.20, 0.045)
            bonus = eligible & (rc.random(n) < p_bonus)
            # planted: inside S08 the number of bonuses per gender is set exactly (men at their expected rate,
            # women at GAP_RATIO of it), recipients drawn in proportion to their chance, so the gap is there in
            # every cycle and sample size, not only on average
            in_level = eligible & (sc + 1 == GAP_SCALE)
            men = in_level & (gender == 1)
            rate_men = float(p_bonus[men].mean()) if men.any() else 0.0
            for group, rate in ((men, rate_men), (in_level & (gender == 0), rate_men * GAP_RATIO)):
                members = np.flatnonzero(group)
                bonus[members] = False
                k = min(len(members), round(len(members) * rate))
                if k:
                    w = p_bonus[members] / p_bonus[members].sum()
                    bonus[rc.choice(members, size=k, replace=False, p=w)] = True
            kind = choice(rc, n, [0.45, 0.35, 0.20])  # output, input, combined
            b_pct = np.select(
                [kind == 0, kind == 1],
                [np.where(rc.random(n) < 0.85, 3.0, 7.0), np.full(n, 3.0)],
                np.array([4.0, 5.0, 6.0])[rc.integers(0, 3, n)],
            )
            text = rc.integers(0, len(INCIDENTAL_TEXTS), n)
            for kk in range(3):
                sel = np.flatnonzero(bonus & (kind == kk))
                part(sel, 1 + kk, _pct=b_pct[sel], _text=labels(INCIDENTAL_TEXTS, text[sel]))
            # group reward (Z-5): whole teams (4..10 members), one amount per group, one unequal group planted
            sizes = np.bincount(team[eligible], minlength=n_teams)
            cand_teams = np.flatnonzero(sizes >= 4)
            n_groups = min(len(cand_teams), max(2, round(int(eligible.sum()) / 250)))
            g_teams = (
                rc.choice(cand_teams, size=n_groups, replace=False) if n_groups else np.zeros(0, np.int64)
            )
            g_of_team = np.full(n_teams, -1)
            g_of_team[g_teams] = np.arange(n_groups)
            g_size = rc.integers(4, 11, max(n_groups, 1))
            g_amount = np.array([250.0, 300.0, 400.0, 500.0, 750.0])[rc.integers(0, 5, max(n_groups, 1))]
            order_key = rc.random(n)
            member = eligible & (g_of_team[team] >= 0)
            cand = np.flatnonzero(member)
            cand = cand[np.lexsort((panel.id_number[idx][cand], order_key[cand], g_of_team[team][cand]))]
            grp = g_of_team[team][cand]
            first_pos = np.searchsorted(grp, grp)
            rank = np.arange(len(cand)) - first_pos
            sel = np.sort(cand[rank < g_size[grp]])
            gsel = g_of_team[team][sel]
            amount = g_amount[gsel].copy()
            group_ids = pl.Series([f"GB-{y}-{g + 1:02d}" for g in range(max(n_groups, 1))]).gather(
                pl.Series(gsel)
            )
            if y == unequal_cycle and len(sel):
                j = int(np.flatnonzero(gsel == gsel.min())[0])
                amount[j] += 100.0
                findings.append(
                    {
                        "id": "zeeland_group_reward_unequal",
                        "rule": "Z-5",
                        "organization": ORG,
                        "cycle": y,
                        "group_id": group_ids[j],
                        "employee_ids": [ids[int(sel[j])]],
                        "detail": f"one member got {amount[j]:.2f} net, the others {g_amount[gsel[j]]:.2f}",
                    }
                )
            part(
                sel,
                4,
                _amount=amount,
                _basis=pl.Series(["Netto"] * len(sel), dtype=pl.String),
                _group=group_ids,
                _text=labels(GROUP_TEXTS, gsel % len(GROUP_TEXTS)),
            )
            # mobility (Z-6): department changers, 1000 net pro rata fte; one invalid planted
            mob = eligible & panel.moved_dept[c] & (rc.random(n) < 0.35)
            sel = np.flatnonzero(mob)
            move_type = np.where(rc.random(n) < 0.8, 0, 1)[sel]
            reason = np.zeros(len(sel), dtype=np.int64)
            if not mobility_planted and len(sel):
                j = int(np.argmin(panel.id_number[idx][sel]))
                reason[j] = 1
                mobility_planted = True
                findings.append(
                    {
                        "id": "zeeland_mobility_invalid",
                        "rule": "Z-6",
                        "organization": ORG,
                        "cycle": y,
                        "employee_ids": [ids[int(sel[j])]],
                        "detail": "mobility reward for a move in a reorganisation (move_reason reorganisatie)",
                    }
                )
            part(
                sel,
                5,
                _amount=np.round(1000.0 * fte[idx][sel], 2),
                _basis=pl.Series(["Netto"] * len(sel), dtype=pl.String),
                _move_type=labels(["Horizontaal", "Lagere schaal", "Hogere schaal"], move_type),
                _move_reason=labels(["Eigen initiatief", "Reorganisatie"], reason),
                _text=pl.Series([MOBILITY_TEXTS[0]] * len(sel), dtype=pl.String),
            )
            # labour-market allowance (Z-7): <= 10%, <= 36 months, never above the next scale's maximum
            lma = eligible & (sc + 1 >= 9) & (sc + 1 <= 15) & (rc.random(n) < 0.01)
            next_max = smax[np.minimum(sc + 1, len(smax) - 1)]
            cap = np.floor((next_max / sal - 1) * 200) / 2
            l_pct = np.minimum(np.array([5.0, 7.5, 10.0])[rc.integers(0, 3, n)], cap)
            lma &= l_pct >= 1
            sel = np.flatnonzero(lma)
            lma_start = (
                (np.datetime64(f"{y}-01") + rc.integers(0, 12, n)[sel])
                .astype("datetime64[D]")
                .astype(np.int64)
            )
            part(
                sel,
                6,
                _pct=l_pct[sel],
                _start=lma_start,
                _duration=np.array([12, 24, 36])[rc.integers(0, 3, n)][sel],
                _text=pl.Series([LMA_TEXTS[0]] * len(sel), dtype=pl.String),
            )
            # retention premium (Z-7)
            sel = np.flatnonzero(eligible & (rc.random(n) < 0.004))
            part(
                sel,
                7,
                _amount=np.array([1500.0, 2000.0, 2500.0, 3000.0, 5000.0])[rc.integers(0, 5, n)][sel],
                _basis=pl.Series(["Bruto"] * len(sel), dtype=pl.String),
                _text=pl.Series([RETENTION_TEXTS[0]] * len(sel), dtype=pl.String),
            )
            awards = pl.concat(parts, how="vertical").sort(["_emp", "_type"])
            pct_v, amount_v, start_v = (awards[k].to_numpy() for k in ("_pct", "_amount", "_start"))
            awards = awards.select(
                pl.col("_emp").alias("Medewerkernr"),
                pl.lit(y, dtype=pl.Int64).alias("Jaar"),
                pl.col("_type")
                .replace_strict(dict(enumerate(AWARD_LABELS)), return_dtype=pl.String)
                .alias("Soort beloning"),
                pl.lit(dutch_number(np.nan_to_num(pct_v), ~np.isnan(pct_v))).alias("Percentage"),
                pl.lit(dutch_amount(np.nan_to_num(amount_v), ~np.isnan(amount_v))).alias("Bedrag"),
                pl.col("_basis").alias("Bruto/netto"),
                pl.col("_group").alias("Groep"),
                pl.lit(dutch_date(np.nan_to_num(start_v).astype(np.int64), ~np.isnan(start_v))).alias(
                    "Ingangsdatum"
                ),
                pl.col("_duration").alias("Duur (maanden)"),
                pl.col("_move_type").alias("Soort overstap"),
                pl.col("_move_reason").alias("Reden overstap"),
                pl.col("_text").alias("Toelichting"),
            )
            emit(
                name=f"zeeland_beloningen_{y}.csv",
                kind="awards",
                cycle=y,
                rows=awards.height,
                fmt="csv",
                encoding="cp1252",
                mapping="zeeland_5punt_awards",
                data=csv_bytes(awards, "cp1252", line_terminator="\r\n"),
            )

            for fid, rule, mask, detail in (
                ("zeeland_grade_rating_mismatch", "Z-2", wrong_grade, "grade outside the band of the rating"),
                (
                    "zeeland_structural_pct_mismatch",
                    "Z-2",
                    wrong_pct & ~at_max,
                    "structural pct is not the Z-2 percentage of the rating",
                ),
                (
                    "zeeland_raise_at_scale_maximum",
                    "Z-3",
                    wrong_pct & at_max,
                    "structural raise (3%) for an employee at the scale maximum",
                ),
                (
                    "zeeland_missing_argumentation",
                    "Z-8",
                    miss,
                    "competences and/or results argumentation empty",
                ),
            ):
                findings.append(
                    {
                        "id": fid,
                        "rule": rule,
                        "organization": ORG,
                        "cycle": y,
                        "employee_ids": ids.gather(pl.Series(np.flatnonzero(mask))).sort().to_list(),
                        "detail": detail,
                    }
                )

            # next year's salary: structural raise as awarded, never above the scale maximum (Z-3)
            raise_pct = np.where(eligible, pct, 0.0)
            uncapped = np.round(sal * (1 + raise_pct / 100), 2)
            capped = eligible & ~at_max & (uncapped > smax[sc] + 0.01)
            salary[idx] = np.minimum(uncapped, smax[sc])

            for key, val in (
                ("team", team),
                ("dept", dept),
                ("scale", sc + 1),
                ("gender", gender),
                ("rated", rated),
                ("eligible", eligible),
                ("proposed", proposed),
                ("final", final),
                ("bonus", bonus),
                ("at_max", at_max),
                ("late_conv", late_conv & rated),
                ("no_rating_leave", no_rating),
                ("agency", is_agency),
                ("capped", capped),
            ):
                stats[key].append(val)
        if pending is not None:
            emit(**pending[0], data=pending[1].result())

    # salary scale table (minimum and maximum rows, Z-3: percentage growth, no steps)
    k = len(smin)
    scales = pl.DataFrame(
        {
            "Schaal": pl.Series(np.repeat(np.arange(1, k + 1), 2)).cast(pl.String),
            "Soort": pl.Series(["Minimum", "Maximum"] * k, dtype=pl.String),
            "Jaarbedrag": dutch_amount(np.column_stack([smin, smax]).reshape(-1)),
            "Ingangsdatum": constant(f"01-01-{years[0]}", 2 * k),
        }
    )
    emit(
        name="zeeland_salarisschalen.csv",
        kind="salary_scales",
        cycle=None,
        rows=scales.height,
        fmt="csv",
        encoding="utf-8",
        mapping="zeeland_5punt_salary_scales",
        data=csv_bytes(scales, "utf-8"),
    )
    if not any(f["id"] == "zeeland_group_reward_unequal" for f in findings):
        findings.append(
            {
                "id": "zeeland_group_reward_unequal",
                "rule": "Z-5",
                "organization": ORG,
                "planted": False,
                "detail": "no group reward in the planting cycle of this sample",
            }
        )
    if not mobility_planted:
        findings.append(
            {
                "id": "zeeland_mobility_invalid",
                "rule": "Z-6",
                "organization": ORG,
                "planted": False,
                "detail": "no mobility reward in this sample, so no invalid one could be planted",
            }
        )
    return _manifest_parts(panel, years, stats, mgr_ids, lenient_team, high_dept, findings)


AWARD_COLUMNS = {
    "_pct": pl.Float64,
    "_amount": pl.Float64,
    "_basis": pl.String,
    "_group": pl.String,
    "_start": pl.Int64,
    "_duration": pl.Int64,
    "_move_type": pl.String,
    "_move_reason": pl.String,
    "_text": pl.String,
}


def _award_part(ids: pl.Series, sel: np.ndarray, award: int, cols: dict[str, Any]) -> pl.DataFrame:
    """Award rows of one type for the selected employees; unspecified columns are empty."""
    k = len(sel)
    data: dict[str, pl.Series] = {
        "_emp": ids.gather(pl.Series(sel, dtype=pl.Int64)),
        "_type": pl.Series(np.full(k, award, dtype=np.int64)),
    }
    for key, dtype in AWARD_COLUMNS.items():
        val = cols.get(key)
        if val is None:
            data[key] = pl.Series([None] * k, dtype=dtype)
        else:
            data[key] = (val if isinstance(val, pl.Series) else pl.Series(val)).cast(dtype)
    return pl.DataFrame(data)


def _rate(mask: np.ndarray, within: np.ndarray) -> float | None:
    return round(float(mask[within].mean()), 4) if within.any() else None


def _mean(values: np.ndarray, within: np.ndarray) -> float | None:
    return round(float(values[within].mean()), 4) if within.any() else None


def _manifest_parts(
    panel: Panel,
    years: list[int],
    stats: dict[str, list[np.ndarray]],
    mgr_ids: pl.Series,
    lenient_team: int,
    high_dept: int,
    findings: list[dict[str, Any]],
) -> dict[str, Any]:
    s = {k: np.concatenate(v) for k, v in stats.items()}
    rated, elig = s["rated"], s["eligible"]
    score = s["final"] + 1
    prop_score = s["proposed"] + 1
    by_len = s["team"] == lenient_team
    in_high = s["dept"] == high_dept
    women, men = s["gender"] == 0, s["gender"] == 1
    s08 = s["scale"] == GAP_SCALE
    s11 = s["scale"] == CALIBRATION_SCALE
    down = s["final"] < s["proposed"]
    cycles = list(years)
    planted = [
        {
            "id": "zeeland_lenient_evaluator",
            "pattern": "lenient_evaluator",
            "organization": ORG,
            "cycles": cycles,
            "unit": {
                "type": "evaluator",
                "evaluator_id": mgr_ids[lenient_team],
                "raw_id_column": "Leidinggevende",
            },
            "metric": "rating score (slecht=1 .. uitstekend=5) of the manager's ratees",
            "expected": {
                "direction": "higher",
                "latent_shift_sd": LENIENT_SHIFT,
                "magnitude": "about +1 score point",
            },
            "observed": {
                "n_ratings": int((by_len & rated).sum()),
                "mean_score": _mean(score, by_len & rated),
                "mean_score_others": _mean(score, ~by_len & rated),
                "mean_proposed_score": _mean(prop_score, by_len & rated),
                "mean_proposed_score_others": _mean(prop_score, ~by_len & rated),
            },
        },
        {
            "id": "zeeland_high_rating_department",
            "pattern": "department_rates_high",
            "organization": ORG,
            "cycles": cycles,
            "unit": {"type": "department", "department": DEPTS[high_dept]},
            "metric": "rating score (slecht=1 .. uitstekend=5)",
            "expected": {
                "direction": "higher",
                "latent_shift_sd": HIGH_DEPT_SHIFT,
                "magnitude": "about +0.5 point",
            },
            "observed": {
                "n_ratings": int((in_high & rated).sum()),
                "mean_score": _mean(score, in_high & rated),
                "mean_score_others": _mean(score, ~in_high & rated),
            },
        },
        {
            "id": "zeeland_incidental_gender_gap",
            "pattern": "gender_gap_incidental_rewards",
            "organization": ORG,
            "cycles": cycles,
            "unit": {"type": "function_level", "function_level": f"S{GAP_SCALE:02d}"},
            "metric": "share of eligible rated employees with an output, input or combined bonus (Z-4)",
            "expected": {
                "direction": "women lower",
                "magnitude": "women about half as often as men inside the level; small gap overall",
                "rate_ratio_women_to_men": GAP_RATIO,
            },
            "observed": {
                "n_women": int((elig & s08 & women).sum()),
                "n_men": int((elig & s08 & men).sum()),
                "rate_women": _rate(s["bonus"], elig & s08 & women),
                "rate_men": _rate(s["bonus"], elig & s08 & men),
                "overall_rate_women": _rate(s["bonus"], elig & women),
                "overall_rate_men": _rate(s["bonus"], elig & men),
            },
        },
        {
            "id": "zeeland_calibration_gender",
            "pattern": "calibration_moves_women_down",
            "organization": ORG,
            "cycles": cycles,
            "unit": {"type": "function_level", "function_level": f"S{CALIBRATION_SCALE:02d}"},
            "metric": "share of rated employees whose final rating is below the proposed rating",
            "expected": {
                "direction": "women moved down more often",
                "down_probability_factor": CALIBRATION_FACTOR,
                "note": "elsewhere calibration moves ratings toward the norm (normaal) regardless of gender",
            },
            "observed": {
                "n_women": int((rated & s11 & women).sum()),
                "n_men": int((rated & s11 & men).sum()),
                "down_share_women": _rate(down, rated & s11 & women),
                "down_share_men": _rate(down, rated & s11 & men),
                "down_share_elsewhere": _rate(down, rated & ~s11),
                "up_share_elsewhere": _rate(s["final"] > s["proposed"], rated & ~s11),
            },
        },
        {
            "id": "zeeland_evaluator_random_effects",
            "pattern": "evaluator_random_effects",
            "organization": ORG,
            "cycles": cycles,
            "unit": {"type": "all_evaluators"},
            "metric": "latent rating score",
            "expected": {
                "evaluator_sd": EVAL_SD,
                "ratee_sd": PERF_W,
                "residual_sd": NOISE_SD,
                "note": "ordinary rater variance; no other planted effects in zeeland-demo",
            },
        },
    ]
    base = {
        "n_evaluations": len(rated),
        "rating_shares": {code: _rate(score == i + 1, rated) for i, code in enumerate(RATING_CODES)},
        "proposed_shares": {code: _rate(prop_score == i + 1, rated) for i, code in enumerate(RATING_CODES)},
        "at_scale_maximum_share": _rate(s["at_max"], np.ones(len(rated), dtype=bool)),
        "no_rating_chosen_leave": int(s["no_rating_leave"].sum()),
        "agency_workers": int(s["agency"].sum()),
        "late_conversation_share": _rate(s["late_conv"], rated),
        "incidental_bonus_share": _rate(s["bonus"], elig),
        # near the maximum the Z-2 percentage would pass it: the award keeps the Z-2 percentage and payroll
        # caps the salary at the maximum (Z-3), so these show up as 'raise above the scale maximum' findings
        "structural_raise_passing_maximum": int(s["capped"].sum()),
    }
    return {"planted": planted, "findings": findings, "base_rates": base, "panel": panel}
