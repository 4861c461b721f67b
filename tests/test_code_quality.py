"""The tree stays lint- and type-clean: ruff (lint and format) and mypy strict, as CI runs them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.timeout(300)
def test_ruff_finds_nothing() -> None:
    lint = _run("ruff", "check", ".")
    fmt = _run("ruff", "format", "--check", ".")

    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.timeout(300)
def test_mypy_strict_finds_nothing() -> None:
    done = _run("mypy", ".")

    assert done.returncode == 0, done.stdout + done.stderr
