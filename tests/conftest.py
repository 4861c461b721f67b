"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _find_shared_binance() -> Path:
    for base in (ROOT, *ROOT.parents):
        candidate = base / "shared" / "binance"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("../shared/binance (recorded Binance data) was not found")


@pytest.fixture(scope="session")
def binance_data() -> Path:
    """The folder of real recorded Binance data, read in place."""
    return _find_shared_binance()
