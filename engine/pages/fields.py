"""The session type's own fields on the teacher's page: the lesson's (surah and
verses, course and number, materials) and each student's report (papers and
recitation, grade, homework, quiz, video and exercises), labelled in the page's
language. Values are shown as stored; materials link to their (http(s)) address."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "surah_number": "Surah",
        "juz_number": "Juz",
        "from_verse": "From verse",
        "to_verse": "To verse",
        "subject": "Subject",
        "lesson_content": "Content",
        "course_id": "Course",
        "session_number": "Session",
        "materials": "Material",
        "papers_memorized_today": "Papers memorized",
        "recitation_quality": "Recitation",
        "session_grade": "Grade",
        "learning_outcomes": "Outcomes",
        "homework": "Homework",
        "quiz_score": "Quiz",
        "video_completion_percent": "Video watched %",
        "exercises": "Exercises",
    },
    "ar": {
        "surah_number": "السورة",
        "juz_number": "الجزء",
        "from_verse": "من الآية",
        "to_verse": "إلى الآية",
        "subject": "المادة",
        "lesson_content": "المحتوى",
        "course_id": "الدورة",
        "session_number": "الجلسة",
        "materials": "مادة",
        "papers_memorized_today": "الأوجه المحفوظة",
        "recitation_quality": "التلاوة",
        "session_grade": "الدرجة",
        "learning_outcomes": "المخرجات",
        "homework": "الواجب",
        "quiz_score": "الاختبار",
        "video_completion_percent": "نسبة مشاهدة الفيديو",
        "exercises": "التمارين",
    },
}

_LESSON = (
    "surah_number",
    "juz_number",
    "from_verse",
    "to_verse",
    "subject",
    "course_id",
    "session_number",
    "lesson_content",
)
_REPORT = (
    "papers_memorized_today",
    "recitation_quality",
    "session_grade",
    "quiz_score",
    "video_completion_percent",
)


@dataclass(frozen=True)
class Fact:
    key: str
    label: str
    value: str
    url: str | None = None


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return str(value)


def lesson_facts(extra: Mapping[str, Any] | None, lang: str) -> tuple[Fact, ...]:
    labels = LABELS[lang]
    extra = extra or {}
    facts = [Fact(k, labels[k], _text(extra[k])) for k in _LESSON if extra.get(k) is not None]
    for material in extra.get("materials") or ():
        facts.append(Fact("materials", labels["materials"], material["title"], material["url"]))
    return tuple(facts)


def report_facts(fields: Mapping[str, Any] | None, lang: str) -> tuple[Fact, ...]:
    labels = LABELS[lang]
    fields = fields or {}
    facts = [Fact(k, labels[k], _text(fields[k])) for k in _REPORT if fields.get(k) is not None]
    if fields.get("learning_outcomes"):
        facts.append(
            Fact(
                "learning_outcomes",
                labels["learning_outcomes"],
                _text(fields["learning_outcomes"]),
            )
        )
    work = fields.get("homework")
    if isinstance(work, Mapping):
        parts = [
            work.get("description") or "",
            *(_text(work[k]) for k in ("grade",) if work.get(k) is not None),
        ]
        facts.append(Fact("homework", labels["homework"], " · ".join(p for p in parts if p)))
    if fields.get("exercises_total") is not None:
        done = fields.get("exercises_completed")
        facts.append(
            Fact(
                "exercises", labels["exercises"], f"{_text(done or 0)}/{fields['exercises_total']}"
            )
        )
    return tuple(facts)
