"""A platform's receiver of Hudur's notifications, on loopback: it verifies every
POST with `standardwebhooks.Webhook` (the reference), answers as told, and records
what came, so tests can check completeness, order, retries and concurrency.

    receiver = await Receiver.start(SECRET, fail=every_third_first_attempt)
    ... await receiver.wait_until(lambda r: len(r.delivered) >= 3)
    await receiver.stop()
"""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 132))).decode()


@dataclass(frozen=True, slots=True)
class Arrival:
    message_id: str
    attempt: int  # 1: the first time this webhook-id came
    answered: int
    payload: dict[str, Any]


# (ordinal of the message among distinct webhook-ids, 1-based; attempt) -> fail?
FailPolicy = Callable[[int, int], bool]


def every_third_first_attempt(ordinal: int, attempt: int) -> bool:
    return ordinal % 3 == 0 and attempt == 1


def never(ordinal: int, attempt: int) -> bool:
    return False


class Receiver:
    def __init__(self, secret: str, *, fail: FailPolicy = never, delay: float = 0.0) -> None:
        self.webhook = Webhook(secret)
        self.fail = fail
        self.delay = delay  # how long the platform takes to answer (a slow receiver)
        self.arrivals: list[Arrival] = []
        self.delivered: dict[str, dict[str, Any]] = {}  # webhook-id -> payload, in order
        self.ordinals: dict[str, int] = {}
        self.rejected = 0
        self.in_flight: Counter[str] = Counter()
        self.most_at_once: Counter[str] = Counter()
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    @classmethod
    async def start(cls, secret: str = SECRET, **kwargs: Any) -> Receiver:
        receiver = cls(secret, **kwargs)
        app = web.Application()
        app.router.add_post("/hooks", receiver.handle)
        receiver._runner = web.AppRunner(app, access_log=None)
        await receiver._runner.setup()
        site = web.TCPSite(receiver._runner, "127.0.0.1", 0)
        await site.start()
        port = receiver._runner.addresses[0][1]
        receiver.url = f"http://127.0.0.1:{port}/hooks"
        return receiver

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            payload = self.webhook.verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.rejected += 1
            return web.Response(status=401)
        message_id = request.headers["webhook-id"]
        self.in_flight[message_id] += 1
        self.most_at_once[message_id] = max(
            self.most_at_once[message_id], self.in_flight[message_id]
        )
        try:
            if self.delay:
                await asyncio.sleep(self.delay)  # the platform at work, not a test waiting
            ordinal = self.ordinals.setdefault(message_id, len(self.ordinals) + 1)
            attempt = 1 + sum(1 for a in self.arrivals if a.message_id == message_id)
            status = 500 if self.fail(ordinal, attempt) else 200
            self.arrivals.append(Arrival(message_id, attempt, status, payload))
            if status == 200:
                self.delivered.setdefault(message_id, payload)
            async with self._changed:
                self._changed.notify_all()
            return web.Response(status=status, text="ok" if status == 200 else "try again")
        finally:
            self.in_flight[message_id] -= 1

    async def wait_until(
        self, condition: Callable[[Receiver], bool], *, within: float = 60.0
    ) -> None:
        """Return once `condition(self)` holds; TimeoutError after `within` seconds."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: condition(self)), within)

    def of_type(self, prefix: str) -> list[dict[str, Any]]:
        """Delivered payloads whose type starts with `prefix`, in order of delivery."""
        return [p for p in self.delivered.values() if p["type"].startswith(prefix)]
