// A CommonJS consumer (node16, "type": "commonjs"): require() resolves the
// package's CommonJS entry and its .d.cts types.
import mha = require('mha-wasm');
import { init, type MultiHeadAttention } from 'mha-wasm';
import { options, use } from './body';

async function main(): Promise<number> {
  const module = await init(options);
  const layer: MultiHeadAttention = module.createMultiHeadAttention({ embedDim: 8, numHeads: 2 });
  const version: string = mha.VERSION;
  // @ts-expect-error MultiHeadAttention is a type-only export
  void mha.MultiHeadAttention;
  layer.dispose();
  return use(await mha.init()) + version.length;
}
void main;
