// Head roles: for each layer × head, how much it acts as a previous-token
// head, an attention sink, a self head or an induction head, and how sharp
// its attention is. Pure arithmetic on attention weights (rows of a causal
// head: row q holds the weights of keys 0..q), importable in Node; the page
// feeds it the library's weights.
//
// previous   mean over queries q ≥ 1 of w[q][q − 1]
// sink       mean over q ≥ 1 of w[q][0]  (position 0, <bos>: Xiao et al. 2023, StreamingLLM)
// self       mean over q ≥ 1 of w[q][q]
// entropy    mean over q ≥ 1 of H(w[q]) / ln(q + 1): 0 = all weight on one key, 1 = spread evenly
// induction  on a probe that repeats a random sequence (Olsson et al. 2022): the mean weight
//            from each token of the second copy to the token after its earlier copy
// Query 0 is left out everywhere: it has one key, so every one of these is trivially 1 (or 0) there.
// Each score comes with what uniform causal attention (1/(q+1) per key) would give on the same positions.

export const ROLES = Object.freeze([
  { id: 'previous', label: 'previous token', explain: 'weight on the token just before (i − 1): builds "what came before me" into each position' },
  { id: 'sink', label: 'first token (sink)', explain: 'weight on position 0 (<bos>): a place to park attention when nothing else matters (an attention sink)' },
  { id: 'self', label: 'self', explain: 'weight on the token itself (i)' },
  { id: 'induction', label: 'induction', explain: 'on a list said twice: weight from each word of the repeat on the word that followed it the first time, i.e. on the word to copy next' },
  { id: 'inductionRandom', label: 'induction, bare', explain: 'the same on a bare random word sequence repeated twice (no story around it)' },
  { id: 'entropy', label: 'entropy', explain: 'how spread out each row is: 0 = all weight on one token (sharp), 1 = equal on all (diffuse)' },
]);

// A badge needs the score to be large and well above what uniform attention gives.
export const BADGE_RULES = Object.freeze({
  previous: { min: 0.2, lift: 3, text: 'prev' },
  sink: { min: 0.2, lift: 3, text: 'sink' },
  self: { min: 0.2, lift: 3, text: 'self' },
  induction: { min: 0.15, lift: 3, text: 'induction' },
  sharp: { max: 0.5, text: 'sharp' },
  diffuse: { min: 0.9, text: 'diffuse' },
});

/** Normalised entropy of one row of q + 1 weights (q ≥ 1). */
export function rowEntropy(row, q) {
  let h = 0;
  for (let k = 0; k <= q; k++) {
    const w = row[k];
    if (w > 0) h -= w * Math.log(w);
  }
  return h / Math.log(q + 1);
}

/** The four per-row quantities of query q (q ≥ 1); row[k] is the weight of key k. */
export function rowStats(row, q) {
  return { previous: row[q - 1], sink: row[0], self: row[q], entropy: rowEntropy(row, q) };
}

/**
 * Running means over the rows of one head, filled one row at a time (so a
 * growing text costs one row per token). add(row, q) ignores q = 0.
 */
export function createHeadAccumulator() {
  const sums = { previous: 0, sink: 0, self: 0, entropy: 0 };
  const base = { previous: 0, sink: 0, self: 0 };
  let rows = 0;
  return {
    add(row, q) {
      if (q < 1) return;
      const s = rowStats(row, q);
      for (const key of Object.keys(sums)) sums[key] += s[key];
      const uniform = 1 / (q + 1);
      base.previous += uniform;
      base.sink += uniform;
      base.self += uniform;
      rows++;
    },
    get rows() {
      return rows;
    },
    /** { previous, sink, self, entropy } means, and `uniform`: the same for uniform attention; NaN with no rows. */
    scores() {
      const mean = (v) => (rows ? v / rows : NaN);
      return {
        previous: mean(sums.previous),
        sink: mean(sums.sink),
        self: mean(sums.self),
        entropy: mean(sums.entropy),
        uniform: { previous: mean(base.previous), sink: mean(base.sink), self: mean(base.self), entropy: rows ? 1 : NaN },
        rows,
      };
    },
  };
}

/** Scores of one head from a dense T × T causal weight matrix. */
export function headRoleScores(weights, T) {
  const acc = createHeadAccumulator();
  for (let q = 1; q < T; q++) acc.add(weights.subarray(q * T, q * T + q + 1), q);
  return acc.scores();
}

/**
 * A probe: prefix, the random sequence, middle, the sequence again. Returns
 * { ids, pairs: [[query, key]] } with one pair per token of the second copy:
 * the key is the position right after that token's earlier copy.
 */
export function repeatedProbe(sequence, { prefix = [], middle = [] } = {}) {
  if (sequence.length < 2) throw new RangeError(`sequence: expected at least 2 tokens, got ${sequence.length}`);
  const first = prefix.length;
  const second = first + sequence.length + middle.length;
  const ids = [...prefix, ...sequence, ...middle, ...sequence];
  const pairs = sequence.map((_, j) => [second + j, first + j + 1]);
  return { ids, pairs };
}

/** Mean weight over (query, key) pairs; weightAt(q, k). Also what uniform causal attention gives. */
export function pairScore(weightAt, pairs) {
  let sum = 0;
  let uniform = 0;
  for (const [q, k] of pairs) {
    if (k > q) throw new RangeError(`pairs: key ${k} is after query ${q}, which a causal head cannot see`);
    sum += weightAt(q, k);
    uniform += 1 / (q + 1);
  }
  return { score: sum / pairs.length, uniform: uniform / pairs.length };
}

/**
 * Induction scores of every head, averaged over several probes.
 * runProbe(ids) → attention [layer][head] → Float32Array(T·T) (a model run).
 * Returns [layer][head] → { score, uniform }.
 */
export function inductionScores(probes, runProbe) {
  let total = null;
  for (const probe of probes) {
    const T = probe.ids.length;
    const attention = runProbe(probe.ids);
    const scores = attention.map((layer) => layer.map((w) => pairScore((q, k) => w[q * T + k], probe.pairs)));
    total = total
      ? total.map((layer, l) => layer.map((s, h) => ({ score: s.score + scores[l][h].score, uniform: s.uniform + scores[l][h].uniform })))
      : scores;
  }
  return total.map((layer) => layer.map((s) => ({ score: s.score / probes.length, uniform: s.uniform / probes.length })));
}

/**
 * The badges of one head: roles whose score passes BADGE_RULES, strongest
 * lift first, then "sharp" or "diffuse". scores: { previous, sink, self,
 * entropy, uniform: {...}, induction?: { score, uniform } }.
 */
export function headBadges(scores, rules = BADGE_RULES) {
  const badges = [];
  const check = (role, score, uniform) => {
    const rule = rules[role];
    if (Number.isFinite(score) && score >= rule.min && score >= rule.lift * uniform) {
      badges.push({ role, text: rule.text, score, lift: score / uniform });
    }
  };
  for (const role of ['previous', 'sink', 'self']) check(role, scores[role], scores.uniform?.[role]);
  if (scores.induction) check('induction', scores.induction.score, scores.induction.uniform);
  badges.sort((a, b) => b.lift - a.lift);
  if (scores.entropy <= rules.sharp.max) badges.push({ role: 'entropy', text: rules.sharp.text, score: scores.entropy });
  else if (scores.entropy >= rules.diffuse.min) badges.push({ role: 'entropy', text: rules.diffuse.text, score: scores.entropy });
  return badges;
}

/**
 * Table rows, one per head: { layer, head, name: 'L1H2', previous, sink,
 * self, entropy, induction, inductionRandom, uniform, badges }.
 * textScores[l][h]: createHeadAccumulator().scores(); induction and
 * inductionRandom: [l][h] → { score, uniform } (or null when not computed).
 */
export function roleRows(textScores, induction = null, inductionRandom = null) {
  const rows = [];
  textScores.forEach((layer, l) =>
    layer.forEach((s, h) => {
      const ind = induction?.[l]?.[h] ?? null;
      const scores = { ...s, induction: ind };
      rows.push({
        layer: l,
        head: h,
        name: `L${l}H${h}`,
        previous: s.previous,
        sink: s.sink,
        self: s.self,
        entropy: s.entropy,
        induction: ind ? ind.score : NaN,
        inductionRandom: inductionRandom?.[l]?.[h]?.score ?? NaN,
        uniform: { ...s.uniform, induction: ind ? ind.uniform : NaN, inductionRandom: inductionRandom?.[l]?.[h]?.uniform ?? NaN },
        badges: headBadges(scores),
      });
    }),
  );
  return rows;
}

/** Rows sorted by one column (NaN last), ties by layer then head. */
export function sortRoleRows(rows, key, descending = true) {
  const value = (r) => (key === 'name' ? r.layer * 1000 + r.head : r[key]);
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    const na = Number.isNaN(va);
    const nb = Number.isNaN(vb);
    if (na !== nb) return na ? 1 : -1;
    const d = na ? 0 : descending ? vb - va : va - vb;
    return d || a.layer - b.layer || a.head - b.head;
  });
}
