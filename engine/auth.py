"""Who is calling: the platform's service token, or a user's HS256 JWT (CONTRACT 5).

Each route declares its `Rights` as data (`Route(..., rights=only("admin"))`), and
`rights_middleware` checks them before the handler runs, in the contract's order::

    no or bad token                          401  (authenticate)
    a role outside the route's rights        403  (Rights.check; the service always passes)
    ---- the handler ----
    principal = authenticate(request)        # the principal already checked
    principal.check_academy(academy_id)      # 404 for another academy's objects
    check_own_teaching(principal, session)   # 403 per object (engine.api.access)
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import jwt
from aiohttp import web

from engine.keys import SETTINGS
from rules.actors import SERVICE, Actor
from rules.errors import Forbidden, NotFound, Unauthorized

Role = Literal["service", "admin", "teacher", "student"]
UserRole = Literal["admin", "teacher", "student"]
ROLES: tuple[UserRole, ...] = ("admin", "teacher", "student")


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
        # PyJWT (>= 2.10) refuses a `sub` that is not a string; the platform's user ids
        # are integers and some issuers put them in as such, so `sub` is checked below.
        claims = jwt.decode(
            token,
            jwt_secret,
            algorithms=["HS256"],
            options={"require": ["sub", "role", "exp"], "verify_sub": False},
        )
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    role = claims.get("role")
    academy_id = claims.get("academy_id")
    user_id = _user_id(claims["sub"])
    if role not in ROLES or not isinstance(academy_id, int):
        raise Unauthorized("invalid token: role or academy_id missing or unknown")
    return Principal(role=role, user_id=user_id, academy_id=academy_id)


_DECIMAL_ID = re.compile(r"[1-9][0-9]*", re.ASCII)


def _user_id(sub: object) -> int:
    """`sub` as the platform's user id: an integer, or its decimal string (`10`, not
    `010`, `١٠` or `10.0`)."""
    if isinstance(sub, int) and not isinstance(sub, bool) and sub > 0:
        return sub
    if isinstance(sub, str) and _DECIMAL_ID.fullmatch(sub):
        return int(sub)
    raise Unauthorized(
        "invalid token: sub must be the user id, an integer or a string of its decimal digits"
    )


def authenticate(request: web.Request, token: str | None = None) -> Principal:
    """The caller of this request; raises Unauthorized (401) without a valid token.

    On a route with declared rights this is the principal `rights_middleware` has
    already checked; `token` names another credential (the page's cookie or link).
    """
    if token is None and PRINCIPAL in request:
        return request[PRINCIPAL]
    return _principal_of(request, token or bearer_token(request))


def _principal_of(request: web.Request, token: str | None) -> Principal:
    if token is None:
        raise Unauthorized("missing bearer token")
    settings = request.app[SETTINGS]
    return principal_from_token(
        token, service_token=settings.service_token, jwt_secret=settings.jwt_secret
    )


# --- rights declared on the routes ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rights:
    """Who may call a route at all: the platform's service token always, and the user
    roles in `roles` (none: the service only). Which objects a caller may touch is
    decided later, by the handler, once it has them."""

    roles: frozenset[UserRole] = frozenset()

    @property
    def service_only(self) -> bool:
        return not self.roles

    @property
    def names(self) -> list[Role]:
        """The roles allowed, service first, in the order of `ROLES`."""
        return ["service", *(role for role in ROLES if role in self.roles)]

    def check(self, principal: Principal) -> Principal:
        """`principal` if these rights allow it; Forbidden (403) otherwise."""
        if principal.is_service:
            return principal
        if self.service_only:
            raise Forbidden("only the platform's service token may do this")
        if principal.role not in self.roles:
            raise Forbidden(f"a {principal.role} may not do this")
        return principal


def only(*roles: UserRole) -> Rights:
    """Rights for the service and these user roles."""
    return Rights(frozenset(roles))


EVERYONE = only(*ROLES)  # any valid token; the handler checks the objects
SERVICE_ONLY = Rights()

# The rights of every bearer route, by (method, path in its OpenAPI form); set by
# `engine.api.mount.setup` from the route declarations.
RIGHTS: web.AppKey[Mapping[tuple[str, str], Rights]] = web.AppKey("rights")
PRINCIPAL = web.RequestKey("principal", Principal)


def authorize(request: web.Request, rights: Rights) -> Principal:
    """401 without a valid token, then 403 outside `rights`; the principal is kept on
    the request, for the handler's `authenticate(request)`."""
    principal = rights.check(_principal_of(request, bearer_token(request)))
    request[PRINCIPAL] = principal
    return principal


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def rights_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Check the matched route's declared rights before its handler runs. Requests
    that match no route, and routes without bearer rights (public, the webhook's own
    signature, the page's cookie), go straight on."""
    route = request.match_info.route
    if request.match_info.http_exception is None and route.resource is not None:
        rights = request.app[RIGHTS].get((route.method, route.resource.canonical))
        if rights is not None:
            authorize(request, rights)
    return await handler(request)
