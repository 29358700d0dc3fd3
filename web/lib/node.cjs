// Node.js entry (require), written as CommonJS. scripts/assemble_dist.mjs
// bundles it with esbuild into dist/node.cjs: esbuild inlines the ES modules
// it requires (the same sources as the ESM entry) and keeps the two
// Emscripten CommonJS glues (ENVIRONMENT=node) as separate files.
'use strict';
const { readFile } = require('node:fs/promises');
const path = require('node:path');
const { fileURLToPath } = require('node:url');
const { createInit } = require('./load_module.mjs');
const { checkWasmBytes, fetchWasmBytes, hrefOf, locate } = require('./wasm_files.mjs');
const { VERSION } = require('./api.mjs');
const { parseSafetensors } = require('./safetensors.mjs');

async function wasmBytes({ wasmBinary, wasmURL, locateFile, threads, simd }) {
  if (wasmBinary !== undefined) return wasmBinary;
  const file = threads > 1 ? 'mha-mt.wasm' : simd ? 'mha.wasm' : 'mha-nosimd.wasm';
  const url = hrefOf(locate(file, wasmURL, locateFile, () => path.join(__dirname, file)));
  if (/^https?:/i.test(url)) return fetchWasmBytes(url);
  const bytes = await readFile(url.startsWith('file:') ? fileURLToPath(url) : url);
  checkWasmBytes(bytes, url);
  return bytes;
}

async function instantiate(options) {
  const wasmBinary = await wasmBytes(options);
  if (options.threads === 1) return require('./mha.cjs')({ wasmBinary });
  return require('./mha-mt-node.cjs')({ wasmBinary, mhaPoolSize: options.threads - 1 });
}

exports.init = createInit(instantiate, () => null);
exports.VERSION = VERSION;
exports.parseSafetensors = parseSafetensors;
