"""Registering OAuth2 clients and authenticating them (the service behind the CLI and the demo)."""

from __future__ import annotations

import pytest

from regie.db import oauth
from regie.services import oauth_clients
from regie.services.oauth_clients import OAuthError
from tests.auth.oauth_support import REDIRECT_URI, confidential_client, public_client

pytestmark = pytest.mark.usefixtures("db")


async def test_a_confidential_client_gets_a_long_secret_shown_once_and_stored_hashed() -> None:
    created = await confidential_client()
    assert created.secret is not None and len(created.secret) >= 43
    stored = await oauth.OAuthClient.get(client_id=created.client.client_id)
    assert stored.secret_hash is not None
    assert created.secret not in stored.secret_hash
    assert stored.secret_hash.startswith("sha256:")
    assert not stored.is_public
    assert stored.grant_type_set == {"client_credentials"}
    client = await oauth_clients.authenticate_client(created.client.client_id, created.secret)
    assert client.id == stored.id


async def test_a_wrong_or_missing_secret_is_invalid_client() -> None:
    created = await confidential_client()
    assert created.secret is not None
    wrong = created.secret[:-1] + ("y" if created.secret.endswith("x") else "x")  # always differs
    for secret in (wrong, "", None):
        with pytest.raises(OAuthError) as refused:
            await oauth_clients.authenticate_client(created.client.client_id, secret)
        assert (refused.value.error, refused.value.status_code) == ("invalid_client", 401)


async def test_an_unknown_or_deactivated_client_is_invalid_client() -> None:
    created = await confidential_client()
    with pytest.raises(OAuthError, match="invalid_client"):
        await oauth_clients.authenticate_client("nobody", created.secret)
    assert await oauth_clients.deactivate_client(created.client.client_id)
    assert not await oauth_clients.deactivate_client(created.client.client_id)
    with pytest.raises(OAuthError, match="invalid_client"):
        await oauth_clients.authenticate_client(created.client.client_id, created.secret)


async def test_a_public_client_authenticates_by_id_alone_and_never_with_a_secret() -> None:
    created = await public_client()
    assert created.secret is None and created.client.is_public
    assert created.client.grant_type_set == {"authorization_code"}
    await oauth_clients.authenticate_client(created.client.client_id, None)
    with pytest.raises(OAuthError, match="invalid_client"):
        await oauth_clients.authenticate_client(created.client.client_id, "anything")


async def test_the_demo_office_may_choose_a_known_id_and_secret() -> None:
    secret = "demo-treasury-secret-0123456789-abcdef"
    created = await oauth_clients.create_client(
        "Trésorerie (démo)",
        scopes=["confirmations:write"],
        client_id="demo-treasury",
        secret=secret,
    )
    assert (created.client.client_id, created.secret) == ("demo-treasury", secret)
    await oauth_clients.authenticate_client("demo-treasury", secret)
    with pytest.raises(ValueError, match="taken"):
        await oauth_clients.create_client(
            "Again", scopes=["confirmations:write"], client_id="demo-treasury"
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scopes": []}, "at least one scope"),
        ({"scopes": ["root"]}, "unknown scopes: root"),
        ({"public": True}, "needs at least one redirect URI"),
        ({"redirect_uris": ["http://app.example/cb"]}, "must use https"),
        ({"redirect_uris": ["https://app.example/cb#frag"]}, "no fragment"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "must use https"),
        ({"secret": "short"}, "at least 32 characters"),
        ({"client_id": "regie-cli"}, "not reserved"),
        ({"client_id": "-a"}, "client id"),
        ({"public": True, "grant_types": ["client_credentials"]}, "public client cannot"),
        ({"public": True, "redirect_uris": [REDIRECT_URI], "secret": "x" * 40}, "no secret"),
    ],
)
async def test_client_registration_refuses_unsafe_settings(
    options: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {"scopes": ["tenants:read"], **options}
    with pytest.raises(ValueError, match=message):
        await oauth_clients.create_client("Appli", **arguments)  # type: ignore[arg-type]


async def test_loopback_and_private_use_redirect_uris_are_accepted_for_native_apps() -> None:
    created = await public_client(
        redirect_uris=(
            "http://127.0.0.1:8765/cb",
            "http://[::1]:8765/cb",
            "fr.office.regie:/oauth/callback",
        )
    )
    assert len(created.client.redirect_uri_list) == 3


async def test_redirect_uris_match_exactly() -> None:
    client = (await public_client(redirect_uris=(REDIRECT_URI,))).client
    assert oauth_clients.match_redirect_uri(client, REDIRECT_URI) == REDIRECT_URI
    assert oauth_clients.match_redirect_uri(client, None) == REDIRECT_URI  # the only one
    for near in (REDIRECT_URI + "/", REDIRECT_URI + "?x=1", REDIRECT_URI.upper(), "https://app"):
        assert oauth_clients.match_redirect_uri(client, near) is None
    two = (await public_client(redirect_uris=(REDIRECT_URI, "https://b.example/cb"))).client
    assert oauth_clients.match_redirect_uri(two, None) is None  # which one? never guess


async def test_clients_are_listed_without_their_secrets() -> None:
    first = await confidential_client()
    await public_client()
    listed = await oauth_clients.list_clients()
    assert [c.name for c in listed] == ["Trésorerie", "Appli mobile"]
    assert first.secret is not None
    assert all(first.secret not in repr(vars(c)) for c in listed)


def test_scopes_parse_per_rfc_6749() -> None:
    assert oauth_clients.parse_scope(None) is None
    assert oauth_clients.parse_scope("office tenants:read") == {"office", "tenants:read"}
    for malformed in ('a"b', "a\\b", "é"):
        with pytest.raises(OAuthError, match="invalid_scope"):
            oauth_clients.parse_scope(malformed)


def test_s256_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth_clients.s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
