"""The notify worker in the app: started after the database opens, stopped before
it closes (`HUDUR_NOTIFY_ENABLED=false`: this replica sends nothing)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

from aiohttp import web

from engine.keys import CLOCK, DATABASE, SETTINGS
from engine.notify.worker import Notifier

NOTIFIER = web.AppKey("notifier", Notifier)


def setup(app: web.Application, *, lock: Callable[[], AbstractAsyncContextManager[object]]) -> None:
    settings = app[SETTINGS]
    notifier = Notifier(
        lambda: app[DATABASE],
        clock=app[CLOCK],
        retry_scale=settings.notify_retry_scale,
        lease=timedelta(seconds=settings.notify_lease_seconds),
        lock=lock,
    )
    app[NOTIFIER] = notifier

    async def notify_ctx(_app: web.Application) -> AsyncIterator[None]:
        if settings.notify_enabled:
            notifier.start()
        yield
        await notifier.stop()

    app.cleanup_ctx.append(notify_ctx)
