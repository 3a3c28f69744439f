"""Publication per audience (issue 16): what each page shows on the bundled sample, and what it must not give back.

The figures test prints, per organisation: departments with at least 20 rated people whose distribution is
compared with the organisation's on their pack, women and men shown in the fairness and calibration-moves
tables, units on the funnel plot, and the cells of every release by reason. The odds-ratio test is the attack
of the issue: with both rates of a comparison hidden, a published odds ratio (2 decimals), the two group sizes
and the organisation's count leave one integer count that fits.
"""

from __future__ import annotations

import itertools
import math

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.disclosure.recode import (
    OTHERS_LEFT_OUT,
    leave_out_small_groups,
    level_bands,
    mark_left_out,
    small_groups,
)
from models.disclosure.report import summary
from models.privacy import Thresholds
from models.releases.derived import WITHHELD, comparisons_need_counts

K = 5
PACK_MIN_RATED = 20


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
    calibration-moves tables, and how many of them show their rate; the same for the rows whose two cells
    (with and without the outcome) hold k people each (a smaller cell is hidden by the primary rule)."""
    cells_k = (pl.col("_count") >= K) & ((pl.col("_n") - pl.col("_count")) >= K)
    flags = (
        pl.col("rate").is_not_null().alias("shown"),
        cells_k.alias("cells_k"),
        (cells_k & pl.col("rate").is_not_null()).alias("shown_cells_k"),
    )
    parts = []
    fairness = tables["fairness"].filter(
        (pl.col("scope") == "overall")
        & (pl.col("attribute") == "gender")
        & pl.col("group_value").is_in(["F", "M"])
        & (pl.col("outcome_kind") == "binary")
    )
    truth = (
        sources["marts.fairness"]
        .filter(pl.col("outcome_kind") == "binary")
        .select(
            "organization",
            pl.col("cycle").cast(pl.Int64),
            "outcome",
            "attribute",
            "group_value",
            pl.col("n").alias("_n"),
            pl.col("count").alias("_count"),
        )
    )
    parts.append(
        fairness.with_columns(pl.col("cycle").cast(pl.Int64))
        .join(truth, on=["organization", "cycle", "outcome", "attribute", "group_value"], how="left")
        .filter(pl.col("_n") >= K)
        .select("organization", pl.lit("fairness").alias("table"), *flags)
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
        pl.col("count").alias("_count"),
    )
    parts.append(
        moves.join(truth, on=["organization", "cycle", "direction", "attribute", "group_value"], how="left")
        .filter(pl.col("_n") >= K)
        .select("organization", pl.lit("calibration_moves_by_group").alias("table"), *flags)
    )
    return (
        pl.concat(parts)
        .group_by("organization", "table")
        .agg(
            pl.len().alias("rows_k"),
            pl.col("shown").sum(),
            pl.col("cells_k").sum().alias("rows_cells_k"),
            pl.col("shown_cells_k").sum(),
        )
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
    # Units whose people all got the same rating (their mean gives each one's rating: hidden by rule).
    alike = (
        sources["marts.rating_distribution"]
        .filter(pl.col("grouping").is_in(["department", "function_level"]))
        .group_by(keys)
        .agg(((pl.col("count") > 0).sum() <= 1).alias("alike"))
        .with_columns(pl.col("cycle").cast(pl.Int64))
    )
    return (
        truth.join(shown.with_columns(pl.col("cycle").cast(pl.Int64)), on=keys, how="left")
        .join(alike, on=keys, how="left")
        .group_by("organization")
        .agg(
            pl.len().alias("units_k"),
            pl.col("shown").fill_null(False).sum().alias("on_funnel"),
            pl.col("alike").fill_null(False).sum().alias("alike"),
        )
        .sort("organization")
    )


def test_visibility_figures_on_the_sample(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """Before issue 16, on this sample (900 employees, seed 7): packs compared 3 of 30 Zeeland, 0 of 36
    vo-demo; women and men with both cells >= k and a rate: 12 of 36 Zeeland and 0 of 12 vo-demo fairness rows,
    2 of 7 calibration-moves rows; units on the funnel 5 of 66 Zeeland, 9 of 54 vo-demo (42 more all alike);
    14 counts recovered by the odds-ratio attack."""
    sources, published = sample_publication
    tables = published.tables
    report = published.report_frame()
    with pl.Config(tbl_rows=60, tbl_cols=14, tbl_width_chars=200):
        packs = packs_compared(sources, tables)
        print("\npacks compared with the organisation (departments with >= 20 rated people):\n", packs)
        gender = women_and_men_shown(sources, tables)
        print("women and men with >= k people, rate shown:\n", gender)
        funnel = units_on_funnel(sources, tables)
        print("units with >= k people on the funnel plot:\n", funnel)
        by_table = (
            report.group_by("table", "page", "audience")
            .agg(pl.exclude("organization", "table", "page", "audience").sum())
            .sort("audience", "table")
        )
        print("cells per table and audience:\n", by_table)
        per_audience = summary(report)
        print("per audience:\n", per_audience)
    # Every department of 20 or more rated people is compared with the organisation in its pack.
    assert packs["compared"].to_list() == packs["departments_20"].to_list()
    # Every unit with k people whose people did not all get the same rating is on the funnel plot.
    assert (funnel["on_funnel"] + funnel["alike"] == funnel["units_k"]).all()
    # Women and men are shown on the fairness page wherever both their cells hold k people (gender X is
    # recoded, not protected by hiding them).
    fairness = gender.filter(pl.col("table") == "fairness")
    assert (fairness["shown_cells_k"] == fairness["rows_cells_k"]).all()
    # Likewise in the calibration moves per group (management): gender X is left out and the gender total is
    # published over women and men where it would cost a complement (6 of 7 rows before, the women moved up
    # in 2024 hidden as the complement of 2 men).
    moves = gender.filter(pl.col("table") == "calibration_moves_by_group")
    assert moves.height > 0 and (moves["shown_cells_k"] == moves["rows_cells_k"]).all()
    # The meeting release hides nothing of the department's own counts; no large cell is a complement there.
    meeting = per_audience.filter(pl.col("audience") == "meeting")
    assert meeting["complement_2k"].item() == 0 and meeting["hidden"].item() == 0
    # The report adds up: every cell is shown or hidden, every hidden one has at most one reason.
    assert (report["shown"] + report["hidden"] == report["cells"]).all()
    assert (report["small"] + report["homogeneous"] + report["complement"] <= report["hidden"]).all()


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


def test_odds_ratio_attack_recovers_no_hidden_count_on_the_sample(sample_publication) -> None:  # type: ignore[no-untyped-def]
    sources, published = sample_publication
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


# ---------------------------------------------------------------------------------------------- hand-built rules
def _comparison(counts: dict[str | None, tuple[int | None, int | None]], reference: str) -> pl.DataFrame:
    rows = []
    for group, (n, count) in counts.items():
        rows.append(
            {
                "organization": "o",
                "cycle": 1,
                "outcome": "x",
                "attribute": "a",
                "group_value": group,
                "group_n": n,
                "count": count,
                "rate": None if n is None or count is None else count / n,
                "reference_group": None if group is None else reference,
                "odds_ratio": None if group in (None, reference) else 1.5,
                "p_value": None if group in (None, reference) else 0.04,
                "within_level_odds_ratio": None if group in (None, reference) else 1.4,
                "suppressed": n is None or count is None,
            }
        )
    return pl.DataFrame(rows)


BY = ["organization", "cycle", "outcome", "attribute"]


def test_a_comparison_is_published_only_with_both_groups_counts() -> None:
    shown = comparisons_need_counts(_comparison({"A": (40, 10), "B": (60, 20), None: (100, 30)}, "B"), BY)
    row = shown.filter(pl.col("group_value") == "A").row(0, named=True)
    assert row["odds_ratio"] == 1.5 and row["p_value"] == 0.04 and not row[WITHHELD]
    # The reference's count hidden: the comparison goes, the group's own rate stays.
    hidden = comparisons_need_counts(_comparison({"A": (40, 10), "B": (60, None), None: (100, 30)}, "B"), BY)
    row = hidden.filter(pl.col("group_value") == "A").row(0, named=True)
    assert row["odds_ratio"] is None and row["p_value"] is None and row[WITHHELD]
    assert row["rate"] == 0.25
    # "Everyone else" is known when the organisation's count is.
    rest = comparisons_need_counts(
        _comparison({"A": (40, 10), None: (100, 30)}, "rest_of_organisation"), BY
    ).filter(pl.col("group_value") == "A")
    assert rest["odds_ratio"].item() == 1.5
    rest_hidden = comparisons_need_counts(
        _comparison({"A": (40, 10), None: (100, None)}, "rest_of_organisation"), BY
    ).filter(pl.col("group_value") == "A")
    assert rest_hidden["odds_ratio"].item() is None


def test_the_within_level_statistic_needs_every_levels_counts() -> None:
    frame = _comparison({"A": (40, 10), "B": (60, 20), None: (100, 30)}, "B").with_columns(
        pl.lit("overall").alias("scope"), pl.lit(None, dtype=pl.String).alias("stratum")
    )
    strata = pl.DataFrame(
        {
            "organization": ["o"] * 4,
            "cycle": [1] * 4,
            "outcome": ["x"] * 4,
            "attribute": ["a"] * 4,
            "group_value": ["A", "A", "B", "B"],
            "stratum": ["L1", "L2", "L1", "L2"],
            "rate": [0.2, None, 0.3, 0.4],
            "scope": ["function_level"] * 4,
        }
    )
    out = comparisons_need_counts(
        pl.concat([frame, strata], how="diagonal_relaxed"),
        BY,
        rows=pl.col("scope") == "overall",
        strata=pl.col("scope") == "function_level",
    ).filter((pl.col("scope") == "overall") & (pl.col("group_value") == "A"))
    assert out["within_level_odds_ratio"].item() is None, "level L2 of group A is hidden"
    assert out["odds_ratio"].item() == 1.5, "the overall comparison rests on published counts"


def test_small_gender_categories_are_left_out_not_hidden() -> None:
    frame = pl.DataFrame(
        {
            "organization": ["o"] * 6,
            "cycle": [1] * 6,
            "outcome": ["x", "x", "x", "y", "y", "y"],
            "attribute": ["gender"] * 6,
            "group_value": ["F", "M", "X", "F", "M", "X"],
            "n": [300, 280, 3, 300, 280, 6],
            "count": [30, 20, 1, 30, 20, 0],
        }
    )
    keys = ["organization", "cycle", "outcome"]
    small = small_groups(frame, keys, "gender", ("F", "M"), 5)
    # X with 3 people, and X with 6 people of whom none has outcome y (everyone alike).
    assert sorted(small["outcome"].to_list()) == ["x", "y"]
    kept = leave_out_small_groups(frame, small, keys)
    assert kept["group_value"].to_list() == ["F", "M", "F", "M"]
    assert mark_left_out(kept, small, keys)[OTHERS_LEFT_OUT].all()
    # X with 12 people, 6 with outcome y, is compared like any group; with 2 of 12 its cell is small.
    larger = frame.with_columns(
        pl.when(pl.col("group_value") == "X").then(12).otherwise(pl.col("n")).alias("n"),
        pl.when(pl.col("group_value") == "X").then(6).otherwise(pl.col("count")).alias("count"),
    )
    assert small_groups(larger, keys, "gender", ("F", "M"), 5).height == 0
    fewer = larger.with_columns(
        pl.when(pl.col("group_value") == "X").then(2).otherwise(pl.col("count")).alias("count")
    )
    assert small_groups(fewer, keys, "gender", ("F", "M"), 5).height == 2


def test_small_function_levels_merge_into_bands_of_adjacent_levels() -> None:
    bands = level_bands({"1": 3, "2": 4, "3": 10, "4": 2}, ["1", "2", "3", "4"], 5)
    assert bands == {"1": "1–2", "2": "1–2", "3": "3–4", "4": "3–4"}
    assert level_bands({"7": 12}, ["7"], 5) == {"7": "7"}
    assert level_bands({"1": 2, "2": 1}, ["1", "2"], 5) == {"1": "1–2", "2": "1–2"}, "too few for any band"


def test_bands_close_where_their_distribution_can_be_shown() -> None:
    """With the levels' counts over the ratings, a band closes only once each non-zero count holds k people."""
    sizes, order = {"1": 10, "2": 6, "3": 6}, ["1", "2", "3"]
    cells = {"1": [5, 5], "2": [3, 3], "3": [2, 4]}
    # "1" alone: 5 and 5; "2" alone: 3 and 3 (both small); "2–3": 5 and 7.
    assert level_bands(sizes, order, 5, cells) == {"1": "1", "2": "2–3", "3": "2–3"}
    assert level_bands(sizes, order, 5) == {"1": "1", "2": "2", "3": "3"}, "sizes alone: every level holds k"
    # Everyone alike is no band either: "1" (5 and 0) waits for "2".
    assert level_bands(sizes, order, 5, {"1": [5, 0], "2": [0, 6], "3": [5, 5]}) == {
        "1": "1–2",
        "2": "1–2",
        "3": "3",
    }
    # A last band that never gets there joins the one before it.
    assert level_bands({"1": 10, "2": 5}, ["1", "2"], 5, {"1": [5, 5], "2": [4, 1]}) == {
        "1": "1–2",
        "2": "1–2",
    }


def test_management_department_pages_show_bands_of_levels(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """`ratings` (management site) publishes each department's bands of adjacent function levels: never a level
    of a merged band next to its band (the band's total less the other levels' would give it back), every band
    as a partition of the department's rated people, and the issue's example, Economie 2024 in Zeeland (37
    people over 11 levels, "alle cellen zijn afgeschermd" before), with its distribution per band."""
    from models.releases.calibration import BAND_MEMBERS, banded_department_levels, department_level_cells

    sources, published = sample_publication
    ratings = published.tables["ratings"]
    bands = ratings.filter(pl.col("department").is_not_null() & pl.col("function_level").is_not_null())
    keys = ["organization", "cycle", "measure", "department"]
    labels = bands.select(*keys, "function_level", BAND_MEMBERS).unique()
    merged = labels.filter(pl.col(BAND_MEMBERS) > 1)
    assert merged.height > 0 and merged["function_level"].str.contains("–").all()
    levels = department_level_cells(sources).select(*keys, "function_level").unique()
    # A merged band's levels: none of them is published as a level of its own in that department.
    for row in merged.iter_rows(named=True):
        first, last = row["function_level"].split("–")
        inside = levels.filter(
            *[pl.col(k) == row[k] for k in keys],
            pl.col("function_level").is_between(pl.lit(first), pl.lit(last)),
        )["function_level"].to_list()
        published_levels = labels.filter(*[pl.col(k) == row[k] for k in keys])["function_level"].to_list()
        assert not set(inside) & set(published_levels) - {row["function_level"]}, row
    # The bands add up to the department: their true sizes sum to its rated people.
    truth = banded_department_levels(sources, K).group_by(keys).agg(pl.col("n").sum().alias("banded"))
    rated = department_level_cells(sources).group_by(keys).agg(pl.col("n").sum().alias("rated"))
    assert truth.join(rated, on=keys).filter(pl.col("banded") != pl.col("rated")).height == 0
    economie = bands.filter(
        (pl.col("organization") == "zeeland-demo")
        & (pl.col("cycle") == 2024)
        & (pl.col("department") == "Economie")
        & (pl.col("measure") == "rating")
    )
    visible = economie.filter(pl.col("unit_visible"))["function_level"].unique().to_list()
    print(
        "\nEconomie 2024 bands:", sorted(economie["function_level"].unique().to_list()), "visible:", visible
    )
    assert len(visible) >= 2, "Economie 2024 shows its distribution per band"


def test_a_band_with_a_rare_rating_hidden_is_shown_over_its_shown_cells(
    sample_run, sample_publication
) -> None:  # type: ignore[no-untyped-def]
    """A rating with fewer than k people in the whole department is hidden in whichever band it falls, so a
    band is rarely whole: the levels chart shows such a band over its shown cells with the department chart's
    "Excl. n < k" note (Water en Natuur 2022: both of its bands, "alle cellen zijn afgeschermd" before), where
    at least two of its ratings are shown."""
    import html

    from dashboards.i18n import text

    _, published = sample_publication
    ratings = published.tables["ratings"]
    bands = ratings.filter(
        (pl.col("organization") == "zeeland-demo")
        & (pl.col("cycle") == 2022)
        & (pl.col("measure") == "rating")
        & (pl.col("department") == "Water en Natuur")
        & pl.col("function_level").is_not_null()
    )
    sizes = bands.filter(pl.col("rating").is_null())
    excl = sorted(sizes.filter(pl.col("unit_excl") & ~pl.col("unit_visible"))["function_level"].to_list())
    assert len(excl) >= 2, sizes
    page = (
        sample_run.settings.site
        / "management"
        / "zeeland-demo"
        / "2022"
        / "calibration"
        / "water-en-natuur.html"
    )
    shown = html.unescape(page.read_text(encoding="utf-8"))
    assert text("excl_hidden_note", "nl").format(units=", ".join(excl)) in shown
    assert "Verdeling per functieniveau</strong> — alle cellen" not in shown


# ---------------------------------------------------------------------------------------------- meeting packs
def test_meeting_packs_show_employee_numbers_to_their_owner_only(sample_run) -> None:  # type: ignore[no-untyped-def]
    """The publish step writes each department's pack re-identified from the inbox's exports and the key:
    folders 0700, files 0600, a confidential banner, employee numbers instead of pseudonyms; the site and the
    database keep pseudonyms only."""
    import stat

    from models.mapping import load_mappings
    from models.pseudonym import load_key
    from models.reidentify import PSEUDONYM, pseudonym_map
    from pipelines.packs import packs_folder

    settings = sample_run.settings
    root = packs_folder(settings)
    packs = sorted(p for p in root.rglob("calibration/*.html") if p.name != "index.html")
    assert packs, "no meeting pack was written"
    for path in [root, *packs[0].parents]:
        if root in path.parents or path == root:
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in packs)
    known = pseudonym_map(sorted(settings.inbox.iterdir()), load_mappings(settings.mappings_dirs), load_key())
    worklist = sample_run.query("SELECT DISTINCT department, employee_id FROM marts.calibration_worklist")
    assert worklist.height and all(p in known for p in worklist["employee_id"].to_list())
    texts = {p.name: p.read_text(encoding="utf-8") for p in packs}
    joined = "".join(texts.values())
    assert "VERTROUWELIJK" in joined or "CONFIDENTIAL" in joined
    raw_numbers = {known[p] for p in worklist["employee_id"].to_list()}
    assert any(number in joined for number in raw_numbers), "the packs show employee numbers"
    assert not any(found in known for found in PSEUDONYM.findall(joined)), (
        "a known pseudonym is left in a pack"
    )
    # The site shows no case at all (issue 16: the worklist is the meeting's, in its pack only): neither a
    # worklist employee number nor its pseudonym appears in its calibration pages.
    site_text = "".join(p.read_text(encoding="utf-8") for p in settings.site.rglob("calibration/*.html"))
    assert site_text and not any(p in site_text for p in worklist["employee_id"].to_list())
    assert not any(f">{number}<" in site_text for number in raw_numbers)


# ---------------------------------------------------------------------------------------------- integer attacker
def milp_attack(
    published: pl.DataFrame, truth: pl.DataFrame, dims: tuple[str, str], by: list[str], k: int
) -> int:
    """An attacker with integer programming (scipy.optimize.milp) over every published count of a two-way
    table with its margins (null = total) for all partitions `by` together: each hidden cell is an integer
    unknown in [0, the largest published count] (a hidden total: at least 0), every total equals the sum of
    its parts. Returns
    how many hidden cells of 1 to k−1 people have a single feasible value (recovered)."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp

    keys = [*by, *dims]
    frame = published.select(*keys, "n").join(
        truth.select(*keys, pl.col("n").alias("_true")), on=keys, how="left", nulls_equal=True
    )
    rows = frame.to_dicts()
    hidden = [i for i, r in enumerate(rows) if r["n"] is None]
    if not hidden:
        return 0
    position = {cell: j for j, cell in enumerate(hidden)}
    matrix: list[np.ndarray] = []
    rhs: list[float] = []
    for i, r in enumerate(rows):
        for d, dim in enumerate(dims):
            if r[dim] is not None:
                continue
            other = dims[1 - d]
            parts = [
                j
                for j, s in enumerate(rows)
                if all(s[c] == r[c] for c in [*by, other]) and s[dim] is not None
            ]
            if not parts:
                continue
            coefficients = np.zeros(len(hidden))
            known = 0.0
            for j in parts:
                if rows[j]["n"] is None:
                    coefficients[position[j]] += 1.0
                else:
                    known += rows[j]["n"]
            if r["n"] is None:
                coefficients[position[i]] -= 1.0
                value = -known
            else:
                value = r["n"] - known
            if coefficients.any():
                matrix.append(coefficients)
                rhs.append(value)
    top = max((r["n"] for r in rows if r["n"] is not None), default=0) or 1
    # A hidden total (a margin published over its shown cells only, docs/privacy.md) may exceed every published
    # count: it is bounded by its parts' equation, not by `top`.
    upper = [np.inf if any(rows[i][d] is None for d in dims) else float(top) for i in hidden]
    bounds = Bounds(np.zeros(len(hidden)), np.array(upper))
    constraints = [LinearConstraint(np.array(matrix), rhs, rhs)] if matrix else []
    integral = np.ones(len(hidden))
    recovered = 0
    for j, cell in enumerate(hidden):
        true = rows[cell]["_true"]
        if true is None or not 0 < true < k:
            continue
        objective = np.zeros(len(hidden))
        objective[j] = 1.0
        low = milp(objective, constraints=constraints, integrality=integral, bounds=bounds)
        high = milp(-objective, constraints=constraints, integrality=integral, bounds=bounds)
        assert low.success and high.success, "the published table must be feasible for its true values"
        if round(low.fun) == round(-high.fun):
            recovered += 1
    return recovered


def _norming_truth(sources: dict[str, pl.DataFrame]) -> pl.DataFrame:
    from models.disclosure.engine import _cube
    from models.releases.management import NORMING_RATINGS_RULE

    cells = (
        sources["marts.rating_distribution"]
        .filter(pl.col("grouping") == "department")
        .select(
            "organization",
            pl.col("cycle").cast(pl.Int64),
            "measure",
            pl.col("unit").alias("department"),
            "rating",
            pl.col("count").cast(pl.Int64).alias("n"),
        )
    )
    return _cube(cells, NORMING_RATINGS_RULE).drop("__row")


def test_integer_attacker_recovers_no_cell_of_the_management_heat_map(sample_publication) -> None:  # type: ignore[no-untyped-def]
    """The management release's heat map, one cycle at a time and two consecutive cycles together."""
    sources, published = sample_publication
    table = published.tables["norming_ratings"].with_columns(pl.col("cycle").cast(pl.Int64))
    truth = _norming_truth(sources)
    dims = ("department", "rating")
    attacked = 0
    for _, part in table.group_by("organization", "measure"):
        cycles = sorted(part["cycle"].unique().to_list())
        for first, second in itertools.pairwise(cycles):
            both = part.filter(pl.col("cycle").is_in([first, second]))
            assert milp_attack(both, truth, dims, ["organization", "cycle", "measure"], K) == 0
            attacked += 1
    assert attacked > 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.lists(st.integers(min_value=0, max_value=30), min_size=4, max_size=4),
        min_size=3,
        max_size=6,
    )
)
def test_integer_attacker_recovers_no_cell_of_generated_heat_maps(counts: list[list[int]]) -> None:
    from models.disclosure.engine import _cube, protect
    from models.releases.management import NORMING_RATINGS_RULE

    cells = pl.DataFrame(
        [
            {
                "organization": "o",
                "cycle": 1,
                "measure": "rating",
                "department": f"d{i}",
                "rating": f"r{j}",
                "n": n,
            }
            for i, row in enumerate(counts)
            for j, n in enumerate(row)
        ]
    )
    published = protect(cells, NORMING_RATINGS_RULE, Thresholds(k=K)).frame
    truth = _cube(cells, NORMING_RATINGS_RULE).drop("__row")
    assert (
        milp_attack(published, truth, ("department", "rating"), ["organization", "cycle", "measure"], K) == 0
    )


def test_integer_attacker_recovers_a_cell_hidden_without_complements() -> None:
    """The attacker is not blind: a small cell hidden alone next to its published margins is recovered."""
    from models.disclosure.engine import _cube
    from models.releases.management import NORMING_RATINGS_RULE

    cells = pl.DataFrame(
        [
            {"organization": "o", "cycle": 1, "measure": "rating", "department": d, "rating": r, "n": n}
            for d, row in (("a", [3, 20, 12]), ("b", [9, 25, 14]))
            for r, n in zip(("r1", "r2", "r3"), row, strict=True)
        ]
    )
    truth = _cube(cells, NORMING_RATINGS_RULE).drop("__row")
    only_primary = truth.with_columns(pl.when(pl.col("n") == 3).then(None).otherwise(pl.col("n")).alias("n"))
    assert (
        milp_attack(only_primary, truth, ("department", "rating"), ["organization", "cycle", "measure"], K)
        == 1
    )
