"""The projector: the one deriver of evidence, intervals and the start trigger.

The webhook endpoint only appends raw events to the inbox (CONTRACT 3: acknowledged
means durable); everything derived from them is made here, off the request path,
in batches read after a tracking position kept beside the view it writes:

    project   one batch: the position row locked, the next inbox rows after it,
              each parsed and derived (webhooks.derive, pure), the rows attached to
              the session of their room, evidence written, the touched sessions
              locked, their intervals recomputed ONCE (one read, one replace for
              all of them), their joins applied in event-time order (start,
              removal), the position advanced: all one transaction.

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

from dataclasses import dataclass, field
from datetime import datetime

from engine.operations.presence import on_join
from rules import evidence as ev
from rules.engagement import TrackPublished, TrackUnpublished
from rules.errors import HudurError
from rules.lifecycle import is_ongoing
from store.repositories.inbox import InboxRow
from store.uow import UnitOfWork
from webhooks.derive import derive_evidence
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
    rows = await uow.inbox.page(after=position, limit=limit)
    if upto is not None:
        rows = [row for row in rows if row.id <= upto]
    if not rows:
        return None
    report = Projected(position=rows[-1].id)
    joins = await derive_rows(uow, rows, report, allow_as_of=allow_as_of)
    touched = sorted(report.sessions | set(joins))
    # Every touched session at once: locked in id order (presence.py's lock order),
    # its evidence read and its intervals replaced in one statement each. Only the
    # sessions a join may move are loaded whole.
    states = await uow.sessions.lock_states(touched)
    evidence = await uow.evidence.for_sessions([s.id for s in states])
    await uow.intervals.replace_many(
        {session_id: ev.build_intervals(items) for session_id, items in evidence.items()}
    )
    if not replay:
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


Joins = dict[int, list[tuple[ev.ParticipantJoined, int | None]]]


def _may_act(status: str, started_at: datetime | None, join: ev.ParticipantJoined) -> bool:
    """Whether `on_join` can do anything with this join: an ongoing session is moved
    only by a join earlier than its start (so most joins need neither the session
    loaded nor its roster read)."""
    if not is_ongoing(status) or started_at is None:
        return True
    return join.at < started_at


async def derive_rows(
    uow: UnitOfWork, rows: list[InboxRow], report: Projected, *, allow_as_of: bool
) -> Joins:
    """Evidence of `rows` (inbox rows, in id order) staged and flushed; each row
    attached to its room's session and marked processed or ignored; the joins per
    session. A row whose fields cannot be read is kept and decides nothing."""
    rooms = sorted({r.room_name for r in rows if r.session_id is None and r.room_name})
    by_room = await uow.sessions.ids_by_code(rooms)
    joins: Joins = {}
    meeting_ids: dict[int, str] = {}
    for row in rows:
        report.events += 1
        if row.session_id is None and row.room_name is not None:
            row.session_id = by_room.get(row.room_name)
        try:
            event = parse_event(row.body)
        except HudurError:
            report.unreadable.append(row.event_id)
            row.state = "ignored"
            continue
        if row.session_id is not None and event.room_sid:
            meeting_ids.setdefault(row.session_id, event.room_sid)
        derived = derive_evidence(event, received_at=None if allow_as_of else row.received_at)
        if derived is None:
            row.state = "ignored"
            continue
        row.state = "processed"
        uow.evidence.stage(
            derived.evidence,
            source=derived.source,
            room_name=derived.room_name,
            session_id=row.session_id,
            user_id=derived.user_id,
        )
        report.evidence += 1
        if row.session_id is None:
            report.orphans += 1
            continue
        if isinstance(derived.evidence, TrackPublished | TrackUnpublished):
            # Tracks bear on no interval: engagement reads them as they are stored.
            continue
        report.sessions.add(row.session_id)
        if isinstance(derived.evidence, ev.ParticipantJoined):
            joins.setdefault(row.session_id, []).append((derived.evidence, derived.user_id))
    await uow.evidence.flush()
    await uow.inbox.write_back(rows)
    # Until CreateRoom's answer is in (or when LiveKit made the room on a join).
    await uow.sessions.learn_meeting_ids(meeting_ids)
    return joins
