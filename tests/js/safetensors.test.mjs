// parseSafetensors and loadWeights(bytes): files are built here byte by byte
// from the format's definition, so the reader is checked against the spec,
// not against itself.
import { init, parseSafetensors } from '../../dist/node.mjs';

const encoder = new TextEncoder();

// tensors: [{ name, dtype, shape, bytes: Uint8Array }]; returns the file.
function safetensorsFile(tensors, metadata, { headerLengthOverride, rawHeader } = {}) {
  const header = {};
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: t.offsets ?? [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  if (metadata) header.__metadata__ = metadata;
  let json = rawHeader ?? JSON.stringify(header);
  while (json.length % 8) json += ' ';
  const headerBytes = encoder.encode(json);
  const file = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(headerLengthOverride ?? headerBytes.length), true);
  file.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    file.set(t.bytes, at);
    at += t.bytes.length;
  }
  return file;
}

const f32 = (values) => new Uint8Array(Float32Array.from(values).buffer);
const u16 = (values) => new Uint8Array(Uint16Array.from(values).buffer);

test('F32, F16, BF16 and F64 tensors and the metadata are read exactly', () => {
  const file = safetensorsFile(
    [
      { name: 'a', dtype: 'F32', shape: [2, 2], bytes: f32([1.5, -2, 0.25, 3e-8]) },
      // 0x3c00 = 1, 0xc000 = -2, 0x3555 ≈ 0.33325, 0x0001 = smallest subnormal 2^-24
      { name: 'half', dtype: 'F16', shape: [4], bytes: u16([0x3c00, 0xc000, 0x3555, 0x0001]) },
      // bfloat16 is the top half of a float32: 0x3fc0 = 1.5, 0xc080 = -4
      { name: 'brain', dtype: 'BF16', shape: [2], bytes: u16([0x3fc0, 0xc080]) },
      { name: 'double', dtype: 'F64', shape: [1], bytes: new Uint8Array(Float64Array.from([0.1]).buffer) },
      { name: 'empty', dtype: 'F32', shape: [0, 3], bytes: new Uint8Array(0) },
    ],
    { format: 'pt', note: 'test' },
  );
  const { tensors, metadata } = parseSafetensors(file);
  expect(metadata).toEqual({ format: 'pt', note: 'test' });
  expect(Array.from(tensors.a.data)).toEqual(Array.from(Float32Array.from([1.5, -2, 0.25, 3e-8])));
  expect(tensors.a.shape).toEqual([2, 2]);
  expect(Array.from(tensors.half.data)).toEqual([1, -2, Math.fround(0.333251953125), Math.fround(2 ** -24)]);
  expect(Array.from(tensors.brain.data)).toEqual([1.5, -4]);
  expect(tensors.double.data[0]).toBe(Math.fround(0.1));
  expect(tensors.empty.data).toHaveLength(0);
  // An ArrayBuffer works as well as a Uint8Array that is a window into a larger buffer.
  const padded = new Uint8Array(file.length + 3);
  padded.set(file, 3);
  expect(parseSafetensors(padded.subarray(3)).tensors.a.data).toEqual(tensors.a.data);
  expect(parseSafetensors(file.slice().buffer).tensors.half.data).toEqual(tensors.half.data);
});

const good = { name: 'w', dtype: 'F32', shape: [2], bytes: f32([1, 2]) };
test.each([
  ['shorter than 8 bytes', new Uint8Array(5), /too short/],
  ['a header length past the end', safetensorsFile([good], null, { headerLengthOverride: 1e6 }), /header length/],
  ['a header that is not JSON', safetensorsFile([good], null, { rawHeader: '{"w": nope' }), /not valid UTF-8 JSON/],
  ['a header that is a JSON array', safetensorsFile([good], null, { rawHeader: '[1, 2]' }), /not a JSON object/],
  ['an unsupported dtype', safetensorsFile([{ ...good, dtype: 'I64' }]), /dtype "I64"/],
  ['a non-integer shape', safetensorsFile([{ ...good, shape: [1.5] }]), /shape/],
  ['offsets past the data (truncated file)', safetensorsFile([{ ...good, offsets: [0, 64] }]), /outside the 8 data bytes/],
  ['a byte count that does not match the shape', safetensorsFile([{ ...good, shape: [3] }]), /expected 12/],
])('a file with %s is rejected with a message saying so', (_, bytes, pattern) => {
  expect(() => parseSafetensors(bytes)).toThrow(pattern);
  expect(() => parseSafetensors(bytes)).toThrow(/parseSafetensors: malformed file/);
});

test('parseSafetensors rejects non-bytes with a TypeError', () => {
  expect(() => parseSafetensors('weights.safetensors')).toThrow(TypeError);
  expect(() => parseSafetensors([1, 2, 3])).toThrow(/ArrayBuffer or Uint8Array/);
});

describe('loadWeights from safetensors bytes', () => {
  let mha;
  beforeAll(async () => {
    mha = await init();
  });
  const E = 4;
  const values = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s + 1));
  const stateDict = { in_proj_weight: values(3 * E * E, 0.3), in_proj_bias: values(3 * E, 0.7), 'out_proj.weight': values(E * E, 1.1), 'out_proj.bias': values(E, 1.9) };
  const x = { data: values(3 * E, 0.5), shape: [3, E] };

  test('with a prefix, the bytes of a whole model load like the equivalent object', () => {
    const shapes = { in_proj_weight: [3 * E, E], in_proj_bias: [3 * E], 'out_proj.weight': [E, E], 'out_proj.bias': [E] };
    const file = safetensorsFile([
      ...Object.entries(stateDict).map(([name, v]) => ({ name: `layers.1.attn.${name}`, dtype: 'F32', shape: shapes[name], bytes: f32(v) })),
      { name: 'tok_emb.weight', dtype: 'F32', shape: [2, E], bytes: f32(values(2 * E, 2.3)) },
    ]);
    const fromBytes = mha.createMultiHeadAttention({ embedDim: E, numHeads: 2 }).loadWeights(file, { prefix: 'layers.1.attn.' });
    const fromObject = mha.createMultiHeadAttention({ embedDim: E, numHeads: 2 }).loadWeights(stateDict);
    try {
      expect(fromBytes.forward(x, x, x).output.data).toEqual(fromObject.forward(x, x, x).output.data);
    } finally {
      [fromBytes, fromObject].forEach((l) => l.dispose());
    }
  });

  test('a malformed file or a wrong prefix leaves the layer as it was', () => {
    const layer = mha.createMultiHeadAttention({ embedDim: E, numHeads: 2 }).loadWeights(stateDict);
    try {
      const before = layer.forward(x, x, x).output.data;
      expect(() => layer.loadWeights(new Uint8Array(12))).toThrow(/malformed/);
      const file = safetensorsFile([{ name: 'in_proj_weight', dtype: 'F32', shape: [3 * E, E], bytes: f32(stateDict.in_proj_weight) }]);
      expect(() => layer.loadWeights(file, { prefix: 'nothing.' })).toThrow(/missing 'in_proj_weight'/);
      expect(() => layer.loadWeights(file, { prefix: 3 })).toThrow(TypeError);
      expect(layer.forward(x, x, x).output.data).toEqual(before);
    } finally {
      layer.dispose();
    }
  });
});
