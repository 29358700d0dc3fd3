// scaledDotProductAttention on inputs over 32 MiB without weights runs one
// (batch, head) per step of its plan (src/layer/scaled_dot_product_attention.cpp,
// head_by_head_bytes). Checked here: results against the float64 reference
// (so the per-step ranges of query/key/value and of broadcast masks are
// right), errors that name the caller's whole shapes, and a WebAssembly heap
// that stays far below the size of the inputs.
import { firstMismatch } from './fixtures.mjs';
import { maskReader, mulberry32, randomTensor, referenceAttention } from './reference_attention.mjs';

// float32 vs float64 over 8192 keys of D = 64: scores stay within a few
// units and each output is a convex combination of values in [-1, 1].
const TOLERANCE = { atol: 2e-5, rtol: 1e-4 };
// B = 2, H = 4 heads of D = 64, 32 queries over 8192 keys: key + value are
// just over HEAD_BY_HEAD_BYTES, while the reference stays cheap (short queries).
const B = 2, H = 4, LQ = 32, LK = 8192, D = 64;
// The threshold in src/layer/scaled_dot_product_attention.cpp.
const HEAD_BY_HEAD_BYTES = 32 * 2 ** 20;
const bytes = (...tensors) => tensors.reduce((sum, t) => sum + t.data.byteLength, 0);

const freshInit = async (tag) => (await import(`../../dist/node.mjs?${tag}`)).init;
const rand = mulberry32(99);
const q = randomTensor(rand, [B, H, LQ, D]);
const k = randomTensor(rand, [B, H, LK, D]);
const v = randomTensor(rand, [B, H, LK, D]);

let mha;
beforeAll(async () => {
  mha = await (await freshInit('head-by-head'))();
});

test('the inputs are large enough to take the head-by-head path', () => {
  expect(bytes(q, k, v)).toBeGreaterThan(HEAD_BY_HEAD_BYTES);
});

test.each([
  ['no mask', undefined, {}],
  ['causal', undefined, { isCausal: true }],
  ['boolean mask per batch item and head, (B, H, 1, Lk)', () => {
    const data = Uint8Array.from({ length: B * H * LK }, (_, i) => ((i * 2654435761) >>> 0) % 5 === 0 ? 1 : 0);
    return { data, shape: [B, H, 1, LK] };
  }, {}],
  ['additive mask per head, (H, Lq, Lk)', () => {
    const r = mulberry32(7);
    return { data: Float32Array.from({ length: H * LQ * LK }, () => (r() < 0.1 ? -Infinity : 2 * r() - 1)), shape: [H, LQ, LK] };
  }, { scale: 0.2 }],
])('matches the float64 reference: %s', (_, makeMask, options) => {
  const attnMask = makeMask?.();
  const result = mha.scaledDotProductAttention(q, k, v, { ...options, attnMask });
  expect(result.output.shape).toEqual([B, H, LQ, D]);
  expect(result.weights).toBeNull();
  let maskAt = attnMask ? maskReader(attnMask) : () => 0;
  if (options.isCausal) maskAt = (b, h, i, j) => (j > i ? -Infinity : 0);
  const expected = referenceAttention(q, k, v, maskAt, options.scale);
  expect(firstMismatch(result.output.data, expected.output, TOLERANCE)).toBeNull();
});

test('out.output receives the head-by-head result', () => {
  const output = new Float32Array(B * H * LQ * D);
  const written = mha.scaledDotProductAttention(q, k, v, { out: { output } });
  expect(written.output.data).toBe(output);
  expect(output).toEqual(mha.scaledDotProductAttention(q, k, v).output.data);
  expect(() => mha.scaledDotProductAttention(q, k, v, { out: { output: new Float32Array(3) } })).toThrow(
    new RangeError(`scaledDotProductAttention: out.output: expected a Float32Array of ${B * H * LQ * D} elements (shape [${B}, ${H}, ${LQ}, ${D}]), got 3`),
  );
});

test('errors name the whole shapes the caller passed', () => {
  const shortValue = { data: v.data.subarray(0, v.data.length - D), shape: [B, H, LK, D] };
  expect(() => mha.scaledDotProductAttention(q, k, shortValue)).toThrow(
    new RangeError(`scaledDotProductAttention: value: expected ${B * H * LK * D} elements for shape [${B}, ${H}, ${LK}, ${D}], got ${B * H * LK * D - D}`),
  );
  const badMask = { data: new Uint8Array(3 * LK), shape: [3, 1, LK] };
  expect(() => mha.scaledDotProductAttention(q, k, v, { attnMask: badMask })).toThrow(/^scaledDotProductAttention: attnMask: expected a shape that broadcasts to \[2, 4, 32, 8192\]/);
});

test('the WebAssembly heap stays far below the size of the inputs', async () => {
  const own = await (await freshInit('head-by-head-heap'))();
  own.scaledDotProductAttention(q, k, v);
  const inputBytes = bytes(q, k, v);
  // One head's key and value are 2 MiB each; the heap starts at 16 MiB.
  expect(own.heapBytes).toBeLessThan(inputBytes / 2);
  expect(own.heapBytes).toBeLessThanOrEqual(24 * 2 ** 20);
});
