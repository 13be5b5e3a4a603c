"""What a student's reports add up to (rules.progress), as properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.progress import Lesson, academic_progress, interactive_progress, mean, quran_progress

scores = st.one_of(st.none(), st.floats(min_value=0, max_value=10, allow_nan=False))
counts = st.integers(min_value=0, max_value=50)

quran = st.builds(
    Lesson,
    kind=st.just("quran"),
    makeup=st.booleans(),
    fields=st.fixed_dictionaries(
        {},
        optional={
            "papers_memorized_today": st.floats(min_value=0, max_value=20, allow_nan=False),
            "recitation_quality": scores,
        },
    ),
)
homework = st.fixed_dictionaries(
    {
        "description": st.just("sums"),
        "submitted_at": st.one_of(st.none(), st.just("2025-12-01T10:00:00Z")),
        "grade": scores,
    }
)
academic = st.builds(
    Lesson,
    kind=st.just("academic"),
    fields=st.fixed_dictionaries(
        {}, optional={"session_grade": scores, "quiz_score": scores, "homework": homework}
    ),
)


@given(st.lists(quran, max_size=60))
def test_quran_adds_papers_and_counts_makeups(lessons: list[Lesson]) -> None:
    got = quran_progress(lessons)
    papers = [x.fields.get("papers_memorized_today") for x in lessons]
    assert got["sessions"] == len(lessons)
    assert got["papers_memorized"] == round(sum(p for p in papers if p is not None), 2)
    assert got["makeups"] == len([x for x in lessons if x.makeup])
    qualities = [q for x in lessons if (q := x.fields.get("recitation_quality")) is not None]
    if qualities:
        assert min(qualities) - 0.01 <= got["average_recitation_quality"] <= max(qualities) + 0.01
    else:
        assert got["average_recitation_quality"] is None


@given(st.lists(academic, max_size=60))
def test_homework_submitted_and_graded_never_exceed_given(lessons: list[Lesson]) -> None:
    work = academic_progress(lessons)["homework"]
    given_count = len([x for x in lessons if "homework" in x.fields])
    assert work["given"] == given_count
    assert work["submitted"] <= given_count and work["graded"] <= given_count
    assert (work["average_grade"] is None) == (work["graded"] == 0)


@given(st.lists(st.tuples(counts, counts), max_size=60))
def test_exercises_add_up(pairs: list[tuple[int, int]]) -> None:
    lessons = [
        Lesson("interactive", fields={"exercises_completed": a, "exercises_total": a + b})
        for a, b in pairs
    ]
    got = interactive_progress(lessons)
    assert (got["exercises_completed"], got["exercises_total"]) == (
        sum(a for a, _ in pairs),
        sum(a + b for a, b in pairs),
    )


@given(st.lists(st.one_of(st.none(), st.booleans(), st.text(), st.integers(0, 100))))
def test_the_mean_reads_numbers_only(values: list[object]) -> None:
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    expected = round(sum(numbers) / len(numbers), 2) if numbers else None
    assert mean(values) == expected
