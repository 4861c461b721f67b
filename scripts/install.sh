#!/usr/bin/env bash
# Installs everything the service and its tests need into ./.venv (and the chart library).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# The dashboard's chart library (TradingView lightweight-charts), pinned, from the npm registry.
# Only its standalone build is copied into api/static/vendor/ (git-ignored, never committed).
# The file's sha256 is pinned too. Without npm the page falls back to a public CDN.
LWC_VERSION="5.2.1"
LWC_FILE="lightweight-charts.standalone.production.js"
LWC_SHA256="e21cc5caa0226ef30bd8549c50b9ef926615f2a4ee6b4e486353477a55f598cf"
LWC_DEST="api/static/vendor/$LWC_FILE"
if [ -f "$LWC_DEST" ] && echo "$LWC_SHA256  $LWC_DEST" | sha256sum --check --status; then
  :
elif command -v npm >/dev/null 2>&1; then
  lwc_tmp="$(mktemp -d)"
  (cd "$lwc_tmp" && npm pack --silent "lightweight-charts@$LWC_VERSION" >/dev/null \
    && tar -xzf "lightweight-charts-$LWC_VERSION.tgz" "package/dist/$LWC_FILE")
  echo "$LWC_SHA256  $lwc_tmp/package/dist/$LWC_FILE" | sha256sum --check --quiet
  mkdir -p api/static/vendor
  cp "$lwc_tmp/package/dist/$LWC_FILE" "$LWC_DEST"
  rm -rf "$lwc_tmp"
else
  echo "npm not found: the dashboard will load lightweight-charts from a CDN" >&2
fi
