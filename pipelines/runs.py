"""Running the pipeline through Dagster, in process: what `calibra run`, `calibra ingest` and the tests call.

The per-cycle marts are partitioned by organisation-cycle (pipelines/assets/slices.py), and the partitions of
a slice exist only once ingest has read its files. So one call is a few in-process runs, on one Dagster
instance (the home's, beside the database, unless one is given):

1. ingest and every asset that does not depend on a partitioned mart;
2. the observation of `staging/slices`, which registers new organisation-cycles and reports their data
   versions (a run of its own: an observable source asset declares no upstream assets, so it could not be
   ordered after ingest in the same run);
3. Dagster says which partitions of the selected per-cycle marts are missing or stale (its stale-status
   resolver: a mart partition is stale when the data version of its slice differs from the one it was built
   from, or calibra's version, the marts' code version, changed); those are materialised, one run per
   contiguous range of partition keys (tags `dagster/asset_partition_range_start/end`; every mart step has a
   single-run backfill policy, so one step writes the whole range in one transaction). The last run also
   materialises the unpartitioned assets downstream of them (cross-cycle marts, the site): a new cycle of
   both organisations is one run.

Nothing stale: the partitioned marts are not run at all; the unpartitioned rest is (it reads every cycle).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

# Dagster's stale-status resolver is what its UI uses to show 'stale'; it is not exported at the top level.
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContext

from models.config import Settings
from models.errors import CalibraError, os_error_sentence
from pipelines.assets.person_cycle import STEP as PERSON_CYCLE_STEP
from pipelines.assets.slices import PARTITIONS, SLICES, partition_key, staging_slices

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def dagster_home(home: Path) -> Path:
    """The home's Dagster instance, beside the database: `calibra ui` shows the runs of `calibra run`, and
    Dagster remembers which data version each organisation-cycle partition of the marts was built from. That
    record belongs to this home's database, so it is always `<home>/dagster` (a DAGSTER_HOME shared by two
    homes would make one home's marts look built in the other). Its run and event storage keeps step logs:
    owner-only, like the rest of the home."""
    from models.warehouse import owner_only

    folder = home / "dagster"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        config = folder / "dagster.yaml"
        if not config.exists():
            config.write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        owner_only(folder)
    except OSError as error:
        raise CalibraError(os_error_sentence(error, folder)) from None
    return folder


@contextmanager
def home_instance(home: Path) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.from_config(str(dagster_home(home))) as instance:
        yield instance


class _Loading(LoadingContext):
    """The loading context the stale-status resolver asks for (Dagster's own request contexts need a
    workspace)."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance
        self._loaders: dict[type, Any] = {}

    @property
    def instance(self) -> dg.DagsterInstance:
        return self._instance

    @property
    def loaders(self) -> dict[type, Any]:
        return self._loaders


@dataclass
class Runs:
    """The runs of one call, read like one `ExecuteInProcessResult`."""

    results: list[dg.ExecuteInProcessResult] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)  # the organisation-cycle keys materialised

    @property
    def success(self) -> bool:
        return all(result.success for result in self.results)

    @property
    def all_events(self) -> list[Any]:
        return [event for result in self.results for event in result.all_events]

    def get_asset_materialization_events(self) -> list[Any]:
        return [e for result in self.results for e in result.get_asset_materialization_events()]

    def get_asset_observation_events(self) -> list[Any]:
        return [e for result in self.results for e in result.get_asset_observation_events()]

    def get_asset_check_evaluations(self) -> list[Any]:
        return [e for result in self.results for e in result.get_asset_check_evaluations()]


def stale_partitions(
    instance: dg.DagsterInstance, graph: Any, keys: Sequence[dg.AssetKey], *, everything: bool = False
) -> list[str]:
    """The organisation-cycle keys (in Dagster's order) of which any of `keys` is missing or stale."""
    partitions = list(instance.get_dynamic_partitions(PARTITIONS))
    if everything:
        return partitions
    resolver = CachingStaleStatusResolver(instance, graph, _Loading(instance))
    return [
        partition
        for partition in partitions
        if any(resolver.get_status(key, partition) != StaleStatus.FRESH for key in keys)
    ]


def unbuilt_partitions(settings: Settings, partitions: Sequence[str]) -> list[str]:
    """Partitions of which the database holds no mart rows at all (no step recorded the slice in
    audit.mart_inputs): Dagster's record is ahead of the database, which was replaced or restored from an
    older copy. Dagster's record can otherwise only lag the database (a run killed after a step committed)."""
    from models.warehouse import connect

    if not partitions or not settings.database.exists():
        return list(partitions)
    with connect(settings.database, read_only=True) as con:
        built = {
            partition_key((str(org), int(cycle)))
            for org, cycle in con.execute(
                "SELECT DISTINCT organization, cycle FROM audit.mart_inputs WHERE step <> ?",
                [PERSON_CYCLE_STEP],
            ).fetchall()
        }
    return [key for key in partitions if key not in built]


def contiguous_ranges(chosen: Sequence[str], order: Sequence[str]) -> list[tuple[str, str]]:
    """`chosen` keys as (first, last) ranges of consecutive keys in `order` (Dagster's order of the keys)."""
    wanted = set(chosen)
    ranges: list[tuple[str, str]] = []
    start: str | None = None
    previous: str | None = None
    for key in order:
        if key in wanted:
            start = start or key
            previous = key
        elif start is not None and previous is not None:
            ranges.append((start, previous))
            start = previous = None
    if start is not None and previous is not None:
        ranges.append((start, previous))
    return ranges


def materialize(
    assets: Sequence[Any],
    *,
    resources: Mapping[str, Any],
    instance: dg.DagsterInstance | None = None,
    selection: Any = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    run_config: Any = None,
) -> Runs:
    """Materialise the selection (everything by default) as described above; `instance` None: the home's."""
    if instance is None:
        with home_instance(resources["calibra"].settings().home) as own:
            return _materialize(assets, resources, own, selection, raise_on_error, tags, run_config)
    return _materialize(assets, resources, instance, selection, raise_on_error, tags, run_config)


def _materialize(
    assets: Sequence[Any],
    resources: Mapping[str, Any],
    instance: dg.DagsterInstance,
    selection: Any,
    raise_on_error: bool,
    tags: Mapping[str, str] | None,
    run_config: Any,
) -> Runs:
    every = list(assets)
    if not any(isinstance(a, dg.SourceAsset) and a.key == SLICES for a in every):
        every.append(staging_slices)
    graph = dg.Definitions(assets=every, resources=dict(resources)).resolve_asset_graph()
    materializable = graph.materializable_asset_keys
    chosen = (
        set(materializable)
        if selection is None
        else set(dg.AssetSelection.from_coercible(selection).resolve(graph)) & set(materializable)
    )
    partitioned = {key for key in chosen if graph.get(key).partitions_def is not None}
    downstream = {
        key
        for key in chosen - partitioned
        if any(graph.get(a).partitions_def is not None for a in graph.get_ancestor_asset_keys(key))
    }
    upstream = chosen - partitioned - downstream
    runs = Runs()

    def run(keys: set[dg.AssetKey], extra_tags: Mapping[str, str] | None = None) -> bool:
        result = dg.materialize(
            every,
            instance=instance,
            resources=resources,
            selection=sorted(keys, key=lambda k: k.to_user_string()),
            raise_on_error=raise_on_error,
            tags={**(tags or {}), **(extra_tags or {})},
            run_config=run_config,
        )
        runs.results.append(result)
        return result.success

    if upstream and not run(upstream):
        return runs  # ingest failed: the marts and the site are not built from a half-loaded inbox
    if partitioned and not run({SLICES}):
        return runs
    keys: list[str] = []
    if partitioned:
        settings = resources["calibra"].settings()
        stale = set(stale_partitions(instance, graph, sorted(partitioned), everything=settings.full_rebuild))
        order = instance.get_dynamic_partitions(PARTITIONS)
        stale |= set(unbuilt_partitions(settings, order))
        keys = [key for key in order if key in stale]
    ranges = contiguous_ranges(keys, instance.get_dynamic_partitions(PARTITIONS))
    for index, (first, last) in enumerate(ranges):
        final = index == len(ranges) - 1
        ok = run(partitioned | (downstream if final else set()), {RANGE_START: first, RANGE_END: last})
        runs.partitions += keys[keys.index(first) : keys.index(last) + 1]
        if not ok:
            return runs
    if downstream and not ranges:
        run(downstream)
    return runs
