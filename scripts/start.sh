#!/usr/bin/env bash
# The main job: build whatever is missing, then serve the demo page on
# 127.0.0.1 (port from PORT, default 8080) and print its URL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/build.sh >/dev/null
exec node scripts/serve.mjs
