// onnxruntime-web, wasm execution provider, one thread, SIMD build. The graphs
// come from scripts/make_onnx_models.py (bench/.cache/onnx/); their sequence
// dimensions are symbolic, so one session per file serves every shape.
//
// SDPA is tried three ways (the table shows the fastest that computes what the
// row needs, "ORT best"; the JSON keeps all):
//   MultiHeadAttention  com.microsoft contrib op, (1, L, E) in and out; no weights output
//   Attention-23        ONNX opset-23 Attention on (1, H, L, D); weights via qk_matmul_output_mode 3
//   plain ops           MatMul, Div, Add(mask), Softmax, MatMul on (1, H, L, D)
// Layout changes for the contrib op (heads <-> rows) happen once per shape,
// outside the timed call. The plain-op graphs take the additive causal mask
// (0 / -inf, built once per shape by the harness) as an input.

import { headsToRows, rowsToHeads } from '../inputs.mjs';

// ORT reads numThreads when its wasm module first loads, once per process or
// page, so the threads rows ({ threads: 2 }) run in a separate pass (see
// bench/README.md).
export async function onnxRuntimeRunners(ort, env, { threads = 1 } = {}) {
  ort.env.wasm.numThreads = threads;
  const suffix = threads > 1 ? `, ${threads} threads` : '';
  ort.env.wasm.simd = true; // 1.30 ships only SIMD builds (ort-wasm-simd-threaded.*); older versions read this
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = env.ortWasmPaths; // local files: never the CDN default
  ort.env.logLevel = 'error';

  const sessions = new Map();
  async function session(file) {
    if (!sessions.has(file)) {
      const bytes = await env.readCache(`onnx/${file}.onnx`);
      sessions.set(file, await ort.InferenceSession.create(bytes, {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
        // Errors only: the Attention-23 graphs' optional weights output makes ORT warn on every run
        // ("Expected shape from model of {1,12,-1,0}"), which would flood the progress log.
        logSeverityLevel: 3,
      }));
    }
    return sessions.get(file);
  }
  const tensor = (data, dims) => new ort.Tensor('float32', data, dims);
  const tag = (shape) => (shape.causal ? 'causal' : 'full');
  const fetches = (shape) => (shape.needWeights ? ['Y', 'P'] : ['Y']);
  const maskFeed = (shape, data) => (data.mask ? { mask: tensor(data.mask, [shape.queryLen, shape.keyLen]) } : {});
  const headFeeds = (shape, data) => {
    const { heads: h, queryLen: l, keyLen: s, headDim: d } = shape;
    return { Q: tensor(data.sdpa.query, [1, h, l, d]), K: tensor(data.sdpa.key, [1, h, s, d]), V: tensor(data.sdpa.value, [1, h, s, d]) };
  };
  const readYP = (r) => ({ output: r.Y.data, weights: r.P ? r.P.data : null });

  // With threads, ORT's pool threads spin after each run (bench/settle.mjs): spins tells the harness.
  const spins = threads > 1;
  const variant = (name, applies, prepare) => ({ name: `ORT SDPA ${name}${suffix}`, group: `ORT SDPA${suffix}`, variant: name, kind: 'sdpa', spins, applies, prepare });

  const contrib = variant(
    'MultiHeadAttention',
    (shape) => (shape.needWeights ? 'no weights output' : true),
    async (shape, data) => {
      const { heads: h, queryLen: l, keyLen: s, headDim: d } = shape;
      const sess = await session(`sdpa_mha_${tag(shape)}`);
      const feeds = {
        query: tensor(headsToRows(data.sdpa.query, h, l, d), [1, l, h * d]),
        key: tensor(headsToRows(data.sdpa.key, h, s, d), [1, s, h * d]),
        value: tensor(headsToRows(data.sdpa.value, h, s, d), [1, s, h * d]),
      };
      return { run: () => sess.run(feeds, ['Y']), read: (r) => ({ output: rowsToHeads(r.Y.data, h, l, d), weights: null }), dispose() {} };
    },
  );
  const attention23 = variant(
    'Attention-23',
    () => true,
    async (shape, data) => {
      const sess = await session(`sdpa_attn23_${tag(shape)}_${shape.needWeights ? 'w' : 'nw'}`);
      const feeds = headFeeds(shape, data);
      return { run: () => sess.run(feeds, fetches(shape)), read: readYP, dispose() {} };
    },
  );
  const plainOps = variant(
    'plain ops',
    () => true,
    async (shape, data) => {
      const sess = await session(`sdpa_ops_${tag(shape)}`);
      const feeds = { ...headFeeds(shape, data), ...maskFeed(shape, data) };
      return { run: () => sess.run(feeds, fetches(shape)), read: readYP, dispose() {} };
    },
  );
  const layer = {
    name: `ORT layer${suffix}`,
    kind: 'layer',
    spins,
    applies: () => true,
    async prepare(shape, data) {
      const { queryLen: l, keyLen: s, embedDim: e } = shape;
      const sess = await session(`layer_${tag(shape)}`);
      const x = tensor(data.layer.x, [1, l, e]);
      const memory = data.layer.memory === data.layer.x ? x : tensor(data.layer.memory, [1, s, e]);
      const feeds = { x, memory, ...maskFeed(shape, data) };
      return { run: () => sess.run(feeds, fetches(shape)), read: readYP, dispose() {} };
    },
  };
  return [contrib, attention23, plainOps, layer];
}
