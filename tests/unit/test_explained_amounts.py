"""How long an explanation says someone attended: rounded minutes, or seconds under
two minutes (issue 13, item 8)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules.attendance import AttendanceStatus as A
from rules.attendance import explain, measure
from tests.unit.test_attendance import E, S, iv, measured


class TestExplainedAmounts:
    def _amount(self, attended_seconds: int) -> str:
        m = measured(iv(S, S + timedelta(seconds=attended_seconds)))
        text = explain(A.PRESENT, m, reference_start=S, starts_at=S, ends_at=E)
        return text.split(": ", 1)[1].split(" of ", 1)[0]

    def test_under_two_minutes_the_seconds_are_shown(self) -> None:
        """97 s of a 2 min lesson (80.83 %) reads "97 s of 2 min", not "1 of 2 min"."""
        short_end = S + timedelta(minutes=2)
        m = measure(
            [iv(S, S + timedelta(seconds=97))],
            starts_at=S,
            ends_at=short_end,
            until=short_end,
            reconnect_gap_seconds=120,
        )
        text = explain(A.PRESENT, m, reference_start=S, starts_at=S, ends_at=short_end)
        assert ("present: 97 s of 2 min, joined at start", 80.83) == (
            text,
            m.attendance_percentage,
        )

    @given(st.integers(min_value=120, max_value=3600))
    def test_from_two_minutes_the_shown_minutes_are_the_rounded_ones(self, seconds: int) -> None:
        """Whole minutes, to the nearest (a half minute up): never more than 30 s off."""
        shown = int(self._amount(seconds))
        assert shown == int(seconds / 60 + 0.5)
        assert abs(shown * 60 - seconds) <= 30

    @given(st.integers(min_value=1, max_value=119))
    def test_under_two_minutes_the_shown_seconds_are_exact(self, seconds: int) -> None:
        """Below two minutes nothing is rounded at all."""
        assert f"{seconds} s" == self._amount(seconds)
