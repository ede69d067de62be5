"""The OAuth2 authorization server's endpoints.

- ``POST /oauth/token`` (RFC 6749 §3.2): ``client_credentials`` for confidential clients, and
  ``authorization_code`` with PKCE S256 (RFC 7636); client authentication ``client_secret_basic``,
  ``client_secret_post`` (confidential clients) or ``none`` (public clients). No refresh tokens:
  access tokens live 10 minutes, a public client runs the authorization flow again.
- ``GET /oauth/authorize`` shows the signed-in user a consent page (French, no JavaScript);
  ``POST /oauth/authorize`` takes the decision, guarded by a CSRF token (HMAC of the session and
  of the exact request, valid 10 minutes). Errors follow RFC 6749 §4.1.2.1: a bad ``client_id`` or
  ``redirect_uri`` is shown to the user and never redirected to; anything else goes back to the
  client with ``state``. The response carries ``iss`` (RFC 9207).
- ``POST /oauth/revoke`` (RFC 7009), ``GET /.well-known/jwks.json``,
  ``GET /.well-known/oauth-authorization-server`` (RFC 8414).

Token requests (granted or refused), consent decisions and revocations are written to the audit
log (surface ``oauth``) with client ids, grant types, scopes and ``jti`` only: never a secret, a
code or a token.

**Why not authlib's server classes.** authlib's ``AuthorizationServer`` is synchronous and ships
integrations for Flask and Django only; on Starlette it needs a hand-written request/response
adapter, sync-to-async bridging of every storage hook (our ORM is async), and its PKCE must be
re-configured to refuse ``plain``. That adapter would be larger than the two grants we need, and
every security rule here (exact redirect URIs, S256 only, single-use codes that revoke on reuse,
one client authentication method per request) would then live in configuration spread over
subclasses. So the endpoints are written out here, small and explicit, on the standard library;
JWTs are signed and checked by joserfc (:mod:`regie.auth.tokens`), and the tests drive the
endpoints with authlib's *client*, unmodified, to hold them to the standard.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from regie.auth import tokens
from regie.db import oauth, people
from regie.services import audit, clock, oauth_clients
from regie.services.access import (
    ADMIN,
    ALL_SCOPES,
    CONFIRMATIONS_WRITE,
    FIELD_WRITE,
    OFFICE,
    ROLE_SCOPES,
    TENANTS_READ,
    Viewer,
    granted_scopes,
)
from regie.services.oauth_clients import OAuthError
from regie.settings import Settings

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16 * 1024
CONSENT_VALIDITY = timedelta(minutes=10)
SIGN_IN_PATH = "/connexion"
AUDIT_SURFACE = "oauth"
AUTHORIZE_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
"""The authorization request parameters carried through the consent form (others are ignored)."""

SCOPE_LABELS = {
    TENANTS_READ: "consulter les locataires, leurs baux et leurs comptes (dans vos secteurs)",
    FIELD_WRITE: "enregistrer vos actions de terrain : paiements déclarés, visites, promesses",
    OFFICE: "faire le travail de bureau : imports, paiements à rapprocher, rapports, tous secteurs",
    ADMIN: "administrer : utilisateurs, secteurs, appareils, clients OAuth, journal d’audit",
    CONFIRMATIONS_WRITE: "transmettre les confirmations de paiement de la trésorerie",
}

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)


# --- request parsing ----------------------------------------------------------------------


def _single_values(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], set[str]]:
    """Parameters by name, empty ones dropped (RFC 6749 §3.1), and the names given twice."""
    values: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if name in values:
            repeated.add(name)
        values.setdefault(name, value)
    return {k: v for k, v in values.items() if v != ""}, repeated


async def _read_form(request: Request) -> dict[str, str]:
    """The ``application/x-www-form-urlencoded`` body; ``invalid_request`` for anything else."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != FORM_CONTENT_TYPE:
        raise OAuthError("invalid_request", f"the body must be {FORM_CONTENT_TYPE}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", "request body too large")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=40
        )
    except (UnicodeDecodeError, ValueError) as error:
        raise OAuthError("invalid_request", "malformed form body") from error
    values, repeated = _single_values(pairs)
    if repeated:
        raise OAuthError("invalid_request", "a parameter is repeated")
    return values


# --- responses ----------------------------------------------------------------------------


def _token_error(error: OAuthError) -> JSONResponse:
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    headers = dict(NO_STORE)
    if error.status_code == 401:
        headers["WWW-Authenticate"] = 'Basic realm="regie", charset="UTF-8"'
    return JSONResponse(body, status_code=error.status_code, headers=headers)


def _form_action_source(redirect_uri: str) -> str | None:
    """The CSP source allowing the consent form's redirect to ``redirect_uri`` (Chromium applies
    ``form-action`` to the redirect that follows a form submission)."""
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https"):
        source = f"{parts.scheme}://{parts.netloc}"
    else:
        source = f"{parts.scheme}:"
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-+:/[]")
    return source if set(source) <= allowed else None


def _html(
    template: str, context: Mapping[str, Any], *, status_code: int = 200, form_action: str = ""
) -> HTMLResponse:
    page = templates.get_template(template).render(**context)
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; "
        f"form-action 'self'{form_action}"
    )
    headers = {
        **NO_STORE,
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(page, status_code=status_code, headers=headers)


def _error_page(message: str, status_code: int = 400) -> HTMLResponse:
    return _html("oauth_error.html", {"message": message}, status_code=status_code)


def _redirect(url: str, status_code: int) -> RedirectResponse:
    return RedirectResponse(url, status_code=status_code, headers=dict(NO_STORE))


# --- client authentication ----------------------------------------------------------------


def _presented_credentials(request: Request, form: Mapping[str, str]) -> tuple[str, str | None]:
    """The client id and secret presented by exactly one method: Basic, body, or id alone."""
    header = request.headers.get("authorization")
    body_id, body_secret = form.get("client_id"), form.get("client_secret")
    if header is None:
        if body_id is None:
            raise OAuthError("invalid_client", "client authentication required")
        return body_id, body_secret
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError("invalid_client", "unsupported client authentication")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise OAuthError("invalid_client", "malformed Basic credentials") from error
    raw_id, colon, raw_secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "malformed Basic credentials")
    client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
    if body_secret is not None:
        raise OAuthError("invalid_request", "more than one client authentication method")
    if body_id is not None and body_id != client_id:
        raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
    return client_id, secret


async def _authenticated_client(request: Request, form: Mapping[str, str]) -> oauth.OAuthClient:
    client_id, secret = _presented_credentials(request, form)
    return await oauth_clients.authenticate_client(client_id, secret)


# --- token endpoint -----------------------------------------------------------------------


async def _client_credentials_grant(
    client: oauth.OAuthClient, form: Mapping[str, str], settings: Settings
) -> tokens.IssuedAccessToken:
    requested = oauth_clients.parse_scope(form.get("scope"))
    scopes = granted_scopes(requested, client.scope_set)
    if not scopes:
        raise OAuthError("invalid_scope", "none of the requested scopes is allowed")
    return await tokens.mint_access_token(
        client_id=client.client_id, scopes=scopes, settings=settings
    )


async def _authorization_code_grant(
    client: oauth.OAuthClient, form: Mapping[str, str], settings: Settings
) -> tokens.IssuedAccessToken:
    code = form.get("code")
    if code is None:
        raise OAuthError("invalid_request", "code is required")
    now = clock.now_utc().replace(microsecond=0)
    jti, lifetime = tokens.new_jti(), tokens.DEFAULT_LIFETIME
    grant = await oauth_clients.redeem_authorization_code(
        client,
        code=code,
        redirect_uri=form.get("redirect_uri"),
        code_verifier=form.get("code_verifier"),
        token_jti=jti,
        token_expires_at=now + lifetime + tokens.LEEWAY,
        now=now,
    )
    return await tokens.mint_access_token(
        client_id=client.client_id,
        scopes=grant.scopes,
        user_id=grant.user_id,
        lifetime=lifetime,
        jti=jti,
        settings=settings,
        now=now,
    )


async def _audit(actor: str, action: str, outcome: str, detail: str) -> None:
    """One audit event (surface ``oauth``): identifiers and outcomes only, never a secret."""
    await audit.append(
        [audit.Event(clock.now_utc(), actor, AUDIT_SURFACE, action, None, outcome, detail[:200])]
    )


def _claimed_client(request: Request, form: Mapping[str, str]) -> str:
    """Who a failed request claimed to be, for the audit log (``client:…`` or ``anonymous``)."""
    try:
        client_id, _ = _presented_credentials(request, form)
    except OAuthError:
        return "anonymous"
    return f"client:{client_id[:64]}"


async def token_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    form: dict[str, str] = {}
    try:
        form = await _read_form(request)
        client = await _authenticated_client(request, form)
        grant_type = form.get("grant_type")
        if grant_type is None:
            raise OAuthError("invalid_request", "grant_type is required")
        if grant_type not in oauth_clients.GRANT_TYPES:
            raise OAuthError("unsupported_grant_type")
        if grant_type not in client.grant_type_set:
            raise OAuthError("unauthorized_client", "this client may not use this grant type")
        if grant_type == oauth_clients.CLIENT_CREDENTIALS:
            issued = await _client_credentials_grant(client, form, settings)
        else:
            issued = await _authorization_code_grant(client, form, settings)
    except OAuthError as error:
        outcome = audit.FAILED if error.error == "invalid_client" else audit.DENIED
        grant = form.get("grant_type", "-")[:20]
        await _audit(
            _claimed_client(request, form), "oauth.token", outcome, f"{grant}: {error.error}"
        )
        return _token_error(error)
    await _audit(
        f"client:{client.client_id}",
        "oauth.token",
        audit.OK,
        f"{grant_type}: jti {issued.jti}, {oauth_clients.format_scope(issued.scopes)}",
    )
    body = {
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": int(issued.lifetime.total_seconds()),
        "scope": oauth_clients.format_scope(issued.scopes),
    }
    return JSONResponse(body, headers=dict(NO_STORE))


# --- revocation endpoint ------------------------------------------------------------------


async def revocation_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    form: dict[str, str] = {}
    try:
        form = await _read_form(request)
        client = await _authenticated_client(request, form)
        token = form.get("token")
        if token is None:
            raise OAuthError("invalid_request", "token is required")
        outcome = await tokens.revoke_access_token(
            token, client_id=client.client_id, settings=settings
        )
        if outcome == "other_client":
            raise OAuthError("unauthorized_client", "the token was issued to another client")
    except OAuthError as error:
        await _audit(_claimed_client(request, form), "oauth.revoke", audit.DENIED, error.error)
        return _token_error(error)
    if outcome == "revoked":
        await _audit(f"client:{client.client_id}", "oauth.revoke", audit.OK, "a token revoked")
    # RFC 7009 §2.2: 200 whether or not the token was valid.
    return Response(status_code=200, headers=dict(NO_STORE))


# --- authorization endpoint ---------------------------------------------------------------


class _Unredirectable(Exception):
    """An error shown to the user: the client or redirect URI cannot be trusted (§4.1.2.1)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _AuthorizationRequest:
    client: oauth.OAuthClient
    redirect_uri: str
    params: dict[str, str]
    """The recognised parameters as received, carried through the consent form."""
    repeated: frozenset[str]


async def _authorization_request(
    params: Mapping[str, str], repeated: Iterable[str]
) -> _AuthorizationRequest:
    repeated = frozenset(repeated)
    client_id = params.get("client_id")
    if client_id is None or "client_id" in repeated:
        raise _Unredirectable("La demande ne précise pas l’application (client_id).")
    client = await oauth_clients.active_client(client_id) if len(client_id) <= 64 else None
    if client is None:
        raise _Unredirectable("L’application qui fait cette demande est inconnue ou désactivée.")
    redirect_uri = oauth_clients.match_redirect_uri(client, params.get("redirect_uri"))
    if redirect_uri is None or "redirect_uri" in repeated:
        raise _Unredirectable(
            "L’adresse de retour (redirect_uri) ne correspond pas à celle enregistrée pour "
            "cette application."
        )
    kept = {k: params[k] for k in AUTHORIZE_PARAMETERS if k in params}
    return _AuthorizationRequest(client, redirect_uri, kept, repeated)


def _granted_scopes(req: _AuthorizationRequest, viewer: Viewer) -> frozenset[str]:
    """Check what only the client may be told about; the scopes the user would grant."""
    if req.repeated:
        raise OAuthError("invalid_request", "a parameter is repeated")
    response_type = req.params.get("response_type")
    if response_type is None:
        raise OAuthError("invalid_request", "response_type is required")
    if response_type != "code":
        raise OAuthError("unsupported_response_type")
    if oauth_clients.AUTHORIZATION_CODE not in req.client.grant_type_set:
        raise OAuthError("unauthorized_client", "this client may not use authorization_code")
    challenge = req.params.get("code_challenge")
    if challenge is None:
        raise OAuthError("invalid_request", "code_challenge is required (PKCE, S256)")
    if req.params.get("code_challenge_method") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if not oauth_clients.is_valid_code_challenge(challenge):
        raise OAuthError("invalid_request", "malformed code_challenge")
    requested = oauth_clients.parse_scope(req.params.get("scope"))
    role_scopes = ROLE_SCOPES[viewer.role] if viewer.role is not None else frozenset()
    allowed = req.client.scope_set & role_scopes & viewer.scopes
    scopes = granted_scopes(requested, allowed)
    if not scopes:
        raise OAuthError("invalid_scope", "none of the requested scopes is allowed")
    return scopes


def _signed_in_user(request: Request) -> Viewer | None:
    """The user signed in on this browser; a bearer token does not count (a token must never
    mint a broader token for another client)."""
    viewer = getattr(request.state, "viewer", None)
    if not isinstance(viewer, Viewer) or viewer.user_id is None or viewer.role is None:
        return None
    if viewer.client_id is not None:
        return None
    return viewer


def _with_query(url: str, params: Mapping[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def _redirect_error(
    req: _AuthorizationRequest, error: OAuthError, settings: Settings, status_code: int
) -> RedirectResponse:
    params = {"error": error.error}
    if error.description:
        params["error_description"] = error.description
    if "state" in req.params:
        params["state"] = req.params["state"]
    params["iss"] = settings.issuer
    return _redirect(_with_query(req.redirect_uri, params), status_code)


def _sign_in_redirect(params: Mapping[str, str], status_code: int) -> RedirectResponse:
    back = _with_query("/oauth/authorize", params)
    return _redirect(f"{SIGN_IN_PATH}?next={quote(back, safe='')}", status_code)


def _csrf_mac(settings: Settings, viewer: Viewer, params: Mapping[str, str], issued: int) -> str:
    parts = [
        "regie-oauth-consent",
        str(viewer.user_id),
        str(viewer.session_id),
        str(issued),
        *(f"{k}={params[k]}" for k in sorted(params)),
    ]
    message = "\x00".join(parts).encode("utf-8")
    return hmac.new(settings.secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _csrf_token(
    settings: Settings, viewer: Viewer, params: Mapping[str, str], now: datetime
) -> str:
    issued = int(now.timestamp())
    return f"{issued}.{_csrf_mac(settings, viewer, params, issued)}"


def _csrf_valid(
    settings: Settings, viewer: Viewer, params: Mapping[str, str], token: str | None, now: datetime
) -> bool:
    issued_text, _, mac = (token or "").partition(".")
    if not issued_text.isdecimal() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    age = now.timestamp() - issued
    if not -5 <= age <= CONSENT_VALIDITY.total_seconds():
        return False
    return hmac.compare_digest(mac, _csrf_mac(settings, viewer, params, issued))


async def authorize_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    params, repeated = _single_values(
        parse_qsl(request.url.query, keep_blank_values=True, max_num_fields=40)
    )
    try:
        req = await _authorization_request(params, repeated)
    except _Unredirectable as error:
        return _error_page(error.message)
    viewer = _signed_in_user(request)
    if viewer is None:
        return _sign_in_redirect(req.params, 303)
    try:
        scopes = _granted_scopes(req, viewer)
    except OAuthError as error:
        return _redirect_error(req, error, settings, 302)
    user = await people.User.get_or_none(id=viewer.user_id)
    source = _form_action_source(req.redirect_uri)
    context = {
        "client_name": req.client.name,
        "username": user.full_name if user else None,
        "scopes": [
            {"name": s, "label": SCOPE_LABELS.get(s, s)}
            for s in ALL_SCOPES
            if s in scopes  # a stable order, the one of access.ALL_SCOPES
        ],
        "redirect_uri": req.redirect_uri,
        "minutes": int(tokens.DEFAULT_LIFETIME.total_seconds() // 60),
        "fields": sorted(req.params.items()),
        "csrf_token": _csrf_token(settings, viewer, req.params, clock.now_utc()),
    }
    return _html("oauth_consent.html", context, form_action=f" {source}" if source else "")


async def authorize_decision(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    try:
        form = await _read_form(request)
    except OAuthError:
        return _error_page("La demande d’autorisation est mal formée.")
    params = {k: form[k] for k in AUTHORIZE_PARAMETERS if k in form}
    try:
        req = await _authorization_request(params, ())
    except _Unredirectable as error:
        return _error_page(error.message)
    viewer = _signed_in_user(request)
    if viewer is None or viewer.user_id is None:
        return _sign_in_redirect(req.params, 303)
    user_id = viewer.user_id
    now = clock.now_utc()
    if not _csrf_valid(settings, viewer, req.params, form.get("csrf_token"), now):
        return _error_page(
            "Cette page d’autorisation a expiré ou ne vous était pas destinée.", status_code=403
        )
    try:
        scopes = _granted_scopes(req, viewer)
        decision = form.get("decision")
        if decision == "deny":
            await _audit(
                viewer.label, "oauth.consent", audit.DENIED, f"client:{req.client.client_id}"
            )
            raise OAuthError("access_denied", "the user refused")
        if decision != "approve":
            raise OAuthError("invalid_request", "decision must be approve or deny")
    except OAuthError as error:
        return _redirect_error(req, error, settings, 303)
    await _audit(
        viewer.label,
        "oauth.consent",
        audit.OK,
        f"client:{req.client.client_id}: {oauth_clients.format_scope(scopes)}",
    )
    code = await oauth_clients.create_authorization_code(
        req.client,
        user_id,
        redirect_uri=req.redirect_uri,
        redirect_uri_in_request="redirect_uri" in req.params,
        scopes=scopes,
        code_challenge=req.params["code_challenge"],
        now=now,
    )
    response = {"code": code}
    if "state" in req.params:
        response["state"] = req.params["state"]
    response["iss"] = settings.issuer
    return _redirect(_with_query(req.redirect_uri, response), 303)


# --- discovery ----------------------------------------------------------------------------


async def jwks_endpoint(request: Request) -> Response:
    return JSONResponse(await tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})


def server_metadata(settings: Settings) -> dict[str, Any]:
    """RFC 8414 authorization server metadata."""
    issuer = settings.issuer
    auth_methods = ["client_secret_basic", "client_secret_post", "none"]
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "scopes_supported": list(ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(oauth_clients.GRANT_TYPES),
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


async def metadata_endpoint(request: Request) -> Response:
    return JSONResponse(
        server_metadata(request.app.state.settings),
        headers={"Cache-Control": "public, max-age=3600"},
    )


routes = [
    Route("/oauth/token", token_endpoint, methods=["POST"]),
    Route("/oauth/authorize", authorize_page, methods=["GET"]),
    Route("/oauth/authorize", authorize_decision, methods=["POST"]),
    Route("/oauth/revoke", revocation_endpoint, methods=["POST"]),
    Route("/.well-known/jwks.json", jwks_endpoint, methods=["GET"]),
    Route("/.well-known/oauth-authorization-server", metadata_endpoint, methods=["GET"]),
]
