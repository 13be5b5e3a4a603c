"""The notify worker that every `hudur serve` runs: the outbox delivered as signed
POSTs, at least once, in order per session and endpoint (CONTRACT 6).

A background task owned by the app's cleanup_ctx claims due messages in small
batches and sends each in its own task, up to `max_in_flight` at once. It is woken
by every local commit that wrote to the outbox (so a message's first attempt
follows its commit at once, whatever the sweep interval) and polls every `poll`
seconds for what other replicas wrote and for retries coming due.

Sharing the work: a claim leases its rows for `lease` (longer than a POST's
timeout) under this worker's name, in a transaction of its own; PostgreSQL's
`FOR UPDATE SKIP LOCKED` lets replicas claim side by side without waiting or taking
the same row. The outcome is written only while the lease is still this worker's.
A worker that dies mid-send leaves its lease to run out; the message is then sent
again (at least once; `webhook-id` lets the receiver deduplicate).

Order: a message is claimable only while no earlier message of its session for the
same endpoint is pending, so a session's next message waits for the previous one
to be delivered or given up. Retries follow `rules.notify.next_attempt` on this
worker's clock (`clock`, injected: tests move it by hand); `webhook-timestamp` is
the wall time of the attempt (`wall`), which receivers check against their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime, timedelta

import aiohttp
import structlog

from engine.notify.delivery import MAX_ANSWER_BYTES, Outcome, post
from engine.notify.metrics import DELIVERIES, DELIVERY_SECONDS, OUTBOX_BACKLOG
from rules.notify import next_attempt
from store.database import Database
from store.repositories.notifications import DELIVERED, FAILED, PENDING, Claimed

log = structlog.get_logger("hudur.notify")

TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 0.5
LEASE = timedelta(seconds=60)
BATCH = 50
MAX_IN_FLIGHT = 50
MEASURE_EVERY_SECONDS = 1.0
# Delivered messages are kept this long (for `GET …/deliveries`), then forgotten with
# their attempts; given-up (`failed`) ones are kept.
KEEP_DELIVERED = timedelta(days=30)
PRUNE_EVERY_SECONDS = 3600.0

Clock = Callable[[], datetime]


def _wall() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(
        self,
        database: Callable[[], Database],
        *,
        clock: Clock,
        wall: Clock = _wall,
        timeout: float = TIMEOUT_SECONDS,
        poll: float = POLL_SECONDS,
        lease: timedelta = LEASE,
        batch: int = BATCH,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_body: int = MAX_ANSWER_BYTES,
        retry_scale: float = 1.0,
        name: str | None = None,
        lock: Callable[[], AbstractAsyncContextManager[object]] | None = None,
    ) -> None:
        self._database = database
        self._clock = clock
        self._wall = wall
        self._timeout = timeout
        self._poll = poll
        self._lease = lease
        self._batch = batch
        self._max_in_flight = max_in_flight
        self._max_body = max_body
        self._retry_scale = retry_scale
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._client: aiohttp.ClientSession | None = None
        self._lock = lock or nullcontext
        self._measured = 0.0
        self._pruned = -PRUNE_EVERY_SECONDS
        self.failures = 0
        self.attempts = 0  # POSTs this worker made (answered or not)
        self.recorded = 0  # outcomes it wrote back
        self._progress = asyncio.Condition()

    # --- running in the background ---------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._database().outbox_listeners.add(self.wake)
        self._task = asyncio.create_task(self._loop(), name="hudur-notify")

    async def stop(self) -> None:
        self._database().outbox_listeners.discard(self.wake)
        tasks = [t for t in (self._task, *self._sending) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self._claim_and_send(wait=False)
                await self._measure()
                if time.monotonic() - self._pruned >= PRUNE_EVERY_SECONDS:
                    self._pruned = time.monotonic()
                    await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next wake-up or poll tries again
                self.failures += 1
                log.exception("notify_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    # --- one round ----------------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Claim what is due now and send it, waiting for the answers; how many were
        sent. Tests call this to step the worker by hand."""
        return await self._claim_and_send(wait=True)

    async def _claim_and_send(self, *, wait: bool) -> int:
        room = min(self._batch, self._max_in_flight - len(self._sending))
        if room <= 0:
            return 0
        now = self._clock()
        # Read first, lease only what is there: a claim on SQLite takes the write lock
        # at BEGIN, and this runs twice a second in every process, mostly for nothing.
        async with self._database().reading(snapshot=False) as uow:
            if not await uow.outbox.any_due(now=now):
                return 0
        async with self._lock(), self._database().uow() as uow:
            claimed = await uow.outbox.claim(
                now=now, lease_until=now + self._lease, owner=self.name, limit=room
            )
            endpoints = await uow.endpoints.get_many(sorted({c.endpoint_id for c in claimed}))
            await uow.commit()
        tasks = []
        for message in claimed:
            endpoint = endpoints.get(message.endpoint_id)
            if endpoint is None:  # deleted meanwhile: its rows went with it
                continue
            task = asyncio.create_task(self._send(message, endpoint.url, endpoint.secret))
            self._sending.add(task)
            task.add_done_callback(self._sent)
            tasks.append(task)
        if len(claimed) == room:
            self.wake()  # there may be more
        if wait and tasks:
            await asyncio.gather(*tasks)
        return len(tasks)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        self.wake()  # the session's next message may be due now

    async def _send(self, message: Claimed, url: str, secret: str) -> None:
        bound = log.bind(
            message_id=message.message_id,
            endpoint_id=message.endpoint_id,
            session_id=message.session_id,
            type=message.type,
        )
        try:
            outcome = await post(
                self._http(),
                url,
                secret=secret,
                message_id=message.message_id,
                payload=message.payload,
                limit_seconds=self._timeout,
                max_body=self._max_body,
                wall=self._wall,
            )
            self.attempts += 1
            DELIVERY_SECONDS.observe(outcome.seconds)
            await self._record(message, outcome, bound)
        except asyncio.CancelledError:
            raise
        except Exception:  # the lease runs out and the message is tried again
            self.failures += 1
            bound.exception("notify_send_failed")

    async def _record(
        self, message: Claimed, outcome: Outcome, bound: structlog.BoundLogger
    ) -> None:
        now = self._clock()
        attempt = message.attempts + 1
        first = message.first_attempt_at or now
        state, due = DELIVERED, now
        if not outcome.delivered:
            retry = next_attempt(
                attempts=attempt, failed_at=now, written_at=first, scale=self._retry_scale
            )
            state, due = (PENDING, retry) if retry is not None else (FAILED, now)
        async with self._lock(), self._database().uow() as uow:
            await uow.outbox.record_attempt(
                message,
                attempt=attempt,
                at=now,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=round(outcome.seconds * 1000),
            )
            kept = await uow.outbox.settle(
                message.id,
                owner=self.name,
                state=state,
                attempts=attempt,
                first_attempt_at=first,
                next_attempt_at=due,
                status_code=outcome.status_code,
                now=now,
            )
            await uow.commit()
        async with self._progress:
            self.recorded += 1
            self._progress.notify_all()
        outcome_label = {DELIVERED: "delivered", PENDING: "retrying", FAILED: "failed"}[state]
        DELIVERIES.labels(outcome_label).inc()
        bound.info(
            "notification",
            outcome=outcome_label,
            attempt=attempt,
            status_code=outcome.status_code,
            error=outcome.error,
            next_attempt_at=due.isoformat() if state == PENDING else None,
            lease_kept=kept,
        )

    async def prune(self) -> int:
        """Forget what was delivered more than `KEEP_DELIVERED` ago (this worker's clock)."""
        async with self._lock(), self._database().uow() as uow:
            gone = await uow.outbox.prune_delivered(before=self._clock() - KEEP_DELIVERED)
            await uow.commit()
        if gone:
            log.info("notifications_pruned", messages=gone)
        return gone

    async def wait_recorded(self, count: int) -> None:
        """Return once this worker has written `count` outcomes back."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.recorded >= count)

    def _http(self) -> aiohttp.ClientSession:
        if self._client is None:
            self._client = aiohttp.ClientSession()
        return self._client

    async def _measure(self) -> None:
        if time.monotonic() - self._measured < MEASURE_EVERY_SECONDS:
            return
        self._measured = time.monotonic()
        # A read of one statement: no write lock (on SQLite a write unit of work would
        # take it every second, and the projector child's turn found it taken).
        async with self._database().reading(snapshot=False) as uow:
            OUTBOX_BACKLOG.set(await uow.outbox.backlog())
