"""The collector's pages: search (name or code), results, a tenant's account, their payments.

Built for 4G feature phones (240×320, keypad, no JavaScript) as much as for smartphones and
desktops: every page is one request of at most 3 kB of markup plus one cached stylesheet.

- ``GET /`` (signed in) and ``GET /recherche``: the search form.
- ``POST /recherche``: the results. The text searched for is a name, personal data: it travels in
  the request body only, never in a URL (which browsers, proxies and access logs keep). A single
  match redirects to its account (the URL then holds the tenant code only).
- ``GET /locataires/{code}``: the account and the latest payments.
- ``GET /locataires/{code}/paiements?page=N``: the payments, newest first, a page at a time. Pages
  are numbered rather than carried by the API's cursors, which encode payment dates.

Keypad shortcuts (``accesskey``): 0 search, 1–8 the results, # more (next results, all payments,
older payments), * back to the account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from regie.frontends.graphql import GraphQLFailed, run
from regie.frontends.html import csrf
from regie.frontends.html.i18n import N_
from regie.frontends.html.templates import gettext_for, page

DOCUMENTS = Path(__file__).with_name("graphql")
RESULTS_PER_PAGE = 8
"""Results on a page: each has a keypad shortcut (1–8) and the page stays within 3 kB."""
LATEST_PAYMENTS = 3
"""Payments shown on the account page."""
PAYMENTS_PER_PAGE = 10
MAX_PAYMENT_PAGE = 100
API_PAGE_LIMIT = 50
"""The largest ``first`` the GraphQL API accepts."""
MAX_SEARCH_LENGTH = 100

TEXT_TOO_SHORT = N_("Type at least 2 characters of a name, or a tenant code.")
TEXT_TOO_LONG = N_("Type at most 100 characters.")
FORM_EXPIRED = N_("The form has expired. Please try again.")
TOO_MANY = N_("Too many searches. Try again in a minute.")
NOT_ALLOWED = N_("You may not read tenant accounts.")
UNKNOWN_TENANT = N_("No tenant with this code")
UNKNOWN_TENANT_TEXT = N_("The code is unknown, or the tenant lives outside your sectors.")
NO_SUCH_PAGE = N_("No such page")


def _signed_in(request: Request) -> bool:
    return getattr(request.state, "viewer", None) is not None


def _to_sign_in(request: Request) -> RedirectResponse:
    """Anonymous visitors (or expired sessions) sign in first, then come back here."""
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/connexion?next={quote(target, safe='')}", status_code=303)


def _failure(request: Request, failure: GraphQLFailed) -> Response:
    """A page for the errors a reader may meet: not signed in, not allowed, too many requests."""
    _ = gettext_for(request)
    if "UNAUTHENTICATED" in failure.codes:
        return _to_sign_in(request)
    if "RATE_LIMITED" in failure.codes:
        retry = next(
            (
                (e.get("extensions") or {}).get("retryAfterSeconds")
                for e in failure.errors
                if (e.get("extensions") or {}).get("retryAfterSeconds")
            ),
            60,
        )
        return page(
            request, "message.html", 429, {"Retry-After": str(retry)}, title=_(TOO_MANY), text=None
        )
    if "FORBIDDEN" in failure.codes:
        return page(request, "message.html", 403, title=_(NOT_ALLOWED), text=None)
    raise failure


async def _signed_in_as(request: Request) -> str:
    try:
        data = await run(request, DOCUMENTS / "me.graphql", surface="html")
    except GraphQLFailed:
        return ""
    me = data.get("me") or {}
    return str(me.get("fullName") or "")


async def search_page(request: Request) -> Response:
    """The search form; on the home page also who is signed in and the sign-out button."""
    if not _signed_in(request):
        return _to_sign_in(request)
    return page(
        request,
        "search.html",
        csrf=csrf.token(request),
        text="",
        results=None,
        error=None,
        signed_in_as=await _signed_in_as(request),
        development=request.app.state.settings.is_development,
    )


async def search(request: Request) -> Response:
    if not _signed_in(request):
        return _to_sign_in(request)
    _ = gettext_for(request)
    form = await request.form()
    text = str(form.get("q") or "")[: MAX_SEARCH_LENGTH * 2]
    after = form.get("apres")

    def form_again(error: str, status_code: int) -> Response:
        return page(
            request,
            "search.html",
            status_code,
            csrf=csrf.token(request),
            text=text,
            results=None,
            error=_(error),
            signed_in_as=None,
        )

    if not csrf.valid(request, form):
        return form_again(FORM_EXPIRED, 400)
    variables: dict[str, Any] = {"text": text, "first": RESULTS_PER_PAGE}
    if isinstance(after, str) and after:
        variables["after"] = after
    try:
        data = await run(request, DOCUMENTS / "search.graphql", variables, surface="html")
    except GraphQLFailed as failure:
        if "BAD_USER_INPUT" in failure.codes:
            arguments = {(e.get("extensions") or {}).get("argument") for e in failure.errors}
            if "text" not in arguments:
                return form_again(FORM_EXPIRED, 400)  # a cursor this search did not hand out
            too_long = len(text.strip()) > MAX_SEARCH_LENGTH
            return form_again(TEXT_TOO_LONG if too_long else TEXT_TOO_SHORT, 400)
        return _failure(request, failure)
    found = data["searchTenants"]
    tenants = [edge["node"] for edge in found["edges"]]
    more = found["pageInfo"]["hasNextPage"]
    if len(tenants) == 1 and not more and "after" not in variables:
        code = quote(tenants[0]["code"], safe="")
        return RedirectResponse(f"/locataires/{code}", status_code=303)
    return page(
        request,
        "search.html",
        csrf=csrf.token(request),
        text=text,
        results=tenants,
        after=found["pageInfo"]["endCursor"] if more else None,
        error=None,
        signed_in_as=None,
    )


def _not_found(request: Request, title: str, text: str | None = None) -> Response:
    _ = gettext_for(request)
    return page(request, "message.html", 404, title=_(title), text=_(text) if text else None)


async def account(request: Request) -> Response:
    if not _signed_in(request):
        return _to_sign_in(request)
    code = request.path_params["code"]
    try:
        data = await run(
            request,
            DOCUMENTS / "account.graphql",
            {"code": code, "payments": LATEST_PAYMENTS},
            surface="html",
        )
    except GraphQLFailed as failure:
        return _failure(request, failure)
    tenant = data["tenant"]
    if tenant is None:
        return _not_found(request, UNKNOWN_TENANT, UNKNOWN_TENANT_TEXT)
    payments = [edge["node"] for edge in tenant["payments"]["edges"]]
    return page(request, "account.html", t=tenant, payments=payments)


def _page_number(request: Request) -> int | None:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAYMENT_PAGE:
        return None
    return int(raw)


async def payments(request: Request) -> Response:
    if not _signed_in(request):
        return _to_sign_in(request)
    code = request.path_params["code"]
    number = _page_number(request)
    if number is None:
        return _not_found(request, NO_SUCH_PAGE)
    # Walk the API's keyset pages up to the one asked for (one request for the first five pages).
    wanted = number * PAYMENTS_PER_PAGE
    collected: list[dict[str, Any]] = []
    tenant: dict[str, Any] | None = None
    after: str | None = None
    more = True
    try:
        while more and len(collected) < wanted:
            variables = {
                "code": code,
                "first": min(API_PAGE_LIMIT, wanted - len(collected)),
                "after": after,
            }
            data = await run(request, DOCUMENTS / "payments.graphql", variables, surface="html")
            tenant = data["tenant"]
            if tenant is None:
                return _not_found(request, UNKNOWN_TENANT, UNKNOWN_TENANT_TEXT)
            connection = tenant["payments"]
            collected.extend(edge["node"] for edge in connection["edges"])
            more = connection["pageInfo"]["hasNextPage"]
            after = connection["pageInfo"]["endCursor"]
    except GraphQLFailed as failure:
        return _failure(request, failure)
    shown = collected[(number - 1) * PAYMENTS_PER_PAGE :]
    if number > 1 and not shown:
        return _not_found(request, NO_SUCH_PAGE)
    return page(request, "payments.html", t=tenant, payments=shown, number=number, more=more)


routes = [
    Route("/recherche", search_page, methods=["GET"]),
    Route("/recherche", search, methods=["POST"]),
    Route("/locataires/{code}", account, methods=["GET"]),
    Route("/locataires/{code}/paiements", payments, methods=["GET"]),
]
