// The demo page end to end, as a person uses it, in Debian's Chromium and
// Firefox: open it, type a sentence, look at the heatmap, hover a cell,
// toggle heads, export; then let the model write 64 words, stop a longer
// generation, and check the head-role map. Values shown on the page are
// checked against the library run in Node on the same text. A screenshot per
// browser is kept in test-results/.
import { mkdirSync, readFileSync } from 'node:fs';
import { init } from '../../dist/node.mjs';
import { generate } from '../../web/demo/model/tiny_gpt.mjs';
import { heatmapGeometry, heatmapLayout, heatmapCell } from '../../web/demo/attention_heatmap.js';
import { BROWSERS, openBrowser } from './browser.mjs';
import { openShippedTinyGpt } from '../js/shipped_tiny_gpt.mjs';

const SENTENCE = 'tom found a ball . he gave the ball to anna .';
const LAYER = 1;
const HEAD = 2;
const resultsDir = new URL('../../test-results/', import.meta.url);
const generationFixture = JSON.parse(readFileSync(new URL('../fixtures/tiny_generation.json', import.meta.url), 'utf8'));

let model; // the same model in Node
beforeAll(async () => {
  const mha = await init();
  model = openShippedTinyGpt(mha);
});
afterAll(() => model?.dispose());

describe.each(BROWSERS)('the demo page in %s', (browserName) => {
  let session;
  let page;
  let reference; // the sentence's forward pass in Node

  beforeAll(async () => {
    reference = model.run(model.tokenize(SENTENCE).ids);
    session = await openBrowser(browserName);
    page = session.page;
    await page.goto(`${session.baseURL}/demo/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  }, 60000);

  afterAll(() => session?.close());

  const runs = () => page.evaluate(() => Number(document.body.dataset.runs));
  // Views off screen are drawn when they come into view: scroll there, then let two frames pass.
  const reveal = (selector) =>
    page.evaluate(
      (s) =>
        new Promise((resolve) => {
          document.querySelector(s).scrollIntoView({ block: 'center' });
          requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(resolve)));
        }),
      selector,
    );
  // The centre of cell (q, k) of the heatmap, in CSS pixels of the canvas element.
  const cellCentre = async (layout, q, k) => {
    const box = await page.boundingBox('#heatmap');
    const cell = heatmapCell(layout, q, k, 0);
    const scale = box.width / layout.width;
    return { x: (cell.x + cell.w / 2) * scale, y: (cell.y + cell.h / 2) * scale };
  };

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
    await reveal('#grid');
    expect(await page.count('#grid canvas[data-layer][data-head]')).toBeGreaterThanOrEqual(4);
    expect(session.pageErrors).toEqual([]);
  });

  test('the heatmap canvas is not blank', async () => {
    await reveal('#heatmap');
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
    await reveal('#heatmap');
    const [query, key] = [T - 1, 4];
    // hover() scrolls the canvas into view first; the position is in CSS pixels of the element.
    await page.hover('#heatmap', await cellCentre(geometry, query, key));
    const tooltip = '#heatmap-tooltip';
    await expect(page.getAttribute(tooltip, 'data-query')).resolves.toBe(String(query));
    await expect(page.getAttribute(tooltip, 'data-key')).resolves.toBe(String(key));
    const shown = Number(await page.getAttribute(tooltip, 'data-value'));
    // Same .wasm, same JavaScript, same input: the numbers are identical.
    expect(shown).toBe(reference.attention[LAYER][HEAD][query * T + key]);
    expect(await page.textContent(tooltip)).toContain(shown.toFixed(4));
  });

  test('toggling a head off hides its lines in the line view, and on again restores them', async () => {
    // The lines are painted on a canvas; the view reports how many of a head's it painted.
    const visibleLinesOf = (head) => page.evaluate((h) => window.__demo.lines.visibleLines(h), head);
    await reveal('#lines');
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
    await reveal('#grid');
    expect(await page.count('#grid canvas[data-layer][data-head]')).toBe(nLayers * nHeads);

    await reveal('#heatmap');
    const [query, key] = [context - 1, context - 3];
    await page.hover('#heatmap', await cellCentre(heatmapLayout(long.tokens, { causal: true }), query, key));
    const tooltip = '#heatmap-tooltip';
    await expect(page.getAttribute(tooltip, 'data-query')).resolves.toBe(String(query));
    await expect(page.getAttribute(tooltip, 'data-key')).resolves.toBe(String(key));
    expect(Number(await page.getAttribute(tooltip, 'data-value'))).toBe(long.attention[LAYER][HEAD][query * context + key]);
    expect(session.pageErrors).toEqual([]);
  }, 60000);

  describe('generation', () => {
    const [first] = generationFixture.cases;
    const P = first.prompt_ids.length;

    test('the page\'s model writes PyTorch\'s greedy tokens for all 4 fixture prompts (64 each)', async () => {
      const got = await page.evaluate(async (prompts) => {
        const [{ init }, { loadTinyGpt, generate }] = await Promise.all([import('/dist/browser.mjs'), import('/demo/model/tiny_gpt.mjs')]);
        const m = await loadTinyGpt(await init(), { weightsURL: '/demo/model/tiny_stories.safetensors', vocabURL: '/demo/model/vocab.json' });
        try {
          return prompts.map((ids) => generate(m, ids, { maxNewTokens: 64, strategy: 'greedy' }));
        } finally {
          m.dispose();
        }
      }, generationFixture.cases.map((c) => c.prompt_ids));
      expect(got).toEqual(generationFixture.cases.map((c) => c.generated_ids));
    }, 60000);

    test('Generate writes 64 words, one decoding step and one new heatmap row each, equal to PyTorch\'s', async () => {
      await reveal('#controls');
      await page.selectOption('#layer', String(LAYER));
      await page.selectOption('#head', String(HEAD));
      await page.selectOption('#strategy', 'greedy');
      await page.fill('#sentence', first.prompt);
      await page.fill('#new-tokens', '64');
      const framesBefore = await page.evaluate(() => window.__demo.tokenFrames.length);
      await page.click('#generate');
      await page.waitForFunction(() => document.body.dataset.generating === 'false', null, { timeout: 30000 });
      expect(await page.evaluate(() => document.body.dataset.generated)).toBe('64');
      const tokens = await page.evaluate(() => [...document.querySelectorAll('#tokens .token')].map((t) => t.textContent));
      expect(tokens).toHaveLength(P + 64);
      expect(tokens.slice(P)).toEqual(first.generated_tokens);
      expect(await page.count('#tokens .token.generated')).toBe(64);
      await expect(page.textContent('#gen-info')).resolves.toMatch(/^64 tokens in .*tokens\/s on screen · the model alone [\d,]+ tokens\/s/);
      // One frame per word (one per frame is the default pace); each frame added exactly one row to the heatmap.
      const frames = (await page.evaluate(() => window.__demo.tokenFrames)).slice(framesBefore);
      expect(frames.map((f) => f.length)).toEqual([...Array(64)].map((_, i) => P + 1 + i));
      expect(frames.every((f) => f.steps === 1)).toBe(true);
      expect(frames.filter((f) => f.added.heatmap !== undefined).every((f) => f.added.heatmap === 1)).toBe(true);
      await reveal('#heatmap');
      await expect(page.getAttribute('#heatmap', 'data-rows')).resolves.toBe(String(P + 64));
      // The candidates panel names the last word, chosen greedily.
      await expect(page.textContent('#candidates')).resolves.toContain(`'${first.generated_tokens.at(-1)}'`);
      expect(await page.count('#candidates tr.chosen')).toBe(1);
    }, 60000);

    test('a hovered cell of the generated text shows the library\'s value for it, computed in Node', async () => {
      const decoder = model.createDecoder();
      decoder.append(first.prompt_ids);
      for (const id of first.generated_ids) decoder.append([id]);
      const T = decoder.length;
      const [query, key] = [T - 1, P + 10];
      const expected = decoder.attentionRow(LAYER, HEAD, query)[key];
      const tokens = decoder.tokens;
      decoder.dispose();
      await reveal('#heatmap');
      await page.hover('#heatmap', await cellCentre(heatmapLayout(tokens, { causal: true }), query, key));
      await expect(page.getAttribute('#heatmap-tooltip', 'data-query')).resolves.toBe(String(query));
      await expect(page.getAttribute('#heatmap-tooltip', 'data-key')).resolves.toBe(String(key));
      expect(Number(await page.getAttribute('#heatmap-tooltip', 'data-value'))).toBe(expected);
      await page.moveMouse(1, 1);
    });

    test('the grid and the line view caught up when scrolled to; the step view shows the newest word', async () => {
      await reveal('#grid');
      const T = P + 64;
      expect(await page.count('#grid canvas[data-layer][data-head]')).toBe(8);
      await reveal('#lines');
      expect(await page.count('#lines text[data-side="query"]')).toBe(T);
      await page.selectOption('#step-query', 'newest');
      await reveal('#mechanism');
      await expect(page.textContent('#mechanism-title')).resolves.toContain(`the newest word, '${first.generated_tokens.at(-1)}'`);
      await expect(page.textContent('#mechanism')).resolves.toContain(`weights [1 × ${T}]`);
      await page.selectOption('#step-query', 'all');
    });

    test('Stop halts the generation within one word', async () => {
      await reveal('#controls');
      await page.selectOption('#strategy', 'top-k');
      await page.fill('#sentence', first.prompt);
      await page.fill('#new-tokens', '150');
      await page.click('#generate');
      await page.waitForFunction((n) => Number(document.body.dataset.length) >= n, P + 10, { timeout: 30000 });
      await page.click('#stop');
      await page.waitForFunction(() => document.body.dataset.generating === 'false', null, { timeout: 30000 });
      const { stopLength, length, generated } = await page.evaluate(() => ({ ...document.body.dataset }));
      expect(Number(length) - Number(stopLength)).toBeLessThanOrEqual(1);
      expect(Number(generated)).toBeLessThan(150);
      expect(Number(length)).toBe(P + Number(generated));
      await expect(page.textContent('#status')).resolves.toBe(`stopped after ${generated} words`);
      // Sampling with the same seed writes the same words again (the page's own generator).
      const wordsOf = () => page.evaluate(() => [...document.querySelectorAll('#tokens .token.generated')].map((t) => t.textContent).join(' '));
      const stoppedWords = await wordsOf();
      await page.fill('#new-tokens', generated);
      await page.click('#generate');
      await page.waitForFunction(() => document.body.dataset.generating === 'false', null, { timeout: 30000 });
      expect(await wordsOf()).toBe(stoppedWords);
      const seed = Number(await page.evaluate(() => document.getElementById('seed').value));
      expect(generate(model, first.prompt_ids, { strategy: 'top-k', topK: 5, temperature: 0.8, seed, maxNewTokens: Number(generated) }).map((id) => model.vocabulary[id]).join(' ')).toBe(stoppedWords);
      await page.selectOption('#strategy', 'greedy');
    }, 60000);

    test('the head-role map ranks layer 1 head 1 first for induction and badges it in the grid', async () => {
      await page.waitForSelector('body[data-roles="true"]', { timeout: 30000 });
      await reveal('#roles');
      const firstRow = await page.evaluate(() => document.querySelector('#roles tbody tr td').textContent);
      expect(firstRow).toBe('L1H1');
      await page.click('#roles th button[data-sort="previous"]');
      await expect(page.getAttribute('#roles th[aria-sort]', 'aria-sort')).resolves.toBe('descending');
      await reveal('#grid');
      await expect(page.textContent('#grid .badges[data-layer="1"][data-head="1"]')).resolves.toContain('induction');
    });
  });

  test('nothing was requested outside 127.0.0.1, and the page logged no error or warning', async () => {
    const origin = session.baseURL;
    const urls = await page.evaluate(() => [location.href, ...performance.getEntriesByType('resource').map((e) => e.name)]);
    expect(urls.length).toBeGreaterThan(5);
    expect(urls.filter((u) => !u.startsWith(`${origin}/`) && !/^(data|blob):/.test(u))).toEqual([]);
    expect(session.page.consoleMessages.filter((m) => /^(warn|warning|error)$/.test(m.type))).toEqual([]);
    expect(session.pageErrors).toEqual([]);
  });

  test('a screenshot of the page is saved', async () => {
    mkdirSync(resultsDir, { recursive: true });
    const file = new URL(browserName === 'chromium' ? 'demo.png' : `demo-${browserName}.png`, resultsDir);
    // A full-page picture shows views that are off screen, which the page draws only when scrolled to.
    await page.evaluate(() => {
      document.body.classList.add('eager'); // render the sections off screen too (content-visibility)
      window.__demo.drawAll();
      window.scrollTo(0, 0);
    });
    await page.screenshot(file.pathname);
    expect(readFileSync(file).length).toBeGreaterThan(10000);
    expect(session.pageErrors).toEqual([]);
  });
});
