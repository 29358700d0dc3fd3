// View 3: every head of every layer as a thumbnail heatmap (rows = layers,
// columns = heads). Clicking one selects that layer and head for views 1, 2
// and 4.
//
// gridGeometry() is pure (tested in Node). Each head's weights live in a
// pixel matrix with room for the whole context (canvas_util.js), scaled onto
// the thumbnail's canvas with one drawImage: a growing run uploads one new
// row per head and token, not every pixel again. Under each thumbnail, badges
// name the head's roles (head_roles.js); a new selection only toggles classes.

import { MASKED_COLOR, valuesToRgba } from './color_scales.js';
import { createPixelMatrix } from './canvas_util.js';
import { svgDocument, svgText, pixelRunsToRects } from './svg_markup.js';

export const GRID_LAYOUT = Object.freeze({
  THUMB_PX: 96, // the largest side of a thumbnail
  GAP_PX: 12,
  ROW_LABEL_PX: 64, // "layer 0" left of each row
  COLUMN_LABEL_PX: 22, // "head 0" above each column
  BADGE_PX: 20, // room under each thumbnail for its role badges
  MARGIN_PX: 4,
  // Many heads per layer (an opened 12-head model): thumbnails shrink so a row fits this width,
  // down to MIN_THUMB_PX; beyond that the grid scrolls sideways in its box.
  MAX_WIDTH_PX: 1000,
  MIN_THUMB_PX: 40,
});

function positiveInteger(name, value) {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name}: expected a positive integer, got ${value}`);
}

/**
 * Returns { thumbs: [{layer, head, x, y, size, badgeY}], rowLabels, columnLabels,
 * thumbSize, resolution: T, width, height }. A thumbnail is an integer
 * multiple of T when T ≤ THUMB_PX so each token pair stays a crisp square;
 * badgeY is the top of its badge line.
 */
export function gridGeometry(nLayers, nHeads, T, { layout = GRID_LAYOUT } = {}) {
  positiveInteger('nLayers', nLayers);
  positiveInteger('nHeads', nHeads);
  positiveInteger('T', T);
  const L = layout;
  const left = L.MARGIN_PX + L.ROW_LABEL_PX;
  const fit = L.MAX_WIDTH_PX ? Math.floor((L.MAX_WIDTH_PX - left - L.MARGIN_PX + L.GAP_PX) / nHeads - L.GAP_PX) : L.THUMB_PX;
  const largest = Math.min(L.THUMB_PX, Math.max(L.MIN_THUMB_PX ?? 1, fit));
  const size = T <= largest ? T * Math.floor(largest / T) : largest;
  const top = L.MARGIN_PX + L.COLUMN_LABEL_PX;
  const step = size + L.GAP_PX;
  const rowStep = size + L.BADGE_PX + L.GAP_PX;
  const thumbs = [];
  for (let layer = 0; layer < nLayers; layer++) {
    for (let head = 0; head < nHeads; head++) {
      const y = top + layer * rowStep;
      thumbs.push({ layer, head, x: left + head * step, y, size, badgeY: y + size + 2 });
    }
  }
  return {
    thumbs,
    rowLabels: [...Array(nLayers)].map((_, layer) => ({ text: `layer ${layer}`, x: L.MARGIN_PX, y: top + layer * rowStep + size / 2 })),
    // "head 10" needs about 50 px: narrower columns (many small thumbnails) get "h10".
    columnLabels: [...Array(nHeads)].map((_, head) => ({ text: step >= 60 ? `head ${head}` : `h${head}`, x: left + head * step + size / 2, y: L.MARGIN_PX + L.COLUMN_LABEL_PX / 2 })),
    thumbSize: size,
    resolution: T,
    width: left + nHeads * step - L.GAP_PX + L.MARGIN_PX,
    height: top + nLayers * rowStep - L.GAP_PX + L.MARGIN_PX,
  };
}

/** RGBA pixels of one head's T × T weights, masked cells greyed under a causal mask. */
export function thumbnailPixels(weights, T, { causal = false } = {}) {
  return valuesToRgba(weights, T, T, { ramp: 'weight', min: 0, max: 1, isMasked: causal ? (q, k) => k > q : null });
}

/** Whether a thumbnail is part of the selection (a whole layer when averaging over heads). */
export function isSelected(thumb, { layer, head, average = false }) {
  return thumb.layer === layer && (average || thumb.head === head);
}

/** A standalone SVG of the grid; attention[layer][head] as in the model run; badges[layer][head] → [{ text }]. */
export function gridToSvg(geometry, attention, { causal = false, selection = null, badges = null } = {}) {
  const T = geometry.resolution;
  const cell = geometry.thumbSize / T;
  const body = geometry.thumbs.map((t) => {
    const pixels = thumbnailPixels(attention[t.layer][t.head], T, { causal });
    const outline = selection && isSelected(t, selection) ? '#111' : '#aaa';
    const width = selection && isSelected(t, selection) ? 2 : 0.5;
    return (
      pixelRunsToRects(pixels, T, T, t.x, t.y, cell, cell) +
      `<rect x="${t.x}" y="${t.y}" width="${t.size}" height="${t.size}" fill="none" stroke="${outline}" stroke-width="${width}"/>`
    );
  });
  if (badges) {
    for (const t of geometry.thumbs) {
      const text = (badges[t.layer]?.[t.head] ?? []).map((b) => b.text).join(' · ');
      if (text) body.push(svgText(t.x, t.badgeY + 8, text, { size: 10, fill: '#2756a0' }));
    }
  }
  body.push(...geometry.rowLabels.map((l) => svgText(l.x, l.y, l.text, { size: 12 })));
  body.push(...geometry.columnLabels.map((l) => svgText(l.x, l.y, l.text, { anchor: 'middle', size: 12 })));
  return svgDocument(geometry.width, geometry.height, body.join(''));
}

/** One line per badge for a thumbnail's tooltip: "induction 0.29 (12× uniform)". */
export function badgeTitle(badge, explain = '') {
  const value = Number.isFinite(badge.score) ? ` ${badge.score.toFixed(2)}` : '';
  const lift = Number.isFinite(badge.lift) ? ` (${badge.lift.toFixed(1)}× uniform)` : '';
  return `${badge.text}${value}${lift}${explain ? `: ${explain}` : ''}`;
}

/**
 * The live grid inside `container`; onSelect({layer, head}) on click or
 * Enter/Space. draw(run, selection) paints a run (./attention_run.js),
 * adding only the new rows when the same run grew; setBadges(badges) writes
 * the role badges ([layer][head] → [{ text, score, lift }]).
 */
export function createHeadGrid({ container, onSelect, explainRole = () => '' }) {
  let geometry = null;
  let thumbs = []; // { t, canvas, ctx, pixels, badges }
  let drawn = { run: null, rows: 0, shape: null };
  let badgeData = null;
  let selection = null;
  let lastRun = null;
  let labels = [];

  function label(text, x, y, className) {
    const el = document.createElement('div');
    el.className = className;
    el.textContent = text;
    el.style.left = `${x}px`;
    el.style.top = `${y}px`;
    return el;
  }

  function thumbnail(t, capacity) {
    const canvas = document.createElement('canvas');
    canvas.className = 'thumb';
    canvas.dataset.layer = String(t.layer);
    canvas.dataset.head = String(t.head);
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'button');
    canvas.setAttribute('aria-label', `layer ${t.layer}, head ${t.head}`);
    canvas.title = `layer ${t.layer}, head ${t.head}`;
    const select = () => onSelect({ layer: t.layer, head: t.head });
    canvas.addEventListener('click', select);
    canvas.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        select();
      }
    });
    const badges = document.createElement('div');
    badges.className = 'badges';
    badges.dataset.layer = String(t.layer);
    badges.dataset.head = String(t.head);
    return { t, canvas, ctx: canvas.getContext('2d'), pixels: createPixelMatrix(capacity), badges };
  }

  // Positions and sizes for T tokens; the canvases keep their pixels.
  function place(T) {
    const next = gridGeometry(geometry.nLayers, geometry.nHeads, T);
    Object.assign(geometry, next);
    const ratio = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
    thumbs.forEach((th, i) => {
      const t = next.thumbs[i];
      th.t = t;
      const px = Math.max(1, Math.round(t.size * ratio));
      if (th.canvas.width !== px) {
        th.canvas.width = px;
        th.canvas.height = px;
      }
      Object.assign(th.canvas.style, { left: `${t.x}px`, top: `${t.y}px`, width: `${t.size}px`, height: `${t.size}px` });
      Object.assign(th.badges.style, { left: `${t.x}px`, top: `${t.badgeY}px`, width: `${t.size + GRID_LAYOUT.GAP_PX}px` });
    });
    container.style.width = `${next.width}px`;
    container.style.height = `${next.height}px`;
    labels.forEach((el, i) => {
      const l = [...next.rowLabels, ...next.columnLabels][i];
      el.style.left = `${l.x}px`;
      el.style.top = `${l.y}px`;
    });
  }

  function build(nLayers, nHeads, T, capacity) {
    geometry = { ...gridGeometry(nLayers, nHeads, T), nLayers, nHeads };
    thumbs = geometry.thumbs.map((t) => thumbnail(t, capacity));
    labels = [
      ...geometry.rowLabels.map((l) => label(l.text, l.x, l.y, 'grid-label row')),
      ...geometry.columnLabels.map((l) => label(l.text, l.x, l.y, 'grid-label column')),
    ];
    container.replaceChildren(...thumbs.flatMap((th) => [th.canvas, th.badges]), ...labels);
    drawn.shape = `${nLayers}x${nHeads}@${capacity}`;
    if (badgeData) writeBadges();
  }

  function paintThumbs(n) {
    for (const th of thumbs) {
      const px = th.canvas.width;
      th.ctx.fillStyle = '#ffffff';
      th.ctx.fillRect(0, 0, px, px);
      th.pixels.draw(th.ctx, n, 0, 0, px, px);
    }
  }

  function writeBadges() {
    for (const th of thumbs) {
      const list = badgeData?.[th.t.layer]?.[th.t.head] ?? [];
      th.badges.replaceChildren(
        ...list.map((b) => {
          const el = document.createElement('span');
          el.className = `badge role-${b.role}`;
          el.textContent = b.text;
          el.title = badgeTitle(b, explainRole(b.role));
          return el;
        }),
      );
    }
  }

  const pixelsOf = (values, rows, cols, causal, first = 0) =>
    valuesToRgba(values, rows, cols, { ramp: 'weight', min: 0, max: 1, isMasked: causal ? (r, c) => c > r + first : null });

  return {
    /** A plain attention[layer][head] → Float32Array(T·T) (no run). */
    render(attention, tokens, { causal = false, selection: chosen = null } = {}) {
      const T = tokens.length;
      const run = {
        tokens, length: T, causal, capacity: T, nLayers: attention.length, nHeads: attention[0].length,
        matrix: (l, h) => attention[l][h], row: (l, h, q) => attention[l][h].subarray(q * T, (q + 1) * T),
      };
      this.draw(run, chosen);
      drawn.run = null; // a plain matrix is never extended
      return geometry;
    },
    draw(run, chosen = selection) {
      const n = run.length;
      const capacity = Math.max(n, run.capacity ?? n);
      const shape = `${run.nLayers}x${run.nHeads}@${capacity}`;
      let from = drawn.rows;
      if (drawn.run !== run || drawn.shape !== shape || drawn.rows > n) {
        if (drawn.shape !== shape || !geometry) build(run.nLayers, run.nHeads, n, capacity);
        for (const th of thumbs) {
          th.pixels.clear(run.causal ? MASKED_COLOR : null);
          th.pixels.write(pixelsOf(run.matrix(th.t.layer, th.t.head), n, n, run.causal), n, n);
        }
        from = n;
      }
      for (const th of thumbs) {
        for (let q = from; q < n; q++) {
          const values = run.row(th.t.layer, th.t.head, q);
          th.pixels.write(pixelsOf(values, 1, values.length, run.causal, q), values.length, 1, 0, q);
        }
      }
      drawn = { ...drawn, run, rows: n };
      lastRun = run;
      place(n);
      paintThumbs(n);
      if (chosen) this.select(chosen);
      return geometry;
    },
    select(chosen) {
      selection = chosen;
      thumbs.forEach((th) => th.canvas.classList.toggle('selected', isSelected(th.t, chosen)));
    },
    setBadges(badges) {
      badgeData = badges;
      if (geometry) writeBadges();
    },
    get geometry() {
      return geometry;
    },
    toSvg: () =>
      geometry && lastRun
        ? gridToSvg(gridGeometry(geometry.nLayers, geometry.nHeads, lastRun.length), lastRun.attention ?? [...Array(lastRun.nLayers)].map((_, l) => [...Array(lastRun.nHeads)].map((__, h) => lastRun.matrix(l, h))), {
          causal: lastRun.causal,
          selection,
          badges: badgeData,
        })
        : null,
  };
}

