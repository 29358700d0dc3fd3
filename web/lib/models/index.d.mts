/**
 * mha-wasm/models: Hugging Face checkpoints (gpt2; llama, mistral, qwen2)
 * run with mha-wasm's layers. A separate entry point: the core `mha-wasm`
 * import does not load it.
 */
import type { KVCache, MhaModule } from '../index.d.mts';

/** A list of browser Files (e.g. a picked or dropped folder), an object of file names to bytes, or (Node) a folder path. */
export type ModelFiles = File[] | FileList | Record<string, ArrayBuffer | Uint8Array | Blob> | string;

export interface LoadProgress {
  stage: 'loading';
  /** Layers loaded so far, of `total`. */
  loaded: number;
  total: number;
}

export interface LoadModelOptions {
  onProgress?: (progress: LoadProgress) => void;
}

export interface ModelCache {
  /** Tokens seen so far (the next token's position). */
  readonly length: number;
  readonly maxLength: number;
  /** One cache per attention layer. */
  readonly layers: KVCache[];
  truncate(length: number): this;
  reset(): this;
  dispose(): void;
}

export interface ModelTokenizer {
  /** Token ids, with BOS where the tokenizer's post-processor adds it. */
  encode(text: string): number[];
  decode(ids: ArrayLike<number>, options?: { skipSpecialTokens?: boolean }): string;
}

export interface GenerateOptions {
  /** @defaultValue 64 */
  maxNewTokens?: number;
  /** 0 or absent: greedy. @defaultValue 0 */
  temperature?: number;
  /** Keep the k most likely tokens (0 = all). @defaultValue 0 */
  topK?: number;
  /** Keep the smallest set whose probability reaches p. @defaultValue 1 */
  topP?: number;
  /** @defaultValue 0 */
  seed?: number;
  /** Continue in this cache (its tokens come first); otherwise a fresh one is made and freed. */
  cache?: ModelCache;
}

export interface ForwardResult {
  /** [L, vocab]; [1, vocab] with lastOnly. */
  logits: { data: Float32Array; shape: [number, number] };
  /** With needWeights: per layer, (H, L, S) with S every key seen, the cached ones included. */
  attentions: { data: Float32Array; shape: number[] }[] | null;
  /**
   * With needAttentionIO, per layer: the attention's input (the normed hidden state the
   * q/k/v projections read) and its output (after the output projection), each (L, E).
   */
  attentionIO?: { input: { data: Float32Array; shape: [number, number] }; output: { data: Float32Array; shape: [number, number] } }[];
}

export interface Model {
  /** config.json's model_type. */
  readonly architecture: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly tokenizer: ModelTokenizer | null;
  readonly numLayers: number;
  readonly numHeads: number;
  createCache(options?: { maxLength?: number }): ModelCache;
  /** lastOnly: logits of the last position only, [1, vocab] (a prompt's prefill needs no more). */
  forward(ids: number[] | Int32Array, options?: { cache?: ModelCache; needWeights?: boolean; needAttentionIO?: boolean; lastOnly?: boolean }): ForwardResult;
  /** Yields each new token; stops at maxNewTokens or the config's eos_token_id. */
  generate(prompt: string | number[], options?: GenerateOptions): AsyncGenerator<{ id: number; text: string }>;
  /** Frees every layer and cache of the model. */
  dispose(): void;
}

export declare const SUPPORTED_ARCHITECTURES: readonly string[];
export declare function loadModel(mha: MhaModule, files: ModelFiles, options?: LoadModelOptions): Promise<Model>;
export declare function createSampler(options?: { temperature?: number; topK?: number; topP?: number; seed?: number }): (logits: Float32Array) => number;
export declare function filterCandidates(
  logits: Float32Array,
  options: { temperature: number; topK?: number; topP?: number },
): { id: number; probability: number; original: number }[];
export declare function seededRandom(seed: number): () => number;
