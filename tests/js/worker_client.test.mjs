// initWorker's start-up (web/lib/worker_client.mjs startWorker) against fake
// workers: a worker that announces a thread-pool `new Worker()` and never
// reports it done (Firefox's hang, scripts/repro_firefox_nested_worker.mjs)
// is terminated and replaced, at most WORKER_ATTEMPTS workers in all; every
// other way init can go is left as it was.
import { jest } from '@jest/globals';
import { POOL_WORKER } from '../../dist/worker_protocol.mjs';
import { startWorker, WORKER_ATTEMPTS } from '../../dist/worker_client.mjs';

const TIMEOUT_MS = 40;
// Longer than the timeout plus the client's 250 ms grace: a "slow" init must outlast both.
const SLOW_MS = TIMEOUT_MS + 250 + 200;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// behaviours[i] says what the i-th worker does with the init message.
function fakeWorkers(behaviours) {
  const started = [];
  const createWorker = () => {
    const behave = behaviours[started.length];
    const worker = { terminated: false, onMessage: null };
    started.push(worker);
    return {
      post(message) {
        // Later, as a real worker's answers come (send() registers the call after posting it).
        if (message.method === 'init') setTimeout(() => behave((reply) => !worker.terminated && worker.onMessage(reply), message.id));
      },
      listen(onMessage) {
        worker.onMessage = onMessage;
      },
      terminate() {
        worker.terminated = true;
      },
      ref() {},
      unref() {},
    };
  };
  return { started, createWorker };
}

const capabilities = { simd: true, threads: 2 };
const answers = (send, id) => send({ id, ok: true, value: { capabilities } });
const hangsCreatingPool = (send) => send({ [POOL_WORKER]: 'creating' });
const createsPoolThenAnswers = async (send, id) => {
  send({ [POOL_WORKER]: 'creating' });
  await sleep(TIMEOUT_MS / 2);
  send({ [POOL_WORKER]: 'created' });
  await sleep(SLOW_MS);
  answers(send, id);
};

let warn;
beforeEach(() => {
  warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
});
afterEach(() => warn.mockRestore());

const start = (createWorker, options = { threads: 2 }) =>
  startWorker(options, createWorker, (href) => href, { poolWorkerTimeoutMs: TIMEOUT_MS });

test('a worker hung in new Worker() is terminated and a fresh one started, with a warning', async () => {
  const { started, createWorker } = fakeWorkers([hangsCreatingPool, hangsCreatingPool, answers]);
  const mha = await start(createWorker);
  expect(mha.capabilities).toEqual(capabilities);
  expect(started.map((w) => w.terminated)).toEqual([true, true, false]);
  expect(warn).toHaveBeenCalledTimes(2);
  expect(warn.mock.calls[0][0]).toMatch(
    /^mha-wasm\/worker: initWorker\(\{ threads: 2 \}\): the worker's new Worker\(\) for the thread pool did not return within 0\.04 s \(a known Firefox problem .*\); starting a fresh worker \(2 of 3\)$/,
  );
  expect(warn.mock.calls[1][0]).toMatch(/\(3 of 3\)$/);
});

test(`after ${WORKER_ATTEMPTS} hung workers initWorker rejects and names what to do`, async () => {
  const { started, createWorker } = fakeWorkers([hangsCreatingPool, hangsCreatingPool, hangsCreatingPool, answers]);
  await expect(start(createWorker)).rejects.toThrow(
    /^initWorker\(\{ threads: 2 \}\): the worker's new Worker\(\) for the thread pool did not return within 0\.04 s .*, in 3 fresh workers; use threads: 1 here, or init\(\{ threads \}\) on the page$/,
  );
  expect(started).toHaveLength(WORKER_ATTEMPTS);
  expect(started.every((w) => w.terminated)).toBe(true);
});

test('a pool creation that returns in time, then a slow init, is waited for', async () => {
  const { started, createWorker } = fakeWorkers([createsPoolThenAnswers]);
  const mha = await start(createWorker);
  expect(mha.capabilities).toEqual(capabilities);
  expect(started).toHaveLength(1);
  expect(warn).not.toHaveBeenCalled();
});

test('a slow init that creates no pool worker (one thread, a slow download) is never cut short', async () => {
  const { started, createWorker } = fakeWorkers([
    async (send, id) => {
      await sleep(SLOW_MS);
      answers(send, id);
    },
  ]);
  await expect(start(createWorker, { threads: 1 })).resolves.toHaveProperty('capabilities', capabilities);
  expect(started).toHaveLength(1);
});

test('an init that fails is not retried: its error is given as it was', async () => {
  const { started, createWorker } = fakeWorkers([
    (send, id) => send({ id, ok: false, error: { name: 'TypeError', message: 'threads: expected an integer from 1 to 64, got 1.5' } }),
    answers,
  ]);
  await expect(start(createWorker, { threads: 1.5 })).rejects.toThrow(new TypeError('threads: expected an integer from 1 to 64, got 1.5'));
  expect(started).toHaveLength(1);
  expect(started[0].terminated).toBe(true);
  expect(warn).not.toHaveBeenCalled();
});
