#!/usr/bin/env bash
# Installs everything the service and its tests need into ./.venv (and the chart library).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
