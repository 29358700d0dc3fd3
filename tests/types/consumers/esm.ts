// An ES module consumer (node16 with "type": "module", or a bundler).
import { init, parseSafetensors, VERSION, type KVCache, type MultiHeadAttention } from 'mha-wasm';
import * as entry from 'mha-wasm';
import { options, use } from './body.js';

const mha = await init(options);
const layer: MultiHeadAttention = mha.createMultiHeadAttention({ embedDim: 8, numHeads: 2 });
const cache: KVCache = layer.createCache({ batchSize: 1, maxLength: 8 });
const version: string = VERSION;
const tensors = parseSafetensors(new Uint8Array(8)).tensors;
// @ts-expect-error MultiHeadAttention is a type-only export: it is not exported at run time
void entry.MultiHeadAttention;
// @ts-expect-error KVCache is a type-only export
void entry.KVCache;
void [use(mha), cache, version, tensors];
