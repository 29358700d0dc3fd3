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
