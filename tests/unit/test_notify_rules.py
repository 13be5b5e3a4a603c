"""The pure part of outgoing notifications (rules.notify): which message a move
makes, who wants which message, and the retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.lifecycle import TRANSITIONS, LifecycleEvent, Status
from rules.notify import (
    ALL_EVENTS,
    GIVE_UP_AFTER,
    RETRY_DELAYS,
    EventType,
    message_type,
    next_attempt,
    retry_delay,
    wants,
)

T0 = datetime(2025, 12, 1, 10, tzinfo=UTC)
event_types = st.sampled_from(list(EventType))
academies = st.integers(min_value=1, max_value=5)


class TestMessageTypes:
    @pytest.mark.parametrize(("move", "to"), list(TRANSITIONS.items()), ids=str)
    def test_every_move_of_the_lifecycle_is_announced_as_a_session_event(
        self, move: tuple[Status, LifecycleEvent], to: Status
    ) -> None:
        kind = message_type(to, move[1])
        assert kind is not None and kind.value.startswith("session.")

    def test_a_reschedule_is_rescheduled_and_a_first_schedule_scheduled(self) -> None:
        assert EventType.SESSION_RESCHEDULED == message_type(
            Status.SCHEDULED, LifecycleEvent.RESCHEDULE
        )
        assert EventType.SESSION_SCHEDULED == message_type(
            Status.SCHEDULED, LifecycleEvent.SCHEDULE
        )
        assert EventType.SESSION_STARTED == message_type(Status.ONGOING, LifecycleEvent.START)

    def test_a_session_born_unscheduled_announces_nothing(self) -> None:
        assert None is message_type(Status.UNSCHEDULED, LifecycleEvent.MAKEUP_CREATED)


class TestWants:
    @given(academy=academies, kind=event_types, scope=st.none() | academies)
    def test_a_disabled_endpoint_wants_nothing(
        self, academy: int, kind: EventType, scope: int | None
    ) -> None:
        assert not wants(
            endpoint_academy_id=scope,
            events=[ALL_EVENTS],
            enabled=False,
            academy_id=academy,
            event_type=kind,
        )

    @given(academy=academies, kind=event_types, listed=st.sets(event_types))
    def test_an_endpoint_of_every_academy_wants_what_it_lists(
        self, academy: int, kind: EventType, listed: set[EventType]
    ) -> None:
        events = [e.value for e in listed]
        assert (kind in listed) == wants(
            endpoint_academy_id=None,
            events=events,
            enabled=True,
            academy_id=academy,
            event_type=kind,
        )
        assert wants(
            endpoint_academy_id=None,
            events=[*events, ALL_EVENTS],
            enabled=True,
            academy_id=academy,
            event_type=kind,
        )

    @given(academy=academies, scope=academies, kind=event_types)
    def test_an_academy_s_endpoint_hears_of_that_academy_only(
        self, academy: int, scope: int, kind: EventType
    ) -> None:
        assert (academy == scope) == wants(
            endpoint_academy_id=scope,
            events=[ALL_EVENTS],
            enabled=True,
            academy_id=academy,
            event_type=kind,
        )


def schedule(scale: float = 1.0) -> list[datetime]:
    """Every attempt's time when each fails at once, the first at T0."""
    times = [T0]
    while due := next_attempt(attempts=len(times), failed_at=times[-1], written_at=T0, scale=scale):
        times.append(due)
    return times


class TestRetrySchedule:
    def test_the_contract_s_delays_then_every_six_hours(self) -> None:
        gaps = [b - a for a, b in zip(schedule(), schedule()[1:], strict=False)]
        assert list(RETRY_DELAYS) == gaps[:6]
        assert {timedelta(hours=6)} == set(gaps[6:])

    def test_seventeen_attempts_in_three_days_then_failed(self) -> None:
        times = schedule()
        assert 17 == len(times)
        assert times[-1] <= T0 + GIVE_UP_AFTER < times[-1] + timedelta(hours=6)

    @given(attempts=st.integers(min_value=1, max_value=10_000))
    def test_a_delay_is_never_shorter_than_the_one_before(self, attempts: int) -> None:
        assert retry_delay(attempts) <= retry_delay(attempts + 1) <= timedelta(hours=6)

    @given(
        attempts=st.integers(min_value=1, max_value=200),
        late=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)),
    )
    def test_no_retry_is_ever_due_past_three_days(self, attempts: int, late: timedelta) -> None:
        due = next_attempt(attempts=attempts, failed_at=T0 + late, written_at=T0)
        assert due is None or (T0 + late < due <= T0 + GIVE_UP_AFTER)

    @given(scale=st.floats(min_value=0.0001, max_value=1.0))
    def test_a_scaled_schedule_has_the_same_number_of_attempts(self, scale: float) -> None:
        assert 17 == len(schedule(scale))

    def test_attempts_start_at_one(self) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            retry_delay(0)
