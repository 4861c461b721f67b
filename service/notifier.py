"""Delivers the outbox (storage/outbox.py) to each channel: webhooks, signed as Standard
Webhooks signs them, and Telegram's Bot API `sendMessage`.

Never on the trading path: the events were written with their ledger entries; this task reads
them in threads and sends them over HTTP with timeouts, one loop per channel, so a receiver
that hangs or fails delays only its own channel. At least once: a row is marked delivered only
after a 2xx; a restart resumes the pending rows (a delivery cut by a crash is sent again, with
the same `webhook-id`). Failures back off (1 s doubling to 5 min); Retry-After (HTTP) and
Telegram's `retry_after` are honoured; Telegram gets at most one message a second. A row still
undelivered NOTIFY_EXPIRY_S after it was written expires: counted in /metrics
(`notifications_expired_total`) and named in /health's notices. Memory stays bounded: at
most PAGE rows of a channel are read at a time.

Neither the bot token nor the webhook secret is ever logged, stored or returned: errors are
recorded as the status code or the exception's type.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from config import Settings
from execution.numbers import plain, quote_text
from storage import outbox
from storage.database import Database
from storage.outbox import OutboxPolicy

log = logging.getLogger(__name__)

PAGE = 100
POLL_S = 0.5  # how often a channel with nothing due looks again
TIMEOUT_S = 10.0
MAX_BACKOFF_S = 300.0
TELEGRAM = "telegram"
TELEGRAM_GAP_S = 1.0  # Telegram: about one message a second per chat


def channels(settings: Settings) -> tuple[str, ...]:
    """The configured channels: each webhook URL, and "telegram" with a token and a chat."""
    found = list(dict.fromkeys(settings.notify_webhook_url))
    if settings.telegram_bot_token is not None and settings.telegram_chat_id:
        found.append(TELEGRAM)
    return tuple(found)


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body`; a
    `whsec_` secret is the base64 of the key, any other is the key's own bytes."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def describe(channel: str) -> str:
    """A channel as a log may name it: a webhook's scheme and host only (a URL may carry a
    key in its path or query)."""
    if channel == TELEGRAM:
        return TELEGRAM
    parts = urlsplit(channel)
    return f"webhook {parts.scheme}://{parts.hostname}"


def _amount(text: str) -> str:
    """A quote amount for a person: as shown everywhere (8 places), without trailing zeros."""
    return plain(Decimal(quote_text(Decimal(text))).normalize())


def text_of(body: dict[str, Any]) -> str:
    """An event as a person reads it (Telegram)."""
    d, kind = body["data"], body["type"]
    if kind == "fill":
        what = "bought" if d["entry"] else "sold"
        pnl = f", P&L {_amount(d['pnl'])}" if d.get("pnl") not in (None, "") else ""
        return (f"{d['variant']} {what} {d['quantity']} {d['symbol']} at {d['price']}"
                f" ({d['reason']}{pnl})")  # fmt: skip
    if kind == "rejected":
        return f"{d['variant']} {d['side']} {d['symbol']} refused: {d['error']}"
    if kind == "variant":
        reason = f": {d['reason']}" if d.get("reason") else ""
        return f"variant {d['variant']} {d['action']}{reason}"
    if kind == "reset":
        return f"exchange reset detected: {d['detail']}"
    if kind == "optimization":
        best = d.get("best") or {}
        params = " ".join(f"{k}={v}" for k, v in (best.get("params") or {}).items())
        figure = (best.get("metrics") or {}).get("return_pct")
        return (f"optimisation {d['study']} finished: {d['trials']} trials of {d['strategy']}"
                f" on {d['symbol']}; best {params or 'none'}"
                + (f" (return {figure} %)" if figure is not None else ""))  # fmt: skip
    if kind == "health":
        reasons = "".join(f"\n- {r}" for r in d["reasons"])
        return f"health {d['status']}{reasons}"
    if kind == "daily":
        lines = [f"daily summary {d['date']} (since start; day = realized today)"]
        lines += [
            f"{v['variant']}: P&L {_amount(v['pnl'])}, return {v['return_pct']} %, max DD"
            f" {v['max_drawdown_pct']} %, {v['trades']} trades, win {v['win_rate']:.0%},"
            f" fees {_amount(v['fees'])}, day {_amount(v['day_realized_pnl'])}"
            for v in d["variants"]
        ]
        return "\n".join(lines)
    return f"{kind}: {orjson.dumps(d).decode()}"


class Retry(Exception):
    """A delivery that failed; `after_s` is the receiver's own wait (Retry-After), if given."""

    def __init__(self, why: str, after_s: float | None = None) -> None:
        super().__init__(why)
        self.after_s = after_s


class Notifier:
    """One loop per channel over the outbox of `db`."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        wall_ms: Callable[[], int],
        on_expired: Callable[[str, int], None] | None = None,
        policy: OutboxPolicy | None = None,
    ) -> None:
        self.db = db
        self.policy = policy  # for events no entry causes (service.notable)
        self._db = db
        self._settings = settings
        self._wall_ms = wall_ms
        self.on_expired = on_expired
        self.channels = channels(settings)
        self.delivered = 0
        self.expired = 0

    async def run(self) -> None:
        if not self.channels:
            return
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await asyncio.gather(*(self._channel(session, c) for c in self.channels))

    async def _channel(self, session: aiohttp.ClientSession, channel: str) -> None:
        """Deliver `channel`'s rows in the order they were written; a failed row holds the
        rest until its retry (Telegram's flood control asks exactly that)."""
        while True:
            rows = await asyncio.to_thread(self._pending, channel)
            wait = POLL_S
            for row in rows:
                ahead = row.due_ms - self._wall_ms()
                if ahead > 0 and not self._expired(row):
                    wait = ahead / 1000  # in order: nothing after it goes first
                    break
                if not await self._one(session, channel, row):
                    wait = 0.0
                    break
            else:
                if rows:
                    continue
            await asyncio.sleep(wait)

    def _pending(self, channel: str) -> list[outbox.Row]:
        with self._db.engine.connect() as conn:
            return outbox.pending(conn, channel, PAGE)

    def _expired(self, row: outbox.Row) -> bool:
        return self._wall_ms() - row.created_ms > self._settings.notify_expiry_s * 1000

    def _settle(
        self, row: outbox.Row, state: str, due_ms: int = 0, error: str | None = None
    ) -> None:
        with self._db.engine.connect() as conn:
            outbox.settle(conn, row, state, due_ms, error)

    async def _one(self, session: aiohttp.ClientSession, channel: str, row: outbox.Row) -> bool:
        """Try `row` once: True when it is settled (delivered or expired), False when it
        waits for a retry."""
        if self._expired(row):
            await asyncio.to_thread(self._settle, row, outbox.EXPIRED, 0, "expired")
            self.expired += 1
            log.warning("notification %s to %s expired undelivered after %d attempts",
                        row.event_id, describe(channel), row.attempts)  # fmt: skip
            if self.on_expired is not None:
                self.on_expired(describe(channel), self.expired)
            return True
        try:
            if channel == TELEGRAM:
                await self._telegram(session, row)
            else:
                await self._webhook(session, channel, row)
        except Retry as exc:
            wait = exc.after_s if exc.after_s is not None else min(MAX_BACKOFF_S, 2.0**row.attempts)
            await asyncio.to_thread(
                self._settle, row, outbox.PENDING, self._wall_ms() + int(wait * 1000), str(exc)
            )
            if row.attempts == 0:
                log.warning("notification %s to %s failed (%s): tried again in %.0f s",
                            row.event_id, describe(channel), exc, wait)  # fmt: skip
            return False
        await asyncio.to_thread(self._settle, row, outbox.DELIVERED)
        self.delivered += 1
        return True

    async def _webhook(self, session: aiohttp.ClientSession, url: str, row: outbox.Row) -> None:
        timestamp = self._wall_ms() // 1000
        headers = {"content-type": "application/json", "webhook-id": row.event_id,
                   "webhook-timestamp": str(timestamp)}  # fmt: skip
        secret = self._settings.notify_webhook_secret
        if secret is not None:
            headers["webhook-signature"] = sign(
                secret.get_secret_value(), row.event_id, timestamp, row.body
            )
        try:
            async with session.post(url, data=row.body.encode(), headers=headers) as response:
                if 200 <= response.status < 300:
                    return
                raise Retry(f"HTTP {response.status}", _retry_after(response.headers))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Retry(type(exc).__name__) from None

    async def _telegram(self, session: aiohttp.ClientSession, row: outbox.Row) -> None:
        token = self._settings.telegram_bot_token
        assert token is not None
        body = orjson.loads(row.body)
        url = f"{self._settings.telegram_api_url}/bot{token.get_secret_value()}/sendMessage"
        payload = {"chat_id": self._settings.telegram_chat_id, "text": text_of(body),
                   "disable_notification": bool(body.get("silent"))}  # fmt: skip
        try:
            async with session.post(url, json=payload) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise Retry(type(exc).__name__) from None  # never str(exc): it names the URL
        finally:
            await asyncio.sleep(TELEGRAM_GAP_S)
        if isinstance(answer, dict) and answer.get("ok"):
            return
        params = answer.get("parameters", {}) if isinstance(answer, dict) else {}
        after = params.get("retry_after") if isinstance(params, dict) else None
        code = answer.get("error_code") if isinstance(answer, dict) else None
        raise Retry(f"Telegram error {code}", float(after) if after is not None else None)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
