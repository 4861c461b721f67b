"""A progress bar on stderr for long runs, only when stderr is a terminal (tqdm)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

_STEP = 4096  # update the bar every this many items: the bar must not cost time


class Progress:
    """`advance()` per item; a no-op unless enabled (stderr is a TTY) and the run is long."""

    def __init__(self, total: int, enabled: bool, unit: str = "candle") -> None:
        self._bar: Any = None
        self._count = 0
        if enabled and total >= 50_000:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=unit, unit_scale=True, file=sys.stderr, leave=False)

    def advance(self) -> None:
        self._count += 1
        if self._bar is not None and self._count % _STEP == 0:
            self._bar.update(_STEP)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
