"""Record and replay agree (invariant 7): a run of the service recorded with `--record`, replayed
by `backtest`, gives the same candles, signals and journal entries as the run itself.

The first tests run `python main.py --simulate --record` as a subprocess (read over its HTTP API
while it runs, then stopped with SIGINT); the last one runs the service in process against a
simulator with quiet minutes and dropped connections (clock closes, holds, backfilled gaps).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from binance import AsyncClient

from api.app import create_app
from api.serialize import candle_data, signal_data
from backtest.run import BacktestConfig, BacktestResult
from backtest.runner import run_backtest
from config import Settings, load_settings
from core.clock import SimulatedClock
from core.hub import CANDLE
from execution.codec import encode
from recording.format import read_recording
from recording.recorder import Recorder
from simulator import FaultConfig, Simulator, SimulatorConfig
from tests.api import support
from tests.conftest import ROOT
from tests.ledgers import beside, lines_beside, service_lines
from wiring.compose import build_service

SPEED = 240  # a market minute every 0.25 s: crossovers (orders) about every 1.5 s per symbol
MIN_FILLS = 4  # per variant, before the live run is stopped
LIVE_LIMIT_S = 22.0

CANDLE_FIELDS = (
    "symbol", "open_time", "open", "high", "low", "close", "volume", "quote_volume", "trades",
    "taker_buy_base", "taker_buy_quote", "complete", "source",
)  # fmt: skip
SIGNAL_FIELDS = (
    "variant", "symbol", "side", "reason", "price", "time_ms", "ref", "strength", "ema", "sma",
    "action",
)  # fmt: skip
# Journal fields a replay reproduces. Not: `time` (when the service's clock read it), `mode`,
# `exchange_order_id`, `fill_time` (the exchange's own), the error text of a rejection.
JOURNAL_FIELDS = (
    "type", "client_order_id", "variant", "symbol", "side", "quantity", "reason", "closing",
    "signal_time", "ref", "price_hint", "executed_qty", "avg_price", "quote_qty", "commission",
    "commission_asset", "realized_pnl", "code",
)  # fmt: skip


def _value(value: Any) -> Any:
    """Numbers written as strings compare as Decimals (`64000.10000000` is `64000.1`)."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def _differences(
    what: str, live: Sequence[dict[str, Any]], replay: Sequence[dict[str, Any]],
    fields: Iterable[str], numeric: bool = False,
) -> list[str]:  # fmt: skip
    """Field-by-field differences between two sequences, as readable lines."""
    out: list[str] = []
    if len(live) != len(replay):
        out.append(f"{what}: {len(live)} live, {len(replay)} replayed")
    for n, (a, b) in enumerate(zip(live, replay, strict=False)):
        for field in fields:
            x, y = a.get(field), b.get(field)
            if (_value(x) != _value(y)) if numeric else (x != y):
                which = a.get("client_order_id") or a.get("open_time") or a.get("ref")
                out.append(f"{what} #{n} ({which}): {field} live {x!r}, replayed {y!r}")
    return out


def _journal(path: Path) -> list[dict[str, Any]]:
    """The order lines of a journal file (signal notes are not orders)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return _orders(lines)


def _orders(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rec for rec in lines if rec["type"] not in ("signal", "reset", "candle")]


def _by_pair(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Journal records per (variant, symbol), in order: the executor serialises each pair's
    orders, while two pairs' lines interleave as their requests happen to finish."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rec in records:
        if rec["reason"] != "end_of_data":  # the backtest's own close at the end of the data
            out.setdefault((rec["variant"], rec["symbol"]), []).append(rec)
    return out


def _journal_differences(
    live: list[dict[str, Any]], replay: list[dict[str, Any]], prefix: bool = False
) -> list[str]:
    mine, theirs = _by_pair(live), _by_pair(replay)
    out: list[str] = []
    for pair in sorted(set(mine) | set(theirs)):
        a, b = mine.get(pair, []), theirs.get(pair, [])
        if prefix:
            a = a[: len(b)]
        out += _differences(f"journal {pair}", a, b, JOURNAL_FIELDS, numeric=True)
    return out


def _get(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
        return json.loads(answer.read())


def _fills(journal: Path) -> dict[str, set[str]]:
    """Variant -> the sides of its fills so far, for the variants with MIN_FILLS fills."""
    out: dict[str, list[str]] = {}
    for rec in lines_beside(journal):
        if rec.get("type") == "filled":
            out.setdefault(rec["variant"], []).append(rec["side"])
    return {v: set(sides) for v, sides in out.items() if len(sides) >= MIN_FILLS}


@dataclass
class LiveRun:
    recording: Path
    journal: Path
    candles: list[dict[str, Any]]  # GET /candles, read just before SIGINT
    signals: list[dict[str, Any]]  # GET /signals, idem
    settings: Settings


def _settings() -> Settings:
    return load_settings(env_file=None)  # what the subprocess reads (no .env in its cwd)


def _replay(run: LiveRun, path: Path, journal: Path | None = None) -> BacktestResult:
    settings = run.settings
    config = BacktestConfig(
        files=[path], variants=settings.variant_settings, fee_rate=settings.paper_fee_rate,
        journal_path=journal,
    )  # fmt: skip
    return asyncio.run(run_backtest(settings, config))


@pytest.fixture(scope="module")
def live_run(tmp_path_factory: pytest.TempPathFactory) -> LiveRun:
    """`main.py --simulate --record` until both variants have several fills, then SIGINT."""
    tmp = tmp_path_factory.mktemp("live")
    recording, journal = tmp / "run.rec.gz", tmp / "live.jsonl"
    port = support.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    with (tmp / "service.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "--simulate", "--speed", str(SPEED),
             "--port", str(port), "--record", str(recording), "--journal", str(journal),
             "--database", beside(journal)],
            cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + LIVE_LIMIT_S
            while time.monotonic() < deadline:
                fills = _fills(journal)
                if set(fills) == {"A", "B"} and all(s == {"BUY", "SELL"} for s in fills.values()):
                    break
                time.sleep(0.25)
            candles = _get(port, "/candles?limit=5000")
            signals = _get(port, "/signals?limit=5000")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    err = (tmp / "service.log").read_text()
    assert proc.returncode == 0, err[-3000:]
    return LiveRun(recording, journal, candles, signals, _settings())


@pytest.mark.e2e
def test_replay_gives_the_live_runs_candles_signals_and_orders(
    live_run: LiveRun, tmp_path: Path
) -> None:
    live_journal = _orders(lines_beside(live_run.journal))
    fills = [r for r in live_journal if r["type"] == "filled"]
    for variant in ("A", "B"):
        sides = [r["side"] for r in fills if r["variant"] == variant]
        assert len(sides) >= MIN_FILLS and set(sides) == {"BUY", "SELL"}, (variant, sides)
    events = [e for _, e in read_recording(live_run.recording)]
    kinds = [e["e"] for e in events]
    first_trade = kinds.index("trade")
    assert kinds[0] == "recording"
    assert kinds[:first_trade].count("symbolInfo") == kinds[:first_trade].count("warmup") == 2
    assert any(e.get("bf") for e in events if e["e"] == "trade"), "no backfilled trade recorded"

    result = _replay(live_run, live_run.recording, tmp_path / "replay.jsonl")

    problems: list[str] = []
    for symbol in ("BTCUSDT", "ETHUSDT"):
        live = [c for c in live_run.candles if c["symbol"] == symbol and c["source"] != "warmup"]
        replayed = [candle_data(c) for c in result.candles_seen if c.symbol == symbol]
        assert len(live) >= 10, f"only {len(live)} live candles of {symbol}"
        # The replay goes on to the end of the recording, after the API was read.
        problems += _differences(f"{symbol} candle", live, replayed[: len(live)], CANDLE_FIELDS)
    replayed_signals = [signal_data(s) for s in result.signals]
    assert len(live_run.signals) >= 2 * MIN_FILLS
    problems += _differences(
        "signal", live_run.signals, replayed_signals[: len(live_run.signals)], SIGNAL_FIELDS
    )
    replayed = [encode(rec) for rec in result.journal]
    problems += _journal_differences(live_journal, replayed)
    assert not problems, "\n".join(problems[:30])
    # The --journal file of the replay holds what the result says.
    assert _journal(tmp_path / "replay.jsonl") == replayed


@pytest.mark.e2e
def test_torn_recording_replays_what_precedes_the_tear(live_run: LiveRun, tmp_path: Path) -> None:
    data = live_run.recording.read_bytes()
    torn = tmp_path / "torn.rec.gz"
    torn.write_bytes(data[: len(data) * 2 // 3])  # a crash in the middle of a write
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "backtest", "--data", str(torn),
         "--journal", str(tmp_path / "torn.jsonl")],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "recording ends early" in done.stderr
    torn_journal = _journal(tmp_path / "torn.jsonl")
    live_journal = _orders(lines_beside(live_run.journal))
    kept = [r for r in torn_journal if r["reason"] != "end_of_data"]
    assert 0 < len(kept) < len([r for r in live_journal if r["reason"] != "end_of_data"])
    # What was replayed is the live run up to the tear: each pair's orders are a prefix.
    problems = _journal_differences(live_journal, torn_journal, prefix=True)
    assert not problems, "\n".join(problems[:30])


@pytest.mark.e2e
async def test_quiet_minutes_and_dropped_streams_replay_exactly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Few trades (minutes closed by the clock, flat ones) and a stream dropped every 3 s
    (held symbols, REST backfills): the replay closes the same candles with the same marks."""
    faults = FaultConfig(drop_every_s=3.0)
    config = SimulatorConfig(
        seed=7, speed=120.0, trade_rate=0.01, api_key=support.KEY, api_secret=support.SECRET,
        faults=faults,
    )  # fmt: skip
    recording = tmp_path / "quiet.rec.gz"
    settings = support.settings(tmp_path)
    async with Simulator(config) as sim:
        client = AsyncClient(support.KEY, support.SECRET, testnet=True)
        client.API_TESTNET_URL = sim.rest_url
        service = build_service(
            settings, mode="simulated", clock=SimulatedClock(sim.clock.now_ms, config.speed),
            client=client,
            stream_url=sim.stream_url, recorder=Recorder(recording), speed=config.speed,
        )  # fmt: skip
        closes = service.hub.subscribe(maxsize=100_000)  # every closed candle, in close order
        closes.kinds = {CANDLE}
        app = create_app(service)
        async with app.router.lifespan_context(app):
            await support.wait_for(lambda: service.trading_ready, what="trading")
            await asyncio.sleep(7.0)  # ~14 market minutes
    live_candles: list[dict[str, Any]] = []
    while not closes.queue.empty():
        live_candles.append(candle_data(closes.queue.get_nowait().data))
    kinds = [e["e"] for _, e in read_recording(recording)]
    assert kinds.count("close") >= 2, "no minute was closed by the clock"
    assert kinds.count("hold") >= 2 and kinds.count("release") >= 2

    caplog.set_level(logging.WARNING)
    replay_config = BacktestConfig(
        files=[recording], variants=settings.variant_settings, fee_rate=settings.paper_fee_rate
    )
    result = await run_backtest(settings, replay_config)
    # The same candles, closed in the same order across the symbols (a minute the clock closed
    # live closes at the same point of the replay, not at its symbol's next trade).
    replayed = [candle_data(c) for c in result.candles_seen]
    problems = _differences("candle", live_candles, replayed, CANDLE_FIELDS)
    flat = sum(1 for c in live_candles if c["trades"] == 0)
    live_signals = [signal_data(s) for s in service.signals.query(limit=100_000)]
    problems += _differences("signal", live_signals, [signal_data(s) for s in result.signals],
                             SIGNAL_FIELDS)  # fmt: skip
    replayed = [encode(rec) for rec in result.journal]
    problems += _journal_differences(_orders(service_lines(settings)), replayed)
    assert not problems, "\n".join(problems[:30])
    assert flat >= 2, "no flat (tradeless) minute in the run"
    assert "no signal of the replay waits" not in caplog.text
