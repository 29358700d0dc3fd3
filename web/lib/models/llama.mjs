// The Llama family (config model_type "llama", "mistral", "qwen2"), as in
// Hugging Face's modeling_llama.py / modeling_mistral.py / modeling_qwen2.py:
// RMSNorm, grouped-query attention with rotate_half RoPE at rope_theta, a
// SwiGLU MLP, optionally tied embeddings. Mistral's sliding_window (null =
// none) applies to every layer; Qwen2's only with use_sliding_window, from
// layer max_window_layers on; Qwen2 has q/k/v biases. Llama 3's rope_scaling
// ("llama3") rescales the RoPE frequencies; any other scaling type is refused.
import { embed, rmsNorm, swiGlu } from './blocks.mjs';
import { createDecoder } from './decoder.mjs';

function positiveInteger(c, key, fallback) {
  const value = c[key] ?? fallback;
  if (!Number.isInteger(value) || value < 1) throw new Error(`loadModel: config.json: ${key} must be a positive integer, got ${JSON.stringify(c[key])}`);
  return value;
}

// Llama 3's frequency rescaling (transformers' _compute_llama3_parameters).
function llama3Frequencies(base, dims, s) {
  const factor = s.factor, low = s.low_freq_factor, high = s.high_freq_factor, context = s.original_max_position_embeddings;
  for (const [key, value] of Object.entries({ factor, low_freq_factor: low, high_freq_factor: high, original_max_position_embeddings: context })) {
    if (!(typeof value === 'number' && value > 0)) throw new Error(`loadModel: config.json: rope_scaling.${key} must be a positive number, got ${JSON.stringify(value)}`);
  }
  const lowWavelength = context / low, highWavelength = context / high;
  return Float32Array.from({ length: dims / 2 }, (_, i) => {
    const frequency = Math.fround(1 / Math.fround(base ** ((2 * i) / dims)));
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highWavelength) return frequency;
    if (wavelength > lowWavelength) return frequency / factor;
    const smooth = (context / wavelength - low) / (high - low);
    return (1 - smooth) * (frequency / factor) + smooth * frequency;
  });
}

export function readLlamaConfig(c, type) {
  const hidden = positiveInteger(c, 'hidden_size');
  const heads = positiveInteger(c, 'num_attention_heads');
  const kvHeads = positiveInteger(c, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) throw new Error(`loadModel: config.json: num_key_value_heads ${kvHeads} does not divide num_attention_heads ${heads}`);
  const headDim = c.head_dim ?? hidden / heads;
  if (!Number.isInteger(headDim) || headDim < 1) throw new Error(`loadModel: config.json: head_dim must be a positive integer (hidden_size / num_attention_heads when absent), got ${headDim}`);
  const base = c.rope_theta ?? 10000;
  const scaling = c.rope_scaling;
  let frequencies;
  if (scaling) {
    const kind = scaling.rope_type ?? scaling.type;
    if (kind === 'llama3') frequencies = llama3Frequencies(base, headDim, scaling);
    else if (kind !== 'default') throw new Error(`loadModel: config.json: rope_scaling type ${JSON.stringify(kind)} is not supported (supported: "llama3", "default")`);
  }
  const layers = positiveInteger(c, 'num_hidden_layers');
  // Window per layer: Mistral's everywhere, Qwen2's only from max_window_layers on and only when enabled.
  const windowOf = (l) => {
    if (type === 'qwen2' && !(c.use_sliding_window && l >= (c.max_window_layers ?? 0))) return 0;
    if (type === 'llama') return 0;
    return c.sliding_window ?? 0;
  };
  return {
    type,
    hidden,
    heads,
    kvHeads,
    headDim,
    layers,
    vocab: positiveInteger(c, 'vocab_size'),
    inner: positiveInteger(c, 'intermediate_size'),
    eps: c.rms_norm_eps ?? 1e-6,
    base,
    frequencies,
    tied: Boolean(c.tie_word_embeddings),
    attentionBias: type === 'qwen2' ? 'qkv' : c.attention_bias ? 'all' : 'none',
    mlpBias: Boolean(c.mlp_bias),
    windows: Array.from({ length: layers }, (_, l) => windowOf(l)),
    positions: c.max_position_embeddings ?? Infinity,
  };
}

export function llamaTensors(c) {
  const { hidden: E, heads: H, kvHeads: Hkv, headDim: D, inner: I } = c;
  const expected = new Map([['model.embed_tokens.weight', [c.vocab, E]], ['model.norm.weight', [E]]]);
  if (!c.tied) expected.set('lm_head.weight', [c.vocab, E]);
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}.`;
    const shapes = [
      ['input_layernorm.weight', [E]], ['post_attention_layernorm.weight', [E]],
      ['self_attn.q_proj.weight', [H * D, E]], ['self_attn.k_proj.weight', [Hkv * D, E]],
      ['self_attn.v_proj.weight', [Hkv * D, E]], ['self_attn.o_proj.weight', [E, H * D]],
      ['mlp.gate_proj.weight', [I, E]], ['mlp.up_proj.weight', [I, E]], ['mlp.down_proj.weight', [E, I]],
    ];
    if (c.attentionBias !== 'none') shapes.push(['self_attn.q_proj.bias', [H * D]], ['self_attn.k_proj.bias', [Hkv * D]], ['self_attn.v_proj.bias', [Hkv * D]]);
    if (c.attentionBias === 'all') shapes.push(['self_attn.o_proj.bias', [E]]);
    if (c.mlpBias) shapes.push(['mlp.gate_proj.bias', [I]], ['mlp.up_proj.bias', [I]], ['mlp.down_proj.bias', [E]]);
    for (const [name, shape] of shapes) expected.set(p + name, shape);
  }
  // A tied model may still carry lm_head.weight (used when present).
  const optional = new Map(c.tied ? [['lm_head.weight', [c.vocab, E]]] : []);
  const ignored = (name) => /\.rotary_emb\.inv_freq$/.test(name);
  return { expected, optional, ignored };
}

export async function buildLlama(mha, c, checkpoint, progress) {
  const { hidden: E, inner: I } = c;
  const t = (name) => checkpoint.tensor(name);
  const owned = [];
  const linear = async (inFeatures, outFeatures, prefix) => {
    const bias = checkpoint.has(`${prefix}.bias`);
    const layer = mha.createLinear({ inFeatures, outFeatures, bias });
    owned.push(layer);
    const weight = await t(`${prefix}.weight`);
    return layer.loadWeights(bias ? { weight, bias: await t(`${prefix}.bias`) } : { weight });
  };
  const table = (await t('model.embed_tokens.weight')).slice();
  const layers = [];
  for (let l = 0; l < c.layers; l++) {
    const p = `model.layers.${l}.`;
    const attn = mha.createSelfAttention({
      embedDim: E,
      numHeads: c.heads,
      numKVHeads: c.kvHeads,
      headDim: c.headDim,
      bias: c.attentionBias !== 'none',
      outBias: c.attentionBias === 'all',
      rotary: { base: c.base, ...(c.frequencies ? { frequencies: c.frequencies } : {}) },
      ...(c.windows[l] ? { window: c.windows[l] } : {}),
    });
    owned.push(attn);
    const names = attn.expectedWeights.map(({ name }) => name);
    attn.loadWeights(Object.fromEntries(await Promise.all(names.map(async (name) => [name, await t(`${p}self_attn.${name}`)]))));
    const gate = await linear(E, I, `${p}mlp.gate_proj`), up = await linear(E, I, `${p}mlp.up_proj`), down = await linear(I, E, `${p}mlp.down_proj`);
    const n1 = (await t(`${p}input_layernorm.weight`)).slice(), n2 = (await t(`${p}post_attention_layernorm.weight`)).slice();
    layers.push({
      module: attn,
      norm1: (x) => rmsNorm(x, E, n1, c.eps),
      norm2: (x) => rmsNorm(x, E, n2, c.eps),
      attention(h, L, { cache, needWeights }) {
        const r = attn.forward({ data: h, shape: [1, L, E] }, { cache, needWeights, averageAttnWeights: false });
        return { output: r.output.data, weights: r.weights && { data: r.weights.data, shape: r.weights.shape.slice(1) } };
      },
      mlp(h, L) {
        const x = { data: h, shape: [L, E] };
        const hidden = swiGlu(gate.forward(x).output.data, up.forward(x).output.data);
        return down.forward({ data: hidden, shape: [L, I] }).output.data;
      },
    });
    progress?.(l + 1);
  }
  const norm = (await t('model.norm.weight')).slice();
  const head = checkpoint.has('lm_head.weight') ? await linear(E, c.vocab, 'lm_head') : (() => {
    const tied = mha.createLinear({ inFeatures: E, outFeatures: c.vocab, bias: false });
    owned.push(tied);
    return tied.loadWeights({ weight: table });
  })();
  const forward = createDecoder({
    hidden: E,
    vocab: c.vocab,
    embed: (ids, first) => {
      if (first + ids.length > c.positions) throw new RangeError(`forward: the model has ${c.positions} positions; tokens ${first}..${first + ids.length - 1} do not fit`);
      return embed(table, E, ids);
    },
    layers,
    finalNorm: (x) => rmsNorm(x, E, norm, c.eps),
    lmHead: (x, rows) => head.forward({ data: x, shape: [rows, E] }).output.data,
  });
  return {
    forward,
    attentionLayers: layers.map((layer) => layer.module),
    maxPositions: c.positions,
    dispose: () => owned.forEach((o) => o.dispose()),
  };
}
