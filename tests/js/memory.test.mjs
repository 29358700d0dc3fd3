// Repeated calls must not grow the WebAssembly heap: every input copy, scratch
// buffer, result and error path frees what it allocated.
//
// Why two measurements: `heapBytes` (the wasm memory size) only changes when
// malloc runs out of room, and the module starts with a 16 MiB heap that is
// mostly free, so ~10 MB could leak before heapBytes moved (measured: 10,000
// leaked 1 KiB blocks left it at 16777216). The second measurement is where
// malloc places a large block: it comes from the top of the heap, so any
// allocation left behind pushes it up, even a few bytes per call. Both need
// the Emscripten module itself, so this file builds the API over it with the
// package's own createApi (exactly what init() does in dist/node.mjs).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import createMhaModule from '../../dist/mha.mjs';
import { createApi } from '../../dist/api.mjs';

// Larger than any freed chunk these small calls leave behind, so it is always
// carved from the top of the heap.
const PROBE_BYTES = 4 << 20;
// Small sizes keep 10,000 calls around half a second each while still
// exercising every buffer: both masks, per-head weights, batch of 2.
const E = 16, H = 4, L = 8, S = 8, N = 2;
const WARM_UP_CALLS = 20;

let Module, mha;
const values = (n, step) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * step) / 2);
const count = (shape) => shape.reduce((a, b) => a * b, 1);
const probeTop = () => {
  const pointer = Module._malloc(PROBE_BYTES);
  Module._free(pointer);
  return pointer;
};
const snapshot = () => ({ top: probeTop(), heapBytes: mha.heapBytes });
const loadedLayer = () => {
  const layer = mha.createMultiHeadAttention({ embedDim: E, numHeads: H });
  return layer.loadWeights(Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, values(count(shape), 0.37)])));
};

const query = { data: values(L * N * E, 0.7), shape: [L, N, E] };
const key = { data: values(S * N * E, 1.1), shape: [S, N, E] };
const forwardOptions = {
  keyPaddingMask: { data: Uint8Array.from({ length: N * S }, (_, i) => (i % 5 === 4 ? 1 : 0)), shape: [N, S] },
  attnMask: { data: values(L * S, 0.9), shape: [L, S] },
  needWeights: true,
  averageAttnWeights: false,
};
const sdpaQuery = { data: values(N * H * L * 4, 0.2), shape: [N, H, L, 4] };
const sdpaOptions = { attnMask: { data: Uint8Array.from({ length: L * S }, (_, i) => (i % 7 === 3 ? 1 : 0)), shape: [L, S] }, isCausal: true, needWeights: true };

// Runs fn `warmUp` times (first calls may size scratch buffers once), then
// `calls` times, and returns the heap state before and after the measured calls.
function measure(fn, calls, warmUp = WARM_UP_CALLS) {
  for (let i = 0; i < warmUp; i++) fn(i);
  const before = snapshot();
  for (let i = 0; i < calls; i++) fn(i);
  return { before, after: snapshot() };
}

beforeAll(async () => {
  Module = await createMhaModule({ wasmBinary: readFileSync(new URL('../../dist/mha.wasm', import.meta.url)) });
  mha = createApi(Module);
  // The first probe may itself grow the heap; later ones reuse that space.
  probeTop();
});

test('the top-of-heap probe notices a deliberate leak of 64 x 64 bytes', () => {
  const before = snapshot();
  const leaked = Array.from({ length: 64 }, () => Module._malloc(64));
  const during = snapshot();
  leaked.forEach((pointer) => Module._free(pointer));
  expect(during.top).toBeGreaterThan(before.top);
  expect(during.heapBytes).toBe(before.heapBytes); // what heapBytes alone would miss
  expect(snapshot()).toEqual(before);
});

test(`10,000 forward calls (E=${E} H=${H} L=${L} S=${S} N=${N}, both masks, per-head weights) leave the heap unchanged`, () => {
  const layer = loadedLayer();
  const { before, after } = measure(() => layer.forward(query, key, key, forwardOptions), 10000);
  const last = layer.forward(query, key, key, forwardOptions);
  layer.dispose();
  expect(after).toEqual(before);
  expect(last.weights.shape).toEqual([N, H, L, S]);
  expect(last.output.data.every(Number.isFinite)).toBe(true);
});

test(`10,000 forward calls with needWeights=false leave the heap unchanged`, () => {
  const layer = loadedLayer();
  const { before, after } = measure(() => layer.forward(query, key, key, { ...forwardOptions, needWeights: false }), 10000);
  layer.dispose();
  expect(after).toEqual(before);
});

test(`10,000 scaledDotProductAttention calls (B=${N} H=${H} L=${L} D=4, causal + bool mask, weights) leave the heap unchanged`, () => {
  const { before, after } = measure(() => mha.scaledDotProductAttention(sdpaQuery, sdpaQuery, sdpaQuery, sdpaOptions), 10000);
  expect(after).toEqual(before);
});

test('200 create / loadWeights / forward / dispose cycles leave the heap unchanged', () => {
  const cycle = () => {
    const layer = loadedLayer();
    layer.forward(query, key, key, forwardOptions);
    layer.dispose();
  };
  const { before, after } = measure(cycle, 200, 5);
  expect(after).toEqual(before);
});

test('2,000 calls that throw (bad shapes, bad weights, bad config) leave the heap unchanged', () => {
  const layer = loadedLayer();
  // Each of these is rejected in C++, after the inputs were copied into the heap.
  const failures = [
    () => layer.forward(query, { data: key.data, shape: [S, N, E / 2, 2] }, key),
    () => layer.forward(query, key, { data: values(S * N * E, 1), shape: [S / 2, N * 2, E] }, forwardOptions),
    () => layer.forward(query, key, key, { ...forwardOptions, attnMask: { data: new Float32Array(L * S), shape: [S, L, 1] } }),
    () => layer.loadWeights({ in_proj_weight: values(3 * E * E, 0.1), in_proj_bias: values(5, 0.1) }),
    () => mha.scaledDotProductAttention(sdpaQuery, sdpaQuery, { data: values(8, 1), shape: [1, 1, 2, 4] }),
    () => mha.createMultiHeadAttention({ embedDim: 10, numHeads: 4 }),
  ];
  let thrown = 0;
  const { before, after } = measure((i) => {
    try {
      failures[i % failures.length]();
    } catch {
      thrown += 1;
    }
  }, 2000);
  const output = layer.forward(query, key, key, forwardOptions).output;
  layer.dispose();
  expect(thrown).toBe(2000 + WARM_UP_CALLS);
  expect(after).toEqual(before);
  expect(output.data.every(Number.isFinite)).toBe(true);
});

test('10,000 decoding steps through caches (a layer and scaledDotProductAttention) leave the heap unchanged', () => {
  const layer = loadedLayer();
  const maxLength = 250;
  const layerCache = layer.createCache({ batchSize: N, maxLength });
  const sdpaCache = mha.createKVCache({ batchSize: N, numHeads: H, headDim: 4, maxLength });
  const token = { data: values(N * E, 0.3), shape: [1, N, E] };
  const head = { data: values(N * H * 4, 0.6), shape: [N, H, 1, 4] };
  let finite = true;
  // A step appends one token; every maxLength steps the caches start over,
  // so each step size (and its weights) recurs and the warm-up cycle sees them all.
  const step = (i) => {
    if (layerCache.length === maxLength) {
      layerCache.reset();
      sdpaCache.truncate(0);
    }
    const r = layer.forward(token, token, token, { cache: layerCache, isCausal: true, needWeights: i % 2 === 0 });
    const s = mha.scaledDotProductAttention(head, head, head, { cache: sdpaCache, isCausal: true, needWeights: i % 3 === 0 });
    finite = finite && Number.isFinite(r.output.data[0]) && Number.isFinite(s.output.data[0]);
  };
  const { before, after } = measure(step, 10000, maxLength);
  expect(layerCache.length).toBe(((10000 + maxLength - 1) % maxLength) + 1);
  [layerCache, sdpaCache, layer].forEach((o) => o.dispose());
  expect(finite).toBe(true);
  expect(after).toEqual(before);
});

test('1,000 create / use / dispose cycles of caches leave the heap unchanged', () => {
  const layer = loadedLayer();
  const token = { data: values(N * E, 0.3), shape: [1, N, E] };
  const cycle = (i) => {
    const cache = i % 2 ? layer.createCache({ batchSize: N, maxLength: 64 }) : mha.createKVCache({ batchSize: N, numHeads: H, headDim: 4, maxLength: 64 });
    if (i % 2) layer.forward(token, token, token, { cache });
    cache.dispose();
  };
  const { before, after } = measure(cycle, 1000, 5);
  layer.dispose();
  expect(after).toEqual(before);
});

test('mha.memory() reports the heap and malloc usage, and sees a layer come and go', () => {
  const before = mha.memory();
  expect(before.heapBytes).toBe(mha.heapBytes);
  expect(before.maxHeapBytes).toBeGreaterThanOrEqual(before.heapBytes);
  const layer = loadedLayer();
  const during = mha.memory();
  // E = 16: four packed 16 x 16 projections are at least 4 KiB in use.
  expect(during.usedBytes).toBeGreaterThan(before.usedBytes + 4096);
  layer.dispose();
  expect(mha.memory().usedBytes).toBe(before.usedBytes);
});

test('2,000 layers and caches dropped without dispose() are freed by the garbage collector, with one warning', () => {
  // A child process: forcing collection needs --expose-gc.
  const script = `
    const { init } = await import(${JSON.stringify(new URL('../../dist/node.mjs', import.meta.url).href)});
    const mha = await init();
    const warnings = [];
    console.warn = (m) => warnings.push(m);
    const settle = async () => { for (let i = 0; i < 20; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 5)); } };
    const make = () => {
      const layer = mha.createMultiHeadAttention({ embedDim: 128, numHeads: 4 });
      layer.loadWeights(Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, new Float32Array(shape.reduce((a, b) => a * b, 1))])));
      layer.createCache({ batchSize: 1, maxLength: 16 });
    };
    make();
    await settle();
    const start = mha.memory().usedBytes;
    for (let i = 0; i < 2000; i++) { make(); if (i % 100 === 99) await settle(); }
    await settle();
    const end = mha.memory().usedBytes;
    console.log(JSON.stringify({ start, end, heap: mha.heapBytes, warnings }));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120000 });
  expect(r.stderr).toBe('');
  const { start, end, heap, warnings } = JSON.parse(r.stdout);
  // Each undisposed layer holds about 260 KB of packed weights; 2,000 would be 520 MB.
  expect(end).toBe(start);
  expect(heap).toBeLessThan(64 * 2 ** 20);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/^mha-wasm: a (MultiHeadAttention|KVCache) was garbage-collected without dispose\(\)/);
});
