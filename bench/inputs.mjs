// Seeded inputs and layer weights, identical for every row of the bench.
//
// The generator is mulberry32 (32-bit state, integer ops only), and each value
// is an exact float32: (u >>> 8) * 2^-23 - 1 lies on a 2^-23 grid in [-1, 1).
// bench/native/attention_benchmark.cpp implements the same two functions, so
// the native rows see bit-identical inputs without any file exchange.
//
// Shape letters: H heads, L query length, S key length, D head dim, E embed dim.

export const BASE_SEED = 0x6d6861; // "mha"

// Stream tags; each tensor has its own stream so generation order never matters.
export const TAG = { query: 1, key: 2, value: 3, x: 4, memory: 5, inProjWeight: 6, inProjBias: 7, outProjWeight: 8, outProjBias: 9 };

export function streamSeed(tag, a = 0, b = 0) {
  // Cheap integer mixing of (base seed, tag, L, S); same expression in C++.
  return (BASE_SEED ^ Math.imul(tag, 0x9e3779b9) ^ Math.imul(a, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35)) >>> 0;
}

/** Fills a new Float32Array with n values uniform in [-scale, scale). */
export function uniform(n, seed, scale = 1) {
  const out = new Float32Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    out[i] = ((t >>> 8) * 2 ** -23 - 1) * scale; // rounded once to float32, as C++ does
  }
  return out;
}

/** q (1, H, L, D), k and v (1, H, S, D). */
export function sdpaInputs(shape) {
  const { heads: h, queryLen: l, keyLen: s, headDim: d } = shape;
  return {
    query: uniform(h * l * d, streamSeed(TAG.query, l, s)),
    key: uniform(h * s * d, streamSeed(TAG.key, l, s)),
    value: uniform(h * s * d, streamSeed(TAG.value, l, s)),
  };
}

/** x (L, 1, E) and memory (S, 1, E); self-attention (L == S) uses x for both. */
export function layerInputs(shape) {
  const { queryLen: l, keyLen: s, embedDim: e } = shape;
  const x = uniform(l * e, streamSeed(TAG.x, l, s));
  return { x, memory: l === s ? x : uniform(s * e, streamSeed(TAG.memory, l, s)) };
}

/**
 * PyTorch state_dict of nn.MultiheadAttention(E, H): weights drawn with the
 * bound of PyTorch's xavier_uniform_ on (3E, E) and (E, E); biases are
 * random (PyTorch starts them at 0) so the bias paths are exercised.
 */
export function layerWeights(embedDim) {
  const e = embedDim;
  return {
    in_proj_weight: uniform(3 * e * e, streamSeed(TAG.inProjWeight, e), Math.sqrt(6 / (4 * e))),
    in_proj_bias: uniform(3 * e, streamSeed(TAG.inProjBias, e), 0.1),
    'out_proj.weight': uniform(e * e, streamSeed(TAG.outProjWeight, e), Math.sqrt(6 / (2 * e))),
    'out_proj.bias': uniform(e, streamSeed(TAG.outProjBias, e), 0.1),
  };
}

/** The weights as one raw little-endian float32 blob, in state_dict order (for the ONNX generator). */
export function weightsBlob(weights) {
  const parts = ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'].map((k) => weights[k]);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return new Uint8Array(out.buffer);
}

// The Linear section (bench/linear.mjs): nn.Linear(in, out) layers of a
// BERT-base / GPT-2 MLP (E = 768, 4E = 3072). Stream tags 31-32 (decode.mjs uses 21-28).
export const LINEAR_LAYERS = [{ inFeatures: 768, outFeatures: 3072 }, { inFeatures: 3072, outFeatures: 768 }];
const LINEAR_TAG = { weight: 31, bias: 32 };

/** nn.Linear's state_dict, { weight (out, in), bias (out) }, with the bound of PyTorch's default init, 1/sqrt(in). */
export function linearWeights({ inFeatures, outFeatures }) {
  const bound = 1 / Math.sqrt(inFeatures);
  return {
    weight: uniform(outFeatures * inFeatures, streamSeed(LINEAR_TAG.weight, inFeatures, outFeatures), bound),
    bias: uniform(outFeatures, streamSeed(LINEAR_TAG.bias, inFeatures, outFeatures), bound),
  };
}

/** Every layer of LINEAR_LAYERS as int32 (in, out), then weight and bias as float32 (for the ONNX generator). */
export function linearWeightsBlob(layers = LINEAR_LAYERS) {
  const parts = [];
  for (const layer of layers) {
    const { weight, bias } = linearWeights(layer);
    parts.push(new Uint8Array(new Int32Array([layer.inFeatures, layer.outFeatures]).buffer), new Uint8Array(weight.buffer), new Uint8Array(bias.buffer));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Additive (L, S) top-left causal mask: 0 where key j <= query i, -inf elsewhere. */
export function causalMask(queryLen, keyLen) {
  const mask = new Float32Array(queryLen * keyLen);
  for (let i = 0; i < queryLen; i++) mask.fill(-Infinity, i * keyLen + Math.min(i + 1, keyLen), (i + 1) * keyLen);
  return mask;
}

/** (1, H, L, D) -> (1, L, H·D): the layout ORT's MultiHeadAttention takes. */
export function headsToRows(data, heads, len, headDim) {
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < len; i++) {
      out.set(data.subarray((h * len + i) * headDim, (h * len + i + 1) * headDim), (i * heads + h) * headDim);
    }
  }
  return out;
}

/** (1, L, H·D) -> (1, H, L, D). */
export function rowsToHeads(data, heads, len, headDim) {
  const out = new Float32Array(data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < len; i++) {
      out.set(data.subarray((i * heads + h) * headDim, (i * heads + h + 1) * headDim), (h * len + i) * headDim);
    }
  }
  return out;
}
