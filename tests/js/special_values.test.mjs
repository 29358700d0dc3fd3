// One rule for special values, whatever the path (README, "Special values"):
// a key that is masked (causally, by a boolean mask, by an additive -inf, or
// by the sliding window) never influences the output, even when its key or
// value holds NaN or +-inf; a row whose visible keys include a NaN score is
// NaN. The results must not depend on needWeights, the tiling, the
// split-key decoding path, the cache or the thread count.
import { init } from '../../dist/node.mjs';
import { firstMismatch } from './fixtures.mjs';
import { mulberry32, randomTensor, referenceAttention } from './reference_attention.mjs';

const TOLERANCE = { atol: 2e-5, rtol: 1e-4 };
const freshInit = async (tag) => (await import(`../../dist/node.mjs?${tag}`)).init;
let instances;
beforeAll(async () => {
  instances = { 1: await init(), 2: await (await freshInit('special-2'))({ threads: 2 }) };
});

// L = S = 130: three 64-key tiles and five 32-row blocks (prefill path); and one query over them (split-key path).
const L = 130, D = 8, POISON_KEY = 100;
const placements = {
  'NaN value': (k, v) => v.data.fill(NaN, POISON_KEY * D, (POISON_KEY + 1) * D),
  'inf value': (k, v) => v.data.fill(Infinity, POISON_KEY * D, (POISON_KEY + 1) * D),
  '3e38 value': (k, v) => v.data.fill(3e38, POISON_KEY * D, (POISON_KEY + 1) * D),
  'NaN key': (k) => k.data.fill(NaN, POISON_KEY * D, (POISON_KEY + 1) * D),
  'inf key': (k) => k.data.fill(Infinity, POISON_KEY * D, (POISON_KEY + 1) * D),
};
// How key POISON_KEY is masked, and for which query rows.
const maskings = {
  causal: { options: () => ({ isCausal: true }), hidden: (i) => POISON_KEY > i },
  'boolean mask': { options: () => ({ attnMask: { data: Uint8Array.from({ length: L }, (_, j) => (j === POISON_KEY ? 1 : 0)), shape: [L] } }), hidden: () => true },
  '-inf mask': { options: () => ({ attnMask: { data: Float32Array.from({ length: L }, (_, j) => (j === POISON_KEY ? -Infinity : 0)), shape: [L] } }), hidden: () => true },
  window: { options: () => ({ isCausal: true, window: 20 }), hidden: (i) => POISON_KEY > i || POISON_KEY <= i - 20 },
};

const cases = [];
for (const placement of Object.keys(placements)) for (const masking of Object.keys(maskings)) cases.push([placement, masking]);

describe.each(cases)('%s, masked by %s', (placement, masking) => {
  const rand = mulberry32(7);
  const q = randomTensor(rand, [1, 1, L, D]), k = randomTensor(rand, [1, 1, L, D]), v = randomTensor(rand, [1, 1, L, D]);
  placements[placement](k, v);
  const { options, hidden } = maskings[masking];
  // The reference: the poisoned key removed where it is hidden, kept where it is visible.
  const clean = { k: { data: k.data.slice(), shape: k.shape }, v: { data: v.data.slice(), shape: v.shape } };
  clean.k.data.fill(0, POISON_KEY * D, (POISON_KEY + 1) * D);
  clean.v.data.fill(0, POISON_KEY * D, (POISON_KEY + 1) * D);
  const window = options().window;
  const maskAt = (b, h, i, j) => (j === POISON_KEY || (options().isCausal && j > i) || (window && j <= i - window) ? -Infinity : 0);
  const expected = referenceAttention(q, clean.k, clean.v, maskAt);

  test.each([
    [1, false], [1, true], [2, false], [2, true],
  ])('%i thread(s), needWeights %s: hidden rows unaffected, visible rows NaN or as the reference', (threads, needWeights) => {
    const r = instances[threads].scaledDotProductAttention(q, k, v, { ...options(), needWeights });
    for (let i = 0; i < L; i++) {
      const row = r.output.data.subarray(i * D, (i + 1) * D);
      if (hidden(i)) {
        expect(firstMismatch(row, expected.output.subarray(i * D, (i + 1) * D), TOLERANCE)).toBeNull();
        if (needWeights) expect(r.weights.data[i * L + POISON_KEY]).toBe(0);
      } else if (placement === 'NaN key' || placement === 'inf key' || placement === 'NaN value' || placement === 'inf value') {
        // Visible poison: the row is NaN (inf - inf, or NaN) or inf, never a finite wrong number.
        expect(row.every((x) => !Number.isFinite(x))).toBe(true);
      }
    }
  });

  test('the split-key decoding path and a cache agree with the full call', () => {
    const lib = instances[1];
    const full = lib.scaledDotProductAttention(q, k, v, options());
    const last = { data: q.data.slice((L - 1) * D), shape: [1, 1, 1, D] };
    // The last query alone (its masks broadcast over rows), placed at the last position.
    const one = lib.scaledDotProductAttention(last, k, v, { ...options(), causalAlignment: 'bottom-right' });
    const expectRow = full.output.data.subarray((L - 1) * D);
    if (hidden(L - 1)) expect(firstMismatch(one.output.data, expectRow, { atol: 2e-6, rtol: 1e-5 })).toBeNull();
    else expect(one.output.data.every((x) => !Number.isFinite(x)) || placement === '3e38 value').toBe(true);
    const cache = lib.createKVCache({ batchSize: 1, numHeads: 1, headDim: D, maxLength: L });
    const head = (t, a, b) => ({ data: t.data.slice(a * D, b * D), shape: [1, 1, b - a, D] });
    const stepOptions = (a, b) => {
      const o = { ...options(), cache };
      if (o.attnMask) o.attnMask = { data: o.attnMask.data.slice(0, b), shape: [b] };
      return o;
    };
    lib.scaledDotProductAttention(head(q, 0, L - 1), head(k, 0, L - 1), head(v, 0, L - 1), stepOptions(0, L - 1));
    const step = lib.scaledDotProductAttention(head(q, L - 1, L), head(k, L - 1, L), head(v, L - 1, L), stepOptions(L - 1, L));
    cache.dispose();
    expect(Buffer.compare(Buffer.from(step.output.data.buffer), Buffer.from(one.output.data.buffer))).toBe(0);
  });
});

test('exp underflows to exactly 0: logits [0, -1000] with values [1, 3e38] give 1, as PyTorch does', () => {
  const mha = instances[1];
  const q = { data: new Float32Array([1]), shape: [1, 1, 1, 1] };
  const k = { data: new Float32Array([0, -1000]), shape: [1, 1, 2, 1] };
  const v = { data: new Float32Array([1, 3e38]), shape: [1, 1, 2, 1] };
  const r = mha.scaledDotProductAttention(q, k, v, { scale: 1, needWeights: true });
  expect(r.weights.data[1]).toBe(0);
  expect(r.output.data[0]).toBe(1);
});
