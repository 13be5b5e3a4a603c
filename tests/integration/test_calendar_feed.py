"""Calendar feeds: secret tokens, and the iCalendar document read back by `ical`,
a parser independent of the `icalendar` library that writes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from ical.calendar import Calendar as ParsedCalendar
from ical.calendar_stream import IcsCalendarStream
from ical.event import EventStatus
from structlog.testing import capture_logs

from rules.codes import SessionType
from rules.lifecycle import Status
from store.database import Database
from tests.support.auth import auth, call, user_token
from tests.support.clock import ManualClock
from tests.support.factories import ACADEMY_ID, TEACHER_ID, scheduled_session, seed_world

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 2, 16, 0, tzinfo=UTC)
ADMIN_ID = 1
OTHER_ACADEMY_ID = 2


@pytest.fixture(name="at_now", autouse=True)
def fixture_at_now(clock: ManualClock) -> None:
    clock.set(NOW)


async def seed(database: Database) -> dict[str, int]:
    """Teacher 5 teaches a circle (10, 11, 12) and an individual lesson (11 only), and
    has an UNSCHEDULED one; student 10 is on the circle only."""
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        await uow.users.upsert(
            ADMIN_ID, now=NOW, academy_id=ACADEMY_ID, role="admin", name="Admin", email=None
        )
        await uow.academies.upsert(
            OTHER_ACADEMY_ID, now=NOW, name="Iqra", timezone="Asia/Riyadh", locale="en"
        )
        circle = await scheduled_session(
            uow,
            now=NOW,
            starts_at=START,
            session_type=SessionType.QURAN_CIRCLE,
            students=(10, 11, 12),
        )
        circle.title = "Evening circle: Al-Mulk"
        lesson = await scheduled_session(
            uow, now=NOW, starts_at=START + timedelta(hours=2), students=(11,)
        )
        draft = await scheduled_session(
            uow, now=NOW, starts_at=START, students=(10,), status=Status.UNSCHEDULED
        )
        draft.scheduled_at = draft.ends_at = None
        ids = {"circle": circle.id, "lesson": lesson.id, "draft": draft.id}
        await uow.commit()
    return ids


async def token_for(client: TestClient, user_id: int, **kwargs: Any) -> dict[str, Any]:
    status, answer = await call(client, "POST", f"/v1/users/{user_id}/calendar-token", **kwargs)
    assert 200 == status, answer
    return dict(answer)


async def feed(client: TestClient, token: str) -> ParsedCalendar:
    response = await client.get(f"/v1/calendar/{token}.ics")
    assert 200 == response.status
    assert "text/calendar" == response.content_type
    return IcsCalendarStream.calendar_from_ics(await response.text())


def by_uid(calendar: ParsedCalendar) -> dict[str, Any]:
    return {event.uid: event for event in calendar.events}


class TestToken:
    async def test_a_user_gets_a_secret_address(
        self, client: TestClient, database: Database
    ) -> None:
        """The answer's url is this service's address of the feed, with the token in it."""
        await seed(database)

        answer = await token_for(client, 10, token=user_token(10, "student", ACADEMY_ID))

        assert len(answer["token"]) >= 40
        assert str(client.make_url(f"/v1/calendar/{answer['token']}.ics")) == answer["url"]

    async def test_a_new_token_replaces_the_old_one(
        self, client: TestClient, database: Database
    ) -> None:
        """After a second issue, the first address answers 404 and the new one works."""
        await seed(database)
        old = await token_for(client, 10)

        new = await token_for(client, 10)
        stale = await client.get(f"/v1/calendar/{old['token']}.ics")

        assert old["token"] != new["token"]
        assert 404 == stale.status
        assert 1 == len((await feed(client, new["token"])).events)

    async def test_who_may_issue_a_token(self, client: TestClient, database: Database) -> None:
        """The user itself and its academy's admin may; a classmate 403, another
        academy's admin 404, nobody without a token 401, an unknown user 404."""
        await seed(database)

        def issue(token: str | None) -> Any:
            headers = auth(token) if token else {}
            return client.post("/v1/users/10/calendar-token", headers=headers)

        statuses = [
            (await issue(user_token(10, "student", ACADEMY_ID))).status,
            (await issue(user_token(ADMIN_ID, "admin", ACADEMY_ID))).status,
            (await issue(user_token(11, "student", ACADEMY_ID))).status,
            (await issue(user_token(TEACHER_ID, "teacher", ACADEMY_ID))).status,
            (await issue(user_token(99, "admin", OTHER_ACADEMY_ID))).status,
            (await issue(None)).status,
        ]
        unknown, _ = await call(client, "POST", "/v1/users/404/calendar-token")

        assert [200, 200, 403, 403, 404, 401] == statuses
        assert 404 == unknown

    async def test_an_unknown_token_is_not_found(self, client: TestClient) -> None:
        """A well-formed token nobody holds answers 404 in the error shape."""
        response = await client.get("/v1/calendar/" + "x" * 43 + ".ics")

        assert (404, "not_found") == (response.status, (await response.json())["error"]["code"])


class TestFeed:
    async def test_a_teachers_feed_lists_its_scheduled_sessions(
        self, client: TestClient, database: Database
    ) -> None:
        """Each scheduled session once, with title, UTC times, the attendance page, a
        UID from the session code and SEQUENCE its revision; no unscheduled one."""
        ids = await seed(database)
        token = (await token_for(client, TEACHER_ID))["token"]

        events = by_uid(await feed(client, token))

        async with database.uow() as uow:
            circle = await uow.sessions.get(ids["circle"])
            lesson = await uow.sessions.get(ids["lesson"])
            await uow.commit()  # nothing to write: committed, the rows stay readable after it
        assert circle is not None and lesson is not None
        assert {f"{circle.session_code}@hudur", f"{lesson.session_code}@hudur"} == set(events)
        event = events[f"{circle.session_code}@hudur"]
        assert (
            "Evening circle: Al-Mulk",
            START,
            START + timedelta(minutes=60),
            1,  # created, then scheduled: one visible change
            EventStatus.CONFIRMED,
        ) == (event.summary, event.dtstart, event.dtend, event.sequence, event.status)
        assert UTC.utcoffset(None) == event.dtstart.utcoffset()
        assert str(client.make_url(f"/sessions/{circle.id}/attendance")) == str(event.url)
        assert str(event.url) in (event.description or "")

    async def test_a_students_feed_lists_only_its_roster_sessions(
        self, client: TestClient, database: Database
    ) -> None:
        """Student 10 is on the circle but not on the individual lesson."""
        ids = await seed(database)
        token = (await token_for(client, 10))["token"]

        events = (await feed(client, token)).events

        async with database.uow() as uow:
            circle = await uow.sessions.get(ids["circle"])
            await uow.commit()  # nothing to write: committed, the rows stay readable after it
        assert circle is not None
        assert [f"{circle.session_code}@hudur"] == [e.uid for e in events]

    async def test_cancelling_raises_sequence_and_marks_the_event_cancelled(
        self, client: TestClient, database: Database
    ) -> None:
        """After POST /cancel the same UID is STATUS:CANCELLED with a higher SEQUENCE."""
        ids = await seed(database)
        token = (await token_for(client, 10))["token"]
        before = (await feed(client, token)).events[0]

        status, _ = await call(
            client, "POST", f"/v1/sessions/{ids['circle']}/cancel", json={"reason": "Eid"}
        )
        after = (await feed(client, token)).events[0]

        assert 200 == status
        assert before.uid == after.uid
        assert (EventStatus.CONFIRMED, EventStatus.CANCELLED) == (before.status, after.status)
        assert after.sequence is not None and before.sequence is not None
        assert after.sequence > before.sequence

    async def test_scheduling_adds_the_event_and_a_later_change_raises_sequence(
        self, client: TestClient, database: Database
    ) -> None:
        """An UNSCHEDULED session enters the feed once scheduled; preparing it (a new
        meeting link) raises its SEQUENCE again."""
        ids = await seed(database)
        token = (await token_for(client, 10))["token"]
        before = len((await feed(client, token)).events)

        status, scheduled = await call(
            client,
            "POST",
            f"/v1/sessions/{ids['draft']}/schedule",
            json={"scheduled_at": "2025-12-05T08:00:00Z"},
        )
        uid = f"{scheduled['session_code']}@hudur"
        listed = by_uid(await feed(client, token))
        first = listed[uid]
        await call(client, "POST", "/v1/sweeps", json={"as_of": "2025-12-05T07:50:00Z"})
        second = by_uid(await feed(client, token))[uid]

        assert (200, before + 1) == (status, len(listed))
        assert datetime(2025, 12, 5, 8, 0, tzinfo=UTC) == first.dtstart
        assert first.sequence is not None and second.sequence is not None
        assert second.sequence > first.sequence

    async def test_the_feed_needs_no_other_credential(
        self, client: TestClient, database: Database
    ) -> None:
        """No Authorization header is needed (calendar apps send none)."""
        await seed(database)
        token = (await token_for(client, 10))["token"]

        response = await client.get(f"/v1/calendar/{token}.ics")

        assert 200 == response.status
        assert (await response.text()).startswith("BEGIN:VCALENDAR")

    async def test_the_token_never_reaches_the_request_log(
        self, client: TestClient, database: Database
    ) -> None:
        """The request summary line shows the feed's path with the token masked."""
        await seed(database)
        token = (await token_for(client, 10))["token"]

        with capture_logs() as logs:
            await client.get(f"/v1/calendar/{token}.ics")

        requests = [entry for entry in logs if entry["event"] == "request"]
        assert ["/v1/calendar/<token>.ics"] == [entry["path"] for entry in requests]
        assert not any(token in repr(entry) for entry in logs)
