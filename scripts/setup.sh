#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if any is missing.
#   emscripten      em++ 3.1.6 and Embind (the WebAssembly build)
#   libxsimd-dev    xsimd 8.1 headers (the SIMD kernels)
#   libgtest-dev    GoogleTest library + CMake config (native tests)
#   cmake, g++      native build
#   wabt            wasm-objdump (the "SIMD is really shipped" test)
#   nodejs, npm     only if absent (the machines ship Node 20)
#   chromium        only with --browser: the end-to-end and browser tests
#   firefox-esr     (driven by playwright-core and puppeteer-core, which
#                   download no browser)
set -euo pipefail

missing=()
command -v em++ >/dev/null 2>&1 || missing+=(emscripten)
[ -f /usr/include/xsimd/xsimd.hpp ] || missing+=(libxsimd-dev)
[ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v wasm-objdump >/dev/null 2>&1 || missing+=(wabt)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "${1:-}" = "--browser" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/firefox-esr ] || missing+=(firefox-esr)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "mha-wasm setup: missing Debian packages: ${missing[*]}" >&2
  echo "Run this script as root, or install them yourself:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "mha-wasm setup: installing ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
