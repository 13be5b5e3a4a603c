"""The tables of outgoing notifications (CONTRACT 6): endpoints, the outbox, and
delivery attempts. Imported by `store.schema`, which is where to import them from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.schema import Base

BigId = BigInteger().with_variant(Integer(), "sqlite")  # as in store.schema


class NotificationEndpoint(Base):
    """Where the platform wants to hear of changes (CONTRACT 6). The secret is stored
    as given and never shown: answers say only whether one is set."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    academy_id: Mapped[int | None] = mapped_column(BigInteger)  # None: every academy
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    events: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"types": ["*"] | [...]}
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class OutboxMessage(Base):
    """One message for one endpoint, written in the transaction of the change it
    announces, then delivered (at least once, in order per session and endpoint) by
    the notify worker. `message_id` is the `webhook-id`, the same on every retry."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id"),
        Index(None, "state", "next_attempt_at"),
        Index(None, "endpoint_id", "session_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(40))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"type", "timestamp", "data"}
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Due when `attempts` is 0 whatever the clock says; retries are timed from the
    # first attempt (three days of them), on the delivering replica's clock.
    next_attempt_at: Mapped[datetime]
    first_attempt_at: Mapped[datetime | None]
    # A replica's claim while it sends: nobody else takes the row before it runs out.
    leased_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeliveryAttempt(Base):
    """One POST of an outbox message: its answer's status (None: no answer) and time."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index(None, "endpoint_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
