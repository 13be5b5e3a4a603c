"""`PUT/GET/DELETE /v1/schedules/{id}` over HTTP, and generation through the sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from engine.operations.lifecycle import transition
from rules.lifecycle import LifecycleEvent
from scheduler.recurring import generate
from store.database import Database
from tests.support.auth import call, user_token
from tests.support.clock import ManualClock
from tests.support.factories import ACADEMY_ID, TEACHER_ID, scheduled_session, seed_world

NOW = datetime(2025, 8, 30, 9, 0, tzinfo=UTC)  # a Saturday; the term starts Monday 1 September
ADMIN_ID = 1
OTHER_ACADEMY_ID = 2


@pytest.fixture(name="at_now", autouse=True)
def fixture_at_now(clock: ManualClock) -> None:
    """The app's clock starts at NOW, two days before the term."""
    clock.set(NOW)


def body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "academy_id": ACADEMY_ID,
        "type": "quran_circle",
        "title": "Evening circle",
        "teacher_id": TEACHER_ID,
        "student_ids": [10, 11, 12],
        "weekdays": ["wed", "mon"],
        "start_time": "18:00",
        "duration_minutes": 60,
        "starts_on": "2025-09-01",
        "ends_on": "2025-12-31",
        "monthly_session_limit": 7,
        "generate_days_ahead": 14,
    }
    values.update(overrides)
    return values


def fields_of(answer: dict[str, Any]) -> list[str]:
    return [d["field"] for d in answer["error"]["details"]]


async def seed(database: Database) -> None:
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        await uow.users.upsert(
            ADMIN_ID, now=NOW, academy_id=ACADEMY_ID, role="admin", name="Admin", email=None
        )
        await uow.academies.upsert(
            OTHER_ACADEMY_ID, now=NOW, name="Iqra", timezone="Asia/Riyadh", locale="en"
        )
        await uow.commit()


class TestPut:
    async def test_put_creates_and_get_reads_a_schedule(
        self, client: TestClient, database: Database
    ) -> None:
        """The schedule comes back as sent, weekdays in week order, with the academy's zone."""
        await seed(database)

        status, created = await call(client, "PUT", "/v1/schedules/1", json=body())
        got_status, got = await call(client, "GET", "/v1/schedules/1")

        assert 200 == status
        assert {
            "id": 1,
            "academy_id": ACADEMY_ID,
            "type": "quran_circle",
            "weekdays": ["mon", "wed"],
            "start_time": "18:00",
            "timezone": "Africa/Cairo",
            "starts_on": "2025-09-01",
            "ends_on": "2025-12-31",
            "monthly_session_limit": 7,
            "student_ids": [10, 11, 12],
            "active": True,
            "deleted_at": None,
        }.items() <= created.items()
        assert (200, created) == (got_status, got)

    async def test_every_bad_field_is_named(self, client: TestClient, database: Database) -> None:
        """Unknown weekday, bad time, impossible date and a non-group type of wrong
        roster are each named in one 422."""
        await seed(database)

        status, answer = await call(
            client,
            "PUT",
            "/v1/schedules/1",
            json=body(
                weekdays=["mon", "funday"],
                start_time="24:00",
                starts_on="2025-13-01",
                duration_minutes=0,
                type="lecture",
            ),
        )

        assert 422 == status
        assert {"weekdays.1", "start_time", "starts_on", "duration_minutes", "type"} == set(
            fields_of(answer)
        )

    async def test_dates_out_of_order_and_a_crowded_individual_schedule_are_refused(
        self, client: TestClient, database: Database
    ) -> None:
        """ends_on before starts_on, and an individual type with two students: 422 each named."""
        await seed(database)

        status, answer = await call(
            client,
            "PUT",
            "/v1/schedules/1",
            json=body(type="quran_individual", ends_on="2025-08-01", student_ids=[10, 11]),
        )

        assert (422, ["ends_on", "student_ids"]) == (status, fields_of(answer))

    async def test_an_individual_schedule_with_one_student_is_accepted(
        self, client: TestClient, database: Database
    ) -> None:
        """Individual types may recur too, with exactly one student."""
        await seed(database)

        status, answer = await call(
            client, "PUT", "/v1/schedules/1", json=body(type="quran_individual", student_ids=[10])
        )

        assert (200, "quran_individual") == (status, answer["type"])

    async def test_a_teacher_who_is_not_in_the_academy_is_not_found(
        self, client: TestClient, database: Database
    ) -> None:
        """An unknown teacher answers 404 naming the field; a student as teacher is a 422."""
        await seed(database)

        unknown, answer = await call(client, "PUT", "/v1/schedules/1", json=body(teacher_id=999))
        wrong_role, _ = await call(client, "PUT", "/v1/schedules/1", json=body(teacher_id=10))

        assert (404, {"field": "teacher_id"}) == (unknown, answer["error"]["details"])
        assert 422 == wrong_role

    async def test_only_admins_of_the_academy_and_the_service_may_put(
        self, client: TestClient, database: Database
    ) -> None:
        """Teacher 403, another academy's admin 404, the academy's admin 200, no token 401."""
        await seed(database)

        teacher, _ = await call(
            client,
            "PUT",
            "/v1/schedules/1",
            token=user_token(TEACHER_ID, "teacher", ACADEMY_ID),
            json=body(),
        )
        stranger, _ = await call(
            client,
            "PUT",
            "/v1/schedules/1",
            token=user_token(99, "admin", OTHER_ACADEMY_ID),
            json=body(),
        )
        admin, _ = await call(
            client,
            "PUT",
            "/v1/schedules/1",
            token=user_token(ADMIN_ID, "admin", ACADEMY_ID),
            json=body(),
        )
        anonymous = (await client.put("/v1/schedules/1", json=body())).status

        assert (403, 404, 200, 401) == (teacher, stranger, admin, anonymous)

    async def test_another_academys_schedule_is_not_found(
        self, client: TestClient, database: Database
    ) -> None:
        """GET and DELETE of a schedule of another academy answer 404."""
        await seed(database)
        await call(client, "PUT", "/v1/schedules/1", json=body())
        stranger = user_token(99, "admin", OTHER_ACADEMY_ID)

        got, _ = await call(client, "GET", "/v1/schedules/1", token=stranger)
        deleted, _ = await call(client, "DELETE", "/v1/schedules/1", token=stranger)
        missing, _ = await call(client, "GET", "/v1/schedules/2")

        assert (404, 404, 404) == (got, deleted, missing)


class TestGenerationThroughTheSweep:
    async def test_a_sweep_generates_the_schedules_sessions(
        self, client: TestClient, database: Database
    ) -> None:
        """POST /v1/sweeps runs generation: the first two weeks' four sessions appear,
        SCHEDULED at 18:00 Cairo (15:00 UTC in summer time)."""
        await seed(database)
        await call(client, "PUT", "/v1/schedules/1", json=body())

        status, _ = await call(client, "POST", "/v1/sweeps", json={"as_of": "2025-08-30T09:00:00Z"})
        _, page = await call(client, "GET", "/v1/sessions?academy_id=1&limit=200")

        assert 200 == status
        assert [
            ("2025-09-01T15:00:00Z", "scheduled"),
            ("2025-09-03T15:00:00Z", "scheduled"),
            ("2025-09-08T15:00:00Z", "scheduled"),
            ("2025-09-10T15:00:00Z", "scheduled"),
        ] == [(s["scheduled_at"], s["status"]) for s in page["data"]]
        assert {"Evening circle"} == {s["title"] for s in page["data"]}
        assert [[10, 11, 12]] * 4 == [[p["id"] for p in s["students"]] for s in page["data"]]

    async def test_generated_and_skipped_slots_show_in_session_history(
        self, client: TestClient, database: Database
    ) -> None:
        """A generated session's history starts with `generated` by the schedule; the
        session that made a slot skip records `slot_skipped` with the slot and reason."""
        await seed(database)
        async with database.uow() as uow:
            busy = await scheduled_session(
                uow, now=NOW, starts_at=datetime(2025, 9, 3, 15, 0, tzinfo=UTC)
            )
            busy_id = busy.id
            await uow.commit()
        await call(client, "PUT", "/v1/schedules/1", json=body())
        report = await generate(database, NOW)

        _, generated = await call(
            client, "GET", f"/v1/sessions/{report.generated[0].session_id}/history"
        )
        _, skipped = await call(client, "GET", f"/v1/sessions/{busy_id}/history")

        assert [("generated", "schedule:1", {"status": "scheduled"})] == [
            (e["event"], e["actor"], e["after"]) for e in generated["data"]
        ]
        assert [
            ("schedule", "service", None),
            ("slot_skipped", "schedule:1", "teacher_overlap"),
        ] == [(e["event"], e["actor"], e["reason"]) for e in skipped["data"]]
        assert "2025-09-03T15:00:00Z" == skipped["data"][-1]["details"]["slot_start"]


class TestDelete:
    async def test_delete_stops_generation_and_cancels_upcoming_sessions(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """DELETE cancels the generated sessions that have not started, with the reason
        'schedule deleted', keeps the one under way, and later sweeps make no more."""
        await seed(database)
        await call(client, "PUT", "/v1/schedules/1", json=body())
        report = await generate(database, NOW)
        first = report.generated[0]
        during_first = first.slot_start + timedelta(minutes=5)
        async with database.uow() as uow:
            row = await uow.sessions.get(first.session_id)
            assert row is not None
            await transition(uow, row, LifecycleEvent.START, at=during_first, actor="evidence:x")
            await uow.commit()
        clock.set(during_first)

        status, schedule = await call(client, "DELETE", "/v1/schedules/1")
        later = await generate(database, during_first + timedelta(days=30))
        _, page = await call(client, "GET", "/v1/sessions?academy_id=1&limit=200")

        assert (200, False) == (status, schedule["active"])
        assert schedule["deleted_at"] == "2025-09-01T15:05:00Z"
        assert ["ongoing", "cancelled", "cancelled", "cancelled"] == [
            s["status"] for s in page["data"]
        ]
        assert {"schedule deleted"} == {s["cancellation_reason"] for s in page["data"][1:]}
        assert [] == later.generated

    async def test_putting_a_deleted_schedule_again_resumes_it(
        self, client: TestClient, database: Database
    ) -> None:
        """After DELETE, a PUT makes the schedule active and the cancelled slots are
        generated afresh."""
        await seed(database)
        await call(client, "PUT", "/v1/schedules/1", json=body())
        await generate(database, NOW)
        await call(client, "DELETE", "/v1/schedules/1")

        status, schedule = await call(client, "PUT", "/v1/schedules/1", json=body())
        report = await generate(database, NOW)

        assert (200, True, None) == (status, schedule["active"], schedule["deleted_at"])
        assert 4 == len(report.generated)


class TestChange:
    async def test_a_new_start_time_regenerates_upcoming_sessions(
        self, client: TestClient, database: Database
    ) -> None:
        """Moving the circle to 19:00 cancels the 18:00 sessions ('schedule changed')
        and the next generation makes 19:00 ones for the same days."""
        await seed(database)
        await call(client, "PUT", "/v1/schedules/1", json=body())
        await generate(database, NOW)

        status, _ = await call(client, "PUT", "/v1/schedules/1", json=body(start_time="19:00"))
        report = await generate(database, NOW)
        _, page = await call(client, "GET", "/v1/sessions?academy_id=1&limit=200")

        assert 200 == status
        assert ["cancelled"] * 4 == [
            s["status"] for s in page["data"] if s["scheduled_at"].endswith("15:00:00Z")
        ]
        assert {"schedule changed"} == {
            s["cancellation_reason"] for s in page["data"] if s["status"] == "cancelled"
        }
        assert [
            "2025-09-01T16:00:00Z",
            "2025-09-03T16:00:00Z",
            "2025-09-08T16:00:00Z",
            "2025-09-10T16:00:00Z",
        ] == [g.slot_start.isoformat().replace("+00:00", "Z") for g in report.generated]

    async def test_a_new_title_leaves_generated_sessions_alone(
        self, client: TestClient, database: Database
    ) -> None:
        """Title, limit and days ahead apply from now on: nothing is cancelled."""
        await seed(database)
        await call(client, "PUT", "/v1/schedules/1", json=body())
        await generate(database, NOW)

        await call(
            client,
            "PUT",
            "/v1/schedules/1",
            json=body(title="Renamed", monthly_session_limit=3, generate_days_ahead=20),
        )
        _, page = await call(client, "GET", "/v1/sessions?academy_id=1&limit=200")

        assert ["scheduled"] * 4 == [s["status"] for s in page["data"]]
