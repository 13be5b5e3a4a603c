"""What each connection of a simulated lesson publishes, as a real lesson would: the
teacher a microphone and a camera, and in a group lesson a screen share for a
stretch; every student a microphone, some a camera, one of them turning it off
midway. Tracks live until their unpublish or their connection's leave (no unpublish
is sent at a leave: the service ends a track with its connection).

Drawn from the lesson alone, with a generator of its own: the day's draw (and so
every presence event and verdict) is left exactly as it was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.simulate.plan import Lesson

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Stay:
    """One connection of one participant; `left` None: its leave is never sent."""

    sid: str
    identity: str
    joined: datetime
    left: datetime | None
    reason: int


@dataclass(frozen=True)
class Publication:
    """One track of one connection; `unpublished` None: it ends with the connection."""

    stay: Stay
    source: str
    published: datetime
    unpublished: datetime | None = None


def publications(lesson: Lesson, stays: list[Stay]) -> list[Publication]:
    """Every track of the lesson's connections, each inside its connection."""
    # Seeded by the lesson (its index and start come from the day's seed) and not by
    # the day's generator, whose draws decide the presence events.
    rng = random.Random(lesson.index * 1_000_003 + int(lesson.starts_at.timestamp()))
    teacher = str(lesson.teacher)
    students = sorted({s.identity for s in stays if s.identity != teacher})
    # The first student shows a camera within seconds of joining (every connection
    # lasts minutes), so every lesson anybody came to has one; the others may be later.
    cameras = {
        identity: (rng.choice((0, 1, 5, 10)) if n else 0) * MINUTE + rng.randint(5, 40) * SECOND
        for n, identity in enumerate(students)
        if n == 0 or rng.random() < 0.6
    }
    screen_from = lesson.starts_at + rng.choice((5, 10, 15)) * MINUTE
    screen_for = rng.choice((10, 15, 20)) * MINUTE
    turned_off = False

    tracks: list[Publication] = []
    for stay in stays:
        end = stay.left if stay.left is not None else lesson.ends_at
        wanted: list[tuple[str, datetime, datetime | None]] = [
            ("MICROPHONE", stay.joined + 3 * SECOND, None)
        ]
        if stay.identity == teacher:
            wanted.append(("CAMERA", stay.joined + 4 * SECOND, None))
            if not lesson.individual:
                wanted.append(("SCREEN_SHARE", screen_from, screen_from + screen_for))
        elif stay.identity in cameras:
            on = stay.joined + cameras[stay.identity]
            off = None
            # One student turns the camera off halfway through a connection that ends
            # with a leave the service hears of.
            if not turned_off and stay.left is not None and on < end - MINUTE:
                off = (on + (end - on) / 2).replace(microsecond=0)
                turned_off = True
            wanted.append(("CAMERA", on, off))
        # A connection too short to publish in publishes nothing.
        tracks += [Publication(stay, *track) for track in wanted if track[1] < end - MINUTE]
    return tracks
