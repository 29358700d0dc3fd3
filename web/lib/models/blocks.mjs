// The small per-token pieces of a Transformer block that stay in JavaScript:
// they touch each activation once, while the linear layers (in WebAssembly)
// read every weight. Rows are contiguous, `dim` floats each.

/** y = (x - mean) / sqrt(var + eps) * weight + bias, per row. */
export function layerNorm(x, dim, weight, bias, eps) {
  const y = new Float32Array(x.length);
  for (let base = 0; base < x.length; base += dim) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[base + i];
    mean /= dim;
    let variance = 0;
    for (let i = 0; i < dim; i++) variance += (x[base + i] - mean) ** 2;
    const inverse = 1 / Math.sqrt(variance / dim + eps);
    for (let i = 0; i < dim; i++) y[base + i] = (x[base + i] - mean) * inverse * weight[i] + bias[i];
  }
  return y;
}

/** y = x / sqrt(mean(x^2) + eps) * weight, per row (Llama's RMSNorm). */
export function rmsNorm(x, dim, weight, eps) {
  const y = new Float32Array(x.length);
  for (let base = 0; base < x.length; base += dim) {
    let squares = 0;
    for (let i = 0; i < dim; i++) squares += x[base + i] * x[base + i];
    const inverse = 1 / Math.sqrt(squares / dim + eps);
    for (let i = 0; i < dim; i++) y[base + i] = x[base + i] * inverse * weight[i];
  }
  return y;
}

/** GELU with the tanh approximation (GPT-2's "gelu_new"), in place. */
export function geluTanh(x) {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
  }
  return x;
}

// erf to 1.2e-7 (Numerical Recipes' erfc with a Chebyshev fit), for the exact GELU.
function erf(x) {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

/** GELU with erf ("gelu"), in place. */
export function geluExact(x) {
  for (let i = 0; i < x.length; i++) x[i] = 0.5 * x[i] * (1 + erf(x[i] / Math.SQRT2));
  return x;
}

/** gate = silu(gate) * up, in place (SwiGLU). */
export function swiGlu(gate, up) {
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    gate[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
  return gate;
}

/** x += y. */
export function addInPlace(x, y) {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
  return x;
}

/** Rows `ids` of a (vocab, dim) table (plus rows `positions` of a second table, if given). */
export function embed(table, dim, ids, positionTable, firstPosition) {
  const x = new Float32Array(ids.length * dim);
  ids.forEach((id, t) => {
    x.set(table.subarray(id * dim, (id + 1) * dim), t * dim);
    if (positionTable) {
      const p = (firstPosition + t) * dim;
      for (let i = 0; i < dim; i++) x[t * dim + i] += positionTable[p + i];
    }
  });
  return x;
}

/** The (cols, rows) transpose of a row-major (rows, cols) matrix: Conv1D (in, out) weights to Linear (out, in). */
export function transpose(m, rows, cols) {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}
