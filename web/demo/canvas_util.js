// Canvas plumbing shared by the canvas renderers. Browser only: every
// function touches the DOM, so the pure geometry modules import it without
// calling it and stay loadable in Node.

import { FONT_FAMILY } from './svg_markup.js';

export const canvasFont = (px, weight = '') => `${weight ? weight + ' ' : ''}${px}px ${FONT_FAMILY}`;

/**
 * Sizes `canvas` to width × height CSS pixels, backed by devicePixelRatio
 * device pixels so text stays sharp, and returns a context whose units are
 * CSS pixels (the units every geometry function uses).
 */
export function prepareCanvas(canvas, width, height) {
  const ratio = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  return ctx;
}

/**
 * A cols × rows canvas holding RGBA pixels. Drawing it scaled with smoothing
 * off puts a whole matrix on screen with one putImageData + one drawImage,
 * instead of one fillRect per cell (65 536 of them at 256 tokens).
 */
export function pixelCanvas(pixels, cols, rows) {
  const canvas = document.createElement('canvas');
  canvas.width = cols;
  canvas.height = rows;
  canvas.getContext('2d').putImageData(new ImageData(pixels, cols, rows), 0, 0);
  return canvas;
}

/** Draws RGBA pixels into the rect (x, y, width, height); sharp when upscaled, averaged when downscaled. */
export function drawPixels(ctx, pixels, cols, rows, x, y, width, height) {
  ctx.imageSmoothingEnabled = width < cols || height < rows;
  ctx.drawImage(pixelCanvas(pixels, cols, rows), x, y, width, height);
  ctx.imageSmoothingEnabled = true;
}

export function drawText(ctx, x, y, text, { anchor = 'start', size = 12, fill = '#222', weight = '', rotate = 0 } = {}) {
  ctx.save();
  ctx.font = canvasFont(size, weight);
  ctx.fillStyle = fill;
  ctx.textAlign = anchor === 'middle' ? 'center' : anchor === 'end' ? 'right' : 'left';
  ctx.textBaseline = 'middle';
  ctx.translate(x, y);
  if (rotate) ctx.rotate((rotate * Math.PI) / 180);
  ctx.fillText(text, 0, 0);
  ctx.restore();
}

/** A vertical colour bar: top is t = 1, bottom t = 0. */
export function drawColorBar(ctx, x, y, width, height, colorAt) {
  const gradient = ctx.createLinearGradient(0, y, 0, y + height);
  for (let i = 0; i <= 10; i++) gradient.addColorStop(i / 10, colorAt(1 - i / 10));
  ctx.fillStyle = gradient;
  ctx.fillRect(x, y, width, height);
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 0.5;
  ctx.strokeRect(x, y, width, height);
}

/**
 * A matrix of RGBA pixels in an off-screen canvas with room for
 * capacity × capacity cells, written a row (or a block) at a time and drawn
 * (its top-left n × n) scaled into a rect: a growing attention matrix costs
 * one row upload per new token, however large it already is.
 */
export function createPixelMatrix(capacity, background = null) {
  const canvas = document.createElement('canvas');
  canvas.width = capacity;
  canvas.height = capacity;
  const ctx = canvas.getContext('2d');
  const matrix = {
    canvas,
    capacity,
    /** Paints every cell in `color` (e.g. the masked colour under a causal mask), or clears. */
    clear(color = background) {
      if (color) {
        ctx.fillStyle = color;
        ctx.fillRect(0, 0, capacity, capacity);
      } else {
        ctx.clearRect(0, 0, capacity, capacity);
      }
    },
    /** RGBA pixels of `cols` × `rows` cells at column x, row y. */
    write(pixels, cols, rows, x = 0, y = 0) {
      ctx.putImageData(new ImageData(pixels, cols, rows), x, y);
    },
    /** Draws cells [0, n) × [0, n) into (x, y, width, height); sharp when enlarged, averaged when shrunk. */
    draw(target, n, x, y, width, height) {
      target.imageSmoothingEnabled = width < n || height < n;
      target.drawImage(canvas, 0, 0, n, n, x, y, width, height);
      target.imageSmoothingEnabled = true;
    },
  };
  matrix.clear();
  return matrix;
}
