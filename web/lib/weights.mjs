// Layers that own one C++ object, and how their weights get in.
//
// loadWeights takes a PyTorch-style state_dict (object or Map of name ->
// Float32Array | { data, shape }) or the bytes of a .safetensors file, with
// an optional `prefix` to take one sub-module's keys. The arrays are staged
// in one block the layer reserves (growing the heap first), then checked and
// packed by C++, all or nothing.
import { describe, isTypedArrayOf, lengthOf, readOptions, readShape, throwIfError } from './arguments.mjs';
import { parseSafetensors } from './safetensors.mjs';

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

export function readStateDict(stateDict, options) {
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

/** Used by the layer classes only (not part of the public API). */
export const CORE = Symbol('mha-wasm core');

// A backstop, not the way to free memory: an object dropped without
// dispose() has its C++ side freed when the garbage collector gets to it
// (which may be never), and the first time that happens a warning says so.
let warnedAboutLeak = false;
const dropped = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry(({ core, name }) => {
    core.delete();
    if (!warnedAboutLeak) {
      warnedAboutLeak = true;
      console.warn(`mha-wasm: a ${name} was garbage-collected without dispose(); its WebAssembly memory was freed then. Call dispose() when done with layers and caches.`);
    }
  })
  : null;

/** Frees `core` when `owner` is collected, unless forget(owner) came first. */
export function freeWhenDropped(owner, core, name) {
  dropped?.register(owner, { core, name }, owner);
}

export function forget(owner) {
  dropped?.unregister(owner);
}

/**
 * Base of the classes that own one C++ object: dispose() frees it, and every
 * method first asks for it with this[CORE](method), which throws once disposed.
 */
export class OwnedCore {
  #module;
  #core;
  #name;

  constructor(module, core, name) {
    this.#module = module;
    this.#core = core;
    this.#name = name;
    freeWhenDropped(this, core, name);
  }

  get disposed() {
    return this.#core === null;
  }

  /** The state_dict names this layer expects, with PyTorch's shapes. */
  get expectedWeights() {
    return this[CORE]('expectedWeights').expectedWeights();
  }

  /** Copies the weights in, all or nothing (see web/lib/weights.mjs). Returns `this`. */
  loadWeights(stateDict, options) {
    const core = this[CORE]('loadWeights');
    const weights = readStateDict(stateDict, options);
    const align = (bytes) => Math.ceil(bytes / 16) * 16;
    const total = weights.reduce((sum, w) => sum + align(lengthOf(w.data) * 4), 0);
    // Nothing to stage (say, a prefix that matched no key): C++ names what is missing.
    const base = total === 0 ? 0 : core.stagingArea(total);
    if (total > 0 && base === 0) throw new RangeError(`loadWeights: could not allocate ${total} bytes in the WebAssembly heap to copy the weights in (out of memory)`);
    let offset = base;
    const list = weights.map((w) => {
      const length = lengthOf(w.data);
      this.#module.HEAPF32.set(w.data, offset >>> 2);
      const entry = { name: w.name, ptr: offset, length, shape: w.shape };
      offset += align(length * 4);
      return entry;
    });
    const result = core.loadWeights(list);
    // The staged copy is not needed once packed: a model's layers would hold it twice.
    core.releaseCallMemory();
    throwIfError(result, 'loadWeights');
    return this;
  }

  /** Frees the WebAssembly memory of this object. Later calls throw; a second dispose() does nothing. */
  dispose() {
    if (this.#core !== null) {
      forget(this);
      this.#core.delete();
      this.#core = null;
    }
  }

  [CORE](method) {
    if (this.#core === null) throw new Error(`${method}: this ${this.#name} was disposed; create a new one`);
    return this.#core;
  }
}
