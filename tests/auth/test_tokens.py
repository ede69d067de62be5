"""Access tokens (RFC 9068): what they carry, and every way a forged or stale one is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from regie.auth import tokens
from regie.db import oauth, people
from regie.services import clock, oauth_clients
from regie.settings import load_settings
from tests import factories
from tests.auth.oauth_support import FrozenClock, confidential_client, user

pytestmark = pytest.mark.usefixtures("db")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(header + "==")),
        json.loads(base64.urlsafe_b64decode(payload + "==")),
    )


def valid_claims(**changes: Any) -> dict[str, Any]:
    now = int(clock.now_utc().timestamp())
    claims = {
        "iss": "http://127.0.0.1:8000",
        "aud": "http://127.0.0.1:8000",
        "sub": "client:treasury",
        "client_id": "treasury",
        "scope": "confirmations:write",
        "iat": now,
        "exp": now + 600,
        "jti": "forged-jti",
    }
    claims.update(changes)
    return claims


async def our_key() -> tuple[str, ECKey]:
    row = await tokens.current_signing_key()
    return row.kid, ECKey.import_key(json.loads(row.private_jwk))


async def client_token(**kwargs: Any) -> str:
    return await tokens.issue_access_token(
        client_id="treasury", scopes={"confirmations:write"}, **kwargs
    )


async def test_a_token_is_an_rfc9068_jwt_verifiable_with_the_published_keys() -> None:
    office = await user("claire")
    token = await tokens.issue_access_token(
        client_id="mobile", scopes={"tenants:read", "office"}, user_id=office.id
    )
    header, claims = parts(token)
    assert header == {"typ": "at+jwt", "alg": "ES256", "kid": header["kid"]}
    assert claims["iss"] == claims["aud"] == "http://127.0.0.1:8000"
    assert claims["sub"] == f"user:{office.id}"
    assert claims["client_id"] == "mobile"
    assert claims["scope"] == "office tenants:read"
    assert claims["exp"] - claims["iat"] == 600
    assert len(claims["jti"]) >= 22
    # A third party verifies it with the JWKS alone.
    key_set = KeySet.import_key_set(await tokens.jwks())  # type: ignore[arg-type]
    assert jwt.decode(token, key_set, algorithms=["ES256"]).claims == claims


async def test_a_fresh_token_verifies_with_its_exact_scopes() -> None:
    office = await user("claire")
    token = await tokens.issue_access_token(
        client_id="mobile", scopes={"tenants:read"}, user_id=office.id
    )
    claims = await tokens.verify_access_token(token)
    assert claims is not None
    assert (claims.user_id, claims.client_id, claims.scopes) == (
        office.id,
        "mobile",
        frozenset({"tenants:read"}),
    )


async def test_a_client_token_has_no_user() -> None:
    claims = await tokens.verify_access_token(await client_token())
    assert claims is not None
    assert (claims.user_id, claims.subject) == (None, "client:treasury")


async def test_an_expired_token_is_refused_after_a_small_leeway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen = FrozenClock(monkeypatch)
    token = await client_token()
    frozen.advance(minutes=10, seconds=20)
    assert await tokens.verify_access_token(token) is not None  # within 30 s of clock skew
    frozen.advance(seconds=15)
    assert await tokens.verify_access_token(token) is None


async def test_a_token_issued_in_the_future_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = FrozenClock(monkeypatch)
    token = await client_token()
    frozen.advance(minutes=-5)
    assert await tokens.verify_access_token(token) is None


async def test_a_revoked_token_is_refused() -> None:
    token = await client_token()
    claims = await tokens.verify_access_token(token)
    assert claims is not None
    await oauth_clients.revoke_token_id(claims.jti, claims.expires_at)
    assert await tokens.verify_access_token(token) is None


async def test_a_token_signed_by_another_key_with_our_kid_is_refused() -> None:
    kid, _ = await our_key()
    other = ECKey.generate_key("P-256")
    forged = jwt.encode({"typ": "at+jwt", "alg": "ES256", "kid": kid}, valid_claims(), other)
    assert await tokens.verify_access_token(forged) is None


async def test_a_token_naming_an_unknown_kid_is_refused() -> None:
    await our_key()
    other = ECKey.generate_key("P-256", auto_kid=True)
    forged = jwt.encode(
        {"typ": "at+jwt", "alg": "ES256", "kid": other.kid or "x"}, valid_claims(), other
    )
    assert await tokens.verify_access_token(forged) is None


async def test_an_unsigned_alg_none_token_is_refused() -> None:
    kid, _ = await our_key()
    header = b64(json.dumps({"typ": "at+jwt", "alg": "none", "kid": kid}).encode())
    payload = b64(json.dumps(valid_claims()).encode())
    assert await tokens.verify_access_token(f"{header}.{payload}.") is None


async def test_hs256_signed_with_our_public_key_as_secret_is_refused() -> None:
    kid, key = await our_key()
    for secret in (key.as_pem(private=False), json.dumps(key.as_dict(private=False)).encode()):
        header = b64(json.dumps({"typ": "at+jwt", "alg": "HS256", "kid": kid}).encode())
        payload = b64(json.dumps(valid_claims()).encode())
        signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        assert await tokens.verify_access_token(f"{header}.{payload}.{b64(signature)}") is None


async def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = (await client_token()).split(".")
    payload = b64(json.dumps(valid_claims(scope="confirmations:write admin")).encode())
    assert await tokens.verify_access_token(f"{header}.{payload}.{signature}") is None


async def test_a_token_for_another_issuer_or_audience_is_refused() -> None:
    kid, key = await our_key()
    header = {"typ": "at+jwt", "alg": "ES256", "kid": kid}
    assert await tokens.verify_access_token(jwt.encode(header, valid_claims(), key)) is not None
    for changed in ({"iss": "https://evil.example"}, {"aud": "https://other-api.example"}):
        forged = jwt.encode(header, valid_claims(**changed), key)
        assert await tokens.verify_access_token(forged) is None
    elsewhere = load_settings({"REGIE_ISSUER": "https://regie.office.example"})
    token = await client_token()
    assert await tokens.verify_access_token(token, settings=elsewhere) is None


async def test_another_jwt_of_ours_is_not_an_access_token() -> None:
    """Our key signing some other JWT (``typ: JWT``), or a header asking to fetch a key, is refused."""
    kid, key = await our_key()
    for header in (
        {"typ": "JWT", "alg": "ES256", "kid": kid},
        {"alg": "ES256", "kid": kid},
        {"typ": "at+jwt", "alg": "ES256", "kid": kid, "jku": "https://evil.example/jwks"},
    ):
        assert await tokens.verify_access_token(jwt.encode(header, valid_claims(), key)) is None


async def test_claims_must_be_well_formed() -> None:
    kid, key = await our_key()
    header = {"typ": "at+jwt", "alg": "ES256", "kid": kid}
    for broken in (
        {"sub": "client:someone-else"},  # a client token names its own client
        {"sub": "user:abc"},
        {"scope": "nothing-we-know"},
        {"jti": None},
        {"exp": valid_claims()["iat"] + 7200},  # longer than any token we issue
    ):
        forged = jwt.encode(header, valid_claims(**broken), key)
        assert await tokens.verify_access_token(forged) is None, broken
    nested = b64(b"[" * 1400 + b"]" * 1400)
    for garbage in ("", "a.b", "a.b.c", "x" * 5000, "ey.ey.ey", f"{nested}.e30.x", "é.é.é"):
        assert await tokens.verify_access_token(garbage) is None


async def test_the_signing_key_is_generated_once_then_reused() -> None:
    first = await tokens.jwks()
    second = await tokens.jwks()
    assert first == second
    assert await oauth.OAuthSigningKey.all().count() == 1
    (key,) = first["keys"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256"
    assert "d" not in key  # the private part is never published


async def test_a_rotation_keeps_old_tokens_valid_until_they_expire(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen = FrozenClock(monkeypatch)
    old_token = await client_token()
    old_kid = parts(old_token)[0]["kid"]
    frozen.advance(minutes=1)
    await tokens.rotate_signing_key()
    new_token = await client_token()
    assert parts(new_token)[0]["kid"] != old_kid
    assert await tokens.verify_access_token(old_token) is not None
    assert await tokens.verify_access_token(new_token) is not None
    assert {k["kid"] for k in (await tokens.jwks())["keys"]} == {
        old_kid,
        parts(new_token)[0]["kid"],
    }
    frozen.advance(hours=1, minutes=1)
    assert [k["kid"] for k in (await tokens.jwks())["keys"]] == [parts(new_token)[0]["kid"]]


async def test_a_retired_key_verifies_nothing_signed_after_its_retirement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen = FrozenClock(monkeypatch)
    kid, old_key = await our_key()
    await tokens.rotate_signing_key()
    frozen.advance(minutes=5)
    forged = jwt.encode({"typ": "at+jwt", "alg": "ES256", "kid": kid}, valid_claims(), old_key)
    assert await tokens.verify_access_token(forged) is None


async def test_purge_forgets_what_can_no_longer_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = FrozenClock(monkeypatch)
    claims = await tokens.verify_access_token(await client_token())
    assert claims is not None
    await oauth_clients.revoke_token_id(claims.jti, claims.expires_at)
    await tokens.rotate_signing_key()
    assert await tokens.purge_expired() == 0
    frozen.advance(hours=2)
    assert await tokens.purge_expired() == 2
    assert await oauth.OAuthRevokedToken.all().count() == 0
    assert await oauth.OAuthSigningKey.all().count() == 1


async def test_tokens_need_scopes_and_a_bounded_lifetime() -> None:
    with pytest.raises(ValueError, match="at least one scope"):
        await tokens.issue_access_token(client_id="x", scopes=set())
    with pytest.raises(ValueError, match="unknown scopes"):
        await tokens.issue_access_token(client_id="x", scopes={"root"})
    with pytest.raises(ValueError, match="lives between"):
        await client_token(lifetime=timedelta(hours=2))


# --- the viewer a bearer token gives ------------------------------------------------------


async def test_a_collectors_token_sees_their_sector_with_the_token_scopes_only() -> None:
    collector = await factories.collector_with_sector("jldelmas", "Moissac")
    moissac = await factories.commune("Moissac")
    mobile = await oauth_clients.create_client(
        "Appli", scopes=["tenants:read", "field:write"], redirect_uris=["https://a.example/cb"]
    )
    token = await tokens.issue_access_token(
        client_id=mobile.client.client_id, scopes={"tenants:read"}, user_id=collector.id
    )
    viewer = await tokens.viewer_from_access_token(token)
    assert viewer is not None
    assert (viewer.user_id, viewer.role, viewer.client_id) == (
        collector.id,
        people.Role.COLLECTOR,
        mobile.client.client_id,
    )
    assert viewer.scopes == {"tenants:read"}
    assert viewer.commune_ids == {moissac.id}


async def test_a_client_credentials_token_sees_no_tenant() -> None:
    treasury = await confidential_client()
    token = await tokens.issue_access_token(
        client_id=treasury.client.client_id, scopes={"confirmations:write"}
    )
    viewer = await tokens.viewer_from_access_token(token)
    assert viewer is not None
    assert (viewer.user_id, viewer.role, viewer.commune_ids) == (None, None, frozenset())
    assert viewer.scopes == {"confirmations:write"}
    assert viewer.label == f"client:{treasury.client.client_id}"


async def test_deactivating_the_client_or_the_user_voids_their_tokens() -> None:
    office = await user("claire")
    mobile = await oauth_clients.create_client(
        "Appli", scopes=["tenants:read"], redirect_uris=["https://a.example/cb"]
    )
    token = await tokens.issue_access_token(
        client_id=mobile.client.client_id, scopes={"tenants:read"}, user_id=office.id
    )
    assert await tokens.viewer_from_access_token(token) is not None
    await people.User.filter(id=office.id).update(active=False)
    assert await tokens.viewer_from_access_token(token) is None
    await people.User.filter(id=office.id).update(active=True)
    await oauth_clients.deactivate_client(mobile.client.client_id)
    assert await tokens.viewer_from_access_token(token) is None


async def test_a_token_is_narrowed_to_what_its_user_may_do_now() -> None:
    office = await user("claire")
    token = await tokens.issue_access_token(
        client_id=tokens.CLI_CLIENT_ID, scopes={"tenants:read", "office"}, user_id=office.id
    )
    await people.User.filter(id=office.id).update(role=people.Role.COLLECTOR)
    viewer = await tokens.viewer_from_access_token(token)
    assert viewer is not None and viewer.scopes == {"tenants:read"}


async def test_an_unknown_client_or_a_cli_token_without_user_gives_no_viewer() -> None:
    assert await tokens.viewer_from_access_token(await client_token()) is None  # no such client
    cli = await tokens.issue_access_token(
        client_id=tokens.CLI_CLIENT_ID, scopes={"confirmations:write"}
    )
    assert await tokens.viewer_from_access_token(cli) is None
    assert await tokens.viewer_from_access_token("not a token") is None


# --- regie token --------------------------------------------------------------------------


async def test_an_operator_token_carries_the_users_role_scopes_or_fewer() -> None:
    office = await user("claire")
    issued = await tokens.issue_operator_token("claire")
    assert issued.scopes == {"tenants:read", "field:write", "office"}
    narrow = await tokens.issue_operator_token("claire", frozenset({"tenants:read"}))
    viewer = await tokens.viewer_from_access_token(narrow.token)
    assert viewer is not None
    assert (viewer.user_id, viewer.scopes, viewer.client_id) == (
        office.id,
        {"tenants:read"},
        "regie-cli",
    )


async def test_an_operator_token_never_exceeds_the_role_nor_outlives_an_hour() -> None:
    await user("jldelmas", people.Role.COLLECTOR)
    with pytest.raises(ValueError, match="does not include: admin"):
        await tokens.issue_operator_token("jldelmas", frozenset({"admin", "tenants:read"}))
    with pytest.raises(ValueError, match="lives between"):
        await tokens.issue_operator_token("jldelmas", lifetime=timedelta(minutes=61))


async def test_no_operator_token_for_an_unknown_or_inactive_user() -> None:
    gone = await user("parti")
    await people.User.filter(id=gone.id).update(active=False)
    for name in ("parti", "personne"):
        with pytest.raises(ValueError, match="no active user"):
            await tokens.issue_operator_token(name)
