// onnxruntime-web for the decoding section (bench/decode.mjs): one thread,
// wasm execution provider, graphOptimizationLevel 'all', like runners/onnxruntime.mjs.
// The graphs are the decode_* files of scripts/make_onnx_models.py. ORT keeps
// no state between runs: the caller passes the cache in as past_key/past_value
// (1, H, P, D) and gets present_key/present_value (1, H, P+1, D) back, with the
// new token appended by ORT. Every timed run fetches Y and both presents, as a
// caller that feeds the presents back as the next past must.
//
// With one new token, (1, 1, E) and (1, H, 1, D) are the same bytes, so the
// contrib op's (B, T, E) inputs and output need no layout change.
//
// The "no past" rows (pastPresent: false) are what a caller that keeps the
// cache in JavaScript could do instead: in (S, E) rows, appending a token
// writes E floats at the end, and the first N + 1 rows are one contiguous
// view, so nothing is copied in JavaScript per step, and ORT returns no
// presents. SDPA: all N + 1 keys and values as (1, N+1, E), to opset-23
// Attention on 3-D inputs (decode_sdpa_attn23_nopast.onnx) or to the contrib
// op of the main rows (sdpa_mha_full.onnx). Layer: the cached projected rows
// (1, N, E) in, concatenated with the new token's inside the graph, and that
// token's k and v (1, 1, E) out, for the caller to append
// (decode_layer_attn23_nopresent.onnx). The targets use the past/present rows.
import { headsToRows } from '../inputs.mjs';

const OUTPUTS = ['Y', 'present_key', 'present_value'];

// Variant name -> graph file and the names of its q/k/v inputs with their dims
// for one new token ('rows' = (1, 1, E), 'heads' = (1, H, 1, D)).
const SDPA_GRAPHS = [
  { variant: 'MultiHeadAttention', file: 'decode_sdpa_mha', names: ['query', 'key', 'value'], layout: 'rows' },
  { variant: 'Attention-23', file: 'decode_sdpa_attn23', names: ['Q', 'K', 'V'], layout: 'heads' },
  { variant: 'plain ops', file: 'decode_sdpa_ops', names: ['Q', 'K', 'V'], layout: 'heads' },
];
const LAYER_GRAPHS = [
  { variant: 'MultiHeadAttention', file: 'decode_layer_mha' },
  { variant: 'Attention-23', file: 'decode_layer_attn23' },
  { variant: 'plain ops', file: 'decode_layer_ops' },
];

export async function onnxRuntimeDecode(ort, env, model) {
  ort.env.wasm.numThreads = 1; // read once, when ORT's wasm module loads (see runners/onnxruntime.mjs)
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = env.ortWasmPaths; // local files: never the CDN default
  ort.env.logLevel = 'error';
  const { heads: h, headDim: d, embedDim: e } = model;
  const sessions = new Map();
  async function session(file) {
    if (!sessions.has(file)) {
      const bytes = await env.readCache(`onnx/${file}.onnx`);
      sessions.set(file, await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 }));
    }
    return sessions.get(file);
  }
  const tensor = (data, dims) => new ort.Tensor('float32', data, dims);
  const pastFeeds = (pastKey, pastValue, length) => ({
    past_key: tensor(pastKey, [1, h, length, d]),
    past_value: tensor(pastValue, [1, h, length, d]),
  });

  // SDPA step at P = length cached keys: q/k/v of the new token (1, H, 1, D), past (1, H, P, D).
  const sdpa = SDPA_GRAPHS.map(({ variant, file, names, layout }) => ({
    name: `ORT SDPA ${variant}`,
    group: 'ORT SDPA',
    variant,
    kind: 'sdpa',
    pastPresent: true,
    async prepare({ query, key, value, pastKey, pastValue, length }) {
      const sess = await session(file);
      const dims = layout === 'rows' ? [1, 1, e] : [1, h, 1, d];
      const feeds = { [names[0]]: tensor(query, dims), [names[1]]: tensor(key, dims), [names[2]]: tensor(value, dims), ...pastFeeds(pastKey, pastValue, length) };
      return { run: () => sess.run(feeds, OUTPUTS) };
    },
  }));
  // keyAll/valueAll (1, H, N+1, D): their (1, N+1, E) copies are the caller's JavaScript cache, made once per N.
  const NO_PAST = [
    { variant: 'Attention-23, no past', file: 'decode_sdpa_attn23_nopast', names: ['Q', 'K', 'V'] },
    { variant: 'MultiHeadAttention, no past', file: 'sdpa_mha_full', names: ['query', 'key', 'value'] },
  ];
  for (const { variant, file, names } of NO_PAST) {
    sdpa.push({
      name: `ORT SDPA ${variant}`,
      group: 'ORT SDPA, no past',
      variant,
      kind: 'sdpa',
      pastPresent: false,
      async prepare({ query, keyAll, valueAll, length }) {
        const sess = await session(file);
        const rows = length + 1;
        const feeds = {
          [names[0]]: tensor(query, [1, 1, e]),
          [names[1]]: tensor(headsToRows(keyAll, h, rows, d), [1, rows, e]),
          [names[2]]: tensor(headsToRows(valueAll, h, rows, d), [1, rows, e]),
        };
        return { run: () => sess.run(feeds, ['Y']) };
      },
    });
  }

  // Layer step: x (1, 1, E) and the projected past (1, H, P, D).
  const layer = LAYER_GRAPHS.map(({ variant, file }) => ({
    name: `ORT layer ${variant}`,
    group: 'ORT layer',
    variant,
    kind: 'layer',
    pastPresent: true,
    async prepare({ x, pastKey, pastValue, length }) {
      const sess = await session(file);
      const feeds = { x: tensor(x, [1, 1, e]), ...pastFeeds(pastKey, pastValue, length) };
      return { run: () => sess.run(feeds, OUTPUTS) };
    },
    // Generation: from an empty past, one run per token, each run's presents
    // fed back as the next past (what an ORT user does). Returns every step's output.
    async prepareLoop(tokens, count) {
      const sess = await session(file);
      const empty = new Float32Array(0);
      const xs = Array.from({ length: count }, (_, t) => tensor(tokens.subarray(t * e, (t + 1) * e), [1, 1, e]));
      return {
        async run(outputs) {
          let pastKey = tensor(empty, [1, h, 0, d]);
          let pastValue = tensor(empty, [1, h, 0, d]);
          for (let t = 0; t < count; t++) {
            const r = await sess.run({ x: xs[t], past_key: pastKey, past_value: pastValue }, OUTPUTS);
            pastKey = r.present_key;
            pastValue = r.present_value;
            if (outputs) outputs.set(r.Y.data, t * e);
          }
          return { length: pastKey.dims[2] };
        },
      };
    },
  }));

  // Layer without presents: the cache is the caller's, (1, N, E) projected rows.
  layer.push({
    name: 'ORT layer Attention-23, no present',
    group: 'ORT layer, no present',
    variant: 'Attention-23, no present',
    kind: 'layer',
    pastPresent: false,
    // pastKey/pastValue (1, H, N, D) as ORT projected them; their rows copies are made once per N.
    async prepare({ x, pastKey, pastValue, length }) {
      const sess = await session('decode_layer_attn23_nopresent');
      const feeds = {
        x: tensor(x, [1, 1, e]),
        past_key_rows: tensor(headsToRows(pastKey, h, length, d), [1, length, e]),
        past_value_rows: tensor(headsToRows(pastValue, h, length, d), [1, length, e]),
      };
      return { run: () => sess.run(feeds, ['Y', 'new_key', 'new_value']) };
    },
    // Generation with the cache in JavaScript: two (count, E) arrays; each run
    // gets their first t rows as the past, and its new k/v rows are written at row t.
    async prepareLoop(tokens, count) {
      const sess = await session('decode_layer_attn23_nopresent');
      const keys = new Float32Array(count * e), values = new Float32Array(count * e);
      const xs = Array.from({ length: count }, (_, t) => tensor(tokens.subarray(t * e, (t + 1) * e), [1, 1, e]));
      return {
        async run(outputs) {
          let t = 0;
          for (; t < count; t++) {
            const r = await sess.run({
              x: xs[t],
              past_key_rows: tensor(keys.subarray(0, t * e), [1, t, e]),
              past_value_rows: tensor(values.subarray(0, t * e), [1, t, e]),
            }, ['Y', 'new_key', 'new_value']);
            keys.set(r.new_key.data, t * e);
            values.set(r.new_value.data, t * e);
            if (outputs) outputs.set(r.Y.data, t * e);
          }
          return { length: t };
        },
      };
    },
  });

  // Not timed: the layer's projected keys and values of `count` tokens, (1, H, count, D) each,
  // to build the past that ORT is given (mha-wasm's layer cache holds its own projections of the same tokens).
  async function projectKeysValues(tokens, count) {
    const sess = await session('decode_kv_proj');
    const r = await sess.run({ x: tensor(tokens.subarray(0, count * e), [1, count, e]) });
    return { key: r.K.data, value: r.V.data };
  }

  return { sdpa, layer, projectKeysValues };
}
