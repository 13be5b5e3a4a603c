"""Evidence: the facts about presence, derived from the inbox or added by a repair.

Outside `store/` evidence exists only in the rules' form (`rules.evidence`, and
`rules.engagement` for tracks); the mappers at the end are the one way into a row
and the one way out of it. Presence reads (`for_session(s)`) never see track rows;
`tracks_for_session(s)` read only those.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, Row, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rules import evidence as ev
from rules.engagement import TrackEvidence, TrackPublished, TrackUnpublished
from store.repositories.base import insert_ignore, insert_many, table_of
from store.schema import Evidence, Session

TRACK_KINDS = (ev.EvidenceKind.TRACK_PUBLISHED.value, ev.EvidenceKind.TRACK_UNPUBLISHED.value)
_PRESENCE = Evidence.kind.not_in(TRACK_KINDS)
_TRACKS = Evidence.kind.in_(TRACK_KINDS)
# Evidence that bears on every interval of its session (rules.interval_updates).
_ENDS = (ev.EvidenceKind.ROOM_FINISHED.value, ev.EvidenceKind.SESSION_CLOSED.value)

AnyEvidence = ev.Evidence | TrackEvidence
T = TypeVar("T")

_EVIDENCE = table_of(Evidence)
_COLUMNS = [c.key for c in _EVIDENCE.columns if c.key != "id"]


class EvidenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._staged: list[dict[str, Any]] = []

    async def add(self, row: Evidence) -> None:
        """Store one evidence row once (keyed by its event id)."""
        values = {
            c.key: getattr(row, c.key)
            for c in table_of(Evidence).columns
            if c.key != "id" and getattr(row, c.key) is not None
        }
        await self.session.execute(
            insert_ignore(self.session, Evidence, ["event_id"]).values(**values)
        )

    async def record(
        self,
        evidence: AnyEvidence,
        *,
        source: ev.EvidenceSource,
        room_name: str | None,
        session_id: int | None,
        user_id: int | None = None,
    ) -> None:
        """Store one piece of evidence once (keyed by its event id)."""
        await self.add(
            to_row(
                evidence, source=source, room_name=room_name, session_id=session_id, user_id=user_id
            )
        )

    def stage(
        self,
        evidence: AnyEvidence,
        *,
        source: ev.EvidenceSource,
        room_name: str | None,
        session_id: int | None,
        user_id: int | None = None,
    ) -> None:
        """Queue one piece of evidence for the next `flush` (a rebuild writes a page at once)."""
        self._staged.append(
            row_values(
                evidence, source=source, room_name=room_name, session_id=session_id, user_id=user_id
            )
        )

    def stage_values(self, values: dict[str, Any]) -> None:
        """Queue one row made by `row_values` for the next `flush`."""
        self._staged.append(values)

    async def flush(self) -> None:
        """Write what was staged, in one statement of Core rows (`insert_many`): the
        projector stages thousands a second, and an ORM flush of them cost more than
        the rest of it."""
        staged, self._staged = self._staged, []
        await insert_many(self.session, _EVIDENCE, staged)

    async def attach(self, room_name: str, session_id: int) -> int:
        """Give a session the evidence that arrived before it existed; how many rows."""
        result = await self.session.execute(
            update(Evidence)
            .where(Evidence.room_name == room_name, Evidence.session_id.is_(None))
            .values(session_id=session_id)
        )
        attached: int = cast(CursorResult[Any], result).rowcount
        return attached

    async def for_session(self, session_id: int) -> list[ev.Evidence]:
        """The evidence of a session, in the rules' form."""
        rows = await self.session.scalars(
            select(Evidence)
            .where(Evidence.session_id == session_id, _PRESENCE)
            .order_by(Evidence.id)
        )
        return [to_rule_evidence(row) for row in rows]

    async def of_participants(
        self, whole: Sequence[int], some: Mapping[int, Collection[str]]
    ) -> dict[int, list[ev.Evidence]]:
        """The presence evidence of each session of `whole`, and of each session of
        `some` only that of the given participant sids and its ends (room finished,
        session closed): one query, in the rules' form. A sid must not be empty (its
        rows store NULL)."""
        result: dict[int, list[ev.Evidence]] = {sid: [] for sid in [*whole, *some]}
        sids = sorted({sid for wanted in some.values() for sid in wanted})
        conditions: list[ColumnElement[bool]] = []
        if whole:
            conditions.append(Evidence.session_id.in_(whole))
        if some:
            conditions.append(
                Evidence.session_id.in_(list(some))
                & or_(Evidence.participant_sid.in_(sids), Evidence.kind.in_(_ENDS))
            )
        if not conditions:
            return result
        wanted_whole = set(whole)
        for row in await self.session.execute(
            select(*_EVIDENCE.c).where(or_(*conditions), _PRESENCE).order_by(Evidence.id)
        ):
            session_id = row.session_id
            if (
                session_id in wanted_whole
                or row.kind in _ENDS
                or row.participant_sid in some.get(session_id, ())
            ):
                result[session_id].append(to_rule_evidence(row))
        return result

    async def tracks_for_session(self, session_id: int) -> list[TrackEvidence]:
        """The track evidence of a session, in the rules' form."""
        rows = await self.session.execute(
            select(*table_of(Evidence).c)
            .where(Evidence.session_id == session_id, _TRACKS)
            .order_by(Evidence.id)
        )
        return [to_track_evidence(row) for row in rows]

    async def tracks_for_sessions(
        self, session_ids: Sequence[int]
    ) -> dict[int, list[TrackEvidence]]:
        """The track evidence of each of `session_ids` (one query)."""
        return await self._grouped(session_ids, _TRACKS, to_track_evidence)

    async def for_sessions(self, session_ids: Sequence[int]) -> dict[int, list[ev.Evidence]]:
        """The evidence of each of `session_ids` (one query), in the rules' form."""
        return await self._grouped(session_ids, _PRESENCE, to_rule_evidence)

    async def _grouped(
        self,
        session_ids: Sequence[int],
        kinds: ColumnElement[bool],
        convert: Callable[[Row[Any]], T],
    ) -> dict[int, list[T]]:
        result: dict[int, list[T]] = {sid: [] for sid in session_ids}
        if not session_ids:
            return result
        # Plain rows, not ORM objects: a sweep's batch reads thousands of these.
        for row in await self.session.execute(
            select(*table_of(Evidence).c)
            .where(Evidence.session_id.in_(session_ids), kinds)
            .order_by(Evidence.session_id, Evidence.id)
        ):
            result[row.session_id].append(convert(row))
        return result

    async def add_closed_many(self, closes: Sequence[tuple[int, str, ev.SessionClosed]]) -> None:
        """The synthetic closing evidence of many sessions, `(session_id, room_name,
        closed)` each, in one statement (once per session: keyed by event id)."""
        if not closes:
            return
        # The columns `to_row` gives a SessionClosed, as plain values (no ORM object).
        rows = [
            {
                "event_id": closed.event_id,
                "source": ev.EvidenceSource.SYSTEM.value,
                "kind": closed.kind.value,
                "room_name": room_name,
                "room_sid": None,
                "session_id": session_id,
                "participant_sid": None,
                "identity": None,
                "user_id": None,
                "at": closed.at,
                "joined_at": None,
                "decisive": True,
                "track_sid": None,
                "track_source": None,
            }
            for session_id, room_name, closed in closes
        ]
        # executemany of one cached statement: a multi-row VALUES is compiled anew
        # for every batch size, which costs more than the rows.
        await self.session.execute(
            insert_ignore(self.session, table_of(Evidence), ["event_id"]).execution_options(
                render_nulls=True
            ),
            rows,
        )

    async def add_closed(
        self, session_id: int, room_name: str, *, at: datetime, event_id: str
    ) -> None:
        """The synthetic evidence that a session ended at `at` (once per session)."""
        await self.record(
            ev.SessionClosed(event_id=event_id, at=at),
            source=ev.EvidenceSource.SYSTEM,
            room_name=room_name,
            session_id=session_id,
        )

    async def participants_in(self, session_ids: Sequence[int]) -> dict[int, set[str]]:
        """Per session of `session_ids`: every participant sid it has presence evidence
        of (a track event does not tell of a connection whose join was lost)."""
        result: dict[int, set[str]] = {sid: set() for sid in session_ids}
        if not session_ids:
            return result
        for session_id, sid in await self.session.execute(
            select(Evidence.session_id, Evidence.participant_sid).where(
                Evidence.session_id.in_(session_ids),
                Evidence.participant_sid.is_not(None),
                _PRESENCE,
            )
        ):
            if session_id is not None and sid is not None:
                result[session_id].add(sid)
        return result

    async def session_ids(self) -> set[int]:
        """Every session that has evidence."""
        return {
            session_id
            for session_id in await self.session.scalars(select(Evidence.session_id).distinct())
            if session_id is not None
        }

    async def existing_sessions(self, session_ids: Sequence[int]) -> list[int]:
        """Which of `session_ids` are sessions that still exist (evidence is kept by
        room and id, and may outlive its session)."""
        rows = await self.session.scalars(select(Session.id).where(Session.id.in_(session_ids)))
        return list(rows)

    async def delete_from(self, source: ev.EvidenceSource) -> None:
        """Drop all evidence of `source` (a full rebuild derives it again)."""
        await self.session.execute(delete(Evidence).where(Evidence.source == source.value))

    async def delete_from_for_session(
        self, source: ev.EvidenceSource, session_id: int, room_name: str
    ) -> None:
        """Drop the evidence of `source` of one session, and of its room while unattached."""
        await self.session.execute(
            delete(Evidence).where(
                Evidence.source == source.value,
                or_(
                    Evidence.session_id == session_id,
                    (Evidence.session_id.is_(None)) & (Evidence.room_name == room_name),
                ),
            )
        )


def to_row(
    evidence: AnyEvidence,
    *,
    source: ev.EvidenceSource,
    room_name: str | None,
    session_id: int | None,
    user_id: int | None = None,
) -> Evidence:
    """The row that stores `evidence`; an empty sid or identity is stored as NULL."""
    row = Evidence(
        event_id=evidence.event_id,
        source=source.value,
        kind=evidence.kind.value,
        room_name=room_name,
        room_sid=None,
        session_id=session_id,
        at=evidence.at,
        joined_at=None,
        decisive=True,
    )
    if isinstance(evidence, ev.SessionClosed):
        return row
    row.room_sid = evidence.room_sid or None
    if isinstance(evidence, ev.RoomFinished):
        return row
    row.participant_sid = evidence.sid or None
    row.identity = evidence.identity or None
    row.user_id = user_id
    if isinstance(evidence, TrackPublished | TrackUnpublished):
        row.track_sid = evidence.track_sid
        row.track_source = evidence.source
        return row
    row.decisive = evidence.decisive
    if isinstance(evidence, ev.ParticipantLeft):
        row.joined_at = evidence.joined_at
    return row


def row_values(
    evidence: AnyEvidence,
    *,
    source: ev.EvidenceSource,
    room_name: str | None,
    session_id: int | None,
    user_id: int | None = None,
) -> dict[str, Any]:
    """`to_row` as the plain column values of one INSERT (no ORM object: the
    projector makes thousands a second)."""
    values: dict[str, Any] = dict.fromkeys(_COLUMNS)
    values.update(
        event_id=evidence.event_id,
        source=source.value,
        kind=evidence.kind.value,
        room_name=room_name,
        session_id=session_id,
        at=evidence.at,
        decisive=True,
    )
    if isinstance(evidence, ev.SessionClosed):
        return values
    values["room_sid"] = evidence.room_sid or None
    if isinstance(evidence, ev.RoomFinished):
        return values
    values["participant_sid"] = evidence.sid or None
    values["identity"] = evidence.identity or None
    values["user_id"] = user_id
    if isinstance(evidence, TrackPublished | TrackUnpublished):
        values["track_sid"] = evidence.track_sid
        values["track_source"] = evidence.source
        return values
    values["decisive"] = evidence.decisive
    if isinstance(evidence, ev.ParticipantLeft):
        values["joined_at"] = evidence.joined_at
    return values


def to_rule_evidence(row: Evidence | Row[Any]) -> ev.Evidence:
    """The pure-rules form of a stored evidence row."""
    room_sid = row.room_sid or ""
    sid, identity = row.participant_sid or "", row.identity or ""
    match ev.EvidenceKind(row.kind):
        case ev.EvidenceKind.SESSION_CLOSED:
            return ev.SessionClosed(event_id=row.event_id, at=row.at)
        case ev.EvidenceKind.ROOM_FINISHED:
            return ev.RoomFinished(event_id=row.event_id, room_sid=room_sid, at=row.at)
        case ev.EvidenceKind.JOINED:
            return ev.ParticipantJoined(
                row.event_id, room_sid, row.at, sid, identity, decisive=row.decisive
            )
        case ev.EvidenceKind.LEFT:
            return ev.ParticipantLeft(
                row.event_id, room_sid, row.at, sid, identity, row.decisive, row.joined_at
            )
        case ev.EvidenceKind.ABORTED:
            return ev.ConnectionAborted(
                row.event_id, room_sid, row.at, sid, identity, decisive=row.decisive
            )
    raise ValueError(f"unknown evidence kind {row.kind!r}")


def to_track_evidence(row: Any) -> TrackEvidence:
    """The pure-rules form of a stored track evidence row (any object with its
    columns as attributes: the ORM's, a result row, the assessing read's decoded
    JSON)."""
    kind = TrackPublished if row.kind == ev.EvidenceKind.TRACK_PUBLISHED.value else TrackUnpublished
    return kind(
        row.event_id,
        row.room_sid or "",
        row.at,
        row.participant_sid or "",
        row.identity or "",
        row.track_sid or "",
        row.track_source or "",
    )
