"""A symbol the ledger holds a position in, left out of SYMBOLS at a restart: the others keep
trading, the orphan position is shown (and can be closed once the symbol is added back), and
nothing logs a traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from simulator import Simulator
from tests.api import support
from tests.service.test_money_and_states import running

pytestmark = pytest.mark.e2e
ORDER = {"side": "BUY", "quantity": "0.01", "variant": "A"}


async def test_a_symbol_dropped_from_symbols_keeps_the_others_trading(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = support.simulated_service(sim, support.settings(tmp_path))
    async with running(first) as http:
        r = await http.post("/orders", json={**ORDER, "symbol": "ETHUSDT"})
        assert r.status_code == 200, r.text

    caplog.set_level(logging.INFO)
    second = support.simulated_service(sim, support.settings(tmp_path, symbols="BTCUSDT"))
    async with running(second) as http:
        health = (await http.get("/health")).json()
        bought = await http.post("/orders", json={**ORDER, "symbol": "BTCUSDT"})
        rows = (await http.get("/positions")).json()
    assert bought.status_code == 200, bought.text
    assert health["status"] == "ok", health
    assert any("ETHUSDT" in n and "not in SYMBOLS" in n for n in health["notices"]), health
    held = {(p["variant"], p["symbol"]): p["held_qty"] for p in rows}
    assert float(held[("A", "ETHUSDT")]) > 0  # the orphan is shown
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
