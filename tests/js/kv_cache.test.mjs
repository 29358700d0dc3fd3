// KV caches (web/lib/kv_cache.mjs; src/mha/kv_cache.hpp): decoding through a
// cache equals one full causal call, for scaledDotProductAttention's caches
// and for a layer's own, token by token and in chunks; truncate() and reset();
// every misuse throws a clear error and leaves the cache as it was.
//
// Expected values come from the float64 references in reference_attention.mjs
// (written separately from the library). The full causal call of the library
// is compared too, more tightly: both paths compute the same float32 sums,
// in a different order (the decoding path merges 256-key chunks).
import { init } from '../../dist/node.mjs';
import { firstMismatch } from './fixtures.mjs';
import { maskReader, mulberry32, randomTensor, referenceAttention, referenceLayer } from './reference_attention.mjs';

// float32 vs float64 on values in [-1, 1], head dims up to 16: observed
// errors are below 1e-6; the bounds leave room for other engines.
const REFERENCE = { atol: 2e-5, rtol: 1e-4 };
// Incremental vs the library's own full call (same inputs, float32 both).
const SAME = { atol: 2e-6, rtol: 1e-5 };

const freshInit = async (tag) => (await import(`../../dist/node.mjs?${tag}`)).init;
let single, threaded;
beforeAll(async () => {
  single = await init();
  // Separate instances of the threads build, with 2 and 3 threads.
  threaded = { 2: await (await freshInit('cache-threads-2'))({ threads: 2 }), 3: await (await freshInit('cache-threads-3'))({ threads: 3 }) };
});

const bytesOf = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const expectSameBits = (a, b) => expect(Buffer.compare(bytesOf(a), bytesOf(b))).toBe(0);

// Tokens [from, to) of a (B, H, T, D) tensor.
function tokens(t, from, to) {
  const [B, H, T, D] = t.shape;
  const data = new Float32Array(B * H * (to - from) * D);
  for (let bh = 0; bh < B * H; bh++) data.set(t.data.subarray((bh * T + from) * D, (bh * T + to) * D), bh * (to - from) * D);
  return { data, shape: [B, H, to - from, D] };
}

// Rows [from, to) and columns [0, columns) of a mask whose last two axes are (T, T).
function maskBlock(m, from, to, columns) {
  const lead = m.shape.slice(0, -2);
  const [rows, width] = m.shape.slice(-2);
  const planes = lead.reduce((a, b) => a * b, 1);
  const data = new m.data.constructor(planes * (to - from) * columns);
  for (let p = 0; p < planes; p++) {
    for (let i = from; i < to; i++) {
      data.set(m.data.subarray((p * rows + i) * width, (p * rows + i) * width + columns), (p * (to - from) + i - from) * columns);
    }
  }
  return { data, shape: [...lead, to - from, columns] };
}

// Places chunk weights (B, H, rows, seen) into (B, H, T, T), zeros after `seen`.
function placeWeights(target, chunk, from, T) {
  const [B, H, rows, seen] = chunk.shape;
  for (let bh = 0; bh < B * H; bh++) {
    for (let r = 0; r < rows; r++) target.set(chunk.data.subarray((bh * rows + r) * seen, (bh * rows + r + 1) * seen), (bh * T + from + r) * T);
  }
}

// Chunk sizes: a prefill, then the rest in steps of `step` tokens.
const schedule = (T, prefill, step) => {
  const bounds = [0, prefill];
  while (bounds[bounds.length - 1] < T) bounds.push(Math.min(T, bounds[bounds.length - 1] + step));
  return bounds;
};

// Runs q, k, v through a fresh SDPA cache chunk by chunk; returns output (B, H, T, Dv) and weights (B, H, T, T).
function sdpaIncremental(mha, q, k, v, { bounds, attnMask, needWeights }) {
  const [B, H, T, D] = q.shape;
  const Dv = v.shape[3];
  const cache = mha.createKVCache({ batchSize: B, numHeads: H, headDim: D, valueDim: Dv, maxLength: T + 3 });
  const output = { data: new Float32Array(B * H * T * Dv), shape: [B, H, T, Dv] };
  const weights = new Float32Array(B * H * T * T);
  for (let c = 0; c + 1 < bounds.length; c++) {
    const [from, to] = [bounds[c], bounds[c + 1]];
    const options = { cache, isCausal: true, needWeights };
    if (attnMask) options.attnMask = maskBlock(attnMask, from, to, to);
    const r = mha.scaledDotProductAttention(tokens(q, from, to), tokens(k, from, to), tokens(v, from, to), options);
    expect(cache.length).toBe(to);
    expect(r.output.shape).toEqual([B, H, to - from, Dv]);
    const rows = to - from;
    for (let bh = 0; bh < B * H; bh++) output.data.set(r.output.data.subarray(bh * rows * Dv, (bh + 1) * rows * Dv), (bh * T + from) * Dv);
    if (needWeights) {
      expect(r.weights.shape).toEqual([B, H, rows, to]);
      placeWeights(weights, r.weights, from, T);
    } else {
      expect(r.weights).toBeNull();
    }
  }
  cache.dispose();
  return { output: output.data, weights };
}

const causalWith = (attnMask) => {
  const read = attnMask ? maskReader(attnMask) : () => 0;
  return (b, h, i, j) => (j > i ? -Infinity : read(b, h, i, j));
};

const sdpaCases = [
  // name, [B, H, T, D, Dv], prefill, mask maker
  ['batch 2, D=5, Dv=7, no mask', [2, 3, 15, 5, 7], 9, null],
  ['batch 2, boolean mask (B, 1, T, T)', [2, 2, 13, 6, 6], 4, (rand, [B, , T]) => ({
    data: Uint8Array.from({ length: B * T * T }, (_, i) => (i % T === 0 ? 0 : rand() < 0.2 ? 1 : 0)), shape: [B, 1, T, T] })],
  ['additive mask (T, T), D=13', [1, 4, 11, 13, 3], 5, (rand, [, , T]) => ({
    data: Float32Array.from({ length: T * T }, () => (rand() < 0.1 ? -Infinity : rand() - 0.5)), shape: [T, T] })],
  ['300 keys: decoding spans two 256-key chunks, D=16', [1, 2, 300, 16, 16], 280, null],
];

describe.each(sdpaCases)('scaledDotProductAttention with a cache: %s', (_, [B, H, T, D, Dv], prefill, makeMask) => {
  const rand = mulberry32(T * 131 + D);
  const q = randomTensor(rand, [B, H, T, D]), k = randomTensor(rand, [B, H, T, D]), v = randomTensor(rand, [B, H, T, Dv]);
  const attnMask = makeMask ? makeMask(rand, [B, H, T]) : undefined;
  const reference = referenceAttention(q, k, v, causalWith(attnMask));

  test.each([
    ['a prefill then single tokens', 1],
    ['a prefill then chunks of 3 tokens', 3],
  ])('%s equals the full causal call, with and without weights', (__, step) => {
    const bounds = schedule(T, prefill, step);
    const full = single.scaledDotProductAttention(q, k, v, { isCausal: true, attnMask, needWeights: true });
    for (const needWeights of [false, true]) {
      const got = sdpaIncremental(single, q, k, v, { bounds, attnMask, needWeights });
      expect(firstMismatch(got.output, reference.output, REFERENCE)).toBeNull();
      expect(firstMismatch(got.output, full.output.data, SAME)).toBeNull();
      if (needWeights) {
        expect(firstMismatch(got.weights, reference.weights, REFERENCE)).toBeNull();
        expect(firstMismatch(got.weights, full.weights.data, SAME)).toBeNull();
      }
    }
  });

  test('results are bit-identical with 1, 2 and 3 threads', () => {
    const bounds = schedule(T, prefill, 3);
    for (const needWeights of [false, true]) {
      const one = sdpaIncremental(single, q, k, v, { bounds, attnMask, needWeights });
      for (const mha of [threaded[2], threaded[3]]) {
        const many = sdpaIncremental(mha, q, k, v, { bounds, attnMask, needWeights });
        expectSameBits(many.output, one.output);
        expectSameBits(many.weights, one.weights);
      }
    }
  });
});

// ---- the layer's own cache

function loadedLayer(mha, options, seed) {
  const rand = mulberry32(seed);
  const layer = mha.createMultiHeadAttention(options);
  const state = {};
  for (const { name, shape } of layer.expectedWeights) {
    const fanIn = shape.length === 2 ? shape[1] : 1;
    state[name] = randomTensor(rand, shape, 1 / Math.sqrt(fanIn)).data;
  }
  layer.loadWeights(state);
  return { layer, state };
}

// Token rows [from, to) of a layer input, (T, N, E) or (N, T, E) with batchFirst.
function layerTokens(x, from, to, batchFirst) {
  const [a, b, E] = x.shape;
  if (batchFirst) {
    const data = new Float32Array(a * (to - from) * E);
    for (let n = 0; n < a; n++) data.set(x.data.subarray((n * b + from) * E, (n * b + to) * E), n * (to - from) * E);
    return { data, shape: [a, to - from, E] };
  }
  return { data: x.data.slice(from * b * E, to * b * E), shape: [to - from, b, E] };
}

// Columns [0, columns) of an (N, T) key padding mask.
const paddingBlock = (m, columns) => {
  const [N, T] = m.shape;
  const data = new Uint8Array(N * columns);
  for (let n = 0; n < N; n++) data.set(m.data.subarray(n * T, n * T + columns), n * columns);
  return { data, shape: [N, columns] };
};

function layerIncremental(layer, x, { bounds, batchFirst, keyPaddingMask, attnMask, averageAttnWeights }) {
  const N = batchFirst ? x.shape[0] : x.shape[1];
  const T = batchFirst ? x.shape[1] : x.shape[0];
  const E = x.shape[2], H = layer.numHeads;
  const cache = layer.createCache({ batchSize: N, maxLength: T });
  const output = new Float32Array(x.data.length);
  const weights = new Float32Array(N * H * T * T);
  for (let c = 0; c + 1 < bounds.length; c++) {
    const [from, to] = [bounds[c], bounds[c + 1]];
    const xs = layerTokens(x, from, to, batchFirst);
    const options = { cache, isCausal: true, averageAttnWeights };
    if (keyPaddingMask) options.keyPaddingMask = paddingBlock(keyPaddingMask, to);
    if (attnMask) options.attnMask = maskBlock(attnMask, from, to, to);
    const r = layer.forward(xs, xs, xs, options);
    expect(cache.length).toBe(to);
    for (let t = from; t < to; t++) {
      for (let n = 0; n < N; n++) {
        const source = batchFirst ? (n * (to - from) + t - from) * E : ((t - from) * N + n) * E;
        const target = batchFirst ? (n * T + t) * E : (t * N + n) * E;
        output.set(r.output.data.subarray(source, source + E), target);
      }
    }
    const rows = to - from;
    if (averageAttnWeights) {
      expect(r.weights.shape).toEqual([N, rows, to]);
      // Averaged weights: one plane per batch item, stored here in head 0's slot.
      for (let n = 0; n < N; n++) {
        for (let r2 = 0; r2 < rows; r2++) weights.set(r.weights.data.subarray((n * rows + r2) * to, (n * rows + r2 + 1) * to), ((n * H) * T + from + r2) * T);
      }
    } else {
      expect(r.weights.shape).toEqual([N, H, rows, to]);
      placeWeights(weights, r.weights, from, T);
    }
  }
  cache.dispose();
  return { output, weights };
}

const layerCases = [
  // name, options, [N, T], prefill, masks
  ['E=12 H=3 (D=4), (T, N, E), batch 2', { embedDim: 12, numHeads: 3 }, [2, 10], 4, {}],
  ['E=15 H=3 (D=5), batchFirst, key padding mask', { embedDim: 15, numHeads: 3, batchFirst: true }, [2, 9], 3, { padding: true }],
  ['E=8 H=2, per-head attnMask (N*H, T, T), unbatched-size batch 1', { embedDim: 8, numHeads: 2 }, [1, 12], 5, { perHead: true }],
];

describe.each(layerCases)('layer forward with its cache: %s', (_, options, [N, T], prefill, masks) => {
  const rand = mulberry32(N * 97 + T);
  const { embedDim: E, numHeads: H, batchFirst = false } = options;
  const x = randomTensor(rand, batchFirst ? [N, T, E] : [T, N, E]);
  const keyPaddingMask = masks.padding
    ? { data: Uint8Array.from({ length: N * T }, (_, i) => (i % T !== 0 && rand() < 0.25 ? 1 : 0)), shape: [N, T] }
    : undefined;
  const attnMask = masks.perHead
    ? { data: Float32Array.from({ length: N * H * T * T }, () => (rand() < 0.15 ? -Infinity : rand() - 0.5)), shape: [N * H, T, T] }
    : undefined;
  let layer, state;
  beforeAll(() => ({ layer, state } = loadedLayer(single, options, T)));
  afterAll(() => layer.dispose());

  const maskAt = (n, h, i, j) => {
    if (j > i) return -Infinity;
    let bias = 0;
    if (keyPaddingMask && keyPaddingMask.data[n * T + j]) bias = -Infinity;
    if (attnMask) bias += attnMask.data[((n * H + h) * T + i) * T + j];
    return bias;
  };

  test.each([1, 3])('a prefill then steps of %i equal the float64 reference and the full causal call', (step) => {
    const reference = referenceLayer(options, state, x, x, maskAt);
    const full = layer.forward(x, x, x, { isCausal: true, keyPaddingMask, attnMask, averageAttnWeights: false });
    const got = layerIncremental(layer, x, { bounds: schedule(T, prefill, step), batchFirst, keyPaddingMask, attnMask, averageAttnWeights: false });
    expect(firstMismatch(got.output, reference.output, REFERENCE)).toBeNull();
    expect(firstMismatch(got.weights, reference.weights, REFERENCE)).toBeNull();
    expect(firstMismatch(got.output, full.output.data, SAME)).toBeNull();
    expect(firstMismatch(got.weights, full.weights.data, SAME)).toBeNull();
  });

  test('averaged weights cover every cached key', () => {
    const full = layer.forward(x, x, x, { isCausal: true, keyPaddingMask, attnMask });
    const got = layerIncremental(layer, x, { bounds: schedule(T, prefill, 1), batchFirst, keyPaddingMask, attnMask, averageAttnWeights: true });
    for (let n = 0; n < N; n++) {
      const plane = full.weights.data.subarray(n * T * T, (n + 1) * T * T);
      expect(firstMismatch(got.weights.subarray(n * H * T * T, n * H * T * T + T * T), plane, SAME)).toBeNull();
    }
  });

  test('results are bit-identical with 1, 2 and 3 threads', () => {
    const bounds = schedule(T, prefill, 3);
    const one = layerIncremental(layer, x, { bounds, batchFirst, keyPaddingMask, attnMask, averageAttnWeights: false });
    for (const mha of [threaded[2], threaded[3]]) {
      const twin = loadedLayer(mha, options, T).layer;
      const many = layerIncremental(twin, x, { bounds, batchFirst, keyPaddingMask, attnMask, averageAttnWeights: false });
      twin.dispose();
      expectSameBits(many.output, one.output);
      expectSameBits(many.weights, one.weights);
    }
  });
});

test('without isCausal, a cached call sees every cached key', () => {
  const rand = mulberry32(5);
  const q = randomTensor(rand, [1, 2, 6, 4]), k = randomTensor(rand, [1, 2, 6, 4]), v = randomTensor(rand, [1, 2, 6, 4]);
  const cache = single.createKVCache({ batchSize: 1, numHeads: 2, headDim: 4, maxLength: 8 });
  single.scaledDotProductAttention(tokens(q, 0, 4), tokens(k, 0, 4), tokens(v, 0, 4), { cache });
  const r = single.scaledDotProductAttention(tokens(q, 4, 6), tokens(k, 4, 6), tokens(v, 4, 6), { cache, needWeights: true });
  // The last two queries against all six keys, no mask at all.
  const expected = referenceAttention(tokens(q, 4, 6), k, v);
  expect(firstMismatch(r.output.data, expected.output, REFERENCE)).toBeNull();
  expect(firstMismatch(r.weights.data, expected.weights, REFERENCE)).toBeNull();
  cache.dispose();
});

// ---- truncate, reset, length

describe('truncate and reset', () => {
  const rand = mulberry32(11);
  const [B, H, T, D] = [2, 2, 12, 8];
  const q = randomTensor(rand, [B, H, T, D]), k = randomTensor(rand, [B, H, T, D]), v = randomTensor(rand, [B, H, T, D]);
  const junk = [randomTensor(rand, [B, H, 5, D]), randomTensor(rand, [B, H, 5, D]), randomTensor(rand, [B, H, 5, D])];
  const step = (cache, from, to, options = {}) =>
    single.scaledDotProductAttention(tokens(q, from, to), tokens(k, from, to), tokens(v, from, to), { cache, isCausal: true, needWeights: true, ...options });

  test('truncate then re-append gives what a fresh cache gives, bit for bit', () => {
    const fresh = single.createKVCache({ batchSize: B, numHeads: H, headDim: D, maxLength: T });
    step(fresh, 0, 7);
    const expected = [step(fresh, 7, 8), step(fresh, 8, 12)];
    const reused = single.createKVCache({ batchSize: B, numHeads: H, headDim: D, maxLength: T });
    step(reused, 0, 7);
    single.scaledDotProductAttention(...junk, { cache: reused });
    expect(reused.length).toBe(12);
    expect(reused.truncate(7)).toBe(reused);
    expect(reused.length).toBe(7);
    const got = [step(reused, 7, 8), step(reused, 8, 12)];
    for (const [a, b] of got.map((g, i) => [g, expected[i]])) {
      expectSameBits(a.output.data, b.output.data);
      expectSameBits(a.weights.data, b.weights.data);
    }
    fresh.dispose();
    reused.dispose();
  });

  test('truncate(length) is a no-op, reset() empties, a reset cache computes like a fresh one', () => {
    const cache = single.createKVCache({ batchSize: B, numHeads: H, headDim: D, maxLength: T });
    const first = step(cache, 0, 5);
    cache.truncate(5);
    expect(cache.length).toBe(5);
    expect(cache.reset()).toBe(cache);
    expect(cache.length).toBe(0);
    expectSameBits(step(cache, 0, 5).output.data, first.output.data);
    expect(cache.maxLength).toBe(T);
    expect(cache.config).toEqual({ batchSize: B, numHeads: H, headDim: D, valueDim: D, maxLength: T });
    // Keys and values of maxLength tokens, 2 x B x H x T x D floats, plus
    // padding of T and D to whole panels (8 floats in the .wasm).
    expect(cache.byteLength).toBeGreaterThanOrEqual(2 * B * H * T * D * 4);
    expect(cache.byteLength).toBeLessThanOrEqual(2 * B * H * (T + 8) * (D + 8) * 4);
    cache.dispose();
    expect(cache.disposed).toBe(true);
    cache.dispose();
  });
});

// ---- misuse: a clear error, and the cache as it was

describe('bad input leaves the cache unchanged', () => {
  const rand = mulberry32(23);
  const [B, H, D, T] = [1, 2, 4, 10];
  const q = randomTensor(rand, [B, H, T, D]), k = randomTensor(rand, [B, H, T, D]), v = randomTensor(rand, [B, H, T, D]);
  let cache, twin, layer, otherLayer, layerCache;
  const next = (c) => single.scaledDotProductAttention(tokens(q, 6, 7), tokens(k, 6, 7), tokens(v, 6, 7), { cache: c, isCausal: true, needWeights: true });
  const x = randomTensor(rand, [1, 1, 8]);

  beforeAll(() => {
    cache = single.createKVCache({ batchSize: B, numHeads: H, headDim: D, maxLength: 8 });
    twin = single.createKVCache({ batchSize: B, numHeads: H, headDim: D, maxLength: 8 });
    for (const c of [cache, twin]) single.scaledDotProductAttention(tokens(q, 0, 6), tokens(k, 0, 6), tokens(v, 0, 6), { cache: c, isCausal: true });
    layer = loadedLayer(single, { embedDim: 8, numHeads: 2 }, 1).layer;
    otherLayer = loadedLayer(single, { embedDim: 8, numHeads: 2 }, 1).layer;
    layerCache = layer.createCache({ batchSize: 1, maxLength: 4 });
  });
  afterAll(() => [cache, twin, layerCache, layer, otherLayer].forEach((o) => o.dispose()));

  const disposedCache = () => {
    const c = single.createKVCache({ batchSize: 1, numHeads: 2, headDim: 4, maxLength: 4 });
    c.dispose();
    return c;
  };
  const bad = [
    ['appending past maxLength', () => single.scaledDotProductAttention(tokens(q, 6, 9), tokens(k, 6, 9), tokens(v, 6, 9), { cache }), RangeError,
      'scaledDotProductAttention: cache: appending 3 tokens to a cache of length 6 would exceed its maxLength 8 (truncate() or reset() it, or create one with a larger maxLength)'],
    ['other head count', () => single.scaledDotProductAttention(randomTensor(rand, [1, 3, 1, 4]), randomTensor(rand, [1, 3, 1, 4]), randomTensor(rand, [1, 3, 1, 4]), { cache }),
      RangeError, /^scaledDotProductAttention: cache: expected numHeads 3, headDim 4 and valueDim 4 \(from key and value\), got a cache of numHeads 2/],
    ['other head dim', () => single.scaledDotProductAttention(randomTensor(rand, [1, 2, 1, 5]), randomTensor(rand, [1, 2, 1, 5]), randomTensor(rand, [1, 2, 1, 5]), { cache }),
      RangeError, /^scaledDotProductAttention: cache: expected numHeads 2, headDim 5/],
    ['other batch size', () => single.scaledDotProductAttention(randomTensor(rand, [2, 2, 1, 4]), randomTensor(rand, [2, 2, 1, 4]), randomTensor(rand, [2, 2, 1, 4]), { cache }),
      RangeError, 'scaledDotProductAttention: cache: expected batchSize 2 (from query), got a cache of batchSize 1'],
    ['more keys than queries', () => single.scaledDotProductAttention(tokens(q, 6, 7), tokens(k, 6, 8), tokens(v, 6, 8), { cache }), RangeError,
      /^scaledDotProductAttention: key: with a cache, key and value hold the new tokens, one per query row: expected length 1/],
    ['top-left alignment with a cache', () => single.scaledDotProductAttention(tokens(q, 6, 7), tokens(k, 6, 7), tokens(v, 6, 7), { cache, isCausal: true, causalAlignment: 'top-left' }),
      RangeError, /^scaledDotProductAttention: causalAlignment: expected 'bottom-right' \(or nothing\) with a cache/],
    ['a mask sized without the cached keys', () => single.scaledDotProductAttention(tokens(q, 6, 7), tokens(k, 6, 7), tokens(v, 6, 7), { cache, attnMask: { data: new Uint8Array(6), shape: [1, 6] } }),
      RangeError, /^scaledDotProductAttention: attnMask: expected a shape that broadcasts to \[1, 2, 1, 7\] \(batch, heads, Lq, cache length after the append\)/],
    ['a disposed cache', () => next(disposedCache()), Error, 'scaledDotProductAttention: cache: this KVCache was disposed; create a new one'],
    ['not a cache', () => single.scaledDotProductAttention(tokens(q, 6, 7), tokens(k, 6, 7), tokens(v, 6, 7), { cache: { length: 6 } }), TypeError,
      /^scaledDotProductAttention: cache: expected a KVCache from createKVCache\(\) or layer.createCache\(\), got an object/],
    ['a layer cache in scaledDotProductAttention', () => single.scaledDotProductAttention(randomTensor(rand, [1, 2, 1, 4]), randomTensor(rand, [1, 2, 1, 4]), randomTensor(rand, [1, 2, 1, 4]), { cache: layerCache }),
      Error, /^scaledDotProductAttention: cache: expected a cache from createKVCache\(\), got a layer's cache/],
    ['an SDPA cache in a layer', () => layer.forward(x, x, x, { cache }), Error,
      "forward: cache: expected a cache made by this layer's createCache(), got one from createKVCache(), which is for scaledDotProductAttention"],
    ["another layer's cache (same configuration)", () => otherLayer.forward(x, x, x, { cache: layerCache }), Error,
      "forward: cache: expected a cache made by this layer's createCache(), got one that belongs to another layer"],
    ['truncate beyond the length', () => cache.truncate(7), RangeError, "truncate: length: expected a length from 0 to the cache's length 6, got 7"],
    ['truncate to a negative length', () => cache.truncate(-1), RangeError, 'length: expected a non-negative integer, got -1'],
    ['truncate to a string', () => cache.truncate('2'), TypeError, 'length: expected a non-negative integer, got "2"'],
  ];

  test.each(bad)('%s', (_, call, ErrorClass, message) => {
    expect(call).toThrow(ErrorClass);
    expect(call).toThrow(message);
    expect(cache.length).toBe(6);
    // The next real step on the cache matches its twin, which saw no error.
    const [got, want] = [next(cache), next(twin)];
    expectSameBits(got.output.data, want.output.data);
    expectSameBits(got.weights.data, want.weights.data);
    cache.truncate(6);
    twin.truncate(6);
    expect(layerCache.length).toBe(0);
  });

  test.each([
    ['createKVCache without options', () => single.createKVCache(), TypeError, /^createKVCache: expected an options object with batchSize, numHeads, headDim and maxLength, got undefined/],
    ['createKVCache with maxLength 0', () => single.createKVCache({ batchSize: 1, numHeads: 1, headDim: 4, maxLength: 0 }), RangeError, 'maxLength: expected a positive integer, got 0'],
    ['createKVCache with an unknown option', () => single.createKVCache({ batchSize: 1, numHeads: 1, headDim: 4, maxLength: 4, heads: 2 }), TypeError, /^createKVCache: unknown option "heads"/],
    ['createKVCache larger than a heap', () => single.createKVCache({ batchSize: 64, numHeads: 32, headDim: 128, maxLength: 4096 }), RangeError, /^createKVCache: a cache of batchSize 64, numHeads 32, headDim 128, valueDim 128 and maxLength 4096 needs 8589934592 bytes in one block; the WebAssembly heap gives at most \d+ per block/],
    ['layer.createCache without maxLength', () => layer.createCache({ batchSize: 1 }), TypeError, 'maxLength: expected a positive integer, got undefined'],
    ['a cache with addBiasKV', () => {
      const { layer: biased } = loadedLayer(single, { embedDim: 8, numHeads: 2, addBiasKV: true }, 2);
      try {
        const c = biased.createCache({ batchSize: 1, maxLength: 4 });
        try {
          biased.forward(x, x, x, { cache: c });
        } finally {
          c.dispose();
        }
      } finally {
        biased.dispose();
      }
    }, RangeError, 'forward: cache: not supported by a layer with addBiasKV (its extra key would be appended again at every step)'],
  ])('%s throws a clear error', (_, call, ErrorClass, message) => {
    expect(call).toThrow(ErrorClass);
    expect(call).toThrow(message);
    expect(next(cache).output.data.every(Number.isFinite)).toBe(true);
    cache.truncate(6);
  });
});
