"""Drive the live classes with history: the service's Pipeline (aggregator, strategy engine),
the OrderExecutor with a PaperBroker, risk and journal, on a ManualClock moved by the data.

Trades (files or recordings) go through `Pipeline.on_tick` exactly as the live feed delivers
them. Candles (kline files) go to `Pipeline.on_candle`; their stops are checked first with
synthetic trades through `StrategyEngine.on_tick` (see `backtest.candle_mode`). The orders an
event asks for are decided, filled at the fill-model price and booked (`backtest.orders`)
before the run reads the next event; with `next_open`, an order decided at a candle waits for
the next candle's open, one decided at a trade for the first trade `latency_ms` on (in flight).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from aggregation.models import Candle
from aggregation.warmup import kline_to_candle
from backtest.candle_mode import CandleStops
from backtest.progress import Progress
from backtest.replay import replay_recording
from backtest.run import BacktestConfig, BacktestResult, BacktestRun
from backtest.sources import DataFile, DataKind, identify, load_klines
from config import Settings
from core.clock import MINUTE_MS
from core.errors import BadDataFile
from data_ingestion.files import read_trades
from data_ingestion.models import Tick
from data_ingestion.schemas import FrameError
from execution.rules import RulesError, SymbolRules, parse_symbol_rules
from recording.format import read_recording, recorded_tick, recording_header
from strategy.models import SignalRaised

# An event of the merged stream: (time ms, source index, sequence, payload).
_Event = tuple[int, int, int, "Candle | Tick"]


def _candle_events(candles: Sequence[Candle], index: int) -> Iterator[_Event]:
    for seq, candle in enumerate(candles):
        yield candle.close_time, index, seq, candle


def _checked_ticks(data: DataFile, ticks: Iterable[Tick]) -> Iterator[Tick]:
    """Trade files must hold one symbol, in time order."""
    last_time = -1
    symbol: str | None = None
    for n, tick in enumerate(ticks, start=1):
        if symbol is None:
            symbol = tick.symbol
        elif tick.symbol != symbol:
            raise BadDataFile(
                data.path, None, f"trade #{n} (id {tick.trade_id}): mixed symbols:"
                f" {tick.symbol} after {symbol}"
            )  # fmt: skip
        if tick.trade_time_ms < last_time:
            raise BadDataFile(
                data.path, None, f"trade #{n} (id {tick.trade_id}): trades are not sorted:"
                f" time {tick.trade_time_ms} after {last_time}"
            )  # fmt: skip
        last_time = tick.trade_time_ms
        yield tick


def _recording_ticks(path: Path, warmups: list[Candle], rules: list[SymbolRules]) -> Iterator[Tick]:
    """Raw stream events through the live parser, as the feed parses them. Warm-up lines
    (`Recorder.record_warmup`) are collected into `warmups` before the first trade."""
    for line, event in read_recording(path):
        if event.get("e") == "symbolInfo":
            try:
                rules.append(parse_symbol_rules(event["info"]))
            except (KeyError, TypeError, RulesError) as exc:
                raise BadDataFile(path, line, f"bad symbol info line: {exc}") from None
            continue
        if event.get("e") == "warmup":
            try:
                symbol = str(event["s"])
                warmups.extend(kline_to_candle(symbol, row) for row in event["k"])
            except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
                raise BadDataFile(path, line, f"bad warm-up line: {exc}") from None
            continue
        try:
            tick = recorded_tick(event)  # raw stream events and recorded trade lines
        except FrameError as exc:
            raise BadDataFile(path, line, str(exc)) from None
        if tick is not None:
            yield tick


def _tick_events(ticks: Iterator[Tick], index: int) -> Iterator[_Event]:
    for seq, tick in enumerate(ticks):
        yield tick.trade_time_ms, index, seq, tick


def _open(
    files: list[DataFile], warmups: list[Candle], rules: list[SymbolRules]
) -> tuple[list[Iterator[_Event]], int, set[str]]:
    """One time-ordered event iterator per file, the candle count (known up front), symbols."""
    streams: list[Iterator[_Event]] = []
    kline_ranges: dict[str, list[tuple[int, int, Path]]] = {}
    total = 0
    symbols: set[str] = set()
    for index, data in enumerate(files):
        if data.kind is DataKind.KLINES:
            candles = load_klines(data)
            assert data.symbol is not None
            symbols.add(data.symbol)
            kline_ranges.setdefault(data.symbol, []).append(
                (candles[0].open_time, candles[-1].open_time, data.path)
            )
            total += len(candles)
            streams.append(_candle_events(candles, index))
        elif data.kind is DataKind.TRADES:
            ticks = read_trades(data.path, data.symbol)
            streams.append(_tick_events(_checked_ticks(data, ticks), index))
        else:
            warm: list[Candle] = []
            ticks_iter = _recording_ticks(data.path, warm, rules)
            first = next(ticks_iter, None)  # reads the warm-up lines that precede the trades
            warmups.extend(warm)
            if first is not None:
                streams.append(_tick_events(itertools.chain([first], ticks_iter), index))
    for ranges in kline_ranges.values():
        ranges.sort()
        for (_, end, _p), (start, _, path) in itertools.pairwise(ranges):
            if start <= end:
                raise BadDataFile(path, 1, "overlaps another kline file of the same symbol")
    return streams, total, symbols


async def run_backtest(settings: Settings, config: BacktestConfig) -> BacktestResult:
    """Run every file's events, merged in time order, through the live classes. A recording
    the service made, given alone, is replayed exactly instead (`backtest.replay`)."""
    files = [identify(path, config.symbol) for path in config.files]
    alone = files[0] if len(files) == 1 else None
    if alone and alone.kind is DataKind.RECORDING and recording_header(alone.path) is not None:
        return await replay_recording(settings, config, alone.path)
    warmups: list[Candle] = []
    rules: list[SymbolRules] = []
    streams, kline_count, _ = _open(files, warmups, rules)
    return await run_streams(settings, config, streams, kline_count, warmups, rules)


def candle_stream(candles: Iterable[Candle], index: int = 0) -> Iterator[_Event]:
    """Candles (in time order) as an input of `run_streams` (benchmarks, tests)."""
    return _candle_events(list(candles), index)


def tick_stream(ticks: Iterable[Tick], index: int = 0) -> Iterator[_Event]:
    """Ticks (in time order) as an input of `run_streams` (benchmarks, tests)."""
    return _tick_events(iter(ticks), index)


def arrived(flying: deque[tuple[int, SignalRaised]], now_ms: int) -> list[SignalRaised]:
    """The orders in flight that reached the book by `now_ms` (oldest first), taken out."""
    out: list[SignalRaised] = []
    while flying and flying[0][0] <= now_ms:
        out.append(flying.popleft()[1])
    return out


async def run_streams(
    settings: Settings,
    config: BacktestConfig,
    streams: list[Iterator[_Event]],
    kline_count: int,
    warmups: Sequence[Candle] = (),
    rules: Sequence[SymbolRules] = (),
) -> BacktestResult:
    """The run itself: the merged events through the Pipeline and the run's orders."""
    run = BacktestRun(settings, config)
    clock, pipeline, orders = run.clock, run.pipeline, run.orders
    stops = CandleStops(run.engine, config.variants, run.signals.add, orders.submit)
    orders.add_listener(stops.on_position)
    last_id: dict[str, int] = {}
    for rule in rules:
        orders.set_rules(rule)  # a recording's exchangeInfo, as the recorded run had it
    async with run.executing():
        by_symbol: dict[str, list[Candle]] = {}
        for candle in warmups:
            by_symbol.setdefault(candle.symbol, []).append(candle)
        for symbol, candles in by_symbol.items():
            pipeline.warm_up(symbol, candles)  # as the service does at start: no signals
        with Progress(kline_count, config.progress) as progress:
            events = streams[0] if len(streams) == 1 else heapq.merge(*streams)
            # Bound once: this loop runs for every trade and candle of the data.
            pending = orders.pending  # the signals submitted by the current event
            set_time, on_tick, on_candle = clock.set, pipeline.on_tick, pipeline.on_candle
            before_close = stops.before_close
            advance = progress.advance if config.progress else None  # a no-op bar otherwise
            windowed = config.start_ms is not None or config.end_ms is not None
            outside = run.outside
            next_open = config.fill.next_open
            # symbol -> the strategy's orders of its last close, filled at its next open
            deferred: dict[str, list[SignalRaised]] = {}
            # trade data: symbol -> (due ms, order) decided at a trade, filled at the first
            # trade of that symbol at or after `due` (the decision plus the latency)
            in_flight: dict[str, deque[tuple[int, SignalRaised]]] = {}
            latency_ms = config.fill.latency_ms
            ticks = 0
            for time_ms, _i, _s, item in events:
                if isinstance(item, Tick):
                    if windowed and outside(time_ms):
                        continue
                    symbol, trade_id = item.symbol, item.trade_id
                    if trade_id <= last_id.get(symbol, -1):
                        continue  # a duplicate (reconnect overlap): the live sequencer drops it
                    last_id[symbol] = trade_id
                    set_time(time_ms)
                    flying = in_flight.get(symbol)
                    if flying and flying[0][0] <= time_ms:
                        orders.run_at(arrived(flying, time_ms), item.price)
                    if not ticks:  # quiet minutes of trade data close on the clock from now
                        pipeline.close_timer.start()
                    ticks += 1
                    on_tick(item)
                    if next_open and pending:
                        due = time_ms + latency_ms
                        for signal in orders.drop_pending():
                            in_flight.setdefault(signal.symbol, deque()).append((due, signal))
                else:
                    if windowed and outside(item.open_time):
                        continue
                    if advance is not None:
                        advance()
                    waiting = deferred.pop(item.symbol, None) if next_open else None
                    if waiting:
                        set_time(item.open_time)
                        orders.run_at(waiting, item.open)
                    before_close(item)  # reads no clock
                    if pending:
                        set_time(item.open_time)  # the stops' orders run at the open
                        orders.run_pending()
                    set_time(time_ms)  # the candle's close time
                    on_candle(item)
                    if next_open and pending:
                        deferred.setdefault(item.symbol, []).extend(orders.drop_pending())
                if pending:
                    orders.run_pending()
            run.ticks = ticks
            if ticks:  # the last minute of trade data closes on the clock
                clock.advance(MINUTE_MS + pipeline.aggregator.grace_ms + pipeline.close_lag_ms)
                if pending and not next_open:  # next_open: no trade comes after them
                    orders.run_pending()
    return run.result()
