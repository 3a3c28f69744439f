"""marts.calibration_worklist: the cases a calibration meeting (Z-10; PLOEG evaluations, F-3) should discuss.

Grain: organisation × cycle × department × employee × measure × reason (an employee can appear with several
reasons). Ids are the pseudonyms of staging. Reasons, each only where the policy gives it meaning:

``out_of_line``
    The rating is out of line with the department after adjusting for function level: with r = score - the
    organisation's mean for the employee's function level (this cycle and measure), d = (r - mean r of the
    department's other members) / sigma_within, where sigma_within is the organisation's pooled SD within
    function levels. A case when |d| >= calibration.case_outlier_sd and the department has at least
    metrics.min_n_flag ratings.
``evaluator_flagged``
    The first evaluator is lenient or severe in marts.evaluator_leniency (this cycle and measure) and this
    score lies on that side of the mean of its cycle × department × function level.
``missing_argumentation``
    Top rating of the scale without argumentation for both aspects (competences and results), when the
    policy's ``argumentation`` section requires it for that rating (Z-8). Policies without that section
    (PLOEG) never give this reason.
``lowest_outcome``
    A rating in the policy's lowest_outcome (e.g. onvoldoende / loopbaanvertraging, slecht).
``sharp_change``
    |score - score in the previous cycle| >= calibration.sharp_change_points on the measure's scale.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from models.calibration import _texts as tx
from models.calibration._data import MeasureRows, OrgData, dense_codes, prepare
from models.calibration._scales import RATING
from models.calibration.deviation import stratum_stats
from models.calibration.leniency import evaluator_leniency
from models.calibration.transitions import previous_codes
from models.policy import Policy

SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "department": pl.String(),
    "employee_id": pl.String(),
    "evaluator_id": pl.String(),
    "function_level": pl.String(),
    "measure": pl.String(),
    "rating": pl.String(),
    "previous_rating": pl.String(),
    "reason_code": pl.String(),
    "rule": pl.String(),
    "reason_nl": pl.String(),
    "reason_en": pl.String(),
}

REASONS = ("out_of_line", "evaluator_flagged", "missing_argumentation", "lowest_outcome", "sharp_change")


def _flagged_evaluators(org: OrgData, rows: MeasureRows, leniency: pl.DataFrame) -> np.ndarray:
    """Per row: +1 when its evaluator is lenient this cycle and measure, -1 when severe, 0 otherwise."""
    sel = leniency.filter(
        (pl.col("organization") == org.org) & (pl.col("measure") == rows.measure.name) & pl.col("flag")
    )
    table = np.zeros((org.cycles.size, max(org.size("eva"), 1)), dtype=np.int64)
    if sel.height:
        cyc = np.searchsorted(org.cycles, sel["cycle"].to_numpy())
        names = org.names("eva").to_numpy()
        ids = sel["evaluator_id"].to_numpy()
        eva = np.minimum(np.searchsorted(names, ids), max(names.size - 1, 0))
        known = (cyc < org.cycles.size) & (names.size > 0) & (names[eva] == ids)
        sign = np.where(sel["assessment"].to_numpy() == "lenient", 1, -1)
        table[cyc[known], eva[known]] = sign[known]
    return table[rows.cycle, rows.eva]


def worklist_frames(org: OrgData, rows: MeasureRows, leniency: pl.DataFrame) -> list[pl.DataFrame]:
    m, s = rows.measure, org.settings
    n_cycles, n_dept, n_lvl = org.cycles.size, org.size("dept"), org.size("lvl")
    # out of line with the department after adjusting for function level (leave-one-out department mean)
    lv = stratum_stats(rows.cycle, rows.lvl, rows.score, n_cycles, n_lvl)
    r = rows.score - lv.mean[rows.cycle, rows.lvl]
    dkey = rows.cycle * n_dept + rows.dept
    d_sum = np.bincount(dkey, weights=r, minlength=n_cycles * n_dept)[dkey]
    d_n = np.bincount(dkey, minlength=n_cycles * n_dept)[dkey]
    sd = lv.within_sd[rows.cycle]
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where((d_n > 1) & (sd > 0), (r - (d_sum - r) / (d_n - 1)) / sd, np.nan)
    out_of_line = (d_n >= s.min_n_flag) & (np.abs(d) >= s.case_outlier_sd)
    # evaluator flagged, and this score on the flagged side of its cycle × department × level mean
    sign = _flagged_evaluators(org, rows, leniency)
    skey = (rows.cycle * n_dept + rows.dept) * n_lvl + rows.lvl
    _, strata = dense_codes(skey)
    res = rows.score - (np.bincount(strata, weights=rows.score) / np.bincount(strata))[strata]
    evaluator = ((sign > 0) & (res > 0)) | ((sign < 0) & (res < 0))
    # top rating without the argumentation the policy requires (Z-8)
    needs = m.name == RATING and s.argumentation_required is not None and m.top in s.argumentation_required
    argument = (rows.k == m.k - 1) & ~org.argued[rows.row] if needs else np.zeros(rows.size, dtype=bool)
    # lowest outcome
    lowest_k = [i for i, c in enumerate(m.codes) if c in m.lowest]
    lowest = np.isin(rows.k, lowest_k)
    # sharp change since the previous cycle
    prev = previous_codes(org, rows)
    scores = rows.scores
    change = np.where(prev >= 0, rows.score - scores[np.maximum(prev, 0)], np.nan)
    with np.errstate(invalid="ignore"):
        sharp = np.abs(change) >= s.sharp_change_points

    codes = pl.Series(list(m.codes), dtype=pl.String)
    labels = {
        "nl": pl.Series(list(m.labels_nl), dtype=pl.String),
        "en": pl.Series(list(m.labels_en), dtype=pl.String),
    }
    parts = []
    for reason, mask, rule in (
        ("out_of_line", out_of_line, s.rule),
        ("evaluator_flagged", evaluator, s.rule),
        ("missing_argumentation", argument, s.argumentation_rule),
        ("lowest_outcome", lowest, m.rule),
        ("sharp_change", sharp, s.rule),
    ):
        idx = np.flatnonzero(mask)
        if idx.size == 0:
            continue
        k = pl.Series(rows.k[idx])
        pk = pl.Series(np.maximum(prev[idx], 0))
        has_prev = pl.Series(prev[idx] >= 0)
        frame = pl.DataFrame(
            {
                "cycle": org.cycles[rows.cycle[idx]],
                "department": org.names("dept").gather(pl.Series(rows.dept[idx])),
                "employee_id": org.names("emp").gather(pl.Series(rows.emp[idx])),
                "evaluator_id": org.names("eva").gather(pl.Series(rows.eva[idx])),
                "function_level": org.names("lvl").gather(pl.Series(rows.lvl[idx])),
                "rating": codes.gather(k),
                "previous_rating": pl.select(pl.when(has_prev).then(codes.gather(pk))).to_series(),
                "_label_nl": labels["nl"].gather(k),
                "_label_en": labels["en"].gather(k),
                "_prev_nl": labels["nl"].gather(pk),
                "_prev_en": labels["en"].gather(pk),
                "_d": d[idx],
                "_sign": sign[idx],
                "_change": change[idx],
                "_from": np.where(rows.cycle[idx] > 0, org.cycles[np.maximum(rows.cycle[idx] - 1, 0)], 0),
            }
        )
        parts.append(
            _texts(frame, reason).with_columns(
                pl.lit(org.org).alias("organization"),
                pl.lit(m.name).alias("measure"),
                pl.lit(reason).alias("reason_code"),
                pl.lit(rule).alias("rule"),
            )
        )
    return [p.select(list(SCHEMA)).cast(SCHEMA) for p in parts]  # type: ignore[arg-type]


def _texts(frame: pl.DataFrame, reason: str) -> pl.DataFrame:
    if reason == "out_of_line":
        d = pl.col("_d").abs()
        up = pl.col("_d") > 0
        nl = tx.cat(
            "Beoordeling (",
            pl.col("_label_nl"),
            ") wijkt af van de afdeling na correctie voor functieniveau: ",
            tx.num(d, 1, "nl"),
            " SD ",
            pl.when(up).then(pl.lit("hoger")).otherwise(pl.lit("lager")),
            " dan de collega's.",
        )
        en = tx.cat(
            "Rating (",
            pl.col("_label_en"),
            ") out of line with the department after adjusting for function level: ",
            tx.num(d, 1, "en"),
            " SD ",
            pl.when(up).then(pl.lit("above")).otherwise(pl.lit("below")),
            " colleagues.",
        )
    elif reason == "evaluator_flagged":
        lenient = pl.col("_sign") > 0
        nl = tx.cat(
            "Beoordeeld door een evaluator die als ",
            pl.when(lenient).then(pl.lit("mild")).otherwise(pl.lit("streng")),
            " is gesignaleerd; deze beoordeling (",
            pl.col("_label_nl"),
            ") ligt ",
            pl.when(lenient).then(pl.lit("boven")).otherwise(pl.lit("onder")),
            " het gemiddelde bij gelijk functieniveau en afdeling.",
        )
        en = tx.cat(
            "Rated by an evaluator flagged as ",
            pl.when(lenient).then(pl.lit("lenient")).otherwise(pl.lit("severe")),
            "; this rating (",
            pl.col("_label_en"),
            ") is ",
            pl.when(lenient).then(pl.lit("above")).otherwise(pl.lit("below")),
            " the mean at the same function level and department.",
        )
    elif reason == "missing_argumentation":
        nl = tx.cat(
            "Hoogste beoordeling (",
            pl.col("_label_nl"),
            ") zonder motivering voor zowel competenties als resultaten.",
        )
        en = tx.cat(
            "Top rating (", pl.col("_label_en"), ") without argumentation for both competences and results."
        )
    elif reason == "lowest_outcome":
        nl = tx.cat("Laagste uitkomst: ", pl.col("_label_nl"), ".")
        en = tx.cat("Lowest outcome: ", pl.col("_label_en"), ".")
    else:
        change = pl.col("_change")
        sign = pl.when(change > 0).then(pl.lit("+")).otherwise(pl.lit(""))
        nl = tx.cat(
            "Sterke verandering sinds ",
            pl.col("_from").cast(pl.String),
            ": van ",
            pl.col("_prev_nl"),
            " naar ",
            pl.col("_label_nl"),
            " (",
            sign,
            tx.num(change, 0, "nl"),
            " punten).",
        )
        en = tx.cat(
            "Sharp change since ",
            pl.col("_from").cast(pl.String),
            ": from ",
            pl.col("_prev_en"),
            " to ",
            pl.col("_label_en"),
            " (",
            sign,
            tx.num(change, 0, "en"),
            " points).",
        )
    return frame.with_columns(nl.alias("reason_nl"), en.alias("reason_en"))


def calibration_worklist(
    evaluations: pl.DataFrame,
    policies: Mapping[str, Policy],
    leniency: pl.DataFrame | None = None,
    *,
    prepared: list[OrgData] | None = None,
) -> pl.DataFrame:
    """The worklist from canonical evaluations, the policies and the evaluator_leniency mart (computed here
    when not given)."""
    orgs = prepared if prepared is not None else prepare(evaluations, policies)
    if leniency is None:
        leniency = evaluator_leniency(evaluations, policies, prepared=orgs)
    parts = [frame for org in orgs for rows in org.rows for frame in worklist_frames(org, rows, leniency)]
    if not parts:
        return pl.DataFrame(schema=SCHEMA)
    order = {r: i for i, r in enumerate(REASONS)}
    return (
        pl.concat(parts, how="vertical")
        .with_columns(pl.col("reason_code").replace_strict(order, return_dtype=pl.Int64).alias("_o"))
        .sort(["organization", "cycle", "department", "employee_id", "measure", "_o"])
        .drop("_o")
    )
