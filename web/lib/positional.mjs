// Options that make attention depend on token positions (rotary, alibi,
// window, softcap): their JavaScript types and value ranges. Rules that
// involve shapes (rotaryDim against the head dim, one slope per query head)
// are checked in C++ with the rest of the call.
import { describe, isTypedArrayOf, readBoolean, readOptions, readPositiveInteger } from './arguments.mjs';

const ROTARY_OPTIONS = ['base', 'rotaryDim', 'interleaved', 'positionOffset', 'frequencies'];

/**
 * rotary: undefined | { base = 10000, rotaryDim = headDim, interleaved = false, positionOffset = 0, frequencies }
 * (frequencies: createSelfAttention only — explicit inverse frequencies for scaled RoPE).
 */
export function readRotary(value) {
  if (value === undefined || value === null || value === false) return undefined;
  if (value === true) value = {};
  const o = readOptions(value, ROTARY_OPTIONS, 'rotary');
  const base = o.base ?? 10000;
  if (typeof base !== 'number') throw new TypeError(`rotary.base: expected a number, got ${describe(base)}`);
  if (!(Number.isFinite(base) && base > 1)) throw new RangeError(`rotary.base: expected a finite number above 1, got ${describe(base)}`);
  const rotaryDim = o.rotaryDim === undefined ? 0 : readPositiveInteger(o.rotaryDim, 'rotary.rotaryDim');
  const offset = o.positionOffset;
  if (offset !== undefined && (typeof offset !== 'number' || !Number.isSafeInteger(offset))) {
    throw new (typeof offset === 'number' ? RangeError : TypeError)(`rotary.positionOffset: expected an integer, got ${describe(offset)}`);
  }
  if (o.frequencies !== undefined && !isTypedArrayOf(o.frequencies, 'Float32Array')) {
    throw new TypeError(`rotary.frequencies: expected a Float32Array of rotaryDim / 2 inverse frequencies, got ${describe(o.frequencies)}`);
  }
  return {
    base,
    rotaryDim,
    interleaved: readBoolean(o.interleaved, 'rotary.interleaved', false),
    positionOffset: offset,
    ...(o.frequencies === undefined ? {} : { frequencies: o.frequencies }),
  };
}

/** alibi: undefined | true (standard slopes) | Float32Array of one slope per query head. */
export function readAlibi(value) {
  if (value === undefined || value === null || value === false) return undefined;
  if (value === true) return { standard: true };
  if (isTypedArrayOf(value, 'Float32Array')) return { slopes: { data: value, shape: [value.length] } };
  throw new TypeError(`alibi: expected true (the standard slopes) or a Float32Array of one slope per query head, got ${describe(value)}`);
}

/** window: undefined | W >= 1 (keys at positions <= p - W are masked for a query at p). */
export function readWindow(value) {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number') throw new TypeError(`window: expected a positive integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1) throw new RangeError(`window: expected a positive integer, got ${describe(value)}`);
  return value;
}

/** softcap: undefined | c > 0 (scores become c * tanh(scores / c)). */
export function readSoftcap(value) {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number') throw new TypeError(`softcap: expected a positive number, got ${describe(value)}`);
  if (!(value > 0 && Number.isFinite(Math.fround(value)))) throw new RangeError(`softcap: expected a positive finite number, got ${describe(value)}`);
  return value;
}

/** All four, from an options object, for the call record. */
export function readPositional(o) {
  return { rotary: readRotary(o.rotary), alibi: readAlibi(o.alibi), window: readWindow(o.window), softcap: readSoftcap(o.softcap) };
}
