"""The Tortoise configuration, built from a database URL.

``TORTOISE_ORM`` is what ``tortoise makemigrations`` reads (``[tool.tortoise]`` in pyproject.toml);
the app and the CLI call :func:`tortoise_config` with the URL from the settings.
"""

from __future__ import annotations

from typing import Any

from regie.db import MODEL_MODULES
from regie.settings import load_settings

APP_LABEL = "regie"


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
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
