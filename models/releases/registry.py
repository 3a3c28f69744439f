"""The registry: every published table, the module that builds it, its sources and its rule; publishing one
organisation or all of them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import polars as pl

from models.disclosure.engine import (
    ProtectedTable,
    TableRule,
    Thresholds,
)
from models.disclosure.recode import leave_out_small_groups, mark_left_out, small_groups
from models.disclosure.report import REPORT_SCHEMA, report_row
from models.releases.budget import (
    BUDGET_RULE,
    BY_TYPE_RULE,
    FORECAST_RULE,
    _budget,
    _budget_by_type,
    _forecast,
    _whatif,
)
from models.releases.calibration import (
    LENIENCY_RULE,
    RATINGS_RULE,
    TRANSITIONS_RULE,
    _leniency,
    _rating_scale,
    _ratings,
    _transitions,
    _worklist,
)
from models.releases.common import CONFIDENTIAL, PASS_THROUGH, Missing
from models.releases.derived import comparisons_need_counts
from models.releases.evaluators import NAME as EVALUATOR_REPORT
from models.releases.evaluators import SOURCE as EVALUATOR_REPORT_SOURCE
from models.releases.evaluators import release as _evaluator_report
from models.releases.fairness import _fairness, _pay_transparency
from models.releases.intersections import NAME as INTERSECTIONS
from models.releases.intersections import SOURCE as INTERSECTIONS_SOURCE
from models.releases.intersections import release as _intersections
from models.releases.management import (
    NORMING_RATINGS_RULE,
    _management_drift,
    _management_units,
    _norming_ratings,
)
from models.releases.meeting import FAIR_SOURCE, FAIR_WORKLIST, _fair_worklist, _pack_ratings
from models.releases.norming import (
    BEFORE_AFTER_RULE,
    BY_LEVEL,
    BY_LEVEL_SOURCE,
    MOVES_BY_DEPARTMENT_RULE,
    MOVES_BY_GROUP_RULE,
    _calibration_before_after,
    _calibration_moves_by_department,
    _calibration_moves_by_group,
    _calibration_moves_by_level,
    _calibration_spread,
)
from models.releases.pay_gap import (
    ASSESSMENT_SOURCE,
    COST_RULE,
    COST_SOURCE,
    PROJECTION_SOURCE,
    pay_assessment,
    pay_gap_cost,
    pay_gap_projection,
)
from models.releases.process import FINDINGS_RULE, _findings, _process

GENDER = "gender"


def _recoded(
    sources: dict[str, pl.DataFrame], names: tuple[str, ...], keys: list[str], limits: Thresholds
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """`sources` with the small gender categories outside the compared ones left out of `names` (decided on
    the first: its groups' n and count), and the groups left out (keys, attribute, group_value)."""
    first = sources.get(names[0])
    if first is None or not {*keys, "attribute", "group_value", "n"} <= set(first.columns):
        return sources, pl.DataFrame()
    left_out = small_groups(first, keys, GENDER, limits.compared_groups, limits.k)
    recoded = dict(sources)
    for name in names:
        if name in recoded and {*keys, "attribute", "group_value"} <= set(recoded[name].columns):
            recoded[name] = leave_out_small_groups(recoded[name], left_out, keys)
    return recoded, left_out


def _left_out_per_cycle(first: pl.DataFrame | None, keys: list[str], limits: Thresholds) -> pl.DataFrame:
    """The small gender categories outside the compared ones, left out of every outcome of a cycle when small in
    one of them (the rule the fairness mart applies: models.fairness.small_other_categories), as (keys,
    attribute, group_value) rows of `first` (marts.fairness)."""
    if first is None or not {*keys, "attribute", "group_value", "n"} <= set(first.columns):
        return pl.DataFrame()
    small = small_groups(first, keys, GENDER, limits.compared_groups, limits.k)
    if small.height == 0:
        return small
    per_cycle = small.select("organization", "cycle", "attribute", "group_value").unique()
    return (
        first.select(*keys, "attribute", "group_value")
        .unique()
        .join(per_cycle, on=["organization", "cycle", "attribute", "group_value"], how="semi")
    )


def _every_attribute(left_out: pl.DataFrame, first: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """`left_out` widened to every attribute of its (keys): the rows whose totals exclude the left-out people."""
    if left_out.height == 0:
        return left_out
    return (
        left_out.select(keys)
        .unique()
        .join(first.select(*keys, "attribute").unique(), on=keys)
        .with_columns(pl.lit(None, dtype=pl.String).alias("group_value"))
    )


def _fairness_release(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The fairness table (organisation release): small gender categories other than women and men left out
    (recoded, not hidden), `_fairness`, then comparisons only where their counts are published
    (models.releases.derived)."""
    keys = ["organization", "cycle", "outcome"]
    names = ("marts.fairness", "marts.fairness_strata")
    left_out = _left_out_per_cycle(sources.get(names[0]), keys, limits)
    recoded = dict(sources)
    for name in names:
        if name in recoded and {*keys, "attribute", "group_value"} <= set(recoded[name].columns):
            recoded[name] = leave_out_small_groups(recoded[name], left_out, keys)
    result = _fairness(recoded, limits, done)
    # The mart computes every other attribute without the left-out people (models.fairness.without_small_others):
    # each attribute's totals in those cycles exclude them, and its rows say so.
    result.frame = mark_left_out(result.frame, _every_attribute(left_out, sources[names[0]], keys), keys)
    result.recoded = left_out.height
    overall = (pl.col("scope") == "overall") & (pl.col("outcome_kind").fill_null("binary") == "binary")
    result.frame = comparisons_need_counts(
        result.frame,
        ["organization", "cycle", "outcome", "attribute"],
        rows=overall,
        strata=pl.col("scope") == "function_level",
    )
    return result


def _moves_by_group_release(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """Calibration moves per group: `_calibration_moves_by_group`, then comparisons only where their counts
    are published."""
    keys = ["organization", "period", "cycle", "direction"]
    sources, left_out = _recoded(sources, ("marts.calibration_moves",), keys, limits)
    result = _calibration_moves_by_group(sources, limits, done)
    result.frame = mark_left_out(result.frame, left_out.drop("period", strict=False), keys[:1] + keys[2:])
    result.recoded = left_out.filter(pl.col("period") == "cycle").height if left_out.height else 0
    result.frame = comparisons_need_counts(result.frame, ["organization", "cycle", "direction", "attribute"])
    return result


# ---------------------------------------------------------------------------------------------- the registry
Builder = Callable[[dict[str, pl.DataFrame], Thresholds, dict[str, pl.DataFrame]], ProtectedTable]

# Order matters: later tables may only publish what the earlier ones show (ratings first).
PUBLICATIONS: tuple[tuple[str, Builder], ...] = (
    ("ratings", _ratings),
    ("pack_ratings", _pack_ratings),
    ("norming_ratings", _norming_ratings),
    ("rating_scale", _rating_scale),
    ("units", _management_units),
    ("leniency", _leniency),
    ("transitions", _transitions),
    ("drift", _management_drift),
    ("worklist", _worklist),
    (FAIR_WORKLIST, _fair_worklist),
    ("fairness", _fairness_release),
    (INTERSECTIONS, _intersections),  # after fairness: its margins hidden there are hidden here
    ("pay_transparency", _pay_transparency),
    ("pay_gap_projection", pay_gap_projection),  # after pay_transparency: year 0 is its figure
    ("pay_gap_cost", pay_gap_cost),
    ("pay_assessment", pay_assessment),
    ("budget", _budget),
    ("budget_by_type", _budget_by_type),
    ("forecast", _forecast),
    ("whatif", _whatif),
    ("process", _process),
    ("findings", _findings),
    ("calibration_moves_by_department", _calibration_moves_by_department),
    ("calibration_before_after", _calibration_before_after),
    ("calibration_moves_by_group", _moves_by_group_release),
    (BY_LEVEL, _calibration_moves_by_level),
    ("calibration_spread", _calibration_spread),
    (EVALUATOR_REPORT, _evaluator_report),
)
# Which protected table is built from which source (for "not yet available" and the attacker test).
PUBLICATION_SOURCES: dict[str, tuple[str, ...]] = {
    "ratings": ("marts.rating_distribution",),
    "pack_ratings": ("marts.rating_distribution",),
    "norming_ratings": ("marts.rating_distribution",),
    "rating_scale": ("marts.rating_distribution",),
    "units": ("marts.unit_deviation", "marts.rating_distribution"),
    "leniency": ("marts.evaluator_leniency", "marts.rating_distribution"),
    "transitions": ("marts.rating_transitions",),
    "drift": ("marts.rating_drift", "marts.rating_distribution"),
    "worklist": ("marts.calibration_worklist",),
    FAIR_WORKLIST: (FAIR_SOURCE,),
    "fairness": ("marts.fairness", "marts.fairness_strata"),
    INTERSECTIONS: (INTERSECTIONS_SOURCE,),
    "pay_transparency": ("marts.pay_transparency",),
    "pay_gap_projection": (PROJECTION_SOURCE, "marts.pay_transparency"),
    "pay_gap_cost": (COST_SOURCE,),
    "pay_assessment": (ASSESSMENT_SOURCE,),
    "budget": ("marts.budget",),
    "budget_by_type": ("marts.budget_by_type",),
    "forecast": ("marts.budget_forecast",),
    "whatif": ("marts.budget_whatif", "marts.budget"),
    "process": ("marts.process_status",),
    "findings": ("marts.compliance_findings",),
    "calibration_moves_by_department": ("marts.calibration_impact",),
    "calibration_before_after": ("marts.calibration_distribution",),
    "calibration_moves_by_group": ("marts.calibration_moves",),
    BY_LEVEL: (BY_LEVEL_SOURCE,),
    "calibration_spread": ("marts.calibration_spread",),
    EVALUATOR_REPORT: (EVALUATOR_REPORT_SOURCE,),
}
# The rule each count table is protected with, for the attacker test (tables built with `protect`).
RULES: dict[str, TableRule] = {
    "ratings": RATINGS_RULE,
    "norming_ratings": NORMING_RATINGS_RULE,
    "transitions": TRANSITIONS_RULE,
    "budget": BUDGET_RULE,
    "budget_by_type": BY_TYPE_RULE,
    "pay_gap_cost": COST_RULE,
    "forecast": FORECAST_RULE,
    "findings": FINDINGS_RULE,
    "leniency": LENIENCY_RULE,
    "calibration_moves_by_department": MOVES_BY_DEPARTMENT_RULE,
    "calibration_before_after": BEFORE_AFTER_RULE,
    "calibration_moves_by_group": MOVES_BY_GROUP_RULE,
}


MEETING, MANAGEMENT, ORGANISATION = "meeting", "management", "organisation"
AUDIENCES = (MEETING, MANAGEMENT, ORGANISATION)
# Each table's page and audience (docs/privacy.md): the protection follows the site. A table shown only on
# management-site pages (calibration, norming) is protected for management, within itself, and neither forces
# nor is forced by the organisation release; the organisation release is exactly the tables of the
# organisation-site pages (fairness, budget, process), protected jointly among themselves. The meeting
# release (a department's unsuppressed counts, its cases) is shown on the meeting pack only (page "pack",
# written owner-only by pipelines/packs.py), never on a site: the management site's department pages read
# `ratings` (issue 16: the audiences taken literally).
PACK_PAGE = "pack"
PAGES: dict[str, tuple[str, str]] = {
    "ratings": ("calibration", MANAGEMENT),
    "pack_ratings": (PACK_PAGE, MEETING),
    "worklist": (PACK_PAGE, MEETING),
    FAIR_WORKLIST: (PACK_PAGE, MEETING),
    "norming_ratings": ("norming", MANAGEMENT),
    # Policy facts (codes, order, labels; no counts), read by the fairness page (the scale's top code) and by
    # the calibration pages (the management site gets every table).
    "rating_scale": ("fairness", ORGANISATION),
    "units": ("norming", MANAGEMENT),
    "leniency": ("norming", MANAGEMENT),
    "transitions": ("norming", MANAGEMENT),
    "drift": ("norming", MANAGEMENT),
    "calibration_moves_by_department": ("norming", MANAGEMENT),
    "calibration_before_after": ("norming", MANAGEMENT),
    "calibration_moves_by_group": ("norming", MANAGEMENT),
    BY_LEVEL: ("norming", MANAGEMENT),
    "calibration_spread": ("norming", MANAGEMENT),
    "fairness": ("fairness", ORGANISATION),
    INTERSECTIONS: ("fairness", ORGANISATION),
    "pay_transparency": ("fairness", ORGANISATION),
    "pay_gap_projection": ("fairness", ORGANISATION),
    "pay_gap_cost": ("fairness", ORGANISATION),
    "pay_assessment": ("fairness", ORGANISATION),
    "budget": ("budget", ORGANISATION),
    "budget_by_type": ("budget", ORGANISATION),
    "forecast": ("budget", ORGANISATION),
    "whatif": ("budget", ORGANISATION),
    "process": ("process", ORGANISATION),
    "findings": ("process", ORGANISATION),
    EVALUATOR_REPORT: ("norming", MANAGEMENT),
}


@dataclass
class Publication:
    """`report`: one row per organisation and table (models.disclosure.report.REPORT_SCHEMA)."""

    tables: dict[str, pl.DataFrame]
    notes: list[str] = field(default_factory=list)
    hidden: dict[str, int] = field(default_factory=dict)
    report: list[dict[str, object]] = field(default_factory=list)

    def report_frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.report, schema=REPORT_SCHEMA)


def organization_sources(sources: dict[str, pl.DataFrame], organization: str) -> dict[str, pl.DataFrame]:
    """One organisation's rows of every source that is protected (the pass-through tables are left out)."""
    return {
        name: frame.filter(pl.col("organization") == organization)
        if "organization" in frame.columns
        else frame
        for name, frame in sources.items()
        if name not in PASS_THROUGH
    }


def _organization_of(sources: dict[str, pl.DataFrame]) -> str:
    """The organisation whose rows `sources` hold (for the report)."""
    for frame in sources.values():
        if "organization" in frame.columns and frame.height:
            return str(frame["organization"][0])
    return ""


def protect_organization(
    sources: dict[str, pl.DataFrame], limits: Thresholds, include_worklist: bool = True
) -> Publication:
    """One organisation's published tables, protected with its thresholds. `sources` hold only that
    organisation's rows (:func:`organization_sources`). Organisations are protected independently of each
    other, so they can be protected side by side and merged with :func:`merge_publications`."""
    published = Publication(tables={})
    done: dict[str, pl.DataFrame] = {}
    for name, build in PUBLICATIONS:
        if name in CONFIDENTIAL and not include_worklist:
            continue
        try:
            result = build(sources, limits, done)
        except Missing as gap:
            note = f"{name}: {gap}"
            if note not in published.notes:
                published.notes.append(note)
            continue
        done[name] = result.frame
        if result.cut_points is not None:
            done[f"{name}_cut_points"] = result.cut_points
        published.tables[name] = result.frame
        published.hidden[name] = published.hidden.get(name, 0) + result.hidden
        page, audience = PAGES.get(name, ("", ORGANISATION))
        organization = _organization_of(sources)
        published.report.append(report_row(organization, name, page, audience, result))
        for note in result.notes:
            if f"{name}: {note}" not in published.notes:
                published.notes.append(f"{name}: {note}")
    return published


def merge_publications(sources: dict[str, pl.DataFrame], parts: Iterable[Publication]) -> Publication:
    """The pass-through tables of `sources` and the organisations' protected tables, in the order given."""
    published = Publication(tables={name: frame for name, frame in sources.items() if name in PASS_THROUGH})
    frames: dict[str, list[pl.DataFrame]] = {}
    for part in parts:
        for name, frame in part.tables.items():
            frames.setdefault(name, []).append(frame)
        published.report.extend(part.report)
        for name, hidden in part.hidden.items():
            published.hidden[name] = published.hidden.get(name, 0) + hidden
        published.notes.extend(note for note in part.notes if note not in published.notes)
    for name, found in frames.items():
        found = [p for p in found if p.width]
        if found:
            published.tables[name] = pl.concat(found, how="diagonal_relaxed")
    return published


def publish_tables(
    sources: dict[str, pl.DataFrame],
    limits: dict[str, Thresholds],
    include_worklist: bool = True,
) -> Publication:
    """Every published table, protected per organisation with that organisation's thresholds.

    `sources` are the whitelisted database tables (already aggregated where the mart is row-level);
    `limits` maps organisation id → Thresholds. A table whose source is missing or lacks a column is left
    out with a note (its page says "not yet available"); organisations without limits are left out."""
    return merge_publications(
        sources,
        (
            protect_organization(organization_sources(sources, organization), org_limits, include_worklist)
            for organization, org_limits in sorted(limits.items())
        ),
    )
