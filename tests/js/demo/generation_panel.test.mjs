// generation_panel: the candidate table (before / after temperature / after
// the top-k or top-p cut), the strategy line and the speed line.
import { candidateTable, speedText, strategyText, CANDIDATE_BAR_MAX_PX } from '../../../web/demo/generation_panel.js';
import { candidateRows, keptSummary, nextTokenDistribution } from '../../../web/demo/model/sampling.mjs';

const LOGITS = Float32Array.from([2, 1, 0, 3]);
const vocabulary = ['a', 'b', 'c', 'd'];

test('sampling: three probability columns, filtered tokens marked, the chosen row flagged', () => {
  const options = { strategy: 'top-k', temperature: 1, topK: 2 };
  const d = nextTokenDistribution(LOGITS, options);
  const table = candidateTable(candidateRows(d, vocabulary, 0, 4), options);
  expect(table.header).toEqual(['#', 'word', 'model', 'with temperature', 'after the cut']);
  expect(table.rows.map((r) => r.cells)).toEqual([
    ['1', 'd', '64.4%', '64.4%', '73.1%'],
    ['2', 'a', '23.7%', '23.7%', '26.9%'],
    ['3', 'b', '8.71%', '8.71%', 'cut'],
    ['4', 'c', '3.21%', '3.21%', 'cut'],
  ]);
  expect(table.rows.map((r) => r.chosen)).toEqual([false, true, false, false]);
  expect(table.rows[0].bars.final).toBe(CANDIDATE_BAR_MAX_PX); // 0.731 is the largest value shown
  expect(strategyText(options, keptSummary(d))).toBe('temperature 1, top-k 2: 2 tokens kept, holding 88.1% of the probability, renormalised');
});

test('greedy: one probability column; the line says so', () => {
  const options = { strategy: 'greedy' };
  const table = candidateTable(candidateRows(nextTokenDistribution(LOGITS, options), vocabulary, 3, 2), options);
  expect(table.header).toEqual(['#', 'word', 'model']);
  expect(table.rows.map((r) => r.cells)).toEqual([['1', 'd', '64.4%'], ['2', 'a', '23.7%']]);
  expect(strategyText(options, { count: 1, mass: 0.64 })).toBe('greedy: the most probable token, always');
  expect(strategyText({ strategy: 'top-p', temperature: 0.8, topP: 0.9 }, { count: 1, mass: 0.95 })).toBe(
    'temperature 0.8, top-p 0.9: 1 token kept, holding 95.0% of the probability, renormalised',
  );
});

test('speed: tokens per second on screen and for the model alone', () => {
  expect(speedText({ tokens: 64, wallMs: 1070, modelMs: 32 })).toBe('64 tokens in 1.07 s: 60 tokens/s on screen · the model alone 2,000 tokens/s (500 µs a token)');
  expect(speedText({ tokens: 1, wallMs: 16, modelMs: 0.4 })).toBe('1 token in 16 ms: 63 tokens/s on screen · the model alone 2,500 tokens/s (400 µs a token)');
  expect(speedText({ tokens: 0, wallMs: 0, modelMs: 0 })).toBe('no token yet');
});
