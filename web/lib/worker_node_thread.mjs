// The worker_threads Worker that mha-wasm/worker starts in Node
// (web/lib/worker_node.mjs, web/lib/worker_node.cjs): init() from the Node
// entry, and the calls the main thread posts.
import { parentPort } from 'node:worker_threads';
import { init } from './node.mjs';
import { serve } from './worker_server.mjs';

serve(init, {
  post: (message, transfer) => parentPort.postMessage(message, transfer),
  listen: (onMessage) => parentPort.on('message', onMessage),
});
