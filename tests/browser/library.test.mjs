// The package in a real browser (Debian's Chromium): the ES module entry
// loads the .wasm next to itself and reproduces the PyTorch fixtures with the
// same tolerance as in Node.
import { loadFixtures } from '../js/fixtures.mjs';
import { openBrowser } from './browser.mjs';

// Same tolerance as tests/js: float32 compute vs PyTorch's float64 reference.
const ATOL = 2e-5;
const RTOL = 1e-4;
let session;

beforeAll(async () => {
  session = await openBrowser();
  // Any same-origin page will do; the test imports the package itself.
  await session.page.goto(`${session.baseURL}/dist/package-test`);
}, 60000);

afterAll(() => session?.close());

// Runs every case in the page and returns, per case, the worst violation of
// the tolerance (<= 0 means within it) and whether the shapes matched.
async function runInBrowser(kind, cases) {
  return session.page.evaluate(
    async ({ kind, cases, ATOL, RTOL }) => {
      const { init } = await import('/dist/browser.mjs');
      const mha = await init();
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
    { kind, cases, ATOL, RTOL },
  );
}

test.each([
  ['multi_head_attention', 'mha'],
  ['scaled_dot_product_attention', 'sdpa'],
])('every %s fixture matches PyTorch in Chromium', async (file, kind) => {
  const { cases } = loadFixtures(file);
  const results = await runInBrowser(kind, cases);
  expect(results).toHaveLength(cases.length);
  const failures = results.filter((r) => !r.shapesMatch || !(r.worst <= 0));
  expect(failures).toEqual([]);
  expect(session.pageErrors).toEqual([]);
}, 60000);
