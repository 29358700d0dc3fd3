// Timing loop and summary statistics.

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(samplesMs) {
  return { medianMs: median(samplesMs), minMs: Math.min(...samplesMs), maxMs: Math.max(...samplesMs), samples: samplesMs.length };
}

function callOnce(run) {
  const r = run();
  // Only ORT returns a promise; awaiting plain values would add a microtask per call.
  return r && typeof r.then === 'function' ? r : undefined;
}

/**
 * Times run() after one more warm-up (the caller already ran it once for the
 * numerical check). Each sample is `calls` back-to-back calls, enough to last
 * `targetSampleMs`, so short calls are not lost in timer resolution (5 µs in
 * cross-origin-isolated Chromium). At least `minSamples` samples, more until
 * `minTotalMs` has passed or `maxSamples`.
 */
export async function timeCalls(run, { minSamples = 5, minTotalMs = 500, targetSampleMs = 20, maxSamples = 50 } = {}) {
  let t = performance.now();
  const first = callOnce(run);
  if (first) await first;
  const estimate = Math.max(performance.now() - t, 1e-3);
  const calls = Math.max(1, Math.min(1000, Math.ceil(targetSampleMs / estimate)));
  const samples = [];
  let total = 0;
  while (samples.length < minSamples || (total < minTotalMs && samples.length < maxSamples)) {
    t = performance.now();
    for (let i = 0; i < calls; i++) {
      const pending = callOnce(run);
      if (pending) await pending;
    }
    const elapsed = performance.now() - t;
    samples.push(elapsed / calls);
    total += elapsed;
  }
  return { ...summarize(samples), callsPerSample: calls, warmups: 2 };
}

/** Max |a - b| over two equally long arrays; Infinity on a length mismatch or a NaN. */
export function maxAbsDiff(a, b) {
  if (!a || !b || a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}
