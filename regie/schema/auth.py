"""GraphQL of sign-in, the signed-in user, and admin actions on sessions, devices and the audit log."""

# Resolver fields return service dataclasses or ORM rows that Strawberry reads the GraphQL type from.
# mypy: disable-error-code="assignment"

from __future__ import annotations

from datetime import datetime

import strawberry

from regie.db.people import Role
from regie.resolvers import auth as resolve

strawberry.enum(Role, description="What a user does: collector in the field, office staff, admin.")


@strawberry.type(description="A new session. Keep the token secret; it expires at expiresAt (UTC).")
class SignInResult:
    token: str = strawberry.field(description="The session token (send it as the session cookie).")
    expires_at: datetime = strawberry.field(description="Absolute end of the session (UTC).")


@strawberry.type(description="The signed-in user.")
class Me:
    username: str = strawberry.field(description="Sign-in name.")
    full_name: str = strawberry.field(description="Name as shown to colleagues.")
    role: Role = strawberry.field(description="Collector, office staff or admin.")
    scopes: list[str] = strawberry.field(description="What this session or token may do.")


@strawberry.type(description="One event of the append-only, hash-chained audit log.")
class AuditEvent:
    id: int = strawberry.field(description="Position in the log.")
    at: datetime = strawberry.field(description="When it happened (UTC).")
    actor: str = strawberry.field(description="user:ID, client:ID or anonymous.")
    surface: str = strawberry.field(description="graphql, wml, html, cli or push.")
    action: str = strawberry.field(description="What was done, e.g. account.read, sign-in.")
    tenant_code: str | None = strawberry.field(description="The tenant concerned, if any.")
    outcome: str = strawberry.field(description="ok, denied or failed.")
    detail: str = strawberry.field(description="Context without personal secrets.")
    hash: str = strawberry.field(description="SHA-256 chaining this event to the previous one.")


@strawberry.type
class AuthQuery:
    me: Me | None = strawberry.field(
        resolver=resolve.me, description="The signed-in user; null if anonymous."
    )
    audit_events: list[AuditEvent] = strawberry.field(
        resolver=resolve.audit_events,
        description="Admins only: audit events, newest first ('first' ≤ 100), by tenant or actor.",
    )


@strawberry.type
class AuthMutation:
    sign_in: SignInResult = strawberry.field(
        resolver=resolve.sign_in,
        description="Office staff and admins: open a session with a password. Rate-limited.",
    )
    sign_in_collector: SignInResult = strawberry.field(
        resolver=resolve.sign_in_collector,
        description="Collectors: open a session with an enrolled device's secret and a PIN. Rate-limited.",
    )
    sign_out: bool = strawberry.field(
        resolver=resolve.sign_out, description="End the current session; false when there is none."
    )
    revoke_sessions: int = strawberry.field(
        resolver=resolve.revoke_sessions,
        description="Admins only: end every session of a user now (lost phone). Returns how many.",
    )
    revoke_device: bool = strawberry.field(
        resolver=resolve.revoke_device,
        description="Admins only: a lost phone no longer signs in and its sessions end now.",
    )
