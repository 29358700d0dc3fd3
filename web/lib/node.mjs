// Node.js entry (import). The Emscripten 3.1.6 glue would try fetch() on a
// file path under Node 18+, so the .wasm bytes are read here and handed over.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import createMhaModule from './mha.mjs';
import { createInit } from './load_module.mjs';

async function wasmBytes({ wasmBinary, wasmURL, threads }) {
  if (wasmBinary !== undefined) return wasmBinary;
  const url = wasmURL === undefined ? new URL(threads > 1 ? './mha-mt.wasm' : './mha.wasm', import.meta.url) : wasmURL;
  if (/^https?:/.test(String(url))) return new Uint8Array(await (await fetch(url)).arrayBuffer());
  return readFile(String(url).startsWith('file:') ? fileURLToPath(url) : url);
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
