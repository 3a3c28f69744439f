"""Valid canonical rows per table, to build small exports in tests (one dict per row, all text cells)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

VALID_ROWS: dict[str, dict[str, str]] = {
    "evaluations": {
        "organization": "zeeland-demo",
        "cycle": "2024",
        "employee_id": "000123",
        "department": "Financiën",
        "function_level": "S08",
        "evaluator_id": "000900",
        "rating": "normaal",
        "grade": "7",
        "employment_type": "contractueel",
        "gender": "F",
        "birth_year": "1980",
        "fte": "0.8",
        "conversation_date": "2025-02-01",
        "at_scale_maximum": "false",
    },
    "awards": {
        "organization": "zeeland-demo",
        "cycle": "2024",
        "employee_id": "000123",
        "award_type": "output_bonus",
        "pct": "3",
        "argumentation": "Extra inzet",
    },
    "payroll": {
        "organization": "zeeland-demo",
        "cycle": "2024",
        "employee_id": "000123",
        "salary_scale": "8",
        "annual_salary": "41000.50",
        "fte": "1",
    },
    "salary_scales": {
        "organization": "zeeland-demo",
        "salary_scale": "8",
        "point": "minimum",
        "annual_amount": "30000",
    },
}


def canonical_csv(kind: str, rows: list[dict[str, str]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_canonical(inbox: Path, kind: str, rows: list[dict[str, str]], suffix: str = "") -> Path:
    organization = rows[0].get("organization", "zeeland-demo") if rows else "zeeland-demo"
    path = inbox / f"{organization}_{kind}{suffix}.csv"
    path.write_text(canonical_csv(kind, rows), encoding="utf-8")
    return path


def employees(kind: str, count: int, **overrides: str) -> list[dict[str, str]]:
    """`count` valid rows with distinct employee numbers."""
    rows = []
    for number in range(count):
        row = dict(VALID_ROWS[kind]) | overrides
        if "employee_id" in row:
            row["employee_id"] = f"{100000 + number:06d}"
        if kind == "salary_scales":
            row["salary_scale"] = str(number + 1)
        rows.append(row)
    return rows
