"""The collector's path on a WAP phone, from sign-in to a tenant's payments (mounted at ``/wml``).

=====================  ====  ===========================================================
``/wml/``              GET   sign-in card; the search deck when the URL carries a session
``/wml/connexion``     POST  username, device code, PIN → the search deck
``/wml/recherche``     POST  a name or a code (and a cursor) → results, at most 9 a deck
``/wml/compte``        POST  a tenant code → the account card and the last payments
``/wml/paiements``     POST  a tenant code and a cursor → older payments
``/wml/deconnexion``   POST  ends the session → the sign-in card
anything else                a "page inconnue" card
=====================  ====  ===========================================================

The session travels in the URL parameter ``s`` of every link (WAP gateways drop cookies; see
``regie.auth.principal``). Credentials, search text, tenant codes and cursors travel in POST
bodies (``<postfield>``), never in a URL, so a gateway log holds nothing but short-lived tokens.

Every answer is a WML deck, errors included: a French message, a way back and a way on, served
with status 200 (WAP browsers show their own error screen instead of the deck for other
statuses); never a stack trace, never HTML.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from regie.auth.principal import WML_SESSION_PARAMETER
from regie.frontends.graphql import GraphQLFailed, run
from regie.frontends.wml import decks

logger = logging.getLogger("regie.wml")

DOCUMENTS = Path(__file__).with_name("graphql")
RESULTS_PER_DECK = 9
"""Options numbered 1 to 9; fewer when their names would make the deck too large."""
REFINE_ABOVE = 50
"""More matches than this (the API's largest page) and the collector is asked to refine."""
PAYMENTS_ON_ACCOUNT = 3
PAYMENTS_PER_DECK = 10
MAX_FORM_BYTES = 2048
MAX_FIELD_LENGTH = 200

REFUSED = "Identifiant, code du téléphone ou code secret incorrect, ou compte verrouillé."
TOO_MANY_ATTEMPTS = "Trop de tentatives. Réessayez dans quelques minutes."
SESSION_EXPIRED = "Session expirée. Reconnectez-vous."
SIGNED_OUT = "Vous êtes déconnecté."
NOT_FOUND = "Locataire introuvable."
SEARCH_TEXT = "Tapez de 2 à 100 caractères : un nom ou un code."
STALE_PAGE = "Page périmée. Recommencez la recherche."
NOT_ALLOWED = "Accès refusé."
UNKNOWN_PAGE = "Page inconnue."
TOO_LONG = "Saisie trop longue."
BAD_FORM = "Saisie refusée."
UNEXPECTED = "Erreur du service. Réessayez plus tard."


class Notice(Exception):
    """Ends a request with a message card: a refusal, an error or "no result" (``lines`` in French)."""

    def __init__(self, title: str, *lines: str, clear_pin: bool = False) -> None:
        super().__init__(" ".join(lines))
        self.title = title
        self.lines = lines
        self.clear_pin = clear_pin


@dataclass(frozen=True)
class Links:
    """The URLs of a deck: every one but sign-in carries the session in ``s``."""

    base: str
    token: str | None

    def _with_session(self, path: str) -> str:
        return f"{self.base}{path}?{WML_SESSION_PARAMETER}={self.token}"

    @property
    def home(self) -> str:
        return self._with_session("/") if self.token else f"{self.base}/"

    @property
    def sign_in(self) -> str:
        return f"{self.base}/connexion"

    @property
    def sign_out(self) -> str:
        return self._with_session("/deconnexion")

    @property
    def search(self) -> str:
        return self._with_session("/recherche")

    @property
    def account(self) -> str:
        return self._with_session("/compte")

    @property
    def payments(self) -> str:
        return self._with_session("/paiements")


@dataclass
class Visit:
    """One request from a phone: its charset, its live session (if any), the decks it gets."""

    request: Request
    charset: str
    token: str | None = None
    form: dict[str, str] = field(default_factory=dict)

    @property
    def links(self) -> Links:
        return Links(self.request.scope.get("root_path", ""), self.token)

    def require_session(self) -> None:
        if self.token is None:
            raise Notice("Session", SESSION_EXPIRED)

    async def run(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await run(self.request, DOCUMENTS / document, variables, surface="wml")

    def deck(self, template: str, context: Mapping[str, Any]) -> Response:
        body = decks.render(self.charset, template, {"links": self.links, **context})
        return decks.response(body, self.charset)

    def fitting(
        self, template: str, available: int, context_for: Callable[[int], Mapping[str, Any]]
    ) -> Response:
        body, _ = decks.render_fitting(
            self.charset,
            template,
            available,
            lambda count: {"links": self.links, **context_for(count)},
        )
        return decks.response(body, self.charset)

    def message(self, notice: Notice) -> Response:
        return self.deck(
            "message.wml",
            {
                "title": notice.title,
                "lines": notice.lines,
                "clear_pin": notice.clear_pin,
                "label": "Chercher" if self.token else "Connexion",
                "href": self.links.home,
            },
        )


async def _read_form(request: Request) -> dict[str, str]:
    """The POSTed fields, in UTF-8 or, failing that, ISO-8859-1 (what older phones send)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Notice("Erreur", TOO_LONG)
    raw = body.decode("latin-1")
    try:
        try:
            pairs = parse_qsl(raw, keep_blank_values=True, errors="strict", max_num_fields=8)
        except UnicodeDecodeError:
            pairs = parse_qsl(raw, keep_blank_values=True, encoding="latin-1", max_num_fields=8)
    except ValueError:
        raise Notice("Erreur", BAD_FORM) from None
    if any(len(value) > MAX_FIELD_LENGTH for _, value in pairs):
        raise Notice("Erreur", TOO_LONG)
    return dict(pairs)


def _notice(failure: GraphQLFailed) -> Notice:
    codes = failure.codes
    if "SIGN_IN_REFUSED" in codes:
        return Notice("Connexion", REFUSED, clear_pin=True)
    if "RATE_LIMITED" in codes:
        return Notice("Patientez", TOO_MANY_ATTEMPTS, clear_pin=True)
    if "UNAUTHENTICATED" in codes:
        return Notice("Session", SESSION_EXPIRED)
    if "FORBIDDEN" in codes:
        return Notice("Accès", NOT_ALLOWED)
    if "BAD_USER_INPUT" in codes:
        arguments = {str((e.get("extensions") or {}).get("argument")) for e in failure.errors}
        return Notice("Recherche", SEARCH_TEXT if "text" in arguments else STALE_PAGE)
    logger.error("WML: GraphQL errors %s", failure)
    return Notice("Erreur", UNEXPECTED)


Handler = Callable[[Visit], Awaitable[Response]]


def deck_view(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A route answering with a deck, whatever happens."""

    @functools.wraps(handler)
    async def view(request: Request) -> Response:
        visit = Visit(request, decks.accepted_charset(request.headers.get("accept-charset")))
        if request.state.viewer is not None and request.state.credential == "wml":
            # The token the principal checked: the first ``s`` (Starlette's .get gives the last).
            visit.token = request.query_params.getlist(WML_SESSION_PARAMETER)[0]
        try:
            if request.method == "POST":
                visit.form = await _read_form(request)
            return await handler(visit)
        except Notice as notice:
            return visit.message(notice)
        except GraphQLFailed as failure:
            return visit.message(_notice(failure))
        except Exception:
            logger.exception("WML: %s %s failed", request.method, request.url.path)
            return visit.message(Notice("Erreur", UNEXPECTED))

    return view


def _sign_in_deck(visit: Visit, note: str | None = None) -> Response:
    return visit.deck("sign_in.wml", {"note": note})


def _search_deck(visit: Visit) -> Response:
    return visit.deck("search.wml", {})


@deck_view
async def home(visit: Visit) -> Response:
    if visit.token is not None:
        return _search_deck(visit)
    if visit.request.query_params.get(WML_SESSION_PARAMETER):
        raise Notice("Session", SESSION_EXPIRED)
    return _sign_in_deck(visit)


@deck_view
async def sign_in(visit: Visit) -> Response:
    form = visit.form
    data = await visit.run(
        "sign_in.graphql",
        {
            "username": form.get("u", ""),
            "deviceSecret": form.get("d", ""),
            "pin": form.get("p", ""),
        },
    )
    visit.token = data["signInCollector"]["token"]
    return _search_deck(visit)


@deck_view
async def sign_out(visit: Visit) -> Response:
    if visit.token is not None:
        await visit.run("sign_out.graphql")
        visit.token = None
    return _sign_in_deck(visit, SIGNED_OUT)


@deck_view
async def search(visit: Visit) -> Response:
    visit.require_session()
    text = " ".join(visit.form.get("q", "").split())
    after = visit.form.get("a") or None
    first = REFINE_ABOVE if after is None else RESULTS_PER_DECK
    data = await visit.run("search.graphql", {"text": text, "first": first, "after": after})
    found = data["searchTenants"]
    edges: list[dict[str, Any]] = found["edges"]
    more = bool(found["pageInfo"]["hasNextPage"])
    if not edges:
        raise Notice("Recherche", "Aucun locataire trouvé pour", f"« {text} ».")
    if after is None and more:
        raise Notice(
            "Recherche",
            f"Plus de {REFINE_ABOVE} locataires pour « {text} ».",
            "Précisez le nom ou tapez le code.",
        )
    shown = edges[:RESULTS_PER_DECK]

    def context(count: int) -> dict[str, Any]:
        rest = count < len(edges) or more
        return {
            "edges": shown[:count],
            "text": text,
            "after": shown[count - 1]["cursor"] if rest else None,
        }

    return visit.fitting("results.wml", len(shown), context)


def _payments_context(tenant: dict[str, Any], count: int) -> dict[str, Any]:
    edges: list[dict[str, Any]] = tenant["payments"]["edges"]
    rest = count < len(edges) or tenant["payments"]["pageInfo"]["hasNextPage"]
    after = edges[count - 1]["cursor"] if edges and rest else None
    return {"tenant": tenant, "payments": edges[:count], "after": after}


@deck_view
async def account(visit: Visit) -> Response:
    visit.require_session()
    data = await visit.run(
        "account.graphql", {"code": visit.form.get("c", ""), "payments": PAYMENTS_ON_ACCOUNT}
    )
    tenant = data["tenant"]
    if tenant is None:  # unknown, or outside the collector's sectors: the same answer
        raise Notice("Compte", NOT_FOUND)
    available = len(tenant["payments"]["edges"])
    return visit.fitting("account.wml", available, lambda n: _payments_context(tenant, n))


@deck_view
async def payments(visit: Visit) -> Response:
    visit.require_session()
    form = visit.form
    data = await visit.run(
        "payments.graphql",
        {"code": form.get("c", ""), "first": PAYMENTS_PER_DECK, "after": form.get("a") or None},
    )
    tenant = data["tenant"]
    if tenant is None:
        raise Notice("Paiements", NOT_FOUND)
    available = len(tenant["payments"]["edges"])
    return visit.fitting("payments.wml", available, lambda n: _payments_context(tenant, n))


@deck_view
async def unknown(visit: Visit) -> Response:
    raise Notice("Erreur", UNKNOWN_PAGE)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/connexion", sign_in, methods=["POST"]),
    Route("/deconnexion", sign_out, methods=["POST"]),
    Route("/recherche", search, methods=["POST"]),
    Route("/compte", account, methods=["POST"]),
    Route("/paiements", payments, methods=["POST"]),
    # Any other path or method: a card rather than Starlette's plain-text 404 or 405.
    Route("/{rest:path}", unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
]
