"""Engagement (CONTRACT 4.2a) by property: bounded by the attended time and the lesson,
free of event order and repeats, a score in 0..100 that is the formula, monotone in
camera time. 500 examples each."""

from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.attendance import measure
from rules.engagement import TrackEvidence, TrackPublished, TrackUnpublished, engagement_score
from rules.evidence import Interval
from rules.settings import RuleSettings
from tests.unit.test_engagement import GAP, E, S, engaged, iv, t

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
