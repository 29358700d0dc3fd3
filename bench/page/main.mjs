// The harness's browser environment. bench/browser.mjs calls
// window.runBench(config) through playwright and gets the rows back.
import { runHarness, MismatchError } from '../harness.mjs';

const logElement = document.getElementById('log');

const env = {
  platform: `chromium ${navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? '?'}`,
  importMha: () => import('/dist/browser.mjs'),
  importMhaThreads: () => import('/dist/browser.mjs?threads'),
  importOrt: () => import('onnxruntime-web'),
  ortWasmPaths: '/node_modules/onnxruntime-web/dist/',
  importTf: async () => ({ tf: await import('@tensorflow/tfjs-core'), wasm: await import('@tensorflow/tfjs-backend-wasm') }),
  tfWasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/',
  async readCache(path) {
    const response = await fetch(`/bench/.cache/${path}`);
    if (!response.ok) throw new Error(`GET /bench/.cache/${path}: ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  },
  log(message) {
    console.log(message); // forwarded to the terminal by bench/browser.mjs
    logElement.textContent += `\n${message}`;
  },
};

window.runBench = async (config) => {
  try {
    // Exposed by bench/browser.mjs: Node times the native rows of each shape right after its JS rows.
    if (typeof window.benchAfterShape === 'function') config.afterShape = (shape, kinds) => window.benchAfterShape(shape, kinds);
    const result = await runHarness(env, config);
    result.info.crossOriginIsolated = self.crossOriginIsolated;
    return { ok: true, result };
  } catch (error) {
    return { ok: false, mismatch: error instanceof MismatchError, message: String(error && error.stack ? error.stack : error) };
  }
};
window.benchReady = true;
