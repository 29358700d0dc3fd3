// View 1: one head's attention weights as a T × T heatmap (row = query
// token, column = key token, darker = more attention; each row sums to 1).
//
// heatmapGeometry() is the pure data → geometry step (tested in Node);
// drawHeatmap() and heatmapToSvg() only paint a geometry; cellAt() maps a
// pointer position back to a cell. The matrix is painted with one
// putImageData + drawImage whatever T is (see canvas_util.js), so 256 tokens
// cost the same few milliseconds as 7.
//
// T tokens; weights is a Float32Array(T·T), row-major [query][key].

import { MASKED_COLOR, rampColor, rampLut, lutIndex, valuesToRgba } from './color_scales.js';
import { prepareCanvas, drawPixels, drawText, drawColorBar, createPixelMatrix } from './canvas_util.js';
import { svgDocument, svgText, svgColorBar, pixelRunsToRects, truncateLabel } from './svg_markup.js';

export const HEATMAP_LAYOUT = Object.freeze({
  MATRIX_MAX_PX: 520, // the matrix fits this square whatever T is
  CELL_MAX_PX: 46, // so that 3 tokens do not become giant blocks
  ROW_LABEL_PX: 96, // room for a token label left of each row
  COLUMN_LABEL_PX: 96, // room for the rotated token labels above the columns
  LABEL_FONT_PX: 12,
  LABEL_MIN_SPACING_PX: 13, // labels closer than this overlap, so only every n-th is shown
  LABEL_MAX_CHARS: 12,
  LABEL_GAP_PX: 6,
  LEGEND_GAP_PX: 16,
  LEGEND_WIDTH_PX: 12,
  LEGEND_TEXT_PX: 36,
  MARGIN_PX: 8,
});

const LEGEND_TICKS = [0, 0.25, 0.5, 0.75, 1];

/** Mean over heads of one layer's [head] → Float32Array(T·T) weights (PyTorch's averageAttnWeights). */
export function averageOverHeads(layerAttention) {
  const out = new Float32Array(layerAttention[0].length);
  for (const head of layerAttention) for (let i = 0; i < out.length; i++) out[i] += head[i];
  for (let i = 0; i < out.length; i++) out[i] /= layerAttention.length;
  return out;
}

/**
 * The layout for T = tokens.length tokens, without the weights: { matrix: {x, y,
 * size, cellSize, n}, rowLabels, columnLabels, legend, caption, tokens, width,
 * height, causal } in CSS pixels. The live view uses it alone (it paints the
 * weights from a pixel matrix); heatmapGeometry() adds the cells.
 */
export function heatmapLayout(tokens, { causal = false, layout = HEATMAP_LAYOUT } = {}) {
  const n = tokens.length;
  const L = layout;
  const cellSize = Math.max(1, Math.min(L.CELL_MAX_PX, Math.floor(L.MATRIX_MAX_PX / Math.max(1, n))));
  const size = cellSize * n;
  const matrix = { x: L.MARGIN_PX + L.ROW_LABEL_PX, y: L.MARGIN_PX + L.COLUMN_LABEL_PX, size, cellSize, n };

  const stride = Math.ceil(L.LABEL_MIN_SPACING_PX / cellSize);
  const rowLabels = [];
  const columnLabels = [];
  for (let i = 0; i < n; i += stride) {
    const text = truncateLabel(tokens[i], L.LABEL_MAX_CHARS);
    const centre = (i + 0.5) * cellSize;
    rowLabels.push({ index: i, text, x: matrix.x - L.LABEL_GAP_PX, y: matrix.y + centre });
    columnLabels.push({ index: i, text, x: matrix.x + centre, y: matrix.y - L.LABEL_GAP_PX });
  }

  const legendX = matrix.x + size + L.LEGEND_GAP_PX;
  const legend = {
    x: legendX,
    y: matrix.y,
    width: L.LEGEND_WIDTH_PX,
    height: size,
    ticks: LEGEND_TICKS.map((v) => ({ value: v, text: String(v), x: legendX + L.LEGEND_WIDTH_PX + 4, y: matrix.y + size * (1 - v) })),
  };
  return {
    matrix,
    rowLabels,
    columnLabels,
    legend,
    // In the empty corner between the row and the column labels.
    caption: { text: 'query ↓  key →', x: matrix.x - L.LABEL_GAP_PX, y: matrix.y - L.LABEL_GAP_PX - 6, anchor: 'end' },
    tokens: tokens.slice(),
    causal,
    width: legendX + L.LEGEND_WIDTH_PX + L.LEGEND_TEXT_PX + L.MARGIN_PX,
    height: matrix.y + size + L.MARGIN_PX,
  };
}

/** The cell (query q, key k) of a layout holding `value`: { x, y, w, h, value, query, key, color, masked }. */
export function heatmapCell(layout, q, k, value) {
  const { matrix } = layout;
  const masked = layout.causal && k > q;
  return {
    x: matrix.x + k * matrix.cellSize,
    y: matrix.y + q * matrix.cellSize,
    w: matrix.cellSize,
    h: matrix.cellSize,
    value,
    query: q,
    key: k,
    color: masked ? MASKED_COLOR : rampLut('weight').css[lutIndex(value, 0, 1)],
    masked,
  };
}

/**
 * weights: Float32Array(T·T); tokens: string[T].
 * options.causal marks key > query cells as masked (drawn in MASKED_COLOR).
 * Returns heatmapLayout() plus cells: [{x, y, w, h, value, query, key, color, masked}]
 * (row-major) and pixels (RGBA, T·T·4), in CSS pixels.
 */
export function heatmapGeometry(weights, tokens, { causal = false, layout = HEATMAP_LAYOUT } = {}) {
  const n = tokens.length;
  if (!weights || weights.length !== n * n) {
    throw new RangeError(`weights: expected ${n * n} values (${n} × ${n} tokens), got ${weights ? weights.length : weights}`);
  }
  const geometry = heatmapLayout(tokens, { causal, layout });
  const isMasked = causal ? (q, k) => k > q : null;
  geometry.pixels = valuesToRgba(weights, n, n, { ramp: 'weight', min: 0, max: 1, isMasked });
  const cells = new Array(n * n);
  for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) cells[q * n + k] = heatmapCell(geometry, q, k, weights[q * n + k]);
  geometry.cells = cells;
  return geometry;
}

/** (query, key) under (x, y) in layout coordinates, or null outside the matrix. */
export function cellIndexAt(layout, x, y) {
  const { matrix } = layout;
  const k = Math.floor((x - matrix.x) / matrix.cellSize);
  const q = Math.floor((y - matrix.y) / matrix.cellSize);
  if (!(q >= 0 && q < matrix.n && k >= 0 && k < matrix.n)) return null;
  return { query: q, key: k };
}

/** The cell under (x, y) in geometry coordinates, or null outside the matrix. */
export function cellAt(geometry, x, y) {
  const at = cellIndexAt(geometry, x, y);
  return at ? geometry.cells[at.query * geometry.matrix.n + at.key] : null;
}

const weightRampColor = (t) => rampColor('weight', t);

export function drawHeatmap(ctx, geometry) {
  const { matrix } = geometry;
  drawPixels(ctx, geometry.pixels, matrix.n, matrix.n, matrix.x, matrix.y, matrix.size, matrix.size);
  drawHeatmapFrame(ctx, geometry);
}

/** Everything but the matrix's cells: outline, labels, caption, colour bar. */
export function drawHeatmapFrame(ctx, geometry) {
  const { matrix, legend } = geometry;
  const font = HEATMAP_LAYOUT.LABEL_FONT_PX;
  ctx.strokeStyle = '#888';
  ctx.lineWidth = 0.5;
  ctx.strokeRect(matrix.x, matrix.y, matrix.size, matrix.size);
  for (const l of geometry.rowLabels) drawText(ctx, l.x, l.y, l.text, { anchor: 'end', size: font });
  for (const l of geometry.columnLabels) drawText(ctx, l.x, l.y, l.text, { anchor: 'start', size: font, rotate: -90 });
  drawText(ctx, geometry.caption.x, geometry.caption.y, geometry.caption.text, { anchor: 'end', size: 11, fill: '#666' });
  drawColorBar(ctx, legend.x, legend.y, legend.width, legend.height, weightRampColor);
  for (const t of legend.ticks) drawText(ctx, t.x, t.y, t.text, { size: 10, fill: '#555' });
}

export function heatmapToSvg(geometry) {
  const { matrix, legend } = geometry;
  const font = HEATMAP_LAYOUT.LABEL_FONT_PX;
  const body = [
    pixelRunsToRects(geometry.pixels, matrix.n, matrix.n, matrix.x, matrix.y, matrix.cellSize, matrix.cellSize),
    `<rect x="${matrix.x}" y="${matrix.y}" width="${matrix.size}" height="${matrix.size}" fill="none" stroke="#888" stroke-width="0.5"/>`,
    ...geometry.rowLabels.map((l) => svgText(l.x, l.y, l.text, { anchor: 'end', size: font })),
    ...geometry.columnLabels.map((l) => svgText(l.x, l.y, l.text, { anchor: 'start', size: font, rotate: -90 })),
    svgText(geometry.caption.x, geometry.caption.y, geometry.caption.text, { anchor: 'end', size: 11, fill: '#666' }),
    svgColorBar('heatmap-legend', legend.x, legend.y, legend.width, legend.height, weightRampColor),
    ...legend.ticks.map((t) => svgText(t.x, t.y, t.text, { size: 10, fill: '#555' })),
  ];
  return svgDocument(geometry.width, geometry.height, body.join(''));
}

/** The text the tooltip shows for a cell, e.g. "the → cat: 0.4213". */
export function cellDescription(geometry, cell) {
  const text = `${geometry.tokens[cell.query]} → ${geometry.tokens[cell.key]}: ${cell.value.toFixed(4)}`;
  return cell.masked ? `${text} (masked)` : text;
}

/**
 * The live view: a canvas plus a tooltip element. onHover(cell | null) is
 * called when the hovered cell changes.
 *
 * draw(run, { layer, head, average }) paints a run (./attention_run.js). The
 * weights live in a pixel matrix with room for the whole context; when the
 * same run and head are drawn again after the run grew, only the new rows
 * are converted and uploaded, then the matrix is scaled onto the canvas with
 * one drawImage and the labels are redrawn: one token costs the same at 256
 * tokens as at 10. Any other change repaints everything. render(weights,
 * tokens, options) paints a plain T × T matrix (no run).
 */
export function createHeatmapView({ canvas, tooltip, onHover = () => {} }) {
  let geometry = null; // heatmapLayout() of what is on the canvas, plus valueAt(q, k)
  let hovered = null;
  let pixels = null; // createPixelMatrix()
  let drawn = { key: null, run: null, rows: 0 };
  let lastDraw = null; // what toSvg() exports

  function showTooltip(cell) {
    if (cell === hovered || (cell && hovered && cell.query === hovered.query && cell.key === hovered.key && cell.value === hovered.value && cell.x === hovered.x)) return;
    hovered = cell;
    if (!cell) {
      tooltip.hidden = true;
    } else {
      tooltip.textContent = cellDescription(geometry, cell);
      tooltip.dataset.query = String(cell.query);
      tooltip.dataset.key = String(cell.key);
      tooltip.dataset.value = String(cell.value);
      tooltip.dataset.queryToken = geometry.tokens[cell.query];
      tooltip.dataset.keyToken = geometry.tokens[cell.key];
      tooltip.style.left = `${cell.x + cell.w + 10}px`;
      tooltip.style.top = `${cell.y + cell.h / 2}px`;
      tooltip.hidden = false;
    }
    onHover(cell);
  }

  const cellOf = (at) => heatmapCell(geometry, at.query, at.key, geometry.valueAt(at.query, at.key));

  canvas.addEventListener('pointermove', (event) => {
    if (!geometry) return;
    const rect = canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) * geometry.width) / rect.width;
    const y = ((event.clientY - rect.top) * geometry.height) / rect.height;
    const at = cellIndexAt(geometry, x, y);
    showTooltip(at ? cellOf(at) : null);
  });
  canvas.addEventListener('pointerleave', () => showTooltip(null));

  function ensurePixels(capacity, causal) {
    if (!pixels || pixels.capacity < capacity) pixels = createPixelMatrix(capacity);
    pixels.clear(causal ? MASKED_COLOR : null);
  }

  function paint(tokens, causal, valueAt) {
    geometry = heatmapLayout(tokens, { causal });
    geometry.valueAt = valueAt;
    const ctx = prepareCanvas(canvas, geometry.width, geometry.height);
    canvas.dataset.rows = String(tokens.length); // for tests: the rows on the canvas
    const { matrix } = geometry;
    pixels.draw(ctx, matrix.n, matrix.x, matrix.y, matrix.size, matrix.size);
    drawHeatmapFrame(ctx, geometry);
    // Keep the tooltip on the same cell, at its new place and value.
    const previous = hovered;
    hovered = null;
    if (previous && previous.query < matrix.n && previous.key < matrix.n) showTooltip(cellOf(previous));
    else if (previous) showTooltip(null);
    return geometry;
  }

  const rowPixels = (values, causal, q) => valuesToRgba(values, 1, values.length, { ramp: 'weight', min: 0, max: 1, isMasked: causal ? (_, k) => k > q : null });

  return {
    canvas,
    /** A plain weights matrix (Float32Array(T·T)); options.causal greys the upper triangle. */
    render(weights, tokens, options = {}) {
      const full = heatmapGeometry(weights, tokens, options);
      const n = tokens.length;
      ensurePixels(n, Boolean(options.causal));
      pixels.write(full.pixels, n, n);
      drawn = { key: null, run: null, rows: n };
      lastDraw = { weights, tokens, causal: Boolean(options.causal) };
      return paint(tokens, Boolean(options.causal), (q, k) => weights[q * n + k]);
    },
    /** A run's head (or the mean over its heads); incremental when only the run grew. Returns the rows converted. */
    draw(run, { layer, head, average = false }) {
      const key = `${layer}:${average ? 'avg' : head}`;
      const n = run.length;
      const rowOf = average ? (q) => run.averageRow(layer, q) : (q) => run.row(layer, head, q);
      let from = drawn.rows;
      if (drawn.run !== run || drawn.key !== key || drawn.rows > n) {
        ensurePixels(Math.max(n, run.capacity ?? n), run.causal);
        const matrix = average ? run.averageMatrix(layer) : run.matrix(layer, head);
        pixels.write(valuesToRgba(matrix, n, n, { ramp: 'weight', min: 0, max: 1, isMasked: run.causal ? (q, k) => k > q : null }), n, n);
        from = n;
      }
      for (let q = from; q < n; q++) {
        const values = rowOf(q);
        pixels.write(rowPixels(values, run.causal, q), values.length, 1, 0, q);
      }
      const converted = drawn.run === run && drawn.key === key ? n - drawn.rows : n;
      drawn = { key, run, rows: n };
      lastDraw = { run, layer, head: average ? null : head };
      paint(run.tokens, run.causal, (q, k) => run.weightAt(layer, average ? null : head, q, k));
      return converted;
    },
    get geometry() {
      return geometry;
    },
    toSvg() {
      if (!lastDraw) return null;
      if (lastDraw.run) {
        const { run, layer, head } = lastDraw;
        const weights = head === null ? run.averageMatrix(layer) : run.matrix(layer, head);
        return heatmapToSvg(heatmapGeometry(weights, run.tokens, { causal: run.causal }));
      }
      return heatmapToSvg(heatmapGeometry(lastDraw.weights, lastDraw.tokens, { causal: lastDraw.causal }));
    },
  };
}
