"""Which event times are believed (rules.event_times, CONTRACT 3), as properties,
and through the webhook's derivation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules import evidence as ev
from rules.event_times import JOIN_TRUST, RECEIPT_LEAD, believed_join, decides
from tests.support.livekit import joined, left
from webhooks.derive import derive_evidence
from webhooks.parse import parse_event

ROOM = "QSE-1-000001"
AT = datetime(2025, 12, 1, 10, 25, tzinfo=UTC)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
near = st.timedeltas(min_value=-JOIN_TRUST, max_value=JOIN_TRUST)


class TestBelievedJoin:
    @given(joined_at=st.none() | moments, created_at=moments)
    def test_a_believed_join_is_never_more_than_ten_minutes_from_created_at(
        self, joined_at: datetime | None, created_at: datetime
    ) -> None:
        """Whatever joinedAt says, the join is taken within 10 min of createdAt."""
        assert abs(believed_join(joined_at, created_at) - created_at) <= JOIN_TRUST

    @given(created_at=moments, offset=near)
    def test_a_joined_at_within_ten_minutes_is_believed_as_it_is(
        self, created_at: datetime, offset: timedelta
    ) -> None:
        """Within 10 min either side (bounds included), joinedAt is the join's time."""
        assert created_at + offset == believed_join(created_at + offset, created_at)

    @given(created_at=moments, joined_at=moments)
    def test_a_joined_at_further_away_gives_way_to_created_at(
        self, created_at: datetime, joined_at: datetime
    ) -> None:
        """More than 10 min away: createdAt, exactly."""
        if abs(joined_at - created_at) > JOIN_TRUST:
            assert created_at == believed_join(joined_at, created_at)

    def test_no_joined_at_is_created_at(self) -> None:
        """A join without joinedAt(Ms) happened at createdAt."""
        assert AT == believed_join(None, AT)


class TestDecides:
    @given(created_at=moments, received_at=moments)
    def test_an_event_decides_unless_dated_over_five_minutes_after_its_receipt(
        self, created_at: datetime, received_at: datetime
    ) -> None:
        """createdAt - receipt <= 5 min decides; later does not."""
        assert (created_at - received_at <= RECEIPT_LEAD) == decides(created_at, received_at)

    @given(created_at=moments)
    def test_without_a_receipt_rule_every_event_decides(self, created_at: datetime) -> None:
        """Where `as_of` is allowed (no receipt time handed in), every event counts."""
        assert decides(created_at, None)


class TestDerivedJoinTimes:
    def test_a_join_dated_2150_is_taken_at_created_at(self) -> None:
        """joinedAtMs in 2150 on an event created at 10:25: the join is at 10:25."""
        body = joined(ROOM, "PA_1", "10", datetime(2150, 1, 1, tzinfo=UTC), created_at=AT)
        derived = derive_evidence(parse_event(body), received_at=AT)
        assert derived is not None
        assert AT == derived.evidence.at

    @given(joined_at=moments)
    def test_a_derived_join_is_within_ten_minutes_of_its_events_creation(
        self, joined_at: datetime
    ) -> None:
        """For any joinedAtMs, the evidence's time is within 10 min of createdAt."""
        body = joined(ROOM, "PA_1", "10", joined_at, created_at=AT)
        derived = derive_evidence(parse_event(body), received_at=None)
        assert derived is not None
        assert abs(derived.evidence.at - AT) <= JOIN_TRUST

    def test_an_event_dated_an_hour_after_its_receipt_gives_no_evidence(self) -> None:
        """Received at 9:25 but created at 10:25: stored elsewhere, no evidence here."""
        body = left(ROOM, "PA_1", "10", AT, joined_at=AT - timedelta(minutes=20))
        assert derive_evidence(parse_event(body), received_at=AT - timedelta(hours=1)) is None

    def test_an_event_dated_five_minutes_after_its_receipt_still_decides(self) -> None:
        """Exactly 5 min ahead of its receipt (clocks drift) is still evidence."""
        body = left(ROOM, "PA_1", "10", AT, joined_at=AT - timedelta(minutes=20))
        derived = derive_evidence(parse_event(body), received_at=AT - RECEIPT_LEAD)
        assert derived is not None
        assert ev.EvidenceKind.LEFT == derived.evidence.kind
