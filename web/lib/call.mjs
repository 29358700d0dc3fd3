// The one way a call crosses into WebAssembly: plan, stage, run, copy out.
// (Heap addresses may pass 2 GiB, so every shift of one is unsigned: >>>.)
//
//   1. The call's shapes, lengths and flags go into the call record (a few
//      hundred bytes of linear memory, laid out by src/bindings/call_record.hpp
//      and described by Module.callRecordLayout()).
//   2. plan(): C++ validates the call, sizes one workspace for it (inputs
//      included) and grows memory if needed, then writes back the result
//      shapes and where each input goes. Nothing here knows a shape rule.
//   3. The inputs are copied to those addresses; views of the heap are taken
//      only now, after any growth (a growth detaches every older view).
//   4. run(): the computation; then each result is copied out of the heap,
//      into the caller's `out` array or a new one. A call may take several
//      steps (a large scaledDotProductAttention runs one head per step), each
//      with its own ranges.
import { lengthOf } from './arguments.mjs';

const ERROR_CLASSES = [Error, TypeError, RangeError, Error];
// A call whose workspace exceeded this gives it back once its results are
// copied out, so one large call does not keep its memory reserved for the
// object's lifetime (the next call reserves again).
export const RELEASE_ABOVE_BYTES = 64 * 2 ** 20;
const INPUT_KINDS = { float32: 1, boolean: 2, additive: 3 };
const ALIGNMENTS = { 'top-left': 1, 'bottom-right': 2 };

export function createCaller(Module) {
  const L = Module.callRecordLayout();
  const mailbox = new Module.CallMailbox();
  const address = mailbox.address();
  const record = address + L.record;

  function writeInputs(inputs, flags, out) {
    const u32 = Module.HEAPU32, f32 = Module.HEAPF32, f64 = Module.HEAPF64;
    for (let i = 0; i < L.inputCount; i++) {
      const t = inputs[i];
      const base = record + L.inputs + i * L.inputStride;
      if (t === undefined) {
        u32[(base + L.inputKind) >>> 2] = 0;
        continue;
      }
      u32[(base + L.inputKind) >>> 2] = INPUT_KINDS[t.kind ?? 'float32'];
      u32[(base + L.inputRank) >>> 2] = t.shape.length;
      for (let d = 0; d < t.shape.length; d++) u32[((base + L.inputDims) >>> 2) + d] = t.shape[d];
      f64[(base + L.inputLength) >>> 3] = lengthOf(t.data);
    }
    u32[(record + L.isCausal) >>> 2] = flags.isCausal ? 1 : 0;
    u32[(record + L.causalAlignment) >>> 2] = flags.causalAlignment ? ALIGNMENTS[flags.causalAlignment] : 0;
    u32[(record + L.needWeights) >>> 2] = flags.needWeights ? 1 : 0;
    u32[(record + L.averageAttnWeights) >>> 2] = flags.averageAttnWeights ? 1 : 0;
    u32[(record + L.hasScale) >>> 2] = flags.scale === undefined ? 0 : 1;
    f32[(record + L.scale) >>> 2] = flags.scale ?? 0;
    u32[(record + L.cache) >>> 2] = flags.cache ?? 0;
    f64[(record + L.outLengths) >>> 3] = out.output === undefined ? -1 : lengthOf(out.output);
    f64[((record + L.outLengths) >>> 3) + 1] = out.weights === undefined ? -1 : lengthOf(out.weights);
    const rotary = flags.rotary;
    u32[(record + L.rotary) >>> 2] = rotary ? 1 : 0;
    if (rotary) {
      u32[(record + L.rotaryDim) >>> 2] = rotary.rotaryDim;
      u32[(record + L.rotaryInterleaved) >>> 2] = rotary.interleaved ? 1 : 0;
      u32[(record + L.rotaryHasOffset) >>> 2] = rotary.positionOffset === undefined ? 0 : 1;
      f64[(record + L.rotaryBase) >>> 3] = rotary.base;
      f64[(record + L.rotaryOffset) >>> 3] = rotary.positionOffset ?? 0;
    }
    u32[(record + L.alibi) >>> 2] = flags.alibi === undefined ? 0 : flags.alibi.standard ? 1 : 2;
    u32[(record + L.window) >>> 2] = flags.window ?? 0;
    f32[(record + L.softcap) >>> 2] = flags.softcap ?? 0;
  }

  function readShape(offset) {
    const u32 = Module.HEAPU32;
    const rank = u32[(record + offset) >>> 2];
    const dims = (record + offset + L.shapeDims) >>> 2;
    return Array.from(u32.subarray(dims, dims + rank));
  }

  // Elements [first, first + count) of each input, to the addresses of this step.
  function stageInputs(inputs) {
    for (let i = 0; i < L.inputCount; i++) {
      const t = inputs[i];
      if (t === undefined) continue;
      const range = record + L.inputRanges + i * L.rangeStride;
      const count = Module.HEAPF64[(range + L.rangeCount) >>> 3];
      if (count === 0) continue;
      const first = Module.HEAPF64[(range + L.rangeFirst) >>> 3];
      const heap = Module.HEAPU32[(range + L.rangeHeap) >>> 2];
      const source = first === 0 && count === lengthOf(t.data) ? t.data : t.data.subarray(first, first + count);
      if (t.kind === 'boolean') Module.HEAPU8.set(source, heap);
      else Module.HEAPF32.set(source, heap >>> 2);
    }
  }

  function copyResult(index, target) {
    const range = record + L.outputRanges + index * L.rangeStride;
    const count = Module.HEAPF64[(range + L.rangeCount) >>> 3];
    const first = Module.HEAPF64[(range + L.rangeFirst) >>> 3];
    const heap = Module.HEAPU32[(range + L.rangeHeap) >>> 2] >>> 2;
    target.set(Module.HEAPF32.subarray(heap, heap + count), first);
  }

  /**
   * inputs: [query, key, value, attnMask, keyPaddingMask, alibiSlopes] ({ data, shape, kind? } or undefined);
   * flags: { isCausal, causalAlignment, needWeights, averageAttnWeights, scale, cache (address),
   *          rotary, alibi, window, softcap (web/lib/positional.mjs) };
   * out: { output?, weights? } (already type-checked). plan(address) -> error code;
   * stage(address, step) points the record at a later step; run(step); release() frees the workspace.
   */
  function call(context, { plan, stage, run, release }, inputs, flags, out) {
    writeInputs(inputs, flags, out);
    const code = plan(address);
    if (code !== 0) throw new ERROR_CLASSES[code](`${context}: ${mailbox.message()}`);
    const steps = Module.HEAPU32[(record + L.steps) >>> 2];
    const outputShape = readShape(L.outputShape);
    const hasWeights = Module.HEAPU32[(record + L.hasWeights) >>> 2] === 1;
    const weightsShape = hasWeights ? readShape(L.weightsShape) : null;
    const output = out.output ?? new Float32Array(outputShape.reduce((a, b) => a * b, 1));
    const weights = hasWeights ? out.weights ?? new Float32Array(weightsShape.reduce((a, b) => a * b, 1)) : null;
    for (let step = 0; step < steps; step++) {
      if (step > 0) stage(address, step);
      stageInputs(inputs);
      run(step);
      copyResult(0, output);
    }
    if (hasWeights) copyResult(1, weights);
    if (Module.HEAPF64[(record + L.workspaceBytes) >>> 3] > RELEASE_ABOVE_BYTES) release();
    return { output: { data: output, shape: outputShape }, weights: hasWeights ? { data: weights, shape: weightsShape } : null };
  }

  return { address, call };
}
