// The Linear section of `npm run bench` (Node only): nn.Linear, the rest of a
// Transformer block next to attention (the MLP's 768 -> 3072 and 3072 -> 768),
// mha-wasm's createLinear against onnxruntime-web, TF.js (wasm) and plain
// JavaScript, interleaved call by call in this process on the same inputs, with
// the WebAssembly SIMD peak kernel timed in the same rounds. See bench/README.md,
// "The Linear section".
//
//   node bench/linear.mjs [--quick] [--out FILE]     # this section alone
//
// Rows, for each layer (in -> out) and row count R (x is (R, in)):
//   mha-wasm Linear          lin.forward({ data, shape: [R, in] }, { out: { output } }), output array reused
//   ORT MatMul+Add           linear_<in>x<out>.onnx: MatMul(x, W^T) + b, W^T and b stored as initializers
//   TF.js fused.matMul       tf.fused.matMul({ a: x, b: W^T, bias: b }) + dataSync()
//   plain JS                 Float32Array loops (runners/plain_js.mjs's linear), R <= 128 only
//   wasm SIMD peak           bench/simd_peak.wat for a fixed number of iterations (the % of peak denominator)
//   read W bytes             R = 1 only: bench/read_bandwidth.wat over in·out floats, the weights a 1-row call must read
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compactNumberArrays, readBandwidthModule } from './decode.mjs';
import { MismatchError } from './harness.mjs';
import { LINEAR_LAYERS, linearWeights, streamSeed, uniform } from './inputs.mjs';
import {
  checkExpected, checkRows, errorText, fixed, ms, mulberry32, ratioText, rounded, rounds, summarize, table, targetLine,
} from './interleave.mjs';
import { loadCheck, machineInfo, packageVersion } from './machine.mjs';
import { nodeEnv } from './node_env.mjs';
import { onnxRuntimePart2 } from './runners/onnxruntime_part2.mjs';
import { linear as plainLinear } from './runners/plain_js.mjs';
import { tfjsLinear } from './runners/tfjs_linear.mjs';
import { BENCH, ROOT, ensureDist, ensureOnnxModels, ensureReadBandwidth, ensureSimdPeak } from './setup.mjs';
import { measureSimdPeak, simdPeakKernel } from './simd_peak.mjs';
import { median } from './stats.mjs';

export const LINEAR = {
  layers: LINEAR_LAYERS, // 768 -> 3072 and 3072 -> 768
  rows: [1, 16, 128, 512],
  quickRows: [1, 16, 128],
  plainJsMaxRows: 16, // plain JS takes 0.5-3 s per call at 128 rows
  readMaxRows: 1, // the memory-read reference row (a 1-row call is bound by reading the weights)
  float64Rows: 16, // the row count at which each layer is also checked against a float64 reference
  tolerance: 1e-4, // max |peer - mha-wasm|; sums of 768 or 3072 float32 products differ by ~1e-6
  // The peak row lasts about as long as the mha-wasm row of the same case (set
  // from the warm-up rounds), so that both see the same share of a busy CPU.
  minPeakMs: 1,
  targets: { peakShare: { minRows: 128, share: 0.7 }, fasterThanPeers: { minRows: 128 }, ortAtOneRow: { rows: 1, ratio: 1.5 } },
  timing: {
    // warmUpMs: rounds before the first case is timed; settle: untimed rounds after each later case's check;
    // each case is timed for at least minRounds rounds, then until minMs has passed (at most maxRounds).
    full: { warmUpMs: 2000, settleRounds: 3, settleMs: 300, minRounds: 10, minMs: 2500, maxRounds: 300 },
    quick: { warmUpMs: 500, settleRounds: 2, settleMs: 100, minRounds: 5, minMs: 400, maxRounds: 100 },
  },
};

const TAG = { x: 33 }; // inputs.mjs: 1-9 main, 21-28 decode, 31-32 linear weights
const ROUND_SEED = 0x6c696e65; // "line": the round orders

const flopsOf = ({ inFeatures, outFeatures }, rows) => 2 * rows * inFeatures * outFeatures; // bias adds not counted

/** y = x·Wᵀ + b in float64, x (rows, in), W (out, in). */
function linearFloat64(x, rows, { inFeatures: n, outFeatures: m }, { weight, bias }) {
  const y = new Float64Array(rows * m);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < m; o++) {
      let acc = bias[o];
      for (let i = 0; i < n; i++) acc += x[r * n + i] * weight[o * n + i];
      y[r * m + o] = acc;
    }
  }
  return y;
}

async function loadPeers(env, info, log) {
  const peers = { ort: null, tf: null };
  try {
    peers.ort = await onnxRuntimePart2(await env.importOrt(), env);
  } catch (error) {
    info.unavailable.push({ name: 'onnxruntime-web', error: errorText(error) });
    log(`linear: onnxruntime-web could not be loaded: ${errorText(error)}`);
  }
  try {
    peers.tf = await tfjsLinear(await env.importTf(), env);
  } catch (error) {
    info.unavailable.push({ name: 'TF.js wasm', error: errorText(error) });
    log(`linear: TF.js could not be loaded: ${errorText(error)}`);
  }
  return peers;
}

/**
 * env: node_env.mjs's. options: { quick, onnxProblem, log }. Returns everything
 * measured (bench/run.mjs stores it under "linear" in the results JSON).
 */
export async function runLinear(env, { quick = false, onnxProblem = null, log = () => {} } = {}) {
  const started = performance.now();
  const timing = quick ? LINEAR.timing.quick : LINEAR.timing.full;
  const info = { unavailable: [] };
  const random = mulberry32(ROUND_SEED);
  const mha = await (await env.importMha()).init();
  const peers = await loadPeers(env, info, log);
  if (onnxProblem) {
    peers.ort = null;
    info.unavailable.push({ name: 'onnxruntime-web', error: `ONNX graphs missing: ${onnxProblem}` });
  }
  const kernel = await simdPeakKernel(await env.readCache('simd_peak.wasm'));
  const peakStart = await measureSimdPeak(kernel);
  log(`linear: WebAssembly SIMD peak ${peakStart.gflops.toFixed(1)} GFLOP/s`);
  const iterationsFor = (ms, gflops) => Math.max(1000, Math.min(2 ** 30, Math.round((Math.max(ms, LINEAR.minPeakMs) * gflops * 1e6) / kernel.flopsPerIteration)));
  let peakGflopsSeen = peakStart.gflops;
  const maxWeightBytes = Math.max(...LINEAR.layers.map((l) => l.inFeatures * l.outFeatures * 4));
  const reader = await readBandwidthModule(env, Math.ceil(maxWeightBytes / 128) * 128);

  const cases = [];
  const float64Checks = [];
  let warm = false;
  for (const layer of LINEAR.layers) {
    const { inFeatures: n, outFeatures: m } = layer;
    const weights = linearWeights(layer);
    const lin = mha.createLinear({ inFeatures: n, outFeatures: m, bias: true });
    lin.loadWeights(weights);
    const tfLayer = peers.tf ? peers.tf.layer(layer, weights) : null;
    for (const rowsCount of quick ? LINEAR.quickRows : LINEAR.rows) {
      const label = `${n}->${m} R=${rowsCount}`;
      const flops = flopsOf(layer, rowsCount);
      const x = uniform(rowsCount * n, streamSeed(TAG.x, n * 10000 + m, rowsCount));
      const output = new Float32Array(rowsCount * m);
      const xTensor = { data: x, shape: [rowsCount, n] };
      const rows = [{
        name: 'mha-wasm Linear', role: 'reference', flops,
        run: () => lin.forward(xTensor, { out: { output } }),
        output: (r) => r.output.data.slice(), // the array is reused by the next call
        verify: (r) => (r.output.data === output && r.output.shape.join() === [rowsCount, m].join() ? null : `output ${r.output.shape} not written into the out array`),
      }];
      const errors = [];
      if (peers.ort) {
        try {
          const p = await peers.ort.linear(layer, x, rowsCount);
          rows.push({ name: 'ORT MatMul+Add', role: 'peer', flops, run: p.run, output: p.output });
        } catch (error) {
          errors.push({ name: 'ORT MatMul+Add', status: 'error', note: errorText(error) });
        }
      }
      let tfPrepared = null;
      if (tfLayer) {
        tfPrepared = tfLayer.prepare(x, rowsCount);
        rows.push({ name: 'TF.js fused.matMul', role: 'peer', flops, run: tfPrepared.run, output: tfPrepared.output });
      }
      if (rowsCount <= LINEAR.plainJsMaxRows) {
        rows.push({ name: 'plain JS', role: 'peer', flops, run: () => plainLinear(x, rowsCount, n, weights.weight, 0, weights.bias, 0, m), output: (r) => r });
      }
      if (rowsCount <= LINEAR.readMaxRows) {
        const bytes = Math.ceil((n * m * 4) / 128) * 128;
        const expected = reader.expected(bytes);
        rows.push({
          name: `read W bytes (${(bytes / 1e6).toFixed(1)} MB)`, role: 'read', bytes,
          run: () => reader.read(0, bytes),
          verify: (sum) => (sum === expected ? null : `checksum ${sum} != ${expected}`),
        });
      }
      const peakRow = { name: 'wasm SIMD peak', role: 'peak', iterations: iterationsFor(LINEAR.minPeakMs, peakGflopsSeen) };
      peakRow.run = () => kernel.run(peakRow.iterations);
      peakRow.flops = peakRow.iterations * kernel.flopsPerIteration;
      rows.push(peakRow);

      log(`linear ${label}: checking ${rows.length} rows`);
      const checked = await checkRows(rows, label, LINEAR.tolerance, log);
      errors.push(...checked.errors);
      if (rowsCount === LINEAR.float64Rows) {
        float64Checks.push(checkExpected(`mha-wasm Linear ${n}->${m}`, label, checked.outputs.get('mha-wasm Linear'), linearFloat64(x, rowsCount, layer, weights), LINEAR.tolerance));
      }
      // Warm-up: V8 compiles wasm with its baseline tier first and optimizes hot functions later.
      let t = performance.now();
      const warmUp = !warm ? await rounds(checked.kept, { minRounds: 3, minMs: timing.warmUpMs, maxRounds: Infinity }, random)
        : await rounds(checked.kept, { minRounds: timing.settleRounds, minMs: timing.settleMs, maxRounds: Infinity }, random);
      warm = true;
      // The peak row, resized to the mha-wasm row's median time in the warm-up rounds.
      const peakIndex = checked.kept.indexOf(peakRow);
      peakGflopsSeen = median(warmUp.samples[peakIndex].map((t) => peakRow.flops / t / 1e6));
      peakRow.iterations = iterationsFor(median(warmUp.samples[0]), peakGflopsSeen);
      peakRow.flops = peakRow.iterations * kernel.flopsPerIteration;
      peakRow.note = `${(peakRow.flops / 1e6).toFixed(0)} MFLOP per call`;
      const warmUpMs = performance.now() - t;
      const timed = await rounds(checked.kept, timing, random);
      const summary = summarize(checked.kept, timed);
      cases.push({ inFeatures: n, outFeatures: m, rows: rowsCount, flops, warmUpMs, timedMs: timed.ms, rounds: timed.rounds, results: summary, errors });
      if (tfPrepared) tfPrepared.dispose();
      const ref = summary.find((r) => r.role === 'reference');
      log(`linear ${label}: ${timed.rounds} rounds in ${(timed.ms / 1000).toFixed(1)} s; mha-wasm ${ref.medianMs.toFixed(3)} ms, ${ref.gflops.toFixed(1)} GFLOP/s, ${(100 * ref.peakShare).toFixed(0)} % of peak`);
    }
    lin.dispose();
    if (tfLayer) tfLayer.dispose();
  }
  const peakEnd = await measureSimdPeak(kernel);
  log(`linear: WebAssembly SIMD peak (again) ${peakEnd.gflops.toFixed(1)} GFLOP/s`);
  const peakGflops = Math.max(peakStart.gflops, peakEnd.gflops);
  for (const c of cases) {
    for (const r of c.results) if (r.gflops) r.shareOfBestPeak = r.gflops / peakGflops;
    const read = c.results.find((r) => r.role === 'read');
    if (read) {
      read.gbPerS = (c.inFeatures * c.outFeatures * 4) / read.medianMs / 1e6;
      for (const r of c.results) if (r !== read) r.gbPerS = (c.inFeatures * c.outFeatures * 4) / r.medianMs / 1e6;
    }
  }
  return {
    layers: LINEAR.layers, quick, timing, roundSeed: ROUND_SEED, tolerance: LINEAR.tolerance,
    simdPeak: { start: peakStart, end: peakEnd, higherGflops: peakGflops },
    float64Checks, unavailable: info.unavailable, cases,
    targets: evaluateTargets(cases),
    totalSeconds: (performance.now() - started) / 1000,
  };
}

function evaluateTargets(cases) {
  const { peakShare, fasterThanPeers, ortAtOneRow } = LINEAR.targets;
  const out = [];
  for (const c of cases) {
    const ref = c.results.find((r) => r.role === 'reference');
    const label = `${c.inFeatures}->${c.outFeatures} at ${c.rows} rows`;
    if (c.rows >= peakShare.minRows) {
      out.push({ what: `mha-wasm Linear ${label}, share of the SIMD peak (same rounds)`, target: `>= ${100 * peakShare.share} %`, measured: 100 * ref.peakShare, unit: ' %', digits: 0, met: ref.peakShare >= peakShare.share });
    }
    const peers = c.results.filter((r) => r.role === 'peer');
    if (c.rows >= fasterThanPeers.minRows && peers.length > 0) {
      const closest = peers.reduce((a, b) => (b.ratio < a.ratio ? b : a));
      out.push({ what: `mha-wasm Linear ${label} vs its fastest peer (${closest.name})`, target: '> 1x', measured: closest.ratio, met: closest.ratio > 1 });
    }
    const ort = c.results.find((r) => r.name === 'ORT MatMul+Add');
    if (c.rows === ortAtOneRow.rows) {
      out.push({ what: `mha-wasm Linear ${label} vs ORT MatMul+Add`, target: `>= ${ortAtOneRow.ratio}x`, measured: ort ? ort.ratio : null, met: ort ? ort.ratio >= ortAtOneRow.ratio : null });
    }
  }
  return out;
}

/** The section's table and target lines, as printed on stdout. */
export function formatLinear(result) {
  const out = [];
  out.push(`Linear section - nn.Linear (createLinear) on x (R, in), one thread, Node ${process.version}; rows interleaved call by call, order shuffled per round`);
  out.push('"x mha-wasm" = median over rounds of (row time / mha-wasm time in that round), > 1 = mha-wasm faster; GFLOP/s = 2·R·in·out / median;');
  out.push('"% peak" = median over rounds of (row GFLOP/s / the SIMD peak row\'s GFLOP/s in that round): simd_peak.wat (mul+add, no FMA) timed in the same rounds.\n');
  const lines = [];
  for (const c of result.cases) {
    c.results.forEach((row, i) => {
      lines.push([
        i === 0 ? `${c.inFeatures}->${c.outFeatures}` : '', i === 0 ? String(c.rows) : '', `${row.name}${row.note ? ` (${row.note})` : ''}`,
        ms(row.medianMs), `${ms(row.minMs)}-${ms(row.maxMs)}`, ratioText(row),
        fixed(row.gflops, 1), row.role === 'peak' ? '100' : fixed(row.peakShare === undefined ? undefined : 100 * row.peakShare, 0),
      ]);
    });
    for (const e of c.errors) lines.push(['', '', e.name, 'error', '', '', '', '']);
    lines.push(['', '', `(${c.rounds} rounds, ${(c.timedMs / 1000).toFixed(1)} s)`, '', '', '', '', '']);
  }
  out.push(table(['layer', 'R', 'row', 'median ms', 'min-max ms', 'x mha-wasm', 'GFLOP/s', '% peak'], lines, 3));
  const p = result.simdPeak;
  out.push(`\nSIMD peak measured alone (simd_peak.mjs): ${p.start.gflops.toFixed(1)} GFLOP/s before, ${p.end.gflops.toFixed(1)} after; ` +
    `mha-wasm against the higher: ${result.cases.map((c) => `${c.inFeatures}->${c.outFeatures} R=${c.rows} ${(100 * c.results[0].shareOfBestPeak).toFixed(0)} %`).join(', ')}`);
  for (const c of result.cases) {
    const read = c.results.find((r) => r.role === 'read');
    if (!read) continue;
    const others = c.results.filter((r) => r.role === 'reference' || r.role === 'peer').filter((r) => r.name !== 'plain JS');
    out.push(`${c.inFeatures}->${c.outFeatures} R=${c.rows}: reading the weights once (read_bandwidth.wat) takes ${ms(read.medianMs)} ms (${read.gbPerS.toFixed(1)} GB/s); ` +
      others.map((r) => `${r.name} ${r.gbPerS.toFixed(1)} GB/s of weights`).join(', '));
  }
  out.push(`checks: every row against mha-wasm before timing (tolerance ${result.tolerance}); ` +
    result.float64Checks.map((c) => `float64 reference ${c.what} at ${c.at}: ${c.outputDiff.toExponential(1)}`).join(', '));
  for (const t of result.targets) out.push(targetLine(t));
  for (const u of result.unavailable) out.push(`unavailable: ${u.name}: ${u.error}`);
  for (const c of result.cases) for (const e of c.errors) out.push(`error: ${e.name} at ${c.inFeatures}->${c.outFeatures} R=${c.rows}: ${e.note}`);
  out.push(`Linear section: ${result.totalSeconds.toFixed(0)} s`);
  return out.join('\n');
}

/** From bench/run.mjs or the command line: the generated files, then runLinear in Node. */
export async function runLinearSection(log, { quick = false, onnxProblem } = {}) {
  ensureSimdPeak(log);
  ensureReadBandwidth(log);
  return runLinear(nodeEnv(log), { quick, onnxProblem, log });
}

/** The JSON of a section run on its own (node bench/linear.mjs, node bench/decoder_options.mjs, npm run bench -- --filter linear). */
export async function sectionReport(command, sections, loadBefore, loadAfter, extra = {}) {
  return {
    generatedAt: new Date().toISOString(),
    command,
    host: 'node',
    machine: { ...machineInfo(), loadBefore, loadAfter },
    versions: {
      'onnxruntime-web': packageVersion('onnxruntime-web'),
      '@tensorflow/tfjs-core': packageVersion('@tensorflow/tfjs-core'),
      '@tensorflow/tfjs-backend-wasm': packageVersion('@tensorflow/tfjs-backend-wasm'),
      'mha-wasm': (await import('../dist/node.mjs')).VERSION,
    },
    // Which build was measured (dist/ is rebuilt as the sources change).
    dist: Object.fromEntries(['mha.wasm'].map((file) => {
      const bytes = readFileSync(join(ROOT, 'dist', file));
      return [file, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }];
    })),
    ...extra,
    ...Object.fromEntries(Object.entries(sections).map(([key, result]) => [key, rounded(result)])),
  };
}

export function writeSectionReport(path, report, log) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${compactNumberArrays(JSON.stringify(report, null, 1))}\n`);
  log(`wrote ${relative(ROOT, path)}`);
}

async function main() {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const outIndex = argv.indexOf('--out');
  const startedAt = performance.now();
  const log = (message) => process.stderr.write(`${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)}s ${message}\n`);
  const loadBefore = loadCheck();
  log(`load before: ${loadBefore.loadavg}\n  ${loadBefore.top.join('\n  ')}`);
  ensureDist(log);
  const onnxProblem = ensureOnnxModels(768, log);
  const result = await runLinearSection(log, { quick, onnxProblem });
  const loadAfter = loadCheck();
  console.log(formatLinear(result));
  console.log(`load: before ${loadBefore.loadavg}; after ${loadAfter.loadavg}`);
  const path = outIndex >= 0 ? argv[outIndex + 1] : join(BENCH, 'results', `linear${quick ? '-quick' : ''}.json`);
  writeSectionReport(path, await sectionReport(`node bench/linear.mjs ${argv.join(' ')}`.trim(), { linear: result }, loadBefore, loadAfter), log);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    console.error(`\nlinear bench FAILED: ${error instanceof MismatchError ? error.message : error && error.stack ? error.stack : error}`);
    process.exit(1);
  });
}
