// What `await init()` resolves to: the functions of the package bound to one
// instantiated WebAssembly module.
import { readBoolean, readMask, readOptions, readTensor, describe, throwIfError } from './arguments.mjs';
import { attendHeadByHead, wantsHeadByHead } from './head_by_head.mjs';
import { heapMask, heapTensor, withHeapCopies } from './heap.mjs';
import { MultiHeadAttention, readLayerOptions } from './multi_head_attention.mjs';
import { readOut, takeResult } from './results.mjs';
import { parseSafetensors } from './safetensors.mjs';

export const VERSION = '__MHA_VERSION__';
const SDPA_OPTIONS = ['attnMask', 'isCausal', 'scale', 'needWeights', 'out'];

export function createApi(Module) {
  const capabilities = Object.freeze({
    simd: true,
    // Threads computing each call (1 with the single-threaded build).
    threads: Module.threadCount(),
    version: VERSION,
    // The xsimd backend compiled into the .wasm ("sse2", lowered to SIMD128).
    simdArchitecture: Module.simdArchitecture(),
  });

  function scaledDotProductAttention(query, key, value, options) {
    const o = readOptions(options, SDPA_OPTIONS, 'scaledDotProductAttention options');
    const tensors = { query: readTensor(query, 'query'), key: readTensor(key, 'key'), value: readTensor(value, 'value') };
    const attnMask = readMask(o.attnMask, 'attnMask');
    if (o.scale !== undefined && typeof o.scale !== 'number') {
      throw new TypeError(`scale: expected a number, got ${describe(o.scale)}`);
    }
    // The kernels compute in float32: 1e39 is finite here but not there.
    if (o.scale !== undefined && !Number.isFinite(Math.fround(o.scale))) {
      throw new RangeError(`scale: expected a finite float32 number, got ${describe(o.scale)}`);
    }
    const flags = {
      isCausal: readBoolean(o.isCausal, 'isCausal', false),
      needWeights: readBoolean(o.needWeights, 'needWeights', false),
      scale: o.scale,
    };
    const out = readOut(o.out, flags.needWeights);
    const callArguments = (pointerOf, t, mask) => ({
      query: heapTensor(pointerOf, t.query),
      key: heapTensor(pointerOf, t.key),
      value: heapTensor(pointerOf, t.value),
      attnMask: heapMask(pointerOf, mask),
      ...flags,
    });
    const attendOne = (t, mask) => {
      const inputs = Object.entries({ ...t, attnMask: mask }).filter(([, x]) => x !== undefined).map(([name, x]) => ({ name, data: x.data }));
      const result = withHeapCopies(Module, inputs, (pointerOf) => Module.scaledDotProductAttention(callArguments(pointerOf, t, mask)));
      return throwIfError(result, 'scaledDotProductAttention');
    };
    if (wantsHeadByHead(tensors, attnMask, flags.needWeights)) {
      // Checked whole first, so errors name the caller's shapes; no data is read.
      throwIfError(Module.checkScaledDotProductAttention(callArguments(() => 0, tensors, attnMask)), 'scaledDotProductAttention');
      return attendHeadByHead(tensors, attnMask, attendOne, out.output);
    }
    const result = attendOne(tensors, attnMask);
    return {
      output: takeResult(result.output, result.outputShape, out.output, 'scaledDotProductAttention: out.output'),
      weights: takeResult(result.weights, result.weightsShape, out.weights, 'scaledDotProductAttention: out.weights'),
    };
  }

  function createMultiHeadAttention(options) {
    return new MultiHeadAttention(Module, readLayerOptions(options));
  }

  return Object.freeze({
    capabilities,
    scaledDotProductAttention,
    createMultiHeadAttention,
    parseSafetensors,
    /** Bytes in the WebAssembly heap right now (it only grows); for leak checks. */
    get heapBytes() {
      return Module.HEAPU8.length;
    },
  });
}
