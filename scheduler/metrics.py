"""Counters of the sweeper and of its LiveKit RoomService calls."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SWEEPS = Counter("hudur_sweeps_total", "Sweeper ticks run.")
ROOM_CALLS = Counter(
    "hudur_livekit_room_calls_total",
    "LiveKit RoomService calls by operation and outcome.",
    ["op", "outcome"],
)
BATCH_SECONDS = Histogram(
    "hudur_sweep_batch_seconds",
    "Time to prepare or finish one batch of due sessions, in one transaction.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
