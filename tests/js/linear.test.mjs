// createLinear (web/lib/linear.mjs; src/mha/linear.hpp) against
// torch.nn.functional.linear in float64 (tests/fixtures/linear.json), its
// `out` option, and bad input.
import { init } from '../../dist/node.mjs';
import { firstMismatch, loadFixtures, tensor } from './fixtures.mjs';
import { mulberry32, randomTensor } from './reference_attention.mjs';

// float32 dot products of up to 384 terms against float64: the integer-weight
// 256 -> 384 case is the worst, at 0.46 of this bound.
const TOLERANCE = { atol: 2e-5, rtol: 1e-4 };
const { cases } = loadFixtures('linear');

let mha;
beforeAll(async () => {
  mha = await init();
});

const stateOf = (sd) => Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, tensor(v)]));

test('the fixtures cover row counts off the 4-row block and ranks 1 to 3', () => {
  const rows = (c) => c.x.data.length / c.config.inFeatures;
  for (const r of [1, 3, 5, 17]) expect(cases.some((c) => rows(c) === r)).toBe(true);
  for (const rank of [1, 2, 3]) expect(cases.some((c) => c.x.shape.length === rank)).toBe(true);
});

test.each(cases.map((c) => [c.name, c]))('%s', (_, c) => {
  const layer = mha.createLinear(c.config).loadWeights(stateOf(c.stateDict));
  const r = layer.forward(tensor(c.x));
  expect(r.output.shape).toEqual(c.expected.output.shape);
  expect(r.weights).toBeNull();
  expect(firstMismatch(r.output.data, c.expected.output.data, TOLERANCE)).toBeNull();
  const out = new Float32Array(r.output.data.length);
  expect(layer.forward(tensor(c.x), { out: { output: out } }).output.data).toBe(out);
  expect(out).toEqual(r.output.data);
  layer.dispose();
});

describe('misuse', () => {
  let layer;
  const x = randomTensor(mulberry32(1), [3, 8]);
  beforeAll(() => {
    layer = mha.createLinear({ inFeatures: 8, outFeatures: 5 });
    layer.loadWeights({ weight: randomTensor(mulberry32(2), [5, 8]).data, bias: new Float32Array(5) });
  });
  afterAll(() => layer.dispose());
  test.each([
    ['x with the wrong last dimension', () => layer.forward(randomTensor(mulberry32(1), [3, 7])), RangeError, 'forward: x: expected last dimension inFeatures=8, got 7 (shape [3, 7])'],
    ['an out array of the wrong length', () => layer.forward(x, { out: { output: new Float32Array(14) } }), RangeError, 'forward: out.output: expected a Float32Array of 15 elements (shape [3, 5]), got 14'],
    ['weights of the wrong shape', () => layer.loadWeights({ weight: { data: new Float32Array(40), shape: [8, 5] }, bias: new Float32Array(5) }), RangeError, "loadWeights: stateDict['weight']: expected shape [5, 8], got [8, 5]"],
    ['a missing bias', () => layer.loadWeights({ weight: new Float32Array(40) }), RangeError, "loadWeights: stateDict: missing 'bias' [5] (PyTorch state_dict names)"],
    ['inFeatures 0', () => mha.createLinear({ inFeatures: 0, outFeatures: 2 }), RangeError, 'inFeatures: expected a positive integer, got 0'],
    ['an unknown option', () => mha.createLinear({ inFeatures: 2, outFeatures: 2, bais: false }), TypeError, /^createLinear: unknown option "bais"/],
  ])('%s throws and the layer keeps its weights', (_, call, ErrorClass, message) => {
    const before = layer.forward(x).output.data;
    expect(call).toThrow(ErrorClass);
    expect(call).toThrow(message);
    expect(layer.forward(x).output.data).toEqual(before);
  });
  test('forward before loadWeights', () => {
    const fresh = mha.createLinear({ inFeatures: 8, outFeatures: 5 });
    expect(() => fresh.forward(x)).toThrow(new Error('forward: weights are not loaded; call loadWeights({ weight, bias }) first'));
    fresh.dispose();
  });
});
