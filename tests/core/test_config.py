"""Settings: defaults, parsing from the environment, and one-line errors naming the setting."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from config import SettingsError, load_settings
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests see only the environment they set, and no .env from the working directory."""
    for name in list(__import__("os").environ):
        if name.upper() in {
            "SYMBOLS",
            "VARIANTS",
            "API_HOST",
            "API_TOKEN",
            "BINANCE_API_KEY",
            "BINANCE_API_SECRET",
            "ORDER_QUANTITIES",
            "EMA_PERIOD",
            "SMA_PERIOD",
            "API_PORT",
        }:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_match_the_brief() -> None:
    settings = load_settings(env_file=None)

    assert settings.symbols == ["BTCUSDT", "ETHUSDT"]
    assert settings.order_quantity("BTCUSDT") == Decimal("0.001")
    assert settings.order_quantity("ETHUSDT") == Decimal("0.01")
    assert (settings.ema_period, settings.sma_period) == (5, 10)
    assert [(v.name, v.stop_loss) for v in settings.variant_settings] == [
        ("A", Decimal("0.15")),
        ("B", Decimal("0.10")),
    ]
    assert (settings.api_host, settings.api_port) == ("127.0.0.1", 8000)
    assert settings.candle_history == 1440
    assert settings.candle_close_grace_s == 2.0
    assert settings.has_keys is False
    assert settings.binance_rest_url == "https://testnet.binance.vision/api"


def test_environment_and_env_file_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SYMBOLS=btcusdt, bnbusdt\nVARIANTS=A:0.2:3:7,C:0.05\n")
    monkeypatch.setenv("ORDER_QUANTITIES", "BNBUSDT=0.5")

    settings = load_settings()

    assert settings.symbols == ["BTCUSDT", "BNBUSDT"]
    assert settings.order_quantity("bnbusdt") == Decimal("0.5")
    assert settings.order_quantity("BTCUSDT") is None
    a, c = settings.variant_settings
    assert (a.name, a.stop_loss, a.ema_period, a.sma_period) == ("A", Decimal("0.2"), 3, 7)
    assert (c.name, c.ema_period, c.sma_period) == ("C", 5, 10)


@pytest.mark.parametrize(
    ("overrides", "expected_start"),
    [
        ({"symbols": "BTCUSDT,eth"}, "SYMBOLS: 'eth' is not a Binance symbol"),
        ({"variants": "A:1.5"}, "VARIANTS: stop-loss of A must be between 0 and 1"),
        ({"variants": "A:0.1,A:0.2"}, "VARIANTS: variant A is given twice"),
        ({"api_host": "0.0.0.0"}, "API_HOST: api_host '0.0.0.0' is not loopback"),
        ({"binance_api_key": "abc"}, "BINANCE_API_KEY: binance_api_key and binance_api_secret"),
        ({"binance_api_key": "changeme", "binance_api_secret": "x1"}, "BINANCE_API_KEY: is a"),
        ({"ema_period": 20}, "EMA_PERIOD: ema_period must be shorter than sma_period"),
        ({"order_quantities": "BTCUSDT:1"}, "ORDER_QUANTITIES: 'BTCUSDT:1' should be"),
        ({"order_quantities": "BTCUSDT=-1"}, "ORDER_QUANTITIES: quantity for BTCUSDT must be"),
        ({"api_port": 70000}, "API_PORT: Input should be less than or equal to 65535"),
        ({"binance_rest_url": "ftp://x"}, "BINANCE_REST_URL: 'ftp://x' must start with"),
    ],
)
def test_a_wrong_value_names_the_setting(overrides: dict[str, object], expected_start: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env_file=None, **overrides)

    message = str(err.value)
    assert message.startswith(expected_start), message
    assert "\n" not in message


def test_a_token_allows_a_public_host() -> None:
    settings = load_settings(env_file=None, api_host="0.0.0.0", api_token="s3cr3t-token-0123456")

    assert settings.api_token is not None
    assert "s3cr3t-token-0123456" not in repr(settings)


@pytest.mark.e2e
def test_main_stops_on_a_bad_setting_with_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "SYMBOLS": "BTC$USDT", "HOME": str(tmp_path)}

    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("SYMBOLS:") or "SYMBOLS:" in lines[0]
    assert "Traceback" not in done.stderr
