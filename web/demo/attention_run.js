// What the views draw: one text (tokens) with every head's attention weights,
// either fixed (one forward pass) or growing token by token (generation
// through the decoder's KV caches). Views read rows and never copy the whole
// picture unless they need it (an export, a full redraw).
//
// run.length             tokens so far (grows while generating)
// run.tokens             string[], same length; run.promptLength of them were typed
// run.capacity           the most tokens it can reach (the decoder's maxLength; T when fixed)
// run.row(l, h, q)       weights of query q: keys 0..q when causal (a view; do not write), else 0..T−1
// run.averageRow(l, q)   the mean over heads of that row (a new array)
// run.matrix(l, h)       the dense T × T weights (a copy, cached until the run grows)
// run.averageMatrix(l), run.layer(l) ([h] → matrix), run.attention ([l][h] → matrix)
// run.mechanism(l, h, { query })  the steps inside one head (computed on demand; query: one token's row)
// Pure JavaScript: importable in Node.

function makeRun({ tokens, promptLength, nLayers, nHeads, causal, row, mechanism, growing, capacity }) {
  let cache = new Map();
  let cachedLength = tokens.length;
  const fresh = () => {
    if (cachedLength !== tokens.length) {
      cache = new Map();
      cachedLength = tokens.length;
    }
  };
  const run = {
    tokens,
    promptLength,
    nLayers,
    nHeads,
    causal,
    growing,
    /** The most tokens this run can reach (views size their buffers by it). */
    capacity,
    get length() {
      return tokens.length;
    },
    row,
    averageRow(l, q) {
      const first = row(l, 0, q);
      const out = new Float32Array(first.length);
      for (let h = 0; h < nHeads; h++) {
        const r = row(l, h, q);
        for (let k = 0; k < out.length; k++) out[k] += r[k];
      }
      for (let k = 0; k < out.length; k++) out[k] /= nHeads;
      return out;
    },
    matrix(l, h) {
      fresh();
      const key = `${l}:${h}`;
      if (!cache.has(key)) {
        const T = tokens.length;
        const m = new Float32Array(T * T);
        for (let q = 0; q < T; q++) m.set(row(l, h, q), q * T);
        cache.set(key, m);
      }
      return cache.get(key);
    },
    averageMatrix(l) {
      fresh();
      const key = `${l}:avg`;
      if (!cache.has(key)) {
        const T = tokens.length;
        const m = new Float32Array(T * T);
        for (let q = 0; q < T; q++) m.set(run.averageRow(l, q), q * T);
        cache.set(key, m);
      }
      return cache.get(key);
    },
    layer: (l) => [...Array(nHeads)].map((_, h) => run.matrix(l, h)),
    get attention() {
      return [...Array(nLayers)].map((_, l) => run.layer(l));
    },
    /** The weight of (query, key) in one head, or the average over heads with head = null. */
    weightAt(l, h, q, k) {
      if (q < 0 || q >= tokens.length || k < 0 || k >= tokens.length) return NaN;
      const r = h === null ? run.averageRow(l, q) : row(l, h, q);
      return k < r.length ? r[k] : 0;
    },
    mechanism,
  };
  return run;
}

/** A fixed run from one forward pass: result = model.run(ids, { causal }) (attention [l][h] → T·T). */
export function runFromForward(result, { causal = true, promptLength = result.tokens.length } = {}) {
  const T = result.tokens.length;
  const attention = result.attention;
  return makeRun({
    tokens: result.tokens.slice(),
    promptLength,
    nLayers: attention.length,
    nHeads: attention[0].length,
    causal,
    growing: false,
    capacity: T,
    row: (l, h, q) => attention[l][h].subarray(q * T, causal ? q * T + q + 1 : (q + 1) * T),
    mechanism: result.mechanism,
  });
}

/**
 * A growing run on a decoder (model.createDecoder()): call grow() after each
 * decoder.append() so the run's tokens follow the decoder's.
 */
export function runFromDecoder(decoder, { vocabulary, nLayers, nHeads, promptLength = decoder.length }) {
  const tokens = decoder.tokens;
  const run = makeRun({
    tokens,
    promptLength,
    nLayers,
    nHeads,
    causal: true,
    growing: true,
    capacity: decoder.maxLength,
    row: (l, h, q) => decoder.attentionRow(l, h, q),
    mechanism: (l, h, options) => decoder.mechanism(l, h, options),
  });
  run.grow = () => {
    const ids = decoder.ids;
    for (let i = tokens.length; i < ids.length; i++) tokens.push(vocabulary[ids[i]]);
    return tokens.length;
  };
  return run;
}
