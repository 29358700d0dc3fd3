// Compiled with `tsc --noEmit` (scripts/test.sh): the public types must
// accept the documented usage and reject obvious misuse.
import { init, type Tensor, type MhaModule, type ResultTensor, type MultiHeadAttention, type KVCache, type SelfAttention, type Linear } from 'mha-wasm';
import * as entry from 'mha-wasm';

async function main(): Promise<void> {
  const mha: MhaModule = await init({ wasmURL: 'file:///tmp/mha.wasm' });
  const x: Tensor = { data: new Float32Array(4 * 8), shape: [4, 8] };
  const layer = mha.createMultiHeadAttention({ embedDim: 8, numHeads: 2, batchFirst: false });
  layer.loadWeights({ in_proj_weight: new Float32Array(3 * 64), 'out_proj.weight': { data: new Float32Array(64), shape: [8, 8] } });
  const { output, weights } = layer.forward(x, x, x, {
    keyPaddingMask: { data: new Uint8Array(4), shape: [4] },
    attnMask: { data: new Float32Array(16), shape: [4, 4] },
    needWeights: true,
    averageAttnWeights: false,
    isCausal: true,
  });
  const first: number = output.data[0];
  const shape: number[] | undefined = weights?.shape;
  const sdpa = mha.scaledDotProductAttention(x, x, x, { scale: 0.5, needWeights: false });
  const version: string = mha.capabilities.version + sdpa.output.shape.length + first + (shape?.length ?? 0);
  layer.dispose();
  // @ts-expect-error embedDim is required
  mha.createMultiHeadAttention({ numHeads: 2 });
  // @ts-expect-error masks take typed arrays, not plain arrays
  layer.forward(x, x, x, { attnMask: { data: [0, 1], shape: [2] } });
  // @ts-expect-error unknown option
  layer.forward(x, x, x, { needweights: true });
  const reused = { output: new Float32Array(32), weights: new Float32Array(64) };
  layer.forward(x, x, x, { out: reused });
  mha.scaledDotProductAttention(x, x, x, { out: { output: reused.output } });
  // @ts-expect-error out arrays are Float32Array
  mha.scaledDotProductAttention(x, x, x, { out: { output: new Float64Array(32) } });
  const threaded = await init({ threads: 2 });
  const threadCount: number = threaded.capabilities.threads;
  // @ts-expect-error threads is a number
  await init({ threads: true });
  const cache = mha.createKVCache({ batchSize: 1, numHeads: 2, headDim: 4, maxLength: 16 });
  const step = mha.scaledDotProductAttention(x, x, x, { cache, isCausal: true, causalAlignment: 'bottom-right' });
  const cached: number = cache.length + cache.maxLength + cache.config.valueDim + step.output.shape.length;
  cache.truncate(0).reset().dispose();
  const layerCache = layer.createCache({ batchSize: 1, maxLength: 32 });
  layer.forward(x, x, x, { cache: layerCache, isCausal: true });
  layerCache.dispose();
  // @ts-expect-error causalAlignment is one of two strings
  mha.scaledDotProductAttention(x, x, x, { isCausal: true, causalAlignment: 'diagonal' });
  // @ts-expect-error maxLength is required
  mha.createKVCache({ batchSize: 1, numHeads: 2, headDim: 4 });
  const llama = mha.createSelfAttention({ embedDim: 8, numHeads: 2, numKVHeads: 1, rotary: { base: 500000 }, window: 4 });
  const llamaCache = llama.createCache({ batchSize: 1, maxLength: 8 });
  const decoded: number[] = llama.forward({ data: new Float32Array(8), shape: [1, 1, 8] }, { cache: llamaCache }).output.shape;
  mha.scaledDotProductAttention(x, x, x, { alibi: new Float32Array(2), softcap: 30, rotary: true });
  const rotated = mha.applyRotaryEmbedding(x, { interleaved: true, positionOffset: 3 });
  const mlp = mha.createLinear({ inFeatures: 8, outFeatures: 32 });
  mlp.loadWeights({ weight: new Float32Array(256), bias: new Float32Array(32) });
  const hidden: Float32Array = mlp.forward(x, { out: { output: new Float32Array(128) } }).output.data;
  // @ts-expect-error alibi slopes are a Float32Array
  mha.scaledDotProductAttention(x, x, x, { alibi: [1, 2] });
  // @ts-expect-error createSelfAttention needs numHeads
  mha.createSelfAttention({ embedDim: 8 });
  void decoded;
  void rotated;
  void hidden;

  // Weights are non-null exactly when requested: forward defaults to needWeights: true,
  // scaledDotProductAttention to false.
  const withWeights = layer.forward(x, x, x);
  const weightRows: number = withWeights.weights.shape[0];
  const withoutWeights = layer.forward(x, x, x, { needWeights: false });
  const noWeights: null = withoutWeights.weights;
  const sdpaPlain = mha.scaledDotProductAttention(x, x, x);
  const sdpaNoWeights: null = sdpaPlain.weights;
  const sdpaWeights: ResultTensor = mha.scaledDotProductAttention(x, x, x, { needWeights: true }).weights;
  const askWeights = Math.random() > 0.5;
  const maybe = mha.scaledDotProductAttention(x, x, x, { needWeights: askWeights });
  // @ts-expect-error weights may be null when needWeights is only known at run time
  void maybe.weights.data;
  void maybe.weights?.data;
  // Fresh results live on a plain ArrayBuffer (TypeScript >= 5.7 tells the two apart).
  const blob = new Blob([withWeights.output.data, sdpaWeights.data]);
  const plainBuffer: ArrayBuffer = sdpaPlain.output.data.buffer;
  // With out arrays, the results are those arrays, of their own type.
  const sharedOut = new Float32Array(new SharedArrayBuffer(32 * 4));
  const intoShared = layer.forward(x, x, x, { out: { output: sharedOut }, needWeights: false });
  const sharedData: Float32Array<SharedArrayBuffer> = intoShared.output.data;
  // @ts-expect-error a result written into a SharedArrayBuffer is not a plain ArrayBuffer
  const notPlain: ArrayBuffer = intoShared.output.data.buffer;
  // @ts-expect-error out arrays must be Float32Array
  layer.forward(x, x, x, { out: { weights: new Uint8Array(4) } });
  // Classes are nameable as types, but are not exported at run time.
  const typedLayer: MultiHeadAttention = mha.createMultiHeadAttention({ embedDim: 8, numHeads: 2 });
  const typedCache: KVCache = typedLayer.createCache({ batchSize: 1, maxLength: 4 });
  // @ts-expect-error MultiHeadAttention is a type-only export
  void entry.MultiHeadAttention;
  // @ts-expect-error KVCache is a type-only export
  void entry.KVCache;
  // @ts-expect-error SelfAttention is a type-only export
  void entry.SelfAttention;
  // @ts-expect-error Linear is a type-only export
  void entry.Linear;
  const typedSelf: SelfAttention = mha.createSelfAttention({ embedDim: 8, numHeads: 2 });
  const typedLinear: Linear = mha.createLinear({ inFeatures: 8, outFeatures: 4 });
  // SelfAttention returns weights only when asked; Linear never.
  const selfNoWeights: null = typedSelf.forward(x).weights;
  const selfWeights: ResultTensor = typedSelf.forward(x, { needWeights: true }).weights;
  const linearNoWeights: null = typedLinear.forward(x).weights;
  const rotatedOwn: ArrayBuffer = mha.applyRotaryEmbedding(x).data.buffer;
  const runtimeNames: Array<keyof typeof entry> = ['init', 'VERSION', 'parseSafetensors'];
  // The URLs of the files can be given as strings or URL objects.
  await init({ wasmURL: new URL('https://example.com/mha.wasm'), workerURL: 'https://example.com/mha-mt.worker.mjs' });
  await init({ locateFile: (file) => `/assets/${file}` });
  // @ts-expect-error locateFile is called with one of the package's file names
  await init({ locateFile: (file: 'other.wasm') => file });
  void [version, threadCount, cached, weightRows, noWeights, sdpaNoWeights, blob, plainBuffer, sharedData, notPlain, typedCache, runtimeNames, selfNoWeights, selfWeights, linearNoWeights, rotatedOwn];
}
void main;
