// The side-by-side bench, independent of where it runs (Node or a Chromium
// page): for each shape, every row computes once on identical inputs and is
// checked against mha-wasm, then every row is timed.
//
// `env` supplies what differs between hosts: how to import each library,
// where their .wasm files are, how to read bench/.cache files, and logging.

import { flopsOf } from './flops.mjs';
import { causalMask, layerInputs, layerWeights, sdpaInputs } from './inputs.mjs';
import { mhaWasmRunners } from './runners/mha_wasm.mjs';
import { onnxRuntimeRunners } from './runners/onnxruntime.mjs';
import { plainJsRunners } from './runners/plain_js.mjs';
import { tfjsRunners } from './runners/tfjs.mjs';
import { expandShapes, matchesFilter } from './shapes.mjs';
import { measureSimdPeak, simdPeakKernel } from './simd_peak.mjs';
import { settle } from './settle.mjs';
import { interleaveCalls, maxAbsDiff, median, medianRatio, mulberry32, timeCalls } from './stats.mjs';

// Max |peer - mha-wasm| allowed. Each library sums float32 products in its own
// order: over SDPA's 64-long dot products the largest difference measured was
// 2.4e-7, and after the layer's 768-long projections 1.4e-6 (full run, all
// shapes). The limits leave room for other CPUs and library versions while
// still catching a wrong scale, mask or layout, which show up at 1e-3 or more.
export const TOLERANCE = { sdpa: 1e-4, layer: 1e-3 };

export class MismatchError extends Error {}

// rowLimitMs caps the per-run limit of the slow rows (plain JS, TF.js) in --quick;
// warmUpMs is how long each row runs the warm-up case (twice: with and without weights).
// interleave: the rounds that follow the sequential timing of a shape (stats.mjs
// interleaveCalls); rows slower than its maxRowMs per call (plain JS and TF.js at
// large L) keep only their sequential figures.
export const TIMING = {
  full: {
    minSamples: 5, minTotalMs: 600, targetSampleMs: 25, maxSamples: 30, warmUpMs: 150,
    interleave: { minRounds: 9, minTotalMs: 1500, maxRounds: 31, targetSampleMs: 10, maxRowMs: 1500 },
  },
  quick: {
    minSamples: 5, minTotalMs: 100, targetSampleMs: 10, maxSamples: 15, warmUpMs: 75, rowLimitMs: 500,
    interleave: { minRounds: 5, minTotalMs: 250, maxRounds: 11, targetSampleMs: 5, maxRowMs: 250 },
  },
};

async function loadRunners(env, info, config) {
  const t = performance.now();
  const mha = await (await env.importMha()).init();
  info.mhaInitMs = performance.now() - t;
  info.mhaSimdArchitecture = mha.capabilities.simdArchitecture;
  const ortThreads = config.pass === 'ort-threads';
  // The ORT-threads pass needs only the reference rows of the one-thread instance.
  const runners = mhaWasmRunners(mha).filter((r) => !ortThreads || r.reference);
  // The threads build: a second instance (env.importMhaThreads imports a
  // separate copy of the entry module, whose init() has its own state).
  try {
    const threaded = await (await env.importMhaThreads()).init({ threads: 2 });
    if (threaded.capabilities.threads === 2) runners.push(...mhaWasmRunners(threaded, { threads: 2 }));
    else info.unavailable.push({ name: 'mha-wasm, 2 threads', error: 'init({ threads: 2 }) fell back to 1 thread (not cross-origin isolated?)' });
  } catch (error) {
    info.unavailable.push({ name: 'mha-wasm, 2 threads', error: String(error) });
    env.log(`mha-wasm threads build: could not be loaded, its rows are missing: ${error}`);
  }
  // The ORT-threads pass (a fresh process or page): mha-wasm with 1 and 2
  // threads and ORT with 2, nothing else.
  const optional = [['onnxruntime-web', async () => onnxRuntimeRunners(await env.importOrt(), env, { threads: ortThreads ? 2 : 1 })]];
  if (!ortThreads) optional.push(['TF.js wasm', async () => tfjsRunners(await env.importTf(), env)]);
  for (const [name, load] of optional) {
    if (config.unavailable?.[name]) {
      info.unavailable.push({ name, error: config.unavailable[name] });
      continue;
    }
    try {
      runners.push(...(await load()));
    } catch (error) {
      info.unavailable.push({ name, error: String(error && error.stack ? error.stack.split('\n')[0] : error) });
      env.log(`${name}: could not be loaded, its rows are missing: ${error}`);
    }
  }
  if (!ortThreads) runners.push(...plainJsRunners());
  return { mha, runners };
}

// In the ORT-threads pass every ORT row is divided by mha-wasm with the same
// number of threads, measured in the same pass (report.mjs reads referenceMs).
function setThreadsReference(rows) {
  for (const row of rows) {
    if (!row.name.startsWith('ORT') || row.status !== 'ok') continue;
    const twin = rows.find((r) => r.shape === row.shape && r.kind === row.kind && r.status === 'ok' && r.name === `mha-wasm ${row.kind === 'sdpa' ? 'SDPA' : 'layer'}, 2 threads`);
    if (twin) {
      row.referenceMs = twin.medianMs;
      row.referenceName = twin.name;
      if (row.interleaved?.ratioToThreads !== undefined) row.interleaved.ratio = row.interleaved.ratioToThreads;
    }
  }
}

function makeData(shape, weights) {
  return {
    sdpa: sdpaInputs(shape),
    layer: layerInputs(shape),
    weights,
    mask: shape.causal ? causalMask(shape.queryLen, shape.keyLen) : null,
  };
}

function compare(row, reference, result, shape) {
  const tolerance = TOLERANCE[row.kind];
  const outputDiff = maxAbsDiff(reference.output, result.output);
  const weightsDiff = shape.needWeights && !row.outputOnly ? maxAbsDiff(reference.weights, result.weights) : null;
  row.check = { outputDiff, weightsDiff, tolerance };
  const worst = Math.max(outputDiff, weightsDiff ?? 0);
  if (!(worst <= tolerance)) {
    const what = outputDiff > tolerance ? `output max abs diff ${outputDiff}` : `weights max abs diff ${weightsDiff}`;
    throw new MismatchError(`${row.name} disagrees with mha-wasm on ${shape.label}: ${what} > ${tolerance}`);
  }
}

// Rows that would take too long are skipped before they run, from the rate
// the same row reached on the previous shape of the same kind (causal, weights),
// else on the previous shape at all. Shapes run cheapest first, and rates fall
// as the (L, S) scores outgrow the caches, so the latest rate is the best guess.
const rateKey = (name, shape) => `${name}|${shape.causal}|${shape.needWeights}`;

function recordRate(rates, name, shape, flops, ms) {
  const rate = flops / ms / 1e6;
  rates.set(rateKey(name, shape), rate);
  rates.set(name, rate);
}

function skipReason(runner, shape, rates, limitMs) {
  if (runner.maxLength && shape.queryLen > runner.maxLength) return `skipped: L > ${runner.maxLength}`;
  const rate = rates.get(rateKey(runner.name, shape)) ?? rates.get(runner.name);
  if (limitMs && rate) {
    const predictedMs = flopsOf(runner.kind, shape) / rate / 1e6;
    if (predictedMs > limitMs) return `skipped: predicted ${(predictedMs / 1000).toFixed(1)} s/run > ${limitMs / 1000} s`;
  }
  return null;
}

const limitOf = (runner, timing) => (runner.limitMs ? Math.min(runner.limitMs, timing.rowLimitMs ?? Infinity) : 0);

async function checkPhase(env, shape, kind, runners, data, rates, config, timing) {
  const rows = [];
  let reference = null;
  for (const runner of runners) {
    const row = { shape: shape.key, label: shape.label, kind, name: runner.name, group: runner.group ?? null, variant: runner.variant ?? null, flops: flopsOf(kind, shape) };
    if (runner.reference) row.reference = true;
    if (runner.own) row.own = true;
    if (runner.outputOnly) row.outputOnly = true;
    if (runner.compareTo) row.compareTo = runner.compareTo;
    if (runner.spins) row.spins = true;
    rows.push(row);
    const applies = runner.applies ? runner.applies(shape) : true;
    if (applies !== true) {
      Object.assign(row, { status: 'n/a', note: applies });
      continue;
    }
    const limitMs = limitOf(runner, timing);
    const skip = skipReason(runner, shape, rates, limitMs);
    if (skip) {
      Object.assign(row, { status: 'skipped', note: skip });
      continue;
    }
    try {
      row.prepared = await runner.prepare(shape, data);
      const t = performance.now();
      let result = row.prepared.run();
      if (result && typeof result.then === 'function') result = await result;
      row.firstMs = performance.now() - t;
      const out = row.prepared.read(result);
      if (runner.reference) reference = out;
      else compare(row, reference, out, shape);
    } catch (error) {
      if (error instanceof MismatchError || runner.reference) throw error;
      Object.assign(row, { status: 'error', note: String(error && error.message ? error.message : error).split('\n')[0] });
      env.log(`  ${runner.name} on ${shape.label} failed: ${row.note}`);
      continue;
    }
    row.status = 'checked';
    if (limitMs && row.firstMs > limitMs) {
      Object.assign(row, { status: 'skipped', note: `skipped: first run ${(row.firstMs / 1000).toFixed(1)} s > ${limitMs / 1000} s` });
      recordRate(rates, runner.name, shape, row.flops, row.firstMs); // so larger shapes are predicted, not tried
    }
  }
  if (config.onReference) await config.onReference(shape, kind, reference);
  return rows;
}

// Each shape's rows are timed twice: one after the other (timeCalls, the
// sequential figures), then interleaved call by call (interleavePhase). Only
// the interleaved ratios are immune to the machine's speed drifting between rows.
async function timePhase(env, shape, rows, rates, timing, peak) {
  for (const row of rows) {
    if (row.status === 'checked') {
      Object.assign(row, await timeCalls(row.prepared.run, timing));
      if (row.spins) await settle(); // before the next row's calls (settle.mjs)
      row.status = 'ok';
      recordRate(rates, row.name, shape, row.flops, row.medianMs);
      env.log(`  ${row.name.padEnd(30)} ${row.medianMs.toFixed(3).padStart(10)} ms  (${row.samples} x ${row.callsPerSample})`);
    } else if (row.status !== 'n/a') {
      env.log(`  ${row.name.padEnd(30)} ${row.note ?? row.status}`);
    }
  }
  await interleavePhase(env, shape, rows, timing.interleave, peak);
  for (const row of rows) {
    if (row.prepared) row.prepared.dispose();
    delete row.prepared;
  }
}

// The rows a ratio is taken against: the one-thread reference of the phase, and
// mha-wasm with 2 threads (the ORT 2-thread rows of the ORT-threads pass are divided by it).
const threadsTwinName = (kind) => `mha-wasm ${kind === 'sdpa' ? 'SDPA' : 'layer'}, 2 threads`;

// A row slower than plan.maxRowMs per call stays out of the rounds unless a
// target is read from it: mha-wasm's own rows, and any peer within
// CONTENDER_FACTOR of the fastest peer's sequential median (the targets divide
// the fastest peer by mha-wasm). At L = 2048 mha-wasm's layer and ORT's take
// 1-2 s per call in Node, and under 1.5 s-only rounds those targets fell back
// to sequential figures; plain JS and TF.js there are 2x or more slower than
// ORT, so they still keep only their sequential figures.
const CONTENDER_FACTOR = 1.5;

// The WebAssembly SIMD peak loop (simd_peak.wat) takes one sample in every
// round too, so each row's share of the peak is read against the machine's
// speed in the same rounds rather than against the peak measured at the start
// or end of the run. A peer's share bounds every target divided by it: code
// that did the peer's counted FLOPs at the peak rate, and nothing else, would
// be 1 / share times faster than the peer. The sample lasts as long as one
// sample of the reference row, between targetSampleMs and PEAK_SAMPLE_MAX_MS,
// so it adds at most that to each round.
const PEAK_SAMPLE_MAX_MS = 100;

function peakRow(peak, rows, plan) {
  const reference = rows.find((r) => r.reference) ?? rows[0];
  const sampleMs = Math.min(Math.max(reference.medianMs, plan.targetSampleMs), PEAK_SAMPLE_MAX_MS);
  const iterations = Math.max(1000, Math.round((sampleMs * peak.gflops * 1e6) / peak.kernel.flopsPerIteration));
  return { run: () => { peak.kernel.run(iterations); }, estimateMs: sampleMs, flops: iterations * peak.kernel.flopsPerIteration };
}

/**
 * Interleaved rounds over the rows of one (shape, kind) that were timed, and the peak loop. Adds to each row
 * interleaved: { medianMs, rounds, calls, ratio?, ratioToThreads?, ratioToCompared?, peakShare }, where ratio
 * is the median over rounds of (row time / reference time in the same round), ratioToThreads the
 * same against mha-wasm with 2 threads, ratioToCompared against the row named by row.compareTo, and
 * peakShare the median over rounds of (row GFLOP/s ÷ one thread's peak loop GFLOP/s in that round).
 */
async function interleavePhase(env, shape, rows, plan, peak) {
  const timed = rows.filter((r) => r.status === 'ok' && r.prepared);
  const fastestPeerMs = Math.min(...timed.filter((r) => !r.own).map((r) => r.medianMs));
  const taken = timed.filter((r) => r.own || r.medianMs <= Math.max(plan.maxRowMs, CONTENDER_FACTOR * fastestPeerMs));
  for (const r of timed) {
    if (!taken.includes(r)) {
      r.interleaved = { skipped: `sequential median ${r.medianMs.toFixed(0)} ms > ${plan.maxRowMs} ms and > ${CONTENDER_FACTOR} x the fastest peer's` };
    }
  }
  if (taken.length < 2) return;
  // Seeded by the shape, so that a rerun calls the rows in the same orders.
  const random = mulberry32([...`${shape.key}|${rows[0].kind}`].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261));
  const loop = peakRow(peak, taken, plan);
  const calls = taken.map((r) => ({ run: r.prepared.run, estimateMs: r.medianMs, spins: Boolean(r.spins) }));
  const result = await interleaveCalls([...calls, loop], plan, random, { settle });
  const samplesOf = (name) => result.samples[taken.findIndex((r) => r.name === name)];
  const peakGflops = result.samples[taken.length].map((ms) => loop.flops / ms / 1e6);
  const reference = taken.find((r) => r.reference);
  const twin = samplesOf(threadsTwinName(rows[0].kind));
  for (const [i, row] of taken.entries()) {
    const own = result.samples[i];
    row.interleaved = { medianMs: median(own), rounds: result.rounds, calls: result.calls[i] };
    if (reference && row !== reference) row.interleaved.ratio = medianRatio(own, samplesOf(reference.name));
    if (twin && row.name !== threadsTwinName(row.kind)) row.interleaved.ratioToThreads = medianRatio(own, twin);
    const other = row.compareTo && samplesOf(row.compareTo);
    if (other) row.interleaved.ratioToCompared = medianRatio(own, other);
    row.interleaved.peakShare = median(own.map((ms, r) => row.flops / ms / 1e6 / peakGflops[r]));
  }
  const settled = result.settledMs.length ? ` (untimed waits for spinning threads: median ${median(result.settledMs).toFixed(0)} ms, at most ${Math.max(...result.settledMs).toFixed(0)})` : '';
  env.log(`  interleaved: ${result.rounds} rounds in ${(result.ms / 1000).toFixed(1)} s${settled}, peak loop ${median(peakGflops).toFixed(1)} GFLOP/s; ` +
    taken.filter((r) => r.interleaved.ratio !== undefined).map((r) => `${r.name} ${r.interleaved.ratio.toFixed(2)}x`).join(', ') +
    `; share of peak: ${taken.map((r) => `${r.name} ${(100 * r.interleaved.peakShare).toFixed(0)}%`).join(', ')}`);
}

// Before the first timed shape, every row runs a small case for a while, so
// that V8 has moved each library's JS and wasm code to its optimizing tier
// (wasm starts in the baseline compiler and tiers up per function when hot).
// Without this, whichever shape comes first (L=16) times partly cold code.
async function warmUp(env, runners, weights, model, warmUpMs) {
  const t = performance.now();
  for (const needWeights of [false, true]) {
    const shape = { ...model, key: 'warm-up', label: 'warm-up', queryLen: 64, keyLen: 64, causal: false, needWeights };
    const data = makeData(shape, weights);
    for (const runner of runners) {
      if (runner.applies && runner.applies(shape) !== true) continue;
      try {
        const prepared = await runner.prepare(shape, data);
        const start = performance.now();
        for (let calls = 0; calls < 3 || (performance.now() - start < warmUpMs && calls < 200); calls++) await prepared.run();
        prepared.dispose();
      } catch {
        // A row that cannot run reports its error when its first real shape runs.
      }
    }
  }
  env.log(`warm-up: ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/**
 * config: { shapesSpec, quick, filter, pass?: 'ort-threads', unavailable?: { library: reason },
 *          externalRows?: { sdpa: [names], layer: [names] }, onReference?(shape, kind, reference),
 *          afterShape?(shape, kinds) }.
 * Returns { rows, peak: { start, end }, info }.
 */
export async function runHarness(env, config) {
  const info = { platform: env.platform, unavailable: [] };
  const timing = config.quick ? TIMING.quick : TIMING.full;
  // One instance for the start, the interleaved rounds and the end, so the
  // rounds run the code the start measurement has already tiered up.
  const peakKernel = await simdPeakKernel(await env.readCache('simd_peak.wasm'));
  const peakStart = await measureSimdPeak(peakKernel);
  env.log(`WebAssembly SIMD peak: ${peakStart.gflops.toFixed(1)} GFLOP/s`);
  // The rounds' peak samples are sized from the start measurement.
  const peak = { kernel: peakKernel, gflops: peakStart.gflops };
  const { runners } = await loadRunners(env, info, config);
  const weights = layerWeights(config.shapesSpec.model.embedDim);
  const shapes = expandShapes(config.shapesSpec, { quick: config.quick }).sort(
    (a, b) => flopsOf('layer', a) - flopsOf('layer', b) || a.needWeights - b.needWeights,
  );
  const { embedDim, heads, headDim } = config.shapesSpec.model;
  const used = runners.filter((r) => r.reference || shapes.some((shape) => matchesFilter(config.filter, shape, r.name)));
  await warmUp(env, used, weights, { embedDim, heads, headDim }, timing.warmUpMs);
  const rates = new Map();
  const rows = [];
  for (const [index, shape] of shapes.entries()) {
    const kinds = ['sdpa', 'layer'].map((kind) => {
      const ofKind = runners.filter((r) => r.kind === kind);
      const chosen = ofKind.filter((r) => matchesFilter(config.filter, shape, r.name));
      // Rows timed elsewhere (native, by bench/run.mjs) also need this shape's reference.
      const external = (config.externalRows?.[kind] ?? []).some((name) => matchesFilter(config.filter, shape, name));
      // The reference row always runs: every other row is checked against it and divided by it.
      if ((chosen.length > 0 || external) && !chosen[0]?.reference) chosen.unshift(ofKind.find((r) => r.reference));
      return [kind, chosen];
    });
    if (kinds.every(([, chosen]) => chosen.length === 0)) continue;
    env.log(`[${index + 1}/${shapes.length}] ${shape.label}`);
    const data = makeData(shape, weights);
    const ran = [];
    for (const [kind, chosen] of kinds) {
      if (chosen.length === 0) continue;
      const shapeRows = await checkPhase(env, shape, kind, chosen, data, rates, config, timing);
      await timePhase(env, shape, shapeRows, rates, timing, peak);
      rows.push(...shapeRows);
      ran.push(kind);
    }
    // The native rows of this shape are timed now, close in time to the JS rows they are divided by.
    if (config.afterShape) await config.afterShape(shape, ran);
  }
  const peakEnd = await measureSimdPeak(peakKernel);
  env.log(`WebAssembly SIMD peak (again, after the rows): ${peakEnd.gflops.toFixed(1)} GFLOP/s`);
  if (config.pass === 'ort-threads') setThreadsReference(rows);
  return { rows, peak: { start: peakStart, end: peakEnd }, info, shapes };
}
