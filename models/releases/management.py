"""The management release: the norming review (Z-10) for the management team that decides the ratings.

Audience: the management team (and HR) who set and review the ratings of every department. They are entitled
to department-level results; what they must not read from the page is a small group's ratings. Protection
(`Thresholds.management_k`, default the organisation's k): primary suppression of small and everyone-alike
cells, and complementary suppression only inside each table, so a hidden cell cannot be recomputed from that
table's own margins. Tables are not linked to each other or to the organisation release (docs/privacy.md).

* `norming_ratings` — department × rating with the department and organisation totals (the heat map)
* `units`           — departments and function levels on the funnel plot: every unit with at least k people
                      whose people did not all get the same rating; evaluators' differentiation likewise
* `drift`           — the change of the mean score per department where both cycles hold k people
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from models.disclosure.engine import (
    EXCLUDES_HIDDEN,
    HOMOGENEOUS,
    SHOWN_TOTAL,
    SMALL,
    SUPPRESSED,
    ProtectedTable,
    TableRule,
    Thresholds,
    margins_over_shown,
    protect_margins_over_shown,
)
from models.releases.calibration import DRIFT_COLUMNS, UNIT_COLUMNS, UNIT_STATS, _homogeneous_evaluators
from models.releases.common import _hide, _need

NORMING_RATINGS_RULE = TableRule(
    by=("organization", "cycle", "measure"),
    dims=("department", "rating"),
    n="n",
    totals=("department", "rating"),
    category="rating",
    complete=True,
    # A department's and the organisation's size, where publishing it would cost a complement, are published
    # over the shown cells instead ("excl. n < k", `_norming_ratings` with `protect_margins_over_shown`); the
    # heat map then shows that row's shares over its shown people.
)
UNIT_KEYS = ["organization", "cycle", "measure", "grouping", "unit"]


def management_limits(limits: Thresholds) -> Thresholds:
    """The thresholds of the management release: its own minimum group for counts."""
    return replace(limits, k=limits.management_k)


def _norming_ratings(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Rating counts per department with totals, protected within this table only."""
    rd = _need(
        sources,
        "marts.rating_distribution",
        ("organization", "cycle", "measure", "grouping", "unit", "rating", "count"),
    )
    cells = rd.filter(pl.col("grouping") == "department").select(
        "organization",
        "cycle",
        "measure",
        pl.col("unit").alias("department"),
        "rating",
        pl.col("count").cast(pl.Int64).alias("n"),
    )
    protected = protect_margins_over_shown(cells, NORMING_RATINGS_RULE, management_limits(limits), "rating")
    frame = margins_over_shown(protected.frame, NORMING_RATINGS_RULE, "rating")
    keys = ["organization", "cycle", "measure", "department"]
    units = frame.filter(pl.col("rating").is_null()).select(
        *keys, pl.col(SHOWN_TOTAL).alias("unit_n"), pl.col(EXCLUDES_HIDDEN).alias("unit_excl")
    )
    visible = (
        frame.filter(pl.col("rating").is_not_null())
        .group_by(keys)
        .agg((~pl.col(SUPPRESSED)).all().alias("unit_visible"))
    )
    protected.frame = (
        frame.join(units, on=keys, how="left", nulls_equal=True)
        .join(visible, on=keys, how="left", nulls_equal=True)
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("function_level"),
            pl.col("unit_visible").fill_null(True) & pl.col("unit_n").is_not_null(),
            pl.when(pl.col("n").is_not_null() & (pl.col("unit_n") > 0))
            .then(pl.col("n") / pl.col("unit_n"))
            .alias("share"),
        )
        .sort([*keys, "rating"], nulls_last=True)
    )
    return protected


def _alike_units(sources: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Departments and function levels whose people all got the same code (never published)."""
    rd = sources.get("marts.rating_distribution")
    schema = {"organization": pl.String, "cycle": pl.Int64, "measure": pl.String, "grouping": pl.String,
              "unit": pl.String, "_alike": pl.Boolean}  # fmt: skip
    if rd is None or not {"grouping", "unit", "count"} <= set(rd.columns):
        return pl.DataFrame(schema=schema)
    return (
        rd.filter(pl.col("grouping").is_in(["department", "function_level"]))
        .group_by("organization", "cycle", "measure", "grouping", "unit")
        .agg(((pl.col("count") > 0).sum() <= 1).alias("_alike"))
        .cast(schema)  # type: ignore[arg-type]
    )


def _management_units(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Funnel positions of every department and function level with at least k people who did not all get
    the same rating (only the verdict otherwise); evaluators' differentiation index likewise."""
    k = limits.management_k
    ud = _need(sources, "marts.unit_deviation", ("organization", "cycle", "measure", "grouping", "unit", "n"))
    ud = ud.filter(pl.col("grouping").is_in(["department", "function_level", "evaluator"]))
    ud = ud.select([c for c in UNIT_COLUMNS if c in ud.columns])
    alike = _alike_units(sources).cast({"cycle": ud.schema["cycle"]})
    units = ud.filter(pl.col("grouping") != "evaluator").join(alike, on=UNIT_KEYS, how="left")
    shown = (pl.col("n") >= k) & ~pl.col("_alike").fill_null(True)
    reasons = units.select(
        (pl.col("n") < k).sum().alias(SMALL),
        ((pl.col("n") >= k) & pl.col("_alike").fill_null(True)).sum().alias(HOMOGENEOUS),
        (pl.col("n") >= 2 * k).sum().alias("large"),
    ).row(0, named=True)
    verdict = ("flag", "direction", "status")
    # The flag first: hiding nulls `n`, which `shown` reads.
    units = units.with_columns((~shown).alias(SUPPRESSED))
    units = _hide(units, pl.col(SUPPRESSED), [*(c for c in UNIT_STATS if c not in verdict), "n"]).drop(
        "_alike"
    )
    evaluators_alike = _homogeneous_evaluators(sources).rename({"evaluator_id": "unit"})
    evaluators = ud.filter(pl.col("grouping") == "evaluator").join(
        evaluators_alike, on=["organization", "cycle", "measure", "unit"], how="left"
    )
    hidden = (pl.col("n") < k) | pl.col("_alike").fill_null(True)
    evaluators = _hide(evaluators, pl.lit(True), [c for c in UNIT_STATS if c != "differentiation"])
    evaluators = _hide(
        evaluators.with_columns(hidden.alias(SUPPRESSED)), pl.col(SUPPRESSED), ["differentiation", "n"]
    ).drop("_alike")
    frame = pl.concat([units, evaluators], how="diagonal_relaxed")
    return ProtectedTable(
        frame=frame,
        cells=frame.height,
        hidden=int(frame[SUPPRESSED].sum()),
        reasons={SMALL: int(reasons[SMALL]), HOMOGENEOUS: int(reasons[HOMOGENEOUS])},
        large_cells=int(reasons["large"]),
    )


def _management_drift(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Change of the mean score between consecutive cycles: the organisation, and departments with at least
    k people in both cycles."""
    k = limits.management_k
    dr = _need(
        sources,
        "marts.rating_drift",
        ("organization", "measure", "grouping", "unit", "from_cycle", "to_cycle", "drift", "n_from", "n_to"),
    )
    dr = dr.select([c for c in DRIFT_COLUMNS if c in dr.columns]).filter(
        pl.col("grouping").is_in(["organization", "department"])
    )
    org = pl.col("grouping") == "organization"
    shown = org | ((pl.col("n_from").fill_null(0) >= k) & (pl.col("n_to").fill_null(0) >= k))
    stats_cols = ["n_from", "n_to", "mean_from", "mean_to", "drift", "drift_lo", "drift_hi", "trend"]
    frame = dr.with_columns((~shown).alias(SUPPRESSED))  # before hiding: `shown` reads n_from and n_to
    frame = _hide(frame, pl.col(SUPPRESSED), stats_cols)
    # Stayers are a subset nobody else publishes: only organisation-wide, and only from k people.
    frame = _hide(
        frame,
        ~org | (pl.col("n_stayers").fill_null(0) < k),
        ["n_stayers", "mean_change_stayers", "change_se_stayers"],
    )
    frame = frame.with_columns(pl.col("to_cycle").alias("cycle"))
    return ProtectedTable(frame=frame, cells=frame.height, hidden=int(frame[SUPPRESSED].sum()))
