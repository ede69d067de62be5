"""A third-party OAuth2 client library, unmodified (authlib's httpx client), against our server.

The first tests drive the OAuth2 routes alone (the signed-in user set by a test wrapper); the last
ones drive the whole application: a real office sign-in consents, and the access token then reads
tenants through GraphQL with ``Authorization: Bearer``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from starlette.applications import Starlette
from starlette.types import ASGIApp

from regie.auth import tokens
from regie.services import oauth_clients
from tests import factories
from tests.auth.oauth_support import (
    BASE_URL,
    REDIRECT_URI,
    SignedIn,
    approve,
    browser,
    confidential_client,
    oauth_app,
    public_client,
    session_viewer,
    user,
)

TOKEN_URL = f"{BASE_URL}/oauth/token"
AUTHORIZE_URL = f"{BASE_URL}/oauth/authorize"
REVOKE_URL = f"{BASE_URL}/oauth/revoke"
SEARCH = '{ searchTenants(text: "gall", first: 5) { edges { node { code } } } }'


def oauth_client(app: ASGIApp, **options: Any) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, **options)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_client_credentials(db: object, method: str) -> None:
    treasury = await confidential_client()
    client = oauth_client(
        oauth_app(SignedIn()),
        client_id=treasury.client.client_id,
        client_secret=treasury.secret,
        token_endpoint_auth_method=method,
        scope="confirmations:write",
    )
    async with client:
        token = await client.fetch_token(TOKEN_URL, grant_type="client_credentials")
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "confirmations:write"
        assert not token.is_expired()
        claims = await tokens.verify_access_token(token["access_token"])
        assert claims is not None and claims.client_id == treasury.client.client_id
        await client.revoke_token(REVOKE_URL, token=token["access_token"])
    assert await tokens.verify_access_token(token["access_token"]) is None


async def test_client_credentials_with_a_wrong_secret_is_reported_as_invalid_client(
    db: object,
) -> None:
    treasury = await confidential_client()
    client = oauth_client(
        oauth_app(SignedIn()),
        client_id=treasury.client.client_id,
        client_secret="not-the-secret-" * 3,
    )
    async with client:
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(TOKEN_URL, grant_type="client_credentials")
    assert refused.value.error == "invalid_client"


async def authorization_code_flow(
    app: ASGIApp, user_agent: httpx.AsyncClient, client_id: str, verifier: str, **options: Any
) -> tuple[AsyncOAuth2Client, dict[str, Any]]:
    """Run the flow as a mobile app would: authlib builds the URL, the user approves in the
    browser, authlib checks ``state`` and exchanges the code with the verifier."""
    client = oauth_client(
        app,
        client_id=client_id,
        token_endpoint_auth_method="none",
        redirect_uri=REDIRECT_URI,
        scope="tenants:read office",
        code_challenge_method="S256",
        **options,
    )
    url, _state = client.create_authorization_url(AUTHORIZE_URL, code_verifier=verifier)
    assert "code_challenge_method=S256" in url
    approved = await approve(user_agent, url)
    assert approved.status_code == 303, approved.text
    token = await client.fetch_token(
        TOKEN_URL, authorization_response=approved.headers["location"], code_verifier=verifier
    )
    return client, dict(token)


async def test_authorization_code_with_pkce_s256(db: object) -> None:
    mobile = await public_client()
    claire = await user("claire")
    app = oauth_app(SignedIn(session_viewer(claire)))
    async with browser(app) as user_agent:
        client, token = await authorization_code_flow(
            app, user_agent, mobile.client.client_id, generate_token(48)
        )
        await client.aclose()
    assert token["scope"] == "office tenants:read"
    viewer = await tokens.viewer_from_access_token(token["access_token"])
    assert viewer is not None
    assert (viewer.user_id, viewer.scopes) == (claire.id, {"tenants:read", "office"})


async def test_a_wrong_verifier_is_reported_as_invalid_grant(db: object) -> None:
    mobile = await public_client()
    claire = await user("claire")
    app = oauth_app(SignedIn(session_viewer(claire)))
    client = oauth_client(
        app,
        client_id=mobile.client.client_id,
        token_endpoint_auth_method="none",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    async with browser(app) as user_agent, client:
        url, _ = client.create_authorization_url(AUTHORIZE_URL, code_verifier=generate_token(48))
        approved = await approve(user_agent, url)
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(
                TOKEN_URL,
                authorization_response=approved.headers["location"],
                code_verifier=generate_token(48),
            )
    assert refused.value.error == "invalid_grant"


# --- the whole application ----------------------------------------------------------------


@pytest.fixture
async def tenants(db: object) -> None:
    await factories.tenant_with_lease("Le Gall", "Anne", code="1000001", commune_name="Moissac")


async def test_an_office_users_app_reads_tenants_with_its_token(
    tenants: None, app: Starlette, office_client: httpx.AsyncClient
) -> None:
    """Signed in for real (office password, session cookie), the user approves a mobile app,
    which then reads tenants through GraphQL with its bearer token only."""
    mobile = await public_client()
    client, token = await authorization_code_flow(
        app, office_client, mobile.client.client_id, generate_token(48)
    )
    try:
        body = (await client.post("/graphql", json={"query": SEARCH})).json()
    finally:
        await client.aclose()
    assert body.get("errors") is None, body
    assert [e["node"]["code"] for e in body["data"]["searchTenants"]["edges"]] == ["1000001"]
    assert token["scope"] == "office tenants:read"


async def test_a_treasury_token_reads_no_tenant(tenants: None, app: Starlette) -> None:
    treasury = await oauth_clients.create_client("Trésorerie", scopes=["confirmations:write"])
    client = oauth_client(app, client_id=treasury.client.client_id, client_secret=treasury.secret)
    async with client:
        await client.fetch_token(TOKEN_URL, grant_type="client_credentials")
        response = await client.post("/graphql", json={"query": SEARCH})
    assert "1000001" not in response.text


async def test_a_revoked_or_forged_bearer_token_reads_nothing(
    tenants: None, app: Starlette
) -> None:
    office = await user("claire")
    issued = await tokens.issue_operator_token(office.username)
    async with browser(app) as http:
        headers = {"authorization": f"Bearer {issued.token}"}
        ok = await http.post("/graphql", json={"query": SEARCH}, headers=headers)
        assert "1000001" in ok.text
        await oauth_clients.revoke_token_id(issued.jti, issued.expires_at)
        refused = await http.post("/graphql", json={"query": SEARCH}, headers=headers)
        assert "1000001" not in refused.text
        forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")
        refused = await http.post(
            "/graphql", json={"query": SEARCH}, headers={"authorization": f"Bearer {forged}"}
        )
        assert "1000001" not in refused.text
