// One forward pass on fixed inputs, the same in every scenario; the test
// compares it with a float64 reference computed in Node (tests/package/reference.mjs).
export const CONFIG = { embedDim: 16, numHeads: 4, batchFirst: true };
export const SHAPE = [2, 5, 16];

const values = (n, step, phase) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * step + phase) * 0.5);

export function inputs() {
  const E = CONFIG.embedDim;
  return {
    stateDict: {
      in_proj_weight: values(3 * E * E, 0.37, 0.1),
      in_proj_bias: values(3 * E, 0.91, 0.2),
      'out_proj.weight': values(E * E, 0.53, 0.3),
      'out_proj.bias': values(E, 1.7, 0.4),
    },
    query: { data: values(SHAPE[0] * SHAPE[1] * SHAPE[2], 0.29, 0.5), shape: SHAPE },
  };
}

export function compute(mha) {
  const { stateDict, query } = inputs();
  const layer = mha.createMultiHeadAttention(CONFIG);
  layer.loadWeights(stateDict);
  const { output, weights } = layer.forward(query, query, query, { needWeights: true, averageAttnWeights: false, isCausal: true });
  layer.dispose();
  return {
    capabilities: mha.capabilities,
    output: { data: Array.from(output.data), shape: output.shape },
    weights: { data: Array.from(weights.data), shape: weights.shape },
  };
}
