// state: one store, notifications carry what changed, equal values are no-ops,
// and sets made by subscribers are delivered after the current round.
import { jest } from '@jest/globals';
import { createStore, initialState, clampSelection } from '../../../web/demo/state.js';

test('starts from the initial state and notifies with the changed keys', () => {
  const store = createStore();
  expect(store.get()).toEqual(initialState());
  const calls = [];
  store.subscribe((state, changed) => calls.push([state.layer, [...changed]]));
  store.set({ layer: 1, head: 0 });
  expect(calls).toEqual([[1, ['layer']]]);
});

test('setting equal values notifies nobody', () => {
  const store = createStore();
  const fn = jest.fn();
  store.subscribe(fn);
  store.set({ layer: 0, average: false, hoveredToken: null });
  expect(fn).not.toHaveBeenCalled();
});

test('state is immutable: views cannot change it behind the store', () => {
  const store = createStore();
  expect(() => {
    'use strict';
    store.get().layer = 3;
  }).toThrow(TypeError);
});

test('a set() inside a subscriber runs after every subscriber saw the first change', () => {
  const store = createStore();
  const seen = [];
  store.subscribe((state, changed) => {
    seen.push(`a:${[...changed]}`);
    if (changed.has('head')) store.set({ hoveredToken: { side: 'query', index: 2 } });
  });
  store.subscribe((state, changed) => seen.push(`b:${[...changed]}`));
  store.set({ head: 3 });
  expect(seen).toEqual(['a:head', 'b:head', 'a:hoveredToken', 'b:hoveredToken']);
  expect(store.get().hoveredToken).toEqual({ side: 'query', index: 2 });
});

test('unsubscribe stops notifications', () => {
  const store = createStore();
  const fn = jest.fn();
  const off = store.subscribe(fn);
  off();
  store.set({ layer: 2 });
  expect(fn).not.toHaveBeenCalled();
});

test('clampSelection keeps layer and head inside the model', () => {
  expect(clampSelection({ layer: 5, head: -1 }, 3, 4)).toEqual({ layer: 2, head: 0 });
  expect(clampSelection({ layer: 1, head: 2 }, 3, 4)).toEqual({ layer: 1, head: 2 });
});
