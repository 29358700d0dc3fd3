// Browser, worker and bundler entry. The glue finds mha.wasm next to itself
// (new URL('mha.wasm', import.meta.url)), which bundlers such as Vite follow;
// wasmURL or wasmBinary override that for hosts that serve it elsewhere.
import createMhaModule from './mha.mjs';
import { createInit } from './load_module.mjs';

// Threads need SharedArrayBuffer, which browsers give only to cross-origin
// isolated pages (served with COOP: same-origin and COEP: require-corp).
function threadsUnavailable() {
  if (typeof SharedArrayBuffer === 'undefined' || globalThis.crossOriginIsolated !== true) {
    return 'this page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  return null;
}

async function instantiate({ wasmBinary, wasmURL, threads }) {
  const create = threads > 1 ? (await import('./mha-mt.mjs')).default : createMhaModule;
  const options = threads > 1 ? { mhaPoolSize: threads - 1 } : {};
  if (wasmBinary !== undefined) return create({ ...options, wasmBinary });
  if (wasmURL !== undefined) return create({ ...options, locateFile: (file) => (file.endsWith('.wasm') ? String(wasmURL) : file) });
  return create(options);
}

export const init = createInit(instantiate, threadsUnavailable);
export { VERSION } from './api.mjs';
export { parseSafetensors } from './safetensors.mjs';
