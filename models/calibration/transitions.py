"""marts.rating_transitions and marts.rating_drift: how employees' ratings move between consecutive cycles,
and whether units' mean scores drift upward (rating inflation) or downward.

Consecutive cycles are consecutive in an organisation's own data (2022 → 2023 → 2024; a missing year is
skipped over, and the pair says so through from_cycle / to_cycle).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl
from scipy import stats as sps

from models.calibration._data import FloatArray, IntArray, MeasureRows, OrgData, finish, prepare
from models.calibration._scales import GROUPINGS
from models.policy import Policy

TRANSITION_SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "measure": pl.String(),
    "from_cycle": pl.Int64(),
    "to_cycle": pl.Int64(),
    "from_rating": pl.String(),
    "to_rating": pl.String(),
    "from_score": pl.Float64(),
    "to_score": pl.Float64(),
    "count": pl.Int64(),
    "n_from": pl.Int64(),
    "share": pl.Float64(),
}

DRIFT_SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "measure": pl.String(),
    "grouping": pl.String(),
    "unit": pl.String(),
    "from_cycle": pl.Int64(),
    "to_cycle": pl.Int64(),
    "n_from": pl.Int64(),
    "n_to": pl.Int64(),
    "mean_from": pl.Float64(),
    "mean_to": pl.Float64(),
    "drift": pl.Float64(),
    "drift_se": pl.Float64(),
    "drift_lo": pl.Float64(),
    "drift_hi": pl.Float64(),
    "n_stayers": pl.Int64(),
    "mean_change_stayers": pl.Float64(),
    "change_se_stayers": pl.Float64(),
    "trend": pl.String(),
}

DRIFT_LEVEL = 0.95  # two-sided level of the drift interval


def previous_codes(org: OrgData, rows: MeasureRows) -> IntArray:
    """For every row, the employee's category in the previous cycle of the organisation (-1: none)."""
    n_emp = org.size("emp")
    prev = np.full(rows.size, -1, dtype=np.int64)
    for c in range(1, org.cycles.size):
        last = np.full(n_emp, -1, dtype=np.int64)
        before = rows.cycle == c - 1
        last[rows.emp[before]] = rows.k[before]
        now = rows.cycle == c
        prev[now] = last[rows.emp[now]]
    return prev


def transition_frames(org: OrgData, rows: MeasureRows, prev: IntArray) -> list[pl.DataFrame]:
    m = rows.measure
    n_cat = m.k
    parts = []
    for c in range(1, org.cycles.size):
        sel = (rows.cycle == c) & (prev >= 0)
        counts = np.bincount(prev[sel] * n_cat + rows.k[sel], minlength=n_cat * n_cat).reshape(n_cat, n_cat)
        n_from = counts.sum(axis=1)
        frm, to = np.repeat(np.arange(n_cat), n_cat), np.tile(np.arange(n_cat), n_cat)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(n_from[frm] > 0, counts.reshape(-1) / n_from[frm], np.nan)
        codes = np.asarray(m.codes, dtype=object)
        scores = np.asarray(m.scores, dtype=np.float64)
        parts.append(
            pl.DataFrame(
                {
                    "organization": org.org,
                    "measure": m.name,
                    "from_cycle": int(org.cycles[c - 1]),
                    "to_cycle": int(org.cycles[c]),
                    "from_rating": pl.Series(codes[frm].tolist(), dtype=pl.String),
                    "to_rating": pl.Series(codes[to].tolist(), dtype=pl.String),
                    "from_score": scores[frm],
                    "to_score": scores[to],
                    "count": counts.reshape(-1),
                    "n_from": n_from[frm],
                    "share": share,
                }
            )
            .with_columns(pl.col("share").fill_nan(None))
            .cast(TRANSITION_SCHEMA)  # type: ignore[arg-type]
        )
    return parts


def rating_transitions(
    evaluations: pl.DataFrame, policies: Mapping[str, Policy], *, prepared: list[OrgData] | None = None
) -> pl.DataFrame:
    """Transition matrix of employees' codes between consecutive cycles, per organisation and measure.

    Every from × to pair of the measure's scale is present (count 0 where no one moved that way); share is
    count / n_from, the share of the from-row (null when no one had the from code).
    """
    orgs = prepared if prepared is not None else prepare(evaluations, policies)
    parts = [
        frame
        for org in orgs
        for rows in org.rows
        for frame in transition_frames(org, rows, previous_codes(org, rows))
    ]
    if not parts:
        return pl.DataFrame(schema=TRANSITION_SCHEMA)
    return pl.concat(parts, how="vertical")


def _moments(key: IntArray, values: FloatArray, size: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """n, mean and variance (ddof = 1; nan below two values) per key, two-pass."""
    n = np.bincount(key, minlength=size).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, np.bincount(key, weights=values, minlength=size) / n, np.nan)
        dev2 = np.bincount(key, weights=(values - mean[key]) ** 2, minlength=size)
        var = np.where(n > 1, dev2 / (n - 1.0), np.nan)
    return n, mean, var


def drift_frames(org: OrgData, rows: MeasureRows, prev: IntArray) -> list[pl.DataFrame]:
    n_cycles = org.cycles.size
    if n_cycles < 2:
        return []
    scores = rows.scores
    z = float(sps.norm.ppf(0.5 + DRIFT_LEVEL / 2))
    stayer = prev >= 0
    change = np.where(stayer, rows.score - scores[np.maximum(prev, 0)], np.nan)
    parts = []
    for grouping in GROUPINGS:
        unit, n_units = org.units(rows, grouping)
        key = rows.cycle * n_units + unit
        size = n_cycles * n_units
        n, mean, var = (a.reshape(n_cycles, n_units) for a in _moments(key, rows.score, size))
        n_st, m_st, v_st = (a.reshape(n_cycles, n_units) for a in _moments(key[stayer], change[stayer], size))
        c_to, u = np.nonzero(n[1:] > 0)
        c_to = c_to + 1
        c_from = c_to - 1
        with np.errstate(invalid="ignore"):
            drift = mean[c_to, u] - mean[c_from, u]
            se = np.sqrt(var[c_from, u] / n[c_from, u] + var[c_to, u] / n[c_to, u])
            se_st = np.sqrt(v_st[c_to, u] / n_st[c_to, u])
        parts.append(
            pl.DataFrame(
                {
                    "unit": org.unit_names(grouping, u),
                    "from_cycle": org.cycles[c_from],
                    "to_cycle": org.cycles[c_to],
                    "n_from": n[c_from, u],
                    "n_to": n[c_to, u],
                    "mean_from": mean[c_from, u],
                    "mean_to": mean[c_to, u],
                    "drift": drift,
                    "drift_se": se,
                    "drift_lo": drift - z * se,
                    "drift_hi": drift + z * se,
                    "n_stayers": n_st[c_to, u],
                    "mean_change_stayers": m_st[c_to, u],
                    "change_se_stayers": se_st,
                }
            ).with_columns(pl.lit(grouping).alias("grouping"))
        )
    out = pl.concat(parts, how="vertical_relaxed").with_columns(
        pl.lit(org.org).alias("organization"),
        pl.lit(rows.measure.name).alias("measure"),
        *(
            pl.col(c).fill_nan(None)
            for c in (
                "mean_from",
                "drift",
                "drift_se",
                "drift_lo",
                "drift_hi",
                "mean_change_stayers",
                "change_se_stayers",
            )
        ),
    )
    out = out.with_columns(
        pl.when(pl.col("drift_se").is_null())
        .then(None)
        .when(pl.col("drift_lo") > 0)
        .then(pl.lit("up"))
        .when(pl.col("drift_hi") < 0)
        .then(pl.lit("down"))
        .otherwise(pl.lit("stable"))
        .alias("trend")
    )
    return [finish(out, DRIFT_SCHEMA)]


def rating_drift(
    evaluations: pl.DataFrame, policies: Mapping[str, Policy], *, prepared: list[OrgData] | None = None
) -> pl.DataFrame:
    """Change of each unit's mean score between consecutive cycles (rating inflation or deflation).

    Per organisation, measure, grouping, unit and consecutive pair of cycles (units rated in to_cycle): both
    means and ns; drift = mean_to - mean_from with a normal-approximation 95% interval (se = sqrt(s²_from /
    n_from + s²_to / n_to), Welch); and for the stayers (employees rated in the unit in to_cycle who also had
    a code in from_cycle, anywhere in the organisation) the mean of their own change with se = sd / sqrt(n).
    trend = 'up' / 'down' when the drift interval excludes zero, else 'stable' (null when a side has fewer
    than two ratings).
    """
    orgs = prepared if prepared is not None else prepare(evaluations, policies)
    parts = [
        frame
        for org in orgs
        for rows in org.rows
        for frame in drift_frames(org, rows, previous_codes(org, rows))
    ]
    if not parts:
        return pl.DataFrame(schema=DRIFT_SCHEMA)
    order = {g: i for i, g in enumerate(GROUPINGS)}
    return (
        pl.concat(parts, how="vertical")
        .with_columns(pl.col("grouping").replace_strict(order, return_dtype=pl.Int64).alias("_g"))
        .sort(["organization", "measure", "_g", "unit", "to_cycle"])
        .drop("_g")
    )
