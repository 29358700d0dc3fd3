// The Node side of mha-wasm/worker, for both entries (worker_node.mjs,
// worker_node.cjs): a worker_threads Worker running worker_node_thread.mjs.
// It keeps the process alive only while a call is pending, so a program that
// forgets terminate() still exits.
import { Worker } from 'node:worker_threads';
import { startWorker } from './worker_client.mjs';

// A path, a file: URL (string or URL), as Node's Worker takes them.
const toScript = (scriptURL) => (/^file:/i.test(scriptURL) ? new URL(scriptURL) : scriptURL);

function nodeEndpoint(script, name) {
  const worker = new Worker(script);
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    listen(onMessage, onFailure) {
      worker.on('message', onMessage);
      worker.on('error', (error) => onFailure(`the worker, ${name}, failed: ${error?.message ?? error}`));
      worker.on('messageerror', (error) => onFailure(`a message from the worker, ${name}, could not be read: ${error?.message ?? error}`));
      worker.on('exit', (code) => onFailure(`the worker, ${name}, exited (code ${code})`));
    },
    terminate: () => worker.terminate(),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
  };
}

/** defaultScript: the worker_node_thread.mjs of the package (a file: URL). */
export function initNodeWorker(options, defaultScript) {
  return startWorker(
    options,
    (scriptURL) => {
      const script = scriptURL === undefined ? defaultScript : toScript(scriptURL);
      return nodeEndpoint(script, String(script instanceof URL ? script.href : script));
    },
    (href) => href,
  );
}

