// The public layer class: PyTorch's nn.MultiheadAttention in eval mode.
// It owns one C++ object in the WebAssembly heap; dispose() frees it.
import {
  describe,
  isTypedArrayOf,
  lengthOf,
  readBoolean,
  readCausalAlignment,
  readMask,
  readOptions,
  readPositiveInteger,
  readShape,
  readTensor,
  throwIfError,
} from './arguments.mjs';
import { KVCache } from './kv_cache.mjs';
import { readOut } from './results.mjs';
import { parseSafetensors } from './safetensors.mjs';

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

const LOAD_OPTIONS = ['prefix'];

function stateDictEntries(stateDict) {
  if (stateDict instanceof ArrayBuffer || isTypedArrayOf(stateDict, 'Uint8Array')) {
    return Object.entries(parseSafetensors(stateDict).tensors);
  }
  if (stateDict instanceof Map) return [...stateDict.entries()];
  if (stateDict && typeof stateDict === 'object' && !ArrayBuffer.isView(stateDict) && !Array.isArray(stateDict)) {
    return Object.entries(stateDict);
  }
  throw new TypeError(
    `stateDict: expected an object (or Map) of PyTorch state_dict names to Float32Array, or the bytes of a .safetensors file, got ${describe(stateDict)}`,
  );
}

function readStateDict(stateDict, options) {
  const { prefix = '' } = readOptions(options, LOAD_OPTIONS, 'loadWeights options');
  if (typeof prefix !== 'string') throw new TypeError(`prefix: expected a string, got ${describe(prefix)}`);
  // With a prefix ('layers.0.attn.'), only that sub-module's keys are taken, as
  // PyTorch's load_state_dict does for a child module.
  const entries = stateDictEntries(stateDict)
    .filter(([name]) => name.startsWith(prefix))
    .map(([name, value]) => [name.slice(prefix.length), value]);
  return entries.map(([name, value]) => {
    if (isTypedArrayOf(value, 'Float32Array')) return { name, data: value, shape: [] };
    if (value && typeof value === 'object' && isTypedArrayOf(value.data, 'Float32Array')) {
      return { name, data: value.data, shape: readShape(value.shape, `stateDict['${name}'].shape`) };
    }
    throw new TypeError(`stateDict['${name}']: expected a Float32Array or { data: Float32Array, shape }, got ${describe(value)}`);
  });
}

export class MultiHeadAttention {
  #module;
  #caller;
  #core;
  #config;
  #calls;

  /** @internal Use `mha.createMultiHeadAttention(options)`. */
  constructor(module, caller, config) {
    this.#module = module;
    this.#caller = caller;
    this.#config = Object.freeze({ ...config });
    throwIfError(module.checkConfig(config), 'createMultiHeadAttention');
    const core = new module.MultiHeadAttentionCore(config);
    this.#core = core;
    this.#calls = { plan: (address) => core.plan(address), run: () => core.run() };
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

  get disposed() {
    return this.#core === null;
  }

  /** The state_dict names this layer expects, with PyTorch's shapes. */
  get expectedWeights() {
    return this.#alive('expectedWeights').expectedWeights();
  }

  loadWeights(stateDict, options) {
    const core = this.#alive('loadWeights');
    const weights = readStateDict(stateDict, options);
    // Staged in one block the layer reserves (growing the heap first), then
    // packed by C++; the block is reused by later loads.
    const align = (bytes) => Math.ceil(bytes / 16) * 16;
    const total = weights.reduce((sum, w) => sum + align(lengthOf(w.data) * 4), 0);
    const base = core.stagingArea(total);
    if (base === 0) throw new RangeError(`loadWeights: could not allocate ${total} bytes in the WebAssembly heap to copy the weights in (out of memory)`);
    let offset = base;
    const list = weights.map((w) => {
      const length = lengthOf(w.data);
      this.#module.HEAPF32.set(w.data, offset >> 2);
      const entry = { name: w.name, ptr: offset, length, shape: w.shape };
      offset += align(length * 4);
      return entry;
    });
    throwIfError(core.loadWeights(list), 'loadWeights');
    return this;
  }

  /**
   * A KVCache for this layer's projected keys and values ({ batchSize, maxLength }):
   * pass it as `cache` to forward() with the new tokens only.
   */
  createCache(options) {
    const core = this.#alive('createCache');
    if (options === undefined || options === null) {
      throw new TypeError(`createCache: expected an options object with batchSize and maxLength, got ${describe(options)}`);
    }
    const o = readOptions(options, CACHE_OPTIONS, 'createCache');
    const batchSize = readPositiveInteger(o.batchSize, 'batchSize');
    const maxLength = readPositiveInteger(o.maxLength, 'maxLength');
    const { numHeads } = this.#config;
    const config = { batchSize, numHeads, headDim: this.headDim, valueDim: this.headDim, maxLength };
    return new KVCache(core.createCache(batchSize, maxLength), config, 'createCache');
  }

  forward(query, key, value, options) {
    this.#alive('forward');
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

  /** Frees the layer's WebAssembly memory. Later calls throw; a second dispose() does nothing. */
  dispose() {
    if (this.#core !== null) {
      this.#core.delete();
      this.#core = null;
    }
  }

  #alive(method) {
    if (this.#core === null) {
      throw new Error(`${method}: this MultiHeadAttention was disposed; create a new one with createMultiHeadAttention()`);
    }
    return this.#core;
  }
}
