"""Publication per audience (issue 16): what each page shows on the bundled sample, and what it must not give back.

The figures test prints, per organisation: departments with at least 20 rated people whose distribution is
compared with the organisation's on their pack, women and men shown in the fairness and calibration-moves
tables, units on the funnel plot, and the cells of every release by reason. The odds-ratio test is the attack
of the issue: with both rates of a comparison hidden, a published odds ratio (2 decimals), the two group sizes
and the organisation's count leave one integer count that fits.
"""

from __future__ import annotations

import math

import polars as pl
import pytest

from models.privacy import REASON, SUPPRESSED, Thresholds, publish_tables

K = 5
PACK_MIN_RATED = 20


@pytest.fixture(scope="module")
def sample_release(sample_run):  # type: ignore[no-untyped-def]
    import duckdb

    from pipelines.assets.publish import read_sources

    assert sample_run.success, "the sample run must succeed"
    con = duckdb.connect(str(sample_run.settings.database), read_only=True)
    try:
        sources = read_sources(con, include_worklist=True)
    finally:
        con.close()
    limits = {org: Thresholds(k=K) for org in sample_run.settings.organizations}
    return sources, publish_tables(sources, limits)


# ---------------------------------------------------------------------------------------------- visibility
def packs_compared(sources: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per organisation and cycle: departments with at least 20 rated people, and how many of them have their
    whole distribution (every rating's share) on their pack next to the organisation's."""
    rated = (
        sources["marts.rating_distribution"]
        .filter((pl.col("grouping") == "department") & (pl.col("measure") == "rating"))
        .group_by("organization", "cycle", pl.col("unit").alias("department"))
        .agg(pl.col("count").sum().alias("rated"))
        .filter(pl.col("rated") >= PACK_MIN_RATED)
        .with_columns(pl.col("cycle").cast(pl.Int64))
    )
    pack = tables.get("pack_ratings", tables["ratings"])
    shown = (
        pack.filter(
            (pl.col("measure") == "rating")
            & pl.col("department").is_not_null()
            & pl.col("function_level").is_null()
            & pl.col("rating").is_not_null()
        )
        .group_by("organization", "cycle", "department")
        .agg(pl.col("share").is_not_null().all().alias("compared"))
        .with_columns(pl.col("cycle").cast(pl.Int64))
    )
    return (
        rated.join(shown, on=["organization", "cycle", "department"], how="left")
        .group_by("organization", "cycle")
        .agg(pl.len().alias("departments_20"), pl.col("compared").fill_null(False).sum().alias("compared"))
        .sort("organization", "cycle")
    )


def women_and_men_shown(sources: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Rows for women and men with at least k people in the fairness (binary outcomes, overall) and
    calibration-moves tables, and how many of them show their rate."""
    parts = []
    fairness = tables["fairness"].filter(
        (pl.col("scope") == "overall")
        & (pl.col("attribute") == "gender")
        & pl.col("group_value").is_in(["F", "M"])
        & (pl.col("outcome_kind") == "binary")
    )
    truth = sources["marts.fairness"].select(
        "organization",
        pl.col("cycle").cast(pl.Int64),
        "outcome",
        "attribute",
        "group_value",
        pl.col("n").alias("_n"),
    )
    parts.append(
        fairness.with_columns(pl.col("cycle").cast(pl.Int64))
        .join(truth, on=["organization", "cycle", "outcome", "attribute", "group_value"], how="left")
        .filter(pl.col("_n") >= K)
        .select(
            "organization", pl.lit("fairness").alias("table"), pl.col("rate").is_not_null().alias("shown")
        )
    )
    moves = tables["calibration_moves_by_group"].filter(
        (pl.col("attribute") == "gender") & pl.col("group_value").is_in(["F", "M"])
    )
    source = sources["marts.calibration_moves"]
    if "period" in source.columns:
        source = source.filter(pl.col("period") == "cycle")
    truth = source.select(
        "organization",
        pl.col("cycle").cast(pl.Int64),
        "direction",
        "attribute",
        "group_value",
        pl.col("n").alias("_n"),
    )
    parts.append(
        moves.join(truth, on=["organization", "cycle", "direction", "attribute", "group_value"], how="left")
        .filter(pl.col("_n") >= K)
        .select(
            "organization",
            pl.lit("calibration_moves_by_group").alias("table"),
            pl.col("rate").is_not_null().alias("shown"),
        )
    )
    return (
        pl.concat(parts)
        .group_by("organization", "table")
        .agg(pl.len().alias("rows_k"), pl.col("shown").sum().alias("shown"))
        .sort("organization", "table")
    )


def units_on_funnel(sources: dict[str, pl.DataFrame], tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Departments and function levels with at least k people, and how many have their funnel position."""
    keys = ["organization", "cycle", "measure", "grouping", "unit"]
    truth = (
        sources["marts.unit_deviation"]
        .filter(pl.col("grouping").is_in(["department", "function_level"]) & (pl.col("n") >= K))
        .select(*keys)
        .with_columns(pl.col("cycle").cast(pl.Int64))
    )
    shown = tables["units"].select(*keys, pl.col("adjusted_mean").is_not_null().alias("shown"))
    return (
        truth.join(shown.with_columns(pl.col("cycle").cast(pl.Int64)), on=keys, how="left")
        .group_by("organization")
        .agg(pl.len().alias("units_k"), pl.col("shown").fill_null(False).sum().alias("on_funnel"))
        .sort("organization")
    )


def hidden_by_reason(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per published table: cells and hidden cells by reason (tables that carry a reason column)."""
    rows = []
    for name, frame in tables.items():
        if SUPPRESSED not in frame.columns:
            continue
        reasons = (
            frame[REASON] if REASON in frame.columns else pl.Series([None] * frame.height, dtype=pl.String)
        )
        hidden = frame[SUPPRESSED].fill_null(False)
        row = {"table": name, "cells": frame.height, "hidden": int(hidden.sum())}
        for reason in ("small", "homogeneous", "complement", "recoded"):
            row[reason] = int(((reasons == reason) & hidden).sum())
        rows.append(row)
    return pl.DataFrame(rows).sort("table")


def test_visibility_figures_on_the_sample(sample_release) -> None:  # type: ignore[no-untyped-def]
    sources, published = sample_release
    tables = published.tables
    with pl.Config(tbl_rows=60, tbl_cols=12, tbl_width_chars=160):
        packs = packs_compared(sources, tables)
        print("\npacks compared with the organisation (departments with >= 20 rated people):\n", packs)
        gender = women_and_men_shown(sources, tables)
        print("women and men with >= k people, rate shown:\n", gender)
        funnel = units_on_funnel(sources, tables)
        print("units with >= k people on the funnel plot:\n", funnel)
        print("cells by reason:\n", hidden_by_reason(tables))
    assert packs["departments_20"].sum() > 0 and gender["rows_k"].sum() > 0 and funnel["units_k"].sum() > 0


# ---------------------------------------------------------------------------------------------- odds-ratio attack
def _odds_ratio(c: int, n: int, rc: int, rn: int) -> float | None:
    """models.fairness: (c · (rn − rc)) / ((n − c) · rc); None where it is not finite."""
    den = (n - c) * rc
    if den == 0:
        return None
    return c * (rn - rc) / den


def odds_ratio_attack(frame: pl.DataFrame, by: list[str]) -> list[dict[str, object]]:
    """Comparisons whose two rates are hidden but whose odds ratio is published, where the two groups are the
    whole organisation (their published sizes add up to the published organisation size) and the
    organisation's count is published: the counts (c, T − c) whose odds ratio rounds to the published one.
    Returns the comparisons with exactly one fitting count (recovered)."""
    groups = frame.filter(pl.col("group_value").is_not_null())
    total = frame.filter(pl.col("group_value").is_null()).select(
        *by, pl.col("group_n").alias("_org_n"), pl.col("count").alias("_org_count")
    )
    ref = groups.select(
        *by,
        pl.col("group_value").alias("reference_group"),
        pl.col("group_n").alias("_ref_n"),
        pl.col("rate").alias("_ref_rate"),
    )
    candidates = (
        groups.filter(pl.col("odds_ratio").is_not_null() & pl.col("rate").is_null())
        .join(ref, on=[*by, "reference_group"], how="inner")
        .join(total, on=by, how="inner", nulls_equal=True)
        .filter(
            pl.col("_ref_rate").is_null()
            & pl.col("group_n").is_not_null()
            & pl.col("_ref_n").is_not_null()
            & pl.col("_org_count").is_not_null()
            & ((pl.col("group_n") + pl.col("_ref_n")) == pl.col("_org_n"))
        )
    )
    recovered = []
    for row in candidates.iter_rows(named=True):
        n, rn, t, published = row["group_n"], row["_ref_n"], row["_org_count"], row["odds_ratio"]
        fits = [
            c
            for c in range(max(0, t - rn), min(n, t) + 1)
            if (value := _odds_ratio(c, n, t - c, rn)) is not None
            and math.isclose(round(value, 2), published)
        ]
        if len(fits) == 1:
            recovered.append({**{k: row[k] for k in by}, "group_value": row["group_value"], "count": fits[0]})
    return recovered


def test_odds_ratio_attack_recovers_no_hidden_count_on_the_sample(sample_release) -> None:  # type: ignore[no-untyped-def]
    sources, published = sample_release
    fairness = published.tables["fairness"].filter(
        (pl.col("scope") == "overall") & (pl.col("outcome_kind").fill_null("binary") == "binary")
    )
    recovered = odds_ratio_attack(fairness, ["organization", "cycle", "outcome", "attribute"])
    moves = odds_ratio_attack(
        published.tables["calibration_moves_by_group"], ["organization", "cycle", "direction", "attribute"]
    )
    print(
        f"\nodds-ratio attack: {len(recovered)} fairness and {len(moves)} calibration-moves counts recovered"
    )
    truth = sources["marts.fairness"]
    for found in recovered[:3]:
        real = truth.filter(
            (pl.col("organization") == found["organization"])
            & (pl.col("cycle") == found["cycle"])
            & (pl.col("outcome") == found["outcome"])
            & (pl.col("attribute") == found["attribute"])
            & (pl.col("group_value") == found["group_value"])
        )["count"]
        print("  recovered", found, "true count", real.to_list())
    assert not recovered and not moves, "a hidden count follows from a published odds ratio"
