"""`hudur rebuild`: derive every webhook's evidence again from the inbox.

The inbox keeps the raw bytes of every accepted event, so everything below it can
be thrown away and made again: the evidence rows of source "webhook" are deleted
and re-derived with the same pure `derive_evidence` that live intake uses, and the
intervals of every session touched are recomputed. Evidence that did not come from
a webhook (a session's `session_closed`, reconciliation repairs) is kept. Verdicts
are computed on read from the intervals, so they follow.

Status transitions and charges are history, not derived data: a rebuild never
moves a session or writes the ledger.

Runs in one transaction. On PostgreSQL a full rebuild holds the inbox in SHARE
mode, so deliveries arriving meanwhile wait for it (they lock the inbox before any
session, so this cannot deadlock); `--session` holds only that session's row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import structlog
from sqlalchemy import delete, or_, select, text

from engine.operations.presence import recompute_intervals
from rules.errors import HudurError, NotFound
from store.database import Database
from store.schema import Evidence, Interval, Session, WebhookEvent
from store.uow import UnitOfWork
from webhooks.derive import SOURCE, derive_evidence
from webhooks.parse import parse_event

log = structlog.get_logger("hudur.rebuild")

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

    def summary(self) -> str:
        lines = [
            f"rebuilt {self.evidence} evidence rows from {self.events} stored webhooks "
            f"({self.orphans} for rooms without a session)",
            f"recomputed the intervals of {len(self.sessions)} sessions: "
            f"{self.intervals} intervals",
        ]
        if self.unreadable:
            lines.append(f"skipped {len(self.unreadable)} unreadable events: {self.unreadable}")
        return "\n".join(lines)


async def rebuild(database: Database, *, session_id: int | None = None) -> RebuildReport:
    """Rebuild the derived evidence of one session, or of everything, and commit."""
    async with database.uow() as uow:
        if session_id is None:
            report = await rebuild_all(uow)
        else:
            report = await rebuild_session(uow, session_id)
        await uow.commit()
    log.info(
        "rebuilt",
        session_id=session_id,
        events=report.events,
        evidence=report.evidence,
        sessions=len(report.sessions),
    )
    return report


async def rebuild_session(uow: UnitOfWork, session_id: int) -> RebuildReport:
    """One session: its webhooks, and those of its room still waiting to be attached."""
    session = await uow.sessions.get(session_id, for_update=True)
    if session is None:
        raise NotFound(f"no session {session_id}")
    await uow.inbox.attach(session.session_code, session_id)
    await uow.session.execute(
        delete(Evidence).where(
            Evidence.source == SOURCE,
            or_(
                Evidence.session_id == session_id,
                (Evidence.session_id.is_(None)) & (Evidence.room_name == session.session_code),
            ),
        )
    )
    report = RebuildReport()
    await _derive(uow, report, WebhookEvent.session_id == session_id)
    await _recompute(uow, report, {session_id})
    return report


async def rebuild_all(uow: UnitOfWork) -> RebuildReport:
    """Every stored webhook, every session that has or had derived data."""
    if uow.is_postgres:
        await uow.session.execute(text("LOCK TABLE webhook_events IN SHARE MODE"))
    touched: set[int] = {
        session_id
        for session_id in await uow.session.scalars(select(Evidence.session_id).distinct())
        if session_id is not None
    }
    touched |= set(await uow.session.scalars(select(Interval.session_id).distinct()))
    await uow.session.execute(delete(Evidence).where(Evidence.source == SOURCE))
    report = RebuildReport()
    touched |= await _derive(uow, report, None)
    await _recompute(uow, report, touched)
    return report


async def _derive(uow: UnitOfWork, report: RebuildReport, where: object) -> set[int]:
    """Derive evidence from the inbox rows matching `where`, page by page in id order;
    rows of a room that has a session by now are attached to it (as adoption would)."""
    touched: set[int] = set()
    sessions_by_code: dict[str, int | None] = {}  # rooms looked up so far
    last_id = 0
    while True:
        stmt = select(WebhookEvent).where(WebhookEvent.id > last_id)
        if where is not None:
            stmt = stmt.where(where)  # type: ignore[arg-type]
        rows = list(await uow.session.scalars(stmt.order_by(WebhookEvent.id).limit(BATCH)))
        if not rows:
            return touched
        last_id = rows[-1].id
        for row in rows:
            report.events += 1
            try:
                event = parse_event(row.body)
            except HudurError:
                report.unreadable.append(row.event_id)
                continue
            if row.session_id is None and row.room_name is not None:
                row.session_id = await _session_of(uow, row.room_name, sessions_by_code)
            evidence = derive_evidence(event, session_id=row.session_id)
            if evidence is None:
                continue
            uow.session.add(evidence)
            report.evidence += 1
            if row.session_id is None:
                report.orphans += 1
            else:
                touched.add(row.session_id)
        await uow.session.flush()


async def _session_of(uow: UnitOfWork, code: str, cache: dict[str, int | None]) -> int | None:
    if code not in cache:
        cache[code] = await uow.session.scalar(
            select(Session.id).where(Session.session_code == code)
        )
    return cache[code]


async def _recompute(uow: UnitOfWork, report: RebuildReport, session_ids: set[int]) -> None:
    wanted = sorted(session_ids)
    existing: list[int] = []
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start : start + BATCH]
        existing += await uow.session.scalars(select(Session.id).where(Session.id.in_(chunk)))
    for session_id in sorted(existing):
        report.intervals += len(await recompute_intervals(uow, session_id))
        report.sessions.append(session_id)
