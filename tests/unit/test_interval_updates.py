"""Intervals updated for new evidence equal intervals built from all of it.

The evidence is split at random into what was stored before and what a batch adds;
the stored intervals are built from the first part, then updated with the second
(rules.interval_updates) from only the evidence of the affected sids and the ends.
Beside the realistic traces of test_order_independence, chaotic ones: a sid whose
events disagree on its identity, sids shared by several people, empty sids and
identities, equal times.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.evidence import (
    ConnectionAborted,
    Evidence,
    ParticipantJoined,
    ParticipantLeft,
    RoomFinished,
    SessionClosed,
    build_intervals,
)
from rules.interval_updates import affected_sids, updated_intervals
from tests.unit.test_order_independence import S, moments, traces

SIDS = ["PA_a", "PA_b", "PA_c", "PA_d", ""]
PEOPLE = ["5", "10", "10_phone", "11", ""]
ROOMS = ["RM_1", "RM_2"]


@st.composite
def chaos(draw: st.DrawFn) -> list[Evidence]:
    ids = (f"EV_{n}" for n in itertools.count())
    events: list[Evidence] = []
    for _ in range(draw(st.integers(min_value=0, max_value=14))):
        sid, identity = draw(st.sampled_from(SIDS)), draw(st.sampled_from(PEOPLE))
        room, at, decisive = draw(st.sampled_from(ROOMS)), draw(moments), draw(st.booleans())
        match draw(st.sampled_from(["join", "join", "left", "aborted", "finished", "closed"])):
            case "join":
                events.append(ParticipantJoined(next(ids), room, at, sid, identity, decisive))
            case "left":
                carried = draw(st.one_of(st.none(), moments))
                events.append(
                    ParticipantLeft(next(ids), room, at, sid, identity, decisive, carried)
                )
            case "aborted":
                events.append(ConnectionAborted(next(ids), room, at, sid, identity, decisive))
            case "finished":
                events.append(RoomFinished(next(ids), room, at))
            case _:
                events.append(SessionClosed(next(ids), at + timedelta(minutes=30)))
    return events


def _split(data: st.DataObject, events: list[Evidence]) -> tuple[list[Evidence], list[Evidence]]:
    marks = data.draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))
    before = [e for e, new in zip(events, marks, strict=True) if not new]
    return before, [e for e, new in zip(events, marks, strict=True) if new]


@settings(max_examples=400)
@given(st.data())
def test_updated_intervals_equal_a_full_build(data: st.DataObject) -> None:
    events = data.draw(st.one_of(traces(), chaos()))
    before, new = _split(data, events)
    stored = build_intervals(before)
    affected = affected_sids(new, [(i.sid, i.identity) for i in stored])
    if affected is None:
        assert any(isinstance(e, RoomFinished | SessionClosed) for e in new)
        return
    # Only what the store would read: the evidence of the affected sids, and the ends.
    read = [e for e in events if isinstance(e, RoomFinished | SessionClosed) or e.sid in affected]
    assert updated_intervals(stored, read, affected) == build_intervals(events)


def test_an_unrelated_person_is_not_rebuilt() -> None:
    stored = build_intervals(
        [
            ParticipantJoined("e1", "RM_1", S, "PA_a", "10", True),
            ParticipantJoined("e2", "RM_1", S, "PA_b", "11", True),
        ]
    )
    later = ParticipantJoined("e3", "RM_1", S + timedelta(minutes=5), "PA_c", "10", True)
    assert frozenset({"PA_a", "PA_c"}) == affected_sids(
        [later], [(i.sid, i.identity) for i in stored]
    )


def test_an_end_rebuilds_everyone() -> None:
    assert affected_sids([RoomFinished("e9", "RM_1", S)], [("PA_a", "10")]) is None
