"""Signing in and out on HTML: office staff with a password, collectors with their phone's secret and a PIN.

A collector's phone remembers its device secret in a long-lived, HttpOnly cookie after the
first sign-in, so that day to day the collector types only their username and PIN.
Login forms carry a double-submit CSRF token (cookie + hidden field).
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from regie.auth.principal import SESSION_COOKIE
from regie.frontends.graphql import GraphQLFailed, run
from regie.frontends.html import csrf
from regie.frontends.html.i18n import N_
from regie.frontends.html.templates import gettext_for, page

DOCUMENTS = Path(__file__).with_name("graphql")
CSRF_COOKIE = "regie_csrf"
DEVICE_COOKIE = "regie_device"
DEVICE_COOKIE_DAYS = 400

REFUSED = N_(
    "Wrong username, phone code, PIN or password, or account locked after too many attempts."
)
RATE_LIMITED = N_("Too many attempts. Try again in a few minutes.")
FORM_EXPIRED = N_("The form has expired. Please try again.")


def safe_next(target: str | None) -> str:
    """Only a path of this site: never an absolute or protocol-relative URL (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _secure(request: Request) -> bool:
    return not request.app.state.settings.is_development


def _form_page(
    request: Request,
    error: str | None = None,
    status_code: int = 200,
    *,
    next_path: str | None = None,
    office: bool = False,
) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = page(
        request,
        "sign_in.html",
        status_code,
        csrf=token,
        error=gettext_for(request)(error) if error else None,
        next=safe_next(next_path if next_path is not None else request.query_params.get("next")),
        remembered_device=bool(request.cookies.get(DEVICE_COOKIE)),
        office=office,
    )
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


async def sign_in_page(request: Request) -> Response:
    if getattr(request.state, "viewer", None) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _form_page(request)


async def sign_in(request: Request) -> Response:
    form = await request.form()
    expected = request.cookies.get(CSRF_COOKIE, "")
    next_path = str(form.get("next", "/"))
    office = form.get("kind") != "collector"
    if not expected or not hmac.compare_digest(expected, str(form.get("csrf", ""))):
        return _form_page(request, FORM_EXPIRED, 400, next_path=next_path, office=office)
    username = str(form.get("username", ""))
    secret = str(form.get("secret", ""))
    device = str(form.get("device", "")) or request.cookies.get(DEVICE_COOKIE, "")
    try:
        if form.get("kind") == "collector":
            data = await run(
                request,
                DOCUMENTS / "sign_in_collector.graphql",
                {"username": username, "deviceSecret": device, "pin": secret},
                surface="html",
            )
            opened = data["signInCollector"]
        else:
            data = await run(
                request,
                DOCUMENTS / "sign_in.graphql",
                {"username": username, "password": secret},
                surface="html",
            )
            opened = data["signIn"]
    except GraphQLFailed as failure:
        if "RATE_LIMITED" in failure.codes:
            return _form_page(request, RATE_LIMITED, 429, next_path=next_path, office=office)
        return _form_page(request, REFUSED, 401, next_path=next_path, office=office)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, opened["token"], httponly=True, samesite="strict", secure=_secure(request)
    )
    if form.get("kind") == "collector" and form.get("remember") and device:
        response.set_cookie(
            DEVICE_COOKIE,
            device,
            max_age=DEVICE_COOKIE_DAYS * 86400,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/connexion",
        )
    response.delete_cookie(CSRF_COOKIE)
    return response


async def sign_out(request: Request) -> Response:
    if getattr(request.state, "viewer", None) is not None:
        # The session cookie is SameSite=Strict, and the form carries the session's CSRF token.
        if not csrf.valid(request, await request.form()):
            _ = gettext_for(request)
            return page(request, "message.html", 400, title=_(FORM_EXPIRED), text=None)
        await run(request, DOCUMENTS / "sign_out.graphql", surface="html")
    response = RedirectResponse("/connexion", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


routes = [
    Route("/connexion", sign_in_page, methods=["GET"]),
    Route("/connexion", sign_in, methods=["POST"]),
    Route("/deconnexion", sign_out, methods=["POST"]),
]
