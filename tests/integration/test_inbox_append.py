"""The inbox's group-commit append (store/appender.py, store/postgres_appender.py),
below the endpoint: what one batch stores and which of its ids it reports as stored
now. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store.database import Database
from store.repositories.inbox import InboxRow, NewEvent

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


def event(n: int, *, room: str | None = "QSE-1-000001") -> NewEvent:
    return NewEvent(
        event_id=f"EV_append{n:04d}",
        event="participant_joined",
        room_name=room,
        room_sid=None if room is None else f"RM_{n}",
        occurred_at=NOW + timedelta(seconds=n, microseconds=n),
        received_at=NOW + timedelta(seconds=n + 1),
        body=b'{"event":"participant_joined","n":%d}' % n,
    )


async def _stored(database: Database) -> list[InboxRow]:
    """The inbox, with what SQLite's spool holds moved into it first (store/spool.py)."""
    async with database.uow() as uow:
        await uow.inbox.move_spooled()
        rows = await uow.inbox.page(after=0, limit=100)
        await uow.commit()
    return rows


class TestAppend:
    async def test_a_batch_is_stored_whole_and_answers_the_ids_it_stored(
        self, database: Database
    ) -> None:
        """Eleven events (chunks of 8, 2 and 1 rows on SQLite): every one stored, in
        batch order, with its fields as given and `pending` for the projector."""
        batch = [event(n, room=None if n == 3 else "QSE-1-000001") for n in range(11)]
        assert {e.event_id for e in batch} == await database.append_inbox(batch)
        rows = await _stored(database)
        assert [e.event_id for e in batch] == [r.event_id for r in rows]
        assert [
            (e.event, e.room_name, e.room_sid, e.occurred_at, e.received_at, e.body, "pending")
            for e in batch
        ] == [
            (r.event, r.room_name, r.room_sid, r.occurred_at, r.received_at, r.body, r.state)
            for r in rows
        ]

    async def test_ids_stored_before_are_left_alone_and_not_reported(
        self, database: Database
    ) -> None:
        """The unique key decides: a batch mixing old and new ids stores the new ones
        only, and the old rows keep what they held."""
        await database.append_inbox([event(1), event(2)])
        again = [event(0), event(1)._replace(body=b"{}"), event(2), event(3)]
        assert {"EV_append0000", "EV_append0003"} == await database.append_inbox(again)
        rows = {r.event_id: r.body for r in await _stored(database)}
        assert 4 == len(rows)
        assert event(1).body == rows["EV_append0001"]

    async def test_an_empty_batch_stores_nothing(self, database: Database) -> None:
        """Nothing to append: no statement, nothing stored."""
        assert set() == await database.append_inbox([])
        assert [] == await _stored(database)
