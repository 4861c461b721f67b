"""Fixtures: the real service against the simulator, and an httpx client through its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from service.container import Service
from simulator import Simulator
from tests.api import support


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with support.simulator() as s:
        yield s


@pytest.fixture
async def service(sim: Simulator, tmp_path: Path) -> Service:
    return support.simulated_service(sim, support.settings(tmp_path))


@pytest.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app, inside its lifespan (the service runs), once trading."""
    app = create_app(service)
    async with app.router.lifespan_context(app):
        await support.wait_for(lambda: support.is_live(service), what="service live")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            yield c
