// options.causalAlignment ('top-left' | 'bottom-right') for scaledDotProductAttention
// and MultiHeadAttention.forward, against PyTorch float64 references
// (tests/fixtures/causal_alignment.json, made by scripts/make_fixtures.py).
// Bottom-right: query i sees key j iff j <= i + (S - L), S the original key
// count (torch.nn.attention.bias.causal_lower_right; FlashAttention >= 2.1);
// with L > S the first L - S rows see no key and give zeros. Each fixture case
// has kind "sdpa" (q, k, v, options) or "mha" (config, stateDict, query, key,
// value, options).
import { init } from '../../dist/node.mjs';
import { firstMismatch, forwardOptions, loadFixtures, mask, stateDict, tensor } from './fixtures.mjs';

// The same tolerances as scaled_dot_product_attention.test.mjs and
// multi_head_attention.test.mjs: float32 compute vs a float64 PyTorch
// reference on the same float32 inputs, head dims <= 8 and E <= 12 here, so
// rounding stays far below ATOL; RTOL for any output above 1 in magnitude.
const ATOL = 2e-5;
const RTOL = 1e-4;
// needWeights=false and true must agree to float32 rounding of values of
// order 1 (as in scaled_dot_product_attention.test.mjs).
const SAME_OUTPUT_ATOL = 1e-6;

const { cases } = loadFixtures('causal_alignment');
const sdpaCases = cases.filter((c) => c.kind === 'sdpa');
const mhaCases = cases.filter((c) => c.kind === 'mha');

let mha;
beforeAll(async () => {
  mha = await init();
});

const sdpaOptions = (options) => ({ ...options, ...(options.attnMask ? { attnMask: mask(options.attnMask) } : {}) });
const runSdpa = (c, extra = {}) => mha.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), { ...sdpaOptions(c.options), ...extra });
// Options with keys removed (undefined values would still be passed along).
const without = (options, ...keys) => Object.fromEntries(Object.entries(options).filter(([k]) => !keys.includes(k)));

function withLayer(c, fn) {
  const layer = mha.createMultiHeadAttention(c.config);
  try {
    layer.loadWeights(stateDict(c.stateDict));
    return fn(layer);
  } finally {
    layer.dispose();
  }
}
const forward = (layer, c, options = c.options) => layer.forward(tensor(c.query), tensor(c.key), tensor(c.value), forwardOptions(options));

function expectMatches(result, expected) {
  expect(result.output.shape).toEqual(expected.output.shape);
  expect(result.output.data).toBeInstanceOf(Float32Array);
  expect(firstMismatch(result.output.data, expected.output.data, { atol: ATOL, rtol: RTOL })).toBeNull();
  if (expected.weights === null) {
    expect(result.weights).toBeNull();
  } else {
    expect(result.weights.shape).toEqual(expected.weights.shape);
    expect(result.weights.data).toBeInstanceOf(Float32Array);
    expect(firstMismatch(result.weights.data, expected.weights.data, { atol: ATOL, rtol: RTOL })).toBeNull();
  }
}

test('fixture file has both kinds of cases, all with causalAlignment', () => {
  expect(sdpaCases.length).toBeGreaterThan(0);
  expect(mhaCases.length).toBeGreaterThan(0);
  expect(sdpaCases.length + mhaCases.length).toBe(cases.length);
  for (const c of cases) expect(['top-left', 'bottom-right']).toContain(c.options.causalAlignment);
});

describe('scaledDotProductAttention', () => {
  test.each(sdpaCases.map((c) => [c.name, c]))('%s', (_name, c) => {
    expectMatches(runSdpa(c), c.expected);
  });

  test.each(sdpaCases.map((c) => [c.name, c]))('needWeights=false and true give the same output: %s', (_name, c) => {
    const noWeights = runSdpa(c, { needWeights: false });
    const withWeights = runSdpa(c, { needWeights: true });
    expect(noWeights.weights).toBeNull();
    expect(firstMismatch(noWeights.output.data, withWeights.output.data, { atol: SAME_OUTPUT_ATOL, rtol: 0 })).toBeNull();
  });

  const hidden = sdpaCases.filter((c) => c.options.isCausal && c.options.causalAlignment === 'bottom-right' && c.q.shape[2] > c.k.shape[2]);
  test.each(hidden.map((c) => [c.name, c]))('Lq > Lk: the first Lq - Lk rows are exactly zero: %s', (_name, c) => {
    const [B, H, Lq] = c.q.shape;
    const Lk = c.k.shape[2];
    const Dv = c.v.shape[3];
    for (const needWeights of [false, true]) {
      const { output, weights } = runSdpa(c, { needWeights });
      for (let bh = 0; bh < B * H; bh++) {
        for (let i = 0; i < Lq - Lk; i++) {
          const row = bh * Lq + i;
          expect(Array.from(output.data.subarray(row * Dv, (row + 1) * Dv))).toEqual(new Array(Dv).fill(0));
          if (needWeights) expect(Array.from(weights.data.subarray(row * Lk, (row + 1) * Lk))).toEqual(new Array(Lk).fill(0));
        }
        // The next row sees key 0, unless the attnMask hides it.
        if (!c.options.attnMask) {
          const row = bh * Lq + (Lq - Lk);
          expect(output.data.subarray(row * Dv, (row + 1) * Dv).some((x) => x !== 0)).toBe(true);
        }
      }
    }
  });

  const square = sdpaCases.filter((c) => c.options.isCausal && c.q.shape[2] === c.k.shape[2]);
  test.each(square.map((c) => [c.name, c]))('Lq == Lk: bottom-right equals top-left: %s', (_name, c) => {
    const br = runSdpa(c, { needWeights: true, causalAlignment: 'bottom-right' });
    const tl = runSdpa(c, { needWeights: true, causalAlignment: 'top-left' });
    expect(br.output.data).toEqual(tl.output.data);
    expect(br.weights.data).toEqual(tl.weights.data);
  });

  const topLeft = sdpaCases.filter((c) => c.options.isCausal && c.options.causalAlignment === 'top-left');
  test.each(topLeft.map((c) => [c.name, c]))("'top-left' equals the default: %s", (_name, c) => {
    const explicit = runSdpa(c);
    const byDefault = mha.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), sdpaOptions(without(c.options, 'causalAlignment')));
    expect(explicit.output.data).toEqual(byDefault.output.data);
    expect(explicit.weights.data).toEqual(byDefault.weights.data);
  });

  const noCausal = sdpaCases.filter((c) => !c.options.isCausal);
  test.each(noCausal.map((c) => [c.name, c]))('causalAlignment without isCausal changes nothing: %s', (_name, c) => {
    const base = sdpaOptions(without(c.options, 'causalAlignment'));
    const plain = mha.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), base);
    for (const causalAlignment of ['top-left', 'bottom-right']) {
      const got = mha.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), { ...base, causalAlignment });
      expect(got.output.data).toEqual(plain.output.data);
      expect(got.weights.data).toEqual(plain.weights.data);
    }
    // isCausal: false spelled out is the same.
    const explicitFalse = runSdpa(c, { isCausal: false });
    expect(explicitFalse.output.data).toEqual(plain.output.data);
  });

  test("causalAlignment: 'diagonal' (or another non-alignment) throws a TypeError naming causalAlignment; a correct call still works", () => {
    const c = sdpaCases.find((x) => x.options.isCausal && x.options.causalAlignment === 'bottom-right' && x.options.needWeights);
    for (const bad of ['diagonal', 'Bottom-Right', 'bottom_right', '', 1, true, null]) {
      expect(() => runSdpa(c, { causalAlignment: bad })).toThrow(TypeError);
      expect(() => runSdpa(c, { causalAlignment: bad })).toThrow(/causalAlignment/);
    }
    // Also without isCausal: the value is checked either way.
    expect(() => runSdpa(c, { isCausal: false, causalAlignment: 'diagonal' })).toThrow(TypeError);
    expectMatches(runSdpa(c), c.expected);
  });
});

describe('MultiHeadAttention.forward', () => {
  test.each(mhaCases.map((c) => [c.name, c]))('%s', (_name, c) => {
    withLayer(c, (layer) => expectMatches(forward(layer, c), c.expected));
  });

  const topLeft = mhaCases.filter((c) => c.options.isCausal && c.options.causalAlignment === 'top-left');
  test.each(topLeft.map((c) => [c.name, c]))("'top-left' equals the default: %s", (_name, c) => {
    withLayer(c, (layer) => {
      const explicit = forward(layer, c);
      const byDefault = forward(layer, c, without(c.options, 'causalAlignment'));
      expect(explicit.output.data).toEqual(byDefault.output.data);
      expect(explicit.weights.data).toEqual(byDefault.weights.data);
    });
  });

  const noCausal = mhaCases.filter((c) => !c.options.isCausal);
  test.each(noCausal.map((c) => [c.name, c]))('causalAlignment without isCausal changes nothing: %s', (_name, c) => {
    withLayer(c, (layer) => {
      const plain = forward(layer, c, { ...without(c.options, 'causalAlignment'), needWeights: true });
      for (const causalAlignment of ['top-left', 'bottom-right']) {
        const got = forward(layer, c, { ...c.options, causalAlignment, needWeights: true });
        expect(got.output.data).toEqual(plain.output.data);
        expect(got.weights.data).toEqual(plain.weights.data);
      }
    });
  });

  test("causalAlignment: 'diagonal' throws a TypeError naming causalAlignment; the layer still works afterwards", () => {
    const c = mhaCases.find((x) => x.options.isCausal && x.options.causalAlignment === 'bottom-right' && x.config.addBiasKV)
      ?? mhaCases.find((x) => x.options.isCausal && x.options.causalAlignment === 'bottom-right');
    withLayer(c, (layer) => {
      for (const bad of ['diagonal', 'lower-right', 2, null]) {
        expect(() => forward(layer, c, { ...c.options, causalAlignment: bad })).toThrow(TypeError);
        expect(() => forward(layer, c, { ...c.options, causalAlignment: bad })).toThrow(/causalAlignment/);
      }
      expectMatches(forward(layer, c), c.expected);
    });
  });
});
