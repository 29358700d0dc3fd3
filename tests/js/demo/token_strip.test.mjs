// token_strip: next-word predictions as percentages with bars scaled to the most likely.
import { predictionRows, PREDICTION_BAR_MAX_PX } from '../../../web/demo/token_strip.js';

test('percentages with one decimal, the top guess gets the full bar', () => {
  const rows = predictionRows([
    { token: 'the', prob: 0.5 },
    { token: 'a', prob: 0.125 },
  ]);
  expect(rows).toEqual([
    { token: 'the', percent: '50.0%', barPx: PREDICTION_BAR_MAX_PX },
    { token: 'a', percent: '12.5%', barPx: PREDICTION_BAR_MAX_PX / 4 },
  ]);
  expect(predictionRows([])).toEqual([]);
});
