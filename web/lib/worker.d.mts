/**
 * mha-wasm/worker: mha-wasm in a dedicated Worker (a module Worker in
 * browsers, worker_threads in Node). Every call returns a Promise.
 */
import type { WorkerInitOptions, WorkerModule } from './index.d.mts';

export type {
  MemoryStats,
  TransferOption,
  WorkerForwardOptions,
  WorkerInitOptions,
  WorkerKVCache,
  WorkerLinear,
  WorkerModule,
  WorkerMultiHeadAttention,
  WorkerScaledDotProductAttentionOptions,
  WorkerSelfAttention,
  WorkerSelfAttentionForwardOptions,
} from './index.d.mts';

/**
 * Starts a new worker, runs `init(options)` there and resolves to its module.
 * Each call starts its own worker; `terminate()` stops it. In browsers, a
 * worker that hangs creating its thread pool (Firefox sometimes never returns
 * from `new Worker()` inside a Worker) is replaced after 5 s, with a console
 * warning, up to three workers in all.
 * @throws what `init` throws in the worker (with its class and message), or an
 * Error if the worker's script cannot start or three workers hung.
 */
export declare function initWorker(options?: WorkerInitOptions): Promise<WorkerModule>;
