"""Publication rule of marts.evaluator_report (issue 23): what of the evaluator report the site may show.

The report is per evaluator, so every number in it describes a team. It is protected with the disclosure
engine (``protect`` with a ``TableRule`` and the organisation's ``Thresholds``) and these rules:

* every row describes the window of cycles ending at its cycle (the mart's only grain);
* an evaluator row (organisation × cycle × measure × aspect × item) with 1 to k−1 ratings is hidden
  (``protect``'s small-cell rule on ``n``); so is every row of an evaluator who gave everyone the same
  category in that window (everyone alike: each member's rating would follow);
* a share at or above a cut point (and the central/extreme shares) is a count in disguise: where the count on
  either side of it is 1 to k−1 the shares, estimates and intervals are hidden and only the verdict (flag,
  direction, status) stays, as for units on the norming page;
* a count of fair-rating cases, of this cycle's ratings (``n_cycle``) or of a bias group (``n_group``) from 1
  to k−1 is hidden;
* agreement rows need k pairs.

There are no totals in this table (the organisation's share is a column, computed from all ratings), so
there is nothing to recompute a hidden cell from. Evaluators are shown by their pseudonym. The evaluator's
main department (``staging.evaluations`` aggregate of the publish step) places them in calibration packs.

Registered in models.releases.registry (management audience: the norming review; also shown on the packs).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from models.disclosure.engine import REASON, SMALL, SUPPRESSED, ProtectedTable, TableRule, Thresholds, protect
from models.releases.common import EVALUATOR_DEPARTMENTS, Missing, own_buffers

NAME = "evaluator_report"
SOURCE = "marts.evaluator_report"
KEY = ("organization", "cycle", "measure", "aspect", "item")
NUMBERS = (
    "observed", "expected", "adjusted_share", "adjusted_lo", "adjusted_hi", "org_share", "estimate", "ci_lo",
    "ci_hi", "raw_estimate", "raw_se", "effect_size", "p_value", "q_value", "infit", "outfit", "n_group",
)  # fmt: skip
VERDICT = ("flag", "direction", "status", "tau2_status", "pay_relevant", "estimate_basis")
COLUMNS = (
    *KEY, "evaluator_id", "window_first_cycle", "item_position", "n", "n_cycle", *NUMBERS, "tau2",
    "fair_cases", *VERDICT, "reason_nl", "reason_en",
)  # fmt: skip
# Sentences quote the numbers: they go wherever the numbers go.
SENTENCES = ("reason_nl", "reason_en")

EVALUATOR_REPORT_RULE = TableRule(
    by=KEY,
    dims=("evaluator_id",),
    n="n",
    protect=(*NUMBERS, "n_cycle", "tau2", "fair_cases", *VERDICT, *SENTENCES),
    homogeneous=pl.col("_alike"),
)


def _hide(frame: pl.DataFrame, mask: pl.Expr, columns: tuple[str, ...]) -> pl.DataFrame:
    return frame.with_columns(
        [pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in columns if c in frame.columns]
    )


def _evaluator_rows(evaluators: pl.DataFrame, limits: Thresholds) -> ProtectedTable:
    """The protected evaluator rows (evaluator_id set) of some cycles."""
    # Everyone alike: the evaluator's differentiation index is 0 in that window (one category only).
    alike = (
        evaluators.filter((pl.col("aspect") == "scale_use") & (pl.col("item") == "differentiation"))
        .select("organization", "cycle", "measure", "evaluator_id", (pl.col("observed") <= 1e-12).alias("_alike"))
    )  # fmt: skip
    evaluators = evaluators.join(
        alike, on=["organization", "cycle", "measure", "evaluator_id"], how="left", maintain_order="left"
    ).with_columns(pl.col("_alike").fill_null(False))
    k = limits.k
    # counts hidden in shares: at or above and below the cut (or in and out of the central/extreme category)
    yes = (pl.col("observed") * pl.col("n")).round(0)
    no = pl.col("n") - yes
    small_side = ((yes > 0) & (yes < k)) | ((no > 0) & (no < k))
    share_rows = (pl.col("aspect") == "cut_point") | (
        (pl.col("aspect") == "scale_use") & pl.col("item").is_in(["central", "extreme"])
    )
    numbers = tuple(c for c in NUMBERS if c != "n_group") + SENTENCES
    side_hidden = share_rows & small_side.fill_null(False)
    evaluators = _hide(evaluators.with_columns(side_hidden.alias("_side")), side_hidden, numbers)
    # other counts of people on an evaluator's row: fair cases, this cycle's ratings, a bias group's size
    evaluators = evaluators.with_columns(
        [
            pl.when((pl.col(c) > 0) & (pl.col(c) < k)).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("fair_cases", "n_cycle", "n_group")
            if c in evaluators.columns
        ]
    )
    evaluators = evaluators.with_columns(pl.col("n").cast(pl.Int64))
    protected = protect(evaluators, EVALUATOR_REPORT_RULE, limits)
    del evaluators
    shown = protected.frame.filter(pl.col("evaluator_id").is_not_null())
    side = pl.col("_side").fill_null(False)
    protected.frame = shown.with_columns(
        (pl.col(SUPPRESSED) | side).alias(SUPPRESSED),
        pl.when(side & pl.col(REASON).is_null()).then(pl.lit(SMALL)).otherwise(pl.col(REASON)).alias(REASON),
    ).drop("_alike", "_side", strict=False)
    return protected


def _with_departments(frame: pl.DataFrame, departments: pl.DataFrame | None) -> pl.DataFrame:
    if departments is None:
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias("department"))
    return frame.join(
        departments.select("organization", "cycle", "evaluator_id", "department"),
        on=["organization", "cycle", "evaluator_id"],
        how="left",
        maintain_order="left",
    )


# One cycle's rows of the source (every column of it, or at least COLUMNS) and the thresholds of its policy.
CyclePart = tuple[pl.DataFrame, Thresholds]


@dataclass
class ProtectedPart:
    """One part of the report protected (:func:`protect_part`): its evaluator rows (no department yet), its
    organisation rows and the counts the disclosure report adds up. A function of the part's rows and
    thresholds only, so a part whose rows did not change can be kept from an earlier run
    (pipelines/release_cache.py)."""

    evaluators: pl.DataFrame
    organisation: pl.DataFrame
    cells: int = 0
    hidden: int = 0
    large_cells: int = 0
    large_complements: int = 0
    large_remainders: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def protect_part(frame: pl.DataFrame, limits: Thresholds) -> ProtectedPart:
    """Rows of whole cycles of the source protected with their thresholds. The organisation rows get buffers of
    their own here; the evaluator rows when :func:`combine_parts` places them in departments."""
    absent = [c for c in (*KEY, "evaluator_id", "n") if c not in frame.columns]
    if absent:
        raise Missing(f"{SOURCE} lacks column(s) {', '.join(absent)}")
    frame = frame.select([c for c in COLUMNS if c in frame.columns])
    # Organisation rows (agreement over all changed evaluators) have no evaluator: protect treats a null
    # dimension as a total, so they are judged on their own n here.
    agreement = frame.filter(pl.col("evaluator_id").is_null())
    organisation = own_buffers(
        _hide(agreement, pl.col("n") < limits.k, (*NUMBERS, *SENTENCES)).with_columns(
            (pl.col("n") < limits.k).alias(SUPPRESSED)
        )
    )
    part = _evaluator_rows(frame.filter(pl.col("evaluator_id").is_not_null()), limits)
    del frame
    return ProtectedPart(
        evaluators=part.frame,
        organisation=organisation,
        cells=part.cells,
        hidden=part.hidden,
        large_cells=part.large_cells,
        large_complements=part.large_complements,
        large_remainders=part.large_remainders,
        reasons=dict(part.reasons),
        notes=list(part.notes),
    )


def combine_parts(
    parts: Iterable[ProtectedPart], departments: pl.DataFrame | None, notes: list[str] | None = None
) -> ProtectedTable:
    """The protected parts as one table: each part's evaluators placed in their main department, the counts
    added up, as :func:`release` publishes the whole table."""
    if departments is not None and not {"organization", "cycle", "evaluator_id", "department"} <= set(
        departments.columns
    ):
        departments = None
    out = ProtectedTable(frame=pl.DataFrame(), notes=list(notes or []))
    shown: list[pl.DataFrame] = []
    organisation: list[pl.DataFrame] = []
    reasons: Counter[str] = Counter()
    for part in parts:
        organisation.append(part.organisation)
        # a copy with buffers of its own, also of a part read back from the cache: skipping it there saved
        # 3 s of a site step whose 15 parts were all kept and cost 100 MB more at its peak (issue 21)
        shown.append(own_buffers(_with_departments(part.evaluators, departments)))
        out.cells += part.cells
        out.hidden += part.hidden
        out.large_cells += part.large_cells
        out.large_complements += part.large_complements
        out.large_remainders += part.large_remainders
        reasons.update(part.reasons)
        out.notes += [n for n in part.notes if n not in out.notes]
    if not shown:
        raise Missing(f"{SOURCE} has no rows")
    out.reasons = dict(reasons)
    if departments is None:
        out.notes.append(f"{NAME} has no department: evaluators cannot be placed in calibration packs")
    # The evaluator rows in key order (each part is sorted, and the parts come in cycle order), then the
    # organisation rows: as the whole table is published.
    out.frame = pl.concat(
        [*shown, _with_departments(pl.concat(organisation, how="diagonal_relaxed"), departments)],
        how="diagonal_relaxed",
    )
    return out


def release_cycles(
    parts: Iterable[CyclePart], departments: pl.DataFrame | None, notes: list[str] | None = None
) -> ProtectedTable:
    """The evaluator report protected one part at a time (each part: rows of whole cycles with their
    thresholds), as :func:`release` protects it whole. Every cell's partition (``KEY``) lies within one
    organisation and cycle and nothing is recomputed across rows, so protecting cycle by cycle hides exactly
    the cells protecting the whole table hides; only the working memory is one cycle's. `parts` may read each
    cycle when its turn comes (the site reads them from the database one at a time): the whole source is then
    never in memory, only the protected rows, each part with buffers of its own (a filtered string column
    otherwise keeps its cycle's whole source column alive)."""
    return combine_parts((protect_part(frame, limits) for frame, limits in parts), departments, notes)


def release(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The evaluator report as the calibration pack and the norming review may show it (one cycle at a time,
    :func:`release_cycles`)."""
    frame = sources.get(SOURCE)
    if frame is None:
        raise Missing(f"{SOURCE} is not in the database (yet)")
    absent = [c for c in (*KEY, "evaluator_id", "n") if c not in frame.columns]
    if absent:
        raise Missing(f"{SOURCE} lacks column(s) {', '.join(absent)}")
    cycles = frame.select("organization", "cycle").unique().sort(["organization", "cycle"], nulls_last=True)
    parts: Iterable[CyclePart] = (
        (frame.filter(pl.col("organization").eq_missing(o) & pl.col("cycle").eq_missing(c)), limits)
        for o, c in cycles.iter_rows()
    )
    if cycles.height == 0:  # no rows: the empty table, protected as it comes
        parts = [(frame, limits)]
    return release_cycles(parts, sources.get(EVALUATOR_DEPARTMENTS))
