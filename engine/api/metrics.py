"""`GET /metrics`: the process's Prometheus metrics (text exposition format).

The backlog gauges (room operations, and the projection's lag in rows and seconds)
are read from the database at each scrape rather than set by the sweeper or the
projector after their work: a worker that stalls is exactly when its backlog grows,
and a gauge it alone sets would freeze at its last good value and hide that. A
scrape costs two indexed counts.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest

from engine.api import http
from engine.routes import Route
from store.faults import DATABASE_FAULTS
from webhooks.metrics import PROJECTION_LAG_ROWS, PROJECTION_LAG_SECONDS

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
    lag_rows: float
    lag_seconds: float
    now = http.now(request)
    try:
        # A read, never the write lock: on SQLite a scrape that began a write would
        # wait for the projector's turns, then read NaN.
        async with http.database(request).reading() as uow:
            pending, oldest = await uow.rooms.backlog(now)
            projection = await uow.projection.backlog()
    except DATABASE_FAULTS as exc:  # metrics still answer; the gauges say they are unknown
        log.warning("metrics_backlog_unread", error=str(exc))
        pending = oldest = lag_rows = lag_seconds = float("nan")
    else:
        lag_rows = projection.rows
        behind = projection.oldest_received_at
        lag_seconds = 0.0 if behind is None else max((now - behind).total_seconds(), 0.0)
    ROOM_OPERATIONS_PENDING.set(pending)
    ROOM_OPERATIONS_OLDEST.set(oldest)
    PROJECTION_LAG_ROWS.set(lag_rows)
    PROJECTION_LAG_SECONDS.set(lag_seconds)


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
