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
