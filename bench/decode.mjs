// The decoding section of `npm run bench` (Node only): one generation step
// with a key/value cache, mha-wasm against onnxruntime-web, interleaved call
// by call in this process on the same inputs. See bench/README.md, "The
// decoding section".
//
//   node bench/decode.mjs [--quick] [--out FILE]     # this section alone
//
// For each cache length N (4096, 1024, 128: the caches are filled once, to
// 4096, and truncated from there), the rows below are checked against
// mha-wasm, warmed up, and then timed in rounds: a round calls every row once,
// in an order shuffled per round, so every row sees the same stretch of the
// machine's speed. Each row's median is reported, and so is the median over
// rounds of (row time / mha-wasm time in the same round).
//
// SDPA step: q, k, v of one new token (1, H, 1, D) and N cached keys/values.
//   mha-wasm SDPA, cache         cache.truncate(N); scaledDotProductAttention(q, k, v, { cache, isCausal: true })
//   mha-wasm SDPA, no cache      scaledDotProductAttention(q, kAll, vAll) with all N + 1 keys/values (1, H, N+1, D)
//   ..., 2 threads               the cache row on the init({ threads: 2 }) instance
//   ORT SDPA <graph>             past_key/past_value (1, H, N, D) in, Y and present_key/present_value out
//   ORT SDPA ..., no past        all N + 1 keys/values as (1, N+1, E), no presents (a cache kept in JavaScript)
//   read K/V bytes               bench/read_bandwidth.wat over 2·H·(N+1)·D floats: the bytes the step must read
// Layer step: x (1, 1, E) of the new token; the cache holds the projections of N earlier tokens.
//   mha-wasm layer, cache        cache.truncate(N); layer.forward(x, x, x, { cache, isCausal: true })
//   ..., 2 threads               the same on the threads instance
//   ORT layer <graph>            x and the projected past in, Y and the presents out
//   ORT layer ..., no present    x and the projected past as (1, N, E) rows in, Y and the new k/v row out
//   read K/V + weights bytes     the K/V bytes plus the layer's weights (4E² + 4E floats)
// Generation: 256 layer steps from an empty cache, one token each; ORT gets
// each run's presents back as the next past.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MismatchError, TOLERANCE } from './harness.mjs';
import { layerWeights, streamSeed, uniform } from './inputs.mjs';
import { loadCheck, machineInfo, packageVersion } from './machine.mjs';
import { nodeEnv } from './node_env.mjs';
import { onnxRuntimeDecode } from './runners/onnxruntime_decode.mjs';
import { BENCH, ROOT, ensureDist, ensureOnnxModels, ensureReadBandwidth } from './setup.mjs';
import { maxAbsDiff, median, mulberry32, shuffled } from './stats.mjs';

export const DECODE = {
  model: { embedDim: 768, heads: 12, headDim: 64 },
  // Largest first: the caches are filled once to the largest N, and truncate(N)
  // keeps the first N tokens, so each smaller N reuses the same prefix.
  lengths: [4096, 1024, 128],
  generateTokens: 256,
  float64: { sdpa: 1024, layer: 128 }, // the N at which each kind is also checked against a float64 reference
  targets: { sdpaVsOrt: { lengths: [1024, 4096], ratio: 4 }, layerVsOrt: { ratio: 2 }, threads: { length: 4096, speedup: 1.7 } },
  timing: {
    // warmUpMs: rounds before the first N is timed; settleRounds: untimed rounds after each later N's check;
    // a length is timed for at least minRounds rounds, then until minMs has passed (at most maxRounds).
    full: { warmUpMs: 2000, settleRounds: 3, minRounds: 20, minMs: 5000, maxRounds: 400, loop: { minRounds: 5, minMs: 8000, maxRounds: 15 } },
    quick: { warmUpMs: 500, settleRounds: 2, minRounds: 5, minMs: 800, maxRounds: 100, loop: { minRounds: 2, minMs: 0, maxRounds: 2 } },
  },
};

// Stream tags of this section's inputs (inputs.mjs uses 1-9).
const TAG = { pastKey: 21, pastValue: 22, query: 23, key: 24, value: 25, prefill: 26, token: 27, generate: 28 };
const ROUND_SEED = 0x64656364; // "decd": the round orders

/** (H, from, D) -> the first n tokens of each head, (H, n, D); appended = one more token per head (H, D). */
function headsPrefix(data, heads, from, n, headDim, appended = null) {
  const rows = n + (appended ? 1 : 0);
  const out = new Float32Array(heads * rows * headDim);
  for (let h = 0; h < heads; h++) {
    out.set(data.subarray(h * from * headDim, (h * from + n) * headDim), h * rows * headDim);
    if (appended) out.set(appended.subarray(h * headDim, (h + 1) * headDim), (h * rows + n) * headDim);
  }
  return out;
}

// ---- float64 references (one case per kind) --------------------------------

/** softmax(q·Kᵀ/√D)·V for one query per head; keys/values (H, S, D). */
function sdpaFloat64(query, keys, values, heads, keyLen, headDim) {
  const out = new Float64Array(heads * headDim);
  const scores = new Float64Array(keyLen);
  for (let h = 0; h < heads; h++) {
    let max = -Infinity;
    for (let j = 0; j < keyLen; j++) {
      let dot = 0;
      for (let i = 0; i < headDim; i++) dot += query[h * headDim + i] * keys[(h * keyLen + j) * headDim + i];
      scores[j] = dot / Math.sqrt(headDim);
      max = Math.max(max, scores[j]);
    }
    let sum = 0;
    for (let j = 0; j < keyLen; j++) sum += (scores[j] = Math.exp(scores[j] - max));
    for (let j = 0; j < keyLen; j++) {
      const p = scores[j] / sum;
      for (let i = 0; i < headDim; i++) out[h * headDim + i] += p * values[(h * keyLen + j) * headDim + i];
    }
  }
  return out;
}

/** rows (count, E) -> rows·W[first:first+E]ᵀ + b, as (H, count, D) (the heads layout). */
function projectFloat64(rows, count, weight, bias, first, e, heads) {
  const d = e / heads;
  const out = new Float64Array(count * e);
  for (let t = 0; t < count; t++) {
    for (let o = 0; o < e; o++) {
      let acc = bias[first + o];
      const w = (first + o) * e;
      for (let i = 0; i < e; i++) acc += rows[t * e + i] * weight[w + i];
      out[(Math.floor(o / d) * count + t) * d + (o % d)] = acc;
    }
  }
  return out;
}

/** nn.MultiheadAttention for the last of tokens (count, E), attending over all of them. */
function layerFloat64(tokens, count, weights, e, heads) {
  const d = e / heads;
  const { in_proj_weight: w, in_proj_bias: b } = weights;
  const q = projectFloat64(tokens.subarray((count - 1) * e, count * e), 1, w, b, 0, e, heads);
  const k = projectFloat64(tokens, count, w, b, e, e, heads);
  const v = projectFloat64(tokens, count, w, b, 2 * e, e, heads);
  const attn = sdpaFloat64(q, k, v, heads, count, d); // (H, 1, D) = (1, E)
  const ow = weights['out_proj.weight'], ob = weights['out_proj.bias'];
  const out = new Float64Array(e);
  for (let o = 0; o < e; o++) {
    let acc = ob[o];
    for (let i = 0; i < e; i++) acc += attn[i] * ow[o * e + i];
    out[o] = acc;
  }
  return out;
}

// ---- the memory-read reference ----------------------------------------------

/** bench/read_bandwidth.wat in its own memory of maxBytes, every page written: { read(offset, bytes), expected(bytes) } (also used by linear.mjs). */
export async function readBandwidthModule(env, maxBytes) {
  const { instance } = await WebAssembly.instantiate(await env.readCache('read_bandwidth.wasm'));
  const { memory, read } = instance.exports;
  const pages = Math.ceil(maxBytes / 65536) - memory.buffer.byteLength / 65536;
  if (pages > 0) memory.grow(pages);
  // Every page written (a never-written page can be the shared zero page), with values whose sum is checked.
  const words = new Uint32Array(memory.buffer, 0, maxBytes / 4);
  for (let i = 0; i < words.length; i++) words[i] = Math.imul(i, 0x9e3779b1) >>> 0;
  const expected = (bytes) => {
    let sum = 0;
    for (let i = 0; i < bytes / 4; i++) sum = (sum + words[i]) | 0;
    return sum;
  };
  return { read, expected };
}

const roundUp = (bytes, to) => Math.ceil(bytes / to) * to;

// ---- rows --------------------------------------------------------------------

function readRow(name, kind, bytes, reader) {
  const expected = reader.expected(bytes);
  return {
    name, kind, role: 'read', bytes,
    run: () => reader.read(0, bytes),
    verify: (sum) => (sum === expected ? null : `checksum ${sum} != ${expected}`),
  };
}

function mhaSdpaRows(instance, suffix, n, inputs) {
  const { heads: h, headDim: d } = DECODE.model;
  const q = { data: inputs.query, shape: [1, h, 1, d] };
  const k = { data: inputs.key, shape: [1, h, 1, d] };
  const v = { data: inputs.value, shape: [1, h, 1, d] };
  const { mha, sdpaCache: cache } = instance;
  const rows = [{
    name: `mha-wasm SDPA, cache${suffix}`, kind: 'sdpa', role: suffix ? 'threads' : 'reference',
    run: () => {
      cache.truncate(n);
      return mha.scaledDotProductAttention(q, k, v, { cache, isCausal: true, needWeights: false });
    },
    output: (r) => r.output.data,
    verify: () => (cache.length === n + 1 ? null : `cache.length ${cache.length} after the step, expected ${n + 1}`),
  }];
  if (!suffix) {
    const kAll = { data: inputs.keyAll, shape: [1, h, n + 1, d] };
    const vAll = { data: inputs.valueAll, shape: [1, h, n + 1, d] };
    rows.push({
      name: 'mha-wasm SDPA, no cache', kind: 'sdpa', role: 'peer',
      // One query over all N + 1 keys: not causal (top-left causal would let it see key 0 only).
      run: () => mha.scaledDotProductAttention(q, kAll, vAll, { needWeights: false }),
      output: (r) => r.output.data,
    });
  }
  return rows;
}

function mhaLayerRow(instance, suffix, n, x) {
  const { embedDim: e } = DECODE.model;
  const token = { data: x, shape: [1, 1, e] };
  const { layer, layerCache: cache } = instance;
  return {
    name: `mha-wasm layer, cache${suffix}`, kind: 'layer', role: suffix ? 'threads' : 'reference',
    run: () => {
      cache.truncate(n);
      return layer.forward(token, token, token, { cache, isCausal: true, needWeights: false });
    },
    output: (r) => r.output.data,
    verify: () => (cache.length === n + 1 ? null : `cache.length ${cache.length} after the step, expected ${n + 1}`),
  };
}

async function ortRow(runner, data, n, newKey) {
  const { heads: h, headDim: d } = DECODE.model;
  const prepared = await runner.prepare(data);
  return {
    name: runner.name, kind: runner.kind, role: 'peer', group: runner.group, variant: runner.variant, pastPresent: runner.pastPresent,
    run: prepared.run,
    output: (r) => r.Y.data,
    // ORT did the concatenation: present is (1, H, N+1, D), and (SDPA) its last row per head is the new key.
    verify: (r) => {
      if (r.new_key) return [r.new_key, r.new_value].every((t) => t.dims.join() === [1, 1, DECODE.model.embedDim].join()) ? null : `new_key/new_value dims ${r.new_key.dims}`;
      if (!runner.pastPresent) return null;
      for (const present of [r.present_key, r.present_value]) {
        if (present.dims.join() !== [1, h, n + 1, d].join()) return `present dims ${present.dims} != 1,${h},${n + 1},${d}`;
      }
      if (newKey) {
        for (let head = 0; head < h; head++) {
          const row = r.present_key.data.subarray((head * (n + 1) + n) * d, (head * (n + 1) + n + 1) * d);
          if (maxAbsDiff(row, newKey.subarray(head * d, (head + 1) * d)) !== 0) return `present_key's last row of head ${head} is not the new key`;
        }
      }
      return null;
    },
  };
}

// ---- timing ------------------------------------------------------------------

async function callRow(row) {
  const result = row.run();
  return result && typeof result.then === 'function' ? await result : result;
}

/** Rounds of one call per row, order shuffled per round; samples[i][r] is row i's time in round r (ms). */
async function rounds(rows, { minRounds, minMs, maxRounds }, random) {
  const samples = rows.map(() => []);
  const orders = [];
  const start = performance.now();
  while (orders.length < minRounds || (performance.now() - start < minMs && orders.length < maxRounds)) {
    const order = shuffled(rows.length, random);
    for (const i of order) {
      const row = rows[i];
      const t = performance.now();
      const result = row.run();
      if (result && typeof result.then === 'function') await result;
      samples[i].push(performance.now() - t);
    }
    orders.push(order);
  }
  return { samples, rounds: orders.length, ms: performance.now() - start };
}

const ratioMedian = (a, b) => median(a.map((x, r) => x / b[r]));

// ORT's best graph: the one closest to mha-wasm by the per-round ratio (the
// number the targets are about; a row's median alone would mix in the drift).
function markBest(peers) {
  const best = peers.reduce((a, b) => (a === null || b.ratio < a.ratio ? b : a), null);
  if (best) best.best = true;
}

/** Per-row statistics; ratios are medians over rounds, against the same round's reference/read rows. */
function summarize(rows, timed) {
  const index = (kind, role) => rows.findIndex((r) => r.kind === kind && r.role === role);
  return rows.map((row, i) => {
    const s = timed.samples[i];
    const out = {
      name: row.name, kind: row.kind, role: row.role, ...(row.variant ? { group: row.group, variant: row.variant, pastPresent: row.pastPresent } : {}),
      medianMs: median(s), minMs: Math.min(...s), maxMs: Math.max(...s), rounds: s.length,
      ...(row.check ? { check: row.check } : {}),
    };
    const ref = index(row.kind, 'reference');
    if (ref >= 0 && ref !== i) out.ratio = ratioMedian(s, timed.samples[ref]);
    if (row.role === 'threads') out.speedup = ratioMedian(timed.samples[ref], s);
    const read = index(row.kind, 'read');
    if (read >= 0 && read !== i) out.readRatio = ratioMedian(s, timed.samples[read]);
    out.samplesMs = s;
    return out;
  });
}

// ---- checks ------------------------------------------------------------------

const errorText = (error) => String(error && error.message ? error.message : error).split('\n')[0];

function fail(message) {
  throw new MismatchError(`decode: ${message}`);
}

/** One call of every row; outputs compared with the kind's mha-wasm row. Rows that throw are dropped (kept as errors). */
async function checkRows(rows, label, log) {
  const reference = {};
  const kept = [];
  const errors = [];
  for (const row of rows) {
    let result;
    try {
      result = await callRow(row);
    } catch (error) {
      if (row.role === 'reference' || row.role === 'read') throw error;
      const note = errorText(error);
      errors.push({ name: row.name, kind: row.kind, status: 'error', note });
      log(`  ${row.name} at ${label} failed: ${note}`);
      continue;
    }
    const problem = row.verify ? row.verify(result) : null;
    if (problem) fail(`${row.name} at ${label}: ${problem}`);
    if (row.output) {
      const output = row.output(result);
      if (row.role === 'reference') {
        reference[row.kind] = output;
        row.check = { outputDiff: 0, tolerance: TOLERANCE[row.kind], against: 'itself (reference)' };
      } else {
        const diff = maxAbsDiff(reference[row.kind], output);
        const tolerance = TOLERANCE[row.kind];
        row.check = { outputDiff: diff, tolerance };
        if (!(diff <= tolerance)) fail(`${row.name} disagrees with mha-wasm at ${label}: output max abs diff ${diff} > ${tolerance}`);
      }
    }
    kept.push(row);
  }
  return { kept, errors, reference };
}

function checkFloat64(kind, label, output, expected) {
  const diff = maxAbsDiff(output, expected);
  const tolerance = TOLERANCE[kind];
  if (!(diff <= tolerance)) fail(`mha-wasm ${kind} disagrees with the float64 reference at ${label}: max abs diff ${diff} > ${tolerance}`);
  return { kind, at: label, outputDiff: diff, tolerance };
}

// ---- the section -------------------------------------------------------------

async function loadInstances(env, info, log) {
  const { embedDim: e, heads: h, headDim: d } = DECODE.model;
  const maxLength = Math.max(...DECODE.lengths) + 8;
  const weights = layerWeights(e);
  const make = (mha) => {
    const layer = mha.createMultiHeadAttention({ embedDim: e, numHeads: h });
    layer.loadWeights(weights);
    return {
      mha, layer,
      sdpaCache: mha.createKVCache({ batchSize: 1, numHeads: h, headDim: d, valueDim: d, maxLength }),
      layerCache: layer.createCache({ batchSize: 1, maxLength }),
      loopCache: layer.createCache({ batchSize: 1, maxLength: DECODE.generateTokens }),
    };
  };
  const single = make(await (await env.importMha()).init());
  let threaded = null;
  try {
    const mha = await (await env.importMhaThreads()).init({ threads: 2 });
    if (mha.capabilities.threads === 2) threaded = make(mha);
    else info.unavailable.push({ name: 'mha-wasm, 2 threads', error: 'init({ threads: 2 }) fell back to 1 thread' });
  } catch (error) {
    info.unavailable.push({ name: 'mha-wasm, 2 threads', error: String(error) });
    log(`decode: mha-wasm threads build could not be loaded: ${error}`);
  }
  return { single, threaded, weights };
}

/**
 * env: the harness's Node environment (node_env.mjs). options: { quick, onnxProblem, log }.
 * Returns everything measured (bench/run.mjs stores it under "decode" in the results JSON).
 */
export async function runDecode(env, { quick = false, onnxProblem = null, log = () => {} } = {}) {
  const started = performance.now();
  const timing = quick ? DECODE.timing.quick : DECODE.timing.full;
  const { embedDim: e, heads: h, headDim: d } = DECODE.model;
  const maxN = Math.max(...DECODE.lengths);
  const info = { unavailable: [] };
  const random = mulberry32(ROUND_SEED);
  const { single, threaded, weights } = await loadInstances(env, info, log);
  const instances = [[single, ''], ...(threaded ? [[threaded, ', 2 threads']] : [])];

  let ort = null;
  if (onnxProblem) info.unavailable.push({ name: 'onnxruntime-web', error: `ONNX graphs missing: ${onnxProblem}` });
  else {
    try {
      ort = await onnxRuntimeDecode(await env.importOrt(), env, DECODE.model);
    } catch (error) {
      info.unavailable.push({ name: 'onnxruntime-web', error: String(error) });
      log(`decode: onnxruntime-web could not be loaded: ${error}`);
    }
  }

  // The caches, filled once to the largest N (not timed): random keys/values for SDPA,
  // and for the layer the projections of maxN random tokens (ORT gets the same tokens
  // projected by its own MatMul, decode_kv_proj.onnx).
  let t = performance.now();
  const pastKey = uniform(h * maxN * d, streamSeed(TAG.pastKey, maxN));
  const pastValue = uniform(h * maxN * d, streamSeed(TAG.pastValue, maxN));
  const prefill = uniform(maxN * e, streamSeed(TAG.prefill, maxN));
  for (const [instance] of instances) {
    const heads = (data) => ({ data, shape: [1, h, maxN, d] });
    instance.mha.scaledDotProductAttention(heads(pastKey), heads(pastKey), heads(pastValue), { cache: instance.sdpaCache, isCausal: true, needWeights: false });
    const tokens = { data: prefill, shape: [maxN, 1, e] };
    instance.layer.forward(tokens, tokens, tokens, { cache: instance.layerCache, isCausal: true, needWeights: false });
  }
  const ortPast = ort ? await ort.projectKeysValues(prefill, maxN) : null;
  const fillMs = performance.now() - t;
  log(`decode: caches filled to ${maxN} tokens in ${(fillMs / 1000).toFixed(1)} s (not timed)`);

  const reader = await readBandwidthModule(env, roundUp(2 * h * (maxN + 1) * d * 4 + (4 * e * e + 4 * e) * 4, 128));
  const weightBytes = (4 * e * e + 4 * e) * 4;
  const float64Checks = [];
  const steps = [];
  let warm = false;
  for (const n of DECODE.lengths) {
    const label = `N=${n}`;
    const query = uniform(h * d, streamSeed(TAG.query, n));
    const key = uniform(h * d, streamSeed(TAG.key, n));
    const value = uniform(h * d, streamSeed(TAG.value, n));
    const x = uniform(e, streamSeed(TAG.token, n));
    const sdpaInputs = {
      query, key, value,
      keyAll: headsPrefix(pastKey, h, maxN, n, d, key),
      valueAll: headsPrefix(pastValue, h, maxN, n, d, value),
    };
    const kvBytes = 2 * h * (n + 1) * d * 4;
    const rows = [];
    const prepareErrors = [];
    // An ORT graph that cannot be loaded becomes an error line, like a row that throws when it runs.
    const addOrt = async (runner, data, newKey) => {
      try {
        rows.push(await ortRow(runner, data, n, newKey));
      } catch (error) {
        prepareErrors.push({ name: runner.name, kind: runner.kind, status: 'error', note: errorText(error) });
        log(`  ${runner.name} at ${label} failed: ${errorText(error)}`);
      }
    };
    for (const [instance, suffix] of instances) rows.push(...mhaSdpaRows(instance, suffix, n, sdpaInputs));
    if (ort) {
      const past = n === maxN ? { pastKey, pastValue } : { pastKey: headsPrefix(pastKey, h, maxN, n, d), pastValue: headsPrefix(pastValue, h, maxN, n, d) };
      for (const runner of ort.sdpa) await addOrt(runner, { query, key, value, ...past, keyAll: sdpaInputs.keyAll, valueAll: sdpaInputs.valueAll, length: n }, key);
    }
    rows.push(readRow(`read K/V bytes (${(kvBytes / 1e6).toFixed(2)} MB)`, 'sdpa', roundUp(kvBytes, 128), reader));
    for (const [instance, suffix] of instances) rows.push(mhaLayerRow(instance, suffix, n, x));
    if (ort) {
      const past = n === maxN ? { pastKey: ortPast.key, pastValue: ortPast.value }
        : { pastKey: headsPrefix(ortPast.key, h, maxN, n, d), pastValue: headsPrefix(ortPast.value, h, maxN, n, d) };
      for (const runner of ort.layer) await addOrt(runner, { x, ...past, length: n }, null);
    }
    rows.push(readRow(`read K/V + weights bytes (${((kvBytes + weightBytes) / 1e6).toFixed(2)} MB)`, 'layer', roundUp(kvBytes + weightBytes, 128), reader));

    log(`decode ${label}: checking ${rows.length} rows`);
    const { kept, errors: runErrors, reference } = await checkRows(rows, label, log);
    const errors = [...prepareErrors, ...runErrors];
    if (n === DECODE.float64.sdpa) {
      const keys = headsPrefix(pastKey, h, maxN, n, d, key), values = headsPrefix(pastValue, h, maxN, n, d, value);
      float64Checks.push(checkFloat64('sdpa', label, reference.sdpa, sdpaFloat64(query, keys, values, h, n + 1, d)));
    }
    if (n === DECODE.float64.layer) {
      const tokens = new Float32Array((n + 1) * e);
      tokens.set(prefill.subarray(0, n * e));
      tokens.set(x, n * e);
      float64Checks.push(checkFloat64('layer', label, reference.layer, layerFloat64(tokens, n + 1, weights, e, h)));
    }
    // Warm-up: V8 compiles wasm with its baseline tier first and optimizes hot functions later.
    t = performance.now();
    if (!warm) await rounds(kept, { minRounds: 3, minMs: timing.warmUpMs, maxRounds: Infinity }, random);
    else await rounds(kept, { minRounds: timing.settleRounds, minMs: 0, maxRounds: timing.settleRounds }, random);
    warm = true;
    const warmUpMs = performance.now() - t;
    const timed = await rounds(kept, timing, random);
    const summary = summarize(kept, timed);
    for (const row of summary) {
      // The bytes a step of this kind must read at least: the K/V cache, and for the layer also the weights.
      row.referenceBytes = row.kind === 'sdpa' ? kvBytes : kvBytes + weightBytes;
      row.gbPerS = row.referenceBytes / row.medianMs / 1e6;
    }
    for (const kind of ['sdpa', 'layer']) markBest(summary.filter((r) => r.kind === kind && r.pastPresent));
    steps.push({ cachedKeys: n, attendedKeys: n + 1, kvBytes, weightBytes, warmUpMs, timedMs: timed.ms, rounds: timed.rounds, rows: summary, errors });
    const ref = summary.find((r) => r.kind === 'sdpa' && r.role === 'reference');
    const layerRef = summary.find((r) => r.kind === 'layer' && r.role === 'reference');
    log(`decode ${label}: ${timed.rounds} rounds in ${(timed.ms / 1000).toFixed(1)} s; mha-wasm SDPA ${ref.medianMs.toFixed(3)} ms, layer ${layerRef.medianMs.toFixed(3)} ms`);
  }

  // Generation: 256 single-token layer steps from an empty cache.
  const count = DECODE.generateTokens;
  const tokens = uniform(count * e, streamSeed(TAG.generate, count));
  const loopRows = instances.map(([instance, suffix]) => {
    const cache = instance.loopCache;
    const xs = Array.from({ length: count }, (_, i) => ({ data: tokens.subarray(i * e, (i + 1) * e), shape: [1, 1, e] }));
    return {
      name: `mha-wasm layer, cache${suffix}`, kind: 'generate', role: suffix ? 'threads' : 'reference',
      run(outputs) {
        cache.reset();
        for (let i = 0; i < count; i++) {
          const r = instance.layer.forward(xs[i], xs[i], xs[i], { cache, isCausal: true, needWeights: false });
          if (outputs) outputs.set(r.output.data, i * e);
        }
        return { length: cache.length };
      },
    };
  });
  const loopErrors = [];
  if (ort) {
    for (const runner of ort.layer) {
      try {
        const prepared = await runner.prepareLoop(tokens, count);
        loopRows.push({ name: runner.name, kind: 'generate', role: 'peer', group: runner.group, variant: runner.variant, pastPresent: runner.pastPresent, run: prepared.run });
      } catch (error) {
        loopErrors.push({ name: runner.name, kind: 'generate', status: 'error', note: errorText(error) });
      }
    }
  }
  log(`decode generation: checking ${loopRows.length} rows (${count} steps each)`);
  const loopKept = [];
  let loopReference = null;
  for (const row of loopRows) {
    const outputs = new Float32Array(count * e);
    try {
      const r = await row.run(outputs);
      if (r.length !== count) fail(`${row.name}, generation: ${r.length} tokens cached after ${count} steps`);
    } catch (error) {
      if (error instanceof MismatchError || row.role === 'reference') throw error;
      const note = errorText(error);
      loopErrors.push({ name: row.name, kind: 'generate', status: 'error', note });
      log(`  ${row.name}, generation failed: ${note}`);
      continue;
    }
    if (row.role === 'reference') loopReference = outputs;
    else {
      const diff = maxAbsDiff(loopReference, outputs);
      row.check = { outputDiff: diff, tolerance: TOLERANCE.layer, outputs: `all ${count} steps` };
      if (!(diff <= TOLERANCE.layer)) fail(`${row.name} disagrees with mha-wasm in the generation loop: output max abs diff ${diff} > ${TOLERANCE.layer}`);
    }
    loopKept.push(row);
  }
  const loopTimed = await rounds(loopKept, timing.loop, random);
  const loopSummary = summarize(loopKept, loopTimed);
  for (const r of loopSummary) r.perTokenMs = r.medianMs / count;
  markBest(loopSummary.filter((r) => r.pastPresent));
  log(`decode generation: ${loopTimed.rounds} rounds in ${(loopTimed.ms / 1000).toFixed(1)} s`);

  return {
    model: DECODE.model,
    quick,
    timing,
    roundSeed: ROUND_SEED,
    tolerances: TOLERANCE,
    fillMs,
    float64Checks,
    unavailable: info.unavailable,
    steps,
    generation: { tokens: count, rounds: loopTimed.rounds, timedMs: loopTimed.ms, rows: loopSummary, errors: loopErrors },
    targets: evaluateTargets(steps, loopSummary),
    totalSeconds: (performance.now() - started) / 1000,
  };
}

function evaluateTargets(steps, generation) {
  const { sdpaVsOrt, layerVsOrt, threads } = DECODE.targets;
  const at = (n) => steps.find((s) => s.cachedKeys === n);
  const bestOf = (step, kind) => step?.rows.find((r) => r.kind === kind && r.best);
  const out = [];
  for (const n of sdpaVsOrt.lengths) {
    const best = bestOf(at(n), 'sdpa');
    out.push({ what: `SDPA step vs ORT's best past/present graph at N=${n}`, target: `>= ${sdpaVsOrt.ratio}x`, measured: best ? best.ratio : null, best: best?.variant ?? null, met: best ? best.ratio >= sdpaVsOrt.ratio : null });
  }
  // For comparison, without a target: ORT's fastest row without past/present (a cache kept in JavaScript).
  const noPast = (rows, kind) => rows?.filter((r) => r.kind === kind && r.pastPresent === false).reduce((a, b) => (a === null || b.ratio < a.ratio ? b : a), null);
  for (const n of sdpaVsOrt.lengths) {
    const row = noPast(at(n)?.rows, 'sdpa');
    out.push({ what: `SDPA step vs ORT without past/present at N=${n}`, target: null, measured: row ? row.ratio : null, best: row?.variant ?? null, met: null });
  }
  for (const step of steps) {
    const best = bestOf(step, 'layer');
    out.push({ what: `layer step vs ORT's best past/present graph at N=${step.cachedKeys}`, target: `>= ${layerVsOrt.ratio}x`, measured: best ? best.ratio : null, best: best?.variant ?? null, met: best ? best.ratio >= layerVsOrt.ratio : null });
  }
  for (const step of steps) {
    const row = noPast(step.rows, 'layer');
    out.push({ what: `layer step vs ORT without present at N=${step.cachedKeys}`, target: null, measured: row ? row.ratio : null, best: row?.variant ?? null, met: null });
  }
  for (const kind of ['sdpa', 'layer']) {
    const row = at(threads.length)?.rows.find((r) => r.kind === kind && r.role === 'threads');
    out.push({ what: `${kind === 'sdpa' ? 'SDPA' : 'layer'} step, 2 threads vs 1, at N=${threads.length}`, target: `>= ${threads.speedup}x`, measured: row ? row.speedup : null, met: row ? row.speedup >= threads.speedup : null });
  }
  const best = generation.find((r) => r.best);
  out.push({ what: `generation loop (${DECODE.generateTokens} layer steps) vs ORT's best past/present graph`, target: null, measured: best ? best.ratio : null, best: best?.variant ?? null, met: null });
  const loopNoPresent = noPast(generation, 'generate');
  out.push({ what: `generation loop vs ORT without present`, target: null, measured: loopNoPresent ? loopNoPresent.ratio : null, best: loopNoPresent?.variant ?? null, met: null });
  return out;
}

// ---- report ------------------------------------------------------------------

const fixed = (value, digits) => (value === undefined || value === null ? '' : value.toFixed(digits));
const ms = (value) => (value >= 100 ? value.toFixed(1) : value >= 10 ? value.toFixed(2) : value.toFixed(3));

function table(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

function ratioText(row) {
  if (row.role === 'reference') return '1 (reference)';
  if (row.role === 'read') return '';
  if (row.role === 'threads') return `${fixed(row.ratio, 2)} (${fixed(row.speedup, 2)}x faster)`;
  return fixed(row.ratio, 2);
}

/** The section's tables and target lines, as printed on stdout. */
export function formatDecode(result) {
  const { embedDim, heads, headDim } = result.model;
  const out = [];
  out.push(`decoding section - one new token per step, E=${embedDim}, H=${heads}, D=${headDim}, batch 1, one thread unless named ", 2 threads"; Node ${process.version}`);
  out.push('N = tokens in the cache before the step (the step attends over N+1). Rows interleaved call by call, order shuffled per round;');
  out.push('"x mha-wasm" = median over rounds of (row time / mha-wasm cache time of the same kind in that round), > 1 = mha-wasm faster;');
  out.push('"x read" = the same against the read row of its kind (read_bandwidth.wat over the K/V bytes, or K/V + weights for the layer);');
  out.push('GB/s = those bytes / median. * = ORT\'s best past/present graph for that N and kind (lowest "x mha-wasm"); the targets use it.\n');
  const lines = [];
  for (const step of result.steps) {
    step.rows.forEach((row, i) => {
      lines.push([
        i === 0 ? String(step.cachedKeys) : '',
        `${row.name}${row.best ? ' *' : ''}`,
        ms(row.medianMs), `${ms(row.minMs)}-${ms(row.maxMs)}`,
        ratioText(row),
        fixed(row.gbPerS, 1),
        row.role === 'read' ? '1' : fixed(row.readRatio, 2),
      ]);
    });
    for (const e of step.errors) lines.push(['', e.name, 'error', '', '', '', '']);
    lines.push(['', `(${step.rounds} rounds, ${(step.timedMs / 1000).toFixed(1)} s)`, '', '', '', '', '']);
  }
  out.push(table(['N', 'row', 'median ms', 'min-max ms', 'x mha-wasm', 'GB/s', 'x read'], lines));
  const g = result.generation;
  out.push(`\ngeneration: ${g.tokens} single-token layer steps from an empty cache, total per loop (ORT: each run's presents fed back as the next past; "no present": the cache kept in JavaScript); ${g.rounds} rounds`);
  out.push(table(['', 'row', 'median ms', 'min-max ms', 'x mha-wasm', 'ms/token'],
    g.rows.map((row) => ['', `${row.name}${row.best ? ' *' : ''}`, ms(row.medianMs), `${ms(row.minMs)}-${ms(row.maxMs)}`, ratioText(row), fixed(row.perTokenMs, 3)])
      .concat(g.errors.map((e) => ['', e.name, 'error', '', '', '']))));
  out.push('\nchecks: every row against mha-wasm before timing (tolerance 1e-4 SDPA, 1e-3 layer); ' +
    result.float64Checks.map((c) => `float64 reference ${c.kind} at ${c.at}: ${c.outputDiff.toExponential(1)}`).join(', '));
  for (const t of result.targets) {
    const measured = `${t.what}${t.best ? ` (${t.best})` : ''}: ${t.measured === null ? 'not measured' : `${t.measured.toFixed(3)}x`}`;
    if (t.target === null) out.push(`for comparison: ${measured}`);
    else out.push(`target ${measured} (${t.target}: ${t.met === null ? 'n/a' : t.met ? 'met' : 'NOT met'})`);
  }
  for (const u of result.unavailable) out.push(`unavailable: ${u.name}: ${u.error}`);
  for (const step of result.steps) for (const e of step.errors) out.push(`error: ${e.name} at N=${step.cachedKeys}: ${e.note}`);
  for (const e of result.generation.errors) out.push(`error: ${e.name}, generation: ${e.note}`);
  out.push(`decoding section: ${result.totalSeconds.toFixed(0)} s (cache fill ${(result.fillMs / 1000).toFixed(1)} s, not timed)`);
  return out.join('\n');
}

/** From bench/run.mjs or the command line: the generated files, then runDecode in Node. */
export async function runDecodeSection(log, { quick = false, onnxProblem } = {}) {
  ensureReadBandwidth(log);
  return runDecode(nodeEnv(log), { quick, onnxProblem, log });
}

// 4 significant digits in the JSON, like the main rows.
const rounded = (value) =>
  typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value) ? Number(value.toPrecision(4))
    : Array.isArray(value) ? value.map(rounded)
      : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]))
        : value;

/** JSON text with every array of numbers (the per-round samples) on one line. */
export const compactNumberArrays = (json) =>
  json.replace(/\[(\s*-?[\d.eE+-]+\s*,)*\s*-?[\d.eE+-]+\s*\]/g, (array) => array.replace(/\s+/g, ''));

async function main() {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const outIndex = argv.indexOf('--out');
  const startedAt = performance.now();
  const log = (message) => process.stderr.write(`${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)}s ${message}\n`);
  const loadBefore = loadCheck();
  log(`load before: ${loadBefore.loadavg}`);
  ensureDist(log);
  const onnxProblem = ensureOnnxModels(DECODE.model.embedDim, log);
  const result = await runDecodeSection(log, { quick, onnxProblem });
  const loadAfter = loadCheck();
  console.log(formatDecode(result));
  console.log(`load: before ${loadBefore.loadavg}; after ${loadAfter.loadavg}`);
  const path = outIndex >= 0 ? argv[outIndex + 1] : join(BENCH, 'results', `decode${quick ? '-quick' : ''}.json`);
  const report = {
    generatedAt: new Date().toISOString(),
    command: `node bench/decode.mjs ${argv.join(' ')}`.trim(),
    machine: { ...machineInfo(), loadBefore, loadAfter },
    versions: { 'onnxruntime-web': packageVersion('onnxruntime-web'), 'mha-wasm': (await import('../dist/node.mjs')).VERSION },
    // Which build was measured (dist/ is rebuilt as the sources change).
    dist: Object.fromEntries(['mha.wasm', 'mha-mt.wasm'].map((file) => {
      const bytes = readFileSync(join(ROOT, 'dist', file));
      return [file, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }];
    })),
    decode: rounded(result),
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${compactNumberArrays(JSON.stringify(report, null, 1))}\n`);
  log(`wrote ${relative(ROOT, path)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(`\ndecode bench FAILED: ${error instanceof MismatchError ? error.message : error && error.stack ? error.stack : error}`);
    process.exit(1);
  });
}
