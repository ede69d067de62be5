"""POST /oauth/token with client_credentials: client authentication, scopes, RFC 6749 errors."""

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
    return await confidential_client(scopes=("confirmations:write", "tenants:read"))


def basic(client: oauth_clients.NewClient, secret: str | None = None) -> httpx.BasicAuth:
    return httpx.BasicAuth(client.client.client_id, secret or client.secret or "")


async def test_client_credentials_with_basic_authentication(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "confirmations:write"},
        auth=basic(treasury),
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == "confirmations:write"
    claims = await tokens.verify_access_token(body["access_token"])
    assert claims is not None
    assert (claims.client_id, claims.user_id, claims.scopes) == (
        treasury.client.client_id,
        None,
        {"confirmations:write"},
    )


async def test_client_credentials_with_the_secret_in_the_body(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    response = await http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": treasury.client.client_id,
            "client_secret": treasury.secret or "",
        },
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "confirmations:write tenants:read"  # all, none named


@pytest.mark.parametrize("where", ["basic", "body"])
async def test_a_wrong_secret_is_invalid_client_401(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient, where: str
) -> None:
    secret = treasury.secret or ""
    wrong = secret[:-2] + ("yy" if secret.endswith("zz") else "zz")  # always differs
    if where == "basic":
        response = await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=basic(treasury, wrong)
        )
    else:
        response = await http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": treasury.client.client_id,
                "client_secret": wrong,
            },
        )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert "access_token" not in response.text


async def test_an_unknown_client_is_invalid_client(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=httpx.BasicAuth("nobody", "x" * 43),
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_no_client_authentication_at_all_is_invalid_client(http: httpx.AsyncClient) -> None:
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_two_authentication_methods_at_once_are_refused(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_secret": treasury.secret or ""},
        auth=basic(treasury),
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_a_deactivated_client_gets_no_token(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    await oauth_clients.deactivate_client(treasury.client.client_id)
    response = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=basic(treasury)
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_a_scope_beyond_the_clients_is_invalid_scope(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin office"},
        auth=basic(treasury),
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")


async def test_a_partly_allowed_scope_is_narrowed_and_says_so(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "confirmations:write admin"},
        auth=basic(treasury),
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "confirmations:write"
    claims = await tokens.verify_access_token(response.json()["access_token"])
    assert claims is not None and claims.scopes == {"confirmations:write"}


async def test_a_public_client_may_not_use_client_credentials(http: httpx.AsyncClient) -> None:
    mobile = await public_client()
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": mobile.client.client_id},
    )
    assert (response.status_code, response.json()["error"]) == (400, "unauthorized_client")


async def test_a_confidential_client_without_the_code_grant_may_not_use_it(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": "x"},
        auth=basic(treasury),
    )
    assert (response.status_code, response.json()["error"]) == (400, "unauthorized_client")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "x"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": 'bad"scope'}, "invalid_scope"),
    ],
)
async def test_rfc_6749_errors(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient, data: dict[str, str], error: str
) -> None:
    response = await http.post("/oauth/token", data=data, auth=basic(treasury))
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


async def test_a_repeated_parameter_is_invalid_request(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    response = await http.post(
        "/oauth/token",
        content="grant_type=client_credentials&scope=tenants:read&scope=admin",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=basic(treasury),
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_a_json_body_is_invalid_request(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    response = await http.post(
        "/oauth/token", json={"grant_type": "client_credentials"}, auth=basic(treasury)
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_the_token_endpoint_answers_post_only(http: httpx.AsyncClient) -> None:
    response = await http.get("/oauth/token", params={"grant_type": "client_credentials"})
    assert response.status_code == 405


async def test_token_requests_are_audited_without_secrets(
    http: httpx.AsyncClient, treasury: oauth_clients.NewClient
) -> None:
    from regie.db import auth

    ok = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=basic(treasury)
    )
    wrong = "wrong-secret-" * 4
    await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=basic(treasury, wrong)
    )
    events = await auth.AuditEvent.filter(action="oauth.token").order_by("id")
    actor = f"client:{treasury.client.client_id}"
    assert [(e.actor, e.surface, e.outcome) for e in events] == [
        (actor, "oauth", "ok"),
        (actor, "oauth", "failed"),
    ]
    assert "invalid_client" in events[1].detail
    for event in events:
        for secret in (treasury.secret or "", wrong, ok.json()["access_token"]):
            assert secret not in event.detail
