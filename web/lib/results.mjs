// options.out: caller-owned arrays the results are copied into (web/lib/call.mjs)
// instead of new ones. A fresh multi-megabyte array costs more than the copy
// on some machines, since untouched memory must be faulted in. Only the types
// are checked here; the lengths are checked against the result shapes by the
// plan, in C++, before anything is written.
import { describe, isTypedArrayOf } from './arguments.mjs';

const OUT_KEYS = ['output', 'weights'];

/** options.out: undefined, or { output?: Float32Array, weights?: Float32Array }. */
export function readOut(value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || ArrayBuffer.isView(value)) {
    throw new TypeError(`out: expected { output?: Float32Array, weights?: Float32Array }, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!OUT_KEYS.includes(key)) throw new TypeError(`out: unknown key ${JSON.stringify(key)}; expected output or weights`);
  }
  for (const key of OUT_KEYS) {
    if (value[key] !== undefined && !isTypedArrayOf(value[key], 'Float32Array')) {
      throw new TypeError(`out.${key}: expected a Float32Array, got ${describe(value[key])}`);
    }
  }
  if (value.output !== undefined && value.output === value.weights) {
    throw new RangeError('out: output and weights must be different arrays');
  }
  return { output: value.output, weights: value.weights };
}
