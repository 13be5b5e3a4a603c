"""A student's progress across lessons (`GET /v1/students/{id}/progress`).

The lessons are the attendance report's (`engine.operations.attendance_report`): the
sessions that take place with the student on the roster, in the window and of the
types asked for, each with the student's verdict. What the reports add up to is
`rules.progress`'s; each kind also carries the attendance summary row of its lessons.
A fixed number of queries up to `CHUNK` lessons: the report's six, and one for the
reports and make-up flags.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from engine.operations.attendance_report import ReportFilter, StudentSummary, report_rows
from rules.codes import SessionType, SubscriptionKind, kind_of
from rules.progress import Lesson, academic_progress, interactive_progress, quran_progress
from store.uow import UnitOfWork

CHUNK = 1000

_ADD_UP = {
    SubscriptionKind.QURAN: quran_progress,
    SubscriptionKind.ACADEMIC: academic_progress,
    SubscriptionKind.INTERACTIVE: interactive_progress,
}


async def student_progress(
    open_uow: Callable[[], UnitOfWork],
    f: ReportFilter,
    kinds: Sequence[SubscriptionKind],
    *,
    now: datetime,
) -> dict[SubscriptionKind, dict[str, Any]]:
    """Per kind of `kinds`: its lessons' progress, with `attendance` (the summary row)."""
    assert f.student_id is not None
    student_id = f.student_id
    summaries = {kind: StudentSummary(student_id) for kind in kinds}
    lessons: dict[int, tuple[SubscriptionKind, int | None]] = {}
    async for rows in report_rows(open_uow, f, now=now, chunk=CHUNK):
        for row in rows:
            kind = kind_of(SessionType(row.type))
            summaries[kind].add(row)
            # A lesson still pending has no engagement yet: a live, partial score
            # (or a future lesson's 0) would drag the average down.
            engagement = None if row.attendance_status == "pending" else row.engagement_score
            lessons[row.session_id] = (kind, engagement)
    async with open_uow() as uow:
        found = await uow.reports.of_student(student_id, list(lessons))
    by_kind: dict[SubscriptionKind, list[Lesson]] = {kind: [] for kind in kinds}
    for session_id, makeup, fields in sorted(found):
        kind, engagement = lessons[session_id]
        by_kind[kind].append(Lesson(kind.value, makeup, fields or {}, engagement))
    return {
        kind: {**_ADD_UP[kind](by_kind[kind]), "attendance": summaries[kind].values()}
        for kind in kinds
    }
