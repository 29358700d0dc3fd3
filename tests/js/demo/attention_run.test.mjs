// attention_run: one interface over a fixed forward pass and a growing
// decoder, so the views can read rows and grow with the text.
import { runFromDecoder, runFromForward } from '../../../web/demo/attention_run.js';
import { fakeRun } from './fake_run.mjs';

const T = 6;
const fake = fakeRun({ T, nLayers: 2, nHeads: 3, dModel: 12 });

test('a fixed causal run: rows hold keys 0..q, matrices are the forward pass, the average is the mean over heads', () => {
  const run = runFromForward(fake);
  expect(run.length).toBe(T);
  expect([run.nLayers, run.nHeads, run.capacity, run.growing, run.causal]).toEqual([2, 3, T, false, true]);
  expect(run.row(1, 2, 3)).toEqual(fake.attention[1][2].subarray(3 * T, 3 * T + 4));
  expect(run.matrix(1, 2)).toEqual(fake.attention[1][2]);
  expect(run.attention).toEqual(fake.attention);
  const mean = run.averageRow(0, 4);
  for (let k = 0; k <= 4; k++) expect(mean[k]).toBeCloseTo((fake.attention[0][0][4 * T + k] + fake.attention[0][1][4 * T + k] + fake.attention[0][2][4 * T + k]) / 3, 6);
  expect(run.averageMatrix(0).subarray(4 * T, 4 * T + 5)).toEqual(mean);
  expect(run.weightAt(1, 0, 2, 1)).toBe(fake.attention[1][0][2 * T + 1]);
  expect(run.weightAt(1, 0, 2, 5)).toBe(0); // masked
  expect(run.weightAt(0, null, 4, 2)).toBe(mean[2]);
  expect(Number.isNaN(run.weightAt(1, 0, T, 0))).toBe(true);
});

test('a fixed run without the causal mask has full rows', () => {
  const open = fakeRun({ T, nLayers: 1, nHeads: 1, dModel: 4, causal: false });
  const run = runFromForward(open, { causal: false });
  expect(run.row(0, 0, 1)).toHaveLength(T);
});

test('a decoder run grows with its decoder and its cached matrices follow', () => {
  // A stand-in decoder: row q of head h is one-hot on key (q + h) mod (q + 1).
  const ids = [0, 1, 2];
  const decoder = {
    maxLength: 16,
    get length() {
      return ids.length;
    },
    get ids() {
      return ids.slice();
    },
    get tokens() {
      return ids.map((i) => `t${i}`);
    },
    attentionRow: (l, h, q) => Float32Array.from({ length: q + 1 }, (_, k) => (k === (q + h) % (q + 1) ? 1 : 0)),
    mechanism: (l, h) => ({ layer: l, head: h }),
  };
  const vocabulary = [...Array(10)].map((_, i) => `t${i}`);
  const run = runFromDecoder(decoder, { vocabulary, nLayers: 1, nHeads: 2, promptLength: 3 });
  expect([run.length, run.capacity, run.growing, run.promptLength]).toEqual([3, 16, true, 3]);
  const before = run.matrix(0, 1);
  // Head 1: row q is one-hot on key (q + 1) mod (q + 1) = 0.
  expect(Array.from(before)).toEqual([1, 0, 0, 1, 0, 0, 1, 0, 0]);
  ids.push(7, 8);
  expect(run.grow()).toBe(5);
  expect(run.tokens).toEqual(['t0', 't1', 't2', 't7', 't8']);
  expect(run.matrix(0, 1)).toHaveLength(25); // not the cached 3 × 3 any more
  expect(run.row(0, 1, 4)).toEqual(decoder.attentionRow(0, 1, 4));
  expect(run.mechanism(0, 1)).toEqual({ layer: 0, head: 1 });
});
