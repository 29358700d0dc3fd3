// PyTorch's nn.Linear on the library's packed matrix multiply: the rest of a
// Transformer block (MLP, LM head) next to the attention layers.
import { describe, readBoolean, readOptions, readPositiveInteger, readTensor, throwIfError } from './arguments.mjs';
import { readOut } from './results.mjs';
import { CORE, OwnedCore } from './weights.mjs';

const LINEAR_OPTIONS = ['inFeatures', 'outFeatures', 'bias'];
const FORWARD_OPTIONS = ['out'];

export function readLinearOptions(options) {
  if (options === undefined || options === null) {
    throw new TypeError(`createLinear: expected an options object with inFeatures and outFeatures, got ${describe(options)}`);
  }
  const o = readOptions(options, LINEAR_OPTIONS, 'createLinear');
  return {
    inFeatures: readPositiveInteger(o.inFeatures, 'inFeatures'),
    outFeatures: readPositiveInteger(o.outFeatures, 'outFeatures'),
    bias: readBoolean(o.bias, 'bias', true),
  };
}

export class Linear extends OwnedCore {
  #caller;
  #config;
  #calls;

  /** @internal Use `mha.createLinear(options)`. */
  constructor(module, caller, config) {
    throwIfError(module.checkLinearConfig(config.inFeatures, config.outFeatures, config.bias), 'createLinear');
    const core = new module.LinearCore(config.inFeatures, config.outFeatures, config.bias);
    super(module, core, 'Linear');
    this.#caller = caller;
    this.#config = Object.freeze({ ...config });
    this.#calls = { plan: (address) => core.plan(address), run: () => core.run(), release: () => core.releaseCallMemory() };
  }

  get config() {
    return this.#config;
  }

  get inFeatures() {
    return this.#config.inFeatures;
  }

  get outFeatures() {
    return this.#config.outFeatures;
  }

  /** x (..., inFeatures) -> { output: (..., outFeatures), weights: null }. */
  forward(x, options) {
    this[CORE]('forward');
    const o = readOptions(options, FORWARD_OPTIONS, 'forward options');
    return this.#caller.call('forward', this.#calls, [readTensor(x, 'x')], {}, readOut(o.out));
  }
}
