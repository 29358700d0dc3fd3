// Reads the safetensors format (an 8-byte little-endian header length, a JSON
// header of {name: {dtype, shape, data_offsets}}, then the raw tensor bytes)
// into Float32Arrays, so model weights can be shipped as one file.
//
// Every field is checked: a truncated, corrupted or hostile file gives an
// Error saying what is wrong, never garbage tensors.
import { describe } from './arguments.mjs';

// Bytes per element, and how to read one element as a float.
const DTYPES = {
  F32: { size: 4, read: (view, offset) => view.getFloat32(offset, true) },
  F64: { size: 8, read: (view, offset) => view.getFloat64(offset, true) },
  F16: { size: 2, read: (view, offset) => halfToFloat(view.getUint16(offset, true)) },
  BF16: { size: 2, read: (view, offset) => bfloat16ToFloat(view.getUint16(offset, true)) },
};
// A header larger than this is not a weights file we should trust.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

const bfloat16Scratch = new DataView(new ArrayBuffer(4));
function bfloat16ToFloat(bits) {
  bfloat16Scratch.setUint32(0, bits << 16, true);
  return bfloat16Scratch.getFloat32(0, true);
}

function malformed(message) {
  return new Error(`parseSafetensors: malformed file: ${message}`);
}

/**
 * bytes: ArrayBuffer or Uint8Array of a .safetensors file.
 * Returns { tensors: { name: { data: Float32Array, shape, dtype } }, metadata: { key: string } }.
 * F16, BF16 and F64 tensors are converted to float32.
 */
export function parseSafetensors(bytes) {
  let u8;
  if (bytes instanceof ArrayBuffer) u8 = new Uint8Array(bytes);
  else if (ArrayBuffer.isView(bytes)) u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  else throw new TypeError(`parseSafetensors: expected an ArrayBuffer or Uint8Array with the file's bytes, got ${describe(bytes)}`);
  if (u8.length < 8) throw malformed(`${u8.length} bytes is too short for the 8-byte header length`);

  const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > u8.length) {
    throw malformed(`header length ${headerLength} does not fit in a ${u8.length}-byte file`);
  }
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(u8.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw malformed(`the header is not valid UTF-8 JSON (${error.message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw malformed('the header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = u8.length - dataStart;
  const metadata = {};
  const tensors = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object') throw malformed('__metadata__ is not an object');
      for (const [key, value] of Object.entries(entry)) metadata[key] = String(value);
      continue;
    }
    tensors[name] = readTensor(name, entry, view, dataStart, dataLength);
  }
  return { tensors, metadata };
}

function readTensor(name, entry, view, dataStart, dataLength) {
  if (entry === null || typeof entry !== 'object') throw malformed(`tensor '${name}' has no description`);
  const { dtype, shape, data_offsets: offsets } = entry;
  const type = DTYPES[dtype];
  if (!type) throw malformed(`tensor '${name}' has dtype ${describe(dtype)}; supported: ${Object.keys(DTYPES).join(', ')}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw malformed(`tensor '${name}' has shape ${JSON.stringify(shape)}; expected non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
    throw malformed(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}; expected [begin, end]`);
  }
  const [begin, end] = offsets;
  const count = shape.reduce((a, b) => a * b, 1);
  if (end < begin || end > dataLength) {
    throw malformed(`tensor '${name}' data_offsets [${begin}, ${end}] fall outside the ${dataLength} data bytes (truncated file?)`);
  }
  if (end - begin !== count * type.size) {
    throw malformed(`tensor '${name}' has ${end - begin} bytes for shape [${shape.join(', ')}] of ${dtype} (expected ${count * type.size})`);
  }
  const data = new Float32Array(count);
  const base = dataStart + begin;
  for (let i = 0; i < count; i++) data[i] = type.read(view, base + i * type.size);
  return { data, shape: shape.slice(), dtype };
}
