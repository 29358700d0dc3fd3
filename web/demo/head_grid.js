// View 3: every head of every layer as a thumbnail heatmap (rows = layers,
// columns = heads). Clicking one selects that layer and head for views 1, 2
// and 4.
//
// gridGeometry() is pure (tested in Node). Each thumbnail is a canvas of
// T × T device pixels filled with one putImageData and scaled by CSS, so a
// 3 × 4 grid at 256 tokens is 12 small uploads, not 786 432 rectangles.
// A new run rebuilds the canvases; a new selection only toggles classes.

import { valuesToRgba } from './color_scales.js';
import { svgDocument, svgText, pixelRunsToRects } from './svg_markup.js';

export const GRID_LAYOUT = Object.freeze({
  THUMB_PX: 96, // the largest side of a thumbnail
  GAP_PX: 12,
  ROW_LABEL_PX: 64, // "layer 0" left of each row
  COLUMN_LABEL_PX: 22, // "head 0" above each column
  MARGIN_PX: 4,
});

function positiveInteger(name, value) {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name}: expected a positive integer, got ${value}`);
}

/**
 * Returns { thumbs: [{layer, head, x, y, size}], rowLabels, columnLabels,
 * thumbSize, resolution: T, width, height }. A thumbnail is an integer
 * multiple of T when T ≤ THUMB_PX so each token pair stays a crisp square.
 */
export function gridGeometry(nLayers, nHeads, T, { layout = GRID_LAYOUT } = {}) {
  positiveInteger('nLayers', nLayers);
  positiveInteger('nHeads', nHeads);
  positiveInteger('T', T);
  const L = layout;
  const size = T <= L.THUMB_PX ? T * Math.floor(L.THUMB_PX / T) : L.THUMB_PX;
  const left = L.MARGIN_PX + L.ROW_LABEL_PX;
  const top = L.MARGIN_PX + L.COLUMN_LABEL_PX;
  const step = size + L.GAP_PX;
  const thumbs = [];
  for (let layer = 0; layer < nLayers; layer++) {
    for (let head = 0; head < nHeads; head++) thumbs.push({ layer, head, x: left + head * step, y: top + layer * step, size });
  }
  return {
    thumbs,
    rowLabels: [...Array(nLayers)].map((_, layer) => ({ text: `layer ${layer}`, x: L.MARGIN_PX, y: top + layer * step + size / 2 })),
    columnLabels: [...Array(nHeads)].map((_, head) => ({ text: `head ${head}`, x: left + head * step + size / 2, y: L.MARGIN_PX + L.COLUMN_LABEL_PX / 2 })),
    thumbSize: size,
    resolution: T,
    width: left + nHeads * step - L.GAP_PX + L.MARGIN_PX,
    height: top + nLayers * step - L.GAP_PX + L.MARGIN_PX,
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

/** A standalone SVG of the grid; attention[layer][head] as in the model run. */
export function gridToSvg(geometry, attention, { causal = false, selection = null } = {}) {
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
  body.push(...geometry.rowLabels.map((l) => svgText(l.x, l.y, l.text, { size: 12 })));
  body.push(...geometry.columnLabels.map((l) => svgText(l.x, l.y, l.text, { anchor: 'middle', size: 12 })));
  return svgDocument(geometry.width, geometry.height, body.join(''));
}

/** The live grid inside `container`; onSelect({layer, head}) on click or Enter/Space. */
export function createHeadGrid({ container, onSelect }) {
  let geometry = null;
  let canvases = [];
  let last = null;

  function label(text, x, y, className) {
    const el = document.createElement('div');
    el.className = className;
    el.textContent = text;
    el.style.left = `${x}px`;
    el.style.top = `${y}px`;
    return el;
  }

  function thumbnail(t, pixels, T) {
    const canvas = document.createElement('canvas');
    canvas.width = T;
    canvas.height = T;
    canvas.className = 'thumb';
    canvas.dataset.layer = String(t.layer);
    canvas.dataset.head = String(t.head);
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'button');
    canvas.setAttribute('aria-label', `layer ${t.layer}, head ${t.head}`);
    canvas.title = `layer ${t.layer}, head ${t.head}`;
    Object.assign(canvas.style, { left: `${t.x}px`, top: `${t.y}px`, width: `${t.size}px`, height: `${t.size}px` });
    // Upscaled thumbnails stay blocky (one square per token pair); downscaled ones are averaged.
    canvas.style.imageRendering = T <= t.size ? 'pixelated' : 'auto';
    canvas.getContext('2d').putImageData(new ImageData(pixels, T, T), 0, 0);
    const select = () => onSelect({ layer: t.layer, head: t.head });
    canvas.addEventListener('click', select);
    canvas.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        select();
      }
    });
    return canvas;
  }

  return {
    render(attention, tokens, { causal = false, selection = null } = {}) {
      const T = tokens.length;
      geometry = gridGeometry(attention.length, attention[0].length, T);
      last = { attention, causal, selection };
      canvases = geometry.thumbs.map((t) => thumbnail(t, thumbnailPixels(attention[t.layer][t.head], T, { causal }), T));
      container.style.width = `${geometry.width}px`;
      container.style.height = `${geometry.height}px`;
      container.replaceChildren(
        ...canvases,
        ...geometry.rowLabels.map((l) => label(l.text, l.x, l.y, 'grid-label row')),
        ...geometry.columnLabels.map((l) => label(l.text, l.x, l.y, 'grid-label column')),
      );
      if (selection) this.select(selection);
      return geometry;
    },
    select(selection) {
      if (last) last.selection = selection;
      canvases.forEach((canvas, i) => canvas.classList.toggle('selected', isSelected(geometry.thumbs[i], selection)));
    },
    get geometry() {
      return geometry;
    },
    toSvg: () => (geometry ? gridToSvg(geometry, last.attention, last) : null),
  };
}
