// View 2 (the bertviz "head view" idea): every head of one layer at once.
// Tokens are listed twice, queries on the left and keys on the right; each
// (head, query, key) weight becomes a line in the head's colour whose opacity
// is the weight.
//
// Build once, update cheaply: lineGeometry() (pure, tested in Node) keeps the
// lines of every head, disabled ones included, so the SVG is built once per
// run or layer; toggling a head or hovering a token then only rewrites
// stroke-opacity attributes through lineOpacity(). Weak lines (< minWeight)
// are never drawn, and at most maxLines of the heaviest are kept, which bounds
// the SVG at 256 tokens × all heads.
//
// T tokens, H heads; attentionOfLayer[h] is a Float32Array(T·T), [query][key].

import { headColor, HEAD_COLORS } from './color_scales.js';
import { svgDocument, svgText, num, truncateLabel } from './svg_markup.js';

export const LINE_LAYOUT = Object.freeze({
  ROW_HEIGHT_PX: 20,
  TOKEN_COLUMN_PX: 110, // width of each column of token labels
  TEXT_GAP_PX: 8, // between a label and the ends of its lines
  LINK_SPAN_PX: 200, // horizontal distance the lines cross
  HEADER_PX: 26, // the "query" / "key" captions
  FONT_PX: 13,
  LABEL_MAX_CHARS: 14,
  LINE_WIDTH_PX: 2,
});

// 5000 lines already fill the view at 256 tokens; more only slow the SVG down.
// With a focus token (the newest one while generating) and no hover, the
// other lines are drawn at `fade` of their weight.
export const LINE_DEFAULTS = Object.freeze({ minWeight: 0.01, maxLines: 5000, fade: 0.2 });

/** Accepts null, a query index, or { side: 'query' | 'key', index }. */
export function normalizeHover(hoveredToken) {
  if (hoveredToken === null || hoveredToken === undefined) return null;
  if (typeof hoveredToken === 'number') return { side: 'query', index: hoveredToken };
  return { side: hoveredToken.side === 'key' ? 'key' : 'query', index: hoveredToken.index };
}

function headEnabled(enabledHeads, head) {
  if (enabledHeads === null || enabledHeads === undefined) return true;
  if (enabledHeads instanceof Set) return enabledHeads.has(head);
  return Boolean(enabledHeads[head]);
}

/**
 * Opacity of a line given the toggles, hover and focus: its weight, 0 when
 * hidden (head off, or another token hovered), `fade` × weight when another
 * query token has the focus.
 */
export function lineOpacity(line, { enabledHeads = null, hoveredToken = null, focusToken = null } = {}) {
  if (!headEnabled(enabledHeads, line.head)) return 0;
  const hover = normalizeHover(hoveredToken);
  if (hover && (hover.side === 'query' ? line.query : line.key) !== hover.index) return 0;
  const weight = Math.min(1, Math.max(0, line.weight));
  if (!hover && focusToken !== null && focusToken !== undefined && line.query !== focusToken) return weight * LINE_DEFAULTS.fade;
  return weight;
}

/**
 * Returns { lines: [{x1, y1, x2, y2, head, query, key, weight, opacity, color}]
 * (lightest first, so heavy lines paint on top), labels: { query: [...], key: [...] },
 * headers, dropped (lines over maxLines left out), width, height }.
 */
export function lineGeometry(attentionOfLayer, tokens, options = {}) {
  const { minWeight = LINE_DEFAULTS.minWeight, maxLines = LINE_DEFAULTS.maxLines } = options;
  const n = tokens.length;
  attentionOfLayer.forEach((weights, h) => {
    if (!weights || weights.length !== n * n) {
      throw new RangeError(`attentionOfLayer[${h}]: expected ${n * n} weights (${n} × ${n} tokens), got ${weights ? weights.length : weights}`);
    }
  });
  const L = LINE_LAYOUT;
  const { x1, x2 } = lineColumns();

  // Keep the maxLines heaviest weights ≥ minWeight. The cut-off is found on a
  // typed array of candidate weights (a numeric sort), so objects are only
  // made for lines that are kept: at 256 tokens there can be 10⁵ candidates.
  const isCandidate = (w) => w >= minWeight && w > 0;
  const candidates = [];
  for (const weights of attentionOfLayer) for (let i = 0; i < weights.length; i++) if (isCandidate(weights[i])) candidates.push(weights[i]);
  let cutoff = -Infinity;
  let tiesAllowed = Infinity;
  if (candidates.length > maxLines) {
    const sorted = Float32Array.from(candidates).sort();
    cutoff = sorted[sorted.length - maxLines];
    let above = 0;
    for (let i = sorted.length - 1; i >= 0 && sorted[i] > cutoff; i--) above++;
    tiesAllowed = maxLines - above;
  }
  const lines = [];
  attentionOfLayer.forEach((weights, head) => {
    const color = headColor(head);
    for (let q = 0; q < n; q++) {
      for (let k = 0; k < n; k++) {
        const weight = weights[q * n + k];
        if (!isCandidate(weight) || weight < cutoff) continue;
        if (weight === cutoff && tiesAllowed-- <= 0) continue;
        lines.push(makeLine(head, q, k, weight, color, x1, x2));
      }
    }
  });
  lines.sort((a, b) => a.weight - b.weight);
  const dropped = candidates.length - lines.length;
  for (const line of lines) line.opacity = lineOpacity(line, options);

  const geometry = {
    lines,
    labels: { query: [], key: [] },
    headers: [
      { text: 'query', x: L.TOKEN_COLUMN_PX, y: L.HEADER_PX / 2, anchor: 'end' },
      { text: 'key', x: x2 + L.TEXT_GAP_PX, y: L.HEADER_PX / 2, anchor: 'start' },
    ],
    dropped,
    candidates: candidates.length,
    minWeight,
    maxLines,
    width: x2 + L.TEXT_GAP_PX + L.TOKEN_COLUMN_PX,
    height: 0,
  };
  addLabels(geometry, tokens, 0);
  return geometry;
}

const rowY = (i) => LINE_LAYOUT.HEADER_PX + (i + 0.5) * LINE_LAYOUT.ROW_HEIGHT_PX;

function lineColumns() {
  const x1 = LINE_LAYOUT.TOKEN_COLUMN_PX + LINE_LAYOUT.TEXT_GAP_PX;
  return { x1, x2: x1 + LINE_LAYOUT.LINK_SPAN_PX };
}

function makeLine(head, q, k, weight, color, x1, x2) {
  return { x1, y1: rowY(q), x2, y2: rowY(k), head, query: q, key: k, weight, opacity: 0, color };
}

// Labels for tokens[from…] on both sides, and the height for all of them.
function addLabels(geometry, tokens, from) {
  const L = LINE_LAYOUT;
  const { x2 } = lineColumns();
  const label = (side, anchor, x, index) => ({ side, index, text: truncateLabel(tokens[index], L.LABEL_MAX_CHARS), anchor, x, y: rowY(index) });
  for (let i = from; i < tokens.length; i++) {
    geometry.labels.query.push(label('query', 'end', L.TOKEN_COLUMN_PX, i));
    geometry.labels.key.push(label('key', 'start', x2 + L.TEXT_GAP_PX, i));
  }
  geometry.height = L.HEADER_PX + tokens.length * L.ROW_HEIGHT_PX + L.ROW_HEIGHT_PX / 2;
}

/**
 * Adds the query rows [from, tokens.length) to a lineGeometry() result, in
 * place: rowsOf(q) gives [head] → weights of keys 0..q (or of every key).
 * Keeps what lineGeometry() would give for the whole matrix: lines ≥
 * minWeight, only the maxLines heaviest, lightest first (equal weights at the
 * cut-off may be kept in another order). Returns the edits, in order, for a
 * live SVG to replay: { op: 'insert', index, line } and { op: 'removeFirst' }.
 */
export function appendLineRows(geometry, tokens, rowsOf, from, state = {}) {
  const { lines, minWeight, maxLines } = geometry;
  const { x1, x2 } = lineColumns();
  const edits = [];
  for (let q = from; q < tokens.length; q++) {
    rowsOf(q).forEach((row, head) => {
      const color = headColor(head);
      for (let k = 0; k < row.length; k++) {
        const weight = row[k];
        if (!(weight >= minWeight && weight > 0)) continue;
        geometry.candidates++;
        if (lines.length >= maxLines && weight <= lines[0].weight) {
          geometry.dropped++;
          continue;
        }
        // After every line of equal or smaller weight.
        let lo = 0;
        let hi = lines.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (lines[mid].weight <= weight) lo = mid + 1;
          else hi = mid;
        }
        const line = makeLine(head, q, k, weight, color, x1, x2);
        line.opacity = lineOpacity(line, state);
        lines.splice(lo, 0, line);
        edits.push({ op: 'insert', index: lo, line });
        if (lines.length > maxLines) {
          lines.shift();
          geometry.dropped++;
          edits.push({ op: 'removeFirst' });
        }
      }
    });
  }
  addLabels(geometry, tokens, geometry.labels.query.length);
  return edits;
}

const lineMarkup = (l, opacity) =>
  `<line data-head="${l.head}" x1="${num(l.x1)}" y1="${num(l.y1)}" x2="${num(l.x2)}" y2="${num(l.y2)}" stroke="${l.color}" ` +
  `stroke-opacity="${num(opacity)}"/>`;
const labelMarkup = (l) => svgText(l.x, l.y, l.text, { anchor: l.anchor, size: LINE_LAYOUT.FONT_PX, attrs: ` data-side="${l.side}" data-index="${l.index}"` });

/** The inner SVG markup: a group of lines, then the token labels (with data-side / data-index for hover). */
export function lineSvgMarkup(geometry, opacityOf = (line) => line.opacity) {
  const links = geometry.lines.map((l) => lineMarkup(l, opacityOf(l)));
  const labels = [...geometry.labels.query, ...geometry.labels.key].map(labelMarkup);
  const headers = geometry.headers.map((h) => svgText(h.x, h.y, h.text, { anchor: h.anchor, size: 11, fill: '#777' }));
  return (
    `<g class="links" stroke-width="${LINE_LAYOUT.LINE_WIDTH_PX}" stroke-linecap="round">${links.join('')}</g>` +
    `<g class="tokens">${labels.join('')}</g>${headers.join('')}`
  );
}

/** A standalone SVG document of the view as currently toggled / hovered. */
export function lineViewToSvg(geometry, state = {}) {
  return svgDocument(geometry.width, geometry.height, lineSvgMarkup(geometry, (l) => lineOpacity(l, state)));
}

/** One checkbox per head (class "head-toggle", data-head), coloured like its lines. */
export function buildHeadToggles(container, nHeads, onChange) {
  container.replaceChildren();
  for (let h = 0; h < nHeads; h++) {
    const label = document.createElement('label');
    label.className = 'head-toggle-label';
    label.style.setProperty('--head-color', HEAD_COLORS[h % HEAD_COLORS.length]);
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'head-toggle';
    box.dataset.head = String(h);
    box.checked = true;
    box.addEventListener('change', () => onChange(h, box.checked));
    label.append(box, ` head ${h}`);
    container.append(label);
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// SVG elements from markup (the same markup the full render and the exports use), parsed in one go.
function svgElements(markups) {
  const holder = document.createElementNS(SVG_NS, 'svg');
  holder.innerHTML = markups.join('');
  return Array.from(holder.children);
}

/** Which lines a canvas of the live view shows: the base picture, or the hovered / focused token's lines on top. */
export function liveLayers(state) {
  const hover = normalizeHover(state.hoveredToken);
  const focus = state.focusToken ?? null;
  const enabled = (line) => headEnabled(state.enabledHeads, line.head);
  if (hover) {
    return { baseOpacity: 0, overlay: (line) => enabled(line) && (hover.side === 'query' ? line.query : line.key) === hover.index };
  }
  if (focus !== null) return { baseOpacity: LINE_DEFAULTS.fade, overlay: (line) => enabled(line) && line.query === focus };
  return { baseOpacity: 1, overlay: null };
}

/**
 * The live view. The lines are painted on a canvas, the token labels are an
 * <svg> on top (real text: hover targets, selectable). A canvas keeps its
 * pixels, so a growing text only strokes its new row's lines; an SVG of
 * thousands of lines would be re-rasterised whole on every change, which at
 * 256 tokens costs the browser far more than a frame (see npm run bench).
 *   base canvas     every line of the enabled heads, at its weight (redrawn on a head toggle)
 *   overlay canvas  the hovered token's lines (the base is hidden then), or the focus token's
 *                   (the newest while generating; the base fades to LINE_DEFAULTS.fade)
 * While the run grows, lines that the maxLines cap drops stay on the base
 * canvas until its next full redraw (when generation ends, or any change of
 * layer or heads, or settle()); geometry always holds exactly the capped set.
 *
 * render(layerAttention, tokens, options) builds everything; draw(run,
 * layer, state) does the same for a run's layer and only adds the new rows
 * when the same run grew; update(state) redraws the overlay (or, when heads
 * were toggled, the base). onHover({side, index} | null) when the hovered
 * label changes.
 */
export function createLineView({ svg, canvas, overlay, stage, onHover = () => {} }) {
  let geometry = null;
  let labelElements = [];
  let state = {};
  let hoverKey = null;
  let drawn = { run: null, layer: null, rows: 0, heads: null, capacity: 0 };
  let tokenGroup = null;
  let baseCount = [];
  let capped = false; // lines dropped by the cap while growing are still on the base canvas

  svg.addEventListener('pointermove', (event) => {
    const target = event.target.closest?.('[data-side]');
    const key = target ? `${target.dataset.side}:${target.dataset.index}` : null;
    if (key === hoverKey) return;
    hoverKey = key;
    onHover(target ? { side: target.dataset.side, index: Number(target.dataset.index) } : null);
  });
  svg.addEventListener('pointerleave', () => {
    if (hoverKey === null) return;
    hoverKey = null;
    onHover(null);
  });

  const ratio = () => Math.max(1, Math.min(2, globalThis.devicePixelRatio || 1));

  // Both canvases cover `rows` rows (the run's capacity while it grows, so they never resize
  // mid-run) and only the strip the lines cross, not the label columns: the browser hands
  // every changed canvas to the compositor whole, so each pixel left out is saved every frame.
  function sizeCanvases(rows) {
    const { x1, x2 } = lineColumns();
    const pad = LINE_LAYOUT.LINE_WIDTH_PX;
    const left = x1 - pad;
    const width = x2 - x1 + 2 * pad;
    const height = LINE_LAYOUT.HEADER_PX + rows * LINE_LAYOUT.ROW_HEIGHT_PX + LINE_LAYOUT.ROW_HEIGHT_PX / 2;
    const r = ratio();
    for (const c of [canvas, overlay]) {
      c.width = Math.round(width * r);
      c.height = Math.round(height * r);
      Object.assign(c.style, { left: `${left}px`, width: `${width}px`, height: `${height}px` });
      c.getContext('2d').setTransform(r, 0, 0, r, -left * r, 0);
    }
    overlayEmpty = true;
    drawn.capacity = rows;
  }

  function stroke(ctx, lines) {
    ctx.lineWidth = LINE_LAYOUT.LINE_WIDTH_PX;
    ctx.lineCap = 'round';
    let count = 0;
    for (const l of lines) {
      const alpha = Math.min(1, Math.max(0, l.weight));
      if (alpha <= 0) continue;
      ctx.globalAlpha = alpha;
      ctx.strokeStyle = l.color;
      ctx.beginPath();
      ctx.moveTo(l.x1, l.y1);
      ctx.lineTo(l.x2, l.y2);
      ctx.stroke();
      count++;
    }
    ctx.globalAlpha = 1;
    return count;
  }

  function clear(ctx) {
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.restore();
  }

  function paintBase() {
    const ctx = canvas.getContext('2d');
    clear(ctx);
    const lines = geometry.lines.filter((l) => headEnabled(state.enabledHeads, l.head));
    stroke(ctx, lines);
    baseCount = [];
    for (const l of lines) baseCount[l.head] = (baseCount[l.head] ?? 0) + 1;
    drawn.heads = JSON.stringify(state.enabledHeads ?? null);
  }

  let overlayEmpty = true;
  function paintOverlay() {
    const layers = liveLayers(state);
    const opacity = String(layers.baseOpacity);
    if (canvas.style.opacity !== opacity) canvas.style.opacity = opacity;
    if (overlayEmpty && !layers.overlay) return; // nothing to clear: leave the canvas untouched
    const ctx = overlay.getContext('2d');
    clear(ctx);
    overlayEmpty = !layers.overlay || stroke(ctx, geometry.lines.filter(layers.overlay)) === 0;
  }

  function update(next) {
    state = { ...state, ...next };
    if (!geometry) return;
    for (const line of geometry.lines) line.opacity = lineOpacity(line, state);
    if (drawn.heads !== JSON.stringify(state.enabledHeads ?? null)) paintBase();
    paintOverlay();
    const hover = normalizeHover(state.hoveredToken);
    const focus = state.focusToken ?? null;
    for (const el of labelElements) {
      const index = Number(el.dataset.index);
      el.classList.toggle('hovered', Boolean(hover) && el.dataset.side === hover.side && index === hover.index);
      el.classList.toggle('focus', !hover && focus !== null && el.dataset.side === 'query' && index === focus);
    }
  }

  // The stage is as tall as the text; the label SVG, like the canvases, as tall as the capacity,
  // so a new row never changes its size or viewBox (which would lay out every label again).
  function sizeLabels() {
    const height = LINE_LAYOUT.HEADER_PX + drawn.capacity * LINE_LAYOUT.ROW_HEIGHT_PX + LINE_LAYOUT.ROW_HEIGHT_PX / 2;
    if (svg.getAttribute('height') !== num(height) || svg.getAttribute('width') !== num(geometry.width)) {
      svg.setAttribute('width', num(geometry.width));
      svg.setAttribute('height', num(height));
      svg.setAttribute('viewBox', `0 0 ${num(geometry.width)} ${num(height)}`);
    }
    if (stage) Object.assign(stage.style, { width: `${geometry.width}px`, height: `${geometry.height}px` });
  }

  function render(attentionOfLayer, tokens, options = {}, capacity = tokens.length) {
    state = { enabledHeads: options.enabledHeads ?? null, hoveredToken: options.hoveredToken ?? null, focusToken: options.focusToken ?? null };
    geometry = lineGeometry(attentionOfLayer, tokens, options);
    sizeCanvases(Math.max(capacity, tokens.length));
    sizeLabels();
    // Only the labels and headers go into the SVG; the lines are on the canvases.
    svg.innerHTML = lineSvgMarkup({ ...geometry, lines: [] });
    tokenGroup = svg.querySelector('g.tokens');
    labelElements = Array.from(tokenGroup.children);
    drawn = { ...drawn, run: null, layer: null, rows: tokens.length };
    capped = false;
    paintBase();
    update({});
    return geometry;
  }

  return {
    svg,
    render,
    /** A run's layer; returns the number of lines added (all of them after a full render). */
    draw(run, layer, options = {}) {
      const n = run.length;
      const heads = JSON.stringify(options.enabledHeads ?? state.enabledHeads ?? null);
      if (drawn.run !== run || drawn.layer !== layer || drawn.rows > n || !geometry || n > drawn.capacity || heads !== drawn.heads) {
        render(run.layer(layer), run.tokens, options, run.growing ? run.capacity : n);
        drawn = { ...drawn, run, layer, rows: n };
        return geometry.lines.length;
      }
      state = { ...state, ...options };
      const edits = appendLineRows(geometry, run.tokens, (q) => [...Array(run.nHeads)].map((_, h) => run.row(layer, h, q)), drawn.rows, state);
      const added = edits.filter((e) => e.op === 'insert').map((e) => e.line);
      // New lines on top of the base; the ones the cap dropped stay until the next full redraw.
      const enabled = added.filter((l) => headEnabled(state.enabledHeads, l.head));
      stroke(canvas.getContext('2d'), enabled);
      for (const l of enabled) baseCount[l.head] = (baseCount[l.head] ?? 0) + 1;
      if (edits.some((e) => e.op === 'removeFirst')) capped = true;
      const fresh = [];
      for (let i = drawn.rows; i < n; i++) fresh.push(geometry.labels.query[i], geometry.labels.key[i]);
      const labelsMade = svgElements(fresh.map(labelMarkup));
      tokenGroup.append(...labelsMade);
      labelElements.push(...labelsMade);
      drawn.rows = n;
      sizeLabels();
      update({});
      return added.length;
    },
    /** After growing: repaints the base canvas if the cap dropped lines that are still painted. */
    settle() {
      if (!geometry || !capped) return false;
      capped = false;
      paintBase();
      paintOverlay();
      return true;
    },
    update,
    /** For tests: lines of `head` on the base canvas, or on the overlay (hover, focus) when the base is hidden. */
    visibleLines(head) {
      if (!geometry) return 0;
      const layers = liveLayers(state);
      if (layers.baseOpacity > 0) return headEnabled(state.enabledHeads, head) ? baseCount[head] ?? 0 : 0;
      return geometry.lines.filter((l) => l.head === head && layers.overlay?.(l)).length;
    },
    get geometry() {
      return geometry;
    },
    toSvg: () => (geometry ? lineViewToSvg(geometry, state) : null),
  };
}
