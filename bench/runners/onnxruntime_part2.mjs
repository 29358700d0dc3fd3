// onnxruntime-web for the Linear and decoder-options sections (bench/linear.mjs,
// bench/decoder_options.mjs): one thread, wasm execution provider,
// graphOptimizationLevel 'all', as in runners/onnxruntime.mjs. The graphs come
// from scripts/make_onnx_models.py (bench/.cache/onnx/):
//   linear_<in>x<out>.onnx   MatMul + Add, W^T (in, out) and b as initializers
//   gqa_decode_gqa.onnx      com.microsoft GroupQueryAttention, past/present (BNSH), seqlens_k, total_sequence_length
//   gqa_decode_attn23.onnx   opset-23 Attention on 4-D Q (1, 32, T, D), K/V (1, 8, T, D), past/present
//   window_gqa.onnx          GroupQueryAttention on a prompt, no past, local_window_size = 255
// ORT keeps no state between runs: a decoding caller passes its cache in as
// past_key/past_value and gets present_key/present_value back (the new token
// appended by ORT), and feeds the presents in as the next run's past.
import { rowsToHeads } from '../inputs.mjs';

const PRESENTS = ['present_key', 'present_value'];

export async function onnxRuntimePart2(ort, env) {
  ort.env.wasm.numThreads = 1; // read once, when ORT's wasm module loads (see runners/onnxruntime.mjs)
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = env.ortWasmPaths; // local files: never the CDN default
  ort.env.logLevel = 'error';
  const sessions = new Map();
  async function session(file) {
    if (!sessions.has(file)) {
      const bytes = await env.readCache(`onnx/${file}.onnx`);
      sessions.set(file, await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 }));
    }
    return sessions.get(file);
  }
  const tensor = (data, dims) => new ort.Tensor('float32', data, dims);
  const int32 = (value, dims) => new ort.Tensor('int32', new Int32Array([value]), dims);

  /** nn.Linear(in, out) on x (rows, in): { run, output }. */
  async function linear({ inFeatures, outFeatures }, x, rows) {
    const sess = await session(`linear_${inFeatures}x${outFeatures}`);
    const feeds = { x: tensor(x, [rows, inFeatures]) };
    return { run: () => sess.run(feeds, ['Y']), output: (r) => r.Y.data };
  }

  // One decoding step at `length` cached tokens. GroupQueryAttention's
  // (B, T, H·D) query and (B, T, Hkv·D) key/value hold the same bytes as
  // (1, H, 1, D) and (1, Hkv, 1, D) for one token; the past is (1, Hkv, P, D).
  // seqlens_k is total - 1 (here P), total_sequence_length P + 1.
  function gqaFeeds({ heads: h, kvHeads: hk, headDim: d }, { query, key, value }, pastKey, pastValue, length) {
    return {
      query: tensor(query, [1, 1, h * d]),
      key: tensor(key, [1, 1, hk * d]),
      value: tensor(value, [1, 1, hk * d]),
      past_key: pastKey,
      past_value: pastValue,
      seqlens_k: int32(length, [1]),
      total_sequence_length: int32(length + 1, []),
    };
  }
  function attn23Feeds({ heads: h, kvHeads: hk, headDim: d }, { query, key, value }, pastKey, pastValue) {
    return {
      Q: tensor(query, [1, h, 1, d]),
      K: tensor(key, [1, hk, 1, d]),
      V: tensor(value, [1, hk, 1, d]),
      past_key: pastKey,
      past_value: pastValue,
    };
  }
  const GQA_GRAPHS = [
    { variant: 'GroupQueryAttention', file: 'gqa_decode_gqa', feeds: gqaFeeds, y: 'output' },
    { variant: 'Attention-23', file: 'gqa_decode_attn23', feeds: (m, t, k, v) => attn23Feeds(m, t, k, v), y: 'Y' },
  ];

  /** Decoding-step graphs with past/present: [{ variant, prepare(step), prepareLoop(loop) }]. */
  const gqa = GQA_GRAPHS.map(({ variant, file, feeds, y }) => ({
    variant,
    // step: { model, token: { query, key, value }, pastKey, pastValue (1, Hkv, N, D), length: N }
    async prepare({ model, token, pastKey, pastValue, length }) {
      const sess = await session(file);
      const { kvHeads: hk, headDim: d } = model;
      const f = feeds(model, token, tensor(pastKey, [1, hk, length, d]), tensor(pastValue, [1, hk, length, d]), length);
      return { run: () => sess.run(f, [y, ...PRESENTS]), output: (r) => r[y].data, presents: (r) => [r.present_key, r.present_value] };
    },
    // Generation: `tokens.length` steps from the past; each run's presents are the next run's past (what ORT users do).
    async prepareLoop({ model, tokens, pastKey, pastValue, length }) {
      const sess = await session(file);
      const { heads: h, kvHeads: hk, headDim: d } = model;
      return {
        async run(outputs) {
          let pk = tensor(pastKey, [1, hk, length, d]);
          let pv = tensor(pastValue, [1, hk, length, d]);
          for (let t = 0; t < tokens.length; t++) {
            const r = await sess.run(feeds(model, tokens[t], pk, pv, length + t), [y, ...PRESENTS]);
            pk = r.present_key;
            pv = r.present_value;
            if (outputs) outputs.set(r[y].data, t * h * d);
          }
          return { length: pk.dims[2] };
        },
      };
    },
  }));

  /**
   * A causal prompt with a sliding window (GroupQueryAttention, local_window_size = window - 1,
   * no past): q, k, v as (1, L, H·D) rows, made once; output converted back to (1, H, L, D) for the check.
   */
  async function windowPrompt({ heads: h, headDim: d, length }, { queryRows, keyRows, valueRows }) {
    const sess = await session('window_gqa');
    const f = {
      query: tensor(queryRows, [1, length, h * d]),
      key: tensor(keyRows, [1, length, h * d]),
      value: tensor(valueRows, [1, length, h * d]),
      seqlens_k: int32(length - 1, [1]),
      total_sequence_length: int32(length, []),
    };
    return { run: () => sess.run(f, ['output']), output: (r) => rowsToHeads(r.output.data, h, length, d) };
  }

  return { linear, gqa, windowPrompt };
}
