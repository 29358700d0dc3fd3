// The same forward pass through mha-wasm/worker: initWorker() starts the
// package's own module Worker, and every call is a Promise answered from it.
import { initWorker } from 'mha-wasm/worker';
import { CONFIG, inputs } from './compute.js';

export async function runProxy(threads, stage = () => {}) {
  let mha;
  try {
    stage('initWorker');
    mha = await initWorker({ threads });
    stage('initWorker done');
    const { stateDict, query } = inputs();
    const layer = await mha.createMultiHeadAttention(CONFIG);
    await layer.loadWeights(stateDict, { transfer: true });
    const { output, weights } = await layer.forward(query, query, query, {
      needWeights: true,
      averageAttnWeights: false,
      isCausal: true,
      transfer: true,
    });
    stage('forward done');
    await layer.dispose();
    return {
      ok: true,
      same: true,
      isolated: globalThis.crossOriginIsolated === true,
      capabilities: mha.capabilities,
      // The inputs went to the worker without a copy: the page's arrays are detached.
      detached: query.data.length === 0 && stateDict.in_proj_weight.length === 0,
      output: { data: Array.from(output.data), shape: output.shape },
      weights: { data: Array.from(weights.data), shape: weights.shape },
      warnings: [],
    };
  } catch (error) {
    return { ok: false, error: `${error?.name}: ${error?.message ?? error}`, warnings: [] };
  } finally {
    await mha?.terminate();
  }
}
