// The harness's Node environment: the packages from node_modules, the wasm
// files from their local folders (nothing is fetched), bench/.cache on disk.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CACHE, ROOT } from './setup.mjs';

export function nodeEnv(log) {
  return {
    platform: `node ${process.version}`,
    importMha: () => import('../dist/node.mjs'),
    importMhaThreads: () => import('../dist/node.mjs?threads'),
    // Resolves to ORT's Node build (dist/ort.node.min.mjs), which runs the
    // same ort-wasm-simd-threaded.wasm as browsers.
    importOrt: () => import('onnxruntime-web'),
    ortWasmPaths: pathToFileURL(join(ROOT, 'node_modules', 'onnxruntime-web', 'dist') + '/').href,
    importTf: async () => ({ tf: await import('@tensorflow/tfjs-core'), wasm: await import('@tensorflow/tfjs-backend-wasm') }),
    // Under Node the backend reads the .wasm with fs from this folder.
    tfWasmPaths: join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + '/',
    readCache: async (path) => new Uint8Array(await readFile(join(CACHE, path))),
    log,
  };
}
