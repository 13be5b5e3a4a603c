"""Exercises completed never exceed their total (rules.reports)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.reports import exercises_problem

counts = st.integers(min_value=0, max_value=10_000)


@given(counts, counts)
def test_completed_is_refused_exactly_when_over_the_total(completed: int, total: int) -> None:
    assert (exercises_problem(completed, total) is not None) == (completed > total)


@given(st.one_of(st.none(), st.booleans(), st.text(), st.floats()), counts)
def test_a_missing_or_non_integer_count_is_left_to_the_fields_own_check(
    other: object, count: int
) -> None:
    assert (None, None) == (exercises_problem(other, count), exercises_problem(count, other))
