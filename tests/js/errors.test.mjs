// Bad inputs: each must throw the right class (TypeError for wrong kinds of
// value, RangeError for wrong sizes, Error for wrong state) with a message
// naming the argument, and must leave the module usable: after every error a
// forward call on a shared, already loaded layer must return exactly what it
// returned before any error (a leaked heap copy, a half-applied loadWeights or
// a corrupted scratch buffer would show up here).
// Shared layer: embedDim 8, 2 heads, kdim 6, vdim 5; query (L=3, N=2, 8), key (S=4, N=2, 6), value (4, 2, 5).
import { init } from '../../dist/node.mjs';

const E = 8, H = 2, KDIM = 6, VDIM = 5, L = 3, N = 2, S = 4;
const count = (shape) => shape.reduce((a, b) => a * b, 1);
// Deterministic, non-trivial values; `phase` makes a second, different set.
const values = (n, phase = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + phase) / 2);
const t = (shape, phase = 0) => ({ data: values(count(shape), phase), shape });
const u8 = (shape, isMasked) => ({ data: Uint8Array.from({ length: count(shape) }, (_, i) => (isMasked(i) ? 1 : 0)), shape });

let mha, layer, reference;
const query = () => t([L, N, E]);
const key = () => t([S, N, KDIM], 1);
const value = () => t([S, N, VDIM], 2);
const goodOptions = () => ({ keyPaddingMask: u8([N, S], (i) => i === 3), attnMask: u8([L, S], (i) => i === 5), averageAttnWeights: false });
const goodForward = () => layer.forward(query(), key(), value(), goodOptions());
const stateDict = (phase = 0) => Object.fromEntries(layer.expectedWeights.map(({ name, shape }) => [name, values(count(shape), phase)]));
// A full, valid state_dict with *different* values, then one bad entry: a
// loadWeights that applied entries before failing would change the reference.
const withOtherWeights = (edit) => {
  const d = stateDict(0.5);
  edit(d);
  return d;
};
const sdpa = (q, k, v, options) => mha.scaledDotProductAttention(q, k, v, options);
const q4 = (shape = [1, 2, 3, 4]) => t(shape);

beforeAll(async () => {
  mha = await init();
  layer = mha.createMultiHeadAttention({ embedDim: E, numHeads: H, kdim: KDIM, vdim: VDIM });
  layer.loadWeights(stateDict());
  reference = goodForward();
});
afterAll(() => layer.dispose());

const create = (options) => () => mha.createMultiHeadAttention(options);
const fwd = (q, k, v, options) => () => layer.forward(q, k, v, options);
const unloaded = (use) => {
  const fresh = mha.createMultiHeadAttention({ embedDim: 4, numHeads: 1 });
  try {
    return use(fresh);
  } finally {
    fresh.dispose();
  }
};

// [description, thunk, error class, regex the message must match (names the argument)]
const cases = [
  ['layer embedDim=0', create({ embedDim: 0, numHeads: 1 }), RangeError, /embedDim/],
  ['layer embedDim=1.5', create({ embedDim: 1.5, numHeads: 1 }), RangeError, /embedDim/],
  ['layer embedDim=-1', create({ embedDim: -1, numHeads: 1 }), RangeError, /embedDim/],
  ['layer embedDim=NaN', create({ embedDim: NaN, numHeads: 1 }), RangeError, /embedDim/],
  ["layer embedDim='8' (string)", create({ embedDim: '8', numHeads: 2 }), TypeError, /embedDim/],
  ['layer numHeads=0', create({ embedDim: 8, numHeads: 0 }), RangeError, /numHeads/],
  ['layer embedDim=10 not divisible by numHeads=3', create({ embedDim: 10, numHeads: 3 }), RangeError, /embedDim.*numHeads=3/],
  ['layer kdim=0', create({ embedDim: 8, numHeads: 2, kdim: 0 }), RangeError, /kdim/],
  ['layer vdim=2.5', create({ embedDim: 8, numHeads: 2, vdim: 2.5 }), RangeError, /vdim/],
  ["layer unknown option 'embed_dim'", create({ embed_dim: 8, numHeads: 2 }), TypeError, /"embed_dim"/],
  ['layer dropout=0.1', create({ embedDim: 8, numHeads: 2, dropout: 0.1 }), RangeError, /dropout/],
  ["layer bias='yes'", create({ embedDim: 8, numHeads: 2, bias: 'yes' }), TypeError, /bias/],
  ['layer without options', create(undefined), TypeError, /embedDim/],
  ['layer options not an object', create(8), TypeError, /options/],
  ['forward before loadWeights', () => unloaded((fresh) => fresh.forward(t([2, 4]), t([2, 4]), t([2, 4]))), Error, /loadWeights/],
  ["loadWeights missing 'out_proj.bias'", () => layer.loadWeights(withOtherWeights((d) => delete d['out_proj.bias'])), RangeError, /out_proj\.bias/],
  ["loadWeights unknown key 'bias_k'", () => layer.loadWeights(withOtherWeights((d) => (d.bias_k = values(E)))), RangeError, /bias_k/],
  ["loadWeights 'in_proj_bias' of wrong length", () => layer.loadWeights(withOtherWeights((d) => (d.in_proj_bias = values(5)))), RangeError, /in_proj_bias/],
  ["loadWeights 'out_proj.weight' with wrong shape", () => layer.loadWeights(withOtherWeights((d) => (d['out_proj.weight'] = { data: values(64), shape: [4, 16] }))), RangeError, /out_proj\.weight/],
  ["loadWeights 'out_proj.bias' as Float64Array", () => layer.loadWeights(withOtherWeights((d) => (d['out_proj.bias'] = new Float64Array(E)))), TypeError, /out_proj\.bias/],
  ['loadWeights with a number', () => layer.loadWeights(42), TypeError, /stateDict/],
  ['loadWeights with an Array', () => layer.loadWeights([values(3)]), TypeError, /stateDict/],
  ['query is a bare Float32Array', fwd(values(48), key(), value()), TypeError, /query/],
  ['query.data is a plain Array', fwd({ data: Array.from(values(48)), shape: [L, N, E] }, key(), value()), TypeError, /query\.data/],
  ['query.data is a Float64Array', fwd({ data: new Float64Array(48), shape: [L, N, E] }, key(), value()), TypeError, /query\.data/],
  ['query.shape with a non-integer', fwd({ data: values(48), shape: [3, 2, 8.5] }, key(), value()), RangeError, /query\.shape/],
  ['query.shape not an array', fwd({ data: values(48), shape: '3,2,8' }, key(), value()), TypeError, /query\.shape/],
  ['query data length 47 for shape [3,2,8]', fwd({ data: values(47), shape: [L, N, E] }, key(), value()), RangeError, /query/],
  ['query rank 1', fwd(t([E]), key(), value()), RangeError, /query/],
  ['query rank 4', fwd(t([1, L, N, E]), key(), value()), RangeError, /query/],
  ['query last dim 6 != embedDim 8', fwd(t([L, N, 6]), key(), value()), RangeError, /query.*embedDim/],
  ['key last dim 8 != kdim 6', fwd(query(), t([S, N, 8]), value()), RangeError, /key.*kdim/],
  ['value last dim 6 != vdim 5', fwd(query(), key(), t([S, N, 6])), RangeError, /value.*vdim/],
  ['key length 4 vs value length 5', fwd(query(), key(), t([5, N, VDIM])), RangeError, /value/],
  ['key batch 3 vs query batch 2', fwd(query(), t([S, 3, KDIM]), value()), RangeError, /key/],
  ['key rank 2 with query rank 3', fwd(query(), t([S, KDIM]), value()), RangeError, /key/],
  ['query with a zero dimension', fwd(t([0, N, E]), key(), value()), RangeError, /query/],
  ['keyPaddingMask shape [4,2] (transposed)', fwd(query(), key(), value(), { keyPaddingMask: u8([S, N], () => false) }), RangeError, /keyPaddingMask/],
  ['keyPaddingMask Int32Array data', fwd(query(), key(), value(), { keyPaddingMask: { data: new Int32Array(8), shape: [N, S] } }), TypeError, /keyPaddingMask/],
  ['attnMask shape [4,3] (transposed)', fwd(query(), key(), value(), { attnMask: u8([S, L], () => false) }), RangeError, /attnMask/],
  ['3-D attnMask first dim 2 != N*numHeads 4', fwd(query(), key(), value(), { attnMask: u8([2, L, S], () => false) }), RangeError, /attnMask/],
  ['attnMask 11 elements for shape [3,4]', fwd(query(), key(), value(), { attnMask: { data: new Uint8Array(11), shape: [L, S] } }), RangeError, /attnMask/],
  ["needWeights='true' (string)", fwd(query(), key(), value(), { needWeights: 'true' }), TypeError, /needWeights/],
  ["unknown forward option 'needweights'", fwd(query(), key(), value(), { needweights: true }), TypeError, /"needweights"/],
  ['forward options not an object', fwd(query(), key(), value(), 'causal'), TypeError, /options/],
  ['SDPA rank-3 query', () => sdpa(t([2, 3, 4]), q4(), q4()), RangeError, /query/],
  ['SDPA key head dim 5 != query 4', () => sdpa(q4(), q4([1, 2, 3, 5]), q4()), RangeError, /key/],
  ['SDPA value length 2 != key length 3', () => sdpa(q4(), q4(), q4([1, 2, 2, 4])), RangeError, /value/],
  ['SDPA mask [2,3] does not broadcast to [1,2,3,3]', () => sdpa(q4(), q4(), q4(), { attnMask: u8([2, 3], () => false) }), RangeError, /attnMask/],
  ['SDPA scale=NaN', () => sdpa(q4(), q4(), q4(), { scale: NaN }), RangeError, /scale/],
  ['SDPA scale=Infinity', () => sdpa(q4(), q4(), q4(), { scale: Infinity }), RangeError, /scale/],
  ["SDPA scale='0.5' (string)", () => sdpa(q4(), q4(), q4(), { scale: '0.5' }), TypeError, /scale/],
  ["SDPA unknown option 'causal'", () => sdpa(q4(), q4(), q4(), { causal: true }), TypeError, /"causal"/],
];

test('there are at least 25 bad-input cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(25);
});

test.each(cases)('%s', (_name, thunk, ErrorClass, pattern) => {
  expect(thunk).toThrow(ErrorClass);
  let error;
  try {
    thunk();
  } catch (e) {
    error = e;
  }
  // Exact class: toThrow(Error) alone would also accept a TypeError.
  expect(error.constructor).toBe(ErrorClass);
  expect(error.message).toMatch(pattern);
  expect(goodForward()).toEqual(reference);
});

describe('dispose', () => {
  let doomed;
  beforeAll(() => {
    doomed = mha.createMultiHeadAttention({ embedDim: E, numHeads: H, kdim: KDIM, vdim: VDIM });
    doomed.loadWeights(stateDict());
    doomed.dispose();
  });

  test.each([
    ['forward', () => doomed.forward(query(), key(), value())],
    ['loadWeights', () => doomed.loadWeights(stateDict())],
    ['expectedWeights', () => doomed.expectedWeights],
  ])('%s after dispose throws Error naming the method', (method, thunk) => {
    expect(thunk).toThrow(new RegExp(`^${method}: .*disposed`));
    expect(goodForward()).toEqual(reference);
  });

  test('a second dispose does nothing', () => {
    expect(() => doomed.dispose()).not.toThrow();
    expect(doomed.disposed).toBe(true);
    expect(goodForward()).toEqual(reference);
  });
});

test('init with an unknown option rejects, naming it', async () => {
  // A fresh copy of the entry module: the shared init() above has already
  // resolved, and later calls return that instance without reading options.
  const { init: freshInit } = await import('../../dist/node.mjs?errors-test');
  // async wrapper: whether init throws synchronously or rejects, both become a rejection here.
  await expect((async () => freshInit({ wasmUrl: 'x' }))()).rejects.toThrow(/"wasmUrl"/);
  await expect((async () => freshInit({ wasmUrl: 'x' }))()).rejects.toBeInstanceOf(TypeError);
  expect(goodForward()).toEqual(reference);
});

describe('inputs that name their argument however odd they are', () => {
  const q = { data: new Float32Array(16), shape: [1, 1, 4, 4] };
  const transferred = () => {
    const data = new Float32Array(16);
    structuredClone(data.buffer, { transfer: [data.buffer] });
    return { data, shape: [1, 1, 4, 4] };
  };
  test.each([
    ['a detached buffer', () => mha.scaledDotProductAttention(transferred(), q, q), TypeError,
      'query.data: expected a typed array with data, got one whose ArrayBuffer is detached (transferred or freed)'],
    ['a BigInt dimension', () => mha.scaledDotProductAttention({ data: q.data, shape: [1, 1, 4n, 4] }, q, q), RangeError,
      'query.shape: expected non-negative integer dimensions, got [1, 1, 4n (a BigInt), 4]'],
    ['a DataView', () => mha.scaledDotProductAttention({ data: new DataView(new ArrayBuffer(64)), shape: [1, 1, 4, 4] }, q, q), TypeError,
      'query.data: expected a Float32Array, got a DataView of 64 bytes'],
    ['an empty (not detached) array', () => mha.scaledDotProductAttention({ data: new Float32Array(0), shape: [1, 1, 4, 4] }, q, q), RangeError,
      'scaledDotProductAttention: query: expected 16 elements for shape [1, 1, 4, 4], got 0'],
    ['an empty dimension (rejected, as documented)', () => mha.scaledDotProductAttention({ data: new Float32Array(0), shape: [1, 1, 0, 4] }, q, q), RangeError,
      'scaledDotProductAttention: query: expected every dimension >= 1, got 0 at dimension 2 of shape [1, 1, 0, 4]'],
    ['a mask whose L·S passes 2^32 with no data', () => mha.scaledDotProductAttention(q, q, q, { attnMask: { data: new Uint8Array(0), shape: [1, 1, 65536, 65536] } }), RangeError,
      /^scaledDotProductAttention: attnMask: expected a shape that broadcasts to \[1, 1, 4, 4\]/],
  ])('%s', (_, call, ErrorClass, message) => {
    expect(call).toThrow(ErrorClass);
    expect(call).toThrow(message);
    expect(goodForward()).toEqual(reference);
  });

  test('a layer mask of 2^32 elements given as an empty array is rejected by its length, not read', () => {
    const tiny = mha.createMultiHeadAttention({ embedDim: 1, numHeads: 1 });
    tiny.loadWeights({ in_proj_weight: new Float32Array(3), in_proj_bias: new Float32Array(3), 'out_proj.weight': new Float32Array(1), 'out_proj.bias': new Float32Array(1) });
    const x = { data: new Float32Array(65536), shape: [65536, 1, 1] };
    expect(() => tiny.forward(x, x, x, { attnMask: { data: new Float32Array(0), shape: [65536, 65536] }, needWeights: false })).toThrow(
      new RangeError('forward: attnMask: expected 4294967296 elements for shape [65536, 65536], got 0'),
    );
    tiny.dispose();
    expect(goodForward()).toEqual(reference);
  });
});
