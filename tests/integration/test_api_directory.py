"""Academies, rule settings, users and subscriptions over HTTP, and the error shape."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from aiohttp.test_utils import TestClient

from rules.attendance import AttendanceStatus
from rules.charging import ChargeDecision, ChargeStatus
from store.database import Database
from tests.integration.api_world import NOW, call, seed_two_academies
from tests.support.auth import auth, user_token

ACADEMY = {"name": "Noor", "timezone": "Africa/Cairo", "locale": "ar"}


def fields_of(body: dict) -> list[str]:
    return [d["field"] for d in body["error"]["details"]]


class TestAcademies:
    async def test_put_creates_then_updates_an_academy(self, client: TestClient) -> None:
        """An upsert by id: the second PUT changes the academy, keeping when it was made."""
        status, created = await call(client, "PUT", "/v1/academies/3", json=ACADEMY)
        assert 200 == status
        assert {"id": 3, **ACADEMY} == {k: created[k] for k in ("id", *ACADEMY)}
        assert created["created_at"].endswith("Z")

        status, updated = await call(
            client, "PUT", "/v1/academies/3", json={**ACADEMY, "locale": "en"}
        )
        assert (200, "en") == (status, updated["locale"])
        assert created["created_at"] == updated["created_at"]

    async def test_an_unknown_time_zone_and_locale_are_each_named(self, client: TestClient) -> None:
        """422 lists every bad field, each with a message for people."""
        status, body = await call(
            client,
            "PUT",
            "/v1/academies/3",
            json={"name": "Noor", "timezone": "Mars/Olympus", "locale": "fr"},
        )
        assert 422 == status
        assert "validation_failed" == body["error"]["code"]
        assert ["timezone", "locale"] == fields_of(body)

    async def test_a_missing_field_and_an_unknown_one_are_both_named(
        self, client: TestClient
    ) -> None:
        """Unknown fields are refused rather than silently dropped."""
        status, body = await call(
            client, "PUT", "/v1/academies/3", json={"name": "Noor", "locale": "ar", "tz": "UTC"}
        )
        assert 422 == status
        assert ["timezone", "tz"] == fields_of(body)

    async def test_malformed_json_is_a_400_in_the_error_shape(self, client: TestClient) -> None:
        """A body that is not JSON at all is a bad request, not a validation failure."""
        response = await client.put(
            "/v1/academies/3",
            data=b'{"name": "Noor",',
            headers={**auth(), "Content-Type": "application/json"},
        )
        body = await response.json()
        assert 400 == response.status
        assert {"code", "message", "details"} == set(body["error"])
        assert "bad_request" == body["error"]["code"]

    async def test_no_token_and_a_forged_token_are_401(self, client: TestClient) -> None:
        """Without a valid credential nothing is read, not even the body."""
        missing = await client.put("/v1/academies/3", json=ACADEMY)
        forged = await client.put("/v1/academies/3", json=ACADEMY, headers=auth("not-the-token"))
        assert (401, 401) == (missing.status, forged.status)
        assert "unauthorized" == (await forged.json())["error"]["code"]

    async def test_an_expired_user_token_is_401(self, client: TestClient) -> None:
        """`exp` is enforced."""
        token = user_token(1, "admin", 3, ttl=timedelta(seconds=-5))
        response = await client.put("/v1/academies/3", json=ACADEMY, headers=auth(token))
        assert 401 == response.status


class TestErrorShape:
    async def test_a_body_over_one_mebibyte_is_413(self, client: TestClient) -> None:
        """The app's body limit answers in the contract's error shape."""
        body = io.BytesIO(json.dumps({**ACADEMY, "name": "x" * (1024 * 1024)}).encode())
        response = await client.put(
            "/v1/academies/3", data=body, headers={**auth(), "Content-Type": "application/json"}
        )
        assert (413, "payload_too_large") == (
            response.status,
            (await response.json())["error"]["code"],
        )

    async def test_an_unsupported_method_is_405_with_allow(self, client: TestClient) -> None:
        """RFC 9110: a 405 says which methods the resource has."""
        response = await client.delete("/v1/academies/3/rules", headers=auth())
        assert (405, "method_not_allowed") == (
            response.status,
            (await response.json())["error"]["code"],
        )
        assert {"GET", "PUT"} <= {m.strip() for m in response.headers["Allow"].split(",")}

    async def test_a_json_array_is_valid_json_but_not_an_academy(self, client: TestClient) -> None:
        """Valid JSON of the wrong shape is a 422, not a 400."""
        status, body = await call(client, "PUT", "/v1/academies/3", json=[ACADEMY])
        assert (422, ["body"]) == (status, fields_of(body))


class TestRules:
    async def test_get_answers_the_built_in_defaults_for_every_type(
        self, client: TestClient, database: Database
    ) -> None:
        """Without overrides every level shows CONTRACT 4's numbers."""
        await seed_two_academies(database)
        status, body = await call(client, "GET", "/v1/academies/1/rules")
        assert 200 == status
        assert {
            "preparation_minutes": 15,
            "buffer_minutes": 10,
            "reconnect_gap_seconds": 120,
            "late_grace_minutes": 10,
            "early_leave_grace_minutes": 10,
            "full_percent": 80.0,
            "partial_percent": 50.0,
            "teacher_full_percent": 90.0,
            "teacher_partial_percent": 50.0,
            "engagement_attendance_weight": 0.5,
            "engagement_camera_weight": 0.3,
            "engagement_microphone_weight": 0.2,
        } == body["quran_circle"]
        assert 6 == len(body)

    async def test_put_layers_default_then_type_and_get_answers_what_is_in_force(
        self, client: TestClient, database: Database
    ) -> None:
        """A type's own setting wins over the academy's default, which wins over the built-in."""
        await seed_two_academies(database)
        rules = {"default": {"late_grace_minutes": 5}, "quran_circle": {"late_grace_minutes": 7}}
        status, put = await call(client, "PUT", "/v1/academies/1/rules", json=rules)
        _, got = await call(client, "GET", "/v1/academies/1/rules")
        assert 200 == status
        assert put == got
        assert (5, 7, 5) == (
            got["default"]["late_grace_minutes"],
            got["quran_circle"]["late_grace_minutes"],
            got["academic_course"]["late_grace_minutes"],
        )

    async def test_put_freezes_nothing_already_scheduled(
        self, client: TestClient, database: Database
    ) -> None:
        """A scheduled session keeps the settings it was scheduled with."""
        ids = await seed_two_academies(database)
        await call(client, "PUT", "/v1/academies/1/rules", json={"default": {"buffer_minutes": 0}})
        async with database.uow() as uow:
            session = await uow.sessions.get(ids.scheduled)
            assert session is not None
            assert 10 == session.settings["buffer_minutes"]

    async def test_bad_names_and_out_of_range_values_are_each_named(
        self, client: TestClient, database: Database
    ) -> None:
        """Unknown levels, unknown names and out-of-range numbers are all reported at once."""
        await seed_two_academies(database)
        status, body = await call(
            client,
            "PUT",
            "/v1/academies/1/rules",
            json={
                "default": {"full_percent": 120, "late_grace": 5},
                "quran_circle": {"buffer_minutes": -1},
                "karate": {},
            },
        )
        assert 422 == status
        assert {
            "default.full_percent",
            "default.late_grace",
            "quran_circle.buffer_minutes",
            "karate",
        } == set(fields_of(body))

    async def test_a_partial_bar_above_the_full_bar_is_refused(
        self, client: TestClient, database: Database
    ) -> None:
        """A partial bar above the full one is a 422 at the level that set it."""
        await seed_two_academies(database)
        status, body = await call(
            client,
            "PUT",
            "/v1/academies/1/rules",
            json={"quran_circle": {"partial_percent": 85}},
        )
        assert (422, ["quran_circle.partial_percent"]) == (status, fields_of(body))

    async def test_rules_of_an_unknown_academy_are_404(self, client: TestClient) -> None:
        """There is nothing to set rules on."""
        status, body = await call(client, "PUT", "/v1/academies/99/rules", json={})
        assert (404, "not_found") == (status, body["error"]["code"])
        assert 404 == (await call(client, "GET", "/v1/academies/99/rules"))[0]


class TestUsers:
    async def test_put_creates_and_updates_a_user(
        self, client: TestClient, database: Database
    ) -> None:
        """A user is upserted by the platform's id."""
        await seed_two_academies(database)
        body = {"academy_id": 1, "role": "teacher", "name": "Huda", "email": "huda@example.org"}
        status, created = await call(client, "PUT", "/v1/users/40", json=body)
        assert (200, "Huda") == (status, created["name"])
        status, updated = await call(client, "PUT", "/v1/users/40", json={**body, "name": "Hoda"})
        assert (200, "Hoda", None) == (status, updated["name"], None)

    async def test_a_user_of_an_unknown_academy_is_404(
        self, client: TestClient, database: Database
    ) -> None:
        """The academy must exist first."""
        body = {"academy_id": 9, "role": "student", "name": "Omar"}
        status, answer = await call(client, "PUT", "/v1/users/41", json=body)
        assert (404, {"field": "academy_id"}) == (status, answer["error"]["details"])

    async def test_a_user_never_moves_to_another_academy(
        self, client: TestClient, database: Database
    ) -> None:
        """Moving a user would carry its sessions across tenants: 409."""
        await seed_two_academies(database)
        body = {"academy_id": 2, "role": "student", "name": "Student 10"}
        status, answer = await call(client, "PUT", "/v1/users/10", json=body)
        assert (409, "conflict") == (status, answer["error"]["code"])

    async def test_a_bad_role_and_email_are_named(self, client: TestClient) -> None:
        """Roles are the three of CONTRACT 5."""
        body = {"academy_id": 1, "role": "parent", "name": "X", "email": "nope"}
        status, answer = await call(client, "PUT", "/v1/users/41", json=body)
        assert (422, ["role", "email"]) == (status, fields_of(answer))


def subscription(**changes: object) -> dict[str, object]:
    return {
        "student_id": 10,
        "academy_id": 1,
        "kind": "quran",
        "total_sessions": 8,
        "starts_at": "2025-11-01T00:00:00Z",
        "ends_at": "2026-01-01T00:00:00Z",
        **changes,
    }


class TestSubscriptions:
    async def test_put_then_get_answers_usage_and_what_remains(
        self, client: TestClient, database: Database
    ) -> None:
        """Each ledger row charged to the subscription uses one session up and is listed."""
        ids = await seed_two_academies(database)
        status, created = await call(client, "PUT", "/v1/subscriptions/300", json=subscription())
        assert (200, 0, 8, []) == (
            status,
            created["used_sessions"],
            created["remaining_sessions"],
            created["usage"],
        )
        async with database.uow() as uow:
            present = AttendanceStatus.PRESENT
            await uow.charges.charge(
                ids.ready,
                ChargeDecision(10, ChargeStatus.CHARGED, "present", 300, present),
                now=NOW,
            )
            await uow.charges.charge(
                ids.scheduled,
                ChargeDecision(10, ChargeStatus.CHARGED, "present", 300, present),
                now=NOW,
            )
            await uow.commit()
        status, got = await call(client, "GET", "/v1/subscriptions/300")
        assert (200, 2, 6) == (status, got["used_sessions"], got["remaining_sessions"])
        assert [ids.ready, ids.scheduled] == [row["session_id"] for row in got["usage"]]
        assert "2026-01-01T00:00:00Z" == got["ends_at"]

    async def test_an_end_before_the_start_is_named(self, client: TestClient) -> None:
        """`ends_at` must follow `starts_at`."""
        status, body = await call(
            client,
            "PUT",
            "/v1/subscriptions/300",
            json=subscription(ends_at="2025-10-01T00:00:00Z"),
        )
        assert (422, ["ends_at"]) == (status, fields_of(body))

    async def test_a_subscription_belongs_to_a_student_of_its_academy(
        self, client: TestClient, database: Database
    ) -> None:
        """An unknown student is 404; a teacher is no student (422)."""
        await seed_two_academies(database)
        unknown = await call(
            client, "PUT", "/v1/subscriptions/300", json=subscription(student_id=20)
        )
        teacher = await call(
            client, "PUT", "/v1/subscriptions/300", json=subscription(student_id=5)
        )
        assert 404 == unknown[0]
        assert (422, ["student_id"]) == (teacher[0], fields_of(teacher[1]))

    async def test_a_subscription_keeps_its_student_and_kind(
        self, client: TestClient, database: Database
    ) -> None:
        """Its usage would otherwise follow it to someone else: 409 naming the fields."""
        await seed_two_academies(database)
        status, body = await call(
            client,
            "PUT",
            "/v1/subscriptions/110",
            json=subscription(student_id=11, kind="academic"),
        )
        assert (409, ["student_id", "kind"]) == (status, body["error"]["details"]["fields"])

    async def test_an_unknown_subscription_is_404(self, client: TestClient) -> None:
        """Nothing by that id."""
        assert 404 == (await call(client, "GET", "/v1/subscriptions/999"))[0]
