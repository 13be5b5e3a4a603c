"""Teacher reports, one per (session, student)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.schema import StudentReport


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
