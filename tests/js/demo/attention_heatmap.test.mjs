// attention_heatmap: the pure weights → geometry step, hover lookup and the
// SVG serialisation, on a fake run (no DOM, no wasm).
import { heatmapGeometry, heatmapLayout, heatmapCell, cellIndexAt, cellAt, heatmapToSvg, averageOverHeads, cellDescription, HEATMAP_LAYOUT } from '../../../web/demo/attention_heatmap.js';
import { MASKED_COLOR, relativeLuminance, weightColor } from '../../../web/demo/color_scales.js';
import { fakeRun, fakeTokens } from './fake_run.mjs';

const inside = (g, c) => c.x >= 0 && c.y >= 0 && c.x + c.w <= g.width && c.y + c.h <= g.height;

describe.each([1, 7, 33, 256])('T=%i', (T) => {
  const run = fakeRun({ T, nLayers: 1, nHeads: 2, dModel: 16 });
  const g = heatmapGeometry(run.attention[0][1], run.tokens, { causal: true });

  test('one cell per (query, key), row-major, all inside width × height', () => {
    expect(g.cells).toHaveLength(T * T);
    expect(g.pixels).toHaveLength(T * T * 4);
    // One expect per check, not per cell: 65 536 expect() calls take Jest seconds.
    expect(g.cells.filter((c, i) => c.query !== Math.floor(i / T) || c.key !== i % T)).toEqual([]);
    expect(g.cells.filter((c) => !inside(g, c))).toEqual([]);
    for (const l of [...g.rowLabels, ...g.columnLabels]) {
      expect(l.x).toBeGreaterThanOrEqual(0);
      expect(l.x).toBeLessThanOrEqual(g.width);
      expect(l.y).toBeGreaterThanOrEqual(0);
      expect(l.y).toBeLessThanOrEqual(g.height);
    }
  });

  test('cells tile the matrix without overlap', () => {
    const { matrix } = g;
    expect(matrix.size).toBeLessThanOrEqual(HEATMAP_LAYOUT.MATRIX_MAX_PX);
    const misplaced = g.cells.filter(
      (c) => c.x !== matrix.x + c.key * matrix.cellSize || c.y !== matrix.y + c.query * matrix.cellSize || c.w !== matrix.cellSize || c.h !== matrix.cellSize,
    );
    expect(misplaced).toEqual([]);
  });

  test('cellAt returns the (query, key) under a point, null outside the matrix', () => {
    for (const [q, k] of [[0, 0], [T - 1, 0], [T - 1, T - 1], [Math.floor(T / 2), Math.floor(T / 3)]]) {
      const c = g.cells[q * T + k];
      const hit = cellAt(g, c.x + c.w / 2, c.y + c.h / 2);
      expect([hit.query, hit.key]).toEqual([q, k]);
      expect(hit.value).toBe(run.attention[0][1][q * T + k]);
      expect(cellAt(g, c.x, c.y)).toBe(c); // top-left corner belongs to the cell
    }
    expect(cellAt(g, g.matrix.x - 1, g.matrix.y)).toBeNull();
    expect(cellAt(g, g.matrix.x, g.matrix.y + g.matrix.size)).toBeNull();
  });

  test('causal: key > query cells are masked with the masked colour; the rest use the ramp', () => {
    expect(g.cells.filter((c) => c.masked !== c.key > c.query)).toEqual([]);
    expect(g.cells.filter((c) => c.color !== (c.masked ? MASKED_COLOR : weightColor(c.value)))).toEqual([]);
  });

  test('labels thin out so they never overlap', () => {
    const ys = g.rowLabels.map((l) => l.y);
    for (let i = 1; i < ys.length; i++) expect(ys[i] - ys[i - 1]).toBeGreaterThanOrEqual(HEATMAP_LAYOUT.LABEL_MIN_SPACING_PX);
    expect(g.rowLabels[0].index).toBe(0);
  });
});

test('colour of the largest weight is darker than colour of the smallest', () => {
  const weights = Float32Array.from([0.9, 0.1, 0.3, 0.7]);
  const g = heatmapGeometry(weights, ['a', 'b']);
  const [max] = g.cells.filter((c) => c.value === Math.max(...weights));
  const [min] = g.cells.filter((c) => c.value === Math.min(...weights));
  expect(relativeLuminance(max.color)).toBeLessThan(relativeLuminance(min.color));
  expect(g.cells.every((c) => !c.masked)).toBe(true); // not causal by default
});

test('a weights array of the wrong length is rejected with both sizes in the message', () => {
  expect(() => heatmapGeometry(new Float32Array(6), ['a', 'b'])).toThrow('weights: expected 4 values (2 × 2 tokens), got 6');
});

test('cellDescription reads "query → key: weight" with 4 decimals', () => {
  const g = heatmapGeometry(Float32Array.from([1, 0, 0.42131, 0.57869]), ['the', 'cat']);
  expect(cellDescription(g, g.cells[2])).toBe('cat → the: 0.4213');
  const masked = heatmapGeometry(Float32Array.from([1, 0, 0.5, 0.5]), ['the', 'cat'], { causal: true });
  expect(cellDescription(masked, masked.cells[1])).toBe('the → cat: 0.0000 (masked)');
});

test('averageOverHeads is the elementwise mean and keeps rows summing to 1', () => {
  const run = fakeRun({ T: 5, nLayers: 1, nHeads: 4, dModel: 16 });
  const mean = averageOverHeads(run.attention[0]);
  expect(mean[7]).toBeCloseTo(run.attention[0].reduce((s, h) => s + h[7], 0) / 4, 6);
  for (let q = 0; q < 5; q++) expect(mean.subarray(q * 5, q * 5 + 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
});

test('heatmapToSvg: a well-formed document with every label and colour runs covering the matrix', () => {
  const T = 6;
  const run = fakeRun({ T, nLayers: 1, nHeads: 1, dModel: 8 });
  const g = heatmapGeometry(run.attention[0][0], ['<bos>', 'a & b', 'x<y', ...fakeTokens(3)], { causal: true });
  const svg = heatmapToSvg(g);
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg).toContain(`width="${g.width}"`);
  expect(svg).toContain('&lt;bos&gt;');
  expect(svg).toContain('a &amp; b');
  expect(svg).not.toMatch(/>[^<]*<y/); // the raw token never leaks into markup
  // The masked triangle of row 0 (keys 1..5) is one run of one rect.
  expect(svg).toContain(`width="${5 * g.matrix.cellSize}" height="${g.matrix.cellSize}" fill="${MASKED_COLOR}"`);
  // Run widths of each row add up to the matrix width.
  const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+" fill="#/g)];
  const rowWidths = new Map();
  for (const [, , y, w] of rects) rowWidths.set(y, (rowWidths.get(y) ?? 0) + Number(w));
  expect(rowWidths.size).toBe(T);
  for (const w of rowWidths.values()) expect(w).toBeCloseTo(g.matrix.size, 6);
});

test('heatmapLayout is the geometry without the cells; heatmapCell rebuilds any cell from a value', () => {
  const run = fakeRun({ T: 9, nLayers: 1, nHeads: 1, dModel: 8 });
  const g = heatmapGeometry(run.attention[0][0], run.tokens, { causal: true });
  const layout = heatmapLayout(run.tokens, { causal: true });
  const { cells, pixels, ...rest } = g;
  expect(layout).toEqual(rest);
  for (const i of [0, 10, 44, 80]) expect(heatmapCell(layout, Math.floor(i / 9), i % 9, run.attention[0][0][i])).toEqual(cells[i]);
  expect(cellIndexAt(layout, cells[44].x + 1, cells[44].y + 1)).toEqual({ query: 4, key: 8 });
  expect(cellIndexAt(layout, 0, 0)).toBeNull();
  // The layout never grows beyond the fixed box the page reserves for it (styles.css .heatmap-wrap: 640 px).
  for (const n of [1, 3, 11, 12, 100, 256]) expect(heatmapLayout(fakeTokens(n)).height).toBeLessThanOrEqual(640);
});
