"""The one error tree: messages, details, the illegal-transition error, and no HTTP."""

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
    def test_base_keeps_message_and_details(self) -> None:
        """The base class keeps its message and details."""
        err = HudurError("boom", details={"x": 1})

        assert "boom" == err.message == str(err)
        assert {"x": 1} == err.details

    def test_details_default_to_none(self) -> None:
        """Without details, details is None."""
        assert HudurError("boom").details is None

    def test_repr_names_class_message_and_details(self) -> None:
        """repr shows what a log line needs."""
        assert "NotFound('no session 7', details=None)" == repr(NotFound("no session 7"))

    @pytest.mark.parametrize(
        "cls",
        [
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            ValidationFailed,
            Unavailable,
        ],
    )
    def test_each_subclass_is_a_hudur_error_without_http(self, cls: type[HudurError]) -> None:
        """Every subclass is a HudurError; none carries an HTTP status or code."""
        err = cls("message")

        assert isinstance(err, HudurError)
        assert (False, False) == (hasattr(err, "status"), hasattr(err, "code"))


class TestIllegalTransition:
    def test_is_a_conflict_naming_status_and_event(self) -> None:
        """It is a conflict whose message and details name the status and the event."""
        err = IllegalTransition(Status.CANCELLED, LifecycleEvent.COMPLETE)

        assert isinstance(err, Conflict)
        assert "cannot apply 'complete' to a session that is 'cancelled'" == err.message
        assert {"current_status": "cancelled", "event": "complete"} == err.details
        assert Status.CANCELLED == err.status_from
        assert LifecycleEvent.COMPLETE == err.event

    def test_details_hold_plain_strings(self) -> None:
        """Details are plain str values, ready for any JSON encoder."""
        err = IllegalTransition(Status.READY, LifecycleEvent.SCHEDULE)

        assert isinstance(err.details, dict)
        assert all(type(value) is str for value in err.details.values())
