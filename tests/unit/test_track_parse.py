"""Track events (`track_published`, `track_unpublished`) read and turned into
evidence (webhooks.parse, webhooks.derive): pure, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rules.engagement import TrackPublished, TrackUnpublished
from tests.support.livekit import seconds, track_published, track_unpublished
from webhooks.derive import derive_evidence
from webhooks.parse import Track, parse_event

SAMPLES = Path(__file__).parent.parent / "samples"
ROOM = "QSE-1-000001"
AT = datetime(2025, 12, 1, 10, 3, tzinfo=UTC)


_SOMEONE = {"sid": "PA_1", "identity": "10"}


def _track_body(track: object, *, participant: object = _SOMEONE) -> bytes:
    body: dict[str, object] = {
        "event": "track_published",
        "id": "EV_t1",
        "createdAt": str(seconds(AT)),
        "room": {"sid": "RM_1", "name": ROOM},
        "participant": participant,
    }
    if track is not None:
        body["track"] = track
    return json.dumps(body).encode()


class TestTrackEvidence:
    def test_a_publish_is_evidence_at_the_event_time(self) -> None:
        """The participant, the track's sid and source, at createdAt (LiveKit sends
        no publish time of its own; joinedAt is the connection's, not the track's)."""
        body = track_published(ROOM, "PA_1", "10_Mohamed", AT, source="CAMERA", track_sid="TR_c")
        derived = derive_evidence(parse_event(body), received_at=None)

        assert derived is not None
        assert (
            TrackPublished(
                derived.evidence.event_id,
                "RM_hycBMAjmt6Ub",
                AT,
                "PA_1",
                "10_Mohamed",
                "TR_c",
                "CAMERA",
            ),
            ROOM,
            10,
        ) == (derived.evidence, derived.room_name, derived.user_id)

    def test_an_unpublish_is_evidence_at_the_event_time(self) -> None:
        """The same fields, as a TrackUnpublished."""
        body = track_unpublished(ROOM, "PA_1", "10", AT, source="SCREEN_SHARE", track_sid="TR_s")
        derived = derive_evidence(parse_event(body), received_at=None)

        assert derived is not None
        assert isinstance(derived.evidence, TrackUnpublished)
        assert ("TR_s", "SCREEN_SHARE", AT) == (
            derived.evidence.track_sid,
            derived.evidence.source,
            derived.evidence.at,
        )

    def test_the_recorded_sample_is_a_microphone(self) -> None:
        """The sample lesson's track_published: the student's microphone."""
        event = parse_event((SAMPLES / "04-track_published.json").read_bytes())

        assert Track("TR_AMkz91Xc", "MICROPHONE") == event.track

    @pytest.mark.parametrize(
        ("source", "read"),
        [(1, "CAMERA"), (2, "MICROPHONE"), (3, "SCREEN_SHARE"), (9, "UNKNOWN"), (None, "UNKNOWN")],
    )
    def test_a_source_sent_as_a_number_or_left_out_is_named(
        self, source: object, read: str
    ) -> None:
        """Enum numbers are named; a missing source (zero, omitted) is UNKNOWN: stored,
        deciding nothing."""
        track = {"sid": "TR_1"} if source is None else {"sid": "TR_1", "source": source}

        assert Track("TR_1", read) == parse_event(_track_body(track)).track

    @pytest.mark.parametrize("track", [None, {}, {"sid": 7}, "TR_1", {"sid": "T" * 65}], ids=str)
    def test_a_track_event_without_a_usable_track_proves_nothing(self, track: object) -> None:
        """Kept in the inbox (never refused for what its fields hold), no evidence."""
        event = parse_event(_track_body(track))

        assert (None, None) == (event.track, derive_evidence(event, received_at=None))

    def test_a_track_event_without_a_participant_proves_nothing(self) -> None:
        """No participant sid or identity: no evidence."""
        event = parse_event(_track_body({"sid": "TR_1", "source": "CAMERA"}, participant={}))

        assert derive_evidence(event, received_at=None) is None

    def test_a_track_event_dated_far_after_its_receipt_decides_nothing(self) -> None:
        """As for joins: more than 5 min after receipt, where as_of is not allowed."""
        body = track_published(ROOM, "PA_1", "10", AT, source="CAMERA")

        assert (
            derive_evidence(parse_event(body), received_at=datetime(2025, 12, 1, 9, 0, tzinfo=UTC))
            is None
        )
