// The GPT-2 section of `npm run bench` (Node only): decoding with a
// GPT-2-small-shaped model (12 layers, 768 wide, 12 heads, vocabulary 50,257,
// random weights), mha-wasm's `mha-wasm/models` (loadModel on the checkpoint
// folder) against onnxruntime-web running the same weights exported to ONNX
// with past/present key-value inputs and outputs (fed back each step, as
// Transformers.js does). See bench/README.md, "The GPT-2 section".
//
//   node bench/gpt2.mjs [--quick] [--out FILE]     # this section alone
//
// Two passes, each in a fresh Node process (onnxruntime-web fixes its thread
// count once per process, and each pass holds about 1.7 GB of weights):
//   1 thread    mha-wasm init() and ORT numThreads = 1
//   2 threads   mha-wasm init({ threads: 2 }) and ORT numThreads = 2
// In each pass: loadModel and ORT's InferenceSession.create are timed; both are
// checked against the float64 PyTorch logits the generator wrote, and against
// each other, on the prompt and on every decoding step of one untimed trial
// (which is also the warm-up); then timed trials: the prompt (32 tokens) as one
// forward, then N steps of one token each, interleaved step by step (a round =
// one step of every row, in an order shuffled per round by a seeded generator),
// with a memory-read reference row (read_bandwidth.wat over the bytes of weights
// a step must read, with the pass's thread count) in the same rounds. Before each
// timed call the process is let go quiet (untimed), so that no row runs beside
// what the previous one left running (ORT's spinning pool threads, V8's GC of its
// per-step output arrays). A proxy of `mha` times the library's layers inside
// mha-wasm's steps: where a step's time goes.
//
//   node bench/gpt2.mjs --pass <threads> --steps N --trials T --out FILE   # one pass (what the section spawns)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { readBandwidthModule } from './decode.mjs';
import { MismatchError } from './harness.mjs';
import { errorText, fixed, ms, mulberry32, table, targetLine } from './interleave.mjs';
import { sectionReport, writeSectionReport } from './linear.mjs';
import { loadCheck, packageVersion } from './machine.mjs';
import { nodeEnv } from './node_env.mjs';
import { onnxRuntimeGpt2 } from './runners/onnxruntime_gpt2.mjs';
import { settle } from './settle.mjs';
import { BENCH, CACHE, GPT2_MODEL_DIR, ROOT, ensureDist, ensureGpt2Model, ensureReadBandwidth } from './setup.mjs';
import { maxAbsDiff, median, shuffled } from './stats.mjs';

export const GPT2 = {
  threads: [1, 2],
  // Per pass: one untimed trial (the checks and the warm-up), then `trials` timed trials of the prompt and `steps` steps.
  full: { steps: 64, trials: 3 },
  quick: { steps: 16, trials: 1 },
  // Max |logit difference|. Logits have a standard deviation of about 0.56 (max |logit| 2.7);
  // float32 sums in different orders differ by 2-6e-6 (measured).
  tolerance: 1e-4,
  targets: { ratio: 1.5 }, // mha-wasm tokens/s over ORT's, 1 thread each and 2 threads each
  // A pass whose trials saw other processes use more than this many cores is flagged as measured on a busy machine.
  busyCores: 0.25,
  // Before every timed call: wait until the process's threads have used < 10 % of a 5 ms window (at most 250 ms).
  settle: { windowMs: 5, idleShare: 0.1, maxMs: 250 },
};

const ROUND_SEED = 0x67707432; // "gpt2": the round orders

/** Busy CPU time of the whole machine so far, in ms (/proc/stat: user+nice+system+irq+softirq+steal), or null. */
function machineBusy() {
  try {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    return ((user + nice + system + irq + softirq + steal) * 1000) / 100; // USER_HZ = 100
  } catch {
    return null;
  }
}

/** read_bandwidth.wat over `bytes` in this thread: { read() -> null | problem }. */
async function readBandwidthOne(env, bytes) {
  const reader = await readBandwidthModule(env, Math.ceil(bytes / 65536) * 65536);
  const expected = reader.expected(bytes);
  return { read: () => (reader.read(0, bytes) === expected ? null : 'checksum mismatch'), close() {} };
}

// The worker of readBandwidthThreads: its own read_bandwidth.wat instance over its half; it waits on
// flags[0] (a generation count), reads, stores its sum in flags[2], and counts itself done in flags[1].
const READ_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { wasm, bytes, control } = workerData;
const flags = new Int32Array(control);
WebAssembly.instantiate(wasm).then(({ instance }) => {
  const { memory, read } = instance.exports;
  const pages = Math.ceil(bytes / 65536) - memory.buffer.byteLength / 65536;
  if (pages > 0) memory.grow(pages);
  const words = new Uint32Array(memory.buffer, 0, bytes / 4);
  let expected = 0;
  for (let i = 0; i < words.length; i++) expected = (expected + (words[i] = Math.imul(i ^ 0x5bd1e995, 0x9e3779b1) >>> 0)) | 0;
  parentPort.postMessage({ expected });
  let generation = 0;
  for (;;) {
    Atomics.wait(flags, 0, generation);
    generation = Atomics.load(flags, 0);
    if (generation < 0) return;
    Atomics.store(flags, 2, read(0, bytes));
    Atomics.add(flags, 1, 1);
    Atomics.notify(flags, 1);
  }
});`;

/** read_bandwidth.wat over `bytes` split in two: this thread reads one half while a worker thread reads the other. */
async function readBandwidthThreads(env, bytes) {
  const half = bytes / 2;
  const own = await readBandwidthOne(env, half);
  const control = new SharedArrayBuffer(16);
  const flags = new Int32Array(control);
  const worker = new Worker(READ_WORKER, { eval: true, workerData: { wasm: await env.readCache('read_bandwidth.wasm'), bytes: half, control } });
  const { expected } = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    read() {
      Atomics.store(flags, 1, 0);
      Atomics.add(flags, 0, 1);
      Atomics.notify(flags, 0);
      const problem = own.read();
      for (let done; (done = Atomics.load(flags, 1)) < 1;) Atomics.wait(flags, 1, done);
      return problem ?? (Atomics.load(flags, 2) === expected ? null : 'checksum mismatch (worker)');
    },
    close() {
      Atomics.store(flags, 0, -1);
      Atomics.notify(flags, 0);
      worker.unref();
    },
  };
}

const PASS_FILE = (threads) => join(CACHE, `gpt2_pass_${threads}.json`);

// ---- one pass (a process of its own) ----------------------------------------

function readReference(dir) {
  const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
  const bytes = readFileSync(join(dir, reference.referenceLogits.file));
  reference.logits = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return reference;
}

const argmax = (a, from = 0, to = a.length) => {
  let best = from;
  for (let i = from + 1; i < to; i++) if (a[i] > a[best]) best = i;
  return best - from;
};

/**
 * mha for loadModel with its layers' forward() timed (the profile of where a
 * step's time goes): the attention layers, the MLP's two Linear layers, the LM
 * head. Wrapping a forward costs two performance.now() calls (about 0.1 µs each)
 * per layer call, 37 per token.
 */
function profiledMha(mha, vocab) {
  const parts = { attention: 0, mlp: 0, lmHead: 0 };
  const wrap = (layer, part) => {
    const forward = layer.forward.bind(layer);
    layer.forward = (...args) => {
      const t = performance.now();
      const result = forward(...args);
      parts[part] += performance.now() - t;
      return result;
    };
    return layer;
  };
  const over = {
    createLinear: (options) => wrap(mha.createLinear(options), options.outFeatures === vocab ? 'lmHead' : 'mlp'),
    createMultiHeadAttention: (options) => wrap(mha.createMultiHeadAttention(options), 'attention'),
  };
  const proxy = new Proxy({}, {
    get: (_, key) => (key in over ? over[key] : typeof mha[key] === 'function' ? mha[key].bind(mha) : mha[key]),
    has: (_, key) => key in over || key in mha,
  });
  return { mha: proxy, parts, take: () => { const out = { ...parts }; for (const k in parts) parts[k] = 0; return out; } };
}

/** The bytes of weights one decoding step must read: every parameter but wpe (one row of it is read). */
function stepWeightBytes(config) {
  const { n_embd: e, n_layer: layers, vocab_size: v } = config;
  const inner = config.n_inner ?? 4 * e;
  const perLayer = (e * 3 * e + 3 * e) + (e * e + e) + (e * inner + inner) + (inner * e + e) + 4 * e;
  return { total: 4 * (layers * perLayer + v * e + 2 * e), attention: 4 * layers * (4 * e * e + 4 * e), mlp: 4 * layers * (2 * e * inner + inner + e), lmHead: 4 * v * e };
}

async function runPass({ threads, steps, trials, log }) {
  const started = performance.now();
  const env = nodeEnv(log);
  const config = JSON.parse(readFileSync(join(GPT2_MODEL_DIR, 'config.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(GPT2_MODEL_DIR, 'manifest.json'), 'utf8'));
  const reference = readReference(GPT2_MODEL_DIR);
  const { n_layer: layers, n_head: heads, n_embd: embed, vocab_size: vocab } = config;
  const headDim = embed / heads;
  const prompt = reference.prompt;
  const tokens = reference.continuation.slice(0, steps);
  if (tokens.length < steps) throw new Error(`reference.json has ${reference.continuation.length} continuation tokens, fewer than ${steps} steps`);
  const refRows = reference.referenceLogits.positions;

  // mha-wasm: init, then loadModel on the folder (timed: the checkpoint's load in Node).
  const { init } = await import('../dist/node.mjs');
  const { loadModel } = await import('../dist/models/node.mjs');
  const mha = await init(threads > 1 ? { threads } : undefined);
  if ((mha.capabilities?.threads ?? 1) !== threads) throw new Error(`init({ threads: ${threads} }) gave ${mha.capabilities?.threads} threads`);
  const profile = profiledMha(mha, vocab);
  let t = performance.now();
  const model = await loadModel(profile.mha, GPT2_MODEL_DIR);
  const loadMs = performance.now() - t;
  log(`mha-wasm loadModel: ${(loadMs / 1000).toFixed(2)} s (heap ${(mha.memory().heapBytes / 2 ** 20).toFixed(0)} MiB)`);
  const cache = model.createCache({ maxLength: prompt.length + steps });

  // onnxruntime-web: the file read and InferenceSession.create (timed, for reference).
  const ort = await onnxRuntimeGpt2(await env.importOrt(), {
    threads, wasmPaths: env.ortWasmPaths, modelPath: join(GPT2_MODEL_DIR, 'onnx', 'decoder_model.onnx'), layers, heads, headDim, vocab,
  });
  log(`ORT InferenceSession.create: ${(ort.loadMs / 1000).toFixed(2)} s (file read ${(ort.readMs / 1000).toFixed(2)} s)`);
  const ortDecoder = ort.decoder();

  const weightBytes = stepWeightBytes(config);
  // The memory-read reference: with 2 threads, this thread reads one half and a worker the other, as mha-wasm's pool splits a call.
  const readBytes = Math.floor(weightBytes.total / 256) * 256;
  const reader = threads > 1 ? await readBandwidthThreads(env, readBytes) : await readBandwidthOne(env, readBytes);

  const suffix = threads > 1 ? `, ${threads} threads` : '';
  // A row: reset() before a trial, prefill() the prompt, step() the next token; each returns the logits (rows, vocab).
  const rows = [
    {
      name: `mha-wasm${suffix}`, role: 'reference', index: 0,
      reset() { cache.reset(); this.index = 0; },
      prefill: () => model.forward(prompt, { cache }).logits.data,
      step() { return model.forward([tokens[this.index++]], { cache }).logits.data; },
      length: () => cache.length,
    },
    {
      name: `ORT${suffix}`, role: 'peer', index: 0,
      reset() { ortDecoder.reset(); this.index = 0; },
      prefill: async () => (await ortDecoder.step(prompt)).logits,
      async step() { return (await ortDecoder.step([tokens[this.index++]])).logits; },
      length: () => ortDecoder.length,
    },
    {
      name: `read ${(readBytes / 1e6).toFixed(0)} MB of weights (${threads} thread${threads > 1 ? 's' : ''})`, role: 'read',
      reset() {},
      step() {
        const problem = reader.read();
        if (problem) throw new Error(`read_bandwidth: ${problem}`);
        return null;
      },
    },
  ];
  const [mhaRow, ortRow] = rows;

  // ---- checks: one untimed trial, every logit compared --------------------------
  const tolerance = GPT2.tolerance;
  const fail = (message) => {
    throw new MismatchError(`gpt2 (${threads} thread${threads > 1 ? 's' : ''}): ${message}`);
  };
  const checks = { tolerance, prompt: {}, steps: {} };
  for (const row of rows) row.reset();
  t = performance.now();
  const mhaPrompt = mhaRow.prefill();
  const ortPrompt = await ortRow.prefill();
  const refPrompt = reference.logits.subarray(0, prompt.length * vocab);
  checks.prompt = {
    tokens: prompt.length,
    mhaVsFloat64: maxAbsDiff(mhaPrompt, refPrompt),
    ortVsFloat64: maxAbsDiff(ortPrompt, refPrompt),
    ortVsMha: maxAbsDiff(ortPrompt, mhaPrompt),
  };
  for (const [what, diff] of Object.entries(checks.prompt)) {
    if (what !== 'tokens' && !(diff <= tolerance)) fail(`prompt logits: ${what} max abs diff ${diff} > ${tolerance}`);
  }
  let ortVsMha = 0, mhaVsFloat64 = 0, ortVsFloat64 = 0, greedyEqual = 0, referenceSteps = 0;
  for (let s = 0; s < steps; s++) {
    const a = mhaRow.step();
    const b = await ortRow.step();
    ortVsMha = Math.max(ortVsMha, maxAbsDiff(a, b));
    if (argmax(a) === argmax(b)) greedyEqual++;
    const position = prompt.length + s;
    if (position < refRows) {
      const r = reference.logits.subarray(position * vocab, (position + 1) * vocab);
      mhaVsFloat64 = Math.max(mhaVsFloat64, maxAbsDiff(a, r));
      ortVsFloat64 = Math.max(ortVsFloat64, maxAbsDiff(b, r));
      referenceSteps++;
    }
  }
  checks.steps = { steps, ortVsMha, greedyEqual, referenceSteps, mhaVsFloat64, ortVsFloat64 };
  for (const what of ['ortVsMha', 'mhaVsFloat64', 'ortVsFloat64']) {
    if (!(checks.steps[what] <= tolerance)) fail(`decoding steps: ${what} max abs diff ${checks.steps[what]} > ${tolerance}`);
  }
  const total = prompt.length + steps;
  if (mhaRow.length() !== total || ortRow.length() !== total) fail(`after the trial the caches hold ${mhaRow.length()} (mha-wasm) and ${ortRow.length()} (ORT) tokens, expected ${total}`);
  const presentDims = ortDecoder.presentDims();
  if (presentDims.some((d) => d !== [1, heads, total, headDim].join())) fail(`ORT's presents are ${presentDims[0]}, expected 1,${heads},${total},${headDim}`);
  const checkMs = performance.now() - t;
  log(`checked: prompt logits vs float64 mha-wasm ${checks.prompt.mhaVsFloat64.toExponential(1)}, ORT ${checks.prompt.ortVsFloat64.toExponential(1)}; ` +
    `${steps} steps ORT vs mha-wasm ${ortVsMha.toExponential(1)}, greedy ids equal ${greedyEqual}/${steps} (${(checkMs / 1000).toFixed(1)} s, also the warm-up)`);

  // ---- timed trials ----------------------------------------------------------------
  const random = mulberry32(ROUND_SEED + threads);
  const samples = rows.map(() => []);
  const prefill = rows.map(() => []);
  const settledAfter = rows.map(() => []); // the untimed wait for a quiet process after each of the row's calls
  let previous = -1;
  const partSamples = { attention: [], mlp: [], lmHead: [] };
  // The profile is taken around mha-wasm's step row: its parts are the time inside each kind of layer during that call.
  const mhaStep = mhaRow.step.bind(mhaRow);
  mhaRow.step = () => {
    profile.take();
    const out = mhaStep();
    const parts = profile.take();
    for (const k in partSamples) partSamples[k].push(parts[k]);
    return out;
  };
  // One timed call, from a quiet process: what the row before it left running (ORT's spinning pool
  // threads, V8's background GC of ORT's per-step output arrays) has stopped first.
  // cpuShare: the CPU time of all of the process's threads during the call over its wall time
  // (2 = both threads of a 2-thread row worked all along; about 1 when the second core was busy elsewhere).
  const cpuShare = rows.map(() => []);
  const timedCall = async (i, call, into) => {
    const waited = await settle(GPT2.settle);
    if (previous >= 0) settledAfter[previous].push(waited);
    const cpu = process.cpuUsage();
    const s = performance.now();
    const result = call();
    if (result && typeof result.then === 'function') await result;
    const wall = performance.now() - s;
    const used = process.cpuUsage(cpu);
    into[i].push(wall);
    if (into === samples) cpuShare[i].push((used.user + used.system) / 1000 / wall);
    previous = i;
  };
  t = performance.now();
  const others = []; // per trial: the CPU other processes used, in cores (0-2 here), from /proc/stat
  const perTrial = []; // per trial: that, ORT's per-step ratio median, and every row's median
  for (let trial = 0; trial < trials; trial++) {
    const trialStart = performance.now();
    const machineBefore = machineBusy();
    const ownBefore = process.cpuUsage();
    const first = samples[0].length;
    for (const row of rows) row.reset();
    // The prompt: one forward of each implementation, in a shuffled order (the read row has none).
    for (const i of shuffled(2, random)) await timedCall(i, () => rows[i].prefill(), prefill);
    // The steps: a round = one step of every row, in an order shuffled per round.
    for (let step = 0; step < steps; step++) {
      for (const i of shuffled(rows.length, random)) await timedCall(i, () => rows[i].step(), samples);
    }
    const trialMs = performance.now() - trialStart;
    const own = process.cpuUsage(ownBefore);
    const machine = machineBusy();
    others.push(machine && machineBefore ? Math.max(0, (machine - machineBefore) - (own.user + own.system) / 1000) / trialMs : null);
    const inTrial = (i) => samples[i].slice(first);
    perTrial.push({
      otherCores: others[trial],
      ratio: median(inTrial(1).map((x, k) => x / inTrial(0)[k])),
      medianMs: rows.map((_, i) => median(inTrial(i))),
    });
    log(`trial ${trial + 1}/${trials}: ${steps} steps in ${(trialMs / 1000).toFixed(1)} s; median ms/token ` +
      rows.map((r, i) => `${r.role === 'read' ? 'read' : r.name} ${median(samples[i].slice(first)).toFixed(1)}`).join(', ') +
      (others[trial] === null ? '' : `; other processes used ${others[trial].toFixed(2)} cores`));
  }
  const timedMs = performance.now() - t;

  const ratio = (a, b) => median(a.map((x, i) => x / b[i]));
  const results = rows.map((row, i) => {
    const s = samples[i];
    const mean = s.reduce((x, y) => x + y, 0) / s.length;
    const out = {
      name: row.name, role: row.role,
      medianMs: median(s), meanMs: mean, minMs: Math.min(...s), maxMs: Math.max(...s), steps: s.length,
      tokensPerS: row.role === 'read' ? null : 1000 / mean,
    };
    if (row.role === 'peer') out.ratio = ratio(s, samples[0]);
    out.cpuShare = median(cpuShare[i]);
    out.quietAfterMs = median(settledAfter[i]);
    out.quietAfterMaxMs = Math.max(...settledAfter[i]);
    if (row.role !== 'read') {
      out.readRatio = ratio(s, samples[2]);
      out.prefillMs = median(prefill[i]);
      out.prefillSamplesMs = prefill[i];
    } else {
      out.bytes = readBytes;
      out.gbPerS = readBytes / out.medianMs / 1e6;
    }
    out.samplesMs = s;
    return out;
  });
  // Where mha-wasm's step time goes: medians over the timed steps, and the rest (JavaScript: the embedding,
  // LayerNorms, GELU, residual adds, the logits copy, argument checks) as the step's time minus the three.
  const stepTimes = samples[0];
  const restSamples = stepTimes.map((x, i) => x - partSamples.attention[i] - partSamples.mlp[i] - partSamples.lmHead[i]);
  const part = (s, bytes) => ({ medianMs: median(s), share: median(s.map((x, i) => x / stepTimes[i])), ...(bytes ? { weightBytes: bytes, gbPerS: bytes / median(s) / 1e6 } : {}) });
  const mhaProfile = {
    attention: part(partSamples.attention, weightBytes.attention),
    mlp: part(partSamples.mlp, weightBytes.mlp),
    lmHead: part(partSamples.lmHead, weightBytes.lmHead),
    javascript: part(restSamples),
  };
  model.dispose();
  ort.release();
  reader.close();
  return {
    threads,
    capabilities: { mhaThreads: mha.capabilities?.threads ?? 1, ortNumThreads: threads },
    loadMs, ortLoadMs: ort.loadMs, ortReadMs: ort.readMs, ortCreateMs: ort.createMs,
    steps, trials, promptTokens: prompt.length, checkMs, timedMs, otherCoresPerTrial: others, perTrial, cores: cpus().length,
    weightBytes, checks, results, mhaProfile,
    manifest: { parameters: manifest.parameters, graph: { opset: manifest.graph.opset, nodes: manifest.graph.nodes, ops: manifest.graph.ops }, torch: manifest.torch_version, onnx: manifest.onnx_version },
    passSeconds: (performance.now() - started) / 1000,
  };
}

// ---- the section (spawns the passes) --------------------------------------------

/** One pass in a fresh Node process; its log lines go to stderr; a disagreement fails the bench. */
function spawnPass(threads, timing, log) {
  const out = PASS_FILE(threads);
  rmSync(out, { force: true });
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--pass', String(threads), '--steps', String(timing.steps), '--trials', String(timing.trials), '--out', out],
    { cwd: ROOT, stdio: ['ignore', 2, 2] });
  const written = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
  if (written.mismatch) throw new MismatchError(written.mismatch);
  if (child.status !== 0 || !written.pass) {
    const reason = written.error ?? `the ${threads}-thread pass exited with status ${child.status}${child.signal ? ` (${child.signal})` : ''}`;
    log(`gpt2: ${reason}`);
    return { threads, error: reason };
  }
  return written.pass;
}

function evaluateTargets(passes) {
  const out = [];
  const at = (threads) => passes.find((p) => p.threads === threads && !p.error);
  const peer = (p) => p?.results.find((r) => r.role === 'peer');
  const ref = (p) => p?.results.find((r) => r.role === 'reference');
  for (const threads of GPT2.threads) {
    const p = at(threads);
    const ort = peer(p);
    const what = threads === 1 ? 'GPT-2 decoding, 1 thread, vs ORT 1 thread (median of per-step ratios)' : `GPT-2 decoding, ${threads} threads, vs ORT ${threads} threads (median of per-step ratios)`;
    const busiest = p ? Math.max(0, ...p.otherCoresPerTrial.filter((x) => x !== null)) : 0;
    const busy = busiest > GPT2.busyCores ? `; the machine was busy: other processes used up to ${busiest.toFixed(2)} cores in a trial, see the per-trial ratios` : '';
    out.push({ what: what + busy, target: `>= ${GPT2.targets.ratio}x`, measured: ort ? ort.ratio : null, met: ort ? ort.ratio >= GPT2.targets.ratio : null, busiestOtherCores: busiest });
  }
  for (const threads of GPT2.threads) {
    const p = at(threads);
    const r = ref(p), o = peer(p);
    out.push({ what: `tokens/s ratio, ${threads} thread${threads > 1 ? 's' : ''} (mha-wasm tokens/s / ORT tokens/s)`, target: null, measured: r && o ? r.tokensPerS / o.tokensPerS : null });
  }
  const one = at(1), two = at(2);
  if (one && two) {
    out.push({ what: 'mha-wasm 2 threads vs 1 (tokens/s, two passes: not the same rounds)', target: null, measured: ref(two).tokensPerS / ref(one).tokensPerS });
    out.push({ what: 'ORT 2 threads vs 1 (tokens/s, two passes)', target: null, measured: peer(two).tokensPerS / peer(one).tokensPerS });
  }
  for (const p of passes.filter((x) => !x.error)) {
    const r = ref(p);
    out.push({ what: `mha-wasm step vs reading its ${(p.weightBytes.total / 1e6).toFixed(0)} MB of weights once with ${p.threads} thread${p.threads > 1 ? 's' : ''} (median of per-step ratios; 1 = at the read bound)`, target: null, measured: r.readRatio });
    const o = p.results.find((x) => x.role === 'peer');
    out.push({ what: `ORT step vs the same read, ${p.threads} thread${p.threads > 1 ? 's' : ''}`, target: null, measured: o.readRatio });
  }
  return out;
}

/**
 * The GPT-2 section: the model (generated when missing or stale), then the
 * 1-thread and 2-thread passes. Returns everything measured (stored under "gpt2" in the JSON).
 */
export async function runGpt2Section(log, { quick = false } = {}) {
  const started = performance.now();
  ensureReadBandwidth(log);
  const problem = ensureGpt2Model(log);
  if (problem) return { error: `the GPT-2 bench model could not be generated: ${problem}` };
  const timing = quick ? GPT2.quick : GPT2.full;
  const passes = [];
  for (const threads of GPT2.threads) {
    log(`gpt2: ${threads}-thread pass (a fresh process: mha-wasm ${threads > 1 ? `init({ threads: ${threads} })` : 'init()'}, ORT numThreads = ${threads}), prompt + ${timing.steps} steps x ${timing.trials + 1} trials`);
    const loadBefore = loadCheck();
    const pass = spawnPass(threads, timing, log);
    pass.loadBefore = loadBefore.loadavg;
    pass.loadAfter = loadCheck().loadavg;
    passes.push(pass);
  }
  const config = JSON.parse(readFileSync(join(GPT2_MODEL_DIR, 'config.json'), 'utf8'));
  return {
    model: { folder: relative(ROOT, GPT2_MODEL_DIR), layers: config.n_layer, embed: config.n_embd, heads: config.n_head, vocab: config.vocab_size, positions: config.n_positions },
    quick, timing, roundSeed: ROUND_SEED, tolerance: GPT2.tolerance,
    versions: { 'onnxruntime-web': packageVersion('onnxruntime-web') },
    passes,
    targets: evaluateTargets(passes),
    totalSeconds: (performance.now() - started) / 1000,
  };
}

// ---- report ----------------------------------------------------------------------

const e1 = (x) => (x === undefined || x === null ? '' : x.toExponential(1));

/** The section's table and target lines, as printed on stdout. */
export function formatGpt2(result) {
  if (result.error) return `GPT-2 section: error: ${result.error}`;
  const m = result.model;
  const ok = result.passes.filter((p) => !p.error);
  const first = ok[0];
  const out = [];
  out.push(`GPT-2 section - GPT-2-small-shaped random-weight model (${m.layers} layers, E=${m.embed}, ${m.heads} heads, vocab ${m.vocab}` +
    `${first ? `; ${(first.manifest.parameters / 1e6).toFixed(1)} M parameters, ${(4 * first.manifest.parameters / 1e6).toFixed(0)} MB float32` : ''}), batch 1, Node ${process.version}`);
  out.push(`mha-wasm: loadModel(mha, '${m.folder}') from mha-wasm/models; ORT: onnxruntime-web ${result.versions['onnxruntime-web']}, wasm EP, SIMD, ` +
    `graphOptimizationLevel 'all', onnx/decoder_model.onnx (torch.onnx.export, opset ${first?.manifest.graph.opset ?? '?'}), its presents fed back as the next past each step.`);
  out.push(`Per pass (a fresh process each): prompt ${first?.promptTokens ?? '?'} tokens, then ${result.timing.steps} steps of one token; one untimed trial (checks, warm-up) and ` +
    `${result.timing.trials} timed; steps interleaved: a round runs one step of every row, order shuffled per round;`);
  out.push('before every timed call the process is let go quiet (untimed: < 10 % CPU over 5 ms, at most 250 ms), so no row runs beside what the previous one left running.');
  out.push('"x mha-wasm" = median over steps of (ORT step time / mha-wasm step time in that round), > 1 = mha-wasm faster; tokens/s = 1000 / mean ms per step;');
  out.push('"x read" = median over steps of (step time / time to read the bytes of weights a step must read, once, in that round: read_bandwidth.wat, with as many threads as the pass).\n');
  const lines = [];
  for (const p of result.passes) {
    if (p.error) {
      lines.push([String(p.threads), 'error', '', '', '', '', '', '', '', '', '']);
      continue;
    }
    p.results.forEach((row, i) => {
      lines.push([
        i === 0 ? String(p.threads) : '', row.name,
        ms(row.medianMs), `${ms(row.minMs)}-${ms(row.maxMs)}`,
        row.tokensPerS === null ? `${fixed(row.gbPerS, 1)} GB/s` : fixed(row.tokensPerS, 1),
        row.role === 'reference' ? '1 (reference)' : row.role === 'read' ? '' : fixed(row.ratio, 2),
        row.role === 'read' ? '1' : fixed(row.readRatio, 2),
        row.prefillMs === undefined ? '' : ms(row.prefillMs),
        row.role === 'reference' ? fixed(p.loadMs / 1000, 2) : row.role === 'peer' ? fixed(p.ortLoadMs / 1000, 2) : '',
        fixed(row.cpuShare, 2),
        fixed(row.quietAfterMs, 0),
      ]);
    });
  }
  out.push(table(['threads', 'row', 'ms/token', 'min-max ms', 'tokens/s', 'x mha-wasm', 'x read', 'prompt ms', 'load s', 'cpu/wall', 'quiet after ms'], lines));
  out.push('load s: mha-wasm = loadModel on the folder (config, safetensors headers, every tensor read, Conv1D weights transposed, copied into the wasm heap); ' +
    'ORT = reading decoder_model.onnx + InferenceSession.create.\n' +
    'cpu/wall: median over steps of the CPU time of all the process\'s threads during the step / its wall time (a 2-thread row near 2 had both cores; ' +
    'ORT\'s pool threads spin while they wait). quiet after ms: median untimed wait, after a call of that row, until the process was quiet. ' +
    'Other processes\' CPU (/proc/stat minus this process) shows how much of the 2 cores a trial lost to the rest of the machine.');
  for (const p of ok) {
    const trialsText = p.perTrial.map((x) => `${x.ratio.toFixed(2)}x (${ms(x.medianMs[0])} / ${ms(x.medianMs[1])} ms${x.otherCores === null ? '' : `, others ${x.otherCores.toFixed(2)} cores`})`).join(', ');
    out.push(`${p.threads}-thread pass: ${p.results[0].steps} timed steps per row in ${(p.timedMs / 1000).toFixed(0)} s; load average before ${p.loadBefore.split(' ').slice(0, 3).join(' ')}, ` +
      `after ${p.loadAfter.split(' ').slice(0, 3).join(' ')}; per timed trial, x mha-wasm (mha-wasm / ORT median ms, other processes' CPU out of ${p.cores ?? 2} cores): ${trialsText}`);
  }
  for (const p of ok) {
    const f = p.mhaProfile;
    const piece = (name, x) => `${name} ${ms(x.medianMs)} ms (${(100 * x.share).toFixed(0)} %${x.gbPerS ? `, ${(x.weightBytes / 1e6).toFixed(0)} MB of weights at ${x.gbPerS.toFixed(1)} GB/s` : ''})`;
    out.push(`where mha-wasm's step goes, ${p.threads} thread${p.threads > 1 ? 's' : ''} (medians over the timed steps): ${piece('attention layers', f.attention)}, ` +
      `${piece('MLP Linear', f.mlp)}, ${piece('LM head', f.lmHead)}, ${piece('JavaScript (embedding, LayerNorm, GELU, residuals)', f.javascript)}`);
  }
  for (const p of ok) {
    const c = p.checks;
    out.push(`checks, ${p.threads} thread${p.threads > 1 ? 's' : ''} (max |logit diff|, tolerance ${e1(c.tolerance)}): prompt (${c.prompt.tokens} positions) mha-wasm vs PyTorch float64 ${e1(c.prompt.mhaVsFloat64)}, ` +
      `ORT vs float64 ${e1(c.prompt.ortVsFloat64)}, ORT vs mha-wasm ${e1(c.prompt.ortVsMha)}; ${c.steps.steps} decoding steps ORT vs mha-wasm ${e1(c.steps.ortVsMha)} ` +
      `(greedy ids equal at ${c.steps.greedyEqual}/${c.steps.steps}), first ${c.steps.referenceSteps} steps vs float64 mha-wasm ${e1(c.steps.mhaVsFloat64)}, ORT ${e1(c.steps.ortVsFloat64)}`);
  }
  for (const t of result.targets) out.push(targetLine(t));
  for (const p of result.passes.filter((x) => x.error)) out.push(`error: ${p.threads}-thread pass: ${p.error}`);
  out.push(`GPT-2 section: ${result.totalSeconds.toFixed(0)} s`);
  return out.join('\n');
}

// ---- command line -----------------------------------------------------------------

function argValue(argv, name) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function passMain(argv) {
  const threads = Number(argValue(argv, '--pass'));
  const out = argValue(argv, '--out');
  const log = (message) => process.stderr.write(`     [gpt2 ${threads} thread${threads > 1 ? 's' : ''}] ${message}\n`);
  try {
    const pass = await runPass({ threads, steps: Number(argValue(argv, '--steps')), trials: Number(argValue(argv, '--trials')), log });
    writeFileSync(out, JSON.stringify({ pass }));
    process.exit(0);
  } catch (error) {
    if (error instanceof MismatchError) writeFileSync(out, JSON.stringify({ mismatch: error.message }));
    else {
      writeFileSync(out, JSON.stringify({ error: errorText(error) }));
      console.error(error && error.stack ? error.stack : String(error));
    }
    process.exit(1);
  }
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.includes('--pass')) return passMain(argv);
  const quick = argv.includes('--quick');
  const startedAt = performance.now();
  const log = (message) => process.stderr.write(`${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)}s ${message}\n`);
  const loadBefore = loadCheck();
  log(`load before: ${loadBefore.loadavg}\n  ${loadBefore.top.join('\n  ')}`);
  ensureDist(log);
  const result = await runGpt2Section(log, { quick });
  const loadAfter = loadCheck();
  console.log(formatGpt2(result));
  console.log(`load: before ${loadBefore.loadavg}; after ${loadAfter.loadavg}`);
  const path = argValue(argv, '--out') ?? join(BENCH, 'results', `gpt2${quick ? '-quick' : ''}.json`);
  writeSectionReport(path, await sectionReport(`node bench/gpt2.mjs ${argv.join(' ')}`.trim(), { gpt2: result }, loadBefore, loadAfter), log);
  if (result.error || result.passes.some((p) => p.error)) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(`\ngpt2 bench FAILED: ${error instanceof MismatchError ? error.message : error && error.stack ? error.stack : error}`);
    process.exit(1);
  });
}
