"""The generic disclosure engine (RELIABILITY.md, "Disclosure control"): recoding before suppression, primary
suppression (small and everyone-alike cells, amounts), complementary suppression and the exact audit.

It knows tables only through their `TableRule`: what a page shows and for whom is in models.releases.
"""

from models.disclosure.engine import (
    AMOUNT_SMALL,
    COMPLEMENT,
    DOMINANCE,
    HOMOGENEOUS,
    REASON,
    SMALL,
    SUPPRESSED,
    Amount,
    CutPoints,
    ProtectedTable,
    TableRule,
    Thresholds,
    amount_flag,
    protect,
)

__all__ = [
    "AMOUNT_SMALL",
    "COMPLEMENT",
    "DOMINANCE",
    "HOMOGENEOUS",
    "REASON",
    "SMALL",
    "SUPPRESSED",
    "Amount",
    "CutPoints",
    "ProtectedTable",
    "TableRule",
    "Thresholds",
    "amount_flag",
    "protect",
]
