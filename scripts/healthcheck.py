"""The container's HEALTHCHECK: exit 0 when the service answers /health and no symbol's feed is
stale (its newest trade, hence its newest candle, too old); exit 1 saying why otherwise.

    python scripts/healthcheck.py [URL]     (default http://127.0.0.1:8000/health)

Standard library only: it runs in the image beside the service, without the service's imports.
A variant paused by a person, or a degraded exchange, is not a reason to restart the container:
only a service that does not answer, or a stale feed, is.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000/health"
TIMEOUT_S = 5


def verdict(health: Any) -> str | None:
    """Why the service is unhealthy, from its /health body; None when it is healthy."""
    if not isinstance(health, dict) or not isinstance(health.get("symbols"), dict):
        return "/health answered without its symbols"
    stale = sorted(s for s, feed in health["symbols"].items() if feed.get("status") == "stale")
    if stale:
        return "stale feed: " + ", ".join(stale)
    return None


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310
            body = json.load(response)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"unhealthy: {url}: {exc}\n")
        return 1
    why = verdict(body)
    if why is not None:
        sys.stderr.write(f"unhealthy: {why}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
