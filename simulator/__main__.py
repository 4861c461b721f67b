"""`python -m simulator`: run the simulator standalone until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from decimal import Decimal

from simulator.config import FaultConfig, SimulatorConfig
from simulator.controls import Shock
from simulator.server import Simulator

log = logging.getLogger("simulator")


def build_parser() -> argparse.ArgumentParser:
    d = SimulatorConfig()
    f = FaultConfig()
    p = argparse.ArgumentParser(
        prog="python -m simulator",
        description="A local stand-in for the Binance Spot Testnet (REST + streams, one port).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9100, help="0 picks a free port")
    p.add_argument("--speed", type=float, default=d.speed, help="market seconds per second")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--api-key", default=d.api_key)
    p.add_argument("--api-secret", default=d.api_secret)
    p.add_argument("--symbols", default=",".join(d.symbols), help="comma-separated")
    p.add_argument("--trade-rate", type=float, default=d.trade_rate, help="trades/s/symbol")
    p.add_argument("--history-minutes", type=int, default=d.history_minutes)
    p.add_argument("--start-ms", type=int, default=None, help="market start (default: now)")
    p.add_argument("--commission-rate", default=str(d.commission_rate))
    p.add_argument("--weight-limit", type=int, default=d.weight_limit_1m)
    p.add_argument("--ping-interval", type=float, default=d.ping_interval_s)
    p.add_argument("--no-timestamp-check", action="store_true", help="never answer -1021")
    c = p.add_argument_group("market controls (also POST /sim/shock, POST /sim/reset)")
    c.add_argument(
        "--shock",
        action="append",
        default=[],
        metavar="SYMBOL:PERCENT@SECONDS",
        help="move SYMBOL's price by PERCENT, SECONDS (real) after the start; repeatable",
    )
    c.add_argument(
        "--reset-at",
        action="append",
        type=float,
        default=[],
        metavar="SECONDS",
        help="testnet reset (balances, orders) SECONDS (real) after the start; repeatable",
    )
    g = p.add_argument_group("faults (all off by default)")
    g.add_argument("--drop-every", type=float, default=f.drop_every_s, help="seconds")
    g.add_argument("--drop-abort", action="store_true", help="drop without a close frame")
    g.add_argument("--frame-delay-ms", type=float, default=f.frame_delay_ms)
    g.add_argument("--frame-delay-probability", type=float, default=f.frame_delay_probability)
    g.add_argument("--malformed", type=float, default=f.malformed_probability)
    g.add_argument("--truncated", type=float, default=f.truncated_probability)
    g.add_argument("--duplicate", type=float, default=f.duplicate_probability)
    g.add_argument("--out-of-order", type=float, default=f.out_of_order_probability)
    g.add_argument("--order-hang", type=float, default=f.order_hang_probability)
    g.add_argument("--order-hang-s", type=float, default=f.order_hang_s)
    g.add_argument("--server-errors", type=float, default=f.server_error_probability)
    g.add_argument("--rate-limit", type=float, default=f.rate_limit_probability)
    g.add_argument("--retry-after", type=int, default=f.retry_after_s)
    g.add_argument("--rest-faults-on", choices=("orders", "all"), default=f.rest_faults_on)
    g.add_argument(
        "--rest-fault-paths",
        default=",".join(f.rest_fault_paths),
        metavar="PATHS",
        help="with --rest-faults-on all: only these /api/v3 paths, comma-separated"
        " (e.g. order,time: every method of /api/v3/order, and /api/v3/time); empty: all",
    )
    g.add_argument(
        "--clock-drift",
        type=float,
        default=f.clock_drift_ms_per_s,
        metavar="MS",
        help="the server's clock (/api/v3/time, recvWindow check) gains MS ms per market"
        " second: clients meet -1021 until they resync",
    )
    p.add_argument("--log-level", default="INFO")
    return p


def config_from(args: argparse.Namespace) -> SimulatorConfig:
    faults = FaultConfig(
        drop_every_s=args.drop_every,
        drop_abort=args.drop_abort,
        frame_delay_ms=args.frame_delay_ms,
        frame_delay_probability=args.frame_delay_probability,
        malformed_probability=args.malformed,
        truncated_probability=args.truncated,
        duplicate_probability=args.duplicate,
        out_of_order_probability=args.out_of_order,
        order_hang_probability=args.order_hang,
        order_hang_s=args.order_hang_s,
        server_error_probability=args.server_errors,
        rate_limit_probability=args.rate_limit,
        retry_after_s=args.retry_after,
        rest_faults_on=args.rest_faults_on,
        rest_fault_paths=tuple(p.strip() for p in args.rest_fault_paths.split(",") if p.strip()),
        clock_drift_ms_per_s=args.clock_drift,
    )
    return SimulatorConfig(
        seed=args.seed,
        speed=args.speed,
        symbols=tuple(s.strip().upper() for s in args.symbols.split(",") if s.strip()),
        api_key=args.api_key,
        api_secret=args.api_secret,
        faults=faults,
        trade_rate=args.trade_rate,
        start_ms=args.start_ms,
        history_minutes=args.history_minutes,
        commission_rate=Decimal(args.commission_rate),
        weight_limit_1m=args.weight_limit,
        ping_interval_s=args.ping_interval,
        check_timestamps=not args.no_timestamp_check,
    )


def banner(sim: Simulator) -> str:
    cfg = sim.config
    return (
        f"Binance Spot Testnet simulator on {sim.rest_url.removesuffix('/api')}\n"
        f"  REST    client.API_TESTNET_URL     = {sim.rest_url!r}\n"
        f"  streams bsm.STREAM_TESTNET_URL     = {sim.stream_url!r}\n"
        f"  ws api  client.WS_API_TESTNET_URL  = {sim.ws_api_url!r}\n"
        f"  market controls POST /sim/shock {{symbol, percent}}, POST /sim/reset\n"
        f"  api key {cfg.api_key}   api secret {cfg.api_secret}   (local test credentials)\n"
        f"  symbols {','.join(cfg.symbols)}   speed x{cfg.speed:g}   seed {cfg.seed}   "
        f"trade rate {cfg.trade_rate:g}/s   history {cfg.history_minutes} min\n"
        f"  market time starts at {sim.clock.start_ms} ms; Ctrl-C to stop\n"
    )


async def serve(
    config: SimulatorConfig,
    host: str,
    port: int,
    shocks: list[Shock] | None = None,
    reset_at: list[float] | None = None,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    sim = Simulator(config)
    await sim.start(host, port)
    schedule = asyncio.create_task(sim.controls.run_schedule(shocks or [], reset_at or []))
    try:
        sys.stdout.write(banner(sim))
        sys.stdout.flush()
        log.info("settings: %s", _settings_line(config))
        await stop.wait()
        log.info("stopping")
    finally:
        schedule.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await schedule
        await sim.stop()


def _settings_line(config: SimulatorConfig) -> str:
    hidden = {"api_secret", "extra_credentials"}
    fields = {k: v for k, v in vars(config).items() if k not in hidden}
    return ", ".join(f"{k}={v}" for k, v in fields.items())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = config_from(args)
        shocks = [Shock.parse(text) for text in args.shock]
        if any(s.symbol not in config.symbols for s in shocks):
            raise ValueError("--shock names a symbol that is not in --symbols")
        if any(after < 0 for after in args.reset_at):
            raise ValueError("--reset-at wants seconds >= 0")
    except ValueError as exc:
        sys.stderr.write(f"simulator: bad setting: {exc}\n")
        return 2
    try:
        asyncio.run(serve(config, args.host, args.port, shocks, args.reset_at))
    except OSError as exc:
        sys.stderr.write(f"simulator: cannot listen on {args.host}:{args.port}: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
