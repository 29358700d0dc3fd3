// The plan/run boundary (web/lib/call.mjs): memory grows inside plan, before
// any view of the heap is taken, so a call that grows the heap stages its
// inputs into the new memory and reads its results from it.
//
// Why this test can fail: growing WebAssembly memory detaches the old
// ArrayBuffer, and writes through a view of it are silently dropped. Had an
// input been copied through a view taken before the growth, the kernels would
// read zeros (or stale bytes) and the output would not match the reference.
import { firstMismatch } from './fixtures.mjs';
import { mulberry32, randomTensor, referenceAttention, referenceLayer } from './reference_attention.mjs';

const freshInit = async (tag) => (await import(`../../dist/node.mjs?${tag}`)).init;
const TOLERANCE = { atol: 2e-5, rtol: 1e-4 };

test('the first call of a fresh module grows the heap in plan and still computes on its inputs', async () => {
  const mha = await (await freshInit('growth-sdpa'))();
  const rand = mulberry32(3);
  // Weights (1, 2, 1536, 1536) need 18 MiB: more than the 16 MiB heap a module starts with.
  const q = randomTensor(rand, [1, 2, 1536, 8]), k = randomTensor(rand, [1, 2, 1536, 8]), v = randomTensor(rand, [1, 2, 1536, 8]);
  const before = mha.heapBytes;
  const r = mha.scaledDotProductAttention(q, k, v, { needWeights: true });
  expect(mha.heapBytes).toBeGreaterThan(before);
  const expected = referenceAttention(q, k, v);
  expect(firstMismatch(r.output.data, expected.output, TOLERANCE)).toBeNull();
  expect(firstMismatch(r.weights.data.subarray(0, 1536 * 8), expected.weights.subarray(0, 1536 * 8), TOLERANCE)).toBeNull();
});

test('a layer call that grows the heap stages query, key and value into the grown memory', async () => {
  const mha = await (await freshInit('growth-layer'))();
  const rand = mulberry32(4);
  const options = { embedDim: 8, numHeads: 2 };
  const layer = mha.createMultiHeadAttention(options);
  const state = Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, randomTensor(rand, shape, 0.3).data]));
  layer.loadWeights(state);
  // Per-head weights (1, 2, 1200, 1200): 11 MiB, plus their average and the inputs.
  const x = randomTensor(rand, [1200, 1, 8]);
  const before = mha.heapBytes;
  const r = layer.forward(x, x, x, { averageAttnWeights: false });
  expect(mha.heapBytes).toBeGreaterThan(before);
  const expected = referenceLayer(options, state, x, x);
  expect(firstMismatch(r.output.data, expected.output, TOLERANCE)).toBeNull();
  layer.dispose();
});

test('a typed array whose length property lies is read by its real length', async () => {
  const mha = await (await freshInit('lying-length'))();
  const rand = mulberry32(5);
  const q = randomTensor(rand, [1, 1, 4, 4]);
  const lying = new Float32Array(q.data);
  Object.defineProperty(lying, 'length', { value: 1 << 20 });
  expect(() => mha.scaledDotProductAttention({ data: lying, shape: [1, 1, 256, 4096] }, q, q)).toThrow(
    new RangeError('scaledDotProductAttention: query: expected 1048576 elements for shape [1, 1, 256, 4096], got 16'),
  );
  expect(firstMismatch(mha.scaledDotProductAttention({ data: lying, shape: [1, 1, 4, 4] }, q, q).output.data, referenceAttention(q, q, q).output, TOLERANCE)).toBeNull();
});
