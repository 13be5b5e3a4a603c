"""Webhook authenticity: the JWT in `Authorization` and the hash of the raw body.

LiveKit signs every delivery with an HS256 JWT whose `iss` is the API key and whose
`sha256` claim is the standard base64 of the SHA-256 of the exact body bytes
(LIVEKIT.md). `WebhookVerifier.verify` checks all of it on the raw bytes, before
anything is decoded, and raises `Unauthorized` naming the reason:

    missing_authorization  no header, or an empty one
    malformed_token        not a JWT at all
    bad_algorithm          `alg` other than HS256 (`none`, HS512, RS256, ...)
    bad_signature          signed with another secret
    wrong_key              `iss` is not the configured API key
    expired                `exp` more than the leeway in the past
    not_yet_valid          `nbf` more than the leeway in the future
    missing_claim          no `exp` or no `iss`
    missing_hash           no `sha256` claim
    hash_mismatch          the body is not the one that was signed (re-serialised, altered)

Token times are checked against the wall clock: they are a property of the
transport, like a TLS certificate's, not of the lesson timeline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import jwt

from rules.errors import Unauthorized

ALGORITHM = "HS256"
LEEWAY_SECONDS = 60


class WebhookVerifier:
    """Verifies LiveKit webhook deliveries signed with one API key and secret."""

    def __init__(self, api_key: str, api_secret: str, *, leeway: float = LEEWAY_SECONDS) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._leeway = leeway

    def verify(self, authorization: str | None, body: bytes) -> None:
        """Return quietly when `body` is exactly what the holder of the secret signed."""
        token = token_of(authorization)
        try:
            claims = jwt.decode(
                token,
                self._api_secret,
                algorithms=[ALGORITHM],
                issuer=self._api_key,
                leeway=self._leeway,
                options={"require": ["exp", "iss"]},
            )
        except jwt.InvalidTokenError as exc:
            raise _rejection(exc) from None
        claimed = claims.get("sha256")
        if not isinstance(claimed, str) or not claimed:
            raise _unauthorized("missing_hash", "the token carries no body hash")
        try:
            expected = base64.b64decode(claimed, validate=True)
        except (binascii.Error, ValueError):
            raise _unauthorized(
                "hash_mismatch", "the body hash in the token is not base64"
            ) from None
        if not hmac.compare_digest(expected, hashlib.sha256(body).digest()):
            raise _unauthorized("hash_mismatch", "the body does not match the signed hash")


def token_of(authorization: str | None) -> str:
    """The token of an Authorization header, bare or `Bearer `; 401 when there is none."""
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    if not value:
        raise _unauthorized("missing_authorization", "the Authorization header is missing")
    return value


def _unauthorized(reason: str, message: str) -> Unauthorized:
    return Unauthorized(message, details={"reason": reason})


_REASONS: tuple[tuple[type[jwt.InvalidTokenError], str, str], ...] = (
    # Order matters: the more specific classes first.
    (jwt.ExpiredSignatureError, "expired", "the token has expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid", "the token is not valid yet"),
    (jwt.InvalidIssuerError, "wrong_key", "the token was issued for another API key"),
    (jwt.MissingRequiredClaimError, "missing_claim", "the token lacks a required claim"),
    (jwt.InvalidAlgorithmError, "bad_algorithm", "the token is not signed with HS256"),
    (jwt.InvalidSignatureError, "bad_signature", "the token signature is invalid"),
    (jwt.DecodeError, "malformed_token", "the Authorization header is not a JWT"),
)


def _rejection(exc: jwt.InvalidTokenError) -> Unauthorized:
    for kind, reason, message in _REASONS:
        if isinstance(exc, kind):
            return _unauthorized(reason, message)
    return _unauthorized("invalid_token", "the token is invalid")
