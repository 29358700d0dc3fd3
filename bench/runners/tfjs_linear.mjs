// TensorFlow.js with its WebAssembly backend (XNNPACK inside), one thread, for
// the Linear section (bench/linear.mjs): nn.Linear as tf.fused.matMul with a
// bias, the weight transposed once at setup (as runners/tfjs.mjs does for the
// layer's projections), and the result read back with dataSync() on every call.

export async function tfjsLinear({ tf, wasm }, env) {
  // Idempotent: in a full run the main rows have set up the same backend already.
  wasm.setWasmPaths(env.tfWasmPaths); // local files: never the CDN default
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();

  /** weights { weight (out, in), bias (out) } -> tensors kept for every shape of that layer. */
  function layer({ inFeatures, outFeatures }, { weight, bias }) {
    const weightT = tf.tidy(() => tf.transpose(tf.tensor2d(weight, [outFeatures, inFeatures])));
    const b = tf.tensor1d(bias);
    return {
      // x (rows, in), uploaded once per shape.
      prepare(x, rows) {
        const input = tf.tensor2d(x, [rows, inFeatures]);
        const run = () => {
          const y = tf.fused.matMul({ a: input, b: weightT, bias: b });
          const data = y.dataSync();
          y.dispose();
          return data;
        };
        return { run, output: (r) => r, dispose: () => input.dispose() };
      },
      dispose: () => tf.dispose([weightT, b]),
    };
  }
  return { layer, version: tf.version_core };
}
