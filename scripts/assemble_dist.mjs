// Assembles dist/, the npm package's payload, from the wasm build and web/lib.
//
//   node scripts/assemble_dist.mjs <wasm build dir>
//
// * Both Emscripten glues (ES module and CommonJS) were linked from the same
//   objects; their .wasm files must be byte-identical, so one is shipped.
// * web/lib/*.mjs are copied as they are (the version filled in).
// * dist/node.cjs, the CommonJS entry, is web/lib/node.cjs bundled by esbuild,
//   which inlines the ES modules it requires; nothing is rewritten by hand.
// * The types: web/lib/index.d.ts is the one hand-written source. It is
//   copied to index.d.mts (import) and index.d.cts (require), and to
//   ts5.6/ for TypeScript before 5.7, where typed arrays are not generic.
// * The pool worker of the threads build in browsers is web/lib/mha-mt.worker.mjs,
//   a port of the mha-mt.worker.js Emscripten generates; the generated file
//   must stay the one it was ported from.
// * mha-wasm/worker (web/lib/worker*.mjs): dist/worker_thread.mjs, the module
//   Worker it starts in browsers, is one esbuild bundle that imports only the
//   two Emscripten glues (so hosts that copy files copy one more); its CommonJS
//   entry is bundled like node.cjs, into dist/worker/; its types are
//   web/lib/worker.d.mts, copied like index.d.ts.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = process.argv[2] ?? join(root, 'build', 'wasm');
const dist = join(root, 'dist');
const lib = join(root, 'web', 'lib');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

function fail(message) {
  console.error(`assemble_dist: ${message}`);
  process.exit(1);
}

// [build directory, glue, its .wasm, its pool worker to ship] per link; the
// links of one build must have produced the same .wasm.
const builds = [
  { wasm: 'mha.wasm', links: [['esm', 'mha.mjs', 'mha.wasm'], ['cjs', 'mha.cjs', 'mha.wasm']] },
  {
    wasm: 'mha-mt.wasm',
    links: [['esm', 'mha-mt.mjs', 'mha-mt.wasm'], ['cjs', 'mha-mt-node.cjs', 'mha-mt-node.wasm', 'mha-mt-node.worker.js']],
  },
];
// The build without SIMD: the same bindings, so the same glue (up to its own
// file name); only its .wasm ships, loaded through mha.mjs / mha.cjs.
const nosimd = { wasm: 'mha-nosimd.wasm', links: [['esm', 'mha-nosimd.mjs', 'mha-nosimd.wasm'], ['cjs', 'mha-nosimd.cjs', 'mha-nosimd.wasm']] };
for (const [dir, glue] of nosimd.links) {
  const base = glue.replace('-nosimd', '');
  const renamed = readFileSync(join(buildDir, dir, glue), 'utf8').replaceAll('mha-nosimd.wasm', 'mha.wasm');
  if (renamed !== readFileSync(join(buildDir, dir, base), 'utf8')) fail(`${dir}/${glue} differs from ${dir}/${base} beyond the .wasm name; the no-SIMD build cannot share its glue`);
}
const wasmSizes = {};
for (const { wasm, links } of [...builds, nosimd]) {
  const [first, ...others] = links.map(([dir, , file]) => readFileSync(join(buildDir, dir, file)));
  if (others.some((bytes) => !bytes.equals(first))) {
    fail(`the links of ${wasm} (${links.map(([dir, , file]) => `${dir}/${file}`).join(', ')}) differ; the package can ship only one`);
  }
  wasmSizes[wasm] = first.length;
}

// web/lib/mha-mt.worker.mjs was ported from this exact file (Emscripten 3.1.6).
const PORTED_WORKER_SHA256 = '03585b84eeb719989382261a22ed6fba9737f78d658b720d4f83beed6a7b7c78';
const generatedWorker = readFileSync(join(buildDir, 'esm', 'mha-mt.worker.js'));
if (createHash('sha256').update(generatedWorker).digest('hex') !== PORTED_WORKER_SHA256) {
  fail(`${join(buildDir, 'esm', 'mha-mt.worker.js')} is not the Emscripten worker web/lib/mha-mt.worker.mjs was ported from; port the changes, then update PORTED_WORKER_SHA256`);
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
copyFileSync(join(buildDir, 'esm', nosimd.wasm), join(dist, nosimd.wasm));
for (const { wasm, links } of builds) {
  const [dir, , file] = links[0];
  copyFileSync(join(buildDir, dir, file), join(dist, wasm));
  for (const [linkDir, glue, , worker] of links) {
    copyFileSync(join(buildDir, linkDir, glue), join(dist, glue));
    if (worker) copyFileSync(join(buildDir, linkDir, worker), join(dist, worker));
  }
}

const withVersion = (text) => text.replaceAll('__MHA_VERSION__', version);
for (const file of readdirSync(lib)) {
  if (file.endsWith('.mjs')) writeFileSync(join(dist, file), withVersion(readFileSync(join(lib, file), 'utf8')));
}
// mha-wasm/models: its own folder, so the core entry points never import it.
mkdirSync(join(dist, 'models'));
for (const file of readdirSync(join(lib, 'models'))) {
  if (file.endsWith('.mjs')) copyFileSync(join(lib, 'models', file), join(dist, 'models', file));
}
// Its types for import and for require (the core's .d.mts / .d.cts), and its
// CommonJS entry bundled by esbuild like node.cjs.
const modelTypes = readFileSync(join(lib, 'models', 'index.d.mts'), 'utf8');
writeFileSync(join(dist, 'models', 'index.d.mts'), modelTypes);
writeFileSync(join(dist, 'models', 'index.d.cts'), modelTypes.replace("from '../index.d.mts'", "from '../index.d.cts'"));
const models = await build({
  entryPoints: [join(lib, 'models', 'node.mjs')],
  outfile: join(dist, 'models', 'node.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['@huggingface/tokenizers'],
  banner: { js: '// Generated by scripts/assemble_dist.mjs: web/lib/models/, bundled by esbuild.' },
  logLevel: 'silent',
});
if (models.warnings.length > 0) fail(`esbuild warned while bundling models/node.cjs:\n${models.warnings.map((w) => w.text).join('\n')}`);

// The CommonJS entry. The Emscripten CommonJS glues stay separate files.
const result = await build({
  entryPoints: [join(lib, 'node.cjs')],
  outfile: join(dist, 'node.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['./mha.cjs', './mha-mt-node.cjs'],
  banner: { js: '// Generated by scripts/assemble_dist.mjs: web/lib/node.cjs and the ES modules it requires, bundled by esbuild.' },
  logLevel: 'silent',
  plugins: [
    {
      name: 'version',
      setup(esbuild) {
        esbuild.onLoad({ filter: /\.m?js$|\.cjs$/ }, (args) => ({ contents: withVersion(readFileSync(args.path, 'utf8')), loader: 'js' }));
      },
    },
  ],
});
if (result.warnings.length > 0) fail(`esbuild warned while bundling node.cjs:\n${result.warnings.map((w) => w.text).join('\n')}`);

// mha-wasm/worker. The browser worker: one file, importing the glues next to it
// statically (no import(): Vite 5 and 7 build workers as iife). It replaces the
// copy of web/lib/worker_thread.mjs made above.
const versionPlugin = {
  name: 'version',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.m?js$|\.cjs$/ }, (args) => ({ contents: withVersion(readFileSync(args.path, 'utf8')), loader: 'js' }));
  },
};
const workerThread = await build({
  entryPoints: [join(lib, 'worker_thread.mjs')],
  outfile: join(dist, 'worker_thread.mjs'),
  allowOverwrite: true,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  external: ['./mha.mjs', './mha-mt.mjs'],
  banner: { js: '// Generated by scripts/assemble_dist.mjs: web/lib/worker_thread.mjs and the ES modules it imports, bundled by esbuild.' },
  logLevel: 'silent',
  plugins: [versionPlugin],
});
if (workerThread.warnings.length > 0) fail(`esbuild warned while bundling worker_thread.mjs:\n${workerThread.warnings.map((w) => w.text).join('\n')}`);
const workerThreadText = readFileSync(join(dist, 'worker_thread.mjs'), 'utf8');
const workerThreadImports = [...workerThreadText.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]).sort();
if (JSON.stringify(workerThreadImports) !== JSON.stringify(['./mha-mt.mjs', './mha.mjs']) || /\bimport\s*\(/.test(workerThreadText)) {
  fail(`dist/worker_thread.mjs must import exactly ./mha.mjs and ./mha-mt.mjs, statically; it imports ${JSON.stringify(workerThreadImports)}`);
}
// Bundlers find the worker by this literal expression.
for (const [file, literal] of [
  ['worker.mjs', "new Worker(new URL('./worker_thread.mjs', import.meta.url), { type: 'module' })"],
  ['worker_thread.mjs', 'new URL("./mha.wasm", import.meta.url)'],
]) {
  if (!readFileSync(join(dist, file), 'utf8').includes(literal)) fail(`dist/${file} lacks ${literal}`);
}
// The CommonJS entry, in its own folder (dist/'s CommonJS files are the entry
// and the glues); the worker it starts is dist/worker_node_thread.mjs.
mkdirSync(join(dist, 'worker'));
const workerCjs = await build({
  entryPoints: [join(lib, 'worker_node.cjs')],
  outfile: join(dist, 'worker', 'node.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  banner: { js: '// Generated by scripts/assemble_dist.mjs: web/lib/worker_node.cjs and the ES modules it requires, bundled by esbuild.' },
  logLevel: 'silent',
  plugins: [versionPlugin],
});
if (workerCjs.warnings.length > 0) fail(`esbuild warned while bundling worker/node.cjs:\n${workerCjs.warnings.map((w) => w.text).join('\n')}`);

// Types: one source, a copy per module system, and the same for TypeScript < 5.7.
const types = readFileSync(join(lib, 'index.d.ts'), 'utf8');
const header = (variant) => `// Generated by scripts/assemble_dist.mjs from web/lib/index.d.ts (${variant}).\n`;
// Before 5.7, Float32Array and the other typed arrays take no type argument.
const beforeGenericTypedArrays = types.replace(/\b((?:Float32|Float64|Int8|Uint8|Uint8Clamped|Int16|Uint16|Int32|Uint32|BigInt64|BigUint64)Array)<[^<>]*>/g, '$1');
mkdirSync(join(dist, 'ts5.6'));
for (const [file, text, variant] of [
  ['index.d.mts', types, 'import'],
  ['index.d.cts', types, 'require'],
  ['ts5.6/index.d.mts', beforeGenericTypedArrays, 'import, TypeScript < 5.7'],
  ['ts5.6/index.d.cts', beforeGenericTypedArrays, 'require, TypeScript < 5.7'],
]) {
  writeFileSync(join(dist, file), header(variant) + text);
}
// mha-wasm/worker's types import the core's, next to them (also in ts5.6/).
const workerTypes = readFileSync(join(lib, 'worker.d.mts'), 'utf8');
const workerHeader = (variant) => `// Generated by scripts/assemble_dist.mjs from web/lib/worker.d.mts (${variant}).\n`;
for (const [file, variant] of [
  ['worker.d.mts', 'import'],
  ['worker.d.cts', 'require'],
  ['ts5.6/worker.d.mts', 'import, TypeScript < 5.7'],
  ['ts5.6/worker.d.cts', 'require, TypeScript < 5.7'],
]) {
  const text = file.endsWith('.d.cts') ? workerTypes.replaceAll("from './index.d.mts'", "from './index.d.cts'") : workerTypes;
  writeFileSync(join(dist, file), workerHeader(variant) + text);
}

// Nothing of the build machine may end up in the package (bundlers copy it
// into applications): no absolute paths, no file: URLs.
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  const bytes = readFileSync(file);
  for (const needle of [root, 'file://']) {
    if (bytes.includes(needle)) fail(`${file} contains ${JSON.stringify(needle)}`);
  }
}
console.log(`assemble_dist: dist/ ready (mha-wasm ${version}, ${Object.entries(wasmSizes).map(([f, n]) => `${f} ${n} bytes`).join(', ')})`);
