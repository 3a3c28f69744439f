"""Organisation × cycle as Dagster partitions: the partitions definition and the observed staging slices.

A slice is the staging rows of one organisation's cycle. After ingest, `staging/slices` (an observable source
asset partitioned by organisation-cycle) registers the partitions of new slices and reports per slice a data
version: the digest `pipelines.increments.current_fingerprints` computes from the slice's loaded files (by
sha256), the organisation's files without a cycle (salary scales), the policy in force for the cycle and
calibra.yaml. The per-cycle mart assets depend on it partition by partition, so Dagster itself knows which
mart partitions are missing or stale (`pipelines.runs`). Ingest stays unpartitioned: a file's cycle is known
only once its rows are read.
"""

from __future__ import annotations

import dagster as dg

from models.contracts import KINDS
from pipelines.increments import Slice, current_fingerprints
from pipelines.resources import CalibraResource

# Dynamic keys `<organisation>|<cycle>`: the organisations and their cycles are data, not code.
PARTITIONS = "organisation_cycle"
ORGANISATION_CYCLE = dg.DynamicPartitionsDefinition(name=PARTITIONS)
SLICES = dg.AssetKey(["staging", "slices"])
SEPARATOR = "|"
VANISHED = "vanished"


def partition_key(slice_: Slice) -> str:
    organization, cycle = slice_
    return f"{organization}{SEPARATOR}{int(cycle)}"


def slice_of(key: str) -> Slice:
    organization, cycle = key.rsplit(SEPARATOR, 1)
    return organization, int(cycle)


@dg.observable_source_asset(
    key=SLICES,
    partitions_def=ORGANISATION_CYCLE,
    group_name="ingest",
    description="The staging rows of each organisation-cycle. Observed after ingest: registers the partitions "
    "of new organisation-cycles; a slice's data version is the digest of its loaded files (sha256), the "
    "organisation's files without a cycle, its policy and calibra.yaml.",
)
def staging_slices(context: dg.AssetExecutionContext, calibra: CalibraResource) -> dg.DataVersionsByPartition:
    settings = calibra.settings()
    if not settings.database.exists():
        return dg.DataVersionsByPartition({})
    with calibra.writer() as con:
        fingerprints = current_fingerprints(con, settings, sorted(settings.organizations), KINDS)
    keys = [partition_key(s) for s in sorted(fingerprints)]
    known = set(context.instance.get_dynamic_partitions(PARTITIONS))
    new = [key for key in keys if key not in known]
    if new:
        context.instance.add_dynamic_partitions(PARTITIONS, new)
    # A slice that left staging (its files superseded) keeps its partition with a version of its own, so
    # that its mart partitions are stale and the next run deletes their rows.
    versions = dict.fromkeys(sorted(known - set(keys)), VANISHED)
    versions.update({partition_key(s): f for s, f in fingerprints.items()})
    context.log.info(f"{len(keys)} organisation-cycles in staging, {len(new)} new")
    return dg.DataVersionsByPartition(versions)
