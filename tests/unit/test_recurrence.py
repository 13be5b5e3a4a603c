"""The recurrence rule by example: parsing, weekly slots at local wall time, DST, the
window and the monthly limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from rules.recurrence import (
    EARLIEST,
    LATEST,
    WEEKDAYS,
    Recurrence,
    WallTime,
    local_instant,
    month_of,
    parse_start_time,
    parse_weekdays,
    parse_zone,
    plan_slots,
)

NEW_YORK = "America/New_York"


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
