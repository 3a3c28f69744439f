"""Organisation × cycle as Dagster partitions (pipelines/assets/slices.py, pipelines/runs.py): the pieces that
decide which partitions a run materialises. The whole pipeline over them is in tests/test_increments.py."""

from pathlib import Path

import dagster as dg
import duckdb

from models.config import Organization, Settings
from pipelines.assets.slices import partition_key, slice_of
from pipelines.increments import SliceWork, plan
from pipelines.runs import contiguous_ranges, stale_partitions


def test_a_partition_key_names_the_organisation_and_the_cycle() -> None:
    assert partition_key(("zeeland-demo", 2024)) == "zeeland-demo|2024"
    assert slice_of("zeeland-demo|2024") == ("zeeland-demo", 2024)
    assert slice_of(partition_key(("a|b", 7))) == ("a|b", 7)  # the cycle is after the last separator


def test_chosen_keys_become_ranges_of_consecutive_keys_in_dagsters_order() -> None:
    order = ["a|1", "a|2", "b|1", "a|3", "b|2"]
    assert contiguous_ranges(["a|3", "b|2"], order) == [("a|3", "b|2")]  # a new cycle of both: one run
    assert contiguous_ranges(["a|1", "b|1", "b|2"], order) == [("a|1", "a|1"), ("b|1", "b|1"), ("b|2", "b|2")]
    assert contiguous_ranges(["a|2", "b|1"], order) == [("a|2", "b|1")]
    assert contiguous_ranges(order, order) == [("a|1", "b|2")]
    assert contiguous_ranges([], order) == []


def _settings(tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.yaml"
    policy.write_text("id: p\n")
    config = tmp_path / "calibra.yaml"
    config.write_text("organizations: {}\n")
    org = Organization(id="a", name={"nl": "A"}, policy_path=policy, policy_periods=())
    return Settings(config_path=config, home=tmp_path, organizations={"a": org})


def _database(cycles: list[int], built: list[int]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema in ("audit", "marts"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        "CREATE TABLE audit.load_ledger (organization TEXT, cycle INTEGER, kind TEXT, file_sha256 TEXT, "
        "status TEXT, rows_loaded BIGINT)"
    )
    con.execute(
        "CREATE TABLE audit.mart_inputs (step TEXT, organization TEXT, cycle BIGINT, fingerprint TEXT, "
        "built_at TIMESTAMP)"
    )
    con.execute("CREATE TABLE marts.m (organization TEXT, cycle BIGINT)")
    for cycle in cycles:
        con.execute(
            "INSERT INTO audit.load_ledger VALUES ('a', ?, 'evaluations', ?, 'loaded', 1)", [cycle, cycle]
        )
    for cycle in built:
        con.execute("INSERT INTO audit.mart_inputs VALUES ('m', 'a', ?, 'old', now())", [cycle])
    return con


def _plan(con: duckdb.DuckDBPyConnection, tmp_path: Path, lookback: int, changed: int) -> SliceWork:
    """increments.plan of mart `m` of organisation `a`, whose cycle `changed` Dagster found stale."""
    return plan(
        con,
        _settings(tmp_path),
        "m",
        organizations=["a"],
        kinds=["evaluations"],
        lookback={"a": lookback},
        tables=["m"],
        changed={("a", changed)},
    )


def test_the_runs_partitions_are_rebuilt_with_the_later_cycles_of_their_window(tmp_path: Path) -> None:
    """Dagster names the changed organisation-cycles; the step adds the later cycles whose window reads one
    of them (the rule kept in pipelines/increments.py) and reads the window of each."""
    con = _database([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    work = _plan(con, tmp_path, lookback=2, changed=2)
    assert not work.whole
    assert work.rebuild == {("a", 2), ("a", 3)}
    assert work.read == {("a", 1), ("a", 2), ("a", 3)}
    # the stored fingerprints ('old') differ from every current one: they are not what decides any more
    only_new = _plan(con, tmp_path, lookback=1, changed=5)
    assert only_new.rebuild == {("a", 5)} and only_new.read == {("a", 5)}


def test_a_partition_whose_slice_left_staging_has_its_rows_deleted(tmp_path: Path) -> None:
    con = _database([1, 2], [1, 2, 3])
    work = _plan(con, tmp_path, lookback=1, changed=3)
    assert work.rebuild == {("a", 3)} and work.read == set()


def test_dagster_reads_back_which_partitions_are_missing_or_stale() -> None:
    """The resolver `calibra run` asks (pipelines.runs.stale_partitions), on a small graph of the same shape:
    an observed partitioned source, a partitioned mart with a code version, an unpartitioned page."""
    partitions = dg.DynamicPartitionsDefinition(name="organisation_cycle")
    versions = {"a|1": "v1", "a|2": "v2"}

    @dg.observable_source_asset(key=["staging", "slices"], partitions_def=partitions)
    def slices() -> dg.DataVersionsByPartition:
        return dg.DataVersionsByPartition(dict(versions))

    built: list[list[str]] = []

    @dg.asset(
        key=["marts", "m"],
        deps=[slices.key],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        code_version="1",
    )
    def mart(context: dg.AssetExecutionContext) -> None:
        built.append(list(context.partition_keys))

    @dg.asset(key=["site"], deps=[mart.key])
    def site() -> None:
        built.append(["site"])

    every = [slices, mart, site]
    graph = dg.Definitions(assets=every).resolve_asset_graph()
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("organisation_cycle", ["a|1", "a|2"])
        dg.materialize(every, instance=instance, selection=[slices.key])
        assert stale_partitions(instance, graph, [mart.key]) == ["a|1", "a|2"]  # missing
        tags = {"dagster/asset_partition_range_start": "a|1", "dagster/asset_partition_range_end": "a|2"}
        assert dg.materialize(every, instance=instance, selection=[mart.key, site.key], tags=tags).success
        assert built == [["a|1", "a|2"], ["site"]]  # both partitions and the page in one run, one step
        assert stale_partitions(instance, graph, [mart.key]) == []
        dg.materialize(every, instance=instance, selection=[slices.key])  # observed again, same versions
        assert stale_partitions(instance, graph, [mart.key]) == []
        versions["a|2"] = "corrected"
        versions["a|3"] = "new"
        instance.add_dynamic_partitions("organisation_cycle", ["a|3"])
        dg.materialize(every, instance=instance, selection=[slices.key])
        assert stale_partitions(instance, graph, [mart.key]) == ["a|2", "a|3"]
        assert stale_partitions(instance, graph, [mart.key], everything=True) == ["a|1", "a|2", "a|3"]


def test_the_uis_job_materialises_the_new_partitions_and_then_none(tmp_path: Path) -> None:
    """`calibra_all` (what the inbox sensor and the schedules start) launches the runs `calibra run` makes, on
    the UI's instance: the first time every organisation-cycle, the second time (nothing changed) none; the
    site is published both times. Read from Dagster's instance."""
    from models.config import PROJECT_ROOT
    from models.sample import write_sample
    from pipelines.definitions import calibra_all
    from pipelines.resources import CalibraResource

    manifest = write_sample(tmp_path / "sample", seed=11, employees=40, cycles=2)
    home = tmp_path / "home"
    (home / "inbox").mkdir(parents=True)
    for sample_file in manifest.files_of(organization="zeeland-demo"):
        source = tmp_path / "sample" / sample_file.path
        (home / "inbox" / source.name).write_bytes(source.read_bytes())
    resource = CalibraResource(
        config_path=str(PROJECT_ROOT / "calibra.yaml"), home=str(home), site=str(tmp_path / "site")
    )

    def materialised(instance: dg.DagsterInstance, parent: str) -> tuple[list[str], set[str]]:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"calibra/parent_run": parent}))
        events = [
            record.dagster_event
            for run in runs
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
            if record.dagster_event is not None
        ]
        partitions = sorted({e.partition for e in events if e.partition is not None})
        return partitions, {e.asset_key.to_user_string() for e in events if e.asset_key is not None}

    with dg.instance_for_test() as instance:
        first = calibra_all.execute_in_process(instance=instance, resources={"calibra": resource})
        assert first.success
        partitions, assets = materialised(instance, first.run_id)
        assert partitions == sorted(instance.get_dynamic_partitions("organisation_cycle"))
        assert len(partitions) == 2 and all(p.startswith("zeeland-demo|") for p in partitions)
        assert {"marts/fairness", "marts/rating_distribution", "site"} <= assets
        second = calibra_all.execute_in_process(instance=instance, resources={"calibra": resource})
        assert second.success
        partitions, assets = materialised(instance, second.run_id)
        assert partitions == [] and "site" in assets
        assert not any(a in assets for a in ("marts/fairness", "marts/rating_distribution"))
