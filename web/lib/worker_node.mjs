// mha-wasm/worker in Node (import): the module in a worker_threads Worker,
// every call a Promise (web/lib/worker_client.mjs).
import { initNodeWorker } from './worker_node_shared.mjs';

/** Starts a worker_threads Worker running mha-wasm; resolves once init(options) is done there. */
export function initWorker(options) {
  return initNodeWorker(options, new URL('./worker_node_thread.mjs', import.meta.url));
}
