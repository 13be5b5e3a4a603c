"""The recurrence rule: weekly slots at local wall time, DST, the monthly limit, idempotence."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.recurrence import (
    EARLIEST,
    LATEST,
    WEEKDAYS,
    Recurrence,
    WallTime,
    local_instant,
    month_of,
    occurrences,
    parse_start_time,
    parse_weekdays,
    parse_zone,
    plan_slots,
)

NEW_YORK = "America/New_York"
ZONES = [
    "UTC",
    "Africa/Cairo",
    "Europe/London",
    NEW_YORK,
    "America/Santiago",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Riyadh",
]


def rule(**overrides: object) -> Recurrence:
    values: dict[str, object] = {
        "weekdays": frozenset({0, 2}),
        "start_time": WallTime(18, 0),
        "zone": "Europe/London",
        "starts_on": date(2025, 1, 1),
        "ends_on": None,
        "generate_days_ahead": 14,
        "monthly_session_limit": None,
    }
    values.update(overrides)
    return Recurrence(**values)  # type: ignore[arg-type]


def exists(day: date, at: WallTime, zone: ZoneInfo) -> bool:
    """Whether wall time `at` happens on `day` in `zone` (not in a spring-forward gap)."""
    local = datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)


class TestParsing:
    def test_weekdays_are_named_mon_to_sun(self) -> None:
        """Names map to date.weekday() numbers, case-insensitively, duplicates merged."""
        assert frozenset({0, 2, 6}) == parse_weekdays(["mon", "WED", "sun", "mon"])

    @pytest.mark.parametrize("bad", [[], ["monday"], ["mon", 3], [None]])
    def test_bad_weekdays_are_refused(self, bad: list[object]) -> None:
        """An empty list, a long name or a non-string raises ValueError."""
        with pytest.raises(ValueError):
            parse_weekdays(bad)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("00:00", WallTime(0, 0)), ("18:05", WallTime(18, 5)), ("23:59", WallTime(23, 59))],
    )
    def test_start_time_is_hh_mm(self, text: str, expected: WallTime) -> None:
        """HH:MM on a 24-hour clock parses to a naive time."""
        assert expected == parse_start_time(text)

    @pytest.mark.parametrize("text", ["24:00", "9:00", "18:60", "18:00:00", "six", ""])
    def test_other_start_times_are_refused(self, text: str) -> None:
        """Anything but exactly HH:MM in range raises ValueError."""
        with pytest.raises(ValueError, match="HH:MM"):
            parse_start_time(text)

    def test_wall_time_prints_as_hh_mm(self) -> None:
        """str() gives back the wire form; an impossible time of day is refused."""
        assert "07:05" == str(WallTime(7, 5))
        with pytest.raises(ValueError, match="no such time"):
            WallTime(24, 0)

    def test_zone_must_be_iana(self) -> None:
        """An unknown zone name raises ValueError; a real one loads."""
        assert "Africa/Cairo" == str(parse_zone("Africa/Cairo"))
        with pytest.raises(ValueError, match="unknown time zone"):
            parse_zone("Mars/Olympus")

    def test_weekday_names_follow_python_numbering(self) -> None:
        """WEEKDAYS[date.weekday()] names the day: 2025-12-01 is a Monday."""
        assert "mon" == WEEKDAYS[date(2025, 12, 1).weekday()]


class TestRecurrenceValidation:
    @pytest.mark.parametrize(
        ("overrides", "problem"),
        [
            ({"weekdays": frozenset()}, "weekdays"),
            ({"weekdays": frozenset({7})}, "weekdays"),
            ({"zone": "Nowhere/Land"}, "time zone"),
            ({"ends_on": date(2024, 12, 31)}, "ends_on"),
            ({"generate_days_ahead": -1}, "generate_days_ahead"),
            ({"monthly_session_limit": -1}, "monthly_session_limit"),
        ],
    )
    def test_an_impossible_pattern_is_refused(
        self, overrides: dict[str, object], problem: str
    ) -> None:
        """Each invalid field raises ValueError naming it."""
        with pytest.raises(ValueError, match=problem):
            rule(**overrides)


class TestDaylightSaving:
    def test_lessons_keep_their_local_time_across_a_change(self) -> None:
        """18:00 London is 18:00 UTC in March before the change and 17:00 UTC after it."""
        slots = plan_slots(
            rule(weekdays=frozenset({0})),
            now=datetime(2025, 3, 20, tzinfo=UTC),
            known=(),
        ).due

        assert (
            datetime(2025, 3, 24, 18, 0, tzinfo=UTC),
            datetime(2025, 3, 31, 17, 0, tzinfo=UTC),
        ) == slots

    def test_a_time_in_the_spring_gap_moves_forward_by_the_gap(self) -> None:
        """02:30 on New York's spring-forward night is 03:30 EDT (07:30 UTC)."""
        instant = local_instant(date(2024, 3, 10), WallTime(2, 30), ZoneInfo(NEW_YORK))

        assert datetime(2024, 3, 10, 7, 30, tzinfo=UTC) == instant
        assert time(3, 30) == instant.astimezone(ZoneInfo(NEW_YORK)).time()

    def test_a_repeated_time_in_the_autumn_takes_the_first_occurrence(self) -> None:
        """01:30 on New York's fall-back night is the EDT one (05:30 UTC), not EST."""
        assert datetime(2024, 11, 3, 5, 30, tzinfo=UTC) == local_instant(
            date(2024, 11, 3), WallTime(1, 30), ZoneInfo(NEW_YORK)
        )

    def test_cairo_midnight_gap_moves_to_one_oclock(self) -> None:
        """Cairo jumps 00:00 -> 01:00 on 2024-04-26: a 00:30 lesson is at 01:30 local."""
        instant = local_instant(date(2024, 4, 26), WallTime(0, 30), ZoneInfo("Africa/Cairo"))

        assert datetime(2024, 4, 26, 1, 30) == instant.astimezone(ZoneInfo("Africa/Cairo")).replace(
            tzinfo=None
        )


class TestWindow:
    def test_only_future_slots_up_to_the_horizon(self) -> None:
        """A slot exactly at `now` is past; one exactly at the horizon is in."""
        now = datetime(2025, 6, 2, 17, 0, tzinfo=UTC)  # Monday 18:00 London
        slots = plan_slots(rule(weekdays=frozenset({0}), generate_days_ahead=7), now=now).due

        assert (datetime(2025, 6, 9, 17, 0, tzinfo=UTC),) == slots

    def test_dates_bound_the_pattern_inclusively(self) -> None:
        """starts_on and ends_on are local dates and both included."""
        slots = plan_slots(
            rule(
                weekdays=frozenset(range(7)),
                starts_on=date(2025, 6, 3),
                ends_on=date(2025, 6, 5),
                generate_days_ahead=60,
            ),
            now=datetime(2025, 6, 1, tzinfo=UTC),
        ).due

        assert [date(2025, 6, 3), date(2025, 6, 4), date(2025, 6, 5)] == [
            s.astimezone(ZoneInfo("Europe/London")).date() for s in slots
        ]

    def test_a_late_evening_slot_may_fall_on_the_next_utc_day(self) -> None:
        """23:30 in New York on Monday is Tuesday in UTC, and is still found."""
        slots = plan_slots(
            rule(weekdays=frozenset({0}), start_time=WallTime(23, 30), zone=NEW_YORK),
            now=datetime(2025, 6, 2, 12, 0, tzinfo=UTC),
            known=(),
        ).due

        assert datetime(2025, 6, 3, 3, 30, tzinfo=UTC) == slots[0]

    @pytest.mark.parametrize(
        "now",
        [datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)],
        ids=["year 1", "year 9999"],
    )
    def test_the_ends_of_time_are_planned_without_overflow(self, now: datetime) -> None:
        """A `now` at datetime's limits plans only slots inside the rule's span, rather
        than overflowing (a zone 14 hours ahead, a year of days ahead)."""
        far = rule(zone="Pacific/Kiritimati", starts_on=date(1, 1, 1), generate_days_ahead=366)

        plan = plan_slots(far, now=now)

        assert all(EARLIEST <= s <= LATEST and now < s for s in plan.due)
        assert (now.year == 1) == bool(plan.due)

    def test_now_must_be_utc(self) -> None:
        """A naive `now` raises ValueError rather than guessing a zone."""
        with pytest.raises(ValueError, match="UTC"):
            plan_slots(rule(), now=datetime(2025, 6, 1))


class TestMonthlyLimit:
    def test_the_earliest_slots_of_a_month_are_taken(self) -> None:
        """With a limit of 3 and a slot every day, the 1st to 3rd of the month are due."""
        plan = plan_slots(
            rule(weekdays=frozenset(range(7)), monthly_session_limit=3, generate_days_ahead=9),
            now=datetime(2025, 5, 28, 20, 0, tzinfo=UTC),
        )

        assert [
            date(2025, 5, 29),
            date(2025, 5, 30),
            date(2025, 5, 31),
            date(2025, 6, 1),
            date(2025, 6, 2),
            date(2025, 6, 3),
        ] == [s.date() for s in plan.due]
        assert [date(2025, 6, 4), date(2025, 6, 5), date(2025, 6, 6)] == [
            s.date() for s in plan.over_limit
        ]

    def test_already_generated_slots_use_up_the_month(self) -> None:
        """Two counted slots in June leave one of three for the rest of June."""
        counted = [datetime(2025, 6, 2, 17, 0, tzinfo=UTC), datetime(2025, 6, 4, 17, 0, tzinfo=UTC)]
        plan = plan_slots(
            rule(monthly_session_limit=3, generate_days_ahead=30),
            now=datetime(2025, 6, 5, tzinfo=UTC),
            known=counted,
            counted=counted,
        )

        assert [datetime(2025, 6, 9, 17, 0, tzinfo=UTC)] == [s for s in plan.due if s.month == 6]

    def test_a_skipped_slot_frees_its_place(self) -> None:
        """A known but uncounted (skipped) slot is not planned again and takes no place."""
        skipped = datetime(2025, 6, 9, 17, 0, tzinfo=UTC)
        plan = plan_slots(
            rule(monthly_session_limit=2, generate_days_ahead=14),
            now=datetime(2025, 6, 5, tzinfo=UTC),
            known=[skipped],
        )

        assert (
            datetime(2025, 6, 11, 17, 0, tzinfo=UTC),
            datetime(2025, 6, 16, 17, 0, tzinfo=UTC),
        ) == plan.due
        assert (datetime(2025, 6, 18, 17, 0, tzinfo=UTC),) == plan.over_limit

    def test_the_month_is_the_academy_month(self) -> None:
        """23:30 on 31 May in New York is June in UTC but counts for May."""
        zone = ZoneInfo(NEW_YORK)
        instant = local_instant(date(2025, 5, 31), WallTime(23, 30), zone)

        assert (6, 1) == (instant.month, instant.day)
        assert (2025, 5) == month_of(instant, zone)

    def test_a_zero_limit_generates_nothing(self) -> None:
        """monthly_session_limit 0 holds every slot back."""
        plan = plan_slots(rule(monthly_session_limit=0), now=datetime(2025, 6, 1, tzinfo=UTC))

        assert ((), 4) == (plan.due, len(plan.over_limit))


# --- properties -------------------------------------------------------------------

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
