"""Counters of what the store writes: counted after commit, so a rollback counts nothing."""

from __future__ import annotations

from prometheus_client import Counter

TRANSITIONS = Counter(
    "hudur_session_transitions_total",
    "Session status transitions written.",
    ["from_status", "to_status"],
)
CHARGES = Counter(
    "hudur_charges_total",
    "Usage ledger rows written, by status.",
    ["status"],
)
