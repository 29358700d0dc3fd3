// role_table: the table model (columns, sort order, cell text and bars).
import { roleTableModel, ROLE_COLUMNS } from '../../../web/demo/role_table.js';
import { roleRows } from '../../../web/demo/head_roles.js';

const s = (previous, entropy) => ({ previous, sink: 0.05, self: 0.1, entropy, uniform: { previous: 0.08, sink: 0.08, self: 0.08, entropy: 1 } });
const rows = roleRows([[s(0.6, 0.4), s(0.1, 0.9)]], [[{ score: 0.02, uniform: 0.03 }, { score: 0.3, uniform: 0.03 }]], [[{ score: 0.03, uniform: 0.03 }, { score: 0.02, uniform: 0.03 }]]);

test('columns: the head, each role, the badges; sorted by induction by default', () => {
  const model = roleTableModel(rows);
  expect(model.columns.map((c) => c.key)).toEqual(['name', 'previous', 'sink', 'self', 'induction', 'inductionRandom', 'entropy', 'badges']);
  expect(model.columns.find((c) => c.key === 'induction').sorted).toBe('descending');
  expect(model.rows.map((r) => `L${r.layer}H${r.head}`)).toEqual(['L0H1', 'L0H0']);
  const first = model.rows[0].cells;
  expect(first.map((c) => c.text)).toEqual(['L0H1', '0.10', '0.05', '0.10', '0.30', '0.02', '0.90', 'induction · diffuse']);
  expect(first.find((c) => c.key === 'induction')).toMatchObject({ bar: 0.3, title: '0.30 (uniform attention: 0.03)' });
  expect(ROLE_COLUMNS.filter((c) => c.explain).length).toBe(6);
});

test('any column sorts either way', () => {
  expect(roleTableModel(rows, { key: 'previous', descending: true }).rows.map((r) => r.head)).toEqual([0, 1]);
  expect(roleTableModel(rows, { key: 'entropy', descending: false }).rows.map((r) => r.head)).toEqual([0, 1]);
  expect(roleTableModel(rows, { key: 'entropy', descending: true }).columns.find((c) => c.key === 'entropy').sorted).toBe('descending');
});
