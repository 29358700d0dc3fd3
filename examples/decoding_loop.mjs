// Generates text with the demo's small GPT (web/demo/model/) one token at a
// time, through a KV cache per attention layer: the prompt runs once (the
// prefill), then every step feeds only the newest token. Each layer's cache
// keeps the projected keys and values of everything before it in WebAssembly
// memory, so a step never re-projects or re-sends the past.
//
//   node examples/decoding_loop.mjs ["once upon a time"] [tokens to generate]
//
// At the end, the logits of the last step are compared with one full forward
// pass over the whole text (web/demo/model/tiny_gpt.mjs), which must agree.
// That file is the complete worked example (every linear layer on the library,
// sampling, a decoder object); this one keeps the loop in plain sight.
import { readFileSync } from 'node:fs';
import { init } from '../dist/node.mjs';
import { createTinyGpt } from '../web/demo/model/tiny_gpt.mjs';

const prompt = process.argv[2] ?? 'once upon a time there was a little fox';
const newTokens = Number(process.argv[3] ?? 40);

const mha = await init();
const model = new URL('../web/demo/model/', import.meta.url);
const weightsBytes = readFileSync(new URL('tiny_stories.safetensors', model));
const vocab = JSON.parse(readFileSync(new URL('vocab.json', model), 'utf8'));
const { tensors } = mha.parseSafetensors(weightsBytes);
const w = (name) => tensors[name].data;
const reference = createTinyGpt(mha, weightsBytes, vocab); // tokenizer, config, and the full-pass check
const { dModel: E, nHeads: H, nLayers, dMlp, context, eps, vocabSize: V } = reference.config;

// The model's attention layers, each with its own cache of up to `context` tokens.
const layers = [...Array(nLayers)].map((_, l) => mha.createMultiHeadAttention({ embedDim: E, numHeads: H }).loadWeights(weightsBytes, { prefix: `layers.${l}.attn.` }));
const caches = layers.map((layer) => layer.createCache({ batchSize: 1, maxLength: context }));

function layerNorm(x, rows, weight, bias) {
  const y = new Float32Array(rows * E);
  for (let t = 0; t < rows; t++) {
    const row = x.subarray(t * E, (t + 1) * E);
    const mean = row.reduce((a, b) => a + b, 0) / E;
    const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / E;
    for (let i = 0; i < E; i++) y[t * E + i] = ((row[i] - mean) / Math.sqrt(variance + eps)) * weight[i] + bias[i];
  }
  return y;
}
function linear(x, rows, inDim, weight, bias) {
  const out = weight.length / inDim;
  const y = new Float32Array(rows * out);
  for (let t = 0; t < rows; t++) {
    for (let o = 0; o < out; o++) {
      let sum = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) sum += x[t * inDim + i] * weight[o * inDim + i];
      y[t * out + o] = sum;
    }
  }
  return y;
}
const gelu = (v) => 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));

// Runs the new tokens `ids` (at positions start, start + 1, ...) through the
// model, appending to every layer's cache; returns the logits of the last one.
function forward(ids, start) {
  const T = ids.length;
  let x = new Float32Array(T * E);
  ids.forEach((id, t) => {
    for (let i = 0; i < E; i++) x[t * E + i] = w('tok_emb.weight')[id * E + i] + w('pos_emb.weight')[(start + t) * E + i];
  });
  for (let l = 0; l < nLayers; l++) {
    const p = `layers.${l}.`;
    const h = { data: layerNorm(x, T, w(p + 'ln1.weight'), w(p + 'ln1.bias')), shape: [T, E] };
    // key and value are the new tokens only; the cache supplies the rest.
    const { output } = layers[l].forward(h, h, h, { cache: caches[l], isCausal: true, needWeights: false });
    x = x.map((v, i) => v + output.data[i]);
    const h2 = layerNorm(x, T, w(p + 'ln2.weight'), w(p + 'ln2.bias'));
    const mlp = linear(linear(h2, T, E, w(p + 'mlp_fc.weight'), w(p + 'mlp_fc.bias')).map(gelu), T, dMlp, w(p + 'mlp_proj.weight'), w(p + 'mlp_proj.bias'));
    x = x.map((v, i) => v + mlp[i]);
  }
  const last = layerNorm(x.subarray((T - 1) * E), 1, w('ln_f.weight'), w('ln_f.bias'));
  return linear(last, 1, E, w('tok_emb.weight'), null);
}

const argmax = (logits) => logits.reduce((best, v, i) => (v > logits[best] ? i : best), 0);
const { ids } = reference.tokenize(prompt);
const started = performance.now();
let logits = forward(ids, 0); // the prefill
const prefillMs = performance.now() - started;
const generated = [];
while (generated.length < newTokens && ids.length < context) {
  const next = argmax(logits); // greedy decoding
  generated.push(next);
  ids.push(next);
  logits = forward([next], ids.length - 1); // one decoding step
}
const decodeMs = performance.now() - started - prefillMs;

console.log(`${prompt} ⟶ ${generated.map((id) => vocab.tokens[id]).join(' ')}`);
console.log(`prefill of ${ids.length - generated.length} tokens: ${prefillMs.toFixed(1)} ms; ${generated.length} steps: ` +
  `${(generated.length / (decodeMs / 1000)).toFixed(0)} tokens/s; cache length ${caches[0].length} of ${context}`);

// The same text in one full pass: its last logits must match the last step's.
const full = reference.run(ids).logits.subarray((ids.length - 1) * V);
const worst = full.reduce((m, v, i) => Math.max(m, Math.abs(v - logits[i])), 0);
console.log(`last step vs one full forward pass: max |Δ logit| = ${worst.toExponential(2)}`);
[...caches, ...layers].forEach((o) => o.dispose());
reference.dispose();
if (!(worst < 1e-3)) process.exit(1);
