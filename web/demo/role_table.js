// View 5: the head-role map as a table, one row per layer × head, sortable
// by any column (click its header), each score with a bar and, in its
// tooltip, what uniform attention would give. Clicking a row selects the head.
// roleTableModel() is pure (tested in Node); createRoleTable() writes DOM.

import { ROLES, sortRoleRows } from './head_roles.js';

export const ROLE_COLUMNS = Object.freeze([
  { key: 'name', label: 'head' },
  ...ROLES.map((r) => ({ key: r.id, label: r.label, explain: r.explain })),
  { key: 'badges', label: 'roles' },
]);

const fixed = (v) => (Number.isFinite(v) ? v.toFixed(2) : '–');

/** { columns, rows: [{ layer, head, cells: [{ key, text, value, bar (0–1), title }] }] } sorted by `sort`. */
export function roleTableModel(rows, sort = { key: 'induction', descending: true }) {
  const sorted = sortRoleRows(rows, sort.key, sort.descending);
  return {
    columns: ROLE_COLUMNS.map((c) => ({ ...c, sorted: c.key === sort.key ? (sort.descending ? 'descending' : 'ascending') : null })),
    rows: sorted.map((r) => ({
      layer: r.layer,
      head: r.head,
      cells: ROLE_COLUMNS.map(({ key }) => {
        if (key === 'name') return { key, text: r.name };
        if (key === 'badges') return { key, text: r.badges.map((b) => b.text).join(' · ') };
        const value = r[key];
        const uniform = r.uniform?.[key];
        const title = Number.isFinite(uniform) ? `${fixed(value)} (uniform attention: ${fixed(uniform)})` : fixed(value);
        return { key, text: fixed(value), value, bar: Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0, title };
      }),
    })),
  };
}

export function createRoleTable({ container, onSelect = () => {} }) {
  let sort = { key: 'induction', descending: true };
  let rows = null;
  let selection = null;
  let explanations = {}; // column key → header tooltip, instead of ROLES' (a model probed differently)

  function paint() {
    if (!rows) return;
    const model = roleTableModel(rows, sort);
    const doc = container.ownerDocument;
    const table = doc.createElement('table');
    table.className = 'roles-table';
    const head = table.createTHead().insertRow();
    for (const c of model.columns) {
      const th = doc.createElement('th');
      th.scope = 'col';
      if (c.sorted) th.setAttribute('aria-sort', c.sorted);
      if (c.key === 'badges') {
        th.textContent = c.label;
      } else {
        const button = doc.createElement('button');
        button.type = 'button';
        button.dataset.sort = c.key;
        button.textContent = c.label + (c.sorted === 'descending' ? ' ▼' : c.sorted === 'ascending' ? ' ▲' : '');
        if (explanations[c.key] ?? c.explain) button.title = explanations[c.key] ?? c.explain;
        button.addEventListener('click', () => {
          // A new column sorts high to low (names low to high); a second click reverses.
          sort = sort.key === c.key ? { key: c.key, descending: !sort.descending } : { key: c.key, descending: c.key !== 'name' };
          paint();
        });
        th.append(button);
      }
      head.append(th);
    }
    const body = table.createTBody();
    for (const r of model.rows) {
      const tr = body.insertRow();
      tr.dataset.layer = String(r.layer);
      tr.dataset.head = String(r.head);
      tr.tabIndex = 0;
      if (selection && selection.layer === r.layer && selection.head === r.head) tr.classList.add('selected');
      for (const cell of r.cells) {
        const td = tr.insertCell();
        td.dataset.key = cell.key;
        if (cell.bar !== undefined) {
          const bar = doc.createElement('span');
          bar.className = 'bar';
          bar.style.width = `${Math.round(cell.bar * 60)}px`;
          const value = doc.createElement('span');
          value.className = 'value';
          value.textContent = cell.text;
          td.append(bar, value);
          td.title = cell.title;
        } else {
          td.textContent = cell.text;
        }
      }
      const select = () => onSelect({ layer: r.layer, head: r.head });
      tr.addEventListener('click', select);
      tr.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          select();
        }
      });
    }
    container.replaceChildren(table);
  }

  return {
    render(nextRows) {
      rows = nextRows;
      paint();
    },
    select(chosen) {
      selection = chosen;
      for (const tr of container.querySelectorAll('tbody tr')) {
        tr.classList.toggle('selected', Number(tr.dataset.layer) === chosen.layer && Number(tr.dataset.head) === chosen.head);
      }
    },
    /** Header tooltips for some columns (key → text), replacing ROLES' explanations. */
    setExplanations(next = {}) {
      explanations = { ...next };
      paint();
    },
    get sort() {
      return sort;
    },
  };
}
