// The demo page end to end, as a person uses it, in Debian's Chromium and
// Firefox: open it, type a sentence, look at the heatmap, hover a cell,
// toggle heads, export. Values shown on the page are checked against the
// library run in Node on the same sentence. A screenshot per browser is kept
// in test-results/.
import { mkdirSync, readFileSync } from 'node:fs';
import { init } from '../../dist/node.mjs';
import { createTinyGpt } from '../../web/demo/tiny_gpt.mjs';
import { heatmapGeometry } from '../../web/demo/attention_heatmap.js';
import { BROWSERS, openBrowser } from './browser.mjs';

const SENTENCE = 'tom found a ball . he gave the ball to anna .';
const LAYER = 1;
const HEAD = 2;
const resultsDir = new URL('../../test-results/', import.meta.url);

describe.each(BROWSERS)('the demo page in %s', (browserName) => {
  let session;
  let page;
  let reference; // the same model run in Node

  beforeAll(async () => {
    const mha = await init();
    const model = createTinyGpt(
      mha,
      readFileSync(new URL('../../web/demo/model/tiny_stories.safetensors', import.meta.url)),
      JSON.parse(readFileSync(new URL('../../web/demo/model/vocab.json', import.meta.url), 'utf8')),
    );
    reference = model.run(model.tokenize(SENTENCE).ids);
    session = await openBrowser(browserName);
    page = session.page;
    await page.goto(`${session.baseURL}/demo/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  }, 60000);

  afterAll(() => session?.close());

  const runs = () => page.evaluate(() => Number(document.body.dataset.runs));

  test('typing a sentence and pressing Run shows its tokens in every view', async () => {
    const before = await runs();
    await page.fill('#sentence', SENTENCE);
    await page.click('#run');
    await page.waitForFunction((n) => Number(document.body.dataset.runs) > n, before);
    await page.selectOption('#layer', String(LAYER));
    await page.selectOption('#head', String(HEAD));
    await expect(page.textContent('#status')).resolves.toMatch(/ready/);
    const text = await page.textContent('body');
    expect(text).toContain('anna');
    expect(await page.count('#grid canvas[data-layer][data-head]')).toBeGreaterThanOrEqual(4);
    expect(session.pageErrors).toEqual([]);
  });

  test('the heatmap canvas is not blank', async () => {
    const distinctColours = await page.evaluate(() => {
      const canvas = document.getElementById('heatmap');
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      const colours = new Set();
      for (let i = 0; i < data.length; i += 4 * 7) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      return colours.size;
    });
    expect(distinctColours).toBeGreaterThan(20);
  });

  test('hovering a cell shows the weight the library computes for it', async () => {
    const T = reference.tokens.length;
    const geometry = heatmapGeometry(reference.attention[LAYER][HEAD], reference.tokens, { causal: true });
    const box = await page.boundingBox('#heatmap');
    const [query, key] = [T - 1, 4];
    const cell = geometry.cells[query * T + key];
    const scale = box.width / geometry.width;
    // hover() scrolls the canvas into view first; the position is in CSS pixels of the element.
    await page.hover('#heatmap', { x: (cell.x + cell.w / 2) * scale, y: (cell.y + cell.h / 2) * scale });
    const tooltip = '#heatmap-tooltip';
    await expect(page.getAttribute(tooltip, 'data-query')).resolves.toBe(String(query));
    await expect(page.getAttribute(tooltip, 'data-key')).resolves.toBe(String(key));
    const shown = Number(await page.getAttribute(tooltip, 'data-value'));
    // Same .wasm, same JavaScript, same input: the numbers are identical.
    expect(shown).toBe(reference.attention[LAYER][HEAD][query * T + key]);
    expect(await page.textContent(tooltip)).toContain(shown.toFixed(4));
  });

  test('toggling a head off hides its lines in the line view, and on again restores them', async () => {
    const visibleLinesOf = (head) =>
      page.evaluate(
        (h) => [...document.querySelectorAll('#lines line')].filter((l) => l.dataset.head === String(h) && Number(l.getAttribute('stroke-opacity') ?? 1) > 0 && l.style.display !== 'none').length,
        head,
      );
    // Away from the heatmap, so no hovered token narrows the lines.
    await page.moveMouse(1, 1);
    const before = await visibleLinesOf(HEAD);
    expect(before).toBeGreaterThan(0);
    await page.click(`.head-toggle[data-head="${HEAD}"]`);
    expect(await visibleLinesOf(HEAD)).toBe(0);
    await page.click(`.head-toggle[data-head="${HEAD}"]`);
    expect(await visibleLinesOf(HEAD)).toBe(before);
  });

  test('PNG and SVG export produce valid files', async () => {
    const png = await page.download('#export-png');
    const pngBytes = png.bytes;
    expect(png.fileName).toMatch(/\.png$/);
    expect([...pngBytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(pngBytes.length).toBeGreaterThan(1000);

    const svg = await page.download('#export-svg');
    const svgText = svg.bytes.toString('utf8');
    expect(svg.fileName).toMatch(/\.svg$/);
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      return { error: doc.querySelector('parsererror') !== null, root: doc.documentElement.nodeName, shapes: doc.querySelectorAll('rect, path, line').length };
    }, svgText);
    expect(parsed).toEqual({ error: false, root: 'svg', shapes: expect.any(Number) });
    expect(parsed.shapes).toBeGreaterThan(10);
  });

  // Not timed (npm run bench reports frame times): this checks that the full
  // context with every head is computed, drawn and hoverable, with the right value.
  test('a text of the model\'s whole context (256 tokens) runs, draws every head and answers hover', async () => {
    const mha = await init();
    const model = createTinyGpt(
      mha,
      readFileSync(new URL('../../web/demo/model/tiny_stories.safetensors', import.meta.url)),
      JSON.parse(readFileSync(new URL('../../web/demo/model/vocab.json', import.meta.url), 'utf8')),
    );
    const { context, nLayers, nHeads } = model.config;
    expect(context).toBe(256);
    const words = 'tom and anna played a game . tom said , i can see a red fox and a tiny cup .'.split(' ');
    const text = Array.from({ length: context }, (_, i) => words[i % words.length]).join(' ');
    const long = model.run(model.tokenize(text).ids);
    expect(long.tokens.length).toBe(context);

    const before = await runs();
    await page.fill('#sentence', text);
    await page.click('#run');
    await page.waitForFunction((n) => Number(document.body.dataset.runs) > n, before, { timeout: 30000 });
    await expect(page.textContent('#run-info')).resolves.toMatch(new RegExp(`^${context} tokens`));
    expect(await page.count('#grid canvas[data-layer][data-head]')).toBe(nLayers * nHeads);

    const geometry = heatmapGeometry(long.attention[LAYER][HEAD], long.tokens, { causal: true });
    const box = await page.boundingBox('#heatmap');
    const [query, key] = [context - 1, context - 3];
    const cell = geometry.cells[query * context + key];
    const scale = box.width / geometry.width;
    await page.hover('#heatmap', { x: (cell.x + cell.w / 2) * scale, y: (cell.y + cell.h / 2) * scale });
    const tooltip = '#heatmap-tooltip';
    await expect(page.getAttribute(tooltip, 'data-query')).resolves.toBe(String(query));
    await expect(page.getAttribute(tooltip, 'data-key')).resolves.toBe(String(key));
    expect(Number(await page.getAttribute(tooltip, 'data-value'))).toBe(long.attention[LAYER][HEAD][query * context + key]);
    expect(session.pageErrors).toEqual([]);
  }, 60000);

  test('a screenshot of the page is saved', async () => {
    mkdirSync(resultsDir, { recursive: true });
    const file = new URL(browserName === 'chromium' ? 'demo.png' : `demo-${browserName}.png`, resultsDir);
    await page.screenshot(file.pathname);
    expect(readFileSync(file).length).toBeGreaterThan(10000);
    expect(session.pageErrors).toEqual([]);
  });
});
