// Mask semantics, checked without PyTorch: against a float64 JS reference of
// softmax(Q Kᵀ · scale + mask) V, and between equivalent spellings of a mask.
// SDPA shapes: query (B, H, Lq, D), key (B, H, Lk, D), value (B, H, Lk, Dv).
// Boolean masks use 1 = masked out; a fully masked row yields zeros.
import { init } from '../../dist/node.mjs';
import { firstMismatch } from './fixtures.mjs';
import { maskReader, mulberry32, randomTensor, referenceAttention } from './reference_attention.mjs';

// float32 engine vs float64 reference with D <= 8 and |scores| of a few units:
// rounding stays ~1e-6 even over 200 keys, so the fixture tolerances apply.
const ATOL = 2e-5;
const RTOL = 1e-4;
// Two spellings of one mask (bool vs -Infinity, isCausal vs triu) should go
// through the same arithmetic; allow only float32 rounding of order-1 values.
const SAME_ATOL = 1e-6;

const boolMask = (shape, isMasked) => {
  const data = new Uint8Array(shape.reduce((a, b) => a * b, 1));
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  data.forEach((_, flat) => (data[flat] = isMasked(...strides.map((s, i) => Math.floor(flat / s) % shape[i])) ? 1 : 0));
  return { data, shape };
};
const toAdditive = (m) => ({ data: Float32Array.from(m.data, (x) => (x ? -Infinity : 0)), shape: m.shape });
const triu = (Lq, Lk) => boolMask([Lq, Lk], (i, j) => j > i);

let mha;
beforeAll(async () => {
  mha = await init();
});

function expectMatchesReference(got, ref, needWeights) {
  expect(firstMismatch(got.output.data, ref.output, { atol: ATOL, rtol: RTOL })).toBeNull();
  if (needWeights) expect(firstMismatch(got.weights.data, ref.weights, { atol: ATOL, rtol: RTOL })).toBeNull();
  else expect(got.weights).toBeNull();
}
const expectSame = (a, b) => expect(firstMismatch(a.data, b.data, { atol: SAME_ATOL, rtol: 0 })).toBeNull();

describe('scaledDotProductAttention', () => {
  const sizes = (B, H, Lq, Lk, D, Dv) => ({ B, H, Lq, Lk, D, Dv });
  const named = (s) => [Object.entries(s).map(([k, x]) => `${k}=${x}`).join(' '), s];
  const inputs = ({ B, H, Lq, Lk, D, Dv }, seed) => {
    const rand = mulberry32(seed);
    // Amplitude 1.5 gives scores of a few units: peaked but not one-hot softmax rows.
    return [randomTensor(rand, [B, H, Lq, D], 1.5), randomTensor(rand, [B, H, Lk, D], 1.5), randomTensor(rand, [B, H, Lk, Dv])];
  };

  test.each([sizes(2, 2, 6, 6, 4, 3), sizes(1, 3, 4, 9, 5, 5), sizes(2, 1, 9, 4, 3, 2)].map(named))('isCausal equals a boolean triu mask %s', (_name, s) => {
    const [q, k, v] = inputs(s, 11);
    const causal = mha.scaledDotProductAttention(q, k, v, { isCausal: true, needWeights: true });
    const masked = mha.scaledDotProductAttention(q, k, v, { attnMask: triu(s.Lq, s.Lk), needWeights: true });
    expectSame(causal.output, masked.output);
    expectSame(causal.weights, masked.weights);
    expectMatchesReference(causal, referenceAttention(q, k, v, (b, h, i, j) => (j > i ? -Infinity : 0)), true);
  });

  test('boolean mask equals an additive mask of -Infinity (B=2 H=2 Lq=5 Lk=7)', () => {
    const s = sizes(2, 2, 5, 7, 4, 4);
    const [q, k, v] = inputs(s, 12);
    const rand = mulberry32(99);
    const m = boolMask([2, 2, 5, 7], (b, h, i, j) => j !== i && rand() < 0.4); // j === i keeps every row alive
    const asBool = mha.scaledDotProductAttention(q, k, v, { attnMask: m, needWeights: true });
    const asFloat = mha.scaledDotProductAttention(q, k, v, { attnMask: toAdditive(m), needWeights: true });
    expectSame(asBool.output, asFloat.output);
    expectSame(asBool.weights, asFloat.weights);
    expectMatchesReference(asBool, referenceAttention(q, k, v, maskReader(m)), true);
  });

  test.each([
    ['bool mask, Lk=6', 6, (m) => m],
    ['additive -Infinity mask, Lk=6', 6, toAdditive],
    ['bool mask, Lk=130 (three key tiles)', 130, (m) => m],
  ])('a fully masked row gives exact zeros: %s', (_name, Lk, spell) => {
    const s = sizes(2, 2, 4, Lk, 4, 3);
    const [q, k, v] = inputs(s, 13);
    const m = spell(boolMask([4, Lk], (i, j) => i === 2 || j === Lk - 1));
    for (const needWeights of [false, true]) {
      const { output, weights } = mha.scaledDotProductAttention(q, k, v, { attnMask: m, needWeights });
      for (let bh = 0; bh < 4; bh++) {
        expect(output.data.subarray((bh * 4 + 2) * 3, (bh * 4 + 3) * 3).every((x) => x === 0)).toBe(true);
        if (needWeights) expect(weights.data.subarray((bh * 4 + 2) * Lk, (bh * 4 + 3) * Lk).every((x) => x === 0)).toBe(true);
      }
      expect(output.data.every(Number.isFinite)).toBe(true);
      if (needWeights) expect(weights.data.every(Number.isFinite)).toBe(true);
    }
  });

  const broadcastShapes = { '[Lk]': [7], '[1,H,1,Lk]': [1, 3, 1, 7], '[B,1,Lq,Lk]': [2, 1, 5, 7], '[H,Lq,Lk]': [3, 5, 7] };
  test.each(Object.entries(broadcastShapes))('broadcast mask %s (B=2 H=3 Lq=5 Lk=7)', (_name, shape) => {
    const s = sizes(2, 3, 5, 7, 4, 4);
    const [q, k, v] = inputs(s, 14);
    const rand = mulberry32(shape.length * 31 + shape[0]);
    const additive = { data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rand() < 0.3 ? -Infinity : rand() * 2 - 1)), shape };
    // Key 0 is never masked so no row is fully masked.
    const m = { ...additive, data: additive.data.map((x, idx) => (idx % 7 === 0 ? 0 : x)) };
    const got = mha.scaledDotProductAttention(q, k, v, { attnMask: m, needWeights: true });
    expectMatchesReference(got, referenceAttention(q, k, v, maskReader(m)), true);
    // The same mask written out in full must agree.
    const read = maskReader(m);
    const expanded = { data: new Float32Array(2 * 3 * 5 * 7), shape: [2, 3, 5, 7] };
    expanded.data.forEach((_, flat) => (expanded.data[flat] = read(Math.floor(flat / 105), Math.floor(flat / 35) % 3, Math.floor(flat / 7) % 5, flat % 7)));
    expectSame(got.output, mha.scaledDotProductAttention(q, k, v, { attnMask: expanded }).output);
  });

  // The engine tiles keys by 64: 64 and 65 sit on the first tile boundary;
  // 130 and 200 add full tiles plus ragged last tiles of 2 and 8 keys. With
  // isCausal, Lq=Lk so causal rows end inside every tile.
  const long = [];
  for (const Lk of [64, 65, 130, 200]) for (const isCausal of [false, true]) for (const needWeights of [false, true]) long.push([Lk, isCausal, needWeights]);
  test.each(long)('long keys Lk=%i isCausal=%s needWeights=%s', (Lk, isCausal, needWeights) => {
    const s = sizes(1, 2, isCausal ? Lk : 5, Lk, 8, 6);
    const [q, k, v] = inputs(s, Lk);
    const got = mha.scaledDotProductAttention(q, k, v, { isCausal, needWeights });
    expectMatchesReference(got, referenceAttention(q, k, v, (b, h, i, j) => (isCausal && j > i ? -Infinity : 0)), needWeights);
  });

  test.each([130, 200])('long keys Lk=%i with a whole 64-key tile masked out', (Lk) => {
    const s = sizes(1, 2, 6, Lk, 8, 6);
    const [q, k, v] = inputs(s, Lk + 1);
    // Row 0 keeps only the last key (all earlier tiles skipped); other rows lose keys 64..127.
    const m = boolMask([6, Lk], (i, j) => (i === 0 ? j !== Lk - 1 : j >= 64 && j < 128));
    const got = mha.scaledDotProductAttention(q, k, v, { attnMask: m, needWeights: true });
    expectMatchesReference(got, referenceAttention(q, k, v, maskReader(m)), true);
  });
});

describe('MultiHeadAttention forward', () => {
  // E=8, H=2, N=2, L=5, S=6: small, but enough heads and batch items to catch
  // a (N*H) indexing mistake in 3-D masks.
  const E = 8, H = 2, N = 2, L = 5, S = 6;
  let layer, q, k, v;
  beforeAll(() => {
    const rand = mulberry32(7);
    layer = mha.createMultiHeadAttention({ embedDim: E, numHeads: H, bias: false });
    layer.loadWeights(Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, randomTensor(rand, shape).data])));
    [q, k, v] = [randomTensor(rand, [L, N, E], 2), randomTensor(rand, [S, N, E], 2), randomTensor(rand, [S, N, E])];
  });
  afterAll(() => layer.dispose());
  const run = (options) => layer.forward(q, k, v, { averageAttnWeights: false, ...options });

  test('keyPaddingMask equals the equivalent 3-D attnMask (N*H, L, S)', () => {
    const padding = boolMask([N, S], (b, j) => (b === 0 ? j >= 4 : j === 1));
    const perHead = boolMask([N * H, L, S], (bh, i, j) => padding.data[Math.floor(bh / H) * S + j] === 1);
    const a = run({ keyPaddingMask: padding });
    const b = run({ attnMask: perHead });
    expectSame(a.output, b.output);
    expectSame(a.weights, b.weights);
    expectSame(run({ keyPaddingMask: toAdditive(padding) }).output, a.output);
  });

  test('isCausal equals a boolean triu attnMask (L=S=5, self-attention)', () => {
    const a = layer.forward(q, q, q, { isCausal: true, averageAttnWeights: false });
    const b = layer.forward(q, q, q, { attnMask: triu(L, L), averageAttnWeights: false });
    expectSame(a.output, b.output);
    expectSame(a.weights, b.weights);
  });

  test('boolean attnMask equals an additive -Infinity attnMask', () => {
    const m = boolMask([L, S], (i, j) => (i + 2 * j) % 3 === 0 && j !== 5);
    const a = run({ attnMask: m });
    const b = run({ attnMask: toAdditive(m) });
    expectSame(a.output, b.output);
    expectSame(a.weights, b.weights);
  });

  test('a batch item with every key padded gives exact zeros (bias=false) and no NaN', () => {
    const { output, weights } = run({ keyPaddingMask: boolMask([N, S], (b) => b === 1) });
    for (let i = 0; i < L; i++) expect(output.data.subarray((i * N + 1) * E, (i * N + 2) * E).every((x) => x === 0)).toBe(true);
    expect(weights.data.subarray(H * L * S).every((x) => x === 0)).toBe(true);
    expect(output.data.every(Number.isFinite) && weights.data.every(Number.isFinite)).toBe(true);
    expect(weights.data.subarray(0, H * L * S).some((x) => x !== 0)).toBe(true);
  });
});
