"""The session's history and its overrides as the teacher's page shows them.

The order is the API's (`engine.api.shapes.history_shape`: oldest first); the lines
name people by name, statuses in the page's language and times in the academy's
zone, the zone named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.api.shapes import history_shape
from engine.display import LOOKS
from rules.actors import Actor, ActorKind, AuditKind
from rules.lifecycle import Status
from store.schema import AuditEntry, Transition

Names = Callable[[int], str]


@dataclass(frozen=True)
class Override:
    """Who set a student's verdict by hand, when and why."""

    who: str
    when: str
    reason: str


@dataclass(frozen=True)
class HistoryLine:
    kind: str  # transition | report | charge | rebuild
    when: str
    what: str
    who: str
    reason: str


def stamp(at: datetime, zone: ZoneInfo) -> str:
    """ "2031-03-03 11:00 (Africa/Cairo)"."""
    return f"{at.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def actor_name(text: str, *, names: Names, words: Mapping[str, object]) -> str:
    actors: dict[str, str] = words["actors"]  # type: ignore[assignment]
    try:
        actor = Actor.parse(text)
    except ValueError:
        return text
    if actor.kind is ActorKind.USER and actor.id is not None and actor.id.isdigit():
        return names(int(actor.id))
    return actors.get(actor.kind.value, text)


def _status(side: Mapping[str, Any] | None) -> str | None:
    report = (side or {}).get("report") or {}
    return report.get("attendance_status") if isinstance(report, Mapping) else None


def overrides_of(
    audit: Iterable[AuditEntry], *, names: Names, zone: ZoneInfo, words: Mapping[str, object]
) -> dict[int, Override]:
    """Per student, the report that set its current hand-made verdict: the last one
    that changed the reported status (a later report keeping the status, e.g. the
    type's fields only, did not override anything)."""
    found: dict[int, Override] = {}
    for entry in sorted(audit, key=lambda e: (e.at, e.id)):
        if entry.kind != AuditKind.REPORT or entry.student_id is None:
            continue
        if _status(entry.before) == _status(entry.after):
            continue
        found[entry.student_id] = Override(
            who=actor_name(entry.actor, names=names, words=words),
            when=stamp(entry.at, zone),
            reason=entry.reason or "",
        )
    return found


def _label(status: object, lang: str) -> str:
    try:
        look = LOOKS[Status(str(status))]
    except ValueError:
        return str(status)
    return look.in_language(lang)


def history_lines(
    transitions: Iterable[Transition],
    audit: Iterable[AuditEntry],
    *,
    names: Names,
    zone: ZoneInfo,
    words: Mapping[str, object],
    lang: str,
) -> tuple[HistoryLine, ...]:
    verdicts: dict[str, str] = words["verdicts"]  # type: ignore[assignment]
    charges: dict[str, str] = words["charges"]  # type: ignore[assignment]
    arrow = words["arrow"]
    page, _ = history_shape(transitions, audit)
    lines = []
    for entry in page.data:
        before, after = entry.before or {}, entry.after or {}
        if entry.kind == "transition":
            target = _label(after.get("status"), lang)
            source = before.get("status")
            what = f"{_label(source, lang)} {arrow} {target}" if source else target
        else:
            student = names(entry.student_id) if entry.student_id is not None else ""
            if entry.kind == AuditKind.CHARGE:
                old, new = _charge(before), _charge(after)
                what = f"{words['history_charge']} {student}: {charges.get(old, old)} {arrow} "
                what += charges.get(new, new)
            else:
                key = "history_rebuild" if entry.kind == AuditKind.REBUILD else "history_report"
                old = str(before.get("attendance_status", ""))
                new = str(after.get("attendance_status", ""))
                what = f"{words[key]} {student}: {verdicts.get(old, old)} {arrow} "
                what += verdicts.get(new, new)
        lines.append(
            HistoryLine(
                kind=entry.kind,
                when=stamp(entry.at, zone),
                what=what,
                who=actor_name(entry.actor, names=names, words=words),
                reason=entry.reason or "",
            )
        )
    return tuple(lines)


def _charge(side: Mapping[str, Any]) -> str:
    charge = side.get("charge")
    if isinstance(charge, Mapping):
        return str(charge.get("status", "none"))
    return str(side.get("status", "none"))
