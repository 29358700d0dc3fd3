// How long the demo page takes to open a GPT-2-small-shaped checkpoint (12 layers × 12 heads,
// 768 wide, vocabulary 50,257, n_positions 1024: 124 M float32 parameters, 475 MiB of
// safetensors, random weights) in Debian's headless Chromium, from the folder being chosen in
// the file input to the first token. A measurement, not a test (issue 14's target: ≤ 5 s, with a
// progress bar); run by hand:
//
//   node tests/browser/demo_open_model_load_time.mjs [runs = 3] [folder = $TMPDIR/mha-gpt2-small-random]
//
// The checkpoint is written there first if it is missing (tests/browser/demo_checkpoints.mjs, ~3 s).
// Per run, a fresh page: the shipped model loads, then the folder is set on #model-folder and:
//   loaded      the page's own clock (window.__demo.open): from the input's change event to
//               mha-wasm/models' loadModel resolving (headers, tokenizer, every layer packed)
//   prompt      to the page's first run of the prompt drawn, its next-token guesses shown
//   first token to the first token written after Generate is clicked (the prefill is reused)
// and the progress bar's texts with their times. Then one breakdown of loadModel alone in the
// page: time awaiting Blob reads of the Files, time in the layers' loadWeights (copying and
// packing into WebAssembly memory), and the rest (JavaScript: converting tensors, GPT-2's
// Conv1D transposes, the embedding copy).
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';
import { writeGpt2Checkpoint } from './demo_checkpoints.mjs';

const runs = Number(process.argv[2] ?? 3);
const folder = process.argv[3] ?? join(tmpdir(), 'mha-gpt2-small-random');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

if (!existsSync(join(folder, 'model.safetensors'))) {
  const started = Date.now();
  const { bytes } = writeGpt2Checkpoint(folder, { layers: 12, heads: 12, hidden: 768, inner: 3072, vocab: 50257, positions: 1024, scale: 0.03 });
  console.log(`wrote ${folder} (${(bytes / 2 ** 20).toFixed(0)} MiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const server = await startServer({ port: 0 });
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
const ms = (v) => `${(v / 1000).toFixed(2)} s`;
try {
  for (let r = 0; r < runs; r++) {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${origin}/demo/`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.evaluate(() => {
      window.__progress = [];
      const text = document.getElementById('open-progress-text');
      new MutationObserver(() => window.__progress.push([performance.now(), text.textContent])).observe(text, { childList: true, characterData: true, subtree: true });
      document.getElementById('model-folder').addEventListener('change', () => (window.__changeAt = performance.now()), { capture: true });
    });
    await page.fill('#new-tokens', '1');
    await page.setInputFiles('#model-folder', folder);
    await page.waitForFunction(() => document.body.dataset.opens === '1', null, { timeout: 300000 });
    const opened = await page.evaluate(() => ({ error: document.body.dataset.openError, open: window.__demo.open, changeAt: window.__changeAt, progress: window.__progress }));
    if (opened.error) throw new Error(opened.error);
    await page.click('#generate');
    await page.waitForFunction(() => document.body.dataset.generating === 'false' && document.body.dataset.generated === '1', null, { timeout: 60000 });
    const firstToken = await page.evaluate(() => window.__demo.tokenFrames.at(-1).at - window.__changeAt);
    const { open, progress, changeAt } = opened;
    console.log(`run ${r + 1}: ${(open.bytes / 2 ** 20).toFixed(0)} MiB · loaded ${ms(open.loadedMs)} · prompt run and drawn ${ms(open.firstRunMs)} · first token ${ms(firstToken)}`);
    if (r === 0) for (const [t, text] of progress) console.log(`  ${ms(t - changeAt)}  ${text}`);
    await page.close();
  }

  // Where loadModel's time goes (one more page; loadModel called directly on the same Files).
  const page = await browser.newPage();
  await page.goto(`${origin}/demo/`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.evaluate(() => {
    const input = Object.assign(document.createElement('input'), { type: 'file', id: 'profile-input', webkitdirectory: true });
    document.body.append(input);
  });
  await page.setInputFiles('#profile-input', folder);
  const breakdown = await page.evaluate(async () => {
    const [{ init }, { loadModel }] = await Promise.all([import('/dist/browser.mjs'), import('/dist/models/index.mjs')]);
    const files = [...document.getElementById('profile-input').files].filter((f) => f.webkitRelativePath.split('/').length === 2);
    const t = { read: 0, pack: 0 };
    const arrayBuffer = Blob.prototype.arrayBuffer;
    Blob.prototype.arrayBuffer = async function timedArrayBuffer() {
      const start = performance.now();
      const buffer = await arrayBuffer.call(this);
      t.read += performance.now() - start;
      return buffer;
    };
    const mha = await init();
    const timed = (make) => (...args) => {
      const layer = make(...args);
      const load = layer.loadWeights.bind(layer);
      layer.loadWeights = (...a) => {
        const start = performance.now();
        const result = load(...a);
        t.pack += performance.now() - start;
        return result;
      };
      return layer;
    };
    const wrapped = Object.fromEntries(Object.keys(mha).map((key) => [key, typeof mha[key] === 'function' ? mha[key].bind(mha) : mha[key]]));
    for (const key of ['createLinear', 'createMultiHeadAttention', 'createSelfAttention']) wrapped[key] = timed(mha[key].bind(mha));
    const start = performance.now();
    const model = await loadModel(wrapped, files);
    const total = performance.now() - start;
    Blob.prototype.arrayBuffer = arrayBuffer;
    const cache = model.createCache({ maxLength: 256 });
    const ids = Array.from({ length: 40 }, (_, i) => (i * 37) % 300);
    let s = performance.now();
    model.forward(ids, { cache, needWeights: true, lastOnly: true });
    const prefill = performance.now() - s;
    s = performance.now();
    for (let i = 0; i < 5; i++) model.forward([i], { cache, needWeights: true, lastOnly: true });
    const step = (performance.now() - s) / 5;
    model.dispose();
    return { total, ...t, other: total - t.read - t.pack, prefill, step };
  });
  const b = breakdown;
  console.log(`loadModel alone: ${ms(b.total)} = reading the Files ${ms(b.read)} + loadWeights ${ms(b.pack)} + other JavaScript ${ms(b.other)}`);
  console.log(`then: a 40-token prompt ${ms(b.prefill)} (with every head's weights), a decoding step ${b.step.toFixed(0)} ms`);
} finally {
  await browser.close();
  server.close();
}
