// The demo's model (web/demo/tiny_gpt.mjs) timed in Node: how one forward
// pass splits between the attention layers (mha-wasm) and the rest of the
// model (embeddings, LayerNorm, MLP, LM head: plain JavaScript).
//
// tiny_gpt.mjs is used unchanged. It receives a copy of the `mha` object whose
// createMultiHeadAttention() returns layers with a timed forward(): the time
// spent inside the layers is summed per model.run(), the rest is total − that.
// The same wrapper can ask the layers for no attention weights
// (needWeights: false) to show what returning per-head weights costs.
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
const LENGTHS = [16, 64, 256];
// First the longest T runs for firstWarmMs (V8 compiles the model's loops
// and the wasm kernels with its optimizing tier only once they are hot).
// Then per T and weights mode: warm-up for at least warmMs and warmRuns runs,
// then at least minRuns timed runs, more until minTotalMs has passed (at most
// maxRuns); the two modes alternate, so each T takes twice those times.
const TIMING = { firstWarmMs: 1500, warmMs: 200, warmRuns: 3, minRuns: 7, minTotalMs: 600, maxRuns: 60 };

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

/**
 * A copy of `mha` whose layers time their own forward(). clock.attentionMs
 * accumulates; clock.needWeights = false makes the layers skip the weights
 * and hand tiny_gpt a zero-filled placeholder of the same shape instead
 * (allocated outside the timed call), so the model code runs unchanged.
 */
function instrumentedMha(mha, clock) {
  const placeholders = new Map();
  const placeholder = (size) => {
    if (!placeholders.has(size)) placeholders.set(size, new Float32Array(size));
    return placeholders.get(size);
  };
  return {
    ...mha,
    createMultiHeadAttention(options) {
      const layer = mha.createMultiHeadAttention(options);
      const forward = layer.forward.bind(layer);
      // An own property on the instance: loadWeights() returns `this`, so the
      // model keeps this timed forward.
      layer.forward = (query, key, value, opts = {}) => {
        const needWeights = clock.needWeights;
        const start = performance.now();
        const result = forward(query, key, value, needWeights ? opts : { ...opts, needWeights: false });
        clock.attentionMs += performance.now() - start;
        if (needWeights) return result;
        const T = query.shape[0];
        const size = layer.numHeads * T * T;
        return { output: result.output, weights: { data: placeholder(size), shape: [layer.numHeads, T, T] } };
      };
      return layer;
    },
  };
}

/**
 * Times model.run() for T in {16, 64, 256} (capped at the model's context),
 * with and without attention weights. Returns { config, lengths, results: [
 * { T, needWeights, runs, totalMs, attentionMs, restMs: {median, min, max}, attentionShare } ] }.
 */
export async function runDemoModel(log = () => {}) {
  const { init } = await import('../dist/node.mjs');
  const { createTinyGpt } = await import('../web/demo/tiny_gpt.mjs');
  const mha = await init();
  const clock = { attentionMs: 0, needWeights: true };
  const vocab = JSON.parse(readFileSync(VOCAB_PATH, 'utf8'));
  const model = createTinyGpt(instrumentedMha(mha, clock), readFileSync(WEIGHTS_PATH), vocab);
  try {
    const { context } = model.config;
    const lengths = [...new Set(LENGTHS.map((T) => Math.min(T, context)))];
    const { ids } = model.tokenize(storyText(vocab, context - 1));
    const results = [];
    const warmStart = performance.now();
    for (let i = 0; i < TIMING.warmRuns || performance.now() - warmStart < TIMING.firstWarmMs; i++) model.run(ids);
    for (const T of lengths) {
      const input = ids.slice(0, T);
      const once = (needWeights) => {
        clock.needWeights = needWeights;
        clock.attentionMs = 0;
        const start = performance.now();
        model.run(input);
        const total = performance.now() - start;
        return { total, attention: clock.attentionMs };
      };
      // The two weight modes alternate run by run, so that both see the same machine
      // (on this shared machine, phases of about a second run 1.5× slower).
      const modes = [true, false];
      const warmStart = performance.now();
      for (let i = 0; i < TIMING.warmRuns || performance.now() - warmStart < 2 * TIMING.warmMs; i++) modes.forEach(once);
      const samples = new Map(modes.map((m) => [m, []]));
      const timedStart = performance.now();
      while (samples.get(true).length < TIMING.minRuns ||
        (performance.now() - timedStart < 2 * TIMING.minTotalMs && samples.get(true).length < TIMING.maxRuns)) {
        for (const m of modes) samples.get(m).push(once(m));
      }
      for (const [needWeights, runs] of samples) {
        const row = {
          T,
          needWeights,
          runs: runs.length,
          totalMs: stats(runs.map((s) => s.total)),
          attentionMs: stats(runs.map((s) => s.attention)),
          restMs: stats(runs.map((s) => s.total - s.attention)),
          attentionShare: median(runs.map((s) => s.attention / s.total)),
        };
        results.push(row);
        log(`  demo model T=${String(T).padEnd(3)} ${needWeights ? 'per-head weights' : 'no weights      '} ` +
          `forward ${row.totalMs.median.toFixed(3)} ms, attention ${row.attentionMs.median.toFixed(3)} ms (${row.runs} runs)`);
      }
    }
    const c = model.config;
    return {
      host: `node ${process.version}`,
      config: { layers: c.nLayers, heads: c.nHeads, dModel: c.dModel, dMlp: c.dMlp, vocabSize: c.vocabSize, context: c.context },
      lengths,
      skippedLengths: LENGTHS.filter((T) => T > context),
      timing: TIMING,
      results,
    };
  } finally {
    model.dispose();
  }
}

const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

/** Pads columns; `numeric[i]` right-aligns column i. */
export function formatColumns(header, rows, numeric) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells) => cells.map((c, i) => (numeric[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The printed table of runDemoModel()'s result. */
export function formatDemoModel(result) {
  const c = result.config;
  const title = `demo model in ${result.host}: web/demo/tiny_gpt.mjs (${c.layers} layers, ${c.heads} heads, E=${c.dModel}, MLP ${c.dMlp}, ` +
    `vocabulary ${c.vocabSize}, context ${c.context}), one forward pass, median of the runs`;
  const rows = result.results.map((r) => [
    `T=${r.T}`,
    r.needWeights ? 'per head (demo)' : 'none',
    fmt(r.totalMs.median),
    `${fmt(r.totalMs.min)}–${fmt(r.totalMs.max)}`,
    fmt(r.attentionMs.median),
    fmt(r.restMs.median),
    `${(100 * r.attentionShare).toFixed(0)}%`,
    r.runs,
  ]);
  const table = formatColumns(
    ['tokens', 'attn weights', 'forward ms', 'min–max ms', 'attention (mha-wasm) ms', 'rest (JS) ms', 'attention share', 'runs'],
    rows,
    [false, false, true, true, true, true, true, true],
  );
  const notes = result.skippedLengths.length > 0 ? `\nnot run: T=${result.skippedLengths.join(', ')} (longer than the model's context, ${c.context})` : '';
  return `${title}\n${table}${notes}`;
}

// `node bench/demo_model.mjs`: this part alone.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runDemoModel((m) => process.stderr.write(`${m}\n`));
  console.log(formatDemoModel(result));
}
