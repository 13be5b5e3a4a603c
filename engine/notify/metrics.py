"""Metrics of outgoing notifications."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_BACKLOG = Gauge(
    "hudur_notification_backlog",
    "Outbox messages neither delivered nor given up (all endpoints).",
)
DELIVERIES = Counter(
    "hudur_notification_deliveries_total",
    "Notification delivery attempts by outcome (delivered, retrying, failed: given up).",
    ["outcome"],
)
DELIVERY_SECONDS = Histogram(
    "hudur_notification_delivery_seconds",
    "One signed POST to the platform, from sending to its answer (or the timeout).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
