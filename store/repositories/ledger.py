"""Teacher reports, the override audit log, and the usage ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rules.charging import ChargeDecision
from store.repositories.base import insert_ignore
from store.schema import Override, StudentReport, UsageRow


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, session_id: int, student_id: int) -> StudentReport | None:
        return await self.session.get(StudentReport, (session_id, student_id))

    async def for_session(self, session_id: int) -> dict[int, StudentReport]:
        rows = await self.session.scalars(
            select(StudentReport).where(StudentReport.session_id == session_id)
        )
        return {r.student_id: r for r in rows}


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        session_id: int,
        *,
        student_id: int | None,
        kind: str,
        actor: str,
        at: datetime,
        reason: str | None,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
    ) -> Override:
        row = Override(
            session_id=session_id,
            student_id=student_id,
            kind=kind,
            actor=actor,
            at=at,
            reason=reason,
            before=before,
            after=after,
        )
        self.session.add(row)
        return row

    async def for_session(self, session_id: int) -> list[Override]:
        rows = await self.session.scalars(
            select(Override).where(Override.session_id == session_id).order_by(Override.id)
        )
        return list(rows)


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_session(self, session_id: int) -> dict[int, UsageRow]:
        rows = await self.session.scalars(select(UsageRow).where(UsageRow.session_id == session_id))
        return {r.student_id: r for r in rows}

    async def for_subscription(self, subscription_id: int) -> list[UsageRow]:
        rows = await self.session.scalars(
            select(UsageRow)
            .where(UsageRow.subscription_id == subscription_id)
            .order_by(UsageRow.id)
        )
        return list(rows)

    async def charge(
        self, session_id: int, decision: ChargeDecision, *, now: datetime, hand_set: bool = False
    ) -> bool:
        """Write one ledger row; False when the pair already had one (the unique key
        makes this exactly-once under any race, retry or replica)."""
        inserted = await self.session.scalar(
            insert_ignore(self.session, UsageRow, ["session_id", "student_id"])
            .values(
                session_id=session_id,
                student_id=decision.student_id,
                subscription_id=decision.subscription_id,
                status=decision.status.value,
                reason=decision.reason,
                verdict=decision.verdict.value,
                hand_set=hand_set,
                created_at=now,
                updated_at=now,
            )
            .returning(UsageRow.id)
        )
        return inserted is not None
