// Opens a Hugging Face checkpoint folder (gpt2, llama, mistral, qwen2) and
// continues a prompt, printing the tokens as they come and the speed.
//
//   node examples/generate.mjs <model-folder> "Once upon a time" [--tokens 64] [--temperature 0.8 --top-k 40 --seed 1]
//                              [--threads 2] [--attention LAYER,HEAD]
//
// --attention L,H prints what head H of layer L attends to over the prompt
// and the continuation, one row per token, darker = more attention.
import { init } from '../dist/node.mjs';
import { loadModel } from '../dist/models/node.mjs';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args.splice(i, 2)[1];
};
const tokens = Number(flag('tokens', 64));
const temperature = Number(flag('temperature', 0));
const topK = Number(flag('top-k', 0));
const topP = Number(flag('top-p', 1));
const seed = Number(flag('seed', 0));
const threads = Number(flag('threads', 1));
const attention = flag('attention', null);
const [folder, prompt = 'Once upon a time'] = args;
if (!folder) {
  console.error('usage: node examples/generate.mjs <model-folder> "prompt" [--tokens N] [--temperature T --top-k K --top-p P --seed S] [--threads N] [--attention L,H]');
  process.exit(2);
}

const mha = await init({ threads });
const loadStart = performance.now();
const model = await loadModel(mha, folder);
console.error(`${model.architecture}: ${model.numLayers} layers x ${model.numHeads} heads, loaded in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`);

process.stdout.write(prompt);
const ids = model.tokenizer.encode(prompt);
const cache = model.createCache({ maxLength: ids.length + tokens });
const start = performance.now();
let count = 0;
let firstTokenMs = 0;
for await (const token of model.generate(ids, { maxNewTokens: tokens, temperature, topK, topP, seed, cache })) {
  if (count === 0) firstTokenMs = performance.now() - start;
  count += 1;
  ids.push(token.id);
  process.stdout.write(token.text);
}
const seconds = (performance.now() - start - firstTokenMs) / 1000;
console.log(`\n\n${count} tokens; first after ${firstTokenMs.toFixed(0)} ms (the prompt), then ${((count - 1) / seconds).toFixed(1)} tokens/s (${threads} thread${threads > 1 ? 's' : ''})`);
cache.dispose();

if (attention) {
  const [layer, head] = attention.split(',').map(Number);
  if (!(layer >= 0 && layer < model.numLayers && head >= 0 && head < model.numHeads)) {
    console.error(`--attention: expected LAYER,HEAD with LAYER < ${model.numLayers} and HEAD < ${model.numHeads}, got ${attention}`);
    process.exit(2);
  }
  const { attentions } = model.forward(ids, { needWeights: true });
  const [, L, S] = attentions[layer].shape;
  const weights = attentions[layer].data.subarray(head * L * S, (head + 1) * L * S);
  const names = ids.map((id) => JSON.stringify(model.tokenizer.decode([id], { skipSpecialTokens: false })).slice(1, -1).slice(0, 10));
  const width = Math.max(...names.map((n) => n.length)) + 1;
  const shades = ' .:-=+*#%@';
  console.log(`\nlayer ${layer}, head ${head}: rows are queries, columns keys`);
  for (let i = 0; i < L; i++) {
    const row = Array.from(weights.subarray(i * S, i * S + S), (w) => shades[Math.min(9, Math.round(w * 9))]).join('');
    console.log(names[i].padEnd(width) + row);
  }
}
model.dispose();
