// head_grid: layers × heads thumbnails laid out without overlap, with crisp
// integer scaling when T is small, and the selection rule.
import { badgeTitle, gridGeometry, thumbnailPixels, gridToSvg, isSelected, GRID_LAYOUT } from '../../../web/demo/head_grid.js';
import { MASKED_COLOR, rgbaPixelColor, weightColor } from '../../../web/demo/color_scales.js';
import { fakeRun } from './fake_run.mjs';

const overlaps = (a, b) => a.x < b.x + b.size && b.x < a.x + a.size && a.y < b.y + b.size && b.y < a.y + a.size;

describe.each([
  [2, 4, 7],
  [3, 4, 12],
  [1, 1, 1],
  [3, 8, 256],
])('nLayers=%i nHeads=%i T=%i', (nLayers, nHeads, T) => {
  const g = gridGeometry(nLayers, nHeads, T);

  test('one thumbnail per (layer, head), each once', () => {
    expect(g.thumbs).toHaveLength(nLayers * nHeads);
    expect(new Set(g.thumbs.map((t) => `${t.layer},${t.head}`)).size).toBe(nLayers * nHeads);
  });

  test('no two thumbnails overlap and all fit inside width × height', () => {
    for (let i = 0; i < g.thumbs.length; i++) {
      const a = g.thumbs[i];
      expect(a.x >= 0 && a.y >= 0 && a.x + a.size <= g.width && a.y + a.size <= g.height).toBe(true);
      for (let j = i + 1; j < g.thumbs.length; j++) expect(overlaps(a, g.thumbs[j])).toBe(false);
    }
  });

  test('layers are rows and heads are columns, in order', () => {
    for (const t of g.thumbs) {
      const right = g.thumbs.find((u) => u.layer === t.layer && u.head === t.head + 1);
      const below = g.thumbs.find((u) => u.layer === t.layer + 1 && u.head === t.head);
      if (right) expect(right.x).toBeGreaterThan(t.x);
      if (below) expect(below.y).toBeGreaterThan(t.y);
    }
    expect(g.rowLabels.map((l) => l.text)).toEqual([...Array(nLayers)].map((_, l) => `layer ${l}`));
    expect(g.columnLabels.map((l) => l.text)).toEqual([...Array(nHeads)].map((_, h) => `head ${h}`));
  });

  test('thumbnail size: a whole multiple of T when T fits, else the maximum', () => {
    expect(g.thumbSize).toBeLessThanOrEqual(GRID_LAYOUT.THUMB_PX);
    if (T <= GRID_LAYOUT.THUMB_PX) expect(g.thumbSize % T).toBe(0);
    else expect(g.thumbSize).toBe(GRID_LAYOUT.THUMB_PX);
    expect(g.resolution).toBe(T);
  });
});

test('bad sizes are rejected naming the argument', () => {
  expect(() => gridGeometry(0, 4, 7)).toThrow('nLayers: expected a positive integer, got 0');
  expect(() => gridGeometry(2, 2.5, 7)).toThrow('nHeads: expected a positive integer, got 2.5');
  expect(() => gridGeometry(2, 4, -1)).toThrow('T: expected a positive integer, got -1');
});

test('thumbnail pixels follow the weight ramp, with the causal triangle masked', () => {
  const run = fakeRun({ T: 5, nLayers: 1, nHeads: 1, dModel: 8 });
  const w = run.attention[0][0];
  const pixels = thumbnailPixels(w, 5, { causal: true });
  expect(pixels).toHaveLength(5 * 5 * 4);
  expect(rgbaPixelColor(pixels, 0 * 5 + 3)).toBe(MASKED_COLOR);
  expect(rgbaPixelColor(pixels, 3 * 5 + 1)).toBe(weightColor(w[3 * 5 + 1]));
  expect(rgbaPixelColor(thumbnailPixels(w, 5), 3)).toBe(weightColor(0));
});

test('selection: one head, or a whole layer when averaging over heads', () => {
  const t = { layer: 1, head: 2 };
  expect(isSelected(t, { layer: 1, head: 2 })).toBe(true);
  expect(isSelected(t, { layer: 1, head: 0 })).toBe(false);
  expect(isSelected(t, { layer: 1, head: 0, average: true })).toBe(true);
  expect(isSelected(t, { layer: 0, head: 2, average: true })).toBe(false);
});

test('gridToSvg: every thumbnail, outlined, with the selected one emphasised', () => {
  const run = fakeRun({ T: 4, nLayers: 2, nHeads: 3, dModel: 12 });
  const g = gridGeometry(2, 3, 4);
  const svg = gridToSvg(g, run.attention, { causal: true, selection: { layer: 1, head: 2 } });
  expect(svg.match(/fill="none" stroke="#111"/g)).toHaveLength(1);
  expect(svg.match(/fill="none" stroke="#aaa"/g)).toHaveLength(5);
  expect(svg).toContain('>layer 1<');
  expect(svg).toContain('>head 2<');
});

test('each thumbnail has a badge line under it that overlaps no other thumbnail', () => {
  const g = gridGeometry(2, 4, 30);
  for (const t of g.thumbs) {
    const line = { x: t.x, y: t.badgeY, size: GRID_LAYOUT.BADGE_PX - 2 };
    expect(line.y).toBeGreaterThanOrEqual(t.y + t.size);
    expect(line.y + line.size).toBeLessThanOrEqual(g.height);
    for (const u of g.thumbs) if (u !== t) expect(overlaps({ ...line, size: t.size }, u) && line.y + line.size > u.y).toBe(false);
  }
  expect(badgeTitle({ text: 'induction', score: 0.289, lift: 12.4 }, 'copies')).toBe('induction 0.29 (12.4× uniform): copies');
  expect(badgeTitle({ text: 'sharp', score: 0.41 })).toBe('sharp 0.41');
});

test('gridToSvg writes the badges under their thumbnails', () => {
  const run = fakeRun({ T: 4, nLayers: 1, nHeads: 2, dModel: 8 });
  const svg = gridToSvg(gridGeometry(1, 2, 4), run.attention, { badges: [[[{ text: 'prev' }], [{ text: 'induction' }, { text: 'sharp' }]]] });
  expect(svg).toContain('>prev<');
  expect(svg).toContain('>induction · sharp<');
});
