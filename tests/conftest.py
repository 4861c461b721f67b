"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _find_shared_binance() -> Path | None:
    """`shared/binance` next to the checkout or above it (CI has it; a user's clone may not)."""
    for base in (ROOT, *ROOT.parents):
        candidate = base / "shared" / "binance"
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def binance_data() -> Path:
    """The folder of real recorded Binance data, read in place; the test skips without it."""
    found = _find_shared_binance()
    if found is None:
        pytest.skip(
            "recorded Binance data in ../shared/binance not found (it is not part of the "
            "repository; CI provides it)"
        )
    return found
