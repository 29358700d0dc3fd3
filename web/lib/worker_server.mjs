// The worker side of mha-wasm/worker: runs init() once, then each call the
// main thread posts, in order, on the objects it created (layers, linear
// layers, caches: kept here by id, reached from the main thread through
// proxies). Results go back with their ArrayBuffers transferred (they are
// fresh arrays, so that is free); errors go back with their class and message.
//
// Started by web/lib/worker_thread.mjs (browsers) and
// web/lib/worker_node_thread.mjs (Node worker_threads).
import { collectBuffers, decodeError, DETACHED, encodeError, HANDLE, isPlainObject, LOCATED, METHODS, OUT_LENGTH, SELF } from './worker_protocol.mjs';

// A typed array of this kind over a detached buffer: what the caller had
// (structured clone cannot carry one), so the library reports it as it would.
function detachedArray(tag) {
  const Kind = typeof globalThis[tag] === 'function' && /Array$/.test(tag) ? globalThis[tag] : Float32Array;
  const array = new Kind(0);
  structuredClone(array.buffer, { transfer: [array.buffer] });
  return array;
}

// locateFile was called on the main thread for every file (a function cannot
// be posted); its answers, or what it threw, are given back when init asks.
function initOptions(options) {
  const located = options?.locateFile?.[LOCATED];
  if (located === undefined) return options;
  return {
    ...options,
    locateFile(file) {
      const answer = located[file];
      if (answer?.error) throw decodeError(answer.error);
      return answer?.value;
    },
  };
}

/**
 * init: the package's init() for this environment; endpoint: { post(message, transfer), listen(onMessage) }.
 */
export function serve(init, endpoint) {
  let api = null;
  const objects = new Map(); // id -> { object, kind }
  let nextId = 1;

  function decode(value, touched, depth = 0) {
    if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
    if (value instanceof Map) {
      return depth < 4 ? new Map([...value].map(([key, item]) => [key, decode(item, touched, depth + 1)])) : value;
    }
    if (!isPlainObject(value)) return value;
    if (HANDLE in value) {
      const entry = objects.get(value[HANDLE]);
      if (entry === undefined) return {};
      if (entry.kind === 'KVCache') touched.add(value[HANDLE]);
      return entry.object;
    }
    if (DETACHED in value) return detachedArray(value[DETACHED]);
    if (OUT_LENGTH in value) return new Float32Array(value[OUT_LENGTH]);
    if (depth >= 4) return value;
    const decoded = {};
    for (const key of Object.keys(value)) decoded[key] = decode(value[key], touched, depth + 1);
    return decoded;
  }

  function describeObject(kind, object) {
    if (kind === 'KVCache') return { config: object.config, length: object.length, byteLength: object.byteLength };
    return { config: object.config, expectedWeights: object.expectedWeights };
  }

  function cacheStates(touched) {
    return [...touched].map((id) => {
      const cache = objects.get(id)?.object;
      if (cache === undefined || cache.disposed) return [id, true, 0, 0];
      return [id, false, cache.length, cache.byteLength];
    });
  }

  function call({ target, method, args }, touched) {
    const entry = target === 0 ? { object: api, kind: 'module' } : objects.get(target);
    if (entry === undefined) throw new Error(`${method}: this object no longer exists in the worker`);
    const spec = METHODS[entry.kind][method];
    if (spec === undefined) throw new TypeError(`${method}: not a method of ${entry.kind} in mha-wasm/worker`);
    if (entry.kind === 'KVCache') touched.add(target);
    const result = entry.object[method](...args.map((arg) => decode(arg, touched)));
    if (spec.creates) {
      const id = nextId++;
      objects.set(id, { object: result, kind: spec.creates });
      if (spec.creates === 'KVCache') touched.add(id);
      return { value: { [HANDLE]: id, kind: spec.creates, info: describeObject(spec.creates, result) }, transfer: [] };
    }
    if (result === entry.object && target !== 0) return { value: { [SELF]: true }, transfer: [] };
    return { value: result, transfer: [...collectBuffers(result)] };
  }

  function reply(message, transfer) {
    try {
      endpoint.post(message, transfer);
    } catch (error) {
      endpoint.post({ id: message.id, ok: false, error: encodeError(error), caches: message.caches }, []);
    }
  }

  let queue = Promise.resolve();
  async function handle(message) {
    if (message.release !== undefined) {
      objects.delete(message.release);
      return;
    }
    if (message.method === 'init') {
      try {
        api = await init(initOptions(message.options));
        reply({ id: message.id, ok: true, value: { capabilities: { ...api.capabilities } } }, []);
      } catch (error) {
        reply({ id: message.id, ok: false, error: encodeError(error) }, []);
      }
      return;
    }
    const touched = new Set();
    try {
      const { value, transfer } = call(message, touched);
      reply({ id: message.id, ok: true, value, caches: cacheStates(touched) }, transfer);
    } catch (error) {
      reply({ id: message.id, ok: false, error: encodeError(error), caches: cacheStates(touched) }, []);
    }
  }

  // One message at a time, in order (init is the only one that waits).
  endpoint.listen((message) => {
    queue = queue.then(() => handle(message));
  });
}
