"""Teacher reports, one per (session, student)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.schema import Session, StudentReport


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

    async def for_sessions(self, session_ids: Sequence[int]) -> dict[int, dict[int, StudentReport]]:
        """The reports of each of `session_ids` (one query), by student id."""
        result: dict[int, dict[int, StudentReport]] = {sid: {} for sid in session_ids}
        if not session_ids:
            return result
        for row in await self.session.scalars(
            select(StudentReport).where(StudentReport.session_id.in_(session_ids))
        ):
            result[row.session_id][row.student_id] = row
        return result

    async def put(
        self,
        existing: StudentReport | None,
        session_id: int,
        student_id: int,
        *,
        values: dict[str, Any],
        at: datetime,
    ) -> StudentReport:
        """Replace a student's report with `values` (columns of StudentReport), creating
        it if `existing` is None; flushed, so a read in the same transaction sees it."""
        report = existing
        if report is None:
            report = StudentReport(session_id=session_id, student_id=student_id, created_at=at)
            self.session.add(report)
        for name, value in values.items():
            setattr(report, name, value)
        report.updated_at = at
        await self.session.flush()
        return report

    async def of_student(
        self, student_id: int, session_ids: Sequence[int]
    ) -> list[tuple[int, bool, dict[str, Any] | None]]:
        """Each of `session_ids` (one query): its id, whether it is a make-up, and the
        type fields of the student's report on it (None without a report)."""
        if not session_ids:
            return []
        rows = await self.session.execute(
            select(Session.id, Session.is_makeup_session, StudentReport.fields)
            .select_from(Session)
            .outerjoin(
                StudentReport,
                and_(
                    StudentReport.session_id == Session.id,
                    StudentReport.student_id == student_id,
                ),
            )
            .where(Session.id.in_(session_ids))
        )
        return [(session_id, bool(makeup), fields) for session_id, makeup, fields in rows]
