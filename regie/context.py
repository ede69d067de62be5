"""The per-request context shared by GraphQL and the frontends: who asks, through which surface,
on which day, the dataloaders, and the audit events of the request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from regie.resolvers.loaders import Loaders
from regie.services.access import Viewer
from regie.services.audit import AuditTrail, actor_of
from regie.services.clock import office_today


class NotSignedIn(PermissionError):
    """The request carries no valid session or token."""


@dataclass
class Context:
    viewer: Viewer | None
    """``None`` for an anonymous request: it may only sign in."""
    surface: str = "graphql"
    """Which surface the request came through: graphql, wml, html (for the audit log)."""
    client_address: str | None = None
    """The caller's network address, for rate limits."""
    today: date = field(default_factory=office_today)
    loaders: Loaders = field(default_factory=Loaders)
    audit: AuditTrail = field(init=False)

    def __post_init__(self) -> None:
        self.audit = AuditTrail(actor_of(self.viewer), self.surface)

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise NotSignedIn("sign in first")
        return self.viewer
