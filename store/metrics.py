"""Counters of what the store writes: counted after commit, so a rollback counts nothing."""

from __future__ import annotations

from prometheus_client import Counter

TRANSITIONS = Counter(
    "hudur_session_transitions_total",
    "Session status transitions written.",
    ["from_status", "to_status"],
)
ON_LOOP_FALLBACKS = Counter(
    "hudur_sqlite_on_loop_fallbacks_total",
    "Work meant to run its SQLite statements on the event loop that found a lock "
    "held by another process and ran again through the threaded engine, which waits.",
    ["work"],
)
CHARGES = Counter(
    "hudur_charges_total",
    "Usage ledger rows written, by status.",
    ["status"],
)
