// export: file names say which view, layer and head they show.
import { exportFileName, EXPORT_VIEWS } from '../../../web/demo/export.js';

test('file names name the view, layer and head', () => {
  expect(exportFileName('heatmap', { layer: 0, head: 1 }, 'png')).toBe('mha-heatmap-layer0-head1.png');
  expect(exportFileName('heatmap', { layer: 2, head: 1, average: true }, 'svg')).toBe('mha-heatmap-layer2-head-avg.svg');
  expect(exportFileName('lines', { layer: 1, head: 3 }, 'svg')).toBe('mha-lines-layer1-all-heads.svg');
  expect(exportFileName('grid', { layer: 1, head: 3 })).toBe('mha-grid-all-layers.png');
  expect(exportFileName('mechanism', { layer: 1, head: 3, average: true }, 'png')).toBe('mha-mechanism-layer1-head3.png');
});

test('every view has a name and unknown views are rejected', () => {
  for (const view of EXPORT_VIEWS) expect(exportFileName(view, {})).toMatch(/^mha-[a-z]+-[a-z0-9-]+\.png$/);
  expect(() => exportFileName('chart', {})).toThrow('view: expected one of heatmap, lines, grid, mechanism, got "chart"');
});
