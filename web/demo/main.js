// Wiring only: load the library and the model, turn control events into
// store updates, and send each store change to the views that depend on it.
// No computation and no drawing happens here.
//
// Served by scripts/serve.mjs: /demo/ is web/demo/, /dist/ the built package.
// Hooks for tests: body[data-ready="true"] after the first live result is
// drawn, body[data-runs] counts completed runs, window.__demo.frameTimes
// receives the duration (ms) of every redraw.

import { init } from '../dist/browser.mjs';
import { loadTinyGpt } from './tiny_gpt.mjs';
import { createStore, initialState, clampSelection } from './state.js';
import { createHeatmapView, averageOverHeads } from './attention_heatmap.js';
import { createLineView, buildHeadToggles } from './line_view.js';
import { createHeadGrid } from './head_grid.js';
import { createMechanismView } from './mechanism_view.js';
import { renderTokenStrip, renderPredictions } from './token_strip.js';
import { exportView, exportFileName } from './export.js';

const MODEL_FILES = {
  weightsURL: new URL('./model/tiny_stories.safetensors', import.meta.url).href,
  vocabURL: new URL('./model/vocab.json', import.meta.url).href,
};
const TOP_PREDICTIONS = 5;

const $ = (id) => document.getElementById(id);
const demo = (window.__demo = { frameTimes: [], viewTimes: [] });
const store = createStore(initialState());
let model = null;
let runs = 0;

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
  if (isError) document.body.dataset.error = text;
}

function timed(view, draw) {
  const start = performance.now();
  draw();
  demo.viewTimes.push({ view, ms: performance.now() - start });
}

const heatmap = createHeatmapView({
  canvas: $('heatmap'),
  tooltip: $('heatmap-tooltip'),
  onHover: (cell) => store.set({ hoveredToken: cell ? { side: 'query', index: cell.query } : null }),
});
const lines = createLineView({ svg: $('lines'), onHover: (hoveredToken) => store.set({ hoveredToken }) });
const grid = createHeadGrid({ container: $('grid'), onSelect: ({ layer, head }) => store.set({ layer, head, average: false }) });
const mechanism = createMechanismView({ container: $('mechanism') });
const views = { heatmap, lines, grid, mechanism };

function heatmapTitle({ layer, head, average, run }) {
  const nHeads = run.attention[layer].length;
  return `layer ${layer} · ${average ? `average of ${nHeads} heads` : `head ${head}`}`;
}

// Each store change redraws only the views that depend on the changed keys.
store.subscribe((state, changed) => {
  const { run, layer, head, average } = state;
  if (!run) return;
  const has = (...keys) => keys.some((key) => changed.has(key));
  const selection = { layer, head, average };
  const start = performance.now();
  let drew = false;
  if (has('run', 'layer', 'head', 'average')) {
    drew = true;
    timed('heatmap', () => {
      const weights = average ? averageOverHeads(run.attention[layer]) : run.attention[layer][head];
      heatmap.render(weights, run.tokens, { causal: run.causal });
      $('heatmap-title').textContent = heatmapTitle(state);
    });
  }
  if (has('run', 'layer')) {
    drew = true;
    timed('lines', () => lines.render(run.attention[layer], run.tokens, { enabledHeads: state.enabledHeads, hoveredToken: state.hoveredToken }));
    $('lines-title').textContent = `layer ${layer} · all heads`;
  } else if (has('enabledHeads', 'hoveredToken')) {
    drew = true;
    timed('lines-update', () => lines.update({ enabledHeads: state.enabledHeads, hoveredToken: state.hoveredToken }));
  }
  if (has('run')) {
    drew = true;
    timed('grid', () => grid.render(run.attention, run.tokens, { causal: run.causal, selection }));
  } else if (has('layer', 'head', 'average')) {
    grid.select(selection);
  }
  if (has('run', 'layer', 'head')) {
    drew = true;
    let steps = null;
    timed('mechanism-model', () => (steps = run.mechanism(layer, head)));
    timed('mechanism', () => mechanism.render(steps, { head, tokens: run.tokens, causal: run.causal }));
    $('mechanism-title').textContent = `layer ${layer} · head ${head}`;
  }
  if (drew) demo.frameTimes.push(performance.now() - start);
  $('layer').value = String(layer);
  $('head').value = String(head);
  $('average').checked = average;
});

function fillSelect(select, count, word) {
  select.replaceChildren(...[...Array(count)].map((_, i) => new Option(`${word} ${i}`, String(i))));
}

function runSentence() {
  if (!model) return;
  try {
    const causal = $('causal').checked;
    const { ids } = model.tokenize($('sentence').value);
    const start = performance.now();
    const result = model.run(ids, { causal });
    const ms = performance.now() - start;
    const run = { tokens: result.tokens, attention: result.attention, mechanism: result.mechanism, topNext: result.topNext, causal };
    const { nLayers, nHeads } = model.config;
    store.set({ run, causal, hoveredToken: null, ...clampSelection(store.get(), nLayers, nHeads) });
    renderTokenStrip($('tokens'), run.tokens);
    renderPredictions($('predictions'), result.topNext(TOP_PREDICTIONS));
    $('run-info').textContent = `${run.tokens.length} tokens · model ran in ${ms.toFixed(1)} ms`;
    runs += 1;
    document.body.dataset.runs = String(runs);
    document.body.dataset.ready = 'true';
    setStatus('ready');
  } catch (error) {
    setStatus(`error: ${error.message}`, true);
  }
}

async function exportCurrent(format) {
  const view = $('export-view').value;
  try {
    await exportView(views[view], format, exportFileName(view, store.get(), format));
  } catch (error) {
    setStatus(`error: ${error.message}`, true);
  }
}

function wireControls() {
  $('controls').addEventListener('submit', (event) => {
    event.preventDefault();
    runSentence();
  });
  $('layer').addEventListener('change', () => store.set({ layer: Number($('layer').value) }));
  $('head').addEventListener('change', () => store.set({ head: Number($('head').value) }));
  $('average').addEventListener('change', () => store.set({ average: $('average').checked }));
  $('causal').addEventListener('change', runSentence);
  $('export-png').addEventListener('click', () => exportCurrent('png'));
  $('export-svg').addEventListener('click', () => exportCurrent('svg'));
}

async function start() {
  wireControls();
  setStatus('loading…');
  try {
    const mha = await init();
    model = await loadTinyGpt(mha, MODEL_FILES);
  } catch (error) {
    setStatus(`error: could not load the model (${error.message})`, true);
    return;
  }
  const { nLayers, nHeads, context } = model.config;
  fillSelect($('layer'), nLayers, 'layer');
  fillSelect($('head'), nHeads, 'head');
  buildHeadToggles($('head-toggles'), nHeads, (head, on) => {
    const enabledHeads = store.get().enabledHeads.slice();
    enabledHeads[head] = on;
    store.set({ enabledHeads });
  });
  store.set({ enabledHeads: Array(nHeads).fill(true) });
  $('context-note').textContent = `The model reads at most ${context} tokens.`;
  $('run').disabled = false;
  runSentence();
}

start();
