"""The recurrence rule's invariants over any pattern, zone and moment: local times kept,
the monthly limit respected, idempotence (Hypothesis)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.recurrence import (
    EARLIEST,
    LATEST,
    Recurrence,
    WallTime,
    local_instant,
    month_of,
    occurrences,
    plan_slots,
)

ZONES = [
    "UTC",
    "Africa/Cairo",
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Riyadh",
]


def exists(day: date, at: WallTime, zone: ZoneInfo) -> bool:
    """Whether wall time `at` happens on `day` in `zone` (not in a spring-forward gap)."""
    local = datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)


weekday_sets = st.frozensets(st.integers(0, 6), min_size=1)
wall_times = st.builds(WallTime, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
nows = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@st.composite
def recurrences(draw: st.DrawFn) -> Recurrence:
    starts_on = draw(st.dates(date(2023, 1, 1), date(2027, 12, 31)))
    length = draw(st.none() | st.integers(0, 400))
    return Recurrence(
        weekdays=draw(weekday_sets),
        start_time=draw(wall_times),
        zone=draw(st.sampled_from(ZONES)),
        starts_on=starts_on,
        ends_on=None if length is None else starts_on + timedelta(days=length),
        generate_days_ahead=draw(st.integers(0, 120)),
        monthly_session_limit=draw(st.none() | st.integers(0, 12)),
    )


def per_month(slots: list[datetime] | tuple[datetime, ...], zone: ZoneInfo) -> Counter[object]:
    return Counter(month_of(s, zone) for s in slots)


class TestProperties:
    @settings(max_examples=300)
    @given(rule_=recurrences(), now=nows)
    def test_every_slot_is_at_the_requested_local_time_and_weekday(
        self, rule_: Recurrence, now: datetime
    ) -> None:
        """Each slot is on a chosen weekday within the dates, at the wall time asked for,
        or (only when that wall time does not exist that day) later by the gap."""
        zone = rule_.tz
        for slot in plan_slots(rule_, now=now).due:
            local = slot.astimezone(zone)
            day = local.date()
            assert local.weekday() in rule_.weekdays
            assert rule_.starts_on <= day
            assert rule_.ends_on is None or day <= rule_.ends_on
            if exists(day, rule_.start_time, zone):
                assert (rule_.start_time.hour, rule_.start_time.minute) == (
                    local.hour,
                    local.minute,
                )
            else:
                assert (local.hour, local.minute) > (rule_.start_time.hour, rule_.start_time.minute)
            assert now < slot <= now + timedelta(days=rule_.generate_days_ahead)

    @settings(max_examples=300)
    @given(rule_=recurrences(), now=nows)
    def test_without_a_limit_every_occurrence_is_due(
        self, rule_: Recurrence, now: datetime
    ) -> None:
        """With no limit, the plan is exactly the occurrences in the window."""
        unlimited = Recurrence(
            weekdays=rule_.weekdays,
            start_time=rule_.start_time,
            zone=rule_.zone,
            starts_on=rule_.starts_on,
            ends_on=rule_.ends_on,
            generate_days_ahead=rule_.generate_days_ahead,
        )
        horizon = now + timedelta(days=rule_.generate_days_ahead)
        brute = []
        day = rule_.starts_on
        last = rule_.ends_on or (horizon.date() + timedelta(days=2))
        while day <= last:
            if day.weekday() in rule_.weekdays:
                instant = local_instant(day, rule_.start_time, rule_.tz)
                if now < instant <= horizon:
                    brute.append(instant)
            day += timedelta(days=1)

        assert tuple(brute) == plan_slots(unlimited, now=now).due
        assert tuple(brute) == tuple(occurrences(unlimited, after=now, until=horizon))

    @settings(max_examples=300)
    @given(rule_=recurrences(), now=nows)
    def test_rerunning_with_the_generated_slots_plans_nothing(
        self, rule_: Recurrence, now: datetime
    ) -> None:
        """Feeding a plan's slots back as generated ones makes the next plan empty."""
        first = plan_slots(rule_, now=now).due

        assert () == plan_slots(rule_, now=now, known=first, counted=first).due

    @settings(max_examples=200)
    @given(
        rule_=recurrences(),
        start=nows,
        steps=st.lists(st.integers(0, 20 * 24), min_size=1, max_size=12),
    )
    def test_ticks_over_time_never_exceed_the_limit_or_repeat_a_slot(
        self, rule_: Recurrence, start: datetime, steps: list[int]
    ) -> None:
        """Planning tick after tick (hours apart), each fed what came before, never gives
        a slot twice nor more than the limit in any local month."""
        generated: list[datetime] = []
        now = start
        for hours in steps:
            now += timedelta(hours=hours)
            generated += plan_slots(rule_, now=now, known=generated, counted=generated).due

        assert len(generated) == len(set(generated))
        if rule_.monthly_session_limit is not None:
            assert all(
                n <= rule_.monthly_session_limit for n in per_month(generated, rule_.tz).values()
            )

    @settings(max_examples=200)
    @given(rule_=recurrences(), now=nows, data=st.data())
    def test_counted_and_planned_together_respect_the_limit(
        self, rule_: Recurrence, now: datetime, data: st.DataObject
    ) -> None:
        """Whatever was generated before, the plan never takes a month past its limit,
        holds a slot back only when its month is full, and accounts for every free
        occurrence in the window as either due or held back."""
        zone = rule_.tz
        pool = list(
            occurrences(rule_, after=now - timedelta(days=40), until=now + timedelta(days=130))
        )
        counted = data.draw(st.lists(st.sampled_from(pool), unique=True) if pool else st.just([]))
        before = per_month(counted, zone)
        plan = plan_slots(rule_, now=now, known=counted, counted=counted)
        added = per_month(plan.due, zone)

        assert set() == set(plan.due) & set(counted)
        limit = rule_.monthly_session_limit
        if limit is not None:
            for month, n in added.items():
                assert before[month] + n <= limit
            for held in plan.over_limit:
                month = month_of(held, zone)
                assert before[month] + added[month] >= limit
        assert len(plan.due) + len(plan.over_limit) == len(
            [
                s
                for s in occurrences(
                    rule_, after=now, until=now + timedelta(days=rule_.generate_days_ahead)
                )
                if s not in set(counted)
            ]
        )

    @settings(max_examples=200)
    @given(
        rule_=recurrences(),
        now=st.datetimes(timezones=st.just(UTC)),
        starts_on=st.dates(),
    )
    def test_any_moment_and_any_start_plan_without_error(
        self, rule_: Recurrence, now: datetime, starts_on: date
    ) -> None:
        """From year 1 to 9999, planning never raises and stays inside the rule's span."""
        moved = Recurrence(
            weekdays=rule_.weekdays,
            start_time=rule_.start_time,
            zone=rule_.zone,
            starts_on=starts_on,
            ends_on=None,
            generate_days_ahead=rule_.generate_days_ahead,
            monthly_session_limit=rule_.monthly_session_limit,
        )

        plan = plan_slots(moved, now=now)

        assert all(EARLIEST <= s <= LATEST and now < s for s in plan.due + plan.over_limit)
