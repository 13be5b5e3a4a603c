"""`status_display` of CONTRACT 4.1: each status's look beside the lifecycle's flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.display import LOOKS, display_for
from rules.lifecycle import Status

S = Status
E = datetime(2025, 12, 1, 11, 0, tzinfo=UTC)


class TestStatusDisplay:
    @pytest.mark.parametrize(
        ("status", "label", "label_en", "color", "icon", "start", "cancel", "join"),
        [
            (S.UNSCHEDULED, "غير مجدولة", "Unscheduled", "gray", "ri-draft-line", 0, 1, 0),
            (S.SCHEDULED, "مجدولة", "Scheduled", "blue", "ri-calendar-line", 1, 1, 0),
            (S.READY, "جاهزة", "Ready", "violet", "ri-video-line", 1, 1, 1),
            (S.ONGOING, "جارية", "Ongoing", "cyan", "ri-live-line", 0, 1, 1),
            (S.COMPLETED, "مكتملة", "Completed", "green", "ri-check-circle-line", 0, 0, 0),
            (S.ABSENT, "غياب", "Absent", "amber", "ri-user-unfollow-line", 0, 0, 0),
            (S.CANCELLED, "ملغاة", "Cancelled", "red", "ri-close-circle-line", 0, 0, 0),
        ],
    )
    def test_display_of_each_status(
        self,
        status: Status,
        label: str,
        label_en: str,
        color: str,
        icon: str,
        start: int,
        cancel: int,
        join: int,
    ) -> None:
        """Each status displays exactly as the contract's table says."""
        assert {
            "value": status.value,
            "label": label,
            "label_en": label_en,
            "color": color,
            "icon": icon,
            "can_start": bool(start),
            "can_cancel": bool(cancel),
            "can_join": bool(join),
        } == display_for(status, now=E, ends_at=E, buffer_minutes=10).as_dict()

    def test_every_status_has_a_look(self) -> None:
        """No status is missing from the display table."""
        assert set(Status) == set(LOOKS)


class TestDisplayFor:
    @pytest.mark.parametrize("status", [S.READY, S.ONGOING])
    def test_can_join_until_just_before_end_plus_buffer(self, status: Status) -> None:
        """One second before E + 10 min, a joinable status can still be joined."""
        now = E + timedelta(minutes=10) - timedelta(seconds=1)

        assert display_for(status, now=now, ends_at=E, buffer_minutes=10).can_join

    @pytest.mark.parametrize("status", [S.READY, S.ONGOING])
    def test_cannot_join_from_end_plus_buffer(self, status: Status) -> None:
        """From E + 10 min on, can_join is false; the rest is unchanged."""
        shown = display_for(status, now=E + timedelta(minutes=10), ends_at=E, buffer_minutes=10)

        assert not shown.can_join
        before = display_for(status, now=E, ends_at=E, buffer_minutes=10)
        assert before.can_cancel == shown.can_cancel
        assert before.label == shown.label

    def test_unscheduled_session_has_no_end(self) -> None:
        """Without an end time the table's value stands."""
        assert display_for(S.READY, now=E, ends_at=E, buffer_minutes=10) == display_for(
            S.READY, now=E + timedelta(days=9), ends_at=None, buffer_minutes=10
        )
