"""The projector: the one deriver of evidence, intervals and the start trigger.

The webhook endpoint only appends raw events to the inbox (CONTRACT 3: acknowledged
means durable); everything derived from them is made here, off the request path,
in batches read after a tracking position kept beside the view it writes:

    project   one batch: the position row locked, the next inbox rows after it,
              each parsed and derived (`read_rows`: webhooks.derive, pure), then
              `apply`: the rows attached to the session of their room, the
              touched sessions locked, the intervals the new evidence can change
              rebuilt from only the evidence they rest on (rules.interval_updates:
              one read of what was stored before the batch, then the batch's
              evidence written, one replace for all sessions),
              their joins applied in event-time order (start, removal), the
              position advanced: all one transaction. (On SQLite the projector
              runs `read_rows` before its transaction, engine/projector.py.)

Exactly once: the position advances in the transaction that writes what the batch
derived, so a crash or a failed commit leaves both as they were and the batch is
done again, whole. Replicas sharing PostgreSQL lock the position row (FOR UPDATE),
so they take batches one after another and never the same one twice.

No skipped rows: a batch reads `id > position`, which is only safe if no row with a
lower id can commit later. Every append takes one transaction-level advisory lock
before it draws ids (store.repositories.inbox.APPEND_LOCK_KEY; SQLite has a single
writer anyway), so appends commit in id order, and a row visible to the projector
has no invisible row below it.

`hudur rebuild` is this same projection replayed from position zero (rebuild.py).
Driven by `engine.projector.Projector` (woken by each commit of the intake, and a
poll), and brought up to date before every read (`Projector.catch_up`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.operations.presence import on_join
from rules import evidence as ev
from rules.engagement import TrackPublished, TrackUnpublished
from rules.errors import HudurError
from rules.interval_updates import affected_sids, rebuilt_intervals
from rules.lifecycle import is_ongoing
from store.repositories.evidence import row_values
from store.repositories.inbox import InboxRow
from store.uow import UnitOfWork
from webhooks.derive import Derived, derive_evidence
from webhooks.parse import parse_event

BATCH = 500


@dataclass
class Projected:
    """What one batch (or a whole replay) read and wrote."""

    events: int = 0  # inbox rows read
    evidence: int = 0  # evidence rows derived from them
    orphans: int = 0  # of those, for rooms that match no session (yet)
    unreadable: list[str] = field(default_factory=list)  # event ids that decide nothing
    sessions: set[int] = field(default_factory=set)  # sessions whose intervals were rebuilt
    started: list[int] = field(default_factory=list)  # sessions a join moved to ONGOING
    position: int = 0  # the position after the batch

    def add(self, other: Projected) -> None:
        self.events += other.events
        self.evidence += other.evidence
        self.orphans += other.orphans
        self.unreadable += other.unreadable
        self.sessions |= other.sessions
        self.started += other.started
        self.position = max(self.position, other.position)


async def project(
    uow: UnitOfWork,
    *,
    now: datetime,
    allow_as_of: bool,
    limit: int = BATCH,
    replay: bool = False,
    upto: int | None = None,
) -> Projected | None:
    """Project the next batch of at most `limit` inbox rows; None when there is none.
    Each event is judged against its stored `received_at` (without `allow_as_of`).
    A `replay` (rebuild) derives evidence and intervals only: the starts and removals
    were decided when the events first arrived; it stops at inbox id `upto`."""
    position = await uow.projection.hold()
    await uow.inbox.move_spooled()  # SQLite: what the intake's spool holds, first
    rows = await uow.inbox.page(after=position, limit=limit)
    if upto is not None:
        rows = [row for row in rows if row.id <= upto]
    if not rows:
        return None
    staged = await read_rows(rows, allow_as_of=allow_as_of)
    return await apply(uow, staged, now=now, replay=replay)


async def apply(
    uow: UnitOfWork, staged: list[Staged], *, now: datetime, replay: bool = False
) -> Projected:
    """Write what `read_rows` derived from the rows after the held position: their
    evidence, the touched sessions' intervals, the starts; the position advanced."""
    report = Projected(position=staged[-1].row.id)
    fresh, joins = await store_rows(uow, staged, report)
    touched = sorted(report.sessions | set(joins))
    # Every touched session at once, locked in id order (presence.py's lock order).
    states = await uow.sessions.lock_states(touched)
    ids = [s.id for s in states]
    if replay:
        # Replayed from position zero: what is stored is not yet built from it.
        await uow.evidence.flush()
        evidence = await uow.evidence.for_sessions(ids)
        await uow.intervals.replace_many(
            {session_id: ev.build_intervals(items) for session_id, items in evidence.items()}
        )
    else:
        await _update_intervals(uow, ids, fresh)  # writes the staged evidence too
        acting = [
            s.id
            for s in states
            if any(_may_act(s.status, s.started_at, j) for j, _ in joins.get(s.id, ()))
        ]
        for session in await uow.sessions.lock_many(acting, skip_locked=False):
            for join, user_id in sorted(joins[session.id], key=lambda j: j[0].at):
                if not _may_act(session.status, session.started_at, join):
                    continue
                started, _ = await on_join(uow, session, join, user_id, now=now)
                if started:
                    report.started.append(session.id)
    await uow.projection.advance(report.position)
    return report


async def _update_intervals(
    uow: UnitOfWork, session_ids: list[int], fresh: dict[int, list[ev.Evidence]]
) -> None:
    """The intervals of `session_ids` brought up to date with their `fresh` evidence
    (staged, not yet written): only those of the sids it may change are read and
    rebuilt (rules.interval_updates); a session whose room or self ended, or with an
    empty sid, is rebuilt whole. The stored evidence is read before the batch's own is
    written: that is in hand, and reading it back and converting it again was half of
    what the read returned."""
    people = await uow.intervals.people_of(session_ids)
    whole: list[int] = []
    some: dict[int, frozenset[str]] = {}
    for session_id in session_ids:
        affected = affected_sids(fresh.get(session_id, ()), people[session_id])
        if affected is None or "" in affected:
            whole.append(session_id)
        elif affected:
            some[session_id] = affected
    stored = await uow.evidence.of_participants(whole, some)
    await uow.evidence.flush()
    evidence = {
        session_id: [*before, *fresh.get(session_id, ())] for session_id, before in stored.items()
    }
    await uow.intervals.replace_some(
        {session_id: ev.build_intervals(evidence[session_id]) for session_id in whole},
        {
            session_id: (sids, rebuilt_intervals(evidence[session_id], sids))
            for session_id, sids in some.items()
        },
    )


Joins = dict[int, list[tuple[ev.ParticipantJoined, int | None]]]


def _may_act(status: str, started_at: datetime | None, join: ev.ParticipantJoined) -> bool:
    """Whether `on_join` can do anything with this join: an ongoing session is moved
    only by a join earlier than its start (so most joins need neither the session
    loaded nor its roster read)."""
    if not is_ongoing(status) or started_at is None:
        return True
    return join.at < started_at


@dataclass(slots=True)
class Staged:
    """One inbox row read: what it proves (None: nothing), in the store's row form."""

    row: InboxRow
    readable: bool
    room_sid: str
    derived: Derived | None
    values: dict[str, Any] | None  # its evidence row, the session still to be set


# Rows read between two turns of the event loop: the webhooks waiting on it are
# answered between them.
_YIELD_EVERY = 64


async def read_rows(rows: list[InboxRow], *, allow_as_of: bool) -> list[Staged]:
    """Each of `rows` parsed and derived (webhooks.derive, pure): no statement, so on
    SQLite the projector does it before it takes its turn to write."""
    staged = []
    for n, row in enumerate(rows):
        if n and n % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
        try:
            event = parse_event(row.body)
        except HudurError:
            staged.append(Staged(row, False, "", None, None))
            continue
        derived = derive_evidence(event, received_at=None if allow_as_of else row.received_at)
        values = None
        if derived is not None:
            values = row_values(
                derived.evidence,
                source=derived.source,
                room_name=derived.room_name,
                session_id=None,
                user_id=derived.user_id,
            )
        staged.append(Staged(row, True, event.room_sid or "", derived, values))
    return staged


async def derive_rows(
    uow: UnitOfWork, rows: list[InboxRow], report: Projected, *, allow_as_of: bool
) -> Joins:
    """Evidence of `rows` (inbox rows, in id order) stored (`store_rows`); the joins
    per session."""
    _, joins = await store_rows(uow, await read_rows(rows, allow_as_of=allow_as_of), report)
    await uow.evidence.flush()
    return joins


async def store_rows(
    uow: UnitOfWork, staged: list[Staged], report: Projected
) -> tuple[dict[int, list[ev.Evidence]], Joins]:
    """The evidence of `staged` rows staged (the caller flushes it); each row attached
    to its room's session and marked processed or ignored; per session, the presence
    evidence staged and the joins. A row whose fields cannot be read is kept and
    decides nothing."""
    rooms = sorted(
        {s.row.room_name for s in staged if s.row.session_id is None and s.row.room_name}
    )
    by_room = await uow.sessions.ids_by_code(rooms)
    fresh: dict[int, list[ev.Evidence]] = {}
    joins: Joins = {}
    meeting_ids: dict[int, str] = {}
    rows = []
    for item in staged:
        row = item.row
        rows.append(row)
        report.events += 1
        if row.session_id is None and row.room_name is not None:
            row.session_id = by_room.get(row.room_name)
        if not item.readable:
            report.unreadable.append(row.event_id)
            row.state = "ignored"
            continue
        if row.session_id is not None and item.room_sid:
            meeting_ids.setdefault(row.session_id, item.room_sid)
        derived = item.derived
        if derived is None or item.values is None:
            row.state = "ignored"
            continue
        row.state = "processed"
        uow.evidence.stage_values({**item.values, "session_id": row.session_id})
        report.evidence += 1
        if row.session_id is None:
            report.orphans += 1
            continue
        evidence = derived.evidence
        if isinstance(evidence, TrackPublished | TrackUnpublished):
            # Tracks bear on no interval: engagement reads them as they are stored.
            continue
        report.sessions.add(row.session_id)
        fresh.setdefault(row.session_id, []).append(evidence)
        if isinstance(evidence, ev.ParticipantJoined):
            joins.setdefault(row.session_id, []).append((evidence, derived.user_id))
    await uow.inbox.write_back(rows)
    # Until CreateRoom's answer is in (or when LiveKit made the room on a join).
    await uow.sessions.learn_meeting_ids(meeting_ids)
    return fresh, joins
