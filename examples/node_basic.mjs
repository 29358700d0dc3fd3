// Runs one multi-head attention layer on a short sentence and prints what
// each head attends to. The weights are built by hand so the two heads do
// recognisable things: head 0 looks at the previous token, head 1 at earlier
// copies of the same word. (A trained model comes with the demo page.)
//
//   node examples/node_basic.mjs ["your sentence"]
import { init } from '../dist/node.mjs';

const words = (process.argv[2] ?? 'the cat sat on the mat').split(/\s+/).filter(Boolean).slice(0, 8);
const L = words.length;
const P = 8; // positions encoded one-hot in the first 8 features
const E = 16; // then 8 features identifying the word
const H = 2;

// x = [one-hot position | word code]; the word code is a fixed ±1 pattern.
const wordCode = (w) => [...Array(8)].map((_, i) => ((w.charCodeAt(i % w.length) * (i + 3)) % 7 > 3 ? 1 : -1));
const x = new Float32Array(L * E);
words.forEach((w, t) => {
  x[t * E + t] = 1;
  wordCode(w).forEach((v, i) => (x[t * E + P + i] = v));
});

// in_proj_weight is (3E, E): rows 0..E-1 make q, E..2E-1 make k, 2E.. make v.
const W = new Float32Array(3 * E * E);
const set = (block, out, inp, v) => (W[(block * E + out) * E + inp] = v);
for (let p = 0; p < P; p++) {
  if (p > 0) set(0, p - 1, p, 12); // head 0: query at p asks for position p-1 ...
  set(1, p, p, 1); //                  ... and each key announces its position.
}
for (let i = 0; i < 8; i++) {
  set(0, P + i, P + i, 1.5); // head 1: query and key both carry the word code,
  set(1, P + i, P + i, 1); //   so equal words score highest.
}
for (let i = 0; i < E; i++) set(2, i, i, 1); // values: the input itself
const identity = new Float32Array(E * E).map((_, i) => (i % (E + 1) === 0 ? 1 : 0));

const mha = await init();
const layer = mha.createMultiHeadAttention({ embedDim: E, numHeads: H, bias: false });
layer.loadWeights({ in_proj_weight: W, 'out_proj.weight': identity });
const input = { data: x, shape: [L, E] }; // unbatched (L, E)
const { weights } = layer.forward(input, input, input, { isCausal: true, averageAttnWeights: false });

const shades = ' .:-=+*#%@';
const width = Math.max(...words.map((w) => w.length)) + 1;
for (let h = 0; h < H; h++) {
  console.log(`\nhead ${h} (${h === 0 ? 'previous token' : 'same word'}) — rows: query, columns: key, darker = more attention`);
  console.log(' '.repeat(width) + words.map((w) => w.padEnd(width)).join(''));
  for (let q = 0; q < L; q++) {
    const row = [...Array(L)].map((_, k) => weights.data[(h * L + q) * L + k]);
    console.log(words[q].padEnd(width) + row.map((v) => shades[Math.min(9, Math.round(v * 9))].repeat(3).padEnd(width)).join(''));
  }
}
console.log(`\nmha-wasm ${mha.capabilities.version} (${mha.capabilities.simdArchitecture} → WebAssembly SIMD128)`);
layer.dispose();
