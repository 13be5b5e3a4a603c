"""The app factory: settings in, a wired aiohttp Application out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import structlog
from aiohttp import web

from engine import fresh_reads, health, projector_child, sweeps
from engine.api import mount
from engine.api.errors import http_error
from engine.auth import rights_middleware
from engine.fresh_reads import fresh_reads_middleware
from engine.keys import CLOCK, DATABASE, SETTINGS, Clock
from engine.middleware import Handler, context_middleware, error_middleware
from engine.notify import setup as notify_setup
from engine.pages import attendance as attendance_page
from engine.projector import Projector
from engine.projector_child import ProjectorChild
from engine.settings import Settings
from store.database import Database
from webhooks.endpoint import WebhookEndpoint

log = structlog.get_logger("hudur.app")

MAX_BODY_BYTES = 1024 * 1024


def system_clock() -> datetime:
    return datetime.now(UTC)


WEBHOOK_PATH = "/webhooks/livekit"


def create_app(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    database: Database | None = None,
    projector_in_child: bool = False,
) -> web.Application:
    """Build the service. `database` may be handed in (tests share one); otherwise
    the app opens its own from the settings and closes it on cleanup. With
    `projector_in_child` (`hudur serve`) the live projector runs in a child process
    (engine/projector_child.py) and this one only catches up for its reads."""
    webhooks: WebhookEndpoint | None = None

    @web.middleware
    async def intake_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        """LiveKit's deliveries go straight to the intake: none of the middlewares
        below concern them (no user, no request log line, no projection to bring up
        to date), and at thousands a second each of them costs (issue 11)."""
        if request.method == "POST" and request.path == WEBHOOK_PATH and webhooks is not None:
            return await webhooks.respond(request)
        return await handler(request)

    app = web.Application(
        middlewares=[
            intake_middleware,
            context_middleware,
            error_middleware,
            rights_middleware,
            fresh_reads_middleware,
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        owned = database is None
        app[DATABASE] = database or Database(settings.database_url)
        yield
        if owned:
            await app[DATABASE].dispose()

    app.cleanup_ctx.append(database_ctx)
    sweeps.setup(app)  # the LiveKit gateway and the sweeper (after the database), POST /v1/sweeps
    health.setup(app)
    projector = Projector(
        lambda: app[DATABASE],
        clock=clock,
        allow_as_of=settings.allow_as_of,
        live=not projector_in_child,
        shared_turn=projector_in_child,
    )
    fresh_reads.setup(app, projector)  # after the database; stopped before it closes
    if projector_in_child:
        projector_child.setup(app, ProjectorChild())
    webhooks = WebhookEndpoint(
        api_key=settings.livekit_api_key,
        api_secret=settings.livekit_api_secret,
        clock=clock,
        database=lambda: app[DATABASE],
        http_error=http_error,
        on_commit=projector.wake,
        lock=projector.intake_lock,
    )

    async def intake_ctx(_app: web.Application) -> AsyncIterator[None]:
        yield
        await webhooks.stop()  # before the database closes

    app.cleanup_ctx.append(intake_ctx)
    notify_setup.setup(app, lock=projector.writer_lock)  # the outbox's signed POSTs
    app.router.add_post(WEBHOOK_PATH, webhooks.respond)
    mount.setup(app)  # every CONTRACT 5 endpoint of engine/api, and GET /openapi.json
    attendance_page.setup(app)  # the teacher's HTML page, GET/POST /sessions/{id}/attendance
    return app
