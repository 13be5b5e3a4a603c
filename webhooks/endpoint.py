"""`POST /webhooks/livekit` (CONTRACT 3): size, signature, envelope, durable, then 200.

    Content-Length > 1 MiB          413  (before reading the body)
    no Authorization                401  (before reading the body)
    body read, capped at 1 MiB      413
    JWT + body hash (verify.py)     401
    envelope (envelope.py)          400  not JSON, not an object, no id/event, too deep
    group-committed append          200 accepted | 200 duplicate, after the commit
      (writer.py)
    the database cannot take it     503  (the whole batch rolled back; LiveKit retries
                                    5xx); also while the SQLite file is not the one
                                    opened (uow.ensure_durable)
    any other refusal after that    500  (never a 4xx for a verified event)

Nothing is derived here: the projector (engine.operations.projection) reads the
inbox after the commit.

`respond` is the whole route: the app sends `POST /webhooks/livekit` to it ahead of
its middleware chain (none of which a webhook needs: no user, no projection to
bring up to date), and it answers its own refusals in CONTRACT 5's error shape.

Visibility at thousands of deliveries a second (issue 11 item 5): every answer is
counted exactly (`hudur_webhook_events_total` by outcome and reason) and timed
(`hudur_webhook_ingest_seconds`). Log lines are sampled: every refusal, duplicate
and failure gets its line, accepted events one line in `LOG_EVERY` (the first one
included), with `sampled` saying so. The inbox itself is the record of each accepted
event (id, type, room, received_at, the raw body), kept forever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

import structlog
from aiohttp import web

from rules.errors import HudurError, PayloadTooLarge, Unavailable
from store.database import Database
from store.faults import DATABASE_FAULTS
from webhooks.envelope import read_envelope
from webhooks.metrics import INGEST_SECONDS, count_webhook
from webhooks.verify import WebhookVerifier, token_of
from webhooks.writer import GroupWriter

log = structlog.get_logger("hudur.webhooks")

MAX_BODY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024
LOG_EVERY = 100  # accepted events: one log line in this many
_ANSWERS = {status: f'{{"status":"{status}"}}'.encode() for status in ("accepted", "duplicate")}
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
    """The LiveKit webhook receiver of one API key, appending to one database's inbox."""

    def __init__(
        self,
        *,
        api_key: str,
        api_secret: str,
        clock: Callable[[], datetime],
        database: Callable[[], Database],
        http_error: Callable[[HudurError], tuple[int, str]],
        on_commit: Callable[[], None] | None = None,
        lock: Callable[[], AbstractAsyncContextManager[object]] | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        # The HTTP layer's error table (status, code), handed in: this package
        # never imports the engine, and a refusal's log line names its status.
        self._http_error = http_error
        self._verifier = WebhookVerifier(api_key, api_secret)
        self._clock = clock
        self._max_body = max_body
        self.writer = GroupWriter(database, on_commit=on_commit, lock=lock)
        self._accepted = 0

    async def respond(self, request: web.Request) -> web.Response:
        """The route: an answer for every request, refusals in the error shape."""
        try:
            return await self.handle(request)
        except HudurError as exc:
            status, code = self._http_error(exc)
            return web.json_response(
                {"error": {"code": code, "message": exc.message, "details": exc.details}},
                status=status,
            )

    async def handle(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            body = await self._checked_body(request)
            envelope = read_envelope(body)
        except HudurError as exc:
            _reject(exc, *self._http_error(exc))
            raise
        now = self._clock()
        try:
            status = await self.writer.append(envelope.stored(body, now=now))
        except DATABASE_FAULTS as exc:
            count_webhook("unavailable", "database")
            log.error("webhook_unavailable", event_type=envelope.event, error=repr(exc)[:500])
            raise Unavailable("the event could not be stored; retry later") from exc
        except HudurError as exc:
            # A verified event is never refused with a 4xx (LiveKit drops those for
            # good): whatever went wrong in here, it is a 500 and will be retried.
            count_webhook("unavailable", "internal")
            log.error("webhook_failed", event_type=envelope.event, error=repr(exc)[:500])
            raise HudurError("the event could not be processed; retry later") from exc
        kind = envelope.event if envelope.event in KNOWN_EVENTS else "other"
        count_webhook(status, kind)
        elapsed = time.perf_counter() - started
        INGEST_SECONDS.observe(elapsed)
        if status == "accepted":
            self._accepted += 1
            if self._accepted % LOG_EVERY == 1:
                log.info(
                    "webhook_accepted",
                    event_id=envelope.key,
                    event_type=envelope.event,
                    room=envelope.room_name,
                    ms=round(elapsed * 1000, 2),
                    sampled=LOG_EVERY,
                )
        else:
            log.info(
                "webhook_duplicate",
                event_id=envelope.key,
                event_type=envelope.event,
                room=envelope.room_name,
            )
        return web.Response(body=_ANSWERS[status], content_type="application/json")

    async def stop(self) -> None:
        await self.writer.stop()

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
    count_webhook("rejected", reason)
    log.warning("webhook_rejected", status=status, reason=reason, message=exc.message)
