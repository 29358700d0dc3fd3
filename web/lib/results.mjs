// Results leave the WebAssembly heap here. The bindings return views of the
// heap, valid only until the next call into the module, so each is copied out
// at once: into the caller's own array when `out` gave one (no allocation: a
// fresh multi-megabyte array costs more than the copy on some machines, since
// untouched memory must be faulted in), otherwise into a new Float32Array.
import { describe, isTypedArrayOf } from './arguments.mjs';

const OUT_KEYS = ['output', 'weights'];

/** options.out: undefined, or { output?: Float32Array, weights?: Float32Array }. */
export function readOut(value, needWeights) {
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
  if (value.weights !== undefined && !needWeights) {
    throw new TypeError('out.weights: given, but needWeights is false, so there are no weights to write');
  }
  if (value.output !== undefined && value.output === value.weights) {
    throw new RangeError('out: output and weights must be different arrays');
  }
  return { output: value.output, weights: value.weights };
}

/** Throws unless the caller's array (if any) holds exactly the result of `shape`. */
export function checkOutLength(target, shape, name) {
  const length = shape.reduce((a, b) => a * b, 1);
  if (target !== undefined && target.length !== length) {
    throw new RangeError(`${name}: expected a Float32Array of ${length} elements (shape [${shape.join(', ')}]), got ${target.length}`);
  }
}

/** view (Float32Array over the heap) or null -> { data, shape } or null. */
export function takeResult(view, shape, target, name) {
  if (view === null) return null;
  if (target === undefined) return { data: view.slice(), shape };
  checkOutLength(target, shape, name);
  target.set(view);
  return { data: target, shape };
}
