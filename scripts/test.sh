#!/usr/bin/env bash
# Runs every test suite and ends with one line "N passed, M failed" that
# totals them all (CI reads that line; Jest's own summary is not recognised).
#   1. native GoogleTest suite (ctest): kernels for every compiled arch, layer vs reference
#   2. the same GoogleTest suite built by em++ and run under Node: the SIMD128 code that ships
#   3. the public TypeScript types (tsc --noEmit, TypeScript 5.9 and 7)
#   4. Jest against the built package (dist/): PyTorch parity, masks, errors, memory, SIMD, packaging,
#      Chromium and Firefox (fixtures, threads, loading failures, the demo), the npm pack tarball in
#      bundler projects (Vite 5/7/8, webpack, esbuild, Rollup) and TypeScript consumers, arethetypeswrong
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-results

bash scripts/setup.sh --browser || exit 1
# Also when package-lock.json changed since the last install (new devDependencies).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || exit 1
fi
# The packaging tests install the packed tarball into scratch projects with
# `npm install --offline`, which needs each runtime dependency's registry
# metadata in npm's cache; `npm ci` stores only their tarballs (seen on a
# fresh machine: ENOTCACHED for @huggingface/tokenizers). One lookup each,
# answered from the cache once it is there.
for dep in $(node -p "Object.keys(require('./package.json').dependencies ?? {}).join(' ')"); do
  version=$(node -p "require('./package-lock.json').packages['node_modules/$dep'].version")
  npm cache add "$dep@$version" >/dev/null 2>&1 || echo "warning: could not cache $dep@$version; the packaging tests may fail (ENOTCACHED)"
done

passed=0
failed=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); }

echo "== native C++ tests (GoogleTest via ctest)"
if cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build/native -j2; then
  ctest --test-dir build/native --output-on-failure -j2 | tee test-results/ctest.log
  total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' test-results/ctest.log)
  bad=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' test-results/ctest.log)
  if [ -n "$total" ]; then add $((total - bad)) "$bad"; else add 0 1; fi
else
  echo "native build failed"; add 0 1
fi

echo "== WebAssembly build"
if ! bash scripts/build.sh; then
  echo "wasm build failed"; add 0 1
  echo "$passed passed, $failed failed"
  exit 1
fi

echo "== WebAssembly C++ tests (the same GoogleTest suite as em++ output, under Node)"
# Test-only targets of the wasm build (not built by scripts/build.sh): the
# GoogleTest suite linked against the shipped mha_core/mha_reference, and
# the shipped modules linked again with function names, for Jest's SIMD test
# (tests/js/wasm_simd.test.mjs). Skipped tests (threads: max_threads() is 1
# here) count as neither passed nor failed.
rm -f test-results/gtest-wasm.json
if NODE_PATH=/usr/share/nodejs cmake --build build/wasm -j2 --target mha_wasm_profiles \
   && NODE_PATH=/usr/share/nodejs cmake --build build/wasm -j2 --target mha_tests_wasm; then
  node build/wasm/tests/cpp/mha_tests.js --gtest_output=json:test-results/gtest-wasm.json | tee test-results/gtest-wasm.log
  status=${PIPESTATUS[0]}
  if [ -f test-results/gtest-wasm.json ]; then
    read -r wasm_passed wasm_failed wasm_skipped < <(node -e '
      const r = require("./test-results/gtest-wasm.json");
      const tests = r.testsuites.flatMap((s) => s.testsuite);
      const failed = (t) => t.failures !== undefined && t.failures.length > 0;
      console.log(tests.filter((t) => !failed(t) && t.result === "COMPLETED").length, tests.filter(failed).length,
                  tests.filter((t) => !failed(t) && t.result === "SKIPPED").length);')
    # A non-zero exit with no failed test (a crash after the run) is one failure.
    if [ "$status" -ne 0 ] && [ "$wasm_failed" -eq 0 ]; then wasm_failed=1; fi
    echo "wasm GoogleTest totals: passed=$wasm_passed failed=$wasm_failed skipped=$wasm_skipped"
    add "$wasm_passed" "$wasm_failed"
  else
    echo "wasm GoogleTest wrote no report (exit $status)"; add 0 1
  fi
else
  echo "wasm test build failed"; add 0 1
fi

# By path: the typescript54/typescript7 aliases also install a bin named tsc.
for ts in typescript typescript7; do
  echo "== TypeScript declarations ($ts: tsc --noEmit tests/types/usage.ts)"
  if node "node_modules/$ts/bin/tsc" -p tests/types/tsconfig.json; then add 1 0; else add 0 1; fi
done

echo "== JavaScript tests (Jest)"
NODE_OPTIONS=--experimental-vm-modules npx --no-install jest --json --outputFile=test-results/jest.json "$@"
if [ -f test-results/jest.json ]; then
  read -r jest_passed jest_failed < <(node -e '
    const r = require("./test-results/jest.json");
    // A suite that fails to load counts as one failure even with no tests run.
    const broken = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + broken);')
  add "$jest_passed" "$jest_failed"
else
  add 0 1
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
