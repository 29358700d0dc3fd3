// Choosing the next token from the model's logits: greedy, or sampling with
// a temperature, optionally restricted to the top k tokens or to the top-p
// "nucleus" (Holtzman et al. 2019). Pure JavaScript, no DOM, no wasm; a seed
// makes a run repeatable.
//
// The order is Hugging Face's (temperature, then top-k, then top-p):
//   raw       = softmax(logits)                    what the model says
//   tempered  = softmax(logits / temperature)      > 1 flattens, < 1 sharpens
//   kept      = top-k or top-p of `tempered`       the others get probability 0
//   final     = tempered · kept / Σ(tempered · kept)
// and the token is drawn from `final`.
//
// Ranking, wherever "the top" is needed, is by probability, then by lower id
// (so equal probabilities are ranked the same way every time):
//   top-k keeps exactly k tokens (min(k, V));
//   top-p keeps the shortest ranked prefix whose probabilities add up to ≥ p
//   (the token that crosses p is kept; at least one token always is).

export const STRATEGIES = Object.freeze(['greedy', 'temperature', 'top-k', 'top-p']);

/** A seeded generator of floats in [0, 1): mulberry32 (32-bit state, full period). */
export function createRng(seed) {
  if (!Number.isInteger(seed)) throw new TypeError(`seed: expected an integer, got ${seed}`);
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** softmax(logits / temperature) in double precision. */
export function softmax(logits, temperature = 1) {
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new RangeError(`temperature: expected a finite number > 0, got ${temperature}`);
  }
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp((logits[i] - max) / temperature);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** Token ids by probability, highest first; equal probabilities by lower id. */
export function rankByProbability(probs) {
  return Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
}

// The same order as rankByProbability, for the first ids only: an opened model's vocabulary
// (50,257 tokens for GPT-2) is too large to sort on every token, and a ranking is only read
// from its top.

/** The k most probable ids in rankByProbability's order, without sorting the rest. */
export function topRanked(probs, k) {
  const n = Math.min(k, probs.length);
  if (n <= 0) return [];
  if (n > 64) return rankByProbability(probs).slice(0, n);
  const best = []; // sorted, at most n
  for (let id = 0; id < probs.length; id++) {
    const v = probs[id];
    if (best.length === n && !(v > probs[best[n - 1]])) continue; // ties keep the lower id already in
    let i = best.length === n ? n - 1 : best.length;
    while (i > 0 && v > probs[best[i - 1]]) i--;
    best.splice(i, 0, id);
    if (best.length > n) best.pop();
  }
  return best;
}

/** 1-based rank of `id` in rankByProbability's order. */
export function rankOf(probs, id) {
  const v = probs[id];
  let above = 0;
  for (let j = 0; j < probs.length; j++) if (probs[j] > v || (probs[j] === v && j < id)) above++;
  return above + 1;
}

/** Keep-mask (1 = kept) of the k most probable tokens. */
export function topKMask(probs, k) {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`topK: expected an integer >= 1, got ${k}`);
  const keep = new Uint8Array(probs.length);
  for (const id of topRanked(probs, k)) keep[id] = 1;
  return keep;
}

/** Keep-mask of the nucleus: the shortest ranked prefix with total probability ≥ p. */
export function topPMask(probs, p) {
  if (!(p > 0 && p <= 1)) throw new RangeError(`topP: expected a number in (0, 1], got ${p}`);
  const keep = new Uint8Array(probs.length);
  let total = 0;
  for (const id of nucleusCandidates(probs, p)) {
    keep[id] = 1;
    total += probs[id];
    // A tolerance for the rounding of the sum: p = 1 must not need more than every token.
    if (total >= p - 1e-12) break;
  }
  return keep;
}

// The ranked ids the nucleus is a prefix of: those at or above a threshold whose total reaches p
// (every other id is less probable than each of them, so the order is rankByProbability's), found
// by lowering the threshold tenfold until enough mass is above it; every id when p needs them all.
function nucleusCandidates(probs, p) {
  let max = 0;
  for (const v of probs) if (v > max) max = v;
  for (let threshold = max / 10; threshold > 1e-300; threshold /= 10) {
    let mass = 0;
    const ids = [];
    for (let id = 0; id < probs.length; id++) {
      if (probs[id] >= threshold) {
        ids.push(id);
        mass += probs[id];
      }
    }
    if (mass >= p || ids.length === probs.length) return ids.sort((a, b) => probs[b] - probs[a] || a - b);
  }
  return rankByProbability(probs);
}

/** Index of the largest value; the first of equal maxima (torch.argmax). */
export function argmaxOf(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * options: { strategy: 'greedy' | 'temperature' | 'top-k' | 'top-p',
 * temperature (sampling strategies; default 1), topK (default 40), topP (default 0.9) }.
 * Returns { strategy, raw, tempered, kept: Uint8Array, final } (Float64Arrays of V).
 * Greedy keeps only the argmax: final is one-hot there.
 */
export function nextTokenDistribution(logits, options = {}) {
  const { strategy = 'greedy', temperature = 1, topK = 40, topP = 0.9 } = options;
  if (!STRATEGIES.includes(strategy)) throw new RangeError(`strategy: expected one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}`);
  const raw = softmax(logits, 1);
  const tempered = strategy === 'greedy' ? raw : softmax(logits, temperature);
  let kept;
  if (strategy === 'greedy') {
    kept = new Uint8Array(logits.length);
    kept[argmaxOf(logits)] = 1;
  } else if (strategy === 'top-k') {
    kept = topKMask(tempered, topK);
  } else if (strategy === 'top-p') {
    kept = topPMask(tempered, topP);
  } else {
    kept = new Uint8Array(logits.length).fill(1);
  }
  const final = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < final.length; i++) if (kept[i]) sum += final[i] = tempered[i];
  for (let i = 0; i < final.length; i++) final[i] /= sum;
  return { strategy, raw, tempered, kept, final };
}

/**
 * Draws from a distribution with one rng() value: the first id (in id order)
 * at which the running sum of `final` passes u. Rounding can leave u beyond
 * the total; then the last token with probability > 0 is taken.
 */
export function drawToken(final, u) {
  let total = 0;
  let last = -1;
  for (let i = 0; i < final.length; i++) {
    if (final[i] <= 0) continue;
    total += final[i];
    last = i;
    if (u < total) return i;
  }
  return last;
}

/**
 * The next token. rng is needed for every strategy but greedy (it is not
 * called then, so a greedy run leaves a shared generator where it was).
 * Returns { id, distribution }.
 */
export function chooseToken(logits, options = {}, rng = null) {
  const distribution = nextTokenDistribution(logits, options);
  if (distribution.strategy === 'greedy') return { id: argmaxOf(logits), distribution };
  if (typeof rng !== 'function') throw new TypeError('rng: expected a function returning [0, 1) (createRng(seed)) for sampling');
  return { id: drawToken(distribution.final, rng()), distribution };
}

/**
 * The panel's rows: the `count` most probable tokens before any filter
 * (ranked by `tempered`, i.e. after the temperature), plus the chosen token
 * if it is not among them. Each row: { id, token, raw, tempered, final, kept, chosen }.
 */
export function candidateRows(distribution, vocabulary, chosenId, count = 8) {
  const ids = topRanked(distribution.tempered, count);
  const rankOfId = new Map(ids.map((id, i) => [id, i + 1]));
  if (!ids.includes(chosenId)) {
    ids.push(chosenId);
    rankOfId.set(chosenId, rankOf(distribution.tempered, chosenId));
  }
  const { raw, tempered, final, kept } = distribution;
  return ids.map((id) => ({
    id,
    token: vocabulary[id],
    raw: raw[id],
    tempered: tempered[id],
    final: final[id],
    kept: kept[id] === 1,
    chosen: id === chosenId,
    rank: rankOfId.get(id),
  }));
}

/** How many tokens a distribution keeps, and the probability mass they held before renormalising. */
export function keptSummary(distribution) {
  let count = 0;
  let mass = 0;
  for (let i = 0; i < distribution.kept.length; i++) {
    if (distribution.kept[i]) {
      count++;
      mass += distribution.tempered[i];
    }
  }
  return { count, mass };
}
