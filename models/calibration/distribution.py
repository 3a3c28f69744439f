"""marts.rating_distribution: how each unit's ratings are spread over the policy's scale.

Grain: organisation × cycle × measure × grouping × unit × category of the measure's scale (every category,
count 0 included, so a unit's shares always sum to 1). Groupings: organization (the norm), department,
function_level, department × function_level and evaluator. Measures: ``rating`` for every policy, and for a
policy with a salary decision (PLOEG, F-9) also ``salary_decision`` among staff in the evaluation-based system.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from models.calibration._data import OrgData, UnitCounts, prepare, unit_counts
from models.calibration._scales import GROUPINGS
from models.policy import Policy

SCHEMA: dict[str, pl.DataType] = {
    "organization": pl.String(),
    "cycle": pl.Int64(),
    "measure": pl.String(),
    "grouping": pl.String(),
    "unit": pl.String(),
    "rating": pl.String(),
    "position": pl.Int64(),
    "score": pl.Float64(),
    "label_nl": pl.String(),
    "label_en": pl.String(),
    "n": pl.Int64(),
    "count": pl.Int64(),
    "share": pl.Float64(),
    "org_share": pl.Float64(),
    "guideline_share": pl.Float64(),
    "small_group": pl.Boolean(),
}


def distribution_frames(
    org: OrgData, measure_index: int, counts: dict[str, UnitCounts]
) -> list[pl.DataFrame]:
    rows = org.rows[measure_index]
    m = rows.measure
    n_cat = m.k
    org_counts = counts["organization"].counts[:, 0, :]  # (cycles, K)
    org_n = org_counts.sum(axis=1)
    guideline = np.array(
        [m.guideline.get(c, np.nan) if m.guideline else np.nan for c in m.codes], dtype=np.float64
    )
    parts = []
    for grouping in GROUPINGS:
        uc = counts[grouping]
        n = uc.counts.sum(axis=2)  # (cycles, units)
        ci, ui = np.nonzero(n)
        if ci.size == 0:
            continue
        cell = uc.counts[ci, ui, :].reshape(-1)
        n_rep = np.repeat(n[ci, ui], n_cat)
        k_rep = np.tile(np.arange(n_cat), ci.size)
        ci_rep = np.repeat(ci, n_cat)
        with np.errstate(divide="ignore", invalid="ignore"):
            org_share = np.where(org_n[ci_rep] > 0, org_counts[ci_rep, k_rep] / org_n[ci_rep], np.nan)
        parts.append(
            pl.DataFrame(
                {
                    "cycle": org.cycles[ci_rep],
                    "unit": org.unit_names(grouping, ui).gather(
                        pl.Series(np.repeat(np.arange(ci.size), n_cat))
                    ),
                    "k": k_rep,
                    "n": n_rep,
                    "count": cell,
                    "share": cell / n_rep,
                    "org_share": org_share,
                    "guideline_share": guideline[k_rep],
                }
            ).with_columns(pl.lit(grouping).alias("grouping"))
        )
    if not parts:
        return []
    frame = pl.concat(parts, how="vertical_relaxed")
    k = pl.col("k")
    return [
        frame.with_columns(
            pl.lit(org.org).alias("organization"),
            pl.lit(m.name).alias("measure"),
            k.alias("_k"),
        )
        .with_columns(
            pl.col("_k").replace_strict(dict(enumerate(m.codes)), return_dtype=pl.String).alias("rating"),
            (pl.col("_k") + 1).alias("position"),
            pl.col("_k").replace_strict(dict(enumerate(m.scores)), return_dtype=pl.Float64).alias("score"),
            pl.col("_k")
            .replace_strict(dict(enumerate(m.labels_nl)), return_dtype=pl.String)
            .alias("label_nl"),
            pl.col("_k")
            .replace_strict(dict(enumerate(m.labels_en)), return_dtype=pl.String)
            .alias("label_en"),
            pl.col("guideline_share").fill_nan(None),
            (pl.col("n") < org.settings.min_group_size).alias("small_group"),
        )
        .select(list(SCHEMA))
        .cast(SCHEMA)  # type: ignore[arg-type]
    ]


def rating_distribution(
    evaluations: pl.DataFrame, policies: Mapping[str, Policy], *, prepared: list[OrgData] | None = None
) -> pl.DataFrame:
    """The rating_distribution mart from canonical evaluations and the organisations' policies."""
    orgs = prepared if prepared is not None else prepare(evaluations, policies)
    parts: list[pl.DataFrame] = []
    for org in orgs:
        for i, rows in enumerate(org.rows):
            parts += distribution_frames(org, i, unit_counts(org, rows))
    return combine(parts)


def combine(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate per-organisation frames in the mart's order."""
    if not parts:
        return pl.DataFrame(schema=SCHEMA)
    order = {g: i for i, g in enumerate(GROUPINGS)}
    return (
        pl.concat(parts, how="vertical")
        .with_columns(pl.col("grouping").replace_strict(order, return_dtype=pl.Int64).alias("_g"))
        .sort(["organization", "cycle", "measure", "_g"], maintain_order=True)
        .drop("_g")
    )
