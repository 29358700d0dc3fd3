// Node-only preparation before any timing: the built package, the ONNX graphs,
// the SIMD-peak module. Everything generated goes to bench/.cache/ (git-ignored)
// and is rebuilt only when missing or stale.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { layerWeights, linearWeightsBlob, weightsBlob } from './inputs.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BENCH = join(ROOT, 'bench');
export const CACHE = join(BENCH, '.cache');
const PYTHON = '/usr/bin/python3';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function run(command, args, options = {}) {
  return spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, ...options });
}

/** dist/ must hold the package; build it (bash scripts/build.sh) when it does not. */
export function ensureDist(log) {
  if (existsSync(join(ROOT, 'dist', 'node.mjs')) && existsSync(join(ROOT, 'dist', 'mha.wasm'))) return;
  log('dist/ is missing: running bash scripts/build.sh');
  const r = run('bash', ['scripts/build.sh'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('bash scripts/build.sh failed; the bench needs the built package in dist/');
}

/**
 * The ONNX graphs for the ORT rows, with the bench's layer weights baked in.
 * Returns null when they are ready, or the reason the ORT rows cannot run.
 */
export function ensureOnnxModels(embedDim, log) {
  mkdirSync(join(CACHE, 'onnx'), { recursive: true });
  const weightsPath = join(CACHE, 'layer_weights.bin');
  const blob = weightsBlob(layerWeights(embedDim));
  writeFileSync(weightsPath, blob);
  // The Linear section's layers (linear_<in>x<out>.onnx).
  const linearPath = join(CACHE, 'linear_weights.bin');
  const linearBlob = linearWeightsBlob();
  writeFileSync(linearPath, linearBlob);
  const script = join(ROOT, 'scripts', 'make_onnx_models.py');
  const manifestPath = join(CACHE, 'onnx', 'manifest.json');
  let manifest = null;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    // missing or unreadable: made again
  }
  if (manifest) {
    const fresh = manifest.weights_sha256 === sha256(blob) && manifest.linear_weights_sha256 === sha256(linearBlob) &&
      manifest.script_sha256 === sha256(readFileSync(script));
    if (fresh && manifest.files.every((f) => existsSync(join(CACHE, 'onnx', f)))) return null;
  }
  log('generating ONNX graphs: /usr/bin/python3 scripts/make_onnx_models.py');
  const r = run(PYTHON, [script, '--weights', weightsPath, '--linear-weights', linearPath, '--out', join(CACHE, 'onnx')]);
  if (r.status === 0) {
    log(r.stdout.trim());
    return null;
  }
  const reason = (r.error ? String(r.error) : r.stderr.trim().split('\n').pop()) || `exit ${r.status}`;
  log(`ONNX graphs could not be generated, so the onnxruntime-web rows are left out:\n  ${reason}\n` +
    '  The generator needs Debian\'s python3-onnx: apt-get install -y python3-onnx');
  return reason;
}

/** bench/<name>.wat -> bench/.cache/<name>.wasm with wabt's wat2wasm. */
function ensureWat(log, name) {
  const source = join(BENCH, `${name}.wat`);
  const target = join(CACHE, `${name}.wasm`);
  if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) return;
  mkdirSync(CACHE, { recursive: true });
  log(`compiling bench/${name}.wat with wat2wasm`);
  const r = run('wat2wasm', [source, '-o', target]);
  if (r.status !== 0) {
    throw new Error(`wat2wasm failed (${r.error ? r.error.message : r.stderr.trim()}); install Debian's wabt: apt-get install -y wabt`);
  }
}

/** The SIMD peak kernel (simd_peak.mjs). */
export const ensureSimdPeak = (log) => ensureWat(log, 'simd_peak');

/** The memory-read reference of the decoding section (decode.mjs). */
export const ensureReadBandwidth = (log) => ensureWat(log, 'read_bandwidth');

/** Where the GPT-2 section's model lives (scripts/make_gpt2_bench_model.py writes it; about 1.2 GB). */
export const GPT2_MODEL_DIR = join(CACHE, 'gpt2-small');

/**
 * The GPT-2 section's random-weight GPT-2-small checkpoint and its ONNX export
 * (bench/gpt2.mjs), made again when missing, incomplete, or written by another
 * version of the script. Returns null when ready, or the reason the section cannot run.
 */
export function ensureGpt2Model(log) {
  const script = join(ROOT, 'scripts', 'make_gpt2_bench_model.py');
  const manifestPath = join(GPT2_MODEL_DIR, 'manifest.json');
  let manifest = null;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    // missing or unreadable: made again
  }
  if (manifest) {
    const fresh = manifest.script_sha256 === sha256(readFileSync(script)) &&
      Object.entries(manifest.files ?? {}).every(([name, bytes]) => existsSync(join(GPT2_MODEL_DIR, name)) && statSync(join(GPT2_MODEL_DIR, name)).size === bytes);
    if (fresh) return null;
  }
  log('generating the GPT-2-small-shaped bench model (about 1.2 GB, 1-2 min): /usr/bin/python3 scripts/make_gpt2_bench_model.py');
  // Its progress lines go straight to stderr (the run takes a while); its stderr is kept for the reason of a failure.
  const r = run(PYTHON, [script, '--out', GPT2_MODEL_DIR], { stdio: ['ignore', 2, 'pipe'] });
  if (r.status === 0) return null;
  const reason = (r.error ? String(r.error) : r.stderr.trim().split('\n').pop()) || `exit ${r.status}`;
  log(`the GPT-2 bench model could not be generated, so the GPT-2 section is left out:\n  ${reason}\n` +
    '  The generator needs Debian\'s python3-torch and python3-onnx: apt-get install -y python3-torch python3-onnx');
  return reason;
}
