// Wiring only: load the library and the model, turn control events into
// store updates and decoding steps, and send each store change to the views
// that depend on it. The model is ./model/ (tiny_gpt.mjs, sampling.mjs);
// drawing is in the view modules.
//
// Served by scripts/serve.mjs: /demo/ is web/demo/, /dist/ the built package.
//
// Generating: Generate runs the prompt once through the model's decoder (one
// KV cache per layer), then writes one token per animation frame (or, with
// "as fast as possible", as many as fit in ~10 ms): each token is one
// decoding step per layer, then the views add one row. Views that are off
// screen are only marked stale and catch up when scrolled into view (add
// ?defer=0 to the URL to draw every view every frame, as the bench does for
// the worst case). The step-by-step view and the role table are also redrawn
// at most every few hundred ms while generating.
//
// Open model… (or a drop of a folder or of its files) reads a Hugging Face
// checkpoint with mha-wasm/models (dist/models/, imported when first needed;
// its tokenizer package comes through index.html's import map) and wraps it
// in ./opened_model.js, which gives it the shipped model's interface: from
// then on every view and the generation run on it. A folder that cannot be
// opened leaves the current model in place, with the reason shown.
//
// Hooks for tests: body[data-ready="true"] after the first live result is
// drawn, body[data-runs] counts completed runs, body[data-generating],
// body[data-length] (tokens in the text), body[data-generated] (tokens the
// last generation wrote), body[data-stop-length] (the length when Stop was
// handled), body[data-roles="true"] once the head roles are scored,
// body[data-model] (the model in use: "shipped" or the opened folder's name),
// body[data-opening="true"] while a model is read, body[data-open-error] (the
// last failure), window.__demo.open ({ startedAt, loadedMs, firstRunMs, bytes }
// of the last opening: from the files being chosen to the model loaded, and
// to its first run of the prompt drawn).
// window.__demo.frameTimes receives the duration (ms) of every redraw,
// window.__demo.tokenFrames one record per generation frame
// ({ at, length, steps, modelMs, redrawMs, views: view → ms, added: view → rows
// or lines it added }; at = the frame's start, performance.now()).

import { init } from '../dist/browser.mjs';
import { loadTinyGpt } from './model/tiny_gpt.mjs';
import { candidateRows, chooseToken, createRng, keptSummary } from './model/sampling.mjs';
import { createStore, initialState, clampSelection } from './state.js';
import { runFromDecoder, runFromForward } from './attention_run.js';
import { createHeatmapView } from './attention_heatmap.js';
import { createLineView, buildHeadToggles } from './line_view.js';
import { createHeadGrid } from './head_grid.js';
import { createMechanismView, mechanismForQuery } from './mechanism_view.js';
import { createRoleTable } from './role_table.js';
import { ROLES, createHeadAccumulator, inductionScores, roleRows } from './head_roles.js';
import { makeRoleProbes } from './role_probes.js';
import { renderTokenStrip, appendTokenStrip, renderPredictions } from './token_strip.js';
import { candidateTable, renderCandidates, speedText, strategyText } from './generation_panel.js';
import { exportView, exportFileName } from './export.js';
import { droppedFiles, openModel, topLevelFiles } from './opened_model.js';

const MODEL_FILES = {
  weightsURL: new URL('./model/tiny_stories.safetensors', import.meta.url).href,
  vocabURL: new URL('./model/vocab.json', import.meta.url).href,
};
const TOP_PREDICTIONS = 5;
const CANDIDATES = 8;
const FAST_BUDGET_MS = 10; // "as fast as possible": decoding steps per frame until this much time is spent
// While generating, the slower views redraw at most this often (ms). The step view of every word
// (~20 ms at 256 tokens, more than a frame) waits until the writing stops; of the newest word
// (~5 ms) it follows every 250 ms.
const SLOW_VIEW_INTERVAL_MS = { mechanism: Infinity, mechanismNewest: 250, roles: 500, badges: 500 };
const DEFER_OFFSCREEN = new URLSearchParams(location.search).get('defer') !== '0';
if (!DEFER_OFFSCREEN) document.body.classList.add('eager');

const $ = (id) => document.getElementById(id);
const demo = (window.__demo = { frameTimes: [], viewTimes: [], tokenFrames: [] });
// For screenshots and exports of the whole page: bring every view up to date, on screen or not.
demo.drawAll = () => Object.keys(SECTIONS).forEach((view) => refresh(view, { force: true, offscreen: true }));
// For tests: the token ids of the text shown (the decoder's; null after a run without it).
demo.tokenIds = () => decoder?.ids ?? null;
const store = createStore(initialState());
let mha = null;
let shipped = null; // the tiny model the page ships with (kept loaded, to switch back to)
let model = null; // the model in use: shipped, or an opened one (./opened_model.js)
let modelEpoch = 0; // bumped when the model changes: work started for an older one is dropped
let opening = false;
let decoder = null; // the decoder behind the current run (null for a non-causal run)
let generation = null; // the generation in progress
let runs = 0;
let induction = null; // [layer][head] → { score, uniform } on the list probes
let inductionBare = null;

// "words" for the shipped model (whole words), "tokens" for an opened one.
const units = (n) => `${n} ${model?.unit === 'token' ? (n === 1 ? 'token' : 'tokens') : n === 1 ? 'word' : 'words'}`;

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
  if (isError) document.body.dataset.error = text;
}

// ---------------------------------------------------------------- views

const heatmap = createHeatmapView({
  canvas: $('heatmap'),
  tooltip: $('heatmap-tooltip'),
  onHover: (cell) => store.set({ hoveredToken: cell ? { side: 'query', index: cell.query } : null }),
});
const lines = createLineView({
  svg: $('lines'),
  canvas: $('lines-canvas'),
  overlay: $('lines-overlay'),
  stage: $('lines-stage'),
  onHover: (hoveredToken) => store.set({ hoveredToken }),
});
demo.lines = lines; // for tests: lines.visibleLines(head)
const select = ({ layer, head }) => store.set({ layer, head, average: false });
const roleExplain = Object.fromEntries(ROLES.map((r) => [r.id, r.explain]));
const grid = createHeadGrid({ container: $('grid'), onSelect: select, explainRole: (role) => (model?.kind === 'opened' ? OPENED_ROLE_EXPLAIN[role] : null) ?? roleExplain[role] ?? '' });
const mechanism = createMechanismView({ container: $('mechanism') });
const roleTable = createRoleTable({ container: $('roles'), onSelect: select });
const exportable = { heatmap, lines, grid, mechanism };

// Which view sections are on screen. Off-screen views are drawn when they come into view.
// (The grid's role badges are a view of their own: they change with the roles, not with every row.)
const SECTIONS = { heatmap: 'view-heatmap', lines: 'view-lines', grid: 'view-grid', badges: 'view-grid', mechanism: 'view-mechanism', roles: 'view-roles' };
const SLOW_VIEWS = ['mechanism', 'roles', 'badges'];
const onScreen = new Map(Object.keys(SECTIONS).map((v) => [v, !DEFER_OFFSCREEN]));
const stale = new Set();
demo.onScreen = onScreen; // for tests
if (DEFER_OFFSCREEN && 'IntersectionObserver' in window) {
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      for (const [view, id] of Object.entries(SECTIONS)) {
        if (id !== entry.target.id) continue;
        onScreen.set(view, entry.isIntersecting);
        if (entry.isIntersecting && stale.has(view)) requestAnimationFrame(() => refresh(view, { force: true }));
      }
    }
  });
  for (const id of new Set(Object.values(SECTIONS))) observer.observe($(id));
} else {
  for (const view of onScreen.keys()) onScreen.set(view, true);
}

function heatmapTitle({ layer, head, average, run }) {
  return `layer ${layer} · ${average ? `average of ${run.nHeads} heads` : `head ${head}`} · ${run.length} tokens`;
}

const lineState = (state) => ({
  enabledHeads: state.enabledHeads,
  hoveredToken: state.hoveredToken,
  focusToken: state.generating && state.followNewest ? state.run.length - 1 : null,
});

const lastSlowDraw = {};
let slowTimer = null;

// Each view's redraw from the current state; incremental wherever the view can be.
// Each returns what it added where that is meaningful (rows converted, lines added), for window.__demo.
const DRAW = {
  heatmap(state) {
    const rows = heatmap.draw(state.run, state);
    $('heatmap-title').textContent = heatmapTitle(state);
    return rows;
  },
  lines(state) {
    const added = lines.draw(state.run, state.layer, lineState(state));
    if (!state.generating) lines.settle();
    $('lines-title').textContent = `layer ${state.layer} · all heads`;
    return added;
  },
  grid(state) {
    grid.draw(state.run, state);
  },
  mechanism(state) {
    const { run, layer, head, stepQuery } = state;
    if (model.mechanismReady && !model.mechanismReady(layer)) {
      // An opened model: the layer's q/k/v projections are read from the files first.
      const forModel = model;
      const note = document.createElement('p');
      note.className = 'muted';
      note.textContent = `reading layer ${layer}'s q, k and v projection weights from the files…`;
      $('mechanism').replaceChildren(note);
      model.prepareMechanism(layer).then(
        () => model === forModel && refresh('mechanism', { force: true }),
        (error) => {
          if (model === forModel) note.textContent = `error: could not read layer ${layer}'s projections (${error.message})`;
        },
      );
      return;
    }
    let steps = null;
    const newest = run.length - 1;
    const query = stepQuery === 'newest' ? newest : null;
    timed('mechanism-model', () => (steps = run.mechanism(layer, head, { query })));
    if (query !== null && steps.query !== query) steps = mechanismForQuery(steps, newest, run.tokens[newest]);
    timed('mechanism', () => mechanism.render(steps, { head, tokens: run.tokens, causal: run.causal }));
    const word = model.unit === 'token' ? 'token' : 'word';
    $('mechanism-title').textContent = `layer ${layer} · head ${head}${stepQuery === 'newest' ? ` · the newest ${word}, '${run.tokens[newest]}'` : ` · ${units(run.length)}`}`;
  },
  roles(state) {
    roleTable.render(roleRows(roleTracker.scores(state.run), induction, inductionBare));
    roleTable.select(state);
    $('roles-title').textContent = `${state.run.length} tokens${induction ? '' : ' · scoring induction…'}`;
  },
  badges(state) {
    const rows = roleRows(roleTracker.scores(state.run), induction, inductionBare);
    grid.setBadges(badgesOf(rows, state.run.nLayers, state.run.nHeads));
  },
};

let added = {}; // view → what its last draw added (DRAW's return value)

function timed(view, draw) {
  const start = performance.now();
  const result = draw();
  const ms = performance.now() - start;
  demo.viewTimes.push({ view, ms });
  if (result !== undefined) added[view] = result;
  return ms;
}

/**
 * Draws one view now if it is on screen (and, for the slow ones, not drawn
 * too recently); else marks it stale. force: no throttling; offscreen: draw
 * even off screen (before an export).
 */
function refresh(view, { force = false, offscreen = false } = {}) {
  const state = store.get();
  if (!state.run) return 0;
  if (!onScreen.get(view) && !offscreen) {
    stale.add(view);
    return 0;
  }
  if (!force && state.generating && SLOW_VIEWS.includes(view)) {
    const interval = SLOW_VIEW_INTERVAL_MS[view === 'mechanism' && state.stepQuery === 'newest' ? 'mechanismNewest' : view];
    const wait = (lastSlowDraw[view] ?? 0) + interval - performance.now();
    if (wait > 0) {
      stale.add(view);
      if (!slowTimer && Number.isFinite(wait)) {
        slowTimer = setTimeout(() => {
          slowTimer = null;
          for (const v of SLOW_VIEWS) if (stale.has(v)) refresh(v);
        }, wait);
      }
      return 0;
    }
  }
  if (SLOW_VIEWS.includes(view)) lastSlowDraw[view] = performance.now();
  stale.delete(view);
  return timed(view, () => DRAW[view](state));
}

// Which views a change of which keys touches.
const DEPENDS = {
  heatmap: ['run', 'length', 'layer', 'head', 'average'],
  lines: ['run', 'length', 'layer', 'generating'],
  grid: ['run', 'length'],
  badges: ['run', 'length', 'roles'],
  mechanism: ['run', 'length', 'layer', 'head', 'stepQuery'],
  roles: ['run', 'length', 'roles'],
};

store.subscribe((state, changed) => {
  const { run } = state;
  if (!run) return;
  const has = (...keys) => keys.some((key) => changed.has(key));
  const start = performance.now();
  const views = {};
  added = {};
  let drew = false;
  for (const [view, keys] of Object.entries(DEPENDS)) {
    if (!has(...keys)) continue;
    const ms = refresh(view);
    if (ms > 0) {
      views[view] = ms;
      drew = true;
    }
  }
  if (!has('run', 'length', 'layer', 'generating') && has('enabledHeads', 'hoveredToken', 'followNewest')) {
    // Opacities only; off screen, the next draw applies the state instead.
    if (onScreen.get('lines')) {
      drew = true;
      views['lines-update'] = timed('lines-update', () => lines.update(lineState(state)));
    } else {
      stale.add('lines');
    }
  }
  if (!has('run', 'length') && has('layer', 'head', 'average')) {
    grid.select(state);
    roleTable.select(state);
  }
  const ms = performance.now() - start;
  if (drew) demo.frameTimes.push(ms);
  demo.lastRedraw = { ms, views, added };
  $('layer').value = String(state.layer);
  $('head').value = String(state.head);
  $('average').checked = state.average;
});

// ---------------------------------------------------------------- head roles

// Per-head running means of the text-based roles, one row added per token.
const roleTracker = (() => {
  let tracked = null;
  let heads = null;
  let rows = 0;
  return {
    scores(run) {
      if (tracked !== run) {
        tracked = run;
        heads = [...Array(run.nLayers)].map(() => [...Array(run.nHeads)].map(() => createHeadAccumulator()));
        rows = 0;
      }
      for (; rows < run.length; rows++) heads.forEach((layer, l) => layer.forEach((acc, h) => acc.add(run.row(l, h, rows), rows)));
      return heads.map((layer) => layer.map((acc) => acc.scores()));
    },
  };
})();

function badgesOf(rows, nLayers, nHeads) {
  const out = [...Array(nLayers)].map(() => Array(nHeads).fill([]));
  for (const r of rows) out[r.layer][r.head] = r.badges;
  return out;
}

// The probes run one per task after the page is up, so loading stays responsive.
function scoreInduction() {
  const epoch = modelEpoch;
  const probes = model.roleProbes ? model.roleProbes() : makeRoleProbes(model);
  const queue = [...probes.list.map((p) => ['list', p]), ...probes.bare.map((p) => ['bare', p])];
  const results = { list: [], bare: [] };
  // An opened model may be large (each probe is a forward pass of ~40 tokens, 0.4 s for GPT-2 small):
  // its probes wait while it writes, and until the roles (the table or the grid's badges) are on screen.
  const lazy = model.kind === 'opened';
  const next = () => {
    if (epoch !== modelEpoch) return; // the model changed meanwhile
    if (lazy && (generation || !(onScreen.get('roles') || onScreen.get('grid')))) {
      setTimeout(next, 200);
      return;
    }
    if (queue.length === 0) {
      const scored = (kind) => (results[kind].length === 0 ? null : inductionScores(results[kind].map((r) => r.probe), (ids) => results[kind].find((r) => r.probe.ids === ids).attention));
      induction = scored('list');
      inductionBare = scored('bare');
      store.set({ roles: { induction, inductionBare } });
      document.body.dataset.roles = 'true';
      return;
    }
    const [kind, probe] = queue.shift();
    results[kind].push({ probe, attention: model.run(probe.ids).attention });
    setTimeout(next, 0);
  };
  setTimeout(next, 0);
}

// ---------------------------------------------------------------- runs and generation

function fillSelect(select, count, word) {
  select.replaceChildren(...[...Array(count)].map((_, i) => new Option(`${word} ${i}`, String(i))));
}

function samplingOptions() {
  return {
    strategy: $('strategy').value,
    temperature: Number($('temperature').value),
    topK: Math.max(1, Math.round(Number($('top-k').value))),
    topP: Math.min(1, Math.max(0.01, Number($('top-p').value))),
  };
}

function showSamplingOptions() {
  const strategy = $('strategy').value;
  for (const el of document.querySelectorAll('.sampling-option')) el.hidden = !el.dataset.for.split(' ').includes(strategy);
}

function setButtons() {
  const generating = Boolean(generation);
  const busy = !model || opening;
  $('run').disabled = busy || generating;
  $('generate').disabled = busy || generating || !$('causal').checked;
  $('open-model').disabled = !mha || opening;
  $('open-files').disabled = !mha || opening;
  $('shipped-model').disabled = opening;
  $('generate').title = $('causal').checked ? '' : 'Generating needs the causal mask (a word cannot look at words not written yet)';
  $('stop').disabled = !generating;
}

let prefilled = null; // { decoder, run, logits, ms } of the last prompt run through a decoder

function newDecoderRun(ids) {
  decoder?.dispose();
  decoder = model.createDecoder();
  const start = performance.now();
  const { logits } = decoder.append(ids);
  const ms = performance.now() - start;
  const { nLayers, nHeads } = model.config;
  const run = runFromDecoder(decoder, { vocabulary: model.vocabulary, nLayers, nHeads, promptLength: ids.length });
  prefilled = { decoder, run, logits, ms };
  return { run, logits, ms };
}

// Generate right after Run (or after opening a model) on the same prompt: the decoder already holds
// exactly the prompt, so its prefill is not run again (for GPT-2 small, 0.4 s of a 40-token prompt).
function decoderRunFor(ids) {
  const p = prefilled;
  if (p && p.decoder === decoder && decoder.length === ids.length && decoder.ids.every((id, i) => id === ids[i])) return p;
  return newDecoderRun(ids);
}

function tokenStripOptions(run) {
  return model.kind === 'opened' ? { promptLength: run.promptLength, special: model.specialTokens, unknownToken: null } : { promptLength: run.promptLength };
}

function showRun(run, logits, ms) {
  const { nLayers, nHeads } = model.config;
  store.set({ run, length: run.length, hoveredToken: null, ...clampSelection(store.get(), nLayers, nHeads) });
  renderTokenStrip($('tokens'), run.tokens, tokenStripOptions(run));
  renderPredictions($('predictions'), model.topTokens(logits, TOP_PREDICTIONS));
  $('run-info').textContent = `${run.length} tokens · model ran in ${ms.toFixed(1)} ms`;
  document.body.dataset.length = String(run.length);
}

function runSentence() {
  if (!model || generation || opening) return;
  $('lines-stage').parentElement.classList.remove('growing', 'following');
  try {
    const causal = $('causal').checked;
    const { ids } = model.tokenize($('sentence').value);
    let shown;
    if (causal) {
      shown = newDecoderRun(ids);
    } else {
      const start = performance.now();
      const result = model.run(ids, { causal: false });
      const ms = performance.now() - start;
      decoder?.dispose();
      decoder = null;
      shown = { run: runFromForward(result, { causal: false }), logits: result.logits.subarray((ids.length - 1) * model.config.vocabSize), ms };
    }
    store.set({ causal });
    showRun(shown.run, shown.logits, shown.ms);
    runs += 1;
    document.body.dataset.runs = String(runs);
    document.body.dataset.ready = 'true';
    setStatus('ready');
  } catch (error) {
    setStatus(`error: ${error.message}`, true);
  }
}

function startGeneration() {
  if (!model || generation || opening) return;
  let options;
  try {
    options = samplingOptions();
    if (options.strategy !== 'greedy' && !(options.temperature > 0)) throw new RangeError(`temperature: expected a number > 0, got ${$('temperature').value}`);
    const { ids } = model.tokenize($('sentence').value);
    const room = model.config.context - ids.length;
    if (room < 1) throw new RangeError(`the prompt fills the model's context (${model.config.context} tokens); shorten it`);
    const wanted = Math.max(1, Math.round(Number($('new-tokens').value) || 1));
    const { run, logits, ms } = decoderRunFor(ids);
    const seed = Math.round(Number($('seed').value) || 0);
    generation = {
      run,
      logits,
      options,
      seed,
      rng: createRng(seed),
      remaining: Math.min(wanted, room),
      written: 0,
      modelMs: 0,
      prefillMs: ms,
      startedAt: performance.now(),
      stop: false,
    };
    store.set({ causal: true });
    showRun(run, logits, ms);
    store.set({ generating: true });
    // The line view's box keeps its height and, following, shows its bottom rows (styles.css).
    $('lines-stage').parentElement.classList.add('growing');
    $('lines-stage').parentElement.classList.toggle('following', $('follow').checked);
    document.body.dataset.generating = 'true';
    document.body.dataset.generated = '0';
    delete document.body.dataset.stopLength;
    setButtons();
    setStatus(`writing (${options.strategy}${options.strategy === 'greedy' ? '' : `, seed ${seed}`})…`);
    requestAnimationFrame(generationFrame);
  } catch (error) {
    generation = null;
    setButtons();
    setStatus(`error: ${error.message}`, true);
  }
}

function generationFrame() {
  const g = generation;
  if (!g) return;
  if (g.stop || g.remaining === 0) {
    finishGeneration();
    return;
  }
  const frameStart = performance.now();
  const from = g.run.length;
  let last = null;
  do {
    const { id, distribution } = chooseToken(g.logits, g.options, g.rng);
    const stepStart = performance.now();
    g.logits = decoder.append([id]).logits;
    g.modelMs += performance.now() - stepStart;
    last = { id, distribution };
    g.written++;
    g.remaining--;
    if (model.eosIds?.has(id)) {
      // An opened model's end-of-text token: written, then the generation ends (as Hugging Face's generate does).
      g.remaining = 0;
      g.endOfText = true;
    }
  } while ($('fast').checked && g.remaining > 0 && performance.now() - frameStart < FAST_BUDGET_MS);
  const modelMs = performance.now() - frameStart;
  g.run.grow();

  const redrawStart = performance.now();
  appendTokenStrip($('tokens'), g.run.tokens, from, tokenStripOptions(g.run));
  store.set({ length: g.run.length });
  const rows = candidateRows(last.distribution, model.vocabulary, last.id, CANDIDATES);
  const chosen = rows.find((r) => r.chosen);
  renderCandidates(
    $('candidates'),
    candidateTable(rows, g.options),
    `'${chosen.token}' (${model.unit === 'token' ? 'token' : 'word'} ${g.run.length - 1}), ranked ${chosen.rank} · ${strategyText(g.options, keptSummary(last.distribution))}`,
  );
  renderPredictions($('predictions'), model.topTokens(g.logits, TOP_PREDICTIONS));
  $('gen-info').textContent = speedText({ tokens: g.written, wallMs: performance.now() - g.startedAt, modelMs: g.modelMs });
  document.body.dataset.length = String(g.run.length);
  document.body.dataset.generated = String(g.written);
  const redrawMs = performance.now() - redrawStart;
  demo.tokenFrames.push({ at: frameStart, length: g.run.length, steps: g.run.length - from, modelMs, redrawMs, views: demo.lastRedraw?.views ?? {}, added: demo.lastRedraw?.added ?? {} });
  requestAnimationFrame(generationFrame);
}

function finishGeneration() {
  const g = generation;
  generation = null;
  const wallMs = performance.now() - g.startedAt;
  store.set({ generating: false });
  for (const view of [...stale]) refresh(view, { force: true });
  $('gen-info').textContent = speedText({ tokens: g.written, wallMs, modelMs: g.modelMs });
  $('run-info').textContent = `${g.run.length} tokens · prompt ran in ${g.prefillMs.toFixed(1)} ms, then ${g.written} decoding steps`;
  document.body.dataset.generating = 'false';
  runs += 1;
  document.body.dataset.runs = String(runs);
  setButtons();
  const full = g.endOfText ? ' (the end-of-text token)' : g.run.length >= model.config.context ? ' (the context is full)' : '';
  setStatus(g.stop ? `stopped after ${units(g.written)}` : `wrote ${units(g.written)}${full}`);
}

function stopGeneration() {
  if (!generation) return;
  generation.stop = true;
  document.body.dataset.stopLength = String(generation.run.length);
}

async function exportCurrent(format) {
  const view = $('export-view').value;
  try {
    if (stale.has(view)) refresh(view, { force: true, offscreen: true }); // never export an outdated picture
    await exportView(exportable[view], format, exportFileName(view, store.get(), format));
  } catch (error) {
    setStatus(`error: ${error.message}`, true);
  }
}

function wireControls() {
  $('controls').addEventListener('submit', (event) => {
    event.preventDefault();
    runSentence();
  });
  $('generate').addEventListener('click', startGeneration);
  $('stop').addEventListener('click', stopGeneration);
  $('strategy').addEventListener('change', showSamplingOptions);
  $('layer').addEventListener('change', () => store.set({ layer: Number($('layer').value) }));
  $('head').addEventListener('change', () => store.set({ head: Number($('head').value) }));
  $('average').addEventListener('change', () => store.set({ average: $('average').checked }));
  $('causal').addEventListener('change', () => {
    setButtons();
    runSentence();
  });
  $('follow').addEventListener('change', () => {
    store.set({ followNewest: $('follow').checked });
    if (generation) $('lines-stage').parentElement.classList.toggle('following', $('follow').checked);
  });
  $('step-query').addEventListener('change', () => store.set({ stepQuery: $('step-query').value }));
  $('export-png').addEventListener('click', () => exportCurrent('png'));
  $('export-svg').addEventListener('click', () => exportCurrent('svg'));
  showSamplingOptions();
}

// ---------------------------------------------------------------- the model in use

const OPENED_ROLE_EXPLAIN = {
  induction: 'on a random sequence of the vocabulary\'s tokens said twice (after BOS where the tokenizer adds one): weight from each token of the repeat on the token that followed it the first time, i.e. on the token to copy next',
  inductionRandom: 'not measured for an opened model: its induction probe is already a bare random sequence',
};

function describeModel(m) {
  const { nLayers, nHeads, kvHeads, dModel, vocabSize, context, modelContext } = m.config;
  const plural = (n, word) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
  const parts = [`${plural(nLayers, 'layer')} × ${plural(nHeads, 'head')}`];
  if (m.kind === 'opened') {
    if (kvHeads !== nHeads) parts.push(`${plural(kvHeads, 'key/value head')}`);
    parts.push(`${dModel} wide`, `vocabulary ${vocabSize.toLocaleString('en')}`);
    parts.push(Number.isFinite(modelContext) && modelContext > context ? `the page keeps ${context} of its ${modelContext.toLocaleString('en')} positions` : `${context} positions`);
  } else {
    parts.push(`${m.config.dModel} wide`, `vocabulary ${vocabSize}`, `${context} positions`);
  }
  return parts.join(' · ');
}

/** Makes `next` the model behind every view; the previous opened model (not the shipped one) is freed. */
function useModel(next) {
  if (generation) {
    generation.stop = true;
    finishGeneration();
  }
  // The views let go of the old run first: its decoder is freed, and a selection clamped to the
  // new model's heads must not redraw the old text.
  store.set({ run: null, length: 0, hoveredToken: null });
  decoder?.dispose();
  decoder = null;
  if (model && model !== shipped && model !== next) model.dispose();
  model = next;
  modelEpoch += 1;
  induction = null;
  inductionBare = null;
  document.body.dataset.roles = 'false';
  const opened = next.kind === 'opened';
  const { nLayers, nHeads, context, vocabSize } = next.config;
  fillSelect($('layer'), nLayers, 'layer');
  fillSelect($('head'), nHeads, 'head');
  buildHeadToggles($('head-toggles'), nHeads, (head, on) => {
    const enabledHeads = store.get().enabledHeads.slice();
    enabledHeads[head] = on;
    store.set({ enabledHeads });
  });
  const explain = opened ? OPENED_ROLE_EXPLAIN : {};
  $('roles-explain').replaceChildren(
    ...ROLES.map((r) => {
      const li = document.createElement('li');
      const name = document.createElement('b');
      name.textContent = r.label;
      li.append(name, `: ${explain[r.id] ?? r.explain}.`);
      return li;
    }),
  );
  roleTable.setExplanations(explain);
  store.set({ enabledHeads: Array(nHeads).fill(true), roles: null, ...clampSelection(store.get(), nLayers, nHeads) });
  $('context-note').textContent = `The model reads at most ${context} tokens${opened ? ' here' : ''}.`;
  $('unk-note').hidden = opened;
  $('mechanism-opened').hidden = !opened;
  $('new-tokens').max = String(context - 1);
  $('top-k').max = String(vocabSize);
  // mha-wasm/models decodes causally only.
  if (next.causalOnly) $('causal').checked = true;
  $('causal').disabled = Boolean(next.causalOnly);
  $('causal').parentElement.title = next.causalOnly ? 'An opened model always runs with its causal mask' : '';
  $('model-name').textContent = opened ? `${next.name} (${next.architecture})` : 'the shipped story model';
  $('model-shape').textContent = describeModel(next);
  $('shipped-model').hidden = !opened;
  document.body.dataset.model = opened ? next.name : 'shipped';
  setButtons();
  runSentence();
  scoreInduction();
}

// mha-wasm/models and the internals the step view reuses (headers, config readers), from dist/models/.
let modelsLib = null;
async function loadModelsLib() {
  if (!modelsLib) {
    const [index, files, checkpoint, gpt2, llama, blocks] = await Promise.all([
      import('../dist/models/index.mjs'),
      import('../dist/models/files.mjs'),
      import('../dist/models/checkpoint.mjs'),
      import('../dist/models/gpt2.mjs'),
      import('../dist/models/llama.mjs'),
      import('../dist/models/blocks.mjs'),
    ]);
    modelsLib = {
      loadModel: index.loadModel,
      openFiles: files.openFiles,
      openCheckpoint: checkpoint.openCheckpoint,
      readGpt2Config: gpt2.readGpt2Config,
      readLlamaConfig: llama.readLlamaConfig,
      transpose: blocks.transpose,
    };
  }
  return modelsLib;
}

function showProgress(fraction, text) {
  $('open-progress-row').hidden = fraction === null;
  if (fraction === null) return;
  // No value: an indeterminate bar (reading headers and the tokenizer, or running the prompt).
  if (Number.isFinite(fraction)) $('open-progress').value = fraction;
  else $('open-progress').removeAttribute('value');
  $('open-progress-text').textContent = text;
}

function showOpenError(message) {
  $('open-error').hidden = !message;
  $('open-error').textContent = message ?? '';
  if (message) document.body.dataset.openError = message;
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

/** Opens the chosen or dropped files as a model; on failure the current model stays. */
async function openFiles(files, folder) {
  if (opening || !mha) return;
  const startedAt = performance.now();
  const bytes = files.reduce((sum, f) => sum + f.size, 0);
  demo.open = { startedAt, files: files.length, bytes, loadedMs: null, firstRunMs: null };
  const label = folder ? `'${folder}'` : `${files.length} file${files.length === 1 ? '' : 's'}`;
  showOpenError(null);
  opening = true;
  document.body.dataset.opening = 'true';
  setButtons();
  showProgress(NaN, `reading ${label} (${(bytes / 2 ** 20).toFixed(1)} MB): headers and tokenizer…`);
  try {
    if (files.length === 0) throw new Error('no files: choose the folder that holds config.json, model.safetensors and tokenizer.json');
    const lib = await loadModelsLib();
    const opened = await openModel(mha, lib, files, {
      name: folder ?? 'model',
      onProgress: ({ loaded, total }) => showProgress(loaded / total, `loading the weights of ${label}: layer ${loaded} of ${total}`),
    });
    demo.open.loadedMs = performance.now() - startedAt;
    showProgress(NaN, 'running the prompt…');
    await nextFrame();
    opening = false;
    useModel(opened);
    demo.open.firstRunMs = performance.now() - startedAt;
  } catch (error) {
    showOpenError(`Could not open ${label}: ${error.message}`);
  } finally {
    opening = false;
    document.body.dataset.opening = 'false';
    document.body.dataset.opens = String(Number(document.body.dataset.opens ?? 0) + 1);
    showProgress(null);
    setButtons();
  }
}

function wireModelPicker() {
  const fromInput = (input) => {
    const { files, folder } = topLevelFiles(input.files);
    input.value = ''; // choosing the same folder again fires change again
    openFiles(files, folder);
  };
  $('open-model').addEventListener('click', () => $('model-folder').click());
  $('open-files').addEventListener('click', () => $('model-files').click());
  $('model-folder').addEventListener('change', () => fromInput($('model-folder')));
  $('model-files').addEventListener('change', () => fromInput($('model-files')));
  $('shipped-model').addEventListener('click', () => {
    if (!opening && shipped) {
      showOpenError(null);
      useModel(shipped);
    }
  });
  const carriesFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
  let depth = 0; // dragenter/dragleave pairs over child elements
  document.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) return;
    depth += 1;
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', (event) => {
    if (!carriesFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) document.body.classList.remove('dragging');
  });
  document.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = opening ? 'none' : 'copy';
  });
  document.addEventListener('drop', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    document.body.classList.remove('dragging');
    droppedFiles(event.dataTransfer).then(
      ({ files, folder }) => openFiles(files, folder),
      (error) => showOpenError(`Could not open what was dropped: ${error.message}`),
    );
  });
  const setAllHeads = (on) => {
    for (const box of document.querySelectorAll('.head-toggle')) box.checked = on;
    store.set({ enabledHeads: Array(model?.config.nHeads ?? 0).fill(on) });
  };
  $('heads-all').addEventListener('click', () => setAllHeads(true));
  $('heads-none').addEventListener('click', () => setAllHeads(false));
}

async function start() {
  wireControls();
  wireModelPicker();
  setStatus('loading…');
  try {
    mha = await init();
    shipped = await loadTinyGpt(mha, MODEL_FILES);
  } catch (error) {
    setStatus(`error: could not load the model (${error.message})`, true);
    return;
  }
  useModel(shipped);
}

start();
