// The threads build in Chromium: the demo server sends COOP/COEP, so the page
// is cross-origin isolated and init({ threads: 2 }) runs on Web Workers. The
// results must be bit-identical to the single-threaded build in Node.
import { init } from '../../dist/node.mjs';
import { openBrowser } from './browser.mjs';

let session, mha;

beforeAll(async () => {
  mha = await init();
  session = await openBrowser();
  await session.page.goto(`${session.baseURL}/dist/package-test`);
}, 60000);

afterAll(() => session?.close());

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

test('init({ threads: 2 }) uses Web Workers on the isolated page, with the same bits as one thread', async () => {
  const inBrowser = await session.page.evaluate(async (body) => {
    const { init } = await import('/dist/browser.mjs');
    const threaded = await init({ threads: 2 });
    const compute = new Function('mha', body);
    return { isolated: globalThis.crossOriginIsolated, threads: threaded.capabilities.threads, results: compute(threaded) };
  }, COMPUTE);
  expect(inBrowser.isolated).toBe(true);
  expect(inBrowser.threads).toBe(2);
  const inNode = new Function('mha', COMPUTE)(mha);
  expect(inBrowser.results.sdpa).toEqual(inNode.sdpa);
  expect(inBrowser.results.layer).toEqual(inNode.layer);
  expect(inBrowser.results.weights).toEqual(inNode.weights);
}, 60000);
