// The threads build (init({ threads: 2 })): same bits as the single-threaded
// build for the layer and the free function, errors leave it working, memory
// does not grow, and a Node program that used it still exits by itself.
// Speed is not tested here; `npm run bench` measures it.
//
// The ES module entry is initialised with threads and the CommonJS entry
// (a separate init-once state over the same package) without, so both builds
// run side by side in this file.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { init } from '../../dist/node.mjs';
import { createInit } from '../../dist/load_module.mjs';
import createMhaModule from '../../dist/mha.mjs';

const require = createRequire(import.meta.url);
const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

let threaded, single;
beforeAll(async () => {
  threaded = await init({ threads: 2 });
  single = await require('../../dist/node.cjs').init();
});

// Deterministic inputs: a sine pattern, different per tensor.
const values = (n, step, phase = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * step + phase));
const count = (shape) => shape.reduce((a, b) => a * b, 1);
const tensor = (shape, step, phase) => ({ data: values(count(shape), step, phase), shape });
// Compared as bytes: identical floats, including NaN payloads and -0.
const bytesOf = (array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

function expectSameBits(a, b) {
  expect(a.shape).toEqual(b.shape);
  expect(Buffer.compare(bytesOf(a.data), bytesOf(b.data))).toBe(0);
}

function loadedLayer(mha, options) {
  const layer = mha.createMultiHeadAttention(options);
  const state = Object.fromEntries(layer.expectedWeights.map(({ name, shape }, i) => [name, tensor(shape, 0.013 * (i + 1), i)]));
  for (const [name, t] of Object.entries(state)) if (t.shape.length === 2) t.data = t.data.map((v) => v / Math.sqrt(t.shape[1]));
  return layer.loadWeights(state);
}

test('capabilities report the thread count of each build', () => {
  expect(threaded.capabilities.threads).toBe(2);
  expect(single.capabilities.threads).toBe(1);
  expect(threaded.capabilities.simdArchitecture).toBe(single.capabilities.simdArchitecture);
});

const layerCases = [
  ['self-attention, L=200, causal, per-head weights', { embedDim: 96, numHeads: 6, batchFirst: true }, [2, 200], 200,
    { isCausal: true, needWeights: true, averageAttnWeights: false }],
  ['cross-attention with masks, bias_kv and zero_attn', { embedDim: 64, numHeads: 4, kdim: 40, vdim: 24, addBiasKV: true, addZeroAttn: true }, [33, 3], 70,
    { needWeights: true, withMasks: true }],
  ['decoding, one query over 500 keys', { embedDim: 256, numHeads: 8, batchFirst: true }, [1, 1], 500, { needWeights: false }],
];

test.each(layerCases)('layer forward is bit-identical to the single-threaded build: %s', (_, options, [a, b], keyLen, flags) => {
  const { withMasks, ...forwardOptions } = flags;
  const results = [threaded, single].map((mha) => {
    const layer = loadedLayer(mha, options);
    const kdim = options.kdim ?? options.embedDim, vdim = options.vdim ?? options.embedDim;
    const batch = options.batchFirst ? a : b;
    const layout = (length, dim) => (options.batchFirst ? [batch, length, dim] : [length, batch, dim]);
    const queryLen = options.batchFirst ? b : a;
    const query = tensor(layout(queryLen, options.embedDim), 0.07, 1);
    const key = tensor(layout(keyLen, kdim), 0.05, 2);
    const value = tensor(layout(keyLen, vdim), 0.03, 3);
    const opts = { ...forwardOptions };
    if (withMasks) {
      opts.keyPaddingMask = { data: Uint8Array.from({ length: batch * keyLen }, (_, i) => (i % 7 === 3 ? 1 : 0)), shape: [batch, keyLen] };
      opts.attnMask = { data: values(queryLen * keyLen, 0.31).map((v) => (v > 0.9 ? -Infinity : v)), shape: [queryLen, keyLen] };
    }
    const result = layer.forward(query, key, value, opts);
    layer.dispose();
    return result;
  });
  expectSameBits(results[0].output, results[1].output);
  if (results[1].weights) expectSameBits(results[0].weights, results[1].weights);
  else expect(results[0].weights).toBeNull();
});

test.each([
  ['one head, L=300, causal (split by query blocks)', [1, 1, 300, 16], 300, { isCausal: true }],
  ['one head with weights', [1, 1, 200, 8], 170, { needWeights: true }],
  ['12 heads, decoding over 1024 keys', [1, 12, 1, 64], 1024, {}],
])('scaledDotProductAttention is bit-identical to the single-threaded build: %s', (_, [B, H, L, D], S, options) => {
  const q = tensor([B, H, L, D], 0.11, 1), k = tensor([B, H, S, D], 0.07, 2), v = tensor([B, H, S, D], 0.05, 3);
  const [a, b] = [threaded, single].map((mha) => mha.scaledDotProductAttention(q, k, v, options));
  expectSameBits(a.output, b.output);
  if (options.needWeights) expectSameBits(a.weights, b.weights);
});

test('a bad call throws and the threads build keeps working, without growing memory', () => {
  const q = tensor([1, 4, 64, 16], 0.11, 1);
  const expected = single.scaledDotProductAttention(q, q, q).output;
  expectSameBits(threaded.scaledDotProductAttention(q, q, q).output, expected);
  const heapBytes = threaded.heapBytes;
  for (let i = 0; i < 200; i++) {
    expect(() => threaded.scaledDotProductAttention(q, tensor([1, 4, 64, 8], 0.1), q)).toThrow(/key/);
    expectSameBits(threaded.scaledDotProductAttention(q, q, q).output, expected);
  }
  expect(threaded.heapBytes).toBe(heapBytes);
});

test.each([0, 1.5, 9, '2', null])('init({ threads: %p }) is a RangeError naming threads', async (threads) => {
  await expect(init({ threads })).rejects.toThrow(RangeError);
  await expect(init({ threads })).rejects.toThrow(/^threads: expected an integer from 1 to 8, got/);
});

test('a later init() with another thread count is refused; the same count shares the instance', async () => {
  await expect(init({ threads: 1 })).rejects.toThrow(/threads apply only to the first init\(\)/);
  await expect(init({ threads: 2 })).resolves.toBe(threaded);
  await expect(init()).resolves.toBe(threaded);
});

test('when the host cannot run threads, init warns once and uses one thread', async () => {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  const requested = [];
  const wasmBinary = readFileSync(`${dist}mha.wasm`);
  const makeInit = () => createInit(async ({ threads }) => {
    requested.push(threads);
    return createMhaModule({ wasmBinary });
  }, () => 'no SharedArrayBuffer here');
  try {
    const mha = await makeInit()({ threads: 4 });
    expect(mha.capabilities.threads).toBe(1);
    await makeInit()({ threads: 2 });
    expect(requested).toEqual([1, 1]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/threads: 4.*no SharedArrayBuffer here; using 1 thread/);
  } finally {
    warn.mockRestore();
  }
});

test.each([
  ['ES module', `import('${dist}node.mjs').then((m) => m.init({ threads: 2 }))`],
  ['CommonJS', `require('${dist}node.cjs').init({ threads: 2 })`],
])('a Node program using the threads build (%s) exits by itself', (_, load) => {
  const script = `${load}.then((mha) => {
    const q = { data: new Float32Array(4 * 64 * 16).fill(0.5), shape: [1, 4, 64, 16] };
    mha.scaledDotProductAttention(q, q, q);
    console.log('threads', mha.capabilities.threads);
  });`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
  expect(run.error).toBeUndefined();
  expect(run.stderr).toBe('');
  expect(run.stdout.trim()).toBe('threads 2');
  expect(run.status).toBe(0);
});
