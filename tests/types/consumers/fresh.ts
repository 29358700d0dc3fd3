// TypeScript >= 5.7 only (typed arrays are generic there): fresh results are
// on a plain ArrayBuffer; results written into `out` arrays have their type.
import type { MhaModule } from 'mha-wasm';

export function fresh(mha: MhaModule): number {
  const x = { data: new Float32Array(32), shape: [4, 8] };
  const own: Float32Array<ArrayBuffer> = mha.scaledDotProductAttention(x, x, x).output.data;
  const shared = new Float32Array(new SharedArrayBuffer(32 * 4));
  const into = mha.scaledDotProductAttention(x, x, x, { out: { output: shared } });
  const same: Float32Array<SharedArrayBuffer> = into.output.data;
  // @ts-expect-error a result in a SharedArrayBuffer is not on a plain ArrayBuffer
  const notOwn: Float32Array<ArrayBuffer> = into.output.data;
  return own.length + same.length + notOwn.length;
}
