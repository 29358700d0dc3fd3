// scaledDotProductAttention against PyTorch's F.scaled_dot_product_attention
// semantics (tests/fixtures/scaled_dot_product_attention.json). Shapes:
// query (B, H, Lq, D), key (B, H, Lk, D), value (B, H, Lk, Dv); output
// (B, H, Lq, Dv), weights (B, H, Lq, Lk).
import { init } from '../../dist/node.mjs';
import { firstMismatch, loadFixtures, mask, ownsBuffer, tensor } from './fixtures.mjs';

// float32 compute vs a float64 PyTorch reference on the same float32 inputs;
// D <= 8 keeps rounding small (worst observed ~6e-7 absolute). RTOL covers the
// large-logit cases whose outputs exceed 1 in magnitude.
const ATOL = 2e-5;
const RTOL = 1e-4;
// needWeights only adds a second pass that materialises the weights; the
// output comes from the same online-softmax pass either way, so the two must
// agree to float32 rounding of values of order 1.
const SAME_OUTPUT_ATOL = 1e-6;

const { cases } = loadFixtures('scaled_dot_product_attention');

let mha;
beforeAll(async () => {
  mha = await init();
});

const sdpaOptions = (options) => ({ ...options, ...(options.attnMask ? { attnMask: mask(options.attnMask) } : {}) });
const run = (c, extra = {}) => mha.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), { ...sdpaOptions(c.options), ...extra });

test('fixture file has cases', () => {
  expect(cases.length).toBeGreaterThan(0);
});

test.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
  const { output, weights } = run(c);

  expect(output.shape).toEqual(c.expected.output.shape);
  expect(output.data).toBeInstanceOf(Float32Array);
  expect(ownsBuffer(output.data)).toBe(true);
  expect(firstMismatch(output.data, c.expected.output.data, { atol: ATOL, rtol: RTOL })).toBeNull();

  if (c.expected.weights === null) {
    expect(weights).toBeNull();
  } else {
    expect(weights.shape).toEqual(c.expected.weights.shape);
    expect(ownsBuffer(weights.data)).toBe(true);
    expect(firstMismatch(weights.data, c.expected.weights.data, { atol: ATOL, rtol: RTOL })).toBeNull();
  }
});

test.each(cases.map((c) => [c.name, c]))('needWeights=false and true give the same output: %s', (_name, c) => {
  const without = run(c, { needWeights: false });
  const withWeights = run(c, { needWeights: true });
  expect(without.weights).toBeNull();
  expect(withWeights.weights).not.toBeNull();
  expect(firstMismatch(without.output.data, withWeights.output.data, { atol: SAME_OUTPUT_ATOL, rtol: 0 })).toBeNull();
});

test.each(cases.filter((c) => c.options.scale === undefined).map((c) => [c.name, c]))(
  'default scale equals explicit 1/sqrt(D): %s',
  (_name, c) => {
    const headDim = c.q.shape[3];
    const byDefault = run(c, { needWeights: true });
    // Math.fround: the library keeps the scale as float32, so pass the same number it would compute.
    const explicit = run(c, { needWeights: true, scale: Math.fround(1 / Math.sqrt(headDim)) });
    expect(firstMismatch(byDefault.output.data, explicit.output.data, { atol: SAME_OUTPUT_ATOL, rtol: 0 })).toBeNull();
    expect(firstMismatch(byDefault.weights.data, explicit.weights.data, { atol: SAME_OUTPUT_ATOL, rtol: 0 })).toBeNull();
  },
);

test('two calls return independent arrays', () => {
  const c = cases.find((x) => x.options.needWeights);
  const first = run(c);
  const copy = Float32Array.from(first.output.data);
  first.output.data.fill(NaN);
  first.weights.data.fill(NaN);
  const second = run(c);
  expect(second.output.data).not.toBe(first.output.data);
  expect(second.output.data).toEqual(copy);
  expect(second.weights.data.every(Number.isFinite)).toBe(true);
});

test('the same array may be passed as query, key and value', () => {
  // heap.mjs copies an array listed twice only once; the result must not depend on it.
  const c = cases.find((x) => x.q.shape.join() === x.k.shape.join() && x.k.shape.join() === x.v.shape.join() && !x.options.attnMask);
  const q = tensor(c.q);
  const shared = mha.scaledDotProductAttention(q, q, q, { needWeights: true });
  const copies = mha.scaledDotProductAttention(q, tensor(c.q), tensor(c.q), { needWeights: true });
  expect(shared.output.data).toEqual(copies.output.data);
  expect(shared.weights.data).toEqual(copies.weights.data);
});
