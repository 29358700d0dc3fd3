// Small string builders shared by the renderers' SVG serialisations (used for
// "export SVG" and to build the line view in one innerHTML assignment).
// Pure: strings in, strings out; importable in Node.

// System fonts only: the page loads no web fonts, and exported SVGs name the
// same stack so they render alike wherever they are opened.
export const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeXml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** Rounds to 2 decimals: enough for screen coordinates, keeps files small. */
export const num = (v) => String(Math.round(v * 100) / 100);

export function svgDocument(width, height, body) {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" ` +
    `viewBox="0 0 ${num(width)} ${num(height)}" font-family="${escapeXml(FONT_FAMILY)}">` +
    `<rect width="100%" height="100%" fill="#ffffff"/>${body}</svg>`
  );
}

/**
 * <text> at (x, y). anchor: start | middle | end; rotate: degrees about (x, y).
 */
export function svgText(x, y, text, { anchor = 'start', size = 12, fill = '#222', weight = null, rotate = 0, attrs = '' } = {}) {
  const transform = rotate ? ` transform="rotate(${rotate} ${num(x)} ${num(y)})"` : '';
  const bold = weight ? ` font-weight="${weight}"` : '';
  return (
    `<text x="${num(x)}" y="${num(y)}" font-size="${size}" fill="${fill}" text-anchor="${anchor}" ` +
    `dominant-baseline="central"${bold}${transform}${attrs}>${escapeXml(text)}</text>`
  );
}

/**
 * Rects for an RGBA pixel matrix drawn at (x, y) with cells of cellW × cellH:
 * horizontal runs of one colour become one rect, which keeps a 256 × 256
 * attention matrix with a causal triangle far below one rect per cell.
 */
export function pixelRunsToRects(pixels, rows, cols, x, y, cellW, cellH) {
  const parts = [];
  for (let r = 0; r < rows; r++) {
    let start = 0;
    for (let c = 1; c <= cols; c++) {
      const a = (r * cols + start) * 4;
      const b = (r * cols + c) * 4;
      const same = c < cols && pixels[a] === pixels[b] && pixels[a + 1] === pixels[b + 1] && pixels[a + 2] === pixels[b + 2];
      if (same) continue;
      const fill = '#' + ((1 << 24) | (pixels[a] << 16) | (pixels[a + 1] << 8) | pixels[a + 2]).toString(16).slice(1);
      parts.push(
        `<rect x="${num(x + start * cellW)}" y="${num(y + r * cellH)}" width="${num((c - start) * cellW)}" ` +
          `height="${num(cellH)}" fill="${fill}"/>`,
      );
      start = c;
    }
  }
  return parts.join('');
}

/** A vertical colour bar as a <linearGradient> + rect (top = t 1, bottom = t 0). */
export function svgColorBar(id, x, y, width, height, colorAt) {
  const stops = [];
  for (let i = 0; i <= 10; i++) stops.push(`<stop offset="${i / 10}" stop-color="${colorAt(1 - i / 10)}"/>`);
  return (
    `<defs><linearGradient id="${id}" x1="0" y1="0" x2="0" y2="1">${stops.join('')}</linearGradient></defs>` +
    `<rect x="${num(x)}" y="${num(y)}" width="${num(width)}" height="${num(height)}" fill="url(#${id})" stroke="#999" stroke-width="0.5"/>`
  );
}

/** A token shortened to `max` characters with an ellipsis, for axis labels. */
export function truncateLabel(text, max) {
  const s = String(text);
  return s.length > max ? s.slice(0, Math.max(1, max - 1)) + '…' : s;
}
