// Node.js entry (require). Uses the CommonJS build of the same .wasm.
'use strict';
const { readFile } = require('node:fs/promises');
const path = require('node:path');
const { fileURLToPath } = require('node:url');
const createMhaModule = require('./mha.cjs');
const { createInit } = require('./load_module.cjs');
const { VERSION } = require('./api.cjs');

async function wasmBytes({ wasmBinary, wasmURL, threads }) {
  if (wasmBinary !== undefined) return wasmBinary;
  if (wasmURL === undefined) return readFile(path.join(__dirname, threads > 1 ? 'mha-mt.wasm' : 'mha.wasm'));
  if (/^https?:/.test(String(wasmURL))) return new Uint8Array(await (await fetch(wasmURL)).arrayBuffer());
  return readFile(String(wasmURL).startsWith('file:') ? fileURLToPath(wasmURL) : wasmURL);
}

async function instantiate(options) {
  const wasmBinary = await wasmBytes(options);
  if (options.threads === 1) return createMhaModule({ wasmBinary });
  return require('./mha-mt-node.cjs')({ wasmBinary, mhaPoolSize: options.threads - 1 });
}

exports.init = createInit(instantiate, () => null);
exports.VERSION = VERSION;
exports.parseSafetensors = require('./safetensors.cjs').parseSafetensors;
