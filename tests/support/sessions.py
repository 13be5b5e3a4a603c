"""Sessions for a test's world, brought to the status it needs through the lifecycle.

A session is created UNSCHEDULED by the lifecycle owner and moved along the
table's own events (SCHEDULE, PREPARE, START), each written to its history as the
service's, so a test's world is one the engine could have made. The teacher's
calendar is not checked: a test may want two lessons at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from engine.operations import lifecycle
from rules.actors import SERVICE
from rules.codes import SessionType
from rules.lifecycle import LifecycleEvent, Status
from rules.settings import RuleSettings
from store.schema import Session
from store.uow import UnitOfWork

# The moves from UNSCHEDULED to each status a test may start from.
PATH: dict[Status, tuple[LifecycleEvent, ...]] = {
    Status.UNSCHEDULED: (),
    Status.SCHEDULED: (LifecycleEvent.SCHEDULE,),
    Status.READY: (LifecycleEvent.SCHEDULE, LifecycleEvent.PREPARE),
    Status.ONGOING: (LifecycleEvent.SCHEDULE, LifecycleEvent.PREPARE, LifecycleEvent.START),
    Status.COMPLETED: (
        LifecycleEvent.SCHEDULE,
        LifecycleEvent.PREPARE,
        LifecycleEvent.START,
        LifecycleEvent.COMPLETE,
    ),
    Status.ABSENT: (LifecycleEvent.SCHEDULE, LifecycleEvent.PREPARE, LifecycleEvent.MARK_ABSENT),
    Status.CANCELLED: (LifecycleEvent.SCHEDULE, LifecycleEvent.CANCEL),
}


async def session_in(
    uow: UnitOfWork,
    status: Status,
    *,
    now: datetime,
    academy_id: int,
    teacher_id: int,
    students: Sequence[int],
    starts_at: datetime | None = None,
    session_type: SessionType = SessionType.QURAN_INDIVIDUAL,
    duration_minutes: int = 60,
    title: str = "Hifz",
) -> Session:
    """A session in `status`, at `starts_at`; without a start it stays UNSCHEDULED
    (the engine never schedules a session without one). A finished one has no
    verdicts or charges: it is a room to join into, not a lesson held."""
    session = await lifecycle.create(
        uow,
        LifecycleEvent.CREATE,
        at=now,
        actor=SERVICE,
        academy_id=academy_id,
        session_type=session_type,
        title=title,
        duration_minutes=duration_minutes,
        teacher_id=teacher_id,
        student_ids=students,
    )
    if starts_at is None:
        return session
    if status is not Status.UNSCHEDULED:
        session.scheduled_at = starts_at
        session.ends_at = starts_at + timedelta(minutes=duration_minutes)
        session.settings = RuleSettings().to_dict()
    for event in PATH[status]:
        if event is LifecycleEvent.PREPARE:
            session.meeting_room_name = session.session_code
        if event is LifecycleEvent.START:
            session.started_at = starts_at
        if event in (LifecycleEvent.COMPLETE, LifecycleEvent.MARK_ABSENT):
            session.ended_at = session.ends_at
        await lifecycle.transition(uow, session, event, at=now, actor=SERVICE)
    return session
