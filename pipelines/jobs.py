"""The jobs the sensor and the schedules start (no `from __future__ import annotations` here: Dagster reads
the op's context annotation as a type)."""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from pipelines.resources import CalibraResource


def runs_job(
    name: str, all_assets: Sequence[Any], selection: dg.AssetSelection | None, description: str
) -> dg.JobDefinition:
    """A job that does what `calibra run` does (pipelines.runs): ingest, observe the organisation-cycles, then
    materialise the partitions Dagster finds missing or stale and what depends on them. An asset job cannot:
    which partitions a run needs is known only after its own ingest, so the sensor and the schedules start
    this job, whose one step launches those runs on the same instance (they show in the UI as runs of their
    own, tagged with this run's id)."""

    @dg.op(name=f"{name}_runs", description=description)
    def launch(context: dg.OpExecutionContext, calibra: CalibraResource) -> None:
        from pipelines.runs import materialize

        tags = {k: v for k, v in context.run.tags.items() if k.startswith("calibra/")}
        result = materialize(
            all_assets,
            resources={"calibra": calibra},
            instance=context.instance,
            selection=selection,
            raise_on_error=False,
            tags={**tags, "calibra/command": name, "calibra/parent_run": context.run_id},
        )
        context.log.info(f"{len(result.results)} runs; organisation-cycles materialised: {result.partitions}")
        if not result.success:
            raise dg.Failure(
                f"{name}: a run failed (see the runs tagged calibra/parent_run={context.run_id})"
            )

    @dg.job(name=name, description=description, executor_def=dg.in_process_executor)
    def job() -> None:
        launch()

    return job
