"""The platform's user tokens: what `sub` may hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from engine.auth import principal_from_token
from rules.errors import Unauthorized
from tests.support.auth import JWT_SECRET


def token_with(sub: object) -> str:
    claims = {
        "sub": sub,
        "role": "teacher",
        "academy_id": 1,
        "exp": datetime.now(UTC) + timedelta(hours=1),
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def principal(sub: object) -> object:
    return principal_from_token(token_with(sub), service_token=None, jwt_secret=JWT_SECRET)


class TestSubject:
    def test_an_integer_sub_is_the_user_id(self) -> None:
        """`"sub": 10` (an integer, as some issuers write ids) is user 10."""
        assert 10 == principal(10).user_id  # type: ignore[attr-defined]

    def test_a_decimal_string_sub_is_the_user_id(self) -> None:
        """`"sub": "10"`, the JWT standard's string form, is user 10 as before."""
        assert 10 == principal("10").user_id  # type: ignore[attr-defined]

    @pytest.mark.parametrize("sub", ["010", "١٠", "10.0", " 10", "ten", "", 0, -3, 1.5, True])
    def test_anything_else_is_refused_saying_what_sub_must_be(self, sub: object) -> None:
        """401, with a message that names what a `sub` may be."""
        with pytest.raises(Unauthorized) as refused:
            principal(sub)
        assert "sub must be the user id" in refused.value.message
