"""The rule settings a session is judged by."""

from __future__ import annotations

from collections.abc import Sequence

from rules.settings import RuleSettings, resolve_settings
from store.repositories.due import SessionLike
from store.uow import UnitOfWork


async def settings_of(uow: UnitOfWork, session: SessionLike) -> RuleSettings:
    """The settings frozen at scheduling, or those in force for an unscheduled one."""
    if session.settings:
        return RuleSettings.from_dict(session.settings)
    academy = await uow.academies.get(session.academy_id)
    return resolve_settings(academy.rules if academy else {}, session.type)


async def settings_for(uow: UnitOfWork, sessions: Sequence[SessionLike]) -> dict[int, RuleSettings]:
    """`settings_of` each of `sessions`, by session id, with at most one query (the
    academies of the unscheduled ones), however many sessions there are."""
    unfrozen = sorted({s.academy_id for s in sessions if not s.settings})
    academies = await uow.academies.get_many(unfrozen)
    result = {}
    for session in sessions:
        if session.settings:
            result[session.id] = RuleSettings.from_dict(session.settings)
        else:
            academy = academies.get(session.academy_id)
            result[session.id] = resolve_settings(academy.rules if academy else {}, session.type)
    return result
