// A checkpoint's tensors across one or several safetensors files, read from
// the headers first: names, dtypes and shapes are known (and the memory a
// model needs is checked) before any weight is converted. Tensors are then
// produced one at a time as float32, F16 and BF16 converted on the way.

const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2, F64: 8 };

function malformed(file, message) {
  return new Error(`loadModel: ${file} is not a valid safetensors file: ${message}`);
}

function readHeader(file, bytes) {
  if (bytes.length < 8) throw malformed(file, `${bytes.length} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw malformed(file, `its header claims ${headerLength} bytes, but the file has ${bytes.length} (truncated?)`);
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw malformed(file, `the header is not UTF-8 JSON (${error.message})`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const size = DTYPE_BYTES[entry?.dtype];
    if (!size) throw malformed(file, `tensor '${name}' has dtype ${JSON.stringify(entry?.dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`);
    const { shape, data_offsets: [begin, end] = [] } = entry;
    const count = shape.reduce((a, b) => a * b, 1);
    if (!(end <= dataLength) || end - begin !== count * size) {
      throw malformed(file, `tensor '${name}' [${shape.join(', ')}] ${entry.dtype} has data_offsets [${begin}, ${end}] for ${dataLength} data bytes (truncated?)`);
    }
    tensors.set(name, { file, dtype: entry.dtype, shape, count, start: dataStart + begin, bytes });
  }
  return tensors;
}

function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function toFloat32({ dtype, count, start, bytes }) {
  if (dtype === 'F32') {
    const offset = bytes.byteOffset + start;
    // Aligned: a view, no copy; otherwise one copy.
    if (offset % 4 === 0) return new Float32Array(bytes.buffer, offset, count);
    return new Float32Array(bytes.slice(start, start + 4 * count).buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * DTYPE_BYTES[dtype]);
  const out = new Float32Array(count);
  if (dtype === 'BF16') {
    const words = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) words[i] = view.getUint16(2 * i, true) << 16;
  } else if (dtype === 'F16') {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  }
  return out;
}

/**
 * Reads model.safetensors, or the shards listed by model.safetensors.index.json.
 * Returns { names, has(name), shape(name), float32Bytes, tensor(name) -> Float32Array }.
 */
export async function openCheckpoint(source, onProgress) {
  let files;
  if (source.has('model.safetensors.index.json')) {
    const index = await source.json('model.safetensors.index.json');
    if (!index || typeof index.weight_map !== 'object') throw new Error('loadModel: model.safetensors.index.json has no weight_map');
    files = [...new Set(Object.values(index.weight_map))].sort();
  } else if (source.has('model.safetensors')) {
    files = ['model.safetensors'];
  } else {
    throw new Error(`loadModel: model.safetensors (or model.safetensors.index.json with its shards) is missing (files given: ${source.names.sort().join(', ') || 'none'})`);
  }
  const tensors = new Map();
  const total = files.reduce((sum, f) => sum + (source.size(f) ?? 0), 0);
  let loaded = 0;
  for (const file of files) {
    const bytes = await source.bytes(file);
    loaded += bytes.length;
    onProgress?.({ stage: 'reading', loaded, total });
    for (const [name, entry] of readHeader(file, bytes)) {
      if (tensors.has(name)) throw new Error(`loadModel: tensor '${name}' appears in both ${tensors.get(name).file} and ${file}`);
      tensors.set(name, entry);
    }
  }
  return {
    names: [...tensors.keys()],
    has: (name) => tensors.has(name),
    shape: (name) => tensors.get(name)?.shape,
    float32Bytes: [...tensors.values()].reduce((sum, t) => sum + 4 * t.count, 0),
    tensor(name) {
      const entry = tensors.get(name);
      if (!entry) throw new Error(`loadModel: tensor '${name}' is missing from the checkpoint`);
      return toFloat32(entry);
    },
  };
}
