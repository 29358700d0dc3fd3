// The generation panel: how the token just written was chosen (its top
// candidates before and after temperature and top-k / top-p), and the speed.
// candidateTable() and speedText() are pure (tested in Node); the render
// functions write plain DOM.

export const CANDIDATE_BAR_MAX_PX = 44;

const percent = (p) => (p >= 0.1 ? `${(p * 100).toFixed(1)}%` : p >= 0.001 ? `${(p * 100).toFixed(2)}%` : p > 0 ? '<0.1%' : '0');

/** One line saying what the strategy did, e.g. "top-k 5: kept 5 tokens, 93.1% of the probability". */
export function strategyText({ strategy, temperature, topK, topP }, kept) {
  const t = `temperature ${temperature}`;
  const share = `${kept.count} token${kept.count === 1 ? '' : 's'} kept, holding ${percent(kept.mass)} of the probability, renormalised`;
  switch (strategy) {
    case 'greedy':
      return 'greedy: the most probable token, always';
    case 'temperature':
      return `${t}: sampled from all tokens`;
    case 'top-k':
      return `${t}, top-k ${topK}: ${share}`;
    case 'top-p':
      return `${t}, top-p ${topP}: ${share}`;
    default:
      return strategy;
  }
}

/**
 * rows: sampling.mjs candidateRows(). Returns { header: string[], rows: [{ cells: string[],
 * bars: { raw, tempered, final } (px), chosen, kept, token }] }: the probability from
 * the model, after the temperature, and what sampling drew from after top-k / top-p ('cut' when
 * filtered out).
 */
export function candidateTable(rows, { strategy }) {
  const sampled = strategy !== 'greedy';
  const top = Math.max(1e-12, ...rows.map((r) => Math.max(r.raw, r.tempered, r.final)));
  const bar = (p) => Math.round((p / top) * CANDIDATE_BAR_MAX_PX);
  return {
    header: sampled ? ['#', 'word', 'model', 'with temperature', 'after the cut'] : ['#', 'word', 'model'],
    rows: rows.map((r) => ({
      token: r.token,
      chosen: r.chosen,
      kept: r.kept,
      cells: sampled
        ? [String(r.rank), r.token, percent(r.raw), percent(r.tempered), r.kept ? percent(r.final) : 'cut']
        : [String(r.rank), r.token, percent(r.raw)],
      bars: { raw: bar(r.raw), tempered: bar(r.tempered), final: bar(r.final) },
    })),
  };
}

/**
 * "64 tokens in 1.07 s: 60 tokens/s on screen · model 2,430 tokens/s": tokens
 * written, wall-clock ms since Generate, ms spent in the model's decoding steps.
 */
export function speedText({ tokens, wallMs, modelMs }) {
  if (tokens === 0) return 'no token yet';
  // Thousands separated by commas (toLocaleString costs more than the rest of this function).
  const rate = (ms) => String(Math.round(tokens / (ms / 1000))).replace(/\B(?=(\d{3})+$)/g, ',');
  const seconds = wallMs >= 1000 ? `${(wallMs / 1000).toFixed(2)} s` : `${Math.round(wallMs)} ms`;
  return `${tokens} token${tokens === 1 ? '' : 's'} in ${seconds}: ${rate(wallMs)} tokens/s on screen · the model alone ${rate(Math.max(modelMs, 1e-3))} tokens/s (${((1000 * modelMs) / tokens).toFixed(0)} µs a token)`;
}

/** The candidate table into `container` (a <div>); `caption` above it. */
export function renderCandidates(container, table, caption) {
  const doc = container.ownerDocument;
  const el = (tag, className, text) => {
    const e = doc.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const t = el('table', 'candidates-table');
  const head = el('tr');
  for (const h of table.header) head.append(el('th', null, h));
  t.append(el('thead'), el('tbody'));
  t.tHead.append(head);
  const barKeys = table.header.length > 3 ? ['raw', 'tempered', 'final'] : ['raw'];
  for (const row of table.rows) {
    const tr = el('tr', [row.chosen ? 'chosen' : '', row.kept ? '' : 'filtered'].join(' ').trim());
    tr.dataset.token = row.token;
    row.cells.forEach((text, i) => {
      const td = el('td', i === 1 ? 'word' : i >= 2 ? 'prob' : 'rank');
      if (i >= 2) {
        const bar = el('span', 'bar');
        bar.style.width = `${row.bars[barKeys[i - 2]]}px`;
        td.append(bar, el('span', 'value', text));
      } else {
        td.textContent = text;
      }
      tr.append(td);
    });
    t.tBodies[0].append(tr);
  }
  container.replaceChildren(el('p', 'candidates-caption', caption), t);
}
