// The static server for `npm run bench -- --browser`: loopback only, a fixed
// set of folders, COOP/COEP (the page is cross-origin isolated, as a page
// using threaded wasm would be, and performance.now() gets its 5 µs
// resolution), and the MIME types browsers need (.wasm as application/wasm
// for streaming compilation, modules as JavaScript).
import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { ROOT } from './setup.mjs';

// URL prefix -> folder. Only the files the page loads are reachable.
const MOUNTS = [
  ['/bench/', join(ROOT, 'bench')],
  ['/dist/', join(ROOT, 'dist')],
  ['/node_modules/onnxruntime-web/dist/', join(ROOT, 'node_modules', 'onnxruntime-web', 'dist')],
  ['/node_modules/@tensorflow/tfjs-core/dist/', join(ROOT, 'node_modules', '@tensorflow', 'tfjs-core', 'dist')],
  ['/node_modules/@tensorflow/tfjs-backend-wasm/dist/', join(ROOT, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist')],
];

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.map': 'application/json; charset=utf-8',
};

function fileFor(urlPath) {
  for (const [prefix, folder] of MOUNTS) {
    if (!urlPath.startsWith(prefix)) continue;
    const file = normalize(join(folder, decodeURIComponent(urlPath.slice(prefix.length))));
    // No way out of the mounted folder with ../ or its %-encoded forms.
    return file.startsWith(folder + sep) ? file : null;
  }
  return null;
}

/** Starts the server on 127.0.0.1 (port 0: any free port); resolves to the http.Server. */
export function startServer(port = 0) {
  const server = createServer((request, response) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    let file = null;
    try {
      file = fileFor(new URL(request.url, 'http://127.0.0.1').pathname);
    } catch {
      file = null; // malformed %-encoding
    }
    let size = -1;
    try {
      const stats = file && statSync(file);
      if (stats && stats.isFile()) size = stats.size;
    } catch {
      size = -1;
    }
    if (size < 0) {
      response.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Length': size });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
