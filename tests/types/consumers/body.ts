// The documented usage, type-checked from consumer projects (node16 ESM,
// node16 CommonJS, bundler) against the installed tarball, with the current
// TypeScript and with 5.x. Only ES2022 is in `lib`: no DOM, no @types/node.
import type { InitOptions, MhaModule, ResultTensor, Tensor } from 'mha-wasm';

export function use(mha: MhaModule): number {
  const x: Tensor = { data: new Float32Array(32), shape: [4, 8] };
  const layer = mha.createMultiHeadAttention({ embedDim: 8, numHeads: 2 });
  // forward returns weights unless needWeights is false (PyTorch's default).
  const result = layer.forward(x, x, x);
  const rows: number = result.weights.shape[0];
  const none: null = layer.forward(x, x, x, { needWeights: false }).weights;
  // scaledDotProductAttention returns them only when asked.
  const plain: null = mha.scaledDotProductAttention(x, x, x).weights;
  const asked: ResultTensor = mha.scaledDotProductAttention(x, x, x, { needWeights: true }).weights;
  const flag = rows > 1;
  // @ts-expect-error weights may be null when needWeights is known only at run time
  void mha.scaledDotProductAttention(x, x, x, { needWeights: flag }).weights.shape;
  const buffer: ArrayBuffer = result.output.data.buffer;
  // @ts-expect-error unknown option
  layer.forward(x, x, x, { needweights: true });
  layer.dispose();
  void [none, plain];
  return rows + asked.shape.length + buffer.byteLength;
}

// URLs are strings or anything with a string href (a URL, where the lib has one).
export const options: InitOptions = {
  wasmURL: { href: 'https://example.com/assets/mha-mt.wasm' },
  workerURL: '/assets/mha-mt.worker.mjs',
  locateFile: (file) => `/assets/${file}`,
  threads: 2,
};
