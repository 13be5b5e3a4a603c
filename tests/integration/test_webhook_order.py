"""Order invariance through the real endpoint (CONTRACT 3): any order of arrival and
any number of repeats of a lesson's webhooks give the same intervals, the same
start, the same verdicts and the same engagement (track events among them) as the
events in the order they happened.

Each example plays one random lesson into two fresh sessions of the same shape:
in event-time order into one, shuffled with repeats into the other, both over
HTTP; then compares what the two sessions ended up with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from livekit.protocol import models

from engine.operations.attendance import session_attendance
from rules.codes import SessionType
from store.database import Database
from tests.support.factories import scheduled_session, seed_world
from tests.support.livekit import (
    OBSERVER,
    aborted,
    joined,
    left,
    room_finished,
    track_published,
    track_unpublished,
)
from tests.support.signed_requests import post_webhook

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)
START = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
AGENT = models.ParticipantInfo.Kind.AGENT
STANDARD = models.ParticipantInfo.Kind.STANDARD
# identity, kind, metadata: the teacher, two students (one on two devices), someone
# off the roster, an observer and an agent.
PEOPLE = [
    ("5", STANDARD, ""),
    ("10", STANDARD, ""),
    ("10_phone", STANDARD, ""),
    ("11_Sara", STANDARD, ""),
    ("99", STANDARD, ""),
    ("77", STANDARD, OBSERVER),
    ("agent-1", AGENT, ""),
]
# Hypothesis examples per backend: 200 on SQLite; PostgreSQL runs the same property
# with fewer (both at 200 take well over a minute); raise them through the environment.
EXAMPLES = {
    "sqlite": int(os.environ.get("HUDUR_ORDER_EXAMPLES_SQLITE", "200")),
    "postgres": int(os.environ.get("HUDUR_ORDER_EXAMPLES_POSTGRES", "60")),
}


@dataclass(frozen=True)
class Happening:
    """One webhook of the lesson, before it is rendered for a room."""

    kind: str  # joined | left | aborted | room_finished | published | unpublished
    at: datetime  # its event time: what "in order" means
    sid: str = ""
    person: int = 0  # index into PEOPLE
    joined_at: datetime | None = None
    room_sid: str = "RM_A"
    source: str = "CAMERA"  # of a track

    def render(self, room: str, event_id: str) -> bytes:
        if self.kind == "room_finished":
            return room_finished(room, self.at, event_id=event_id, room_sid=self.room_sid)
        identity, kind, metadata = PEOPLE[self.person]
        who: dict[str, Any] = {
            "event_id": event_id,
            "room_sid": self.room_sid,
            "kind": kind,
            "metadata": metadata,
        }
        if self.kind == "joined":
            return joined(room, self.sid, identity, self.at, **who)
        if self.kind == "left":
            return left(room, self.sid, identity, self.at, joined_at=self.joined_at, **who)
        if self.kind in ("published", "unpublished"):
            track = track_published if self.kind == "published" else track_unpublished
            return track(
                room,
                self.sid,
                identity,
                self.at,
                source=self.source,
                track_sid=f"TR_{self.sid}_{self.source}",
                event_id=event_id,
                room_sid=self.room_sid,
            )
        return aborted(room, self.sid, identity, self.at, **who)


def _minutes(value: int, millis: int = 0) -> datetime:
    return START + timedelta(minutes=value, milliseconds=millis)


@st.composite
def lessons(draw: st.DrawFn) -> list[Happening]:
    """Up to four connections (joins, leaves, aborts, lost joins, reconnects of the
    same person under new sids) and perhaps the room's end, after which new
    connections land in a new room sid."""
    finished_at = draw(st.none() | st.integers(30, 80).map(_minutes))
    events: list[Happening] = []
    for n in range(draw(st.integers(1, 4))):
        sid = f"PA_{n}"
        person = draw(st.integers(0, len(PEOPLE) - 1))
        join = _minutes(draw(st.integers(-20, 75)), draw(st.sampled_from([0, 250, 999])))
        room_sid = "RM_A" if finished_at is None or join < finished_at else "RM_B"
        common = {"sid": sid, "person": person, "room_sid": room_sid}
        end = join + timedelta(minutes=draw(st.integers(0, 60)))
        ending = draw(st.sampled_from(["left", "aborted", "open", "lost_join"]))
        if ending != "lost_join":
            events.append(Happening("joined", join, **common))
        # Perhaps a track on the connection: published a while after the join, and
        # perhaps unpublished (else it ends with the connection).
        if draw(st.booleans()):
            source = draw(st.sampled_from(["CAMERA", "MICROPHONE", "SCREEN_SHARE"]))
            on = join + timedelta(minutes=draw(st.integers(0, 30)))
            events.append(Happening("published", on, source=source, **common))
            if draw(st.booleans()):
                off = on + timedelta(minutes=draw(st.integers(0, 40)))
                events.append(Happening("unpublished", off, source=source, **common))
        if ending in ("left", "lost_join"):
            events.append(Happening("left", end, joined_at=join, **common))
        elif ending == "aborted":
            events.append(Happening("aborted", end, **common))
    if finished_at is not None:
        events.append(Happening("room_finished", finished_at))
    return sorted(events, key=lambda e: e.at)


async def _two_sessions(database: Database) -> tuple[int, str, int, str]:
    async with database.uow() as uow:
        pair = [
            await scheduled_session(
                uow,
                now=NOW,
                starts_at=START,
                session_type=SessionType.INTERACTIVE_COURSE,
                students=(10, 11),
            )
            for _ in range(2)
        ]
        await uow.commit()
    return pair[0].id, pair[0].session_code, pair[1].id, pair[1].session_code


async def _outcome(database: Database, session_id: int) -> dict[str, Any]:
    """Everything the lesson decided for a session, without row ids."""
    async with database.uow() as uow:
        session = await uow.sessions.get(session_id)
        assert session is not None
        intervals = [_interval(i) for i in await uow.intervals.for_session(session_id)]
        live = await session_attendance(uow, session, now=_minutes(30))
        final = await session_attendance(uow, session, now=_minutes(200), finished=True)
        return {
            "status": session.status,
            "started_at": session.started_at,
            "intervals": intervals,
            "live": _verdicts(live),
            "final": _verdicts(final),
        }


def _interval(i: Any) -> tuple[Any, ...]:
    return (
        i.sid,
        i.identity,
        i.user_id,
        i.room_sid,
        i.joined_at,
        i.left_at,
        i.decisive,
    )


def _verdicts(attendance: Any) -> tuple[Any, ...]:
    return (
        attendance.teacher_meeting,
        attendance.teacher_status,
        tuple((s.user_id, s.verdict, s.engagement) for s in attendance.students),
    )


@pytest.fixture(name="world")
async def fixture_world(database: Database) -> None:
    """The academy, teacher 5 and students 10, 11, 12, once per test."""
    async with database.uow() as uow:
        await seed_world(uow, NOW)
        await uow.commit()


async def _play(
    client: TestClient, database: Database, lesson: list[Happening], data: st.DataObject
) -> None:
    ordered_id, ordered_room, shuffled_id, shuffled_room = await _two_sessions(database)
    repeats = data.draw(st.lists(st.integers(0, len(lesson) - 1), max_size=3), label="repeats")
    arrival = data.draw(st.permutations(list(range(len(lesson))) + repeats), label="arrival")
    for n, happening in enumerate(lesson):
        body = happening.render(ordered_room, f"EV_{ordered_room}_{n}")
        assert 200 == (await post_webhook(client, body)).status
    answers = []
    for n in arrival:
        response = await post_webhook(
            client, lesson[n].render(shuffled_room, f"EV_{shuffled_room}_{n}")
        )
        answers.append((await response.json())["status"])
    assert len(lesson) == answers.count("accepted")
    assert len(repeats) == answers.count("duplicate")
    assert await _outcome(database, ordered_id) == await _outcome(database, shuffled_id)


class TestOrderInvariance:
    """Shuffled and repeated deliveries of one lesson end in the same intervals,
    start and verdicts (live and final) as its deliveries in event-time order, and
    each repeat is answered `duplicate`."""

    @pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
    @settings(max_examples=EXAMPLES["sqlite"], deadline=None)
    @given(lesson=lessons(), data=st.data())
    async def test_on_sqlite(
        self,
        client: TestClient,
        database: Database,
        world: None,
        lesson: list[Happening],
        data: st.DataObject,
    ) -> None:
        """Any arrival order and repeats give the ordered result (SQLite)."""
        await _play(client, database, lesson, data)

    @pytest.mark.parametrize("backend", ["postgres"], indirect=True)
    @settings(max_examples=EXAMPLES["postgres"], deadline=None)
    @given(lesson=lessons(), data=st.data())
    async def test_on_postgres(
        self,
        client: TestClient,
        database: Database,
        world: None,
        lesson: list[Happening],
        data: st.DataObject,
    ) -> None:
        """Any arrival order and repeats give the ordered result (PostgreSQL)."""
        await _play(client, database, lesson, data)
