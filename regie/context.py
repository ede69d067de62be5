"""The per-request context shared by GraphQL and the frontends: who asks, on which day, and the loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from regie.resolvers.loaders import Loaders
from regie.services.access import Viewer
from regie.services.clock import office_today


@dataclass
class Context:
    viewer: Viewer
    surface: str = "graphql"
    """Which surface the request came through: graphql, wml, html (for the audit log)."""
    today: date = field(default_factory=office_today)
    loaders: Loaders = field(default_factory=Loaders)
