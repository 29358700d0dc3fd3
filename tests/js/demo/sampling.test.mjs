// sampling: temperature, top-k and top-p on hand-computed distributions, a
// seeded generator that repeats itself, and the draw from a distribution.
import {
  STRATEGIES, argmaxOf, candidateRows, chooseToken, createRng, drawToken, keptSummary,
  nextTokenDistribution, rankByProbability, rankOf, softmax, topKMask, topPMask, topRanked,
} from '../../../web/demo/model/sampling.mjs';

// logits [2, 1, 0, 3]: e^2, e^1, e^0, e^3 over their sum 31.19287.
const LOGITS = Float32Array.from([2, 1, 0, 3]);
const P1 = [0.236883, 0.087144, 0.032059, 0.643914];
// Temperature 2: e^1, e^0.5, e^0, e^1.5 over 9.848692.
const P2 = [0.276004, 0.167405, 0.101536, 0.455054];
const kept = (mask) => [...mask.keys()].filter((i) => mask[i]);

test('softmax, with and without a temperature, matches the hand-computed values', () => {
  softmax(LOGITS).forEach((p, i) => expect(p).toBeCloseTo(P1[i], 6));
  softmax(LOGITS, 2).forEach((p, i) => expect(p).toBeCloseTo(P2[i], 6));
  // A low temperature sharpens towards the argmax, a high one flattens towards uniform.
  expect(softmax(LOGITS, 0.1)[3]).toBeGreaterThan(0.9999);
  softmax(LOGITS, 1000).forEach((p) => expect(p).toBeCloseTo(0.25, 2));
  expect(() => softmax(LOGITS, 0)).toThrow('temperature: expected a finite number > 0, got 0');
});

test('ranking is by probability, equal probabilities by lower id', () => {
  expect(rankByProbability(Float64Array.from(P1))).toEqual([3, 0, 1, 2]);
  expect(rankByProbability(Float64Array.from([0.2, 0.4, 0.2, 0.2]))).toEqual([1, 0, 2, 3]);
});

test('top-k keeps exactly the k most probable tokens (ties by lower id)', () => {
  const p = Float64Array.from(P1);
  expect(kept(topKMask(p, 1))).toEqual([3]);
  expect(kept(topKMask(p, 2))).toEqual([0, 3]);
  expect(kept(topKMask(p, 3))).toEqual([0, 1, 3]);
  expect(kept(topKMask(p, 10))).toEqual([0, 1, 2, 3]);
  expect(kept(topKMask(softmax(Float32Array.from([1, 1, 1, 0])), 2))).toEqual([0, 1]);
  expect(() => topKMask(p, 0)).toThrow('topK: expected an integer >= 1, got 0');
});

test('top-p keeps the shortest ranked prefix reaching p, the crossing token included', () => {
  const p = Float64Array.from(P1);
  expect(kept(topPMask(p, 0.5))).toEqual([3]); // 0.644 ≥ 0.5
  expect(kept(topPMask(p, 0.643))).toEqual([3]);
  expect(kept(topPMask(p, 0.644))).toEqual([0, 3]); // just above 0.6439: the next token is needed
  expect(kept(topPMask(p, 0.7))).toEqual([0, 3]); // 0.644 + 0.237 = 0.881
  expect(kept(topPMask(p, 0.9))).toEqual([0, 1, 3]); // + 0.087 = 0.968
  expect(kept(topPMask(p, 0.97))).toEqual([0, 1, 2, 3]);
  expect(kept(topPMask(p, 1))).toEqual([0, 1, 2, 3]);
  expect(kept(topPMask(p, 1e-9))).toEqual([3]); // at least one token
  // After temperature 2 the same p keeps more tokens: 0.455 + 0.276 = 0.731 < 0.8, so a third is kept.
  expect(kept(topPMask(softmax(LOGITS, 2), 0.8))).toEqual([0, 1, 3]);
  expect(() => topPMask(p, 0)).toThrow('topP: expected a number in (0, 1], got 0');
  expect(() => topPMask(p, 1.5)).toThrow('topP: expected a number in (0, 1], got 1.5');
});

test('the distribution applies temperature, then the filter, then renormalises', () => {
  const d = nextTokenDistribution(LOGITS, { strategy: 'top-k', temperature: 1, topK: 2 });
  expect(kept(d.kept)).toEqual([0, 3]);
  // Kept 3 and 0: e^3 / (e^3 + e^2) = 1 / (1 + e^-1).
  expect(d.final[3]).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
  expect(d.final[0]).toBeCloseTo(1 / (1 + Math.exp(1)), 12);
  expect(d.final[1]).toBe(0);
  expect(keptSummary(d).count).toBe(2);
  expect(keptSummary(d).mass).toBeCloseTo(P1[0] + P1[3], 6);

  const t = nextTokenDistribution(LOGITS, { strategy: 'top-p', temperature: 2, topP: 0.7 });
  expect(kept(t.kept)).toEqual([0, 3]);
  t.raw.forEach((p, i) => expect(p).toBeCloseTo(P1[i], 6));
  t.tempered.forEach((p, i) => expect(p).toBeCloseTo(P2[i], 6));
  expect(t.final[3]).toBeCloseTo(P2[3] / (P2[3] + P2[0]), 6);

  const g = nextTokenDistribution(LOGITS, { strategy: 'greedy' });
  expect([...g.final]).toEqual([0, 0, 0, 1]);
  expect(STRATEGIES).toEqual(['greedy', 'temperature', 'top-k', 'top-p']);
  expect(() => nextTokenDistribution(LOGITS, { strategy: 'beam' })).toThrow('strategy: expected one of greedy, temperature, top-k, top-p, got "beam"');
});

test('drawToken walks the cumulative probabilities in id order; zero-probability tokens are never drawn', () => {
  const final = Float64Array.from([0.25, 0, 0.5, 0.25]);
  expect([0, 0.2499, 0.25, 0.74, 0.75, 0.9999].map((u) => drawToken(final, u))).toEqual([0, 0, 2, 2, 3, 3]);
  expect(drawToken(final, 1)).toBe(3); // rounding beyond the total: the last possible token
  expect(drawToken(Float64Array.from([0, 1, 0]), 0.999)).toBe(1);
});

test('a seeded generator repeats its sequence; another seed gives another', () => {
  const a = createRng(42);
  const b = createRng(42);
  const c = createRng(43);
  const seqA = [...Array(100)].map(a);
  expect([...Array(100)].map(b)).toEqual(seqA);
  expect([...Array(100)].map(c)).not.toEqual(seqA);
  expect(seqA.every((v) => v >= 0 && v < 1)).toBe(true);
  // Roughly uniform: the mean of 10 000 draws is near 1/2.
  const d = createRng(7);
  let sum = 0;
  for (let i = 0; i < 10000; i++) sum += d();
  expect(sum / 10000).toBeCloseTo(0.5, 1);
  expect(() => createRng(1.5)).toThrow('seed: expected an integer, got 1.5');
});

test('chooseToken: greedy takes the first maximum and draws no random number; sampling follows the seed', () => {
  const never = () => {
    throw new Error('greedy must not draw');
  };
  expect(chooseToken(Float32Array.from([1, 5, 5, 2]), { strategy: 'greedy' }, never).id).toBe(1);
  expect(argmaxOf([3, 1, 3])).toBe(0);
  const draw = (seed) => {
    const rng = createRng(seed);
    return [...Array(50)].map(() => chooseToken(LOGITS, { strategy: 'top-k', topK: 3, temperature: 1 }, rng).id);
  };
  expect(draw(5)).toEqual(draw(5));
  expect(new Set(draw(5))).toEqual(new Set([0, 1, 3])); // never the filtered-out token 2
  expect(() => chooseToken(LOGITS, { strategy: 'temperature' })).toThrow('rng: expected a function');
  // Sampled frequencies follow the final distribution.
  const rng = createRng(11);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[chooseToken(LOGITS, { strategy: 'temperature', temperature: 1 }, rng).id]++;
  counts.forEach((n, i) => expect(n / 20000).toBeCloseTo(P1[i], 1));
});

test('candidateRows: the top tokens after temperature, plus the chosen one when it ranks lower', () => {
  const vocabulary = ['a', 'b', 'c', 'd'];
  const d = nextTokenDistribution(LOGITS, { strategy: 'top-k', topK: 2, temperature: 1 });
  const rows = candidateRows(d, vocabulary, 3, 2);
  expect(rows.map((r) => [r.token, r.rank, r.kept, r.chosen])).toEqual([['d', 1, true, true], ['a', 2, true, false]]);
  const withLow = candidateRows(d, vocabulary, 2, 2);
  expect(withLow.map((r) => r.token)).toEqual(['d', 'a', 'c']);
  expect(withLow[2]).toMatchObject({ rank: 4, kept: false, chosen: true, final: 0 });
});

test('topRanked, rankOf and topPMask rank without sorting the whole vocabulary, as rankByProbability does (ties by lower id)', () => {
  const rng = createRng(7);
  for (let trial = 0; trial < 200; trial++) {
    const V = 1 + Math.floor(rng() * 300);
    // Many exact ties: a third of the logits are small integers.
    const logits = Float32Array.from({ length: V }, () => (rng() < 0.3 ? Math.round(rng() * 3) : rng() * 6 - 3));
    const probs = softmax(logits, 0.5 + rng());
    const full = rankByProbability(probs);
    for (const k of [1, 2, 5, 8, 64, 65, 300]) expect(topRanked(probs, k)).toEqual(full.slice(0, k));
    for (const id of [0, V - 1, Math.floor(V / 2)]) expect(rankOf(probs, id)).toBe(full.indexOf(id) + 1);
    for (const p of [0.01, 0.3, 0.9, 0.999, 1]) {
      const keep = new Uint8Array(V);
      let total = 0;
      for (const id of full) {
        keep[id] = 1;
        total += probs[id];
        if (total >= p - 1e-12) break;
      }
      expect(topPMask(probs, p)).toEqual(keep);
    }
  }
});
