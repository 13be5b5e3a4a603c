"""The read paths send a fixed number of statements, whatever the roster or page size
(issue 12, item 2): no query per student or per listed session."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import text

from engine.api.shapes import attendance_shape
from engine.fresh_reads import PROJECTOR
from engine.operations.attendance import session_attendance
from rules.codes import SessionType
from rules.engagement import TrackPublished, TrackUnpublished
from rules.evidence import EvidenceSource
from rules.lifecycle import Status
from store.database import Database
from tests.integration.api_world import NOW, START, call, make_session, presence
from tests.support.auth import auth, user_token
from tests.support.clock import ManualClock
from tests.support.statements import counted

ROSTER = tuple(range(100, 130))  # thirty students


async def seed(database: Database) -> None:
    async with database.uow() as uow:
        await uow.academies.upsert(1, now=NOW, name="Dar", timezone="UTC", locale="en")
        await uow.users.upsert(5, now=NOW, academy_id=1, role="teacher", name="T", email=None)
        for student in ROSTER:
            await uow.users.upsert(
                student, now=NOW, academy_id=1, role="student", name=f"S{student}", email=None
            )
        await uow.commit()


async def circle(database: Database, students: tuple[int, ...], status: Status) -> int:
    """A circle of `students` in `status`, every one of them (and the teacher) present."""
    async with database.uow() as uow:
        session = await make_session(
            uow,
            starts_at=START,
            status=status,
            session_type=SessionType.QURAN_CIRCLE,
            students=students,
        )
        await uow.commit()
    for who in (5, *students):
        await presence(database, session.id, who, START, START + timedelta(minutes=50))
    return session.id


# Transaction control, and the fresh-reads check every request makes first (the
# projection's position against the newest inbox row: one small query).
_FRAME = ("BEGIN", "COMMIT", "ROLLBACK")


def own_queries(statements: list[str]) -> list[str]:
    """The statements a read sends beside its frame: its own queries."""
    queries = [s for s in statements if s.strip().upper() not in _FRAME]
    assert "projection_positions" in queries[0], queries  # the fresh-reads check
    return queries[1:]


def attendance_queries(statements: list[str]) -> list[str]:
    """The statements of an attendance read beside its frame: its first query reads
    the session and, in the same statement, the projection's position and the newest
    inbox id (the fresh-reads check), and nothing else reads either."""
    queries = [s for s in statements if s.strip().upper() not in _FRAME]
    assert "projection_positions" in queries[0] and "webhook_events" in queries[0], queries
    assert "sessions" in queries[0], queries
    assert not any("projection_positions" in q for q in queries[1:]), queries
    return queries


async def statements_of(client: TestClient, database: Database, path: str) -> list[str]:
    """The statements one GET sends, after a first one warmed the pool and caches. The
    background projector is stopped first (its polls would be counted whenever they
    fall); the request's own catch-up still runs."""
    await client.app[PROJECTOR].stop()
    assert 200 == (await call(client, "GET", path))[0]
    with counted(database) as statements:
        status, body = await call(client, "GET", path)
    assert 200 == status, body
    return statements


class TestAttendanceQueries:
    async def test_an_unfinished_session_costs_the_same_for_one_and_thirty(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """An ONGOING circle of 30 is read with the statements of a circle of 1."""
        await seed(database)
        clock.set(START + timedelta(minutes=30))
        one = await circle(database, ROSTER[:1], Status.ONGOING)
        thirty = await circle(database, ROSTER, Status.ONGOING)
        small = await statements_of(client, database, f"/v1/sessions/{one}/attendance")
        large = await statements_of(client, database, f"/v1/sessions/{thirty}/attendance")
        assert len(small) == len(large), (small, large)
        # The session with the projection's position, its roster, reports, charges,
        # intervals and track evidence: one query. (A session whose settings were
        # never frozen reads its academy's as well.)
        assert 1 == len(attendance_queries(large)), attendance_queries(large)

    async def test_a_finished_session_costs_the_same_for_one_and_thirty(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """A COMPLETED circle of 30 is read with the statements of a circle of 1."""
        await seed(database)
        one = await circle(database, ROSTER[:1], Status.ONGOING)
        thirty = await circle(database, ROSTER, Status.ONGOING)
        clock.set(START + timedelta(minutes=55))
        for session_id in (one, thirty):
            assert 200 == (await call(client, "POST", f"/v1/sessions/{session_id}/complete"))[0]
        small = await statements_of(client, database, f"/v1/sessions/{one}/attendance")
        large = await statements_of(client, database, f"/v1/sessions/{thirty}/attendance")
        assert len(small) == len(large), (small, large)
        # The session with its written verdicts and their charges joined, and the
        # projection's position: one query.
        assert 1 == len(attendance_queries(large)), attendance_queries(large)

    async def test_a_finished_session_is_served_as_it_would_be_assessed(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The answer kept on the written verdicts is the one assessing the evidence
        gives: after a report changed a verdict, for a student, and once the kept
        answer is dropped (as changed intervals drop it)."""
        await seed(database)
        session_id = await circle(database, ROSTER[:3], Status.ONGOING)
        clock.set(START + timedelta(minutes=55))
        path = f"/v1/sessions/{session_id}"
        assert 200 == (await call(client, "POST", f"{path}/complete"))[0]
        report = {"attendance_status": "absent", "reason": "left early"}
        put = await call(client, "PUT", f"{path}/reports/{ROSTER[1]}", json=report)
        assert 200 == put[0], put
        kept = await call(client, "GET", f"{path}/attendance")
        response = await client.get(
            f"{path}/attendance", headers=auth(user_token(ROSTER[1], "student", 1))
        )
        own = response.status, await response.json()
        async with database.uow() as uow:
            await uow.verdicts.forget_snapshots(session_id)
            await uow.commit()
        assessed = await call(client, "GET", f"{path}/attendance")
        assert 200 == kept[0] == assessed[0] == own[0]
        assert kept[1] == assessed[1]
        assert [s for s in kept[1]["students"] if s["user_id"] == ROSTER[1]] == own[1]["students"]
        assert kept[1]["students"][1]["manually_overridden"]

    async def test_an_unfinished_session_with_reports_is_read_as_assessed(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """Reports on some of an ONGOING circle's students cost no statement more, and
        the answer is the one `session_attendance` (each kind of row read on its own)
        gives, in the same locale."""
        await seed(database)
        clock.set(START + timedelta(minutes=30))
        session_id = await circle(database, ROSTER, Status.ONGOING)
        path = f"/v1/sessions/{session_id}"
        before = await statements_of(client, database, f"{path}/attendance")
        for student, status in ((ROSTER[0], "absent"), (ROSTER[7], "late")):
            report = {"attendance_status": status, "reason": "seen"}
            put = await call(client, "PUT", f"{path}/reports/{student}", json=report)
            assert 200 == put[0], put
        after = await statements_of(client, database, f"{path}/attendance")
        assert len(before) == len(after), (before, after)
        status, answer = await call(client, "GET", f"{path}/attendance")
        async with database.reading() as uow:
            session = await uow.sessions.get(session_id)
            assert session is not None
            assessed = await session_attendance(uow, session, now=clock())
            expected = attendance_shape(assessed, locale="en").model_dump(mode="json")
        assert (200, expected) == (status, answer)
        overridden = [s["user_id"] for s in answer["students"] if s["manually_overridden"]]
        assert [ROSTER[0], ROSTER[7]] == overridden

    async def test_the_one_statement_reads_what_each_kind_of_read_reads(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The intervals and track evidence that ride on the session's first row as
        JSON are, to the microsecond, what their own reads give: open and closed, and
        the tracks in the order they were stored (not that of their moments), with
        reports making the session more than one row."""
        await seed(database)
        session_id = await circle(database, ROSTER[:3], Status.ONGOING)
        late = START + timedelta(minutes=51, microseconds=1)
        await presence(database, session_id, ROSTER[0], late, None, sid="PA_open")
        # Stored last, joined first.
        early = START - timedelta(minutes=5)
        await presence(database, session_id, ROSTER[2], early, START, sid="PA_early")
        tracks = [(TrackPublished, 12), (TrackUnpublished, 3), (TrackPublished, 1)]
        async with database.uow() as uow:
            for n, (kind, minutes) in enumerate(tracks):
                at = START + timedelta(minutes=minutes, microseconds=123400)
                evidence = kind(f"EV_t{n}", "RM_1", at, "PA_x", str(ROSTER[1]), f"TR_{n}", "CAMERA")
                await uow.evidence.record(
                    evidence, source=EvidenceSource.WEBHOOK, room_name=None, session_id=session_id
                )
            # PostgreSQL writes an updated row anew (an indexed column changed, twice): its
            # scans now meet the first track last.
            for rename in ("'EV_t0' || 'x'", "'EV_t0'"):
                await uow.session.execute(
                    text(f"UPDATE evidence SET event_id = {rename} WHERE event_id LIKE 'EV_t0%'")
                )
            await uow.commit()
        for student in ROSTER[1:3]:
            report = {"attendance_status": "late", "reason": "seen"}
            put = await call(
                client, "PUT", f"/v1/sessions/{session_id}/reports/{student}", json=report
            )
            assert 200 == put[0], put
        async with database.reading() as uow:
            inputs = await uow.assessing.inputs(session_id)
            assert inputs is not None
            assert (6, 3, [ROSTER[1], ROSTER[2]]) == (
                len(inputs.intervals),
                len(inputs.tracks),
                sorted(inputs.reports),
            )
            assert inputs.intervals == await uow.intervals.for_session(session_id)
            assert inputs.tracks == await uow.evidence.tracks_for_session(session_id)


class TestSessionQueries:
    async def test_a_session_costs_the_same_for_one_and_thirty_students(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """GET /v1/sessions/{id} of a circle of 30 sends what a circle of 1 sends."""
        await seed(database)
        clock.set(START + timedelta(minutes=30))
        one = await circle(database, ROSTER[:1], Status.ONGOING)
        thirty = await circle(database, ROSTER, Status.ONGOING)
        small = await statements_of(client, database, f"/v1/sessions/{one}")
        large = await statements_of(client, database, f"/v1/sessions/{thirty}")
        assert len(small) == len(large), (small, large)

    async def test_the_list_costs_the_same_for_one_and_thirty_sessions(
        self, client: TestClient, database: Database
    ) -> None:
        """A page of 30 sessions, unscheduled ones among them (whose settings come from
        their academy), sends what a page of one sends."""
        await seed(database)
        async with database.uow() as uow:
            for n, student in enumerate(ROSTER):
                await make_session(
                    uow,
                    starts_at=None if n % 2 else START + timedelta(hours=n),
                    status=Status.UNSCHEDULED if n % 2 else Status.SCHEDULED,
                    students=(student,),
                )
            await uow.commit()
        small = await statements_of(client, database, "/v1/sessions?status=unscheduled&limit=1")
        large = await statements_of(client, database, "/v1/sessions?limit=30")
        assert len(small) == len(large), (small, large)


class TestAttendancePageQueries:
    async def test_the_page_costs_the_same_for_one_and_thirty_students(
        self, client: TestClient, database: Database, clock: ManualClock
    ) -> None:
        """The teacher's page of a circle of 30 sends what the page of a circle of 1 sends."""
        await seed(database)
        clock.set(START + timedelta(minutes=30))
        one = await circle(database, ROSTER[:1], Status.ONGOING)
        thirty = await circle(database, ROSTER, Status.ONGOING)
        small = await statements_of(client, database, f"/sessions/{one}/attendance")
        large = await statements_of(client, database, f"/sessions/{thirty}/attendance")
        assert len(small) == len(large), (small, large)
