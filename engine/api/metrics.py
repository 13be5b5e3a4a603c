"""`GET /metrics`: the process's Prometheus metrics (text exposition format)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from engine.routes import Route


async def metrics(request: web.Request) -> web.Response:
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
