"""A third reward regime without code (issue 6).

tests/fixtures/third_regime/ holds everything a new organisation brings: a calibra.yaml naming it, its policy
(an invented municipality on a 4-point scale with its own raise percentages, no incidental rewards and other
deadlines, rule ids G-1..G-6), a mapping for its appraisal export and its export files (one in its own
layout, three in canonical layout). The whole Dagster pipeline runs on it unchanged.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import openpyxl
import polars as pl

from models.pseudonym import load_key, pseudonymise_value
from pipelines.definitions import all_assets
from pipelines.resources import CalibraResource, long_lived_objects_frozen
from pipelines.runs import materialize

FIXTURE = Path(__file__).parent / "fixtures" / "third_regime"
ORG = "gemeente-demo"
# Marts other parts of calibra build; whichever exist must hold the new organisation.
OTHER_MARTS = ("rating_distribution", "budget")


def _query(database: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def test_a_third_regime_runs_through_the_whole_pipeline_without_code(tmp_path: Path) -> None:
    home, site = tmp_path / "home", tmp_path / "site"
    (home / "inbox").mkdir(parents=True)
    for export in sorted((FIXTURE / "exports").iterdir()):
        shutil.copy(export, home / "inbox" / export.name)
    resource = CalibraResource(config_path=str(FIXTURE / "calibra.yaml"), home=str(home), site=str(site))

    with long_lived_objects_frozen():
        result = materialize(all_assets, resources={"calibra": resource}, raise_on_error=False)

    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    database = home / "calibra.duckdb"

    # Ingest: every row of the four exports loaded (the mapping's own layout and the canonical one).
    ledger = _query(
        database, "SELECT kind, status, rows_read, rows_loaded FROM audit.load_ledger ORDER BY kind"
    )
    assert ledger.rows() == [
        ("awards", "loaded", 12, 12),
        ("evaluations", "loaded", 12, 12),
        ("payroll", "loaded", 12, 12),
        ("salary_scales", "loaded", 6, 6),
    ]
    ratings = _query(
        database,
        "SELECT rating, count(*) AS n FROM staging.evaluations WHERE organization = 'gemeente-demo' "
        "GROUP BY ALL ORDER BY rating",
    )
    assert ratings.rows() == [("goed", 5), ("onvoldoende", 1), ("voldoende", 4), ("zeer_goed", 2)]

    # Findings: exactly the five planted breaches, under the regime's own rule ids and its own parameters.
    key = load_key()
    findings = _query(
        database, 'SELECT employee_id, rule, "check", policy_id FROM marts.compliance_findings ORDER BY ALL'
    )
    expected = {
        ("G03", "G-4", "conversation_outside_window"),  # 5 February, window ends 31 January
        ("G05", "G-1", "structural_pct_mismatch"),  # goed is 3.5 %, 5 % awarded
        ("G07", "G-3", "argumentation_missing"),  # zeer_goed without the results argued
        ("G09", "G-2", "raise_at_scale_maximum"),  # at the scale maximum, 2 % awarded
        ("G11", "G-4", "first_signature_late"),  # signed 20 February, deadline 15 February
    }
    assert set(findings.select("employee_id", "rule", "check").rows()) == {
        (pseudonymise_value(key, ORG, raw), rule, check) for raw, rule, check in expected
    }
    assert findings.get_column("policy_id").unique().to_list() == ["gemeente_4punt"]

    # Process status per team, against the regime's own window and deadline.
    status = _query(
        database,
        "SELECT department, n, evaluations_in_window, first_signatures_on_time, second_signatures_on_time, "
        "ratings_missing FROM marts.process_status ORDER BY department",
    )
    # G06 (Burgerzaken, gender X: one person) is left out of the fairness comparison and so of these totals,
    # which sit beside the fairness table's women and men on the organisation site (models.process_status).
    assert status.rows() == [("Burgerzaken", 5, 4, 5, None, 0), ("Openbare Ruimte", 6, 6, 5, None, 0)]

    # Publication: structural raises above the regime's 3.5 %, no incidental rewards exist.
    published = _query(
        database, "SELECT employee_id, pct, reason FROM marts.publication_list ORDER BY pct, 1"
    )
    assert sorted(published.get_column("employee_id").to_list()) == sorted(
        pseudonymise_value(key, ORG, raw) for raw in ("G05", "G06", "G07")
    )
    assert published.get_column("reason").unique().to_list() == ["structural_above_3.5_pct"]
    sheet = openpyxl.load_workbook(home / "exports" / "publication_gemeente-demo_2024.xlsx").active
    assert sheet is not None
    texts = [c.value for c in sheet["O"]]  # type: ignore[index]
    assert texts[0] == "argumentation"
    assert "'=Voorbeeld voor het team; zie formulier." in texts
    assert (home / "exports" / "publication_gemeente-demo_2024.csv").is_file()

    # The marts other parts of calibra build hold the new organisation too, whichever exist.
    tables = set(
        _query(database, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").to_series()
    )
    assert {"compliance_findings", "process_status", "publication_list"} <= tables
    for mart in (m for m in OTHER_MARTS if m in tables):
        columns = _query(database, f"DESCRIBE marts.{mart}").get_column("column_name").to_list()
        if "organization" in columns:
            rows = _query(
                database, f"SELECT count(*) AS n FROM marts.{mart} WHERE organization = 'gemeente-demo'"
            )
            assert rows.item() > 0, mart

    # Last, so a failing mart elsewhere does not hide what the checks above show: every asset succeeded.
    assert failed == [], f"assets failed on the third regime: {failed}"
    assert result.success
