// A stand-in for web/demo/model/tiny_gpt.mjs's run(): the same shapes and the same
// arithmetic inside one head (scores = q·kᵀ/√D with −∞ above the diagonal
// when causal, softmax rows, weights·V), from seeded random Q/K/V, so the
// renderer tests need neither the wasm module nor trained weights.

export function seededRandom(seed = 1) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

const WORDS = ['<bos>', 'the', 'cat', 'sat', 'on', 'the', 'mat', '.', 'she', 'was', 'happy'];

export function fakeTokens(T) {
  return [...Array(T)].map((_, i) => WORDS[i % WORDS.length]);
}

/** Row-softmax of a T × T score matrix; masked (−∞) entries get 0. */
export function softmaxRows(scores, T) {
  const out = new Float32Array(T * T);
  for (let i = 0; i < T; i++) {
    let max = -Infinity;
    for (let j = 0; j < T; j++) max = Math.max(max, scores[i * T + j]);
    let sum = 0;
    for (let j = 0; j < T; j++) sum += out[i * T + j] = scores[i * T + j] === -Infinity ? 0 : Math.exp(scores[i * T + j] - max);
    for (let j = 0; j < T; j++) out[i * T + j] /= sum;
  }
  return out;
}

export function fakeRun({ T = 7, nLayers = 2, nHeads = 4, dModel = 64, causal = true, seed = 7 } = {}) {
  const rand = seededRandom(seed);
  const D = dModel / nHeads;
  const fill = (n, scale = 2) => Float32Array.from({ length: n }, () => rand() * scale);
  const heads = [...Array(nLayers)].map(() =>
    [...Array(nHeads)].map(() => {
      const q = fill(T * D);
      const k = fill(T * D);
      const v = fill(T * D);
      const scores = new Float32Array(T * T);
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += q[i * D + d] * k[j * D + d];
          scores[i * T + j] = causal && j > i ? -Infinity : s / Math.sqrt(D);
        }
      }
      const weights = softmaxRows(scores, T);
      const headOutput = new Float32Array(T * D);
      for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) for (let d = 0; d < D; d++) headOutput[i * D + d] += weights[i * T + j] * v[j * D + d];
      return { q, k, v, scores, weights, headOutput };
    }),
  );
  const input = heads.map(() => fill(T * dModel));
  const matrix = (data, rows, cols, label) => ({ data, shape: [rows, cols], label });
  return {
    tokens: fakeTokens(T),
    attention: heads.map((layer) => layer.map((h) => h.weights)),
    mechanism(layer, head) {
      const h = heads[layer][head];
      const concat = new Float32Array(T * dModel);
      heads[layer].forEach((other, o) => {
        for (let i = 0; i < T; i++) concat.set(other.headOutput.subarray(i * D, (i + 1) * D), i * dModel + o * D);
      });
      return {
        input: matrix(input[layer], T, dModel, 'X (LayerNorm output)'),
        q: matrix(h.q, T, D, 'Q = X·W_Qᵀ + b'),
        k: matrix(h.k, T, D, 'K = X·W_Kᵀ + b'),
        v: matrix(h.v, T, D, 'V = X·W_Vᵀ + b'),
        scores: matrix(h.scores, T, T, causal ? 'Q·Kᵀ/√d + causal mask' : 'Q·Kᵀ/√d'),
        weights: matrix(h.weights, T, T, 'softmax(scores)'),
        headOutput: matrix(h.headOutput, T, D, 'weights·V'),
        concat: matrix(concat, T, dModel, 'concat(heads)'),
        output: matrix(fill(T * dModel), T, dModel, 'concat·W_Oᵀ + b'),
      };
    },
    topNext: (k) => [{ token: 'the', prob: 0.5 }, { token: 'a', prob: 0.25 }].slice(0, k),
  };
}
