"""What every mart asset shares: the staging keys it depends on, the organisation-cycle partitions of the per-cycle
marts and the policies of the organisations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg
import duckdb
import polars as pl

from models.config import Settings
from models.contracts import KINDS
from models.policy import Policy, load_policy, policy_for
from pipelines.assets.slices import ORGANISATION_CYCLE, slice_of
from pipelines.increments import Slice, SliceWork, calibra_version, slices_condition
from pipelines.resources import CalibraResource

STAGING = [dg.AssetKey(["staging", kind]) for kind in KINDS]

# A per-cycle mart: one partition per organisation-cycle, built from that slice of staging (identity mapping),
# all the partitions of a run in one step (one DuckDB writer, one transaction per step). The code version makes
# a partition's data version follow from its inputs, so a partition rebuilt from the same slice leaves the
# marts downstream of it fresh; a new calibra version makes every partition stale.
PER_CYCLE: dict[str, Any] = {
    "partitions_def": ORGANISATION_CYCLE,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "code_version": calibra_version(),
}


def run_slices(context: dg.AssetExecutionContext) -> set[Slice]:
    """The organisation-cycles this run materialises: the run's partitions, chosen by Dagster."""
    return {slice_of(key) for key in context.partition_keys}


class CyclePolicies(dict[str, Policy]):
    """The policies of the configured organisations. A cycle is judged by the rules in force for it:
    `for_cycle(org, cycle)` is the policy calibra.yaml names for that cycle (checked to be in force then). As
    a mapping (organisation → policy) it holds each organisation's latest policy, for marts that do not yet
    split their work by cycle."""

    def __init__(self, settings: Settings) -> None:
        super().__init__({org: policy_for(settings, org) for org in settings.organizations})
        self._settings = settings

    def for_cycle(self, organization: str, cycle: int) -> Policy:
        return policy_for(self._settings, organization, int(cycle))

    def every(self, organization: str) -> list[Policy]:
        """Every policy calibra.yaml names for the organisation, over all its cycles (the latest first)."""
        org = self._settings.organizations[organization]
        paths = dict.fromkeys([org.policy_path, *(path for _, _, path in org.policy_periods)])
        return [load_policy(path) for path in paths]

    def regime_start(self, organization: str, cycle: int, cycles: Iterable[int]) -> int:
        """The first of `cycles` (the organisation's cycles present) from which on, up to `cycle`, every cycle
        is judged by the policy of `cycle`: where a window ending at `cycle` must start so as not to reach
        across a regime change."""
        key = self._key(self.for_cycle(organization, cycle))
        start = cycle
        for earlier in sorted((int(c) for c in cycles if int(c) < cycle), reverse=True):
            if self._key(self.for_cycle(organization, earlier)) != key:
                break
            start = earlier
        return start

    @staticmethod
    def _key(policy: Policy) -> str:
        return f"{policy.id}@{policy.version}"

    def by_regime(
        self, slices: Iterable[Slice], *, contiguous: bool = False
    ) -> list[tuple[dict[str, Policy], frozenset[Slice]]]:
        """The organisation-cycles grouped by the policy in force for them, for a computation that takes
        {organisation: policy} and judges every cycle it is given by it: each group maps every organisation in
        it to one policy and holds the cycles that policy judges. One group when no organisation changed its
        regime over these cycles; otherwise as many as the organisation with the most regimes has.
        `contiguous`: a return to an earlier policy starts a new group, so that a group's cycles of an
        organisation follow each other (for marts that compare consecutive cycles)."""
        per_org: dict[str, dict[str, tuple[Policy, set[Slice]]]] = {}
        previous: dict[str, str] = {}
        for org, cycle in sorted(slices):
            policy = self.for_cycle(org, cycle)
            regimes = per_org.setdefault(org, {})
            key = f"{policy.id}@{policy.version}"
            if contiguous:
                run = len(regimes) - (previous.get(org, "").split("#")[-1] == key)
                key = f"{run}#{key}"
                previous[org] = key
            regimes.setdefault(key, (policy, set()))[1].add((org, cycle))
        groups: list[tuple[dict[str, Policy], frozenset[Slice]]] = []
        for index in range(max((len(regimes) for regimes in per_org.values()), default=0)):
            chosen = {
                org: list(regimes.values())[index] for org, regimes in per_org.items() if index < len(regimes)
            }
            groups.append(
                (
                    {org: policy for org, (policy, _) in chosen.items()},
                    frozenset(s for _, found in chosen.values() for s in found),
                )
            )
        return groups


def regime_passes(
    policies: CyclePolicies, work: SliceWork, staged: Iterable[Slice]
) -> list[tuple[dict[str, Policy], tuple[str, list[object]]]]:
    """The passes of a mart that judges each cycle by the policy in force for it and compares consecutive
    cycles or reads a window of them: ({organisation: policy}, staging WHERE condition and parameters) per
    regime. One pass over the whole work (its own staging filter; organisations without data keep their latest
    policy) when no organisation changed its regime over the cycles read, as before regimes existed. Otherwise
    one pass per contiguous run of a regime, reading only that run's cycles, so no statistic compares or pools
    cycles judged by different policies; a run without a cycle to rebuild is skipped. `staged`: the
    organisation-cycles in staging (read when the work is whole)."""
    read = set(work.read) | ({s for s in staged if s[0] in policies} if work.whole else set())
    regimes = policies.by_regime(read, contiguous=True)
    if len(regimes) <= 1:
        return [(dict(policies) | (regimes[0][0] if regimes else {}), work.staging_filter())]
    return [
        (regime, slices_condition(slices))
        for regime, slices in regimes
        if work.whole or slices & work.rebuild
    ]


def by_cycle_policy(
    policies: CyclePolicies, frame: pl.DataFrame
) -> list[tuple[dict[str, Policy], pl.DataFrame]]:
    """A frame of per-cycle rows (organization, cycle) split by the policy in force for each cycle, for a
    model that takes {organisation: policy} and judges each cycle on its own: ({organisation: policy}, its
    rows) per regime. The frame whole, with each organisation's policy, when no organisation changed its
    regime over these cycles (organisations without rows keep their latest policy)."""
    slices = {
        (str(org), int(cycle))
        for org, cycle in frame.select("organization", "cycle").drop_nulls().unique().iter_rows()
        if org in policies
    }
    regimes = policies.by_regime(slices)
    if len(regimes) <= 1:
        return [(dict(policies) | (regimes[0][0] if regimes else {}), frame)]
    return [(regime, rows_of(frame, group)) for regime, group in regimes]


def rows_of(frame: pl.DataFrame, slices: Iterable[Slice]) -> pl.DataFrame:
    """The rows of `frame` of these organisation-cycles, in their order."""
    wanted = pl.DataFrame(
        [(org, cycle) for org, cycle in slices],
        schema={"organization": pl.String, "cycle": frame.schema["cycle"]},
        orient="row",
    )
    return frame.join(wanted, on=["organization", "cycle"], how="semi", maintain_order="left")


def concat_passes(
    results: Sequence[Mapping[str, pl.DataFrame]], schemas: Mapping[str, Mapping[str, Any]]
) -> dict[str, pl.DataFrame]:
    """The marts of the regime passes, one table per mart (a single pass as it is)."""
    if len(results) == 1:
        return dict(results[0])
    return {
        name: pl.concat([r[name] for r in results], how="vertical_relaxed")
        if results
        else pl.DataFrame(schema=dict(schema))
        for name, schema in schemas.items()
    }


def staged_slices(con: duckdb.DuckDBPyConnection, table: str) -> set[Slice]:
    """The organisation-cycles with rows in a staging table (`table` is a name from code, never data)."""
    if not table.isidentifier():
        raise ValueError(f"refusing table name staging.{table}")
    return {
        (str(org), int(cycle))
        for org, cycle in con.execute(
            f"SELECT DISTINCT organization, cycle FROM staging.{table} WHERE cycle IS NOT NULL"
        ).fetchall()
    }


def organisation_policies(calibra: CalibraResource) -> CyclePolicies:
    """Policy per configured organisation, and per cycle with `for_cycle` (which organisation uses which
    policy when is configuration)."""
    return CyclePolicies(calibra.settings())
