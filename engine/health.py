"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web

from engine.keys import DATABASE, ROOMS
from rules.errors import Unavailable


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[DATABASE].ready()
    except Exception as exc:  # a database that cannot take a write now means not ready
        raise Unavailable("database unavailable", details={"error": str(exc)}) from exc
    return web.json_response({"status": "ready", "checks": {"livekit": await _livekit(request)}})


async def _livekit(request: web.Request) -> str:
    """LiveKit's RoomService, reported but never a reason to be not ready: room work
    waits in room_operations until LiveKit is back, while webhooks and the API go on."""
    rooms = request.app[ROOMS]
    if not rooms.enabled:
        return "not_configured"
    error = await rooms.probe()
    return "ok" if error is None else f"unreachable: {error}"


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
