"""Who is calling: the platform's service token, or a user's HS256 JWT (CONTRACT 5).

principal = authenticate(request)        # 401 unless a valid token
principal.require_service()              # 403 unless the platform itself
principal.require_roles("admin")         # 403 unless one of these roles (service passes)
principal.check_academy(academy_id)      # 404 for another academy's objects
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

import jwt
from aiohttp import web

from engine.keys import SETTINGS
from rules.actors import SERVICE, Actor
from rules.errors import Forbidden, NotFound, Unauthorized

Role = Literal["service", "admin", "teacher", "student"]
ROLES = ("admin", "teacher", "student")


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    user_id: int | None = None
    academy_id: int | None = None

    @property
    def is_service(self) -> bool:
        return self.role == "service"

    @property
    def actor(self) -> Actor:
        """How history and audit rows name this caller."""
        if self.is_service or self.user_id is None:
            return SERVICE
        return Actor.user(self.user_id)

    def require_service(self) -> None:
        if not self.is_service:
            raise Forbidden("only the platform's service token may do this")

    def require_roles(self, *roles: Role) -> None:
        if not self.is_service and self.role not in roles:
            raise Forbidden(f"a {self.role} may not do this")

    def sees(self, academy_id: int) -> bool:
        """Whether objects of `academy_id` exist for this caller (the service sees all)."""
        return self.is_service or self.academy_id == academy_id

    def check_academy(self, academy_id: int) -> None:
        """Another academy's objects do not exist for this caller."""
        if not self.sees(academy_id):
            raise NotFound("not found")


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def principal_from_token(
    token: str, *, service_token: str | None, jwt_secret: str | None
) -> Principal:
    if service_token and hmac.compare_digest(token.encode(), service_token.encode()):
        return Principal(role="service")
    if not jwt_secret:
        raise Unauthorized("invalid token")
    try:
        claims = jwt.decode(
            token, jwt_secret, algorithms=["HS256"], options={"require": ["sub", "role", "exp"]}
        )
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    role = claims.get("role")
    academy_id = claims.get("academy_id")
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise Unauthorized("invalid token: sub must be a user id") from exc
    if role not in ROLES or not isinstance(academy_id, int):
        raise Unauthorized("invalid token: role or academy_id missing or unknown")
    return Principal(role=role, user_id=user_id, academy_id=academy_id)


def authenticate(request: web.Request, token: str | None = None) -> Principal:
    """The caller of this request; raises Unauthorized (401) without a valid token."""
    token = token or bearer_token(request)
    if token is None:
        raise Unauthorized("missing bearer token")
    settings = request.app[SETTINGS]
    return principal_from_token(
        token, service_token=settings.service_token, jwt_secret=settings.jwt_secret
    )
