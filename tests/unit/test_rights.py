"""Rights declared on a route: the service always passes, a role outside them is a 403."""

from __future__ import annotations

import pytest

from engine.auth import EVERYONE, SERVICE_ONLY, Principal, Rights, only
from rules.errors import Forbidden

SERVICE = Principal(role="service")
ADMIN = Principal(role="admin", user_id=1, academy_id=1)
TEACHER = Principal(role="teacher", user_id=5, academy_id=1)
STUDENT = Principal(role="student", user_id=10, academy_id=1)


class TestRights:
    @pytest.mark.parametrize("rights", [EVERYONE, SERVICE_ONLY, only("admin"), only("teacher")])
    def test_the_service_always_passes(self, rights: Rights) -> None:
        """The platform's service token passes any rights, and comes back as it went in."""
        assert SERVICE is rights.check(SERVICE)

    def test_a_listed_role_passes(self) -> None:
        """A principal whose role the rights list comes back unchanged."""
        assert TEACHER is only("admin", "teacher").check(TEACHER)

    def test_a_role_outside_the_rights_is_forbidden_by_name(self) -> None:
        """A role the rights do not list is refused, the message naming the role."""
        with pytest.raises(Forbidden) as refused:
            only("admin", "teacher").check(STUDENT)

        assert "a student may not do this" == refused.value.message

    def test_service_only_rights_refuse_every_user(self) -> None:
        """Service-only rights refuse even an admin, saying only the service may."""
        with pytest.raises(Forbidden) as refused:
            SERVICE_ONLY.check(ADMIN)

        assert "only the platform's service token may do this" == refused.value.message

    def test_everyone_is_any_valid_token(self) -> None:
        """EVERYONE lets every role through: what a caller may touch is the handler's."""
        assert [ADMIN, TEACHER, STUDENT] == [EVERYONE.check(p) for p in (ADMIN, TEACHER, STUDENT)]

    def test_names_put_the_service_first_then_the_roles_in_order(self) -> None:
        """The names shown in the document: service first, then admin, teacher, student."""
        assert (["service", "admin", "teacher"], ["service"]) == (
            only("teacher", "admin").names,
            SERVICE_ONLY.names,
        )
