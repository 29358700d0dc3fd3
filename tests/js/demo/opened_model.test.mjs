// web/demo/opened_model.js in Node: a Hugging Face checkpoint (the fixtures of
// scripts/make_model_fixtures.py) behind the page's model interface. The
// page's decoder writes PyTorch's greedy tokens, its cached attention rows equal
// one full forward pass, and the step view's Q, K, V (recomputed from the
// files' projection weights, with RoPE, GQA and windows) reproduce the model's
// own weights. Also: how tokens are shown, which picked files count, and the
// grid's thumbnails for 12 heads.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { init } from '../../../dist/node.mjs';
import { loadModel } from '../../../dist/models/index.mjs';
import { openFiles } from '../../../dist/models/files.mjs';
import { openCheckpoint } from '../../../dist/models/checkpoint.mjs';
import { readGpt2Config } from '../../../dist/models/gpt2.mjs';
import { readLlamaConfig } from '../../../dist/models/llama.mjs';
import { transpose } from '../../../dist/models/blocks.mjs';
import { applyRope, displayToken, openModel, topLevelFiles, visibleWhitespace, PAGE_CONTEXT } from '../../../web/demo/opened_model.js';
import { GRID_LAYOUT, gridGeometry } from '../../../web/demo/head_grid.js';

const lib = { loadModel, openFiles, openCheckpoint, readGpt2Config, readLlamaConfig, transpose };
const MODELS = fileURLToPath(new URL('../../fixtures/models/', import.meta.url));
const folderFiles = (name) => Object.fromEntries(readdirSync(join(MODELS, name)).filter((f) => f !== 'expected.json').map((f) => [f, readFileSync(join(MODELS, name, f))]));
const expectedOf = (name) => JSON.parse(readFileSync(join(MODELS, name, 'expected.json'), 'utf8'));
const argmax = (values) => values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

let mha;
beforeAll(async () => {
  mha = await init();
});

describe('how a token is shown', () => {
  test('byte-level tokens (GPT-2, Qwen2, Llama 3) are decoded as UTF-8, a partial character as its bytes', () => {
    expect(displayToken('Ġthe', { byteLevel: true })).toBe('␣the');
    expect(displayToken('Ċ', { byteLevel: true })).toBe('↵');
    expect(displayToken('cafÃ©', { byteLevel: true })).toBe('café');
    expect(displayToken('Ã', { byteLevel: true })).toBe('<0xC3>');
  });

  test('SentencePiece tokens show ▁ as a space; special tokens stay as they are', () => {
    expect(displayToken('▁upon')).toBe('␣upon');
    expect(displayToken('<0x4F>')).toBe('<0x4F>');
    expect(displayToken('<|endoftext|>', { byteLevel: true, special: true })).toBe('<|endoftext|>');
    expect(visibleWhitespace('a b\tc\n')).toBe('a␣b⇥c↵');
  });
});

test('a picked folder counts its top-level files only and is named after the folder', () => {
  const file = (webkitRelativePath) => ({ name: webkitRelativePath.split('/').pop(), webkitRelativePath });
  const picked = [file('gpt2/config.json'), file('gpt2/onnx/decoder_model.onnx'), file('gpt2/model.safetensors')];
  const { files, folder } = topLevelFiles(picked);
  expect(files.map((f) => f.name)).toEqual(['config.json', 'model.safetensors']);
  expect(folder).toBe('gpt2');
  expect(topLevelFiles([{ name: 'config.json', webkitRelativePath: '' }]).folder).toBeNull();
});

test('applyRope rotates pairs (i, i + D/2) by position × frequency (rotate_half)', () => {
  const x = Float32Array.from([1, 0, 0, 1, 2, 0, 0, 1]); // T = 2, D = 4
  applyRope(x, 2, 4, [Math.PI / 2, 0]);
  // position 0: unchanged; position 1: the first pair turns by 90°, the second not at all.
  expect(Array.from(x.subarray(0, 4))).toEqual([1, 0, 0, 1]);
  expect(Array.from(x.subarray(4), (v) => Math.round(v * 1e6) / 1e6)).toEqual([0, 0, 2, 1]);
});

describe.each(['llama', 'gpt2', 'qwen2', 'mistral', 'llama3'])('%s opened as the page opens it', (name) => {
  let model;
  let decoder;
  const expected = expectedOf(name);
  const STEPS = 24;

  beforeAll(async () => {
    model = await openModel(mha, lib, folderFiles(name), { name });
    decoder = model.createDecoder();
    let { logits } = decoder.append(model.tokenize(expected.prompt.text).ids);
    for (let i = 0; i < STEPS; i++) logits = decoder.append([argmax(logits)]).logits;
  });
  afterAll(() => {
    decoder?.dispose();
    model?.dispose();
  });

  test('the config, the tokens of the prompt and PyTorch\'s greedy continuation', () => {
    expect(model.architecture).toBe(expected.architecture);
    expect(model.config).toMatchObject({ nLayers: expected.resolved.num_layers, nHeads: expected.resolved.num_heads, kvHeads: expected.resolved.num_kv_heads });
    expect(model.config.context).toBe(Math.min(PAGE_CONTEXT, expected.resolved.max_positions));
    expect(decoder.ids.slice(0, expected.prompt.ids.length)).toEqual(expected.prompt.ids);
    expect(decoder.ids.slice(expected.prompt.ids.length)).toEqual(expected.greedy.ids.slice(0, STEPS));
    expect(decoder.tokens).toHaveLength(decoder.length);
  });

  test('the cached attention rows equal one full forward pass', () => {
    const ids = decoder.ids;
    const T = ids.length;
    const full = model.library.forward(ids, { needWeights: true });
    let worst = 0;
    for (let l = 0; l < model.config.nLayers; l++) {
      for (let h = 0; h < model.config.nHeads; h++) {
        for (let q = 0; q < T; q += 5) worst = Math.max(worst, maxDiff(decoder.attentionRow(l, h, q), full.attentions[l].data.subarray((h * T + q) * T, (h * T + q) * T + q + 1)));
      }
    }
    expect(worst).toBeLessThan(1e-5);
  });

  test('the step view\'s recomputed softmax(Q·Kᵀ/√d) reproduces the model\'s weights, every head, all rows and the newest', async () => {
    const T = decoder.length;
    expect(model.mechanismReady(0)).toBe(false);
    expect(() => decoder.mechanism(0, 0)).toThrow('prepareMechanism(0)');
    for (let l = 0; l < model.config.nLayers; l++) {
      await model.prepareMechanism(l);
      for (let h = 0; h < model.config.nHeads; h++) {
        const all = decoder.mechanism(l, h);
        expect(all.mismatch).toBeLessThan(1e-5);
        expect(all.weights.label).toMatch(/^model's; recomputed within/);
        const { headDim: D, nHeads: H, dModel: E } = model.config;
        expect([all.q.shape, all.k.shape, all.scores.shape, all.headOutput.shape, all.concat.shape, all.output.shape]).toEqual([[T, D], [T, D], [T, T], [T, D], [T, H * D], [T, E]]);
        const newest = decoder.mechanism(l, h, { query: T - 1 });
        expect(newest.query).toBe(T - 1);
        expect(newest.mismatch).toBeLessThan(1e-5);
        expect(maxDiff(newest.q.data, all.q.data.subarray((T - 1) * D))).toBe(0);
        expect(maxDiff(newest.concat.data, all.concat.data.subarray((T - 1) * H * D))).toBeLessThan(1e-6);
        expect(maxDiff(newest.scores.data, all.scores.data.subarray((T - 1) * T)) || 0).toBe(0);
      }
    }
  });

  test('the step view\'s X and output are the attention layer\'s own: output = concat · W_Oᵀ (+ b) with the files\' weights', async () => {
    const T = decoder.length;
    const { nLayers, nHeads: H, headDim: D, dModel: E } = model.config;
    const checkpoint = await openCheckpoint(openFiles(folderFiles(name)));
    for (let l = 0; l < nLayers; l++) {
      await model.prepareMechanism(l);
      const { concat, output } = decoder.mechanism(l, 0);
      const gpt2 = model.architecture === 'gpt2';
      const prefix = gpt2 ? `h.${l}.attn.c_proj.` : `model.layers.${l}.self_attn.o_proj.`;
      const w = await checkpoint.tensor(`${prefix}weight`); // GPT-2: (in, out); Llama family: (out, in)
      const b = checkpoint.has(`${prefix}bias`) ? await checkpoint.tensor(`${prefix}bias`) : null;
      let worst = 0;
      for (let t = 0; t < T; t++) {
        for (let o = 0; o < E; o++) {
          let sum = b ? b[o] : 0;
          for (let i = 0; i < H * D; i++) sum += concat.data[t * H * D + i] * (gpt2 ? w[i * E + o] : w[o * H * D + i]);
          worst = Math.max(worst, Math.abs(sum - output.data[t * E + o]));
        }
      }
      expect(worst).toBeLessThan(1e-5);
    }
  });

  test('role probes: a random sequence of ordinary tokens said twice, after BOS where the tokenizer adds one', () => {
    const { list, bare } = model.roleProbes();
    expect(bare).toEqual([]);
    expect(list).toHaveLength(8);
    const bos = model.tokenize('').ids;
    for (const probe of list) {
      const n = probe.pairs.length;
      expect(probe.ids).toHaveLength(bos.length + 2 * n);
      expect(probe.ids.slice(0, bos.length)).toEqual(bos);
      expect(probe.ids.slice(bos.length, bos.length + n)).toEqual(probe.ids.slice(bos.length + n));
      expect(probe.ids.slice(bos.length).every((id) => id < model.config.vocabSize && !model.specialTokens.includes(model.vocabulary[id]))).toBe(true);
    }
    const run = model.run(list[0].ids);
    expect(run.attention).toHaveLength(model.config.nLayers);
    expect(run.attention[0]).toHaveLength(model.config.nHeads);
    expect(run.logits).toHaveLength(model.config.vocabSize);
  });
});

test('a folder without tokenizer.json is refused with the reason, and the loaded model is freed', async () => {
  const files = folderFiles('llama');
  delete files['tokenizer.json'];
  delete files['tokenizer_config.json'];
  const before = mha.memory().usedBytes;
  await expect(openModel(mha, lib, files)).rejects.toThrow('this folder has no tokenizer.json');
  expect(mha.memory().usedBytes).toBe(before);
  await expect(openModel(mha, lib, { 'model.safetensors': files['model.safetensors'] })).rejects.toThrow('config.json is missing (files given: model.safetensors)');
});

test('the grid shrinks its thumbnails for 12 heads a layer, and keeps them for 4', () => {
  const twelve = gridGeometry(12, 12, 100);
  expect(twelve.width).toBeLessThanOrEqual(GRID_LAYOUT.MAX_WIDTH_PX);
  expect(twelve.thumbSize).toBeGreaterThanOrEqual(GRID_LAYOUT.MIN_THUMB_PX);
  expect(twelve.columnLabels[10].text).toBe('head 10');
  // 41 tokens: 41-pixel thumbnails (a whole number of pixels per token), too narrow for "head 10".
  const narrow = gridGeometry(12, 12, 41);
  expect(narrow.thumbSize).toBe(41);
  expect(narrow.columnLabels[10].text).toBe('h10');
  const four = gridGeometry(2, 4, 100);
  expect(four.thumbSize).toBe(GRID_LAYOUT.THUMB_PX);
  expect(four.columnLabels[3].text).toBe('head 3');
});
