"""Counters of LiveKit webhook deliveries."""

from __future__ import annotations

from prometheus_client import Counter

WEBHOOKS = Counter(
    "hudur_webhook_events_total",
    "LiveKit webhook deliveries by outcome (accepted, duplicate, rejected, unavailable).",
    ["outcome", "reason"],
)
