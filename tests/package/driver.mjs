// Runs one bundler on one consumer project, in its own process (the bundlers
// are the repository's devDependencies; the project holds only the installed
// mha-wasm tarball and tests/package/app/). Each tool gets exactly what a
// user would give it: its usual minimal settings plus the one line per
// bundler from the README, nothing else.
//
//   node driver.mjs build <vite5|vite7|vite|webpack|esbuild|rollup> <project>
//       builds into <project>/dist; prints {"warnings": [...]} on the last line
//   node driver.mjs serve <vite5|vite7|vite> <dev|preview> <project>
//       serves it (with COOP/COEP, so that threads can be used); prints
//       {"url": "..."} once listening, then runs until killed
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const [command, tool, ...rest] = process.argv.slice(2);

// Threads need a cross-origin-isolated page; that is the host's business
// (README: "Threads"), not a bundler setting.
const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

// The README's line for bundlers that do not follow new URL('…', import.meta.url):
// copy these files of the package next to the bundle.
// With mha-wasm/worker, also its worker and the glue it imports.
export const RUNTIME_FILES = ['mha.wasm', 'mha-mt.wasm', 'mha-mt.mjs', 'mha-mt.worker.mjs', 'worker_thread.mjs', 'mha.mjs'];

function copyRuntimeFiles(project) {
  for (const file of RUNTIME_FILES) copyFileSync(join(project, 'node_modules', 'mha-wasm', 'dist', file), join(project, 'dist', file));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Vite 5 and 7 pre-bundle dependencies for the dev server into
// node_modules/.vite/deps/, away from mha-wasm's .wasm and worker: the
// README's one line for them.
const viteDevLine = (tool) => (tool === 'vite5' || tool === 'vite7' ? { optimizeDeps: { exclude: ['mha-wasm'] } } : {});

async function viteConfig(tool, project, extra = {}) {
  return { root: project, configFile: false, logLevel: 'warn', clearScreen: false, ...extra };
}

async function build(project) {
  const warnings = [];
  if (tool.startsWith('vite')) {
    const vite = await import(tool);
    const logger = vite.createLogger('warn');
    const config = await viteConfig(tool, project, {
      customLogger: { ...logger, warn: (message) => warnings.push(message), warnOnce: (message) => warnings.push(message) },
    });
    await vite.build(config);
  } else if (tool === 'webpack') {
    const { default: webpack } = await import('webpack');
    const stats = await new Promise((resolve, reject) => {
      webpack({ mode: 'production', context: project, entry: './main.js', output: { path: join(project, 'dist') } }, (error, result) =>
        error ? reject(error) : resolve(result),
      );
    });
    const json = stats.toJson({ all: false, errors: true, warnings: true });
    if (stats.hasErrors()) throw new Error(json.errors.map((e) => e.message).join('\n'));
    warnings.push(...json.warnings.map((w) => w.message));
    // webpack's output is a classic script, as html-webpack-plugin would load it.
    writeFileSync(join(project, 'dist', 'index.html'), readFileSync(join(project, 'index.html'), 'utf8').replace('<script type="module" src="./main.js">', '<script defer src="./main.js">'));
  } else if (tool === 'esbuild') {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      absWorkingDir: project,
      entryPoints: ['main.js', 'worker.js'],
      bundle: true,
      format: 'esm',
      outdir: 'dist',
      logLevel: 'silent',
    });
    warnings.push(...result.warnings.map((w) => w.text));
    copyRuntimeFiles(project);
    copyFileSync(join(project, 'index.html'), join(project, 'dist', 'index.html'));
  } else if (tool === 'rollup') {
    const { rollup } = await import('rollup');
    const { nodeResolve } = await import('@rollup/plugin-node-resolve');
    const bundle = await rollup({
      input: [join(project, 'main.js'), join(project, 'worker.js')],
      plugins: [nodeResolve({ rootDir: project })],
      onwarn: (warning) => warnings.push(warning.message),
    });
    await bundle.write({ dir: join(project, 'dist'), format: 'es' });
    await bundle.close();
    copyRuntimeFiles(project);
    copyFileSync(join(project, 'index.html'), join(project, 'dist', 'index.html'));
  } else {
    throw new Error(`unknown tool ${tool}`);
  }
  console.log(JSON.stringify({ warnings }));
}

async function serve(mode, project) {
  const vite = await import(tool);
  const port = await freePort();
  const listen = { host: '127.0.0.1', port, strictPort: true, headers: ISOLATION_HEADERS };
  let server;
  if (mode === 'dev') {
    server = await vite.createServer(await viteConfig(tool, project, { server: listen, ...viteDevLine(tool) }));
    await server.listen();
  } else {
    server = await vite.preview(await viteConfig(tool, project, { preview: listen }));
  }
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/` }));
  const stop = () => server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

try {
  if (command === 'build') await build(rest[0]);
  else if (command === 'serve') await serve(rest[0], rest[1]);
  else throw new Error(`unknown command ${command}`);
} catch (error) {
  console.error(error?.stack ?? error);
  process.exit(1);
}
