// A key/value cache in WebAssembly memory: the keys and values of earlier
// tokens, stored packed as the attention kernels read them, so a decoding
// step appends its new token and attends without copying the past in again.
//
// Made by mha.createKVCache() for scaledDotProductAttention, or by
// layer.createCache() for that layer's forward. It owns its memory until
// dispose().
import { describe, readNonNegativeInteger, throwIfError } from './arguments.mjs';
import { forget, freeWhenDropped } from './weights.mjs';

export class KVCache {
  #core;
  #config;
  #address;

  /** @internal Use `mha.createKVCache(options)` or `layer.createCache(options)`. */
  constructor(core, config, context) {
    const allocated = core.allocate();
    if (allocated !== null) {
      core.delete();
      throwIfError(allocated, context);
    }
    this.#core = core;
    this.#config = Object.freeze({ ...config });
    this.#address = core.address();
    freeWhenDropped(this, core, 'KVCache');
  }

  /** { batchSize, numHeads, headDim, valueDim, maxLength } (numHeads = key/value heads). */
  get config() {
    return this.#config;
  }

  /** Tokens cached so far. */
  get length() {
    return this.#alive('length').length();
  }

  get maxLength() {
    return this.#config.maxLength;
  }

  /** Bytes of WebAssembly memory the cache holds. */
  get byteLength() {
    return this.#alive('byteLength').bytes();
  }

  get disposed() {
    return this.#core === null;
  }

  /** Keeps the first `length` tokens (a RangeError beyond the current length). */
  truncate(length) {
    const core = this.#alive('truncate');
    throwIfError(core.truncate(readNonNegativeInteger(length, 'length')), 'truncate');
    return this;
  }

  /** Empties the cache (its memory stays reserved). */
  reset() {
    this.#alive('reset').reset();
    return this;
  }

  /** Frees the cache's WebAssembly memory. Later use throws; a second dispose() does nothing. */
  dispose() {
    if (this.#core !== null) {
      forget(this);
      this.#core.delete();
      this.#core = null;
    }
  }

  /** @internal The C++ object's address, for the call record. */
  static addressOf(cache, context) {
    if (cache === undefined || cache === null) return 0;
    if (typeof cache !== 'object' || !(#core in cache)) {
      throw new TypeError(`${context}: cache: expected a KVCache from createKVCache() or layer.createCache(), got ${describe(cache)}`);
    }
    if (cache.#core === null) throw new Error(`${context}: cache: this KVCache was disposed; create a new one`);
    return cache.#address;
  }

  #alive(method) {
    if (this.#core === null) {
      throw new Error(`${method}: this KVCache was disposed; create a new one`);
    }
    return this.#core;
  }
}
