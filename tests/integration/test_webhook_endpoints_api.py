"""`PUT/GET/DELETE /v1/webhook-endpoints/{id}`: registering where notifications go
(CONTRACT 6), its refusals, its rights, and a secret that is never shown or logged."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from store.database import Database
from tests.support.auth import call, user_token
from tests.support.clock import ManualClock
from tests.support.factories import seed_world
from tests.support.receiver import SECRET


def endpoint(**changes: Any) -> dict[str, Any]:
    return {
        "academy_id": 1,
        "url": "https://platform.example/hooks/hudur",
        "secret": SECRET,
        "events": ["*"],
        "enabled": True,
        **changes,
    }


@pytest.fixture(name="world")
async def fixture_world(database: Database, clock: ManualClock) -> None:
    async with database.uow() as uow:
        await seed_world(uow, clock())
        await uow.commit()


@pytest.mark.usefixtures("world")
class TestRegistering:
    async def test_put_get_delete_an_endpoint_without_ever_showing_its_secret(
        self, client: TestClient
    ) -> None:
        """The answers carry every field but the secret, which they say is set; a
        deleted endpoint is gone."""
        with capture_logs() as logs:
            status, put = await call(client, "PUT", "/v1/webhook-endpoints/7", json=endpoint())
            assert 200 == status, put
            status, got = await call(client, "GET", "/v1/webhook-endpoints/7")
            assert 200 == status
            status, gone = await call(client, "DELETE", "/v1/webhook-endpoints/7")
            assert 200 == status
        expected = {
            "id": 7,
            "academy_id": 1,
            "url": "https://platform.example/hooks/hudur",
            "events": ["*"],
            "enabled": True,
            "secret_set": True,
        }
        for answer in (put, got, gone):
            assert expected == {k: v for k, v in answer.items() if k in expected}
            assert "secret" not in answer
        assert 404 == (await call(client, "GET", "/v1/webhook-endpoints/7"))[0]
        assert SECRET not in json.dumps([put, got, gone])
        assert SECRET.removeprefix("whsec_") not in json.dumps(logs, default=str)
        assert any(entry["event"] == "endpoint_put" for entry in logs)

    async def test_a_put_replaces_the_endpoint_and_keeps_its_creation_time(
        self, client: TestClient, clock: ManualClock
    ) -> None:
        """A second PUT changes url, events and enabled; created_at stays."""
        _, first = await call(client, "PUT", "/v1/webhook-endpoints/7", json=endpoint())
        clock.advance(minutes=5)
        changed = endpoint(url="http://127.0.0.1:9/x", events=["session.started"], enabled=False)
        status, second = await call(client, "PUT", "/v1/webhook-endpoints/7", json=changed)
        assert 200 == status
        assert (first["created_at"], ["session.started"], False) == (
            second["created_at"],
            second["events"],
            second["enabled"],
        )
        assert first["updated_at"] != second["updated_at"]

    async def test_the_deliveries_of_a_new_endpoint_are_an_empty_list(
        self, client: TestClient
    ) -> None:
        await call(client, "PUT", "/v1/webhook-endpoints/7", json=endpoint())
        status, body = await call(client, "GET", "/v1/webhook-endpoints/7/deliveries")
        assert (200, {"data": [], "next_cursor": None}) == (status, body)


@pytest.mark.usefixtures("world")
class TestRefusals:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("url", "ftp://platform.example/hooks"),
            ("url", "javascript:alert(1)"),
            ("url", "https://user:password@platform.example/hooks"),
            ("url", "https://token@platform.example/hooks"),
            ("url", "https:///no-host"),
            ("secret", "not-a-secret"),
            ("secret", "whsec_" + base64.b64encode(b"too short").decode()),
            ("secret", "whsec_" + base64.b64encode(bytes(65)).decode()),
            ("secret", "whsec_" + "%" * 40),
            ("events", ["session.exploded"]),
            ("events", []),
            ("events", ["*", "*"]),
        ],
        ids=[
            "ftp",
            "javascript",
            "userinfo",
            "user-only",
            "no-host",
            "no-prefix",
            "short",
            "long",
            "not-base64",
            "unknown-event",
            "no-events",
            "repeated",
        ],
    )
    async def test_a_bad_field_is_a_422_naming_it_without_echoing_a_secret(
        self, client: TestClient, field: str, value: object
    ) -> None:
        status, body = await call(
            client, "PUT", "/v1/webhook-endpoints/7", json=endpoint(**{field: value})
        )
        assert 422 == status, body
        assert "validation_failed" == body["error"]["code"]
        assert [field] == [d["field"].split(".")[0] for d in body["error"]["details"]]
        if field == "secret":
            assert str(value) not in json.dumps(body)
        assert 404 == (await call(client, "GET", "/v1/webhook-endpoints/7"))[0]


@pytest.mark.usefixtures("world")
class TestRights:
    async def test_an_admin_registers_for_its_own_academy_only(self, client: TestClient) -> None:
        """Its academy: yes; every academy (null): 403; another academy: 404."""
        admin = user_token(1, "admin", 1)
        path = "/v1/webhook-endpoints/7"
        assert 200 == (await call(client, "PUT", path, token=admin, json=endpoint()))[0]
        assert 200 == (await call(client, "GET", path, token=admin))[0]
        everyone = endpoint(academy_id=None)
        assert (
            403
            == (await call(client, "PUT", "/v1/webhook-endpoints/8", token=admin, json=everyone))[0]
        )
        assert 200 == (await call(client, "PUT", "/v1/webhook-endpoints/8", json=everyone))[0]
        assert 404 == (await call(client, "GET", "/v1/webhook-endpoints/8", token=admin))[0]
        other = user_token(2, "admin", 2)
        assert 404 == (await call(client, "GET", path, token=other))[0]
        assert 404 == (await call(client, "DELETE", path, token=other))[0]
        assert 404 == (await call(client, "PUT", path, token=other, json=endpoint(academy_id=2)))[0]

    async def test_teachers_and_students_may_not_touch_endpoints(self, client: TestClient) -> None:
        for token in (user_token(5, "teacher", 1), user_token(10, "student", 1)):
            assert 403 == (await call(client, "GET", "/v1/webhook-endpoints/7", token=token))[0]
            status, _ = await call(
                client, "PUT", "/v1/webhook-endpoints/7", token=token, json=endpoint()
            )
            assert 403 == status
