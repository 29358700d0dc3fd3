// FLOP counts used for the GFLOP/s column (useful work, not what an
// implementation happens to execute).
//
// Shape letters: H heads, L query length, S key length, D head dim, E embed dim.
//
//   pairs      = L·S, or for the top-left causal mask Σ_{i<L} min(i+1, S)
//                (masked pairs are work a good kernel skips, so they are not counted)
//   SDPA       = H · pairs · (2·D for Q·Kᵀ + 2·D for P·V) = 4·H·D·pairs
//   layer      = 2·E²·L (Q projection) + 2·2·E²·S (K and V) + 2·E²·L (output) + SDPA
//
// The softmax (max, exp, sum, divide: ~5 operations per pair) and the bias
// adds are not counted, and returning the weights adds memory traffic, not FLOPs.
// bench/native/attention_benchmark.cpp uses the same formulas.

export function attendedPairs({ queryLen, keyLen, causal }) {
  if (!causal) return queryLen * keyLen;
  // Rows 0..min(L,S)-1 see i+1 keys; the remaining rows see all S.
  const m = Math.min(queryLen, keyLen);
  return (m * (m + 1)) / 2 + (queryLen - m) * keyLen;
}

export function sdpaFlops(shape) {
  return 4 * shape.heads * shape.headDim * attendedPairs(shape);
}

export function layerFlops(shape) {
  const e = shape.embedDim;
  return 2 * e * e * (2 * shape.queryLen + 2 * shape.keyLen) + sdpaFlops(shape);
}

export function flopsOf(kind, shape) {
  return kind === 'sdpa' ? sdpaFlops(shape) : layerFlops(shape);
}

/** The formulas above, as recorded in bench/results/*.json. */
export const FORMULAS = {
  pairs: 'L*S, or sum_{i<L} min(i+1, S) with the causal mask',
  sdpa: '4*H*D*pairs (2*D for Q.K^T + 2*D for P.V per head and unmasked pair)',
  layer: '2*E^2*(2*L + 2*S) + sdpa (Q and output projections over L rows, K and V over S rows)',
  notCounted: 'softmax (exp, max, sum, divide), bias adds, weights output',
};
