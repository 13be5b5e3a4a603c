"""A student's progress across lessons, by kind: what the teachers' reports add up to.

Pure: each lesson is its kind, whether it was a make-up, its report's type fields (an
empty mapping when there is no report) and its engagement score. Averages and sums
of fractional values are rounded to two decimals; a value no report gives is left
out of its average, and an average of nothing is None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Lesson",
    "academic_progress",
    "interactive_progress",
    "mean",
    "quran_progress",
]


@dataclass(frozen=True, slots=True)
class Lesson:
    kind: str  # "quran", "academic" or "interactive"
    makeup: bool = False
    fields: Mapping[str, Any] = field(default_factory=dict)
    engagement_score: int | None = None


def _numbers(values: Iterable[object]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def mean(values: Iterable[object]) -> float | None:
    """The mean of the numbers among `values`, two decimals; None when there are none."""
    numbers = _numbers(values)
    return round(sum(numbers) / len(numbers), 2) if numbers else None


def _total(values: Iterable[object]) -> float:
    return round(sum(_numbers(values)), 2)


def quran_progress(lessons: Sequence[Lesson]) -> dict[str, Any]:
    return {
        "sessions": len(lessons),
        "papers_memorized": _total(x.fields.get("papers_memorized_today") for x in lessons),
        "average_recitation_quality": mean(x.fields.get("recitation_quality") for x in lessons),
        "makeups": sum(1 for x in lessons if x.makeup),
    }


def academic_progress(lessons: Sequence[Lesson]) -> dict[str, Any]:
    homework = [h for x in lessons if isinstance(h := x.fields.get("homework"), Mapping)]
    grades = [h.get("grade") for h in homework]
    return {
        "sessions": len(lessons),
        "average_grade": mean(x.fields.get("session_grade") for x in lessons),
        "homework": {
            "given": len(homework),
            "submitted": sum(1 for h in homework if h.get("submitted_at") is not None),
            "graded": len(_numbers(grades)),
            "average_grade": mean(grades),
        },
        "quiz_average": mean(x.fields.get("quiz_score") for x in lessons),
    }


def interactive_progress(lessons: Sequence[Lesson]) -> dict[str, Any]:
    return {
        "sessions": len(lessons),
        "average_video_completion": mean(x.fields.get("video_completion_percent") for x in lessons),
        "exercises_completed": int(_total(x.fields.get("exercises_completed") for x in lessons)),
        "exercises_total": int(_total(x.fields.get("exercises_total") for x in lessons)),
        "average_engagement_score": mean(x.engagement_score for x in lessons),
    }
