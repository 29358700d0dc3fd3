// The threads build in browsers, loaded by browser.mjs only when
// init({ threads: n > 1 }) runs on a cross-origin-isolated page.
//
// The pool's module workers are created here (Module.mhaCreateWorker, see
// src/bindings/pthread_pool_hook.js) with the literal
// `new Worker(new URL('./mha-mt.worker.mjs', import.meta.url), { type: 'module' })`
// that bundlers follow, or from workerURL / locateFile. A worker that fails to
// load (404, wrong MIME type, an error in its script) or does not report in
// time rejects init() instead of leaving it pending forever.
import createThreadedModule from './mha-mt.mjs';
import { compileWasm, hrefOf, instantiateWith, locate, moduleRelative } from './wasm_files.mjs';

/** How long the pool's workers may take to load before init() gives up. */
export const WORKER_START_TIMEOUT_MS = 10000;
const WORKER_FILE = 'mha-mt.worker.mjs';

// Told before and after each pool worker is created. Only mha-wasm/worker's
// own worker sets it (web/lib/worker_thread.mjs): Firefox sometimes never
// returns from `new Worker()` inside a Worker, and the page can notice that
// only if it hears that a creation began and did not end.
let creationObserver = null;

/** observer: { creating(), created() }, or null. */
export function observePoolWorkerCreation(observer) {
  creationObserver = observer;
}

function createPoolWorker(explicitURL) {
  creationObserver?.creating();
  const worker =
    explicitURL !== undefined
      ? new Worker(explicitURL, { type: 'module' })
      : new Worker(new URL('./mha-mt.worker.mjs', import.meta.url), { type: 'module' });
  creationObserver?.created();
  return worker;
}

export async function instantiateThreads({ wasmBinary, wasmURL, workerURL, locateFile, threads }) {
  const url =
    wasmBinary === undefined
      ? locate('mha-mt.wasm', wasmURL, locateFile, () => moduleRelative('mha-mt.wasm', () => new URL('./mha-mt.wasm', import.meta.url)))
      : undefined;
  const module = await compileWasm({ wasmBinary, url });
  const explicitWorker = workerURL !== undefined || locateFile !== undefined ? locate(WORKER_FILE, workerURL, locateFile, () => undefined) : undefined;
  const workerName = explicitWorker === undefined ? `${WORKER_FILE} (next to mha-wasm's browser.mjs, or where the bundler put it)` : hrefOf(explicitWorker);

  return new Promise((resolve, reject) => {
    const workers = [];
    const cleanups = [];
    let settled = false;
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      cleanups.forEach((cleanup) => cleanup());
    };
    const fail = (error) => {
      if (settled) return;
      finish();
      for (const worker of workers) worker.terminate();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`init({ threads: ${threads} }): the thread pool's workers (${workerName}) did not start within ${WORKER_START_TIMEOUT_MS / 1000} s`)),
      WORKER_START_TIMEOUT_MS,
    );

    let Module;
    try {
      Module = createThreadedModule({
        mhaPoolSize: threads - 1,
        instantiateWasm: instantiateWith(module, fail),
        mhaCreateWorker() {
          const worker = createPoolWorker(explicitWorker);
          workers.push(worker);
          // Registered before the glue's own handlers, so these run first.
          const onError = (event) => {
            if (settled) return;
            // The glue's onerror would re-throw it as an uncaught page error.
            event.stopImmediatePropagation();
            event.preventDefault();
            const detail = event.message ? `: ${event.message}` : ' (HTTP error, wrong MIME type, or an exception while its script loaded)';
            fail(new Error(`init({ threads: ${threads} }): a thread pool worker, ${workerName}, failed to start${detail}`));
          };
          const onMessage = (event) => {
            if (settled || event.data?.cmd !== 'mhaWorkerFailed') return;
            event.stopImmediatePropagation();
            fail(new Error(`init({ threads: ${threads} }): a thread pool worker, ${workerName}, failed to load the module: ${event.data.message}`));
          };
          worker.addEventListener('error', onError);
          worker.addEventListener('message', onMessage);
          cleanups.push(() => {
            worker.removeEventListener('error', onError);
            worker.removeEventListener('message', onMessage);
          });
          return worker;
        },
      });
    } catch (error) {
      fail(error);
      return;
    }
    Module.then(
      (instance) => {
        if (settled) return;
        finish();
        resolve(instance);
      },
      (error) => fail(error),
    );
  });
}
