// The demo's shipped model (web/demo/model/), opened in Node for the tests:
// its safetensors weights and vocabulary read from disk (tiny_gpt.mjs's
// loadTinyGpt fetches URLs, which Node cannot do for files).
import { readFileSync } from 'node:fs';
import { createTinyGpt } from '../../web/demo/model/tiny_gpt.mjs';

const modelFile = (name) => new URL(`../../web/demo/model/${name}`, import.meta.url);

/** createTinyGpt(mha, weights, vocab) on the shipped files; mha may be a wrapper of the module. */
export function openShippedTinyGpt(mha) {
  return createTinyGpt(mha, readFileSync(modelFile('tiny_stories.safetensors')), JSON.parse(readFileSync(modelFile('vocab.json'), 'utf8')));
}
