"""Reading WebhookEvent bodies (webhooks.parse) and the evidence they prove
(webhooks.derive): pure, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from livekit.protocol import models

from rules.errors import BadRequest
from rules.evidence import ParticipantJoined, ParticipantLeft, RoomFinished
from tests.support.livekit import (
    OBSERVER,
    aborted,
    egress_started,
    joined,
    left,
    room_finished,
    room_started,
)
from webhooks.derive import derive_evidence
from webhooks.parse import parse_event

SAMPLES = Path(__file__).parent.parent / "samples"
ROOM = "QSE-1-000001"
AT = datetime(2025, 12, 1, 10, 3, 0, 907000, tzinfo=UTC)


def _raw(**fields: object) -> bytes:
    base: dict[str, object] = {"event": "room_started", "id": "EV_1", "createdAt": "1764583200"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None}).encode()


def _problems(body: bytes) -> object:
    with pytest.raises(BadRequest) as caught:
        parse_event(body)
    return caught.value.details


class TestLiveKitForm:
    def test_the_builders_write_int64_as_strings_camel_case_and_omit_zero_values(self) -> None:
        """The support module speaks LiveKit's JSON: `"joinedAtMs": "…"`, no `kind`."""
        data = json.loads(joined(ROOM, "PA_1", "10", AT))
        assert "1764583380907" == data["participant"]["joinedAtMs"]
        assert "1764583381" == data["createdAt"]
        assert "kind" not in data["participant"]
        assert "ACTIVE" == data["participant"]["state"]

    def test_odd_spacing_adds_spaces_after_commas_but_never_inside_strings(self) -> None:
        """The same JSON value, with LiveKit's stray spaces, and strings untouched."""
        same = {"metadata": '{"a":1,"b":2}', "event_id": "EV_x"}
        plain = joined(ROOM, "PA_1", "10", AT, **same)
        spaced = joined(ROOM, "PA_1", "10", AT, **same, odd_spacing=True)
        assert json.loads(plain) == json.loads(spaced)
        assert b", " in spaced and b", " not in plain
        assert '{"a":1,"b":2}' == json.loads(spaced)["participant"]["metadata"]


class TestParse:
    @pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.stem)
    def test_every_recorded_sample_parses(self, path: Path) -> None:
        """LiveKit's own bodies, unknown fields (`roomEndReason`, `turnPassword`) and all."""
        event = parse_event(path.read_bytes())
        assert event.id.startswith("EV_")
        assert ROOM == event.room_name

    def test_a_join_reads_its_times_and_participant(self) -> None:
        """createdAt in seconds, joinedAtMs to the millisecond."""
        event = parse_event(joined(ROOM, "PA_1", "10_Ali", AT, event_id="EV_j"))
        assert ("EV_j", "participant_joined") == (event.id, event.event)
        assert datetime(2025, 12, 1, 10, 3, 1, tzinfo=UTC) == event.created_at
        assert event.participant is not None
        assert ("PA_1", "10_Ali", "STANDARD", AT) == (
            event.participant.sid,
            event.participant.identity,
            event.participant.kind,
            event.participant.joined_at,
        )

    def test_int64_values_may_also_come_as_numbers(self) -> None:
        """Protobuf JSON parsers accept both; so do we."""
        assert (
            datetime(2025, 12, 1, 10, tzinfo=UTC)
            == parse_event(_raw(createdAt=1764583200)).created_at
        )

    def test_joined_at_seconds_is_used_when_milliseconds_are_missing(self) -> None:
        """Older servers send only joinedAt."""
        participant = {"sid": "PA_1", "identity": "10", "joinedAt": "1764583380"}
        body = _raw(event="participant_joined", room={"name": ROOM}, participant=participant)
        event = parse_event(body)
        assert event.participant is not None
        assert datetime(2025, 12, 1, 10, 3, tzinfo=UTC) == event.participant.joined_at

    def test_an_egress_event_takes_its_room_from_the_egress_info(self) -> None:
        """egress_* carry no `room`, but egressInfo.roomName."""
        assert ROOM == parse_event(egress_started(ROOM, AT)).room_name

    @pytest.mark.parametrize(
        ("kind", "metadata", "decisive"),
        [
            (None, "", True),
            ("STANDARD", '{"role":"student"}', True),
            (0, "", True),
            ("AGENT", "", False),
            ("EGRESS", "", False),
            ("A_KIND_FROM_THE_FUTURE", "", False),
            (4, "", False),
            ("STANDARD", OBSERVER, False),
            ("STANDARD", "not json", True),
            ("STANDARD", '["role", "observer"]', True),
        ],
    )
    def test_only_standard_participants_that_are_not_observers_are_decisive(
        self, kind: object, metadata: str, decisive: bool
    ) -> None:
        """Absent kind means STANDARD; any other kind, even one not known yet, and an
        observer's metadata make a participant count for nothing."""
        participant: dict[str, object] = {"sid": "PA_1", "identity": "10", "metadata": metadata}
        if kind is not None:
            participant["kind"] = kind
        body = _raw(event="participant_joined", room={"name": ROOM}, participant=participant)
        event = parse_event(body)
        assert event.participant is not None
        assert decisive is event.participant.decisive


class TestNotAWebhookEvent:
    @pytest.mark.parametrize(
        ("body", "problems"),
        [
            (_raw(id=None), {"id": "required"}),
            (_raw(event=None), {"event": "required"}),
            (_raw(createdAt=None), {"createdAt": "required"}),
            (_raw(createdAt="1_764_583_200"), {"createdAt": "must be an int64"}),
            (_raw(createdAt="١٧٦٤٥٨٣٢٠٠"), {"createdAt": "must be an int64"}),
            (_raw(createdAt="99999999999999999"), {"createdAt": "out of range"}),
            (_raw(createdAt="-5"), {"createdAt": "out of range"}),
            (_raw(createdAt=True), {"createdAt": "must be an int64"}),
            (_raw(id="EV_" + "x" * 62), {"id": "longer than 64 characters"}),
            (_raw(id=7), {"id": "must be a string"}),
            (
                _raw(
                    event="participant_joined",
                    room={"name": ROOM},
                    participant={"sid": "PA_1", "identity": "9" * 30},
                ),
                {"participant.identity": "user id out of range"},
            ),
            (
                _raw(
                    event="participant_joined",
                    room={"name": ROOM},
                    participant={"sid": "PA_1", "identity": "10", "kind": ["AGENT"]},
                ),
                {"participant.kind": "must be an enum name"},
            ),
        ],
        ids=[
            "no-id",
            "no-event",
            "no-time",
            "underscores",
            "arabic-digits",
            "far-future",
            "negative",
            "bool",
            "long-id",
            "id-number",
            "huge-user-id",
            "kind-list",
        ],
    )
    def test_a_body_without_what_hudur_reads_is_refused_naming_every_problem(
        self, body: bytes, problems: object
    ) -> None:
        """BadRequest with `details` mapping each bad field to what is wrong with it."""
        assert problems == _problems(body)

    @pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"nul", b'"a string"', b"null"])
    def test_a_body_that_is_not_a_json_object_is_refused(self, body: bytes) -> None:
        """Not JSON, or JSON but not an object."""
        with pytest.raises(BadRequest):
            parse_event(body)


class TestDerive:
    def test_a_join_is_evidence_at_joined_at_ms(self) -> None:
        """The moment the participant connected, not when the event was queued."""
        derived = derive_evidence(
            parse_event(joined(ROOM, "PA_1", "10_Ali", AT, event_id="EV_j")), received_at=None
        )
        assert derived is not None
        join = derived.evidence
        assert isinstance(join, ParticipantJoined)
        assert ("EV_j", "webhook", "joined", ROOM, "PA_1", "10_Ali", 10, AT, True) == (
            join.event_id,
            derived.source,
            join.kind,
            derived.room_name,
            join.sid,
            join.identity,
            derived.user_id,
            join.at,
            join.decisive,
        )
        assert "RM_hycBMAjmt6Ub" == join.room_sid

    def test_a_join_without_joined_at_happens_at_the_event_time(self) -> None:
        """No joinedAt(Ms) at all: createdAt is the best there is."""
        body = _raw(
            event="participant_joined",
            room={"name": ROOM},
            participant={"sid": "PA_1", "identity": "10"},
        )
        derived = derive_evidence(parse_event(body), received_at=None)
        assert derived is not None
        assert datetime(2025, 12, 1, 10, tzinfo=UTC) == derived.evidence.at

    def test_a_leave_happens_at_the_event_time_and_keeps_when_it_joined(self) -> None:
        """`at` = createdAt; `joined_at` = the participant's joinedAtMs."""
        leave = AT + timedelta(minutes=30)
        derived = derive_evidence(
            parse_event(left(ROOM, "PA_1", "10", leave, joined_at=AT)), received_at=None
        )
        assert derived is not None
        evidence = derived.evidence
        assert isinstance(evidence, ParticipantLeft)
        assert ("left", leave.replace(microsecond=0), AT) == (
            evidence.kind,
            evidence.at,
            evidence.joined_at,
        )

    def test_an_aborted_connection_and_a_room_end_happen_at_the_event_time(self) -> None:
        """Both at createdAt; the room end has no participant."""
        abort = derive_evidence(parse_event(aborted(ROOM, "PA_1", "10", AT)), received_at=None)
        finish = derive_evidence(
            parse_event(room_finished(ROOM, AT, room_sid="RM_2")), received_at=None
        )
        assert abort is not None and finish is not None
        assert ("aborted", AT.replace(microsecond=0)) == (abort.evidence.kind, abort.evidence.at)
        assert isinstance(finish.evidence, RoomFinished)
        assert ("room_finished", "RM_2", None) == (
            finish.evidence.kind,
            finish.evidence.room_sid,
            finish.user_id,
        )

    def test_an_agent_is_evidence_that_decides_nothing(self) -> None:
        """Kept, with decisive False."""
        body = joined(ROOM, "PA_1", "agent-7", AT, kind=models.ParticipantInfo.Kind.AGENT)
        derived = derive_evidence(parse_event(body), received_at=None)
        assert derived is not None
        assert isinstance(derived.evidence, ParticipantJoined)
        assert (False, None) == (derived.evidence.decisive, derived.user_id)

    @pytest.mark.parametrize(
        "body",
        [
            room_started(ROOM, AT),
            egress_started(ROOM, AT),
        ],
        ids=["room_started", "egress_started"],
    )
    def test_other_events_prove_nothing(self, body: bytes) -> None:
        """Stored in the inbox, no evidence."""
        assert derive_evidence(parse_event(body), received_at=None) is None
