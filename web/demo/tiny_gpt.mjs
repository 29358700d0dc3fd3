// The demo's small GPT-style decoder (trained by scripts/train_model.py),
// run through mha-wasm: each attention layer is a MultiHeadAttention loaded
// from the same .safetensors file; embeddings, LayerNorm, the MLP and the
// tied LM head are a few lines of JavaScript (`npm run bench` reports how
// the time splits between them and the attention layers).
//
// Shapes: T tokens, E = dModel, H heads, D = E / H, V vocabulary.
// The library instance is passed in (`mha` from init()), so this file runs
// unchanged in the browser and in Node.
//
// Block (pre-LayerNorm):
//   x = tok_emb[ids] + pos_emb[0..T)
//   x = x + attn(ln1(x))        causal by default
//   x = x + mlp_proj(gelu_tanh(mlp_fc(ln2(x))))
//   logits = ln_f(x) · tok_embᵀ

function layerNorm(x, rows, dim, weight, bias, eps) {
  const y = new Float32Array(rows * dim);
  for (let t = 0; t < rows; t++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[t * dim + i];
    mean /= dim;
    let variance = 0;
    for (let i = 0; i < dim; i++) variance += (x[t * dim + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(variance / dim + eps);
    for (let i = 0; i < dim; i++) y[t * dim + i] = (x[t * dim + i] - mean) * inv * weight[i] + bias[i];
  }
  return y;
}

// y (rows × count) = x (rows × inDim) · Wᵀ + b, with W in PyTorch's
// (out, in) layout; `first` and `count` pick a block of output features
// (one head's rows of in_proj_weight).
function linear(x, rows, inDim, weight, bias, first = 0, count = weight.length / inDim) {
  const y = new Float32Array(rows * count);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < count; o++) {
      const w = (first + o) * inDim;
      let sum = bias ? bias[first + o] : 0;
      for (let i = 0; i < inDim; i++) sum += x[t * inDim + i] * weight[w + i];
      y[t * count + o] = sum;
    }
  }
  return y;
}

const gelu = (v) => 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));

function readConfig(metadata) {
  if (!metadata.config) throw new Error('tiny_gpt: the .safetensors file has no "config" metadata');
  const c = JSON.parse(metadata.config);
  return {
    vocabSize: c.vocab_size,
    dModel: c.d_model,
    nLayers: c.n_layers,
    nHeads: c.n_heads,
    headDim: c.d_model / c.n_heads,
    dMlp: c.d_mlp,
    context: c.context,
    eps: c.layer_norm_eps ?? 1e-5,
    bosToken: c.bos_token ?? '<bos>',
    unkToken: c.unk_token ?? '<unk>',
  };
}

/** weightsBytes: the .safetensors file; vocab: the parsed vocab.json. */
export function createTinyGpt(mha, weightsBytes, vocab) {
  const { tensors, metadata } = mha.parseSafetensors(weightsBytes);
  const config = readConfig(metadata);
  const vocabulary = Array.isArray(vocab) ? vocab : vocab.tokens;
  const idOf = new Map(vocabulary.map((token, id) => [token, id]));
  const w = (name) => {
    if (!tensors[name]) throw new Error(`tiny_gpt: weight '${name}' is missing from the .safetensors file`);
    return tensors[name].data;
  };
  const { dModel: E, nHeads: H, headDim: D, nLayers } = config;
  const layers = [...Array(nLayers)].map((_, l) =>
    mha.createMultiHeadAttention({ embedDim: E, numHeads: H }).loadWeights(weightsBytes, { prefix: `layers.${l}.attn.` }),
  );

  function tokenize(text) {
    const words = String(text).toLowerCase().match(/[a-z']+|[.,!?]/g) ?? [];
    const pieces = [config.bosToken, ...words].slice(0, config.context);
    return {
      tokens: pieces.map((p) => (idOf.has(p) ? p : config.unkToken)),
      ids: pieces.map((p) => idOf.get(p) ?? idOf.get(config.unkToken)),
      words: pieces,
    };
  }

  // The steps inside one head, recomputed in JS for display; the weights and
  // the layer output shown are the library's own.
  function mechanism(layer, head, T, causal, { input, output }, layerWeights) {
    const p = `layers.${layer}.attn.`;
    const inW = w(p + 'in_proj_weight');
    const inB = w(p + 'in_proj_bias');
    const project = (block, h) => linear(input, T, E, inW, inB, block * E + h * D, D);
    const q = project(0, head);
    const k = project(1, head);
    const scores = new Float32Array(T * T);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += q[i * D + d] * k[j * D + d];
        scores[i * T + j] = causal && j > i ? -Infinity : s / Math.sqrt(D);
      }
    }
    const weightedValues = (h) => {
      const v = project(2, h);
      const out = new Float32Array(T * D);
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          const a = layerWeights[h][i * T + j];
          if (a !== 0) for (let d = 0; d < D; d++) out[i * D + d] += a * v[j * D + d];
        }
      }
      return out;
    };
    const concat = new Float32Array(T * E);
    for (let h = 0; h < H; h++) {
      const o = weightedValues(h);
      for (let i = 0; i < T; i++) concat.set(o.subarray(i * D, (i + 1) * D), i * E + h * D);
    }
    const matrix = (data, rows, cols, label) => ({ data, shape: [rows, cols], label });
    return {
      input: matrix(input, T, E, 'X (LayerNorm output)'),
      q: matrix(q, T, D, 'Q = X·W_Qᵀ + b'),
      k: matrix(k, T, D, 'K = X·W_Kᵀ + b'),
      v: matrix(project(2, head), T, D, 'V = X·W_Vᵀ + b'),
      scores: matrix(scores, T, T, causal ? 'Q·Kᵀ/√d + causal mask' : 'Q·Kᵀ/√d'),
      weights: matrix(layerWeights[head], T, T, 'softmax(scores)'),
      headOutput: matrix(weightedValues(head), T, D, 'weights·V'),
      concat: matrix(concat, T, E, 'concat(heads)'),
      output: matrix(output, T, E, 'concat·W_Oᵀ + b'),
    };
  }

  function run(ids, { causal = true } = {}) {
    const T = ids.length;
    const V = config.vocabSize;
    if (T < 1 || T > config.context) throw new RangeError(`ids: expected 1 to ${config.context} tokens, got ${T}`);
    const tokEmb = w('tok_emb.weight');
    const posEmb = w('pos_emb.weight');
    let x = new Float32Array(T * E);
    ids.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`ids[${t}]: expected a token id in [0, ${V}), got ${id}`);
      for (let i = 0; i < E; i++) x[t * E + i] = tokEmb[id * E + i] + posEmb[t * E + i];
    });
    const trace = [];
    const attention = [];
    for (let l = 0; l < nLayers; l++) {
      const p = `layers.${l}.`;
      const h = layerNorm(x, T, E, w(p + 'ln1.weight'), w(p + 'ln1.bias'), config.eps);
      const input = { data: h, shape: [T, E] };
      const { output, weights } = layers[l].forward(input, input, input, { isCausal: causal, averageAttnWeights: false });
      attention.push([...Array(H)].map((_, head) => weights.data.slice(head * T * T, (head + 1) * T * T)));
      trace.push({ input: h, output: output.data });
      x = x.map((v, i) => v + output.data[i]);
      const h2 = layerNorm(x, T, E, w(p + 'ln2.weight'), w(p + 'ln2.bias'), config.eps);
      const hidden = linear(h2, T, E, w(p + 'mlp_fc.weight'), w(p + 'mlp_fc.bias')).map(gelu);
      const mlp = linear(hidden, T, config.dMlp, w(p + 'mlp_proj.weight'), w(p + 'mlp_proj.bias'));
      x = x.map((v, i) => v + mlp[i]);
    }
    const logits = linear(layerNorm(x, T, E, w('ln_f.weight'), w('ln_f.bias'), config.eps), T, E, tokEmb, null);

    return {
      tokens: ids.map((id) => vocabulary[id]),
      logits,
      attention,
      mechanism: (layer, head) => mechanism(layer, head, T, causal, trace[layer], attention[layer]),
      topNext(k = 5) {
        const last = logits.subarray((T - 1) * V, T * V);
        const max = Math.max(...last);
        const exp = Array.from(last, (v) => Math.exp(v - max));
        const sum = exp.reduce((a, b) => a + b, 0);
        return exp
          .map((e, id) => ({ token: vocabulary[id], prob: e / sum }))
          .sort((a, b) => b.prob - a.prob)
          .slice(0, k);
      },
    };
  }

  return {
    config,
    tokenize,
    run,
    dispose: () => layers.forEach((layer) => layer.dispose()),
  };
}

/** Browser helper: fetch both files, then createTinyGpt. */
export async function loadTinyGpt(mha, { weightsURL, vocabURL }) {
  const fetchOk = async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`tiny_gpt: ${url}: HTTP ${response.status}`);
    return response;
  };
  const [weights, vocab] = await Promise.all([
    fetchOk(weightsURL).then((r) => r.arrayBuffer()),
    fetchOk(vocabURL).then((r) => r.json()),
  ]);
  return createTinyGpt(mha, weights, vocab);
}
