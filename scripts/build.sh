#!/usr/bin/env bash
# Builds the WebAssembly module and assembles dist/ (the npm package payload).
# Incremental: CMake rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# em++ needs Debian's acorn (a JS parser) when it links.
export NODE_PATH=/usr/share/nodejs
if [ ! -f build/wasm/CMakeCache.txt ]; then
  # Node 20 rejects emcmake's default emulator flag --experimental-wasm-threads.
  emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release -DCMAKE_CROSSCOMPILING_EMULATOR=/usr/bin/node >/dev/null
fi
# esbuild (a devDependency) bundles the CommonJS entry.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
cmake --build build/wasm -j2
node scripts/assemble_dist.mjs build/wasm
