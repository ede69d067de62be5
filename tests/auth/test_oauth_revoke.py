"""POST /oauth/revoke (RFC 7009): a client revokes its own tokens, and only its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from regie.auth import tokens
from regie.services import oauth_clients
from tests.auth.oauth_support import (
    SignedIn,
    browser,
    confidential_client,
    oauth_app,
    public_client,
)


@pytest.fixture
async def http(db: object) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(oauth_app(SignedIn())) as client:
        yield client


@pytest.fixture
async def treasury(db: object) -> oauth_clients.NewClient:
    return await confidential_client()


def auth(client: oauth_clients.NewClient) -> httpx.BasicAuth:
    return httpx.BasicAuth(client.client.client_id, client.secret or "")


async def token_of(client: oauth_clients.NewClient) -> str:
    return await tokens.issue_access_token(
        client_id=client.client.client_id, scopes=client.client.scope_set
    )


async def test_a_client_revokes_its_token(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    token = await token_of(treasury)
    response = await http.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "access_token"},
        auth=auth(treasury),
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert await tokens.verify_access_token(token) is None
    again = await http.post("/oauth/revoke", data={"token": token}, auth=auth(treasury))
    assert again.status_code == 200


async def test_a_public_client_revokes_with_its_id(http: httpx.AsyncClient) -> None:
    mobile = await public_client()
    token = await token_of(mobile)
    response = await http.post(
        "/oauth/revoke", data={"token": token, "client_id": mobile.client.client_id}
    )
    assert response.status_code == 200
    assert await tokens.verify_access_token(token) is None


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 5000])
async def test_an_unknown_token_is_still_200(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient, token: str
) -> None:
    response = await http.post(
        "/oauth/revoke",
        data={"token": token, "token_type_hint": "refresh_token"},
        auth=auth(treasury),
    )
    assert response.status_code == 200


async def test_revocation_requires_client_authentication(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    token = await token_of(treasury)
    for credentials in (None, httpx.BasicAuth(treasury.client.client_id, "wrong" * 10)):
        response = await http.post("/oauth/revoke", data={"token": token}, auth=credentials)
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert await tokens.verify_access_token(token) is not None


async def test_a_client_cannot_revoke_another_clients_token(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    other = await confidential_client(name="Intégration")
    token = await token_of(other)
    response = await http.post("/oauth/revoke", data={"token": token}, auth=auth(treasury))
    assert (response.status_code, response.json()["error"]) == (400, "unauthorized_client")
    assert await tokens.verify_access_token(token) is not None


async def test_revocation_needs_the_token_parameter(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    response = await http.post("/oauth/revoke", data={}, auth=auth(treasury))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
