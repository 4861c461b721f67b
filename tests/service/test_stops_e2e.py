"""A stop that lives on the exchange protects a position while the service is dead.

The standalone simulator (`python -m simulator`, a subprocess that outlives the service) is
the exchange; `main.py --simulate-url` is the service. A holds BTCUSDT, the service is
SIGKILLed, the price falls 16 % (A's 15 % stop level) and then 30 % more while it is down,
and the service restarts. With STOP_MODE=exchange the stop sold on the exchange at the first
fall, and the restart records that exit from the exchange's own order; with STOP_MODE=service
the exit happens only after the restart, at the price then. Both exit prices are printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from binance import AsyncClient

from tests.api.support import empty_env, free_port
from tests.ledgers import beside, lines_beside
from tests.service.test_e2e import ROOT, wait_healthy

pytestmark = pytest.mark.e2e
KEY, SECRET = "stop-test-key", "stop-test-secret"


@contextlib.asynccontextmanager
async def simulator(tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "simulator", "--port", str(port), "--speed", "60", "--seed", "4"]
    cmd += ["--api-key", KEY, "--api-secret", SECRET, "--history-minutes", "30"]
    log = (tmp_path / "simulator.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"{url}/sim/clock")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.to_thread(proc.wait, 10)
        log.close()


def start_service(sim_url: str, journal: Path, stop_mode: str, name: str) -> tuple[Any, str]:
    port = free_port()
    drop = ("BINANCE_", "API_", "JOURNAL", "STOP_", "VARIANTS")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    # Periods that never warm up on 30 minutes of history: no strategy order interferes.
    env.update(
        BINANCE_API_KEY=KEY, BINANCE_API_SECRET=SECRET, STOP_MODE=stop_mode,
        VARIANTS="A:0.15:900:999,B:0.10:900:999", SYMBOLS="BTCUSDT,ETHUSDT",
    )  # fmt: skip
    cmd = [sys.executable, "main.py", "--simulate-url", sim_url, "--port", str(port)]
    cmd += ["--journal", str(journal), "--database", beside(journal)]
    cmd += ["--env-file", str(empty_env(journal.parent))]
    log = (journal.parent / f"{name}.log").open("ab")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}"


def journal_lines(journal: Path) -> list[dict[str, Any]]:
    return lines_beside(journal)


async def until(check: Any, what: str, timeout: float = 30) -> Any:
    for _ in range(int(timeout / 0.1)):
        found = await check() if asyncio.iscoroutinefunction(check) else check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def crash_during_a_fall(tmp_path: Path, stop_mode: str) -> dict[str, Any]:
    """The scenario; returns the exit record, the exchange's orders and the position."""
    journal = tmp_path / stop_mode / "journal.jsonl"
    journal.parent.mkdir()
    async with simulator(journal.parent) as sim_url:
        exchange = AsyncClient(KEY, SECRET, testnet=True)
        exchange.API_TESTNET_URL = f"{sim_url}/api"
        proc, base = start_service(sim_url, journal, stop_mode, "first")
        try:
            await wait_healthy(base, proc, timeout=40)
            order = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
            async with httpx.AsyncClient() as http:
                bought = await http.post(f"{base}/orders", json=order)
            assert bought.status_code == 200, bought.text
            if stop_mode == "exchange":
                await until(
                    lambda: any(r["type"] == "open" for r in journal_lines(journal)), "stop open"
                )
        finally:
            proc.send_signal(signal.SIGKILL)  # the service dies with the position open
            await asyncio.to_thread(proc.wait, 10)
        async with httpx.AsyncClient() as http:
            for percent in ("-16", "-30"):  # past A's 15 % level, then much further
                shock = {"symbol": "BTCUSDT", "percent": percent}
                assert (await http.post(f"{sim_url}/sim/shock", json=shock)).status_code == 200
                await asyncio.sleep(1.0)  # a market minute between the two falls
        proc, base = start_service(sim_url, journal, stop_mode, "second")
        try:
            await wait_healthy(base, proc, timeout=40)

            def exit_record() -> dict[str, Any] | None:
                return next(
                    (r for r in journal_lines(journal)
                     if r["type"] == "filled" and r["side"] == "SELL"),
                    None,
                )  # fmt: skip

            exit_ = await until(exit_record, "the stop exit in the journal")
            async with httpx.AsyncClient() as http:
                rows = (await http.get(f"{base}/positions/BTCUSDT")).json()
            server = (await exchange.get_server_time())["serverTime"]
            exchange.timestamp_offset = server - time.time_ns() // 1_000_000
            orders = await exchange.get_all_orders(symbol="BTCUSDT")
            trades = await exchange.get_my_trades(symbol="BTCUSDT")
        finally:
            proc.send_signal(signal.SIGINT)
            await asyncio.to_thread(proc.wait, 15)
            await exchange.close_connection()
    position = next(r for r in rows if r["variant"] == "A")
    return {"exit": exit_, "orders": orders, "trades": trades, "position": position}


def check_money(run: dict[str, Any]) -> None:
    """Realized + unrealized equals the mark-to-market result of the exchange's own fills."""
    spent = received = held = Decimal(0)
    for t in run["trades"]:
        qty, quote, fee = Decimal(t["qty"]), Decimal(t["quoteQty"]), Decimal(t["commission"])
        if t["isBuyer"]:
            spent += quote + (fee if t["commissionAsset"] == "USDT" else 0)
            held += qty - (fee if t["commissionAsset"] == "BTC" else 0)
        else:
            received += quote - (fee if t["commissionAsset"] == "USDT" else 0)
            held -= qty + (fee if t["commissionAsset"] == "BTC" else 0)
    pos = run["position"]
    mtm = received - spent + held * Decimal(pos["mark_price"])  # figures are marked there
    total = Decimal(pos["realized_pnl"]) + Decimal(pos["unrealized_pnl"])
    assert abs(total - mtm) <= Decimal("1e-8"), (total, mtm)
    assert Decimal(pos["held_qty"]) == held and Decimal(pos["qty"]) == 0


@pytest.mark.timeout(240)
async def test_a_stop_on_the_exchange_sells_while_the_service_is_dead(tmp_path: Path) -> None:
    on_exchange = await crash_during_a_fall(tmp_path, "exchange")
    in_service = await crash_during_a_fall(tmp_path, "service")

    exit_ = on_exchange["exit"]
    stop = next(o for o in on_exchange["orders"] if o["type"] == "STOP_LOSS")
    assert stop["status"] == "FILLED"
    assert exit_["order_type"] == "STOP_LOSS" and exit_["reason"] == "stop_loss"
    assert exit_["exchange_order_id"] == stop["orderId"]
    sold = [t for t in on_exchange["trades"] if t["orderId"] == stop["orderId"]]
    assert Decimal(exit_["quote_qty"]) == sum(Decimal(t["quoteQty"]) for t in sold)
    assert Decimal(exit_["executed_qty"]) == Decimal(stop["executedQty"])
    check_money(on_exchange)
    # No second sale: the exchange has the BUY and the stop, nothing else.
    assert [(o["type"], o["side"]) for o in on_exchange["orders"]] == [
        ("MARKET", "BUY"), ("STOP_LOSS", "SELL"),
    ]  # fmt: skip

    late = in_service["exit"]
    assert late.get("order_type", "MARKET") == "MARKET"  # sold at market after the restart
    assert late["reason"] == "stop_loss"
    check_money(in_service)

    stop_price, late_price = Decimal(exit_["avg_price"]), Decimal(late["avg_price"])
    print(f"\nexit price with the stop on the exchange: {stop_price}")
    print(f"exit price with the service's stop (after the restart): {late_price}")
    assert stop_price > late_price * Decimal("1.2")  # the first fall, not the second
