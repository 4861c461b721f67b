"""`main.py --simulate` stopped while a position is open, then started again on the same
journal: the new in-process simulator goes on with the same account, so no reset is declared,
the position is still open with the same quantity, entry and resting stop, and its exit sells
exactly what was held, at a P&L against the first run's cost. Real processes, real sockets."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.support import empty_env, free_port
from tests.ledgers import beside, write_as_crashed
from tests.service.test_e2e import ROOT, wait_healthy
from tests.service.test_restart_e2e import _env, _lines

pytestmark = pytest.mark.e2e
Pair = tuple[str, str]


@dataclass
class Run:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path


@asynccontextmanager
async def _service(tmp_path: Path, journal: Path, name: str) -> AsyncIterator[Run]:
    """main.py --simulate on `journal`; stopped on exit by SIGINT unless already ended."""
    port = free_port()
    cmd = [sys.executable, "main.py", "--simulate", "--speed", "60", "--seed", "3"]
    cmd += [
        "--port",
        str(port),
        "--journal",
        str(journal),
        "--database",
        beside(journal),
        "--env-file",
        str(empty_env(tmp_path)),
    ]
    log_path = tmp_path / f"{name}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            run = Run(proc, f"http://127.0.0.1:{port}", log_path)
            await wait_healthy(run.base, proc, timeout=40)
            yield run
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()  # never leave a service behind
                await asyncio.to_thread(proc.wait, 10)


def _fills(lines: list[dict[str, Any]], pair: Pair) -> list[dict[str, Any]]:
    return [r for r in lines if r["type"] == "filled" and (r["variant"], r["symbol"]) == pair]


async def _positions(http: httpx.AsyncClient, run: Run) -> dict[Pair, dict[str, Any]]:
    rows = (await http.get(f"{run.base}/positions")).json()
    return {(p["variant"], p["symbol"]): p for p in rows}


async def _until_open(run: Run, journal: Path) -> dict[Pair, dict[str, Any]]:
    """/positions rows of the positions open with their stop resting, once there are any;
    only those whose journal fills did not change while they were read."""
    async with httpx.AsyncClient() as http:
        for _ in range(900):
            assert run.proc.poll() is None, run.log.read_text()[-3000:]
            before = _lines(journal)
            rows = await _positions(http, run)
            after = _lines(journal)
            open_ = {
                pair: row
                for pair, row in rows.items()
                if row["is_open"]
                and row["stop_order"] is not None
                and row["stop_order"]["state"] == "open"
                and _fills(before, pair) == _fills(after, pair)
            }
            if open_:
                return open_
            await asyncio.sleep(0.1)
    raise AssertionError("no position opened")


def _resting_stop(lines: list[dict[str, Any]], pair: Pair) -> str | None:
    """The client id of the pair's stop still resting at the end of `lines`."""
    state: dict[str, str] = {}
    for r in lines:
        if r.get("order_type") == "STOP_LOSS" and (r["variant"], r["symbol"]) == pair:
            state[r["client_order_id"]] = r["type"]
    resting = [cid for cid, kind in state.items() if kind == "open"]
    assert len(resting) <= 1, resting
    return resting[0] if resting else None


async def _stopped_while_open(
    tmp_path: Path, journal: Path, how: signal.Signals
) -> tuple[dict[Pair, dict[str, Any]], list[dict[str, Any]]]:
    """First run until a position is open, then `how` (SIGINT: a clean stop; SIGKILL: a
    crash). Returns the positions still open at the end of the run, and its journal lines."""
    async with _service(tmp_path, journal, "first") as run:
        open_ = await _until_open(run, journal)
        seen = _lines(journal)
        run.proc.send_signal(how)
        code = await asyncio.to_thread(run.proc.wait, 30)
    assert code == (0 if how is signal.SIGINT else -signal.SIGKILL), run.log.read_text()[-3000:]
    first = _lines(journal)
    # Only positions that no fill changed between the read and the stop.
    kept = {p: row for p, row in open_.items() if _fills(seen, p) == _fills(first, p)}
    assert kept, "every open position changed while the first run stopped"
    return kept, first


async def _goes_on(
    tmp_path: Path, journal: Path, held: dict[Pair, dict[str, Any]], first: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Second run on the same journal: each held position is still open as it was, then a
    manual close sells it. Returns the second run's journal lines."""
    async with _service(tmp_path, journal, "second") as run, httpx.AsyncClient() as http:
        now = await _positions(http, run)
        second = _lines(journal)[len(first) :]
        for pair, was in held.items():
            if _fills(second, pair):
                continue  # the strategy already exited: the checks below cover its exit
            row = now[pair]
            for field in ("qty", "held_qty", "entry_price", "cost_quote", "realized_pnl"):
                assert row[field] == was[field], (pair, field, row[field], was[field])
            assert row["stop_order"]["client_order_id"] == _resting_stop(first, pair)
            close = await http.post(f"{run.base}/positions/{pair[0]}/{pair[1]}/close")
            assert close.status_code in (200, 409), close.text  # 409: the strategy was first
        for _ in range(300):
            second = _lines(journal)[len(first) :]
            if all(_fills(second, pair) for pair in held):
                break
            await asyncio.sleep(0.1)
    log = run.log.read_text()
    assert run.proc.returncode == 0, log[-3000:]
    assert "the simulated account goes on from the ledger" in log
    assert "exchange was reset" not in log and "positions ended" not in log
    assert [r["type"] for r in second].count("reset") == 0
    return second


def _sold_as_held(
    pair: Pair, was: dict[str, Any], first: list[dict[str, Any]], second: list[dict[str, Any]]
) -> None:
    """The pair's first fill after the restart sells what the first run held, at a P&L
    against the first run's cost; its stop from the first run was canceled (or filled) by
    the restored exchange, and no new stop was placed for it before."""
    exit_ = _fills(second, pair)[0]
    assert (exit_["side"], exit_["closing"]) == ("SELL", True), exit_
    assert Decimal(exit_["executed_qty"]) == Decimal(was["qty"])
    proceeds = Decimal(exit_["quote_qty"]) - Decimal(exit_["commission"])
    cost = Decimal(was["cost_quote"]) * Decimal(exit_["executed_qty"]) / Decimal(was["held_qty"])
    assert abs(Decimal(exit_["realized_pnl"]) - (proceeds - cost)) < Decimal("0.000001")
    stop = _resting_stop(first, pair)
    before_exit = second[: second.index(exit_)]
    ends = [r for r in [*before_exit, exit_] if r["client_order_id"] == stop]
    assert ends, f"nothing of the first run's stop {stop} after the restart"
    assert ends[-1]["type"] == "filled" or (
        ends[-1]["type"] == "canceled" and ends[-1]["error"] == "the exchange says CANCELED"
    ), ends[-1]  # not "not on the exchange": the restored simulator had it resting
    new_stops = [
        r for r in before_exit
        if r.get("order_type") == "STOP_LOSS" and r["type"] == "intent"
        and (r["variant"], r["symbol"]) == pair
    ]  # fmt: skip
    assert new_stops == [], new_stops


@pytest.mark.timeout(240)
async def test_a_stopped_simulation_goes_on_with_its_open_positions(tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    held, first = await _stopped_while_open(tmp_path, journal, signal.SIGINT)
    second = await _goes_on(tmp_path, journal, held, first)
    for pair, was in held.items():
        _sold_as_held(pair, was, first, second)
    # Exchange order ids go on above the first run's.
    old = {r["exchange_order_id"] for r in first if r.get("exchange_order_id")}
    new = {r["exchange_order_id"] for r in second if r.get("exchange_order_id")} - old
    assert new and min(new) > max(old)


@pytest.mark.timeout(240)
async def test_a_killed_simulation_goes_on_and_an_unsent_sell_is_abandoned(
    tmp_path: Path,
) -> None:
    """SIGKILL while a position is open, then the journal as a kill between a sell's intent and
    its outcome leaves it: the intent is on disk, the order (sent or not) died with the
    in-process simulator. The restored exchange does not know it (-2013), so recovery marks it
    abandoned; the position, the balances and the later exit count the sell once: not at all
    before the exit, then once."""
    journal = tmp_path / "journal.jsonl"
    held, first = await _stopped_while_open(tmp_path, journal, signal.SIGKILL)
    pair, was = next(iter(held.items()))
    lost = {
        "type": "intent", "client_order_id": f"{pair[0]}-{pair[1]}-killed-1", "variant": pair[0],
        "symbol": pair[1], "side": "SELL", "quantity": was["qty"], "reason": "signal",
        "mode": "simulated", "signal_time": first[-1]["time"], "time": first[-1]["time"],
        "closing": True, "ref": 0, "price_hint": None,
    }  # fmt: skip
    write_as_crashed(beside(journal), lost)
    first = _lines(journal)
    second = await _goes_on(tmp_path, journal, held, first)

    outcome = [r for r in second if r["client_order_id"] == lost["client_order_id"]]
    assert [r["type"] for r in outcome] == ["abandoned"], outcome
    for pair, was in held.items():
        _sold_as_held(pair, was, first, second)
        assert len([r for r in _fills(second, pair) if r["side"] == "SELL"]) >= 1


async def _streamed(http: httpx.AsyncClient, run: Run, count: int) -> list[dict[str, Any]]:
    """The candles run built from its stream, once there are `count` of them."""
    for _ in range(600):
        assert run.proc.poll() is None, run.log.read_text()[-3000:]
        series = (await http.get(f"{run.base}/candles/BTCUSDT?limit=1000")).json()
        built = [c for c in series["candles"] if c["source"] != "warmup"]
        if len(built) >= count:
            return built
        await asyncio.sleep(0.2)
    raise AssertionError(f"fewer than {count} candles streamed")


async def test_a_restart_keeps_the_chart_history_and_the_start_of_the_figures(
    tmp_path: Path,
) -> None:
    """Defect 8 of the dashboard issue: after a restart the chart kept 208 of 1,469 candles and
    the A/B "since" moved forward. Every candle the first run built is served again, unchanged,
    and the performance figures still count from the first run's first mark."""
    journal = tmp_path / "journal.jsonl"
    async with httpx.AsyncClient() as http:
        async with _service(tmp_path, journal, "first") as run:
            await _until_open(run, journal)  # a fill: the figures count from the first one
            built = await _streamed(http, run, 30)
            since = (await http.get(f"{run.base}/performance")).json()["start_ms"]
            first_fill = min(
                t["fill_time_ms"] for t in (await http.get(f"{run.base}/trades")).json()
            )
            assert since == first_fill
        async with _service(tmp_path, journal, "second") as run:
            series = (await http.get(f"{run.base}/candles/BTCUSDT?limit=1000")).json()
            again = {c["open_time"]: c for c in series["candles"]}
            fields = ("open", "high", "low", "close", "volume", "trades")
            missing = [c["open_time"] for c in built if c["open_time"] not in again]
            assert missing == [], f"{len(missing)} of {len(built)} candles lost"
            for c in built:
                assert {f: again[c["open_time"]][f] for f in fields} == {f: c[f] for f in fields}
            assert (await http.get(f"{run.base}/performance")).json()["start_ms"] == since
