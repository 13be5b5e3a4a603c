"""A finished session's attendance answer written as JSON bytes straight from its
kept verdicts.

The kept answer was valid when it was written, so validating it again through
`AttendanceOut` on every read only costs time. The bytes are those
`respond(kept_attendance_shape(...))` would give: the fields in the model's order,
each value as pydantic-core writes it (its own JSON writer writes them here, so
numbers and strings come out the same), datetimes in pydantic's form. Only the
explanations, in the reader's locale, are rendered per request. Anything the
model would coerce or refuse (a kept value of another type than it declares) is
not guessed at: `kept_answer_json` answers None and the caller takes the validated
path, which answers, or fails, exactly as it always did.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, get_args

from pydantic import TypeAdapter
from pydantic_core import to_json

from engine.api.answers import ChargeState, StudentVerdict
from engine.explanations import render, render_engagement
from engine.operations.kept import Kept
from rules.lifecycle import Status

_STATUSES = frozenset(s.value for s in Status)
_TEACHER_STATUSES = frozenset(("attended", "partial", "absent", "pending"))
_VERDICTS = frozenset(get_args(StudentVerdict))
_SOURCES = frozenset(("teacher_report", "meeting", "none"))
_CHARGES = frozenset(get_args(ChargeState))
# What `datetime.isoformat()` writes for a UTC moment, which pydantic writes with Z.
_UTC_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00")
_MOMENT = TypeAdapter(datetime)
_PLAIN = frozenset((str, int, float))


class _Unusual(Exception):
    """A kept value the model would coerce or refuse: the validated path answers."""


def kept_answer_json(
    kept: Kept, *, only_student: int | None = None, locale: str | None = None
) -> bytes | None:
    """The answer's bytes, or None when only the validated path may answer."""
    try:
        return to_json(_answer(kept, only_student, locale))
    except (_Unusual, KeyError, TypeError, ValueError):
        return None


def _answer(kept: Kept, only_student: int | None, locale: str | None) -> dict[str, Any]:
    session, teacher = kept.session, kept.teacher
    if (
        session.status not in _STATUSES
        or teacher.status not in _TEACHER_STATUSES
        or type(session.counts_for_teacher) not in (bool, type(None))
    ):
        raise _Unusual
    students = []
    for served in kept.students:
        verdict = served.verdict
        if only_student is not None and verdict.user_id != only_student:
            continue
        snapshot = verdict.snapshot or {}
        status, reason, subscription_id = served.charge or ("none", None, None)
        code = _code(snapshot.get("explanation_code") or {})
        engagement = _code(snapshot.get("engagement_explanation_code") or {})
        source = verdict.source or "none"
        if verdict.status not in _VERDICTS or source not in _SOURCES or status not in _CHARGES:
            raise _Unusual
        students.append(
            {
                **_meeting(verdict.user_id, snapshot),
                "copresent_seconds": _int(snapshot["copresent_seconds"]),
                "attendance_status": verdict.status,
                "source": source,
                "explanation": render(
                    code, locale, fallback=verdict.explanation or "", status=verdict.status
                ),
                "explanation_code": code,
                "camera_seconds": _int(snapshot.get("camera_seconds", 0)),
                "microphone_seconds": _int(snapshot.get("microphone_seconds", 0)),
                "screen_share_seconds": _int(snapshot.get("screen_share_seconds", 0)),
                "engagement_score": _optional_int(snapshot.get("engagement_score")),
                "engagement_explanation": render_engagement(engagement, locale),
                "engagement_explanation_code": engagement,
                "manually_overridden": _bool(snapshot["manually_overridden"]),
                "overridden_by": _optional_int(snapshot["overridden_by"]),
                "charge": {
                    "status": status,
                    "reason": _optional_str(reason),
                    "subscription_id": _optional_int(subscription_id),
                },
            }
        )
    return {
        "session_id": session.id,
        "status": session.status,
        "counts_for_teacher": session.counts_for_teacher,
        "teacher": {
            **_meeting(teacher.user_id, teacher.snapshot or {}),
            "attendance_status": teacher.status,
        },
        "students": students,
    }


def _meeting(user_id: int, snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        "user_id": _int(user_id),
        "attended_seconds": _int(snapshot["attended_seconds"]),
        "attendance_percentage": _float(snapshot["attendance_percentage"]),
        "first_join_at": _optional_moment(snapshot["first_join_at"]),
        "last_leave_at": _optional_moment(snapshot["last_leave_at"]),
        "join_count": _int(snapshot["join_count"]),
        "intervals": [
            {"joined_at": _moment(start), "left_at": _moment(end)}
            for start, end in snapshot.get("intervals", [])
        ],
    }


def _code(code: Any) -> dict[str, str | int | float]:
    # dict[str, str | int | float] keeps each of those as it is; a bool or a nested
    # value would be coerced or refused.
    if type(code) is not dict or not _PLAIN.issuperset(map(type, code.values())):
        raise _Unusual
    return code


def _moment(value: Any) -> str:
    if type(value) is str and _UTC_ISO.fullmatch(value):
        return value[:-6] + "Z"
    # Anything else as the model would write it (or refuse it).
    written: str = _MOMENT.dump_python(_MOMENT.validate_python(value), mode="json")
    return written


def _optional_moment(value: Any) -> str | None:
    return None if value is None else _moment(value)


def _int(value: Any) -> int:
    if type(value) is not int:
        raise _Unusual
    return value


def _optional_int(value: Any) -> int | None:
    return None if value is None else _int(value)


def _float(value: Any) -> float:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise _Unusual


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Unusual
    return value


def _optional_str(value: Any) -> str | None:
    if value is not None and type(value) is not str:
        raise _Unusual
    return value
