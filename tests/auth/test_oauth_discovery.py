"""GET /.well-known/jwks.json and /.well-known/oauth-authorization-server (RFC 8414)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from regie.auth import tokens
from regie.settings import load_settings
from tests.auth.oauth_support import SignedIn, browser, oauth_app


@pytest.fixture
async def http(db: object) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(oauth_app(SignedIn())) as client:
        yield client


async def test_the_metadata_describes_exactly_what_the_server_does(http: httpx.AsyncClient) -> None:
    response = await http.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.json() == {
        "issuer": "http://127.0.0.1:8000",
        "authorization_endpoint": "http://127.0.0.1:8000/oauth/authorize",
        "token_endpoint": "http://127.0.0.1:8000/oauth/token",
        "jwks_uri": "http://127.0.0.1:8000/.well-known/jwks.json",
        "revocation_endpoint": "http://127.0.0.1:8000/oauth/revoke",
        "scopes_supported": [
            "tenants:read",
            "field:write",
            "office",
            "admin",
            "confirmations:write",
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


async def test_the_metadata_follows_the_configured_issuer(db: object) -> None:
    settings = load_settings(
        {"REGIE_ISSUER": "https://regie.office.example/", "REGIE_SECRET_KEY": "k" * 40}
    )
    async with browser(oauth_app(SignedIn(), settings)) as http:
        body = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert body["issuer"] == "https://regie.office.example"
    assert body["token_endpoint"] == "https://regie.office.example/oauth/token"


async def test_the_jwks_publishes_public_keys_that_verify_our_tokens(
    http: httpx.AsyncClient,
) -> None:
    token = await tokens.issue_access_token(client_id="treasury", scopes={"confirmations:write"})
    response = await http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")
    body = response.json()
    assert all("d" not in key for key in body["keys"])
    assert [(k["kty"], k["use"], k["alg"]) for k in body["keys"]] == [("EC", "sig", "ES256")]
    claims = jwt.decode(token, KeySet.import_key_set(body), algorithms=["ES256"]).claims
    assert claims["client_id"] == "treasury"


def test_the_issuer_setting_is_validated() -> None:
    for bad in ("ftp://x", "https://x/?a=1", "https://x/#f", "not a url"):
        with pytest.raises(ValueError, match="REGIE_ISSUER"):
            load_settings({"REGIE_ISSUER": bad})
    with pytest.raises(ValueError, match="REGIE_ISSUER must be an https URL"):
        load_settings({"REGIE_ENV": "production", "REGIE_SECRET_KEY": "k" * 40})


def test_the_secret_key_is_required_and_long_in_production() -> None:
    production = {"REGIE_ENV": "production", "REGIE_ISSUER": "https://regie.example"}
    with pytest.raises(ValueError, match="REGIE_SECRET_KEY is required"):
        load_settings(production)
    with pytest.raises(ValueError, match="at least 32"):
        load_settings({**production, "REGIE_SECRET_KEY": "short"})
    assert load_settings({**production, "REGIE_SECRET_KEY": "k" * 32}).secret_key == "k" * 32


def test_development_generates_one_secret_key_per_process_and_never_shows_it() -> None:
    first, second = load_settings({}), load_settings({})
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    assert first.secret_key not in repr(first)
