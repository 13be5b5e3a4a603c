"""The one error tree: statuses, codes and the illegal-transition error."""

from __future__ import annotations

import pytest

from rules.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HudurError,
    IllegalTransition,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from rules.lifecycle import LifecycleEvent, Status


class TestHudurError:
    def test_base_is_an_internal_error(self) -> None:
        """The base class answers 500 internal_error and keeps message and details."""
        err = HudurError("boom", details={"x": 1})

        assert (500, "internal_error") == (err.status, err.code)
        assert "boom" == err.message == str(err)
        assert {"x": 1} == err.details

    def test_details_default_to_none(self) -> None:
        """Without details, details is None."""
        assert HudurError("boom").details is None

    def test_repr_names_class_message_and_details(self) -> None:
        """repr shows what a log line needs."""
        assert "NotFound('no session 7', details=None)" == repr(NotFound("no session 7"))

    @pytest.mark.parametrize(
        ("cls", "status", "code"),
        [
            (BadRequest, 400, "bad_request"),
            (Unauthorized, 401, "unauthorized"),
            (Forbidden, 403, "forbidden"),
            (NotFound, 404, "not_found"),
            (Conflict, 409, "conflict"),
            (PayloadTooLarge, 413, "payload_too_large"),
            (ValidationFailed, 422, "validation_failed"),
            (Unavailable, 503, "unavailable"),
        ],
    )
    def test_each_subclass_carries_its_http_hint(
        self, cls: type[HudurError], status: int, code: str
    ) -> None:
        """Every subclass is a HudurError with the contract's status and code."""
        err = cls("message")

        assert (status, code) == (err.status, err.code)
        assert isinstance(err, HudurError)


class TestIllegalTransition:
    def test_is_a_conflict_naming_status_and_event(self) -> None:
        """It is a 409 whose message and details name the status and the event."""
        err = IllegalTransition(Status.CANCELLED, LifecycleEvent.COMPLETE)

        assert isinstance(err, Conflict)
        assert (409, "illegal_transition") == (err.status, err.code)
        assert "cannot apply 'complete' to a session that is 'cancelled'" == err.message
        assert {"current_status": "cancelled", "event": "complete"} == err.details
        assert Status.CANCELLED == err.status_from
        assert LifecycleEvent.COMPLETE == err.event

    def test_details_hold_plain_strings(self) -> None:
        """Details are plain str values, ready for any JSON encoder."""
        err = IllegalTransition(Status.READY, LifecycleEvent.SCHEDULE)

        assert isinstance(err.details, dict)
        assert all(type(value) is str for value in err.details.values())
