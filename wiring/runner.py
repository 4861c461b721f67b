"""`python main.py [--simulate …]`: the service and its API in one event loop.

uvicorn's `Server.serve()` runs in this loop (not a thread); the FastAPI lifespan starts and
stops the service. SIGINT/SIGTERM ask uvicorn to exit; the lifespan then stops the stream,
drains the journal and closes the sockets, and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Generator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from api.app import create_app
from api.serialize import iso_ms as iso
from api.ws import WS_PING_INTERVAL_S, WS_PING_TIMEOUT_S
from config import Settings, SettingsError, load_settings
from core.clock import MINUTE_MS, Clock, SimulatedClock, SystemClock
from core.remote_clock import ClockUnavailableError, RemoteClock
from core.tasks import TaskOwner
from optimize.studies import StudyReader
from recording.recorder import Recorder
from research.jobs import ResearchJobs
from research.plans import MAX_CANDLES
from service.logs import configure_logging
from storage.database import Database
from storage.entries import each_entry, last_time_ms
from storage.queries import recent_candles
from storage.sql import SqlLedger
from wiring.clocked_client import ClockedClient
from wiring.compose import build_service, outbox_policy
from wiring.ledger_start import LedgerStartError, open_ledger

if TYPE_CHECKING:
    from simulator import Simulator, SimulatorConfig

log = logging.getLogger("service")

SIMULATED_JOURNAL = Path("data/simulated.jsonl")
SIMULATED_RESEARCH = Path("data/simulated-research")
SHUTDOWN_GRACE_S = 1
WS_MAX_FRAME = 64 * 1024  # a client's /ws message larger than this closes it (1009) unread


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value <= 100_000:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0 and at most 100000")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 65535")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The service's own options (used when no subcommand is given)."""
    group = parser.add_argument_group("service")
    group.add_argument(
        "--simulate",
        action="store_true",
        help="run against the built-in simulator on a free loopback port (no network needed)",
    )
    group.add_argument(
        "--simulate-url",
        default=None,
        metavar="URL",
        help="run against a standalone simulator (`python -m simulator`) at URL, e.g."
        " http://127.0.0.1:9100; it outlives this process, and the service's clock follows its"
        " GET /sim/clock. Keys: BINANCE_API_KEY/SECRET, else the simulator's local defaults",
    )
    group.add_argument(
        "--speed",
        type=_positive_float,
        default=None,
        metavar="N",
        help="with --simulate: market seconds per real second (60: a candle every second)",
    )
    group.add_argument(
        "--seed", type=int, default=None, metavar="S", help="with --simulate: price path seed"
    )
    group.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="FILE",
        help="record every trade event consumed (stream and backfill), the warm-up klines and"
        " the symbol rules to FILE (gzip JSON lines); `backtest --data FILE` replays it",
    )
    group.add_argument("--host", default=None, help="API host (overrides API_HOST)")
    group.add_argument("--port", type=_port, default=None, help="API port (overrides API_PORT)")
    group.add_argument(
        "--journal",
        type=Path,
        default=None,
        metavar="FILE",
        help="a JSON-lines journal to import into an empty ledger at start (overrides"
        " JOURNAL_PATH, default data/trades.jsonl; with --simulate data/simulated.jsonl)",
    )
    group.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="the ledger for this run (overrides DATABASE_URL; default sqlite:///data/trading.db,"
        " with --simulate sqlite:///data/simulated.db; or postgresql://user@host/db)",
    )
    group.add_argument(
        "--env-file",
        default=None,
        metavar="FILE",
        help="settings file (default: .env when present); naming a missing file is an error",
    )


def run(args: argparse.Namespace) -> int:
    """Build the settings, bind the API port, then serve until SIGINT/SIGTERM. 2 on a wrong
    setting, a missing --env-file or a busy port (one line on stderr, nothing started)."""
    overrides: dict[str, Any] = {}
    if args.host is not None:
        overrides["api_host"] = args.host
    if args.port is not None:
        overrides["api_port"] = args.port
    if args.journal is not None:
        overrides["journal_path"] = args.journal
    if args.env_file is not None and not Path(args.env_file).is_file():
        sys.stderr.write(f"error: --env-file {args.env_file}: no such file\n")
        return 2
    try:
        settings = load_settings(args.env_file or ".env", **overrides)
    except SettingsError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if not args.simulate and (args.speed is not None or args.seed is not None):
        sys.stderr.write("error: --speed and --seed only apply with --simulate\n")
        return 2
    if args.simulate and args.simulate_url:
        sys.stderr.write("error: --simulate and --simulate-url exclude each other\n")
        return 2
    if args.simulate_url and not args.simulate_url.startswith(("http://", "https://")):
        sys.stderr.write(
            f"error: --simulate-url wants http://HOST:PORT, got {args.simulate_url!r}\n"
        )
        return 2
    try:
        sock = bind_api(settings.api_host, settings.api_port)
    except OSError as exc:
        where = f"{settings.api_host}:{settings.api_port}"
        reason = exc.strerror or str(exc)
        sys.stderr.write(f"error: API_PORT: cannot listen on {where} ({reason}); set --port\n")
        return 2
    if args.simulate and args.journal is None and "journal_path" not in settings.model_fields_set:
        # A simulated exchange is not the testnet: its trades get a journal of their own.
        settings = settings.model_copy(update={"journal_path": SIMULATED_JOURNAL})
    if args.simulate and "research_dir" not in settings.model_fields_set:
        settings = settings.model_copy(update={"research_dir": SIMULATED_RESEARCH})
    configure_logging(settings)
    try:
        db = open_ledger(settings, args)
    except LedgerStartError as exc:
        sock.close()
        sys.stderr.write(f"error: {exc}\n")
        return 2
    try:
        with sock:
            return asyncio.run(serve(settings, args, sock, db))
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        return 130
    except ClockUnavailableError as exc:
        sys.stderr.write(f"error: --simulate-url: {exc}\n")
        return 2
    finally:
        db.close()


def bind_api(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound before anything else starts (a busy port is known
    before the simulator, the journal or the exchange are touched). uvicorn serves on it."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not SO_REUSEPORT
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server with our own signal handling: stop on the signal, do not re-raise it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig)
                installed.append(sig)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.should_exit:
            self.force_exit = True
            return
        log.info("%s received: stopping", sig.name)
        self.should_exit = True


async def serve(
    settings: Settings, args: argparse.Namespace, sock: socket.socket, db: Database
) -> int:
    ledger = SqlLedger(db, outbox=outbox_policy(settings))
    await ledger.load()
    async with _exchange(settings, args, ledger) as (mode, clock, client, stream_url):
        recorder = _recorder(args.record)
        service = build_service(
            settings,
            mode=mode,
            clock=clock,
            client=client,
            stream_url=stream_url,
            recorder=recorder,
            speed=clock.speed if isinstance(clock, RemoteClock) else (args.speed or 1.0),
            ledger=ledger,
        )
        app = create_app(service, StudyReader(db.url), research_jobs(settings, service, db))
        config = uvicorn.Config(
            app,
            host=settings.api_host,
            port=settings.api_port,
            ws="websockets-sansio",
            # Each frame is encoded once for every client; compressing it per connection would
            # multiply the work by the number of clients for little gain on small messages.
            ws_per_message_deflate=False,
            ws_max_size=WS_MAX_FRAME,
            ws_ping_interval=WS_PING_INTERVAL_S,  # a client that answers no ping: 1011
            ws_ping_timeout=WS_PING_TIMEOUT_S,
            lifespan="on",
            log_config=None,
            access_log=settings.api_access_log,  # scrubbed by service.logs like every line
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
        server = _Server(config)
        port = sock.getsockname()[1]
        log.info("API on http://%s:%d (docs: /docs)", settings.api_host, port)
        await server.serve(sockets=[sock])
        return 0 if server.started else 1


def research_jobs(settings: Settings, service: Any, db: Database) -> ResearchJobs:
    """The dashboard's backtests and optimisations: on the ledger's stored candles, with the
    variants as they run now; the optimiser's studies beside this ledger."""
    url = db.url.set(drivername=db.url.get_backend_name())  # as a person writes it
    return ResearchJobs(
        settings.research_dir,
        settings,
        stored=lambda symbol: recent_candles(db, symbol, MAX_CANDLES),
        variants=service.controls.variants,
        wall=lambda: int(time.time() * 1000),
        database_url=url.render_as_string(hide_password=False),
    )


def _recorder(path: Path | None) -> Recorder | None:
    if path is None:
        return None
    log.info("recording every input of the pipeline (trades, warm-up, rules) to %s", path)
    return Recorder(path)


@contextlib.asynccontextmanager
async def _exchange(
    settings: Settings, args: argparse.Namespace, ledger: SqlLedger
) -> AsyncIterator[tuple[str, Clock, Any, str]]:
    """(mode, clock, python-binance client, stream URL): the simulator's or the testnet's."""
    from binance import AsyncClient

    if args.simulate_url:
        async with _standalone_simulator(settings, args.simulate_url) as exchange:
            yield exchange
        return
    if not args.simulate:
        key = settings.binance_api_key.get_secret_value() if settings.binance_api_key else None
        secret = (
            settings.binance_api_secret.get_secret_value() if settings.binance_api_secret else None
        )
        client = AsyncClient(key, secret, testnet=True)
        client.API_TESTNET_URL = settings.binance_rest_url
        yield (
            ("testnet" if settings.has_keys else "paper"),
            SystemClock(),
            client,
            (settings.binance_stream_url),
        )
        return
    from simulator import KNOWN_SYMBOLS, SimulatorConfig
    from wiring.sim_memory import exchange_memory

    key, secret = secrets.token_hex(16), secrets.token_hex(32)
    start_ms = await _resume_after_ledger(ledger)
    memory = await asyncio.to_thread(
        lambda: exchange_memory(each_entry(ledger.db), settings.symbols)
    )
    config = SimulatorConfig(
        seed=1 if args.seed is None else args.seed,
        speed=1.0 if args.speed is None else args.speed,
        # The service's symbols, and the simulator's other known ones listed to add at run time
        # (POST /symbols), as the testnet lists far more than a service streams.
        symbols=tuple(dict.fromkeys([*settings.symbols, *KNOWN_SYMBOLS])),
        api_key=key,
        api_secret=secret,
        start_ms=start_ms,
        restore=tuple(memory),
    )
    sim = _simulator(config)
    await sim.start(host="127.0.0.1", port=0)
    log.info(
        "simulator on %s (speed %g, seed %d): no network needed",
        sim.rest_url,
        config.speed,
        config.seed,
    )
    try:
        clock = SimulatedClock(sim.clock.now_ms, sim.clock.speed)
        # Signs on the simulated clock: wall time + a fixed offset leaves the recvWindow
        # within seconds when the market runs faster than real time.
        client = ClockedClient(key, secret, testnet=True, clock=clock)
        client.API_TESTNET_URL = sim.rest_url
        yield "simulated", clock, client, sim.stream_url
    finally:
        await sim.stop()


def _simulator(config: SimulatorConfig) -> Simulator:
    """The simulator, going on with the journal's orders (wiring.sim_memory) when it holds
    any; orders it cannot take back (a balance below zero) leave it empty, and the start-up
    check then says the exchange forgot them."""
    from simulator import Simulator

    if not config.restore:
        return Simulator(config)
    try:
        sim = Simulator(config)
    except ValueError as exc:
        log.warning("the simulator starts empty: the journal's orders cannot be restored: %s", exc)
        return Simulator(replace(config, restore=()))
    stops = sum(1 for r in config.restore if r.status == "NEW")
    log.info(
        "the simulated account goes on from the ledger: %d filled orders, %d resting stops",
        len(config.restore) - stops,
        stops,
    )
    return sim


async def _resume_after_ledger(ledger: SqlLedger) -> int | None:
    """Market time never goes backwards for a ledger: a simulated market starts after the
    ledger's newest entry when that lies ahead of the wall clock (None: start now)."""
    last = await asyncio.to_thread(last_time_ms, ledger.db)
    now = time.time_ns() // 1_000_000
    if last is None or last < now:
        return None
    start = (last // MINUTE_MS + 1) * MINUTE_MS
    log.info("the ledger ends at %s: the simulated market resumes at %s", iso(last), iso(start))
    return start


@contextlib.asynccontextmanager
async def _standalone_simulator(
    settings: Settings, url: str
) -> AsyncIterator[tuple[str, Clock, Any, str]]:
    """A simulator in another process: its REST and streams, and a clock that follows its
    GET /sim/clock (resampled in the background while the service runs)."""
    from simulator.config import SimulatorConfig

    base = url.rstrip("/").removesuffix("/api")
    clock = await RemoteClock.connect(f"{base}/sim/clock")
    defaults = SimulatorConfig()
    key, secret = defaults.api_key, defaults.api_secret
    if settings.binance_api_key and settings.binance_api_secret:
        key = settings.binance_api_key.get_secret_value()
        secret = settings.binance_api_secret.get_secret_value()
    client = ClockedClient(key, secret, testnet=True, clock=clock)  # signs on the clock
    client.API_TESTNET_URL = f"{base}/api"
    stream_url = "ws" + base.removeprefix("http") + "/"
    tasks = TaskOwner("simulate-url")
    tasks.spawn(clock.follow(), "clock-follow")
    log.info(
        "standalone simulator at %s (speed %g): its clock is the market clock", base, clock.speed
    )
    try:
        yield "simulated", clock, client, stream_url
    finally:
        await tasks.cancel_all(grace_s=1.0)
        await clock.close()
