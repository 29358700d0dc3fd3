// Package-level numbers for mha-wasm in Node: .wasm size, init() time, and
// the heap a long SDPA needs. Each measurement imports dist/node.mjs under its
// own query string, which gives a fresh ES module instance and therefore a
// fresh init() and a fresh WebAssembly instance (its own heap).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { sdpaInputs } from './inputs.mjs';
import { ROOT } from './setup.mjs';

const freshPackage = (tag) => import(`${pathToFileURL(join(ROOT, 'dist', 'node.mjs')).href}?${tag}`);

/** Call before anything else loads mha-wasm: V8 may reuse a compiled module for identical bytes. */
export async function packageInfo() {
  const wasm = readFileSync(join(ROOT, 'dist', 'mha.wasm'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const { init } = await freshPackage('bench-init-probe');
  const t = performance.now();
  const mha = await init();
  const initMs = performance.now() - t;
  return {
    version: pkg.version,
    wasmBytes: wasm.length,
    wasmGzipBytes: gzipSync(wasm, { level: 9 }).length,
    initMs, // read mha.wasm + compile + instantiate, first init() of the process
    heapBytesAfterInit: mha.heapBytes,
    simdArchitecture: mha.capabilities.simdArchitecture,
  };
}

/** One SDPA call at a long length, in its own module instance; the heap never shrinks, so heapBytes after it is the peak. */
export async function heapProbe(model, probe) {
  const { init } = await freshPackage('bench-heap-probe');
  const mha = await init();
  const shape = { heads: model.heads, headDim: model.headDim, queryLen: probe.queryLen, keyLen: probe.keyLen };
  const { query, key, value } = sdpaInputs(shape);
  const t4 = (data, len) => ({ data, shape: [1, model.heads, len, model.headDim] });
  const before = mha.heapBytes;
  const t = performance.now();
  const result = mha.scaledDotProductAttention(t4(query, probe.queryLen), t4(key, probe.keyLen), t4(value, probe.keyLen), {
    isCausal: probe.isCausal,
    needWeights: probe.needWeights,
  });
  const ms = performance.now() - t;
  const inputBytes = (query.length + key.length + value.length) * 4;
  return {
    ...probe,
    heapBytesBefore: before,
    peakHeapBytes: mha.heapBytes,
    inputBytes,
    outputBytes: result.output.data.length * 4,
    ms,
  };
}
