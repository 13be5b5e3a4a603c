"""The rule settings a session is judged by."""

from __future__ import annotations

from rules.settings import RuleSettings, resolve_settings
from store.schema import Session
from store.uow import UnitOfWork


async def settings_of(uow: UnitOfWork, session: Session) -> RuleSettings:
    """The settings frozen at scheduling, or those in force for an unscheduled one."""
    if session.settings:
        return RuleSettings.from_dict(session.settings)
    academy = await uow.academies.get(session.academy_id)
    return resolve_settings(academy.rules if academy else {}, session.type)
