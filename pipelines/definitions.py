"""The Dagster code location: `dagster dev -m pipelines.definitions` (or `calibra ui`).

Importing this module reads no file: the assets and jobs are code, and `defs` is loaded by Dagster when the
code location starts (`@dg.definitions`). Only then are calibra.yaml and the policies read, for the
schedules (each organisation's calendar, in its policy's timezone). A run reads its settings from the
`calibra` resource: `calibra run` configures it when it launches the run; in the UI it comes from
CALIBRA_CONFIG / CALIBRA_HOME / CALIBRA_SITE through Dagster's EnvVar (`calibra ui` sets them for the
`dagster dev` process), calibra.yaml's values where they are not set.
"""

from __future__ import annotations

import dagster as dg

from pipelines import assets
from pipelines.jobs import runs_job
from pipelines.schedules import cycle_calendar
from pipelines.sensors import inbox_sensor
from pipelines.settings import resolve, ui_resource

# The assets and the observed staging slices (an observable source asset: the organisation-cycle partitions).
all_assets = [
    a
    for a in dg.load_assets_from_package_module(assets)
    if isinstance(a, dg.AssetsDefinition | dg.SourceAsset)
]


calibra_all = runs_job(
    "calibra_all",
    all_assets,
    None,
    "Ingest every new export, rebuild the stale organisation-cycles of every mart and publish the site.",
)

calibra_budget = runs_job(
    "calibra_budget",
    all_assets,
    dg.AssetSelection.key_substring("budget") | dg.AssetSelection.keys("site"),
    "Refresh the budget marts and the site before the payout date.",
)


@dg.definitions
def defs() -> dg.Definitions:
    """The code location, loaded when Dagster starts it (not when this module is imported)."""
    return dg.Definitions(
        assets=all_assets,
        jobs=[calibra_all, calibra_budget],
        sensors=[inbox_sensor],
        schedules=cycle_calendar(resolve()),
        resources={"calibra": ui_resource()},
        executor=dg.in_process_executor,
    )
