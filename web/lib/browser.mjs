// Browser, worker and bundler entry.
//
// Every file is found relative to this module: `new URL('./mha.wasm',
// import.meta.url)`, written literally so that bundlers (Vite, webpack) emit
// the file and rewrite the URL; without a bundler, the .wasm next to this file
// is fetched. wasmURL, locateFile or wasmBinary override that. The .wasm is
// fetched and compiled here, not by the Emscripten glue, so a 404 or an HTML
// page served in its place rejects init() with the URL and the HTTP status.
import createMhaModule from './mha.mjs';
import { createInit } from './load_module.mjs';
import { compileWasm, instantiateWith, locate, moduleRelative } from './wasm_files.mjs';

// Threads need SharedArrayBuffer, which browsers give only to cross-origin
// isolated pages (served with COOP: same-origin and COEP: require-corp).
function threadsUnavailable() {
  if (typeof SharedArrayBuffer === 'undefined' || globalThis.crossOriginIsolated !== true) {
    return 'this page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  }
  return null;
}

async function instantiate(options) {
  if (options.threads > 1) {
    const { instantiateThreads } = await import('./browser_threads.mjs');
    return instantiateThreads(options);
  }
  const url =
    options.wasmBinary === undefined
      ? locate('mha.wasm', options.wasmURL, options.locateFile, () => moduleRelative('mha.wasm', () => new URL('./mha.wasm', import.meta.url)))
      : undefined;
  const module = await compileWasm({ wasmBinary: options.wasmBinary, url });
  return new Promise((resolve, reject) => {
    createMhaModule({ instantiateWasm: instantiateWith(module, reject) }).then(resolve, reject);
  });
}

export const init = createInit(instantiate, threadsUnavailable);
export { VERSION } from './api.mjs';
export { parseSafetensors } from './safetensors.mjs';
