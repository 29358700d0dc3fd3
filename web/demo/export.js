// "Export PNG" / "Export SVG": every download goes through an <a download>
// click on an object URL, the one mechanism all browsers treat as a file
// download (and the one end-to-end tests can observe). PNGs of canvas views
// come from canvas.toBlob(); PNGs of SVG views rasterise their SVG string.
// exportFileName() is pure; the rest needs a DOM.

export const EXPORT_VIEWS = Object.freeze(['heatmap', 'lines', 'grid', 'mechanism']);

// Rasterised SVGs are drawn at twice their size so exported PNGs stay sharp when zoomed.
const SVG_RASTER_SCALE = 2;

/**
 * 'mha-heatmap-layer0-head1.png'; the average over heads is 'head-avg';
 * views that show all heads (lines, grid) name only what they show.
 */
export function exportFileName(view, { layer = 0, head = 0, average = false } = {}, extension = 'png') {
  const headPart = average ? 'head-avg' : `head${head}`;
  const parts = {
    heatmap: `layer${layer}-${headPart}`,
    lines: `layer${layer}-all-heads`,
    grid: 'all-layers',
    mechanism: `layer${layer}-head${head}`,
  };
  if (!(view in parts)) throw new RangeError(`view: expected one of ${EXPORT_VIEWS.join(', ')}, got ${JSON.stringify(view)}`);
  return `mha-${view}-${parts[view]}.${extension}`;
}

export function downloadBlob(blob, fileName) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has started from the click; revoke later, not synchronously,
  // or some browsers cancel it.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function downloadSvg(svgText, fileName) {
  downloadBlob(new Blob([svgText], { type: 'image/svg+xml' }), fileName);
}

export function canvasToPngBlob(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('export: the canvas could not be encoded as PNG'))), 'image/png');
  });
}

/** Rasterises an SVG document string (with width/height attributes) into a PNG blob. */
export async function svgToPngBlob(svgText, scale = SVG_RASTER_SCALE) {
  const size = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svgText);
  if (!size) throw new Error('export: the SVG has no width/height attributes');
  const [width, height] = [Number(size[1]), Number(size[2])];
  const url = URL.createObjectURL(new Blob([svgText], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(width * scale);
    canvas.height = Math.ceil(height * scale);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    return await canvasToPngBlob(canvas);
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * Exports one view. source: { canvas?, toSvg() } — a canvas view exports its
 * canvas as PNG, any view exports toSvg() as SVG (and as PNG when it has no
 * canvas). Resolves to the file name.
 */
export async function exportView(source, format, fileName) {
  if (format === 'svg') {
    const svg = source.toSvg();
    if (!svg) throw new Error('export: nothing to export yet');
    downloadSvg(svg, fileName);
  } else if (source.canvas) {
    downloadBlob(await canvasToPngBlob(source.canvas), fileName);
  } else {
    const svg = source.toSvg();
    if (!svg) throw new Error('export: nothing to export yet');
    downloadBlob(await svgToPngBlob(svg), fileName);
  }
  return fileName;
}
