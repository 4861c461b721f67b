"""`python main.py` start-up: wrong settings and flags end with one line and exit code 2."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

import main
from config import load_settings
from service.logs import MASK, SecretFilter, secrets_of


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SMA_PERIOD", "EMA_PERIOD", "API_HOST", "API_TOKEN", "BINANCE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"SMA_PERIOD": "many"}, "SMA_PERIOD"),
        ({"EMA_PERIOD": "20"}, "EMA_PERIOD"),
        ({"API_HOST": "0.0.0.0"}, "API_HOST"),
        ({"BINANCE_API_KEY": "changeme"}, "BINANCE_API_KEY"),
    ],
)
def test_a_wrong_setting_is_one_line_and_exit_2(
    env: dict[str, str],
    setting: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {setting}"), err
    assert "Traceback" not in err


def test_simulator_flags_need_simulate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main.main(["--speed", "60"]) == 2
    assert "--simulate" in capsys.readouterr().err


def test_bad_flag_values_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--port", "70000"], ["--simulate", "--speed", "0"], ["--speed", "fast"]):
        with pytest.raises(SystemExit) as exited:
            main.main(argv)
        assert exited.value.code == 2
    assert "--speed" in capsys.readouterr().err


def test_help_names_the_service_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main.main(["--help"])
    out = capsys.readouterr().out
    for flag in ("--simulate", "--speed", "--seed", "--record", "--host", "--port", "--journal"):
        assert flag in out


def test_the_log_filter_masks_every_secret() -> None:
    settings = load_settings(
        env_file=None, binance_api_key="key-123456", binance_api_secret="sec-654321",
        api_token="tok-abcdef",
    )  # fmt: skip
    filt = SecretFilter(secrets_of(settings))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "k=%s s=%s t=%s", None, None)
    record.args = ("key-123456", "sec-654321", "tok-abcdef")
    assert filt.filter(record)
    assert record.getMessage() == f"k={MASK} s={MASK} t={MASK}"
    assert "key-123456" not in repr(settings)


def test_a_missing_env_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main.main(["--simulate", "--env-file", str(tmp_path / "nope.env")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: --env-file") and "nope.env" in err


def test_a_busy_port_is_one_line_and_exit_2_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal.jsonl"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main.main(["--simulate", "--port", str(port), "--journal", str(journal)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: API_PORT") and str(port) in err
    assert not journal.exists() and caplog.records == []  # no simulator, no service, no log


@pytest.mark.parametrize("token", ["", "a", "password1", "fifteen-chars-x"])
def test_a_public_bind_needs_a_token_of_16_characters(
    token: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("API_TOKEN", token)
    assert main.main(["--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: API_HOST") and "16" in err
    assert len(token) < 2 or token not in err  # the token is not printed


def test_an_env_file_that_is_not_utf8_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "latin1.env"
    bad.write_bytes("SYMBOLS=BTCUSDT\nAPI_TOKEN=caf\xe9\n".encode("latin-1"))
    assert main.main(["--simulate", "--port", "0", "--env-file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"error: --env-file {bad}: not UTF-8 text")
    assert "caf" not in err  # the file's content (a secret, maybe) is not echoed
