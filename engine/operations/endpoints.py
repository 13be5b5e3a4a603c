"""The platform's notification endpoints (CONTRACT 6): put and delete. The caller
has checked who may touch the endpoint and commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from rules.actors import Actor
from store.schema import NotificationEndpoint
from store.uow import UnitOfWork

log = structlog.get_logger("hudur.notify")


@dataclass(frozen=True, slots=True)
class PutEndpoint:
    endpoint_id: int
    academy_id: int | None
    url: str
    secret: str
    events: tuple[str, ...]
    enabled: bool

    def __repr__(self) -> str:  # never the secret, wherever a command is printed
        return (
            f"PutEndpoint(endpoint_id={self.endpoint_id}, academy_id={self.academy_id}, "
            f"url={self.url!r}, secret=<set>, events={self.events}, enabled={self.enabled})"
        )


async def put(
    uow: UnitOfWork, command: PutEndpoint, *, at: datetime, actor: Actor
) -> NotificationEndpoint:
    """Create or replace the endpoint; messages written from the commit on go to it."""
    endpoint = await uow.endpoints.put(
        command.endpoint_id,
        now=at,
        academy_id=command.academy_id,
        url=command.url,
        secret=command.secret,
        events=command.events,
        enabled=command.enabled,
    )
    fields = {
        "endpoint_id": command.endpoint_id,
        "academy_id": command.academy_id,
        "events": list(command.events),
        "enabled": command.enabled,
        "actor": str(actor),
    }
    uow.after_commit(lambda: log.info("endpoint_put", **fields))
    return endpoint


async def delete(uow: UnitOfWork, endpoint: NotificationEndpoint, *, actor: Actor) -> None:
    """The endpoint goes, with its undelivered messages and its attempts."""
    await uow.endpoints.delete(endpoint.id)
    fields = {"endpoint_id": endpoint.id, "actor": str(actor)}
    uow.after_commit(lambda: log.info("endpoint_deleted", **fields))
