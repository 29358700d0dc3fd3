// Attention the way a JavaScript developer would write it without a library:
// Float32Array loops, one query row at a time, no SIMD, no tiling. The
// baseline that shows what WebAssembly SIMD buys.
//
// Shapes as mha-wasm: SDPA q (1, H, L, D), k/v (1, H, S, D) -> (1, H, L, D),
// weights (1, H, L, S); layer x (L, 1, E), memory (S, 1, E), PyTorch weights.

// softmax(q_i·K_jᵀ·scale)·V for one query row of one head. q, k, v are read
// with a row stride so the layer can use its (L, E) buffers without copies.
function attendRow(out, outOffset, q, qOffset, k, v, kvOffset, stride, keys, d, scale, scores) {
  let max = -Infinity;
  for (let j = 0; j < keys; j++) {
    let dot = 0;
    const kj = kvOffset + j * stride;
    for (let c = 0; c < d; c++) dot += q[qOffset + c] * k[kj + c];
    scores[j] = dot * scale;
    if (scores[j] > max) max = scores[j];
  }
  let sum = 0;
  for (let j = 0; j < keys; j++) {
    scores[j] = Math.exp(scores[j] - max);
    sum += scores[j];
  }
  for (let c = 0; c < d; c++) out[outOffset + c] = 0;
  for (let j = 0; j < keys; j++) {
    const p = scores[j] / sum;
    scores[j] = p;
    const vj = kvOffset + j * stride;
    for (let c = 0; c < d; c++) out[outOffset + c] += p * v[vj + c];
  }
}

// All heads. Element (head h, row i) of q and out starts at h·headStride +
// i·rowStride, of k and v at h·kvHeadStride + j·kvRowStride: (1, H, L, D)
// tensors and the layer's (L, E) buffers are both plain strided views.
function attention(q, k, v, { heads, queryLen, keyLen, headDim, causal, needWeights }, headStride, rowStride, kvHeadStride, kvRowStride) {
  const out = new Float32Array(heads * queryLen * headDim);
  const weights = needWeights ? new Float32Array(heads * queryLen * keyLen) : null;
  const scores = new Float32Array(keyLen);
  const scale = 1 / Math.sqrt(headDim);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < queryLen; i++) {
      const keys = causal ? Math.min(i + 1, keyLen) : keyLen;
      const at = h * headStride + i * rowStride;
      attendRow(out, at, q, at, k, v, h * kvHeadStride, kvRowStride, keys, headDim, scale, scores);
      if (weights) weights.set(scores.subarray(0, keys), (h * queryLen + i) * keyLen); // masked keys stay 0
    }
  }
  return { output: out, weights };
}

// y = x·Wᵀ + b for x (rows, inF), W (outF, inF): each output is a dot of two contiguous rows.
export function linear(x, rows, inF, w, wOffset, b, bOffset, outF) {
  const y = new Float32Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let acc = b[bOffset + o];
      const wo = wOffset + o * inF;
      for (let c = 0; c < inF; c++) acc += x[r * inF + c] * w[wo + c];
      y[r * outF + o] = acc;
    }
  }
  return y;
}

export function plainJsRunners() {
  const sdpa = {
    name: 'plain JS SDPA',
    kind: 'sdpa',
    maxLength: 512,
    limitMs: 3000,
    applies: () => true,
    prepare(shape, data) {
      const { queryLen: l, keyLen: s, headDim: d } = shape;
      const run = () => attention(data.sdpa.query, data.sdpa.key, data.sdpa.value, shape, l * d, d, s * d, d);
      return { run, read: (r) => r, dispose() {} };
    },
  };
  const layer = {
    name: 'plain JS layer',
    kind: 'layer',
    maxLength: 512,
    limitMs: 3000,
    applies: () => true,
    prepare(shape, data) {
      const { queryLen: l, keyLen: s, headDim: d, embedDim: e } = shape;
      const w = data.weights;
      const run = () => {
        const q = linear(data.layer.x, l, e, w.in_proj_weight, 0, w.in_proj_bias, 0, e);
        const k = linear(data.layer.memory, s, e, w.in_proj_weight, e * e, w.in_proj_bias, e, e);
        const v = linear(data.layer.memory, s, e, w.in_proj_weight, 2 * e * e, w.in_proj_bias, 2 * e, e);
        const { output, weights } = attention(q, k, v, shape, d, e, d, e);
        return { output: linear(output, l, e, w['out_proj.weight'], 0, w['out_proj.bias'], 0, e), weights };
      };
      return { run, read: (r) => r, dispose() {} };
    },
  };
  return [sdpa, layer];
}
