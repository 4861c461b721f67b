"""Hold Ctrl-C while the study is written.

A KeyboardInterrupt raised in the middle of an Optuna storage write leaves the SQLite
connection inside its transaction: the next write, which marks the running trials FAIL,
then meets "database is locked" and the search ends with a traceback instead of keeping
its finished trials. Inside `interrupts_held()` a Ctrl-C is noted and raised when the block
ends, between two writes.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Run the block whole; a SIGINT that came meanwhile is raised after it, once.

    Outside the main thread (where Python delivers no signal) the block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
