"""The projector in the web app: run while the app runs, and every read made fresh.

CONTRACT 3 (no stale reads): every HTTP request except the webhook intake and the
probes passes through `Projector.catch_up` first (`fresh_reads_middleware`). A
handler marked `checks_freshness_itself` instead reads the position in its own first
query and calls `catch_up` only when that query finds the projection behind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from engine.projector import Projector

# Paths whose answers read no projection: the intake itself and the probes.
_UNPROJECTED = ("/webhooks/", "/healthz", "/readyz", "/metrics")

PROJECTOR = web.AppKey("projector", Projector)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Handlers whose first statement reads the projection's position beside their data
# (and call `catch_up` only when it was behind): the middleware leaves them alone, so
# the hottest reads pay no statement, connection or transaction for the check.
_OWN_CHECK: set[Callable[..., Any]] = set()


def checks_freshness_itself(handler: Handler) -> Handler:
    """Mark `handler` as one that keeps CONTRACT 3 in its own read (see `_OWN_CHECK`)."""
    _OWN_CHECK.add(handler)
    return handler


@web.middleware
async def fresh_reads_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bring the projection up to every acknowledged event before any read or write."""
    if not request.path.startswith(_UNPROJECTED) and request.match_info.handler not in _OWN_CHECK:
        await request.app[PROJECTOR].catch_up()
    return await handler(request)


def setup(app: web.Application, projector: Projector) -> None:
    """Run `projector` while the app runs (after the database is open)."""
    app[PROJECTOR] = projector

    async def projector_ctx(_app: web.Application) -> Any:
        projector.start()
        yield
        await projector.stop()

    app.cleanup_ctx.append(projector_ctx)
