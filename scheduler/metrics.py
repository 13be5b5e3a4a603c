"""Counters of the sweeper and of its LiveKit RoomService calls."""

from __future__ import annotations

from prometheus_client import Counter

SWEEPS = Counter("hudur_sweeps_total", "Sweeper ticks run.")
ROOM_CALLS = Counter(
    "hudur_livekit_room_calls_total",
    "LiveKit RoomService calls by operation and outcome.",
    ["op", "outcome"],
)
