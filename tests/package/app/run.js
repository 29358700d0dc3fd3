// Runs the forward pass with mha-wasm imported by its package name, as an
// application would, and reports it (or the error) to whoever asks.
import { init } from 'mha-wasm';
import { compute } from './compute.js';

export async function run(threads) {
  const warnings = [];
  const warn = console.warn;
  console.warn = (...args) => {
    warnings.push(args.map(String).join(' '));
    warn.apply(console, args);
  };
  try {
    const mha = await init({ threads });
    // A second init() shares the first instance and warns no more.
    const again = await init({ threads });
    return { ok: true, same: again === mha, isolated: globalThis.crossOriginIsolated === true, ...compute(mha), warnings };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error), warnings };
  } finally {
    console.warn = warn;
  }
}
