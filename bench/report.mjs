// Derived columns (GFLOP/s, % of the SIMD peak, ratio to mha-wasm), the one
// printed table, and the compact JSON rows.
import { flopsOf } from './flops.mjs';

const ORDER = ['mha-wasm', 'ORT', 'TF.js', 'plain JS', 'native AVX2', 'native SSE2'];
const rank = (name) => ORDER.findIndex((prefix) => name.startsWith(prefix));

/** Adds gflops, peakFraction, ratio and best (ORT variants) to every row, in place. */
export function deriveColumns(rows, shapesByKey, peakGflops) {
  const reference = new Map();
  // The single-threaded rows are the reference; the threads rows are compared with them too.
  const referenceNames = new Set(['mha-wasm SDPA', 'mha-wasm layer']);
  for (const r of rows) if (referenceNames.has(r.name) && r.status === 'ok') reference.set(`${r.shape}|${r.kind}`, r.medianMs);
  for (const r of rows) {
    r.flops ??= flopsOf(r.kind, shapesByKey.get(r.shape));
    if (r.status !== 'ok') continue;
    r.gflops = r.flops / r.medianMs / 1e6;
    r.peakFraction = r.gflops / peakGflops;
    const ref = r.referenceMs ?? reference.get(`${r.shape}|${r.kind}`);
    r.ratio = ref ? r.medianMs / ref : null;
    r.interleavedRatio = r.interleaved?.ratio ?? null;
  }
  const groups = new Map();
  for (const r of rows.filter((x) => x.group)) {
    const k = `${r.shape}|${r.group}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  for (const members of groups.values()) {
    // The fastest variant by its interleaved ratio where every member has one (same rounds, so comparable), else by median.
    const ok = members.filter((r) => r.status === 'ok');
    const interleaved = ok.every((r) => r.interleaved?.ratio !== undefined);
    ok.sort((a, b) => (interleaved ? a.interleaved.ratio - b.interleaved.ratio : a.medianMs - b.medianMs));
    for (const r of members) r.best = ok.length > 0 && r === ok[0];
  }
}

const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

/** The table rows: ORT SDPA variants collapse into one "best" row per shape. */
function displayRows(rows, shapes) {
  const out = [];
  for (const shape of shapes) {
    const ofShape = rows.filter((r) => r.shape === shape.key);
    if (ofShape.length === 0) continue;
    for (const kind of ['sdpa', 'layer']) {
      const list = [];
      const seenGroups = new Set();
      for (const r of ofShape.filter((x) => x.kind === kind).sort((a, b) => rank(a.name) - rank(b.name))) {
        if (!r.group) {
          if (r.status === 'n/a') continue; // e.g. the out-arrays rows, which exist only with weights
          list.push({ ...r, display: r.name });
          continue;
        }
        if (seenGroups.has(r.group)) continue;
        seenGroups.add(r.group);
        const members = ofShape.filter((x) => x.group === r.group);
        const best = members.find((x) => x.best);
        if (best) list.push({ ...best, display: `${r.group} best: ${best.variant}` });
        else list.push({ ...r, display: `${r.group}`, note: members.map((m) => `${m.variant}: ${m.note ?? m.status}`).join('; ') });
      }
      out.push(...list.map((r) => ({ ...r, shapeLabel: shape.label })));
    }
  }
  return out;
}

export function formatTable(rows, shapes) {
  // '% peak': the sequential median against the peak measured at the run's start and end;
  // '% peak, same rounds': the interleaved rounds against the peak loop timed in them.
  const header = ['shape', 'row', 'median ms', 'min–max ms', 'GFLOP/s', '% wasm SIMD peak', '% peak, same rounds', '× mha-wasm (sequential)', '× mha-wasm (interleaved)'];
  const numeric = [false, false, true, true, true, true, true, true, true];
  const lines = []; // { cells } for a timed row, { cells: [shape, row], note } otherwise, null between shapes
  let lastShape = null;
  for (const r of displayRows(rows, shapes)) {
    const first = r.shapeLabel !== lastShape;
    if (first && lastShape !== null) lines.push(null);
    lastShape = r.shapeLabel;
    const lead = [first ? r.shapeLabel : '', r.display];
    if (r.status === 'ok') {
      lines.push({ cells: [...lead, ms(r.medianMs), `${ms(r.minMs)}–${ms(r.maxMs)}`, r.gflops.toFixed(2),
        `${(100 * r.peakFraction).toFixed(0)}%`, r.interleaved?.peakShare == null ? '' : `${(100 * r.interleaved.peakShare).toFixed(0)}%`,
        r.ratio == null ? '' : `${r.ratio.toFixed(2)}×`,
        r.interleavedRatio == null ? (r.interleaved?.skipped ? 'not interleaved' : '') : `${r.interleavedRatio.toFixed(2)}×`] });
    } else {
      lines.push({ cells: lead, note: r.note ?? r.status });
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => l && i < l.cells.length).map((l) => l.cells[i].length)));
  const fmt = (cells) => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  // A skipped / n/a / error row: its note spans the numeric columns.
  const body = lines.map((l) => (l === null ? '' : l.note === undefined ? fmt(l.cells) : `${fmt(l.cells).padEnd(widths[0] + widths[1] + 4)}${l.note}`));
  return [fmt(header), rule, ...body].join('\n');
}

const round = (v) => (typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(4)) : v);

/** Rows for latest.json: rounded numbers, no undefined fields. */
export function compactRows(rows) {
  const keys = ['shape', 'kind', 'name', 'variant', 'best', 'status', 'note', 'medianMs', 'minMs', 'maxMs', 'samples', 'callsPerSample',
    'firstMs', 'cpuTimeMedianMs', 'flops', 'gflops', 'peakFraction', 'ratio', 'interleavedRatio', 'interleaved', 'check'];
  return rows.map((r) => {
    const o = {};
    for (const k of keys) {
      if (r[k] === undefined || r[k] === null) continue;
      if (k === 'check') o[k] = Object.fromEntries(Object.entries(r.check).map(([a, b]) => [a, b === null ? null : Number(b.toPrecision(3))]));
      else if (k === 'interleaved') o[k] = Object.fromEntries(Object.entries(r.interleaved).map(([a, b]) => [a, round(b)]));
      else o[k] = round(r[k]);
    }
    return o;
  });
}
