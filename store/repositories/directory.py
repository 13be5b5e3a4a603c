"""Academies, users and subscriptions: the platform's objects, upserted by id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rules.charging import ChargeStatus, SubscriptionView
from rules.codes import SubscriptionKind
from store.repositories.base import on_postgres, upsert
from store.schema import Academy, Charge, Session, SessionStudent, Subscription, User


class AcademyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, academy_id: int) -> Academy | None:
        return await self.session.get(Academy, academy_id)

    async def get_many(self, academy_ids: list[int]) -> dict[int, Academy]:
        """The academies of `academy_ids` (one query), by id."""
        if not academy_ids:
            return {}
        rows = await self.session.scalars(select(Academy).where(Academy.id.in_(academy_ids)))
        return {a.id: a for a in rows}

    async def rule_tables(self) -> list[dict[str, Any]]:
        """Every academy's rule table, for the longest preparation in force (the tables
        are small)."""
        return list(await self.session.scalars(select(Academy.rules)))

    async def upsert(self, academy_id: int, *, now: datetime, **values: Any) -> Academy:
        row = {"id": academy_id, **values, "created_at": now, "updated_at": now}
        row.setdefault("rules", {})
        keep = ("created_at", "rules") if "rules" not in values else ("created_at",)
        await self.session.execute(upsert(self.session, Academy, row, ["id"], keep=keep))
        academy = await self.session.get(Academy, academy_id, populate_existing=True)
        assert academy is not None
        return academy

    async def zones(self) -> dict[int, str]:
        """Every academy's IANA time zone, by academy id."""
        rows = await self.session.execute(select(Academy.id, Academy.timezone))
        return {academy_id: zone for academy_id, zone in rows}


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_many(self, user_ids: list[int]) -> dict[int, User]:
        if not user_ids:
            return {}
        rows = await self.session.scalars(select(User).where(User.id.in_(user_ids)))
        return {u.id: u for u in rows}

    async def upsert(self, user_id: int, *, now: datetime, **values: Any) -> User:
        row = {"id": user_id, **values, "created_at": now, "updated_at": now}
        keep = ("created_at", "calendar_token")
        await self.session.execute(upsert(self.session, User, row, ["id"], keep=keep))
        user = await self.session.get(User, user_id, populate_existing=True)
        assert user is not None
        return user

    async def lock(self, user_id: int) -> None:
        """Hold the user's row until this transaction ends: a teacher's time is claimed
        under it, so two sessions cannot be put into one slot of the teacher at once."""
        await self.session.execute(select(User.id).where(User.id == user_id).with_for_update())

    async def by_calendar_token(self, token: str) -> User | None:
        return await self.session.scalar(select(User).where(User.calendar_token == token))

    async def is_taught_by(self, student_id: int, teacher_id: int) -> bool:
        """Whether the student is on the roster of any session the teacher teaches."""
        found = await self.session.scalar(
            select(SessionStudent.session_id)
            .join(Session, Session.id == SessionStudent.session_id)
            .where(SessionStudent.student_id == student_id, Session.teacher_id == teacher_id)
            .limit(1)
        )
        return found is not None


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, subscription_id: int) -> Subscription | None:
        return await self.session.get(Subscription, subscription_id)

    async def upsert(self, subscription_id: int, *, now: datetime, **values: Any) -> Subscription:
        row = {"id": subscription_id, **values, "created_at": now, "updated_at": now}
        await self.session.execute(upsert(self.session, Subscription, row, ["id"]))
        sub = await self.session.get(Subscription, subscription_id, populate_existing=True)
        assert sub is not None
        return sub

    async def of_student(self, student_id: int) -> list[Subscription]:
        """The student's subscriptions, the earliest first."""
        rows = await self.session.scalars(
            select(Subscription)
            .where(Subscription.student_id == student_id)
            .order_by(Subscription.starts_at, Subscription.id)
        )
        return list(rows)

    async def usage_of(self, subscription_ids: list[int]) -> dict[int, list[Charge]]:
        """The usage rows of each subscription (in the order they were written), in one query."""
        usage: dict[int, list[Charge]] = {sub_id: [] for sub_id in subscription_ids}
        if not subscription_ids:
            return usage
        rows = await self.session.scalars(
            select(Charge).where(Charge.subscription_id.in_(subscription_ids)).order_by(Charge.id)
        )
        for row in rows:
            assert row.subscription_id is not None
            usage[row.subscription_id].append(row)
        return usage

    async def used(self, subscription_id: int) -> int:
        count = await self.session.scalar(
            select(func.count())
            .select_from(Charge)
            .where(
                Charge.subscription_id == subscription_id,
                Charge.status == ChargeStatus.CHARGED.value,
            )
        )
        return int(count or 0)

    async def views_for_many(
        self, student_ids: Sequence[int], *, lock: bool = False
    ) -> dict[tuple[int, int, SubscriptionKind], list[SubscriptionView]]:
        """Every subscription of `student_ids` with its charged usage, by (student,
        academy, kind), in two queries. `lock` holds the rows until commit (in id order,
        so batches sharing a student cannot deadlock), as `views_for` does."""
        result: dict[tuple[int, int, SubscriptionKind], list[SubscriptionView]] = {}
        if not student_ids:
            return result
        # Plain columns, not ORM objects: a sweep's batch reads hundreds of these.
        stmt = select(
            Subscription.id,
            Subscription.student_id,
            Subscription.academy_id,
            Subscription.kind,
            Subscription.starts_at,
            Subscription.ends_at,
            Subscription.total_sessions,
        ).where(Subscription.student_id.in_(student_ids))
        if lock and on_postgres(self.session):
            stmt = stmt.order_by(Subscription.id).with_for_update()
        subs = list(await self.session.execute(stmt))
        used: dict[int, int] = {}
        if subs:
            used = {
                sub_id: int(n)
                for sub_id, n in await self.session.execute(
                    select(Charge.subscription_id, func.count())
                    .where(
                        Charge.subscription_id.in_([s.id for s in subs]),
                        Charge.status == ChargeStatus.CHARGED.value,
                    )
                    .group_by(Charge.subscription_id)
                )
                if sub_id is not None
            }
        for sub_id, student_id, academy_id, kind_value, starts_at, ends_at, total in subs:
            kind = SubscriptionKind(kind_value)
            result.setdefault((student_id, academy_id, kind), []).append(
                SubscriptionView(
                    id=sub_id,
                    kind=kind,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    total_sessions=total,
                    used_sessions=used.get(sub_id, 0),
                )
            )
        return result
