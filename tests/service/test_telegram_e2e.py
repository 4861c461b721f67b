"""Telegram commands on a real `main.py --simulate` against a local server that answers the Bot
API's `getUpdates` and `sendMessage` (TELEGRAM_API_URL): `/pause A` from another chat changes
nothing and gets no answer; from the configured chat it pauses A (journaled: GET /variants says
a person paused it) and is answered there; `/status` is answered too."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.api.support import free_port
from tests.conftest import ROOT
from tests.service.test_e2e import wait_healthy

pytestmark = pytest.mark.e2e

TOKEN = "987654:TEST-TOKEN-of-the-bot-xyz"
CHAT = "5005"


class BotApi:
    def __init__(self) -> None:
        self.queue: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.polls = 0
        self.next_id = 1

    def say(self, chat: str, text: str) -> None:
        self.queue.append({"update_id": self.next_id,
                           "message": {"message_id": self.next_id, "chat": {"id": int(chat)},
                                       "text": text}})  # fmt: skip
        self.next_id += 1

    async def updates(self, request: web.Request) -> web.Response:
        assert request.match_info["token"] == TOKEN
        offset = int(request.query.get("offset", 0))
        self.polls += 1
        ready = [u for u in self.queue if u["update_id"] >= offset]
        if not ready:
            await asyncio.sleep(0.3)  # a short long poll
        return web.json_response({"ok": True, "result": ready})

    async def send(self, request: web.Request) -> web.Response:
        self.sent.append(await request.json())
        return web.json_response({"ok": True, "result": {"message_id": len(self.sent)}})

    def replies(self) -> list[str]:
        return [m["text"] for m in self.sent]


async def _until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(120)
async def test_commands_only_from_the_configured_chat(tmp_path: Path) -> None:
    api = BotApi()
    app = web.Application()
    app.router.add_get("/bot{token}/getUpdates", api.updates)
    app.router.add_post("/bot{token}/sendMessage", api.send)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    bot_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", bot_port).start()
    (tmp_path / "empty.env").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_CHAT_ID=CHAT,
        TELEGRAM_API_URL=f"http://127.0.0.1:{bot_port}",
        NOTIFY_EVENTS="fill=off,rejected=off,variant=off",  # only the commands' answers here
    )  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "main.py", "--simulate", "--speed", "60", "--port", str(port),
           "--database", f"sqlite:///{tmp_path}/ledger.db", "--journal", str(tmp_path / "j.jsonl"),
           "--env-file", str(tmp_path / "empty.env")]  # fmt: skip
    log_path = tmp_path / "service.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            await wait_healthy(base, proc, timeout=60)
            async with httpx.AsyncClient(base_url=base) as http:

                async def paused() -> bool:
                    found = (await http.get("/variants")).json()
                    return bool(next(v for v in found if v["name"] == "A")["paused"])

                api.say("6006", "/pause A")  # another chat
                polls = api.polls
                await _until(lambda: api.polls >= polls + 3, 30, "the bot to read past it")
                assert not await paused()
                assert api.replies() == []  # no answer to another chat
                api.say(CHAT, "/pause A")
                await _until(lambda: len(api.replies()) >= 1, 30, "the answer to /pause")
                assert await paused()
                api.say(CHAT, "/status")
                await _until(lambda: len(api.replies()) >= 2, 30, "the answer to /status")
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=20)
            await runner.cleanup()
    replies = api.replies()
    assert replies[0] == "variant A paused"
    assert "A: paused (paused by a person" in replies[1]
    assert all(m["chat_id"] == CHAT for m in api.sent)
    assert TOKEN not in log_path.read_text()
