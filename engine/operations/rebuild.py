"""Presence replayed: every webhook's evidence derived again from the inbox.

The inbox keeps the raw bytes of every accepted event, so the evidence of source
"webhook" is deleted and derived again with the same pure `derive_evidence` that
live intake uses, and the intervals of every session touched are recomputed.
Other evidence (a session's close, repairs) is kept. A finished session whose
verdicts the new intervals change is then re-decided exactly as a report would
(`verdicts.redecide_rebuilt`): the change audited as `rebuild`, an individual
session moved COMPLETED <-> ABSENT, its charge updated in place; sessions still
running need nothing, their verdicts are computed on read.

A full rebuild is the projector (projection.py) replayed from position zero in one
transaction: it holds the inbox (PostgreSQL: SHARE mode, so appends wait for it)
and the position row (so no projector runs meanwhile). One session's rebuild holds
that session's row and the position, and derives only the rows already projected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.operations.presence import recompute_intervals
from engine.operations.projection import Projected, derive_rows, project
from engine.operations.verdicts import redecide_rebuilt
from rules import evidence as ev
from rules.errors import NotFound
from store.uow import UnitOfWork

# Inbox rows read at once, and session ids per `IN (…)`.
BATCH = 500


@dataclass
class RebuildReport:
    """What a rebuild read and wrote."""

    events: int = 0  # stored webhooks read
    evidence: int = 0  # evidence rows derived from them
    orphans: int = 0  # of those, for rooms that still match no session
    unreadable: list[str] = field(default_factory=list)  # event ids that no longer parse
    sessions: list[int] = field(default_factory=list)  # sessions whose intervals were rebuilt
    intervals: int = 0
    redecided: list[int] = field(default_factory=list)  # finished sessions with a changed verdict
    moved: list[int] = field(default_factory=list)  # of those, sessions whose status followed

    def summary(self) -> str:
        lines = [
            f"rebuilt {self.evidence} evidence rows from {self.events} stored webhooks "
            f"({self.orphans} for rooms without a session)",
            f"recomputed the intervals of {len(self.sessions)} sessions: "
            f"{self.intervals} intervals",
        ]
        if self.redecided:
            lines.append(
                f"re-decided {len(self.redecided)} finished sessions whose verdicts changed "
                f"({len(self.moved)} moved between completed and absent)"
            )
        if self.unreadable:
            lines.append(f"skipped {len(self.unreadable)} unreadable events: {self.unreadable}")
        return "\n".join(lines)


async def rebuild(
    uow: UnitOfWork, *, now: datetime, allow_as_of: bool, session_id: int | None = None
) -> RebuildReport:
    """Derive the webhook evidence of one session (or of everything) again from the
    inbox, recompute the intervals it bears on, and re-decide the finished sessions
    among them as of `now`; NotFound for an unknown session. Each event is judged
    against its stored `received_at`, as live intake judged it (`allow_as_of` as the
    service's setting)."""
    if session_id is None:
        report = await _rebuild_all(uow, allow_as_of, now=now)
    else:
        report = await _rebuild_session(uow, session_id, allow_as_of)
    for redecision in await redecide_rebuilt(uow, report.sessions, at=now):
        if redecision.changes or redecision.moved:
            report.redecided.append(redecision.attendance.session.id)
        if redecision.moved:
            report.moved.append(redecision.attendance.session.id)
    return report


async def _rebuild_session(uow: UnitOfWork, session_id: int, allow_as_of: bool) -> RebuildReport:
    """One session: its webhooks, and those of its room still waiting to be attached."""
    session = await uow.sessions.get(session_id, for_update=True)
    if session is None:
        raise NotFound(f"no session {session_id}")
    await uow.inbox.attach(session.session_code, session_id)
    await uow.evidence.delete_from_for_session(
        ev.EvidenceSource.WEBHOOK, session_id, session.session_code
    )
    # Only the rows the projector has read: the rest are its to derive, once.
    position = await uow.projection.hold()
    report = RebuildReport()
    projected = Projected()
    last_id = 0
    while rows := await uow.inbox.page(after=last_id, limit=BATCH, session_id=session_id):
        last_id = rows[-1].id
        rows = [row for row in rows if row.id <= position]
        if rows:
            await derive_rows(uow, rows, projected, allow_as_of=allow_as_of)
    _count(report, projected)
    await _recompute(uow, report, {session_id})
    return report


async def _rebuild_all(uow: UnitOfWork, allow_as_of: bool, *, now: datetime) -> RebuildReport:
    """Every stored webhook, every session that has or had derived data: the
    projection replayed from position zero, in this one transaction."""
    await uow.inbox.hold_for_rebuild()
    reached = await uow.projection.hold()  # rows after it are the live projector's
    touched = await uow.evidence.session_ids() | await uow.intervals.session_ids()
    await uow.evidence.delete_from(ev.EvidenceSource.WEBHOOK)
    await uow.projection.advance(0)
    projected = Projected()
    while batch := await project(
        uow, now=now, allow_as_of=allow_as_of, limit=BATCH, replay=True, upto=reached
    ):
        projected.add(batch)
    report = RebuildReport()
    _count(report, projected)
    await _recompute(uow, report, touched | projected.sessions)
    return report


def _count(report: RebuildReport, projected: Projected) -> None:
    report.events += projected.events
    report.evidence += projected.evidence
    report.orphans += projected.orphans
    report.unreadable += projected.unreadable


async def _recompute(uow: UnitOfWork, report: RebuildReport, session_ids: set[int]) -> None:
    wanted = sorted(session_ids)
    existing: list[int] = []
    for start in range(0, len(wanted), BATCH):
        existing += await uow.evidence.existing_sessions(wanted[start : start + BATCH])
    for session_id in sorted(existing):
        report.intervals += len(await recompute_intervals(uow, session_id))
        report.sessions.append(session_id)
