// Node.js entry (import). The Emscripten 3.1.6 glue would try fetch() on a
// file path under Node 18+, so the .wasm bytes are read here and handed over.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import createMhaModule from './mha.mjs';
import { createInit } from './load_module.mjs';
import { checkWasmBytes, fetchWasmBytes, hrefOf, locate } from './wasm_files.mjs';

// wasmURL / locateFile: an http(s) URL, a file: URL or a path (relative to
// the working directory); by default the file next to this module.
async function wasmBytes({ wasmBinary, wasmURL, locateFile, threads, simd }) {
  if (wasmBinary !== undefined) return wasmBinary;
  const url = hrefOf(
    threads > 1
      ? locate('mha-mt.wasm', wasmURL, locateFile, () => new URL('./mha-mt.wasm', import.meta.url))
      : simd
        ? locate('mha.wasm', wasmURL, locateFile, () => new URL('./mha.wasm', import.meta.url))
        : locate('mha-nosimd.wasm', wasmURL, locateFile, () => new URL('./mha-nosimd.wasm', import.meta.url)),
  );
  if (/^https?:/i.test(url)) return fetchWasmBytes(url);
  const bytes = await readFile(url.startsWith('file:') ? fileURLToPath(url) : url);
  checkWasmBytes(bytes, url);
  return bytes;
}

// Threads: the CommonJS glue of the threads build (its pool workers run under
// worker_threads, which the ES module glue of Emscripten 3.1.6 cannot start).
async function instantiate(options) {
  const wasmBinary = await wasmBytes(options);
  if (options.threads === 1) return createMhaModule({ wasmBinary });
  const createThreaded = createRequire(import.meta.url)('./mha-mt-node.cjs');
  return createThreaded({ wasmBinary, mhaPoolSize: options.threads - 1 });
}

export const init = createInit(instantiate, () => null);
export { VERSION } from './api.mjs';
export { parseSafetensors } from './safetensors.mjs';
