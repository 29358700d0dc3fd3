// A small static server for the demo page: web/demo/ at /demo/, the built
// package (dist/) at /dist/, and the one dependency of mha-wasm/models the page
// imports when a model is opened (@huggingface/tokenizers, from node_modules, at
// /vendor/@huggingface/tokenizers/dist/; index.html's import map points there),
// nothing else. Loopback only.
//
//   PORT=8080 node scripts/serve.mjs        (PORT=0 picks a free port)
//
// It sends COOP/COEP so the page is cross-origin isolated (SharedArrayBuffer,
// needed by a threaded build), and the right MIME types: browsers compile
// .wasm by streaming only when it is served as application/wasm.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, join, normalize, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const MOUNTS = {
  '/demo/': join(root, 'web', 'demo'),
  '/dist/': join(root, 'dist'),
  '/vendor/@huggingface/tokenizers/dist/': join(root, 'node_modules', '@huggingface', 'tokenizers', 'dist'),
};
const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.safetensors': 'application/octet-stream',
  '.md': 'text/plain; charset=utf-8',
};

function resolve(urlPath, mounts) {
  for (const [prefix, folder] of Object.entries(mounts)) {
    if (!urlPath.startsWith(prefix)) continue;
    let relative = decodeURIComponent(urlPath.slice(prefix.length));
    if (relative === '' || relative.endsWith('/')) relative += 'index.html';
    const file = normalize(join(folder, relative));
    // No escaping the mounted folder with ../ or encoded variants of it.
    if (file !== folder && !file.startsWith(folder + sep)) return null;
    return file;
  }
  return null;
}

// mounts: URL prefix -> folder (the tests serve their own folders too);
// isolated: false leaves out COOP/COEP (a page that cannot use threads).
export function startServer({ port = 8080, host = '127.0.0.1', mounts: given = MOUNTS, isolated = true } = {}) {
  // Absolute, without a trailing slash, as resolve() compares them.
  const mounts = given === MOUNTS ? MOUNTS : Object.fromEntries(Object.entries(given).map(([prefix, folder]) => [prefix, resolvePath(folder)]));
  const server = createServer((request, response) => {
    const headers = {
      ...(isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
      'Cache-Control': 'no-cache',
    };
    const path = new URL(request.url, 'http://localhost').pathname;
    if (mounts === MOUNTS && (path === '/' || path === '/demo')) {
      response.writeHead(302, { ...headers, Location: '/demo/' }).end();
      return;
    }
    let file;
    try {
      file = resolve(path, mounts);
    } catch {
      file = null; // malformed %-encoding
    }
    let stats;
    try {
      stats = file && statSync(file);
    } catch {
      stats = null;
    }
    if (!stats || !stats.isFile()) {
      response.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream', 'Content-Length': stats.size });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolvePromise(server));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === normalize(process.argv[1])) {
  const port = process.env.PORT === undefined ? 8080 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: PORT must be an integer from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`);
    process.exit(1);
  }
  startServer({ port }).then(
    (server) => console.log(`mha-wasm demo: http://127.0.0.1:${server.address().port}/demo/  (Ctrl+C to stop)`),
    (error) => {
      console.error(`serve: cannot listen on 127.0.0.1:${port}: ${error.message}`);
      process.exit(1);
    },
  );
}
