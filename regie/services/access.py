"""Who is asking, and which tenants they may see. Every read of tenant data is scoped here.

A collector sees only the tenants whose current dwelling lies in one of their sectors' communes;
for them a tenant outside those communes does not exist. Office staff and admins see everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from regie.db.people import Role


@dataclass(frozen=True)
class Viewer:
    user_id: int | None
    role: Role
    commune_ids: frozenset[int] | None
    """The communes this viewer may see; ``None`` means all of them."""

    @classmethod
    def office_wide(cls, user_id: int | None = None, role: Role = Role.OFFICE) -> Viewer:
        return cls(user_id=user_id, role=role, commune_ids=None)

    def sees_commune(self, commune_id: int) -> bool:
        return self.commune_ids is None or commune_id in self.commune_ids


class AccessDenied(PermissionError):
    """The viewer may not do this. Surfaces answer with a generic refusal, never the details."""


def require_role(viewer: Viewer, *roles: Role) -> None:
    """Refuse unless the viewer holds one of ``roles`` (office work: ``Role.OFFICE, Role.ADMIN``)."""
    if viewer.role not in roles:
        raise AccessDenied(f"requires one of the roles {', '.join(r.value for r in roles)}")


def require_office(viewer: Viewer) -> None:
    """Imports, the unmatched queue and reports are office work (office staff and admins)."""
    require_role(viewer, Role.OFFICE, Role.ADMIN)
