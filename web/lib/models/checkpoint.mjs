// A checkpoint's tensors across one or several safetensors files, read from
// the headers first: names, dtypes and shapes are known (and the memory a
// model needs is checked) before any weight is converted. Tensors are then
// produced one at a time as float32, F16 and BF16 converted on the way.

const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2, F64: 8 };

function malformed(file, message) {
  return new Error(`loadModel: ${file} is not a valid safetensors file: ${message}`);
}

// The header of one file: { tensors: Map(name -> entry), dataStart }; the
// data is not read. Offsets are checked against the file size separately
// (checkSizes), after the memory a model needs has been checked.
async function readHeader(source, file) {
  const size = source.size(file);
  if (size < 8) throw malformed(file, `${size} bytes is too short for the 8-byte header length`);
  const lengthBytes = await source.bytes(file, 0, 8);
  const headerLength = Number(new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + headerLength > size) throw malformed(file, `its header claims ${headerLength} bytes, but the file has ${size} (truncated?)`);
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.bytes(file, 8, 8 + headerLength)));
  } catch (error) {
    throw malformed(file, `the header is not UTF-8 JSON (${error.message})`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const size = DTYPE_BYTES[entry?.dtype];
    if (!size) throw malformed(file, `tensor '${name}' has dtype ${JSON.stringify(entry?.dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`);
    const { shape, data_offsets: offsets } = entry;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw malformed(file, `tensor '${name}' has shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2) throw malformed(file, `tensor '${name}' has data_offsets ${JSON.stringify(offsets)}`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * size) throw malformed(file, `tensor '${name}' [${shape.join(', ')}] ${entry.dtype} has ${end - begin} bytes of data offsets`);
    tensors.set(name, { file, dtype: entry.dtype, shape, count, begin: dataStart + begin, end: dataStart + end });
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

function toFloat32(dtype, count, bytes) {
  if (dtype === 'F32') {
    // Aligned: a view, no copy; otherwise one copy.
    if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
    return new Float32Array(bytes.slice().buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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
 * The headers of model.safetensors, or of the shards model.safetensors.index.json
 * lists. Returns { names, has(name), shape(name), float32Bytes, checkSizes(),
 * tensor(name) -> Promise<Float32Array> }; tensors are read one at a time.
 */
export async function openCheckpoint(source) {
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
  for (const file of files) {
    for (const [name, entry] of await readHeader(source, file)) {
      if (tensors.has(name)) throw new Error(`loadModel: tensor '${name}' appears in both ${tensors.get(name).file} and ${file}`);
      tensors.set(name, entry);
    }
  }
  return {
    files,
    names: [...tensors.keys()],
    has: (name) => tensors.has(name),
    shape: (name) => tensors.get(name)?.shape,
    float32Bytes: [...tensors.values()].reduce((sum, t) => sum + 4 * t.count, 0),
    /** Throws naming the file whose tensors run past its end (a truncated download). */
    checkSizes() {
      for (const [name, t] of tensors) {
        const size = source.size(t.file);
        if (t.end > size) throw malformed(t.file, `tensor '${name}' [${t.shape.join(', ')}] ${t.dtype} ends at byte ${t.end}, but the file has ${size} (truncated?)`);
      }
    },
    async tensor(name) {
      const t = tensors.get(name);
      if (!t) throw new Error(`loadModel: tensor '${name}' is missing from the checkpoint`);
      return toFloat32(t.dtype, t.count, await source.bytes(t.file, t.begin, t.end));
    },
  };
}
