// The demo's single store: what is selected (layer, head, average over heads,
// causal mask), what is hovered, which heads the line view shows, the
// current text and how far it has grown. Views never talk to each other;
// they set() here and re-render from what changed. Pure JavaScript,
// importable in Node.
//
// run: null or a run of ./attention_run.js (tokens, row(l, h, q), matrix(l, h),
//      mechanism(l, h), causal, growing). A new text replaces it; while
//      generating, the same run grows and `length` follows it, so views can
//      add the new rows instead of redrawing everything.
// stepQuery: 'all' (view 4 shows every token) or 'newest' (the last token only).

export function initialState() {
  return {
    layer: 0,
    head: 0,
    average: false,
    causal: true,
    hoveredToken: null, // null | { side: 'query' | 'key', index }
    enabledHeads: [], // boolean per head of the line view
    run: null,
    length: 0, // run.length when last announced
    generating: false,
    followNewest: true, // the line view highlights the newest token's lines while generating
    stepQuery: 'all',
    roles: null, // head_roles.js roleRows() of the current run
  };
}

/**
 * createStore(initial) → { get(), set(patch), subscribe(fn) → unsubscribe }.
 * set() ignores values that are Object.is-equal to the current ones, and
 * calls each subscriber once with (state, changed: Set of keys) when
 * something did change. A set() made by a subscriber is applied after the
 * current round of notifications, so every subscriber sees changes in order.
 */
export function createStore(initial = initialState()) {
  let state = Object.freeze({ ...initial });
  const subscribers = new Set();
  const pending = [];
  let notifying = false;

  function apply(patch) {
    const changed = new Set(Object.keys(patch).filter((key) => !Object.is(state[key], patch[key])));
    if (changed.size === 0) return;
    state = Object.freeze({ ...state, ...patch });
    for (const fn of [...subscribers]) fn(state, changed);
  }

  return {
    get: () => state,
    set(patch) {
      pending.push(patch);
      if (notifying) return;
      notifying = true;
      try {
        while (pending.length) apply(pending.shift());
      } finally {
        notifying = false;
        pending.length = 0;
      }
    },
    subscribe(fn) {
      subscribers.add(fn);
      return () => subscribers.delete(fn);
    },
  };
}

/** Keeps layer and head inside a run's model (e.g. after the model changes). */
export function clampSelection(state, nLayers, nHeads) {
  return {
    layer: Math.min(Math.max(0, state.layer), nLayers - 1),
    head: Math.min(Math.max(0, state.head), nHeads - 1),
  };
}
