"""A new cycle recomputes only the organisation-cycles that depend on it, and ends in the same marts as a
whole run (pipelines/increments.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.config import PROJECT_ROOT
from pipelines.increments import SliceWork
from tests.conftest import SampleRun

MARTS_AND_INGEST = dg.AssetSelection.groups("ingest", "marts")


def _materialize(home: Path) -> list[str]:
    """Run ingest and the marts as `calibra run` does; the organisation-cycle partitions of the marts that
    Dagster's event log says this call materialised."""
    from pipelines.definitions import all_assets
    from pipelines.resources import CalibraResource, long_lived_objects_frozen
    from pipelines.runs import home_instance, materialize

    resource = CalibraResource(config_path=str(PROJECT_ROOT / "calibra.yaml"), home=str(home))
    with long_lived_objects_frozen(), home_instance(home) as instance:
        result = materialize(
            all_assets,
            resources={"calibra": resource},
            selection=MARTS_AND_INGEST,
            raise_on_error=False,
            instance=instance,
        )
        assert result.success
        return sorted(
            {
                event.dagster_event.partition
                for run in result.results
                for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
                if event.dagster_event is not None and event.dagster_event.partition is not None
            }
        )


def _tables(database: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        names = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        return {name: con.sql(f"SELECT * FROM marts.{name}").pl() for name in names}
    finally:
        con.close()


def _built_at(database: Path) -> pl.DataFrame:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.sql("SELECT step, organization, cycle, built_at FROM audit.mart_inputs").pl()
    finally:
        con.close()


def _same(name: str, whole: pl.DataFrame, incremental: pl.DataFrame) -> None:
    """Equal up to the last bits of floating-point sums: staging rows arrive in another order when files are
    loaded in two runs, and a sum in another order can differ in its last place (1e-15 relative)."""
    assert whole.columns == incremental.columns, name
    exact = [c for c, dtype in whole.schema.items() if not dtype.is_float()]
    order = [*exact, *(c for c in whole.columns if c not in exact)]
    (
        assert_frame_equal(
            whole.sort(order, nulls_last=True),
            incremental.sort(order, nulls_last=True),
            check_exact=False,
            rel_tol=1e-12,
            abs_tol=1e-12,
            check_dtypes=True,
        ),
        name,
    )


@pytest.fixture(scope="module")
def incremental_home(
    sample_run: SampleRun, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, pl.DataFrame, list[list[str]]]:
    """The sample's files without its last cycle, built; then the last cycle added and built again; then run
    once more with nothing changed. With the partitions each of the three runs materialised."""
    home = tmp_path_factory.mktemp("incremental") / "home"
    (home / "inbox").mkdir(parents=True)
    files = sorted(sample_run.settings.inbox.iterdir())
    last = max(int(part) for f in files for part in f.stem.split("_") if part.isdigit() and len(part) == 4)
    held_back = [f for f in files if f.stem.endswith(str(last))]
    assert held_back, "the sample names its files by cycle"
    for file in files:
        if file not in held_back:
            shutil.copy(file, home / "inbox" / file.name)
    runs = [_materialize(home)]
    before = _built_at(home / "calibra.duckdb")
    for file in held_back:
        shutil.copy(file, home / "inbox" / file.name)
    runs.append(_materialize(home))
    runs.append(_materialize(home))
    return home, before, runs


def test_adding_a_cycle_ends_in_the_marts_of_a_whole_run(
    sample_run: SampleRun, incremental_home: tuple[Path, pl.DataFrame, list[list[str]]]
) -> None:
    home, _, _ = incremental_home
    whole = _tables(sample_run.settings.database)
    incremental = _tables(home / "calibra.duckdb")
    assert set(whole) == set(incremental)
    for name in whole:
        _same(name, whole[name], incremental[name])


def test_dagster_materialises_only_the_new_cycles_partitions(
    incremental_home: tuple[Path, pl.DataFrame, list[list[str]]],
) -> None:
    """Read from Dagster's event log: the first run builds every organisation-cycle, adding the last cycle's
    files materialises only that cycle's partitions (it has no later cycles), a run with nothing changed none."""
    home, _, (first, added, unchanged) = incremental_home
    from pipelines.runs import home_instance

    with home_instance(home) as instance:
        partitions = instance.get_dynamic_partitions("organisation_cycle")
    last = max(int(key.rsplit("|", 1)[1]) for key in partitions)
    assert first == sorted(k for k in partitions if not k.endswith(f"|{last}"))
    assert added == sorted(k for k in partitions if k.endswith(f"|{last}")) and added
    assert unchanged == []


def test_adding_a_cycle_rebuilds_only_that_cycle(
    incremental_home: tuple[Path, pl.DataFrame, list[list[str]]],
) -> None:
    home, before, _ = incremental_home
    after = _built_at(home / "calibra.duckdb")
    last = after.get_column("cycle").max()
    kept = before.join(after, on=["step", "organization", "cycle"], suffix="_after")
    assert kept.height == before.height > 0
    # Every slice of an earlier cycle kept its first build (calibration impact's too: its reference group is
    # chosen per cycle); the new cycle's slices were built by the second run.
    rebuilt = kept.filter(pl.col("built_at") != pl.col("built_at_after"))
    assert rebuilt.height == 0, rebuilt.select("step", "organization", "cycle").rows()
    new = after.filter(pl.col("cycle") == last)
    assert new.height > 0 and new.get_column("built_at").min() > before.get_column("built_at").max()
    assert before.filter(pl.col("cycle") == last).height == 0


def _work(read: set[tuple[str, int]], rebuild: set[tuple[str, int]]) -> SliceWork:
    return SliceWork("test", False, frozenset(rebuild), frozenset(read), {}, "")


def test_keep_returns_only_the_rebuilt_slices() -> None:
    frame = pl.DataFrame({"organization": ["a", "a", "b", "b"], "to_cycle": [1, 2, 1, 2], "v": [1, 2, 3, 4]})
    kept = _work({("a", 1), ("a", 2)}, {("a", 2), ("b", 1)}).keep(frame, "to_cycle")
    assert kept.get_column("v").sort().to_list() == [2, 3]


def test_staging_filter_keeps_exactly_the_slices_read() -> None:
    staging = pl.DataFrame(
        {"organization": ["a", "a", "a", "b", "b", "c"], "cycle": [1, 2, 3, 1, 2, 1], "v": [1, 2, 3, 4, 5, 6]}
    )
    con = duckdb.connect()
    try:
        con.register("staging", staging.to_arrow())
        for read, expected in (
            ({("a", 1), ("a", 3), ("b", 2)}, [1, 3, 5]),
            ({("c", 1)}, [6]),
            (set(), []),
        ):
            condition, params = _work(read, read).staging_filter()
            rows = con.execute(f"SELECT v FROM staging WHERE {condition} ORDER BY v", params).fetchall()
            assert [v for (v,) in rows] == expected, read
        whole = SliceWork("test", True, frozenset(), frozenset(), {}, "")
        assert whole.staging_filter() == ("TRUE", [])
    finally:
        con.close()


def _corrected(original: Path, target: Path) -> None:
    """The export with one evaluation decision changed: what HR sends when a rating was keyed in wrongly."""
    lines = original.read_text(encoding="utf-8").splitlines(keepends=True)
    assert ";Voldoende;" in lines[1]
    lines[1] = lines[1].replace(";Voldoende;", ";Onvoldoende;", 1)
    target.write_text("".join(lines), encoding="utf-8")


def test_a_corrected_export_of_an_earlier_cycle_rebuilds_it_and_the_cycles_after(
    incremental_home: tuple[Path, pl.DataFrame, list[list[str]]], sample_run: SampleRun, tmp_path: Path
) -> None:
    """A correction in the middle cycle rebuilds that cycle and the later cycles whose window reads it, and
    ends in the marts of a whole run over the corrected files."""
    home, _, _ = incremental_home
    files = sorted(sample_run.settings.inbox.iterdir())
    cycles = sorted({int(p) for f in files for p in f.stem.split("_") if p.isdigit() and len(p) == 4})
    middle = cycles[len(cycles) // 2]
    original = sample_run.settings.inbox / f"vlimpers_evaluaties_vo-demo_{middle}.csv"
    before = _built_at(home / "calibra.duckdb")
    _corrected(original, home / "inbox" / original.name)
    # Dagster finds that one partition stale (its slice's data version changed); the mart steps rebuild the
    # later cycles their windows read it from in the same transaction (pipelines/increments.py says why).
    assert _materialize(home) == [f"vo-demo|{middle}"]
    after = _built_at(home / "calibra.duckdb")

    reference = tmp_path / "reference"
    (reference / "inbox").mkdir(parents=True)
    for file in files:
        if file.name != original.name:
            shutil.copy(file, reference / "inbox" / file.name)
    _corrected(original, reference / "inbox" / original.name)
    _materialize(reference)
    whole, incremental = _tables(reference / "calibra.duckdb"), _tables(home / "calibra.duckdb")
    assert set(whole) == set(incremental)
    for name in whole:
        _same(name, whole[name], incremental[name])

    changed = before.join(after, on=["step", "organization", "cycle"]).filter(
        pl.col("built_at") != pl.col("built_at_right")
    )
    rebuilt = {(s, o, c) for s, o, c in changed.select("step", "organization", "cycle").iter_rows()}
    # Zeeland's slices and vo-demo's earlier cycles are untouched; the corrected cycle is rebuilt everywhere.
    assert all(o == "vo-demo" and c >= middle for s, o, c in rebuilt)
    steps_with_vo_demo = set(before.filter(pl.col("organization") == "vo-demo").get_column("step").unique())
    assert {s for s, _, c in rebuilt if c == middle} == steps_with_vo_demo
    # Calibration reads the previous cycles (leniency window, transitions): the later cycles follow; so does
    # calibration impact within its window.
    assert ("calibration", "vo-demo", cycles[-1]) in rebuilt
    assert ("budget", "vo-demo", cycles[-1]) not in rebuilt  # a cycle's budget reads that cycle only


def test_editing_an_earlier_periods_policy_changes_only_its_cycles_fingerprints(tmp_path: Path) -> None:
    """A cycle's fingerprint holds the policy in force for it (calibra.yaml names one per range of cycles):
    editing the old regime's file marks its cycles stale and leaves the new regime's cycles alone."""
    from models.config import Organization, Settings
    from pipelines.increments import current_fingerprints

    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text("id: old\n")
    new.write_text("id: new\n")
    config = tmp_path / "calibra.yaml"
    config.write_text("organizations: {}\n")
    org = Organization(
        id="x", name={"nl": "X"}, policy_path=new, policy_periods=((None, 2023, old), (2024, None, new))
    )
    settings = Settings(config_path=config, home=tmp_path, organizations={"x": org})
    con = duckdb.connect()
    con.execute("CREATE SCHEMA audit")
    con.execute(
        "CREATE TABLE audit.load_ledger (organization TEXT, cycle INTEGER, kind TEXT, file_sha256 TEXT, "
        "status TEXT, rows_loaded BIGINT)"
    )
    for cycle in (2022, 2023, 2024, 2025):
        con.execute(
            "INSERT INTO audit.load_ledger VALUES ('x', ?, 'evaluations', ?, 'loaded', 10)",
            [cycle, f"sha{cycle}"],
        )
    before = current_fingerprints(con, settings, ["x"], ["evaluations"])
    old.write_text("id: old\nchanged: true\n")
    after = current_fingerprints(con, settings, ["x"], ["evaluations"])
    changed = sorted(cycle for (_, cycle), digest in after.items() if digest != before[("x", cycle)])
    assert changed == [2022, 2023]
