"""The Article 10 joint pay assessment of Directive (EU) 2023/970, kept as data per organisation and cycle
(``marts.pay_assessment``).

Where the pay transparency report shows a difference in average pay of at least 5% in a category of workers
that the employer has not justified by objective, gender-neutral criteria and not remedied within six months of
the report (Art. 10(1)), the employer carries out a joint pay assessment with the workers' representatives.
What it must contain is Art. 10(2)(a)–(g) (:data:`ITEMS`). HR keeps where it stands in one YAML file per
organisation, ``pay_assessments/<organisation>.yaml`` beside calibra.yaml::

    organization: zeeland-demo
    assessments:
      - cycle: 2024                       # the cycle of the Art. 9 figures that showed the gap
        categories: [S16]                 # categories of workers concerned
        status: in_progress               # see STATUSES
        report_date: 2025-06-07           # submission of the pay transparency report
        justification_deadline: null      # default: report date + 6 months (Art. 10(1)(c))
        assessment_deadline: 2026-03-01   # the organisation's own date for the assessment
        items:                            # Art. 10(2)(a)-(g): status todo | in_progress | done, and a note
          a: {status: done, note: 'Shares of women and men per category: marts.pay_transparency.'}
        corrective_action: {description: '...', deadline: 2026-06-30}
        second_measurement: {due: 2026-12-31, date: null, gap: null}   # after the corrective action

The file holds no personal data (categories, dates, statuses); every item the file leaves out is ``todo``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from models.config import read_yaml
from models.errors import ConfigError

ITEMS: dict[str, str] = {
    "a": "analysis of the proportion of female and male workers in each category of workers",
    "b": "information on average pay levels and complementary or variable components per category",
    "c": "any differences in average pay levels between female and male workers per category",
    "d": "the reasons for such differences, on objective, gender-neutral criteria, if any",
    "e": "the proportion of female and male workers who benefited from a pay improvement after leave",
    "f": "measures to address differences in pay if they are not justified",
    "g": "an evaluation of the effectiveness of measures from previous joint pay assessments",
}
STATUSES = (
    "not_required",
    "required",
    "in_progress",
    "completed",
    "corrective_action",
    "second_measurement",
    "closed",
)
ITEM_STATUSES = ("todo", "in_progress", "done")
FOLDER = "pay_assessments"

SCHEMA: dict[str, Any] = {
    "organization": pl.String,
    "cycle": pl.Int64,
    "categories": pl.String,
    "status": pl.String,
    "report_date": pl.Date,
    "justification_deadline": pl.Date,
    "assessment_deadline": pl.Date,
    "corrective_action": pl.String,
    "corrective_action_deadline": pl.Date,
    "second_measurement_due": pl.Date,
    "second_measurement_date": pl.Date,
    "second_measurement_gap": pl.Float64,
    "item": pl.String,
    "article": pl.String,
    "item_status": pl.String,
    "item_note": pl.String,
}


def empty_assessments() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day where it is shorter)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def _text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise ConfigError(f"{where} must be text")
    return str(value)[:2000]


def assessment_rows(raw: Any, where: str, organization: str | None = None) -> pl.DataFrame:
    """One row per Art. 10(2) item of every assessment in a parsed file (checked; ConfigError names the
    field)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} is not a mapping")
    org = str(raw.get("organization") or "")
    if not org or (organization is not None and org != organization):
        raise ConfigError(f"{where}: organization must be {organization or 'set'}")
    entries = raw.get("assessments") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: assessments is a list")
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for i, entry in enumerate(entries, start=1):
        at = f"{where}, assessment {i}"
        if not isinstance(entry, Mapping) or "cycle" not in entry:
            raise ConfigError(f"{at}: needs a cycle")
        try:
            cycle = int(entry["cycle"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{at}: cycle must be a year") from exc
        if cycle in seen:
            raise ConfigError(f"{at}: cycle {cycle} is there twice")
        seen.add(cycle)
        status = str(entry.get("status", "required"))
        if status not in STATUSES:
            raise ConfigError(f"{at}: status must be one of {', '.join(STATUSES)}")
        categories = entry.get("categories") or []
        if not isinstance(categories, list):
            raise ConfigError(f"{at}: categories is a list")
        report = _date(entry.get("report_date"), f"{at}, report_date")
        justification = _date(entry.get("justification_deadline"), f"{at}, justification_deadline")
        if justification is None and report is not None:
            justification = add_months(report, 6)  # Art. 10(1)(c): six months after the report
        action = entry.get("corrective_action") or {}
        second = entry.get("second_measurement") or {}
        if not isinstance(action, Mapping) or not isinstance(second, Mapping):
            raise ConfigError(f"{at}: corrective_action and second_measurement are mappings")
        gap = second.get("gap")
        try:
            gap_value = float(gap) if gap is not None else None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{at}: second_measurement.gap must be a number (a fraction)") from exc
        items = entry.get("items") or {}
        if not isinstance(items, Mapping):
            raise ConfigError(f"{at}: items is a mapping of a..g")
        unknown = sorted(str(k) for k in items if str(k) not in ITEMS)
        if unknown:
            raise ConfigError(f"{at}: unknown items {unknown} (Art. 10(2) has a to g)")
        common = {
            "organization": org,
            "cycle": cycle,
            "categories": ", ".join(str(c) for c in categories),
            "status": status,
            "report_date": report,
            "justification_deadline": justification,
            "assessment_deadline": _date(entry.get("assessment_deadline"), f"{at}, assessment_deadline"),
            "corrective_action": _text(action.get("description"), f"{at}, corrective_action.description"),
            "corrective_action_deadline": _date(action.get("deadline"), f"{at}, corrective_action.deadline"),
            "second_measurement_due": _date(second.get("due"), f"{at}, second_measurement.due"),
            "second_measurement_date": _date(second.get("date"), f"{at}, second_measurement.date"),
            "second_measurement_gap": gap_value,
        }
        for item in ITEMS:
            spec = items.get(item) or {}
            if not isinstance(spec, Mapping):
                raise ConfigError(f"{at}, item {item}: a mapping with status and note")
            item_status = str(spec.get("status", "todo"))
            if item_status not in ITEM_STATUSES:
                raise ConfigError(f"{at}, item {item}: status must be one of {', '.join(ITEM_STATUSES)}")
            rows.append(
                {
                    **common,
                    "item": item,
                    "article": f"10(2)({item})",
                    "item_status": item_status,
                    "item_note": _text(spec.get("note"), f"{at}, item {item}, note"),
                }
            )
    return pl.DataFrame(rows, schema=SCHEMA) if rows else empty_assessments()


def load_assessments(directory: Path, organizations: list[str]) -> pl.DataFrame:
    """``marts.pay_assessment``: the files ``<directory>/<organisation>.yaml`` of the configured organisations
    (an organisation without a file has no rows)."""
    frames = []
    for org in sorted(organizations):
        path = directory / f"{org}.yaml"
        if path.is_file():
            frames.append(assessment_rows(read_yaml(path), f"pay assessment file {path.name}", org))
    frames = [f for f in frames if f.height]
    return pl.concat(frames) if frames else empty_assessments()
