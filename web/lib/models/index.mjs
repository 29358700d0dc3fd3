// mha-wasm/models: open a Hugging Face checkpoint folder and run it with
// mha-wasm's layers (gpt2; llama, mistral, qwen2).
//
//   const model = await loadModel(mha, files, { onProgress });
//   model.forward(ids, { cache, needWeights })  -> { logits [L, vocab], attentions[layer] [H, L, S] }
//   for await (const { id, text } of model.generate('Once upon a time', { maxNewTokens: 64 })) ...
//   model.dispose();
//
// files: a list of browser Files, or an object from file name to bytes (Node
// also takes a folder path: see ./node.mjs).
import { openCheckpoint } from './checkpoint.mjs';
import { openFiles } from './files.mjs';
import { buildGpt2, gpt2Tensors, readGpt2Config } from './gpt2.mjs';
import { buildLlama, llamaTensors, readLlamaConfig } from './llama.mjs';
import { createSampler } from './sampling.mjs';
import { createTokenizer } from './tokenizer.mjs';

const ARCHITECTURES = {
  gpt2: { read: readGpt2Config, tensors: gpt2Tensors, build: (mha, c, ck, layout, progress) => buildGpt2(mha, c, ck, layout, progress) },
  llama: { read: (c) => readLlamaConfig(c, 'llama'), tensors: llamaTensors, build: (mha, c, ck, layout, progress) => buildLlama(mha, c, ck, progress) },
  mistral: { read: (c) => readLlamaConfig(c, 'mistral'), tensors: llamaTensors, build: (mha, c, ck, layout, progress) => buildLlama(mha, c, ck, progress) },
  qwen2: { read: (c) => readLlamaConfig(c, 'qwen2'), tensors: llamaTensors, build: (mha, c, ck, layout, progress) => buildLlama(mha, c, ck, progress) },
};
export const SUPPORTED_ARCHITECTURES = Object.freeze(Object.keys(ARCHITECTURES));

// Room for activations, per-call workspaces and staging while loading.
const WORKING_MARGIN_BYTES = 64 * 2 ** 20;
// The cache a model is sized for when checking memory.
const NOMINAL_CACHE_TOKENS = 2048;
const MiB = (bytes) => `${Math.ceil(bytes / 2 ** 20)} MiB`;

// Every expected tensor present with its shape, nothing unexpected.
function checkTensors(checkpoint, { expected, optional, ignored }) {
  const missing = [...expected.keys()].filter((name) => !checkpoint.has(name));
  if (missing.length > 0) throw new Error(`loadModel: the checkpoint lacks ${missing.length} tensor(s) the config calls for: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}`);
  for (const [name, shape] of [...expected, ...optional]) {
    const got = checkpoint.shape(name);
    if (got && (got.length !== shape.length || got.some((d, i) => d !== shape[i]))) {
      throw new Error(`loadModel: tensor '${name}' has shape [${got.join(', ')}], but config.json calls for [${shape.join(', ')}]`);
    }
  }
  const extra = checkpoint.names.filter((name) => !expected.has(name) && !optional.has(name) && !ignored(name));
  if (extra.length > 0) throw new Error(`loadModel: the checkpoint has ${extra.length} tensor(s) this ${'architecture'} does not use: ${extra.slice(0, 8).join(', ')}${extra.length > 8 ? ', ...' : ''}`);
}

function eosIds(config, tokenizer) {
  const ids = new Set([config.eos_token_id].flat().filter((id) => Number.isInteger(id)));
  const fromTokenizer = tokenizer?.idOf(tokenizer.eosToken);
  if (Number.isInteger(fromTokenizer)) ids.add(fromTokenizer);
  return ids;
}

/** A cache over every attention layer of a model; its length is the tokens seen. */
function createModelCache(layers, maxLength) {
  const caches = layers.map((layer) => layer.createCache({ batchSize: 1, maxLength }));
  return {
    layers: caches,
    get length() {
      return caches[0].length;
    },
    get maxLength() {
      return maxLength;
    },
    truncate(length) {
      caches.forEach((c) => c.truncate(length));
      return this;
    },
    reset() {
      caches.forEach((c) => c.reset());
      return this;
    },
    dispose() {
      caches.forEach((c) => c.dispose());
    },
  };
}

const readIds = (ids, vocab) => {
  const list = Array.from(ids);
  if (list.length === 0) throw new RangeError('forward: ids: expected at least one token id, got none');
  list.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`forward: ids[${i}]: expected a token id in [0, ${vocab}), got ${id}`);
  });
  return list;
};

/**
 * mha: the object init() resolves to. files: see ./files.mjs.
 * options.onProgress({ stage: 'loading', loaded, total }): layers loaded so far.
 */
export async function loadModel(mha, files, { onProgress } = {}) {
  const source = files && typeof files.bytes === 'function' && Array.isArray(files.names) ? files : openFiles(files);
  const config = await source.json('config.json');
  const architecture = config?.model_type;
  const kind = ARCHITECTURES[architecture];
  if (!kind) throw new Error(`loadModel: config.json: model_type ${JSON.stringify(architecture)} is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`);
  const c = kind.read(config);
  const checkpoint = await openCheckpoint(source);
  const layout = kind.tensors(c, checkpoint);
  checkTensors(checkpoint, layout);

  const tokenizerConfig = source.has('tokenizer_config.json') ? await source.json('tokenizer_config.json') : undefined;
  const tokenizer = source.has('tokenizer.json') ? createTokenizer(await source.json('tokenizer.json'), tokenizerConfig, c.vocab) : null;

  // Refused before anything is allocated: the float32 weights (as packed by
  // the library), a nominal cache, and a margin, against the heap's limit.
  const cacheTokens = Math.min(NOMINAL_CACHE_TOKENS, c.positions);
  const cacheBytes = 2 * c.layers * c.kvHeads * c.headDim * cacheTokens * 4;
  const needed = checkpoint.float32Bytes + cacheBytes + WORKING_MARGIN_BYTES;
  const memory = mha.memory();
  const available = memory.maxHeapBytes - memory.usedBytes;
  if (needed > available) {
    throw new RangeError(`loadModel: this model needs about ${MiB(needed)} of WebAssembly memory (${MiB(checkpoint.float32Bytes)} of float32 weights, `
      + `${MiB(cacheBytes)} for a ${cacheTokens}-token cache, ${MiB(WORKING_MARGIN_BYTES)} working margin); at most ${MiB(available)} is available `
      + `(the heap's limit is ${MiB(memory.maxHeapBytes)}, ${MiB(memory.usedBytes)} in use)`);
  }
  checkpoint.checkSizes();
  onProgress?.({ stage: 'loading', loaded: 0, total: c.layers });
  let runner;
  try {
    runner = await kind.build(mha, c, checkpoint, layout, (layer) => onProgress?.({ stage: 'loading', loaded: layer, total: c.layers }));
  } catch (error) {
    throw new Error(error.message.startsWith('loadModel:') ? error.message : `loadModel: ${error.message}`, { cause: error });
  }
  const eos = eosIds(config, tokenizer);
  const owned = new Set();
  let disposed = false;
  const alive = (method) => {
    if (disposed) throw new Error(`${method}: this model was disposed; load it again`);
  };

  const model = {
    architecture,
    config: Object.freeze({ ...config }),
    tokenizer,
    numLayers: c.layers,
    numHeads: c.heads,
    /** A cache over every layer; its memory is freed by cache.dispose() or model.dispose(). */
    createCache({ maxLength } = {}) {
      alive('createCache');
      const length = maxLength ?? Math.min(c.positions, NOMINAL_CACHE_TOKENS);
      const cache = createModelCache(runner.attentionLayers, length);
      owned.add(cache);
      const dispose = cache.dispose;
      cache.dispose = () => {
        owned.delete(cache);
        dispose();
      };
      return cache;
    },
    /**
     * ids: number[] | Int32Array (batch 1). logits: every position ([L, vocab]), or with lastOnly
     * the last one ([1, vocab]); attentions with needWeights; attentionIO (each layer's attention
     * input and output, (L, E)) with needAttentionIO.
     */
    forward(ids, { cache, needWeights = false, needAttentionIO = false, lastOnly = false } = {}) {
      alive('forward');
      const list = readIds(ids, c.vocab);
      return runner.forward(list, { cache, needWeights, needAttentionIO, lastOnly: Boolean(lastOnly) });
    },
    /**
     * Yields { id, text } per new token. prompt: text (tokenised with BOS as the
     * tokenizer's post-processor adds it) or ids. Stops at maxNewTokens or eos.
     */
    async *generate(prompt, { maxNewTokens = 64, temperature = 0, topK = 0, topP = 1, seed = 0, cache } = {}) {
      alive('generate');
      if (typeof prompt === 'string' && !tokenizer) throw new Error('generate: a text prompt needs tokenizer.json; give token ids instead');
      const ids = readIds(typeof prompt === 'string' ? tokenizer.encode(prompt) : prompt, c.vocab);
      const choose = createSampler({ temperature, topK, topP, seed });
      const own = cache === undefined;
      const kv = cache ?? model.createCache({ maxLength: Math.min(c.positions, ids.length + maxNewTokens) });
      try {
        let logits = runner.forward(ids, { cache: kv, lastOnly: true }).logits.data;
        const generated = [];
        let shown = '';
        for (let step = 0; step < maxNewTokens; step++) {
          const id = choose(logits);
          generated.push(id);
          let text = '';
          if (tokenizer) {
            // Decode everything so far and emit what is new; hold back an
            // incomplete UTF-8 sequence (U+FFFD at the end) until it completes.
            const all = tokenizer.decode(generated);
            if (!all.endsWith('\uFFFD') && all.startsWith(shown)) {
              text = all.slice(shown.length);
              shown = all;
            }
          }
          yield { id, text };
          if (eos.has(id) || step + 1 === maxNewTokens || kv.length >= kv.maxLength) break;
          alive('generate');
          logits = runner.forward([id], { cache: kv, lastOnly: true }).logits.data;
        }
      } finally {
        if (own) kv.dispose();
      }
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      owned.forEach((cache) => cache.dispose());
      runner.dispose();
    },
  };
  return model;
}

export { createSampler, filterCandidates, seededRandom } from './sampling.mjs';
