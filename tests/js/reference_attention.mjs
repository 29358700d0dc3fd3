// A float64 JavaScript reference of softmax(Q Kᵀ · scale + mask) V, written
// separately from the library, and seeded inputs for it.
// SDPA shapes: query (B, H, Lq, D), key (B, H, Lk, D), value (B, H, Lk, Dv).

// mulberry32: a tiny seeded PRNG so every run sees the same inputs.
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export const randomTensor = (rand, shape, amplitude = 1) => ({
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (2 * rand() - 1) * amplitude),
  shape,
});
// Float64 reference. maskAt(b, h, i, j) returns the additive bias (-Infinity = masked).
export function referenceAttention(q, k, v, maskAt = () => 0, scale = 1 / Math.sqrt(q.shape[3])) {
  const [B, H, Lq, D] = q.shape;
  const [Lk, Dv] = [k.shape[2], v.shape[3]];
  const output = new Float64Array(B * H * Lq * Dv);
  const weights = new Float64Array(B * H * Lq * Lk);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < Lq; i++) {
        const scores = new Float64Array(Lk);
        for (let j = 0; j < Lk; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[(bh * Lq + i) * D + d] * k.data[(bh * Lk + j) * D + d];
          scores[j] = dot * scale + maskAt(b, h, i, j);
        }
        const max = Math.max(...scores);
        if (max === -Infinity) continue; // fully masked row: zeros, as the library defines
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((a, x) => a + x, 0);
        for (let j = 0; j < Lk; j++) {
          const p = exps[j] / sum;
          weights[(bh * Lq + i) * Lk + j] = p;
          for (let d = 0; d < Dv; d++) output[(bh * Lq + i) * Dv + d] += p * v.data[(bh * Lk + j) * Dv + d];
        }
      }
    }
  }
  return { output, weights };
}
// Reads a (broadcastable) mask like the library: trailing axes align to (B, H, Lq, Lk).
export const maskReader = (m) => (b, h, i, j) => {
  const index = [b, h, i, j].slice(4 - m.shape.length).reduce((flat, x, axis) => flat * m.shape[axis] + (m.shape[axis] === 1 ? 0 : x), 0);
  return m.data instanceof Uint8Array ? (m.data[index] ? -Infinity : 0) : m.data[index];
};

// Float64 nn.MultiheadAttention (eval mode, packed in_proj_weight, with biases)
// on (L, N, E) inputs, or (N, L, E) with batchFirst. maskAt(n, h, i, j) is the
// additive bias over the S keys. Weights come back per head, (N, H, L, S).
export function referenceLayer({ embedDim: E, numHeads: H, batchFirst = false }, stateDict, query, key, maskAt = () => 0) {
  const D = E / H;
  const [L, N] = batchFirst ? [query.shape[1], query.shape[0]] : [query.shape[0], query.shape[1]];
  const S = batchFirst ? key.shape[1] : key.shape[0];
  const at = (n, t, length) => (batchFirst ? n * length + t : t * N + n) * E;
  const W = stateDict.in_proj_weight, bIn = stateDict.in_proj_bias;
  const project = (x, rows, part, n) => {
    const out = new Float64Array(rows * E);
    for (let t = 0; t < rows; t++) {
      for (let o = 0; o < E; o++) {
        let sum = bIn[part * E + o];
        for (let i = 0; i < E; i++) sum += W[(part * E + o) * E + i] * x.data[at(n, t, rows) + i];
        out[t * E + o] = sum;
      }
    }
    return out;
  };
  const output = new Float64Array(L * N * E);
  const weights = new Float64Array(N * H * L * S);
  for (let n = 0; n < N; n++) {
    const q = project(query, L, 0, n), k = project(key, S, 1, n), v = project(key, S, 2, n);
    const heads = new Float64Array(L * E);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < L; i++) {
        const scores = new Float64Array(S);
        for (let j = 0; j < S; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[i * E + h * D + d] * k[j * E + h * D + d];
          scores[j] = dot / Math.sqrt(D) + maskAt(n, h, i, j);
        }
        const max = Math.max(...scores);
        if (max === -Infinity) continue;
        const exps = scores.map((s) => Math.exp(s - max));
        const sum = exps.reduce((a, x) => a + x, 0);
        for (let j = 0; j < S; j++) {
          const p = exps[j] / sum;
          weights[((n * H + h) * L + i) * S + j] = p;
          for (let d = 0; d < D; d++) heads[i * E + h * D + d] += p * v[j * E + h * D + d];
        }
      }
    }
    const Wo = stateDict['out_proj.weight'], bo = stateDict['out_proj.bias'];
    for (let i = 0; i < L; i++) {
      for (let o = 0; o < E; o++) {
        let sum = bo[o];
        for (let c = 0; c < E; c++) sum += Wo[o * E + c] * heads[i * E + c];
        output[at(n, i, L) + o] = sum;
      }
    }
  }
  return { output, weights };
}
