// What the two sides of mha-wasm/worker agree on: the calls a proxy may make,
// and the markers that stand in the messages for what structured clone
// cannot carry (a worker-side object, an `out` array, a detached array).
//
// Host -> worker: { id, target, method, args }   (target 0 is the module)
//                 { id, method: 'init', options }
//                 { release: target }           (a proxy was garbage-collected)
// Worker -> host: { id, ok: true, value, caches } | { id, ok: false, error: { name, message, code }, caches }
//   value: the result, or { [HANDLE]: id, kind, info } for a new object, or
//   { [SELF]: true } when a method returned its own object (loadWeights, truncate, reset).
//   caches: [[id, disposed, length, byteLength], ...] for every KVCache the call involved.
//                 { [POOL_WORKER]: 'creating' | 'created' }   (browsers: around each
//                 `new Worker()` of the thread pool, see worker_client.mjs)
import { isDetachedBuffer } from './arguments.mjs';

/** A worker-side object (layer, linear, cache) by id. */
export const HANDLE = '__mhaWorkerHandle';
/** An `out` array: the worker writes into a new array of this length; the host copies it into the caller's. */
export const OUT_LENGTH = '__mhaWorkerOutLength';
/** A typed array whose buffer was detached (transferred) before the call: rebuilt as one in the worker. */
export const DETACHED = '__mhaWorkerDetached';
/** init's locateFile, answered on the main thread: { [file]: { value } | { error } }. */
export const LOCATED = '__mhaWorkerLocated';
/** The files init may ask locateFile for. */
export const LOCATABLE_FILES = ['mha.wasm', 'mha-mt.wasm', 'mha-mt.worker.mjs', 'mha-nosimd.wasm'];
/** The call returned the object it was made on. */
export const SELF = '__mhaWorkerSelf';
/** The worker is about to create, or has created, one of its thread pool's workers. */
export const POOL_WORKER = '__mhaWorkerPoolWorker';

// Per kind of object, the methods a proxy can call. `options`: the index of
// the call's options argument (where `transfer` and `out` are read);
// `creates`: the kind of object the method returns; `own`: the options are the
// proxy's own (only `transfer`) and are not passed on.
export const METHODS = {
  module: {
    scaledDotProductAttention: { options: 3, out: true },
    applyRotaryEmbedding: { options: 1 },
    parseSafetensors: { options: 1, own: true },
    createKVCache: { creates: 'KVCache' },
    createMultiHeadAttention: { creates: 'MultiHeadAttention' },
    createSelfAttention: { creates: 'SelfAttention' },
    createLinear: { creates: 'Linear' },
    memory: {},
  },
  MultiHeadAttention: {
    loadWeights: { options: 1 },
    forward: { options: 3, out: true },
    createCache: { creates: 'KVCache' },
    dispose: {},
  },
  SelfAttention: {
    loadWeights: { options: 1 },
    forward: { options: 1, out: true },
    createCache: { creates: 'KVCache' },
    dispose: {},
  },
  Linear: {
    loadWeights: { options: 1 },
    forward: { options: 1, out: true },
    dispose: {},
  },
  KVCache: {
    truncate: {},
    reset: {},
    dispose: {},
  },
};

// Errors cross as { name, message } and are rebuilt with the same class.
const ERROR_CLASSES = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

export function encodeError(error) {
  if (error instanceof Error || (error && typeof error === 'object' && typeof error.message === 'string')) {
    return {
      name: String(error.name ?? 'Error'),
      message: String(error.message),
      // Node's system errors (ENOENT for a wasmURL path, say).
      code: typeof error.code === 'string' ? error.code : undefined,
    };
  }
  return { name: 'Error', message: String(error) };
}

export function decodeError({ name, message, code }) {
  const wasm = typeof WebAssembly === 'object' && ['CompileError', 'LinkError', 'RuntimeError'].includes(name) ? WebAssembly[name] : undefined;
  const ErrorClass = ERROR_CLASSES[name] ?? wasm ?? Error;
  const error = new ErrorClass(message);
  // Another kind (a DOMException's DataCloneError, say): an Error that keeps the name.
  if (error.name !== name) error.name = name;
  if (code !== undefined) error.code = code;
  return error;
}

const toStringTag = (value) => Object.prototype.toString.call(value).slice(8, -1);
export const isArrayBuffer = (value) => toStringTag(value) === 'ArrayBuffer';
export const isPlainObject = (value) => {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null || toStringTag(value) === 'Object';
};

/** Every ArrayBuffer under the typed arrays of `value` (a few levels of plain objects and Maps), once each. */
export function collectBuffers(value, into = new Set(), depth = 0) {
  if (value === null || typeof value !== 'object') return into;
  if (ArrayBuffer.isView(value)) {
    if (isArrayBuffer(value.buffer) && !isDetachedBuffer(value.buffer)) into.add(value.buffer);
  } else if (isArrayBuffer(value)) {
    if (!isDetachedBuffer(value)) into.add(value);
  } else if (depth < 4) {
    const values = value instanceof Map ? value.values() : Array.isArray(value) ? [] : isPlainObject(value) ? Object.values(value) : [];
    for (const item of values) collectBuffers(item, into, depth + 1);
  }
  return into;
}
