"""One signed POST (engine.notify.delivery): what counts as delivered, the timeout,
the cap on the answer read, redirects not followed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from engine.notify.delivery import post
from tests.support.receiver import SECRET

MESSAGE = {"type": "session.started", "timestamp": "2025-12-01T10:00:00Z", "data": {"id": 1}}


@pytest.fixture(name="never")
async def fixture_never() -> AsyncIterator[asyncio.Event]:
    """What a hanging handler waits for: set at the end, so the server can stop."""
    event = asyncio.Event()
    yield event
    event.set()


async def send(url: str, **kwargs: Any) -> Any:
    async with aiohttp.ClientSession() as http:
        return await post(http, url, secret=SECRET, message_id="msg_1", payload=MESSAGE, **kwargs)


class TestOnePost:
    async def test_an_endless_answer_is_read_up_to_the_cap_and_the_2xx_delivers(
        self, aiohttp_server: Any, never: asyncio.Event
    ) -> None:
        """The endpoint sends 200 and then more body than the cap, and never ends it:
        reading stops at the cap, so the message is delivered, not timed out."""

        async def endless(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse(status=200)
            await response.prepare(request)
            await response.write(b"x" * 8192)
            await never.wait()
            return response

        app = web.Application()
        app.router.add_post("/", endless)
        server = await aiohttp_server(app)
        outcome = await send(str(server.make_url("/")), limit_seconds=30, max_body=1024)
        assert (200, None, True) == (outcome.status_code, outcome.error, outcome.delivered)

    async def test_no_answer_within_the_timeout_is_no_answer(
        self, aiohttp_server: Any, never: asyncio.Event
    ) -> None:
        async def silent(request: web.Request) -> web.Response:
            await never.wait()
            return web.Response()

        app = web.Application()
        app.router.add_post("/", silent)
        server = await aiohttp_server(app)
        outcome = await send(str(server.make_url("/")), limit_seconds=0.2)
        assert (None, "no answer within 0.2 s", False) == (
            outcome.status_code,
            outcome.error,
            outcome.delivered,
        )

    @pytest.mark.parametrize("status", [301, 307, 400, 410, 500, 503])
    async def test_anything_but_a_2xx_is_not_delivered_and_redirects_are_not_followed(
        self, aiohttp_server: Any, status: int
    ) -> None:
        hits = []

        async def answer(request: web.Request) -> web.Response:
            hits.append(request.path)
            return web.Response(status=status, headers={"Location": "/elsewhere"})

        app = web.Application()
        app.router.add_post("/{tail:.*}", answer)
        server = await aiohttp_server(app)
        outcome = await send(str(server.make_url("/")), limit_seconds=5)
        assert (status, f"answered {status}", False, ["/"]) == (
            outcome.status_code,
            outcome.error,
            outcome.delivered,
            hits,
        )

    async def test_a_refused_connection_is_no_answer(self, unused_tcp_port: int) -> None:
        outcome = await send(f"http://127.0.0.1:{unused_tcp_port}/", limit_seconds=5)
        assert (None, False) == (outcome.status_code, outcome.delivered)
        assert outcome.error is not None and SECRET not in outcome.error
