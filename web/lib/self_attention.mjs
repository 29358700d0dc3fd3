// A decoder's attention layer with Hugging Face Llama-family weight names:
// grouped-query attention, rotary embeddings, ALiBi, a sliding window and a
// logit softcap (src/mha/self_attention.hpp has the computation).
import { describe, readBoolean, readCausalAlignment, readMask, readOptions, readPositiveInteger, readTensor, throwIfError } from './arguments.mjs';
import { KVCache } from './kv_cache.mjs';
import { readCacheOptions } from './multi_head_attention.mjs';
import { readAlibi, readRotary, readSoftcap, readWindow } from './positional.mjs';
import { readOut } from './results.mjs';
import { CORE, OwnedCore } from './weights.mjs';

const LAYER_OPTIONS = ['embedDim', 'numHeads', 'numKVHeads', 'headDim', 'bias', 'outBias', 'scale', 'rotary', 'alibi', 'window', 'softcap'];
const FORWARD_OPTIONS = ['cache', 'attnMask', 'keyPaddingMask', 'isCausal', 'causalAlignment', 'needWeights', 'averageAttnWeights', 'out'];

export function readSelfAttentionOptions(options) {
  if (options === undefined || options === null) {
    throw new TypeError(`createSelfAttention: expected an options object with embedDim and numHeads, got ${describe(options)}`);
  }
  const o = readOptions(options, LAYER_OPTIONS, 'createSelfAttention');
  const embedDim = readPositiveInteger(o.embedDim, 'embedDim');
  const numHeads = readPositiveInteger(o.numHeads, 'numHeads');
  const bias = readBoolean(o.bias, 'bias', false);
  if (o.scale !== undefined && (typeof o.scale !== 'number' || !Number.isFinite(Math.fround(o.scale)))) {
    throw new (typeof o.scale === 'number' ? RangeError : TypeError)(`scale: expected a finite number, got ${describe(o.scale)}`);
  }
  // rotary.positionOffset: the position of x's first token in calls without a cache;
  // rotary.frequencies (scaled RoPE) travel as a plain array to the C++ config.
  const read = readRotary(o.rotary);
  const rotary = read && (read.frequencies ? { ...read, frequencies: Array.from(read.frequencies) } : read);
  const alibi = readAlibi(o.alibi);
  return {
    embedDim,
    numHeads,
    numKVHeads: o.numKVHeads === undefined ? numHeads : readPositiveInteger(o.numKVHeads, 'numKVHeads'),
    headDim: o.headDim === undefined ? 0 : readPositiveInteger(o.headDim, 'headDim'),
    bias,
    outBias: readBoolean(o.outBias, 'outBias', bias),
    scale: o.scale,
    rotary,
    alibi: alibi && (alibi.standard ? { standard: true } : { standard: false, slopes: Array.from(alibi.slopes.data) }),
    window: readWindow(o.window),
    softcap: readSoftcap(o.softcap),
  };
}

export class SelfAttention extends OwnedCore {
  #caller;
  #config;
  #calls;

  /** @internal Use `mha.createSelfAttention(options)`. */
  constructor(module, caller, config) {
    throwIfError(module.checkSelfAttentionConfig(config), 'createSelfAttention');
    const core = new module.SelfAttentionCore(config);
    super(module, core, 'SelfAttention');
    this.#caller = caller;
    const headDim = config.headDim || config.embedDim / config.numHeads;
    this.#config = Object.freeze({ ...config, headDim });
    this.#calls = { plan: (address) => core.plan(address), run: () => core.run(), release: () => core.releaseCallMemory() };
  }

  /** The options the layer was created with, defaults filled in. */
  get config() {
    return this.#config;
  }

  /** A KVCache of numKVHeads heads of headDim for this layer ({ batchSize, maxLength }). */
  createCache(options) {
    const core = this[CORE]('createCache');
    const { batchSize, maxLength } = readCacheOptions(options);
    const { numKVHeads, headDim } = this.#config;
    return new KVCache(core.createCache(batchSize, maxLength), { batchSize, numHeads: numKVHeads, headDim, valueDim: headDim, maxLength }, 'createCache');
  }

  /** x (N, L, E) or (L, E) -> output like x; weights (N, L, S) or (N, H, L, S) with needWeights. */
  forward(x, options) {
    this[CORE]('forward');
    const o = readOptions(options, FORWARD_OPTIONS, 'forward options');
    const inputs = [readTensor(x, 'x'), undefined, undefined, readMask(o.attnMask, 'attnMask'), readMask(o.keyPaddingMask, 'keyPaddingMask')];
    const flags = {
      isCausal: readBoolean(o.isCausal, 'isCausal', true),
      causalAlignment: readCausalAlignment(o.causalAlignment),
      needWeights: readBoolean(o.needWeights, 'needWeights', false),
      averageAttnWeights: readBoolean(o.averageAttnWeights, 'averageAttnWeights', true),
      cache: KVCache.addressOf(o.cache, 'forward'),
    };
    return this.#caller.call('forward', this.#calls, inputs, flags, readOut(o.out));
  }
}
