// "Open model…" in the demo page (issue 14, part 3), end to end in Debian's
// Chromium (playwright-core) and Firefox (puppeteer-core over WebDriver BiDi):
//
//   * folders that cannot be opened (tests/fixtures/models/bad/*) each say why in the page, and the
//     shipped model keeps running;
//   * the tiny Llama checkpoint (tests/fixtures/models/llama), chosen through the file input,
//     writes PyTorch's 16 greedy tokens; every view shows its 2 layers × 4 heads; a hovered
//     heatmap cell equals the value mha-wasm/models computes in Node on the same folder;
//   * a 12-layer × 12-head GPT-2 written with random weights into a temporary folder stays
//     usable: selectors, grid, lines, step view and role table sized to it, no page-wide overflow;
//   * files dropped on the page open too; the shipped model comes back with one click;
//   * nothing is requested from outside 127.0.0.1, and the page logs no error or warning.
//
// Chromium takes the folder through the webkitdirectory input, as a person picking a folder
// does; Firefox (whose WebDriver BiDi sets files, not folders) through the multiple-files input.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { init } from '../../dist/node.mjs';
import { loadModel } from '../../dist/models/node.mjs';
import { heatmapCell, heatmapLayout } from '../../web/demo/attention_heatmap.js';
import { startServer } from '../../scripts/serve.mjs';
import { CHROMIUM_ARGS, FIREFOX_PREFS, VIEWPORT } from './browser.mjs';
import { writeGpt2Checkpoint } from './demo_checkpoints.mjs';

const MODELS = fileURLToPath(new URL('../fixtures/models/', import.meta.url));
const LLAMA = join(MODELS, 'llama');
const expected = JSON.parse(readFileSync(join(LLAMA, 'expected.json'), 'utf8'));
const badCases = JSON.parse(readFileSync(join(MODELS, 'bad', 'cases.json'), 'utf8')).cases;
const NEW_TOKENS = 16;
const [LAYER, HEAD] = [1, 2];
const resultsDir = fileURLToPath(new URL('../../test-results/', import.meta.url));

/** One page in `name`, with what these tests need: choosing files, and every request and console message. */
async function openPage(name) {
  const log = { requests: [], console: [], errors: [] };
  if (name === 'chromium') {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const page = await (await browser.newContext({ viewport: VIEWPORT })).newPage();
    page.on('request', (r) => log.requests.push(r.url()));
    page.on('console', (m) => log.console.push({ type: m.type(), text: m.text() }));
    page.on('pageerror', (e) => log.errors.push(e));
    return {
      log,
      page,
      // A folder through the webkitdirectory input (Playwright sends the folder's files with their relative paths).
      chooseFolder: (folder) => page.setInputFiles('#model-folder', folder),
      chooseFiles: (paths) => page.setInputFiles('#model-files', paths),
      evaluate: (fn, arg) => page.evaluate(fn, arg),
      waitFor: (fn, arg, timeout = 30000) => page.waitForFunction(fn, arg, { timeout }),
      hover: (selector, position) => page.locator(selector).hover({ position }),
      box: (selector) => page.locator(selector).boundingBox(),
      screenshot: (path) => page.screenshot({ path, fullPage: true }),
      close: () => browser.close(),
    };
  }
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: '/usr/bin/firefox-esr', headless: true, extraPrefsFirefox: FIREFOX_PREFS });
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport(VIEWPORT);
  page.on('request', (r) => log.requests.push(r.url()));
  page.on('console', (m) => log.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => log.errors.push(e));
  const chooseFiles = async (paths) => {
    const input = await page.$('#model-files');
    await input.uploadFile(...paths);
  };
  const scrolledBox = async (selector) => {
    const element = await page.waitForSelector(selector);
    await element.evaluate((el) => el.scrollIntoView({ block: 'center', inline: 'center' }));
    return element.boundingBox();
  };
  return {
    log,
    page,
    chooseFolder: (folder) => chooseFiles(readdirSync(folder).map((f) => join(folder, f))),
    chooseFiles,
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    waitFor: (fn, arg, timeout = 30000) => page.waitForFunction(fn, { timeout, polling: 50 }, arg),
    async hover(selector, position) {
      const box = await scrolledBox(selector);
      await page.mouse.move(box.x + position.x, box.y + position.y);
    },
    box: scrolledBox,
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    close: () => browser.close(),
  };
}

// The Node side: the same folder through mha-wasm/models, the page's calls (a prefill through a
// 128-token cache, then one forward per token, greedy on the last position's logits).
let node;
beforeAll(async () => {
  const mha = await init();
  const model = await loadModel(mha, LLAMA);
  const context = Math.min(256, model.config.max_position_embeddings);
  const cache = model.createCache({ maxLength: context });
  const ids = model.tokenizer.encode(expected.prompt.text);
  let step = model.forward(ids, { cache, needWeights: true, lastOnly: true });
  const argmax = (data) => data.reduce((best, v, i) => (v > data[best] ? i : best), 0);
  const generated = [];
  for (let i = 0; i < NEW_TOKENS; i++) {
    const id = argmax(step.logits.data);
    generated.push(id);
    step = model.forward([id], { cache, needWeights: true, lastOnly: true });
  }
  // The last step: query T − 1 over every key, (H, 1, T) per layer.
  const T = ids.length + NEW_TOKENS;
  const lastRow = (layer, head) => step.attentions[layer].data.subarray(head * T, (head + 1) * T);
  node = { ids, generated, T, value: (key) => lastRow(LAYER, HEAD)[key], numLayers: model.numLayers, numHeads: model.numHeads };
  cache.dispose();
  model.dispose();
});

describe.each(['chromium', 'firefox'])('opening a model in the demo page in %s', (browserName) => {
  let server;
  let origin;
  let b; // the page
  let temp;
  let big; // the 12 × 12 checkpoint

  beforeAll(async () => {
    temp = mkdtempSync(join(tmpdir(), 'mha-open-model-'));
    big = writeGpt2Checkpoint(join(temp, 'gpt2-12x12'), { layers: 12, heads: 12, hidden: 48, inner: 64, positions: 128 }).folder;
    server = await startServer({ port: 0 });
    origin = `http://127.0.0.1:${server.address().port}`;
    b = await openPage(browserName);
    await b.page.goto(`${origin}/demo/`);
    await b.waitFor(() => document.body.dataset.ready === 'true');
  }, 60000);

  afterAll(async () => {
    await b?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  const opens = () => b.evaluate(() => Number(document.body.dataset.opens ?? 0));
  /** Chooses a folder (or files) and waits until the page has tried to open it. */
  const open = async (choose) => {
    const before = await opens();
    await choose();
    await b.waitFor((n) => Number(document.body.dataset.opens ?? 0) > n && document.body.dataset.opening === 'false', before, 60000);
    return b.evaluate(() => ({
      model: document.body.dataset.model,
      error: document.getElementById('open-error').hidden ? null : document.getElementById('open-error').textContent,
      status: document.getElementById('status').textContent,
    }));
  };
  const reveal = (selector) =>
    b.evaluate(
      (s) =>
        new Promise((resolve) => {
          document.querySelector(s).scrollIntoView({ block: 'center' });
          requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(resolve)));
        }),
      selector,
    );
  const count = (selector) => b.evaluate((s) => document.querySelectorAll(s).length, selector);
  const select = (selector, value) =>
    b.evaluate(
      ([s, v]) => {
        const el = document.querySelector(s);
        el.value = v;
        el.dispatchEvent(new Event('change', { bubbles: true }));
      },
      [selector, value],
    );
  const fill = (selector, value) =>
    b.evaluate(
      ([s, v]) => {
        const el = document.querySelector(s);
        el.value = v;
        el.dispatchEvent(new Event('input', { bubbles: true }));
      },
      [selector, value],
    );
  const generate = async (prompt, tokens) => {
    await fill('#sentence', prompt);
    await fill('#new-tokens', String(tokens));
    await select('#strategy', 'greedy');
    await b.evaluate(() => document.getElementById('generate').click());
    await b.waitFor(() => document.body.dataset.generating === 'false' && !document.getElementById('generate').disabled);
  };

  test('each bad folder is refused with its reason shown in the page; the shipped model keeps running', async () => {
    for (const c of badCases) {
      const result = await open(() => b.chooseFolder(join(MODELS, 'bad', c.folder)));
      expect({ folder: c.folder, model: result.model }).toEqual({ folder: c.folder, model: 'shipped' });
      expect(result.error).toContain(`Could not open`);
      for (const word of c.error_should_mention) expect(result.error).toContain(word);
      if (c.error_should_mention_one_of) expect(c.error_should_mention_one_of.some((w) => result.error.includes(w))).toBe(true);
    }
    // The page is still the shipped model's, and still runs.
    const runs = await b.evaluate(() => Number(document.body.dataset.runs));
    await b.evaluate(() => document.getElementById('run').click());
    await b.waitFor((n) => Number(document.body.dataset.runs) > n, runs);
    expect(await b.evaluate(() => document.getElementById('status').textContent)).toBe('ready');
    expect(await count('#head option')).toBe(4);
    expect(b.log.errors).toEqual([]);
  }, 60000);

  test('the tiny Llama checkpoint opens from the file input and writes PyTorch\'s 16 greedy tokens', async () => {
    const result = await open(() => b.chooseFolder(LLAMA));
    // A picked folder is named after it; picked files (Firefox here) are "model".
    const name = browserName === 'chromium' ? 'llama' : 'model';
    expect(result).toEqual({ model: name, error: null, status: 'ready' });
    await expect(b.evaluate(() => document.getElementById('model-name').textContent)).resolves.toBe(`${name} (llama)`);
    await generate(expected.prompt.text, NEW_TOKENS);
    const shown = await b.evaluate(() => ({ ids: window.__demo.tokenIds(), generated: document.body.dataset.generated, status: document.getElementById('status').textContent }));
    expect(shown.generated).toBe(String(NEW_TOKENS));
    expect(shown.status).toBe(`wrote ${NEW_TOKENS} tokens`);
    expect(shown.ids).toEqual([...expected.prompt.ids, ...expected.greedy.ids.slice(0, NEW_TOKENS)]);
    expect(shown.ids).toEqual([...node.ids, ...node.generated]);
    expect(await count('#tokens .token.generated')).toBe(NEW_TOKENS);
  }, 60000);

  test('every view shows the model\'s 4 heads × 2 layers', async () => {
    expect([node.numLayers, node.numHeads]).toEqual([2, 4]);
    expect(await count('#layer option')).toBe(2);
    expect(await count('#head option')).toBe(4);
    await reveal('#lines');
    expect(await count('.head-toggle')).toBe(4);
    expect(await count('#lines text[data-side="query"]')).toBe(node.T);
    await reveal('#grid');
    expect(await count('#grid canvas[data-layer][data-head]')).toBe(8);
    await b.waitFor(() => document.body.dataset.roles === 'true');
    await reveal('#roles');
    expect(await count('#roles tbody tr')).toBe(8);
    // Step by step: Q, K, V recomputed from the files' projections, with RoPE and grouped-query attention.
    await select('#layer', String(LAYER));
    await select('#head', String(HEAD));
    await reveal('#mechanism');
    await b.waitFor(() => document.querySelectorAll('#mechanism canvas[data-panel]').length === 9);
    const text = await b.evaluate(() => document.getElementById('mechanism').textContent);
    expect(text).toContain(`K [${node.T} × 12]`);
    expect(text).toContain('RoPE (kv head 1)');
    expect(text).toMatch(/model's; recomputed within \de-\d/);
    await expect(b.evaluate(() => document.getElementById('mechanism-title').textContent)).resolves.toBe(`layer ${LAYER} · head ${HEAD} · ${node.T} tokens`);
  }, 60000);

  test('a hovered heatmap cell shows the weight mha-wasm/models computes in Node', async () => {
    await reveal('#heatmap');
    const tokens = await b.evaluate(() => [...document.querySelectorAll('#tokens .token')].map((t) => t.textContent));
    expect(tokens).toHaveLength(node.T);
    const layout = heatmapLayout(tokens, { causal: true });
    const [query, key] = [node.T - 1, node.ids.length + 3];
    const box = await b.box('#heatmap');
    const cell = heatmapCell(layout, query, key, 0);
    const scale = box.width / layout.width;
    await b.hover('#heatmap', { x: (cell.x + cell.w / 2) * scale, y: (cell.y + cell.h / 2) * scale });
    await b.waitFor(([q, k]) => {
      const t = document.getElementById('heatmap-tooltip');
      return !t.hidden && t.dataset.query === String(q) && t.dataset.key === String(k);
    }, [query, key]);
    const shown = Number(await b.evaluate(() => document.getElementById('heatmap-tooltip').dataset.value));
    // Same .wasm, same JavaScript, same calls: the numbers are identical.
    expect(shown).toBe(node.value(key));
    expect(shown).toBeGreaterThan(0);
  });

  test('a 12-layer × 12-head model stays usable: every view sized to it, nothing wider than the page', async () => {
    const result = await open(() => b.chooseFiles(readdirSync(big).map((f) => join(big, f))));
    expect(result).toEqual({ model: 'model', error: null, status: 'ready' });
    expect(await count('#layer option')).toBe(12);
    expect(await count('#head option')).toBe(12);
    await generate('Once upon a time there was a small model', 8);
    expect(await b.evaluate(() => document.body.dataset.generated)).toBe('8');
    await reveal('#grid');
    expect(await count('#grid canvas[data-layer][data-head]')).toBe(144);
    const layout = await b.evaluate(() => {
      const grid = document.getElementById('grid');
      const view = document.getElementById('view-grid').querySelector('.view-body');
      const thumb = grid.querySelector('canvas.thumb').getBoundingClientRect();
      return { page: document.documentElement.scrollWidth, viewport: window.innerWidth, grid: grid.getBoundingClientRect().width, view: view.clientWidth, thumb: thumb.width };
    });
    expect(layout.page).toBeLessThanOrEqual(layout.viewport); // no sideways scrolling of the page
    expect(layout.grid).toBeLessThanOrEqual(layout.view); // 12 heads fit the grid's box
    expect(layout.thumb).toBeGreaterThanOrEqual(30);
    await reveal('#lines');
    expect(await count('.head-toggle')).toBe(12);
    const visible = () => b.evaluate(() => [...Array(12)].reduce((sum, _, h) => sum + window.__demo.lines.visibleLines(h), 0));
    const all = await visible();
    expect(all).toBeGreaterThan(0);
    await b.evaluate(() => document.getElementById('heads-none').click());
    expect(await visible()).toBe(0);
    await b.evaluate(() => document.getElementById('heads-all').click());
    expect(await visible()).toBe(all);
    await select('#layer', '11');
    await select('#head', '11');
    await reveal('#mechanism');
    await b.waitFor(() => document.querySelectorAll('#mechanism canvas[data-panel]').length === 9);
    expect(await b.evaluate(() => document.getElementById('mechanism').textContent)).toContain('concat [');
    await b.waitFor(() => document.body.dataset.roles === 'true');
    await reveal('#roles');
    expect(await count('#roles tbody tr')).toBe(144);
    if (browserName === 'chromium') {
      mkdirSync(resultsDir, { recursive: true });
      await b.evaluate(() => {
        document.body.classList.add('eager');
        window.__demo.drawAll();
        window.scrollTo(0, 0);
      });
      await b.screenshot(join(resultsDir, 'demo-open-model-12x12.png'));
      await b.evaluate(() => document.body.classList.remove('eager'));
    }
    expect(b.log.errors).toEqual([]);
  }, 60000);

  test('files dropped on the page open as a model, and the shipped model comes back with one click', async () => {
    const folder = join(MODELS, 'gpt2');
    const files = readdirSync(folder).filter((f) => f !== 'expected.json').map((name) => ({ name, base64: readFileSync(join(folder, name)).toString('base64') }));
    // The 12 × 12 model's layer 11 is selected and the heatmap on screen: switching clamps the selection.
    await reveal('#heatmap');
    expect(await b.evaluate(() => document.getElementById('layer').value)).toBe('11');
    const before = await opens();
    await b.evaluate((list) => {
      const transfer = new DataTransfer();
      for (const { name, base64 } of list) transfer.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name));
      const at = document.getElementById('view-heatmap');
      for (const type of ['dragenter', 'dragover', 'drop']) at.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }, files);
    await b.waitFor((n) => Number(document.body.dataset.opens ?? 0) > n && document.body.dataset.opening === 'false', before);
    await expect(b.evaluate(() => document.getElementById('open-error').hidden)).resolves.toBe(true);
    await expect(b.evaluate(() => document.getElementById('model-name').textContent)).resolves.toBe('model (gpt2)');
    expect(await b.evaluate(() => document.body.classList.contains('dragging'))).toBe(false);

    await b.evaluate(() => document.getElementById('shipped-model').click());
    await b.waitFor(() => document.body.dataset.model === 'shipped' && document.getElementById('status').textContent === 'ready');
    expect(await count('#layer option')).toBe(2);
    expect(await count('#head option')).toBe(4);
    expect(await b.evaluate(() => document.querySelector('#tokens .token').textContent)).toBe('<bos>');
    expect(await b.evaluate(() => document.getElementById('shipped-model').hidden)).toBe(true);
  });

  test('nothing was requested outside 127.0.0.1, and the page logged no error or warning', async () => {
    const urls = [...b.log.requests, ...(await b.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name)))];
    expect(urls.some((u) => u.includes('/vendor/@huggingface/tokenizers/'))).toBe(true);
    expect(urls.filter((u) => !u.startsWith(`${origin}/`) && !/^(data|blob):/.test(u))).toEqual([]);
    expect(b.log.console.filter((m) => /^(warn|warning|error)$/.test(m.type))).toEqual([]);
    expect(b.log.errors).toEqual([]);
  });
});
