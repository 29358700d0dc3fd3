/**
 * mha-wasm: multi-head attention with PyTorch `nn.MultiheadAttention`
 * semantics, computed in WebAssembly SIMD.
 *
 * Shape letters: N batch, L query length, S key length, E embedDim,
 * H numHeads, D = E / H. All tensors are row-major float32.
 */

/** A dense float32 tensor: `data.length` must equal the product of `shape`. */
export interface Tensor {
  data: Float32Array;
  shape: number[];
}

/**
 * A Float32Array on a plain (not shared) ArrayBuffer, as every fresh result
 * is: it can go into a `Blob`, `postMessage` transfer lists and the like.
 * (With TypeScript before 5.7, where typed arrays take no type argument, the
 * package's types say plain `Float32Array` instead.)
 */
export type FreshFloat32Array = Float32Array<ArrayBuffer>;

/** A result tensor: `data` is a fresh array, or the caller's array from `out`. */
export interface ResultTensor<TData extends Float32Array = FreshFloat32Array> extends Tensor {
  data: TData;
}

/** The `data` of a result: the array given for it in `out`, else a fresh one. */
export type ResultData<TOut> = TOut extends Float32Array ? TOut : FreshFloat32Array;

/**
 * A mask. `Uint8Array` data is boolean with PyTorch's polarity: 1 (true) means
 * "masked out". `Float32Array` data is additive: it is added to the scaled
 * scores (use `-Infinity` to mask out).
 */
export interface Mask {
  data: Uint8Array | Float32Array;
  shape: number[];
}

/**
 * What `forward` and `scaledDotProductAttention` return. `TOut` is the `out`
 * option's type (the result arrays are those arrays when given);
 * `TWeights` is whether weights were requested: `true`, `false`, or `boolean`
 * when that is known only at run time.
 */
export interface AttentionResult<TOut extends ResultArrays = {}, TWeights extends boolean = boolean> {
  /** The attention output. */
  output: ResultTensor<ResultData<TOut['output']>>;
  /** Attention probabilities, or `null` when weights were not requested. */
  weights: TWeights extends true ? ResultTensor<ResultData<TOut['weights']>> : null;
}

export interface Capabilities {
  /**
   * True with the SIMD builds; false with `mha-nosimd.wasm`, the same kernels on
   * one lane, loaded when the engine lacks WebAssembly SIMD or with `init({ simd: false })`.
   */
  simd: boolean;
  /**
   * Threads that compute each call: 1 with the single-threaded build, or the
   * `threads` given to {@link init} when the threads build could be used.
   */
  threads: number;
  /** The package version. */
  version: string;
  /** The kernels' architecture: `"sse2"` (xsimd's SSE2 backend, lowered to SIMD128) or `"scalar"`. */
  simdArchitecture: string;
}

/** A URL: a string, or an object with a string `href` such as a `URL`. */
export type URLLike = string | { readonly href: string };

/** The files the package loads at run time, as named to {@link InitOptions.locateFile}. */
export type PackageFile = 'mha.wasm' | 'mha-mt.wasm' | 'mha-nosimd.wasm' | 'mha-mt.worker.mjs';

export interface InitOptions {
  /**
   * The bytes of `mha.wasm` (or of `mha-mt.wasm` when `threads` > 1), when
   * the host loads it itself.
   */
  wasmBinary?: ArrayBuffer | Uint8Array;
  /**
   * Where `mha.wasm` (or `mha-mt.wasm` when `threads` > 1) is served (browser;
   * a relative URL is relative to the page) or stored (Node: a path, a `file:`
   * URL or an http(s) URL). A failed fetch rejects `init` with the URL and the
   * HTTP status.
   * @defaultValue the file next to the package's JavaScript (bundlers that
   * follow `new URL('./mha.wasm', import.meta.url)` put it where they emit it)
   */
  wasmURL?: URLLike;
  /**
   * Browsers, with `threads` > 1: where the thread pool's worker script
   * `mha-mt.worker.mjs` is served. It is started as a module worker and
   * imports `./mha-mt.mjs` next to itself. A worker that fails to start
   * rejects `init` (within 10 s at most). Node ignores it.
   * @defaultValue the file next to the package's JavaScript
   */
  workerURL?: URLLike;
  /**
   * Where each file is, by name; used for the files `wasmURL` and `workerURL`
   * do not give.
   */
  locateFile?: (fileName: PackageFile) => URLLike;
  /**
   * Threads per call, 1 to 8. Above 1, the threads build (`mha-mt.wasm`,
   * Web Workers or worker_threads sharing one memory) is loaded. Browsers
   * allow it only on cross-origin-isolated pages (COOP `same-origin` and COEP
   * `require-corp` headers); elsewhere init() warns once and uses 1 thread.
   * Results are bit-identical for every thread count. Check
   * `capabilities.threads` for the count in use.
   * @defaultValue 1
   */
  threads?: number;
  /**
   * `false` loads `mha-nosimd.wasm` (no WebAssembly SIMD, one thread), `true`
   * requires SIMD. By default, SIMD is used when the engine has it.
   */
  simd?: boolean;
}

/**
 * Where the queries sit among the keys: how a causal mask lines up when
 * there are fewer queries than keys, and the query positions that rotary,
 * alibi and window use.
 * `'top-left'`: query i sees keys j <= i (PyTorch's `is_causal`).
 * `'bottom-right'`: query i sees keys j <= i + (keys − queries), i.e. the
 * queries are the last positions (`torch.nn.attention.bias.causal_lower_right`,
 * FlashAttention ≥ 2.1). Without `isCausal`, `rotary`, `alibi` or `window` it changes nothing.
 */
export type CausalAlignment = 'top-left' | 'bottom-right';

/**
 * Rotary position embeddings (RoPE), applied to the queries and the new keys
 * before attention. Frequencies `base^(−2i/rotaryDim)` as in Hugging Face;
 * only the first `rotaryDim` dims of each head rotate (partial rotary: GPT-NeoX, Phi).
 * Angles are computed in double precision.
 */
export interface RotaryOptions {
  /** @defaultValue 10000 */
  base?: number;
  /** An even number up to the head dim. @defaultValue the head dim */
  rotaryDim?: number;
  /**
   * `false`: pairs (i, i + rotaryDim/2), Hugging Face's `rotate_half` (Llama, GPT-NeoX).
   * `true`: adjacent pairs (2i, 2i + 1) (GPT-J, Meta's complex form).
   * @defaultValue false
   */
  interleaved?: boolean;
  /**
   * Without a cache: key j sits at `positionOffset + j`, query i at
   * `positionOffset + i` (top-left) or `positionOffset + (Lk − Lq) + i`
   * (bottom-right). With a cache, positions are the cache's and this is a RangeError.
   * @defaultValue 0
   */
  positionOffset?: number;
  /**
   * createSelfAttention only: the rotaryDim / 2 inverse frequencies to use
   * instead of `base^(−2i/rotaryDim)`, for scaled RoPE (Llama 3's `rope_scaling`).
   */
  frequencies?: Float32Array;
}

/** The positional options today's decoders use, shared by {@link ScaledDotProductAttentionOptions} and {@link SelfAttentionOptions}. */
export interface PositionalOptions {
  /** RoPE on q and the new k (`true` = all defaults). */
  rotary?: RotaryOptions | boolean;
  /**
   * ALiBi (Press et al.; BLOOM, MPT): `slope_h · (key position − query position)` is
   * added to the scaled scores of query head h (not multiplied by `scale`).
   * `true` gives the standard slopes (geometric for a power-of-two head count,
   * BLOOM's interpolation otherwise); or one slope per query head.
   */
  alibi?: boolean | Float32Array;
  /**
   * Sliding window (Mistral): keys at positions ≤ p − window are masked for a
   * query at position p; with `isCausal` that leaves the `window` keys (p − window, p].
   * Keys that no query of a 32-row block can reach are not scored, so the cost grows as L × window.
   */
  window?: number;
  /** Logit softcap (Gemma 2): scaled scores become `softcap · tanh(scores / softcap)` before ALiBi and masks. */
  softcap?: number;
}

export interface ScaledDotProductAttentionOptions<TOut extends ResultArrays = ResultArrays> extends PositionalOptions {
  /**
   * Mask broadcastable to (B, H, Lq, Lk): rank 1–4, each dimension 1 or full.
   * With a `cache`, Lk is the cache's length after the append. Key and value
   * may have fewer heads than the query (Hkv dividing H: grouped-query attention).
   */
  attnMask?: Mask | null;
  /**
   * Causal mask (see `causalAlignment`); may be combined with `attnMask`.
   * @defaultValue false
   */
  isCausal?: boolean;
  /**
   * @defaultValue `'top-left'` without a cache, `'bottom-right'` with one
   * (`'top-left'` with a cache is a RangeError).
   */
  causalAlignment?: CausalAlignment;
  /**
   * A cache from {@link MhaModule.createKVCache}. `key` and `value` are then
   * the T new tokens, (B, Hkv, T, D) and (B, Hkv, T, Dv), with exactly T query
   * rows: they are appended, and the queries attend over every cached key
   * (query i sits at position `length before + i`). Weights are
   * (B, H, T, cache.length). A failed call leaves the cache unchanged.
   */
  cache?: KVCache;
  /** Multiplies Q·Kᵀ. @defaultValue 1 / sqrt(D) */
  scale?: number;
  /** Also return the (B, H, Lq, Lk) attention probabilities. @defaultValue false */
  needWeights?: boolean;
  /** Arrays to write the results into instead of new ones; see {@link ResultArrays}. */
  out?: TOut;
}

/**
 * Caller-owned arrays for the results, each of exactly the result's length
 * (a RangeError otherwise). The returned tensors' `data` are these arrays.
 * Reusing them across calls saves allocating fresh memory for every result,
 * which dominates the cost of large weight matrices on some machines.
 * `weights` is only allowed when weights are requested.
 */
export interface ResultArrays {
  output?: Float32Array;
  weights?: Float32Array;
}

export interface MultiHeadAttentionOptions {
  /** E, the model dimension (query features and output features). */
  embedDim: number;
  /** H; must divide `embedDim`. */
  numHeads: number;
  /** Key features. @defaultValue embedDim */
  kdim?: number | null;
  /** Value features. @defaultValue embedDim */
  vdim?: number | null;
  /** Biases in the input and output projections. @defaultValue true */
  bias?: boolean;
  /** Append learned `bias_k` / `bias_v` rows to the keys and values. @defaultValue false */
  addBiasKV?: boolean;
  /** Append a row of zeros to the keys and values. @defaultValue false */
  addZeroAttn?: boolean;
  /** Inputs are (N, L, E) instead of (L, N, E). @defaultValue false */
  batchFirst?: boolean;
  /** Accepted for compatibility with PyTorch configs; only 0 is allowed (inference only). @defaultValue 0 */
  dropout?: number;
}

export interface ForwardOptions<TOut extends ResultArrays = ResultArrays> {
  /**
   * (N, S) or (S) for unbatched input; true / non-zero = that key is padding.
   * With a `cache`, S is the cache's length after the append.
   */
  keyPaddingMask?: Mask | null;
  /**
   * (L, S), or (N·H, L, S) per batch item and head ((H, L, S) unbatched).
   * With a `cache`, S is the cache's length after the append.
   */
  attnMask?: Mask | null;
  /** Return attention weights. @defaultValue true (as PyTorch) */
  needWeights?: boolean;
  /** Average the weights over heads: (N, L, S') instead of (N, H, L, S'). @defaultValue true */
  averageAttnWeights?: boolean;
  /**
   * Also apply a causal mask on the S original keys (see `causalAlignment`).
   * Unlike PyTorch, works without an explicit `attnMask`. @defaultValue false
   */
  isCausal?: boolean;
  /**
   * @defaultValue `'top-left'` without a cache, `'bottom-right'` with one
   * (`'top-left'` with a cache is a RangeError).
   */
  causalAlignment?: CausalAlignment;
  /**
   * A cache from this layer's {@link MultiHeadAttention.createCache} (any
   * other cache is an Error). `key` and `value` are then the L new tokens
   * (one per query row): they are projected once and appended, and the
   * queries attend over every cached key. Weights are (N, L, cache.length)
   * or (N, H, L, cache.length). Not available with `addBiasKV` or
   * `addZeroAttn`. A failed call leaves the cache unchanged.
   */
  cache?: KVCache;
  /** Arrays to write the results into instead of new ones; see {@link ResultArrays}. */
  out?: TOut;
}

export interface SelfAttentionOptions extends PositionalOptions {
  /** E, the features of x and of the output. */
  embedDim: number;
  /** H, the query heads. */
  numHeads: number;
  /** Hkv, the key/value heads; must divide H (grouped-query attention; 1 = multi-query). @defaultValue numHeads */
  numKVHeads?: number;
  /** D. @defaultValue embedDim / numHeads */
  headDim?: number;
  /** `q_proj.bias`, `k_proj.bias`, `v_proj.bias` (Qwen2). @defaultValue false */
  bias?: boolean;
  /** `o_proj.bias`. @defaultValue bias */
  outBias?: boolean;
  /** Multiplies Q·Kᵀ. @defaultValue 1 / sqrt(headDim) */
  scale?: number;
}

export interface SelfAttentionForwardOptions<TOut extends ResultArrays = ResultArrays> {
  /** A cache from this layer's {@link SelfAttention.createCache}; x then holds the new tokens. */
  cache?: KVCache;
  /** (L, S) or (N·H, L, S); S is the cache's length after the append with a cache. */
  attnMask?: Mask | null;
  /** (N, S); true / non-zero = that key is padding. */
  keyPaddingMask?: Mask | null;
  /** @defaultValue true */
  isCausal?: boolean;
  /** @defaultValue `'top-left'` without a cache, `'bottom-right'` with one */
  causalAlignment?: CausalAlignment;
  /** @defaultValue false */
  needWeights?: boolean;
  /** Weights (N, L, S) averaged over the H query heads, or (N, H, L, S). @defaultValue true */
  averageAttnWeights?: boolean;
  /** Arrays to write the results into instead of new ones; see {@link ResultArrays}. */
  out?: TOut;
}

/**
 * A decoder's attention layer with Hugging Face Llama-family weight names:
 * `q_proj.weight` (H·D, E), `k_proj.weight` and `v_proj.weight` (Hkv·D, E),
 * `o_proj.weight` (E, H·D), and with `bias` `q_proj.bias`, `k_proj.bias`,
 * `v_proj.bias`, with `outBias` `o_proj.bias`. q, k, v are projections of x;
 * RoPE rotates q and k; query head h attends with kv head h / (H / Hkv); the
 * heads are concatenated and projected by `o_proj`.
 */
declare class SelfAttention {
  private constructor();
  readonly config: Readonly<Required<Omit<SelfAttentionOptions, 'scale' | 'rotary' | 'alibi'>>> & Pick<SelfAttentionOptions, 'scale' | 'rotary' | 'alibi'>;
  readonly disposed: boolean;
  readonly expectedWeights: WeightSpec[];
  loadWeights(stateDict: StateDict, options?: LoadWeightsOptions): this;
  /** A cache of numKVHeads heads of headDim for this layer. */
  createCache(options: LayerCacheOptions): KVCache;
  /** x (N, L, E) or (L, E) → output like x; weights only with `needWeights: true`. */
  forward<TOut extends ResultArrays = {}>(x: Tensor, options: SelfAttentionForwardOptions<TOut> & { needWeights: true }): AttentionResult<TOut, true>;
  forward<TOut extends ResultArrays = {}>(x: Tensor, options?: SelfAttentionForwardOptions<TOut> & { needWeights?: false }): AttentionResult<TOut, false>;
  forward<TOut extends ResultArrays = {}>(x: Tensor, options?: SelfAttentionForwardOptions<TOut>): AttentionResult<TOut>;
  dispose(): void;
}

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** @defaultValue true */
  bias?: boolean;
}

/**
 * PyTorch's nn.Linear: `x · weightᵀ + bias` over the last dimension, on the
 * library's packed matrix multiply and thread pool. Weights `weight`
 * (outFeatures, inFeatures) and `bias` (outFeatures).
 */
declare class Linear {
  private constructor();
  readonly config: Readonly<Required<LinearOptions>>;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly disposed: boolean;
  readonly expectedWeights: WeightSpec[];
  loadWeights(stateDict: StateDict, options?: LoadWeightsOptions): this;
  /** x (..., inFeatures) → output (..., outFeatures); `weights` is null. */
  forward<TOut extends Pick<ResultArrays, 'output'> = {}>(x: Tensor, options?: { out?: TOut }): AttentionResult<TOut, false>;
  dispose(): void;
}

export interface KVCacheOptions {
  batchSize: number;
  /** Key/value heads stored (Hkv; equal to the query heads without grouped-query attention). */
  numHeads: number;
  headDim: number;
  /** @defaultValue headDim */
  valueDim?: number;
  /** Tokens the cache can hold; appending beyond it is a RangeError. */
  maxLength: number;
}

export interface LayerCacheOptions {
  batchSize: number;
  maxLength: number;
}

/**
 * Keys and values of earlier tokens, kept in WebAssembly memory in the layout
 * the kernels read, so a decoding step appends one token and attends without
 * copying the past in again. Free it with {@link dispose}.
 */
declare class KVCache {
  private constructor();
  readonly config: Readonly<Required<KVCacheOptions>>;
  /** Tokens cached so far. */
  readonly length: number;
  readonly maxLength: number;
  /** WebAssembly memory the cache holds, in bytes. */
  readonly byteLength: number;
  readonly disposed: boolean;
  /**
   * Keeps the first `length` tokens; the next call appends after them.
   * @throws RangeError if `length` exceeds the current length.
   */
  truncate(length: number): this;
  /** Empties the cache; its memory stays reserved. */
  reset(): this;
  /** Frees the cache's memory. Later use throws; calling it twice is harmless. */
  dispose(): void;
}

/** One entry of {@link MultiHeadAttention.expectedWeights}. */
export interface WeightSpec {
  name: string;
  shape: number[];
}

/**
 * PyTorch state_dict names to values in PyTorch's layout: `in_proj_weight`
 * (3E, E) or `q_proj_weight` (E, E), `k_proj_weight` (E, kdim),
 * `v_proj_weight` (E, vdim); `in_proj_bias` (3E); `bias_k`, `bias_v` (1, 1, E);
 * `out_proj.weight` (E, E); `out_proj.bias` (E).
 */
export type StateDict =
  | Record<string, Float32Array | Tensor>
  | Map<string, Float32Array | Tensor>
  /** The bytes of a .safetensors file. */
  | ArrayBuffer
  | Uint8Array;

export interface LoadWeightsOptions {
  /**
   * Take only the keys that start with this prefix, without it — e.g.
   * `'layers.0.attn.'` to load one layer out of a whole model's weights.
   * @defaultValue ''
   */
  prefix?: string;
}

/** A tensor read from a .safetensors file (converted to float32). */
export interface SafetensorsTensor extends Tensor {
  /** The dtype stored in the file: F32, F64, F16 or BF16. */
  dtype: string;
}

/**
 * Parses a .safetensors file. Does not need init().
 * @throws TypeError if `bytes` is not an ArrayBuffer/Uint8Array; Error naming the problem for a malformed file.
 */
export declare function parseSafetensors(bytes: ArrayBuffer | Uint8Array): {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
};

declare class MultiHeadAttention {
  private constructor();
  /** The options the layer was created with, defaults filled in. */
  readonly config: Readonly<Required<Omit<MultiHeadAttentionOptions, 'dropout'>>>;
  readonly embedDim: number;
  readonly numHeads: number;
  /** D = embedDim / numHeads. */
  readonly headDim: number;
  /** True after {@link dispose}. */
  readonly disposed: boolean;
  /** The state_dict keys {@link loadWeights} requires for this configuration. */
  readonly expectedWeights: WeightSpec[];
  /**
   * Copies the weights in (all expected keys at once; nothing changes if any
   * is missing, unknown or of the wrong size). Accepts a state_dict object or
   * Map, or the bytes of a .safetensors file. Returns `this`.
   * @throws TypeError for values that are not Float32Array; RangeError for wrong keys or sizes.
   */
  loadWeights(stateDict: StateDict, options?: LoadWeightsOptions): this;
  /**
   * query (L, N, E) / (N, L, E) with batchFirst / (L, E) unbatched;
   * key (S, N, kdim); value (S, N, vdim). Output shaped like query; weights
   * (N, L, S') or (N, H, L, S') with S' = S + addBiasKV + addZeroAttn.
   * A query row whose keys are all masked yields zero attention (PyTorch gives NaN).
   * @throws TypeError / RangeError naming the bad argument; Error if weights are not loaded or after dispose().
   */
  forward<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: ForwardOptions<TOut> & { needWeights: false },
  ): AttentionResult<TOut, false>;
  forward<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options?: ForwardOptions<TOut> & { needWeights?: true },
  ): AttentionResult<TOut, true>;
  forward<TOut extends ResultArrays = {}>(query: Tensor, key: Tensor, value: Tensor, options?: ForwardOptions<TOut>): AttentionResult<TOut>;
  /**
   * A cache for this layer's projected keys and values (numHeads heads of
   * headDim), to pass as `cache` to {@link forward}. It works with this layer only.
   * @throws RangeError if the heap cannot hold it.
   */
  createCache(options: LayerCacheOptions): KVCache;
  /** Frees the WebAssembly memory of this layer. Later calls throw; calling it twice is harmless. */
  dispose(): void;
}

export interface MhaModule {
  readonly capabilities: Capabilities;
  /** Current size of the WebAssembly heap in bytes (for leak checks). */
  readonly heapBytes: number;
  /** The heap's size now and at most, and malloc's use of it. */
  memory(): MemoryStats;
  /**
   * softmax(Q·Kᵀ·scale + mask)·V per (batch, head).
   * query (B, H, Lq, D), key (B, H, Lk, D), value (B, H, Lk, Dv) → output (B, H, Lq, Dv).
   */
  scaledDotProductAttention<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: ScaledDotProductAttentionOptions<TOut> & { needWeights: true },
  ): AttentionResult<TOut, true>;
  scaledDotProductAttention<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options?: ScaledDotProductAttentionOptions<TOut> & { needWeights?: false },
  ): AttentionResult<TOut, false>;
  scaledDotProductAttention<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options?: ScaledDotProductAttentionOptions<TOut>,
  ): AttentionResult<TOut>;
  /**
   * A cache for {@link scaledDotProductAttention}'s `cache` option.
   * @throws RangeError for sizes of 0 or a cache the heap cannot hold.
   */
  createKVCache(options: KVCacheOptions): KVCache;
  /** A new layer; load weights with {@link MultiHeadAttention.loadWeights} before forward. */
  createMultiHeadAttention(options: MultiHeadAttentionOptions): MultiHeadAttention;
  /** A Llama-family attention layer; load weights before forward. */
  createSelfAttention(options: SelfAttentionOptions): SelfAttention;
  /** An nn.Linear; load `{ weight, bias }` before forward. */
  createLinear(options: LinearOptions): Linear;
  /** x (B, H, L, D) rotated at positions `positionOffset + l`; a new tensor (x is untouched). */
  applyRotaryEmbedding(x: Tensor, options?: RotaryOptions): ResultTensor;
  /** The same function as the package's {@link parseSafetensors} export. */
  parseSafetensors: typeof parseSafetensors;
}

/**
 * Loads and instantiates the WebAssembly module. Calls after the first return
 * the same instance; a failed load can be retried.
 * @throws Error if the engine lacks WebAssembly SIMD.
 */
export declare function init(options?: InitOptions): Promise<MhaModule>;

/** The package version. */
export declare const VERSION: string;

// Classes whose instances the library creates (createMultiHeadAttention,
// createSelfAttention, createLinear, createKVCache, createCache): nameable
// as types, not exported as values.
export type { KVCache, Linear, MultiHeadAttention, SelfAttention };

// ---------------------------------------------------------------------------
// mha-wasm/worker: the module in a dedicated Worker (types only here; the
// entry point `mha-wasm/worker` exports `initWorker`).

/** Options of the {@link WorkerModule} calls that take input arrays. */
export interface TransferOption {
  /**
   * Transfer the ArrayBuffers under this call's input arrays (tensors, masks,
   * weights, safetensors bytes) to the worker instead of copying them. It costs
   * nothing, but the caller's arrays are detached: their length becomes 0 and
   * passing them again is a TypeError. Whole buffers move (a subarray detaches
   * its whole buffer); arrays on a SharedArrayBuffer are shared, never
   * transferred; `out` arrays stay with the caller.
   * @defaultValue false (the inputs are copied)
   */
  transfer?: boolean;
}

/** The options of `initWorker` (`mha-wasm/worker`): those of {@link init}, and where the worker's script is. */
export interface WorkerInitOptions extends InitOptions {
  /**
   * Where the worker's script is: browsers, `worker_thread.mjs` (started as a
   * module Worker; it imports `mha.mjs` and `mha-mt.mjs` next to itself);
   * Node, `worker_node_thread.mjs` (a path or a `file:` URL).
   * @defaultValue the file next to the package's JavaScript (bundlers that
   * follow `new Worker(new URL('./worker_thread.mjs', import.meta.url), { type: 'module' })`
   * emit it)
   */
  scriptURL?: URLLike;
}

/** What {@link WorkerModule.memory} resolves to: the worker's WebAssembly heap. */
export interface MemoryStats {
  /** The heap's size now, in bytes (it only grows). */
  heapBytes: number;
  /** The most it may grow to. */
  maxHeapBytes: number;
  /** Bytes malloc has handed out. */
  usedBytes: number;
  /** Bytes malloc holds free. */
  freeBytes: number;
  /** The free block at the top of the heap (available without growing it). */
  freeAtTopBytes: number;
}

/**
 * A {@link KVCache} in the worker. `length` and `byteLength` are as of the last
 * settled call that used or changed the cache (the worker reports them with
 * every reply), so read them after awaiting that call.
 */
export interface WorkerKVCache {
  readonly config: Readonly<Required<KVCacheOptions>>;
  /** Tokens cached, after the last settled call on this cache. @throws Error after dispose(). */
  readonly length: number;
  readonly maxLength: number;
  /** WebAssembly memory the cache holds in the worker, in bytes. @throws Error after dispose(). */
  readonly byteLength: number;
  /** True once dispose() was called. */
  readonly disposed: boolean;
  /** Keeps the first `length` tokens; rejects with a RangeError beyond the current length. */
  truncate(length: number): Promise<this>;
  /** Empties the cache; its memory stays reserved. */
  reset(): Promise<this>;
  /** Frees the cache's memory in the worker. Later use rejects; calling it twice is harmless. */
  dispose(): Promise<void>;
}

/** {@link ScaledDotProductAttentionOptions} for the worker: `cache` is a {@link WorkerKVCache}. */
export interface WorkerScaledDotProductAttentionOptions<TOut extends ResultArrays = ResultArrays>
  extends Omit<ScaledDotProductAttentionOptions<TOut>, 'cache' | 'out'>,
    TransferOption {
  cache?: WorkerKVCache;
  /** Arrays to copy the results into (on the calling thread, once they arrive); see {@link ResultArrays}. */
  out?: TOut;
}

/** {@link ForwardOptions} for the worker: `cache` is a {@link WorkerKVCache} of this layer. */
export interface WorkerForwardOptions<TOut extends ResultArrays = ResultArrays> extends Omit<ForwardOptions<TOut>, 'cache' | 'out'>, TransferOption {
  cache?: WorkerKVCache;
  /** Arrays to copy the results into (on the calling thread, once they arrive); see {@link ResultArrays}. */
  out?: TOut;
}

/** {@link SelfAttentionForwardOptions} for the worker: `cache` is a {@link WorkerKVCache} of this layer. */
export interface WorkerSelfAttentionForwardOptions<TOut extends ResultArrays = ResultArrays>
  extends Omit<SelfAttentionForwardOptions<TOut>, 'cache' | 'out'>,
    TransferOption {
  cache?: WorkerKVCache;
  /** Arrays to copy the results into (on the calling thread, once they arrive); see {@link ResultArrays}. */
  out?: TOut;
}

/** A {@link MultiHeadAttention} in the worker. `config` and `expectedWeights` are kept here (no round trip). */
export interface WorkerMultiHeadAttention {
  readonly config: Readonly<Required<Omit<MultiHeadAttentionOptions, 'dropout'>>>;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  /** True once dispose() was called. */
  readonly disposed: boolean;
  /** @throws Error after dispose(). */
  readonly expectedWeights: WeightSpec[];
  /** Resolves to this proxy once the weights are in the worker. */
  loadWeights(stateDict: StateDict, options?: LoadWeightsOptions & TransferOption): Promise<this>;
  forward<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: WorkerForwardOptions<TOut> & { needWeights: false },
  ): Promise<AttentionResult<TOut, false>>;
  forward<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options?: WorkerForwardOptions<TOut> & { needWeights?: true },
  ): Promise<AttentionResult<TOut, true>>;
  forward<TOut extends ResultArrays = {}>(query: Tensor, key: Tensor, value: Tensor, options?: WorkerForwardOptions<TOut>): Promise<AttentionResult<TOut>>;
  createCache(options: LayerCacheOptions): Promise<WorkerKVCache>;
  /** Frees the layer's memory in the worker. Later calls reject; calling it twice is harmless. */
  dispose(): Promise<void>;
}

/** A {@link SelfAttention} in the worker. */
export interface WorkerSelfAttention {
  readonly config: SelfAttention['config'];
  readonly disposed: boolean;
  /** @throws Error after dispose(). */
  readonly expectedWeights: WeightSpec[];
  loadWeights(stateDict: StateDict, options?: LoadWeightsOptions & TransferOption): Promise<this>;
  createCache(options: LayerCacheOptions): Promise<WorkerKVCache>;
  forward<TOut extends ResultArrays = {}>(x: Tensor, options: WorkerSelfAttentionForwardOptions<TOut> & { needWeights: true }): Promise<AttentionResult<TOut, true>>;
  forward<TOut extends ResultArrays = {}>(x: Tensor, options?: WorkerSelfAttentionForwardOptions<TOut> & { needWeights?: false }): Promise<AttentionResult<TOut, false>>;
  forward<TOut extends ResultArrays = {}>(x: Tensor, options?: WorkerSelfAttentionForwardOptions<TOut>): Promise<AttentionResult<TOut>>;
  dispose(): Promise<void>;
}

/** A {@link Linear} in the worker. */
export interface WorkerLinear {
  readonly config: Readonly<Required<LinearOptions>>;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly disposed: boolean;
  /** @throws Error after dispose(). */
  readonly expectedWeights: WeightSpec[];
  loadWeights(stateDict: StateDict, options?: LoadWeightsOptions & TransferOption): Promise<this>;
  forward<TOut extends Pick<ResultArrays, 'output'> = {}>(x: Tensor, options?: { out?: TOut } & TransferOption): Promise<AttentionResult<TOut, false>>;
  dispose(): Promise<void>;
}

/**
 * {@link MhaModule} in a dedicated Worker (`initWorker` from `mha-wasm/worker`):
 * the same functions, each returning a Promise and computing in the worker, so
 * the calling thread never waits. Results arrive on transferred ArrayBuffers;
 * inputs are copied unless a call's options say `transfer: true`. Errors keep
 * their class (TypeError, RangeError, Error) and message.
 */
export interface WorkerModule {
  /** The worker's module: threads in use, version, SIMD backend. */
  readonly capabilities: Capabilities;
  scaledDotProductAttention<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options: WorkerScaledDotProductAttentionOptions<TOut> & { needWeights: true },
  ): Promise<AttentionResult<TOut, true>>;
  scaledDotProductAttention<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options?: WorkerScaledDotProductAttentionOptions<TOut> & { needWeights?: false },
  ): Promise<AttentionResult<TOut, false>>;
  scaledDotProductAttention<TOut extends ResultArrays = {}>(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    options?: WorkerScaledDotProductAttentionOptions<TOut>,
  ): Promise<AttentionResult<TOut>>;
  createKVCache(options: KVCacheOptions): Promise<WorkerKVCache>;
  createMultiHeadAttention(options: MultiHeadAttentionOptions): Promise<WorkerMultiHeadAttention>;
  createSelfAttention(options: SelfAttentionOptions): Promise<WorkerSelfAttention>;
  createLinear(options: LinearOptions): Promise<WorkerLinear>;
  applyRotaryEmbedding(x: Tensor, options?: RotaryOptions & TransferOption): Promise<ResultTensor>;
  /** {@link parseSafetensors}, in the worker. */
  parseSafetensors(bytes: ArrayBuffer | Uint8Array, options?: TransferOption): Promise<ReturnType<typeof parseSafetensors>>;
  /** The worker's WebAssembly heap. */
  memory(): Promise<MemoryStats>;
  /** Stops the worker; pending and later calls reject with an Error. Resolves once it has stopped. */
  terminate(): Promise<void>;
}
