"""The Tortoise configuration, built from a database URL.

``TORTOISE_ORM`` is what ``tortoise makemigrations`` reads (``[tool.tortoise]`` in pyproject.toml);
the app and the CLI call :func:`tortoise_config` with the URL from the settings.
"""

from __future__ import annotations

from typing import Any

from regie.db import MODEL_MODULES
from regie.settings import load_settings

APP_LABEL = "regie"


SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long an SQLite connection waits for another process's write (``regie import``) to finish."""


def with_sqlite_busy_timeout(database_url: str) -> str:
    """Without a busy timeout SQLite fails at once with "database is locked" when another process
    writes; Tortoise passes URL parameters on as PRAGMAs."""
    if not database_url.startswith("sqlite://") or "busy_timeout" in database_url:
        return database_url
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": with_sqlite_busy_timeout(database_url)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "regie.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def __getattr__(name: str) -> Any:
    # Built lazily so that importing this module never reads the environment by itself.
    if name == "TORTOISE_ORM":
        return tortoise_config(load_settings().database_url)
    raise AttributeError(name)
