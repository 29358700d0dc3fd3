// The shipped .wasm must really contain SIMD128 float arithmetic: xsimd's
// sse2 kernels are lowered to wasm SIMD by -msimd128, and a build-flag slip
// would silently give scalar code that still passes every numerical test.
// Disassembles dist/mha.wasm and dist/mha-mt.wasm (the threads build) with
// wabt's wasm-objdump (Debian package wabt).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { init } from '../../dist/node.mjs';

const wasmPath = fileURLToPath(new URL('../../dist/mha.wasm', import.meta.url));
const threadsWasmPath = fileURLToPath(new URL('../../dist/mha-mt.wasm', import.meta.url));
// The disassembly is a few MB of text; the default 1 MB buffer would truncate it.
const disassemble = (path) => execFileSync('wasm-objdump', ['-d', path], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
const disassembly = disassemble(wasmPath);
const threadsDisassembly = disassemble(threadsWasmPath);
const countIn = (text, mnemonic) => (text.match(new RegExp(`\\b${mnemonic.replace('.', '\\.')}\\b`, 'g')) ?? []).length;
const countOf = (mnemonic) => countIn(disassembly, mnemonic);

// The dot products, exp and accumulate kernels each emit several of these; a
// handful could come from libc, so require more than 10 to mean "kernels are SIMD".
const MIN_COUNT = 10;
const counts = Object.fromEntries(['f32x4.mul', 'f32x4.add', 'v128.load', 'v128.store'].map((m) => [m, countOf(m)]));

let mha;
beforeAll(async () => {
  mha = await init();
});

test(`disassembly is non-empty and has code (${disassembly.length} chars)`, () => {
  expect(disassembly).toMatch(/Code Disassembly:/);
});

test.each(Object.entries(counts))(`%s appears %i times (> ${MIN_COUNT})`, (_mnemonic, n) => {
  expect(n).toBeGreaterThan(MIN_COUNT);
});

test('the module validates in this engine', () => {
  expect(WebAssembly.validate(readFileSync(wasmPath))).toBe(true);
});

test('the threads build has the same SIMD kernels, plus atomics', () => {
  for (const mnemonic of ['f32x4.mul', 'f32x4.add']) {
    expect(countIn(threadsDisassembly, mnemonic)).toBeGreaterThan(MIN_COUNT);
  }
  expect(threadsDisassembly).toMatch(/memory\.atomic\.wait32|memory\.atomic\.notify/);
  expect(WebAssembly.validate(readFileSync(threadsWasmPath))).toBe(true);
});

test('capabilities report SIMD on and name the xsimd architecture', () => {
  expect(mha.capabilities.simd).toBe(true);
  expect(mha.capabilities.threads).toBe(1);
  expect(typeof mha.capabilities.simdArchitecture).toBe('string');
  expect(mha.capabilities.simdArchitecture.length).toBeGreaterThan(0);
  expect(mha.capabilities.version).toMatch(/^\d+\.\d+\.\d+/);
  expect(Object.isFrozen(mha.capabilities)).toBe(true);
});
