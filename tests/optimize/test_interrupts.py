"""Ctrl-C waits for the study write in progress, then stops the search (a real SIGINT)."""

from __future__ import annotations

import os
import signal

import pytest

from optimize.interrupts import interrupts_held


def test_a_ctrl_c_inside_the_block_is_raised_once_after_the_whole_block() -> None:
    before = signal.getsignal(signal.SIGINT)
    steps: list[str] = []
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("written after the signal")
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("and the rest")
    assert steps == ["written after the signal", "and the rest"]
    assert signal.getsignal(signal.SIGINT) is before


def test_without_a_ctrl_c_the_block_just_runs_and_ctrl_c_acts_at_once_again() -> None:
    with interrupts_held():
        done = True
    assert done
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs between two bytecodes
            pass
