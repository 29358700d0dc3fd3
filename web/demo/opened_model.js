// A Hugging Face checkpoint the reader opened (a folder from their disk, read
// by mha-wasm/models: gpt2, llama, mistral, qwen2), behind the interface the
// page uses for the shipped model (./model/tiny_gpt.mjs), so every view and
// the generation run on it unchanged:
//
//   config { nLayers, nHeads, context, vocabSize, ... }, vocabulary[id] (the text shown for a token),
//   tokenize(text) → { ids, tokens }, topTokens(logits, k),
//   createDecoder() → { append(ids), attentionRow(l, h, q), mechanism(l, h, { query }), ids, tokens, … }:
//       one KV cache over every layer (model.createCache); each step is model.forward(newIds,
//       { cache, needWeights, needAttentionIO }), and the decoder keeps every head's attention rows
//       and each layer's attention input and output for the views,
//   run(ids) → { tokens, logits (the last position's), attention [l][h] → T·T } (one forward pass; the role probes),
//   roleProbes() (induction on a random token sequence said twice), dispose().
//
// The step-by-step view needs Q, K and V, which the library's fused attention
// layers do not return. prepareMechanism(layer) reads that layer's q/k/v
// projection weights from the opened files again (the headers say where),
// into one Linear on the library; mechanism() then projects the layer's
// input X, applies RoPE (Llama family) in JavaScript, and computes the scores
// and each head's weights·V. The weights and the layer output shown are the
// model's own; the label of the weights says how far softmax(scores)
// recomputed here is from them (a check that Q and K are right).
//
// Pure apart from what it is given: the library (`mha`) and the mha-wasm/models
// modules (`lib`) are passed in, so this file runs in Node's tests as in the page.

import { createRng } from './model/sampling.mjs';
import { repeatedProbe } from './head_roles.js';

/** The most tokens the page keeps for an opened model (views size their buffers for it). */
export const PAGE_CONTEXT = 256;
export const PROBES = Object.freeze({ seed: 2023, count: 8, length: 20 });
/** Above this, the recomputed softmax(Q·Kᵀ/√d) is reported as not matching the model's weights. */
export const MECHANISM_TOLERANCE = 1e-3;

// ---------------------------------------------------------------- the files

/**
 * The files of a picked folder (input webkitdirectory: File.webkitRelativePath
 * "folder/config.json") or of picked files: those at the folder's top level
 * (sub-folders such as onnx/ are left out), and the folder's name.
 */
export function topLevelFiles(fileList) {
  const all = [...fileList];
  const depth = (f) => (f.webkitRelativePath ? f.webkitRelativePath.split('/').length : 1);
  const least = Math.min(...all.map(depth));
  const files = all.filter((f) => depth(f) === least);
  const folder = files[0]?.webkitRelativePath ? files[0].webkitRelativePath.split('/').slice(-2, -1)[0] ?? null : null;
  return { files, folder };
}

// A FileSystemEntry's files (a folder: its top level only).
async function entryFiles(entry) {
  if (entry.isFile) return [await new Promise((resolve, reject) => entry.file(resolve, reject))];
  const reader = entry.createReader();
  const entries = [];
  // readEntries returns the entries in batches (Chromium: 100 at a time) until an empty one.
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    entries.push(...batch);
  }
  return Promise.all(entries.filter((e) => e.isFile).map((e) => new Promise((resolve, reject) => e.file(resolve, reject))));
}

/** What was dropped: one folder (its top-level files) or some files. Returns { files, folder }. */
export async function droppedFiles(dataTransfer) {
  const items = [...(dataTransfer.items ?? [])].filter((item) => item.kind === 'file');
  // webkitGetAsEntry must be called during the drop event, before any await.
  const entries = items.map((item) => item.webkitGetAsEntry?.() ?? null);
  const folders = entries.filter((e) => e?.isDirectory);
  if (folders.length > 1) throw new Error(`drop one model folder at a time (got ${folders.length} folders)`);
  if (folders.length === 1) return { files: await entryFiles(folders[0]), folder: folders[0].name };
  return { files: [...(dataTransfer.files ?? [])], folder: null };
}

// ---------------------------------------------------------------- tokens as text

// GPT-2's byte-level alphabet (bytes_to_unicode), inverted: the character a
// token is spelled with → the byte it stands for.
const BYTE_OF_CHAR = (() => {
  const bytes = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = bytes.slice();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + extra++);
    }
  }
  return new Map(chars.map((c, i) => [String.fromCodePoint(c), bytes[i]]));
})();

/** Spaces, newlines and tabs made visible (a token is often " the"). */
export const visibleWhitespace = (text) => text.replace(/ /g, '␣').replace(/\n/g, '↵').replace(/\r/g, '␍').replace(/\t/g, '⇥');

/**
 * The text shown for a vocabulary entry. byteLevel (GPT-2, Qwen2, Llama 3):
 * the entry's characters are bytes, decoded as UTF-8 (a partial character
 * shows as its bytes, <0xC3>); otherwise SentencePiece's ▁ is a space.
 * Special tokens are shown as they are.
 */
export function displayToken(raw, { byteLevel = false, special = false } = {}) {
  if (typeof raw !== 'string') return '<?>';
  if (special) return raw;
  let text = raw;
  if (byteLevel) {
    const bytes = [...raw].map((ch) => BYTE_OF_CHAR.get(ch));
    if (bytes.every((b) => b !== undefined)) {
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
      } catch {
        text = bytes.map((b) => (b < 128 ? String.fromCharCode(b) : `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)).join('');
      }
    }
  } else {
    text = raw.replaceAll('▁', ' ');
  }
  return visibleWhitespace(text);
}

function usesByteLevel(tokenizerJson) {
  const isByteLevel = (part) => part?.type === 'ByteLevel' || (Array.isArray(part?.decoders) && part.decoders.some(isByteLevel)) || (Array.isArray(part?.pretokenizers) && part.pretokenizers.some(isByteLevel));
  return isByteLevel(tokenizerJson?.decoder) || isByteLevel(tokenizerJson?.pre_tokenizer);
}

// ---------------------------------------------------------------- inside one head

/** RoPE (Hugging Face's rotate_half) of a T × D matrix, rows at positions 0 … T − 1, in place. */
export function applyRope(x, T, D, inverseFrequencies) {
  const half = D / 2;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * inverseFrequencies[i];
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const a = x[t * D + i];
      const b = x[t * D + half + i];
      x[t * D + i] = a * cos - b * sin;
      x[t * D + half + i] = b * cos + a * sin;
    }
  }
  return x;
}

/**
 * The steps inside head `head` of one layer, in the shape view 4 draws
 * (mechanism_view.js): input X (T × E), q, k, v of the head (T × D; q one row
 * with a query), scores, the model's weights, weights·V, the concatenation
 * of every head's weights·V, and the layer's output.
 *
 * qkv: T × (H + 2·Hkv)·D, the projections of X before RoPE, columns
 * [q heads | k heads | v heads]. weightRow(h, q): the model's weights of
 * query q over keys 0 … q. shape: { heads, kvHeads, headDim, hidden, window,
 * inverseFrequencies (null: no RoPE), qBias, normName }.
 */
export function headSteps({ T, input, output, qkv, shape, head, weightRow, query = null, tokenAt = (i) => `token ${i}` }) {
  const { heads: H, kvHeads: Hkv, headDim: D, hidden: E, window = 0, inverseFrequencies = null } = shape;
  const width = (H + 2 * Hkv) * D;
  const group = H / Hkv;
  const column = (offset, rows = T) => {
    const out = new Float32Array(rows * D);
    for (let t = 0; t < rows; t++) out.set(qkv.subarray(t * width + offset, t * width + offset + D), t * D);
    return out;
  };
  const kvOf = (h) => Math.floor(h / group);
  const g = kvOf(head);
  const q = column(head * D);
  const k = column(H * D + g * D);
  if (inverseFrequencies) {
    applyRope(q, T, D, inverseFrequencies);
    applyRope(k, T, D, inverseFrequencies);
  }
  const values = [...Array(Hkv)].map((_, j) => column((H + Hkv) * D + j * D));
  const [first, rows] = query === null ? [0, T] : [query, 1];
  const scale = 1 / Math.sqrt(D);
  const scores = new Float32Array(rows * T);
  const weights = new Float32Array(rows * T);
  let mismatch = 0;
  for (let r = 0; r < rows; r++) {
    const i = first + r;
    let max = -Infinity;
    for (let j = 0; j < T; j++) {
      let s = -Infinity;
      if (j <= i && !(window > 0 && j <= i - window)) {
        s = 0;
        for (let d = 0; d < D; d++) s += q[i * D + d] * k[j * D + d];
        s *= scale;
      }
      scores[r * T + j] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let j = 0; j <= i; j++) sum += scores[r * T + j] === -Infinity ? 0 : Math.exp(scores[r * T + j] - max);
    const row = weightRow(head, i);
    weights.set(row, r * T);
    for (let j = 0; j <= i; j++) {
      const p = scores[r * T + j] === -Infinity ? 0 : Math.exp(scores[r * T + j] - max) / sum;
      mismatch = Math.max(mismatch, Math.abs(p - row[j]));
    }
  }
  // weights·V of head h for the shown rows.
  const headOutputOf = (h, target, stride, offset) => {
    const v = values[kvOf(h)];
    for (let r = 0; r < rows; r++) {
      const row = h === head ? weights.subarray(r * T, r * T + first + r + 1) : weightRow(h, first + r);
      for (let j = 0; j < row.length; j++) {
        const w = row[j];
        if (w === 0) continue;
        for (let d = 0; d < D; d++) target[r * stride + offset + d] += w * v[j * D + d];
      }
    }
    return target;
  };
  const headOutput = headOutputOf(head, new Float32Array(rows * D), D, 0);
  const concat = new Float32Array(rows * H * D);
  for (let h = 0; h < H; h++) headOutputOf(h, concat, H * D, h * D);
  const ofRows = (data, cols) => data.slice(first * cols, (first + rows) * cols);
  const name = query === null ? null : `'${tokenAt(query)}' (token ${query})`;
  const matrix = (data, n, cols, label) => ({ data, shape: [n, cols], label });
  const rope = inverseFrequencies ? ', RoPE' : '';
  const kvNote = Hkv < H ? ` (kv head ${g})` : '';
  // The weights shown are the model's; how far softmax(scores) recomputed here is from them.
  const check = mismatch <= MECHANISM_TOLERANCE ? `model's; recomputed within ${mismatch.toExponential(0)}` : `model's; recomputed differs by ${mismatch.toExponential(1)}!`;
  return {
    input: matrix(input.slice(0, T * E), T, E, `X (${shape.normName ?? 'norm'} output)`),
    q: matrix(ofRows(q, D), rows, D, name ? `q of ${name}${rope}` : `Q = X·W_Qᵀ${shape.qBias ? ' + b' : ''}${rope}`),
    k: matrix(k, T, D, `K = X·W_Kᵀ${shape.qBias ? ' + b' : ''}${rope}${kvNote}`),
    v: matrix(values[g], T, D, `V = X·W_Vᵀ${shape.qBias ? ' + b' : ''}${kvNote}`),
    scores: matrix(scores, rows, T, `${name ? 'q' : 'Q'}·Kᵀ/√d + causal mask${window > 0 ? ` + window ${window}` : ''}`),
    weights: matrix(weights, rows, T, name ? `softmax: ${name} (${check})` : check),
    headOutput: matrix(headOutput, rows, D, 'weights·V'),
    concat: matrix(concat, rows, H * D, 'concat(heads)'),
    output: matrix(ofRows(output, E), rows, E, 'concat·W_Oᵀ (the layer\'s output)'),
    mismatch,
    ...(query === null ? {} : { query }),
  };
}

// ---------------------------------------------------------------- the model

/**
 * Opens a checkpoint folder. lib: { loadModel, openFiles, openCheckpoint,
 * readGpt2Config, readLlamaConfig, transpose } from mha-wasm/models's modules.
 * files: File[] (or name → bytes). options: { onProgress, name, context }.
 */
export async function openModel(mha, lib, files, { onProgress, name = null, context: pageContext = PAGE_CONTEXT } = {}) {
  const source = lib.openFiles(files);
  if (!source.has('config.json')) {
    throw new Error(`loadModel: config.json is missing (files given: ${source.names.sort().join(', ') || 'none'}); open the folder that holds config.json, model.safetensors and tokenizer.json`);
  }
  const model = await lib.loadModel(mha, files, { onProgress });
  try {
    return await wrap(mha, lib, model, source, { name, pageContext });
  } catch (error) {
    model.dispose();
    throw error;
  }
}

async function wrap(mha, lib, model, source, { name, pageContext }) {
  if (!model.tokenizer || !source.has('tokenizer.json')) {
    throw new Error('this folder has no tokenizer.json: the page needs it to turn your prompt into tokens (mha-wasm/models still runs token ids without one)');
  }
  const config = model.config;
  const tokenizerJson = await source.json('tokenizer.json');
  const byteLevel = usesByteLevel(tokenizerJson);
  const specialTokens = (tokenizerJson.added_tokens ?? []).filter((t) => t.special).map((t) => t.content);
  const specialSet = new Set(specialTokens);
  const specialIds = new Set((tokenizerJson.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
  const modelVocab = tokenizerJson.model?.vocab;
  const tokenizerIds = [...(Array.isArray(modelVocab) ? modelVocab.map((_, i) => i) : Object.values(modelVocab ?? {})), ...(tokenizerJson.added_tokens ?? []).map((t) => t.id)];

  const llama = model.architecture !== 'gpt2';
  const c = llama ? lib.readLlamaConfig(config, model.architecture) : lib.readGpt2Config(config);
  const H = c.heads;
  const E = c.hidden;
  const nLayers = c.layers;
  const V = c.vocab;
  const context = Math.min(pageContext, Number.isFinite(c.positions) ? c.positions : pageContext);
  const inverseFrequencies = llama ? (c.frequencies ? Float64Array.from(c.frequencies) : Float64Array.from({ length: c.headDim / 2 }, (_, i) => 1 / c.base ** ((2 * i) / c.headDim))) : null;
  const window = (l) => (llama ? c.windows[l] || 0 : 0);

  // vocabulary[id]: the text shown for a token, made when first asked for.
  const texts = new Map();
  const tokenText = (id) => {
    if (!texts.has(id)) {
      const raw = model.tokenizer.tokenOf(id);
      texts.set(id, raw === undefined || raw === null ? `<id ${id}>` : displayToken(raw, { byteLevel, special: specialSet.has(raw) }));
    }
    return texts.get(id);
  };
  const vocabulary = new Proxy([], {
    get(target, key) {
      if (typeof key === 'string' && /^\d+$/.test(key)) return tokenText(Number(key));
      if (key === 'length') return V;
      return Reflect.get(target, key);
    },
  });

  const pageConfig = Object.freeze({
    nLayers,
    nHeads: H,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    dModel: E,
    vocabSize: V,
    context,
    modelContext: c.positions,
  });

  function tokenize(text) {
    const ids = model.tokenizer.encode(String(text)).slice(0, context);
    return { ids, tokens: ids.map(tokenText) };
  }

  function topTokens(logits, k) {
    let max = -Infinity;
    for (const v of logits) if (v > max) max = v;
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    // The k largest without sorting the whole vocabulary.
    const best = [];
    for (let id = 0; id < logits.length; id++) {
      const v = logits[id];
      if (best.length < k || v > best[best.length - 1].v) {
        best.push({ id, v });
        best.sort((a, b) => b.v - a.v || a.id - b.id);
        if (best.length > k) best.pop();
      }
    }
    return best.map(({ id, v }) => ({ id, token: tokenText(id), prob: Math.exp(v - max) / sum }));
  }

  // ------------------------------------------------ step view: each layer's q/k/v projections
  const projections = new Map(); // layer → Linear (or a Promise while it is read), the 2 latest kept
  let checkpoint = null;
  async function readProjections(layer) {
    checkpoint ??= await lib.openCheckpoint(source);
    const t = (n) => checkpoint.tensor(n);
    let weight;
    let bias = null;
    if (llama) {
      const p = `model.layers.${layer}.self_attn.`;
      const parts = await Promise.all(['q_proj', 'k_proj', 'v_proj'].map((n) => t(`${p}${n}.weight`)));
      weight = new Float32Array(parts.reduce((s, w) => s + w.length, 0));
      parts.reduce((offset, w) => (weight.set(w, offset), offset + w.length), 0);
      if (checkpoint.has(`${p}q_proj.bias`)) {
        const biases = await Promise.all(['q_proj', 'k_proj', 'v_proj'].map((n) => t(`${p}${n}.bias`)));
        bias = new Float32Array(biases.reduce((s, b) => s + b.length, 0));
        biases.reduce((offset, b) => (bias.set(b, offset), offset + b.length), 0);
      }
    } else {
      const p = `${checkpoint.has('transformer.wte.weight') ? 'transformer.' : ''}h.${layer}.attn.c_attn.`;
      weight = lib.transpose(await t(`${p}weight`), E, 3 * E);
      bias = (await t(`${p}bias`)).slice();
    }
    const linear = mha.createLinear({ inFeatures: E, outFeatures: (H + 2 * c.kvHeads) * c.headDim, bias: bias !== null });
    return linear.loadWeights(bias ? { weight, bias } : { weight });
  }
  let disposed = false;

  function prepareMechanism(layer) {
    if (!projections.has(layer)) {
      const pending = readProjections(layer).then((linear) => {
        if (disposed) {
          linear.dispose();
          return null;
        }
        projections.set(layer, linear);
        // Keep the two most recent layers.
        for (const [l, p] of projections) {
          if (projections.size <= 2) break;
          if (l !== layer && !(p instanceof Promise)) {
            p.dispose();
            projections.delete(l);
          }
        }
        return linear;
      });
      projections.set(layer, pending);
      pending.catch(() => projections.delete(layer));
    }
    const entry = projections.get(layer);
    return entry instanceof Promise ? entry : Promise.resolve(entry);
  }
  const mechanismReady = (layer) => projections.has(layer) && !(projections.get(layer) instanceof Promise);

  const qkvWidth = (H + 2 * c.kvHeads) * c.headDim;
  // projected: { rows, data } per layer, the projections of the rows of X seen so far (a decoder's
  // X only grows, so following the newest token projects one new row at a time).
  function mechanismOf(layer, head, T, input, output, weightRow, query, tokenAt, projected) {
    if (!mechanismReady(layer)) throw new Error(`mechanism: layer ${layer}'s projections are not read yet (prepareMechanism(${layer}))`);
    const done = projected.rows > T ? 0 : projected.rows;
    if (done < T) {
      const fresh = projections.get(layer).forward({ data: input.subarray(done * E, T * E), shape: [T - done, E] }).output.data;
      projected.data.set(fresh, done * qkvWidth);
      projected.rows = T;
    }
    const qkv = projected.data.subarray(0, T * qkvWidth);
    return headSteps({
      T,
      input,
      output,
      qkv,
      shape: { heads: H, kvHeads: c.kvHeads, headDim: c.headDim, hidden: E, window: window(layer), inverseFrequencies, qBias: llama ? c.attentionBias !== 'none' : true, normName: llama ? 'RMSNorm' : 'LayerNorm' },
      head,
      weightRow,
      query,
      tokenAt,
    });
  }
  const projectionRows = (maxLength) => [...Array(nLayers)].map(() => ({ rows: 0, data: new Float32Array(0), maxLength }));
  const ensureRows = (p) => {
    if (p.data.length === 0) p.data = new Float32Array(p.maxLength * qkvWidth);
    return p;
  };

  // ------------------------------------------------ decoding
  const triangle = (q) => (q * (q + 1)) / 2;

  function createDecoder({ maxLength = context, needWeights = true } = {}) {
    if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > context) {
      throw new RangeError(`maxLength: expected an integer from 1 to ${context}, got ${maxLength}`);
    }
    const cache = model.createCache({ maxLength });
    const ids = [];
    // rows[l][h]: row q (keys 0..q) at triangle(q).
    const rows = needWeights ? [...Array(nLayers)].map(() => [...Array(H)].map(() => new Float32Array(triangle(maxLength)))) : null;
    const inputs = [...Array(nLayers)].map(() => new Float32Array(maxLength * E));
    const outputs = [...Array(nLayers)].map(() => new Float32Array(maxLength * E));
    const projected = projectionRows(maxLength); // allocated when the step view first asks for a layer
    let gone = false;
    const alive = (what) => {
      if (gone) throw new Error(`${what}: this decoder was disposed; create a new one`);
    };
    const row = (l, h, q) => rows[l][h].subarray(triangle(q), triangle(q) + q + 1);
    return {
      maxLength,
      get length() {
        return ids.length;
      },
      get ids() {
        return ids.slice();
      },
      get tokens() {
        return ids.map(tokenText);
      },
      append(newIds) {
        alive('append');
        const first = ids.length;
        if (newIds.length < 1) throw new RangeError('append: expected at least one token (type a prompt)');
        if (first + newIds.length > maxLength) throw new RangeError(`append: the decoder holds ${first} of ${maxLength} tokens; ${newIds.length} more do not fit`);
        const T = newIds.length;
        const S = first + T;
        const r = model.forward(newIds, { cache, needWeights, needAttentionIO: true, lastOnly: true });
        r.attentionIO.forEach(({ input, output }, l) => {
          inputs[l].set(input.data, first * E);
          outputs[l].set(output.data, first * E);
        });
        if (needWeights) {
          r.attentions.forEach(({ data }, l) => {
            for (let h = 0; h < H; h++) {
              for (let t = 0; t < T; t++) {
                const q = first + t;
                rows[l][h].set(data.subarray((h * T + t) * S, (h * T + t) * S + q + 1), triangle(q));
              }
            }
          });
        }
        ids.push(...newIds);
        return { logits: r.logits.data, first, count: T };
      },
      attentionRow(layer, head, q) {
        alive('attentionRow');
        if (!rows) throw new Error('attentionRow: this decoder was created with needWeights: false');
        if (!(q >= 0 && q < ids.length)) throw new RangeError(`q: expected a position in [0, ${ids.length}), got ${q}`);
        return row(layer, head, q);
      },
      attention() {
        alive('attention');
        if (!rows) return null;
        const T = ids.length;
        return rows.map((layer, l) => layer.map((_, h) => {
          const out = new Float32Array(T * T);
          for (let q = 0; q < T; q++) out.set(row(l, h, q), q * T);
          return out;
        }));
      },
      mechanism(layer, head, { query = null } = {}) {
        alive('mechanism');
        const T = ids.length;
        return mechanismOf(layer, head, T, inputs[layer].subarray(0, T * E), outputs[layer].subarray(0, T * E), (h, q) => row(layer, h, q), query, (i) => tokenText(ids[i]), ensureRows(projected[layer]));
      },
      reset() {
        alive('reset');
        cache.reset();
        ids.length = 0;
        projected.forEach((p) => (p.rows = 0));
      },
      dispose() {
        if (gone) return;
        gone = true;
        cache.dispose();
      },
    };
  }

  function run(ids, { needWeights = true } = {}) {
    const T = ids.length;
    const r = model.forward(ids, { needWeights, lastOnly: true });
    const attention = needWeights ? r.attentions.map(({ data }) => [...Array(H)].map((_, h) => data.slice(h * T * T, (h + 1) * T * T))) : null;
    const logits = r.logits.data; // the last position's
    return {
      tokens: ids.map(tokenText),
      logits,
      attention,
      mechanism: null,
      topNext: (k = 5) => topTokens(logits, k),
    };
  }

  /** Induction probes: BOS (where the tokenizer adds one), then a random token sequence, then the same again. */
  function roleProbes(settings = PROBES) {
    const random = createRng(settings.seed);
    const bos = tokenize('').ids;
    const pool = [...new Set(tokenizerIds)].filter((id) => id < V && !specialIds.has(id)).sort((a, b) => a - b);
    const length = Math.min(settings.length, Math.floor(pool.length / 2), Math.floor((context - bos.length) / 2));
    const list = [...Array(length >= 2 ? settings.count : 0)].map(() => {
      const a = pool.slice();
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [a[i], a[j]] = [a[j], a[i]];
      }
      const sequence = a.slice(0, length);
      return { ...repeatedProbe(sequence, { prefix: bos }), text: sequence.map(tokenText).join(' ') };
    });
    return { list, bare: [] };
  }

  // generate() stops at these (the config's eos_token_id, as mha-wasm/models does).
  const eosIds = new Set([config.eos_token_id].flat().filter((id) => Number.isInteger(id)));
  const eosToken = model.tokenizer.eosToken;
  const eosFromTokenizer = model.tokenizer.idOf?.(eosToken);
  if (Number.isInteger(eosFromTokenizer)) eosIds.add(eosFromTokenizer);

  return {
    kind: 'opened',
    eosIds,
    name: name ?? model.architecture,
    architecture: model.architecture,
    config: pageConfig,
    hfConfig: config,
    vocabulary,
    specialTokens,
    unit: 'token',
    tokenize,
    topTokens,
    createDecoder,
    run,
    roleProbes,
    /** The step view needs the layer's q/k/v projections: read them (async) before mechanism(). */
    prepareMechanism,
    mechanismReady,
    causalOnly: true,
    library: model,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const p of projections.values()) if (!(p instanceof Promise)) p.dispose();
      projections.clear();
      model.dispose();
    },
  };
}
