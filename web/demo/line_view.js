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
export const LINE_DEFAULTS = Object.freeze({ minWeight: 0.01, maxLines: 5000 });

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

/** Opacity of a line given the toggles and hover: its weight, or 0 when hidden. */
export function lineOpacity(line, { enabledHeads = null, hoveredToken = null } = {}) {
  if (!headEnabled(enabledHeads, line.head)) return 0;
  const hover = normalizeHover(hoveredToken);
  if (hover && (hover.side === 'query' ? line.query : line.key) !== hover.index) return 0;
  return Math.min(1, Math.max(0, line.weight));
}

/**
 * Returns { lines: [{x1, y1, x2, y2, head, query, key, weight, opacity, color}]
 * (lightest first, so heavy lines paint on top), labels: { query: [...], key: [...] },
 * headers, dropped (lines over maxLines left out), width, height }.
 */
export function lineGeometry(attentionOfLayer, tokens, options = {}) {
  const { enabledHeads = null, hoveredToken = null, minWeight = LINE_DEFAULTS.minWeight, maxLines = LINE_DEFAULTS.maxLines } = options;
  const n = tokens.length;
  attentionOfLayer.forEach((weights, h) => {
    if (!weights || weights.length !== n * n) {
      throw new RangeError(`attentionOfLayer[${h}]: expected ${n * n} weights (${n} × ${n} tokens), got ${weights ? weights.length : weights}`);
    }
  });
  const L = LINE_LAYOUT;
  const x1 = L.TOKEN_COLUMN_PX + L.TEXT_GAP_PX;
  const x2 = x1 + L.LINK_SPAN_PX;
  const rowY = (i) => L.HEADER_PX + (i + 0.5) * L.ROW_HEIGHT_PX;

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
        lines.push({ x1, y1: rowY(q), x2, y2: rowY(k), head, query: q, key: k, weight, opacity: 0, color });
      }
    }
  });
  lines.sort((a, b) => a.weight - b.weight);
  const dropped = candidates.length - lines.length;
  for (const line of lines) line.opacity = lineOpacity(line, { enabledHeads, hoveredToken });

  const label = (side, anchor, x) => (token, index) => ({ side, index, text: truncateLabel(token, L.LABEL_MAX_CHARS), anchor, x, y: rowY(index) });
  return {
    lines,
    labels: {
      query: tokens.map(label('query', 'end', L.TOKEN_COLUMN_PX)),
      key: tokens.map(label('key', 'start', x2 + L.TEXT_GAP_PX)),
    },
    headers: [
      { text: 'query', x: L.TOKEN_COLUMN_PX, y: L.HEADER_PX / 2, anchor: 'end' },
      { text: 'key', x: x2 + L.TEXT_GAP_PX, y: L.HEADER_PX / 2, anchor: 'start' },
    ],
    dropped,
    width: x2 + L.TEXT_GAP_PX + L.TOKEN_COLUMN_PX,
    height: L.HEADER_PX + n * L.ROW_HEIGHT_PX + L.ROW_HEIGHT_PX / 2,
  };
}

/** The inner SVG markup: a group of lines, then the token labels (with data-side / data-index for hover). */
export function lineSvgMarkup(geometry, opacityOf = (line) => line.opacity) {
  const links = geometry.lines.map(
    (l) =>
      `<line data-head="${l.head}" x1="${num(l.x1)}" y1="${num(l.y1)}" x2="${num(l.x2)}" y2="${num(l.y2)}" stroke="${l.color}" ` +
      `stroke-opacity="${num(opacityOf(l))}"/>`,
  );
  const labels = [...geometry.labels.query, ...geometry.labels.key].map((l) =>
    svgText(l.x, l.y, l.text, { anchor: l.anchor, size: LINE_LAYOUT.FONT_PX, attrs: ` data-side="${l.side}" data-index="${l.index}"` }),
  );
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

/** The live view in an <svg>; onHover({side, index} | null) when the hovered label changes. */
export function createLineView({ svg, onHover = () => {} }) {
  let geometry = null;
  let elements = [];
  let labelElements = [];
  let state = {};
  let hoverKey = null;

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

  function update(next) {
    state = { ...state, ...next };
    if (!geometry) return;
    geometry.lines.forEach((line, i) => {
      const opacity = lineOpacity(line, state);
      if (opacity !== line.opacity) {
        line.opacity = opacity;
        elements[i].setAttribute('stroke-opacity', num(opacity));
      }
    });
    const hover = normalizeHover(state.hoveredToken);
    for (const el of labelElements) {
      el.classList.toggle('hovered', Boolean(hover) && el.dataset.side === hover.side && Number(el.dataset.index) === hover.index);
    }
  }

  return {
    svg,
    render(attentionOfLayer, tokens, options = {}) {
      state = { enabledHeads: options.enabledHeads ?? null, hoveredToken: options.hoveredToken ?? null };
      geometry = lineGeometry(attentionOfLayer, tokens, options);
      svg.setAttribute('width', num(geometry.width));
      svg.setAttribute('height', num(geometry.height));
      svg.setAttribute('viewBox', `0 0 ${num(geometry.width)} ${num(geometry.height)}`);
      svg.innerHTML = lineSvgMarkup(geometry);
      elements = Array.from(svg.querySelectorAll('g.links line'));
      labelElements = Array.from(svg.querySelectorAll('g.tokens text'));
      update({});
      return geometry;
    },
    update,
    get geometry() {
      return geometry;
    },
    toSvg: () => (geometry ? lineViewToSvg(geometry, state) : null),
  };
}
