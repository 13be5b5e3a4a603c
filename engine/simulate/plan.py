"""A realistic academy day, drawn from a seed: who teaches what, and how each
person behaves in each lesson. Pure data; `timeline` turns it into LiveKit events.

The same seed gives the same day (the academy id aside, which keeps repeated runs
against one database apart).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

# A fixed day far enough ahead that the service's own wall-clock sweeper never
# touches it: only the simulator's `as_of` sweeps move these sessions.
DAY = datetime(2031, 3, 3, tzinfo=UTC)
# 09:00Z: eleven in the morning in Cairo, where the simulated academy teaches.
FIRST_LESSON_HOUR = 9
TYPES = (
    "quran_individual",
    "quran_circle",
    "academic_individual",
    "academic_course",
    "interactive_course",
)


class Behaviour(StrEnum):
    """How one student behaves in one lesson, each designed to meet one rule."""

    ON_TIME = "on_time"  # joins at the start, stays: present
    LATE = "late"  # joins 15 min late, stays: late
    LEFT_EARLY = "left_early"  # leaves 20 min before the end: left_early
    PARTIAL = "partial"  # away 15 min in the middle: partial
    NO_SHOW = "no_show"  # never joins: absent, charged
    RECONNECT = "reconnect"  # drops for a minute, back with a new sid: present
    DUPLICATE = "duplicate"  # opens a second tab under the same identity: present
    LOST_LEFT = "lost_left"  # leaves early but LiveKit never sends the leave


@dataclass(frozen=True)
class Lesson:
    index: int
    type: str
    title: str
    teacher: int
    students: tuple[int, ...]
    behaviours: tuple[Behaviour, ...]
    starts_at: datetime
    duration_minutes: int
    teacher_shows_up: bool = True
    # A teacher report after the lesson: (student, attendance_status).
    teacher_report: tuple[int, str] | None = None

    @property
    def individual(self) -> bool:
        return self.type.endswith("_individual")

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


@dataclass(frozen=True)
class Day:
    seed: int
    academy_id: int
    teachers: tuple[int, ...]
    students: tuple[int, ...]
    lessons: tuple[Lesson, ...] = field(default=())

    @property
    def starts_at(self) -> datetime:
        return min(lesson.starts_at for lesson in self.lessons)

    @property
    def ends_at(self) -> datetime:
        return max(lesson.ends_at for lesson in self.lessons)


def plan_day(*, seed: int, sessions: int, academy_id: int) -> Day:
    """`sessions` lessons over the five types, with every behaviour, a teacher
    no-show and a teacher override among them whenever there are enough lessons."""
    rng = random.Random(seed)
    base = academy_id * 1000
    teachers = tuple(base + 1 + t for t in range(max(1, min(5, sessions))))
    students = tuple(base + 100 + s for s in range(16))
    behaviours = list(Behaviour)
    rng.shuffle(behaviours)
    pool = iter(behaviours * (sessions * 4))  # every behaviour early, then round-robin

    lessons = []
    slots_of_teacher = dict.fromkeys(teachers, 0)
    busy: dict[int, set[int]] = {}  # students already in a lesson of that time slot
    for index in range(sessions):
        session_type = TYPES[index % len(TYPES)]
        teacher = teachers[index % len(teachers)]
        slot = slots_of_teacher[teacher]
        slots_of_teacher[teacher] += 1
        duration = rng.choice((45, 60))
        starts_at = DAY + timedelta(
            hours=FIRST_LESSON_HOUR + slot * 1.5, minutes=rng.choice((0, 15))
        )
        size = 1 if session_type.endswith("_individual") else rng.randint(2, 4)
        free = [s for s in students if s not in busy.setdefault(slot, set())]
        roster = tuple(sorted(rng.sample(free, size)))
        busy[slot].update(roster)
        lessons.append(
            Lesson(
                index=index,
                type=session_type,
                title=f"{session_type.replace('_', ' ').title()} #{index + 1}",
                teacher=teacher,
                students=roster,
                behaviours=tuple(next(pool) for _ in roster),
                starts_at=starts_at,
                duration_minutes=duration,
            )
        )
    lessons = _with_special_cases(lessons)
    return Day(
        seed=seed,
        academy_id=academy_id,
        teachers=teachers,
        students=students,
        lessons=tuple(lessons),
    )


def _with_special_cases(lessons: list[Lesson]) -> list[Lesson]:
    """The last individual lesson: the teacher never comes. The one before it: the
    student never comes, and the teacher reports afterwards that they were late."""
    individual = [lesson for lesson in lessons if lesson.individual]
    if individual:
        last = individual[-1]
        lessons[last.index] = replace(last, teacher_shows_up=False, behaviours=(Behaviour.ON_TIME,))
    if len(individual) >= 2:
        other = individual[-2]
        lessons[other.index] = replace(
            other, behaviours=(Behaviour.NO_SHOW,), teacher_report=(other.students[0], "late")
        )
    return lessons


def session_fields(lesson: Lesson) -> dict[str, object]:
    """The type's own fields of the lesson's session: a surah and verses for Quran, a
    subject for an academic lesson, a course and number (and, for an academic course,
    a worksheet) for courses."""
    if lesson.type.startswith("quran"):
        return {
            "surah_number": 1 + lesson.index % 114,
            "from_verse": 1,
            "to_verse": 5 + lesson.index % 10,
        }
    if lesson.type == "academic_individual":
        return {"subject": "Mathematics"}
    number = lesson.index + 1
    fields: dict[str, object] = {
        "course_id": 1 if lesson.type == "academic_course" else 2,
        "session_number": number,
    }
    if lesson.type == "academic_course":
        fields["materials"] = [
            {"title": f"Worksheet {number}", "url": f"https://example.org/course-1/{number}.pdf"}
        ]
    return fields


def report_fields(lesson: Lesson, student: int) -> dict[str, object]:
    """The teacher's report fields on one student, drawn from the lesson and student
    alone (the day's draw is left as it was)."""
    rng = random.Random(lesson.index * 100_003 + student)
    if lesson.type.startswith("quran"):
        return {
            "papers_memorized_today": rng.choice((0.25, 0.5, 1.0)),
            "recitation_quality": rng.randint(5, 10),
        }
    if lesson.type == "interactive_course":
        total = rng.randint(4, 8)
        return {
            "video_completion_percent": float(rng.choice((60, 80, 100))),
            "exercises_completed": rng.randint(0, total),
            "exercises_total": total,
        }
    fields: dict[str, object] = {
        "session_grade": rng.randint(10, 20) / 2,
        "learning_outcomes": ["worked examples", "practice"][: rng.randint(1, 2)],
        "homework": {"description": "exercises 1-10", "submitted_at": None, "grade": None},
    }
    if lesson.type == "academic_course":
        fields["quiz_score"] = float(rng.randint(4, 10))
    return fields


def reports_of(lesson: Lesson) -> dict[str, object] | None:
    """The teacher's reports after the lesson, as one bulk report: the type's fields on
    every student who came, and the lesson's override (`teacher_report`) if it has
    one; None when nobody came and nothing is overridden."""
    override = dict([lesson.teacher_report]) if lesson.teacher_report else {}
    behaviours = dict(zip(lesson.students, lesson.behaviours, strict=True))
    entries = [
        {
            "student_id": student,
            "attendance_status": override.get(student),
            **report_fields(lesson, student),
        }
        for student in lesson.students
        if student in override or behaviours[student] is not Behaviour.NO_SHOW
    ]
    if not entries:
        return None
    reason = "connection trouble: the student was in the lesson by phone"
    return {"reason": reason if override else "end of lesson", "reports": entries}
