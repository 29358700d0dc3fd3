// createSelfAttention (web/lib/self_attention.mjs; src/mha/self_attention.hpp):
// a Llama/Qwen2-style attention layer against PyTorch float64 modules written
// in scripts/make_decoder_fixtures.py; decoding through its cache equals one
// full call; its cache is its own; bad configurations and calls.
import { init } from '../../dist/node.mjs';
import { firstMismatch, loadFixtures, mask, tensor } from './fixtures.mjs';
import { mulberry32, randomTensor } from './reference_attention.mjs';

const TOLERANCE = { atol: 2e-5, rtol: 1e-4 };
const SAME = { atol: 2e-6, rtol: 1e-5 };
const { cases } = loadFixtures('self_attention');

const freshInit = async (tag) => (await import(`../../dist/node.mjs?${tag}`)).init;
let mha, threaded;
beforeAll(async () => {
  mha = await init();
  threaded = await (await freshInit('self-attention-3'))({ threads: 3 });
});

const configOf = (c) => ({ ...c, ...(Array.isArray(c.alibi) ? { alibi: new Float32Array(c.alibi) } : {}) });
const stateOf = (sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, tensor(v)]));
const optionsOf = (o) => ({
  ...o,
  ...(o.attnMask ? { attnMask: mask(o.attnMask) } : {}),
  ...(o.keyPaddingMask ? { keyPaddingMask: mask(o.keyPaddingMask) } : {}),
});

test.each(cases.map((c) => [c.name, c]))('%s', (_, c) => {
  const layer = mha.createSelfAttention(configOf(c.config)).loadWeights(stateOf(c.stateDict));
  const r = layer.forward(tensor(c.x), optionsOf(c.options));
  layer.dispose();
  expect(r.output.shape).toEqual(c.x.shape);
  expect(firstMismatch(r.output.data, c.expected.output.data, TOLERANCE)).toBeNull();
  if (c.expected.weights) {
    expect(r.weights.shape).toEqual(c.expected.weights.shape);
    expect(firstMismatch(r.weights.data, c.expected.weights.data, TOLERANCE)).toBeNull();
  } else {
    expect(r.weights).toBeNull();
  }
});

// Rows [from, to) of (N, T, E).
function rows(x, from, to) {
  const [N, T, E] = x.shape;
  const data = new Float32Array(N * (to - from) * E);
  for (let n = 0; n < N; n++) data.set(x.data.subarray((n * T + from) * E, (n * T + to) * E), n * (to - from) * E);
  return { data, shape: [N, to - from, E] };
}

function randomLayer(lib, config, seed) {
  const rand = mulberry32(seed);
  const layer = lib.createSelfAttention(config);
  layer.loadWeights(Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, randomTensor(rand, shape, 1 / Math.sqrt(shape[shape.length - 1])).data])));
  return layer;
}

function decode(layer, x, bounds, options = {}) {
  const [N, T, E] = x.shape;
  const cache = layer.createCache({ batchSize: N, maxLength: T });
  const output = new Float32Array(x.data.length);
  for (let c = 0; c + 1 < bounds.length; c++) {
    const [from, to] = [bounds[c], bounds[c + 1]];
    const r = layer.forward(rows(x, from, to), { ...options, cache });
    for (let n = 0; n < N; n++) output.set(r.output.data.subarray(n * (to - from) * E, (n + 1) * (to - from) * E), (n * T + from) * E);
  }
  expect(cache.length).toBe(T);
  expect(cache.config).toEqual({ batchSize: N, numHeads: layer.config.numKVHeads, headDim: layer.config.headDim, valueDim: layer.config.headDim, maxLength: T });
  cache.dispose();
  return output;
}

describe.each([
  ['Llama-like: GQA 4/2, RoPE', { embedDim: 32, numHeads: 4, numKVHeads: 2, rotary: {} }],
  ['Qwen2-like: q/k/v bias, MQA, headDim 12', { embedDim: 24, numHeads: 4, numKVHeads: 1, headDim: 12, bias: true, outBias: false, rotary: { base: 1e6 } }],
  ['Mistral-like: window 4', { embedDim: 16, numHeads: 2, numKVHeads: 1, rotary: {}, window: 4 }],
  ['BLOOM-like: ALiBi, biases', { embedDim: 24, numHeads: 6, alibi: true, bias: true }],
])('decoding through the layer cache: %s', (_, config) => {
  const x = randomTensor(mulberry32(9), [2, 14, config.embedDim]);
  const bounds = [0, 6, 7, 8, 11, 14];
  test('equals one full causal call, bit-identical with 3 threads', () => {
    const layer = randomLayer(mha, config, 4);
    const full = layer.forward(x).output.data;
    const got = decode(layer, x, bounds);
    expect(firstMismatch(got, full, SAME)).toBeNull();
    const twin = randomLayer(threaded, config, 4);
    expect(Buffer.compare(Buffer.from(decode(twin, x, bounds).buffer), Buffer.from(got.buffer))).toBe(0);
    [layer, twin].forEach((l) => l.dispose());
  });
});

describe('misuse', () => {
  // layerCache and mhaCache are the foreign caches of two cases below, made
  // once here so the cases (each calls twice) leave nothing undisposed.
  let layer, other, mhaLayer, layerCache, mhaCache;
  const x = randomTensor(mulberry32(2), [1, 3, 16]);
  beforeAll(() => {
    layer = randomLayer(mha, { embedDim: 16, numHeads: 4, numKVHeads: 2, rotary: {} }, 1);
    other = randomLayer(mha, { embedDim: 16, numHeads: 4, numKVHeads: 2, rotary: {} }, 1);
    mhaLayer = mha.createMultiHeadAttention({ embedDim: 16, numHeads: 4 });
    layerCache = layer.createCache({ batchSize: 1, maxLength: 4 });
    mhaCache = mhaLayer.createCache({ batchSize: 1, maxLength: 4 });
  });
  afterAll(() => [layerCache, mhaCache, layer, other, mhaLayer].forEach((o) => o.dispose()));

  test.each([
    ['numKVHeads not dividing numHeads', () => mha.createSelfAttention({ embedDim: 16, numHeads: 4, numKVHeads: 3 }), RangeError, 'createSelfAttention: numKVHeads: expected a divisor of numHeads=4, got 3'],
    ['odd rotaryDim', () => mha.createSelfAttention({ embedDim: 16, numHeads: 2, rotary: { rotaryDim: 3 } }), RangeError, 'createSelfAttention: rotary.rotaryDim: expected an even number of dims up to the head dim 8, got 3'],
    ['wrong ALiBi slope count', () => mha.createSelfAttention({ embedDim: 16, numHeads: 2, alibi: new Float32Array(3) }), RangeError, 'createSelfAttention: alibi: expected 2 slopes (one per query head), got 3'],
    ['an unknown option', () => mha.createSelfAttention({ embedDim: 16, numHeads: 2, nHeads: 2 }), TypeError, /^createSelfAttention: unknown option "nHeads"/],
    ['k_proj of the wrong shape', () => layer.loadWeights({ ...Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, { data: new Float32Array(shape[0] * shape[1]), shape }])),
      'k_proj.weight': { data: new Float32Array(16 * 16), shape: [16, 16] } }), RangeError, "loadWeights: stateDict['k_proj.weight']: expected shape [8, 16], got [16, 16]"],
    ['x of the wrong width', () => layer.forward(randomTensor(mulberry32(1), [1, 3, 12])), RangeError, 'forward: x: expected last dimension embedDim=16, got 12 (shape [1, 3, 12])'],
    ["another layer's cache", () => other.forward(x, { cache: layerCache }), Error,
      "forward: cache: expected a cache made by this layer's createCache(), got one that belongs to another layer"],
    ["a MultiHeadAttention layer's cache", () => layer.forward(x, { cache: mhaCache }), Error,
      "forward: cache: expected a cache made by this layer's createCache(), got one that belongs to another layer"],
    ['an attnMask of the wrong shape', () => layer.forward(x, { attnMask: { data: new Uint8Array(4), shape: [2, 2] } }), RangeError, /^forward: attnMask: expected shape \[3, 3\] \(L, S\) or \[4, 3, 3\]/],
  ])('%s throws a clear error and the layer keeps working', (_, call, ErrorClass, message) => {
    const before = layer.forward(x).output.data;
    expect(call).toThrow(ErrorClass);
    expect(call).toThrow(message);
    expect(layer.forward(x).output.data).toEqual(before);
  });

  test('a disposed layer throws', () => {
    const l = randomLayer(mha, { embedDim: 8, numHeads: 2 }, 3);
    l.dispose();
    expect(() => l.forward(randomTensor(mulberry32(1), [1, 2, 8]))).toThrow(new Error('forward: this SelfAttention was disposed; create a new one'));
  });
});
