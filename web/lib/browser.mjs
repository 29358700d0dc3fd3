// Browser, worker and bundler entry.
//
// Every file is found relative to this module: `new URL('./mha.wasm',
// import.meta.url)`, written literally so that bundlers (Vite, webpack) emit
// the file and rewrite the URL; without a bundler, the .wasm next to this file
// is fetched. wasmURL, locateFile or wasmBinary override that. The .wasm is
// fetched and compiled here, not by the Emscripten glue, so a 404 or an HTML
// page served in its place rejects init() with the URL and the HTTP status.
//
// The threads loader is imported statically, not with import(): a dynamic
// import makes a code-splitting build, which Vite 5 and 7 refuse for Workers
// (their default worker format is iife), so an application's own Worker
// could not use mha-wasm without configuration.
import createMhaModule from './mha.mjs';
import { instantiateThreads } from './browser_threads.mjs';
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
  if (options.threads > 1) return instantiateThreads(options);
  // Each URL written out literally, so bundlers emit both files.
  const url =
    options.wasmBinary !== undefined
      ? undefined
      : options.simd
        ? locate('mha.wasm', options.wasmURL, options.locateFile, () => moduleRelative('mha.wasm', () => new URL('./mha.wasm', import.meta.url)))
        : locate('mha-nosimd.wasm', options.wasmURL, options.locateFile, () =>
            moduleRelative('mha-nosimd.wasm', () => new URL('./mha-nosimd.wasm', import.meta.url)));
  const module = await compileWasm({ wasmBinary: options.wasmBinary, url });
  return new Promise((resolve, reject) => {
    createMhaModule({ instantiateWasm: instantiateWith(module, reject) }).then(resolve, reject);
  });
}

export const init = createInit(instantiate, threadsUnavailable);
export { VERSION } from './api.mjs';
export { parseSafetensors } from './safetensors.mjs';
