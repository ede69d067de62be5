"""OAuth2: registered clients, authorization codes, revoked access tokens, token-signing keys.

Nothing secret is stored in the clear except the signing keys' private JWKs: a client's secret and
an authorization code are stored as SHA-256 digests (both are long random strings, so a fast hash
is enough; see :mod:`regie.services.oauth_clients`). Space-separated lists (scopes, grant types,
redirect URIs) use the OAuth wire format: none of their items may contain a space.
"""

from __future__ import annotations

from datetime import datetime

from tortoise import fields
from tortoise.models import Model

from regie.db.people import User


class OAuthClient(Model):
    """An application allowed to obtain access tokens: confidential (holds a secret) or public."""

    id = fields.IntField(primary_key=True)
    client_id = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=120)
    secret_hash = fields.CharField(
        max_length=100,
        null=True,
        description="sha256: + hex digest of the secret, NULL for a public client",
    )
    redirect_uris = fields.TextField(
        default="", description="Registered redirect URIs, space-separated, matched exactly"
    )
    grant_types = fields.CharField(
        max_length=200, description="Allowed grant types, space-separated"
    )
    scopes = fields.CharField(max_length=200, description="Allowed scopes, space-separated")
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    deactivated_at: datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_client"

    @property
    def is_public(self) -> bool:
        """A public client (a smartphone app) holds no secret and authenticates with ``none``."""
        return self.secret_hash is None

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def grant_type_set(self) -> frozenset[str]:
        return frozenset(self.grant_types.split())

    @property
    def redirect_uri_list(self) -> list[str]:
        return self.redirect_uris.split()


class OAuthAuthorizationCode(Model):
    """A single-use authorization code (RFC 6749 §4.1) bound to a PKCE S256 challenge (RFC 7636)."""

    id = fields.IntField(primary_key=True)
    code_hash = fields.CharField(max_length=64, unique=True, description="SHA-256 hex digest")
    client: fields.ForeignKeyRelation[OAuthClient] = fields.ForeignKeyField(
        "regie.OAuthClient", related_name="authorization_codes", on_delete=fields.CASCADE
    )
    client_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "regie.User", related_name="authorization_codes", on_delete=fields.CASCADE
    )
    user_id: int
    redirect_uri = fields.TextField()
    redirect_uri_in_request = fields.BooleanField(
        description="The authorization request named redirect_uri, so the token request must too"
    )
    scope = fields.CharField(max_length=200, description="Granted scopes, space-separated")
    code_challenge = fields.CharField(max_length=128, description="PKCE S256 challenge")
    created_at: datetime = fields.DatetimeField()
    expires_at: datetime = fields.DatetimeField(db_index=True)
    used_at: datetime | None = fields.DatetimeField(null=True)
    issued_jti = fields.CharField(
        max_length=64, null=True, description="The access token the code was exchanged for"
    )
    issued_expires_at: datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_authorization_code"


class OAuthRevokedToken(Model):
    """An access token revoked before its expiry, purgeable once ``expires_at`` has passed."""

    jti = fields.CharField(max_length=64, primary_key=True)
    expires_at: datetime = fields.DatetimeField(db_index=True)
    revoked_at: datetime = fields.DatetimeField()

    class Meta:
        table = "oauth_revoked_token"


class OAuthSigningKey(Model):
    """A key signing access tokens. The newest unretired key signs, retired keys stay published
    in the JWKS until every token they signed has expired."""

    id = fields.IntField(primary_key=True)
    kid = fields.CharField(max_length=64, unique=True, description="RFC 7638 thumbprint")
    algorithm = fields.CharField(max_length=10)
    private_jwk = fields.TextField(description="The private key as a JSON Web Key (JSON text)")
    created_at: datetime = fields.DatetimeField()
    retired_at: datetime | None = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_signing_key"
