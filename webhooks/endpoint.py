"""`POST /webhooks/livekit` (CONTRACT 3): size, signature, shape, then durable, then 200.

    Content-Length > 1 MiB         413  (before reading the body)
    no Authorization               401  (before reading the body)
    body read, capped at 1 MiB     413
    JWT + body hash (verify.py)    401
    WebhookEvent (parse.py)        400
    presence.take_in (the engine)  200 accepted | 200 duplicate, after the commit
    the database cannot take it    503  (rolled back; LiveKit retries 5xx); also while
                                   the SQLite file is not the one opened (uow.ensure_durable)
    any other refusal after that   500  (rolled back; never a 4xx for a verified event)

Every answer is counted (`hudur_webhook_events_total{outcome, reason}`) and logged
once, with the event id bound once it is known. The engine constructs one
`WebhookEndpoint` and routes to its `handle`; this module reaches the engine only
through its presence operation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime

import structlog
from aiohttp import web

from engine.operations.presence import take_in
from rules.errors import HudurError, PayloadTooLarge, Unavailable
from store.database import Database
from store.faults import DATABASE_FAULTS
from webhooks.metrics import WEBHOOKS
from webhooks.parse import parse_event
from webhooks.verify import WebhookVerifier, token_of

log = structlog.get_logger("hudur.webhooks")

MAX_BODY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024
# Event types counted by name; anything newer is counted as "other".
KNOWN_EVENTS = frozenset(
    {
        "room_started",
        "room_finished",
        "participant_joined",
        "participant_left",
        "participant_connection_aborted",
        "track_published",
        "track_unpublished",
        "egress_started",
        "egress_updated",
        "egress_ended",
        "ingress_started",
        "ingress_ended",
    }
)


class WebhookEndpoint:
    """The LiveKit webhook receiver of one API key, writing into one database."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        clock: Callable[[], datetime],
        database: Callable[[], Database],
        http_error: Callable[[HudurError], tuple[int, str]],
        allow_as_of: bool,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        # The HTTP layer's error table (status, code), handed in: this package
        # never imports the engine, and a refusal's log line names its status.
        self._http_error = http_error
        self._verifier = WebhookVerifier(api_key, api_secret)
        self._clock = clock
        # Where `as_of` is allowed, events are dated in simulated time: no receipt rule.
        self._allow_as_of = allow_as_of
        self._database = database
        self._max_body = max_body
        self._sqlite_lock: asyncio.Lock | None = None

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = await self._checked_body(request)
            event = parse_event(body)
        except HudurError as exc:
            _reject(exc, *self._http_error(exc))
            raise
        structlog.contextvars.bind_contextvars(event_id=event.id)
        database = self._database()
        try:
            async with self._writer(database), database.uow() as uow:
                intake = await take_in(
                    uow, event, body, now=self._clock(), allow_as_of=self._allow_as_of
                )
                if intake.status == "accepted":
                    await uow.commit()
                else:  # "duplicate" acknowledges too: only if the stored one lasts
                    uow.ensure_durable()
        except DATABASE_FAULTS as exc:
            WEBHOOKS.labels("unavailable", "database").inc()
            log.error("webhook_unavailable", event_type=event.event, error=repr(exc)[:500])
            raise Unavailable("the event could not be stored; retry later") from exc
        except HudurError as exc:
            # A verified event is never refused with a 4xx (LiveKit drops those for
            # good): whatever went wrong in here, it is a 500 and will be retried.
            WEBHOOKS.labels("unavailable", "internal").inc()
            log.error("webhook_failed", event_type=event.event, error=repr(exc)[:500])
            raise HudurError("the event could not be processed; retry later") from exc
        kind = event.event if event.event in KNOWN_EVENTS else "other"
        WEBHOOKS.labels(intake.status, kind).inc()
        log.info(
            f"webhook_{intake.status}",
            event_type=event.event,
            room=event.room_name,
            session_id=intake.session_id,
            evidence=intake.evidence,
            started=intake.started,
            removal=intake.removal,
        )
        return web.json_response({"status": intake.status})

    def _writer(self, database: Database) -> AbstractAsyncContextManager[object]:
        """SQLite has one writer at a time, and its waiters poll with sleeps of up to
        100 ms: queue this process's deliveries in the event loop instead, first come
        first served. PostgreSQL needs no such thing (row locks)."""
        if database.dialect != "sqlite":
            return nullcontext()
        if self._sqlite_lock is None:
            self._sqlite_lock = asyncio.Lock()
        return self._sqlite_lock

    async def _checked_body(self, request: web.Request) -> bytes:
        """The raw body, verified: size first, then the token and the body hash."""
        if request.content_length is not None and request.content_length > self._max_body:
            raise self._too_large()
        authorization = request.headers.get("Authorization")
        token_of(authorization)  # no credential: refused before the body is read
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(_CHUNK):
            size += len(chunk)
            if size > self._max_body:
                raise self._too_large()
            chunks.append(chunk)
        body = b"".join(chunks)
        self._verifier.verify(authorization, body)
        return body

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the body is over {self._max_body} bytes", details={"limit": self._max_body}
        )


def _reject(exc: HudurError, status: int, code: str) -> None:
    details = exc.details if isinstance(exc.details, dict) else {}
    reason = {400: "malformed", 413: "too_large"}.get(status) or str(details.get("reason", code))
    WEBHOOKS.labels("rejected", reason).inc()
    log.warning("webhook_rejected", status=status, reason=reason, message=exc.message)
