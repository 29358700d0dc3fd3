// The demo's model (web/demo/model/tiny_gpt.mjs: mha-wasm attention layers,
// mha-wasm Linear layers for the MLP and the LM head, JavaScript embeddings,
// LayerNorm and GELU) against PyTorch's float64 forward of the same weights
// (tests/fixtures/tiny_model.json, written by scripts/train_model.py).
// Generation (the KV-cache path) is tests/js/tiny_gpt_generation.test.mjs.
import { init } from '../../dist/node.mjs';
import { loadFixtures } from './fixtures.mjs';
import { openShippedTinyGpt } from './shipped_tiny_gpt.mjs';

// Float32 through 2-3 residual blocks: rounding grows with depth and with the
// logits' magnitude (|logit| up to ~20). 2e-4 absolute + 2e-4 relative leaves
// room for that while still catching any real deviation (a wrong LayerNorm
// eps or GELU variant moves logits by > 1e-3).
const LOGITS_ATOL = 2e-4;
const LOGITS_RTOL = 2e-4;
// Attention probabilities are in [0, 1] and come straight from the library.
const WEIGHTS_ATOL = 2e-5;

const fixture = loadFixtures('tiny_model');
let model;

beforeAll(async () => {
  const mha = await init();
  model = openShippedTinyGpt(mha);
});

afterAll(() => model?.dispose());

function worstExcess(got, want, atol, rtol) {
  let worst = -Infinity;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i])));
  return worst;
}

describe.each(fixture.cases.map((c) => [c.text.slice(0, 40), c]))('%s', (_, c) => {
  test('tokenize gives the same tokens and ids as the training script', () => {
    const { tokens, ids } = model.tokenize(c.text);
    expect(tokens).toEqual(c.tokens);
    expect(ids).toEqual(c.ids);
  });

  test(`logits match PyTorch within ${LOGITS_ATOL} + ${LOGITS_RTOL}·|x| and attention within ${WEIGHTS_ATOL}`, () => {
    const run = model.run(c.ids);
    const flatLogits = Array.isArray(c.logits[0]) ? c.logits.flat() : c.logits;
    expect(run.logits).toHaveLength(flatLogits.length);
    expect(worstExcess(run.logits, flatLogits, LOGITS_ATOL, LOGITS_RTOL)).toBeLessThanOrEqual(0);
    c.attention.forEach((layer, l) =>
      layer.forEach((head, h) => {
        const flat = Array.isArray(head[0]) ? head.flat() : head;
        expect(worstExcess(run.attention[l][h], flat, WEIGHTS_ATOL, 0)).toBeLessThanOrEqual(0);
      }),
    );
  });

  test('the prompt through the decoder (one cached call) gives the same logits and weights', () => {
    const run = model.run(c.ids);
    const decoder = model.createDecoder();
    try {
      const { logits } = decoder.append(c.ids);
      const T = c.ids.length;
      const V = model.config.vocabSize;
      expect(worstExcess(logits, run.logits.subarray((T - 1) * V), 1e-4, 0)).toBeLessThanOrEqual(0);
      decoder.attention().forEach((layer, l) => layer.forEach((w, h) => expect(worstExcess(w, run.attention[l][h], WEIGHTS_ATOL, 0)).toBeLessThanOrEqual(0)));
    } finally {
      decoder.dispose();
    }
  });

  test("the step-by-step view (mechanism): each head's output is its weights · V, placed in concat at the head's columns", () => {
    const run = model.run(c.ids);
    const m = run.mechanism(1, 1);
    const T = c.ids.length;
    const { dModel: E, nHeads: H } = model.config;
    expect(m.q.shape).toEqual([T, E / H]);
    expect(m.concat.shape).toEqual([T, E]);
    // Row sums of the weights are 1, and the head's output is its weights times V.
    const D = E / H;
    let worst = 0;
    for (let i = 0; i < T; i++) {
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let j = 0; j < T; j++) s += m.weights.data[i * T + j] * m.v.data[j * D + d];
        worst = Math.max(worst, Math.abs(s - m.headOutput.data[i * D + d]));
      }
    }
    expect(worst).toBeLessThan(1e-4);
    expect(m.concat.data.subarray(1 * D, 2 * D)).toEqual(m.headOutput.data.subarray(0, D));
  });
});

test('the step view for one query (mechanism with { query }) is the full one cut to that row', async () => {
  const { mechanismForQuery } = await import('../../web/demo/mechanism_view.js');
  const ids = fixture.cases[3].ids;
  const decoder = model.createDecoder();
  try {
    decoder.append(ids);
    const q = ids.length - 1;
    const one = decoder.mechanism(1, 2, { query: q });
    const cut = mechanismForQuery(decoder.mechanism(1, 2), q, model.vocabulary[ids[q]]);
    for (const key of ['input', 'q', 'k', 'v', 'scores', 'weights', 'headOutput', 'concat', 'output']) {
      expect([key, one[key].shape]).toEqual([key, cut[key].shape]);
      expect([key, Array.from(one[key].data)]).toEqual([key, Array.from(cut[key].data)]);
    }
    expect(one.query).toBe(q);
  } finally {
    decoder.dispose();
  }
});

test('every linear layer runs on the library: the model creates 2 attention layers and 5 Linear layers', async () => {
  const mha = await init();
  const made = { attention: 0, linear: 0 };
  const counting = {
    ...mha,
    createMultiHeadAttention: (o) => (made.attention++, mha.createMultiHeadAttention(o)),
    createLinear: (o) => (made.linear++, mha.createLinear(o)),
  };
  const m = openShippedTinyGpt(counting);
  // mlp_fc and mlp_proj per layer, and the tied LM head.
  expect(made).toEqual({ attention: 2, linear: 5 });
  m.dispose();
});
