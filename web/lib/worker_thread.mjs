// The module Worker that mha-wasm/worker starts in browsers (web/lib/worker.mjs):
// init() from the browser entry, and the calls the page posts. dist/ has it
// bundled into one file by scripts/assemble_dist.mjs, importing only the
// Emscripten glues (statically: Vite 5 and 7 build workers as iife, which
// refuses code splitting).
import { init } from './browser.mjs';
import { observePoolWorkerCreation } from './browser_threads.mjs';
import { POOL_WORKER } from './worker_protocol.mjs';
import { serve } from './worker_server.mjs';

const endpoint = {
  post: (message, transfer) => self.postMessage(message, transfer),
  listen: (onMessage) => self.addEventListener('message', (event) => onMessage(event.data)),
};

// The page watches these for Firefox's hang in `new Worker()` (worker_client.mjs).
observePoolWorkerCreation({
  creating: () => endpoint.post({ [POOL_WORKER]: 'creating' }, []),
  created: () => endpoint.post({ [POOL_WORKER]: 'created' }, []),
});

serve(init, endpoint);
