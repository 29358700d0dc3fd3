// mechanism_view: the step-by-step matrices of one head, in the order of the
// computation, with their shapes written out, signed values on the diverging
// ramp, weights on the weight ramp and masked (−∞) scores in the masked colour.
import { mechanismForQuery, mechanismGeometry, mechanismToSvg, panelColorAt, shapeText, MECHANISM_LAYOUT } from '../../../web/demo/mechanism_view.js';
import { MASKED_COLOR, relativeLuminance, signedColor, weightColor, maxAbsFinite } from '../../../web/demo/color_scales.js';
import { fakeRun } from './fake_run.mjs';

const T = 7;
const E = 64;
const H = 4;
const D = E / H;
const run = fakeRun({ T, nLayers: 2, nHeads: H, dModel: E });
const mechanism = run.mechanism(1, 2);
const g = mechanismGeometry(mechanism, { head: 2, tokens: run.tokens });
const panel = (id) => g.panels.find((p) => p.id === id);

test('nine matrices in the order of the computation, each with its shape written like "Q [7 × 16]"', () => {
  expect(g.panels.map((p) => p.id)).toEqual(['input', 'q', 'k', 'v', 'scores', 'weights', 'headOutput', 'concat', 'output']);
  expect(g.panels.map((p) => p.shapeText)).toEqual([
    `X [${T} × ${E}]`,
    `Q [${T} × ${D}]`,
    `K [${T} × ${D}]`,
    `V [${T} × ${D}]`,
    `scores [${T} × ${T}]`,
    `weights [${T} × ${T}]`,
    `head out [${T} × ${D}]`,
    `concat [${T} × ${E}]`,
    `output [${T} × ${E}]`,
  ]);
  expect(shapeText('Q', [7, 16])).toBe('Q [7 × 16]');
  expect(panel('scores').label).toBe('Q·Kᵀ/√d + causal mask');
});

test('each matrix is drawn at its shape: rows × cols cells inside the view, no two overlapping', () => {
  for (const p of g.panels) {
    expect(p.pixels).toHaveLength(p.rows * p.cols * 4);
    expect(p.width).toBeCloseTo(p.cols * p.cellW, 9);
    expect(p.height).toBeCloseTo(p.rows * p.cellH, 9);
    expect(Math.max(p.width, p.height)).toBeLessThanOrEqual(MECHANISM_LAYOUT.PANEL_MAX_PX + 1e-9);
    expect(p.x >= 0 && p.y >= 0 && p.x + p.width <= g.width && p.y + p.height <= g.height).toBe(true);
  }
  for (const a of g.panels) {
    for (const b of g.panels) {
      if (a === b) continue;
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      expect(apart).toBe(true);
    }
  }
});

describe.each([
  [7, 500],
  [7, 980],
  [7, 1400],
  [16, 980],
  [40, 3000],
  [256, 980],
])('T=%i maxWidth=%i: steps wrap without collisions', (tokens, maxWidth) => {
  const r = fakeRun({ T: tokens, nLayers: 1, nHeads: H, dModel: E });
  const geometry = mechanismGeometry(r.mechanism(0, 1), { head: 1, tokens: r.tokens, maxWidth });
  // A panel's box includes its two title lines above it.
  const boxes = geometry.panels.map((p) => ({ id: p.id, x0: p.x, x1: p.x + p.width, y0: p.y - MECHANISM_LAYOUT.TITLE_PX, y1: p.y + p.height }));
  const hit = (b, x0, x1, y0, y1) => b.x0 < x1 && x0 < b.x1 && b.y0 < y1 && y0 < b.y1;

  test('no two panels (with their titles) overlap; all lie inside the view', () => {
    for (const a of boxes) {
      expect(a.x0 >= 0 && a.y0 >= 0 && a.x1 <= geometry.width && a.y1 <= geometry.height).toBe(true);
      for (const b of boxes) if (a !== b) expect(hit(a, b.x0, b.x1, b.y0, b.y1)).toBe(false);
    }
  });

  test('arrows cross no panel and point at the next step', () => {
    for (const a of geometry.arrows) for (const b of boxes) expect(hit(b, a.x1, a.x2, a.y1 - 1, a.y1 + 1)).toBe(false);
    const firstOfStep = ['q', 'scores', 'weights', 'headOutput', 'concat', 'output'].map((id) => geometry.panels.find((p) => p.id === id));
    geometry.arrows.forEach((a, i) => {
      expect(firstOfStep[i].x - a.x2).toBeGreaterThan(0);
      expect(firstOfStep[i].x - a.x2).toBeLessThan(10);
    });
  });

  test('the view stays within maxWidth unless a single step is wider', () => {
    expect(geometry.width).toBeLessThanOrEqual(Math.max(maxWidth, 700 + MECHANISM_LAYOUT.MARGIN_PX) + MECHANISM_LAYOUT.ARROW_PX + MECHANISM_LAYOUT.PANEL_MAX_PX);
    if (maxWidth >= 980) expect(geometry.width).toBeLessThanOrEqual(maxWidth);
  });
});

test('masked (−∞) score cells get the masked colour, in scores and in weights; others do not', () => {
  const scores = panel('scores');
  const weights = panel('weights');
  expect(scores.maskedCount).toBe((T * (T - 1)) / 2);
  for (let r = 0; r < T; r++) {
    for (let c = 0; c < T; c++) {
      const masked = mechanism.scores.data[r * T + c] === -Infinity;
      expect(masked).toBe(c > r);
      expect(panelColorAt(scores, r, c) === MASKED_COLOR).toBe(masked);
      expect(panelColorAt(weights, r, c) === MASKED_COLOR).toBe(masked);
    }
  }
});

test('signed matrices use the diverging ramp scaled to their largest |value|; weights use 0–1', () => {
  for (const id of ['input', 'q', 'k', 'v', 'headOutput', 'concat', 'output']) {
    const p = panel(id);
    const data = mechanism[id].data;
    const m = maxAbsFinite(data);
    expect(p.ramp).toBe('signed');
    expect(p.scale).toEqual({ min: -m, max: m });
    for (const i of [0, 5, data.length - 1]) expect(panelColorAt(p, Math.floor(i / p.cols), i % p.cols)).toBe(signedColor(data[i], m));
  }
  const w = panel('weights');
  expect(w.ramp).toBe('weight');
  expect(panelColorAt(w, 3, 1)).toBe(weightColor(mechanism.weights.data[3 * T + 1]));
});

test('larger |value| is drawn in a stronger colour than a value near 0', () => {
  const q = panel('q');
  const data = mechanism.q.data;
  let big = 0;
  let small = 0;
  data.forEach((v, i) => {
    if (Math.abs(v) > Math.abs(data[big])) big = i;
    if (Math.abs(v) < Math.abs(data[small])) small = i;
  });
  const at = (i) => relativeLuminance(panelColorAt(q, Math.floor(i / D), i % D));
  expect(at(big)).toBeLessThan(at(small));
});

test('the chosen head is outlined inside concat at columns head·D … (head+1)·D', () => {
  const concat = panel('concat');
  expect(concat.highlight.x).toBeCloseTo(concat.x + 2 * D * concat.cellW, 9);
  expect(concat.highlight.width).toBeCloseTo(D * concat.cellW, 9);
  expect(g.panels.filter((p) => p.highlight)).toHaveLength(1);
});

test('arrows lead from each step to the next, labelled with the operation', () => {
  expect(g.arrows.map((a) => a.text)).toEqual(['project', 'Q·Kᵀ / √d + mask', 'softmax', 'weights · V', 'concat heads', '· W_Oᵀ + b']);
  for (const a of g.arrows) expect(a.x2).toBeGreaterThan(a.x1);
  const open = mechanismGeometry(fakeRun({ T: 4, nLayers: 1, nHeads: 2, dModel: 8, causal: false }).mechanism(0, 0));
  expect(open.arrows[1].text).toBe('Q·Kᵀ / √d');
  expect(open.panels.find((p) => p.id === 'scores').maskedCount).toBe(0);
});

test('token names label the rows of X when rows are tall enough, and are left out at 256 tokens', () => {
  expect(g.rowLabels.map((l) => l.text)).toEqual(run.tokens);
  const big = fakeRun({ T: 256, nLayers: 1, nHeads: 4, dModel: 16 });
  const bigG = mechanismGeometry(big.mechanism(0, 1), { head: 1, tokens: big.tokens });
  expect(bigG.rowLabels).toEqual([]);
  expect(Math.max(...bigG.panels.map((p) => p.height))).toBeLessThanOrEqual(MECHANISM_LAYOUT.PANEL_MAX_PX + 1e-9);
});

test('malformed matrices are rejected naming the step', () => {
  const broken = { ...mechanism, k: { data: new Float32Array(3), shape: [T, D], label: 'K' } };
  expect(() => mechanismGeometry(broken)).toThrow(`mechanism.k: shape [${T}, ${D}] needs ${T * D} values, got 3`);
  const { v, ...missing } = mechanism;
  expect(() => mechanismGeometry(missing)).toThrow(/mechanism\.v: expected \{ data, shape/);
});

test('mechanismToSvg writes every shape label; matrices as rects, as one <image> each, or left out', () => {
  const svg = mechanismToSvg(g);
  for (const p of g.panels) expect(svg).toContain(`>${p.shapeText}<`);
  const withImages = mechanismToSvg(g, { matrices: 'images', imageOf: () => 'data:image/png;base64,AAAA' });
  expect(withImages.match(/<image /g)).toHaveLength(9);
  expect(withImages.length).toBeLessThan(svg.length);
  const bare = mechanismToSvg(g, { matrices: 'none' });
  expect(bare).not.toContain('<image ');
  // Only the background, 9 outlines, the head highlight and 7 legend swatches remain.
  expect(bare.match(/<rect /g)).toHaveLength(1 + 9 + 1 + 7);
  for (const p of g.panels) expect(bare).toContain(`>${p.shapeText}<`);
});

test('one query token: Q, scores, weights, head output, concat and output keep its row; X, K, V keep every row', () => {
  const q = 4;
  const one = mechanismForQuery(mechanism, q, run.tokens[q]);
  expect(one.q.shape).toEqual([1, D]);
  expect(one.scores.shape).toEqual([1, T]);
  expect(one.weights.shape).toEqual([1, T]);
  expect(one.headOutput.shape).toEqual([1, D]);
  expect(one.concat.shape).toEqual([1, E]);
  expect(one.output.shape).toEqual([1, E]);
  expect(one.k).toBe(mechanism.k);
  expect(one.input).toBe(mechanism.input);
  expect(Array.from(one.weights.data)).toEqual(Array.from(mechanism.weights.data.subarray(q * T, (q + 1) * T)));
  expect(one.weights.label).toContain(`'${run.tokens[q]}' (token ${q})`);
  const g1 = mechanismGeometry(one, { head: 2, tokens: run.tokens });
  // The one-row panels get full-height cells; the masked keys after q stay masked.
  expect(g1.panels.find((p) => p.id === 'weights').cellH).toBe(MECHANISM_LAYOUT.CELL_MAX_PX);
  expect(g1.panels.find((p) => p.id === 'scores').maskedCount).toBe(T - 1 - q);
  expect(() => mechanismForQuery(mechanism, T)).toThrow(`q: expected a token index in [0, ${T}), got ${T}`);
});
