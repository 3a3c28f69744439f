"""The calibration pack (page 1, audience: the meeting of one department) and the organisation-wide rating
distribution of the management site: `ratings` (management, protected within itself), `rating_scale` (policy
facts, also read by the fairness page), `leniency`, `worklist`."""

from __future__ import annotations

import re
from dataclasses import replace

import polars as pl

from models.disclosure.engine import (
    EXCLUDES_HIDDEN,
    SHOWN_TOTAL,
    SUPPRESSED,
    ProtectedTable,
    TableRule,
    Thresholds,
    margins_over_shown,
    protect,
    protect_margins_over_shown,
)
from models.disclosure.recode import level_bands
from models.releases.common import EVALUATOR_DEPARTMENTS, _hide, _need

# ---------------------------------------------------------------------------------------------- calibration
RATING_MEASURE = "rating"  # marts.rating_distribution: the performance rating (the other: salary decisions)
RATINGS_RULE = TableRule(
    by=("organization", "cycle", "measure"),
    dims=("department", "function_level", "rating"),
    n="n",
    totals=("department", "function_level", "rating"),
    category="rating",
    # `function_level` holds a department's bands of adjacent function levels (`banded_department_levels`):
    # each band has every rating already (the mart is complete per unit), and crossing one department's bands
    # with another's would publish zeros for bands that are not its own.
    complete=False,
    # A band's distribution or size over all departments: bands are a department's own (another department
    # bands its levels otherwise), so no page shows such a sum. An unknown, never published. (A function
    # level's size over the organisation is on the funnel plot, from `units`.)
    # A total over the ratings (a unit's size: the organisation's, a department's, a department's band) that
    # would cost a complement is published over the shown cells instead ("excl. n < k", `_ratings` with
    # `protect_margins_over_shown`).
    unpublished=pl.col("department").is_null() & pl.col("function_level").is_not_null(),
)
BAND_MEMBERS = "band_levels"  # how many function levels a band of `ratings` merges (1: a level of its own)


def _level_order(level: str) -> tuple[object, ...]:
    """Function levels in their natural order (S2 before S10; A before B)."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", level))


def banded_department_levels(sources: dict[str, pl.DataFrame], k: int) -> pl.DataFrame:
    """Each department's rating counts per band of adjacent function levels (models.disclosure.recode
    .level_bands: levels merged with their neighbours until each band holds k people and each of its non-zero
    rating counts k, so that its distribution can be shown), the
    band's label in `function_level` ("S05–S08", or the level's own name) and its number of levels in
    `BAND_MEMBERS`: global recoding before any cell is hidden (issue 16, "recode before you suppress").
    Function levels without people in the department are left out. Bands are a department's own, per cycle
    and measure."""
    cells = department_level_cells(sources).select(
        "organization", "cycle", "measure", "department", "function_level", "rating", "n", "position"
    )
    unit = ["organization", "cycle", "measure", "department"]
    sizes = (
        cells.sort("position")
        .group_by([*unit, "function_level"])
        .agg(pl.col("n").sum().alias("_size"), pl.col("n").alias("_cells"))
    )
    mapping = []
    for key, part in sizes.filter(pl.col("_size") > 0).group_by(unit, maintain_order=True):
        levels = dict(zip(part["function_level"].to_list(), part["_size"].to_list(), strict=True))
        # A rating with fewer than k people in the whole department is hidden wherever it falls: it does not
        # decide where a band closes.
        cells_of = part["_cells"].to_list()
        department = [sum(column) for column in zip(*cells_of, strict=True)]
        rare = [0 < total < k for total in department]
        counts = {
            level: [0 if small else c for c, small in zip(row, rare, strict=True)]
            for level, row in zip(part["function_level"].to_list(), cells_of, strict=True)
        }
        order = sorted(levels, key=_level_order)
        bands = level_bands(levels, order, k, counts)
        members = {band: sum(1 for b in bands.values() if b == band) for band in bands.values()}
        mapping += [
            {
                **dict(zip(unit, key, strict=True)),
                "function_level": level,
                "_band": band,
                BAND_MEMBERS: members[band],
            }
            for level, band in bands.items()
        ]
    schema = {
        **{c: cells.schema[c] for c in [*unit, "function_level"]},
        "_band": pl.String,
        BAND_MEMBERS: pl.Int64,
    }
    table = pl.DataFrame(mapping, schema=schema)  # type: ignore[arg-type]
    return (
        cells.join(table, on=[*unit, "function_level"], how="inner", nulls_equal=True)
        .group_by([*unit, "_band", "rating"], maintain_order=True)
        .agg(pl.col("n").sum(), pl.col("position").first(), pl.col(BAND_MEMBERS).first())
        .rename({"_band": "function_level"})
        .sort([*unit, "function_level", "position"])
    )


UNRATED_METRIC = "ratings_missing"  # marts.process_status: people of a department without a rating


def _unrated_organization_sizes(sources: dict[str, pl.DataFrame], limits: Thresholds) -> pl.DataFrame:
    """Sizes to hide where an organisation × cycle's people without a rating number 1 to k−1 (the sum of the
    departments' counts): its size (department null) on the process page and in the budget's headcount minus
    its rated total (the population of the fairness table's rating outcomes, kept: it carries the fairness
    page) would give that count back. The organisation size is also the sum of the department sizes, so one department size is hidden with
    it, chosen here so that the process page and the budget hide the same one (each table's own complement
    goes by size and row position, which need not agree, and a size shown in one table gives the other's
    back): the smallest department (then by name) whose own unrated count is 1 to k−1, whose rated total
    `ratings` hides already and whose unrated count the process page hides already, so no department that had
    nothing hidden loses a cell. Keys: organization, cycle, department (null = the organisation)."""
    schema = {"organization": pl.String, "cycle": pl.Int64, "department": pl.String}
    ps = sources.get("marts.process_status")
    if ps is None or not {*schema, "n", UNRATED_METRIC} <= set(ps.columns):
        return pl.DataFrame(schema=schema)
    rows = ps.filter(pl.col("department").is_not_null()).with_columns(
        pl.col(UNRATED_METRIC).fill_null(0).alias("_u"), pl.col("cycle").cast(pl.Int64)
    )
    small = (
        rows.group_by("organization", "cycle")
        .agg(pl.col("_u").sum().alias("_total"))
        .filter((pl.col("_total") > 0) & (pl.col("_total") < limits.k))
        .select("organization", "cycle")
    )
    if small.height == 0:
        return pl.DataFrame(schema=schema)
    department = (
        rows.join(small, on=["organization", "cycle"])
        .filter(pl.col("_u") > 0)
        .sort("organization", "cycle", "n", "department")
        .group_by("organization", "cycle", maintain_order=True)
        .agg(pl.col("department").first())
    )
    everyone = small.with_columns(pl.lit(None, dtype=pl.String).alias("department"))
    return pl.concat([everyone.select(list(schema)), department.select(list(schema))]).cast(schema)  # type: ignore[arg-type]


def department_level_cells(sources: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The rating counts (`n`) of each department × function level of marts.rating_distribution, with the
    unit split into its department and function level."""
    rd = _need(
        sources,
        "marts.rating_distribution",
        ("organization", "cycle", "measure", "grouping", "unit", "rating", "count"),
    )
    return (
        rd.filter(pl.col("grouping") == "department_function_level")
        .with_columns(
            pl.col("unit").str.extract(r"(?s)^(.*) × ([^×]*)$", 1).alias("department"),
            pl.col("unit").str.extract(r"(?s)^(.*) × ([^×]*)$", 2).alias("function_level"),
            pl.col("count").alias("n"),
        )
        .filter(pl.col("department").is_not_null() & pl.col("function_level").is_not_null())
    )


def _ratings(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Rating counts per department × band of function levels × rating, with the totals the pages show
    (null = all): small function levels merged into bands first (`banded_department_levels`), then primary
    suppression and complements within this table, sizes and the organisation's counts that would cost a large
    complement published over the shown cells."""
    banded = banded_department_levels(sources, limits.k)
    members = banded.select(
        "organization", "cycle", "measure", "department", "function_level", BAND_MEMBERS
    ).unique()
    cells = banded.drop(BAND_MEMBERS)
    # A department whose levels form one band: the band is the department itself. Its rows are the
    # department's (hidden alike: the same numbers), so the report does not count them twice, and they are not
    # published (the page says the levels form one band).
    unit = ["organization", "cycle", "measure", "department"]
    single = members.group_by(unit).agg(pl.len().alias("_bands")).filter(pl.col("_bands") == 1).drop("_bands")
    one_band = pl.struct(unit).is_in(single.select(pl.struct(unit)).to_series().implode())
    rule = replace(RATINGS_RULE, counted=~(one_band & pl.col("function_level").is_not_null()))
    # Management audience: protected within itself. Nothing of the organisation release (the process page's
    # unrated counts, the fairness rates) is forced here any more (docs/privacy.md, "Audiences").
    protected = protect_margins_over_shown(cells, rule, limits, "rating")
    frame = margins_over_shown(protected.frame.drop("position"), RATINGS_RULE, "rating")
    frame = frame.join(single.with_columns(pl.lit(True).alias("_one")), on=unit, how="left", nulls_equal=True)
    frame = frame.filter(~(pl.col("_one").fill_null(False) & pl.col("function_level").is_not_null())).drop(
        "_one"
    )
    # A band's distribution over all departments is nobody's: not published at all.
    frame = frame.filter(~(pl.col("department").is_null() & pl.col("function_level").is_not_null()))
    # A unit's size as the page divides by: exact where its whole distribution is shown, else over the shown
    # cells (`unit_excl`: "excl. n < k").
    frame = with_margin_shares(frame, RATINGS_RULE, "rating", "unit_n", "unit_excl")
    # A unit is "visible" when its whole distribution and its n are shown.
    visible = (
        frame.filter(pl.col("rating").is_not_null())
        .group_by(["organization", "cycle", "measure", "department", "function_level"])
        .agg((~pl.col(SUPPRESSED)).all().alias("_all"))
    )
    frame = (
        frame.join(
            visible,
            on=["organization", "cycle", "measure", "department", "function_level"],
            how="left",
            nulls_equal=True,
        )
        .with_columns((pl.col("_all").fill_null(True) & pl.col("unit_n").is_not_null()).alias("unit_visible"))
        .drop("_all")
        .join(
            members,
            on=["organization", "cycle", "measure", "department", "function_level"],
            how="left",
            nulls_equal=True,
        )
    )
    protected.frame = frame.sort(
        ["organization", "cycle", "measure", "department", "function_level", "rating"], nulls_last=True
    )
    protected.recoded = int(members.filter(pl.col(BAND_MEMBERS) > 1).height)
    return protected


def _rating_scale(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Codes, order, labels and guideline of each scale (policy facts, no data)."""
    rd = _need(
        sources, "marts.rating_distribution", ("organization", "measure", "grouping", "rating", "position")
    )
    keep = [
        c
        for c in ("organization", "measure", "rating", "position", "label_nl", "label_en", "guideline_share")
        if c in rd.columns
    ]
    frame = (
        rd.filter(pl.col("grouping") == "organization")
        .select(keep)
        .unique(["organization", "measure", "rating"])
        .sort("organization", "measure", "position")
    )
    return ProtectedTable(frame=frame, cells=frame.height)


def _unit_visibility(done: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """(organization, cycle, measure, grouping, unit, unit_visible) of departments and function levels."""
    ratings = done.get("ratings")
    if ratings is None or ratings.height == 0:
        return pl.DataFrame(
            schema={
                "organization": pl.String,
                "cycle": pl.Int64,
                "measure": pl.String,
                "grouping": pl.String,
                "unit": pl.String,
                "unit_visible": pl.Boolean,
            }
        )
    totals = ratings.filter(pl.col("rating").is_null())
    dept = totals.filter(pl.col("department").is_not_null() & pl.col("function_level").is_null()).select(
        "organization",
        "cycle",
        "measure",
        pl.lit("department").alias("grouping"),
        pl.col("department").alias("unit"),
        "unit_visible",
    )
    level = totals.filter(pl.col("department").is_null() & pl.col("function_level").is_not_null()).select(
        "organization",
        "cycle",
        "measure",
        pl.lit("function_level").alias("grouping"),
        pl.col("function_level").alias("unit"),
        "unit_visible",
    )
    return pl.concat([dept, level])


def _homogeneous_evaluators(sources: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Evaluators all of whose people got the same code this cycle (never published; used to hide them)."""
    rd = sources.get("marts.rating_distribution")
    schema = {
        "organization": pl.String,
        "cycle": pl.Int64,
        "measure": pl.String,
        "evaluator_id": pl.String,
        "_alike": pl.Boolean,
    }
    if rd is None or not {"grouping", "unit", "count"} <= set(rd.columns):
        return pl.DataFrame(schema=schema)
    return (
        rd.filter(pl.col("grouping") == "evaluator")
        .group_by("organization", "cycle", "measure", "unit")
        .agg(((pl.col("count") > 0).sum() <= 1).alias("_alike"))
        .rename({"unit": "evaluator_id"})
        .cast(schema)  # type: ignore[arg-type]
    )


UNIT_COLUMNS = (
    "organization", "cycle", "measure", "grouping", "unit", "n", "adjusted_mean", "org_mean", "funnel_sd",
    "funnel_lo_95", "funnel_hi_95", "funnel_lo_998", "funnel_hi_998", "funnel_position", "effect_size",
    "q_value", "q_adjusted", "status", "flag", "direction", "differentiation", "org_differentiation",
)  # fmt: skip
UNIT_STATS = [
    c
    for c in UNIT_COLUMNS
    if c
    not in ("organization", "cycle", "measure", "grouping", "unit", "org_mean", "org_differentiation", "n")
]


def _units(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Department and function-level deviation (funnel) for units whose distribution is visible (only the
    flag and its direction otherwise); the differentiation index of evaluators with at least k people who did
    not all get the same rating."""
    ud = _need(sources, "marts.unit_deviation", ("organization", "cycle", "measure", "grouping", "unit", "n"))
    ud = ud.filter(pl.col("grouping").is_in(["department", "function_level", "evaluator"]))
    ud = ud.select([c for c in UNIT_COLUMNS if c in ud.columns])
    units = (
        ud.filter(pl.col("grouping") != "evaluator")
        .join(_unit_visibility(done), on=["organization", "cycle", "measure", "grouping", "unit"], how="left")
        .with_columns(pl.col("unit_visible").fill_null(False))
    )
    # A hidden unit keeps only its verdict (flagged, higher or lower): a yes/no from a test on at least
    # metrics.min_n_flag people, with no number a reader could put into an equation.
    verdict = ("flag", "direction", "status")
    units = (
        _hide(units, ~pl.col("unit_visible"), [*(c for c in UNIT_STATS if c not in verdict), "n"])
        .with_columns((~pl.col("unit_visible")).alias(SUPPRESSED))
        .drop("unit_visible")
    )
    alike = _homogeneous_evaluators(sources).rename({"evaluator_id": "unit"})
    evaluators = ud.filter(pl.col("grouping") == "evaluator").join(
        alike, on=["organization", "cycle", "measure", "unit"], how="left"
    )
    hidden = (pl.col("n") < limits.k) | pl.col("_alike").fill_null(True)
    # Evaluators: only the (non-linear) differentiation index; means would add equations on hidden cells.
    evaluators = _hide(evaluators, pl.lit(True), [c for c in UNIT_STATS if c != "differentiation"])
    evaluators = _hide(
        evaluators.with_columns(hidden.alias(SUPPRESSED)), pl.col(SUPPRESSED), ["differentiation", "n"]
    ).drop("_alike")
    frame = pl.concat([units, evaluators], how="diagonal_relaxed")
    return ProtectedTable(frame=frame, cells=frame.height, hidden=int(frame[SUPPRESSED].sum()))


LENIENCY_RULE = TableRule(
    by=("organization", "cycle", "measure"),
    dims=("evaluator_id",),
    n="n_cycle",
    totals=("evaluator_id",),
    protect=(
        "n",
        "effect",
        "ci_lo",
        "ci_hi",
        "effect_sd",
        "is_linked",
        "assessment",
        "flag",
        "component_size",
    ),
    homogeneous=pl.col("_alike"),
)


def _leniency(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Evaluator effects (shrunk, with interval) of evaluators with at least k people this cycle who did not
    all get the same rating; complementary suppression over the evaluators of the organisation."""
    cols = ("organization", "cycle", "measure", "evaluator_id", "n_cycle", "effect", "ci_lo", "ci_hi")
    le = _need(sources, "marts.evaluator_leniency", cols)
    keep = [
        c
        for c in (*cols, "n", "effect_sd", "is_linked", "assessment", "flag", "component_size")
        if c in le.columns
    ]
    le = le.select(keep).join(
        _homogeneous_evaluators(sources), on=["organization", "cycle", "measure", "evaluator_id"], how="left"
    )
    le = le.with_columns(pl.col("_alike").fill_null(False))
    protected = protect(le, LENIENCY_RULE, limits)
    frame = protected.frame.filter(pl.col("evaluator_id").is_not_null()).drop("_alike", strict=False)
    departments = sources.get(EVALUATOR_DEPARTMENTS)
    if departments is not None and {"organization", "cycle", "evaluator_id", "department"} <= set(
        departments.columns
    ):
        frame = frame.join(
            departments.select("organization", "cycle", "evaluator_id", "department"),
            on=["organization", "cycle", "evaluator_id"],
            how="left",
        )
    else:
        protected.notes.append(
            "evaluator_leniency has no department: evaluators cannot be placed in calibration packs"
        )
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("department"))
    protected.frame = frame
    return protected


TRANSITIONS_RULE = TableRule(
    by=("organization", "measure", "from_cycle", "to_cycle"),
    dims=("from_rating", "to_rating"),
    n="count",
    totals=("from_rating", "to_rating"),
    category="to_rating",
    complete=True,
    # The column totals (how many of the people rated in both cycles got each code in the later one): the
    # page shows the cells as shares of their row and the grand total, never a column total. An unknown.
    unpublished=pl.col("from_rating").is_null() & pl.col("to_rating").is_not_null(),
)


def with_margin_shares(
    frame: pl.DataFrame, rule: TableRule, dim: str, total: str, excluded: str
) -> pl.DataFrame:
    """Each row of a table from :func:`margins_over_shown` with its margin over `dim` as the page divides by it
    (`total`: exact, or over the shown cells where `excluded` is True, "excl. n < k") and its `share` of it."""
    keys = [k for k in (*rule.by, *rule.dims) if k != dim]
    margins = frame.filter(pl.col(dim).is_null()).select(
        *keys, pl.col(SHOWN_TOTAL).alias(total), pl.col(EXCLUDES_HIDDEN).alias(excluded)
    )
    return frame.join(margins, on=keys, how="left", nulls_equal=True).with_columns(
        pl.when(pl.col(rule.n).is_not_null() & (pl.col(total) > 0))
        .then(pl.col(rule.n) / pl.col(total))
        .alias("share")
    )


def _transitions(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """How the people rated in both of two consecutive cycles moved between codes."""
    cols = ("organization", "measure", "from_cycle", "to_cycle", "from_rating", "to_rating", "count")
    tr = _need(sources, "marts.rating_transitions", cols).select(cols)
    # A row's people (everyone with that code in the first cycle), where publishing their number would cost a
    # complement, over the shown cells ("excl. n < k"; `row_excl`).
    protected = protect_margins_over_shown(tr, TRANSITIONS_RULE, limits, "to_rating")
    frame = margins_over_shown(protected.frame, TRANSITIONS_RULE, "to_rating")
    protected.frame = with_margin_shares(
        frame, TRANSITIONS_RULE, "to_rating", "row_n", "row_excl"
    ).with_columns(pl.col("to_cycle").alias("cycle"))
    return protected


DRIFT_COLUMNS = (
    "organization", "measure", "grouping", "unit", "from_cycle", "to_cycle", "n_from", "n_to", "mean_from",
    "mean_to", "drift", "drift_lo", "drift_hi", "trend", "n_stayers", "mean_change_stayers", "change_se_stayers",
)  # fmt: skip


def _drift(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Change of the mean score between consecutive cycles: the organisation, and departments whose
    distributions are visible in both cycles (their means follow from those distributions)."""
    dr = _need(
        sources,
        "marts.rating_drift",
        ("organization", "measure", "grouping", "unit", "from_cycle", "to_cycle", "drift"),
    )
    dr = dr.select([c for c in DRIFT_COLUMNS if c in dr.columns]).filter(
        pl.col("grouping").is_in(["organization", "department"])
    )
    vis = _unit_visibility(done).filter(pl.col("grouping") == "department")
    dr = dr.join(
        vis.select(
            "organization",
            "measure",
            "unit",
            pl.col("cycle").alias("from_cycle"),
            pl.col("unit_visible").alias("_vf"),
        ),
        on=["organization", "measure", "unit", "from_cycle"],
        how="left",
    ).join(
        vis.select(
            "organization",
            "measure",
            "unit",
            pl.col("cycle").alias("to_cycle"),
            pl.col("unit_visible").alias("_vt"),
        ),
        on=["organization", "measure", "unit", "to_cycle"],
        how="left",
    )
    org = pl.col("grouping") == "organization"
    shown = org | (pl.col("_vf").fill_null(False) & pl.col("_vt").fill_null(False))
    stats_cols = ["n_from", "n_to", "mean_from", "mean_to", "drift", "drift_lo", "drift_hi", "trend"]
    frame = _hide(dr, ~shown, stats_cols).with_columns((~shown).alias(SUPPRESSED))
    # Stayers are a subset nobody else publishes: only organisation-wide, and only from k people.
    frame = _hide(
        frame,
        ~org | (pl.col("n_stayers").fill_null(0) < limits.k),
        ["n_stayers", "mean_change_stayers", "change_se_stayers"],
    )
    frame = frame.drop("_vf", "_vt").with_columns(pl.col("to_cycle").alias("cycle"))
    return ProtectedTable(frame=frame, cells=frame.height, hidden=int(frame[SUPPRESSED].sum()))


WORKLIST_COLUMNS = (
    "organization", "cycle", "department", "employee_id", "evaluator_id", "function_level", "measure", "rating",
    "previous_rating", "reason_code", "rule", "reason_nl", "reason_en",
)  # fmt: skip


def _worklist(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The calibration worklist: pseudonymised cases for the meeting (confidential; no names, no raw ids)."""
    wl = _need(
        sources,
        "marts.calibration_worklist",
        ("organization", "cycle", "department", "employee_id", "reason_code"),
    )
    frame = wl.select([c for c in WORKLIST_COLUMNS if c in wl.columns])
    return ProtectedTable(
        frame=frame, cells=frame.height, notes=["row-level and confidential: pseudonymised ids only"]
    )
