"""Canonical evaluations turned into integer-coded arrays, once, for every calibration mart.

The marts run on a million evaluation rows in a few seconds, so strings are encoded to dense integer codes
once per organisation (codes follow the sorted names, so "sorted by code" is "sorted by name"), and every
count, sum and mean after that is a ``numpy.bincount`` over a combined integer key — no per-row Python and no
repeated string group-bys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import polars as pl
from numpy.typing import NDArray

from models.calibration._scales import (
    CROSS_SEPARATOR,
    GROUPINGS,
    RATING,
    SALARY_DECISION,
    CalibrationSettings,
    Measure,
    measures,
)
from models.policy import Policy

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

ID_COLUMNS = {
    "emp": "employee_id",
    "eva": "evaluator_id",
    "sec": "second_evaluator_id",
    "dept": "department",
    "lvl": "function_level",
}


def encode(series: pl.Series) -> tuple[IntArray, pl.Series]:
    """Dense integer codes (-1 for null) and the sorted distinct names they index."""
    s = series.cast(pl.String)
    names = s.drop_nulls().unique().sort()
    if names.len() == 0:
        return np.full(s.len(), -1, dtype=np.int64), names
    codes = s.cast(pl.Enum(names.to_list())).to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
    return np.asarray(codes, dtype=np.int64), names


def unique_sorted(values: IntArray) -> IntArray:
    """Sorted distinct values (numpy's hash-based np.unique is far slower on large integer arrays)."""
    a = np.sort(np.asarray(values))
    if a.size == 0:
        return a
    return a[np.concatenate([[True], a[1:] != a[:-1]])]


def dense_codes(values: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted distinct values of non-negative integer keys and, per value, its index among them."""
    v = np.asarray(values, dtype=np.int64)
    if v.size == 0:
        return v, v
    top = int(v.max())
    if int(v.min()) >= 0 and top <= 4 * v.size + 1_000_000:  # a lookup table beats a search
        seen = np.zeros(top + 1, dtype=bool)
        seen[v] = True
        distinct = np.flatnonzero(seen)
        index = np.cumsum(seen, dtype=np.int64) - 1
        return distinct.astype(np.int64), index[v]
    distinct = unique_sorted(v)
    return distinct, np.searchsorted(distinct, v).astype(np.int64)


def finish(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select and type a mart's columns; NaN (undefined: no test, no interval) becomes SQL NULL."""
    return frame.select(list(schema)).cast(schema).with_columns(pl.col(pl.Float64).fill_nan(None))  # type: ignore[arg-type]


@dataclass
class MeasureRows:
    """The rows of one organisation that carry a code on one measure's scale."""

    measure: Measure
    cycle: IntArray  # index into OrgData.cycles
    eva: IntArray
    dept: IntArray
    lvl: IntArray
    k: IntArray  # category, 0 = lowest
    score: FloatArray
    row: IntArray  # index into the organisation's evaluation rows
    org_codes: Callable[[str], IntArray]  # OrgData.codes: an ID column's codes for every evaluation row

    @cached_property
    def emp(self) -> IntArray:
        return self.org_codes("emp")[self.row]

    @cached_property
    def sec(self) -> IntArray:
        """Second evaluator (-1 where there is none)."""
        return self.org_codes("sec")[self.row]

    @property
    def size(self) -> int:
        return int(self.k.size)

    @property
    def scores(self) -> FloatArray:
        return np.asarray(self.measure.scores, dtype=np.float64)

    def subset(self, mask: NDArray[np.bool_]) -> MeasureRows:
        return MeasureRows(
            self.measure,
            self.cycle[mask],
            self.eva[mask],
            self.dept[mask],
            self.lvl[mask],
            self.k[mask],
            self.score[mask],
            self.row[mask],
            self.org_codes,
        )


@dataclass
class OrgData:
    """One organisation's evaluations, encoded.

    The ID columns are encoded when first asked for (:meth:`codes`, :meth:`names`): employee ids are by far
    the most expensive to encode and only the transitions, leniency and worklist marts need them.
    """

    org: str
    policy: Policy
    settings: CalibrationSettings
    cycles: IntArray  # sorted distinct cycles (years)
    frame: pl.DataFrame  # the organisation's evaluation rows
    assign_cycle: IntArray  # every evaluation row (rated or not): cycle index
    argued: NDArray[np.bool_]  # per evaluation row: both argumentation aspects present (Z-8)
    rows: list[MeasureRows] = field(default_factory=list)
    off_scale: int = 0  # rows with a rating not on the policy's scale
    _encoded: dict[str, tuple[IntArray, pl.Series]] = field(default_factory=dict, repr=False)

    def _encoding(self, key: str) -> tuple[IntArray, pl.Series]:
        if key not in self._encoded:
            column = ID_COLUMNS[key]
            if column in self.frame.columns:
                self._encoded[key] = encode(self.frame[column])
            else:
                self._encoded[key] = (
                    np.full(self.frame.height, -1, dtype=np.int64),
                    pl.Series([], dtype=pl.String),
                )
        return self._encoded[key]

    def codes(self, key: str) -> IntArray:
        """Code of every evaluation row (-1: null) in an ID column (a key of ID_COLUMNS)."""
        return self._encoding(key)[0]

    def names(self, key: str) -> pl.Series:
        """The sorted distinct names the codes of an ID column index."""
        return self._encoding(key)[1]

    def size(self, key: str) -> int:
        return int(self.names(key).len())

    def units(self, rows: MeasureRows, grouping: str) -> tuple[IntArray, int]:
        """Unit code of every row in a grouping, and the number of possible units."""
        if grouping == "organization":
            return np.zeros(rows.size, dtype=np.int64), 1
        if grouping == "department":
            return rows.dept, self.size("dept")
        if grouping == "function_level":
            return rows.lvl, self.size("lvl")
        if grouping == "department_function_level":
            n_lvl = self.size("lvl")
            return rows.dept * n_lvl + rows.lvl, self.size("dept") * n_lvl
        if grouping == "evaluator":
            return rows.eva, self.size("eva")
        raise ValueError(f"unknown grouping {grouping!r}")

    def unit_names(self, grouping: str, codes: IntArray) -> pl.Series:
        idx = pl.Series(np.asarray(codes, dtype=np.int64))
        if grouping == "organization":
            return pl.Series([self.org] * len(codes), dtype=pl.String)
        if grouping == "department":
            return self.names("dept").gather(idx)
        if grouping == "function_level":
            return self.names("lvl").gather(idx)
        if grouping == "department_function_level":
            n_lvl = self.size("lvl")
            frame = pl.DataFrame(
                {
                    "d": self.names("dept").gather(idx // n_lvl),
                    "l": self.names("lvl").gather(idx % n_lvl),
                }
            )
            return frame.select(pl.concat_str(["d", pl.lit(CROSS_SEPARATOR), "l"])).to_series()
        if grouping == "evaluator":
            return self.names("eva").gather(idx)
        raise ValueError(f"unknown grouping {grouping!r}")


def _blank(frame: pl.DataFrame, column: str) -> pl.Expr:
    if column not in frame.columns:
        return pl.lit(True)
    return pl.col(column).cast(pl.String).str.strip_chars().fill_null("") == ""


def _measure_codes(frame: pl.DataFrame, m: Measure) -> IntArray:
    """Category k of every row (-1: no code on this measure's scale)."""
    if m.name == RATING:
        if "rating" not in frame.columns:
            return np.full(frame.height, -1, dtype=np.int64)
        k = frame["rating"].cast(pl.String).cast(pl.Enum(list(m.codes)), strict=False).to_physical()
        return np.asarray(k.cast(pl.Int64).fill_null(-1).to_numpy(), dtype=np.int64)
    if m.name == SALARY_DECISION:
        if "salary_decision" not in frame.columns:
            return np.full(frame.height, -1, dtype=np.int64)
        lookup = {c: i for i, c in enumerate(m.codes)}
        decision = (
            frame["salary_decision"]
            .cast(pl.Int64)
            .cast(pl.String)
            .replace_strict(lookup, default=None, return_dtype=pl.Int64)
        )
        codes = np.asarray(decision.fill_null(-1).to_numpy(), dtype=np.int64)
        if m.system is not None and "salary_system" in frame.columns:
            other = (frame["salary_system"].is_not_null() & (frame["salary_system"] != m.system)).to_numpy()
            codes = np.where(other, -1, codes)
        return codes
    raise ValueError(f"unknown measure {m.name!r}")


def prepare(evaluations: pl.DataFrame, policies: Mapping[str, Policy]) -> list[OrgData]:
    """Encode the evaluations of every organisation that has a policy (others are left out).

    ``evaluations`` has the canonical columns of staging.evaluations (at least organization, cycle,
    employee_id, department, function_level, evaluator_id, rating; salary_decision, salary_system,
    second_evaluator_id and the argumentation columns where present). A null code (no rating, e.g. Z-11
    leave; no salary decision outside the evaluation-based system) is not an observation, and neither is a
    code that is not on the policy's scale (the contract quarantines those; they are counted in off_scale).
    """
    out: list[OrgData] = []
    for org, policy in sorted(policies.items()):
        frame = evaluations.filter(pl.col("organization") == org)
        if frame.height == 0:
            continue
        cycles_all = frame["cycle"].cast(pl.Int64).to_numpy()
        cycles = unique_sorted(cycles_all)
        cycle_idx = np.searchsorted(cycles, cycles_all).astype(np.int64)
        argued = frame.select(~(_blank(frame, "argument_competences") | _blank(frame, "argument_results")))
        data = OrgData(
            org=org,
            policy=policy,
            settings=CalibrationSettings.from_policy(policy),
            cycles=cycles.astype(np.int64),
            frame=frame,
            assign_cycle=cycle_idx,
            argued=argued.to_series().to_numpy().astype(bool),
        )
        # an observation needs an employee, an evaluator, a department and a function level
        needed = [ID_COLUMNS[key] for key in ("emp", "eva", "dept", "lvl")]
        valid = (
            frame.select(pl.all_horizontal(pl.col(c).is_not_null() for c in needed)).to_series().to_numpy()
            if all(c in frame.columns for c in needed)
            else np.zeros(frame.height, dtype=bool)
        )
        for m in measures(policy):
            k = _measure_codes(frame, m)
            if m.name == RATING and "rating" in frame.columns:
                data.off_scale = int((frame["rating"].is_not_null().to_numpy() & (k < 0)).sum())
            keep = np.flatnonzero((k >= 0) & valid)
            kk = k[keep]
            data.rows.append(
                MeasureRows(
                    measure=m,
                    cycle=cycle_idx[keep],
                    eva=data.codes("eva")[keep],
                    dept=data.codes("dept")[keep],
                    lvl=data.codes("lvl")[keep],
                    k=kk,
                    score=np.asarray(m.scores, dtype=np.float64)[kk],
                    row=keep.astype(np.int64),
                    org_codes=data.codes,
                )
            )
        out.append(data)
    return out


@dataclass
class UnitCounts:
    """Counts per cycle × unit × category of one grouping (shared by several marts)."""

    grouping: str
    counts: NDArray[np.int64]  # (cycles, units, K)
    unit_of_row: IntArray
    n_units: int


def unit_counts(org: OrgData, rows: MeasureRows) -> dict[str, UnitCounts]:
    n_cycles, n_cat = org.cycles.size, rows.measure.k
    out = {}
    for grouping in GROUPINGS:
        unit, n_units = org.units(rows, grouping)
        key = (rows.cycle * n_units + unit) * n_cat + rows.k
        counts = np.bincount(key, minlength=n_cycles * n_units * n_cat).reshape(n_cycles, n_units, n_cat)
        out[grouping] = UnitCounts(grouping, counts.astype(np.int64), unit, n_units)
    return out
