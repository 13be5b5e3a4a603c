"""`POST /webhooks/livekit` over HTTP: what it accepts, what it refuses, and that a
refusal stores nothing (CONTRACT 3), on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import structlog
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY

from store.database import Database
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET
from tests.support.livekit import joined
from tests.support.signed_requests import (
    CONTENT_TYPE,
    PATH,
    auth_headers,
    body_hash,
    post_webhook,
    sign,
    stored,
)

ROOM = "QSE-1-000001"
AT = datetime(2025, 12, 1, 10, 0, 30, tzinfo=UTC)
NOTHING = {"inbox": 0, "evidence": 0, "intervals": 0, "transitions": 0, "room_operations": 0}
MIB = 1024 * 1024


def _body() -> bytes:
    return joined(ROOM, "PA_1", "10", AT, odd_spacing=True)


def _token(
    body: bytes, *, algorithm: str = "HS256", secret: str = LIVEKIT_SECRET, **claims: object
) -> str:
    """A hand-made LiveKit-like token, for what AccessToken cannot produce."""
    now = datetime.now(UTC)
    payload: dict[str, object] = {
        "iss": LIVEKIT_KEY,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "sha256": body_hash(body),
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)


def _counted(outcome: str, reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "hudur_webhook_events_total", {"outcome": outcome, "reason": reason}
    )
    return value or 0.0


async def _error(response: object, status: int, code: str) -> dict[str, object]:
    body = await response.json()  # type: ignore[attr-defined]
    assert status == response.status  # type: ignore[attr-defined]
    assert {"error"} == set(body)
    assert code == body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


class TestAccepted:
    async def test_a_signed_event_is_accepted_and_stored_once(
        self, client: TestClient, database: Database
    ) -> None:
        """A valid delivery answers 200 accepted and is in the inbox when it does."""
        response = await post_webhook(client, _body())
        assert 200 == response.status
        assert {"status": "accepted"} == await response.json()
        assert 1 == (await stored(database))["inbox"]

    async def test_the_same_event_again_is_a_duplicate_and_stores_nothing_new(
        self, client: TestClient, database: Database
    ) -> None:
        """A retry of an event already stored answers 200 duplicate."""
        body = _body()
        await post_webhook(client, body)
        before = await stored(database)
        response = await post_webhook(client, body)
        assert {"status": "duplicate"} == await response.json()
        assert 200 == response.status
        assert before == await stored(database)

    async def test_a_bearer_token_is_accepted_too(self, client: TestClient) -> None:
        """LiveKit sends the bare token; `Bearer <token>` works as well."""
        response = await post_webhook(client, _body(), bearer=True)
        assert 200 == response.status

    async def test_the_raw_bytes_are_kept_exactly_as_received(
        self, client: TestClient, database: Database
    ) -> None:
        """Odd spacing and all: the inbox holds the very bytes that were signed."""
        body = _body()
        await post_webhook(client, body)
        async with database.uow() as uow:
            (row,) = await uow.inbox.all()
            kept = row.body
        assert body == kept
        assert b", " in kept

    async def test_a_token_expired_within_the_leeway_is_accepted(self, client: TestClient) -> None:
        """LiveKit's own verifier allows a minute of clock skew; so do we."""
        body = _body()
        now = datetime.now(UTC)
        token = _token(body, nbf=now - timedelta(minutes=5), exp=now - timedelta(seconds=30))
        response = await post_webhook(client, body, token=token)
        assert 200 == response.status

    async def test_a_token_valid_within_the_leeway_from_now_is_accepted(
        self, client: TestClient
    ) -> None:
        """A sender whose clock runs a little ahead is not refused."""
        body = _body()
        token = _token(body, nbf=datetime.now(UTC) + timedelta(seconds=30))
        response = await post_webhook(client, body, token=token)
        assert 200 == response.status

    async def test_a_body_of_exactly_one_mebibyte_is_accepted(self, client: TestClient) -> None:
        """The limit is inclusive: 1 MiB is fine, one byte more is not."""
        body = _body()
        body += b" " * (MIB - len(body))
        assert MIB == len(body)
        response = await post_webhook(client, body)
        assert 200 == response.status

    async def test_an_unknown_event_type_with_unknown_fields_is_accepted(
        self, client: TestClient, database: Database
    ) -> None:
        """LiveKit grows: new event types and fields are stored and otherwise ignored."""
        body = json.dumps(
            {
                "event": "agent_job_started",
                "id": "EV_newKind000001",
                "createdAt": "1764583300",
                "job": {"id": "AJ_1", "state": {"status": "JS_RUNNING"}},
                "futureField": [1, 2, 3],
            }
        ).encode()
        response = await post_webhook(client, body)
        assert {"status": "accepted"} == await response.json()
        assert {**NOTHING, "inbox": 1} == await stored(database)

    @pytest.mark.parametrize(
        "oddity",
        [b"NaN", b"-Infinity", b"18446744073709551616", b'"\\ud800"'],
        ids=["nan", "infinity", "integer-past-64-bits", "lone-surrogate"],
    )
    async def test_a_field_only_the_standard_json_reads_is_still_accepted(
        self, client: TestClient, database: Database, oddity: bytes
    ) -> None:
        """orjson refuses these (webhooks/jsontext.py); a verified event is not refused
        for what its fields hold, so json's reading decides."""
        body = b'{"event":"agent_job_started","id":"EV_odd","futureField":' + oddity + b"}"
        response = await post_webhook(client, body)
        assert {"status": "accepted"} == await response.json()
        assert {**NOTHING, "inbox": 1} == await stored(database)

    async def test_an_accepted_event_is_logged_with_its_id_and_counted(
        self, client: TestClient
    ) -> None:
        """One structured log line per delivery, carrying the event id, and a counter."""
        before = _counted("accepted", "participant_joined")
        with structlog.testing.capture_logs(
            processors=[structlog.contextvars.merge_contextvars]
        ) as logs:
            await post_webhook(client, joined(ROOM, "PA_1", "10", AT, event_id="EV_logged0000001"))
        (line,) = [entry for entry in logs if entry["event"] == "webhook_accepted"]
        assert "EV_logged0000001" == line["event_id"]
        assert "participant_joined" == line["event_type"]
        assert before + 1 == _counted("accepted", "participant_joined")


class TestUnauthorized:
    """Every failed check answers 401 in the error shape, and nothing is stored."""

    @pytest.mark.parametrize(
        ("reason", "make_token"),
        [
            ("bad_signature", lambda b: sign(b, secret="another-secret-0123456789abcdef01234")),
            ("wrong_key", lambda b: sign(b, key="APIotherkey")),
            ("bad_algorithm", lambda b: _token(b, algorithm="HS512", secret=LIVEKIT_SECRET * 2)),
            ("bad_algorithm", lambda b: _token(b, algorithm="none", secret="")),
            ("expired", lambda b: sign(b, ttl=timedelta(minutes=-2))),
            (
                "not_yet_valid",
                lambda b: _token(b, nbf=datetime.now(UTC) + timedelta(minutes=2)),
            ),
            ("missing_claim", lambda b: _token(b, exp=None)),
            ("missing_claim", lambda b: _token(b, iss=None)),
            ("missing_hash", lambda b: _token(b, sha256=None)),
            ("hash_mismatch", lambda b: _token(b, sha256=body_hash(b + b" "))),
            ("hash_mismatch", lambda b: _token(b, sha256="not base64!")),
            ("malformed_token", lambda b: "not-a-jwt"),
        ],
        ids=lambda value: value if isinstance(value, str) else "",
    )
    async def test_a_bad_token_is_refused(
        self, client: TestClient, database: Database, reason: str, make_token: object
    ) -> None:
        """Wrong secret, wrong key, alg other than HS256, expired, not yet valid,
        missing claims, missing or wrong hash, garbage: 401, nothing stored."""
        body = _body()
        before = _counted("rejected", reason)
        response = await post_webhook(client, body, token=make_token(body))  # type: ignore[operator]
        error = await _error(response, 401, "unauthorized")
        assert {"reason": reason} == error["details"]
        assert NOTHING == await stored(database)
        assert before + 1 == _counted("rejected", reason)

    @pytest.mark.parametrize("authorization", [None, "", "Bearer ", "   "])
    async def test_a_missing_authorization_header_is_refused(
        self, client: TestClient, database: Database, authorization: str | None
    ) -> None:
        """No token at all: 401, nothing stored."""
        headers = {"Content-Type": CONTENT_TYPE}
        if authorization is not None:
            headers["Authorization"] = authorization
        response = await post_webhook(client, _body(), headers=headers)
        error = await _error(response, 401, "unauthorized")
        assert {"reason": "missing_authorization"} == error["details"]
        assert NOTHING == await stored(database)

    async def test_a_re_serialised_body_is_refused(
        self, client: TestClient, database: Database
    ) -> None:
        """The same JSON with other spacing is not the body that was signed."""
        body = _body()
        token = sign(body)
        reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
        assert json.loads(body) == json.loads(reserialised)
        response = await post_webhook(client, reserialised, token=token)
        error = await _error(response, 401, "unauthorized")
        assert {"reason": "hash_mismatch"} == error["details"]
        assert NOTHING == await stored(database)

    async def test_a_refusal_is_logged(self, client: TestClient) -> None:
        """The log line names why the delivery was refused."""
        body = _body()
        with structlog.testing.capture_logs() as logs:
            await post_webhook(client, body, token=sign(body, key="APIotherkey"))
        (line,) = [entry for entry in logs if entry["event"] == "webhook_rejected"]
        assert ("wrong_key", 401) == (line["reason"], line["status"])


class TestTooLarge:
    async def test_a_declared_length_over_one_mebibyte_is_refused_before_the_body_is_read(
        self, client: TestClient, database: Database
    ) -> None:
        """413 comes back while the client is still stuck sending the body: the
        server answered from Content-Length alone."""
        body = _body()
        released = asyncio.Event()

        async def stalled() -> AsyncIterator[bytes]:
            yield body
            await released.wait()  # never sends the rest until the answer is in

        headers = {**auth_headers(body), "Content-Length": str(MIB + 1)}
        response = await client.post(PATH, data=stalled(), headers=headers)
        error = await _error(response, 413, "payload_too_large")
        released.set()
        response.close()
        assert {"limit": MIB} == error["details"]
        assert NOTHING == await stored(database)

    async def test_a_chunked_body_over_one_mebibyte_is_refused_at_the_cap(
        self, client: TestClient, database: Database
    ) -> None:
        """Without a Content-Length the read itself stops at the limit."""
        before = _counted("rejected", "too_large")
        body = _body() + b" " * MIB

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]

        response = await client.post(PATH, data=chunks(), headers=auth_headers(body))
        await _error(response, 413, "payload_too_large")
        assert NOTHING == await stored(database)
        assert before + 1 == _counted("rejected", "too_large")


class TestBadRequest:
    @pytest.mark.parametrize(
        ("body", "details"),
        [
            (b"{not json", None),
            (b"[1, 2, 3]", {"body": "not an object"}),
            (b'{"event": "room_started", "createdAt": "1764583200"}', {"id": "required"}),
            (
                b'{"event": "room_started", "id": "EV_1", "createdAt": "soon"}',
                {"createdAt": "must be an int64"},
            ),
            (
                b'{"event": "participant_joined", "id": "EV_1", "createdAt": "1764583200",'
                b' "room": {"name": "QSE-1-000001"}}',
                {"participant.sid": "required", "participant.identity": "required"},
            ),
            (
                b'{"event": "room_finished", "id": "EV_1", "createdAt": "1764583200"}',
                {"room.name": "required"},
            ),
            (
                b'{"event": "participant_left", "id": "EV_1", "createdAt": "1764583200",'
                b' "room": "QSE-1-000001", "participant": {"sid": 7, "identity": "10"}}',
                {
                    "room": "must be an object",
                    "room.name": "required",
                    "participant.sid": "must be a string",
                },
            ),
        ],
        ids=["not-json", "array", "no-id", "bad-time", "no-participant", "no-room", "bad-types"],
    )
    async def test_a_signed_body_that_is_not_a_webhook_event_is_refused(
        self, client: TestClient, database: Database, body: bytes, details: object
    ) -> None:
        """Correctly signed but not a WebhookEvent: 400 naming what is wrong, nothing
        stored. A WebhookEvent whose fields Hudur cannot use (issue 11 item 2) is
        stored raw, answered 200 and decides nothing."""
        if isinstance(details, dict) and "id" not in details and "body" not in details:
            response = await post_webhook(client, body)
            assert {"status": "accepted"} == await response.json()
            assert {**NOTHING, "inbox": 1} == await stored(database)
            return
        before = _counted("rejected", "malformed")
        response = await post_webhook(client, body)
        error = await _error(response, 400, "bad_request")
        if details is not None:
            assert details == error["details"]
        assert NOTHING == await stored(database)
        assert before + 1 == _counted("rejected", "malformed")
