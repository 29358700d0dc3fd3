// Choosing the next token from the logits: greedy, or sampling with a
// temperature and top-k / top-p (nucleus) filtering, seeded so a run repeats.
//
//   temperature 0 (or absent): the argmax.
//   otherwise: p = softmax(logits / temperature); keep the topK most likely
//   (0 = all); then the smallest set whose probability reaches topP (1 = all);
//   renormalise and draw with a seeded generator.

/** mulberry32: a small seeded generator of floats in [0, 1). */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readSampling({ temperature = 0, topK = 0, topP = 1, seed = 0 } = {}) {
  if (!(typeof temperature === 'number' && temperature >= 0 && Number.isFinite(temperature))) throw new RangeError(`temperature: expected a number >= 0, got ${temperature}`);
  if (!(Number.isInteger(topK) && topK >= 0)) throw new RangeError(`topK: expected an integer >= 0 (0 = no limit), got ${topK}`);
  if (!(typeof topP === 'number' && topP > 0 && topP <= 1)) throw new RangeError(`topP: expected a number in (0, 1], got ${topP}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed: expected an integer, got ${seed}`);
  return { temperature, topK, topP, seed };
}

/** The candidate ids kept by top-k then top-p, most likely first, with their renormalised probabilities. */
export function filterCandidates(logits, { temperature, topK = 0, topP = 1 }) {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  // Tokens more than 40 temperature units below the best have probability
  // below e^-40 (4e-18) each: leaving them out of the sort changes no
  // probability by more than vocabulary x 4e-18, and keeps a 50k-word step fast.
  const floor = max - 40 * temperature;
  const order = [];
  for (let id = 0; id < logits.length; id++) if (logits[id] >= floor) order.push(id);
  order.sort((a, b) => logits[b] - logits[a] || a - b);
  const weights = order.map((id) => Math.exp((logits[id] - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let kept = topK > 0 ? Math.min(topK, order.length) : order.length;
  if (topP < 1) {
    const keptTotal = weights.slice(0, kept).reduce((a, b) => a + b, 0);
    let running = 0;
    for (let i = 0; i < kept; i++) {
      running += weights[i];
      if (running / keptTotal >= topP) {
        kept = i + 1;
        break;
      }
    }
  }
  const keptTotal = weights.slice(0, kept).reduce((a, b) => a + b, 0);
  return order.slice(0, kept).map((id, i) => ({ id, probability: weights[i] / keptTotal, original: weights[i] / total }));
}

/** A function from logits (Float32Array over the vocabulary) to the chosen token id. */
export function createSampler(options) {
  const o = readSampling(options);
  if (o.temperature === 0) {
    return (logits) => {
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
      return best;
    };
  }
  const random = seededRandom(o.seed);
  return (logits) => {
    const candidates = filterCandidates(logits, o);
    let r = random();
    for (const c of candidates) {
      r -= c.probability;
      if (r < 0) return c.id;
    }
    return candidates[candidates.length - 1].id;
  };
}
