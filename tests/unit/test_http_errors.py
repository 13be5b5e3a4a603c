"""The HTTP layer's one error table: each class of the tree, its status and its code."""

from __future__ import annotations

import pytest

from engine.api.errors import ERRORS, HttpError, http_error
from rules import errors
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

# CONTRACT 5: the status and the `error.code` of every refusal.
CONTRACT = {
    HudurError: (500, "internal_error"),
    BadRequest: (400, "bad_request"),
    Unauthorized: (401, "unauthorized"),
    Forbidden: (403, "forbidden"),
    NotFound: (404, "not_found"),
    Conflict: (409, "conflict"),
    IllegalTransition: (409, "illegal_transition"),
    PayloadTooLarge: (413, "payload_too_large"),
    ValidationFailed: (422, "validation_failed"),
    Unavailable: (503, "unavailable"),
}


def tree() -> set[type[HudurError]]:
    """Every class of the error tree, as `rules.errors` exports it."""
    exported = (getattr(errors, name) for name in errors.__all__)
    return {cls for cls in exported if isinstance(cls, type) and issubclass(cls, HudurError)}


class TestErrorTable:
    def test_every_class_of_the_tree_has_exactly_one_entry(self) -> None:
        """The table's keys are the tree's classes, no more and no fewer."""
        assert tree() == set(ERRORS)
        assert len(tree()) == len(ERRORS)

    def test_the_statuses_and_codes_are_the_contracts(self) -> None:
        """Each entry is the status and snake_case code CONTRACT 5 gives."""
        assert CONTRACT == {cls: tuple(entry) for cls, entry in ERRORS.items()}

    @pytest.mark.parametrize(
        "cls", sorted(set(CONTRACT) - {IllegalTransition}, key=lambda c: c.__name__)
    )
    def test_an_error_answers_with_its_classs_entry(self, cls: type[HudurError]) -> None:
        """A plain instance of each class answers with that class's entry."""
        assert HttpError(*CONTRACT[cls]) == http_error(cls("message"))

    def test_the_most_specific_class_wins(self) -> None:
        """An illegal transition is a conflict, yet answers as itself."""
        err = IllegalTransition(Status.CANCELLED, LifecycleEvent.COMPLETE)

        assert HttpError(409, "illegal_transition") == http_error(err)

    def test_a_subclass_without_an_entry_answers_as_its_parent(self) -> None:
        """A class outside the table falls back to its nearest ancestor's entry."""

        class Gone(NotFound):
            """A class the table does not list."""

        assert HttpError(404, "not_found") == http_error(Gone("gone"))
