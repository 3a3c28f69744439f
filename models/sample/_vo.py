"""vo-demo: a Flemish government organisation on PLOEG, exported from Vlimpers (DOMAIN.md F-1..F-11).

Files (all `;`-separated, decimal comma, dd-mm-yyyy, ja/nee):
  vlimpers_evaluaties_vo-demo_<cycle>.csv    evaluations (UTF-8)
  vlimpers_toelagen_vo-demo_<cycle>.csv      performance allowances (UTF-8)
  vlimpers_loonlijst_vo-demo_<cycle>.csv     payroll (UTF-8)
  vlimpers_weddeschalen_vo-demo.csv          salary scales (UTF-8 with BOM)

Salary scales: the real amounts of annex 5 of the Vlaams personeelsstatuut were not available (see
shared/reference/README.md). The table below is *made up but plausible*: per scale a minimum and maximum of
the indexed gross annual salary at 100% (level D about 24k–36k, level A about 42k–70k), 36 steps 0..35
spaced linearly, each step's base amount (index 100%) rounded to the cent and multiplied by the index
coefficient 2.0399 (203.99%, Belgian public salaries from 1 December 2023).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from models.sample._common import (
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
    year_of,
)
from models.sample._population import Panel, evaluator_numbers, pick_team, simulate_panel

ORG = "vo-demo"
INDEX = 2.0399
MAX_STEP = 35
SENIORITY_CUTOFF = day(2024, 6, 1)  # F-8

ENTITIES: list[tuple[str, list[str]]] = [
    ("Departement Omgeving", ["Beleid Ruimte", "Vergunningen", "Handhaving"]),
    ("Agentschap Wegen en Verkeer", ["Wegenonderhoud", "Verkeerscentrum", "Projecten Infrastructuur"]),
    ("Departement Financiën en Begroting", ["Begroting", "Boekhouding", "Financiële Inspectie"]),
    ("Agentschap Digitaal Vlaanderen", ["Data en Analyse", "Applicaties", "Klantendienst"]),
]
DEPTS = [d for _, ds in ENTITIES for d in ds]
DEPT_ENTITY = [e for e, ds in ENTITIES for _ in ds]
DEPT_WEIGHTS = [1.0, 1.3, 0.8, 1.4, 0.7, 1.1, 0.9, 1.2, 0.6, 1.0, 1.2, 1.3]
LATE_DEPT = "Wegenonderhoud"  # planted: late signatures
TRAP2_DEPT = "Data en Analyse"  # planted: more trap 2

LEVELS = ["A", "B", "C", "D"]
LEVEL_P = [0.36, 0.26, 0.27, 0.11]
# scale code, indexed minimum and maximum (gross annual at 100%), share within the level
SCALES: list[tuple[str, int, float, float, float]] = [
    ("A111", 0, 42_000, 62_000, 0.45),
    ("A112", 0, 44_000, 64_500, 0.25),
    ("A121", 0, 46_500, 66_500, 0.15),
    ("A122", 0, 48_500, 68_000, 0.10),
    ("A131", 0, 51_000, 70_000, 0.05),
    ("B111", 1, 33_000, 50_000, 0.55),
    ("B112", 1, 35_000, 52_000, 0.30),
    ("B121", 1, 37_000, 54_000, 0.15),
    ("C111", 2, 27_000, 41_000, 0.55),
    ("C112", 2, 29_000, 43_000, 0.30),
    ("C121", 2, 31_000, 45_000, 0.15),
    ("D111", 3, 24_000, 34_000, 0.65),
    ("D112", 3, 25_500, 36_000, 0.35),
]

# latent rating model (in standard-deviation units of the latent score)
PERF_W, EVAL_SD, NOISE_SD = 0.8, 0.35, 0.5
LATENT_SD = float(np.sqrt(PERF_W**2 + EVAL_SD**2 + NOISE_SD**2))
LENIENT_SHIFT = 1.4
TRAP2_DEPT_SHIFT = 0.6
P_NEGATIVE, P_TRAP0, P_TRAP2 = 0.0045, 0.085, 0.155
P_LATE1 = {"planted": 0.40, "base": 0.03}
P_LATE2 = {"planted": 0.35, "base": 0.02}

EVAL_HEADER = [
    "Personeelsnummer",
    "Evaluatiejaar",
    "Entiteit",
    "Afdeling",
    "Niveau",
    "Statuut",
    "Salarisstelsel",
    "Evaluator 1",
    "Evaluator 2",
    "Geslacht",
    "Geboortejaar",
    "Prestatiebreuk",
    "Datum in dienst",
    "Datum planningsgesprek",
    "Datum zelfevaluatie",
    "Datum evaluatiegesprek",
    "Schriftelijk",
    "Handtekening evaluator 1",
    "Handtekening evaluator 2",
    "Datum bezorging",
    "Datum kennisname",
    "Evaluatiebeslissing",
    "Voorstel evaluatiebeslissing?",
    "Salarisbeslissing",
    "Beroep",
    "Uitkomst beroep",
    "Tegenspraak adviesorgaan",
    "Datum vervroegde evaluatie",
    "Naam",
    "Rijksregisternummer",
]
RATINGS = ["Loopbaanvertraging", "Onvoldoende", "Voldoende"]  # codes 0, 1, 2
MOTIVATIONS = [
    "Uitzonderlijke inzet bij de overgang naar het nieuwe dossierbeheer",
    "Coördineerde het project met grote zelfstandigheid en resultaat",
    "Nam bijkomende taken op tijdens de afwezigheid van een collega",
    "Zeer goede klantgerichtheid, bevestigd door externe partners",
    "Leverde een belangrijke bijdrage aan de hervorming van de procedures",
]

Emit = Callable[..., None]


def _fte(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.array([1.0, 0.9, 0.8, 0.75, 0.6, 0.5])[choice(rng, n, [0.70, 0.04, 0.15, 0.02, 0.03, 0.06])]


def scale_table() -> tuple[list[str], np.ndarray]:
    """Scale codes and the indexed amount of every step, shape [scales, 36]."""
    steps = np.arange(MAX_STEP + 1)
    lo = np.array([s[2] for s in SCALES])[:, None]
    hi = np.array([s[3] for s in SCALES])[:, None]
    base = np.round((lo + (hi - lo) * steps / MAX_STEP) / INDEX, 2)
    return [s[0] for s in SCALES], np.round(base * INDEX, 2)


def _geom(rng: np.random.Generator, p: float, n: int) -> np.ndarray:
    return rng.geometric(p, n).astype(np.int64) - 1


def generate(seed: int, n: int, years: list[int], emit: Emit) -> dict[str, Any]:
    """Simulate the organisation and hand every file to `emit`; return manifest parts."""
    rng = rng_for(seed, ORG, "panel")
    panel = simulate_panel(
        rng,
        n,
        years,
        DEPTS,
        DEPT_WEIGHTS,
        LEVEL_P,
        female_share=lambda lv: np.full(len(lv), 0.53),
    )
    pool = panel.pool
    ra = rng_for(seed, ORG, "attributes")
    statutory = ra.random(pool) < 0.65
    fte = _fte(ra, pool)
    scale_codes, table = scale_table()
    scale_level = np.array([s[1] for s in SCALES])
    scale_p = np.array([s[4] for s in SCALES])
    # scale within the person's level
    u = ra.random(pool)
    scale = np.zeros(pool, dtype=np.int64)
    for lv in range(len(LEVELS)):
        idx = np.flatnonzero(scale_level == lv)
        cdf = np.cumsum(scale_p[idx]) / scale_p[idx].sum()
        pick = idx[np.minimum(np.searchsorted(cdf, u, side="right"), len(idx) - 1)]
        scale = np.where(panel.level == lv, pick, scale)
    senior = (panel.hire_day < SENIORITY_CUTOFF) & (ra.random(pool) < 0.5)
    hire_year = year_of(panel.hire_day)
    service = np.maximum(years[0] - hire_year, 0)
    step = np.where(
        panel.joined == 0,
        np.clip(np.rint(0.8 * service + ra.normal(0, 2, pool)), 0, MAX_STEP),
        ra.integers(0, 6, pool),
    ).astype(np.int64)

    # evaluators: one per team, a second evaluator per cluster of teams
    n_clusters = int(panel.team_cluster.max()) + 1
    numbers = evaluator_numbers(ra, panel, panel.n_teams + n_clusters)
    width = max(6, len(str(int(numbers.max()))))
    eval_ids = pl.Series(numbers[: panel.n_teams]).cast(pl.String).str.zfill(width)
    second_ids = pl.Series(numbers[panel.n_teams :]).cast(pl.String).str.zfill(width)
    emp_ids = pl.Series(panel.id_number).cast(pl.String).str.zfill(width)

    late_dept = DEPTS.index(LATE_DEPT)
    trap2_dept = DEPTS.index(TRAP2_DEPT)
    lenient_team = pick_team(ra, panel, [late_dept, trap2_dept])
    eval_effect = ra.normal(0, EVAL_SD, panel.n_teams)
    eval_effect[lenient_team] = LENIENT_SHIFT  # planted: lenient evaluator (replaces its random effect)

    cut_neg = quantile(P_NEGATIVE, LATENT_SD)
    cut_t0 = quantile(P_TRAP0, LATENT_SD)
    cut_t2 = quantile(1 - P_TRAP2, LATENT_SD)
    dept_entity = [DEPT_ENTITY[d] for d in range(len(DEPTS))]

    stats: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "team",
            "dept",
            "decision",
            "rating",
            "senior",
            "late1",
            "late2",
            "outside",
            "hire",
            "has_pa",
        )
    }
    for c, y in enumerate(years):
        rc = rng_for(seed, ORG, "cycle", y)
        order = np.argsort(panel.id_number[panel.occupant[c]], kind="stable")  # export sorted by number
        idx = panel.occupant[c][order]
        team = panel.team[c][order]
        dept = panel.team_dept[team]
        z = (
            PERF_W * panel.perf[idx, c]
            + eval_effect[team]
            + np.where(dept == trap2_dept, TRAP2_DEPT_SHIFT, 0.0)
            + rc.normal(0, NOISE_SD, n)
        )
        is_senior = senior[idx]
        is_stat = statutory[idx]
        negative = z < cut_neg
        delay = negative & is_stat & is_senior & (rc.random(n) < 0.3)
        rating = np.where(delay, 0, np.where(negative, 1, 2))
        trap = np.where(negative | (z < cut_t0), 0, np.where(z > cut_t2, 2, 1))
        has_trap = ~is_senior

        # process dates (F-1, F-2, F-4, F-5)
        dec1, mar10, mar15, mar31 = day(y, 12, 1), day(y + 1, 3, 10), day(y + 1, 3, 15), day(y + 1, 3, 31)
        uc = rc.random(n)
        conv = dec1 + np.floor(rc.beta(2.0, 2.2, n) * (mar10 - dec1 + 1)).astype(np.int64)
        conv = np.where(uc < 0.04, mar10 + 1 + rc.integers(0, 21, n), conv)
        early = (uc >= 0.04) & (uc < 0.049)
        late = (uc >= 0.049) & (uc < 0.058)
        conv = np.where(early, day(y, 11, 10) + rc.integers(0, 21, n), conv)
        conv = np.where(late, day(y + 1, 4, 1) + rc.integers(0, 20, n), conv)
        outside = early | late
        in_late_dept = dept == late_dept
        late1 = rc.random(n) < np.where(in_late_dept, P_LATE1["planted"], P_LATE1["base"])
        first = conv + _geom(rc, 0.25, n)
        first = np.where(conv <= mar15, np.minimum(first, mar15), first)
        first = np.where(late1, np.maximum(conv, mar15) + 1 + rc.integers(0, 30, n), first)
        late2 = (rc.random(n) < np.where(in_late_dept, P_LATE2["planted"], P_LATE2["base"])) | (first > mar31)
        second = np.maximum(first, np.minimum(first + _geom(rc, 0.3, n), mar31))
        second = np.where(late2, np.maximum(first, mar31) + 1 + rc.integers(0, 25, n), second)
        delivery = second + _geom(rc, 0.6, n)
        delivery = np.where(second <= mar31, np.maximum(second, np.minimum(delivery, mar31)), delivery)
        notice = delivery + _geom(rc, 0.35, n)
        unfinished = rc.random(n) < 0.005
        hire = panel.hire_day[idx]
        planning = day(y, 1, 10) + rc.integers(0, 80, n)
        planning = np.maximum(planning, hire + 14 + rc.integers(0, 30, n))
        has_planning = rc.random(n) >= 0.02
        self_eval = conv - 1 - _geom(rc, 0.2, n)
        has_self = rc.random(n) >= 0.10
        written = rc.random(n) < 0.015
        # F-5: from the 6th month after the month of notice (186 days is always past that first day)
        reeval = notice + 186 + rc.integers(0, 60, n)
        has_reeval = (rating == 1) & ~unfinished & (rc.random(n) < 0.3)

        # appeals (F-11)
        appeal = (rating < 2) & is_stat & (rc.random(n) < 0.45)
        outcome = choice(rc, n, [0.25, 0.55, 0.20])  # gegrond, ongegrond, lopend
        barred = appeal & (outcome != 0)
        contest = has_trap & (trap == 0) & ~barred & (rc.random(n) < 0.12)

        gender = panel.gender[idx]
        ids = emp_ids.gather(idx)
        yn = ["nee", "ja"]
        columns: dict[str, pl.Series | np.ndarray] = {
            "Personeelsnummer": ids,
            "Evaluatiejaar": np.full(n, y, dtype=np.int64),
            "Entiteit": labels(dept_entity, dept),
            "Afdeling": labels(DEPTS, dept),
            "Niveau": labels(LEVELS, panel.level[idx]),
            "Statuut": labels(["Contractueel", "Statutair"], is_stat.astype(np.int64)),
            "Salarisstelsel": labels(["Evaluatie", "Anciënniteit"], is_senior.astype(np.int64)),
            "Evaluator 1": eval_ids.gather(team),
            "Evaluator 2": second_ids.gather(panel.team_cluster[team]),
            "Geslacht": labels(["V", "M", "X"], gender),
            "Geboortejaar": panel.birth_year[idx],
            "Prestatiebreuk": dutch_number(fte[idx]),
            "Datum in dienst": dutch_date(hire),
            "Datum planningsgesprek": dutch_date(planning, has_planning),
            "Datum zelfevaluatie": dutch_date(self_eval, has_self),
            "Datum evaluatiegesprek": dutch_date(conv),
            "Schriftelijk": labels(yn, written.astype(np.int64)),
            "Handtekening evaluator 1": dutch_date(first),
            "Handtekening evaluator 2": dutch_date(second, ~unfinished),
            "Datum bezorging": dutch_date(delivery, ~unfinished),
            "Datum kennisname": dutch_date(notice, ~unfinished),
            "Evaluatiebeslissing": labels(RATINGS, rating),
            "Voorstel evaluatiebeslissing?": labels(yn, unfinished.astype(np.int64)),
            "Salarisbeslissing": masked(trap, has_trap),
            "Beroep": labels(yn, appeal.astype(np.int64)),
            "Uitkomst beroep": labels(["Gegrond", "Ongegrond", "Lopend"], outcome, appeal),
            "Tegenspraak adviesorgaan": labels(yn, contest.astype(np.int64)),
            "Datum vervroegde evaluatie": dutch_date(reeval, has_reeval),
            "Naam": "Fictief Persoon " + ids,
            "Rijksregisternummer": "FICTIEF-00.00.00-" + ids.str.slice(-5).str.zfill(5),
        }
        frame = pl.DataFrame(columns).select(EVAL_HEADER)
        emit(
            name=f"vlimpers_evaluaties_{ORG}_{y}.csv",
            kind="evaluations",
            cycle=y,
            rows=frame.height,
            fmt="csv",
            encoding="utf-8",
            mapping="vlimpers_ploeg_evaluations",
            data=csv_bytes(frame, "utf-8"),
        )

        # payroll before this cycle's raise
        sc = scale[idx]
        st = step[idx]
        pay = pl.DataFrame(
            {
                "Personeelsnummer": ids,
                "Jaar": np.full(n, y, dtype=np.int64),
                "Weddeschaal": labels(scale_codes, sc),
                "Trap": st,
                "Bruto jaarwedde": dutch_amount(table[sc, st]),
                "Prestatiebreuk": dutch_number(fte[idx]),
            }
        )
        emit(
            name=f"vlimpers_loonlijst_{ORG}_{y}.csv",
            kind="payroll",
            cycle=y,
            rows=pay.height,
            fmt="csv",
            encoding="utf-8",
            mapping="vlimpers_ploeg_payroll",
            data=csv_bytes(pay, "utf-8"),
        )

        # performance allowances (F-7): a few % of staff, mostly strong performers
        has_pa = (rating == 2) & (rc.random(n) < np.where(z > cut_t2, 0.12, 0.012))
        level = panel.level[idx]
        pct_d = np.array([5.0, 7.5, 10.0, 12.5, 15.0])[choice(rc, n, [0.35, 0.25, 0.25, 0.05, 0.10])]
        pct_o = np.array([3.0, 5.0, 7.5, 10.0, 15.0])[choice(rc, n, [0.25, 0.35, 0.2, 0.15, 0.05])]
        pct = np.where(level == 3, pct_d, pct_o)
        motiv = choice(rc, n, np.ones(len(MOTIVATIONS)))
        sel = np.flatnonzero(has_pa)
        awards = pl.DataFrame(
            {
                "Personeelsnummer": ids.gather(sel),
                "Jaar": np.full(len(sel), y, dtype=np.int64),
                "Type toelage": constant("Functioneringstoelage", len(sel)),
                "Percentage": dutch_number(pct[sel]),
                "Motivering": labels(MOTIVATIONS, motiv[sel]),
            }
        )
        emit(
            name=f"vlimpers_toelagen_{ORG}_{y}.csv",
            kind="awards",
            cycle=y,
            rows=awards.height,
            fmt="csv",
            encoding="utf-8",
            mapping="vlimpers_ploeg_awards",
            data=csv_bytes(awards, "utf-8"),
        )

        # next year: steps (F-9) and seniority jumps; some staff leave the seniority system (F-8)
        bump = np.where(is_senior, ((y - hire_year[idx]) % 2 == 1).astype(np.int64), trap)
        step[idx] = np.minimum(st + bump, MAX_STEP)
        senior &= ~(rc.random(pool) < 0.03)

        for key, val in (
            ("team", team),
            ("dept", dept),
            ("decision", np.where(has_trap, trap, -1)),
            ("rating", rating),
            ("senior", is_senior),
            ("late1", first > mar15),
            ("late2", (second > mar31) & ~unfinished),
            ("outside", outside),
            ("hire", hire),
            ("has_pa", has_pa),
        ):
            stats[key].append(val)

    # the scale table (one file, UTF-8 with BOM)
    steps = np.arange(MAX_STEP + 1)
    k = len(scale_codes)
    rows_scale = np.concatenate([np.arange(k), np.repeat(np.arange(k), MAX_STEP + 1), np.arange(k)])
    kind = np.concatenate([np.zeros(k), np.ones(k * (MAX_STEP + 1)), np.full(k, 2)]).astype(np.int64)
    step_col = np.concatenate([np.zeros(k), np.tile(steps, k), np.zeros(k)]).astype(np.int64)
    amount = np.concatenate([table[:, 0], table.reshape(-1), table[:, MAX_STEP]])
    scales = pl.DataFrame(
        {
            "Weddeschaal": labels(scale_codes, rows_scale),
            "Soort": labels(["Minimum", "Trap", "Maximum"], kind),
            "Trap": masked(step_col, kind == 1),
            "Jaarbedrag 100% geïndexeerd": dutch_amount(amount),
            "Ingangsdatum": constant(f"01-01-{years[0]}", len(kind)),
        }
    )
    emit(
        name=f"vlimpers_weddeschalen_{ORG}.csv",
        kind="salary_scales",
        cycle=None,
        rows=scales.height,
        fmt="csv",
        encoding="utf-8-sig",
        mapping="vlimpers_ploeg_salary_scales",
        data=csv_bytes(scales, "utf-8-sig"),
    )
    return _manifest_parts(panel, years, stats, eval_ids, lenient_team, late_dept, trap2_dept)


def _share(mask: np.ndarray, within: np.ndarray | None = None) -> float | None:
    m = mask if within is None else mask[within]
    return round(float(m.mean()), 4) if len(m) else None


def _manifest_parts(
    panel: Panel,
    years: list[int],
    stats: dict[str, list[np.ndarray]],
    eval_ids: pl.Series,
    lenient_team: int,
    late_dept: int,
    trap2_dept: int,
) -> dict[str, Any]:
    s = {k: np.concatenate(v) for k, v in stats.items()}
    dec = s["decision"]
    in_trap = dec >= 0
    by_len = s["team"] == lenient_team
    in_t2 = s["dept"] == trap2_dept
    in_late = s["dept"] == late_dept
    rating = s["rating"]
    cycles = list(years)

    def mean_dec(mask: np.ndarray) -> float | None:
        m = mask & in_trap
        return round(float(dec[m].mean()), 4) if m.any() else None

    planted = [
        {
            "id": "vo_lenient_evaluator",
            "pattern": "lenient_evaluator",
            "organization": ORG,
            "cycles": cycles,
            "unit": {
                "type": "evaluator",
                "evaluator_id": eval_ids[lenient_team],
                "raw_id_column": "Evaluator 1",
            },
            "metric": "salary_decision (trap 0/1/2) of the evaluator's ratees in the evaluation-based system",
            "expected": {
                "direction": "higher",
                "latent_shift_sd": LENIENT_SHIFT,
                "magnitude": "about +1.4 latent SD (one score point equivalent): trap 2 share ~0.65 "
                "instead of ~0.17, mean trap about +0.55, hardly any trap 0 or onvoldoende",
            },
            "observed": {
                "n_ratings": int(by_len.sum()),
                "n_with_trap": int((by_len & in_trap).sum()),
                "mean_trap": mean_dec(by_len),
                "mean_trap_others": mean_dec(~by_len),
                "trap2_share": _share(dec == 2, by_len & in_trap),
                "trap2_share_others": _share(dec == 2, ~by_len & in_trap),
            },
        },
        {
            "id": "vo_trap2_department",
            "pattern": "department_more_trap2",
            "organization": ORG,
            "cycles": cycles,
            "unit": {"type": "department", "department": DEPTS[trap2_dept]},
            "metric": "share of salary_decision = 2 among evaluation-based staff",
            "expected": {
                "direction": "higher",
                "latent_shift_sd": TRAP2_DEPT_SHIFT,
                "magnitude": "trap 2 share ~0.3 vs ~0.17",
            },
            "observed": {
                "n_with_trap": int((in_t2 & in_trap).sum()),
                "trap2_share": _share(dec == 2, in_t2 & in_trap),
                "trap2_share_others": _share(dec == 2, ~in_t2 & in_trap),
                "mean_trap": mean_dec(in_t2),
                "mean_trap_others": mean_dec(~in_t2),
            },
        },
        {
            "id": "vo_late_signatures",
            "pattern": "late_signatures",
            "organization": ORG,
            "cycles": cycles,
            "unit": {"type": "department", "department": DEPTS[late_dept]},
            "metric": "first signature after 15 March / second signature after 31 March (F-4)",
            "expected": {
                "direction": "higher",
                "magnitude": f"first late ~{P_LATE1['planted']:.0%} vs a few %, second late "
                f"~{P_LATE2['planted']:.0%}+ vs a few %",
            },
            "observed": {
                "n": int(in_late.sum()),
                "first_late_share": _share(s["late1"], in_late),
                "first_late_share_others": _share(s["late1"], ~in_late),
                "second_late_share": _share(s["late2"], in_late),
                "second_late_share_others": _share(s["late2"], ~in_late),
            },
        },
        {
            "id": "vo_evaluator_random_effects",
            "pattern": "evaluator_random_effects",
            "organization": ORG,
            "cycles": cycles,
            "unit": {"type": "all_evaluators"},
            "metric": "latent rating score",
            "expected": {
                "evaluator_sd": EVAL_SD,
                "ratee_sd": PERF_W,
                "residual_sd": NOISE_SD,
                "note": "ordinary rater variance; no other evaluator, department or group effects are planted "
                "in vo-demo besides the entries above",
            },
        },
    ]
    base = {
        "n_evaluations": len(rating),
        "onvoldoende_share": _share(rating == 1),
        "loopbaanvertraging_share": _share(rating == 0),
        "loopbaanvertraging_only_statutory_seniority": True,
        "trap_shares": {str(t): _share(dec == t, in_trap) for t in (0, 1, 2)},
        "anciennitet_share": _share(s["senior"]),
        "anciennitet_hired_on_or_after_cutoff": int((s["senior"] & (s["hire"] >= SENIORITY_CUTOFF)).sum()),
        "conversation_outside_window_share": _share(s["outside"]),
        "first_signature_late_share": _share(s["late1"]),
        "second_signature_late_share": _share(s["late2"]),
        "performance_allowance_share": _share(s["has_pa"]),
    }
    return {"planted": planted, "findings": [], "base_rates": base, "panel": panel}
