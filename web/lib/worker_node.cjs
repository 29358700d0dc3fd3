// mha-wasm/worker in Node (require), written as CommonJS. scripts/assemble_dist.mjs
// bundles it with esbuild into dist/worker/node.cjs (the ES modules it
// requires inlined); the worker itself runs dist/worker_node_thread.mjs.
'use strict';
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { initNodeWorker } = require('./worker_node_shared.mjs');

/** Starts a worker_threads Worker running mha-wasm; resolves once init(options) is done there. */
exports.initWorker = function initWorker(options) {
  return initNodeWorker(options, pathToFileURL(path.join(__dirname, '..', 'worker_node_thread.mjs')));
};
