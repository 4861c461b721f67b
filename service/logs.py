"""Logging set-up. Secrets from the settings are masked in every record, as a second guard:
nothing logs them on purpose (settings are never logged unmasked)."""

from __future__ import annotations

import logging

from config import Settings

MASK = "***"
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class SecretFilter(logging.Filter):
    """Replaces each secret's text in a record's final message with `***`."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        masked = message
        for secret in self._secrets:
            masked = masked.replace(secret, MASK)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def secrets_of(settings: Settings) -> list[str]:
    values = (settings.binance_api_key, settings.binance_api_secret, settings.api_token)
    return [v.get_secret_value() for v in values if v is not None]


def configure_logging(settings: Settings) -> None:
    """Root logging at LOG_LEVEL, one line per record, secrets masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SecretFilter(secrets_of(settings)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # python-binance and the HTTP stack are chatty at DEBUG and may echo signed URLs.
    for name in ("binance", "aiohttp", "websockets", "urllib3"):
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))
