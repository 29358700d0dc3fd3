// How to run a small GPT with mha-wasm: the demo's 2-layer decoder (trained
// by scripts/train_model.py, described in ./README.md) in plain JavaScript,
// with every matrix product on the library.
//
//   const mha = await init();
//   const model = createTinyGpt(mha, safetensorsBytes, vocabJson);
//   const { ids } = model.tokenize('once upon a time');
//   const decoder = model.createDecoder();          // one KV cache per layer
//   let logits = decoder.append(ids).logits;         // the prompt, once (prefill)
//   for (let i = 0; i < 20; i++) logits = decoder.append([argmax(logits)]).logits;   // one token per step
//
// What runs where (`npm run bench` times each part):
//   attention      mha.createMultiHeadAttention per layer, loaded from the same file (prefix
//                  'layers.{l}.attn.'): the in-projection, softmax(Q·Kᵀ/√d)·V and the out-projection.
//                  A decoder passes each layer its cache (layer.createCache), so a step projects and
//                  appends only the new token's keys and values and never re-reads the prompt.
//   linear layers  mha.createLinear: mlp_fc, mlp_proj and the LM head (tok_emb.weight, tied, no bias).
//   JavaScript     embedding lookup, LayerNorm, GELU, the residual adds: O(T·E) each, a few µs a token.
//
// Shapes: T tokens, E = dModel, H heads, D = E / H, F = dMlp, V vocabulary.
// Block (pre-LayerNorm):
//   x = tok_emb[ids] + pos_emb[positions]
//   x = x + attn(ln1(x))                       causal
//   x = x + mlp_proj(gelu_tanh(mlp_fc(ln2(x))))
//   logits = ln_f(x) · tok_embᵀ
//
// The library instance is passed in (`mha` from init()), so this file runs
// unchanged in the browser and in Node. Choosing the next token (greedy,
// temperature, top-k, top-p) is ./sampling.mjs; generate() below ties the two.

import { argmaxOf, chooseToken, createRng } from './sampling.mjs';

// ---------------------------------------------------------------- JavaScript parts

/** y[t] = (x[t] − mean) / sqrt(var + eps) · weight + bias, for rows × dim. */
function layerNorm(y, x, rows, dim, weight, bias, eps) {
  for (let t = 0; t < rows; t++) {
    const o = t * dim;
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[o + i];
    mean /= dim;
    let variance = 0;
    for (let i = 0; i < dim; i++) {
      const d = x[o + i] - mean;
      variance += d * d;
    }
    const inv = 1 / Math.sqrt(variance / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = (x[o + i] - mean) * inv * weight[i] + bias[i];
  }
  return y;
}

// GELU, tanh approximation (PyTorch's approximate="tanh"), in place:
// 0.5·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³), written as the
// identical x / (1 + e^(−2u)), since Math.exp costs about 2/3 of Math.tanh
// in V8 (this loop is the largest JavaScript part of a 256-token forward).
function geluInPlace(v) {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    v[i] = x / (1 + Math.exp(-1.5957691216057308 * (x + 0.044715 * x * x * x)));
  }
  return v;
}

function addInPlace(x, y) {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
  return x;
}

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

// ---------------------------------------------------------------- the model

/** weightsBytes: the .safetensors file; vocab: the parsed vocab.json. */
export function createTinyGpt(mha, weightsBytes, vocab) {
  const { tensors, metadata } = mha.parseSafetensors(weightsBytes);
  const config = Object.freeze(readConfig(metadata));
  const vocabulary = Array.isArray(vocab) ? vocab : vocab.tokens;
  const idOf = new Map(vocabulary.map((token, id) => [token, id]));
  const w = (name) => {
    if (!tensors[name]) throw new Error(`tiny_gpt: weight '${name}' is missing from the .safetensors file`);
    return tensors[name].data;
  };
  const { dModel: E, nHeads: H, headDim: D, nLayers, dMlp: F, vocabSize: V, context, eps } = config;
  const tokEmb = w('tok_emb.weight');
  const posEmb = w('pos_emb.weight');
  const linear = (inFeatures, outFeatures, prefix) => mha.createLinear({ inFeatures, outFeatures }).loadWeights(weightsBytes, { prefix });

  const blocks = [...Array(nLayers)].map((_, l) => {
    const p = `layers.${l}.`;
    return {
      ln1: [w(p + 'ln1.weight'), w(p + 'ln1.bias')],
      ln2: [w(p + 'ln2.weight'), w(p + 'ln2.bias')],
      attn: mha.createMultiHeadAttention({ embedDim: E, numHeads: H }).loadWeights(weightsBytes, { prefix: p + 'attn.' }),
      mlpFc: linear(E, F, p + 'mlp_fc.'),
      mlpProj: linear(F, E, p + 'mlp_proj.'),
      // Only for the step-by-step view (mechanism()): Q, K, V of every head, made on demand.
      inProj: null,
    };
  });
  const lnF = [w('ln_f.weight'), w('ln_f.bias')];
  const lmHead = mha.createLinear({ inFeatures: E, outFeatures: V, bias: false }).loadWeights({ weight: tokEmb });
  const owned = [...blocks.flatMap((b) => [b.attn, b.mlpFc, b.mlpProj]), lmHead];

  function tokenize(text) {
    const words = String(text).toLowerCase().match(/[a-z']+|[.,!?]/g) ?? [];
    const pieces = [config.bosToken, ...words].slice(0, context);
    return {
      tokens: pieces.map((p) => (idOf.has(p) ? p : config.unkToken)),
      ids: pieces.map((p) => idOf.get(p) ?? idOf.get(config.unkToken)),
      words: pieces,
    };
  }

  function checkIds(ids, first) {
    ids.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`ids[${t}]: expected a token id in [0, ${V}), got ${id}`);
    });
    if (ids.length < 1 || first + ids.length > context) {
      throw new RangeError(`ids: expected 1 to ${context - first} tokens${first ? ` after the ${first} already decoded` : ''}, got ${ids.length}`);
    }
  }

  function embed(ids, first) {
    const x = new Float32Array(ids.length * E);
    ids.forEach((id, t) => {
      for (let i = 0; i < E; i++) x[t * E + i] = tokEmb[id * E + i] + posEmb[(first + t) * E + i];
    });
    return x;
  }

  /**
   * One pre-LayerNorm block on T rows of x (updated in place). attend(h) runs
   * the attention layer on the LayerNorm output h (T × E) and returns the
   * library's { output, weights }. Returns { input: h, output, weights }.
   */
  function block(b, x, T, attend) {
    const tensor = (data, cols) => ({ data, shape: [T, cols] });
    const h = layerNorm(new Float32Array(T * E), x, T, E, b.ln1[0], b.ln1[1], eps);
    const { output, weights } = attend(tensor(h, E));
    addInPlace(x, output.data);
    const h2 = layerNorm(new Float32Array(T * E), x, T, E, b.ln2[0], b.ln2[1], eps);
    const hidden = geluInPlace(b.mlpFc.forward(tensor(h2, E)).output.data);
    addInPlace(x, b.mlpProj.forward(tensor(hidden, F)).output.data);
    return { input: h, output: output.data, weights };
  }

  function logitsOf(x, rows) {
    const y = layerNorm(new Float32Array(rows * E), x, rows, E, lnF[0], lnF[1], eps);
    return lmHead.forward({ data: y, shape: [rows, E] }).output.data;
  }

  // The steps inside one head for display (view 4): Q, K, V from the layer's
  // in-projection weights (a Linear made the first time it is asked for),
  // scores in JavaScript, every head's weights·V through the library's
  // scaledDotProductAttention. The weights and the layer output shown are the
  // model run's own. input, output: T × E; layerWeights[h]: T × T.
  // query: null for every row, or one position q: then Q, the scores, the
  // weights, the head's output, concat and output are that row only (1 × …);
  // tokenAt(q) names it in the labels.
  function mechanism(layer, head, T, causal, input, output, layerWeights, { query = null, tokenAt = (i) => `token ${i}` } = {}) {
    const b = blocks[layer];
    if (!b.inProj) {
      b.inProj = linear(E, 3 * E, `layers.${layer}.attn.in_proj_`); // in_proj_weight, in_proj_bias
      owned.push(b.inProj);
    }
    const qkv = b.inProj.forward({ data: input, shape: [T, E] }).output.data; // T × 3E
    // (1, H, T, D) for each of q, k, v.
    const split = (block) => {
      const out = new Float32Array(H * T * D);
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) out.set(qkv.subarray(t * 3 * E + block * E + h * D, t * 3 * E + block * E + (h + 1) * D), (h * T + t) * D);
      }
      return out;
    };
    const [q, k, v] = [0, 1, 2].map(split);
    const headOf = (all) => all.slice(head * T * D, (head + 1) * T * D);
    const qh = headOf(q);
    const kh = headOf(k);
    const [first, rows] = query === null ? [0, T] : [query, 1];
    const scores = new Float32Array(rows * T);
    const scale = 1 / Math.sqrt(D);
    for (let r = 0; r < rows; r++) {
      const i = first + r;
      for (let j = 0; j < T; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) s += qh[i * D + d] * kh[j * D + d];
        scores[r * T + j] = causal && j > i ? -Infinity : s * scale;
      }
    }
    const shape = [1, H, T, D];
    const heads = mha.scaledDotProductAttention({ data: q, shape }, { data: k, shape }, { data: v, shape }, { isCausal: causal }).output.data;
    const concat = new Float32Array(rows * E);
    for (let h = 0; h < H; h++) {
      for (let r = 0; r < rows; r++) concat.set(heads.subarray((h * T + first + r) * D, (h * T + first + r + 1) * D), r * E + h * D);
    }
    const matrix = (data, n, cols, label) => ({ data, shape: [n, cols], label });
    const ofRows = (data, cols) => data.slice(first * cols, (first + rows) * cols);
    const name = query === null ? null : `'${tokenAt(query)}' (token ${query})`;
    return {
      input: matrix(input, T, E, 'X (LayerNorm output)'),
      q: matrix(ofRows(qh, D), rows, D, name ? `q of ${name}` : 'Q = X·W_Qᵀ + b'),
      k: matrix(kh, T, D, 'K = X·W_Kᵀ + b'),
      v: matrix(headOf(v), T, D, 'V = X·W_Vᵀ + b'),
      scores: matrix(scores, rows, T, `${name ? 'q' : 'Q'}·Kᵀ/√d${causal ? ' + causal mask' : ''}`),
      weights: matrix(ofRows(layerWeights[head], T), rows, T, name ? `softmax: ${name} over ${T} keys` : 'softmax(scores)'),
      headOutput: matrix(ofRows(headOf(heads), D), rows, D, 'weights·V'),
      concat: matrix(concat, rows, E, 'concat(heads)'),
      output: matrix(ofRows(output, E), rows, E, 'concat·W_Oᵀ + b'),
      ...(query === null ? {} : { query }),
    };
  }

  /**
   * One full forward pass over `ids` (no cache): logits (T × V) and every
   * head's attention weights, [layer][head] → Float32Array(T·T). needWeights:
   * false skips the weights (attention is then null).
   */
  function run(ids, { causal = true, needWeights = true } = {}) {
    checkIds(ids, 0);
    const T = ids.length;
    const x = embed(ids, 0);
    const trace = [];
    const attention = needWeights ? [] : null;
    for (const b of blocks) {
      const step = block(b, x, T, (h) => b.attn.forward(h, h, h, { isCausal: causal, needWeights, averageAttnWeights: false }));
      trace.push(step);
      if (needWeights) attention.push([...Array(H)].map((_, head) => step.weights.data.slice(head * T * T, (head + 1) * T * T)));
    }
    const logits = logitsOf(x, T);
    return {
      tokens: ids.map((id) => vocabulary[id]),
      logits,
      attention,
      mechanism: (layer, head, { query = null } = {}) =>
        mechanism(layer, head, T, causal, trace[layer].input, trace[layer].output, attention[layer], { query, tokenAt: (i) => vocabulary[ids[i]] }),
      topNext: (k = 5) => topTokens(logits.subarray((T - 1) * V, T * V), k),
    };
  }

  /**
   * Autoregressive decoding through one KV cache per layer. append(ids)
   * runs the new tokens only (the prompt in one call, then one token per
   * step) and returns the logits of the last one. The decoder keeps what the
   * views need: every head's attention row of every position (row q holds
   * the weights of keys 0..q) and each layer's input and output rows.
   */
  function createDecoder({ maxLength = context, needWeights = true } = {}) {
    if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > context) {
      throw new RangeError(`maxLength: expected an integer from 1 to ${context} (the model's context), got ${maxLength}`);
    }
    const caches = blocks.map((b) => b.attn.createCache({ batchSize: 1, maxLength }));
    const ids = [];
    // rows[l][h]: maxLength × maxLength, row q at q·maxLength (keys 0..q; the rest stays 0).
    const rows = needWeights ? blocks.map(() => [...Array(H)].map(() => new Float32Array(maxLength * maxLength))) : null;
    const inputs = blocks.map(() => new Float32Array(maxLength * E));
    const outputs = blocks.map(() => new Float32Array(maxLength * E));
    let disposed = false;

    const alive = (what) => {
      if (disposed) throw new Error(`${what}: this decoder was disposed; create a new one`);
    };
    const dense = (l, h, T = ids.length) => {
      const out = new Float32Array(T * T);
      for (let q = 0; q < T; q++) out.set(rows[l][h].subarray(q * maxLength, q * maxLength + q + 1), q * T);
      return out;
    };

    return {
      maxLength,
      get length() {
        return ids.length;
      },
      get ids() {
        return ids.slice();
      },
      get tokens() {
        return ids.map((id) => vocabulary[id]);
      },
      /** Runs `newIds` at positions length, length + 1, …; returns { logits: Float32Array(V) of the last, first, count }. */
      append(newIds) {
        alive('append');
        const first = ids.length;
        if (first + newIds.length > maxLength) {
          throw new RangeError(`append: the decoder holds ${first} of ${maxLength} tokens; ${newIds.length} more do not fit`);
        }
        checkIds(newIds, first);
        const T = newIds.length;
        const S = first + T;
        const x = embed(newIds, first);
        blocks.forEach((b, l) => {
          const step = block(b, x, T, (h) => b.attn.forward(h, h, h, { cache: caches[l], isCausal: true, needWeights, averageAttnWeights: false }));
          inputs[l].set(step.input, first * E);
          outputs[l].set(step.output, first * E);
          if (!needWeights) return;
          // weights (H, T, S): query first + t sees keys 0 … first + t.
          const data = step.weights.data;
          for (let h = 0; h < H; h++) {
            for (let t = 0; t < T; t++) {
              const q = first + t;
              rows[l][h].set(data.subarray((h * T + t) * S, (h * T + t) * S + q + 1), q * maxLength);
            }
          }
        });
        ids.push(...newIds);
        return { logits: logitsOf(x.subarray((T - 1) * E), 1), first, count: T };
      },
      /** Weights of query q over keys 0..q for (layer, head): a view, valid until the decoder is reset. */
      attentionRow(layer, head, q) {
        alive('attentionRow');
        if (!rows) throw new Error('attentionRow: this decoder was created with needWeights: false');
        if (!(q >= 0 && q < ids.length)) throw new RangeError(`q: expected a position in [0, ${ids.length}), got ${q}`);
        return rows[layer][head].subarray(q * maxLength, q * maxLength + q + 1);
      },
      /** Every head's weights so far, [layer][head] → Float32Array(T·T) (copies). */
      attention() {
        alive('attention');
        if (!rows) return null;
        return blocks.map((_, l) => [...Array(H)].map((__, h) => dense(l, h)));
      },
      /** The steps inside one head; { query: q } for one token's row only (cheaper: one row of scores). */
      mechanism(layer, head, { query = null } = {}) {
        alive('mechanism');
        const T = ids.length;
        const layerWeights = [...Array(H)].map((_, h) => (h === head ? dense(layer, h) : null));
        return mechanism(layer, head, T, true, inputs[layer].slice(0, T * E), outputs[layer].slice(0, T * E), layerWeights, { query, tokenAt: (i) => vocabulary[ids[i]] });
      },
      /** Forgets every token (the caches keep their memory). */
      reset() {
        alive('reset');
        caches.forEach((c) => c.reset());
        ids.length = 0;
        rows?.forEach((layer) => layer.forEach((r) => r.fill(0)));
      },
      dispose() {
        if (disposed) return;
        disposed = true;
        caches.forEach((c) => c.dispose());
      },
    };
  }

  function topTokens(logits, k) {
    let max = -Infinity;
    for (const v of logits) if (v > max) max = v;
    const exp = Array.from(logits, (v) => Math.exp(v - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    return exp
      .map((e, id) => ({ id, token: vocabulary[id], prob: e / sum }))
      .sort((a, b) => b.prob - a.prob || a.id - b.id)
      .slice(0, k);
  }

  return {
    config,
    vocabulary,
    tokenize,
    run,
    createDecoder,
    topTokens,
    dispose: () => owned.forEach((o) => o.dispose()),
  };
}

/** Index of the largest logit (the first of equal maxima, like torch.argmax). */
export const argmax = argmaxOf;

/**
 * Generates up to maxNewTokens after promptIds (fewer when the context is
 * full): the prompt runs once, then one decoding step per token, each new
 * token appended to every layer's cache. Sampling options as in
 * ./sampling.mjs (strategy, temperature, topK, topP) plus seed (default 0).
 * onStep({ index, id, distribution, decoder }) is called after each token is
 * appended. Returns the new ids.
 */
export function generate(model, promptIds, options = {}) {
  const { maxNewTokens = 64, seed = 0, needWeights = false, onStep = null, ...sampling } = options;
  const decoder = model.createDecoder({ needWeights });
  try {
    const rng = createRng(seed);
    let { logits } = decoder.append(promptIds);
    const ids = [];
    const count = Math.min(maxNewTokens, decoder.maxLength - promptIds.length);
    for (let index = 0; index < count; index++) {
      const { id, distribution } = chooseToken(logits, sampling, rng);
      ids.push(id);
      logits = decoder.append([id]).logits;
      onStep?.({ index, id, distribution, decoder });
    }
    return ids;
  } finally {
    decoder.dispose();
  }
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
