// The forward pass every supported architecture shares: a pre-norm decoder.
//
//   x = embed(ids, positions)
//   per layer: x += attention(norm1(x)); x += mlp(norm2(x))
//   logits = lmHead(finalNorm(x))
//
// Each architecture (gpt2.mjs, llama.mjs) supplies those pieces, built on the
// library's layers; this file holds the loop, the cache bookkeeping and the
// result shapes. Batch 1: x is (L, E). With needAttentionIO, each layer's
// attention input (the normed x) and output (after the output projection)
// are returned too, for views that show what happens inside a layer.

/**
 * parts: { hidden, vocab, embed(ids, first) -> (L, E), layers: [{ norm1, attention(h, L, { cache, needWeights }),
 *          norm2, mlp(h, L) }], finalNorm(x), lmHead(x, rows) -> (rows, vocab) }.
 */
export function createDecoder(parts) {
  const { hidden: E, vocab } = parts;
  return function forward(ids, { cache, needWeights = false, lastOnly = false, needAttentionIO = false } = {}) {
    const L = ids.length;
    const first = cache ? cache.length : 0;
    let x = parts.embed(ids, first);
    const attentions = needWeights ? [] : null;
    const attentionIO = needAttentionIO ? [] : null;
    parts.layers.forEach((layer, l) => {
      const h = layer.norm1(x);
      const a = layer.attention(h, L, { cache: cache?.layers[l], needWeights });
      if (needAttentionIO) attentionIO.push({ input: { data: h, shape: [L, E] }, output: { data: a.output, shape: [L, E] } });
      for (let i = 0; i < x.length; i++) x[i] += a.output[i];
      if (needWeights) attentions.push(a.weights);
      const m = layer.mlp(layer.norm2(x), L);
      for (let i = 0; i < x.length; i++) x[i] += m[i];
    });
    const rows = lastOnly ? 1 : L;
    const normed = parts.finalNorm(lastOnly ? x.subarray((L - 1) * E) : x);
    return { logits: { data: parts.lmHead(normed, rows), shape: [rows, vocab] }, attentions, ...(needAttentionIO ? { attentionIO } : {}) };
  };
}
