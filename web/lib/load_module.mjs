// init(): instantiate the WebAssembly module once per page or process.
//
// The environment-specific part (where the .wasm bytes come from, and
// whether threads can run) is passed in by the entry point: node.mjs /
// node.cjs read the file next to them, browser.mjs lets the Emscripten glue
// fetch it next to itself.
//
// Three builds ship: mha.wasm (one thread, WebAssembly SIMD), mha-mt.wasm
// (pthreads on Web Workers / worker_threads over a SharedArrayBuffer) and
// mha-nosimd.wasm (one thread, no SIMD: the same kernels on one-lane batches,
// for engines without WebAssembly SIMD). init({ threads: n > 1 }) picks the
// second when the host allows it, and otherwise warns once and uses the
// first; an engine without SIMD, or init({ simd: false }), gets the third.
import { describe } from './arguments.mjs';
import { createApi } from './api.mjs';
import { hrefOf, isURLLike } from './wasm_files.mjs';

// The smallest module that uses a SIMD instruction: (func (result v128)
// i32.const 0 i8x16.splat). Checked before loading: an engine without SIMD
// gets the build without it instead of a compile error from deep in the glue.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11,
]);

const INIT_OPTIONS = ['wasmBinary', 'wasmURL', 'workerURL', 'locateFile', 'simd', 'threads'];
/** The C++ pool's cap (src/layer/thread_pool.hpp, max_workers). */
export const MAX_THREADS = 8;

function readInitOptions(options) {
  if (options === undefined || options === null) return { threads: 1 };
  if (typeof options !== 'object') throw new TypeError(`init: expected an options object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!INIT_OPTIONS.includes(key)) {
      throw new TypeError(`init: unknown option ${JSON.stringify(key)}; expected one of ${INIT_OPTIONS.join(', ')}`);
    }
  }
  const { wasmBinary, wasmURL, workerURL, locateFile, threads = 1, simd } = options;
  if (simd !== undefined && typeof simd !== 'boolean') {
    throw new TypeError(`simd: expected true, false or nothing (detect), got ${describe(simd)}`);
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new RangeError(`threads: expected an integer from 1 to ${MAX_THREADS}, got ${describe(threads)}`);
  }
  if (wasmBinary !== undefined && !(wasmBinary instanceof ArrayBuffer || ArrayBuffer.isView(wasmBinary))) {
    throw new TypeError(`wasmBinary: expected an ArrayBuffer or Uint8Array with the .wasm bytes, got ${describe(wasmBinary)}`);
  }
  // A URL, or anything with a string href (another realm's URL, a polyfill).
  for (const [name, value] of [['wasmURL', wasmURL], ['workerURL', workerURL]]) {
    if (value !== undefined && !isURLLike(value)) throw new TypeError(`${name}: expected a string or URL, got ${describe(value)}`);
  }
  if (locateFile !== undefined && typeof locateFile !== 'function') {
    throw new TypeError(`locateFile: expected a function (fileName) => string | URL, got ${describe(locateFile)}`);
  }
  return {
    wasmBinary,
    wasmURL: wasmURL === undefined ? undefined : hrefOf(wasmURL),
    workerURL: workerURL === undefined ? undefined : hrefOf(workerURL),
    locateFile,
    threads,
    simd,
  };
}

let warned = false;
function warnOnce(message) {
  if (warned) return;
  warned = true;
  console.warn(message);
}

// Pool workers would keep Node running after the program is done; they only
// ever work while the main thread waits inside a call, so they may be unref'd.
// (Browser Workers have no unref.)
function releaseWorkers(Module) {
  for (const worker of [...Module.PThread.runningWorkers, ...Module.PThread.unusedWorkers]) worker.unref?.();
}

/**
 * instantiate({ wasmBinary, wasmURL, workerURL, locateFile, threads, simd }) -> Promise<Emscripten module>
 * (the threads build when threads > 1, with Module.mhaPoolSize = threads - 1; mha-nosimd.wasm
 * loaded through the single-threaded glue when simd is false);
 * threadsUnavailable() -> null, or why this host cannot run the threads build.
 */
export function createInit(instantiate, threadsUnavailable) {
  let pending = null;
  let firstOptions = null;
  return async function init(options) {
    const checked = readInitOptions(options);
    if (pending !== null) {
      // Later calls share the first instance (one heap, one set of buffers);
      // asking for a different .wasm then is a mistake worth reporting.
      const givesOptions = INIT_OPTIONS.some((key) => options?.[key] !== undefined);
      const sameOptions = INIT_OPTIONS.every((key) => checked[key] === firstOptions[key]);
      if (givesOptions && !sameOptions) {
        throw new Error(`init: already initialised with other options; ${INIT_OPTIONS.join(', ')} apply only to the first init()`);
      }
      return pending;
    }
    if (typeof WebAssembly !== 'object') throw new Error('init: this JavaScript engine has no WebAssembly');
    const hasSimd = WebAssembly.validate(SIMD_PROBE);
    if (checked.simd === true && !hasSimd) {
      throw new Error('init({ simd: true }): this JavaScript engine lacks WebAssembly SIMD (Chrome/Edge 91+, Firefox 89+, Safari 16.4+, Node 16.4+); leave simd out to use the build without it');
    }
    const simd = checked.simd ?? hasSimd;
    firstOptions = checked;
    let threads = checked.threads;
    const unavailable = threads > 1 ? (simd ? threadsUnavailable() : 'the build without SIMD has no threads') : null;
    if (unavailable) {
      warnOnce(`mha-wasm: init({ threads: ${threads} }): ${unavailable}; using 1 thread`);
      threads = 1;
    }
    pending = instantiate({ ...checked, threads, simd }).then((Module) => {
      if (threads > 1) {
        Module.setThreadCount(threads);
        releaseWorkers(Module);
      }
      return createApi(Module);
    });
    // A failed load (wrong URL, network) must not poison later attempts.
    pending.catch(() => {
      pending = null;
    });
    return pending;
  };
}
