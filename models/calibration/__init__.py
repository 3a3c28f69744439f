"""Calibration metrics (issue 3): where ratings depart from an organisation's norm, whether that is more than
chance, and which cases a calibration meeting should discuss (DOMAIN.md Z-10; PLOEG evaluations, F-3).

Pure functions from canonical ``staging.evaluations`` rows and the organisations' policies to the marts; no
Dagster, no plotting, no I/O. Every scale, threshold and minimum n comes from the policy (see
``CalibrationSettings``), so any scale a policy defines works, including ones that exist only in a new file.
Each mart function takes ``(evaluations, policies)``; ``calibration_marts`` computes all of them from one
encoding of the data (what the Dagster assets use).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from models.calibration._data import OrgData, prepare, unit_counts
from models.calibration._homogeneity import FamilyTests, McBudget, exact_distribution, family_tests
from models.calibration._scales import (
    GROUPINGS,
    RATING,
    SALARY_DECISION,
    CalibrationSettings,
    Measure,
    measures,
)
from models.calibration.deviation import SCHEMA as UNIT_DEVIATION_SCHEMA
from models.calibration.deviation import deviation_frames, sort_units, unit_deviation
from models.calibration.distribution import SCHEMA as RATING_DISTRIBUTION_SCHEMA
from models.calibration.distribution import combine as combine_distribution
from models.calibration.distribution import distribution_frames, rating_distribution
from models.calibration.leniency import SCHEMA as EVALUATOR_LENIENCY_SCHEMA
from models.calibration.leniency import evaluator_leniency
from models.calibration.transitions import DRIFT_SCHEMA, TRANSITION_SCHEMA, rating_drift, rating_transitions
from models.calibration.worklist import REASONS, calibration_worklist
from models.calibration.worklist import SCHEMA as WORKLIST_SCHEMA
from models.policy import Policy

MART_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "rating_distribution": RATING_DISTRIBUTION_SCHEMA,
    "unit_deviation": UNIT_DEVIATION_SCHEMA,
    "evaluator_leniency": EVALUATOR_LENIENCY_SCHEMA,
    "rating_transitions": TRANSITION_SCHEMA,
    "rating_drift": DRIFT_SCHEMA,
    "calibration_worklist": WORKLIST_SCHEMA,
}


def calibration_marts(evaluations: pl.DataFrame, policies: Mapping[str, Policy]) -> dict[str, pl.DataFrame]:
    """All six calibration marts from one encoding of the evaluations (same results as the single functions)."""
    orgs = prepare(evaluations, policies)
    dist: list[pl.DataFrame] = []
    dev: list[pl.DataFrame] = []
    for org in orgs:
        for i, rows in enumerate(org.rows):
            counts = unit_counts(org, rows)
            dist += distribution_frames(org, i, counts)
            dev += deviation_frames(org, rows, counts)
    out = {
        "rating_distribution": combine_distribution(dist),
        "unit_deviation": sort_units(pl.concat(dev)) if dev else pl.DataFrame(schema=UNIT_DEVIATION_SCHEMA),
        "evaluator_leniency": evaluator_leniency(evaluations, policies, prepared=orgs),
        "rating_transitions": rating_transitions(evaluations, policies, prepared=orgs),
        "rating_drift": rating_drift(evaluations, policies, prepared=orgs),
    }
    out["calibration_worklist"] = calibration_worklist(
        evaluations, policies, out["evaluator_leniency"], prepared=orgs
    )
    return out


__all__ = [
    "GROUPINGS",
    "MART_SCHEMAS",
    "RATING",
    "REASONS",
    "SALARY_DECISION",
    "CalibrationSettings",
    "FamilyTests",
    "McBudget",
    "Measure",
    "OrgData",
    "calibration_marts",
    "calibration_worklist",
    "evaluator_leniency",
    "exact_distribution",
    "family_tests",
    "measures",
    "prepare",
    "rating_distribution",
    "rating_drift",
    "rating_transitions",
    "unit_deviation",
]
