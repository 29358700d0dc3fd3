// mha-wasm/worker under Node (worker_threads): the same bits as the in-thread
// API, errors with their class and message, transfers that detach the
// caller's arrays, layer and cache proxies, several workers at once,
// terminate(), and a main thread that keeps running during a long call.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { init } from '../../dist/node.mjs';
import { initWorker } from '../../dist/worker_node.mjs';

const require = createRequire(import.meta.url);
const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

const values = (n, step, phase = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * step + phase) * 0.5);
const count = (shape) => shape.reduce((a, b) => a * b, 1);
const tensor = (shape, step, phase) => ({ data: values(count(shape), step, phase), shape });
const bytesOf = (array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

function expectSameBits(got, want) {
  expect(got.shape).toEqual(want.shape);
  expect(Buffer.compare(bytesOf(got.data), bytesOf(want.data))).toBe(0);
}

function expectSameResult(got, want) {
  expectSameBits(got.output, want.output);
  if (want.weights === null) expect(got.weights).toBeNull();
  else expectSameBits(got.weights, want.weights);
}

const stateFor = (expectedWeights) =>
  Object.fromEntries(expectedWeights.map(({ name, shape }, i) => [name, values(count(shape), 0.017 * (i + 1), i).map((v) => v / Math.sqrt(shape.at(-1)))]));

/** The error a call throws (in-thread) or rejects with (worker), as { class, message }. */
async function failure(run) {
  try {
    await run();
  } catch (error) {
    return { class: error.constructor.name, message: error.message };
  }
  throw new Error('expected a failure');
}

let local;
let mha;
beforeAll(async () => {
  local = await init();
  mha = await initWorker();
}, 30000);
afterAll(() => mha?.terminate());

test('capabilities are a plain object, those of the in-thread module', () => {
  expect(Object.getPrototypeOf(mha.capabilities)).toBe(Object.prototype);
  expect(mha.capabilities).toEqual({ ...local.capabilities });
});

describe('every call is bit-identical to the in-thread API', () => {
  test('scaledDotProductAttention, causal with weights, GQA with RoPE and ALiBi', async () => {
    const q = tensor([2, 4, 9, 8], 0.31, 0.1);
    const k = tensor([2, 2, 9, 8], 0.17, 0.2);
    const v = tensor([2, 2, 9, 8], 0.23, 0.3);
    const options = { isCausal: true, needWeights: true, rotary: { base: 10000 }, alibi: true, softcap: 30 };
    expectSameResult(await mha.scaledDotProductAttention(q, k, v, options), local.scaledDotProductAttention(q, k, v, options));
    const masked = { attnMask: { data: Uint8Array.from({ length: 81 }, (_, i) => (i % 7 === 3 ? 1 : 0)), shape: [9, 9] } };
    expectSameResult(await mha.scaledDotProductAttention(q, q, q, masked), local.scaledDotProductAttention(q, q, q, masked));
  });

  test('applyRotaryEmbedding', async () => {
    const x = tensor([1, 2, 5, 8], 0.4);
    const options = { base: 500000, interleaved: true, positionOffset: 3 };
    expectSameBits(await mha.applyRotaryEmbedding(x, options), local.applyRotaryEmbedding(x, options));
  });

  test('a MultiHeadAttention layer: config, expectedWeights, forward with masks', async () => {
    const options = { embedDim: 16, numHeads: 4, kdim: 12, vdim: 8, addBiasKV: true };
    const here = local.createMultiHeadAttention(options);
    const there = await mha.createMultiHeadAttention(options);
    expect(there.config).toEqual(here.config);
    expect(there.expectedWeights).toEqual(here.expectedWeights);
    expect([there.embedDim, there.numHeads, there.headDim]).toEqual([here.embedDim, here.numHeads, here.headDim]);
    const state = stateFor(here.expectedWeights);
    here.loadWeights(state);
    await expect(there.loadWeights(state)).resolves.toBe(there);
    const query = tensor([5, 2, 16], 0.21);
    const key = tensor([6, 2, 12], 0.13);
    const value = tensor([6, 2, 8], 0.29);
    const keyPaddingMask = { data: Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0), shape: [2, 6] };
    const forward = { keyPaddingMask, needWeights: true, averageAttnWeights: false };
    expectSameResult(await there.forward(query, key, value, forward), here.forward(query, key, value, forward));
    here.dispose();
    await there.dispose();
    expect(there.disposed).toBe(true);
  });

  test('createSelfAttention and createLinear', async () => {
    const options = { embedDim: 16, numHeads: 4, numKVHeads: 2, rotary: { base: 10000 }, window: 4 };
    const here = local.createSelfAttention(options);
    const there = await mha.createSelfAttention(options);
    expect(there.config).toEqual(here.config);
    const state = stateFor(here.expectedWeights);
    here.loadWeights(state);
    await there.loadWeights(state);
    const x = tensor([1, 7, 16], 0.37);
    expectSameResult(await there.forward(x, { needWeights: true }), here.forward(x, { needWeights: true }));

    const linearHere = local.createLinear({ inFeatures: 16, outFeatures: 24 });
    const linearThere = await mha.createLinear({ inFeatures: 16, outFeatures: 24 });
    expect([linearThere.inFeatures, linearThere.outFeatures, linearThere.config]).toEqual([16, 24, linearHere.config]);
    const linearState = stateFor(linearHere.expectedWeights);
    linearHere.loadWeights(linearState);
    await linearThere.loadWeights(linearState);
    expectSameResult(await linearThere.forward(x), linearHere.forward(x));
    for (const layer of [here, linearHere]) layer.dispose();
    await Promise.all([there.dispose(), linearThere.dispose()]);
  });

  test('out arrays are filled on the calling thread and returned', async () => {
    const q = tensor([1, 2, 4, 8], 0.5);
    const output = new Float32Array(64);
    const weights = new Float32Array(32);
    const result = await mha.scaledDotProductAttention(q, q, q, { needWeights: true, out: { output, weights } });
    expect(result.output.data).toBe(output);
    expect(result.weights.data).toBe(weights);
    expectSameResult(result, local.scaledDotProductAttention(q, q, q, { needWeights: true }));
  });

  test('parseSafetensors in the worker', async () => {
    const json = JSON.stringify({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    const header = Buffer.from(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
    const bytes = new Uint8Array(8 + header.length + 8);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    new Float32Array(bytes.buffer, 8 + header.length, 2).set([1.5, -2]);
    const parsed = await mha.parseSafetensors(bytes);
    expect(Array.from(parsed.tensors.w.data)).toEqual([1.5, -2]);
    expect(parsed).toEqual(local.parseSafetensors(bytes));
  });
});

describe('errors keep their class and message', () => {
  const q = tensor([1, 2, 4, 8], 0.5);
  const cases = [
    ['a wrong shape (RangeError)', (m) => m.scaledDotProductAttention(q, q, { data: new Float32Array(3), shape: [3] })],
    ['a wrong type (TypeError)', (m) => m.scaledDotProductAttention(q, q, [1, 2, 3])],
    ['an unknown option (TypeError)', (m) => m.scaledDotProductAttention(q, q, q, { isCasual: true })],
    ['a bad out array (TypeError)', (m) => m.scaledDotProductAttention(q, q, q, { out: { output: new Float64Array(64) } })],
    ['an out array of the wrong length (RangeError)', (m) => m.scaledDotProductAttention(q, q, q, { out: { output: new Float32Array(5) } })],
    ['a bad layer config (RangeError)', (m) => m.createMultiHeadAttention({ embedDim: 10, numHeads: 3 })],
    ['a cache that is not one (TypeError)', (m) => m.scaledDotProductAttention(q, q, q, { cache: {} })],
  ];
  test.each(cases)('%s', async (_, run) => {
    const want = await failure(() => run(local));
    expect(await failure(() => run(mha))).toEqual(want);
  });

  test('weights not loaded and a disposed layer (Error)', async () => {
    const here = local.createMultiHeadAttention({ embedDim: 8, numHeads: 2 });
    const there = await mha.createMultiHeadAttention({ embedDim: 8, numHeads: 2 });
    const x = tensor([3, 8], 0.2);
    expect(await failure(() => there.forward(x, x, x))).toEqual(await failure(() => here.forward(x, x, x)));
    here.dispose();
    await there.dispose();
    await there.dispose(); // twice is harmless
    expect(await failure(() => there.forward(x, x, x))).toEqual(await failure(() => here.forward(x, x, x)));
    expect(await failure(() => there.expectedWeights)).toEqual(await failure(() => here.expectedWeights));
  });

  test('a bad transfer option (TypeError), and the worker keeps working', async () => {
    expect(await failure(() => mha.scaledDotProductAttention(q, q, q, { transfer: 'yes' }))).toEqual({
      class: 'TypeError',
      message: 'scaledDotProductAttention options: transfer: expected true or false, got "yes"',
    });
    expect((await mha.scaledDotProductAttention(q, q, q)).output.shape).toEqual([1, 2, 4, 8]);
  });

  test('locateFile and scriptURL are honoured (locateFile is asked on this thread)', async () => {
    const asked = [];
    const worker = await initWorker({
      threads: 2,
      scriptURL: new URL('worker_node_thread.mjs', `file://${dist}`),
      locateFile: (file) => {
        asked.push(file);
        return `${dist}${file}`;
      },
    });
    expect(asked).toEqual(expect.arrayContaining(['mha.wasm', 'mha-mt.wasm']));
    expect(worker.capabilities.threads).toBe(2);
    await worker.terminate();
    const refused = await failure(() => initWorker({ threads: 2, locateFile: (file) => (file === 'mha-mt.wasm' ? () => {} : `${dist}${file}`) }));
    expect(refused).toEqual({ class: 'TypeError', message: 'locateFile("mha-mt.wasm"): expected a string or URL, got function' });
  });

  test('init errors reject initWorker with their class and message', async () => {
    expect(await failure(() => initWorker({ threads: 0 }))).toEqual(await failure(() => init({ threads: 0 })));
    const missing = await failure(() => initWorker({ wasmURL: '/nonexistent/mha.wasm' }));
    expect(missing.message).toMatch(/\/nonexistent\/mha\.wasm/);
    expect(await failure(() => initWorker({ scriptURL: '/nonexistent/worker.mjs' }))).toEqual({
      class: 'Error',
      message: expect.stringMatching(/^mha-wasm\/worker: the worker, \/nonexistent\/worker\.mjs, failed: /),
    });
  });
});

describe('transfer', () => {
  test('copies by default; { transfer: true } detaches the inputs, and using them again is a TypeError', async () => {
    const q = tensor([1, 2, 4, 8], 0.5);
    const want = local.scaledDotProductAttention(q, q, q);
    expectSameResult(await mha.scaledDotProductAttention(q, q, q), want);
    expect(q.data.length).toBe(64);
    // The same array three times: its buffer moves once.
    expectSameResult(await mha.scaledDotProductAttention(q, q, q, { transfer: true }), want);
    expect(q.data.length).toBe(0);
    expect(q.data.buffer.byteLength).toBe(0);
    expect(await failure(() => mha.scaledDotProductAttention(q, q, q))).toEqual({
      class: 'TypeError',
      message: 'query.data: expected a typed array with data, got one whose ArrayBuffer is detached (transferred or freed)',
    });
  });

  test('loadWeights({ transfer: true }) detaches the weights; results arrive on their own buffers', async () => {
    const layer = await mha.createLinear({ inFeatures: 8, outFeatures: 4 });
    const weight = values(32, 0.3);
    await layer.loadWeights({ weight, bias: values(4, 0.9) }, { transfer: true });
    expect(weight.length).toBe(0);
    const { output } = await layer.forward(tensor([2, 8], 0.1));
    expect(output.data.byteOffset).toBe(0);
    expect(output.data.buffer.byteLength).toBe(output.data.byteLength);
    await layer.dispose();
  });

  test('arrays on a SharedArrayBuffer are shared, not transferred', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(64 * 4));
    shared.set(values(64, 0.5));
    const q = { data: shared, shape: [1, 2, 4, 8] };
    expectSameResult(await mha.scaledDotProductAttention(q, q, q, { transfer: true }), local.scaledDotProductAttention(q, q, q));
    expect(shared.length).toBe(64);
  });
});

test('a layer proxy with a cache decodes 5 steps like the in-thread layer', async () => {
  const options = { embedDim: 16, numHeads: 4, batchFirst: true };
  const here = local.createMultiHeadAttention(options);
  const there = await mha.createMultiHeadAttention(options);
  const state = stateFor(here.expectedWeights);
  here.loadWeights(state);
  await there.loadWeights(state);
  const cacheHere = here.createCache({ batchSize: 1, maxLength: 16 });
  const cacheThere = await there.createCache({ batchSize: 1, maxLength: 16 });
  expect(cacheThere.config).toEqual(cacheHere.config);
  expect([cacheThere.length, cacheThere.maxLength, cacheThere.byteLength]).toEqual([0, 16, cacheHere.byteLength]);
  const prompt = tensor([1, 3, 16], 0.11);
  const step = (cache) => ({ cache, isCausal: true, needWeights: true });
  expectSameResult(await there.forward(prompt, prompt, prompt, step(cacheThere)), here.forward(prompt, prompt, prompt, step(cacheHere)));
  for (let t = 0; t < 5; t++) {
    const x = tensor([1, 1, 16], 0.07 * (t + 1), t);
    const want = here.forward(x, x, x, step(cacheHere));
    expectSameResult(await there.forward(x, x, x, { ...step(cacheThere), transfer: true }), want);
    expect(x.data.length).toBe(0);
    expect(cacheThere.length).toBe(cacheHere.length);
  }
  expect(cacheThere.length).toBe(8);
  await expect(cacheThere.truncate(5)).resolves.toBe(cacheThere);
  cacheHere.truncate(5);
  expect(cacheThere.length).toBe(5);
  const x = tensor([1, 1, 16], 0.5);
  expectSameResult(await there.forward(x, x, x, step(cacheThere)), here.forward(x, x, x, step(cacheHere)));
  // Past maxLength: the same RangeError, and the cache keeps what it held.
  const long = tensor([1, 12, 16], 0.3);
  expect(await failure(() => there.forward(long, long, long, step(cacheThere)))).toEqual(
    await failure(() => here.forward(long, long, long, step(cacheHere))),
  );
  expect(cacheThere.length).toBe(6);
  await cacheThere.reset();
  expect(cacheThere.length).toBe(0);
  await cacheThere.dispose();
  cacheHere.dispose();
  expect(cacheThere.disposed).toBe(true);
  expect(await failure(() => cacheThere.length)).toEqual(await failure(() => cacheHere.length));
  expect(await failure(() => there.forward(x, x, x, step(cacheThere)))).toEqual(await failure(() => here.forward(x, x, x, step(cacheHere))));
  here.dispose();
  await there.dispose();
});

test('an SDPA cache through createKVCache, and memory()', async () => {
  const cacheThere = await mha.createKVCache({ batchSize: 1, numHeads: 2, headDim: 8, maxLength: 8 });
  const cacheHere = local.createKVCache({ batchSize: 1, numHeads: 2, headDim: 8, maxLength: 8 });
  for (let t = 0; t < 3; t++) {
    const q = tensor([1, 2, 1, 8], 0.2, t);
    const options = (cache) => ({ cache, isCausal: true, rotary: true });
    expectSameResult(await mha.scaledDotProductAttention(q, q, q, options(cacheThere)), local.scaledDotProductAttention(q, q, q, options(cacheHere)));
  }
  expect(cacheThere.length).toBe(3);
  const memory = await mha.memory();
  expect(Object.keys(memory).sort()).toEqual(Object.keys(local.memory()).sort());
  expect(memory.heapBytes).toBeGreaterThan(0);
  await cacheThere.dispose();
  cacheHere.dispose();
});

test('two workers at once, each with its own module and objects', async () => {
  const [a, b] = await Promise.all([initWorker(), initWorker({ threads: 2 })]);
  try {
    expect([a.capabilities.threads, b.capabilities.threads]).toEqual([1, 2]);
    const q = tensor([1, 4, 64, 16], 0.05);
    const want = local.scaledDotProductAttention(q, q, q, { isCausal: true });
    const results = await Promise.all([a, b, a, b].map((m) => m.scaledDotProductAttention(q, q, q, { isCausal: true })));
    for (const result of results) expectSameResult(result, want);
    // A cache of one worker is not one in another.
    const cache = await a.createKVCache({ batchSize: 1, numHeads: 4, headDim: 16, maxLength: 8 });
    expect(await failure(() => b.scaledDotProductAttention(q, q, q, { cache }))).toEqual({
      class: 'TypeError',
      message: 'scaledDotProductAttention: cache: expected a KVCache from createKVCache() or layer.createCache(), got an object (Object)',
    });
  } finally {
    await Promise.all([a.terminate(), b.terminate()]);
  }
});

test('terminate() rejects the pending call and every later one', async () => {
  const worker = await initWorker();
  const layer = await worker.createLinear({ inFeatures: 4, outFeatures: 4 });
  const q = tensor([1, 12, 512, 64], 0.01);
  const pending = worker.scaledDotProductAttention(q, q, q).catch((error) => error);
  await worker.terminate();
  expect(await pending).toEqual(new Error('mha-wasm/worker: this worker was terminated; call initWorker() again'));
  await expect(worker.memory()).rejects.toThrow('memory: mha-wasm/worker: this worker was terminated; call initWorker() again');
  await expect(layer.forward(tensor([1, 4], 0.1))).rejects.toThrow('forward: mha-wasm/worker: this worker was terminated');
  // Its memory went with the worker: dispose() has nothing to complain about.
  await expect(layer.dispose()).resolves.toBeUndefined();
});

test('the main thread keeps running during a long call', async () => {
  const q = tensor([1, 12, 1024, 64], 0.01);
  const ticks = [];
  const timer = setInterval(() => ticks.push(performance.now()), 5);
  const started = performance.now();
  let done;
  try {
    const { output } = await mha.scaledDotProductAttention(q, q, q);
    done = performance.now();
    expect(output.shape).toEqual([1, 12, 1024, 64]);
  } finally {
    clearInterval(timer);
  }
  // In this thread the call would block the timer for all of it (one gap as
  // long as the call); here it keeps ticking, with only short gaps.
  const times = [started, ...ticks.filter((t) => t < done), done];
  const longestGap = Math.max(...times.slice(1).map((t, i) => t - times[i]));
  expect(done - started).toBeGreaterThan(50);
  expect(times.length).toBeGreaterThan(5);
  expect(longestGap).toBeLessThan((done - started) / 2);
}, 30000);

test('the CommonJS entry works, and a program that never calls terminate() exits by itself', () => {
  const script = `
    const { initWorker } = require(${JSON.stringify(`${dist}worker/node.cjs`)});
    initWorker({ threads: 2 }).then(async (mha) => {
      const q = { data: new Float32Array(64).fill(0.25), shape: [1, 2, 4, 8] };
      const { output } = await mha.scaledDotProductAttention(q, q, q);
      console.log(JSON.stringify({ threads: mha.capabilities.threads, shape: output.shape }));
    });`;
  const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 });
  expect(run.stderr).toBe('');
  expect(JSON.parse(run.stdout)).toEqual({ threads: 2, shape: [1, 2, 4, 8] });
  expect(run.status).toBe(0);
  expect(typeof require(`${dist}worker/node.cjs`).initWorker).toBe('function');
}, 30000);
