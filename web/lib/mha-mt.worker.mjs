// A pool worker of the threads build (browsers): a module worker that imports
// the glue statically, so that bundlers see one ordinary module graph.
//
// It replaces the mha-mt.worker.js that Emscripten 3.1.6 generates (a classic
// worker that loads the glue with a dynamic import() of a URL sent by the
// main thread) and speaks the same protocol: scripts/assemble_dist.mjs checks
// that the generated file is still the one this port was made from. The pool
// creates it through Module.mhaCreateWorker (src/bindings/pthread_pool_hook.js,
// web/lib/browser_threads.mjs).
import createMhaModule from './mha-mt.mjs';

let Module = {};
let initializedJS = false;

const err = (...args) => console.error(args.join(' '));

Module.instantiateWasm = (info, receiveInstance) => {
  const instance = new WebAssembly.Instance(Module.wasmModule, info);
  receiveInstance(instance);
  Module.wasmModule = null;
  return instance.exports;
};

self.onmessage = (e) => {
  try {
    const data = e.data;
    if (data.cmd === 'load') {
      Module.wasmModule = data.wasmModule;
      Module.wasmMemory = data.wasmMemory;
      Module.buffer = Module.wasmMemory.buffer;
      Module.ENVIRONMENT_IS_PTHREAD = true;
      createMhaModule(Module).then(
        (instance) => {
          Module = instance;
        },
        // Tell the loader at once instead of leaving init() waiting.
        (error) => postMessage({ cmd: 'mhaWorkerFailed', message: String(error?.message ?? error) }),
      );
    } else if (data.cmd === 'run') {
      Module.__performance_now_clock_drift = performance.now() - data.time;
      Module.__emscripten_thread_init(data.threadInfoStruct, 0, 0, 1);
      Module.establishStackSpace();
      Module.PThread.receiveObjectTransfer(data);
      Module.PThread.threadInit();
      if (!initializedJS) {
        Module.___embind_register_native_and_builtin_types();
        initializedJS = true;
      }
      try {
        const result = Module.invokeEntryPoint(data.start_routine, data.arg);
        if (Module.keepRuntimeAlive()) Module.PThread.setExitStatus(result);
        else Module.__emscripten_thread_exit(result);
      } catch (ex) {
        if (ex !== 'unwind') {
          if (ex instanceof Module.ExitStatus) {
            if (!Module.keepRuntimeAlive()) Module.__emscripten_thread_exit(ex.status);
          } else {
            throw ex;
          }
        }
      }
    } else if (data.cmd === 'cancel') {
      if (Module._pthread_self()) Module.__emscripten_thread_exit(-1);
    } else if (data.target === 'setimmediate') {
      // Nothing to do (Emscripten's worker ignores it too).
    } else if (data.cmd === 'processThreadQueue') {
      if (Module._pthread_self()) Module._emscripten_current_thread_process_queued_calls();
    } else if (data.cmd === 'processProxyingQueue') {
      if (Module._pthread_self()) Module._emscripten_proxy_execute_queue(data.queue);
    } else {
      err(`mha-mt.worker.mjs received unknown command ${data.cmd}`);
    }
  } catch (ex) {
    err(`mha-mt.worker.mjs onmessage() captured an uncaught exception: ${ex}`);
    if (ex && ex.stack) err(ex.stack);
    if (Module.__emscripten_thread_crashed) Module.__emscripten_thread_crashed();
    throw ex;
  }
};
