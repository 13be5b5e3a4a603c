"""Generating sessions from recurring schedules, on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.operations.lifecycle import transition
from engine.operations.schedules import withdraw_upcoming
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent, Status
from rules.recurrence import EARLIEST
from rules.settings import resolve_settings
from scheduler.recurring import generate
from store.database import Database
from store.schema import Session
from tests.support.factories import ACADEMY_ID, TEACHER_ID, scheduled_session, seed_world

CAIRO = ZoneInfo("Africa/Cairo")
SEEDED = datetime(2025, 8, 1, tzinfo=UTC)
SCHEDULE_ID = 70


def circle(**overrides: Any) -> dict[str, Any]:
    """A Quran circle meeting Mondays and Wednesdays at 18:00 Cairo time, one term."""
    values: dict[str, Any] = {
        "academy_id": ACADEMY_ID,
        "type": SessionType.QURAN_CIRCLE.value,
        "title": "Evening circle",
        "teacher_id": TEACHER_ID,
        "student_ids": {"ids": [10, 11, 12]},
        "weekdays": {"days": ["mon", "wed"]},
        "start_time": "18:00",
        "duration_minutes": 60,
        "starts_on": date(2025, 9, 1),
        "ends_on": date(2025, 12, 31),
        "monthly_session_limit": 7,
        "generate_days_ahead": 14,
    }
    values.update(overrides)
    return values


async def given_schedule(database: Database, **overrides: Any) -> None:
    async with database.uow() as uow:
        await seed_world(uow, SEEDED, subscriptions=False)
        await uow.schedules.upsert(SCHEDULE_ID, now=SEEDED, **circle(**overrides))
        await uow.commit()


async def generated_sessions(database: Database) -> list[Session]:
    async with database.uow() as uow:
        sessions = await uow.schedules.sessions_of(SCHEDULE_ID)
        await uow.commit()  # nothing to write: committed, the rows stay readable after it
        return sessions


async def tick_through_term(database: Database, *, every: timedelta) -> None:
    now = datetime(2025, 8, 20, tzinfo=UTC)
    while now < datetime(2026, 1, 5, tzinfo=UTC):
        await generate(database, now)
        now += every


class TestTerm:
    async def test_a_term_keeps_local_time_across_the_dst_change(self, database: Database) -> None:
        """Every session of the term starts at 18:00 Cairo time: 15:00 UTC in summer
        time (to 30 October 2025), 16:00 UTC after it."""
        await given_schedule(database)

        await tick_through_term(database, every=timedelta(days=7))
        sessions = await generated_sessions(database)

        local = [s.scheduled_at.astimezone(CAIRO) for s in sessions if s.scheduled_at]
        assert {(18, 0)} == {(t.hour, t.minute) for t in local}
        assert {0, 2} == {t.weekday() for t in local}
        by_offset = Counter(
            (s.scheduled_at.hour, s.scheduled_at < datetime(2025, 10, 31, tzinfo=UTC))
            for s in sessions
            if s.scheduled_at
        )
        assert {(15, True): 14, (16, False): 14} == dict(by_offset)

    async def test_no_month_holds_more_than_the_limit(self, database: Database) -> None:
        """Each local month of the term gets exactly its limit of 7, the earliest slots
        first (September has 9 Monday/Wednesday slots, so the 24th and 29th are left out)."""
        await given_schedule(database)

        await tick_through_term(database, every=timedelta(days=3))
        sessions = await generated_sessions(database)

        months = Counter(s.scheduled_at.astimezone(CAIRO).month for s in sessions if s.scheduled_at)
        assert {9: 7, 10: 7, 11: 7, 12: 7} == dict(months)
        september = [
            s.scheduled_at.astimezone(CAIRO).day
            for s in sessions
            if s.scheduled_at and s.scheduled_at.astimezone(CAIRO).month == 9
        ]
        assert [1, 3, 8, 10, 15, 17, 22] == september

    async def test_generated_sessions_are_scheduled_with_frozen_settings_and_roster(
        self, database: Database
    ) -> None:
        """A generated session is SCHEDULED, lasts the schedule's duration, carries the
        academy's settings of its type, the roster, and a `generated` history row."""
        await given_schedule(database)
        async with database.uow() as uow:
            academy = await uow.academies.get(ACADEMY_ID)
            assert academy is not None
            academy.rules = {"quran_circle": {"late_grace_minutes": 3}}
            await uow.commit()

        report = await generate(database, datetime(2025, 8, 30, tzinfo=UTC))
        first = report.generated[0]
        async with database.uow() as uow:
            session = await uow.sessions.get(first.session_id)
            roster = await uow.sessions.roster(first.session_id)
            history = await uow.transitions.for_session(first.session_id)
            await uow.commit()  # nothing to write: committed, the rows stay readable after it

        assert session is not None
        assert (Status.SCHEDULED.value, "Evening circle", SessionType.QURAN_CIRCLE.value) == (
            session.status,
            session.title,
            session.type,
        )
        assert datetime(2025, 9, 1, 15, 0, tzinfo=UTC) == session.scheduled_at
        assert datetime(2025, 9, 1, 16, 0, tzinfo=UTC) == session.ends_at
        assert (
            resolve_settings({"quran_circle": {"late_grace_minutes": 3}}, "quran_circle").to_dict()
            == session.settings
        )
        assert [10, 11, 12] == roster
        assert (SCHEDULE_ID, False) == (session.schedule_id, session.is_makeup_session)
        assert [(None, "scheduled", "generated", f"schedule:{SCHEDULE_ID}")] == [
            (h.from_status, h.to_status, h.event, h.actor) for h in history
        ]

    async def test_an_inactive_schedule_generates_nothing(self, database: Database) -> None:
        """A deleted (inactive) schedule is not generated from."""
        await given_schedule(database)
        async with database.uow() as uow:
            schedule = await uow.schedules.get(SCHEDULE_ID)
            assert schedule is not None
            schedule.active = False
            await uow.commit()

        report = await generate(database, datetime(2025, 8, 30, tzinfo=UTC))

        assert ([], []) == (report.generated, await generated_sessions(database))

    async def test_an_unreadable_schedule_is_reported_and_skipped(self, database: Database) -> None:
        """A schedule whose academy zone is no IANA zone is named in `failed`; the
        generation run itself does not fail."""
        await given_schedule(database)
        async with database.uow() as uow:
            academy = await uow.academies.get(ACADEMY_ID)
            assert academy is not None
            academy.timezone = "Mars/Olympus"
            await uow.commit()

        report = await generate(database, datetime(2025, 8, 30, tzinfo=UTC))

        assert ([SCHEDULE_ID], []) == (report.failed, report.generated)

    async def test_a_tick_at_the_ends_of_time_is_harmless(self, database: Database) -> None:
        """Generation as of year 1 or year 9999 (a replayed `as_of`) neither fails nor
        creates anything for this term."""
        await given_schedule(database)

        early = await generate(database, datetime.min.replace(tzinfo=UTC))
        late = await generate(database, datetime.max.replace(tzinfo=UTC))

        assert ([], [], [], []) == (early.generated, early.failed, late.generated, late.failed)


class TestIdempotence:
    async def test_running_again_at_the_same_moment_adds_nothing(self, database: Database) -> None:
        """A second generate at the same `now` finds every slot recorded."""
        await given_schedule(database)
        now = datetime(2025, 8, 30, tzinfo=UTC)

        first = await generate(database, now)
        second = await generate(database, now)

        assert (4, 0) == (len(first.generated), len(second.generated))
        assert 4 == len(await generated_sessions(database))

    async def test_concurrent_ticks_create_each_slot_once(self, database: Database) -> None:
        """Six generate() calls at once, each with its own units of work, create each
        slot's session exactly once and stay within the monthly limit."""
        await given_schedule(database, generate_days_ahead=120)
        now = datetime(2025, 8, 30, tzinfo=UTC)

        reports = await asyncio.gather(*(generate(database, now) for _ in range(6)))
        sessions = await generated_sessions(database)
        async with database.uow() as uow:
            slot_rows = len(
                (await uow.schedules.slot_starts_since([SCHEDULE_ID], EARLIEST))[SCHEDULE_ID]
            )

        starts = [s.scheduled_at for s in sessions]
        assert len(starts) == len(set(starts))
        assert len(sessions) == sum(len(r.generated) for r in reports)
        assert len(sessions) == slot_rows
        # 120 days from 30 August reach into late December: 7 + 7 + 7 + 7 at most.
        months = Counter(s.scheduled_at.astimezone(CAIRO).month for s in sessions if s.scheduled_at)
        assert all(n <= 7 for n in months.values())
        assert {9: 7, 10: 7, 11: 7} == {m: n for m, n in months.items() if m != 12}


class TestOverlap:
    async def test_a_slot_the_teacher_is_busy_in_is_skipped_and_recorded(
        self, database: Database
    ) -> None:
        """A slot overlapping another session of the teacher gets no session; the slot
        row says why, and the other session's history names the skipped slot."""
        await given_schedule(database, monthly_session_limit=None)
        async with database.uow() as uow:
            busy = await scheduled_session(
                uow, now=SEEDED, starts_at=datetime(2025, 9, 3, 15, 30, tzinfo=UTC)
            )
            await uow.commit()

        report = await generate(database, datetime(2025, 8, 30, tzinfo=UTC))
        async with database.uow() as uow:
            slot = await uow.schedules.slot_at(SCHEDULE_ID, datetime(2025, 9, 3, 15, 0, tzinfo=UTC))
            history = await uow.transitions.for_session(busy.id)
            await uow.commit()  # nothing to write: committed, the rows stay readable after it

        assert [datetime(2025, 9, 3, 15, 0, tzinfo=UTC)] == [s.slot_start for s in report.skipped]
        assert slot is not None and slot.session_id is None
        assert slot.skipped_reason is not None and busy.session_code in slot.skipped_reason
        assert [
            ("schedule", "unscheduled", "scheduled", "service"),
            ("slot_skipped", "scheduled", "scheduled", f"schedule:{SCHEDULE_ID}"),
        ] == [(h.event, h.from_status, h.to_status, h.actor) for h in history]
        assert {
            "schedule_id": SCHEDULE_ID,
            "slot_start": "2025-09-03T15:00:00Z",
            "reason": "teacher_overlap",
        }.items() <= (history[-1].details or {}).items()

    async def test_a_skipped_slot_leaves_its_place_in_the_month_to_a_later_one(
        self, database: Database
    ) -> None:
        """With a limit of 2 and the first slot skipped, the 2nd and 3rd slots are made,
        and the skip is not retried on the next tick."""
        await given_schedule(database, monthly_session_limit=2)
        async with database.uow() as uow:
            await scheduled_session(
                uow, now=SEEDED, starts_at=datetime(2025, 9, 1, 15, 0, tzinfo=UTC)
            )
            await uow.commit()

        now = datetime(2025, 8, 30, tzinfo=UTC)
        first = await generate(database, now)
        again = await generate(database, now)

        assert [
            datetime(2025, 9, 3, 15, 0, tzinfo=UTC),
            datetime(2025, 9, 8, 15, 0, tzinfo=UTC),
        ] == [g.slot_start for g in first.generated]
        assert ([], []) == (again.generated, again.skipped)

    async def test_a_cancelled_session_does_not_block_a_slot(self, database: Database) -> None:
        """Only non-cancelled sessions of the teacher make a slot skip."""
        await given_schedule(database)
        async with database.uow() as uow:
            other = await scheduled_session(
                uow, now=SEEDED, starts_at=datetime(2025, 9, 1, 15, 0, tzinfo=UTC)
            )
            await transition(uow, other, LifecycleEvent.CANCEL, at=SEEDED, actor="service")
            await uow.commit()

        report = await generate(database, datetime(2025, 8, 30, tzinfo=UTC))

        assert [] == report.skipped
        assert datetime(2025, 9, 1, 15, 0, tzinfo=UTC) == report.generated[0].slot_start


class TestWithdraw:
    async def test_withdrawing_cancels_only_upcoming_unstarted_sessions(
        self, database: Database
    ) -> None:
        """Sessions after `now` that are SCHEDULED or READY are cancelled with the reason;
        one already ongoing stays; the withdrawn slots are forgotten."""
        await given_schedule(database)
        await generate(database, datetime(2025, 8, 30, tzinfo=UTC))
        now = datetime(2025, 9, 1, 15, 5, tzinfo=UTC)
        async with database.uow() as uow:
            first = (await generated_sessions(database))[0]
            row = await uow.sessions.get(first.id)
            assert row is not None
            await transition(uow, row, LifecycleEvent.START, at=now, actor="evidence:x")
            schedule = await uow.schedules.get(SCHEDULE_ID)
            assert schedule is not None
            withdrawn = await withdraw_upcoming(
                uow, schedule, now=now, actor="service", reason="schedule deleted"
            )
            await uow.commit()
        sessions = await generated_sessions(database)
        async with database.uow() as uow:
            slots = await uow.schedules.slot_starts_since([SCHEDULE_ID], SEEDED)

        assert [Status.ONGOING.value, *[Status.CANCELLED.value] * 3] == [s.status for s in sessions]
        assert {"schedule deleted"} == {s.cancellation_reason for s in sessions[1:]}
        assert 3 == len(withdrawn)
        assert [sessions[0].scheduled_at] == [start for start, _ in slots[SCHEDULE_ID]]
