// Node.js entry (import). The Emscripten 3.1.6 glue would try fetch() on a
// file path under Node 18+, so the .wasm bytes are read here and handed over.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import createMhaModule from './mha.mjs';
import { createInit } from './load_module.mjs';

async function wasmBytes({ wasmBinary, wasmURL }) {
  if (wasmBinary !== undefined) return wasmBinary;
  const url = wasmURL === undefined ? new URL('./mha.wasm', import.meta.url) : wasmURL;
  if (/^https?:/.test(String(url))) return new Uint8Array(await (await fetch(url)).arrayBuffer());
  return readFile(String(url).startsWith('file:') ? fileURLToPath(url) : url);
}

export const init = createInit(async (options) => createMhaModule({ wasmBinary: await wasmBytes(options) }));
export { VERSION } from './api.mjs';
export { parseSafetensors } from './safetensors.mjs';
