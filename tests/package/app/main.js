// The application's entry: ?threads=N, and ?worker=1 to compute in a module
// Worker instead of on the page, or ?worker=proxy through mha-wasm/worker's
// initWorker(). The result lands in window.__result.
import { runProxy } from './proxy.js';
import { run } from './run.js';

const setStage = (stage) => {
  document.body.dataset.stage = stage;
};

function inWorker(threads) {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve) => {
    worker.onmessage = (event) => (event.data?.stage ? setStage(`worker: ${event.data.stage}`) : resolve(event.data));
    worker.onerror = (event) => resolve({ ok: false, error: `worker error: ${event.message ?? 'failed to load'}` });
    worker.postMessage({ threads });
  });
}

async function main() {
  const params = new URLSearchParams(location.search);
  const threads = Number(params.get('threads') ?? '1');
  const worker = params.get('worker');
  const result = worker === '1' ? await inWorker(threads) : worker === 'proxy' ? await runProxy(threads, setStage) : await run(threads, setStage);
  window.__result = result;
  document.body.dataset.done = 'true';
}
main();
