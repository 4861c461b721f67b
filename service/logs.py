"""Logging set-up. Every line the service writes goes through `Scrubber`:

- the query string of every URL path (`/ws?token=…`, uvicorn's access and WebSocket lines,
  python-binance's signed URLs) keeps its parameter names and loses its values;
- each secret of the settings is masked in the encodings a log line could carry it in: as is,
  URL-encoded (`+ / =` as `%2B %2F %3D`, or `+` for a space), JSON- or repr-escaped. Secrets of
  under 8 characters are masked only where they stand alone (not inside a longer word), so a
  short token does not blank out every word that contains its letters.

Nothing logs secrets on purpose (settings are never logged unmasked): this is the second guard.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import TextIO
from urllib.parse import quote, quote_plus

from config import Settings

MASK = "***"
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
SHORT_SECRET = 8  # shorter secrets are masked only as whole words
MAX_MESSAGE = 4096  # characters of one record's message (what a client sent is in some)
# A URL path with a query: "/ws?token=x&y=1" -> "/ws?token=***&y=***". The query runs to the
# next white space: a quote inside it (`?x='&token=…`) must not end the masking early.
_QUERY = re.compile(r"(?P<path>/[^\s?\"'<>]*)\?(?P<query>[^\s#]*)")
# Control characters (a newline or ESC from a client would forge a log line or a colour).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _scrub_query(match: re.Match[str]) -> str:
    query, quote_end = match["query"], ""
    if query.endswith('"'):  # the end of a quoted request line
        query, quote_end = query[:-1], '"'
    parts = []
    for part in query.split("&"):
        name, sep, _ = part.partition("=")
        parts.append(f"{name}={MASK}" if sep else MASK if part else "")
    return f"{match['path']}?{'&'.join(parts)}{quote_end}"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char) or f"\\x{ord(char):02x}"


def one_line(text: str) -> str:
    """`text` with its control characters escaped and its length bounded: one log line."""
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE]}… ({len(text)} characters)"
    return _CONTROL.sub(_escape, text)


def encodings(secret: str) -> set[str]:
    """The forms of `secret` a log line might carry (URL-encoded, escaped)."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
    }
    return {f for f in forms if f}


class Scrubber:
    """Text -> the same text with query values and secrets masked."""

    def __init__(self, secrets: list[str]) -> None:
        long_forms: set[str] = set()
        short_forms: set[str] = set()
        for secret in secrets:
            forms = encodings(secret)
            (long_forms if len(secret) >= SHORT_SECRET else short_forms).update(forms)
        alternatives = [re.escape(f) for f in sorted(long_forms, key=len, reverse=True)]
        alternatives += [
            rf"(?<![A-Za-z0-9]){re.escape(f)}(?![A-Za-z0-9])"
            for f in sorted(short_forms, key=len, reverse=True)
        ]
        # Percent-escapes may come in either case (%2b or %2B).
        self._secrets = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None

    def __call__(self, text: str) -> str:
        if "?" in text:
            text = _QUERY.sub(_scrub_query, text)
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        return text


class SecretFilter(logging.Filter):
    """Scrubs a record's message (so every handler after this one sees it scrubbed too)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.scrub = Scrubber(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.scrub(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class ClientNoise(logging.Filter):
    """uvicorn logs a /ws text frame that is not UTF-8 as an ERROR with a traceback: a client's
    mistake, not the service's. One WARNING line instead (uvicorn closes with 1007)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.error" and str(record.msg).startswith("Invalid UTF-8"):
            record.msg = "/ws client sent a text frame that is not UTF-8: closed with 1007"
            record.args = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


class ScrubbingFormatter(logging.Formatter):
    """The whole formatted line scrubbed, tracebacks included (an exception's text may hold a
    URL or a header); the message itself on one line (control characters escaped)."""

    def __init__(self, scrub: Scrubber) -> None:
        super().__init__(FORMAT)
        self.scrub = scrub

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)  # the traceback below keeps its lines
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(super().format(record))


def secrets_of(settings: Settings) -> list[str]:
    values = (settings.binance_api_key, settings.binance_api_secret, settings.api_token)
    return [v.get_secret_value() for v in values if v is not None]


def log_handler(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """The service's one log handler: one line per record on `stream` (stderr), scrubbed."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    secret_filter = SecretFilter(secrets_of(settings))
    handler.addFilter(ClientNoise())
    handler.addFilter(secret_filter)
    handler.setFormatter(ScrubbingFormatter(secret_filter.scrub))
    return handler


def configure_logging(settings: Settings) -> None:
    """Root logging at LOG_LEVEL, one line per record, secrets and query strings scrubbed."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(log_handler(settings))
    root.setLevel(settings.log_level)
    # python-binance and the HTTP stack are chatty at DEBUG and may echo signed URLs.
    for name in ("binance", "aiohttp", "websockets", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
    # Alembic says "Context impl SQLiteImpl" at every start; storage.database logs migrations.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
