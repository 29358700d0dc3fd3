// Expands bench/shapes.json into the list of cases the harness runs.
// A case: { key, label, heads, headDim, embedDim, queryLen, keyLen, causal, needWeights }.

export function expandShapes(spec, { quick = false } = {}) {
  const { embedDim, heads, headDim } = spec.model;
  const lengths = quick ? spec.quickLengths : spec.lengths;
  const maxWeights = quick ? spec.quickNeedWeightsMaxLength : spec.needWeightsMaxLength;
  const cases = [];
  const add = (queryLen, keyLen, causal, needWeights, decode = false) => {
    const key = `${queryLen}x${keyLen}c${causal ? 1 : 0}w${needWeights ? 1 : 0}`;
    const label = `${decode ? 'decode ' : ''}L=${queryLen} S=${keyLen} ${causal ? 'causal' : 'full'}${needWeights ? ' +weights' : ''}`;
    cases.push({ key, label, heads, headDim, embedDim, queryLen, keyLen, causal, needWeights });
  };
  for (const l of lengths) {
    for (const causal of [false, true]) {
      add(l, l, causal, false);
      if (l <= maxWeights) add(l, l, causal, true);
    }
  }
  for (const { queryLen, keyLen } of spec.decode) {
    add(queryLen, keyLen, false, false, true);
    add(queryLen, keyLen, false, true, true);
  }
  return cases;
}

/** Case-insensitive substring match on "<shape label> <row name>". */
export function matchesFilter(filter, shape, rowName) {
  if (!filter) return true;
  return `${shape.label} ${rowName}`.toLowerCase().includes(filter.toLowerCase());
}
