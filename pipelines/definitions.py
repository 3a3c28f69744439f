"""The Dagster code location: `dagster dev -m pipelines.definitions` (or `make ui`)."""

from __future__ import annotations

import dagster as dg

from pipelines import assets
from pipelines.resources import CalibraResource
from pipelines.schedules import cycle_calendar
from pipelines.sensors import inbox_sensor

all_assets = [a for a in dg.load_assets_from_package_module(assets) if isinstance(a, dg.AssetsDefinition)]

calibra_all = dg.define_asset_job(
    "calibra_all",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Ingest every new export, rebuild every mart and publish the site.",
)

calibra_budget = dg.define_asset_job(
    "calibra_budget",
    selection=dg.AssetSelection.key_substring("budget") | dg.AssetSelection.keys("site"),
    executor_def=dg.in_process_executor,
    description="Refresh the budget marts and the site before the payout date.",
)

defs = dg.Definitions(
    assets=all_assets,
    jobs=[calibra_all, calibra_budget],
    sensors=[inbox_sensor],
    schedules=cycle_calendar(),
    # Paths resolve at run time from calibra.yaml and CALIBRA_CONFIG / CALIBRA_HOME / CALIBRA_SITE.
    resources={"calibra": CalibraResource()},
    executor=dg.in_process_executor,
)
