"""Engagement from track evidence (CONTRACT 4.2a).

A participant's published tracks become per-source stretches: a track starts at
its publish and ends at the earliest of its unpublish, its connection's leave (the
presence interval of the same participant sid, however that closed) and ``E``.
Like ``build_intervals`` this is defined on the *set* of track events, each field a
minimum over the events bearing on it, so any order and any repeats agree.

The stretches of one source are united (two devices' cameras count once) and kept
inside the user's attended stretches, so a source's seconds can never exceed the
attended seconds, nor ``E - S``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from rules._utc import require_utc
from rules.attendance import seconds_of, united
from rules.copresence import overlap
from rules.evidence import EvidenceKind, Interval, canonical
from rules.settings import RuleSettings

__all__ = [
    "Engagement",
    "TrackPublished",
    "TrackSource",
    "TrackUnpublished",
    "engagement_of",
    "engagement_score",
    "source_stretches",
]

Stretch = tuple[datetime, datetime]


class TrackSource(StrEnum):
    """The sources that count; LiveKit's others (``SCREEN_SHARE_AUDIO``, ``UNKNOWN``)
    are kept as evidence and decide nothing."""

    CAMERA = "CAMERA"
    MICROPHONE = "MICROPHONE"
    SCREEN_SHARE = "SCREEN_SHARE"


_COUNTED = frozenset(source.value for source in TrackSource)
_SOURCES = tuple(TrackSource)


@dataclass(frozen=True, slots=True)
class _TrackEvent:
    """What a publish and an unpublish both say of track ``track_sid`` of participant
    ``sid``, at ``at`` (the event's createdAt)."""

    event_id: str
    room_sid: str
    at: datetime
    sid: str
    identity: str
    track_sid: str
    # LiveKit's string as received; only TrackSource values decide anything.
    source: str

    def __post_init__(self) -> None:
        require_utc("at", self.at)


@dataclass(frozen=True, slots=True)
class TrackPublished(_TrackEvent):
    """Participant ``sid`` published track ``track_sid`` at ``at``."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.TRACK_PUBLISHED


@dataclass(frozen=True, slots=True)
class TrackUnpublished(_TrackEvent):
    """Participant ``sid`` stopped publishing ``track_sid`` at ``at``."""

    kind: ClassVar[EvidenceKind] = EvidenceKind.TRACK_UNPUBLISHED


TrackEvidence = TrackPublished | TrackUnpublished


@dataclass(frozen=True, slots=True)
class Engagement:
    camera_seconds: int
    microphone_seconds: int
    screen_share_seconds: int
    # None unless the session type is scored (interactive courses).
    engagement_score: int | None
    explanation_code: dict[str, str | int | float]


def source_stretches(
    tracks: Iterable[TrackEvidence],
    presence: Sequence[Interval],
    attended: Sequence[Stretch],
    *,
    ends_at: datetime,
    until: datetime,
) -> dict[TrackSource, tuple[Stretch, ...]]:
    """Each counted source's sorted, disjoint stretches, inside ``attended`` (the
    user's merged, clipped stretches, which already hold ``[S, E]`` and ``until``).

    ``presence`` is the user's raw intervals: a track ends with its connection.
    """
    left_by_sid: dict[str, datetime | None] = {}
    for interval in presence:
        left_by_sid[interval.sid] = interval.left_at
    published: dict[str, tuple[datetime, str, str]] = {}
    unpublished: dict[str, list[datetime]] = defaultdict(list)
    for event in canonical(tracks):
        if isinstance(event, TrackPublished):
            key = (event.at, event.sid, event.source)
            kept = published.get(event.track_sid)
            if kept is None or key < kept:
                published[event.track_sid] = key
        else:
            unpublished[event.track_sid].append(event.at)

    by_source: dict[TrackSource, list[Stretch]] = defaultdict(list)
    for track_sid, (start, sid, source) in published.items():
        if source not in _COUNTED:
            continue
        # A track lives only on its own connection: no connection, no track.
        if sid not in left_by_sid:
            continue
        ends = [at for at in unpublished.get(track_sid, ()) if at >= start]
        left = left_by_sid[sid]
        end = min([*ends, ends_at, until, *([left] if left is not None else [])])
        if start < end:
            by_source[TrackSource(source)].append((start, end))
    return {source: overlap(united(stretches), attended) for source, stretches in by_source.items()}


def engagement_score(
    *,
    attended_seconds: int,
    of_seconds: int,
    camera_seconds: int,
    microphone_seconds: int,
    settings: RuleSettings,
) -> tuple[int, dict[str, str | int | float]]:
    """``round(100 x (wa x a + wc x c + wm x m))`` (half up), clamped to 0..100, with
    its parts: ``a`` = attended / (E - S), ``c`` and ``m`` = camera and microphone
    time / attended time, each clamped to 0..1."""
    of = max(of_seconds, 1)
    attended = _clamp(attended_seconds, of_seconds)
    # With nothing attended there is no camera or microphone share to speak of.
    per = max(attended_seconds, 1)
    camera = _clamp(camera_seconds, attended_seconds)
    microphone = _clamp(microphone_seconds, attended_seconds)
    wa, wc, wm = (
        _millionths(settings.engagement_attendance_weight),
        _millionths(settings.engagement_camera_weight),
        _millionths(settings.engagement_microphone_weight),
    )
    # Exact integer arithmetic over one denominator: 0.85 must not become 84.99999
    # and round down (and Fractions cost a report of thousands of rows dearly).
    numerator = 100 * (wa * attended * per + (wc * camera + wm * microphone) * of)
    denominator = _MILLION * of * per
    score = max(0, min(100, (2 * numerator + denominator) // (2 * denominator)))
    return score, {
        "attendance_fraction": round(attended / of, 4),
        "camera_fraction": round(camera / per, 4),
        "microphone_fraction": round(microphone / per, 4),
        "attendance_weight": wa / _MILLION,
        "camera_weight": wc / _MILLION,
        "microphone_weight": wm / _MILLION,
        "attendance_points": round(100 * wa * attended / (_MILLION * of), 1),
        "camera_points": round(100 * wc * camera / (_MILLION * per), 1),
        "microphone_points": round(100 * wm * microphone / (_MILLION * per), 1),
    }


_MILLION = 1_000_000


def _millionths(weight: float) -> int:
    """A weight in whole millionths: exact for any weight a person types."""
    return round(weight * _MILLION)


def _clamp(part: int, whole: int) -> int:
    return max(0, min(part, whole))


def engagement_of(
    tracks: Sequence[TrackEvidence],
    presence: Sequence[Interval],
    attended: Sequence[Stretch],
    *,
    starts_at: datetime,
    ends_at: datetime,
    until: datetime,
    scored: bool,
    settings: RuleSettings,
) -> Engagement:
    """One user's engagement in one session; ``scored`` for the session types that
    get an ``engagement_score``. The explanation code names every part."""
    if ends_at <= starts_at:
        raise ValueError(f"ends_at {ends_at} must be after starts_at {starts_at}")
    # Most of a roster publishes nothing (or is not in yet): nothing to walk then.
    stretches = (
        source_stretches(tracks, presence, attended, ends_at=ends_at, until=until)
        if tracks and attended
        else {}
    )
    camera, microphone, screen = (seconds_of(stretches.get(source, ())) for source in _SOURCES)
    attended_seconds = seconds_of(attended)
    of_seconds = (ends_at - starts_at) // timedelta(seconds=1)
    code: dict[str, str | int | float] = {
        "code": "tracks",
        "camera_seconds": camera,
        "microphone_seconds": microphone,
        "screen_share_seconds": screen,
        "attended_seconds": attended_seconds,
        "of_seconds": of_seconds,
    }
    score = None
    if scored:
        score, parts = engagement_score(
            attended_seconds=attended_seconds,
            of_seconds=of_seconds,
            camera_seconds=camera,
            microphone_seconds=microphone,
            settings=settings,
        )
        code = {**code, "code": "engagement", "score": score, **parts}
    return Engagement(camera, microphone, screen, score, code)
