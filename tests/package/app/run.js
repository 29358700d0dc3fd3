// Runs the forward pass with mha-wasm imported by its package name, as an
// application would, and reports it (or the error) to whoever asks.
import { init } from 'mha-wasm';
import { compute } from './compute.js';

// stage(name) reports progress, so that a page that never finishes says where it stopped.
export async function run(threads, stage = () => {}) {
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => {
    warnings.push(args.map(String).join(' '));
    warn.apply(console, args);
  };
  try {
    stage('init');
    const mha = await init({ threads });
    stage('init done');
    // A second init() shares the first instance and warns no more.
    const again = await init({ threads });
    stage('second init done');
    const result = compute(mha);
    stage('computed');
    return { ok: true, same: again === mha, isolated: globalThis.crossOriginIsolated === true, ...result, warnings };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error), warnings };
  } finally {
    console.warn = warn;
  }
}
