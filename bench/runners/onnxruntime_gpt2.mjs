// onnxruntime-web for the GPT-2 section (bench/gpt2.mjs): the decoder_model.onnx
// that scripts/make_gpt2_bench_model.py exports, with the inputs and outputs of
// Transformers.js's GPT-2 exports (input_ids, attention_mask, position_ids,
// past_key_values.N.key/value -> logits, present.N.key/value), run the way
// Transformers.js runs its decoding loop on the wasm backend: the first run
// gets an empty past (1, H, 0, D); every run gets all-ones attention_mask
// (1, past + new) and position_ids past..past+new-1 (cumsum(mask) - 1), as int64;
// each run's presents are the next run's past. Every output is fetched (ORT's
// wasm backend copies each into a new array), which is what such a caller gets.
import { readFile } from 'node:fs/promises';

/**
 * threads: ORT's numThreads (read once, when ORT's wasm module first loads: one value per process).
 * Returns { loadMs, readMs, createMs, decoder() }; decoder() -> { reset(), step(ids) -> Promise<{ logits, rows }>, length, presentDims() }.
 */
export async function onnxRuntimeGpt2(ort, { threads, wasmPaths, modelPath, layers, heads, headDim, vocab }) {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = wasmPaths; // local files: never the CDN default
  ort.env.logLevel = 'error';
  let t = performance.now();
  const bytes = await readFile(modelPath);
  const readMs = performance.now() - t;
  t = performance.now();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const createMs = performance.now() - t;
  const pastNames = [];
  for (let l = 0; l < layers; l++) for (const kv of ['key', 'value']) pastNames.push([`past_key_values.${l}.${kv}`, `present.${l}.${kv}`]);
  const missing = [...['input_ids', 'attention_mask', 'position_ids'], ...pastNames.map(([p]) => p)].filter((n) => !session.inputNames.includes(n));
  if (missing.length > 0) throw new Error(`decoder_model.onnx lacks the inputs ${missing.join(', ')}`);
  const int64 = (values) => BigInt64Array.from(values, (v) => BigInt(v));
  const emptyPast = () => Object.fromEntries(pastNames.map(([p]) => [p, new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, headDim])]));

  function decoder() {
    let past = emptyPast();
    let seen = 0;
    let last = null;
    return {
      reset() {
        past = emptyPast();
        seen = 0;
        last = null;
      },
      get length() {
        return seen;
      },
      /** Dims of every present of the last run (checked by the bench). */
      presentDims: () => (last ? pastNames.map(([, n]) => last[n].dims.join(',')) : []),
      async step(ids) {
        const L = ids.length;
        const total = seen + L;
        const feeds = {
          input_ids: new ort.Tensor('int64', int64(ids), [1, L]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
          position_ids: new ort.Tensor('int64', int64(Array.from({ length: L }, (_, i) => seen + i)), [1, L]),
          ...past,
        };
        const out = await session.run(feeds);
        past = {};
        for (const [p, n] of pastNames) past[p] = out[n];
        seen = total;
        last = out;
        const logits = out.logits;
        if (logits.dims.join() !== [1, L, vocab].join()) throw new Error(`logits dims ${logits.dims} != 1,${L},${vocab}`);
        return { logits: logits.data, rows: L };
      },
    };
  }
  return { readMs, createMs, loadMs: readMs + createMs, decoder, release: () => session.release() };
}
