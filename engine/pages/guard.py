"""What every answer of the teacher's page carries, and its errors for people.

The page is opened by people in browsers, often from an e-mail or the platform: its
answers (the page, the 303s, the errors) are never cached, never framed, and run
no script (the CSP allows the page's own nonce'd stylesheet and nothing else). An
error a browser gets is an HTML page saying what to do next, in the academy's
language when the caller is known, else in English; a client
asking for JSON, or a script posting the form, keeps the contract's error shape.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import cache, wraps
from pathlib import Path

import jinja2
from aiohttp import web

from engine.api.errors import HTTP_CODES, http_error
from engine.api.http import database
from engine.auth import Principal
from engine.middleware import error_response
from rules.errors import HudurError
from store.faults import DATABASE_FAULTS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

NONCE = web.RequestKey("page_nonce", str)
# The caller, once the page has authenticated it: the language of its errors.
PRINCIPAL = web.RequestKey("page_principal", Principal)
TEMPLATES = Path(__file__).parent / "templates"

ERRORS = {
    "en": {
        "title": "This page cannot be shown",
        "401": "Your link has expired or is not valid. Open the attendance page again "
        "from the platform, or ask the academy for a new link.",
        "403": "This account may not do this here. If you teach this session, open the "
        "page again from the platform with your own link; if you just submitted a form, "
        "reload the page and try again.",
        "404": "There is no such session for this account. Check the link, or open the "
        "page again from the platform.",
        "other": "The request could not be completed. Go back, reload the page and try again.",
        "detail": "Details",
    },
    "ar": {
        "title": "تعذّر عرض هذه الصفحة",
        "401": "انتهت صلاحية الرابط أو أنه غير صالح. افتح صفحة الحضور مرة أخرى من المنصة، "
        "أو اطلب رابطًا جديدًا من الأكاديمية.",
        "403": "لا يملك هذا الحساب صلاحية هذا الإجراء هنا. إن كنت معلم هذه الجلسة فافتح "
        "الصفحة من المنصة برابطك الخاص؛ وإن كنت أرسلت نموذجًا للتو فأعد تحميل الصفحة وحاول مجددًا.",
        "404": "لا توجد جلسة كهذه لهذا الحساب. تحقّق من الرابط أو افتح الصفحة من المنصة مرة أخرى.",
        "other": "تعذّر إكمال الطلب. ارجع وأعد تحميل الصفحة ثم حاول مجددًا.",
        "detail": "التفاصيل",
    },
}


def content_security_policy(nonce: str) -> str:
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def secure(response: web.StreamResponse, nonce: str) -> None:
    response.headers["Content-Security-Policy"] = content_security_policy(nonce)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The first address held `?token=`: no other site ever sees where people came from.
    response.headers["Referrer-Policy"] = "same-origin"


def wants_html(request: web.Request) -> bool:
    """A browser's navigation or form post; not a client asking for JSON, nor a
    script posting the form without saying what it accepts."""
    accept = request.headers.get("Accept", "")
    if "text/html" in accept:
        return True
    return request.method in ("GET", "HEAD") and "application/json" not in accept


def guarded(handler: Handler) -> Handler:
    """`handler` with the page's headers on every answer and its errors for people."""

    @wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        nonce = secrets.token_urlsafe(18)
        request[NONCE] = nonce
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:  # the 303s
                secure(exc, nonce)
                raise
            response = await _error(
                request, exc.status, HTTP_CODES.get(exc.status, "http_error"), exc.reason, None
            )
        except HudurError as exc:
            status, code = http_error(exc)
            response = await _error(request, status, code, exc.message, exc.details)
        secure(response, nonce)
        return response

    return wrapped


async def _error(
    request: web.Request, status: int, code: str, message: str, details: object
) -> web.Response:
    if not wants_html(request):
        return error_response(status, code, message, details)
    lang = await _language(request)
    words = ERRORS[lang]
    html = (
        templates()
        .get_template("error.html")
        .render(
            lang=lang,
            direction="rtl" if lang == "ar" else "ltr",
            w=words,
            advice=words.get(str(status), words["other"]),
            status=status,
            code=code,
            message=message,
            nonce=request[NONCE],
        )
    )
    return web.Response(status=status, text=html, content_type="text/html")


async def _language(request: web.Request) -> str:
    principal = request.get(PRINCIPAL)
    if principal is not None and principal.academy_id is not None:
        try:
            async with database(request).uow() as uow:
                academy = await uow.academies.get(principal.academy_id)
                locale = academy.locale if academy is not None else None
        except DATABASE_FAULTS:
            locale = None  # the error itself matters more than its language
        if locale in ERRORS:
            return str(locale)
    return "en"


@cache
def templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
