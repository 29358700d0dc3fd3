// scaledDotProductAttention's decoder options (GQA/MQA, rotary, alibi, window,
// softcap) against PyTorch float64 references (tests/fixtures/decoder_attention.json,
// scripts/make_decoder_fixtures.py), applyRotaryEmbedding, decoding through a
// cache with those options equal to one full call, thread counts, bad input.
import { init } from '../../dist/node.mjs';
import { firstMismatch, loadFixtures, mask, tensor } from './fixtures.mjs';
import { mulberry32, randomTensor, referenceAttention } from './reference_attention.mjs';

// float32 against float64 on float32 inputs, the tolerance of the other
// PyTorch parity tests; the worst case measured here (the Gemma 2 case) uses 0.024 of it.
const TOLERANCE = { atol: 2e-5, rtol: 1e-4 };
const SAME = { atol: 2e-6, rtol: 1e-5 };

const { cases, rotaryCases, torch_version: torchVersion } = loadFixtures('decoder_attention');
const freshInit = async (tag) => (await import(`../../dist/node.mjs?${tag}`)).init;
let mha, threaded;
beforeAll(async () => {
  mha = await init();
  threaded = { 2: await (await freshInit('decoder-2'))({ threads: 2 }), 3: await (await freshInit('decoder-3'))({ threads: 3 }) };
});

const optionsOf = (o) => ({
  ...o,
  ...(o.attnMask ? { attnMask: mask(o.attnMask) } : {}),
  ...(Array.isArray(o.alibi) ? { alibi: new Float32Array(o.alibi) } : {}),
});

test('the fixtures come from PyTorch and cover every option', () => {
  expect(torchVersion).toMatch(/^1\.13/);
  for (const option of ['rotary', 'alibi', 'window', 'softcap']) expect(cases.some((c) => c.options[option] !== undefined)).toBe(true);
  expect(cases.some((c) => c.k.shape[1] === 1 && c.q.shape[1] > 1)).toBe(true); // MQA
  expect(cases.some((c) => c.k.shape[1] > 1 && c.k.shape[1] < c.q.shape[1])).toBe(true); // GQA
  for (const d of [6, 64, 80, 96]) expect(cases.some((c) => c.q.shape[3] === d)).toBe(true);
});

test.each(cases.map((c) => [c.name, c]))('%s', (_, c) => {
  const r = mha.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), optionsOf(c.options));
  expect(r.output.shape).toEqual(c.expected.output.shape);
  expect(firstMismatch(r.output.data, c.expected.output.data, TOLERANCE)).toBeNull();
  if (c.expected.weights) {
    expect(r.weights.shape).toEqual(c.expected.weights.shape);
    expect(firstMismatch(r.weights.data, c.expected.weights.data, TOLERANCE)).toBeNull();
    // The output does not depend on whether weights were asked for.
    const without = mha.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), { ...optionsOf(c.options), needWeights: false });
    expect(firstMismatch(without.output.data, r.output.data, SAME)).toBeNull();
  }
});

// Windows over more than one 32-query block, so a block's first visible key is
// past 0 (the fixtures above are too short for that): against the float64
// reference with the window (and causality) written as a mask. Query i sits
// at key position i + offset, offset = Lk - Lq for bottom-right causality.
const longWindows = [
  ['causal, window 37, L 200', { Lq: 200, Lk: 200, isCausal: true, window: 37 }],
  ['window 50 without causality, L 150', { Lq: 150, Lk: 150, window: 50 }],
  ['window 9 (shorter than a panel), causal, L 130', { Lq: 130, Lk: 130, isCausal: true, window: 9 }],
  ['bottom-right causal, window 30, 70 queries over 260 keys', { Lq: 70, Lk: 260, isCausal: true, causalAlignment: 'bottom-right', window: 30 }],
];
describe.each(longWindows)('long sliding window: %s', (_, { Lq, Lk, ...options }) => {
  const rand = mulberry32(Lq * 31 + Lk);
  const [H, D] = [2, 16];
  const q = randomTensor(rand, [1, H, Lq, D], 1.5), k = randomTensor(rand, [1, H, Lk, D], 1.5), v = randomTensor(rand, [1, H, Lk, D]);
  const offset = options.causalAlignment === 'bottom-right' ? Lk - Lq : 0;
  const hidden = (i, j) => (options.isCausal && j > i + offset) || j <= i + offset - options.window;
  const reference = referenceAttention(q, k, v, (b, h, i, j) => (hidden(i, j) ? -Infinity : 0));

  test.each([false, true])('needWeights %s', (needWeights) => {
    const r = mha.scaledDotProductAttention(q, k, v, { ...options, needWeights });
    expect(firstMismatch(r.output.data, reference.output, TOLERANCE)).toBeNull();
    if (needWeights) expect(firstMismatch(r.weights.data, reference.weights, TOLERANCE)).toBeNull();
  });

  test('2 threads give the same bits', () => {
    const one = mha.scaledDotProductAttention(q, k, v, options).output.data;
    const two = threaded[2].scaledDotProductAttention(q, k, v, options).output.data;
    expect(Buffer.compare(Buffer.from(two.buffer), Buffer.from(one.buffer))).toBe(0);
  });
});

test.each(rotaryCases.map((c) => [c.name, c]))('applyRotaryEmbedding %s', (_, c) => {
  const x = tensor(c.x);
  const copy = x.data.slice();
  const r = mha.applyRotaryEmbedding(x, c.rotary);
  expect(r.shape).toEqual(c.x.shape);
  expect(firstMismatch(r.data, c.expected.output.data, TOLERANCE)).toBeNull();
  expect(x.data).toEqual(copy); // x is untouched
});

// ---- decoding through a cache with the decoder options

function tokens(t, from, to) {
  const [B, H, T, D] = t.shape;
  const data = new Float32Array(B * H * (to - from) * D);
  for (let bh = 0; bh < B * H; bh++) data.set(t.data.subarray((bh * T + from) * D, (bh * T + to) * D), bh * (to - from) * D);
  return { data, shape: [B, H, to - from, D] };
}

function decode(lib, q, k, v, options, bounds) {
  const [B, H, T] = q.shape;
  const [, Hkv, , D] = k.shape;
  const cache = lib.createKVCache({ batchSize: B, numHeads: Hkv, headDim: D, valueDim: v.shape[3], maxLength: T });
  const Dv = v.shape[3];
  const output = new Float32Array(B * H * T * Dv);
  for (let c = 0; c + 1 < bounds.length; c++) {
    const [from, to] = [bounds[c], bounds[c + 1]];
    const r = lib.scaledDotProductAttention(tokens(q, from, to), tokens(k, from, to), tokens(v, from, to), { ...options, cache });
    for (let bh = 0; bh < B * H; bh++) output.set(r.output.data.subarray(bh * (to - from) * Dv, (bh + 1) * (to - from) * Dv), (bh * T + from) * Dv);
  }
  cache.dispose();
  return output;
}

const decoders = [
  ['Mistral: GQA 8/2 + RoPE + window 5, causal', [1, 8, 2, 23, 16], { isCausal: true, rotary: { base: 10000 }, window: 5 }],
  ['MQA + interleaved partial RoPE', [2, 4, 1, 17, 12], { isCausal: true, rotary: { rotaryDim: 8, interleaved: true, base: 500 } }],
  ['BLOOM: ALiBi (12 heads), causal', [1, 12, 12, 19, 8], { isCausal: true, alibi: true }],
  ['Gemma 2: GQA + RoPE + softcap 20 + window 7', [1, 4, 2, 21, 8], { isCausal: true, rotary: {}, softcap: 20, window: 7 }],
  ['300 tokens: split-key chunks with GQA, RoPE and ALiBi', [1, 4, 2, 300, 16], { isCausal: true, rotary: {}, alibi: true }],
];

describe.each(decoders)('decoding with a cache: %s', (_, [B, H, Hkv, T, D], options) => {
  const rand = mulberry32(T * 7 + H);
  const q = randomTensor(rand, [B, H, T, D]), k = randomTensor(rand, [B, Hkv, T, D]), v = randomTensor(rand, [B, Hkv, T, D]);
  const prefill = Math.floor(T * 0.6);
  const schedule = (step) => {
    const bounds = [0, prefill];
    while (bounds[bounds.length - 1] < T) bounds.push(Math.min(T, bounds[bounds.length - 1] + step));
    return bounds;
  };

  test.each([1, 3])('a prefill then steps of %i equal one full causal call', (step) => {
    const full = mha.scaledDotProductAttention(q, k, v, options);
    expect(firstMismatch(decode(mha, q, k, v, options, schedule(step)), full.output.data, SAME)).toBeNull();
  });

  test('bit-identical with 1, 2 and 3 threads', () => {
    const one = decode(mha, q, k, v, options, schedule(3));
    for (const lib of [threaded[2], threaded[3]]) expect(Buffer.compare(Buffer.from(decode(lib, q, k, v, options, schedule(3)).buffer), Buffer.from(one.buffer))).toBe(0);
  });
});

// ---- bad input

describe('bad decoder options', () => {
  const rand = mulberry32(3);
  const q = randomTensor(rand, [1, 4, 3, 8]), k = randomTensor(rand, [1, 2, 5, 8]), v = randomTensor(rand, [1, 2, 5, 8]);
  const good = () => mha.scaledDotProductAttention(q, k, v, { rotary: {}, alibi: true, window: 2, softcap: 5, isCausal: true });
  test.each([
    ['Hkv not dividing H', () => mha.scaledDotProductAttention(q, randomTensor(rand, [1, 3, 5, 8]), randomTensor(rand, [1, 3, 5, 8])), RangeError,
      /^scaledDotProductAttention: key: expected a number of heads that divides query's 4 \(grouped-query attention\), got shape \[1, 3, 5, 8\]/],
    ['value heads unlike key heads', () => mha.scaledDotProductAttention(q, k, randomTensor(rand, [1, 4, 5, 8])), RangeError,
      /^scaledDotProductAttention: value: expected leading dimensions \[1, 2, 5\]/],
    ['odd rotaryDim', () => mha.scaledDotProductAttention(q, k, v, { rotary: { rotaryDim: 5 } }), RangeError,
      'scaledDotProductAttention: rotary.rotaryDim: expected an even number of dims up to the head dim 8, got 5'],
    ['rotaryDim above the head dim', () => mha.scaledDotProductAttention(q, k, v, { rotary: { rotaryDim: 10 } }), RangeError,
      'scaledDotProductAttention: rotary.rotaryDim: expected an even number of dims up to the head dim 8, got 10'],
    ['rotary base of 1', () => mha.scaledDotProductAttention(q, k, v, { rotary: { base: 1 } }), RangeError, 'rotary.base: expected a finite number above 1, got 1'],
    ['unknown rotary option', () => mha.scaledDotProductAttention(q, k, v, { rotary: { theta: 1e4 } }), TypeError, /^rotary: unknown option "theta"/],
    ['fractional positionOffset', () => mha.scaledDotProductAttention(q, k, v, { rotary: { positionOffset: 1.5 } }), RangeError, 'rotary.positionOffset: expected an integer, got 1.5'],
    ['alibi slopes of the wrong length', () => mha.scaledDotProductAttention(q, k, v, { alibi: new Float32Array(2) }), RangeError,
      'scaledDotProductAttention: alibi: expected 4 slopes (one per query head), got 2'],
    ['alibi as a plain array', () => mha.scaledDotProductAttention(q, k, v, { alibi: [1, 2, 3, 4] }), TypeError, /^alibi: expected true \(the standard slopes\) or a Float32Array/],
    ['window 0', () => mha.scaledDotProductAttention(q, k, v, { window: 0 }), RangeError, 'window: expected a positive integer, got 0'],
    ['window 2.5', () => mha.scaledDotProductAttention(q, k, v, { window: 2.5 }), RangeError, 'window: expected a positive integer, got 2.5'],
    ['softcap 0', () => mha.scaledDotProductAttention(q, k, v, { softcap: 0 }), RangeError, 'softcap: expected a positive finite number, got 0'],
    ['softcap as a string', () => mha.scaledDotProductAttention(q, k, v, { softcap: '30' }), TypeError, 'softcap: expected a positive number, got "30"'],
    ['positionOffset with a cache', () => {
      const cache = mha.createKVCache({ batchSize: 1, numHeads: 2, headDim: 8, maxLength: 8 });
      try {
        mha.scaledDotProductAttention(tokens(q, 0, 1), tokens(k, 0, 1), tokens(v, 0, 1), { cache, rotary: { positionOffset: 4 } });
      } finally {
        expect(cache.length).toBe(0);
        cache.dispose();
      }
    }, RangeError, 'scaledDotProductAttention: rotary.positionOffset: expected none with a cache, whose tokens have their positions already (the new ones start at its length)'],
    ['applyRotaryEmbedding on a 3-D tensor', () => mha.applyRotaryEmbedding(randomTensor(rand, [2, 3, 4])), RangeError,
      'applyRotaryEmbedding: x: expected a 4-D (batch, heads, length, dim) shape, got a 3-D shape [2, 3, 4]'],
  ])('%s throws, and the next call works', (_, call, ErrorClass, message) => {
    const before = good();
    expect(call).toThrow(ErrorClass);
    expect(call).toThrow(message);
    expect(good().output.data).toEqual(before.output.data);
  });
});
