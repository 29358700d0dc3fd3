// Timing loop, summary statistics and the seeded generator that orders interleaved rounds.

/** A small seeded generator (mulberry32): the same round orders in every run. */
export function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** 0, 1, …, count - 1 in an order drawn from `random` (Fisher–Yates). */
export function shuffled(count, random) {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

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

/**
 * Interleaved timing of several rows on the same inputs: rounds, each calling
 * every row in an order shuffled per round (`random`), so that a slow stretch
 * of a shared machine lands on every row alike instead of deciding one of them.
 * In a round a row makes `calls` back-to-back calls, enough to last
 * `targetSampleMs` by its estimate (its sequential median), and records their
 * mean. At least `minRounds` rounds, more until `minTotalMs` or `maxRounds`.
 * A row with `spins: true` leaves threads busy after its calls (onnxruntime-web's
 * pool, see settle.mjs): its sample starts with one untimed call, so its timed
 * calls find its threads as a loop of calls leaves them, and the next sample
 * waits (untimed) for `settle()` first, so it does not share the cores with them.
 * Returns { samples: samples[i][r] = row i's time per call in round r (ms), rounds, ms, calls,
 * settledMs: the untimed waits }.
 */
export async function interleaveCalls(rows, { minRounds, minTotalMs, maxRounds, targetSampleMs }, random, { settle } = {}) {
  const calls = rows.map((r) => Math.max(1, Math.min(200, Math.ceil(targetSampleMs / Math.max(r.estimateMs, 1e-3)))));
  const samples = rows.map(() => []);
  const settledMs = [];
  const start = performance.now();
  let count = 0, unsettled = false;
  while (count < minRounds || (performance.now() - start < minTotalMs && count < maxRounds)) {
    for (const i of shuffled(rows.length, random)) {
      if (unsettled && settle) settledMs.push(await settle());
      if (rows[i].spins) {
        const pending = callOnce(rows[i].run);
        if (pending) await pending;
      }
      const t = performance.now();
      for (let c = 0; c < calls[i]; c++) {
        const pending = callOnce(rows[i].run);
        if (pending) await pending;
      }
      samples[i].push((performance.now() - t) / calls[i]);
      unsettled = Boolean(rows[i].spins);
    }
    count++;
  }
  return { samples, rounds: count, ms: performance.now() - start, calls, settledMs };
}

/** Median over rounds of a[r] / b[r]: how many times b's time a took, round by round. */
export const medianRatio = (a, b) => median(a.map((x, r) => x / b[r]));
