"""The audit log of every hand-made or rebuilt change: reports, hand-set charges, rebuilds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rules.actors import Actor
from store.schema import AuditEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        session_id: int,
        *,
        student_id: int | None,
        kind: str,
        actor: Actor,
        at: datetime,
        reason: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> AuditEntry:
        row = AuditEntry(
            session_id=session_id,
            student_id=student_id,
            kind=kind,
            actor=str(actor),
            at=at,
            reason=reason,
            before=before,
            after=after,
        )
        self.session.add(row)
        return row

    async def for_session(self, session_id: int) -> list[AuditEntry]:
        rows = await self.session.scalars(
            select(AuditEntry).where(AuditEntry.session_id == session_id).order_by(AuditEntry.id)
        )
        return list(rows)
