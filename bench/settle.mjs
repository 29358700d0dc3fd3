// Waiting, untimed, for what the previous timed call left running to stop.
//
// onnxruntime-web's pool threads spin for a while after each run, waiting for
// more work (about 45 ms on this machine, in Node and in Chromium): a call
// timed in that stretch shares the two cores with them. Rows that leave such
// threads behind are followed by a settle before the next row's call.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Node: waits until the process is quiet, i.e. its threads together used less
 * than idleShare of a window's wall time (process.cpuUsage), at most maxMs.
 * Elsewhere (a page cannot read its own CPU time): waits fixedMs.
 * Resolves to the time waited (ms).
 */
export async function settle({ windowMs = 5, idleShare = 0.1, maxMs = 250, fixedMs = 100 } = {}) {
  const start = performance.now();
  const cpuUsage = typeof process !== 'undefined' && typeof process.cpuUsage === 'function' ? process.cpuUsage : null;
  if (!cpuUsage) {
    await sleep(fixedMs);
    return performance.now() - start;
  }
  for (;;) {
    const before = cpuUsage();
    const t = performance.now();
    await sleep(windowMs);
    const used = cpuUsage(before);
    if ((used.user + used.system) / 1000 < idleShare * (performance.now() - t) || performance.now() - start >= maxMs) break;
  }
  return performance.now() - start;
}
