// The head-role map on the shipped model: the probes the page runs
// (web/demo/role_probes.js) through the library's layers, scored by
// web/demo/head_roles.js. web/demo/model/README.md documents layer 1's
// induction heads (naming games: L1H1 0.28, L1H2 0.20, L1H3 0.14, every
// layer-0 head ≤ 0.02); the map must find the same ones.
import { init } from '../../dist/node.mjs';
import { makeRoleProbes } from '../../web/demo/role_probes.js';
import { inductionScores, headRoleScores, roleRows, sortRoleRows } from '../../web/demo/head_roles.js';
import { openShippedTinyGpt } from './shipped_tiny_gpt.mjs';

let model;
let probes;
let list;
let bare;

beforeAll(async () => {
  const mha = await init();
  model = openShippedTinyGpt(mha);
  probes = makeRoleProbes(model);
  list = inductionScores(probes.list, (ids) => model.run(ids).attention);
  bare = inductionScores(probes.bare, (ids) => model.run(ids).attention);
});

afterAll(() => model?.dispose());

const ranked = (scores) =>
  scores
    .flatMap((layer, l) => layer.map((s, h) => ({ name: `L${l}H${h}`, ...s })))
    .sort((a, b) => b.score - a.score);

test('the probes are what the page scores: seeded, known words only, pairs inside the second copy', () => {
  expect(probes.list).toHaveLength(8);
  expect(probes.bare).toHaveLength(8);
  const unk = model.tokenize('zzz').ids[1];
  for (const p of [...probes.list, ...probes.bare]) {
    expect(p.ids[0]).toBe(0); // <bos>
    expect(p.ids).not.toContain(unk);
    for (const [q, k] of p.pairs) {
      expect(k).toBeLessThanOrEqual(q);
      // The query's token has an earlier copy right before the key.
      expect(p.ids[k - 1]).toBe(p.ids[q]);
    }
  }
  expect(makeRoleProbes(model)).toEqual(probes);
  expect(probes.list[0].text).toMatch(/^a \w+ \w+ , a \w+ \w+ , a \w+ \w+ and a \w+ \w+$/);
});

test('induction on the list probes: the top three heads are layer 1 heads 1, 2 and 3, as the model README says', () => {
  const top = ranked(list);
  expect(top.slice(0, 3).map((s) => s.name)).toEqual(['L1H1', 'L1H2', 'L1H3']);
  expect(top[0].score).toBeGreaterThan(0.2);
  expect(top[0].score).toBeGreaterThan(8 * top[0].uniform);
  // Every layer-0 head stays near uniform attention.
  for (const s of top.filter((t) => t.name.startsWith('L0'))) expect(s.score).toBeLessThan(2 * s.uniform);
});

test('on bare random sequences no head copies (the model only learned to copy inside its story frame)', () => {
  for (const s of ranked(bare)) expect(s.score).toBeLessThan(2 * s.uniform);
});

test('the table sorted by induction puts L1H1 first, and badges it (with L1H2)', () => {
  const { ids } = model.tokenize('mia and sam played a game . mia said , i can see a red fox , a tiny cup and a blue owl .');
  const run = model.run(ids);
  const T = ids.length;
  const rows = roleRows(run.attention.map((layer) => layer.map((w) => headRoleScores(w, T))), list, bare);
  const byInduction = sortRoleRows(rows, 'induction');
  expect(byInduction[0].name).toBe('L1H1');
  const badged = rows.filter((r) => r.badges.some((b) => b.role === 'induction')).map((r) => r.name);
  expect(badged).toEqual(expect.arrayContaining(['L1H1', 'L1H2']));
  expect(badged.every((name) => name.startsWith('L1'))).toBe(true);
});
