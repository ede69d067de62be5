from __future__ import annotations

import httpx
import pytest

from tests.frontends.html import pages


@pytest.fixture
async def desk(office_client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Office staff (Claire Rouquette) asking for French."""
    office_client.headers.update(pages.FRENCH)
    return office_client
