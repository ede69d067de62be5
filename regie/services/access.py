"""Who is asking, and what they may do. Every read and write of tenant data is checked here.

A *viewer* is the principal of one request: a signed-in user (collector, office staff, admin)
or a machine client holding an OAuth2 token. What it may do is the set of its **scopes**:

- a user's session carries every scope of the user's role;
- an OAuth2 access token carries exactly the scopes granted to it (never more than its user's or
  its client's).

A collector sees only the tenants whose current dwelling lies in one of their sectors'
communes; for them a tenant outside those communes does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from regie.db.people import Role

TENANTS_READ = "tenants:read"
"""Read tenants, leases and accounts (within the viewer's communes)."""
FIELD_WRITE = "field:write"
"""Record field work for tenants one may read: declared payments, visits, promises."""
OFFICE = "office"
"""Office work: imports, the unmatched queue, reports, all sectors."""
ADMIN = "admin"
"""Users, sectors, devices, OAuth clients, the audit log."""
CONFIRMATIONS_WRITE = "confirmations:write"
"""Post treasury confirmations (the treasury's machine client). Grants no read at all."""

ALL_SCOPES = (TENANTS_READ, FIELD_WRITE, OFFICE, ADMIN, CONFIRMATIONS_WRITE)

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.COLLECTOR: frozenset({TENANTS_READ, FIELD_WRITE}),
    Role.OFFICE: frozenset({TENANTS_READ, FIELD_WRITE, OFFICE}),
    Role.ADMIN: frozenset({TENANTS_READ, FIELD_WRITE, OFFICE, ADMIN}),
}


@dataclass(frozen=True)
class Viewer:
    user_id: int | None
    """The signed-in user; ``None`` for a machine client."""
    role: Role | None
    """The user's role; ``None`` for a machine client."""
    commune_ids: frozenset[int] | None
    """The communes whose tenants this viewer may see; ``None`` means all of them."""
    scopes: frozenset[str]
    client_id: str | None = None
    """The OAuth2 client the request came through, if any."""
    session_id: int | None = None
    """The sign-in session, for cookie and WML sessions."""

    @classmethod
    def office_wide(cls, user_id: int | None = None, role: Role = Role.OFFICE) -> Viewer:
        """A user who sees every tenant (office staff, admins; tests and scripts)."""
        return cls(user_id=user_id, role=role, commune_ids=None, scopes=ROLE_SCOPES[role])

    @property
    def label(self) -> str:
        """How the audit log names this viewer: ``user:12``, ``client:treasury``."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return f"client:{self.client_id}"

    def sees_commune(self, commune_id: int) -> bool:
        return self.commune_ids is None or commune_id in self.commune_ids

    def may(self, scope: str) -> bool:
        return scope in self.scopes


class AccessDenied(PermissionError):
    """The viewer may not do this. Surfaces answer with a generic refusal, never the details."""


def require_scope(viewer: Viewer, scope: str) -> None:
    if scope not in viewer.scopes:
        raise AccessDenied(f"requires the scope {scope}")


def require_role(viewer: Viewer, *roles: Role) -> None:
    """Refuse unless the viewer is a user holding one of ``roles``."""
    if viewer.role not in roles:
        raise AccessDenied(f"requires one of the roles {', '.join(r.value for r in roles)}")


def require_office(viewer: Viewer) -> None:
    """Imports, the unmatched queue and reports are office work (office staff and admins)."""
    require_scope(viewer, OFFICE)


def require_admin(viewer: Viewer) -> None:
    require_scope(viewer, ADMIN)


def granted_scopes(requested: frozenset[str] | None, allowed: frozenset[str]) -> frozenset[str]:
    """What a token gets: the scopes requested (all allowed when none are named) within those allowed."""
    return allowed if requested is None else requested & allowed
