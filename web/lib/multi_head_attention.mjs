// The public layer class: PyTorch's nn.MultiheadAttention in eval mode.
// It owns one C++ object in the WebAssembly heap; dispose() frees it.
import { describe, readBoolean, readCausalAlignment, readMask, readOptions, readPositiveInteger, readTensor, throwIfError } from './arguments.mjs';
import { KVCache } from './kv_cache.mjs';
import { readOut } from './results.mjs';
import { CORE, OwnedCore } from './weights.mjs';

const LAYER_OPTIONS = ['embedDim', 'numHeads', 'kdim', 'vdim', 'bias', 'addBiasKV', 'addZeroAttn', 'batchFirst', 'dropout'];
const FORWARD_OPTIONS = ['keyPaddingMask', 'attnMask', 'needWeights', 'averageAttnWeights', 'isCausal', 'causalAlignment', 'out', 'cache'];
const CACHE_OPTIONS = ['batchSize', 'maxLength'];

export function readLayerOptions(options) {
  if (options === undefined || options === null) {
    throw new TypeError('createMultiHeadAttention: expected an options object with embedDim and numHeads, got ' + describe(options));
  }
  const o = readOptions(options, LAYER_OPTIONS, 'createMultiHeadAttention');
  const embedDim = readPositiveInteger(o.embedDim, 'embedDim');
  const config = {
    embedDim,
    numHeads: readPositiveInteger(o.numHeads, 'numHeads'),
    kdim: o.kdim === undefined || o.kdim === null ? embedDim : readPositiveInteger(o.kdim, 'kdim'),
    vdim: o.vdim === undefined || o.vdim === null ? embedDim : readPositiveInteger(o.vdim, 'vdim'),
    bias: readBoolean(o.bias, 'bias', true),
    addBiasKV: readBoolean(o.addBiasKV, 'addBiasKV', false),
    addZeroAttn: readBoolean(o.addZeroAttn, 'addZeroAttn', false),
    batchFirst: readBoolean(o.batchFirst, 'batchFirst', false),
  };
  // Accepted so PyTorch configs can be passed as they are; this library only does inference.
  if (o.dropout !== undefined && o.dropout !== 0) {
    throw new RangeError(`dropout: expected 0 (mha-wasm runs inference only, without dropout), got ${describe(o.dropout)}`);
  }
  return config;
}

export class MultiHeadAttention extends OwnedCore {
  #caller;
  #config;
  #calls;

  /** @internal Use `mha.createMultiHeadAttention(options)`. */
  constructor(module, caller, config) {
    throwIfError(module.checkConfig(config), 'createMultiHeadAttention');
    const core = new module.MultiHeadAttentionCore(config);
    super(module, core, 'MultiHeadAttention');
    this.#caller = caller;
    this.#config = Object.freeze({ ...config });
    this.#calls = { plan: (address) => core.plan(address), run: () => core.run(), release: () => core.releaseCallMemory() };
  }

  get config() {
    return this.#config;
  }

  get embedDim() {
    return this.#config.embedDim;
  }

  get numHeads() {
    return this.#config.numHeads;
  }

  get headDim() {
    return this.#config.embedDim / this.#config.numHeads;
  }

  /**
   * A KVCache for this layer's projected keys and values ({ batchSize, maxLength }):
   * pass it as `cache` to forward() with the new tokens only.
   */
  createCache(options) {
    const core = this[CORE]('createCache');
    const { batchSize, maxLength } = readCacheOptions(options);
    const config = { batchSize, numHeads: this.#config.numHeads, headDim: this.headDim, valueDim: this.headDim, maxLength };
    return new KVCache(core.createCache(batchSize, maxLength), config, 'createCache');
  }

  forward(query, key, value, options) {
    this[CORE]('forward');
    const o = readOptions(options, FORWARD_OPTIONS, 'forward options');
    const inputs = [
      readTensor(query, 'query'),
      readTensor(key, 'key'),
      readTensor(value, 'value'),
      readMask(o.attnMask, 'attnMask'),
      readMask(o.keyPaddingMask, 'keyPaddingMask'),
    ];
    const flags = {
      needWeights: readBoolean(o.needWeights, 'needWeights', true),
      averageAttnWeights: readBoolean(o.averageAttnWeights, 'averageAttnWeights', true),
      isCausal: readBoolean(o.isCausal, 'isCausal', false),
      causalAlignment: readCausalAlignment(o.causalAlignment),
      cache: KVCache.addressOf(o.cache, 'forward'),
    };
    return this.#caller.call('forward', this.#calls, inputs, flags, readOut(o.out));
  }
}

/** layer.createCache options: { batchSize, maxLength }. */
export function readCacheOptions(options) {
  if (options === undefined || options === null) {
    throw new TypeError(`createCache: expected an options object with batchSize and maxLength, got ${describe(options)}`);
  }
  const o = readOptions(options, CACHE_OPTIONS, 'createCache');
  return { batchSize: readPositiveInteger(o.batchSize, 'batchSize'), maxLength: readPositiveInteger(o.maxLength, 'maxLength') };
}
