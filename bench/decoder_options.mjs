// The decoder-options section of `npm run bench` (Node only): what today's
// decoders add to attention, each timed against the alternative a caller has,
// interleaved call by call in this process on the same inputs. See
// bench/README.md, "The decoder-options section".
//
//   node bench/decoder_options.mjs [--quick] [--only gqa,window,rope] [--out FILE]
//
// gqa     one decoding step with grouped-query attention (32 query heads, 8 kv
//         heads, D = 64) at N = 4096 and 1024 cached tokens: mha-wasm with its
//         KVCache against onnxruntime-web's com.microsoft GroupQueryAttention (and
//         opset-23 Attention) fed past_key/past_value and returning the presents;
//         then 16 steps in a row from N, ORT's presents fed back as the next past.
// window  a causal prompt of L = 4096 (H = 8, D = 64) with a sliding window of
//         256 keys against the same call without the window (full causal), and
//         against ORT's GroupQueryAttention with local_window_size.
// rope    rotary embeddings inside SDPA against the same call without them: a
//         causal prompt (L = 512, H = 12) and a decoding step at N = 1024; and
//         against applyRotaryEmbedding + SDPA as two calls.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { MismatchError } from './harness.mjs';
import { headsToRows, streamSeed, uniform } from './inputs.mjs';
import { checkExpected, errorText, ms, mulberry32, ratioText, runCase, table, targetLine } from './interleave.mjs';
import { sectionReport, writeSectionReport } from './linear.mjs';
import { loadCheck } from './machine.mjs';
import { nodeEnv } from './node_env.mjs';
import { onnxRuntimePart2 } from './runners/onnxruntime_part2.mjs';
import { BENCH, ensureDist, ensureOnnxModels } from './setup.mjs';
import { maxAbsDiff } from './stats.mjs';

export const PARTS = ['gqa', 'window', 'rope'];

export const OPTIONS = {
  tolerance: 1e-4, // max |row - its reference|, as for SDPA in the main table
  gqa: { heads: 32, kvHeads: 8, headDim: 64, lengths: [4096, 1024], loopSteps: 16, float64At: 1024, target: 3 },
  window: { heads: 8, headDim: 64, length: 4096, window: 256, target: 5 },
  rope: { base: 10000, prompt: { heads: 12, headDim: 64, length: 512 }, decode: { heads: 12, headDim: 64, cached: 1024 }, target: 1.1 },
  timing: {
    // warmUp: rounds before a part's first case is timed (later cases: settle); then at least
    // minRounds rounds and until minMs has passed (at most maxRounds).
    full: {
      warmUp: { minRounds: 3, ms: 1500 }, settle: { minRounds: 3, ms: 300 },
      step: { minRounds: 20, minMs: 3000, maxRounds: 400 },
      loop: { minRounds: 5, minMs: 2000, maxRounds: 50 },
      window: { warmUp: { minRounds: 1, ms: 0 }, timed: { minRounds: 6, minMs: 0, maxRounds: 6 } },
    },
    quick: {
      warmUp: { minRounds: 2, ms: 400 }, settle: { minRounds: 2, ms: 100 },
      step: { minRounds: 5, minMs: 500, maxRounds: 100 },
      loop: { minRounds: 2, minMs: 0, maxRounds: 2 },
      window: { warmUp: { minRounds: 1, ms: 0 }, timed: { minRounds: 2, minMs: 0, maxRounds: 2 } },
    },
  },
};

// Stream tags of this section's inputs (inputs.mjs: 1-9 main, 21-28 decode, 31-33 linear).
const TAG = { pastKey: 41, pastValue: 42, query: 43, key: 44, value: 45, loop: 46, wq: 47, wk: 48, wv: 49, rq: 50, rk: 51, rv: 52, rPast: 53 };
const ROUND_SEED = 0x6f707473; // "opts"

// ---- float64 references --------------------------------------------------------

/**
 * Attention in float64 for some query rows: q (H, Lq, D), k/v (Hkv, Lk, D) (any
 * array type), query head h reads kv head floor(h / (H / Hkv)); query i attends
 * keys keyRange(i) = [first, last]. Returns (H, rows.length, D).
 */
function attentionFloat64(q, k, v, { heads, kvHeads = heads, queryLen, keyLen, headDim: d }, rows, keyRange) {
  const out = new Float64Array(heads * rows.length * d);
  const scores = new Float64Array(keyLen);
  const group = heads / kvHeads;
  for (let h = 0; h < heads; h++) {
    const kvh = Math.floor(h / group);
    rows.forEach((i, r) => {
      const [first, last] = keyRange(i);
      let max = -Infinity;
      for (let j = first; j <= last; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q[(h * queryLen + i) * d + c] * k[(kvh * keyLen + j) * d + c];
        scores[j] = dot / Math.sqrt(d);
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      for (let j = first; j <= last; j++) sum += (scores[j] = Math.exp(scores[j] - max));
      const o = (h * rows.length + r) * d;
      for (let j = first; j <= last; j++) {
        const p = scores[j] / sum;
        for (let c = 0; c < d; c++) out[o + c] += p * v[(kvh * keyLen + j) * d + c];
      }
    });
  }
  return out;
}

/** The given query rows of an (H, L, D) output, as (H, rows.length, D). */
function pickRows(output, heads, length, d, rows) {
  const out = new Float32Array(heads * rows.length * d);
  for (let h = 0; h < heads; h++) {
    rows.forEach((i, r) => out.set(output.subarray((h * length + i) * d, (h * length + i + 1) * d), (h * rows.length + r) * d));
  }
  return out;
}

/** RoPE in float64, Hugging Face's rotate_half: pairs (c, c + D/2), angle position·base^(-2c/D). x (H, L, D). */
function ropeFloat64(x, heads, length, d, base, position) {
  const out = new Float64Array(x.length);
  const half = d / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < length; i++) {
      const o = (h * length + i) * d;
      for (let c = 0; c < half; c++) {
        const angle = position(i) * base ** (-2 * c / d);
        const cos = Math.cos(angle), sin = Math.sin(angle);
        out[o + c] = x[o + c] * cos - x[o + c + half] * sin;
        out[o + c + half] = x[o + c + half] * cos + x[o + c] * sin;
      }
    }
  }
  return out;
}

/** (H, from, D) -> the first n tokens of each head (H, n, D), plus one appended token per head (H, D) if given. */
function headsPrefix(data, heads, from, n, d, appended = null) {
  const rows = n + (appended ? 1 : 0);
  const out = new Float32Array(heads * rows * d);
  for (let h = 0; h < heads; h++) {
    out.set(data.subarray(h * from * d, (h * from + n) * d), h * rows * d);
    if (appended) out.set(appended.subarray(h * d, (h + 1) * d), (h * rows + n) * d);
  }
  return out;
}

// ---- the parts ---------------------------------------------------------------

async function gqaPart(ctx) {
  const { mha, ort, timing, random, log } = ctx;
  const cfg = OPTIONS.gqa;
  const { heads: h, kvHeads: hk, headDim: d, loopSteps } = cfg;
  const model = { heads: h, kvHeads: hk, headDim: d };
  const maxN = Math.max(...cfg.lengths);
  const cache = mha.createKVCache({ batchSize: 1, numHeads: hk, headDim: d, maxLength: maxN + loopSteps + 8 });
  const pastKey = uniform(hk * maxN * d, streamSeed(TAG.pastKey, maxN));
  const pastValue = uniform(hk * maxN * d, streamSeed(TAG.pastValue, maxN));
  // Filled once (not timed): one causal call with the cache. Its queries are the keys
  // themselves (8 heads: the cache stores kv heads only, so any multiple of 8 query heads may fill it).
  let t = performance.now();
  const past = { data: pastKey, shape: [1, hk, maxN, d] };
  mha.scaledDotProductAttention(past, past, { data: pastValue, shape: [1, hk, maxN, d] }, { cache, isCausal: true });
  const fillMs = performance.now() - t;
  log(`gqa: cache filled to ${maxN} tokens in ${(fillMs / 1000).toFixed(1)} s (not timed)`);

  const tokenAt = (tag, n, i = 0) => ({
    query: uniform(h * d, streamSeed(TAG.query + tag, n, i)),
    key: uniform(hk * d, streamSeed(TAG.key + tag, n, i)),
    value: uniform(hk * d, streamSeed(TAG.value + tag, n, i)),
  });
  const tensors = (tok) => ({ q: { data: tok.query, shape: [1, h, 1, d] }, k: { data: tok.key, shape: [1, hk, 1, d] }, v: { data: tok.value, shape: [1, hk, 1, d] } });
  const cases = [];
  let first = true;
  for (const n of cfg.lengths) {
    const label = `N=${n}`;
    const token = tokenAt(0, n);
    const { q, k, v } = tensors(token);
    const ortPast = n === maxN ? { pastKey, pastValue } : { pastKey: headsPrefix(pastKey, hk, maxN, n, d), pastValue: headsPrefix(pastValue, hk, maxN, n, d) };
    const rows = [{
      name: 'mha-wasm SDPA, cache', role: 'reference',
      run: () => {
        cache.truncate(n);
        return mha.scaledDotProductAttention(q, k, v, { cache, isCausal: true });
      },
      output: (r) => r.output.data,
      verify: () => (cache.length === n + 1 ? null : `cache.length ${cache.length} after the step, expected ${n + 1}`),
    }];
    const caseErrors = [];
    if (ort) {
      for (const graph of ort.gqa) {
        try {
          const p = await graph.prepare({ model, token, ...ortPast, length: n });
          rows.push({
            name: `ORT ${graph.variant}`, role: 'peer', variant: graph.variant, run: p.run, output: p.output,
            // ORT did the concatenation: present is (1, Hkv, N+1, D) and its last row per head is the new key.
            verify: (r) => {
              const [pk, pv] = p.presents(r);
              for (const present of [pk, pv]) if (present.dims.join() !== [1, hk, n + 1, d].join()) return `present dims ${present.dims} != 1,${hk},${n + 1},${d}`;
              for (let head = 0; head < hk; head++) {
                const row = pk.data.subarray((head * (n + 1) + n) * d, (head * (n + 1) + n + 1) * d);
                if (maxAbsDiff(row, token.key.subarray(head * d, (head + 1) * d)) !== 0) return `present_key's last row of head ${head} is not the new key`;
              }
              return null;
            },
          });
        } catch (error) {
          caseErrors.push({ name: `ORT ${graph.variant}`, status: 'error', note: errorText(error) });
        }
      }
    }
    log(`gqa ${label}: checking ${rows.length} rows`);
    const result = await runCase({
      rows, label: `gqa ${label}`, tolerance: OPTIONS.tolerance, timing: timing.step, warmUp: first ? timing.warmUp : timing.settle, random, log,
      afterCheck: (outputs) => {
        if (n !== cfg.float64At) return [];
        const keys = headsPrefix(pastKey, hk, maxN, n, d, token.key), values = headsPrefix(pastValue, hk, maxN, n, d, token.value);
        const expected = attentionFloat64(token.query, keys, values, { ...model, queryLen: 1, keyLen: n + 1 }, [0], () => [0, n]);
        return [checkExpected('mha-wasm GQA step', label, outputs.get('mha-wasm SDPA, cache'), expected, OPTIONS.tolerance)];
      },
    });
    first = false;
    result.errors.unshift(...caseErrors);
    cases.push({ kind: 'step', cachedKeys: n, ...result });
    log(`gqa ${label}: ${result.rounds} rounds in ${(result.timedMs / 1000).toFixed(1)} s; mha-wasm ${result.results[0].medianMs.toFixed(3)} ms`);

    // loopSteps steps in a row from N: ORT gets each run's presents back as its next past.
    // Timed without keeping the outputs; checked on every step's output.
    const tokens = Array.from({ length: loopSteps }, (_, i) => tokenAt(TAG.loop, n, i + 1));
    const loopRow = (name, role, variant, loop) => {
      const outputs = new Float32Array(loopSteps * h * d);
      return {
        name, role, variant,
        run: () => loop(null),
        checkRun: async () => ({ ...(await loop(outputs)), outputs }),
        output: (r) => r.outputs,
        verify: (r) => (r.length === n + loopSteps ? null : `${r.length} tokens after ${loopSteps} steps, expected ${n + loopSteps}`),
      };
    };
    const loopRows = [loopRow(`mha-wasm SDPA, cache, ${loopSteps} steps`, 'reference', null, (outputs) => {
      cache.truncate(n);
      tokens.forEach((tok, i) => {
        const x = tensors(tok);
        const r = mha.scaledDotProductAttention(x.q, x.k, x.v, { cache, isCausal: true });
        if (outputs) outputs.set(r.output.data, i * h * d);
      });
      return { length: cache.length };
    })];
    const loopErrors = [];
    if (ort) {
      for (const graph of ort.gqa) {
        const name = `ORT ${graph.variant}, ${loopSteps} steps`;
        try {
          const p = await graph.prepareLoop({ model, tokens, ...ortPast, length: n });
          loopRows.push(loopRow(name, 'peer', graph.variant, p.run));
        } catch (error) {
          loopErrors.push({ name, status: 'error', note: errorText(error) });
        }
      }
    }
    const loopResult = await runCase({
      rows: loopRows, label: `gqa ${label}, ${loopSteps} steps`, tolerance: OPTIONS.tolerance, timing: timing.loop, warmUp: timing.settle, random, log,
    });
    loopResult.errors.unshift(...loopErrors);
    cases.push({ kind: 'loop', cachedKeys: n, steps: loopSteps, ...loopResult });
  }
  cache.dispose();
  const targets = [];
  for (const c of cases.filter((x) => x.kind === 'step')) {
    const gqa = c.results.find((r) => r.variant === 'GroupQueryAttention');
    targets.push({ what: `GQA step vs ORT GroupQueryAttention at N=${c.cachedKeys}`, target: `>= ${cfg.target}x`, measured: gqa?.ratio ?? null, met: gqa ? gqa.ratio >= cfg.target : null });
  }
  for (const c of cases) {
    const attn = c.results.find((r) => r.variant === 'Attention-23');
    targets.push({ what: `${c.kind === 'loop' ? `${c.steps} GQA steps` : 'GQA step'} vs ORT Attention-23 at N=${c.cachedKeys}`, measured: attn?.ratio ?? null });
    if (c.kind === 'loop') {
      const gqa = c.results.find((r) => r.variant === 'GroupQueryAttention');
      targets.push({ what: `${c.steps} GQA steps (presents fed back) vs ORT GroupQueryAttention at N=${c.cachedKeys}`, measured: gqa?.ratio ?? null });
    }
  }
  return { model, fillMs, cases, targets };
}

async function windowPart(ctx) {
  const { mha, ort, timing, random, log } = ctx;
  const { heads: h, headDim: d, length: l, window: w, target } = OPTIONS.window;
  const shape = [1, h, l, d];
  const query = uniform(h * l * d, streamSeed(TAG.wq, l, w));
  const key = uniform(h * l * d, streamSeed(TAG.wk, l, w));
  const value = uniform(h * l * d, streamSeed(TAG.wv, l, w));
  const q = { data: query, shape }, k = { data: key, shape }, v = { data: value, shape };
  // The window as an explicit boolean mask (1 = masked out): the same result through attnMask (checked, not timed).
  const band = new Uint8Array(l * l);
  for (let i = 0; i < l; i++) {
    band.fill(1, i * l, i * l + Math.max(0, i - w + 1));
    band.fill(1, i * l + i + 1, (i + 1) * l);
  }
  const rows = [
    { name: `mha-wasm SDPA, causal, window ${w}`, role: 'reference', run: () => mha.scaledDotProductAttention(q, k, v, { isCausal: true, window: w }), output: (r) => r.output.data },
    { name: 'mha-wasm SDPA, causal (no window)', role: 'peer', checkAgainst: null, run: () => mha.scaledDotProductAttention(q, k, v, { isCausal: true }), output: (r) => r.output.data },
    { name: `mha-wasm SDPA, attnMask = the window (${l}x${l} bool)`, role: 'peer', checkOnly: true, run: () => mha.scaledDotProductAttention(q, k, v, { attnMask: { data: band, shape: [l, l] } }), output: (r) => r.output.data },
  ];
  const errors = [];
  if (ort) {
    const name = `ORT GroupQueryAttention, local_window_size ${w - 1}`;
    try {
      const p = await ort.windowPrompt({ heads: h, headDim: d, length: l }, { queryRows: headsToRows(query, h, l, d), keyRows: headsToRows(key, h, l, d), valueRows: headsToRows(value, h, l, d) });
      rows.push({ name, role: 'peer', run: p.run, output: p.output });
    } catch (error) {
      errors.push({ name, status: 'error', note: errorText(error) });
    }
  }
  // float64 on sampled query rows: the first 300 (the window filling up), every 61st, and the last 40.
  const sample = [...new Set([...Array.from({ length: 300 }, (_, i) => i), ...Array.from({ length: Math.ceil(l / 61) }, (_, i) => i * 61), ...Array.from({ length: 40 }, (_, i) => l - 40 + i)])].sort((a, b) => a - b);
  const fullSample = [...new Set([...Array.from({ length: 64 }, (_, i) => i), ...Array.from({ length: 16 }, (_, i) => i * 257), l - 1])].sort((a, b) => a - b);
  const dims = { heads: h, queryLen: l, keyLen: l, headDim: d };
  const label = `L=${l} W=${w}`;
  log(`window ${label}: checking ${rows.length} rows`);
  const result = await runCase({
    rows, label: `window ${label}`, tolerance: OPTIONS.tolerance, timing: timing.window.timed, warmUp: timing.window.warmUp, random, log,
    afterCheck: (outputs) => [
      checkExpected(`mha-wasm window ${w}`, `${label}, ${sample.length} query rows`, pickRows(outputs.get(rows[0].name), h, l, d, sample),
        attentionFloat64(query, key, value, dims, sample, (i) => [Math.max(0, i - w + 1), i]), OPTIONS.tolerance),
      checkExpected('mha-wasm full causal', `${label}, ${fullSample.length} query rows`, pickRows(outputs.get(rows[1].name), h, l, d, fullSample),
        attentionFloat64(query, key, value, dims, fullSample, (i) => [0, i]), OPTIONS.tolerance),
    ],
  });
  result.errors.unshift(...errors);
  log(`window ${label}: ${result.rounds} rounds in ${(result.timedMs / 1000).toFixed(1)} s`);
  const full = result.results.find((r) => r.name === rows[1].name);
  const ortRow = result.results.find((r) => r.name.startsWith('ORT'));
  // The work the window leaves: pairs (i, j) with i - w < j <= i, against i + 1 per query causally.
  let pairs = 0;
  for (let i = 0; i < l; i++) pairs += Math.min(i + 1, w);
  const fullPairs = (l * (l + 1)) / 2;
  const targets = [
    { what: `window ${w} vs full causal at L=${l}, H=${h} (full time / window time)`, target: `>= ${target}x`, measured: full?.ratio ?? null, met: full ? full.ratio >= target : null },
    { what: `attended pairs, full causal / window ${w}`, measured: fullPairs / pairs },
  ];
  if (ortRow) targets.push({ what: `window ${w} vs ORT GroupQueryAttention with local_window_size`, measured: ortRow.ratio });
  return { heads: h, headDim: d, length: l, window: w, cases: [{ kind: 'prompt', ...result }], targets };
}

async function ropePart(ctx) {
  const { mha, timing, random, log } = ctx;
  const { base, prompt, decode, target } = OPTIONS.rope;
  const rotary = { base };
  const cases = [];
  // A causal prompt.
  {
    const { heads: h, headDim: d, length: l } = prompt;
    const shape = [1, h, l, d];
    const query = uniform(h * l * d, streamSeed(TAG.rq, l)), key = uniform(h * l * d, streamSeed(TAG.rk, l)), value = uniform(h * l * d, streamSeed(TAG.rv, l));
    const q = { data: query, shape }, k = { data: key, shape }, v = { data: value, shape };
    const rows = [
      { name: 'mha-wasm SDPA, causal', role: 'reference', run: () => mha.scaledDotProductAttention(q, k, v, { isCausal: true }), output: (r) => r.output.data },
      { name: 'mha-wasm SDPA, causal, rotary', role: 'peer', checkAgainst: null, run: () => mha.scaledDotProductAttention(q, k, v, { isCausal: true, rotary }), output: (r) => r.output.data },
      {
        name: 'applyRotaryEmbedding(q), (k), then SDPA', role: 'peer', checkAgainst: 'mha-wasm SDPA, causal, rotary',
        run: () => mha.scaledDotProductAttention(mha.applyRotaryEmbedding(q, rotary), mha.applyRotaryEmbedding(k, rotary), v, { isCausal: true }),
        output: (r) => r.output.data,
      },
    ];
    const label = `L=${l} H=${h}`;
    log(`rope ${label}: checking ${rows.length} rows`);
    const dims = { heads: h, queryLen: l, keyLen: l, headDim: d };
    const all = Array.from({ length: l }, (_, i) => i);
    const result = await runCase({
      rows, label: `rope ${label}`, tolerance: OPTIONS.tolerance, timing: timing.step, warmUp: timing.warmUp, random, log,
      afterCheck: (outputs) => [checkExpected('mha-wasm SDPA with rotary', label, outputs.get(rows[1].name),
        attentionFloat64(ropeFloat64(query, h, l, d, base, (i) => i), ropeFloat64(key, h, l, d, base, (i) => i), value, dims, all, (i) => [0, i]), OPTIONS.tolerance)],
    });
    cases.push({ kind: 'prompt', length: l, heads: h, ...result });
    log(`rope ${label}: ${result.rounds} rounds in ${(result.timedMs / 1000).toFixed(1)} s`);
  }
  // A decoding step at N cached tokens (the cache filled once with and once without rotary).
  {
    const { heads: h, headDim: d, cached: n } = decode;
    const pastKey = uniform(h * n * d, streamSeed(TAG.rPast, n)), pastValue = uniform(h * n * d, streamSeed(TAG.rPast + 100, n));
    const caches = [false, true].map((withRotary) => {
      const cache = mha.createKVCache({ batchSize: 1, numHeads: h, headDim: d, maxLength: n + 8 });
      const past = { data: pastKey, shape: [1, h, n, d] };
      mha.scaledDotProductAttention(past, past, { data: pastValue, shape: [1, h, n, d] }, { cache, isCausal: true, ...(withRotary ? { rotary } : {}) });
      return cache;
    });
    const [plainCache, ropeCache] = caches;
    const one = [1, h, 1, d];
    const query = uniform(h * d, streamSeed(TAG.rq, n)), key = uniform(h * d, streamSeed(TAG.rk, n)), value = uniform(h * d, streamSeed(TAG.rv, n));
    const q = { data: query, shape: one }, k = { data: key, shape: one }, v = { data: value, shape: one };
    const step = (cache, options) => () => {
      cache.truncate(n);
      return mha.scaledDotProductAttention(q, k, v, { cache, isCausal: true, ...options });
    };
    const rows = [
      { name: 'mha-wasm SDPA, cache', role: 'reference', run: step(plainCache, {}), output: (r) => r.output.data },
      { name: 'mha-wasm SDPA, cache, rotary', role: 'peer', checkAgainst: null, run: step(ropeCache, { rotary }), output: (r) => r.output.data },
      {
        // The same cache (rotated keys): each call truncates it to N first.
        name: 'applyRotaryEmbedding(q), (k) at N, then SDPA, cache', role: 'peer', checkAgainst: 'mha-wasm SDPA, cache, rotary',
        run: () => {
          ropeCache.truncate(n);
          const at = { ...rotary, positionOffset: n };
          return mha.scaledDotProductAttention(mha.applyRotaryEmbedding(q, at), mha.applyRotaryEmbedding(k, at), v, { cache: ropeCache, isCausal: true });
        },
        output: (r) => r.output.data,
      },
    ];
    const label = `decode N=${n} H=${h}`;
    log(`rope ${label}: checking ${rows.length} rows`);
    const result = await runCase({
      rows, label: `rope ${label}`, tolerance: OPTIONS.tolerance, timing: timing.step, warmUp: timing.settle, random, log,
      afterCheck: (outputs) => {
        // Keys rotated at their positions 0..N, the query at N.
        const keys = ropeFloat64(headsPrefix(pastKey, h, n, n, d, key), h, n + 1, d, base, (i) => i);
        const values = headsPrefix(pastValue, h, n, n, d, value);
        const expected = attentionFloat64(ropeFloat64(query, h, 1, d, base, () => n), keys, values, { heads: h, queryLen: 1, keyLen: n + 1, headDim: d }, [0], () => [0, n]);
        return [checkExpected('mha-wasm cache step with rotary', label, outputs.get(rows[1].name), expected, OPTIONS.tolerance)];
      },
    });
    for (const cache of caches) cache.dispose();
    cases.push({ kind: 'decode', cachedKeys: n, heads: h, ...result });
    log(`rope ${label}: ${result.rounds} rounds in ${(result.timedMs / 1000).toFixed(1)} s`);
  }
  const targets = [];
  for (const c of cases) {
    const withRotary = c.results.find((r) => r.name.endsWith('rotary'));
    const separate = c.results.find((r) => r.name.startsWith('applyRotaryEmbedding'));
    const what = c.kind === 'prompt' ? `causal prompt L=${c.length}` : `decoding step at N=${c.cachedKeys}`;
    targets.push({ what: `rotary inside SDPA, ${what} (time with / without)`, target: `<= ${target}x`, measured: withRotary?.ratio ?? null, met: withRotary ? withRotary.ratio <= target : null });
    if (separate && withRotary) targets.push({ what: `applyRotaryEmbedding + SDPA as separate calls / rotary inside SDPA, ${what}`, measured: separate.ratio / withRotary.ratio });
  }
  return { base, cases, targets };
}

// ---- the section -------------------------------------------------------------

/**
 * env: node_env.mjs's. options: { quick, onnxProblem, parts (some of PARTS), log }.
 * Returns everything measured (bench/run.mjs stores it under "decoderOptions").
 */
export async function runDecoderOptions(env, { quick = false, onnxProblem = null, parts = PARTS, log = () => {} } = {}) {
  const started = performance.now();
  const timing = quick ? OPTIONS.timing.quick : OPTIONS.timing.full;
  const unavailable = [];
  const mha = await (await env.importMha()).init();
  let ort = null;
  if (onnxProblem) unavailable.push({ name: 'onnxruntime-web', error: `ONNX graphs missing: ${onnxProblem}` });
  else if (parts.includes('gqa') || parts.includes('window')) {
    try {
      ort = await onnxRuntimePart2(await env.importOrt(), env);
    } catch (error) {
      unavailable.push({ name: 'onnxruntime-web', error: errorText(error) });
      log(`decoder options: onnxruntime-web could not be loaded: ${errorText(error)}`);
    }
  }
  const ctx = { mha, ort, timing, random: mulberry32(ROUND_SEED), log };
  const result = { quick, timing, roundSeed: ROUND_SEED, tolerance: OPTIONS.tolerance, parts, unavailable };
  if (parts.includes('gqa')) result.gqa = await gqaPart(ctx);
  if (parts.includes('window')) result.window = await windowPart(ctx);
  if (parts.includes('rope')) result.rope = await ropePart(ctx);
  result.totalSeconds = (performance.now() - started) / 1000;
  return result;
}

function caseLines(cases, caseLabel, extra = () => []) {
  const lines = [];
  for (const c of cases) {
    c.results.forEach((row, i) => {
      lines.push([i === 0 ? caseLabel(c) : '', row.name, ms(row.medianMs), `${ms(row.minMs)}-${ms(row.maxMs)}`, ratioText(row), ...extra(row, c)]);
    });
    for (const e of c.errors) lines.push(['', e.name, 'error', '', '', ...extra(null, c).map(() => '')]);
    lines.push(['', `(${c.rounds} rounds, ${(c.timedMs / 1000).toFixed(1)} s)`, '', '', '', ...extra(null, c).map(() => '')]);
  }
  return lines;
}

/** The section's tables and target lines, as printed on stdout. */
export function formatDecoderOptions(result) {
  const out = [];
  out.push(`decoder-options section - one thread, Node ${process.version}; rows interleaved call by call, order shuffled per round;`);
  out.push('"x ref" = median over rounds of (row time / the reference row\'s time in that round); the reference is mha-wasm (gqa) or the option\'s baseline (window, rope).');
  const header = ['case', 'row', 'median ms', 'min-max ms', 'x ref'];
  const all = [];
  if (result.gqa) {
    const { heads, kvHeads, headDim } = result.gqa.model;
    out.push(`\ngqa: one decoding step, ${heads} query heads, ${kvHeads} kv heads, D=${headDim}, batch 1; N = tokens cached before the step; > 1 = mha-wasm faster.`);
    out.push('ORT rows: past_key/past_value (1, 8, N, D) in, output and present_key/present_value (1, 8, N+1, D) out; "steps" rows: each run\'s presents are the next run\'s past.');
    out.push(table(header, caseLines(result.gqa.cases, (c) => (c.kind === 'loop' ? `N=${c.cachedKeys}, ${c.steps} steps` : `N=${c.cachedKeys}`))));
    all.push(result.gqa);
  }
  if (result.window) {
    const w = result.window;
    out.push(`\nwindow: causal prompt, H=${w.heads}, D=${w.headDim}, no weights; > 1 = the windowed call is faster.`);
    out.push(table(header, caseLines(w.cases, () => `L=${w.length} W=${w.window}`)));
    all.push(w);
  }
  if (result.rope) {
    out.push(`\nrope: rotary embeddings (base ${result.rope.base}, rotate_half) inside SDPA; "x ref" = time / time without rotary.`);
    out.push(table(header, caseLines(result.rope.cases, (c) => (c.kind === 'prompt' ? `L=${c.length} H=${c.heads} causal` : `decode N=${c.cachedKeys} H=${c.heads}`))));
    all.push(result.rope);
  }
  for (const p of all) for (const c of p.cases) for (const x of c.checkOnly) out.push(`checked, not timed, at ${c.label}: ${x.name} against ${x.check.against}: ${x.check.outputDiff.toExponential(1)}`);
  const checks = all.flatMap((p) => p.cases.flatMap((c) => c.float64Checks));
  const against = all.flatMap((p) => p.cases.flatMap((c) => [...c.results, ...c.checkOnly].filter((r) => r.check && r.check.against !== 'itself (reference)').map((r) => r.check.outputDiff)));
  out.push(`\nchecks: rows against their reference or counterpart before timing (tolerance ${result.tolerance}, largest difference ${against.length ? Math.max(...against).toExponential(1) : 'n/a'}); ` +
    checks.map((c) => `float64 reference, ${c.what} at ${c.at}: ${c.outputDiff.toExponential(1)}`).join('; '));
  for (const p of all) for (const t of p.targets) out.push(targetLine(t));
  for (const u of result.unavailable) out.push(`unavailable: ${u.name}: ${u.error}`);
  for (const p of all) for (const c of p.cases) for (const e of c.errors) out.push(`error: ${e.name} at ${c.label}: ${e.note}`);
  out.push(`decoder-options section: ${result.totalSeconds.toFixed(0)} s`);
  return out.join('\n');
}

/** From bench/run.mjs or the command line: runDecoderOptions in Node. */
export async function runDecoderOptionsSection(log, { quick = false, onnxProblem, parts = PARTS } = {}) {
  return runDecoderOptions(nodeEnv(log), { quick, onnxProblem, parts, log });
}

async function main() {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const outIndex = argv.indexOf('--out');
  const onlyIndex = argv.indexOf('--only');
  const parts = onlyIndex >= 0 ? argv[onlyIndex + 1].split(',').filter((p) => PARTS.includes(p)) : PARTS;
  const startedAt = performance.now();
  const log = (message) => process.stderr.write(`${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)}s ${message}\n`);
  const loadBefore = loadCheck();
  log(`load before: ${loadBefore.loadavg}\n  ${loadBefore.top.join('\n  ')}`);
  ensureDist(log);
  const onnxProblem = ensureOnnxModels(768, log);
  const result = await runDecoderOptionsSection(log, { quick, onnxProblem, parts });
  const loadAfter = loadCheck();
  console.log(formatDecoderOptions(result));
  console.log(`load: before ${loadBefore.loadavg}; after ${loadAfter.loadavg}`);
  const path = outIndex >= 0 ? argv[outIndex + 1] : join(BENCH, 'results', `decoder_options${quick ? '-quick' : ''}.json`);
  writeSectionReport(path, await sectionReport(`node bench/decoder_options.mjs ${argv.join(' ')}`.trim(), { decoderOptions: result }, loadBefore, loadAfter), log);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(`\ndecoder-options bench FAILED: ${error instanceof MismatchError ? error.message : error && error.stack ? error.stack : error}`);
    process.exit(1);
  });
}
