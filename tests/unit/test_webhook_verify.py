"""Webhook authenticity (webhooks.verify): the JWT and the hash of the raw bytes."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest

from rules.errors import Unauthorized
from tests.support.auth import LIVEKIT_KEY, LIVEKIT_SECRET
from tests.support.signed_requests import body_hash, sign
from webhooks.verify import WebhookVerifier

BODY = b'{"event":"room_started", "id":"EV_1","createdAt":"1764583200"}'


@pytest.fixture(name="verifier")
def fixture_verifier() -> WebhookVerifier:
    return WebhookVerifier(LIVEKIT_KEY, LIVEKIT_SECRET)


def _reason(verifier: WebhookVerifier, authorization: str | None, body: bytes = BODY) -> str:
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(authorization, body)
    assert isinstance(caught.value.details, dict)
    return str(caught.value.details["reason"])


class TestWebhookVerifier:
    def test_a_token_signed_by_livekit_api_verifies(self, verifier: WebhookVerifier) -> None:
        """AccessToken(...).with_sha256(...) as LiveKit signs: no complaint."""
        verifier.verify(sign(BODY), BODY)

    @pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
    def test_the_bearer_scheme_is_optional_and_case_blind(
        self, verifier: WebhookVerifier, scheme: str
    ) -> None:
        """`Bearer <jwt>` is the same token as the bare one."""
        verifier.verify(f"{scheme} {sign(BODY)}", BODY)

    def test_one_changed_byte_of_the_body_fails_the_hash(self, verifier: WebhookVerifier) -> None:
        """The hash covers the exact bytes: a space more is another body."""
        assert "hash_mismatch" == _reason(verifier, sign(BODY), BODY.replace(b", ", b","))

    def test_the_leeway_is_sixty_seconds(self, verifier: WebhookVerifier) -> None:
        """Expired 50 s ago passes; expired 70 s ago does not."""
        now = int(time.time())

        def token(exp: int) -> str:
            claims = {"iss": LIVEKIT_KEY, "nbf": now - 600, "exp": exp, "sha256": body_hash(BODY)}
            return jwt.encode(claims, LIVEKIT_SECRET, algorithm="HS256")

        verifier.verify(token(now - 50), BODY)
        assert "expired" == _reason(verifier, token(now - 70))

    def test_a_token_for_another_api_key_is_refused_even_with_the_right_secret(
        self, verifier: WebhookVerifier
    ) -> None:
        """`iss` must be the configured API key."""
        assert "wrong_key" == _reason(verifier, sign(BODY, key="APIsomeoneelse"))

    def test_a_token_with_a_negative_ttl_is_expired(self, verifier: WebhookVerifier) -> None:
        """Five minutes in the past is far outside the leeway."""
        assert "expired" == _reason(verifier, sign(BODY, ttl=timedelta(minutes=-5)))

    @pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer   "])
    def test_no_token_is_missing_authorization(
        self, verifier: WebhookVerifier, authorization: str | None
    ) -> None:
        """Nothing to verify."""
        assert "missing_authorization" == _reason(verifier, authorization)

    @pytest.mark.parametrize(
        ("algorithm", "secret"),
        [("HS512", LIVEKIT_SECRET * 2), ("HS384", LIVEKIT_SECRET * 2), ("none", "")],
    )
    def test_a_verified_header_lets_no_other_header_through(
        self,
        verifier: WebhookVerifier,
        algorithm: str,
        secret: str,
    ) -> None:
        """The verifier remembers the header of the last token it verified; a token
        with any other header is still decoded and refused for its algorithm."""
        verifier.verify(sign(BODY), BODY)
        claims = {"iss": LIVEKIT_KEY, "exp": int(time.time()) + 600, "sha256": body_hash(BODY)}
        token = jwt.encode(claims, secret or None, algorithm=algorithm)
        assert "bad_algorithm" == _reason(verifier, token)
        verifier.verify(sign(BODY), BODY)
