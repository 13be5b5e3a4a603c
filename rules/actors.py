"""Who or what made a change: the `actor` of every history and audit row.

An actor is a kind and, for some kinds, the id of the one who acted. Its text form
(``"service"``, ``"user:5"``, ``"evidence:EV_x"``, ``"schedule:3"``, ``"sweeper"``,
``"rebuild"``) is what the history answers, so it never changes shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Actor", "ActorKind", "AuditKind"]


class ActorKind(StrEnum):
    SERVICE = "service"  # the platform's service token
    USER = "user"  # a person, by platform user id
    SWEEPER = "sweeper"  # the periodic sweep
    EVIDENCE = "evidence"  # a LiveKit event, by event id
    SCHEDULE = "schedule"  # a recurring schedule, by schedule id
    REBUILD = "rebuild"  # `hudur rebuild` re-deciding from the raw events


class AuditKind(StrEnum):
    """What an audited change changed (besides a status, which the history records)."""

    REPORT = "report"  # a teacher's report, and the verdict it decided
    CHARGE = "charge"  # a charge set by hand
    REBUILD = "rebuild"  # a verdict `hudur rebuild` decided anew from the raw events


_NAMED = frozenset({ActorKind.USER, ActorKind.EVIDENCE, ActorKind.SCHEDULE})


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None = None

    def __post_init__(self) -> None:
        if (self.kind in _NAMED) != (self.id is not None):
            raise ValueError(f"an actor of kind {self.kind.value!r} takes an id iff it is named")

    def __str__(self) -> str:
        return self.kind.value if self.id is None else f"{self.kind.value}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Actor:
        kind, _, ident = text.partition(":")
        return cls(ActorKind(kind), ident or None)

    @classmethod
    def user(cls, user_id: int) -> Actor:
        return cls(ActorKind.USER, str(user_id))

    @classmethod
    def evidence(cls, event_id: str) -> Actor:
        return cls(ActorKind.EVIDENCE, event_id)

    @classmethod
    def schedule(cls, schedule_id: int) -> Actor:
        return cls(ActorKind.SCHEDULE, str(schedule_id))


SERVICE = Actor(ActorKind.SERVICE)
SWEEPER = Actor(ActorKind.SWEEPER)
REBUILD = Actor(ActorKind.REBUILD)
