// The probes the head-role map runs through the shipped model to score
// induction (web/demo/head_roles.js): random sequences, each said twice.
//
// list probes    a naming game as in the training stories (scripts/make_corpus.py, echo()):
//                "mia and sam played a game . mia said , i can see a red fox , a tiny cup and a
//                blue owl . sam said , i can see a red fox , a tiny cup and a blue owl"
//                with the adjective–noun pairs drawn at random. This is where the model learned
//                to copy, so this is what its induction heads respond to.
//   bare probes  <bos> and a random sequence of the vocabulary's words, then the same sequence
//                again (the usual probe for large models). This tiny model has not learned to copy
//                outside its story frame, so here no head scores much above uniform.
// Both are seeded: the page and the tests score the same probes.

import { repeatedProbe } from './head_roles.js';
import { createRng } from './model/sampling.mjs';

// The words the corpus generator draws list items from (scripts/make_corpus.py).
export const LIST_ADJECTIVES = Object.freeze(
  'red blue green yellow pink white black orange gold silver shiny soft funny pretty round tiny striped spotted big little small brown grey fat fast silly sleepy'.split(' '),
);
export const LIST_NOUNS = Object.freeze(
  'ball kite doll box cake book hat boat drum cup apple flower car train shoe stone stick key bell ring map shell leaf toy bag coat dog cat bird frog duck bunny fox bear fish mouse owl pig goat cow'.split(' '),
);

export const PROBE_SETTINGS = Object.freeze({ seed: 2023, listProbes: 8, listItems: 4, bareProbes: 8, bareLength: 20 });

function shuffled(items, random) {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * model: { tokenize(text) → { ids }, vocabulary }. Returns { list: [probe],
 * bare: [probe] }, each probe { ids, pairs, text } (see repeatedProbe).
 */
export function makeRoleProbes(model, settings = PROBE_SETTINGS) {
  const random = createRng(settings.seed);
  const known = new Set(model.vocabulary);
  const adjectives = LIST_ADJECTIVES.filter((w) => known.has(w));
  const nouns = LIST_NOUNS.filter((w) => known.has(w));
  const ids = (text) => model.tokenize(text).ids.slice(1); // without <bos>
  const bos = model.tokenize('').ids;

  const list = [...Array(settings.listProbes)].map(() => {
    const a = shuffled(adjectives, random);
    const n = shuffled(nouns, random);
    const items = [...Array(settings.listItems)].map((_, i) => `a ${a[i]} ${n[i]}`);
    const text = `${items.slice(0, -1).join(' , ')} and ${items.at(-1)}`;
    const probe = repeatedProbe(ids(text), {
      prefix: [...bos, ...ids('mia and sam played a game . mia said , i can see')],
      middle: ids('. sam said , i can see'),
    });
    return { ...probe, text };
  });

  const words = model.vocabulary.filter((t) => /^[a-z']+$/.test(t));
  const bare = [...Array(settings.bareProbes)].map(() => {
    const sequence = shuffled(words, random).slice(0, settings.bareLength);
    const probe = repeatedProbe(ids(sequence.join(' ')), { prefix: bos });
    return { ...probe, text: sequence.join(' ') };
  });
  return { list, bare };
}
