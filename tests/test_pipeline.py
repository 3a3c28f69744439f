"""The whole pipeline through Dagster on the small sample: every asset, every check, every file accounted for."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from models.config import PROJECT_ROOT
from pipelines.definitions import all_assets, defs
from pipelines.resources import CalibraResource
from pipelines.runs import materialize
from pipelines.sensors import inbox_sensor
from tests.conftest import SampleRun


def test_sample_run_succeeds_and_every_file_balances(sample_run: SampleRun) -> None:
    assert sample_run.success
    ledger = sample_run.query("SELECT * FROM audit.load_ledger")
    manifest_files = {Path(f["path"]).name: f for f in sample_run.manifest["files"]}
    assert set(ledger["file_name"]) == set(manifest_files)
    assert (
        ledger["rows_read"] == ledger["rows_loaded"] + ledger["rows_quarantined"] + ledger["rows_rejected"]
    ).all()
    assert (ledger["status"] != "rejected").all()
    for row in ledger.iter_rows(named=True):
        assert row["rows_read"] == manifest_files[row["file_name"]]["rows"], row["file_name"]
        assert row["file_sha256"] == manifest_files[row["file_name"]]["sha256"]


def test_staging_rows_trace_back_to_their_ledger_row(sample_run: SampleRun) -> None:
    for kind in ("evaluations", "awards", "payroll", "salary_scales"):
        per_file = sample_run.query(
            f"""SELECT l.file_name, l.rows_loaded, count(s._source_row) AS staged
                FROM audit.load_ledger l LEFT JOIN staging.{kind} s ON s._source_sha256 = l.file_sha256
                WHERE l.kind = '{kind}' GROUP BY ALL"""
        )
        assert per_file.height > 0
        assert (per_file["rows_loaded"] == per_file["staged"]).all(), kind


def test_both_organisations_and_all_cycles_load(sample_run: SampleRun) -> None:
    cycles = sample_run.query(
        "SELECT organization, count(DISTINCT cycle) AS n FROM staging.evaluations GROUP BY 1"
    )
    assert dict(cycles.iter_rows()) == {"vo-demo": 3, "zeeland-demo": 3}
    scales = sample_run.query(
        "SELECT organization, count(DISTINCT salary_scale) AS n FROM staging.salary_scales GROUP BY 1"
    )
    assert dict(scales.iter_rows())["zeeland-demo"] == 18


def test_pii_columns_of_the_exports_never_reach_the_database(sample_run: SampleRun) -> None:
    columns = sample_run.query(
        "SELECT lower(column_name) AS c FROM information_schema.columns WHERE table_schema IN ('staging', 'marts')"
    )["c"].to_list()
    assert not [
        c
        for c in columns
        if any(word in c for word in ("naam", "name", "rijksregister", "mail", "iban"))
        and c not in {"file_name", "column_name"}
    ]


def test_every_asset_is_in_a_stage_group_with_a_description() -> None:
    graph = defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in {"ingest", "marts", "publish"}, key
        assert node.description, key


def test_inbox_sensor_requests_one_run_per_new_set_of_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    source = PROJECT_ROOT / "tests" / "canonical_rows.py"  # any file: the sensor only hashes
    shutil.copy(source, home / "inbox" / "zeeland-demo_evaluations.csv")
    resource = CalibraResource(config_path=str(PROJECT_ROOT / "calibra.yaml"), home=str(home))
    context = dg.build_sensor_context(resources={"calibra": resource})
    first = inbox_sensor(context)
    assert isinstance(first, dg.SensorResult) and len(first.run_requests or []) == 1
    again = inbox_sensor(dg.build_sensor_context(resources={"calibra": resource}))
    assert isinstance(again, dg.SensorResult)
    assert (
        again.run_requests[0].run_key == first.run_requests[0].run_key
    )  # same files, same key: no second run
    (home / "inbox" / "zeeland-demo_evaluations.csv").unlink()
    assert isinstance(inbox_sensor(dg.build_sensor_context(resources={"calibra": resource})), dg.SkipReason)


def test_a_rejected_file_stops_everything_downstream(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    (home / "inbox" / "unknown_layout.csv").write_text("a;b\n1;2\n")
    resource = CalibraResource(
        config_path=str(PROJECT_ROOT / "calibra.yaml"), home=str(home), site=str(tmp_path / "site")
    )
    result = materialize(all_assets, resources={"calibra": resource}, raise_on_error=False)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "raw/inbox_files" in materialized
    assert "site" not in materialized and not any(k.startswith("marts/") for k in materialized)
    assert not (tmp_path / "site").exists()
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks["every_file_has_a_mapping"] is False


def test_a_run_freezes_what_outlives_its_steps_and_still_collects_their_cycles() -> None:
    """`long_lived_objects_frozen` (pipelines.resources): after each step's collection the survivors are frozen,
    cyclic garbage made by a step is still collected by that step's `release_memory`, and nothing stays frozen
    after the run."""
    import gc
    import weakref

    from pipelines.resources import long_lived_objects_frozen, release_memory

    class Node:
        pass

    assert gc.get_freeze_count() == 0
    with long_lived_objects_frozen():
        frozen_before = gc.get_freeze_count()
        assert frozen_before > 0
        kept = [Node()]  # alive at the end of the step: frozen by its collection
        cycle = Node()
        cycle.self = cycle  # type: ignore[attr-defined]
        gone = weakref.ref(cycle)
        del cycle
        release_memory()
        assert gone() is None, "a step's cyclic garbage must be collected by its own release_memory"
        assert gc.get_freeze_count() > frozen_before
        del kept
    assert gc.get_freeze_count() == 0
