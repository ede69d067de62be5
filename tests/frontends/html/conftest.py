from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

from regie.services import users
from tests.auth import people
from tests.frontends.html import office, pages


@pytest.fixture
async def household(db: TortoiseContext) -> office.Household:
    """Collector jldelmas (Moissac and Castelsarrasin) and the Delaunay-Ribère household."""
    await people.collector("jldelmas", "Moissac")
    built = await office.add_household()
    await users.set_sector("Secteur jldelmas", "jldelmas", ["Moissac", "Castelsarrasin"])
    return built


@pytest.fixture
async def collector(
    household: office.Household, app: Starlette
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as jldelmas, asking for French."""
    async with pages.client_for(app, await pages.collector_session()) as client:
        yield client
