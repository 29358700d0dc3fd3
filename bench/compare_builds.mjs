// Interleaved A/B timing of two builds of the package (two dist/ folders).
//
// Usage:
//   node bench/compare_builds.mjs <distA> <distB> [--quick] [--filter text] [--out file.json]
//
//   e.g. A = the build before a change, B = the build after it:
//     mkdir /tmp/mha-old && git archive 59fb7ac | tar -x -C /tmp/mha-old
//     (cd /tmp/mha-old && ln -s /work/main/node_modules node_modules && bash scripts/build.sh)
//     cp -a dist /tmp/mha-new-dist      # a private copy, so a rebuild of dist/ mid-run changes nothing
//     node bench/compare_builds.mjs /tmp/mha-old/dist /tmp/mha-new-dist --out /tmp/ab.json
//
// Both <dist>/node.mjs are imported into this one Node process (two separate
// module instances, two WebAssembly heaps, each `await init()`, one thread).
// Every case gets identical seeded inputs in both builds; the outputs (and
// attention weights, when requested) are checked to agree within 1e-5 before
// anything is timed.
//
// Timing: per case, each build gets its own k (back-to-back calls per sample),
// chosen so one sample lasts ~15 ms (k = 1 when one call already takes longer).
// Then R rounds; each round takes one sample of A and one of B, in the order
// A,B on even rounds and B,A on odd ones, so drift in machine load or clock
// hits both builds alike. When one call takes < 100 ms, each timed sample is
// preceded by one untimed call of the same build (see WARM_CALL_BELOW_MS).
// Reported per case: the median over rounds of the ms per call of A and of B,
// and the median (with p25-p75 and min-max) of the per-round ratio A/B: above
// 1 means B is faster. 'A-B us' is the median of
// the per-round differences in microseconds per call (the time B saves).
//
// 'others' column: cores that other processes kept busy during the case's
// rounds (/proc/stat busy time minus this process's CPU time; Linux only), to
// tell a noisy case from a real difference.
//
// A full run takes 5-7 minutes on 2 cores; --quick: no L = 2048 cases and
// fewer rounds (a smoke run of ~30-40 s).
// --filter: only the cases whose name contains the text (e.g. 'L=512').
// --out:   writes every sample, the settings and the load to a JSON file.
// `node --expose-gc` makes it collect garbage before every sample (optional).
//
// Shapes: embed 768, 12 heads x 64, batch 1 (bench/shapes.json). The
// 'decode' group times the one-row paths: a layer step with a cache and a
// 1-row Linear (768 -> 3072, a GPT-2 MLP's first matrix).
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { uniform } from './inputs.mjs';
import { pathToFileURL } from 'node:url';

const TOLERANCE = 1e-5;
const TARGET_SAMPLE_MS = 15;

function parseArgs(argv) {
  const positional = [];
  let quick = false;
  let out = null;
  let filter = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--out') out = argv[++i];
    else if (a.startsWith('--out=')) out = a.slice(6);
    else if (a === '--filter') filter = argv[++i];
    else if (a.startsWith('--filter=')) filter = a.slice(9);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 2 || (out !== null && !out) || (filter !== null && !filter)) {
    console.error('usage: node bench/compare_builds.mjs <distA> <distB> [--quick] [--filter text] [--out file.json]');
    process.exit(2);
  }
  return { distA: path.resolve(positional[0]), distB: path.resolve(positional[1]), quick, out, filter };
}

// ---- seeded inputs (mulberry32; exact float32 values on a 2^-23 grid) ----


function seedOf(...parts) {
  let h = 0x6d6861;
  for (const p of parts) h = Math.imul(h ^ p, 0x9e3779b9) ^ (h >>> 13);
  return h >>> 0;
}

const E = 768;
const H = 12;
const D = 64;

function layerWeights() {
  const bound = Math.sqrt(6 / (2 * E)); // xavier-like scale, as the brief asks
  return {
    in_proj_weight: uniform(3 * E * E, seedOf(6), bound),
    in_proj_bias: uniform(3 * E, seedOf(7), bound),
    'out_proj.weight': uniform(E * E, seedOf(8), bound),
    'out_proj.bias': uniform(E, seedOf(9), bound),
  };
}

function sdpaTensors(h, l, s, d) {
  return {
    q: { data: uniform(h * l * d, seedOf(1, h, l, s, d)), shape: [1, h, l, d] },
    k: { data: uniform(h * s * d, seedOf(2, h, l, s, d)), shape: [1, h, s, d] },
    v: { data: uniform(h * s * d, seedOf(3, h, l, s, d)), shape: [1, h, s, d] },
  };
}

// ---- cases ----

function sdpaCase(name, group, h, l, s, d, isCausal, needWeights, extra = {}) {
  return {
    name,
    group,
    make(mha) {
      const { q, k, v } = sdpaTensors(h, l, s, d);
      const options = { isCausal, needWeights, ...extra };
      return () => mha.scaledDotProductAttention(q, k, v, options);
    },
  };
}

function layerCase(name, group, l, isCausal, needWeights) {
  return {
    name,
    group,
    make(mha, layer) {
      const x = { data: uniform(l * E, seedOf(4, l)), shape: [l, 1, E] };
      const options = { isCausal, needWeights, averageAttnWeights: false };
      return () => layer.forward(x, x, x, options);
    },
  };
}

// One decoding step of the layer: the cache holds `past` tokens, the step
// appends one (truncated back before every call, so each call sees the same cache).
function layerCacheCase(name, group, past) {
  return {
    name,
    group,
    make(mha, layer) {
      const cache = layer.createCache({ batchSize: 1, maxLength: past + 1 });
      const prompt = { data: uniform(past * E, seedOf(10, past)), shape: [past, 1, E] };
      layer.forward(prompt, prompt, prompt, { cache, isCausal: true });
      const token = { data: uniform(E, seedOf(11, past)), shape: [1, 1, E] };
      const step = () => {
        cache.truncate(past);
        return layer.forward(token, token, token, { cache, isCausal: true });
      };
      return Object.assign(step, { dispose: () => cache.dispose() });
    },
  };
}

// A Linear on `rows` rows: one row is a decoding step's MLP matrix-vector product.
function linearCase(name, group, rows, inFeatures, outFeatures) {
  return {
    name,
    group,
    make(mha) {
      const linear = mha.createLinear({ inFeatures, outFeatures });
      linear.loadWeights({
        weight: uniform(inFeatures * outFeatures, seedOf(12, inFeatures, outFeatures), 0.05),
        bias: uniform(outFeatures, seedOf(13, outFeatures), 0.05),
      });
      const x = { data: uniform(rows * inFeatures, seedOf(14, rows, inFeatures)), shape: [rows, inFeatures] };
      return Object.assign(() => linear.forward(x), { dispose: () => linear.dispose() });
    },
  };
}

function cases(quick) {
  const list = [
    sdpaCase('sdpa 1x12x16x64', 'overhead', H, 16, 16, D, false, false),
    sdpaCase('sdpa 1x12x16x64 +weights', 'overhead', H, 16, 16, D, false, true),
    layerCase('layer L=16', 'overhead', 16, false, false),
    sdpaCase('sdpa decode 1x128 (no cache)', 'overhead', H, 1, 128, D, false, false),
    sdpaCase('sdpa tiny 1x1x4x8', 'overhead', 1, 4, 4, 8, false, false),
  ];
  const lengths = quick ? [128, 512] : [128, 512, 2048];
  for (const l of lengths) {
    for (const causal of [false, true]) {
      const c = causal ? ' causal' : '';
      list.push(sdpaCase(`sdpa L=${l}${c}`, 'prefill', H, l, l, D, causal, false));
      list.push(layerCase(`layer L=${l}${c}`, 'prefill', l, causal, false));
    }
  }
  list.push(sdpaCase('sdpa L=512 +weights', 'prefill', H, 512, 512, D, false, true));
  list.push(sdpaCase('sdpa L=512 causal +weights', 'prefill', H, 512, 512, D, true, true));
  list.push(sdpaCase('sdpa L=1024 causal', 'prefill', H, 1024, 1024, D, true, false));
  list.push(sdpaCase('sdpa L=1024 causal window 200', 'prefill', H, 1024, 1024, D, true, false, { window: 200 }));
  list.push(layerCase('layer L=512 +weights', 'prefill', 512, false, true));
  list.push(sdpaCase('sdpa decode 1x1024 (no cache)', 'prefill', H, 1, 1024, D, false, false));
  list.push(layerCacheCase('layer decode step, cache 1024', 'decode', 1024));
  list.push(linearCase('linear 1x768->3072', 'decode', 1, E, 4 * E));
  return list;
}

// ---- measurement ----

const now = () => performance.now();
const collect = typeof globalThis.gc === 'function' ? globalThis.gc : () => {};

// Calls shorter than this get one untimed call of the same build right before
// each timed sample: otherwise a sample that follows the other build's sample
// starts with that build's data in the caches and measured up to 15% slower
// (layer L=16, decode 1x1024) than one that follows the same build.
const WARM_CALL_BELOW_MS = 100;

function sample(fn, k, warm = false) {
  collect();
  if (warm) fn();
  const t0 = now();
  for (let i = 0; i < k; i++) fn();
  return now() - t0;
}

// Warms fn up; returns k for a ~TARGET_SAMPLE_MS sample and the fastest ms
// per call seen.
function calibrate(fn) {
  let k = 1;
  let t = sample(fn, 1); // first call: compiles / grows the heap
  const warmEnd = now() + Math.min(300, Math.max(3 * t, 50));
  while (now() < warmEnd) fn();
  // Double k until a sample lasts 5 ms, then take the fastest of 3 samples at
  // that k (one preempted sample must not set k), and go on doubling if even
  // the fastest was shorter than 5 ms.
  for (;;) {
    t = sample(fn, k);
    if (t >= 5 || k >= 1 << 20) {
      t = Math.min(t, sample(fn, k), sample(fn, k));
      if (t >= 5 || k >= 1 << 20) break;
    }
    k *= 2;
  }
  const perCall = t / k;
  return { k: Math.max(1, Math.round(TARGET_SAMPLE_MS / perCall)), perCall };
}

function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
const median = (v) => quantile(v, 0.5);

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function checkSame(name, ra, rb) {
  const shapeA = JSON.stringify(ra.output.shape);
  const shapeB = JSON.stringify(rb.output.shape);
  if (shapeA !== shapeB) throw new Error(`${name}: output shapes differ: A ${shapeA}, B ${shapeB}`);
  let diff = maxAbsDiff(ra.output.data, rb.output.data);
  if ((ra.weights === null) !== (rb.weights === null)) throw new Error(`${name}: only one build returned weights`);
  if (ra.weights !== null) diff = Math.max(diff, maxAbsDiff(ra.weights.data, rb.weights.data));
  if (!(diff <= TOLERANCE)) throw new Error(`${name}: A and B differ by ${diff} (> ${TOLERANCE})`);
  return diff;
}

function roundsFor(group, roundMs, quick) {
  // Rounds fill a time budget per case, within [lo, hi]; a full run takes ~5 min.
  const budgetMs = quick ? 2500 : group === 'overhead' ? 12000 : 25000;
  const [lo, hi] = quick ? [5, 15] : [15, 101];
  let r = Math.round(budgetMs / roundMs);
  r = Math.min(hi, Math.max(lo, r));
  return r % 2 === 0 ? r + 1 : r; // odd, and with A first one more time than B first
}

// CPU seconds the whole machine spent busy (Linux /proc/stat), or null.
function machineBusySeconds() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100;
  } catch {
    return null;
  }
}
const ownCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// Cores kept busy by other processes while fn ran (machine busy time minus
// this process's CPU time, over the wall time); null off Linux.
function withOtherLoad(fn) {
  const m0 = machineBusySeconds();
  const c0 = ownCpuSeconds();
  const t0 = now();
  const value = fn();
  const wall = (now() - t0) / 1000;
  const m1 = machineBusySeconds();
  const others = m0 === null || m1 === null ? null : Math.max(0, (m1 - m0 - (ownCpuSeconds() - c0)) / wall);
  return { value, others, wallSeconds: wall };
}

function loadLine() {
  try {
    return execSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
}

async function loadBuild(dist) {
  const mod = await import(pathToFileURL(path.join(dist, 'node.mjs')).href);
  const mha = await mod.init();
  const layer = mha.createMultiHeadAttention({ embedDim: E, numHeads: H });
  layer.loadWeights(layerWeights());
  return { dist, mha, layer, capabilities: mha.capabilities };
}

function fmtMs(ms) {
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(3);
  if (ms >= 0.01) return ms.toFixed(4);
  return ms.toExponential(2);
}

const fmtCores = (c) => (c === null ? '?' : c.toFixed(2));

function printTable(results) {
  const header = ['case', 'k A/B', 'warm', 'rounds', 'others', 'A ms/call', 'B ms/call', 'A-B us', 'A/B median', 'p25-p75', 'min-max'];
  const rows = results.map((r) => [
    r.name,
    `${r.kA}/${r.kB}`,
    r.warmCall ? 'yes' : 'no',
    String(r.rounds),
    fmtCores(r.otherCores),
    fmtMs(r.medianMsA),
    fmtMs(r.medianMsB),
    r.savedUsPerCall.toFixed(Math.abs(r.savedUsPerCall) >= 100 ? 0 : 1),
    r.ratio.median.toFixed(3),
    `${r.ratio.p25.toFixed(3)}-${r.ratio.p75.toFixed(3)}`,
    `${r.ratio.min.toFixed(3)}-${r.ratio.max.toFixed(3)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  let group = null;
  results.forEach((r, i) => {
    if (r.group !== group) {
      group = r.group;
      console.log(`[${group}]`);
    }
    console.log(line(rows[i]));
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const loadStart = loadLine();
  console.log(`load at start: ${loadStart}`);
  console.log(`A = ${args.distA}\nB = ${args.distB}`);
  console.log(`node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? '?'}), gc before samples: ${typeof globalThis.gc === 'function'}`);
  const A = await loadBuild(args.distA);
  const B = await loadBuild(args.distB);
  console.log(`A capabilities ${JSON.stringify(A.capabilities)}\nB capabilities ${JSON.stringify(B.capabilities)}`);
  if (A.mha === B.mha) throw new Error('A and B resolved to the same module instance');

  const list = cases(args.quick).filter((c) => args.filter === null || c.name.includes(args.filter));
  if (list.length === 0) throw new Error(`--filter ${args.filter}: no case name contains it`);
  const results = [];
  const t0 = now();
  const machine0 = machineBusySeconds();
  const own0 = ownCpuSeconds();
  for (const c of list) {
    const fa = c.make(A.mha, A.layer);
    const fb = c.make(B.mha, B.layer);
    const diff = checkSame(c.name, fa(), fb());
    const calA = calibrate(fa);
    const calB = calibrate(fb);
    const kA = calA.k;
    const kB = calB.k;
    const warm = Math.max(calA.perCall, calB.perCall) < WARM_CALL_BELOW_MS;
    const probeA = sample(fa, kA, warm);
    const probeB = sample(fb, kB, warm);
    const roundMs = warm ? (probeA * (kA + 1)) / kA + (probeB * (kB + 1)) / kB : probeA + probeB;
    const rounds = roundsFor(c.group, roundMs, args.quick);
    const msA = [];
    const msB = [];
    const ratios = [];
    const savedUs = [];
    const timed = withOtherLoad(() => {
      for (let r = 0; r < rounds; r++) {
        let ta;
        let tb;
        if (r % 2 === 0) {
          ta = sample(fa, kA, warm) / kA;
          tb = sample(fb, kB, warm) / kB;
        } else {
          tb = sample(fb, kB, warm) / kB;
          ta = sample(fa, kA, warm) / kA;
        }
        msA.push(ta);
        msB.push(tb);
        ratios.push(ta / tb);
        savedUs.push((ta - tb) * 1000);
      }
    });
    // Cases that made their own layer or cache free it (the warning about an undisposed one otherwise ends the run).
    fa.dispose?.();
    fb.dispose?.();
    const res = {
      name: c.name,
      group: c.group,
      maxAbsDiff: diff,
      kA,
      kB,
      rounds,
      warmCall: warm,
      seconds: timed.wallSeconds,
      otherCores: timed.others,
      medianMsA: median(msA),
      medianMsB: median(msB),
      savedUsPerCall: median(savedUs),
      ratio: { median: median(ratios), p25: quantile(ratios, 0.25), p75: quantile(ratios, 0.75), min: Math.min(...ratios), max: Math.max(...ratios) },
      msA,
      msB,
      ratios,
    };
    results.push(res);
    console.log(
      `  ${c.name}: A ${fmtMs(res.medianMsA)} ms, B ${fmtMs(res.medianMsB)} ms, A/B ${res.ratio.median.toFixed(3)} ` +
        `[${res.ratio.min.toFixed(3)}, ${res.ratio.max.toFixed(3)}] (${rounds} rounds, k ${kA}/${kB}, others ${fmtCores(res.otherCores)}, diff ${diff.toExponential(1)}, ${((now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
  const loadEnd = loadLine();
  const machine1 = machineBusySeconds();
  const totalSeconds = (now() - t0) / 1000;
  const otherCores = machine0 === null || machine1 === null ? null : Math.max(0, (machine1 - machine0 - (ownCpuSeconds() - own0)) / totalSeconds);
  console.log('');
  printTable(results);
  console.log(`\nA/B above 1: B faster. load at start: ${loadStart}`);
  console.log(`load at end:   ${loadEnd}`);
  console.log(`total ${totalSeconds.toFixed(0)} s; other processes kept ${fmtCores(otherCores)} of ${os.cpus().length} cores busy on average ('others' column: per case)`);
  if (args.out) {
    const payload = {
      date: new Date().toISOString(),
      distA: args.distA,
      distB: args.distB,
      quick: args.quick,
      filter: args.filter,
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      gcBeforeSamples: typeof globalThis.gc === 'function',
      targetSampleMs: TARGET_SAMPLE_MS,
      loadStart,
      loadEnd,
      totalSeconds,
      otherCores,
      capabilitiesA: A.capabilities,
      capabilitiesB: B.capabilities,
      results,
    };
    writeFileSync(args.out, JSON.stringify(payload, null, 1));
    console.log(`wrote ${args.out}`);
  }
}

await main();
