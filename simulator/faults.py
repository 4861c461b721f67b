"""Seeded fault decisions: which request fails, which frame is corrupted, held or repeated."""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulator.config import FaultConfig


@dataclass(frozen=True)
class FramePlan:
    """What happens to one outgoing market-data frame."""

    delay_s: float = 0.0
    corrupt: str | None = None  # "malformed" | "truncated": the frame is replaced (trade lost)
    duplicate: bool = False  # sent twice
    hold: bool = False  # sent after the next frame


CLEAN = FramePlan()
SCRIPTABLE = ("429", "500", "-1021", "hang")


@dataclass
class ScriptedFault:
    """The next `times` requests matching `method` and `path` meet `fault` (tests, demos):
    '429', '500' or '-1021' answer before anything executes; 'hang' executes an order and
    loses its response."""

    fault: str
    path: str  # an /api/v3 path without the prefix: "order", "time", "account"
    method: str | None = None  # "GET", "POST", "DELETE"; None: any
    times: int = 1

    def __post_init__(self) -> None:
        if self.fault not in SCRIPTABLE:
            raise ValueError(f"fault must be one of {', '.join(SCRIPTABLE)}")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.method is not None:
            self.method = self.method.upper()


class FaultInjector:
    """Draws every fault from its own seeded RNG, so a run's fault pattern is reproducible."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self._rest = random.Random(f"{seed}:faults:rest")
        self._frames = random.Random(f"{seed}:faults:frames")
        self._scripted: list[ScriptedFault] = []

    def script(self, fault: ScriptedFault) -> None:
        """Queue a scripted fault; scripted ones are served in order, before random ones."""
        self._scripted.append(fault)

    def clear_scripted(self) -> None:
        self._scripted.clear()

    def take_scripted(self, method: str, path: str) -> str | None:
        """The scripted fault for this request (and count it down), or None."""
        short = path.removeprefix("/api/v3/")
        for fault in self._scripted:
            if fault.path == short and fault.method in (None, method):
                fault.times -= 1
                if fault.times == 0:
                    self._scripted.remove(fault)
                return fault.fault
        return None

    def applies_to(self, is_order: bool, path: str = "") -> bool:
        cfg = self.config
        if is_order and cfg.rest_faults_on == "orders":
            return True
        if cfg.rest_faults_on != "all":
            return False
        return not cfg.rest_fault_paths or path.removeprefix("/api/v3/") in cfg.rest_fault_paths

    def rest_fault(self, is_order: bool, path: str = "") -> str | None:
        """'429' or '500' (decided before anything executes), or None."""
        cfg = self.config
        if not self.applies_to(is_order, path):
            return None
        if cfg.rate_limit_probability and self._rest.random() < cfg.rate_limit_probability:
            return "429"
        if cfg.server_error_probability and self._rest.random() < cfg.server_error_probability:
            return "500"
        return None

    def server_time_ms(self, market_ms: int, start_ms: int) -> int:
        """The server's clock: the market clock plus the drift accumulated since `start_ms`."""
        drift = self.config.clock_drift_ms_per_s
        if not drift:
            return market_ms
        return market_ms + int((market_ms - start_ms) * drift / 1000)

    def hang_order(self) -> bool:
        p = self.config.order_hang_probability
        return bool(p) and self._rest.random() < p

    @property
    def frames_clean(self) -> bool:
        cfg = self.config
        return not (
            cfg.frame_delay_ms
            or cfg.malformed_probability
            or cfg.truncated_probability
            or cfg.duplicate_probability
            or cfg.out_of_order_probability
        )

    def frame_plan(self, is_trade: bool) -> FramePlan:
        if self.frames_clean:
            return CLEAN
        cfg, rng = self.config, self._frames
        delay = 0.0
        if cfg.frame_delay_ms and rng.random() < cfg.frame_delay_probability:
            delay = cfg.frame_delay_ms / 1000
        corrupt = None
        if cfg.malformed_probability and rng.random() < cfg.malformed_probability:
            corrupt = "malformed"
        elif cfg.truncated_probability and rng.random() < cfg.truncated_probability:
            corrupt = "truncated"
        duplicate = hold = False
        if is_trade and corrupt is None:
            duplicate = bool(cfg.duplicate_probability) and rng.random() < cfg.duplicate_probability
            hold = (
                bool(cfg.out_of_order_probability) and rng.random() < cfg.out_of_order_probability
            )
        return FramePlan(delay, corrupt, duplicate, hold)


def corrupt_text(text: str, how: str) -> str:
    """A malformed frame (not JSON) or a truncated one (the first half of the JSON)."""
    if how == "truncated":
        return text[: max(1, len(text) // 2)]
    return '{"e":"trade",<<malformed>>' + text[len(text) // 2 :]
