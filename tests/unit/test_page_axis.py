"""The teacher's page's time axis: local-time ticks, mirrored in right-to-left pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from engine.pages.axis import MAX_TICKS, Axis, zone_name

CAIRO = ZoneInfo("Africa/Cairo")
NINE = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)

starts = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
lengths = st.integers(min_value=5, max_value=12 * 60)
zones = st.sampled_from(["Africa/Cairo", "Asia/Riyadh", "UTC", "America/New_York"])


class TestTheAxis:
    def test_a_nine_oclock_utc_lesson_in_cairo_is_labelled_eleven(self) -> None:
        """The labels are the academy's wall-clock times."""
        axis = Axis(NINE - timedelta(minutes=15), NINE + timedelta(minutes=70), CAIRO, rtl=False)
        labels = [t.label for t in axis.ticks()]
        assert "11:00" in labels and "09:00" not in labels
        assert "Africa/Cairo, UTC+02:00" == zone_name(CAIRO, NINE)

    @given(start=starts, minutes=lengths, zone=zones)
    def test_ticks_are_round_local_times_inside_the_axis_in_order(
        self, start: datetime, minutes: int, zone: str
    ) -> None:
        """At most MAX_TICKS ticks, each on the axis, earliest first, left to right."""
        end = start + timedelta(minutes=minutes)
        axis = Axis(start, end, ZoneInfo(zone), rtl=False)
        ticks = axis.ticks()
        lefts = [t.left for t in ticks]
        assert len(ticks) <= MAX_TICKS + 1
        assert all(0 <= left <= 100 for left in lefts)
        assert sorted(lefts) == lefts

    @given(start=starts, minutes=lengths, offset=st.integers(min_value=0, max_value=12 * 60))
    def test_right_to_left_mirrors_every_position(
        self, start: datetime, minutes: int, offset: int
    ) -> None:
        """An instant sits as far from the right edge in Arabic as from the left in
        English; a stretch keeps its width and stays on the axis."""
        end = start + timedelta(minutes=minutes)
        at = start + timedelta(minutes=min(offset, minutes))
        ltr, rtl = Axis(start, end, CAIRO, rtl=False), Axis(start, end, CAIRO, rtl=True)
        assert abs(100 - ltr.pct(at) - rtl.pct(at)) < 0.011
        forward, mirrored = ltr.bar(start, at), rtl.bar(start, at)
        assert forward.width == mirrored.width
        assert abs(100 - forward.left - forward.width - mirrored.left) < 0.011
        assert 0 <= mirrored.left and mirrored.left + mirrored.width <= 100.011
