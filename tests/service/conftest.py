"""Fixtures: the same as the API tests' (the real service against the simulator)."""

from tests.api.conftest import client, service, sim

__all__ = ["client", "service", "sim"]
