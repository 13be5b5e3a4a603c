"""Metrics of LiveKit webhook deliveries, their group commits and their projection."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WEBHOOKS = Counter(
    "hudur_webhook_events_total",
    "LiveKit webhook deliveries by outcome (accepted, duplicate, rejected, unavailable).",
    ["outcome", "reason"],
)

# Each (outcome, reason) series, looked up once: `labels()` was three quarters of a
# count's cost, paid at every delivery.
_COUNTED: dict[tuple[str, str], Counter] = {}


def count_webhook(outcome: str, reason: str) -> None:
    """One delivery counted in `hudur_webhook_events_total`."""
    series = _COUNTED.get((outcome, reason))
    if series is None:
        series = _COUNTED[(outcome, reason)] = WEBHOOKS.labels(outcome, reason)
    series.inc()


INGEST_SECONDS = Histogram(
    "hudur_webhook_ingest_seconds",
    "From a webhook's arrival to its answer (verify, append, group commit).",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
GROUP_COMMITS = Histogram(
    "hudur_inbox_group_commit_events",
    "Deliveries stored per inbox transaction (group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
PROJECTION_LAG_ROWS = Gauge(
    "hudur_projection_lag_rows", "Inbox rows stored but not yet projected (evidence, intervals)."
)
PROJECTION_LAG_SECONDS = Gauge(
    "hudur_projection_lag_seconds",
    "Age of the oldest inbox row not yet projected (0 when caught up).",
)
