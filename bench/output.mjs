// What a run prints (the table and a summary, on stdout) and writes
// (bench/results/*.json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { denseTargets, formatDenseTargets } from './dense_targets.mjs';
import { FORMULAS } from './flops.mjs';
import { TIMING, TOLERANCE } from './harness.mjs';
import { chromiumVersion, machineInfo, packageVersion } from './machine.mjs';
import { compactRows, formatTable } from './report.mjs';

// A run whose SIMD peak differs by more than this between its start and its end
// saw a different machine for its late rows than for its early ones.
export const DISTURBED_DRIFT = 0.15;
const peakDrift = (peak) => Math.abs(peak.end.gflops - peak.start.gflops) / Math.min(peak.end.gflops, peak.start.gflops);

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** run: { args, spec, shapes, rows, harness, peakGflops, mhaPackage, heap, native, browserVersion, externalRequests, loadBefore, loadAfter, totalSeconds } */
export function printReport(run) {
  const { args, spec, harness, peakGflops, mhaPackage, heap } = run;
  const machine = machineInfo();
  const where = args.browser ? `headless Chromium (${run.browserVersion})` : `Node ${process.version}`;
  console.log(`\nmha-wasm bench - JavaScript rows in ${where}, one thread each unless named ", 2 threads"; ${machine.cpuModel}, ${machine.cores} cores`);
  console.log(`E=${spec.model.embedDim}, H=${spec.model.heads}, D=${spec.model.headDim}, batch 1; "× mha-wasm" > 1 means slower than mha-wasm (one thread).`);
  console.log('"sequential": medians of rows timed one after the other; "interleaved": the median over rounds of the row\'s time ÷ mha-wasm\'s time in the');
  console.log('same round, every row of the shape called in each round in a shuffled order (native rows are separate processes: sequential only);');
  console.log(`"ORT …, 2 threads" rows come from a separate pass (ORT fixes its thread count once per process) and are divided by mha-wasm with 2 threads from that pass\n`);
  console.log(formatTable(run.rows, run.shapes));
  console.log('');
  const drift = peakDrift(harness.peak);
  console.log(`WebAssembly SIMD peak (bench/simd_peak.wat, mul+add, no FMA): ${harness.peak.start.gflops.toFixed(1)} GFLOP/s before the rows, ` +
    `${harness.peak.end.gflops.toFixed(1)} after; % column uses ${peakGflops.toFixed(1)}`);
  console.log(drift > DISTURBED_DRIFT
    ? `DISTURBED RUN: the peak moved ${(100 * drift).toFixed(1)}% between start and end (> ${100 * DISTURBED_DRIFT}%); trust only the interleaved ratios, and those with care`
    : `peak drift ${(100 * drift).toFixed(1)}% (≤ ${100 * DISTURBED_DRIFT}%: not disturbed)`);
  console.log(`\n${formatDenseTargets(denseTargets(run.rows, run.shapes))}\n`);
  console.log(`mha-wasm ${mhaPackage.version}: mha.wasm ${mhaPackage.wasmBytes} B raw, ${mhaPackage.wasmGzipBytes} B gzip -9; ` +
    `init() in Node ${mhaPackage.initMs.toFixed(1)} ms${args.browser ? `; init() in Chromium ${harness.info.mhaInitMs.toFixed(1)} ms` : ''}`);
  if (heap) {
    console.log(`mha-wasm heap, SDPA L=S=${heap.queryLen} without weights: ${mib(heap.peakHeapBytes)} peak (${mib(heap.heapBytesBefore)} before; ` +
      `inputs ${mib(heap.inputBytes)}, output ${mib(heap.outputBytes)}); that one call took ${(heap.ms / 1000).toFixed(1)} s`);
  } else {
    console.log(`mha-wasm heap probe at L=${spec.heapProbe.queryLen}: not run (${args.quick ? '--quick' : '--filter'})`);
  }
  if (args.browser) {
    console.log(`requests outside 127.0.0.1 from the page: ${run.externalRequests.length === 0 ? 'none' : run.externalRequests.join(', ')}`);
  }
  for (const u of harness.info.unavailable) console.log(`unavailable: ${u.name}: ${u.error}`);
  for (const p of run.native.problems) console.log(`native: ${p}`);
  for (const e of run.rows.filter((r) => r.status === 'error')) console.log(`error: ${e.name} on ${e.label}: ${e.note}`);
  const noisy = run.loadBefore.busyProcesses + run.loadAfter.busyProcesses > 0 ? ' (other processes were busy: noisy)' : '';
  console.log(`load: before ${run.loadBefore.loadavg}; after ${run.loadAfter.loadavg}${noisy}`);
  console.log(`total ${run.totalSeconds.toFixed(0)} s`);
}

export function writeReport(path, run) {
  const { args, harness, mhaPackage } = run;
  const report = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    host: args.browser ? 'chromium' : 'node',
    machine: { ...machineInfo(), chromium: run.browserVersion ?? chromiumVersion(), loadBefore: run.loadBefore, loadAfter: run.loadAfter },
    versions: Object.fromEntries(['onnxruntime-web', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', 'playwright-core']
      .map((name) => [name, packageVersion(name)]).concat([['mha-wasm', mhaPackage.version]])),
    flops: FORMULAS,
    tolerances: TOLERANCE,
    timing: { js: args.quick ? TIMING.quick : TIMING.full, native: args.quick ? 'quick' : 'full' },
    simdPeak: { ...harness.peak, drift: Number(peakDrift(harness.peak).toFixed(3)), disturbed: peakDrift(harness.peak) > DISTURBED_DRIFT },
    denseTargets: denseTargets(run.rows, run.shapes).map((t) => ({ ...t, measured: t.measured == null ? null : Number(t.measured.toPrecision(4)) })),
    simdPeakUsedGflops: run.peakGflops,
    mha: { ...mhaPackage, initMsInHost: harness.info.mhaInitMs, heapProbe: run.heap },
    unavailable: harness.info.unavailable,
    externalRequests: args.browser ? run.externalRequests : undefined,
    nativeProblems: run.native.problems,
    nativeContexts: run.nativeContexts,
    totalSeconds: Number(run.totalSeconds.toFixed(1)),
  };
  // Pretty at the top level, one line per row: small, and diffs read row by row.
  const rows = compactRows(run.rows).map((r) => `  ${JSON.stringify(r)}`).join(',\n');
  const json = JSON.stringify(report, null, 1).replace(/\n}$/, `,\n "rows": [\n${rows}\n ]\n}\n`);
  JSON.parse(json); // never write a file that does not parse
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, json);
}
