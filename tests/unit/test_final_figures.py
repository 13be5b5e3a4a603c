"""A finished session's figures are final: a join after `until` (its `ended_at`) is
kept apart and changes none of them (issue 13, item 8)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules.attendance import measure
from rules.evidence import Interval
from tests.unit.test_attendance import E, S, iv

ENDED = E + timedelta(minutes=10)


def figures(intervals: list[Interval]) -> object:
    return measure(intervals, starts_at=S, ends_at=E, until=ENDED, reconnect_gap_seconds=120)


class TestALateJoinIntoAFinishedSession:
    def test_changes_neither_join_count_nor_last_leave_at(self) -> None:
        """Present 10:00-11:00, back at 11:30 (still connected): 1 join, left at 11:00."""
        held = iv(S, E, "PA_a")
        late = iv(ENDED + timedelta(minutes=20), None, "PA_b")
        m = figures([held, late])
        assert (1, E, S, 3600) == (
            m.join_count,  # type: ignore[attr-defined]
            m.last_leave_at,  # type: ignore[attr-defined]
            m.first_join_at,  # type: ignore[attr-defined]
            m.attended_seconds,  # type: ignore[attr-defined]
        )

    @given(
        held=st.lists(st.tuples(st.integers(-30, 70), st.integers(1, 60)), min_size=0, max_size=4),
        late=st.lists(
            st.tuples(st.integers(1, 600), st.none() | st.integers(1, 60)),
            min_size=1,
            max_size=3,
        ),
    )
    def test_never_changes_the_figures(
        self, held: list[tuple[int, int]], late: list[tuple[int, int | None]]
    ) -> None:
        """Whatever was held, joins after `ended_at` leave every figure as it was."""
        before = [
            iv(S + timedelta(minutes=at), S + timedelta(minutes=at + length), f"PA_h{i}")
            for i, (at, length) in enumerate(held)
        ]
        after = [
            iv(
                ENDED + timedelta(seconds=at),
                None if length is None else ENDED + timedelta(seconds=at + length * 60),
                f"PA_l{i}",
            )
            for i, (at, length) in enumerate(late)
        ]
        assert figures(before) == figures(before + after)
