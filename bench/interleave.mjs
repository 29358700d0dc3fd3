// Interleaved timing, checks and tables for the Linear section (linear.mjs)
// and the decoder-options section (decoder_options.mjs), in the manner of the
// decoding section (decode.mjs): each case's rows run once and are checked,
// then they are timed in rounds, a round calling every row once in an order
// shuffled per round (a seeded generator), so that every row sees the same
// stretch of the machine's speed. A row's ratio is the median over rounds of
// (its time / the reference row's time in the same round).
//
// A row: { name, role: 'reference' | 'peer' | 'peak', run() -> result (or a promise), checkRun?() (used for the check instead of run),
//          output?(result) -> Float32Array, checkAgainst?: name of the row whose output
//          it must equal (default: the reference row; null: no such check),
//          verify?(result) -> null | problem, flops?, note? }
import { MismatchError } from './harness.mjs';
import { maxAbsDiff, median, shuffled } from './stats.mjs';

export { mulberry32 } from './stats.mjs';

export const errorText = (error) => String(error && error.message ? error.message : error).split('\n')[0];

/** Rounds of one call per row, order shuffled per round; samples[i][r] is row i's time in round r (ms). */
export async function rounds(rows, { minRounds, minMs, maxRounds }, random) {
  const samples = rows.map(() => []);
  let count = 0;
  const start = performance.now();
  while (count < minRounds || (performance.now() - start < minMs && count < maxRounds)) {
    for (const i of shuffled(rows.length, random)) {
      const t = performance.now();
      const result = rows[i].run();
      if (result && typeof result.then === 'function') await result;
      samples[i].push(performance.now() - t);
    }
    count++;
  }
  return { samples, rounds: count, ms: performance.now() - start };
}

/**
 * Runs every row once and checks it: the reference first, then every row whose
 * output must equal another row's (checkAgainst, default the reference) within
 * `tolerance`. A disagreement throws MismatchError (the bench fails); a row that
 * throws an error is dropped and listed in `errors` (the reference row's error is fatal).
 * Returns { kept, errors, outputs: name -> Float32Array }.
 */
export async function checkRows(rows, label, tolerance, log) {
  const kept = [], errors = [], outputs = new Map();
  const reference = rows.find((r) => r.role === 'reference');
  const ordered = [reference, ...rows.filter((r) => r !== reference)];
  for (const row of ordered) {
    let result;
    try {
      result = (row.checkRun ?? row.run)(); // checkRun: a variant of run that also keeps what is checked
      if (result && typeof result.then === 'function') result = await result;
      const problem = row.verify ? row.verify(result) : null;
      if (problem) throw new MismatchError(`${row.name} at ${label}: ${problem}`);
    } catch (error) {
      if (error instanceof MismatchError || row === reference) throw error;
      const note = errorText(error);
      errors.push({ name: row.name, status: 'error', note });
      log(`  ${row.name} at ${label} failed: ${note}`);
      continue;
    }
    if (row.output) {
      const output = row.output(result);
      outputs.set(row.name, output);
      const against = row.checkAgainst === undefined ? (row === reference ? null : reference.name) : row.checkAgainst;
      if (against) {
        const expected = outputs.get(against);
        if (!expected) throw new Error(`${row.name} at ${label}: the row it is checked against (${against}) has no output`);
        const diff = maxAbsDiff(expected, output);
        row.check = { outputDiff: diff, tolerance, against };
        if (!(diff <= tolerance)) throw new MismatchError(`${row.name} disagrees with ${against} at ${label}: output max abs diff ${diff} > ${tolerance}`);
      } else if (row === reference) {
        row.check = { outputDiff: 0, tolerance, against: 'itself (reference)' };
      }
    }
    kept.push(row);
  }
  // Back in the caller's order (the round orders are shuffled anyway; the table keeps this order).
  kept.sort((a, b) => rows.indexOf(a) - rows.indexOf(b));
  return { kept, errors, outputs };
}

/**
 * One case: check every row (checkRows), then afterCheck(outputs) (float64
 * checks: they throw on a disagreement), then warm-up rounds, then timed rounds.
 * Rows with checkOnly: true take part in the checks only. warmUp: { minRounds, ms }.
 */
export async function runCase({ rows, label, tolerance, timing, warmUp, random, log, afterCheck }) {
  const checked = await checkRows(rows, label, tolerance, log);
  const extraChecks = afterCheck ? afterCheck(checked.outputs) : [];
  const timedRows = checked.kept.filter((r) => !r.checkOnly);
  let t = performance.now();
  await rounds(timedRows, { minRounds: warmUp.minRounds, minMs: warmUp.ms, maxRounds: Infinity }, random);
  const warmUpMs = performance.now() - t;
  const timed = await rounds(timedRows, timing, random);
  return {
    label,
    warmUpMs, timedMs: timed.ms, rounds: timed.rounds,
    results: summarize(timedRows, timed),
    checkOnly: checked.kept.filter((r) => r.checkOnly).map((r) => ({ name: r.name, check: r.check })),
    float64Checks: extraChecks,
    errors: checked.errors,
  };
}

/** A float64 (or other independent) reference check: fails the bench beyond `tolerance`. */
export function checkExpected(what, label, output, expected, tolerance) {
  const diff = maxAbsDiff(output, expected);
  if (!(diff <= tolerance)) throw new MismatchError(`${what} disagrees with its float64 reference at ${label}: max abs diff ${diff} > ${tolerance}`);
  return { what, at: label, outputDiff: diff, tolerance };
}

const ratioMedian = (a, b) => median(a.map((x, r) => x / b[r]));

/**
 * Per-row statistics. ratio: median over rounds of row time / reference time.
 * With `flops` on a row, GFLOP/s = flops / median; with a 'peak' row also
 * timed, peakShare = median over rounds of (row GFLOP/s / peak GFLOP/s) in the same round.
 */
export function summarize(rows, timed) {
  const ref = rows.findIndex((r) => r.role === 'reference');
  const peak = rows.findIndex((r) => r.role === 'peak');
  return rows.map((row, i) => {
    const s = timed.samples[i];
    const out = {
      name: row.name, role: row.role, ...(row.variant ? { variant: row.variant } : {}),
      medianMs: median(s), minMs: Math.min(...s), maxMs: Math.max(...s), rounds: s.length,
      ...(row.check ? { check: row.check } : {}),
      ...(row.note ? { note: row.note } : {}),
    };
    if (ref >= 0 && ref !== i && row.role !== 'peak') out.ratio = ratioMedian(s, timed.samples[ref]);
    if (row.flops) {
      out.flops = row.flops;
      out.gflops = row.flops / out.medianMs / 1e6;
      if (peak >= 0 && peak !== i) {
        const peakFlops = rows[peak].flops;
        out.peakShare = median(s.map((x, r) => (row.flops / x) / (peakFlops / timed.samples[peak][r])));
      }
    }
    out.samplesMs = s;
    return out;
  });
}

// ---- report helpers ----------------------------------------------------------

export const fixed = (value, digits) => (value === undefined || value === null ? '' : value.toFixed(digits));
export const ms = (value) => (value >= 100 ? value.toFixed(1) : value >= 10 ? value.toFixed(2) : value >= 0.1 ? value.toFixed(3) : value.toFixed(4));

/** A plain-text table: the first `left` columns left-aligned, the rest right-aligned. */
export function table(header, lines, left = 2) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) => cells.map((c, i) => (i < left ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)].join('\n');
}

export const ratioText = (row) => (row.role === 'reference' ? '1 (reference)' : row.role === 'peak' ? '' : fixed(row.ratio, 2));

/** A target line: "target <what>: <measured>x (<target>: met | NOT met)". */
export function targetLine(t) {
  const measured = t.measured === null || t.measured === undefined ? 'not measured' : `${t.measured.toFixed(t.digits ?? 2)}${t.unit ?? 'x'}`;
  if (!t.target) return `for comparison: ${t.what}: ${measured}`;
  return `target ${t.what}: ${measured} (${t.target}: ${t.met === null || t.met === undefined ? 'n/a' : t.met ? 'met' : 'NOT met'})`;
}

// 4 significant digits in the JSON, like the main rows.
export const rounded = (value) =>
  typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value) ? Number(value.toPrecision(4))
    : Array.isArray(value) ? value.map(rounded)
      : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]))
        : value;
