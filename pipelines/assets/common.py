"""What every mart asset shares: the staging keys it depends on and the policies of the organisations."""

import dagster as dg

from models.contracts import KINDS
from models.policy import Policy, policy_for
from pipelines.resources import CalibraResource

STAGING = [dg.AssetKey(["staging", kind]) for kind in KINDS]


def organisation_policies(calibra: CalibraResource) -> dict[str, Policy]:
    """Policy per configured organisation (which organisation uses which policy is configuration)."""
    settings = calibra.settings()
    return {org: policy_for(settings, org) for org in settings.organizations}
