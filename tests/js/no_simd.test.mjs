// The build without SIMD (mha-nosimd.wasm: the same kernels on one-lane
// batches), for engines that lack WebAssembly SIMD: init({ simd: false })
// forces it, and init() picks it when the SIMD probe fails. Checked against
// the same PyTorch fixtures and tolerances as the SIMD build.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { firstMismatch, forwardOptions, loadFixtures, mask, stateDict, tensor } from './fixtures.mjs';
import { mulberry32, randomTensor } from './reference_attention.mjs';

const TOLERANCE = { atol: 2e-5, rtol: 1e-4 };
const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
let scalar, simd;
beforeAll(async () => {
  scalar = await (await import('../../dist/node.mjs?nosimd')).init({ simd: false });
  simd = await (await import('../../dist/node.mjs?simd')).init();
});

test('init({ simd: false }) loads the build without SIMD and says so', () => {
  expect(scalar.capabilities.simd).toBe(false);
  expect(scalar.capabilities.simdArchitecture).toBe('scalar');
  expect(simd.capabilities.simd).toBe(true);
});

const sdpa = loadFixtures('scaled_dot_product_attention').cases;
test.each(sdpa.map((c) => [c.name, c]))('SDPA fixture %s', (_, c) => {
  const o = { ...c.options, ...(c.options.attnMask ? { attnMask: mask(c.options.attnMask) } : {}) };
  const r = scalar.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), o);
  expect(firstMismatch(r.output.data, c.expected.output.data, TOLERANCE)).toBeNull();
  if (c.expected.weights) expect(firstMismatch(r.weights.data, c.expected.weights.data, TOLERANCE)).toBeNull();
});

const layers = loadFixtures('multi_head_attention').cases;
test.each(layers.map((c) => [c.name, c]))('layer fixture %s', (_, c) => {
  const layer = scalar.createMultiHeadAttention(c.config).loadWeights(stateDict(c.stateDict));
  const r = layer.forward(tensor(c.query), tensor(c.key), tensor(c.value), forwardOptions(c.options));
  layer.dispose();
  expect(firstMismatch(r.output.data, c.expected.output.data, TOLERANCE)).toBeNull();
  if (c.expected.weights) expect(firstMismatch(r.weights.data, c.expected.weights.data, TOLERANCE)).toBeNull();
});

const decoder = loadFixtures('decoder_attention').cases;
test.each(decoder.map((c) => [c.name, c]))('decoder fixture %s', (_, c) => {
  const o = { ...c.options, ...(c.options.attnMask ? { attnMask: mask(c.options.attnMask) } : {}), ...(Array.isArray(c.options.alibi) ? { alibi: new Float32Array(c.options.alibi) } : {}) };
  const r = scalar.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), o);
  expect(firstMismatch(r.output.data, c.expected.output.data, TOLERANCE)).toBeNull();
});

test('a cached decoding step and a large call agree with the SIMD build', () => {
  const rand = mulberry32(8);
  const q = randomTensor(rand, [1, 4, 300, 16]), k = randomTensor(rand, [1, 2, 300, 16]);
  const options = { isCausal: true, rotary: {}, window: 100 };
  const a = scalar.scaledDotProductAttention(q, k, k, options), b = simd.scaledDotProductAttention(q, k, k, options);
  expect(firstMismatch(a.output.data, b.output.data, { atol: 2e-6, rtol: 1e-5 })).toBeNull();
  const caches = [scalar, simd].map((lib) => lib.createKVCache({ batchSize: 1, numHeads: 2, headDim: 16, maxLength: 4 }));
  const one = (t) => ({ data: t.data.slice(0, t.shape[1] * 16), shape: [1, t.shape[1], 1, 16] });
  const [x, y] = [scalar, simd].map((lib, i) => lib.scaledDotProductAttention(one(q), one(k), one(k), { cache: caches[i] }));
  expect(firstMismatch(x.output.data, y.output.data, { atol: 2e-6, rtol: 1e-5 })).toBeNull();
  caches.forEach((c) => c.dispose());
});

// Node and Chromium have no switch that turns SIMD off: the probe is stubbed.
const withoutSimd = (entry, code) => `
  WebAssembly.validate = () => false;
  ${entry === 'esm' ? `const { init } = await import(${JSON.stringify(dist + 'node.mjs')});` : `const { init } = require(${JSON.stringify(dist + 'node.cjs')});`}
  ${code}`;
test.each(['esm', 'cjs'])('%s entry: an engine without SIMD gets the build without it; threads fall back to one with a warning', (entry) => {
  const code = `
    const warnings = []; console.warn = (m) => warnings.push(m);
    const mha = await init({ threads: 2 });
    const q = { data: new Float32Array(64).fill(0.5), shape: [1, 2, 4, 8] };
    const out = mha.scaledDotProductAttention(q, q, q).output.data[0];
    let refused = '';
    try { await (await import(${JSON.stringify(dist + 'node.mjs')} + '?strict')).init({ simd: true }); } catch (e) { refused = e.message; }
    console.log(JSON.stringify({ simd: mha.capabilities.simd, threads: mha.capabilities.threads, out, warnings, refused }));`;
  const source = entry === 'esm' ? withoutSimd(entry, code) : `(async () => {${withoutSimd(entry, code)}})();`;
  const r = spawnSync(process.execPath, entry === 'esm' ? ['--input-type=module', '-e', source] : ['-e', source], { encoding: 'utf8', timeout: 30000 });
  expect(r.stderr).toBe('');
  const report = JSON.parse(r.stdout);
  expect(report).toMatchObject({ simd: false, threads: 1, out: 0.5 });
  expect(report.warnings).toEqual(['mha-wasm: init({ threads: 2 }): the build without SIMD has no threads; using 1 thread']);
  expect(report.refused).toMatch(/^init\(\{ simd: true \}\): this JavaScript engine lacks WebAssembly SIMD/);
});

test('the package ships mha-nosimd.wasm and no second glue for it', () => {
  const require = createRequire(import.meta.url);
  expect(require.resolve('../../dist/mha-nosimd.wasm')).toBeTruthy();
  expect(() => require.resolve('../../dist/mha-nosimd.mjs')).toThrow();
});
