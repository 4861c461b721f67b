"""The project's error tree. Each class says how the service reacts to it."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service raises on purpose."""

    retryable: bool = False

    def should_retry(self) -> bool:
        return self.retryable


class RetryableError(ServiceError):
    """A passing condition (network, 5xx, rate limit): the caller backs off and tries again."""

    retryable = True


class FatalError(ServiceError):
    """Needs a human (bad keys, bad settings, an invariant broken): stop and say why."""


class BadInputError(ServiceError):
    """Malformed input from outside (a frame, a file, a request): reject it, change nothing."""


class BadDataFile(BadInputError):
    """A data file (trades, klines, a recording) that cannot be used.

    `str()` is one line: `path:line: why` (`path: why` when no line is known).
    """

    def __init__(self, path: object, line: int | None, why: str) -> None:
        self.path = str(path)
        self.line = line
        self.why = why
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {why}")
