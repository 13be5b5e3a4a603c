"""The override form's defence against cross-site request forgery.

Two checks, both before anything is read or written:

- same origin: a POST whose `Origin` (or, lacking it, `Referer`) names another
  origin than the request's own (`request.url`, i.e. aiohttp's scheme and Host) is
  refused. Browsers send `Origin` on every cross-site form POST, so this alone
  stops the forged form; a POST with neither header is a non-browser client, and
  the token still decides.
- a token in the form: an HMAC, under a key derived from the service's own
  secrets, of the session, the principal and a six-hour bucket of the clock. It is
  stateless (nothing to store or expire), bound to one caller and one session (a
  token seen on one page is worth nothing on another), and needs no second cookie:
  a double-submit cookie can be planted by a sibling subdomain or a plain-HTTP
  site of the same host, which would defeat it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from aiohttp import web
from yarl import URL

from engine.auth import Principal
from engine.keys import SETTINGS
from rules.errors import Forbidden

FIELD = "csrf_token"
# A page left open through a long lesson must still submit: the token of the
# current bucket and of the one before are accepted, 6 to 12 hours in all.
BUCKET = timedelta(hours=6)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _key(request: web.Request) -> bytes:
    settings = request.app[SETTINGS]
    material = f"{settings.jwt_secret or ''}\0{settings.service_token or ''}".encode()
    # Derived, so the page's tokens can never be mistaken for a JWT's signature.
    return hmac.new(material, b"hudur attendance page csrf v1", hashlib.sha256).digest()


def _bucket(at: datetime) -> int:
    return int((at - _EPOCH) // BUCKET)


def _sign(key: bytes, principal: Principal, session_id: int, bucket: int) -> str:
    message = f"{session_id}|{principal.role}|{principal.user_id}|{principal.academy_id}|{bucket}"
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def form_token(request: web.Request, principal: Principal, session_id: int, at: datetime) -> str:
    """The token the page's forms carry for this caller and session."""
    return _sign(_key(request), principal, session_id, _bucket(at))


def check_form_token(
    request: web.Request,
    principal: Principal,
    session_id: int,
    at: datetime,
    token: str | None,
) -> None:
    """Forbidden unless `token` is this caller's for this session, of now or the
    bucket before."""
    if not token:
        raise Forbidden("the form carries no CSRF token: reload the page and submit it again")
    key, bucket = _key(request), _bucket(at)
    for candidate in (bucket, bucket - 1):
        expected = _sign(key, principal, session_id, candidate)
        if hmac.compare_digest(token.encode(), expected.encode()):
            return
    raise Forbidden("the form's CSRF token is invalid or expired: reload the page and try again")


def check_same_origin(request: web.Request) -> None:
    """Forbidden if the browser says the POST comes from another origin."""
    claimed = request.headers.get("Origin")
    header = "Origin"
    if claimed is None:
        claimed, header = request.headers.get("Referer"), "Referer"
    if claimed is None:
        return
    if _origin(claimed) != request.url.origin():
        raise Forbidden(f"cross-site request refused: the {header} is not this site's")


def _origin(value: str) -> URL | None:
    """The origin a header names; None for `null`, a relative or a garbled value."""
    try:
        url = URL(value.strip())
        return url.origin() if url.absolute and url.scheme in ("http", "https") else None
    except ValueError:
        return None
