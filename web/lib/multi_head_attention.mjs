// The public layer class: PyTorch's nn.MultiheadAttention in eval mode.
// It owns one C++ object in the WebAssembly heap; dispose() frees it.
import { describe, isTypedArrayOf, readBoolean, readMask, readOptions, readPositiveInteger, readShape, readTensor, throwIfError } from './arguments.mjs';
import { heapMask, heapTensor, withHeapCopies } from './heap.mjs';
import { readOut, takeResult } from './results.mjs';
import { parseSafetensors } from './safetensors.mjs';

const LAYER_OPTIONS = ['embedDim', 'numHeads', 'kdim', 'vdim', 'bias', 'addBiasKV', 'addZeroAttn', 'batchFirst', 'dropout'];
const FORWARD_OPTIONS = ['keyPaddingMask', 'attnMask', 'needWeights', 'averageAttnWeights', 'isCausal', 'out'];

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
  #core;
  #config;

  /** @internal Use `mha.createMultiHeadAttention(options)`. */
  constructor(module, config) {
    this.#module = module;
    this.#config = Object.freeze({ ...config });
    throwIfError(module.checkConfig(config), 'createMultiHeadAttention');
    this.#core = new module.MultiHeadAttentionCore(config);
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
    withHeapCopies(this.#module, weights, (pointerOf) => {
      const list = weights.map((w) => ({ name: w.name, ...heapTensor(pointerOf, w) }));
      throwIfError(core.loadWeights(list), 'loadWeights');
    });
    return this;
  }

  forward(query, key, value, options) {
    const core = this.#alive('forward');
    const o = readOptions(options, FORWARD_OPTIONS, 'forward options');
    const tensors = {
      query: readTensor(query, 'query'),
      key: readTensor(key, 'key'),
      value: readTensor(value, 'value'),
    };
    const masks = {
      keyPaddingMask: readMask(o.keyPaddingMask, 'keyPaddingMask'),
      attnMask: readMask(o.attnMask, 'attnMask'),
    };
    const flags = {
      needWeights: readBoolean(o.needWeights, 'needWeights', true),
      averageAttnWeights: readBoolean(o.averageAttnWeights, 'averageAttnWeights', true),
      isCausal: readBoolean(o.isCausal, 'isCausal', false),
    };
    const out = readOut(o.out, flags.needWeights);
    const inputs = [...Object.entries(tensors), ...Object.entries(masks)].filter(([, t]) => t !== undefined).map(([name, t]) => ({ name, data: t.data }));
    const result = withHeapCopies(this.#module, inputs, (pointerOf) =>
      core.forward({
        query: heapTensor(pointerOf, tensors.query),
        key: heapTensor(pointerOf, tensors.key),
        value: heapTensor(pointerOf, tensors.value),
        keyPaddingMask: heapMask(pointerOf, masks.keyPaddingMask),
        attnMask: heapMask(pointerOf, masks.attnMask),
        ...flags,
      }),
    );
    throwIfError(result, 'forward');
    return {
      output: takeResult(result.output, result.outputShape, out.output, 'forward: out.output'),
      weights: takeResult(result.weights, result.weightsShape, out.weights, 'forward: out.weights'),
    };
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
