"""What every mart asset shares: the staging keys it depends on and the policies of the organisations."""

from __future__ import annotations

import dagster as dg

from models.config import Settings
from models.contracts import KINDS
from models.policy import Policy, policy_for
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


def organisation_policies(calibra: CalibraResource) -> CyclePolicies:
    """Policy per configured organisation, and per cycle with `for_cycle` (which organisation uses which
    policy when is configuration)."""
    return CyclePolicies(calibra.settings())
