"""Store rows and verdicts -> the response models of `engine.api.answers`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from engine.api import answers as a
from engine.api.assessed_answer import attendance_fields, student_attendance_fields
from engine.api.bodies import ALL_REPORT_FIELDS, type_field_names
from engine.display import display_for
from engine.explanations import render, render_engagement
from engine.operations.attendance import (
    SessionAttendance,
    StudentAttendance,
    current_verdicts,
)
from engine.operations.kept import Kept
from engine.operations.reports import REPORT_COLUMNS
from engine.operations.settings import settings_for
from rules.charging import ChargeStatus, counts_as_usage
from rules.codes import SessionType, is_individual
from rules.lifecycle import LifecycleEvent, Status
from rules.reconciliation import Verdict, has_attended
from rules.settings import SETTING_NAMES, RuleSettings, resolve_settings
from store.schema import (
    Academy,
    AuditEntry,
    Charge,
    Session,
    StudentReport,
    Subscription,
    Transition,
    User,
)
from store.uow import UnitOfWork

RULE_LEVELS = ("default", *(t.value for t in SessionType))


def academy_shape(academy: Academy) -> a.AcademyOut:
    return a.AcademyOut.model_validate(academy, from_attributes=True)


def user_shape(user: User) -> a.UserOut:
    return a.UserOut.model_validate(user, from_attributes=True)


def rules_shape(rules: dict[str, Any]) -> a.RulesOut:
    return a.RulesOut.model_validate(
        {level: _settings(resolve_settings(rules, level)) for level in RULE_LEVELS}
    )


def _settings(settings: RuleSettings) -> dict[str, Any]:
    values = settings.to_dict()
    return {name: values[name] for name in SETTING_NAMES}


def usage_shape(row: Charge) -> a.UsageRowOut:
    return a.UsageRowOut.model_validate(row, from_attributes=True)


def subscription_shape(sub: Subscription, usage: Sequence[Charge]) -> a.SubscriptionOut:
    used = sum(1 for row in usage if counts_as_usage(ChargeStatus(row.status)))
    return a.SubscriptionOut(
        id=sub.id,
        student_id=sub.student_id,
        academy_id=sub.academy_id,
        kind=sub.kind,  # type: ignore[arg-type]
        total_sessions=sub.total_sessions,
        starts_at=sub.starts_at,
        ends_at=sub.ends_at,
        used_sessions=used,
        remaining_sessions=max(0, sub.total_sessions - used),
        usage=[usage_shape(row) for row in usage],
        created_at=sub.created_at,
        updated_at=sub.updated_at,
    )


# --- sessions -----------------------------------------------------------------------


def person(user_id: int, users: dict[int, User]) -> dict[str, Any]:
    user = users.get(user_id)
    if user is None:  # cannot happen with the foreign keys; never fail a read over it
        return {"id": user_id, "name": "", "email": None}
    return {"id": user.id, "name": user.name, "email": user.email}


def status_display(session: Session, settings: RuleSettings, now: datetime) -> dict[str, object]:
    return display_for(
        Status(session.status),
        now=now,
        ends_at=session.ends_at,
        buffer_minutes=settings.buffer_minutes,
    ).as_dict()


async def session_shapes(
    uow: UnitOfWork, sessions: Sequence[Session], *, now: datetime
) -> list[a.SessionOut]:
    """Many sessions with at most five queries, whatever their number and rosters."""
    rosters = await uow.sessions.rosters([s.id for s in sessions])
    user_ids = {s.teacher_id for s in sessions} | {u for r in rosters.values() for u in r}
    users = await uow.users.get_many(sorted(user_ids))
    settings = await settings_for(uow, sessions)
    verdicts = await current_verdicts(uow, sessions, rosters=rosters, settings=settings, now=now)
    return [
        _session(s, rosters[s.id], users, settings[s.id], now, verdicts[s.id]) for s in sessions
    ]


async def session_shape(uow: UnitOfWork, session: Session, *, now: datetime) -> a.SessionOut:
    return (await session_shapes(uow, [session], now=now))[0]


def _session(
    session: Session,
    roster: list[int],
    users: dict[int, User],
    settings: RuleSettings,
    now: datetime,
    verdicts: Sequence[Verdict],
) -> a.SessionOut:
    shape: dict[str, Any] = {
        "id": session.id,
        "session_code": session.session_code,
        "academy_id": session.academy_id,
        "type": session.type,
        "status": session.status,
        "status_display": status_display(session, settings, now),
        "title": session.title,
        "description": session.description,
        "scheduled_at": session.scheduled_at,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "duration_minutes": session.duration_minutes,
        "meeting_link": session.meeting_link,
        "meeting_room_name": session.meeting_room_name,
        "meeting_id": session.meeting_id,
        "meeting_expires_at": session.meeting_expires_at,
        "meeting_data": session.meeting_data,
        "teacher": person(session.teacher_id, users),
        "participants_count": sum(1 for v in verdicts if has_attended(v)),
        "roster_count": len(roster),
        "subscription_counted": session.subscription_counted,
        "created_at": session.created_at,
        "cancellation_reason": session.cancellation_reason,
        "cancelled_by": session.cancelled_by,
        "cancelled_at": session.cancelled_at,
        "is_makeup_session": session.is_makeup_session,
        "makeup_of_id": session.makeup_of_id,
        "schedule_id": session.schedule_id,
        "external_id": session.external_id,
    }
    if is_individual(SessionType(session.type)):
        shape["student"] = person(roster[0], users) if roster else None
        shape["attendance_status"] = verdicts[0].status.value if verdicts else None
    else:
        shape["students"] = [person(student_id, users) for student_id in roster]
    extra = session.extra or {}
    shape.update({name: extra.get(name) for name in type_field_names(session.type)})
    return a.SessionOut.model_validate(shape)


# --- attendance ---------------------------------------------------------------------


def student_attendance_shape(
    student: StudentAttendance, *, locale: str | None = None
) -> a.StudentAttendanceOut:
    return a.StudentAttendanceOut.model_validate(student_attendance_fields(student, locale=locale))


def attendance_shape(
    attendance: SessionAttendance,
    *,
    only_student: int | None = None,
    locale: str | None = None,
) -> a.AttendanceOut:
    return a.AttendanceOut.model_validate(
        attendance_fields(attendance, only_student=only_student, locale=locale)
    )


def kept_attendance_shape(
    kept: Kept, *, only_student: int | None = None, locale: str | None = None
) -> a.AttendanceOut:
    """`attendance_shape` of a finished session, from its kept answer."""
    session, teacher = kept.session, kept.teacher
    students = []
    for served in kept.students:
        verdict = served.verdict
        if only_student is not None and verdict.user_id != only_student:
            continue
        status, reason, subscription_id = served.charge or ("none", None, None)
        code = (verdict.snapshot or {}).get("explanation_code") or {}
        students.append(
            {
                "user_id": verdict.user_id,
                **(verdict.snapshot or {}),
                "intervals": _kept_intervals(verdict.snapshot),
                "attendance_status": verdict.status,
                "source": verdict.source or "none",
                "explanation": render(
                    code, locale, fallback=verdict.explanation or "", status=verdict.status
                ),
                "explanation_code": code,
                **_kept_engagement(verdict.snapshot, locale),
                "charge": {"status": status, "reason": reason, "subscription_id": subscription_id},
            }
        )
    return a.AttendanceOut.model_validate(
        {
            "session_id": session.id,
            "status": session.status,
            "counts_for_teacher": session.counts_for_teacher,
            "teacher": {
                "user_id": teacher.user_id,
                **(teacher.snapshot or {}),
                "intervals": _kept_intervals(teacher.snapshot),
                "attendance_status": teacher.status,
            },
            "students": students,
        }
    )


def _kept_engagement(snapshot: dict[str, Any] | None, locale: str | None) -> dict[str, Any]:
    # A verdict written before engagement was kept reads as no tracks and no score.
    kept = snapshot or {}
    code = kept.get("engagement_explanation_code") or {}
    return {
        "camera_seconds": kept.get("camera_seconds", 0),
        "microphone_seconds": kept.get("microphone_seconds", 0),
        "screen_share_seconds": kept.get("screen_share_seconds", 0),
        "engagement_score": kept.get("engagement_score"),
        "engagement_explanation": render_engagement(code, locale),
        "engagement_explanation_code": code,
    }


def _kept_intervals(snapshot: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [
        {"joined_at": start, "left_at": end} for start, end in (snapshot or {}).get("intervals", [])
    ]


def written_report(report: StudentReport) -> dict[str, Any]:
    """A report as written: its columns, every type's fields, who and when."""
    fields = report.fields or {}
    return {
        "session_id": report.session_id,
        "student_id": report.student_id,
        **{name: getattr(report, name) for name in REPORT_COLUMNS},
        **{name: fields.get(name) for name in ALL_REPORT_FIELDS},
        "reported_by": report.reported_by,
        "created_at": report.created_at,
        "updated_at": report.updated_at,
    }


def report_shape(
    report: StudentReport,
    session: Session,
    student: StudentAttendance,
    *,
    locale: str | None = None,
) -> a.ReportOut:
    return a.ReportOut.model_validate(
        {
            **written_report(report),
            "session_status": session.status,
            "verdict": student_attendance_shape(student, locale=locale),
        }
    )


# --- history ------------------------------------------------------------------------


# (at, -1 transition | 0 override | 1 transition a report caused, row id)
HistoryKey = tuple[datetime, int, int]
REPORTED_MOVES = frozenset(
    {LifecycleEvent.REPORT_ABSENT.value, LifecycleEvent.REPORT_PRESENT.value}
)


def history_shape(
    transitions: Iterable[Transition],
    overrides: Iterable[AuditEntry],
    *,
    after: HistoryKey | None = None,
    limit: int | None = None,
) -> tuple[a.HistoryList, HistoryKey | None]:
    """Oldest first; at the same moment an override comes after the session's own
    moves and before the move it caused (COMPLETED -> ABSENT after the report that
    made it: reports are never dated before the session's last move, so they often
    share its moment). One page: the entries whose key follows `after`, at most
    `limit`, and the key to continue after (None: no more)."""
    entries: list[tuple[HistoryKey, a.HistoryEntry]] = []
    for t in transitions:
        details = t.details or {}
        entry = a.HistoryEntry(
            kind="transition",
            at=t.at,
            actor=t.actor,
            event=t.event,
            student_id=details.get("student_id"),
            reason=details.get("reason"),
            before={"status": t.from_status},
            after={"status": t.to_status},
            details=t.details,
        )
        caused = t.event in REPORTED_MOVES
        entries.append(((t.at, 1 if caused else -1, t.id), entry))
    for o in overrides:
        entry = a.HistoryEntry(
            kind=o.kind,
            at=o.at,
            actor=o.actor,
            event=None,
            student_id=o.student_id,
            reason=o.reason,
            before=o.before,
            after=o.after,
            details=None,
        )
        entries.append(((o.at, 0, o.id), entry))
    entries.sort(key=lambda pair: pair[0])
    if after is not None:
        entries = [pair for pair in entries if pair[0] > after]
    page = entries if limit is None else entries[:limit]
    more = len(page) < len(entries)
    return a.HistoryList(data=[entry for _, entry in page]), page[-1][0] if more else None
