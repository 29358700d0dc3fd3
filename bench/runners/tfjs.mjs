// TensorFlow.js with its WebAssembly backend (XNNPACK inside), one thread.
//
// SDPA as a user composes it on (H, L, D) batches: matMul(q, k, transposeB),
// times 1/sqrt(D), plus the additive causal mask, softmax, matMul with v.
// Layer: fused matMul + bias for the projections (weights transposed once at
// setup), split into heads with reshape/transpose, the same SDPA, merge, output
// projection. Each timed call reads the results back with dataSync(), as a
// caller that wants the numbers must. Only the functional API is used:
// tfjs-core alone does not register the chained methods (t.reshape(...)).

export async function tfjsRunners({ tf, wasm }, env) {
  wasm.setWasmPaths(env.tfWasmPaths); // local files: never the CDN default
  // One thread: the single-threaded SIMD binary, even where SharedArrayBuffer exists.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();

  function attention(q, k, v, mask, scale) {
    let scores = tf.mul(tf.matMul(q, k, false, true), scale);
    if (mask) scores = tf.add(scores, mask);
    const p = tf.softmax(scores);
    return { y: tf.matMul(p, v), p };
  }
  // The harness's additive (L, S) causal mask (0 / -inf), uploaded once per shape.
  const maskTensor = (shape, data) => (data.mask ? tf.tensor2d(data.mask, [shape.queryLen, shape.keyLen]) : null);
  function read(result) {
    const out = { output: result.y.dataSync(), weights: result.p ? result.p.dataSync() : null };
    result.y.dispose();
    if (result.p) result.p.dispose();
    return out;
  }

  const sdpa = {
    name: 'TF.js SDPA',
    kind: 'sdpa',
    limitMs: 5000,
    applies: () => true,
    prepare(shape, data) {
      const { heads: h, queryLen: l, keyLen: s, headDim: d } = shape;
      const q = tf.tensor3d(data.sdpa.query, [h, l, d]);
      const k = tf.tensor3d(data.sdpa.key, [h, s, d]);
      const v = tf.tensor3d(data.sdpa.value, [h, s, d]);
      const mask = maskTensor(shape, data);
      const scale = 1 / Math.sqrt(d);
      const run = () => {
        const r = tf.tidy(() => {
          const { y, p } = attention(q, k, v, mask, scale);
          return shape.needWeights ? { y, p } : { y };
        });
        return read(r);
      };
      return { run, read: (r) => r, dispose: () => tf.dispose([q, k, v, mask].filter(Boolean)) };
    },
  };

  const layer = {
    name: 'TF.js layer',
    kind: 'layer',
    limitMs: 5000,
    applies: () => true,
    prepare(shape, data) {
      const { heads: h, queryLen: l, keyLen: s, headDim: d, embedDim: e } = shape;
      const w = data.weights;
      const inW = tf.tensor2d(w.in_proj_weight, [3 * e, e]);
      const inB = tf.tensor1d(w.in_proj_bias);
      // x·Wᵀ: transposed once here, so each call streams (E, E) matrices.
      const proj = ['q', 'k', 'v'].map((_, i) => ({
        w: tf.tidy(() => tf.transpose(tf.slice(inW, [i * e, 0], [e, e]))),
        b: tf.slice(inB, [i * e], [e]),
      }));
      const outW = tf.tidy(() => tf.transpose(tf.tensor2d(w['out_proj.weight'], [e, e])));
      const outB = tf.tensor1d(w['out_proj.bias']);
      tf.dispose([inW, inB]);
      const x = tf.tensor2d(data.layer.x, [l, e]);
      const memory = data.layer.memory === data.layer.x ? x : tf.tensor2d(data.layer.memory, [s, e]);
      const mask = maskTensor(shape, data);
      const scale = 1 / Math.sqrt(d);
      const heads = (t, len) => tf.transpose(tf.reshape(t, [len, h, d]), [1, 0, 2]);
      const run = () => {
        const r = tf.tidy(() => {
          const project = (input, { w: pw, b }) => tf.fused.matMul({ a: input, b: pw, bias: b });
          const q = heads(project(x, proj[0]), l);
          const k = heads(project(memory, proj[1]), s);
          const v = heads(project(memory, proj[2]), s);
          const { y, p } = attention(q, k, v, mask, scale);
          const merged = tf.reshape(tf.transpose(y, [1, 0, 2]), [l, e]);
          const out = tf.fused.matMul({ a: merged, b: outW, bias: outB });
          return shape.needWeights ? { y: out, p } : { y: out };
        });
        return read(r);
      };
      const owned = [x, memory, mask, outW, outB, ...proj.flatMap((p) => [p.w, p.b])].filter(Boolean);
      return { run, read: (r) => r, dispose: () => tf.dispose([...new Set(owned)]) };
    },
  };
  return [sdpa, layer];
}
