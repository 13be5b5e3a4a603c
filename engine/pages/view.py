"""What the teacher's attendance page shows, computed once from a session's verdicts.

Everything here is plain data for the template: positions on the lesson's time axis
as percentages (mirrored in right-to-left pages), times in the academy's zone, words
in its language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from engine.display import LOOKS
from engine.explanations import render, render_engagement
from engine.operations.attendance import SessionAttendance, window
from engine.pages.axis import Axis, Bar, Tick, zone_name
from engine.pages.fields import Fact, lesson_facts, report_facts
from engine.pages.history import HistoryLine, Override, history_lines, overrides_of
from engine.pages.words import WORDS
from rules.attendance import AttendanceStatus
from rules.evidence import Interval
from rules.lifecycle import Status
from store.schema import AuditEntry, Session, Transition, User

OVERRIDE_CHOICES = tuple(s.value for s in AttendanceStatus if s is not AttendanceStatus.PENDING)


@dataclass(frozen=True)
class Engagement:
    camera: str
    microphone: str
    screen: str
    score: int | None
    explanation: str = ""


@dataclass(frozen=True)
class Row:
    user_id: int
    name: str
    verdict: str
    verdict_label: str
    source: str
    source_label: str
    explanation: str
    attended: str
    copresence: str
    raw: tuple[Bar, ...]
    counted: tuple[Bar, ...]
    charge: str
    overridden: bool
    report_status: str | None
    report: tuple[Fact, ...] = ()
    override: Override | None = None
    engagement: Engagement | None = None


@dataclass(frozen=True)
class TeacherRow:
    user_id: int
    name: str
    verdict: str
    verdict_label: str
    attended: str
    share: str  # "100 %": of the scheduled lesson
    raw: tuple[Bar, ...]
    counted: tuple[Bar, ...]


@dataclass(frozen=True)
class Page:
    session: Session
    lang: str
    direction: str
    words: dict[str, object]
    status_label: str
    when: str
    zone: str  # "Africa/Cairo, UTC+02:00"
    scheduled: bool
    ticks: tuple[Tick, ...]
    window: Bar | None  # the scheduled lesson on the axis
    marks: tuple[Bar, ...]  # its start and end
    teacher: TeacherRow
    students: tuple[Row, ...]
    can_override: bool
    history: tuple[HistoryLine, ...] = ()
    choices: tuple[str, ...] = OVERRIDE_CHOICES
    lesson: tuple[Fact, ...] = ()

    @property
    def engagement(self) -> bool:
        """Whether the engagement column is shown: some student has engagement figures."""
        return any(row.engagement is not None for row in self.students)

    @property
    def placements(self) -> tuple[str, ...]:
        """The stylesheet's rules placing every bar, mark and tick on its axis."""
        bars: list[Bar] = [*self.marks, *([self.window] if self.window else [])]
        bars += [*self.teacher.raw, *self.teacher.counted]
        for row in self.students:
            bars += [*row.raw, *row.counted]
        rules = {f".{b.at} {{ left: {b.left}% }}" for b in bars}
        rules |= {f".{t.at} {{ left: {t.left}% }}" for t in self.ticks}
        rules |= {f".{b.span} {{ width: {b.width}% }}" for b in bars if b.width}
        return tuple(sorted(rules))


def _minutes(seconds: int | None, unit: object) -> str:
    return f"{(seconds or 0) // 60} {unit}"


def build_page(
    attendance: SessionAttendance,
    *,
    users: dict[int, User],
    intervals: list[Interval],
    locale: str,
    timezone: str,
    now: datetime,
    can_override: bool,
    only_student: int | None,
    transitions: Iterable[Transition] = (),
    audit: Iterable[AuditEntry] = (),
) -> Page:
    session = attendance.session
    assert isinstance(session, Session)  # read for the page, never a sweep's locked row
    lang = locale if locale in WORDS else "en"
    words = WORDS[lang]
    rtl = lang == "ar"
    zone = ZoneInfo(timezone)
    span = window(session)
    display = LOOKS[Status(session.status)]
    until = session.ended_at or now
    if span is None:
        axis = Axis(now, now + timedelta(hours=1), zone, rtl=rtl)
        marks: tuple[Bar, ...] = ()
        lesson_window = None
        when = ""
        ticks: tuple[Tick, ...] = ()
    else:
        settings = attendance.settings
        # The axis covers the room's opening to the end of the buffer, and any
        # evidence outside them.
        first = min([settings.opens_at(span[0])] + [i.joined_at for i in intervals])
        last = max(
            [span[1] + timedelta(minutes=settings.buffer_minutes)]
            + [i.left_at or until for i in intervals]
        )
        axis = Axis(first, last, zone, rtl=rtl)
        marks = (axis.mark(span[0]), axis.mark(span[1]))
        lesson_window = axis.window(span[0], span[1])
        ticks = axis.ticks()
        day = span[0].astimezone(zone).strftime("%Y-%m-%d")
        when = f"{day} {axis.clock(span[0])}–{axis.clock(span[1])}"

    verdicts: dict[str, str] = words["verdicts"]  # type: ignore[assignment]
    sources: dict[str, str] = words["sources"]  # type: ignore[assignment]
    minutes = words["minutes"]

    def raw_bars(user_id: int) -> tuple[Bar, ...]:
        return tuple(
            axis.bar(i.joined_at, i.left_at or until)
            for i in sorted(intervals, key=lambda i: i.joined_at)
            if i.user_id == user_id and i.decisive
        )

    def name(user_id: int) -> str:
        user = users.get(user_id)
        return user.name if user else str(user_id)

    teacher_m = attendance.teacher_meeting
    teacher_status = attendance.teacher_status.value
    teacher = TeacherRow(
        user_id=attendance.teacher_id,
        name=name(attendance.teacher_id),
        verdict=teacher_status,
        verdict_label=verdicts.get(teacher_status, teacher_status),
        attended=_minutes(teacher_m.attended_seconds, minutes),
        share=f"{teacher_m.attendance_percentage:g} %",
        raw=raw_bars(attendance.teacher_id),
        counted=tuple(axis.bar(a, b) for a, b in teacher_m.intervals),
    )
    audit = list(audit)
    overrides = overrides_of(audit, names=name, zone=zone, words=words)
    rows = []
    for student in attendance.students:
        if only_student is not None and student.user_id != only_student:
            continue
        verdict = student.verdict
        report_status = student.report.attendance_status if student.report else None
        rows.append(
            Row(
                user_id=student.user_id,
                name=name(student.user_id),
                verdict=verdict.status.value,
                verdict_label=verdicts.get(verdict.status.value, verdict.status.value),
                source=verdict.source.value,
                source_label=sources[verdict.source.value],
                explanation=render(
                    verdict.explanation_code,
                    lang,
                    fallback=verdict.explanation,
                    status=verdict.status.value,
                ),
                attended=_minutes(verdict.meeting.attended_seconds, minutes),
                copresence=_minutes(student.copresent_seconds, minutes),
                raw=raw_bars(student.user_id),
                counted=tuple(axis.bar(a, b) for a, b in verdict.meeting.intervals),
                charge=student.charge.status if student.charge else "none",
                overridden=report_status is not None,
                report_status=report_status,
                report=report_facts(student.report.fields if student.report else None, lang),
                override=overrides.get(student.user_id) if report_status is not None else None,
                engagement=Engagement(
                    camera=_minutes(student.engagement.camera_seconds, minutes),
                    microphone=_minutes(student.engagement.microphone_seconds, minutes),
                    screen=_minutes(student.engagement.screen_share_seconds, minutes),
                    score=student.engagement.engagement_score,
                    explanation=render_engagement(student.engagement.explanation_code, lang),
                ),
            )
        )
    return Page(
        session=session,
        lang=lang,
        direction="rtl" if rtl else "ltr",
        words=words,
        status_label=display.in_language(lang),
        when=when,
        zone=zone_name(zone, span[0] if span else now),
        scheduled=span is not None,
        ticks=ticks,
        window=lesson_window,
        marks=marks,
        teacher=teacher,
        students=tuple(rows),
        can_override=can_override,
        # The history is the teacher's and the admin's, as in the API.
        history=()
        if only_student is not None
        else history_lines(transitions, audit, names=name, zone=zone, words=words, lang=lang),
        lesson=lesson_facts(session.extra, lang),
    )
