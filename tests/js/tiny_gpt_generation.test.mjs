// Generation with the demo's model (web/demo/model/tiny_gpt.mjs): the prompt
// once, then one decoding step per token through each layer's KV cache.
//   1. Greedy decoding gives PyTorch's tokens, all 64 of each of 4 prompts
//      (tests/fixtures/tiny_generation.json, written by
//      `/usr/bin/python3 scripts/train_model.py --generation-fixtures-only`:
//      float64, a full forward pass per step, no cache).
//   2. At every step, the cached step's logits and attention rows equal a
//      full forward pass over the same tokens, within a stated tolerance
//      (MEASURE=1 prints the worst differences).
//   3. Sampling with a seed repeats itself.
import { init } from '../../dist/node.mjs';
import { generate, argmax } from '../../web/demo/model/tiny_gpt.mjs';
import { loadFixtures } from './fixtures.mjs';
import { openShippedTinyGpt } from './shipped_tiny_gpt.mjs';

// Cached step vs full pass: the same float32 arithmetic in another order (the
// cache attends over stored keys one query row at a time; the full pass runs
// T × T). Measured worst over the 4 × 65 steps below: 6e-6 on logits of
// magnitude up to ~20, 7e-7 on attention weights. The tolerances leave 15–30×
// room while staying far below the smallest gap between the two best logits
// in the fixture (4e-3), which is what greedy decoding depends on.
const STEP_LOGITS_ATOL = 1e-4;
const STEP_WEIGHTS_ATOL = 2e-5;

const fixture = loadFixtures('tiny_generation');
let model;

beforeAll(async () => {
  const mha = await init();
  model = openShippedTinyGpt(mha);
});

afterAll(() => model?.dispose());

const maxAbsDiff = (a, b) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

test('the fixture: 4 prompts × 64 greedy tokens from PyTorch, margins recorded', () => {
  expect(fixture.cases).toHaveLength(4);
  expect(fixture.new_tokens).toBe(64);
  for (const c of fixture.cases) {
    expect(c.generated_ids).toHaveLength(64);
    expect(model.tokenize(c.prompt).ids).toEqual(c.prompt_ids); // the same tokenizer as the training script
  }
  // Greedy equality is meaningful only if no step is a near-tie.
  expect(fixture.smallest_top2_margin).toBeGreaterThan(20 * STEP_LOGITS_ATOL);
});

describe.each(fixture.cases.map((c) => [c.prompt.slice(0, 48), c]))('%s', (_, c) => {
  test('greedy generation equals PyTorch token for token (64 tokens, one cached step each)', () => {
    const ids = generate(model, c.prompt_ids, { maxNewTokens: 64, strategy: 'greedy' });
    expect(ids.map((id) => model.vocabulary[id]).join(' ')).toBe(c.generated_tokens.join(' '));
    expect(ids).toEqual(c.generated_ids);
  });

  test(`every step's logits equal a full forward pass within ${STEP_LOGITS_ATOL}, and every attention row within ${STEP_WEIGHTS_ATOL}`, () => {
    const { nLayers, nHeads, vocabSize: V } = model.config;
    const all = [...c.prompt_ids, ...c.generated_ids];
    // A causal forward pass over the whole text gives, at row t, the logits of the text up to t:
    // the reference for every step at once. (Checked below against passes over shorter prefixes.)
    const full = model.run(all);
    const N = all.length;
    const decoder = model.createDecoder();
    let worstLogits = 0;
    let worstWeights = 0;
    try {
      let { logits } = decoder.append(c.prompt_ids);
      // Steps 0..64: after the prompt, then after each generated token.
      for (let step = 0; step <= c.generated_ids.length; step++) {
        const t = c.prompt_ids.length + step - 1; // the position whose logits this step gives
        const reference = full.logits.subarray(t * V, (t + 1) * V);
        worstLogits = Math.max(worstLogits, maxAbsDiff(logits, reference));
        expect(argmax(logits)).toBe(argmax(reference));
        if (step < c.generated_ids.length) logits = decoder.append([c.generated_ids[step]]).logits;
      }
      for (let l = 0; l < nLayers; l++) {
        for (let h = 0; h < nHeads; h++) {
          for (let q = 0; q < N; q++) {
            worstWeights = Math.max(worstWeights, maxAbsDiff(decoder.attentionRow(l, h, q), full.attention[l][h].subarray(q * N, q * N + q + 1)));
          }
        }
      }
      expect(decoder.length).toBe(N);
      // The long pass's rows are the shorter passes' last rows.
      for (const T of [c.prompt_ids.length, c.prompt_ids.length + 17, N - 1]) {
        const prefix = model.run(all.slice(0, T), { needWeights: false });
        worstLogits = Math.max(worstLogits, maxAbsDiff(prefix.logits.subarray((T - 1) * V), full.logits.subarray((T - 1) * V, T * V)));
      }
    } finally {
      decoder.dispose();
    }
    if (process.env.MEASURE) console.log(`worst |Δ logit| ${worstLogits.toExponential(2)}, worst |Δ weight| ${worstWeights.toExponential(2)}`);
    expect(worstLogits).toBeLessThanOrEqual(STEP_LOGITS_ATOL);
    expect(worstWeights).toBeLessThanOrEqual(STEP_WEIGHTS_ATOL);
  });
});

describe('sampling with a seed', () => {
  const prompt = () => model.tokenize('once upon a time there was a little fox named max .').ids;

  test.each([
    ['temperature', { strategy: 'temperature', temperature: 1.2 }],
    ['top-k', { strategy: 'top-k', temperature: 1, topK: 5 }],
    ['top-p', { strategy: 'top-p', temperature: 0.9, topP: 0.8 }],
  ])('%s: the same seed gives the same 48 tokens; another seed another text', (_, options) => {
    const a = generate(model, prompt(), { ...options, maxNewTokens: 48, seed: 7 });
    const b = generate(model, prompt(), { ...options, maxNewTokens: 48, seed: 7 });
    const other = generate(model, prompt(), { ...options, maxNewTokens: 48, seed: 8 });
    expect(a).toHaveLength(48);
    expect(b).toEqual(a);
    expect(other).not.toEqual(a);
  });

  test('top-k 1 and a tiny top-p are greedy', () => {
    const greedy = generate(model, prompt(), { strategy: 'greedy', maxNewTokens: 32 });
    expect(generate(model, prompt(), { strategy: 'top-k', topK: 1, maxNewTokens: 32, seed: 3 })).toEqual(greedy);
    expect(generate(model, prompt(), { strategy: 'top-p', topP: 1e-6, maxNewTokens: 32, seed: 3 })).toEqual(greedy);
  });

  test('a generation stops at the context: prompt + new tokens never exceed it', () => {
    const { context } = model.config;
    const ids = Array(context - 5).fill(model.tokenize('the').ids[1]);
    ids[0] = 0;
    expect(generate(model, ids, { maxNewTokens: 64 })).toHaveLength(5);
    const decoder = model.createDecoder({ maxLength: 8 });
    decoder.append([0, 5, 6]);
    expect(() => decoder.append([1, 2, 3, 4, 5, 6])).toThrow('append: the decoder holds 3 of 8 tokens; 6 more do not fit');
    decoder.dispose();
    expect(() => decoder.append([1])).toThrow('append: this decoder was disposed');
  });
});
