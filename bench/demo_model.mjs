// The demo's model timed in Node, in two forms, in the same run:
//   library   web/demo/model/tiny_gpt.mjs as the page runs it: attention layers, MLP and LM head on
//             mha-wasm (createMultiHeadAttention, createLinear); LayerNorm, GELU, embeddings in JS.
//   JS MLP    the model as it was before (createJsMlpTinyGpt() below, kept here for this
//             comparison): attention on mha-wasm, the MLP and the LM head as JavaScript loops.
//
// 1. One forward pass at T = 16, 64, 256 with every head's weights (what the page draws), the two
//    forms alternating run by run; the time split between attention (mha-wasm layers), linear
//    (mha-wasm Linear) and JS (the rest: forward − both). Each layer's forward() is wrapped with a
//    clock, through a copy of `mha` whose create functions return timed objects; the model code
//    runs unchanged.
// 2. Generation: 128 new tokens after a short prompt, greedy, each token one decoding step per
//    layer through the layer caches; tokens/s of the steps (the prefill is timed apart). The
//    library form with 1 thread (with per-head weights, as the page asks, and without) and with
//    2 threads (init({ threads: 2 }) on a second module instance); the JS-MLP form with the same
//    caches, 1 thread.
// 3. Greedy parity: the library form's greedy tokens for tests/fixtures/tiny_generation.json
//    (4 prompts × 64 tokens from PyTorch).
//
//   node bench/demo_model.mjs            (this part alone; `npm run bench` runs it too)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './setup.mjs';
import { median } from './stats.mjs';

export const MODEL_DIR = join(ROOT, 'web', 'demo', 'model');
export const WEIGHTS_PATH = join(MODEL_DIR, 'tiny_stories.safetensors');
export const VOCAB_PATH = join(MODEL_DIR, 'vocab.json');
const GENERATION_FIXTURE = join(ROOT, 'tests', 'fixtures', 'tiny_generation.json');
const LENGTHS = [16, 64, 256];
// First the longest T runs for firstWarmMs (V8 compiles the model's loops
// and the wasm kernels with its optimizing tier only once they are hot).
// Then per T: warm-up for at least warmMs and warmRuns runs of each form,
// then at least minRuns timed runs of each, more until minTotalMs has passed
// (at most maxRuns); the forms alternate run by run.
const TIMING = { firstWarmMs: 1500, warmMs: 200, warmRuns: 3, minRuns: 7, minTotalMs: 600, maxRuns: 60 };
const GENERATE = { prompt: 'once upon a time there was a little girl named lily .', tokens: 128, warmRounds: 2, rounds: 7 };
export const TARGETS = { forwardSpeedup: { T: 256, ratio: 5 }, tokensPerSecond: 500, greedyCases: 4, greedyTokens: 64 };

// Story sentences made only of words in vocab.json (checked in storyText()).
const SENTENCES = [
  'once upon a time there was a little girl named lily .',
  'she had a red ball and a big dog .',
  'one day she went to the park with her mom .',
  'the dog ran to the tree and found a stick .',
  'lily laughed and gave the dog a hug .',
  'then they walked home and she was happy .',
];

/** The model's config from the .safetensors header (no wasm needed). */
export function readModelConfig(path = WEIGHTS_PATH) {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  return JSON.parse(header.__metadata__.config);
}

/**
 * `words` words of a story made of vocab.json words only, starting `offset`
 * words into the repeated sentences (so that texts can differ). With the
 * <bos> token the model adds, that is words + 1 tokens, none of them <unk>.
 */
export function storyText(vocab, words, offset = 0) {
  const known = new Set(Array.isArray(vocab) ? vocab : vocab.tokens);
  const pool = SENTENCES.join(' ').split(' ').filter((w) => known.has(w));
  if (pool.length === 0) throw new Error('demo bench: none of the story words is in vocab.json');
  return Array.from({ length: words }, (_, i) => pool[(offset + i) % pool.length]).join(' ');
}

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: median(sorted), min: sorted[0], max: sorted[sorted.length - 1] };
};

// ---------------------------------------------------------------- the JS-MLP model (before issue 10)

/**
 * The demo's model as web/demo/tiny_gpt.mjs ran it before its linear layers
 * moved to the library: attention layers on mha-wasm, everything else in
 * JavaScript (the MLP and the tied LM head as plain loops). run(ids) gives
 * the logits and every head's weights; generate(ids, n) decodes greedily
 * through one layer cache per attention layer (examples/decoding_loop.mjs).
 */
export function createJsMlpTinyGpt(mha, weightsBytes) {
  const { tensors, metadata } = mha.parseSafetensors(weightsBytes);
  const c = JSON.parse(metadata.config);
  const [E, H, nLayers, F, V, eps] = [c.d_model, c.n_heads, c.n_layers, c.d_mlp, c.vocab_size, c.layer_norm_eps ?? 1e-5];
  const w = (name) => tensors[name].data;
  const layerNorm = (x, rows, weight, bias) => {
    const y = new Float32Array(rows * E);
    for (let t = 0; t < rows; t++) {
      let mean = 0;
      for (let i = 0; i < E; i++) mean += x[t * E + i];
      mean /= E;
      let variance = 0;
      for (let i = 0; i < E; i++) variance += (x[t * E + i] - mean) ** 2;
      const inv = 1 / Math.sqrt(variance / E + eps);
      for (let i = 0; i < E; i++) y[t * E + i] = (x[t * E + i] - mean) * inv * weight[i] + bias[i];
    }
    return y;
  };
  const linear = (x, rows, inDim, weight, bias) => {
    const count = weight.length / inDim;
    const y = new Float32Array(rows * count);
    for (let t = 0; t < rows; t++) {
      for (let o = 0; o < count; o++) {
        let sum = bias ? bias[o] : 0;
        for (let i = 0; i < inDim; i++) sum += x[t * inDim + i] * weight[o * inDim + i];
        y[t * count + o] = sum;
      }
    }
    return y;
  };
  const gelu = (v) => 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
  const layers = [...Array(nLayers)].map((_, l) => mha.createMultiHeadAttention({ embedDim: E, numHeads: H }).loadWeights(weightsBytes, { prefix: `layers.${l}.attn.` }));

  // x: T rows at positions first…; attend(l, h) runs layer l on the LayerNorm output h.
  function forward(ids, first, attend, lastOnly) {
    const T = ids.length;
    let x = new Float32Array(T * E);
    ids.forEach((id, t) => {
      for (let i = 0; i < E; i++) x[t * E + i] = w('tok_emb.weight')[id * E + i] + w('pos_emb.weight')[(first + t) * E + i];
    });
    const attention = [];
    for (let l = 0; l < nLayers; l++) {
      const p = `layers.${l}.`;
      const h = layerNorm(x, T, w(p + 'ln1.weight'), w(p + 'ln1.bias'));
      const { output, weights } = attend(l, { data: h, shape: [T, E] });
      if (weights) attention.push([...Array(H)].map((_, head) => weights.data.slice(head * T * weights.shape[2], (head + 1) * T * weights.shape[2])));
      x = x.map((v, i) => v + output.data[i]);
      const h2 = layerNorm(x, T, w(p + 'ln2.weight'), w(p + 'ln2.bias'));
      const hidden = linear(h2, T, E, w(p + 'mlp_fc.weight'), w(p + 'mlp_fc.bias')).map(gelu);
      const mlp = linear(hidden, T, F, w(p + 'mlp_proj.weight'), w(p + 'mlp_proj.bias'));
      x = x.map((v, i) => v + mlp[i]);
    }
    const rows = lastOnly ? 1 : T;
    const last = lastOnly ? x.subarray((T - 1) * E) : x;
    return { logits: linear(layerNorm(last, rows, w('ln_f.weight'), w('ln_f.bias')), rows, E, w('tok_emb.weight'), null), attention };
  }

  return {
    run: (ids) => forward(ids, 0, (l, h) => layers[l].forward(h, h, h, { isCausal: true, averageAttnWeights: false }), false),
    /** Greedy, through layer caches: the new ids. */
    generate(ids, count) {
      const caches = layers.map((layer) => layer.createCache({ batchSize: 1, maxLength: ids.length + count }));
      try {
        const attend = (l, h) => layers[l].forward(h, h, h, { cache: caches[l], isCausal: true, needWeights: false });
        let { logits } = forward(ids, 0, attend, true);
        const out = [];
        for (let i = 0; i < count; i++) {
          let best = 0;
          for (let v = 1; v < V; v++) if (logits[v] > logits[best]) best = v;
          out.push(best);
          ({ logits } = forward([best], ids.length + i, attend, true));
        }
        return out;
      } finally {
        caches.forEach((cache) => cache.dispose());
      }
    },
    dispose: () => layers.forEach((layer) => layer.dispose()),
  };
}

// ---------------------------------------------------------------- timing

/** A copy of `mha` whose layers add the time of their forward() to clock.attentionMs / clock.linearMs. */
function instrumentedMha(mha, clock) {
  const timed = (object, key) => {
    const forward = object.forward.bind(object);
    // An own property on the instance: loadWeights() returns `this`, so the model keeps this forward.
    object.forward = (...args) => {
      const start = performance.now();
      try {
        return forward(...args);
      } finally {
        clock[key] += performance.now() - start;
      }
    };
    return object;
  };
  return {
    ...mha,
    createMultiHeadAttention: (options) => timed(mha.createMultiHeadAttention(options), 'attentionMs'),
    createLinear: (options) => timed(mha.createLinear(options), 'linearMs'),
  };
}

function timeForward(forms, lengths, ids, log) {
  const results = [];
  const warmStart = performance.now();
  for (let i = 0; i < TIMING.warmRuns || performance.now() - warmStart < TIMING.firstWarmMs; i++) for (const f of forms) f.run(ids);
  for (const T of lengths) {
    const input = ids.slice(0, T);
    const once = (f) => {
      f.clock.attentionMs = 0;
      f.clock.linearMs = 0;
      const start = performance.now();
      f.run(input);
      const total = performance.now() - start;
      return { total, attention: f.clock.attentionMs, linear: f.clock.linearMs };
    };
    const start = performance.now();
    for (let i = 0; i < TIMING.warmRuns || performance.now() - start < forms.length * TIMING.warmMs; i++) forms.forEach(once);
    const samples = forms.map(() => []);
    const timedStart = performance.now();
    while (samples[0].length < TIMING.minRuns || (performance.now() - timedStart < forms.length * TIMING.minTotalMs && samples[0].length < TIMING.maxRuns)) {
      forms.forEach((f, i) => samples[i].push(once(f)));
    }
    // Per-pair ratio (runs i of both forms ran back to back), then the median.
    const ratios = samples[1].map((s, i) => s.total / samples[0][i].total);
    forms.forEach((f, i) => {
      const runs = samples[i];
      const row = {
        T,
        form: f.name,
        runs: runs.length,
        totalMs: stats(runs.map((s) => s.total)),
        attentionMs: stats(runs.map((s) => s.attention)),
        linearMs: stats(runs.map((s) => s.linear)),
        jsMs: stats(runs.map((s) => s.total - s.attention - s.linear)),
        ...(i === 0 ? { speedupVsJsMlp: median(ratios) } : {}),
      };
      results.push(row);
      log(`  demo model T=${String(T).padEnd(3)} ${f.name.padEnd(7)} forward ${row.totalMs.median.toFixed(3)} ms (attention ${row.attentionMs.median.toFixed(3)}, linear ${row.linearMs.median.toFixed(3)}, JS ${row.jsMs.median.toFixed(3)}; ${row.runs} runs)`);
    });
  }
  return results;
}

// Greedy generation of GENERATE.tokens after the prompt; rounds alternate between the rows.
function timeGeneration(rows, promptIds, log) {
  const samples = rows.map(() => []);
  for (let round = 0; round < GENERATE.warmRounds + GENERATE.rounds; round++) {
    rows.forEach((row, i) => {
      const s = row.once(promptIds, GENERATE.tokens);
      if (round >= GENERATE.warmRounds) samples[i].push(s);
    });
  }
  return rows.map((row, i) => {
    const steps = samples[i].map((s) => s.stepsMs);
    const out = {
      name: row.name,
      threads: row.threads,
      weights: row.weights,
      tokens: GENERATE.tokens,
      rounds: steps.length,
      stepsMs: stats(steps),
      prefillMs: stats(samples[i].map((s) => s.prefillMs)),
      tokensPerSecond: GENERATE.tokens / (median(steps) / 1000),
      tokensPerSecondWithPrefill: GENERATE.tokens / (median(samples[i].map((s) => s.stepsMs + s.prefillMs)) / 1000),
    };
    log(`  demo generation ${out.name}: ${out.tokensPerSecond.toFixed(0)} tokens/s (${GENERATE.tokens} steps in ${out.stepsMs.median.toFixed(1)} ms, prefill ${out.prefillMs.median.toFixed(2)} ms)`);
    return out;
  });
}

/**
 * Everything above. Returns { host, config, lengths, forward: [rows], generation: [rows],
 * greedy: { cases, tokens, equal: [per case] }, targets: [{ what, target, measured, met }] }.
 */
export async function runDemoModel(log = () => {}) {
  const { init } = await import('../dist/node.mjs');
  const { createTinyGpt, argmax } = await import('../web/demo/model/tiny_gpt.mjs');
  const mha = await init();
  const bytes = readFileSync(WEIGHTS_PATH);
  const vocab = JSON.parse(readFileSync(VOCAB_PATH, 'utf8'));
  const libraryClock = { attentionMs: 0, linearMs: 0 };
  const jsClock = { attentionMs: 0, linearMs: 0 };
  const model = createTinyGpt(instrumentedMha(mha, libraryClock), bytes, vocab);
  const jsMlp = createJsMlpTinyGpt(instrumentedMha(mha, jsClock), bytes);
  const plain = createTinyGpt(mha, bytes, vocab); // untimed layers, for generation
  let threaded = null;
  let threadsNote = null;
  try {
    const mha2 = await (await import('../dist/node.mjs?threads')).init({ threads: 2 });
    if (mha2.capabilities.threads === 2) threaded = createTinyGpt(mha2, bytes, vocab);
    else threadsNote = 'init({ threads: 2 }) fell back to 1 thread';
  } catch (error) {
    threadsNote = `the threads build could not be loaded: ${error.message}`;
  }
  try {
    const { context } = model.config;
    const lengths = [...new Set(LENGTHS.map((T) => Math.min(T, context)))];
    const { ids } = model.tokenize(storyText(vocab, context - 1));
    const forward = timeForward(
      [
        { name: 'library', run: (x) => model.run(x), clock: libraryClock },
        { name: 'JS MLP', run: (x) => jsMlp.run(x), clock: jsClock },
      ],
      lengths,
      ids,
      log,
    );

    // Generation: the decoding steps, timed apart from the prefill.
    const decode = (m, needWeights) => (prompt, count) => {
      const decoder = m.createDecoder({ needWeights, maxLength: prompt.length + count });
      try {
        let start = performance.now();
        let { logits } = decoder.append(prompt);
        const prefillMs = performance.now() - start;
        start = performance.now();
        for (let i = 0; i < count; i++) ({ logits } = decoder.append([argmax(logits)]));
        return { prefillMs, stepsMs: performance.now() - start };
      } finally {
        decoder.dispose();
      }
    };
    const jsOnce = (prompt, count) => {
      const start = performance.now();
      jsMlp.generate(prompt, count);
      return { prefillMs: 0, stepsMs: performance.now() - start }; // prefill included in the steps
    };
    const promptIds = model.tokenize(GENERATE.prompt).ids;
    const generation = timeGeneration(
      [
        { name: 'library, 1 thread, per-head weights (the page)', threads: 1, weights: true, once: decode(plain, true) },
        { name: 'library, 1 thread, no weights', threads: 1, weights: false, once: decode(plain, false) },
        ...(threaded ? [{ name: 'library, 2 threads, per-head weights', threads: 2, weights: true, once: decode(threaded, true) }] : []),
        { name: 'JS MLP (before), 1 thread, no weights', threads: 1, weights: false, once: jsOnce, prefillIncluded: true },
      ],
      promptIds,
      log,
    );

    // Greedy parity with PyTorch.
    const fixture = JSON.parse(readFileSync(GENERATION_FIXTURE, 'utf8'));
    const { generate } = await import('../web/demo/model/tiny_gpt.mjs');
    const equal = fixture.cases.map((c) => {
      const got = generate(plain, c.prompt_ids, { maxNewTokens: c.generated_ids.length, strategy: 'greedy' });
      let same = 0;
      while (same < got.length && got[same] === c.generated_ids[same]) same++;
      return { prompt: c.prompt, tokens: c.generated_ids.length, equalPrefix: same, equal: same === c.generated_ids.length };
    });

    const at = (T, form) => forward.find((r) => r.T === T && r.form === form);
    const big = at(TARGETS.forwardSpeedup.T, 'library');
    const oneThread = generation.find((g) => g.threads === 1 && g.weights);
    const targets = [
      {
        what: `${TARGETS.forwardSpeedup.T}-token forward vs the JS-MLP model (same run, median of paired ratios)`,
        target: `>= ${TARGETS.forwardSpeedup.ratio}x`,
        measured: big ? `${big.speedupVsJsMlp.toFixed(1)}x (${big.totalMs.median.toFixed(1)} vs ${at(TARGETS.forwardSpeedup.T, 'JS MLP').totalMs.median.toFixed(0)} ms)` : 'not run',
        met: big ? big.speedupVsJsMlp >= TARGETS.forwardSpeedup.ratio : null,
      },
      {
        what: `generation, 1 thread, Node (${GENERATE.tokens} tokens, per-head weights as the page)`,
        target: `>= ${TARGETS.tokensPerSecond} tokens/s`,
        measured: `${oneThread.tokensPerSecond.toFixed(0)} tokens/s`,
        met: oneThread.tokensPerSecond >= TARGETS.tokensPerSecond,
      },
      {
        what: `greedy tokens equal to PyTorch (${fixture.cases.length} prompts x ${fixture.new_tokens})`,
        target: `${TARGETS.greedyCases} of ${TARGETS.greedyCases}, all ${TARGETS.greedyTokens}`,
        measured: `${equal.filter((e) => e.equal).length} of ${equal.length} (${equal.map((e) => e.equalPrefix).join(', ')} tokens equal)`,
        met: equal.length === TARGETS.greedyCases && equal.every((e) => e.equal),
      },
    ];
    const c = model.config;
    return {
      host: `node ${process.version}`,
      config: { layers: c.nLayers, heads: c.nHeads, dModel: c.dModel, dMlp: c.dMlp, vocabSize: c.vocabSize, context: c.context },
      lengths,
      skippedLengths: LENGTHS.filter((T) => T > context),
      timing: TIMING,
      generate: GENERATE,
      forward,
      generation,
      threadsNote,
      greedy: equal,
      targets,
    };
  } finally {
    [model, jsMlp, plain, threaded].forEach((m) => m?.dispose());
  }
}

const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

/** Pads columns; `numeric[i]` right-aligns column i. */
export function formatColumns(header, rows, numeric) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => (numeric[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The printed tables of runDemoModel()'s result. */
export function formatDemoModel(result) {
  const c = result.config;
  const title = `demo model in ${result.host}: web/demo/model/tiny_gpt.mjs (${c.layers} layers, ${c.heads} heads, E=${c.dModel}, MLP ${c.dMlp}, ` +
    `vocabulary ${c.vocabSize}, context ${c.context}) on the library, vs the JS-MLP model (before), one forward pass with every head's weights, median of the runs`;
  const rows = result.forward.map((r) => [
    `T=${r.T}`,
    r.form,
    fmt(r.totalMs.median),
    `${fmt(r.totalMs.min)}–${fmt(r.totalMs.max)}`,
    fmt(r.attentionMs.median),
    r.form === 'library' ? fmt(r.linearMs.median) : '–',
    fmt(r.jsMs.median),
    r.speedupVsJsMlp ? `${r.speedupVsJsMlp.toFixed(1)}x` : '',
    r.runs,
  ]);
  const forward = formatColumns(
    ['tokens', 'model', 'forward ms', 'min–max ms', 'attention ms', 'linear ms', 'JS ms', 'vs JS MLP', 'runs'],
    rows,
    [false, false, true, true, true, true, true, true, true],
  );
  const gen = formatColumns(
    ['generation (greedy, layer caches)', 'tokens/s', `${result.generate.tokens} steps ms (min–max)`, 'prefill ms', 'rounds'],
    result.generation.map((g) => [
      g.name,
      fmt(g.tokensPerSecond),
      `${fmt(g.stepsMs.median)} (${fmt(g.stepsMs.min)}–${fmt(g.stepsMs.max)})`,
      g.name.startsWith('JS MLP') ? 'in steps' : fmt(g.prefillMs.median),
      g.rounds,
    ]),
    [false, true, true, true, true],
  );
  const targets = formatColumns(
    ['target', 'wanted', 'measured', 'met'],
    result.targets.map((t) => [t.what, t.target, t.measured, t.met === null ? '–' : t.met ? 'yes' : 'NO']),
    [false, false, false, false],
  );
  const notes = [
    result.skippedLengths.length > 0 ? `not run: T=${result.skippedLengths.join(', ')} (longer than the model's context, ${c.context})` : null,
    result.threadsNote ? `2 threads: ${result.threadsNote}` : null,
    `generation: "${result.generate.prompt}" (${result.generate.tokens} new tokens, ${result.generate.warmRounds} warm-up rounds, rows alternate round by round)`,
  ].filter(Boolean);
  return `${title}\n${forward}\n\n${gen}\n\n${targets}\n${notes.join('\n')}`;
}

// `node bench/demo_model.mjs`: this part alone.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runDemoModel((m) => process.stderr.write(`${m}\n`));
  console.log(formatDemoModel(result));
}
