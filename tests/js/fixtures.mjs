// Loads the PyTorch fixtures (tests/fixtures/*.json, made by
// scripts/make_fixtures.py) and converts them to the package's tensor form.
import { readFileSync } from 'node:fs';

export function loadFixtures(name) {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8'));
}

export const tensor = (t) => ({ data: new Float32Array(t.data), shape: t.shape });

// dtype "bool" -> Uint8Array (1 = masked out, PyTorch's polarity); "float32" -> additive.
export const mask = (m) => m && { data: m.dtype === 'bool' ? new Uint8Array(m.data) : new Float32Array(m.data), shape: m.shape };

export function stateDict(fixtureStateDict) {
  return Object.fromEntries(Object.entries(fixtureStateDict).map(([k, v]) => [k, new Float32Array(v.data)]));
}

export function forwardOptions(options) {
  const o = { ...options };
  if (o.keyPaddingMask) o.keyPaddingMask = mask(o.keyPaddingMask);
  if (o.attnMask) o.attnMask = mask(o.attnMask);
  return o;
}

/**
 * The first element breaking |got - expected| <= atol + rtol*|expected|, as
 * a readable record (index, got, expected, allowed), or null when all pass.
 * Returned rather than asserted so a failing test prints the element.
 */
export function firstMismatch(got, expected, { atol, rtol }) {
  if (got.length !== expected.length) return { lengthGot: got.length, lengthExpected: expected.length };
  for (let i = 0; i < expected.length; i++) {
    const allowed = atol + rtol * Math.abs(expected[i]);
    if (!(Math.abs(got[i] - expected[i]) <= allowed)) return { index: i, got: got[i], expected: expected[i], allowed };
  }
  return null;
}

/** True when a result array owns its whole buffer, i.e. it is a copy, not a view into the wasm heap. */
export const ownsBuffer = (array) => array.byteOffset === 0 && array.buffer.byteLength === array.byteLength;
