// mha-wasm/worker from consumer projects (node16 ESM and CommonJS, bundler;
// TypeScript 7, 5.9 and 5.4): the module's calls return Promises, the proxies
// mirror the layers, and worker and in-thread caches do not mix.
import { initWorker, type WorkerKVCache, type WorkerModule, type WorkerMultiHeadAttention } from 'mha-wasm/worker';
import type { KVCache, MhaModule, ResultTensor, Tensor } from 'mha-wasm';

export async function useWorker(local: MhaModule): Promise<number> {
  const mha: WorkerModule = await initWorker({ threads: 2, scriptURL: '/assets/worker_thread.mjs', locateFile: (file) => `/assets/${file}` });
  const threads: number = mha.capabilities.threads;
  const x: Tensor = { data: new Float32Array(32), shape: [4, 8] };
  const layer: WorkerMultiHeadAttention = await mha.createMultiHeadAttention({ embedDim: 8, numHeads: 2 });
  const loaded: WorkerMultiHeadAttention = await layer.loadWeights({ in_proj_weight: new Float32Array(192) }, { prefix: '', transfer: true });
  const cache: WorkerKVCache = await layer.createCache({ batchSize: 1, maxLength: 8 });
  // forward returns weights unless needWeights is false, as in the thread.
  const result = await loaded.forward(x, x, x, { cache, isCausal: true, transfer: true });
  const rows: number = result.weights.shape[0];
  const none: null = (await layer.forward(x, x, x, { needWeights: false })).weights;
  const plain: null = (await mha.scaledDotProductAttention(x, x, x)).weights;
  const asked: ResultTensor = (await mha.scaledDotProductAttention(x, x, x, { needWeights: true, out: { output: new Float32Array(32) } })).weights;
  const rotated: ResultTensor = await mha.applyRotaryEmbedding(x, { base: 10000, transfer: false });
  // @ts-expect-error the result is a Promise
  void mha.scaledDotProductAttention(x, x, x).output;
  // @ts-expect-error unknown option
  await layer.forward(x, x, x, { needweights: true });
  // @ts-expect-error transfer is a boolean
  await mha.applyRotaryEmbedding(x, { transfer: 1 });
  const inThread: KVCache = local.createKVCache({ batchSize: 1, numHeads: 2, headDim: 4, maxLength: 8 });
  // @ts-expect-error an in-thread cache is not one of the worker
  await mha.scaledDotProductAttention(x, x, x, { cache: inThread });
  // @ts-expect-error a worker cache is not one of the thread
  local.scaledDotProductAttention(x, x, x, { cache });
  const sdpaCache: WorkerKVCache = await (await mha.createKVCache({ batchSize: 1, numHeads: 2, headDim: 4, maxLength: 8 })).truncate(0);
  const reset: WorkerKVCache = await sdpaCache.reset();
  const linear = await (await mha.createLinear({ inFeatures: 8, outFeatures: 4 })).loadWeights({ weight: new Float32Array(32) });
  const projected: null = (await linear.forward(x, { transfer: true })).weights;
  const llama = await mha.createSelfAttention({ embedDim: 8, numHeads: 2, numKVHeads: 1, rotary: { base: 500000 } });
  const attended: ResultTensor = (await llama.forward(x, { needWeights: true, cache: await llama.createCache({ batchSize: 1, maxLength: 8 }) })).weights;
  const { heapBytes } = await mha.memory();
  const tensors = (await mha.parseSafetensors(new Uint8Array(8), { transfer: true })).tensors;
  await Promise.all([layer.dispose(), cache.dispose(), reset.dispose(), linear.dispose(), llama.dispose()]);
  const stopped: void = await mha.terminate();
  void [none, plain, rotated, projected, attended, tensors, stopped, inThread.dispose()];
  return threads + rows + asked.shape.length + cache.length + cache.maxLength + heapBytes + (layer.disposed ? 1 : 0);
}
