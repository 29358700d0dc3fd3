// The demo's model (web/demo/tiny_gpt.mjs: mha-wasm attention layers plus
// JavaScript embeddings, LayerNorm, MLP and LM head) against PyTorch's float64
// forward of the same weights (tests/fixtures/tiny_model.json, written by
// scripts/train_model.py).
import { readFileSync } from 'node:fs';
import { init } from '../../dist/node.mjs';
import { createTinyGpt } from '../../web/demo/tiny_gpt.mjs';
import { loadFixtures } from './fixtures.mjs';

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
  model = createTinyGpt(
    mha,
    readFileSync(new URL('../../web/demo/model/tiny_stories.safetensors', import.meta.url)),
    JSON.parse(readFileSync(new URL('../../web/demo/model/vocab.json', import.meta.url), 'utf8')),
  );
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
});
