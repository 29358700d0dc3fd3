// Measures the WebAssembly SIMD arithmetic peak with bench/simd_peak.wat
// (compiled into bench/.cache/simd_peak.wasm): 56 FLOPs per loop iteration.
import { median } from './stats.mjs';

export const FLOPS_PER_ITERATION = 7 * 2 * 4; // 7 x (mul + add) x 4 lanes

// `kernel` from simdPeakKernel: measuring it also moves that instance's code to
// the optimizing tier before the caller interleaves it with other rows.
export async function measureSimdPeak(kernel, { samples = 7, targetMs = 50 } = {}) {
  const peak = kernel.run;
  // The first calls run in V8's baseline tier (Liftoff) until the optimizing
  // compiler (TurboFan, on a background thread) has finished; calibrate for at
  // least 400 ms so the samples see the optimized code even on a busy machine.
  let iterations = 100000;
  const warmUpStart = performance.now();
  for (let i = 0; i < 6 || performance.now() - warmUpStart < 400; i++) {
    const t = performance.now();
    peak(iterations);
    const ms = performance.now() - t;
    iterations = Math.max(1000, Math.min(2 ** 30, Math.round((iterations * targetMs) / Math.max(ms, 0.01))));
  }
  const gflops = [];
  let checksum = 0;
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    checksum += peak(iterations);
    const ms = performance.now() - t;
    gflops.push((iterations * FLOPS_PER_ITERATION) / ms / 1e6);
  }
  return { gflops: median(gflops), minGflops: Math.min(...gflops), maxGflops: Math.max(...gflops), samples, iterations, checksum };
}

/**
 * The peak kernel as a callable, for sections that interleave it with their
 * rows (bench/linear.mjs): run(iterations) does iterations x FLOPS_PER_ITERATION FLOPs.
 */
export async function simdPeakKernel(bytes) {
  const { instance } = await WebAssembly.instantiate(bytes);
  return { run: instance.exports.peak, flopsPerIteration: FLOPS_PER_ITERATION };
}
