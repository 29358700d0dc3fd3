// options.out (web/lib/results.mjs): results written into the caller's
// arrays are the same numbers as fresh ones, the arrays returned are the
// caller's, and a wrong `out` throws a clear error and leaves the module working.
import { init } from '../../dist/node.mjs';

const values = (n, step, phase = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * step + phase));
const count = (shape) => shape.reduce((a, b) => a * b, 1);
const tensor = (shape, step, phase) => ({ data: values(count(shape), step, phase), shape });

let mha, layer, before; // before: a result computed ahead of every bad call
const q = tensor([2, 3, 20, 8], 0.3, 1), k = tensor([2, 3, 25, 8], 0.2, 2), v = tensor([2, 3, 25, 8], 0.1, 3);
const x = tensor([7, 2, 12], 0.17, 4); // (L, N, E)

beforeAll(async () => {
  mha = await init();
  layer = mha.createMultiHeadAttention({ embedDim: 12, numHeads: 3 });
  layer.loadWeights(Object.fromEntries(layer.expectedWeights.map(({ name, shape }, i) => [name, values(count(shape), 0.05 * (i + 1), i)])));
  before = mha.scaledDotProductAttention(q, k, v).output.data;
});
afterAll(() => layer.dispose());

test('scaledDotProductAttention writes output and weights into out, identical to fresh results', () => {
  const fresh = mha.scaledDotProductAttention(q, k, v, { needWeights: true, isCausal: true });
  const out = { output: new Float32Array(2 * 3 * 20 * 8).fill(NaN), weights: new Float32Array(2 * 3 * 20 * 25).fill(NaN) };
  const written = mha.scaledDotProductAttention(q, k, v, { needWeights: true, isCausal: true, out });
  expect(written.output.data).toBe(out.output);
  expect(written.weights.data).toBe(out.weights);
  expect(written.output.shape).toEqual(fresh.output.shape);
  expect(written.output.data).toEqual(fresh.output.data);
  expect(written.weights.data).toEqual(fresh.weights.data);
});

test('forward writes into out.output only when only that is given; weights stay fresh', () => {
  const fresh = layer.forward(x, x, x, { averageAttnWeights: false });
  const output = new Float32Array(7 * 2 * 12);
  const written = layer.forward(x, x, x, { averageAttnWeights: false, out: { output } });
  expect(written.output.data).toBe(output);
  expect(written.output.data).toEqual(fresh.output.data);
  expect(written.weights.data).toEqual(fresh.weights.data);
  expect(written.weights.data.buffer).not.toBe(output.buffer);
});

test.each([
  ['out is not an object', { out: 3 }, TypeError, /^out: expected \{ output\?: Float32Array, weights\?: Float32Array \}, got 3/],
  ['unknown key', { out: { outputs: new Float32Array(4) } }, TypeError, /^out: unknown key "outputs"/],
  ['wrong array type', { out: { output: new Float64Array(480) } }, TypeError, /^out\.output: expected a Float32Array, got Float64Array/],
  ['weights without needWeights', { out: { weights: new Float32Array(3000) } }, TypeError, /^scaledDotProductAttention: out\.weights: given, but needWeights is false/],
  ['wrong length', { out: { output: new Float32Array(479) } }, RangeError,
    /^scaledDotProductAttention: out\.output: expected a Float32Array of 960 elements \(shape \[2, 3, 20, 8\]\), got 479$/],
])('a bad out (%s) throws and the module keeps working', (_, options, ErrorClass, message) => {
  expect(() => mha.scaledDotProductAttention(q, k, v, options)).toThrow(ErrorClass);
  expect(() => mha.scaledDotProductAttention(q, k, v, options)).toThrow(message);
  expect(mha.scaledDotProductAttention(q, k, v).output.data).toEqual(before);
});

test('output and weights must be different arrays', () => {
  const same = new Float32Array(3000);
  expect(() => mha.scaledDotProductAttention(q, k, v, { needWeights: true, out: { output: same, weights: same } })).toThrow(
    new RangeError('out: output and weights must be different arrays'),
  );
});

test('forward names its own argument in a length error', () => {
  expect(() => layer.forward(x, x, x, { out: { weights: new Float32Array(5) } })).toThrow(
    /^forward: out\.weights: expected a Float32Array of 98 elements \(shape \[2, 7, 7\]\), got 5$/,
  );
});
