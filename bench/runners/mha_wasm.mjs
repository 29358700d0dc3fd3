// mha-wasm through its public API: the reference every other row is checked
// against and divided by. Timed calls include the copies of the inputs into
// the wasm heap and of the results out of it, as a user of the package pays them.
//
// SDPA: q (1, H, L, D), k/v (1, H, S, D). Layer: forward(x, x, x) on (L, 1, E)
// (memory (S, 1, E) as key/value when S != L), averageAttnWeights: false.

// With threads > 1 (an instance from init({ threads })), the rows are named
// "mha-wasm SDPA, 2 threads" etc. and are checked and compared like a peer's.
export function mhaWasmRunners(mha, { threads = 1 } = {}) {
  const suffix = threads > 1 ? `, ${threads} threads` : '';
  const sdpa = {
    name: `mha-wasm SDPA${suffix}`,
    kind: 'sdpa',
    own: true, // mha-wasm's own row: always in the interleaved rounds (harness.mjs)
    reference: threads === 1,
    prepare(shape, data) {
      const { heads: h, queryLen: l, keyLen: s, headDim: d } = shape;
      const q = { data: data.sdpa.query, shape: [1, h, l, d] };
      const k = { data: data.sdpa.key, shape: [1, h, s, d] };
      const v = { data: data.sdpa.value, shape: [1, h, s, d] };
      const options = { isCausal: shape.causal, needWeights: shape.needWeights };
      return {
        run: (out) => mha.scaledDotProductAttention(q, k, v, out ? { ...options, out } : options),
        read: (r) => ({ output: r.output.data, weights: r.weights ? r.weights.data : null }),
        dispose() {},
      };
    },
  };
  const layer = {
    name: `mha-wasm layer${suffix}`,
    kind: 'layer',
    own: true,
    reference: threads === 1,
    prepare(shape, data) {
      const { queryLen: l, keyLen: s, embedDim: e } = shape;
      const mhaLayer = mha.createMultiHeadAttention({ embedDim: e, numHeads: shape.heads });
      mhaLayer.loadWeights(data.weights);
      const x = { data: data.layer.x, shape: [l, 1, e] };
      const memory = data.layer.memory === data.layer.x ? x : { data: data.layer.memory, shape: [s, 1, e] };
      const options = { isCausal: shape.causal, needWeights: shape.needWeights, averageAttnWeights: false };
      return {
        run: (out) => mhaLayer.forward(x, memory, memory, out ? { ...options, out } : options),
        read: (r) => ({ output: r.output.data, weights: r.weights ? r.weights.data : null }),
        dispose: () => mhaLayer.dispose(),
      };
    },
  };
  if (threads > 1) return [sdpa, layer];
  // With weights, the same calls writing into arrays allocated once per shape
  // (options.out), as a caller that reuses its result arrays would.
  const reusing = (runner) => ({
    ...runner,
    name: `${runner.name}, out arrays`,
    reference: false,
    applies: (shape) => (shape.needWeights ? true : 'only with weights'),
    prepare(shape, data) {
      const { heads: h, queryLen: l, keyLen: s, headDim: d, embedDim: e } = shape;
      // SDPA output (1, H, L, D), layer output (L, 1, E); weights (1, H, L, S) per head in both.
      const out = { output: new Float32Array(runner.kind === 'sdpa' ? h * l * d : l * e), weights: new Float32Array(h * l * s) };
      const prepared = runner.prepare(shape, data);
      return { ...prepared, run: () => prepared.run(out) };
    },
  });
  // With weights, the same call without them, interleaved with the out-arrays
  // row: the price of asking for the weights (the "with weights vs without" target).
  const withoutWeights = (runner) => ({
    ...runner,
    name: `${runner.name}, without weights`,
    reference: false,
    outputOnly: true, // checked on the output alone: it returns no weights
    applies: (shape) => (shape.needWeights ? true : 'only with weights'),
    prepare: (shape, data) => runner.prepare({ ...shape, needWeights: false }, data),
  });
  const outArrays = [reusing(sdpa), reusing(layer)].map((r) => ({ ...r, compareTo: `${r.name.replace(', out arrays', '')}, without weights` }));
  return [sdpa, layer, ...outArrays, withoutWeights(sdpa), withoutWeights(layer)];
}
