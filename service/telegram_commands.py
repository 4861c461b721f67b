"""Telegram commands, answered only in the configured chat (TELEGRAM_CHAT_ID):

    /status            health and each variant's state
    /performance       each variant's equity, return and max drawdown (the Accounts' figures)
    /daily             today's (UTC) realized P&L and orders per variant
    /pause A [reason]  pause variant A: journaled like POST /variants/A/pause
    /resume A          resume it

The Bot API's `getUpdates` is polled (long poll); a message from any other chat is ignored
without an answer and without effect, and logged without its text. The token is never logged:
errors name only their type.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from config import Settings
from execution.ledger import LedgerUnavailableError

if TYPE_CHECKING:
    from service.container import Service

log = logging.getLogger(__name__)

LONG_POLL_S = 25
RETRY_S = 5.0
HELP = "commands: /status, /performance, /daily, /pause VARIANT [reason], /resume VARIANT"


class TelegramCommands:
    def __init__(self, settings: Settings, service: Service) -> None:
        token = settings.telegram_bot_token
        assert token is not None and settings.telegram_chat_id
        self._base = f"{settings.telegram_api_url}/bot{token.get_secret_value()}"
        self._chat = str(settings.telegram_chat_id)
        self._service = service
        self._offset = 0
        self.ignored = 0  # messages from other chats

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=LONG_POLL_S + 10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                try:
                    updates = await self._updates(session)
                except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                    log.warning("Telegram getUpdates failed (%s): again in %.0f s",
                                type(exc).__name__, RETRY_S)  # fmt: skip
                    await asyncio.sleep(RETRY_S)
                    continue
                for update in updates:
                    self._offset = max(self._offset, int(update.get("update_id", 0)) + 1)
                    await self._handle(session, update)

    async def _updates(self, session: aiohttp.ClientSession) -> list[dict[str, Any]]:
        params = {"offset": self._offset, "timeout": LONG_POLL_S}
        async with session.get(f"{self._base}/getUpdates", params=params) as response:
            answer = await response.json(content_type=None)
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise ValueError("not ok")
        result = answer.get("result")
        return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []

    async def _handle(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        message = update.get("message")
        if not isinstance(message, dict):
            return
        chat = message.get("chat")
        chat_id = str(chat.get("id")) if isinstance(chat, dict) else None
        if chat_id != self._chat:
            self.ignored += 1
            log.info("a Telegram message from another chat was ignored")
            return
        text = message.get("text")
        if not isinstance(text, str) or not text.startswith("/"):
            return
        reply = await self.answer(text)
        try:
            async with session.post(
                f"{self._base}/sendMessage", json={"chat_id": self._chat, "text": reply}
            ) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Telegram answer not sent (%s)", type(exc).__name__)

    async def answer(self, text: str) -> str:
        """The reply to a command of the configured chat (it may act: pause, resume)."""
        words = text.split()
        command = words[0].split("@", 1)[0].lower()  # "/status@MyBot" in groups
        args = words[1:]
        service = self._service
        if command == "/status":
            report = service.health()
            lines = [f"{report.status} ({report.mode})", *report.reasons]
            lines += [f"{v.variant}: {v.state.value}" + (f" ({v.reason})" if v.reason else "")
                      for v in report.variants]  # fmt: skip
            return "\n".join(lines)
        if command == "/performance":
            accounts = service.executor.accounts
            if accounts is None:
                return "no figures yet"
            out = []
            for name in accounts.variants:
                m = accounts.money(name).shown()
                out.append(f"{name}: equity {m['equity']}, return {m['return_pct']} %,"
                           f" max drawdown {m['max_drawdown_pct']} %")  # fmt: skip
            return "\n".join(out)
        if command == "/daily":
            risk = service.executor.risk
            return "\n".join(
                f"{v.name}: today P&L {risk.pnl_today(v.name)}, orders {risk.orders_today(v.name)}"
                for v in service.settings.variant_settings
            )
        if command in ("/pause", "/resume"):
            if not args:
                return f"{command} needs a variant: {command} A"
            name = args[0]
            if name not in {v.name for v in service.settings.variant_settings}:
                return f"no variant {name}"
            try:
                if command == "/pause":
                    await service.controls.pause(name, " ".join(args[1:]) or "paused from Telegram")
                else:
                    await service.controls.resume(name)
            except LedgerUnavailableError as exc:
                return f"nothing changed: {exc}"
            return f"variant {name} {command[1:]}d"
        return HELP
