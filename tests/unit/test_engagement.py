"""Engagement from track evidence (CONTRACT 4.2a), by example and by property."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from rules.attendance import measure
from rules.engagement import (
    Engagement,
    TrackEvidence,
    TrackPublished,
    TrackUnpublished,
    engagement_of,
    engagement_score,
)
from rules.evidence import Interval
from rules.settings import RuleSettings

S = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
E = S + timedelta(minutes=60)
GAP = 120
RULES = RuleSettings()


def t(minutes: float = 0) -> datetime:
    return S + timedelta(minutes=minutes)


def iv(start: datetime, end: datetime | None, *, sid: str = "PA_a") -> Interval:
    return Interval(sid, "10", 10, "RM_1", start, end, True)


_ids = itertools.count()


def pub(
    at: datetime, source: str = "CAMERA", *, track: str = "TR_c", sid: str = "PA_a"
) -> TrackPublished:
    return TrackPublished(f"EV_p{next(_ids)}", "RM_1", at, sid, "10", track, source)


def unpub(
    at: datetime, source: str = "CAMERA", *, track: str = "TR_c", sid: str = "PA_a"
) -> TrackUnpublished:
    return TrackUnpublished(f"EV_u{next(_ids)}", "RM_1", at, sid, "10", track, source)


def engaged(
    tracks: list[TrackEvidence],
    presence: list[Interval],
    *,
    until: datetime = E,
    scored: bool = True,
    rules: RuleSettings = RULES,
) -> Engagement:
    attended = measure(
        presence,
        starts_at=S,
        ends_at=E,
        until=until,
        reconnect_gap_seconds=rules.reconnect_gap_seconds,
    ).intervals
    return engagement_of(
        tracks,
        presence,
        attended,
        starts_at=S,
        ends_at=E,
        until=until,
        scored=scored,
        settings=rules,
    )


class TestSeconds:
    def test_the_contracts_interactive_student(self) -> None:
        """Present 60 min, camera 30, microphone 60: 1800 s, 3600 s and a score of 85."""
        tracks = [
            pub(t(0), "CAMERA", track="TR_c"),
            unpub(t(30), "CAMERA", track="TR_c"),
            pub(t(0), "MICROPHONE", track="TR_m"),
        ]
        e = engaged(tracks, [iv(t(0), t(60))])

        assert (1800, 3600, 0, 85) == (
            e.camera_seconds,
            e.microphone_seconds,
            e.screen_share_seconds,
            e.engagement_score,
        )

    def test_a_track_ends_with_its_connection(self) -> None:
        """A camera never unpublished ends when its participant leaves at 40 min."""
        assert 2400 == engaged([pub(t(0))], [iv(t(0), t(40))]).camera_seconds

    def test_a_track_ends_at_e(self) -> None:
        """A screen share still on after the end counts up to E only."""
        e = engaged([pub(t(50), "SCREEN_SHARE")], [iv(t(0), t(75))])

        assert 600 == e.screen_share_seconds

    def test_nothing_before_s_counts(self) -> None:
        """A camera on from 10 min before the start counts from S."""
        assert 1200 == engaged([pub(t(-10)), unpub(t(20))], [iv(t(-15), t(60))]).camera_seconds

    def test_overlapping_tracks_of_one_source_count_once(self) -> None:
        """Two cameras (laptop 0-40, phone 20-60) are 60 min of camera, not 80."""
        tracks = [
            pub(t(0), track="TR_1", sid="PA_a"),
            unpub(t(40), track="TR_1", sid="PA_a"),
            pub(t(20), track="TR_2", sid="PA_b"),
        ]
        presence = [iv(t(0), t(60), sid="PA_a"), iv(t(20), t(60), sid="PA_b")]

        assert 3600 == engaged(tracks, presence).camera_seconds

    def test_unknown_sources_decide_nothing(self) -> None:
        """A SCREEN_SHARE_AUDIO or UNKNOWN track adds to no source."""
        e = engaged(
            [pub(t(0), "SCREEN_SHARE_AUDIO"), pub(t(0), "UNKNOWN", track="TR_x")], [iv(t(0), t(60))]
        )

        assert (0, 0, 0) == (e.camera_seconds, e.microphone_seconds, e.screen_share_seconds)

    def test_a_track_of_an_unknown_connection_counts_nothing(self) -> None:
        """A camera published under a sid with no presence interval is not counted."""
        assert 0 == engaged([pub(t(0), sid="PA_ghost")], [iv(t(0), t(60))]).camera_seconds

    def test_a_running_session_counts_up_to_until(self) -> None:
        """A camera on since 10 min, read at 25 min: 900 s so far."""
        assert 900 == engaged([pub(t(10))], [iv(t(0), None)], until=t(25)).camera_seconds

    def test_other_types_have_no_score(self) -> None:
        """Outside interactive courses the seconds are there and the score is None."""
        e = engaged([pub(t(0))], [iv(t(0), t(60))], scored=False)

        assert (3600, None, "tracks") == (
            e.camera_seconds,
            e.engagement_score,
            e.explanation_code["code"],
        )

    def test_an_empty_window_is_refused(self) -> None:
        """A window that ends before it starts is a programming error."""
        with pytest.raises(ValueError):
            engagement_of([], [], (), starts_at=E, ends_at=S, until=E, scored=True, settings=RULES)


class TestScore:
    def test_the_explanation_names_the_three_parts(self) -> None:
        """85 = attendance 50 + camera 15 + microphone 20 points, each with its weight."""
        score, parts = engagement_score(
            attended_seconds=3600,
            of_seconds=3600,
            camera_seconds=1800,
            microphone_seconds=3600,
            settings=RULES,
        )

        assert (85, 50.0, 15.0, 20.0, 0.5, 0.3, 0.2) == (
            score,
            parts["attendance_points"],
            parts["camera_points"],
            parts["microphone_points"],
            parts["attendance_weight"],
            parts["camera_weight"],
            parts["microphone_weight"],
        )

    def test_weights_are_settings(self) -> None:
        """With camera weighed 0.5 and attendance 0.3 the same student scores 75."""
        rules = RuleSettings(engagement_attendance_weight=0.3, engagement_camera_weight=0.5)
        score, _ = engagement_score(
            attended_seconds=3600,
            of_seconds=3600,
            camera_seconds=1800,
            microphone_seconds=3600,
            settings=rules,
        )

        assert 75 == score

    def test_halves_round_up(self) -> None:
        """Half a point rounds up, exactly: 36 s of 3600 is 0.5 points, so 1 (not 0)."""
        half = engagement_score(
            attended_seconds=36,
            of_seconds=3600,
            camera_seconds=0,
            microphone_seconds=0,
            settings=RULES,
        )

        assert 1 == half[0]

    def test_a_student_who_never_came_scores_zero(self) -> None:
        """No attendance: no division by zero, score 0."""
        score, _ = engagement_score(
            attended_seconds=0,
            of_seconds=3600,
            camera_seconds=0,
            microphone_seconds=0,
            settings=RULES,
        )

        assert 0 == score
