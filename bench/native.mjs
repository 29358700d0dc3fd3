// The native rows: bench/native/attention_benchmark.cpp (Google Benchmark),
// built twice from bench/CMakeLists.txt - AVX2+FMA and SSE2-only (the kernel
// arch the .wasm is compiled from) - checked against mha-wasm, then timed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TOLERANCE, MismatchError } from './harness.mjs';
import { CACHE, ROOT } from './setup.mjs';
import { maxAbsDiff, summarize } from './stats.mjs';

export const NATIVE_ARCHS = [
  { arch: 'avx2', label: 'native AVX2' },
  { arch: 'sse2', label: 'native SSE2' },
];
const KIND_LABEL = { sdpa: 'SDPA', layer: 'layer' };
export const nativeRowName = (arch, kind) => `${NATIVE_ARCHS.find((a) => a.arch === arch).label} ${KIND_LABEL[kind]}`;

const NATIVE_TIMING = {
  full: ['--benchmark_repetitions=5', '--benchmark_min_time=0.2', '--benchmark_min_warmup_time=0.1'],
  quick: ['--benchmark_repetitions=5', '--benchmark_min_time=0.02', '--benchmark_min_warmup_time=0.02'],
};

const shapeToken = (s) => `${s.queryLen}x${s.keyLen}c${s.causal ? 1 : 0}w${s.needWeights ? 1 : 0}`;

/** Configures (once) and builds both variants; returns { arch: binary path } for those that built. */
export function buildNative(log) {
  const binaries = {};
  const problems = [];
  for (const { arch } of NATIVE_ARCHS) {
    const dir = join(ROOT, 'build', `bench-${arch}`);
    if (!existsSync(join(dir, 'CMakeCache.txt'))) {
      log(`configuring the native bench (${arch}) in build/bench-${arch}`);
      const c = spawnSync('cmake', ['-S', 'bench', '-B', dir, `-DMHA_BENCH_ARCH=${arch}`, '-DCMAKE_BUILD_TYPE=Release'], { cwd: ROOT, encoding: 'utf8' });
      if (c.status !== 0) {
        const hint = /benchmark/i.test(c.stderr) ? " (Google Benchmark missing? apt-get install -y libbenchmark-dev)" : '';
        problems.push(`native ${arch}: cmake configure failed${hint}: ${(c.error?.message ?? c.stderr).trim().split('\n').slice(-3).join(' ')}`);
        continue;
      }
    }
    // Incremental: fast when nothing changed, and picks up edits to src/.
    const b = spawnSync('cmake', ['--build', dir, '-j2'], { cwd: ROOT, encoding: 'utf8' });
    if (b.status !== 0) {
      problems.push(`native ${arch}: build failed: ${(b.error?.message ?? b.stdout + b.stderr).trim().split('\n').slice(-3).join(' ')}`);
      continue;
    }
    binaries[arch] = join(dir, 'attention_benchmark');
  }
  for (const p of problems) log(p);
  return { binaries, problems };
}

function readFloats(path) {
  const bytes = readFileSync(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/**
 * Runs each native build once on `shape` and compares with mha-wasm's result
 * (`reference`: { output, weights } in the same layouts). Throws MismatchError.
 */
export function checkNative(binaries, shape, kind, reference) {
  const results = [];
  for (const [arch, binary] of Object.entries(binaries)) {
    const dir = join(CACHE, 'native-check');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const r = spawnSync(binary, [`--mha_shapes=${shapeToken(shape)}`, `--mha_only=${kind}`, `--mha_dump=${dir}`], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${nativeRowName(arch, kind)}: ${binary} failed: ${r.stderr.trim()}`);
    const base = join(dir, `${kind}_${shapeToken(shape)}`);
    const outputDiff = maxAbsDiff(reference.output, readFloats(`${base}.out.f32`));
    const weightsDiff = shape.needWeights ? maxAbsDiff(reference.weights, readFloats(`${base}.weights.f32`)) : null;
    rmSync(dir, { recursive: true, force: true });
    const tolerance = TOLERANCE[kind];
    if (!(Math.max(outputDiff, weightsDiff ?? 0) <= tolerance)) {
      throw new MismatchError(
        `${nativeRowName(arch, kind)} disagrees with mha-wasm on ${shape.label}: max abs diff output ${outputDiff}, weights ${weightsDiff} > ${tolerance}`,
      );
    }
    results.push({ arch, kind, shape: shape.key, check: { outputDiff, weightsDiff, tolerance } });
  }
  return results;
}

/**
 * Times one (shape, kind) with one build: a Google Benchmark process with 5
 * repetitions. Called right after the JavaScript rows of the same shape, so
 * native and JS rows of a shape are measured minutes apart at most.
 * Returns { row, context }.
 */
export function timeNative(binary, arch, shape, kind, { quick }) {
  const args = [`--mha_shapes=${shapeToken(shape)}`, `--mha_only=${kind}`, '--benchmark_format=json', ...NATIVE_TIMING[quick ? 'quick' : 'full']];
  const r = spawnSync(binary, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${binary} ${args.join(' ')} failed: ${r.stderr.trim()}`);
  const report = JSON.parse(r.stdout);
  const name = `${kind}/L=${shape.queryLen}/S=${shape.keyLen}/causal=${shape.causal ? 1 : 0}/weights=${shape.needWeights ? 1 : 0}`;
  const reps = report.benchmarks.filter((b) => b.run_type === 'iteration' && b.run_name === `${name}/real_time`);
  if (reps.length === 0) throw new Error(`no result for ${name} in the output of ${binary}`);
  // Each repetition's real_time is the mean over its iterations (ms): one sample.
  const row = {
    shape: shape.key, label: shape.label, kind, name: nativeRowName(arch, kind), group: null, variant: arch,
    status: 'ok', ...summarize(reps.map((b) => b.real_time)), callsPerSample: reps[0].iterations,
    cpuTimeMedianMs: summarize(reps.map((b) => b.cpu_time)).medianMs,
  };
  return { row, context: report.context };
}
