// Browser, worker and bundler entry. The glue finds mha.wasm next to itself
// (new URL('mha.wasm', import.meta.url)), which bundlers such as Vite follow;
// wasmURL or wasmBinary override that for hosts that serve it elsewhere.
import createMhaModule from './mha.mjs';
import { createInit } from './load_module.mjs';

export const init = createInit(({ wasmBinary, wasmURL }) => {
  if (wasmBinary !== undefined) return createMhaModule({ wasmBinary });
  if (wasmURL !== undefined) return createMhaModule({ locateFile: (file) => (file.endsWith('.wasm') ? String(wasmURL) : file) });
  return createMhaModule();
});
export { VERSION } from './api.mjs';
export { parseSafetensors } from './safetensors.mjs';
