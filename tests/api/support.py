"""Shared set-up for the API and service tests: the simulator, a wired service, a live server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import uvicorn
from binance import AsyncClient

from api.app import create_app
from config import Settings, load_settings
from core.clock import SimulatedClock
from service.container import Service
from simulator import Simulator, SimulatorConfig
from wiring.compose import build_service
from wiring.runner import WS_MAX_FRAME

KEY = "k3y-" + "a1" * 14
SECRET = "s3cr3t-" + "b2" * 20
SPEED = 60.0


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "journal_path": tmp_path / "journal.jsonl",
        "database_url": f"sqlite:///{tmp_path}/ledger.db",
        "symbols": "BTCUSDT,ETHUSDT",
        "binance_api_key": None,
        "binance_api_secret": None,
        "api_token": None,
    }
    values.update(overrides)
    return load_settings(env_file=None, **values)


@contextlib.asynccontextmanager
async def simulator(
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "BNBUSDT"), seed: int = 3
) -> AsyncIterator[Simulator]:
    config = SimulatorConfig(
        seed=seed, speed=SPEED, symbols=symbols, api_key=KEY, api_secret=SECRET
    )
    sim = Simulator(config)
    await sim.start(host="127.0.0.1", port=0)
    try:
        yield sim
    finally:
        await sim.stop()


def simulated_service(sim: Simulator, cfg: Settings) -> Service:
    """The real service wired against the simulator over real sockets."""
    client = AsyncClient(KEY, SECRET, testnet=True)
    client.API_TESTNET_URL = sim.rest_url
    return build_service(
        cfg,
        mode="simulated",
        clock=SimulatedClock(sim.clock.now_ms, sim.clock.speed),
        client=client,
        stream_url=sim.stream_url,
        speed=SPEED,
    )


async def wait_for(check: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


def is_live(service: Service) -> bool:
    health = service.health()
    return service.trading_ready and all(f.status == "live" for f in health.symbols.values())


def empty_env(folder: Path) -> Path:
    """A settings file with nothing in it, for `--env-file` (not the developer's .env; naming
    a missing file is an error)."""
    path = folder / "empty.env"
    path.write_text("")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def live_server(
    service: Service, access_log: bool = False, **uvicorn_config: Any
) -> AsyncIterator[str]:
    """uvicorn serving the app (and so the service) in this event loop, configured as
    wiring/runner.py configures it (`uvicorn_config` overrides); yields its host:port."""
    app = create_app(service)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=WS_MAX_FRAME,
        lifespan="on",
        log_config=None,
        access_log=access_log,
        **uvicorn_config,
    )
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await wait_for(lambda: server.started or task.done(), what="uvicorn start")
        if task.done():
            task.result()
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()
