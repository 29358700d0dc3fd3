// GPT-2 (config model_type "gpt2"), as in Hugging Face's modeling_gpt2.py:
// learned positions, pre-LayerNorm blocks, tanh-GELU MLP, LM head tied to the
// token embedding. Weights are Conv1D, (in, out), named h.N.attn.c_attn etc.,
// with or without a "transformer." prefix; the attn.bias / attn.masked_bias
// buffers of older checkpoints are not weights and are ignored.
import { embed, geluExact, geluTanh, layerNorm, transpose } from './blocks.mjs';
import { createDecoder } from './decoder.mjs';

const ACTIVATIONS = { gelu_new: geluTanh, gelu_pytorch_tanh: geluTanh, gelu_fast: geluTanh, gelu: geluExact };

export function readGpt2Config(c) {
  const need = (key) => {
    if (!Number.isInteger(c[key]) || c[key] < 1) throw new Error(`loadModel: config.json: ${key} must be a positive integer, got ${JSON.stringify(c[key])}`);
    return c[key];
  };
  const activation = c.activation_function ?? 'gelu_new';
  if (!ACTIVATIONS[activation]) throw new Error(`loadModel: config.json: activation_function ${JSON.stringify(activation)} is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
  const hidden = need('n_embd');
  const heads = need('n_head');
  if (hidden % heads !== 0) throw new Error(`loadModel: config.json: n_embd ${hidden} is not a multiple of n_head ${heads}`);
  return {
    hidden,
    heads,
    kvHeads: heads,
    headDim: hidden / heads,
    layers: need('n_layer'),
    vocab: need('vocab_size'),
    positions: need('n_positions'),
    inner: c.n_inner ?? 4 * hidden,
    eps: c.layer_norm_epsilon ?? 1e-5,
    activation,
  };
}

export function gpt2Tensors(c, checkpoint) {
  const prefix = checkpoint.has('transformer.wte.weight') ? 'transformer.' : '';
  const E = c.hidden;
  const expected = new Map([
    [`${prefix}wte.weight`, [c.vocab, E]],
    [`${prefix}wpe.weight`, [c.positions, E]],
    [`${prefix}ln_f.weight`, [E]],
    [`${prefix}ln_f.bias`, [E]],
  ]);
  for (let l = 0; l < c.layers; l++) {
    const p = `${prefix}h.${l}.`;
    for (const [name, shape] of [
      ['ln_1.weight', [E]], ['ln_1.bias', [E]], ['attn.c_attn.weight', [E, 3 * E]], ['attn.c_attn.bias', [3 * E]],
      ['attn.c_proj.weight', [E, E]], ['attn.c_proj.bias', [E]], ['ln_2.weight', [E]], ['ln_2.bias', [E]],
      ['mlp.c_fc.weight', [E, c.inner]], ['mlp.c_fc.bias', [c.inner]], ['mlp.c_proj.weight', [c.inner, E]], ['mlp.c_proj.bias', [E]],
    ]) expected.set(p + name, shape);
  }
  // An untied export may carry lm_head.weight; it is used when present.
  const optional = new Map([['lm_head.weight', [c.vocab, E]]]);
  const ignored = (name) => /(^|\.)h\.\d+\.attn\.(bias|masked_bias)$/.test(name);
  return { prefix, expected, optional, ignored };
}

export async function buildGpt2(mha, c, checkpoint, { prefix }, progress) {
  const E = c.hidden;
  const t = (name) => checkpoint.tensor(prefix + name);
  const wte = (await t('wte.weight')).slice();
  const wpe = (await t('wpe.weight')).slice();
  const activation = ACTIVATIONS[c.activation];
  const owned = [];
  const linear = (inFeatures, outFeatures, weight, bias) => {
    const layer = mha.createLinear({ inFeatures, outFeatures, bias: Boolean(bias) });
    owned.push(layer);
    return layer.loadWeights(bias ? { weight, bias } : { weight });
  };
  const layers = [];
  for (let l = 0; l < c.layers; l++) {
    const p = `h.${l}.`;
    const attn = mha.createMultiHeadAttention({ embedDim: E, numHeads: c.heads, batchFirst: true });
    owned.push(attn);
    attn.loadWeights({
      in_proj_weight: transpose(await t(p + 'attn.c_attn.weight'), E, 3 * E),
      in_proj_bias: await t(p + 'attn.c_attn.bias'),
      'out_proj.weight': transpose(await t(p + 'attn.c_proj.weight'), E, E),
      'out_proj.bias': await t(p + 'attn.c_proj.bias'),
    });
    const fc = linear(E, c.inner, transpose(await t(p + 'mlp.c_fc.weight'), E, c.inner), await t(p + 'mlp.c_fc.bias'));
    const proj = linear(c.inner, E, transpose(await t(p + 'mlp.c_proj.weight'), c.inner, E), await t(p + 'mlp.c_proj.bias'));
    const [ln1w, ln1b, ln2w, ln2b] = await Promise.all(['ln_1.weight', 'ln_1.bias', 'ln_2.weight', 'ln_2.bias'].map(async (n) => (await t(p + n)).slice()));
    layers.push({
      module: attn,
      norm1: (x) => layerNorm(x, E, ln1w, ln1b, c.eps),
      norm2: (x) => layerNorm(x, E, ln2w, ln2b, c.eps),
      attention(h, L, { cache, needWeights }) {
        const x = { data: h, shape: [1, L, E] };
        const r = attn.forward(x, x, x, { cache, isCausal: true, needWeights, averageAttnWeights: false });
        return { output: r.output.data, weights: r.weights && { data: r.weights.data, shape: r.weights.shape.slice(1) } };
      },
      mlp: (h, L) => proj.forward({ data: activation(fc.forward({ data: h, shape: [L, E] }).output.data), shape: [L, c.inner] }).output.data,
    });
    progress?.(l + 1);
  }
  const lnfw = (await t('ln_f.weight')).slice(), lnfb = (await t('ln_f.bias')).slice();
  const head = linear(E, c.vocab, checkpoint.has('lm_head.weight') ? await checkpoint.tensor('lm_head.weight') : wte, null);
  const forward = createDecoder({
    hidden: E,
    vocab: c.vocab,
    embed: (ids, first) => {
      if (first + ids.length > c.positions) throw new RangeError(`forward: GPT-2 has ${c.positions} positions; tokens ${first}..${first + ids.length - 1} do not fit`);
      return embed(wte, E, ids, wpe, first);
    },
    layers,
    finalNorm: (x) => layerNorm(x, E, lnfw, lnfb, c.eps),
    lmHead: (x, rows) => head.forward({ data: x, shape: [rows, E] }).output.data,
  });
  return {
    forward,
    attentionLayers: layers.map((layer) => layer.module),
    maxPositions: c.positions,
    dispose: () => owned.forEach((o) => o.dispose()),
  };
}
