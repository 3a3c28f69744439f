"""What every mart asset shares: the staging keys it depends on and the policies of the organisations."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg
import duckdb

from models.config import Settings
from models.contracts import KINDS
from models.policy import Policy, policy_for
from pipelines.increments import Slice
from pipelines.resources import CalibraResource

STAGING = [dg.AssetKey(["staging", kind]) for kind in KINDS]


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

    def by_regime(self, slices: Iterable[Slice]) -> list[tuple[dict[str, Policy], frozenset[Slice]]]:
        """The organisation-cycles grouped by the policy in force for them, for a computation that takes
        {organisation: policy} and judges every cycle it is given by it: each group maps every organisation in
        it to one policy and holds the cycles that policy judges. One group when no organisation changed its
        regime over these cycles; otherwise as many as the organisation with the most regimes has."""
        per_org: dict[str, dict[str, tuple[Policy, set[Slice]]]] = {}
        for org, cycle in sorted(slices):
            policy = self.for_cycle(org, cycle)
            regimes = per_org.setdefault(org, {})
            regimes.setdefault(f"{policy.id}@{policy.version}", (policy, set()))[1].add((org, cycle))
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
