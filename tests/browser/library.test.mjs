// The package in real browsers (Debian's Chromium and Firefox), one launch
// of each:
// * the ES module entry loads the .wasm next to itself and reproduces the
//   PyTorch fixtures with the same tolerance as in Node;
// * the threads build on the cross-origin-isolated page gives the same bits
//   as one thread in Node;
// * loading failures reject init() with the URL and the HTTP status instead
//   of a bare "both async and sync fetching of the wasm failed", a pool
//   worker that cannot start rejects it within seconds, and threads work from
//   a page in a sub-folder with an explicit wasmURL.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFixtures } from '../js/fixtures.mjs';
import { init } from '../../dist/node.mjs';
import { startServer } from '../../scripts/serve.mjs';
import { BROWSERS, launchBrowser } from './browser.mjs';

// Same tolerance as tests/js: float32 compute vs PyTorch's float64 reference.
const ATOL = 2e-5;
const RTOL = 1e-4;
const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

let server, baseURL, site, nodeModule;

beforeAll(async () => {
  nodeModule = await init();
  // /dist/ is the built package; /site/ holds pages in sub-folders.
  site = mkdtempSync(join(tmpdir(), 'mha-wasm-site-'));
  mkdirSync(join(site, 'deep', 'sub', 'folder'), { recursive: true });
  writeFileSync(join(site, 'deep', 'sub', 'folder', 'index.html'), '<!doctype html><title>a page in a sub-folder</title>');
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>an application page</title>');
  server = await startServer({ port: 0, mounts: { '/dist/': dist, '/site/': site } });
  baseURL = `http://127.0.0.1:${server.address().port}`;
}, 60000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(site, { recursive: true, force: true });
});

// Runs every case in the page and returns, per case, the worst violation of
// the tolerance (<= 0 means within it) and whether the shapes matched.
// initOptions and noSimdProbe choose the build (a fresh page each time):
// noSimdProbe stubs WebAssembly.validate, as an engine without SIMD answers it.
function runFixtures(page, kind, cases, initOptions = {}, noSimdProbe = false) {
  return page.evaluate(
    async ({ kind, cases, ATOL, RTOL, initOptions, noSimdProbe }) => {
      if (noSimdProbe) WebAssembly.validate = () => false;
      const { init } = await import('/dist/browser.mjs');
      const mha = await init(initOptions);
      const tensor = (t) => ({ data: new Float32Array(t.data), shape: t.shape });
      const mask = (m) => m && { data: m.dtype === 'bool' ? new Uint8Array(m.data) : new Float32Array(m.data), shape: m.shape };
      const excess = (got, want) => Math.max(...want.data.map((e, i) => Math.abs(got.data[i] - e) - (ATOL + RTOL * Math.abs(e))));
      return cases.map((c) => {
        const options = { ...c.options, attnMask: mask(c.options.attnMask) };
        let result;
        if (kind === 'sdpa') {
          result = mha.scaledDotProductAttention(tensor(c.q), tensor(c.k), tensor(c.v), options);
        } else {
          options.keyPaddingMask = mask(c.options.keyPaddingMask);
          const layer = mha.createMultiHeadAttention(c.config);
          layer.loadWeights(Object.fromEntries(Object.entries(c.stateDict).map(([k, v]) => [k, new Float32Array(v.data)])));
          result = layer.forward(tensor(c.query), tensor(c.key), tensor(c.value), options);
          layer.dispose();
        }
        const shapesMatch =
          JSON.stringify(result.output.shape) === JSON.stringify(c.expected.output.shape) &&
          JSON.stringify(result.weights?.shape ?? null) === JSON.stringify(c.expected.weights?.shape ?? null);
        const worst = Math.max(excess(result.output, c.expected.output), c.expected.weights ? excess(result.weights, c.expected.weights) : -1);
        return { name: c.name, shapesMatch, worst, simd: mha.capabilities.simd };
      });
    },
    { kind, cases, ATOL, RTOL, initOptions, noSimdProbe },
  );
}

// One function body, run in the page and in Node: deterministic inputs, a
// causal SDPA and a layer forward with per-head weights; results as raw bits.
const COMPUTE = String.raw`
  const values = (n, step, phase) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * step + phase));
  const q = { data: values(2 * 4 * 150 * 32, 0.11, 1), shape: [2, 4, 150, 32] };
  const k = { data: values(2 * 4 * 170 * 32, 0.07, 2), shape: [2, 4, 170, 32] };
  const x = { data: values(130 * 64, 0.05, 3), shape: [1, 130, 64] };
  const weights = (layer) => Object.fromEntries(layer.expectedWeights.map(({ name, shape }, i) =>
    [name, values(shape.reduce((a, b) => a * b, 1), 0.013 * (i + 1), i).map((v) => v / Math.sqrt(shape[shape.length - 1]))]));

  const sdpa = mha.scaledDotProductAttention(q, k, k, { isCausal: true });
  const layer = mha.createMultiHeadAttention({ embedDim: 64, numHeads: 4, batchFirst: true });
  layer.loadWeights(weights(layer));
  const forward = layer.forward(x, x, x, { needWeights: true, averageAttnWeights: false, isCausal: true });
  layer.dispose();
  return { sdpa: Array.from(new Uint32Array(sdpa.output.data.buffer)),
           layer: Array.from(new Uint32Array(forward.output.data.buffer)),
           weights: Array.from(new Uint32Array(forward.weights.data.buffer)) };
`;

// init(options) on a fresh page at `path`: { ok, threads, sum } or { ok: false, message, ms }.
async function initOn(page, path, options) {
  await page.goto(`${baseURL}${path}`);
  return page.evaluate(async (opts) => {
    const { init } = await import('/dist/browser.mjs');
    const start = performance.now();
    try {
      const mha = await init(opts);
      const q = { data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), shape: [1, 2, 8, 4] };
      const out = mha.scaledDotProductAttention(q, q, q).output.data;
      return { ok: true, threads: mha.capabilities.threads, sum: out.reduce((a, b) => a + b, 0) };
    } catch (error) {
      return { ok: false, message: String(error?.message ?? error), ms: performance.now() - start };
    }
  }, options);
}

describe.each(BROWSERS)('the package in %s', (browserName) => {
  let browser, page;

  beforeAll(async () => {
    browser = await launchBrowser(browserName);
    page = await browser.newPage();
    // Any same-origin page will do; the tests import the package themselves.
    await page.goto(`${baseURL}/site/`);
  }, 60000);

  afterAll(() => browser?.close());

  test.each([
    ['multi_head_attention', 'mha'],
    ['scaled_dot_product_attention', 'sdpa'],
  ])('every %s fixture matches PyTorch', async (file, kind) => {
    const { cases } = loadFixtures(file);
    const results = await runFixtures(page, kind, cases);
    expect(results).toHaveLength(cases.length);
    const failures = results.filter((r) => !r.shapesMatch || !(r.worst <= 0));
    expect(failures).toEqual([]);
    expect(page.pageErrors).toEqual([]);
  }, 60000);

  test.each([
    ['forced with init({ simd: false })', { simd: false }, false],
    ['picked when the SIMD probe fails', {}, true],
  ])('the build without SIMD, %s, matches every SDPA fixture', async (_, options, noSimdProbe) => {
    await page.goto(`${baseURL}/site/`);
    const { cases } = loadFixtures('scaled_dot_product_attention');
    const results = await runFixtures(page, 'sdpa', cases, options, noSimdProbe);
    expect(results.every((r) => r.simd === false)).toBe(true);
    expect(results.filter((r) => !r.shapesMatch || !(r.worst <= 0))).toEqual([]);
    expect(page.pageErrors).toEqual([]);
    await page.goto(`${baseURL}/site/`);
  }, 60000);

  test('init({ threads: 2 }) uses Web Workers on the isolated page, with the same bits as one thread in Node', async () => {
    await page.goto(`${baseURL}/site/`);
    const inBrowser = await page.evaluate(async (body) => {
      const { init } = await import('/dist/browser.mjs');
      const threaded = await init({ threads: 2 });
      const compute = new Function('mha', body);
      return { isolated: globalThis.crossOriginIsolated, threads: threaded.capabilities.threads, results: compute(threaded) };
    }, COMPUTE);
    expect(inBrowser.isolated).toBe(true);
    expect(inBrowser.threads).toBe(2);
    const inNode = new Function('mha', COMPUTE)(nodeModule);
    expect(inBrowser.results.sdpa).toEqual(inNode.sdpa);
    expect(inBrowser.results.layer).toEqual(inNode.layer);
    expect(inBrowser.results.weights).toEqual(inNode.weights);
    expect(page.pageErrors).toEqual([]);
  }, 60000);

  test('init({ wasmURL }) answered by a 404 rejects, naming the URL and the status', async () => {
    const result = await initOn(page, '/site/', { wasmURL: '/dist/missing.wasm' });
    expect(result.ok).toBe(false);
    expect(result.message).toContain(`${baseURL}/dist/missing.wasm`);
    expect(result.message).toMatch(/HTTP 404/);
  });

  test('init({ wasmURL }) answered by an HTML page rejects, naming the URL, the status and what came back', async () => {
    const result = await initOn(page, '/site/', { wasmURL: '/site/index.html' });
    expect(result.ok).toBe(false);
    expect(result.message).toContain(`${baseURL}/site/index.html`);
    expect(result.message).toMatch(/not a WebAssembly file \(HTTP 200, Content-Type text\/html.*starts with "<!doctype html>/);
  });

  test('init({ threads: 2, wasmURL }) from a page in a sub-folder works (files relative to the module, the URL to the page)', async () => {
    const result = await initOn(page, '/site/deep/sub/folder/', { threads: 2, wasmURL: '../../../../dist/mha-mt.wasm' });
    expect(result).toEqual({ ok: true, threads: 2, sum: expect.any(Number) });
    const single = await initOn(page, '/site/deep/sub/folder/', { wasmURL: new URL('/dist/mha.wasm', baseURL).href });
    expect(single.sum).toBeCloseTo(result.sum, 5);
  }, 60000);

  test('a pool worker that cannot be loaded rejects init within seconds, naming it', async () => {
    const result = await initOn(page, '/site/', { threads: 2, workerURL: '/dist/missing.worker.mjs' });
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/thread pool worker, \/dist\/missing\.worker\.mjs, failed to start/);
    expect(result.ms).toBeLessThan(5000);
    // Handled: nothing surfaces as an uncaught error on the page (Firefox
    // still reports the failed load of the script itself there).
    expect(page.pageErrors.filter((error) => !String(error.message).includes('missing.worker.mjs'))).toEqual([]);
    // And the page can still load the module afterwards.
    const retry = await page.evaluate(async () => {
      const { init } = await import('/dist/browser.mjs');
      return (await init({ threads: 2 })).capabilities.threads;
    });
    expect(retry).toBe(2);
  }, 60000);

  test('a pool worker that loads but never reports in rejects init after the 10 s limit instead of hanging', async () => {
    // A valid module that is not a pool worker: it loads, then ignores every message.
    const result = await initOn(page, '/site/', { threads: 2, workerURL: '/dist/wasm_files.mjs' });
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/thread pool's workers \(\/dist\/wasm_files\.mjs\) did not start within 10 s/);
    expect(result.ms).toBeGreaterThan(9000);
    expect(result.ms).toBeLessThan(15000);
  }, 60000);
});
