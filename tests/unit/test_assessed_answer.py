"""An unfinished session's answer written straight from its assessment is, byte for
byte, the answer the validated model writes, for assessments the rules make of random
evidence, reports, charges and tracks."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.api.assessed_answer import assessed_answer_json
from engine.api.http import respond
from engine.api.shapes import attendance_shape
from engine.operations.attendance import SessionAttendance, assess
from rules.codes import SessionType
from rules.engagement import TrackPublished, TrackUnpublished
from rules.evidence import Evidence, ParticipantJoined, ParticipantLeft, build_intervals
from rules.lifecycle import Status
from rules.settings import RuleSettings
from store.repositories.due import LockedSession
from store.schema import Charge, StudentReport
from tests.unit.test_order_independence import IDENTITIES, STUDENTS, TEACHER, E, S, moments, traces

SOURCES = ["CAMERA", "MICROPHONE", "SCREEN_SHARE", "SCREEN_SHARE_AUDIO", "UNKNOWN"]


def _session(draw: st.DrawFn) -> LockedSession:
    scheduled = draw(st.sampled_from([S, S, None]))
    return LockedSession(
        id=draw(st.integers(1, 10**9)),
        session_code="QSE-1-000001",
        academy_id=1,
        type=draw(st.sampled_from([t.value for t in SessionType])),
        status=draw(st.sampled_from([s.value for s in Status])),
        duration_minutes=60,
        teacher_id=TEACHER,
        scheduled_at=scheduled,
        ends_at=None if scheduled is None else E,
        ended_at=draw(st.sampled_from([None, E, E + timedelta(minutes=7)])),
        frozen=None,
        meeting_room_name=None,
        meeting_link=None,
        meeting_expires_at=None,
        counts_for_teacher=draw(st.sampled_from([None, True, False])),
        subscription_counted=False,
        revision=1,
        updated_at=S,
    )


def _report(draw: st.DrawFn, student: int) -> StudentReport | None:
    status = draw(
        st.sampled_from([None, "present", "late", "left_early", "partial", "absent", "skip"])
    )
    if status == "skip":
        return None
    return StudentReport(
        session_id=1,
        student_id=student,
        attendance_status=status,
        reported_by=draw(st.sampled_from([None, TEACHER, 10**12])),
    )


def _charge(draw: st.DrawFn, student: int) -> Charge | None:
    status = draw(st.sampled_from(["charged", "waived", "unbilled", None]))
    if status is None:
        return None
    return Charge(
        session_id=1,
        student_id=student,
        status=status,
        reason=draw(st.sampled_from(["present", "teacher_absent", "هدية"])),
        subscription_id=draw(st.sampled_from([None, 7, 2**40])),
    )


def _the_whole_hour(user: int) -> list[Evidence]:
    sid = f"PA_{user}"
    return [
        ParticipantJoined(f"EV_j{user}", "RM_first", S, sid, str(user), True),
        ParticipantLeft(f"EV_l{user}", "RM_first", E, sid, str(user), True, S),
    ]


@st.composite
def assessments(draw: st.DrawFn) -> SessionAttendance:
    session = _session(draw)
    tracks: list[Any] = []
    for n in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from([TrackPublished, TrackPublished, TrackUnpublished]))
        sid = f"PA_{draw(st.integers(0, 7))}"
        track = f"TR_{draw(st.integers(0, 3))}"
        tracks.append(
            kind(
                f"EV_t{n}",
                "RM_first",
                draw(moments),
                sid,
                draw(st.sampled_from(IDENTITIES)),
                track,
                draw(st.sampled_from(SOURCES)),
            )
        )
    roster = sorted(draw(st.sets(st.sampled_from(STUDENTS), max_size=len(STUDENTS))))
    reports = {s: r for s in roster if (r := _report(draw, s)) is not None}
    charges = {s: c for s in roster if (c := _charge(draw, s)) is not None}
    weights = draw(st.sampled_from([(0.5, 0.3, 0.2), (1.0, 0.0, 0.0), (0.34, 0.33, 0.33)]))
    rules = RuleSettings(
        engagement_attendance_weight=weights[0],
        engagement_camera_weight=weights[1],
        engagement_microphone_weight=weights[2],
    )
    return assess(
        session,
        settings=rules,
        roster=roster,
        intervals=build_intervals(draw(traces())),
        reports=reports,
        charges=charges,
        now=draw(moments).astimezone(UTC),
        finished=draw(st.sampled_from([None, True, False])),
        tracks=tracks,
    )


def validated(attendance: SessionAttendance, only: int | None, locale: str | None) -> bytes:
    body = respond(attendance_shape(attendance, only_student=only, locale=locale)).body
    assert isinstance(body, bytes)
    return body


class TestAssessedAnswer:
    @given(assessments(), st.sampled_from([None, *STUDENTS, 999]), st.sampled_from(["en", "ar"]))
    @settings(max_examples=400)
    def test_the_bytes_are_the_validated_models(
        self, attendance: SessionAttendance, only: int | None, locale: str
    ) -> None:
        """Whatever the rules made of the evidence, the answer written without the
        model is the model's, byte for byte."""
        assert assessed_answer_json(attendance, only_student=only, locale=locale) == validated(
            attendance, only, locale
        )

    def test_a_datetime_and_a_float_are_written_as_the_model_writes_them(self) -> None:
        """A whole percentage is a float (`100.0`) and a moment ends in `Z`, as the
        model writes them (not `100` nor `+00:00`)."""
        session = LockedSession(
            1, "QSE-1-000001", 1, "quran_individual", "ongoing", 60, TEACHER, S, E, None,
            None, None, None, None, None, False, 1, S,
        )  # fmt: skip
        present = build_intervals([*_the_whole_hour(TEACHER), *_the_whole_hour(STUDENTS[0])])
        attendance = assess(
            session,
            settings=RuleSettings(),
            roster=[STUDENTS[0]],
            intervals=present,
            reports={},
            charges={},
            now=E + timedelta(minutes=1),
        )
        body = assessed_answer_json(attendance)
        assert body == validated(attendance, None, None)
        assert b'"attendance_percentage":100.0' in body
        assert b'"first_join_at":"2025-12-01T10:00:00Z"' in body
