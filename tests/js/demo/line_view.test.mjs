// line_view: the pure attention-of-a-layer → lines step. Disabled heads and
// tokens other than the hovered one give zero opacity (the lines stay, so the
// live SVG only changes attributes), opacity grows with weight, weak lines
// are never drawn, and the line count is capped.
import { appendLineRows, lineGeometry, lineOpacity, lineViewToSvg, normalizeHover, LINE_LAYOUT, LINE_DEFAULTS } from '../../../web/demo/line_view.js';
import { headColor } from '../../../web/demo/color_scales.js';
import { fakeRun } from './fake_run.mjs';

const T = 9;
const H = 4;
const run = fakeRun({ T, nLayers: 1, nHeads: H, dModel: 32 });
const layer = run.attention[0];
const count = (weights, min) => weights.reduce((n, h) => n + h.filter((w) => w >= min && w > 0).length, 0);

test('one line per (head, query, key) at or above minWeight, from the query row to the key row', () => {
  const g = lineGeometry(layer, run.tokens, { minWeight: 0.05 });
  expect(g.lines).toHaveLength(count(layer, 0.05));
  expect(g.dropped).toBe(0);
  for (const l of g.lines) {
    expect(l.weight).toBe(layer[l.head][l.query * T + l.key]);
    expect(l.color).toBe(headColor(l.head));
    expect(l.x1).toBeLessThan(l.x2);
    expect(l.y1).toBe(g.labels.query[l.query].y);
    expect(l.y2).toBe(g.labels.key[l.key].y);
    for (const v of [l.x1, l.x2]) expect(v >= 0 && v <= g.width).toBe(true);
    for (const v of [l.y1, l.y2]) expect(v >= 0 && v <= g.height).toBe(true);
  }
});

test('threshold respected: no line is below minWeight, and masked (zero) weights are never drawn', () => {
  for (const minWeight of [0, 0.01, 0.2, 0.6]) {
    const g = lineGeometry(layer, run.tokens, { minWeight });
    expect(g.lines.every((l) => l.weight >= minWeight && l.weight > 0)).toBe(true);
    expect(g.lines.every((l) => l.key <= l.query)).toBe(true); // causal run: nothing above the diagonal
  }
});

test('disabled heads produce zero-opacity lines; enabled heads keep theirs', () => {
  for (const enabledHeads of [[true, false, true, false], new Set([1]), [false, false, false, false]]) {
    const g = lineGeometry(layer, run.tokens, { enabledHeads, minWeight: 0.01 });
    const on = (h) => (enabledHeads instanceof Set ? enabledHeads.has(h) : enabledHeads[h]);
    for (const l of g.lines) expect(l.opacity > 0).toBe(Boolean(on(l.head)));
  }
});

test('a hovered query token isolates its own lines; a hovered key token isolates lines into it', () => {
  const q = 5;
  const byQuery = lineGeometry(layer, run.tokens, { hoveredToken: { side: 'query', index: q } });
  expect(byQuery.lines.filter((l) => l.opacity > 0).every((l) => l.query === q)).toBe(true);
  expect(byQuery.lines.filter((l) => l.query === q).every((l) => l.opacity > 0)).toBe(true);
  const byKey = lineGeometry(layer, run.tokens, { hoveredToken: { side: 'key', index: 0 } });
  const visible = byKey.lines.filter((l) => l.opacity > 0);
  expect(visible.length).toBeGreaterThan(0);
  expect(visible.every((l) => l.key === 0)).toBe(true);
  // A bare number means a query index.
  expect(normalizeHover(3)).toEqual({ side: 'query', index: 3 });
  expect(normalizeHover(null)).toBeNull();
});

test('hover and head toggles combine', () => {
  const g = lineGeometry(layer, run.tokens, { hoveredToken: 4, enabledHeads: [false, true, true, true] });
  expect(g.lines.filter((l) => l.opacity > 0).every((l) => l.query === 4 && l.head !== 0)).toBe(true);
});

test('opacity is monotonic in weight and never above 1', () => {
  const g = lineGeometry(layer, run.tokens, { minWeight: 0 });
  const sorted = [...g.lines].sort((a, b) => a.weight - b.weight);
  for (let i = 1; i < sorted.length; i++) expect(sorted[i].opacity).toBeGreaterThanOrEqual(sorted[i - 1].opacity);
  expect(Math.max(...g.lines.map((l) => l.opacity))).toBeLessThanOrEqual(1);
  const base = { head: 0, query: 0, key: 0 };
  expect(lineOpacity({ ...base, weight: 0.8 })).toBeGreaterThan(lineOpacity({ ...base, weight: 0.2 }));
});

test('lines are ordered lightest first, so heavy lines paint on top', () => {
  const { lines } = lineGeometry(layer, run.tokens);
  for (let i = 1; i < lines.length; i++) expect(lines[i].weight).toBeGreaterThanOrEqual(lines[i - 1].weight);
});

test('maxLines keeps only the heaviest lines and reports how many were dropped', () => {
  const all = lineGeometry(layer, run.tokens, { minWeight: 0 });
  const capped = lineGeometry(layer, run.tokens, { minWeight: 0, maxLines: 20 });
  expect(capped.lines).toHaveLength(20);
  expect(capped.dropped).toBe(all.lines.length - 20);
  const weakestKept = capped.lines[0].weight;
  expect(all.lines.slice(0, capped.dropped).every((l) => l.weight <= weakestKept)).toBe(true);
});

test('maxLines is exact even when many weights tie at the cut-off', () => {
  const flat = [Float32Array.from({ length: 16 }, () => 0.25), Float32Array.from({ length: 16 }, (_, i) => (i % 4 === 0 ? 1 : 0))];
  const g = lineGeometry(flat, ['a', 'b', 'c', 'd'], { maxLines: 10 });
  expect(g.lines).toHaveLength(10);
  expect(g.lines.filter((l) => l.weight === 1)).toHaveLength(4);
  expect(g.dropped).toBe(16 + 4 - 10);
});

test('256 tokens × 4 heads: bounded by the default cap, built quickly', () => {
  const big = fakeRun({ T: 256, nLayers: 1, nHeads: 4, dModel: 16, causal: false });
  const start = performance.now();
  const g = lineGeometry(big.attention[0], big.tokens);
  expect(performance.now() - start).toBeLessThan(1000);
  expect(g.lines.length).toBeLessThanOrEqual(LINE_DEFAULTS.maxLines);
  expect(g.height).toBe(LINE_LAYOUT.HEADER_PX + 256.5 * LINE_LAYOUT.ROW_HEIGHT_PX);
});

test('labels: both columns list every token, queries right-aligned left of the lines', () => {
  const g = lineGeometry(layer, run.tokens);
  expect(g.labels.query.map((l) => l.text)).toEqual(run.tokens);
  expect(g.labels.key.map((l) => l.text)).toEqual(run.tokens);
  expect(g.labels.query.every((l) => l.anchor === 'end' && l.x <= g.lines[0].x1)).toBe(true);
  expect(g.labels.key.every((l) => l.anchor === 'start' && l.x >= g.lines[0].x2)).toBe(true);
});

test('wrong sizes are rejected naming the head', () => {
  expect(() => lineGeometry([new Float32Array(4), new Float32Array(3)], ['a', 'b'])).toThrow('attentionOfLayer[1]: expected 4 weights (2 × 2 tokens), got 3');
});

test('lineViewToSvg writes the current opacities and the token labels with hover hooks', () => {
  const g = lineGeometry(layer, run.tokens);
  const svg = lineViewToSvg(g, { enabledHeads: [false, false, false, false] });
  expect(svg.match(/<line /g)).toHaveLength(g.lines.length);
  expect(svg).not.toMatch(/stroke-opacity="(?!0")/);
  expect(svg.match(/data-side="query"/g)).toHaveLength(T);
  expect(svg).toContain('&lt;bos&gt;');
});

describe('appendLineRows: a growing text adds only its new rows', () => {
  // A causal layer of n tokens; rowsOf(q) → [head] weights of keys 0..q (as a run gives them).
  const big = fakeRun({ T: 60, nLayers: 1, nHeads: H, dModel: 32, seed: 11 });
  const rowsOf = (q) => big.attention[0].map((w) => w.subarray(q * 60, q * 60 + q + 1));
  const asSet = (g) => new Set(g.lines.map((l) => `${l.head}:${l.query}:${l.key}:${l.weight}`));
  const cropped = (n) => big.attention[0].map((w) => {
    const out = new Float32Array(n * n);
    for (let q = 0; q < n; q++) out.set(w.subarray(q * 60, q * 60 + n), q * n);
    return out;
  });

  test.each([
    [5000, 0.01],
    [300, 0.01],
    [40, 0.05],
  ])('maxLines=%i minWeight=%f: after each new row, the lines are exactly those of the whole matrix', (maxLines, minWeight) => {
    const start = 10;
    const options = { maxLines, minWeight };
    const g = lineGeometry(cropped(start), big.tokens.slice(0, start), options);
    for (let n = start + 1; n <= 60; n += 7) {
      const tokens = big.tokens.slice(0, n);
      const from = g.labels.query.length;
      const edits = appendLineRows(g, tokens, rowsOf, from);
      const full = lineGeometry(cropped(n), tokens, options);
      expect(asSet(g)).toEqual(asSet(full));
      expect(g.lines.map((l) => l.weight)).toEqual(full.lines.map((l) => l.weight)); // lightest first
      expect(g.dropped).toBe(full.dropped);
      expect(g.height).toBe(full.height);
      expect(g.labels.query.map((l) => l.text)).toEqual(tokens);
      expect(g.labels.key).toHaveLength(n);
      // Replaying the edits on the previous list gives the new one (what the live SVG does).
      expect(edits.every((e) => e.op === 'removeFirst' || (e.line.query >= from && e.line.query < n))).toBe(true);
    }
  });

  test('the focus token (the newest while generating) keeps its lines; the others fade to a fifth', () => {
    const g = lineGeometry(layer, run.tokens, { focusToken: T - 1 });
    for (const l of g.lines) expect(l.opacity).toBeCloseTo(l.query === T - 1 ? l.weight : l.weight * LINE_DEFAULTS.fade, 12);
    // A hover wins over the focus.
    const hovered = lineGeometry(layer, run.tokens, { focusToken: T - 1, hoveredToken: 2 });
    expect(hovered.lines.filter((l) => l.opacity > 0).every((l) => l.query === 2)).toBe(true);
  });
});
