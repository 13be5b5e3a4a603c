"""Engagement from track evidence (CONTRACT 4.2a), by example and by property."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- properties -------------------------------------------------------------------

moments = st.builds(
    lambda minute, ms: S + timedelta(minutes=minute, milliseconds=ms),
    st.integers(min_value=-20, max_value=80),
    st.sampled_from([0, 0, 1, 400, 999]),
)
SOURCES = ["CAMERA", "MICROPHONE", "SCREEN_SHARE", "SCREEN_SHARE_AUDIO", "UNKNOWN"]
untils = st.sampled_from([t(30), E, E + timedelta(minutes=10)])


@st.composite
def lessons(draw: st.DrawFn) -> tuple[list[TrackEvidence], list[Interval]]:
    """A student's connections (up to three sids, some still open) and the tracks
    published on them, on sids without a connection too, some never unpublished,
    some unpublished twice."""
    ids = (f"EV_{n}" for n in itertools.count())
    presence = []
    sids = [f"PA_{n}" for n in range(draw(st.integers(0, 3)))]
    for sid in sids:
        start = draw(moments)
        end = draw(st.none() | st.integers(0, 70).map(lambda m, s=start: s + timedelta(minutes=m)))
        presence.append(iv(start, end, sid=sid))
    tracks: list[TrackEvidence] = []
    for n in range(draw(st.integers(0, 6))):
        sid = draw(st.sampled_from([*sids, "PA_ghost"]))
        source, track = draw(st.sampled_from(SOURCES)), f"TR_{n}"
        start = draw(moments)
        tracks.append(TrackPublished(next(ids), "RM_1", start, sid, "10", track, source))
        for _ in range(draw(st.integers(0, 2))):
            end = start + timedelta(minutes=draw(st.integers(-5, 70)))
            tracks.append(TrackUnpublished(next(ids), "RM_1", end, sid, "10", track, source))
    return tracks, presence


weights = st.floats(min_value=0, max_value=1, allow_nan=False)


class TestEngagementProperties:
    @settings(max_examples=500)
    @given(lesson=lessons(), until=untils)
    def test_no_source_exceeds_the_attended_time_nor_the_lesson(
        self, lesson: tuple[list[TrackEvidence], list[Interval]], until: datetime
    ) -> None:
        """Camera, microphone and screen share seconds are each at most the attended
        seconds, and at most E - S."""
        tracks, presence = lesson
        attended = measure(
            presence, starts_at=S, ends_at=E, until=until, reconnect_gap_seconds=GAP
        ).attended_seconds
        e = engaged(tracks, presence, until=until)

        assert all(
            0 <= seconds <= min(attended, 3600)
            for seconds in (e.camera_seconds, e.microphone_seconds, e.screen_share_seconds)
        )

    @settings(max_examples=500)
    @given(
        lesson=lessons(),
        until=untils,
        rnd=st.randoms(use_true_random=False),
        repeats=st.lists(st.integers(min_value=0, max_value=50), max_size=8),
    )
    def test_any_order_and_repeats_give_the_same_engagement(
        self,
        lesson: tuple[list[TrackEvidence], list[Interval]],
        until: datetime,
        rnd: random.Random,
        repeats: list[int],
    ) -> None:
        """Shuffled and repeated track events give the same seconds, score and code."""
        tracks, presence = lesson
        again = tracks + [tracks[i % len(tracks)] for i in repeats] if tracks else []
        rnd.shuffle(again)

        assert engaged(tracks, presence, until=until) == engaged(again, presence, until=until)

    @settings(max_examples=500)
    @given(
        attended=st.integers(0, 3600),
        camera=st.integers(0, 7200),
        microphone=st.integers(0, 7200),
        wa=weights,
        wc=weights,
        wm=weights,
    )
    def test_the_score_is_between_0_and_100(
        self, attended: int, camera: int, microphone: int, wa: float, wc: float, wm: float
    ) -> None:
        """Whatever the figures and the weights (each 0..1), the score is 0..100."""
        rules = RuleSettings(
            engagement_attendance_weight=wa,
            engagement_camera_weight=wc,
            engagement_microphone_weight=wm,
        )
        score, _ = engagement_score(
            attended_seconds=attended,
            of_seconds=3600,
            camera_seconds=camera,
            microphone_seconds=microphone,
            settings=rules,
        )

        assert 0 <= score <= 100

    @settings(max_examples=500)
    @given(
        attended=st.integers(0, 3600),
        cameras=st.tuples(st.integers(0, 3600), st.integers(0, 3600)).map(sorted),
        microphone=st.integers(0, 3600),
        wa=weights,
        wc=weights,
        wm=weights,
    )
    def test_more_camera_time_never_lowers_the_score(
        self,
        attended: int,
        cameras: list[int],
        microphone: int,
        wa: float,
        wc: float,
        wm: float,
    ) -> None:
        """The score is monotone in camera time, all else equal."""
        rules = RuleSettings(
            engagement_attendance_weight=wa,
            engagement_camera_weight=wc,
            engagement_microphone_weight=wm,
        )

        def score(camera: int) -> int:
            return engagement_score(
                attended_seconds=attended,
                of_seconds=3600,
                camera_seconds=camera,
                microphone_seconds=microphone,
                settings=rules,
            )[0]

        assert score(cameras[0]) <= score(cameras[1])

    @settings(max_examples=500)
    @given(lesson=lessons(), until=untils, start=moments, minutes=st.integers(0, 80))
    def test_one_more_camera_never_lowers_the_score(
        self,
        lesson: tuple[list[TrackEvidence], list[Interval]],
        until: datetime,
        start: datetime,
        minutes: int,
    ) -> None:
        """Publishing another camera on a connection of the student's adds camera
        seconds or none, and never lowers the score."""
        tracks, presence = lesson
        sid = presence[0].sid if presence else "PA_ghost"
        more = [
            *tracks,
            TrackPublished("EV_more_p", "RM_1", start, sid, "10", "TR_more", "CAMERA"),
            TrackUnpublished(
                "EV_more_u",
                "RM_1",
                start + timedelta(minutes=minutes),
                sid,
                "10",
                "TR_more",
                "CAMERA",
            ),
        ]
        before, after = engaged(tracks, presence, until=until), engaged(more, presence, until=until)

        assert before.camera_seconds <= after.camera_seconds
        assert before.engagement_score is not None and after.engagement_score is not None
        assert before.engagement_score <= after.engagement_score

    @settings(max_examples=500)
    @given(
        attended=st.integers(0, 3600),
        camera=st.integers(0, 3600),
        microphone=st.integers(0, 3600),
        wa=st.integers(0, 100).map(lambda n: n / 100),
        wc=st.integers(0, 100).map(lambda n: n / 100),
        wm=st.integers(0, 100).map(lambda n: n / 100),
    )
    def test_the_score_is_the_formula_rounded_half_up(
        self, attended: int, camera: int, microphone: int, wa: float, wc: float, wm: float
    ) -> None:
        """The score equals the contract's formula worked out in exact fractions and
        rounded half up, for weights of two decimals."""
        rules = RuleSettings(
            engagement_attendance_weight=wa,
            engagement_camera_weight=wc,
            engagement_microphone_weight=wm,
        )
        a = Fraction(attended, 3600)
        c = Fraction(min(camera, attended), attended) if attended else Fraction(0)
        m = Fraction(min(microphone, attended), attended) if attended else Fraction(0)
        exact = 100 * (Fraction(str(wa)) * a + Fraction(str(wc)) * c + Fraction(str(wm)) * m)
        expected = min(100, int(exact + Fraction(1, 2)))

        assert (
            expected
            == engagement_score(
                attended_seconds=attended,
                of_seconds=3600,
                camera_seconds=camera,
                microphone_seconds=microphone,
                settings=rules,
            )[0]
        )
