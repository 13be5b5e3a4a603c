"""Role x academy x endpoint: no read or write crosses an academy or a teacher's sessions.

Each endpoint is one test over all nine callers: each caller's status code, and
that a refused request changed nothing at all (every table an endpoint could write
is compared before and after). An allowed write must have changed something, an
allowed read nothing.
The objects all belong to academy A; the callers are A's service, admin, the
session's teacher, another teacher, a roster student, a student off the roster,
and B's admin, teacher and student (see `api_world`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from store.database import Database
from tests.integration.api_world import (
    ROLES,
    Sessions,
    call,
    seed_two_academies,
    snapshot,
    user_id_of,
    wipe,
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: Callable[[Sessions], str]
    body: Callable[[str], Any] | None = None
    writes: bool = False


SUBSCRIPTION = {
    "student_id": 10,
    "academy_id": 1,
    "kind": "quran",
    "total_sessions": 9,
    "starts_at": "2025-11-01T00:00:00Z",
    "ends_at": "2026-01-01T00:00:00Z",
}
NEW_SESSION = {
    "academy_id": 1,
    "type": "quran_individual",
    "title": "Matrix",
    "duration_minutes": 30,
    "teacher_id": 5,
    "student_id": 10,
}

ENDPOINTS: dict[str, Endpoint] = {
    "get session": Endpoint("GET", lambda s: f"/v1/sessions/{s.ready}"),
    "get session of B": Endpoint("GET", lambda s: f"/v1/sessions/{s.other_academy}"),
    "schedule": Endpoint(
        "POST",
        lambda s: f"/v1/sessions/{s.unscheduled}/schedule",
        lambda role: {"scheduled_at": "2025-12-03T10:00:00Z"},
        writes=True,
    ),
    "cancel": Endpoint(
        "POST", lambda s: f"/v1/sessions/{s.ready}/cancel", lambda role: {"reason": "m"}, True
    ),
    "complete": Endpoint("POST", lambda s: f"/v1/sessions/{s.ready}/complete", writes=True),
    "join-token": Endpoint(
        "POST",
        lambda s: f"/v1/sessions/{s.ready}/join-token",
        lambda role: {"user_id": user_id_of(role)},
    ),
    "attendance": Endpoint("GET", lambda s: f"/v1/sessions/{s.ready}/attendance"),
    "history": Endpoint("GET", lambda s: f"/v1/sessions/{s.ready}/history"),
    "get reports": Endpoint("GET", lambda s: f"/v1/sessions/{s.ready}/reports"),
    "report": Endpoint(
        "PUT",
        lambda s: f"/v1/sessions/{s.ready}/reports/10",
        lambda role: {"attendance_status": "present", "reason": "m"},
        writes=True,
    ),
    "charge": Endpoint(
        "PUT",
        lambda s: f"/v1/sessions/{s.ready}/charges/10",
        lambda role: {"counts": False, "reason": "m"},
        writes=True,
    ),
    "put academy": Endpoint(
        "PUT",
        lambda s: "/v1/academies/1",
        lambda role: {"name": "Renamed", "timezone": "UTC", "locale": "en"},
        writes=True,
    ),
    "put rules": Endpoint(
        "PUT",
        lambda s: "/v1/academies/1/rules",
        lambda role: {"default": {"buffer_minutes": 5}},
        writes=True,
    ),
    "get rules": Endpoint("GET", lambda s: "/v1/academies/1/rules"),
    "put user": Endpoint(
        "PUT",
        lambda s: "/v1/users/13",
        lambda role: {"academy_id": 1, "role": "student", "name": "Renamed"},
        writes=True,
    ),
    "put subscription": Endpoint(
        "PUT", lambda s: "/v1/subscriptions/110", lambda role: SUBSCRIPTION, writes=True
    ),
    "get subscription": Endpoint("GET", lambda s: "/v1/subscriptions/110"),
    "create session": Endpoint("POST", lambda s: "/v1/sessions", lambda r: NEW_SESSION, True),
    "get academy": Endpoint("GET", lambda s: "/v1/academies/1"),
    "get academy of B": Endpoint("GET", lambda s: "/v1/academies/2"),
    "get student": Endpoint("GET", lambda s: "/v1/users/10"),
    "get teacher": Endpoint("GET", lambda s: "/v1/users/5"),
    "get user of B": Endpoint("GET", lambda s: "/v1/users/20"),
    "get subscriptions": Endpoint("GET", lambda s: "/v1/users/10/subscriptions"),
}

# Columns follow ROLES: service, admin_a, teacher_own, teacher_other, student_on,
# student_off, admin_b, teacher_b, student_b.
EXPECTED: dict[str, tuple[int, ...]] = {
    "get session": (200, 200, 200, 403, 200, 403, 404, 404, 404),
    "get session of B": (200, 404, 404, 404, 404, 404, 200, 200, 200),
    "schedule": (200, 200, 200, 403, 403, 403, 404, 404, 403),
    "cancel": (200, 200, 200, 403, 403, 403, 404, 404, 403),
    "complete": (200, 403, 200, 403, 403, 403, 403, 404, 403),
    "join-token": (200, 200, 200, 403, 200, 403, 404, 404, 404),
    "attendance": (200, 200, 200, 403, 200, 403, 404, 404, 404),
    "history": (200, 200, 200, 403, 403, 403, 404, 404, 403),
    "get reports": (200, 200, 200, 403, 200, 403, 404, 404, 404),
    "report": (200, 200, 200, 403, 403, 403, 404, 404, 403),
    "charge": (200, 200, 403, 403, 403, 403, 404, 403, 403),
    "put academy": (200, 200, 403, 403, 403, 403, 404, 403, 403),
    "put rules": (200, 200, 403, 403, 403, 403, 404, 403, 403),
    "get rules": (200, 200, 403, 403, 403, 403, 404, 403, 403),
    "put user": (200, 200, 403, 403, 403, 403, 404, 403, 403),
    "put subscription": (200, 200, 403, 403, 403, 403, 404, 403, 403),
    "get subscription": (200, 200, 403, 403, 403, 403, 404, 403, 403),
    "create session": (201, 201, 403, 403, 403, 403, 404, 403, 403),
    "get academy": (200, 200, 200, 200, 200, 200, 404, 404, 404),
    "get academy of B": (200, 404, 404, 404, 404, 404, 200, 200, 200),
    "get student": (200, 200, 200, 403, 200, 403, 404, 404, 404),
    "get teacher": (200, 200, 200, 403, 403, 403, 404, 404, 404),
    "get user of B": (200, 404, 404, 404, 404, 404, 200, 200, 200),
    "get subscriptions": (200, 200, 403, 403, 200, 403, 404, 404, 404),
}


class TestAccessMatrix:
    @pytest.mark.parametrize("endpoint", EXPECTED)
    async def test_each_role_gets_exactly_its_rights(
        self, client: TestClient, database: Database, endpoint: str
    ) -> None:
        """Per role, the cell's status; a refusal writes nothing, an allowed write writes,
        a read never does. The world is seeded afresh after every allowed write."""
        spec = ENDPOINTS[endpoint]
        ids = await seed_two_academies(database)
        statuses, wrong_effect = [], []
        for role in ROLES:
            before = await snapshot(database)
            status, body = await call(
                client,
                spec.method,
                spec.path(ids),
                role=role,
                json=spec.body(role) if spec.body else None,
            )
            after = await snapshot(database)
            statuses.append(status)
            if status >= 400:
                refused = {"forbidden": 403, "not_found": 404}.get(body["error"]["code"])
                if refused != status or before != after:
                    wrong_effect.append(role)
            elif (before != after) != spec.writes:
                wrong_effect.append(role)
            if status < 400 and spec.writes:
                await wipe(database)
                ids = await seed_two_academies(database)
        assert dict(zip(ROLES, EXPECTED[endpoint], strict=True)) == dict(
            zip(ROLES, statuses, strict=True)
        )
        assert [] == wrong_effect


VISIBLE = {
    "service": {"unscheduled", "scheduled", "ready", "circle", "other_academy"},
    "admin_a": {"unscheduled", "scheduled", "ready", "circle"},
    "teacher_own": {"unscheduled", "scheduled", "ready", "circle"},
    "teacher_other": set(),
    "student_on": {"unscheduled", "scheduled", "ready", "circle"},
    "student_off": set(),
    "admin_b": {"other_academy"},
    "teacher_b": {"other_academy"},
    "student_b": {"other_academy"},
}


class TestListing:
    @pytest.mark.parametrize("role", ROLES)
    async def test_a_list_shows_only_what_the_caller_may_read(
        self, client: TestClient, database: Database, role: str
    ) -> None:
        """GET /v1/sessions is the single-session rights applied to every row."""
        ids = await seed_two_academies(database)
        status, body = await call(client, "GET", "/v1/sessions", role=role)
        names = {getattr(ids, name): name for name in VISIBLE["service"]}
        assert 200 == status
        assert VISIBLE[role] == {names[s["id"]] for s in body["data"]}

    @pytest.mark.parametrize(
        ("role", "query", "expected"),
        [
            ("teacher_other", "teacher_id=5", 403),
            ("student_on", "student_id=11", 403),
            ("admin_a", "academy_id=2", 404),
            ("teacher_b", "academy_id=1", 404),
        ],
    )
    async def test_filtering_for_someone_else_is_refused(
        self, client: TestClient, database: Database, role: str, query: str, expected: int
    ) -> None:
        """A filter never widens what a caller sees."""
        await seed_two_academies(database)
        status, _ = await call(client, "GET", f"/v1/sessions?{query}", role=role)
        assert expected == status
