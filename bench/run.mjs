// npm run bench [-- --browser] [--quick] [--filter <substring>] [--no-native] [--out <file.json>]
//
// mha-wasm side by side with onnxruntime-web, TF.js (wasm), plain JavaScript
// and the same C++ compiled natively, on identical inputs in one process (Node,
// or one headless Chromium page with --browser). Progress goes to stderr; the
// one table goes to stdout; everything is also written to bench/results/.
// See bench/README.md for what each row is and how to read the numbers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { MismatchError, runHarness } from './harness.mjs';
import { layerInputs, layerWeights, sdpaInputs } from './inputs.mjs';
import { compactNumberArrays, formatDecode, runDecodeSection } from './decode.mjs';
import { formatDecoderOptions, PARTS as OPTION_PARTS, runDecoderOptionsSection } from './decoder_options.mjs';
import { formatLinear, runLinearSection, sectionReport, writeSectionReport } from './linear.mjs';
import { formatDemoModel, MODEL_DIR, runDemoModel } from './demo_model.mjs';
import { formatDemoPage, runDemoPage } from './demo_page.mjs';
import { formatGpt2, runGpt2Section } from './gpt2.mjs';
import { chromiumVersion, loadCheck, machineInfo } from './machine.mjs';
import { heapProbe, packageInfo } from './mha_info.mjs';
import { buildNative, checkNative, NATIVE_ARCHS, nativeRowName, timeNative } from './native.mjs';
import { nodeEnv } from './node_env.mjs';
import { printReport, writeReport } from './output.mjs';
import { deriveColumns } from './report.mjs';
import { mhaWasmRunners } from './runners/mha_wasm.mjs';
import { BENCH, ROOT, ensureDist, ensureOnnxModels, ensureSimdPeak } from './setup.mjs';
import { expandShapes, matchesFilter } from './shapes.mjs';

const USAGE = `usage: npm run bench -- [--browser] [--quick] [--filter <substring>] [--no-native] [--out <file.json>]
  --browser     run the JavaScript rows in headless Chromium (/usr/bin/chromium) instead of Node
  --quick       L in {16, 128, 512} and decode, weights only at L=16 and decode, slow rows capped at 0.5 s: a smoke test
  --filter S    only rows whose "<shape> <row name>" contains S (case-insensitive), e.g. "L=512", "ORT", "native";
                a filter containing "demo" runs only the demo section (the demo model in Node, the demo page in Chromium);
                one containing "decode" also runs the decoding section (KV-cache steps, in Node);
                one containing "linear", "gqa", "window" or "rope" runs only those parts of the Linear and
                decoder-options sections (in Node), e.g. --filter linear, --filter "gqa window"; "part2" runs both whole;
                one containing "gpt2" runs only the GPT-2 section (GPT-2-small decoding, mha-wasm/models vs ORT, in Node)
  --no-native   leave out the Google Benchmark rows
  --out FILE    where to write the JSON (default bench/results/latest[-browser][-quick][-partial].json)`;

function parseArgs(argv) {
  const args = { browser: false, quick: false, filter: '', native: true, out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--browser') args.browser = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--no-native') args.native = false;
    else if (a === '--filter' && i + 1 < argv.length) args.filter = argv[++i];
    else if (a.startsWith('--filter=')) args.filter = a.slice(9);
    else if (a === '--out' && i + 1 < argv.length) args.out = argv[++i];
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else {
      console.error(`bench: unknown argument ${JSON.stringify(a)}\n${USAGE}`);
      process.exit(2);
    }
  }
  return args;
}

const startedAt = performance.now();
const log = (message) => process.stderr.write(`${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)}s ${message}\n`);

/** Everything generated or built before timing (cached in bench/.cache and build/bench-*). */
async function prepare(args, spec) {
  ensureDist(log);
  const onnxProblem = ensureOnnxModels(spec.model.embedDim, log);
  ensureSimdPeak(log);
  const native = args.native ? buildNative(log) : { binaries: {}, problems: ['left out (--no-native)'] };
  const mhaPackage = await packageInfo(); // must be the process's first mha-wasm init
  log(`mha-wasm: init() ${mhaPackage.initMs.toFixed(1)} ms, mha.wasm ${mhaPackage.wasmBytes} B (${mhaPackage.wasmGzipBytes} B gzip -9)`);
  return { onnxProblem, native, mhaPackage };
}

/** In --browser mode the native rows are checked here, against mha-wasm in Node (same .wasm, same bits). */
async function checkNativeInNode(binaries, shapes, wanted, spec) {
  const { init } = await import('../dist/node.mjs');
  const [sdpa, layer] = mhaWasmRunners(await init());
  const weights = layerWeights(spec.model.embedDim);
  const checks = [];
  for (const shape of shapes) {
    const data = { sdpa: sdpaInputs(shape), layer: layerInputs(shape), weights };
    for (const runner of [sdpa, layer]) {
      const bins = Object.fromEntries(Object.entries(binaries).filter(([arch]) => wanted(shape, runner.kind, arch)));
      if (Object.keys(bins).length === 0) continue;
      const prepared = runner.prepare(shape, data);
      checks.push(...checkNative(bins, shape, runner.kind, prepared.read(prepared.run())));
      prepared.dispose();
    }
  }
  return checks;
}

/**
 * The native rows: numerical checks (before any timing of their shape) and
 * Google Benchmark timing right after the JavaScript rows of each shape.
 */
function nativePhase(args, native) {
  const state = { checks: [], rows: [], contexts: {} };
  const wanted = (shape, kind, arch) => Boolean(native.binaries[arch]) && matchesFilter(args.filter, shape, nativeRowName(arch, kind));
  const binariesFor = (shape, kind) => Object.fromEntries(Object.entries(native.binaries).filter(([arch]) => wanted(shape, kind, arch)));
  state.externalRows = Object.fromEntries(['sdpa', 'layer'].map((k) => [k, Object.keys(native.binaries).map((arch) => nativeRowName(arch, k))]));
  state.check = (shape, kind, reference) => {
    const bins = binariesFor(shape, kind);
    if (Object.keys(bins).length > 0 && reference) state.checks.push(...checkNative(bins, shape, kind, reference));
  };
  state.checkAllInNode = async (shapes, spec) => {
    state.checks.push(...(await checkNativeInNode(native.binaries, shapes, wanted, spec)));
  };
  state.afterShape = (shape, kinds) => {
    for (const kind of kinds) {
      for (const { arch } of NATIVE_ARCHS) {
        const check = state.checks.find((c) => c.arch === arch && c.kind === kind && c.shape === shape.key);
        if (!check) continue;
        const { row, context } = timeNative(native.binaries[arch], arch, shape, kind, { quick: args.quick });
        state.rows.push({ ...row, check: check.check });
        state.contexts[arch] = context;
        log(`  ${row.name.padEnd(30)} ${row.medianMs.toFixed(3).padStart(10)} ms  (${row.samples} x ${row.callsPerSample})`);
      }
    }
  };
  return state;
}

/**
 * onnxruntime-web with 2 threads, in a fresh Node process or Chromium page
 * (bench/ort_threads_pass.mjs): its rows, each divided by mha-wasm with 2
 * threads from the same pass. A failure leaves the rows out, with a note.
 */
async function ortThreadsPass(args, config) {
  if (config.unavailable['onnxruntime-web']) return { rows: [], problem: config.unavailable['onnxruntime-web'] };
  log('ORT 2-thread pass (a separate process or page: ORT fixes its thread count once per process)');
  const passConfig = { shapesSpec: config.shapesSpec, quick: config.quick, filter: config.filter, unavailable: config.unavailable };
  let rows, problem = null;
  if (args.browser) {
    const { runInBrowser } = await import('./browser.mjs');
    const outcome = await runInBrowser({ ...passConfig, pass: 'ort-threads' }, (m) => log(`[ORT 2 threads] ${m}`));
    if (!outcome.ok) throw outcome.mismatch ? new MismatchError(outcome.message.split('\n')[0]) : new Error(`in Chromium: ${outcome.message}`);
    rows = outcome.result.rows;
  } else {
    const dir = join(BENCH, '.cache');
    mkdirSync(dir, { recursive: true });
    const configPath = join(dir, 'ort_threads_config.json'), rowsPath = join(dir, 'ort_threads_rows.json');
    writeFileSync(configPath, JSON.stringify(passConfig));
    rmSync(rowsPath, { force: true });
    const child = spawnSync(process.execPath, [join(BENCH, 'ort_threads_pass.mjs'), configPath, rowsPath], { stdio: 'inherit' });
    const written = existsSync(rowsPath) ? JSON.parse(readFileSync(rowsPath, 'utf8')) : {};
    if (written.mismatch) throw new MismatchError(written.mismatch);
    if (child.status !== 0 || !written.rows) problem = `the ORT-threads process failed (status ${child.status})`;
    else rows = written.rows;
  }
  if (problem) log(`ORT 2-thread rows left out: ${problem}`);
  return { rows: (rows ?? []).filter((r) => r.name.startsWith('ORT')), problem };
}

/** The JavaScript rows in Node or Chromium, with the native rows of each shape timed after them. */
async function runRows(args, spec, shapes, { onnxProblem, native }) {
  const nat = nativePhase(args, native);
  const config = {
    shapesSpec: spec,
    quick: args.quick,
    filter: args.filter,
    externalRows: nat.externalRows,
    unavailable: onnxProblem ? { 'onnxruntime-web': `ONNX graphs missing: ${onnxProblem}` } : {},
  };
  const out = { native: nat, browserVersion: null, externalRequests: [] };
  if (args.browser) {
    // The page's outputs stay in the page, so the native builds are checked here first, against mha-wasm in Node.
    await nat.checkAllInNode(shapes, spec);
    const { runInBrowser } = await import('./browser.mjs');
    const outcome = await runInBrowser(config, log, { afterShape: nat.afterShape });
    out.browserVersion = outcome.browserVersion;
    out.externalRequests = outcome.externalRequests;
    for (const url of out.externalRequests) log(`warning: the page requested ${url} (not the local server)`);
    if (!outcome.ok) throw outcome.mismatch ? new MismatchError(outcome.message.split('\n')[0]) : new Error(`in Chromium: ${outcome.message}`);
    out.harness = outcome.result;
  } else {
    out.harness = await runHarness(nodeEnv(log), { ...config, onReference: nat.check, afterShape: nat.afterShape });
  }
  if (nat.checks.length > 0) log(`native rows agreed with mha-wasm on ${nat.checks.length} (shape, kind, build) cases`);
  out.ortThreads = await ortThreadsPass(args, config);
  return out;
}

// The demo section: web/demo's model in Node (attention vs the rest) and the
// demo page in headless Chromium (frame times), after the main rows. It runs
// when there is no --filter or the filter contains "demo"; no main row's
// name contains "demo", so such a filter runs the demo section alone.
const demoWanted = (filter) => !filter || filter.toLowerCase().includes('demo');
const mainWanted = (filter) => !filter || !filter.toLowerCase().includes('demo');
// The decoding section (bench/decode.mjs, Node only) runs after the main rows and
// the heap probe when there is no --filter or the filter contains "decode"
// (which also selects the main table's "decode L=1 S=1024" rows).
const decodeWanted = (filter) => !filter || filter.toLowerCase().includes('decode');
// The Linear section (bench/linear.mjs) and the decoder-options section
// (bench/decoder_options.mjs: gqa, window, rope), Node only, run after the
// decoding section. A filter that names any of them ("linear", "gqa", "window",
// "rope", or "part2" for all) runs those alone: no main row has these words in its name.
// "part2" selects both sections whole.
const linearWanted = (filter) => !filter || /linear|part2/i.test(filter);
const optionPartsWanted = (filter) => (!filter || /part2/i.test(filter) ? OPTION_PARTS : OPTION_PARTS.filter((part) => filter.toLowerCase().includes(part)));
// The GPT-2 section (bench/gpt2.mjs, Node only: two child processes, 1 and 2 threads) runs after the
// part-2 sections when there is no --filter; a filter containing "gpt2" runs it alone (with any part-2
// sections the filter also names). No main row has "gpt2" in its name.
const gpt2Wanted = (filter) => !filter || /gpt2/i.test(filter);
const part2Only = (filter) => Boolean(filter) && (linearWanted(filter) || optionPartsWanted(filter).length > 0 || gpt2Wanted(filter));

const errorText = (error) => String(error && error.message ? error.message : error).split('\n')[0];

/** The decoding section; a disagreeing row fails the bench, any other error is reported and the run goes on. */
async function runDecode(args, onnxProblem) {
  log(`decoding section${args.browser ? ' (in Node, also with --browser)' : ''}: bench/decode.mjs`);
  try {
    return await runDecodeSection(log, { quick: args.quick, onnxProblem });
  } catch (error) {
    if (error instanceof MismatchError) throw error;
    log(`decoding section failed: ${error && error.stack ? error.stack : error}`);
    return { error: errorText(error) };
  }
}

/** The Linear and decoder-options sections; as for the decoding section, only a disagreeing row fails the bench. */
async function runPart2(args, onnxProblem) {
  const out = { linear: null, decoderOptions: null };
  const where = args.browser ? ' (in Node, also with --browser)' : '';
  if (linearWanted(args.filter)) {
    log(`Linear section${where}: bench/linear.mjs`);
    try {
      out.linear = await runLinearSection(log, { quick: args.quick, onnxProblem });
    } catch (error) {
      if (error instanceof MismatchError) throw error;
      log(`Linear section failed: ${error && error.stack ? error.stack : error}`);
      out.linear = { error: errorText(error) };
    }
  }
  const parts = optionPartsWanted(args.filter);
  if (parts.length > 0) {
    log(`decoder-options section (${parts.join(', ')})${where}: bench/decoder_options.mjs`);
    try {
      out.decoderOptions = await runDecoderOptionsSection(log, { quick: args.quick, onnxProblem, parts });
    } catch (error) {
      if (error instanceof MismatchError) throw error;
      log(`decoder-options section failed: ${error && error.stack ? error.stack : error}`);
      out.decoderOptions = { error: errorText(error) };
    }
  }
  return out;
}

/** The GPT-2 section; as for the decoding section, only a disagreement fails the bench. */
async function runGpt2(args) {
  log(`GPT-2 section${args.browser ? ' (in Node, also with --browser)' : ''}: bench/gpt2.mjs`);
  try {
    return await runGpt2Section(log, { quick: args.quick });
  } catch (error) {
    if (error instanceof MismatchError) throw error;
    log(`GPT-2 section failed: ${error && error.stack ? error.stack : error}`);
    return { error: errorText(error) };
  }
}

function printGpt2(gpt2, filter) {
  if (!gpt2) console.log(`\nGPT-2 section: not run (--filter ${JSON.stringify(filter)} does not contain "gpt2")`);
  else console.log(`\n${formatGpt2(gpt2)}`);
}

const gpt2Failed = (gpt2) => Boolean(gpt2 && (gpt2.error || gpt2.passes?.some((p) => p.error)));

function printPart2(part2, filter) {
  const section = (result, name, format) => {
    if (!result) console.log(`\n${name}: not run (--filter ${JSON.stringify(filter)})`);
    else console.log(`\n${result.error ? `${name}: error: ${result.error}` : format(result)}`);
  };
  section(part2.linear, 'Linear section', formatLinear);
  section(part2.decoderOptions, 'decoder-options section', formatDecoderOptions);
}

/** --filter linear / gqa / window / rope / gpt2: those sections alone, with their own small JSON. */
async function part2OnlyRun(args, spec, loadBefore) {
  ensureDist(log);
  const wantPart2 = linearWanted(args.filter) || optionPartsWanted(args.filter).length > 0;
  const onnxProblem = wantPart2 ? ensureOnnxModels(spec.model.embedDim, log) : null;
  if (wantPart2) ensureSimdPeak(log);
  const part2 = wantPart2 ? await runPart2(args, onnxProblem) : { linear: null, decoderOptions: null };
  const gpt2 = gpt2Wanted(args.filter) ? await runGpt2(args) : null;
  if (wantPart2) printPart2(part2, args.filter);
  printGpt2(gpt2, args.filter);
  const loadAfter = loadCheck();
  const noisy = loadBefore.busyProcesses + loadAfter.busyProcesses > 0 ? ' (other processes were busy: noisy)' : '';
  const totalSeconds = (performance.now() - startedAt) / 1000;
  console.log(`load: before ${loadBefore.loadavg}; after ${loadAfter.loadavg}${noisy}`);
  console.log(`total ${totalSeconds.toFixed(0)} s`);
  const sections = Object.fromEntries(Object.entries({ ...part2, gpt2 }).filter(([, result]) => result));
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  writeSectionReport(outputPath(args), await sectionReport(command, sections, loadBefore, loadAfter, { totalSeconds: Number(totalSeconds.toFixed(1)) }), log);
  if (part2.linear?.error || part2.decoderOptions?.error || gpt2Failed(gpt2)) process.exitCode = 1;
}

async function runDemo() {
  const demo = {};
  log(`demo model: ${relative(ROOT, MODEL_DIR)} through web/demo/model/tiny_gpt.mjs in Node`);
  try {
    demo.model = await runDemoModel(log);
  } catch (error) {
    demo.model = { error: errorText(error) };
    log(`demo model failed: ${error && error.stack ? error.stack : error}`);
  }
  log('demo page: /demo/ in headless Chromium');
  try {
    demo.page = await runDemoPage(log);
    if (demo.page.skipped) log(`demo page skipped: ${demo.page.skipped}`);
  } catch (error) {
    demo.page = { error: errorText(error) };
    log(`demo page failed: ${error && error.stack ? error.stack : error}`);
  }
  return demo;
}

function printDemo(demo, filter) {
  if (!demo) {
    console.log(`\ndemo section: not run (--filter ${JSON.stringify(filter)} does not contain "demo")`);
    return;
  }
  console.log(`\n${demo.model.error ? `demo model: error: ${demo.model.error}` : formatDemoModel(demo.model)}`);
  const page = demo.page;
  console.log(`\n${page.error ? `demo page: error: ${page.error}` : page.skipped ? `demo page: skipped: ${page.skipped}` : formatDemoPage(page)}`);
}

// 4 significant digits, like the rows of the main JSON.
const rounded = (value) =>
  typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value) ? Number(value.toPrecision(4))
    : Array.isArray(value) ? value.map(rounded)
      : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]))
        : value;

/** Adds a section ("decode", "linear", "decoderOptions", "demo") to a JSON file written by writeReport(), as its last key. */
function addSectionToReport(path, key, section) {
  const text = readFileSync(path, 'utf8');
  const body = compactNumberArrays(JSON.stringify(rounded(section), null, 1)).replace(/\n/g, '\n ');
  const json = text.replace(/\n}\n$/, `,\n ${JSON.stringify(key)}: ${body}\n}\n`);
  JSON.parse(json); // never write a file that does not parse
  writeFileSync(path, json);
}

const outputPath = (args) => {
  const suffix = `${args.browser ? '-browser' : ''}${args.quick ? '-quick' : ''}${args.filter ? '-partial' : ''}`;
  return args.out ?? join(BENCH, 'results', `latest${suffix}.json`);
};

/** --filter demo: the demo section alone, with its own small JSON. */
async function demoOnly(args, loadBefore) {
  ensureDist(log);
  const demo = await runDemo();
  printDemo(demo, args.filter);
  const loadAfter = loadCheck();
  const noisy = loadBefore.busyProcesses + loadAfter.busyProcesses > 0 ? ' (other processes were busy: noisy)' : '';
  const totalSeconds = (performance.now() - startedAt) / 1000;
  console.log(`load: before ${loadBefore.loadavg}; after ${loadAfter.loadavg}${noisy}`);
  console.log(`total ${totalSeconds.toFixed(0)} s`);
  const report = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    host: 'node + chromium',
    machine: { ...machineInfo(), chromium: demo.page?.browserVersion ?? chromiumVersion(), loadBefore, loadAfter },
    totalSeconds: Number(totalSeconds.toFixed(1)),
    demo: rounded(demo),
  };
  const path = outputPath(args);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 1)}\n`);
  log(`wrote ${relative(ROOT, path)}`);
  if (demo.model.error || demo.page.error) process.exitCode = 1;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const spec = JSON.parse(readFileSync(join(BENCH, 'shapes.json'), 'utf8'));
  const loadBefore = loadCheck();
  log(`load before: ${loadBefore.loadavg}\n  ${loadBefore.top.join('\n  ')}`);
  if (loadBefore.busyProcesses > 0) log('warning: other processes are using the CPU; compare only ratios from this run');
  if (!mainWanted(args.filter)) {
    await demoOnly(args, loadBefore);
    return;
  }
  if (part2Only(args.filter)) {
    await part2OnlyRun(args, spec, loadBefore);
    return;
  }

  const prepared = await prepare(args, spec);
  const shapes = expandShapes(spec, { quick: args.quick });
  const shapesByKey = new Map(shapes.map((s) => [s.key, s]));
  const js = await runRows(args, spec, shapes, prepared);

  // One call at L = 16384 takes about a minute: full, unfiltered runs only.
  let heap = null;
  if (!args.quick && !args.filter) {
    log(`mha-wasm heap probe: SDPA at L=${spec.heapProbe.queryLen}, no weights, fresh module instance`);
    heap = await heapProbe(spec.model, spec.heapProbe);
  }
  const decode = decodeWanted(args.filter) ? await runDecode(args, prepared.onnxProblem) : null;
  // Here the filter is empty (both sections run) or names none of their parts (neither does).
  const part2 = await runPart2(args, prepared.onnxProblem);
  const gpt2 = gpt2Wanted(args.filter) ? await runGpt2(args) : null;
  const demo = demoWanted(args.filter) ? await runDemo() : null;

  const peakGflops = Math.max(js.harness.peak.start.gflops, js.harness.peak.end.gflops);
  const rows = [...js.harness.rows, ...js.ortThreads.rows, ...js.native.rows];
  deriveColumns(rows, shapesByKey, peakGflops);
  const run = {
    args, spec, shapes, rows, peakGflops, heap, loadBefore, loadAfter: loadCheck(),
    harness: js.harness, browserVersion: js.browserVersion, externalRequests: js.externalRequests,
    mhaPackage: prepared.mhaPackage, native: prepared.native, nativeContexts: js.native.contexts,
    totalSeconds: (performance.now() - startedAt) / 1000,
  };
  printReport(run);
  if (!decode) console.log(`\ndecoding section: not run (--filter ${JSON.stringify(args.filter)} does not contain "decode")`);
  else console.log(`\n${decode.error ? `decoding section: error: ${decode.error}` : formatDecode(decode)}`);
  printPart2(part2, args.filter);
  printGpt2(gpt2, args.filter);
  printDemo(demo, args.filter);
  const path = outputPath(args);
  writeReport(path, run);
  if (decode) addSectionToReport(path, 'decode', decode);
  if (part2.linear) addSectionToReport(path, 'linear', part2.linear);
  if (part2.decoderOptions) addSectionToReport(path, 'decoderOptions', part2.decoderOptions);
  if (gpt2) addSectionToReport(path, 'gpt2', gpt2);
  if (demo) addSectionToReport(path, 'demo', demo);
  log(`wrote ${relative(ROOT, path)}`);
}

main().catch((error) => {
  // A disagreeing row is the expected kind of failure: one line naming it. Anything else: the stack.
  console.error(`\nbench FAILED: ${error instanceof MismatchError ? error.message : error && error.stack ? error.stack : error}`);
  process.exit(1);
});
