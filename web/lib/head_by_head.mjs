// Large scaledDotProductAttention calls without weights run one (batch, head)
// at a time. WebAssembly memory never shrinks, so copying a whole (B, H, L, D)
// query, key and value in at once would leave the heap at their full size for
// the rest of the page's life (over 200 MB at L = 16384 with 12 heads of 64).
// Head by head, only one head's slices are in the heap at any moment. Heads
// are independent, so the results are bit-identical to a single call.
import { checkOutLength } from './results.mjs';

/** Above this many input bytes (query + key + value + mask), go head by head. */
export const HEAD_BY_HEAD_BYTES = 32 * 2 ** 20;

export function wantsHeadByHead(tensors, attnMask, needWeights) {
  if (needWeights || tensors.query.shape.length !== 4) return false;
  const [batch, heads] = tensors.query.shape;
  const bytes = [tensors.query, tensors.key, tensors.value, attnMask].reduce((sum, t) => sum + (t ? t.data.byteLength : 0), 0);
  return batch * heads > 1 && bytes > HEAD_BY_HEAD_BYTES;
}

/** The (1, 1, L, D) slice of a contiguous (B, H, L, D) tensor. */
function headSlice(tensor, b, h) {
  const [, heads, length, dim] = tensor.shape;
  const size = length * dim;
  const offset = (b * heads + h) * size;
  return { data: tensor.data.subarray(offset, offset + size), shape: [1, 1, length, dim] };
}

/** The part of a mask (rank 1-4, broadcast to (B, H, Lq, Lk)) that applies to one (b, h). */
function maskSlice(mask, b, h) {
  const [maskBatch, maskHeads, rows, columns] = [...Array(4 - mask.shape.length).fill(1), ...mask.shape];
  const offset = ((maskBatch === 1 ? 0 : b) * maskHeads + (maskHeads === 1 ? 0 : h)) * rows * columns;
  return { data: mask.data.subarray(offset, offset + rows * columns), shape: [rows, columns], kind: mask.kind };
}

/**
 * Runs attendOne(tensors, attnMask) -> { output: heap view } per (b, h) of
 * arguments already checked for the whole call, and assembles the output, in
 * `target` when the caller gave one.
 */
export function attendHeadByHead(tensors, attnMask, attendOne, target) {
  const [batch, heads, queryLen] = tensors.query.shape;
  const valueDim = tensors.value.shape[3];
  const shape = [batch, heads, queryLen, valueDim];
  checkOutLength(target, shape, 'scaledDotProductAttention: out.output');
  const output = target ?? new Float32Array(batch * heads * queryLen * valueDim);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const slice = { query: headSlice(tensors.query, b, h), key: headSlice(tensors.key, b, h), value: headSlice(tensors.value, b, h) };
      const result = attendOne(slice, attnMask && maskSlice(attnMask, b, h));
      output.set(result.output, (b * heads + h) * queryLen * valueDim);
    }
  }
  return { output: { data: output, shape }, weights: null };
}
