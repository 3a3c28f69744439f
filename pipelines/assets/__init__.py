"""Dagster assets by stage: ingest (raw, staging), marts, publish. Loaded by package, no master list."""
