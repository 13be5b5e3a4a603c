"""`hudur listen` and `hudur simulate --notify` (issue 14, item 7): a newcomer
watches a simulated day's messages arrive, each verified."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
import pytest

from engine import cli
from engine.app import create_app
from engine.notify.delivery import post
from engine.notify.listen import default_secret, listener_app
from engine.notify.worker import Notifier
from engine.settings import Settings
from engine.simulate.runner import simulate
from store.database import Database
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET, SERVICE_TOKEN
from tests.support.clock import ManualClock
from tests.support.receiver import OTHER_SECRET

SECRET = default_secret(SERVICE_TOKEN)


class TestListeningToASimulatedDay:
    async def test_every_message_of_the_day_is_printed_verified(
        self, aiohttp_server: Any, settings: Settings, database: Database, clock: ManualClock
    ) -> None:
        """simulate --notify registers the listener for its academy; each message
        the service writes arrives and is printed once, none rejected."""
        out = io.StringIO()
        listener = await aiohttp_server(listener_app(SECRET, out))
        service = await aiohttp_server(create_app(settings, clock=clock, database=database))
        await simulate(
            str(service.make_url("/")),
            sessions=2,
            seed=1,
            service_token=SERVICE_TOKEN,
            api_key=LIVEKIT_KEY,
            api_secret=LIVEKIT_SECRET,
            academy_id=77,
            progress=None,
            notify=(str(listener.make_url("/hooks")), SECRET),
        )
        notifier = Notifier(lambda: database, clock=clock)
        try:
            while await notifier.deliver_due():
                pass
        finally:
            await notifier.stop()
        async with database.uow() as uow:
            written = [(m.message_id, m.type) for m in await uow.outbox.messages()]
        lines = out.getvalue().splitlines()
        assert len(written) == len(lines) > 10
        assert sorted(written) == sorted((line.split()[2], line.split()[1]) for line in lines)
        assert not any("rejected" in line for line in lines)
        assert any("attendance.finalized" in line for line in lines)


class TestTheListener:
    async def test_a_message_signed_with_another_secret_is_rejected_and_printed(
        self, aiohttp_server: Any
    ) -> None:
        out = io.StringIO()
        listener = await aiohttp_server(listener_app(SECRET, out))
        message = {"type": "session.started", "timestamp": "2025-12-01T10:00:00Z", "data": {}}
        async with aiohttp.ClientSession() as http:
            forged = await post(
                http,
                str(listener.make_url("/")),
                secret=OTHER_SECRET,
                message_id="msg_1",
                payload=message,
                limit_seconds=5,
            )
            signed = await post(
                http,
                str(listener.make_url("/")),
                secret=SECRET,
                message_id="msg_2",
                payload=message,
                limit_seconds=5,
            )
        assert (401, 200) == (forged.status_code, signed.status_code)
        first, second = out.getvalue().splitlines()
        assert "rejected" in first and "No matching signature" in first
        assert "session.started" in second and "msg_2" in second


class TestTheCommand:
    def test_without_a_secret_or_a_service_token_listen_says_what_is_missing(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.delenv("HUDUR_SERVICE_TOKEN", raising=False)
        monkeypatch.chdir("/")
        monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)
        assert 2 == cli.main(["listen", "--port", "0"])
        assert "--secret" in capsys.readouterr().err

    def test_a_secret_that_is_not_base64_is_refused(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.chdir("/")
        monkeypatch.setattr(cli, "configure_logging", lambda *args, **kwargs: None)
        assert 2 == cli.main(["listen", "--port", "0", "--secret", "whsec_%%%"])
        err = capsys.readouterr().err
        assert "not a Standard Webhooks secret" in err and "%%%" not in err

    def test_the_default_secret_is_a_standard_webhooks_secret_of_32_bytes(self) -> None:
        import base64

        assert SECRET.startswith("whsec_")
        assert 32 == len(base64.b64decode(SECRET.removeprefix("whsec_")))
        assert SECRET != default_secret(SERVICE_TOKEN + "x")
