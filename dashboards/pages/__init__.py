"""One module per page of an organisation and cycle. Each exposes `build(data, ctx, org) -> [(path, html)]`.

A page renders whatever of its tables exist and says plainly "not yet available" for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from models.config import Settings
from models.errors import ConfigError
from models.policy import Policy, policy_for


@dataclass(frozen=True)
class Options:
    """Build options: `include_worklist=False` leaves the confidential worklist out of the site."""

    include_worklist: bool = True


@dataclass
class SiteData:
    """The protected tables handed to dashboards, with the organisation settings and policies."""

    tables: dict[str, pl.DataFrame]
    settings: Settings
    policies: dict[str, Policy] = field(default_factory=dict)
    options: Options = field(default_factory=Options)
    notes: dict[str, list[str]] = field(default_factory=dict)
    _cache: dict[tuple[str, str | None, int | None], pl.DataFrame | None] = field(
        default_factory=dict, repr=False
    )

    def has(self, name: str) -> bool:
        return name in self.tables

    def get(
        self, name: str, organization: str | None = None, cycle: int | None = None
    ) -> pl.DataFrame | None:
        """The table's rows for one organisation (and cycle); None when the table does not exist."""
        key = (name, organization, cycle)
        if key not in self._cache:
            self._cache[key] = self._select(name, organization, cycle)
        return self._cache[key]

    def _select(self, name: str, organization: str | None, cycle: int | None) -> pl.DataFrame | None:
        frame = self.tables.get(name)
        if frame is None:
            return None
        if organization is not None and "organization" in frame.columns:
            frame = frame.filter(pl.col("organization") == organization)
        if cycle is not None and "cycle" in frame.columns:
            frame = frame.filter(pl.col("cycle") == cycle)
        return frame

    def cycles(self, organization: str) -> list[int]:
        found: set[int] = set()
        for frame in self.tables.values():
            if {"organization", "cycle"} <= set(frame.columns):
                part = frame.filter(pl.col("organization") == organization)["cycle"].drop_nulls()
                found.update(int(c) for c in part.unique().to_list())
        return sorted(found)

    def policy(self, organization: str) -> Policy | None:
        return self.policies.get(organization)

    def policy_of(self, organization: str, cycle: int) -> Policy | None:
        """The policy the cycle was judged by (calibra.yaml names one per range of cycles), for the values a
        page quotes about that cycle (FDR, confidence level); the organisation's latest when none is named."""
        try:
            return policy_for(self.settings, organization, int(cycle))
        except ConfigError:
            return self.policies.get(organization)


def rating_labels(policy: Policy | None, language: str) -> tuple[list[str], dict[str, str]]:
    """Rating codes low to high and their labels in the page language."""
    if policy is None:
        return [], {}
    codes = policy.rating_codes
    labels = {r.code: r.label.get(language, r.label.get("nl", r.code)) for r in policy.ratings}
    return codes, labels


def first(frame: pl.DataFrame | None, column: str, default: Any = None) -> Any:
    if frame is None or frame.height == 0 or column not in frame.columns:
        return default
    return frame[column][0]
