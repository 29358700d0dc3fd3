// mha-wasm/worker for browsers and bundlers: the module in a dedicated module
// Worker, every call a Promise (web/lib/worker_client.mjs).
//
// The worker is created with the literal
// `new Worker(new URL('./worker_thread.mjs', import.meta.url), { type: 'module' })`
// that Vite and webpack follow (they bundle the worker and rewrite the URL);
// without a bundler, dist/worker_thread.mjs next to this file is started. It
// is one file (scripts/assemble_dist.mjs bundles it) that imports the two
// Emscripten glues, mha.mjs and mha-mt.mjs, next to it.
import { startWorker } from './worker_client.mjs';

const WORKER_FILE = 'worker_thread.mjs';

// init() inside the worker resolves relative URLs against the worker's
// script; the caller means the page, as with init().
function againstPage(href) {
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  try {
    return base === undefined ? href : new URL(href, base).href;
  } catch {
    return href;
  }
}

function createWorker(scriptURL) {
  const worker =
    scriptURL === undefined
      ? new Worker(new URL('./worker_thread.mjs', import.meta.url), { type: 'module' })
      : new Worker(scriptURL, { type: 'module' });
  const name = scriptURL === undefined ? `${WORKER_FILE} (next to mha-wasm's worker.mjs, or where the bundler put it)` : againstPage(scriptURL);
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    listen(onMessage, onFailure) {
      worker.addEventListener('message', (event) => onMessage(event.data));
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        const detail = event.message ? `: ${event.message}` : ' (HTTP error, wrong MIME type, or an exception while its script loaded)';
        onFailure(`the worker, ${name}, failed${detail}`);
      });
      worker.addEventListener('messageerror', () => onFailure(`a message from the worker, ${name}, could not be read`));
    },
    terminate: () => worker.terminate(),
    ref() {},
    unref() {},
  };
}

/**
 * Starts a dedicated module Worker running mha-wasm and resolves once its
 * module is loaded (init(options) there). Each call starts a new worker.
 */
export function initWorker(options) {
  return startWorker(options, createWorker, againstPage);
}
