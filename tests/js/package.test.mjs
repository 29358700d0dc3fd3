// The published artefact, as a user gets it: `npm pack`, install the tarball
// into an empty folder, then `import` and `require` it from plain Node.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
let folder;

// Both scripts print the same numbers: one forward pass on fixed inputs.
const body = `
  const mha = await init();
  const layer = mha.createMultiHeadAttention({ embedDim: 4, numHeads: 2 });
  const w = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s));
  layer.loadWeights({ in_proj_weight: w(48, 0.7), in_proj_bias: w(12, 1.3), 'out_proj.weight': w(16, 0.9), 'out_proj.bias': w(4, 2.1) });
  const x = { data: w(12, 0.5), shape: [3, 4] };
  const { output, weights } = layer.forward(x, x, x);
  console.log(JSON.stringify({ version: mha.capabilities.version, output: Array.from(output.data), weightsShape: weights.shape }));
`;

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'mha-wasm-pack-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', folder], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = readdirSync(folder).find((f) => f.endsWith('.tgz'));
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', join(folder, tarball)], { cwd: folder, stdio: ['ignore', 'pipe', 'pipe'] });
  writeFileSync(join(folder, 'esm.mjs'), `import { init } from 'mha-wasm';\n${body}`);
  writeFileSync(join(folder, 'cjs.cjs'), `const { init } = require('mha-wasm');\n(async () => {${body}})();`);
  // A CommonJS test file for a Jest run without --experimental-vm-modules,
  // the way most projects run Jest.
  writeFileSync(join(folder, 'require.test.cjs'), `const { init, VERSION } = require('mha-wasm');
test('require(mha-wasm) works inside Jest', async () => {
  const mha = await init({ threads: 2 });
  expect(mha.capabilities.version).toBe(VERSION);
  expect(mha.capabilities.threads).toBe(2);
  const q = { data: Float32Array.from({ length: 8 }, (_, i) => i / 8), shape: [1, 1, 2, 4] };
  expect(mha.scaledDotProductAttention(q, q, q).output.data).toHaveLength(8);
});`);
}, 120000);

afterAll(() => rmSync(folder, { recursive: true, force: true }));

const run = (file) => JSON.parse(execFileSync(process.execPath, [file], { cwd: folder, encoding: 'utf8' }));

test('the tarball holds dist/ with one .wasm per build (single-threaded, threads, no SIMD), the metadata and no sources', () => {
  const files = readdirSync(join(folder, 'node_modules', 'mha-wasm', 'dist'));
  expect(files.filter((f) => f.endsWith('.wasm')).sort()).toEqual(['mha-mt.wasm', 'mha-nosimd.wasm', 'mha.wasm']);
  expect(files).toEqual(expect.arrayContaining(['node.mjs', 'node.cjs', 'browser.mjs', 'browser_threads.mjs', 'index.d.mts', 'index.d.cts',
    'mha.mjs', 'mha.cjs', 'mha-mt.mjs', 'mha-mt.worker.mjs', 'mha-mt-node.cjs', 'mha-mt-node.worker.js', 'ts5.6']));
  // The CommonJS entry is one esbuild bundle; no generated CommonJS twins of the ES modules.
  expect(files.filter((f) => f.endsWith('.cjs')).sort()).toEqual(['mha-mt-node.cjs', 'mha.cjs', 'node.cjs']);
  // Emscripten's classic pool worker is replaced by mha-mt.worker.mjs.
  expect(files).not.toContain('mha-mt.worker.js');
  expect(readdirSync(join(folder, 'node_modules', 'mha-wasm')).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'dist', 'package.json']);
});

test('require(\'mha-wasm\') works inside Jest without --experimental-vm-modules', () => {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const jestBin = join(root, 'node_modules', 'jest', 'bin', 'jest.js');
  const run = spawnSync(process.execPath, [jestBin, '--rootDir', folder, '--testMatch', '**/require.test.cjs', '--ci'], { cwd: folder, env, encoding: 'utf8' });
  expect(run.stderr).toMatch(/Tests:\s+1 passed, 1 total/);
  expect(run.status).toBe(0);
}, 60000);

test('the README\'s install example runs as written, imported and required', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const afterInstall = readme.slice(readme.indexOf('npm install mha-wasm'));
  const example = afterInstall.match(/```js\n([\s\S]*?)```/)[1];
  writeFileSync(join(folder, 'readme.mjs'), example);
  const expected = '[ 1, 3, 8 ] [ 1, 3, 3 ]\n';
  expect(execFileSync(process.execPath, ['readme.mjs'], { cwd: folder, encoding: 'utf8' })).toBe(expected);
  // The CommonJS form its first line mentions, in an async function (no top-level await in CommonJS).
  const required = example.replace("import { init } from 'mha-wasm';", "const { init } = require('mha-wasm');");
  writeFileSync(join(folder, 'readme.cjs'), required.replace(/^(const mha = await init\(\);.*)$/m, '(async () => {\n$1') + '})();\n');
  expect(execFileSync(process.execPath, ['readme.cjs'], { cwd: folder, encoding: 'utf8' })).toBe(expected);
});

test('ESM import and CommonJS require of the installed package give the same result', () => {
  const esm = run('esm.mjs');
  const cjs = run('cjs.cjs');
  expect(esm.weightsShape).toEqual([3, 3]);
  expect(esm.output).toHaveLength(12);
  expect(esm.output.every(Number.isFinite)).toBe(true);
  expect(cjs).toEqual(esm);
});
