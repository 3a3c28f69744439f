"""The disclosure report's price of protection (issue 16, "A report per page and audience"): among the cells of at
least 2k people, how many each release hides as complements, on the bundled sample.

Aim (issue 16): at most 5% in the organisation release, none in the meeting and management releases. The figures
are printed, per audience and per table, and for the fairness table per structure (docs/privacy.md,
"Complementary suppression: what it costs").
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
    management 207 of 6,368 (3.3%), the same 207 complements among fewer cells. Organisation 2,635 of 13,106
    (20.1%) before the next step.

    Then (docs/privacy.md, "Complementary suppression: what it costs") the report counts the numbers a page
    shows — a group's size and its count with the outcome, not the count without (their difference), and the
    department strata of the fairness table, which it had left out — the rate rule hides a count with the
    outcome whose group has 1 to k−1 people without it as primary (`small_remainder`, not a complement), and
    margins no table of the release shows (a department's count with an outcome; gender × part-time over all
    levels in the intersections) are unknowns instead of published totals: organisation 370 of 14,811 (2.5%),
    fairness 326 of 12,952, intersections 28 of 459, process 12 of 951, budget 4 of 72; with the small
    remainders of at least 2k counted as complements too, 1,445 (9.8%). Management, the calibration moves by
    group counted the same way (size and people moved, not those not moved): 134 of 6,212 (2.2%): `ratings`
    65, heat map 18, transitions 17, moves by department 13, by level 10, before/after 6, by group 5 (78).
    Then margins no management page shows became unknowns (`TableRule.unpublished`: a function level's
    distribution over all departments in `ratings`, the transitions' column totals): management 90 of 6,122
    (`ratings` 65 → 29, transitions 17 → 9, the others unchanged).

    Then (issue 16, the management release; docs/privacy.md "Complements in the management release") the
    department pages read `ratings` instead of the meeting release, and a distribution's total that would cost
    a complement is published over the shown cells ("excl. n < k", `protect_margins_over_shown`): management 90
    → 18 (`ratings` 29 → 1 of 503 → 292 cells, heat map 18 → 1 of 260 → 196, moves by department 13 → 1,
    transitions 9 → 0, before/after 6 → 0; moves by level 10 and by group 5 unchanged). The organisation
    release is unchanged.

    Then (issue 16, "recode before you suppress") `ratings` shows each department's bands of adjacent function
    levels (merged until each band can show its distribution), calibration moves by group leave out an
    attribute whose only showable group would be the organisation less the hidden ones and publish a gender
    total over women and men where X is left out, and moves by level leave out the other group of a two-group level with one small
    group: management 18 → 3 (moves by group 5 → 0, by level 10 → 0; `ratings` 1, heat map 1, moves by
    department 1 stay). Those three are each the only cell that can protect a lone hidden cell of its column
    (Communicatie's 3 "normaal" in 2022, whose column's other counts are 16 and more; a department where nobody
    was moved) while the organisation's count of that column is published: withholding that count over the
    shown departments was tried and dropped, since the same count is on the same page in
    `calibration_before_after` (the final ratings) and in the calibration moves by group (every attribute's
    total), and gives the hidden cell back."""
    per_audience = summary(sample_report)
    per_table = complement_share(sample_report)
    with pl.Config(tbl_rows=40, tbl_cols=9, tbl_width_chars=180):
        print("\ncells of at least 2k people hidden as complements, per audience:\n", per_audience.select(
            "audience", "cells_2k", "complement_2k", "remainder_2k", "complement_2k_share"))  # fmt: skip
        print("per table:\n", per_table.filter(pl.col("cells_2k") > 0))
    shares = dict(per_audience.select("audience", "complement_2k_share").iter_rows())
    assert set(shares) == {"meeting", "management", "organisation"}
    assert shares["meeting"] == 0.0, "the meeting release hides nothing of the department's own counts"
    # Complements inside each management table only (its own margins), none forced from another table: not
    # more than when this was measured (a share moves with the cells a table publishes, the count does not).
    management = per_audience.filter(pl.col("audience") == "management")
    # Issue 16's aim is none. Left: 3, each the only cell that can protect a lone hidden cell of its column
    # while the organisation's count of that column is published (see the docstring): Economie's "normaal" in
    # 2022 in `ratings` and in the heat map, and a department's unchanged proposals next to one where nobody
    # was moved. 18 before recoding (ratings 1, heat map 1, moves by department 1, by level 10, by group 5).
    # `test_management_complements_left_guard_totals_of_other_tables` checks that each of them is of that kind.
    assert management["complement_2k"].item() <= 3, shares
    by_table = per_table.filter(pl.col("audience") == "management")
    for table in ("calibration_moves_by_group", "calibration_moves_by_level"):
        assert by_table.filter(pl.col("table") == table)["complement_2k"].item() == 0, table
    organisation = per_table.filter(pl.col("audience") == "organisation")
    fairness = organisation.filter(pl.col("table") == "fairness")
    assert fairness["cells_2k"].item() > 10_000, "the fairness table has many cells of at least 2k people"
    # Not worse than measured when this test was written (the aim is the test below).
    assert shares["organisation"] <= 0.026, shares
    assert fairness["share"].item() <= 0.026, fairness
    # The price counted the old way (small remainders of at least 2k as complements): not worse either, so a
    # cell cannot move from one reason to the other unnoticed.
    org = per_audience.filter(pl.col("audience") == "organisation")
    assert org["complement_2k"].item() + org["remainder_2k"].item() <= 1445, org
    assert "ratings" not in organisation["table"].to_list(), "`ratings` is on the management site only"


def test_management_complements_left_guard_totals_of_other_tables(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """Why issue 16's aim of no management complement of at least 2k people is not met on the sample (3 left):
    each remaining one is the second hidden cell of a department column (a rating, a direction of the moves)
    whose other hidden cell is primary (small or everyone alike) and whose shown cells all hold at least 2k
    people (no smaller complement exists), while the organisation's count of that column is published exactly
    by another table of the management release (the final ratings in `calibration_before_after`; the moves by
    group's size less those moved up and down). Publishing that count over the shown cells instead would cost
    no complement in the table itself, and give the primary cell back by subtraction from the other table.
    Fails on any management complement of at least 2k people that is not of this kind."""
    from models.disclosure.engine import COMPLEMENT, HOMOGENEOUS, REASON, SMALL
    from models.releases.calibration import department_level_cells

    sources, published = sample_publication
    tables = published.tables
    unit = ["organization", "cycle", "department"]
    ratings_truth = (
        department_level_cells(sources)
        .filter(pl.col("measure") == "rating")
        .group_by(*unit, "rating")
        .agg(pl.col("n").sum().alias("true_n"))
    )
    impact = sources["marts.calibration_impact"].filter(
        (pl.col("period") == "cycle") & (pl.col("grouping") == "department")
    )
    moves_truth = pl.concat(
        [impact.select("organization", pl.col("cycle").cast(pl.Int64), pl.col("unit").alias("department"),
                       pl.lit(d).alias("direction"), pl.col(f"n_{d}").cast(pl.Int64).alias("true_n"))
         for d in ("down", "unchanged", "up")]
    )  # fmt: skip
    final = tables["calibration_before_after"].filter(pl.col("stage") == "final")
    org_moves = tables["calibration_moves_by_group"].filter(
        pl.col("group_value").is_null() & (pl.col("attribute") == "gender")
    )
    found = 0
    for name, column, truth in (
        ("ratings", "rating", ratings_truth),
        ("norming_ratings", "rating", ratings_truth),
        ("calibration_moves_by_department", "direction", moves_truth),
    ):
        frame = tables[name]
        if "function_level" in frame.columns:
            frame = frame.filter(pl.col("function_level").is_null())
        if "measure" in frame.columns:
            frame = frame.filter(pl.col("measure") == "rating")
        complements = (
            frame.filter((pl.col(REASON) == COMPLEMENT) & pl.col("department").is_not_null())
            .join(truth, on=[*unit, column], how="left")
            .filter(pl.col("true_n") >= 2 * K)
        )
        for cell in complements.iter_rows(named=True):
            key = (pl.col("organization") == cell["organization"]) & (pl.col("cycle") == cell["cycle"])
            col = frame.filter(key & (pl.col(column) == cell[column]))
            shown = col.filter(pl.col("department").is_not_null() & pl.col("n").is_not_null())
            hidden = col.filter(pl.col("department").is_not_null() & pl.col("n").is_null())
            organisation = col.filter(pl.col("department").is_null())["n"].item()
            assert hidden.height == 2 and shown["n"].min() >= 2 * K, (name, cell, "a smaller one exists")  # type: ignore[operator]
            assert set(hidden[REASON].to_list()) - {COMPLEMENT} <= {SMALL, HOMOGENEOUS}, (name, cell)
            if name == "calibration_moves_by_department":
                moves = org_moves.filter(key)
                moved = {d: moves.filter(pl.col("direction") == d)["count"].item() for d in ("up", "down")}
                moved["unchanged"] = moves["group_n"].max() - moved["up"] - moved["down"]  # type: ignore[operator]
                other = moved[cell[column]]
            else:
                other = final.filter(key & (pl.col("rating") == cell[column]))["n"].item()
            assert organisation is not None and other == organisation, (name, cell, "not published elsewhere")
            found += 1
    report = published.report_frame().filter(pl.col("audience") == "management")
    large = int(report["complement_2k"].sum())
    print(
        f"\nmanagement complements of at least 2k people: {large}; guarding a column another table totals: {found}"
    )
    assert 0 < large == found, "every management complement of at least 2k people is of this kind"


def test_the_organisation_release_meets_the_aim_on_the_sample(sample_report: pl.DataFrame) -> None:
    """Issue 16's aim: at most 5% of the organisation release's cells with n >= 2k hidden as complements."""
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


def test_where_the_fairness_complements_are(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """The fairness table's cells of at least 2k people per stratification, margin (a stratum's group, a
    stratum's total, an overall group, the overall total) and count (size, with, without), by reason: where
    complementary suppression lands (docs/privacy.md, "Complementary suppression: what it costs"). Only sizes
    and counts with the outcome are shown; a small remainder is a count with the outcome whose group's count
    without is 1 to k−1 while its size is shown."""
    from models.disclosure.engine import REASON, SMALL_REMAINDER, Thresholds, _cube
    from models.disclosure.recode import leave_out_small_groups
    from models.releases import fairness as F
    from models.releases.registry import _left_out_per_cycle, organization_sources

    sources, _ = sample_publication
    limits = Thresholds(k=K)
    keys = ["organization", "cycle", "outcome"]
    cols = ("organization", "cycle", "outcome", "attribute", "group_value", "n", "count")
    frames = []
    for org in sorted(set(sources["marts.fairness"]["organization"].to_list())):
        mine = organization_sources(sources, org)
        left_out = _left_out_per_cycle(mine["marts.fairness"], keys, limits)
        overall = leave_out_small_groups(mine["marts.fairness"], left_out, keys)
        strata = leave_out_small_groups(mine["marts.fairness_strata"], left_out, keys)
        strata = strata.filter(pl.col("period") != F.PERIOD_WINDOW)
        binary = overall.filter(pl.col("outcome_kind") == "binary")
        _, cube = F._fairness_cubes(binary, strata, limits, {})
        for stratification in F.STRATIFICATIONS:
            cells = F._fairness_cells(binary, strata, stratification, cols)
            true = _cube(cells, F.FAIRNESS_RULE).select(*F.CUBE_KEYS, pl.col("n").alias("true_n"))
            frames.append(
                cube.filter(pl.col("stratification") == stratification).join(
                    true, on=F.CUBE_KEYS, how="left", nulls_equal=True
                )
            )
    cube = pl.concat(frames, how="diagonal_relaxed")
    margin = (
        pl.when(pl.col("stratum").is_not_null() & pl.col("group_value").is_not_null())
        .then(pl.lit("stratum x group"))
        .when(pl.col("stratum").is_not_null())
        .then(pl.lit("stratum total"))
        .when(pl.col("group_value").is_not_null())
        .then(pl.lit("overall group"))
        .otherwise(pl.lit("overall total"))
    )
    count = pl.col("has").replace_strict({"yes": "with", "no": "without (not shown)"}, default="size")
    large = cube.filter(pl.col("true_n") >= 2 * K).with_columns(margin.alias("margin"), count.alias("count"))
    breakdown = (
        large.group_by("stratification", "margin", "count")
        .agg(
            pl.len().alias("cells_2k"),
            *(
                (pl.col(REASON) == reason).sum().alias(reason)
                for reason in ("complement", SMALL_REMAINDER, "small", "homogeneous", "unpublished")
            ),
        )
        .sort("stratification", "margin", "count")
    )
    with pl.Config(tbl_rows=40, tbl_cols=10, tbl_width_chars=180):
        print("\nfairness cells of at least 2k people by structure and reason:\n", breakdown)
    assert breakdown.height > 10
    # Every small remainder is a shown count with the outcome whose group's count without is 1 to k−1.
    without = cube.filter(pl.col("has") == "no").select(
        *[c for c in F.CUBE_KEYS if c != "has"], "stratification", pl.col("true_n").alias("without")
    )
    remainders = cube.filter(pl.col(REASON) == SMALL_REMAINDER).join(
        without, on=[*[c for c in F.CUBE_KEYS if c != "has"], "stratification"], how="left", nulls_equal=True
    )
    assert remainders.height > 100
    assert (remainders["has"] == "yes").all()
    assert remainders["without"].is_between(1, K - 1).all(), remainders
    # Department totals with and without the outcome are unknowns, never counted or complemented.
    unpublished = cube.filter(pl.col(REASON) == "unpublished")
    assert (unpublished["stratification"] == "department").all() and unpublished.height > 0


def test_margins_no_management_page_shows_are_unknowns(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """A band of function levels over all departments (bands are each department's own: `ratings` publishes no
    such row) and the transitions' column totals are shown by no page (docs/privacy.md, "Complements in the
    management release"): never published, so they force no complement; with them unknown, the attacker
    (bounds by linear programming over each table's equations) still pins no hidden small or everyone-alike
    cell."""
    from models.disclosure.engine import UNPUBLISHED
    from models.releases.calibration import RATINGS_RULE, TRANSITIONS_RULE, banded_department_levels
    from tests.test_privacy import assert_not_recovered, cube_truth

    sources, published = sample_publication
    ratings, transitions = published.tables["ratings"], published.tables["transitions"]
    assert ratings.filter(pl.col("department").is_null() & pl.col("function_level").is_not_null()).height == 0
    columns = transitions.filter(pl.col("from_rating").is_null() & pl.col("to_rating").is_not_null())
    assert columns.height > 0 and columns["count"].is_null().all(), "an unshown margin is published"
    assert (columns["suppressed_reason"] == UNPUBLISHED).sum() > columns.height // 2
    # The margins the pages do show stay published: a band's size in its department (the levels chart), a
    # transition row's total (the denominator of its shares).
    assert (
        ratings.filter(
            pl.col("department").is_not_null()
            & pl.col("function_level").is_not_null()
            & pl.col("rating").is_null()
        )["n"]
        .is_not_null()
        .any()
    )
    assert (
        transitions.filter(pl.col("from_rating").is_not_null() & pl.col("to_rating").is_null())["count"]
        .is_not_null()
        .any()
    )
    cells = banded_department_levels(sources, K)
    rule = RATINGS_RULE
    truth = cube_truth(cells, rule.by, rule.dims, rule.totals, "n")
    attacked = assert_not_recovered(ratings, truth, rule.by, rule.dims, rule.totals, "n", K, limit=300)
    rule = TRANSITIONS_RULE
    truth = cube_truth(sources["marts.rating_transitions"], rule.by, rule.dims, rule.totals, "count")
    attacked += assert_not_recovered(transitions, truth, rule.by, rule.dims, rule.totals, "count", K)
    print(
        f"\nratings and transitions with unpublished margins: {attacked} hidden cells attacked, 0 recovered"
    )
    assert attacked > 100
