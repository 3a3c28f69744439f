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

import polars as pl

from models.disclosure.engine import REASON, SMALL, SUPPRESSED, ProtectedTable, TableRule, Thresholds, protect
from models.releases.common import EVALUATOR_DEPARTMENTS, Missing

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


def release(
    sources: dict[str, pl.DataFrame], limits: Thresholds, done: dict[str, pl.DataFrame]
) -> ProtectedTable:
    """The evaluator report as the calibration pack and the norming review may show it."""
    frame = sources.get(SOURCE)
    if frame is None:
        raise Missing(f"{SOURCE} is not in the database (yet)")
    absent = [c for c in (*KEY, "evaluator_id", "n") if c not in frame.columns]
    if absent:
        raise Missing(f"{SOURCE} lacks column(s) {', '.join(absent)}")
    frame = frame.select([c for c in COLUMNS if c in frame.columns])
    # Organisation rows (agreement over all changed evaluators) have no evaluator: protect treats a null
    # dimension as a total, so they are judged on their own n here.
    organisation = frame.filter(pl.col("evaluator_id").is_null())
    evaluators = frame.filter(pl.col("evaluator_id").is_not_null())
    # Everyone alike: the evaluator's differentiation index is 0 in that window (one category only).
    alike = (
        evaluators.filter((pl.col("aspect") == "scale_use") & (pl.col("item") == "differentiation"))
        .select("organization", "cycle", "measure", "evaluator_id", (pl.col("observed") <= 1e-12).alias("_alike"))
    )  # fmt: skip
    evaluators = evaluators.join(
        alike, on=["organization", "cycle", "measure", "evaluator_id"], how="left"
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
    shown = protected.frame.filter(pl.col("evaluator_id").is_not_null())
    side = pl.col("_side").fill_null(False)
    shown = shown.with_columns(
        (pl.col(SUPPRESSED) | side).alias(SUPPRESSED),
        pl.when(side & pl.col(REASON).is_null()).then(pl.lit(SMALL)).otherwise(pl.col(REASON)).alias(REASON),
    ).drop("_alike", "_side", strict=False)
    organisation = _hide(organisation, pl.col("n") < k, (*NUMBERS, *SENTENCES)).with_columns(
        (pl.col("n") < k).alias(SUPPRESSED)
    )
    out = pl.concat([shown, organisation], how="diagonal_relaxed")
    departments = sources.get(EVALUATOR_DEPARTMENTS)
    if departments is not None and {"organization", "cycle", "evaluator_id", "department"} <= set(
        departments.columns
    ):
        out = out.join(
            departments.select("organization", "cycle", "evaluator_id", "department"),
            on=["organization", "cycle", "evaluator_id"],
            how="left",
        )
    else:
        protected.notes.append(f"{NAME} has no department: evaluators cannot be placed in calibration packs")
        out = out.with_columns(pl.lit(None, dtype=pl.String).alias("department"))
    protected.frame = out
    return protected
