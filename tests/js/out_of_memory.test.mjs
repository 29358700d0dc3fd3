// Running out of WebAssembly memory is a RangeError naming the call and the
// size asked for, and the module keeps working (issue 13: it used to abort
// the runtime). Large calls give their memory back once their results are out.
import { firstMismatch } from './fixtures.mjs';
import { mulberry32, randomTensor, referenceAttention } from './reference_attention.mjs';

const freshInit = async (tag) => (await import(`../../dist/node.mjs?${tag}`)).init;

test('a cache the heap cannot also hold is a RangeError; the module then computes normally, above 2 GiB too', async () => {
  const mha = await freshInit('oom-cache').then((init) => init());
  // 16 heads x 64 dims x 2 (keys and values) x 4 bytes x maxLength 180,000: 1.5 GB each; the heap stops at 4 GiB.
  const options = { batchSize: 1, numHeads: 16, headDim: 64, maxLength: 180000 };
  const first = mha.createKVCache(options);
  const second = mha.createKVCache(options);
  expect(first.byteLength).toBeGreaterThan(1.4e9);
  expect(mha.heapBytes).toBeGreaterThan(2 ** 31);
  expect(() => mha.createKVCache(options)).toThrow(RangeError);
  expect(() => mha.createKVCache(options)).toThrow(/^createKVCache: could not allocate \d+ bytes for the cache in the WebAssembly heap \(out of memory\)/);
  const rand = mulberry32(1);
  const q = randomTensor(rand, [1, 2, 5, 8]);
  const expected = referenceAttention(q, q, q).output;
  expect(firstMismatch(mha.scaledDotProductAttention(q, q, q).output.data, expected, { atol: 2e-5, rtol: 1e-4 })).toBeNull();
  // A layer created now lives above 2 GiB: addresses there work (unsigned everywhere).
  const layer = mha.createMultiHeadAttention({ embedDim: 8, numHeads: 2 });
  const weights = Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, randomTensor(rand, shape, 0.3).data]));
  layer.loadWeights(weights);
  const x = randomTensor(rand, [5, 1, 8]);
  const high = layer.forward(x, x, x).output.data;
  layer.dispose();
  first.dispose();
  second.dispose();
  const again = mha.createKVCache(options); // the memory came back
  again.dispose();
  const low = mha.createMultiHeadAttention({ embedDim: 8, numHeads: 2 }).loadWeights(weights);
  expect(low.forward(x, x, x).output.data).toEqual(high);
  low.dispose();
});

test('three layers called once each with 805 MB of per-head weights all succeed: each call gives its memory back', async () => {
  const mha = await freshInit('oom-layers').then((init) => init());
  const rand = mulberry32(2);
  const layers = [0, 1, 2].map(() => {
    const layer = mha.createMultiHeadAttention({ embedDim: 96, numHeads: 12 });
    return layer.loadWeights(Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, randomTensor(rand, shape, 0.1).data])));
  });
  const x = randomTensor(rand, [4096, 1, 96]);
  // Default options: needWeights (averaged, 67 MB returned) and the (N, H, L, S) per-head buffer inside.
  const sums = layers.map((layer) => layer.forward(x, x, x).weights.data.subarray(0, 4096).reduce((a, b) => a + b, 0));
  for (const sum of sums) expect(sum).toBeCloseTo(1, 4); // the first query's weights sum to 1
  expect(mha.heapBytes).toBeLessThan(1.2e9);
  const used = mha.memory().usedBytes;
  expect(used).toBeLessThan(16 * 2 ** 20); // only the three layers' packed weights stay
  layers.forEach((layer) => layer.dispose());
});

test('a layer call whose weights alone pass what one block can hold is refused before allocating, and the layer keeps working', async () => {
  const mha = await freshInit('oom-16384').then((init) => init());
  // { embedDim: 8, numHeads: 1 } at L = S = 16384 with the default options: a 1 GiB
  // per-head buffer plus its 1 GiB average (the size check used to be per buffer).
  const layer = mha.createMultiHeadAttention({ embedDim: 8, numHeads: 1 });
  const rand = mulberry32(3);
  layer.loadWeights(Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, randomTensor(rand, shape, 0.3).data])));
  const x = randomTensor(rand, [16384, 1, 8]);
  const before = mha.heapBytes;
  expect(() => layer.forward(x, x, x)).toThrow(RangeError);
  expect(() => layer.forward(x, x, x)).toThrow(/^forward: this call needs more than \d+ MiB of memory in one block/);
  expect(mha.heapBytes).toBe(before);
  // Without weights the same call runs.
  const r = layer.forward(x, x, x, { needWeights: false });
  expect(r.output.data.every(Number.isFinite)).toBe(true);
  layer.dispose();
});
