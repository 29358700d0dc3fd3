// The main-thread side of mha-wasm/worker: what initWorker() resolves to.
//
// Every call posts one message to the worker and returns a Promise of its
// result, so the calling thread never waits for a computation. Layers, linear
// layers and caches live in the worker; here they are proxies (their config
// and expected weights are kept here, so reading them needs no round trip).
//
// * Inputs are copied (structured clone) unless the call's options say
//   `transfer: true`: then the ArrayBuffers under its input arrays are
//   transferred, and the caller's arrays are detached.
// * Results come back as transferred ArrayBuffers (free). `out` arrays are
//   filled here, from those results.
// * A cache's `length` and `byteLength` are those after the last settled call
//   that used or changed it (the worker reports them with every reply).
// * Errors are rebuilt with their class (TypeError, RangeError, Error) and message.
//
// The entry points (worker.mjs for browsers, worker_node.mjs / worker_node.cjs
// for Node) create the Worker and pass an endpoint:
//   { post(message, transfer), listen(onMessage, onFailure), terminate(), ref(), unref() }.
import { describe, isDetachedBuffer, lengthOf } from './arguments.mjs';
import { readOut } from './results.mjs';
import {
  collectBuffers,
  decodeError,
  DETACHED,
  HANDLE,
  isPlainObject,
  LOCATABLE_FILES,
  LOCATED,
  METHODS,
  OUT_LENGTH,
  POOL_WORKER,
  SELF,
} from './worker_protocol.mjs';

const OWN_OPTIONS = ['transfer'];

// Proxies dropped without dispose(): the worker forgets them, and the
// library's own backstop frees them there (with its one-time warning).
const dropped =
  typeof FinalizationRegistry === 'function' ? new FinalizationRegistry(({ connection, id }) => connection.release(id)) : null;

class Connection {
  #endpoint;
  #pending = new Map(); // id -> { resolve, reject }
  #nextId = 1;
  #failure = null; // the Error every later call rejects with
  #caches = new Map(); // id -> WeakRef of the cache proxy
  #makeProxy;
  #onPoolWorker = null; // told 'creating' / 'created' (browsers' threads build)

  constructor(endpoint, makeProxy) {
    this.#endpoint = endpoint;
    this.#makeProxy = makeProxy;
    endpoint.listen(
      (message) => this.#receive(message),
      (reason) => this.fail(new Error(`mha-wasm/worker: ${reason}`)),
    );
  }

  /** True once the worker was terminated or stopped. */
  get stopped() {
    return this.#failure !== null;
  }

  /** Posts { ...message, id } with `transfer`; resolves to the reply's value. */
  send(message, transfer = [], context = message.method) {
    if (this.#failure !== null) {
      return Promise.reject(new Error(`${context}: ${this.#failure.message}`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      try {
        this.#endpoint.post({ ...message, id }, transfer);
      } catch (error) {
        // DataCloneError: something in the arguments cannot be posted (a function, say).
        reject(new TypeError(`${context}: cannot send the arguments to the worker: ${error?.message ?? error}`));
        return;
      }
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#endpoint.ref();
    });
  }

  /** Makes a call on `target` (0: the module) and turns the reply into proxies, `this` or data. */
  async call(target, method, args, self) {
    const kind = target === 0 ? 'module' : self[KIND];
    const spec = METHODS[kind][method];
    const { args: encoded, transfer, out } = encodeArgs(this, method, spec, args);
    const value = await this.send({ target, method, args: encoded }, transfer);
    if (value !== null && typeof value === 'object') {
      if (value[SELF] === true) return self;
      if (HANDLE in value) return this.#proxy(value);
    }
    return out ? copyIntoOut(value, out) : value;
  }

  release(id) {
    this.#caches.delete(id);
    if (this.#failure !== null) return;
    try {
      this.#endpoint.post({ release: id }, []);
    } catch {
      // The worker is gone; nothing to release.
    }
  }

  /** Every pending and later call rejects with `error`; the worker is stopped. */
  fail(error) {
    if (this.#failure !== null) return this.#failure;
    this.#failure = error;
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
    return error;
  }

  terminate() {
    this.fail(new Error('mha-wasm/worker: this worker was terminated; call initWorker() again'));
    return Promise.resolve(this.#endpoint.terminate()).then(() => undefined);
  }

  #proxy({ [HANDLE]: id, kind, info }) {
    const proxy = this.#makeProxy(this, id, kind, info);
    // Also after dispose(): the worker keeps a disposed object (for its error
    // messages) until the proxy is gone.
    dropped?.register(proxy, { connection: this, id });
    if (kind === 'KVCache') this.#caches.set(id, new WeakRef(proxy));
    return proxy;
  }

  /** listener('creating' | 'created'), or null. */
  watchPoolWorkers(listener) {
    this.#onPoolWorker = listener;
  }

  #receive(message) {
    if (message?.[POOL_WORKER] !== undefined) {
      this.#onPoolWorker?.(message[POOL_WORKER]);
      return;
    }
    for (const [id, disposed, length, byteLength] of message.caches ?? []) {
      const cache = this.#caches.get(id)?.deref();
      if (cache === undefined) this.#caches.delete(id);
      else cache[UPDATE](disposed, length, byteLength);
    }
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    if (this.#pending.size === 0) this.#endpoint.unref();
    if (message.ok) pending.resolve(message.value);
    else pending.reject(decodeError(message.error));
  }
}

// -- arguments ---------------------------------------------------------------

const isWorkerProxy = (value) => value instanceof WorkerObject;

/** A typed array that has lost its buffer travels as a marker (structured clone refuses it). */
function encodeValue(value, connection, depth = 0) {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) {
    return isDetachedBuffer(value.buffer) ? { [DETACHED]: Object.prototype.toString.call(value).slice(8, -1) } : value;
  }
  if (isWorkerProxy(value)) {
    // A proxy of another worker means nothing here: the library then names what it expected.
    return value[CONNECTION] === connection ? { [HANDLE]: value[ID] } : {};
  }
  if (depth >= 4) return value;
  if (value instanceof Map) return new Map([...value].map(([key, item]) => [key, encodeValue(item, connection, depth + 1)]));
  if (!isPlainObject(value)) return value;
  const encoded = {};
  for (const key of Object.keys(value)) encoded[key] = encodeValue(value[key], connection, depth + 1);
  return encoded;
}

function readTransfer(options, context) {
  if (!isPlainObject(options) || !Object.hasOwn(options, 'transfer')) return false;
  const { transfer } = options;
  if (transfer === undefined) return false;
  if (typeof transfer !== 'boolean') throw new TypeError(`${context}: transfer: expected true or false, got ${describe(transfer)}`);
  return transfer;
}

/**
 * The arguments as posted: `transfer` taken out of the options (the library
 * does not know it), `out` arrays replaced by their lengths, proxies by ids;
 * and the buffers to transfer.
 */
function encodeArgs(connection, method, spec, args) {
  const list = [...args];
  let transfer = false;
  let out = null;
  if (spec.options !== undefined && spec.options < list.length) {
    const options = list[spec.options];
    const context = `${method} options`;
    transfer = readTransfer(options, context);
    if (spec.own) {
      if (options !== undefined && options !== null) {
        if (!isPlainObject(options)) throw new TypeError(`${context}: expected an options object, got ${describe(options)}`);
        for (const key of Object.keys(options)) {
          if (!OWN_OPTIONS.includes(key)) throw new TypeError(`${context}: unknown option ${JSON.stringify(key)}; expected one of ${OWN_OPTIONS.join(', ')}`);
        }
      }
      list.length = spec.options;
    } else if (isPlainObject(options)) {
      const rest = { ...options };
      delete rest.transfer;
      if (spec.out && rest.out !== undefined && rest.out !== null) {
        out = readOut(rest.out);
        rest.out = {};
        for (const key of ['output', 'weights']) if (out[key] !== undefined) rest.out[key] = { [OUT_LENGTH]: lengthOf(out[key]) };
      }
      list[spec.options] = rest;
    }
  }
  const encoded = list.map((arg) => encodeValue(arg, connection));
  if (!transfer) return { args: encoded, transfer: [], out };
  // Shared buffers are shared anyway; the caller's `out` arrays stay here.
  const buffers = new Set();
  for (const arg of list) collectBuffers(arg, buffers);
  for (const array of [out?.output, out?.weights]) if (array !== undefined) buffers.delete(array.buffer);
  return { args: encoded, transfer: [...buffers], out };
}

/** With `out`, the results are copied into the caller's arrays, which the result then holds. */
function copyIntoOut(result, out) {
  for (const key of ['output', 'weights']) {
    if (out[key] !== undefined && result?.[key]) {
      out[key].set(result[key].data);
      result[key].data = out[key];
    }
  }
  return result;
}

// -- proxies -----------------------------------------------------------------

const CONNECTION = Symbol('mha-wasm worker connection');
const ID = Symbol('mha-wasm worker id');
const KIND = Symbol('mha-wasm worker kind');
const CALL = Symbol('mha-wasm worker call');
const ALIVE = Symbol('mha-wasm worker alive');
const UPDATE = Symbol('mha-wasm worker cache update');

/** A worker-side object: its methods post messages; `disposed` is known here. */
class WorkerObject {
  #connection;
  #id;
  #kind;
  #disposed = false;

  constructor(connection, id, kind) {
    this.#connection = connection;
    this.#id = id;
    this.#kind = kind;
  }

  get [CONNECTION]() {
    return this.#connection;
  }

  get [ID]() {
    return this.#id;
  }

  get [KIND]() {
    return this.#kind;
  }

  /** True once dispose() was called. */
  get disposed() {
    return this.#disposed;
  }

  [CALL](method, args) {
    return this.#connection.call(this.#id, method, args, this);
  }

  /** Frees the object's WebAssembly memory in the worker. Later calls reject; a second dispose() does nothing. */
  dispose() {
    if (this.#disposed) return Promise.resolve();
    this.#disposed = true;
    // A stopped worker has freed everything already: nothing to reject for.
    return this[CALL]('dispose', []).then(
      () => undefined,
      (error) => {
        if (!this.#connection.stopped) throw error;
      },
    );
  }

  /** The worker reported that the object was disposed. */
  [UPDATE](disposed) {
    if (disposed) this.#disposed = true;
  }

  /** Like the library's layers: a disposed object's cached getters throw. */
  [ALIVE](member) {
    if (this.#disposed) throw new Error(`${member}: this ${this.#kind} was disposed; create a new one`);
  }
}

const copyWeights = (list) => list.map(({ name, shape }) => ({ name, shape: [...shape] }));

class WorkerLayer extends WorkerObject {
  #config;
  #expectedWeights;

  constructor(connection, id, kind, { config, expectedWeights }) {
    super(connection, id, kind);
    this.#config = Object.freeze(config);
    this.#expectedWeights = expectedWeights;
  }

  /** The options the layer was created with, defaults filled in. */
  get config() {
    return this.#config;
  }

  /** The state_dict names and shapes loadWeights expects (kept here: no round trip). */
  get expectedWeights() {
    this[ALIVE]('expectedWeights');
    return copyWeights(this.#expectedWeights);
  }

  /** Resolves to this proxy once the weights are in. */
  loadWeights(stateDict, options) {
    return this[CALL]('loadWeights', [stateDict, options]);
  }
}

class WorkerMultiHeadAttention extends WorkerLayer {
  get embedDim() {
    return this.config.embedDim;
  }

  get numHeads() {
    return this.config.numHeads;
  }

  get headDim() {
    return this.config.embedDim / this.config.numHeads;
  }

  forward(query, key, value, options) {
    return this[CALL]('forward', [query, key, value, options]);
  }

  createCache(options) {
    return this[CALL]('createCache', [options]);
  }
}

class WorkerSelfAttention extends WorkerLayer {
  forward(x, options) {
    return this[CALL]('forward', [x, options]);
  }

  createCache(options) {
    return this[CALL]('createCache', [options]);
  }
}

class WorkerLinear extends WorkerLayer {
  get inFeatures() {
    return this.config.inFeatures;
  }

  get outFeatures() {
    return this.config.outFeatures;
  }

  forward(x, options) {
    return this[CALL]('forward', [x, options]);
  }
}

class WorkerKVCache extends WorkerObject {
  #config;
  #length;
  #byteLength;

  constructor(connection, id, kind, { config, length, byteLength }) {
    super(connection, id, kind);
    this.#config = Object.freeze(config);
    this.#length = length;
    this.#byteLength = byteLength;
  }

  get config() {
    return this.#config;
  }

  /** Tokens cached, as of the last settled call that used or changed this cache. */
  get length() {
    this[ALIVE]('length');
    return this.#length;
  }

  get maxLength() {
    return this.#config.maxLength;
  }

  /** Bytes of WebAssembly memory the cache holds in the worker. */
  get byteLength() {
    this[ALIVE]('byteLength');
    return this.#byteLength;
  }

  truncate(length) {
    return this[CALL]('truncate', [length]);
  }

  reset() {
    return this[CALL]('reset', []);
  }

  [UPDATE](disposed, length, byteLength) {
    super[UPDATE](disposed);
    if (!disposed) {
      this.#length = length;
      this.#byteLength = byteLength;
    }
  }
}

const PROXIES = { MultiHeadAttention: WorkerMultiHeadAttention, SelfAttention: WorkerSelfAttention, Linear: WorkerLinear, KVCache: WorkerKVCache };
const makeProxy = (connection, id, kind, info) => new PROXIES[kind](connection, id, kind, info);

// -- initWorker ----------------------------------------------------------------

const HOST_OPTIONS = ['scriptURL'];

/**
 * The init options as posted: locateFile answered here for every file (a
 * function cannot be posted), relative URLs made absolute with `resolveURL`
 * (browsers: against the page, as init() would; the worker's own base is its script).
 */
function encodeInitOptions(options, resolveURL) {
  if (!isPlainObject(options)) return options;
  const posted = { ...options };
  for (const key of HOST_OPTIONS) delete posted[key];
  const href = (value) => (typeof value === 'string' ? resolveURL(value) : value && typeof value.href === 'string' ? resolveURL(value.href) : value);
  if (posted.wasmURL !== undefined) posted.wasmURL = href(posted.wasmURL);
  if (posted.workerURL !== undefined) posted.workerURL = href(posted.workerURL);
  if (typeof posted.locateFile === 'function') {
    const located = {};
    for (const file of LOCATABLE_FILES) {
      try {
        const value = options.locateFile(file);
        // What cannot be posted is refused here as init() would refuse it.
        located[file] =
          typeof value === 'function' || typeof value === 'symbol'
            ? { error: { name: 'TypeError', message: `locateFile(${JSON.stringify(file)}): expected a string or URL, got ${typeof value}` } }
            : { value: href(value) };
      } catch (error) {
        located[file] = { error: { name: error?.name ?? 'Error', message: String(error?.message ?? error) } };
      }
    }
    posted.locateFile = { [LOCATED]: located };
  }
  return posted;
}

/**
 * How long the worker may stay inside one `new Worker()` of its thread pool
 * before it counts as hung. Creating a Worker object takes milliseconds (its
 * script loads afterwards, asynchronously), but Firefox 153 ESR now and then
 * never returns from it when it is called inside a Worker
 * (scripts/repro_firefox_nested_worker.mjs shows it without mha-wasm); the
 * worker then answers nothing (still nothing 60 s later, in our runs).
 */
export const POOL_WORKER_CREATION_TIMEOUT_MS = 5000;
/** Fresh workers initWorker starts in all when pool creations hang. */
export const WORKER_ATTEMPTS = 3;
// After the timeout, one short grace period: if this thread was itself busy,
// the worker's 'created' may be waiting in the queue behind the timer.
const GRACE_MS = 250;
const HUNG = Symbol('hung pool worker creation');

// Fails the connection (so the pending init rejects) when a 'creating' is not
// followed by 'created' in time. Returns stop().
function watchPoolWorkerCreation(connection, timeoutMs) {
  let timer;
  const hung = () => {
    const error = new Error(`new Worker() for the thread pool did not return within ${timeoutMs / 1000} s`);
    error[HUNG] = true;
    connection.fail(error);
  };
  connection.watchPoolWorkers((stage) => {
    clearTimeout(timer);
    if (stage === 'creating') timer = setTimeout(() => (timer = setTimeout(hung, GRACE_MS)), timeoutMs);
  });
  return () => {
    clearTimeout(timer);
    connection.watchPoolWorkers(null);
  };
}

/**
 * Starts a worker and resolves once init(options) answered there.
 * createWorker(scriptURL | undefined) -> endpoint (see the top of this file);
 * resolveURL(href) -> the href the worker should use. When the worker hangs
 * creating its thread pool (above), it is terminated and a fresh one started,
 * WORKER_ATTEMPTS in all, with a warning for each. `poolWorkerTimeoutMs` is
 * for tests.
 */
export async function startWorker(options, createWorker, resolveURL, { poolWorkerTimeoutMs = POOL_WORKER_CREATION_TIMEOUT_MS } = {}) {
  if (options !== undefined && options !== null && typeof options !== 'object') {
    throw new TypeError(`initWorker: expected an options object, got ${describe(options)}`);
  }
  const scriptURL = options?.scriptURL;
  if (scriptURL !== undefined && typeof scriptURL !== 'string' && !(scriptURL && typeof scriptURL.href === 'string')) {
    throw new TypeError(`scriptURL: expected a string or URL, got ${describe(scriptURL)}`);
  }
  const posted = encodeInitOptions(options ?? undefined, resolveURL);
  const context = `initWorker({ threads: ${describe(options?.threads)} })`;
  for (let attempt = 1; ; attempt++) {
    const endpoint = createWorker(scriptURL === undefined ? undefined : typeof scriptURL === 'string' ? scriptURL : scriptURL.href);
    const connection = new Connection(endpoint, makeProxy);
    const stopWatching = watchPoolWorkerCreation(connection, poolWorkerTimeoutMs);
    try {
      const { capabilities } = await connection.send({ target: 0, method: 'init', options: posted }, [], 'initWorker');
      // A plain object of this realm (structured clone makes them in the main one).
      return createWorkerModule(connection, Object.freeze({ ...capabilities }));
    } catch (error) {
      connection.fail(error);
      endpoint.terminate();
      if (error?.[HUNG] !== true) throw error;
      const why = `the worker's ${error.message} (a known Firefox problem with workers started inside workers)`;
      if (attempt >= WORKER_ATTEMPTS) {
        throw new Error(`${context}: ${why}, in ${WORKER_ATTEMPTS} fresh workers; use threads: 1 here, or init({ threads }) on the page`);
      }
      console.warn(`mha-wasm/worker: ${context}: ${why}; starting a fresh worker (${attempt + 1} of ${WORKER_ATTEMPTS})`);
    } finally {
      stopWatching();
    }
  }
}

function createWorkerModule(connection, capabilities) {
  const call = (method, args) => {
    try {
      return connection.call(0, method, args);
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return Object.freeze({
    capabilities,
    scaledDotProductAttention: (query, key, value, options) => call('scaledDotProductAttention', [query, key, value, options]),
    applyRotaryEmbedding: (x, options) => call('applyRotaryEmbedding', [x, options]),
    createKVCache: (options) => call('createKVCache', [options]),
    createMultiHeadAttention: (options) => call('createMultiHeadAttention', [options]),
    createSelfAttention: (options) => call('createSelfAttention', [options]),
    createLinear: (options) => call('createLinear', [options]),
    parseSafetensors: (bytes, options) => call('parseSafetensors', [bytes, options]),
    memory: () => call('memory', []),
    /** Stops the worker: pending and later calls reject. Resolves once it has stopped. */
    terminate: () => connection.terminate(),
  });
}

