"""The notifier against a local HTTP server that answers the Bot API's `sendMessage` (as
TELEGRAM_API_URL lets a user point it elsewhere): events written with their entries through
the ledger's own commit arrive as readable text in the configured chat, a 429's `retry_after`
is honoured, an event past its expiry is counted and not sent, and the token is never logged
nor stored."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from config import load_settings
from core.events import parse_levels
from execution.codec import ExchangeReset, VariantControl
from execution.models import OrderRecord, OrderStatus
from service.notifier import TELEGRAM, Notifier
from storage import outbox
from storage.database import Database
from storage.entries import commit_entries
from storage.outbox import Event, OutboxPolicy
from strategy.models import Side, SignalReason
from tests.api.support import free_port

pytestmark = pytest.mark.e2e  # a local server, and seconds of retry_after and rate limit

TOKEN = "123456:THE-BOT-TOKEN-never-to-be-seen"


class BotApi:
    def __init__(self) -> None:
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.limited = 1  # answer the first call with 429 retry_after 1
        self.limited_at = 0.0

    async def send(self, request: web.Request) -> web.Response:
        assert request.match_info["token"] == TOKEN
        payload = await request.json()
        if self.limited:
            self.limited -= 1
            self.limited_at = time.monotonic()
            return web.json_response(
                {"ok": False, "error_code": 429, "description": "Too Many Requests",
                 "parameters": {"retry_after": 1}}, status=429,
            )  # fmt: skip
        self.messages.append((time.monotonic(), payload))
        return web.json_response({"ok": True, "result": {"message_id": len(self.messages)}})


def _fill(n: int) -> OrderRecord:
    return OrderRecord(
        status=OrderStatus.FILLED, client_order_id=f"A-BTCUSDT-{n}", variant="A",
        symbol="BTCUSDT", side=Side.BUY, quantity=Decimal("0.001"), reason=SignalReason.SIGNAL,
        mode="simulated", signal_time_ms=1_000, time_ms=2_000, executed_qty=Decimal("0.001"),
        avg_price=Decimal("65000.5"),
    )  # fmt: skip


@pytest.mark.timeout(60)
async def test_telegram_gets_every_event_as_text(
    ledger_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    api = BotApi()
    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", api.send)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)  # it names the URL
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    settings = load_settings(
        None, telegram_bot_token=TOKEN, telegram_chat_id="4242",
        telegram_api_url=f"http://127.0.0.1:{port}", notify_events="variant=silent",
        notify_expiry_s=3600,
    )  # fmt: skip
    db = Database.open(ledger_url, exchange=None)  # SQLite, then a real PostgreSQL
    wall = [int(time.time() * 1000)]
    policy = OutboxPolicy((TELEGRAM,), parse_levels(settings.notify_events), lambda: wall[0])
    with db.engine.connect() as conn:
        # An event written two hours ago (wall clock) has expired: counted, never sent.
        wall[0] -= 2 * 3600 * 1000
        commit_entries(conn, [(1, ExchangeReset(500, "old reset"))], policy)
        wall[0] += 2 * 3600 * 1000
        commit_entries(conn, [(2, _fill(2)), (3, VariantControl(3_000, "B", "pause", "news"))],
                       policy)  # fmt: skip
    expired: list[tuple[str, int]] = []
    notifier = Notifier(db, settings, lambda: int(time.time() * 1000),
                        lambda ch, n: expired.append((ch, n)))  # fmt: skip
    caplog.set_level(logging.DEBUG)
    task = asyncio.create_task(notifier.run())
    try:
        deadline = time.monotonic() + 30
        while notifier.delivered < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()
    texts = [m["text"] for _, m in api.messages]
    assert texts == ["A bought 0.001 BTCUSDT at 65000.5 (signal)", "variant B pause: news"]
    assert all(m["chat_id"] == "4242" for _, m in api.messages)
    assert [m["disable_notification"] for _, m in api.messages] == [False, True]  # silent
    assert expired == [("telegram", 1)]
    with db.engine.connect() as conn:
        assert outbox.counts(conn) == {"pending": 0, "delivered": 2, "expired": 1}
        errors = [r for (r,) in conn.exec_driver_sql("SELECT error FROM outbox") if r]
    # Events no entry causes (health, the daily summary): written once however often.
    again = policy.event_rows([Event("daily-2026-12-07", "daily", 9_000, {"date": "x"})])
    for _ in range(2):
        with db.engine.connect() as conn:
            outbox.add(conn, again)
    with db.engine.connect() as conn:
        assert outbox.counts(conn)["pending"] == 1
    db.close()
    assert api.messages[0][0] - api.limited_at >= 1.0  # retry_after honoured
    assert "Telegram error 429" in caplog.text
    assert all(TOKEN not in e for e in errors) and TOKEN not in caplog.text
