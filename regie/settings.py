"""Every setting Régie reads, read once from the environment.

Nothing else in the package looks at ``os.environ``: the app factory, the CLI and the tests build a
:class:`Settings` here and pass it down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from starlette.config import Config

Environment = Literal["development", "production"]

DEFAULT_DATABASE_URL = "sqlite://data/regie.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str
    environment: Environment
    host: str
    port: int

    @property
    def is_development(self) -> bool:
        return self.environment == "development"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: the process environment)."""
    config = Config(environ=dict(os.environ if environ is None else environ))
    environment_name = config("REGIE_ENV", default="development")
    environment: Environment
    if environment_name == "development":
        environment = "development"
    elif environment_name == "production":
        environment = "production"
    else:
        raise ValueError(f"REGIE_ENV must be 'development' or 'production', not {environment_name!r}")
    database_url = config("DATABASE_URL", default=DEFAULT_DATABASE_URL)
    port = config("PORT", cast=int, default=8000)
    return Settings(
        database_url=database_url,
        environment=environment,
        host=config("HOST", default="127.0.0.1"),
        port=port,
    )


def ensure_sqlite_directory(database_url: str) -> None:
    """Create the folder of an SQLite file database so a fresh clone can start at once."""
    prefix = "sqlite://"
    if not database_url.startswith(prefix):
        return
    path = database_url[len(prefix) :].split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
