// What `await init()` resolves to: the functions of the package bound to one
// instantiated WebAssembly module.
import { describe, readBoolean, readCausalAlignment, readMask, readOptions, readPositiveInteger, readTensor } from './arguments.mjs';
import { createCaller } from './call.mjs';
import { KVCache } from './kv_cache.mjs';
import { Linear, readLinearOptions } from './linear.mjs';
import { MultiHeadAttention, readLayerOptions } from './multi_head_attention.mjs';
import { readPositional, readRotary } from './positional.mjs';
import { readSelfAttentionOptions, SelfAttention } from './self_attention.mjs';
import { readOut } from './results.mjs';
import { parseSafetensors } from './safetensors.mjs';

export const VERSION = '__MHA_VERSION__';
const SDPA_OPTIONS = ['attnMask', 'isCausal', 'causalAlignment', 'scale', 'needWeights', 'out', 'cache', 'rotary', 'alibi', 'window', 'softcap'];
const CACHE_OPTIONS = ['batchSize', 'numHeads', 'headDim', 'valueDim', 'maxLength'];

export function createApi(Module) {
  const capabilities = Object.freeze({
    // False in the build without SIMD (engines that lack it, or init({ simd: false })).
    simd: Module.simdArchitecture() !== 'scalar',
    // Threads computing each call (1 with the single-threaded build).
    threads: Module.threadCount(),
    version: VERSION,
    // The kernels' architecture: "sse2" (xsimd's SSE2 backend lowered to SIMD128) or "scalar".
    simdArchitecture: Module.simdArchitecture(),
  });
  const caller = createCaller(Module);
  // One op serves every scaledDotProductAttention call; its memory is reused.
  const attentionCore = new Module.AttentionCore();
  const attention = {
    plan: (address) => attentionCore.plan(address),
    stage: (address, step) => attentionCore.stage(address, step),
    run: (step) => attentionCore.run(step),
    release: () => attentionCore.release(),
  };

  function scaledDotProductAttention(query, key, value, options) {
    const o = readOptions(options, SDPA_OPTIONS, 'scaledDotProductAttention options');
    const positional = readPositional(o);
    if (positional.rotary?.frequencies) {
      throw new TypeError('rotary.frequencies: an option of createSelfAttention only (scaled RoPE for a whole layer)');
    }
    const inputs = [
      readTensor(query, 'query'),
      readTensor(key, 'key'),
      readTensor(value, 'value'),
      readMask(o.attnMask, 'attnMask'),
      undefined,
      positional.alibi?.slopes,
    ];
    if (o.scale !== undefined && typeof o.scale !== 'number') {
      throw new TypeError(`scale: expected a number, got ${describe(o.scale)}`);
    }
    // The kernels compute in float32: 1e39 is finite here but not there.
    if (o.scale !== undefined && !Number.isFinite(Math.fround(o.scale))) {
      throw new RangeError(`scale: expected a finite float32 number, got ${describe(o.scale)}`);
    }
    const flags = {
      isCausal: readBoolean(o.isCausal, 'isCausal', false),
      causalAlignment: readCausalAlignment(o.causalAlignment),
      needWeights: readBoolean(o.needWeights, 'needWeights', false),
      scale: o.scale,
      cache: KVCache.addressOf(o.cache, 'scaledDotProductAttention'),
      ...positional,
    };
    return caller.call('scaledDotProductAttention', attention, inputs, flags, readOut(o.out));
  }

  function createKVCache(options) {
    if (options === undefined || options === null) {
      throw new TypeError(`createKVCache: expected an options object with batchSize, numHeads, headDim and maxLength, got ${describe(options)}`);
    }
    const o = readOptions(options, CACHE_OPTIONS, 'createKVCache');
    const headDim = readPositiveInteger(o.headDim, 'headDim');
    const config = {
      batchSize: readPositiveInteger(o.batchSize, 'batchSize'),
      numHeads: readPositiveInteger(o.numHeads, 'numHeads'),
      headDim,
      valueDim: o.valueDim === undefined ? headDim : readPositiveInteger(o.valueDim, 'valueDim'),
      maxLength: readPositiveInteger(o.maxLength, 'maxLength'),
    };
    const core = new Module.KVCacheCore(config.batchSize, config.numHeads, config.headDim, config.valueDim, config.maxLength);
    return new KVCache(core, config, 'createKVCache');
  }

  function createMultiHeadAttention(options) {
    return new MultiHeadAttention(Module, caller, readLayerOptions(options));
  }

  function createSelfAttention(options) {
    return new SelfAttention(Module, caller, readSelfAttentionOptions(options));
  }

  function createLinear(options) {
    return new Linear(Module, caller, readLinearOptions(options));
  }

  const rotaryCore = new Module.RotaryCore();
  const rotaryCalls = { plan: (address) => rotaryCore.plan(address), run: () => rotaryCore.run(), release: () => {} };
  /** x (B, H, L, D) rotated at positions positionOffset + l; a new tensor (x is untouched). */
  function applyRotaryEmbedding(x, options) {
    const rotary = readRotary(options ?? {});
    return caller.call('applyRotaryEmbedding', rotaryCalls, [readTensor(x, 'x')], { rotary }, {}).output;
  }

  return Object.freeze({
    capabilities,
    scaledDotProductAttention,
    createKVCache,
    createMultiHeadAttention,
    createSelfAttention,
    createLinear,
    applyRotaryEmbedding,
    parseSafetensors,
    /** Bytes in the WebAssembly heap right now (it only grows); for leak checks. */
    get heapBytes() {
      return Module.HEAPU8.length;
    },
    /**
     * { heapBytes, maxHeapBytes, usedBytes, freeBytes, freeAtTopBytes }: the heap's size now and at
     * most, the bytes malloc has handed out and holds free, and the free block at the top of the
     * heap (available without growing it).
     */
    memory() {
      return Module.memoryStats();
    },
  });
}
