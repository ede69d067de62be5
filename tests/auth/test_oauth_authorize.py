"""The authorization code flow with PKCE: consent, CSRF, redirect URIs, code exchange and reuse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from regie.auth import tokens
from regie.db import people
from regie.services import oauth_clients
from tests.auth.oauth_support import (
    REDIRECT_URI,
    FrozenClock,
    SignedIn,
    approve,
    authorize_url,
    browser,
    challenge_of,
    confidential_client,
    hidden_fields,
    new_verifier,
    oauth_app,
    public_client,
    query_of,
    session_viewer,
    user,
)

VERIFIER = new_verifier()
CHALLENGE = challenge_of(VERIFIER)


@pytest.fixture
def signed_in() -> SignedIn:
    return SignedIn()


@pytest.fixture
async def http(db: object, signed_in: SignedIn) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(oauth_app(signed_in)) as client:
        yield client


@pytest.fixture
async def claire(signed_in: SignedIn, db: object) -> people.User:
    """Office staff, signed in on the test browser."""
    person = await user("claire")
    signed_in.viewer = session_viewer(person)
    return person


@pytest.fixture
async def mobile(db: object) -> oauth_clients.NewClient:
    return await public_client()


async def obtain_code(
    http: httpx.AsyncClient, client_id: str, challenge: str = CHALLENGE, **extra: str
) -> str:
    response = await approve(http, authorize_url(client_id, challenge, **extra))
    assert response.status_code == 303, response.text
    return query_of(response.headers["location"])["code"]


async def exchange(
    http: httpx.AsyncClient,
    client_id: str,
    code: str,
    verifier: str | None = VERIFIER,
    **extra: str,
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        **extra,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return await http.post("/oauth/token", data=data)


# --- before consent -----------------------------------------------------------------------


async def test_nobody_signed_in_is_sent_to_sign_in_and_back(
    http: httpx.AsyncClient, mobile: oauth_clients.NewClient
) -> None:
    url = authorize_url(mobile.client.client_id, CHALLENGE)
    response = await http.get(url)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/connexion"
    back = parse_qs(location.query)["next"][0]
    assert back.startswith("/oauth/authorize?")
    assert query_of(back) == query_of(unquote(url))


async def test_an_unknown_client_is_shown_an_error_and_never_redirected(
    http: httpx.AsyncClient, claire: people.User
) -> None:
    response = await http.get(authorize_url("nobody", CHALLENGE))
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "inconnue" in response.text


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        REDIRECT_URI + "/../evil",
        REDIRECT_URI + "?next=https://evil.example",
        "https://app.example.fr/callback.evil.example",
    ],
)
async def test_a_redirect_uri_not_registered_exactly_is_never_redirected_to(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient, redirect_uri: str
) -> None:
    response = await http.get(
        authorize_url(mobile.client.client_id, CHALLENGE, redirect_uri=redirect_uri)
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "redirect_uri" in response.text


async def test_a_public_client_without_pkce_is_refused(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    url = authorize_url(mobile.client.client_id, "", code_challenge_method="")
    response = await http.get(url)
    assert response.status_code == 302
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    answer = query_of(response.headers["location"])
    assert answer["error"] == "invalid_request"
    assert answer["state"] == "xyz-state"
    assert "code" not in answer


@pytest.mark.parametrize("method", ["plain", ""])
async def test_plain_pkce_is_refused(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient, method: str
) -> None:
    """``plain`` (also the default when no method is named, RFC 7636 §4.3) is never accepted."""
    url = authorize_url(mobile.client.client_id, VERIFIER[:43], code_challenge_method=method)
    answer = query_of((await http.get(url)).headers["location"])
    assert answer["error"] == "invalid_request"
    assert "S256" in answer["error_description"]


async def test_an_unsupported_response_type_goes_back_to_the_client(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    url = authorize_url(mobile.client.client_id, CHALLENGE, response_type="token")
    answer = query_of((await http.get(url)).headers["location"])
    assert answer == {
        "error": "unsupported_response_type",
        "state": "xyz-state",
        "iss": "http://127.0.0.1:8000",
    }


async def test_a_bearer_token_viewer_cannot_consent_for_its_user(
    http: httpx.AsyncClient, signed_in: SignedIn, mobile: oauth_clients.NewClient
) -> None:
    """A token must not mint a broader token for another client: only a sign-in session consents."""
    person = await user("claire")
    signed_in.viewer = replace(session_viewer(person), client_id="some-app", session_id=None)
    response = await http.get(authorize_url(mobile.client.client_id, CHALLENGE))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/connexion?")


# --- the consent page ---------------------------------------------------------------------


async def test_the_consent_page_is_french_escaped_and_unframeable(
    http: httpx.AsyncClient, claire: people.User
) -> None:
    hostile = await public_client(name='<script>alert("x")</script>')
    response = await http.get(
        authorize_url(hostile.client.client_id, CHALLENGE, scope="tenants:read office")
    )
    assert response.status_code == 200
    page = response.text
    assert "Autoriser" in page and "Refuser" in page
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "consulter les locataires" in page and "travail de bureau" in page
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert (
        "form-action 'self' https://app.example.fr" in response.headers["content-security-policy"]
    )
    fields = hidden_fields(page)
    assert fields["client_id"] == hostile.client.client_id
    assert fields["csrf_token"]


async def test_approving_redirects_with_a_code_the_state_and_the_issuer(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    response = await approve(http, authorize_url(mobile.client.client_id, CHALLENGE))
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    answer = query_of(location)
    assert set(answer) == {"code", "state", "iss"}
    assert answer["state"] == "xyz-state"
    assert answer["iss"] == "http://127.0.0.1:8000"
    assert len(answer["code"]) >= 43


async def test_denying_redirects_with_access_denied(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    response = await approve(http, authorize_url(mobile.client.client_id, CHALLENGE), "deny")
    answer = query_of(response.headers["location"])
    assert (answer["error"], answer["state"]) == ("access_denied", "xyz-state")
    assert "code" not in answer


async def test_a_consent_post_without_the_csrf_token_is_refused(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    page = await http.get(authorize_url(mobile.client.client_id, CHALLENGE))
    fields = hidden_fields(page.text)
    genuine = fields["csrf_token"]
    altered = genuine[:-1] + ("1" if genuine[-1] == "0" else "0")  # always differs from the genuine
    for token in ("", "0.deadbeef", altered):
        response = await http.post(
            "/oauth/authorize", data={**fields, "csrf_token": token, "decision": "approve"}
        )
        assert response.status_code == 403
        assert "location" not in response.headers


async def test_a_csrf_token_is_bound_to_the_session(
    http: httpx.AsyncClient,
    signed_in: SignedIn,
    claire: people.User,
    mobile: oauth_clients.NewClient,
) -> None:
    """An attacker's own consent form, replayed in the victim's browser, is refused."""
    page = await http.get(authorize_url(mobile.client.client_id, CHALLENGE))
    fields = hidden_fields(page.text)
    signed_in.viewer = session_viewer(claire, session_id=2)  # another session, same user
    response = await http.post("/oauth/authorize", data={**fields, "decision": "approve"})
    assert response.status_code == 403
    signed_in.viewer = session_viewer(await user("victim"))
    response = await http.post("/oauth/authorize", data={**fields, "decision": "approve"})
    assert response.status_code == 403


async def test_a_csrf_token_is_bound_to_the_request_it_was_shown_for(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    page = await http.get(authorize_url(mobile.client.client_id, CHALLENGE))
    fields = hidden_fields(page.text)
    for changed in ({"scope": "office"}, {"code_challenge": challenge_of(new_verifier())}):
        response = await http.post(
            "/oauth/authorize", data={**fields, **changed, "decision": "approve"}
        )
        assert response.status_code == 403


async def test_a_consent_page_expires(
    http: httpx.AsyncClient,
    claire: people.User,
    mobile: oauth_clients.NewClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen = FrozenClock(monkeypatch)
    page = await http.get(authorize_url(mobile.client.client_id, CHALLENGE))
    frozen.advance(minutes=11)
    response = await http.post(
        "/oauth/authorize", data={**hidden_fields(page.text), "decision": "approve"}
    )
    assert response.status_code == 403


# --- scopes -------------------------------------------------------------------------------


async def test_a_collector_cannot_grant_more_than_their_role(
    http: httpx.AsyncClient, signed_in: SignedIn, mobile: oauth_clients.NewClient
) -> None:
    collector = await user("jldelmas", people.Role.COLLECTOR)
    signed_in.viewer = session_viewer(collector)
    code = await obtain_code(http, mobile.client.client_id, scope="tenants:read office")
    body = (await exchange(http, mobile.client.client_id, code)).json()
    assert body["scope"] == "tenants:read"
    claims = await tokens.verify_access_token(body["access_token"])
    assert claims is not None and claims.scopes == {"tenants:read"}


async def test_a_scope_neither_client_nor_role_allows_is_invalid_scope(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    for scope in ("admin", "confirmations:write"):
        url = authorize_url(mobile.client.client_id, CHALLENGE, scope=scope)
        answer = query_of((await http.get(url)).headers["location"])
        assert (answer["error"], answer["state"]) == ("invalid_scope", "xyz-state")


# --- the code exchange --------------------------------------------------------------------


async def test_a_public_client_exchanges_its_code_with_the_verifier(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    code = await obtain_code(http, mobile.client.client_id, scope="tenants:read office")
    response = await exchange(http, mobile.client.client_id, code)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "Bearer",
        600,
        "office tenants:read",
    )
    viewer = await tokens.viewer_from_access_token(body["access_token"])
    assert viewer is not None
    assert (viewer.user_id, viewer.client_id, viewer.scopes) == (
        claire.id,
        mobile.client.client_id,
        {"tenants:read", "office"},
    )


async def test_a_wrong_verifier_is_invalid_grant(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    code = await obtain_code(http, mobile.client.client_id)
    for verifier in (new_verifier(), CHALLENGE, "short"):
        response = await exchange(http, mobile.client.client_id, code, verifier)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    # A failed attempt does not burn the code for its rightful holder.
    assert (await exchange(http, mobile.client.client_id, code)).status_code == 200


async def test_a_missing_verifier_is_invalid_request(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    code = await obtain_code(http, mobile.client.client_id)
    response = await exchange(http, mobile.client.client_id, code, verifier=None)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_a_reused_code_is_refused_and_revokes_the_first_token(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    code = await obtain_code(http, mobile.client.client_id)
    first = await exchange(http, mobile.client.client_id, code)
    token = first.json()["access_token"]
    assert await tokens.verify_access_token(token) is not None
    second = await exchange(http, mobile.client.client_id, code)
    assert (second.status_code, second.json()["error"]) == (400, "invalid_grant")
    assert await tokens.verify_access_token(token) is None


async def test_an_expired_code_is_invalid_grant(
    http: httpx.AsyncClient,
    claire: people.User,
    mobile: oauth_clients.NewClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen = FrozenClock(monkeypatch)
    code = await obtain_code(http, mobile.client.client_id)
    frozen.advance(minutes=4, seconds=59)
    fresh = await obtain_code(http, mobile.client.client_id)
    frozen.advance(seconds=2)
    response = await exchange(http, mobile.client.client_id, code)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    assert (await exchange(http, mobile.client.client_id, fresh)).status_code == 200


async def test_a_redirect_uri_differing_at_the_token_endpoint_is_invalid_grant(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    code = await obtain_code(http, mobile.client.client_id)
    response = await exchange(
        http, mobile.client.client_id, code, redirect_uri="https://evil.example/callback"
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_a_redirect_uri_named_in_the_request_is_required_at_the_token_endpoint(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    code = await obtain_code(http, mobile.client.client_id)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": mobile.client.client_id,
        "code_verifier": VERIFIER,
    }
    response = await http.post("/oauth/token", data=data)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_a_code_is_good_for_its_own_client_only(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    code = await obtain_code(http, mobile.client.client_id)
    thief = await public_client(name="Autre appli")
    response = await exchange(http, thief.client.client_id, code)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_an_unknown_code_is_invalid_grant(
    http: httpx.AsyncClient, mobile: oauth_clients.NewClient
) -> None:
    response = await exchange(http, mobile.client.client_id, "made-up-code")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_a_user_deactivated_before_the_exchange_gets_nothing(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    code = await obtain_code(http, mobile.client.client_id)
    await people.User.filter(id=claire.id).update(active=False)
    response = await exchange(http, mobile.client.client_id, code)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_a_confidential_client_must_authenticate_to_exchange_its_code(
    http: httpx.AsyncClient, claire: people.User
) -> None:
    web = await confidential_client(scopes=("tenants:read",), redirect_uris=(REDIRECT_URI,))
    assert web.secret is not None
    code = await obtain_code(http, web.client.client_id)
    anonymous = await exchange(http, web.client.client_id, code)
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_client")
    response = await exchange(http, web.client.client_id, code, client_secret=web.secret)
    assert response.status_code == 200
    assert response.json()["scope"] == "tenants:read"


async def test_consent_decisions_are_audited(
    http: httpx.AsyncClient, claire: people.User, mobile: oauth_clients.NewClient
) -> None:
    from regie.db import auth

    await approve(http, authorize_url(mobile.client.client_id, CHALLENGE))
    await approve(http, authorize_url(mobile.client.client_id, CHALLENGE), "deny")
    events = await auth.AuditEvent.filter(action="oauth.consent").order_by("id")
    assert [(e.actor, e.outcome) for e in events] == [
        (f"user:{claire.id}", "ok"),
        (f"user:{claire.id}", "denied"),
    ]
    assert all(mobile.client.client_id in e.detail for e in events)
