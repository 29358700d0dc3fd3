// JavaScript-side checks of argument *types* and option objects, before
// anything crosses into WebAssembly. Shapes and sizes are checked once, in
// C++ (src/layer/validate.cpp); this file makes sure what reaches it is
// well-formed: typed arrays of the right kind, integer shapes, real booleans.

// wasm32 addresses at most 4 GiB; larger dimensions can only be mistakes.
const MAX_DIMENSION = 2 ** 31 - 1;
// Dimensions the call record carries (src/bindings/call_record.hpp); more
// than any shape the library accepts, so a wrong rank is still reported by
// the library's own shape check.
const MAX_RANK = 8;

// A typed array's length from its internal slot: a subclass or an own
// `length` property cannot make the library read past the data.
const typedArrayLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'length').get;
export const lengthOf = (array) => typedArrayLength.call(array);

export function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (value instanceof DataView || Object.prototype.toString.call(value) === '[object DataView]') return `a DataView of ${value.byteLength} bytes`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of length ${lengthOf(value)}`;
  if (Array.isArray(value)) return `an Array of length ${value.length}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n (a BigInt)`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'function') return 'a function';
  return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
}

// Works across realms (workers, vm contexts), unlike instanceof.
export function isTypedArrayOf(value, tag) {
  return ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === `[object ${tag}]`;
}

export function readShape(shape, name) {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${name}: expected an array of dimensions, got ${describe(shape)}`);
  }
  if (shape.length > MAX_RANK) {
    throw new RangeError(`${name}: expected at most ${MAX_RANK} dimensions, got ${shape.length}`);
  }
  for (const dimension of shape) {
    if (typeof dimension !== 'number' || !Number.isInteger(dimension) || dimension < 0 || dimension > MAX_DIMENSION) {
      throw new RangeError(`${name}: expected non-negative integer dimensions, got [${shape.map(describe).join(', ')}]`);
    }
  }
  return shape.slice();
}

/** A float tensor { data: Float32Array, shape }. */
export function readTensor(value, name) {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) {
    throw new TypeError(`${name}: expected a tensor { data: Float32Array, shape: number[] }, got ${describe(value)}`);
  }
  if (!isTypedArrayOf(value.data, 'Float32Array')) {
    throw new TypeError(`${name}.data: expected a Float32Array, got ${describe(value.data)}`);
  }
  rejectDetached(value.data, `${name}.data`);
  return { data: value.data, shape: readShape(value.shape, `${name}.shape`) };
}

/**
 * An optional mask: { data: Uint8Array (1 = masked out), shape } or
 * { data: Float32Array (added to the scores), shape }. null/undefined = none.
 */
export function readMask(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || ArrayBuffer.isView(value)) {
    throw new TypeError(`${name}: expected a mask { data: Uint8Array | Float32Array, shape: number[] }, got ${describe(value)}`);
  }
  let kind;
  if (isTypedArrayOf(value.data, 'Uint8Array')) kind = 'boolean';
  else if (isTypedArrayOf(value.data, 'Float32Array')) kind = 'additive';
  else {
    throw new TypeError(
      `${name}.data: expected a Uint8Array (boolean mask, 1 = masked out) or a Float32Array (additive mask), got ${describe(value.data)}`,
    );
  }
  rejectDetached(value.data, `${name}.data`);
  return { data: value.data, shape: readShape(value.shape, `${name}.shape`), kind };
}

// A typed array over a transferred (detached) buffer reads as empty; say why.
/** True for an ArrayBuffer that was transferred or freed: only an empty one can be, and slicing a detached one throws. */
export function isDetachedBuffer(buffer) {
  if (Object.prototype.toString.call(buffer) !== '[object ArrayBuffer]' || buffer.byteLength !== 0) return false;
  if (typeof buffer.detached === 'boolean') return buffer.detached;
  try {
    buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

function rejectDetached(array, name) {
  if (isDetachedBuffer(array.buffer)) {
    throw new TypeError(`${name}: expected a typed array with data, got one whose ArrayBuffer is detached (transferred or freed)`);
  }
}

export function readBoolean(value, name, defaultValue) {
  if (value === undefined) return defaultValue;
  if (typeof value !== 'boolean') throw new TypeError(`${name}: expected true or false, got ${describe(value)}`);
  return value;
}

export function readPositiveInteger(value, name) {
  if (typeof value !== 'number') throw new TypeError(`${name}: expected a positive integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > MAX_DIMENSION) {
    throw new RangeError(`${name}: expected a positive integer, got ${describe(value)}`);
  }
  return value;
}

export function readNonNegativeInteger(value, name) {
  if (typeof value !== 'number') throw new TypeError(`${name}: expected a non-negative integer, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < 0 || value > MAX_DIMENSION) {
    throw new RangeError(`${name}: expected a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

const ALIGNMENTS = ['top-left', 'bottom-right'];

/** options.causalAlignment: undefined (top-left without a cache, bottom-right with one) or one of ALIGNMENTS. */
export function readCausalAlignment(value) {
  if (value === undefined) return undefined;
  if (!ALIGNMENTS.includes(value)) {
    throw new TypeError(`causalAlignment: expected 'top-left' or 'bottom-right', got ${describe(value)}`);
  }
  return value;
}

/** Rejects anything but a plain options object with known keys (typos would otherwise be ignored silently). */
export function readOptions(options, known, name) {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw new TypeError(`${name}: expected an options object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${name}: unknown option ${JSON.stringify(key)}; expected one of ${known.join(', ')}`);
    }
  }
  return options;
}

/** Turns the {error: {kind, message}} objects of the bindings into thrown errors. */
export function throwIfError(result, context) {
  if (!result || !result.error) return result;
  const { kind, message } = result.error;
  const ErrorClass = kind === 'TypeError' ? TypeError : kind === 'RangeError' ? RangeError : Error;
  throw new ErrorClass(`${context}: ${message}`);
}
