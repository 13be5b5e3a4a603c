"""What the teacher's attendance page shows, computed once from a session's verdicts.

Everything here is plain data for the template: positions on the lesson's
timeline as percentages, times in the academy's zone, words in its language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from engine.display import LOOKS
from engine.explanations import STATUS_WORDS, render
from engine.operations.attendance import SessionAttendance, window
from engine.pages.fields import Fact, lesson_facts, report_facts
from rules.attendance import AttendanceStatus
from rules.evidence import Interval
from rules.lifecycle import Status
from store.schema import Session, User

WORDS = {
    "en": {
        "title": "Attendance",
        "teacher": "Teacher",
        "student": "Student",
        "verdict": "Verdict",
        "source": "Source",
        "rule": "Why",
        "timeline": "Timeline",
        "charge": "Charge",
        "lesson": "Lesson",
        "report": "Report",
        "override": "Override",
        "status": "Attendance",
        "reason": "Reason",
        "save": "Save",
        "evidence": "Use the meeting evidence",
        "start": "start",
        "end": "end",
        "counted": "counted",
        "raw": "connected",
        "not_scheduled": "This session is not scheduled yet.",
        "saved": "Saved: the verdict was updated.",
        "present_in": "in the lesson",
        "minutes": "min",
        "none": "—",
        "sources": {
            "teacher_report": "teacher report",
            "meeting": "meeting",
            "none": "no evidence",
        },
        "charges": {"charged": "charged", "waived": "waived", "unbilled": "unbilled", "none": "—"},
        "verdicts": {
            "present": "present",
            "late": "late",
            "left_early": "left early",
            "partial": "partial",
            "absent": "absent",
            "pending": "pending",
            "attended": "attended",
        },
    },
    "ar": {
        "title": "الحضور",
        "teacher": "المعلم",
        "student": "الطالب",
        "verdict": "الحالة",
        "source": "المصدر",
        "rule": "السبب",
        "timeline": "الخط الزمني",
        "charge": "الخصم",
        "lesson": "الدرس",
        "report": "التقرير",
        "override": "تعديل",
        "status": "الحضور",
        "reason": "السبب",
        "save": "حفظ",
        "evidence": "اعتماد بيانات الاجتماع",
        "start": "البداية",
        "end": "النهاية",
        "counted": "محسوب",
        "raw": "متصل",
        "not_scheduled": "هذه الجلسة غير مجدولة بعد.",
        "saved": "تم الحفظ: حُدّثت حالة الحضور.",
        "present_in": "في الدرس",
        "minutes": "دقيقة",
        "none": "—",
        "sources": {"teacher_report": "تقرير المعلم", "meeting": "الاجتماع", "none": "لا دليل"},
        "charges": {"charged": "مخصومة", "waived": "معفاة", "unbilled": "دون اشتراك", "none": "—"},
        "verdicts": {**STATUS_WORDS["ar"], "attended": "حضر"},
    },
}
OVERRIDE_CHOICES = tuple(s.value for s in AttendanceStatus if s is not AttendanceStatus.PENDING)


def _css(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", "_")


@dataclass(frozen=True)
class Bar:
    left: float  # percent of the timeline from its start
    width: float
    label: str  # "10:02–10:40"

    # Positions are classes of the page's nonce'd stylesheet, not `style` attributes:
    # the CSP allows no inline style.
    @property
    def at(self) -> str:
        return f"l{_css(self.left)}"

    @property
    def span(self) -> str:
        return f"w{_css(self.width)}"


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
    raw: tuple[Bar, ...]
    counted: tuple[Bar, ...]
    charge: str
    overridden: bool
    report_status: str | None
    report: tuple[Fact, ...] = ()


@dataclass(frozen=True)
class Page:
    session: Session
    lang: str
    direction: str
    words: dict[str, object]
    status_label: str
    when: str
    scheduled: bool
    marks: tuple[Bar, ...]  # the lesson's start and end on the timeline
    teacher: Row
    students: tuple[Row, ...]
    can_override: bool
    choices: tuple[str, ...] = OVERRIDE_CHOICES
    lesson: tuple[Fact, ...] = ()

    @property
    def placements(self) -> tuple[str, ...]:
        """The stylesheet's rules placing every bar and mark on its timeline."""
        bars = [*self.marks]
        for row in (self.teacher, *self.students):
            bars += [*row.raw, *row.counted]
        rules = {f".{b.at} {{ left: {b.left}% }}" for b in bars}
        rules |= {f".{b.span} {{ width: {b.width}% }}" for b in bars if b not in self.marks}
        return tuple(sorted(rules))


class Timeline:
    """Maps instants onto [0, 100] % of a span around the lesson."""

    def __init__(self, start: datetime, end: datetime, zone: ZoneInfo) -> None:
        self.start, self.end, self.zone = start, end, zone

    def pct(self, at: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        clamped = min(max(at, self.start), self.end)
        return round((clamped - self.start).total_seconds() / span * 100, 2)

    def clock(self, at: datetime) -> str:
        return at.astimezone(self.zone).strftime("%H:%M")

    def bar(self, start: datetime, end: datetime) -> Bar:
        left = self.pct(start)
        return Bar(left, max(self.pct(end) - left, 0.4), f"{self.clock(start)}–{self.clock(end)}")


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
) -> Page:
    session = attendance.session
    lang = locale if locale in WORDS else "en"
    words: dict[str, object] = WORDS[lang]  # type: ignore[assignment]
    zone = ZoneInfo(timezone)
    span = window(session)
    display = LOOKS[Status(session.status)]
    until = session.ended_at or now
    if span is None:
        timeline = Timeline(now, now + timedelta(hours=1), zone)
        marks: tuple[Bar, ...] = ()
        when = ""
    else:
        settings = attendance.settings
        first = min([settings.opens_at(span[0])] + [i.joined_at for i in intervals])
        last = max(
            [span[1] + timedelta(minutes=settings.buffer_minutes)]
            + [i.left_at or until for i in intervals]
        )
        timeline = Timeline(first, last, zone)
        marks = (timeline.bar(span[0], span[0]), timeline.bar(span[1], span[1]))
        day = span[0].astimezone(zone).strftime("%Y-%m-%d")
        when = f"{day} {timeline.clock(span[0])}–{timeline.clock(span[1])}"

    verdicts: dict[str, str] = words["verdicts"]  # type: ignore[assignment]
    sources: dict[str, str] = words["sources"]  # type: ignore[assignment]

    def raw_bars(user_id: int) -> tuple[Bar, ...]:
        return tuple(
            timeline.bar(i.joined_at, i.left_at or until)
            for i in intervals
            if i.user_id == user_id and i.decisive
        )

    def name(user_id: int) -> str:
        user = users.get(user_id)
        return user.name if user else str(user_id)

    minutes = words["minutes"]
    teacher_m = attendance.teacher_meeting
    teacher = Row(
        user_id=attendance.teacher_id,
        name=name(attendance.teacher_id),
        verdict=attendance.teacher_status.value,
        verdict_label=verdicts.get(
            attendance.teacher_status.value, attendance.teacher_status.value
        ),
        source="meeting",
        source_label=sources["meeting"],
        explanation=f"{teacher_m.attendance_percentage:g} %",
        attended=f"{teacher_m.attended_seconds // 60} {minutes}",
        raw=raw_bars(attendance.teacher_id),
        counted=tuple(timeline.bar(a, b) for a, b in teacher_m.intervals),
        charge="",
        overridden=False,
        report_status=None,
    )
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
                attended=f"{verdict.meeting.attended_seconds // 60} {minutes}",
                raw=raw_bars(student.user_id),
                counted=tuple(timeline.bar(a, b) for a, b in verdict.meeting.intervals),
                charge=student.charge.status if student.charge else "none",
                overridden=report_status is not None,
                report_status=report_status,
                report=report_facts(student.report.fields if student.report else None, lang),
            )
        )
    return Page(
        session=session,
        lang=lang,
        direction="rtl" if lang == "ar" else "ltr",
        words=words,
        status_label=display.label if lang == "ar" else display.label_en,
        when=when,
        scheduled=span is not None,
        marks=marks,
        teacher=teacher,
        students=tuple(rows),
        can_override=can_override,
        lesson=lesson_facts(session.extra, lang),
    )
