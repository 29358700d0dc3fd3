// View 4: inside one head, step by step, as multi-head attention computes it:
//   X ─(W_Q, W_K, W_V)→ Q, K, V ─(Q·Kᵀ/√d + mask)→ scores ─softmax→ weights
//     ─(× V)→ head output ─(concat all heads)→ concat ─(× W_Oᵀ)→ output
// Each step is a small labelled matrix ("Q [7 × 16]") drawn as a mini heatmap:
// signed values on a diverging ramp scaled to that matrix's largest |value|,
// weights on the 0–1 ramp, masked (−∞) scores in the masked colour.
//
// mechanismGeometry() is pure (tested in Node); drawMechanism() and
// mechanismToSvg() only paint it. T tokens, E = dModel, D = E / H.

import { MASKED_COLOR, maxAbsFinite, valuesToRgba, rgbaPixelColor, rampColor } from './color_scales.js';
import { pixelCanvas } from './canvas_util.js';
import { svgDocument, svgText, pixelRunsToRects, num, truncateLabel } from './svg_markup.js';

export const MECHANISM_LAYOUT = Object.freeze({
  PANEL_MAX_PX: 128, // the largest side of any matrix
  CELL_MAX_PX: 14, // so 3 tokens × 16 dims do not become giant blocks
  TITLE_PX: 34, // two lines above each matrix: "Q [7 × 16]" and its formula
  STACK_GAP_PX: 10, // between Q, K and V in their column
  ARROW_PX: 112, // room between steps for an arrow and its operation ("Q·Kᵀ / √d + mask")
  ROW_GAP_PX: 24, // between wrapped lines of steps
  MAX_WIDTH_PX: 980, // default width before steps wrap; the live view passes its own
  TOKEN_LABEL_PX: 76,
  TOKEN_LABEL_MIN_CELL_PX: 8, // token names beside X only when rows are this tall (font = row height up to 11px)
  LEGEND_PX: 30,
  MARGIN_PX: 8,
});

// The order of the computation; `op` labels the arrow entering the step.
export const MECHANISM_STEPS = Object.freeze([
  { op: null, panels: ['input'] },
  { op: 'project', panels: ['q', 'k', 'v'] },
  { op: 'Q·Kᵀ / √d', causalOp: 'Q·Kᵀ / √d + mask', panels: ['scores'] },
  { op: 'softmax', panels: ['weights'] },
  { op: 'weights · V', panels: ['headOutput'] },
  { op: 'concat heads', panels: ['concat'] },
  { op: '· W_Oᵀ + b', panels: ['output'] },
]);

export const PANEL_NAMES = Object.freeze({
  input: 'X',
  q: 'Q',
  k: 'K',
  v: 'V',
  scores: 'scores',
  weights: 'weights',
  headOutput: 'head out',
  concat: 'concat',
  output: 'output',
});

export const shapeText = (name, [rows, cols]) => `${name} [${rows} × ${cols}]`;

/** The colour drawn for cell (row, col) of a panel. */
export function panelColorAt(panel, row, col) {
  return rgbaPixelColor(panel.pixels, row * panel.cols + col);
}

function checkMatrix(mechanism, id) {
  const m = mechanism[id];
  if (!m || !m.data || !Array.isArray(m.shape) || m.shape.length !== 2) {
    throw new TypeError(`mechanism.${id}: expected { data, shape: [rows, cols], label }, got ${m === undefined ? 'undefined' : JSON.stringify(Object.keys(m ?? {}))}`);
  }
  const [rows, cols] = m.shape;
  if (m.data.length !== rows * cols) {
    throw new RangeError(`mechanism.${id}: shape [${rows}, ${cols}] needs ${rows * cols} values, got ${m.data.length}`);
  }
  return m;
}

function buildPanel(mechanism, id, head) {
  const L = MECHANISM_LAYOUT;
  const m = checkMatrix(mechanism, id);
  const [rows, cols] = m.shape;
  const cellW = Math.min(L.CELL_MAX_PX, L.PANEL_MAX_PX / cols);
  const cellH = Math.min(L.CELL_MAX_PX, L.PANEL_MAX_PX / Math.max(1, rows));
  const isWeights = id === 'weights';
  const scores = mechanism.scores.data;
  const maxAbs = isWeights ? 1 : maxAbsFinite(m.data);
  const pixels = isWeights
    ? valuesToRgba(m.data, rows, cols, { ramp: 'weight', min: 0, max: 1, isMasked: (r, c) => scores[r * cols + c] === -Infinity })
    : valuesToRgba(m.data, rows, cols, { ramp: 'signed', min: -maxAbs, max: maxAbs });
  let maskedCount = 0;
  if (id === 'scores' || isWeights) for (let i = 0; i < scores.length; i++) if (scores[i] === -Infinity) maskedCount++;
  const name = PANEL_NAMES[id];
  return {
    id,
    name,
    shapeText: shapeText(name, m.shape),
    label: m.label ?? '',
    rows,
    cols,
    cellW,
    cellH,
    width: cols * cellW,
    height: rows * cellH,
    ramp: isWeights ? 'weight' : 'signed',
    scale: isWeights ? { min: 0, max: 1 } : { min: -maxAbs, max: maxAbs },
    pixels,
    maskedCount,
    // The chosen head's block of columns inside concat: where its output lands.
    headColumns: id === 'concat' && head !== null ? { first: head * mechanism.headOutput.shape[1], count: mechanism.headOutput.shape[1] } : null,
  };
}

// Where the next line of steps starts once the current one is full: at the
// left margin, or tucked in right of an earlier step (beside the tall Q/K/V
// column). The line must clear every placed step reaching right of its start.
// Prefer the highest line, then the one holding the most of the remaining
// steps, then the rightmost (nearest the step its arrow comes from).
function nextLineStart(placed, remainingWidths, maxWidth) {
  const L = MECHANISM_LAYOUT;
  let best = null;
  for (const x of [L.MARGIN_PX, ...placed.map((p) => p.x1)]) {
    let fits = 0;
    for (let end = x; fits < remainingWidths.length && end + L.ARROW_PX + remainingWidths[fits] <= maxWidth - L.MARGIN_PX; fits++) {
      end += L.ARROW_PX + remainingWidths[fits];
    }
    if (fits === 0 && x !== L.MARGIN_PX) continue;
    const top = Math.max(L.MARGIN_PX, ...placed.filter((p) => p.x1 > x).map((p) => p.bottom)) + L.ROW_GAP_PX;
    const better = !best || top < best.top || (top === best.top && (fits > best.fits || (fits === best.fits && x > best.x)));
    if (better) best = { x, top, fits };
  }
  return best;
}

/**
 * The same steps for one query token q: X, K and V keep every row (the query
 * reads all keys and values), while Q, the scores, the weights, the head's
 * output, concat and the output keep row q only. token names it in the labels.
 */
export function mechanismForQuery(mechanism, q, token = null) {
  const T = checkMatrix(mechanism, 'input').shape[0];
  if (!Number.isInteger(q) || q < 0 || q >= T) throw new RangeError(`q: expected a token index in [0, ${T}), got ${q}`);
  const name = token === null ? `token ${q}` : `'${token}' (token ${q})`;
  const rowOf = (id, label) => {
    const m = checkMatrix(mechanism, id);
    const cols = m.shape[1];
    return { data: m.data.slice(q * cols, (q + 1) * cols), shape: [1, cols], label };
  };
  return {
    ...mechanism,
    q: rowOf('q', `q of ${name}`),
    scores: rowOf('scores', mechanism.scores.label.replace('Q·Kᵀ', 'q·Kᵀ')),
    weights: rowOf('weights', `softmax: ${name} over ${T} keys`),
    headOutput: rowOf('headOutput', 'weights·V'),
    concat: rowOf('concat', 'concat(heads)'),
    output: rowOf('output', 'concat·W_Oᵀ + b'),
    query: q,
  };
}

/**
 * mechanism: the runner's run.mechanism(layer, head) result.
 * options: { head (draws its column block in concat), tokens (row names),
 * causal, maxWidth (wrap steps onto new lines beyond it) }.
 * Returns { panels: [{id, name, shapeText, label, rows, cols, x, y, width, height,
 * cellW, cellH, ramp, scale, pixels, maskedCount, highlight}], arrows:
 * [{x1, y1, x2, y2, text}], rowLabels, legend, width, height }.
 */
export function mechanismGeometry(mechanism, { head = null, tokens = null, causal = null, maxWidth = MECHANISM_LAYOUT.MAX_WIDTH_PX } = {}) {
  const L = MECHANISM_LAYOUT;
  const T = checkMatrix(mechanism, 'input').shape[0];
  const cellH = Math.min(L.CELL_MAX_PX, L.PANEL_MAX_PX / Math.max(1, T));
  const masked = causal ?? Array.prototype.some.call(checkMatrix(mechanism, 'scores').data, (v) => v === -Infinity);
  const showTokens = Boolean(tokens) && cellH >= L.TOKEN_LABEL_MIN_CELL_PX;

  const panels = [];
  const arrows = [];
  const placed = []; // one box per step: { x1 (right edge), bottom }
  let x = L.MARGIN_PX + (showTokens ? L.TOKEN_LABEL_PX : 0);
  let top = L.MARGIN_PX;
  const steps = MECHANISM_STEPS.map((step) => {
    const stepPanels = step.panels.map((id) => buildPanel(mechanism, id, head));
    const width = Math.max(...stepPanels.map((p) => p.width));
    const height = stepPanels.reduce((sum, p) => sum + L.TITLE_PX + p.height, 0) + (stepPanels.length - 1) * L.STACK_GAP_PX;
    return { ...step, stepPanels, width, height };
  });
  steps.forEach(({ stepPanels, width: stepWidth, height: stepHeight, op, causalOp }, s) => {
    if (s > 0) {
      if (x + L.ARROW_PX + stepWidth > maxWidth - L.MARGIN_PX) {
        ({ x, top } = nextLineStart(placed, steps.slice(s).map((t) => t.width), maxWidth));
      }
      const y = top + L.TITLE_PX + stepPanels[0].height / 2;
      arrows.push({ x1: x + 4, y1: y, x2: x + L.ARROW_PX - 6, y2: y, text: masked && causalOp ? causalOp : op });
      x += L.ARROW_PX;
    }
    let y = top;
    for (const p of stepPanels) {
      Object.assign(p, { x, y: y + L.TITLE_PX });
      p.highlight = p.headColumns ? { x: x + p.headColumns.first * p.cellW, y: p.y, width: p.headColumns.count * p.cellW, height: p.height } : null;
      panels.push(p);
      y += L.TITLE_PX + p.height + L.STACK_GAP_PX;
    }
    placed.push({ x1: x + stepWidth, bottom: top + stepHeight });
    x += stepWidth;
  });

  const input = panels[0];
  const labelPx = Math.min(11, cellH);
  const rowLabels = showTokens
    ? tokens.slice(0, T).map((t, i) => ({ index: i, text: truncateLabel(t, 10), x: input.x - 4, y: input.y + (i + 0.5) * cellH, size: labelPx }))
    : [];
  const legendY = Math.max(...placed.map((p) => p.bottom)) + L.LEGEND_PX / 2 + 4;
  const legend = [
    { kind: 'signed', text: 'negative · 0 · positive (each matrix scaled to its largest |value|)', x: L.MARGIN_PX, y: legendY },
    { kind: 'weight', text: 'weight 0 → 1', x: L.MARGIN_PX + 430, y: legendY },
    { kind: 'masked', text: 'masked (−∞)', x: L.MARGIN_PX + 560, y: legendY },
  ];
  const width = Math.max(700, ...placed.map((p) => p.x1)) + L.MARGIN_PX;
  return { panels, arrows, rowLabels, legend, width, height: legendY + L.LEGEND_PX / 2 + L.MARGIN_PX };
}

const LEGEND_SWATCH = { signed: [0, 0.5, 1], weight: [0, 0.5, 1], masked: null };
const legendColors = (kind) => (LEGEND_SWATCH[kind] ? LEGEND_SWATCH[kind].map((t) => rampColor(kind, t)) : [MASKED_COLOR]);

/**
 * The view as an SVG document. matrices: 'rects' (default; pure, exact),
 * 'images' (imageOf(panel) gives a PNG URL per matrix: a small file even at
 * 256 tokens, where rects would number ~10⁵), or 'none' (the live view puts
 * canvases under the SVG instead).
 */
export function mechanismToSvg(geometry, { matrices = 'rects', imageOf = null } = {}) {
  const body = [];
  for (const p of geometry.panels) {
    if (matrices === 'images') {
      body.push(
        `<image href="${imageOf(p)}" x="${num(p.x)}" y="${num(p.y)}" width="${num(p.width)}" height="${num(p.height)}" ` +
          `preserveAspectRatio="none" style="image-rendering:${upscaled(p) ? 'pixelated' : 'auto'}"/>`,
      );
    } else if (matrices === 'rects') {
      body.push(pixelRunsToRects(p.pixels, p.rows, p.cols, p.x, p.y, p.cellW, p.cellH));
    }
    body.push(`<rect x="${num(p.x)}" y="${num(p.y)}" width="${num(p.width)}" height="${num(p.height)}" fill="none" stroke="#999" stroke-width="0.5"/>`);
    body.push(svgText(p.x, p.y - 24, p.shapeText, { size: 12, weight: 600, attrs: ` class="shape" data-panel="${p.id}"` }));
    body.push(svgText(p.x, p.y - 9, p.label, { size: 10, fill: '#666' }));
    if (p.highlight) {
      const h = p.highlight;
      body.push(`<rect x="${num(h.x)}" y="${num(h.y)}" width="${num(h.width)}" height="${num(h.height)}" fill="none" stroke="#111" stroke-width="1.5"/>`);
    }
  }
  body.push('<defs><marker id="mechanism-arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>');
  for (const a of geometry.arrows) {
    body.push(`<line x1="${num(a.x1)}" y1="${num(a.y1)}" x2="${num(a.x2)}" y2="${num(a.y2)}" stroke="#555" stroke-width="1.2" marker-end="url(#mechanism-arrow)"/>`);
    body.push(svgText((a.x1 + a.x2) / 2, a.y1 - 10, a.text, { anchor: 'middle', size: 11, fill: '#333' }));
  }
  body.push(...geometry.rowLabels.map((l) => svgText(l.x, l.y, l.text, { anchor: 'end', size: l.size })));
  for (const item of geometry.legend) {
    const colors = legendColors(item.kind);
    colors.forEach((c, i) => body.push(`<rect x="${num(item.x + i * 12)}" y="${num(item.y - 6)}" width="12" height="12" fill="${c}" stroke="#bbb" stroke-width="0.5"/>`));
    body.push(svgText(item.x + colors.length * 12 + 6, item.y, item.text, { size: 11, fill: '#555' }));
  }
  return svgDocument(geometry.width, geometry.height, body.join(''));
}

// Matrices enlarged on screen stay blocky (one square per value); shrunk ones are averaged.
const upscaled = (p) => p.cellW >= 1 && p.cellH >= 1;

// Browser only: a PNG data URL of a panel's pixels (for exports).
const panelImage = (p) => pixelCanvas(p.pixels, p.cols, p.rows).toDataURL('image/png');

/**
 * The live view inside `container`: an <svg> with the text, arrows and
 * outlines (real text, so "Q [7 × 16]" is selectable), over one canvas per
 * matrix filled by putImageData — PNG-encoding nine matrices on every head
 * change would cost far more than drawing them.
 */
export function createMechanismView({ container }) {
  let geometry = null;
  return {
    container,
    render(mechanism, options) {
      const available = container.clientWidth;
      geometry = mechanismGeometry(mechanism, available > 300 ? { maxWidth: available, ...options } : options);
      const layer = document.createElement('div');
      layer.className = 'mechanism-stage';
      Object.assign(layer.style, { position: 'relative', width: `${geometry.width}px`, height: `${geometry.height}px` });
      layer.innerHTML = mechanismToSvg(geometry, { matrices: 'none' });
      const svg = layer.firstElementChild;
      Object.assign(svg.style, { position: 'absolute', left: '0', top: '0' });
      for (const p of geometry.panels) {
        const canvas = pixelCanvas(p.pixels, p.cols, p.rows);
        canvas.dataset.panel = p.id;
        Object.assign(canvas.style, {
          position: 'absolute',
          left: `${p.x}px`,
          top: `${p.y}px`,
          width: `${p.width}px`,
          height: `${p.height}px`,
          imageRendering: upscaled(p) ? 'pixelated' : 'auto',
        });
        layer.append(canvas);
      }
      svg.querySelector('rect').setAttribute('fill', 'none'); // the page background shows through to the canvases
      layer.append(svg); // on top: outlines and the head highlight stay visible
      container.replaceChildren(layer);
      return geometry;
    },
    get geometry() {
      return geometry;
    },
    toSvg: () => (geometry ? mechanismToSvg(geometry, { matrices: 'images', imageOf: panelImage }) : null),
  };
}
