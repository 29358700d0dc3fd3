// MultiHeadAttention.forward against PyTorch's nn.MultiheadAttention
// (tests/fixtures/multi_head_attention.json, made by scripts/make_fixtures.py).
// Shapes: (L, N, E) queries, (S, N, E) keys/values, or batch-first (N, L, E);
// unbatched cases drop N. Weights are (N, L, S) averaged or (N, H, L, S).
import { init } from '../../dist/node.mjs';
import { firstMismatch, forwardOptions, loadFixtures, ownsBuffer, stateDict, tensor } from './fixtures.mjs';

// The library computes in float32; the fixtures are PyTorch float64 results on
// the same float32 inputs. With E <= 24 every dot product sums at most 24
// terms, and the worst error observed over all cases is ~1.4e-6 absolute, so
// ATOL leaves >10x headroom. RTOL covers the few outputs of magnitude > 1
// (large-logit cases) where float32 rounding scales with the value.
const ATOL = 2e-5;
const RTOL = 1e-4;

const { cases } = loadFixtures('multi_head_attention');

let mha;
beforeAll(async () => {
  mha = await init();
});

function runCase(c) {
  const layer = mha.createMultiHeadAttention(c.config);
  try {
    layer.loadWeights(stateDict(c.stateDict));
    return layer.forward(tensor(c.query), tensor(c.key), tensor(c.value), forwardOptions(c.options));
  } finally {
    layer.dispose();
  }
}

test('fixture file has cases', () => {
  expect(cases.length).toBeGreaterThan(0);
});

test.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
  const { output, weights } = runCase(c);

  expect(output.shape).toEqual(c.expected.output.shape);
  expect(output.data).toBeInstanceOf(Float32Array);
  expect(firstMismatch(output.data, c.expected.output.data, { atol: ATOL, rtol: RTOL })).toBeNull();

  if (c.expected.weights === null) {
    expect(weights).toBeNull();
  } else {
    expect(weights.shape).toEqual(c.expected.weights.shape);
    expect(weights.data).toBeInstanceOf(Float32Array);
    expect(firstMismatch(weights.data, c.expected.weights.data, { atol: ATOL, rtol: RTOL })).toBeNull();
  }
});

describe('results are copies, not views of the wasm heap', () => {
  // The case with the most options at once: per-head weights, both masks, bias KV, zero attention.
  const c = cases.find((x) => x.options.needWeights && x.options.keyPaddingMask && x.options.attnMask && x.config.addBiasKV) ?? cases[0];
  let layer;
  beforeAll(() => {
    layer = mha.createMultiHeadAttention(c.config);
    layer.loadWeights(stateDict(c.stateDict));
  });
  afterAll(() => layer.dispose());
  const call = () => layer.forward(tensor(c.query), tensor(c.key), tensor(c.value), forwardOptions(c.options));

  test(`output and weights own their buffers (${c.name})`, () => {
    const { output, weights } = call();
    for (const array of [output.data, weights.data]) {
      expect(ownsBuffer(array)).toBe(true);
      // A heap view's buffer would be the whole wasm memory.
      expect(array.buffer.byteLength).not.toBe(mha.heapBytes);
    }
  });

  test(`two calls return independent arrays (${c.name})`, () => {
    const first = call();
    const firstOutput = Float32Array.from(first.output.data);
    const firstWeights = Float32Array.from(first.weights.data);
    first.output.data.fill(NaN);
    first.weights.data.fill(NaN);
    const second = call();
    expect(second.output.data).not.toBe(first.output.data);
    expect(second.output.data).toEqual(firstOutput);
    expect(second.weights.data).toEqual(firstWeights);
    // Mutating the second result must not reach back into the first either.
    second.output.data[0] = 12345;
    expect(Number.isNaN(first.output.data[0])).toBe(true);
  });

  test('shapes are fresh arrays too', () => {
    const first = call();
    first.output.shape.push(99);
    expect(call().output.shape).toEqual(c.expected.output.shape);
  });

  test('inputs are not modified by forward', () => {
    const q = tensor(c.query);
    const before = Float32Array.from(q.data);
    layer.forward(q, tensor(c.key), tensor(c.value), forwardOptions(c.options));
    expect(q.data).toEqual(before);
  });
});

test('needWeights defaults to true and averageAttnWeights to true', () => {
  const c = cases.find((x) => x.options.needWeights && x.options.averageAttnWeights && !x.options.keyPaddingMask && !x.options.attnMask && !x.options.isCausal);
  const layer = mha.createMultiHeadAttention(c.config);
  layer.loadWeights(stateDict(c.stateDict));
  const { output, weights } = layer.forward(tensor(c.query), tensor(c.key), tensor(c.value));
  layer.dispose();
  expect(weights.shape).toEqual(c.expected.weights.shape);
  expect(firstMismatch(output.data, c.expected.output.data, { atol: ATOL, rtol: RTOL })).toBeNull();
  expect(firstMismatch(weights.data, c.expected.weights.data, { atol: ATOL, rtol: RTOL })).toBeNull();
});

test('loadWeights accepts { data, shape } values and a Map', () => {
  const c = cases[0];
  const withShapes = Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, { data: new Float32Array(v.data), shape: v.shape }]));
  const layer = mha.createMultiHeadAttention(c.config);
  const args = [tensor(c.query), tensor(c.key), tensor(c.value), forwardOptions(c.options)];
  const a = layer.loadWeights(withShapes).forward(...args);
  const b = layer.loadWeights(new Map(Object.entries(stateDict(c.stateDict)))).forward(...args);
  layer.dispose();
  expect(a.output.data).toEqual(b.output.data);
  expect(firstMismatch(a.output.data, c.expected.output.data, { atol: ATOL, rtol: RTOL })).toBeNull();
});
