#!/usr/bin/env bash
# Runs the browser tests (tests/browser, Playwright driving Debian's Chromium) against a freshly
# seeded server started from $FISSION_BIN (default .build/debug/fission). Screenshots: artifacts/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -r tests/browser/requirements.txt
exec .venv/bin/python -m pytest tests/browser -q "$@"
