// color_scales: the ramps order values visibly (darker = more for weights,
// stronger colour = larger |value| for signed values), masked cells get a
// colour no ramp produces, and heads get distinct colours.
import {
  RAMPS,
  MASKED_COLOR,
  HEAD_COLORS,
  rampRgb,
  rampColor,
  rampLut,
  lutIndex,
  weightColor,
  signedColor,
  headColor,
  relativeLuminance,
  maxAbsFinite,
  valuesToRgba,
  rgbaPixelColor,
  hexToRgb,
  rgbToHex,
} from '../../../web/demo/color_scales.js';

// Saturation-free distance between two colours, enough to say "different".
const distance = (a, b) => Math.hypot(...hexToRgb(a).map((v, i) => v - hexToRgb(b)[i]));

test('weight ramp: luminance falls strictly from 0 to 1, so colour(max) is darker than colour(min)', () => {
  let previous = Infinity;
  for (let i = 0; i <= 20; i++) {
    const l = relativeLuminance(rampRgb('weight', i / 20));
    expect(l).toBeLessThan(previous);
    previous = l;
  }
  expect(relativeLuminance(weightColor(1))).toBeLessThan(relativeLuminance(weightColor(0)) - 0.5);
});

test('signed ramp: zero is the lightest colour, each end is darker, and the two ends differ in hue', () => {
  const zero = relativeLuminance(signedColor(0, 1));
  expect(relativeLuminance(signedColor(1, 1))).toBeLessThan(zero);
  expect(relativeLuminance(signedColor(-1, 1))).toBeLessThan(zero);
  const [nr, , nb] = hexToRgb(signedColor(-1, 1));
  const [pr, , pb] = hexToRgb(signedColor(1, 1));
  expect(nb).toBeGreaterThan(nr); // negative is blue
  expect(pr).toBeGreaterThan(pb); // positive is red
  // |value| orders intensity on each side
  expect(relativeLuminance(signedColor(0.9, 1))).toBeLessThan(relativeLuminance(signedColor(0.3, 1)));
  expect(relativeLuminance(signedColor(-0.9, 1))).toBeLessThan(relativeLuminance(signedColor(-0.3, 1)));
});

test('ramps clamp out-of-range and NaN inputs instead of producing invalid colours', () => {
  expect(rampColor('weight', -3)).toBe(rampColor('weight', 0));
  expect(rampColor('weight', 7)).toBe(rampColor('weight', 1));
  expect(rampColor('weight', NaN)).toBe(rampColor('weight', 0));
  expect(rampColor('weight', 0)).toBe(RAMPS.weight[0][1]);
  expect(rampColor('signed', 1)).toBe(RAMPS.signed.at(-1)[1]);
  expect(() => rampColor('rainbow', 0.5)).toThrow(/ramp: expected one of weight, signed/);
});

test('the lookup table agrees with direct interpolation at its sample points', () => {
  const { rgb, css } = rampLut('weight');
  expect(css).toHaveLength(256);
  expect(rgb).toHaveLength(256 * 3);
  for (const i of [0, 1, 100, 255]) expect(css[i]).toBe(rampColor('weight', i / 255));
  expect(lutIndex(0.5, 0, 1)).toBe(128);
  expect(lutIndex(-1, -1, 1)).toBe(0);
  expect(lutIndex(5, 0, 0)).toBe(0);
});

test('masked colour is not produced by either ramp (not even approximately)', () => {
  for (const ramp of ['weight', 'signed']) {
    for (let i = 0; i <= 100; i++) expect(distance(rampColor(ramp, i / 100), MASKED_COLOR)).toBeGreaterThan(20);
  }
  expect(signedColor(-Infinity, 1)).toBe(MASKED_COLOR);
});

test('head colours are distinct and cycle after the palette', () => {
  expect(new Set(HEAD_COLORS).size).toBe(HEAD_COLORS.length);
  for (let a = 0; a < HEAD_COLORS.length; a++) for (let b = a + 1; b < HEAD_COLORS.length; b++) expect(distance(headColor(a), headColor(b))).toBeGreaterThan(60);
  expect(headColor(HEAD_COLORS.length)).toBe(headColor(0));
});

test('valuesToRgba: one opaque pixel per value, masked by −∞ or by predicate', () => {
  const values = Float32Array.from([0, 1, -Infinity, 0.5]);
  const pixels = valuesToRgba(values, 2, 2, { isMasked: (r, c) => r === 1 && c === 1 });
  expect(pixels).toHaveLength(16);
  expect([3, 7, 11, 15].map((i) => pixels[i])).toEqual([255, 255, 255, 255]);
  expect(rgbaPixelColor(pixels, 0)).toBe(weightColor(0));
  expect(rgbaPixelColor(pixels, 1)).toBe(weightColor(1));
  expect(rgbaPixelColor(pixels, 2)).toBe(MASKED_COLOR);
  expect(rgbaPixelColor(pixels, 3)).toBe(MASKED_COLOR);
});

test('maxAbsFinite ignores ±∞ and NaN, and never returns 0', () => {
  expect(maxAbsFinite(Float32Array.from([-3, 2, -Infinity, NaN]))).toBe(3);
  expect(maxAbsFinite(Float32Array.from([0, 0]))).toBe(1);
  expect(maxAbsFinite([-Infinity])).toBe(1);
});

test('hex ↔ rgb round-trips', () => {
  for (const hex of ['#000000', '#ffffff', '#0c2a66', '#a3261c']) expect(rgbToHex(hexToRgb(hex))).toBe(hex);
});
