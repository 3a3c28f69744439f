"""The disclosure report's price of protection (issue 16, "A report per page and audience"): among the cells of at
least 2k people, how many each release hides as complements, on the bundled sample.

Aim (issue 16): at most 5% in the organisation release, none in the meeting and management releases. The figures
are printed; the organisation release does not meet the aim yet (docs/privacy.md, "Known limits"), which the
strict xfail below records: it turns red (XPASS) the day it does, and then the marker must go.
"""

from __future__ import annotations

import polars as pl
import pytest

from models.disclosure.report import REPORT_SCHEMA, summary

K = 5
AIM = 0.05  # issue 16: at most 5% of the cells with n >= 2k hidden as complements in the organisation release


@pytest.fixture(scope="module")
def sample_report(sample_publication):  # type: ignore[no-untyped-def]
    return sample_publication[1].report_frame()


def complement_share(report: pl.DataFrame) -> pl.DataFrame:
    """Per audience and table: cells of at least 2k people, how many of them are hidden as complements, and
    that share (0 where a table has no such cell)."""
    return (
        report.group_by("audience", "table")
        .agg(pl.col("cells_2k").sum(), pl.col("complement_2k").sum())
        .with_columns(
            pl.when(pl.col("cells_2k") > 0)
            .then(pl.col("complement_2k") / pl.col("cells_2k"))
            .otherwise(0.0)
            .alias("share")
        )
        .sort("audience", "table")
    )


def test_the_share_is_what_the_report_adds_up_to() -> None:
    """summary() divides the complements of at least 2k people by the cells of at least 2k people, per audience."""
    rows = [
        {"organization": "o", "table": "a", "page": "p", "audience": "organisation", "cells_2k": 30, "complement_2k": 3},
        {"organization": "o", "table": "b", "page": "p", "audience": "organisation", "cells_2k": 10, "complement_2k": 1},
        {"organization": "o", "table": "c", "page": "p", "audience": "meeting", "cells_2k": 0, "complement_2k": 0},
    ]  # fmt: skip
    report = pl.DataFrame([{c: r.get(c, 0) for c in REPORT_SCHEMA} for r in rows], schema=REPORT_SCHEMA)
    shares = dict(summary(report).select("audience", "complement_2k_share").iter_rows())
    assert shares == {"meeting": 0.0, "organisation": 0.1}
    per_table = complement_share(report).filter(pl.col("table") == "a")
    assert per_table["share"].item() == 0.1


def test_complement_share_per_audience_on_the_sample(sample_report: pl.DataFrame) -> None:
    """Before this work (issue 16, fairness cube per function level): organisation 3,984 of 13,836 (28.8%),
    fairness 2,868 of 9,433; after leaving small gender categories out of every attribute: 3,936 of 13,827
    (28.5%), fairness 2,820 of 9,424; management 51 of 8,583 (0.6%). After the protection followed the site
    (`ratings` and the calibration-moves tables on the management site, protected within themselves; the
    organisation release no longer forced by `ratings`): organisation 2,743 of 12,837 (21.4%), fairness
    1,920 of 9,424 (20.4%), intersections 589 of 1,647, process 230 of 1,317; management 207 of 9,573 (2.2%:
    `ratings` 65, calibration moves by group 78 and by department 13 are complements inside those tables
    now). Meeting 0. Then the evaluator report published only its window rows (the rows the pages show):
    management 207 of 6,368 (3.3%), the same 207 complements among fewer cells."""
    per_audience = summary(sample_report)
    per_table = complement_share(sample_report)
    with pl.Config(tbl_rows=40, tbl_cols=8, tbl_width_chars=160):
        print("\ncells of at least 2k people hidden as complements, per audience:\n", per_audience.select(
            "audience", "cells_2k", "complement_2k", "complement_2k_share"))  # fmt: skip
        print("per table:\n", per_table.filter(pl.col("cells_2k") > 0))
    shares = dict(per_audience.select("audience", "complement_2k_share").iter_rows())
    assert set(shares) == {"meeting", "management", "organisation"}
    assert shares["meeting"] == 0.0, "the meeting release hides nothing of the department's own counts"
    # Complements inside each management table only (its own margins), none forced from another table: not
    # more than when this was measured (a share moves with the cells a table publishes, the count does not).
    management = per_audience.filter(pl.col("audience") == "management")
    assert management["complement_2k"].item() <= 207, shares
    organisation = per_table.filter(pl.col("audience") == "organisation")
    fairness = organisation.filter(pl.col("table") == "fairness")
    assert fairness["cells_2k"].item() > 1000, "the fairness table has many cells of at least 2k people"
    # Not worse than measured when this test was written (the aim is the xfail below).
    assert shares["organisation"] <= 0.215, shares
    assert fairness["share"].item() <= 0.205, fairness
    assert "ratings" not in organisation["table"].to_list(), "`ratings` is on the management site only"


@pytest.mark.xfail(
    strict=True,
    reason="open: the organisation release still hides 21.4% of its large cells as complements (fairness 20.4%)",
)
def test_the_organisation_release_meets_the_aim_on_the_sample(sample_report: pl.DataFrame) -> None:
    shares = dict(summary(sample_report).select("audience", "complement_2k_share").iter_rows())
    assert shares["organisation"] <= AIM


def test_women_and_men_are_shown_in_the_calibration_moves_by_group(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """Issue 16: "women hidden in the calibration-moves chart in every Zeeland cycle". Every organisation,
    cycle and direction whose women and men each have at least k people moved that way and k not: both rows
    are shown (size, count and rate) and equal the mart. The printed table has every cycle and direction
    (a direction with fewer than k people of one group moved that way hides that count as small, and the other
    group's as its complement: the gender total is over women and men only)."""
    sources, published = sample_publication
    mart = sources["marts.calibration_moves"].filter(
        (pl.col("period") == "cycle")
        & (pl.col("attribute") == "gender")
        & pl.col("group_value").is_in(["F", "M"])
    )
    table = published.tables["calibration_moves_by_group"].filter(pl.col("attribute") == "gender")
    keys = ["organization", "cycle", "direction", "group_value"]
    rows = mart.select(*keys, pl.col("n").alias("mart_n"), pl.col("count").alias("mart_count")).join(
        table.select(*keys, "group_n", "count", "rate"), on=keys, how="left"
    )
    with pl.Config(tbl_rows=60, tbl_width_chars=160, tbl_cols=9):
        print("\nwomen and men in calibration_moves_by_group (mart against published):\n", rows.sort(keys))
    assert rows.filter(pl.col("organization") == "zeeland-demo").height > 0
    by = ["organization", "cycle", "direction"]
    large = rows.filter(
        ((pl.col("mart_count") >= K) & (pl.col("mart_n") - pl.col("mart_count") >= K)).all().over(by)
        & (pl.len().over(by) == 2)
    )
    assert large.height >= 6, "women and men moved down are large in every Zeeland cycle"
    hidden = large.filter(pl.col("rate").is_null() | pl.col("count").is_null() | pl.col("group_n").is_null())
    assert hidden.height == 0, hidden
    assert (large["group_n"] == large["mart_n"]).all() and (large["count"] == large["mart_count"]).all()
