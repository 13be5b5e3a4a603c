"""`GET /metrics`: the process's Prometheus metrics (text exposition format).

The backlog gauges are read from the database at each scrape rather than set by the
sweeper after its ticks: a sweeper that stalls is exactly when the backlog grows, and
a gauge it alone sets would freeze at its last good value and hide that. A scrape
costs one indexed count.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from engine.api import http
from engine.routes import Route
from store.faults import DATABASE_FAULTS

log = structlog.get_logger("hudur.metrics")

ROOM_OPERATIONS_PENDING = Gauge(
    "hudur_room_operations_pending",
    "LiveKit RoomService operations still pending (NaN: the database did not answer).",
)
ROOM_OPERATIONS_OLDEST = Gauge(
    "hudur_room_operations_oldest_pending_seconds",
    "Age of the oldest pending RoomService operation (0: none; NaN: no database).",
)


async def _read_backlogs(request: web.Request) -> None:
    pending: float
    oldest: float
    try:
        async with http.database(request).uow() as uow:
            pending, oldest = await uow.rooms.backlog(http.now(request))
    except DATABASE_FAULTS as exc:  # metrics still answer; the gauges say they are unknown
        log.warning("metrics_backlog_unread", error=str(exc))
        pending, oldest = float("nan"), float("nan")
    ROOM_OPERATIONS_PENDING.set(pending)
    ROOM_OPERATIONS_OLDEST.set(oldest)


async def metrics(request: web.Request) -> web.Response:
    await _read_backlogs(request)
    response = web.Response(body=generate_latest(REGISTRY))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


ROUTES = (
    Route(
        "GET",
        "/metrics",
        "Prometheus metrics",
        metrics,
        answer_media_type="text/plain",
        security=None,
        database=False,
        tag="operations",
    ),
)
