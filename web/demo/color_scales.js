// Every colour the demo uses, in one place: a sequential ramp for attention
// weights (0 → 1), a diverging ramp for signed activations (blue < 0 < red),
// one colour for masked (−∞) cells and one categorical colour per head.
//
// Ramps are lists of [t, '#rrggbb'] stops, interpolated linearly in sRGB.
// Renderers colour thousands of cells per frame, so each ramp is sampled once
// into a 256-entry lookup table (rgb bytes + CSS strings) and cells index it.
// Pure data and arithmetic: importable in Node, no DOM.

export const RAMPS = Object.freeze({
  // Near-white for "no attention", deep blue for "all of it"; luminance falls
  // monotonically so the order of two cells survives greyscale printing.
  weight: [
    [0, '#f7f8fb'],
    [0.15, '#d6e0f0'],
    [0.35, '#9db8de'],
    [0.6, '#5a87c5'],
    [0.85, '#2756a0'],
    [1, '#0c2a66'],
  ],
  // Diverging: negative blue, zero light grey, positive red (t = 0.5 is zero).
  signed: [
    [0, '#1d4f91'],
    [0.25, '#7ea6d8'],
    [0.5, '#f4f4f2'],
    [0.75, '#e2987a'],
    [1, '#a3261c'],
  ],
});

// Masked cells (−∞ scores, or the weights a causal mask forces to 0) must not
// read as "a small value": a warm mid grey that neither ramp contains.
export const MASKED_COLOR = '#bdb6a8';
export const MASKED_RGB = Object.freeze(hexToRgb(MASKED_COLOR));

// Categorical head colours, chosen to stay distinguishable for the common
// colour-vision deficiencies (after Okabe & Ito's palette) and on white.
export const HEAD_COLORS = Object.freeze(['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#7f6a00', '#5e3c99']);

const LUT_SIZE = 256;

export function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function rgbToHex([r, g, b]) {
  return '#' + ((1 << 24) | (r << 16) | (g << 8) | b).toString(16).slice(1);
}

/** WCAG relative luminance of an sRGB colour, 0 (black) to 1 (white). */
export function relativeLuminance(color) {
  const rgb = typeof color === 'string' ? hexToRgb(color) : color;
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function rampByName(ramp) {
  const stops = typeof ramp === 'string' ? RAMPS[ramp] : ramp;
  if (!stops) throw new RangeError(`ramp: expected one of ${Object.keys(RAMPS).join(', ')}, got ${JSON.stringify(ramp)}`);
  return stops;
}

/** The ramp's colour at t ∈ [0, 1] (clamped; NaN reads as 0), as [r, g, b]. */
export function rampRgb(ramp, t) {
  const stops = rampByName(ramp);
  const x = t > 0 ? Math.min(t, 1) : 0;
  let i = 1;
  while (i < stops.length - 1 && stops[i][0] < x) i++;
  const [t0, c0] = stops[i - 1];
  const [t1, c1] = stops[i];
  const f = t1 === t0 ? 0 : (x - t0) / (t1 - t0);
  const a = hexToRgb(c0);
  const b = hexToRgb(c1);
  return a.map((v, k) => Math.round(v + (b[k] - v) * f));
}

export function rampColor(ramp, t) {
  return rgbToHex(rampRgb(ramp, t));
}

const luts = new Map();

/** The ramp sampled at LUT_SIZE points: { rgb: Uint8Array(3·n), css: string[] }. */
export function rampLut(ramp) {
  let lut = luts.get(ramp);
  if (!lut) {
    const rgb = new Uint8Array(LUT_SIZE * 3);
    const css = [];
    for (let i = 0; i < LUT_SIZE; i++) {
      const c = rampRgb(ramp, i / (LUT_SIZE - 1));
      rgb.set(c, i * 3);
      css.push(rgbToHex(c));
    }
    lut = { rgb, css };
    luts.set(ramp, lut);
  }
  return lut;
}

/** Index into a LUT for value mapped from [min, max] to [0, 1]. */
export function lutIndex(value, min, max) {
  const t = max > min ? (value - min) / (max - min) : 0;
  return t > 0 ? Math.min(LUT_SIZE - 1, Math.round(t * (LUT_SIZE - 1))) : 0;
}

/** Colour of an attention weight in [0, 1]. */
export function weightColor(value) {
  return rampLut('weight').css[lutIndex(value, 0, 1)];
}

/** Colour of a signed value on a symmetric scale [−maxAbs, maxAbs]; −∞ is masked. */
export function signedColor(value, maxAbs) {
  if (value === -Infinity) return MASKED_COLOR;
  return rampLut('signed').css[lutIndex(value, -maxAbs, maxAbs)];
}

export function headColor(head) {
  return HEAD_COLORS[head % HEAD_COLORS.length];
}

/** Largest |v| over the finite values (1 if there are none, so scales never divide by 0). */
export function maxAbsFinite(values) {
  let m = 0;
  for (const v of values) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m > 0 ? m : 1;
}

/**
 * RGBA pixels (rows·cols·4) for a row-major matrix: each value mapped from
 * [min, max] onto `ramp`; −∞ and cells where isMasked(row, col) is true get
 * MASKED_COLOR. One pass, no per-cell allocation.
 */
export function valuesToRgba(values, rows, cols, { ramp = 'weight', min = 0, max = 1, isMasked = null } = {}) {
  const { rgb } = rampLut(ramp);
  const out = new Uint8ClampedArray(rows * cols * 4);
  // lutIndex() inlined: this loop runs ~10⁶ times per run at 256 tokens.
  const scale = max > min ? (LUT_SIZE - 1) / (max - min) : 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const v = values[i];
      const o = i * 4;
      if (v === -Infinity || (isMasked !== null && isMasked(r, c))) {
        out[o] = MASKED_RGB[0];
        out[o + 1] = MASKED_RGB[1];
        out[o + 2] = MASKED_RGB[2];
      } else {
        const t = (v - min) * scale;
        const k = (t > 0 ? Math.min(LUT_SIZE - 1, Math.round(t)) : 0) * 3;
        out[o] = rgb[k];
        out[o + 1] = rgb[k + 1];
        out[o + 2] = rgb[k + 2];
      }
      out[o + 3] = 255;
    }
  }
  return out;
}

/** The CSS colour of one pixel of a valuesToRgba() result. */
export function rgbaPixelColor(pixels, index) {
  const o = index * 4;
  return rgbToHex([pixels[o], pixels[o + 1], pixels[o + 2]]);
}
