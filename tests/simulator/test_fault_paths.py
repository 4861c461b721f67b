"""`rest_fault_paths`: REST faults on chosen /api/v3 paths only (e.g. historicalTrades)."""

from __future__ import annotations

import pytest
from binance.exceptions import BinanceAPIException

from simulator import FaultConfig, Simulator
from simulator.faults import FaultInjector
from tests.simulator.conftest import make_client, make_config


async def test_faults_hit_only_the_listed_paths() -> None:
    faults = FaultConfig(
        server_error_probability=1.0, rest_faults_on="all", rest_fault_paths=("historicalTrades",)
    )
    async with Simulator(make_config(faults=faults)) as sim:
        client = make_client(sim)
        try:
            with pytest.raises(BinanceAPIException) as err:
                await client.get_historical_trades(symbol="BTCUSDT", limit=5)
            assert (err.value.code, err.value.status_code) == (-1001, 500)
            rows = await client.get_aggregate_trades(symbol="BTCUSDT", limit=5)
            assert len(rows) == 5
            assert len(await client.get_klines(symbol="BTCUSDT", interval="1m", limit=3)) == 3
        finally:
            await client.close_connection()
        assert sim.stats()["injected_500"] == 1


def test_paths_do_not_widen_order_faults() -> None:
    injector = FaultInjector(FaultConfig(server_error_probability=1.0), seed=1)
    assert injector.rest_fault(True, "/api/v3/order") == "500"
    assert injector.rest_fault(False, "/api/v3/historicalTrades") is None
