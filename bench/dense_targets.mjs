// The dense-attention targets (issue 12), read from the main rows after
// deriveColumns: each from interleaved ratios where the rows were interleaved
// (same process, same rounds), else marked as sequential. A ratio here is
// "peer time ÷ mha-wasm time", so above 1 means mha-wasm is faster.
const find = (rows, shape, name) => rows.find((r) => r.shape === shape && r.name === name && r.status === 'ok');
const inverse = (x) => (x ? 1 / x : null);

// The ORT SDPA row shown for a shape: the fastest variant (report.mjs marks it best).
const ortBest = (rows, shape, suffix = '') => rows.find((r) => r.shape === shape && r.group === `ORT SDPA${suffix}` && r.best && r.status === 'ok');

function shapeKey(queryLen, causal, needWeights = false) {
  return `${queryLen}x${queryLen}c${causal ? 1 : 0}w${needWeights ? 1 : 0}`;
}

// A peer's ceiling: 1 ÷ its interleaved share of the one-thread SIMD peak
// (harness.mjs), the ratio that code doing the same counted FLOPs at the
// peak loop's rate, with the softmax and everything else free, would reach
// against it. WebAssembly SIMD has no fused multiply-add, and the peak loop is
// mul + add, so no one-thread SIMD128 implementation of these FLOPs can be
// much faster than that (mha-wasm's Linear reaches 98-101 % of the loop).
const ceilingOf = (row) => (row?.interleaved?.peakShare ? 1 / row.interleaved.peakShare : null);

/** [{ what, measured, target, threshold, met, how, ceiling? }] for every length the run has. */
export function denseTargets(rows, shapes) {
  const have = new Set(rows.filter((r) => r.status === 'ok').map((r) => r.shape));
  const lengths = [...new Set(shapes.map((s) => s.queryLen))].filter((l) => have.has(shapeKey(l, false)));
  const out = [];
  const add = (what, measured, target, atLeast, how, ceiling = null) =>
    out.push({
      what, measured, target: `${atLeast ? '≥' : '≤'} ${target}`, threshold: target,
      met: measured == null ? null : atLeast ? measured >= target : measured <= target, how,
      ...(ceiling == null ? {} : { ceiling }),
    });
  const interleavedOr = (row) => ({
    ...(row?.interleavedRatio != null ? { value: row.interleavedRatio, how: 'interleaved' } : { value: row?.ratio ?? null, how: 'sequential' }),
    ceiling: ceilingOf(row),
  });

  for (const l of lengths.filter((x) => [128, 512, 2048].includes(x))) {
    const ort = interleavedOr(ortBest(rows, shapeKey(l, false)));
    add(`SDPA, ORT best graph ÷ mha-wasm, L=${l}`, ort.value, 1.5, true, ort.how, ort.ceiling);
  }
  for (const l of lengths.filter((x) => [128, 512, 2048].includes(x))) {
    const key = shapeKey(l, false);
    const peers = [find(rows, key, 'ORT layer'), find(rows, key, 'TF.js layer'), find(rows, key, 'plain JS layer')]
      .filter(Boolean).map(interleavedOr).filter((p) => p.value != null);
    const fastest = peers.sort((a, b) => a.value - b.value)[0];
    add(`layer, fastest peer ÷ mha-wasm, L=${l}`, fastest?.value ?? null, 1.3, true, fastest?.how ?? 'interleaved', fastest?.ceiling);
  }
  for (const l of lengths.filter((x) => [1024, 2048].includes(x))) {
    const ort = interleavedOr(ortBest(rows, shapeKey(l, true)));
    add(`causal SDPA, ORT best graph ÷ mha-wasm, L=${l}`, ort.value, 2.5, true, ort.how, ort.ceiling);
  }
  for (const l of lengths) {
    const row = find(rows, shapeKey(l, true, true), 'mha-wasm SDPA, out arrays');
    if (row) add(`causal SDPA with weights (out arrays) ÷ without, L=${l}`, row.interleaved?.ratioToCompared ?? null, 1.6, false, 'interleaved');
  }
  for (const l of lengths.filter((x) => x >= 128)) {
    for (const kind of ['SDPA', 'layer']) {
      const row = find(rows, shapeKey(l, false), `native SSE2 ${kind}`);
      // ratio = native time ÷ mha-wasm time: the share of native speed the .wasm reaches.
      if (row) add(`${kind} .wasm speed ÷ native SSE2 speed, L=${l}`, row.ratio, 0.8, true, 'sequential (a separate process, timed right after)');
    }
  }
  for (const l of lengths.filter((x) => x >= 256)) {
    for (const kind of ['SDPA', 'layer']) {
      const row = find(rows, shapeKey(l, false), `mha-wasm ${kind}, 2 threads`);
      if (row) add(`${kind} 2 threads ÷ 1 thread speed, L=${l}`, inverse(row.interleavedRatio), 1.85, true, 'interleaved');
    }
  }
  for (const l of lengths.filter((x) => x >= 128)) {
    const key = shapeKey(l, false);
    const sdpa = interleavedOr(ortBest(rows, key, ', 2 threads'));
    if (sdpa.value != null) add(`SDPA, ORT 2 threads ÷ mha-wasm 2 threads, L=${l}`, sdpa.value, 1.3, true, sdpa.how);
    const layer = interleavedOr(find(rows, key, 'ORT layer, 2 threads'));
    if (layer.value != null) add(`layer, ORT 2 threads ÷ mha-wasm 2 threads, L=${l}`, layer.value, 1.3, true, layer.how);
  }
  return out;
}

/** Lines for the report: one per target, then how many were met. */
export function formatDenseTargets(targets) {
  // Two decimals, or three where two would round onto the threshold and hide
  // which side of it the value is on (1.848 against ≥ 1.85 printed "1.85×: NOT met").
  const digits = (t) => (Number(t.measured.toFixed(2)) === t.threshold ? 3 : 2);
  const lines = targets.map((t) => {
    const measured = t.measured == null ? 'not measured' : `${t.measured.toFixed(digits(t))}×`;
    const verdict = t.met == null ? 'n/a' : t.met ? 'met' : 'NOT met';
    const ceiling = t.ceiling == null ? '' : `; ceiling ${t.ceiling.toFixed(2)}×${t.ceiling < t.threshold ? ', below the target' : ''}`;
    return `target ${t.what}: ${measured} (${t.target}: ${verdict}; ${t.how}${ceiling})`;
  });
  const judged = targets.filter((t) => t.met != null);
  lines.push(`dense targets met: ${judged.filter((t) => t.met).length} of ${judged.length}`);
  const capped = targets.filter((t) => t.ceiling != null);
  if (capped.length > 0) {
    lines.push(`ceiling: the peer ÷ code that ran the peer's counted FLOPs at the SIMD peak loop's rate in the same rounds (no FMA in wasm SIMD); ` +
      `${capped.filter((t) => t.ceiling < t.threshold).length} of ${capped.length} targets with one lie above it`);
  }
  return lines.join('\n');
}
