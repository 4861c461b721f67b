"""Fixtures shared by every test package: recorded Binance data, and the ledger's databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.databases import ledger_url, postgres_server  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parent.parent
BINANCE_DATA = ROOT / "tests" / "data" / "binance"


@pytest.fixture(scope="session")
def binance_data() -> Path:
    """The folder of real recorded Binance data (tests/data/binance, with its README)."""
    return BINANCE_DATA
