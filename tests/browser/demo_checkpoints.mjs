// Random-weight GPT-2 checkpoints in the Hugging Face layout, written for the
// demo's "Open model…" tests (a 12-layer × 12-head model to check that the
// page stays usable) and for measuring how long a GPT-2-small-shaped one
// (~500 MB of float32) takes to open in Chromium. Nothing here is committed:
// the folders go to a temporary directory.
//
// The layout is the official gpt2 file's: wte.weight, wpe.weight,
// h.N.{ln_1,attn.c_attn,attn.c_proj,ln_2,mlp.c_fc,mlp.c_proj}.{weight,bias}
// (Conv1D weights, (in, out)), ln_f, the LM head tied to wte; safetensors F32
// with names sorted and each tensor's data 8-byte aligned. The tokenizer is the
// GPT-2 fixture's (300 byte-level BPE tokens); a larger vocab_size is padding,
// which mha-wasm/models accepts.
import { closeSync, copyFileSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURE_TOKENIZER = fileURLToPath(new URL('../fixtures/models/gpt2/tokenizer.json', import.meta.url));

/** A seeded generator of uniform floats in [-scale, scale) (xorshift32). */
function uniform(seed, scale) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  };
}

/** The tensors of a GPT-2 model: [{ name, shape, fill: 'random' | 'ones' | 'zeros' }], names sorted. */
export function gpt2Tensors({ layers, hidden, inner = 4 * hidden, vocab, positions }) {
  const E = hidden;
  const list = [
    { name: 'wte.weight', shape: [vocab, E] },
    { name: 'wpe.weight', shape: [positions, E] },
    { name: 'ln_f.weight', shape: [E], fill: 'ones' },
    { name: 'ln_f.bias', shape: [E], fill: 'zeros' },
  ];
  for (let l = 0; l < layers; l++) {
    const p = `h.${l}.`;
    list.push(
      { name: `${p}ln_1.weight`, shape: [E], fill: 'ones' },
      { name: `${p}ln_1.bias`, shape: [E] },
      { name: `${p}attn.c_attn.weight`, shape: [E, 3 * E] },
      { name: `${p}attn.c_attn.bias`, shape: [3 * E] },
      { name: `${p}attn.c_proj.weight`, shape: [E, E] },
      { name: `${p}attn.c_proj.bias`, shape: [E] },
      { name: `${p}ln_2.weight`, shape: [E], fill: 'ones' },
      { name: `${p}ln_2.bias`, shape: [E] },
      { name: `${p}mlp.c_fc.weight`, shape: [E, inner] },
      { name: `${p}mlp.c_fc.bias`, shape: [inner] },
      { name: `${p}mlp.c_proj.weight`, shape: [inner, E] },
      { name: `${p}mlp.c_proj.bias`, shape: [E] },
    );
  }
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Writes `tensors` as an F32 safetensors file, one tensor at a time (a 500 MB
 * file never sits in memory whole). Random values are uniform in ±scale.
 */
export function writeSafetensors(path, tensors, { seed = 1, scale = 0.05 } = {}) {
  const header = {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = 4 * t.shape.reduce((a, b) => a * b, 1);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  header.__metadata__ = { format: 'pt' };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // data starts 8-byte aligned
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, length);
    writeSync(fd, Buffer.from(json, 'utf8'));
    const random = uniform(seed, scale);
    for (const t of tensors) {
      const data = new Float32Array(t.shape.reduce((a, b) => a * b, 1));
      if (t.fill === 'ones') data.fill(1);
      else if (t.fill !== 'zeros') for (let i = 0; i < data.length; i++) data[i] = random();
      writeSync(fd, new Uint8Array(data.buffer));
    }
  } finally {
    closeSync(fd);
  }
  return 8 + json.length + offset;
}

/**
 * A GPT-2 checkpoint folder: config.json, model.safetensors (random F32),
 * tokenizer.json (the fixture's). Returns { folder, bytes }.
 */
export function writeGpt2Checkpoint(folder, { layers, heads, hidden, inner = 4 * hidden, vocab = 300, positions = 128, seed = 1, scale = 0.05 }) {
  mkdirSync(folder, { recursive: true });
  const config = {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    activation_function: 'gelu_new',
    n_layer: layers,
    n_head: heads,
    n_embd: hidden,
    n_inner: inner,
    n_positions: positions,
    vocab_size: vocab,
    layer_norm_epsilon: 1e-5,
    bos_token_id: 299,
    // No end-of-text token, so a generation always writes the tokens asked for.
    eos_token_id: null,
    torch_dtype: 'float32',
  };
  writeFileSync(join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const bytes = writeSafetensors(join(folder, 'model.safetensors'), gpt2Tensors({ layers, hidden, inner, vocab, positions }), { seed, scale });
  copyFileSync(FIXTURE_TOKENIZER, join(folder, 'tokenizer.json'));
  return { folder, bytes };
}
