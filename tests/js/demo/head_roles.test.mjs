// head_roles: scores of hand-built attention patterns whose answers are known
// (a pure previous-token head scores 1 as previous-token and 0 elsewhere, a
// uniform head has entropy 1, ...), the probe layout, badges and sorting.
import {
  BADGE_RULES, ROLES, createHeadAccumulator, headBadges, headRoleScores, inductionScores,
  pairScore, repeatedProbe, roleRows, rowEntropy, sortRoleRows,
} from '../../../web/demo/head_roles.js';

const T = 12;
// A causal T × T pattern from weightOf(q) → Float32Array(q + 1) (each row sums to 1).
function pattern(weightOf, n = T) {
  const w = new Float32Array(n * n);
  for (let q = 0; q < n; q++) w.set(weightOf(q), q * n);
  return w;
}
const oneHot = (q, k) => Float32Array.from({ length: q + 1 }, (_, j) => (j === k ? 1 : 0));
const uniformRow = (q) => Float32Array.from({ length: q + 1 }, () => 1 / (q + 1));
// What uniform attention gives: the mean over q = 1..T−1 of 1/(q + 1).
const UNIFORM = [...Array(T - 1)].reduce((s, _, i) => s + 1 / (i + 2), 0) / (T - 1);

test.each([
  ['previous token', (q) => oneHot(q, Math.max(0, q - 1)), { previous: 1, sink: 1 / 11, self: 0, entropy: 0 }],
  ['first token (sink)', (q) => oneHot(q, 0), { previous: 1 / 11, sink: 1, self: 0, entropy: 0 }],
  ['self', (q) => oneHot(q, q), { previous: 0, sink: 0, self: 1, entropy: 0 }],
  ['uniform', uniformRow, { previous: UNIFORM, sink: UNIFORM, self: UNIFORM, entropy: 1 }],
])('a %s head scores as expected', (_, rowOf, expected) => {
  // (At q = 1 the previous token is the first token, so each scores 1/11 on the other.)
  const s = headRoleScores(pattern(rowOf), T);
  for (const [key, value] of Object.entries(expected)) expect(s[key]).toBeCloseTo(value, 6);
  expect(s.rows).toBe(T - 1);
  expect(s.uniform.previous).toBeCloseTo(UNIFORM, 12);
});

test('half on the previous token, half on itself: 0.5 each, entropy ln 2 / ln(q + 1) on average', () => {
  const rowOf = (q) => {
    const r = new Float32Array(q + 1);
    r[q - 1] += 0.5;
    r[q] += 0.5;
    return r;
  };
  const w = pattern((q) => (q === 0 ? oneHot(0, 0) : rowOf(q)));
  const s = headRoleScores(w, T);
  expect(s.previous).toBeCloseTo(0.5, 6);
  expect(s.self).toBeCloseTo(0.5, 6);
  expect(s.sink).toBeCloseTo(0.5 / 11, 6); // only at q = 1, where the previous token is the first

  const entropy = [...Array(T - 1)].reduce((sum, _, i) => sum + Math.log(2) / Math.log(i + 2), 0) / (T - 1);
  expect(s.entropy).toBeCloseTo(entropy, 6);
  expect(rowEntropy(Float32Array.from([0.5, 0.5]), 1)).toBeCloseTo(1, 12);
  expect(rowEntropy(Float32Array.from([0, 0, 1]), 2)).toBe(0);
});

test('the accumulator, fed one row at a time, equals the scores of the whole matrix', () => {
  let seed = 3;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const rowOf = (q) => {
    const r = Float32Array.from({ length: q + 1 }, () => random() + 0.01);
    const sum = r.reduce((a, b) => a + b, 0);
    return r.map((v) => v / sum);
  };
  const w = pattern(rowOf, 30);
  const acc = createHeadAccumulator();
  for (let q = 0; q < 30; q++) acc.add(w.subarray(q * 30, q * 30 + q + 1), q);
  expect(acc.scores()).toEqual(headRoleScores(w, 30));
  expect(acc.rows).toBe(29);
  expect(Number.isNaN(createHeadAccumulator().scores().previous)).toBe(true);
});

test('repeatedProbe: prefix, sequence, middle, sequence; pairs from each repeat to the token after its first copy', () => {
  const { ids, pairs } = repeatedProbe([10, 11, 12], { prefix: [0, 1], middle: [2] });
  expect(ids).toEqual([0, 1, 10, 11, 12, 2, 10, 11, 12]);
  // 10 at 6 → 11 at 3; 11 at 7 → 12 at 4; 12 at 8 → what followed 12 the first time: 2 at 5.
  expect(pairs).toEqual([[6, 3], [7, 4], [8, 5]]);
  for (const [q, k] of pairs) expect(ids[k - 1]).toBe(ids[q]);
  expect(() => repeatedProbe([1])).toThrow('sequence: expected at least 2 tokens, got 1');
});

test('an ideal induction head scores 1 on the probe, a previous-token head 0, and uniform attention its baseline', () => {
  const probe = repeatedProbe([5, 6, 7, 8, 9], { prefix: [0] });
  const n = probe.ids.length;
  const target = new Map(probe.pairs);
  const induction = pattern((q) => oneHot(q, target.get(q) ?? q), n);
  const previous = pattern((q) => oneHot(q, Math.max(0, q - 1)), n);
  const uniform = pattern(uniformRow, n);
  const at = (w) => (q, k) => w[q * n + k];
  expect(pairScore(at(induction), probe.pairs).score).toBe(1);
  expect(pairScore(at(previous), probe.pairs).score).toBe(0);
  const u = pairScore(at(uniform), probe.pairs);
  expect(u.score).toBeCloseTo(u.uniform, 6);
  expect(u.uniform).toBeCloseTo([6, 7, 8, 9, 10].reduce((s, q) => s + 1 / (q + 1), 0) / 5, 12);
  expect(() => pairScore(at(uniform), [[2, 3]])).toThrow('pairs: key 3 is after query 2');
  // Averaged over probes and laid out [layer][head] like the model's attention.
  const scores = inductionScores([probe, probe], () => [[induction, previous]]);
  expect(scores[0].map((s) => s.score)).toEqual([1, 0]);
});

test('badges: a score needs both the minimum and the lift over uniform; entropy adds sharp or diffuse', () => {
  const uniform = { previous: 0.05, sink: 0.05, self: 0.05 };
  const badges = (s) => headBadges({ previous: 0, sink: 0, self: 0, entropy: 0.7, uniform, ...s }).map((b) => b.text);
  expect(badges({ previous: 0.6 })).toEqual(['prev']);
  expect(badges({ previous: 0.14 })).toEqual([]); // 2.8× uniform but under 0.2
  expect(badges({ self: 0.25, uniform: { ...uniform, self: 0.1 } })).toEqual([]); // 0.25 but only 2.5×
  expect(badges({ sink: 0.9, entropy: 0.2 })).toEqual(['sink', 'sharp']);
  expect(badges({ entropy: 0.95 })).toEqual(['diffuse']);
  expect(badges({ induction: { score: 0.3, uniform: 0.02 }, self: 0.3 })).toEqual(['induction', 'self']); // by lift: 15× before 6×
  expect(badges({ induction: { score: 0.1, uniform: 0.02 } })).toEqual([]);
  expect(BADGE_RULES.induction.min).toBe(0.15);
});

test('roleRows and sortRoleRows: one row per head, sortable by any score with NaN last', () => {
  const s = (previous) => ({ previous, sink: 0.1, self: 0.1, entropy: 0.5, uniform: { previous: 0.1, sink: 0.1, self: 0.1, entropy: 1 } });
  const rows = roleRows([[s(0.3), s(0.9)], [s(0.1), s(0.5)]], [[{ score: 0.01, uniform: 0.02 }, { score: 0.02, uniform: 0.02 }], [{ score: 0.4, uniform: 0.02 }, null]]);
  expect(rows.map((r) => r.name)).toEqual(['L0H0', 'L0H1', 'L1H0', 'L1H1']);
  expect(sortRoleRows(rows, 'previous').map((r) => r.name)).toEqual(['L0H1', 'L1H1', 'L0H0', 'L1H0']);
  expect(sortRoleRows(rows, 'previous', false).map((r) => r.name)).toEqual(['L1H0', 'L0H0', 'L1H1', 'L0H1']);
  expect(sortRoleRows(rows, 'induction').map((r) => r.name)).toEqual(['L1H0', 'L0H1', 'L0H0', 'L1H1']); // NaN (not computed) last
  expect(sortRoleRows(rows, 'name', false).map((r) => r.name)).toEqual(['L0H0', 'L0H1', 'L1H0', 'L1H1']);
  expect(rows[2].badges.map((b) => b.text)).toEqual(['induction', 'sharp']); // entropy 0.5 ≤ 0.5
  expect(ROLES.map((r) => r.id)).toEqual(['previous', 'sink', 'self', 'induction', 'inductionRandom', 'entropy']);
  for (const r of ROLES) expect(r.explain.length).toBeGreaterThan(20);
});
