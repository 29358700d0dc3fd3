// The tokens the model actually saw (unknown words show as <unk>, long
// inputs are cut to the model's context) and its guesses for the next word.
// predictionRows() is pure; the render functions write plain DOM.

export const PREDICTION_BAR_MAX_PX = 120;

/** [{ token, prob }] → [{ token, percent: '23.1%', barPx }], bars scaled to the most likely. */
export function predictionRows(predictions) {
  const top = Math.max(1e-12, ...predictions.map((p) => p.prob));
  return predictions.map(({ token, prob }) => ({
    token,
    percent: `${(prob * 100).toFixed(1)}%`,
    barPx: Math.round((prob / top) * PREDICTION_BAR_MAX_PX),
  }));
}

function tokenChip(token, i, { unknownToken = '<unk>', special = ['<bos>'], promptLength = Infinity } = {}) {
  const chip = document.createElement('span');
  chip.className = 'token';
  if (token === unknownToken) chip.classList.add('unknown');
  if (special.includes(token)) chip.classList.add('special');
  if (i >= promptLength) chip.classList.add('generated');
  chip.textContent = token;
  chip.title = i >= promptLength ? `token ${i} (generated)` : `token ${i}`;
  chip.dataset.index = String(i);
  return chip;
}

/** All tokens; options.promptLength marks the ones after it as generated. */
export function renderTokenStrip(container, tokens, options = {}) {
  container.replaceChildren(...tokens.map((token, i) => tokenChip(token, i, options)));
}

/** Appends the chips of tokens[from…] (a growing text: one chip per new token). */
export function appendTokenStrip(container, tokens, from, options = {}) {
  for (let i = from; i < tokens.length; i++) container.append(tokenChip(tokens[i], i, options));
}

export function renderPredictions(list, predictions) {
  list.replaceChildren(
    ...predictionRows(predictions).map((row) => {
      const item = document.createElement('li');
      const word = document.createElement('span');
      word.className = 'word';
      word.textContent = row.token;
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = `${row.barPx}px`;
      const value = document.createElement('span');
      value.className = 'prob';
      value.textContent = row.percent;
      item.append(word, bar, value);
      return item;
    }),
  );
}
