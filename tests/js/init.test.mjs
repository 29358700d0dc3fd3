// init(): one module per entry-module instance, shared by every later call;
// a failed load (bad URL, bad bytes) must not poison the next attempt.
// Each scenario that needs a not-yet-initialised init() imports a fresh copy
// of dist/node.mjs (a distinct query string makes a distinct ES module
// instance, with its own init-once state); the shared one is used otherwise.
import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { init, VERSION } from '../../dist/node.mjs';

const wasmURL = new URL('../../dist/mha.wasm', import.meta.url);
const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const freshInit = async (tag) => (await import(`../../dist/node.mjs?${tag}`)).init;
// Same code path as everyone uses: proves an instance actually computes.
const smallResult = (mha) => {
  const q = { data: Float32Array.from({ length: 8 }, (_, i) => i / 8), shape: [1, 1, 2, 4] };
  return Array.from(mha.scaledDotProductAttention(q, q, q).output.data);
};

let mha;
beforeAll(async () => {
  mha = await init();
});

test('init() twice resolves to the same object', async () => {
  const again = await init();
  expect(again).toBe(mha);
  expect(Object.isFrozen(mha)).toBe(true);
});

test('concurrent first calls share one instantiation', async () => {
  const fresh = await freshInit('concurrent');
  const [a, b] = await Promise.all([fresh(), fresh()]);
  expect(a).toBe(b);
  expect(a).not.toBe(mha);
});

test('the version is the package.json version, on VERSION and on capabilities', () => {
  expect(VERSION).toBe(packageJson.version);
  expect(mha.capabilities.version).toBe(packageJson.version);
});

test.each([
  ['Uint8Array', () => new Uint8Array(readFileSync(wasmURL))],
  ['ArrayBuffer', () => {
    const bytes = readFileSync(wasmURL);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }],
])('init({ wasmBinary: %s }) gives a working, separate instance', async (kind, bytes) => {
  const fresh = await freshInit(`wasmBinary-${kind}`);
  const own = await fresh({ wasmBinary: bytes() });
  expect(own).not.toBe(mha);
  expect(own.capabilities).toEqual(mha.capabilities);
  expect(smallResult(own)).toEqual(smallResult(mha));
});

test('init({ wasmURL: file URL of the real .wasm }) works', async () => {
  const fresh = await freshInit('wasmURL-ok');
  const own = await fresh({ wasmURL: wasmURL.href });
  expect(smallResult(own)).toEqual(smallResult(mha));
});

test('init({ wasmURL: missing file }) rejects, and a later init() succeeds', async () => {
  const fresh = await freshInit('retry-url');
  await expect(fresh({ wasmURL: 'file:///nonexistent/mha.wasm' })).rejects.toThrow(/nonexistent|ENOENT/);
  const recovered = await fresh();
  expect(smallResult(recovered)).toEqual(smallResult(mha));
  expect(await fresh()).toBe(recovered);
});

test('init({ wasmBinary: corrupt bytes }) rejects, and a later init() succeeds', async () => {
  const fresh = await freshInit('retry-bytes');
  // The Emscripten glue reports the compile error on the console too; keep the test output clean.
  const quiet = [jest.spyOn(console, 'warn').mockImplementation(() => {}), jest.spyOn(console, 'error').mockImplementation(() => {})];
  try {
    // A valid header followed by a truncated section.
    await expect(fresh({ wasmBinary: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 99]) })).rejects.toThrow();
  } finally {
    quiet.forEach((spy) => spy.mockRestore());
  }
  expect(smallResult(await fresh())).toEqual(smallResult(mha));
});

test.each([
  ['unknown option wasmUrl', { wasmUrl: 'x' }, TypeError, /"wasmUrl"/],
  ['wasmBinary a string', { wasmBinary: 'abc' }, TypeError, /wasmBinary/],
  ['wasmURL a number', { wasmURL: 42 }, TypeError, /wasmURL/],
  ['options a string', 'fast', TypeError, /init/],
])('init with %s fails naming it, and a later init() succeeds', async (name, options, ErrorClass, pattern) => {
  const fresh = await freshInit(`bad-option-${name.replace(/\W/g, '_')}`);
  // Wrapped in an async function, so a synchronous throw and a rejection are treated alike.
  const attempt = (async () => fresh(options))();
  await expect(attempt).rejects.toThrow(pattern);
  await expect(attempt).rejects.toBeInstanceOf(ErrorClass);
  expect(smallResult(await fresh())).toEqual(smallResult(mha));
});

test('bad options give a rejected promise, never a synchronous throw', async () => {
  let promise;
  expect(() => {
    promise = init({ wasmBinary: 'abc' });
  }).not.toThrow();
  await expect(promise).rejects.toThrow(/wasmBinary/);
});

test('init() with other options after the first init() rejects; no options or the same ones are fine', async () => {
  const fresh = await freshInit('second-options');
  const first = await fresh({ wasmURL });
  await expect(fresh({ wasmURL })).resolves.toBe(first);
  await expect(fresh()).resolves.toBe(first);
  await expect(fresh({ wasmURL: 'file:///elsewhere/mha.wasm' })).rejects.toThrow(/already initialised/);
});
