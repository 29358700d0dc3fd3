#!/usr/bin/env bash
# The main job: build whatever is missing, then run the Node example that
# prints what each attention head looks at in a short sentence.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
bash scripts/build.sh >/dev/null
node examples/node_basic.mjs "$@"
