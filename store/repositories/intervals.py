"""Presence intervals: derived from a session's evidence, replaced whole on every change."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from rules import evidence as ev
from store.repositories.base import insert_many, table_of
from store.schema import Interval


class IntervalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_session(self, session_id: int) -> list[ev.Interval]:
        """A session's intervals in the rules' form, by (joined_at, sid)."""
        rows = await self.session.scalars(
            select(Interval)
            .where(Interval.session_id == session_id)
            .order_by(Interval.joined_at, Interval.participant_sid)
        )
        return [to_rule_interval(row) for row in rows]

    async def for_sessions(self, session_ids: Sequence[int]) -> dict[int, list[ev.Interval]]:
        """The intervals of each of `session_ids` (one query), each by (joined_at, sid)."""
        result: dict[int, list[ev.Interval]] = {sid: [] for sid in session_ids}
        if not session_ids:
            return result
        for row in await self.session.scalars(
            select(Interval)
            .where(Interval.session_id.in_(session_ids))
            .order_by(Interval.session_id, Interval.joined_at, Interval.participant_sid)
        ):
            result[row.session_id].append(to_rule_interval(row))
        return result

    async def open_in(self, session_ids: Sequence[int]) -> dict[int, list[ev.Interval]]:
        """Per session of `session_ids`: its intervals still open (no `left_at`)."""
        result: dict[int, list[ev.Interval]] = {sid: [] for sid in session_ids}
        if not session_ids:
            return result
        for row in await self.session.scalars(
            select(Interval).where(Interval.session_id.in_(session_ids), Interval.left_at.is_(None))
        ):
            result[row.session_id].append(to_rule_interval(row))
        return result

    async def people_of(self, session_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """Per session of `session_ids`: `(sid, identity)` of each of its intervals."""
        result: dict[int, list[tuple[str, str]]] = {sid: [] for sid in session_ids}
        if not session_ids:
            return result
        for session_id, sid, identity in await self.session.execute(
            select(Interval.session_id, Interval.participant_sid, Interval.identity).where(
                Interval.session_id.in_(session_ids)
            )
        ):
            result[session_id].append((sid, identity))
        return result

    async def session_ids(self) -> set[int]:
        """Every session that has intervals."""
        return set(await self.session.scalars(select(Interval.session_id).distinct()))

    async def replace(self, session_id: int, intervals: Iterable[ev.Interval]) -> None:
        """Make the stored intervals of a session exactly `intervals`."""
        await self.replace_many({session_id: intervals})

    async def replace_many(self, by_session: Mapping[int, Iterable[ev.Interval]]) -> None:
        """Make the stored intervals of each session exactly its `intervals` (one
        statement to clear, one to insert, however many sessions)."""
        await self.replace_some(by_session, {})

    async def replace_some(
        self,
        by_session: Mapping[int, Iterable[ev.Interval]],
        of_sids: Mapping[int, tuple[Collection[str], Iterable[ev.Interval]]],
    ) -> None:
        """`replace_many` of the sessions of `by_session`, and for each session of
        `of_sids` (session -> (sids, intervals)) only the intervals of those sids: the
        stored ones of the sids deleted, `intervals` written (one statement to clear,
        one to insert)."""
        pairs = [(session_id, sid) for session_id, (sids, _) in of_sids.items() for sid in sids]
        if not by_session and not pairs:
            return
        cleared = []
        if by_session:
            cleared.append(Interval.session_id.in_(list(by_session)))
        if pairs:
            cleared.append(tuple_(Interval.session_id, Interval.participant_sid).in_(pairs))
        await self.session.execute(delete(Interval).where(or_(*cleared)))
        by_session = {
            **by_session,
            **{session_id: intervals for session_id, (_, intervals) in of_sids.items()},
        }
        rows = [
            {
                "session_id": session_id,
                "participant_sid": i.sid,
                "identity": i.identity,
                "user_id": i.user_id,
                "room_sid": i.room_sid,
                "joined_at": i.joined_at,
                "left_at": i.left_at,
                "decisive": i.decisive,
            }
            for session_id, intervals in by_session.items()
            for i in intervals
        ]
        # One statement, not an ORM flush of one INSERT per row: this runs for every
        # batch the projector takes.
        await insert_many(self.session, table_of(Interval), rows)


def to_rule_interval(row: Interval) -> ev.Interval:
    """The pure-rules form of a stored interval."""
    return ev.Interval(
        sid=row.participant_sid,
        identity=row.identity,
        user_id=row.user_id,
        room_sid=row.room_sid,
        joined_at=row.joined_at,
        left_at=row.left_at,
        decisive=row.decisive,
    )
