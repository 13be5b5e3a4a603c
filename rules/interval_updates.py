"""Intervals brought up to date by new evidence without building them all again.

``build_intervals`` is a pure function of a session's whole evidence; the projector
adds a few events to a session at a time, and most of its intervals cannot change.
An interval of connection ``sid`` rests on: the evidence of that sid; the ends of its
room and of the session; and the openings of the other sids of the same person (the
identity of the sid's opening: a later join of it ends this one).

So new participant evidence can change only:

* the intervals of its own sids;
* the intervals of every sid whose person is one of the persons those sids had or
  now have. A sid's opening only moves to an earlier key as evidence is added, so its
  person after the update is either its person before (its stored interval's
  identity) or the identity of one of the new events.

A room's end or the session's close bears on everyone: all of them are rebuilt.
What is rebuilt is exactly ``build_intervals`` of the evidence of those sids and every
room and session end; every other stored interval stays as it is. That the two
together equal ``build_intervals`` of all the evidence is a property
(tests/unit/test_interval_updates.py), for evidence whose event ids are unique, as
stored evidence's are.
"""

from __future__ import annotations

from collections.abc import Iterable

from rules.evidence import Evidence, Interval, RoomFinished, SessionClosed, build_intervals

__all__ = ["affected_sids", "is_end", "rebuilt_intervals", "updated_intervals"]


def is_end(event: Evidence) -> bool:
    """Evidence that bears on every interval of its session, not one sid's."""
    return isinstance(event, RoomFinished | SessionClosed)


def affected_sids(
    new: Iterable[Evidence], stored: Iterable[tuple[str, str]]
) -> frozenset[str] | None:
    """The sids whose intervals `new` evidence may change, given `(sid, identity)` of
    each interval built before it; None when it may change any (a room's or the
    session's end)."""
    sids: set[str] = set()
    persons: set[str] = set()
    for event in new:
        if isinstance(event, RoomFinished | SessionClosed):
            return None
        sids.add(event.sid)
        persons.add(event.identity)
    stored = list(stored)
    persons.update(identity for sid, identity in stored if sid in sids)
    return frozenset(sids | {sid for sid, identity in stored if identity in persons})


def rebuilt_intervals(events: Iterable[Evidence], affected: frozenset[str]) -> tuple[Interval, ...]:
    """The new intervals of the `affected` sids, from evidence holding at least all of
    theirs and every end (whatever else it holds is left out)."""
    return build_intervals(
        e for e in events if isinstance(e, RoomFinished | SessionClosed) or e.sid in affected
    )


def updated_intervals(
    stored: Iterable[Interval], events: Iterable[Evidence], affected: frozenset[str]
) -> tuple[Interval, ...]:
    """All of a session's intervals after the update: the stored ones of other sids
    kept, those of `affected` rebuilt; sorted by ``(joined_at, sid)`` as
    ``build_intervals`` sorts them."""
    kept = [i for i in stored if i.sid not in affected]
    rebuilt = rebuilt_intervals(events, affected)
    return tuple(sorted([*kept, *rebuilt], key=lambda i: (i.joined_at, i.sid)))
